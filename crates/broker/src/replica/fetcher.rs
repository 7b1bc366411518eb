//! Replica fetchers: how a follower copies its partitions from their leaders (Kafka's
//! `ReplicaFetcherThread`).
//!
//! One task per leader broker fetches every partition this broker follows from that leader, with
//! Fetch requests carrying this broker's id as `replica_id`, over an ordinary Kafka connection to
//! the leader's listener. Before fetching a partition in a new leader epoch, the task asks the
//! leader where that epoch's history ends (OffsetsForLeaderEpoch, KIP-101/KIP-279) and truncates
//! any divergent tail, so no follower keeps records its leader does not have.
//!
//! Bounds: one connection and one request in flight per leader; each fetch asks for at most
//! [`FETCH_MAX_BYTES`] (`replica.fetch.response.max.bytes`) and [`PARTITION_FETCH_MAX_BYTES`] per
//! partition (`replica.fetch.max.bytes`); a failing leader is retried after
//! [`RETRY_BACKOFF_MS`] (`replica.fetch.backoff.ms`), a failing partition is set aside for that
//! long. Truncation rounds per partition are bounded by its number of epochs.
//!
//! What it deliberately does not do: decide who leads (the metadata image does; the broker's
//! reconciliation calls [`ReplicaFetchers::follow`] and [`ReplicaFetchers::unfollow`]) or touch
//! the ISR (the leader does).

use super::conn::BrokerConn;
use crate::broker::{now_ms, BrokerState};
use crate::codes;
use crate::partition::Partition;
use bytes::BytesMut;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// `replica.fetch.max.bytes` (Kafka default 1 MiB).
pub const PARTITION_FETCH_MAX_BYTES: i32 = 1024 * 1024;
/// `replica.fetch.response.max.bytes` (Kafka default 10 MiB).
pub const FETCH_MAX_BYTES: i32 = 10 * 1024 * 1024;
/// `replica.fetch.wait.max.ms` (Kafka default 500).
pub const FETCH_WAIT_MAX_MS: i32 = 500;
/// `replica.fetch.backoff.ms` (Kafka default 1000; shorter here so a studio user sees a
/// follower resume promptly after a fault is undone).
pub const RETRY_BACKOFF_MS: u64 = 250;
/// Deadline for a request beyond its own wait.
const REQUEST_TIMEOUT_MS: u64 = 5_000;
/// Versions spoken to leaders: Fetch v12 is the last with `replica_id` in the body and names
/// topics by name; OffsetForLeaderEpoch v4 is the newest.
const FETCH_VERSION: i16 = 12;
const EPOCH_VERSION: i16 = 4;

type Key = (String, i32);

struct Target {
    partition: Arc<Partition>,
    leader_epoch: i32,
    /// Set when the epoch changes: ask the leader before fetching.
    needs_truncation: bool,
    /// Set aside after an error until this instant.
    delayed_until: Option<Instant>,
}

struct Fetcher {
    targets: Arc<Mutex<BTreeMap<Key, Target>>>,
    wake: Arc<Notify>,
    task: JoinHandle<()>,
}

