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
        self.partitions()
            .into_iter()
            .filter(|partition| partition.topic == topic)
            .collect()
    }

    /// One entry per broker of the embedded cluster.
    fn brokers(&self) -> Vec<BrokerSnapshot>;
}
