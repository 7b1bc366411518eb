//! The replication view and the fault API of the embedded cluster: per partition, one lane per
//! replica (log end offset, lag, ISR membership, leader, epoch); the brokers' fault states; the
//! cluster's event timeline; and the faults a user can inject (stop, start, kill, pause, resume,
//! cut replication links, slow disk). Embedded mode only: an external cluster has no inside
//! view, and these answer NOT_SUPPORTED there.
//!
//! The serializable shapes here are the HTTP API's; they are copied from the broker's plain
//! views (`oxbow_broker::PartitionReplication`, `BrokerStatus`, `TimedEvent`) at this edge.

use crate::error::{Error, Result};
use crate::Studio;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One replica's lane.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReplicaLaneView {
    pub broker: i32,
    pub is_leader: bool,
    pub in_isr: bool,
    /// Whether the replica's broker runs (a stopped or killed broker has no offsets).
    pub running: bool,
    /// Fenced by the controller (missed heartbeats, or shutting down).
    pub fenced: bool,
    /// Being added / removed by a partition reassignment.
    pub adding: bool,
    pub removing: bool,
    pub log_end_offset: Option<i64>,
    pub log_start_offset: Option<i64>,
    pub high_watermark: Option<i64>,
    /// Records behind the leader's log end offset.
    pub lag_records: Option<i64>,
    /// Milliseconds since the follower was last caught up (0 when it is).
    pub lag_ms: Option<i64>,
    pub leader_epoch: Option<i32>,
    /// Records the replica cut from its tail as a divergent follower since its broker started.
    pub records_truncated: u64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PartitionReplicationView {
    pub topic: String,
    pub partition: i32,
    /// -1 when the partition is offline.
    pub leader: i32,
    pub leader_epoch: i32,
    pub high_watermark: Option<i64>,
    pub isr: Vec<i32>,
    pub offline: bool,
    pub under_replicated: bool,
    pub replicas: Vec<ReplicaLaneView>,
}

/// A broker as the fault API sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BrokerFaultState {
    pub id: i32,
    /// running | paused | stopped | killed
    pub state: String,
    pub kafka_address: Option<String>,
    /// Slow-disk delay per append (0: none).
    pub disk_delay_ms: u64,
    /// Brokers whose replication links to this one are cut.
    pub cut_from: Vec<i32>,
    /// One of the controller quorum's voters.
    pub controller_voter: bool,
    /// The active controller now.
    pub controller: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReplicationView {
    pub controller_id: Option<i32>,
    pub brokers: Vec<BrokerFaultState>,
    pub partitions: Vec<PartitionReplicationView>,
}

/// One entry of the cluster timeline: `kind` names it (leader_changed, isr_changed, truncated,
/// controller_changed, broker_fenced, broker_unfenced, broker_registered, topic_created,
/// topic_deleted, reassignment_started, reassignment_completed, fault); the other fields depend on it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ClusterEventView {
    pub seq: u64,
    pub time_ms: i64,
    pub kind: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A fault to inject or undo.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct FaultRequest {
    pub broker: i32,
    /// stop | start | kill | pause | resume | isolate | heal | slow-disk
    pub action: String,
    /// isolate/heal: the other broker (all others when absent).
    pub peer: Option<i32>,
    /// slow-disk: milliseconds per append (0 undoes it).
    pub delay_ms: Option<u64>,
}

/// Slowest disk a user may ask for: beyond this a broker would only time every request out.
pub const DISK_DELAY_MS_MAX: u64 = 10_000;

fn not_embedded() -> Error {
    Error::NotSupported(
        "the replication view and faults need the embedded cluster (oxbow serve without --no-broker)".into(),
    )
}

pub(crate) fn parse_action(req: &FaultRequest) -> Result<oxbow_broker::FaultAction> {
    use oxbow_broker::FaultAction as A;
    Ok(match req.action.as_str() {
        "stop" => A::Stop,
        "start" => A::Start,
        "kill" => A::Kill,
        "pause" => A::Pause,
        "resume" => A::Resume,
        "isolate" => A::Isolate { peer: req.peer },
        "heal" => A::Heal { peer: req.peer },
        "slow-disk" => {
            let delay_ms =
                req.delay_ms.ok_or_else(|| Error::bad_input("delay_ms", "slow-disk needs delay_ms (0 undoes it)"))?;
            if delay_ms > DISK_DELAY_MS_MAX {
                return Err(Error::bad_input("delay_ms", format!("{delay_ms}: at most {DISK_DELAY_MS_MAX} ms")));
            }
            A::SlowDisk { delay_ms }
        }
        other => {
            return Err(Error::bad_input(
                "action",
                format!("{other:?}: one of stop, start, kill, pause, resume, isolate, heal, slow-disk"),
            ))
        }
    })
}

