//! One partition replica on this broker: its `oxbow_log::Log`, its role (leader or follower),
//! leader epoch, high watermark, the followers' progress when leading, the append notification
//! for long-polling fetches, and counters.
//!
//! Replication as Kafka does it (`Partition.scala`):
//! - A **leader** accepts produce, serves consumers up to the high watermark, and serves its
//!   followers' fetches up to its log end offset. Each follower fetch reports the follower's log
//!   end offset (the fetch offset); the leader keeps it with the time the follower was last caught
//!   up, and the high watermark becomes the lowest log end offset in the ISR.
//! - A follower that catches up (its log end offset reaches the high watermark and this
//!   leader's first offset of its epoch) is proposed for the ISR; one that has not been caught up
//!   for `replica.lag.time.max.ms` is proposed out of it. Proposals go to the controller through
//!   the metadata log (AlterPartition's role); until one is applied the high watermark counts the
//!   *maximal* ISR (current plus proposed additions), as Kafka does, so it never advances past a
//!   replica that may be in the ISR.
//! - A **follower** appends what its fetcher brings (offsets and epochs as the leader wrote them),
//!   takes the leader's high watermark capped at its own log end, and truncates when its fetcher
//!   finds a divergent tail (OffsetsForLeaderEpoch).
//!
//! Transactions (KIP-98) at the partition: transactional batches append like idempotent ones
//! (the log tracks each producer's open transaction); [`Partition::append_txn_marker`] is the
//! leader-side write of a COMMIT/ABORT marker that the transaction coordinator's WriteTxnMarkers
//! will call (followers get markers by replication, which rebuilds the same state); consumers
//! reading `read_committed` stop at the last stable offset (LSO) and get the aborted
//! transactions of what they read ([`Isolation`]). Whether a transactional batch may be
//! appended at all (KIP-890's verification that the partition was added to the transaction) is
//! decided before the partition, by the broker's `verify_transactional_append`.
//!
//! The log sits behind a `std::sync::Mutex` that is never held across an `.await`: every method
//! here is synchronous and short, except [`Partition::wait_replicated`], which waits on a watch
//! channel outside the lock. Role changes come only from the broker's reconciliation of the
//! metadata image.

use crate::codes;
use crate::metadata::{PartitionImage, NO_LEADER};
use bytes::{Bytes, BytesMut};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{watch, Notify};

/// A follower's progress as its leader sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowerProgress {
    /// The follower's log end offset: the offset of its latest fetch (-1 until it fetches).
    pub log_end_offset: i64,
    pub last_fetch_ms: i64,
    /// When the follower was last at the leader's log end offset (Kafka's lastCaughtUpTimeMs).
    pub last_caught_up_ms: i64,
    /// The leader's log end offset at the follower's previous fetch.
    leader_leo_at_last_fetch: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderState {
    pub replicas: Vec<i32>,
    /// The ISR as the metadata image has it (sorted).
    pub isr: Vec<i32>,
    pub partition_epoch: i32,
    /// An ISR change proposed to the controller and not yet applied.
    pub pending_isr: Option<Vec<i32>>,
    pub followers: BTreeMap<i32, FollowerProgress>,
    /// The log end offset when this leader's epoch began: a follower joins the ISR only once it
    /// has everything from before this leadership.
    pub epoch_start_offset: i64,
}

impl LeaderState {
    /// The ISR counting proposed additions (and not yet proposed removals): what the high
    /// watermark must wait for.
    fn maximal_isr(&self) -> Vec<i32> {
        let mut isr = self.isr.clone();
        if let Some(pending) = &self.pending_isr {
            for id in pending {
                if !isr.contains(id) {
                    isr.push(*id);
                }
            }
        }
        isr
    }
}

/// What this replica is doing for its partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Leader(LeaderState),
    /// Fetches from `leader` ([`NO_LEADER`] while the partition is offline).
    Follower {
        leader: i32,
    },
}

/// An ISR change the leader wants the controller to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsrProposal {
    pub partition_epoch: i32,
    pub isr: Vec<i32>,
}

