//! `GET /api/ws?token=`: live data over one WebSocket per UI.
//!
//! Client → server (JSON text): `{"type":"tail","topic":…,"partitions":[…]|null,"key_decoder":…,
//! "value_decoder":…,"filter":…,"filter_in":…}`, `{"type":"metrics"}`, `{"type":"offsets","topic":…}`,
//! `{"type":"stop","id":…}`. Each subscription is answered `{"type":"subscribed","id":N,"kind":…}`
//! (or an `error` without `id`), in request order; a client-chosen `"id"` in a subscription request
//! comes back as `"client_id"` in that reply.
//! Server → client: `{"type":"rows","id":N,"rows":[…],"dropped":n}` every tick (100 ms) that has
//! rows or drops; `{"type":"metrics","id":N,"metrics":{…}}` and `{"type":"offsets","id":N,"topic":…,
//! "partitions":[…]}` every second; `{"type":"error","id":N|null,"message":…,"error_code":…}`.
//!
//! Memory per client is bounded: tail threads offer rows to one channel of
//! [`BUFFERED_ROWS_MAX`] rows with `try_send` and count what does not fit (reported as `dropped`);
//! at most [`OUTBOUND_MESSAGES_MAX`] encoded messages wait for the socket; a socket that does not
//! take a message within [`SEND_TIMEOUT_MS`] is closed.

use super::AppState;
use crate::commands::{TailEvent, TailHandle, TailRequest};
use crate::decode::Decoder;
use crate::model::{FilterIn, MessageRow};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Rows buffered per client between the tail threads and the socket; beyond it rows are dropped
/// and counted. 5,000 rows of small records is a few MB.
pub const BUFFERED_ROWS_MAX: usize = 5_000;
/// Rows in one `rows` message (keeps single frames moderate).
pub const ROWS_PER_MESSAGE_MAX: usize = 1_000;
/// Encoded messages waiting for the socket (each at most [`ROWS_PER_MESSAGE_MAX`] rows); when full,
/// rows stay in (and overflow) the row buffer.
pub const OUTBOUND_MESSAGES_MAX: usize = 8;
/// A socket that does not accept one message within this is slow or dead, and is closed.
pub const SEND_TIMEOUT_MS: u64 = 5_000;
/// Rows are flushed to the client at this tick.
pub const TICK_MS: u64 = 100;
/// Metrics and offsets subscriptions push at this interval.
pub const PUSH_INTERVAL_MS: u64 = 1_000;
/// Subscriptions one socket may hold at once.
pub const SUBSCRIPTIONS_MAX: usize = 16;
/// Largest client message, in bytes.
pub const CLIENT_MESSAGE_BYTES_MAX: usize = 64 * 1024;
/// A ping goes out this often, so a dead peer is noticed by a failing send.
pub const PING_INTERVAL_MS: u64 = 20_000;

/// The server's shutdown signal, handed to sockets so they close when the studio stops.
#[derive(Clone)]
pub struct Shutdown(pub tokio::sync::watch::Receiver<bool>);

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ClientMessage {
    Tail {
        topic: String,
        #[serde(default)]
        partitions: Option<Vec<i32>>,
        #[serde(default)]
        key_decoder: Option<String>,
        #[serde(default)]
        value_decoder: Option<String>,
        #[serde(default)]
        filter: Option<String>,
        #[serde(default)]
        filter_in: Option<FilterIn>,
    },
    Metrics,
    Offsets {
        topic: String,
    },
    Stop {
        id: u64,
    },
}

enum Subscription {
    Tail { _handle: TailHandle, dropped: Arc<AtomicU64> },
    Metrics,
    Offsets { topic: String },
}

pub async fn upgrade(
    State(state): State<AppState>,
    axum::Extension(shutdown): axum::Extension<Shutdown>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .max_message_size(CLIENT_MESSAGE_BYTES_MAX)
        .on_upgrade(move |socket| async move { session(state, socket, shutdown.0).await })
}

fn error_message(id: Option<u64>, error: &crate::error::Error) -> String {
    let (_, code) = error.status_and_code();
    serde_json::json!({"type": "error", "id": id, "message": error.to_string(), "error_code": code, "kafka_error": error.kafka_error()}).to_string()
}