fn lane(l: oxbow_broker::ReplicaLane) -> ReplicaLaneView {
    ReplicaLaneView {
        broker: l.broker,
        is_leader: l.is_leader,
        in_isr: l.in_isr,
        running: l.running,
        fenced: l.fenced,
        adding: l.adding,
        removing: l.removing,
        log_end_offset: l.log_end_offset,
        log_start_offset: l.log_start_offset,
        high_watermark: l.high_watermark,
        lag_records: l.lag_records,
        lag_ms: l.lag_ms,
        leader_epoch: l.leader_epoch,
        records_truncated: l.records_truncated,
    }
}

fn broker_state(s: oxbow_broker::BrokerStatus, controller: Option<i32>) -> BrokerFaultState {
    BrokerFaultState {
        controller: controller == Some(s.id),
        id: s.id,
        state: s.state,
        kafka_address: s.kafka_address,
        disk_delay_ms: s.disk_delay_ms,
        cut_from: s.cut_from,
        controller_voter: s.controller_voter,
    }
}

impl Studio {
    fn cluster(&self) -> Result<std::sync::Arc<oxbow_broker::Cluster>> {
        self.inside_view().and_then(|v| v.cluster()).ok_or_else(not_embedded)
    }

    /// The replication view of `topic` (every topic for `None`); only the brokers with
    /// `brokers_only`.
    pub async fn replication(&self, topic: Option<&str>, brokers_only: bool) -> Result<ReplicationView> {
        let cluster = self.cluster()?;
        let partitions = if brokers_only {
            Vec::new()
        } else {
            let cluster = cluster.clone();
            let topic = topic.map(str::to_string);
            tokio::task::spawn_blocking(move || cluster.replication(topic.as_deref()))
                .await
                .map_err(|e| Error::Internal(format!("replication view: {e}")))?
        };
        let controller_id = cluster.controller_id();
        let brokers = cluster.statuses().await.into_iter().map(|s| broker_state(s, controller_id)).collect();
        Ok(ReplicationView {
            controller_id,
            brokers,
            partitions: partitions
                .into_iter()
                .map(|p| PartitionReplicationView {
                    topic: p.topic,
                    partition: p.partition,
                    leader: p.leader,
                    leader_epoch: p.leader_epoch,
                    high_watermark: p.high_watermark,
                    isr: p.isr,
                    offline: p.offline,
                    under_replicated: p.under_replicated,
                    replicas: p.replicas.into_iter().map(lane).collect(),
                })
                .collect(),
        })
    }

    /// Timeline events after `since` (0: all kept), oldest first.
    pub fn cluster_events(&self, since: u64) -> Result<Vec<ClusterEventView>> {
        let cluster = self.cluster()?;
        Ok(cluster
            .events_since(since)
            .into_iter()
            .map(|e| {
                let mut detail = serde_json::to_value(&e.event).unwrap_or(serde_json::Value::Null);
                let kind = detail
                    .as_object_mut()
                    .and_then(|o| o.remove("kind"))
                    .and_then(|k| k.as_str().map(str::to_string))
                    .unwrap_or_default();
                ClusterEventView { seq: e.seq, time_ms: e.time_ms, kind, detail }
            })
            .collect())
    }

    /// Injects or undoes a fault; returns the broker's resulting state.
    pub async fn fault(&self, req: FaultRequest) -> Result<BrokerFaultState> {
        let cluster = self.cluster()?;
        let action = parse_action(&req)?;
        match cluster.fault(req.broker, action).await {
            Ok(status) => Ok(broker_state(status, cluster.controller_id())),
            Err(e @ oxbow_broker::FaultError::UnknownBroker(..)) => Err(Error::NotFound(e.to_string())),
            Err(e @ oxbow_broker::FaultError::Impossible { .. }) => Err(Error::Conflict(e.to_string())),
            Err(e @ oxbow_broker::FaultError::Start { .. }) => Err(Error::Unavailable(e.to_string())),
        }
    }
}
