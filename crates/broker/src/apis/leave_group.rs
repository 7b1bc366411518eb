//! LeaveGroup (key 13): one member (v0–v2) or a batch of members (v3+, per-member errors), by
//! member id or, for static members, by `group.instance.id` alone (KIP-345's admin removal).

use super::Ctx;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

pub(crate) fn handle(ctx: &Ctx, version: i16, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let mut resp = LeaveGroupResponse::default();
    let log = ctx.broker.offsets_log();
    if version <= 2 {
        // The whole response carries the one member's outcome (Kafka's LeaveGroupResponse for v0–v2).
        match ctx.broker.groups.leave(&log, &req.group_id, &[(req.member_id.to_string(), None)]) {
            Ok(codes) => resp.error_code = codes.first().copied().unwrap_or(0),
            Err(code) => resp.error_code = code,
        }
        return resp;
    }
    let members: Vec<(String, Option<String>)> = req
        .members
        .iter()
        .map(|m| (m.member_id.to_string(), m.group_instance_id.as_ref().map(|x| x.to_string())))
        .collect();
    match ctx.broker.groups.leave(&log, &req.group_id, &members) {
        Ok(codes) => {
            resp.members = req
                .members
                .iter()
                .zip(codes)
                .map(|(m, code)| {
                    let mut r = MemberResponse::default();
                    r.member_id = m.member_id.clone();
                    r.group_instance_id = m.group_instance_id.clone();
                    r.error_code = code;
                    r
                })
                .collect();
        }
        Err(code) => resp.error_code = code,
    }
    resp
}
