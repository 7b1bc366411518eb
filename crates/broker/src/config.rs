//! `BrokerConfig`: the broker's static settings, by Kafka's broker config names.
//!
//! A plain struct with Kafka's defaults; the CLI fills it from flags and environment. It does not
//! parse files or flags itself. Dynamic (per-topic, per-broker) overrides live in the metadata image.

use std::path::PathBuf;

/// Static broker configuration. Field docs give the Kafka config name each one stands for.
#[derive(Clone, Debug)]
pub struct BrokerConfig {
    /// `node.id`.
    pub node_id: i32,
    /// Host to bind the Kafka listener to (`listeners`).
    pub host: String,
    /// Port to bind; 0 = any free port.
    pub port: u16,
    /// Host advertised in Metadata (`advertised.listeners`); `None` = the bound address.
    pub advertised_host: Option<String>,
    /// `broker.rack`.
    pub rack: Option<String>,
    /// `log.dirs` (one directory): partitions, checkpoints, cluster metadata, the lock file.
    pub data_dir: PathBuf,
    /// `auto.create.topics.enable` (Kafka default true).
    pub auto_create_topics_enable: bool,
    /// `num.partitions` (Kafka default 1).
    pub num_partitions: i32,
    /// `default.replication.factor` (Kafka default 1).
    pub default_replication_factor: i16,
    /// `message.max.bytes` (Kafka default 1048588): the broker default for `max.message.bytes`.
    pub message_max_bytes: i32,
    /// `min.insync.replicas` (Kafka default 1).
    pub min_insync_replicas: i32,
    /// Broker-level `log.*` defaults every topic inherits unless it overrides them. Its
    /// `max_message_bytes` is replaced by `message_max_bytes`.
    pub log: oxbow_log::LogConfig,
    /// `socket.request.max.bytes` (Kafka default 104857600): larger frames close the connection.
    pub socket_request_max_bytes: usize,
    /// `max.connections`. Kafka's default is unbounded; ours is 4096 so that a flood of sockets
    /// cannot exhaust file descriptors needed by the log (the broker raises the soft
    /// RLIMIT_NOFILE to the hard limit at start).
    pub max_connections: usize,
    /// Segment `.log` files kept open at once over all partitions (Oxbow's own; RocksDB calls it
    /// `max_open_files`): the least recently used are closed and reopened on their next read or
    /// append. `None` = half the soft RLIMIT_NOFILE after start-up raised it, leaving the other
    /// half for connections and short-lived files. Index files hold no descriptor.
    pub log_open_files_max: Option<usize>,
    /// Index files (`.index`, `.timeindex`) memory-mapped at once over all partitions (an LRU
    /// like `log_open_files_max`). `None` = half of `vm.max_map_count` (65,530 by default), the
    /// other half being for the heap, thread stacks and libraries.
    pub log_index_maps_max: Option<usize>,
    /// `connections.max.idle.ms` (Kafka default 600000): idle connections are closed.
    pub connections_max_idle_ms: u64,
    /// Fetch requests that may wait at once for data (long-poll). More wait-worthy fetches are
    /// answered immediately with what is there, so parked fetches never grow without bound.
    pub max_parked_fetches: usize,
    /// `log.retention.check.interval.ms` (Kafka default 300000): how often `Log::maintain` runs
    /// (retention, time-based roll, flush.ms). Like Kafka, records whose timestamps are older than
    /// `retention.ms` survive until the next check, so keep Kafka's 5 minutes unless a test
    /// wants retention to act quickly.
    pub log_retention_check_interval_ms: u64,
    /// `log.cleaner.backoff.ms` (Kafka default 15000): pause between compaction passes.
    pub log_cleaner_backoff_ms: u64,
    /// How often partition checkpoints are written (`log.flush.offset.checkpoint.interval.ms`).
    pub checkpoint_interval_ms: u64,
    /// `group.min.session.timeout.ms` (Kafka default 6000).
    pub group_min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms` (Kafka default 1800000).
    pub group_max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms` (Kafka default 3000; 0 makes tests fast).
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.max.size`: members per classic group. Kafka's default is Integer.MAX_VALUE; ours is
    /// 1024, a real bound on what one group costs (its members, their metadata and the group's
    /// `__consumer_offsets` record). A join beyond it gets GROUP_MAX_SIZE_REACHED.
    pub group_max_size: usize,
    /// `group.consumer.session.timeout.ms` (Kafka default 45000): a KIP-848 consumer group
    /// member that does not heartbeat for this long is fenced and its partitions reassigned.
    pub group_consumer_session_timeout_ms: i64,
    /// `group.consumer.heartbeat.interval.ms` (Kafka default 5000), told to KIP-848 members.
    pub group_consumer_heartbeat_interval_ms: i32,
    /// `offsets.topic.num.partitions` (Kafka default 50): partitions of `__consumer_offsets` when
    /// it is created (on the first group request).
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor` (Kafka default 3). Kafka refuses to create the topic
    /// while fewer brokers are alive; Oxbow caps it to the live brokers instead (a warning says
    /// so), so a one-broker Oxbow gets replication factor 1.
    pub offsets_topic_replication_factor: i16,
    /// `offsets.topic.segment.bytes` (Kafka default 104857600).
    pub offsets_topic_segment_bytes: u64,
    /// `offsets.retention.minutes` in ms (Kafka default 7 days): committed offsets of a group
    /// that has been Empty this long (KIP-211) are deleted; see `coordinator::group`.
    pub offsets_retention_ms: i64,
    /// `offsets.retention.check.interval.ms` (Kafka default 600000).
    pub offsets_retention_check_interval_ms: u64,
    /// `offsets.commit.timeout.ms` (Kafka default 5000): how long a commit (and any coordinator
    /// write) waits for the ISR before it fails with COORDINATOR_NOT_AVAILABLE.
    pub offsets_commit_timeout_ms: u64,
    /// `offset.metadata.max.bytes` (Kafka default 4096).
    pub offset_metadata_max_bytes: usize,
    /// `offsets.load.buffer.size` (Kafka default 5242880): bytes read per step when a broker
    /// loads the groups of a `__consumer_offsets` partition it now leads.
    pub offsets_load_buffer_size: usize,
    /// `transaction.state.log.num.partitions` (Kafka default 50): partitions of
    /// `__transaction_state` when it is created (on the first transactional FindCoordinator).
    pub transaction_state_log_num_partitions: i32,
    /// `transaction.state.log.replication.factor` (Kafka default 3), capped to the live brokers as
    /// `offsets.topic.replication.factor` is.
    pub transaction_state_log_replication_factor: i16,
    /// `transaction.state.log.min.isr` (Kafka default 2), capped to the replication factor.
    pub transaction_state_log_min_isr: i32,
    /// `transaction.state.log.segment.bytes` (Kafka default 104857600).
    pub transaction_state_log_segment_bytes: u64,
    /// `transaction.max.timeout.ms` (Kafka default 900000): the longest transaction timeout a
    /// producer may ask for; InitProducerId beyond it gets INVALID_TRANSACTION_TIMEOUT.
    pub transaction_max_timeout_ms: i32,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms` (Kafka default 10000): how
    /// often the transaction coordinator looks for transactions past their timeout to abort.
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: u64,
    /// `replica.lag.time.max.ms` (Kafka default 30000; ours 10000, so a follower cut off by a
    /// fault leaves the ISR while a studio user is still watching): a follower not caught up for
    /// this long is removed from the ISR by its leader.
    pub replica_lag_time_max_ms: u64,
    /// `broker.session.timeout.ms` (Kafka default 9000; ours 6000): a broker whose heartbeats
    /// stop for this long is fenced by the controller, and its leaderships move.
    pub broker_session_timeout_ms: u64,
    /// `broker.heartbeat.interval.ms` (Kafka default 2000; ours 500).
    pub broker_heartbeat_interval_ms: u64,
    /// `auto.leader.rebalance.enable` (Kafka default true).
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds` in ms (Kafka default 300 s; ours 30 s).
    pub leader_imbalance_check_interval_ms: u64,
    /// `leader.imbalance.per.broker.percentage` (Kafka default 10).
    pub leader_imbalance_per_broker_percentage: u32,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            node_id: 1,
            host: "127.0.0.1".to_string(),
            port: 9092,
            advertised_host: None,
            rack: None,
            data_dir: PathBuf::from("oxbow-data"),
            auto_create_topics_enable: true,
            num_partitions: 1,
            default_replication_factor: 1,
            message_max_bytes: 1_048_588,
            min_insync_replicas: 1,
            log: oxbow_log::LogConfig::default(),
            socket_request_max_bytes: 104_857_600,
            max_connections: 4096,
            log_open_files_max: None,
            log_index_maps_max: None,
            connections_max_idle_ms: 600_000,
            max_parked_fetches: 4096,
            log_retention_check_interval_ms: 300_000,
            log_cleaner_backoff_ms: 15_000,
            checkpoint_interval_ms: 60_000,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 0,
            group_max_size: 1024,
            group_consumer_session_timeout_ms: 45_000,
            group_consumer_heartbeat_interval_ms: 5_000,
            offsets_topic_num_partitions: 50,
            offsets_topic_replication_factor: 3,
            offsets_topic_segment_bytes: 104_857_600,
            offsets_retention_ms: 7 * 24 * 60 * 60 * 1000,
            offsets_retention_check_interval_ms: 600_000,
            offsets_commit_timeout_ms: 5_000,
            offset_metadata_max_bytes: 4096,
            offsets_load_buffer_size: 5 * 1024 * 1024,
            transaction_state_log_num_partitions: 50,
            transaction_state_log_replication_factor: 3,
            transaction_state_log_min_isr: 2,
            transaction_state_log_segment_bytes: 104_857_600,
            transaction_max_timeout_ms: crate::coordinator::txn::TRANSACTION_TIMEOUT_MS_MAX_DEFAULT,
            transaction_abort_timed_out_transaction_cleanup_interval_ms: 10_000,
            replica_lag_time_max_ms: 10_000,
            broker_session_timeout_ms: 6_000,
            broker_heartbeat_interval_ms: 500,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_ms: 30_000,
            leader_imbalance_per_broker_percentage: 10,
        }
    }
}

