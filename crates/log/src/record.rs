//! Records inside a v2 batch: decoding (varints, keys, values, headers) and encoding whole batches.
//!
//! Used by compaction (keys, tombstones, re-encoding retained records), by compacted-topic key
//! validation and by timestamp lookups. Produce and fetch never decode records: batches pass
//! through byte for byte.
//!
//! Record layout (Kafka's `DefaultRecord`): length varint, attributes i8, timestampDelta varlong,
//! offsetDelta varint, keyLength varint (-1 = null), key, valueLength varint (-1 = null), value,
//! header count varint, then per header: keyLength varint, key (UTF-8), valueLength varint, value.
//! Varints are zigzag-encoded as in protobuf.

use crate::batch::{self, BatchHeader, HEADER_BYTES};
use crate::compression::{self, Compression};
use bytes::Bytes;

/// Upper bound on the decompressed records of one batch (64 MiB): a hostile few-KiB batch must not
/// expand into unbounded memory. Kafka's own limit is the JVM heap.
pub const DECOMPRESSED_BATCH_BYTES_MAX: usize = 64 * 1024 * 1024;

/// One record, offsets and timestamps relative to its batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub attributes: i8,
    pub timestamp_delta: i64,
    pub offset_delta: i32,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(Bytes, Option<Bytes>)>,
}

pub fn put_varint(out: &mut Vec<u8>, v: i32) {
    put_varlong(out, v as i64)
}

pub fn put_varlong(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A bounds-checked reader over decoded records.
struct Reader<'a> {
    buf: &'a Bytes,
    at: usize,
}

impl Reader<'_> {
    fn varlong(&mut self, max_bytes: usize) -> Result<i64, String> {
        let mut z: u64 = 0;
        for i in 0..max_bytes {
            let b = *self.buf.get(self.at).ok_or("truncated varint")?;
            self.at += 1;
            z |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
            }
        }
        Err("varint too long".into())
    }

    fn varint(&mut self) -> Result<i32, String> {
        let v = self.varlong(5)?;
        i32::try_from(v).map_err(|_| "varint out of range".to_string())
    }

    fn i8(&mut self) -> Result<i8, String> {
        let b = *self.buf.get(self.at).ok_or("truncated record")?;
        self.at += 1;
        Ok(b as i8)
    }

    fn bytes(&mut self) -> Result<Option<Bytes>, String> {
        let len = self.varint()?;
        if len < 0 {
            return Ok(None);
        }
        let end = self.at.checked_add(len as usize).filter(|&e| e <= self.buf.len()).ok_or("truncated field")?;
        let out = self.buf.slice(self.at..end);
        self.at = end;
        Ok(Some(out))
    }
}

/// Decodes the records of one whole batch (decompressing when needed). Control batches decode
/// like any other (their key/value are the control record schema).
pub fn decode_records(batch_bytes: &[u8]) -> Result<Vec<Record>, String> {
    let header = BatchHeader::parse(batch_bytes).ok_or("batch shorter than its header")?;
    if header.magic != batch::MAGIC_V2 {
        return Err(format!("magic {} is not 2", header.magic));
    }
    let size = header.size_bytes() as usize;
    if size > batch_bytes.len() || size < HEADER_BYTES {
        return Err("batch length does not match its bytes".into());
    }
    let codec = Compression::from_id(header.compression()).ok_or("unknown compression codec")?;
    let payload = &batch_bytes[HEADER_BYTES..size];
    let data = Bytes::from(compression::decompress(codec, payload, DECOMPRESSED_BATCH_BYTES_MAX)?);
    let count = header.records_count.max(0) as usize;
    // Every record takes at least 7 bytes, so a count larger than that is a lie; bounds the Vec.
    if count > data.len() / 7 + 1 {
        return Err(format!("records count {count} impossible for {} bytes", data.len()));
    }
    let mut records = Vec::with_capacity(count);
    let mut r = Reader { buf: &data, at: 0 };
    for _ in 0..count {
        let len = r.varint()?;
        if len < 0 {
            return Err("negative record length".into());
        }
        let end = r.at.checked_add(len as usize).filter(|&e| e <= data.len()).ok_or("truncated record")?;
        let attributes = r.i8()?;
        let timestamp_delta = r.varlong(10)?;
        let offset_delta = r.varint()?;
        let key = r.bytes()?;
        let value = r.bytes()?;
        let header_count = r.varint()?;
        if header_count < 0 || header_count as usize > len as usize {
            return Err("invalid header count".into());
        }
        let mut headers = Vec::with_capacity(header_count as usize);
        for _ in 0..header_count {
            let k = r.bytes()?.ok_or("null header key")?;
            let v = r.bytes()?;
            headers.push((k, v));
        }
        if r.at != end {
            return Err("record length does not match its fields".into());
        }
        records.push(Record { attributes, timestamp_delta, offset_delta, key, value, headers });
    }
    if r.at != data.len() {
        return Err("bytes left after the last record".into());
    }
    Ok(records)
}

fn put_bytes(out: &mut Vec<u8>, b: &Option<Bytes>) {
    match b {
        None => put_varint(out, -1),
        Some(b) => {
            put_varint(out, b.len() as i32);
            out.extend_from_slice(b);
        }
    }
}

