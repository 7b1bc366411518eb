//! The Kafka listener: accepts TCP connections up to `max.connections` (more are refused with a
//! log line and closed at once), and runs one task per connection (see [`connection`]).
//!
//! It does not interpret requests; that is `apis`. It does not do TLS or SASL (not yet).

pub(crate) mod connection;
pub mod frame;

use crate::broker::BrokerState;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// Accepts connections until shutdown. Each connection holds one permit of `conns`.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    state: Arc<BrokerState>,
    conns: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
) {
    let max = state.config.max_connections;
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = shutdown.changed() => break,
        };
        match accepted {
            Ok((stream, peer)) => match conns.clone().try_acquire_owned() {
                Ok(permit) => {
                    state.stats.connections_accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let _ = stream.set_nodelay(true);
                    let st = state.clone();
                    let sd = shutdown.clone();
                    let mut killed = state.killed.clone();
                    tokio::spawn(async move {
                        // A killed broker drops its connections mid-request, as a dead process would.
                        tokio::select! {
                            _ = connection::serve(st, stream, peer, sd) => {}
                            _ = killed.wait_for(|k| *k) => {}
                        }
                        drop(permit);
                    });
                }
                Err(_) => {
                    state.stats.connections_refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(%peer, max_connections = max, "refusing connection: max.connections reached");
                    drop(stream);
                }
            },
            Err(e) => {
                // EMFILE/ENFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed; retrying shortly");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tracing::debug!("listener stopped accepting");
}
