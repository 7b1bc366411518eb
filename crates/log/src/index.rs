//! Sparse, memory-mapped offset and time indexes in Kafka's file formats.
//!
//! - `.index`: 8-byte entries `(relative offset u32, file position u32)`, big-endian. The offset is
//!   the *last* offset of the batch starting at that position, as Kafka's `LogSegment.append`
//!   writes it (so `kafka-dump-log --verify-index-only` agrees).
//! - `.timeindex`: 12-byte entries `(timestamp i64, relative offset u32)`: the segment's largest
//!   timestamp so far and the last offset of the batch that carried it; timestamps strictly
//!   increase.
//!
//! Both are one [`IndexFile`], which owns the file, its mapping and the search; an [`IndexCodec`]
//! per kind says how an entry is laid out. Appending and checking differ, so they sit in an `impl`
//! per kind.
//!
//! The active segment's files are preallocated to `segment.index.bytes` (rounded down to whole
//! entries) and trimmed to their entries when the segment rolls or the log closes, like Kafka.
//! A crash leaves preallocated zeros behind; the sanity check rejects them and recovery rebuilds.
//!
//! Mapping: an index holds no file descriptor and is mapped only on demand — for a lookup in an
//! index with entries, for writing an entry, for the sanity check — through the shared
//! [`FileCache`], which keeps at most `index_maps_max` mappings over all logs and unmaps the least
//! recently used. So an index that is never searched (a segment smaller than
//! `index.interval.bytes` has no entries at all) is never mapped, and a partition costs no map
//! while idle. The entry count and the last entry are kept in memory, so appends and open need
//! no mapping to decide what to write.
//!
//! Durability is as with a permanent mapping: entries are written through a shared mapping into
//! the page cache, and `flush` msyncs the mapping when it is mapped. When it was unmapped
//! meanwhile (evicted), its dirty pages stayed in the page cache and `flush` fsyncs the file
//! instead (an `unsynced` flag says whether there is anything to sync).
//!
//! Memory: nothing is allocated per entry; the kernel pages the mapping. The bound on entries is
//! the file size (`segment.index.bytes` / entry size); a full index makes the segment roll.

use crate::files::{FileCache, IndexMap};
use std::fmt::Display;
use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub(crate) const OFFSET_ENTRY_BYTES: usize = 8;
pub(crate) const TIME_ENTRY_BYTES: usize = 12;

/// The layout of one kind of index entry. Every entry decodes to `(key, value)`: the key is what
/// lookups search by and strictly increases along the file; the value never decreases.
pub(crate) trait IndexCodec {
    const ENTRY_BYTES: usize;
    /// What an entry points at: a file position or an offset.
    type Value: Copy + PartialOrd + Display;
    fn decode(base_offset: i64, raw: &[u8]) -> (i64, Self::Value);
    /// The answer of a lookup that falls before the first entry.
    fn before_first(base_offset: i64) -> (i64, Self::Value);
}

/// `.index` entries: key = the last offset of a batch, value = the batch's file position.
pub(crate) struct OffsetEntries;

impl IndexCodec for OffsetEntries {
    const ENTRY_BYTES: usize = OFFSET_ENTRY_BYTES;
    type Value = u64;

    fn decode(base_offset: i64, raw: &[u8]) -> (i64, u64) {
        (base_offset + rel(raw, 0) as i64, rel(raw, 4) as u64)
    }

    /// Scanning starts at the segment start.
    fn before_first(base_offset: i64) -> (i64, u64) {
        (base_offset, 0)
    }
}

/// `.timeindex` entries: key = a timestamp, value = the last offset of the batch that carried it.
pub(crate) struct TimeEntries;

impl IndexCodec for TimeEntries {
    const ENTRY_BYTES: usize = TIME_ENTRY_BYTES;
    type Value = i64;

    fn decode(base_offset: i64, raw: &[u8]) -> (i64, i64) {
        (crate::batch::get_i64(raw, 0), base_offset + rel(raw, 8) as i64)
    }

    /// `(-1, base offset)`, as Kafka's `lookup`.
    fn before_first(base_offset: i64) -> (i64, i64) {
        (crate::batch::NO_TIMESTAMP, base_offset)
    }
}

