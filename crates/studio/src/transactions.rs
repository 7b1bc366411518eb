//! Transactions: the cluster's transactional ids with their state, producer, timeout, age and
//! partitions (each broker's ListTransactions, then DescribeTransactions), and per topic the
//! producers each partition's leader keeps (DescribeProducers), from which the partition's open
//! transactions and last stable offset follow.
//!
//! Over the Kafka protocol through `oxbow-client`, so it works the same against an external
//! cluster. What it deliberately does not do: abort or fence transactions (kafka-transactions'
//! `abort` and `force-terminate` can lose data; the studio only shows), or keep a history — a
//! transaction that completed is seen only while its coordinator still lists its id (Kafka keeps
//! ids until `transactional.id.expiration.ms`, 7 days).

use crate::commands::{blocking, find_topic, Studio, OFFSETS_TIMEOUT_MS};
use crate::error::{Error, Result};
use crate::model::*;
use oxbow_client::OffsetSpec;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Wall time one transaction list may take, over all brokers.
pub const TRANSACTIONS_TIMEOUT_MS: u64 = 10_000;
/// Wall time one topic's producer lookup may take, per leader.
pub const PRODUCERS_TIMEOUT_MS: u64 = 10_000;

/// Kafka's transaction states, in the order the list shows them (open ones first).
pub const TRANSACTION_STATES: [&str; 8] = [
    "Ongoing",
    "PrepareCommit",
    "PrepareAbort",
    "PrepareEpochFence",
    "Empty",
    "CompleteCommit",
    "CompleteAbort",
    "Dead",
];

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn state_rank(state: &str) -> usize {
    TRANSACTION_STATES.iter().position(|s| *s == state).unwrap_or(TRANSACTION_STATES.len())
}

/// A transaction is open from its first AddPartitionsToTxn until its markers are written.
fn is_open(state: &str) -> bool {
    matches!(state, "Ongoing" | "PrepareCommit" | "PrepareAbort")
}

/// A `state` filter as the API takes it: one of Kafka's state names, any case.
fn parse_state(state: Option<&str>) -> Result<Option<&'static str>> {
    let Some(state) = state.filter(|s| !s.is_empty()) else { return Ok(None) };
    TRANSACTION_STATES.iter().find(|s| s.eq_ignore_ascii_case(state)).map(|s| Some(*s)).ok_or_else(|| {
        Error::bad_input("state", format!("must be one of {}, got {state:?}", TRANSACTION_STATES.join(", ")))
    })
}

impl Studio {
    /// The cluster's transactional ids, open ones first (oldest first among them), optionally
    /// only those in `state` or whose id contains `search` (case-insensitive).
    pub async fn transactions(&self, search: Option<&str>, state: Option<&str>) -> Result<TransactionList> {
        let wanted_state = parse_state(state)?;
        let conn = self.connection();
        let worker = conn.clone();
        let metadata =
            blocking(move || worker.admin.metadata().map_err(|e| Error::from_client(e, "reading cluster metadata")))
                .await?;
        let answers = oxbow_client::list_transactions(
            &conn.client_profile,
            &metadata.brokers,
            Duration::from_millis(TRANSACTIONS_TIMEOUT_MS),
        )
        .await;
        let now = now_ms();
        let mut errors = Vec::new();
        let mut all = Vec::new();
        for answer in answers {
            match answer.result {
                Ok(list) => all.extend(list),
                Err(message) => errors.push(format!("broker {}: {message}", answer.broker)),
            }
        }
        let mut states: BTreeMap<String, usize> = BTreeMap::new();
        for t in &all {
            *states.entry(t.state.clone()).or_default() += 1;
        }
        let search = search.map(str::to_lowercase).filter(|s| !s.is_empty());
        let mut transactions: Vec<TransactionView> = all
            .into_iter()
            .filter(|t| wanted_state.is_none_or(|s| t.state == s))
            .filter(|t| search.as_ref().is_none_or(|s| t.transactional_id.to_lowercase().contains(s)))
            .map(|t| TransactionView {
                open_for_ms: t.start_time_ms.filter(|_| is_open(&t.state)).map(|start| (now - start).max(0)),
                transactional_id: t.transactional_id,
                state: t.state,
                producer_id: t.producer_id,
                producer_epoch: (t.producer_epoch >= 0).then_some(t.producer_epoch),
                timeout_ms: t.timeout_ms,
                start_time_ms: t.start_time_ms,
                partitions: t
                    .partitions
                    .into_iter()
                    .map(|(topic, partition)| TopicPartitionRef { topic, partition })
                    .collect(),
                coordinator: t.coordinator,
                error: t.error,
            })
            .collect();
        transactions.sort_by(|a, b| {
            (state_rank(&a.state), a.start_time_ms.unwrap_or(i64::MAX), &a.transactional_id).cmp(&(
                state_rank(&b.state),
                b.start_time_ms.unwrap_or(i64::MAX),
                &b.transactional_id,
            ))
        });
        Ok(TransactionList { transactions, states, errors, read_at_ms: now })
    }

