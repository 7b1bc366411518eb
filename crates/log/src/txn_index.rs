//! The aborted transaction index: one `<base>.txnindex` file per segment, in Apache Kafka's
//! `TransactionIndex` format, so `kafka-dump-log` reads it.
//!
//! An entry is written when an ABORT marker is appended (or replayed by a follower or by
//! recovery), into the index of the segment holding the marker. Entries are 34 bytes, big-endian
//! (Kafka's `AbortedTxn`, version 0):
//!
//! ```text
//! version i16 = 0 | producer_id i64 | first_offset i64 | last_offset i64 | last_stable_offset i64
//! ```
//!
//! `first_offset` is the transaction's first offset in this partition, `last_offset` the marker's
//! offset, `last_stable_offset` the partition's last stable offset when the marker was written
//! (the first offset of the oldest other open transaction, else the marker's offset + 1): a fetch
//! range ending at or before it cannot overlap a later aborted transaction, which lets
//! [`TxnIndex::collect`] stop early, as Kafka's `collectAbortedTxns` does. Last offsets strictly
//! increase along the file.
//!
//! The file exists only once a segment has an aborted transaction (Kafka creates it lazily too);
//! a missing file is an empty index. It is read and written with short-lived descriptors of its
//! own rather than through the shared `FileCache`: aborts are rare next to data, and this keeps
//! the cache's bound on open files exact. Only the entry count and the last entry's last offset
//! are kept in memory; reads go to the file, in windows of [`READ_WINDOW_ENTRIES`].
//!
//! What it does not do: decide what to write (the log and its producer state do) or rebuild
//! itself (the log replays batches after a crash and re-appends).

use crate::batch;
use crate::fileio;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Bytes of one entry (Kafka's `AbortedTxn.TOTAL_SIZE`).
pub const ABORTED_TXN_BYTES: usize = 34;
/// Kafka's `AbortedTxn.CURRENT_VERSION`.
const ENTRY_VERSION: i16 = 0;
/// Entries read per positional read (~64 KiB).
const READ_WINDOW_ENTRIES: usize = 1927;

/// One aborted transaction (Kafka's `AbortedTxn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    /// The offset of the ABORT marker.
    pub last_offset: i64,
    pub last_stable_offset: i64,
}

impl AbortedTxn {
    pub fn encode(&self) -> [u8; ABORTED_TXN_BYTES] {
        let mut out = [0u8; ABORTED_TXN_BYTES];
        out[0..2].copy_from_slice(&ENTRY_VERSION.to_be_bytes());
        out[2..10].copy_from_slice(&self.producer_id.to_be_bytes());
        out[10..18].copy_from_slice(&self.first_offset.to_be_bytes());
        out[18..26].copy_from_slice(&self.last_offset.to_be_bytes());
        out[26..34].copy_from_slice(&self.last_stable_offset.to_be_bytes());
        out
    }

    pub fn decode(raw: &[u8]) -> Result<AbortedTxn, String> {
        if raw.len() < ABORTED_TXN_BYTES {
            return Err(format!("{} bytes, an entry has {ABORTED_TXN_BYTES}", raw.len()));
        }
        let version = batch::get_i16(raw, 0);
        if version != ENTRY_VERSION {
            return Err(format!("entry version {version}, only {ENTRY_VERSION} is known"));
        }
        Ok(AbortedTxn {
            producer_id: batch::get_i64(raw, 2),
            first_offset: batch::get_i64(raw, 10),
            last_offset: batch::get_i64(raw, 18),
            last_stable_offset: batch::get_i64(raw, 26),
        })
    }
}

/// One segment's `.txnindex`.
pub(crate) struct TxnIndex {
    path: PathBuf,
    entries: u64,
    /// The last entry's last offset (entries are appended in increasing last offset).
    last_offset: Option<i64>,
    /// Entries written since the last fsync.
    unsynced: AtomicBool,
}

impl TxnIndex {
    pub(crate) fn path_for(dir: &Path, base_offset: i64) -> PathBuf {
        dir.join(crate::segment::file_name(base_offset, "txnindex"))
    }

    /// The index of a new segment: any leftover file of that name is removed.
    pub(crate) fn create(path: PathBuf) -> io::Result<TxnIndex> {
        fileio::remove_if_exists(&path)?;
        Ok(TxnIndex { path, entries: 0, last_offset: None, unsynced: AtomicBool::new(false) })
    }

