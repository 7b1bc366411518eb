//! `oxbow-log`: one Kafka partition's log on disk, in Apache Kafka's own layout.
//!
//! A [`Log`] owns one directory `TOPIC-PARTITION/` holding segments named by their base offset
//! (`00000000000000000000.log`, `.index`, `.timeindex`, `.txnindex`), so Kafka's `kafka-dump-log`
//! reads them.
//! Record batches (RecordBatch v2) are stored byte for byte as produced; on append the leader sets
//! only the base offset, the partition leader epoch and, for `LogAppendTime` topics, the max
//! timestamp and timestamp-type bit, then recomputes the CRC (only when a CRC'd field changed).
//!
//! What it deliberately does not do: networking, Kafka protocol requests, replication decisions,
//! locking across threads (the broker wraps each `Log` in its own lock), or decoding record payloads
//! except where compaction, compacted-topic key checks and timestamp lookups need them.
//!
//! # API used by `oxbow-broker` (keep it stable; extend rather than change)
//! - [`Log::open`] recovers a directory (creating it when absent) and reports what it repaired;
//! - [`Log::append_as_leader`] validates and appends the batches of one produce request;
//!   [`Log::append_as_follower`] / [`Log::truncate_to`] are the replica side;
//! - leader epochs (Kafka's leader epoch cache, KIP-101/KIP-279): [`Log::latest_epoch`],
//!   [`Log::epoch_entries`], [`Log::end_offset_for_epoch`] (OffsetsForLeaderEpoch) and
//!   [`Log::assign_epoch`]; appends record each new epoch's first offset themselves, truncation
//!   and log start moves trim the cache;
//! - [`Log::read`] returns whole batches starting at the batch containing an offset;
//! - transactions (KIP-98): transactional batches go through [`Log::append_as_leader`] like
//!   idempotent ones and open a transaction; [`Log::append_txn_marker`] writes the COMMIT or
//!   ABORT marker the transaction coordinator asks for (leader only; followers get markers by
//!   replication); [`Log::last_stable_offset`] (LSO) bounds what `read_committed` consumers see,
//!   [`Log::collect_aborted_txns`] lists the aborted transactions a fetch range overlaps,
//!   [`Log::active_producers`] answers DescribeProducers;
//! - offsets ([`Log::log_start_offset`], [`Log::log_end_offset`], [`Log::high_watermark`]),
//!   [`Log::offset_for_timestamp`], [`Log::max_timestamp`], [`Log::delete_records_before`];
//! - [`Log::maintain`] periodically (every few seconds; Kafka's retention check runs every 5 min,
//!   its flush check every `flush.ms`): `segment.ms` rolls, fsync of rolled segments and per
//!   `flush.ms`, retention, producer-id expiry;
//! - [`Log::checkpoint`] periodically (Kafka: 60 s) and [`Log::close`] at shutdown, or
//!   [`close_many`] for all logs at once (a few `syncfs` calls instead of per-file fsyncs);
//! - compaction, for `cleanup.policy` containing `compact`, in three steps so appends never wait:
//!
//! ```text
//! // under the partition's lock, e.g. every 15 s (Kafka's log.cleaner.backoff.ms):
//! let job = log.lock().compaction_job(now_ms);          // cheap: paths and sizes only
//! if let Some(job) = job {
//!     // no lock held: a blocking thread (tokio::task::spawn_blocking)
//!     let cleaned = job.run()?;                           // reads old segments, writes *.cleaned
//!     // under the lock again: swaps files in, skipping segments that changed meanwhile
//!     let report = log.lock().install_compaction(cleaned)?;
//! }
//! ```
//!
//! # Files in a partition directory
//! - `<base>.log`, `<base>.index`, `<base>.timeindex`: Kafka's formats (see [`batch`] and the
//!   index module docs). Indexes of the active segment are preallocated to
//!   `segment.index.bytes` and trimmed at roll and close, as Kafka does.
//! - `<base>.txnindex`: the segment's aborted transactions in Kafka's `TransactionIndex` format
//!   (see the `txn_index` module), present only once the segment holds an ABORT marker. Kept with
//!   its segment through retention, truncation (entries past the new end go) and compaction.
//! - `<offset>.snapshot`: producer state (idempotent sequences, open transactions) as of that
//!   log end offset (Oxbow's own format, documented in the producer module); at most 2 kept.
//! - `oxbow.checkpoint`: recovery point, log start offset, high watermark, compaction's clean
//!   offset and tombstone horizon, clean-shutdown flag (text; documented in the checkpoint
//!   module). Kafka keeps these per data directory; Oxbow keeps them per partition.
//! - `leader-epoch-checkpoint`: the leader epoch cache, `(epoch, start offset)` pairs, in
//!   Kafka's own format (documented in the epochs module), so Kafka's tools read it. Replaced
//!   atomically and durably on every change; written before the first batch of a new epoch, so
//!   it is never behind the log, and cut back to the recovered log at open. Absent until the
//!   first epoch is recorded; absent (a log from before it existed), empty or malformed, it is
//!   rebuilt from the batch headers at open.
//! - transient: `*.cleaned`, `*.swap`, `<base>.swapgroup` (compaction), `*.tmp` (atomic writes).
//!
//! # Recovery of producer state and `.txnindex`
//! Producer state is loaded from the newest snapshot at or below the recovery point (what was
//! fsynced) and the batches after it are replayed, markers included; every `.txnindex` entry at
//! or past the snapshot's offset is dropped first and re-appended by the replay, so an entry torn
//! or lost in a crash comes back exactly as first written. Truncation does the same from the
//! newest snapshot at or below the new log end. An unreadable `.txnindex` makes the replay start
//! at the first segment.
//!
//! # Durability
//! Appends reach the page cache with `write()`, so a killed process (`kill -9`) loses nothing
//! acknowledged: `open` re-scans everything after the recovery point. fsync happens when
//! `flush.messages` records are unflushed, when `flush.ms` has passed (checked by `maintain`),
//! for rolled segments (in `maintain`, as Kafka flushes a rolled segment in the background), and
//! at `checkpoint`/`close`. With Kafka's defaults (no `flush.*`) a power loss can lose what was
//! appended since the last fsync; Kafka relies on replication for that, and so does Oxbow.
//!
//! # Open files and memory maps
//! A log holds no file descriptor and no memory map of its own. Every segment's `.log` file and
//! index mappings live in a [`FileCache`] shared by many logs (the broker's, or
//! [`FileCache::process_default`]), which keeps at most `open_files_max` files open (default:
//! half the soft `RLIMIT_NOFILE`) and `index_maps_max` index files mapped (default: half of
//! `vm.max_map_count`), closing or unmapping the least recently used. An evicted file is
//! reopened by path on its next read, append or fsync; nothing else changes, so a broker can
//! hold any number of partitions and segments within fixed descriptor and map budgets.
//!
//! # Bounds
//! Every buffer is bounded and says so where it is declared: read windows
//! (`SCAN_WINDOW_BYTES`, `RECOVERY_WINDOW_BYTES`), decompressed batch size
//! ([`record::DECOMPRESSED_BATCH_BYTES_MAX`]), producer batches ([`BATCHES_RETAINED_MAX`]) and
//! producer expiry, compaction's key map (`OFFSET_MAP_ENTRIES_MAX`). A read returns at most
//! `max_bytes`, or one batch (bounded by `max.message.bytes` when it was appended).

pub mod batch;
mod checkpoint;
mod compaction;
pub mod compression;
mod epochs;
mod error;
mod fileio;
mod files;
mod index;
mod producer;
pub mod record;
mod segment;
mod txn_index;

pub use compaction::{CompactedSegments, CompactionJob, CompactionReport};
pub use epochs::{UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};
pub use error::{Error, Result};
pub use files::{index_maps_max_default, open_files_max_default, FileCache, FileCacheStats};
pub use producer::{BATCHES_RETAINED_MAX, PRODUCER_ID_EXPIRATION_MS_DEFAULT};
pub use txn_index::{AbortedTxn, ABORTED_TXN_BYTES};

use batch::BatchHeader;
use bytes::{Bytes, BytesMut};
use checkpoint::Checkpoint;
use epochs::LeaderEpochCache;
use error::IoContext;
use producer::{CompletedTxn, EndMarker, PendingAppend, ProducerState};
use segment::Segment;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Kafka's `cleanup.policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CleanupPolicy {
    pub delete: bool,
    pub compact: bool,
}

/// Who writes a batch (Kafka's `AppendOrigin`): decides which producer checks apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOrigin {
    /// A producer's request: sequences are checked and duplicates recognised.
    Client,
    /// A coordinator of this broker writing its internal topic: producer epochs are checked,
    /// sequences are not (its transactional batches carry none).
    Coordinator,
    /// A follower copying its leader: nothing is re-checked.
    Replication,
}

/// Kafka's `message.timestamp.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// Per-log configuration, by Kafka's topic config names; defaults are Kafka's.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// `segment.bytes`: roll the active segment when it would grow past this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll the active segment when its first batch is this old.
    pub segment_ms: i64,
    /// `segment.index.bytes`: size the offset and time index files are preallocated to.
    pub segment_index_bytes: u64,
    /// `index.interval.bytes`: bytes of log between two sparse index entries.
    pub index_interval_bytes: u64,
    /// `retention.ms`: delete segments whose newest record is older; -1 = forever.
    pub retention_ms: i64,
    /// `retention.bytes`: delete oldest segments while the log is larger; -1 = unbounded.
    pub retention_bytes: i64,
    /// `max.message.bytes`: the largest record batch accepted (after compression).
    pub max_message_bytes: u32,
    /// `cleanup.policy`.
    pub cleanup_policy: CleanupPolicy,
    /// `delete.retention.ms`: how long compaction keeps tombstones.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`.
    pub min_compaction_lag_ms: i64,
    /// `message.timestamp.type`.
    pub message_timestamp_type: TimestampType,
    /// `flush.messages`: fsync after this many records; `u64::MAX` leaves it to the OS (Kafka's default).
    pub flush_messages: u64,
    /// `flush.ms`: fsync when the oldest unflushed record is this old; `i64::MAX` leaves it to the OS.
    pub flush_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            segment_index_bytes: 10 * 1024 * 1024,
            index_interval_bytes: 4096,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            max_message_bytes: 1_048_588,
            cleanup_policy: CleanupPolicy { delete: true, compact: false },
            delete_retention_ms: 24 * 60 * 60 * 1000,
            min_compaction_lag_ms: 0,
            message_timestamp_type: TimestampType::CreateTime,
            flush_messages: u64::MAX,
            flush_ms: i64::MAX,
        }
    }
}

