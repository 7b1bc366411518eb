//! The librdkafka load generator: the same code and settings drive every broker.
//!
//! Producers use `BaseProducer` with delivery callbacks (no per-record future or allocation), so
//! the generator costs little per record; [`ceiling`] measures what it manages against
//! librdkafka's in-process mock cluster, a lower bound on its own limit.

use crate::Stop;
use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use oxbow_client::rdkafka::client::Client;
use oxbow_client::rdkafka::config::ClientConfig;
use oxbow_client::rdkafka::error::KafkaError;
use oxbow_client::rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use oxbow_client::rdkafka::types::RDKafkaErrorCode;
use oxbow_client::rdkafka::{ClientContext, Message};
use oxbow_client::{ConnectionProfile, PartitionReader, StartOffset};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Producer settings shared by every produce phase and both brokers (printed in the report).
/// Typical benchmark values: a short linger and large batches, compression off so the brokers,
/// not the codecs, are measured; librdkafka's queue bounded to 100k records / 64 MiB.
pub const PRODUCER_SETTINGS: &[(&str, &str)] = &[
    ("linger.ms", "5"),
    ("batch.size", "1048576"),
    ("batch.num.messages", "10000"),
    ("compression.type", "none"),
    ("queue.buffering.max.messages", "100000"),
    ("queue.buffering.max.kbytes", "65536"),
    ("enable.idempotence", "false"),
    ("max.in.flight.requests.per.connection", "5"),
];

/// The consume phases read a fixture topic written with these settings: the long linger means
/// every batch is closed by `batch.num.messages`/`batch.size`, never by time, so both brokers
/// serve the same batches and the same record count, however fast each acknowledged them.
pub const FIXTURE_PRODUCER_SETTINGS: &[(&str, &str)] = &[
    ("linger.ms", "1000"),
    ("batch.size", "1048576"),
    ("batch.num.messages", "10000"),
    ("compression.type", "none"),
    ("queue.buffering.max.messages", "100000"),
    ("queue.buffering.max.kbytes", "65536"),
    ("enable.idempotence", "false"),
    ("max.in.flight.requests.per.connection", "5"),
];

/// The latency phase sends at a low fixed rate: a 1 ms linger (as OpenMessaging Benchmark uses)
/// batches the few records of each millisecond instead of sending one request per record.
pub const LATENCY_PRODUCER_SETTINGS: &[(&str, &str)] = &[
    ("linger.ms", "1"),
    ("compression.type", "none"),
    ("queue.buffering.max.messages", "100000"),
    ("queue.buffering.max.kbytes", "65536"),
    ("enable.idempotence", "false"),
    // As in the throughput phases (and the Java client's default): with librdkafka's default of
    // 1,000,000 a broker that serves one request per connection at a time (Kafka) queues a
    // backlog of tiny requests, and the bench would measure that queue.
    ("max.in.flight.requests.per.connection", "5"),
    ("acks", "all"),
];

/// Consumer settings: librdkafka defaults spelled out (the prefetch queue is bounded at 100k
/// records / 64 MiB), except `fetch.queue.backoff.ms`: by default a full prefetch queue pauses
/// fetching for 1 s, which would measure that pause instead of the broker.
pub const CONSUMER_SETTINGS: &[(&str, &str)] = &[
    ("fetch.queue.backoff.ms", "1"),
    ("queued.min.messages", "100000"),
    ("fetch.min.bytes", "1"),
    ("fetch.wait.max.ms", "500"),
    ("fetch.max.bytes", "52428800"),
    ("max.partition.fetch.bytes", "1048576"),
    ("queued.max.messages.kbytes", "65536"),
];

/// Records between checks of the clock and the stop flag in hot loops.
const CHECK_EVERY_RECORDS: u64 = 1024;
/// How long a flush may take after a produce phase before the phase counts as failed.
pub(crate) const FLUSH_TIMEOUT_MS: u64 = 60_000;
/// A consume phase gives up this long after the last record arrived.
pub(crate) const CONSUME_IDLE_TIMEOUT_MS: u64 = 10_000;
pub(crate) const METADATA_TIMEOUT_MS: u64 = 10_000;
/// The latency consumer must be fetching within this long of its start.
const CONSUMER_READY_TIMEOUT_MS: u64 = 60_000;
/// Latency histogram range: 1 µs to 60 s, 3 significant digits.
const LATENCY_MAX_US: u64 = 60_000_000;

pub(crate) struct Counting {
    pub(crate) acked: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) first_error: Mutex<Option<String>>,
    /// The latency phase's clock and timeline: each timed record's acknowledgement is timed
    /// too, so a slow second shows whether the produce or the fetch side was slow.
    ack_timeline: OnceLock<(Instant, Arc<Mutex<Timeline>>)>,
}

impl Counting {
    pub(crate) fn new() -> Counting {
        Counting {
            acked: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
            ack_timeline: OnceLock::new(),
        }
    }
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        match result {
            Ok(message) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
                if let (Some((epoch, timeline)), Some(stamp)) =
                    (self.ack_timeline.get(), message.payload().and_then(Stamp::read))
                {
                    let latency_us = stamp.latency_us(epoch.elapsed().as_nanos() as u64);
                    timeline.lock().expect("not poisoned").acked(stamp.index, latency_us);
                }
            }
            Err((error, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().expect("not poisoned");
                if first.is_none() {
                    *first = Some(error.to_string());
                }
            }
        }
    }
}

fn producer(profile: &ConnectionProfile, settings: &[(&str, &str)], acks: &str) -> Result<BaseProducer<Counting>> {
    let mut config: ClientConfig = profile.client_config();
    for (key, value) in settings {
        config.set(*key, *value);
    }
    config.set("acks", acks);
    config.create_with_context(Counting::new()).context("creating the load producer")
}

/// Partitions of `topic` as the producer sees them (also warms its metadata cache and connection).
/// A just-created topic can take a moment to show up with leaders (Kafka propagates it
/// asynchronously), so this asks again until every partition has a leader, within a bound.
pub(crate) fn partition_count(producer: &BaseProducer<Counting>, topic: &str) -> Result<i32> {
    Ok(partition_leaders(producer, topic)?.len() as i32)
}

/// The leader of each partition of `topic` (by partition id), once every partition has one; see
/// [`partition_count`].
fn partition_leaders(producer: &BaseProducer<Counting>, topic: &str) -> Result<Vec<i32>> {
    let deadline = Instant::now() + Duration::from_millis(METADATA_TIMEOUT_MS);
    loop {
        let metadata = producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_millis(METADATA_TIMEOUT_MS))
            .context("metadata for the bench topic")?;
        let partitions = metadata.topics().iter().find(|t| t.name() == topic).map(|t| t.partitions());
        if let Some(partitions) = partitions {
            if !partitions.is_empty() && partitions.iter().all(|p| p.leader() >= 0 && p.error().is_none()) {
                let mut leaders = vec![-1; partitions.len()];
                for p in partitions {
                    if let Some(slot) = usize::try_from(p.id()).ok().and_then(|i| leaders.get_mut(i)) {
                        *slot = p.leader();
                    }
                }
                return Ok(leaders);
            }
        }
        if Instant::now() >= deadline {
            bail!("topic {topic} has no partitions with leaders after {} s", METADATA_TIMEOUT_MS / 1000);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Enqueues one record, waiting (bounded by `deadline`) while librdkafka's queue is full.
pub(crate) fn send_blocking(
    producer: &BaseProducer<Counting>,
    record: BaseRecord<'_, [u8], [u8]>,
    deadline: Instant,
) -> Result<()> {
    let mut record = record;
    // Each turn serves callbacks for up to 1 ms, so the queue drains; the deadline bounds the loop.
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                if Instant::now() >= deadline {
                    bail!("librdkafka's queue stayed full past the phase deadline: the broker stopped acknowledging");
                }
                producer.poll(Duration::from_millis(1));
                record = returned;
            }
            Err((error, _)) => return Err(error).context("enqueueing a record"),
        }
    }
}

