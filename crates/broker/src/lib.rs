//! `oxbow-broker`: a single-node, Kafka-protocol broker that real Kafka clients use unchanged.
//!
//! Layout (see each module's docs):
//! - [`server`]: TCP listener, connections, frame decoding ([`decode_request_frame`]);
//! - `apis`: one module per Kafka API and the supported-version table ([`SUPPORTED_APIS`]);
//! - `metadata`: the metadata image — the single place that changes cluster state (issue 5 swaps
//!   its store for a Raft log);
//! - `partition`: a partition replica around an `oxbow_log::Log` (leader/follower roles ready for
//!   replication);
//! - `coordinator::group`: the classic group coordinator (in memory until issue 6);
//! - `topic_config`: Kafka's topic configs, validation, DescribeConfigs resolution.
//!
//! Public API for the CLI: [`BrokerConfig`], [`Broker::start`], [`BrokerHandle`].
//!
//! File descriptors: at start the soft `RLIMIT_NOFILE` is raised to the hard limit (logged), and
//! every partition's log draws its open segment files and index mappings from one
//! `oxbow_log::FileCache`, bounded by [`BrokerConfig::log_open_files_max`] (default: half the soft
//! limit, the other half for connections) and [`BrokerConfig::log_index_maps_max`], so the
//! number of partitions is bounded by disk, not by descriptors or `vm.max_map_count`.
//!
//! Not here yet: replication and multiple brokers (issue 5), transactions and persistent group
//! state (issue 6), TLS/SASL, quotas, ACLs.

pub mod alloc_guard;
mod apis;
mod batch;
mod broker;
mod codes;
mod config;
mod coordinator;
mod error;
mod metadata;
mod observer;
mod partition;
pub mod server;
mod topic_config;

#[cfg(feature = "guard-allocator")]
#[global_allocator]
static GLOBAL_ALLOCATOR: alloc_guard::GuardedAllocator = alloc_guard::GuardedAllocator;

pub use apis::SUPPORTED as SUPPORTED_APIS;
pub use config::BrokerConfig;
pub use error::{Error, Result};
pub use observer::{BrokerCounters, FileCacheStats, Observer, PartitionView, SegmentInfo};
pub use server::frame::{decode_request_frame, encode_response_frame, encode_response_pieces, DecodedFrame, FrameError, ResponseFrame};

use broker::BrokerState;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

/// How long shutdown waits for in-flight requests before giving up on them.
const SHUTDOWN_DRAIN_MS: u64 = 3_000;
/// How often the group coordinator checks session and rebalance timeouts.
const GROUP_TICK_MS: u64 = 250;

/// Entry point: `Broker::start(config).await` returns a running broker.
pub struct Broker;

/// A running broker. Dropping it without `shutdown` leaves the tasks running until the runtime
/// stops; call [`BrokerHandle::shutdown`] for a clean stop with checkpoints.
pub struct BrokerHandle {
    local_addr: SocketAddr,
    state: Arc<BrokerState>,
    shutdown_tx: watch::Sender<bool>,
    conns: Arc<Semaphore>,
    tasks: Vec<JoinHandle<()>>,
    _lock: DataDirLock,
}

impl Broker {
    /// Locks the data dir, binds the listener, recovers every partition, and starts serving.
    ///
    /// Errors: [`Error::DataDirLocked`] (another Oxbow owns the dir), [`Error::DataDir`]
    /// (cannot create/read it), [`Error::PortInUse`], [`Error::Bind`], [`Error::Config`],
    /// [`Error::Metadata`], [`Error::Log`].
    pub async fn start(config: BrokerConfig) -> Result<BrokerHandle> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir).map_err(|e| broker::data_dir_error(&config.data_dir, e))?;
        let lock = DataDirLock::acquire(&config.data_dir)?;
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
        tracing::info!(
            open_files_max = files.open_files_max(),
            index_maps_max = files.index_maps_max(),
            "segment files: at most {} open, {} index files mapped",
            files.open_files_max(),
            files.index_maps_max()
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
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let advertised_host = config.advertised_host.clone().unwrap_or_else(|| local_addr.ip().to_string());
        let cfg = config.clone();
        let sd = shutdown_rx.clone();
        let state = tokio::task::spawn_blocking(move || BrokerState::open(cfg, advertised_host, local_addr.port() as i32, sd, files))
            .await
            .map_err(|e| Error::Config(format!("start-up task failed: {e}")))??;
        let state = Arc::new(state);
        let conns = Arc::new(Semaphore::new(config.max_connections));
        let tasks = vec![
            tokio::spawn(server::accept_loop(listener, state.clone(), conns.clone(), shutdown_rx.clone())),
            tokio::spawn(maintenance_loop(state.clone(), shutdown_rx.clone())),
            tokio::spawn(group_tick_loop(state.clone(), shutdown_rx.clone())),
            tokio::spawn(cleaner_loop(state.clone(), shutdown_rx.clone())),
        ];
        tracing::info!(addr = %local_addr, node_id = config.node_id, data_dir = %config.data_dir.display(), "broker listening");
        Ok(BrokerHandle { local_addr, state, shutdown_tx, conns, tasks, _lock: lock })
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

    /// Stops accepting, lets in-flight requests finish (parked fetches are answered at once,
    /// parked group joins get COORDINATOR_NOT_AVAILABLE), writes checkpoints and releases the
    /// data dir lock. Bounded: at most ~3 s waiting for connections, then checkpoints.
    pub async fn shutdown(self) -> Result<()> {
        let started = std::time::Instant::now();
        let _ = self.shutdown_tx.send(true);
        self.state.groups.shutdown();
        let max = self.state.config.max_connections as u32;
        match tokio::time::timeout(Duration::from_millis(SHUTDOWN_DRAIN_MS), self.conns.acquire_many(max)).await {
            Ok(_) => {}
            Err(_) => tracing::warn!("shutdown: some connections still busy after {SHUTDOWN_DRAIN_MS} ms; proceeding"),
        }
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
        let state = self.state.clone();
        let failed = tokio::task::spawn_blocking(move || state.close_all()).await.unwrap_or(1);
        tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, failed_checkpoints = failed, "broker stopped");
        drop(self._lock);
        Ok(())
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

async fn group_tick_loop(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(GROUP_TICK_MS)) => {}
            _ = shutdown.changed() => return,
        }
        state.groups.tick();
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
