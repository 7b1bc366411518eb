//! `oxbow-quorum`: a small, generic replicated state machine for the controller quorum.
//!
//! KRaft keeps cluster metadata in a replicated log: a few *voters* run Raft over it and every
//! other broker follows it as a *learner*. This crate is that log, on [`openraft`] 0.9 (the stable
//! line), with its own TCP transport, its own on-disk storage in one directory per node, and fault
//! hooks (pause, kill, cut links) so a cluster running in one process can be tortured in tests.
//! Commands, responses and snapshots are opaque bytes: the caller's [`StateMachine`] gives them
//! meaning.
//!
//! What it deliberately does **not** do:
//! - know anything about Kafka (the broker serialises its metadata records into commands);
//! - change the voter set after the first start (learners are added, voters are fixed);
//! - deduplicate commands: a proposal whose leader fails after committing it but before answering
//!   is retried on the next leader, so a command may apply twice (make commands idempotent or
//!   carry an id, as Raft clients must);
//! - linearizable reads (read your writes with [`Quorum::wait_applied`] instead);
//! - stream snapshots in chunks: a snapshot travels as one frame, so it must encode below
//!   [`MAX_FRAME_BYTES`] (about 48 MiB of state);
//! - encryption or authentication on the transport (loopback, trusted peers).
//!
//! # Storage (`QuorumConfig::dir`)
//! | file | format | written |
//! | --- | --- | --- |
//! | `node_id` | decimal node id | once; a directory belongs to one node |
//! | `vote.json` | JSON of openraft's `Vote` | `vote.json.tmp` + fsync, rename, fsync the directory |
//! | `committed.json` | JSON of `Option<LogId>` | tmp + rename, no fsync: it is only a hint of how much of the log to re-apply at start-up |
//! | `log` | records: `u32` BE body length, `u32` BE CRC-32C of the body, JSON body | appended and fsynced before openraft is told the entries are flushed |
//! | `snapshot` | `u32` BE meta length, `u32` BE CRC-32C of meta + data, meta JSON (`SnapshotMeta`), the state machine's bytes | `snapshot.tmp` + fsync, rename, fsync the directory |
//!
//! A log record body is `{"Entry": <openraft Entry>}` or `{"Purged": <LogId>}`; the latter is
//! always the first record after a purge, which rewrites the file (tmp + rename) without the purged
//! entries, so the file stays bounded by the snapshot policy. Commands inside entries are base64
//! strings. At start-up the log is read up to the first record that is short, fails its CRC or
//! does not parse (the torn tail of a crash) and the file is cut there; the committed index is
//! clamped to what survived. The snapshot is restored into the state machine, and openraft
//! re-applies the log from the snapshot up to the committed index. A leftover `*.tmp` is an
//! interrupted write and is ignored. A follower whose log lost acknowledged entries (a cut file,
//! a wiped directory) is tolerated by the leader (openraft's `loosen-follower-log-revert`) and
//! simply receives them again; that is safe only while a majority still holds them.
//!
//! # Runtime
//! Each node runs on its own two-thread tokio runtime so that [`Quorum::kill`] can drop all of its
//! work at once, like a crashed process, while other nodes in the process carry on. The public
//! methods may be called from any tokio runtime.
//!
//! # Transport
//! Frames on the caller's listener: a `u32` big-endian length, then a JSON body of at most
//! [`MAX_FRAME_BYTES`]. JSON (serde_json, already a workspace dependency) because openraft's
//! message types derive serde and JSON keeps frames debuggable; opaque bytes inside are base64 to
//! keep it compact. A request names its sender and target (`from`, `to`); the receiver checks
//! [`Links::reachable`] for both directions and drops the connection when the link is cut. One
//! request is in flight per connection (request, answer, request, ...), so a timed-out connection
//! is simply dropped and never yields a stale answer. A bad length, a body that does not parse or
//! a wrong target closes that connection only.

mod machine;
mod node;
mod storage;
mod transport;
mod types;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

pub use node::Quorum;
pub use transport::MAX_FRAME_BYTES;

/// A node's id in the quorum (voters and learners share one id space).
pub type NodeId = u64;

/// The largest command [`Quorum::propose`] accepts; bigger ones fail with
/// [`Error::CommandTooLarge`] (an entry must fit one transport frame once base64-encoded).
pub const MAX_COMMAND_BYTES: usize = 16 << 20;

/// The replicated state: applied in log order on every node, deterministically.
pub trait StateMachine: Send + 'static {
    /// Applies one committed command (called once per committed entry, in order; `index` is the
    /// Raft log index). Returns response bytes, handed back to whoever proposed it.
    fn apply(&mut self, index: u64, command: &[u8]) -> Vec<u8>;
    /// The whole state as bytes (for snapshots).
    fn snapshot(&self) -> Vec<u8>;
    /// Replaces the state with a snapshot's (on start-up from the local snapshot, or one received
    /// from the leader).
    fn restore(&mut self, snapshot: &[u8]) -> std::result::Result<(), String>;
}

