//! `BrokerState`: everything one broker shares between connections — static config, the
//! metadata store, the open partitions, the group coordinator, producer ids, bounds and counters.
//!
//! Admin mutations (create/delete topics, partitions, configs) all go through methods here that
//! (1) apply a [`MetadataRecord`] to the store and (2) reconcile the open partitions with the new
//! image. They are serialised by the metadata lock. This module does not speak the protocol.

use crate::config::BrokerConfig;
use crate::coordinator::group::GroupCoordinator;
use crate::metadata::{self, MetadataImage, MetadataRecord, MetadataStore, TopicImage};
use crate::partition::Partition;
use crate::topic_config;
use crate::{codes, Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tokio::sync::{watch, Semaphore};
use uuid::Uuid;

/// Threads that open logs at start-up and for new topics. Like closing, opening is fsync-bound
/// (each log syncs its directory and, after a clean shutdown, rewrites its checkpoint), so
/// overlapping many opens lets one journal commit cover several of them.
const OPEN_THREADS_MAX: usize = 16;

/// Threads that close logs at shutdown. With `close_many` no fsync is waited on per log (a few
/// syncfs calls cover them all), but each log still writes a few small files, which overlaps
/// well on a few threads.
const CLOSE_THREADS_MAX: usize = 16;

/// Per-broker counters for the studio.
#[derive(Debug, Default)]
pub struct BrokerStats {
    pub bytes_in: AtomicU64,
    pub records_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub requests: AtomicU64,
    pub connections_accepted: AtomicU64,
    pub connections_refused: AtomicU64,
}

pub(crate) struct TopicPartitions {
    pub id: Uuid,
    pub partitions: Vec<Arc<Partition>>,
    /// Effective `min.insync.replicas`, kept current by config changes so Produce need not
    /// resolve the topic's configs on every request.
    pub min_insync_replicas: std::sync::atomic::AtomicI32,
}

/// A per-topic failure for admin responses: Kafka error code and Kafka-worded message.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub code: i16,
    pub message: String,
}

impl ApiError {
    pub fn new(code: i16, message: impl Into<String>) -> Self {
        ApiError { code, message: message.into() }
    }
}

/// One topic of a CreateTopics request (or an auto-creation), as `BrokerState::create_topics` takes it.
pub(crate) struct NewTopic {
    pub name: String,
    /// -1: the broker default.
    pub partitions: i32,
    /// -1: the broker default.
    pub replication_factor: i16,
    pub assignments: Vec<(i32, Vec<i32>)>,
    pub configs: BTreeMap<String, String>,
}

