//! An embedded cluster: several brokers in one process, each an independent component with its
//! own Kafka listener, data directory (`DATA_DIR/broker-N`), metadata quorum node and
//! connections to the others over loopback TCP — so a fault at one broker is a real fault.
//!
//! The first [`crate::CONTROLLER_VOTERS_MAX`] brokers form the controller quorum (KRaft's
//! combined mode: they are brokers and controllers); the rest follow the metadata log as
//! learners. The voter set is fixed when the data dir is first used and kept in
//! `DATA_DIR/oxbow-cluster.properties` with the cluster id.
//!
//! Faults ([`Cluster::fault`]): stop and start a broker gracefully, kill one (no shutdown work:
//! connections drop, logs are left as a crash leaves them), pause one (it keeps its connections
//! and answers nothing), cut the links between brokers, slow one's disk. Every fault can be
//! undone. This is what the observer/fault API of the studio and `oxbow fault` drive.
//!
//! With three controllers (the default), the metadata log needs two of them: stopping or killing
//! two of brokers 1–3 leaves the cluster unable to change leaders or ISRs until one returns, as
//! in a KRaft cluster that lost its quorum.

use crate::broker::data_dir_error;
use crate::events::{ClusterEvent, EventLog};
use crate::faults::NetFaults;
use crate::{
    Broker, BrokerConfig, BrokerContext, BrokerHandle, Error, Observer, QuorumTiming, Result, CONTROLLER_VOTERS_MAX,
};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use uuid::Uuid;

/// Most brokers one embedded cluster runs (each has its own listener, quorum node and fetchers).
pub const BROKERS_MAX: usize = 9;

const CLUSTER_FILE: &str = "oxbow-cluster.properties";

/// How long `Cluster::start` waits for every broker to be registered and unfenced.
const READY_TIMEOUT_MS: u64 = 60_000;

#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Number of brokers, ids 1..=brokers.
    pub brokers: usize,
    /// Settings every broker shares. `data_dir` is the cluster's root; broker N lives in
    /// `data_dir/broker-N`. `port` is broker 1's; broker N takes `port + N - 1` (0: any free
    /// port for every broker). `node_id` is ignored.
    pub base: BrokerConfig,
    /// Racks by broker id (`broker.rack`); missing entries take `base.rack`.
    pub racks: BTreeMap<i32, String>,
}

/// Quorum addresses of the brokers.
///
/// Cut links ([`FaultAction::Isolate`]) cut *replication* — follower fetching — and not the
/// controller channel: an isolated follower keeps its session with the controller, so what a user
/// sees is the ISR shrinking under `replica.lag.time.max.ms` while leadership stays, which is the
/// lesson that fault exists to teach. A broker that vanishes for the controller too is what
/// [`FaultAction::Pause`] shows.
struct ClusterLinks {
    addresses: Mutex<BTreeMap<i32, SocketAddr>>,
}

impl oxbow_quorum::Links for ClusterLinks {
    fn address(&self, to: oxbow_quorum::NodeId) -> Option<SocketAddr> {
        self.addresses.lock().unwrap_or_else(|p| p.into_inner()).get(&(to as i32)).copied()
    }
    fn reachable(&self, _from: oxbow_quorum::NodeId, _to: oxbow_quorum::NodeId) -> bool {
        true
    }
}

enum Slot {
    Running(BrokerHandle),
    Stopped,
    Killed,
}

/// A broker's state as the fault API reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BrokerStatus {
    pub id: i32,
    /// running | paused | stopped | killed
    pub state: String,
    pub kafka_address: Option<String>,
    pub disk_delay_ms: u64,
    /// Brokers this one's links are cut from.
    pub cut_from: Vec<i32>,
    pub controller_voter: bool,
}

