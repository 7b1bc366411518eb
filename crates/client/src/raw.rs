//! Raw Kafka requests on the `kafka-protocol` codec, only for what librdkafka does not expose.
//! Today that is three things: the RecordBatch headers of a partition range (librdkafka decompresses
//! transparently and tells its callers nothing about batches), read with a Fetch; one chosen
//! broker's own metadata (librdkafka sends a Metadata request to whichever broker it likes); and a
//! broker's API versions ([`api_versions_blocking`]), which librdkafka keeps to itself.
//!
//! [`RawConnection`] is one plain TCP connection to one broker (tokio): it asks ApiVersions on
//! connect and then sends size-prefixed requests one at a time. Everything is bounded: each call
//! carries a timeout, and a response frame larger than the caller's bound closes the connection
//! instead of being read. It speaks neither TLS nor SASL, so it refuses profiles other than
//! PLAINTEXT. Errors are [`Error::Refused`] with a Kafka error name as the code:
//! `NETWORK_EXCEPTION` (connect, read or write failed), `REQUEST_TIMED_OUT`, `CORRUPT_MESSAGE`
//! (a response this helper cannot read), `UNSUPPORTED_VERSION` (no common version),
//! `INVALID_REQUEST` (not a PLAINTEXT profile), or the broker's own error for the request.
//!
//! Responses are decoded by `kafka-protocol`, which reserves an array's claimed capacity before
//! reading it: frames are bounded, but a broker lying about an array length can still make a
//! large (never touched) reservation. The `oxbow` binary's guard allocator (see ARCHITECTURE.md)
//! maps such reservations without committing memory.

use crate::batch::{batch_headers, BatchHeader, BatchHeaderError};
use crate::error::{Error, Result};
use crate::metadata::{BrokerInfo, ClusterMetadata, PartitionInfo, TopicInfo};
use crate::profile::{ConnectionProfile, Security};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, BrokerId, FetchRequest, FetchResponse, MetadataRequest,
    MetadataResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest ApiVersions response read, in bytes (Kafka's is about 1 KiB).
pub const API_VERSIONS_FRAME_BYTES_MAX: usize = 1 << 20;
/// Bytes a Fetch response frame may exceed its `max_bytes` by (headers, aborted transactions,
/// and KIP-74's first batch, which the broker returns whole even when larger than `max_bytes`).
pub const FETCH_FRAME_SLACK_BYTES: usize = 1 << 20;
/// The newest Fetch version this helper sends: v13 and later name topics by id only.
const FETCH_VERSION_MAX: i16 = 12;
/// The oldest Fetch version `kafka-protocol` encodes (and Kafka 4 accepts).
const FETCH_VERSION_MIN: i16 = 4;
/// Largest Metadata response read, in bytes: a few topics' partitions fit many times over.
pub const METADATA_FRAME_BYTES_MAX: usize = 16 << 20;
/// The oldest Metadata version this helper sends (v0 reads an empty topic list as "all").
const METADATA_VERSION_MIN: i16 = 1;
/// Kafka's UNSUPPORTED_VERSION: an ApiVersions answer to a too-new request comes in v0 layout.
const UNSUPPORTED_VERSION: i16 = 35;

/// Which records a Fetch may return, Kafka's `isolation.level`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IsolationLevel {
    ReadUncommitted,
    /// Up to the last stable offset (librdkafka's default, and what [`crate::AssignedReader`]
    /// reads with unless its settings say otherwise).
    #[default]
    ReadCommitted,
}

/// What [`RawConnection::fetch_batch_headers`] asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchHeadersRequest {
    pub topic: String,
    pub partition: i32,
    /// The first offset wanted; the first header returned is the batch containing it.
    pub offset: i64,
    /// Bound on the batch bytes returned (Fetch `max_bytes` and `partition_max_bytes`).
    pub max_bytes: i32,
    pub isolation: IsolationLevel,
    /// Bounds the whole call (for [`fetch_batch_headers`], connecting included).
    pub timeout: Duration,
}

