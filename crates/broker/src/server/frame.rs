//! Decoding one request frame (the bytes after the 4-byte size) and encoding one response.
//!
//! Decisions, following Apache Kafka's `SocketServer`/`RequestContext`:
//! - an unknown API key, an API this broker does not support, a truncated or garbage header or
//!   body → the connection is closed (Kafka logs and closes; it cannot answer what it cannot
//!   parse);
//! - a supported API at a version outside [`crate::apis::SUPPORTED`] → closed as well (Kafka
//!   fails parsing such requests with InvalidRequestException and closes), except:
//! - ApiVersions at a version above ours → KIP-511: a v0-format ApiVersions response with
//!   UNSUPPORTED_VERSION and our ApiVersions range, so the client can retry at a version we know.
//!
//! Decoding never panics on input; as a second line of defence a panic inside the codec is
//! caught and treated as a bad frame.

use crate::apis::supported_range;
use bytes::buf::UninitSlice;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::buf::ByteBufMut;
use kafka_protocol::protocol::{decode_request_header_from_buffer, Encodable};
use std::io::IoSlice;
use std::ops::Range;

/// Record sets at least this large are written from the fetched buffer itself instead of being
/// copied into the encoded response; smaller ones are cheaper to copy than to give their own
/// iovec entry.
const SPLICE_MIN_BYTES: usize = 4 * 1024;

/// Response bytes encoded up to the record sets, which come after (typically a few hundred bytes
/// of Fetch metadata).
const INLINE_INITIAL_BYTES: usize = 1024;

/// A decoded frame.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum DecodedFrame {
    Request {
        header: RequestHeader,
        request: RequestKind,
    },
    /// KIP-511: ApiVersions at an unknown version; answer with the v0 fallback.
    UnsupportedApiVersions {
        correlation_id: i32,
        version: i16,
    },
}

/// Why a frame was refused; the connection that sent it is closed.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("frame of {0} bytes is too short for a request header")]
    TooShort(usize),
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    #[error("API {0:?} is not supported by this broker")]
    UnsupportedApi(ApiKey),
    #[error("API {key:?} version {version} is outside the supported range {min}..={max}")]
    UnsupportedVersion { key: ApiKey, version: i16, min: i16, max: i16 },
    #[error("malformed request header: {0}")]
    Header(String),
    #[error("malformed {key:?} v{version} request: {reason}")]
    Body { key: ApiKey, version: i16, reason: String },
}

