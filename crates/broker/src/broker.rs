//! `BrokerState`: everything one broker shares between connections — static config, its copy of
//! the metadata image (kept current by the quorum), the partition replicas it hosts, replica
//! fetchers, the group coordinator, producer ids, fault switches, bounds and counters.
//!
//! Cluster changes (create/delete topics, partitions, configs, ISR changes) are *proposed*: a
//! method here checks the request against the local image, builds [`MetadataRecord`]s, proposes
//! them through the quorum and waits until this broker has applied and reconciled the result, so
//! a client that created a topic here sees it here at once. Every broker then reconciles its
//! hosted replicas with the image ([`BrokerState::reconcile`]): it opens logs for partitions
//! assigned to it, leads or follows as the image says, and removes what is no longer its own.
//! This module does not speak the protocol.

use crate::config::BrokerConfig;
use crate::controller::placement::{self, Candidate};
use crate::coordinator::group::{self, Appended, GroupCoordinator, OffsetsLog, OFFSETS_TOPIC};
use crate::coordinator::txn;
use crate::coordinator::txn_coordinator::{TxnCoordinator, TXN_TOPIC};
use crate::events::EventLog;
use crate::faults::BrokerFaults;
use crate::metadata::{
    self, CommandResults, MetadataCommand, MetadataImage, MetadataRecord, PartitionChange, PartitionImage, TopicImage,
    NO_LEADER,
};
use crate::partition::{IsrProposal, Partition};
use crate::replica::fetcher::ReplicaFetchers;
use crate::topic_config;
use crate::{codes, Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use uuid::Uuid;

/// Threads that open logs when partitions arrive (start-up, new topics). Opening is
/// fsync-bound, so overlapping many opens lets one journal commit cover several of them.
const OPEN_THREADS_MAX: usize = 16;

/// Threads that close logs at shutdown (see `close_all`).
const CLOSE_THREADS_MAX: usize = 16;

/// How long an admin request waits for its change to be committed and applied here.
pub(crate) const PROPOSE_TIMEOUT_MS: u64 = 15_000;

/// Most partitions one CreateTopics or CreatePartitions may ask for per topic: a bound on the
/// work of one request (a directory and three files per partition per replica).
const PARTITIONS_PER_TOPIC_MAX: i32 = 10_000;

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

/// The replicas of one topic hosted here, by partition index (`None`: not a replica here).
pub(crate) struct TopicPartitions {
    pub id: Uuid,
    pub partitions: Vec<Option<Arc<Partition>>>,
    /// Effective `min.insync.replicas`, kept current by reconciliation so Produce need not
    /// resolve the topic's configs on every request.
    pub min_insync_replicas: AtomicI32,
    /// Replicas of this topic throttled on this broker as leader / as follower (KIP-73).
    pub leader_throttled: topic_config::ThrottledReplicas,
    pub follower_throttled: topic_config::ThrottledReplicas,
    /// The topic image these were last reconciled with (pointer-compared to skip unchanged topics).
    seen: Arc<TopicImage>,
}

impl TopicPartitions {
    pub fn get(&self, index: i32) -> Option<&Arc<Partition>> {
        usize::try_from(index).ok().and_then(|i| self.partitions.get(i)).and_then(Option::as_ref)
    }
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

impl From<metadata::ApplyError> for ApiError {
    fn from(e: metadata::ApplyError) -> Self {
        ApiError { code: e.code, message: e.message }
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

/// A hosted topic's settings from its effective configs.
struct TopicSettings {
    log: oxbow_log::LogConfig,
    min_cleanable_dirty_ratio: f64,
    min_insync_replicas: i32,
    leader_throttled: topic_config::ThrottledReplicas,
    follower_throttled: topic_config::ThrottledReplicas,
}

/// Producer ids this broker may hand out: `[next, end)`.
struct ProducerIdBlock {
    next: i64,
    end: i64,
}

pub(crate) struct BrokerState {
    pub config: BrokerConfig,
    pub cluster_id: String,
    /// Host and port advertised in Metadata and FindCoordinator.
    pub advertised_host: String,
    pub advertised_port: i32,
    /// New for every start (Kafka's incarnation id).
    pub incarnation: Uuid,
    pub quorum: oxbow_quorum::Quorum,
    image: watch::Receiver<Arc<MetadataImage>>,
    /// The metadata index this broker's replicas were last reconciled with.
    reconciled: watch::Sender<u64>,
    /// Serialises reconciliation (the reconcile task and admin requests waiting on it).
    reconcile_lock: Mutex<Option<Arc<MetadataImage>>>,
    topics: RwLock<HashMap<String, Arc<TopicPartitions>>>,
    pub groups: Arc<GroupCoordinator>,
    pub txns: Arc<TxnCoordinator>,
    producer_ids: tokio::sync::Mutex<ProducerIdBlock>,
    /// Permits for fetches that wait for data; see `BrokerConfig::max_parked_fetches`.
    pub parked_fetches: Arc<Semaphore>,
    pub shutdown: watch::Receiver<bool>,
    /// Set when the broker is killed (a fault): connections drop at once.
    pub killed: watch::Receiver<bool>,
    pub stats: BrokerStats,
    /// Every partition's open segment files and index mappings, bounded together.
    pub files: Arc<oxbow_log::FileCache>,
    pub fetchers: ReplicaFetchers,
    pub faults: Arc<BrokerFaults>,
    pub events: Arc<EventLog>,
    /// Heartbeat times, when this broker is the active controller.
    pub controller: crate::controller::Controller,
    pub throttle: crate::replica::throttle::Throttle,
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

/// Random draws for placement (start broker and shift), from the OS's randomness via UUIDs.
fn random_usize() -> usize {
    (Uuid::new_v4().as_u128() as u64) as usize
}

impl BrokerState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: BrokerConfig,
        cluster_id: String,
        advertised_host: String,
        advertised_port: i32,
        quorum: oxbow_quorum::Quorum,
        image: watch::Receiver<Arc<MetadataImage>>,
        shutdown: watch::Receiver<bool>,
        killed: watch::Receiver<bool>,
        files: Arc<oxbow_log::FileCache>,
        faults: Arc<BrokerFaults>,
        events: Arc<EventLog>,
    ) -> BrokerState {
        BrokerState {
            groups: Arc::new(GroupCoordinator::new(&config)),
            txns: Arc::new(TxnCoordinator::new(&config)),
            parked_fetches: Arc::new(Semaphore::new(config.max_parked_fetches)),
            producer_ids: tokio::sync::Mutex::new(ProducerIdBlock { next: 0, end: 0 }),
            cluster_id,
            advertised_host,
            advertised_port,
            incarnation: Uuid::new_v4(),
            quorum,
            image,
            reconciled: watch::channel(0).0,
            reconcile_lock: Mutex::new(None),
            topics: RwLock::new(HashMap::new()),
            shutdown,
            killed,
            controller: Default::default(),
            throttle: Default::default(),
            stats: BrokerStats::default(),
            config,
            files,
            fetchers: ReplicaFetchers::default(),
            faults,
            events,
        }
    }

    fn partition_dir(&self, topic: &str, index: i32) -> PathBuf {
        self.config.data_dir.join(format!("{topic}-{index}"))
    }

    /// The current metadata image (cheap: a shared pointer).
    pub fn image(&self) -> Arc<MetadataImage> {
        self.image.borrow().clone()
    }

    pub fn cluster_id(&self) -> String {
        self.cluster_id.clone()
    }

    /// This broker's dynamic configs in `image`.
    pub fn own_broker_configs<'a>(&self, image: &'a MetadataImage) -> &'a BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        image.broker_configs.get(&self.config.node_id).unwrap_or(&EMPTY)
    }

    /// Where broker `id`'s Kafka listener is, per its registration.
    pub fn broker_address(&self, id: i32) -> Option<SocketAddr> {
        let image = self.image();
        let b = image.brokers.get(&id)?;
        let ip: std::net::IpAddr =
            b.host.parse().ok().or_else(|| (b.host == "localhost").then_some(std::net::Ipv4Addr::LOCALHOST.into()))?;
        Some(SocketAddr::new(ip, u16::try_from(b.port).ok()?))
    }

    pub fn topic(&self, name: &str) -> Option<Arc<TopicPartitions>> {
        self.topics.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    /// The replica of `topic`-`index` hosted here, if any.
    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.topic(topic)?.get(index).cloned()
    }

    /// The partition if this broker leads it; else the code to answer with.
    pub fn leader_partition(&self, topic: &str, index: i32) -> std::result::Result<Arc<Partition>, i16> {
        match self.partition(topic, index) {
            Some(p) if p.is_leader() => Ok(p),
            Some(_) => Err(codes::NOT_LEADER_OR_FOLLOWER),
            None => Err(self.missing_partition_code(topic, index)),
        }
    }

    /// The group coordinator's view of this broker's `__consumer_offsets` partitions.
    pub fn offsets_log(self: &Arc<Self>) -> Arc<dyn OffsetsLog> {
        self.clone()
    }

    /// The broker that coordinates `group`: the leader of its `__consumer_offsets` partition
    /// (`abs(javaHash(group)) % partitions`). Creates the topic first if it does not exist yet.
    /// Errors: COORDINATOR_NOT_AVAILABLE while the topic cannot be created or the partition has
    /// no live leader, with a message saying which.
    pub async fn find_group_coordinator(
        self: &Arc<Self>,
        group: &str,
    ) -> std::result::Result<metadata::BrokerRegistration, ApiError> {
        self.ensure_offsets_topic().await?;
        let image = self.image();
        let Some(topic) = image.topics.get(OFFSETS_TOPIC) else {
            return Err(ApiError::new(
                codes::COORDINATOR_NOT_AVAILABLE,
                format!("The {OFFSETS_TOPIC} topic is being created."),
            ));
        };
        let partition = group::partition_for(group, topic.partition_count());
        let leader = topic.partitions.get(partition as usize).map_or(NO_LEADER, |p| p.leader);
        match image.brokers.get(&leader).filter(|b| !b.fenced) {
            Some(b) => Ok(b.clone()),
            None => Err(ApiError::new(
                codes::COORDINATOR_NOT_AVAILABLE,
                format!("Partition {OFFSETS_TOPIC}-{partition} of group '{group}' has no live leader."),
            )),
        }
    }

    /// Creates `__consumer_offsets` if it does not exist, with Kafka's internal-topic settings:
    /// `offsets.topic.num.partitions` partitions, `offsets.topic.replication.factor` capped to
    /// the live brokers (Kafka would refuse; a warning says so), compacted, `compression.type`
    /// producer, `offsets.topic.segment.bytes` segments.
    pub async fn ensure_offsets_topic(self: &Arc<Self>) -> std::result::Result<(), ApiError> {
        let configs = [
            ("compression.type", "producer".to_string()),
            ("segment.bytes", self.config.offsets_topic_segment_bytes.to_string()),
        ];
        self.ensure_internal_topic(
            OFFSETS_TOPIC,
            self.config.offsets_topic_num_partitions,
            self.config.offsets_topic_replication_factor,
            None,
            &configs,
        )
        .await
    }

    /// Creates `__transaction_state` if it does not exist, as Kafka's transaction coordinator
    /// does: `transaction.state.log.num.partitions` partitions, `.replication.factor` capped to
    /// the live brokers, `min.insync.replicas` from `.min.isr` capped to that, compacted,
    /// uncompressed, `.segment.bytes` segments.
    pub async fn ensure_txn_topic(self: &Arc<Self>) -> std::result::Result<(), ApiError> {
        let c = &self.config;
        let configs = [
            ("compression.type", "uncompressed".to_string()),
            ("segment.bytes", c.transaction_state_log_segment_bytes.to_string()),
        ];
        self.ensure_internal_topic(
            TXN_TOPIC,
            c.transaction_state_log_num_partitions,
            c.transaction_state_log_replication_factor,
            Some(c.transaction_state_log_min_isr),
            &configs,
        )
        .await
    }

    async fn ensure_internal_topic(
        self: &Arc<Self>,
        name: &str,
        partitions: i32,
        wanted_rf: i16,
        min_isr: Option<i32>,
        extra: &[(&str, String)],
    ) -> std::result::Result<(), ApiError> {
        if self.image().topics.contains_key(name) {
            return Ok(());
        }
        let live = self.image().live_brokers().count();
        let rf = wanted_rf.min(live.max(1) as i16);
        if rf < wanted_rf {
            tracing::warn!(live, wanted = wanted_rf, rf, "creating {name} with replication factor {rf}: only {live} brokers are alive (Kafka would refuse until {wanted_rf} are)");
        }
        let mut configs: BTreeMap<String, String> = extra.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        configs.insert("cleanup.policy".into(), "compact".into());
        if let Some(min_isr) = min_isr {
            configs.insert("min.insync.replicas".into(), min_isr.min(i32::from(rf)).to_string());
        }
        match self.create_topic(name, partitions, rf, configs).await {
            Ok(_) => {
                tracing::info!(partitions, replication_factor = rf, "created {name}");
                Ok(())
            }
            Err(e) if e.code == codes::TOPIC_ALREADY_EXISTS => Ok(()),
            Err(e) => {
                Err(ApiError::new(codes::COORDINATOR_NOT_AVAILABLE, format!("Could not create {name}: {}", e.message)))
            }
        }
    }

    /// The broker that coordinates `transactional_id`: the leader of its `__transaction_state`
    /// partition, the topic created first if needed (as [`Self::find_group_coordinator`]).
    pub async fn find_txn_coordinator(
        self: &Arc<Self>,
        transactional_id: &str,
    ) -> std::result::Result<metadata::BrokerRegistration, ApiError> {
        self.ensure_txn_topic().await?;
        let image = self.image();
        let Some(topic) = image.topics.get(TXN_TOPIC) else {
            return Err(ApiError::new(
                codes::COORDINATOR_NOT_AVAILABLE,
                format!("The {TXN_TOPIC} topic is being created."),
            ));
        };
        let partition = txn::partition_for(transactional_id, topic.partition_count());
        let leader = topic.partitions.get(partition as usize).map_or(NO_LEADER, |p| p.leader);
        match image.brokers.get(&leader).filter(|b| !b.fenced) {
            Some(b) => Ok(b.clone()),
            None => Err(ApiError::new(
                codes::COORDINATOR_NOT_AVAILABLE,
                format!(
                    "Partition {TXN_TOPIC}-{partition} of transactional id '{transactional_id}' has no live leader."
                ),
            )),
        }
    }

    /// Loads or unloads transaction coordinator shards as this broker's leaderships of
    /// `__transaction_state` partitions say (called at the end of every reconciliation).
    fn reconcile_txn_shards(self: &Arc<Self>, image: &MetadataImage) {
        let me = self.config.node_id;
        let Some(topic) = image.topics.get(TXN_TOPIC) else {
            for p in self.txns.led_partitions() {
                self.txns.on_resign(p);
            }
            return;
        };
        self.txns.set_partition_count(topic.partition_count());
        let hosted = self.topic(TXN_TOPIC);
        for (i, p) in topic.partitions.iter().enumerate() {
            let i = i as i32;
            let part = hosted.as_ref().and_then(|tp| tp.get(i));
            let leading = p.leader == me && part.is_some_and(|x| x.is_leader() && x.leader_epoch() == p.leader_epoch);
            if leading {
                self.txns.on_leader(self, i, p.leader_epoch);
            } else {
                self.txns.on_resign(i);
            }
        }
        for p in self.txns.led_partitions().into_iter().filter(|p| *p >= topic.partition_count()) {
            self.txns.on_resign(p);
        }
    }

    /// Loads or unloads group shards as this broker's leaderships of `__consumer_offsets`
    /// partitions say (called at the end of every reconciliation).
    fn reconcile_group_shards(self: &Arc<Self>, image: &MetadataImage) {
        let me = self.config.node_id;
        let Some(topic) = image.topics.get(OFFSETS_TOPIC) else {
            for p in self.groups.led_partitions() {
                self.groups.on_resign(p);
            }
            return;
        };
        self.groups.set_partition_count(topic.partition_count());
        let hosted = self.topic(OFFSETS_TOPIC);
        let log = self.offsets_log();
        for (i, p) in topic.partitions.iter().enumerate() {
            let i = i as i32;
            let part = hosted.as_ref().and_then(|tp| tp.get(i));
            let leading = p.leader == me && part.is_some_and(|x| x.is_leader() && x.leader_epoch() == p.leader_epoch);
            if leading {
                self.groups.on_leader(&log, i, p.leader_epoch);
            } else {
                self.groups.on_resign(i);
            }
        }
        for p in self.groups.led_partitions().into_iter().filter(|p| *p >= topic.partition_count()) {
            self.groups.on_resign(p);
        }
    }

    /// The current leader of a partition and its epoch, with the leader's registration, for
    /// KIP-951's hints in NOT_LEADER_OR_FOLLOWER answers (`None` when unknown or offline).
    pub fn leader_hint(&self, topic: &str, index: i32) -> Option<(i32, i32, metadata::BrokerRegistration)> {
        let image = self.image();
        let p = image.partition(topic, index)?;
        let reg = image.brokers.get(&p.leader).filter(|b| !b.fenced)?.clone();
        Some((p.leader, p.leader_epoch, reg))
    }

    /// Why a partition is not served here: unknown to the cluster, or hosted elsewhere.
    pub fn missing_partition_code(&self, topic: &str, index: i32) -> i16 {
        match self.image().partition(topic, index) {
            Some(_) => codes::NOT_LEADER_OR_FOLLOWER,
            None => codes::UNKNOWN_TOPIC_OR_PARTITION,
        }
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        let topics = self.topics.read().unwrap_or_else(|p| p.into_inner());
        topics.values().flat_map(|t| t.partitions.iter().flatten().cloned()).collect()
    }

    /// Effective `min.insync.replicas` of a topic (1 for an unknown topic).
    pub fn min_insync_replicas(&self, topic: &str) -> i32 {
        self.topic(topic).map(|t| t.min_insync_replicas.load(Ordering::Relaxed)).unwrap_or(1)
    }

    /// The log config, `min.cleanable.dirty.ratio` and `min.insync.replicas` for a topic.
    fn log_settings_for(
        &self,
        image: &MetadataImage,
        overrides: &BTreeMap<String, String>,
    ) -> (oxbow_log::LogConfig, f64, i32) {
        let s = self.topic_settings(image, overrides);
        (s.log, s.min_cleanable_dirty_ratio, s.min_insync_replicas)
    }

    /// Everything a hosted topic needs from its effective configs.
    fn topic_settings(&self, image: &MetadataImage, overrides: &BTreeMap<String, String>) -> TopicSettings {
        let resolved = topic_config::resolve_topic(
            &self.config,
            self.own_broker_configs(image),
            &image.cluster_configs,
            overrides,
        );
        let eff = topic_config::effective_map(&resolved);
        let me = self.config.node_id;
        let list =
            |name: &str| topic_config::ThrottledReplicas::parse(eff.get(name).map(String::as_str).unwrap_or(""), me);
        TopicSettings {
            min_cleanable_dirty_ratio: eff
                .get("min.cleanable.dirty.ratio")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or(0.5),
            min_insync_replicas: eff.get("min.insync.replicas").and_then(|v| v.trim().parse::<i32>().ok()).unwrap_or(1),
            leader_throttled: list("leader.replication.throttled.replicas"),
            follower_throttled: list("follower.replication.throttled.replicas"),
            log: topic_config::log_config(&self.config, &eff),
        }
    }

    /// This broker's replication throttle rates (its dynamic config, else the cluster default).
    fn throttle_rates(&self, image: &MetadataImage) -> (u64, u64) {
        let rate = |name: &str| {
            self.own_broker_configs(image)
                .get(name)
                .or_else(|| image.cluster_configs.get(name))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(crate::replica::throttle::UNTHROTTLED)
        };
        (rate("leader.replication.throttled.rate"), rate("follower.replication.throttled.rate"))
    }

    /// Whether a topic allows unclean leader election.
    pub fn unclean_election_enabled(&self, image: &MetadataImage, topic: &TopicImage) -> bool {
        let resolved = topic_config::resolve_topic(
            &self.config,
            self.own_broker_configs(image),
            &image.cluster_configs,
            &topic.configs,
        );
        topic_config::effective_map(&resolved).get("unclean.leader.election.enable").is_some_and(|v| v.trim() == "true")
    }

    // ---- proposing changes ----

    /// Proposes `groups` through the quorum and waits until this broker has reconciled the
    /// result. One result per group.
    pub async fn propose(
        self: &Arc<Self>,
        groups: Vec<Vec<MetadataRecord>>,
    ) -> std::result::Result<CommandResults, ApiError> {
        let n = groups.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let bytes = serde_json::to_vec(&MetadataCommand { groups }).expect("metadata records serialise");
        let timeout = Duration::from_millis(PROPOSE_TIMEOUT_MS);
        let (index, reply) = match tokio::time::timeout(timeout, self.quorum.propose_indexed(bytes)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                return Err(ApiError::new(
                    codes::NOT_CONTROLLER,
                    format!("The metadata quorum did not take the change: {e}"),
                ))
            }
            Err(_) => {
                return Err(ApiError::new(
                    codes::REQUEST_TIMED_OUT,
                    format!("The metadata quorum did not commit the change within {PROPOSE_TIMEOUT_MS} ms"),
                ))
            }
        };
        let results: CommandResults = serde_json::from_slice(&reply)
            .map_err(|e| ApiError::new(codes::UNKNOWN_SERVER_ERROR, format!("bad metadata reply: {e}")))?;
        assert_eq!(results.len(), n, "one result per proposed group");
        // Read-your-writes on this broker: wait until the change is applied and reconciled here.
        let mut rx = self.reconciled.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|r| *r >= index)).await;
        Ok(results)
    }

    pub fn subscribe_reconciled(&self) -> watch::Receiver<u64> {
        self.reconciled.subscribe()
    }

    pub fn reconciled_index(&self) -> u64 {
        *self.reconciled.borrow()
    }

    /// Registers this broker (fenced until the controller sees it caught up).
    pub async fn register(self: &Arc<Self>) -> std::result::Result<(), ApiError> {
        let record = MetadataRecord::RegisterBroker {
            id: self.config.node_id,
            incarnation: self.incarnation,
            host: self.advertised_host.clone(),
            port: self.advertised_port,
            rack: self.config.rack.clone(),
        };
        let results = self.propose(vec![vec![record]]).await?;
        results.into_iter().next().expect("one group").map_err(ApiError::from)
    }

    // ---- reconciliation ----

    /// Brings the hosted replicas in line with the current image: opens partitions assigned
    /// here, sets each replica's role, starts or stops fetchers, removes replicas no longer
    /// assigned here, and applies config changes. Blocking (opens and deletes files): call it on
    /// a blocking thread. Topics whose image is unchanged since the last call are skipped.
    pub fn reconcile(self: &Arc<Self>) {
        let mut last = lock(&self.reconcile_lock);
        let image = self.image();
        if last.as_ref().is_some_and(|l| l.applied == image.applied) {
            return;
        }
        // A (re)started broker replays its local copy of the metadata log first, which may say it
        // leads partitions it no longer leads. It acts on the image only once its own
        // registration for this start is applied: that record was committed after everything
        // before it, so from then on the image is current (KRaft brokers likewise publish only
        // after catching up with the metadata log).
        if image.brokers.get(&self.config.node_id).is_none_or(|b| b.incarnation != self.incarnation) {
            return;
        }
        let configs_changed = last.as_ref().is_none_or(|l| {
            l.cluster_configs != image.cluster_configs || self.own_broker_configs(l) != self.own_broker_configs(&image)
        });
        let me = self.config.node_id;
        let now = now_ms();

        // Topics gone (deleted, or recreated under a new id).
        let current: Vec<(String, Arc<TopicPartitions>)> =
            self.topics.read().unwrap_or_else(|p| p.into_inner()).iter().map(|(n, t)| (n.clone(), t.clone())).collect();
        for (name, tp) in &current {
            if image.topics.get(name).is_none_or(|t| t.id != tp.id) {
                self.remove_topic_replicas(name, tp, image.topics.contains_key(name));
            }
        }

        // Partitions to open here.
        let mut wanted: Vec<(Arc<TopicImage>, i32)> = Vec::new();
        for t in image.topics.values() {
            let existing = self.topic(&t.name);
            if let Some(tp) = &existing {
                if Arc::ptr_eq(&tp.seen, t) && !configs_changed {
                    continue;
                }
            }
            for (i, p) in t.partitions.iter().enumerate() {
                if p.replicas.contains(&me) && existing.as_ref().and_then(|tp| tp.get(i as i32)).is_none() {
                    wanted.push((t.clone(), i as i32));
                }
            }
        }
        let opened = self.open_partitions(&image, &wanted);
        let mut opened_by_topic: HashMap<String, Vec<(i32, Arc<Partition>)>> = HashMap::new();
        for ((t, index), result) in wanted.iter().zip(opened) {
            match result {
                Ok(p) => opened_by_topic.entry(t.name.clone()).or_default().push((*index, p)),
                Err(e) => {
                    tracing::error!(topic = %t.name, partition = index, error = %e, "cannot open a replica assigned to this broker")
                }
            }
        }

        // Roles, fetchers and configs, topic by topic.
        for t in image.topics.values() {
            let existing = self.topic(&t.name);
            let unchanged = existing.as_ref().is_some_and(|tp| Arc::ptr_eq(&tp.seen, t));
            let fresh = opened_by_topic.remove(&t.name);
            if unchanged && fresh.is_none() && !configs_changed {
                continue;
            }
            let mut slots: Vec<Option<Arc<Partition>>> = vec![None; t.partitions.len()];
            if let Some(tp) = &existing {
                for (i, p) in tp.partitions.iter().enumerate().take(slots.len()) {
                    slots[i] = p.clone();
                }
            }
            for (i, p) in fresh.into_iter().flatten() {
                slots[i as usize] = Some(p);
            }
            let settings = self.topic_settings(&image, &t.configs);
            let (lc, ratio, min_isr) =
                (settings.log.clone(), settings.min_cleanable_dirty_ratio, settings.min_insync_replicas);
            for (i, p) in t.partitions.iter().enumerate() {
                let Some(part) = slots[i].clone() else { continue };
                if !p.replicas.contains(&me) {
                    // Reassigned away from this broker.
                    self.fetchers.unfollow(&t.name, i as i32);
                    slots[i] = None;
                    self.delete_replica(part);
                    continue;
                }
                if existing.as_ref().is_none_or(|tp| !Arc::ptr_eq(&tp.seen, t)) || configs_changed {
                    let _ = part.with_log(|log| {
                        log.set_config(lc.clone());
                        log.set_min_cleanable_dirty_ratio(ratio);
                    });
                }
                let refetch = part.apply_metadata(p, now);
                if p.leader == me || p.leader == NO_LEADER {
                    self.fetchers.unfollow(&t.name, i as i32);
                } else if refetch {
                    self.fetchers.follow(self, part.clone(), p.leader, p.leader_epoch);
                }
            }
            let hosted = slots.iter().any(Option::is_some);
            let mut topics = self.topics.write().unwrap_or_else(|p| p.into_inner());
            if hosted {
                let tp = TopicPartitions {
                    id: t.id,
                    partitions: slots,
                    min_insync_replicas: AtomicI32::new(min_isr),
                    leader_throttled: settings.leader_throttled,
                    follower_throttled: settings.follower_throttled,
                    seen: t.clone(),
                };
                topics.insert(t.name.clone(), Arc::new(tp));
            } else {
                topics.remove(&t.name);
            }
        }
        if configs_changed {
            let (leader, follower) = self.throttle_rates(&image);
            self.throttle.set_rates(leader, follower);
        }
        self.reconcile_group_shards(&image);
        self.reconcile_txn_shards(&image);
        *last = Some(image.clone());
        self.reconciled.send_replace(image.applied);
    }

    fn remove_topic_replicas(self: &Arc<Self>, name: &str, tp: &TopicPartitions, recreated: bool) {
        self.topics.write().unwrap_or_else(|p| p.into_inner()).remove(name);
        self.groups.forget_topic(&self.offsets_log(), name);
        let mut logs = Vec::new();
        for (i, p) in tp.partitions.iter().enumerate() {
            if let Some(p) = p {
                self.fetchers.unfollow(name, i as i32);
                logs.extend(p.take_log());
            }
        }
        let delete = move || {
            for log in logs {
                let dir = log.dir().to_path_buf();
                if let Err(e) = log.delete() {
                    tracing::warn!(dir = %dir.display(), error = %e, "could not remove a deleted partition's directory");
                }
            }
        };
        if recreated {
            // The same directory names are about to be used again: delete now.
            delete();
        } else {
            // Deleting files can be slow; do it off the reconcile path.
            std::thread::spawn(delete);
        }
        tracing::info!(topic = name, id = %tp.id, "removed the topic's replicas from this broker");
    }

    fn delete_replica(&self, part: Arc<Partition>) {
        if let Some(log) = part.take_log() {
            let dir = log.dir().to_path_buf();
            if let Err(e) = log.delete() {
                tracing::warn!(dir = %dir.display(), error = %e, "could not remove a reassigned replica's directory");
            }
        }
    }

    /// Opens (recovering as needed) the logs of `wanted`, on up to [`OPEN_THREADS_MAX`] threads;
    /// one result per partition, in order.
    fn open_partitions(&self, image: &MetadataImage, wanted: &[(Arc<TopicImage>, i32)]) -> Vec<Result<Arc<Partition>>> {
        if wanted.is_empty() {
            return Vec::new();
        }
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
            Ok(Arc::new(Partition::new(&topic.name, index, self.config.node_id, log)))
        };
        let threads = OPEN_THREADS_MAX.min(wanted.len());
        if threads <= 1 {
            return wanted.iter().map(|(t, i)| open_one((t, *i))).collect();
        }
        // Work is handed out by index; each slot is written once, by the thread that took it.
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Result<Arc<Partition>>>>> = wanted.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= wanted.len() {
                        break;
                    }
                    let result = open_one((&wanted[i].0, wanted[i].1));
                    *lock(&slots[i]) = Some(result);
                });
            }
        });
        slots
            .into_iter()
            .map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner()).expect("every open attempted"))
            .collect()
    }

    // ---- ISR changes (the leader's side of AlterPartition) ----

    /// Proposes an ISR change for a partition this broker leads; on refusal the partition may
    /// propose again. Runs in the background: callers are request handlers and timers.
    pub fn propose_isr(self: &Arc<Self>, part: Arc<Partition>, proposal: IsrProposal) {
        let state = self.clone();
        tokio::spawn(async move {
            let record = MetadataRecord::ChangePartition {
                topic: part.topic.clone(),
                partition: part.index,
                change: PartitionChange {
                    expected_partition_epoch: Some(proposal.partition_epoch),
                    isr: Some(proposal.isr.clone()),
                    ..Default::default()
                },
            };
            match state.propose(vec![vec![record]]).await {
                Ok(results) if results[0].is_ok() => {}
                Ok(results) => {
                    tracing::debug!(topic = %part.topic, partition = part.index, error = ?results[0], "ISR change refused");
                    part.isr_proposal_failed();
                }
                Err(e) => {
                    tracing::debug!(topic = %part.topic, partition = part.index, error = %e.message, "ISR change not committed");
                    part.isr_proposal_failed();
                }
            }
        });
    }

    /// Leader side of `replica.lag.time.max.ms`: proposes removing followers that fell behind.
    pub fn isr_shrink_check(self: &Arc<Self>) {
        let image = self.image();
        let now = now_ms();
        let lag_max_ms = self.config.replica_lag_time_max_ms as i64;
        for p in self.all_partitions() {
            if let Some(proposal) = p.isr_shrink_check(now, lag_max_ms, |id| image.is_live(id)) {
                self.propose_isr(p, proposal);
            }
        }
    }

    // ---- admin changes ----

    /// Validates and (unless `validate_only`) creates topics, returning one result per topic in
    /// order. All the valid topics go to the quorum in one command (one Raft entry), each
    /// succeeding or failing on its own.
    pub async fn create_topics(
        self: &Arc<Self>,
        topics: Vec<NewTopic>,
        validate_only: bool,
    ) -> Vec<std::result::Result<(Uuid, i32, i16), ApiError>> {
        let image = self.image();
        let mut results = Vec::with_capacity(topics.len());
        let mut groups = Vec::new();
        let mut slots = Vec::new();
        let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
        for t in topics {
            let checked = self.check_new_topic(&image, &t, taken.contains(&t.name));
            if let Ok((id, _, _, partitions)) = &checked {
                taken.insert(t.name.clone());
                if !validate_only {
                    groups.push(vec![MetadataRecord::CreateTopic {
                        name: t.name.clone(),
                        id: *id,
                        configs: t.configs,
                        partitions: partitions.clone(),
                    }]);
                    slots.push(results.len());
                }
            }
            results.push(checked.map(|(id, p, rf, _)| (id, p, rf)));
        }
        if groups.is_empty() {
            return results;
        }
        let replicas: Vec<i32> = {
            let mut all: Vec<i32> = groups
                .iter()
                .flatten()
                .filter_map(|r| match r {
                    MetadataRecord::CreateTopic { partitions, .. } => {
                        Some(partitions.iter().flat_map(|p| p.replicas.iter().copied()))
                    }
                    _ => None,
                })
                .flatten()
                .collect();
            all.sort_unstable();
            all.dedup();
            all
        };
        match self.propose(groups).await {
            Ok(applied) => {
                for (slot, r) in slots.into_iter().zip(applied) {
                    if let Err(e) = r {
                        results[slot] = Err(e.into());
                    }
                }
                // As the CreateTopics answer goes out, the new partitions' brokers serve them.
                crate::controller::wait_for_brokers(self, replicas, self.reconciled_index()).await;
            }
            Err(e) => {
                for slot in slots {
                    results[slot] = Err(e.clone());
                }
            }
        }
        results
    }

    pub async fn create_topic(
        self: &Arc<Self>,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        configs: BTreeMap<String, String>,
    ) -> std::result::Result<(Uuid, i32, i16), ApiError> {
        let topic =
            NewTopic { name: name.to_string(), partitions, replication_factor, assignments: Vec::new(), configs };
        self.create_topics(vec![topic], false).await.pop().expect("one result per topic")
    }

    /// Live brokers as placement candidates.
    fn candidates(image: &MetadataImage) -> Vec<Candidate> {
        image
            .live_brokers()
            .filter(|b| !b.in_controlled_shutdown)
            .map(|b| Candidate { id: b.id, rack: b.rack.clone() })
            .collect()
    }

    /// Validates one new topic against `image` (and `taken`: its name is already being created
    /// earlier in the same batch); returns a fresh topic id, the resolved counts and the replicas.
    #[allow(clippy::type_complexity)]
    fn check_new_topic(
        &self,
        image: &MetadataImage,
        t: &NewTopic,
        taken: bool,
    ) -> std::result::Result<(Uuid, i32, i16, Vec<PartitionImage>), ApiError> {
        let (name, partitions, replication_factor, assignments) =
            (t.name.as_str(), t.partitions, t.replication_factor, &t.assignments);
        validate_topic_name(name).map_err(|m| ApiError::new(codes::INVALID_TOPIC_EXCEPTION, m))?;
        if taken || image.topics.contains_key(name) {
            return Err(ApiError::new(codes::TOPIC_ALREADY_EXISTS, format!("Topic '{name}' already exists.")));
        }
        topic_config::validate_topic_configs(&t.configs).map_err(|m| ApiError::new(codes::INVALID_CONFIG, m))?;
        if !assignments.is_empty() {
            if partitions != -1 || replication_factor != -1 {
                return Err(ApiError::new(codes::INVALID_REQUEST, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time."));
            }
            let replicas = check_assignments(image, assignments.iter().map(|(p, r)| (*p, r.as_slice())), 0)?;
            let rf = replicas[0].replicas.len() as i16;
            return Ok((Uuid::new_v4(), replicas.len() as i32, rf, replicas));
        }
        let partitions = if partitions == -1 { self.config.num_partitions } else { partitions };
        let replication_factor =
            if replication_factor == -1 { self.config.default_replication_factor } else { replication_factor };
        if partitions < 1 {
            return Err(ApiError::new(
                codes::INVALID_PARTITIONS,
                "Number of partitions was set to an invalid non-positive value.",
            ));
        }
        if partitions > PARTITIONS_PER_TOPIC_MAX {
            return Err(ApiError::new(
                codes::INVALID_PARTITIONS,
                format!("Number of partitions {partitions} exceeds this broker's limit of {PARTITIONS_PER_TOPIC_MAX}."),
            ));
        }
        if replication_factor < 1 {
            return Err(ApiError::new(
                codes::INVALID_REPLICATION_FACTOR,
                "Replication factor must be larger than 0, or -1 to use the default value.",
            ));
        }
        let placed = placement::place(
            &Self::candidates(image),
            0,
            partitions,
            replication_factor,
            random_usize(),
            random_usize(),
        )
        .map_err(|e| ApiError::new(codes::INVALID_REPLICATION_FACTOR, e.0))?;
        Ok((Uuid::new_v4(), partitions, replication_factor, placed.into_iter().map(PartitionImage::new).collect()))
    }

    /// Deletes topics, one result per name in order; all of them in one metadata command (one
    /// group per topic), as CreateTopics does.
    pub async fn delete_topics(self: &Arc<Self>, names: &[String]) -> Vec<std::result::Result<Uuid, ApiError>> {
        let image = self.image();
        let mut results: Vec<std::result::Result<Uuid, ApiError>> = Vec::with_capacity(names.len());
        let mut groups = Vec::new();
        let mut slots = Vec::new();
        for name in names {
            match image.topics.get(name) {
                None => results.push(Err(ApiError::new(
                    codes::UNKNOWN_TOPIC_OR_PARTITION,
                    codes::default_message(codes::UNKNOWN_TOPIC_OR_PARTITION),
                ))),
                Some(t) => {
                    slots.push(results.len());
                    groups.push(vec![MetadataRecord::DeleteTopic { name: name.clone() }]);
                    results.push(Ok(t.id));
                }
            }
        }
        if groups.is_empty() {
            return results;
        }
        match self.propose(groups).await {
            Ok(applied) => {
                for (slot, r) in slots.into_iter().zip(applied) {
                    match r {
                        Err(e) => results[slot] = Err(e.into()),
                        Ok(()) => tracing::info!(topic = %names[slot], "deleted topic"),
                    }
                }
            }
            Err(e) => {
                for slot in slots {
                    results[slot] = Err(e.clone());
                }
            }
        }
        results
    }

    pub async fn create_partitions(
        self: &Arc<Self>,
        name: &str,
        total: i32,
        assignments: Option<Vec<Vec<i32>>>,
        validate_only: bool,
    ) -> std::result::Result<(), ApiError> {
        let image = self.image();
        let Some(topic) = image.topics.get(name) else {
            return Err(ApiError::new(
                codes::UNKNOWN_TOPIC_OR_PARTITION,
                format!("The topic '{name}' does not exist."),
            ));
        };
        let current = topic.partition_count();
        if total < current {
            return Err(ApiError::new(
                codes::INVALID_PARTITIONS,
                format!("Topic currently has {current} partitions, which is higher than the requested {total}."),
            ));
        }
        if total == current {
            return Err(ApiError::new(codes::INVALID_PARTITIONS, format!("Topic already has {current} partitions.")));
        }
        if total > PARTITIONS_PER_TOPIC_MAX {
            return Err(ApiError::new(
                codes::INVALID_PARTITIONS,
                format!("Number of partitions {total} exceeds this broker's limit of {PARTITIONS_PER_TOPIC_MAX}."),
            ));
        }
        let added: Vec<PartitionImage> = match assignments {
            Some(a) => {
                if a.len() as i32 != total - current {
                    return Err(ApiError::new(
                        codes::INVALID_REPLICA_ASSIGNMENT,
                        format!(
                            "Increasing the number of partitions by {} but {} assignments provided.",
                            total - current,
                            a.len()
                        ),
                    ));
                }
                check_assignments(
                    &image,
                    a.iter().enumerate().map(|(i, r)| (current + i as i32, r.as_slice())),
                    current,
                )?
            }
            None => {
                let rf = topic.replication_factor();
                placement::place(
                    &Self::candidates(&image),
                    current,
                    total - current,
                    rf,
                    random_usize(),
                    random_usize(),
                )
                .map_err(|e| ApiError::new(codes::INVALID_REPLICATION_FACTOR, e.0))?
                .into_iter()
                .map(PartitionImage::new)
                .collect()
            }
        };
        if validate_only {
            return Ok(());
        }
        let mut replicas: Vec<i32> = added.iter().flat_map(|p| p.replicas.iter().copied()).collect();
        replicas.sort_unstable();
        replicas.dedup();
        let record = MetadataRecord::CreatePartitions { name: name.to_string(), from: current, added };
        self.propose(vec![vec![record]]).await?.into_iter().next().expect("one group")?;
        crate::controller::wait_for_brokers(self, replicas, self.reconciled_index()).await;
        tracing::info!(topic = name, from = current, to = total, "added partitions");
        Ok(())
    }

    /// Replaces a topic's config overrides (validated).
    pub async fn set_topic_configs(
        self: &Arc<Self>,
        name: &str,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> std::result::Result<(), ApiError> {
        topic_config::validate_topic_configs(&configs).map_err(|m| ApiError::new(codes::INVALID_CONFIG, m))?;
        if !self.image().topics.contains_key(name) {
            return Err(ApiError::new(
                codes::UNKNOWN_TOPIC_OR_PARTITION,
                codes::default_message(codes::UNKNOWN_TOPIC_OR_PARTITION),
            ));
        }
        if validate_only {
            return Ok(());
        }
        let record = MetadataRecord::SetTopicConfigs { name: name.to_string(), configs };
        self.propose(vec![vec![record]]).await?.into_iter().next().expect("one group")?;
        self.wait_for_live_brokers().await;
        Ok(())
    }

    /// Replaces dynamic broker configs (keys are broker names such as `log.retention.ms`) of
    /// one broker, or the cluster default (`broker: None`).
    pub async fn set_broker_configs(
        self: &Arc<Self>,
        broker: Option<i32>,
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> std::result::Result<(), ApiError> {
        for (k, v) in &configs {
            let def = topic_config::broker_dynamic_def(k).ok_or_else(|| {
                ApiError::new(codes::INVALID_CONFIG, format!("Cannot update these configs dynamically: Set({k})"))
            })?;
            topic_config::validate(def, v).map_err(|m| ApiError::new(codes::INVALID_CONFIG, m.replace(def.name, k)))?;
        }
        if validate_only {
            return Ok(());
        }
        let record = MetadataRecord::SetBrokerConfigs { broker, configs };
        self.propose(vec![vec![record]]).await?.into_iter().next().expect("one group")?;
        self.wait_for_live_brokers().await;
        Ok(())
    }

    /// Waits (bounded) until every live broker has applied this broker's latest change, so a
    /// DescribeConfigs right after an alter sees it whichever broker the client asks.
    async fn wait_for_live_brokers(self: &Arc<Self>) {
        let brokers: Vec<i32> = self.image().brokers.keys().copied().collect();
        crate::controller::wait_for_brokers(self, brokers, self.reconciled_index()).await;
    }

    /// Allocates a new producer id (InitProducerId). This broker takes blocks of
    /// [`metadata::PRODUCER_ID_BLOCK_SIZE`] ids from the metadata log, so ids are unique across
    /// the cluster and never reused after a restart.
    pub async fn allocate_producer_id(self: &Arc<Self>) -> std::result::Result<i64, ApiError> {
        let mut block = self.producer_ids.lock().await;
        // Bounded: each failed round means another broker took the block we aimed at, and a
        // fresh image aims past it.
        for _ in 0..8 {
            if block.next < block.end {
                let id = block.next;
                block.next += 1;
                return Ok(id);
            }
            let end = self.image().producer_id_block_end + metadata::PRODUCER_ID_BLOCK_SIZE;
            let record = MetadataRecord::AllocateProducerIds { broker: self.config.node_id, block_end: end };
            if self.propose(vec![vec![record]]).await?.into_iter().next().expect("one group").is_ok() {
                *block = ProducerIdBlock { next: end - metadata::PRODUCER_ID_BLOCK_SIZE, end };
            }
        }
        Err(ApiError::new(codes::COORDINATOR_NOT_AVAILABLE, "Could not allocate a producer id block; try again."))
    }

    // ---- background work on the hosted logs ----

    /// Runs `Log::maintain` on every partition (roll, retention, flush).
    pub fn maintain(&self) {
        let now = now_ms();
        for p in self.all_partitions() {
            match p.with_log(|log| log.maintain(now)) {
                Ok(Ok(deleted)) if deleted > 0 => {
                    tracing::info!(topic = %p.topic, partition = p.index, segments = deleted, "retention deleted segments")
                }
                Ok(Err(e)) => {
                    tracing::warn!(topic = %p.topic, partition = p.index, error = %e, "log maintenance failed")
                }
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
                    Ok(Err(e)) => {
                        tracing::warn!(topic = %p.topic, partition = p.index, error = %e, "installing compaction failed")
                    }
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
        self.fetchers.shutdown();
        let logs: Vec<oxbow_log::Log> = self.all_partitions().into_iter().filter_map(|p| p.take_log()).collect();
        let failed = oxbow_log::close_many(logs, CLOSE_THREADS_MAX);
        for (dir, e) in &failed {
            tracing::warn!(dir = %dir.display(), error = %e, "closing the log failed");
        }
        failed.len()
    }

    /// A kill: no checkpoints, no flush; logs are dropped as they are (the next open recovers).
    pub fn drop_all(&self) {
        self.fetchers.shutdown();
        for p in self.all_partitions() {
            drop(p.take_log());
        }
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

/// The group coordinator writes and loads `__consumer_offsets` through the partitions this broker
/// leads: appends with acks=all semantics (the partition's own wait for the ISR, bounded by
/// `offsets.commit.timeout.ms`), reads batch-wise for loading.
impl OffsetsLog for BrokerState {
    fn append(&self, partition: i32, leader_epoch: i32, batch: bytes::BytesMut) -> std::result::Result<Appended, i16> {
        self.coordinator_append(OFFSETS_TOPIC, partition, leader_epoch, batch)
    }

    fn range(&self, partition: i32) -> std::result::Result<(i64, i64), i16> {
        self.coordinator_range(OFFSETS_TOPIC, partition)
    }

    fn read(&self, partition: i32, offset: i64, max_bytes: usize, end: i64) -> std::result::Result<bytes::Bytes, i16> {
        self.coordinator_read(OFFSETS_TOPIC, partition, offset, max_bytes, end)
    }
}

impl BrokerState {
    /// A coordinator's append to an internal topic partition it leads in `leader_epoch` (the
    /// group coordinator's `__consumer_offsets`, the transaction coordinator's
    /// `__transaction_state`): local append now, replication to the ISR awaited by the caller.
    pub(crate) fn coordinator_append(
        &self,
        topic: &str,
        partition: i32,
        leader_epoch: i32,
        batch: bytes::BytesMut,
    ) -> std::result::Result<Appended, i16> {
        let part = self.partition(topic, partition).ok_or(codes::NOT_LEADER_OR_FOLLOWER)?;
        if !part.is_leader() || part.leader_epoch() != leader_epoch {
            return Err(codes::NOT_LEADER_OR_FOLLOWER);
        }
        let min_isr = self.min_insync_replicas(topic);
        let size = batch.len() as u64;
        let (out, _) =
            part.append_from(batch, -1, min_isr, now_ms(), oxbow_log::AppendOrigin::Coordinator).map_err(|e| {
                tracing::debug!(topic, partition, code = e.code, "coordinator append failed: {}", e.message);
                e.code
            })?;
        count_in(&self.stats, size, (out.last_offset - out.base_offset + 1).max(0) as u64);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(self.config.offsets_commit_timeout_ms);
        let required = out.last_offset + 1;
        Ok(Appended {
            base_offset: out.base_offset,
            // The epoch the coordinator loaded in: a leadership lost and regained meanwhile fails it.
            replicated: Box::pin(async move {
                part.wait_replicated(required, leader_epoch, min_isr, deadline).await.map_err(|e| e.code)
            }),
        })
    }

    /// Log start and log end offsets of an internal topic partition hosted here.
    pub(crate) fn coordinator_range(&self, topic: &str, partition: i32) -> std::result::Result<(i64, i64), i16> {
        let part = self.partition(topic, partition).ok_or(codes::NOT_LEADER_OR_FOLLOWER)?;
        let o = part.offsets().map_err(|e| e.code)?;
        Ok((o.log_start_offset, o.log_end_offset))
    }

    /// Whole batches of an internal topic partition hosted here, for a coordinator's load.
    pub(crate) fn coordinator_read(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_bytes: usize,
        end: i64,
    ) -> std::result::Result<bytes::Bytes, i16> {
        let part = self.partition(topic, partition).ok_or(codes::NOT_LEADER_OR_FOLLOWER)?;
        match part.with_log(|log| log.read(offset, max_bytes, end)) {
            Ok(Ok(r)) => Ok(r.records),
            Ok(Err(e)) => Err(codes::from_log_error(&e)),
            Err(e) => Err(e.code),
        }
    }
}

/// Checks explicit replica assignments (CreateTopics, CreatePartitions): consecutive partitions
/// from `first`, the same number of distinct, registered replicas each.
fn check_assignments<'a>(
    image: &MetadataImage,
    assignments: impl Iterator<Item = (i32, &'a [i32])>,
    first: i32,
) -> std::result::Result<Vec<PartitionImage>, ApiError> {
    let mut out = Vec::new();
    let mut rf = None;
    for (i, (p, replicas)) in assignments.enumerate() {
        if p != first + i as i32 {
            return Err(ApiError::new(
                codes::INVALID_REPLICA_ASSIGNMENT,
                "Partitions should be a consecutive 0-based integer sequence",
            ));
        }
        if replicas.is_empty() || rf.is_some_and(|rf| rf != replicas.len()) {
            return Err(ApiError::new(
                codes::INVALID_REPLICA_ASSIGNMENT,
                "All partitions should have the same number of replicas",
            ));
        }
        rf = Some(replicas.len());
        let mut distinct = replicas.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() != replicas.len() {
            return Err(ApiError::new(
                codes::INVALID_REPLICA_ASSIGNMENT,
                format!("Duplicate brokers not allowed in replica assignment: {replicas:?} for partition id {p}."),
            ));
        }
        if let Some(b) = replicas.iter().find(|b| !image.brokers.contains_key(b)) {
            return Err(ApiError::new(
                codes::INVALID_REPLICA_ASSIGNMENT,
                format!("Unknown broker id {b} in replica assignment"),
            ));
        }
        out.push(PartitionImage::new(replicas.to_vec()));
    }
    if out.is_empty() {
        return Err(ApiError::new(codes::INVALID_REPLICA_ASSIGNMENT, "Empty replica assignment"));
    }
    Ok(out)
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
