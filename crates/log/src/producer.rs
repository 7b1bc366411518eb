//! Producer state: Kafka's `ProducerStateManager` / `ProducerAppendInfo` rules for idempotent
//! and transactional producers, and the snapshot file that lets it survive a restart.
//!
//! Per producer id the log keeps the epoch, the metadata of its last [`BATCHES_RETAINED_MAX`]
//! batches (first/last sequence, last offset, offset delta, timestamp), the coordinator epoch of
//! its last transaction marker and the first offset of its ongoing transaction, if any.
//! A resent batch with the same epoch and sequence range as a retained one is a duplicate: the
//! original offsets are returned and nothing is written. Sequence rules (checked per batch, in
//! request order, against the state updated by earlier batches of the same request):
//! - epoch older than the current one → `InvalidProducerEpoch`;
//! - a new (higher) epoch must start at sequence 0, unless the producer had no epoch yet;
//! - same epoch: `first_seq == last_seq + 1`, wrapping from `i32::MAX` to 0;
//! - an unknown producer (no state, e.g. expired or removed by retention) is accepted at any
//!   sequence, as Kafka does since KIP-360.
//!
//! Transactions (KIP-98, as Kafka's `ProducerAppendInfo.appendDataBatch`/`appendEndTxnMarker`):
//! - a transactional batch from a producer without an ongoing transaction starts one at the
//!   batch's base offset; a non-transactional batch while one is ongoing → `InvalidTxnState`;
//! - a marker (COMMIT or ABORT control batch) ends it; a marker whose producer epoch is older
//!   than the producer's → `InvalidProducerEpoch`, whose coordinator epoch is older than the last
//!   marker's → `TransactionCoordinatorFenced` (the marker of a zombie coordinator). A marker
//!   for a producer without an ongoing transaction completes nothing (it still records the
//!   epochs);
//! - an ended transaction stays *unreplicated* until the high watermark passes its marker: the
//!   first unstable offset is the first offset of the oldest ongoing or unreplicated transaction,
//!   and the last stable offset (LSO) is the smaller of it and the high watermark;
//! - replicated and recovered batches update the same state without any check (Kafka's
//!   REPLICATION origin), so every replica and every restart rebuilds the same state.
//!
//! Snapshot file `<offset>.snapshot` (20-digit offset = the log end offset it covers), all
//! big-endian, in Oxbow's own format (Kafka's keeps only the last batch per producer; this keeps
//! all retained batches so every in-flight retry is still recognised after a restart):
//!
//! ```text
//! magic "OXPS" | version u16 = 2 | crc32c u32 of everything after it | count u32
//! per producer: producer_id i64 | epoch i16 | last_timestamp i64 | coordinator_epoch i32
//!               | current_txn_first_offset i64 (-1: none) | batch count u8
//!   per batch: last_seq i32 | last_offset i64 | offset_delta i32 | timestamp i64
//! ```
//!
//! Version 1 (written before transactions) lacks the two transaction fields and still loads.
//!
//! Bounds: at most [`BATCHES_RETAINED_MAX`] batches per producer; producers are removed after
//! `producer.id.expiration.ms` (Kafka's default 24 h) without a write, unless a transaction of
//! theirs is open, which bounds the map by the number of producers active in that window. Ongoing
//! transactions are at most one per producer; unreplicated ones at most one per marker between
//! the high watermark and the log end.