    /// Each partition of `topic` with its producers (asked of its leader), open transactions and
    /// last stable offset.
    pub async fn topic_producers(&self, topic: &str) -> Result<TopicProducers> {
        crate::commands::validate_topic_name("name", topic)?;
        let conn = self.connection();
        let worker = conn.clone();
        let metadata =
            blocking(move || worker.admin.metadata().map_err(|e| Error::from_client(e, "reading cluster metadata")))
                .await?;
        let info = find_topic(&metadata, topic)?.clone();
        let keys: Vec<(String, i32)> = info.partitions.iter().map(|p| (topic.to_string(), p.id)).collect();
        let worker = conn.clone();
        let query = keys.clone();
        let latest = blocking(move || {
            worker
                .offsets
                .list_offsets(&query, OffsetSpec::Latest, Duration::from_millis(OFFSETS_TIMEOUT_MS))
                .map_err(|e| Error::from_client(e, "ListOffsets"))
        })
        .await
        .unwrap_or_default();
        let high_watermarks: HashMap<i32, i64> =
            keys.iter().zip(latest).filter_map(|((_, p), hw)| hw.ok().flatten().map(|hw| (*p, hw))).collect();
        // One DescribeProducers per leader, for the partitions it leads.
        let mut by_leader: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
        for p in &info.partitions {
            by_leader.entry(p.leader).or_default().push(p.id);
        }
        let mut answers: HashMap<i32, std::result::Result<Vec<oxbow_client::ActiveProducer>, String>> = HashMap::new();
        for (leader, partitions) in &by_leader {
            let Some(broker) = metadata.brokers.iter().find(|b| b.id == *leader) else {
                for p in partitions {
                    answers.insert(*p, Err(format!("no leader (broker {leader} is not in the metadata)")));
                }
                continue;
            };
            let timeout = Duration::from_millis(PRODUCERS_TIMEOUT_MS);
            match oxbow_client::describe_producers(&conn.client_profile, broker, topic, partitions, timeout).await {
                Ok(per_partition) => answers.extend(per_partition),
                Err(e) => {
                    let message = Error::from_client(e, "DescribeProducers").to_string();
                    for p in partitions {
                        answers.insert(*p, Err(message.clone()));
                    }
                }
            }
        }
        let partitions = info
            .partitions
            .iter()
            .map(|p| {
                let high_watermark = high_watermarks.get(&p.id).copied();
                let (producers, error) = match answers.remove(&p.id) {
                    Some(Ok(producers)) => (producers, None),
                    Some(Err(e)) => (Vec::new(), Some(e)),
                    None => (Vec::new(), Some("the leader was not asked".to_string())),
                };
                let last_stable_offset = match (&error, high_watermark) {
                    (None, Some(hw)) => Some(oxbow_client::last_stable_offset(&producers, hw)),
                    _ => None,
                };
                let mut producers: Vec<ProducerView> = producers
                    .into_iter()
                    .map(|a| ProducerView {
                        producer_id: a.producer_id,
                        producer_epoch: a.producer_epoch,
                        last_sequence: a.last_sequence,
                        last_timestamp_ms: a.last_timestamp_ms,
                        coordinator_epoch: a.coordinator_epoch,
                        open_txn_start_offset: a.current_txn_start_offset,
                    })
                    .collect();
                producers.sort_by_key(|a| a.producer_id);
                PartitionProducers {
                    partition: p.id,
                    leader: p.leader,
                    high_watermark,
                    last_stable_offset,
                    producers,
                    error,
                }
            })
            .collect();
        Ok(TopicProducers { topic: topic.to_string(), partitions, read_at_ms: now_ms() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_checked_and_open_ones_rank_first() {
        assert_eq!(parse_state(Some("ongoing")).unwrap(), Some("Ongoing"));
        assert_eq!(parse_state(None).unwrap(), None);
        let err = parse_state(Some("Open")).unwrap_err().to_string();
        assert!(err.starts_with("state: must be one of Ongoing,") && err.contains("\"Open\""), "{err}");
        assert!(state_rank("Ongoing") < state_rank("CompleteCommit"));
        assert!(is_open("PrepareCommit") && !is_open("Empty"));
    }
}
