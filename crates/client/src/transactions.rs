//! Transactions as the studio shows them: which transactions each broker coordinates
//! (ListTransactions, then DescribeTransactions at the same broker — a broker lists exactly the
//! transactional ids it coordinates, so no FindCoordinator is needed), and which producers write
//! to a partition (DescribeProducers at its leader), from which the partition's open transactions
//! and last stable offset follow.
//!
//! librdkafka has none of these admin calls, so they go over [`RawConnection`] (PLAINTEXT only;
//! other profiles get `INVALID_REQUEST`). Everything is bounded: one connection per broker asked,
//! [`TRANSACTIONS_DESCRIBED_MAX`] ids described per broker, frames of at most
//! [`TRANSACTIONS_FRAME_BYTES_MAX`], one deadline for the whole call.
//!
//! Deliberately not here: changing transactions (kafka-transactions' `abort` and `force-terminate`
//! are operator tools that can lose data; the studio only looks).

use crate::error::{Error, Result};
use crate::metadata::BrokerInfo;
use crate::profile::ConnectionProfile;
use crate::raw::RawConnection;
use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::{
    ApiKey, DescribeProducersRequest, DescribeProducersResponse, DescribeTransactionsRequest,
    DescribeTransactionsResponse, ListTransactionsRequest, ListTransactionsResponse, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use std::time::{Duration, Instant};

/// Largest response frame read, in bytes.
pub const TRANSACTIONS_FRAME_BYTES_MAX: usize = 16 << 20;
/// Transactional ids described per broker in one call (the rest are listed only).
pub const TRANSACTIONS_DESCRIBED_MAX: usize = 1_000;

/// One transactional id as its coordinator describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionDescription {
    pub transactional_id: String,
    /// Kafka's state name: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit,
    /// CompleteAbort, PrepareEpochFence, Dead.
    pub state: String,
    pub producer_id: i64,
    /// -1 when only listed (more ids than [`TRANSACTIONS_DESCRIBED_MAX`] or the describe failed).
    pub producer_epoch: i16,
    pub timeout_ms: Option<i32>,
    /// When the ongoing (or last) transaction started; `None` when none has.
    pub start_time_ms: Option<i64>,
    /// The partitions in the transaction, by topic then partition.
    pub partitions: Vec<(String, i32)>,
    /// The broker that coordinates it.
    pub coordinator: i32,
    /// Why it could not be described, if it could not (it is still listed).
    pub error: Option<String>,
}

/// What one broker said, or why it could not be asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerTransactions {
    pub broker: i32,
    pub result: std::result::Result<Vec<TransactionDescription>, String>,
}

/// Lists and describes the transactions every broker in `brokers` coordinates, asking the
/// brokers one after the other within `timeout` in all.
pub async fn list_transactions(
    profile: &ConnectionProfile,
    brokers: &[BrokerInfo],
    timeout: Duration,
) -> Vec<BrokerTransactions> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::with_capacity(brokers.len());
    for broker in brokers {
        let result = broker_transactions(profile, broker, deadline).await.map_err(|e| e.to_string());
        out.push(BrokerTransactions { broker: broker.id, result });
    }
    out
}

async fn broker_transactions(
    profile: &ConnectionProfile,
    broker: &BrokerInfo,
    deadline: Instant,
) -> Result<Vec<TransactionDescription>> {
    let left = deadline.saturating_duration_since(Instant::now());
    let mut conn = RawConnection::connect(profile, &broker.host, broker.port, left).await?;
    let (listed, _): (ListTransactionsResponse, _) = conn
        .call(ApiKey::ListTransactions, 0, &ListTransactionsRequest::default(), TRANSACTIONS_FRAME_BYTES_MAX, deadline)
        .await?;
    if let Some(error) = listed.error_code.err() {
        return Err(refused("ListTransactions", broker, format!("{error:?}")));
    }
    let mut out: Vec<TransactionDescription> = listed
        .transaction_states
        .iter()
        .map(|t| TransactionDescription {
            transactional_id: t.transactional_id.0.to_string(),
            state: t.transaction_state.to_string(),
            producer_id: t.producer_id.0,
            producer_epoch: -1,
            timeout_ms: None,
            start_time_ms: None,
            partitions: Vec::new(),
            coordinator: broker.id,
            error: None,
        })
        .collect();
    out.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
    let ids: Vec<TransactionalId> = out
        .iter()
        .take(TRANSACTIONS_DESCRIBED_MAX)
        .map(|t| TransactionalId(StrBytes::from_string(t.transactional_id.clone())))
        .collect();
    if ids.is_empty() {
        return Ok(out);
    }
    let request = DescribeTransactionsRequest::default().with_transactional_ids(ids);
    let (described, _): (DescribeTransactionsResponse, _) =
        conn.call(ApiKey::DescribeTransactions, 0, &request, TRANSACTIONS_FRAME_BYTES_MAX, deadline).await?;
    for d in described.transaction_states {
        let id = d.transactional_id.0.to_string();
        let Ok(i) = out.binary_search_by(|t| t.transactional_id.as_str().cmp(id.as_str())) else {
            continue;
        };
        let t = &mut out[i];
        if let Some(error) = d.error_code.err() {
            t.error = Some(format!("{error:?}"));
            continue;
        }
        t.state = d.transaction_state.to_string();
        t.producer_id = d.producer_id.0;
        t.producer_epoch = d.producer_epoch;
        t.timeout_ms = Some(d.transaction_timeout_ms);
        t.start_time_ms = (d.transaction_start_time_ms >= 0).then_some(d.transaction_start_time_ms);
        t.partitions = d
            .topics
            .iter()
            .flat_map(|topic| topic.partitions.iter().map(move |p| (topic.topic.0.to_string(), *p)))
            .collect();
        t.partitions.sort();
    }
    Ok(out)
}

