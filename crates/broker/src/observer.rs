//! The observer API: a read-only inside view of one running broker — segments, log end offsets,
//! replica roles, followers' progress and byte/record counters that no Kafka protocol request
//! exposes. The studio draws partition strips
//! and throughput charts from it, and only in embedded mode.
//!
//! What it deliberately does not do: change anything, or hand out broker structures. Every call
//! returns plain snapshots copied under each partition's lock, held only for the copy, so callers
//! may poll it several times a second without slowing produce or fetch.

use crate::broker::BrokerState;
use crate::partition::{Partition, Role};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

pub use oxbow_log::{AbortedTxn, FileCacheStats, ProducerInfo, SegmentInfo};

/// Per-broker counters, monotonic since the broker started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BrokerCounters {
    pub bytes_in: u64,
    pub records_in: u64,
    pub bytes_out: u64,
    pub requests: u64,
    pub connections_accepted: u64,
    pub connections_refused: u64,
}

/// A follower's progress as its leader sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaView {
    pub broker: i32,
    /// -1 until the follower fetched in this leader's epoch.
    pub log_end_offset: i64,
    /// When it last fetched / was last caught up with the leader's log end (ms since the epoch; -1: never).
    pub last_fetch_ms: i64,
    pub last_caught_up_ms: i64,
}

/// One partition replica's log, role and counters at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionView {
    pub topic: String,
    pub partition: i32,
    /// Whether this broker leads the partition (else it follows `leader`).
    pub is_leader: bool,
    pub leader: i32,
    pub leader_epoch: i32,
    /// The ISR as this leader has it (empty on a follower).
    pub isr: Vec<i32>,
    /// Followers' progress (leaders only).
    pub followers: Vec<ReplicaView>,
    /// Records this replica removed from its tail as a divergent follower.
    pub records_truncated: u64,
    pub log_start_offset: i64,
    pub high_watermark: i64,
    /// Below every open transaction (or one whose marker is not replicated yet); at most the
    /// high watermark. What `read_committed` consumers may read.
    pub last_stable_offset: i64,
    pub log_end_offset: i64,
    /// Oldest first; the last one is the active segment.
    pub segments: Vec<SegmentInfo>,
    pub size_bytes: u64,
    /// Monotonic since the broker started.
    pub bytes_in: u64,
    pub records_in: u64,
    pub bytes_out: u64,
}

/// One partition as this broker's copy of the metadata image has it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionMetadataView {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// -1 when offline.
    pub leader: i32,
    pub leader_epoch: i32,
    /// A reassignment in progress: replicas being added and removed.
    pub adding: Vec<i32>,
    pub removing: Vec<i32>,
}

/// A cheap, cloneable handle on a running broker's inside view. It stays valid after the broker
/// shut down (it then reports the state at shutdown, with deleted partitions left out).
#[derive(Clone)]
pub struct Observer {
    pub(crate) state: Arc<BrokerState>,
}

impl Observer {
    pub fn node_id(&self) -> i32 {
        self.state.config.node_id
    }

    pub fn cluster_id(&self) -> String {
        self.state.cluster_id()
    }

    pub fn counters(&self) -> BrokerCounters {
        let stats = &self.state.stats;
        BrokerCounters {
            bytes_in: stats.bytes_in.load(Relaxed),
            records_in: stats.records_in.load(Relaxed),
            bytes_out: stats.bytes_out.load(Relaxed),
            requests: stats.requests.load(Relaxed),
            connections_accepted: stats.connections_accepted.load(Relaxed),
            connections_refused: stats.connections_refused.load(Relaxed),
        }
    }

    /// Open segment files and mapped index files, against their bounds (`log_open_files_max`,
    /// `log_index_maps_max`), and how often each was evicted.
    pub fn segment_files(&self) -> FileCacheStats {
        self.state.files.stats()
    }

    /// Every partition of every topic, sorted by topic and partition.
    pub fn partitions(&self) -> Vec<PartitionView> {
        Self::views(self.state.all_partitions())
    }