/// What [`Log::open`] found and repaired.
#[derive(Clone, Debug, Default)]
pub struct RecoveryReport {
    pub segments: usize,
    /// Batches scanned past the recovery point.
    pub batches_recovered: u64,
    /// Bytes cut from a torn or corrupt tail, and the segment and file position where the cut was made.
    pub truncated_bytes: u64,
    pub truncated_at: Option<(PathBuf, u64)>,
    pub indexes_rebuilt: usize,
}

/// Result of an append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Offset of the first record appended (for a duplicate idempotent batch: of the original).
    pub base_offset: i64,
    pub last_offset: i64,
    /// The broker-assigned timestamp for `LogAppendTime` logs, else -1 (as in ProduceResponse).
    pub log_append_time_ms: i64,
    pub log_start_offset: i64,
    /// True when an idempotent producer resent a batch that is already in the log; nothing was written.
    pub duplicate: bool,
}

/// Whole batches read from the log.
#[derive(Clone, Debug)]
pub struct ReadOutcome {
    /// Concatenated record batches, each complete, exactly as stored.
    pub records: Bytes,
    /// Offset just past the last record returned (or the start offset when empty).
    pub next_offset: i64,
}

/// A timestamp-to-offset lookup result (ListOffsets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp_ms: i64,
    pub offset: i64,
}

/// A segment as the studio and `DescribeLogDirs` see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub base_offset: i64,
    /// Offset just past the segment's last record.
    pub next_offset: i64,
    pub size_bytes: u64,
    pub max_timestamp_ms: i64,
    pub active: bool,
}

/// A transaction marker to write (what a WriteTxnMarkers request asks of a partition leader).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnMarker {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The transaction coordinator's epoch; a marker older than the producer's last is fenced.
    pub coordinator_epoch: i32,
    /// COMMIT (true) or ABORT (false).
    pub commit: bool,
}

/// One producer's state in this log, as DescribeProducers reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerInfo {
    pub producer_id: i64,
    pub producer_epoch: i16,
    /// The last sequence written, -1 when no batch of the current epoch is retained.
    pub last_sequence: i32,
    pub last_timestamp_ms: i64,
    /// The coordinator epoch of the producer's last marker, -1 before any.
    pub coordinator_epoch: i32,
    /// First offset of the open transaction, -1 when none.
    pub current_txn_start_offset: i64,
}

/// Gives every `Log` instance its own id, so a compaction result can only be installed into the
/// log that produced its job.
static NEXT_LOG_ID: AtomicU64 = AtomicU64::new(1);

/// Kafka's `min.cleanable.dirty.ratio` default.
pub const MIN_CLEANABLE_DIRTY_RATIO_DEFAULT: f64 = 0.5;
/// Producer snapshots kept on disk (newest first); older ones are deleted at checkpoint.
const SNAPSHOTS_KEPT_MAX: usize = 2;

/// One partition's log. Not thread-safe by itself: the broker serialises access.
pub struct Log {
    dir: PathBuf,
    config: LogConfig,
    /// By base offset. Invariant: never empty; the last one is the active segment.
    segments: BTreeMap<i64, Segment>,
    log_start_offset: i64,
    high_watermark: i64,
    /// Every record below it is fsynced.
    recovery_point: i64,
    /// Compaction's first dirty offset (Kafka's cleaner checkpoint).
    clean_offset: i64,
    /// Earliest delete horizon of a tombstone kept by compaction (a reason to compact again).
    tombstone_horizon_ms: Option<i64>,
    producers: ProducerState,
    /// Leader epochs and where each starts, mirrored in `leader-epoch-checkpoint` after every
    /// change. Invariant (between calls): no entry starts past the log end.
    epochs: LeaderEpochCache,
    last_flush_ms: i64,
    last_snapshot_offset: i64,
    next_segment_id: u64,
    log_id: u64,
    producer_id_expiration_ms: i64,
    min_cleanable_dirty_ratio: f64,
    /// Set by `close` (or the test-only crash helper) so `Drop` does nothing more.
    closed: bool,
    /// Where the segments' `.log` files stay open and their indexes mapped, bounded and shared
    /// with other logs (see [`FileCache`]).
    files: Arc<FileCache>,
}

/// Files in a partition directory that are not segments but belong to the log.
fn snapshot_offsets(dir: &Path) -> Result<Vec<i64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).at(dir)? {
        let entry = entry.at(dir)?;
        let name = entry.file_name();
        if let Some((offset, "snapshot")) = name.to_str().and_then(segment::parse_file_name) {
            out.push(offset);
        }
    }
    out.sort_unstable();
    Ok(out)
}

impl Log {
    /// Opens (or creates) the log in `dir`, recovering anything past the last recovery point.
    ///
    /// Recovery: unfinished compaction swaps are completed or rolled back; segments from the one
    /// containing the checkpointed recovery point onward (all of them without a checkpoint, none
    /// after a clean [`Log::close`]) are scanned batch by batch and a torn or corrupt tail is
    /// truncated with a warning; indexes that are missing or fail their sanity check are rebuilt;
    /// producer state is loaded from the newest snapshot and replayed from the log after it.
    /// The leader epoch cache is read from `leader-epoch-checkpoint`, extended by the epochs of
    /// scanned batches, and cut to the recovered log end and the log start; without a readable
    /// file it is rebuilt from every batch header (a warning when the file was malformed).
    ///
    /// A corrupt segment in the middle (disk damage; a crash only tears the tail of the active
    /// segment) is truncated at its first bad batch and the later segments are kept, each scanned
    /// on its own: the log then has an offset gap, exactly like a compacted log, rather than losing
    /// every later segment as Kafka's recovery does.
    ///
    /// Its files live in [`FileCache::process_default`]; see [`Log::open_with`].
    pub fn open(dir: &Path, config: LogConfig, now_ms: i64) -> Result<(Log, RecoveryReport)> {
        Log::open_with(dir, config, now_ms, FileCache::process_default())
    }

    /// [`Log::open`], keeping the log's open files and index mappings in `files`, a cache shared
    /// with other logs that bounds them all together (a broker passes its own).
    pub fn open_with(
        dir: &Path,
        config: LogConfig,
        now_ms: i64,
        files: &Arc<FileCache>,
    ) -> Result<(Log, RecoveryReport)> {
        std::fs::create_dir_all(dir).at(dir)?;
        compaction::finish_interrupted_swaps(dir)?;
        let checkpoint = Checkpoint::read(dir);
        let cp = checkpoint.unwrap_or(Checkpoint { tombstone_horizon_ms: -1, ..Checkpoint::default() });
        let clean_shutdown = checkpoint.is_some_and(|c| c.clean_shutdown);
        // Without a readable epoch file (a new log, a log from before leader epochs were kept,
        // damage) the cache is rebuilt below from every batch header, once.
        let (mut epochs, rebuild_epochs, malformed) = match LeaderEpochCache::read(dir)? {
            epochs::Loaded::Cache(cache) => (cache, false, false),
            epochs::Loaded::Missing => (LeaderEpochCache::default(), true, false),
            epochs::Loaded::Malformed(reason) => {
                let path = dir.join(epochs::FILE_NAME);
                tracing::warn!(file = %path.display(), "rebuilding the leader epoch cache from the log: {reason}");
                (LeaderEpochCache::default(), true, true)
            }
        };
        let mut epochs_changed = false;
        // Batches scanned past the recovery point add epochs the file lacks (Kafka's
        // `LogSegment.recover` rule). A file this log wrote lacks none (it is written before a
        // new epoch's first batch); one copied or restored from elsewhere may.
        let mut observe_epoch = |h: &BatchHeader| {
            if !rebuild_epochs {
                epochs_changed |= epochs.observe(h.partition_leader_epoch, h.base_offset);
            }
        };

        let mut bases = Vec::new();
        for entry in std::fs::read_dir(dir).at(dir)? {
            let entry = entry.at(dir)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".tmp") || name.ends_with(".deleted") {
                let path = entry.path();
                fileio::remove_if_exists(&path).at(&path)?;
                continue;
            }
            if let Some((base, "log")) = segment::parse_file_name(name) {
                bases.push(base);
            }
        }
        bases.sort_unstable();

        let mut report = RecoveryReport::default();
        let mut log = Log {
            dir: dir.to_path_buf(),
            config,
            segments: BTreeMap::new(),
            log_start_offset: 0,
            high_watermark: 0,
            recovery_point: 0,
            clean_offset: cp.clean_offset,
            tombstone_horizon_ms: (cp.tombstone_horizon_ms >= 0).then_some(cp.tombstone_horizon_ms),
            producers: ProducerState::default(),
            epochs: LeaderEpochCache::default(),
            last_flush_ms: now_ms,
            last_snapshot_offset: -1,
            next_segment_id: 0,
            log_id: NEXT_LOG_ID.fetch_add(1, Ordering::Relaxed),
            producer_id_expiration_ms: PRODUCER_ID_EXPIRATION_MS_DEFAULT,
            min_cleanable_dirty_ratio: MIN_CLEANABLE_DIRTY_RATIO_DEFAULT,
            closed: false,
            files: files.clone(),
        };
        // The segment containing the recovery point and everything after it were not fsynced.
        let recover_from = if clean_shutdown {
            i64::MAX
        } else {
            bases.iter().copied().filter(|&b| b <= cp.recovery_point).max().unwrap_or(i64::MIN)
        };
        let (index_bytes, interval) = (log.config.segment_index_bytes, log.config.index_interval_bytes);
        let mut txn_index_lost = false;
        for (i, &base) in bases.iter().enumerate() {
            let recover = base >= recover_from;
            let id = log.next_id();
            let (mut seg, scan, rebuilt) =
                Segment::open(dir, base, index_bytes, interval, recover, id, &log.files, &mut observe_epoch)?;
            if let Some(scan) = scan {
                report.batches_recovered += scan.batches;
                if let Some(at) = scan.truncated_at {
                    tracing::warn!(
                        file = %seg.log_path.display(),
                        position = at,
                        dropped_bytes = scan.truncated_bytes,
                        reason = scan.reason.as_deref().unwrap_or(""),
                        "truncated a torn or corrupt segment tail: dropped {} bytes of {} at byte {}",
                        scan.truncated_bytes,
                        seg.log_path.display(),
                        at
                    );
                    report.truncated_bytes += scan.truncated_bytes;
                    if report.truncated_at.is_none() {
                        report.truncated_at = Some((seg.log_path.clone(), at));
                    }
                }
            }
            if rebuilt {
                report.indexes_rebuilt += 1;
            }
            txn_index_lost |= seg.txn_index_lost;
            let is_last = i + 1 == bases.len();
            if is_last {
                seg.on_become_active(index_bytes)?;
            } else if rebuilt {
                seg.on_become_inactive()?;
            }
            log.segments.insert(base, seg);
        }
        if log.segments.is_empty() {
            let base = cp.log_start_offset.max(0);
            let id = log.next_id();
            log.segments.insert(base, Segment::create(dir, base, index_bytes, now_ms, id, &log.files)?);
        }
        report.segments = log.segments.len();