/// Counters the studio charts; monotonically increasing.
#[derive(Debug, Default)]
pub struct PartitionStats {
    pub bytes_in: AtomicU64,
    pub records_in: AtomicU64,
    pub batches_in: AtomicU64,
    pub bytes_out: AtomicU64,
    pub produce_errors: AtomicU64,
    /// Records removed from this replica's tail by truncation (a divergent follower).
    pub records_truncated: AtomicU64,
}

struct State {
    /// `None` once the partition was deleted; late requests then see UNKNOWN_TOPIC_OR_PARTITION.
    log: Option<oxbow_log::Log>,
    leader_epoch: i32,
    role: Role,
    high_watermark: i64,
}

/// What acks=all waiters watch: the high watermark and whether this is still the same leadership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Progress {
    high_watermark: i64,
    /// The leader epoch while this broker leads; -1 otherwise.
    leading_epoch: i32,
    isr_len: usize,
}

pub struct Partition {
    pub topic: String,
    pub index: i32,
    node_id: i32,
    state: Mutex<State>,
    progress: watch::Sender<Progress>,
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
    pub fn new(code: i16, message: impl Into<String>) -> Self {
        PartitionError { code, message: message.into() }
    }
    fn from_log(e: &oxbow_log::Error) -> Self {
        PartitionError { code: codes::from_log_error(e), message: e.to_string() }
    }
}

/// A consumer's isolation level (Fetch and ListOffsets `isolation_level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// 0: up to the high watermark, aborted records included.
    ReadUncommitted,
    /// 1: up to the last stable offset, with the aborted transactions of the records read.
    ReadCommitted,
}

impl Isolation {
    /// Kafka's `IsolationLevel.forId`: 1 is READ_COMMITTED, anything else reads uncommitted.
    pub fn from_id(id: i8) -> Isolation {
        if id == 1 {
            Isolation::ReadCommitted
        } else {
            Isolation::ReadUncommitted
        }
    }
}

/// What a fetch read found.
pub struct FetchRead {
    pub records: Bytes,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    /// `read_committed` only: the aborted transactions overlapping the records returned, as
    /// (producer id, first offset), oldest marker first.
    pub aborted_transactions: Option<Vec<(i64, i64)>>,
}

/// Offsets of a partition at one instant.
#[derive(Clone, Copy, Debug)]
pub struct Offsets {
    pub log_start_offset: i64,
    pub log_end_offset: i64,
    pub high_watermark: i64,
    /// The last stable offset: below every open (or not yet replicated) transaction, at most the
    /// high watermark.
    pub last_stable_offset: i64,
    pub leader_epoch: i32,
}

/// The replica's role and progress at one instant, for the observer.
#[derive(Clone, Debug)]
pub struct ReplicaSnapshot {
    pub offsets: Offsets,
    pub role: Role,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a partition lock must not wedge the partition forever; the log's own
    // invariants are re-checked by the log on the next call.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn deleted() -> PartitionError {
    PartitionError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, "partition deleted")
}

impl Partition {
    /// A replica that is not yet told its role: a follower of nobody until the broker applies
    /// the partition's metadata. Its high watermark is the one checkpointed with the log.
    pub fn new(topic: &str, index: i32, node_id: i32, log: oxbow_log::Log) -> Partition {
        let hw = log.high_watermark().min(log.log_end_offset());
        let progress = Progress { high_watermark: hw, leading_epoch: -1, isr_len: 0 };
        Partition {
            topic: topic.to_string(),
            index,
            node_id,
            state: Mutex::new(State {
                log: Some(log),
                leader_epoch: -1,
                role: Role::Follower { leader: NO_LEADER },
                high_watermark: hw,
            }),
            progress: watch::channel(progress).0,
            waiters: Mutex::new(Vec::new()),
            stats: PartitionStats::default(),
        }
    }

    pub fn leader_epoch(&self) -> i32 {
        lock(&self.state).leader_epoch
    }

    pub fn is_leader(&self) -> bool {
        matches!(lock(&self.state).role, Role::Leader(_))
    }

    pub fn leader_id(&self) -> i32 {
        match &lock(&self.state).role {
            Role::Leader(_) => self.node_id,
            Role::Follower { leader } => *leader,
        }
    }

