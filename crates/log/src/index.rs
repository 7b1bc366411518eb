//! Sparse, memory-mapped offset and time indexes in Kafka's file formats.
//!
//! - `.index`: 8-byte entries `(relative offset u32, file position u32)`, big-endian. The offset is
//!   the *last* offset of the batch starting at that position, as Kafka's `LogSegment.append`
//!   writes it (so `kafka-dump-log --verify-index-only` agrees).
//! - `.timeindex`: 12-byte entries `(timestamp i64, relative offset u32)`: the segment's largest
//!   timestamp so far and the last offset of the batch that carried it; timestamps strictly
//!   increase.
//!
//! The active segment's files are preallocated to `segment.index.bytes` (rounded down to whole
//! entries) and trimmed to their entries when the segment rolls or the log closes, like Kafka.
//! A crash leaves preallocated zeros behind; the sanity check rejects them and recovery rebuilds.
//!
//! Memory: nothing is allocated per entry; the kernel pages the mapping. The bound on entries is
//! the file size (`segment.index.bytes` / entry size); a full index makes the segment roll.

use memmap2::MmapMut;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

pub(crate) const OFFSET_ENTRY_BYTES: usize = 8;
pub(crate) const TIME_ENTRY_BYTES: usize = 12;

struct MmapIndex {
    path: PathBuf,
    file: File,
    /// `None` while the file is empty (zero-length files cannot be mapped everywhere).
    mmap: Option<MmapMut>,
    entries: usize,
    capacity_entries: usize,
    entry_bytes: usize,
}

impl MmapIndex {
    fn create(path: &Path, entry_bytes: usize, max_index_bytes: u64) -> io::Result<MmapIndex> {
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        let mut index =
            MmapIndex { path: path.to_path_buf(), file, mmap: None, entries: 0, capacity_entries: 0, entry_bytes };
        index.resize(max_index_bytes)?;
        Ok(index)
    }

    /// Opens an existing file, taking every whole entry in it as written (the caller checks).
    fn open(path: &Path, entry_bytes: usize) -> io::Result<MmapIndex> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len() as usize;
        let entries = len / entry_bytes;
        let mmap = if len == 0 { None } else { Some(unsafe { MmapMut::map_mut(&file)? }) };
        Ok(MmapIndex { path: path.to_path_buf(), file, mmap, entries, capacity_entries: entries, entry_bytes })
    }

    /// Remaps the file at `max_index_bytes` rounded down to whole entries (never below the entries
    /// in use).
    fn resize(&mut self, max_index_bytes: u64) -> io::Result<()> {
        let capacity = ((max_index_bytes as usize) / self.entry_bytes).max(self.entries);
        if let Some(m) = self.mmap.take() {
            m.flush()?;
        }
        self.file.set_len((capacity * self.entry_bytes) as u64)?;
        self.capacity_entries = capacity;
        if capacity > 0 {
            self.mmap = Some(unsafe { MmapMut::map_mut(&self.file)? });
        }
        Ok(())
    }

    fn trim(&mut self) -> io::Result<()> {
        self.resize((self.entries * self.entry_bytes) as u64)
    }

    fn raw(&self, i: usize) -> &[u8] {
        debug_assert!(i < self.entries);
        let m = self.mmap.as_ref().expect("an index with entries is mapped");
        &m[i * self.entry_bytes..(i + 1) * self.entry_bytes]
    }

    fn is_full(&self) -> bool {
        self.entries >= self.capacity_entries
    }

    fn push(&mut self, entry: &[u8]) {
        assert_eq!(entry.len(), self.entry_bytes);
        assert!(!self.is_full(), "index {} is full; the segment should have rolled", self.path.display());
        let at = self.entries * self.entry_bytes;
        let m = self.mmap.as_mut().expect("an index with capacity is mapped");
        m[at..at + self.entry_bytes].copy_from_slice(entry);
        self.entries += 1;
    }

    /// Forgets every entry from `n` on (zeroing them, so a trim-less crash leaves no stale tail).
    fn truncate_entries(&mut self, n: usize) {
        if n >= self.entries {
            return;
        }
        if let Some(m) = self.mmap.as_mut() {
            m[n * self.entry_bytes..self.entries * self.entry_bytes].fill(0);
        }
        self.entries = n;
    }

    fn flush(&self) -> io::Result<()> {
        if let Some(m) = &self.mmap {
            m.flush()?;
        }
        Ok(())
    }

    /// Binary search: index of the last entry whose key is <= `target`, by a monotonic key.
    fn floor(&self, target: i64, key: impl Fn(&[u8]) -> i64) -> Option<usize> {
        if self.entries == 0 || key(self.raw(0)) > target {
            return None;
        }
        let (mut lo, mut hi) = (0usize, self.entries - 1);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if key(self.raw(mid)) <= target {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Some(lo)
    }
}

