//! Log compaction (`cleanup.policy=compact`), in three steps so appends are never blocked:
//!
//! 1. [`Log::compaction_job`] (cheap, under the broker's lock): picks the closed segments that
//!    may be cleaned — never the active segment, only segments wholly below the last stable
//!    offset (so below the high watermark and every open transaction) and older than
//!    `min.compaction.lag.ms` — and notes their paths and file identities (no file is opened: a
//!    job over thousands of segments must not hold thousands of descriptors), the paths of the
//!    `.txnindex` files, and each producer's last data offset and epoch.
//! 2. [`CompactionJob::run`] (slow, no lock; a background thread): builds the key → latest offset
//!    map over the dirty part (from the cleaner checkpoint on), then rewrites the cleanable
//!    segments in groups of at most `segment.bytes` into `<base>.log.cleaned` (+ `.index.cleaned`,
//!    `.timeindex.cleaned`, `.txnindex.cleaned`), fsynced. It opens one segment at a time, outside the shared
//!    [`crate::FileCache`]; a segment whose path no longer names the file the job was cut from
//!    (retention or `DeleteRecords` removed it meanwhile) is treated as gone and its group skipped.
//! 3. [`Log::install_compaction`] (under the lock): for each group whose source segments are all
//!    still in the log, unchanged (segment identity), swaps the files in — `.cleaned` → `.swap`,
//!    old files deleted, `.swap` → final names — and reopens the segment. Groups whose segments
//!    went away meanwhile (retention, `DeleteRecords`) are discarded.
//!
//! Kafka's record rules (`LogCleaner`, `MemoryRecords.filterTo`, KIP-534):
//! - a record is kept when it is the latest for its key in the dirty part (records without a key
//!   are dropped); offsets never change, so a compacted log has gaps;
//! - a batch keeps its base offset, lastOffsetDelta, producer id/epoch, base sequence, leader
//!   epoch, codec and timestamp type; a fully kept batch is copied byte for byte;
//! - tombstones (null value) are kept the first time and their batch gets the delete-horizon
//!   attribute with baseTimestamp = now + `delete.retention.ms`; a later run after that horizon
//!   removes them;
//! - a batch emptied of records that is the last batch of a producer in the log is kept as an
//!   empty batch (header only), so the producer's sequence survives;
//! - control batches are kept as they are, except as the transaction rules below say.
//!
//! Transactions (Kafka's `CleanedTransactionMetadata` and `Cleaner.cleanInto`): walking the log
//! in offset order with the aborted transactions of the `.txnindex` files,
//! - batches of aborted transactions are removed (their keys never enter the key map, so they
//!   cannot shadow an older committed value), unless one is its producer's last data batch,
//!   which is kept empty;
//! - an ABORT marker is kept, with its `.txnindex` entry, while the pass still met batches of
//!   its transaction; a COMMIT marker while the pass met any. Once a pass meets none, the marker
//!   gets the delete-horizon attribute (`baseTimestamp` = now + `delete.retention.ms`) and its
//!   index entry is dropped; a pass after the horizon removes it. A producer's last marker is
//!   kept (emptied) when it is the producer's last batch, for fencing;
//! - the cleaned segment's `.txnindex` lists exactly the aborted transactions whose markers it
//!   kept with data still around.
//!
//! Crash safety: a `<base>.swapgroup` file lists the segments a group replaces and is written
//! before the renames; [`finish_interrupted_swaps`] (at open) completes a swap whose `.log.swap`
//! exists and rolls back one whose does not. A group always writes a `.txnindex.cleaned` (empty
//! when no entry is kept), so a completed swap's `<base>.txnindex` without its `.swap` is known
//! to be the new one; an empty `.txnindex` is removed when the swap completes.
//!
//! Bounds: the key map holds at most [`OFFSET_MAP_ENTRIES_MAX`] keys (plus the keys of one
//! segment: it is checked between segments); when full, the dirty part cleaned this run ends at
//! that segment, as Kafka does when its dedupe buffer fills. Keys are stored as 128-bit hashes
//! (Kafka uses MD5). Output is written through a 64 KiB buffer; one batch is decoded at a time.

