//! The transaction coordinator service (KIP-98, transaction protocol version 1), as Apache
//! Kafka's `TransactionCoordinator` and `TransactionStateManager` run it over the pure state
//! machine in `txn.rs`.
//!
//! **Placement.** A transactional id lives on partition `abs(javaHash(id)) % partitions` of
//! `__transaction_state`; the leader of that partition is its coordinator and the partition's
//! leader epoch is the coordinator epoch its markers carry. Each partition this broker leads is a
//! *shard*, loaded from its log when the broker becomes leader ([`TxnCoordinator::on_leader`]:
//! the last record per id wins, a tombstone removes it; requests get
//! COORDINATOR_LOAD_IN_PROGRESS meanwhile) and dropped when it stops leading
//! ([`TxnCoordinator::on_resign`]; writes in flight then answer NOT_COORDINATOR). After a load,
//! transactions found in PrepareCommit or PrepareAbort get their markers sent again; Ongoing ones
//! keep their start time, so their timeout still runs.
//!
//! **Persistence.** Every transition is prepared under the coordinator lock (the id gets a
//! pending state: other requests for it get CONCURRENT_TRANSACTIONS), appended as a
//! TransactionLog record to the id's partition under the same lock — so the log order is the
//! state order — and made current only once the ISR has it (acks=all, bounded by
//! `offsets.commit.timeout.ms`). A failed append leaves the state as it was. EndTxn is answered
//! once PrepareCommit/PrepareAbort is replicated; the markers then go out in a task
//! (`txn_markers::write_markers`), and CompleteCommit/CompleteAbort is written after every
//! partition has its marker.
//!
//! **Fencing and timeouts.** InitProducerId on an id with an Ongoing transaction bumps the epoch
//! and aborts that transaction with it (one PrepareAbort record carrying the new epoch, as Kafka
//! writes it) and answers CONCURRENT_TRANSACTIONS; the client retries and gets the epoch bumped
//! once more. Every `transaction.abort.timed.out.transaction.cleanup.interval.ms`
//! [`TxnCoordinator::tick`] aborts Ongoing transactions past their timeout the same way (the
//! producer is fenced) and re-drives completions whose marker task ended without finishing.
//!
//! **KIP-890 part 1.** [`TxnCoordinator::verify`] answers whether partitions are in a producer's
//! ongoing transaction, for Produce on this broker or for AddPartitionsToTxn `verify_only` from
//! another broker's Produce.
//!
//! **Bounds.** [`TRANSACTIONS_MAX`] transactional ids per broker (InitProducerId for a new id
//! beyond it gets COORDINATOR_NOT_AVAILABLE), `txn::TRANSACTION_PARTITIONS_MAX` partitions per
//! transaction, [`TIMEOUT_ABORTS_PER_TICK_MAX`] aborts and re-driven completions per tick;
//! loading reads [`LOAD_BUFFER_BYTES`] a step up to the log end it found.
//!
//! Deliberately not here: transaction protocol version 2 (KIP-890 part 2: Oxbow does not
//! advertise the `transaction.version` feature, so clients use version 1); transactional id
//! expiration (`transactional.id.expiration.ms`: ids stay until the topic is compacted by hand —
//! they cost one map entry each, bounded by [`TRANSACTIONS_MAX`]); KIP-939 two-phase commit.
//!
//! Concurrency: all shards sit behind one `std::sync::Mutex`, never held across an `.await`.

use super::group::{append_error_to_response, BoxFuture};
use super::group_records as rec;
use super::txn::{self, ExpectedProducer, InitOutcome, Transit, TxnMetadata, TxnResult, TxnState, PRODUCER_EPOCH_MAX};
use super::txn_markers::{self, MarkerError, Markers};
use crate::broker::{now_ms, BrokerState};
use crate::codes;
use crate::config::BrokerConfig;
use oxbow_log::batch::BatchHeader;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The internal topic holding transaction state.
pub const TXN_TOPIC: &str = "__transaction_state";
/// Transactional ids one broker coordinates over all its shards (each costs a map entry and its
/// partition set; Kafka bounds by heap).
pub const TRANSACTIONS_MAX: usize = 100_000;
/// Timed-out transactions aborted, and stalled completions re-driven, per tick: a bounded scan.
pub const TIMEOUT_ABORTS_PER_TICK_MAX: usize = 1_000;
/// Kafka's `transaction.state.log.load.buffer.size` default: bytes read per step of a load.
pub const LOAD_BUFFER_BYTES: usize = 5 * 1024 * 1024;

