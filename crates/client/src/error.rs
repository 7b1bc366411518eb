//! The crate's one error type.

use rdkafka::error::KafkaError;

/// What went wrong talking to a cluster. Messages say which operation and which object failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// librdkafka refused the configuration built from a [`crate::ConnectionProfile`].
    #[error("invalid client configuration: {0}")]
    Config(#[source] KafkaError),
    /// A request reached the cluster (or timed out trying) and failed.
    #[error("{operation} failed: {source}")]
    Kafka {
        operation: &'static str,
        #[source]
        source: KafkaError,
    },
    /// The cluster answered, but refused the operation for one object (topic, partition, …).
    /// `code` is Kafka's error name as librdkafka reports it, e.g. `TopicAlreadyExists`.
    #[error("{operation} {object}: {code}")]
    Refused { operation: &'static str, object: String, code: String },
    /// The caller asked for something that cannot exist (e.g. a topic absent from metadata).
    #[error("{0}")]
    NotFound(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn kafka(operation: &'static str) -> impl FnOnce(KafkaError) -> Error {
        move |source| Error::Kafka { operation, source }
    }
}
