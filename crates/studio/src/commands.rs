//! The command layer: every studio action as an async method of [`Studio`], taking and returning
//! plain data (`crate::model`). The HTTP API and the Tauri shell are thin adapters over it.
//!
//! Everything about topics and records goes over the Kafka protocol through `oxbow-client`, so it
//! works the same against an external cluster; the inside view only adds fields when present.

use crate::decode::{Decoder, Encoding, PAYLOAD_PREVIEW_BYTES_MAX};
use crate::error::{Error, Result};
use crate::inside::{InsideView, PartitionSnapshot};
use crate::metrics::Metrics;
use crate::model::*;
use crate::partitioner;
use crate::profiles::{ProfileStore, StoredProfile};
use base64::Engine as _;
use oxbow_client::{
    Admin, AssignedReader, ClusterMetadata, ConfigChange, ConfigDescription, OffsetLookup, OffsetSpec, PartitionStart,
    Producer, ReadEvent, Record, TimestampKind, TopicInfo, TopicSpec,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Every admin request and metadata fetch is bounded by this.
pub const ADMIN_TIMEOUT_MS: u64 = 10_000;
/// How long stopping waits for the group sampler's task to end, in ms: it ends at its next poll,
/// so this only covers a runtime too busy to poll it soon; `oxbow serve` has 5 s to stop in all.
pub const SAMPLER_STOP_WAIT_MS: u64 = 500;
/// ListOffsets for the topic list and partition strips.
pub const OFFSETS_TIMEOUT_MS: u64 = 10_000;
/// Topics per DescribeConfigs request when listing topics (one request per chunk).
pub const DESCRIBE_CONFIGS_BATCH_TOPICS: usize = 500;
/// How long a topic list waits for cleanup policies not yet cached, in ms. DescribeConfigs for
/// thousands of topics can take seconds; the list answers within this budget (policies still
/// unknown are null) while the lookup goes on in the background and fills the cache.
pub const TOPIC_CONFIGS_WAIT_MS: u64 = 1_500;
/// How long a topic list stays cached: the list screen and strips poll it, and 10,000 topics cost a
/// metadata fetch, two ListOffsets rounds and ten DescribeConfigs requests.
pub const TOPICS_CACHE_MS: u64 = 1_000;
/// Largest `limit` of a browse request, in records.
pub const BROWSE_LIMIT_MAX: usize = 5_000;
/// Records a browse request may read before it stops (filters can reject most of them).
pub const BROWSE_SCAN_RECORDS_MAX: u64 = 200_000;
/// Wall time a browse request may spend reading, in ms.
pub const BROWSE_TIME_MS_MAX: u64 = 5_000;
/// How long one poll waits for the next record, in ms (also the stop-flag check interval).
pub const POLL_INTERVAL_MS: u64 = 100;
/// librdkafka's prefetch queue per browse or tail consumer, in KiB (its default is 64 MiB, far too
/// much for many short-lived readers).
pub const READER_QUEUE_KIB: &str = "8192";
/// Batch bytes one batch-header lookup Fetch may return per partition of a browse page (the
/// lookup reads batch headers for the page's compression column; see `annotate_batches`).
pub const BATCH_LOOKUP_FETCH_BYTES: i32 = 1024 * 1024;
/// Partitions whose batch headers are fetched at once.
pub const BATCH_LOOKUP_IN_FLIGHT_MAX: usize = 4;
/// Wall time all batch-header lookups of one browse may take, in ms; later answers are dropped
/// (their rows show unknown compression).
pub const BATCH_LOOKUP_TIMEOUT_MS: u64 = 2_000;
/// Largest `count` of a produce request.
pub const PRODUCE_COUNT_MAX: u32 = 100_000;
/// Key + value bytes a produce request may send in total (count × record size).
pub const PRODUCE_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Sends awaited concurrently during a bulk produce (librdkafka batches them underneath).
pub const PRODUCE_IN_FLIGHT_MAX: usize = 1_000;
/// Delivery results returned by a produce request (the rest are only counted).
pub const PRODUCE_RESULTS_MAX: usize = 1_000;
/// Partitions a create or add-partitions request may ask for.
pub const TOPIC_PARTITIONS_MAX: i32 = 1_000;
/// Largest replication factor accepted before asking the cluster.
pub const REPLICATION_FACTOR_MAX: i32 = 32;
/// Headers a produced record may carry.
pub const PRODUCE_HEADERS_MAX: usize = 64;
/// Length of a filter string, in bytes.
pub const FILTER_BYTES_MAX: usize = 1_024;

/// Configs shown in a topic's `configs_summary`.
const SUMMARY_CONFIGS: [&str; 7] = [
    "cleanup.policy",
    "retention.ms",
    "retention.bytes",
    "segment.bytes",
    "min.insync.replicas",
    "compression.type",
    "message.timestamp.type",
];

/// How the studio was started.
pub struct StudioOptions {
    /// The profile the studio connects with first (built in: not stored, not deletable).
    pub initial_profile: StoredProfile,
    /// Whether the initial profile is the embedded cluster.
    pub embedded: bool,
    /// Where user profiles are stored; `None` keeps them in memory only.
    pub profiles_path: Option<std::path::PathBuf>,
    pub inside_view: Option<Arc<dyn InsideView>>,
}

/// Clients for the active profile; rebuilt when the profile changes.
pub(crate) struct Connection {
    profile: StoredProfile,
    pub(crate) client_profile: oxbow_client::ConnectionProfile,
    pub(crate) admin: Client<Admin>,
    producers: Client<Producers>,
    pub(crate) offsets: Client<OffsetLookup>,
    /// Only for the embedded cluster's built-in profile.
    pub(crate) inside: Option<Arc<dyn InsideView>>,
    pub(crate) generation: u64,
}

impl Connection {
    fn open(profile: StoredProfile, inside: Option<Arc<dyn InsideView>>, generation: u64) -> Result<Connection> {
        let client_profile = profile.connection_profile();
        let ctx = "connecting";
        let admin = Admin::new(&client_profile, Duration::from_millis(ADMIN_TIMEOUT_MS))
            .map_err(|e| Error::from_client(e, ctx))?;
        let producers = Producers::new(&client_profile).map_err(|e| Error::from_client(e, ctx))?;
        let offsets = OffsetLookup::new(&client_profile, &[]).map_err(|e| Error::from_client(e, ctx))?;
        Ok(Connection {
            profile,
            client_profile,
            admin: Client(Some(admin)),
            producers: Client(Some(producers)),
            offsets: Client(Some(offsets)),
            inside,
            generation,
        })
    }

    /// Ends the clients' blocking calls in flight (within `oxbow_client::ADMIN_POLL_SLICE_MS`)
    /// and refuses later ones: for a studio that is stopping, before its cluster goes away.
    fn close(&self) {
        self.admin.close();
        self.offsets.close();
    }

    fn mode(&self) -> Mode {
        if self.inside.is_some() {
            Mode::Embedded
        } else {
            Mode::External
        }
    }
}

/// One librdkafka client of a [`Connection`], read as the client itself. Only the connection's
/// `Drop` takes it out, to destroy it on a thread of its own.
pub(crate) struct Client<T>(Option<T>);

impl<T> std::ops::Deref for Client<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0.as_ref().expect("a connection's clients are taken out only when it is dropped")
    }
}

impl Drop for Connection {
    /// Destroys the librdkafka clients on a detached thread, because their destructors block: the
    /// producers purge and flush (up to 500 ms), every handle joins its polling thread (one
    /// 100 ms poll each), and `rd_kafka_destroy` joins librdkafka's own threads, which against
    /// brokers that have stopped may be in a connect attempt; one connection took 0.2–0.3 s right
    /// after `oxbow serve` stopped its brokers. The last reference to a connection is dropped
    /// wherever its last user was: a runtime worker (a profile switch, or the studio's shutdown,
    /// whose time bound cannot interrupt a synchronous destructor) or a blocking-pool thread that
    /// the runtime waits for at exit. Neither may wait on librdkafka, and nothing needs the
    /// destruction finished: the clients hold no data of ours.
    fn drop(&mut self) {
        let clients = (self.admin.0.take(), self.producers.0.take(), self.offsets.0.take());
        let generation = self.generation;
        let spawned = std::thread::Builder::new().name("oxbow-client-drop".into()).spawn(move || {
            let started = Instant::now();
            drop(clients);
            tracing::debug!(
                generation,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "a connection's clients were destroyed"
            );
        });
        if let Err(error) = spawned {
            // The clients went down with the closure, on this thread: slower, but still freed.
            tracing::warn!(%error, "no thread to destroy a connection's clients on");
        }
    }
}

