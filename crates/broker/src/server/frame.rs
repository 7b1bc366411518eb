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
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{decode_request_header_from_buffer, Encodable};

/// A decoded frame.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum DecodedFrame {
    Request { header: RequestHeader, request: RequestKind },
    /// KIP-511: ApiVersions at an unknown version; answer with the v0 fallback.
    UnsupportedApiVersions { correlation_id: i32, version: i16 },
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
        let request = RequestKind::decode(key, &mut buf, version).map_err(|e| FrameError::Body { key, version, reason: e.to_string() })?;
        Ok(DecodedFrame::Request { header, request })
    });
    match result {
        Ok(r) => r,
        Err(_) => Err(FrameError::Body { key, version, reason: "decoder panicked".into() }),
    }
}

/// Encodes a response frame including its 4-byte size prefix.
pub fn encode_response_frame(api_version: i16, correlation_id: i32, response: &ResponseKind) -> anyhow::Result<BytesMut> {
    let header_version = response.header_version(api_version);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    header.encode(&mut buf, header_version)?;
    response.encode(&mut buf, api_version)?;
    let len = i32::try_from(buf.len() - 4)?;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_frames_are_errors_not_panics() {
        assert!(matches!(decode_request_frame(Bytes::from_static(b"")), Err(FrameError::TooShort(0))));
        assert!(matches!(decode_request_frame(Bytes::from_static(&[0x7f, 0x7f, 0, 0, 0, 0, 0, 1])), Err(FrameError::UnknownApiKey(_))));
        // Metadata v1 with a truncated client id.
        assert!(decode_request_frame(Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 1, 0, 50, b'a'])).is_err());
        // ApiVersions v99: KIP-511 fallback.
        assert!(matches!(
            decode_request_frame(Bytes::from_static(&[0, 18, 0, 99, 0, 0, 0, 7, 0, 0])),
            Ok(DecodedFrame::UnsupportedApiVersions { correlation_id: 7, version: 99 })
        ));
        // Produce v0 (below Kafka 4's floor).
        assert!(matches!(decode_request_frame(Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0])), Err(FrameError::UnsupportedVersion { .. })));
    }
}
