//! The transaction coordinator's state machine and its `__transaction_state` records (KIP-98),
//! following Apache Kafka's `TransactionCoordinator` / `TransactionMetadata` with the original
//! transaction protocol (version 1: the producer's epoch is bumped by InitProducerId and by
//! fencing, not per transaction).
//!
//! Pure: no I/O, no clock (callers pass `now_ms`), no locks. Every client request first
//! *prepares* a transition ([`TxnMetadata::prepare_init`], [`TxnMetadata::prepare_add_partitions`],
//! [`TxnMetadata::prepare_end`], …) that checks it against the current state and returns the
//! metadata to persist; the caller appends that as a record to the transactional id's
//! `__transaction_state` partition and, once the append is committed, makes it current with
//! [`TxnMetadata::complete_transition`]. While an append is in flight the metadata has a pending
//! state and every other request gets CONCURRENT_TRANSACTIONS, as in Kafka — so a crash between
//! the two leaves the log, not memory, as the truth.
//!
//! Deliberately not here: transaction protocol version 2 (KIP-890 part 2, an epoch bump per
//! transaction: clients use it only when the broker advertises the `transaction.version` feature,
//! which Oxbow does not), transactional id expiration.

pub use super::wire::DecodeError;
use super::wire::{put_string, Reader};
use crate::codes;
use std::collections::BTreeSet;

/// `transaction.max.timeout.ms`: the longest transaction timeout a producer may ask for.
pub const TRANSACTION_TIMEOUT_MS_MAX_DEFAULT: i32 = 900_000;
/// An epoch at this value cannot be bumped again: the producer gets a new producer id instead.
pub const PRODUCER_EPOCH_MAX: i16 = i16::MAX - 1;
/// Partitions one transaction may span: bounds the metadata record and the markers to send.
pub const TRANSACTION_PARTITIONS_MAX: usize = 100_000;

/// Kafka's `TransactionState`, with its on-disk ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
    Dead,
    PrepareEpochFence,
}

impl TxnState {
    pub fn id(self) -> i8 {
        match self {
            TxnState::Empty => 0,
            TxnState::Ongoing => 1,
            TxnState::PrepareCommit => 2,
            TxnState::PrepareAbort => 3,
            TxnState::CompleteCommit => 4,
            TxnState::CompleteAbort => 5,
            TxnState::Dead => 6,
            TxnState::PrepareEpochFence => 7,
        }
    }

    pub fn from_id(id: i8) -> Option<TxnState> {
        Some(match id {
            0 => TxnState::Empty,
            1 => TxnState::Ongoing,
            2 => TxnState::PrepareCommit,
            3 => TxnState::PrepareAbort,
            4 => TxnState::CompleteCommit,
            5 => TxnState::CompleteAbort,
            6 => TxnState::Dead,
            7 => TxnState::PrepareEpochFence,
            _ => return None,
        })
    }

    /// The name DescribeTransactions and ListTransactions report (and filter by).
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }
}

/// How a transaction ends: the marker written to each of its partitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnResult {
    Commit,
    Abort,
}

/// One transactional id's state, as the coordinator keeps it and `__transaction_state` stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnMetadata {
    pub transactional_id: String,
    pub producer_id: i64,
    /// The producer id before the last rotation (-1 when none): a retry of the InitProducerId
    /// that rotated it is recognised by it.
    pub last_producer_id: i64,
    pub producer_epoch: i16,
    /// The epoch before the last bump (-1 when none).
    pub last_producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// Partitions in the current transaction (topic, partition), ordered for stable records.
    pub partitions: BTreeSet<(String, i32)>,
    /// When the current transaction started (-1 when none).
    pub start_ms: i64,
    pub last_update_ms: i64,
    /// A transition prepared and being appended; requests meanwhile get CONCURRENT_TRANSACTIONS.
    pub pending: Option<TxnState>,
}

/// What the caller persists for a prepared transition: the metadata as it will be.
pub type Transit = TxnMetadata;

