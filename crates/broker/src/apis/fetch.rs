//! Fetch (key 1): whole batches up to the high watermark, long-polling on `max_wait_ms` /
//! `min_bytes` woken by appends (each parked fetch registers a `Notify` with its partitions; one
//! timer for `max_wait_ms`, no polling loop), `max_bytes` and `partition_max_bytes` honoured
//! except that the first partition with data always returns at least one whole batch. Unlike
//! Kafka, which sends `partition_max_bytes` of file bytes (and so usually a truncated trailing
//! batch the client discards), only whole batches go out. Record sets are read into a
//! per-connection buffer reused between fetches, and written to the socket from it without
//! another copy (`server::frame::encode_response_pieces`).
//!
//! Fetch sessions (KIP-227) are refused correctly rather than implemented: every response has
//! `session_id` 0, so clients keep sending full fetches; an incremental request (non-zero session
//! or epoch > 0) gets FETCH_SESSION_ID_NOT_FOUND. Topic ids are used from v13.
//!
//! Isolation (KIP-98): `read_uncommitted` (0) reads up to the high watermark; `read_committed`
//! (1) up to the last stable offset, so a consumer parks at an open transaction until its marker
//! is replicated, and gets `aborted_transactions` — (producer id, first offset) of every aborted
//! transaction the returned batches overlap — to drop their records. Markers (control batches)
//! go out like any batch; clients skip them. `last_stable_offset` is the LSO at either level,
//! as Kafka reports it.
//!
//! A fetch from a follower (replica id >= 0; v15+ in `replica_state`) reads up to the log end
//! instead of the high watermark and reports the follower's progress to the partition, which
//! advances the high watermark and may propose the follower for the ISR. A follower whose link
//! to this broker is cut (a fault) has its connection closed, as a network partition would.
//! Consumers fetch only from leaders (no KIP-392 follower fetching): a follower replica answers
//! NOT_LEADER_OR_FOLLOWER.

use super::Ctx;
use crate::broker::now_ms;
use crate::codes;
use crate::partition::{Isolation, IsrProposal, Partition};
use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ProducerId, TopicName};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

/// Most bytes of read buffer reserved per fetch up front, and most a connection keeps between
/// fetches (see `handle`). Covers librdkafka's default-shaped fetch (1 MiB per partition) over a
/// handful of partitions; bigger fetches still work, with their extra reads allocated per fetch.
const FETCH_BUFFER_RETAIN_MAX_BYTES: usize = 8 * 1024 * 1024;

/// Longest wait honoured (a client asking for more gets this), so a parked fetch is always
/// answered well inside clients' request timeouts (30 s default).
const MAX_WAIT_MS: i32 = 30_000;

struct Wanted {
    topic_index: usize,
    partition: i32,
    fetch_offset: i64,
    partition_max_bytes: i32,
    /// v9+: the leader epoch the client believes in (-1: none), checked as Kafka does.
    current_leader_epoch: i32,
    /// `None`: unknown topic (UNKNOWN_TOPIC_OR_PARTITION / UNKNOWN_TOPIC_ID).
    part: Option<Arc<Partition>>,
    unknown_code: i16,
    /// A follower fetch of a replica this leader throttles (`leader.replication.throttled.*`).
    throttled: bool,
}

/// What a read needs when a follower fetches: who, where ISR proposals go, the leader throttle.
struct ReplicaRead<'a> {
    follower: Option<Follower>,
    proposals: &'a mut Vec<(Arc<Partition>, IsrProposal)>,
    throttle: &'a crate::replica::throttle::Throttle,
}

/// A fetching follower: its broker id and whether the controller has it unfenced.
#[derive(Clone, Copy)]
struct Follower {
    id: i32,
    live: bool,
}