/// The batch headers one Fetch returned for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedBatchHeaders {
    /// In offset order; the last batch's records may have been cut off by `max_bytes`, its
    /// header is exact.
    pub headers: Vec<BatchHeader>,
    pub high_watermark: i64,
}

impl FetchedBatchHeaders {
    /// The header of the batch holding `offset`, if this fetch covered it.
    pub fn batch_of(&self, offset: i64) -> Option<&BatchHeader> {
        // Batches are in offset order: the candidate is the last one starting at or before it.
        let index = self.headers.partition_point(|header| header.base_offset <= offset);
        self.headers[..index].last().filter(|header| header.contains(offset))
    }
}

/// Connects to `host:port` (a partition's leader, from metadata) and reads the batch headers of
/// `request` with one Fetch, all within `request.timeout`. PLAINTEXT profiles only.
pub async fn fetch_batch_headers(
    profile: &ConnectionProfile,
    host: &str,
    port: i32,
    request: &BatchHeadersRequest,
) -> Result<FetchedBatchHeaders> {
    let deadline = Instant::now() + request.timeout;
    let mut connection = RawConnection::connect(profile, host, port, request.timeout).await?;
    let mut rest = request.clone();
    rest.timeout = deadline.saturating_duration_since(Instant::now());
    connection.fetch_batch_headers(&rest).await
}

/// One plain TCP connection to one broker; requests go one at a time.
pub struct RawConnection {
    stream: TcpStream,
    client_id: StrBytes,
    next_correlation_id: i32,
    /// The broker's (lowest, highest) version per API key, from ApiVersions.
    versions: HashMap<i16, (i16, i16)>,
    peer: String,
}

fn refused(operation: &'static str, object: &str, code: impl Into<String>) -> Error {
    Error::Refused { operation, object: object.to_string(), code: code.into() }
}

/// Whether `profile` reaches the cluster without TLS or SASL (the extras may override it).
fn is_plaintext(profile: &ConnectionProfile) -> bool {
    let overridden = profile
        .extra
        .iter()
        .rev()
        .find(|(key, _)| key.eq_ignore_ascii_case("security.protocol"))
        .map(|(_, value)| value.eq_ignore_ascii_case("plaintext"));
    overridden.unwrap_or(profile.security == Security::Plaintext)
}

impl RawConnection {
    /// Connects to `host:port` over plain TCP and asks the broker's API versions, within
    /// `timeout`. Refuses (`INVALID_REQUEST`) a profile that is not PLAINTEXT.
    pub async fn connect(
        profile: &ConnectionProfile,
        host: &str,
        port: i32,
        timeout: Duration,
    ) -> Result<RawConnection> {
        let peer = format!("{host}:{port}");
        if !is_plaintext(profile) {
            return Err(refused(
                "Connect",
                &peer,
                "INVALID_REQUEST: raw requests speak neither TLS nor SASL; the profile is not PLAINTEXT",
            ));
        }
        let port = u16::try_from(port).map_err(|_| refused("Connect", &peer, "INVALID_REQUEST: port out of range"))?;
        let deadline = Instant::now() + timeout;
        let stream = within(deadline, "Connect", &peer, TcpStream::connect((host, port)))
            .await?
            .map_err(|e| refused("Connect", &peer, format!("NETWORK_EXCEPTION: {e}")))?;
        let _ = stream.set_nodelay(true);
        let mut connection = RawConnection {
            stream,
            client_id: StrBytes::from_string(profile.client_id.clone()),
            next_correlation_id: 1,
            versions: HashMap::new(),
            peer,
        };
        connection.api_versions(deadline).await?;
        Ok(connection)
    }

    /// The broker's (lowest, highest) supported version of `key`, if it supports it at all.
    pub fn versions(&self, key: ApiKey) -> Option<(i16, i16)> {
        self.versions.get(&(key as i16)).copied()
    }

    async fn api_versions(&mut self, deadline: Instant) -> Result<()> {
        let body = self
            .round_trip(
                ApiKey::ApiVersions,
                API_VERSIONS_VERSION,
                &api_versions_request(),
                API_VERSIONS_FRAME_BYTES_MAX,
                deadline,
            )
            .await?;
        self.versions = decode_api_versions(body, &self.peer)?;
        Ok(())
    }

