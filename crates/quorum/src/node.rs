//! [`Quorum`]: one node, with its Raft, transport and background tasks on a runtime of its own.
//!
//! Each node runs on a dedicated tokio runtime so that [`Quorum::kill`] can end everything the
//! node does at once (tasks dropped mid-flight, sockets closed, files left as they are), the way
//! a crashed process would, while other nodes in the same process carry on.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use openraft::error::ClientWriteError;
use openraft::error::InitializeError;
use openraft::error::RaftError;
use openraft::EmptyNode;
use openraft::RaftMetrics;
use openraft::ServerState;
use openraft::Snapshot;
use openraft::SnapshotPolicy;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::machine::MachineStore;
use crate::storage::claim_dir;
use crate::storage::LogStore;
use crate::transport::CallError;
use crate::transport::Class;
use crate::transport::ForwardReply;
use crate::transport::Handler;
use crate::transport::Network;
use crate::transport::RequestBody;
use crate::transport::ResponseBody;
use crate::transport::Transport;
use crate::transport::MAX_FRAME_BYTES;
use crate::types::Payload;
use crate::types::Raft;
use crate::Error;
use crate::Links;
use crate::NodeId;
use crate::QuorumConfig;
use crate::QuorumStatus;
use crate::Result;
use crate::Role;
use crate::StateMachine;
use crate::MAX_COMMAND_BYTES;

/// Tries per proposal (each after a leader change or an unreachable leader).
const MAX_PROPOSE_ATTEMPTS: u32 = 10;
/// How long a graceful shutdown waits for Raft to stop.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// A forwarded proposal may not ask the leader to wait longer than this.
const MAX_FORWARD_WAIT: Duration = Duration::from_secs(60);

/// Shuts a runtime down without blocking (safe inside async code), also when dropped.
struct RuntimeGuard(Option<Runtime>);

impl RuntimeGuard {
    fn stop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for RuntimeGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A task that ends when its caller stops waiting for it (a dropped proposal stops retrying).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Clone, Copy)]
struct Timing {
    heartbeat: Duration,
    election_max: Duration,
    rpc: Duration,
    propose: Duration,
}

impl Timing {
    /// How long one attempt of a proposal waits before checking whether the leader moved on.
    fn hop(&self) -> Duration {
        self.rpc.max(self.election_max * 2)
    }
}

struct Inner {
    id: NodeId,
    raft: Raft,
    transport: Arc<Transport>,
    status_tx: Arc<watch::Sender<QuorumStatus>>,
    stop_tx: watch::Sender<bool>,
    listener_task: Mutex<Option<JoinHandle<()>>>,
    handle: tokio::runtime::Handle,
    timing: Timing,
    ask: AskSlot,
    // Last: dropping the runtime ends every task above.
    runtime: Mutex<RuntimeGuard>,
}

impl Inner {
    fn mark_shutdown(&self) {
        self.status_tx.send_if_modified(|status| {
            if status.role == Role::Shutdown {
                return false;
            }
            status.role = Role::Shutdown;
            status.leader = None;
            status.paused = false;
            true
        });
    }

    /// Reflects pause/resume in the status at once (the status task would follow shortly).
    fn set_status_paused(&self, paused: bool) {
        self.status_tx.send_if_modified(|status| {
            let changed = status.role != Role::Shutdown && status.paused != paused;
            if changed {
                status.paused = paused;
            }
            changed
        });
    }

    fn stop_runtime(&self) {
        self.runtime.lock().unwrap_or_else(|p| p.into_inner()).stop();
    }

    fn proposer(&self) -> Proposer {
        Proposer { id: self.id, raft: self.raft.clone(), transport: self.transport.clone(), timing: self.timing }
    }
}

/// A running quorum node; cheap to clone (all clones are the same node).
#[derive(Clone)]
pub struct Quorum {
    inner: Arc<Inner>,
}

