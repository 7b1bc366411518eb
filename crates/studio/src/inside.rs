//! The inside view: what the embedded broker can tell about itself that no Kafka protocol request
//! exposes (segments, log end offsets, byte and record counters). Only the embedded cluster has
//! one; everything else in the studio works over the Kafka protocol without it.
//!
//! The broker side implements [`InsideView`] (the studio never reaches into broker structures);
//! the studio asks it for plain snapshots. Calls must be cheap and non-blocking enough to be
//! made several times a second (the metrics sampler calls [`InsideView::broker_counters`] once per
//! second, topic screens call [`InsideView::partitions`] per request).

/// One log segment of a partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentSnapshot {
    pub base_offset: i64,
    /// One past the last offset stored in the segment.
    pub next_offset: i64,
    pub size_bytes: u64,
    /// Largest record timestamp in the segment (ms since the epoch), -1 when empty.
    pub max_timestamp_ms: i64,
    /// The segment being appended to.
    pub active: bool,
}

/// One partition's log and counters at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionSnapshot {
    pub topic: String,
    pub partition: i32,
    pub log_start_offset: i64,
    pub high_watermark: i64,
    pub log_end_offset: i64,
    /// Bytes of the partition's log on disk.
    pub size_bytes: u64,
    /// Oldest first. Empty when the broker does not expose segments (yet).
    pub segments: Vec<SegmentSnapshot>,
    /// Monotonic counters since the broker started.
    pub bytes_in_total: u64,
    pub records_in_total: u64,
    pub bytes_out_total: u64,
}

/// One broker's counters at one instant (monotonic since the broker started).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrokerSnapshot {
    pub broker_id: i32,
    pub bytes_in_total: u64,
    pub records_in_total: u64,
    pub bytes_out_total: u64,
    pub requests_total: u64,
    /// Bytes of all partition logs on this broker, when known.
    pub data_size_bytes: Option<u64>,
}

/// The embedded broker's observer API, as the studio needs it. Implemented by the broker side.
pub trait InsideView: Send + Sync {
    /// Every partition of every topic the broker hosts, sorted by topic and partition.
    fn partitions(&self) -> Vec<PartitionSnapshot>;

    /// The partitions of one topic (empty when the broker does not host it). The default filters
    /// [`InsideView::partitions`]; implementations may do better.
    fn topic_partitions(&self, topic: &str) -> Vec<PartitionSnapshot> {
        self.partitions().into_iter().filter(|partition| partition.topic == topic).collect()
    }

    /// One entry per broker of the embedded cluster.
    fn brokers(&self) -> Vec<BrokerSnapshot>;

    /// The embedded cluster itself, for the replication view and the fault API (`None` for a
    /// single broker without them).
    fn cluster(&self) -> Option<Arc<Cluster>> {
        None
    }
}

// ---- The embedded broker's side: `InsideView` over its read-only observer API (plain snapshots;
// the studio never touches broker structures).

use oxbow_broker::{Cluster, Observer, PartitionView};
use std::sync::Arc;

pub struct BrokerInsideView {
    observer: Observer,
}

impl BrokerInsideView {
    pub fn new(observer: Observer) -> BrokerInsideView {
        BrokerInsideView { observer }
    }
}

fn snapshot(view: PartitionView) -> PartitionSnapshot {
    PartitionSnapshot {
        topic: view.topic,
        partition: view.partition,
        log_start_offset: view.log_start_offset,
        high_watermark: view.high_watermark,
        log_end_offset: view.log_end_offset,
        size_bytes: view.size_bytes,
        segments: view
            .segments
            .into_iter()
            .map(|s| SegmentSnapshot {
                base_offset: s.base_offset,
                next_offset: s.next_offset,
                size_bytes: s.size_bytes,
                max_timestamp_ms: s.max_timestamp_ms,
                active: s.active,
            })
            .collect(),
        bytes_in_total: view.bytes_in,
        records_in_total: view.records_in,
        bytes_out_total: view.bytes_out,
    }
}

impl InsideView for BrokerInsideView {
    fn partitions(&self) -> Vec<PartitionSnapshot> {
        self.observer.partitions().into_iter().map(snapshot).collect()
    }

    fn topic_partitions(&self, topic: &str) -> Vec<PartitionSnapshot> {
        self.observer.topic_partitions(topic).into_iter().map(snapshot).collect()
    }

    fn brokers(&self) -> Vec<BrokerSnapshot> {
        let counters = self.observer.counters();
        vec![BrokerSnapshot {
            broker_id: self.observer.node_id(),
            bytes_in_total: counters.bytes_in,
            records_in_total: counters.records_in,
            bytes_out_total: counters.bytes_out,
            requests_total: counters.requests,
            // Summing sizes walks every partition; the sampler calls this once a second, and the
            // overview falls back to summing partitions itself when this is None.
            data_size_bytes: None,
        }]
    }
}

/// The embedded cluster's inside view: each partition as its leader sees it (a follower's view
/// when the partition has no running leader), and one entry per running broker.
pub struct ClusterInsideView {
    cluster: Arc<Cluster>,
}

impl ClusterInsideView {
    pub fn new(cluster: Arc<Cluster>) -> ClusterInsideView {
        ClusterInsideView { cluster }
    }

    fn leader_views(&self, views: impl Iterator<Item = PartitionView>) -> Vec<PartitionSnapshot> {
        let mut best: std::collections::BTreeMap<(String, i32), PartitionView> = Default::default();
        for v in views {
            let key = (v.topic.clone(), v.partition);
            match best.get(&key) {
                Some(current) if current.is_leader || !v.is_leader => {}
                _ => {
                    best.insert(key, v);
                }
            }
        }
        best.into_values().map(snapshot).collect()
    }
}

impl InsideView for ClusterInsideView {
    fn partitions(&self) -> Vec<PartitionSnapshot> {
        let observers = self.cluster.observers();
        self.leader_views(observers.values().flat_map(|o| o.partitions()))
    }

    fn topic_partitions(&self, topic: &str) -> Vec<PartitionSnapshot> {
        let observers = self.cluster.observers();
        self.leader_views(observers.values().flat_map(|o| o.topic_partitions(topic)))
    }

    fn cluster(&self) -> Option<Arc<Cluster>> {
        Some(self.cluster.clone())
    }

    fn brokers(&self) -> Vec<BrokerSnapshot> {
        self.cluster
            .observers()
            .iter()
            .map(|(id, o)| {
                let counters = o.counters();
                BrokerSnapshot {
                    broker_id: *id,
                    bytes_in_total: counters.bytes_in,
                    records_in_total: counters.records_in,
                    bytes_out_total: counters.bytes_out,
                    requests_total: counters.requests,
                    data_size_bytes: None,
                }
            })
            .collect()
    }
}