/// The studio's producers, one per `acks` setting: `all` (the default) made on connect, the others
/// on first use, since most sessions never ask for them.
struct Producers {
    profile: oxbow_client::ConnectionProfile,
    made: Mutex<HashMap<ProduceAcks, Arc<Producer>>>,
}

impl Producers {
    fn new(profile: &oxbow_client::ConnectionProfile) -> oxbow_client::Result<Producers> {
        let producers = Producers { profile: profile.clone(), made: Mutex::new(HashMap::new()) };
        producers.get(ProduceAcks::All)?;
        Ok(producers)
    }

    fn get(&self, acks: ProduceAcks) -> oxbow_client::Result<Arc<Producer>> {
        let mut made = self.made.lock().expect("not poisoned");
        if let Some(producer) = made.get(&acks) {
            return Ok(producer.clone());
        }
        let producer = Arc::new(Producer::new(
            &self.profile,
            &[
                ("acks", acks.as_kafka()),
                ("linger.ms", "5"),
                ("message.timeout.ms", "15000"),
                ("queue.buffering.max.messages", "200000"),
            ],
            Duration::from_secs(5),
        )?);
        made.insert(acks, producer.clone());
        Ok(producer)
    }
}

struct Inner {
    connection: RwLock<Arc<Connection>>,
    profiles: Mutex<ProfileStore>,
    embedded: bool,
    inside_view: Option<Arc<dyn InsideView>>,
    metrics: Arc<Metrics>,
    groups: crate::groups::GroupTracker,
    topics_cache: Mutex<Option<TopicsCache>>,
    policies: Mutex<PolicyCache>,
    /// Woken whenever a batch of cleanup policies lands in `policies`.
    policies_filled: tokio::sync::Notify,
    /// Set once by [`Studio::stop_background`]; the group sampler ends when it sees it.
    stopping: tokio::sync::watch::Sender<bool>,
    /// The group sampler's task, taken by [`Studio::stop_background`] to wait for its end.
    group_sampler: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Cleanup policies by topic for one connection generation (`None`: the topic had no answer).
#[derive(Default)]
struct PolicyCache {
    generation: u64,
    known: HashMap<String, Option<String>>,
    in_flight: std::collections::HashSet<String>,
}

async fn fill_policies(inner: Arc<Inner>, conn: Arc<Connection>, names: Vec<String>) {
    for chunk in names.chunks(DESCRIBE_CONFIGS_BATCH_TOPICS) {
        let worker = conn.clone();
        let asked = chunk.to_vec();
        let answered = tokio::task::spawn_blocking(move || {
            worker.admin.describe_topic_configs_many(&asked, DESCRIBE_CONFIGS_BATCH_TOPICS)
        })
        .await
        .unwrap_or_else(|e| Err(oxbow_client::Error::NotFound(format!("DescribeConfigs task failed: {e}"))));
        let mut cache = inner.policies.lock().unwrap_or_else(|e| e.into_inner());
        for name in chunk {
            cache.in_flight.remove(name);
        }
        if cache.generation != conn.generation {
            return;
        }
        match answered {
            Ok(results) => {
                for (name, entries) in results {
                    let policy = entries
                        .ok()
                        .and_then(|entries| entries.into_iter().find(|e| e.name == "cleanup.policy")?.value);
                    cache.known.insert(name, policy);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "DescribeConfigs for the topic list failed; cleanup policies unknown")
            }
        }
        drop(cache);
        inner.policies_filled.notify_waiters();
    }
}

struct TopicsCache {
    at: Instant,
    generation: u64,
    topics: Arc<Vec<TopicSummary>>,
}

/// The studio's commands. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Studio {
    inner: Arc<Inner>,
}

/// Runs blocking client work off the async executor.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::Internal(format!("blocking task failed: {e}")))?
}

/// Kafka's topic name rules: 1–249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(field: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::bad_input(field, "a topic name must not be empty"));
    }
    if name.len() > 249 {
        return Err(Error::bad_input(field, format!("a topic name is at most 249 characters, got {}", name.len())));
    }
    if name == "." || name == ".." {
        return Err(Error::bad_input(field, "a topic name cannot be '.' or '..'"));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(Error::bad_input(
            field,
            format!("a topic name may contain only a-z, A-Z, 0-9, '.', '_' and '-', found {bad:?}"),
        ));
    }
    Ok(())
}

fn validate_config_name(field: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_input(field, format!("{name:?} is not a config name (letters, digits, '.', '_', '-')")))
    }
}

fn is_internal(name: &str) -> bool {
    name.starts_with("__")
}

fn under_replicated(partition: &oxbow_client::PartitionInfo) -> bool {
    partition.isr.len() < partition.replicas.len()
}

pub(crate) fn find_topic<'a>(metadata: &'a ClusterMetadata, name: &str) -> Result<&'a TopicInfo> {
    metadata
        .topics
        .iter()
        .find(|topic| topic.name == name && topic.error.as_deref().is_none_or(|e| !e.contains("UnknownTopic")))
        .ok_or_else(|| Error::NotFound(format!("topic {name:?} does not exist")))
}

fn documentation(name: &str) -> Option<&'static str> {
    Some(match name {
        "cleanup.policy" => "delete: remove old segments by time/size; compact: keep the latest record per key",
        "retention.ms" => "How long records are kept before their segment may be deleted (-1: forever)",
        "retention.bytes" => "Largest size a partition may grow to before old segments are deleted (-1: no limit)",
        "segment.bytes" => "Size at which the active segment is rolled",
        "segment.ms" => "Age at which the active segment is rolled even if not full",
        "min.insync.replicas" => "Replicas that must acknowledge an acks=all write",
        "compression.type" => "Codec the broker stores batches with (producer: keep the producer's)",
        "max.message.bytes" => "Largest record batch the topic accepts",
        "message.timestamp.type" => "CreateTime (the producer's) or LogAppendTime (the broker's)",
        "delete.retention.ms" => "How long tombstones are kept on compacted topics",
        "min.compaction.lag.ms" => "Minimum age of a record before compaction may remove it",
        "max.compaction.lag.ms" => "Maximum time a record may stay uncompacted",
        "min.cleanable.dirty.ratio" => "Share of the log that must be dirty before the cleaner compacts it",
        "unclean.leader.election.enable" => "Allow an out-of-sync replica to become leader (may lose data)",
        "file.delete.delay.ms" => "Wait before a deleted segment's files are removed",
        "flush.messages" => "Records between forced fsyncs",
        "flush.ms" => "Time between forced fsyncs",
        "index.interval.bytes" => "Bytes between offset index entries",
        "segment.index.bytes" => "Size of a segment's offset index",
        "preallocate" => "Preallocate segment files",
        "message.timestamp.difference.max.ms" => "Largest allowed difference between record and broker time",
        _ => return None,
    })
}

/// A record as the API shows it.
pub fn record_row(record: &Record, key_decoder: Decoder, value_decoder: Decoder) -> MessageRow {
    let headers = record
        .headers
        .iter()
        .map(|(key, value)| HeaderView {
            key: key.clone(),
            value_base64: value.as_ref().map(|v| base64::engine::general_purpose::STANDARD.encode(v)),
            value_string: value.as_ref().and_then(|v| std::str::from_utf8(v).ok().map(str::to_string)),
        })
        .collect();
    let header_bytes: usize = record.headers.iter().map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len)).sum();
    let record_bytes =
        record.key.as_ref().map_or(0, Vec::len) + record.value.as_ref().map_or(0, Vec::len) + header_bytes;
    MessageRow {
        partition: record.partition,
        offset: record.offset,
        timestamp_ms: record.timestamp_ms,
        timestamp_type: match record.timestamp_kind {
            TimestampKind::CreateTime => "CreateTime",
            TimestampKind::LogAppendTime => "LogAppendTime",
            TimestampKind::NotAvailable => "NotAvailable",
        }
        .to_string(),
        key: payload_view(record.key.as_deref(), key_decoder),
        value: payload_view(record.value.as_deref(), value_decoder),
        headers,
        batch: BatchView::unknown(record_bytes as u64),
    }
}

fn payload_view(bytes: Option<&[u8]>, decoder: Decoder) -> PayloadView {
    let Some(bytes) = bytes else {
        return PayloadView {
            is_null: true,
            size: 0,
            base64: None,
            truncated: false,
            decoded: None,
            decode_error: None,
        };
    };
    let truncated = bytes.len() > PAYLOAD_PREVIEW_BYTES_MAX;
    let shown = &bytes[..bytes.len().min(PAYLOAD_PREVIEW_BYTES_MAX)];
    let (decoded, decode_error) = if truncated {
        (
            None,
            Some(format!(
                "{} bytes: larger than the {PAYLOAD_PREVIEW_BYTES_MAX}-byte preview, not decoded",
                bytes.len()
            )),
        )
    } else {
        match decoder.decode(shown) {
            Ok(text) => (Some(text), None),
            Err(error) => (None, Some(error)),
        }
    };
    PayloadView {
        is_null: false,
        size: bytes.len() as u64,
        base64: Some(base64::engine::general_purpose::STANDARD.encode(shown)),
        truncated,
        decoded,
        decode_error,
    }
}