/// What start-up builds on the node's runtime.
struct Parts {
    raft: Raft,
    transport: Arc<Transport>,
    status_tx: Arc<watch::Sender<QuorumStatus>>,
    stop_tx: watch::Sender<bool>,
    listener_task: JoinHandle<()>,
}

/// [`QuorumConfig`] without the listener.
struct Settings {
    node_id: NodeId,
    voters: BTreeSet<NodeId>,
    learners: BTreeSet<NodeId>,
    dir: PathBuf,
    heartbeat_interval_ms: u64,
    election_timeout_min_ms: u64,
    election_timeout_max_ms: u64,
    rpc_timeout_ms: u64,
    snapshot_after_entries: u64,
    timing: Timing,
}

fn validate(config: &QuorumConfig) -> Result<()> {
    let id = config.node_id;
    let problem = if config.voters.is_empty() {
        Some("voters is empty".to_string())
    } else if !config.voters.contains(&id) && !config.learners.contains(&id) {
        Some(format!("node {id} is neither a voter nor a learner"))
    } else if let Some(both) = config.voters.intersection(&config.learners).next() {
        Some(format!("node {both} is both a voter and a learner"))
    } else if config.heartbeat_interval_ms == 0 || config.election_timeout_min_ms <= config.heartbeat_interval_ms {
        Some("election_timeout_min_ms must exceed heartbeat_interval_ms (> 0)".to_string())
    } else if config.election_timeout_max_ms <= config.election_timeout_min_ms {
        Some("election_timeout_max_ms must exceed election_timeout_min_ms".to_string())
    } else if config.rpc_timeout_ms == 0 || config.propose_timeout_ms == 0 || config.snapshot_after_entries == 0 {
        Some("rpc_timeout_ms, propose_timeout_ms and snapshot_after_entries must be > 0".to_string())
    } else {
        None
    };
    match problem {
        Some(p) => Err(Error::Config(p)),
        None => Ok(()),
    }
}

impl Quorum {
    /// Starts a node: opens (or creates) its storage, starts Raft and the listener, and on a
    /// brand-new voter initialises the cluster with `voters` (openraft documents that every voter
    /// doing so with the same membership is safe; a restart never does it again).
    pub async fn start(
        config: QuorumConfig,
        state_machine: Box<dyn StateMachine>,
        links: Arc<dyn Links>,
    ) -> Result<Quorum> {
        validate(&config)?;
        let QuorumConfig {
            node_id,
            voters,
            learners,
            dir,
            listener,
            heartbeat_interval_ms,
            election_timeout_min_ms,
            election_timeout_max_ms,
            rpc_timeout_ms,
            snapshot_after_entries,
            propose_timeout_ms,
        } = config;
        let timing = Timing {
            heartbeat: Duration::from_millis(heartbeat_interval_ms),
            election_max: Duration::from_millis(election_timeout_max_ms),
            rpc: Duration::from_millis(rpc_timeout_ms),
            propose: Duration::from_millis(propose_timeout_ms),
        };
        let settings = Settings {
            node_id,
            voters,
            learners,
            dir,
            heartbeat_interval_ms,
            election_timeout_min_ms,
            election_timeout_max_ms,
            rpc_timeout_ms,
            snapshot_after_entries,
            timing,
        };

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(format!("quorum-{node_id}"))
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let mut guard = RuntimeGuard(Some(runtime));
        // Move the socket to the node's runtime: it must not depend on the caller's.
        let listener = listener.into_std()?;
        let ask: AskSlot = Arc::new(Mutex::new(None));
        let parts = match handle.spawn(setup(settings, listener, state_machine, links, ask.clone())).await {
            Ok(Ok(parts)) => parts,
            Ok(Err(e)) => {
                guard.stop();
                return Err(e);
            }
            Err(e) => {
                guard.stop();
                return Err(Error::Raft(format!("start-up of node {node_id} failed: {e}")));
            }
        };
        let inner = Inner {
            id: node_id,
            raft: parts.raft,
            transport: parts.transport,
            status_tx: parts.status_tx,
            stop_tx: parts.stop_tx,
            listener_task: Mutex::new(Some(parts.listener_task)),
            handle,
            timing,
            ask,
            runtime: Mutex::new(guard),
        };
        Ok(Quorum { inner: Arc::new(inner) })
    }