use crate::batch::{self, BatchHeader};
use crate::error::{Error, IoContext, Result};
use crate::fileio;
use crate::index::{OFFSET_ENTRY_BYTES, TIME_ENTRY_BYTES};
use crate::producer;
use crate::record::{self, BatchSpec, Record};
use crate::segment::{self, HeaderScan, Segment};
use crate::txn_index::{AbortedTxn, TxnIndex};
use crate::Log;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Keys in the dedupe map (~40 MiB at most with hash-map overhead): Kafka's
/// `log.cleaner.dedupe.buffer.size` role.
pub const OFFSET_MAP_ENTRIES_MAX: usize = 1 << 20;
const OUTPUT_BUFFER_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug)]
struct JobSegment {
    base_offset: i64,
    id: u64,
    size: u64,
    /// Base offset of the following segment: everything in this one is below it.
    end_offset: i64,
    path: PathBuf,
    /// The `.log` file's identity when the job was cut (`None` where the platform has none).
    file_id: Option<fileio::FileId>,
}

/// A compaction to run without the log's lock. See the module docs.
#[derive(Debug)]
pub struct CompactionJob {
    dir: PathBuf,
    log_id: u64,
    segments: Vec<JobSegment>,
    first_dirty_offset: i64,
    now_ms: i64,
    delete_retention_ms: i64,
    segment_bytes: u64,
    index_interval_bytes: u64,
    /// Every producer's last data batch and epoch (bounded by the producer state).
    last_records: HashMap<i64, LastRecord>,
    /// The `.txnindex` files holding entries when the job was cut, oldest segment first.
    txn_indexes: Vec<PathBuf>,
}

/// Kafka's `LastRecord`: what the cleaner must keep of an active producer.
#[derive(Clone, Copy, Debug)]
struct LastRecord {
    /// The last offset of its last data batch, when a batch of its current epoch is retained.
    last_data_offset: Option<i64>,
    epoch: i16,
}

#[derive(Debug)]
struct CleanedGroup {
    base_offset: i64,
    replaced: Vec<(i64, u64)>,
    bytes_before: u64,
    bytes_after: u64,
    /// False when a source segment vanished while the job ran: nothing usable was written and
    /// the group is skipped (as it would be anyway, its segments being gone from the log).
    complete: bool,
}

/// The output of [`CompactionJob::run`]: cleaned files waiting to be installed. Dropping it
/// without installing deletes the files.
#[derive(Debug)]
pub struct CompactedSegments {
    dir: PathBuf,
    log_id: u64,
    groups: Vec<CleanedGroup>,
    clean_offset: i64,
    tombstone_horizon_ms: Option<i64>,
    records_removed: u64,
}

/// What [`Log::install_compaction`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactionReport {
    pub segments_replaced: usize,
    pub segments_written: usize,
    /// Groups not installed because their segments changed while the job ran.
    pub groups_skipped: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub records_removed: u64,
}

fn key_hash(key: &[u8]) -> (u64, u64) {
    let mut a = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    0xA5u8.hash(&mut b);
    key.hash(&mut b);
    (a.finish(), b.finish())
}

/// `.log`, `.index`, `.timeindex`, `.txnindex` with a suffix; renames go in the order
/// [`RENAME_ORDER`], the `.log` last.
fn cleaned_paths(dir: &Path, base: i64) -> [PathBuf; 4] {
    [
        dir.join(segment::file_name(base, "log.cleaned")),
        dir.join(segment::file_name(base, "index.cleaned")),
        dir.join(segment::file_name(base, "timeindex.cleaned")),
        dir.join(segment::file_name(base, "txnindex.cleaned")),
    ]
}

fn swap_paths(dir: &Path, base: i64) -> [PathBuf; 4] {
    [
        dir.join(segment::file_name(base, "log.swap")),
        dir.join(segment::file_name(base, "index.swap")),
        dir.join(segment::file_name(base, "timeindex.swap")),
        dir.join(segment::file_name(base, "txnindex.swap")),
    ]
}

fn final_paths(dir: &Path, base: i64) -> [PathBuf; 4] {
    let [log, index, time] = Segment::paths(dir, base);
    [log, index, time, TxnIndex::path_for(dir, base)]
}

/// Indexes first, the log last: an existing `.log.swap` means the new segment is complete.
const RENAME_ORDER: [usize; 4] = [1, 2, 3, 0];
const TXN_INDEX: usize = 3;

fn group_file(dir: &Path, base: i64) -> PathBuf {
    dir.join(segment::file_name(base, "swapgroup"))
}

