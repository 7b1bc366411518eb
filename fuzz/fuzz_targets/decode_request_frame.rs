//! Feeds arbitrary bytes through the broker's frame decoding path: the 4-byte size check as the
//! connection does it, then header and body decoding. Any panic or abort is a bug; errors are fine.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

/// Mirrors `socket.request.max.bytes` handling: the connection refuses larger frames up front.
const MAX_FRAME_BYTES: usize = 104_857_600;

fuzz_target!(|data: &[u8]| {
    // Half the inputs are whole frames (size prefix + body), half are bodies alone.
    let body = if data.len() >= 4 && data[0] & 1 == 1 {
        let size = i32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        if size < 0 || size as usize > MAX_FRAME_BYTES {
            return;
        }
        let rest = &data[4..];
        if rest.len() < size as usize {
            return; // truncated: the connection waits, then closes
        }
        &rest[..size as usize]
    } else {
        data
    };
    if let Ok(oxbow_broker::DecodedFrame::Request { header, request }) = oxbow_broker::decode_request_frame(Bytes::copy_from_slice(body)) {
        // A decoded request must re-encode at its own version.
        let mut out = bytes::BytesMut::new();
        let _ = request.encode(&mut out, header.request_api_version);
    }
});
