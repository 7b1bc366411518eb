//! `oxbow-broker`: Kafka-protocol brokers that real Kafka clients use unchanged, alone or as an
//! embedded cluster of several brokers that replicate partitions to each other.
//!
//! Layout (see each module's docs):
//! - [`server`]: TCP listener, connections, frame decoding ([`decode_request_frame`]);
//! - `apis`: one module per Kafka API and the supported-version table ([`SUPPORTED_APIS`]);
//! - `metadata`: the metadata image and the records that change it; `metadata_log`: the state
//!   machine the metadata quorum (`oxbow-quorum`, Raft; KRaft's design) applies them with;
//! - `controller`: the active controller's work (heartbeats, fencing, elections, preferred
//!   leaders) and replica placement;
//! - `broker`: one broker's shared state, reconciliation of its replicas with the image, admin
//!   changes proposed to the quorum;
//! - `partition`: a replica around an `oxbow_log::Log` (leader: followers' progress, ISR, high
//!   watermark; follower: appends and truncation); `replica`: the fetchers followers copy with;
//! - `cluster`: several brokers in one process ([`Cluster`]), and the faults a user can inject;
//! - `coordinator::group`: the classic group coordinator, its groups and offsets persisted in
//!   `__consumer_offsets` (loaded by the leader of each of its partitions);
//! - `coordinator::txn_coordinator`: the transaction coordinator (KIP-98, protocol version 1),
//!   its transactions persisted in `__transaction_state` the same way;
//! - `topic_config`: Kafka's topic configs, validation, DescribeConfigs resolution;
//! - `events`: the cluster event timeline; `faults`: the fault switches.
//!
//! Public API: [`Cluster::start`] with [`ClusterConfig`] (what `oxbow serve` runs), and
//! [`Broker::start`] for one broker on its own (a cluster of one, for tests and examples);
//! [`BrokerHandle`], [`Observer`].
//!
//! File descriptors: at start the soft `RLIMIT_NOFILE` is raised to the hard limit (logged), and
//! every partition's log draws its open segment files and index mappings from one
//! `oxbow_log::FileCache` per broker, bounded by [`BrokerConfig::log_open_files_max`] (default:
//! half the soft limit, the other half for connections) and [`BrokerConfig::log_index_maps_max`].
//!
//! Transactions: the coordinator (`coordinator::txn_coordinator`, its APIs in `apis`) and the
//! partition side (open transactions, markers, the last stable offset, `read_committed`
//! fetches, DescribeProducers; `txn_partitions` joins the two: the KIP-890 produce check and
//! leader-side markers).
//!
//! Not here yet: transaction protocol version 2 (KIP-890 part 2), KIP-848 consumer groups
//! (issue 6), TLS/SASL, quotas, ACLs.

pub mod alloc_guard;
mod apis;
mod batch;
mod broker;
mod cluster;
mod codes;
mod config;
mod controller;
mod coordinator;
mod error;
mod events;
mod faults;
mod metadata;
mod metadata_log;
mod observer;
mod partition;
mod replica;
pub mod server;
mod topic_config;
mod txn_partitions;

#[cfg(feature = "guard-allocator")]
#[global_allocator]
static GLOBAL_ALLOCATOR: alloc_guard::GuardedAllocator = alloc_guard::GuardedAllocator;

pub use apis::SUPPORTED as SUPPORTED_APIS;
pub use cluster::{BrokerStatus, Cluster, ClusterConfig, FaultAction, FaultError, BROKERS_MAX};
pub use cluster::{PartitionReplication, ReplicaLane};
pub use config::BrokerConfig;
pub use error::{Error, Result};
pub use events::{ClusterEvent, TimedEvent};
pub use observer::{
    BrokerCounters, FileCacheStats, Observer, PartitionMetadataView, PartitionView, ReplicaView, SegmentInfo,
};
pub use oxbow_log::{AbortedTxn, ProducerInfo, TxnMarker};
pub use server::frame::{
    decode_request_frame, encode_response_frame, encode_response_pieces, DecodedFrame, FrameError, ResponseFrame,
};
pub use txn_partitions::TxnPartitions;

use broker::BrokerState;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

/// How long shutdown waits for in-flight requests before giving up on them.
const SHUTDOWN_DRAIN_MS: u64 = 3_000;
/// How long a graceful stop waits for the controller to move leaderships away.
const CONTROLLED_SHUTDOWN_MS: u64 = 5_000;
/// How often the group coordinator checks session and rebalance timeouts.
const GROUP_TICK_MS: u64 = 250;
/// How often the controller role looks at sessions, offline partitions and leader balance.
const CONTROLLER_TICK_MS: u64 = 250;
/// The controller quorum's size in a cluster: up to three brokers vote, the rest follow the
/// metadata log as learners (KRaft deployments run three controllers).
pub const CONTROLLER_VOTERS_MAX: usize = 3;