async fn session(state: AppState, socket: WebSocket, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let (mut sink, mut stream) = socket.split();
    let (outbound, mut outbound_rx) = mpsc::channel::<Message>(OUTBOUND_MESSAGES_MAX);
    // The writer: one message at a time, each bounded by the send timeout.
    let writer = tokio::spawn(async move {
        while let Some(message) = outbound_rx.recv().await {
            match tokio::time::timeout(Duration::from_millis(SEND_TIMEOUT_MS), sink.send(message)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => break,
            }
        }
        let _ = tokio::time::timeout(Duration::from_millis(500), sink.close()).await;
    });
    let (rows_tx, mut rows_rx) = mpsc::channel::<(u64, TailEvent)>(BUFFERED_ROWS_MAX);
    let mut subscriptions: HashMap<u64, Subscription> = HashMap::new();
    let mut next_id: u64 = 1;
    let mut tick = tokio::time::interval(Duration::from_millis(TICK_MS));
    let mut push = tokio::time::interval(Duration::from_millis(PUSH_INTERVAL_MS));
    let mut ping = tokio::time::interval(Duration::from_millis(PING_INTERVAL_MS));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    push.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            incoming = stream.next() => {
                let text = match incoming {
                    None | Some(Err(_)) => break,
                    Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(_)) => continue,
                };
                let reply = handle(&state, &text, &mut subscriptions, &mut next_id, &rows_tx).await;
                if let Some(reply) = reply {
                    if outbound.send(Message::Text(reply.into())).await.is_err() {
                        break;
                    }
                }
            }
            _ = tick.tick() => {
                if !flush_rows(&mut rows_rx, &subscriptions, &outbound) {
                    break;
                }
            }
            _ = push.tick() => {
                for (id, subscription) in &subscriptions {
                    let message = match subscription {
                        Subscription::Metrics => {
                            serde_json::json!({"type": "metrics", "id": id, "metrics": state.studio.metrics()}).to_string()
                        }
                        Subscription::Offsets { topic } => match state.studio.partition_offsets(topic).await {
                            Ok(partitions) => serde_json::json!({"type": "offsets", "id": id, "topic": topic, "partitions": partitions}).to_string(),
                            Err(error) => error_message(Some(*id), &error),
                        },
                        Subscription::Tail { .. } => continue,
                    };
                    // Periodic pushes are skipped, not queued, when the socket is behind.
                    if let Err(mpsc::error::TrySendError::Closed(_)) = outbound.try_send(Message::Text(message.into())) {
                        break;
                    }
                }
                if outbound.is_closed() {
                    break;
                }
            }
            _ = ping.tick() => {
                if let Err(mpsc::error::TrySendError::Closed(_)) = outbound.try_send(Message::Ping(Vec::new().into())) {
                    break;
                }
            }
        }
    }
    // Dropping the subscriptions stops their tail threads.
    subscriptions.clear();
    drop(outbound);
    let _ = writer.await;
}

/// Sends buffered rows grouped by subscription, in messages of at most [`ROWS_PER_MESSAGE_MAX`]
/// rows, for as long as the socket keeps up (outbound has room); each subscription's drop count
/// since its last report rides on its next message. False when the socket is gone.
fn flush_rows(
    rows_rx: &mut mpsc::Receiver<(u64, TailEvent)>,
    subscriptions: &HashMap<u64, Subscription>,
    outbound: &mpsc::Sender<Message>,
) -> bool {
    // One tick moves at most the whole buffer, so a tick always ends.
    let mut budget = BUFFERED_ROWS_MAX;
    let mut first_round = true;
    loop {
        if outbound.capacity() == 0 {
            // The socket is behind: rows stay in the bounded buffer (overflow is counted as dropped).
            return !outbound.is_closed();
        }
        let mut batch: HashMap<u64, Vec<MessageRow>> = HashMap::new();
        let mut taken = 0;
        while taken < ROWS_PER_MESSAGE_MAX && budget > 0 {
            match rows_rx.try_recv() {
                Ok((id, TailEvent::Row(row))) => {
                    budget -= 1;
                    if subscriptions.contains_key(&id) {
                        batch.entry(id).or_default().push(*row);
                        taken += 1;
                    }
                }
                Ok((id, TailEvent::Failed(message))) => {
                    let text = serde_json::json!({"type": "error", "id": id, "message": message}).to_string();
                    let _ = outbound.try_send(Message::Text(text.into()));
                }
                Err(_) => break,
            }
        }
        if first_round {
            // Report drops even when no rows came this tick.
            for (id, subscription) in subscriptions {
                if let Subscription::Tail { dropped, .. } = subscription {
                    if dropped.load(Ordering::Relaxed) > 0 {
                        batch.entry(*id).or_default();
                    }
                }
            }
            first_round = false;
        }
        if batch.is_empty() {
            return true;
        }
        for (id, rows) in batch {
            let Some(Subscription::Tail { dropped, .. }) = subscriptions.get(&id) else {
                continue;
            };
            let n = dropped.swap(0, Ordering::Relaxed);
            let count = rows.len() as u64;
            let text = serde_json::json!({"type": "rows", "id": id, "rows": rows, "dropped": n}).to_string();
            match outbound.try_send(Message::Text(text.into())) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Not sent after all: count these rows (and the earlier drops) for the next report.
                    dropped.fetch_add(n + count, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        if taken < ROWS_PER_MESSAGE_MAX || budget == 0 {
            return true;
        }
    }
}

async fn handle(
    state: &AppState,
    text: &str,
    subscriptions: &mut HashMap<u64, Subscription>,
    next_id: &mut u64,
    rows_tx: &mpsc::Sender<(u64, TailEvent)>,
) -> Option<String> {
    use crate::error::Error;
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            return Some(error_message(None, &Error::bad_input("message", format!("not valid JSON: {error}"))))
        }
    };
    // A subscription request may carry the client's own `id`; replies echo it as `client_id`.
    let client_id = match value.get("type").and_then(|t| t.as_str()) {
        Some("stop") => None,
        _ => value.get("id").cloned(),
    };
    let with_client_id = |reply: String| -> String {
        match (&client_id, serde_json::from_str::<serde_json::Value>(&reply)) {
            (Some(client_id), Ok(serde_json::Value::Object(mut object))) => {
                object.insert("client_id".into(), client_id.clone());
                serde_json::Value::Object(object).to_string()
            }
            _ => reply,
        }
    };
    let message: ClientMessage = match serde_json::from_value(value) {
        Ok(message) => message,
        Err(error) => {
            let error = Error::bad_input("message", format!("not a valid client message: {error}"));
            return Some(with_client_id(error_message(None, &error)));
        }
    };
    handle_message(state, message, subscriptions, next_id, rows_tx).await.map(with_client_id)
}