/// Appends one encoded record (length prefix included) to `out`.
pub fn encode_record(out: &mut Vec<u8>, r: &Record) {
    let mut body =
        Vec::with_capacity(16 + r.key.as_ref().map_or(0, |k| k.len()) + r.value.as_ref().map_or(0, |v| v.len()));
    body.push(r.attributes as u8);
    put_varlong(&mut body, r.timestamp_delta);
    put_varint(&mut body, r.offset_delta);
    put_bytes(&mut body, &r.key);
    put_bytes(&mut body, &r.value);
    put_varint(&mut body, r.headers.len() as i32);
    for (k, v) in &r.headers {
        put_bytes(&mut body, &Some(k.clone()));
        put_bytes(&mut body, v);
    }
    put_varint(out, body.len() as i32);
    out.extend_from_slice(&body);
}

/// Header fields of a batch to encode.
#[derive(Clone, Debug)]
pub struct BatchSpec {
    pub base_offset: i64,
    pub partition_leader_epoch: i32,
    pub compression: Compression,
    pub log_append_time: bool,
    pub transactional: bool,
    pub control: bool,
    pub delete_horizon: bool,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
}

impl BatchSpec {
    /// A plain uncompressed, non-idempotent batch at offset 0.
    pub fn simple(last_offset_delta: i32, base_timestamp: i64, max_timestamp: i64) -> BatchSpec {
        BatchSpec {
            base_offset: 0,
            partition_leader_epoch: -1,
            compression: Compression::None,
            log_append_time: false,
            transactional: false,
            control: false,
            delete_horizon: false,
            last_offset_delta,
            base_timestamp,
            max_timestamp,
            producer_id: batch::NO_PRODUCER_ID,
            producer_epoch: batch::NO_PRODUCER_EPOCH,
            base_sequence: batch::NO_SEQUENCE,
        }
    }

    pub(crate) fn attributes(&self) -> i16 {
        let mut a = self.compression as i16;
        if self.log_append_time {
            a |= batch::ATTR_LOG_APPEND_TIME;
        }
        if self.transactional {
            a |= batch::ATTR_TRANSACTIONAL;
        }
        if self.control {
            a |= batch::ATTR_CONTROL;
        }
        if self.delete_horizon {
            a |= batch::ATTR_DELETE_HORIZON;
        }
        a
    }
}

/// Encodes a whole v2 batch with a valid CRC. `records` keep their own deltas.
pub fn encode_batch(spec: &BatchSpec, records: &[Record]) -> Result<Vec<u8>, String> {
    let mut raw = Vec::new();
    for r in records {
        encode_record(&mut raw, r);
    }
    let payload = compression::compress(spec.compression, &raw)?;
    let mut out = Vec::with_capacity(HEADER_BYTES + payload.len());
    out.extend_from_slice(&spec.base_offset.to_be_bytes());
    out.extend_from_slice(&((HEADER_BYTES - batch::LOG_OVERHEAD + payload.len()) as i32).to_be_bytes());
    out.extend_from_slice(&spec.partition_leader_epoch.to_be_bytes());
    out.push(batch::MAGIC_V2 as u8);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&spec.attributes().to_be_bytes());
    out.extend_from_slice(&spec.last_offset_delta.to_be_bytes());
    out.extend_from_slice(&spec.base_timestamp.to_be_bytes());
    out.extend_from_slice(&spec.max_timestamp.to_be_bytes());
    out.extend_from_slice(&spec.producer_id.to_be_bytes());
    out.extend_from_slice(&spec.producer_epoch.to_be_bytes());
    out.extend_from_slice(&spec.base_sequence.to_be_bytes());
    out.extend_from_slice(&(records.len() as i32).to_be_bytes());
    out.extend_from_slice(&payload);
    let crc = batch::compute_crc(&out);
    out[batch::CRC_AT..batch::CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

/// Absolute timestamp of a record: for `LogAppendTime` batches every record carries the batch's
/// maxTimestamp (as Kafka's `DefaultRecordBatch` reports it), else baseTimestamp + delta.
pub fn record_timestamp(header: &BatchHeader, r: &Record) -> i64 {
    if header.is_log_append_time() {
        header.max_timestamp
    } else {
        header.base_timestamp.wrapping_add(r.timestamp_delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_roundtrip() {
        for v in [0i64, 1, -1, 63, -64, 64, 300, -300, i32::MAX as i64, i32::MIN as i64, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            let b = Bytes::from(out);
            let mut r = Reader { buf: &b, at: 0 };
            assert_eq!(r.varlong(10).unwrap(), v);
        }
    }

    #[test]
    fn batch_roundtrips_with_every_codec() {
        let records: Vec<Record> = (0..50)
            .map(|i| Record {
                attributes: 0,
                timestamp_delta: i * 3,
                offset_delta: i as i32,
                key: if i % 7 == 0 { None } else { Some(Bytes::from(format!("k{i}"))) },
                value: if i % 5 == 0 { None } else { Some(Bytes::from(vec![i as u8; i as usize * 10])) },
                headers: vec![
                    (Bytes::from_static(b"h"), Some(Bytes::from_static(b"v"))),
                    (Bytes::from_static(b"n"), None),
                ],
            })
            .collect();
        for codec in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            let mut spec = BatchSpec::simple(49, 1000, 1147);
            spec.compression = codec;
            let bytes = encode_batch(&spec, &records).unwrap();
            assert!(batch::crc_is_valid(&bytes));
            assert_eq!(decode_records(&bytes).unwrap(), records, "{codec:?}");
        }
    }
}