    /// Opens an existing index (absent = empty). A torn tail (a partial entry left by a crash)
    /// is cut off; an entry of an unknown version is an error.
    pub(crate) fn open(path: PathBuf) -> io::Result<TxnIndex> {
        TxnIndex::load(path, true)
    }

    /// Reads an index another thread may be appending to (the compaction job's): whole entries
    /// only, and nothing is cut.
    pub(crate) fn open_read_only(path: PathBuf) -> io::Result<TxnIndex> {
        TxnIndex::load(path, false)
    }

    fn load(path: PathBuf, repair: bool) -> io::Result<TxnIndex> {
        let len = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        let whole = len - len % ABORTED_TXN_BYTES as u64;
        let mut index = TxnIndex {
            path,
            entries: whole / ABORTED_TXN_BYTES as u64,
            last_offset: None,
            unsynced: AtomicBool::new(false),
        };
        if whole != len && repair {
            tracing::warn!(file = %index.path.display(), bytes = len - whole, "cutting a partial entry off the transaction index");
            OpenOptions::new().write(true).open(&index.path)?.set_len(whole)?;
        }
        if index.entries > 0 {
            let mut raw = [0u8; ABORTED_TXN_BYTES];
            fileio::read_exact_at(&File::open(&index.path)?, &mut raw, whole - ABORTED_TXN_BYTES as u64)?;
            let last = AbortedTxn::decode(&raw).map_err(|e| invalid(&index.path, e))?;
            index.last_offset = Some(last.last_offset);
        }
        Ok(index)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn len(&self) -> u64 {
        self.entries
    }

    /// Appends an entry; its last offset must be above every entry's already there (Kafka's
    /// check in `TransactionIndex.append`).
    pub(crate) fn append(&mut self, txn: &AbortedTxn) -> io::Result<()> {
        if self.last_offset.is_some_and(|last| last >= txn.last_offset) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "aborted transaction ending at {} does not follow the index's last one at {:?} in {}",
                    txn.last_offset,
                    self.last_offset,
                    self.path.display()
                ),
            ));
        }
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&self.path)?;
        let at = self.entries * ABORTED_TXN_BYTES as u64;
        if let Err(e) = fileio::write_all_at(&file, &txn.encode(), at) {
            let _ = file.set_len(at);
            return Err(e);
        }
        self.entries += 1;
        self.last_offset = Some(txn.last_offset);
        self.unsynced.store(true, Ordering::Release);
        Ok(())
    }

    /// Every entry, in file order (bounded by the file: 34 bytes per aborted transaction).
    pub(crate) fn entries(&self) -> io::Result<Vec<AbortedTxn>> {
        let mut out = Vec::with_capacity(self.entries.min(READ_WINDOW_ENTRIES as u64) as usize);
        self.scan(|_, txn| {
            out.push(txn);
            true
        })?;
        Ok(out)
    }

    /// Kafka's `TransactionIndex.collectAbortedTxns`: the entries overlapping the fetch range
    /// `[fetch_offset, upper_bound_offset)`, and whether the search is complete (an entry's last
    /// stable offset reached the upper bound, so no later segment can add one).
    pub(crate) fn collect(
        &self,
        fetch_offset: i64,
        upper_bound_offset: i64,
        out: &mut Vec<AbortedTxn>,
    ) -> io::Result<bool> {
        let mut complete = false;
        self.scan(|_, txn| {
            if txn.last_offset >= fetch_offset && txn.first_offset < upper_bound_offset {
                out.push(txn);
            }
            complete = txn.last_stable_offset >= upper_bound_offset;
            !complete
        })?;
        Ok(complete)
    }

    /// Removes every entry whose marker is at or after `offset` (Kafka's `truncateTo`).
    pub(crate) fn truncate_to(&mut self, offset: i64) -> io::Result<()> {
        if self.last_offset.is_none_or(|last| last < offset) {
            return Ok(());
        }
        let mut keep = 0u64;
        let mut last = None;
        self.scan(|i, txn| {
            if txn.last_offset >= offset {
                return false;
            }
            keep = i + 1;
            last = Some(txn.last_offset);
            true
        })?;
        if keep == 0 {
            fileio::remove_if_exists(&self.path)?;
        } else {
            OpenOptions::new().write(true).open(&self.path)?.set_len(keep * ABORTED_TXN_BYTES as u64)?;
        }
        self.entries = keep;
        self.last_offset = last;
        Ok(())
    }

    /// fsyncs the file when entries were written since the last time.
    pub(crate) fn flush(&self) -> io::Result<()> {
        if !self.unsynced.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        match File::open(&self.path) {
            Ok(f) => f.sync_data().inspect_err(|_| self.unsynced.store(true, Ordering::Release)),
            // Truncated away meanwhile: nothing to sync.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => {
                self.unsynced.store(true, Ordering::Release);
                Err(e)
            }
        }
    }

    /// Calls `f(entry number, entry)` in file order until it returns false.
    fn scan(&self, mut f: impl FnMut(u64, AbortedTxn) -> bool) -> io::Result<()> {
        if self.entries == 0 {
            return Ok(());
        }
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut buf = vec![0u8; READ_WINDOW_ENTRIES.min(self.entries as usize) * ABORTED_TXN_BYTES];
        let mut i = 0u64;
        while i < self.entries {
            let n = (self.entries - i).min(READ_WINDOW_ENTRIES as u64) as usize;
            let window = &mut buf[..n * ABORTED_TXN_BYTES];
            fileio::read_exact_at(&file, window, i * ABORTED_TXN_BYTES as u64)?;
            for raw in window.chunks_exact(ABORTED_TXN_BYTES) {
                let txn = AbortedTxn::decode(raw).map_err(|e| invalid(&self.path, e))?;
                if !f(i, txn) {
                    return Ok(());
                }
                i += 1;
            }
        }
        Ok(())
    }
}

