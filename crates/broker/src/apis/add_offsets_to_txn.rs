//! AddOffsetsToTxn (key 25, v0–v4): adds the group's `__consumer_offsets` partition to the
//! producer's transaction, so TxnOffsetCommit may write there and the markers reach it. The
//! offsets topic is created first if it does not exist yet (as FindCoordinator would). Before v2
//! a fenced producer gets INVALID_PRODUCER_EPOCH (KIP-588).

use super::{fenced_for_version, Ctx};
use crate::codes;
use crate::coordinator::group::{self, OFFSETS_TOPIC};
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse};

const PRODUCER_FENCED_VERSION: i16 = 2;

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: AddOffsetsToTxnRequest) -> AddOffsetsToTxnResponse {
    let mut resp = AddOffsetsToTxnResponse::default();
    let (tid, group_id) = (req.transactional_id.to_string(), req.group_id.to_string());
    if group_id.is_empty() {
        resp.error_code = codes::INVALID_GROUP_ID;
        return resp;
    }
    if let Err(e) = ctx.broker.ensure_offsets_topic().await {
        tracing::info!(transactional_id = %tid, group = %group_id, "AddOffsetsToTxn: {}", e.message);
        resp.error_code = codes::COORDINATOR_NOT_AVAILABLE;
        return resp;
    }
    let Some(count) = ctx.broker.image().topics.get(OFFSETS_TOPIC).map(|t| t.partition_count()) else {
        resp.error_code = codes::COORDINATOR_NOT_AVAILABLE;
        return resp;
    };
    let partition = group::partition_for(&group_id, count);
    let parts = [(OFFSETS_TOPIC.to_string(), partition)];
    resp.error_code =
        match ctx.broker.txns.add_partitions(&ctx.broker, &tid, req.producer_id.0, req.producer_epoch, &parts).await {
            Ok(()) => codes::NONE,
            Err(code) => fenced_for_version(code, version, PRODUCER_FENCED_VERSION),
        };
    resp
}
