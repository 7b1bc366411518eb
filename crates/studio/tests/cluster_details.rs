//! Topic ids, broker racks, config synonyms and per-record batch compression through the studio's
//! commands, against the workspace's own broker started in-process (external mode: everything
//! goes over the Kafka protocol, as it would against Apache Kafka).

use base64::Engine as _;
use oxbow_broker::{Broker, BrokerConfig, BrokerHandle};
use oxbow_client::{ConnectionProfile, Producer};
use oxbow_studio::model::{BrowseRequest, CreateTopicRequest, MessageRow, ProduceRequest, Scope};
use oxbow_studio::{StoredProfile, Studio, StudioOptions};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn start(dir: &std::path::Path, rack: Option<&str>) -> (BrokerHandle, Studio) {
    let config =
        BrokerConfig { port: 0, data_dir: dir.to_path_buf(), rack: rack.map(str::to_string), ..Default::default() };
    let broker = Broker::start(config).await.expect("broker starts");
    let studio = Studio::new(StudioOptions {
        initial_profile: StoredProfile::plaintext("test", &broker.local_addr().to_string()),
        embedded: false,
        profiles_path: None,
        inside_view: None,
    })
    .expect("studio");
    (broker, studio)
}

/// Kafka's text form of the id Metadata v12 reports for `topic`, from a hand-encoded request
/// (the test does not trust any of the code under test to read it).
async fn metadata_v12_topic_id(broker: &BrokerHandle, topic: &str) -> String {
    let mut request = Vec::new();
    request.extend_from_slice(&3i16.to_be_bytes()); // Metadata
    request.extend_from_slice(&12i16.to_be_bytes());
    request.extend_from_slice(&9i32.to_be_bytes()); // correlation id
    request.extend_from_slice(&4i16.to_be_bytes());
    request.extend_from_slice(b"test"); // client id
    request.push(0); // header tagged fields
    request.push(2); // topics: compact array of 1
    request.extend_from_slice(&[0; 16]); // topic id: none, ask by name
    request.push(topic.len() as u8 + 1); // compact string (short names only)
    request.extend_from_slice(topic.as_bytes());
    request.push(0); // topic tagged fields
    request.push(0); // allow_auto_topic_creation
    request.push(0); // include_topic_authorized_operations
    request.push(0); // tagged fields
    let mut stream = tokio::net::TcpStream::connect(broker.local_addr()).await.unwrap();
    let mut frame = (request.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&request);
    stream.write_all(&frame).await.unwrap();
    let size = stream.read_i32().await.unwrap() as usize;
    let mut body = vec![0u8; size];
    stream.read_exact(&mut body).await.unwrap();

    let mut at = 0usize;
    let mut take = |n: usize| {
        let slice = body[at..at + n].to_vec();
        at += n;
        slice
    };
    fn uvarint(take: &mut dyn FnMut(usize) -> Vec<u8>) -> usize {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = take(1)[0];
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
            shift += 7;
        }
    }
    assert_eq!(take(4), 9i32.to_be_bytes()); // correlation id
    assert_eq!(uvarint(&mut take), 0); // header tagged fields
    take(4); // throttle_time_ms
    for _ in 0..uvarint(&mut take) - 1 {
        take(4); // node id
        let host = uvarint(&mut take) - 1;
        take(host);
        take(4); // port
        let rack = uvarint(&mut take);
        take(rack.saturating_sub(1));
        assert_eq!(uvarint(&mut take), 0);
    }
    let cluster_id = uvarint(&mut take);
    take(cluster_id.saturating_sub(1));
    take(4); // controller id
    assert_eq!(uvarint(&mut take), 2, "one topic");
    assert_eq!(take(2), [0, 0], "topic error code");
    let name = uvarint(&mut take) - 1;
    assert_eq!(take(name), topic.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(take(16))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_id_rack_and_config_synonyms() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, studio) = start(dir.path(), Some("rack-1")).await;

    let overview = studio.cluster_overview().await.expect("overview");
    assert_eq!(overview.cluster_id, Some(broker.cluster_id()));
    assert_eq!(overview.controller_id, Some(1));
    assert_eq!(overview.brokers.len(), 1);
    assert_eq!(overview.brokers[0].rack.as_deref(), Some("rack-1"));
    assert!(overview.brokers[0].is_controller);

    studio
        .create_topic(CreateTopicRequest {
            name: "detailed".into(),
            partitions: Some(2),
            replication_factor: None,
            configs: [("retention.ms".to_string(), "60000".to_string())].into(),
        })
        .await
        .expect("create");

    let detail = studio.topic_detail("detailed").await.expect("detail");
    let expected = metadata_v12_topic_id(&broker, "detailed").await;
    assert_eq!(detail.topic_id.as_deref(), Some(expected.as_str()));
    assert_eq!(detail.partitions.len(), 2);

    let configs = studio.topic_configs("detailed").await.expect("configs");
    let retention = configs.iter().find(|c| c.name == "retention.ms").expect("retention.ms");
    assert_eq!(retention.source, "DYNAMIC_TOPIC_CONFIG");
    assert_eq!(retention.value.as_deref(), Some("60000"));
    let synonyms: Vec<(&str, Option<&str>, &str)> =
        retention.synonyms.iter().map(|s| (s.name.as_str(), s.value.as_deref(), s.source.as_str())).collect();
    assert_eq!(synonyms.first(), Some(&("retention.ms", Some("60000"), "DYNAMIC_TOPIC_CONFIG")));
    assert!(synonyms.iter().any(|s| s.2 == "DEFAULT_CONFIG"), "{synonyms:?}");
    // A config left at its default lists only the default.
    let segment = configs.iter().find(|c| c.name == "segment.bytes").unwrap();
    assert_eq!(segment.source, "DEFAULT_CONFIG");
    assert!(segment.synonyms.iter().all(|s| s.source == "DEFAULT_CONFIG"));

    // The JSON shape the UI reads.
    let json = serde_json::to_value(retention).unwrap();
    assert_eq!(json["synonyms"][0]["source"], "DYNAMIC_TOPIC_CONFIG");

    broker.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_rack_the_overview_says_null() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, studio) = start(dir.path(), None).await;
    let overview = studio.cluster_overview().await.expect("overview");
    assert_eq!(overview.brokers[0].rack, None);
    let json = serde_json::to_value(&overview.brokers[0]).unwrap();
    assert!(json["rack"].is_null());
    broker.shutdown().await.expect("shutdown");
}

