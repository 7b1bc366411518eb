//! EndTxn (key 26, v0–v4): commit or abort the producer's transaction. Answered once the
//! coordinator has replicated PrepareCommit/PrepareAbort; the markers follow in the background,
//! and the producer's next transactional request gets CONCURRENT_TRANSACTIONS until they are all
//! written (as in Kafka with transaction protocol version 1). v5 (KIP-890 part 2, the epoch
//! bumped per transaction) is not offered. Before v2 a fenced producer gets
//! INVALID_PRODUCER_EPOCH (KIP-588).

use super::{fenced_for_version, Ctx};
use crate::coordinator::txn::TxnResult;
use kafka_protocol::messages::{EndTxnRequest, EndTxnResponse, ProducerId};

const PRODUCER_FENCED_VERSION: i16 = 2;

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: EndTxnRequest) -> EndTxnResponse {
    let mut resp = EndTxnResponse::default();
    let tid = req.transactional_id.to_string();
    let result = if req.committed { TxnResult::Commit } else { TxnResult::Abort };
    if let Err(code) = ctx.broker.txns.end_txn(&ctx.broker, &tid, req.producer_id.0, req.producer_epoch, result).await {
        tracing::debug!(transactional_id = %tid, producer_id = req.producer_id.0, epoch = req.producer_epoch, ?result, code, "EndTxn refused");
        resp.error_code = fenced_for_version(code, version, PRODUCER_FENCED_VERSION);
    }
    if version >= 5 {
        resp.producer_id = ProducerId(-1);
        resp.producer_epoch = -1;
    }
    resp
}
