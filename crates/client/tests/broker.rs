//! The C-API admin calls and the raw batch-header Fetch against the workspace's own broker,
//! started in-process on a free port (no external cluster needed).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use oxbow_broker::{Broker, BrokerConfig, BrokerHandle};
use oxbow_client::{
    fetch_batch_headers, Admin, BatchHeadersRequest, Compression, ConfigOrigin, ConnectionProfile, Error,
    IsolationLevel, Producer, RawConnection, TopicSpec,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn start(dir: &std::path::Path, rack: Option<&str>) -> BrokerHandle {
    let config =
        BrokerConfig { port: 0, data_dir: dir.to_path_buf(), rack: rack.map(str::to_string), ..Default::default() };
    Broker::start(config).await.expect("broker starts")
}

fn profile(broker: &BrokerHandle) -> ConnectionProfile {
    ConnectionProfile::plaintext(broker.local_addr().to_string(), "oxbow-client-test")
}

/// Runs blocking client calls off the test's executor.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.expect("blocking task")
}

/// The topic's id as a Metadata v12 request (kafka-protocol, plain TCP) reports it.
async fn metadata_v12_topic_id(broker: &BrokerHandle, topic: &str) -> [u8; 16] {
    let version = 12;
    let mut stream = tokio::net::TcpStream::connect(broker.local_addr()).await.unwrap();
    let mut header = RequestHeader::default();
    header.request_api_key = ApiKey::Metadata as i16;
    header.request_api_version = version;
    header.correlation_id = 7;
    header.client_id = Some(StrBytes::from_static_str("test"));
    let mut request = MetadataRequest::default();
    let mut wanted = MetadataRequestTopic::default();
    wanted.name = Some(TopicName(StrBytes::from_string(topic.to_string())));
    request.topics = Some(vec![wanted]);
    let mut body = BytesMut::new();
    header.encode(&mut body, ApiKey::Metadata.request_header_version(version)).unwrap();
    request.encode(&mut body, version).unwrap();
    let mut frame = BytesMut::new();
    frame.put_i32(body.len() as i32);
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await.unwrap();
    let size = stream.read_i32().await.unwrap();
    let mut buf = vec![0u8; size as usize];
    stream.read_exact(&mut buf).await.unwrap();
    let mut buf = Bytes::from(buf);
    let header = ResponseHeader::decode(&mut buf, ApiKey::Metadata.response_header_version(version)).unwrap();
    assert_eq!(header.correlation_id, 7);
    let response = MetadataResponse::decode(&mut buf, version).unwrap();
    assert_eq!(buf.remaining(), 0);
    let topic = response
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(topic))
        .expect("topic in metadata");
    *topic.topic_id.as_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_cluster_topics_and_config_synonyms() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), None).await;
    let admin = Admin::new(&profile(&broker), TIMEOUT).expect("admin");
    let mut spec = TopicSpec::new("described", 3);
    spec.configs.push(("retention.ms".into(), "60000".into()));
    admin.create_topic(&spec).await.expect("create");

    let admin = std::sync::Arc::new(admin);
    let worker = admin.clone();
    let (cluster, topics, configs) = blocking(move || {
        let cluster = worker.describe_cluster().expect("DescribeCluster");
        let topics = worker.describe_topics(&["described".into(), "absent".into()]).expect("DescribeTopics");
        let configs =
            worker.describe_topic_configs_many(&["described".into(), "absent".into()], 10).expect("DescribeConfigs");
        (cluster, topics, configs)
    })
    .await;

    // DescribeCluster: our broker is its own controller and, without `broker.rack`, has no rack.
    assert_eq!(cluster.cluster_id.as_deref(), Some(broker.cluster_id().as_str()));
    assert_eq!(cluster.controller_id, Some(1));
    assert_eq!(cluster.nodes.len(), 1);
    assert_eq!(cluster.nodes[0].id, 1);
    assert_eq!(cluster.nodes[0].port, i32::from(broker.local_addr().port()));
    assert_eq!(cluster.nodes[0].rack, None);

    // DescribeTopics: the id Metadata v12 reports, partitions with leader, replicas, ISR; an
    // unknown topic is refused for itself only (and is not auto-created).
    assert_eq!(topics.len(), 2);
    let described = topics[0].1.as_ref().expect("described topic");
    assert_eq!(topics[0].0, "described");
    let id = described.topic_id.expect("topic id");
    assert_eq!(id.0, metadata_v12_topic_id(&broker, "described").await);
    assert_eq!(id.to_string().len(), 22);
    assert!(!described.is_internal);
    assert_eq!(
        described
            .partitions
            .iter()
            .map(|p| (p.partition, p.leader, p.replicas.clone(), p.isr.clone()))
            .collect::<Vec<_>>(),
        (0..3).map(|p| (p, Some(1), vec![1], vec![1])).collect::<Vec<_>>()
    );
    match &topics[1] {
        (name, Err(Error::Refused { code, .. })) => {
            assert_eq!(name, "absent");
            assert!(code.starts_with("UnknownTopicOrPartition"), "{code}");
        }
        other => panic!("absent topic described: {other:?}"),
    }
    let worker = admin.clone();
    let names = blocking(move || worker.list_topics().expect("list")).await;
    assert!(!names.contains(&"absent".to_string()));

    // DescribeConfigs with synonyms: the override first, Kafka's default last.
    let (name, entries) = &configs[0];
    assert_eq!(name, "described");
    let entries = entries.as_ref().expect("configs");
    let retention = entries.iter().find(|e| e.name == "retention.ms").expect("retention.ms");
    assert_eq!(retention.value.as_deref(), Some("60000"));
    assert_eq!(retention.origin, ConfigOrigin::DynamicTopic);
    assert!(!retention.is_default);
    let synonyms: Vec<(&str, Option<&str>, ConfigOrigin)> =
        retention.synonyms.iter().map(|s| (s.name.as_str(), s.value.as_deref(), s.origin)).collect();
    assert_eq!(synonyms.first(), Some(&("retention.ms", Some("60000"), ConfigOrigin::DynamicTopic)));
    assert_eq!(synonyms.last().map(|s| s.2), Some(ConfigOrigin::Default), "{synonyms:?}");
    let segment = entries.iter().find(|e| e.name == "segment.bytes").expect("segment.bytes");
    assert_eq!(segment.origin, ConfigOrigin::Default);
    assert!(segment.is_default);
    assert!(segment.synonyms.iter().all(|s| s.origin == ConfigOrigin::Default));
    assert!(configs[1].1.is_err() || configs[1].1.as_ref().is_ok_and(Vec::is_empty));

    broker.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_cluster_reports_the_brokers_rack() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), Some("rack-a")).await;
    let admin = Admin::new(&profile(&broker), TIMEOUT).expect("admin");
    let cluster = blocking(move || admin.describe_cluster().expect("DescribeCluster")).await;
    assert_eq!(cluster.nodes[0].rack.as_deref(), Some("rack-a"));
    broker.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_headers_report_each_batchs_codec() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), None).await;
    let profile = profile(&broker);
    let admin = Admin::new(&profile, TIMEOUT).expect("admin");
    admin.create_topic(&TopicSpec::new("codecs", 1)).await.expect("create");

    // One batch per codec, in this order, each flushed before the next producer starts.
    let codecs = [
        ("none", Compression::None),
        ("gzip", Compression::Gzip),
        ("lz4", Compression::Lz4),
        ("zstd", Compression::Zstd),
    ];
    for (name, _) in codecs {
        let producer = std::sync::Arc::new(
            Producer::new(&profile, &[("compression.type", name), ("linger.ms", "50")], TIMEOUT).expect("producer"),
        );
        // Sent concurrently so librdkafka batches them (compressing the batch as a whole).
        let sends: Vec<_> = (0..5)
            .map(|i| {
                let producer = producer.clone();
                let value = format!("{name}-{i}-{}", "x".repeat(200));
                tokio::spawn(async move {
                    producer.send("codecs", Some(0), None, Some(value.as_bytes()), None).await.expect("send")
                })
            })
            .collect();
        for send in sends {
            send.await.expect("send task");
        }
        producer.flush(TIMEOUT).expect("flush");
    }

    let request = BatchHeadersRequest {
        topic: "codecs".into(),
        partition: 0,
        offset: 0,
        max_bytes: 1 << 20,
        isolation: IsolationLevel::ReadCommitted,
        timeout: TIMEOUT,
    };
    let host = broker.local_addr().ip().to_string();
    let port = i32::from(broker.local_addr().port());
    let fetched = fetch_batch_headers(&profile, &host, port, &request).await.expect("fetch");
    assert_eq!(fetched.high_watermark, 20);
    let seen: Vec<Compression> =
        fetched.headers.iter().map(|h| h.codec().expect("a checked header has a known codec")).collect();
    let mut distinct = seen.clone();
    distinct.dedup();
    assert_eq!(distinct, codecs.iter().map(|(_, c)| *c).collect::<Vec<_>>(), "{seen:?}");
    for offset in 0..20 {
        let header = fetched.batch_of(offset).expect("every offset covered");
        assert_eq!(header.codec().unwrap(), codecs[(offset / 5) as usize].1);
        assert!(!header.is_transactional() && !header.is_control());
    }

    // From the middle: the first header is the batch holding the offset.
    let from_lz4 = BatchHeadersRequest { offset: 12, ..request.clone() };
    let fetched = fetch_batch_headers(&profile, &host, port, &from_lz4).await.expect("fetch");
    assert!(fetched.headers[0].contains(12));
    assert_eq!(fetched.headers[0].codec().unwrap(), Compression::Lz4);

    // A small max_bytes still returns the first batch whole (KIP-74), and nothing is lost.
    let small = BatchHeadersRequest { max_bytes: 1, ..request.clone() };
    let fetched = fetch_batch_headers(&profile, &host, port, &small).await.expect("fetch");
    assert!(!fetched.headers.is_empty());
    assert_eq!(fetched.headers[0].base_offset, 0);

    // Errors are the broker's, by Kafka's names, and never panic.
    let unknown = BatchHeadersRequest { topic: "no-such-topic".into(), ..request.clone() };
    let error = fetch_batch_headers(&profile, &host, port, &unknown).await.expect_err("unknown topic");
    assert!(error.to_string().contains("UnknownTopicOrPartition"), "{error}");
    let out_of_range = BatchHeadersRequest { offset: 1_000, ..request.clone() };
    let error = fetch_batch_headers(&profile, &host, port, &out_of_range).await.expect_err("offset out of range");
    assert!(error.to_string().contains("OffsetOutOfRange"), "{error}");

    broker.shutdown().await.expect("shutdown");
    let error = fetch_batch_headers(&profile, &host, port, &request).await.expect_err("broker gone");
    assert!(error.to_string().contains("NETWORK_EXCEPTION"), "{error}");
}

