//! IncrementalAlterConfigs (key 44): SET / DELETE / APPEND / SUBTRACT on individual configs of a
//! topic or broker, validated (INVALID_CONFIG names the key and value), `validate_only`.
//! APPEND and SUBTRACT apply to list-typed configs only, starting from the effective value.

use super::alter_configs::broker_scope;
use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::{s, Ctx};
use crate::broker::ApiError;
use crate::codes;
use crate::topic_config::{self, ConfigType};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use std::collections::{BTreeMap, HashSet};

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

/// Which configs a resource changes: `None` a topic's, `Some(None)` the cluster-wide broker
/// defaults, `Some(Some(id))` one broker's.
type Scope = Option<Option<i32>>;

pub(crate) async fn handle(
    ctx: &Ctx,
    _version: i16,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let b = &ctx.broker;
    let mut resp = IncrementalAlterConfigsResponse::default();
    for res in req.resources {
        let mut r = AlterConfigsResourceResponse::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name.clone();
        let name = res.resource_name.to_string();
        let planned = (|| -> Result<(Scope, BTreeMap<String, String>), ApiError> {
            let mut seen = HashSet::new();
            for c in &res.configs {
                if !seen.insert(c.name.to_string()) {
                    return Err(ApiError::new(
                        codes::INVALID_REQUEST,
                        format!("Error due to duplicate config keys: {}", c.name.as_str()),
                    ));
                }
            }
            let image = b.image();
            let (scope_cluster, mut current, effective): (Scope, BTreeMap<String, String>, BTreeMap<String, String>) = match res.resource_type {
                RESOURCE_TOPIC => {
                    let t = image.topics.get(&name).ok_or_else(|| ApiError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, codes::default_message(codes::UNKNOWN_TOPIC_OR_PARTITION)))?;
                    let resolved = topic_config::resolve_topic(&b.config, b.own_broker_configs(&image), &image.cluster_configs, &t.configs);
                    let eff = resolved.iter().map(|r| (r.def.name.to_string(), r.value.clone())).collect();
                    (None, t.configs.clone(), eff)
                }
                RESOURCE_BROKER => {
                    let broker = broker_scope(ctx, &name)?;
                    let cur = match broker {
                        None => image.cluster_configs.clone(),
                        Some(id) => image.broker_configs.get(&id).cloned().unwrap_or_default(),
                    };
                    let own = match broker {
                        None => BTreeMap::new(),
                        Some(id) => image.broker_configs.get(&id).cloned().unwrap_or_default(),
                    };
                    let resolved = topic_config::resolve_topic(&b.config, &own, &image.cluster_configs, &BTreeMap::new());
                    let eff = resolved.iter().filter_map(|r| r.def.synonym.map(|syn| (syn.to_string(), r.value.clone()))).collect();
                    (Some(broker), cur, eff)
                }
                other => return Err(ApiError::new(codes::INVALID_REQUEST, format!("IncrementalAlterConfigs is only supported for topics and brokers, but resource type is {other}"))),
            };
            for c in &res.configs {
                let key = c.name.to_string();
                let def = match scope_cluster {
                    None => topic_config::topic_def(&key),
                    Some(_) => topic_config::broker_dynamic_def(&key),
                };
                let Some(def) = def else {
                    return Err(ApiError::new(codes::INVALID_CONFIG, format!("Unknown config name: {key}")));
                };
                let value = c.value.as_ref().map(|v| v.to_string());
                match c.config_operation {
                    SET => {
                        let v = value.ok_or_else(|| {
                            ApiError::new(codes::INVALID_REQUEST, format!("Null value not supported for : {key}"))
                        })?;
                        current.insert(key, v);
                    }
                    DELETE => {
                        current.remove(&key);
                    }
                    APPEND | SUBTRACT => {
                        if def.ty != ConfigType::List {
                            let op = if c.config_operation == APPEND { "append" } else { "subtract" };
                            return Err(ApiError::new(
                                codes::INVALID_CONFIG,
                                format!("Config value {op} is not allowed for config key: {key}"),
                            ));
                        }
                        let base = current.get(&key).or(effective.get(&key)).cloned().unwrap_or_default();
                        let mut items: Vec<String> =
                            base.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect();
                        let given: Vec<String> = value
                            .unwrap_or_default()
                            .split(',')
                            .map(|x| x.trim().to_string())
                            .filter(|x| !x.is_empty())
                            .collect();
                        if c.config_operation == APPEND {
                            for g in given {
                                if !items.contains(&g) {
                                    items.push(g);
                                }
                            }
                        } else {
                            items.retain(|i| !given.contains(i));
                        }
                        current.insert(key, items.join(","));
                    }
                    op => {
                        return Err(ApiError::new(
                            codes::INVALID_REQUEST,
                            format!("Unknown config operation {op} for config key: {key}"),
                        ))
                    }
                }
            }
            Ok((scope_cluster, current))
        })();
        let result = match planned {
            Err(e) => Err(e),
            Ok((None, current)) => b.set_topic_configs(&name, current, req.validate_only).await,
            Ok((Some(broker), current)) => b.set_broker_configs(broker, current, req.validate_only).await,
        };
        match result {
            Ok(()) => {
                tracing::info!(resource = %name, resource_type = res.resource_type, validate_only = req.validate_only, "incrementally altered configs")
            }
            Err(e) => {
                r.error_code = e.code;
                r.error_message = Some(s(e.message));
            }
        }
        resp.responses.push(r);
    }
    resp
}
