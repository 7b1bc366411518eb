//! RecordBatch v2 headers read from raw Fetch bytes without decoding (or decompressing) records:
//! what librdkafka never tells its callers (a batch's codec, flags, producer, size). The layout
//! and the checked parse are `oxbow-record-batch`'s, shared with the log; this module only names
//! them for the client's callers and maps the timestamp type onto the client's [`TimestampKind`].

use crate::browse::TimestampKind;

pub use oxbow_record_batch::{
    batch_headers, BatchHeader, BatchHeaders, Codec as Compression, HeaderError as BatchHeaderError,
    HEADER_BYTES as BATCH_HEADER_BYTES, LOG_OVERHEAD as BATCH_LOG_OVERHEAD_BYTES,
};

impl TimestampKind {
    /// `LogAppendTime` when the batch's attributes bit 3 is set, else `CreateTime`.
    pub fn of_batch(header: &BatchHeader) -> TimestampKind {
        if header.is_log_append_time() {
            TimestampKind::LogAppendTime
        } else {
            TimestampKind::CreateTime
        }
    }
}