    pub fn snapshot(&self) -> Result<ReplicaSnapshot, PartitionError> {
        let st = lock(&self.state);
        let log = st.log.as_ref().ok_or_else(deleted)?;
        Ok(ReplicaSnapshot { offsets: offsets_of(&st, log), role: st.role.clone() })
    }

    /// Applies the partition's metadata: leads it (a new epoch, or the same one with a new ISR)
    /// or follows. Returns true when this replica must (re)start fetching from a new leader or
    /// epoch.
    pub fn apply_metadata(&self, image: &PartitionImage, now_ms: i64) -> bool {
        let mut st = lock(&self.state);
        let st = &mut *st;
        let Some(log) = st.log.as_mut() else { return false };
        let epoch_changed = st.leader_epoch != image.leader_epoch;
        if image.leader == self.node_id {
            match &mut st.role {
                Role::Leader(ls) if !epoch_changed => {
                    // Same leadership: a new ISR, replicas or partition epoch.
                    ls.isr = image.isr.clone();
                    ls.replicas = image.replicas.clone();
                    ls.partition_epoch = image.partition_epoch;
                    ls.pending_isr = None;
                    ls.followers.retain(|id, _| image.replicas.contains(id));
                    for id in image.replicas.iter().filter(|id| **id != self.node_id) {
                        ls.followers.entry(*id).or_insert_with(|| unknown_progress(now_ms));
                    }
                }
                _ => {
                    // A new leadership. Followers start unknown but "caught up now", so they are
                    // not pushed out of the ISR before they had a chance to fetch (Kafka does the same).
                    let followers = image
                        .replicas
                        .iter()
                        .filter(|id| **id != self.node_id)
                        .map(|id| (*id, unknown_progress(now_ms)))
                        .collect();
                    st.role = Role::Leader(LeaderState {
                        replicas: image.replicas.clone(),
                        isr: image.isr.clone(),
                        partition_epoch: image.partition_epoch,
                        pending_isr: None,
                        followers,
                        epoch_start_offset: log.log_end_offset(),
                    });
                    st.leader_epoch = image.leader_epoch;
                    // As Kafka's makeLeader: the epoch starts at our log end now, so a follower
                    // asking where its older epoch ends learns it ends here even before we append.
                    let leo = log.log_end_offset();
                    if log.latest_epoch().is_none_or(|e| e < image.leader_epoch) {
                        if let Err(e) = log.assign_epoch(image.leader_epoch, leo) {
                            tracing::warn!(topic = %self.topic, partition = self.index, error = %e, "could not record the new leader epoch");
                        }
                    }
                    tracing::info!(topic = %self.topic, partition = self.index, epoch = image.leader_epoch, isr = ?image.isr, leo, "became leader");
                }
            }
            self.advance_high_watermark(st);
            self.publish(st);
            self.wake_fetchers();
            return false;
        }
        let was = st.role.clone();
        st.role = Role::Follower { leader: image.leader };
        st.leader_epoch = image.leader_epoch;
        self.publish(st);
        let refetch = epoch_changed || was != st.role;
        if refetch {
            tracing::info!(topic = %self.topic, partition = self.index, leader = image.leader, epoch = image.leader_epoch, "following");
        }
        refetch
    }

    fn publish(&self, st: &State) {
        let leading_epoch = if matches!(st.role, Role::Leader(_)) { st.leader_epoch } else { -1 };
        let isr_len = match &st.role {
            Role::Leader(ls) => ls.isr.len(),
            Role::Follower { .. } => 0,
        };
        self.progress.send_if_modified(|p| {
            let next = Progress { high_watermark: st.high_watermark, leading_epoch, isr_len };
            let changed = *p != next;
            *p = next;
            changed
        });
    }

    /// Leader only: high watermark = lowest log end offset in the (maximal) ISR. Never moves back.
    fn advance_high_watermark(&self, st: &mut State) {
        let Role::Leader(ls) = &st.role else { return };
        let Some(log) = st.log.as_mut() else { return };
        let mut hw = log.log_end_offset();
        for id in ls.maximal_isr() {
            if id == self.node_id {
                continue;
            }
            match ls.followers.get(&id) {
                Some(f) if f.log_end_offset >= 0 => hw = hw.min(f.log_end_offset),
                _ => return, // an ISR member we have not heard from yet: hold the mark where it is
            }
        }
        if hw > st.high_watermark {
            st.high_watermark = hw;
            log.set_high_watermark(hw);
        }
    }