use crate::batch::{self, decrement_sequence, BatchHeader, NO_PRODUCER_EPOCH, NO_SEQUENCE};
use crate::error::Error;
use crate::record;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`: the idempotent producer's max in-flight
/// requests per connection.
pub const BATCHES_RETAINED_MAX: usize = 5;
/// Kafka's `producer.id.expiration.ms` default.
pub const PRODUCER_ID_EXPIRATION_MS_DEFAULT: i64 = 24 * 60 * 60 * 1000;
/// Kafka's `RecordBatch.NO_PARTITION_LEADER_EPOCH` role for coordinator epochs: none seen yet.
pub(crate) const NO_COORDINATOR_EPOCH: i32 = -1;

const SNAPSHOT_MAGIC: &[u8; 4] = b"OXPS";
const SNAPSHOT_VERSION: u16 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BatchMeta {
    pub last_seq: i32,
    pub last_offset: i64,
    pub offset_delta: i32,
    pub timestamp: i64,
}

impl BatchMeta {
    pub fn first_seq(&self) -> i32 {
        decrement_sequence(self.last_seq, self.offset_delta)
    }
    pub fn first_offset(&self) -> i64 {
        self.last_offset - self.offset_delta as i64
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProducerEntry {
    pub epoch: i16,
    pub batches: VecDeque<BatchMeta>,
    pub last_timestamp: i64,
    pub coordinator_epoch: i32,
    /// First offset of the producer's ongoing transaction in this partition.
    pub current_txn_first_offset: Option<i64>,
}

impl ProducerEntry {
    fn empty(epoch: i16, last_timestamp: i64) -> ProducerEntry {
        ProducerEntry {
            epoch,
            batches: VecDeque::new(),
            last_timestamp,
            coordinator_epoch: NO_COORDINATOR_EPOCH,
            current_txn_first_offset: None,
        }
    }

    /// What Kafka's `ProducerAppendInfo` starts from: everything but the batches.
    fn staged_from(current: Option<&ProducerEntry>) -> ProducerEntry {
        match current {
            Some(c) => ProducerEntry { batches: VecDeque::new(), ..c.clone() },
            None => ProducerEntry::empty(NO_PRODUCER_EPOCH, -1),
        }
    }

    pub fn last_seq(&self) -> i32 {
        self.batches.back().map_or(NO_SEQUENCE, |b| b.last_seq)
    }

    /// The last offset of the producer's last retained data batch (Kafka's `lastDataOffset`).
    pub fn last_data_offset(&self) -> Option<i64> {
        self.batches.back().map(|b| b.last_offset)
    }

    /// Kafka's `maybeUpdateProducerEpoch`: a new epoch forgets the old epoch's batches.
    fn maybe_update_epoch(&mut self, epoch: i16) {
        if self.epoch != epoch {
            self.batches.clear();
            self.epoch = epoch;
        }
    }

    /// Kafka's `maybeUpdateProducerEpoch` + `addBatchMetadata`.
    fn add_batch(&mut self, epoch: i16, meta: BatchMeta) {
        self.maybe_update_epoch(epoch);
        if self.batches.len() == BATCHES_RETAINED_MAX {
            self.batches.pop_front();
        }
        self.batches.push_back(meta);
        self.last_timestamp = meta.timestamp;
    }

    fn find_duplicate(&self, header: &BatchHeader) -> Option<BatchMeta> {
        if header.producer_epoch != self.epoch {
            return None;
        }
        let (first, last) = (header.base_sequence, header.last_sequence());
        self.batches.iter().find(|b| b.first_seq() == first && b.last_seq == last).copied()
    }
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    next_seq as i64 == last_seq as i64 + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

/// A transaction ended by a marker (Kafka's `CompletedTxn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CompletedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The marker's offset.
    pub last_offset: i64,
    pub aborted: bool,
}

/// A transaction marker's content (Kafka's `EndTransactionMarker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EndMarker {
    pub commit: bool,
    pub coordinator_epoch: i32,
}

#[derive(Default)]
pub(crate) struct ProducerState {
    pub producers: HashMap<i64, ProducerEntry>,
    /// Open transactions: first offset → producer id (Kafka's `ongoingTxns`).
    ongoing: BTreeMap<i64, i64>,
    /// Ended transactions whose marker is not below the high watermark yet: first offset →
    /// (producer id, marker offset) (Kafka's `unreplicatedTxns`).
    unreplicated: BTreeMap<i64, (i64, i64)>,
}

/// The producer updates of one append in progress (Kafka's `ProducerAppendInfo` per producer).
#[derive(Default)]
pub(crate) struct PendingAppend {
    updated: HashMap<i64, ProducerEntry>,
    /// Transactions the append starts: (first offset, producer id).
    started: Vec<(i64, i64)>,
}

impl ProducerState {
    /// A duplicate of a retained batch (same producer, epoch and sequence range)?
    pub fn find_duplicate(&self, header: &BatchHeader) -> Option<BatchMeta> {
        self.producers.get(&header.producer_id)?.find_duplicate(header)
    }