/// Sends `count` records to one partition with librdkafka's `compression.type` = `codec`,
/// concurrently so that they share batches.
async fn produce(profile: &ConnectionProfile, partition: i32, codec: &str, count: usize) {
    let producer = std::sync::Arc::new(
        Producer::new(profile, &[("compression.type", codec), ("linger.ms", "200")], TIMEOUT).expect("producer"),
    );
    let sends: Vec<_> = (0..count)
        .map(|i| {
            let producer = producer.clone();
            let value = format!("{codec}-{i}-{}", "v".repeat(300));
            tokio::spawn(async move {
                producer.send("codecs", Some(partition), None, Some(value.as_bytes()), None).await.expect("send")
            })
        })
        .collect();
    for send in sends {
        send.await.expect("send task");
    }
}

async fn create_topic(studio: &Studio, name: &str, partitions: i32) {
    let request = CreateTopicRequest {
        name: name.into(),
        partitions: Some(partitions),
        replication_factor: None,
        configs: Default::default(),
    };
    studio.create_topic(request).await.expect("create topic");
}

fn compression(row: &MessageRow) -> Option<&str> {
    row.batch.compression.as_deref()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsed_records_carry_their_batchs_compression() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, studio) = start(dir.path(), None).await;
    create_topic(&studio, "codecs", 2).await;
    let profile = ConnectionProfile::plaintext(broker.local_addr().to_string(), "test");
    produce(&profile, 0, "gzip", 5).await; // partition 0: offsets 0-4
    produce(&profile, 1, "lz4", 6).await; // partition 1: offsets 0-5
                                          // The studio's own producer does not compress: partition 0, offsets 5-7.
    let request: ProduceRequest = serde_json::from_value(serde_json::json!({
        "key": "k", "value": "plain", "partition": 0, "count": 3
    }))
    .unwrap();
    studio.produce("codecs", request).await.expect("produce");

    let page = studio
        .browse_messages("codecs", BrowseRequest { scope: Scope::Oldest, limit: 100, ..Default::default() })
        .await
        .expect("browse");
    assert_eq!(page.messages.len(), 14);
    for row in &page.messages {
        let expected = match (row.partition, row.offset) {
            (0, 0..=4) => "gzip",
            (0, _) => "none",
            (1, _) => "lz4",
            other => panic!("unexpected record {other:?}"),
        };
        assert_eq!(compression(row), Some(expected), "{}-{}", row.partition, row.offset);
        let base = row.batch.base_offset.expect("base offset");
        let last = row.batch.last_offset.expect("last offset");
        assert!(base <= row.offset && row.offset <= last);
        assert_eq!(row.batch.transactional, Some(false));
        assert!(row.batch.batch_bytes.unwrap() > 61);
        assert!(row.batch.record_count.unwrap() >= 1);
    }
    // Batches of several records: the 5 gzip records came in fewer than 5 batches.
    let gzip_batches: std::collections::BTreeSet<i64> =
        page.messages.iter().filter(|r| compression(r) == Some("gzip")).map(|r| r.batch.base_offset.unwrap()).collect();
    assert!(gzip_batches.len() < 5, "{gzip_batches:?}");

    // The newest scope and a single partition are annotated too.
    let page = studio
        .browse_messages(
            "codecs",
            BrowseRequest { scope: Scope::Newest, limit: 2, partitions: Some(vec![1]), ..Default::default() },
        )
        .await
        .expect("browse newest");
    assert_eq!(page.messages.len(), 2);
    assert!(page.messages.iter().all(|r| compression(r) == Some("lz4")));
    let json = serde_json::to_value(&page.messages[0]).unwrap();
    assert_eq!(json["batch"]["compression"], "lz4");

    broker.shutdown().await.expect("shutdown");
}

