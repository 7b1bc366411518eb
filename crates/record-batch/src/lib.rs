//! Kafka's RecordBatch v2 header: its byte layout, parsing, and the attribute bits. The log (which
//! validates, patches and stores batches) and the client (which reads the headers of fetched bytes
//! without decoding records) share this one definition.
//!
//! Layout (big-endian), as Kafka's `DefaultRecordBatch` and the protocol guide's "Record Batch":
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
//! Deliberately not here: records (their varint encoding, compression codecs), CRC computation and
//! header patches (the log's business), and any I/O. Pure functions over byte slices; no input
//! panics in the checked parse ([`BatchHeader::parse_v2`]) or the walk ([`batch_headers`]).

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
pub fn get_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
#[inline]
pub fn get_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
#[inline]
pub fn get_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
#[inline]
pub fn get_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl BatchHeader {
    /// Parses the first [`HEADER_BYTES`] of `buf`; `None` when `buf` is shorter. Checks nothing:
    /// for bytes the caller validates itself (the log checks CRC, magic and lengths on append).
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

    /// The offset of the batch's last record.
    pub fn last_offset(&self) -> i64 {
        self.base_offset.saturating_add(i64::from(self.last_offset_delta))
    }

    /// Whether `offset` falls in this batch's offset range.
    pub fn contains(&self, offset: i64) -> bool {
        (self.base_offset..=self.last_offset()).contains(&offset)
    }

    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }

    /// The codec id in attributes bits 0-2 (see [`Codec`] for the ones Kafka defines).
    pub fn compression(&self) -> u8 {
        (self.attributes & ATTR_COMPRESSION_MASK) as u8
    }

    /// The codec, `None` for the ids 5-7 Kafka does not define.
    pub fn codec(&self) -> Option<Codec> {
        Codec::from_id(self.compression())
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

impl BatchHeader {
    /// Parses and checks the header at the start of `bytes` (which may continue with records and
    /// more batches): magic 2, a `batchLength` that can hold the header, a codec Kafka defines.
    /// The CRC is not checked (that needs the whole batch).
    pub fn parse_v2(bytes: &[u8]) -> Result<BatchHeader, HeaderError> {
        let Some(header) = BatchHeader::parse(bytes) else {
            // The magic byte tells an old-format message set from a short v2 header.
            if let Some(&magic) = bytes.get(MAGIC_AT) {
                if magic as i8 != MAGIC_V2 {
                    return Err(HeaderError::UnsupportedMagic(magic as i8));
                }
            }
            return Err(HeaderError::Truncated { available: bytes.len() });
        };
        if header.magic != MAGIC_V2 {
            return Err(HeaderError::UnsupportedMagic(header.magic));
        }
        if header.batch_length < (HEADER_BYTES - LOG_OVERHEAD) as i32 {
            return Err(HeaderError::BadLength(header.batch_length));
        }
        if header.codec().is_none() {
            return Err(HeaderError::UnknownCompression(header.compression()));
        }
        Ok(header)
    }
}

/// A batch's compression codec (attributes bits 0-2), by Kafka's `compression.type` names.
/// The discriminants are Kafka's codec ids, so `codec as i16` is the attributes bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    None = 0,
    Gzip = 1,
    Snappy = 2,
    Lz4 = 3,
    Zstd = 4,
}

impl Codec {
    /// The codec with Kafka's id 0-4; `None` for anything else.
    pub fn from_id(id: u8) -> Option<Codec> {
        Some(match id {
            0 => Codec::None,
            1 => Codec::Gzip,
            2 => Codec::Snappy,
            3 => Codec::Lz4,
            4 => Codec::Zstd,
            _ => return None,
        })
    }

    /// Kafka's name: `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    pub fn as_kafka_str(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Snappy => "snappy",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
        }
    }
}

/// Why bytes are not a v2 batch header.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Fewer bytes than a header (a Fetch response may end in a partial batch: that is normal).
    #[error("truncated batch header: {available} of {HEADER_BYTES} bytes")]
    Truncated { available: usize },
    /// Magic 0 or 1 (the pre-0.11 message formats) or garbage.
    #[error("not a v2 record batch (magic {0})")]
    UnsupportedMagic(i8),
    /// A `batchLength` too small to hold the header.
    #[error("batch length {0} is shorter than a v2 header")]
    BadLength(i32),
    /// Codec ids 5-7, which Kafka does not define.
    #[error("unknown compression codec {0}")]
    UnknownCompression(u8),
}

/// The checked headers of the batches laid end to end in `bytes` (e.g. a Fetch response's
/// `records`).
///
/// Yields one header per batch whose 61 header bytes are present, including a last batch whose
/// records are cut off (a Fetch response may end mid-batch; its header is still exact). Fewer
/// than 61 bytes left over yield one [`HeaderError::Truncated`]; any error ends the walk.
pub fn batch_headers(bytes: &[u8]) -> BatchHeaders<'_> {
    BatchHeaders { rest: bytes }
}

