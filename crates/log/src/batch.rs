//! RecordBatch v2 headers: field layout, parsing, CRC32C, and the few header patches a leader makes.
//!
//! Layout (big-endian), as Kafka's `DefaultRecordBatch`:
//!
//! | offset | field |
//! |---|---|
//! | 0 | baseOffset i64 |
//! | 8 | batchLength i32 (bytes after this field) |
//! | 12 | partitionLeaderEpoch i32 |
//! | 16 | magic i8 (= 2) |
//! | 17 | crc u32: CRC32C over bytes 21..end |
//! | 21 | attributes i16: bits 0-2 compression, 3 timestamp type, 4 transactional, 5 control, 6 delete horizon |
//! | 23 | lastOffsetDelta i32 |
//! | 27 | baseTimestamp i64 |
//! | 35 | maxTimestamp i64 |
//! | 43 | producerId i64 |
//! | 51 | producerEpoch i16 |
//! | 53 | baseSequence i32 |
//! | 57 | recordsCount i32 |
//! | 61 | records |
//!
//! This module does not decode records (see [`crate::record`]) and does no I/O.

/// Bytes before `batchLength`'s payload: baseOffset + batchLength (Kafka's `LOG_OVERHEAD`).
pub const LOG_OVERHEAD: usize = 12;
/// Size of a v2 batch header, records excluded.
pub const HEADER_BYTES: usize = 61;

pub const BASE_OFFSET_AT: usize = 0;
pub const LENGTH_AT: usize = 8;
pub const LEADER_EPOCH_AT: usize = 12;
pub const MAGIC_AT: usize = 16;
pub const CRC_AT: usize = 17;
pub const ATTRIBUTES_AT: usize = 21;
pub const LAST_OFFSET_DELTA_AT: usize = 23;
pub const BASE_TIMESTAMP_AT: usize = 27;
pub const MAX_TIMESTAMP_AT: usize = 35;
pub const PRODUCER_ID_AT: usize = 43;
pub const PRODUCER_EPOCH_AT: usize = 51;
pub const BASE_SEQUENCE_AT: usize = 53;
pub const RECORDS_COUNT_AT: usize = 57;
pub const RECORDS_AT: usize = 61;

pub const MAGIC_V2: i8 = 2;
pub const ATTR_COMPRESSION_MASK: i16 = 0x07;
pub const ATTR_LOG_APPEND_TIME: i16 = 0x08;
pub const ATTR_TRANSACTIONAL: i16 = 0x10;
pub const ATTR_CONTROL: i16 = 0x20;
pub const ATTR_DELETE_HORIZON: i16 = 0x40;

/// Kafka's `RecordBatch.NO_PRODUCER_ID` etc.
pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_PRODUCER_EPOCH: i16 = -1;
pub const NO_SEQUENCE: i32 = -1;
pub const NO_TIMESTAMP: i64 = -1;

/// A parsed v2 batch header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

#[inline]
pub(crate) fn get_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
#[inline]
pub(crate) fn get_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
#[inline]
pub(crate) fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
#[inline]
pub(crate) fn get_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl BatchHeader {
    /// Parses the first [`HEADER_BYTES`] of `buf`; `None` when `buf` is shorter. Checks nothing.
    pub fn parse(buf: &[u8]) -> Option<BatchHeader> {
        if buf.len() < HEADER_BYTES {
            return None;
        }
        Some(BatchHeader {
            base_offset: get_i64(buf, BASE_OFFSET_AT),
            batch_length: get_i32(buf, LENGTH_AT),
            partition_leader_epoch: get_i32(buf, LEADER_EPOCH_AT),
            magic: buf[MAGIC_AT] as i8,
            crc: get_u32(buf, CRC_AT),
            attributes: get_i16(buf, ATTRIBUTES_AT),
            last_offset_delta: get_i32(buf, LAST_OFFSET_DELTA_AT),
            base_timestamp: get_i64(buf, BASE_TIMESTAMP_AT),
            max_timestamp: get_i64(buf, MAX_TIMESTAMP_AT),
            producer_id: get_i64(buf, PRODUCER_ID_AT),
            producer_epoch: get_i16(buf, PRODUCER_EPOCH_AT),
            base_sequence: get_i32(buf, BASE_SEQUENCE_AT),
            records_count: get_i32(buf, RECORDS_COUNT_AT),
        })
    }

    /// Bytes the batch occupies on disk: `batchLength + 12`.
    pub fn size_bytes(&self) -> u64 {
        self.batch_length as u64 + LOG_OVERHEAD as u64
    }

    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    pub fn compression(&self) -> u8 {
        (self.attributes & ATTR_COMPRESSION_MASK) as u8
    }

    pub fn is_log_append_time(&self) -> bool {
        self.attributes & ATTR_LOG_APPEND_TIME != 0
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }

    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & ATTR_DELETE_HORIZON != 0
    }

    pub fn has_producer_id(&self) -> bool {
        self.producer_id > NO_PRODUCER_ID
    }

    /// Sequence of the batch's last record, wrapping at `i32::MAX` as Kafka's
    /// `DefaultRecordBatch.incrementSequence` does.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence == NO_SEQUENCE {
            return NO_SEQUENCE;
        }
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }
}

/// `seq + increment`, wrapping past `i32::MAX` to 0 (Kafka's `incrementSequence`).
pub fn increment_sequence(seq: i32, increment: i32) -> i32 {
    if seq > i32::MAX - increment {
        increment - (i32::MAX - seq) - 1
    } else {
        seq + increment
    }
}

/// `seq - decrement`, wrapping below 0 to `i32::MAX` (Kafka's `decrementSequence`).
pub fn decrement_sequence(seq: i32, decrement: i32) -> i32 {
    if seq < decrement {
        i32::MAX - (decrement - seq) + 1
    } else {
        seq - decrement
    }
}

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
    let attributes = if log_append_time {
        attributes | ATTR_LOG_APPEND_TIME
    } else {
        attributes & !ATTR_LOG_APPEND_TIME
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_like_kafka() {
        let cases: &[(i32, i32, i32)] = &[(0, 0, 0), (5, 4, 9), (i32::MAX, 1, 0), (i32::MAX - 1, 3, 1)];
        for &(seq, inc, want) in cases {
            assert_eq!(increment_sequence(seq, inc), want, "increment {seq} by {inc}");
            assert_eq!(decrement_sequence(want, inc), seq, "decrement {want} by {inc}");
        }
    }
}