/// Whether a record passes a (lower-cased) filter in the chosen parts.
pub fn record_matches(record: &Record, row: &MessageRow, needle_lower: &str, filter_in: FilterIn) -> bool {
    let contains = |bytes: Option<&[u8]>, decoded: Option<&str>| -> bool {
        bytes.is_some_and(|b| String::from_utf8_lossy(b).to_lowercase().contains(needle_lower))
            || decoded.is_some_and(|d| d.to_lowercase().contains(needle_lower))
    };
    let key = || contains(record.key.as_deref(), row.key.decoded.as_deref());
    let value = || contains(record.value.as_deref(), row.value.decoded.as_deref());
    let headers =
        || record.headers.iter().any(|(k, v)| k.to_lowercase().contains(needle_lower) || contains(v.as_deref(), None));
    match filter_in {
        FilterIn::Key => key(),
        FilterIn::Value => value(),
        FilterIn::Headers => headers(),
        FilterIn::All => key() || value() || headers(),
    }
}

/// A live-tail subscription's request.
#[derive(Clone, Debug)]
pub struct TailRequest {
    pub topic: String,
    pub partitions: Option<Vec<i32>>,
    pub key_decoder: Decoder,
    pub value_decoder: Decoder,
    pub filter: Option<String>,
    pub filter_in: FilterIn,
}

/// A running tail: stops when dropped or when `stop` is called.
pub struct TailHandle {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl TailHandle {
    pub fn stop(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for TailHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a tail delivers: rows, or the error that ended it.
pub enum TailEvent {
    Row(Box<MessageRow>),
    Failed(String),
}

impl Studio {
    /// Connects with the initial profile (lazily: no cluster needs to be up yet) and starts the
    /// metrics sampler when there is an inside view. Call inside a Tokio runtime.
    pub fn new(options: StudioOptions) -> Result<Studio> {
        let profiles = ProfileStore::open(options.profiles_path, options.initial_profile.clone())?;
        let inside = if options.embedded { options.inside_view.clone() } else { None };
        let connection = Connection::open(options.initial_profile, inside, 0)?;
        let metrics = Arc::new(Metrics::new(options.inside_view.clone().filter(|_| options.embedded)));
        metrics.clone().start_sampler();
        let studio = Studio {
            inner: Arc::new(Inner {
                connection: RwLock::new(Arc::new(connection)),
                profiles: Mutex::new(profiles),
                embedded: options.embedded,
                inside_view: options.inside_view,
                metrics,
                groups: crate::groups::GroupTracker::default(),
                topics_cache: Mutex::new(None),
                policies: Mutex::new(PolicyCache::default()),
                policies_filled: tokio::sync::Notify::new(),
                stopping: tokio::sync::watch::Sender::new(false),
                group_sampler: Mutex::new(None),
            }),
        };
        studio.start_group_sampler();
        Ok(studio)
    }

    /// The consumer groups' snapshot cache and lag history.
    pub(crate) fn group_tracker(&self) -> &crate::groups::GroupTracker {
        &self.inner.groups
    }

    /// Samples every group's lag each [`crate::groups::LAG_SAMPLE_INTERVAL_MS`] on the current
    /// Tokio runtime, for the lag charts and rebalance timelines. It ends as soon as
    /// [`Studio::stop_background`] is called, even mid-sample (the sample's blocking read goes on
    /// until the clients are closed), and it holds only a weak reference between ticks, so it also
    /// ends when the studio is dropped.
    fn start_group_sampler(&self) {
        let weak = Arc::downgrade(&self.inner);
        let mut stopping = self.inner.stopping.subscribe();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(crate::groups::LAG_SAMPLE_INTERVAL_MS));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    // `Err` (the studio is gone) ends the sampler too.
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
                let Some(inner) = weak.upgrade() else {
                    return;
                };
                let studio = Studio { inner };
                tokio::select! {
                    () = studio.sample_groups() => {}
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
            }
        });
        *self.inner.group_sampler.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    }