/// Iterator returned by [`batch_headers`].
pub struct BatchHeaders<'a> {
    rest: &'a [u8],
}

impl Iterator for BatchHeaders<'_> {
    type Item = Result<BatchHeader, HeaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match BatchHeader::parse_v2(self.rest) {
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
        let length = (HEADER_BYTES - LOG_OVERHEAD + body.len()) as i32;
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
        assert_eq!(b.len(), HEADER_BYTES);
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn every_codec_and_every_field() {
        let codecs = [
            (0, Codec::None, "none"),
            (1, Codec::Gzip, "gzip"),
            (2, Codec::Snappy, "snappy"),
            (3, Codec::Lz4, "lz4"),
            (4, Codec::Zstd, "zstd"),
        ];
        for (bits, codec, name) in codecs {
            let bytes = batch(100, bits, 4, b"records");
            let header = BatchHeader::parse_v2(&bytes).expect("parses");
            assert_eq!(header.codec().unwrap(), codec);
            assert_eq!(codec.as_kafka_str(), name);
            assert_eq!(header.base_offset, 100);
            assert_eq!(header.last_offset(), 104);
            assert_eq!(header.size_bytes() as usize, bytes.len());
            assert_eq!(header.partition_leader_epoch, 7);
            assert_eq!(header.crc, 0xdead_beef);
            assert_eq!((header.base_timestamp, header.max_timestamp), (1_000, 2_000));
            assert_eq!((header.producer_id, header.producer_epoch, header.base_sequence), (42, 3, 9));
            assert_eq!(header.records_count, 5);
            assert!(header.contains(100) && header.contains(104));
            assert!(!header.contains(99) && !header.contains(105));
            assert!(!header.is_transactional() && !header.is_control());
            assert!(!header.is_log_append_time());
        }
        for bits in 5..=7 {
            assert_eq!(
                BatchHeader::parse_v2(&batch(0, bits, 0, b"")),
                Err(HeaderError::UnknownCompression(bits as u8))
            );
        }
    }

    #[test]
    fn flags_are_read_apart_from_the_codec() {
        let header = BatchHeader::parse_v2(&batch(0, 0x08 | 0x10 | 0x20 | 3, 0, b"")).unwrap();
        assert_eq!(header.codec().unwrap(), Codec::Lz4);
        assert!(header.is_log_append_time());
        assert!(header.is_transactional() && header.is_control());
        let header = BatchHeader::parse_v2(&batch(0, 0x10 | 1, 0, b"")).unwrap();
        assert!(header.is_transactional() && !header.is_control());
        assert!(!header.is_log_append_time());
    }

    #[test]
    fn truncated_and_hostile_input_is_an_error_not_a_panic() {
        let whole = batch(5, 1, 2, b"abc");
        for cut in 0..HEADER_BYTES {
            assert_eq!(
                BatchHeader::parse_v2(&whole[..cut]),
                Err(HeaderError::Truncated { available: cut }),
                "cut at {cut}"
            );
        }
        let mut old = whole.clone();
        old[16] = 1;
        assert_eq!(BatchHeader::parse_v2(&old), Err(HeaderError::UnsupportedMagic(1)));
        assert_eq!(BatchHeader::parse_v2(&old[..20]), Err(HeaderError::UnsupportedMagic(1)));
        for length in [-1i32, 0, 48, i32::MIN] {
            let mut bad = whole.clone();
            bad[8..12].copy_from_slice(&length.to_be_bytes());
            assert_eq!(BatchHeader::parse_v2(&bad), Err(HeaderError::BadLength(length)));
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
        let summary: Vec<(i64, Codec)> = all.iter().map(|h| (h.base_offset, h.codec().unwrap())).collect();
        assert_eq!(summary, vec![(0, Codec::None), (3, Codec::Gzip), (4, Codec::Zstd)]);
        // The last batch's records cut off: its header still counts.
        let cut = bytes.len() - 2;
        assert_eq!(batch_headers(&bytes[..cut]).count(), 3);
        // Cut inside the last header: two headers, then one Truncated, then nothing.
        let cut = bytes.len() - 4 - 30;
        let walked: Vec<_> = batch_headers(&bytes[..cut]).collect();
        assert_eq!(walked.len(), 3);
        assert!(walked[..2].iter().all(Result::is_ok));
        assert_eq!(walked[2], Err(HeaderError::Truncated { available: 31 }));
        assert_eq!(batch_headers(&[]).count(), 0);
    }

    #[test]
    fn sequence_wraps_like_kafka() {
        let cases: &[(i32, i32, i32)] = &[(0, 0, 0), (5, 4, 9), (i32::MAX, 1, 0), (i32::MAX - 1, 3, 1)];
        for &(seq, inc, want) in cases {
            assert_eq!(increment_sequence(seq, inc), want, "increment {seq} by {inc}");
            assert_eq!(decrement_sequence(want, inc), seq, "decrement {want} by {inc}");
        }
    }
}