/// The figures of one produce or consume phase.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ThroughputResult {
    pub records: u64,
    pub bytes: u64,
    pub elapsed_s: f64,
    pub records_per_s: f64,
    pub mb_per_s: f64,
    /// Bench process CPU (all threads) over the phase, in cores.
    pub generator_cpu_cores: f64,
}

impl ThroughputResult {
    /// Rates of `records` and `bytes` over `elapsed_s`.
    fn new(records: u64, bytes: u64, elapsed_s: f64, generator_cpu_cores: f64) -> ThroughputResult {
        ThroughputResult {
            records,
            bytes,
            elapsed_s,
            records_per_s: records as f64 / elapsed_s,
            mb_per_s: bytes as f64 / elapsed_s / 1e6,
            generator_cpu_cores,
        }
    }
}

/// One produce run: what to send, how, and when to stop.
#[derive(Clone, Copy, Debug)]
pub struct ProduceSpec<'a> {
    pub settings: &'a [(&'a str, &'a str)],
    pub topic: &'a str,
    pub value_size: usize,
    pub acks: &'a str,
    pub duration: Duration,
    pub records_max: u64,
}

/// Sends `value_size`-byte records round-robin over all partitions for up to `duration`, stopping
/// early at `records_max`, then waits for every acknowledgement. Rates count acknowledged records
/// from the first send to the last acknowledgement.
pub fn produce(profile: &ConnectionProfile, spec: &ProduceSpec<'_>, stop: &Stop) -> Result<ThroughputResult> {
    let ProduceSpec { settings, topic, value_size, acks, duration, records_max } = *spec;
    let producer = producer(profile, settings, acks)?;
    let partitions = partition_count(&producer, topic)?;
    // Distinct, incompressible-looking bytes; compression is off anyway.
    let value: Vec<u8> = (0..value_size).map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3]).collect();
    let cpu_start = crate::procfs::cpu_s("self").unwrap_or(0.0);
    let start = Instant::now();
    let deadline = start + duration;
    let hard_deadline = deadline + Duration::from_millis(FLUSH_TIMEOUT_MS);
    let mut sent: u64 = 0;
    while sent < records_max {
        if sent.is_multiple_of(CHECK_EVERY_RECORDS) {
            stop.check()?;
            if Instant::now() >= deadline {
                break;
            }
            if producer.context().failed.load(Ordering::Relaxed) > 0 {
                break;
            }
            producer.poll(Duration::ZERO);
        }
        let partition = (sent % partitions as u64) as i32;
        let record = BaseRecord::to(topic).payload(&value[..]).partition(partition);
        send_blocking(&producer, record, hard_deadline)?;
        sent += 1;
    }
    producer.flush(Duration::from_millis(FLUSH_TIMEOUT_MS)).context("waiting for acknowledgements")?;
    let elapsed_s = start.elapsed().as_secs_f64();
    let cpu_s = crate::procfs::cpu_s("self").unwrap_or(0.0) - cpu_start;
    let context = producer.context();
    if let Some(error) = context.first_error.lock().expect("not poisoned").clone() {
        bail!("{} of {sent} records failed, first: {error}", context.failed.load(Ordering::Relaxed));
    }
    let records = context.acked.load(Ordering::Relaxed);
    let bytes = records * value_size as u64;
    Ok(ThroughputResult::new(records, bytes, elapsed_s, cpu_s / elapsed_s))
}

/// A reader of every partition of `topic` from its beginning, by assignment (no group).
fn reader_from_beginning(profile: &ConnectionProfile, topic: &str, timeout: Duration) -> Result<PartitionReader> {
    Ok(PartitionReader::open(profile, topic, None, StartOffset::Beginning, CONSUMER_SETTINGS, timeout)?)
}

/// Reads `topic` from the beginning of every partition up to the high watermarks taken at the
/// start, by assignment (no group). The clock runs from assignment to the last record.
pub fn consume(profile: &ConnectionProfile, topic: &str, stop: &Stop) -> Result<ThroughputResult> {
    let timeout = Duration::from_millis(METADATA_TIMEOUT_MS);
    let reader = reader_from_beginning(profile, topic, timeout)?;
    let mut expected: u64 = 0;
    for partition in reader.partitions() {
        let (low, high) = reader.watermarks(*partition, timeout)?;
        expected += (high - low).max(0) as u64;
    }
    if expected == 0 {
        bail!("topic {topic} is empty; nothing to consume");
    }
    let cpu_start = crate::procfs::cpu_s("self").unwrap_or(0.0);
    // The clock starts at the first record: the one-off cost of finding partition leaders and
    // (Kafka) the group coordinator is start-up, not read throughput.
    let mut first_record: Option<Instant> = None;
    let assigned = Instant::now();
    let mut last_record = Instant::now();
    let mut records: u64 = 0;
    let mut bytes: u64 = 0;
    // Bounded: every turn either counts a record or waits ≤100 ms, and idling ends the loop.
    while records < expected {
        if records.is_multiple_of(CHECK_EVERY_RECORDS) {
            stop.check()?;
        }
        match reader.poll(Duration::from_millis(100))? {
            Some(message) => {
                records += 1;
                bytes += message.payload_len() as u64;
                last_record = Instant::now();
                first_record.get_or_insert(last_record);
            }
            None => {
                stop.check()?;
                if last_record.elapsed() >= Duration::from_millis(CONSUME_IDLE_TIMEOUT_MS) {
                    bail!(
                        "consumed {records} of {expected} records, then nothing for {} s",
                        CONSUME_IDLE_TIMEOUT_MS / 1000
                    );
                }
            }
        }
    }
    let elapsed_s = last_record.duration_since(first_record.unwrap_or(assigned)).as_secs_f64().max(1e-6);
    let cpu_s = crate::procfs::cpu_s("self").unwrap_or(0.0) - cpu_start;
    let cpu_wall_s = assigned.elapsed().as_secs_f64();
    Ok(ThroughputResult::new(records, bytes, elapsed_s, cpu_s / cpu_wall_s))
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct LatencyResult {
    pub rate_per_s: u64,
    pub measured_records: u64,
    pub received_records: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// The warm-up that ran before the measured records, and whether it ended because the path
    /// was warm ([`Timeline::warm`]) rather than at the warm-up's bound.
    pub warmup_s: f64,
    pub warm: bool,
    /// Topic creation → every broker's own metadata showing every partition led and fully in
    /// sync ([`crate::ready::wait_topic_ready`]); set by the caller that created the topic.
    pub topic_ready_ms: Option<f64>,
    /// CPU cores the broker processes used over the phase, warm-up included (set by the caller,
    /// which knows them): near the machine's core count, latency is the machine's queue.
    pub broker_cpu_cores: Option<f64>,
    /// Every second of the send schedule, warm-up included: where a slow stretch happened.
    pub per_second: Vec<LatencySecond>,
    /// The measured records by partition: whether a slow tail is one leader's.
    pub per_partition: Vec<LatencyPartition>,
}

/// The measured records of one partition.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LatencyPartition {
    pub partition: i32,
    /// Its leader when the phase started.
    pub leader: i32,
    pub received: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The timed records scheduled in one second of the latency phase.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LatencySecond {
    /// Seconds since the first timed record was scheduled.
    pub second: u64,
    /// False for a second of the warm-up.
    pub measured: bool,
    pub sent: u64,
    pub received: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The producer's side alone: acknowledgement time − scheduled send time.
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
}

/// One latency phase: what to send, how fast, how long to warm up and to measure.
#[derive(Clone, Copy, Debug)]
pub struct LatencySpec<'a> {
    pub topic: &'a str,
    pub value_size: usize,
    pub rate_per_s: u64,
    /// The warm-up lasts at least this, then until the path is warm ([`Timeline::warm`]) …
    pub warmup_min: Duration,
    /// … but no longer than this: then the phase measures anyway and reports `warm: false`.
    pub warmup_max: Duration,
    pub duration: Duration,
}