    /// Checks one batch (offsets already assigned) against the current state plus `pending`,
    /// and records it in `pending`. Kafka's `ProducerAppendInfo.appendDataBatch` for CLIENT origin.
    pub fn check_and_stage(&self, pending: &mut PendingAppend, header: &BatchHeader) -> Result<(), Error> {
        let pid = header.producer_id;
        let current = self.producers.get(&pid);
        let current_epoch = current.map_or(NO_PRODUCER_EPOCH, |c| c.epoch);
        let updated = pending.updated.entry(pid).or_insert_with(|| ProducerEntry::staged_from(current));
        let epoch = header.producer_epoch;
        let first_seq = header.base_sequence;
        if epoch < updated.epoch {
            return Err(Error::InvalidProducerEpoch { producer_id: pid, current: updated.epoch, found: epoch });
        }
        if epoch != updated.epoch {
            if first_seq != 0 && updated.epoch != NO_PRODUCER_EPOCH {
                return Err(Error::OutOfOrderSequence { producer_id: pid, epoch, expected: 0, found: first_seq });
            }
        } else {
            let current_last_seq = if !updated.batches.is_empty() {
                updated.last_seq()
            } else if current.is_some_and(|c| c.epoch == epoch) {
                current.map_or(NO_SEQUENCE, |c| c.last_seq())
            } else {
                NO_SEQUENCE
            };
            if !(current_epoch == NO_PRODUCER_EPOCH || in_sequence(current_last_seq, first_seq)) {
                return Err(Error::OutOfOrderSequence {
                    producer_id: pid,
                    epoch,
                    expected: batch::increment_sequence(current_last_seq, 1),
                    found: first_seq,
                });
            }
        }
        updated.add_batch(epoch, meta_of(header));
        match (updated.current_txn_first_offset, header.is_transactional()) {
            (Some(first), false) => {
                return Err(Error::InvalidTxnState(format!(
                    "producer {pid} wrote a non-transactional batch at offset {} while its transaction from offset {first} is open",
                    header.base_offset
                )))
            }
            (None, true) => {
                updated.current_txn_first_offset = Some(header.base_offset);
                pending.started.push((header.base_offset, pid));
            }
            _ => {}
        }
        Ok(())
    }

    /// Kafka's `ProducerAppendInfo.appendDataBatch` for COORDINATOR origin: an older epoch is
    /// fenced, sequences are not checked. Records the batch in `pending`.
    pub fn check_epoch_and_stage(&self, pending: &mut PendingAppend, header: &BatchHeader) -> Result<(), Error> {
        let pid = header.producer_id;
        let current = self.producers.get(&pid);
        let updated = pending.updated.entry(pid).or_insert_with(|| {
            ProducerEntry::empty(
                current.map_or(NO_PRODUCER_EPOCH, |c| c.epoch),
                current.map_or(-1, |c| c.last_timestamp),
            )
        });
        if header.producer_epoch < updated.epoch {
            return Err(Error::InvalidProducerEpoch {
                producer_id: pid,
                current: updated.epoch,
                found: header.producer_epoch,
            });
        }
        updated.add_batch(header.producer_epoch, meta_of(header));
        Ok(())
    }

    /// Applies a checked append (Kafka's `ProducerStateManager.update`).
    pub fn commit(&mut self, pending: PendingAppend) {
        for (pid, next) in pending.updated {
            match self.producers.get_mut(&pid) {
                Some(entry) => {
                    entry.maybe_update_epoch(next.epoch);
                    entry.last_timestamp = next.last_timestamp;
                    entry.coordinator_epoch = next.coordinator_epoch;
                    entry.current_txn_first_offset = next.current_txn_first_offset;
                    for b in next.batches {
                        if entry.batches.len() == BATCHES_RETAINED_MAX {
                            entry.batches.pop_front();
                        }
                        entry.batches.push_back(b);
                    }
                }
                None => {
                    self.producers.insert(pid, next);
                }
            }
        }
        for (first_offset, pid) in pending.started {
            self.ongoing.insert(first_offset, pid);
        }
    }

    /// Checks a marker the coordinator asks the leader to write (Kafka's COORDINATOR origin).
    pub fn check_marker(&self, producer_id: i64, producer_epoch: i16, coordinator_epoch: i32) -> Result<(), Error> {
        let Some(entry) = self.producers.get(&producer_id) else { return Ok(()) };
        if producer_epoch < entry.epoch {
            return Err(Error::InvalidProducerEpoch { producer_id, current: entry.epoch, found: producer_epoch });
        }
        if entry.coordinator_epoch > coordinator_epoch {
            return Err(Error::TransactionCoordinatorFenced {
                producer_id,
                current: entry.coordinator_epoch,
                found: coordinator_epoch,
            });
        }
        Ok(())
    }