/// Entry point for one broker on its own: `Broker::start(config).await`.
pub struct Broker;

/// What brokers of one embedded cluster share: the cluster id, the metadata quorum's
/// membership and addresses, the fault switches between them, the event timeline.
pub(crate) struct BrokerContext {
    pub cluster_id: String,
    pub voters: BTreeSet<i32>,
    pub learners: BTreeSet<i32>,
    pub quorum_listener: TcpListener,
    pub quorum_links: Arc<dyn oxbow_quorum::Links>,
    pub net: Arc<faults::NetFaults>,
    pub events: Arc<events::EventLog>,
    pub quorum_timing: QuorumTiming,
}

/// Raft timings for the metadata quorum.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QuorumTiming {
    pub heartbeat_interval_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
}

impl Default for QuorumTiming {
    fn default() -> Self {
        QuorumTiming { heartbeat_interval_ms: 100, election_timeout_min_ms: 500, election_timeout_max_ms: 1000 }
    }
}

/// A running broker. Dropping it without `shutdown` leaves the tasks running until the runtime
/// stops; call [`BrokerHandle::shutdown`] for a clean stop with checkpoints.
pub struct BrokerHandle {
    local_addr: SocketAddr,
    state: Arc<BrokerState>,
    shutdown_tx: watch::Sender<bool>,
    kill_tx: watch::Sender<bool>,
    conns: Arc<Semaphore>,
    tasks: Vec<JoinHandle<()>>,
    _lock: DataDirLock,
}

/// Addresses of a single broker's own quorum: itself.
struct SelfLinks(std::sync::Mutex<Option<SocketAddr>>);

impl oxbow_quorum::Links for SelfLinks {
    fn address(&self, _to: oxbow_quorum::NodeId) -> Option<SocketAddr> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    fn reachable(&self, _from: oxbow_quorum::NodeId, _to: oxbow_quorum::NodeId) -> bool {
        true
    }
}

impl Broker {
    /// Starts one broker that is its own cluster (its own controller quorum of one). Locks the
    /// data dir, binds the listener, recovers the metadata log and every partition, registers.
    ///
    /// Errors: [`Error::DataDirLocked`] (another Oxbow owns the dir), [`Error::DataDir`]
    /// (cannot create/read it), [`Error::PortInUse`], [`Error::Bind`], [`Error::Config`],
    /// [`Error::Metadata`], [`Error::Log`].
    pub async fn start(config: BrokerConfig) -> Result<BrokerHandle> {
        let quorum_listener = TcpListener::bind((config.host.as_str(), 0)).await.map_err(|e| Error::Bind {
            host: config.host.clone(),
            port: 0,
            source: e,
        })?;
        let links = Arc::new(SelfLinks(std::sync::Mutex::new(Some(quorum_listener.local_addr()?))));
        let cluster_id = cluster::cluster_id_in(&config.data_dir)?;
        let context = BrokerContext {
            cluster_id,
            voters: [config.node_id].into(),
            learners: BTreeSet::new(),
            quorum_listener,
            quorum_links: links,
            net: Default::default(),
            events: Default::default(),
            quorum_timing: QuorumTiming::default(),
        };
        let handle = Self::start_in(config, context).await?;
        handle.wait_ready(Duration::from_secs(30)).await?;
        Ok(handle)
    }

