//! The five codecs of RecordBatch v2 (attributes bits 0-2), used only where records must be decoded:
//! compaction, compacted-topic key validation and timestamp lookups. Produce and fetch never touch
//! compressed payloads.
//!
//! Kafka's framings: gzip is a gzip stream; snappy is either a raw snappy block or the xerial
//! framing the Java client writes (`\x82SNAPPY\0`, version, compat, then length-prefixed raw
//! blocks) — both are read, xerial is written; lz4 is the LZ4 frame format with independent 64 KiB
//! blocks and no content checksum (what Kafka's `KafkaLZ4BlockOutputStream` writes); zstd is a
//! zstd frame.
//!
//! Every decompression is bounded by a caller-given `max_bytes`, so a small hostile batch cannot
//! expand into unbounded memory.

use std::io::{Read, Write};

/// The codec ids and names are `oxbow-record-batch`'s (one definition for the log and the client);
/// this module adds the codecs' implementations.
pub use oxbow_record_batch::Codec as Compression;

const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
/// Xerial header: magic, version i32 (1), compatible version i32 (1).
const XERIAL_HEADER_BYTES: usize = 16;
/// Block size of the xerial framing the Java client writes (32 KiB).
const XERIAL_BLOCK_BYTES: usize = 32 * 1024;

fn read_bounded(mut reader: impl Read, max_bytes: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader
        .by_ref()
        .take(max_bytes as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("decompression failed: {e}"))?;
    if out.len() > max_bytes {
        return Err(format!("decompressed records exceed {max_bytes} bytes"));
    }
    Ok(out)
}

fn snappy_raw(data: &[u8], max_bytes: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let len = snap::raw::decompress_len(data).map_err(|e| format!("snappy: {e}"))?;
    if out.len() + len > max_bytes {
        return Err(format!("decompressed records exceed {max_bytes} bytes"));
    }
    let at = out.len();
    out.resize(at + len, 0);
    snap::raw::Decoder::new().decompress(data, &mut out[at..]).map_err(|e| format!("snappy: {e}"))?;
    Ok(())
}

/// Decompresses a batch's records section.
pub fn decompress(codec: Compression, data: &[u8], max_bytes: usize) -> Result<Vec<u8>, String> {
    match codec {
        Compression::None => {
            if data.len() > max_bytes {
                return Err(format!("records exceed {max_bytes} bytes"));
            }
            Ok(data.to_vec())
        }
        Compression::Gzip => read_bounded(flate2::read::GzDecoder::new(data), max_bytes),
        Compression::Snappy => {
            let mut out = Vec::new();
            if data.len() >= XERIAL_HEADER_BYTES && data[..8] == XERIAL_MAGIC {
                let mut at = XERIAL_HEADER_BYTES;
                while at < data.len() {
                    if at + 4 > data.len() {
                        return Err("snappy: truncated xerial block length".into());
                    }
                    let len = u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
                    at += 4;
                    if at + len > data.len() {
                        return Err("snappy: truncated xerial block".into());
                    }
                    snappy_raw(&data[at..at + len], max_bytes, &mut out)?;
                    at += len;
                }
            } else {
                snappy_raw(data, max_bytes, &mut out)?;
            }
            Ok(out)
        }
        Compression::Lz4 => {
            let decoder = lz4::Decoder::new(data).map_err(|e| format!("lz4: {e}"))?;
            read_bounded(decoder, max_bytes)
        }
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(data).map_err(|e| format!("zstd: {e}"))?;
            read_bounded(decoder, max_bytes)
        }
    }
}

/// Compresses a records section the way Kafka's Java client frames it.
pub fn compress(codec: Compression, data: &[u8]) -> Result<Vec<u8>, String> {
    match codec {
        Compression::None => Ok(data.to_vec()),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).map_err(|e| e.to_string())?;
            enc.finish().map_err(|e| e.to_string())
        }
        Compression::Snappy => {
            let mut out = Vec::with_capacity(data.len() / 2 + XERIAL_HEADER_BYTES);
            out.extend_from_slice(&XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            let mut encoder = snap::raw::Encoder::new();
            for chunk in data.chunks(XERIAL_BLOCK_BYTES) {
                let block = encoder.compress_vec(chunk).map_err(|e| e.to_string())?;
                out.extend_from_slice(&(block.len() as u32).to_be_bytes());
                out.extend_from_slice(&block);
            }
            Ok(out)
        }
        Compression::Lz4 => {
            let mut enc = lz4::EncoderBuilder::new()
                .block_size(lz4::BlockSize::Max64KB)
                .block_mode(lz4::BlockMode::Independent)
                .checksum(lz4::ContentChecksum::NoChecksum)
                .build(Vec::new())
                .map_err(|e| e.to_string())?;
            enc.write_all(data).map_err(|e| e.to_string())?;
            let (out, result) = enc.finish();
            result.map_err(|e| e.to_string())?;
            Ok(out)
        }
        Compression::Zstd => zstd::stream::encode_all(data, 3).map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_roundtrips_and_is_bounded() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        for codec in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            let packed = compress(codec, &data).unwrap();
            assert_eq!(decompress(codec, &packed, data.len()).unwrap(), data, "{codec:?}");
            assert!(decompress(codec, &packed, data.len() - 1).is_err(), "{codec:?} bound");
        }
    }

    #[test]
    fn raw_snappy_block_is_read() {
        let data = b"hello hello hello hello".to_vec();
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(decompress(Compression::Snappy, &raw, 1000).unwrap(), data);
    }
}