/// What InitProducerId needs from the caller before it can prepare: a fresh producer id when the
/// epoch is exhausted or the transactional id is new.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpectedProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// What an InitProducerId request leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum InitOutcome {
    /// Persist this, then answer with its producer id and epoch.
    Ready(Transit),
    /// An ongoing transaction must be aborted first with this (epoch-bumped) metadata; the client
    /// is answered CONCURRENT_TRANSACTIONS and retries, which bumps the epoch again.
    FenceThenAbort(Transit),
}

impl TxnMetadata {
    /// A transactional id seen for the first time: Empty, no epoch yet (the first InitProducerId
    /// bumps it to 0).
    pub fn new(transactional_id: &str, producer_id: i64, timeout_ms: i32, now_ms: i64) -> TxnMetadata {
        TxnMetadata {
            transactional_id: transactional_id.to_string(),
            producer_id,
            last_producer_id: -1,
            producer_epoch: -1,
            last_producer_epoch: -1,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            start_ms: -1,
            last_update_ms: now_ms,
            pending: None,
        }
    }

    fn epoch_exhausted(epoch: i16) -> bool {
        epoch >= PRODUCER_EPOCH_MAX
    }

    fn transit(&self, state: TxnState, now_ms: i64) -> Transit {
        TxnMetadata { state, last_update_ms: now_ms, pending: None, ..self.clone() }
    }

    /// Marks `transit` as in flight; call before appending it.
    pub fn begin_transition(&mut self, transit: &Transit) {
        debug_assert!(self.pending.is_none(), "one transition at a time");
        self.pending = Some(transit.state);
    }

    /// Makes a persisted transition current.
    pub fn complete_transition(&mut self, transit: Transit) {
        *self = TxnMetadata { pending: None, ..transit };
    }

    /// Drops an in-flight transition whose append failed; the state stays as it was.
    pub fn abandon_transition(&mut self) {
        self.pending = None;
    }