    /// Reads the batch headers from `request.offset` on with one Fetch (a version both sides
    /// support, replica id -1, no fetch session), within `request.timeout`.
    pub async fn fetch_batch_headers(&mut self, request: &BatchHeadersRequest) -> Result<FetchedBatchHeaders> {
        let deadline = Instant::now() + request.timeout;
        let object = format!("{}-{}", request.topic, request.partition);
        let (lowest, highest) = self.versions(ApiKey::Fetch).unwrap_or((0, -1));
        let version = highest.min(FETCH_VERSION_MAX);
        if version < lowest.max(FETCH_VERSION_MIN) {
            return Err(refused(
                "Fetch",
                &object,
                format!("UNSUPPORTED_VERSION: the broker takes Fetch v{lowest}-v{highest}, this helper v{FETCH_VERSION_MIN}-v{FETCH_VERSION_MAX}"),
            ));
        }
        let max_bytes = request.max_bytes.max(1);
        let mut partition = FetchPartition::default();
        partition.partition = request.partition;
        partition.fetch_offset = request.offset;
        partition.partition_max_bytes = max_bytes;
        let mut topic = FetchTopic::default();
        topic.topic = TopicName(StrBytes::from_string(request.topic.clone()));
        topic.partitions = vec![partition];
        let mut fetch = FetchRequest::default();
        fetch.replica_id = BrokerId(-1);
        // Answer at once with what is there: the caller asks about records it has already read.
        fetch.max_wait_ms = 0;
        fetch.min_bytes = 1;
        fetch.max_bytes = max_bytes;
        fetch.isolation_level = match request.isolation {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        };
        // Session id 0 and epoch -1: a full fetch outside any fetch session (KIP-227).
        fetch.session_id = 0;
        fetch.session_epoch = -1;
        fetch.topics = vec![topic];
        let frame_max = usize::try_from(max_bytes).unwrap_or(usize::MAX).saturating_add(FETCH_FRAME_SLACK_BYTES);
        let mut body = self.round_trip(ApiKey::Fetch, version, &fetch, frame_max, deadline).await?;
        let response = FetchResponse::decode(&mut body, version)
            .map_err(|e| refused("Fetch", &object, format!("CORRUPT_MESSAGE: {e}")))?;
        if let Some(error) = response.error_code.err() {
            return Err(refused("Fetch", &object, format!("{error:?}")));
        }
        let data = response
            .responses
            .iter()
            .filter(|t| t.topic.0.as_str() == request.topic.as_str())
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == request.partition)
            .ok_or_else(|| refused("Fetch", &object, "CORRUPT_MESSAGE: the partition is missing from the response"))?;
        if let Some(error) = data.error_code.err() {
            return Err(refused("Fetch", &object, format!("{error:?}")));
        }
        let mut headers = Vec::new();
        for header in batch_headers(data.records.as_deref().unwrap_or_default()) {
            match header {
                Ok(header) => headers.push(header),
                // A response may end in a partial batch (max_bytes): normal, not an error.
                Err(BatchHeaderError::Truncated { .. }) => break,
                Err(error) => return Err(refused("Fetch", &object, format!("CORRUPT_MESSAGE: {error}"))),
            }
        }
        Ok(FetchedBatchHeaders { headers, high_watermark: data.high_watermark })
    }

    /// This broker's own metadata for `topics` (none: the brokers only), within `timeout`, with
    /// topic auto-creation off. `answered_by` is the broker listed at the address connected to
    /// (-1 if none is). Topic and partition errors are reported in the result, by Kafka's names.
    pub async fn metadata(&mut self, topics: &[&str], timeout: Duration) -> Result<ClusterMetadata> {
        let deadline = Instant::now() + timeout;
        let (lowest, highest) = self.versions(ApiKey::Metadata).unwrap_or((0, -1));
        let version = highest.min(MetadataRequest::VERSIONS.max);
        if version < lowest.max(METADATA_VERSION_MIN) {
            return Err(refused(
                "Metadata",
                &self.peer,
                format!("UNSUPPORTED_VERSION: the broker takes Metadata v{lowest}-v{highest}, this helper v{METADATA_VERSION_MIN}-v{}", MetadataRequest::VERSIONS.max),
            ));
        }
        let request = MetadataRequest::default()
            .with_topics(Some(
                topics
                    .iter()
                    .map(|name| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(name.to_string()))))
                    })
                    .collect(),
            ))
            .with_allow_auto_topic_creation(false);
        let mut body = self.round_trip(ApiKey::Metadata, version, &request, METADATA_FRAME_BYTES_MAX, deadline).await?;
        let response = MetadataResponse::decode(&mut body, version)
            .map_err(|e| refused("Metadata", &self.peer, format!("CORRUPT_MESSAGE: {e}")))?;
        if let Some(error) = response.error_code.err() {
            return Err(refused("Metadata", &self.peer, format!("{error:?}")));
        }
        let error_name = |code: i16| code.err().map(|error| format!("{error:?}"));
        let brokers: Vec<BrokerInfo> = response
            .brokers
            .iter()
            .map(|b| BrokerInfo { id: b.node_id.0, host: b.host.to_string(), port: b.port })
            .collect();
        let answered_by = brokers.iter().find(|b| format!("{}:{}", b.host, b.port) == self.peer).map_or(-1, |b| b.id);
        let ids = |nodes: &[BrokerId]| nodes.iter().map(|n| n.0).collect::<Vec<i32>>();
        let topics = response
            .topics
            .iter()
            .map(|t| TopicInfo {
                name: t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default(),
                error: error_name(t.error_code),
                partitions: t
                    .partitions
                    .iter()
                    .map(|p| PartitionInfo {
                        id: p.partition_index,
                        leader: p.leader_id.0,
                        replicas: ids(&p.replica_nodes),
                        isr: ids(&p.isr_nodes),
                        error: error_name(p.error_code),
                    })
                    .collect(),
            })
            .collect();
        Ok(ClusterMetadata { answered_by, brokers, topics })
    }

    /// Sends `request` in the newest version both the broker and `kafka-protocol` speak, from
    /// `version_min` on, and decodes the answer (a frame of at most `frame_bytes_max` bytes),
    /// all before `deadline`. Returns the response and the version used.
    pub(crate) async fn call<Req, Resp>(
        &mut self,
        key: ApiKey,
        version_min: i16,
        request: &Req,
        frame_bytes_max: usize,
        deadline: Instant,
    ) -> Result<(Resp, i16)>
    where
        Req: Encodable + Message,
        Resp: Decodable,
    {
        let operation = api_name(key);
        let Some((lowest, highest)) = self.versions(key) else {
            return Err(refused(
                operation,
                &self.peer,
                format!("UNSUPPORTED_VERSION: the broker does not support {operation}"),
            ));
        };
        let version = highest.min(Req::VERSIONS.max);
        if version < lowest.max(version_min) {
            return Err(refused(
                operation,
                &self.peer,
                format!(
                    "UNSUPPORTED_VERSION: the broker takes {operation} v{lowest}-v{highest}, this helper v{version_min}-v{}",
                    Req::VERSIONS.max
                ),
            ));
        }
        let mut body = self.round_trip(key, version, request, frame_bytes_max, deadline).await?;
        let response = Resp::decode(&mut body, version)
            .map_err(|e| refused(operation, &self.peer, format!("CORRUPT_MESSAGE: {e}")))?;
        Ok((response, version))
    }

    /// Sends one request and returns its response body (header read and checked), reading a
    /// frame of at most `frame_bytes_max` bytes, all before `deadline`.
    async fn round_trip(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &impl Encodable,
        frame_bytes_max: usize,
        deadline: Instant,
    ) -> Result<Bytes> {
        let operation = api_name(key);
        let peer = self.peer.clone();
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let frame = request_frame(key, version, correlation_id, &self.client_id, request, &peer)?;
        let network = |e: std::io::Error| refused(operation, &peer, format!("NETWORK_EXCEPTION: {e}"));
        within(deadline, operation, &peer, self.stream.write_all(&frame)).await?.map_err(network)?;
        let mut size = [0u8; 4];
        within(deadline, operation, &peer, self.stream.read_exact(&mut size)).await?.map_err(network)?;
        let size = frame_size(size, frame_bytes_max, operation, &peer)?;
        let mut body = vec![0u8; size];
        within(deadline, operation, &peer, self.stream.read_exact(&mut body)).await?.map_err(network)?;
        response_body(key, version, correlation_id, body, &peer)
    }
}

