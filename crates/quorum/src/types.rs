//! openraft's type configuration and the byte payload that fills it.

use std::fmt;

use serde::Deserialize;
use serde::Serialize;

use crate::NodeId;

openraft::declare_raft_types!(
    /// The openraft types of this crate: opaque byte commands and responses, node ids, no node
    /// data (addresses come from [`crate::Links`]), a snapshot held as one byte vector.
    pub TypeConfig:
        D = Payload,
        R = Payload,
        NodeId = NodeId,
        Node = openraft::EmptyNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Vec<u8>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub(crate) type LogId = openraft::LogId<NodeId>;
pub(crate) type Vote = openraft::Vote<NodeId>;
pub(crate) type Entry = openraft::Entry<TypeConfig>;
pub(crate) type Membership = openraft::StoredMembership<NodeId, openraft::EmptyNode>;
pub(crate) type SnapshotMeta = openraft::SnapshotMeta<NodeId, openraft::EmptyNode>;
pub(crate) type Raft = openraft::Raft<TypeConfig>;
pub(crate) type StorageError = openraft::StorageError<NodeId>;

/// Opaque bytes: a command in the log, or a state machine's response. Serialised as base64 so
/// JSON frames and records stay about 4/3 of the raw size (a JSON number array would be ~3.5x).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload(#[serde(with = "base64_bytes")] pub Vec<u8>);

impl fmt::Debug for Payload {
    // Commands can be large and binary: logs get their size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Payload({} bytes)", self.0.len())
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

/// `#[serde(with = "base64_bytes")]` for `Vec<u8>`: standard base64 with padding.
pub(crate) mod base64_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::de::Error as _;
    use serde::Deserialize;
    use serde::Deserializer;
    use serde::Serializer;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text.as_bytes()).map_err(D::Error::custom)
    }
}

/// A storage error for openraft, from any displayable cause.
pub(crate) fn storage_error(what: &str, cause: impl fmt::Display) -> StorageError {
    let any = openraft::AnyError::error(format!("{what}: {cause}"));
    openraft::StorageIOError::write(any).into()
}

/// A read-side storage error for openraft.
pub(crate) fn storage_read_error(what: &str, cause: impl fmt::Display) -> StorageError {
    let any = openraft::AnyError::error(format!("{what}: {cause}"));
    openraft::StorageIOError::read(any).into()
}
