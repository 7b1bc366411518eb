//! One segment: a `.log` file of whole batches plus its `.index`, `.timeindex` and (once it
//! holds an aborted transaction) `.txnindex`.
//!
//! Appends go to the file with positional `write` (page cache; durable against a process crash,
//! not against power loss until fsynced). Reads are positional too, so many readers need only
//! `&Segment`. Recovery scans batch by batch (length, magic, CRC32C, monotonic offsets), truncates
//! a torn or corrupt tail and rebuilds both indexes.
//!
//! A segment holds no file descriptor of its own: its `.log` file lives in the shared
//! [`FileCache`] (bounded; reopened by path when evicted), and so do its index mappings. Each
//! operation takes the file from the cache once and keeps that `Arc<File>` only while it runs.
//!
//! What it does not do: decide when to roll, retain or compact (that is [`crate::Log`]), decode
//! records, or fill its `.txnindex` (the log does, from its producer state).

use crate::batch::{self, BatchHeader, HEADER_BYTES, LOG_OVERHEAD};
use crate::error::{Error, IoContext, Result};
use crate::fileio::{self, FileId};
use crate::files::{FileCache, IndexMap};
use crate::index::{OffsetIndex, TimeIndex};
use crate::txn_index::TxnIndex;
use bytes::{Bytes, BytesMut};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Read window for header scans on the read path (16 KiB: a few index intervals of headers).
pub(crate) const SCAN_WINDOW_BYTES: usize = 16 * 1024;
/// Read window for recovery scans (256 KiB); larger batches are CRC-checked in streamed chunks
/// of this size, so recovery memory stays bounded whatever the batch size.
pub(crate) const RECOVERY_WINDOW_BYTES: usize = 256 * 1024;

pub(crate) fn file_name(base_offset: i64, extension: &str) -> String {
    format!("{base_offset:020}.{extension}")
}

/// Parses `00000000000000000123.log` style names: (base offset, the rest after the first dot).
pub(crate) fn parse_file_name(name: &str) -> Option<(i64, &str)> {
    let (digits, rest) = name.split_once('.')?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, rest))
}

/// A bounded buffer over a file region, refilled on demand by positional reads. Keeps its file
/// open (an `Arc` from the cache, or a file of its own) for as long as it lives.
pub(crate) struct Window {
    file: Arc<File>,
    end: u64,
    buf: Vec<u8>,
    buf_start: u64,
    capacity_bytes: usize,
}

impl Window {
    pub(crate) fn new(file: Arc<File>, end: u64, capacity_bytes: usize) -> Window {
        Window { file, end, buf: Vec::new(), buf_start: 0, capacity_bytes }
    }

    /// Bytes `[position, position + len)`; `len` must be <= the capacity and the range inside the
    /// region.
    pub(crate) fn get(&mut self, position: u64, len: usize) -> io::Result<&[u8]> {
        debug_assert!(len <= self.capacity_bytes);
        debug_assert!(position + len as u64 <= self.end);
        let buf_end = self.buf_start + self.buf.len() as u64;
        if position < self.buf_start || position + len as u64 > buf_end {
            let n = (self.end - position).min(self.capacity_bytes as u64) as usize;
            self.buf.resize(n, 0);
            fileio::read_exact_at(&self.file, &mut self.buf, position)?;
            self.buf_start = position;
        }
        let at = (position - self.buf_start) as usize;
        Ok(&self.buf[at..at + len])
    }
}

/// What a recovery scan of one segment found.
#[derive(Debug, Default)]
pub(crate) struct ScanResult {
    pub batches: u64,
    pub truncated_bytes: u64,
    pub truncated_at: Option<u64>,
    pub reason: Option<String>,
}

/// A segment's `.log` file in the shared [`FileCache`]: its key there, and the removal of the
/// cache's entry (closing the file) when the segment goes away.
pub(crate) struct CachedFile {
    key: u64,
    cache: Arc<FileCache>,
    /// The file's identity when it was opened: compaction, which opens the file again on its own,
    /// checks that the path still names the same file.
    pub id: Option<FileId>,
}