async fn handle_message(
    state: &AppState,
    message: ClientMessage,
    subscriptions: &mut HashMap<u64, Subscription>,
    next_id: &mut u64,
    rows_tx: &mpsc::Sender<(u64, TailEvent)>,
) -> Option<String> {
    use crate::error::Error;
    if !matches!(message, ClientMessage::Stop { .. }) && subscriptions.len() >= SUBSCRIPTIONS_MAX {
        return Some(error_message(
            None,
            &Error::bad_input(
                "type",
                format!("at most {SUBSCRIPTIONS_MAX} subscriptions per connection; stop one first"),
            ),
        ));
    }
    let id = *next_id;
    match message {
        ClientMessage::Stop { id } => {
            return match subscriptions.remove(&id) {
                Some(_) => Some(serde_json::json!({"type": "stopped", "id": id}).to_string()),
                None => Some(error_message(Some(id), &Error::NotFound(format!("no subscription {id}")))),
            };
        }
        ClientMessage::Metrics => {
            subscriptions.insert(id, Subscription::Metrics);
        }
        ClientMessage::Offsets { topic } => {
            if let Err(error) = crate::commands::validate_topic_name("topic", &topic) {
                return Some(error_message(None, &error));
            }
            subscriptions.insert(id, Subscription::Offsets { topic });
        }
        ClientMessage::Tail { topic, partitions, key_decoder, value_decoder, filter, filter_in } => {
            let decoders = (
                Decoder::parse("key_decoder", key_decoder.as_deref().unwrap_or("string")),
                Decoder::parse("value_decoder", value_decoder.as_deref().unwrap_or("string")),
            );
            let (key_decoder, value_decoder) = match decoders {
                (Ok(k), Ok(v)) => (k, v),
                (Err(error), _) | (_, Err(error)) => return Some(error_message(None, &error)),
            };
            let request = TailRequest {
                topic,
                partitions,
                key_decoder,
                value_decoder,
                filter,
                filter_in: filter_in.unwrap_or_default(),
            };
            let dropped = Arc::new(AtomicU64::new(0));
            match state.studio.tail(id, request, rows_tx.clone(), dropped.clone()).await {
                Ok(handle) => {
                    subscriptions.insert(id, Subscription::Tail { _handle: handle, dropped });
                }
                Err(error) => return Some(error_message(None, &error)),
            }
        }
    }
    *next_id += 1;
    let kind = match subscriptions.get(&id) {
        Some(Subscription::Tail { .. }) => "tail",
        Some(Subscription::Metrics) => "metrics",
        Some(Subscription::Offsets { .. }) => "offsets",
        None => "none",
    };
    Some(serde_json::json!({"type": "subscribed", "id": id, "kind": kind}).to_string())
}