impl Log {
    /// First offset compaction may not touch: the active segment, the last stable offset (so
    /// the high watermark and every open transaction), and the first segment younger than
    /// `min.compaction.lag.ms`.
    fn cleanable_segments(&self, now_ms: i64) -> Vec<(&Segment, i64)> {
        let lag = self.config.min_compaction_lag_ms;
        let mut limit = self.active().base_offset.min(self.last_stable_offset());
        let segs: Vec<&Segment> = self.segments.values().collect();
        let mut out = Vec::new();
        for w in segs.windows(2) {
            let (seg, next) = (w[0], w[1]);
            if lag > 0 && seg.max_timestamp > now_ms.saturating_sub(lag) {
                limit = limit.min(seg.base_offset);
            }
            if next.base_offset > limit {
                break;
            }
            out.push((seg, next.base_offset));
        }
        out
    }

    /// Cheap check whether [`Log::compaction_job`] would return a job now.
    pub fn needs_compaction(&self, now_ms: i64) -> bool {
        if !self.config.cleanup_policy.compact {
            return false;
        }
        let segs = self.cleanable_segments(now_ms);
        if segs.is_empty() {
            return false;
        }
        if self.tombstone_horizon_ms.is_some_and(|h| h <= now_ms) {
            return true;
        }
        let first_dirty = self.clean_offset.max(self.log_start_offset);
        let total: u64 = segs.iter().map(|(s, _)| s.size).sum();
        let dirty: u64 = segs.iter().filter(|(_, end)| *end > first_dirty).map(|(s, _)| s.size).sum();
        dirty > 0 && total > 0 && dirty as f64 / total as f64 >= self.min_cleanable_dirty_ratio
    }

    /// A compaction job over the closed, cleanable segments, or `None` when there is nothing worth
    /// cleaning (policy not `compact`, dirty ratio below `min.cleanable.dirty.ratio` and no
    /// tombstone horizon passed). Cheap: notes paths and sizes, opens and reads nothing.
    pub fn compaction_job(&self, now_ms: i64) -> Option<CompactionJob> {
        if !self.needs_compaction(now_ms) {
            return None;
        }
        let mut segments = Vec::new();
        for (seg, end_offset) in self.cleanable_segments(now_ms) {
            segments.push(JobSegment {
                base_offset: seg.base_offset,
                id: seg.id,
                size: seg.size,
                end_offset,
                path: seg.log_path.clone(),
                file_id: seg.file.id,
            });
        }
        let last_records = self
            .producers
            .producers
            .iter()
            .map(|(pid, e)| (*pid, LastRecord { last_data_offset: e.last_data_offset(), epoch: e.epoch }))
            .collect();
        let txn_indexes = self
            .segments
            .values()
            .filter(|s| s.txn_index.len() > 0)
            .map(|s| s.txn_index.path().to_path_buf())
            .collect();
        Some(CompactionJob {
            dir: self.dir.clone(),
            log_id: self.log_id,
            segments,
            first_dirty_offset: self.clean_offset.max(self.log_start_offset),
            now_ms,
            delete_retention_ms: self.config.delete_retention_ms,
            segment_bytes: self.config.segment_bytes,
            index_interval_bytes: self.config.index_interval_bytes,
            last_records,
            txn_indexes,
        })
    }

    /// Installs a finished job's segments (see the module docs). Groups whose source segments
    /// were deleted or replaced since the job was taken are skipped and their files removed.
    pub fn install_compaction(&mut self, mut compacted: CompactedSegments) -> Result<CompactionReport> {
        let mut report = CompactionReport::default();
        let groups = std::mem::take(&mut compacted.groups);
        if compacted.log_id != self.log_id {
            report.groups_skipped = groups.len();
            for g in &groups {
                remove_cleaned(&compacted.dir, g.base_offset)?;
            }
            return Ok(report);
        }
        let active_base = self.active().base_offset;
        for group in groups {
            let intact = group
                .replaced
                .iter()
                .all(|(base, id)| *base != active_base && self.segments.get(base).is_some_and(|s| s.id == *id));
            if !intact || !group.complete {
                remove_cleaned(&self.dir, group.base_offset)?;
                report.groups_skipped += 1;
                continue;
            }
            self.swap_in(&group)?;
            report.segments_replaced += group.replaced.len();
            report.segments_written += 1;
            report.bytes_before += group.bytes_before;
            report.bytes_after += group.bytes_after;
        }
        report.records_removed = compacted.records_removed;
        self.clean_offset = self.clean_offset.max(compacted.clean_offset);
        self.tombstone_horizon_ms = compacted.tombstone_horizon_ms;
        self.write_checkpoint_file(false)?;
        Ok(report)
    }

