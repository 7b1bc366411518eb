//! The C-API admin calls and the raw batch-header Fetch against the workspace's own broker,
//! started in-process on a free port (no external cluster needed).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use oxbow_broker::{Broker, BrokerConfig, BrokerHandle};
use oxbow_client::{
    fetch_batch_headers, Admin, BatchHeadersRequest, Compression, ConfigOrigin, ConnectionProfile,
    Error, IsolationLevel, Producer, RawConnection, TopicSpec,
};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn start(dir: &std::path::Path, rack: Option<&str>) -> BrokerHandle {
    let config = BrokerConfig {
        port: 0,
        data_dir: dir.to_path_buf(),
        rack: rack.map(str::to_string),
        ..Default::default()
    };
    Broker::start(config).await.expect("broker starts")
}

fn profile(broker: &BrokerHandle) -> ConnectionProfile {
    ConnectionProfile::plaintext(broker.local_addr().to_string(), "oxbow-client-test")
}

/// Runs blocking client calls off the test's executor.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("blocking task")
}

/// The topic's id as a Metadata v12 request (kafka-protocol, plain TCP) reports it.
async fn metadata_v12_topic_id(broker: &BrokerHandle, topic: &str) -> [u8; 16] {
    let version = 12;
    let mut stream = tokio::net::TcpStream::connect(broker.local_addr())
        .await
        .unwrap();
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
    header
        .encode(&mut body, ApiKey::Metadata.request_header_version(version))
        .unwrap();
    request.encode(&mut body, version).unwrap();
    let mut frame = BytesMut::new();
    frame.put_i32(body.len() as i32);
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await.unwrap();
    let size = stream.read_i32().await.unwrap();
    let mut buf = vec![0u8; size as usize];
    stream.read_exact(&mut buf).await.unwrap();
    let mut buf = Bytes::from(buf);
    let header =
        ResponseHeader::decode(&mut buf, ApiKey::Metadata.response_header_version(version))
            .unwrap();
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
        let topics = worker
            .describe_topics(&["described".into(), "absent".into()])
            .expect("DescribeTopics");
        let configs = worker
            .describe_topic_configs_many(&["described".into(), "absent".into()], 10)
            .expect("DescribeConfigs");
        (cluster, topics, configs)
    })
    .await;

    // DescribeCluster: our broker is its own controller and, without `broker.rack`, has no rack.
    assert_eq!(
        cluster.cluster_id.as_deref(),
        Some(broker.cluster_id().as_str())
    );
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
        (0..3)
            .map(|p| (p, Some(1), vec![1], vec![1]))
            .collect::<Vec<_>>()
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
    let retention = entries
        .iter()
        .find(|e| e.name == "retention.ms")
        .expect("retention.ms");
    assert_eq!(retention.value.as_deref(), Some("60000"));
    assert_eq!(retention.origin, ConfigOrigin::DynamicTopic);
    assert!(!retention.is_default);
    let synonyms: Vec<(&str, Option<&str>, ConfigOrigin)> = retention
        .synonyms
        .iter()
        .map(|s| (s.name.as_str(), s.value.as_deref(), s.origin))
        .collect();
    assert_eq!(
        synonyms.first(),
        Some(&("retention.ms", Some("60000"), ConfigOrigin::DynamicTopic))
    );
    assert_eq!(
        synonyms.last().map(|s| s.2),
        Some(ConfigOrigin::Default),
        "{synonyms:?}"
    );
    let segment = entries
        .iter()
        .find(|e| e.name == "segment.bytes")
        .expect("segment.bytes");
    assert_eq!(segment.origin, ConfigOrigin::Default);
    assert!(segment.is_default);
    assert!(segment
        .synonyms
        .iter()
        .all(|s| s.origin == ConfigOrigin::Default));
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
    admin
        .create_topic(&TopicSpec::new("codecs", 1))
        .await
        .expect("create");

    // One batch per codec, in this order, each flushed before the next producer starts.
    let codecs = [
        ("none", Compression::None),
        ("gzip", Compression::Gzip),
        ("lz4", Compression::Lz4),
        ("zstd", Compression::Zstd),
    ];
    for (name, _) in codecs {
        let producer = std::sync::Arc::new(
            Producer::new(
                &profile,
                &[("compression.type", name), ("linger.ms", "50")],
                TIMEOUT,
            )
            .expect("producer"),
        );
        // Sent concurrently so librdkafka batches them (compressing the batch as a whole).
        let sends: Vec<_> = (0..5)
            .map(|i| {
                let producer = producer.clone();
                let value = format!("{name}-{i}-{}", "x".repeat(200));
                tokio::spawn(async move {
                    producer
                        .send("codecs", Some(0), None, Some(value.as_bytes()), None)
                        .await
                        .expect("send")
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
    let fetched = fetch_batch_headers(&profile, &host, port, &request)
        .await
        .expect("fetch");
    assert_eq!(fetched.high_watermark, 20);
    let seen: Vec<Compression> = fetched
        .headers
        .iter()
        .map(|h| h.codec().expect("a checked header has a known codec"))
        .collect();
    let mut distinct = seen.clone();
    distinct.dedup();
    assert_eq!(
        distinct,
        codecs.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
        "{seen:?}"
    );
    for offset in 0..20 {
        let header = fetched.batch_of(offset).expect("every offset covered");
        assert_eq!(header.codec().unwrap(), codecs[(offset / 5) as usize].1);
        assert!(!header.is_transactional() && !header.is_control());
    }

    // From the middle: the first header is the batch holding the offset.
    let from_lz4 = BatchHeadersRequest {
        offset: 12,
        ..request.clone()
    };
    let fetched = fetch_batch_headers(&profile, &host, port, &from_lz4)
        .await
        .expect("fetch");
    assert!(fetched.headers[0].contains(12));
    assert_eq!(fetched.headers[0].codec().unwrap(), Compression::Lz4);

    // A small max_bytes still returns the first batch whole (KIP-74), and nothing is lost.
    let small = BatchHeadersRequest {
        max_bytes: 1,
        ..request.clone()
    };
    let fetched = fetch_batch_headers(&profile, &host, port, &small)
        .await
        .expect("fetch");
    assert!(!fetched.headers.is_empty());
    assert_eq!(fetched.headers[0].base_offset, 0);

    // Errors are the broker's, by Kafka's names, and never panic.
    let unknown = BatchHeadersRequest {
        topic: "no-such-topic".into(),
        ..request.clone()
    };
    let error = fetch_batch_headers(&profile, &host, port, &unknown)
        .await
        .expect_err("unknown topic");
    assert!(
        error.to_string().contains("UnknownTopicOrPartition"),
        "{error}"
    );
    let out_of_range = BatchHeadersRequest {
        offset: 1_000,
        ..request.clone()
    };
    let error = fetch_batch_headers(&profile, &host, port, &out_of_range)
        .await
        .expect_err("offset out of range");
    assert!(error.to_string().contains("OffsetOutOfRange"), "{error}");

    broker.shutdown().await.expect("shutdown");
    let error = fetch_batch_headers(&profile, &host, port, &request)
        .await
        .expect_err("broker gone");
    assert!(error.to_string().contains("NETWORK_EXCEPTION"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_metadata_is_the_chosen_brokers_own_view() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start(dir.path(), None).await;
    let profile = profile(&broker);
    let admin = Admin::new(&profile, TIMEOUT).expect("admin");
    admin
        .create_topic(&TopicSpec::new("raw-metadata", 3))
        .await
        .expect("create");
    let host = broker.local_addr().ip().to_string();
    let port = i32::from(broker.local_addr().port());
    let mut connection = RawConnection::connect(&profile, &host, port, TIMEOUT)
        .await
        .expect("connect");
    let metadata = connection
        .metadata(&["raw-metadata", "no-such-topic"], TIMEOUT)
        .await
        .expect("metadata");
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
    assert!(!admin
        .list_topics()
        .expect("topics")
        .contains(&"no-such-topic".to_string()));
}
