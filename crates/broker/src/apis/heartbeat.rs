//! Heartbeat (key 12): keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin.

use super::Ctx;
use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

pub(crate) fn handle(ctx: &Ctx, _version: i16, req: HeartbeatRequest) -> HeartbeatResponse {
    let mut resp = HeartbeatResponse::default();
    resp.error_code = if ctx.broker.is_group_coordinator(&req.group_id) {
        ctx.broker.groups.heartbeat(&req.group_id, &req.member_id, req.generation_id)
    } else {
        crate::codes::NOT_COORDINATOR
    };
    resp
}