    /// Replicates `command` and returns the state machine's response once committed and applied
    /// on the leader. Any node can propose: followers and learners forward to the leader.
    pub async fn propose(&self, command: Vec<u8>) -> Result<Vec<u8>> {
        self.propose_indexed(command).await.map(|(_, response)| response)
    }

    /// Like [`Quorum::propose`], also returning the entry's log index, for
    /// [`Quorum::wait_applied`] on this node.
    pub async fn propose_indexed(&self, command: Vec<u8>) -> Result<(u64, Vec<u8>)> {
        if command.len() > MAX_COMMAND_BYTES {
            return Err(Error::CommandTooLarge { len: command.len(), max: MAX_COMMAND_BYTES });
        }
        if self.status().role == Role::Shutdown {
            return Err(Error::Shutdown);
        }
        // Runs on the node's runtime: forwarding uses the node's connections.
        let proposer = self.inner.proposer();
        let mut task = AbortOnDrop(self.inner.handle.spawn(async move { proposer.run(command).await }));
        match (&mut task.0).await {
            Ok(result) => result,
            Err(_) => Err(Error::Shutdown),
        }
    }

    /// Installs the handler that answers [`Quorum::ask_leader`] while this node leads.
    pub fn set_ask_handler(&self, handler: Arc<dyn crate::AskHandler>) {
        *self.inner.ask.lock().unwrap_or_else(|p| p.into_inner()) = Some(handler);
    }

    /// Sends `request` to the application's handler on the current leader (this node's own when
    /// it leads) and returns the answer. Follows leader changes a bounded number of times within
    /// the proposal timeout. Nothing is replicated: the leader's handler decides what to do.
    pub async fn ask_leader(&self, request: Vec<u8>) -> Result<Vec<u8>> {
        if request.len() > MAX_COMMAND_BYTES {
            return Err(Error::CommandTooLarge { len: request.len(), max: MAX_COMMAND_BYTES });
        }
        let proposer = self.inner.proposer();
        let ask = self.inner.ask.clone();
        let mut task = AbortOnDrop(self.inner.handle.spawn(async move { proposer.ask(request, ask).await }));
        match (&mut task.0).await {
            Ok(result) => result,
            Err(_) => Err(Error::Shutdown),
        }
    }

    /// Waits until this node has applied at least `index` (bounded by `timeout_ms`).
    pub async fn wait_applied(&self, index: u64, timeout_ms: u64) -> Result<()> {
        let mut rx = self.inner.status_tx.subscribe();
        let waited = tokio::time::timeout(
            Duration::from_millis(timeout_ms),
            rx.wait_for(|s| s.applied >= index || s.role == Role::Shutdown),
        )
        .await;
        match waited {
            Err(_) => Err(Error::Timeout { what: "waiting for the log to apply", timeout_ms }),
            Ok(Err(_)) => Err(Error::Shutdown),
            Ok(Ok(status)) if status.applied >= index => Ok(()),
            Ok(Ok(_)) => Err(Error::Shutdown),
        }
    }

    /// The node's current status.
    pub fn status(&self) -> QuorumStatus {
        self.inner.status_tx.borrow().clone()
    }

    /// Status changes: leader, term, role, log positions.
    pub fn watch_status(&self) -> watch::Receiver<QuorumStatus> {
        self.inner.status_tx.subscribe()
    }

    /// Freezes the node as if SIGSTOPped: inbound requests are held unanswered, outbound calls
    /// and proposals wait, and Raft's timers stop. Other nodes time out and elect a leader.
    pub fn pause(&self) {
        tracing::info!(node = self.inner.id, "pausing quorum node");
        self.inner.raft.runtime_config().tick(false);
        self.inner.transport.set_paused(true);
        self.inner.set_status_paused(true);
    }

