//! RecordBatch v2 headers: field layout, parsing, CRC32C, and the few header patches a leader makes.
//!
//! The layout, the header type and the attribute bits come from `oxbow-record-batch` (shared with
//! the client) and are re-exported here; this module adds what only the log does to batches.
//!
//! This module does not decode records (see [`crate::record`]) and does no I/O.

pub use oxbow_record_batch::*;

/// CRC32C of a whole batch's checksummed region (attributes to end).
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[ATTRIBUTES_AT..])
}

/// Whether the stored CRC matches the bytes.
pub fn crc_is_valid(batch: &[u8]) -> bool {
    batch.len() >= HEADER_BYTES && get_u32(batch, CRC_AT) == compute_crc(batch)
}

/// Writes the base offset (outside the CRC'd region).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[BASE_OFFSET_AT..BASE_OFFSET_AT + 8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Writes the partition leader epoch (outside the CRC'd region).
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[LEADER_EPOCH_AT..LEADER_EPOCH_AT + 4].copy_from_slice(&epoch.to_be_bytes());
}

/// Kafka's `DefaultRecordBatch.setMaxTimestamp`: sets the timestamp type bit and maxTimestamp and
/// recomputes the CRC, but only when either actually changes. `baseTimestamp` is left alone, as in
/// Kafka (consumers take every record's timestamp from maxTimestamp for `LogAppendTime` batches).
/// Returns whether the batch changed.
pub fn set_max_timestamp(batch: &mut [u8], log_append_time: bool, max_timestamp: i64) -> bool {
    let attributes = get_i16(batch, ATTRIBUTES_AT);
    let current_type = attributes & ATTR_LOG_APPEND_TIME != 0;
    let current_max = get_i64(batch, MAX_TIMESTAMP_AT);
    if current_type == log_append_time && current_max == max_timestamp {
        return false;
    }
    let attributes =
        if log_append_time { attributes | ATTR_LOG_APPEND_TIME } else { attributes & !ATTR_LOG_APPEND_TIME };
    batch[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
    batch[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&max_timestamp.to_be_bytes());
    let crc = compute_crc(batch);
    batch[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    true
}

/// Iterates the batches of a contiguous buffer of whole batches (as returned by `Log::read`).
/// Stops at the first incomplete batch.
pub fn batches(buf: &[u8]) -> BatchIter<'_> {
    BatchIter { buf, position: 0 }
}

pub struct BatchIter<'a> {
    buf: &'a [u8],
    position: usize,
}

impl<'a> Iterator for BatchIter<'a> {
    /// (header, the batch's bytes)
    type Item = (BatchHeader, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = &self.buf[self.position..];
        let header = BatchHeader::parse(rest)?;
        if header.batch_length < (HEADER_BYTES - LOG_OVERHEAD) as i32 {
            return None;
        }
        let size = header.size_bytes() as usize;
        if size > rest.len() {
            return None;
        }
        self.position += size;
        Some((header, &rest[..size]))
    }
}
