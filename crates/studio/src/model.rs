//! The plain data the commands take and return. Each type is `Serialize` + `ToSchema`, so the HTTP
//! API and the OpenAPI document use the same definitions, and the Tauri shell sends them as is.

use crate::decode::Encoding;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Whether the studio looks at its own embedded cluster (with the inside view) or an external one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Embedded,
    External,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BrokerView {
    pub id: i32,
    pub host: String,
    pub port: i32,
    /// Kafka's `broker.rack` (from DescribeCluster); null when the broker has no rack or the
    /// cluster did not answer DescribeCluster.
    pub rack: Option<String>,
    /// `online` for every broker in metadata (metadata lists only live brokers).
    pub state: String,
    /// Whether this broker is the controller, when known.
    pub is_controller: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ClusterOverview {
    pub mode: Mode,
    pub cluster_id: Option<String>,
    pub controller_id: Option<i32>,
    pub brokers: Vec<BrokerView>,
    pub topic_count: u64,
    pub partition_count: u64,
    /// Partitions whose ISR is smaller than their replica set.
    pub under_replicated_partitions: u64,
    /// Bytes of all partition logs; null when unknown (external clusters).
    pub data_size_bytes: Option<u64>,
    /// The active connection profile's name.
    pub profile: String,
    pub bootstrap_servers: String,
    /// Whether the inside view (segments, log end offsets, counters) is available.
    pub inside_view: bool,
}

/// Recent throughput, one sample per `interval_ms`, oldest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MetricsSeries {
    pub interval_ms: u64,
    pub available: bool,
    /// Why there are no samples (e.g. an external cluster has no inside view).
    pub reason: Option<String>,
    pub produce_bytes_per_s: Vec<f64>,
    pub fetch_bytes_per_s: Vec<f64>,
    pub produce_records_per_s: Vec<f64>,
    /// Time of the newest sample (ms since the epoch), null when there is none.
    pub last_sample_ms: Option<i64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TopicSummary {
    pub name: String,
    pub internal: bool,
    pub partitions: u32,
    pub replication_factor: u32,
    /// Sum over partitions of high watermark − log start offset; null when offsets are unknown.
    pub record_count: Option<i64>,
    /// True when `record_count` over-counts: compacted topics keep fewer records than the offset range.
    pub record_count_is_estimate: bool,
    /// Null when unknown (external clusters).
    pub size_bytes: Option<u64>,
    /// `delete`, `compact` or `compact,delete`; null when the configs could not be read.
    pub cleanup_policy: Option<String>,
    pub under_replicated: bool,
    pub under_replicated_partitions: u32,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTopicRequest {
    /// 1–249 characters of `a-z A-Z 0-9 . _ -`, not `.` or `..`.
    #[schema(pattern = r"^[a-zA-Z0-9._-]{1,249}$", min_length = 1, max_length = 249)]
    pub name: String,
    /// Defaults to 1.
    #[schema(minimum = 1, maximum = 1000)]
    pub partitions: Option<i32>,
    /// Defaults to the broker's `default.replication.factor`.
    #[schema(minimum = 1, maximum = 32)]
    pub replication_factor: Option<i32>,
    /// Topic configs by Kafka's names, e.g. `{"retention.ms": "60000"}`.
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SegmentView {
    pub base_offset: i64,
    pub next_offset: i64,
    pub size_bytes: u64,
    pub max_timestamp_ms: i64,
    pub active: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PartitionDetail {
    pub partition: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// Replicas not in the ISR (metadata does not tell offline from lagging).
    pub offline_replicas: Vec<i32>,
    pub under_replicated: bool,
    /// From the inside view, else ListOffsets EARLIEST; null when neither answered.
    pub log_start_offset: Option<i64>,
    /// From the inside view, else ListOffsets LATEST.
    pub high_watermark: Option<i64>,
    /// Inside view only (null for external clusters).
    pub log_end_offset: Option<i64>,
    /// Inside view only (null for external clusters), oldest first.
    pub segments: Option<Vec<SegmentView>>,
    /// Inside view only.
    pub size_bytes: Option<u64>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TopicDetail {
    pub name: String,
    /// Kafka's topic id as Kafka's tools print it (URL-safe base64, 22 characters), from
    /// DescribeTopics; null when the cluster has none (brokers before Kafka 2.8) or did not answer.
    pub topic_id: Option<String>,
    pub internal: bool,
    pub replication_factor: u32,
    pub partitions: Vec<PartitionDetail>,
    /// A few configs worth showing at a glance (cleanup.policy, retention.ms, …), by Kafka's names.
    pub configs_summary: BTreeMap<String, String>,
    pub record_count: Option<i64>,
    pub record_count_is_estimate: bool,
    pub inside_view: bool,
}

/// One place a config's value can come from (Kafka's DescribeConfigs synonyms).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ConfigSynonym {
    /// The config's name at that level, e.g. `log.retention.ms` for the broker's default of
    /// `retention.ms`.
    pub name: String,
    /// Null for sensitive values (never sent) and unset values.
    pub value: Option<String>,
    /// Kafka's ConfigSource name, e.g. `DYNAMIC_TOPIC_CONFIG`, `STATIC_BROKER_CONFIG`,
    /// `DEFAULT_CONFIG`.
    pub source: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TopicConfigEntry {
    pub name: String,
    /// Null for sensitive values (never sent) and unset values.
    pub value: Option<String>,
    /// Kafka's ConfigSource name, e.g. `DYNAMIC_TOPIC_CONFIG`, `DEFAULT_CONFIG`.
    pub source: String,
    pub is_default: bool,
    pub is_sensitive: bool,
    pub read_only: bool,
    /// Every source of the value, most specific first (the first is the value in effect): e.g. a
    /// topic override (`DYNAMIC_TOPIC_CONFIG`), then the broker's setting, then Kafka's default
    /// (`DEFAULT_CONFIG`). Empty when the cluster lists none.
    pub synonyms: Vec<ConfigSynonym>,
    /// A one-line description for well-known configs.
    pub documentation: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlterConfigsRequest {
    /// Configs to set at the topic level.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// Configs to remove from the topic level (back to the broker default).
    #[serde(default)]
    pub delete: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPartitionsRequest {
    /// The new total number of partitions (must be larger than the current count).
    #[schema(minimum = 1, maximum = 10000)]
    pub count: i32,
}

/// Where reading starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The last `limit` records across the selected partitions.
    #[default]
    Newest,
    /// From each partition's log start offset.
    Oldest,
    /// From `offset` in each selected partition.
    Offset,
    /// From the first record at or after `timestamp_ms` in each selected partition.
    Timestamp,
}

/// Which parts of a record the filter looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FilterIn {
    Key,
    Value,
    Headers,
    #[default]
    All,
}

/// A browse request (the query parameters of `GET /api/topics/{name}/messages`).
#[derive(Clone, Debug, Default)]
pub struct BrowseRequest {
    pub scope: Scope,
    pub offset: Option<i64>,
    pub timestamp_ms: Option<i64>,
    pub partitions: Option<Vec<i32>>,
    pub limit: usize,
    pub key_decoder: crate::decode::Decoder,
    pub value_decoder: crate::decode::Decoder,
    pub filter: Option<String>,
    pub filter_in: FilterIn,
}

/// A key or value: its bytes (base64) and their decoding under the chosen decoder.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PayloadView {
    /// True for a null key or value (distinct from empty).
    pub is_null: bool,
    pub size: u64,
    /// Standard base64 of the bytes (at most the first 128 KiB); null when `is_null`.
    pub base64: Option<String>,
    /// True when the bytes were cut to the first 128 KiB for this response.
    pub truncated: bool,
    pub decoded: Option<String>,
    /// Why the decoder could not show these bytes.
    pub decode_error: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HeaderView {
    pub key: String,
    /// Null for a null header value.
    pub value_base64: Option<String>,
    /// The value as text when it is valid UTF-8.
    pub value_string: Option<String>,
}

/// The RecordBatch a record came in. librdkafka decompresses transparently and reports nothing
/// about batches, so a browse reads the batch headers itself: one bounded Fetch per partition of
/// the page, over PLAINTEXT profiles only. Every field but `record_bytes` is null when that lookup
/// was not made (SASL or TLS profiles, live tail rows) or did not answer in time: null means
/// *unknown*, never uncompressed (that is `"none"`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchView {
    /// The batch's codec by Kafka's names: `none`, `gzip`, `snappy`, `lz4` or `zstd`; null when
    /// unknown.
    pub compression: Option<String>,
    /// Key + value + header bytes of the record (uncompressed).
    pub record_bytes: u64,
    /// Offset of the batch's first record; null when unknown.
    pub base_offset: Option<i64>,
    /// Offset of the batch's last record; null when unknown.
    pub last_offset: Option<i64>,
    /// Records in the batch; null when unknown.
    pub record_count: Option<i32>,
    /// Bytes of the whole batch as stored (compressed, header included); null when unknown.
    pub batch_bytes: Option<u64>,
    /// Whether the batch belongs to a transaction; null when unknown.
    pub transactional: Option<bool>,
    /// The idempotent producer's id (-1: the producer was not idempotent); null when unknown.
    pub producer_id: Option<i64>,
}

impl BatchView {
    /// A batch nothing is known about but the record's own size.
    pub fn unknown(record_bytes: u64) -> BatchView {
        BatchView {
            compression: None,
            record_bytes,
            base_offset: None,
            last_offset: None,
            record_count: None,
            batch_bytes: None,
            transactional: None,
            producer_id: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MessageRow {
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    /// `CreateTime`, `LogAppendTime` or `NotAvailable`.
    pub timestamp_type: String,
    pub key: PayloadView,
    pub value: PayloadView,
    pub headers: Vec<HeaderView>,
    pub batch: BatchView,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MessagePage {
    pub messages: Vec<MessageRow>,
    /// Per partition (decimal string key), the offset to continue from with `scope=offset`.
    pub next: BTreeMap<String, i64>,
    /// Records read from the cluster.
    pub scanned: u64,
    /// Records that passed the filter (all scanned ones without a filter).
    pub matched: u64,
    /// True when reading stopped at the time or record budget before reaching the partitions' ends.
    pub budget_exhausted: bool,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProduceHeader {
    pub key: String,
    /// UTF-8 text; null for a null header value.
    pub value: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProduceRequest {
    /// The key as text in `key_encoding`; ignored when `keyed` is false.
    pub key: Option<String>,
    /// The value as text in `value_encoding`; null or absent sends a null value (a tombstone).
    pub value: Option<String>,
    #[serde(default)]
    pub key_encoding: Encoding,
    #[serde(default)]
    pub value_encoding: Encoding,
    #[serde(default)]
    pub headers: Vec<ProduceHeader>,
    /// A fixed partition; absent lets the producer's partitioner choose.
    #[schema(minimum = 0)]
    pub partition: Option<i32>,
    /// How many copies to send (1–100,000). Defaults to 1.
    #[schema(minimum = 1, maximum = 100000)]
    pub count: Option<u32>,
    /// False sends null keys (the key is ignored). Defaults to true.
    pub keyed: Option<bool>,
    /// Which acknowledgement the producer waits for (Kafka's `acks`). Defaults to `all`.
    #[serde(default)]
    pub acks: ProduceAcks,
}

/// Kafka's producer `acks`: how many replicas must have a record before the send succeeds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize, ToSchema)]
pub enum ProduceAcks {
    /// Every in-sync replica (and at least `min.insync.replicas` of them).
    #[default]
    #[serde(rename = "all")]
    All,
    /// The leader alone: a record is acknowledged before any follower has it.
    #[serde(rename = "1")]
    Leader,
    /// No answer awaited: the offset is unknown (-1) and a lost record goes unnoticed.
    #[serde(rename = "0")]
    None,
}

impl ProduceAcks {
    /// The value of librdkafka's `acks` property.
    pub fn as_kafka(self) -> &'static str {
        match self {
            ProduceAcks::All => "all",
            ProduceAcks::Leader => "1",
            ProduceAcks::None => "0",
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub struct DeliveredView {
    pub partition: i32,
    /// -1 when the producer did not wait for an answer (acks=0), as Kafka's clients report it.
    pub offset: i64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProduceResult {
    /// Where each record landed (the first 1,000).
    pub results: Vec<DeliveredView>,
    pub sent: u64,
    /// The acknowledgement the records were sent with.
    pub acks: ProduceAcks,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PartitionerAnswer {
    pub partitions: i32,
    pub key_size: u64,
    /// Java client default: `toPositive(murmur2(key)) % partitions`.
    pub java_murmur2: i32,
    /// librdkafka default (`consistent_random`): `crc32(key) % partitions`; null for an empty key
    /// (librdkafka picks a random partition).
    pub librdkafka_consistent_random: Option<i32>,
    pub note: String,
}

/// Kafka's `security.protocol`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SecurityProtocol {
    #[default]
    #[serde(rename = "PLAINTEXT")]
    Plaintext,
    #[serde(rename = "SSL")]
    Ssl,
    #[serde(rename = "SASL_PLAINTEXT")]
    SaslPlaintext,
    #[serde(rename = "SASL_SSL")]
    SaslSsl,
}

/// Kafka's `sasl.mechanism` values with a username and password.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SaslMechanismName {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

/// A connection profile as the API shows it: never a secret, only whether one is set.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProfileView {
    pub name: String,
    pub bootstrap_servers: String,
    pub security_protocol: SecurityProtocol,
    pub sasl_mechanism: Option<SaslMechanismName>,
    pub username: Option<String>,
    pub has_password: bool,
    pub ca_file: Option<String>,
    pub client_cert_file: Option<String>,
    pub client_key_file: Option<String>,
    pub active: bool,
    /// The profile the studio was started with (not stored in the file, cannot be deleted).
    pub builtin: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProfileList {
    pub active: String,
    pub profiles: Vec<ProfileView>,
}

/// A profile to save (create, or replace one with the same name).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    #[schema(pattern = r"^[A-Za-z0-9 ._-]{1,64}$", min_length = 1, max_length = 64)]
    pub name: String,
    /// Comma-separated host:port list.
    #[schema(min_length = 1)]
    pub bootstrap_servers: String,
    #[serde(default)]
    pub security_protocol: SecurityProtocol,
    pub sasl_mechanism: Option<SaslMechanismName>,
    pub username: Option<String>,
    /// Stored in the profiles file (readable by the user only) and never returned. When replacing
    /// a profile, an absent password keeps the stored one.
    pub password: Option<String>,
    pub ca_file: Option<String>,
    pub client_cert_file: Option<String>,
    pub client_key_file: Option<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveProfileRequest {
    #[schema(pattern = r"^[A-Za-z0-9 ._-]{1,64}$", min_length = 1, max_length = 64)]
    pub name: String,
}

/// Offsets of one partition for live strips.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PartitionOffsets {
    pub partition: i32,
    pub log_start_offset: Option<i64>,
    pub high_watermark: Option<i64>,
    pub log_end_offset: Option<i64>,
    pub segments: Option<Vec<SegmentView>>,
}

/// The JSON body of every error response.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// HTTP status × 100 + a detail digit, e.g. 40001 bad input, 40401 not found.
    pub error_code: u32,
    /// What was wrong and where (names the field for bad input).
    pub message: String,
    /// Kafka's error name when the cluster refused, e.g. `TOPIC_ALREADY_EXISTS`.
    pub kafka_error: Option<String>,
}

/// One consumer group in the list (`GET /api/groups`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupSummary {
    pub group_id: String,
    /// Kafka's state name: `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty`, `Dead`,
    /// or `Unknown` (states the client library does not know, such as KIP-848's `Reconciling`).
    pub state: String,
    /// `classic` or `consumer` (KIP-848); `unknown` when the cluster does not say.
    pub group_type: String,
    /// `consumer`, or empty for a simple group (committed offsets only, never any members).
    pub protocol_type: String,
    /// The partition assignor the group chose (`range`, `cooperative-sticky`, …); null when none
    /// is chosen (an empty group) or the group was not described.
    pub protocol: Option<String>,
    /// Null when the group was not described (see `detailed`).
    pub members: Option<u32>,
    /// Topics the group has committed offsets for or members assigned to, sorted.
    pub topics: Vec<String>,
    /// Partitions with a committed offset or an owner.
    pub partitions: u32,
    /// Sum over partitions of high watermark − committed offset where both are known; null when
    /// no partition's lag is known.
    pub total_lag: Option<i64>,
    /// The coordinating broker's id, when described.
    pub coordinator_id: Option<i32>,
    /// False for groups past the list's detail bound (only id, state and type are known) or when
    /// describing the group failed (see `error`).
    pub detailed: bool,
    /// Why this group's details are missing, if they are.
    pub error: Option<String>,
}

/// The consumer groups of the cluster.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub groups: Vec<GroupSummary>,
    /// Brokers that could not list their groups (their groups are missing), and other problems
    /// that left the list incomplete.
    pub errors: Vec<String>,
    /// When the list was read (ms since the epoch); it is reused for up to a second or two.
    pub read_at_ms: i64,
}

/// A topic-partition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct TopicPartitionRef {
    pub topic: String,
    pub partition: i32,
}

/// One member of a group.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupMemberView {
    pub member_id: String,
    /// `group.instance.id` of a static member (KIP-345); null for dynamic members.
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    /// Partitions assigned to the member, decoded from its assignment, sorted.
    pub assignment: Vec<TopicPartitionRef>,
}

/// One partition of a group: its committed offset, the log's high watermark and the lag.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupPartitionView {
    pub topic: String,
    pub partition: i32,
    /// Null when the group has committed nothing for the partition.
    pub committed_offset: Option<i64>,
    /// The metadata string committed with the offset; null when empty.
    pub metadata: Option<String>,
    /// The partition's high watermark (where consumers' reading ends); null when unknown.
    pub high_watermark: Option<i64>,
    /// High watermark − committed offset (never below 0); null when either is unknown.
    pub lag: Option<i64>,
    /// The member the partition is assigned to; null when unassigned.
    pub owner_member_id: Option<String>,
    pub owner_client_id: Option<String>,
    /// The broker's refusal for this partition's committed offset, if any.
    pub error: Option<String>,
}

/// A broker by id and address.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct NodeView {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// One consumer group in detail (`GET /api/groups/{id}`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupDetail {
    pub group_id: String,
    pub state: String,
    pub group_type: String,
    pub protocol_type: String,
    pub protocol: Option<String>,
    pub coordinator: Option<NodeView>,
    /// True while the group has members or is rebalancing: its offsets cannot be reset and it
    /// cannot be deleted (Kafka allows both only for `Empty` and `Dead` groups).
    pub active: bool,
    pub members: Vec<GroupMemberView>,
    /// Committed and assigned partitions, by topic and partition.
    pub partitions: Vec<GroupPartitionView>,
    pub total_lag: Option<i64>,
    pub read_at_ms: i64,
}

/// How `POST /api/groups/{id}/offsets/reset` picks each partition's new offset (the strategies of
/// `kafka-consumer-groups.sh --reset-offsets`). New offsets are clamped into [log start, high
/// watermark], as Kafka's tool does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResetStrategy {
    /// The log start offset (`--to-earliest`).
    Earliest,
    /// The high watermark (`--to-latest`): nothing left to read.
    Latest,
    /// The first offset at or after `timestamp_ms` (`--to-datetime`); the high watermark when no
    /// record is that new.
    Timestamp,
    /// `offset` in every chosen partition (`--to-offset`).
    Offset,
    /// The committed offset moved by `shift_by` (`--shift-by`); needs a committed offset.
    Shift,
}

/// Some partitions of one topic (all of them when `partitions` is absent).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetTopic {
    #[schema(pattern = r"^[a-zA-Z0-9._-]{1,249}$", min_length = 1, max_length = 249)]
    pub topic: String,
    pub partitions: Option<Vec<i32>>,
}

/// A reset of a group's committed offsets.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetOffsetsRequest {
    /// The topics (and partitions) to reset; absent or null: every partition the group has
    /// committed offsets for (`--all-topics`).
    pub topics: Option<Vec<ResetTopic>>,
    pub strategy: ResetStrategy,
    /// With `timestamp`: ms since the epoch.
    #[schema(minimum = 0)]
    pub timestamp_ms: Option<i64>,
    /// With `offset`: the offset.
    #[schema(minimum = 0)]
    pub offset: Option<i64>,
    /// With `shift`: how far to move (negative: back, to re-read).
    pub shift_by: Option<i64>,
    /// Only compute the new offsets (the default, as Kafka's tool); false applies them.
    #[serde(default = "default_true")]
    pub dry_run: bool,
}

fn default_true() -> bool {
    true
}

/// One partition of a reset: where the group was and where it goes.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ResetRow {
    pub topic: String,
    pub partition: i32,
    /// Null when the group had no committed offset.
    pub current_offset: Option<i64>,
    pub new_offset: i64,
    pub log_start_offset: Option<i64>,
    pub high_watermark: Option<i64>,
    /// Lag before the reset (high watermark − current offset); null when unknown.
    pub lag_before: Option<i64>,
    /// Lag after the reset (high watermark − new offset).
    pub lag_after: Option<i64>,
    /// Why the new offset differs from what was asked (clamped into the log, no record that new).
    pub note: Option<String>,
}

/// The outcome of a reset: a preview (`dry_run`) or the offsets now committed.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ResetResult {
    pub group_id: String,
    pub strategy: ResetStrategy,
    pub dry_run: bool,
    /// True when the new offsets were committed.
    pub applied: bool,
    pub partitions: Vec<ResetRow>,
}