/// One producer writing to a partition, as its leader keeps it (DescribeProducers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveProducer {
    pub producer_id: i64,
    pub producer_epoch: i32,
    pub last_sequence: i32,
    pub last_timestamp_ms: i64,
    /// -1 until a transaction coordinator wrote a marker for it.
    pub coordinator_epoch: i32,
    /// First offset of its open transaction in this partition; `None` when none is open.
    pub current_txn_start_offset: Option<i64>,
}

/// The producers of each of `partitions` of `topic`, asked of `leader` (which must lead them):
/// per partition, in input order, the producers or the broker's error name.
pub async fn describe_producers(
    profile: &ConnectionProfile,
    leader: &BrokerInfo,
    topic: &str,
    partitions: &[i32],
    timeout: Duration,
) -> Result<Vec<(i32, std::result::Result<Vec<ActiveProducer>, String>)>> {
    let deadline = Instant::now() + timeout;
    let mut conn = RawConnection::connect(profile, &leader.host, leader.port, timeout).await?;
    let request = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
        .with_name(TopicName(StrBytes::from_string(topic.to_string())))
        .with_partition_indexes(partitions.to_vec())]);
    let (response, _): (DescribeProducersResponse, _) =
        conn.call(ApiKey::DescribeProducers, 0, &request, TRANSACTIONS_FRAME_BYTES_MAX, deadline).await?;
    let answered: std::collections::HashMap<i32, std::result::Result<Vec<ActiveProducer>, String>> = response
        .topics
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter())
        .map(|p| {
            let result = match p.error_code.err() {
                Some(error) => Err(match &p.error_message {
                    Some(m) if !m.is_empty() => format!("{error:?}: {m}"),
                    _ => format!("{error:?}"),
                }),
                None => Ok(p
                    .active_producers
                    .iter()
                    .map(|a| ActiveProducer {
                        producer_id: a.producer_id.0,
                        producer_epoch: a.producer_epoch,
                        last_sequence: a.last_sequence,
                        last_timestamp_ms: a.last_timestamp,
                        coordinator_epoch: a.coordinator_epoch,
                        current_txn_start_offset: (a.current_txn_start_offset >= 0)
                            .then_some(a.current_txn_start_offset),
                    })
                    .collect()),
            };
            (p.partition_index, result)
        })
        .collect();
    Ok(partitions
        .iter()
        .map(|p| {
            let result =
                answered.get(p).cloned().unwrap_or_else(|| Err("the leader did not answer for this partition".into()));
            (*p, result)
        })
        .collect())
}

/// The last stable offset a partition's producers imply (Kafka's definition): the first offset
/// of the oldest open transaction, or the high watermark when none is open.
pub fn last_stable_offset(producers: &[ActiveProducer], high_watermark: i64) -> i64 {
    producers
        .iter()
        .filter_map(|p| p.current_txn_start_offset)
        .min()
        .map_or(high_watermark, |first| first.min(high_watermark))
}

fn refused(operation: &'static str, broker: &BrokerInfo, code: String) -> Error {
    Error::Refused { operation, object: format!("broker {} at {}:{}", broker.id, broker.host, broker.port), code }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer(txn_start: Option<i64>) -> ActiveProducer {
        ActiveProducer {
            producer_id: 1,
            producer_epoch: 0,
            last_sequence: 0,
            last_timestamp_ms: 0,
            coordinator_epoch: -1,
            current_txn_start_offset: txn_start,
        }
    }

    #[test]
    fn the_oldest_open_transaction_holds_the_stable_offset_back() {
        assert_eq!(last_stable_offset(&[], 10), 10);
        assert_eq!(last_stable_offset(&[producer(None)], 10), 10);
        assert_eq!(last_stable_offset(&[producer(Some(7)), producer(Some(4)), producer(None)], 10), 4);
        // A start the high watermark has not reached yet does not move the LSO past the HW.
        assert_eq!(last_stable_offset(&[producer(Some(12))], 10), 10);
    }
}