    fn swap_in(&mut self, group: &CleanedGroup) -> Result<()> {
        let dir = self.dir.clone();
        let base = group.base_offset;
        let list: String = group.replaced.iter().map(|(b, _)| format!("{b}\n")).collect();
        let gf = group_file(&dir, base);
        fileio::write_atomic(&gf, list.as_bytes()).at(&gf)?;
        let cleaned = cleaned_paths(&dir, base);
        let swap = swap_paths(&dir, base);
        for i in RENAME_ORDER {
            std::fs::rename(&cleaned[i], &swap[i]).at(&cleaned[i])?;
        }
        fileio::sync_dir(&dir).at(&dir)?;
        for (old, _) in &group.replaced {
            let seg = self.segments.remove(old).expect("checked intact");
            seg.delete_files(&dir)?;
        }
        let finals = final_paths(&dir, base);
        for i in RENAME_ORDER {
            std::fs::rename(&swap[i], &finals[i]).at(&swap[i])?;
        }
        remove_if_empty(&finals[TXN_INDEX])?;
        fileio::remove_if_exists(&gf).at(&gf)?;
        fileio::sync_dir(&dir).at(&dir)?;
        let id = self.next_id();
        let (seg, _, _) = Segment::open(
            &dir,
            base,
            self.config.segment_index_bytes,
            self.config.index_interval_bytes,
            false,
            id,
            &self.files,
            // Compaction keeps every batch's leader epoch: the epoch cache is not touched.
            &mut |_| {},
        )?;
        self.segments.insert(base, seg);
        Ok(())
    }
}

/// An empty `.txnindex` means no aborted transaction: the file is left out, as for new segments.
fn remove_if_empty(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() == 0 => fileio::remove_if_exists(path).at(path),
        _ => Ok(()),
    }
}

fn remove_cleaned(dir: &Path, base: i64) -> Result<()> {
    for p in cleaned_paths(dir, base) {
        fileio::remove_if_exists(&p).at(&p)?;
    }
    Ok(())
}

impl Drop for CompactedSegments {
    fn drop(&mut self) {
        for g in &self.groups {
            let _ = remove_cleaned(&self.dir, g.base_offset);
        }
    }
}

/// At open: removes leftover `.cleaned` files, completes swaps whose `.log.swap` exists (deleting
/// the segments its `.swapgroup` lists) and rolls back swaps that never got that far.
pub(crate) fn finish_interrupted_swaps(dir: &Path) -> Result<()> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    for name in &names {
        if name.ends_with(".cleaned") {
            let p = dir.join(name);
            fileio::remove_if_exists(&p).at(&p)?;
        }
    }
    for name in &names {
        let Some((base, "swapgroup")) = segment::parse_file_name(name) else { continue };
        let gf = dir.join(name);
        let swap = swap_paths(dir, base);
        if swap[0].exists() {
            let list = std::fs::read_to_string(&gf).at(&gf)?;
            for old in list.lines().filter_map(|l| l.trim().parse::<i64>().ok()) {
                for (i, p) in final_paths(dir, old).iter().enumerate() {
                    // Without its `.swap`, the base's `.txnindex` was already renamed into place:
                    // it is the new one (every group writes one).
                    if i == TXN_INDEX && old == base && !swap[TXN_INDEX].exists() {
                        continue;
                    }
                    fileio::remove_if_exists(p).at(p)?;
                }
            }
            let finals = final_paths(dir, base);
            for i in RENAME_ORDER {
                if swap[i].exists() {
                    std::fs::rename(&swap[i], &finals[i]).at(&swap[i])?;
                }
            }
            remove_if_empty(&finals[TXN_INDEX])?;
            tracing::warn!(dir = %dir.display(), base_offset = base, "completed an interrupted compaction swap");
        } else {
            for p in &swap {
                fileio::remove_if_exists(p).at(p)?;
            }
            tracing::warn!(dir = %dir.display(), base_offset = base, "rolled back an interrupted compaction swap");
        }
        fileio::remove_if_exists(&gf).at(&gf)?;
    }
    // Swap files without a group file (should not happen): Kafka's rule, complete the swap.
    for name in &names {
        if let Some((base, "log.swap")) = segment::parse_file_name(name) {
            let swap = swap_paths(dir, base);
            if swap[0].exists() && !group_file(dir, base).exists() {
                let finals = final_paths(dir, base);
                for i in RENAME_ORDER {
                    if swap[i].exists() {
                        std::fs::rename(&swap[i], &finals[i]).at(&swap[i])?;
                    }
                }
            }
        }
    }
    fileio::sync_dir(dir).at(dir)?;
    Ok(())
}

