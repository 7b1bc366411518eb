//! [`FileCache`]: the bounded set of open segment files and index mappings that every [`Log`]
//! sharing it draws from.
//!
//! Why: a segment has three files. Holding each open costs three file descriptors per segment
//! and, with memory-mapped indexes, two memory maps; 20,000 single-segment partitions would need
//! 60,000 descriptors (a typical hard `RLIMIT_NOFILE` is 20,000 to 1 M) and 40,000 maps
//! (`vm.max_map_count` defaults to 65,530). Like RocksDB's `max_open_files`, what no log is using
//! right now is closed, and reopened transparently on the next read or append.
//!
//! Two least-recently-used sets behind one lock:
//! - `.log` files: at most `open_files_max` open [`File`]s, over all segments, active ones
//!   included. A miss opens the file again by path (read-write, never creating it). Closing loses
//!   nothing: appends are positional writes into the page cache, and an fsync through a reopened
//!   descriptor flushes the inode's dirty pages whichever descriptor wrote them.
//! - index mappings: at most `index_maps_max` mapped `.index`/`.timeindex` files. A mapping is made
//!   by opening the file, mapping it shared, and closing the descriptor at once (a mapping stays
//!   valid after its file is closed), so indexes never hold a descriptor. Unmapping an evicted
//!   mapping keeps its dirty pages in the page cache; the index remembers that it has unsynced
//!   writes and fsyncs the file at its next flush (see the index module).
//!
//! Entries are handed out as `Arc`s and a caller keeps one only for the length of one log call,
//! so an eviction meanwhile just drops the cache's reference. Descriptors and maps of segments are
//! therefore at most the bound plus those of calls in flight (one or two per thread in a log
//! call). Keys are unique per cache; the owner of a key (one segment's `.log`, one index) removes
//! its entry when it is dropped, so a deleted segment releases its descriptor, its mapping and its
//! disk space at once.
//!
//! What it does not bound: transient descriptors (an fsync of an evicted index, compaction
//! reading one segment at a time, checkpoint and snapshot writes). That is why the default
//! `open_files_max` is only half the soft `RLIMIT_NOFILE`: the other half is for those and for
//! sockets.
//!
//! [`Log`]: crate::Log

use memmap2::MmapRaw;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// Smallest bound the defaults derive (a tiny soft limit still leaves a working broker).
const DERIVED_MAX_MIN: usize = 16;
/// `open_files_max` when `RLIMIT_NOFILE` is unlimited or unknown.
const OPEN_FILES_MAX_FALLBACK: usize = 4096;
/// Linux's default `vm.max_map_count`, assumed when it cannot be read.
const MAX_MAP_COUNT_DEFAULT: usize = 65_530;

/// Half of the process's soft `RLIMIT_NOFILE` (raise the soft limit first: the broker raises it
/// to the hard limit at start). The other half is headroom for sockets and transient files.
pub fn open_files_max_default() -> usize {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes into a properly initialised struct we own.
        let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
        if rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY {
            return usize::try_from(lim.rlim_cur / 2).unwrap_or(usize::MAX).max(DERIVED_MAX_MIN);
        }
    }
    OPEN_FILES_MAX_FALLBACK
}

/// Half of `vm.max_map_count` (65,530 when unreadable): the other half is for the heap, thread
/// stacks, shared libraries and large allocations, each of which is a map too.
pub fn index_maps_max_default() -> usize {
    let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(MAX_MAP_COUNT_DEFAULT);
    (max_map_count / 2).max(DERIVED_MAX_MIN)
}

/// What a [`FileCache`] holds now and has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileCacheStats {
    /// `.log` files held open by the cache now (<= `open_files_max`).
    pub open_files: usize,
    pub open_files_max: usize,
    /// Index files mapped by the cache now (<= `index_maps_max`).
    pub index_maps: usize,
    pub index_maps_max: usize,
    /// `.log` files opened (created or reopened) since the cache was made.
    pub files_opened: u64,
    /// `.log` files closed because the bound was reached.
    pub files_evicted: u64,
    /// Index files mapped since the cache was made.
    pub index_maps_made: u64,
    /// Index files unmapped because the bound was reached.
    pub index_maps_evicted: u64,
}

/// Open segment files and index mappings, bounded; see the module docs. Share one per process
/// (or per broker) through an `Arc`.
pub struct FileCache {
    open_files_max: usize,
    index_maps_max: usize,
    next_key: AtomicU64,
    sets: Mutex<Sets>,
    files_opened: AtomicU64,
    files_evicted: AtomicU64,
    index_maps_made: AtomicU64,
    index_maps_evicted: AtomicU64,
}