/// The `.index` file of one segment.
pub(crate) type OffsetIndex = IndexFile<OffsetEntries>;
/// The `.timeindex` file of one segment.
pub(crate) type TimeIndex = IndexFile<TimeEntries>;

fn rel(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// One index file of one segment, entries laid out by `C`.
///
/// Holds no file descriptor and maps the file only while the shared [`FileCache`] keeps its
/// mapping (see the module docs). The entry count, capacity and last entry are kept here, so
/// appends decide without the mapping and a lookup in an empty index maps nothing.
pub(crate) struct IndexFile<C: IndexCodec> {
    path: PathBuf,
    cache: Arc<FileCache>,
    /// This index's key in `cache`.
    key: u64,
    base_offset: i64,
    entries: usize,
    /// Whole entries the file has room for (its length / entry size).
    capacity_entries: usize,
    /// The entry at `entries - 1`, decoded.
    last: Option<(i64, C::Value)>,
    /// Entries written (or zeroed) through a mapping since the last msync or fsync. A mapping
    /// evicted meanwhile left them dirty in the page cache, and `flush` must fsync the file.
    unsynced: AtomicBool,
    codec: PhantomData<C>,
}

fn open_rw(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

impl<C: IndexCodec> IndexFile<C> {
    pub(crate) fn create(
        path: &Path,
        base_offset: i64,
        max_index_bytes: u64,
        cache: &Arc<FileCache>,
    ) -> io::Result<Self> {
        let capacity = (max_index_bytes as usize) / C::ENTRY_BYTES;
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        file.set_len((capacity * C::ENTRY_BYTES) as u64)?;
        Ok(IndexFile {
            path: path.to_path_buf(),
            cache: cache.clone(),
            key: cache.new_key(),
            base_offset,
            entries: 0,
            capacity_entries: capacity,
            last: None,
            unsynced: AtomicBool::new(false),
            codec: PhantomData,
        })
    }

    /// Opens an existing file, taking every whole entry in it as written (the caller checks).
    /// Reads the last entry with one positional read; maps nothing.
    pub(crate) fn open(path: &Path, base_offset: i64, cache: &Arc<FileCache>) -> io::Result<Self> {
        let file = open_rw(path)?;
        let len = file.metadata()?.len() as usize;
        let entries = len / C::ENTRY_BYTES;
        let last = if entries == 0 {
            None
        } else {
            let mut raw = [0u8; 16];
            let raw = &mut raw[..C::ENTRY_BYTES];
            crate::fileio::read_exact_at(&file, raw, ((entries - 1) * C::ENTRY_BYTES) as u64)?;
            Some(C::decode(base_offset, raw))
        };
        Ok(IndexFile {
            path: path.to_path_buf(),
            cache: cache.clone(),
            key: cache.new_key(),
            base_offset,
            entries,
            capacity_entries: entries,
            last,
            unsynced: AtomicBool::new(false),
            codec: PhantomData,
        })
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    /// The mapping, from the cache or made now. Only for a file with entries or capacity.
    fn map(&self) -> io::Result<Arc<IndexMap>> {
        debug_assert!(self.capacity_entries > 0, "an empty file cannot be mapped");
        let map = self.cache.index_map(self.key, &self.path)?;
        // The file is resized only through `resize`, which drops the mapping first; a shorter
        // mapping means someone else cut the file.
        if map.len() < self.capacity_entries * C::ENTRY_BYTES {
            drop(map);
            self.cache.forget_index_map(self.key);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("index file is shorter than its {} entries", self.capacity_entries),
            ));
        }
        Ok(map)
    }

    fn entry_in(&self, map: &IndexMap, i: usize) -> (i64, C::Value) {
        debug_assert!(i < self.entries);
        let mut raw = [0u8; 16];
        let raw = &mut raw[..C::ENTRY_BYTES];
        map.read(i * C::ENTRY_BYTES, raw);
        C::decode(self.base_offset, raw)
    }

    pub(crate) fn last_entry(&self) -> Option<(i64, C::Value)> {
        debug_assert_eq!(self.last.is_some(), self.entries > 0);
        self.last
    }

    /// The last entry whose key is <= `target`, or [`IndexCodec::before_first`]. For `.index` that
    /// is the position to start scanning from for an offset: the last entry whose batch-last-offset
    /// is <= it (every batch before that entry's batch ends before the offset... or at it; the
    /// scan finds the exact batch). For `.timeindex` it is Kafka's `lookup`.
    pub(crate) fn lookup(&self, target: i64) -> io::Result<(i64, C::Value)> {
        if self.entries == 0 {
            return Ok(C::before_first(self.base_offset));
        }
        let map = self.map()?;
        Ok(match self.floor(&map, target) {
            Some(i) => self.entry_in(&map, i),
            None => C::before_first(self.base_offset),
        })
    }

    /// Binary search: index of the last entry whose key is <= `target` (keys increase).
    /// At most log2(entries) + 1 probes.
    fn floor(&self, map: &IndexMap, target: i64) -> Option<usize> {
        let key = |i: usize| self.entry_in(map, i).0;
        if self.entries == 0 || key(0) > target {
            return None;
        }
        let (mut lo, mut hi) = (0usize, self.entries - 1);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if key(mid) <= target {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Some(lo)
    }

    pub(crate) fn is_full(&self) -> bool {
        self.entries >= self.capacity_entries
    }

    /// `offset` relative to the segment's base, as entries store it.
    fn relative(&self, offset: i64) -> u32 {
        let relative = offset - self.base_offset;
        assert!((0..=u32::MAX as i64).contains(&relative), "relative offset {relative} out of range");
        relative as u32
    }

    /// The mapping to write entries through, taken before an append writes any log data so that
    /// a failure to map leaves nothing half-written. `None` when the index is full (nothing more
    /// will be written).
    pub(crate) fn map_for_write(&self) -> io::Result<Option<Arc<IndexMap>>> {
        if self.is_full() {
            return Ok(None);
        }
        self.map().map(Some)
    }

    /// Writes the next entry through `map` (this index's, from `map_for_write`).
    fn push(&mut self, entry: &[u8], map: &IndexMap) {
        assert_eq!(entry.len(), C::ENTRY_BYTES);
        assert!(!self.is_full(), "index {} is full; the segment should have rolled", self.path.display());
        debug_assert!(
            self.cache.cached_index_map(self.key).is_none_or(|m| std::ptr::eq(&*m, map)),
            "another index's mapping"
        );
        map.write(self.entries * C::ENTRY_BYTES, entry);
        self.unsynced.store(true, Ordering::Relaxed);
        self.entries += 1;
        self.last = Some(C::decode(self.base_offset, entry));
    }

    /// Forgets every entry (zeroing them, so a trim-less crash leaves no stale tail).
    pub(crate) fn clear(&mut self) -> io::Result<()> {
        if self.entries == 0 {
            return Ok(());
        }
        let map = self.map()?;
        map.zero(self.entries * C::ENTRY_BYTES);
        self.unsynced.store(true, Ordering::Relaxed);
        self.entries = 0;
        self.last = None;
        Ok(())
    }

    /// Walks the entries in order: each value must pass `past_end` (a bound only the caller
    /// knows), keys must strictly increase and values never decrease.
    fn check_entries(&self, past_end: impl Fn(usize, C::Value) -> Option<String>) -> Result<(), String> {
        if self.entries == 0 {
            return Ok(());
        }
        let map = self.map().map_err(|e| format!("cannot map: {e}"))?;
        let mut prev: Option<(i64, C::Value)> = None;
        for i in 0..self.entries {
            let (key, value) = self.entry_in(&map, i);
            if let Some(error) = past_end(i, value) {
                return Err(error);
            }
            if let Some((prev_key, prev_value)) = prev {
                if key <= prev_key || value < prev_value {
                    return Err(format!("entry {i} ({key}, {value}) does not follow ({prev_key}, {prev_value})"));
                }
            }
            prev = Some((key, value));
        }
        Ok(())
    }

    /// Sets the file's length to `max_index_bytes` rounded down to whole entries (never below the
    /// entries in use). The mapping is flushed (msync) and dropped first, as before a resize it
    /// always was; if it had been evicted with unsynced entries, the file is fsynced instead.
    pub(crate) fn resize(&mut self, max_index_bytes: u64) -> io::Result<()> {
        self.resize_with(max_index_bytes, true)
    }

    /// [`Self::resize`] with `sync` false: the mapping is dropped without msync and nothing is
    /// fsynced, so written entries stay dirty in the page cache (unmapping keeps them there) until
    /// the caller's own sync (the batched shutdown's `syncfs`).
    fn resize_with(&mut self, max_index_bytes: u64, sync: bool) -> io::Result<()> {
        let capacity = ((max_index_bytes as usize) / C::ENTRY_BYTES).max(self.entries);
        let file = open_rw(&self.path)?;
        if !sync {
            drop(self.cache.forget_index_map(self.key));
            file.set_len((capacity * C::ENTRY_BYTES) as u64)?;
            self.capacity_entries = capacity;
            return Ok(());
        }
        if let Some(map) = self.cache.forget_index_map(self.key) {
            map.flush()?;
            // `&mut self`: no call of this index is in flight, so this was the last reference
            // (bar an evicting thread about to drop its own) and the file is unmapped before
            // it shrinks.
            drop(map);
        } else if self.unsynced.load(Ordering::Relaxed) {
            file.sync_data()?;
        }
        self.unsynced.store(false, Ordering::Relaxed);
        file.set_len((capacity * C::ENTRY_BYTES) as u64)?;
        self.capacity_entries = capacity;
        Ok(())
    }

    pub(crate) fn trim(&mut self) -> io::Result<()> {
        self.resize((self.entries * C::ENTRY_BYTES) as u64)
    }

    /// [`Self::trim`] without msync or fsync (see [`Self::resize_with`]).
    pub(crate) fn trim_unsynced(&mut self) -> io::Result<()> {
        self.resize_with((self.entries * C::ENTRY_BYTES) as u64, false)
    }

    /// Makes written entries durable: msync of the mapping when it is mapped (as always), else an
    /// fsync of the file when entries were written through a mapping since evicted.
    pub(crate) fn flush(&self) -> io::Result<()> {
        if let Some(map) = self.cache.cached_index_map(self.key) {
            map.flush()?;
        } else if self.unsynced.load(Ordering::Relaxed) {
            open_rw(&self.path)?.sync_data()?;
        } else {
            return Ok(());
        }
        self.unsynced.store(false, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl<C: IndexCodec> Drop for IndexFile<C> {
    /// Unmaps (nothing is synced, as dropping a mapping never did).
    fn drop(&mut self) {
        self.cache.forget_index_map(self.key);
    }
}

impl IndexFile<OffsetEntries> {
    /// Appends an entry through `map` (from [`IndexFile::map_for_write`]).
    pub(crate) fn append(&mut self, last_offset: i64, position: u64, map: &IndexMap) {
        let relative = self.relative(last_offset);
        assert!(position <= u32::MAX as u64, "position {position} out of range");
        if let Some((prev, _)) = self.last_entry() {
            assert!(last_offset > prev, "offset index entries must increase: {last_offset} after {prev}");
        }
        let mut e = [0u8; OFFSET_ENTRY_BYTES];
        e[..4].copy_from_slice(&relative.to_be_bytes());
        e[4..].copy_from_slice(&(position as u32).to_be_bytes());
        self.push(&e, map);
    }

    /// Kafka's `sanityCheck` plus a full monotonicity check: entries strictly increase in offset,
    /// never decrease in position, and point inside the log.
    pub(crate) fn check(&self, log_size: u64) -> Result<(), String> {
        self.check_entries(|i, position| {
            (position >= log_size.max(1))
                .then(|| format!("entry {i} points at byte {position} past the log's {log_size}"))
        })
    }
}

impl IndexFile<TimeEntries> {
    /// Whether [`IndexFile::maybe_append`] would write an entry: the timestamp is larger than
    /// the last entry's (Kafka's `maybeAppend`) and there is room. A full index takes nothing
    /// more: Kafka writes the final entry at roll even into a full index, but a full mapping has
    /// no room for it.
    fn wants(&self, timestamp: i64, offset: i64) -> bool {
        if let Some((last_ts, last_offset)) = self.last_entry() {
            if timestamp <= last_ts || offset < last_offset {
                return false;
            }
        }
        !self.is_full()
    }

    /// Appends `(timestamp, offset)` through `map` when [`Self::wants`] it.
    pub(crate) fn maybe_append(&mut self, timestamp: i64, offset: i64, map: &IndexMap) {
        if !self.wants(timestamp, offset) {
            return;
        }
        let relative = self.relative(offset);
        let mut e = [0u8; TIME_ENTRY_BYTES];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&relative.to_be_bytes());
        self.push(&e, map);
    }

    /// [`Self::maybe_append`], mapping the file only when an entry is written.
    pub(crate) fn maybe_append_mapping(&mut self, timestamp: i64, offset: i64) -> io::Result<()> {
        if self.wants(timestamp, offset) {
            let map = self.map()?;
            self.maybe_append(timestamp, offset, &map);
        }
        Ok(())
    }

    /// Timestamps strictly increase and offsets never decrease and stay below `next_offset`.
    pub(crate) fn check(&self, next_offset: i64) -> Result<(), String> {
        self.check_entries(|i, offset| {
            (offset >= next_offset.max(self.base_offset + 1))
                .then(|| format!("entry {i} offset {offset} is past the segment's end {next_offset}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_lookup_is_a_floor() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(4, 4);
        let mut idx = OffsetIndex::create(&dir.path().join("a.index"), 100, 80, &cache).unwrap();
        for (o, p) in [(104, 0), (110, 500), (130, 1000)] {
            let map = idx.map_for_write().unwrap().unwrap();
            idx.append(o, p, &map);
        }
        let cases = [(100, (100, 0)), (104, (104, 0)), (109, (104, 0)), (110, (110, 500)), (500, (130, 1000))];
        for (target, want) in cases {
            assert_eq!(idx.lookup(target).unwrap(), want, "lookup {target}");
        }
        idx.trim().unwrap();
        assert_eq!(std::fs::metadata(idx.path()).unwrap().len(), 24);
        let reopened = OffsetIndex::open(&dir.path().join("a.index"), 100, &cache).unwrap();
        assert_eq!(reopened.entries(), 3);
        assert_eq!(reopened.last_entry(), Some((130, 1000)), "read without mapping");
        assert!(reopened.check(1001).is_ok());
        assert!(reopened.check(1000).is_err());
    }

    #[test]
    fn time_index_keeps_increasing_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(4, 4);
        let mut idx = TimeIndex::create(&dir.path().join("a.timeindex"), 0, 1200, &cache).unwrap();
        for (ts, offset) in [(10, 3), (10, 5), (9, 6), (20, 9)] {
            idx.maybe_append_mapping(ts, offset).unwrap();
        }
        assert_eq!(idx.entries(), 2);
        assert_eq!(idx.lookup(5).unwrap(), (-1, 0));
        assert_eq!(idx.lookup(15).unwrap(), (10, 3));
        assert_eq!(idx.lookup(25).unwrap(), (20, 9));
    }

    /// With room for one mapping, two indexes take turns: each write and lookup remaps as
    /// needed, entries written through an evicted mapping are still there, and flush fsyncs
    /// them through the file.
    #[test]
    fn indexes_survive_losing_their_mapping() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(4, 1);
        let mut a = OffsetIndex::create(&dir.path().join("a.index"), 0, 800, &cache).unwrap();
        let mut b = OffsetIndex::create(&dir.path().join("b.index"), 0, 800, &cache).unwrap();
        assert_eq!(cache.stats().index_maps, 0, "creating maps nothing");
        for i in 0..50i64 {
            let map = a.map_for_write().unwrap().unwrap();
            a.append(i * 2 + 1, i as u64 * 100, &map);
            drop(map);
            let map = b.map_for_write().unwrap().unwrap();
            b.append(i * 3 + 2, i as u64 * 10, &map);
            assert!(cache.stats().index_maps <= 1);
        }
        assert!(cache.cached_index_map(a.key).is_none());
        assert!(a.unsynced.load(Ordering::Relaxed));
        a.flush().unwrap();
        assert!(!a.unsynced.load(Ordering::Relaxed));
        assert_eq!(a.lookup(40).unwrap(), (39, 1900));
        assert_eq!(b.lookup(40).unwrap(), (38, 120));
        assert!(a.check(1_000_000).is_ok() && b.check(1_000_000).is_ok());
        a.trim().unwrap();
        assert_eq!(std::fs::metadata(a.path()).unwrap().len(), 400);
        assert!(cache.stats().index_maps_evicted > 90);
        drop((a, b));
        assert_eq!(cache.stats().index_maps, 0, "dropping an index unmaps it");
    }
}
