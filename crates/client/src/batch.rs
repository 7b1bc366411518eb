//! RecordBatch v2 headers, read from raw Fetch bytes without decoding (or decompressing) records:
//! what librdkafka never tells its callers (a batch's codec, flags, producer, size).
//!
//! Layout (big-endian; the Kafka protocol guide's "Record Batch"):
//!
//! | offset | field |
//! |---|---|
//! | 0 | baseOffset i64 |
//! | 8 | batchLength i32 (bytes after this field) |
//! | 12 | partitionLeaderEpoch i32 |
//! | 16 | magic i8 (2) |
//! | 17 | crc u32 (CRC32C over bytes 21..end) |
//! | 21 | attributes i16: bits 0-2 compression, 3 timestamp type, 4 transactional, 5 control |
//! | 23 | lastOffsetDelta i32 |
//! | 27 | baseTimestamp i64 |
//! | 35 | maxTimestamp i64 |
//! | 43 | producerId i64 |
//! | 51 | producerEpoch i16 |
//! | 53 | baseSequence i32 |
//! | 57 | recordsCount i32 |
//! | 61 | records |
//!
//! Pure functions over byte slices: no I/O, no allocation beyond the returned values, and no
//! input panics (every read is bounds-checked; bad input is a [`BatchHeaderError`]). The CRC is
//! not checked: the broker checked it on append, and checking needs the whole batch.

use crate::browse::TimestampKind;

/// Size of a v2 batch header, records excluded.
pub const BATCH_HEADER_BYTES: usize = 61;
/// Bytes before `batchLength`'s payload: baseOffset and batchLength (Kafka's `LOG_OVERHEAD`).
pub const BATCH_LOG_OVERHEAD_BYTES: usize = 12;

const MAGIC_AT: usize = 16;
const ATTR_COMPRESSION_MASK: i16 = 0x07;
const ATTR_LOG_APPEND_TIME: i16 = 0x08;
const ATTR_TRANSACTIONAL: i16 = 0x10;
const ATTR_CONTROL: i16 = 0x20;

/// A batch's compression codec (attributes bits 0-2), by Kafka's `compression.type` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// Kafka's name: `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub fn as_kafka_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    fn from_attributes(attributes: i16) -> Result<Compression, BatchHeaderError> {
        Ok(match attributes & ATTR_COMPRESSION_MASK {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            codec => return Err(BatchHeaderError::UnknownCompression(codec as u8)),
        })
    }
}

/// Why bytes are not a v2 batch header.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchHeaderError {
    /// Fewer bytes than a header (a Fetch response may end in a partial batch: that is normal).
    #[error("truncated batch header: {available} of {BATCH_HEADER_BYTES} bytes")]
    Truncated { available: usize },
    /// Magic 0 or 1 (the pre-0.11 message formats) or garbage.
    #[error("not a v2 record batch (magic {0})")]
    UnsupportedMagic(i8),
    /// A `batchLength` too small to hold the header.
    #[error("batch length {0} is shorter than a v2 header")]
    BadLength(i32),
    /// Codec bits 5-7, which Kafka does not define.
    #[error("unknown compression codec {0}")]
    UnknownCompression(u8),
}

/// A parsed v2 batch header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Bytes after this field (the whole batch is `batch_length + 12` bytes).
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    /// Raw attributes; see [`BatchHeader::compression`] and the flag accessors.
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    /// -1 when the producer was not idempotent.
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
    /// The codec from `attributes` (checked at parse time).
    pub compression: Compression,
}

fn be<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[at..at + N]);
    out
}

impl BatchHeader {
    /// Parses the header at the start of `bytes` (which may continue with records and more
    /// batches).
    pub fn parse(bytes: &[u8]) -> Result<BatchHeader, BatchHeaderError> {
        if bytes.len() < BATCH_HEADER_BYTES {
            // The magic byte tells an old-format message set from a short v2 header.
            if let Some(&magic) = bytes.get(MAGIC_AT) {
                if magic as i8 != 2 {
                    return Err(BatchHeaderError::UnsupportedMagic(magic as i8));
                }
            }
            return Err(BatchHeaderError::Truncated {
                available: bytes.len(),
            });
        }
        let b = &bytes[..BATCH_HEADER_BYTES];
        let magic = b[MAGIC_AT] as i8;
        if magic != 2 {
            return Err(BatchHeaderError::UnsupportedMagic(magic));
        }
        let batch_length = i32::from_be_bytes(be(b, 8));
        if batch_length < (BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD_BYTES) as i32 {
            return Err(BatchHeaderError::BadLength(batch_length));
        }
        let attributes = i16::from_be_bytes(be(b, 21));
        Ok(BatchHeader {
            base_offset: i64::from_be_bytes(be(b, 0)),
            batch_length,
            partition_leader_epoch: i32::from_be_bytes(be(b, 12)),
            magic,
            crc: u32::from_be_bytes(be(b, 17)),
            attributes,
            last_offset_delta: i32::from_be_bytes(be(b, 23)),
            base_timestamp: i64::from_be_bytes(be(b, 27)),
            max_timestamp: i64::from_be_bytes(be(b, 35)),
            producer_id: i64::from_be_bytes(be(b, 43)),
            producer_epoch: i16::from_be_bytes(be(b, 51)),
            base_sequence: i32::from_be_bytes(be(b, 53)),
            records_count: i32::from_be_bytes(be(b, 57)),
            compression: Compression::from_attributes(attributes)?,
        })
    }

