//! The TCP transport: length-prefixed JSON frames, a small connection pool per peer, the
//! listener, and openraft's `RaftNetwork` on top (frame format in the crate docs).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use openraft::error::Fatal;
use openraft::error::NetworkError;
use openraft::error::PayloadTooLarge;
use openraft::error::RPCError;
use openraft::error::RaftError;
use openraft::error::RemoteError;
use openraft::error::ReplicationClosed;
use openraft::error::StreamingError;
use openraft::error::Timeout;
use openraft::error::Unreachable;
use openraft::network::Backoff;
use openraft::network::RPCOption;
use openraft::network::RaftNetwork;
use openraft::network::RaftNetworkFactory;
use openraft::raft::AppendEntriesRequest;
use openraft::raft::AppendEntriesResponse;
use openraft::raft::SnapshotResponse;
use openraft::raft::VoteRequest;
use openraft::raft::VoteResponse;
use openraft::EmptyNode;
use openraft::EntryPayload;
use openraft::RPCTypes;
use openraft::Snapshot;
use serde::Deserialize;
use serde::Serialize;
use tokio::io::AsyncRead;
use tokio::io::AsyncReadExt;
use tokio::io::AsyncWrite;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::sync::Semaphore;

use crate::types::base64_bytes;
use crate::types::Payload;
use crate::types::SnapshotMeta;
use crate::types::TypeConfig;
use crate::types::Vote;
use crate::Error;
use crate::Links;
use crate::NodeId;

/// The largest frame body accepted or sent; a larger length prefix closes the connection.
pub const MAX_FRAME_BYTES: usize = 64 << 20;
/// Inbound connections served at once; more are closed on accept.
const MAX_INBOUND_CONNECTIONS: usize = 64;
/// Concurrent Raft RPCs to one peer (openraft runs one replication stream per peer, plus votes
/// and snapshots).
const MAX_RAFT_RPCS_PER_PEER: usize = 4;
/// Concurrent forwarded proposals to one peer; a separate budget so proposals never starve votes
/// and heartbeats.
const MAX_FORWARDS_PER_PEER: usize = 16;
/// Idle connections kept per peer.
const MAX_IDLE_PER_PEER: usize = 8;
/// Once a frame's length has arrived, its body must follow within this.
const FRAME_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// One request frame: who sends it, to whom, and what.
#[derive(Serialize, Deserialize)]
pub(crate) struct Request {
    pub from: NodeId,
    pub to: NodeId,
    pub body: RequestBody,
}

#[derive(Serialize, Deserialize)]
pub(crate) enum RequestBody {
    AppendEntries(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    /// A whole snapshot in one frame (openraft's full-snapshot transfer).
    Snapshot {
        vote: Vote,
        meta: SnapshotMeta,
        #[serde(with = "base64_bytes")]
        data: Vec<u8>,
    },
    /// A proposal from a follower or learner to the leader; `timeout_ms` bounds the leader's wait.
    Forward {
        command: Payload,
        timeout_ms: u64,
    },
    /// A question for the application on the leader (see `Quorum::ask_leader`).
    Ask {
        request: Payload,
    },
}

#[derive(Serialize, Deserialize)]
pub(crate) enum ResponseBody {
    AppendEntries(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    Snapshot(Result<SnapshotResponse<NodeId>, Fatal<NodeId>>),
    Forward(ForwardReply),
    Ask(AskReply),
}

/// The leader's answer to an [`RequestBody::Ask`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum AskReply {
    Answered(Payload),
    NotLeader {
        leader: Option<NodeId>,
    },
    /// The application has not installed its handler (yet).
    NoHandler,
}

/// The leader's answer to a forwarded proposal.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ForwardReply {
    Applied {
        index: u64,
        response: Payload,
    },
    NotLeader {
        leader: Option<NodeId>,
    },
    /// Not committed in time; it may still commit.
    Timeout,
    /// The leader's Raft stopped while the proposal was pending.
    Stopped,
    Failed(String),
}