    /// Appends as leader. `required_acks` -1 checks `min_insync_replicas` against the ISR first
    /// (Kafka rejects with NOT_ENOUGH_REPLICAS before writing). Returns the outcome and the
    /// leader epoch the records were written in (what [`Partition::wait_replicated`] waits in).
    pub fn append(
        &self,
        records: BytesMut,
        required_acks: i16,
        min_insync_replicas: i32,
        now_ms: i64,
    ) -> Result<(oxbow_log::AppendOutcome, i32), PartitionError> {
        self.append_from(records, required_acks, min_insync_replicas, now_ms, oxbow_log::AppendOrigin::Client)
    }

    /// [`Partition::append`] for a given origin: a coordinator writing its internal topic
    /// appends with [`oxbow_log::AppendOrigin::Coordinator`] (no producer sequences).
    pub fn append_from(
        &self,
        records: BytesMut,
        required_acks: i16,
        min_insync_replicas: i32,
        now_ms: i64,
        origin: oxbow_log::AppendOrigin,
    ) -> Result<(oxbow_log::AppendOutcome, i32), PartitionError> {
        let size = records.len() as u64;
        let outcome = {
            let mut st = lock(&self.state);
            let st = &mut *st;
            let isr_len = match &st.role {
                Role::Leader(ls) => ls.isr.len(),
                Role::Follower { .. } => return Err(not_leader(&self.topic, self.index)),
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
            let log = st.log.as_mut().ok_or_else(deleted)?;
            let out = log.append_as_leader_from(records, st.leader_epoch, now_ms, origin).map_err(|e| {
                self.stats.produce_errors.fetch_add(1, Ordering::Relaxed);
                PartitionError::from_log(&e)
            })?;
            self.advance_high_watermark(st);
            self.publish(st);
            (out, st.leader_epoch)
        };
        let (outcome, epoch) = outcome;
        if !outcome.duplicate {
            self.stats.bytes_in.fetch_add(size, Ordering::Relaxed);
            self.stats.batches_in.fetch_add(1, Ordering::Relaxed);
            let records = (outcome.last_offset - outcome.base_offset + 1).max(0) as u64;
            self.stats.records_in.fetch_add(records, Ordering::Relaxed);
            self.wake_fetchers();
        }
        Ok((outcome, epoch))
    }

    /// Writes a transaction marker as the leader (what WriteTxnMarkers does for each partition,
    /// Kafka's `appendRecordsToLeader` with COORDINATOR origin and acks=all): NOT_LEADER_OR_FOLLOWER
    /// on a follower, NOT_ENOUGH_REPLICAS below `min_insync_replicas`, INVALID_PRODUCER_EPOCH or
    /// TRANSACTION_COORDINATOR_FENCED for a stale marker (see `oxbow_log::Log::append_txn_marker`).
    /// Returns the outcome and the leader epoch it was written in; the caller waits for
    /// replication with [`Partition::wait_replicated`] before answering.
    pub fn append_txn_marker(
        &self,
        marker: &oxbow_log::TxnMarker,
        min_insync_replicas: i32,
        now_ms: i64,
    ) -> Result<(oxbow_log::AppendOutcome, i32), PartitionError> {
        let out = {
            let mut st = lock(&self.state);
            let st = &mut *st;
            let isr_len = match &st.role {
                Role::Leader(ls) => ls.isr.len(),
                Role::Follower { .. } => return Err(not_leader(&self.topic, self.index)),
            };
            if (isr_len as i32) < min_insync_replicas {
                return Err(PartitionError::new(
                    codes::NOT_ENOUGH_REPLICAS,
                    format!("The size of the current ISR [{isr_len}] is insufficient to satisfy the min.isr requirement of {min_insync_replicas} for partition {}-{}", self.topic, self.index),
                ));
            }
            let log = st.log.as_mut().ok_or_else(deleted)?;
            let out =
                log.append_txn_marker(marker, st.leader_epoch, now_ms).map_err(|e| PartitionError::from_log(&e))?;
            self.advance_high_watermark(st);
            self.publish(st);
            (out, st.leader_epoch)
        };
        self.stats.batches_in.fetch_add(1, Ordering::Relaxed);
        self.wake_fetchers();
        Ok(out)
    }

    /// DescribeProducers: the producers with state in this partition's log, leader only.
    pub fn active_producers(&self) -> Result<Vec<oxbow_log::ProducerInfo>, PartitionError> {
        let st = lock(&self.state);
        if !matches!(st.role, Role::Leader(_)) {
            return Err(not_leader(&self.topic, self.index));
        }
        Ok(st.log.as_ref().ok_or_else(deleted)?.active_producers())
    }

    /// Whether `producer_id` has a transaction open here at `producer_epoch` (KIP-890: such a
    /// producer was verified when it began and may append without asking the coordinator).
    pub fn has_ongoing_txn(&self, producer_id: i64, producer_epoch: i16) -> bool {
        lock(&self.state).log.as_ref().is_some_and(|log| log.has_ongoing_txn(producer_id, producer_epoch))
    }

    /// acks=all: waits until the high watermark reaches `required_offset` (the offset after the
    /// records appended in leader epoch `epoch`), as Kafka's DelayedProduce does. Then the ISR must still hold
    /// `min_insync_replicas` members, else NOT_ENOUGH_REPLICAS_AFTER_APPEND (the records are
    /// written and replicated to the ISR, but fewer copies exist than asked for). Losing the
    /// leadership meanwhile answers NOT_LEADER_OR_FOLLOWER; the deadline REQUEST_TIMED_OUT.
    pub async fn wait_replicated(
        &self,
        required_offset: i64,
        epoch: i32,
        min_insync_replicas: i32,
        deadline: tokio::time::Instant,
    ) -> Result<(), PartitionError> {
        let mut rx = self.progress.subscribe();
        let waited = tokio::time::timeout_at(
            deadline,
            rx.wait_for(|p| p.leading_epoch != epoch || p.high_watermark >= required_offset),
        )
        .await;
        let p = match waited {
            Err(_) => {
                return Err(PartitionError::new(
                    codes::REQUEST_TIMED_OUT,
                    format!(
                        "Records up to offset {} of {}-{} were not replicated to the ISR in time",
                        required_offset - 1,
                        self.topic,
                        self.index
                    ),
                ))
            }
            Ok(Err(_)) => return Err(deleted()),
            Ok(Ok(p)) => *p,
        };
        if p.leading_epoch != epoch {
            return Err(not_leader(&self.topic, self.index));
        }
        if (p.isr_len as i32) < min_insync_replicas {
            return Err(PartitionError::new(
                codes::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                format!(
                    "The size of the current ISR [{}] is insufficient to satisfy the min.isr requirement of {} for partition {}-{}; the records were written",
                    p.isr_len, min_insync_replicas, self.topic, self.index
                ),
            ));
        }
        Ok(())
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
        let log = st.log.as_ref().ok_or_else(deleted)?;
        Ok(offsets_of(&st, log))
    }

    /// A consumer's read: leader only, whole batches from `offset` up to the high watermark
    /// (`read_uncommitted`) or the last stable offset (`read_committed`, which also lists the
    /// aborted transactions the records overlap, as Kafka's `LocalLog.read` does), into
    /// `scratch` (see `oxbow_log::Log::read_into`). Control batches (markers) are returned like
    /// any batch; clients skip them.
    pub fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        isolation: Isolation,
        scratch: &mut BytesMut,
    ) -> Result<FetchRead, PartitionError> {
        let st = lock(&self.state);
        if !matches!(st.role, Role::Leader(_)) {
            return Err(not_leader(&self.topic, self.index));
        }
        let log = st.log.as_ref().ok_or_else(deleted)?;
        let hw = st.high_watermark;
        let lso = last_stable_offset(log, hw);
        let limit = match isolation {
            Isolation::ReadUncommitted => hw,
            Isolation::ReadCommitted => lso,
        };
        let (records, next_offset) = self.read_log(log, offset, max_bytes, limit, scratch)?;
        let aborted_transactions = match isolation {
            Isolation::ReadUncommitted => None,
            Isolation::ReadCommitted if records.is_empty() => Some(Vec::new()),
            Isolation::ReadCommitted => Some(
                log.collect_aborted_txns(offset, next_offset)
                    .map_err(|e| PartitionError::from_log(&e))?
                    .into_iter()
                    .map(|t| (t.producer_id, t.first_offset))
                    .collect(),
            ),
        };
        Ok(FetchRead {
            records,
            high_watermark: hw,
            last_stable_offset: lso,
            log_start_offset: log.log_start_offset(),
            aborted_transactions,
        })
    }