struct Sets {
    files: Lru<Arc<File>>,
    maps: Lru<Arc<IndexMap>>,
}

impl std::fmt::Debug for FileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCache").field("stats", &self.stats()).finish()
    }
}

impl FileCache {
    /// A cache keeping at most `open_files_max` `.log` files open and `index_maps_max` index files
    /// mapped. Both must be at least 1.
    pub fn new(open_files_max: usize, index_maps_max: usize) -> Arc<FileCache> {
        assert!(open_files_max >= 1, "open_files_max must be at least 1");
        assert!(index_maps_max >= 1, "index_maps_max must be at least 1");
        Arc::new(FileCache {
            open_files_max,
            index_maps_max,
            next_key: AtomicU64::new(1),
            sets: Mutex::new(Sets { files: Lru::new(open_files_max), maps: Lru::new(index_maps_max) }),
            files_opened: AtomicU64::new(0),
            files_evicted: AtomicU64::new(0),
            index_maps_made: AtomicU64::new(0),
            index_maps_evicted: AtomicU64::new(0),
        })
    }

    /// The cache [`crate::Log::open`] uses: one per process, bounded by
    /// [`open_files_max_default`] and [`index_maps_max_default`] as they are at first use.
    pub fn process_default() -> &'static Arc<FileCache> {
        static DEFAULT: OnceLock<Arc<FileCache>> = OnceLock::new();
        DEFAULT.get_or_init(|| FileCache::new(open_files_max_default(), index_maps_max_default()))
    }

    pub fn open_files_max(&self) -> usize {
        self.open_files_max
    }

    pub fn index_maps_max(&self) -> usize {
        self.index_maps_max
    }

    pub fn stats(&self) -> FileCacheStats {
        let sets = self.lock();
        FileCacheStats {
            open_files: sets.files.len(),
            open_files_max: self.open_files_max,
            index_maps: sets.maps.len(),
            index_maps_max: self.index_maps_max,
            files_opened: self.files_opened.load(Ordering::Relaxed),
            files_evicted: self.files_evicted.load(Ordering::Relaxed),
            index_maps_made: self.index_maps_made.load(Ordering::Relaxed),
            index_maps_evicted: self.index_maps_evicted.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Sets> {
        // Nothing panics half-way through an LRU update, so a poisoned lock holds a valid state.
        self.sets.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A key no other owner of this cache uses.
    pub(crate) fn new_key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    /// Caches a file the caller just opened (or created) under `key`.
    pub(crate) fn insert_file(&self, key: u64, file: File) -> Arc<File> {
        let file = Arc::new(file);
        self.files_opened.fetch_add(1, Ordering::Relaxed);
        let evicted = self.lock().files.insert(key, file.clone());
        if evicted.is_some() {
            self.files_evicted.fetch_add(1, Ordering::Relaxed);
        }
        // `evicted` is dropped (closed) here, outside the lock.
        file
    }

    /// The `.log` file under `key`, reopened from `path` when it was evicted.
    pub(crate) fn file(&self, key: u64, path: &Path) -> io::Result<Arc<File>> {
        if let Some(file) = self.lock().files.get(key) {
            return Ok(file);
        }
        // Opened outside the lock so other logs are not held up by this open. A key has one
        // owner, used under its log's lock; should two `&Log` readers still miss on the same key
        // at once, the second insert replaces the first file, which closes when its reader is done.
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(self.insert_file(key, file))
    }

    /// Drops the cache's reference to `key`'s file (its owner is going away).
    pub(crate) fn forget_file(&self, key: u64) {
        let removed = self.lock().files.remove(key);
        drop(removed);
    }

    /// `key`'s index mapping, mapping `path` when it is not mapped.
    pub(crate) fn index_map(&self, key: u64, path: &Path) -> io::Result<Arc<IndexMap>> {
        if let Some(map) = self.lock().maps.get(key) {
            return Ok(map);
        }
        let map = Arc::new(IndexMap::map(path)?);
        self.index_maps_made.fetch_add(1, Ordering::Relaxed);
        let evicted = self.lock().maps.insert(key, map.clone());
        if evicted.is_some() {
            self.index_maps_evicted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(map)
    }

    /// `key`'s mapping if it is mapped now; maps nothing.
    pub(crate) fn cached_index_map(&self, key: u64) -> Option<Arc<IndexMap>> {
        self.lock().maps.peek(key)
    }

    /// Removes `key`'s mapping from the cache and returns it (the caller drops it to unmap).
    pub(crate) fn forget_index_map(&self, key: u64) -> Option<Arc<IndexMap>> {
        self.lock().maps.remove(key)
    }
}

/// One index file mapped shared and read-write, without a file descriptor.
///
/// No reference into the mapping ever leaves this type: reads and writes copy through raw
/// pointers with bounds checked against the mapping's length. Only the one `IndexFile` owning the
/// key writes, under `&mut`, and reads under `&`, so within this process writes never race reads.
pub(crate) struct IndexMap {
    raw: MmapRaw,
}

impl IndexMap {
    fn map(path: &Path) -> io::Result<IndexMap> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let raw = MmapRaw::map_raw(&file)?;
        // Index access is a binary search or one appended entry: no readahead. Without this the
        // first write into a fresh (sparse, preallocated) index faults in a readahead window of
        // zeroed pages, which the trim at close then frees again: with 10,000 partitions that
        // was most of a 30 s shutdown. Advice only; a failure changes nothing but speed.
        #[cfg(unix)]
        let _ = raw.advise(memmap2::Advice::Random);
        // `file` closes here; the mapping keeps the file's pages reachable.
        Ok(IndexMap { raw })
    }

    pub(crate) fn len(&self) -> usize {
        self.raw.len()
    }

    /// Copies `out.len()` bytes at `at` out of the mapping.
    pub(crate) fn read(&self, at: usize, out: &mut [u8]) {
        assert!(at.checked_add(out.len()).is_some_and(|end| end <= self.len()), "index read past the mapping");
        // SAFETY: the range is inside the mapping (checked above), which lives as long as `self`.
        unsafe { std::ptr::copy_nonoverlapping(self.raw.as_ptr().add(at), out.as_mut_ptr(), out.len()) }
    }

    /// Copies `bytes` into the mapping at `at`.
    pub(crate) fn write(&self, at: usize, bytes: &[u8]) {
        assert!(at.checked_add(bytes.len()).is_some_and(|end| end <= self.len()), "index write past the mapping");
        // SAFETY: in bounds (checked above); the mapping is writable and shared; no reference
        // into it exists (see the type docs).
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.raw.as_mut_ptr().add(at), bytes.len()) }
    }

    /// Zeroes `[0, len)`.
    pub(crate) fn zero(&self, len: usize) {
        assert!(len <= self.len(), "index zeroing past the mapping");
        // SAFETY: as in `write`.
        unsafe { std::ptr::write_bytes(self.raw.as_mut_ptr(), 0, len) }
    }

    /// msync of the whole mapping (which on Linux fsyncs the file's range, whichever mapping or
    /// descriptor dirtied it).
    pub(crate) fn flush(&self) -> io::Result<()> {
        self.raw.flush()
    }
}

