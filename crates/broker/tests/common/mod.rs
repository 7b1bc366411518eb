//! Helpers shared by the broker's integration tests: a raw Kafka-protocol connection encoded
//! by the `kafka-protocol` crate, record batches and the requests the tests send.
#![allow(dead_code)] // each test binary uses its own subset

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub struct Conn {
    pub stream: TcpStream,
    next_id: i32,
}

impl Conn {
    pub async fn new(addr: SocketAddr) -> Conn {
        Conn { stream: TcpStream::connect(addr).await.unwrap(), next_id: 1 }
    }

    pub async fn send(&mut self, req: &RequestKind, key: ApiKey, version: i16) -> i32 {
        let id = self.next_id;
        self.next_id += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = key as i16;
        header.request_api_version = version;
        header.correlation_id = id;
        header.client_id = Some(s("oxbow-test"));
        let mut body = BytesMut::new();
        header.encode(&mut body, key.request_header_version(version)).unwrap();
        req.encode(&mut body, version).unwrap_or_else(|e| panic!("encode {key:?} v{version}: {e}"));
        let mut frame = BytesMut::new();
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).await.unwrap();
        id
    }

    pub async fn recv_raw(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        if self.stream.read_exact(&mut size).await.is_err() {
            return None;
        }
        let mut buf = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut buf).await.ok()?;
        Some(Bytes::from(buf))
    }

    pub async fn recv(&mut self, key: ApiKey, version: i16, expect_id: i32) -> ResponseKind {
        let mut bytes = tokio::time::timeout(Duration::from_secs(10), self.recv_raw())
            .await
            .expect("response in time")
            .expect("response");
        let header = ResponseHeader::decode(&mut bytes, key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, expect_id, "responses in request order");
        let resp =
            ResponseKind::decode(key, &mut bytes, version).unwrap_or_else(|e| panic!("decode {key:?} v{version}: {e}"));
        assert_eq!(bytes.remaining(), 0, "{key:?} v{version}: trailing bytes in response");
        resp
    }

    pub async fn call(&mut self, req: RequestKind, key: ApiKey, version: i16) -> ResponseKind {
        let id = self.send(&req, key, version).await;
        self.recv(key, version, id).await
    }

    /// True when the broker closed the connection (EOF) within 5 s.
    pub async fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut b)).await, Ok(Ok(0)) | Ok(Err(_)))
    }
}

pub fn batch(values: &[&str], producer_id: i64, base_sequence: i32) -> Bytes {
    batch_of(values, producer_id, if producer_id >= 0 { 0 } else { -1 }, base_sequence, false)
}

/// A batch of `values` (keys `k0`, `k1`, …) from `producer_id` at `producer_epoch`, sequences
/// from `base_sequence`, transactional or not.
pub fn batch_of(
    values: &[&str],
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: if producer_id >= 0 { base_sequence + i as i32 } else { -1 },
            timestamp: 1_700_000_000_000 + i as i64,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(v.to_string())),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions { version: 2, compression: Compression::None },
    )
    .unwrap();
    buf.freeze()
}

pub fn produce_req(topic: &str, partition: i32, acks: i16, records: Bytes) -> RequestKind {
    let mut pd = produce_request::PartitionProduceData::default();
    pd.index = partition;
    pd.records = Some(records);
    let mut td = produce_request::TopicProduceData::default();
    td.name = TopicName(s(topic));
    td.partition_data = vec![pd];
    let mut r = ProduceRequest::default();
    r.acks = acks;
    r.timeout_ms = 5000;
    r.topic_data = vec![td];
    RequestKind::Produce(r)
}

pub fn fetch_req(
    version: i16,
    topic: &str,
    topic_id: uuid::Uuid,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
) -> RequestKind {
    let mut fp = fetch_request::FetchPartition::default();
    fp.partition = partition;
    fp.fetch_offset = offset;
    fp.partition_max_bytes = 1 << 20;
    let mut ft = fetch_request::FetchTopic::default();
    if version >= 13 {
        ft.topic_id = topic_id;
    } else {
        ft.topic = TopicName(s(topic));
    }
    ft.partitions = vec![fp];
    let mut r = FetchRequest::default();
    r.replica_id = BrokerId(-1);
    r.max_wait_ms = max_wait_ms;
    r.min_bytes = 1;
    r.max_bytes = 50 << 20;
    r.topics = vec![ft];
    if version >= 7 {
        r.session_epoch = -1;
    }
    RequestKind::Fetch(r)
}

pub async fn create_topic(c: &mut Conn, name: &str, partitions: i32) -> uuid::Uuid {
    let mut t = create_topics_request::CreatableTopic::default();
    t.name = TopicName(s(name));
    t.num_partitions = partitions;
    t.replication_factor = 1;
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![t];
    r.timeout_ms = 5000;
    let ResponseKind::CreateTopics(resp) = c.call(RequestKind::CreateTopics(r), ApiKey::CreateTopics, 7).await else {
        panic!()
    };
    assert_eq!(resp.topics[0].error_code, 0, "{:?}", resp.topics[0].error_message);
    resp.topics[0].topic_id
}
