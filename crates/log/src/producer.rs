//! Idempotent producer state: Kafka's `ProducerStateManager` / `ProducerAppendInfo` rules, and
//! the snapshot file that lets deduplication survive a restart.
//!
//! Per producer id the log keeps the epoch and the metadata of its last
//! [`BATCHES_RETAINED_MAX`] batches (first/last sequence, last offset, offset delta, timestamp).
//! A resent batch with the same epoch and sequence range as a retained one is a duplicate: the
//! original offsets are returned and nothing is written. Sequence rules (checked per batch, in
//! request order, against the state updated by earlier batches of the same request):
//! - epoch older than the current one → `InvalidProducerEpoch`;
//! - a new (higher) epoch must start at sequence 0, unless the producer had no epoch yet;
//! - same epoch: `first_seq == last_seq + 1`, wrapping from `i32::MAX` to 0;
//! - an unknown producer (no state, e.g. expired or removed by retention) is accepted at any
//!   sequence, as Kafka does since KIP-360.
//!
//! Snapshot file `<offset>.snapshot` (20-digit offset = the log end offset it covers), all
//! big-endian, in Oxbow's own format (Kafka's keeps only the last batch per producer; this keeps
//! all retained batches so every in-flight retry is still recognised after a restart):
//!
//! ```text
//! magic "OXPS" | version u16 = 1 | crc32c u32 of everything after it | count u32
//! per producer: producer_id i64 | epoch i16 | last_timestamp i64 | batch count u8
//!   per batch: last_seq i32 | last_offset i64 | offset_delta i32 | timestamp i64
//! ```
//!
//! Bounds: at most [`BATCHES_RETAINED_MAX`] batches per producer; producers are removed after
//! `producer.id.expiration.ms` (Kafka's default 24 h) without a write, which bounds the map by the
//! number of producers active in that window.

use crate::batch::{self, decrement_sequence, BatchHeader, NO_PRODUCER_EPOCH, NO_SEQUENCE};
use crate::error::Error;
use std::collections::{HashMap, VecDeque};

/// Kafka's `ProducerStateEntry.NUM_BATCHES_TO_RETAIN`: the idempotent producer's max in-flight
/// requests per connection.
pub const BATCHES_RETAINED_MAX: usize = 5;
/// Kafka's `producer.id.expiration.ms` default.
pub const PRODUCER_ID_EXPIRATION_MS_DEFAULT: i64 = 24 * 60 * 60 * 1000;

const SNAPSHOT_MAGIC: &[u8; 4] = b"OXPS";
const SNAPSHOT_VERSION: u16 = 1;

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
}

impl ProducerEntry {
    fn empty(epoch: i16, last_timestamp: i64) -> ProducerEntry {
        ProducerEntry { epoch, batches: VecDeque::new(), last_timestamp }
    }

    pub fn last_seq(&self) -> i32 {
        self.batches.back().map_or(NO_SEQUENCE, |b| b.last_seq)
    }

    pub fn last_offset(&self) -> i64 {
        self.batches.back().map_or(-1, |b| b.last_offset)
    }

