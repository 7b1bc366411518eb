//! FindCoordinator (key 10): every group's coordinator is this broker (v0–v3 single key, v4+
//! batched keys). Transaction coordinators are refused until issue 6; share groups are unknown.

use super::{s, Ctx};
use crate::codes;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};

const KEY_GROUP: i8 = 0;
const KEY_TRANSACTION: i8 = 1;

fn lookup(ctx: &Ctx, key: &str, key_type: i8) -> (i16, Option<String>) {
    match key_type {
        KEY_GROUP if key.is_empty() => (codes::INVALID_REQUEST, Some("empty group id".into())),
        KEY_GROUP => (codes::NONE, None),
        KEY_TRANSACTION => {
            tracing::warn!(transactional_id = key, "FindCoordinator for a transaction refused: transactions are not supported yet");
            (codes::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, Some("Oxbow does not support transactions yet".into()))
        }
        other => {
            let _ = ctx;
            (codes::INVALID_REQUEST, Some(format!("coordinator key type {other} is not supported")))
        }
    }
}

pub(crate) fn handle(ctx: &Ctx, version: i16, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let b = &ctx.broker;
    let mut resp = FindCoordinatorResponse::default();
    if version >= 4 {
        for key in req.coordinator_keys {
            let (code, msg) = lookup(ctx, &key, req.key_type);
            let mut c = Coordinator::default();
            c.key = key;
            c.error_code = code;
            if code == codes::NONE {
                c.node_id = BrokerId(b.config.node_id);
                c.host = s(b.advertised_host.clone());
                c.port = b.advertised_port;
            } else {
                c.node_id = BrokerId(-1);
                c.host = s("");
                c.port = -1;
                c.error_message = msg.map(s);
            }
            resp.coordinators.push(c);
        }
        return resp;
    }
    let key_type = if version >= 1 { req.key_type } else { KEY_GROUP };
    let (code, msg) = lookup(ctx, &req.key, key_type);
    resp.error_code = code;
    if code == codes::NONE {
        resp.node_id = BrokerId(b.config.node_id);
        resp.host = s(b.advertised_host.clone());
        resp.port = b.advertised_port;
    } else {
        resp.node_id = BrokerId(-1);
        resp.host = s("");
        resp.port = -1;
        if version >= 1 {
            resp.error_message = msg.map(s);
        }
    }
    resp
}
