//! The embedded stack: one [`StackConfig`] starts the broker (unless the studio is pointed at an
//! external cluster) and then the studio service on it, and [`Stack::shutdown`] stops them in the
//! reverse order. `oxbow serve` and the desktop shell both start Oxbow through here, so the two
//! cannot drift apart.
//!
//! Deliberately not here: flag parsing, ready lines and signal handling (the callers' business),
//! and any reaching into the broker beyond its API boundary (`Cluster::start`, `Cluster`,
//! `Observer`).

use crate::{Error, InsideView, Result, Studio, StudioConfig, StudioHandle};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where the embedded broker keeps its data.
#[derive(Clone, Debug)]
pub enum DataDir {
    /// A directory that survives restarts.
    Path(PathBuf),
    /// A temporary directory removed when the stack stops.
    Ephemeral,
}

/// Which cluster the studio shows.
#[derive(Clone, Debug)]
pub enum ClusterConfig {
    /// Run a broker in this process.
    Embedded {
        data_dir: DataDir,
        /// Kafka listener address; loopback unless the user means to expose the broker.
        host: String,
        /// The first broker's port; broker N takes `kafka_port + N - 1`. 0 = any free port.
        kafka_port: u16,
        /// Number of brokers (each its own listener, data dir and quorum node).
        brokers: usize,
        /// Kafka's `auto.create.topics.enable`.
        auto_create_topics: bool,
        /// Kafka's `num.partitions` for auto-created topics.
        num_partitions: i32,
        /// Kafka's `log.retention.check.interval.ms`; `None` keeps the broker's default.
        retention_check_interval_ms: Option<u64>,
        /// Kafka's `group.initial.rebalance.delay.ms`; `None` keeps the broker's default (0).
        group_initial_rebalance_delay_ms: Option<u64>,
        /// Kafka's `broker.rack` by broker id, advertised in Metadata and DescribeCluster.
        racks: std::collections::BTreeMap<i32, String>,
    },
    /// Run no broker: the studio connects to an existing cluster.
    External { bootstrap_servers: String },
}

/// Everything needed to start Oxbow in-process.
#[derive(Clone, Debug)]
pub struct StackConfig {
    pub cluster: ClusterConfig,
    /// Studio listener address.
    pub studio_host: String,
    /// 0 = any free port.
    pub studio_port: u16,
    /// Connection profiles file; `None` = the platform default.
    pub profiles_path: Option<PathBuf>,
}

/// The flags (and `OXBOW_*` environment variables) that configure a stack; `oxbow serve` and
/// the desktop app take the same ones.
#[derive(clap::Args, Clone, Debug)]
pub struct StackArgs {
    /// Directory for topic data and metadata [default: the platform's per-user data directory + /oxbow]
    #[arg(long, env = "OXBOW_DATA_DIR", conflicts_with = "ephemeral")]
    pub data_dir: Option<PathBuf>,

    /// Keep all data in a temporary directory that is removed at exit
    #[arg(long, env = "OXBOW_EPHEMERAL")]
    pub ephemeral: bool,

    /// Address to listen on; loopback unless you mean to expose the broker
    #[arg(long, env = "OXBOW_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Kafka protocol port of the first broker (0 = any free port)
    #[arg(long, env = "OXBOW_KAFKA_PORT", default_value_t = 9092)]
    pub kafka_port: u16,

    /// Number of brokers in the embedded cluster (ports --kafka-port, +1, +2, …; the first
    /// three also form the controller quorum)
    #[arg(long, env = "OXBOW_BROKERS", default_value_t = 3)]
    pub brokers: u32,

    /// Create a topic when a client asks for its metadata (Kafka's auto.create.topics.enable)
    #[arg(long, env = "OXBOW_AUTO_CREATE_TOPICS", default_value_t = true, action = clap::ArgAction::Set)]
    pub auto_create_topics: bool,

    /// Partitions of an auto-created topic (Kafka's num.partitions)
    #[arg(long, env = "OXBOW_NUM_PARTITIONS", default_value_t = 1)]
    pub num_partitions: i32,