/// Answers a fetch; `None` closes the connection (a follower whose link is cut).
pub(crate) async fn handle(ctx: &Ctx, version: i16, req: FetchRequest) -> Option<FetchResponse> {
    let b = &ctx.broker;
    let mut resp = FetchResponse::default();
    let replica_id = if version >= 15 { req.replica_state.replica_id.0 } else { req.replica_id.0 };
    let follower = (replica_id >= 0).then(|| Follower { id: replica_id, live: b.image().is_live(replica_id) });
    if let Some(f) = follower {
        if !b.faults.reachable(b.config.node_id, f.id) {
            return None;
        }
    }
    if version >= 7 && (req.session_epoch > 0 || (req.session_id != 0 && req.session_epoch != -1)) {
        resp.error_code = codes::FETCH_SESSION_ID_NOT_FOUND;
        return Some(resp);
    }
    // Topics in request order; (name, id) as the response must echo them.
    let mut topics: Vec<(TopicName, Uuid)> = Vec::new();
    let mut wanted: Vec<Wanted> = Vec::new();
    for t in &req.topics {
        let (name, id, tp, unknown) = if version >= 13 {
            match b.image().topic_by_id(t.topic_id).map(|t| t.name.clone()) {
                Some(n) => {
                    let tp = b.topic(&n);
                    (n, t.topic_id, tp, codes::NOT_LEADER_OR_FOLLOWER)
                }
                None => (String::new(), t.topic_id, None, codes::UNKNOWN_TOPIC_ID),
            }
        } else {
            let n = t.topic.to_string();
            let tp = b.topic(&n);
            let id = tp.as_ref().map(|x| x.id).unwrap_or_default();
            (n, id, tp, codes::UNKNOWN_TOPIC_OR_PARTITION)
        };
        topics.push((t.topic.clone(), id));
        for p in &t.partitions {
            let part = tp.as_ref().and_then(|tp| tp.get(p.partition).cloned());
            let unknown_code =
                if part.is_none() && !name.is_empty() { b.missing_partition_code(&name, p.partition) } else { unknown };
            let throttled =
                follower.is_some() && tp.as_ref().is_some_and(|tp| tp.leader_throttled.contains(p.partition));
            wanted.push(Wanted {
                topic_index: topics.len() - 1,
                partition: p.partition,
                fetch_offset: p.fetch_offset,
                partition_max_bytes: p.partition_max_bytes,
                current_leader_epoch: if version >= 9 { p.current_leader_epoch } else { -1 },
                part,
                unknown_code,
                throttled,
            });
        }
    }

    let max_wait = Duration::from_millis(req.max_wait_ms.clamp(0, MAX_WAIT_MS) as u64);
    let deadline = tokio::time::Instant::now() + max_wait;
    let min_bytes = req.min_bytes.max(0) as usize;
    let max_bytes = if req.max_bytes <= 0 { i32::MAX as usize } else { req.max_bytes as usize };
    // Record sets are read into one buffer per connection, reused from fetch to fetch: a fresh
    // multi-megabyte allocation per fetch came back as fresh pages from the allocator every time,
    // and faulting them in cost the broker more CPU than reading the bytes.
    let mut buffer = std::mem::take(&mut *ctx.fetch_buffer.lock().unwrap_or_else(|p| p.into_inner()));
    let wanted_bytes = wanted
        .iter()
        .filter(|w| w.part.is_some())
        .map(|w| w.partition_max_bytes.max(0) as usize)
        .fold(0usize, usize::saturating_add);
    let reserve_bytes = wanted_bytes.min(max_bytes).min(FETCH_BUFFER_RETAIN_MAX_BYTES);
    let mut shutdown = b.shutdown.clone();
    let mut permit = None;
    let mut proposals: Vec<(Arc<Partition>, IsrProposal)> = Vec::new();
    let parts = loop {
        // Register before reading so an append between the read and the wait is not missed.
        let notify = Arc::new(Notify::new());
        let may_wait = !max_wait.is_zero() && min_bytes > 0 && !*shutdown.borrow();
        if may_wait && permit.is_none() {
            permit = b.parked_fetches.clone().try_acquire_owned().ok();
        }
        let waiting = may_wait && permit.is_some();
        if waiting {
            for w in &wanted {
                if let Some(p) = &w.part {
                    p.register_waiter(&notify);
                }
            }
        }
        // The previous round's records are dropped by now, so this reclaims the whole buffer.
        buffer.clear();
        buffer.reserve(reserve_bytes);
        let mut replica = ReplicaRead { follower, proposals: &mut proposals, throttle: &b.throttle };
        let (parts, total, errors) =
            read_all(version, Isolation::from_id(req.isolation_level), &wanted, max_bytes, &mut buffer, &mut replica);
        if !waiting || total >= min_bytes || errors || tokio::time::Instant::now() >= deadline {
            break parts;
        }
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep_until(deadline) => {}
            _ = shutdown.changed() => {}
        }
    };
    drop(permit);
    for (part, proposal) in proposals {
        b.propose_isr(part, proposal);
    }
    // A link cut while this fetch waited drops the answer, as a real cut would: otherwise records
    // appended during the long poll still reach a follower that is "isolated".
    if let Some(f) = follower {
        if !b.faults.reachable(b.config.node_id, f.id) {
            return None;
        }
    }

    let mut out: Vec<FetchableTopicResponse> = topics
        .iter()
        .map(|(name, id)| {
            let mut t = FetchableTopicResponse::default();
            if version >= 13 {
                t.topic_id = *id;
            } else {
                t.topic = name.clone();
            }
            t
        })
        .collect();
    let mut bytes_out = 0u64;
    for (w, pd) in wanted.iter().zip(parts) {
        bytes_out += pd.records.as_ref().map(|r| r.len() as u64).unwrap_or(0);
        out[w.topic_index].partitions.push(pd);
    }
    b.stats.bytes_out.fetch_add(bytes_out, Ordering::Relaxed);
    // Kept only while the connection is receiving data, and only after a fetch of bounded size:
    // an idle consumer holds no buffer, and an active one at most the bound (the allocation
    // `buffer` still points into is the one reserved above or one record set's, neither larger).
    if bytes_out > 0 && bytes_out <= FETCH_BUFFER_RETAIN_MAX_BYTES as u64 {
        *ctx.fetch_buffer.lock().unwrap_or_else(|p| p.into_inner()) = buffer;
    }
    resp.responses = out;
    if version >= 12 {
        add_leader_hints(b, version, &mut resp);
    }
    Some(resp)
}