/// Payload layout of a latency record: 8 bytes of scheduled send time (ns since the phase's
/// epoch), 1 byte kind (below), 8 bytes of the timed record's index, then filler.
const STAMP_BYTES: usize = 17;
/// A timed record's stamp, read back from its payload.
struct Stamp {
    sent_ns: u64,
    measured: bool,
    index: u64,
}

impl Stamp {
    /// None for an untimed record or a payload too short to carry a stamp.
    fn read(payload: &[u8]) -> Option<Stamp> {
        if payload.len() < STAMP_BYTES || payload[8] == KIND_UNTIMED {
            return None;
        }
        Some(Stamp {
            sent_ns: u64::from_le_bytes(payload[..8].try_into().expect("8 bytes")),
            measured: payload[8] == KIND_MEASURED,
            index: u64::from_le_bytes(payload[9..17].try_into().expect("8 bytes")),
        })
    }

    fn latency_us(&self, now_ns: u64) -> u64 {
        (now_ns.saturating_sub(self.sent_ns) / 1_000).clamp(1, LATENCY_MAX_US)
    }
}

/// Not timed: the first record of every partition.
const KIND_UNTIMED: u8 = 0;
const KIND_WARMUP: u8 = 1;
const KIND_MEASURED: u8 = 2;
/// The warm-up is over when the latest WARM_SECONDS complete seconds in a row have p99s within
/// this share of the largest, or within WARM_P99_TOLERANCE_US (noise at millisecond p99s) …
const WARM_P99_TOLERANCE_RATIO: f64 = 0.25;
const WARM_P99_TOLERANCE_US: u64 = 5_000;
const WARM_SECONDS: usize = 3;
/// … and no record of them waited as long as a second: a broker that falls a whole second
/// behind (a JIT compiling the path while it runs, say) is in a backlog however steady it
/// looks, and a backlog is not the broker's latency at this rate.
const WARM_MAX_US: u64 = 1_000_000;
/// Per-second histograms need less precision than the phase's own (two digits: ~1%).
const TIMELINE_DIGITS: u8 = 2;

/// Latencies of the timed records by second of the send schedule (record `index` belongs to
/// second `index / rate_per_s`): the warm-up's end test and the per-second figures. Pure
/// bookkeeping, fed by the producer ([`Timeline::sent`]) and the consumer.
#[derive(Debug)]
pub struct Timeline {
    rate_per_s: u64,
    /// Timed records sent; every second before the one in progress is closed.
    sent: u64,
    seconds: Vec<Second>,
}

#[derive(Debug)]
struct Second {
    measured: bool,
    sent: u64,
    received: u64,
    /// Receive time − scheduled send time.
    histogram: Histogram<u32>,
    /// Acknowledgement time − scheduled send time.
    ack_histogram: Histogram<u32>,
}

impl Timeline {
    pub fn new(rate_per_s: u64) -> Timeline {
        Timeline { rate_per_s: rate_per_s.max(1), sent: 0, seconds: Vec::new() }
    }

    /// The next timed record is about to be sent; returns its index. Called before the send, so
    /// the record can never be received before it is counted.
    pub fn sent(&mut self, measured: bool) -> u64 {
        let index = self.sent;
        let second = (index / self.rate_per_s) as usize;
        if second == self.seconds.len() {
            self.seconds.push(Second {
                measured,
                sent: 0,
                received: 0,
                histogram: Histogram::new_with_bounds(1, LATENCY_MAX_US, TIMELINE_DIGITS).expect("valid bounds"),
                ack_histogram: Histogram::new_with_bounds(1, LATENCY_MAX_US, TIMELINE_DIGITS).expect("valid bounds"),
            });
        }
        self.seconds[second].sent += 1;
        self.sent += 1;
        index
    }

    /// Record `index` came back after `latency_us`. An index never sent is ignored.
    pub fn received(&mut self, index: u64, latency_us: u64) {
        if index >= self.sent {
            return;
        }
        let second = &mut self.seconds[(index / self.rate_per_s) as usize];
        second.received += 1;
        let _ = second.histogram.record(latency_us.clamp(1, LATENCY_MAX_US));
    }

    /// Record `index` was acknowledged `latency_us` after its scheduled send. An index never sent
    /// is ignored.
    pub fn acked(&mut self, index: u64, latency_us: u64) {
        if index >= self.sent {
            return;
        }
        let second = &mut self.seconds[(index / self.rate_per_s) as usize];
        let _ = second.ack_histogram.record(latency_us.clamp(1, LATENCY_MAX_US));
    }

    /// Warm: the latest WARM_SECONDS closed seconds in a row whose records all came back have
    /// p99s within WARM_P99_TOLERANCE of each other and no record slower than WARM_MAX_US. A
    /// cold path (a stall, a fetch or a follower not yet running, a JIT still compiling) makes
    /// one second's tail unlike the next, or puts the broker a second or more behind.
    pub fn warm(&self) -> bool {
        let closed = ((self.sent / self.rate_per_s) as usize).min(self.seconds.len());
        let complete = |s: &Second| s.sent > 0 && s.received >= s.sent;
        // The latest run of WARM_SECONDS complete seconds; bounded by the number of seconds.
        let Some(end) =
            (WARM_SECONDS..=closed).rev().find(|&end| self.seconds[end - WARM_SECONDS..end].iter().all(complete))
        else {
            return false;
        };
        let run = &self.seconds[end - WARM_SECONDS..end];
        if run.iter().any(|s| s.histogram.max() >= WARM_MAX_US) {
            return false;
        }
        let p99s = run.iter().map(|s| s.histogram.value_at_quantile(0.99));
        let (low, high) = p99s.fold((u64::MAX, 0), |(low, high), p| (low.min(p), high.max(p)));
        let tolerance_us = ((high as f64 * WARM_P99_TOLERANCE_RATIO) as u64).max(WARM_P99_TOLERANCE_US);
        high - low <= tolerance_us
    }

    pub fn per_second(&self) -> Vec<LatencySecond> {
        let ms = |us: u64| us as f64 / 1e3;
        self.seconds
            .iter()
            .enumerate()
            .map(|(second, s)| LatencySecond {
                second: second as u64,
                measured: s.measured,
                sent: s.sent,
                received: s.received,
                p50_ms: ms(s.histogram.value_at_quantile(0.50)),
                p99_ms: ms(s.histogram.value_at_quantile(0.99)),
                max_ms: ms(s.histogram.max()),
                ack_p50_ms: ms(s.ack_histogram.value_at_quantile(0.50)),
                ack_p99_ms: ms(s.ack_histogram.value_at_quantile(0.99)),
            })
            .collect()
    }
}