/// Decodes a request frame (without its 4-byte length prefix). Public for the fuzz target.
pub fn decode_request_frame(frame: Bytes) -> Result<DecodedFrame, FrameError> {
    // api_key (2) + api_version (2) + correlation_id (4) is the least any header has.
    if frame.len() < 8 {
        return Err(FrameError::TooShort(frame.len()));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let key = ApiKey::try_from(raw_key).map_err(|_| FrameError::UnknownApiKey(raw_key))?;
    let (min, max) = supported_range(key).ok_or(FrameError::UnsupportedApi(key))?;
    if version < min || version > max {
        if key == ApiKey::ApiVersions && version > max {
            return Ok(DecodedFrame::UnsupportedApiVersions { correlation_id, version });
        }
        return Err(FrameError::UnsupportedVersion { key, version, min, max });
    }
    let result = std::panic::catch_unwind(move || {
        let mut buf = frame;
        let header = decode_request_header_from_buffer(&mut buf).map_err(|e| FrameError::Header(e.to_string()))?;
        let request = RequestKind::decode(key, &mut buf, version).map_err(|e| FrameError::Body {
            key,
            version,
            reason: e.to_string(),
        })?;
        Ok(DecodedFrame::Request { header, request })
    });
    match result {
        Ok(r) => r,
        Err(_) => Err(FrameError::Body { key, version, reason: "decoder panicked".into() }),
    }
}

/// Encodes a response frame including its 4-byte size prefix, as one contiguous buffer.
pub fn encode_response_frame(
    api_version: i16,
    correlation_id: i32,
    response: &ResponseKind,
) -> anyhow::Result<BytesMut> {
    let frame = encode_response_pieces(api_version, correlation_id, response)?;
    let mut buf = BytesMut::with_capacity(frame.len());
    for piece in frame.pieces() {
        buf.extend_from_slice(piece);
    }
    Ok(buf)
}

/// Encodes a response frame (with its 4-byte size prefix) for a vectored write: Fetch record
/// sets of [`SPLICE_MIN_BYTES`] or more are referenced, not copied. Those bytes were just read
/// from the log; copying them once more into a multi-megabyte encode buffer (grown by doubling,
/// on fresh pages) was most of the broker's CPU per fetched byte.
pub fn encode_response_pieces(
    api_version: i16,
    correlation_id: i32,
    response: &ResponseKind,
) -> anyhow::Result<ResponseFrame> {
    let mut spliceable = Vec::new();
    if let ResponseKind::Fetch(fetch) = response {
        for topic in &fetch.responses {
            for partition in &topic.partitions {
                if let Some(records) = &partition.records {
                    if records.len() >= SPLICE_MIN_BYTES {
                        spliceable.push(records.clone());
                    }
                }
            }
        }
    }
    let header_version = response.header_version(api_version);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    let mut buf = SpliceBuf {
        inline: BytesMut::with_capacity(INLINE_INITIAL_BYTES),
        splices: Vec::new(),
        spliced_bytes: 0,
        spliceable,
        next: 0,
    };
    buf.put_i32(0);
    header.encode(&mut buf, header_version)?;
    match response {
        ResponseKind::Fetch(fetch) => fetch.encode(&mut buf, api_version)?,
        // Nothing to splice: encode straight into the inline buffer.
        other => other.encode(&mut buf.inline, api_version)?,
    }
    let len = i32::try_from(buf.offset() - 4)?;
    buf.inline[0..4].copy_from_slice(&len.to_be_bytes());
    Ok(ResponseFrame { inline: buf.inline.freeze(), splices: buf.splices })
}

/// An encoded response: `inline` bytes with `splices` inserted at their inline offsets.
#[derive(Debug)]
pub struct ResponseFrame {
    inline: Bytes,
    /// (offset in `inline`, bytes inserted there), in increasing offset order.
    splices: Vec<(usize, Bytes)>,
}

impl ResponseFrame {
    /// Total frame length in bytes, size prefix included.
    pub fn len(&self) -> usize {
        self.inline.len() + self.splices.iter().map(|(_, b)| b.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame's bytes in order, as contiguous pieces (none empty).
    pub fn pieces(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut at = 0;
        let mut out = Vec::with_capacity(2 * self.splices.len() + 1);
        for (offset, bytes) in &self.splices {
            out.push(&self.inline[at..*offset]);
            out.push(&bytes[..]);
            at = *offset;
        }
        out.push(&self.inline[at..]);
        out.into_iter().filter(|p| !p.is_empty())
    }

    /// Writes the whole frame with as few `writev` calls as the socket allows.
    pub async fn write_to<W: tokio::io::AsyncWrite + Unpin>(&self, w: &mut W) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        /// Stays below Linux's IOV_MAX (1024): a Fetch over many partitions has two pieces per
        /// spliced record set.
        const MAX_IOVECS_PER_WRITE: usize = 256;
        let pieces: Vec<&[u8]> = self.pieces().collect();
        let mut index = 0;
        // Bytes of pieces[index] already written.
        let mut done = 0;
        while index < pieces.len() {
            let end = (index + MAX_IOVECS_PER_WRITE).min(pieces.len());
            let mut slices = Vec::with_capacity(end - index);
            slices.push(IoSlice::new(&pieces[index][done..]));
            slices.extend(pieces[index + 1..end].iter().map(|p| IoSlice::new(p)));
            let mut n = w.write_vectored(&slices).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            while n > 0 {
                let left = pieces[index].len() - done;
                if n >= left {
                    n -= left;
                    index += 1;
                    done = 0;
                } else {
                    done += n;
                    n = 0;
                }
            }
        }
        Ok(())
    }
}

/// The encode target behind [`encode_response_pieces`]. `kafka-protocol` writes a bytes field
/// with one `put_slice` of the field's own buffer, so a `put_slice` whose memory *is* one of the
/// response's record sets (same address and length; hence same content) is recorded as a splice
/// instead of copied. Anything else goes to `inline`. Positions seen by the encoder (`offset`,
/// `seek`, `range`) are logical frame positions; should the encoder ever revisit bytes behind a
/// splice (it does not for responses today), the splices are copied in first, so the result is
/// always the plain encoding.
struct SpliceBuf {
    inline: BytesMut,
    splices: Vec<(usize, Bytes)>,
    spliced_bytes: usize,
    /// Record sets that may be spliced, in encoding order.
    spliceable: Vec<Bytes>,
    /// Where in `spliceable` the next record set is expected.
    next: usize,
}

impl SpliceBuf {
    fn find_spliceable(&mut self, src: &[u8]) -> Option<Bytes> {
        if src.len() < SPLICE_MIN_BYTES {
            return None;
        }
        let same = |b: &Bytes| b.as_ptr() == src.as_ptr() && b.len() == src.len();
        let found = if self.spliceable.get(self.next).is_some_and(same) {
            Some(self.next)
        } else {
            self.spliceable.iter().position(same)
        }?;
        self.next = found + 1;
        Some(self.spliceable[found].clone())
    }

    /// Copies every splice into `inline`, after which logical and inline positions agree.
    fn materialize(&mut self) {
        if self.splices.is_empty() {
            return;
        }
        let mut flat = BytesMut::with_capacity(self.inline.len() + self.spliced_bytes);
        let mut at = 0;
        for (offset, bytes) in self.splices.drain(..) {
            flat.extend_from_slice(&self.inline[at..offset]);
            flat.extend_from_slice(&bytes);
            at = offset;
        }
        flat.extend_from_slice(&self.inline[at..]);
        self.inline = flat;
        self.spliced_bytes = 0;
    }

    /// Logical position where the inline tail (after the last splice) starts.
    fn tail_start(&self) -> usize {
        self.splices.last().map_or(0, |(offset, _)| offset + self.spliced_bytes)
    }
}

// SAFETY: every method delegates to `inline`, a `BytesMut`, except `put_slice`, which only
// appends through `BytesMut`'s safe API.
unsafe impl BufMut for SpliceBuf {
    fn remaining_mut(&self) -> usize {
        self.inline.remaining_mut()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: forwarded unchanged; the caller's contract is `BytesMut`'s.
        unsafe { self.inline.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.inline.chunk_mut()
    }

    fn put_slice(&mut self, src: &[u8]) {
        match self.find_spliceable(src) {
            Some(bytes) => {
                self.spliced_bytes += bytes.len();
                self.splices.push((self.inline.len(), bytes));
            }
            None => self.inline.extend_from_slice(src),
        }
    }
}

impl ByteBufMut for SpliceBuf {
    fn offset(&self) -> usize {
        self.inline.len() + self.spliced_bytes
    }

    fn seek(&mut self, offset: usize) {
        if offset < self.tail_start() {
            self.materialize();
        }
        let inline_offset = offset - self.spliced_bytes;
        self.inline.resize(inline_offset, 0);
    }

    fn range(&mut self, r: Range<usize>) -> &mut [u8] {
        if r.start < self.tail_start() {
            self.materialize();
        }
        let shift = self.spliced_bytes;
        &mut self.inline[r.start - shift..r.end - shift]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_frames_are_errors_not_panics() {
        assert!(matches!(decode_request_frame(Bytes::from_static(b"")), Err(FrameError::TooShort(0))));
        assert!(matches!(
            decode_request_frame(Bytes::from_static(&[0x7f, 0x7f, 0, 0, 0, 0, 0, 1])),
            Err(FrameError::UnknownApiKey(_))
        ));
        // Metadata v1 with a truncated client id.
        assert!(decode_request_frame(Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 1, 0, 50, b'a'])).is_err());
        // ApiVersions v99: KIP-511 fallback.
        assert!(matches!(
            decode_request_frame(Bytes::from_static(&[0, 18, 0, 99, 0, 0, 0, 7, 0, 0])),
            Ok(DecodedFrame::UnsupportedApiVersions { correlation_id: 7, version: 99 })
        ));
        // Produce v0 (below Kafka 4's floor).
        assert!(matches!(
            decode_request_frame(Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0])),
            Err(FrameError::UnsupportedVersion { .. })
        ));
    }

    /// A Fetch response over two topics whose partitions carry record sets above and below the
    /// splice threshold, one of them repeated (same buffer twice), and an empty and a null one.
    fn fetch_response(big: &Bytes, small: &Bytes) -> ResponseKind {
        use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
        use kafka_protocol::messages::{FetchResponse, TopicName};
        let mut resp = FetchResponse::default();
        for (t, records) in [
            [Some(big.clone()), Some(small.clone()), Some(Bytes::new())],
            [Some(big.clone()), None, Some(big.slice(1..))],
        ]
        .into_iter()
        .enumerate()
        {
            let mut topic = FetchableTopicResponse::default();
            topic.topic = TopicName(kafka_protocol::protocol::StrBytes::from_string(format!("t{t}")));
            topic.topic_id = uuid::Uuid::from_u128(t as u128 + 1);
            for (i, r) in records.into_iter().enumerate() {
                let mut pd = PartitionData::default();
                pd.partition_index = i as i32;
                pd.high_watermark = 1000 + i as i64;
                pd.records = r;
                topic.partitions.push(pd);
            }
            resp.responses.push(topic);
        }
        ResponseKind::Fetch(resp)
    }

    fn plain_encoding(version: i16, correlation_id: i32, response: &ResponseKind) -> Vec<u8> {
        let mut body = BytesMut::new();
        let mut header = ResponseHeader::default();
        header.correlation_id = correlation_id;
        header.encode(&mut body, response.header_version(version)).unwrap();
        response.encode(&mut body, version).unwrap();
        let mut out = (body.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn spliced_fetch_responses_are_byte_identical_to_plain_encoding() {
        let big = Bytes::from((0..3 * SPLICE_MIN_BYTES).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        let small = Bytes::from_static(b"under the splice threshold");
        let response = fetch_response(&big, &small);
        let (min, max) = supported_range(ApiKey::Fetch).unwrap();
        for version in min..=max {
            let frame = encode_response_pieces(version, 42, &response).unwrap();
            let plain = plain_encoding(version, 42, &response);
            assert!(frame.splices.len() >= 2, "v{version}: the large record sets are referenced, not copied");
            assert!(frame.inline.len() < SPLICE_MIN_BYTES, "v{version}: only metadata is inline");
            assert_eq!(frame.len(), plain.len(), "v{version}");
            assert_eq!(frame.pieces().collect::<Vec<_>>().concat(), plain, "v{version}");
            assert_eq!(&encode_response_frame(version, 42, &response).unwrap()[..], &plain[..], "v{version}");
        }
    }

    #[test]
    fn revisiting_spliced_bytes_falls_back_to_copying() {
        let big = Bytes::from(vec![7u8; SPLICE_MIN_BYTES]);
        let mut buf = SpliceBuf {
            inline: BytesMut::new(),
            splices: Vec::new(),
            spliced_bytes: 0,
            spliceable: vec![big.clone()],
            next: 0,
        };
        buf.put_slice(b"ab");
        buf.put_slice(&big);
        buf.put_slice(b"cd");
        assert_eq!((buf.splices.len(), buf.offset()), (1, big.len() + 4));
        // Inside the tail: no copy needed.
        buf.range(big.len() + 2..big.len() + 3)[0] = b'C';
        assert_eq!(buf.splices.len(), 1);
        // Reaching back into the record set: copied in, positions unchanged.
        buf.range(1..3).copy_from_slice(b"BX");
        assert!(buf.splices.is_empty());
        let mut expected = b"aB".to_vec();
        expected.push(b'X');
        expected.extend_from_slice(&big[1..]);
        expected.extend_from_slice(b"Cd");
        assert_eq!(&buf.inline[..], &expected[..]);
        buf.seek(3);
        assert_eq!(&buf.inline[..], b"aBX");
    }

    #[tokio::test]
    async fn partial_writes_deliver_the_whole_frame() {
        use tokio::io::AsyncReadExt;
        let big = Bytes::from((0..5 * SPLICE_MIN_BYTES).map(|i| (i % 13) as u8).collect::<Vec<u8>>());
        let response = fetch_response(&big, &Bytes::from_static(b"x"));
        let frame = encode_response_pieces(16, 7, &response).unwrap();
        let plain = plain_encoding(16, 7, &response);
        // A 100-byte pipe forces writes that stop inside pieces and between them.
        let (mut tx, mut rx) = tokio::io::duplex(100);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            rx.read_to_end(&mut got).await.unwrap();
            got
        });
        frame.write_to(&mut tx).await.unwrap();
        drop(tx);
        assert_eq!(reader.await.unwrap(), plain);
    }
}
