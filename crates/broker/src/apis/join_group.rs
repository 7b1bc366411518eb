//! JoinGroup (key 11): classic protocol; parks until the rebalance completes. KIP-394: v4+
//! clients get MEMBER_ID_REQUIRED with their member id on the first join. See
//! `coordinator::group` for the state machine.

use super::{s, Ctx};
use crate::coordinator::group::{JoinOutcome, JoinRequest, JoinResult};
use crate::codes;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse, RequestHeader};

pub(crate) async fn handle(ctx: &Ctx, header: &RequestHeader, req: JoinGroupRequest) -> JoinGroupResponse {
    let version = header.request_api_version;
    let jr = JoinRequest {
        group_id: req.group_id.to_string(),
        member_id: req.member_id.to_string(),
        group_instance_id: req.group_instance_id.as_ref().map(|x| x.to_string()),
        client_id: Ctx::client_id(header),
        client_host: ctx.client_host.clone(),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if version >= 1 { req.rebalance_timeout_ms } else { req.session_timeout_ms },
        protocol_type: req.protocol_type.to_string(),
        protocols: req.protocols.iter().map(|p| (p.name.to_string(), p.metadata.clone())).collect(),
        require_known_member_id: version >= 4 && req.group_instance_id.is_none(),
    };
    let result = if !ctx.broker.is_group_coordinator(&jr.group_id) {
        JoinResult { error: codes::NOT_COORDINATOR, generation_id: -1, ..Default::default() }
    } else {
        match ctx.broker.groups.join(jr) {
        JoinOutcome::Done(r) => r,
        JoinOutcome::Wait(rx) => rx.await.unwrap_or(JoinResult { error: codes::UNKNOWN_MEMBER_ID, generation_id: -1, ..Default::default() }),
        }
    };
    let mut resp = JoinGroupResponse::default();
    resp.error_code = result.error;
    resp.generation_id = result.generation_id;
    if version >= 7 {
        resp.protocol_type = result.protocol_type.map(s);
        resp.protocol_name = result.protocol_name.map(s);
    } else {
        resp.protocol_name = Some(s(result.protocol_name.unwrap_or_default()));
    }
    resp.leader = s(result.leader);
    resp.member_id = s(if result.member_id.is_empty() { req.member_id.to_string() } else { result.member_id });
    resp.members = result
        .members
        .into_iter()
        .map(|(id, instance, md)| {
            let mut m = JoinGroupResponseMember::default();
            m.member_id = s(id);
            if version >= 5 {
                m.group_instance_id = instance.map(s);
            }
            m.metadata = md;
            m
        })
        .collect();
    resp
}