/// Produces at `rate_per_s` while a consumer in another thread reads the topic; latency =
/// receive time − scheduled send time (scheduled, not actual, so a stalled sender shows up as
/// latency instead of hiding it: no coordinated omission). Before the measured `duration`, a
/// warm-up at the same rate runs until the path is warm, within `warmup_max`; it is the same
/// procedure for every broker.
pub fn latency(profile: &ConnectionProfile, spec: &LatencySpec<'_>, stop: &Stop) -> Result<LatencyResult> {
    let LatencySpec { topic, value_size, rate_per_s, warmup_min, warmup_max, duration } = *spec;
    assert!(value_size >= STAMP_BYTES && rate_per_s > 0);
    let producer = producer(profile, LATENCY_PRODUCER_SETTINGS, "all")?;
    let leaders = partition_leaders(&producer, topic)?;
    let partitions = leaders.len() as u64;
    // One untimed record per partition, acknowledged, before the reader starts: a reader whose
    // first offset lookup finds no leader backs off; an acknowledged acks=all record shows the
    // partition's leader (and its in-sync followers) serve it. The reader starts from the
    // beginning, so these are also the first records it sees of every partition.
    let settle_deadline = Instant::now() + Duration::from_millis(METADATA_TIMEOUT_MS);
    let untimed = vec![KIND_UNTIMED; value_size];
    for partition in 0..partitions {
        let record = BaseRecord::to(topic).payload(&untimed[..]).partition(partition as i32);
        send_blocking(&producer, record, settle_deadline)?;
    }
    producer
        .flush(settle_deadline.saturating_duration_since(Instant::now()))
        .context("waiting for the first record of every partition")?;
    if let Some(error) = producer.context().first_error.lock().expect("not poisoned").take() {
        bail!("the first record of a partition failed: {error}");
    }
    let reader = reader_from_beginning(profile, topic, Duration::from_millis(METADATA_TIMEOUT_MS))?;

    let epoch = Instant::now();
    let timeline = Arc::new(Mutex::new(Timeline::new(rate_per_s)));
    let _ = producer.context().ack_timeline.set((epoch, timeline.clone()));
    // Partitions the consumer has read a record of: it fetches from all of them.
    let partitions_seen = Arc::new(AtomicU64::new(0));
    let producing_done = Arc::new(AtomicBool::new(false));
    let timed_sent = Arc::new(AtomicU64::new(0));
    let consumer_stop = stop.clone();
    let consumer = {
        let producing_done = producing_done.clone();
        let timed_sent = timed_sent.clone();
        let partitions_seen = partitions_seen.clone();
        let timeline = timeline.clone();
        std::thread::Builder::new().name("bench-latency-consumer".into()).spawn(
            move || -> Result<(Histogram<u64>, Vec<Histogram<u32>>, u64)> {
                let mut histogram = Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_US, 3).expect("valid bounds");
                let mut by_partition: Vec<Histogram<u32>> = (0..partitions)
                    .map(|_| Histogram::new_with_bounds(1, LATENCY_MAX_US, TIMELINE_DIGITS).expect("valid bounds"))
                    .collect();
                let mut measured_received: u64 = 0;
                let mut timed_received: u64 = 0;
                let mut idle_since = Instant::now();
                // Bounded: ends when every timed record arrived after the producer finished, or
                // after CONSUME_IDLE_TIMEOUT_MS without a record once it finished.
                loop {
                    consumer_stop.check()?;
                    let done = producing_done.load(Ordering::Acquire);
                    if done && timed_received >= timed_sent.load(Ordering::Acquire) {
                        break;
                    }
                    if done && idle_since.elapsed() >= Duration::from_millis(CONSUME_IDLE_TIMEOUT_MS) {
                        break;
                    }
                    let Some(message) = reader.poll(Duration::from_millis(50))? else {
                        continue;
                    };
                    let now_ns = epoch.elapsed().as_nanos() as u64;
                    idle_since = Instant::now();
                    if let Ok(bit) = u32::try_from(message.partition()) {
                        partitions_seen.fetch_or(1u64.wrapping_shl(bit), Ordering::Release);
                    }
                    let Some(stamp) = message.payload().and_then(Stamp::read) else {
                        continue;
                    };
                    let latency_us = stamp.latency_us(now_ns);
                    timeline.lock().expect("not poisoned").received(stamp.index, latency_us);
                    timed_received += 1;
                    if stamp.measured {
                        histogram.record(latency_us).expect("clamped into range");
                        let partition = usize::try_from(message.partition()).ok();
                        if let Some(h) = partition.and_then(|p| by_partition.get_mut(p)) {
                            let _ = h.record(latency_us);
                        }
                        measured_received += 1;
                    }
                }
                Ok((histogram, by_partition, measured_received))
            },
        )?
    };

    let result = (|| -> Result<(u64, f64, bool)> {
        // The clock must not include the consumer's own start (leader lookups, offset lookups,
        // the first fetch of each partition): wait until it has read from every partition.
        let ready_deadline = Instant::now() + Duration::from_millis(CONSUMER_READY_TIMEOUT_MS);
        let all_seen = if partitions >= 64 { u64::MAX } else { (1u64 << partitions) - 1 };
        while partitions_seen.load(Ordering::Acquire) & all_seen != all_seen {
            stop.check()?;
            if Instant::now() >= ready_deadline {
                bail!(
                    "the latency consumer read no record of some partitions within {} s",
                    CONSUMER_READY_TIMEOUT_MS / 1000
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let schedule_start_ns = epoch.elapsed().as_nanos() as u64;
        let interval_ns = 1_000_000_000 / rate_per_s;
        let records_per_s = rate_per_s.max(1);
        let warmup_min_records = warmup_min.as_nanos() as u64 / interval_ns;
        let warmup_max_records = (warmup_max.as_nanos() as u64 / interval_ns).max(warmup_min_records);
        let measured_records = (duration.as_nanos() as u64 / interval_ns).max(1);
        // The warm test runs every tenth of a second of schedule.
        let check_every = (records_per_s / 10).max(1);
        let hard_deadline = Instant::now() + warmup_max + duration + Duration::from_millis(FLUSH_TIMEOUT_MS);
        let mut value = vec![0u8; value_size];
        let mut measure_from: Option<u64> = None;
        let mut warm = false;
        // Bounded: at most warmup_max_records + measured_records turns.
        for i in 0..warmup_max_records + measured_records {
            if i % 64 == 0 {
                stop.check()?;
            }
            if measure_from.is_none() && i >= warmup_min_records {
                if i % check_every == 0 && timeline.lock().expect("not poisoned").warm() {
                    (measure_from, warm) = (Some(i), true);
                } else if i >= warmup_max_records {
                    measure_from = Some(i);
                }
            }
            let is_measured = match measure_from {
                Some(from) if i >= from + measured_records => break,
                Some(_) => true,
                None => false,
            };
            let scheduled_ns = schedule_start_ns + i * interval_ns;
            // Sleep, never spin: a spinning sender would take a core from the broker on a small
            // machine. A late wake-up (~0.1 ms) shows as latency, as the stamp is the schedule.
            let now_ns = epoch.elapsed().as_nanos() as u64;
            if now_ns < scheduled_ns {
                std::thread::sleep(Duration::from_nanos(scheduled_ns - now_ns));
            }
            let index = timeline.lock().expect("not poisoned").sent(is_measured);
            timed_sent.fetch_add(1, Ordering::Release);
            value[..8].copy_from_slice(&scheduled_ns.to_le_bytes());
            value[8] = if is_measured { KIND_MEASURED } else { KIND_WARMUP };
            value[9..17].copy_from_slice(&index.to_le_bytes());
            let record = BaseRecord::to(topic).payload(&value[..]).partition((i % partitions) as i32);
            send_blocking(&producer, record, hard_deadline)?;
            producer.poll(Duration::ZERO);
        }
        producer.flush(Duration::from_millis(FLUSH_TIMEOUT_MS)).context("waiting for acknowledgements")?;
        if let Some(error) = producer.context().first_error.lock().expect("not poisoned").clone() {
            bail!("latency records failed: {error}");
        }
        let warmup_records = measure_from.unwrap_or(0);
        Ok((timed_sent.load(Ordering::Acquire) - warmup_records, warmup_records as f64 / rate_per_s as f64, warm))
    })();
    // Release the consumer in every case, so the join below cannot hang.
    producing_done.store(true, Ordering::Release);
    let joined = consumer.join().map_err(|_| anyhow::anyhow!("latency consumer panicked"))?;
    let (measured, warmup_s, warm) = result?;
    let (histogram, by_partition, received) = joined?;
    if received == 0 {
        bail!("no latency record came back");
    }
    let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1e3;
    let per_second = timeline.lock().expect("not poisoned").per_second();
    let per_partition = by_partition
        .iter()
        .zip(&leaders)
        .enumerate()
        .map(|(partition, (h, &leader))| LatencyPartition {
            partition: partition as i32,
            leader,
            received: h.len(),
            p50_ms: h.value_at_quantile(0.50) as f64 / 1e3,
            p99_ms: h.value_at_quantile(0.99) as f64 / 1e3,
            max_ms: h.max() as f64 / 1e3,
        })
        .collect();
    Ok(LatencyResult {
        rate_per_s,
        measured_records: measured,
        received_records: received,
        p50_ms: ms(0.50),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: histogram.max() as f64 / 1e3,
        warmup_s,
        warm,
        topic_ready_ms: None,
        broker_cpu_cores: None,
        per_second,
        per_partition,
    })
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct CeilingResult {
    pub produce_records_per_s: f64,
    pub consume_records_per_s: f64,
}

/// The generator's own limit, lower bound: the same produce and consume code against librdkafka's
/// mock cluster, which runs in the bench process and so competes with the generator for CPU.
pub fn ceiling(
    value_size: usize,
    duration: Duration,
    records_max: u64,
    topic: &str,
    stop: &Stop,
) -> Result<CeilingResult> {
    let mock = oxbow_client::rdkafka::mocking::MockCluster::new(1).context("starting librdkafka's mock cluster")?;
    mock.create_topic(topic, 6, 1).context("creating the mock topic")?;
    let profile = ConnectionProfile::plaintext(mock.bootstrap_servers(), "oxbow-bench-ceiling");
    let spec = ProduceSpec { settings: PRODUCER_SETTINGS, topic, value_size, acks: "1", duration, records_max };
    let produced = produce(&profile, &spec, stop)?;
    let consumed = consume(&profile, topic, stop)?;
    Ok(CeilingResult { produce_records_per_s: produced.records_per_s, consume_records_per_s: consumed.records_per_s })
}

/// The failover producer: acks=all and idempotent (a retried record is written once), a short
/// retry back-off so a retry follows the new leader soon after it is known, and a message timeout
/// far above any failover, so a record is retried until it lands instead of failing. Each record
/// goes out on its own (no linger): one every FAILOVER_SEND_INTERVAL_MS.
pub const FAILOVER_PRODUCER_SETTINGS: &[(&str, &str)] = &[
    ("acks", "all"),
    ("enable.idempotence", "true"),
    ("max.in.flight.requests.per.connection", "5"),
    ("linger.ms", "0"),
    ("retry.backoff.ms", "50"),
    ("retry.backoff.max.ms", "50"),
    ("message.timeout.ms", "300000"),
    ("compression.type", "none"),
    // A short periodic refresh (the default is 5 min, besides librdkafka's own triggers) makes
    // the client see a new leader soon after the cluster names it: the figure is the cluster's.
    ("topic.metadata.refresh.interval.ms", "200"),
];

/// One record to partition 0 this often, before and after the kill.
pub const FAILOVER_SEND_INTERVAL_MS: u64 = 5;
const FAILOVER_RECORD_BYTES: usize = 100;

/// What happened to each record of the failover phase, on the phase's own clock (ns since its
/// start). Pure bookkeeping: the producer loop feeds it, [`FailoverLog::summary`] reads it.
#[derive(Debug, Default)]
pub struct FailoverLog {
    /// Send time of record `index`.
    sent_ns: Vec<u64>,
    /// Delivery report of record `index`: when it came and whether the record was written.
    delivered: Vec<Option<Delivery>>,
    acked: u64,
    failed: u64,
    first_error: Option<String>,
}

#[derive(Clone, Copy, Debug)]
struct Delivery {
    at_ns: u64,
    ok: bool,
}

impl FailoverLog {
    /// Records a send at `at_ns`; returns the record's index (its delivery opaque).
    pub fn sent(&mut self, at_ns: u64) -> usize {
        self.sent_ns.push(at_ns);
        self.delivered.push(None);
        self.sent_ns.len() - 1
    }

    /// Records record `index`'s delivery report at `at_ns`. A second report for one record (never
    /// expected from librdkafka) or an unknown index is ignored.
    pub fn delivered(&mut self, index: usize, at_ns: u64, result: Result<(), String>) {
        let Some(slot) = self.delivered.get_mut(index) else {
            return;
        };
        if slot.is_some() {
            return;
        }
        *slot = Some(Delivery { at_ns, ok: result.is_ok() });
        match result {
            Ok(()) => self.acked += 1,
            Err(error) => {
                self.failed += 1;
                self.first_error.get_or_insert(error);
            }
        }
    }

    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// The first successful delivery of a record sent at or after `kill_ns`: (index, at_ns).
    pub fn first_success_sent_after(&self, kill_ns: u64) -> Option<(usize, u64)> {
        // Sends are in time order: start at the first record sent at or after the kill.
        let start = self.sent_ns.partition_point(|&sent| sent < kill_ns);
        self.delivered[start..]
            .iter()
            .enumerate()
            .filter_map(|(offset, delivery)| match delivery {
                Some(d) if d.ok => Some((start + offset, d.at_ns)),
                _ => None,
            })
            .min_by_key(|&(_, at_ns)| at_ns)
    }

    /// Checks what was read back (`copies`, indexed like the sends) against the acknowledgements.
    pub fn read_back(&self, copies: &Copies, kill_ns: u64) -> ReadBack {
        let mut read_back = ReadBack {
            acked: self.acked,
            missing: 0,
            duplicated: 0,
            records_read: copies.per_index.iter().map(|&n| u64::from(n)).sum::<u64>() + copies.foreign,
            unacked_present: 0,
            foreign: copies.foreign,
            missing_sent_ms_from_kill: Vec::new(),
        };
        for (index, delivery) in self.delivered.iter().enumerate() {
            let found = copies.per_index.get(index).copied().unwrap_or(0);
            let acked = delivery.is_some_and(|d| d.ok);
            match (acked, found) {
                (true, 0) => {
                    read_back.missing += 1;
                    if read_back.missing_sent_ms_from_kill.len() < MISSING_LISTED_MAX {
                        let sent_ns = self.sent_ns[index] as f64;
                        read_back.missing_sent_ms_from_kill.push((sent_ns - kill_ns as f64) / 1e6);
                    }
                }
                (true, 1) => {}
                (true, _) => read_back.duplicated += 1,
                (false, 0) => {}
                (false, _) => read_back.unacked_present += 1,
            }
        }
        read_back
    }

    /// The figures of the phase, for a kill done at `kill_ns`.
    pub fn summary(&self, kill_ns: u64) -> FailoverCounts {
        let ms = |ns: u64| ns as f64 / 1e6;
        let mut counts = FailoverCounts {
            failover_ms: self.first_success_sent_after(kill_ns).map(|(_, at_ns)| ms(at_ns.saturating_sub(kill_ns))),
            first_ack_after_kill_ms: None,
            records_sent: self.sent_ns.len() as u64,
            records_acked: self.acked,
            records_failed: self.failed,
            records_unresolved: 0,
            in_flight_at_kill: 0,
            in_flight_succeeded: 0,
            in_flight_failed: 0,
            first_error: self.first_error.clone(),
        };
        for (&sent_ns, delivery) in self.sent_ns.iter().zip(&self.delivered) {
            match delivery {
                None => counts.records_unresolved += 1,
                Some(d) => {
                    if d.ok && d.at_ns >= kill_ns {
                        let after = ms(d.at_ns - kill_ns);
                        if counts.first_ack_after_kill_ms.is_none_or(|first| after < first) {
                            counts.first_ack_after_kill_ms = Some(after);
                        }
                    }
                }
            }
            // In flight at the kill: sent before it, and not yet answered when it happened.
            let answered_before_kill = delivery.is_some_and(|d| d.at_ns < kill_ns);
            if sent_ns < kill_ns && !answered_before_kill {
                counts.in_flight_at_kill += 1;
                match delivery {
                    Some(d) if d.ok => counts.in_flight_succeeded += 1,
                    Some(_) => counts.in_flight_failed += 1,
                    None => {}
                }
            }
        }
        counts
    }
}

/// Partition 0 read back after the failover, against what the producer was told: every
/// acknowledged record must be there exactly once (the producer is idempotent).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ReadBack {
    pub acked: u64,
    /// Acknowledged but not in the partition: a durability failure.
    pub missing: u64,
    /// Acknowledged and in the partition more than once.
    pub duplicated: u64,
    /// Records read, up to the high watermark.
    pub records_read: u64,
    /// Records read that were sent but not acknowledged (failed or unresolved): allowed.
    pub unacked_present: u64,
    /// Records read that carry no index this phase sent.
    pub foreign: u64,
    /// The first few missing records, by send time relative to the kill (negative: before it).
    pub missing_sent_ms_from_kill: Vec<f64>,
}

/// Missing records listed by send time in [`ReadBack`]; the count has them all.
const MISSING_LISTED_MAX: usize = 10;

/// The record counts and times of a failover, from [`FailoverLog::summary`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FailoverCounts {
    /// Kill → the first acknowledgement of a record sent after the kill: the figure compared.
    pub failover_ms: Option<f64>,
    /// Kill → the first acknowledgement of any record (one in flight at the kill, retried).
    pub first_ack_after_kill_ms: Option<f64>,
    pub records_sent: u64,
    pub records_acked: u64,
    pub records_failed: u64,
    /// Sent, but without a delivery report when the phase ended.
    pub records_unresolved: u64,
    /// Sent before the kill and not yet acknowledged (or failed) when it happened.
    pub in_flight_at_kill: u64,
    pub in_flight_succeeded: u64,
    pub in_flight_failed: u64,
    pub first_error: Option<String>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct FailoverResult {
    /// The broker killed: partition 0's leader just before the kill.
    pub killed_broker: i32,
    /// Partition 0's leader once a record sent after the kill was acknowledged.
    pub new_leader: Option<i32>,
    /// Time taken by the kill itself (`oxbow fault kill`'s round trip; ~0 for SIGKILL), before
    /// the kill instant the figures count from.
    pub kill_command_ms: f64,
    /// Kill → the first metadata response (polled every LEADER_WATCH_INTERVAL_MS by a separate
    /// client) naming another leader for partition 0: the cluster's side of the failover.
    pub leader_moved_ms: Option<f64>,
    pub send_interval_ms: u64,
    #[serde(flatten)]
    pub counts: FailoverCounts,
    /// Partition 0 read back once every record was resolved, or why it could not be read.
    pub read_back: Result<ReadBack, String>,
}

impl FailoverResult {
    /// A line for the top of the report when an acknowledged record was lost or written twice,
    /// or could not be checked.
    pub fn alarm(&self) -> Option<String> {
        match &self.read_back {
            Ok(r) if r.missing > 0 => Some(format!(
                "DURABILITY FAILURE: {} of {} acknowledged records missing from partition 0 after the failover",
                r.missing, r.acked
            )),
            Ok(r) if r.duplicated > 0 => Some(format!(
                "DUPLICATES: {} of {} acknowledged records written more than once (idempotent producer)",
                r.duplicated, r.acked
            )),
            Ok(_) => None,
            Err(error) => Some(format!("acknowledged records unchecked: partition 0 could not be read back: {error}")),
        }
    }

    /// "acked N, missing M, duplicated D", with a loud prefix when an acknowledged record is
    /// lost or doubled: the one line a reader of the figures must not overlook.
    pub fn read_back_line(&self) -> String {
        match &self.read_back {
            Ok(r) => {
                let alarm = match (r.missing, r.duplicated) {
                    (0, 0) => "",
                    (0, _) => "DUPLICATES: ",
                    _ => "DURABILITY FAILURE: ",
                };
                let missing_at = if r.missing_sent_ms_from_kill.is_empty() {
                    String::new()
                } else {
                    let at: Vec<String> = r.missing_sent_ms_from_kill.iter().map(|ms| format!("{ms:+.0}")).collect();
                    format!(" (sent at {} ms from the kill)", at.join(", "))
                };
                format!(
                    "{alarm}read back: acked {}, missing {}, duplicated {}{missing_at}",
                    r.acked, r.missing, r.duplicated
                )
            }
            Err(error) => format!("read back: FAILED, acknowledged records unchecked: {error}"),
        }
    }
}

struct FailoverContext {
    epoch: Instant,
    log: Mutex<FailoverLog>,
}

impl ClientContext for FailoverContext {}

impl ProducerContext for FailoverContext {
    type DeliveryOpaque = usize;
    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let at_ns = self.epoch.elapsed().as_nanos() as u64;
        let result = match result {
            Ok(_) => Ok(()),
            Err((error, _)) => Err(error.to_string()),
        };
        self.log.lock().expect("not poisoned").delivered(index, at_ns, result);
    }
}

/// How long the failover phase runs around the kill.
#[derive(Clone, Copy, Debug)]
pub struct FailoverSpec<'a> {
    pub topic: &'a str,
    /// Records acknowledged steadily this long before the kill.
    pub warmup: Duration,
    /// Give up waiting for an acknowledgement of a post-kill record after this long.
    pub recovery_timeout: Duration,
    /// Keep sending this long after the first post-kill acknowledgement.
    pub tail: Duration,
}