/// One partition's lag over time, aligned with `GroupLagSeries::at_ms`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PartitionLagSeries {
    pub topic: String,
    pub partition: i32,
    /// Null where the lag was unknown or the partition was not part of the sample.
    pub lag: Vec<Option<i64>>,
}

/// A group's lag as sampled in the background (`GET /api/groups/{id}/lag`), oldest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupLagSeries {
    pub group_id: String,
    /// Time between samples.
    pub interval_ms: u64,
    /// How far back samples are kept.
    pub window_ms: u64,
    /// Sample times (ms since the epoch).
    pub at_ms: Vec<i64>,
    /// Total lag per sample; null where no partition's lag was known.
    pub total_lag: Vec<Option<i64>>,
    pub partitions: Vec<PartitionLagSeries>,
    /// True when the group has more partitions than are kept per sample (only the first are).
    pub partitions_truncated: bool,
    /// Whether the background sampler follows this group (it follows a bounded number of groups).
    pub sampled: bool,
}

/// Something observed to change in a group between two samples.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct GroupEventView {
    /// When the change was seen (ms since the epoch); it happened since the previous sample.
    pub at_ms: i64,
    /// `first_seen`, `state`, `member_joined`, `member_left`, `assignment` or `gone`.
    pub kind: String,
    /// The change in a sentence.
    pub message: String,
    /// The group's state after the change.
    pub state: Option<String>,
    pub member_id: Option<String>,
}