    /// InitProducerId for this transactional id. `fresh_producer_id` is used only when the epoch
    /// is exhausted (the producer id rotates); `expected` is the producer's current id and epoch
    /// (InitProducerId v3+, KIP-360), checked so a zombie cannot take over.
    pub fn prepare_init(
        &self,
        timeout_ms: i32,
        expected: Option<ExpectedProducer>,
        fresh_producer_id: impl FnOnce() -> i64,
        now_ms: i64,
    ) -> Result<InitOutcome, i16> {
        if self.pending.is_some() {
            return Err(codes::CONCURRENT_TRANSACTIONS);
        }
        if let Some(e) = expected {
            // Kafka's isValidProducerId: a just-created id, the current id, or a retry of the
            // rotation that replaced `e`'s exhausted id.
            let valid = self.producer_epoch == -1
                || e.producer_id == self.producer_id
                || (e.producer_id == self.last_producer_id && Self::epoch_exhausted(e.producer_epoch));
            if !valid {
                return Err(codes::PRODUCER_FENCED);
            }
        }
        match self.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => Err(codes::CONCURRENT_TRANSACTIONS),
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let mut next = self.transit(TxnState::Empty, now_ms);
                next.timeout_ms = timeout_ms;
                next.partitions.clear();
                next.start_ms = -1;
                if Self::epoch_exhausted(self.producer_epoch)
                    && expected.is_none_or(|e| e.producer_epoch == self.producer_epoch)
                {
                    next.last_producer_id = self.producer_id;
                    next.producer_id = fresh_producer_id();
                    next.last_producer_epoch = -1;
                    next.producer_epoch = 0;
                    return Ok(InitOutcome::Ready(next));
                }
                match expected {
                    // A retry of an InitProducerId whose answer was lost: same epoch again.
                    Some(e)
                        if e.producer_id == self.producer_id
                            && e.producer_epoch == self.last_producer_epoch
                            && self.last_producer_epoch != -1 =>
                    {
                        next.producer_epoch = self.producer_epoch;
                        next.last_producer_epoch = self.last_producer_epoch;
                    }
                    Some(e) if e.producer_id == self.producer_id && e.producer_epoch != self.producer_epoch => {
                        return Err(codes::PRODUCER_FENCED);
                    }
                    _ => {
                        next.last_producer_epoch = self.producer_epoch;
                        next.producer_epoch = self.producer_epoch + 1;
                    }
                }
                Ok(InitOutcome::Ready(next))
            }
            TxnState::Ongoing => {
                // Fence the current producer by bumping the epoch, then abort its transaction with
                // that epoch; the new epoch is never given to a client.
                let mut next = self.transit(TxnState::PrepareEpochFence, now_ms);
                next.last_producer_epoch = -1;
                next.producer_epoch = if Self::epoch_exhausted(self.producer_epoch) {
                    self.producer_epoch
                } else {
                    self.producer_epoch + 1
                };
                Ok(InitOutcome::FenceThenAbort(next))
            }
            TxnState::Dead | TxnState::PrepareEpochFence => Err(codes::CONCURRENT_TRANSACTIONS),
        }
    }

    fn check_producer(&self, producer_id: i64, producer_epoch: i16) -> Result<(), i16> {
        if producer_id != self.producer_id {
            return Err(codes::INVALID_PRODUCER_ID_MAPPING);
        }
        if producer_epoch != self.producer_epoch {
            return Err(codes::PRODUCER_FENCED);
        }
        if self.pending.is_some() {
            return Err(codes::CONCURRENT_TRANSACTIONS);
        }
        Ok(())
    }

    /// AddPartitionsToTxn (and AddOffsetsToTxn, whose partition is the group's offsets
    /// partition). `Ok(None)`: nothing to persist, the partitions are already in.
    pub fn prepare_add_partitions(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[(String, i32)],
        now_ms: i64,
    ) -> Result<Option<Transit>, i16> {
        self.check_producer(producer_id, producer_epoch)?;
        match self.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => return Err(codes::CONCURRENT_TRANSACTIONS),
            TxnState::Ongoing if partitions.iter().all(|p| self.partitions.contains(p)) => return Ok(None),
            TxnState::Dead | TxnState::PrepareEpochFence => return Err(codes::CONCURRENT_TRANSACTIONS),
            _ => {}
        }
        let mut next = self.transit(TxnState::Ongoing, now_ms);
        if self.state != TxnState::Ongoing {
            next.partitions.clear();
            next.start_ms = now_ms;
        }
        next.partitions.extend(partitions.iter().cloned());
        if next.partitions.len() > TRANSACTION_PARTITIONS_MAX {
            return Err(codes::INVALID_REQUEST);
        }
        Ok(Some(next))
    }

    /// EndTxn from a client (`from_client`: the epoch must match exactly) or from the coordinator
    /// itself (a timeout or a fencing abort, with the bumped epoch). `Ok(None)`: a retry of an
    /// EndTxn that already completed; answer success.
    pub fn prepare_end(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        result: TxnResult,
        from_client: bool,
        now_ms: i64,
    ) -> Result<Option<Transit>, i16> {
        if producer_id != self.producer_id {
            return Err(codes::INVALID_PRODUCER_ID_MAPPING);
        }
        if (from_client && producer_epoch != self.producer_epoch) || producer_epoch < self.producer_epoch {
            return Err(codes::PRODUCER_FENCED);
        }
        if self.pending.is_some() {
            return Err(codes::CONCURRENT_TRANSACTIONS);
        }
        let same = |r: TxnResult| r == result;
        match self.state {
            TxnState::Ongoing => {
                let state = if result == TxnResult::Commit { TxnState::PrepareCommit } else { TxnState::PrepareAbort };
                let mut next = self.transit(state, now_ms);
                next.producer_epoch = producer_epoch;
                if producer_epoch != self.producer_epoch {
                    next.last_producer_epoch = -1;
                }
                Ok(Some(next))
            }
            TxnState::CompleteCommit if same(TxnResult::Commit) => Ok(None),
            TxnState::CompleteAbort if same(TxnResult::Abort) => Ok(None),
            TxnState::PrepareCommit if same(TxnResult::Commit) => Err(codes::CONCURRENT_TRANSACTIONS),
            TxnState::PrepareAbort if same(TxnResult::Abort) => Err(codes::CONCURRENT_TRANSACTIONS),
            TxnState::Dead | TxnState::PrepareEpochFence => Err(codes::CONCURRENT_TRANSACTIONS),
            _ => Err(codes::INVALID_TXN_STATE),
        }
    }

    /// Once every partition has its marker: CompleteCommit or CompleteAbort, partitions cleared.
    pub fn prepare_complete(&self, now_ms: i64) -> Option<Transit> {
        let state = match self.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            _ => return None,
        };
        let mut next = self.transit(state, now_ms);
        next.partitions.clear();
        Some(next)
    }

    /// An Ongoing transaction past its timeout, to be aborted by the coordinator with a bumped
    /// epoch (fencing the producer, as Kafka's `abortTimedOutTransactions`).
    pub fn timed_out(&self, now_ms: i64) -> bool {
        self.state == TxnState::Ongoing
            && self.pending.is_none()
            && self.start_ms >= 0
            && now_ms > self.start_ms.saturating_add(i64::from(self.timeout_ms))
    }

    /// The fencing transition for a timed-out (or zombie) transaction: the epoch bumped, to be
    /// followed by [`TxnMetadata::prepare_end`] with Abort and `from_client: false`.
    pub fn prepare_fence(&self, now_ms: i64) -> Transit {
        let mut next = self.transit(TxnState::PrepareEpochFence, now_ms);
        next.last_producer_epoch = -1;
        if !Self::epoch_exhausted(self.producer_epoch) {
            next.producer_epoch = self.producer_epoch + 1;
        }
        next
    }
}

