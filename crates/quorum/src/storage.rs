//! The Raft log and vote on disk (formats in the crate docs): openraft's `RaftLogStorage`.
//!
//! Entries live in memory as well (the log is bounded by snapshots), so reads never touch the
//! file; the file is only appended, cut or rewritten, and read once at start-up.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs;
use std::fs::File;
use std::fs::OpenOptions;
use std::io;
use std::io::Write;
use std::ops::RangeBounds;
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;

use openraft::storage::LogFlushed;
use openraft::storage::RaftLogStorage;
use openraft::LogState;
use openraft::RaftLogReader;
use serde::Deserialize;
use serde::Serialize;
use tokio::sync::watch;

use crate::types::storage_error;
use crate::types::Entry;
use crate::types::LogId;
use crate::types::StorageError;
use crate::types::TypeConfig;
use crate::types::Vote;
use crate::Error;

pub(crate) const LOG_FILE: &str = "log";
const VOTE_FILE: &str = "vote.json";
const COMMITTED_FILE: &str = "committed.json";
const NODE_ID_FILE: &str = "node_id";
/// A record header: body length and CRC-32C, both u32 big-endian.
const RECORD_HEADER_BYTES: usize = 8;
/// No legitimate record comes near this; a larger length is garbage.
const MAX_RECORD_BYTES: usize = crate::transport::MAX_FRAME_BYTES;

/// One record of the `log` file, as read.
#[derive(Deserialize)]
enum Record {
    Purged(LogId),
    Entry(Entry),
}

