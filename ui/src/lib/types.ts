// JSON shapes of the studio API (see crates/studio). Only the outermost layer knows these.

export interface ApiErrorBody {
  error_code: number | string;
  message: string;
  kafka_error?: string | null;
}

export interface Broker {
  id: number;
  host: string;
  port: number;
  rack: string | null;
  state: string;
  is_controller?: boolean;
}

export interface Cluster {
  mode: 'embedded' | 'external';
  cluster_id: string | null;
  controller_id: number | null;
  brokers: Broker[];
  topic_count: number;
  partition_count: number;
  under_replicated_partitions: number;
  data_size_bytes: number | null;
  profile: string | null;
  bootstrap_servers?: string;
  inside_view?: boolean;
}

export interface Metrics {
  interval_ms: number;
  available?: boolean;
  reason?: string | null;
  produce_bytes_per_s: number[];
  fetch_bytes_per_s: number[];
  produce_records_per_s: number[];
}

export interface TopicSummary {
  name: string;
  internal: boolean;
  partitions: number;
  replication_factor: number;
  record_count: number | null;
  size_bytes: number | null;
  cleanup_policy: string | null;
  under_replicated: number | boolean;
  under_replicated_partitions?: number;
  record_count_is_estimate?: boolean;
}

export interface Segment {
  base_offset: number;
  next_offset: number;
  size_bytes: number;
  max_timestamp_ms: number | null;
  active: boolean;
}

export interface PartitionInfo {
  partition: number;
  leader: number | null;
  replicas: number[];
  isr: number[];
  offline_replicas: number[];
  log_start_offset: number;
  high_watermark: number;
  log_end_offset: number | null;
  segments: Segment[] | null;
}

export interface TopicDetail {
  name: string;
  topic_id: string | null;
  internal: boolean;
  partitions: PartitionInfo[];
  configs_summary: Record<string, string | null> | null;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  source: string;
  is_default: boolean;
  is_sensitive: boolean;
  read_only: boolean;
  synonyms?: unknown;
  documentation?: string | null;
}

export interface Payload {
  is_null?: boolean;
  size: number;
  base64: string | null;
  truncated?: boolean;
  decoded?: unknown;
  decode_error?: string | null;
}

export interface Header {
  key: string;
  value_base64: string | null;
  value_string?: string | null;
}

export interface KRecord {
  partition: number;
  offset: number;
  timestamp_ms: number | null;
  timestamp_type: string;
  key: Payload | null;
  value: Payload | null;
  headers: Header[];
  batch?: { compression?: string | null; [k: string]: unknown };
}

export interface MessagesPage {
  messages: KRecord[];
  next: unknown;
  scanned: number;
  matched: number;
  budget_exhausted?: boolean;
}

export type Decoder =
  | 'string' | 'json' | 'hex' | 'base64'
  | 'int8' | 'int16' | 'int32' | 'int64' | 'float' | 'double';

export const DECODERS: Decoder[] = [
  'string', 'json', 'hex', 'base64', 'int8', 'int16', 'int32', 'int64', 'float', 'double',
];

export type Scope = 'newest' | 'oldest' | 'offset' | 'timestamp';

export interface ProduceRequest {
  key?: string | null;
  value?: string | null;
  key_encoding: string;
  value_encoding: string;
  headers: { key: string; value: string }[];
  partition?: number | null;
  count: number;
  keyed: boolean;
  /** Kafka's producer acks; the studio defaults to 'all'. */
  acks?: Acks;
}

export type Acks = 'all' | '1' | '0';

export interface ProduceResult {
  /** Where the records landed; offset -1 when the producer did not wait for an answer (acks=0). */
  results: { partition: number; offset: number }[];
  sent: number;
  acks: Acks;
}

export interface PartitionerResult {
  java_murmur2: number;
  librdkafka_consistent_random: number | null;
  note: string;
}

export interface Profile {
  name: string;
  bootstrap_servers: string;
  security_protocol?: string | null;
  sasl_mechanism?: string | null;
  username?: string | null;
  has_password?: boolean;
  ca_file?: string | null;
  active?: boolean;
  builtin?: boolean;
  [k: string]: unknown;
}

export interface OffsetsPartition {
  partition: number;
  log_start_offset: number | null;
  high_watermark: number | null;
  log_end_offset: number | null;
  segments: Segment[] | null;
}

export type WsIn =
  | { type: 'rows'; id: string; rows: KRecord[]; dropped?: number }
  | { type: 'offsets'; id: string; partitions: OffsetsPartition[] }
  | ({ type: 'metrics'; id: string } & Partial<Metrics>)
  | { type: 'error'; id?: string; message: string };

/** A partition as the server sends it: offsets may be unknown (null) for an external cluster or a broker that is down. */
export type RawPartitionInfo = Omit<PartitionInfo, 'log_start_offset' | 'high_watermark'> & {
  log_start_offset: number | null;
  high_watermark: number | null;
};
export type RawTopicDetail = Omit<TopicDetail, 'partitions'> & { partitions: RawPartitionInfo[] };

export function isNullPayload(p: Payload | null | undefined): boolean {
  return !p || p.is_null === true || p.base64 === null || p.base64 === undefined;
}

export function normalizeDetail(d: RawTopicDetail): TopicDetail {
  return {
    ...d,
    partitions: d.partitions.map((p) => ({
      ...p,
      replicas: p.replicas ?? [],
      isr: p.isr ?? [],
      offline_replicas: p.offline_replicas ?? [],
      log_start_offset: p.log_start_offset ?? 0,
      high_watermark: p.high_watermark ?? p.log_start_offset ?? 0,
    })),
  };
}