// ---- `__transaction_state` records: TransactionLogKey v0 / TransactionLogValue v0–v1 ----

/// The record key: version 0, then the transactional id (Kafka's TransactionLogKey).
pub fn encode_key(transactional_id: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + transactional_id.len());
    out.extend_from_slice(&0i16.to_be_bytes());
    put_string(&mut out, transactional_id);
    out
}

/// The record value, version 0 (what Kafka writes for transaction protocol version 1). A
/// PrepareEpochFence state is never written: Kafka persists it as Ongoing with the new epoch.
pub fn encode_value(m: &TxnMetadata) -> Vec<u8> {
    let state = if m.state == TxnState::PrepareEpochFence { TxnState::Ongoing } else { m.state };
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&0i16.to_be_bytes());
    out.extend_from_slice(&m.producer_id.to_be_bytes());
    out.extend_from_slice(&m.producer_epoch.to_be_bytes());
    out.extend_from_slice(&m.timeout_ms.to_be_bytes());
    out.push(state.id() as u8);
    if state == TxnState::Empty && m.partitions.is_empty() {
        out.extend_from_slice(&(-1i32).to_be_bytes());
    } else {
        let topics = by_topic(&m.partitions);
        out.extend_from_slice(&(topics.len() as i32).to_be_bytes());
        for (topic, parts) in topics {
            put_string(&mut out, topic);
            out.extend_from_slice(&(parts.len() as i32).to_be_bytes());
            for p in parts {
                out.extend_from_slice(&p.to_be_bytes());
            }
        }
    }
    out.extend_from_slice(&m.last_update_ms.to_be_bytes());
    out.extend_from_slice(&m.start_ms.to_be_bytes());
    out
}

fn by_topic(partitions: &BTreeSet<(String, i32)>) -> Vec<(&str, Vec<i32>)> {
    let mut out: Vec<(&str, Vec<i32>)> = Vec::new();
    for (t, p) in partitions {
        match out.last_mut() {
            Some((last, ps)) if *last == t.as_str() => ps.push(*p),
            _ => out.push((t.as_str(), vec![*p])),
        }
    }
    out
}

/// Reads a record key: the transactional id.
pub fn decode_key(bytes: &[u8]) -> Result<String, DecodeError> {
    let mut r = Reader::new(bytes);
    let version = r.i16("key version")?;
    if version != 0 {
        return Err(DecodeError(format!("unknown key version {version}")));
    }
    r.string(false, "transactional id")
}

