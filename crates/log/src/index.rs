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
//! Memory: nothing is allocated per entry; the kernel pages the mapping. The bound on entries is
//! the file size (`segment.index.bytes` / entry size); a full index makes the segment roll.

use memmap2::MmapMut;
use std::fmt::Display;
use std::fs::{File, OpenOptions};
use std::io;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

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
pub(crate) struct IndexFile<C: IndexCodec> {
    path: PathBuf,
    file: File,
    /// `None` while the file is empty (zero-length files cannot be mapped everywhere).
    mmap: Option<MmapMut>,
    base_offset: i64,
    entries: usize,
    capacity_entries: usize,
    codec: PhantomData<C>,
}

impl<C: IndexCodec> IndexFile<C> {
    pub(crate) fn create(path: &Path, base_offset: i64, max_index_bytes: u64) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        let mut index = IndexFile {
            path: path.to_path_buf(),
            file,
            mmap: None,
            base_offset,
            entries: 0,
            capacity_entries: 0,
            codec: PhantomData,
        };
        index.resize(max_index_bytes)?;
        Ok(index)
    }

    /// Opens an existing file, taking every whole entry in it as written (the caller checks).
    pub(crate) fn open(path: &Path, base_offset: i64) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len() as usize;
        let entries = len / C::ENTRY_BYTES;
        let mmap = if len == 0 { None } else { Some(unsafe { MmapMut::map_mut(&file)? }) };
        Ok(IndexFile {
            path: path.to_path_buf(),
            file,
            mmap,
            base_offset,
            entries,
            capacity_entries: entries,
            codec: PhantomData,
        })
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    fn raw(&self, i: usize) -> &[u8] {
        debug_assert!(i < self.entries);
        let m = self.mmap.as_ref().expect("an index with entries is mapped");
        &m[i * C::ENTRY_BYTES..(i + 1) * C::ENTRY_BYTES]
    }

    pub(crate) fn entry(&self, i: usize) -> (i64, C::Value) {
        C::decode(self.base_offset, self.raw(i))
    }

    pub(crate) fn last_entry(&self) -> Option<(i64, C::Value)> {
        (self.entries > 0).then(|| self.entry(self.entries - 1))
    }

    /// The last entry whose key is <= `target`, or [`IndexCodec::before_first`]. For `.index` that
    /// is the position to start scanning from for an offset: the last entry whose batch-last-offset
    /// is <= it (every batch before that entry's batch ends before the offset... or at it; the
    /// scan finds the exact batch). For `.timeindex` it is Kafka's `lookup`.
    pub(crate) fn lookup(&self, target: i64) -> (i64, C::Value) {
        match self.floor(target) {
            Some(i) => self.entry(i),
            None => C::before_first(self.base_offset),
        }
    }

    /// Binary search: index of the last entry whose key is <= `target` (keys increase).
    fn floor(&self, target: i64) -> Option<usize> {
        let key = |i: usize| self.entry(i).0;
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

    fn push(&mut self, entry: &[u8]) {
        assert_eq!(entry.len(), C::ENTRY_BYTES);
        assert!(!self.is_full(), "index {} is full; the segment should have rolled", self.path.display());
        let at = self.entries * C::ENTRY_BYTES;
        let m = self.mmap.as_mut().expect("an index with capacity is mapped");
        m[at..at + C::ENTRY_BYTES].copy_from_slice(entry);
        self.entries += 1;
    }

    /// Forgets every entry (zeroing them, so a trim-less crash leaves no stale tail).
    pub(crate) fn clear(&mut self) {
        if self.entries == 0 {
            return;
        }
        if let Some(m) = self.mmap.as_mut() {
            m[..self.entries * C::ENTRY_BYTES].fill(0);
        }
        self.entries = 0;
    }

    /// Walks the entries in order: each value must pass `past_end` (a bound only the caller
    /// knows), keys must strictly increase and values never decrease.
    fn check_entries(&self, past_end: impl Fn(usize, C::Value) -> Option<String>) -> Result<(), String> {
        let mut prev: Option<(i64, C::Value)> = None;
        for i in 0..self.entries {
            let (key, value) = self.entry(i);
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

    /// Remaps the file at `max_index_bytes` rounded down to whole entries (never below the entries
    /// in use).
    pub(crate) fn resize(&mut self, max_index_bytes: u64) -> io::Result<()> {
        let capacity = ((max_index_bytes as usize) / C::ENTRY_BYTES).max(self.entries);
        if let Some(m) = self.mmap.take() {
            m.flush()?;
        }
        self.file.set_len((capacity * C::ENTRY_BYTES) as u64)?;
        self.capacity_entries = capacity;
        if capacity > 0 {
            self.mmap = Some(unsafe { MmapMut::map_mut(&self.file)? });
        }
        Ok(())
    }

    pub(crate) fn trim(&mut self) -> io::Result<()> {
        self.resize((self.entries * C::ENTRY_BYTES) as u64)
    }

    pub(crate) fn flush(&self) -> io::Result<()> {
        if let Some(m) = &self.mmap {
            m.flush()?;
        }
        Ok(())
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl IndexFile<OffsetEntries> {
    pub(crate) fn append(&mut self, last_offset: i64, position: u64) {
        let relative = self.relative(last_offset);
        assert!(position <= u32::MAX as u64, "position {position} out of range");
        if let Some((prev, _)) = self.last_entry() {
            assert!(last_offset > prev, "offset index entries must increase: {last_offset} after {prev}");
        }
        let mut e = [0u8; OFFSET_ENTRY_BYTES];
        e[..4].copy_from_slice(&relative.to_be_bytes());
        e[4..].copy_from_slice(&(position as u32).to_be_bytes());
        self.push(&e);
    }

    /// Kafka's `sanityCheck` plus a full monotonicity check: entries strictly increase in offset,
    /// never decrease in position, and point inside the log.
    pub(crate) fn check(&self, log_size: u64) -> Result<(), String> {
        self.check_entries(|i, position| {
            (position >= log_size.max(1)).then(|| format!("entry {i} points at byte {position} past the log's {log_size}"))
        })
    }
}

impl IndexFile<TimeEntries> {
    /// Appends `(timestamp, offset)` when the timestamp is larger than the last entry's (Kafka's
    /// `maybeAppend`). A full index takes nothing more: Kafka writes the final entry at roll even
    /// into a full index, but a full mapping has no room for it.
    pub(crate) fn maybe_append(&mut self, timestamp: i64, offset: i64) {
        if let Some((last_ts, last_offset)) = self.last_entry() {
            if timestamp <= last_ts || offset < last_offset {
                return;
            }
        }
        if self.is_full() {
            return;
        }
        let relative = self.relative(offset);
        let mut e = [0u8; TIME_ENTRY_BYTES];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&relative.to_be_bytes());
        self.push(&e);
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
        let mut idx = OffsetIndex::create(&dir.path().join("a.index"), 100, 80).unwrap();
        for (o, p) in [(104, 0), (110, 500), (130, 1000)] {
            idx.append(o, p);
        }
        let cases = [(100, (100, 0)), (104, (104, 0)), (109, (104, 0)), (110, (110, 500)), (500, (130, 1000))];
        for (target, want) in cases {
            assert_eq!(idx.lookup(target), want, "lookup {target}");
        }
        idx.trim().unwrap();
        assert_eq!(std::fs::metadata(idx.path()).unwrap().len(), 24);
        let reopened = OffsetIndex::open(&dir.path().join("a.index"), 100).unwrap();
        assert_eq!(reopened.entries(), 3);
        assert!(reopened.check(1001).is_ok());
        assert!(reopened.check(1000).is_err());
    }

    #[test]
    fn time_index_keeps_increasing_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = TimeIndex::create(&dir.path().join("a.timeindex"), 0, 1200).unwrap();
        idx.maybe_append(10, 3);
        idx.maybe_append(10, 5);
        idx.maybe_append(9, 6);
        idx.maybe_append(20, 9);
        assert_eq!(idx.entries(), 2);
        assert_eq!(idx.lookup(5), (-1, 0));
        assert_eq!(idx.lookup(15), (10, 3));
        assert_eq!(idx.lookup(25), (20, 9));
    }
}
