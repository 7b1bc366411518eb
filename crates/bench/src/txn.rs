//! The transactional produce phase: one transactional producer (acks=all, idempotent) runs
//! begin → `records_per_transaction` records → commit in a loop for the phase's duration (or
//! until its record cap), and the committed records are read back with a read_committed
//! consumer: every record of a committed transaction must be there exactly once.
//!
//! Each record carries its index (8 bytes, little-endian) so the read-back can tell a missing
//! record from a doubled one. The clock runs from the first begin to the return of the last
//! commit; `init_transactions` (the coordinator lookup and InitProducerId, which on a fresh
//! broker also creates `__transaction_state`) comes before it, on both brokers alike.

use crate::load::{self, Copies, Counting, CONSUMER_SETTINGS};
use crate::Stop;
use anyhow::{bail, Context, Result};
use oxbow_client::rdkafka::config::ClientConfig;
use oxbow_client::rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use oxbow_client::rdkafka::Message;
use oxbow_client::{ConnectionProfile, PartitionReader, StartOffset};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The transactional producer's settings on both brokers (printed in the report), besides its
/// `transactional.id`: acks=all and idempotence (which transactions require), the throughput
/// phases' batch and queue bounds, Kafka's default transaction timeout, and no linger: a commit
/// waits for every record of its transaction, and the crate's commit (unlike librdkafka's own,
/// which flushes regardless of linger) would add the whole linger to every transaction.
pub const TXN_PRODUCER_SETTINGS: &[(&str, &str)] = &[
    ("acks", "all"),
    ("enable.idempotence", "true"),
    ("max.in.flight.requests.per.connection", "5"),
    ("linger.ms", "0"),
    ("batch.size", "1048576"),
    ("batch.num.messages", "10000"),
    ("compression.type", "none"),
    ("queue.buffering.max.messages", "100000"),
    ("queue.buffering.max.kbytes", "65536"),
    ("transaction.timeout.ms", "60000"),
];

/// The read-back consumer: the consume phases' settings, read_committed.
const READ_BACK_SETTINGS: &[(&str, &str)] = &[("isolation.level", "read_committed")];
/// Once the read-back has as many records as were committed, it reads on until none came for
/// this long, so a record read twice (or one not committed) shows even then.
const READ_BACK_QUIET_MS: u64 = 1_000;
/// While the records of a transaction are outstanding, their delivery reports are served and the
/// queue looked at again this often (see [`drain`]).
const DRAIN_INTERVAL_US: u64 = 100;

/// init_transactions: the coordinator lookup and InitProducerId (Kafka creates
/// `__transaction_state`, 50 partitions, on the first one).
const INIT_TIMEOUT_MS: u64 = 60_000;
/// One commit (flush, EndTxn, the markers) or abort.
const COMMIT_TIMEOUT_MS: u64 = 30_000;

/// One transactional phase.
#[derive(Clone, Copy, Debug)]
pub struct TxnSpec<'a> {
    pub topic: &'a str,
    pub transactional_id: &'a str,
    pub value_size: usize,
    pub records_per_transaction: u64,
    pub duration: Duration,
    /// No transaction starts that would take the records past this (at least one runs).
    pub records_max: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct TxnResult {
    pub transactions: u64,
    /// Records of committed transactions: acknowledged by their commit.
    pub records: u64,
    pub records_per_transaction: u64,
    pub record_bytes: usize,
    pub elapsed_s: f64,
    pub records_per_s: f64,
    pub mb_per_s: f64,
    pub transactions_per_s: f64,
    /// Per transaction, from its last record enqueued to its commit returned: the records'
    /// acknowledgements, then commit_transaction (EndTxn).
    pub commit_p50_ms: f64,
    pub commit_max_ms: f64,
    /// Bench process CPU over the phase, in cores.
    pub generator_cpu_cores: f64,
    /// The broker's CPU over the transactions (measured by the caller, which knows its pid).
    pub broker_cpu_cores: Option<f64>,
    /// The topic read back with read_committed once the last commit returned.
    pub read_back: Result<TxnReadBack, String>,
}