/// Reads a record value (versions 0 and 1); `None` for a tombstone (an expired id).
pub fn decode_value(transactional_id: &str, bytes: Option<&[u8]>) -> Result<Option<TxnMetadata>, DecodeError> {
    let Some(bytes) = bytes else { return Ok(None) };
    let mut r = Reader::new(bytes);
    let version = r.i16("value version")?;
    if !(0..=1).contains(&version) {
        return Err(DecodeError(format!("unknown value version {version}")));
    }
    let flexible = version >= 1;
    let producer_id = r.i64("producer id")?;
    let producer_epoch = r.i16("producer epoch")?;
    let timeout_ms = r.i32("transaction timeout")?;
    let status = r.i8("transaction status")?;
    let state = TxnState::from_id(status).ok_or_else(|| DecodeError(format!("unknown transaction status {status}")))?;
    let mut partitions = BTreeSet::new();
    if let Some(topics) = r.array_len_opt(flexible, "transaction partitions")? {
        for _ in 0..topics {
            let topic = r.string(flexible, "topic")?;
            let n = r.array_len_opt(flexible, "partition ids")?.unwrap_or(0);
            for _ in 0..n {
                partitions.insert((topic.clone(), r.i32("partition id")?));
            }
            if flexible {
                r.tagged("topic tagged fields")?;
            }
        }
    }
    let last_update_ms = r.i64("last update time")?;
    let start_ms = r.i64("start time")?;
    let mut last_producer_id = -1;
    if flexible {
        for (tag, value) in r.tagged("tagged fields")? {
            if tag == 0 && value.len() == 8 {
                last_producer_id = i64::from_be_bytes(value.try_into().expect("8 bytes"));
            }
        }
    }
    Ok(Some(TxnMetadata {
        transactional_id: transactional_id.to_string(),
        producer_id,
        last_producer_id,
        producer_epoch,
        last_producer_epoch: -1,
        timeout_ms,
        state,
        partitions,
        start_ms,
        last_update_ms,
        pending: None,
    }))
}

