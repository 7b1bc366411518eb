//! Heartbeat (key 12): keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin,
//! FENCED_INSTANCE_ID (v3+) that another member took its `group.instance.id`.

use super::Ctx;
use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

pub(crate) fn handle(ctx: &Ctx, version: i16, req: HeartbeatRequest) -> HeartbeatResponse {
    let instance = if version >= 3 { req.group_instance_id.as_ref().map(|x| x.to_string()) } else { None };
    let mut resp = HeartbeatResponse::default();
    resp.error_code =
        ctx.broker.groups.heartbeat(&req.group_id, &req.member_id, instance.as_deref(), req.generation_id);
    resp
}