pub(crate) struct BrokerState {
    pub config: BrokerConfig,
    /// Host and port advertised in Metadata and FindCoordinator.
    pub advertised_host: String,
    pub advertised_port: i32,
    metadata: Mutex<MetadataStore>,
    topics: RwLock<HashMap<String, Arc<TopicPartitions>>>,
    pub groups: GroupCoordinator,
    next_producer_id: Mutex<i64>,
    /// Permits for fetches that wait for data; see `BrokerConfig::max_parked_fetches`.
    pub parked_fetches: Arc<Semaphore>,
    pub shutdown: watch::Receiver<bool>,
    pub stats: BrokerStats,
    /// Every partition's open segment files and index mappings, bounded together.
    pub files: Arc<oxbow_log::FileCache>,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Kafka's legal topic name: `[a-zA-Z0-9._-]`, 1..=249 chars, not "." or "..".
pub(crate) fn validate_topic_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > 249 {
        return Err(format!("Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return Err(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

impl BrokerState {
    pub fn open(
        config: BrokerConfig,
        advertised_host: String,
        advertised_port: i32,
        shutdown: watch::Receiver<bool>,
        files: Arc<oxbow_log::FileCache>,
    ) -> Result<BrokerState> {
        let store = MetadataStore::open(&config.data_dir, config.node_id)?;
        let image = store.image().clone();
        let state = BrokerState {
            groups: GroupCoordinator::new(&config),
            parked_fetches: Arc::new(Semaphore::new(config.max_parked_fetches)),
            next_producer_id: Mutex::new(image.producer_id_block_end),
            advertised_host,
            advertised_port,
            metadata: Mutex::new(store),
            topics: RwLock::new(HashMap::new()),
            shutdown,
            stats: BrokerStats::default(),
            config,
            files,
        };
        let started = std::time::Instant::now();
        let wanted: Vec<(&TopicImage, i32)> =
            image.topics.values().flat_map(|t| (0..t.partitions).map(move |index| (t, index))).collect();
        let mut opened = state.open_partitions(&image, &wanted)?.into_iter();
        for topic in image.topics.values() {
            let partitions: Vec<Arc<Partition>> = opened.by_ref().take(topic.partitions as usize).collect();
            debug_assert_eq!(partitions.len(), topic.partitions as usize);
            let (_, _, min_isr) = state.log_settings_for(&image, &topic.configs);
            let tp = Arc::new(TopicPartitions { id: topic.id, partitions, min_insync_replicas: min_isr.into() });
            state.topics.write().unwrap_or_else(|p| p.into_inner()).insert(topic.name.clone(), tp);
        }
        debug_assert!(opened.next().is_none());
        let opened = wanted.len();
        tracing::info!(topics = image.topics.len(), partitions = opened, elapsed_ms = started.elapsed().as_millis() as u64, cluster_id = %image.cluster_id, "opened partition logs");
        Ok(state)
    }

    fn partition_dir(&self, topic: &str, index: i32) -> PathBuf {
        self.config.data_dir.join(format!("{topic}-{index}"))
    }

    /// Opens partitions `from..topic.partitions` of a topic (all of them for a new topic).
    fn open_topic(&self, image: &MetadataImage, topic: &TopicImage, from: i32) -> Result<Arc<TopicPartitions>> {
        let (_, _, min_isr) = self.log_settings_for(image, &topic.configs);
        let wanted: Vec<(&TopicImage, i32)> = (from..topic.partitions).map(|index| (topic, index)).collect();
        let partitions = self.open_partitions(image, &wanted)?;
        Ok(Arc::new(TopicPartitions { id: topic.id, partitions, min_insync_replicas: min_isr.into() }))
    }

    /// Opens (recovering as needed) the logs of `wanted`, on up to [`OPEN_THREADS_MAX`] threads;
    /// returns the partitions in the order asked. The first failure stops the remaining opens and
    /// is returned (logs already opened are dropped, as a failed sequential open did).
    fn open_partitions(&self, image: &MetadataImage, wanted: &[(&TopicImage, i32)]) -> Result<Vec<Arc<Partition>>> {
        // Indices are taken in order and every taken one is filled, so the empty slots (left
        // after a failure) all come after the failed one: the first error is met before them.
        let mut out = Vec::with_capacity(wanted.len());
        for slot in self.open_partitions_with(image, wanted, true) {
            match slot {
                Some(Ok(partition)) => out.push(partition),
                Some(Err(e)) => return Err(e),
                None => unreachable!("an empty slot before any failed open"),
            }
        }
        Ok(out)
    }

    /// Like `open_partitions`, but every partition is attempted and has its own result.
    fn open_partitions_each(&self, image: &MetadataImage, wanted: &[(&TopicImage, i32)]) -> Vec<Result<Arc<Partition>>> {
        self.open_partitions_with(image, wanted, false).into_iter().map(|slot| slot.expect("every open attempted")).collect()
    }

    /// One slot per wanted partition; with `stop_on_failure`, slots after a failure may be empty.
    fn open_partitions_with(
        &self,
        image: &MetadataImage,
        wanted: &[(&TopicImage, i32)],
        stop_on_failure: bool,
    ) -> Vec<Option<Result<Arc<Partition>>>> {
        // Settings once per topic, not per partition.
        let mut settings: HashMap<&str, (oxbow_log::LogConfig, f64)> = HashMap::new();
        for (topic, _) in wanted {
            settings.entry(topic.name.as_str()).or_insert_with(|| {
                let (lc, ratio, _) = self.log_settings_for(image, &topic.configs);
                (lc, ratio)
            });
        }
        let open_one = |(topic, index): (&TopicImage, i32)| -> Result<Arc<Partition>> {
            let (lc, ratio) = &settings[topic.name.as_str()];
            let dir = self.partition_dir(&topic.name, index);
            let (mut log, report) = oxbow_log::Log::open_with(&dir, lc.clone(), now_ms(), &self.files)?;
            log.set_min_cleanable_dirty_ratio(*ratio);
            if report.truncated_bytes > 0 {
                tracing::warn!(topic = %topic.name, partition = index, bytes = report.truncated_bytes, at = ?report.truncated_at, "recovery truncated a torn or corrupt log tail");
            }
            metadata::write_partition_metadata(&dir, topic.id)?;
            Ok(Arc::new(Partition::new(&topic.name, index, topic.id, self.config.node_id, log, 0)))
        };
        let threads = OPEN_THREADS_MAX.min(wanted.len());
        if threads <= 1 {
            let mut out = Vec::with_capacity(wanted.len());
            for &w in wanted {
                let result = open_one(w);
                let stop = stop_on_failure && result.is_err();
                out.push(Some(result));
                if stop {
                    break;
                }
            }
            out.resize_with(wanted.len(), || None);
            return out;
        }
        // Work is handed out by index; each slot is written once, by the thread that took it.
        let next = AtomicUsize::new(0);
        let failed = std::sync::atomic::AtomicBool::new(false);
        let slots: Vec<Mutex<Option<Result<Arc<Partition>>>>> = wanted.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= wanted.len() || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let result = open_one(wanted[i]);
                    if stop_on_failure && result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    *lock(&slots[i]) = Some(result);
                });
            }
        });
        slots.into_iter().map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner())).collect()
    }

    /// The log config plus the settings the log takes through setters
    /// (`min.cleanable.dirty.ratio`).
    fn log_settings_for(&self, image: &MetadataImage, overrides: &BTreeMap<String, String>) -> (oxbow_log::LogConfig, f64, i32) {
        let resolved = topic_config::resolve_topic(&self.config, &image.broker_configs, &image.cluster_configs, overrides);
        let eff = topic_config::effective_map(&resolved);
        let ratio = eff.get("min.cleanable.dirty.ratio").and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(0.5);
        let min_isr = eff.get("min.insync.replicas").and_then(|v| v.trim().parse::<i32>().ok()).unwrap_or(1);
        (topic_config::log_config(&self.config, &eff), ratio, min_isr)
    }

    /// A consistent copy of the current metadata image.
    pub fn image(&self) -> MetadataImage {
        lock(&self.metadata).image().clone()
    }

    pub fn cluster_id(&self) -> String {
        lock(&self.metadata).image().cluster_id.clone()
    }

    pub fn topic(&self, name: &str) -> Option<Arc<TopicPartitions>> {
        self.topics.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<(String, Arc<TopicPartitions>)> {
        let topics = self.topics.read().unwrap_or_else(|p| p.into_inner());
        topics.iter().find(|(_, t)| t.id == id).map(|(n, t)| (n.clone(), t.clone()))
    }

    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        let t = self.topic(topic)?;
        usize::try_from(index).ok().and_then(|i| t.partitions.get(i).cloned())
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        let topics = self.topics.read().unwrap_or_else(|p| p.into_inner());
        topics.values().flat_map(|t| t.partitions.iter().cloned()).collect()
    }

    /// Effective `min.insync.replicas` of a topic (1 for an unknown topic).
    pub fn min_insync_replicas(&self, topic: &str) -> i32 {
        self.topic(topic).map(|t| t.min_insync_replicas.load(Ordering::Relaxed)).unwrap_or(1)
    }

    /// Live brokers (one today).
    pub fn live_brokers(&self) -> usize {
        1
    }

    /// Validates and (unless `validate_only`) creates a topic. `partitions`/`replication_factor`
    /// of -1 take the broker defaults. Returns the topic id and the resolved counts.
    pub fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        assignments: &[(i32, Vec<i32>)],
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> std::result::Result<(Uuid, i32, i16), ApiError> {
        let topic = NewTopic { name: name.to_string(), partitions, replication_factor, assignments: assignments.to_vec(), configs };
        self.create_topics(vec![topic], validate_only).pop().expect("one result per topic")
    }

    /// Validates and (unless `validate_only`) creates topics, returning one result per topic in
    /// order. The metadata image is written once for all of them (one atomic, fsynced write before
    /// any result is returned), not once per topic, and their partitions open together. A topic
    /// whose partitions cannot be opened is removed again (a second write) and fails alone.
    pub fn create_topics(&self, topics: Vec<NewTopic>, validate_only: bool) -> Vec<std::result::Result<(Uuid, i32, i16), ApiError>> {
        let mut md = lock(&self.metadata);
        let mut results = Vec::with_capacity(topics.len());
        let mut records = Vec::new();
        let mut creating: Vec<(usize, String)> = Vec::new();
        for t in topics {
            let checked = self.check_new_topic(md.image(), &t, creating.iter().any(|(_, n)| *n == t.name));
            if let (Ok((id, partitions, _)), false) = (&checked, validate_only) {
                records.push(MetadataRecord::CreateTopic { name: t.name.clone(), id: *id, partitions: *partitions, configs: t.configs });
                creating.push((results.len(), t.name));
            }
            results.push(checked);
        }
        if records.is_empty() {
            return results;
        }
        if let Err(e) = md.apply_all(records) {
            for (i, _) in &creating {
                results[*i] = Err(ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string()));
            }
            return results;
        }
        let image = md.image().clone();
        let wanted: Vec<(&TopicImage, i32)> = creating
            .iter()
            .flat_map(|(_, name)| {
                let t = &image.topics[name];
                (0..t.partitions).map(move |index| (t, index))
            })
            .collect();
        let mut opened = self.open_partitions_each(&image, &wanted).into_iter();
        let mut undo = Vec::new();
        for (i, name) in &creating {
            let topic = &image.topics[name];
            let partitions: Vec<_> = opened.by_ref().take(topic.partitions as usize).collect();
            match partitions.into_iter().collect::<Result<Vec<Arc<Partition>>>>() {
                Ok(partitions) => {
                    let (_, _, min_isr) = self.log_settings_for(&image, &topic.configs);
                    let tp = Arc::new(TopicPartitions { id: topic.id, partitions, min_insync_replicas: min_isr.into() });
                    self.topics.write().unwrap_or_else(|p| p.into_inner()).insert(name.clone(), tp);
                    tracing::info!(topic = %name, partitions = topic.partitions, id = %topic.id, "created topic");
                }
                Err(e) => {
                    tracing::error!(topic = %name, error = %e, "cannot open the new topic's partitions");
                    undo.push(MetadataRecord::DeleteTopic { name: name.clone() });
                    results[*i] = Err(ApiError::new(codes::KAFKA_STORAGE_ERROR, e.to_string()));
                }
            }
        }
        if let Err(e) = md.apply_all(undo) {
            tracing::error!(error = %e, "cannot remove topics whose partitions failed to open from the metadata image");
        }
        results
    }

    /// Validates one new topic against `image` (and `taken`: its name is already being created
    /// earlier in the same batch); returns a fresh topic id and the resolved counts.
    fn check_new_topic(&self, image: &MetadataImage, t: &NewTopic, taken: bool) -> std::result::Result<(Uuid, i32, i16), ApiError> {
        let (name, partitions, replication_factor, assignments) = (t.name.as_str(), t.partitions, t.replication_factor, &t.assignments);
        validate_topic_name(name).map_err(|m| ApiError::new(codes::INVALID_TOPIC_EXCEPTION, m))?;
        if taken || image.topics.contains_key(name) {
            return Err(ApiError::new(codes::TOPIC_ALREADY_EXISTS, format!("Topic '{name}' already exists.")));
        }
        let (partitions, replication_factor) = if !assignments.is_empty() {
            if partitions != -1 || replication_factor != -1 {
                return Err(ApiError::new(codes::INVALID_REQUEST, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time."));
            }
            let rf = assignments[0].1.len();
            for (i, (p, replicas)) in assignments.iter().enumerate() {
                if *p != i as i32 {
                    return Err(ApiError::new(codes::INVALID_REPLICA_ASSIGNMENT, "Partitions should be a consecutive 0-based integer sequence"));
                }
                if replicas.len() != rf || replicas.is_empty() {
                    return Err(ApiError::new(codes::INVALID_REPLICA_ASSIGNMENT, "All partitions should have the same number of replicas"));
                }
                if let Some(b) = replicas.iter().find(|b| **b != self.config.node_id) {
                    return Err(ApiError::new(codes::INVALID_REPLICA_ASSIGNMENT, format!("Unknown broker id {b} in replica assignment")));
                }
            }
            (assignments.len() as i32, rf as i16)
        } else {
            let p = if partitions == -1 { self.config.num_partitions } else { partitions };
            let rf = if replication_factor == -1 { self.config.default_replication_factor } else { replication_factor };
            (p, rf)
        };
        if partitions < 1 {
            return Err(ApiError::new(codes::INVALID_PARTITIONS, "Number of partitions was set to an invalid non-positive value."));
        }
        // Bound on the work of one request (a directory and three files per partition); open
        // descriptors are bounded by the segment file cache, not by this.
        if partitions > 10_000 {
            return Err(ApiError::new(codes::INVALID_PARTITIONS, format!("Number of partitions {partitions} exceeds this broker's limit of 10000.")));
        }
        if replication_factor < 1 {
            return Err(ApiError::new(codes::INVALID_REPLICATION_FACTOR, "Replication factor must be larger than 0, or -1 to use the default value."));
        }
        if replication_factor as usize > self.live_brokers() {
            return Err(ApiError::new(
                codes::INVALID_REPLICATION_FACTOR,
                format!("Unable to replicate the partition {replication_factor} time(s): The target replication factor of {replication_factor} cannot be reached because only {} broker(s) are registered.", self.live_brokers()),
            ));
        }
        topic_config::validate_topic_configs(&t.configs).map_err(|m| ApiError::new(codes::INVALID_CONFIG, m))?;
        Ok((Uuid::new_v4(), partitions, replication_factor))
    }

    pub fn delete_topic(&self, name: &str) -> std::result::Result<Uuid, ApiError> {
        let mut md = lock(&self.metadata);
        let Some(t) = md.image().topics.get(name).cloned() else {
            return Err(ApiError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, codes::default_message(codes::UNKNOWN_TOPIC_OR_PARTITION)));
        };
        md.apply(MetadataRecord::DeleteTopic { name: name.to_string() })
            .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string()))?;
        let removed = self.topics.write().unwrap_or_else(|p| p.into_inner()).remove(name);
        drop(md);
        self.groups.forget_topic(name);
        if let Some(tp) = removed {
            let logs: Vec<_> = tp.partitions.iter().filter_map(|p| p.take_log()).collect();
            // Deleting files can be slow; do it off the request path.
            std::thread::spawn(move || {
                for log in logs {
                    let dir = log.dir().to_path_buf();
                    if let Err(e) = log.delete() {
                        tracing::warn!(dir = %dir.display(), error = %e, "could not remove a deleted partition's directory");
                    }
                }
            });
        }
        tracing::info!(topic = name, id = %t.id, "deleted topic");
        Ok(t.id)
    }

    pub fn create_partitions(&self, name: &str, total: i32, validate_only: bool) -> std::result::Result<(), ApiError> {
        let mut md = lock(&self.metadata);
        let Some(current) = md.image().topics.get(name).map(|t| t.partitions) else {
            return Err(ApiError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, format!("The topic '{name}' does not exist.")));
        };
        if total < current {
            return Err(ApiError::new(codes::INVALID_PARTITIONS, format!("Topic currently has {current} partitions, which is higher than the requested {total}.")));
        }
        if total == current {
            return Err(ApiError::new(codes::INVALID_PARTITIONS, format!("Topic already has {current} partitions.")));
        }
        if total > 10_000 {
            return Err(ApiError::new(codes::INVALID_PARTITIONS, format!("Number of partitions {total} exceeds this broker's limit of 10000.")));
        }
        if validate_only {
            return Ok(());
        }
        md.apply(MetadataRecord::CreatePartitions { name: name.to_string(), total })
            .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string()))?;
        let image = md.image().clone();
        let topic = &image.topics[name];
        let added = self.open_topic(&image, topic, current).map_err(|e| ApiError::new(codes::KAFKA_STORAGE_ERROR, e.to_string()))?;
        let mut topics = self.topics.write().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = topics.get(name).cloned() {
            let mut parts = old.partitions.clone();
            parts.extend(added.partitions.iter().cloned());
            let min_isr = old.min_insync_replicas.load(Ordering::Relaxed);
            topics.insert(name.to_string(), Arc::new(TopicPartitions { id: old.id, partitions: parts, min_insync_replicas: min_isr.into() }));
        }
        tracing::info!(topic = name, from = current, to = total, "added partitions");
        Ok(())
    }

    /// Replaces a topic's config overrides (validated) and applies them to its live logs.
    pub fn set_topic_configs(&self, name: &str, configs: BTreeMap<String, String>, validate_only: bool) -> std::result::Result<(), ApiError> {
        topic_config::validate_topic_configs(&configs).map_err(|m| ApiError::new(codes::INVALID_CONFIG, m))?;
        let mut md = lock(&self.metadata);
        if !md.image().topics.contains_key(name) {
            return Err(ApiError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, codes::default_message(codes::UNKNOWN_TOPIC_OR_PARTITION)));
        }
        if validate_only {
            return Ok(());
        }
        md.apply(MetadataRecord::SetTopicConfigs { name: name.to_string(), configs })
            .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string()))?;
        let image = md.image().clone();
        drop(md);
        self.reconfigure_logs(&image, Some(name));
        Ok(())
    }

    /// Replaces dynamic broker configs (keys are broker names such as `log.retention.ms`).
    pub fn set_broker_configs(&self, cluster_default: bool, configs: BTreeMap<String, String>, validate_only: bool) -> std::result::Result<(), ApiError> {
        for (k, v) in &configs {
            let def = topic_config::broker_synonym_def(k).ok_or_else(|| {
                ApiError::new(codes::INVALID_CONFIG, format!("Cannot update these configs dynamically: Set({k})"))
            })?;
            topic_config::validate(def, v).map_err(|m| ApiError::new(codes::INVALID_CONFIG, m.replace(def.name, k)))?;
        }
        if validate_only {
            return Ok(());
        }
        let mut md = lock(&self.metadata);
        md.apply(MetadataRecord::SetBrokerConfigs { cluster_default, configs })
            .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string()))?;
        let image = md.image().clone();
        drop(md);
        self.reconfigure_logs(&image, None);
        Ok(())
    }

    fn reconfigure_logs(&self, image: &MetadataImage, only: Option<&str>) {
        for t in image.topics.values() {
            if only.is_some_and(|n| n != t.name) {
                continue;
            }
            let (lc, ratio, min_isr) = self.log_settings_for(image, &t.configs);
            if let Some(tp) = self.topic(&t.name) {
                tp.min_insync_replicas.store(min_isr, Ordering::Relaxed);
                for p in &tp.partitions {
                    let _ = p.with_log(|log| {
                        log.set_config(lc.clone());
                        log.set_min_cleanable_dirty_ratio(ratio);
                    });
                }
            }
        }
    }

    /// Allocates a new producer id (InitProducerId). Ids come in persisted blocks.
    pub fn allocate_producer_id(&self) -> std::result::Result<i64, ApiError> {
        let mut next = lock(&self.next_producer_id);
        let mut md = lock(&self.metadata);
        if *next >= md.image().producer_id_block_end {
            let end = md.image().producer_id_block_end.max(*next) + metadata::PRODUCER_ID_BLOCK_SIZE;
            md.apply(MetadataRecord::AllocateProducerIds { block_end: end })
                .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, e.to_string()))?;
        }
        let id = *next;
        *next += 1;
        assert!(id < md.image().producer_id_block_end, "producer ids are handed out only inside an allocated block");
        Ok(id)
    }

    /// Runs `Log::maintain` on every partition (roll, retention, flush).
    pub fn maintain(&self) {
        let now = now_ms();
        for p in self.all_partitions() {
            match p.with_log(|log| log.maintain(now)) {
                Ok(Ok(deleted)) if deleted > 0 => {
                    tracing::info!(topic = %p.topic, partition = p.index, segments = deleted, "retention deleted segments")
                }
                Ok(Err(e)) => tracing::warn!(topic = %p.topic, partition = p.index, error = %e, "log maintenance failed"),
                _ => {}
            }
        }
    }

    /// Runs at most one compaction job per partition (Kafka's single cleaner thread): the job is
    /// taken under the partition lock, run without it, and installed under it again, so appends
    /// and fetches continue meanwhile. Returns the number of jobs installed.
    pub fn compact_once(&self, shutdown: &watch::Receiver<bool>) -> usize {
        let mut installed = 0;
        for p in self.all_partitions() {
            if *shutdown.borrow() {
                break;
            }
            let Ok(Some(job)) = p.with_log(|log| log.compaction_job(now_ms())) else { continue };
            let started = std::time::Instant::now();
            match job.run() {
                Ok(done) => match p.with_log(|log| log.install_compaction(done)) {
                    Ok(Ok(r)) => {
                        installed += 1;
                        tracing::info!(topic = %p.topic, partition = p.index, segments = r.segments_replaced, bytes_before = r.bytes_before, bytes_after = r.bytes_after, records_removed = r.records_removed, skipped = r.groups_skipped, elapsed_ms = started.elapsed().as_millis() as u64, "compacted");
                    }
                    Ok(Err(e)) => tracing::warn!(topic = %p.topic, partition = p.index, error = %e, "installing compaction failed"),
                    Err(_) => {} // partition deleted meanwhile; the result's files are dropped with it
                },
                Err(e) => tracing::warn!(topic = %p.topic, partition = p.index, error = %e, "compaction failed"),
            }
        }
        installed
    }

    /// Clean shutdown of every log: `oxbow_log::close_many`, which makes all of them durable
    /// with a few filesystem-wide syncs rather than several fsyncs per log. Returns the number
    /// of logs not closed cleanly (their next open recovers them).
    pub fn close_all(&self) -> usize {
        let logs: Vec<oxbow_log::Log> = self.all_partitions().into_iter().filter_map(|p| p.take_log()).collect();
        let failed = oxbow_log::close_many(logs, CLOSE_THREADS_MAX);
        for (dir, e) in &failed {
            tracing::warn!(dir = %dir.display(), error = %e, "closing the log failed");
        }
        failed.len()
    }

    /// Writes checkpoints for every partition.
    pub fn checkpoint_all(&self) -> usize {
        let mut failed = 0;
        for p in self.all_partitions() {
            if let Ok(Err(e)) = p.with_log(|log| log.checkpoint()) {
                failed += 1;
                tracing::warn!(topic = %p.topic, partition = p.index, error = %e, "checkpoint failed");
            }
        }
        failed
    }
}

