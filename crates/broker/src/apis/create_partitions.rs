//! CreatePartitions (key 37): grows a topic; INVALID_PARTITIONS when the count does not increase.
//! New partitions are placed like a new topic's (or as the request assigns them), with the
//! topic's replication factor.

use super::{s, Ctx};
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

pub(crate) async fn handle(ctx: &Ctx, _version: i16, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let b = &ctx.broker;
    let mut resp = CreatePartitionsResponse::default();
    for t in req.topics {
        let mut r = CreatePartitionsTopicResult::default();
        r.name = t.name.clone();
        let name = t.name.to_string();
        let assignments = t
            .assignments
            .as_ref()
            .filter(|a| !a.is_empty())
            .map(|a| a.iter().map(|x| x.broker_ids.iter().map(|id| id.0).collect()).collect());
        let result = b.create_partitions(&name, t.count, assignments, req.validate_only).await;
        if let Err(e) = result {
            r.error_code = e.code;
            r.error_message = Some(s(e.message));
        }
        resp.results.push(r);
    }
    resp
}