const NIL: usize = usize::MAX;

struct Node<V> {
    key: u64,
    value: Option<V>,
    /// Towards the most recently used end.
    prev: usize,
    /// Towards the least recently used end.
    next: usize,
}

/// A least-recently-used map of at most `capacity` entries: a doubly linked list threaded through
/// a slab of nodes plus a key index. Every operation is O(1); the slab never holds more than
/// `capacity + 1` nodes (freed nodes are reused), so memory is bounded by the capacity.
struct Lru<V> {
    capacity: usize,
    nodes: Vec<Node<V>>,
    free: Vec<usize>,
    index: HashMap<u64, usize>,
    /// Most recently used, or NIL when empty.
    head: usize,
    /// Least recently used (the next to be evicted), or NIL when empty.
    tail: usize,
}

impl<V: Clone> Lru<V> {
    fn new(capacity: usize) -> Lru<V> {
        assert!(capacity >= 1);
        Lru { capacity, nodes: Vec::new(), free: Vec::new(), index: HashMap::new(), head: NIL, tail: NIL }
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = (self.nodes[i].prev, self.nodes[i].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next].prev = prev;
        }
        self.nodes[i].prev = NIL;
        self.nodes[i].next = NIL;
    }

    fn push_front(&mut self, i: usize) {
        self.nodes[i].prev = NIL;
        self.nodes[i].next = self.head;
        if self.head == NIL {
            self.tail = i;
        } else {
            self.nodes[self.head].prev = i;
        }
        self.head = i;
    }

    /// The value under `key`, marked most recently used.
    fn get(&mut self, key: u64) -> Option<V> {
        let i = *self.index.get(&key)?;
        if i != self.head {
            self.unlink(i);
            self.push_front(i);
        }
        self.nodes[i].value.clone()
    }

    /// The value under `key`, leaving the order alone.
    fn peek(&self, key: u64) -> Option<V> {
        self.index.get(&key).and_then(|&i| self.nodes[i].value.clone())
    }

    /// Inserts `value` as the most recently used. Returns what fell out: the value `key` held
    /// before, or else the least recently used entry when the capacity was exceeded.
    fn insert(&mut self, key: u64, value: V) -> Option<V> {
        if let Some(&i) = self.index.get(&key) {
            let old = self.nodes[i].value.replace(value);
            if i != self.head {
                self.unlink(i);
                self.push_front(i);
            }
            return old;
        }
        let node = Node { key, value: Some(value), prev: NIL, next: NIL };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i] = node;
                i
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        self.index.insert(key, i);
        self.push_front(i);
        let evicted = if self.index.len() > self.capacity {
            // Never the entry just inserted: it is at the head and the capacity is at least 1.
            let lru_key = self.nodes[self.tail].key;
            debug_assert_ne!(lru_key, key);
            self.remove(lru_key)
        } else {
            None
        };
        debug_assert!(self.index.len() <= self.capacity);
        debug_assert!(self.nodes.len() <= self.capacity + 1);
        debug_assert_eq!(self.nodes.len(), self.index.len() + self.free.len());
        evicted
    }

    fn remove(&mut self, key: u64) -> Option<V> {
        let i = self.index.remove(&key)?;
        self.unlink(i);
        self.free.push(i);
        self.nodes[i].value.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys in order, most recently used first, walking the list (checks its links too).
    fn order(lru: &Lru<u32>) -> Vec<u64> {
        let mut out = Vec::new();
        let (mut i, mut prev) = (lru.head, NIL);
        while i != NIL {
            assert_eq!(lru.nodes[i].prev, prev);
            out.push(lru.nodes[i].key);
            prev = i;
            i = lru.nodes[i].next;
            assert!(out.len() <= lru.capacity, "cycle");
        }
        assert_eq!(lru.tail, prev);
        assert_eq!(out.len(), lru.len());
        out
    }

    #[test]
    fn lru_evicts_the_least_recently_used_and_reuses_nodes() {
        let mut lru = Lru::new(3);
        assert_eq!(lru.insert(1, 10), None);
        assert_eq!(lru.insert(2, 20), None);
        assert_eq!(lru.insert(3, 30), None);
        assert_eq!(order(&lru), [3, 2, 1]);
        assert_eq!(lru.get(1), Some(10));
        assert_eq!(order(&lru), [1, 3, 2]);
        assert_eq!(lru.insert(4, 40), Some(20), "2 was the least recently used");
        assert_eq!(order(&lru), [4, 1, 3]);
        assert_eq!(lru.peek(3), Some(30));
        assert_eq!(order(&lru), [4, 1, 3], "peek does not reorder");
        assert_eq!(lru.insert(1, 11), Some(10), "replacing returns the old value");
        assert_eq!(order(&lru), [1, 4, 3]);
        assert_eq!(lru.remove(4), Some(40));
        assert_eq!(lru.remove(4), None);
        assert_eq!(order(&lru), [1, 3]);
        for k in 5..100 {
            lru.insert(k, k as u32);
            assert!(lru.nodes.len() <= 4, "the slab stays within capacity + 1");
        }
        assert_eq!(order(&lru), [99, 98, 97]);
        assert_eq!(lru.get(2), None);
        let mut one = Lru::new(1);
        assert_eq!(one.insert(1, 1), None);
        assert_eq!(one.insert(2, 2), Some(1));
        assert_eq!(order(&one), [2]);
    }

    #[test]
    fn cache_reopens_evicted_files_and_closes_forgotten_ones() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::new(2, 1);
        let paths: Vec<_> = (0..3).map(|i| dir.path().join(format!("{i}.log"))).collect();
        let keys: Vec<u64> = paths
            .iter()
            .map(|p| {
                let key = cache.new_key();
                cache.insert_file(key, File::create(p).unwrap());
                key
            })
            .collect();
        let s = cache.stats();
        assert_eq!((s.open_files, s.files_opened, s.files_evicted), (2, 3, 1));
        // The first file was evicted; asking for it reopens it (and evicts the next).
        let f = cache.file(keys[0], &paths[0]).unwrap();
        crate::fileio::write_all_at(&f, b"abc", 0).unwrap();
        assert_eq!(std::fs::read(&paths[0]).unwrap(), b"abc");
        assert_eq!(cache.stats().open_files, 2);
        cache.forget_file(keys[0]);
        cache.forget_file(keys[2]);
        assert_eq!(cache.stats().open_files, 0);
        // A missing file is an error, never created.
        std::fs::remove_file(&paths[1]).unwrap();
        assert!(cache.file(keys[1], &paths[1]).is_err());
        assert!(!paths[1].exists());
    }
}
