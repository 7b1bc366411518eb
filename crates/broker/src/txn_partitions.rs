//! The partition side of transactions on one broker (KIP-98, KIP-890 part 1), where the
//! transaction coordinator will plug in:
//! - [`BrokerState::verify_transactional_append`], the seam Produce asks before appending a
//!   transactional batch of a producer with no transaction open in the partition: the
//!   coordinator will answer it (AddPartitionsToTxn with `verify_only`, KIP-890). Until then it
//!   refuses, so transactional Produce is still rejected from the outside, here and only here;
//! - [`BrokerState::write_txn_marker`], the leader-side write of one COMMIT/ABORT marker that a
//!   WriteTxnMarkers request will run for each of its partitions;
//! - [`TxnPartitions`], an in-process handle on both leader-side writes (a transactional append
//!   past the seam, a marker), for tests until the coordinator drives them over the protocol.
//!
//! What it deliberately does not do: keep transaction state (the coordinator's), or anything
//! per partition (that is `Partition` and its log).

use crate::broker::{now_ms, ApiError, BrokerState};
use crate::codes;
use crate::partition::PartitionError;
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use std::time::Duration;

/// How long a leader-side write waits for the ISR (Kafka's WriteTxnMarkers uses the request
/// timeout, 30 s by default).
const REPLICATION_TIMEOUT_MS: u64 = 30_000;

impl BrokerState {
    /// KIP-890 part 1: may `producer_id` at `producer_epoch` (of `transactional_id`) append
    /// transactional records to `topic`-`partition`? The transaction coordinator will answer
    /// whether the partition was added to the producer's ongoing transaction. No coordinator
    /// runs yet, so every such append is refused with INVALID_TXN_STATE.
    pub(crate) async fn verify_transactional_append(
        &self,
        transactional_id: Option<&str>,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<(), ApiError> {
        tracing::warn!(?transactional_id, topic, partition, producer_id, producer_epoch, "refused a transactional append: no transaction coordinator runs yet");
        Err(ApiError::new(codes::INVALID_TXN_STATE, "Oxbow does not support transactions yet: no transaction coordinator verified this partition"))
    }

    /// WriteTxnMarkers for one partition: append the marker as leader and wait until the ISR has
    /// it (Kafka's `appendRecords` with acks=all and COORDINATOR origin). Returns its offset.
    pub(crate) async fn write_txn_marker(&self, topic: &str, partition: i32, marker: &oxbow_log::TxnMarker, deadline: tokio::time::Instant) -> Result<i64, PartitionError> {
        let part = self.leader_partition(topic, partition).map_err(|code| PartitionError::new(code, format!("{topic}-{partition} is not led here")))?;
        let min_isr = self.min_insync_replicas(topic);
        let (out, epoch) = part.append_txn_marker(marker, min_isr, now_ms())?;
        part.wait_replicated(out.last_offset + 1, epoch, min_isr, deadline).await?;
        Ok(out.base_offset)
    }

    /// A transactional Produce after its verification passed: append as leader with acks=all.
    /// Returns the first and last offsets written.
    pub(crate) async fn append_verified(&self, topic: &str, partition: i32, records: Bytes, deadline: tokio::time::Instant) -> Result<(i64, i64), PartitionError> {
        let part = self.leader_partition(topic, partition).map_err(|code| PartitionError::new(code, format!("{topic}-{partition} is not led here")))?;
        let min_isr = self.min_insync_replicas(topic);
        let (out, epoch) = part.append(BytesMut::from(&records[..]), -1, min_isr, now_ms())?;
        if !out.duplicate {
            crate::broker::count_in(&self.stats, records.len() as u64, (out.last_offset - out.base_offset + 1).max(0) as u64);
        }
        part.wait_replicated(out.last_offset + 1, epoch, min_isr, deadline).await?;
        Ok((out.base_offset, out.last_offset))
    }
}

/// In-process handle on one broker's partition leaders for transactions (see the module docs):
/// from [`crate::BrokerHandle::txn_partitions`] or [`crate::Cluster::txn_partitions`]. Errors are
/// (Kafka error code, message).
#[derive(Clone)]
pub struct TxnPartitions {
    pub(crate) state: Arc<BrokerState>,
}

impl TxnPartitions {
    /// Appends record batches (transactional or not) to a partition this broker leads, as a
    /// Produce with acks=all whose transaction was verified; waits until the ISR has them.
    pub async fn append(&self, topic: &str, partition: i32, records: Bytes) -> Result<(i64, i64), (i16, String)> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(REPLICATION_TIMEOUT_MS);
        self.state.append_verified(topic, partition, records, deadline).await.map_err(|e| (e.code, e.message))
    }

    /// Writes a COMMIT or ABORT marker to a partition this broker leads, as WriteTxnMarkers
    /// does, and waits until the ISR has it. Returns the marker's offset.
    pub async fn write_marker(&self, topic: &str, partition: i32, marker: oxbow_log::TxnMarker) -> Result<i64, (i16, String)> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(REPLICATION_TIMEOUT_MS);
        self.state.write_txn_marker(topic, partition, &marker, deadline).await.map_err(|e| (e.code, e.message))
    }
}