/// ApiVersions is asked in this version (KIP-511: a broker without it answers in v0's layout).
const API_VERSIONS_VERSION: i16 = 3;

fn api_versions_request() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("oxbow-client"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")))
}

/// The broker's (lowest, highest) version per API key from an ApiVersions response body.
fn decode_api_versions(body: Bytes, peer: &str) -> Result<HashMap<i16, (i16, i16)>> {
    // A broker without v3 answers UNSUPPORTED_VERSION in the v0 layout (KIP-511).
    let response = match ApiVersionsResponse::decode(&mut body.clone(), API_VERSIONS_VERSION) {
        Ok(response) if response.error_code != UNSUPPORTED_VERSION => response,
        _ => ApiVersionsResponse::decode(&mut body.clone(), 0)
            .map_err(|e| refused("ApiVersions", peer, format!("CORRUPT_MESSAGE: {e}")))?,
    };
    if let Some(error) = response.error_code.err() {
        return Err(refused("ApiVersions", peer, format!("{error:?}")));
    }
    Ok(response.api_keys.iter().map(|key| (key.api_key, (key.min_version, key.max_version))).collect())
}

/// One size-prefixed request frame: header, then body.
fn request_frame(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: &StrBytes,
    request: &impl Encodable,
    peer: &str,
) -> Result<BytesMut> {
    let operation = api_name(key);
    let mut header = RequestHeader::default();
    header.request_api_key = key as i16;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = Some(client_id.clone());
    let mut frame = BytesMut::with_capacity(256);
    frame.put_i32(0);
    header
        .encode(&mut frame, key.request_header_version(version))
        .and_then(|()| request.encode(&mut frame, version))
        .map_err(|e| refused(operation, peer, format!("INVALID_REQUEST: {e}")))?;
    let size =
        i32::try_from(frame.len() - 4).map_err(|_| refused(operation, peer, "INVALID_REQUEST: request too large"))?;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    Ok(frame)
}