/// One group's committed offsets on one topic (the partition strips' markers).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TopicGroupOffsets {
    pub group_id: String,
    pub state: String,
    /// By partition; only partitions with a committed offset.
    pub offsets: Vec<PartitionCommitted>,
}

/// A committed offset of one partition.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PartitionCommitted {
    pub partition: i32,
    pub offset: i64,
    /// High watermark − offset, when the high watermark is known.
    pub lag: Option<i64>,
}

/// One transactional id as its coordinator describes it (ListTransactions + DescribeTransactions).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TransactionView {
    pub transactional_id: String,
    /// Kafka's state: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort,
    /// PrepareEpochFence or Dead.
    pub state: String,
    pub producer_id: i64,
    /// Null when the coordinator listed the id but did not describe it.
    pub producer_epoch: Option<i16>,
    pub timeout_ms: Option<i32>,
    /// When the ongoing (or last) transaction began, ms since the epoch.
    pub start_time_ms: Option<i64>,
    /// How long the ongoing transaction has been open (Ongoing and Prepare* states only).
    pub open_for_ms: Option<i64>,
    /// The partitions the transaction writes to.
    pub partitions: Vec<TopicPartitionRef>,
    /// The broker that coordinates it.
    pub coordinator: i32,
    /// Why it could not be described (it is still listed), e.g. `COORDINATOR_LOAD_IN_PROGRESS`.
    pub error: Option<String>,
}

