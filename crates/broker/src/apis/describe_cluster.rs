//! DescribeCluster (key 60): cluster id, a controller for admin requests (this broker, as in
//! KRaft; see `metadata::controller_id`), and the unfenced brokers with their racks.

use super::metadata::{controller_id, CLUSTER_AUTHORIZED_OPERATIONS};
use super::{s, Ctx};
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};

pub(crate) fn handle(ctx: &Ctx, version: i16, req: DescribeClusterRequest) -> DescribeClusterResponse {
    let b = &ctx.broker;
    let mut resp = DescribeClusterResponse::default();
    if version >= 1 {
        resp.endpoint_type = 1; // brokers
    }
    resp.cluster_id = s(b.cluster_id());
    resp.controller_id = BrokerId(controller_id(ctx));
    resp.brokers = b
        .image()
        .live_brokers()
        .map(|r| {
            let mut br = DescribeClusterBroker::default();
            br.broker_id = BrokerId(r.id);
            br.host = s(r.host.clone());
            br.port = r.port;
            br.rack = r.rack.clone().map(s);
            br
        })
        .collect();
    if req.include_cluster_authorized_operations {
        resp.cluster_authorized_operations = CLUSTER_AUTHORIZED_OPERATIONS;
    }
    resp
}
