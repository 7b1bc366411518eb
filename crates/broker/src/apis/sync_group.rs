//! SyncGroup (key 14): the leader's assignment, stored in `__consumer_offsets` and then passed
//! through untouched; followers park until it arrives.

use super::{s, Ctx};
use crate::coordinator::group::SyncRequest;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: SyncGroupRequest) -> SyncGroupResponse {
    let sr = SyncRequest {
        group_id: req.group_id.to_string(),
        member_id: req.member_id.to_string(),
        group_instance_id: if version >= 3 { req.group_instance_id.as_ref().map(|x| x.to_string()) } else { None },
        generation_id: req.generation_id,
        protocol_type: if version >= 5 { req.protocol_type.as_ref().map(|x| x.to_string()) } else { None },
        protocol_name: if version >= 5 { req.protocol_name.as_ref().map(|x| x.to_string()) } else { None },
        assignments: req.assignments.iter().map(|a| (a.member_id.to_string(), a.assignment.clone())).collect(),
    };
    let result = ctx.broker.groups.sync(&ctx.broker.offsets_log(), sr).await;
    let mut resp = SyncGroupResponse::default();
    resp.error_code = result.error;
    if version >= 5 {
        resp.protocol_type = result.protocol_type.map(s);
        resp.protocol_name = result.protocol_name.map(s);
    }
    resp.assignment = result.assignment;
    resp
}