/// Per-batch decision of the cleaner.
struct Filtered {
    bytes: Option<Vec<u8>>,
    removed: u64,
    tombstone_horizon: Option<i64>,
}

/// Kafka's `CleanedTransactionMetadata`: which batches belong to aborted transactions and which
/// markers may go, as the cleaner walks the log in offset order.
#[derive(Default)]
struct TxnCleanState {
    /// Aborted transactions not reached yet, by first offset (Kafka's min-heap).
    pending: BTreeSet<(i64, AbortedTxn)>,
    /// Aborted transactions reached, by producer, and the last batch of each the walk met.
    ongoing_aborted: HashMap<i64, (AbortedTxn, Option<i64>)>,
    /// Producers whose transactional batches the walk met since their last marker.
    ongoing_committed: HashSet<i64>,
    /// `.txnindex` entries of the cleaned segment being written.
    cleaned_index: Vec<AbortedTxn>,
}

impl TxnCleanState {
    fn new(aborted: Vec<AbortedTxn>) -> TxnCleanState {
        TxnCleanState {
            pending: aborted.into_iter().map(|t| (t.first_offset, t)).collect(),
            ..TxnCleanState::default()
        }
    }

    fn reach(&mut self, offset: i64) {
        while let Some(&(first, txn)) = self.pending.first() {
            if first > offset {
                break;
            }
            self.pending.pop_first();
            self.ongoing_aborted.entry(txn.producer_id).or_insert((txn, None));
        }
    }

    /// Kafka's `onBatchRead`: whether a data batch belongs to an aborted transaction.
    fn on_data(&mut self, header: &BatchHeader) -> bool {
        self.reach(header.last_offset());
        if !header.is_transactional() {
            return false;
        }
        match self.ongoing_aborted.get_mut(&header.producer_id) {
            Some((_, last_seen)) => {
                *last_seen = Some(header.last_offset());
                true
            }
            None => {
                self.ongoing_committed.insert(header.producer_id);
                false
            }
        }
    }

    /// Kafka's `onControlBatchRead`: whether a control batch may be discarded. `marker` is its
    /// transaction marker (`None` for another control record); `empty` a batch already emptied.
    fn on_control(&mut self, header: &BatchHeader, marker: Option<producer::EndMarker>, empty: bool) -> bool {
        self.reach(header.last_offset());
        if empty {
            return true;
        }
        match marker {
            Some(m) if !m.commit => match self.ongoing_aborted.remove(&header.producer_id) {
                // Its data is still around: keep the marker and its index entry.
                Some((txn, Some(_))) => {
                    self.cleaned_index.push(txn);
                    false
                }
                _ => true,
            },
            Some(_) => !self.ongoing_committed.remove(&header.producer_id),
            None => false,
        }
    }
}

