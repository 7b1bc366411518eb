//! Kafka's topic configs: names, types, defaults, broker synonyms, validation, documentation, and
//! the translation of an effective topic config into an `oxbow_log::LogConfig`.
//!
//! This is the single table behind CreateTopics validation, DescribeConfigs (values, sources,
//! synonyms, types, docs) and Alter/IncrementalAlterConfigs. Values are kept as Kafka's strings;
//! configs that only matter to features Oxbow does not have (tiered storage, throttling) are
//! accepted and reported but have no effect. It does not store anything: overrides live in the
//! metadata image.

use crate::config::BrokerConfig;
use std::collections::BTreeMap;

/// `DescribeConfigsResponse` config types (KIP-569 numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// DescribeConfigs `config_source` values.
pub(crate) mod source {
    pub const DYNAMIC_TOPIC_CONFIG: i8 = 1;
    pub const DYNAMIC_BROKER_CONFIG: i8 = 2;
    pub const DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
    pub const STATIC_BROKER_CONFIG: i8 = 4;
    pub const DEFAULT_CONFIG: i8 = 5;
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Check {
    None,
    AtLeast(i64),
    Between(i64, i64),
    DoubleBetween(f64, f64),
    OneOf(&'static [&'static str]),
    ListOf(&'static [&'static str]),
}

#[derive(Debug)]
pub(crate) struct ConfigDef {
    pub name: &'static str,
    pub ty: ConfigType,
    pub default: &'static str,
    /// The broker config that supplies this topic config's default (Kafka's synonym).
    pub synonym: Option<&'static str>,
    pub check: Check,
    pub doc: &'static str,
}

const LONG_MAX: &str = "9223372036854775807";

macro_rules! def {
    ($name:expr, $ty:ident, $default:expr, $syn:expr, $check:expr, $doc:expr) => {
        ConfigDef { name: $name, ty: ConfigType::$ty, default: $default, synonym: $syn, check: $check, doc: $doc }
    };
}

