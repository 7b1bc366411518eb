//! The studio's one error type. Every command returns it; the HTTP edge maps it to a status code
//! and a JSON body (`http::error_response`), the Tauri shell to a serialisable value.

/// What went wrong, with a message that says what and where.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller's input is wrong; `field` names the offending field or parameter.
    #[error("{field}: {message}")]
    BadInput { field: String, message: String },
    /// The named thing does not exist (topic, profile, partition, …).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with existing state (a profile name already taken, …).
    #[error("{0}")]
    Conflict(String),
    /// The cluster answered and refused; `kafka_error` is Kafka's error name
    /// (e.g. `TOPIC_ALREADY_EXISTS`).
    #[error("{message}")]
    Kafka { kafka_error: String, message: String },
    /// The cluster could not be reached or did not answer in time.
    #[error("{0}")]
    Unavailable(String),
    /// The caller may not do this (a fault from another machine).
    #[error("{0}")]
    Forbidden(String),
    /// A feature that needs something absent here (e.g. the inside view on an external cluster).
    #[error("{0}")]
    NotSupported(String),
    /// Reading or writing a local file (the profiles file) failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The embedded broker could not start or stop (port in use, data dir locked, …).
    #[error(transparent)]
    Broker(#[from] oxbow_broker::Error),
    /// A bug or an unexpected state; the message is logged and returned.
    #[error("internal error: {0}")]
    Internal(String),
}

/// `Result` with the studio's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::BadInput { field: field.into(), message: message.into() }
    }

    /// The HTTP status and "http-ish" error code (status × 100 + a detail digit) of this error.
    pub fn status_and_code(&self) -> (u16, u32) {
        match self {
            Error::BadInput { .. } => (400, 40001),
            Error::NotFound(_) => (404, 40401),
            Error::Forbidden(_) => (403, 40302),
            Error::Conflict(_) => (409, 40901),
            Error::Kafka { kafka_error, .. } => {
                let status = kafka_status(kafka_error);
                (status, u32::from(status) * 100 + 2)
            }
            Error::NotSupported(_) => (501, 50101),
            Error::Unavailable(_) => (503, 50301),
            Error::Io { .. } => (500, 50002),
            Error::Broker(_) => (500, 50003),
            Error::Internal(_) => (500, 50001),
        }
    }

    /// Kafka's error name when the cluster refused.
    pub fn kafka_error(&self) -> Option<&str> {
        match self {
            Error::Kafka { kafka_error, .. } => Some(kafka_error),
            _ => None,
        }
    }

    /// Wraps an error of the client crate, naming the operation's object in the message.
    pub fn from_client(error: oxbow_client::Error, context: &str) -> Error {
        use oxbow_client::Error as C;
        match error {
            C::Refused { operation, object, code } => {
                // `code` is librdkafka's Debug name, possibly followed by the broker's message.
                let (name, detail) = match code.split_once(": ") {
                    Some((name, detail)) => (name.to_string(), Some(detail.to_string())),
                    None => (code.clone(), None),
                };
                let kafka_error = kafka_name(&name);
                let mut message = format!("{context}: {operation} {object} refused: {kafka_error}");
                if let Some(detail) = detail.filter(|d| !d.is_empty()) {
                    message.push_str(&format!(" ({detail})"));
                }
                Error::Kafka { kafka_error, message }
            }
            C::NotFound(message) => Error::NotFound(format!("{context}: {message}")),
            C::Config(source) => {
                Error::bad_input("profile", format!("{context}: the connection profile is not valid: {source}"))
            }
            C::Kafka { operation, source } => {
                let code = source.rdkafka_error_code().map(|code| kafka_name(&format!("{code:?}")));
                match code.as_deref() {
                    Some(name) if is_refusal(name) => Error::Kafka {
                        kafka_error: name.to_string(),
                        message: format!("{context}: {operation} refused: {name}"),
                    },
                    _ => Error::Unavailable(format!("{context}: {operation} failed: {source}")),
                }
            }
        }
    }
}

/// Kafka errors that mean "your request was refused", not "the cluster is unreachable".
fn is_refusal(name: &str) -> bool {
    kafka_status(name) < 500
}