// ---- Replication view (embedded cluster only: `GET /api/replication`, `/api/events`, `POST /api/faults`) ----

export type BrokerRunState = 'running' | 'paused' | 'stopped' | 'killed';

export interface BrokerFaultState {
  id: number;
  state: BrokerRunState | string;
  kafka_address: string | null;
  disk_delay_ms: number;
  /** Brokers whose replication links to this one are cut (both ways). */
  cut_from: number[];
  controller_voter: boolean;
  controller?: boolean;
}

export interface ReplicaLane {
  broker: number;
  is_leader: boolean;
  in_isr: boolean;
  running: boolean;
  fenced: boolean;
  adding: boolean;
  removing: boolean;
  log_end_offset: number | null;
  log_start_offset: number | null;
  high_watermark: number | null;
  lag_records: number | null;
  lag_ms: number | null;
  leader_epoch: number | null;
  records_truncated: number;
}

export interface PartitionReplication {
  topic: string;
  partition: number;
  /** -1 when the partition is offline. */
  leader: number;
  leader_epoch: number;
  high_watermark: number | null;
  isr: number[];
  offline: boolean;
  under_replicated: boolean;
  replicas: ReplicaLane[];
}

export interface ReplicationView {
  controller_id: number | null;
  brokers: BrokerFaultState[];
  partitions: PartitionReplication[];
}

export interface ClusterEvent {
  seq: number;
  time_ms: number;
  kind: string;
  detail: Record<string, unknown>;
}

export type FaultAction = 'stop' | 'start' | 'kill' | 'pause' | 'resume' | 'isolate' | 'heal' | 'slow-disk';

export interface FaultRequest {
  broker: number;
  action: FaultAction;
  peer?: number;
  delay_ms?: number;
}

// ---- Consumer groups (crates/studio/src/groups.rs) ----

export type GroupStateName = 'Stable' | 'PreparingRebalance' | 'CompletingRebalance' | 'Empty' | 'Dead' | 'Unknown';

export interface GroupSummary {
  group_id: string;
  state: GroupStateName | string;
  group_type: string;
  protocol_type: string;
  protocol: string | null;
  members: number | null;
  topics: string[];
  partitions: number;
  total_lag: number | null;
  coordinator_id: number | null;
  detailed: boolean;
  error: string | null;
}

export interface GroupList {
  groups: GroupSummary[];
  errors: string[];
  read_at_ms: number;
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

export interface GroupMember {
  member_id: string;
  group_instance_id: string | null;
  client_id: string;
  host: string;
  assignment: TopicPartitionRef[];
}

export interface GroupPartition {
  topic: string;
  partition: number;
  committed_offset: number | null;
  metadata: string | null;
  high_watermark: number | null;
  lag: number | null;
  owner_member_id: string | null;
  owner_client_id: string | null;
  error: string | null;
}

export interface GroupDetail {
  group_id: string;
  state: GroupStateName | string;
  group_type: string;
  protocol_type: string;
  protocol: string | null;
  coordinator: { id: number; host: string; port: number } | null;
  active: boolean;
  members: GroupMember[];
  partitions: GroupPartition[];
  total_lag: number | null;
  read_at_ms: number;
}

export type ResetStrategy = 'earliest' | 'latest' | 'timestamp' | 'offset' | 'shift';

export interface ResetRequest {
  topics: { topic: string; partitions?: number[] }[] | null;
  strategy: ResetStrategy;
  timestamp_ms?: number;
  offset?: number;
  shift_by?: number;
  dry_run: boolean;
}

export interface ResetRow {
  topic: string;
  partition: number;
  current_offset: number | null;
  new_offset: number;
  log_start_offset: number | null;
  high_watermark: number | null;
  lag_before: number | null;
  lag_after: number | null;
  note: string | null;
}

export interface ResetResult {
  group_id: string;
  strategy: ResetStrategy;
  dry_run: boolean;
  applied: boolean;
  partitions: ResetRow[];
}

export interface GroupLagSeries {
  group_id: string;
  interval_ms: number;
  window_ms: number;
  at_ms: number[];
  total_lag: (number | null)[];
  partitions: { topic: string; partition: number; lag: (number | null)[] }[];
  partitions_truncated: boolean;
  sampled: boolean;
}

export interface GroupEvent {
  at_ms: number;
  kind: 'first_seen' | 'state' | 'member_joined' | 'member_left' | 'assignment' | 'gone' | string;
  message: string;
  state: string | null;
  member_id: string | null;
}

export interface TopicGroupOffsets {
  group_id: string;
  state: string;
  offsets: { partition: number; offset: number; lag: number | null }[];
}

export interface TransactionView {
  transactional_id: string;
  state: string;
  producer_id: number;
  producer_epoch: number | null;
  timeout_ms: number | null;
  start_time_ms: number | null;
  open_for_ms: number | null;
  partitions: { topic: string; partition: number }[];
  coordinator: number;
  error: string | null;
}

export interface TransactionList {
  transactions: TransactionView[];
  states: Record<string, number>;
  errors: string[];
  read_at_ms: number;
}

export interface ProducerView {
  producer_id: number;
  producer_epoch: number;
  last_sequence: number;
  last_timestamp_ms: number;
  coordinator_epoch: number;
  open_txn_start_offset: number | null;
}

export interface PartitionProducers {
  partition: number;
  leader: number;
  high_watermark: number | null;
  last_stable_offset: number | null;
  producers: ProducerView[];
  error: string | null;
}

export interface TopicProducers {
  topic: string;
  partitions: PartitionProducers[];
  read_at_ms: number;
}
