//! InitProducerId (key 22) for idempotent producers: a fresh producer id with epoch 0.
//!
//! As in Kafka, a request without a transactional id always gets a new producer id, even when
//! it carries an existing id/epoch (KIP-360): idempotent producers bump their epoch on the client
//! side, and the log accepts the higher epoch. Transactional ids are refused (issue 6 adds the
//! transaction coordinator) with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients treat as
//! fatal instead of retrying forever.

use super::Ctx;
use crate::codes;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

pub(crate) async fn handle(ctx: &Ctx, _version: i16, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let mut resp = InitProducerIdResponse::default();
    resp.producer_id = ProducerId(-1);
    resp.producer_epoch = -1;
    if req.transactional_id.as_ref().is_some_and(|t| !t.is_empty()) {
        tracing::warn!(transactional_id = ?req.transactional_id.as_ref().map(|t| t.to_string()), "InitProducerId with a transactional id refused: transactions are not supported yet");
        resp.error_code = codes::TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        return resp;
    }
    match ctx.broker.allocate_producer_id().await {
        Ok(id) => {
            resp.producer_id = ProducerId(id);
            resp.producer_epoch = 0;
        }
        Err(e) => resp.error_code = e.code,
    }
    resp
}