    /// Studio (web UI and API) port on --host (0 = any free port) [default: 8080 for `oxbow serve`,
    /// any free port for the desktop app, whose window needs no fixed address]
    #[arg(long, env = "OXBOW_STUDIO_PORT")]
    pub studio_port: Option<u16>,

    /// Run no embedded broker: the studio connects to --bootstrap-servers instead
    #[arg(long, env = "OXBOW_NO_BROKER", requires = "bootstrap_servers")]
    pub no_broker: bool,

    /// External Kafka cluster for the studio (host:port[,host:port…]); needs --no-broker
    #[arg(long, env = "OXBOW_BOOTSTRAP_SERVERS", requires = "no_broker")]
    pub bootstrap_servers: Option<String>,

    /// Connection profiles file [default: the platform's per-user config directory + /oxbow/profiles.json]
    #[arg(long, env = "OXBOW_PROFILES_FILE")]
    pub profiles_file: Option<PathBuf>,

    /// How often retention and segment roll by time are checked, in ms (Kafka's
    /// log.retention.check.interval.ms) [default: 300000]
    #[arg(long, env = "OXBOW_RETENTION_CHECK_INTERVAL_MS", value_parser = clap::value_parser!(u64).range(100..))]
    pub retention_check_interval_ms: Option<u64>,

    /// How long a new classic consumer group waits for more members before its first
    /// rebalance, in ms, at most 1800000 (Kafka's group.initial.rebalance.delay.ms, whose
    /// default is 3000) [default: 0]
    #[arg(long, env = "OXBOW_GROUP_INITIAL_REBALANCE_DELAY_MS", value_parser = clap::value_parser!(u64).range(..=GROUP_INITIAL_REBALANCE_DELAY_MS_MAX))]
    pub group_initial_rebalance_delay_ms: Option<u64>,

    /// Racks of the embedded brokers (Kafka's broker.rack), shown by Metadata and DescribeCluster
    /// and used to place replicas in different racks: one name for every broker, or a
    /// comma-separated list, one per broker in id order (e.g. a,b,c)
    #[arg(long, env = "OXBOW_RACK")]
    pub rack: Option<String>,
}

/// The largest --group-initial-rebalance-delay-ms: Kafka's default group.max.session.timeout.ms.
/// A group waits no longer than its rebalance timeout anyway; the bound keeps the broker's timer
/// arithmetic far from overflow.
const GROUP_INITIAL_REBALANCE_DELAY_MS_MAX: u64 = 1_800_000;

impl StackArgs {
    /// The config these flags describe; `studio_port_default` applies when `--studio-port` is
    /// not given. Errors name the flag that is wrong.
    pub fn to_config(&self, studio_port_default: u16) -> Result<StackConfig> {
        let brokers_max = oxbow_broker::BROKERS_MAX as u32;
        if self.brokers < 1 || self.brokers > brokers_max {
            return Err(Error::bad_input(
                "--brokers",
                format!("{}: must be between 1 and {brokers_max}", self.brokers),
            ));
        }
        let racks = match &self.rack {
            None => Default::default(),
            Some(list) => {
                let names: Vec<&str> = list.split(',').map(str::trim).collect();
                if names.iter().any(|n| n.is_empty()) {
                    return Err(Error::bad_input("--rack", format!("{list:?}: empty rack name")));
                }
                if names.len() != 1 && names.len() != self.brokers as usize {
                    return Err(Error::bad_input(
                        "--rack",
                        format!(
                            "{list:?}: give one rack for every broker or exactly {} (one per broker)",
                            self.brokers
                        ),
                    ));
                }
                (1..=self.brokers as i32)
                    .map(|id| {
                        let name = if names.len() == 1 { names[0] } else { names[id as usize - 1] };
                        (id, name.to_string())
                    })
                    .collect()
            }
        };
        if self.num_partitions < 1 {
            return Err(Error::bad_input("--num-partitions", format!("{}: must be at least 1", self.num_partitions)));
        }
        let cluster = if self.no_broker {
            let bootstrap_servers = self
                .bootstrap_servers
                .clone()
                .ok_or_else(|| Error::bad_input("--no-broker", "needs --bootstrap-servers HOST:PORT"))?;
            ClusterConfig::External { bootstrap_servers }
        } else {
            let data_dir = if self.ephemeral {
                DataDir::Ephemeral
            } else {
                match self.data_dir.clone().or_else(default_data_dir) {
                    Some(dir) => DataDir::Path(dir),
                    None => {
                        return Err(Error::bad_input(
                            "--data-dir",
                            "no per-user data directory on this platform; pass --data-dir",
                        ))
                    }
                }
            };
            ClusterConfig::Embedded {
                data_dir,
                host: self.host.clone(),
                kafka_port: self.kafka_port,
                brokers: self.brokers as usize,
                auto_create_topics: self.auto_create_topics,
                num_partitions: self.num_partitions,
                retention_check_interval_ms: self.retention_check_interval_ms,
                group_initial_rebalance_delay_ms: self.group_initial_rebalance_delay_ms,
                racks,
            }
        };
        Ok(StackConfig {
            cluster,
            studio_host: self.host.clone(),
            studio_port: self.studio_port.unwrap_or(studio_port_default),
            profiles_path: self.profiles_file.clone(),
        })
    }
}