/// Forward pages cut across partitions must not skip records whose timestamps go backwards within
/// a partition: following `next` from the oldest page reaches every record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_next_reaches_every_record_even_with_timestamps_out_of_order() {
    let dir = tempfile::tempdir().unwrap();
    let (broker, studio) = start(dir.path(), None).await;
    create_topic(&studio, "jumbled", 2).await;
    let profile = ConnectionProfile::plaintext(broker.local_addr().to_string(), "test");
    let producer = Producer::new(&profile, &[("linger.ms", "0")], TIMEOUT).expect("producer");
    let base_ms = 1_700_000_000_000i64;
    // Per partition, timestamps go down then up again: offset order and time order disagree.
    let mut expected = std::collections::BTreeSet::new();
    for partition in 0..2 {
        for offset in 0..12i64 {
            let timestamp = base_ms + ((offset * 7 + i64::from(partition) * 3) % 12) * 1_000;
            let value = format!("p{partition}-o{offset}");
            producer
                .send("jumbled", Some(partition), None, Some(value.as_bytes()), Some(timestamp))
                .await
                .expect("send");
            expected.insert((partition, offset));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut request = BrowseRequest { scope: Scope::Oldest, limit: 5, ..Default::default() };
    let mut cursors: std::collections::BTreeMap<i32, i64> = Default::default();
    // Page each partition forward from its cursor until every cursor reaches the end (bounded).
    for _round in 0..40 {
        let page = studio.browse_messages("jumbled", request.clone()).await.expect("browse");
        for row in &page.messages {
            seen.insert((row.partition, row.offset));
        }
        for (partition, resume) in &page.next {
            cursors.insert(partition.parse().unwrap(), *resume);
        }
        // The next request: the partition with the lowest cursor still short of its end.
        match cursors.iter().find(|(_, resume)| **resume < 12) {
            Some((partition, resume)) => {
                request = BrowseRequest {
                    scope: Scope::Offset,
                    offset: Some(*resume),
                    partitions: Some(vec![*partition]),
                    limit: 5,
                    ..Default::default()
                };
            }
            None => break,
        }
    }
    assert_eq!(seen, expected, "following next must reach every record");
    broker.shutdown().await.expect("shutdown");
}
