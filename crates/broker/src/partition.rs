//! One partition replica on this broker: its `oxbow_log::Log`, leader epoch, high watermark,
//! role, append notification for long-polling fetches, and counters.
//!
//! The log sits behind a `std::sync::Mutex` that is never held across an `.await`: every
//! method here is synchronous and short. On a single node this replica is always the leader and
//! its ISR is itself, so the high watermark moves to the log end offset right after an append.
//! The [`Role`] type already distinguishes leader and follower so issue 5 can add follower
//! fetching and ISR tracking (HW = min LEO of the ISR) here without changing callers.

use crate::codes;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;
use uuid::Uuid;

/// What this replica is doing for its partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Accepts produce; `isr` includes this broker.
    Leader { isr: Vec<i32> },
    /// Fetches from `leader` (issue 5).
    #[allow(dead_code)]
    Follower { leader: i32 },
}

/// Counters the studio charts; monotonically increasing.
#[derive(Debug, Default)]
pub struct PartitionStats {
    pub bytes_in: AtomicU64,
    pub records_in: AtomicU64,
    pub batches_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub produce_errors: AtomicU64,
}

struct State {
    /// `None` once the partition was deleted; late requests then see UNKNOWN_TOPIC_OR_PARTITION.
    log: Option<oxbow_log::Log>,
    leader_epoch: i32,
    role: Role,
    high_watermark: i64,
}

pub struct Partition {
    pub topic: String,
    pub index: i32,
    /// For the observer API and follower fetching by topic id (issue 5).
    #[allow(dead_code)]
    pub topic_id: Uuid,
    node_id: i32,
    state: Mutex<State>,
    /// Fetches parked on this partition. Each parked fetch registers its own `Notify`; an append
    /// drains the list. Bounded by the broker's parked-fetch limit.
    waiters: Mutex<Vec<Arc<Notify>>>,
    pub stats: PartitionStats,
}

/// Error from a partition operation: a Kafka code and a message for the response.
#[derive(Clone, Debug)]
pub struct PartitionError {
    pub code: i16,
    pub message: String,
}

impl PartitionError {
    fn new(code: i16, message: impl Into<String>) -> Self {
        PartitionError { code, message: message.into() }
    }
    fn from_log(e: &oxbow_log::Error) -> Self {
        PartitionError { code: codes::from_log_error(e), message: e.to_string() }
    }
}

/// What a fetch read found.
pub struct FetchRead {
    pub records: Bytes,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
}

/// Offsets of a partition at one instant.
#[derive(Clone, Copy, Debug)]
pub struct Offsets {
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub high_watermark: i64,
    pub leader_epoch: i32,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a partition lock must not wedge the partition forever; the log's own
    // invariants are re-checked by the log on the next call.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Partition {
    pub fn new(topic: &str, index: i32, topic_id: Uuid, node_id: i32, log: oxbow_log::Log, leader_epoch: i32) -> Partition {
        let mut log = log;
        // One replica: everything in the log is committed.
        let leo = log.log_end_offset();
        log.set_high_watermark(leo);
        Partition {
            topic: topic.to_string(),
            index,
            topic_id,
            node_id,
            state: Mutex::new(State { log: Some(log), leader_epoch, role: Role::Leader { isr: vec![node_id] }, high_watermark: leo }),
            waiters: Mutex::new(Vec::new()),
            stats: PartitionStats::default(),
        }
    }

    pub fn leader_epoch(&self) -> i32 {
        lock(&self.state).leader_epoch
    }

    pub fn leader_id(&self) -> i32 {
        match &lock(&self.state).role {
            Role::Leader { .. } => self.node_id,
            Role::Follower { leader } => *leader,
        }
    }

    pub fn isr(&self) -> Vec<i32> {
        match &lock(&self.state).role {
            Role::Leader { isr } => isr.clone(),
            Role::Follower { .. } => vec![],
        }
    }