    /// The transaction a marker for `producer_id` at `marker_offset` would end, if one is open.
    pub fn completion_of(&self, producer_id: i64, marker: EndMarker, marker_offset: i64) -> Option<CompletedTxn> {
        let first_offset = self.producers.get(&producer_id)?.current_txn_first_offset?;
        Some(CompletedTxn { producer_id, first_offset, last_offset: marker_offset, aborted: !marker.commit })
    }

    /// Applies a marker already in the log (Kafka's `appendEndTxnMarker` + `update`): ends the
    /// producer's transaction and records the epochs. Returns the ended transaction, still to be
    /// indexed and completed (see [`ProducerState::last_stable_offset_of`], [`ProducerState::complete`]).
    pub fn end_txn(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        marker: EndMarker,
        marker_offset: i64,
        timestamp: i64,
    ) -> Option<CompletedTxn> {
        let completed = self.completion_of(producer_id, marker, marker_offset);
        let entry =
            self.producers.entry(producer_id).or_insert_with(|| ProducerEntry::empty(producer_epoch, timestamp));
        if producer_epoch < entry.epoch {
            tracing::warn!(
                producer_id,
                marker_offset,
                epoch = producer_epoch,
                current = entry.epoch,
                "replicated transaction marker has an older producer epoch"
            );
        }
        if entry.coordinator_epoch > marker.coordinator_epoch {
            tracing::info!(
                producer_id,
                marker_offset,
                coordinator_epoch = marker.coordinator_epoch,
                current = entry.coordinator_epoch,
                "replicated transaction marker has an older coordinator epoch"
            );
        }
        entry.maybe_update_epoch(producer_epoch);
        entry.current_txn_first_offset = None;
        entry.coordinator_epoch = marker.coordinator_epoch;
        entry.last_timestamp = timestamp;
        completed
    }

    /// Kafka's `ProducerStateManager.lastStableOffset(completedTxn)`: what the aborted
    /// transaction index records as the LSO when `completed` ends — the first offset of the
    /// oldest transaction still open of another producer, else the offset after the marker.
    pub fn last_stable_offset_of(&self, completed: &CompletedTxn) -> i64 {
        self.ongoing
            .iter()
            .find(|(_, pid)| **pid != completed.producer_id)
            .map_or(completed.last_offset + 1, |(first, _)| *first)
    }

    /// Kafka's `completeTxn`: the transaction waits for the high watermark to pass its marker.
    pub fn complete(&mut self, completed: &CompletedTxn) {
        if self.ongoing.remove(&completed.first_offset).is_none() {
            tracing::warn!(
                producer_id = completed.producer_id,
                first_offset = completed.first_offset,
                "completed a transaction that was not open"
            );
        }
        self.unreplicated.insert(completed.first_offset, (completed.producer_id, completed.last_offset));
    }

    /// Replays a batch already in the log (a follower's append, recovery): no checks, as
    /// Kafka's REPLICATION origin. `marker` is the control record of a control batch (`None`
    /// for an emptied control batch, which compaction leaves when the transaction's data is
    /// gone, or for a control record that is not a transaction marker).
    pub fn replay(&mut self, header: &BatchHeader, marker: Option<EndMarker>) -> Option<CompletedTxn> {
        if !header.has_producer_id() {
            return None;
        }
        if header.is_control() {
            let marker = marker?;
            return self.end_txn(
                header.producer_id,
                header.producer_epoch,
                marker,
                header.base_offset,
                header.max_timestamp,
            );
        }
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert_with(|| ProducerEntry::empty(header.producer_epoch, header.max_timestamp));
        entry.add_batch(header.producer_epoch, meta_of(header));
        match (entry.current_txn_first_offset, header.is_transactional()) {
            (None, true) => {
                entry.current_txn_first_offset = Some(header.base_offset);
                self.ongoing.insert(header.base_offset, header.producer_id);
            }
            (Some(first), false) => {
                tracing::warn!(
                    producer_id = header.producer_id,
                    offset = header.base_offset,
                    txn_first_offset = first,
                    "replicated a non-transactional batch inside an open transaction"
                );
            }
            _ => {}
        }
        None
    }

    /// Kafka's `onHighWatermarkUpdated`: transactions whose marker is below `high_watermark`
    /// are stable.
    pub fn on_high_watermark(&mut self, high_watermark: i64) {
        self.unreplicated.retain(|_, (_, marker)| *marker >= high_watermark);
    }

    /// Kafka's `onLogStartOffsetIncremented`.
    pub fn on_log_start_offset(&mut self, log_start_offset: i64) {
        self.unreplicated.retain(|_, (_, marker)| *marker >= log_start_offset);
    }

