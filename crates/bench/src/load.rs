//! The librdkafka load generator: the same code and settings drive every broker.
//!
//! Producers use `BaseProducer` with delivery callbacks (no per-record future or allocation), so
//! the generator costs little per record; [`ceiling`] measures what it manages against
//! librdkafka's in-process mock cluster, a lower bound on its own limit.

use crate::Stop;
use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use oxbow_client::rdkafka::config::ClientConfig;
use oxbow_client::rdkafka::error::KafkaError;
use oxbow_client::rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext,
};
use oxbow_client::rdkafka::types::RDKafkaErrorCode;
use oxbow_client::rdkafka::{ClientContext, Message};
use oxbow_client::{ConnectionProfile, PartitionReader, StartOffset};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
const FLUSH_TIMEOUT_MS: u64 = 60_000;
/// A consume phase gives up this long after the last record arrived.
const CONSUME_IDLE_TIMEOUT_MS: u64 = 10_000;
const METADATA_TIMEOUT_MS: u64 = 10_000;
/// The latency consumer must be fetching within this long of its start.
const CONSUMER_READY_TIMEOUT_MS: u64 = 60_000;
/// Latency histogram range: 1 µs to 60 s, 3 significant digits.
const LATENCY_MAX_US: u64 = 60_000_000;