    /// `LogAppendTime` when attributes bit 3 is set, else `CreateTime`.
    pub fn timestamp_kind(&self) -> TimestampKind {
        if self.attributes & ATTR_LOG_APPEND_TIME != 0 {
            TimestampKind::LogAppendTime
        } else {
            TimestampKind::CreateTime
        }
    }

    /// Part of a transaction (attributes bit 4).
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }

    /// Holds control records (transaction markers; attributes bit 5), never delivered to
    /// applications.
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }

    /// The offset of the batch's last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .saturating_add(i64::from(self.last_offset_delta))
    }

    /// Whether `offset` falls in this batch's offset range.
    pub fn contains(&self, offset: i64) -> bool {
        (self.base_offset..=self.last_offset()).contains(&offset)
    }

    /// Bytes of the whole batch as stored and sent (compressed), header included.
    pub fn size_bytes(&self) -> u64 {
        self.batch_length as u64 + BATCH_LOG_OVERHEAD_BYTES as u64
    }
}

/// The headers of the batches laid end to end in `bytes` (a Fetch response's `records`).
///
/// Yields one header per batch whose 61 header bytes are present, including a last batch whose
/// records are cut off (a Fetch response may end mid-batch; its header is still exact). Fewer
/// than 61 bytes left over yield one [`BatchHeaderError::Truncated`]; any error ends the walk.
pub fn batch_headers(bytes: &[u8]) -> BatchHeaders<'_> {
    BatchHeaders { rest: bytes }
}

/// Iterator returned by [`batch_headers`].
pub struct BatchHeaders<'a> {
    rest: &'a [u8],
}