    /// Starts one broker of a cluster (see `cluster.rs`).
    pub(crate) async fn start_in(config: BrokerConfig, context: BrokerContext) -> Result<BrokerHandle> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir).map_err(|e| broker::data_dir_error(&config.data_dir, e))?;
        let lock = DataDirLock::acquire(&config.data_dir)?;
        if config.data_dir.join("oxbow-metadata.json").exists() {
            return Err(Error::Config(format!(
                "{} holds data of an older, single-broker Oxbow (oxbow-metadata.json); this version keeps cluster metadata in a replicated log. Move that directory away or start with another --data-dir",
                config.data_dir.display()
            )));
        }
        let listener = match TcpListener::bind((config.host.as_str(), config.port)).await {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                return Err(Error::PortInUse { host: config.host.clone(), port: config.port })
            }
            Err(e) => return Err(Error::Bind { host: config.host.clone(), port: config.port, source: e }),
        };
        let local_addr = listener.local_addr()?;
        let nofile_soft = raise_nofile_limit();
        let files = oxbow_log::FileCache::new(
            config.log_open_files_max.unwrap_or_else(oxbow_log::open_files_max_default),
            config.log_index_maps_max.unwrap_or_else(oxbow_log::index_maps_max_default),
        );
        tracing::debug!(
            open_files_max = files.open_files_max(),
            index_maps_max = files.index_maps_max(),
            "segment file bounds"
        );
        if let Some(soft) = nofile_soft {
            let wanted = files.open_files_max() as u64 + config.max_connections as u64;
            if wanted > soft {
                tracing::warn!(
                    nofile_soft = soft,
                    open_files_max = files.open_files_max(),
                    max_connections = config.max_connections,
                    "open segment files plus connections may exceed the open-files limit; raise the hard RLIMIT_NOFILE (Kafka asks for 100000) or lower max.connections"
                );
            }
        }
        metadata::write_meta_properties(&config.data_dir, config.node_id, &context.cluster_id)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (kill_tx, kill_rx) = watch::channel(false);
        let advertised_host = config.advertised_host.clone().unwrap_or_else(|| local_addr.ip().to_string());

        let (machine, image_rx) = metadata_log::ImageStateMachine::new(context.events.clone());
        let node = |id: &i32| *id as oxbow_quorum::NodeId;
        let mut qc = oxbow_quorum::QuorumConfig::new(
            config.node_id as oxbow_quorum::NodeId,
            context.voters.iter().map(node).collect(),
            context.learners.iter().map(node).collect(),
            config.data_dir.join("metadata-quorum"),
            context.quorum_listener,
        );
        qc.heartbeat_interval_ms = context.quorum_timing.heartbeat_interval_ms;
        qc.election_timeout_min_ms = context.quorum_timing.election_timeout_min_ms;
        qc.election_timeout_max_ms = context.quorum_timing.election_timeout_max_ms;
        let quorum = oxbow_quorum::Quorum::start(qc, Box::new(machine), context.quorum_links.clone())
            .await
            .map_err(|e| Error::Metadata { path: config.data_dir.join("metadata-quorum"), reason: e.to_string() })?;
        let faults = Arc::new(faults::BrokerFaults::new(context.net.clone()));
        let state = Arc::new(BrokerState::new(
            config.clone(),
            context.cluster_id.clone(),
            advertised_host,
            local_addr.port() as i32,
            quorum.clone(),
            image_rx.clone(),
            shutdown_rx.clone(),
            kill_rx,
            files,
            faults,
            context.events.clone(),
        ));
        quorum.set_ask_handler(Arc::new(controller::AskHandler(Arc::downgrade(&state))));
        let conns = Arc::new(Semaphore::new(config.max_connections));
        let tasks = vec![
            tokio::spawn(server::accept_loop(listener, state.clone(), conns.clone(), shutdown_rx.clone())),
            tokio::spawn(reconcile_loop(state.clone(), image_rx, shutdown_rx.clone())),
            tokio::spawn(controller::heartbeat_loop(state.clone())),
            tokio::spawn(every(state.clone(), Duration::from_millis(CONTROLLER_TICK_MS), shutdown_rx.clone(), |s| {
                Box::pin(async move { controller::tick(&s).await })
            })),
            tokio::spawn(every(
                state.clone(),
                Duration::from_millis((config.replica_lag_time_max_ms / 4).max(100)),
                shutdown_rx.clone(),
                |s| Box::pin(async move { s.isr_shrink_check() }),
            )),
            tokio::spawn(maintenance_loop(state.clone(), shutdown_rx.clone())),
            tokio::spawn(group_tick_loop(state.clone(), shutdown_rx.clone())),
            tokio::spawn(txn_tick_loop(state.clone(), shutdown_rx.clone())),
            tokio::spawn(cleaner_loop(state.clone(), shutdown_rx.clone())),
        ];
        tracing::info!(addr = %local_addr, node_id = config.node_id, data_dir = %config.data_dir.display(), "broker listening");
        Ok(BrokerHandle { local_addr, state, shutdown_tx, kill_tx, conns, tasks, _lock: lock })
    }
}

