//! JoinGroup (key 11): classic protocol; parks until the rebalance completes. KIP-394: v4+
//! dynamic members get MEMBER_ID_REQUIRED with their member id on the first join; static members
//! (v5+ `group.instance.id`, KIP-345) do not. See `coordinator::group` for the state machine.

use super::{s, Ctx};
use crate::coordinator::group::JoinRequest;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse, RequestHeader};

pub(crate) async fn handle(ctx: &Ctx, header: &RequestHeader, req: JoinGroupRequest) -> JoinGroupResponse {
    let version = header.request_api_version;
    let instance = if version >= 5 { req.group_instance_id.as_ref().map(|x| x.to_string()) } else { None };
    let jr = JoinRequest {
        group_id: req.group_id.to_string(),
        member_id: req.member_id.to_string(),
        require_known_member_id: version >= 4,
        group_instance_id: instance,
        client_id: Ctx::client_id(header),
        client_host: ctx.client_host.clone(),
        session_timeout_ms: req.session_timeout_ms,
        rebalance_timeout_ms: if version >= 1 { req.rebalance_timeout_ms } else { req.session_timeout_ms },
        protocol_type: req.protocol_type.to_string(),
        protocols: req.protocols.iter().map(|p| (p.name.to_string(), p.metadata.clone())).collect(),
        supports_skip_assignment: version >= 9,
    };
    let result = ctx.broker.groups.join(&ctx.broker.offsets_log(), jr).await;
    let mut resp = JoinGroupResponse::default();
    resp.error_code = result.error;
    resp.generation_id = result.generation_id;
    if version >= 7 {
        resp.protocol_type = result.protocol_type.map(s);
        resp.protocol_name = result.protocol_name.map(s);
    } else {
        resp.protocol_name = Some(s(result.protocol_name.unwrap_or_default()));
    }
    if version >= 9 {
        resp.skip_assignment = result.skip_assignment;
    }
    resp.leader = s(result.leader);
    resp.member_id = s(result.member_id);
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
