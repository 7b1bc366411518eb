//! Kafka error codes by their Kafka names (`org.apache.kafka.common.protocol.Errors`), and the
#![allow(dead_code)] // a table of Kafka codes; not every code is returned yet
//! mapping from `oxbow_log::Error` to them. Only the codes this broker returns are listed.

pub const NONE: i16 = 0;
pub const UNKNOWN_SERVER_ERROR: i16 = -1;
pub const OFFSET_OUT_OF_RANGE: i16 = 1;
pub const CORRUPT_MESSAGE: i16 = 2;
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const LEADER_NOT_AVAILABLE: i16 = 5;
pub const BROKER_NOT_AVAILABLE: i16 = 8;
pub const REPLICA_NOT_AVAILABLE: i16 = 9;
pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
pub const REQUEST_TIMED_OUT: i16 = 7;
pub const MESSAGE_TOO_LARGE: i16 = 10;
pub const OFFSET_METADATA_TOO_LARGE: i16 = 12;
pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
pub const NOT_COORDINATOR: i16 = 16;
pub const INVALID_TOPIC_EXCEPTION: i16 = 17;
pub const RECORD_LIST_TOO_LARGE: i16 = 18;
pub const NOT_ENOUGH_REPLICAS: i16 = 19;
pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: i16 = 20;
pub const INVALID_REQUIRED_ACKS: i16 = 21;
pub const ILLEGAL_GENERATION: i16 = 22;
pub const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
pub const INVALID_GROUP_ID: i16 = 24;
pub const UNKNOWN_MEMBER_ID: i16 = 25;
pub const INVALID_SESSION_TIMEOUT: i16 = 26;
pub const REBALANCE_IN_PROGRESS: i16 = 27;
pub const INVALID_COMMIT_OFFSET_SIZE: i16 = 28;
pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
pub const UNSUPPORTED_VERSION: i16 = 35;
pub const TOPIC_ALREADY_EXISTS: i16 = 36;
pub const INVALID_PARTITIONS: i16 = 37;
pub const INVALID_REPLICATION_FACTOR: i16 = 38;
pub const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
pub const INVALID_CONFIG: i16 = 40;
pub const NOT_CONTROLLER: i16 = 41;
pub const INVALID_REQUEST: i16 = 42;
pub const POLICY_VIOLATION: i16 = 44;
pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
pub const INVALID_PRODUCER_EPOCH: i16 = 47;
pub const INVALID_TXN_STATE: i16 = 48;
pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
pub const KAFKA_STORAGE_ERROR: i16 = 56;
pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
pub const UNKNOWN_PRODUCER_ID: i16 = 59;
pub const NON_EMPTY_GROUP: i16 = 68;
pub const GROUP_ID_NOT_FOUND: i16 = 69;
pub const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
pub const FENCED_LEADER_EPOCH: i16 = 74;
pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
pub const STALE_BROKER_EPOCH: i16 = 77;
pub const PREFERRED_LEADER_NOT_AVAILABLE: i16 = 80;
pub const INVALID_FETCH_SESSION_EPOCH: i16 = 71;
pub const MEMBER_ID_REQUIRED: i16 = 79;
pub const GROUP_MAX_SIZE_REACHED: i16 = 81;
pub const FENCED_INSTANCE_ID: i16 = 82;
pub const ELIGIBLE_LEADERS_NOT_AVAILABLE: i16 = 83;
pub const ELECTION_NOT_NEEDED: i16 = 84;
pub const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;
pub const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;
pub const INVALID_RECORD: i16 = 87;
pub const UNSTABLE_OFFSET_COMMIT: i16 = 88;
pub const INVALID_UPDATE_VERSION: i16 = 95;
pub const UNKNOWN_TOPIC_ID: i16 = 100;
pub const INCONSISTENT_TOPIC_ID: i16 = 103;

/// Kafka's message for the common codes (what the Java client prints when there is no message).
pub fn default_message(code: i16) -> &'static str {
    match code {
        UNKNOWN_TOPIC_OR_PARTITION => "This server does not host this topic-partition.",
        INVALID_TOPIC_EXCEPTION => "The request attempted to perform an operation on an invalid topic.",
        TOPIC_ALREADY_EXISTS => "Topic with this name already exists.",
        INVALID_PARTITIONS => "Number of partitions is below 1.",
        INVALID_REPLICATION_FACTOR => "Replication factor is below 1 or larger than the number of available brokers.",
        INVALID_CONFIG => "Configuration is invalid.",
        UNKNOWN_TOPIC_ID => "This server does not host this topic ID.",
        _ => "",
    }
}

/// Maps a log error to a Kafka error code (the protocol edge).
pub fn from_log_error(e: &oxbow_log::Error) -> i16 {
    use oxbow_log::Error as E;
    match e {
        E::CorruptMessage { .. } => CORRUPT_MESSAGE,
        E::MessageTooLarge { .. } => MESSAGE_TOO_LARGE,
        E::InvalidRecord(_) => INVALID_RECORD,
        E::OutOfOrderSequence { .. } => OUT_OF_ORDER_SEQUENCE_NUMBER,
        E::InvalidProducerEpoch { .. } => INVALID_PRODUCER_EPOCH,
        E::InvalidTxnState(_) => INVALID_TXN_STATE,
        E::TransactionCoordinatorFenced { .. } => TRANSACTION_COORDINATOR_FENCED,
        E::OffsetOutOfRange { .. } => OFFSET_OUT_OF_RANGE,
        E::FencedLeaderEpoch { .. } => FENCED_LEADER_EPOCH,
        E::Io { .. } => KAFKA_STORAGE_ERROR,
        // The log may grow variants; an unknown one is still an error the client must see.
        #[allow(unreachable_patterns)]
        _ => UNKNOWN_SERVER_ERROR,
    }
}
pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
pub const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
pub const CONCURRENT_TRANSACTIONS: i16 = 51;
pub const TRANSACTION_COORDINATOR_FENCED: i16 = 52;
pub const PRODUCER_FENCED: i16 = 90;
pub const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;
pub const FENCED_MEMBER_EPOCH: i16 = 110;
pub const UNRELEASED_INSTANCE_ID: i16 = 111;
pub const UNSUPPORTED_ASSIGNOR: i16 = 112;
pub const STALE_MEMBER_EPOCH: i16 = 113;