/// One record of the `log` file, as written (borrowing, so appends do not clone entries).
#[derive(Serialize)]
enum RecordRef<'a> {
    Purged(&'a LogId),
    Entry(&'a Entry),
}

fn encode_record(record: &RecordRef<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    let body = serde_json::to_vec(record).map_err(io::Error::other)?;
    if body.len() > MAX_RECORD_BYTES {
        return Err(io::Error::other(format!("log record of {} bytes is too large", body.len())));
    }
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(())
}

/// Writes `name` in `dir` via a temporary file and a rename, so readers see the old or the new
/// content, never a mix. `durable` adds the fsyncs that make the new content survive a power cut.
pub(crate) fn write_atomic(dir: &Path, name: &str, data: &[u8], durable: bool) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut file = File::create(&tmp)?;
        file.write_all(data)?;
        if durable {
            file.sync_all()?;
        }
    }
    fs::rename(&tmp, dir.join(name))?;
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Makes renames and creations in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates `dir` if needed and claims it for `node_id`; a directory of another node is refused.
pub(crate) fn claim_dir(dir: &Path, node_id: crate::NodeId) -> crate::Result<()> {
    fs::create_dir_all(dir)?;
    let path = dir.join(NODE_ID_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => match text.trim().parse::<crate::NodeId>() {
            Ok(owner) if owner == node_id => Ok(()),
            Ok(owner) => Err(Error::Config(format!("{} belongs to node {owner}, not node {node_id}", dir.display()))),
            Err(_) => Err(Error::Storage(format!("{} is not a node id: {text:?}", path.display()))),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            write_atomic(dir, NODE_ID_FILE, node_id.to_string().as_bytes(), true)?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

struct LogInner {
    dir: PathBuf,
    /// The `log` file, opened for appending.
    file: File,
    /// Its length: where the next record starts.
    file_len: u64,
    entries: BTreeMap<u64, Entry>,
    /// Byte offset of each entry's record, to cut the file on truncate.
    offsets: BTreeMap<u64, u64>,
    last_purged: Option<LogId>,
    vote: Option<Vote>,
    committed: Option<LogId>,
    /// Publishes the committed index for status reports.
    committed_tx: Arc<watch::Sender<u64>>,
}

/// The log store handed to openraft; clones share one log (the clone is the log reader).
#[derive(Clone)]
pub(crate) struct LogStore {
    inner: Arc<Mutex<LogInner>>,
}

impl LogStore {
    /// Opens (or creates) the log in `dir`, dropping a torn tail left by a crash.
    pub(crate) fn open(dir: &Path, committed_tx: Arc<watch::Sender<u64>>) -> crate::Result<LogStore> {
        fs::create_dir_all(dir)?;
        let vote = read_json::<Vote>(&dir.join(VOTE_FILE))
            .map_err(|e| Error::Storage(format!("{}: {e}", dir.join(VOTE_FILE).display())))?;
        // The committed index is only a hint (written without fsync): unreadable means unknown.
        let mut committed = match read_json::<Option<LogId>>(&dir.join(COMMITTED_FILE)) {
            Ok(c) => c.flatten(),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring unreadable {COMMITTED_FILE}");
                None
            }
        };

        let path = dir.join(LOG_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let scan = scan_log(&bytes);
        if scan.valid_len < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                kept_bytes = scan.valid_len,
                dropped_bytes = bytes.len() - scan.valid_len,
                reason = %scan.stop_reason,
                "dropping the torn tail of the quorum log"
            );
            let file = OpenOptions::new().write(true).open(&path)?;
            file.set_len(scan.valid_len as u64)?;
            file.sync_all()?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        sync_dir(dir)?;

        // Never claim more committed than the log (or the purge point) still proves.
        let last = scan.entries.values().next_back().map(|e| e.log_id).or(scan.last_purged);
        if committed.map(|c| c.index) > last.map(|l| l.index) {
            tracing::warn!(?committed, ?last, "clamping the committed index to the recovered log");
            committed = last;
        }
        committed_tx.send_replace(committed.map_or(0, |c| c.index));

        let inner = LogInner {
            dir: dir.to_path_buf(),
            file,
            file_len: scan.valid_len as u64,
            entries: scan.entries,
            offsets: scan.offsets,
            last_purged: scan.last_purged,
            vote,
            committed,
            committed_tx,
        };
        Ok(LogStore { inner: Arc::new(Mutex::new(inner)) })
    }

    /// True for a node that has never taken part: no vote, no log, nothing purged.
    pub(crate) fn is_pristine(&self) -> bool {
        let inner = self.lock();
        inner.vote.is_none() && inner.entries.is_empty() && inner.last_purged.is_none()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The outcome of reading a `log` file from the start.
struct Scan {
    entries: BTreeMap<u64, Entry>,
    offsets: BTreeMap<u64, u64>,
    last_purged: Option<LogId>,
    /// Bytes up to the end of the last good record.
    valid_len: usize,
    stop_reason: String,
}

fn scan_log(bytes: &[u8]) -> Scan {
    let mut scan = Scan {
        entries: BTreeMap::new(),
        offsets: BTreeMap::new(),
        last_purged: None,
        valid_len: 0,
        stop_reason: String::new(),
    };
    let mut pos = 0usize;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.len() < RECORD_HEADER_BYTES {
            scan.stop_reason = "partial record header".into();
            break;
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len > MAX_RECORD_BYTES || rest.len() - RECORD_HEADER_BYTES < len {
            scan.stop_reason = format!("record length {len} runs past the end");
            break;
        }
        let body = &rest[RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + len];
        if crc32c::crc32c(body) != crc {
            scan.stop_reason = "record checksum mismatch".into();
            break;
        }
        match serde_json::from_slice::<Record>(body) {
            Ok(Record::Purged(id)) => {
                scan.entries.retain(|&i, _| i > id.index);
                scan.offsets.retain(|&i, _| i > id.index);
                scan.last_purged = Some(id);
            }
            Ok(Record::Entry(entry)) => {
                let index = entry.log_id.index;
                let expected = match (scan.entries.keys().next_back(), scan.last_purged) {
                    (Some(&last), _) => Some(last + 1),
                    (None, Some(purged)) => Some(purged.index + 1),
                    (None, None) => None,
                };
                if expected.is_some_and(|e| e != index) {
                    scan.stop_reason = format!("entry {index} does not follow {expected:?}");
                    break;
                }
                scan.offsets.insert(index, pos as u64);
                scan.entries.insert(index, entry);
            }
            Err(e) => {
                scan.stop_reason = format!("record does not parse: {e}");
                break;
            }
        }
        pos += RECORD_HEADER_BYTES + len;
        scan.valid_len = pos;
    }
    scan
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, String> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| e.to_string()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

impl LogInner {
    fn last_log_id(&self) -> Option<LogId> {
        self.entries.values().next_back().map(|e| e.log_id).or(self.last_purged)
    }

    /// Cuts the log (memory and file) from `index` on.
    fn truncate_from(&mut self, index: u64) -> io::Result<()> {
        let Some((&first, &offset)) = self.offsets.range(index..).next() else {
            return Ok(());
        };
        debug_assert!(first >= index);
        self.entries.split_off(&index);
        self.offsets.split_off(&index);
        self.file.set_len(offset)?;
        self.file.sync_data()?;
        self.file_len = offset;
        Ok(())
    }

    fn append(&mut self, entries: Vec<Entry>) -> io::Result<()> {
        let Some(first) = entries.first().map(|e| e.log_id.index) else {
            return Ok(());
        };
        // openraft truncates before overwriting; stay consistent even if it did not.
        if self.entries.keys().next_back().is_some_and(|&last| last >= first) {
            self.truncate_from(first)?;
        }
        let mut buf = Vec::new();
        let mut offsets = Vec::with_capacity(entries.len());
        for entry in &entries {
            offsets.push((entry.log_id.index, self.file_len + buf.len() as u64));
            encode_record(&RecordRef::Entry(entry), &mut buf)?;
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        self.file_len += buf.len() as u64;
        self.offsets.extend(offsets);
        for entry in entries {
            self.entries.insert(entry.log_id.index, entry);
        }
        Ok(())
    }

    /// Drops entries up to `upto` and rewrites the file without them.
    fn purge(&mut self, upto: LogId) -> io::Result<()> {
        if self.last_purged.is_some_and(|p| p.index >= upto.index) {
            return Ok(());
        }
        self.entries = self.entries.split_off(&(upto.index + 1));
        self.last_purged = Some(upto);

        let mut buf = Vec::new();
        let mut offsets = BTreeMap::new();
        encode_record(&RecordRef::Purged(&upto), &mut buf)?;
        for (&index, entry) in &self.entries {
            offsets.insert(index, buf.len() as u64);
            encode_record(&RecordRef::Entry(entry), &mut buf)?;
        }
        write_atomic(&self.dir, LOG_FILE, &buf, true)?;
        self.file = OpenOptions::new().append(true).open(self.dir.join(LOG_FILE))?;
        self.file_len = buf.len() as u64;
        self.offsets = offsets;
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let inner = self.lock();
        Ok(inner.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let inner = self.lock();
        Ok(LogState { last_purged_log_id: inner.last_purged, last_log_id: inner.last_log_id() })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let mut inner = self.lock();
        let bytes = serde_json::to_vec(vote).map_err(|e| storage_error("encode vote", e))?;
        write_atomic(&inner.dir, VOTE_FILE, &bytes, true).map_err(|e| storage_error("save vote", e))?;
        inner.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let mut inner = self.lock();
        let bytes = serde_json::to_vec(&committed).map_err(|e| storage_error("encode committed", e))?;
        // No fsync: losing it only means re-applying less at start-up.
        write_atomic(&inner.dir, COMMITTED_FILE, &bytes, false).map_err(|e| storage_error("save committed", e))?;
        inner.committed = committed;
        inner.committed_tx.send_replace(committed.map_or(0, |c| c.index));
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let result = self.lock().append(entries);
        match result {
            Ok(()) => {
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                let err = storage_error("append to log", &e);
                callback.log_io_completed(Err(e));
                Err(err)
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(%log_id, "truncate quorum log");
        self.lock().truncate_from(log_id.index).map_err(|e| storage_error("truncate log", e))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(%log_id, "purge quorum log");
        self.lock().purge(log_id).map_err(|e| storage_error("purge log", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;
    use openraft::EntryPayload;

    fn entry(index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(crate::types::Payload(vec![index as u8; 3])),
        }
    }

    fn record(e: &Entry) -> Vec<u8> {
        let mut buf = Vec::new();
        encode_record(&RecordRef::Entry(e), &mut buf).unwrap();
        buf
    }

    #[test]
    fn scan_stops_at_a_torn_or_corrupt_tail() {
        let mut bytes = Vec::new();
        for i in 0..3 {
            bytes.extend(record(&entry(i)));
        }
        let good = bytes.len();
        let scan = scan_log(&bytes);
        assert_eq!((scan.entries.len(), scan.valid_len), (3, good));

        let mut torn = bytes.clone();
        torn.extend(&record(&entry(3))[..10]);
        let scan = scan_log(&torn);
        assert_eq!((scan.entries.len(), scan.valid_len), (3, good));

        let mut flipped = bytes.clone();
        let mut last = record(&entry(3));
        let n = last.len();
        last[n - 2] ^= 0xff;
        flipped.extend(last);
        let scan = scan_log(&flipped);
        assert_eq!((scan.entries.len(), scan.valid_len), (3, good));

        let mut gap = bytes.clone();
        gap.extend(record(&entry(5)));
        assert_eq!(scan_log(&gap).entries.len(), 3);
    }
}
