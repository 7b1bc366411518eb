//! The partition side of transactions on one broker (KIP-98, KIP-890 part 1), where the
//! transaction coordinator plugs in:
//! - [`BrokerState::verify_transactional_append`], the seam Produce asks before appending a
//!   transactional batch of a producer with no transaction open in the partition: the
//!   transaction coordinator of the batch's transactional id answers whether the partition was
//!   added to the producer's ongoing transaction — in process when it runs here, else with
//!   AddPartitionsToTxn v4 `verify_only` to the broker that runs it, as Kafka's
//!   `AddPartitionsToTxnManager`;
//! - [`BrokerState::write_txn_marker`], the leader-side write of one COMMIT/ABORT marker that a
//!   WriteTxnMarkers request runs for each of its partitions;
//! - [`TxnPartitions`], an in-process handle on both leader-side writes (a transactional append
//!   past the seam, a marker), for tests that drive partitions without a coordinator.
//!
//! What it deliberately does not do: keep transaction state (the coordinator's), batch the
//! verifications of several partitions into one request (Produce asks once per partition and
//! transaction, only for the first batch), or keep connections to coordinators between
//! verifications.

use crate::broker::{now_ms, ApiError, BrokerState};
use crate::codes;
use crate::coordinator::txn;
use crate::coordinator::txn_coordinator::TXN_TOPIC;
use crate::partition::PartitionError;
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use std::time::Duration;

/// How long a leader-side write waits for the ISR (Kafka's WriteTxnMarkers uses the request
/// timeout, 30 s by default).
const REPLICATION_TIMEOUT_MS: u64 = 30_000;
/// How long Produce waits for a remote coordinator's verification (Kafka's inter-broker request
/// timeout is 30 s; a producer's request times out sooner, so this is shorter).
const VERIFY_TIMEOUT_MS: u64 = 10_000;
/// The AddPartitionsToTxn version brokers use to verify (the first with `verify_only`).
const VERIFY_VERSION: i16 = 4;

