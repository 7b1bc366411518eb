//! CreateTopics (key 19): validates names, counts, replication factor, replica assignments and
//! configs (Kafka's names, types and ranges) per topic; `validate_only`; v5+ responses carry the
//! resulting partitions, replication factor and configs, v7 the topic id.

use super::{s, Ctx};
use crate::broker::NewTopic;
use crate::codes;
use crate::topic_config;
use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use std::collections::{BTreeMap, HashMap};

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let b = &ctx.broker;
    let mut resp = CreateTopicsResponse::default();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for t in &req.topics {
        *counts.entry(t.name.to_string()).or_default() += 1;
    }
    let fail = |mut r: CreatableTopicResult, code: i16, msg: String| {
        r.error_code = code;
        r.error_message = Some(s(msg));
        r
    };
    // Checked here topic by topic; the valid ones are created together below, so the metadata
    // image is written once per request, not once per topic. `pending` holds each valid topic's
    // slot in `resp.topics` (filled in below) and its configs.
    let mut pending: Vec<(usize, BTreeMap<String, String>)> = Vec::new();
    let mut batch = Vec::new();
    for t in req.topics {
        let name = t.name.to_string();
        let mut r = CreatableTopicResult::default();
        r.name = t.name.clone();
        if version >= 5 {
            r.num_partitions = -1;
            r.replication_factor = -1;
        }
        if counts.get(&name).copied().unwrap_or(0) > 1 {
            resp.topics.push(fail(
                r,
                codes::INVALID_REQUEST,
                format!(
                    "Create topics request from client `{}` contains multiple entries for the following topics: {name}",
                    ctx.client_host
                ),
            ));
            continue;
        }
        let mut configs = BTreeMap::new();
        let mut bad_config = None;
        for c in &t.configs {
            match &c.value {
                Some(v) => {
                    configs.insert(c.name.to_string(), v.to_string());
                }
                None => bad_config = Some(format!("Null value not supported for topic configs: {}", c.name.as_str())),
            }
        }
        if let Some(m) = bad_config {
            resp.topics.push(fail(r, codes::INVALID_CONFIG, m));
            continue;
        }
        let assignments: Vec<(i32, Vec<i32>)> =
            t.assignments.iter().map(|a| (a.partition_index, a.broker_ids.iter().map(|b| b.0).collect())).collect();
        pending.push((resp.topics.len(), configs.clone()));
        batch.push(NewTopic {
            name,
            partitions: t.num_partitions,
            replication_factor: t.replication_factor,
            assignments,
            configs,
        });
        resp.topics.push(r);
    }
    let results = b.create_topics(batch, req.validate_only).await;
    let image = if version >= 5 { Some(b.image()) } else { None };
    for ((slot, configs), result) in pending.into_iter().zip(results) {
        let r = std::mem::take(&mut resp.topics[slot]);
        resp.topics[slot] = match result {
            Ok((id, partitions, rf)) => {
                let mut r = r;
                if let Some(image) = &image {
                    r.num_partitions = partitions;
                    r.replication_factor = rf;
                    let resolved = topic_config::resolve_topic(
                        &b.config,
                        b.own_broker_configs(image),
                        &image.cluster_configs,
                        &configs,
                    );
                    r.configs = Some(
                        resolved
                            .iter()
                            .map(|c| {
                                let mut x = CreatableTopicConfigs::default();
                                x.name = s(c.def.name);
                                x.value = Some(s(c.value.clone()));
                                x.read_only = false;
                                x.config_source = c.source;
                                x.is_sensitive = false;
                                x
                            })
                            .collect(),
                    );
                }
                if version >= 7 && !req.validate_only {
                    r.topic_id = id;
                }
                r
            }
            Err(e) => {
                tracing::debug!(topic = %r.name.as_str(), code = e.code, "create topic refused: {}", e.message);
                fail(r, e.code, e.message)
            }
        };
    }
    resp
}