/// Answers [`Quorum::ask_leader`] questions on the leader: the application's side channel to
/// whichever node leads (KRaft brokers send their heartbeats to the active controller this way).
/// Questions and answers are opaque bytes; nothing is replicated.
pub trait AskHandler: Send + Sync + 'static {
    fn ask(&self, request: Vec<u8>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u8>> + Send>>;
}

/// How nodes find and reach each other: supplied by the caller (the cluster owner), consulted on
/// every connect / RPC.
pub trait Links: Send + Sync + 'static {
    /// Where `to`'s quorum listener is now; None = not running (RPC fails fast as unreachable).
    fn address(&self, to: NodeId) -> Option<SocketAddr>;
    /// Whether traffic from `from` to `to` may pass now. false = a cut link (a network partition
    /// injected by the user): RPCs fail fast as unreachable and any open connection between the two
    /// is dropped.
    fn reachable(&self, from: NodeId, to: NodeId) -> bool;
}

/// How to start one node. Build it with [`QuorumConfig::new`] and adjust the public fields.
pub struct QuorumConfig {
    pub node_id: NodeId,
    /// The controller quorum; fixed at first start.
    pub voters: BTreeSet<NodeId>,
    /// Nodes that follow the log without voting (brokers that are not controllers).
    pub learners: BTreeSet<NodeId>,
    /// This node's storage directory (created if absent).
    pub dir: PathBuf,
    /// Already bound by the caller, so its address is known before start.
    pub listener: tokio::net::TcpListener,
    pub heartbeat_interval_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// Connect timeout and the unit for other transport bounds (a snapshot gets 10 of them).
    pub rpc_timeout_ms: u64,
    /// Snapshot and purge the log after this many entries.
    pub snapshot_after_entries: u64,
    /// Upper bound on one [`Quorum::propose`], retries included.
    pub propose_timeout_ms: u64,
}

impl QuorumConfig {
    /// A config with the default timings: heartbeat 100 ms, election timeout 400..800 ms, RPC
    /// timeout 1 s, snapshot every 1000 entries, proposals bounded by 5 s.
    pub fn new(
        node_id: NodeId,
        voters: BTreeSet<NodeId>,
        learners: BTreeSet<NodeId>,
        dir: impl Into<PathBuf>,
        listener: tokio::net::TcpListener,
    ) -> Self {
        QuorumConfig {
            node_id,
            voters,
            learners,
            dir: dir.into(),
            listener,
            heartbeat_interval_ms: 100,
            election_timeout_min_ms: 400,
            election_timeout_max_ms: 800,
            rpc_timeout_ms: 1000,
            snapshot_after_entries: 1000,
            propose_timeout_ms: 5000,
        }
    }
}

/// A node's part in the quorum, as openraft reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    Learner,
    Shutdown,
}

/// A point-in-time view of one node. Log positions are Raft log indexes; 0 also stands for
/// "nothing yet" (index 0 is the initial membership entry, commands start above it).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct QuorumStatus {
    pub node_id: NodeId,
    pub role: Role,
    pub term: u64,
    pub leader: Option<NodeId>,
    pub last_log_index: u64,
    pub committed: u64,
    pub applied: u64,
    pub voters: Vec<NodeId>,
    pub learners: Vec<NodeId>,
    /// The last index covered by the local snapshot, if there is one.
    pub snapshot_index: Option<u64>,
    /// The last index purged from the local log, if any.
    pub purged_index: Option<u64>,
    /// Whether [`Quorum::pause`] is in effect.
    pub paused: bool,
}

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid quorum config: {0}")]
    Config(String),
    #[error("quorum storage: {0}")]
    Storage(String),
    #[error("quorum I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("no quorum leader known after waiting {waited_ms} ms")]
    NoLeader { waited_ms: u64 },
    #[error("{what} timed out after {timeout_ms} ms")]
    Timeout { what: &'static str, timeout_ms: u64 },
    #[error("node {node} is unreachable: {reason}")]
    Unreachable { node: NodeId, reason: String },
    #[error("node {node} is not the leader (leader: {leader:?})")]
    NotLeader { node: NodeId, leader: Option<NodeId> },
    #[error("command of {len} bytes exceeds the {max} byte limit")]
    CommandTooLarge { len: usize, max: usize },
    #[error("frame of {len} bytes exceeds the {max} byte limit")]
    FrameTooLarge { len: usize, max: usize },
    #[error("quorum transport: {0}")]
    Transport(String),
    #[error("raft: {0}")]
    Raft(String),
    #[error("the quorum node is shut down")]
    Shutdown,
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