/// Kafka 4.x topic configs (`TopicConfig`/`LogConfig`), sorted by name as Kafka lists them.
pub(crate) static TOPIC_CONFIGS: &[ConfigDef] = &[
    def!("cleanup.policy", List, "delete", Some("log.cleanup.policy"), Check::ListOf(&["compact", "delete"]),
        "A string that is either \"delete\" or \"compact\" or both. This string designates the retention policy to use on old log segments."),
    def!("compression.gzip.level", Int, "-1", Some("compression.gzip.level"), Check::Between(-1, 9),
        "The compression level to use if compression.type is set to gzip."),
    def!("compression.lz4.level", Int, "9", Some("compression.lz4.level"), Check::Between(1, 17),
        "The compression level to use if compression.type is set to lz4."),
    def!("compression.type", String, "producer", Some("compression.type"),
        Check::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        "Specify the final compression type for a given topic. Oxbow stores batches as produced, so only \"producer\" changes nothing."),
    def!("compression.zstd.level", Int, "3", Some("compression.zstd.level"), Check::Between(-131072, 22),
        "The compression level to use if compression.type is set to zstd."),
    def!("delete.retention.ms", Long, "86400000", Some("log.cleaner.delete.retention.ms"), Check::AtLeast(0),
        "The amount of time to retain delete tombstone markers for log compacted topics."),
    def!("file.delete.delay.ms", Long, "60000", Some("log.segment.delete.delay.ms"), Check::AtLeast(0),
        "The time to wait before deleting a file from the filesystem."),
    def!("flush.messages", Long, LONG_MAX, Some("log.flush.interval.messages"), Check::AtLeast(1),
        "This setting allows specifying an interval at which we will force an fsync of data written to the log."),
    def!("flush.ms", Long, LONG_MAX, Some("log.flush.interval.ms"), Check::AtLeast(0),
        "This setting allows specifying a time interval at which we will force an fsync of data written to the log."),
    def!("follower.replication.throttled.replicas", List, "", Some("follower.replication.throttled.replicas"), Check::None,
        "A list of replicas for which log replication should be throttled on the follower side."),
    def!("index.interval.bytes", Int, "4096", Some("log.index.interval.bytes"), Check::AtLeast(0),
        "This setting controls how frequently Kafka adds an index entry to its offset index."),
    def!("leader.replication.throttled.replicas", List, "", Some("leader.replication.throttled.replicas"), Check::None,
        "A list of replicas for which log replication should be throttled on the leader side."),
    def!("local.retention.bytes", Long, "-2", Some("log.local.retention.bytes"), Check::AtLeast(-2),
        "The maximum size of local log segments that can grow for a partition before it deletes the old segments (tiered storage; no effect in Oxbow)."),
    def!("local.retention.ms", Long, "-2", Some("log.local.retention.ms"), Check::AtLeast(-2),
        "The number of milliseconds to keep the local log segment before it gets deleted (tiered storage; no effect in Oxbow)."),
    def!("max.compaction.lag.ms", Long, LONG_MAX, Some("log.cleaner.max.compaction.lag.ms"), Check::AtLeast(1),
        "The maximum time a message will remain ineligible for compaction in the log."),
    def!("max.message.bytes", Int, "1048588", Some("message.max.bytes"), Check::AtLeast(0),
        "The largest record batch size allowed by Kafka (after compression if compression is enabled)."),
    def!("message.timestamp.after.max.ms", Long, "3600000", Some("log.message.timestamp.after.max.ms"), Check::AtLeast(0),
        "This configuration sets the allowable timestamp difference between the message timestamp and the broker's timestamp (future)."),
    def!("message.timestamp.before.max.ms", Long, LONG_MAX, Some("log.message.timestamp.before.max.ms"), Check::AtLeast(0),
        "This configuration sets the allowable timestamp difference between the broker's timestamp and the message timestamp (past)."),
    def!("message.timestamp.type", String, "CreateTime", Some("log.message.timestamp.type"),
        Check::OneOf(&["CreateTime", "LogAppendTime"]),
        "Define whether the timestamp in the message is message create time or log append time."),
    def!("min.cleanable.dirty.ratio", Double, "0.5", Some("log.cleaner.min.cleanable.ratio"), Check::DoubleBetween(0.0, 1.0),
        "This configuration controls how frequently the log compactor will attempt to clean the log."),
    def!("min.compaction.lag.ms", Long, "0", Some("log.cleaner.min.compaction.lag.ms"), Check::AtLeast(0),
        "The minimum time a message will remain uncompacted in the log."),
    def!("min.insync.replicas", Int, "1", Some("min.insync.replicas"), Check::AtLeast(1),
        "When a producer sets acks to \"all\" (or \"-1\"), this configuration specifies the minimum number of replicas that must acknowledge a write for the write to be considered successful."),
    def!("preallocate", Boolean, "false", Some("log.preallocate"), Check::None,
        "True if we should preallocate the file on disk when creating a new log segment."),
    def!("remote.log.copy.disable", Boolean, "false", None, Check::None,
        "Determines whether tiered data for a topic should become read only (tiered storage; no effect in Oxbow)."),
    def!("remote.log.delete.on.disable", Boolean, "false", None, Check::None,
        "Determines whether tiered data for a topic should be deleted after tiered storage is disabled (no effect in Oxbow)."),
    def!("remote.storage.enable", Boolean, "false", None, Check::None,
        "To enable tiered storage for a topic, set this configuration as true. Oxbow has no tiered storage."),
    def!("retention.bytes", Long, "-1", Some("log.retention.bytes"), Check::None,
        "This configuration controls the maximum size a partition can grow to before we will discard old log segments."),
    def!("retention.ms", Long, "604800000", Some("log.retention.ms"), Check::AtLeast(-1),
        "This configuration controls the maximum time we will retain a log before we will discard old log segments."),
    def!("segment.bytes", Int, "1073741824", Some("log.segment.bytes"), Check::AtLeast(1_048_576),
        "This configuration controls the segment file size for the log."),
    def!("segment.index.bytes", Int, "10485760", Some("log.index.size.max.bytes"), Check::AtLeast(4),
        "This configuration controls the size of the index that maps offsets to file positions."),
    def!("segment.jitter.ms", Long, "0", Some("log.roll.jitter.ms"), Check::AtLeast(0),
        "The maximum random jitter subtracted from the scheduled segment roll time."),
    def!("segment.ms", Long, "604800000", Some("log.roll.ms"), Check::AtLeast(1),
        "This configuration controls the period of time after which Kafka will force the log to roll even if the segment file isn't full."),
    def!("unclean.leader.election.enable", Boolean, "false", Some("unclean.leader.election.enable"), Check::None,
        "Indicates whether to enable replicas not in the ISR set to be elected as leader as a last resort."),
];