    /// Undoes [`Quorum::pause`]; held requests proceed.
    pub fn resume(&self) {
        tracing::info!(node = self.inner.id, "resuming quorum node");
        self.inner.transport.set_paused(false);
        self.inner.raft.runtime_config().tick(true);
        self.inner.set_status_paused(false);
    }

    /// Graceful stop: Raft stops (everything it wrote is already fsynced), the listener closes,
    /// then the node's tasks end.
    pub async fn shutdown(self) -> Result<()> {
        let inner = &self.inner;
        tracing::info!(node = inner.id, "shutting down quorum node");
        inner.stop_tx.send_replace(true);
        // Held work must be able to finish rather than wait for a resume that never comes.
        inner.transport.set_paused(false);
        let stopped = tokio::time::timeout(SHUTDOWN_TIMEOUT, inner.raft.shutdown()).await;
        let listener_task = inner.listener_task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = listener_task {
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        inner.mark_shutdown();
        inner.stop_runtime();
        match stopped {
            Ok(_) => Ok(()),
            Err(_) => Err(Error::Timeout { what: "stopping raft", timeout_ms: SHUTDOWN_TIMEOUT.as_millis() as u64 }),
        }
    }

    /// Crash: no shutdown work at all. Tasks are dropped where they are, sockets close, files are
    /// left as they are; [`Quorum::start`] on the same directory recovers.
    pub fn kill(self) {
        tracing::info!(node = self.inner.id, "killing quorum node");
        self.inner.mark_shutdown();
        self.inner.stop_runtime();
    }
}

/// Builds the node on its own runtime.
async fn setup(
    settings: Settings,
    listener: std::net::TcpListener,
    state_machine: Box<dyn StateMachine>,
    links: Arc<dyn Links>,
    ask: AskSlot,
) -> Result<Parts> {
    let id = settings.node_id;
    claim_dir(&settings.dir, id)?;
    let committed_tx = Arc::new(watch::channel(0u64).0);
    let log = LogStore::open(&settings.dir, committed_tx.clone())?;
    let machine = MachineStore::open(&settings.dir, state_machine)?;
    let pristine = log.is_pristine() && !machine.has_snapshot();

    let timing = settings.timing;
    let transport = Arc::new(Transport::new(id, links, timing.rpc, timing.heartbeat.max(Duration::from_millis(50))));
    let raft_config = openraft::Config {
        cluster_name: "oxbow-quorum".into(),
        heartbeat_interval: settings.heartbeat_interval_ms,
        election_timeout_min: settings.election_timeout_min_ms,
        election_timeout_max: settings.election_timeout_max_ms,
        // One frame carries the whole snapshot; give it more than a plain RPC.
        install_snapshot_timeout: settings.rpc_timeout_ms.saturating_mul(10),
        snapshot_policy: SnapshotPolicy::LogsSinceLast(settings.snapshot_after_entries),
        // Purge everything a snapshot covers: files stay bounded, laggards get the snapshot.
        max_in_snapshot_log_to_keep: 0,
        purge_batch_size: 1,
        ..Default::default()
    }
    .validate()
    .map_err(|e| Error::Config(e.to_string()))?;

    let raft = Raft::new(id, Arc::new(raft_config), Network::new(transport.clone()), log, machine)
        .await
        .map_err(|e| Error::Raft(format!("starting raft: {e}")))?;

    let listener = TcpListener::from_std(listener)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let handler = Arc::new(NodeHandler { raft: raft.clone(), ask: ask.clone() });
    let listener_task = tokio::spawn(transport.clone().serve(listener, handler, stop_rx));

    if pristine && settings.voters.contains(&id) {
        match raft.initialize(settings.voters.clone()).await {
            Ok(()) => {
                tracing::info!(node = id, voters = ?settings.voters, "initialized a new quorum")
            }
            // A peer's vote or log reached us first: the cluster is forming without us.
            Err(RaftError::APIError(InitializeError::NotAllowed(e))) => {
                tracing::debug!(node = id, error = %e, "quorum already initialized")
            }
            Err(e) => return Err(Error::Raft(format!("initializing the quorum: {e}"))),
        }
    }

    let status = {
        let metrics = raft.metrics();
        let m = metrics.borrow();
        make_status(id, &m, *committed_tx.borrow(), false)
    };
    let status_tx = Arc::new(watch::channel(status).0);
    tokio::spawn(status_loop(id, raft.clone(), status_tx.clone(), committed_tx, transport.paused()));
    if settings.voters.contains(&id) && !settings.learners.is_empty() {
        tokio::spawn(learner_loop(id, raft.clone(), settings.learners.clone(), timing));
    }

    Ok(Parts { raft, transport, status_tx, stop_tx, listener_task })
}

fn make_status(id: NodeId, m: &RaftMetrics<NodeId, EmptyNode>, committed: u64, paused: bool) -> QuorumStatus {
    let membership = m.membership_config.membership();
    let applied = m.last_applied.map_or(0, |l| l.index);
    QuorumStatus {
        node_id: id,
        role: match m.state {
            ServerState::Leader => Role::Leader,
            ServerState::Follower => Role::Follower,
            ServerState::Candidate => Role::Candidate,
            ServerState::Learner => Role::Learner,
            ServerState::Shutdown => Role::Shutdown,
        },
        term: m.current_term,
        leader: m.current_leader,
        last_log_index: m.last_log_index.unwrap_or(0),
        // The stored committed index lags a restart until the leader speaks; applied implies it.
        committed: committed.max(applied),
        applied,
        voters: membership.voter_ids().collect(),
        learners: membership.learner_ids().collect(),
        snapshot_index: m.snapshot.map(|l| l.index),
        purged_index: m.purged.map(|l| l.index),
        paused,
    }
}

/// Keeps the public status in step with openraft's metrics, the committed index and the pause
/// switch.
async fn status_loop(
    id: NodeId,
    raft: Raft,
    status_tx: Arc<watch::Sender<QuorumStatus>>,
    committed_tx: Arc<watch::Sender<u64>>,
    mut paused_rx: watch::Receiver<bool>,
) {
    let mut metrics = raft.metrics();
    let mut committed_rx = committed_tx.subscribe();
    let mut last_leader = None;
    loop {
        let status = {
            let m = metrics.borrow_and_update();
            make_status(id, &m, *committed_rx.borrow_and_update(), *paused_rx.borrow_and_update())
        };
        if last_leader != Some(status.leader) {
            tracing::info!(node = id, leader = ?status.leader, term = status.term, role = ?status.role, "quorum leader changed");
            last_leader = Some(status.leader);
        }
        status_tx.send_if_modified(|current| {
            // Once stopped, stay stopped (kill races this task).
            if current.role == Role::Shutdown || *current == status {
                return false;
            }
            *current = status;
            true
        });
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() { break },
            changed = committed_rx.changed() => if changed.is_err() { break },
            changed = paused_rx.changed() => if changed.is_err() { break },
        }
    }
}