impl Iterator for BatchHeaders<'_> {
    type Item = Result<BatchHeader, BatchHeaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match BatchHeader::parse(self.rest) {
            Ok(header) => {
                let size = usize::try_from(header.size_bytes()).unwrap_or(usize::MAX);
                self.rest = self.rest.get(size..).unwrap_or_default();
                Some(Ok(header))
            }
            Err(error) => {
                self.rest = &[];
                Some(Err(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v2 batch: header with the given fields, then `body` as its (opaque) records.
    fn batch(base_offset: i64, attributes: i16, last_offset_delta: i32, body: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&base_offset.to_be_bytes());
        let length = (BATCH_HEADER_BYTES - BATCH_LOG_OVERHEAD_BYTES + body.len()) as i32;
        b.extend_from_slice(&length.to_be_bytes());
        b.extend_from_slice(&7i32.to_be_bytes()); // leader epoch
        b.push(2); // magic
        b.extend_from_slice(&0xdead_beef_u32.to_be_bytes());
        b.extend_from_slice(&attributes.to_be_bytes());
        b.extend_from_slice(&last_offset_delta.to_be_bytes());
        b.extend_from_slice(&1_000i64.to_be_bytes());
        b.extend_from_slice(&2_000i64.to_be_bytes());
        b.extend_from_slice(&42i64.to_be_bytes()); // producer id
        b.extend_from_slice(&3i16.to_be_bytes());
        b.extend_from_slice(&9i32.to_be_bytes());
        b.extend_from_slice(&(last_offset_delta + 1).to_be_bytes());
        assert_eq!(b.len(), BATCH_HEADER_BYTES);
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn every_codec_and_every_field() {
        let codecs = [
            (0, Compression::None, "none"),
            (1, Compression::Gzip, "gzip"),
            (2, Compression::Snappy, "snappy"),
            (3, Compression::Lz4, "lz4"),
            (4, Compression::Zstd, "zstd"),
        ];
        for (bits, codec, name) in codecs {
            let bytes = batch(100, bits, 4, b"records");
            let header = BatchHeader::parse(&bytes).expect("parses");
            assert_eq!(header.compression, codec);
            assert_eq!(codec.as_kafka_str(), name);
            assert_eq!(header.base_offset, 100);
            assert_eq!(header.last_offset(), 104);
            assert_eq!(header.size_bytes() as usize, bytes.len());
            assert_eq!(header.partition_leader_epoch, 7);
            assert_eq!(header.crc, 0xdead_beef);
            assert_eq!(
                (header.base_timestamp, header.max_timestamp),
                (1_000, 2_000)
            );
            assert_eq!(
                (
                    header.producer_id,
                    header.producer_epoch,
                    header.base_sequence
                ),
                (42, 3, 9)
            );
            assert_eq!(header.records_count, 5);
            assert!(header.contains(100) && header.contains(104));
            assert!(!header.contains(99) && !header.contains(105));
            assert!(!header.is_transactional() && !header.is_control());
            assert_eq!(header.timestamp_kind(), TimestampKind::CreateTime);
        }
        for bits in 5..=7 {
            assert_eq!(
                BatchHeader::parse(&batch(0, bits, 0, b"")),
                Err(BatchHeaderError::UnknownCompression(bits as u8))
            );
        }
    }

    #[test]
    fn flags_are_read_apart_from_the_codec() {
        let header = BatchHeader::parse(&batch(0, 0x08 | 0x10 | 0x20 | 3, 0, b"")).unwrap();
        assert_eq!(header.compression, Compression::Lz4);
        assert_eq!(header.timestamp_kind(), TimestampKind::LogAppendTime);
        assert!(header.is_transactional() && header.is_control());
        let header = BatchHeader::parse(&batch(0, 0x10 | 1, 0, b"")).unwrap();
        assert!(header.is_transactional() && !header.is_control());
        assert_eq!(header.timestamp_kind(), TimestampKind::CreateTime);
    }

    #[test]
    fn truncated_and_hostile_input_is_an_error_not_a_panic() {
        let whole = batch(5, 1, 2, b"abc");
        for cut in 0..BATCH_HEADER_BYTES {
            assert_eq!(
                BatchHeader::parse(&whole[..cut]),
                Err(BatchHeaderError::Truncated { available: cut }),
                "cut at {cut}"
            );
        }
        let mut old = whole.clone();
        old[16] = 1;
        assert_eq!(
            BatchHeader::parse(&old),
            Err(BatchHeaderError::UnsupportedMagic(1))
        );
        assert_eq!(
            BatchHeader::parse(&old[..20]),
            Err(BatchHeaderError::UnsupportedMagic(1))
        );
        for length in [-1i32, 0, 48, i32::MIN] {
            let mut bad = whole.clone();
            bad[8..12].copy_from_slice(&length.to_be_bytes());
            assert_eq!(
                BatchHeader::parse(&bad),
                Err(BatchHeaderError::BadLength(length))
            );
        }
        // A huge claimed length ends the walk after that header instead of reading past the end.
        let mut huge = whole.clone();
        huge[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
        let headers: Vec<_> = batch_headers(&huge).collect();
        assert_eq!(headers.len(), 1);
        assert!(headers[0].is_ok());
    }

    #[test]
    fn walks_batches_end_to_end_and_stops_at_a_partial_tail() {
        let mut bytes = batch(0, 0, 2, b"aaa");
        bytes.extend(batch(3, 1, 0, b"bb"));
        bytes.extend(batch(4, 4, 9, b"cccc"));
        let all: Vec<BatchHeader> = batch_headers(&bytes).map(Result::unwrap).collect();
        let summary: Vec<(i64, Compression)> =
            all.iter().map(|h| (h.base_offset, h.compression)).collect();
        assert_eq!(
            summary,
            vec![
                (0, Compression::None),
                (3, Compression::Gzip),
                (4, Compression::Zstd)
            ]
        );
        // The last batch's records cut off: its header still counts.
        let cut = bytes.len() - 2;
        assert_eq!(batch_headers(&bytes[..cut]).count(), 3);
        // Cut inside the last header: two headers, then one Truncated, then nothing.
        let cut = bytes.len() - 4 - 30;
        let walked: Vec<_> = batch_headers(&bytes[..cut]).collect();
        assert_eq!(walked.len(), 3);
        assert!(walked[..2].iter().all(Result::is_ok));
        assert_eq!(
            walked[2],
            Err(BatchHeaderError::Truncated { available: 31 })
        );
        assert_eq!(batch_headers(&[]).count(), 0);
    }
}