/// Partition 0's leader and its replica and in-sync replica counts, from a fresh metadata request.
fn partition_zero<C: ClientContext>(client: &Client<C>, topic: &str, timeout: Duration) -> Result<(i32, usize, usize)> {
    let metadata = client.fetch_metadata(Some(topic), timeout).context("metadata for the failover topic")?;
    let partition = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .and_then(|t| t.partitions().iter().find(|p| p.id() == 0))
        .with_context(|| format!("{topic} has no partition 0"))?;
    Ok((partition.leader(), partition.replicas().len(), partition.isr().len()))
}

/// How often the leader watcher asks for metadata after the kill.
const LEADER_WATCH_INTERVAL_MS: u64 = 20;
const LEADER_WATCH_TIMEOUT_MS: u64 = 1_000;

/// Polls partition 0's leader through `client` (not the producer, whose metadata cache it would
/// otherwise refresh) until it is a broker other than `killed`; returns when a response said so.
/// Ends with None when `done` is set or at `deadline`.
fn watch_leader<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    killed: i32,
    done: &AtomicBool,
    deadline: Instant,
) -> Option<Instant> {
    // Bounded by the deadline; each turn waits at most a request timeout plus the interval.
    while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
        let timeout = Duration::from_millis(LEADER_WATCH_TIMEOUT_MS);
        if let Ok((leader, _, _)) = partition_zero(client, topic, timeout) {
            if leader >= 0 && leader != killed {
                return Some(Instant::now());
            }
        }
        std::thread::sleep(Duration::from_millis(LEADER_WATCH_INTERVAL_MS));
    }
    None
}

