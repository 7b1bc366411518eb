//! SyncGroup (key 14): the leader's assignment, passed through untouched; followers park until
//! it arrives.

use super::{s, Ctx};
use crate::codes;
use crate::coordinator::group::{SyncOutcome, SyncResult};
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: SyncGroupRequest) -> SyncGroupResponse {
    let pt = if version >= 5 { req.protocol_type.as_ref().map(|x| x.to_string()) } else { None };
    let pn = if version >= 5 { req.protocol_name.as_ref().map(|x| x.to_string()) } else { None };
    let assignments = req.assignments.iter().map(|a| (a.member_id.to_string(), a.assignment.clone())).collect();
    let result = if !ctx.broker.is_group_coordinator(&req.group_id) {
        SyncResult { error: codes::NOT_COORDINATOR, ..Default::default() }
    } else {
        match ctx.broker.groups.sync(&req.group_id, &req.member_id, req.generation_id, pt.as_deref(), pn.as_deref(), assignments) {
        SyncOutcome::Done(r) => r,
        SyncOutcome::Wait(rx) => rx.await.unwrap_or(SyncResult { error: codes::UNKNOWN_MEMBER_ID, ..Default::default() }),
        }
    };
    let mut resp = SyncGroupResponse::default();
    resp.error_code = result.error;
    if version >= 5 {
        resp.protocol_type = result.protocol_type.map(s);
        resp.protocol_name = result.protocol_name.map(s);
    }
    resp.assignment = result.assignment;
    resp
}
