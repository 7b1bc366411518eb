//! Writing a transaction's markers: the transaction coordinator sends WriteTxnMarkers to the
//! leader of every partition in the transaction (itself included, over its own listener, so every
//! marker takes the same path), and retries until each partition has its marker — or the
//! coordinator stops coordinating this transactional id (a new coordinator resends them from its
//! PrepareCommit/PrepareAbort state after loading).
//!
//! As Kafka's `TransactionMarkerChannelManager`: markers for one leader go in one request; a
//! partition whose topic was deleted needs no marker; NOT_LEADER_OR_FOLLOWER and other retriable
//! errors wait for fresh metadata; a fenced coordinator epoch ends the attempt.

use super::txn::TxnResult;
use crate::broker::BrokerState;
use crate::codes;
use crate::replica::conn::BrokerConn;
use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
use kafka_protocol::messages::{ApiKey, ProducerId, TopicName, WriteTxnMarkersRequest, WriteTxnMarkersResponse};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// The WriteTxnMarkers version brokers exchange.
pub const WRITE_TXN_MARKERS_VERSION: i16 = 1;
const REQUEST_TIMEOUT_MS: u64 = 30_000;
const RETRY_BACKOFF_MS_MIN: u64 = 50;
const RETRY_BACKOFF_MS_MAX: u64 = 1_000;
/// Rounds before giving up on a marker while still coordinator: far beyond any leader election
/// (with the backoff cap, over an hour), yet a bound.
const ROUNDS_MAX: u32 = 5_000;

/// The markers of one transaction.
#[derive(Clone, Debug)]
pub struct Markers {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub result: TxnResult,
    pub coordinator_epoch: i32,
    pub partitions: BTreeSet<(String, i32)>,
}

/// Why markers were not all written.
#[derive(Debug, PartialEq, Eq)]
pub enum MarkerError {
    /// The coordinator lost this transactional id (or the broker shuts down); the next one resends.
    NoLongerCoordinator,
    /// A leader refused the marker for good (`code`), e.g. a newer coordinator epoch fenced this one.
    Refused {
        topic: String,
        partition: i32,
        code: i16,
    },
    GaveUp,
}

/// Writes every marker, retrying as above. `still_coordinator` is asked before each round.
pub async fn write_markers(
    state: &Arc<BrokerState>,
    markers: &Markers,
    still_coordinator: impl Fn() -> bool,
) -> Result<(), MarkerError> {
    let mut left = markers.partitions.clone();
    let mut backoff_ms = RETRY_BACKOFF_MS_MIN;
    let mut conns: BTreeMap<i32, BrokerConn> = BTreeMap::new();
    for _ in 0..ROUNDS_MAX {
        if left.is_empty() {
            return Ok(());
        }
        if !still_coordinator() || *state.shutdown.borrow() {
            return Err(MarkerError::NoLongerCoordinator);
        }
        let image = state.image();
        // Deleted topics need no marker; the rest go to their current leaders.
        left.retain(|(topic, _)| image.topics.contains_key(topic));
        let mut by_leader: BTreeMap<i32, Vec<(String, i32)>> = BTreeMap::new();
        for (topic, p) in &left {
            if let Some((leader, _, _)) = state.leader_hint(topic, *p) {
                by_leader.entry(leader).or_default().push((topic.clone(), *p));
            }
        }
        for (leader, parts) in by_leader {
            // A cut link (FaultAction::Isolate) cuts this broker-to-broker traffic too.
            if !state.faults.reachable(state.config.node_id, leader) {
                tracing::debug!(leader, "the link to the partition leader is cut; retrying the markers");
                conns.remove(&leader);
                continue;
            }
            match send(state, &mut conns, leader, markers, &parts).await {
                Ok(done) => {
                    for (tp, code) in done {
                        match code {
                            codes::NONE => {
                                left.remove(&tp);
                            }
                            codes::INVALID_PRODUCER_EPOCH | codes::TRANSACTION_COORDINATOR_FENCED => {
                                return Err(MarkerError::Refused { topic: tp.0, partition: tp.1, code });
                            }
                            // Retriable: not the leader any more, not replicated in time, …
                            _ => {
                                tracing::debug!(topic = %tp.0, partition = tp.1, code, "transaction marker not written yet; retrying")
                            }
                        }
                    }
                }
                Err(error) => {
                    tracing::debug!(leader, %error, "cannot send transaction markers; retrying");
                    conns.remove(&leader);
                }
            }
        }
        if !left.is_empty() {
            tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
            backoff_ms = (backoff_ms * 2).min(RETRY_BACKOFF_MS_MAX);
        }
    }
    if left.is_empty() {
        Ok(())
    } else {
        Err(MarkerError::GaveUp)
    }
}

type PartitionCodes = Vec<((String, i32), i16)>;

async fn send(
    state: &Arc<BrokerState>,
    conns: &mut BTreeMap<i32, BrokerConn>,
    leader: i32,
    markers: &Markers,
    parts: &[(String, i32)],
) -> Result<PartitionCodes, String> {
    let conn = match conns.entry(leader) {
        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::btree_map::Entry::Vacant(e) => {
            let addr = state.broker_address(leader).ok_or_else(|| format!("no address for broker {leader}"))?;
            let conn = BrokerConn::connect(
                addr,
                format!("oxbow-txn-markers-{}", state.config.node_id),
                Duration::from_millis(REQUEST_TIMEOUT_MS),
            )
            .await
            .map_err(|e| e.to_string())?;
            e.insert(conn)
        }
    };
    let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in parts {
        topics.entry(t.as_str()).or_default().push(*p);
    }
    let mut marker = WritableTxnMarker::default();
    marker.producer_id = ProducerId(markers.producer_id);
    marker.producer_epoch = markers.producer_epoch;
    marker.transaction_result = markers.result == TxnResult::Commit;
    marker.coordinator_epoch = markers.coordinator_epoch;
    marker.topics = topics
        .into_iter()
        .map(|(t, ps)| {
            let mut topic = WritableTxnMarkerTopic::default();
            topic.name = TopicName(StrBytes::from_string(t.to_string()));
            topic.partition_indexes = ps;
            topic
        })
        .collect();
    let mut req = WriteTxnMarkersRequest::default();
    req.markers = vec![marker];
    let resp: WriteTxnMarkersResponse = conn
        .call(ApiKey::WriteTxnMarkers, WRITE_TXN_MARKERS_VERSION, &req, Duration::from_millis(REQUEST_TIMEOUT_MS))
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(parts.len());
    for m in resp.markers {
        for t in m.topics {
            let name = t.name.to_string();
            for p in t.partitions {
                out.push(((name.clone(), p.partition_index), p.error_code));
            }
        }
    }
    Ok(out)
}
