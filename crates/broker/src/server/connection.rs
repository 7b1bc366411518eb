//! One client connection: read a 4-byte size, then the frame; decode; dispatch; write the
//! response. Requests are processed one at a time per connection, like Kafka's muted channel, so
//! responses go back in request order; pipelined requests simply wait in the socket buffer.
//!
//! Closes the connection (with one log line) on: a size above `socket.request.max.bytes` or
//! negative, an undecodable frame (see `frame`), no complete request within
//! `connections.max.idle.ms`, and at shutdown between requests. Frame buffers grow with the bytes
//! actually received, so a client announcing 100 MiB and sending 10 bytes costs 64 KiB, not 100 MiB.

use super::frame::{decode_request_frame, encode_response_pieces, DecodedFrame};
use crate::apis::{self, Ctx, Reply};
use crate::broker::BrokerState;
use bytes::BytesMut;
use kafka_protocol::messages::ResponseKind;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Frame bytes read per step; the buffer never runs ahead of the data by more than this.
const READ_CHUNK_BYTES: usize = 64 * 1024;

pub(crate) async fn serve(
    state: Arc<BrokerState>,
    mut stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let idle = Duration::from_millis(state.config.connections_max_idle_ms.max(1));
    let max_frame = state.config.socket_request_max_bytes;
    let ctx = Ctx { broker: state.clone(), client_host: format!("/{}", peer.ip()), fetch_buffer: Default::default() };
    tracing::debug!(%peer, "connection opened");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let mut size_buf = [0u8; 4];
        let read = tokio::select! {
            r = tokio::time::timeout(idle, stream.read_exact(&mut size_buf)) => r,
            _ = shutdown.changed() => break,
        };
        match read {
            Err(_) => {
                tracing::info!(%peer, idle_ms = idle.as_millis() as u64, "closing idle connection (connections.max.idle.ms)");
                break;
            }
            Ok(Err(e)) => {
                if e.kind() != std::io::ErrorKind::UnexpectedEof {
                    tracing::debug!(%peer, error = %e, "connection read failed");
                }
                break;
            }
            Ok(Ok(_)) => {}
        }
        let size = i32::from_be_bytes(size_buf);
        if size < 0 || size as usize > max_frame {
            tracing::warn!(%peer, size, max = max_frame, "closing connection: request size is negative or above socket.request.max.bytes");
            break;
        }
        let size = size as usize;
        let mut frame = BytesMut::with_capacity(size.min(READ_CHUNK_BYTES));
        let body = tokio::time::timeout(idle, async {
            while frame.len() < size {
                let want = (size - frame.len()).min(READ_CHUNK_BYTES);
                frame.reserve(want);
                let mut limited = (&mut stream).take(want as u64);
                let n = limited.read_buf(&mut frame).await?;
                if n == 0 {
                    return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed mid-frame"));
                }
            }
            Ok::<_, std::io::Error>(())
        })
        .await;
        match body {
            Err(_) => {
                tracing::warn!(%peer, size, got = frame.len(), "closing connection: frame not completed within connections.max.idle.ms");
                break;
            }
            Ok(Err(e)) => {
                tracing::info!(%peer, size, got = frame.len(), error = %e, "closing connection: truncated frame");
                break;
            }
            Ok(Ok(())) => {}
        }
        debug_assert_eq!(frame.len(), size);
        let (reply, version, correlation_id) = match decode_request_frame(frame.freeze()) {
            Err(e) => {
                tracing::warn!(%peer, "closing connection: {e}");
                break;
            }
            Ok(DecodedFrame::UnsupportedApiVersions { correlation_id, version }) => {
                tracing::debug!(%peer, version, "ApiVersions version unsupported; answering with the KIP-511 v0 fallback");
                (
                    Reply::Send(ResponseKind::ApiVersions(apis::api_versions::unsupported_version_response())),
                    0,
                    correlation_id,
                )
            }
            Ok(DecodedFrame::Request { header, request }) => {
                // A paused broker (a fault the user injected) holds every request unanswered.
                state.faults.wait_running().await;
                state.stats.requests.fetch_add(1, Ordering::Relaxed);
                let v = header.request_api_version;
                let c = header.correlation_id;
                tracing::trace!(%peer, api = header.request_api_key, version = v, correlation_id = c, "request");
                (apis::dispatch(&ctx, &header, request).await, v, c)
            }
        };
        match reply {
            Reply::Nothing => continue,
            Reply::Close => break,
            Reply::Send(resp) => {
                let frame = match encode_response_pieces(version, correlation_id, &resp) {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::error!(%peer, version, error = %e, "cannot encode response; closing connection");
                        break;
                    }
                };
                // The response (and with it the fetched record sets the frame points into) is
                // released once written.
                drop(resp);
                if let Err(e) = frame.write_to(&mut stream).await {
                    tracing::debug!(%peer, error = %e, "connection write failed");
                    break;
                }
            }
        }
    }
    let _ = stream.shutdown().await;
    tracing::debug!(%peer, "connection closed");
}