/// Every fetcher of one broker, by leader.
#[derive(Default)]
pub(crate) struct ReplicaFetchers {
    by_leader: Mutex<HashMap<i32, Fetcher>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ReplicaFetchers {
    /// Fetches `partition` from `leader` in `leader_epoch`, truncating first; moves it from any
    /// other leader's fetcher.
    pub fn follow(&self, state: &Arc<BrokerState>, partition: Arc<Partition>, leader: i32, leader_epoch: i32) {
        let key = (partition.topic.clone(), partition.index);
        let mut all = lock(&self.by_leader);
        for (id, f) in all.iter() {
            if *id != leader {
                lock(&f.targets).remove(&key);
            }
        }
        let f = all.entry(leader).or_insert_with(|| {
            let targets = Arc::new(Mutex::new(BTreeMap::new()));
            let wake = Arc::new(Notify::new());
            let task = tokio::spawn(run(state.clone(), leader, targets.clone(), wake.clone()));
            Fetcher { targets, wake, task }
        });
        lock(&f.targets).insert(key, Target { partition, leader_epoch, needs_truncation: true, delayed_until: None });
        f.wake.notify_one();
    }

    /// Stops fetching a partition (it leads now, lost its leader, or is gone).
    pub fn unfollow(&self, topic: &str, index: i32) {
        let key = (topic.to_string(), index);
        for f in lock(&self.by_leader).values() {
            lock(&f.targets).remove(&key);
        }
    }

    /// Partitions followed, by leader (for the observer).
    pub fn following(&self) -> BTreeMap<i32, usize> {
        lock(&self.by_leader).iter().map(|(id, f)| (*id, lock(&f.targets).len())).collect()
    }

    pub fn shutdown(&self) {
        for (_, f) in lock(&self.by_leader).drain() {
            f.task.abort();
        }
    }
}

/// The fetch loop for one leader. Ends only when aborted (shutdown).
async fn run(state: Arc<BrokerState>, leader: i32, targets: Arc<Mutex<BTreeMap<Key, Target>>>, wake: Arc<Notify>) {
    let me = state.config.node_id;
    let mut conn: Option<BrokerConn> = None;
    let backoff = Duration::from_millis(RETRY_BACKOFF_MS);
    let mut shutdown = state.shutdown.clone();
    loop {
        if *shutdown.borrow() {
            return;
        }
        state.faults.wait_running().await;
        let ready: Vec<(Key, Arc<Partition>, i32, bool)> = {
            let now = Instant::now();
            lock(&targets)
                .iter()
                .filter(|(_, t)| t.delayed_until.is_none_or(|d| d <= now))
                .map(|(k, t)| (k.clone(), t.partition.clone(), t.leader_epoch, t.needs_truncation))
                .collect()
        };
        if ready.is_empty() {
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        if !state.faults.reachable(me, leader) {
            conn = None;
            tokio::time::sleep(backoff).await;
            continue;
        }
        if conn.is_none() {
            let Some(addr) = state.broker_address(leader) else {
                tokio::time::sleep(backoff).await;
                continue;
            };
            match BrokerConn::connect(
                addr,
                format!("oxbow-replica-fetcher-{me}"),
                Duration::from_millis(REQUEST_TIMEOUT_MS),
            )
            .await
            {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::debug!(leader, error = %e, "replica fetcher cannot reach the leader");
                    tokio::time::sleep(backoff).await;
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected above");
        let truncating: Vec<_> = ready.iter().filter(|(_, _, _, t)| *t).cloned().collect();
        let result = if !truncating.is_empty() {
            truncate_round(&state, c, &targets, &truncating).await
        } else {
            fetch_round(&state, c, &targets, &ready).await
        };
        if let Err(e) = result {
            tracing::debug!(leader, error = %e, "replica fetch failed; reconnecting");
            conn = None;
            tokio::time::sleep(backoff).await;
        }
    }
}

fn set_aside(targets: &Mutex<BTreeMap<Key, Target>>, key: &Key, epoch: i32) {
    if let Some(t) = lock(targets).get_mut(key) {
        if t.leader_epoch == epoch {
            t.delayed_until = Some(Instant::now() + Duration::from_millis(RETRY_BACKOFF_MS));
        }
    }
}

/// One OffsetsForLeaderEpoch round for the partitions that changed epoch.
async fn truncate_round(
    state: &Arc<BrokerState>,
    conn: &mut BrokerConn,
    targets: &Mutex<BTreeMap<Key, Target>>,
    truncating: &[(Key, Arc<Partition>, i32, bool)],
) -> Result<(), super::conn::ConnError> {
    let mut req = OffsetForLeaderEpochRequest::default();
    req.replica_id = BrokerId(state.config.node_id);
    let mut asked: Vec<(Key, Arc<Partition>, i32, Option<i32>)> = Vec::new();
    let mut by_topic: BTreeMap<String, Vec<OffsetForLeaderPartition>> = BTreeMap::new();
    for (key, part, epoch, _) in truncating {
        let latest = part.with_log(|log| log.latest_epoch()).ok().flatten();
        let Some(latest) = latest else {
            // Nothing written in any epoch: nothing can diverge.
            done_truncating(targets, key, *epoch);
            continue;
        };
        let mut p = OffsetForLeaderPartition::default();
        p.partition = key.1;
        p.current_leader_epoch = *epoch;
        p.leader_epoch = latest;
        by_topic.entry(key.0.clone()).or_default().push(p);
        asked.push((key.clone(), part.clone(), *epoch, Some(latest)));
    }
    if by_topic.is_empty() {
        return Ok(());
    }
    for (topic, partitions) in by_topic {
        let mut t = OffsetForLeaderTopic::default();
        t.topic = TopicName(StrBytes::from_string(topic));
        t.partitions = partitions;
        req.topics.push(t);
    }
    let resp: OffsetForLeaderEpochResponse =
        conn.call(ApiKey::OffsetForLeaderEpoch, EPOCH_VERSION, &req, Duration::from_millis(REQUEST_TIMEOUT_MS)).await?;
    let mut answers: HashMap<Key, (i16, i32, i64)> = HashMap::new();
    for t in resp.topics {
        for p in t.partitions {
            answers.insert((t.topic.to_string(), p.partition), (p.error_code, p.leader_epoch, p.end_offset));
        }
    }
    for (key, part, epoch, _) in asked {
        let Some((code, leader_epoch, end_offset)) = answers.get(&key).copied() else {
            set_aside(targets, &key, epoch);
            continue;
        };
        if code != codes::NONE {
            tracing::debug!(topic = %key.0, partition = key.1, code, "OffsetsForLeaderEpoch refused; retrying after metadata catches up");
            set_aside(targets, &key, epoch);
            continue;
        }
        match truncation_point(&part, leader_epoch, end_offset) {
            Ok((offset, again)) => {
                let now = now_ms();
                let leo = part.offsets().map(|o| o.log_end_offset).unwrap_or(-1);
                if offset < leo {
                    match part.truncate_to(offset, epoch, now) {
                        Ok(removed) => {
                            tracing::info!(topic = %key.0, partition = key.1, from = leo, to = offset, removed, leader_epoch, "truncated a divergent log tail");
                            state.events.record(crate::events::ClusterEvent::Truncated {
                                topic: key.0.clone(),
                                partition: key.1,
                                broker: state.config.node_id,
                                from: leo,
                                to: offset,
                            });
                        }
                        Err(e) => {
                            tracing::warn!(topic = %key.0, partition = key.1, error = %e.message, "truncation failed");
                            set_aside(targets, &key, epoch);
                            continue;
                        }
                    }
                }
                if !again {
                    done_truncating(targets, &key, epoch);
                }
            }
            Err(e) => {
                tracing::warn!(topic = %key.0, partition = key.1, error = %e, "cannot work out where to truncate");
                set_aside(targets, &key, epoch);
            }
        }
    }
    Ok(())
}

fn done_truncating(targets: &Mutex<BTreeMap<Key, Target>>, key: &Key, epoch: i32) {
    if let Some(t) = lock(targets).get_mut(key) {
        if t.leader_epoch == epoch {
            t.needs_truncation = false;
        }
    }
}

/// Where to truncate, given the leader's answer for our latest epoch, and whether to ask again
/// (KIP-279: when we never had the epoch the leader answered with, we cut back to where our
/// history of that epoch ends and ask again with our now-latest epoch).
fn truncation_point(part: &Partition, leader_epoch: i32, leader_end_offset: i64) -> Result<(i64, bool), String> {
    let (leo, hw) = part.offsets().map(|o| (o.log_end_offset, o.high_watermark)).map_err(|e| e.message)?;
    if leader_end_offset < 0 {
        // The leader knows nothing as old as our epoch: keep only what was committed.
        return Ok((hw, false));
    }
    let (our_epoch, our_end) = part.with_log(|log| log.end_offset_for_epoch(leader_epoch)).map_err(|e| e.message)?;
    if our_epoch < 0 || our_end < 0 {
        return Ok((hw.min(leader_end_offset), false));
    }
    let target = leader_end_offset.min(our_end).min(leo);
    Ok((target, our_epoch != leader_epoch))
}

/// One Fetch for every ready partition; appends what comes back.
async fn fetch_round(
    state: &Arc<BrokerState>,
    conn: &mut BrokerConn,
    targets: &Mutex<BTreeMap<Key, Target>>,
    ready: &[(Key, Arc<Partition>, i32, bool)],
) -> Result<(), super::conn::ConnError> {
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(state.config.node_id);
    req.max_wait_ms = FETCH_WAIT_MAX_MS;
    req.min_bytes = 1;
    req.max_bytes = FETCH_MAX_BYTES;
    req.session_id = 0;
    req.session_epoch = -1;
    let mut by_topic: BTreeMap<&str, Vec<FetchPartition>> = BTreeMap::new();
    let mut asked: HashMap<Key, (Arc<Partition>, i32, i64)> = HashMap::new();
    let mut throttled: std::collections::HashSet<Key> = std::collections::HashSet::new();
    let follower_may_fetch = state.throttle.follower_may_fetch();
    for (key, part, epoch, _) in ready {
        let Ok(o) = part.offsets() else { continue };
        if state.topic(&key.0).is_some_and(|tp| tp.follower_throttled.contains(key.1)) {
            // KIP-73 on the follower side: a throttled replica sits out while the bucket is empty.
            if !follower_may_fetch {
                continue;
            }
            throttled.insert(key.clone());
        }
        let mut p = FetchPartition::default();
        p.partition = key.1;
        p.current_leader_epoch = *epoch;
        p.fetch_offset = o.log_end_offset;
        p.log_start_offset = o.log_start_offset;
        p.last_fetched_epoch = -1;
        p.partition_max_bytes = PARTITION_FETCH_MAX_BYTES;
        by_topic.entry(key.0.as_str()).or_default().push(p);
        asked.insert(key.clone(), (part.clone(), *epoch, o.log_end_offset));
    }
    if by_topic.is_empty() {
        // Everything is throttled right now: wait a moment rather than spin.
        tokio::time::sleep(Duration::from_millis(100)).await;
        return Ok(());
    }
    for (topic, partitions) in by_topic {
        let mut t = FetchTopic::default();
        t.topic = TopicName(StrBytes::from_string(topic.to_string()));
        t.partitions = partitions;
        req.topics.push(t);
    }
    let timeout = Duration::from_millis(REQUEST_TIMEOUT_MS + FETCH_WAIT_MAX_MS as u64);
    let resp: FetchResponse = conn.call(ApiKey::Fetch, FETCH_VERSION, &req, timeout).await?;
    if resp.error_code != codes::NONE {
        return Err(super::conn::ConnError::Request {
            api: ApiKey::Fetch,
            addr: conn.addr(),
            reason: format!("error code {}", resp.error_code),
        });
    }
    state.faults.disk_delay().await;
    for t in resp.responses {
        let topic = t.topic.to_string();
        for p in t.partitions {
            let key = (topic.clone(), p.partition_index);
            let Some((part, epoch, fetch_offset)) = asked.get(&key) else { continue };
            match p.error_code {
                codes::NONE => {
                    let records = p.records.map(|r| BytesMut::from(&r[..])).unwrap_or_default();
                    if throttled.contains(&key) {
                        state.throttle.follower_fetched(records.len() as u64);
                    }
                    match part.append_as_follower(records, p.high_watermark, p.log_start_offset, *epoch, now_ms()) {
                        Ok(_) => {}
                        // A leader change overtook this fetch: the new epoch's fetcher takes over.
                        Err(e) if e.code == codes::FENCED_LEADER_EPOCH => {
                            tracing::debug!(topic = %topic, partition = p.partition_index, "dropped a fetch answered in a superseded leader epoch")
                        }
                        Err(e) => {
                            tracing::warn!(topic = %topic, partition = p.partition_index, error = %e.message, "appending replicated records failed");
                            set_aside(targets, &key, *epoch);
                        }
                    }
                }
                codes::OFFSET_OUT_OF_RANGE if p.log_start_offset > *fetch_offset => {
                    // The leader's log starts after our end (retention, DeleteRecords): start over there.
                    tracing::info!(topic = %topic, partition = p.partition_index, at = p.log_start_offset, "leader's log starts past ours; restarting the replica there");
                    if let Err(e) = part.restart_at(p.log_start_offset, *epoch, now_ms()) {
                        tracing::warn!(topic = %topic, partition = p.partition_index, error = %e.message, "restarting the replica failed");
                        set_aside(targets, &key, *epoch);
                    }
                }
                codes::OFFSET_OUT_OF_RANGE => {
                    // Our end is past the leader's: find the divergence again.
                    if let Some(t) = lock(targets).get_mut(&key) {
                        t.needs_truncation = true;
                    }
                }
                code => {
                    tracing::debug!(topic = %topic, partition = p.partition_index, code, "replica fetch refused; retrying after a pause");
                    set_aside(targets, &key, *epoch);
                }
            }
        }
    }
    Ok(())
}