/// A real librdkafka consumer in a group: the group is listed and described (member, client id,
/// assigned partitions decoded from the assignment), its commits are read back with metadata, and
/// once it has left, its offsets are altered; DeleteGroups and OffsetDelete are refused by name
/// while the broker lacks them, never by a panic or a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_listed_described_and_offsets_altered() {
    use oxbow_client::rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use oxbow_client::rdkafka::{Offset, TopicPartitionList};
    use oxbow_client::{GroupState, GroupType};

    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), None).await;
    let profile = profile(&broker);
    let admin = Admin::new(&profile, TIMEOUT).unwrap();
    admin.create_topic(&TopicSpec::new("grouped", 2)).await.expect("create");
    let producer = Producer::new(&profile, &[], TIMEOUT).unwrap();
    for partition in [0, 1] {
        for i in 0..5 {
            producer
                .send("grouped", Some(partition), None, Some(format!("v{i}").as_bytes()), None)
                .await
                .expect("send");
        }
    }

    let mut config = profile.client_config();
    config
        .set("group.id", "g-client-test")
        .set("client.id", "member-one")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    let consumer: BaseConsumer = config.create().unwrap();
    consumer.subscribe(&["grouped"]).unwrap();
    let consumer = blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut read = 0;
        while read < 10 && std::time::Instant::now() < deadline {
            if let Some(Ok(_)) = consumer.poll(Duration::from_millis(200)) {
                read += 1;
            }
        }
        assert_eq!(read, 10, "the consumer read every record");
        let mut commit = TopicPartitionList::new();
        commit.add_partition_offset("grouped", 0, Offset::Offset(3)).unwrap();
        commit.add_partition_offset("grouped", 1, Offset::Offset(5)).unwrap();
        commit.find_partition("grouped", 0).unwrap().set_metadata("why-3");
        consumer.commit(&commit, CommitMode::Sync).unwrap();
        consumer
    })
    .await;

    let (listed, described, committed) = blocking(move || {
        let listed = admin.list_groups().expect("list");
        let described =
            admin.describe_groups(&["g-client-test".to_string(), "g-absent".to_string()]).expect("describe");
        let committed = admin.list_group_offsets("g-client-test", None).expect("offsets");
        (listed, described, (committed, admin))
    })
    .await;
    let (committed, admin) = committed;
    let listing = listed.groups.iter().find(|g| g.group_id == "g-client-test").expect("listed");
    assert_eq!(listing.state, GroupState::Stable);
    assert!(!listing.is_simple);
    assert_eq!(listing.group_type, GroupType::Classic);
    assert!(listed.errors.is_empty(), "{:?}", listed.errors);
    let group = described[0].1.as_ref().expect("described");
    assert_eq!(group.state, GroupState::Stable);
    assert_eq!(group.protocol, "range");
    assert_eq!(group.members.len(), 1);
    let member = &group.members[0];
    assert_eq!(member.client_id, "member-one");
    assert!(!member.member_id.is_empty() && !member.host.is_empty());
    assert_eq!(member.assignment, vec![("grouped".to_string(), 0), ("grouped".to_string(), 1)]);
    assert_eq!(group.coordinator.as_ref().map(|c| c.id), Some(broker.node_id()));
    // An unknown group is Dead with no members (Kafka before DescribeGroups v6), or refused.
    match &described[1].1 {
        Ok(absent) => assert!(absent.state == GroupState::Dead && absent.members.is_empty()),
        Err(error) => assert!(error.to_string().contains("GroupIdNotFound"), "{error}"),
    }
    let offsets: Vec<(i32, Option<i64>, Option<String>)> =
        committed.iter().map(|c| (c.partition, c.offset, c.metadata.clone())).collect();
    assert_eq!(offsets, vec![(0, Some(3), Some("why-3".into())), (1, Some(5), None)]);

    // While the member is in the group, an admin commit is refused per partition or as a whole.
    let admin = blocking(move || {
        match admin.alter_group_offsets("g-client-test", &[("grouped".into(), 0, 0)]) {
            Ok(outcomes) => assert!(outcomes.iter().all(|(_, r)| r.is_err()), "{outcomes:?}"),
            Err(error) => assert!(error.to_string().contains("UnknownMemberId"), "{error}"),
        }
        admin
    })
    .await;

    blocking(move || consumer.unsubscribe()).await;
    let (after, altered, admin) = blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut state = GroupState::Unknown;
        while state != GroupState::Empty && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            state = admin.describe_groups(&["g-client-test".to_string()]).unwrap()[0]
                .1
                .as_ref()
                .map(|g| g.state)
                .unwrap_or(GroupState::Unknown);
        }
        assert_eq!(state, GroupState::Empty, "the group empties once its member leaves");
        let outcomes = admin
            .alter_group_offsets("g-client-test", &[("grouped".into(), 0, 1), ("grouped".into(), 1, 0)])
            .expect("alter");
        let after = admin.list_group_offsets("g-client-test", None).unwrap();
        (after, outcomes, admin)
    })
    .await;
    assert!(altered.iter().all(|(_, r)| r.is_ok()), "{altered:?}");
    assert_eq!(after.iter().map(|c| c.offset).collect::<Vec<_>>(), vec![Some(1), Some(0)]);

    // DeleteGroups and OffsetDelete: until the broker answers them, both are refused by name
    // (UNSUPPORTED_VERSION) and the client survives being dropped afterwards (librdkafka 2.12
    // would abort here if it were left to find out for itself); once it does, they take effect.
    blocking(move || {
        match admin.delete_group_offsets("g-client-test", &[("grouped".into(), 0)]) {
            Ok(outcomes) => {
                assert!(outcomes.iter().all(|(_, r)| r.is_ok()), "{outcomes:?}");
                let left = admin.list_group_offsets("g-client-test", None).unwrap();
                assert_eq!(left.iter().map(|c| c.partition).collect::<Vec<_>>(), vec![1]);
            }
            Err(error) => assert!(error.to_string().contains("UNSUPPORTED_VERSION"), "{error}"),
        }
        match admin.delete_group("g-client-test") {
            Ok(()) => {
                let listed = admin.list_groups().unwrap();
                assert!(listed.groups.iter().all(|g| g.group_id != "g-client-test"));
            }
            Err(error) => assert!(error.to_string().contains("UNSUPPORTED_VERSION"), "{error}"),
        }
        drop(admin);
    })
    .await;
    broker.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_metadata_is_the_chosen_brokers_own_view() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), None).await;
    let profile = profile(&broker);
    let admin = Admin::new(&profile, TIMEOUT).expect("admin");
    admin.create_topic(&TopicSpec::new("raw-metadata", 3)).await.expect("create");
    let host = broker.local_addr().ip().to_string();
    let port = i32::from(broker.local_addr().port());
    let mut connection = RawConnection::connect(&profile, &host, port, TIMEOUT).await.expect("connect");
    let metadata = connection.metadata(&["raw-metadata", "no-such-topic"], TIMEOUT).await.expect("metadata");
    assert_eq!(metadata.brokers.len(), 1);
    assert_eq!(metadata.answered_by, metadata.brokers[0].id);
    let topic = metadata.topic("raw-metadata").expect("listed");
    assert_eq!(topic.error, None);
    assert_eq!(topic.partitions.len(), 3);
    for partition in &topic.partitions {
        assert_eq!(partition.leader, metadata.brokers[0].id);
        assert_eq!(partition.isr, partition.replicas);
    }
    // Unknown topics come back with Kafka's error, and are not created.
    let unknown = metadata.topic("no-such-topic").expect("listed");
    assert_eq!(unknown.error.as_deref(), Some("UnknownTopicOrPartition"));
    assert!(!admin.list_topics().expect("topics").contains(&"no-such-topic".to_string()));
}
