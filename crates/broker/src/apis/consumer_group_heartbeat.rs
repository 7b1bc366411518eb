//! ConsumerGroupHeartbeat (key 68), v0–v1: the KIP-848 consumer group protocol. A member joins
//! (epoch 0), heartbeats with its epoch and what it owns, and learns its assignment and epoch
//! from the coordinator, which computes assignments server-side (`uniform`, `range`); see
//! `coordinator::consumer_group` for the state machine and `coordinator::group_consumer` for its
//! persistence.
//!
//! v1 (Kafka 4.0, KIP-1082) has the client generate its member id, so an empty member id when
//! joining is INVALID_REQUEST in v1; for v0 the coordinator makes one up, as Kafka 3.x did. v1
//! also carries `SubscribedTopicRegex`, which this broker does not implement: such a heartbeat is
//! refused with INVALID_REQUEST saying so. An unknown `ServerAssignor` gets UNSUPPORTED_ASSIGNOR
//! naming it and the supported ones.

use super::{s, Ctx};
use crate::codes;
use crate::coordinator::assignor::{Assignment, Assignor};
use crate::coordinator::consumer_group::{Heartbeat, JOIN_EPOCH};
use kafka_protocol::messages::consumer_group_heartbeat_response::{Assignment as WireAssignment, TopicPartitions};
use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, RequestHeader};
use uuid::Uuid;

fn error(code: i16, message: String) -> ConsumerGroupHeartbeatResponse {
    let mut resp = ConsumerGroupHeartbeatResponse::default();
    resp.error_code = code;
    resp.error_message = Some(s(message));
    resp
}

pub(crate) async fn handle(
    ctx: &Ctx,
    header: &RequestHeader,
    req: ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    let version = header.request_api_version;
    let group = req.group_id.to_string();
    if req.subscribed_topic_regex.as_ref().is_some_and(|r| !r.is_empty()) {
        return error(
            codes::INVALID_REQUEST,
            "SubscribedTopicRegex is not supported by this broker: subscribe to topic names instead".into(),
        );
    }
    if let Some(a) = req.server_assignor.as_ref().filter(|a| Assignor::by_name(a).is_none()) {
        return error(
            codes::UNSUPPORTED_ASSIGNOR,
            format!("ServerAssignor {a} is not supported; this broker offers uniform and range"),
        );
    }
    let mut member_id = req.member_id.to_string();
    if member_id.is_empty() && req.member_epoch == JOIN_EPOCH {
        if version >= 1 {
            return error(
                codes::INVALID_REQUEST,
                "MemberId can't be empty (ConsumerGroupHeartbeat v1+ members choose their own id)".into(),
            );
        }
        member_id = crate::metadata::base64url_uuid(Uuid::new_v4());
    }
    if req.member_epoch == JOIN_EPOCH && req.subscribed_topic_names.is_none() {
        return error(codes::INVALID_REQUEST, "SubscribedTopicNames must be set when joining the group".into());
    }
    let owned = req.topic_partitions.as_ref().map(|tps| {
        let mut a = Assignment::new();
        for tp in tps {
            a.entry(*tp.topic_id.as_bytes()).or_insert_with(Default::default).extend(tp.partitions.iter().copied());
        }
        a.retain(|_, ps: &mut std::collections::BTreeSet<i32>| !ps.is_empty());
        a
    });
    let hb = Heartbeat {
        member_id,
        member_epoch: req.member_epoch,
        instance_id: req.instance_id.as_ref().map(|x| x.to_string()),
        rack_id: req.rack_id.as_ref().map(|x| x.to_string()),
        rebalance_timeout_ms: req.rebalance_timeout_ms,
        subscribed_topic_names: req.subscribed_topic_names.as_ref().map(|v| v.iter().map(|t| t.to_string()).collect()),
        server_assignor: req.server_assignor.as_ref().map(|x| x.to_string()),
        owned,
        client_id: Ctx::client_id(header),
        client_host: ctx.client_host.clone(),
    };
    let b = &ctx.broker;
    let image = b.image();
    let lookup = |name: &str| image.topics.get(name).map(|t| (*t.id.as_bytes(), t.partition_count()));
    match b.groups.consumer_heartbeat(&b.offsets_log(), &group, hb, &lookup).await {
        Ok(a) => {
            let mut resp = ConsumerGroupHeartbeatResponse::default();
            resp.member_id = Some(s(a.member_id));
            resp.member_epoch = a.member_epoch;
            resp.heartbeat_interval_ms = a.heartbeat_interval_ms;
            resp.assignment = a.assignment.map(|asg| {
                let mut w = WireAssignment::default();
                w.topic_partitions = asg
                    .into_iter()
                    .map(|(id, ps)| {
                        let mut tp = TopicPartitions::default();
                        tp.topic_id = Uuid::from_bytes(id);
                        tp.partitions = ps.into_iter().collect();
                        tp
                    })
                    .collect();
                w
            });
            resp
        }
        Err(code) => error(code, message(code, &group)),
    }
}

/// What went wrong, in words, for the response's error message.
fn message(code: i16, group: &str) -> String {
    match code {
        codes::UNKNOWN_MEMBER_ID => format!(
            "the member is not in group {group} (it left, was fenced, or the group is gone): rejoin with epoch 0"
        ),
        codes::FENCED_MEMBER_EPOCH => {
            "the member epoch is not the member's current epoch: the member was fenced and must rejoin".into()
        }
        codes::GROUP_ID_NOT_FOUND => format!("group {group} is not a consumer group (it has classic-protocol members)"),
        codes::UNRELEASED_INSTANCE_ID => "this group.instance.id is still in use by another member".into(),
        codes::GROUP_MAX_SIZE_REACHED => format!("group {group} has reached its maximum number of members"),
        codes::INVALID_REQUEST => "invalid ConsumerGroupHeartbeat (member id, epoch or subscription)".into(),
        codes::UNSUPPORTED_ASSIGNOR => "unsupported server assignor; this broker offers uniform and range".into(),
        _ => format!("ConsumerGroupHeartbeat failed with error code {code}"),
    }
}