/// Kafka's `collectAbortedTransactions` over the job's `.txnindex` files: entries overlapping
/// `[start, end)`, stopping once an entry's LSO reaches `end`. A file gone meanwhile (retention)
/// adds nothing.
fn collect_aborted(paths: &[PathBuf], start: i64, end: i64) -> Result<Vec<AbortedTxn>> {
    let mut out = Vec::new();
    for path in paths {
        let index = match TxnIndex::open_read_only(path.clone()) {
            Ok(index) => index,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        if index.collect(start, end, &mut out).at(path)? {
            break;
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

impl CompactionJob {
    /// Offsets at and above this are not examined by this job.
    pub fn end_offset(&self) -> i64 {
        self.segments.last().map_or(self.first_dirty_offset, |s| s.end_offset)
    }

    /// Runs the compaction without the log's lock: reads the job's segments one at a time through
    /// descriptors of its own and writes `.cleaned` files. Install the result with
    /// [`Log::install_compaction`].
    pub fn run(self) -> Result<CompactedSegments> {
        let mut map: HashMap<(u64, u64), i64> = HashMap::new();
        let mut clean_end = self.first_dirty_offset;
        // Keys of aborted transactions never enter the map: they must not shadow older values.
        let mut txns =
            TxnCleanState::new(collect_aborted(&self.txn_indexes, self.first_dirty_offset, self.end_offset())?);
        for seg in &self.segments {
            if seg.end_offset <= self.first_dirty_offset {
                continue;
            }
            if map.len() >= OFFSET_MAP_ENTRIES_MAX {
                break;
            }
            // A vanished segment (deleted by retention meanwhile) adds no keys: records it would
            // have superseded are kept, which is safe, and its group is skipped.
            self.for_each_batch(seg, |header, bytes| {
                if header.is_control() {
                    txns.on_control(header, producer::end_marker_of(bytes), header.records_count == 0);
                    return Ok(());
                }
                if txns.on_data(header) || header.last_offset() < self.first_dirty_offset {
                    return Ok(());
                }
                let Ok(records) = record::decode_records(bytes) else { return Ok(()) };
                for r in records {
                    let offset = header.base_offset + r.offset_delta as i64;
                    if let (Some(key), true) = (&r.key, offset >= self.first_dirty_offset) {
                        map.insert(key_hash(key), offset);
                    }
                }
                Ok(())
            })?;
            clean_end = seg.end_offset;
        }

        // Groups of consecutive segments below clean_end that fit one segment.
        let cleanable: Vec<&JobSegment> = self.segments.iter().filter(|s| s.end_offset <= clean_end).collect();
        let mut groups: Vec<Vec<&JobSegment>> = Vec::new();
        for seg in cleanable {
            match groups.last_mut() {
                Some(g)
                    if g.iter().map(|s| s.size).sum::<u64>() + seg.size <= self.segment_bytes
                        && seg.end_offset - g[0].base_offset <= i32::MAX as i64 =>
                {
                    g.push(seg)
                }
                _ => groups.push(vec![seg]),
            }
        }

        let mut out = CompactedSegments {
            dir: self.dir.clone(),
            log_id: self.log_id,
            groups: Vec::new(),
            clean_offset: clean_end,
            tombstone_horizon_ms: None,
            records_removed: 0,
        };
        // One walk in offset order through every group (Kafka carries the state across groups).
        let start = groups.first().map_or(clean_end, |g| g[0].base_offset);
        let mut txns = TxnCleanState::new(collect_aborted(&self.txn_indexes, start, clean_end)?);
        for group in groups {
            let cleaned = self.clean_group(&group, &map, clean_end, &mut txns, &mut out)?;
            out.groups.push(cleaned);
        }
        Ok(out)
    }

    /// Opens `seg`'s file and calls `f` on each of its batches; the file is closed when this
    /// returns, so a job holds one descriptor whatever its segment count. Returns false, having
    /// called nothing, when the segment vanished since the job was cut: its path is gone or now
    /// names another file (retention or `DeleteRecords` removed it; a handle taken at cut time
    /// would have kept it readable, at one descriptor per segment).
    fn for_each_batch(&self, seg: &JobSegment, mut f: impl FnMut(&BatchHeader, &[u8]) -> Result<()>) -> Result<bool> {
        let path = &seg.path;
        let file = match File::open(path) {
            Ok(file) => Arc::new(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io(path, e)),
        };
        if fileio::file_id(&file.metadata().at(path)?) != seg.file_id {
            return Ok(false);
        }
        let mut scan = HeaderScan::new(file.clone(), 0, seg.size);
        let mut buf = Vec::new();
        while let Some((position, header)) = scan.next().at(path)? {
            // One batch at a time: bounded by the largest batch the log accepted.
            buf.resize(header.size_bytes() as usize, 0);
            fileio::read_exact_at(&file, &mut buf, position).at(path)?;
            f(&header, &buf)?;
        }
        Ok(true)
    }

    fn clean_group(
        &self,
        group: &[&JobSegment],
        map: &HashMap<(u64, u64), i64>,
        clean_end: i64,
        txns: &mut TxnCleanState,
        out: &mut CompactedSegments,
    ) -> Result<CleanedGroup> {
        let base = group[0].base_offset;
        let [log_path, index_path, time_path, txn_path] = cleaned_paths(&self.dir, base);
        txns.cleaned_index.clear();
        let file = File::create(&log_path).at(&log_path)?;
        let mut writer = BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, file);
        let mut position = 0u64;
        let mut bytes_since_index = 0u64;
        let mut offset_entries: Vec<u8> = Vec::new();
        let mut time_entries: Vec<u8> = Vec::new();
        let (mut max_ts, mut max_ts_offset) = (batch::NO_TIMESTAMP, base);
        let mut last_time_entry: Option<i64> = None;
        let push_time = |entries: &mut Vec<u8>, last: &mut Option<i64>, ts: i64, off: i64| {
            if last.is_none_or(|l| ts > l) {
                entries.extend_from_slice(&ts.to_be_bytes());
                entries.extend_from_slice(&((off - base) as u32).to_be_bytes());
                *last = Some(ts);
            }
        };
        let mut bytes_before = 0;
        // Merged into `out` only when the whole group was written.
        let mut records_removed = 0;
        let mut tombstone_horizon_ms: Option<i64> = None;
        for seg in group {
            bytes_before += seg.size;
            let present = self.for_each_batch(seg, |header, bytes| {
                let filtered = self.filter_batch(header, bytes, map, clean_end, txns);
                records_removed += filtered.removed;
                if let Some(h) = filtered.tombstone_horizon {
                    tombstone_horizon_ms = Some(tombstone_horizon_ms.map_or(h, |x| x.min(h)));
                }
                let Some(new_bytes) = filtered.bytes else { return Ok(()) };
                let new_header = BatchHeader::parse(&new_bytes).expect("encoded batch");
                if new_header.max_timestamp > max_ts {
                    max_ts = new_header.max_timestamp;
                    max_ts_offset = new_header.last_offset();
                }
                if bytes_since_index > self.index_interval_bytes {
                    offset_entries.extend_from_slice(&((new_header.last_offset() - base) as u32).to_be_bytes());
                    offset_entries.extend_from_slice(&(position as u32).to_be_bytes());
                    push_time(&mut time_entries, &mut last_time_entry, max_ts, max_ts_offset);
                    bytes_since_index = 0;
                }
                bytes_since_index += new_bytes.len() as u64;
                writer.write_all(&new_bytes).at(&log_path)?;
                position += new_bytes.len() as u64;
                Ok(())
            })?;
            if !present {
                // The partial `.cleaned` file is removed with the skipped group.
                return Ok(CleanedGroup {
                    base_offset: base,
                    replaced: group.iter().map(|s| (s.base_offset, s.id)).collect(),
                    bytes_before,
                    bytes_after: 0,
                    complete: false,
                });
            }
        }
        out.records_removed += records_removed;
        if let Some(h) = tombstone_horizon_ms {
            out.tombstone_horizon_ms = Some(out.tombstone_horizon_ms.map_or(h, |x| x.min(h)));
        }
        if max_ts >= 0 {
            push_time(&mut time_entries, &mut last_time_entry, max_ts, max_ts_offset);
        }
        let file = writer.into_inner().map_err(|e| Error::io(&log_path, e.into_error()))?;
        file.sync_all().at(&log_path)?;
        debug_assert_eq!(offset_entries.len() % OFFSET_ENTRY_BYTES, 0);
        debug_assert_eq!(time_entries.len() % TIME_ENTRY_BYTES, 0);
        // Always written, empty or not: see the module docs on crash safety.
        let txn_entries: Vec<u8> = txns.cleaned_index.iter().flat_map(|t| t.encode()).collect();
        for (path, bytes) in [(&index_path, &offset_entries), (&time_path, &time_entries), (&txn_path, &txn_entries)] {
            let mut f = File::create(path).at(path)?;
            f.write_all(bytes).at(path)?;
            f.sync_all().at(path)?;
        }
        Ok(CleanedGroup {
            base_offset: base,
            replaced: group.iter().map(|s| (s.base_offset, s.id)).collect(),
            bytes_before,
            bytes_after: position,
            complete: true,
        })
    }

    /// Kafka's `checkBatchRetention` + `shouldRetainRecord` + `filterTo` for one batch.
    fn filter_batch(
        &self,
        header: &BatchHeader,
        bytes: &[u8],
        map: &HashMap<(u64, u64), i64>,
        clean_end: i64,
        txns: &mut TxnCleanState,
    ) -> Filtered {
        let keep_whole = Filtered { bytes: Some(bytes.to_vec()), removed: 0, tombstone_horizon: None };
        if header.last_offset() >= clean_end {
            return keep_whole;
        }
        let control = header.is_control();
        let decoded = record::decode_records(bytes);
        let can_discard = if control {
            let empty = header.records_count == 0 || decoded.as_ref().is_ok_and(|r| r.is_empty());
            let marker = if decoded.is_ok() { producer::end_marker_of(bytes) } else { None };
            txns.on_control(header, marker, empty)
        } else {
            txns.on_data(header)
        };
        let horizon = header.has_delete_horizon().then_some(header.base_timestamp);
        // Markers wait out `delete.retention.ms` like tombstones; aborted data goes at once.
        let discard_records =
            if control { can_discard && horizon.is_some_and(|h| h <= self.now_ms) } else { can_discard };
        let last_of_producer = header.has_producer_id()
            && self.last_records.get(&header.producer_id).is_some_and(|last| match last.last_data_offset {
                Some(offset) => header.last_offset() == offset,
                None => control && header.producer_epoch == last.epoch,
            });
        let marker_for_empty_txn = can_discard && control;
        let records = match decoded {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), offset = header.base_offset, "compaction keeps an undecodable batch: {e}");
                return keep_whole;
            }
        };
        let mut retained: Vec<&Record> = Vec::with_capacity(records.len());
        let mut has_tombstone = false;
        if control && !discard_records {
            retained.extend(records.iter());
        } else if !discard_records {
            for r in &records {
                let offset = header.base_offset + r.offset_delta as i64;
                let Some(key) = &r.key else { continue };
                let latest = map.get(&key_hash(key)).is_none_or(|&o| offset >= o);
                if !latest {
                    continue;
                }
                if r.value.is_none() {
                    let keep = horizon.is_none_or(|h| self.now_ms < h);
                    if !keep {
                        continue;
                    }
                    has_tombstone = true;
                }
                retained.push(r);
            }
        }
        let removed = if control { 0 } else { (records.len() - retained.len()) as u64 };
        if retained.is_empty() {
            if !last_of_producer {
                return Filtered { bytes: None, removed, tombstone_horizon: None };
            }
            // Kafka's writeEmptyHeader: keeps the producer's last sequence and epoch in the log.
            let mut spec = spec_of(header);
            spec.compression = crate::compression::Compression::None;
            spec.delete_horizon = false;
            spec.base_timestamp = header.max_timestamp;
            let bytes = record::encode_batch(&spec, &[]).expect("uncompressed empty batch");
            return Filtered { bytes: Some(bytes), removed, tombstone_horizon: None };
        }
        let set_horizon = (has_tombstone || marker_for_empty_txn) && horizon.is_none();
        let new_horizon =
            if set_horizon { Some(self.now_ms.saturating_add(self.delete_retention_ms)) } else { horizon };
        // A later pass is due when a kept tombstone or removable marker reaches its horizon.
        let tombstone_horizon = if has_tombstone || marker_for_empty_txn { new_horizon } else { None };
        if removed == 0 && !set_horizon {
            return Filtered { tombstone_horizon, ..keep_whole };
        }
        // Re-encode the retained records relative to the new base timestamp.
        let raw_ts = |r: &Record| header.base_timestamp.wrapping_add(r.timestamp_delta);
        let new_base_ts = new_horizon.unwrap_or_else(|| raw_ts(retained[0]));
        let mut spec = spec_of(header);
        spec.delete_horizon = new_horizon.is_some();
        spec.base_timestamp = new_base_ts;
        spec.max_timestamp = if header.is_log_append_time() {
            header.max_timestamp
        } else {
            retained.iter().map(|r| raw_ts(r)).max().unwrap_or(batch::NO_TIMESTAMP)
        };
        let records: Vec<Record> = retained
            .iter()
            .map(|r| Record { timestamp_delta: raw_ts(r).wrapping_sub(new_base_ts), ..(*r).clone() })
            .collect();
        match record::encode_batch(&spec, &records) {
            Ok(bytes) => Filtered { bytes: Some(bytes), removed, tombstone_horizon },
            Err(e) => {
                tracing::warn!(dir = %self.dir.display(), offset = header.base_offset, "compaction keeps a batch it cannot re-encode: {e}");
                keep_whole
            }
        }
    }
}

fn spec_of(h: &BatchHeader) -> BatchSpec {
    BatchSpec {
        base_offset: h.base_offset,
        partition_leader_epoch: h.partition_leader_epoch,
        compression: crate::compression::Compression::from_id(h.compression())
            .unwrap_or(crate::compression::Compression::None),
        log_append_time: h.is_log_append_time(),
        transactional: h.is_transactional(),
        control: h.is_control(),
        delete_horizon: h.has_delete_horizon(),
        last_offset_delta: h.last_offset_delta,
        base_timestamp: h.base_timestamp,
        max_timestamp: h.max_timestamp,
        producer_id: h.producer_id,
        producer_epoch: h.producer_epoch,
        base_sequence: h.base_sequence,
    }
}