/// One replica of a partition, as the replication view draws its lane.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplicaLane {
    pub broker: i32,
    pub is_leader: bool,
    pub in_isr: bool,
    /// Whether the replica's broker is running (a stopped or killed broker has no offsets).
    pub running: bool,
    pub fenced: bool,
    /// Being added or removed by a reassignment.
    pub adding: bool,
    pub removing: bool,
    pub log_end_offset: Option<i64>,
    pub log_start_offset: Option<i64>,
    pub high_watermark: Option<i64>,
    /// Records behind the leader's log end.
    pub lag_records: Option<i64>,
    /// How long the follower has not been caught up with the leader (0 when it is).
    pub lag_ms: Option<i64>,
    /// The leader epoch this replica is in.
    pub leader_epoch: Option<i32>,
    /// Records this replica cut from its tail as a divergent follower, since its broker started.
    pub records_truncated: u64,
}

/// A partition's replication state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionReplication {
    pub topic: String,
    pub partition: i32,
    /// -1 when offline.
    pub leader: i32,
    pub leader_epoch: i32,
    /// The leader's high watermark (none while the leader is not running).
    pub high_watermark: Option<i64>,
    pub isr: Vec<i32>,
    pub offline: bool,
    pub under_replicated: bool,
    pub replicas: Vec<ReplicaLane>,
}

/// What the fault API can do to a broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    Stop,
    Start,
    Kill,
    Pause,
    Resume,
    /// Cut the links to `peer`, or to every other broker.
    Isolate {
        peer: Option<i32>,
    },
    /// Restore the links to `peer`, or to every other broker.
    Heal {
        peer: Option<i32>,
    },
    /// Every append waits this long (0 undoes it).
    SlowDisk {
        delay_ms: u64,
    },
}

impl FaultAction {
    pub fn name(&self) -> &'static str {
        match self {
            FaultAction::Stop => "stop",
            FaultAction::Start => "start",
            FaultAction::Kill => "kill",
            FaultAction::Pause => "pause",
            FaultAction::Resume => "resume",
            FaultAction::Isolate { .. } => "isolate",
            FaultAction::Heal { .. } => "heal",
            FaultAction::SlowDisk { .. } => "slow-disk",
        }
    }
}

/// Why a fault could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("no broker {0} in this cluster (brokers are 1..={1})")]
    UnknownBroker(i32, usize),
    #[error("broker {broker} is {state}; cannot {action} it")]
    Impossible { broker: i32, state: String, action: &'static str },
    #[error("broker {broker} could not start: {source}")]
    Start { broker: i32, source: Error },
}

pub struct Cluster {
    config: ClusterConfig,
    cluster_id: String,
    voters: BTreeSet<i32>,
    links: Arc<ClusterLinks>,
    net: Arc<NetFaults>,
    events: Arc<EventLog>,
    brokers: tokio::sync::Mutex<BTreeMap<i32, Slot>>,
    /// The Kafka port each broker last had, so a restarted broker comes back where clients
    /// expect it.
    ports: Mutex<BTreeMap<i32, u16>>,
    /// Inside views of the running brokers (kept beside `brokers` so readers never wait on a
    /// fault in progress).
    observers: Mutex<BTreeMap<i32, Observer>>,
}