/// Reads one frame. `Ok(None)` is a clean close between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> crate::Result<Option<Vec<u8>>> {
    let mut header = [0u8; 4];
    let n = reader.read(&mut header).await?;
    if n == 0 {
        return Ok(None);
    }
    let rest = async {
        reader.read_exact(&mut header[n..]).await?;
        let len = u32::from_be_bytes(header) as usize;
        if len > MAX_FRAME_BYTES {
            return Err(Error::FrameTooLarge { len, max: MAX_FRAME_BYTES });
        }
        // Grow with the data rather than trusting the length for one big allocation.
        let mut body = Vec::with_capacity(len.min(64 << 10));
        (&mut *reader).take(len as u64).read_to_end(&mut body).await?;
        if body.len() < len {
            return Err(Error::Transport(format!("frame ended after {} of {len} bytes", body.len())));
        }
        Ok(body)
    };
    match tokio::time::timeout(FRAME_BODY_TIMEOUT, rest).await {
        Ok(body) => body.map(Some),
        Err(_) => Err(Error::Transport(format!("frame body did not arrive within {FRAME_BODY_TIMEOUT:?}"))),
    }
}

/// Writes one frame (the caller has checked the size).
pub(crate) async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, body: &[u8]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4 + body.len());
    buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
    buf.extend_from_slice(body);
    writer.write_all(&buf).await
}

/// Why an outbound call failed.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Nothing was sent: link cut, peer not running, connect failed, or no slot in time.
    Unreachable(String),
    /// Sent, but no answer in time: the request may or may not have taken effect.
    Timeout,
    /// Sent, but the connection broke or the answer was unreadable.
    Failed(String),
    /// The encoded request exceeds [`MAX_FRAME_BYTES`].
    TooLarge(usize),
}

/// The class of an outbound call, each with its own concurrency budget.
#[derive(Clone, Copy)]
pub(crate) enum Class {
    Raft,
    Forward,
}

struct Conn {
    addr: SocketAddr,
    stream: TcpStream,
}