/// Dynamic broker configs that no topic config stands for: the replication throttles
/// (KIP-73; `kafka-reassign-partitions --throttle` sets them and `--verify` clears them).
pub(crate) static BROKER_ONLY_CONFIGS: &[ConfigDef] = &[
    def!("follower.replication.throttled.rate", Long, LONG_MAX, Some("follower.replication.throttled.rate"), Check::AtLeast(0),
        "The rate in bytes/s at which this broker's followers copy the replicas listed in follower.replication.throttled.replicas."),
    def!("leader.replication.throttled.rate", Long, LONG_MAX, Some("leader.replication.throttled.rate"), Check::AtLeast(0),
        "The rate in bytes/s at which this broker serves followers of the replicas listed in leader.replication.throttled.replicas."),
    def!("replica.alter.log.dirs.io.max.bytes.per.second", Long, LONG_MAX, Some("replica.alter.log.dirs.io.max.bytes.per.second"), Check::AtLeast(0),
        "The rate of moving replicas between a broker's log dirs. An Oxbow broker has one log dir, so nothing moves between them."),
];

/// A config a broker resource may set dynamically: a topic config's broker synonym, or a
/// broker-only one.
pub(crate) fn broker_dynamic_def(name: &str) -> Option<&'static ConfigDef> {
    broker_synonym_def(name).or_else(|| BROKER_ONLY_CONFIGS.iter().find(|d| d.name == name))
}

/// The replicas a `*.replication.throttled.replicas` value throttles on `broker`: every one
/// (`*`), or the partitions listed as `PARTITION:BROKER`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ThrottledReplicas {
    pub all: bool,
    pub partitions: std::collections::BTreeSet<i32>,
}

impl ThrottledReplicas {
    pub fn parse(value: &str, broker: i32) -> ThrottledReplicas {
        let mut out = ThrottledReplicas::default();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                out.all = true;
            } else if let Some((p, b)) = item.split_once(':') {
                if b.trim().parse::<i32>() == Ok(broker) {
                    if let Ok(p) = p.trim().parse::<i32>() {
                        out.partitions.insert(p);
                    }
                }
            }
        }
        out
    }

    pub fn contains(&self, partition: i32) -> bool {
        self.all || self.partitions.contains(&partition)
    }
}

pub(crate) fn topic_def(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.name == name)
}