impl CachedFile {
    fn new(cache: &Arc<FileCache>, file: File, metadata: &std::fs::Metadata) -> (CachedFile, Arc<File>) {
        let id = fileio::file_id(metadata);
        let key = cache.new_key();
        let file = cache.insert_file(key, file);
        (CachedFile { key, cache: cache.clone(), id }, file)
    }

    /// The open file, reopened from `path` when the cache had closed it.
    pub(crate) fn get(&self, path: &Path) -> io::Result<Arc<File>> {
        self.cache.file(self.key, path)
    }
}

impl Drop for CachedFile {
    fn drop(&mut self) {
        self.cache.forget_file(self.key);
    }
}

/// The index mappings one append (or one recovery scan) writes through, taken before any log
/// data is written. `None` for an index that is full or will not get an entry.
#[derive(Default)]
pub(crate) struct IndexMaps {
    offset: Option<Arc<IndexMap>>,
    time: Option<Arc<IndexMap>>,
}

pub(crate) struct Segment {
    pub base_offset: i64,
    /// Unique within one `Log` instance: compaction checks it to know a segment was not replaced.
    pub id: u64,
    pub log_path: PathBuf,
    pub file: CachedFile,
    pub size: u64,
    /// Offset after the last batch in the file (= base offset when empty).
    pub next_offset: i64,
    /// Largest batch maxTimestamp, -1 when none, and the last offset of the batch carrying it.
    pub max_timestamp: i64,
    pub offset_of_max_timestamp: i64,
    /// maxTimestamp of the first batch: `segment.ms` counts from it (Kafka's rollingBasedTimestamp).
    pub first_batch_timestamp: Option<i64>,
    pub created_ms: i64,
    /// Wall-clock time of the last append (file mtime for loaded segments).
    pub last_modified_ms: i64,
    pub offset_index: OffsetIndex,
    pub time_index: TimeIndex,
    /// Aborted transactions whose marker is in this segment.
    pub txn_index: TxnIndex,
    /// Set at open when the `.txnindex` was unreadable and discarded: the log must replay
    /// everything to rebuild it.
    pub txn_index_lost: bool,
    bytes_since_index_entry: u64,
}

fn mtime_ms(metadata: &std::fs::Metadata) -> i64 {
    metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}

impl Segment {
    pub(crate) fn paths(dir: &Path, base_offset: i64) -> [PathBuf; 3] {
        [
            dir.join(file_name(base_offset, "log")),
            dir.join(file_name(base_offset, "index")),
            dir.join(file_name(base_offset, "timeindex")),
        ]
    }