/// The `__transaction_state` partition of a transactional id: Kafka's
/// `Utils.abs(transactionalId.hashCode) % partitions`.
pub fn partition_for(transactional_id: &str, partitions: i32) -> i32 {
    assert!(partitions > 0);
    let hash = crate::coordinator::java_string_hash(transactional_id);
    // Kafka's Utils.abs maps i32::MIN to 0 rather than overflowing.
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000;

    fn meta(state: TxnState, epoch: i16) -> TxnMetadata {
        TxnMetadata { producer_epoch: epoch, state, ..TxnMetadata::new("tx", 7, 60_000, 0) }
    }

    fn ready(o: Result<InitOutcome, i16>) -> TxnMetadata {
        match o {
            Ok(InitOutcome::Ready(t)) => t,
            other => panic!("expected Ready, got {other:?}"),
        }
    }

    #[test]
    fn first_init_gives_epoch_zero_and_each_init_bumps_it() {
        let m = TxnMetadata::new("tx", 7, 60_000, 0);
        let t = ready(m.prepare_init(30_000, None, || unreachable!(), NOW));
        assert_eq!((t.producer_id, t.producer_epoch, t.timeout_ms, t.state), (7, 0, 30_000, TxnState::Empty));
        let t2 = ready(t.prepare_init(30_000, None, || unreachable!(), NOW));
        assert_eq!((t2.producer_epoch, t2.last_producer_epoch), (1, 0));
    }

    #[test]
    fn an_exhausted_epoch_rotates_the_producer_id() {
        let m = meta(TxnState::CompleteCommit, PRODUCER_EPOCH_MAX);
        let t = ready(m.prepare_init(1_000, None, || 99, NOW));
        assert_eq!((t.producer_id, t.producer_epoch, t.last_producer_id), (99, 0, 7));
        // A retry from the producer that still holds the exhausted id is recognised, not fenced.
        let retry = t.prepare_init(
            1_000,
            Some(ExpectedProducer { producer_id: 7, producer_epoch: PRODUCER_EPOCH_MAX }),
            || 100,
            NOW,
        );
        assert!(matches!(retry, Ok(InitOutcome::Ready(_))), "{retry:?}");
    }

    #[test]
    fn init_fences_a_zombie_and_waits_for_a_preparing_transaction() {
        let m = meta(TxnState::CompleteAbort, 4);
        let stranger = Some(ExpectedProducer { producer_id: 8, producer_epoch: 4 });
        assert_eq!(m.prepare_init(1_000, stranger, || 0, NOW), Err(codes::PRODUCER_FENCED));
        for s in [TxnState::PrepareCommit, TxnState::PrepareAbort] {
            assert_eq!(meta(s, 4).prepare_init(1_000, None, || 0, NOW), Err(codes::CONCURRENT_TRANSACTIONS));
        }
        match meta(TxnState::Ongoing, 4).prepare_init(1_000, None, || 0, NOW) {
            Ok(InitOutcome::FenceThenAbort(t)) => {
                assert_eq!((t.state, t.producer_epoch), (TxnState::PrepareEpochFence, 5))
            }
            other => panic!("{other:?}"),
        }
        let mut busy = meta(TxnState::Empty, 4);
        busy.pending = Some(TxnState::Empty);
        assert_eq!(busy.prepare_init(1_000, None, || 0, NOW), Err(codes::CONCURRENT_TRANSACTIONS));
    }

    fn tp(t: &str, p: i32) -> (String, i32) {
        (t.to_string(), p)
    }

    #[test]
    fn add_partitions_starts_and_extends_a_transaction() {
        let m = meta(TxnState::Empty, 0);
        let t = m.prepare_add_partitions(7, 0, &[tp("a", 0)], NOW).unwrap().unwrap();
        assert_eq!((t.state, t.start_ms, t.partitions.len()), (TxnState::Ongoing, NOW, 1));
        assert_eq!(t.prepare_add_partitions(7, 0, &[tp("a", 0)], NOW + 1), Ok(None), "already in: nothing to persist");
        let t2 = t.prepare_add_partitions(7, 0, &[tp("b", 3)], NOW + 1).unwrap().unwrap();
        assert_eq!((t2.start_ms, t2.partitions.len()), (NOW, 2), "the start time stays");
        assert_eq!(t.prepare_add_partitions(8, 0, &[tp("a", 1)], NOW), Err(codes::INVALID_PRODUCER_ID_MAPPING));
        assert_eq!(t.prepare_add_partitions(7, 1, &[tp("a", 1)], NOW), Err(codes::PRODUCER_FENCED));
        assert_eq!(
            meta(TxnState::PrepareCommit, 0).prepare_add_partitions(7, 0, &[tp("a", 1)], NOW),
            Err(codes::CONCURRENT_TRANSACTIONS)
        );
    }

    #[test]
    fn end_txn_follows_kafkas_table() {
        let ongoing = meta(TxnState::Ongoing, 2);
        let c = ongoing.prepare_end(7, 2, TxnResult::Commit, true, NOW).unwrap().unwrap();
        assert_eq!(c.state, TxnState::PrepareCommit);
        let done = c.prepare_complete(NOW).unwrap();
        assert_eq!((done.state, done.partitions.len()), (TxnState::CompleteCommit, 0));
        // A retried EndTxn after completion succeeds; the opposite result is refused.
        assert_eq!(done.prepare_end(7, 2, TxnResult::Commit, true, NOW), Ok(None));
        assert_eq!(done.prepare_end(7, 2, TxnResult::Abort, true, NOW), Err(codes::INVALID_TXN_STATE));
        assert_eq!(c.prepare_end(7, 2, TxnResult::Commit, true, NOW), Err(codes::CONCURRENT_TRANSACTIONS));
        assert_eq!(c.prepare_end(7, 2, TxnResult::Abort, true, NOW), Err(codes::INVALID_TXN_STATE));
        assert_eq!(
            meta(TxnState::Empty, 2).prepare_end(7, 2, TxnResult::Commit, true, NOW),
            Err(codes::INVALID_TXN_STATE)
        );
        assert_eq!(ongoing.prepare_end(7, 1, TxnResult::Commit, true, NOW), Err(codes::PRODUCER_FENCED));
        // The coordinator aborts with a bumped epoch; a client may not.
        assert_eq!(ongoing.prepare_end(7, 3, TxnResult::Abort, true, NOW), Err(codes::PRODUCER_FENCED));
        let fenced = ongoing.prepare_end(7, 3, TxnResult::Abort, false, NOW).unwrap().unwrap();
        assert_eq!((fenced.state, fenced.producer_epoch), (TxnState::PrepareAbort, 3));
    }

    #[test]
    fn a_transaction_times_out_after_its_timeout() {
        let mut m = meta(TxnState::Ongoing, 0);
        m.start_ms = 100;
        m.timeout_ms = 50;
        assert!(!m.timed_out(150));
        assert!(m.timed_out(151));
        let f = m.prepare_fence(151);
        assert_eq!((f.state, f.producer_epoch), (TxnState::PrepareEpochFence, 1));
    }

    #[test]
    fn records_round_trip_in_kafkas_layout() {
        let mut m = meta(TxnState::Ongoing, 3);
        m.partitions = [tp("orders", 0), tp("orders", 2), tp("audit", 1)].into_iter().collect();
        m.start_ms = 10;
        m.last_update_ms = 20;
        let key = encode_key("tx");
        assert_eq!(key, [0, 0, 0, 2, b't', b'x']);
        assert_eq!(decode_key(&key).unwrap(), "tx");
        let value = encode_value(&m);
        // version, producer id, epoch, timeout, status, 2 topics ("audit" [1], "orders" [0, 2]), times.
        let mut expected = vec![0, 0];
        expected.extend_from_slice(&7i64.to_be_bytes());
        expected.extend_from_slice(&3i16.to_be_bytes());
        expected.extend_from_slice(&60_000i32.to_be_bytes());
        expected.push(1);
        expected.extend_from_slice(&2i32.to_be_bytes());
        expected.extend_from_slice(&[0, 5, b'a', b'u', b'd', b'i', b't', 0, 0, 0, 1, 0, 0, 0, 1]);
        expected.extend_from_slice(&[0, 6, b'o', b'r', b'd', b'e', b'r', b's', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2]);
        expected.extend_from_slice(&20i64.to_be_bytes());
        expected.extend_from_slice(&10i64.to_be_bytes());
        assert_eq!(value, expected);
        let back = decode_value("tx", Some(&value)).unwrap().unwrap();
        assert_eq!(back, TxnMetadata { last_producer_epoch: -1, ..m });
        assert_eq!(decode_value("tx", None).unwrap(), None);
        let empty = encode_value(&meta(TxnState::Empty, 0));
        assert_eq!(&empty[17..21], &(-1i32).to_be_bytes(), "an Empty id stores a null partition list");
    }

    #[test]
    fn reads_a_flexible_version_1_value() {
        let mut v = vec![0, 1];
        v.extend_from_slice(&5i64.to_be_bytes());
        v.extend_from_slice(&1i16.to_be_bytes());
        v.extend_from_slice(&1000i32.to_be_bytes());
        v.push(4);
        v.extend_from_slice(&[2, 2, b't', 2, 0, 0, 0, 9, 0]); // 1 topic "t", partitions [9], no tags
        v.extend_from_slice(&3i64.to_be_bytes());
        v.extend_from_slice(&2i64.to_be_bytes());
        v.extend_from_slice(&[1, 0, 8]); // one tagged field: previous producer id
        v.extend_from_slice(&4i64.to_be_bytes());
        let m = decode_value("x", Some(&v)).unwrap().unwrap();
        assert_eq!(
            (m.producer_id, m.last_producer_id, m.state, m.partitions.len()),
            (5, 4, TxnState::CompleteCommit, 1)
        );
    }

    #[test]
    fn corrupt_records_are_errors_not_panics() {
        for bad in [
            &[][..],
            &[0, 0, 0][..],
            &[0, 9][..],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, 0, 0, 0, 0, 0x7f, 0, 0, 0, 0][..],
        ] {
            assert!(decode_value("x", Some(bad)).is_err(), "{bad:?}");
        }
        assert!(decode_key(&[0, 1, 0, 0]).is_err());
    }

    #[test]
    fn transactional_ids_map_to_partitions_as_in_kafka() {
        // "hello".hashCode() = 99162322 → 99162322 % 50 = 22.
        assert_eq!(partition_for("hello", 50), 22);
        assert!((0..50).contains(&partition_for("", 50)));
    }
}
