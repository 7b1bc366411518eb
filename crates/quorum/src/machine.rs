//! The caller's [`StateMachine`] behind openraft's `RaftStateMachine`, plus the snapshot file.

use std::fs;
use std::io;
use std::path::Path;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::MutexGuard;
use std::time::SystemTime;

use openraft::storage::RaftStateMachine;
use openraft::storage::Snapshot;
use openraft::EntryPayload;
use openraft::RaftSnapshotBuilder;

use crate::storage::write_atomic;
use crate::types::storage_error;
use crate::types::storage_read_error;
use crate::types::Entry;
use crate::types::LogId;
use crate::types::Membership;
use crate::types::Payload;
use crate::types::SnapshotMeta;
use crate::types::StorageError;
use crate::types::TypeConfig;
use crate::Error;
use crate::StateMachine;

const SNAPSHOT_FILE: &str = "snapshot";
/// Snapshot header: meta length and CRC-32C of meta + data, both u32 big-endian.
const SNAPSHOT_HEADER_BYTES: usize = 8;

struct Applied {
    machine: Box<dyn StateMachine>,
    last_applied: Option<LogId>,
    membership: Membership,
}

struct StoredSnapshot {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

struct Shared {
    dir: PathBuf,
    applied: Mutex<Applied>,
    /// The current snapshot, the same as the `snapshot` file.
    snapshot: Mutex<Option<StoredSnapshot>>,
    /// Makes snapshot ids unique within this process.
    snapshot_seq: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The state machine store handed to openraft; the snapshot builder shares it.
#[derive(Clone)]
pub(crate) struct MachineStore {
    shared: Arc<Shared>,
}

impl MachineStore {
    /// Loads the local snapshot (if any) into `machine`.
    pub(crate) fn open(dir: &Path, mut machine: Box<dyn StateMachine>) -> crate::Result<MachineStore> {
        let path = dir.join(SNAPSHOT_FILE);
        let mut last_applied = None;
        let mut membership = Membership::default();
        let snapshot = match fs::read(&path) {
            Ok(bytes) => {
                let (meta, data) =
                    decode_snapshot(&bytes).map_err(|e| Error::Storage(format!("{}: {e}", path.display())))?;
                machine.restore(&data).map_err(|e| Error::Storage(format!("restoring {}: {e}", path.display())))?;
                tracing::info!(snapshot = %meta, "restored the state machine from the local snapshot");
                last_applied = meta.last_log_id;
                membership = meta.last_membership.clone();
                Some(StoredSnapshot { meta, data })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        let shared = Shared {
            dir: dir.to_path_buf(),
            applied: Mutex::new(Applied { machine, last_applied, membership }),
            snapshot: Mutex::new(snapshot),
            snapshot_seq: AtomicU64::new(0),
        };
        Ok(MachineStore { shared: Arc::new(shared) })
    }

    pub(crate) fn has_snapshot(&self) -> bool {
        lock(&self.shared.snapshot).is_some()
    }
}

impl Shared {
    /// Makes (meta, data) the current snapshot, on disk first. An older snapshot than the current
    /// one (a build that raced an install) is dropped.
    fn store_snapshot(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        let mut current = lock(&self.snapshot);
        if current.as_ref().is_some_and(|c| c.meta.last_log_id > meta.last_log_id) {
            return Ok(());
        }
        let bytes = encode_snapshot(meta, data)?;
        write_atomic(&self.dir, SNAPSHOT_FILE, &bytes, true)?;
        *current = Some(StoredSnapshot { meta: meta.clone(), data: data.to_vec() });
        Ok(())
    }
}

fn encode_snapshot(meta: &SnapshotMeta, data: &[u8]) -> io::Result<Vec<u8>> {
    let meta_json = serde_json::to_vec(meta).map_err(io::Error::other)?;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&meta_json), data);
    let mut out = Vec::with_capacity(SNAPSHOT_HEADER_BYTES + meta_json.len() + data.len());
    out.extend_from_slice(&(meta_json.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&meta_json);
    out.extend_from_slice(data);
    Ok(out)
}

fn decode_snapshot(bytes: &[u8]) -> Result<(SnapshotMeta, Vec<u8>), String> {
    if bytes.len() < SNAPSHOT_HEADER_BYTES {
        return Err("snapshot file is shorter than its header".into());
    }
    let meta_len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let crc = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let rest = &bytes[SNAPSHOT_HEADER_BYTES..];
    if meta_len > rest.len() {
        return Err(format!("snapshot meta length {meta_len} runs past the end"));
    }
    let (meta_json, data) = rest.split_at(meta_len);
    if crc32c::crc32c_append(crc32c::crc32c(meta_json), data) != crc {
        return Err("snapshot checksum mismatch".into());
    }
    let meta = serde_json::from_slice(meta_json).map_err(|e| format!("snapshot meta: {e}"))?;
    Ok((meta, data.to_vec()))
}

/// Builds a snapshot from state captured when openraft asked for the builder.
pub(crate) struct Builder {
    shared: Arc<Shared>,
    last_applied: Option<LogId>,
    membership: Membership,
    data: Vec<u8>,
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let seq = self.shared.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let millis = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let snapshot_id = match self.last_applied {
            Some(id) => format!("{}-{}-{millis}-{seq}", id.leader_id, id.index),
            None => format!("none-{millis}-{seq}"),
        };
        let meta =
            SnapshotMeta { last_log_id: self.last_applied, last_membership: self.membership.clone(), snapshot_id };
        let data = std::mem::take(&mut self.data);
        self.shared.store_snapshot(&meta, &data).map_err(|e| storage_error("write snapshot", e))?;
        tracing::debug!(snapshot = %meta, bytes = data.len(), "built a snapshot");
        Ok(Snapshot { meta, snapshot: Box::new(data) })
    }
}

impl RaftStateMachine<TypeConfig> for MachineStore {
    type SnapshotBuilder = Builder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), StorageError> {
        let applied = lock(&self.shared.applied);
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Payload>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut applied = lock(&self.shared.applied);
        let mut responses = Vec::new();
        for entry in entries {
            applied.last_applied = Some(entry.log_id);
            let response = match entry.payload {
                EntryPayload::Blank => Vec::new(),
                EntryPayload::Normal(command) => applied.machine.apply(entry.log_id.index, &command.0),
                EntryPayload::Membership(m) => {
                    applied.membership = Membership::new(Some(entry.log_id), m);
                    Vec::new()
                }
            };
            responses.push(Payload(response));
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Builder {
        // Capture the state now, in log order; the builder only persists it.
        let applied = lock(&self.shared.applied);
        Builder {
            shared: self.shared.clone(),
            last_applied: applied.last_applied,
            membership: applied.membership.clone(),
            data: applied.machine.snapshot(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Vec<u8>>, StorageError> {
        Ok(Box::default())
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: Box<Vec<u8>>) -> Result<(), StorageError> {
        tracing::info!(snapshot = %meta, bytes = snapshot.len(), "installing a snapshot from the leader");
        self.shared.store_snapshot(meta, &snapshot).map_err(|e| storage_error("write snapshot", e))?;
        let mut applied = lock(&self.shared.applied);
        applied.machine.restore(&snapshot).map_err(|e| storage_read_error("restore snapshot", e))?;
        applied.last_applied = meta.last_log_id;
        applied.membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let current = lock(&self.shared.snapshot);
        Ok(current.as_ref().map(|s| Snapshot { meta: s.meta.clone(), snapshot: Box::new(s.data.clone()) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_file_round_trips_and_detects_corruption() {
        let meta = SnapshotMeta::default();
        let bytes = encode_snapshot(&meta, b"state").unwrap();
        let (back, data) = decode_snapshot(&bytes).unwrap();
        assert_eq!((back, data.as_slice()), (meta, &b"state"[..]));
        let mut bad = bytes.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(decode_snapshot(&bad).is_err());
        assert!(decode_snapshot(&bytes[..5]).is_err());
    }
}