/// While this node leads, makes sure every configured learner is in the membership.
async fn learner_loop(id: NodeId, raft: Raft, learners: BTreeSet<NodeId>, timing: Timing) {
    let mut metrics = raft.metrics();
    loop {
        let missing: Vec<NodeId> = {
            let m = metrics.borrow_and_update();
            if m.state == ServerState::Leader {
                let membership = m.membership_config.membership();
                learners.iter().copied().filter(|l| membership.get_node(l).is_none()).collect()
            } else {
                Vec::new()
            }
        };
        for learner in missing {
            // Non-blocking add: returns once the membership entry commits, not when it caught up.
            match tokio::time::timeout(timing.hop(), raft.add_learner(learner, EmptyNode::new(), false)).await {
                Ok(Ok(response)) => {
                    tracing::info!(node = id, learner, index = response.log_id.index, "added a learner to the quorum")
                }
                Ok(Err(e)) => {
                    tracing::debug!(node = id, learner, error = %e, "could not add a learner yet")
                }
                Err(_) => tracing::debug!(node = id, learner, "adding a learner timed out"),
            }
        }
        // Re-check on changes, at most every heartbeat, and now and then anyway (retries).
        tokio::time::sleep(timing.heartbeat).await;
        tokio::select! {
            changed = metrics.changed() => if changed.is_err() { break },
            _ = tokio::time::sleep(timing.election_max) => {}
        }
    }
}