/// KIP-951: NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH answers name the current leader and
/// epoch (v12+) and carry its endpoint (v16+), so consumers move without a metadata round trip.
fn add_leader_hints(b: &crate::broker::BrokerState, version: i16, resp: &mut FetchResponse) {
    use kafka_protocol::messages::fetch_response::{LeaderIdAndEpoch, NodeEndpoint};
    use kafka_protocol::messages::BrokerId;
    let image = b.image();
    let mut endpoints: Vec<NodeEndpoint> = Vec::new();
    for t in &mut resp.responses {
        let topic = if version >= 13 {
            image.topic_by_id(t.topic_id).map(|x| x.name.clone())
        } else {
            Some(t.topic.to_string())
        };
        let Some(topic) = topic else { continue };
        for p in &mut t.partitions {
            if p.error_code != codes::NOT_LEADER_OR_FOLLOWER && p.error_code != codes::FENCED_LEADER_EPOCH {
                continue;
            }
            let Some((leader, epoch, reg)) = b.leader_hint(&topic, p.partition_index) else { continue };
            let mut hint = LeaderIdAndEpoch::default();
            hint.leader_id = BrokerId(leader);
            hint.leader_epoch = epoch;
            p.current_leader = hint;
            if version >= 16 && !endpoints.iter().any(|e| e.node_id.0 == leader) {
                let mut e = NodeEndpoint::default();
                e.node_id = BrokerId(leader);
                e.host = super::s(reg.host);
                e.port = reg.port;
                e.rack = reg.rack.map(super::s);
                endpoints.push(e);
            }
        }
    }
    resp.node_endpoints = endpoints;
}

fn error_data(partition: i32, code: i16) -> PartitionData {
    let mut pd = PartitionData::default();
    pd.partition_index = partition;
    pd.error_code = code;
    pd.high_watermark = -1;
    pd.last_stable_offset = -1;
    pd.log_start_offset = -1;
    pd.records = Some(Bytes::new());
    pd
}