    /// Whole batches from `offset` below `limit`, and the offset after them.
    fn read_log(
        &self,
        log: &oxbow_log::Log,
        offset: i64,
        max_bytes: usize,
        limit: i64,
        scratch: &mut BytesMut,
    ) -> Result<(Bytes, i64), PartitionError> {
        let log_start = log.log_start_offset();
        let leo = log.log_end_offset();
        if offset < log_start || offset > leo {
            return Err(PartitionError::new(
                codes::OFFSET_OUT_OF_RANGE,
                format!("offset {offset} is outside [{log_start}, {leo}] of {}-{}", self.topic, self.index),
            ));
        }
        let (records, next_offset) = if offset >= limit {
            (Bytes::new(), offset)
        } else {
            let read = log.read_into(offset, max_bytes, limit, scratch).map_err(|e| PartitionError::from_log(&e))?;
            (read.records, read.next_offset)
        };
        self.stats.bytes_out.fetch_add(records.len() as u64, Ordering::Relaxed);
        Ok((records, next_offset))
    }

    /// A follower's fetch at the leader: reads up to the log end offset (nothing for
    /// `max_bytes` 0: a throttled replica), records the follower's
    /// progress (its fetch offset is its log end offset), advances the high watermark, and says
    /// whether the follower should now join the ISR. `follower_live` is whether the controller
    /// has it unfenced (a fenced broker never joins).
    pub fn read_for_follower(
        &self,
        follower: i32,
        fetch_offset: i64,
        max_bytes: usize,
        scratch: &mut BytesMut,
        follower_live: bool,
        now_ms: i64,
    ) -> Result<(FetchRead, Option<IsrProposal>), PartitionError> {
        let mut st = lock(&self.state);
        let st = &mut *st;
        let leo = st.log.as_ref().ok_or_else(deleted)?.log_end_offset();
        let Role::Leader(ls) = &mut st.role else { return Err(not_leader(&self.topic, self.index)) };
        let Some(progress) = ls.followers.get_mut(&follower) else {
            return Err(PartitionError::new(
                codes::NOT_LEADER_OR_FOLLOWER,
                format!("broker {follower} is not a replica of {}-{}", self.topic, self.index),
            ));
        };
        if fetch_offset <= leo {
            // Kafka's rule: caught up now if at our end; caught up at the previous fetch if it
            // has everything we had then.
            if fetch_offset >= leo {
                progress.last_caught_up_ms = now_ms;
            } else if fetch_offset >= progress.leader_leo_at_last_fetch && progress.leader_leo_at_last_fetch >= 0 {
                progress.last_caught_up_ms = progress.last_caught_up_ms.max(progress.last_fetch_ms);
            }
            progress.log_end_offset = fetch_offset;
            progress.leader_leo_at_last_fetch = leo;
            progress.last_fetch_ms = now_ms;
        }
        let proposal = if follower_live
            && ls.pending_isr.is_none()
            && !ls.isr.contains(&follower)
            && fetch_offset >= st.high_watermark
            && fetch_offset >= ls.epoch_start_offset
        {
            let mut isr = ls.isr.clone();
            isr.push(follower);
            isr.sort_unstable();
            ls.pending_isr = Some(isr.clone());
            Some(IsrProposal { partition_epoch: ls.partition_epoch, isr })
        } else {
            None
        };
        let before = st.high_watermark;
        self.advance_high_watermark(st);
        self.publish(st);
        let log = st.log.as_ref().ok_or_else(deleted)?;
        let records =
            if max_bytes == 0 { Bytes::new() } else { self.read_log(log, fetch_offset, max_bytes, leo, scratch)?.0 };
        let read = FetchRead {
            records,
            high_watermark: st.high_watermark,
            last_stable_offset: last_stable_offset(log, st.high_watermark),
            log_start_offset: log.log_start_offset(),
            aborted_transactions: None,
        };
        if st.high_watermark > before {
            // Consumers parked at the old high watermark can read now. (Only the waiters lock is
            // taken, never the state lock, so this is safe with the state guard alive.)
            self.wake_fetchers();
        }
        Ok((read, proposal))
    }