    /// Kafka's `firstUnstableOffset`: the first offset of the oldest open or unreplicated
    /// transaction.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        let ongoing = self.ongoing.keys().next().copied();
        let unreplicated = self.unreplicated.keys().next().copied();
        match (ongoing, unreplicated) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Kafka's `hasOngoingTransaction(producerId, producerEpoch)`.
    pub fn has_ongoing_txn(&self, producer_id: i64, producer_epoch: i16) -> bool {
        self.producers
            .get(&producer_id)
            .is_some_and(|e| e.epoch == producer_epoch && e.current_txn_first_offset.is_some())
    }

    /// Drops producers without a write for `expiration_ms` (Kafka's producer id expiration);
    /// a producer with an open transaction never expires (Kafka's `isProducerExpired`).
    pub fn expire(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers.retain(|_, e| {
            e.current_txn_first_offset.is_some() || now_ms.saturating_sub(e.last_timestamp) < expiration_ms
        });
        before - self.producers.len()
    }

    pub fn encode_snapshot(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(4 + self.producers.len() * (30 + BATCHES_RETAINED_MAX * 24));
        body.extend_from_slice(&(self.producers.len() as u32).to_be_bytes());
        let mut pids: Vec<_> = self.producers.keys().copied().collect();
        pids.sort_unstable();
        for pid in pids {
            let e = &self.producers[&pid];
            body.extend_from_slice(&pid.to_be_bytes());
            body.extend_from_slice(&e.epoch.to_be_bytes());
            body.extend_from_slice(&e.last_timestamp.to_be_bytes());
            body.extend_from_slice(&e.coordinator_epoch.to_be_bytes());
            body.extend_from_slice(&e.current_txn_first_offset.unwrap_or(-1).to_be_bytes());
            body.push(e.batches.len() as u8);
            for b in &e.batches {
                body.extend_from_slice(&b.last_seq.to_be_bytes());
                body.extend_from_slice(&b.last_offset.to_be_bytes());
                body.extend_from_slice(&b.offset_delta.to_be_bytes());
                body.extend_from_slice(&b.timestamp.to_be_bytes());
            }
        }
        let mut out = Vec::with_capacity(10 + body.len());
        out.extend_from_slice(SNAPSHOT_MAGIC);
        out.extend_from_slice(&SNAPSHOT_VERSION.to_be_bytes());
        out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Reads a snapshot (version 1 or 2). Open transactions come back from the producers' first
    /// offsets; unreplicated ones are not kept (Kafka's snapshots do not keep them either).
    pub fn decode_snapshot(bytes: &[u8]) -> Result<ProducerState, String> {
        if bytes.len() < 14 || &bytes[..4] != SNAPSHOT_MAGIC {
            return Err("not an Oxbow producer snapshot".into());
        }
        let version = u16::from_be_bytes([bytes[4], bytes[5]]);
        if version != 1 && version != SNAPSHOT_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        let body = &bytes[10..];
        if batch::get_u32(bytes, 6) != crc32c::crc32c(body) {
            return Err("snapshot CRC mismatch".into());
        }
        let fixed = if version == 1 { 19 } else { 31 };
        let mut at = 0usize;
        let need =
            |at: usize, n: usize| if at + n <= body.len() { Ok(()) } else { Err("snapshot truncated".to_string()) };
        need(at, 4)?;
        let count = batch::get_u32(body, 0) as usize;
        at += 4;
        let mut state = ProducerState {
            producers: HashMap::with_capacity(count.min(body.len() / fixed)),
            ..ProducerState::default()
        };
        for _ in 0..count {
            need(at, fixed)?;
            let pid = batch::get_i64(body, at);
            let epoch = batch::get_i16(body, at + 8);
            let last_timestamp = batch::get_i64(body, at + 10);
            let (coordinator_epoch, txn_first) = if version == 1 {
                (NO_COORDINATOR_EPOCH, -1)
            } else {
                (batch::get_i32(body, at + 18), batch::get_i64(body, at + 22))
            };
            let n = body[at + fixed - 1] as usize;
            at += fixed;
            if n > BATCHES_RETAINED_MAX {
                return Err("too many batches for one producer".into());
            }
            let mut batches = VecDeque::with_capacity(n);
            for _ in 0..n {
                need(at, 24)?;
                batches.push_back(BatchMeta {
                    last_seq: batch::get_i32(body, at),
                    last_offset: batch::get_i64(body, at + 4),
                    offset_delta: batch::get_i32(body, at + 12),
                    timestamp: batch::get_i64(body, at + 16),
                });
                at += 24;
            }
            let current_txn_first_offset = (txn_first >= 0).then_some(txn_first);
            if let Some(first) = current_txn_first_offset {
                state.ongoing.insert(first, pid);
            }
            state.producers.insert(
                pid,
                ProducerEntry { epoch, batches, last_timestamp, coordinator_epoch, current_txn_first_offset },
            );
        }
        Ok(state)
    }
}

/// Kafka's `ControlRecordType` ids of transaction markers, and the versions of the control
/// record's key and value this writes (`ControlRecordType.CURRENT_CONTROL_RECORD_KEY_VERSION`,
/// `EndTxnMarker` version 0).
const CONTROL_TYPE_ABORT: i16 = 0;
const CONTROL_TYPE_COMMIT: i16 = 1;
const CONTROL_KEY_VERSION: i16 = 0;
const END_TXN_MARKER_VERSION: i16 = 0;

/// The transaction marker in a control batch (Kafka's `EndTransactionMarker.deserialize` of the
/// first record): key = version i16 + type i16, value = version i16 + coordinator epoch i32.
/// `None` for an emptied batch, another control type, or bytes that do not decode (warned).
pub(crate) fn end_marker_of(batch_bytes: &[u8]) -> Option<EndMarker> {
    let records = match record::decode_records(batch_bytes) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(
                offset = BatchHeader::parse(batch_bytes).map(|h| h.base_offset),
                "undecodable control batch: {e}"
            );
            return None;
        }
    };
    let first = records.first()?;
    let (key, value) = (first.key.as_ref()?, first.value.as_ref()?);
    if key.len() < 4 || batch::get_i16(key, 0) < 0 || value.len() < 6 || batch::get_i16(value, 0) < 0 {
        tracing::warn!("control record with a malformed key or value; not a transaction marker");
        return None;
    }
    let commit = match batch::get_i16(key, 2) {
        CONTROL_TYPE_ABORT => false,
        CONTROL_TYPE_COMMIT => true,
        _ => return None,
    };
    Some(EndMarker { commit, coordinator_epoch: batch::get_i32(value, 2) })
}