    /// The partitions of one topic (empty for an unknown topic), in partition order.
    pub fn topic_partitions(&self, topic: &str) -> Vec<PartitionView> {
        match self.state.topic(topic) {
            Some(partitions) => Self::views(partitions.partitions.iter().flatten().cloned().collect()),
            None => Vec::new(),
        }
    }

    /// The producer state this replica holds for `topic`-`partition` (leader or follower; `None`
    /// when it is not hosted here), by producer id.
    pub fn producers(&self, topic: &str, partition: i32) -> Option<Vec<ProducerInfo>> {
        self.state.partition(topic, partition)?.with_log(|log| log.active_producers()).ok()
    }

    /// This replica's aborted transactions (its `.txnindex` entries, oldest segment first).
    pub fn aborted_transactions(&self, topic: &str, partition: i32) -> Option<Vec<AbortedTxn>> {
        self.state.partition(topic, partition)?.with_log(|log| log.aborted_txns().ok()).ok().flatten()
    }

    /// Every partition of `topic` (all topics for `None`) as the metadata image has it.
    pub fn metadata_partitions(&self, topic: Option<&str>) -> Vec<PartitionMetadataView> {
        let image = self.state.image();
        image
            .topics
            .values()
            .filter(|t| topic.is_none_or(|n| n == t.name))
            .flat_map(|t| {
                t.partitions.iter().enumerate().map(|(i, p)| PartitionMetadataView {
                    topic: t.name.clone(),
                    partition: i as i32,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    leader: p.leader,
                    leader_epoch: p.leader_epoch,
                    adding: p.adding.clone(),
                    removing: p.removing.clone(),
                })
            })
            .collect()
    }

    /// The active controller (the broker leading the metadata quorum), if any.
    pub fn controller_id(&self) -> Option<i32> {
        self.state.quorum.status().leader.map(|id| id as i32)
    }

    /// Registered brokers and whether each is fenced.
    pub fn registered_brokers(&self) -> Vec<(i32, bool)> {
        self.state.image().brokers.values().map(|b| (b.id, b.fenced)).collect()
    }

    /// Partitions per leader broker this broker's fetchers follow.
    pub fn following(&self) -> std::collections::BTreeMap<i32, usize> {
        self.state.fetchers.following()
    }

    fn views(partitions: Vec<Arc<Partition>>) -> Vec<PartitionView> {
        // A partition deleted between listing and snapshotting is simply left out.
        let mut views: Vec<PartitionView> = partitions.iter().filter_map(|p| Self::view(p)).collect();
        views.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        views
    }

    fn view(partition: &Partition) -> Option<PartitionView> {
        let snapshot = partition.snapshot().ok()?;
        let offsets = snapshot.offsets;
        let (segments, size_bytes) = partition.with_log(|log| (log.segments(), log.size_bytes())).ok()?;
        let (is_leader, leader, isr, followers) = match snapshot.role {
            Role::Leader(ls) => (
                true,
                partition.leader_id(),
                ls.isr.clone(),
                ls.followers
                    .iter()
                    .map(|(id, f)| ReplicaView {
                        broker: *id,
                        log_end_offset: f.log_end_offset,
                        last_fetch_ms: f.last_fetch_ms,
                        last_caught_up_ms: f.last_caught_up_ms,
                    })
                    .collect(),
            ),
            Role::Follower { leader } => (false, leader, Vec::new(), Vec::new()),
        };
        Some(PartitionView {
            topic: partition.topic.clone(),
            partition: partition.index,
            is_leader,
            leader,
            leader_epoch: offsets.leader_epoch,
            isr,
            followers,
            records_truncated: partition.stats.records_truncated.load(Relaxed),
            log_start_offset: offsets.log_start_offset,
            high_watermark: offsets.high_watermark,
            last_stable_offset: offsets.last_stable_offset,
            log_end_offset: offsets.log_end_offset,
            segments,
            size_bytes,
            bytes_in: partition.stats.bytes_in.load(Relaxed),
            records_in: partition.stats.records_in.load(Relaxed),
            bytes_out: partition.stats.bytes_out.load(Relaxed),
        })
    }
}