/// The file in an embedded stack's data dir that tells `oxbow fault` (and other local tools)
/// where this stack's studio API is and its token. Written when the stack starts (readable by
/// its user only), removed when it stops; the data dir lock means one stack per dir.
pub const RUNTIME_FILE: &str = "oxbow-studio.json";

/// What [`RUNTIME_FILE`] holds.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct RuntimeInfo {
    /// The studio's address, e.g. `127.0.0.1:8080`.
    pub studio_addr: String,
    pub token: String,
    pub pid: u32,
}

fn write_runtime_file(dir: &Path, studio: &StudioHandle) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let addr = studio.local_addr();
    let host = if addr.ip().is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { addr.ip() };
    let info = RuntimeInfo {
        studio_addr: SocketAddr::new(host, addr.port()).to_string(),
        token: studio.token().to_string(),
        pid: std::process::id(),
    };
    let path = dir.join(RUNTIME_FILE);
    let tmp = dir.join(format!("{RUNTIME_FILE}.tmp"));
    let io = |source| Error::Io { what: format!("writing {}", path.display()), source };
    let mut f =
        std::fs::OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(&tmp).map_err(io)?;
    f.write_all(&serde_json::to_vec_pretty(&info).expect("runtime info serialises")).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(())
}

/// The platform's per-user data directory + `/oxbow` (e.g. `~/.local/share/oxbow` on Linux).
pub fn default_data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join("oxbow"))
}

/// A running stack.
pub struct Stack {
    cluster: Option<Arc<oxbow_broker::Cluster>>,
    kafka_addrs: Vec<SocketAddr>,
    studio: StudioHandle,
    data_dir: Option<PathBuf>,
    // Dropped after the broker has closed its logs (see `shutdown`): removes an ephemeral dir.
    _ephemeral_dir: Option<tempfile::TempDir>,
}

