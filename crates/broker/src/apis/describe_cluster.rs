//! DescribeCluster (key 60): cluster id, controller (this broker), brokers.

use super::metadata::CLUSTER_AUTHORIZED_OPERATIONS;
use super::{s, Ctx};
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

pub(crate) fn handle(ctx: &Ctx, version: i16, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let b = &ctx.broker;
    let mut resp = DescribeClusterResponse::default();
    if version >= 1 {
        resp.endpoint_type = 1; // brokers; this broker is also its own controller
    }
    resp.cluster_id = s(b.cluster_id());
    resp.controller_id = BrokerId(b.config.node_id);
    let mut br = DescribeClusterBroker::default();
    br.broker_id = BrokerId(b.config.node_id);
    br.host = s(b.advertised_host.clone());
    br.port = b.advertised_port;
    br.rack = b.config.rack.clone().map(s);
    resp.brokers = vec![br];
    if req.include_cluster_authorized_operations {
        resp.cluster_authorized_operations = CLUSTER_AUTHORIZED_OPERATIONS;
    }
    resp
}