/// A response frame's size prefix, checked against `frame_bytes_max`.
fn frame_size(size: [u8; 4], frame_bytes_max: usize, operation: &'static str, peer: &str) -> Result<usize> {
    let size = i32::from_be_bytes(size);
    usize::try_from(size).ok().filter(|size| *size <= frame_bytes_max).ok_or_else(|| {
        refused(
            operation,
            peer,
            format!("CORRUPT_MESSAGE: response frame of {size} bytes (at most {frame_bytes_max} read)"),
        )
    })
}

/// The body of a response frame, after its header is read and its correlation id checked.
fn response_body(key: ApiKey, version: i16, correlation_id: i32, body: Vec<u8>, peer: &str) -> Result<Bytes> {
    let operation = api_name(key);
    let mut body = Bytes::from(body);
    let header = ResponseHeader::decode(&mut body, key.response_header_version(version))
        .map_err(|e| refused(operation, peer, format!("CORRUPT_MESSAGE: {e}")))?;
    if header.correlation_id != correlation_id {
        return Err(refused(
            operation,
            peer,
            format!("CORRUPT_MESSAGE: correlation id {} answers request {correlation_id}", header.correlation_id),
        ));
    }
    Ok(body)
}

/// The (lowest, highest) version per API key of the broker at `host:port`, asked with ApiVersions
/// over a blocking plain TCP connection within `timeout` (for callers on a blocking thread, where
/// [`RawConnection`] would need a runtime). Refuses (`INVALID_REQUEST`) a profile that is not
/// PLAINTEXT.
pub fn api_versions_blocking(
    profile: &ConnectionProfile,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<HashMap<i16, (i16, i16)>> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    let peer = format!("{host}:{port}");
    if !is_plaintext(profile) {
        return Err(refused(
            "Connect",
            &peer,
            "INVALID_REQUEST: raw requests speak neither TLS nor SASL; the profile is not PLAINTEXT",
        ));
    }
    let network = |e: std::io::Error| refused("ApiVersions", &peer, format!("NETWORK_EXCEPTION: {e}"));
    let address = (host, port)
        .to_socket_addrs()
        .map_err(network)?
        .next()
        .ok_or_else(|| refused("Connect", &peer, "NETWORK_EXCEPTION: the host has no address"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout).map_err(network)?;
    stream.set_read_timeout(Some(timeout)).map_err(network)?;
    stream.set_write_timeout(Some(timeout)).map_err(network)?;
    let client_id = StrBytes::from_string(profile.client_id.clone());
    let frame =
        request_frame(ApiKey::ApiVersions, API_VERSIONS_VERSION, 1, &client_id, &api_versions_request(), &peer)?;
    stream.write_all(&frame).map_err(network)?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).map_err(network)?;
    let size = frame_size(size, API_VERSIONS_FRAME_BYTES_MAX, "ApiVersions", &peer)?;
    let mut body = vec![0u8; size];
    stream.read_exact(&mut body).map_err(network)?;
    let body = response_body(ApiKey::ApiVersions, API_VERSIONS_VERSION, 1, body, &peer)?;
    decode_api_versions(body, &peer)
}