/// What a read_committed consumer found of the committed records.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TxnReadBack {
    pub committed: u64,
    pub records_read: u64,
    /// Committed but not read.
    pub missing: u64,
    /// Read more than once.
    pub duplicated: u64,
    /// Read, but carrying no index this phase committed.
    pub foreign: u64,
}

impl TxnReadBack {
    /// Checks `copies` (indexed like the committed records, 0..committed) against the commits.
    pub fn new(committed: u64, copies: &Copies) -> TxnReadBack {
        let mut read_back = TxnReadBack {
            committed,
            records_read: copies.per_index.iter().map(|&n| u64::from(n)).sum::<u64>() + copies.foreign,
            missing: 0,
            duplicated: 0,
            foreign: copies.foreign,
        };
        for index in 0..committed {
            match copies.per_index.get(index as usize).copied().unwrap_or(0) {
                0 => read_back.missing += 1,
                1 => {}
                _ => read_back.duplicated += 1,
            }
        }
        read_back.foreign += copies.per_index.iter().skip(committed as usize).map(|&n| u64::from(n)).sum::<u64>();
        read_back
    }

    pub fn matches(&self) -> bool {
        self.missing == 0 && self.duplicated == 0 && self.foreign == 0 && self.records_read == self.committed
    }
}

impl TxnResult {
    /// A line for the top of the report when the committed records did not read back as
    /// committed, or could not be checked.
    pub fn alarm(&self) -> Option<String> {
        match &self.read_back {
            Ok(r) if r.matches() => None,
            Ok(r) => Some(format!(
                "TRANSACTION READ-BACK MISMATCH: read_committed read {} records, {} committed (missing {}, duplicated {}, foreign {})",
                r.records_read, r.committed, r.missing, r.duplicated, r.foreign
            )),
            Err(error) => Some(format!(
                "committed transactional records unchecked: the read_committed read-back failed: {error}"
            )),
        }
    }

    pub fn read_back_line(&self) -> String {
        match &self.read_back {
            Ok(r) => format!(
                "{}read_committed read-back: committed {}, read {}, missing {}, duplicated {}",
                if r.matches() { "" } else { "MISMATCH: " },
                r.committed,
                r.records_read,
                r.missing,
                r.duplicated
            ),
            Err(error) => format!("read_committed read-back: FAILED: {error}"),
        }
    }
}

