//! The studio's inside view of the embedded broker: `oxbow_studio::InsideView` over the broker's
//! observer API (plain snapshots; the studio never touches broker structures).

use oxbow_broker::{Observer, PartitionView};
use oxbow_studio::{BrokerSnapshot, InsideView, PartitionSnapshot, SegmentSnapshot};

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
        self.observer
            .partitions()
            .into_iter()
            .map(snapshot)
            .collect()
    }

    fn topic_partitions(&self, topic: &str) -> Vec<PartitionSnapshot> {
        self.observer
            .topic_partitions(topic)
            .into_iter()
            .map(snapshot)
            .collect()
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