/// Reads every wanted partition once. Returns the partition data, total record bytes, and
/// whether any partition had an error (Kafka answers at once then).
fn read_all(
    version: i16,
    isolation: Isolation,
    wanted: &[Wanted],
    max_bytes: usize,
    buffer: &mut bytes::BytesMut,
    replica: &mut ReplicaRead<'_>,
) -> (Vec<PartitionData>, usize, bool) {
    let (follower, throttle) = (replica.follower, replica.throttle);
    let mut total = 0usize;
    let mut errors = false;
    let mut out = Vec::with_capacity(wanted.len());
    for w in wanted {
        let Some(part) = &w.part else {
            errors = true;
            out.push(error_data(w.partition, w.unknown_code));
            continue;
        };
        let epoch_check = super::list_offsets::check_leader_epoch(w.current_leader_epoch, part.leader_epoch());
        if epoch_check != codes::NONE {
            errors = true;
            out.push(error_data(w.partition, epoch_check));
            continue;
        }
        let remaining = max_bytes.saturating_sub(total);
        let limit = (w.partition_max_bytes.max(0) as usize).min(remaining);
        let result = if limit == 0 && total > 0 {
            // Budget spent: report offsets only, without reading.
            part.offsets().and_then(|o| {
                if w.fetch_offset < o.log_start_offset || w.fetch_offset > o.log_end_offset {
                    return part.read(w.fetch_offset, 1, isolation, buffer); // the range error, worded by the partition
                }
                Ok(crate::partition::FetchRead {
                    records: Bytes::new(),
                    high_watermark: o.high_watermark,
                    last_stable_offset: o.last_stable_offset,
                    log_start_offset: o.log_start_offset,
                    aborted_transactions: (isolation == Isolation::ReadCommitted).then(Vec::new),
                })
            })
        } else if let Some(f) = follower {
            // A throttled replica gets no records while the leader's bucket is empty, but its
            // progress still counts (the fetch offset is its log end).
            let held_back = w.throttled && !throttle.leader_may_send();
            let read_max = if held_back { 0 } else { limit.max(1) };
            part.read_for_follower(f.id, w.fetch_offset, read_max, buffer, f.live, now_ms()).map(|(read, proposal)| {
                if let Some(p) = proposal {
                    replica.proposals.push((part.clone(), p));
                }
                if w.throttled {
                    throttle.leader_sent(read.records.len() as u64);
                }
                read
            })
        } else {
            part.read(w.fetch_offset, limit.max(1), isolation, buffer)
        };
        match result {
            Ok(mut r) => {
                // Only the first partition with data may exceed the limits (one whole batch).
                if total > 0 && r.records.len() > limit {
                    r.records = Bytes::new();
                    r.aborted_transactions = r.aborted_transactions.map(|_| Vec::new());
                }
                total += r.records.len();
                let mut pd = PartitionData::default();
                pd.partition_index = w.partition;
                pd.error_code = codes::NONE;
                pd.high_watermark = r.high_watermark;
                pd.last_stable_offset = r.last_stable_offset;
                if version >= 5 {
                    pd.log_start_offset = r.log_start_offset;
                }
                pd.aborted_transactions = r.aborted_transactions.map(|list| {
                    list.into_iter()
                        .map(|(producer_id, first_offset)| {
                            let mut a = AbortedTransaction::default();
                            a.producer_id = ProducerId(producer_id);
                            a.first_offset = first_offset;
                            a
                        })
                        .collect()
                });
                pd.records = Some(r.records);
                out.push(pd);
            }
            Err(e) => {
                errors = true;
                let mut pd = error_data(w.partition, e.code);
                if e.code == codes::OFFSET_OUT_OF_RANGE {
                    if let Ok(o) = part.offsets() {
                        pd.high_watermark = o.high_watermark;
                        pd.last_stable_offset = o.last_stable_offset;
                        if version >= 5 {
                            pd.log_start_offset = o.log_start_offset;
                        }
                    }
                }
                out.push(pd);
            }
        }
    }
    (out, total, errors)
}