    /// Creates an empty active segment (replacing any leftover files of that name).
    pub(crate) fn create(
        dir: &Path,
        base_offset: i64,
        index_bytes: u64,
        now_ms: i64,
        id: u64,
        cache: &Arc<FileCache>,
    ) -> Result<Segment> {
        let [log_path, index_path, time_path] = Segment::paths(dir, base_offset);
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&log_path).at(&log_path)?;
        let metadata = file.metadata().at(&log_path)?;
        let (file, _) = CachedFile::new(cache, file, &metadata);
        let offset_index = OffsetIndex::create(&index_path, base_offset, index_bytes, cache).at(&index_path)?;
        let time_index = TimeIndex::create(&time_path, base_offset, index_bytes, cache).at(&time_path)?;
        let txn_path = TxnIndex::path_for(dir, base_offset);
        let txn_index = TxnIndex::create(txn_path.clone()).at(&txn_path)?;
        Ok(Segment {
            base_offset,
            id,
            log_path,
            file,
            size: 0,
            next_offset: base_offset,
            max_timestamp: batch::NO_TIMESTAMP,
            offset_of_max_timestamp: base_offset,
            first_batch_timestamp: None,
            created_ms: now_ms,
            last_modified_ms: now_ms,
            offset_index,
            time_index,
            txn_index,
            txn_index_lost: false,
            bytes_since_index_entry: 0,
        })
    }

    /// Opens an existing segment. With `recover`, or when an index is missing or fails its
    /// sanity check, scans the whole file (truncating a bad tail) and rebuilds the indexes;
    /// otherwise trusts the indexes and scans only the batches after the last index entry.
    /// Returns the segment, the scan result when it scanned, and whether indexes were rebuilt.
    /// `on_batch` sees the header of every valid batch a full scan finds, in order.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open(
        dir: &Path,
        base_offset: i64,
        index_bytes: u64,
        index_interval_bytes: u64,
        recover: bool,
        id: u64,
        cache: &Arc<FileCache>,
        on_batch: &mut dyn FnMut(&BatchHeader),
    ) -> Result<(Segment, Option<ScanResult>, bool)> {
        let [log_path, index_path, time_path] = Segment::paths(dir, base_offset);
        let file = OpenOptions::new().read(true).write(true).open(&log_path).at(&log_path)?;
        let metadata = file.metadata().at(&log_path)?;
        let (size, mtime) = (metadata.len(), mtime_ms(&metadata));
        let (file, _) = CachedFile::new(cache, file, &metadata);
        let indexes = (|| -> io::Result<(OffsetIndex, TimeIndex)> {
            Ok((OffsetIndex::open(&index_path, base_offset, cache)?, TimeIndex::open(&time_path, base_offset, cache)?))
        })();
        let mut problem = None;
        let (offset_index, time_index) = match indexes {
            Ok(pair) => pair,
            Err(e) => {
                problem = Some(format!("cannot open indexes: {e}"));
                (
                    OffsetIndex::create(&index_path, base_offset, index_bytes, cache).at(&index_path)?,
                    TimeIndex::create(&time_path, base_offset, index_bytes, cache).at(&time_path)?,
                )
            }
        };
        let txn_path = TxnIndex::path_for(dir, base_offset);
        let mut txn_index_lost = false;
        let txn_index = match TxnIndex::open(txn_path.clone()) {
            Ok(index) => index,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                // Only a replay of the log can rebuild it; the log sees the flag and replays.
                tracing::warn!(file = %txn_path.display(), "discarding an unreadable transaction index: {e}");
                txn_index_lost = true;
                TxnIndex::create(txn_path.clone()).at(&txn_path)?
            }
            Err(e) => return Err(Error::io(&txn_path, e)),
        };
        let mut seg = Segment {
            base_offset,
            id,
            log_path,
            file,
            size,
            next_offset: base_offset,
            max_timestamp: batch::NO_TIMESTAMP,
            offset_of_max_timestamp: base_offset,
            first_batch_timestamp: None,
            created_ms: mtime,
            last_modified_ms: mtime,
            offset_index,
            time_index,
            txn_index,
            txn_index_lost,
            bytes_since_index_entry: 0,
        };
        if problem.is_none() && !recover {
            let index_len = std::fs::metadata(&index_path).map(|m| m.len()).unwrap_or(0);
            let time_len = std::fs::metadata(&time_path).map(|m| m.len()).unwrap_or(0);
            if index_len % crate::index::OFFSET_ENTRY_BYTES as u64 != 0
                || time_len % crate::index::TIME_ENTRY_BYTES as u64 != 0
            {
                problem = Some("index file size is not a whole number of entries".into());
            } else if let Err(e) = seg.offset_index.check(size) {
                problem = Some(format!("offset index: {e}"));
            } else if let Err(e) = seg.load_tail(index_interval_bytes) {
                problem = Some(e);
            } else if let Err(e) = seg.time_index.check(seg.next_offset) {
                problem = Some(format!("time index: {e}"));
            }
        }
        if let Some(p) = &problem {
            tracing::warn!(segment = %seg.log_path.display(), "rebuilding indexes: {p}");
        }
        if recover || problem.is_some() {
            let scan = seg.recover_with(index_bytes, index_interval_bytes, on_batch)?;
            return Ok((seg, Some(scan), true));
        }
        Ok((seg, None, false))
    }

    /// Reads the first batch's timestamp and everything after the last offset-index entry: the
    /// segment's next offset, max timestamp and index spacing. Validates those batches fully.
    fn load_tail(&mut self, index_interval_bytes: u64) -> Result<(), String> {
        // The last entry is where a lookup of i64::MAX lands; kept by the index, so no mapping.
        let start = self.offset_index.last_entry().map_or(0, |(_, position)| position);
        if let Some((ts, offset)) = self.time_index.last_entry() {
            self.max_timestamp = ts;
            self.offset_of_max_timestamp = offset;
        }
        if self.size > 0 {
            let first = self.read_header(0).map_err(|e| e.to_string())?.ok_or("first batch unreadable")?;
            self.first_batch_timestamp = Some(first.max_timestamp);
            self.next_offset = first.next_offset();
        }
        let file = self.file.get(&self.log_path).map_err(|e| e.to_string())?;
        let mut window = Window::new(file, self.size, RECOVERY_WINDOW_BYTES);
        let mut position = start;
        let mut prev_next = if start == 0 { self.base_offset } else { i64::MIN };
        while position < self.size {
            let (header, size) = validate_batch_at(&mut window, position, self.size, prev_next, self.base_offset)?;
            if header.max_timestamp > self.max_timestamp {
                self.max_timestamp = header.max_timestamp;
                self.offset_of_max_timestamp = header.last_offset();
            }
            prev_next = header.next_offset();
            self.next_offset = header.next_offset();
            position += size;
        }
        self.bytes_since_index_entry = self.size - start;
        let _ = index_interval_bytes;
        Ok(())
    }

    /// Full validating scan: rebuilds both indexes, truncates the file after the last valid batch.
    pub(crate) fn recover(&mut self, index_bytes: u64, index_interval_bytes: u64) -> Result<ScanResult> {
        self.recover_with(index_bytes, index_interval_bytes, &mut |_| {})
    }

    /// [`Segment::recover`], showing `on_batch` the header of every valid batch, in order (the
    /// log assigns leader epochs from them as Kafka's `LogSegment.recover` does).
    pub(crate) fn recover_with(
        &mut self,
        index_bytes: u64,
        index_interval_bytes: u64,
        on_batch: &mut dyn FnMut(&BatchHeader),
    ) -> Result<ScanResult> {
        self.offset_index.clear().at(self.offset_index.path())?;
        self.time_index.clear().at(self.time_index.path())?;
        self.offset_index.resize(index_bytes).at(self.offset_index.path())?;
        self.time_index.resize(index_bytes).at(self.time_index.path())?;
        self.next_offset = self.base_offset;
        self.max_timestamp = batch::NO_TIMESTAMP;
        self.offset_of_max_timestamp = self.base_offset;
        self.first_batch_timestamp = None;
        self.bytes_since_index_entry = 0;
        let mut result = ScanResult::default();
        let mut position = 0u64;
        let file_size = self.size;
        let file = self.file.get(&self.log_path).at(&self.log_path)?;
        // Mapped once for the whole scan (only when there is enough data for an entry).
        let maps = self.maps_for_append(file_size, index_interval_bytes)?;
        {
            let mut window = Window::new(file.clone(), file_size, RECOVERY_WINDOW_BYTES);
            while position < file_size {
                match validate_batch_at(&mut window, position, file_size, self.next_offset, self.base_offset) {
                    Ok((header, size)) => {
                        on_batch(&header);
                        self.index_batch(&header, position, index_interval_bytes, &maps);
                        self.next_offset = header.next_offset();
                        position += size;
                        result.batches += 1;
                    }
                    Err(reason) => {
                        result.reason = Some(reason);
                        break;
                    }
                }
            }
        }
        if position < file_size {
            result.truncated_bytes = file_size - position;
            result.truncated_at = Some(position);
            file.set_len(position).at(&self.log_path)?;
            self.size = position;
        }
        Ok(result)
    }

    /// Index bookkeeping for one batch at `position` (Kafka's per-batch rule: an entry when more
    /// than `index.interval.bytes` were written since the last one, pointing at this batch).
    /// `maps` come from [`Segment::maps_for_append`] for the bytes being indexed.
    fn index_batch(&mut self, header: &BatchHeader, position: u64, index_interval_bytes: u64, maps: &IndexMaps) {
        if self.first_batch_timestamp.is_none() {
            self.first_batch_timestamp = Some(header.max_timestamp);
        }
        if header.max_timestamp > self.max_timestamp {
            self.max_timestamp = header.max_timestamp;
            self.offset_of_max_timestamp = header.last_offset();
        }
        if self.bytes_since_index_entry > index_interval_bytes && !self.offset_index.is_full() {
            let offset_map = maps.offset.as_deref().expect("mapped before writing: the offset index had room");
            self.offset_index.append(header.last_offset(), position, offset_map);
            // `None` only when the time index was full before this append: it takes nothing more.
            if let Some(time_map) = maps.time.as_deref() {
                self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp, time_map);
            }
            self.bytes_since_index_entry = 0;
        }
        self.bytes_since_index_entry += header.size_bytes();
    }

    /// The index mappings that indexing `bytes` more bytes may write through: none when those
    /// bytes cannot reach `index.interval.bytes` since the last entry (the usual case for small
    /// appends, which then touch no index at all). An entry is written before a batch only when
    /// more than the interval was written since the last one, so the bytes of all batches but
    /// the last bound what the check can see.
    fn maps_for_append(&self, bytes: u64, index_interval_bytes: u64) -> Result<IndexMaps> {
        if self.bytes_since_index_entry.saturating_add(bytes) <= index_interval_bytes || self.offset_index.is_full() {
            return Ok(IndexMaps::default());
        }
        Ok(IndexMaps {
            offset: self.offset_index.map_for_write().at(self.offset_index.path())?,
            time: self.time_index.map_for_write().at(self.time_index.path())?,
        })
    }

    /// Whether appending `bytes` whose last offset is `last_offset` needs a new segment first
    /// (index full or relative offsets out of the u32... Kafka's i32 range).
    pub(crate) fn cannot_hold(&self, last_offset: i64) -> bool {
        self.offset_index.is_full() || self.time_index.is_full() || last_offset - self.base_offset > i32::MAX as i64
    }

    /// Appends already-validated batches (offsets assigned) at the end of the file.
    /// `batches` are (position within `data`, header). On a write error the file is cut back.
    /// The file and any index mapping needed are taken first, so failing to open or map them
    /// writes nothing.
    pub(crate) fn append(
        &mut self,
        data: &[u8],
        batches: &[(usize, BatchHeader)],
        index_interval_bytes: u64,
        now_ms: i64,
    ) -> Result<()> {
        let start = self.size;
        let file = self.file.get(&self.log_path).at(&self.log_path)?;
        let maps = self.maps_for_append(data.len() as u64, index_interval_bytes)?;
        if let Err(e) = fileio::write_all_at(&file, data, start) {
            let _ = file.set_len(start);
            return Err(Error::io(&self.log_path, e));
        }
        for (at, header) in batches {
            self.index_batch(header, start + *at as u64, index_interval_bytes, &maps);
            self.next_offset = header.next_offset();
        }
        self.size = start + data.len() as u64;
        self.last_modified_ms = now_ms;
        Ok(())
    }

    /// Reads a batch header at `position`; `None` past the end.
    pub(crate) fn read_header(&self, position: u64) -> io::Result<Option<BatchHeader>> {
        if position + HEADER_BYTES as u64 > self.size {
            return Ok(None);
        }
        let mut buf = [0u8; HEADER_BYTES];
        fileio::read_exact_at(&*self.file.get(&self.log_path)?, &mut buf, position)?;
        Ok(BatchHeader::parse(&buf))
    }

    /// The first batch whose last offset is >= `offset`: index lookup, then a forward scan of
    /// headers. `None` when every batch in this segment ends before `offset`.
    pub(crate) fn find_batch(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>> {
        let (_, start) = self.offset_index.lookup(offset).at(self.offset_index.path())?;
        let mut scan = self.scan_from(start)?;
        while let Some((position, header)) = scan.next().at(&self.log_path)? {
            if header.last_offset() >= offset {
                return Ok(Some((position, header)));
            }
        }
        Ok(None)
    }

    /// Headers from `position` to the end of the segment (the scan keeps the file open).
    pub(crate) fn scan_from(&self, position: u64) -> Result<HeaderScan> {
        let file = self.file.get(&self.log_path).at(&self.log_path)?;
        Ok(HeaderScan::new(file, position, self.size))
    }

    /// `len` bytes at `position`, read into `scratch` (content discarded) and split off it.
    pub(crate) fn read_bytes_into(&self, position: u64, len: usize, scratch: &mut BytesMut) -> Result<Bytes> {
        scratch.clear();
        scratch.resize(len, 0);
        let file = self.file.get(&self.log_path).at(&self.log_path)?;
        fileio::read_exact_at(&file, &mut scratch[..], position).at(&self.log_path)?;
        Ok(scratch.split().freeze())
    }

    pub(crate) fn read_bytes(&self, position: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let file = self.file.get(&self.log_path).at(&self.log_path)?;
        fileio::read_exact_at(&file, &mut buf, position).at(&self.log_path)?;
        Ok(buf)
    }

    /// fsync of the log file and both indexes (through a reopened descriptor when the cache had
    /// closed the file: fsync covers every dirty page of the file, whichever descriptor wrote it).
    pub(crate) fn flush(&self) -> Result<()> {
        self.file.get(&self.log_path).and_then(|f| f.sync_data()).at(&self.log_path)?;
        self.offset_index.flush().at(self.offset_index.path())?;
        self.time_index.flush().at(self.time_index.path())?;
        self.txn_index.flush().at(self.txn_index.path())?;
        Ok(())
    }

    /// The segment stops being active: final time index entry, indexes trimmed to size.
    pub(crate) fn on_become_inactive(&mut self) -> Result<()> {
        self.time_index
            .maybe_append_mapping(self.max_timestamp, self.offset_of_max_timestamp)
            .at(self.time_index.path())?;
        self.offset_index.trim().at(self.offset_index.path())?;
        self.time_index.trim().at(self.time_index.path())?;
        Ok(())
    }

    /// [`Self::on_become_inactive`] without msync or fsync: the entries and the trimmed lengths
    /// become durable only with the caller's later sync (the batched shutdown's `syncfs`).
    pub(crate) fn on_become_inactive_unsynced(&mut self) -> Result<()> {
        self.time_index
            .maybe_append_mapping(self.max_timestamp, self.offset_of_max_timestamp)
            .at(self.time_index.path())?;
        self.offset_index.trim_unsynced().at(self.offset_index.path())?;
        self.time_index.trim_unsynced().at(self.time_index.path())?;
        Ok(())
    }

    /// Reopened as the active segment: give the indexes room again.
    pub(crate) fn on_become_active(&mut self, index_bytes: u64) -> Result<()> {
        self.offset_index.resize(index_bytes).at(self.offset_index.path())?;
        self.time_index.resize(index_bytes).at(self.time_index.path())?;
        Ok(())
    }

    /// `segment.ms` age: from the first batch's timestamp (Kafka's rollingBasedTimestamp), or from
    /// creation when the segment has no timestamped batch.
    pub(crate) fn roll_age_ms(&self, now_ms: i64) -> i64 {
        match self.first_batch_timestamp {
            Some(ts) if ts >= 0 => now_ms.saturating_sub(ts),
            _ => now_ms.saturating_sub(self.created_ms),
        }
    }

    /// Kafka's `largestTimestamp`: the max batch timestamp, or the last-modified time without one.
    pub(crate) fn largest_timestamp(&self) -> i64 {
        if self.max_timestamp >= 0 {
            self.max_timestamp
        } else {
            self.last_modified_ms
        }
    }

    /// Cuts the `.log` file to `size` bytes (the caller recovers the indexes afterwards).
    pub(crate) fn truncate_file(&mut self, size: u64) -> Result<()> {
        self.file.get(&self.log_path).and_then(|f| f.set_len(size)).at(&self.log_path)?;
        self.size = size;
        Ok(())
    }

    /// Deletes the segment's files (the cache closes its file and mappings as `self` drops).
    pub(crate) fn delete_files(self, dir: &Path) -> Result<()> {
        let base = self.base_offset;
        drop(self);
        for path in Segment::paths(dir, base).into_iter().chain([TxnIndex::path_for(dir, base)]) {
            fileio::remove_if_exists(&path).at(&path)?;
        }
        Ok(())
    }
}