    /// Appends as leader. `required_acks` -1 checks `min_insync_replicas` against the ISR first
    /// (Kafka rejects with NOT_ENOUGH_REPLICAS before writing).
    pub fn append(&self, records: BytesMut, required_acks: i16, min_insync_replicas: i32, now_ms: i64) -> Result<oxbow_log::AppendOutcome, PartitionError> {
        let size = records.len() as u64;
        let outcome = {
            let mut st = lock(&self.state);
            let st = &mut *st;
            let isr_len = match &st.role {
                Role::Leader { isr } => isr.len(),
                Role::Follower { .. } => {
                    return Err(PartitionError::new(codes::NOT_LEADER_OR_FOLLOWER, "this broker is not the leader"))
                }
            };
            if required_acks == -1 && (isr_len as i32) < min_insync_replicas {
                return Err(PartitionError::new(
                    codes::NOT_ENOUGH_REPLICAS,
                    format!(
                        "The size of the current ISR [{}] is insufficient to satisfy the min.isr requirement of {} for partition {}-{}",
                        isr_len, min_insync_replicas, self.topic, self.index
                    ),
                ));
            }
            let log = st.log.as_mut().ok_or_else(|| PartitionError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, "partition deleted"))?;
            let out = log.append_as_leader(records, st.leader_epoch, now_ms).map_err(|e| {
                self.stats.produce_errors.fetch_add(1, Ordering::Relaxed);
                PartitionError::from_log(&e)
            })?;
            // Single replica: the ISR is {self}, so the high watermark is the log end offset.
            let leo = log.log_end_offset();
            debug_assert!(leo >= st.high_watermark, "the log end offset never moves backwards on a leader");
            st.high_watermark = leo;
            log.set_high_watermark(leo);
            out
        };
        if !outcome.duplicate {
            self.stats.bytes_in.fetch_add(size, Ordering::Relaxed);
            self.stats.batches_in.fetch_add(1, Ordering::Relaxed);
            let records = (outcome.last_offset - outcome.base_offset + 1).max(0) as u64;
            self.stats.records_in.fetch_add(records, Ordering::Relaxed);
            self.wake_fetchers();
        }
        Ok(outcome)
    }

    /// Wakes every fetch parked on this partition.
    pub fn wake_fetchers(&self) {
        let waiters = std::mem::take(&mut *lock(&self.waiters));
        for w in waiters {
            w.notify_one();
        }
    }

    /// Registers a parked fetch; it is woken by the next append (or HW move).
    pub fn register_waiter(&self, w: &Arc<Notify>) {
        let mut ws = lock(&self.waiters);
        // Forget waiters that were already woken elsewhere and dropped by their fetch.
        ws.retain(|x| Arc::strong_count(x) > 1);
        ws.push(w.clone());
    }

    pub fn offsets(&self) -> Result<Offsets, PartitionError> {
        let st = lock(&self.state);
        let log = st.log.as_ref().ok_or_else(|| PartitionError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, "partition deleted"))?;
        Ok(Offsets {
            log_start_offset: log.log_start_offset(),
            log_end_offset: log.log_end_offset(),
            high_watermark: st.high_watermark,
            leader_epoch: st.leader_epoch,
        })
    }

    /// Reads whole batches from `offset` up to the high watermark, into `scratch` (see
    /// `oxbow_log::Log::read_into`).
    pub fn read(&self, offset: i64, max_bytes: usize, scratch: &mut BytesMut) -> Result<FetchRead, PartitionError> {
        let st = lock(&self.state);
        let log = st.log.as_ref().ok_or_else(|| PartitionError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, "partition deleted"))?;
        let hw = st.high_watermark;
        let lso = hw; // no transactions yet: the last stable offset is the high watermark
        let log_start = log.log_start_offset();
        if offset < log_start || offset > hw {
            // Kafka reads up to the LEO for range checks; on one node LEO == HW.
            let leo = log.log_end_offset();
            if offset < log_start || offset > leo {
                return Err(PartitionError::new(
                    codes::OFFSET_OUT_OF_RANGE,
                    format!("offset {offset} is outside [{log_start}, {leo}] of {}-{}", self.topic, self.index),
                ));
            }
        }
        let records = if offset >= hw {
            Bytes::new()
        } else {
            log.read_into(offset, max_bytes, hw, scratch).map_err(|e| PartitionError::from_log(&e))?.records
        };
        self.stats.bytes_out.fetch_add(records.len() as u64, Ordering::Relaxed);
        Ok(FetchRead { records, high_watermark: hw, last_stable_offset: lso, log_start_offset: log_start })
    }

    /// Runs `f` on the log under the lock (ListOffsets, DeleteRecords, configs, maintenance).
    pub fn with_log<R>(&self, f: impl FnOnce(&mut oxbow_log::Log) -> R) -> Result<R, PartitionError> {
        let mut st = lock(&self.state);
        let log = st.log.as_mut().ok_or_else(|| PartitionError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, "partition deleted"))?;
        Ok(f(log))
    }

    /// Takes the log out (topic deletion); later requests see UNKNOWN_TOPIC_OR_PARTITION.
    pub fn take_log(&self) -> Option<oxbow_log::Log> {
        let log = lock(&self.state).log.take();
        self.wake_fetchers();
        log
    }
}