impl BrokerHandle {
    /// The address the Kafka listener is bound to (use it with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn cluster_id(&self) -> String {
        self.state.cluster_id()
    }

    pub fn node_id(&self) -> i32 {
        self.state.config.node_id
    }

    /// The read-only inside view (segments, offsets, counters) for the studio.
    pub fn observer(&self) -> Observer {
        Observer { state: self.state.clone() }
    }

    /// The leader-side transaction writes of this broker's partitions, in-process (see
    /// [`TxnPartitions`]).
    pub fn txn_partitions(&self) -> TxnPartitions {
        TxnPartitions { state: self.state.clone() }
    }

    /// Waits until this broker is registered, unfenced and has reconciled its replicas: ready to
    /// serve. Errors after `timeout` with what is missing.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let me = self.state.config.node_id;
        loop {
            let image = self.state.image();
            let registered = image.brokers.get(&me).filter(|b| b.incarnation == self.state.incarnation);
            if registered.is_some_and(|b| !b.fenced) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let why = match registered {
                    None => "it is not registered with the metadata quorum (no quorum leader? are enough controllers running?)",
                    Some(_) => "the controller has not unfenced it",
                };
                return Err(Error::Config(format!("broker {me} not ready after {} ms: {why}", timeout.as_millis())));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A graceful stop: controlled shutdown (the controller moves leaderships away), then stop
    /// accepting, let in-flight requests finish (parked fetches are answered at once, parked
    /// group joins get COORDINATOR_NOT_AVAILABLE), write checkpoints, stop the quorum node and
    /// release the data dir lock. Bounded: ~5 s for the controller, ~3 s for connections.
    pub async fn shutdown(self) -> Result<()> {
        self.stop(true).await
    }

    /// Stops without handing leaderships to other brokers: the whole cluster is stopping.
    pub async fn shutdown_all(self) -> Result<()> {
        self.stop(false).await
    }

    async fn stop(self, hand_off: bool) -> Result<()> {
        let started = std::time::Instant::now();
        let me = self.state.config.node_id;
        let others = self.state.image().live_brokers().any(|b| b.id != me);
        // With nobody to hand leaderships to, a controlled shutdown would only take them offline.
        if hand_off && others && !self.state.faults.paused() {
            controller::controlled_shutdown(
                &self.state,
                std::time::Instant::now() + Duration::from_millis(CONTROLLED_SHUTDOWN_MS),
            )
            .await;
        }
        let _ = self.shutdown_tx.send(true);
        // A paused broker that is stopped stops for real: nothing may stay held.
        self.state.quorum.resume();
        self.state.faults.set_paused(false);
        self.state.groups.shutdown();
        let max = self.state.config.max_connections as u32;
        match tokio::time::timeout(Duration::from_millis(SHUTDOWN_DRAIN_MS), self.conns.acquire_many(max)).await {
            Ok(_) => {}
            Err(_) => tracing::warn!("shutdown: some connections still busy after {SHUTDOWN_DRAIN_MS} ms; proceeding"),
        }
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
        let state = self.state.clone();
        let failed = tokio::task::spawn_blocking(move || state.close_all()).await.unwrap_or(1);
        if let Err(e) = self.state.quorum.clone().shutdown().await {
            tracing::warn!(error = %e, "metadata quorum node did not stop cleanly");
        }
        tracing::info!(
            node_id = self.state.config.node_id,
            elapsed_ms = started.elapsed().as_millis() as u64,
            failed_checkpoints = failed,
            "broker stopped"
        );
        drop(self._lock);
        Ok(())
    }

    /// A kill (a fault): no controlled shutdown, no checkpoints, no flush; connections drop
    /// mid-request and the logs are left as a crashed process leaves them (the next start
    /// recovers them). The data dir lock is released so the broker can be started again.
    pub fn kill(self) {
        let _ = self.kill_tx.send(true);
        let _ = self.shutdown_tx.send(true);
        for t in &self.tasks {
            t.abort();
        }
        self.state.quorum.clone().kill();
        self.state.drop_all();
        tracing::warn!(node_id = self.state.config.node_id, "broker killed");
        drop(self._lock);
    }

    /// Pause (a fault): the broker keeps its connections but answers nothing, fetches nothing
    /// and its quorum node goes silent, until [`BrokerHandle::resume`].
    pub fn pause(&self) {
        self.state.faults.set_paused(true);
        self.state.quorum.pause();
    }

    pub fn resume(&self) {
        self.state.quorum.resume();
        self.state.faults.set_paused(false);
    }

    pub fn paused(&self) -> bool {
        self.state.faults.paused()
    }

    /// Slow disk (a fault): every append waits `delay_ms` first (0 undoes it).
    pub fn set_disk_delay_ms(&self, delay_ms: u64) {
        self.state.faults.set_disk_delay_ms(delay_ms);
    }
}

