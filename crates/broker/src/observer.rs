//! The observer API: a read-only inside view of one running broker — segments, log end offsets and
//! byte/record counters that no Kafka protocol request exposes. The studio draws partition strips
//! and throughput charts from it, and only in embedded mode.
//!
//! What it deliberately does not do: change anything, or hand out broker structures. Every call
//! returns plain snapshots copied under each partition's lock, held only for the copy, so callers
//! may poll it several times a second without slowing produce or fetch.

use crate::broker::BrokerState;
use crate::partition::Partition;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

pub use oxbow_log::{FileCacheStats, SegmentInfo};

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

/// One partition's log and counters at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionView {
    pub topic: String,
    pub partition: i32,
    pub log_start_offset: i64,
    pub high_watermark: i64,
    pub log_end_offset: i64,
    /// Oldest first; the last one is the active segment.
    pub segments: Vec<SegmentInfo>,
    pub size_bytes: u64,
    /// Monotonic since the broker started.
    pub bytes_in: u64,
    pub records_in: u64,
    pub bytes_out: u64,
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
            Some(partitions) => Self::views(partitions.partitions.clone()),
            None => Vec::new(),
        }
    }

    fn views(partitions: Vec<Arc<Partition>>) -> Vec<PartitionView> {
        // A partition deleted between listing and snapshotting is simply left out.
        let mut views: Vec<PartitionView> = partitions.iter().filter_map(|p| Self::view(p)).collect();
        views.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        views
    }

    fn view(partition: &Partition) -> Option<PartitionView> {
        let offsets = partition.offsets().ok()?;
        let (segments, size_bytes) = partition.with_log(|log| (log.segments(), log.size_bytes())).ok()?;
        Some(PartitionView {
            topic: partition.topic.clone(),
            partition: partition.index,
            log_start_offset: offsets.log_start_offset,
            high_watermark: offsets.high_watermark,
            log_end_offset: offsets.log_end_offset,
            segments,
            size_bytes,
            bytes_in: partition.stats.bytes_in.load(Relaxed),
            records_in: partition.stats.records_in.load(Relaxed),
            bytes_out: partition.stats.bytes_out.load(Relaxed),
        })
    }
}
