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
    assert_eq!(metadata.topic("readback").expect("topic listed").partitions.len(), 3);
    assert!(admin.list_topics().expect("list").contains(&"readback".to_string()));

    let producer = Producer::new(&profile, &[("acks", "all")], TIMEOUT).expect("producer");
    for index in 0..30u32 {
        let value = index.to_be_bytes();
        let delivered =
            producer.send("readback", Some((index % 3) as i32), Some(b"key"), Some(&value), None).await.expect("send");
        assert_eq!(delivered.partition, (index % 3) as i32);
        assert_eq!(delivered.offset, (index / 3) as i64);
    }

    let reader = tokio::task::spawn_blocking(move || {
        let reader =
            PartitionReader::open(&profile, "readback", None, StartOffset::Beginning, &[], TIMEOUT).expect("reader");
        let mut seen = Vec::new();
        let deadline = Instant::now() + TIMEOUT;
        while seen.len() < 30 && Instant::now() < deadline {
            if let Some(message) = reader.poll(Duration::from_millis(100)).expect("poll") {
                let value = u32::from_be_bytes(message.payload().expect("payload").try_into().expect("4 bytes"));
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

/// A port on this machine that nothing listens on: connections to it are refused at once, so a
/// request to it waits out its whole timeout.
fn refused_bootstrap() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr.to_string()
}

/// `close` ends blocking calls already waiting for an answer (a stopping process must not wait out
/// a 10 s timeout against brokers that are gone) and refuses later ones without sending.
#[test]
fn close_ends_blocking_calls_in_flight_and_refuses_later_ones() {
    use oxbow_client::{OffsetLookup, OffsetSpec, ADMIN_POLL_SLICE_MS, CLOSED_CODE};
    let profile = ConnectionProfile::plaintext(refused_bootstrap(), "oxbow-client-close-test");
    let admin = std::sync::Arc::new(Admin::new(&profile, TIMEOUT).expect("admin"));
    let lookup = std::sync::Arc::new(OffsetLookup::new(&profile, &[]).expect("lookup"));
    let listing = {
        let admin = admin.clone();
        std::thread::spawn(move || admin.list_groups().map(|_| ()))
    };
    let looking_up = {
        let lookup = lookup.clone();
        std::thread::spawn(move || {
            lookup.list_offsets(&[("t".to_string(), 0)], OffsetSpec::Latest, TIMEOUT).map(|_| ())
        })
    };
    // Long enough for both requests to be sent and waiting; far shorter than their timeout.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!listing.is_finished() && !looking_up.is_finished());
    let closed_at = Instant::now();
    admin.close();
    lookup.close();
    let listed = listing.join().expect("no panic");
    let looked_up = looking_up.join().expect("no panic");
    let waited = closed_at.elapsed();
    // A slice, plus scheduling slack on a busy 2-core machine.
    assert!(waited < Duration::from_millis(ADMIN_POLL_SLICE_MS + 1_000), "calls ended {waited:?} after close");
    for outcome in [listed, looked_up] {
        let error = outcome.expect_err("a closed handle answers nothing");
        assert!(error.to_string().contains(CLOSED_CODE), "{error}");
    }
    assert!(admin.is_closed());
    let started = Instant::now();
    for error in [admin.describe_groups(&["g".to_string()]).map(|_| ()), admin.metadata().map(|_| ())]
        .map(|outcome| outcome.expect_err("refused"))
    {
        assert!(error.to_string().contains(CLOSED_CODE), "{error}");
    }
    assert!(started.elapsed() < Duration::from_millis(500), "refused without sending");
}

/// A group's coordinator that answers OffsetFetch with NOT_COORDINATOR (it moved) is an error to
/// report, not a crash: librdkafka's admin client, having no group handle, dereferenced a null one
/// on this answer and took the whole process down with SIGSEGV (librdkafka issue 5040).
#[test]
fn offset_fetch_answered_not_coordinator_is_an_error_not_a_crash() {
    use oxbow_client::rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    let mock = MockCluster::new(1).expect("mock cluster");
    let profile = ConnectionProfile::plaintext(mock.bootstrap_servers(), "oxbow-client-test");
    let admin = Admin::new(&profile, Duration::from_secs(5)).expect("admin");
    let moved = [
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
    ];
    for error in moved {
        mock.request_errors(RDKafkaApiKey::OffsetFetch, &[error]);
        let outcome = admin.list_group_offsets("g-moved", None);
        let refused = outcome.expect_err("the coordinator refused the fetch");
        assert!(refused.to_string().to_lowercase().contains("coordinator"), "{refused}");
    }
    // The handle still works once the coordinator answers.
    assert_eq!(admin.list_group_offsets("g-moved", None).expect("offsets"), vec![]);
}
