//! The log's one error type. The broker maps each variant to a Kafka error code.
//!
//! Validation errors (`CorruptMessage`, `MessageTooLarge`, `RecordListTooLarge`, `InvalidRecord`,
//! `OutOfOrderSequence`, `InvalidProducerEpoch`, `InvalidTxnState`,
//! `TransactionCoordinatorFenced`, `FencedLeaderEpoch`) guarantee that nothing of the request
//! was written.
//! `Io` means the disk failed us; the log keeps its in-memory state consistent with what is on disk
//! as far as it can tell (a failed append is truncated away again).

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// CORRUPT_MESSAGE: a batch failed its CRC, magic or length checks.
    #[error("corrupt record batch at byte {position} of the request: {reason}")]
    CorruptMessage { position: usize, reason: String },
    /// MESSAGE_TOO_LARGE.
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge { size: usize, max: u32 },
    /// RECORD_LIST_TOO_LARGE: the batches of one request together exceed `segment.bytes`
    /// (Kafka's `RecordBatchTooLargeException`).
    #[error("record batches of {size} bytes in one request exceed segment.bytes {max}")]
    RecordListTooLarge { size: usize, max: u64 },
    /// INVALID_RECORD: well-formed but not acceptable (e.g. a compacted topic without keys).
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// OUT_OF_ORDER_SEQUENCE_NUMBER.
    #[error("producer {producer_id} epoch {epoch}: sequence {found} out of order, expected {expected}")]
    OutOfOrderSequence { producer_id: i64, epoch: i16, expected: i32, found: i32 },
    /// INVALID_PRODUCER_EPOCH.
    #[error("producer {producer_id}: epoch {found} is older than current epoch {current}")]
    InvalidProducerEpoch { producer_id: i64, current: i16, found: i16 },
    /// INVALID_TXN_STATE: a producer wrote a non-transactional batch while its transaction is open.
    #[error("invalid transaction state: {0}")]
    InvalidTxnState(String),
    /// TRANSACTION_COORDINATOR_FENCED: a transaction marker from a coordinator epoch older than
    /// the one of the producer's last marker (a zombie coordinator).
    #[error(
        "producer {producer_id}: transaction marker from coordinator epoch {found}, older than the current {current}"
    )]
    TransactionCoordinatorFenced { producer_id: i64, current: i32, found: i32 },
    /// FENCED_LEADER_EPOCH: a leader append in an epoch older than one the log already holds
    /// (epochs never go back on a leader; the caller's leadership is stale).
    #[error("leader epoch {epoch} is older than the log's latest leader epoch {latest}")]
    FencedLeaderEpoch { epoch: i32, latest: i32 },
    /// OFFSET_OUT_OF_RANGE.
    #[error("offset {offset} is outside the log's range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange { offset: i64, log_start_offset: i64, log_end_offset: i64 },
    /// KAFKA_STORAGE_ERROR.
    // `cause` is not a `#[source]`: the message is shown whole in produce responses, and a chain
    // printer would repeat it.
    #[error("storage error on {path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), cause: source }
    }

    pub(crate) fn corrupt(position: usize, reason: impl Into<String>) -> Error {
        Error::CorruptMessage { position, reason: reason.into() }
    }
}

/// Attaches a path to `std::io` errors.
pub(crate) trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