/// One `__transaction_state` partition led here.
struct Shard {
    /// The partition's leader epoch when this broker started leading it: the coordinator epoch.
    epoch: i32,
    loaded: bool,
    txns: HashMap<String, TxnMetadata>,
    /// Ids whose markers are being written by a task now (so the tick does not start another).
    completing: HashSet<String>,
}

struct Inner {
    partitions: i32,
    shards: HashMap<i32, Shard>,
}

impl Inner {
    fn txn_count(&self) -> usize {
        self.shards.values().map(|s| s.txns.len()).sum()
    }

    /// The shard of `transactional_id`, or why it cannot be served here.
    fn shard(&mut self, transactional_id: &str) -> Result<(i32, &mut Shard), i16> {
        let p = txn::partition_for(transactional_id, self.partitions);
        match self.shards.get_mut(&p) {
            None => Err(codes::NOT_COORDINATOR),
            Some(s) if !s.loaded => Err(codes::COORDINATOR_LOAD_IN_PROGRESS),
            Some(s) => Ok((p, s)),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A transition appended to the log, its replication still to come.
struct Pending {
    transactional_id: String,
    partition: i32,
    epoch: i32,
    transit: Transit,
    replicated: BoxFuture<Result<(), i16>>,
}

/// One transaction as DescribeTransactions and ListTransactions report it.
pub type TxnView = TxnMetadata;

pub struct TxnCoordinator {
    inner: Mutex<Inner>,
    max_timeout_ms: i32,
    write_timeout: Duration,
}

impl TxnCoordinator {
    pub fn new(cfg: &BrokerConfig) -> TxnCoordinator {
        TxnCoordinator {
            inner: Mutex::new(Inner {
                partitions: cfg.transaction_state_log_num_partitions.max(1),
                shards: HashMap::new(),
            }),
            max_timeout_ms: cfg.transaction_max_timeout_ms,
            write_timeout: Duration::from_millis(cfg.offsets_commit_timeout_ms),
        }
    }

    /// The `__transaction_state` partition count, from the metadata image once the topic exists.
    pub fn set_partition_count(&self, partitions: i32) {
        if partitions > 0 {
            lock(&self.inner).partitions = partitions;
        }
    }

    /// Partitions led (loaded or loading) here.
    pub fn led_partitions(&self) -> Vec<i32> {
        let mut v: Vec<i32> = lock(&self.inner).shards.keys().copied().collect();
        v.sort_unstable();
        v
    }

    fn still_coordinator(&self, partition: i32, epoch: i32) -> bool {
        lock(&self.inner).shards.get(&partition).is_some_and(|s| s.epoch == epoch && s.loaded)
    }

    // ---- leadership of `__transaction_state` partitions ----

    /// This broker leads `partition` in `epoch`: loads its transactions from the log (in the
    /// background) and then finishes those caught preparing. Idempotent per epoch.
    pub fn on_leader(self: &Arc<Self>, state: &Arc<BrokerState>, partition: i32, epoch: i32) {
        {
            let mut inner = lock(&self.inner);
            if inner.shards.get(&partition).is_some_and(|s| s.epoch == epoch) {
                return;
            }
            inner
                .shards
                .insert(partition, Shard { epoch, loaded: false, txns: HashMap::new(), completing: HashSet::new() });
        }
        tracing::info!(partition, epoch, "loading the transactions of {TXN_TOPIC}-{partition}");
        let (me, state) = (self.clone(), state.clone());
        let load = move || {
            let started = Instant::now();
            match load_partition(&state, partition) {
                Ok((txns, records, skipped)) => me.install(&state, partition, epoch, txns, records, skipped, started),
                Err(code) => {
                    tracing::warn!(partition, epoch, code, "loading {TXN_TOPIC}-{partition} failed; its transactions are unavailable until this broker leads it again");
                    let mut inner = lock(&me.inner);
                    if inner.shards.get(&partition).is_some_and(|s| s.epoch == epoch) {
                        inner.shards.remove(&partition);
                    }
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(load);
            }
            Err(_) => load(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn install(
        self: &Arc<Self>,
        state: &Arc<BrokerState>,
        partition: i32,
        epoch: i32,
        mut txns: HashMap<String, TxnMetadata>,
        records: u64,
        skipped: u64,
        started: Instant,
    ) {
        let preparing: Vec<String>;
        {
            let mut inner = lock(&self.inner);
            let room = TRANSACTIONS_MAX.saturating_sub(inner.txn_count());
            let Some(shard) = inner.shards.get_mut(&partition).filter(|s| s.epoch == epoch && !s.loaded) else {
                return;
            };
            if txns.len() > room {
                tracing::warn!(
                    partition,
                    transactions = txns.len(),
                    room,
                    "more transactional ids than this broker keeps ({TRANSACTIONS_MAX}); the rest are not served"
                );
                let keep: HashSet<String> = txns.keys().take(room).cloned().collect();
                txns.retain(|k, _| keep.contains(k));
            }
            preparing = txns
                .values()
                .filter(|m| matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort))
                .map(|m| m.transactional_id.clone())
                .collect();
            let ongoing = txns.values().filter(|m| m.state == TxnState::Ongoing).count();
            shard.completing.extend(preparing.iter().cloned());
            let count = txns.len();
            shard.txns = txns;
            shard.loaded = true;
            tracing::info!(
                partition,
                epoch,
                transactions = count,
                ongoing,
                preparing = preparing.len(),
                records,
                skipped,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "loaded the transactions of {TXN_TOPIC}-{partition}"
            );
        }
        for id in preparing {
            self.spawn_completion(state, id, partition, epoch);
        }
    }

    /// This broker no longer leads `partition`: drops its transactions. Marker tasks notice and
    /// stop; the new coordinator resends them.
    pub fn on_resign(&self, partition: i32) {
        if lock(&self.inner).shards.remove(&partition).is_some() {
            tracing::info!(partition, "no longer coordinating the transactions of {TXN_TOPIC}-{partition}");
        }
    }

    // ---- writes ----

    /// Marks `transit` pending on its id and appends it to the id's partition (under the lock).
    fn begin(state: &BrokerState, partition: i32, shard: &mut Shard, transit: Transit) -> Result<Pending, i16> {
        let id = transit.transactional_id.clone();
        let m = shard.txns.get_mut(&id).expect("the caller holds the id's metadata");
        m.begin_transition(&transit);
        let record = (txn::encode_key(&id), Some(txn::encode_value(&transit)));
        let batch = rec::batch(&[record], now_ms(), None);
        match state.coordinator_append(TXN_TOPIC, partition, shard.epoch, batch) {
            Ok(appended) => Ok(Pending {
                transactional_id: id,
                partition,
                epoch: shard.epoch,
                transit,
                replicated: appended.replicated,
            }),
            Err(code) => {
                m.abandon_transition();
                tracing::warn!(transactional_id = %id, partition, code, "appending a transaction state change to {TXN_TOPIC} failed");
                Err(append_error_to_response(code))
            }
        }
    }

    /// Waits for the ISR to have a pending transition, then makes it current (or drops it).
    async fn finish(&self, p: Pending) -> Result<Transit, i16> {
        let r = tokio::time::timeout(self.write_timeout, p.replicated).await.unwrap_or(Err(codes::REQUEST_TIMED_OUT));
        let mut inner = lock(&self.inner);
        let Some(shard) = inner.shards.get_mut(&p.partition).filter(|s| s.epoch == p.epoch && s.loaded) else {
            return Err(codes::NOT_COORDINATOR);
        };
        let Some(m) = shard.txns.get_mut(&p.transactional_id) else {
            return Err(codes::NOT_COORDINATOR);
        };
        match r {
            Ok(()) => {
                m.complete_transition(p.transit.clone());
                Ok(p.transit)
            }
            Err(code) => {
                m.abandon_transition();
                tracing::warn!(transactional_id = %p.transactional_id, partition = p.partition, code, "a transaction state change did not reach the ISR");
                // A brand-new id whose first record failed is forgotten, as if never seen.
                if m.producer_epoch < 0 && m.state == TxnState::Empty {
                    shard.txns.remove(&p.transactional_id);
                }
                Err(append_error_to_response(code))
            }
        }
    }

    // ---- InitProducerId ----

    /// InitProducerId with a transactional id: the producer id and epoch to use, after fencing
    /// any earlier producer of the id. `expected` is KIP-360's current id and epoch (v3+).
    pub async fn init_producer_id(
        self: &Arc<Self>,
        state: &Arc<BrokerState>,
        transactional_id: &str,
        timeout_ms: i32,
        expected: Option<ExpectedProducer>,
    ) -> Result<(i64, i16), i16> {
        if timeout_ms <= 0 || timeout_ms > self.max_timeout_ms {
            return Err(codes::INVALID_TRANSACTION_TIMEOUT);
        }
        let mut fresh: Option<i64> = None;
        // Two rounds at most: the first may find it needs a new producer id, which is allocated
        // (through the quorum) without the lock.
        for _ in 0..2 {
            let now = now_ms();
            let pending = {
                let mut inner = lock(&self.inner);
                let full = inner.txn_count() >= TRANSACTIONS_MAX;
                let (partition, shard) = inner.shard(transactional_id)?;
                let needs_id = match shard.txns.get(transactional_id) {
                    None => true,
                    Some(m) => {
                        m.pending.is_none() && m.producer_epoch >= PRODUCER_EPOCH_MAX && m.state != TxnState::Ongoing
                    }
                };
                if needs_id && fresh.is_none() {
                    None
                } else {
                    if !shard.txns.contains_key(transactional_id) {
                        if full {
                            tracing::warn!(
                                transactional_id,
                                "refusing a new transactional id: this broker coordinates {TRANSACTIONS_MAX} already"
                            );
                            return Err(codes::COORDINATOR_NOT_AVAILABLE);
                        }
                        let id = fresh.take().expect("allocated above");
                        shard.txns.insert(
                            transactional_id.to_string(),
                            TxnMetadata::new(transactional_id, id, timeout_ms, now),
                        );
                    }
                    let m = &shard.txns[transactional_id];
                    let spare = fresh.take();
                    let outcome = m.prepare_init(timeout_ms, expected, || spare.unwrap_or(-1), now)?;
                    match outcome {
                        InitOutcome::Ready(t) => Some((Self::begin(state, partition, shard, t)?, false)),
                        InitOutcome::FenceThenAbort(t) => {
                            // Kafka writes no fence record: the abort carries the bumped epoch.
                            let fenced = TxnMetadata { state: TxnState::Ongoing, ..t };
                            let abort = fenced
                                .prepare_end(fenced.producer_id, fenced.producer_epoch, TxnResult::Abort, false, now)?
                                .expect("an ongoing transaction aborts");
                            tracing::info!(
                                transactional_id,
                                producer_id = abort.producer_id,
                                epoch = abort.producer_epoch,
                                "fencing the previous producer: aborting its ongoing transaction"
                            );
                            Some((Self::begin(state, partition, shard, abort)?, true))
                        }
                    }
                }
            };
            let Some((pending, fencing)) = pending else {
                fresh = Some(state.allocate_producer_id().await.map_err(|e| e.code)?);
                continue;
            };
            let (partition, epoch) = (pending.partition, pending.epoch);
            let t = self.finish(pending).await?;
            if fencing {
                self.start_completion(state, transactional_id, partition, epoch);
                return Err(codes::CONCURRENT_TRANSACTIONS);
            }
            return Ok((t.producer_id, t.producer_epoch));
        }
        Err(codes::COORDINATOR_NOT_AVAILABLE)
    }

    // ---- AddPartitionsToTxn / AddOffsetsToTxn ----

    /// Adds partitions to the producer's transaction (starting it if none is ongoing).
    pub async fn add_partitions(
        &self,
        state: &Arc<BrokerState>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<(), i16> {
        let pending = {
            let mut inner = lock(&self.inner);
            let (partition, shard) = inner.shard(transactional_id)?;
            let Some(m) = shard.txns.get(transactional_id) else {
                return Err(codes::INVALID_PRODUCER_ID_MAPPING);
            };
            match m.prepare_add_partitions(producer_id, producer_epoch, partitions, now_ms())? {
                None => return Ok(()),
                Some(t) => Self::begin(state, partition, shard, t)?,
            }
        };
        self.finish(pending).await.map(|_| ())
    }

    /// KIP-890 part 1: for each partition, NONE when it is in the producer's ongoing transaction,
    /// INVALID_TXN_STATE when not; or an error for the whole request.
    pub fn verify(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
    ) -> Result<Vec<i16>, i16> {
        let mut inner = lock(&self.inner);
        let (_, shard) = inner.shard(transactional_id)?;
        let Some(m) = shard.txns.get(transactional_id) else {
            return Err(codes::INVALID_PRODUCER_ID_MAPPING);
        };
        if m.producer_id != producer_id {
            return Err(codes::INVALID_PRODUCER_ID_MAPPING);
        }
        if m.producer_epoch != producer_epoch {
            return Err(codes::PRODUCER_FENCED);
        }
        if m.pending.is_some_and(|p| p != TxnState::PrepareEpochFence)
            || matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort)
        {
            return Err(codes::CONCURRENT_TRANSACTIONS);
        }
        let ongoing = m.state == TxnState::Ongoing;
        Ok(partitions
            .iter()
            .map(|p| if ongoing && m.partitions.contains(p) { codes::NONE } else { codes::INVALID_TXN_STATE })
            .collect())
    }

    // ---- EndTxn ----

    /// EndTxn from the client: PrepareCommit/PrepareAbort is written, then the markers go out in
    /// the background. Answered once the prepare record is replicated.
    pub async fn end_txn(
        self: &Arc<Self>,
        state: &Arc<BrokerState>,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        result: TxnResult,
    ) -> Result<(), i16> {
        let pending = {
            let mut inner = lock(&self.inner);
            let (partition, shard) = inner.shard(transactional_id)?;
            let Some(m) = shard.txns.get(transactional_id) else {
                return Err(codes::INVALID_PRODUCER_ID_MAPPING);
            };
            match m.prepare_end(producer_id, producer_epoch, result, true, now_ms())? {
                None => return Ok(()),
                Some(t) => Self::begin(state, partition, shard, t)?,
            }
        };
        let (partition, epoch) = (pending.partition, pending.epoch);
        self.finish(pending).await?;
        self.start_completion(state, transactional_id, partition, epoch);
        Ok(())
    }

    /// Starts the marker task for an id in PrepareCommit/PrepareAbort unless one runs already.
    fn start_completion(
        self: &Arc<Self>,
        state: &Arc<BrokerState>,
        transactional_id: &str,
        partition: i32,
        epoch: i32,
    ) {
        {
            let mut inner = lock(&self.inner);
            let Some(shard) = inner.shards.get_mut(&partition).filter(|s| s.epoch == epoch) else {
                return;
            };
            if !shard.completing.insert(transactional_id.to_string()) {
                return;
            }
        }
        self.spawn_completion(state, transactional_id.to_string(), partition, epoch);
    }

    /// The marker task (its id already in `completing`): every partition's marker, then the
    /// Complete record. Ends early when this broker stops coordinating the id.
    fn spawn_completion(
        self: &Arc<Self>,
        state: &Arc<BrokerState>,
        transactional_id: String,
        partition: i32,
        epoch: i32,
    ) {
        let (me, state) = (self.clone(), state.clone());
        tokio::spawn(async move {
            let outcome = me.complete(&state, &transactional_id, partition, epoch).await;
            if let Err(why) = &outcome {
                tracing::warn!(transactional_id, partition, epoch, "completing the transaction stopped: {why}");
            }
            let mut inner = lock(&me.inner);
            if let Some(shard) = inner.shards.get_mut(&partition).filter(|s| s.epoch == epoch) {
                shard.completing.remove(&transactional_id);
            }
        });
    }

    async fn complete(
        &self,
        state: &Arc<BrokerState>,
        transactional_id: &str,
        partition: i32,
        epoch: i32,
    ) -> Result<(), String> {
        let markers = {
            let inner = lock(&self.inner);
            let Some(m) = inner
                .shards
                .get(&partition)
                .filter(|s| s.epoch == epoch && s.loaded)
                .and_then(|s| s.txns.get(transactional_id))
            else {
                return Err("no longer the coordinator".into());
            };
            let result = match m.state {
                TxnState::PrepareCommit => TxnResult::Commit,
                TxnState::PrepareAbort => TxnResult::Abort,
                _ => return Ok(()),
            };
            Markers {
                producer_id: m.producer_id,
                producer_epoch: m.producer_epoch,
                result,
                coordinator_epoch: epoch,
                partitions: m.partitions.clone(),
            }
        };
        let started = Instant::now();
        match txn_markers::write_markers(state, &markers, || self.still_coordinator(partition, epoch)).await {
            Ok(()) => {}
            Err(MarkerError::NoLongerCoordinator) => {
                return Err("no longer the coordinator; the next one resends the markers".into())
            }
            Err(MarkerError::Refused { topic, partition: p, code }) => {
                return Err(format!("{topic}-{p} refused the marker with error {code}"))
            }
            Err(MarkerError::GaveUp) => {
                return Err("markers not all written after every retry; the next tick tries again".into())
            }
        }
        let pending = {
            let mut inner = lock(&self.inner);
            let Some(shard) = inner.shards.get_mut(&partition).filter(|s| s.epoch == epoch && s.loaded) else {
                return Err("no longer the coordinator".into());
            };
            let Some(m) = shard.txns.get(transactional_id) else {
                return Err("the transactional id is gone".into());
            };
            if m.pending.is_some() {
                return Err("another transition is in flight".into());
            }
            let Some(t) = m.prepare_complete(now_ms()) else {
                return Ok(());
            };
            Self::begin(state, partition, shard, t)
                .map_err(|code| format!("writing the Complete record failed with error {code}"))?
        };
        let t = self
            .finish(pending)
            .await
            .map_err(|code| format!("the Complete record did not reach the ISR (error {code})"))?;
        tracing::debug!(
            transactional_id,
            partitions = markers.partitions.len(),
            state = t.state.name(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "transaction completed"
        );
        Ok(())
    }

    // ---- the timer ----

    /// Aborts Ongoing transactions past their timeout (fencing their producers with an epoch
    /// bump) and restarts stalled completions; at most [`TIMEOUT_ABORTS_PER_TICK_MAX`] of each.
    pub async fn tick(self: &Arc<Self>, state: &Arc<BrokerState>) {
        let now = now_ms();
        let mut aborts = Vec::new();
        let mut stalled = Vec::new();
        {
            let mut inner = lock(&self.inner);
            for (partition, shard) in inner.shards.iter_mut().filter(|(_, s)| s.loaded) {
                for m in shard.txns.values() {
                    if aborts.len() < TIMEOUT_ABORTS_PER_TICK_MAX && m.timed_out(now) {
                        aborts.push(m.transactional_id.clone());
                    } else if stalled.len() < TIMEOUT_ABORTS_PER_TICK_MAX
                        && m.pending.is_none()
                        && matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort)
                        && !shard.completing.contains(&m.transactional_id)
                    {
                        stalled.push((m.transactional_id.clone(), *partition, shard.epoch));
                    }
                }
            }
        }
        for (id, partition, epoch) in stalled {
            self.start_completion(state, &id, partition, epoch);
        }
        for id in aborts {
            let pending = {
                let mut inner = lock(&self.inner);
                let Ok((partition, shard)) = inner.shard(&id) else {
                    continue;
                };
                let Some(m) = shard.txns.get(&id).filter(|m| m.timed_out(now)) else {
                    continue;
                };
                let fenced = TxnMetadata { state: TxnState::Ongoing, ..m.prepare_fence(now) };
                let Ok(Some(abort)) =
                    fenced.prepare_end(fenced.producer_id, fenced.producer_epoch, TxnResult::Abort, false, now)
                else {
                    continue;
                };
                tracing::info!(transactional_id = %id, producer_id = abort.producer_id, epoch = abort.producer_epoch, timeout_ms = m.timeout_ms, "aborting a transaction past its timeout and fencing its producer");
                match Self::begin(state, partition, shard, abort) {
                    Ok(p) => p,
                    Err(_) => continue,
                }
            };
            let (partition, epoch) = (pending.partition, pending.epoch);
            if self.finish(pending).await.is_ok() {
                self.start_completion(state, &id, partition, epoch);
            }
        }
    }

    // ---- DescribeTransactions / ListTransactions ----

    /// The state of one transactional id; `Ok(None)` when this coordinator does not know it.
    pub fn describe(&self, transactional_id: &str) -> Result<Option<TxnView>, i16> {
        let mut inner = lock(&self.inner);
        let (_, shard) = inner.shard(transactional_id)?;
        Ok(shard.txns.get(transactional_id).cloned())
    }

    /// Every transaction coordinated here; COORDINATOR_LOAD_IN_PROGRESS while a shard loads.
    pub fn list(&self) -> Result<Vec<TxnView>, i16> {
        let inner = lock(&self.inner);
        if inner.shards.values().any(|s| !s.loaded) {
            return Err(codes::COORDINATOR_LOAD_IN_PROGRESS);
        }
        let mut out: Vec<TxnView> = inner.shards.values().flat_map(|s| s.txns.values().cloned()).collect();
        out.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        Ok(out)
    }
}

/// Reads a `__transaction_state` partition from its log start to the log end found at the start
/// and replays it: the last record of each id wins, a tombstone removes the id. Undecodable
/// records are skipped with a warning (one bad record must not make a whole partition's ids
/// unavailable). Returns the ids, the records replayed and those skipped. Bounded: each step
/// moves forward by at least one batch.
fn load_partition(state: &BrokerState, partition: i32) -> Result<(HashMap<String, TxnMetadata>, u64, u64), i16> {
    let (start, end) = state.coordinator_range(TXN_TOPIC, partition)?;
    let mut txns: HashMap<String, TxnMetadata> = HashMap::new();
    let (mut records, mut skipped) = (0u64, 0u64);
    let mut offset = start;
    while offset < end {
        let bytes = state.coordinator_read(TXN_TOPIC, partition, offset, LOAD_BUFFER_BYTES, end)?;
        let mut next = offset;
        let mut at = 0usize;
        while at < bytes.len() {
            let Some(header) = BatchHeader::parse(&bytes[at..]) else {
                break;
            };
            let size = header.size_bytes() as usize;
            let Some(batch) = bytes.get(at..at + size).filter(|_| size >= oxbow_log::batch::HEADER_BYTES) else {
                break;
            };
            next = header.next_offset();
            at += size;
            if header.is_control() {
                continue;
            }
            let decoded = match oxbow_log::record::decode_records(batch) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(partition, offset = header.base_offset, error = %e, "skipping an undecodable batch in {TXN_TOPIC}");
                    skipped += 1;
                    continue;
                }
            };
            for r in decoded {
                let Some(key) = r.key.as_ref() else {
                    skipped += 1;
                    continue;
                };
                let replayed =
                    txn::decode_key(key).and_then(|id| txn::decode_value(&id, r.value.as_deref()).map(|v| (id, v)));
                match replayed {
                    Ok((id, Some(m))) => {
                        records += 1;
                        txns.insert(id, m);
                    }
                    Ok((id, None)) => {
                        records += 1;
                        txns.remove(&id);
                    }
                    Err(e) => {
                        tracing::warn!(partition, offset = header.base_offset + i64::from(r.offset_delta), error = %e, "skipping an undecodable record");
                        skipped += 1;
                    }
                }
            }
        }
        if next <= offset {
            tracing::warn!(partition, offset, "loading stopped: no whole batch at this offset");
            break;
        }
        offset = next;
    }
    Ok((txns, records, skipped))
}

/// The partitions of a transaction grouped by topic, in order (DescribeTransactions' layout).
pub fn by_topic(partitions: &BTreeSet<(String, i32)>) -> Vec<(String, Vec<i32>)> {
    let mut out: Vec<(String, Vec<i32>)> = Vec::new();
    for (t, p) in partitions {
        match out.last_mut() {
            Some((last, ps)) if last == t => ps.push(*p),
            _ => out.push((t.clone(), vec![*p])),
        }
    }
    out
}