impl Stack {
    /// Starts the broker (embedded mode), then the studio. If the studio cannot start (its port is
    /// in use, …) the broker is stopped cleanly before the error is returned, so a failed start
    /// leaves nothing running and nothing half-written.
    pub async fn start(config: StackConfig) -> Result<Stack> {
        match config.cluster.clone() {
            ClusterConfig::External { bootstrap_servers } => {
                let studio = start_studio(&config, &bootstrap_servers, false, None).await?;
                Ok(Stack { cluster: None, kafka_addrs: Vec::new(), studio, data_dir: None, _ephemeral_dir: None })
            }
            ClusterConfig::Embedded {
                data_dir,
                host,
                kafka_port,
                brokers,
                auto_create_topics,
                num_partitions,
                retention_check_interval_ms,
                group_initial_rebalance_delay_ms,
                racks,
            } => {
                if num_partitions < 1 {
                    return Err(Error::bad_input("num_partitions", format!("{num_partitions}: must be at least 1")));
                }
                let (path, ephemeral_dir) = match data_dir {
                    DataDir::Path(path) => (path, None),
                    DataDir::Ephemeral => {
                        let dir = tempfile::Builder::new()
                            .prefix("oxbow-")
                            .tempdir()
                            .map_err(|source| Error::Io { what: "creating a temporary data dir".into(), source })?;
                        (dir.path().to_path_buf(), Some(dir))
                    }
                };
                let defaults = oxbow_broker::BrokerConfig::default();
                let base = oxbow_broker::BrokerConfig {
                    host,
                    port: kafka_port,
                    data_dir: path.clone(),
                    auto_create_topics_enable: auto_create_topics,
                    num_partitions,
                    log_retention_check_interval_ms: retention_check_interval_ms
                        .unwrap_or(defaults.log_retention_check_interval_ms),
                    group_initial_rebalance_delay_ms: group_initial_rebalance_delay_ms
                        .unwrap_or(defaults.group_initial_rebalance_delay_ms),
                    ..defaults
                };
                let cluster =
                    Arc::new(oxbow_broker::Cluster::start(oxbow_broker::ClusterConfig { brokers, base, racks }).await?);
                let kafka_addrs: Vec<SocketAddr> = cluster.addresses().await.into_values().collect();
                let inside: Arc<dyn InsideView> = Arc::new(crate::inside::ClusterInsideView::new(cluster.clone()));
                let bootstrap = kafka_addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",");
                let started = match start_studio(&config, &bootstrap, true, Some(inside)).await {
                    Ok(studio) => write_runtime_file(&path, &studio).map(|()| studio),
                    Err(error) => Err(error),
                };
                match started {
                    Ok(studio) => Ok(Stack {
                        cluster: Some(cluster),
                        kafka_addrs,
                        studio,
                        data_dir: Some(path),
                        _ephemeral_dir: ephemeral_dir,
                    }),
                    Err(error) => {
                        cluster.shutdown().await;
                        Err(error)
                    }
                }
            }
        }
    }

    /// The first embedded broker's Kafka listener (`None` for an external cluster).
    pub fn kafka_addr(&self) -> Option<SocketAddr> {
        self.kafka_addrs.first().copied()
    }

    /// Every embedded broker's Kafka listener at start, in broker id order.
    pub fn kafka_addrs(&self) -> &[SocketAddr] {
        &self.kafka_addrs
    }

    /// The embedded cluster, for the fault API (`None` for an external cluster).
    pub fn cluster(&self) -> Option<&Arc<oxbow_broker::Cluster>> {
        self.cluster.as_ref()
    }

    /// The embedded broker's data directory (`None` for an external cluster).
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    pub fn studio(&self) -> &StudioHandle {
        &self.studio
    }

    /// The command layer, for in-process callers (the desktop shell).
    pub fn commands(&self) -> &Studio {
        self.studio.studio()
    }

    /// Stops the studio (open WebSockets end), then the broker (logs closed with checkpoints),
    /// within `timeout_ms_max`; an ephemeral data dir is removed last.
    pub async fn shutdown(self, timeout_ms_max: u64) -> Result<()> {
        let Stack { cluster, kafka_addrs: _, studio, data_dir, _ephemeral_dir } = self;
        let stopping = async {
            studio.shutdown().await;
            if let Some(cluster) = cluster {
                cluster.shutdown().await;
            }
            if let Some(dir) = &data_dir {
                let _ = std::fs::remove_file(dir.join(RUNTIME_FILE));
            }
            Ok(())
        };
        match tokio::time::timeout(Duration::from_millis(timeout_ms_max), stopping).await {
            Ok(result) => result,
            Err(_) => Err(Error::Internal(format!("shutdown did not finish within {timeout_ms_max} ms"))),
        }
    }
}

async fn start_studio(
    config: &StackConfig,
    bootstrap_servers: &str,
    embedded: bool,
    inside_view: Option<Arc<dyn InsideView>>,
) -> Result<StudioHandle> {
    let mut studio_config = StudioConfig::new(bootstrap_servers, config.studio_port, embedded)?;
    studio_config.host = config.studio_host.clone();
    studio_config.inside_view = inside_view;
    if let Some(path) = &config.profiles_path {
        studio_config.profiles_path = Some(path.clone());
    }
    Studio::serve(studio_config).await.map_err(|error| match error {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => Error::Io {
            what: format!(
                "studio port {}:{} is in use (choose another with --studio-port or OXBOW_STUDIO_PORT, 0 = any)",
                config.studio_host, config.studio_port
            ),
            source,
        },
        other => other,
    })
}