    /// The first step of stopping: the group sampler ends (waited for at most
    /// [`SAMPLER_STOP_WAIT_MS`], then aborted), so it starts no request to a cluster that is about
    /// to stop. Idempotent.
    pub async fn stop_background(&self) {
        self.inner.stopping.send_replace(true);
        let task = self.inner.group_sampler.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut task) = task {
            let wait = Duration::from_millis(SAMPLER_STOP_WAIT_MS);
            if tokio::time::timeout(wait, &mut task).await.is_err() {
                task.abort();
                tracing::warn!("the group sampler did not stop within {SAMPLER_STOP_WAIT_MS} ms; aborted");
            }
        }
    }

    /// The last step of stopping, before the cluster goes away: the current connection's
    /// blocking calls still in flight (a lag sample's reads, a request's) give up within
    /// `oxbow_client::ADMIN_POLL_SLICE_MS` instead of waiting out [`ADMIN_TIMEOUT_MS`] against
    /// stopped brokers, and later ones are refused. The studio answers no cluster request after
    /// this.
    pub fn close_clients(&self) {
        self.connection().close();
    }

    pub(crate) fn connection(&self) -> Arc<Connection> {
        self.inner.connection.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn invalidate_topics(&self) {
        *self.inner.topics_cache.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Forgets one topic's cached cleanup policy (after a create, delete or config change).
    fn forget_policy(&self, name: &str) {
        self.inner.policies.lock().unwrap_or_else(|e| e.into_inner()).known.remove(name);
        self.invalidate_topics();
    }

    /// `cleanup.policy` of each named topic: from the cache, else looked up (DescribeConfigs in
    /// batches) by a background task that this call waits on for at most [`TOPIC_CONFIGS_WAIT_MS`].
    async fn cleanup_policies(&self, conn: &Arc<Connection>, names: &[String]) -> HashMap<String, String> {
        let deadline = Instant::now() + Duration::from_millis(TOPIC_CONFIGS_WAIT_MS);
        loop {
            let notified = self.inner.policies_filled.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let to_start: Vec<String> = {
                let mut cache = self.inner.policies.lock().unwrap_or_else(|e| e.into_inner());
                if cache.generation != conn.generation {
                    *cache = PolicyCache { generation: conn.generation, ..PolicyCache::default() };
                }
                let missing: Vec<&String> = names.iter().filter(|n| !cache.known.contains_key(*n)).collect();
                if missing.is_empty() || Instant::now() >= deadline {
                    return names.iter().filter_map(|n| Some((n.clone(), cache.known.get(n)?.clone()?))).collect();
                }
                let start: Vec<String> =
                    missing.into_iter().filter(|n| !cache.in_flight.contains(*n)).cloned().collect();
                cache.in_flight.extend(start.iter().cloned());
                start
            };
            if !to_start.is_empty() {
                let inner = self.inner.clone();
                let conn = conn.clone();
                tokio::spawn(async move { fill_policies(inner, conn, to_start).await });
            }
            let _ = tokio::time::timeout(deadline.saturating_duration_since(Instant::now()), notified).await;
        }
    }

    pub fn metrics_handle(&self) -> Arc<Metrics> {
        self.inner.metrics.clone()
    }

    async fn metadata(conn: &Arc<Connection>) -> Result<ClusterMetadata> {
        let conn = conn.clone();
        blocking(move || conn.admin.metadata().map_err(|e| Error::from_client(e, "reading cluster metadata"))).await
    }

    /// Brokers, counts, and the active profile.
    pub async fn cluster_overview(&self) -> Result<ClusterOverview> {
        let conn = self.connection();
        let worker = conn.clone();
        let (metadata, cluster_id, controller_id, racks) = blocking(move || {
            let metadata = worker.admin.metadata().map_err(|e| Error::from_client(e, "reading cluster metadata"))?;
            // DescribeCluster adds racks; a cluster that does not answer it still gets an overview.
            match worker.admin.describe_cluster() {
                Ok(cluster) => {
                    let racks: HashMap<i32, String> =
                        cluster.nodes.into_iter().filter_map(|node| Some((node.id, node.rack?))).collect();
                    Ok((metadata, cluster.cluster_id, cluster.controller_id, racks))
                }
                Err(error) => {
                    tracing::debug!(%error, "DescribeCluster failed; racks unknown");
                    Ok((metadata, worker.admin.cluster_id(), worker.admin.controller_id(), HashMap::new()))
                }
            }
        })
        .await?;
        let partitions = metadata.topics.iter().flat_map(|t| t.partitions.iter());
        let (mut partition_count, mut under) = (0u64, 0u64);
        for partition in partitions {
            partition_count += 1;
            under += u64::from(under_replicated(partition));
        }
        let data_size_bytes = conn.inside.as_ref().map(|inside| {
            let brokers = inside.brokers();
            match brokers.iter().map(|b| b.data_size_bytes).sum::<Option<u64>>() {
                Some(total) if !brokers.is_empty() => total,
                _ => inside.partitions().iter().map(|p| p.size_bytes).sum(),
            }
        });
        let mut brokers: Vec<BrokerView> = metadata
            .brokers
            .iter()
            .map(|b| BrokerView {
                id: b.id,
                host: b.host.clone(),
                port: b.port,
                rack: racks.get(&b.id).cloned(),
                state: "online".into(),
                is_controller: controller_id == Some(b.id),
            })
            .collect();
        brokers.sort_by_key(|b| b.id);
        Ok(ClusterOverview {
            mode: conn.mode(),
            cluster_id,
            controller_id,
            brokers,
            topic_count: metadata.topics.len() as u64,
            partition_count,
            under_replicated_partitions: under,
            data_size_bytes,
            profile: conn.profile.name.clone(),
            bootstrap_servers: conn.profile.bootstrap_servers.clone(),
            inside_view: conn.inside.is_some(),
        })
    }

    /// Every topic with counts (cached for [`TOPICS_CACHE_MS`]), filtered by a case-insensitive
    /// substring and whether internal topics (`__…`) are wanted.
    pub async fn list_topics(&self, search: Option<&str>, include_internal: bool) -> Result<Vec<TopicSummary>> {
        let all = self.all_topics().await?;
        let needle = search.map(str::to_lowercase).filter(|s| !s.is_empty());
        Ok(all
            .iter()
            .filter(|t| include_internal || !t.internal)
            .filter(|t| needle.as_ref().is_none_or(|n| t.name.to_lowercase().contains(n)))
            .cloned()
            .collect())
    }

    async fn all_topics(&self) -> Result<Arc<Vec<TopicSummary>>> {
        let conn = self.connection();
        {
            let cache = self.inner.topics_cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(cache) = cache.as_ref() {
                if cache.generation == conn.generation && cache.at.elapsed() < Duration::from_millis(TOPICS_CACHE_MS) {
                    return Ok(cache.topics.clone());
                }
            }
        }
        let metadata = Self::metadata(&conn).await?;
        let mut topics: Vec<&TopicInfo> =
            metadata.topics.iter().filter(|t| t.error.is_none() || !t.partitions.is_empty()).collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
        let cleanup = self.cleanup_policies(&conn, &names).await;
        let offsets = self.offsets_for(&conn, &topics).await;
        let summaries: Vec<TopicSummary> = topics
            .iter()
            .map(|topic| summary_of(topic, offsets.get(topic.name.as_str()), cleanup.get(&topic.name).cloned()))
            .collect();
        let summaries = Arc::new(summaries);
        *self.inner.topics_cache.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(TopicsCache { at: Instant::now(), generation: conn.generation, topics: summaries.clone() });
        Ok(summaries)
    }

    /// One topic's summary, asking only about that topic.
    async fn summarize(&self, conn: &Arc<Connection>, topic: &TopicInfo) -> TopicSummary {
        let offsets = self.offsets_for(conn, &[topic]).await;
        let cleanup = self.cleanup_policies(conn, std::slice::from_ref(&topic.name)).await;
        summary_of(topic, offsets.get(topic.name.as_str()), cleanup.get(&topic.name).cloned())
    }

    /// Offsets (and, embedded, sizes and segments) of every partition of `topics`: from the inside
    /// view when there is one, else two batched ListOffsets rounds. Partitions that did not answer
    /// get nulls.
    async fn offsets_for(
        &self,
        conn: &Arc<Connection>,
        topics: &[&TopicInfo],
    ) -> HashMap<String, Vec<PartitionOffsetsFull>> {
        let mut out: HashMap<String, Vec<PartitionOffsetsFull>> = HashMap::new();
        if let Some(inside) = &conn.inside {
            let snapshots =
                if topics.len() == 1 { inside.topic_partitions(&topics[0].name) } else { inside.partitions() };
            for snapshot in snapshots {
                out.entry(snapshot.topic.clone()).or_default().push(PartitionOffsetsFull::from_snapshot(&snapshot));
            }
            for parts in out.values_mut() {
                parts.sort_by_key(|p| p.partition);
            }
            return out;
        }
        let list: Vec<(String, i32)> =
            topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.name.clone(), p.id))).collect();
        let worker = conn.clone();
        let query = list.clone();
        let answered = blocking(move || {
            let timeout = Duration::from_millis(OFFSETS_TIMEOUT_MS);
            let earliest = worker
                .offsets
                .list_offsets(&query, OffsetSpec::Earliest, timeout)
                .map_err(|e| Error::from_client(e, "ListOffsets"))?;
            let latest = worker
                .offsets
                .list_offsets(&query, OffsetSpec::Latest, timeout)
                .map_err(|e| Error::from_client(e, "ListOffsets"))?;
            Ok((earliest, latest))
        })
        .await;
        let Ok((earliest, latest)) = answered else {
            tracing::warn!("ListOffsets failed; offsets shown as unknown");
            return out;
        };
        for (((topic, partition), start), end) in list.into_iter().zip(earliest).zip(latest) {
            out.entry(topic).or_default().push(PartitionOffsetsFull {
                partition,
                log_start_offset: start.ok().flatten(),
                high_watermark: end.ok().flatten(),
                log_end_offset: None,
                segments: None,
                size_bytes: None,
            });
        }
        out
    }

    /// Creates a topic (CreateTopics) and returns its summary.
    pub async fn create_topic(&self, request: CreateTopicRequest) -> Result<TopicSummary> {
        validate_topic_name("name", &request.name)?;
        let partitions = request.partitions.unwrap_or(1);
        if !(1..=TOPIC_PARTITIONS_MAX).contains(&partitions) {
            return Err(Error::bad_input(
                "partitions",
                format!("must be between 1 and {TOPIC_PARTITIONS_MAX}, got {partitions}"),
            ));
        }
        if let Some(rf) = request.replication_factor {
            if !(1..=REPLICATION_FACTOR_MAX).contains(&rf) {
                return Err(Error::bad_input(
                    "replication_factor",
                    format!("must be between 1 and {REPLICATION_FACTOR_MAX}, got {rf}"),
                ));
            }
        }
        for (key, value) in &request.configs {
            validate_config_name("configs", key)?;
            if value.contains('\0') {
                return Err(Error::bad_input(format!("configs.{key}"), "must not contain NUL"));
            }
        }
        let conn = self.connection();
        let spec = TopicSpec {
            name: request.name.clone(),
            partitions,
            replication_factor: request.replication_factor,
            configs: request.configs.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        conn.admin
            .create_topic(&spec)
            .await
            .map_err(|e| Error::from_client(e, &format!("creating topic {:?}", request.name)))?;
        self.forget_policy(&request.name);
        // The controller has accepted it; metadata may lag a moment behind.
        let deadline = Instant::now() + Duration::from_millis(3_000);
        loop {
            let metadata = Self::metadata(&conn).await?;
            if let Ok(topic) = find_topic(&metadata, &request.name) {
                if topic.partitions.len() as i32 == partitions {
                    return Ok(self.summarize(&conn, topic).await);
                }
            }
            if Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(TopicSummary {
            internal: is_internal(&request.name),
            name: request.name,
            partitions: partitions as u32,
            replication_factor: request.replication_factor.unwrap_or(0).max(0) as u32,
            record_count: Some(0),
            record_count_is_estimate: false,
            size_bytes: None,
            cleanup_policy: request.configs.get("cleanup.policy").cloned(),
            under_replicated: false,
            under_replicated_partitions: 0,
        })
    }

    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        validate_topic_name("name", name)?;
        let conn = self.connection();
        // DeleteTopics on an absent topic answers UNKNOWN_TOPIC_OR_PARTITION, mapped to 404.
        conn.admin.delete_topic(name).await.map_err(|e| Error::from_client(e, &format!("deleting topic {name:?}")))?;
        self.forget_policy(name);
        Ok(())
    }

    /// Partitions with leaders, replicas, ISR and offsets (segments with the inside view).
    pub async fn topic_detail(&self, name: &str) -> Result<TopicDetail> {
        validate_topic_name("name", name)?;
        let conn = self.connection();
        let metadata = Self::metadata(&conn).await?;
        let topic = find_topic(&metadata, name)?.clone();
        let offsets = self.offsets_for(&conn, &[&topic]).await;
        let offsets: HashMap<i32, PartitionOffsetsFull> =
            offsets.get(name).map(|parts| parts.iter().map(|p| (p.partition, p.clone())).collect()).unwrap_or_default();
        let configs = self.describe(name).await.unwrap_or_default();
        let topic_id = self.topic_id(&conn, name).await;
        let configs_summary: BTreeMap<String, String> = configs
            .iter()
            .filter(|c| SUMMARY_CONFIGS.contains(&c.name.as_str()))
            .filter_map(|c| Some((c.name.clone(), c.value.clone()?)))
            .collect();
        let mut partitions: Vec<PartitionDetail> = topic
            .partitions
            .iter()
            .map(|p| {
                let o = offsets.get(&p.id);
                PartitionDetail {
                    partition: p.id,
                    leader: p.leader,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    offline_replicas: p.replicas.iter().copied().filter(|r| !p.isr.contains(r)).collect(),
                    under_replicated: under_replicated(p),
                    log_start_offset: o.and_then(|o| o.log_start_offset),
                    high_watermark: o.and_then(|o| o.high_watermark),
                    log_end_offset: o.and_then(|o| o.log_end_offset),
                    segments: o.and_then(|o| o.segments.clone()),
                    size_bytes: o.and_then(|o| o.size_bytes),
                }
            })
            .collect();
        partitions.sort_by_key(|p| p.partition);
        let record_count =
            partitions.iter().map(|p| Some((p.high_watermark? - p.log_start_offset?).max(0))).sum::<Option<i64>>();
        Ok(TopicDetail {
            name: topic.name.clone(),
            topic_id,
            internal: is_internal(name),
            replication_factor: topic.partitions.first().map_or(0, |p| p.replicas.len() as u32),
            partitions,
            record_count_is_estimate: configs_summary.get("cleanup.policy").is_some_and(|p| p.contains("compact")),
            configs_summary,
            record_count,
            inside_view: conn.inside.is_some(),
        })
    }

    /// The topic's id (DescribeTopics) in Kafka's text form; `None` when the cluster has none or
    /// did not answer (the detail view shows the rest regardless).
    async fn topic_id(&self, conn: &Arc<Connection>, name: &str) -> Option<String> {
        let worker = conn.clone();
        let names = vec![name.to_string()];
        let answered =
            blocking(move || worker.admin.describe_topics(&names).map_err(|e| Error::from_client(e, "DescribeTopics")))
                .await;
        match answered.map(|mut topics| topics.pop()) {
            Ok(Some((_, Ok(topic)))) => topic.topic_id.map(|id| id.to_string()),
            Ok(Some((_, Err(error)))) => {
                tracing::debug!(topic = name, %error, "DescribeTopics refused; topic id unknown");
                None
            }
            Ok(None) => None,
            Err(error) => {
                tracing::debug!(topic = name, %error, "DescribeTopics failed; topic id unknown");
                None
            }
        }
    }

    async fn describe(&self, name: &str) -> Result<Vec<ConfigDescription>> {
        let conn = self.connection();
        let names = vec![name.to_string()];
        let context = format!("describing configs of topic {name:?}");
        let mut results = blocking(move || {
            conn.admin.describe_topic_configs_many(&names, 1).map_err(|e| Error::from_client(e, &context))
        })
        .await?;
        match results.pop() {
            Some((_, Ok(entries))) => Ok(entries),
            Some((_, Err(error))) => Err(Error::from_client(error, &format!("describing configs of topic {name:?}"))),
            None => Err(Error::NotFound(format!("topic {name:?} does not exist"))),
        }
    }

    /// Every config of a topic (defaults included); sensitive values are never sent.
    pub async fn topic_configs(&self, name: &str) -> Result<Vec<TopicConfigEntry>> {
        validate_topic_name("name", name)?;
        // Some brokers answer DescribeConfigs for an absent topic with an empty list: ask metadata.
        find_topic(&Self::metadata(&self.connection()).await?, name)?;
        let mut entries: Vec<TopicConfigEntry> = self
            .describe(name)
            .await?
            .into_iter()
            .map(|c| TopicConfigEntry {
                documentation: documentation(&c.name).map(str::to_string),
                value: if c.is_sensitive { None } else { c.value },
                source: c.origin.as_kafka_str().to_string(),
                is_default: c.is_default,
                is_sensitive: c.is_sensitive,
                read_only: c.is_read_only,
                synonyms: c
                    .synonyms
                    .into_iter()
                    .map(|synonym| ConfigSynonym {
                        value: if c.is_sensitive { None } else { synonym.value },
                        source: synonym.origin.as_kafka_str().to_string(),
                        name: synonym.name,
                    })
                    .collect(),
                name: c.name,
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Sets and removes topic-level configs with IncrementalAlterConfigs; returns the new configs.
    pub async fn alter_topic_configs(&self, name: &str, request: AlterConfigsRequest) -> Result<Vec<TopicConfigEntry>> {
        validate_topic_name("name", name)?;
        if request.set.is_empty() && request.delete.is_empty() {
            return Err(Error::bad_input("set", "nothing to change: give configs in `set` or names in `delete`"));
        }
        let mut changes = Vec::new();
        for (key, value) in &request.set {
            validate_config_name("set", key)?;
            if value.contains('\0') {
                return Err(Error::bad_input(format!("set.{key}"), "must not contain NUL"));
            }
            changes.push(ConfigChange::Set { name: key.clone(), value: value.clone() });
        }
        for key in &request.delete {
            validate_config_name("delete", key)?;
            if request.set.contains_key(key) {
                return Err(Error::bad_input("delete", format!("{key} is both set and deleted")));
            }
            changes.push(ConfigChange::Delete { name: key.clone() });
        }
        let conn = self.connection();
        let topic = name.to_string();
        blocking(move || {
            conn.admin
                .incremental_alter_topic_configs(&topic, &changes)
                .map_err(|e| Error::from_client(e, &format!("altering configs of topic {topic:?}")))
        })
        .await?;
        self.forget_policy(name);
        self.topic_configs(name).await
    }

    /// Grows a topic to `count` partitions.
    pub async fn add_partitions(&self, name: &str, request: AddPartitionsRequest) -> Result<TopicDetail> {
        validate_topic_name("name", name)?;
        if !(1..=TOPIC_PARTITIONS_MAX * 10).contains(&request.count) {
            return Err(Error::bad_input(
                "count",
                format!("must be between 1 and {}, got {}", TOPIC_PARTITIONS_MAX * 10, request.count),
            ));
        }
        let conn = self.connection();
        let metadata = Self::metadata(&conn).await?;
        let current = find_topic(&metadata, name)?.partitions.len() as i32;
        if request.count <= current {
            return Err(Error::bad_input(
                "count",
                format!("topic {name:?} has {current} partitions; the new total must be larger (Kafka cannot remove partitions)"),
            ));
        }
        if request.count - current > TOPIC_PARTITIONS_MAX {
            return Err(Error::bad_input(
                "count",
                format!("at most {TOPIC_PARTITIONS_MAX} partitions can be added at once"),
            ));
        }
        conn.admin
            .create_partitions(name, request.count as usize)
            .await
            .map_err(|e| Error::from_client(e, &format!("adding partitions to topic {name:?}")))?;
        self.invalidate_topics();
        let deadline = Instant::now() + Duration::from_millis(3_000);
        loop {
            let detail = self.topic_detail(name).await?;
            if detail.partitions.len() as i32 >= request.count || Instant::now() > deadline {
                return Ok(detail);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Offsets of one topic's partitions (for live strips).
    pub async fn partition_offsets(&self, name: &str) -> Result<Vec<PartitionOffsets>> {
        validate_topic_name("topic", name)?;
        let conn = self.connection();
        let metadata = Self::metadata(&conn).await?;
        let topic = find_topic(&metadata, name)?.clone();
        let offsets = self.offsets_for(&conn, &[&topic]).await;
        Ok(offsets
            .get(name)
            .map(|parts| {
                parts
                    .iter()
                    .map(|p| PartitionOffsets {
                        partition: p.partition,
                        log_start_offset: p.log_start_offset,
                        high_watermark: p.high_watermark,
                        log_end_offset: p.log_end_offset,
                        segments: p.segments.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Reads a page of records. Bounded by [`BROWSE_SCAN_RECORDS_MAX`] and [`BROWSE_TIME_MS_MAX`].
    pub async fn browse_messages(&self, name: &str, request: BrowseRequest) -> Result<MessagePage> {
        validate_topic_name("name", name)?;
        if request.limit == 0 || request.limit > BROWSE_LIMIT_MAX {
            return Err(Error::bad_input(
                "limit",
                format!("must be between 1 and {BROWSE_LIMIT_MAX}, got {}", request.limit),
            ));
        }
        if request.scope == Scope::Offset && request.offset.is_none() {
            return Err(Error::bad_input("offset", "required with scope=offset"));
        }
        if request.scope == Scope::Timestamp && request.timestamp_ms.is_none() {
            return Err(Error::bad_input("timestamp_ms", "required with scope=timestamp"));
        }
        check_filter(request.filter.as_deref())?;
        let conn = self.connection();
        let metadata = Self::metadata(&conn).await?;
        let selected = partitions_to_read(&metadata, name, request.partitions.as_deref())?;
        let topic_name = name.to_string();
        let worker = conn.clone();
        let mut page = blocking(move || browse_blocking(&worker, &topic_name, &selected, &request)).await?;
        if conn.profile.security_protocol == SecurityProtocol::Plaintext {
            annotate_batches(&conn.client_profile, &metadata, name, &mut page.messages).await;
        }
        Ok(page)
    }

    /// The partitions a browse or tail reads (see [`partitions_to_read`]), from fresh metadata.
    async fn select_partitions(conn: &Arc<Connection>, topic: &str, wanted: Option<&[i32]>) -> Result<Vec<i32>> {
        let metadata = Self::metadata(conn).await?;
        partitions_to_read(&metadata, topic, wanted)
    }

    /// Sends `count` copies of one record; returns where the first [`PRODUCE_RESULTS_MAX`] landed.
    pub async fn produce(&self, name: &str, request: ProduceRequest) -> Result<ProduceResult> {
        use futures_util::stream::{self, StreamExt};
        validate_topic_name("name", name)?;
        let count = request.count.unwrap_or(1);
        if !(1..=PRODUCE_COUNT_MAX).contains(&count) {
            return Err(Error::bad_input("count", format!("must be between 1 and {PRODUCE_COUNT_MAX}, got {count}")));
        }
        let keyed = request.keyed.unwrap_or(true);
        let key = match (&request.key, keyed) {
            (Some(text), true) => Some(request.key_encoding.encode("key", text)?),
            _ => None,
        };
        let value = match &request.value {
            Some(text) => Some(request.value_encoding.encode("value", text)?),
            None => None,
        };
        if request.headers.len() > PRODUCE_HEADERS_MAX {
            return Err(Error::bad_input("headers", format!("at most {PRODUCE_HEADERS_MAX} headers")));
        }
        let headers: Vec<(String, Option<Vec<u8>>)> =
            request.headers.iter().map(|h| (h.key.clone(), h.value.as_ref().map(|v| v.as_bytes().to_vec()))).collect();
        let record_bytes = key.as_ref().map_or(0, Vec::len)
            + value.as_ref().map_or(0, Vec::len)
            + headers.iter().map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len)).sum::<usize>();
        if (record_bytes as u64).saturating_mul(u64::from(count)) > PRODUCE_BYTES_MAX {
            return Err(Error::bad_input("count", format!("count × record size exceeds {PRODUCE_BYTES_MAX} bytes")));
        }
        let conn = self.connection();
        let metadata = Self::metadata(&conn).await?;
        let partitions = find_topic(&metadata, name)?.partitions.len() as i32;
        if let Some(partition) = request.partition {
            if !(0..partitions).contains(&partition) {
                return Err(Error::bad_input(
                    "partition",
                    format!("topic {name:?} has partitions 0..{}, got {partition}", partitions - 1),
                ));
            }
        }
        let acks = request.acks;
        let producer = conn.producers.get(acks).map_err(|e| Error::from_client(e, "making a producer"))?;
        let sends = stream::iter(0..count)
            .map(|_| producer.send_with_headers(name, request.partition, key.as_deref(), value.as_deref(), &headers))
            .buffered(PRODUCE_IN_FLIGHT_MAX);
        futures_util::pin_mut!(sends);
        let mut results = Vec::with_capacity((count as usize).min(PRODUCE_RESULTS_MAX));
        let mut sent = 0u64;
        while let Some(result) = sends.next().await {
            let delivered = result.map_err(|e| Error::from_client(e, &format!("producing to topic {name:?}")))?;
            sent += 1;
            if results.len() < PRODUCE_RESULTS_MAX {
                results.push(DeliveredView {
                    partition: delivered.partition,
                    // librdkafka reports acks=0 sends at its "invalid offset" (-1001); say -1 as
                    // the Java client does, so one value means "unknown".
                    offset: delivered.offset.max(-1),
                });
            }
        }
        self.invalidate_topics();
        Ok(ProduceResult { results, sent, acks })
    }

    /// Which partition a key goes to under Java's and librdkafka's default partitioners.
    pub fn key_partition(&self, key: &str, partitions: i32, encoding: Encoding) -> Result<PartitionerAnswer> {
        if !(1..=100_000).contains(&partitions) {
            return Err(Error::bad_input("partitions", format!("must be between 1 and 100000, got {partitions}")));
        }
        let bytes = encoding.encode("key", key)?;
        let java = partitioner::java_murmur2_partition(&bytes, partitions).unwrap_or(0);
        let librdkafka = partitioner::librdkafka_consistent_partition(&bytes, partitions);
        let note = match librdkafka {
            None => "An empty key has no fixed partition in librdkafka (consistent_random picks one at random); the Java client hashes the empty key.".to_string(),
            Some(p) if p == java => "Both default partitioners agree for this key (by chance: they use different hashes).".to_string(),
            Some(_) => "The defaults differ: Java clients hash with murmur2, librdkafka clients (kcat, confluent-kafka, this studio) with CRC32. Set librdkafka's partitioner=murmur2_random to match Java.".to_string(),
        };
        Ok(PartitionerAnswer {
            partitions,
            key_size: bytes.len() as u64,
            java_murmur2: java,
            librdkafka_consistent_random: librdkafka,
            note,
        })
    }

    pub fn profiles(&self) -> ProfileList {
        let store = self.inner.profiles.lock().unwrap_or_else(|e| e.into_inner());
        ProfileList { active: store.active_name().to_string(), profiles: store.list() }
    }

    /// The profile chosen in the previous run (from the profiles file), if it still exists.
    pub fn profile_chosen_last_run(&self) -> Option<String> {
        self.inner.profiles.lock().unwrap_or_else(|e| e.into_inner()).chosen_last_run().map(str::to_string)
    }

    pub fn save_profile(&self, input: ProfileInput) -> Result<ProfileView> {
        self.inner.profiles.lock().unwrap_or_else(|e| e.into_inner()).save(input)
    }

    pub fn delete_profile(&self, name: &str) -> Result<()> {
        self.inner.profiles.lock().unwrap_or_else(|e| e.into_inner()).delete(name)
    }

    /// Switches to another profile: new clients, caches dropped. The inside view is used only with
    /// the embedded cluster's built-in profile.
    pub fn set_active_profile(&self, name: &str) -> Result<ProfileList> {
        let mut store = self.inner.profiles.lock().unwrap_or_else(|e| e.into_inner());
        let previous = store.active_name().to_string();
        let profile = store.set_active(name)?;
        let inside =
            if store.active_is_builtin() && self.inner.embedded { self.inner.inside_view.clone() } else { None };
        let generation = self.connection().generation + 1;
        let connection = match Connection::open(profile, inside, generation) {
            Ok(connection) => connection,
            Err(error) => {
                let _ = store.set_active(&previous);
                return Err(error);
            }
        };
        *self.inner.connection.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(connection);
        drop(store);
        self.invalidate_topics();
        Ok(self.profiles())
    }

    /// The embedded cluster's inside view while the built-in profile is active.
    pub(crate) fn inside_view(&self) -> Option<Arc<dyn InsideView>> {
        self.connection().inside.clone()
    }

    pub fn metrics(&self) -> MetricsSeries {
        let inside = self.connection().inside.is_some();
        self.inner.metrics.series(inside)
    }

    pub fn throughput_svg(&self, width: u32, height: u32, dark: bool) -> Result<String> {
        let series = self.metrics();
        crate::metrics::throughput_svg(&series, width, height, dark)
    }

    /// Starts a live tail: records produced from now on are decoded, filtered and offered to
    /// `sink` with `try_send` — when the sink is full the row is dropped and counted in `dropped`
    /// (the caller reports it), so a slow consumer never grows memory here.
    pub async fn tail(
        &self,
        id: u64,
        request: TailRequest,
        sink: tokio::sync::mpsc::Sender<(u64, TailEvent)>,
        dropped: Arc<std::sync::atomic::AtomicU64>,
    ) -> Result<TailHandle> {
        validate_topic_name("topic", &request.topic)?;
        check_filter(request.filter.as_deref())?;
        let conn = self.connection();
        let selected = Self::select_partitions(&conn, &request.topic, request.partitions.as_deref()).await?;
        let starts: Vec<(i32, PartitionStart)> = selected.iter().map(|p| (*p, PartitionStart::End)).collect();
        let reader = AssignedReader::open(
            &conn.client_profile,
            &request.topic,
            &starts,
            &[("queued.max.messages.kbytes", READER_QUEUE_KIB)],
        )
        .map_err(|e| Error::from_client(e, "starting the tail"))?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let needle = request.filter.as_ref().map(|f| f.to_lowercase()).filter(|f| !f.is_empty());
        std::thread::Builder::new()
            .name("studio-tail".into())
            .spawn(move || {
                use std::sync::atomic::Ordering::Relaxed;
                while !flag.load(Relaxed) && !sink.is_closed() {
                    match reader.next_event(Duration::from_millis(POLL_INTERVAL_MS)) {
                        Ok(Some(ReadEvent::Record(record))) => {
                            let row = record_row(&record, request.key_decoder, request.value_decoder);
                            if needle.as_ref().is_some_and(|n| !record_matches(&record, &row, n, request.filter_in)) {
                                continue;
                            }
                            if sink.try_send((id, TailEvent::Row(Box::new(row)))).is_err() {
                                dropped.fetch_add(1, Relaxed);
                            }
                        }
                        Ok(_) => {}
                        Err(error) => {
                            // Transient fetch errors (a leader moving) are retried by librdkafka;
                            // report them without ending the tail.
                            tracing::debug!(%error, "tail poll error");
                        }
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("starting the tail thread: {e}")))?;
        Ok(TailHandle { stop })
    }
}

/// A topic's list entry from its metadata, partition offsets and cleanup policy.
fn summary_of(
    topic: &TopicInfo,
    offsets: Option<&Vec<PartitionOffsetsFull>>,
    cleanup_policy: Option<String>,
) -> TopicSummary {
    let record_count = offsets.and_then(|parts| {
        parts.iter().map(|p| Some((p.high_watermark? - p.log_start_offset?).max(0))).sum::<Option<i64>>()
    });
    let size_bytes = offsets.and_then(|parts| parts.iter().map(|p| p.size_bytes).sum::<Option<u64>>());
    let under = topic.partitions.iter().filter(|p| under_replicated(p)).count() as u32;
    TopicSummary {
        name: topic.name.clone(),
        internal: is_internal(&topic.name),
        partitions: topic.partitions.len() as u32,
        replication_factor: topic.partitions.first().map_or(0, |p| p.replicas.len() as u32),
        record_count,
        record_count_is_estimate: cleanup_policy.as_deref().is_some_and(|p| p.contains("compact")),
        size_bytes,
        cleanup_policy,
        under_replicated: under > 0,
        under_replicated_partitions: under,
    }
}

/// Offsets of one partition from whichever source answered.
#[derive(Clone, Debug)]
struct PartitionOffsetsFull {
    partition: i32,
    log_start_offset: Option<i64>,
    high_watermark: Option<i64>,
    log_end_offset: Option<i64>,
    segments: Option<Vec<SegmentView>>,
    size_bytes: Option<u64>,
}

impl PartitionOffsetsFull {
    fn from_snapshot(s: &PartitionSnapshot) -> PartitionOffsetsFull {
        let segments: Vec<SegmentView> = s
            .segments
            .iter()
            .map(|g| SegmentView {
                base_offset: g.base_offset,
                next_offset: g.next_offset,
                size_bytes: g.size_bytes,
                max_timestamp_ms: g.max_timestamp_ms,
                active: g.active,
            })
            .collect();
        PartitionOffsetsFull {
            partition: s.partition,
            log_start_offset: Some(s.log_start_offset),
            high_watermark: Some(s.high_watermark),
            log_end_offset: Some(s.log_end_offset),
            size_bytes: Some(s.size_bytes),
            segments: Some(segments),
        }
    }
}

/// The partitions a browse or tail reads: all of the topic's, or the ones asked for (sorted,
/// each once), refusing a partition the topic does not have.
fn partitions_to_read(metadata: &ClusterMetadata, topic: &str, wanted: Option<&[i32]>) -> Result<Vec<i32>> {
    let all: Vec<i32> = find_topic(metadata, topic)?.partitions.iter().map(|p| p.id).collect();
    let Some(wanted) = wanted else {
        return Ok(all);
    };
    if let Some(bad) = wanted.iter().find(|p| !all.contains(p)) {
        return Err(Error::bad_input(
            "partitions",
            format!("topic {topic:?} has no partition {bad} (it has {})", all.len()),
        ));
    }
    let mut wanted = wanted.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    Ok(wanted)
}

/// Fills each row's batch fields from the batch headers (best effort, PLAINTEXT profiles only):
/// per partition of the page, one raw Fetch to the leader from the page's first offset there,
/// at most [`BATCH_LOOKUP_FETCH_BYTES`] of batches, [`BATCH_LOOKUP_IN_FLIGHT_MAX`] partitions at
/// once, all within [`BATCH_LOOKUP_TIMEOUT_MS`]. A partition whose lookup fails, or a record
/// past the bytes fetched, keeps null (unknown) batch fields; nothing here fails the browse.
async fn annotate_batches(
    profile: &oxbow_client::ConnectionProfile,
    metadata: &ClusterMetadata,
    topic: &str,
    rows: &mut [MessageRow],
) {
    use futures_util::stream::{self, StreamExt};
    let mut first: BTreeMap<i32, i64> = BTreeMap::new();
    for row in rows.iter() {
        let offset = first.entry(row.partition).or_insert(row.offset);
        *offset = (*offset).min(row.offset);
    }
    if first.is_empty() {
        return;
    }
    let Some(info) = metadata.topic(topic) else {
        return;
    };
    let timeout = Duration::from_millis(BATCH_LOOKUP_TIMEOUT_MS);
    let deadline = tokio::time::Instant::now() + timeout;
    let lookups = stream::iter(first)
        .map(|(partition, offset)| {
            let leader = info
                .partitions
                .iter()
                .find(|p| p.id == partition)
                .and_then(|p| metadata.brokers.iter().find(|b| b.id == p.leader));
            let request = oxbow_client::BatchHeadersRequest {
                topic: topic.to_string(),
                partition,
                offset,
                max_bytes: BATCH_LOOKUP_FETCH_BYTES,
                // What the browse's reader reads with (librdkafka's default isolation.level).
                isolation: oxbow_client::IsolationLevel::ReadCommitted,
                timeout,
            };
            async move {
                let Some(leader) = leader else {
                    return (partition, None);
                };
                let fetched = oxbow_client::fetch_batch_headers(profile, &leader.host, leader.port, &request).await;
                match fetched {
                    Ok(fetched) => (partition, Some(fetched)),
                    Err(error) => {
                        tracing::debug!(topic, partition, %error, "batch header lookup failed; compression unknown");
                        (partition, None)
                    }
                }
            }
        })
        .buffer_unordered(BATCH_LOOKUP_IN_FLIGHT_MAX);
    futures_util::pin_mut!(lookups);
    let mut found: HashMap<i32, oxbow_client::FetchedBatchHeaders> = HashMap::new();
    loop {
        match tokio::time::timeout_at(deadline, lookups.next()).await {
            Ok(Some((partition, Some(fetched)))) => {
                found.insert(partition, fetched);
            }
            Ok(Some((_, None))) => {}
            Ok(None) => break,
            Err(_) => {
                tracing::debug!(topic, "batch header lookups timed out; the rest stay unknown");
                break;
            }
        }
    }
    for row in rows.iter_mut() {
        let Some(header) = found.get(&row.partition).and_then(|fetched| fetched.batch_of(row.offset)) else {
            continue;
        };
        row.batch = BatchView {
            compression: header.codec().map(|codec| codec.as_kafka_str().to_string()),
            record_bytes: row.batch.record_bytes,
            base_offset: Some(header.base_offset),
            last_offset: Some(header.last_offset()),
            record_count: Some(header.records_count),
            batch_bytes: Some(header.size_bytes()),
            transactional: Some(header.is_transactional()),
            producer_id: Some(header.producer_id),
        };
    }
}

/// One record kept by a browse, with its sort key.
struct Kept {
    sort: (i64, i32, i64),
    row: MessageRow,
}

fn browse_blocking(conn: &Connection, topic: &str, selected: &[i32], request: &BrowseRequest) -> Result<MessagePage> {
    let timeout = Duration::from_millis(OFFSETS_TIMEOUT_MS);
    let keys: Vec<(String, i32)> = selected.iter().map(|p| (topic.to_string(), *p)).collect();
    let ctx = |e| Error::from_client(e, &format!("reading offsets of topic {topic:?}"));
    let earliest = conn.offsets.list_offsets(&keys, OffsetSpec::Earliest, timeout).map_err(ctx)?;
    let latest = conn.offsets.list_offsets(&keys, OffsetSpec::Latest, timeout).map_err(ctx)?;
    let by_time = match (request.scope, request.timestamp_ms) {
        (Scope::Timestamp, Some(ms)) => {
            Some(conn.offsets.list_offsets(&keys, OffsetSpec::Timestamp(ms), timeout).map_err(ctx)?)
        }
        _ => None,
    };
    let limit = request.limit as i64;
    // Per partition: [start, end) to read.
    let mut ranges: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for (index, partition) in selected.iter().enumerate() {
        let (Ok(Some(low)), Ok(Some(high))) = (&earliest[index], &latest[index]) else {
            continue;
        };
        let (low, high) = (*low, *high);
        let start = match request.scope {
            Scope::Newest => (high - limit).max(low),
            Scope::Oldest => low,
            Scope::Offset => request.offset.unwrap_or(low).clamp(low, high),
            Scope::Timestamp => match by_time.as_ref().map(|t| &t[index]) {
                Some(Ok(Some(offset))) => (*offset).clamp(low, high),
                _ => high,
            },
        };
        ranges.insert(*partition, (start, high));
    }
    let mut next: BTreeMap<String, i64> = ranges.iter().map(|(p, (start, _))| (p.to_string(), *start)).collect();
    let active: Vec<(i32, PartitionStart)> = ranges
        .iter()
        .filter(|(_, (start, end))| start < end)
        .map(|(p, (start, _))| (*p, PartitionStart::Offset(*start)))
        .collect();
    let needle = request.filter.as_ref().map(|f| f.to_lowercase()).filter(|f| !f.is_empty());
    let mut kept: Vec<Kept> = Vec::new();
    let mut scanned = 0u64;
    let mut matched = 0u64;
    let mut budget_exhausted = false;
    // Highest offset scanned per partition (for `next`), and matches per partition.
    let mut last_scanned: HashMap<i32, i64> = HashMap::new();
    let mut matched_in: HashMap<i32, usize> = HashMap::new();
    if !active.is_empty() {
        let reader = AssignedReader::open(
            &conn.client_profile,
            topic,
            &active,
            &[("enable.partition.eof", "true"), ("queued.max.messages.kbytes", READER_QUEUE_KIB)],
        )
        .map_err(|e| Error::from_client(e, &format!("reading topic {topic:?}")))?;
        let mut open: std::collections::HashSet<i32> = active.iter().map(|(p, _)| *p).collect();
        let deadline = Instant::now() + Duration::from_millis(BROWSE_TIME_MS_MAX);
        // Newest keeps reading to the end (it wants the last records); forward scopes may stop a
        // partition once it has `limit` matches, since later ones could never be in the page.
        let forward = request.scope != Scope::Newest;
        while !open.is_empty() {
            if Instant::now() > deadline || scanned >= BROWSE_SCAN_RECORDS_MAX {
                budget_exhausted = true;
                break;
            }
            let event = reader
                .next_event(Duration::from_millis(POLL_INTERVAL_MS))
                .map_err(|e| Error::from_client(e, &format!("reading topic {topic:?}")))?;
            let record = match event {
                None => continue,
                Some(ReadEvent::EndOfPartition(p)) => {
                    open.remove(&p);
                    continue;
                }
                Some(ReadEvent::Record(record)) => record,
            };
            let p = record.partition;
            let Some((_, end)) = ranges.get(&p) else {
                continue;
            };
            if record.offset >= *end || !open.contains(&p) {
                open.remove(&p);
                let _ = reader.pause(p);
                continue;
            }
            scanned += 1;
            last_scanned.insert(p, record.offset);
            let row = record_row(&record, request.key_decoder, request.value_decoder);
            if needle.as_ref().is_none_or(|n| record_matches(&record, &row, n, request.filter_in)) {
                matched += 1;
                let count = matched_in.entry(p).or_default();
                *count += 1;
                kept.push(Kept { sort: (record.timestamp_ms.unwrap_or(0), p, record.offset), row });
                if forward && *count >= request.limit {
                    open.remove(&p);
                    let _ = reader.pause(p);
                }
                if !forward && kept.len() > request.limit * 4 {
                    // Keep memory bounded while reading newest: only the last `limit` can win.
                    kept.sort_by_key(|k| k.sort);
                    kept.drain(..kept.len() - request.limit);
                }
            }
            if record.offset + 1 >= *end {
                open.remove(&p);
                let _ = reader.pause(p);
            }
        }
    }
    kept.sort_by_key(|k| k.sort);
    match request.scope {
        Scope::Newest => {
            if kept.len() > request.limit {
                kept.drain(..kept.len() - request.limit);
            }
            // Continue from where each partition ends (live reading goes on from there).
            for (p, (_, end)) in &ranges {
                next.insert(p.to_string(), *end);
            }
        }
        _ => {
            // A page cut across partitions drops matched records; each partition resumes at its
            // lowest dropped offset. Not "one past its last kept record": timestamps need not
            // grow with offsets (producers set them), so a dropped record can sit below a kept
            // one and would be skipped for good. Kept records past the resume point come again
            // on the next page; callers dedup by (partition, offset).
            let mut first_dropped: HashMap<i32, i64> = HashMap::new();
            for dropped in kept.iter().skip(request.limit) {
                let (_, partition, offset) = dropped.sort;
                first_dropped.entry(partition).and_modify(|lowest| *lowest = (*lowest).min(offset)).or_insert(offset);
            }
            kept.truncate(request.limit);
            for (p, (start, _)) in &ranges {
                let resume = match first_dropped.get(p) {
                    Some(offset) => *offset,
                    None => last_scanned.get(p).map_or(*start, |o| o + 1),
                };
                next.insert(p.to_string(), resume);
            }
        }
    }
    Ok(MessagePage { messages: kept.into_iter().map(|k| k.row).collect(), next, scanned, matched, budget_exhausted })
}

/// A filter longer than [`FILTER_BYTES_MAX`] is refused before any read starts.
fn check_filter(filter: Option<&str>) -> Result<()> {
    match filter {
        Some(f) if f.len() > FILTER_BYTES_MAX => {
            Err(Error::bad_input("filter", format!("at most {FILTER_BYTES_MAX} bytes")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: Option<&[u8]>, value: Option<&[u8]>, headers: Vec<(String, Option<Vec<u8>>)>) -> Record {
        Record {
            topic: "t".into(),
            partition: 2,
            offset: 7,
            timestamp_ms: Some(1_000),
            timestamp_kind: TimestampKind::LogAppendTime,
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers,
        }
    }

    #[test]
    fn rows_keep_nulls_apart_from_empties_and_report_decode_errors_per_record() {
        let r = record(None, Some(b""), vec![("h".into(), None), ("t".into(), Some(b"abc".to_vec()))]);
        let row = record_row(&r, Decoder::String, Decoder::Int32);
        assert!(row.key.is_null && row.key.base64.is_none());
        assert!(!row.value.is_null && row.value.size == 0 && row.value.base64.as_deref() == Some(""));
        assert!(row.value.decode_error.as_deref().unwrap().contains("exactly 4 bytes"));
        assert_eq!(row.timestamp_type, "LogAppendTime");
        assert_eq!(row.headers[0].value_base64, None);
        assert_eq!(row.headers[1].value_string.as_deref(), Some("abc"));
        assert_eq!(row.batch.record_bytes, 1 + 1 + 3);
    }

    #[test]
    fn big_payloads_are_cut_not_decoded() {
        let big = vec![b'a'; PAYLOAD_PREVIEW_BYTES_MAX + 1];
        let row = record_row(&record(None, Some(&big), vec![]), Decoder::String, Decoder::String);
        assert!(row.value.truncated && row.value.decoded.is_none());
        assert_eq!(row.value.size as usize, big.len());
    }

    #[test]
    fn filters_look_where_asked_case_insensitively() {
        let r = record(Some(b"Order-1"), Some(br#"{"state":"PAID"}"#), vec![("source".into(), Some(b"web".to_vec()))]);
        let row = record_row(&r, Decoder::String, Decoder::Json);
        assert!(record_matches(&r, &row, "order", FilterIn::Key));
        assert!(!record_matches(&r, &row, "order", FilterIn::Value));
        assert!(record_matches(&r, &row, "paid", FilterIn::Value));
        assert!(record_matches(&r, &row, "source", FilterIn::Headers));
        assert!(record_matches(&r, &row, "web", FilterIn::All));
        assert!(!record_matches(&r, &row, "absent", FilterIn::All));
    }

    #[test]
    fn topic_names_follow_kafka_rules() {
        for good in ["a", "orders.v1", "A_b-c", &"x".repeat(249)] {
            assert!(validate_topic_name("name", good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "ü", &"x".repeat(250)] {
            let error = validate_topic_name("name", bad).unwrap_err();
            assert!(error.to_string().starts_with("name:"), "{bad}: {error}");
        }
    }
}