/// Validates the batch at `position`: header present, magic 2, sane length inside the region,
/// offsets monotonic and in the segment's range, CRC32C. Returns the header and on-disk size.
pub(crate) fn validate_batch_at(
    window: &mut Window,
    position: u64,
    end: u64,
    expected_min_offset: i64,
    segment_base: i64,
) -> Result<(BatchHeader, u64), String> {
    if position + HEADER_BYTES as u64 > end {
        return Err(format!("{} bytes left, less than a batch header", end - position));
    }
    let header =
        BatchHeader::parse(window.get(position, HEADER_BYTES).map_err(|e| e.to_string())?).expect("HEADER_BYTES bytes");
    if header.magic != batch::MAGIC_V2 {
        return Err(format!("magic {} is not 2", header.magic));
    }
    if header.batch_length < (HEADER_BYTES - LOG_OVERHEAD) as i32 {
        return Err(format!("batch length {} is shorter than a header", header.batch_length));
    }
    let size = header.size_bytes();
    if position + size > end {
        return Err(format!("batch of {size} bytes runs past the end of the file"));
    }
    if header.last_offset_delta < 0 {
        return Err(format!("negative lastOffsetDelta {}", header.last_offset_delta));
    }
    if header.base_offset < expected_min_offset.max(segment_base) {
        return Err(format!(
            "base offset {} goes back before {}",
            header.base_offset,
            expected_min_offset.max(segment_base)
        ));
    }
    if header.last_offset() - segment_base > i32::MAX as i64 {
        return Err(format!("offset {} out of the segment's relative range", header.last_offset()));
    }
    let crc = if size as usize <= window.capacity_bytes {
        batch::compute_crc(window.get(position, size as usize).map_err(|e| e.to_string())?)
    } else {
        let mut crc = 0u32;
        let mut at = position + batch::ATTRIBUTES_AT as u64;
        while at < position + size {
            let n = (position + size - at).min(window.capacity_bytes as u64) as usize;
            crc = crc32c::crc32c_append(crc, window.get(at, n).map_err(|e| e.to_string())?);
            at += n as u64;
        }
        crc
    };
    if crc != header.crc {
        return Err(format!("CRC mismatch: stored {:#010x}, computed {crc:#010x}", header.crc));
    }
    Ok((header, size))
}

/// Forward scan of batch headers through a [`SCAN_WINDOW_BYTES`] window. Stops at the end or at
/// the first header that does not fit (recovery already cut bad tails).
pub(crate) struct HeaderScan {
    window: Window,
    position: u64,
    end: u64,
}

impl HeaderScan {
    pub(crate) fn new(file: Arc<File>, position: u64, end: u64) -> HeaderScan {
        HeaderScan { window: Window::new(file, end, SCAN_WINDOW_BYTES), position, end }
    }

    pub(crate) fn next(&mut self) -> io::Result<Option<(u64, BatchHeader)>> {
        if self.position + HEADER_BYTES as u64 > self.end {
            return Ok(None);
        }
        let header = BatchHeader::parse(self.window.get(self.position, HEADER_BYTES)?).expect("header bytes");
        if header.batch_length < (HEADER_BYTES - LOG_OVERHEAD) as i32 || self.position + header.size_bytes() > self.end
        {
            return Ok(None);
        }
        let at = self.position;
        self.position += header.size_bytes();
        Ok(Some((at, header)))
    }
}
