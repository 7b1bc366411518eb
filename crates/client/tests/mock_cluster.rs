//! The helpers end to end against librdkafka's in-process mock cluster (no broker needed).
//! Tests against real brokers (Oxbow, Apache Kafka) live in the repo's tests/.

use oxbow_client::rdkafka::mocking::MockCluster;
use oxbow_client::rdkafka::Message;
use oxbow_client::{Admin, ConnectionProfile, PartitionReader, Producer, StartOffset};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_then_read_back_by_assignment() {
    let mock = MockCluster::new(1).expect("mock cluster");
    let profile = ConnectionProfile::plaintext(mock.bootstrap_servers(), "oxbow-client-test");

    // The mock cluster answers Metadata, Produce, ListOffsets and Fetch, but not CreateTopics:
    // the topic is made through the mock's own API (the bench exercises CreateTopics on real brokers).
    mock.create_topic("readback", 3, 1).expect("create topic");
    let admin = Admin::new(&profile, TIMEOUT).expect("admin");
    let metadata = admin.metadata().expect("metadata");
    assert_eq!(
        metadata
            .topic("readback")
            .expect("topic listed")
            .partitions
            .len(),
        3
    );
    assert!(admin
        .list_topics()
        .expect("list")
        .contains(&"readback".to_string()));

    let producer = Producer::new(&profile, &[("acks", "all")], TIMEOUT).expect("producer");
    for index in 0..30u32 {
        let value = index.to_be_bytes();
        let delivered = producer
            .send(
                "readback",
                Some((index % 3) as i32),
                Some(b"key"),
                Some(&value),
                None,
            )
            .await
            .expect("send");
        assert_eq!(delivered.partition, (index % 3) as i32);
        assert_eq!(delivered.offset, (index / 3) as i64);
    }

    let reader = tokio::task::spawn_blocking(move || {
        let reader = PartitionReader::open(
            &profile,
            "readback",
            None,
            StartOffset::Beginning,
            &[],
            TIMEOUT,
        )
        .expect("reader");
        let mut seen = Vec::new();
        let deadline = Instant::now() + TIMEOUT;
        while seen.len() < 30 && Instant::now() < deadline {
            if let Some(message) = reader.poll(Duration::from_millis(100)).expect("poll") {
                let value = u32::from_be_bytes(
                    message
                        .payload()
                        .expect("payload")
                        .try_into()
                        .expect("4 bytes"),
                );
                seen.push((message.partition(), message.offset(), value));
            }
        }
        assert_eq!(reader.watermarks(0, TIMEOUT).expect("watermarks"), (0, 10));
        seen
    })
    .await
    .expect("reader thread");
    assert_eq!(reader.len(), 30);
    for (partition, offset, value) in reader {
        assert_eq!(value % 3, partition as u32);
        assert_eq!(value / 3, offset as u32);
    }
}
