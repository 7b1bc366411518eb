//! DescribeConfigs (key 32): topic and broker resources with Kafka's config names, values,
//! sources, synonyms (topic override → dynamic broker → dynamic default → static broker →
//! default), `read_only`, `is_sensitive`, types (v3+) and documentation (v3+, when asked).

use super::{s, Ctx};
use crate::codes;
use crate::topic_config::{self, source, ConfigType};
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};

pub(crate) const RESOURCE_TOPIC: i8 = 2;
pub(crate) const RESOURCE_BROKER: i8 = 4;
pub(crate) const RESOURCE_BROKER_LOGGER: i8 = 8;

struct Entry {
    name: String,
    value: String,
    source: i8,
    read_only: bool,
    ty: ConfigType,
    doc: &'static str,
    synonyms: Vec<(String, String, i8)>,
}

fn to_result(e: Entry, version: i16, include_synonyms: bool, include_docs: bool) -> DescribeConfigsResourceResult {
    let mut r = DescribeConfigsResourceResult::default();
    r.name = s(e.name);
    r.value = Some(s(e.value));
    r.read_only = e.read_only;
    r.config_source = e.source;
    r.is_sensitive = false;
    if include_synonyms {
        r.synonyms = e
            .synonyms
            .into_iter()
            .map(|(n, v, src)| {
                let mut x = DescribeConfigsSynonym::default();
                x.name = s(n);
                x.value = Some(s(v));
                x.source = src;
                x
            })
            .collect();
    }
    if version >= 3 {
        r.config_type = e.ty as i8;
        if include_docs {
            r.documentation = Some(s(e.doc));
        }
    }
    r
}

/// Entries for a broker resource: static broker settings plus every topic-default (`log.*`)
/// config with its dynamic/static/default resolution.
fn broker_entries(ctx: &Ctx, cluster_default_only: bool) -> Vec<Entry> {
    let b = &ctx.broker;
    let image = b.image();
    let mut out = Vec::new();
    if !cluster_default_only {
        let listener = format!("{}:{}", b.advertised_host, b.advertised_port);
        for (name, value, ty, is_default, read_only, doc) in topic_config::broker_configs(&b.config, &listener) {
            let src = if is_default { source::DEFAULT_CONFIG } else { source::STATIC_BROKER_CONFIG };
            out.push(Entry {
                synonyms: vec![(name.clone(), value.clone(), src)],
                name,
                value,
                source: src,
                read_only,
                ty,
                doc,
            });
        }
    }
    let none = Default::default();
    let resolved = topic_config::resolve_topic(
        &b.config,
        if cluster_default_only { &none } else { b.own_broker_configs(&image) },
        &image.cluster_configs,
        &none,
    );
    for r in resolved {
        let Some(syn) = r.def.synonym else { continue };
        if out.iter().any(|e| e.name == syn) {
            continue;
        }
        if cluster_default_only && r.source != source::DYNAMIC_DEFAULT_BROKER_CONFIG {
            continue; // Kafka lists only the dynamic defaults for the "" resource.
        }
        out.push(Entry {
            name: syn.to_string(),
            value: r.value.clone(),
            source: r.source,
            read_only: false,
            ty: r.def.ty,
            doc: r.def.doc,
            synonyms: r.synonyms.clone(),
        });
    }
    // Broker-only dynamic configs (the replication throttles).
    let own = b.own_broker_configs(&image);
    for def in topic_config::BROKER_ONLY_CONFIGS {
        let mut synonyms = Vec::new();
        if !cluster_default_only {
            if let Some(v) = own.get(def.name) {
                synonyms.push((def.name.to_string(), v.clone(), source::DYNAMIC_BROKER_CONFIG));
            }
        }
        if let Some(v) = image.cluster_configs.get(def.name) {
            synonyms.push((def.name.to_string(), v.clone(), source::DYNAMIC_DEFAULT_BROKER_CONFIG));
        }
        if cluster_default_only && synonyms.is_empty() {
            continue;
        }
        synonyms.push((def.name.to_string(), def.default.to_string(), source::DEFAULT_CONFIG));
        let (value, src) = (synonyms[0].1.clone(), synonyms[0].2);
        out.push(Entry {
            name: def.name.to_string(),
            value,
            source: src,
            read_only: false,
            ty: def.ty,
            doc: def.doc,
            synonyms,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

pub(crate) fn handle(ctx: &Ctx, version: i16, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let b = &ctx.broker;
    let include_docs = version >= 3 && req.include_documentation;
    let mut resp = DescribeConfigsResponse::default();
    for res in req.resources {
        let mut out = DescribeConfigsResult::default();
        out.resource_type = res.resource_type;
        out.resource_name = res.resource_name.clone();
        let name = res.resource_name.to_string();
        // Null or empty: every config (what clients mean by both).
        let keys: Option<Vec<String>> = res
            .configuration_keys
            .as_ref()
            .filter(|ks| !ks.is_empty())
            .map(|ks| ks.iter().map(|k| k.to_string()).collect());
        let entries: Result<Vec<Entry>, (i16, String)> = match res.resource_type {
            RESOURCE_TOPIC => {
                let image = b.image();
                match image.topics.get(&name) {
                    None => Err((codes::UNKNOWN_TOPIC_OR_PARTITION, format!("Topic {name} does not exist."))),
                    Some(t) => Ok(topic_config::resolve_topic(
                        &b.config,
                        b.own_broker_configs(&image),
                        &image.cluster_configs,
                        &t.configs,
                    )
                    .into_iter()
                    .map(|r| Entry {
                        name: r.def.name.to_string(),
                        value: r.value,
                        source: r.source,
                        read_only: false,
                        ty: r.def.ty,
                        doc: r.def.doc,
                        synonyms: r.synonyms,
                    })
                    .collect()),
                }
            }
            RESOURCE_BROKER => {
                if name.is_empty() {
                    Ok(broker_entries(ctx, true))
                } else if name == b.config.node_id.to_string() {
                    Ok(broker_entries(ctx, false))
                } else {
                    Err((
                        codes::INVALID_REQUEST,
                        format!(
                            "Unexpected broker id, expected {} or empty string, but received {name}",
                            b.config.node_id
                        ),
                    ))
                }
            }
            RESOURCE_BROKER_LOGGER => Ok(Vec::new()),
            other => Err((codes::INVALID_REQUEST, format!("Unsupported resource type {other}"))),
        };
        match entries {
            Ok(es) => {
                out.configs = es
                    .into_iter()
                    .filter(|e| keys.as_ref().is_none_or(|ks| ks.contains(&e.name)))
                    .map(|e| to_result(e, version, req.include_synonyms, include_docs))
                    .collect();
            }
            Err((code, msg)) => {
                out.error_code = code;
                out.error_message = Some(s(msg));
            }
        }
        resp.results.push(out);
    }
    resp
}