    /// Kafka's `maybeUpdateProducerEpoch` + `addBatchMetadata`.
    fn add_batch(&mut self, epoch: i16, meta: BatchMeta) {
        if self.epoch != epoch {
            self.batches.clear();
            self.epoch = epoch;
        }
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

#[derive(Default)]
pub(crate) struct ProducerState {
    pub producers: HashMap<i64, ProducerEntry>,
}

/// The producer updates of one append in progress (Kafka's `ProducerAppendInfo` per producer).
#[derive(Default)]
pub(crate) struct PendingAppend {
    updated: HashMap<i64, ProducerEntry>,
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
        let updated = pending
            .updated
            .entry(pid)
            .or_insert_with(|| ProducerEntry::empty(current_epoch, current.map_or(-1, |c| c.last_timestamp)));
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
        Ok(())
    }

    /// Kafka's `ProducerAppendInfo.appendDataBatch` for COORDINATOR origin: an older epoch is
    /// fenced, sequences are not checked. Records the batch in `pending`.
    pub fn check_epoch_and_stage(&self, pending: &mut PendingAppend, header: &BatchHeader) -> Result<(), Error> {
        let pid = header.producer_id;
        let current = self.producers.get(&pid);
        let updated = pending
            .updated
            .entry(pid)
            .or_insert_with(|| ProducerEntry::empty(current.map_or(NO_PRODUCER_EPOCH, |c| c.epoch), current.map_or(-1, |c| c.last_timestamp)));
        if header.producer_epoch < updated.epoch {
            return Err(Error::InvalidProducerEpoch { producer_id: pid, current: updated.epoch, found: header.producer_epoch });
        }
        updated.add_batch(header.producer_epoch, meta_of(header));
        Ok(())
    }

    /// Applies a checked append (Kafka's `ProducerStateManager.update`).
    pub fn commit(&mut self, pending: PendingAppend) {
        for (pid, next) in pending.updated {
            match self.producers.get_mut(&pid) {
                Some(entry) => {
                    if entry.epoch != next.epoch {
                        entry.batches.clear();
                        entry.epoch = next.epoch;
                    }
                    entry.last_timestamp = next.last_timestamp;
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
    }

    /// Replays a batch already in the log (recovery): no checks, as Kafka's REPLICATION origin.
    pub fn replay(&mut self, header: &BatchHeader) {
        if !header.has_producer_id() || header.is_control() {
            return;
        }
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert_with(|| ProducerEntry::empty(header.producer_epoch, header.max_timestamp));
        entry.add_batch(header.producer_epoch, meta_of(header));
    }

    /// Drops producers without a write for `expiration_ms` (Kafka's producer id expiration).
    pub fn expire(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers.retain(|_, e| now_ms.saturating_sub(e.last_timestamp) < expiration_ms);
        before - self.producers.len()
    }

    pub fn encode_snapshot(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(4 + self.producers.len() * (18 + BATCHES_RETAINED_MAX * 24));
        body.extend_from_slice(&(self.producers.len() as u32).to_be_bytes());
        let mut pids: Vec<_> = self.producers.keys().copied().collect();
        pids.sort_unstable();
        for pid in pids {
            let e = &self.producers[&pid];
            body.extend_from_slice(&pid.to_be_bytes());
            body.extend_from_slice(&e.epoch.to_be_bytes());
            body.extend_from_slice(&e.last_timestamp.to_be_bytes());
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

    pub fn decode_snapshot(bytes: &[u8]) -> Result<ProducerState, String> {
        if bytes.len() < 14 || &bytes[..4] != SNAPSHOT_MAGIC {
            return Err("not an Oxbow producer snapshot".into());
        }
        let version = u16::from_be_bytes([bytes[4], bytes[5]]);
        if version != SNAPSHOT_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        let body = &bytes[10..];
        if batch::get_u32(bytes, 6) != crc32c::crc32c(body) {
            return Err("snapshot CRC mismatch".into());
        }
        let mut at = 0usize;
        let need = |at: usize, n: usize| if at + n <= body.len() { Ok(()) } else { Err("snapshot truncated".to_string()) };
        need(at, 4)?;
        let count = batch::get_u32(body, 0) as usize;
        at += 4;
        let mut producers = HashMap::with_capacity(count.min(body.len() / 19));
        for _ in 0..count {
            need(at, 19)?;
            let pid = batch::get_i64(body, at);
            let epoch = batch::get_i16(body, at + 8);
            let last_timestamp = batch::get_i64(body, at + 10);
            let n = body[at + 18] as usize;
            at += 19;
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
            producers.insert(pid, ProducerEntry { epoch, batches, last_timestamp });
        }
        Ok(ProducerState { producers })
    }
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
            ("repeat of an older seq that is not retained exactly", &[(0, 0, 2, Want::Ok), (0, 1, 1, Want::OutOfOrder)]),
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
            state.replay(&header(1, 0, i * 2, 2, i as i64 * 2));
        }
        state.replay(&header(9, 3, 0, 1, 100));
        let bytes = state.encode_snapshot();
        let back = ProducerState::decode_snapshot(&bytes).unwrap();
        assert_eq!(back.producers, state.producers);
        assert_eq!(back.producers[&1].batches.len(), BATCHES_RETAINED_MAX);
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(ProducerState::decode_snapshot(&bad).is_err());
    }
}