/// The HTTP status for a Kafka error name: the caller's fault is 4xx, the cluster's state 5xx.
pub fn kafka_status(name: &str) -> u16 {
    match name {
        // A group with members refuses admin changes: the caller must stop its consumers first.
        "TOPIC_ALREADY_EXISTS"
        | "NON_EMPTY_GROUP"
        | "GROUP_SUBSCRIBED_TO_TOPIC"
        | "UNKNOWN_MEMBER_ID"
        | "ILLEGAL_GENERATION"
        | "REBALANCE_IN_PROGRESS" => 409,
        "UNKNOWN_TOPIC_OR_PARTITION" | "UNKNOWN_TOPIC_ID" | "RESOURCE_NOT_FOUND" | "GROUP_ID_NOT_FOUND" => 404,
        "TOPIC_AUTHORIZATION_FAILED" | "CLUSTER_AUTHORIZATION_FAILED" | "GROUP_AUTHORIZATION_FAILED" => 403,
        "SASL_AUTHENTICATION_FAILED" => 401,
        "INVALID_TOPIC_EXCEPTION"
        | "INVALID_PARTITIONS"
        | "INVALID_REPLICATION_FACTOR"
        | "INVALID_REPLICA_ASSIGNMENT"
        | "INVALID_CONFIG"
        | "INVALID_REQUEST"
        | "POLICY_VIOLATION"
        | "INVALID_RECORD"
        | "MESSAGE_TOO_LARGE"
        | "RECORD_LIST_TOO_LARGE"
        | "INVALID_PARTITION"
        | "UNKNOWN_PARTITION"
        | "INVALID_TIMESTAMP"
        | "UNSUPPORTED_VERSION"
        | "TOPIC_DELETION_DISABLED"
        | "INVALID_RECORD_STATE"
        | "UNKNOWN_SERVER_ERROR_CONFIG" => 400,
        "NOT_CONTROLLER"
        | "REQUEST_TIMED_OUT"
        | "LEADER_NOT_AVAILABLE"
        | "NOT_LEADER_OR_FOLLOWER"
        | "BROKER_NOT_AVAILABLE"
        | "NETWORK_EXCEPTION"
        | "COORDINATOR_NOT_AVAILABLE"
        | "COORDINATOR_LOAD_IN_PROGRESS"
        | "NOT_COORDINATOR"
        | "NOT_ENOUGH_REPLICAS" => 503,
        _ if name.starts_with("INVALID_") => 400,
        _ => 502,
    }
}

/// Kafka's error name (`TOPIC_ALREADY_EXISTS`) from librdkafka's Rust name (`TopicAlreadyExists`).
/// Where Kafka's protocol name differs from a plain conversion, the protocol name wins.
pub fn kafka_name(rdkafka_name: &str) -> String {
    match rdkafka_name {
        "InvalidTopic" => return "INVALID_TOPIC_EXCEPTION".into(),
        "NotLeaderForPartition" => return "NOT_LEADER_OR_FOLLOWER".into(),
        "InvalidPartitions" => return "INVALID_PARTITIONS".into(),
        "UnknownPartition" => return "UNKNOWN_TOPIC_OR_PARTITION".into(),
        "UnknownTopic" => return "UNKNOWN_TOPIC_OR_PARTITION".into(),
        "InvalidMessageSize" => return "INVALID_RECORD".into(),
        "MessageSizeTooLarge" => return "MESSAGE_TOO_LARGE".into(),
        "PolicyViolation" => return "POLICY_VIOLATION".into(),
        _ => {}
    }
    if rdkafka_name.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()) {
        return rdkafka_name.to_string();
    }
    let mut out = String::with_capacity(rdkafka_name.len() + 8);
    for (index, c) in rdkafka_name.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_names_from_rdkafka_names() {
        assert_eq!(kafka_name("TopicAlreadyExists"), "TOPIC_ALREADY_EXISTS");
        assert_eq!(kafka_name("InvalidTopic"), "INVALID_TOPIC_EXCEPTION");
        assert_eq!(kafka_name("InvalidReplicationFactor"), "INVALID_REPLICATION_FACTOR");
        assert_eq!(kafka_name("UnknownTopicOrPartition"), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(kafka_name("INVALID_CONFIG"), "INVALID_CONFIG");
    }

    #[test]
    fn status_mapping_keeps_bad_input_out_of_5xx() {
        assert_eq!(Error::bad_input("name", "empty").status_and_code(), (400, 40001));
        let exists = Error::Kafka { kafka_error: "TOPIC_ALREADY_EXISTS".into(), message: "x".into() };
        assert_eq!(exists.status_and_code(), (409, 40902));
        for name in ["INVALID_TOPIC_EXCEPTION", "INVALID_CONFIG", "INVALID_PARTITIONS", "INVALID_REPLICATION_FACTOR"] {
            assert_eq!(kafka_status(name), 400, "{name}");
        }
        assert_eq!(kafka_status("UNKNOWN_TOPIC_OR_PARTITION"), 404);
        assert_eq!(kafka_status(&kafka_name("NonEmptyGroup")), 409);
        assert_eq!(kafka_status(&kafka_name("GroupIdNotFound")), 404);
        assert_eq!(kafka_status(&kafka_name("GroupSubscribedToTopic")), 409);
        assert_eq!(Error::Unavailable("down".into()).status_and_code().0, 503);
    }

    #[test]
    fn refused_client_errors_carry_the_kafka_name_and_detail() {
        let error = Error::from_client(
            oxbow_client::Error::Refused {
                operation: "CreateTopics",
                object: "orders".into(),
                code: "TopicAlreadyExists".into(),
            },
            "creating topic orders",
        );
        assert_eq!(error.kafka_error(), Some("TOPIC_ALREADY_EXISTS"));
        assert!(error.to_string().contains("orders"));
        let error = Error::from_client(
            oxbow_client::Error::Refused {
                operation: "IncrementalAlterConfigs",
                object: "t".into(),
                code: "InvalidConfig: retention.ms must be a number".into(),
            },
            "altering configs of t",
        );
        assert_eq!(error.kafka_error(), Some("INVALID_CONFIG"));
        assert!(error.to_string().contains("retention.ms must be a number"));
    }
}
