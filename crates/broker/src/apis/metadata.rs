//! Metadata (key 3): brokers, controller, cluster id, topics with partitions, leaders, ISR and
//! topic ids; auto-creates requested topics when `auto.create.topics.enable` and the request
//! allows it (Kafka auto-creates on Metadata only, never on Produce).
//!
//! Everything comes from this broker's copy of the metadata image: the unfenced brokers (as
//! KRaft lists them), each partition's leader, epoch, replicas, ISR and offline replicas (fenced
//! ones). A partition without a leader is LEADER_NOT_AVAILABLE. The controller id is this
//! broker (see `controller_id`). An auto-created topic is answered once the creation
//! is committed and applied here.

use super::{s, Ctx};
use crate::broker::validate_topic_name;
use crate::codes;
use crate::coordinator::group::OFFSETS_TOPIC;
use crate::metadata::{BrokerRegistration, NO_LEADER};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Kafka's AclOperation bit set for a topic with no authorizer: READ, WRITE, CREATE, DELETE,
/// ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
pub(crate) const TOPIC_AUTHORIZED_OPERATIONS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
/// ... and for the cluster (Kafka's `AclEntry.supportedOperations(CLUSTER)`): CREATE, ALTER,
/// DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
pub(crate) const CLUSTER_AUTHORIZED_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

fn broker_entry(r: &BrokerRegistration) -> MetadataResponseBroker {
    let mut b = MetadataResponseBroker::default();
    b.node_id = BrokerId(r.id);
    b.host = s(r.host.clone());
    b.port = r.port;
    b.rack = r.rack.clone().map(s);
    b
}

/// The "controller" clients are told about: as in KRaft, where the controller quorum is not
/// reachable by clients and every broker takes admin requests (here: proposes them to the
/// metadata quorum), this is a live broker — the one answering, which the client just reached.
/// A client that sends admin requests to a cached controller id so never waits on a dead broker
/// after the active controller fails (librdkafka waits for its controller until the request
/// times out). The real active controller is in the studio's replication view.
pub(crate) fn controller_id(ctx: &Ctx) -> i32 {
    ctx.broker.config.node_id
}

/// Kafka's internal topics: flagged in Metadata, hidden by admin clients' listings by default,
/// closed to producers.
pub(crate) fn is_internal_topic(name: &str) -> bool {
    name == OFFSETS_TOPIC || name == "__transaction_state"
}

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: MetadataRequest) -> MetadataResponse {
    let b = &ctx.broker;
    let mut resp = MetadataResponse::default();
    resp.cluster_id = Some(s(b.cluster_id()));
    resp.controller_id = BrokerId(controller_id(ctx));
    if (8..=10).contains(&version) && req.include_cluster_authorized_operations {
        resp.cluster_authorized_operations = CLUSTER_AUTHORIZED_OPERATIONS;
    }
    let allow_auto_create = b.config.auto_create_topics_enable && (version < 4 || req.allow_auto_topic_creation);

    // (name or None, id) requested, or every topic.
    let mut image = b.image();
    let requested: Vec<(Option<String>, Uuid)> = match &req.topics {
        None => image.topics.values().map(|t| (Some(t.name.clone()), t.id)).collect(),
        Some(ts) if ts.is_empty() && version == 0 => {
            image.topics.values().map(|t| (Some(t.name.clone()), t.id)).collect()
        }
        Some(ts) => ts.iter().map(|t| (t.name.as_ref().map(|n| n.to_string()), t.topic_id)).collect(),
    };

    let mut seen = BTreeMap::new();
    for (name, id) in requested {
        let mut t = MetadataResponseTopic::default();
        if version >= 8 && req.include_topic_authorized_operations {
            t.topic_authorized_operations = TOPIC_AUTHORIZED_OPERATIONS;
        }
        let name = match name {
            Some(n) => n,
            None => match image.topic_by_id(id) {
                Some(t) => t.name.clone(),
                None => {
                    t.error_code = codes::UNKNOWN_TOPIC_ID;
                    if version >= 10 {
                        t.topic_id = id;
                    }
                    resp.topics.push(t);
                    continue;
                }
            },
        };
        if seen.insert(name.clone(), ()).is_some() {
            continue;
        }
        t.name = Some(TopicName(s(name.clone())));
        let mut tp = image.topics.get(&name).cloned();
        if tp.is_none() {
            if let Err(msg) = validate_topic_name(&name) {
                tracing::debug!(topic = %name, "metadata for an invalid topic name: {msg}");
                t.error_code = codes::INVALID_TOPIC_EXCEPTION;
                resp.topics.push(t);
                continue;
            }
            if allow_auto_create && name == OFFSETS_TOPIC {
                // Kafka creates its internal topic with its own settings, never the defaults.
                if let Err(e) = b.ensure_offsets_topic().await {
                    tracing::info!(error = %e.message, "metadata for {OFFSETS_TOPIC}: not created");
                }
                image = b.image();
                tp = image.topics.get(&name).cloned();
            } else if allow_auto_create {
                match b.create_topic(&name, -1, -1, BTreeMap::new()).await {
                    Ok(_) => tracing::info!(topic = %name, "auto-created topic on metadata request"),
                    Err(e) if e.code == codes::TOPIC_ALREADY_EXISTS => {}
                    Err(e) => {
                        t.error_code = e.code;
                        resp.topics.push(t);
                        continue;
                    }
                }
                image = b.image();
                tp = image.topics.get(&name).cloned();
            }
        }
        let Some(tp) = tp else {
            t.error_code = codes::UNKNOWN_TOPIC_OR_PARTITION;
            resp.topics.push(t);
            continue;
        };
        if version >= 10 {
            t.topic_id = tp.id;
        }
        if version >= 1 {
            t.is_internal = is_internal_topic(&name);
        }
        t.partitions = tp
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut mp = MetadataResponsePartition::default();
                mp.partition_index = i as i32;
                mp.error_code = if p.leader == NO_LEADER { codes::LEADER_NOT_AVAILABLE } else { codes::NONE };
                mp.leader_id = BrokerId(p.leader);
                mp.leader_epoch = p.leader_epoch;
                mp.replica_nodes = p.replicas.iter().copied().map(BrokerId).collect();
                mp.isr_nodes = p.isr.iter().copied().map(BrokerId).collect();
                if version >= 5 {
                    mp.offline_replicas =
                        p.replicas.iter().copied().filter(|r| !image.is_live(*r)).map(BrokerId).collect();
                }
                mp
            })
            .collect();
        resp.topics.push(t);
    }
    resp.brokers = image.live_brokers().map(broker_entry).collect();
    resp
}