/// Runs the transactions (see the module doc), then reads the topic back. `broker_cpu_cores` is
/// asked when the last commit has returned: the broker's CPU over the transactions alone.
pub fn transactions(
    profile: &ConnectionProfile,
    spec: &TxnSpec<'_>,
    stop: &Stop,
    broker_cpu_cores: impl FnOnce() -> f64,
) -> Result<TxnResult> {
    let per_transaction = spec.records_per_transaction.max(1);
    let mut config: ClientConfig = profile.client_config();
    for (key, value) in TXN_PRODUCER_SETTINGS {
        config.set(*key, *value);
    }
    config.set("transactional.id", spec.transactional_id);
    let producer: BaseProducer<Counting> =
        config.create_with_context(Counting::new()).context("creating the transactional producer")?;
    let partitions = load::partition_count(&producer, spec.topic)? as u64;
    producer.init_transactions(Duration::from_millis(INIT_TIMEOUT_MS)).context("init_transactions")?;

    let mut value = vec![0x5au8; spec.value_size.max(8)];
    let mut commit_ms = Vec::new();
    let mut committed: u64 = 0;
    let cpu_start = crate::procfs::cpu_s("self").unwrap_or(0.0);
    let start = Instant::now();
    let deadline = start + spec.duration;
    // Bounded by the deadline and the record cap: one transaction per turn, each send and commit
    // bounded by its own timeout.
    loop {
        stop.check()?;
        let capped = committed > 0 && committed + per_transaction > spec.records_max;
        if capped || (committed > 0 && Instant::now() >= deadline) {
            break;
        }
        producer.begin_transaction().context("begin_transaction")?;
        let send_deadline = Instant::now() + Duration::from_millis(COMMIT_TIMEOUT_MS);
        let sent = (|| -> Result<()> {
            for index in committed..committed + per_transaction {
                value[..8].copy_from_slice(&index.to_le_bytes());
                let record = BaseRecord::to(spec.topic).payload(&value[..]).partition((index % partitions) as i32);
                load::send_blocking(&producer, record, send_deadline)?;
            }
            Ok(())
        })();
        let committing = Instant::now();
        let outcome = sent.and_then(|()| drain(&producer, send_deadline)).and_then(|()| {
            producer.commit_transaction(Duration::from_millis(COMMIT_TIMEOUT_MS)).context("commit_transaction")
        });
        if let Err(error) = outcome {
            // Leave nothing open on the broker; the phase fails with the commit's error.
            let _ = producer.abort_transaction(Duration::from_millis(COMMIT_TIMEOUT_MS));
            return Err(error).with_context(|| {
                format!("transaction {} ({committed} records committed before it)", commit_ms.len() + 1)
            });
        }
        commit_ms.push(committing.elapsed().as_secs_f64() * 1e3);
        committed += per_transaction;
    }
    let elapsed_s = start.elapsed().as_secs_f64().max(1e-6);
    let cpu_s = crate::procfs::cpu_s("self").unwrap_or(0.0) - cpu_start;
    let broker_cpu_cores = broker_cpu_cores();
    let context = producer.context();
    if let Some(error) = context.first_error.lock().expect("not poisoned").clone() {
        bail!("{} records failed in committed transactions, first: {error}", context.failed.load(Ordering::Relaxed));
    }
    let delivered = context.acked.load(Ordering::Relaxed);
    if delivered != committed {
        bail!("{committed} records committed, but {delivered} delivery reports said written");
    }
    drop(producer);

    let read_back = read_committed(profile, spec.topic, committed, stop)
        .map(|copies| TxnReadBack::new(committed, &copies))
        .map_err(|error| format!("{error:#}"));
    stop.check()?;
    let transactions = commit_ms.len() as u64;
    Ok(TxnResult {
        transactions,
        records: committed,
        records_per_transaction: per_transaction,
        record_bytes: spec.value_size,
        elapsed_s,
        records_per_s: committed as f64 / elapsed_s,
        mb_per_s: (committed * spec.value_size as u64) as f64 / elapsed_s / 1e6,
        transactions_per_s: transactions as f64 / elapsed_s,
        commit_p50_ms: crate::groups::median(&commit_ms).unwrap_or(0.0),
        commit_max_ms: commit_ms.iter().copied().fold(0.0, f64::max),
        generator_cpu_cores: cpu_s / elapsed_s,
        broker_cpu_cores: Some(broker_cpu_cores),
        read_back,
    })
}

/// Waits, bounded by `deadline`, until every record sent is acknowledged and its delivery report
/// served. The crate's `commit_transaction` flushes first, serving delivery reports in 100 ms
/// poll slices that always run to their end: with anything outstanding, every commit would cost
/// at least 100 ms of the client's own waiting. Served here in short steps instead, its flush
/// finds nothing left, and the commit is the EndTxn round trip.
fn drain(producer: &BaseProducer<Counting>, deadline: Instant) -> Result<()> {
    // Bounded by the deadline; each turn serves the queued reports and sleeps briefly (a
    // sleep, not a spin, so the broker keeps its cores).
    while producer.in_flight_count() > 0 {
        if Instant::now() >= deadline {
            bail!("{} records still unacknowledged after {} s", producer.in_flight_count(), COMMIT_TIMEOUT_MS / 1000);
        }
        producer.poll(Duration::ZERO);
        std::thread::sleep(Duration::from_micros(DRAIN_INTERVAL_US));
    }
    Ok(())
}

