//! AlterConfigs (key 33): replaces the whole set of dynamic configs of a topic or broker
//! (Kafka's legacy semantics), validated; `validate_only`. Topic changes apply to the live logs.
//! Broker resources accept the dynamic `log.*`-style defaults; "" is the cluster-wide default.

use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::{s, Ctx};
use crate::broker::ApiError;
use crate::codes;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use std::collections::BTreeMap;

/// Which broker config set a broker resource name addresses: `None` the cluster default (""),
/// `Some(id)` a registered broker's own.
pub(crate) fn broker_scope(ctx: &Ctx, name: &str) -> Result<Option<i32>, ApiError> {
    if name.is_empty() {
        return Ok(None);
    }
    match name.parse::<i32>() {
        Ok(id) if ctx.broker.image().brokers.contains_key(&id) => Ok(Some(id)),
        _ => Err(ApiError::new(
            codes::INVALID_REQUEST,
            format!("Unexpected broker id, expected a registered broker id or empty string, but received {name}"),
        )),
    }
}

pub(crate) async fn handle(ctx: &Ctx, _version: i16, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let b = &ctx.broker;
    let mut resp = AlterConfigsResponse::default();
    for res in req.resources {
        let mut r = AlterConfigsResourceResponse::default();
        r.resource_type = res.resource_type;
        r.resource_name = res.resource_name.clone();
        let name = res.resource_name.to_string();
        let mut configs = BTreeMap::new();
        let mut err = None;
        for c in &res.configs {
            match &c.value {
                Some(v) => {
                    configs.insert(c.name.to_string(), v.to_string());
                }
                None => {
                    err = Some(ApiError::new(
                        codes::INVALID_CONFIG,
                        format!("Null value not supported for : {}", c.name.as_str()),
                    ))
                }
            }
        }
        let result = match err {
            Some(e) => Err(e),
            None => match res.resource_type {
                RESOURCE_TOPIC => b.set_topic_configs(&name, configs, req.validate_only).await,
                RESOURCE_BROKER => match broker_scope(ctx, &name) {
                    Ok(broker) => b.set_broker_configs(broker, configs, req.validate_only).await,
                    Err(e) => Err(e),
                },
                other => Err(ApiError::new(
                    codes::INVALID_REQUEST,
                    format!("AlterConfigs is only supported for topics and brokers, but resource type is {other}"),
                )),
            },
        };
        if let Err(e) = result {
            r.error_code = e.code;
            r.error_message = Some(s(e.message));
        } else {
            tracing::info!(resource = %name, resource_type = res.resource_type, validate_only = req.validate_only, "altered configs");
        }
        resp.responses.push(r);
    }
    resp
}