/// Converts an error of a start-up step into the crate error.
pub(crate) fn data_dir_error(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::DataDir { path: path.to_path_buf(), source: e }
}

/// Records a produce in the broker counters.
pub(crate) fn count_in(stats: &BrokerStats, bytes: u64, records: u64) {
    stats.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    stats.records_in.fetch_add(records, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn open_state(dir: &std::path::Path) -> BrokerState {
        let config = BrokerConfig { data_dir: dir.to_path_buf(), ..BrokerConfig::default() };
        let (_tx, rx) = watch::channel(false);
        BrokerState::open(config, "127.0.0.1".into(), 9092, rx, oxbow_log::FileCache::new(256, 256)).unwrap()
    }

    fn one_record() -> bytes::BytesMut {
        let record = oxbow_log::record::Record {
            attributes: 0,
            timestamp_delta: 0,
            offset_delta: 0,
            key: None,
            value: Some(bytes::Bytes::from_static(b"v")),
            headers: Vec::new(),
        };
        let spec = oxbow_log::record::BatchSpec::simple(0, now_ms(), now_ms());
        bytes::BytesMut::from(&oxbow_log::record::encode_batch(&spec, &[record]).unwrap()[..])
    }

    fn new_topic(name: &str) -> NewTopic {
        NewTopic { name: name.into(), partitions: -1, replication_factor: -1, assignments: Vec::new(), configs: BTreeMap::new() }
    }

    #[test]
    fn create_topics_writes_the_image_once_and_the_topics_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let image_file = dir.path().join(metadata::METADATA_FILE);
        {
            let state = open_state(dir.path());
            assert!(state.create_topic("existing", 1, 1, &[], BTreeMap::new(), false).is_ok());
            let writes = lock(&state.metadata).persisted();
            let inode = std::fs::metadata(&image_file).unwrap().ino();

            let mut batch: Vec<NewTopic> = (0..300).map(|i| new_topic(&format!("t-{i}"))).collect();
            batch.push(new_topic("existing"));
            batch.push(new_topic("bad name"));
            batch.push(NewTopic { partitions: 3, ..new_topic("three") });
            let results = state.create_topics(batch, false);
            assert_eq!(results.len(), 303);
            assert!(results[..300].iter().all(|r| r.is_ok()));
            assert_eq!(results[300].as_ref().unwrap_err().code, codes::TOPIC_ALREADY_EXISTS);
            assert_eq!(results[301].as_ref().unwrap_err().code, codes::INVALID_TOPIC_EXCEPTION);
            assert_eq!(results[302].as_ref().unwrap().1, 3);
            assert_eq!(lock(&state.metadata).persisted(), writes + 1, "one image write for the whole batch");
            assert_ne!(std::fs::metadata(&image_file).unwrap().ino(), inode, "the image was replaced");

            // validate_only writes nothing.
            assert!(state.create_topics(vec![new_topic("dry")], true)[0].is_ok());
            assert_eq!(lock(&state.metadata).persisted(), writes + 1);
            assert!(state.topic("dry").is_none());

            for name in ["t-0", "t-299", "three"] {
                let p = state.partition(name, 0).unwrap();
                p.append(one_record(), 1, 1, now_ms()).unwrap();
            }
            assert_eq!(state.close_all(), 0);
        }
        let state = open_state(dir.path());
        let image = state.image();
        assert_eq!(image.topics.len(), 302);
        assert_eq!(image.topics["three"].partitions, 3);
        for name in ["t-0", "t-299", "three"] {
            assert_eq!(state.partition(name, 0).unwrap().offsets().unwrap().log_end_offset, 1, "{name}");
        }
        assert_eq!(state.partition("t-1", 0).unwrap().offsets().unwrap().log_end_offset, 0);
        assert!(state.topic("dry").is_none());
    }
}