struct Counting {
    acked: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Counting {}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _opaque: ()) {
        match result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
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

fn producer(
    profile: &ConnectionProfile,
    settings: &[(&str, &str)],
    acks: &str,
) -> Result<BaseProducer<Counting>> {
    let mut config: ClientConfig = profile.client_config();
    for (key, value) in settings {
        config.set(*key, *value);
    }
    config.set("acks", acks);
    let context = Counting {
        acked: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        first_error: Mutex::new(None),
    };
    config
        .create_with_context(context)
        .context("creating the load producer")
}

/// Partitions of `topic` as the producer sees them (also warms its metadata cache and connection).
/// A just-created topic can take a moment to show up with leaders (Kafka propagates it
/// asynchronously), so this asks again until every partition has a leader, within a bound.
fn partition_count(producer: &BaseProducer<Counting>, topic: &str) -> Result<i32> {
    let deadline = Instant::now() + Duration::from_millis(METADATA_TIMEOUT_MS);
    loop {
        let metadata = producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_millis(METADATA_TIMEOUT_MS))
            .context("metadata for the bench topic")?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map(|t| t.partitions());
        if let Some(partitions) = partitions {
            if !partitions.is_empty()
                && partitions
                    .iter()
                    .all(|p| p.leader() >= 0 && p.error().is_none())
            {
                return Ok(partitions.len() as i32);
            }
        }
        if Instant::now() >= deadline {
            bail!(
                "topic {topic} has no partitions with leaders after {} s",
                METADATA_TIMEOUT_MS / 1000
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Enqueues one record, waiting (bounded by `deadline`) while librdkafka's queue is full.
fn send_blocking(
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
pub fn produce(
    profile: &ConnectionProfile,
    spec: &ProduceSpec<'_>,
    stop: &Stop,
) -> Result<ThroughputResult> {
    let ProduceSpec {
        settings,
        topic,
        value_size,
        acks,
        duration,
        records_max,
    } = *spec;
    let producer = producer(profile, settings, acks)?;
    let partitions = partition_count(&producer, topic)?;
    // Distinct, incompressible-looking bytes; compression is off anyway.
    let value: Vec<u8> = (0..value_size)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
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
        let record = BaseRecord::to(topic)
            .payload(&value[..])
            .partition(partition);
        send_blocking(&producer, record, hard_deadline)?;
        sent += 1;
    }
    producer
        .flush(Duration::from_millis(FLUSH_TIMEOUT_MS))
        .context("waiting for acknowledgements")?;
    let elapsed_s = start.elapsed().as_secs_f64();
    let cpu_s = crate::procfs::cpu_s("self").unwrap_or(0.0) - cpu_start;
    let context = producer.context();
    if let Some(error) = context.first_error.lock().expect("not poisoned").clone() {
        bail!(
            "{} of {sent} records failed, first: {error}",
            context.failed.load(Ordering::Relaxed)
        );
    }
    let records = context.acked.load(Ordering::Relaxed);
    let bytes = records * value_size as u64;
    Ok(ThroughputResult::new(
        records,
        bytes,
        elapsed_s,
        cpu_s / elapsed_s,
    ))
}

/// A reader of every partition of `topic` from its beginning, by assignment (no group).
fn reader_from_beginning(
    profile: &ConnectionProfile,
    topic: &str,
    timeout: Duration,
) -> Result<PartitionReader> {
    Ok(PartitionReader::open(
        profile,
        topic,
        None,
        StartOffset::Beginning,
        CONSUMER_SETTINGS,
        timeout,
    )?)
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
    let elapsed_s = last_record
        .duration_since(first_record.unwrap_or(assigned))
        .as_secs_f64()
        .max(1e-6);
    let cpu_s = crate::procfs::cpu_s("self").unwrap_or(0.0) - cpu_start;
    let cpu_wall_s = assigned.elapsed().as_secs_f64();
    Ok(ThroughputResult::new(
        records,
        bytes,
        elapsed_s,
        cpu_s / cpu_wall_s,
    ))
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
}

/// Payload layout of a latency record: 8 bytes of scheduled send time (ns since the phase's
/// epoch), 1 byte "measured" flag (0 during warm-up), then filler up to `value_size`.
const STAMP_BYTES: usize = 9;

/// Produces at `rate_per_s` for `warmup + duration` while a consumer in another thread reads the
/// topic; latency = receive time − scheduled send time (scheduled, not actual, so a stalled
/// sender shows up as latency instead of hiding it: no coordinated omission).
pub fn latency(
    profile: &ConnectionProfile,
    topic: &str,
    value_size: usize,
    rate_per_s: u64,
    warmup: Duration,
    duration: Duration,
    stop: &Stop,
) -> Result<LatencyResult> {
    assert!(value_size >= STAMP_BYTES && rate_per_s > 0);
    let reader = reader_from_beginning(profile, topic, Duration::from_millis(METADATA_TIMEOUT_MS))?;
    let producer = producer(profile, LATENCY_PRODUCER_SETTINGS, "all")?;
    let partitions = partition_count(&producer, topic)? as u64;

    let epoch = Instant::now();
    let consumer_ready = Arc::new(AtomicBool::new(false));
    let producing_done = Arc::new(AtomicBool::new(false));
    let measured_sent = Arc::new(AtomicU64::new(0));
    let consumer_stop = stop.clone();
    let consumer = {
        let producing_done = producing_done.clone();
        let measured_sent = measured_sent.clone();
        let consumer_ready = consumer_ready.clone();
        std::thread::Builder::new()
            .name("bench-latency-consumer".into())
            .spawn(move || -> Result<(Histogram<u64>, u64)> {
                let mut histogram =
                    Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_US, 3).expect("valid bounds");
                let mut received: u64 = 0;
                let mut idle_since = Instant::now();
                // Bounded: ends when every measured record arrived after the producer finished, or
                // after CONSUME_IDLE_TIMEOUT_MS without a record once it finished.
                loop {
                    consumer_stop.check()?;
                    let done = producing_done.load(Ordering::Acquire);
                    if done && received >= measured_sent.load(Ordering::Acquire) {
                        break;
                    }
                    if done
                        && idle_since.elapsed() >= Duration::from_millis(CONSUME_IDLE_TIMEOUT_MS)
                    {
                        break;
                    }
                    let Some(message) = reader.poll(Duration::from_millis(50))? else {
                        continue;
                    };
                    let now_ns = epoch.elapsed().as_nanos() as u64;
                    idle_since = Instant::now();
                    consumer_ready.store(true, Ordering::Release);
                    let Some(payload) = message.payload() else {
                        continue;
                    };
                    if payload.len() < STAMP_BYTES || payload[8] == 0 {
                        continue;
                    }
                    let sent_ns = u64::from_le_bytes(payload[..8].try_into().expect("8 bytes"));
                    let latency_us =
                        (now_ns.saturating_sub(sent_ns) / 1_000).clamp(1, LATENCY_MAX_US);
                    histogram.record(latency_us).expect("clamped into range");
                    received += 1;
                }
                Ok((histogram, received))
            })?
    };

    let result = (|| -> Result<u64> {
        // Probe records (flag 0) until the consumer sees one: the clock must not include the
        // consumer's own start (leader and coordinator lookups, first fetch).
        let ready_deadline = Instant::now() + Duration::from_millis(CONSUMER_READY_TIMEOUT_MS);
        let mut probe_value = vec![0u8; value_size];
        while !consumer_ready.load(Ordering::Acquire) {
            stop.check()?;
            if Instant::now() >= ready_deadline {
                bail!(
                    "the latency consumer received nothing within {} s",
                    CONSUMER_READY_TIMEOUT_MS / 1000
                );
            }
            probe_value[..8].copy_from_slice(&(epoch.elapsed().as_nanos() as u64).to_le_bytes());
            send_blocking(
                &producer,
                BaseRecord::to(topic).payload(&probe_value[..]).partition(0),
                ready_deadline,
            )?;
            producer.poll(Duration::from_millis(100));
        }
        let schedule_start_ns = epoch.elapsed().as_nanos() as u64;
        let interval_ns = 1_000_000_000 / rate_per_s;
        let total = (warmup + duration).as_nanos() as u64 / interval_ns;
        let warmup_records = warmup.as_nanos() as u64 / interval_ns;
        let hard_deadline =
            Instant::now() + warmup + duration + Duration::from_millis(FLUSH_TIMEOUT_MS);
        let mut value = vec![0u8; value_size];
        let mut measured: u64 = 0;
        for i in 0..total {
            if i % 64 == 0 {
                stop.check()?;
            }
            let scheduled_ns = schedule_start_ns + i * interval_ns;
            // Sleep, never spin: a spinning sender would take a core from the broker on a small
            // machine. A late wake-up (~0.1 ms) shows as latency, as the stamp is the schedule.
            let now_ns = epoch.elapsed().as_nanos() as u64;
            if now_ns < scheduled_ns {
                std::thread::sleep(Duration::from_nanos(scheduled_ns - now_ns));
            }
            value[..8].copy_from_slice(&scheduled_ns.to_le_bytes());
            let is_measured = i >= warmup_records;
            value[8] = is_measured as u8;
            let record = BaseRecord::to(topic)
                .payload(&value[..])
                .partition((i % partitions) as i32);
            send_blocking(&producer, record, hard_deadline)?;
            if is_measured {
                measured += 1;
            }
            producer.poll(Duration::ZERO);
        }
        producer
            .flush(Duration::from_millis(FLUSH_TIMEOUT_MS))
            .context("waiting for acknowledgements")?;
        if let Some(error) = producer
            .context()
            .first_error
            .lock()
            .expect("not poisoned")
            .clone()
        {
            bail!("latency records failed: {error}");
        }
        Ok(measured)
    })();
    // Release the consumer in every case, so the join below cannot hang.
    measured_sent.store(*result.as_ref().unwrap_or(&0), Ordering::Release);
    producing_done.store(true, Ordering::Release);
    let joined = consumer
        .join()
        .map_err(|_| anyhow::anyhow!("latency consumer panicked"))?;
    let measured = result?;
    let (histogram, received) = joined?;
    if received == 0 {
        bail!("no latency record came back");
    }
    let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1e3;
    Ok(LatencyResult {
        rate_per_s,
        measured_records: measured,
        received_records: received,
        p50_ms: ms(0.50),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        max_ms: histogram.max() as f64 / 1e3,
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
    let mock = oxbow_client::rdkafka::mocking::MockCluster::new(1)
        .context("starting librdkafka's mock cluster")?;
    mock.create_topic(topic, 6, 1)
        .context("creating the mock topic")?;
    let profile = ConnectionProfile::plaintext(mock.bootstrap_servers(), "oxbow-bench-ceiling");
    let spec = ProduceSpec {
        settings: PRODUCER_SETTINGS,
        topic,
        value_size,
        acks: "1",
        duration,
        records_max,
    };
    let produced = produce(&profile, &spec, stop)?;
    let consumed = consume(&profile, topic, stop)?;
    Ok(CeilingResult {
        produce_records_per_s: produced.records_per_s,
        consume_records_per_s: consumed.records_per_s,
    })
}