/// The cluster id kept in a broker's `meta.properties`, or a new one (Kafka's format).
pub(crate) fn cluster_id_in(dir: &Path) -> Result<String> {
    match std::fs::read_to_string(dir.join("meta.properties")) {
        Ok(text) => Ok(property(&text, "cluster.id").unwrap_or_else(new_cluster_id)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(new_cluster_id()),
        Err(e) => Err(data_dir_error(dir, e)),
    }
}

fn new_cluster_id() -> String {
    crate::metadata::base64url_uuid(Uuid::new_v4())
}

fn property(text: &str, key: &str) -> Option<String> {
    text.lines().filter_map(|l| l.split_once('=')).find(|(k, _)| k.trim() == key).map(|(_, v)| v.trim().to_string())
}

impl Cluster {
    /// Starts every broker and waits until all are registered and unfenced.
    pub async fn start(config: ClusterConfig) -> Result<Cluster> {
        if config.brokers == 0 || config.brokers > BROKERS_MAX {
            return Err(Error::Config(format!(
                "--brokers must be between 1 and {BROKERS_MAX}, got {}",
                config.brokers
            )));
        }
        let root = config.base.data_dir.clone();
        std::fs::create_dir_all(&root).map_err(|e| data_dir_error(&root, e))?;
        if root.join("oxbow-metadata.json").exists() {
            return Err(Error::Config(format!(
                "{} holds data of an older, single-broker Oxbow (oxbow-metadata.json); this version keeps cluster metadata in a replicated log. Move that directory away or start with another --data-dir",
                root.display()
            )));
        }
        let (cluster_id, voters) = Self::load_or_create_identity(&root, config.brokers)?;
        let net = Arc::new(NetFaults::default());
        let links = Arc::new(ClusterLinks { addresses: Mutex::new(BTreeMap::new()) });
        let cluster = Cluster {
            config,
            cluster_id,
            voters,
            links,
            net,
            events: Arc::new(EventLog::default()),
            brokers: tokio::sync::Mutex::new(BTreeMap::new()),
            ports: Mutex::new(BTreeMap::new()),
            observers: Mutex::new(BTreeMap::new()),
        };
        // Bind every quorum listener first so each broker knows where the others will be.
        let mut listeners = BTreeMap::new();
        for id in cluster.ids() {
            let l = TcpListener::bind((cluster.config.base.host.as_str(), 0)).await.map_err(|e| Error::Bind {
                host: cluster.config.base.host.clone(),
                port: 0,
                source: e,
            })?;
            cluster.links.addresses.lock().unwrap_or_else(|p| p.into_inner()).insert(id, l.local_addr()?);
            listeners.insert(id, l);
        }
        let mut starting = Vec::new();
        for (id, listener) in listeners {
            let (config, context) = cluster.broker_setup(id, listener);
            starting.push((id, tokio::spawn(Broker::start_in(config, context))));
        }
        let mut failure = None;
        {
            let mut brokers = cluster.brokers.lock().await;
            for (id, task) in starting {
                match task
                    .await
                    .map_err(|e| Error::Config(format!("broker {id} start-up task failed: {e}")))
                    .and_then(|r| r)
                {
                    Ok(h) => {
                        cluster.ports.lock().unwrap_or_else(|p| p.into_inner()).insert(id, h.local_addr().port());
                        cluster.observers.lock().unwrap_or_else(|p| p.into_inner()).insert(id, h.observer());
                        brokers.insert(id, Slot::Running(h));
                    }
                    Err(e) => {
                        brokers.insert(id, Slot::Stopped);
                        failure.get_or_insert(e);
                    }
                }
            }
        }
        if let Some(e) = failure {
            cluster.shutdown().await;
            return Err(e);
        }
        let ready = {
            let brokers = cluster.brokers.lock().await;
            let mut waits = Vec::new();
            for slot in brokers.values() {
                if let Slot::Running(h) = slot {
                    waits.push(h.wait_ready(Duration::from_millis(READY_TIMEOUT_MS)));
                }
            }
            let mut result = Ok(());
            for w in waits {
                if let Err(e) = w.await {
                    result = Err(e);
                    break;
                }
            }
            result
        };
        if let Err(e) = ready {
            cluster.shutdown().await;
            return Err(e);
        }
        tracing::info!(brokers = cluster.config.brokers, voters = ?cluster.voters, cluster_id = %cluster.cluster_id, "cluster ready");
        Ok(cluster)
    }

    /// Reads (or, for a new data dir, writes) the cluster id and the controller voters.
    fn load_or_create_identity(root: &Path, brokers: usize) -> Result<(String, BTreeSet<i32>)> {
        let path = root.join(CLUSTER_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bad = |m: &str| Error::Metadata { path: path.clone(), reason: m.to_string() };
                let id = property(&text, "cluster.id").ok_or_else(|| bad("no cluster.id"))?;
                let voters: BTreeSet<i32> = property(&text, "controller.quorum.voters")
                    .ok_or_else(|| bad("no controller.quorum.voters"))?
                    .split(',')
                    .map(|v| {
                        v.trim().parse::<i32>().map_err(|_| bad("controller.quorum.voters is not a list of broker ids"))
                    })
                    .collect::<Result<_>>()?;
                let running = voters.iter().filter(|v| (**v as usize) <= brokers).count();
                if running * 2 <= voters.len() {
                    return Err(Error::Config(format!(
                        "this data dir's cluster has {} controllers (brokers {:?}); with --brokers {brokers} fewer than a majority of them would run, so the metadata log could not make progress. Start with --brokers {} or more, or use another --data-dir",
                        voters.len(),
                        voters,
                        voters.iter().max().copied().unwrap_or(1)
                    )));
                }
                Ok((id, voters))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = new_cluster_id();
                let voters: BTreeSet<i32> = (1..=brokers.min(CONTROLLER_VOTERS_MAX) as i32).collect();
                let list: Vec<String> = voters.iter().map(|v| v.to_string()).collect();
                let text = format!("# Written by Oxbow: the embedded cluster's identity\ncluster.id={id}\ncontroller.quorum.voters={}\n", list.join(","));
                crate::metadata::write_atomically(&path, text.as_bytes())?;
                Ok((id, voters))
            }
            Err(e) => Err(data_dir_error(root, e)),
        }
    }

    fn ids(&self) -> impl Iterator<Item = i32> {
        1..=self.config.brokers as i32
    }

    fn broker_dir(&self, id: i32) -> PathBuf {
        self.config.base.data_dir.join(format!("broker-{id}"))
    }

    fn broker_setup(&self, id: i32, quorum_listener: TcpListener) -> (BrokerConfig, BrokerContext) {
        let mut config = self.config.base.clone();
        config.node_id = id;
        config.data_dir = self.broker_dir(id);
        if let Some(rack) = self.config.racks.get(&id) {
            config.rack = Some(rack.clone());
        }
        let previous = self.ports.lock().unwrap_or_else(|p| p.into_inner()).get(&id).copied();
        config.port = match (previous, self.config.base.port) {
            (Some(p), _) => p,
            (None, 0) => 0,
            (None, base) => base + (id as u16 - 1),
        };
        let learners: BTreeSet<i32> = self.ids().filter(|i| !self.voters.contains(i)).collect();
        let context = BrokerContext {
            cluster_id: self.cluster_id.clone(),
            voters: self.voters.clone(),
            learners,
            quorum_listener,
            quorum_links: self.links.clone(),
            net: self.net.clone(),
            events: self.events.clone(),
            quorum_timing: QuorumTiming::default(),
        };
        (config, context)
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    pub fn broker_count(&self) -> usize {
        self.config.brokers
    }

    /// Kafka listener addresses of the running brokers, by id.
    pub async fn addresses(&self) -> BTreeMap<i32, SocketAddr> {
        let brokers = self.brokers.lock().await;
        brokers
            .iter()
            .filter_map(|(id, s)| if let Slot::Running(h) = s { Some((*id, h.local_addr())) } else { None })
            .collect()
    }

    /// Inside views of the running brokers, by id.
    pub fn observers(&self) -> BTreeMap<i32, Observer> {
        self.observers.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The leader-side transaction writes of running broker `id`, in-process (see
    /// [`crate::TxnPartitions`]).
    pub fn txn_partitions(&self, id: i32) -> Option<crate::TxnPartitions> {
        self.observers().get(&id).map(|o| crate::TxnPartitions { state: o.state.clone() })
    }

    /// The active controller, as a running broker sees it.
    pub fn controller_id(&self) -> Option<i32> {
        self.observers().values().find_map(|o| o.controller_id())
    }

    /// Cluster events after `seq`, oldest first.
    pub fn events_since(&self, seq: u64) -> Vec<crate::TimedEvent> {
        self.events.since(seq)
    }

    pub async fn statuses(&self) -> Vec<BrokerStatus> {
        let brokers = self.brokers.lock().await;
        let cut = self.net.cut_links();
        brokers
            .iter()
            .map(|(id, slot)| {
                let (state, addr, delay) = match slot {
                    Slot::Running(h) if h.paused() => ("paused", Some(h.local_addr()), h.state.faults.disk_delay_ms()),
                    Slot::Running(h) => ("running", Some(h.local_addr()), h.state.faults.disk_delay_ms()),
                    Slot::Stopped => ("stopped", None, 0),
                    Slot::Killed => ("killed", None, 0),
                };
                let cut_from = cut
                    .iter()
                    .filter_map(|(a, b)| {
                        if a == id {
                            Some(*b)
                        } else if b == id {
                            Some(*a)
                        } else {
                            None
                        }
                    })
                    .collect();
                BrokerStatus {
                    id: *id,
                    state: state.to_string(),
                    kafka_address: addr.map(|a| a.to_string()),
                    disk_delay_ms: delay,
                    cut_from,
                    controller_voter: self.voters.contains(id),
                }
            })
            .collect()
    }

    /// Every partition of `topic` (all for `None`) with one lane per replica: what the studio's
    /// replication view draws. Metadata comes from a running broker's image (the controller's
    /// when it runs); offsets from each replica's own broker.
    pub fn replication(&self, topic: Option<&str>) -> Vec<PartitionReplication> {
        let observers = self.observers();
        let Some(source) =
            observers.values().find(|o| o.controller_id() == Some(o.node_id())).or_else(|| observers.values().next())
        else {
            return Vec::new();
        };
        let fenced: BTreeMap<i32, bool> = source.registered_brokers().into_iter().collect();
        let views: BTreeMap<(i32, String, i32), crate::PartitionView> = observers
            .iter()
            .flat_map(|(id, o)| {
                let views = match topic {
                    Some(t) => o.topic_partitions(t),
                    None => o.partitions(),
                };
                views.into_iter().map(move |v| ((*id, v.topic.clone(), v.partition), v))
            })
            .collect();
        let now = crate::broker::now_ms();
        source
            .metadata_partitions(topic)
            .into_iter()
            .map(|m| {
                let leader_view = views.get(&(m.leader, m.topic.clone(), m.partition));
                let leader_leo = leader_view.map(|v| v.log_end_offset);
                let lanes = m
                    .replicas
                    .iter()
                    .map(|r| {
                        let own = views.get(&(*r, m.topic.clone(), m.partition));
                        let progress = leader_view.and_then(|v| v.followers.iter().find(|f| f.broker == *r));
                        let log_end_offset = own.map(|v| v.log_end_offset);
                        let lag_records = match (leader_leo, log_end_offset) {
                            (Some(l), Some(o)) if *r != m.leader => Some((l - o).max(0)),
                            (Some(_), Some(_)) => Some(0),
                            _ => None,
                        };
                        let lag_ms = if *r == m.leader {
                            Some(0)
                        } else {
                            progress.filter(|p| p.last_caught_up_ms >= 0).map(|p| {
                                if lag_records == Some(0) {
                                    0
                                } else {
                                    (now - p.last_caught_up_ms).max(0)
                                }
                            })
                        };
                        ReplicaLane {
                            broker: *r,
                            is_leader: *r == m.leader,
                            in_isr: m.isr.contains(r),
                            running: own.is_some(),
                            fenced: fenced.get(r).copied().unwrap_or(true),
                            adding: m.adding.contains(r),
                            removing: m.removing.contains(r),
                            log_end_offset,
                            log_start_offset: own.map(|v| v.log_start_offset),
                            high_watermark: own.map(|v| v.high_watermark),
                            lag_records,
                            lag_ms,
                            leader_epoch: own.map(|v| v.leader_epoch),
                            records_truncated: own.map(|v| v.records_truncated).unwrap_or(0),
                        }
                    })
                    .collect();
                PartitionReplication {
                    topic: m.topic,
                    partition: m.partition,
                    leader: m.leader,
                    leader_epoch: m.leader_epoch,
                    high_watermark: leader_view.map(|v| v.high_watermark),
                    isr: m.isr.clone(),
                    offline: m.leader < 0,
                    under_replicated: m.isr.len() < m.replicas.len() - m.adding.len(),
                    replicas: lanes,
                }
            })
            .collect()
    }

    /// Applies a fault (or undoes one) and returns the broker's resulting state.
    pub async fn fault(&self, id: i32, action: FaultAction) -> std::result::Result<BrokerStatus, FaultError> {
        if id < 1 || id as usize > self.config.brokers {
            return Err(FaultError::UnknownBroker(id, self.config.brokers));
        }
        let mut brokers = self.brokers.lock().await;
        let slot = brokers.get_mut(&id).expect("every id has a slot");
        let state_name = match slot {
            Slot::Running(h) if h.paused() => "paused",
            Slot::Running(_) => "running",
            Slot::Stopped => "stopped",
            Slot::Killed => "killed",
        };
        let impossible = || FaultError::Impossible { broker: id, state: state_name.to_string(), action: action.name() };
        let mut detail = String::new();
        match (&action, std::mem::replace(slot, Slot::Stopped)) {
            (FaultAction::Stop, Slot::Running(h)) => {
                self.observers.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                if let Err(e) = h.shutdown().await {
                    tracing::warn!(broker = id, error = %e, "broker stop reported an error");
                }
                *slot = Slot::Stopped;
            }
            (FaultAction::Kill, Slot::Running(h)) => {
                self.observers.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                h.kill();
                *slot = Slot::Killed;
            }
            (FaultAction::Start, Slot::Stopped | Slot::Killed) => {
                let listener =
                    TcpListener::bind((self.config.base.host.as_str(), 0)).await.map_err(|e| FaultError::Start {
                        broker: id,
                        source: Error::Bind { host: self.config.base.host.clone(), port: 0, source: e },
                    })?;
                let addr = listener.local_addr().map_err(|e| FaultError::Start { broker: id, source: e.into() })?;
                self.links.addresses.lock().unwrap_or_else(|p| p.into_inner()).insert(id, addr);
                let (config, context) = self.broker_setup(id, listener);
                match Broker::start_in(config, context).await {
                    Ok(h) => {
                        self.ports.lock().unwrap_or_else(|p| p.into_inner()).insert(id, h.local_addr().port());
                        self.observers.lock().unwrap_or_else(|p| p.into_inner()).insert(id, h.observer());
                        *slot = Slot::Running(h);
                    }
                    Err(e) => return Err(FaultError::Start { broker: id, source: e }),
                }
            }
            (FaultAction::Pause, Slot::Running(h)) if !h.paused() => {
                h.pause();
                *slot = Slot::Running(h);
            }
            (FaultAction::Resume, Slot::Running(h)) if h.paused() => {
                h.resume();
                *slot = Slot::Running(h);
            }
            (FaultAction::SlowDisk { delay_ms }, Slot::Running(h)) => {
                h.set_disk_delay_ms(*delay_ms);
                detail = format!("{delay_ms} ms per append");
                *slot = Slot::Running(h);
            }
            (FaultAction::Isolate { peer } | FaultAction::Heal { peer }, previous) => {
                *slot = previous;
                let peers: Vec<i32> = match peer {
                    Some(p) if *p == id || *p < 1 || *p as usize > self.config.brokers => {
                        return Err(FaultError::UnknownBroker(*p, self.config.brokers))
                    }
                    Some(p) => vec![*p],
                    None => self.ids().filter(|i| *i != id).collect(),
                };
                for p in &peers {
                    if matches!(action, FaultAction::Isolate { .. }) {
                        self.net.cut(id, *p);
                    } else {
                        self.net.heal(id, *p);
                    }
                }
                detail = format!("links to {peers:?}");
            }
            (_, previous) => {
                *slot = previous;
                return Err(impossible());
            }
        }
        drop(brokers);
        self.events.record(ClusterEvent::Fault { broker: id, action: action.name().to_string(), detail });
        let status = self.statuses().await.into_iter().find(|s| s.id == id).expect("every id has a status");
        Ok(status)
    }

    /// Stops every running broker (no leadership hand-off: they all go).
    pub async fn shutdown(&self) {
        self.observers.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let mut brokers = self.brokers.lock().await;
        let mut stopping = Vec::new();
        for (id, slot) in brokers.iter_mut() {
            if let Slot::Running(h) = std::mem::replace(slot, Slot::Stopped) {
                let id = *id;
                stopping.push(tokio::spawn(async move {
                    if let Err(e) = h.shutdown_all().await {
                        tracing::warn!(broker = id, error = %e, "broker stop reported an error");
                    }
                }));
            }
        }
        for s in stopping {
            let _ = s.await;
        }
    }
}