/// Runs `future` until `deadline`; past it, `REQUEST_TIMED_OUT`.
async fn within<T>(
    deadline: Instant,
    operation: &'static str,
    peer: &str,
    future: impl std::future::Future<Output = T>,
) -> Result<T> {
    tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), future)
        .await
        .map_err(|_| refused(operation, peer, "REQUEST_TIMED_OUT"))
}

fn api_name(key: ApiKey) -> &'static str {
    match key {
        ApiKey::ApiVersions => "ApiVersions",
        ApiKey::Fetch => "Fetch",
        ApiKey::Metadata => "Metadata",
        ApiKey::ListTransactions => "ListTransactions",
        ApiKey::DescribeTransactions => "DescribeTransactions",
        ApiKey::DescribeProducers => "DescribeProducers",
        _ => "Request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plaintext_profiles_are_spoken_to() {
        let mut profile = ConnectionProfile::plaintext("h:1", "t");
        assert!(is_plaintext(&profile));
        profile.extra.push(("security.protocol".into(), "SSL".into()));
        assert!(!is_plaintext(&profile));
        profile.extra.clear();
        profile.security = Security::Ssl { ca_location: None };
        assert!(!is_plaintext(&profile));
    }

    #[tokio::test]
    async fn a_non_plaintext_profile_is_refused_before_connecting() {
        let mut profile = ConnectionProfile::plaintext("127.0.0.1:9", "t");
        profile.security = Security::Ssl { ca_location: None };
        let error =
            RawConnection::connect(&profile, "127.0.0.1", 9, Duration::from_secs(1)).await.err().expect("refused");
        assert!(error.to_string().contains("INVALID_REQUEST"), "{error}");
    }

    #[test]
    fn batch_of_finds_the_covering_batch() {
        let header = |base: i64, delta: i32| {
            let mut bytes = vec![0u8; 61];
            bytes[..8].copy_from_slice(&base.to_be_bytes());
            bytes[8..12].copy_from_slice(&49i32.to_be_bytes());
            bytes[16] = 2;
            bytes[23..27].copy_from_slice(&delta.to_be_bytes());
            BatchHeader::parse_v2(&bytes).unwrap()
        };
        let fetched =
            FetchedBatchHeaders { headers: vec![header(10, 4), header(15, 0), header(20, 9)], high_watermark: 30 };
        let base = |offset| fetched.batch_of(offset).map(|h| h.base_offset);
        assert_eq!(base(9), None);
        assert_eq!(base(10), Some(10));
        assert_eq!(base(14), Some(10));
        assert_eq!(base(15), Some(15));
        assert_eq!(base(16), None); // a gap (compacted away)
        assert_eq!(base(29), Some(20));
        assert_eq!(base(30), None);
    }
}