    /// Leader only: followers that have not been caught up for `lag_max_ms` leave the ISR (Kafka's
    /// `maybeShrinkIsr`), as do followers the controller fenced. Returns the proposal, if any.
    pub fn isr_shrink_check(&self, now_ms: i64, lag_max_ms: i64, is_live: impl Fn(i32) -> bool) -> Option<IsrProposal> {
        let mut st = lock(&self.state);
        let Role::Leader(ls) = &mut st.role else { return None };
        if ls.pending_isr.is_some() {
            return None;
        }
        let out: Vec<i32> = ls
            .isr
            .iter()
            .copied()
            .filter(|id| *id != self.node_id)
            .filter(|id| {
                !is_live(*id) || ls.followers.get(id).is_none_or(|f| now_ms - f.last_caught_up_ms > lag_max_ms)
            })
            .collect();
        if out.is_empty() {
            return None;
        }
        let isr: Vec<i32> = ls.isr.iter().copied().filter(|id| !out.contains(id)).collect();
        tracing::info!(topic = %self.topic, partition = self.index, from = ?ls.isr, to = ?isr, "shrinking ISR: replicas fell behind for longer than replica.lag.time.max.ms");
        // Removals take effect for the high watermark only once applied (the maximal ISR), so no
        // pending set is recorded beyond blocking further proposals.
        ls.pending_isr = Some(ls.isr.clone());
        Some(IsrProposal { partition_epoch: ls.partition_epoch, isr })
    }

