//! CreatePartitions (key 37): grows a topic; INVALID_PARTITIONS when the count does not increase.
//! Replica assignments may only name this broker.

use super::{s, Ctx};
use crate::codes;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

pub(crate) fn handle(ctx: &Ctx, _version: i16, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let b = &ctx.broker;
    let mut resp = CreatePartitionsResponse::default();
    for t in req.topics {
        let mut r = CreatePartitionsTopicResult::default();
        r.name = t.name.clone();
        let name = t.name.to_string();
        let bad_assignment = t.assignments.as_ref().and_then(|a| {
            a.iter().flat_map(|x| x.broker_ids.iter()).find(|id| id.0 != b.config.node_id).map(|id| id.0)
        });
        let result = match bad_assignment {
            Some(id) => Err(crate::broker::ApiError::new(codes::INVALID_REPLICA_ASSIGNMENT, format!("Unknown broker id {id} in replica assignment"))),
            None => b.create_partitions(&name, t.count, req.validate_only),
        };
        if let Err(e) = result {
            r.error_code = e.code;
            r.error_message = Some(s(e.message));
        }
        resp.results.push(r);
    }
    resp
}
