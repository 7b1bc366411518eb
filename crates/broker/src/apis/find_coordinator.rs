//! FindCoordinator (key 10): a group's coordinator is the live broker its name maps to (see
//! `BrokerState::group_coordinator`); v0–v3 single key, v4+ batched keys. Transaction coordinators are refused until issue 6; share groups are unknown.

use super::{s, Ctx};
use crate::codes;
use crate::metadata::BrokerRegistration;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};

const KEY_GROUP: i8 = 0;
const KEY_TRANSACTION: i8 = 1;

fn lookup(ctx: &Ctx, key: &str, key_type: i8) -> (i16, Option<String>, Option<BrokerRegistration>) {
    match key_type {
        KEY_GROUP if key.is_empty() => (codes::INVALID_REQUEST, Some("empty group id".into()), None),
        KEY_GROUP => match ctx.broker.group_coordinator(key) {
            Some(b) => (codes::NONE, None, Some(b)),
            None => (codes::COORDINATOR_NOT_AVAILABLE, Some("no live broker".into()), None),
        },
        KEY_TRANSACTION => {
            tracing::warn!(transactional_id = key, "FindCoordinator for a transaction refused: transactions are not supported yet");
            (codes::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, Some("Oxbow does not support transactions yet".into()), None)
        }
        other => {
            let _ = ctx;
            (codes::INVALID_REQUEST, Some(format!("coordinator key type {other} is not supported")), None)
        }
    }
}

pub(crate) fn handle(ctx: &Ctx, version: i16, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let mut resp = FindCoordinatorResponse::default();
    if version >= 4 {
        for key in req.coordinator_keys {
            let (code, msg, found) = lookup(ctx, &key, req.key_type);
            let mut c = Coordinator::default();
            c.key = key;
            c.error_code = code;
            if let Some(found) = found {
                c.node_id = BrokerId(found.id);
                c.host = s(found.host);
                c.port = found.port;
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
    let (code, msg, found) = lookup(ctx, &req.key, key_type);
    resp.error_code = code;
    if let Some(found) = found {
        resp.node_id = BrokerId(found.id);
        resp.host = s(found.host);
        resp.port = found.port;
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