        let leo = log.log_end_offset();
        let first_base = *log.segments.keys().next().expect("at least one segment");
        log.log_start_offset = cp.log_start_offset.max(first_base).min(leo);
        log.high_watermark = cp.high_watermark.clamp(log.log_start_offset, leo);
        log.recovery_point = if clean_shutdown { leo } else { cp.recovery_point.clamp(first_base, leo) };
        log.epochs = if rebuild_epochs { log.scan_epochs()? } else { epochs };
        // The file may be ahead of a log whose unflushed tail a crash cut off, or behind a log
        // start that moved just before a crash: the two corrections Kafka's `LogLoader` makes.
        let cut = log.epochs.truncate_from_end(leo);
        let trimmed = log.epochs.truncate_from_start(log.log_start_offset);
        // No file is written for an empty rebuilt cache: opening a new log costs no fsync, and
        // an absent file means the same (a rescan of a log without epochs, cheap).
        let rebuilt = rebuild_epochs && (malformed || !log.epochs.is_empty());
        if rebuilt || epochs_changed || cut || trimmed {
            log.epochs.write(dir)?;
        }
        log.check_epochs();
        // After a crash, only a snapshot covering fsynced data is trusted: the `.txnindex`
        // entries below it were fsynced with it, those above are rebuilt by the replay.
        let snapshot_max_offset = log.recovery_point;
        log.load_producer_state(snapshot_max_offset, txn_index_lost)?;
        if clean_shutdown {
            // A crash from now on must not be mistaken for a clean shutdown.
            log.write_checkpoint_file(false)?;
        }
        Ok((log, report))
    }

    /// The epoch cache as the batch headers say, for a log without a readable
    /// `leader-epoch-checkpoint`: one pass over every segment's headers (no record decoded),
    /// applying the recovery rule to each batch.
    fn scan_epochs(&self) -> Result<LeaderEpochCache> {
        let mut epochs = LeaderEpochCache::default();
        for seg in self.segments.values() {
            let mut scan = seg.scan_from(0)?;
            while let Some((_, header)) = scan.next().at(&seg.log_path)? {
                epochs.observe(header.partition_leader_epoch, header.base_offset);
            }
        }
        let entries = epochs.entries().len();
        // A new, empty log has no file yet and nothing to rebuild: not worth a line per partition.
        if entries > 0 {
            tracing::info!(dir = %self.dir.display(), entries, "rebuilt the leader epoch cache from the log");
        } else {
            tracing::debug!(dir = %self.dir.display(), "no leader epochs in the log");
        }
        Ok(epochs)
    }

    fn next_id(&mut self) -> u64 {
        self.next_segment_id += 1;
        self.next_segment_id
    }

    /// Producer state from the newest usable snapshot at or below `snapshot_max_offset` (none
    /// with `replay_all`), then a replay of the batches after it, markers included, which also
    /// re-appends the `.txnindex` entries of aborted transactions it ends: entries at or past
    /// the replay's start are dropped first (after a crash they may be torn or missing).
    /// Snapshots past the log end describe records that are gone and are deleted.
    fn load_producer_state(&mut self, snapshot_max_offset: i64, replay_all: bool) -> Result<()> {
        let leo = self.log_end_offset();
        let mut from = *self.segments.keys().next().expect("a segment");
        let mut state = ProducerState::default();
        for offset in snapshot_offsets(&self.dir)?.into_iter().rev() {
            let path = self.dir.join(segment::file_name(offset, "snapshot"));
            if offset > leo {
                // Written before a truncation: describes records that are gone.
                fileio::remove_if_exists(&path).at(&path)?;
                continue;
            }
            if replay_all || offset > snapshot_max_offset {
                continue;
            }
            match std::fs::read(&path).map_err(|e| e.to_string()).and_then(|b| ProducerState::decode_snapshot(&b)) {
                Ok(s) => {
                    state = s;
                    from = from.max(offset);
                    self.last_snapshot_offset = offset;
                    break;
                }
                Err(e) => tracing::warn!(file = %path.display(), "ignoring producer snapshot: {e}"),
            }
        }
        for seg in self.segments.values_mut() {
            seg.txn_index.truncate_to(from).at(seg.txn_index.path())?;
        }
        self.producers = state;
        if from < leo {
            let floor = self.segments.range(..=from).next_back().map_or(from, |(b, _)| *b);
            let bases: Vec<i64> = self.segments.range(floor..).map(|(b, _)| *b).collect();
            for base in bases {
                let seg = &self.segments[&base];
                let Some((position, _)) = seg.find_batch(from)? else { continue };
                let log_path = seg.log_path.clone();
                let mut scan = seg.scan_from(position)?;
                while let Some((at, header)) = scan.next().at(&log_path)? {
                    if header.base_offset < from {
                        continue;
                    }
                    let marker = if header.is_control() && header.has_producer_id() {
                        let bytes = self.segments[&base].read_bytes(at, header.size_bytes() as usize)?;
                        producer::end_marker_of(&bytes)
                    } else {
                        None
                    };
                    if let Some(done) = self.producers.replay(&header, marker) {
                        self.index_completed(base, &done)?;
                    }
                }
            }
        }
        self.producers.on_high_watermark(self.high_watermark);
        Ok(())
    }

    /// Records a transaction a marker in segment `segment_base` ended: an aborted one gets its
    /// `.txnindex` entry there (with the LSO of that moment), then it waits for the high
    /// watermark (Kafka's `updateTxnIndex` + `completeTxn`, in that order).
    fn index_completed(&mut self, segment_base: i64, done: &CompletedTxn) -> Result<()> {
        if done.aborted {
            let entry = AbortedTxn {
                producer_id: done.producer_id,
                first_offset: done.first_offset,
                last_offset: done.last_offset,
                last_stable_offset: self.producers.last_stable_offset_of(done),
            };
            let seg = self.segments.get_mut(&segment_base).expect("the marker's segment");
            seg.txn_index.append(&entry).at(seg.txn_index.path())?;
        }
        self.producers.complete(done);
        Ok(())
    }

    /// After a failed `.txnindex` write for batches already in the log: takes them out again
    /// (truncation rebuilds producer state and indexes from a snapshot), so the log never holds
    /// a marker its index lacks.
    fn undo_append(&mut self, first_offset: i64, now_ms: i64) {
        if let Err(e) = self.truncate_to(first_offset, now_ms) {
            tracing::error!(dir = %self.dir.display(), offset = first_offset, error = %e, "could not take back an append whose transaction index write failed");
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// Applies a changed topic config; takes effect for the next append, roll and retention run.
    pub fn set_config(&mut self, config: LogConfig) {
        self.config = config;
    }

    /// `producer.id.expiration.ms` (default 24 h): producer state without a write for this long is
    /// dropped by [`Log::maintain`].
    pub fn set_producer_id_expiration_ms(&mut self, ms: i64) {
        self.producer_id_expiration_ms = ms;
    }

    /// `min.cleanable.dirty.ratio` (default 0.5): compaction waits until this share of the
    /// cleanable bytes is dirty.
    pub fn set_min_cleanable_dirty_ratio(&mut self, ratio: f64) {
        self.min_cleanable_dirty_ratio = ratio;
    }

    fn active(&self) -> &Segment {
        self.segments.values().next_back().expect("a log always has an active segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments.values_mut().next_back().expect("a log always has an active segment")
    }

    /// Validates and appends the record batches of one produce request partition, as the leader.
    ///
    /// Validation (nothing is written when any batch fails): `leader_epoch` not below the log's
    /// latest epoch ([`Error::FencedLeaderEpoch`]) nor negative, CRC32C, magic 2, lengths, size
    /// against `max.message.bytes`, idempotent producer epoch and sequence. Sets base offsets, the
    /// leader epoch and `LogAppendTime` timestamps, recomputing the CRC. The first append in a
    /// new epoch records that epoch as starting at its first offset (see [`Log::epoch_entries`]).
    ///
    /// A resent idempotent batch that matches one of the producer's last 5 batches returns the
    /// original offsets with `duplicate: true` and writes nothing (the whole request, as Kafka).
    pub fn append_as_leader(&mut self, batches: BytesMut, leader_epoch: i32, now_ms: i64) -> Result<AppendOutcome> {
        self.append_as_leader_from(batches, leader_epoch, now_ms, AppendOrigin::Client)
    }

    /// [`Log::append_as_leader`] for batches a broker-side coordinator writes to its own internal
    /// topic ([`AppendOrigin::Coordinator`]): the same checks, except that producer sequences are
    /// neither required nor checked (a transactional offset commit carries the producer's id and
    /// epoch but no sequence, as in Kafka), so no batch is taken for a resent duplicate. An
    /// older producer epoch is still fenced.
    pub fn append_as_leader_from(
        &mut self,
        mut batches: BytesMut,
        leader_epoch: i32,
        now_ms: i64,
        origin: AppendOrigin,
    ) -> Result<AppendOutcome> {
        if leader_epoch < 0 {
            return Err(Error::InvalidRecord(format!("leader epoch {leader_epoch} is negative")));
        }
        if let Some(latest) = self.epochs.latest_epoch().filter(|&latest| leader_epoch < latest) {
            return Err(Error::FencedLeaderEpoch { epoch: leader_epoch, latest });
        }
        let parsed = self.validate_request(&batches, true, origin)?;
        let log_append_time = self.config.message_timestamp_type == TimestampType::LogAppendTime;

        // Producer checks need the offsets the batches will get.
        let mut offset = self.log_end_offset();
        let mut pending = PendingAppend::default();
        let mut headers = Vec::with_capacity(parsed.len());
        for &(at, header) in &parsed {
            let mut h = header;
            h.base_offset = offset;
            if log_append_time {
                h.max_timestamp = now_ms;
            }
            if h.has_producer_id() && origin == AppendOrigin::Coordinator {
                self.producers.check_epoch_and_stage(&mut pending, &h)?;
            } else if h.has_producer_id() {
                if let Some(dup) = self.producers.find_duplicate(&h) {
                    return Ok(AppendOutcome {
                        base_offset: dup.first_offset(),
                        last_offset: dup.last_offset,
                        log_append_time_ms: if log_append_time { dup.timestamp } else { -1 },
                        log_start_offset: self.log_start_offset,
                        duplicate: true,
                    });
                }
                self.producers.check_and_stage(&mut pending, &h)?;
            }
            offset = h.next_offset();
            headers.push((at, h));
        }

        // Header patches: base offset and leader epoch sit outside the CRC; the timestamp type and
        // maxTimestamp inside it, so the CRC is recomputed only when those change.
        for (at, h) in headers.iter_mut() {
            let size = h.size_bytes() as usize;
            let bytes = &mut batches[*at..*at + size];
            batch::set_base_offset(bytes, h.base_offset);
            batch::set_partition_leader_epoch(bytes, leader_epoch);
            if log_append_time {
                batch::set_max_timestamp(bytes, true, now_ms);
            } else if h.is_log_append_time() {
                batch::set_max_timestamp(bytes, false, h.max_timestamp);
            }
            *h = BatchHeader::parse(bytes).expect("validated batch");
        }

        if self.request_needs_roll(&batches, &headers, now_ms) {
            self.roll(now_ms)?;
        }
        let first_offset = headers.first().expect("validated request has a batch").1.base_offset;
        let epochs_before = self.assign_epochs_before_write(&[(leader_epoch, first_offset)])?;
        if let Err(e) = self.write_to_active(&batches, &headers, now_ms) {
            self.restore_epochs(epochs_before);
            return Err(e);
        }
        self.producers.commit(pending);
        self.check_epochs();
        self.flush_if_due(now_ms)?;
        Ok(self.appended(&headers, if log_append_time { now_ms } else { -1 }))
    }

    /// Writes a transaction marker as the leader (Kafka's `appendAsLeader` with COORDINATOR
    /// origin, the batch `MemoryRecords.withEndTransactionMarker` builds): one control batch,
    /// transactional, uncompressed, `baseSequence` -1, timestamp `now_ms`, holding one control
    /// record (key: version 0 + type 0 ABORT / 1 COMMIT; value: version 0 + coordinator epoch).
    ///
    /// It ends the producer's open transaction; an ABORT adds the `.txnindex` entry (the
    /// transaction's first offset to the marker, with the LSO of this moment). A marker for a
    /// producer without an open transaction is written all the same (the coordinator may retry
    /// one whose answer it lost) and ends nothing. Refused, writing nothing: a stale
    /// `leader_epoch` ([`Error::FencedLeaderEpoch`]), a producer epoch older than the producer's
    /// ([`Error::InvalidProducerEpoch`]), a coordinator epoch older than the producer's last
    /// marker's ([`Error::TransactionCoordinatorFenced`]).
    pub fn append_txn_marker(&mut self, marker: &TxnMarker, leader_epoch: i32, now_ms: i64) -> Result<AppendOutcome> {
        if leader_epoch < 0 {
            return Err(Error::InvalidRecord(format!("leader epoch {leader_epoch} is negative")));
        }
        if let Some(latest) = self.epochs.latest_epoch().filter(|&latest| leader_epoch < latest) {
            return Err(Error::FencedLeaderEpoch { epoch: leader_epoch, latest });
        }
        if marker.producer_id < 0 || marker.producer_epoch < 0 {
            return Err(Error::InvalidRecord(format!(
                "transaction marker for producer {} epoch {}: both must be set",
                marker.producer_id, marker.producer_epoch
            )));
        }
        self.producers.check_marker(marker.producer_id, marker.producer_epoch, marker.coordinator_epoch)?;
        let offset = self.log_end_offset();
        let end = EndMarker { commit: marker.commit, coordinator_epoch: marker.coordinator_epoch };
        let mut bytes =
            producer::end_marker_batch(offset, leader_epoch, marker.producer_id, marker.producer_epoch, end, now_ms);
        let log_append_time = self.config.message_timestamp_type == TimestampType::LogAppendTime;
        if log_append_time {
            batch::set_max_timestamp(&mut bytes, true, now_ms);
        }
        let headers = [(0usize, BatchHeader::parse(&bytes).expect("encoded marker"))];
        if self.request_needs_roll(&bytes, &headers, now_ms) {
            self.roll(now_ms)?;
        }
        let epochs_before = self.assign_epochs_before_write(&[(leader_epoch, offset)])?;
        if let Err(e) = self.write_to_active(&bytes, &headers, now_ms) {
            self.restore_epochs(epochs_before);
            return Err(e);
        }
        self.check_epochs();
        let segment_base = self.active().base_offset;
        if let Some(done) = self.producers.end_txn(marker.producer_id, marker.producer_epoch, end, offset, now_ms) {
            if let Err(e) = self.index_completed(segment_base, &done) {
                self.undo_append(offset, now_ms);
                return Err(e);
            }
        }
        self.flush_if_due(now_ms)?;
        Ok(self.appended(&headers, if log_append_time { now_ms } else { -1 }))
    }

    /// Everything about a produce request that can be checked without producer state.
    /// Returns (position in the request, header) per batch.
    fn validate_request(&self, data: &[u8], leader: bool, origin: AppendOrigin) -> Result<Vec<(usize, BatchHeader)>> {
        if data.is_empty() {
            return Err(Error::InvalidRecord("produce request partition has no record batch".into()));
        }
        if data.len() as u64 > self.config.segment_bytes {
            return Err(Error::RecordListTooLarge { size: data.len(), max: self.config.segment_bytes });
        }
        // At most data.len() / HEADER_BYTES entries: bounded by the request size.
        let mut parsed = Vec::new();
        let mut at = 0usize;
        while at < data.len() {
            let rest = &data[at..];
            let Some(header) = BatchHeader::parse(rest) else {
                return Err(Error::corrupt(at, format!("{} trailing bytes are not a whole batch header", rest.len())));
            };
            if header.batch_length < (batch::HEADER_BYTES - batch::LOG_OVERHEAD) as i32 {
                return Err(Error::corrupt(
                    at,
                    format!("batch length {} is shorter than a batch header", header.batch_length),
                ));
            }
            let size = header.size_bytes() as usize;
            if size > rest.len() {
                return Err(Error::corrupt(
                    at,
                    format!("batch of {size} bytes but only {} bytes left in the request", rest.len()),
                ));
            }
            if header.magic != batch::MAGIC_V2 {
                return Err(Error::corrupt(at, format!("magic {} unsupported, only RecordBatch v2", header.magic)));
            }
            if size > self.config.max_message_bytes as usize {
                return Err(Error::MessageTooLarge { size, max: self.config.max_message_bytes });
            }
            let bytes = &rest[..size];
            if !batch::crc_is_valid(bytes) {
                return Err(Error::corrupt(
                    at,
                    format!(
                        "CRC32C mismatch: batch says {:#010x}, bytes give {:#010x}",
                        header.crc,
                        batch::compute_crc(bytes)
                    ),
                ));
            }
            if compression::Compression::from_id(header.compression()).is_none() {
                return Err(Error::corrupt(at, format!("unknown compression codec {}", header.compression())));
            }
            if header.last_offset_delta < 0 {
                return Err(Error::InvalidRecord(format!(
                    "batch has a negative lastOffsetDelta {}",
                    header.last_offset_delta
                )));
            }
            if !leader {
                // A replica's batches were validated by its leader; compaction may have emptied
                // some (count 0) and control batches are legitimate.
                parsed.push((at, header));
                at += size;
                continue;
            }
            if header.records_count <= 0 {
                return Err(Error::InvalidRecord(format!(
                    "invalid reported count for record batch: {}",
                    header.records_count
                )));
            }
            if header.records_count as i64 != header.last_offset_delta as i64 + 1 {
                return Err(Error::InvalidRecord(format!(
                    "inconsistent batch offset range [0, {}] and count of records {}",
                    header.last_offset_delta, header.records_count
                )));
            }
            if header.is_control() {
                return Err(Error::InvalidRecord("clients are not allowed to write control records".into()));
            }
            if header.has_producer_id() && header.base_sequence < 0 && origin == AppendOrigin::Client {
                return Err(Error::InvalidRecord(format!(
                    "invalid sequence number {} for idempotent producer {}",
                    header.base_sequence, header.producer_id
                )));
            }
            if header.is_transactional() && !header.has_producer_id() {
                return Err(Error::InvalidRecord("transactional batch without a producer id".into()));
            }
            if self.config.cleanup_policy.compact {
                let records = record::decode_records(bytes).map_err(|e| Error::corrupt(at, e))?;
                if records.iter().any(|r| r.key.is_none()) {
                    return Err(Error::InvalidRecord("compacted topic cannot accept message without key".into()));
                }
            }
            parsed.push((at, header));
            at += size;
        }
        Ok(parsed)
    }

    /// Appends batches fetched from the leader, as a follower: offsets, leader epochs and
    /// timestamps are kept as they are. Checks structure, magic, CRC and size, and that offsets
    /// continue from the log end (Kafka's `UnexpectedAppendOffsetException` otherwise, reported
    /// here as `InvalidRecord`). Producer state is updated without sequence checks (Kafka's
    /// REPLICATION origin), transaction markers included: an ABORT marker adds its `.txnindex`
    /// entry as on the leader. An empty `batches` appends nothing.
    pub fn append_as_follower(&mut self, batches: BytesMut, now_ms: i64) -> Result<AppendOutcome> {
        let leo = self.log_end_offset();
        if batches.is_empty() {
            return Ok(AppendOutcome {
                base_offset: leo,
                last_offset: leo - 1,
                log_append_time_ms: -1,
                log_start_offset: self.log_start_offset,
                duplicate: false,
            });
        }
        let parsed = self.validate_request(&batches, false, AppendOrigin::Replication)?;
        let mut expected = leo;
        for (_, h) in &parsed {
            if h.base_offset < expected {
                return Err(Error::InvalidRecord(format!(
                    "replicated batch at offset {} does not follow offset {}",
                    h.base_offset, expected
                )));
            }
            expected = h.next_offset();
        }
        let first_offset = parsed[0].1.base_offset;
        if self.request_needs_roll(&batches, &parsed, now_ms)
            || first_offset - self.active().base_offset > i32::MAX as i64
        {
            self.roll_at(first_offset.max(leo), now_ms)?;
        }
        // Kafka assigns every batch's epoch (`maybeAssignEpochStartOffset`); batches without
        // one (-1, written before leader epochs) cannot be recorded and are skipped.
        let starts: Vec<(i32, i64)> = parsed
            .iter()
            .map(|(_, h)| (h.partition_leader_epoch, h.base_offset))
            .filter(|&(epoch, _)| epoch >= 0)
            .collect();
        let epochs_before = self.assign_epochs_before_write(&starts)?;
        if let Err(e) = self.write_to_active(&batches, &parsed, now_ms) {
            self.restore_epochs(epochs_before);
            return Err(e);
        }
        self.check_epochs();
        // Batch by batch, as recovery replays them, so a marker's `.txnindex` entry records the
        // same LSO here as on the leader.
        let segment_base = self.active().base_offset;
        for (at, h) in &parsed {
            let marker = if h.is_control() && h.has_producer_id() {
                producer::end_marker_of(&batches[*at..*at + h.size_bytes() as usize])
            } else {
                None
            };
            if let Some(done) = self.producers.replay(h, marker) {
                if let Err(e) = self.index_completed(segment_base, &done) {
                    self.undo_append(first_offset, now_ms);
                    return Err(e);
                }
            }
        }
        self.flush_if_due(now_ms)?;
        Ok(self.appended(&parsed, -1))
    }

    // The steps both appends share, leader and follower alike; `headers` are the request's
    // validated batches, never empty.

    /// Records the epoch starts (epoch, base offset) of batches about to be written, as Kafka's
    /// `assign`, and persists the cache before the batches are written: the file is then never
    /// behind the log, and a crash before the write leaves it ahead, which open cuts back.
    /// Returns the cache as it was when it changed, for [`Log::restore_epochs`].
    fn assign_epochs_before_write(&mut self, starts: &[(i32, i64)]) -> Result<Option<LeaderEpochCache>> {
        let mut next = self.epochs.clone();
        let mut changed = false;
        for &(epoch, start_offset) in starts {
            changed |= next.assign(epoch, start_offset);
        }
        if !changed {
            return Ok(None);
        }
        next.write(&self.dir)?;
        Ok(Some(std::mem::replace(&mut self.epochs, next)))
    }

    /// Undoes [`Log::assign_epochs_before_write`] after a failed write.
    fn restore_epochs(&mut self, before: Option<LeaderEpochCache>) {
        let Some(before) = before else { return };
        self.epochs = before;
        if let Err(e) = self.epochs.write(&self.dir) {
            // Usually harmless: the file is left ahead of the log, which open cuts back.
            tracing::warn!(dir = %self.dir.display(), "could not restore the leader epoch file after a failed append: {e}");
        }
    }

    /// Whether the request's batches belong in a new segment (see `should_roll`).
    fn request_needs_roll(&self, batches: &[u8], headers: &[(usize, BatchHeader)], now_ms: i64) -> bool {
        let last = headers.last().expect("validated request has a batch").1;
        let max_ts = headers.iter().map(|(_, h)| h.max_timestamp).max().unwrap_or(-1);
        self.should_roll(batches.len() as u64, max_ts, last.last_offset(), now_ms)
    }

    fn write_to_active(&mut self, batches: &[u8], headers: &[(usize, BatchHeader)], now_ms: i64) -> Result<()> {
        let interval = self.config.index_interval_bytes;
        self.active_mut().append(batches, headers, interval, now_ms)
    }

    /// fsyncs once `flush.messages` records are unflushed.
    fn flush_if_due(&mut self, now_ms: i64) -> Result<()> {
        let unflushed = self.log_end_offset() - self.recovery_point;
        if unflushed >= 0 && unflushed as u64 >= self.config.flush_messages {
            self.flush(now_ms)?;
        }
        Ok(())
    }

    /// The outcome of a request whose batches were all written.
    fn appended(&self, headers: &[(usize, BatchHeader)], log_append_time_ms: i64) -> AppendOutcome {
        let first = headers.first().expect("validated request has a batch").1;
        let last = headers.last().expect("validated request has a batch").1;
        AppendOutcome {
            base_offset: first.base_offset,
            last_offset: last.last_offset(),
            log_append_time_ms,
            log_start_offset: self.log_start_offset,
            duplicate: false,
        }
    }

    /// Truncates the log so that its end offset is at most `offset` (a follower after
    /// OffsetsForLeaderEpoch). As Kafka, the batch containing `offset` goes entirely, so the new
    /// log end offset is that batch's base offset. Below the first segment the log is emptied and
    /// restarts at `offset`. Producer state is rebuilt from the snapshots and the log. Leader
    /// epochs starting at or after the new log end are forgotten (Kafka's `truncateFromEnd`);
    /// an emptied log forgets them all (Kafka's `truncateFullyAndStartAt`). Returns the new log
    /// end offset.
    pub fn truncate_to(&mut self, offset: i64, now_ms: i64) -> Result<i64> {
        if offset >= self.log_end_offset() {
            return Ok(self.log_end_offset());
        }
        let first_base = *self.segments.keys().next().expect("a segment");
        let mut epochs_changed = false;
        if offset < first_base.max(self.log_start_offset) {
            epochs_changed = self.empty_at(offset, now_ms)?;
        } else {
            let later: Vec<i64> = self.segments.range(offset + 1..).map(|(b, _)| *b).collect();
            for base in later {
                let seg = self.segments.remove(&base).expect("listed");
                seg.delete_files(&self.dir)?;
            }
            let (index_bytes, interval) = (self.config.segment_index_bytes, self.config.index_interval_bytes);
            let id = self.next_id();
            let seg = self.active_mut();
            if let Some((position, _)) = seg.find_batch(offset)? {
                seg.truncate_file(position)?;
            }
            seg.id = id;
            seg.recover(index_bytes, interval)?;
        }
        let leo = self.log_end_offset();
        // Cut by the new log end, not by `offset`: the batch containing `offset` went too, and
        // with it any epoch it started. Written after the segments changed, so a crash in
        // between leaves the file ahead of the log, which open cuts back.
        epochs_changed |= self.epochs.truncate_from_end(leo);
        if epochs_changed {
            self.epochs.write(&self.dir)?;
        }
        self.check_epochs();
        self.high_watermark = self.high_watermark.clamp(self.log_start_offset, leo);
        self.recovery_point = self.recovery_point.min(leo);
        self.clean_offset = self.clean_offset.min(leo);
        self.last_snapshot_offset = -1;
        self.load_producer_state(leo, false)?;
        self.write_checkpoint_file(false)?;
        Ok(leo)
    }

    /// Empties the log and restarts it at `offset`, which may lie past the log end: a follower
    /// whose leader's log now starts after this log's end (Kafka's `truncateFullyAndStartAt`).
    pub fn truncate_fully_and_start_at(&mut self, offset: i64, now_ms: i64) -> Result<()> {
        if offset < 0 {
            return Err(Error::InvalidRecord(format!("cannot restart the log at negative offset {offset}")));
        }
        if self.empty_at(offset, now_ms)? {
            self.epochs.write(&self.dir)?;
        }
        // Producer snapshots describe records that are gone; with them gone, producer state
        // restarts empty, as Kafka's does.
        for snapshot in snapshot_offsets(&self.dir)? {
            let path = self.dir.join(segment::file_name(snapshot, "snapshot"));
            fileio::remove_if_exists(&path).at(&path)?;
        }
        self.check_epochs();
        self.high_watermark = offset;
        self.recovery_point = offset;
        self.clean_offset = offset;
        self.last_snapshot_offset = -1;
        self.load_producer_state(offset, false)?;
        self.write_checkpoint_file(false)?;
        Ok(())
    }

    /// Deletes every segment and starts one empty segment at `offset`, which becomes the log
    /// start. Returns whether the epoch cache changed (the caller writes it).
    fn empty_at(&mut self, offset: i64, now_ms: i64) -> Result<bool> {
        let epochs_changed = self.epochs.clear();
        let all: Vec<i64> = self.segments.keys().copied().collect();
        for base in all {
            let seg = self.segments.remove(&base).expect("listed");
            seg.delete_files(&self.dir)?;
        }
        let id = self.next_id();
        let seg = Segment::create(&self.dir, offset, self.config.segment_index_bytes, now_ms, id, &self.files)?;
        self.segments.insert(offset, seg);
        self.log_start_offset = offset;
        Ok(epochs_changed)
    }

    /// Kafka's `LogSegment.shouldRoll`.
    fn should_roll(&self, bytes: u64, max_timestamp_in_request: i64, last_offset: i64, now_ms: i64) -> bool {
        let active = self.active();
        if active.size == 0 {
            return active.cannot_hold(last_offset);
        }
        let waited_ms = match active.first_batch_timestamp {
            Some(ts) if ts >= 0 => max_timestamp_in_request.saturating_sub(ts),
            _ => now_ms.saturating_sub(active.created_ms),
        };
        active.size + bytes > self.config.segment_bytes
            || waited_ms > self.config.segment_ms
            || active.cannot_hold(last_offset)
    }

    /// Starts a new active segment at the log end offset (no-op when the active one is empty).
    fn roll(&mut self, now_ms: i64) -> Result<()> {
        let leo = self.log_end_offset();
        self.roll_at(leo, now_ms)
    }

    /// Starts a new active segment at `base` (>= the log end offset; a follower may skip offsets).
    fn roll_at(&mut self, leo: i64, now_ms: i64) -> Result<()> {
        if self.active().size == 0 && self.active().base_offset == leo {
            return Ok(());
        }
        if self.active().size == 0 {
            // An empty active segment at the wrong base: replace it.
            let base = self.active().base_offset;
            let seg = self.segments.remove(&base).expect("active");
            seg.delete_files(&self.dir)?;
            let id = self.next_id();
            let seg = Segment::create(&self.dir, leo, self.config.segment_index_bytes, now_ms, id, &self.files)?;
            self.segments.insert(leo, seg);
            return Ok(());
        }
        self.active_mut().on_become_inactive()?;
        let id = self.next_id();
        let seg = Segment::create(&self.dir, leo, self.config.segment_index_bytes, now_ms, id, &self.files)?;
        self.segments.insert(leo, seg);
        tracing::debug!(dir = %self.dir.display(), base_offset = leo, "rolled a new segment");
        Ok(())
    }

    /// Reads whole batches from the batch containing `start_offset`, up to `max_bytes`, never past
    /// `max_offset` (exclusive; the broker passes the high watermark). The first batch is returned
    /// whole even when larger than `max_bytes`, so a consumer always makes progress.
    ///
    /// A batch is returned only when its last offset is below `max_offset`: as in Kafka, where the
    /// high watermark's byte position is that of the batch containing it, a batch straddling the
    /// limit is withheld until the limit passes its end. Data comes from one segment per call
    /// (as Kafka's `LocalLog.read`); an empty result has `next_offset == start_offset`.
    pub fn read(&self, start_offset: i64, max_bytes: usize, max_offset: i64) -> Result<ReadOutcome> {
        self.read_into(start_offset, max_bytes, max_offset, &mut BytesMut::new())
    }

    /// [`Log::read`], reading the records into `scratch` (its content is discarded) and splitting
    /// them off it. A caller that keeps `scratch` across reads, with room reserved, reuses its
    /// memory once the records it returned earlier are dropped, instead of faulting in fresh
    /// pages for every read.
    pub fn read_into(
        &self,
        start_offset: i64,
        max_bytes: usize,
        max_offset: i64,
        scratch: &mut BytesMut,
    ) -> Result<ReadOutcome> {
        let leo = self.log_end_offset();
        if start_offset < self.log_start_offset || start_offset > leo {
            return Err(Error::OffsetOutOfRange {
                offset: start_offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: leo,
            });
        }
        let empty = ReadOutcome { records: Bytes::new(), next_offset: start_offset };
        if start_offset == leo || start_offset >= max_offset {
            return Ok(empty);
        }
        let floor = self.segments.range(..=start_offset).next_back().into_iter();
        for (_, seg) in floor.chain(self.segments.range(start_offset + 1..)) {
            let Some((start, _)) = seg.find_batch(start_offset)? else { continue };
            let mut end = start;
            let mut next_offset = start_offset;
            let mut scan = seg.scan_from(start)?;
            while let Some((position, header)) = scan.next().at(&seg.log_path)? {
                if header.last_offset() >= max_offset {
                    break;
                }
                let size = header.size_bytes();
                if end > start && (end - start + size) as usize > max_bytes {
                    break;
                }
                debug_assert_eq!(position, end);
                end = position + size;
                next_offset = header.next_offset();
            }
            if end == start {
                return Ok(empty);
            }
            let records = seg.read_bytes_into(start, (end - start) as usize, scratch)?;
            return Ok(ReadOutcome { records, next_offset });
        }
        Ok(empty)
    }

    pub fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// Offset the next appended record gets.
    pub fn log_end_offset(&self) -> i64 {
        self.active().next_offset.max(self.active().base_offset)
    }

    /// The checkpointed high watermark; the broker owns its advancement.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// Sets the high watermark, clamped to `[log start, log end]`. Retention deletes only segments
    /// wholly below it and `DeleteRecords` may not pass it, as in Kafka.
    pub fn set_high_watermark(&mut self, offset: i64) {
        self.high_watermark = offset.clamp(self.log_start_offset, self.log_end_offset());
        self.producers.on_high_watermark(self.high_watermark);
    }

    /// Kafka's first unstable offset: the first offset of the oldest transaction that is open,
    /// or ended by a marker the high watermark has not passed yet; never below the log start.
    /// `None` when there is none.
    pub fn first_unstable_offset(&self) -> Option<i64> {
        self.producers.first_unstable_offset().map(|o| o.max(self.log_start_offset))
    }

    /// The last stable offset (LSO): the first unstable offset, capped at the high watermark.
    /// `read_committed` consumers read below it.
    pub fn last_stable_offset(&self) -> i64 {
        self.first_unstable_offset().map_or(self.high_watermark, |o| o.min(self.high_watermark))
    }

    /// Whether `producer_id` has an open transaction in this log at `producer_epoch` (Kafka's
    /// `hasOngoingTransaction`: such a producer needs no KIP-890 verification to append more).
    pub fn has_ongoing_txn(&self, producer_id: i64, producer_epoch: i16) -> bool {
        self.producers.has_ongoing_txn(producer_id, producer_epoch)
    }

    /// Kafka's `collectAbortedTransactions` for a fetch: the aborted transactions overlapping
    /// `[fetch_offset, upper_bound_offset)` (last offset >= `fetch_offset`, first offset below
    /// the bound), from the `.txnindex` of the segment holding `fetch_offset` onwards until an
    /// entry's LSO shows no later one can overlap.
    pub fn collect_aborted_txns(&self, fetch_offset: i64, upper_bound_offset: i64) -> Result<Vec<AbortedTxn>> {
        let mut out = Vec::new();
        let floor = self.segments.range(..=fetch_offset).next_back().into_iter();
        for (_, seg) in floor.chain(self.segments.range(fetch_offset + 1..)) {
            if seg.txn_index.collect(fetch_offset, upper_bound_offset, &mut out).at(seg.txn_index.path())? {
                break;
            }
        }
        Ok(out)
    }

    /// Every `.txnindex` entry, oldest segment first.
    pub fn aborted_txns(&self) -> Result<Vec<AbortedTxn>> {
        let mut out = Vec::new();
        for seg in self.segments.values() {
            out.extend(seg.txn_index.entries().at(seg.txn_index.path())?);
        }
        Ok(out)
    }

    /// The producers this log has state for, by producer id (DescribeProducers).
    pub fn active_producers(&self) -> Vec<ProducerInfo> {
        let mut out: Vec<ProducerInfo> = self
            .producers
            .producers
            .iter()
            .map(|(pid, e)| ProducerInfo {
                producer_id: *pid,
                producer_epoch: e.epoch,
                last_sequence: e.last_seq(),
                last_timestamp_ms: e.last_timestamp,
                coordinator_epoch: e.coordinator_epoch,
                current_txn_start_offset: e.current_txn_first_offset.unwrap_or(-1),
            })
            .collect();
        out.sort_by_key(|p| p.producer_id);
        out
    }

    /// The offset up to which the log is fsynced (Kafka's recovery point).
    pub fn recovery_point(&self) -> i64 {
        self.recovery_point
    }

    /// The newest leader epoch in the epoch cache, `None` before any append recorded one.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.epochs.latest_epoch()
    }

    /// The leader epoch cache, oldest first: (epoch, first offset written in it), strictly
    /// increasing in both.
    pub fn epoch_entries(&self) -> Vec<(i32, i64)> {
        self.epochs.entries()
    }

    /// OffsetsForLeaderEpoch: (epoch, end offset) for `requested_epoch`, exactly as Kafka's
    /// `LeaderEpochFileCache.endOffsetFor` (storage module, `LeaderEpochFileCache.java`):
    /// - `requested_epoch` = -1 ([`UNDEFINED_EPOCH`]): `(-1, -1)`;
    /// - the latest epoch: `(latest, log end offset)`;
    /// - newer than the latest, or an empty cache: `(-1, -1)`;
    /// - older than the first epoch known (its records were deleted): `(requested_epoch, start
    ///   of the first epoch)`, so a follower truncates to where the leader's log begins;
    /// - otherwise the largest epoch <= `requested_epoch`, ending where the first epoch above
    ///   `requested_epoch` starts.
    pub fn end_offset_for_epoch(&self, requested_epoch: i32) -> (i32, i64) {
        self.epochs.end_offset_for(requested_epoch, self.log_end_offset())
    }

    /// Records that `epoch` starts at `start_offset` (between the log start and the log end),
    /// with Kafka's `LeaderEpochFileCache.assign` rules: nothing changes when `epoch` is the
    /// latest and starts at or before `start_offset`; otherwise entries with an epoch >= `epoch`
    /// or a start >= `start_offset` are dropped (with a warning unless only an epoch without
    /// records is replaced) and the entry is added. Persisted before returning.
    ///
    /// Appends call it themselves. Kafka also calls it when a replica becomes leader, with the
    /// new epoch and the log end offset, so that followers holding later epochs than the new
    /// leader's log truncate correctly; a broker doing the same calls it then. Such an entry
    /// without records is dropped by the next open (Kafka's log loading does the same).
    pub fn assign_epoch(&mut self, epoch: i32, start_offset: i64) -> Result<()> {
        if epoch < 0 {
            return Err(Error::InvalidRecord(format!("leader epoch {epoch} is negative")));
        }
        let leo = self.log_end_offset();
        if !(self.log_start_offset..=leo).contains(&start_offset) {
            let log_start_offset = self.log_start_offset;
            return Err(Error::OffsetOutOfRange { offset: start_offset, log_start_offset, log_end_offset: leo });
        }
        self.assign_epochs_before_write(&[(epoch, start_offset)])?;
        self.check_epochs();
        Ok(())
    }

    fn check_epochs(&self) {
        let leo = self.log_end_offset();
        debug_assert!(
            self.epochs.entries().last().is_none_or(|&(_, start)| start <= leo),
            "leader epoch entries {:?} start past the log end {leo}",
            self.epochs.entries()
        );
    }

    /// First offset whose timestamp is >= `timestamp_ms` (ListOffsets by time), via the time index.
    ///
    /// As Kafka: the first segment whose largest timestamp reaches the target, the time index
    /// for where to start, then the batches from there; inside the first batch whose maxTimestamp
    /// reaches the target the records are decoded (decompressing if needed) and the first record
    /// with timestamp >= target and offset >= log start is returned with its own timestamp.
    pub fn offset_for_timestamp(&self, timestamp_ms: i64) -> Result<Option<TimestampOffset>> {
        for seg in self.segments.values() {
            if seg.max_timestamp < timestamp_ms || seg.next_offset <= self.log_start_offset {
                continue;
            }
            let (_, indexed_offset) = seg.time_index.lookup(timestamp_ms).at(seg.time_index.path())?;
            let from = indexed_offset.max(self.log_start_offset);
            let (_, position) = seg.offset_index.lookup(from).at(seg.offset_index.path())?;
            let mut scan = seg.scan_from(position)?;
            while let Some((pos, header)) = scan.next().at(&seg.log_path)? {
                if header.max_timestamp < timestamp_ms || header.last_offset() < self.log_start_offset {
                    continue;
                }
                let bytes = seg.read_bytes(pos, header.size_bytes() as usize)?;
                let records = record::decode_records(&bytes).map_err(|e| corrupt_on_disk(&seg.log_path, pos, e))?;
                for r in &records {
                    let ts = record::record_timestamp(&header, r);
                    let offset = header.base_offset + r.offset_delta as i64;
                    if ts >= timestamp_ms && offset >= self.log_start_offset {
                        return Ok(Some(TimestampOffset { timestamp_ms: ts, offset }));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The record with the largest timestamp (ListOffsets `MAX_TIMESTAMP`, -3).
    ///
    /// The segment with the largest maxTimestamp (the first on ties), its batch carrying it, and
    /// inside that batch the first record with that timestamp (Kafka 3.8+, KAFKA-16310).
    pub fn max_timestamp(&self) -> Result<Option<TimestampOffset>> {
        let mut best: Option<&Segment> = None;
        for seg in self.segments.values() {
            if seg.size > 0 && seg.max_timestamp >= 0 && best.is_none_or(|b| seg.max_timestamp > b.max_timestamp) {
                best = Some(seg);
            }
        }
        let Some(seg) = best else { return Ok(None) };
        let target = seg.max_timestamp;
        let Some((pos, header)) = seg.find_batch(seg.offset_of_max_timestamp)? else { return Ok(None) };
        let bytes = seg.read_bytes(pos, header.size_bytes() as usize)?;
        let records = record::decode_records(&bytes).map_err(|e| corrupt_on_disk(&seg.log_path, pos, e))?;
        let offset = records
            .iter()
            .find(|r| record::record_timestamp(&header, r) == target)
            .map_or(header.last_offset(), |r| header.base_offset + r.offset_delta as i64);
        Ok(Some(TimestampOffset { timestamp_ms: target, offset }))
    }

    /// `DeleteRecords`: moves the log start offset forward, deleting whole segments below it.
    ///
    /// `offset` may fall inside a segment or a batch; reads below it then fail with
    /// `OffsetOutOfRange`. It may not pass the high watermark (Kafka's rule). Returns the new log
    /// start offset (the partition's low watermark). Persisted at once.
    pub fn delete_records_before(&mut self, offset: i64) -> Result<i64> {
        if offset < 0 || offset > self.high_watermark {
            return Err(Error::OffsetOutOfRange {
                offset,
                log_start_offset: self.log_start_offset,
                log_end_offset: self.log_end_offset(),
            });
        }
        if offset <= self.log_start_offset {
            return Ok(self.log_start_offset);
        }
        self.log_start_offset = offset;
        self.producers.on_log_start_offset(offset);
        self.delete_segments_below_log_start()?;
        self.write_checkpoint_file(false)?;
        self.epochs_follow_log_start()?;
        Ok(self.log_start_offset)
    }

    /// Kafka's `truncateFromStart` after the log start moved forward: epochs wholly before it
    /// are forgotten and the one holding it now starts there. Written after the checkpoint that
    /// moved the log start; open repeats the correction after a crash in between.
    fn epochs_follow_log_start(&mut self) -> Result<()> {
        if self.epochs.truncate_from_start(self.log_start_offset) {
            self.epochs.write(&self.dir)?;
        }
        Ok(())
    }

    /// Deletes closed segments whose successor starts at or below the log start offset.
    fn delete_segments_below_log_start(&mut self) -> Result<usize> {
        let bases: Vec<i64> = self.segments.keys().copied().collect();
        let count = bases.windows(2).take_while(|w| w[1] <= self.log_start_offset).count();
        self.delete_oldest_segments(count)
    }

    /// Deletes the `count` oldest segments; when that is all of them, rolls first so a log always
    /// has an active segment (Kafka's `deleteSegments`).
    fn delete_oldest_segments(&mut self, count: usize) -> Result<usize> {
        if count == 0 {
            return Ok(0);
        }
        let mut count = count;
        if count >= self.segments.len() {
            let now = self.active().last_modified_ms;
            self.roll(now)?;
            count = count.min(self.segments.len() - 1);
        }
        let bases: Vec<i64> = self.segments.keys().take(count).copied().collect();
        for base in &bases {
            let seg = self.segments.remove(base).expect("listed segment");
            tracing::info!(file = %seg.log_path.display(), "deleting segment");
            seg.delete_files(&self.dir)?;
        }
        let first = *self.segments.keys().next().expect("a segment");
        if first > self.log_start_offset {
            self.log_start_offset = first;
            self.producers.on_log_start_offset(first);
            self.write_checkpoint_file(false)?;
            self.epochs_follow_log_start()?;
        }
        self.high_watermark = self.high_watermark.max(self.log_start_offset);
        self.recovery_point = self.recovery_point.max(self.log_start_offset);
        Ok(bases.len())
    }

    /// Rolls by `segment.ms`, applies `retention.ms`/`retention.bytes` (for `delete` policies) and
    /// fsyncs per `flush.ms`. Called periodically by the broker. Returns segments deleted.
    ///
    /// Also fsyncs segments rolled since the last flush (Kafka flushes a rolled segment right
    /// away in the background), expires idle producer state, and deletes segments left wholly
    /// below the log start offset. Retention, as Kafka's `deleteOldSegments`, deletes from the
    /// oldest segment on, only segments wholly below the high watermark, and may delete the active
    /// segment too (rolling an empty one first) so an idle log can empty out.
    pub fn maintain(&mut self, now_ms: i64) -> Result<usize> {
        if self.active().size > 0 && self.active().roll_age_ms(now_ms) > self.config.segment_ms {
            self.roll(now_ms)?;
        }
        let unflushed = self.log_end_offset() > self.recovery_point;
        let rolled_unflushed = self.active().base_offset > self.recovery_point;
        if rolled_unflushed || (unflushed && now_ms.saturating_sub(self.last_flush_ms) >= self.config.flush_ms) {
            self.flush(now_ms)?;
        }
        let mut deleted = 0;
        if self.config.cleanup_policy.delete {
            if self.config.retention_ms >= 0 {
                let retention_ms = self.config.retention_ms;
                deleted +=
                    self.delete_retained(|seg, _| now_ms.saturating_sub(seg.largest_timestamp()) > retention_ms)?;
            }
            if self.config.retention_bytes >= 0 {
                let mut excess = self.size_bytes() as i64 - self.config.retention_bytes;
                deleted += self.delete_retained(|seg, _| {
                    if excess - seg.size as i64 >= 0 {
                        excess -= seg.size as i64;
                        true
                    } else {
                        false
                    }
                })?;
            }
        }
        deleted += self.delete_segments_below_log_start()?;
        self.producers.expire(now_ms, self.producer_id_expiration_ms);
        Ok(deleted)
    }

    /// Kafka's `deletableSegments`: the longest run of oldest segments that satisfy `predicate`,
    /// lie wholly below the high watermark, and are not an empty active segment.
    fn delete_retained(&mut self, mut predicate: impl FnMut(&Segment, Option<&Segment>) -> bool) -> Result<usize> {
        let leo = self.log_end_offset();
        let segs: Vec<&Segment> = self.segments.values().collect();
        let mut count = 0;
        for (i, seg) in segs.iter().enumerate() {
            let next = segs.get(i + 1).copied();
            let upper = next.map_or(leo, |n| n.base_offset);
            let last_and_empty = next.is_none() && seg.size == 0;
            if self.high_watermark >= upper && !last_and_empty && predicate(seg, next) {
                count += 1;
            } else {
                break;
            }
        }
        self.delete_oldest_segments(count)
    }

    /// fsyncs every segment that may hold unflushed data and advances the recovery point.
    fn flush(&mut self, now_ms: i64) -> Result<()> {
        let leo = self.log_end_offset();
        let rp = self.recovery_point;
        let from = self.segments.range(..=rp).next_back().map_or(i64::MIN, |(b, _)| *b);
        for (_, seg) in self.segments.range(from..) {
            seg.flush()?;
        }
        fileio::sync_dir(&self.dir).at(&self.dir)?;
        self.recovery_point = leo;
        self.last_flush_ms = now_ms;
        Ok(())
    }

    fn write_checkpoint_file(&self, clean_shutdown: bool) -> Result<()> {
        Checkpoint {
            recovery_point: self.recovery_point,
            log_start_offset: self.log_start_offset,
            high_watermark: self.high_watermark,
            clean_offset: self.clean_offset,
            clean_shutdown,
            tombstone_horizon_ms: self.tombstone_horizon_ms.unwrap_or(-1),
        }
        .write(&self.dir)
    }

    /// Writes checkpoints (recovery point, log start offset, high watermark, producer state).
    ///
    /// fsyncs unflushed segments first (so the recovery point it records is true), then writes the
    /// producer snapshot `<log end offset>.snapshot` (when the log grew since the last one; older
    /// snapshots beyond the newest [`SNAPSHOTS_KEPT_MAX`] are deleted) and `oxbow.checkpoint`.
    /// Call it periodically (Kafka: every 60 s) and at shutdown (or call [`Log::close`]).
    pub fn checkpoint(&mut self) -> Result<()> {
        let now = self.last_flush_ms;
        if self.log_end_offset() > self.recovery_point || self.active().base_offset > self.recovery_point {
            self.flush(now)?;
        }
        let leo = self.log_end_offset();
        if leo != self.last_snapshot_offset {
            let path = self.dir.join(segment::file_name(leo, "snapshot"));
            fileio::write_atomic(&path, &self.producers.encode_snapshot()).at(&path)?;
            self.last_snapshot_offset = leo;
            let offsets = snapshot_offsets(&self.dir)?;
            let keep_from = offsets.len().saturating_sub(SNAPSHOTS_KEPT_MAX);
            for offset in &offsets[..keep_from] {
                let old = self.dir.join(segment::file_name(*offset, "snapshot"));
                fileio::remove_if_exists(&old).at(&old)?;
            }
        }
        self.write_checkpoint_file(false)
    }

    /// Clean shutdown: checkpoint, trim the active segment's indexes to their entries (as Kafka
    /// does at close) and mark the checkpoint clean so the next open skips scanning.
    /// `leader-epoch-checkpoint` needs nothing: it was written durably at each change.
    pub fn close(mut self) -> Result<()> {
        self.checkpoint()?;
        self.active_mut().on_become_inactive()?;
        self.active().flush()?;
        self.write_checkpoint_file(true)?;
        self.closed = true;
        Ok(())
    }

    /// Batched shutdown, step 1 (see [`close_many`]): what [`Log::close`] writes before its
    /// checkpoint (the producer snapshot, the final time index entry, the trimmed indexes), with
    /// no fsync or msync: it all stays in the page cache for the first `syncfs`. Leaves
    /// `oxbow.checkpoint` as it was (not clean), so a crash now recovers as after `kill -9`.
    pub(crate) fn shutdown_write(&mut self) -> Result<()> {
        let leo = self.log_end_offset();
        if leo != self.last_snapshot_offset {
            let path = self.dir.join(segment::file_name(leo, "snapshot"));
            fileio::write_replace_unsynced(&path, &self.producers.encode_snapshot()).at(&path)?;
            self.last_snapshot_offset = leo;
        }
        self.active_mut().on_become_inactive_unsynced()
    }

    /// Batched shutdown, step 2, called only once everything step 1 wrote and every appended
    /// byte is durable (after the first `syncfs`): stages a clean checkpoint whose recovery
    /// point is the log end, unsynced, in `oxbow.tmp`.
    pub(crate) fn shutdown_stage_checkpoint(&mut self) -> Result<()> {
        self.recovery_point = self.log_end_offset();
        Checkpoint {
            recovery_point: self.recovery_point,
            log_start_offset: self.log_start_offset,
            high_watermark: self.high_watermark,
            clean_offset: self.clean_offset,
            clean_shutdown: true,
            tombstone_horizon_ms: self.tombstone_horizon_ms.unwrap_or(-1),
        }
        .stage(&self.dir)
    }

    /// Batched shutdown, step 3, called only once the staged checkpoint's contents are durable
    /// (after the second `syncfs`): renames it into place and deletes producer snapshots beyond
    /// the newest [`SNAPSHOTS_KEPT_MAX`] (only now, when the new one is surely durable).
    pub(crate) fn shutdown_commit(mut self) -> Result<()> {
        self.closed = true;
        Checkpoint::commit_staged(&self.dir)?;
        let offsets = snapshot_offsets(&self.dir)?;
        let keep_from = offsets.len().saturating_sub(SNAPSHOTS_KEPT_MAX);
        for offset in &offsets[..keep_from] {
            let old = self.dir.join(segment::file_name(*offset, "snapshot"));
            fileio::remove_if_exists(&old).at(&old)?;
        }
        Ok(())
    }

    /// Segments, oldest first.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let active_base = self.active().base_offset;
        self.segments
            .values()
            .map(|s| SegmentInfo {
                base_offset: s.base_offset,
                next_offset: s.next_offset.max(s.base_offset),
                size_bytes: s.size,
                max_timestamp_ms: s.max_timestamp,
                active: s.base_offset == active_base,
            })
            .collect()
    }

    /// Bytes on disk in `.log` files.
    pub fn size_bytes(&self) -> u64 {
        self.segments.values().map(|s| s.size).sum()
    }

    /// Removes the log's directory (topic deletion), `leader-epoch-checkpoint` included.
    pub fn delete(mut self) -> Result<()> {
        self.closed = true;
        let dir = std::mem::take(&mut self.dir);
        self.segments.clear();
        drop(self);
        std::fs::remove_dir_all(&dir).at(&dir)
    }

    /// Test helper: drop without any shutdown work, as `kill -9` would.
    #[cfg(test)]
    pub(crate) fn crash(mut self) {
        self.closed = true;
    }
}

impl Drop for Log {
    /// Best effort only: trims the active segment's preallocated indexes. Nothing is fsynced and
    /// the checkpoint is not marked clean, so the next open still scans the unflushed tail.
    fn drop(&mut self) {
        if self.closed || self.segments.is_empty() {
            return;
        }
        let _ = self.active_mut().on_become_inactive();
    }
}

/// Clean shutdown of many logs at once: what [`Log::close`] does for each, but made durable by
/// three `syncfs(2)` calls per filesystem instead of several fsyncs per log (10,000 logs closed
/// one by one cost tens of thousands of fsyncs). The per-log work runs on up to `threads`
/// threads. Returns the logs that could not be closed cleanly, by directory, with the error;
/// their checkpoints are not marked clean, so their next open recovers them.
///
/// Crash consistency, step by step (the argument for each intermediate state on disk):
/// 1. Every log writes its producer snapshot and trims its indexes, unsynced
///    (`Log::shutdown_write`); `oxbow.checkpoint` is untouched and says `clean-shutdown 0`
///    (open rewrote it so, durably), so a crash here is recovered like `kill -9`: the scan from
///    the recovery point truncates torn tails and rebuilds bad indexes; a garbled snapshot fails
///    its CRC and an older one is used (none is deleted before step 3).
/// 2. `syncfs` of each filesystem holding a log: every appended byte, index page (dirty pages of
///    an unmapped shared mapping stay in the page cache and are written back with the rest),
///    snapshot, truncation and directory entry is durable (the journal is committed).
/// 3. Every log stages `clean-shutdown 1` with recovery point = log end in `oxbow.tmp`,
///    unsynced. A crash leaves the old checkpoint in force; open deletes `*.tmp`.
/// 4. `syncfs` again: the staged files' contents are durable.
/// 5. Renames `oxbow.tmp` over `oxbow.checkpoint` and deletes snapshots beyond the newest two.
///    After a crash each log has either its old checkpoint (a full recovery scan) or the new
///    one, complete (its contents were durable before the rename), which vouches only for data
///    made durable in step 2: `clean-shutdown 1` is never durable before what it vouches for.
/// 6. `syncfs` a third time, so the renames (directory updates) are durable before we return.
///
/// `leader-epoch-checkpoint` takes no part: every change to it was made durable when it was
/// made (fsync, rename, directory fsync), before the first batch of a new epoch, so whichever
/// step a crash interrupts, it is never behind the log, and open cuts back what is ahead.
///
/// Where `syncfs` is unavailable (not Linux) the logs are closed one by one with [`Log::close`].
pub fn close_many(logs: Vec<Log>, threads: usize) -> Vec<(PathBuf, Error)> {
    let started = std::time::Instant::now();
    let count = logs.len();
    let failures = std::sync::Mutex::new(Vec::new());
    let fail = |dir: &Path, e: Error| failures.lock().unwrap_or_else(|p| p.into_inner()).push((dir.to_path_buf(), e));
    // Step 1, and the filesystem of each log.
    let logs: Vec<(Log, Option<u64>)> = parallel_filter_map(logs, threads, |mut log| {
        let dev = log.shutdown_write().and_then(|()| fileio::device_of(&log.dir).at(&log.dir));
        match dev {
            Ok(dev) => Some((log, dev)),
            Err(e) => {
                fail(&log.dir, e);
                None
            }
        }
    });
    // One directory per filesystem to call syncfs through.
    let mut filesystems: BTreeMap<Option<u64>, PathBuf> = BTreeMap::new();
    for (log, dev) in &logs {
        filesystems.entry(*dev).or_insert_with(|| log.dir.clone());
    }
    let sync_all = |logs: Vec<(Log, Option<u64>)>| -> std::result::Result<Vec<(Log, Option<u64>)>, Vec<Log>> {
        let mut broken: BTreeMap<Option<u64>, std::io::Error> = BTreeMap::new();
        for (dev, dir) in &filesystems {
            if let Err(e) = fileio::syncfs(dir) {
                if e.kind() == std::io::ErrorKind::Unsupported {
                    return Err(logs.into_iter().map(|(log, _)| log).collect());
                }
                broken.insert(*dev, e);
            }
        }
        Ok(logs
            .into_iter()
            .filter_map(|(log, dev)| match broken.get(&dev) {
                Some(e) => {
                    fail(&log.dir, Error::io(&log.dir, std::io::Error::new(e.kind(), format!("syncfs: {e}"))));
                    None
                }
                None => Some((log, dev)),
            })
            .collect())
    };
    let written_ms = started.elapsed().as_millis() as u64;
    // Step 2.
    let logs = match sync_all(logs) {
        Ok(logs) => logs,
        Err(unsupported) => {
            parallel_filter_map(unsupported, threads, |log| {
                let dir = log.dir.clone();
                log.close().err().map(|e| fail(&dir, e))
            });
            return failures.into_inner().unwrap_or_else(|p| p.into_inner());
        }
    };
    let synced_ms = started.elapsed().as_millis() as u64;
    // Step 3.
    let logs = parallel_filter_map(logs, threads, |(mut log, dev)| match log.shutdown_stage_checkpoint() {
        Ok(()) => Some((log, dev)),
        Err(e) => {
            fail(&log.dir, e);
            None
        }
    });
    let staged_ms = started.elapsed().as_millis() as u64;
    // Step 4 (syncfs was supported a moment ago, so `Err` cannot come back here).
    let logs = sync_all(logs).unwrap_or_default();
    let staged_synced_ms = started.elapsed().as_millis() as u64;
    // Step 5.
    let logs = parallel_filter_map(logs, threads, |(log, dev)| {
        let dir = log.dir.clone();
        match log.shutdown_commit() {
            Ok(()) => Some((dir, dev)),
            Err(e) => {
                fail(&dir, e);
                None
            }
        }
    });
    // Step 6: a failure here leaves each checkpoint old or new, both true; still reported.
    for (dev, dir) in &filesystems {
        if let Err(e) = fileio::syncfs(dir) {
            for (log_dir, _) in logs.iter().filter(|(_, d)| d == dev) {
                fail(log_dir, Error::io(log_dir, std::io::Error::new(e.kind(), format!("syncfs: {e}"))));
            }
        }
    }
    tracing::info!(
        logs = count,
        filesystems = filesystems.len(),
        written_ms,
        synced_ms,
        staged_ms,
        staged_synced_ms,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "closed logs with batched syncs"
    );
    failures.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` on every item on up to `threads` threads; keeps the `Some` results (in no
/// particular order).
fn parallel_filter_map<T: Send, R: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) -> Option<R> + Sync) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.into_iter().filter_map(f).collect();
    }
    let queue = std::sync::Mutex::new(items);
    let out = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop();
                let Some(item) = next else { break };
                if let Some(r) = f(item) {
                    out.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                }
            });
        }
    });
    out.into_inner().unwrap_or_else(|p| p.into_inner())
}

fn corrupt_on_disk(path: &Path, position: u64, reason: String) -> Error {
    Error::io(
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("undecodable batch at byte {position}: {reason}")),
    )
}

#[cfg(test)]
mod tests;