impl Conn {
    /// An idle connection that has data or EOF waiting was closed or confused by the peer.
    fn looks_idle(&self) -> bool {
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

struct Peer {
    raft_slots: Semaphore,
    forward_slots: Semaphore,
    idle: Mutex<Vec<Conn>>,
}

impl Peer {
    fn take_idle(&self, addr: SocketAddr) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        // A peer that restarted elsewhere leaves connections to its old address behind.
        idle.retain(|c| c.addr == addr);
        while let Some(conn) = idle.pop() {
            if conn.looks_idle() {
                return Some(conn);
            }
        }
        None
    }

    fn put_idle(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_PER_PEER {
            idle.push(conn);
        }
    }

    fn drop_idle(&self) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Answers inbound requests (implemented by the node).
pub(crate) trait Handler: Send + Sync + 'static {
    fn handle(&self, from: NodeId, body: RequestBody) -> impl Future<Output = ResponseBody> + Send;
}

/// One node's side of the transport: outbound calls and the inbound listener.
pub(crate) struct Transport {
    pub(crate) id: NodeId,
    links: Arc<dyn Links>,
    /// The pause switch: while true, inbound requests and outbound calls are held.
    paused: watch::Sender<bool>,
    connect_timeout: Duration,
    backoff: Duration,
    peers: Mutex<HashMap<NodeId, Arc<Peer>>>,
}

impl Transport {
    pub(crate) fn new(id: NodeId, links: Arc<dyn Links>, connect_timeout: Duration, backoff: Duration) -> Self {
        Transport {
            id,
            links,
            paused: watch::channel(false).0,
            connect_timeout,
            backoff,
            peers: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    pub(crate) fn paused(&self) -> watch::Receiver<bool> {
        self.paused.subscribe()
    }

    /// Returns once the node is not paused.
    pub(crate) async fn wait_resumed(&self) {
        let mut rx = self.paused.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = rx.wait_for(|paused| !*paused).await;
    }

    fn peer(&self, id: NodeId) -> Arc<Peer> {
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        peers
            .entry(id)
            .or_insert_with(|| {
                Arc::new(Peer {
                    raft_slots: Semaphore::new(MAX_RAFT_RPCS_PER_PEER),
                    forward_slots: Semaphore::new(MAX_FORWARDS_PER_PEER),
                    idle: Mutex::new(Vec::new()),
                })
            })
            .clone()
    }

    /// Sends `body` to `to` and waits for the answer, all within `timeout`.
    pub(crate) async fn call(
        &self,
        to: NodeId,
        body: RequestBody,
        class: Class,
        timeout: Duration,
    ) -> Result<ResponseBody, CallError> {
        let request = Request { from: self.id, to, body };
        let bytes = serde_json::to_vec(&request).map_err(|e| CallError::Unreachable(format!("encode: {e}")))?;
        if bytes.len() > MAX_FRAME_BYTES {
            return Err(CallError::TooLarge(bytes.len()));
        }
        let sent = AtomicBool::new(false);
        match tokio::time::timeout(timeout, self.call_inner(to, &bytes, class, &sent)).await {
            Ok(result) => result,
            Err(_) if sent.load(Ordering::Relaxed) => Err(CallError::Timeout),
            Err(_) => Err(CallError::Unreachable(format!("could not send within {timeout:?}"))),
        }
    }

    async fn call_inner(
        &self,
        to: NodeId,
        bytes: &[u8],
        class: Class,
        sent: &AtomicBool,
    ) -> Result<ResponseBody, CallError> {
        self.wait_resumed().await;
        let peer = self.peer(to);
        if !self.links.reachable(self.id, to) {
            peer.drop_idle();
            return Err(CallError::Unreachable("link cut".into()));
        }
        let Some(addr) = self.links.address(to) else {
            peer.drop_idle();
            return Err(CallError::Unreachable("not running".into()));
        };
        let slots = match class {
            Class::Raft => &peer.raft_slots,
            Class::Forward => &peer.forward_slots,
        };
        let _slot = slots.acquire().await.map_err(|_| CallError::Unreachable("closing".into()))?;
        let mut conn = match peer.take_idle(addr) {
            Some(conn) => conn,
            None => self.connect(addr).await?,
        };
        sent.store(true, Ordering::Relaxed);
        write_frame(&mut conn.stream, bytes).await.map_err(|e| CallError::Failed(format!("send: {e}")))?;
        let frame = match read_frame(&mut conn.stream).await {
            Ok(Some(frame)) => frame,
            Ok(None) => return Err(CallError::Failed("connection closed before the answer".into())),
            Err(e) => return Err(CallError::Failed(format!("answer: {e}"))),
        };
        let response: ResponseBody =
            serde_json::from_slice(&frame).map_err(|e| CallError::Failed(format!("decode answer: {e}")))?;
        // A paused node does not see answers either.
        self.wait_resumed().await;
        if self.links.reachable(self.id, to) && self.links.reachable(to, self.id) {
            peer.put_idle(conn);
        }
        Ok(response)
    }

    async fn connect(&self, addr: SocketAddr) -> Result<Conn, CallError> {
        let stream = match tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(CallError::Unreachable(format!("connect {addr}: {e}"))),
            Err(_) => return Err(CallError::Unreachable(format!("connect {addr}: timed out"))),
        };
        let _ = stream.set_nodelay(true);
        Ok(Conn { addr, stream })
    }

    /// Accepts connections until `stop` turns true.
    pub(crate) async fn serve<H: Handler>(
        self: Arc<Self>,
        listener: TcpListener,
        handler: Arc<H>,
        mut stop: watch::Receiver<bool>,
    ) {
        let slots = Arc::new(Semaphore::new(MAX_INBOUND_CONNECTIONS));
        loop {
            let accepted = tokio::select! {
                _ = stop.wait_for(|stop| *stop) => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, remote)) => {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        tracing::warn!(%remote, "too many quorum connections; closing a new one");
                        continue;
                    };
                    let transport = self.clone();
                    let handler = handler.clone();
                    tokio::spawn(async move {
                        transport.serve_connection(stream, remote, handler).await;
                        drop(slot);
                    });
                }
                Err(e) => {
                    // E.g. out of file descriptors: do not spin.
                    tracing::warn!(error = %e, "quorum accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        tracing::debug!(node = self.id, "quorum listener closed");
    }

    async fn serve_connection<H: Handler>(&self, mut stream: TcpStream, remote: SocketAddr, handler: Arc<H>) {
        let _ = stream.set_nodelay(true);
        loop {
            let frame = match read_frame(&mut stream).await {
                Ok(Some(frame)) => frame,
                Ok(None) => return,
                Err(e) => {
                    tracing::debug!(%remote, error = %e, "closing a quorum connection: bad frame");
                    return;
                }
            };
            let request: Request = match serde_json::from_slice(&frame) {
                Ok(request) => request,
                Err(e) => {
                    tracing::debug!(%remote, error = %e, "closing a quorum connection: frame does not parse");
                    return;
                }
            };
            let from = request.from;
            if request.to != self.id {
                tracing::debug!(%remote, from, to = request.to, "closing a quorum connection meant for another node");
                return;
            }
            if !self.links.reachable(from, self.id) {
                tracing::debug!(from, "closing a quorum connection over a cut link");
                return;
            }
            self.wait_resumed().await;
            let response = handler.handle(from, request.body).await;
            self.wait_resumed().await;
            if !self.links.reachable(self.id, from) {
                tracing::debug!(from, "closing a quorum connection over a cut link");
                return;
            }
            let bytes = match serde_json::to_vec(&response) {
                Ok(bytes) if bytes.len() <= MAX_FRAME_BYTES => bytes,
                Ok(bytes) => {
                    tracing::warn!(from, len = bytes.len(), "quorum answer exceeds the frame limit");
                    return;
                }
                Err(e) => {
                    tracing::warn!(from, error = %e, "could not encode a quorum answer");
                    return;
                }
            };
            if let Err(e) = write_frame(&mut stream, &bytes).await {
                tracing::debug!(from, error = %e, "could not answer a quorum request");
                return;
            }
        }
    }
}

/// openraft's network factory: one [`PeerClient`] per target.
#[derive(Clone)]
pub(crate) struct Network {
    transport: Arc<Transport>,
}

impl Network {
    pub(crate) fn new(transport: Arc<Transport>) -> Self {
        Network { transport }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, _node: &EmptyNode) -> PeerClient {
        PeerClient { target, transport: self.transport.clone() }
    }
}

/// How many of `entries`, from the first, fit one frame by a generous estimate (base64 is 4/3 of
/// the bytes, plus JSON around each entry). At least one is always attempted.
fn entries_fitting_a_frame(entries: &[crate::types::Entry]) -> u64 {
    const PER_ENTRY_OVERHEAD_BYTES: usize = 512;
    let mut total = 1024;
    for (n, entry) in entries.iter().enumerate() {
        let payload = match &entry.payload {
            EntryPayload::Normal(command) => command.0.len(),
            _ => 0,
        };
        total += payload / 3 * 4 + 4 + PER_ENTRY_OVERHEAD_BYTES;
        if total > MAX_FRAME_BYTES && n > 0 {
            return n as u64;
        }
    }
    entries.len() as u64
}

/// Raft RPCs to one peer.
pub(crate) struct PeerClient {
    target: NodeId,
    transport: Arc<Transport>,
}

impl PeerClient {
    fn unreachable(&self, reason: String) -> Unreachable {
        Unreachable::new(&Error::Unreachable { node: self.target, reason })
    }

    fn rpc_error<E: std::error::Error>(
        &self,
        error: CallError,
        action: RPCTypes,
        timeout: Duration,
    ) -> RPCError<NodeId, EmptyNode, E> {
        tracing::debug!(target = self.target, ?action, ?error, "quorum RPC failed");
        match error {
            CallError::Timeout => {
                RPCError::Timeout(Timeout { action, id: self.transport.id, target: self.target, timeout })
            }
            // Broken connections count as unreachable too, so openraft backs off instead of
            // retrying at once against a peer that keeps closing on us.
            CallError::Unreachable(reason) | CallError::Failed(reason) => {
                RPCError::Unreachable(self.unreachable(reason))
            }
            CallError::TooLarge(len) => {
                RPCError::Unreachable(self.unreachable(format!("request of {len} bytes exceeds the frame limit")))
            }
        }
    }

    fn mismatch<E: std::error::Error>(&self) -> RPCError<NodeId, EmptyNode, E> {
        let e = Error::Transport(format!("node {} answered a different request", self.target));
        RPCError::Network(NetworkError::new(&e))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, EmptyNode, RaftError<NodeId>>> {
        let entries = rpc.entries.len() as u64;
        // Split oversized batches before encoding them: hundreds of large commands would
        // otherwise be serialised only to be refused.
        let fitting = entries_fitting_a_frame(&rpc.entries);
        if fitting < entries {
            return Err(RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(fitting.max(1))));
        }
        let timeout = option.hard_ttl();
        match self.transport.call(self.target, RequestBody::AppendEntries(rpc), Class::Raft, timeout).await {
            Ok(ResponseBody::AppendEntries(Ok(response))) => Ok(response),
            Ok(ResponseBody::AppendEntries(Err(e))) => Err(RPCError::RemoteError(RemoteError::new(self.target, e))),
            Ok(_) => Err(self.mismatch()),
            // Let openraft split the batch until it fits a frame.
            Err(CallError::TooLarge(_)) if entries > 1 => {
                Err(RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(entries / 2)))
            }
            Err(e) => Err(self.rpc_error(e, RPCTypes::AppendEntries, timeout)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, EmptyNode, RaftError<NodeId>>> {
        let timeout = option.hard_ttl();
        match self.transport.call(self.target, RequestBody::Vote(rpc), Class::Raft, timeout).await {
            Ok(ResponseBody::Vote(Ok(response))) => Ok(response),
            Ok(ResponseBody::Vote(Err(e))) => Err(RPCError::RemoteError(RemoteError::new(self.target, e))),
            Ok(_) => Err(self.mismatch()),
            Err(e) => Err(self.rpc_error(e, RPCTypes::Vote, timeout)),
        }
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot<TypeConfig>,
        cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<NodeId>, StreamingError<TypeConfig, Fatal<NodeId>>> {
        let timeout = option.hard_ttl();
        tracing::debug!(target = self.target, snapshot = %snapshot.meta, "sending a snapshot");
        let body = RequestBody::Snapshot { vote, meta: snapshot.meta, data: *snapshot.snapshot };
        let call = self.transport.call(self.target, body, Class::Raft, timeout);
        let result = tokio::select! {
            result = call => result,
            closed = cancel => return Err(StreamingError::Closed(closed)),
        };
        match result {
            Ok(ResponseBody::Snapshot(Ok(response))) => Ok(response),
            Ok(ResponseBody::Snapshot(Err(e))) => Err(StreamingError::RemoteError(RemoteError::new(self.target, e))),
            Ok(_) => {
                let e = Error::Transport(format!("node {} answered a different request", self.target));
                Err(StreamingError::Network(NetworkError::new(&e)))
            }
            Err(CallError::Timeout) => Err(StreamingError::Timeout(Timeout {
                action: RPCTypes::InstallSnapshot,
                id: self.transport.id,
                target: self.target,
                timeout,
            })),
            Err(CallError::Unreachable(reason) | CallError::Failed(reason)) => {
                Err(StreamingError::Unreachable(self.unreachable(reason)))
            }
            Err(CallError::TooLarge(len)) => {
                tracing::error!(target = self.target, len, "snapshot exceeds the frame limit; it cannot be sent");
                Err(StreamingError::Unreachable(
                    self.unreachable(format!("snapshot of {len} bytes exceeds the frame limit")),
                ))
            }
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(self.transport.backoff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Entry;
    use crate::types::LogId;
    use openraft::CommittedLeaderId;

    #[tokio::test]
    async fn frames_round_trip_and_bad_lengths_are_refused() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"{}").await.unwrap();
        let mut reader = &wire[..];
        assert_eq!(read_frame(&mut reader).await.unwrap(), Some(b"{}".to_vec()));
        assert_eq!(read_frame(&mut reader).await.unwrap(), None);

        let oversized = ((MAX_FRAME_BYTES + 1) as u32).to_be_bytes();
        let err = read_frame(&mut &oversized[..]).await.unwrap_err();
        assert!(matches!(err, Error::FrameTooLarge { .. }), "{err}");

        let short = [0, 0, 0, 9, b'x'];
        assert!(read_frame(&mut &short[..]).await.is_err());
        let half_header = [0, 0];
        assert!(read_frame(&mut &half_header[..]).await.is_err());
    }

    #[test]
    fn batches_of_large_entries_are_split_to_fit_a_frame() {
        let entry = |index, len| Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
            payload: EntryPayload::Normal(Payload(vec![0; len])),
        };
        let small: Vec<Entry> = (0..300).map(|i| entry(i, 100)).collect();
        assert_eq!(entries_fitting_a_frame(&small), 300);
        let large: Vec<Entry> = (0..10).map(|i| entry(i, 16 << 20)).collect();
        assert_eq!(entries_fitting_a_frame(&large), 2);
        assert_eq!(entries_fitting_a_frame(&large[..1]), 1);
    }
}