/// Validates a value as Kafka's `ConfigDef` would; the error is Kafka's wording.
pub(crate) fn validate(def: &ConfigDef, value: &str) -> Result<(), String> {
    let invalid = |why: String| Err(format!("Invalid value {value} for configuration {}: {why}", def.name));
    let v = value.trim();
    match def.ty {
        ConfigType::Boolean => {
            if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                return invalid("Expected value to be either true or false".into());
            }
        }
        ConfigType::Int | ConfigType::Long => {
            let n: i64 = match v.parse::<i64>() {
                Ok(n) if def.ty == ConfigType::Long || (n >= i32::MIN as i64 && n <= i32::MAX as i64) => n,
                _ => {
                    let t = if def.ty == ConfigType::Int { "INT" } else { "LONG" };
                    return invalid(format!("Not a number of type {t}"));
                }
            };
            match def.check {
                Check::AtLeast(min) if n < min => return invalid(format!("Value must be at least {min}")),
                Check::Between(lo, hi) if n < lo || n > hi => {
                    return invalid(format!("Value must be no less than {lo} and no more than {hi}"))
                }
                _ => {}
            }
        }
        ConfigType::Double => {
            let n: f64 = match v.parse::<f64>() {
                Ok(n) if n.is_finite() => n,
                _ => return invalid("Not a number of type DOUBLE".into()),
            };
            if let Check::DoubleBetween(lo, hi) = def.check {
                if n < lo || n > hi {
                    return invalid(format!("Value must be no less than {lo} and no more than {hi}"));
                }
            }
        }
        ConfigType::String => {
            if let Check::OneOf(allowed) = def.check {
                if !allowed.contains(&v) {
                    return invalid(format!("String must be one of: {}", allowed.join(", ")));
                }
            }
        }
        ConfigType::List => {
            if let Check::ListOf(allowed) = def.check {
                let items: Vec<&str> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
                if items.is_empty() {
                    return invalid(format!(
                        "Configuration '{}' must not be empty. Valid values include: [{}]",
                        def.name,
                        allowed.join(", ")
                    ));
                }
                for item in items {
                    if !allowed.contains(&item) {
                        return invalid(format!(
                            "Invalid value {item} for configuration {}: String must be one of: {}",
                            def.name,
                            allowed.join(", ")
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Validates a whole set of topic overrides (CreateTopics, AlterConfigs).
pub(crate) fn validate_topic_configs(configs: &BTreeMap<String, String>) -> Result<(), String> {
    for (name, value) in configs {
        let def = topic_def(name).ok_or_else(|| format!("Unknown topic config name: {name}"))?;
        validate(def, value)?;
    }
    Ok(())
}

/// The value the broker's static configuration supplies for a topic config, when it differs
/// from Kafka's default (only then is it reported as `STATIC_BROKER_CONFIG`).
pub(crate) fn static_broker_value(cfg: &BrokerConfig, topic_name: &str) -> Option<String> {
    let d = oxbow_log::LogConfig::default();
    let l = &cfg.log;
    let v = match topic_name {
        "segment.bytes" if l.segment_bytes != d.segment_bytes => l.segment_bytes.to_string(),
        "segment.ms" if l.segment_ms != d.segment_ms => l.segment_ms.to_string(),
        "segment.index.bytes" if l.segment_index_bytes != d.segment_index_bytes => l.segment_index_bytes.to_string(),
        "index.interval.bytes" if l.index_interval_bytes != d.index_interval_bytes => {
            l.index_interval_bytes.to_string()
        }
        "retention.ms" if l.retention_ms != d.retention_ms => l.retention_ms.to_string(),
        "retention.bytes" if l.retention_bytes != d.retention_bytes => l.retention_bytes.to_string(),
        "max.message.bytes" if cfg.message_max_bytes != 1_048_588 => cfg.message_max_bytes.to_string(),
        "cleanup.policy" if l.cleanup_policy != d.cleanup_policy => policy_string(l.cleanup_policy),
        "delete.retention.ms" if l.delete_retention_ms != d.delete_retention_ms => l.delete_retention_ms.to_string(),
        "min.compaction.lag.ms" if l.min_compaction_lag_ms != d.min_compaction_lag_ms => {
            l.min_compaction_lag_ms.to_string()
        }
        "message.timestamp.type" if l.message_timestamp_type != d.message_timestamp_type => {
            match l.message_timestamp_type {
                oxbow_log::TimestampType::CreateTime => "CreateTime".into(),
                oxbow_log::TimestampType::LogAppendTime => "LogAppendTime".into(),
            }
        }
        "flush.messages" if l.flush_messages != d.flush_messages => l.flush_messages.min(i64::MAX as u64).to_string(),
        "flush.ms" if l.flush_ms != d.flush_ms => l.flush_ms.to_string(),
        "min.insync.replicas" if cfg.min_insync_replicas != 1 => cfg.min_insync_replicas.to_string(),
        _ => return None,
    };
    Some(v)
}

fn policy_string(p: oxbow_log::CleanupPolicy) -> String {
    match (p.compact, p.delete) {
        (true, true) => "compact,delete".into(),
        (true, false) => "compact".into(),
        _ => "delete".into(),
    }
}

/// One resolved config value with where it came from, plus the synonyms Kafka would list.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub def: &'static ConfigDef,
    pub value: String,
    pub source: i8,
    /// (name, value, source), most specific first — Kafka's synonym order.
    pub synonyms: Vec<(String, String, i8)>,
}

/// Resolves every topic config: topic override, then dynamic broker config (per broker, then
/// cluster default), then the static broker config, then Kafka's default.
pub(crate) fn resolve_topic(
    cfg: &BrokerConfig,
    broker_dynamic: &BTreeMap<String, String>,
    cluster_dynamic: &BTreeMap<String, String>,
    overrides: &BTreeMap<String, String>,
) -> Vec<Resolved> {
    TOPIC_CONFIGS
        .iter()
        .map(|def| {
            let mut synonyms = Vec::new();
            if let Some(v) = overrides.get(def.name) {
                synonyms.push((def.name.to_string(), v.clone(), source::DYNAMIC_TOPIC_CONFIG));
            }
            if let Some(syn) = def.synonym {
                if let Some(v) = broker_dynamic.get(syn) {
                    synonyms.push((syn.to_string(), v.clone(), source::DYNAMIC_BROKER_CONFIG));
                }
                if let Some(v) = cluster_dynamic.get(syn) {
                    synonyms.push((syn.to_string(), v.clone(), source::DYNAMIC_DEFAULT_BROKER_CONFIG));
                }
                if let Some(v) = static_broker_value(cfg, def.name) {
                    synonyms.push((syn.to_string(), v, source::STATIC_BROKER_CONFIG));
                }
                synonyms.push((syn.to_string(), def.default.to_string(), source::DEFAULT_CONFIG));
            } else {
                synonyms.push((def.name.to_string(), def.default.to_string(), source::DEFAULT_CONFIG));
            }
            let (value, source) = synonyms.first().map(|(_, v, s)| (v.clone(), *s)).unwrap_or_default();
            Resolved { def, value, source, synonyms }
        })
        .collect()
}

/// The effective values of a topic, by name.
pub(crate) fn effective_map(resolved: &[Resolved]) -> BTreeMap<&'static str, String> {
    resolved.iter().map(|r| (r.def.name, r.value.clone())).collect()
}

/// Builds the log's configuration from the effective topic config values. Values were validated
/// when stored; anything unparsable falls back to the broker's own log default.
pub(crate) fn log_config(cfg: &BrokerConfig, eff: &BTreeMap<&'static str, String>) -> oxbow_log::LogConfig {
    let mut lc = cfg.log.clone();
    lc.max_message_bytes = cfg.message_max_bytes.max(0) as u32;
    let num = |k: &str| eff.get(k).and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(v) = num("segment.bytes") {
        lc.segment_bytes = v.max(1) as u64;
    }
    if let Some(v) = num("segment.ms") {
        lc.segment_ms = v;
    }
    if let Some(v) = num("segment.index.bytes") {
        lc.segment_index_bytes = v.max(4) as u64;
    }
    if let Some(v) = num("index.interval.bytes") {
        lc.index_interval_bytes = v.max(0) as u64;
    }
    if let Some(v) = num("retention.ms") {
        lc.retention_ms = v;
    }
    if let Some(v) = num("retention.bytes") {
        lc.retention_bytes = v;
    }
    if let Some(v) = num("max.message.bytes") {
        lc.max_message_bytes = v.clamp(0, u32::MAX as i64) as u32;
    }
    if let Some(v) = num("delete.retention.ms") {
        lc.delete_retention_ms = v;
    }
    if let Some(v) = num("min.compaction.lag.ms") {
        lc.min_compaction_lag_ms = v;
    }
    if let Some(v) = num("flush.messages") {
        lc.flush_messages = v.max(1) as u64;
    }
    if let Some(v) = num("flush.ms") {
        lc.flush_ms = v;
    }
    if let Some(p) = eff.get("cleanup.policy") {
        let items: Vec<&str> = p.split(',').map(str::trim).collect();
        lc.cleanup_policy =
            oxbow_log::CleanupPolicy { delete: items.contains(&"delete"), compact: items.contains(&"compact") };
    }
    if let Some(t) = eff.get("message.timestamp.type") {
        lc.message_timestamp_type = if t.trim() == "LogAppendTime" {
            oxbow_log::TimestampType::LogAppendTime
        } else {
            oxbow_log::TimestampType::CreateTime
        };
    }
    lc
}

/// Broker configs this broker reports in DescribeConfigs for a BROKER resource, with the value
/// from the static config. (name, value, type, is_default, read_only, doc)
pub(crate) fn broker_configs(
    cfg: &BrokerConfig,
    listener: &str,
) -> Vec<(String, String, ConfigType, bool, bool, &'static str)> {
    let mut out = vec![
        (
            "node.id".to_string(),
            cfg.node_id.to_string(),
            ConfigType::Int,
            false,
            true,
            "The node ID associated with the roles this process is playing.",
        ),
        (
            "broker.id".to_string(),
            cfg.node_id.to_string(),
            ConfigType::Int,
            false,
            true,
            "The broker id for this server.",
        ),
        ("listeners".to_string(), format!("PLAINTEXT://{listener}"), ConfigType::List, false, true, "Listener List."),
        (
            "advertised.listeners".to_string(),
            format!("PLAINTEXT://{listener}"),
            ConfigType::List,
            false,
            true,
            "Listeners to publish to clients.",
        ),
        (
            "log.dirs".to_string(),
            cfg.data_dir.display().to_string(),
            ConfigType::List,
            false,
            true,
            "The directories in which the log data is kept.",
        ),
        (
            "auto.create.topics.enable".to_string(),
            cfg.auto_create_topics_enable.to_string(),
            ConfigType::Boolean,
            cfg.auto_create_topics_enable,
            true,
            "Enable auto creation of topic on the server.",
        ),
        (
            "num.partitions".to_string(),
            cfg.num_partitions.to_string(),
            ConfigType::Int,
            cfg.num_partitions == 1,
            true,
            "The default number of log partitions per topic.",
        ),
        (
            "default.replication.factor".to_string(),
            cfg.default_replication_factor.to_string(),
            ConfigType::Int,
            cfg.default_replication_factor == 1,
            true,
            "The replication factor for automatically created topics.",
        ),
        (
            "socket.request.max.bytes".to_string(),
            cfg.socket_request_max_bytes.to_string(),
            ConfigType::Int,
            cfg.socket_request_max_bytes == 104_857_600,
            true,
            "The maximum number of bytes in a socket request.",
        ),
        (
            "max.connections".to_string(),
            cfg.max_connections.to_string(),
            ConfigType::Int,
            false,
            true,
            "The maximum number of connections we allow in the broker at any time.",
        ),
        (
            "connections.max.idle.ms".to_string(),
            cfg.connections_max_idle_ms.to_string(),
            ConfigType::Long,
            cfg.connections_max_idle_ms == 600_000,
            true,
            "Idle connections timeout.",
        ),
        (
            "group.min.session.timeout.ms".to_string(),
            cfg.group_min_session_timeout_ms.to_string(),
            ConfigType::Int,
            cfg.group_min_session_timeout_ms == 6000,
            true,
            "The minimum allowed session timeout for registered consumers.",
        ),
        (
            "group.max.session.timeout.ms".to_string(),
            cfg.group_max_session_timeout_ms.to_string(),
            ConfigType::Int,
            cfg.group_max_session_timeout_ms == 1_800_000,
            true,
            "The maximum allowed session timeout for registered consumers.",
        ),
    ];
    if let Some(rack) = &cfg.rack {
        out.push(("broker.rack".to_string(), rack.clone(), ConfigType::String, false, true, "Rack of the broker."));
    }
    out
}

/// Broker-level `log.*` (and other topic-default) configs that may be changed dynamically.
pub(crate) fn broker_synonym_def(name: &str) -> Option<&'static ConfigDef> {
    TOPIC_CONFIGS.iter().find(|d| d.synonym == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_like_kafka() {
        let d = topic_def("retention.ms").unwrap();
        assert!(validate(d, "1000").is_ok());
        assert!(validate(d, "-1").is_ok());
        assert_eq!(
            validate(d, "-5").unwrap_err(),
            "Invalid value -5 for configuration retention.ms: Value must be at least -1"
        );
        assert!(validate(d, "abc").unwrap_err().contains("Not a number of type LONG"));
        let c = topic_def("cleanup.policy").unwrap();
        assert!(validate(c, "compact,delete").is_ok());
        assert!(validate(c, "bogus").is_err());
        assert!(validate_topic_configs(&[("nope".to_string(), "1".to_string())].into_iter().collect()).is_err());
    }

    #[test]
    fn synonyms_in_kafka_order() {
        let cfg = BrokerConfig::default();
        let over: BTreeMap<String, String> = [("retention.ms".to_string(), "1000".to_string())].into_iter().collect();
        let r = resolve_topic(&cfg, &BTreeMap::new(), &BTreeMap::new(), &over);
        let rm = r.iter().find(|r| r.def.name == "retention.ms").unwrap();
        assert_eq!(rm.value, "1000");
        assert_eq!(rm.source, source::DYNAMIC_TOPIC_CONFIG);
        assert_eq!(rm.synonyms.len(), 2);
        assert_eq!(rm.synonyms[1].0, "log.retention.ms");
        let lc = log_config(&cfg, &effective_map(&r));
        assert_eq!(lc.retention_ms, 1000);
    }
}