/// The transactions of the cluster, open ones first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TransactionList {
    pub transactions: Vec<TransactionView>,
    /// How many transactional ids are in each state (before the filter).
    pub states: BTreeMap<String, usize>,
    /// Brokers that could not list their transactions (theirs are missing), with why.
    pub errors: Vec<String>,
    pub read_at_ms: i64,
}

/// One producer writing to a partition, as the partition's leader keeps it (DescribeProducers).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProducerView {
    pub producer_id: i64,
    pub producer_epoch: i32,
    pub last_sequence: i32,
    pub last_timestamp_ms: i64,
    /// -1 until a transaction coordinator wrote a marker for it.
    pub coordinator_epoch: i32,
    /// First offset of its open transaction here; null when none is open.
    pub open_txn_start_offset: Option<i64>,
}

/// A partition's producers, open transactions and last stable offset.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PartitionProducers {
    pub partition: i32,
    pub leader: i32,
    pub high_watermark: Option<i64>,
    /// Where `read_committed` consumers stop: the first offset of the oldest open transaction,
    /// else the high watermark. Null when the leader or the high watermark did not answer.
    pub last_stable_offset: Option<i64>,
    pub producers: Vec<ProducerView>,
    /// Why the leader could not say (its producers are unknown).
    pub error: Option<String>,
}

/// Every partition of a topic with its producers.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TopicProducers {
    pub topic: String,
    pub partitions: Vec<PartitionProducers>,
    pub read_at_ms: i64,
}
