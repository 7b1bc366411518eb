//! A broker's own Kafka-protocol connection to another broker: what replica fetchers use to send
//! Fetch and OffsetsForLeaderEpoch to a partition leader, over loopback TCP like any client.
//!
//! One request at a time per connection (a fetcher waits for each answer anyway), a bound on the
//! response frame, and a deadline on every round trip. It deliberately has no retries, pooling or
//! metadata: the fetcher decides what a failure means.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response frame read: a fetch response is bounded by the request's `max_bytes`
/// (see the fetcher), plus headers.
pub const RESPONSE_FRAME_BYTES_MAX: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("cannot connect to {addr}: {source}")]
    Connect { addr: SocketAddr, source: std::io::Error },
    #[error("{api:?} to {addr}: {reason}")]
    Request { api: ApiKey, addr: SocketAddr, reason: String },
    #[error("{api:?} to {addr} timed out after {timeout_ms} ms")]
    Timeout { api: ApiKey, addr: SocketAddr, timeout_ms: u64 },
}

pub struct BrokerConn {
    stream: TcpStream,
    addr: SocketAddr,
    client_id: StrBytes,
    next_correlation_id: i32,
}

impl BrokerConn {
    pub async fn connect(addr: SocketAddr, client_id: String, timeout: Duration) -> Result<BrokerConn, ConnError> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => return Err(ConnError::Connect { addr, source }),
            Err(_) => {
                return Err(ConnError::Connect {
                    addr,
                    source: std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"),
                })
            }
        };
        let _ = stream.set_nodelay(true);
        Ok(BrokerConn { stream, addr, client_id: StrBytes::from_string(client_id), next_correlation_id: 0 })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `request` as `api` v`version` and decodes the response, all within `timeout`.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, ConnError> {
        let addr = self.addr;
        match tokio::time::timeout(timeout, self.round_trip(api, version, request)).await {
            Ok(r) => r,
            Err(_) => Err(ConnError::Timeout { api, addr, timeout_ms: timeout.as_millis() as u64 }),
        }
    }

    async fn round_trip<Req: Encodable, Resp: Decodable>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, ConnError> {
        let addr = self.addr;
        let fail = |reason: String| ConnError::Request { api, addr, reason };
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let mut header = RequestHeader::default();
        header.request_api_key = api as i16;
        header.request_api_version = version;
        header.correlation_id = correlation_id;
        header.client_id = Some(self.client_id.clone());
        let mut frame = BytesMut::with_capacity(256);
        frame.put_i32(0);
        header
            .encode(&mut frame, api.request_header_version(version))
            .and_then(|()| request.encode(&mut frame, version))
            .map_err(|e| fail(format!("cannot encode: {e}")))?;
        let size = i32::try_from(frame.len() - 4).map_err(|_| fail("request too large".into()))?;
        frame[..4].copy_from_slice(&size.to_be_bytes());
        self.stream.write_all(&frame).await.map_err(|e| fail(e.to_string()))?;
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).await.map_err(|e| fail(e.to_string()))?;
        let size = i32::from_be_bytes(size);
        let size = usize::try_from(size)
            .ok()
            .filter(|s| *s <= RESPONSE_FRAME_BYTES_MAX)
            .ok_or_else(|| fail(format!("response frame of {size} bytes (at most {RESPONSE_FRAME_BYTES_MAX})")))?;
        let mut body = vec![0u8; size];
        self.stream.read_exact(&mut body).await.map_err(|e| fail(e.to_string()))?;
        let mut body = Bytes::from(body);
        let h = ResponseHeader::decode(&mut body, api.response_header_version(version))
            .map_err(|e| fail(format!("bad response header: {e}")))?;
        if h.correlation_id != correlation_id {
            return Err(fail(format!("correlation id {} answers request {correlation_id}", h.correlation_id)));
        }
        Resp::decode(&mut body, version).map_err(|e| fail(format!("bad response: {e}")))
    }
}