impl BrokerConfig {
    pub(crate) fn validate(&self) -> crate::Result<()> {
        let bad = |m: String| Err(crate::Error::Config(m));
        if self.num_partitions < 1 {
            return bad(format!("num.partitions must be at least 1, got {}", self.num_partitions));
        }
        if self.default_replication_factor < 1 {
            return bad(format!(
                "default.replication.factor must be at least 1, got {}",
                self.default_replication_factor
            ));
        }
        if self.message_max_bytes < 0 {
            return bad(format!("message.max.bytes must be >= 0, got {}", self.message_max_bytes));
        }
        if self.socket_request_max_bytes < 1024 || self.socket_request_max_bytes > i32::MAX as usize {
            return bad(format!(
                "socket.request.max.bytes must be in [1024, {}], got {}",
                i32::MAX,
                self.socket_request_max_bytes
            ));
        }
        if self.max_connections == 0 {
            return bad("max.connections must be at least 1".into());
        }
        if self.log_open_files_max == Some(0) || self.log_index_maps_max == Some(0) {
            return bad("log_open_files_max and log_index_maps_max must be at least 1".into());
        }
        if self.broker_heartbeat_interval_ms == 0 || self.broker_session_timeout_ms <= self.broker_heartbeat_interval_ms
        {
            return bad(format!(
                "broker.session.timeout.ms ({}) must be larger than broker.heartbeat.interval.ms ({}), which must be positive",
                self.broker_session_timeout_ms, self.broker_heartbeat_interval_ms
            ));
        }
        if self.replica_lag_time_max_ms == 0 {
            return bad("replica.lag.time.max.ms must be positive".into());
        }
        if self.offsets_topic_num_partitions < 1 {
            return bad(format!(
                "offsets.topic.num.partitions must be at least 1, got {}",
                self.offsets_topic_num_partitions
            ));
        }
        if self.offsets_topic_replication_factor < 1 {
            return bad(format!(
                "offsets.topic.replication.factor must be at least 1, got {}",
                self.offsets_topic_replication_factor
            ));
        }
        if self.transaction_state_log_num_partitions < 1
            || self.transaction_state_log_replication_factor < 1
            || self.transaction_state_log_min_isr < 1
        {
            return bad(format!(
                "transaction.state.log.num.partitions ({}), .replication.factor ({}) and .min.isr ({}) must be at least 1",
                self.transaction_state_log_num_partitions, self.transaction_state_log_replication_factor, self.transaction_state_log_min_isr
            ));
        }
        if self.transaction_max_timeout_ms < 1 || self.transaction_abort_timed_out_transaction_cleanup_interval_ms == 0
        {
            return bad(format!(
                "transaction.max.timeout.ms ({}) and transaction.abort.timed.out.transaction.cleanup.interval.ms ({}) must be positive",
                self.transaction_max_timeout_ms, self.transaction_abort_timed_out_transaction_cleanup_interval_ms
            ));
        }
        if self.offsets_retention_ms < 1 {
            return bad(format!("offsets.retention.minutes must be positive, got {} ms", self.offsets_retention_ms));
        }
        if self.offsets_load_buffer_size < 1024 {
            return bad(format!(
                "offsets.load.buffer.size must be at least 1024, got {}",
                self.offsets_load_buffer_size
            ));
        }
        if self.group_max_size == 0 {
            return bad("group.max.size must be at least 1".into());
        }
        if self.group_min_session_timeout_ms > self.group_max_session_timeout_ms {
            return bad(format!(
                "group.min.session.timeout.ms ({}) must not exceed group.max.session.timeout.ms ({})",
                self.group_min_session_timeout_ms, self.group_max_session_timeout_ms
            ));
        }
        if self.min_insync_replicas < 1 {
            return bad(format!("min.insync.replicas must be at least 1, got {}", self.min_insync_replicas));
        }
        Ok(())
    }
}