/// Sends a record to partition 0 of `topic` every FAILOVER_SEND_INTERVAL_MS; after the warm-up,
/// finds the partition's leader, calls `kill(leader)` on another thread (the sends go on), and
/// measures from the instant it returns (the kill done) to the first acknowledgement of a record
/// sent after it. Then keeps sending for `tail`, waits for every outstanding delivery report, and
/// counts. Meanwhile the other thread watches the metadata for the new leader.
pub fn failover<K>(profile: &ConnectionProfile, spec: &FailoverSpec<'_>, kill: K, stop: &Stop) -> Result<FailoverResult>
where
    K: FnOnce(i32) -> Result<(Instant, f64)> + Send,
{
    let mut config: ClientConfig = profile.client_config();
    for (key, value) in FAILOVER_PRODUCER_SETTINGS {
        config.set(*key, *value);
    }
    let epoch = Instant::now();
    let producer: BaseProducer<FailoverContext> = config
        .create_with_context(FailoverContext { epoch, log: Mutex::new(FailoverLog::default()) })
        .context("creating the failover producer")?;
    let watcher: BaseProducer = profile.client_config().create().context("creating the metadata watcher")?;
    let metadata_timeout = Duration::from_millis(METADATA_TIMEOUT_MS);
    // Every replica in sync before the kill, so the new leader is a full copy (bounded wait).
    let sync_deadline = Instant::now() + metadata_timeout;
    loop {
        stop.check()?;
        let (leader, replicas, isr) = partition_zero(watcher.client(), spec.topic, metadata_timeout)?;
        if leader >= 0 && isr == replicas {
            break;
        }
        if Instant::now() >= sync_deadline {
            bail!(
                "{} partition 0: leader {leader}, {isr} of {replicas} replicas in sync after {} s",
                spec.topic,
                METADATA_TIMEOUT_MS / 1000
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let ns = |at: Instant| at.saturating_duration_since(epoch).as_nanos() as u64;
    // Each record carries its index, so the read-back can tell which acknowledged one is there.
    let mut value = [0x5au8; FAILOVER_RECORD_BYTES];
    let interval = Duration::from_millis(FAILOVER_SEND_INTERVAL_MS);
    let started = Instant::now();
    // Without a single acknowledgement by then, the leader is never killed and the phase fails.
    let kill_deadline = started + spec.warmup + spec.recovery_timeout;
    let watch_done = AtomicBool::new(false);

    std::thread::scope(|scope| -> Result<FailoverResult> {
        let mut kill = Some(kill);
        // The kill's outcome comes over the channel at once; the thread then watches the leader.
        let (killed_sender, killed_receiver) = mpsc::channel::<Result<(Instant, f64)>>();
        let mut killer: Option<std::thread::ScopedJoinHandle<'_, Option<Instant>>> = None;
        let mut killed_broker = -1;
        let mut killed: Option<(Instant, f64)> = None;
        let mut recovered_at: Option<Instant> = None;
        let mut next_send = started;
        let result = (|| -> Result<()> {
            // Bounded: by kill_deadline until the kill, then by the kill + recovery_timeout (+ tail
            // once recovered); every turn sleeps in poll until the next send at most.
            loop {
                stop.check()?;
                let now = Instant::now();
                if now >= next_send {
                    let index = producer.context().log.lock().expect("not poisoned").sent(ns(now));
                    value[..8].copy_from_slice(&(index as u64).to_le_bytes());
                    let record: BaseRecord<'_, [u8], [u8], usize> =
                        BaseRecord::with_opaque_to(spec.topic, index).payload(&value[..]).partition(0);
                    if let Err((error, _)) = producer.send(record) {
                        producer.context().log.lock().expect("not poisoned").delivered(
                            index,
                            ns(Instant::now()),
                            Err(format!("enqueueing: {error}")),
                        );
                    }
                    next_send += interval;
                }
                if let Some(kill) = kill.take_if(|_| {
                    now >= started + spec.warmup && producer.context().log.lock().expect("not poisoned").acked() > 0
                }) {
                    let (leader, _, _) = partition_zero(watcher.client(), spec.topic, metadata_timeout)?;
                    if leader < 0 {
                        bail!("{} partition 0 has no leader to kill", spec.topic);
                    }
                    killed_broker = leader;
                    let sender = killed_sender.clone();
                    let (watcher, watch_done) = (&watcher, &watch_done);
                    killer = Some(scope.spawn(move || {
                        let outcome = kill(leader);
                        let ok = outcome.is_ok();
                        let _ = sender.send(outcome);
                        if !ok {
                            return None;
                        }
                        let deadline = Instant::now() + spec.recovery_timeout;
                        watch_leader(watcher.client(), spec.topic, leader, watch_done, deadline)
                    }));
                }
                if killed.is_none() {
                    // Checked before the receive: a thread that finished has sent, if it ever will.
                    let finished = killer.as_ref().is_some_and(|h| h.is_finished());
                    match killed_receiver.try_recv() {
                        Ok(outcome) => {
                            let outcome = outcome.with_context(|| format!("killing broker {killed_broker}"))?;
                            killed = Some(outcome);
                        }
                        Err(_) if finished => bail!("the kill thread ended without an answer"),
                        Err(_) => {}
                    }
                }
                if let Some((kill_at, _)) = killed {
                    if recovered_at.is_none() {
                        let log = producer.context().log.lock().expect("not poisoned");
                        if log.first_success_sent_after(ns(kill_at)).is_some() {
                            recovered_at = Some(now);
                        }
                    }
                    match recovered_at {
                        Some(at) if now >= at + spec.tail => return Ok(()),
                        None if now >= kill_at + spec.recovery_timeout => return Ok(()),
                        _ => {}
                    }
                } else if killer.is_none() && now >= kill_deadline {
                    return Ok(());
                }
                producer.poll(next_send.saturating_duration_since(Instant::now()));
            }
        })();
        // The watcher gives up now if it has not seen the new leader; the scope joins it.
        watch_done.store(true, Ordering::Relaxed);
        let leader_moved_at = killer.take().and_then(|handle| handle.join().ok().flatten());
        result?;
        if killed.is_none() {
            if let Ok(outcome) = killed_receiver.try_recv() {
                killed = Some(outcome.with_context(|| format!("killing broker {killed_broker}"))?);
            }
        }
        let Some((kill_at, command_ms)) = killed else {
            bail!(
                "no record was acknowledged within {} s; the leader was not killed",
                (spec.warmup + spec.recovery_timeout).as_secs()
            );
        };
        // Outstanding records: retried until acknowledged (the message timeout is long).
        let _ = producer.flush(Duration::from_millis(FLUSH_TIMEOUT_MS));
        let new_leader = partition_zero(watcher.client(), spec.topic, metadata_timeout)
            .ok()
            .map(|(leader, _, _)| leader)
            .filter(|leader| *leader >= 0);
        let counts = producer.context().log.lock().expect("not poisoned").summary(ns(kill_at));
        let sent = counts.records_sent as usize;
        let read_back = read_back(profile, spec.topic, sent, stop)
            .map(|copies| {
                let log = producer.context().log.lock().expect("not poisoned");
                log.read_back(&copies, ns(kill_at))
            })
            .map_err(|error| format!("{error:#}"));
        stop.check()?;
        Ok(FailoverResult {
            killed_broker,
            new_leader,
            kill_command_ms: command_ms,
            leader_moved_ms: leader_moved_at.map(|at| at.saturating_duration_since(kill_at).as_secs_f64() * 1e3),
            send_interval_ms: FAILOVER_SEND_INTERVAL_MS,
            counts,
            read_back,
        })
    })
}

/// What partition 0 of the failover topic holds, read from the surviving brokers (its current
/// leader) from the beginning to the high watermark: per record index sent, how many copies;
/// plus records that carry no index of this phase.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Copies {
    pub per_index: Vec<u32>,
    pub foreign: u64,
}

fn read_back(profile: &ConnectionProfile, topic: &str, sent: usize, stop: &Stop) -> Result<Copies> {
    let timeout = Duration::from_millis(METADATA_TIMEOUT_MS);
    let reader = PartitionReader::open(profile, topic, Some(&[0]), StartOffset::Beginning, CONSUMER_SETTINGS, timeout)?;
    // The killed broker is still in the bootstrap list and the client's metadata for a while:
    // errors reaching it are expected, so any error is retried until the reader has gone
    // CONSUME_IDLE_TIMEOUT_MS without progress, and only then reported (the last one).
    let idle = Duration::from_millis(CONSUME_IDLE_TIMEOUT_MS);
    let mut last_progress = Instant::now();
    let mut last_error: Option<String> = None;
    // Bounded by the idle timeout: each turn waits at most a request timeout.
    let (low, high) = loop {
        stop.check()?;
        match reader.watermarks(0, timeout) {
            Ok(watermarks) => break watermarks,
            Err(error) if last_progress.elapsed() < idle => {
                last_error = Some(error.to_string());
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(error) => return Err(error).context("the high watermark of partition 0"),
        }
    };
    let mut copies = Copies { per_index: vec![0; sent], foreign: 0 };
    let mut next_offset = low;
    last_progress = Instant::now();
    // Bounded: every turn reads a record or waits ≤100 ms, and idling ends the loop.
    while next_offset < high {
        stop.check()?;
        let message = match reader.poll(Duration::from_millis(100)) {
            Ok(Some(message)) => message,
            Ok(None) | Err(_) if last_progress.elapsed() >= idle => bail!(
                "read partition 0 up to offset {next_offset} of {high}, then nothing for {} s{}",
                CONSUME_IDLE_TIMEOUT_MS / 1000,
                last_error.map_or(String::new(), |e| format!(" (last error: {e})"))
            ),
            Ok(None) => continue,
            Err(error) => {
                last_error = Some(error.to_string());
                continue;
            }
        };
        last_progress = Instant::now();
        next_offset = message.offset() + 1;
        let index = message
            .payload()
            .and_then(|p| p.get(..8))
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize);
        match index.and_then(|i| copies.per_index.get_mut(i)) {
            Some(count) => *count += 1,
            None => copies.foreign += 1,
        }
    }
    Ok(copies)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn failover_counts_from_the_kill() {
        let mut log = FailoverLog::default();
        // Sent every 5 ms from 0 to 40 ms; the kill at 12 ms.
        let sends: Vec<usize> = (0..9).map(|i| log.sent(i * 5 * MS)).collect();
        let kill_ns = 12 * MS;
        log.delivered(sends[0], 2 * MS, Ok(())); // acked before the kill
        log.delivered(sends[1], 7 * MS, Ok(())); // acked before the kill
        log.delivered(sends[2], 600 * MS, Ok(())); // in flight at the kill (sent 10 ms), retried
        log.delivered(sends[3], 610 * MS, Ok(())); // sent 15 ms, after the kill
        log.delivered(sends[4], 605 * MS, Ok(())); // sent 20 ms, first post-kill record acked
        log.delivered(sends[5], 620 * MS, Err("Local: Message timed out".into()));
        log.delivered(sends[6], 630 * MS, Ok(()));
        log.delivered(sends[6], 640 * MS, Err("duplicate report".into())); // ignored
        log.delivered(99, 640 * MS, Ok(())); // unknown index, ignored
                                             // sends[7] and sends[8]: no report.
        assert_eq!(log.first_success_sent_after(kill_ns), Some((4, 605 * MS)));
        let counts = log.summary(kill_ns);
        assert_eq!(
            counts,
            FailoverCounts {
                failover_ms: Some(593.0),
                first_ack_after_kill_ms: Some(588.0),
                records_sent: 9,
                records_acked: 6,
                records_failed: 1,
                records_unresolved: 2,
                in_flight_at_kill: 1,
                in_flight_succeeded: 1,
                in_flight_failed: 0,
                first_error: Some("Local: Message timed out".into()),
            }
        );
    }

    #[test]
    fn failover_in_flight_records_that_fail_or_stay_open() {
        let mut log = FailoverLog::default();
        let a = log.sent(0);
        let b = log.sent(MS);
        let _c = log.sent(2 * MS); // never answered
        log.delivered(a, 50 * MS, Err("broker down".into()));
        log.delivered(b, 3 * MS, Ok(()));
        let counts = log.summary(10 * MS);
        assert_eq!(counts.in_flight_at_kill, 2); // a (failed after the kill) and the open one
        assert_eq!(counts.in_flight_succeeded, 0);
        assert_eq!(counts.in_flight_failed, 1);
        assert_eq!(counts.records_unresolved, 1);
        // Nothing sent after the kill: no failover figure.
        assert_eq!(counts.failover_ms, None);
        assert_eq!(counts.first_ack_after_kill_ms, None);
    }

    #[test]
    fn failover_read_back_finds_missing_and_duplicated_acknowledged_records() {
        let mut log = FailoverLog::default();
        let sends: Vec<usize> = (0..6).map(|i| log.sent(i * 10 * MS)).collect();
        for &index in &sends[..4] {
            log.delivered(index, 100 * MS, Ok(()));
        }
        log.delivered(sends[4], 100 * MS, Err("Local: Message timed out".into()));
        // sends[5]: no report.
        let copies = Copies {
            // 0 once, 1 missing, 2 twice, 3 once; 4 (failed) and 5 (unresolved) present anyway.
            per_index: vec![1, 0, 2, 1, 1, 1],
            foreign: 1,
        };
        let read_back = log.read_back(&copies, 15 * MS);
        assert_eq!(
            read_back,
            ReadBack {
                acked: 4,
                missing: 1,
                duplicated: 1,
                records_read: 7,
                unacked_present: 2,
                foreign: 1,
                missing_sent_ms_from_kill: vec![-5.0],
            }
        );
        let everything = Copies { per_index: vec![1; 6], foreign: 0 };
        let clean = log.read_back(&everything, 15 * MS);
        assert_eq!((clean.missing, clean.duplicated), (0, 0));
    }

    /// Sends `count` timed records and receives each with latency `latency_us(index)`.
    fn timeline_with(count: u64, latency_us: impl Fn(u64) -> u64) -> Timeline {
        let mut timeline = Timeline::new(100);
        for _ in 0..count {
            let index = timeline.sent(false);
            timeline.received(index, latency_us(index));
        }
        timeline
    }

    #[test]
    fn timeline_is_warm_once_three_closed_seconds_agree() {
        // Second 0 stalls (~0.5 s), seconds 1 to 3 are quick and alike.
        let stalled = |index: u64| if index < 100 { 500_000 } else { 3_000 };
        // Too few seconds closed, then second 0 unlike 1 and 2, then 1 to 3 alike.
        assert!(!timeline_with(200, stalled).warm());
        assert!(!timeline_with(300, stalled).warm());
        assert!(timeline_with(400, stalled).warm());
        // Within 5 ms of each other counts as alike at low latencies.
        assert!(timeline_with(300, |i| if i < 200 { 1_000 } else { 5_900 }).warm());
        // 25% of the largest p99 at high ones.
        assert!(timeline_with(300, |i| if i < 200 { 40_000 } else { 50_000 }).warm());
        assert!(!timeline_with(300, |i| if i < 200 { 20_000 } else { 50_000 }).warm());
        // A steady backlog of a second or more is not warm, however alike its seconds.
        assert!(!timeline_with(500, |_| 1_100_000).warm());
        assert!(timeline_with(500, |_| 900_000).warm());
    }

    #[test]
    fn timeline_waits_for_every_record_of_a_second() {
        let mut timeline = Timeline::new(100);
        for _ in 0..300 {
            let index = timeline.sent(false);
            // Record 250 (second 2) never comes back; 150 of second 1 neither.
            if index != 250 && index != 150 {
                timeline.received(index, 2_000);
            }
        }
        // Seconds 1 and 2 are incomplete: no three complete in a row.
        assert!(!timeline.warm());
        timeline.received(150, 2_000);
        assert!(!timeline.warm());
        timeline.received(250, 2_000);
        assert!(timeline.warm());
        timeline.received(99_999, 2_000); // never sent: ignored
        let seconds = timeline.per_second();
        assert_eq!(seconds.len(), 3);
        assert_eq!((seconds[2].sent, seconds[2].received), (100, 100));
        assert!(!seconds[0].measured);
        assert!((seconds[0].p99_ms - 2.0).abs() < 0.05);
    }

    #[test]
    fn failover_record_sent_at_the_kill_instant_counts_as_after() {
        let mut log = FailoverLog::default();
        let before = log.sent(9 * MS);
        let at = log.sent(10 * MS);
        log.delivered(before, 12 * MS, Ok(()));
        log.delivered(at, 15 * MS, Ok(()));
        assert_eq!(log.first_success_sent_after(10 * MS), Some((1, 15 * MS)));
        assert_eq!(log.summary(10 * MS).failover_ms, Some(5.0));
        assert_eq!(log.summary(10 * MS).first_ack_after_kill_ms, Some(2.0));
    }
}
