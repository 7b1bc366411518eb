//! FindCoordinator (key 10): a group's coordinator is the leader of its `__consumer_offsets`
//! partition (see `BrokerState::find_group_coordinator`), a transactional id's the leader of its
//! `__transaction_state` partition (`BrokerState::find_txn_coordinator`, key type 1), the topic
//! being created on the first lookup; v0–v3 one key, v4+ batched keys. COORDINATOR_NOT_AVAILABLE
//! while the topic cannot be created or the partition has no leader. Share groups are unknown.

use super::{s, Ctx};
use crate::codes;
use crate::metadata::BrokerRegistration;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};

const KEY_GROUP: i8 = 0;
const KEY_TRANSACTION: i8 = 1;

async fn lookup(ctx: &Ctx, key: &str, key_type: i8) -> (i16, Option<String>, Option<BrokerRegistration>) {
    match key_type {
        KEY_GROUP if key.is_empty() => (codes::INVALID_REQUEST, Some("empty group id".into()), None),
        KEY_GROUP => match ctx.broker.find_group_coordinator(key).await {
            Ok(b) => (codes::NONE, None, Some(b)),
            Err(e) => (e.code, Some(e.message), None),
        },
        KEY_TRANSACTION if key.is_empty() => (codes::INVALID_REQUEST, Some("empty transactional id".into()), None),
        KEY_TRANSACTION => match ctx.broker.find_txn_coordinator(key).await {
            Ok(b) => (codes::NONE, None, Some(b)),
            Err(e) => (e.code, Some(e.message), None),
        },
        other => (codes::INVALID_REQUEST, Some(format!("coordinator key type {other} is not supported")), None),
    }
}

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: FindCoordinatorRequest) -> FindCoordinatorResponse {
    let mut resp = FindCoordinatorResponse::default();
    if version >= 4 {
        for key in req.coordinator_keys {
            let (code, msg, found) = lookup(ctx, &key, req.key_type).await;
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
    let (code, msg, found) = lookup(ctx, &req.key, key_type).await;
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