/// The control batch `MemoryRecords.withEndTransactionMarker` builds: transactional + control,
/// uncompressed, CreateTime `timestamp`, `baseSequence` -1, one record without headers.
pub(crate) fn end_marker_batch(
    base_offset: i64,
    leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    marker: EndMarker,
    timestamp: i64,
) -> Vec<u8> {
    let mut key = Vec::with_capacity(4);
    key.extend_from_slice(&CONTROL_KEY_VERSION.to_be_bytes());
    key.extend_from_slice(&(if marker.commit { CONTROL_TYPE_COMMIT } else { CONTROL_TYPE_ABORT }).to_be_bytes());
    let mut value = Vec::with_capacity(6);
    value.extend_from_slice(&END_TXN_MARKER_VERSION.to_be_bytes());
    value.extend_from_slice(&marker.coordinator_epoch.to_be_bytes());
    let control = record::Record {
        attributes: 0,
        timestamp_delta: 0,
        offset_delta: 0,
        key: Some(bytes::Bytes::from(key)),
        value: Some(bytes::Bytes::from(value)),
        headers: Vec::new(),
    };
    let mut spec = record::BatchSpec::simple(0, timestamp, timestamp);
    spec.base_offset = base_offset;
    spec.partition_leader_epoch = leader_epoch;
    spec.transactional = true;
    spec.control = true;
    spec.producer_id = producer_id;
    spec.producer_epoch = producer_epoch;
    record::encode_batch(&spec, &[control]).expect("an uncompressed batch always encodes")
}