/// Reads every partition of `topic` from the beginning with read_committed, counting the copies
/// of each record index. Ends once at least `committed` records are read and none came for
/// READ_BACK_QUIET_MS; or, short of `committed`, after CONSUME_IDLE_TIMEOUT_MS without a record
/// (what was read is then returned, so the shortfall shows as missing records). Reading on past
/// the count also covers a commit's markers, which may be written after its EndTxn answer.
fn read_committed(profile: &ConnectionProfile, topic: &str, committed: u64, stop: &Stop) -> Result<Copies> {
    let timeout = Duration::from_millis(load::METADATA_TIMEOUT_MS);
    let settings: Vec<(&str, &str)> = CONSUMER_SETTINGS.iter().chain(READ_BACK_SETTINGS).copied().collect();
    let reader = PartitionReader::open(profile, topic, None, StartOffset::Beginning, &settings, timeout)?;
    let mut copies = Copies { per_index: vec![0; usize::try_from(committed).context("too many records")?], foreign: 0 };
    let mut read: u64 = 0;
    let mut last_progress = Instant::now();
    let mut last_error: Option<String> = None;
    let idle = Duration::from_millis(load::CONSUME_IDLE_TIMEOUT_MS);
    let quiet = Duration::from_millis(READ_BACK_QUIET_MS);
    // Bounded: every turn reads a record or waits ≤100 ms, and quiet or idling ends the loop.
    loop {
        if read.is_multiple_of(1024) {
            stop.check()?;
        }
        match reader.poll(Duration::from_millis(100)) {
            Ok(Some(message)) => {
                read += 1;
                last_progress = Instant::now();
                let index = message
                    .payload()
                    .and_then(|p| p.get(..8))
                    .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
                match index.and_then(|i| copies.per_index.get_mut(usize::try_from(i).ok()?)) {
                    Some(count) => *count = count.saturating_add(1),
                    None => copies.foreign += 1,
                }
                continue;
            }
            Ok(None) => {}
            Err(error) => last_error = Some(error.to_string()),
        }
        stop.check()?;
        let waited = last_progress.elapsed();
        if (read >= committed && waited >= quiet) || waited >= idle {
            if read == 0 {
                if let Some(error) = last_error {
                    bail!("nothing read in {} s: {error}", idle.as_secs());
                }
            }
            break;
        }
    }
    Ok(copies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_back_counts_missing_doubled_and_foreign_records() {
        let clean = TxnReadBack::new(3, &Copies { per_index: vec![1, 1, 1], foreign: 0 });
        assert!(clean.matches());
        assert_eq!(clean.records_read, 3);

        let bad = TxnReadBack::new(4, &Copies { per_index: vec![1, 0, 2, 1], foreign: 1 });
        assert_eq!(bad, TxnReadBack { committed: 4, records_read: 5, missing: 1, duplicated: 1, foreign: 1 });
        assert!(!bad.matches());

        // Fewer slots than committed records count as missing.
        let short = TxnReadBack::new(3, &Copies { per_index: vec![1], foreign: 0 });
        assert_eq!((short.missing, short.records_read), (2, 1));
    }

    #[test]
    fn a_mismatch_raises_the_alarm() {
        let result = |read_back| TxnResult {
            transactions: 2,
            records: 200,
            records_per_transaction: 100,
            record_bytes: 100,
            elapsed_s: 1.0,
            records_per_s: 200.0,
            mb_per_s: 0.02,
            transactions_per_s: 2.0,
            commit_p50_ms: 3.0,
            commit_max_ms: 5.0,
            generator_cpu_cores: 0.1,
            broker_cpu_cores: None,
            read_back,
        };
        let ok = TxnReadBack { committed: 200, records_read: 200, missing: 0, duplicated: 0, foreign: 0 };
        assert_eq!(result(Ok(ok.clone())).alarm(), None);
        let missing = TxnReadBack { records_read: 199, missing: 1, ..ok };
        let alarm = result(Ok(missing)).alarm().expect("alarm");
        assert!(alarm.starts_with("TRANSACTION READ-BACK MISMATCH: read_committed read 199 records, 200 committed"));
        assert!(result(Err("boom".into())).alarm().expect("alarm").contains("unchecked"));
    }
}
