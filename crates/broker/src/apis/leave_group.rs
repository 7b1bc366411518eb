//! LeaveGroup (key 13): one member (v0–v2) or a batch of members (v3+, per-member errors).

use super::Ctx;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

pub(crate) fn handle(ctx: &Ctx, version: i16, req: LeaveGroupRequest) -> LeaveGroupResponse {
    let mut resp = LeaveGroupResponse::default();
    if version <= 2 {
        match ctx.broker.groups.leave(&req.group_id, &[req.member_id.to_string()]) {
            Ok(codes) => resp.error_code = codes.first().copied().unwrap_or(0),
            Err(code) => resp.error_code = code,
        }
        return resp;
    }
    let ids: Vec<String> = req.members.iter().map(|m| m.member_id.to_string()).collect();
    match ctx.broker.groups.leave(&req.group_id, &ids) {
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