fn rel(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// The `.index` file of one segment.
pub(crate) struct OffsetIndex {
    base_offset: i64,
    inner: MmapIndex,
}

impl OffsetIndex {
    pub(crate) fn create(path: &Path, base_offset: i64, max_index_bytes: u64) -> io::Result<OffsetIndex> {
        Ok(OffsetIndex { base_offset, inner: MmapIndex::create(path, OFFSET_ENTRY_BYTES, max_index_bytes)? })
    }

    pub(crate) fn open(path: &Path, base_offset: i64) -> io::Result<OffsetIndex> {
        Ok(OffsetIndex { base_offset, inner: MmapIndex::open(path, OFFSET_ENTRY_BYTES)? })
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> usize {
        self.inner.entries
    }

    pub(crate) fn entry(&self, i: usize) -> (i64, u64) {
        let b = self.inner.raw(i);
        (self.base_offset + rel(b, 0) as i64, rel(b, 4) as u64)
    }

    pub(crate) fn last_entry(&self) -> Option<(i64, u64)> {
        (self.inner.entries > 0).then(|| self.entry(self.inner.entries - 1))
    }

    /// The position to start scanning from for `offset`: the last entry whose batch-last-offset is
    /// <= `offset` (every batch before that entry's batch ends before `offset`... or at it; the
    /// scan finds the exact batch), or the segment start.
    pub(crate) fn lookup(&self, offset: i64) -> (i64, u64) {
        match self.inner.floor(offset, |b| self.base_offset + rel(b, 0) as i64) {
            Some(i) => self.entry(i),
            None => (self.base_offset, 0),
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.inner.is_full()
    }

    pub(crate) fn append(&mut self, last_offset: i64, position: u64) {
        let relative = last_offset - self.base_offset;
        assert!((0..=u32::MAX as i64).contains(&relative), "relative offset {relative} out of range");
        assert!(position <= u32::MAX as u64, "position {position} out of range");
        if let Some((prev, _)) = self.last_entry() {
            assert!(last_offset > prev, "offset index entries must increase: {last_offset} after {prev}");
        }
        let mut e = [0u8; OFFSET_ENTRY_BYTES];
        e[..4].copy_from_slice(&(relative as u32).to_be_bytes());
        e[4..].copy_from_slice(&(position as u32).to_be_bytes());
        self.inner.push(&e);
    }

    pub(crate) fn clear(&mut self) {
        self.inner.truncate_entries(0);
    }

    /// Kafka's `sanityCheck` plus a full monotonicity check: entries strictly increase in offset,
    /// never decrease in position, and point inside the log.
    pub(crate) fn check(&self, log_size: u64) -> Result<(), String> {
        let mut prev: Option<(i64, u64)> = None;
        for i in 0..self.inner.entries {
            let (offset, position) = self.entry(i);
            if position >= log_size.max(1) {
                return Err(format!("entry {i} points at byte {position} past the log's {log_size}"));
            }
            if let Some((po, pp)) = prev {
                if offset <= po || position < pp {
                    return Err(format!("entry {i} ({offset}, {position}) does not follow ({po}, {pp})"));
                }
            }
            prev = Some((offset, position));
        }
        Ok(())
    }

    pub(crate) fn resize(&mut self, max_index_bytes: u64) -> io::Result<()> {
        self.inner.resize(max_index_bytes)
    }

    pub(crate) fn trim(&mut self) -> io::Result<()> {
        self.inner.trim()
    }

    pub(crate) fn flush(&self) -> io::Result<()> {
        self.inner.flush()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.inner.path
    }
}

/// The `.timeindex` file of one segment.
pub(crate) struct TimeIndex {
    base_offset: i64,
    inner: MmapIndex,
}

impl TimeIndex {
    pub(crate) fn create(path: &Path, base_offset: i64, max_index_bytes: u64) -> io::Result<TimeIndex> {
        Ok(TimeIndex { base_offset, inner: MmapIndex::create(path, TIME_ENTRY_BYTES, max_index_bytes)? })
    }

    pub(crate) fn open(path: &Path, base_offset: i64) -> io::Result<TimeIndex> {
        Ok(TimeIndex { base_offset, inner: MmapIndex::open(path, TIME_ENTRY_BYTES)? })
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> usize {
        self.inner.entries
    }

    pub(crate) fn entry(&self, i: usize) -> (i64, i64) {
        let b = self.inner.raw(i);
        (crate::batch::get_i64(b, 0), self.base_offset + rel(b, 8) as i64)
    }

    pub(crate) fn last_entry(&self) -> Option<(i64, i64)> {
        (self.inner.entries > 0).then(|| self.entry(self.inner.entries - 1))
    }

    /// The last entry with timestamp <= `timestamp`, or `(-1, base offset)` (Kafka's `lookup`).
    pub(crate) fn lookup(&self, timestamp: i64) -> (i64, i64) {
        match self.inner.floor(timestamp, |b| crate::batch::get_i64(b, 0)) {
            Some(i) => self.entry(i),
            None => (crate::batch::NO_TIMESTAMP, self.base_offset),
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.inner.is_full()
    }

    /// Appends `(timestamp, offset)` when the timestamp is larger than the last entry's (Kafka's
    /// `maybeAppend`). `skip_full_check` is for the final entry at roll, which Kafka writes even
    /// into a full index... except that a full mapping has no room, so here it is skipped then.
    pub(crate) fn maybe_append(&mut self, timestamp: i64, offset: i64) {
        if let Some((last_ts, last_offset)) = self.last_entry() {
            if timestamp <= last_ts || offset < last_offset {
                return;
            }
        }
        if self.inner.is_full() {
            return;
        }
        let relative = offset - self.base_offset;
        assert!((0..=u32::MAX as i64).contains(&relative), "relative offset {relative} out of range");
        let mut e = [0u8; TIME_ENTRY_BYTES];
        e[..8].copy_from_slice(&timestamp.to_be_bytes());
        e[8..].copy_from_slice(&(relative as u32).to_be_bytes());
        self.inner.push(&e);
    }

    pub(crate) fn clear(&mut self) {
        self.inner.truncate_entries(0);
    }

    /// Timestamps strictly increase and offsets never decrease and stay below `next_offset`.
    pub(crate) fn check(&self, next_offset: i64) -> Result<(), String> {
        let mut prev: Option<(i64, i64)> = None;
        for i in 0..self.inner.entries {
            let (ts, offset) = self.entry(i);
            if offset >= next_offset.max(self.base_offset + 1) {
                return Err(format!("entry {i} offset {offset} is past the segment's end {next_offset}"));
            }
            if let Some((pt, po)) = prev {
                if ts <= pt || offset < po {
                    return Err(format!("entry {i} ({ts}, {offset}) does not follow ({pt}, {po})"));
                }
            }
            prev = Some((ts, offset));
        }
        Ok(())
    }

    pub(crate) fn resize(&mut self, max_index_bytes: u64) -> io::Result<()> {
        self.inner.resize(max_index_bytes)
    }

    pub(crate) fn trim(&mut self) -> io::Result<()> {
        self.inner.trim()
    }

    pub(crate) fn flush(&self) -> io::Result<()> {
        self.inner.flush()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.inner.path
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
