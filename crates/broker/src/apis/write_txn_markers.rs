//! WriteTxnMarkers (key 27, v1): a transaction coordinator asks this broker, as leader, to end a
//! producer's transaction in each listed partition with a COMMIT or ABORT marker
//! (`BrokerState::write_txn_marker`: appended, then answered once the ISR has it). A marker
//! written to a `__consumer_offsets` partition also settles the producer's pending transactional
//! offsets in the group coordinator (`GroupCoordinator::complete_transaction`). The partitions of
//! a request are written concurrently; each gets its own code (NOT_LEADER_OR_FOLLOWER,
//! UNKNOWN_TOPIC_OR_PARTITION, TRANSACTION_COORDINATOR_FENCED for a marker from an older
//! coordinator epoch, …) and the coordinator retries the retriable ones.
//!
//! Deliberately not checked: that the caller is a broker (Oxbow has no authorization yet).

use super::Ctx;
use crate::codes;
use crate::coordinator::group::OFFSETS_TOPIC;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{TopicName, WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use std::time::Duration;

/// How long one marker waits for the ISR (Kafka uses the request timeout, 30 s by default).
const MARKER_TIMEOUT_MS: u64 = 30_000;
/// Partitions one request may name over all its markers.
const PARTITIONS_PER_REQUEST_MAX: usize = 100_000;

pub(crate) async fn handle(ctx: &Ctx, _version: i16, req: WriteTxnMarkersRequest) -> WriteTxnMarkersResponse {
    let mut resp = WriteTxnMarkersResponse::default();
    let total: usize = req.markers.iter().flat_map(|m| m.topics.iter()).map(|t| t.partition_indexes.len()).sum();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(MARKER_TIMEOUT_MS);
    let mut tasks = tokio::task::JoinSet::new();
    for (mi, m) in req.markers.iter().enumerate() {
        let marker = oxbow_log::TxnMarker {
            producer_id: m.producer_id.0,
            producer_epoch: m.producer_epoch,
            coordinator_epoch: m.coordinator_epoch,
            commit: m.transaction_result,
        };
        for (ti, t) in m.topics.iter().enumerate() {
            for (pi, p) in t.partition_indexes.iter().enumerate() {
                if total > PARTITIONS_PER_REQUEST_MAX {
                    break;
                }
                let (b, topic, partition) = (ctx.broker.clone(), t.name.to_string(), *p);
                tasks.spawn(async move {
                    let code = match b.write_txn_marker(&topic, partition, &marker, deadline).await {
                        Ok(_) => {
                            if topic == OFFSETS_TOPIC {
                                b.groups.complete_transaction(partition, marker.producer_id, marker.commit);
                            }
                            codes::NONE
                        }
                        Err(e) => {
                            tracing::debug!(
                                topic,
                                partition,
                                producer_id = marker.producer_id,
                                code = e.code,
                                "transaction marker not written: {}",
                                e.message
                            );
                            e.code
                        }
                    };
                    ((mi, ti, pi), code)
                });
            }
        }
    }
    let mut by_slot = std::collections::HashMap::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok((slot, code)) = done {
            by_slot.insert(slot, code);
        }
    }
    for (mi, m) in req.markers.iter().enumerate() {
        let mut mr = WritableTxnMarkerResult::default();
        mr.producer_id = m.producer_id;
        for (ti, t) in m.topics.iter().enumerate() {
            let mut tr = WritableTxnMarkerTopicResult::default();
            tr.name = TopicName(t.name.0.clone());
            for (pi, p) in t.partition_indexes.iter().enumerate() {
                let mut pr = WritableTxnMarkerPartitionResult::default();
                pr.partition_index = *p;
                // A request past the bound, or a task that panicked, is not attempted.
                pr.error_code = by_slot.get(&(mi, ti, pi)).copied().unwrap_or(if total > PARTITIONS_PER_REQUEST_MAX {
                    codes::INVALID_REQUEST
                } else {
                    codes::UNKNOWN_SERVER_ERROR
                });
                tr.partitions.push(pr);
            }
            mr.topics.push(tr);
        }
        resp.markers.push(mr);
    }
    resp
}