    /// The controller refused or failed an ISR proposal: allow the next one.
    pub fn isr_proposal_failed(&self) {
        if let Role::Leader(ls) = &mut lock(&self.state).role {
            ls.pending_isr = None;
        }
    }

    /// Appends batches fetched from the leader of `fetched_epoch` and takes its high watermark
    /// (capped at our log end). Returns the new log end offset.
    ///
    /// A fetch answered in an older epoch than the replica is in now is refused: a fetch may be
    /// in flight to a former leader when the metadata moves the partition to a new one, and the
    /// former leader may have written records the new one never had (they would survive the
    /// truncation that already ran for the new epoch). Checked under the partition lock, where
    /// role changes happen, as Kafka's fetcher checks the partition's current epoch.
    pub fn append_as_follower(
        &self,
        records: BytesMut,
        leader_high_watermark: i64,
        leader_log_start_offset: i64,
        fetched_epoch: i32,
        now_ms: i64,
    ) -> Result<i64, PartitionError> {
        let size = records.len() as u64;
        let mut st = lock(&self.state);
        let st = &mut *st;
        check_follower_epoch(st, fetched_epoch)?;
        let log = st.log.as_mut().ok_or_else(deleted)?;
        let out = log.append_as_follower(records, now_ms).map_err(|e| PartitionError::from_log(&e))?;
        let leo = log.log_end_offset();
        let hw = leader_high_watermark.min(leo);
        if hw > st.high_watermark {
            st.high_watermark = hw;
            log.set_high_watermark(hw);
        }
        // The leader's log start moved (retention, DeleteRecords): follow it, never past what is
        // committed here (Kafka's maybeIncrementLogStartOffset on followers).
        let start = leader_log_start_offset.min(st.high_watermark);
        if start > log.log_start_offset() {
            if let Err(e) = log.delete_records_before(start) {
                tracing::warn!(topic = %self.topic, partition = self.index, error = %e, "could not follow the leader's log start");
            }
        }
        if out.last_offset >= out.base_offset {
            self.stats.bytes_in.fetch_add(size, Ordering::Relaxed);
            self.stats.records_in.fetch_add((out.last_offset - out.base_offset + 1) as u64, Ordering::Relaxed);
        }
        self.publish(st);
        Ok(leo)
    }