fn meta_of(header: &BatchHeader) -> BatchMeta {
    BatchMeta {
        last_seq: header.last_sequence(),
        last_offset: header.last_offset(),
        offset_delta: header.last_offset_delta,
        timestamp: header.max_timestamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32, offset: i64) -> BatchHeader {
        BatchHeader {
            base_offset: offset,
            batch_length: 100,
            partition_leader_epoch: 0,
            magic: 2,
            crc: 0,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 1,
            max_timestamp: 1,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            records_count: count,
        }
    }

    /// (epoch, first seq, records, expected): every row appended in order to one producer.
    #[test]
    fn sequence_rules_match_kafka() {
        #[derive(Debug, PartialEq)]
        enum Want {
            Ok,
            OutOfOrder,
            Fenced,
        }
        type Steps<'a> = &'a [(i16, i32, i32, Want)];
        let cases: &[(&str, Steps)] = &[
            ("new producer any sequence", &[(0, 7, 1, Want::Ok), (0, 8, 2, Want::Ok)]),
            ("gap", &[(0, 0, 1, Want::Ok), (0, 2, 1, Want::OutOfOrder)]),
            (
                "repeat of an older seq that is not retained exactly",
                &[(0, 0, 2, Want::Ok), (0, 1, 1, Want::OutOfOrder)],
            ),
            ("epoch bump at 0", &[(0, 0, 3, Want::Ok), (1, 0, 1, Want::Ok)]),
            ("epoch bump not at 0", &[(0, 0, 3, Want::Ok), (1, 5, 1, Want::OutOfOrder)]),
            ("old epoch", &[(2, 0, 1, Want::Ok), (1, 1, 1, Want::Fenced)]),
            ("wrap at i32::MAX", &[(0, i32::MAX - 1, 2, Want::Ok), (0, 0, 1, Want::Ok)]),
        ];
        for (name, steps) in cases {
            let mut state = ProducerState::default();
            let mut offset = 0;
            for (i, (epoch, seq, count, want)) in steps.iter().enumerate() {
                let h = header(42, *epoch, *seq, *count, offset);
                let mut pending = PendingAppend::default();
                let got = match state.check_and_stage(&mut pending, &h) {
                    Ok(()) => Want::Ok,
                    Err(Error::OutOfOrderSequence { .. }) => Want::OutOfOrder,
                    Err(Error::InvalidProducerEpoch { .. }) => Want::Fenced,
                    Err(e) => panic!("{name}: unexpected {e}"),
                };
                assert_eq!(&got, want, "{name} step {i}");
                if got == Want::Ok {
                    state.commit(pending);
                    offset += *count as i64;
                }
            }
        }
    }

    #[test]
    fn snapshot_roundtrips() {
        let mut state = ProducerState::default();
        for i in 0..7 {
            state.replay(&header(1, 0, i * 2, 2, i as i64 * 2), None);
        }
        state.replay(&header(9, 3, 0, 1, 100), None);
        let bytes = state.encode_snapshot();
        let back = ProducerState::decode_snapshot(&bytes).unwrap();
        assert_eq!(back.producers, state.producers);
        assert_eq!(back.producers[&1].batches.len(), BATCHES_RETAINED_MAX);
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(ProducerState::decode_snapshot(&bad).is_err());
    }

    fn txn_header(pid: i64, epoch: i16, seq: i32, count: i32, offset: i64) -> BatchHeader {
        BatchHeader { attributes: batch::ATTR_TRANSACTIONAL, ..header(pid, epoch, seq, count, offset) }
    }

    fn stage(state: &mut ProducerState, h: &BatchHeader) -> Result<(), Error> {
        let mut pending = PendingAppend::default();
        state.check_and_stage(&mut pending, h)?;
        state.commit(pending);
        Ok(())
    }

    const ABORT: EndMarker = EndMarker { commit: false, coordinator_epoch: 5 };

    /// Kafka's `ProducerAppendInfo` transaction rules and the LSO bookkeeping around them.
    #[test]
    fn transactions_start_end_and_fence() {
        let mut state = ProducerState::default();
        stage(&mut state, &txn_header(1, 0, 0, 2, 10)).unwrap();
        stage(&mut state, &txn_header(1, 0, 2, 1, 12)).unwrap();
        stage(&mut state, &txn_header(2, 0, 0, 1, 13)).unwrap();
        assert_eq!(state.producers[&1].current_txn_first_offset, Some(10), "the first transactional batch starts it");
        assert!(state.has_ongoing_txn(1, 0) && !state.has_ongoing_txn(1, 1));
        assert_eq!(state.first_unstable_offset(), Some(10));
        assert!(
            matches!(stage(&mut state, &header(1, 0, 3, 1, 14)), Err(Error::InvalidTxnState(_))),
            "plain batch inside a transaction"
        );
        // Producer 1 aborts at 14: the LSO recorded is producer 2's open transaction.
        assert!(state.check_marker(1, 0, 5).is_ok());
        let done = state.end_txn(1, 0, ABORT, 14, 99).unwrap();
        assert_eq!(done, CompletedTxn { producer_id: 1, first_offset: 10, last_offset: 14, aborted: true });
        assert_eq!(state.last_stable_offset_of(&done), 13);
        state.complete(&done);
        assert_eq!(state.first_unstable_offset(), Some(10), "unreplicated until the high watermark passes 14");
        state.on_high_watermark(14);
        assert_eq!(state.first_unstable_offset(), Some(10));
        state.on_high_watermark(15);
        assert_eq!(state.first_unstable_offset(), Some(13));
        // Markers from a zombie coordinator or an older producer epoch are refused.
        assert!(matches!(
            state.check_marker(1, 0, 4),
            Err(Error::TransactionCoordinatorFenced { current: 5, found: 4, .. })
        ));
        stage(&mut state, &txn_header(2, 1, 0, 1, 15)).unwrap();
        assert!(matches!(state.check_marker(2, 0, 5), Err(Error::InvalidProducerEpoch { current: 1, found: 0, .. })));
        // A marker without an open transaction completes nothing; the last one ends producer 2's
        // and, with nothing else open, records the offset after the marker.
        assert_eq!(state.end_txn(1, 0, EndMarker { commit: true, coordinator_epoch: 6 }, 16, 100), None);
        let done = state.end_txn(2, 1, ABORT, 17, 101).unwrap();
        assert_eq!(state.last_stable_offset_of(&done), 18);
        state.complete(&done);
        state.on_high_watermark(18);
        assert_eq!(state.first_unstable_offset(), None);
        // An open transaction keeps its producer from expiring.
        stage(&mut state, &txn_header(3, 0, 0, 1, 18)).unwrap();
        assert_eq!(state.expire(i64::MAX, 1), 2);
        assert!(state.producers.contains_key(&3));
    }

    #[test]
    fn replay_rebuilds_what_the_leader_checked() {
        let mut leader = ProducerState::default();
        let mut follower = ProducerState::default();
        let batches = [txn_header(7, 2, 0, 3, 0), txn_header(7, 2, 3, 1, 3)];
        for h in &batches {
            stage(&mut leader, h).unwrap();
            assert_eq!(follower.replay(h, None), None);
        }
        let marker = EndMarker { commit: true, coordinator_epoch: 1 };
        let a = leader.end_txn(7, 2, marker, 4, 50).unwrap();
        let control = BatchHeader {
            attributes: batch::ATTR_TRANSACTIONAL | batch::ATTR_CONTROL,
            max_timestamp: 50,
            ..header(7, 2, -1, 1, 4)
        };
        let b = follower.replay(&control, Some(marker)).unwrap();
        assert_eq!((a, a.aborted), (b, false));
        assert_eq!(leader.producers, follower.producers);
        // An emptied control batch (compaction) changes nothing.
        assert_eq!(follower.replay(&control, None), None);
    }

    #[test]
    fn snapshot_keeps_transactions_and_reads_version_1() {
        let mut state = ProducerState::default();
        stage(&mut state, &txn_header(4, 1, 0, 2, 20)).unwrap();
        state.end_txn(5, 3, EndMarker { commit: true, coordinator_epoch: 9 }, 22, 7);
        let back = ProducerState::decode_snapshot(&state.encode_snapshot()).unwrap();
        assert_eq!(back.producers, state.producers);
        assert_eq!(back.producers[&5].coordinator_epoch, 9);
        assert_eq!(back.first_unstable_offset(), Some(20));
        // Version 1: one producer (id 8, epoch 2, last timestamp 3) with one batch.
        let mut body = 1u32.to_be_bytes().to_vec();
        body.extend_from_slice(&8i64.to_be_bytes());
        body.extend_from_slice(&2i16.to_be_bytes());
        body.extend_from_slice(&3i64.to_be_bytes());
        body.push(1);
        body.extend_from_slice(&4i32.to_be_bytes());
        body.extend_from_slice(&9i64.to_be_bytes());
        body.extend_from_slice(&0i32.to_be_bytes());
        body.extend_from_slice(&3i64.to_be_bytes());
        let mut v1 = b"OXPS".to_vec();
        v1.extend_from_slice(&1u16.to_be_bytes());
        v1.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
        v1.extend_from_slice(&body);
        let old = ProducerState::decode_snapshot(&v1).unwrap();
        let e = &old.producers[&8];
        assert_eq!(
            (e.epoch, e.last_seq(), e.last_data_offset(), e.coordinator_epoch, e.current_txn_first_offset),
            (2, 4, Some(9), -1, None)
        );
    }
}