fn invalid(path: &Path, reason: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("transaction index {}: {reason}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(pid: i64, first: i64, last: i64, lso: i64) -> AbortedTxn {
        AbortedTxn { producer_id: pid, first_offset: first, last_offset: last, last_stable_offset: lso }
    }

    #[test]
    fn entries_are_kafkas_34_byte_layout() {
        let raw = txn(0x0102030405060708, 5, 9, 10).encode();
        let mut want = vec![0, 0];
        want.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        want.extend_from_slice(&5i64.to_be_bytes());
        want.extend_from_slice(&9i64.to_be_bytes());
        want.extend_from_slice(&10i64.to_be_bytes());
        assert_eq!(raw.to_vec(), want);
        assert_eq!(AbortedTxn::decode(&raw).unwrap(), txn(0x0102030405060708, 5, 9, 10));
        let mut v1 = raw;
        v1[1] = 1;
        assert!(AbortedTxn::decode(&v1).unwrap_err().contains("version 1"));
    }

    #[test]
    fn append_collect_truncate_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = TxnIndex::path_for(dir.path(), 0);
        let mut index = TxnIndex::create(path.clone()).unwrap();
        assert!(!path.exists(), "created lazily");
        index.append(&txn(1, 0, 4, 5)).unwrap();
        index.append(&txn(2, 3, 8, 20)).unwrap();
        index.append(&txn(3, 10, 12, 13)).unwrap();
        assert!(index.append(&txn(4, 11, 12, 13)).is_err(), "last offsets must increase");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 * 34);
        let mut out = Vec::new();
        // [5, 9): overlaps the second only; its LSO 20 >= 9 completes the search.
        assert!(index.collect(5, 9, &mut out).unwrap());
        assert_eq!(out, vec![txn(2, 3, 8, 20)]);
        out.clear();
        assert!(!index.collect(0, 100, &mut out).unwrap());
        assert_eq!(out.len(), 3);
        index.truncate_to(8).unwrap();
        assert_eq!(index.entries().unwrap(), vec![txn(1, 0, 4, 5)]);
        // A torn tail is cut at reopen.
        std::io::Write::write_all(&mut OpenOptions::new().append(true).open(&path).unwrap(), &[0, 0, 1]).unwrap();
        let reopened = TxnIndex::open(path.clone()).unwrap();
        assert_eq!(reopened.len(), 1);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 34);
        let mut index = reopened;
        index.truncate_to(0).unwrap();
        assert!(!path.exists());
        assert_eq!(TxnIndex::open(path).unwrap().len(), 0);
    }
}