    /// Follower only: drops every offset at or after `offset` (a divergent tail), as worked out
    /// with the leader of `fetched_epoch` (refused if the replica has moved on since). Returns
    /// the number of offsets removed.
    pub fn truncate_to(&self, offset: i64, fetched_epoch: i32, now_ms: i64) -> Result<i64, PartitionError> {
        let mut st = lock(&self.state);
        let st = &mut *st;
        check_follower_epoch(st, fetched_epoch)?;
        let log = st.log.as_mut().ok_or_else(deleted)?;
        let before = log.log_end_offset();
        let leo = log.truncate_to(offset, now_ms).map_err(|e| PartitionError::from_log(&e))?;
        st.high_watermark = st.high_watermark.min(leo);
        let removed = (before - leo).max(0);
        self.stats.records_truncated.fetch_add(removed as u64, Ordering::Relaxed);
        self.publish(st);
        Ok(removed)
    }

    /// Follower only: the leader no longer has our fetch offset (its log start moved past our
    /// end): start over, empty, at `offset` (Kafka's truncateFullyAndStartAt).
    pub fn restart_at(&self, offset: i64, fetched_epoch: i32, now_ms: i64) -> Result<(), PartitionError> {
        let mut st = lock(&self.state);
        let st = &mut *st;
        check_follower_epoch(st, fetched_epoch)?;
        let log = st.log.as_mut().ok_or_else(deleted)?;
        log.truncate_fully_and_start_at(offset, now_ms).map_err(|e| PartitionError::from_log(&e))?;
        st.high_watermark = offset;
        log.set_high_watermark(offset);
        self.publish(st);
        Ok(())
    }

    /// Runs `f` on the log under the lock (ListOffsets, DeleteRecords, configs, maintenance).
    pub fn with_log<R>(&self, f: impl FnOnce(&mut oxbow_log::Log) -> R) -> Result<R, PartitionError> {
        let mut st = lock(&self.state);
        let log = st.log.as_mut().ok_or_else(deleted)?;
        Ok(f(log))
    }

    /// Takes the log out (topic deletion, shutdown); later requests see UNKNOWN_TOPIC_OR_PARTITION
    /// and acks=all waiters are released.
    pub fn take_log(&self) -> Option<oxbow_log::Log> {
        let log = {
            let mut st = lock(&self.state);
            st.role = Role::Follower { leader: NO_LEADER };
            let log = st.log.take();
            self.publish(&st);
            log
        };
        self.wake_fetchers();
        log
    }
}

/// A follower's write must come from its current leader epoch (see `append_as_follower`).
fn check_follower_epoch(st: &State, fetched_epoch: i32) -> Result<(), PartitionError> {
    if matches!(st.role, Role::Leader(_)) {
        return Err(PartitionError::new(
            codes::NOT_LEADER_OR_FOLLOWER,
            "this replica leads the partition; it does not follow",
        ));
    }
    if fetched_epoch != st.leader_epoch {
        return Err(PartitionError::new(
            codes::FENCED_LEADER_EPOCH,
            format!("fetched in leader epoch {fetched_epoch}, but the replica is in epoch {} now", st.leader_epoch),
        ));
    }
    Ok(())
}

fn offsets_of(st: &State, log: &oxbow_log::Log) -> Offsets {
    Offsets {
        log_start_offset: log.log_start_offset(),
        log_end_offset: log.log_end_offset(),
        high_watermark: st.high_watermark,
        last_stable_offset: last_stable_offset(log, st.high_watermark),
        leader_epoch: st.leader_epoch,
    }
}

/// The LSO against this replica's high watermark (the log's own copy of it is the same number,
/// kept by `set_high_watermark`; this reads the partition's, which readers hold the lock for).
fn last_stable_offset(log: &oxbow_log::Log, high_watermark: i64) -> i64 {
    log.first_unstable_offset().map_or(high_watermark, |o| o.min(high_watermark))
}

fn unknown_progress(now_ms: i64) -> FollowerProgress {
    FollowerProgress { log_end_offset: -1, last_fetch_ms: -1, last_caught_up_ms: now_ms, leader_leo_at_last_fetch: -1 }
}

fn not_leader(topic: &str, index: i32) -> PartitionError {
    PartitionError::new(codes::NOT_LEADER_OR_FOLLOWER, format!("This broker is not the leader of {topic}-{index}"))
}