/// Reconciles the replicas with every new image (coalescing bursts: the watch holds only the
/// latest), on a blocking thread because it opens and deletes files.
async fn reconcile_loop(
    state: Arc<BrokerState>,
    mut image: watch::Receiver<Arc<metadata::MetadataImage>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let st = state.clone();
        let _ = tokio::task::spawn_blocking(move || st.reconcile()).await;
        tokio::select! {
            changed = image.changed() => if changed.is_err() { return },
            _ = shutdown.changed() => return,
        }
    }
}

/// Runs `work` every `period` until shutdown.
async fn every<F>(state: Arc<BrokerState>, period: Duration, mut shutdown: watch::Receiver<bool>, work: F)
where
    F: Fn(Arc<BrokerState>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
{
    loop {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.changed() => return,
        }
        state.faults.wait_running().await;
        work(state.clone()).await;
    }
}

async fn maintenance_loop(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.config.log_retention_check_interval_ms.max(100));
    let checkpoint_every = Duration::from_millis(state.config.checkpoint_interval_ms.max(1000));
    let mut last_checkpoint = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let st = state.clone();
        let checkpoint = last_checkpoint.elapsed() >= checkpoint_every;
        if checkpoint {
            last_checkpoint = tokio::time::Instant::now();
        }
        // Log maintenance does file I/O: keep it off the async workers.
        let _ = tokio::task::spawn_blocking(move || {
            st.maintain();
            if checkpoint {
                st.checkpoint_all();
            }
        })
        .await;
    }
}

/// The log cleaner: compaction jobs for `cleanup.policy=compact` topics, one partition at a time
/// on a blocking thread, every `log_cleaner_backoff_ms`.
async fn cleaner_loop(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.config.log_cleaner_backoff_ms.max(100));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let st = state.clone();
        let sd = shutdown.clone();
        let _ = tokio::task::spawn_blocking(move || st.compact_once(&sd)).await;
    }
}

/// Group timeouts every [`GROUP_TICK_MS`], and offsets retention every
/// `offsets.retention.check.interval.ms`.
async fn group_tick_loop(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    let log = state.offsets_log();
    let retention_every = Duration::from_millis(state.config.offsets_retention_check_interval_ms.max(100));
    let mut last_retention = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(GROUP_TICK_MS)) => {}
            _ = shutdown.changed() => return,
        }
        state.faults.wait_running().await;
        state.groups.tick(&log);
        if last_retention.elapsed() >= retention_every {
            last_retention = tokio::time::Instant::now();
            state.groups.expire_offsets(&log);
        }
    }
}

/// The transaction coordinator's timer, every
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms`: aborts timed-out transactions.
async fn txn_tick_loop(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(state.config.transaction_abort_timed_out_transaction_cleanup_interval_ms.max(10));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        state.faults.wait_running().await;
        state.txns.tick(&state).await;
    }
}

/// An exclusive `flock` on `DATA_DIR/.lock`, held for the broker's lifetime.
struct DataDirLock {
    _file: std::fs::File,
}

impl DataDirLock {
    fn acquire(dir: &Path) -> Result<DataDirLock> {
        use std::os::unix::io::AsRawFd;
        let path = dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| broker::data_dir_error(dir, e))?;
        // SAFETY: flock on a valid, owned file descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(Error::DataDirLocked { path: dir.to_path_buf() });
            }
            return Err(broker::data_dir_error(dir, e));
        }
        Ok(DataDirLock { _file: file })
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and logs the outcome; returns the soft
/// limit now in force (`None` if it cannot be read or is unlimited).
///
/// Every connection and every open segment file takes a descriptor, and distributions default
/// the soft limit to 1024. Kafka's documentation asks for 100,000; a process cannot go above its
/// hard limit, so that is as far as this goes. The segment file cache is then sized from the
/// result (half of it by default).
fn raise_nofile_limit() -> Option<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into a properly initialised struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot read RLIMIT_NOFILE");
        return None;
    }
    let before = lim.rlim_cur;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
        // SAFETY: setrlimit reads a properly initialised struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        } else {
            tracing::warn!(soft = before, hard = lim.rlim_max, error = %std::io::Error::last_os_error(), "could not raise the open-files limit to the hard limit");
        }
    }
    let show = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    tracing::info!(soft_before = %show(before), soft = %show(lim.rlim_cur), hard = %show(lim.rlim_max), "open-files limit (RLIMIT_NOFILE)");
    if lim.rlim_cur != libc::RLIM_INFINITY && lim.rlim_cur < 100_000 {
        tracing::info!("Kafka recommends an open-files limit of 100000; this one is {}", lim.rlim_cur);
    }
    #[allow(clippy::unnecessary_cast)] // `rlim_t` is u64 on Linux, not on every Unix
    (lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur as u64)
}