/// Answers the transport's inbound requests.
struct NodeHandler {
    raft: Raft,
    ask: AskSlot,
}

/// The application's ask handler, installed after start (it usually needs the running node).
type AskSlot = Arc<Mutex<Option<Arc<dyn crate::AskHandler>>>>;

fn installed(slot: &AskSlot) -> Option<Arc<dyn crate::AskHandler>> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Handler for NodeHandler {
    async fn handle(&self, from: NodeId, body: RequestBody) -> ResponseBody {
        match body {
            RequestBody::AppendEntries(request) => {
                tracing::debug!(from, entries = request.entries.len(), "append-entries");
                ResponseBody::AppendEntries(self.raft.append_entries(request).await)
            }
            RequestBody::Vote(request) => {
                tracing::debug!(from, vote = %request.vote, "vote request");
                ResponseBody::Vote(self.raft.vote(request).await)
            }
            RequestBody::Snapshot { vote, meta, data } => {
                tracing::debug!(from, snapshot = %meta, "snapshot");
                let snapshot = Snapshot { meta, snapshot: Box::new(data) };
                ResponseBody::Snapshot(self.raft.install_full_snapshot(vote, snapshot).await)
            }
            RequestBody::Forward { command, timeout_ms } => {
                tracing::debug!(from, bytes = command.0.len(), "forwarded proposal");
                let wait = Duration::from_millis(timeout_ms).min(MAX_FORWARD_WAIT);
                ResponseBody::Forward(write_here(&self.raft, command, Instant::now() + wait).await)
            }
            RequestBody::Ask { request } => {
                let m = self.raft.metrics().borrow().clone();
                if m.state != ServerState::Leader {
                    return ResponseBody::Ask(crate::transport::AskReply::NotLeader { leader: m.current_leader });
                }
                match installed(&self.ask) {
                    Some(handler) => {
                        ResponseBody::Ask(crate::transport::AskReply::Answered(Payload(handler.ask(request.0).await)))
                    }
                    None => ResponseBody::Ask(crate::transport::AskReply::NoHandler),
                }
            }
        }
    }
}

/// Proposes on this node's Raft (which must be the leader to accept it).
async fn write_here(raft: &Raft, command: Payload, until: Instant) -> ForwardReply {
    match tokio::time::timeout_at(until, raft.client_write(command)).await {
        Err(_) => ForwardReply::Timeout,
        Ok(Ok(response)) => ForwardReply::Applied { index: response.log_id.index, response: response.data },
        Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
            ForwardReply::NotLeader { leader: f.leader_id }
        }
        Ok(Err(RaftError::APIError(e))) => ForwardReply::Failed(e.to_string()),
        Ok(Err(RaftError::Fatal(_))) => ForwardReply::Stopped,
    }
}

/// The result of one attempt at a proposal.
enum Outcome {
    Applied(u64, Vec<u8>),
    /// Certainly not applied by this attempt: try again.
    Retry(Error),
    /// Maybe applied: only retry if leadership has moved on.
    Unknown(Error),
    Fatal(Error),
}

/// Drives one proposal to the leader, following leader changes.
struct Proposer {
    id: NodeId,
    raft: Raft,
    transport: Arc<Transport>,
    timing: Timing,
}

