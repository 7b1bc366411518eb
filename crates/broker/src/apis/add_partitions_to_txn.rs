//! AddPartitionsToTxn (key 24): v0–v3 from clients (one transaction: its partitions join the
//! producer's transaction, starting it if none is ongoing), v4–v5 batched between brokers (several
//! transactions; `verify_only` asks whether partitions are already in the transaction, KIP-890
//! part 1, which is how another broker's Produce verifies a transactional append).
//!
//! As Kafka: partitions of topics that do not exist get UNKNOWN_TOPIC_OR_PARTITION and the rest
//! of that transaction OPERATION_NOT_ATTEMPTED; coordinator errors (NOT_COORDINATOR,
//! CONCURRENT_TRANSACTIONS, …) apply to every partition of the transaction; before v2 a fenced
//! producer gets INVALID_PRODUCER_EPOCH (KIP-588). Internal topics may be added (AddOffsetsToTxn
//! adds `__consumer_offsets` itself). Deliberately not checked: that a v4+ caller is a broker
//! (Kafka requires CLUSTER_ACTION; Oxbow has no authorization yet).

use super::{fenced_for_version, Ctx};
use crate::codes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, TopicName};

const PRODUCER_FENCED_VERSION: i16 = 2;
/// The first batched (broker-to-broker) version.
const BATCHED_VERSION: i16 = 4;
/// Transactions in one batched request (Kafka's brokers send one per coordinator and producer).
const TRANSACTIONS_PER_REQUEST_MAX: usize = 10_000;

/// Partitions of a request as (topic, partition), in request order.
fn flatten(topics: &[AddPartitionsToTxnTopic]) -> Vec<(String, i32)> {
    topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.name.to_string(), *p))).collect()
}

fn results(parts: &[(String, i32)], code_of: impl Fn(&(String, i32)) -> i16) -> Vec<AddPartitionsToTxnTopicResult> {
    let mut out: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for tp in parts {
        let mut pr = AddPartitionsToTxnPartitionResult::default();
        pr.partition_index = tp.1;
        pr.partition_error_code = code_of(tp);
        match out.last_mut() {
            Some(t) if t.name.0.as_str() == tp.0 => t.results_by_partition.push(pr),
            _ => {
                let mut t = AddPartitionsToTxnTopicResult::default();
                t.name = TopicName(super::s(tp.0.clone()));
                t.results_by_partition.push(pr);
                out.push(t);
            }
        }
    }
    out
}

/// One transaction's partitions: added (or only verified), a code per partition.
async fn one(
    ctx: &Ctx,
    version: i16,
    tid: &str,
    producer_id: i64,
    producer_epoch: i16,
    parts: &[(String, i32)],
    verify_only: bool,
) -> Vec<AddPartitionsToTxnTopicResult> {
    if verify_only {
        return match ctx.broker.txns.verify(tid, producer_id, producer_epoch, parts) {
            Ok(codes) => {
                let by: std::collections::HashMap<&(String, i32), i16> = parts.iter().zip(codes).collect();
                results(parts, |tp| by[tp])
            }
            Err(code) => results(parts, |_| code),
        };
    }
    let image = ctx.broker.image();
    let unknown: Vec<&(String, i32)> = parts.iter().filter(|(t, p)| image.partition(t, *p).is_none()).collect();
    if !unknown.is_empty() {
        tracing::debug!(transactional_id = tid, ?unknown, "AddPartitionsToTxn names partitions that do not exist");
        return results(parts, |tp| {
            if unknown.contains(&tp) {
                codes::UNKNOWN_TOPIC_OR_PARTITION
            } else {
                codes::OPERATION_NOT_ATTEMPTED
            }
        });
    }
    let code = match ctx.broker.txns.add_partitions(&ctx.broker, tid, producer_id, producer_epoch, parts).await {
        Ok(()) => codes::NONE,
        Err(code) => fenced_for_version(code, version, PRODUCER_FENCED_VERSION),
    };
    results(parts, |_| code)
}

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: AddPartitionsToTxnRequest) -> AddPartitionsToTxnResponse {
    let mut resp = AddPartitionsToTxnResponse::default();
    if version < BATCHED_VERSION {
        let parts = flatten(&req.v3_and_below_topics);
        let tid = req.v3_and_below_transactional_id.to_string();
        resp.results_by_topic_v3_and_below =
            one(ctx, version, &tid, req.v3_and_below_producer_id.0, req.v3_and_below_producer_epoch, &parts, false)
                .await;
        return resp;
    }
    if req.transactions.len() > TRANSACTIONS_PER_REQUEST_MAX {
        resp.error_code = codes::INVALID_REQUEST;
        return resp;
    }
    for t in req.transactions {
        let tid = t.transactional_id.to_string();
        let parts = flatten(&t.topics);
        let mut r = AddPartitionsToTxnResult::default();
        r.transactional_id = t.transactional_id.clone();
        r.topic_results = one(ctx, version, &tid, t.producer_id.0, t.producer_epoch, &parts, t.verify_only).await;
        resp.results_by_transaction.push(r);
    }
    resp
}
