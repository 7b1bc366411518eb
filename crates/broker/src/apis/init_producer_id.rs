//! InitProducerId (key 22).
//!
//! Without a transactional id (idempotent producers): a fresh producer id with epoch 0. As in
//! Kafka, such a request always gets a new producer id, even when it carries an existing id/epoch
//! (KIP-360): idempotent producers bump their epoch on the client side, and the log accepts the
//! higher epoch.
//!
//! With a transactional id: the transaction coordinator's answer (`TxnCoordinator::init_producer_id`):
//! the timeout checked against `transaction.max.timeout.ms` (INVALID_TRANSACTION_TIMEOUT), the
//! epoch bumped (fencing earlier producers of the id), CONCURRENT_TRANSACTIONS while a previous
//! transaction completes or is being aborted, NOT_COORDINATOR when this broker does not lead the
//! id's `__transaction_state` partition. v3+ carry the producer's current id and epoch (KIP-360),
//! both or neither. Before v4 a fenced producer gets INVALID_PRODUCER_EPOCH (KIP-588).

use super::{fenced_for_version, Ctx};
use crate::codes;
use crate::coordinator::txn::ExpectedProducer;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

/// The first version whose clients know PRODUCER_FENCED (KIP-588).
const PRODUCER_FENCED_VERSION: i16 = 4;

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let mut resp = InitProducerIdResponse::default();
    resp.producer_id = ProducerId(-1);
    resp.producer_epoch = -1;
    let Some(tid) = req.transactional_id.as_ref().map(|t| t.to_string()) else {
        match ctx.broker.allocate_producer_id().await {
            Ok(id) => {
                resp.producer_id = ProducerId(id);
                resp.producer_epoch = 0;
            }
            Err(e) => resp.error_code = e.code,
        }
        return resp;
    };
    if tid.is_empty() {
        resp.error_code = codes::INVALID_REQUEST;
        return resp;
    }
    let expected = match (req.producer_id.0, req.producer_epoch) {
        (-1, -1) => None,
        (id, epoch) if id >= 0 && epoch >= 0 => Some(ExpectedProducer { producer_id: id, producer_epoch: epoch }),
        (id, epoch) => {
            tracing::debug!(transactional_id = %tid, id, epoch, "InitProducerId with only one of producer id and epoch");
            resp.error_code = codes::INVALID_REQUEST;
            return resp;
        }
    };
    match ctx.broker.txns.init_producer_id(&ctx.broker, &tid, req.transaction_timeout_ms, expected).await {
        Ok((id, epoch)) => {
            resp.producer_id = ProducerId(id);
            resp.producer_epoch = epoch;
        }
        Err(code) => {
            if code == codes::INVALID_TRANSACTION_TIMEOUT {
                tracing::info!(transactional_id = %tid, timeout_ms = req.transaction_timeout_ms, max_ms = ctx.broker.config.transaction_max_timeout_ms, "InitProducerId refused: the transaction timeout must be in 1..=transaction.max.timeout.ms");
            }
            resp.error_code = fenced_for_version(code, version, PRODUCER_FENCED_VERSION);
        }
    }
    resp
}