impl Proposer {
    /// One question to the leader's ask handler, following leader changes.
    async fn ask(&self, request: Vec<u8>, local: AskSlot) -> Result<Vec<u8>> {
        let deadline = Instant::now() + self.timing.propose;
        let timeout_ms = self.timing.propose.as_millis() as u64;
        if tokio::time::timeout_at(deadline, self.transport.wait_resumed()).await.is_err() {
            return Err(Error::Timeout { what: "question from a paused node", timeout_ms });
        }
        let request = Payload(request);
        let mut last_error = None;
        for attempt in 0..MAX_PROPOSE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep_until(deadline.min(Instant::now() + self.timing.heartbeat)).await;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let leader = self.wait_for_leader(deadline.min(now + self.timing.election_max * 2)).await?;
            if leader == self.id {
                match installed(&local) {
                    Some(handler) => return Ok(handler.ask(request.0).await),
                    None => {
                        last_error = Some(Error::Raft("no ask handler installed on the leader".into()));
                        continue;
                    }
                }
            }
            let remaining = deadline.min(now + self.timing.hop()).saturating_duration_since(now);
            match self
                .transport
                .call(leader, RequestBody::Ask { request: request.clone() }, Class::Forward, remaining)
                .await
            {
                Ok(ResponseBody::Ask(crate::transport::AskReply::Answered(answer))) => return Ok(answer.0),
                Ok(ResponseBody::Ask(crate::transport::AskReply::NotLeader { leader: known })) => {
                    last_error = Some(Error::NotLeader { node: leader, leader: known });
                }
                Ok(ResponseBody::Ask(crate::transport::AskReply::NoHandler)) => {
                    last_error = Some(Error::Raft(format!("node {leader} has no ask handler installed")));
                }
                Ok(_) => {
                    last_error =
                        Some(Error::Transport(format!("node {leader} answered a question with something else")))
                }
                Err(e) => last_error = Some(Error::Unreachable { node: leader, reason: format!("{e:?}") }),
            }
        }
        Err(last_error.unwrap_or(Error::Timeout { what: "question to the leader", timeout_ms }))
    }

    async fn run(&self, command: Vec<u8>) -> Result<(u64, Vec<u8>)> {
        let timeout_ms = self.timing.propose.as_millis() as u64;
        let deadline = Instant::now() + self.timing.propose;
        if tokio::time::timeout_at(deadline, self.transport.wait_resumed()).await.is_err() {
            return Err(Error::Timeout { what: "proposal on a paused node", timeout_ms });
        }
        let command = Payload(command);
        let mut last_error = None;
        for attempt in 0..MAX_PROPOSE_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep_until(deadline.min(Instant::now() + self.timing.heartbeat)).await;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let leader = self.wait_for_leader(deadline.min(now + self.timing.election_max * 2)).await?;
            let hop_deadline = deadline.min(now + self.timing.hop());
            let outcome = if leader == self.id {
                let reply = write_here(&self.raft, command.clone(), hop_deadline).await;
                local_outcome(self.id, reply, hop_deadline.saturating_duration_since(now))
            } else {
                self.forward(leader, &command, hop_deadline).await
            };
            match outcome {
                Outcome::Applied(index, response) => return Ok((index, response)),
                Outcome::Retry(e) => {
                    tracing::debug!(node = self.id, attempt, error = %e, "retrying a proposal");
                    last_error = Some(e);
                }
                Outcome::Unknown(e) => {
                    // The entry may have committed under `leader`; only a new leader makes a retry
                    // worth its risk of applying it twice.
                    if self.raft.metrics().borrow().current_leader == Some(leader) {
                        return Err(e);
                    }
                    tracing::debug!(node = self.id, attempt, error = %e, "leader changed; retrying a proposal");
                    last_error = Some(e);
                }
                Outcome::Fatal(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or(Error::Timeout { what: "proposal", timeout_ms }))
    }

    /// The leader this node knows of (itself only once it really leads).
    async fn wait_for_leader(&self, until: Instant) -> Result<NodeId> {
        let started = Instant::now();
        let mut metrics = self.raft.metrics();
        loop {
            {
                let m = metrics.borrow_and_update();
                if m.running_state.is_err() || m.state == ServerState::Shutdown {
                    return Err(Error::Shutdown);
                }
                match m.current_leader {
                    Some(leader) if leader != self.id || m.state == ServerState::Leader => return Ok(leader),
                    _ => {}
                }
            }
            match tokio::time::timeout_at(until, metrics.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Error::Shutdown),
                Err(_) => return Err(Error::NoLeader { waited_ms: started.elapsed().as_millis() as u64 }),
            }
        }
    }

    async fn forward(&self, leader: NodeId, command: &Payload, until: Instant) -> Outcome {
        let remaining = until.saturating_duration_since(Instant::now());
        // The leader gives up a little earlier than we do, so its answer still reaches us.
        let leader_wait_ms = (remaining * 3 / 4).as_millis() as u64;
        let body = RequestBody::Forward { command: command.clone(), timeout_ms: leader_wait_ms };
        let timeout_ms = remaining.as_millis() as u64;
        match self.transport.call(leader, body, Class::Forward, remaining).await {
            Ok(ResponseBody::Forward(reply)) => match reply {
                ForwardReply::Applied { index, response } => Outcome::Applied(index, response.0),
                ForwardReply::NotLeader { leader: known } => {
                    Outcome::Retry(Error::NotLeader { node: leader, leader: known })
                }
                ForwardReply::Timeout => {
                    Outcome::Unknown(Error::Timeout { what: "proposal on the leader", timeout_ms: leader_wait_ms })
                }
                ForwardReply::Stopped => {
                    Outcome::Unknown(Error::Unreachable { node: leader, reason: "the leader stopped".into() })
                }
                ForwardReply::Failed(message) => Outcome::Fatal(Error::Raft(message)),
            },
            Ok(_) => Outcome::Unknown(Error::Transport(format!("node {leader} answered a different request"))),
            Err(CallError::Unreachable(reason)) => Outcome::Retry(Error::Unreachable { node: leader, reason }),
            Err(CallError::Timeout) => Outcome::Unknown(Error::Timeout { what: "forwarded proposal", timeout_ms }),
            Err(CallError::Failed(reason)) => Outcome::Unknown(Error::Unreachable { node: leader, reason }),
            Err(CallError::TooLarge(len)) => Outcome::Fatal(Error::FrameTooLarge { len, max: MAX_FRAME_BYTES }),
        }
    }
}

/// Reads a local write's reply as an attempt's outcome.
fn local_outcome(id: NodeId, reply: ForwardReply, waited: Duration) -> Outcome {
    match reply {
        ForwardReply::Applied { index, response } => Outcome::Applied(index, response.0),
        ForwardReply::NotLeader { leader } => Outcome::Retry(Error::NotLeader { node: id, leader }),
        ForwardReply::Timeout => {
            Outcome::Unknown(Error::Timeout { what: "proposal on the leader", timeout_ms: waited.as_millis() as u64 })
        }
        ForwardReply::Stopped => Outcome::Fatal(Error::Shutdown),
        ForwardReply::Failed(message) => Outcome::Fatal(Error::Raft(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Callers spawn these futures on multi-threaded runtimes.
    #[allow(dead_code)]
    fn public_futures_are_send(q: &Quorum) {
        fn send<T: Send>(_: T) {}
        send(q.propose(Vec::new()));
        send(q.propose_indexed(Vec::new()));
        send(q.wait_applied(0, 0));
        send(q.clone().shutdown());
    }

    #[test]
    fn quorum_handle_is_send_and_sync() {
        fn send_sync<T: Send + Sync + Clone + 'static>() {}
        send_sync::<Quorum>();
    }
}