impl BrokerState {
    /// KIP-890 part 1: may `producer_id` at `producer_epoch` (of `transactional_id`) append
    /// transactional records to `topic`-`partition`? Asks the id's transaction coordinator
    /// whether the partition is in the producer's ongoing transaction. Errors as Kafka's leader
    /// maps them: PRODUCER_FENCED becomes INVALID_PRODUCER_EPOCH, a coordinator that cannot
    /// answer now NOT_ENOUGH_REPLICAS (the producer retries), anything else INVALID_TXN_STATE.
    pub(crate) async fn verify_transactional_append(
        self: &Arc<Self>,
        transactional_id: Option<&str>,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<(), ApiError> {
        let Some(tid) = transactional_id.filter(|t| !t.is_empty()) else {
            return Err(ApiError::new(codes::INVALID_TXN_STATE, "a transactional batch needs a transactional id"));
        };
        let image = self.image();
        // Without the topic no InitProducerId ever succeeded: no coordinator knows the id.
        let Some(txn_topic) = image.topics.get(TXN_TOPIC) else {
            return Err(ApiError::new(
                codes::INVALID_TXN_STATE,
                format!("transactional id '{tid}' is unknown: no transaction coordinator runs yet"),
            ));
        };
        let coordinator_partition = txn::partition_for(tid, txn_topic.partition_count());
        let leader = txn_topic.partitions.get(coordinator_partition as usize).map_or(-1, |p| p.leader);
        let parts = [(topic.to_string(), partition)];
        let answer = if leader == self.config.node_id {
            self.txns
                .verify(tid, producer_id, producer_epoch, &parts)
                .map(|codes| codes.first().copied().unwrap_or(codes::UNKNOWN_SERVER_ERROR))
        } else {
            self.verify_remotely(leader, tid, topic, partition, producer_id, producer_epoch).await
        };
        let (Ok(code) | Err(code)) = answer;
        let why = |what: &str| {
            format!("{topic}-{partition}: transactional id '{tid}' (producer {producer_id}, epoch {producer_epoch}): {what}")
        };
        match code {
            codes::NONE => Ok(()),
            codes::PRODUCER_FENCED | codes::INVALID_PRODUCER_EPOCH => {
                Err(ApiError::new(codes::INVALID_PRODUCER_EPOCH, why("the producer is fenced by a newer epoch")))
            }
            codes::NOT_COORDINATOR
            | codes::COORDINATOR_NOT_AVAILABLE
            | codes::COORDINATOR_LOAD_IN_PROGRESS
            | codes::CONCURRENT_TRANSACTIONS
            | codes::REQUEST_TIMED_OUT => Err(ApiError::new(
                codes::NOT_ENOUGH_REPLICAS,
                why(&format!("the transaction coordinator could not verify the partition now (error {code}); retry")),
            )),
            codes::INVALID_PRODUCER_ID_MAPPING => Err(ApiError::new(
                codes::INVALID_TXN_STATE,
                why("the coordinator does not know this producer id for the transactional id"),
            )),
            _ => Err(ApiError::new(
                codes::INVALID_TXN_STATE,
                why(&format!("the partition is not in the producer's ongoing transaction (error {code})")),
            )),
        }
    }

    /// AddPartitionsToTxn v4 with `verify_only` to broker `leader`: the code for the partition,
    /// or a code for the whole request.
    async fn verify_remotely(
        &self,
        leader: i32,
        tid: &str,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<i16, i16> {
        use kafka_protocol::messages::add_partitions_to_txn_request::{
            AddPartitionsToTxnTopic, AddPartitionsToTxnTransaction,
        };
        use kafka_protocol::messages::{
            AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, ProducerId, TopicName, TransactionalId,
        };
        use kafka_protocol::protocol::StrBytes;
        // A cut link (FaultAction::Isolate) cuts this broker-to-broker traffic too.
        if !self.faults.reachable(self.config.node_id, leader) {
            return Err(codes::COORDINATOR_NOT_AVAILABLE);
        }
        let addr = self.broker_address(leader).ok_or(codes::COORDINATOR_NOT_AVAILABLE)?;
        let timeout = Duration::from_millis(VERIFY_TIMEOUT_MS);
        let mut conn = crate::replica::conn::BrokerConn::connect(
            addr,
            format!("oxbow-txn-verify-{}", self.config.node_id),
            timeout,
        )
        .await
        .map_err(|e| {
            tracing::debug!(leader, error = %e, "cannot reach the transaction coordinator to verify a partition");
            codes::COORDINATOR_NOT_AVAILABLE
        })?;
        let mut t = AddPartitionsToTxnTopic::default();
        t.name = TopicName(StrBytes::from_string(topic.to_string()));
        t.partitions = vec![partition];
        let mut txn = AddPartitionsToTxnTransaction::default();
        txn.transactional_id = TransactionalId(StrBytes::from_string(tid.to_string()));
        txn.producer_id = ProducerId(producer_id);
        txn.producer_epoch = producer_epoch;
        txn.verify_only = true;
        txn.topics = vec![t];
        let mut req = AddPartitionsToTxnRequest::default();
        req.transactions = vec![txn];
        let resp: AddPartitionsToTxnResponse =
            conn.call(ApiKey::AddPartitionsToTxn, VERIFY_VERSION, &req, timeout).await.map_err(|e| {
                tracing::debug!(leader, error = %e, "verifying a partition with the transaction coordinator failed");
                codes::COORDINATOR_NOT_AVAILABLE
            })?;
        if resp.error_code != codes::NONE {
            return Err(resp.error_code);
        }
        resp.results_by_transaction
            .iter()
            .flat_map(|r| r.topic_results.iter())
            .filter(|t| t.name.0.as_str() == topic)
            .flat_map(|t| t.results_by_partition.iter())
            .find(|p| p.partition_index == partition)
            .map(|p| p.partition_error_code)
            .ok_or(codes::UNKNOWN_SERVER_ERROR)
    }

    /// WriteTxnMarkers for one partition: append the marker as leader and wait until the ISR has
    /// it (Kafka's `appendRecords` with acks=all and COORDINATOR origin). Returns its offset.
    pub(crate) async fn write_txn_marker(
        &self,
        topic: &str,
        partition: i32,
        marker: &oxbow_log::TxnMarker,
        deadline: tokio::time::Instant,
    ) -> Result<i64, PartitionError> {
        let part = self
            .leader_partition(topic, partition)
            .map_err(|code| PartitionError::new(code, format!("{topic}-{partition} is not led here")))?;
        let min_isr = self.min_insync_replicas(topic);
        let (out, epoch) = part.append_txn_marker(marker, min_isr, now_ms())?;
        part.wait_replicated(out.last_offset + 1, epoch, min_isr, deadline).await?;
        Ok(out.base_offset)
    }

    /// A transactional Produce after its verification passed: append as leader with acks=all.
    /// Returns the first and last offsets written.
    pub(crate) async fn append_verified(
        &self,
        topic: &str,
        partition: i32,
        records: Bytes,
        deadline: tokio::time::Instant,
    ) -> Result<(i64, i64), PartitionError> {
        let part = self
            .leader_partition(topic, partition)
            .map_err(|code| PartitionError::new(code, format!("{topic}-{partition} is not led here")))?;
        let min_isr = self.min_insync_replicas(topic);
        let (out, epoch) = part.append(BytesMut::from(&records[..]), -1, min_isr, now_ms())?;
        if !out.duplicate {
            crate::broker::count_in(
                &self.stats,
                records.len() as u64,
                (out.last_offset - out.base_offset + 1).max(0) as u64,
            );
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
    pub async fn write_marker(
        &self,
        topic: &str,
        partition: i32,
        marker: oxbow_log::TxnMarker,
    ) -> Result<i64, (i16, String)> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(REPLICATION_TIMEOUT_MS);
        self.state.write_txn_marker(topic, partition, &marker, deadline).await.map_err(|e| (e.code, e.message))
    }
}
