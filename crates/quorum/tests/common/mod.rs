//! A test cluster: real TCP on 127.0.0.1, one temp directory per node, a [`Links`] the test can
//! cut, and an append-only list of strings as the state machine.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::collections::HashMap;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use oxbow_quorum::Links;
use oxbow_quorum::NodeId;
use oxbow_quorum::Quorum;
use oxbow_quorum::QuorumConfig;
use oxbow_quorum::QuorumStatus;
use oxbow_quorum::Role;
use oxbow_quorum::StateMachine;
use tempfile::TempDir;
use tokio::time::Instant;

/// Generous bound for anything a healthy cluster does "soon" (elections, catch-up).
pub const WAIT: Duration = Duration::from_secs(15);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Addresses by node, and the set of cut (from, to) links.
#[derive(Default)]
pub struct TestLinks {
    addrs: Mutex<HashMap<NodeId, SocketAddr>>,
    cut: Mutex<HashSet<(NodeId, NodeId)>>,
}

impl TestLinks {
    pub fn set_address(&self, id: NodeId, addr: Option<SocketAddr>) {
        let mut addrs = self.addrs.lock().unwrap();
        match addr {
            Some(a) => addrs.insert(id, a),
            None => addrs.remove(&id),
        };
    }

    /// Cuts both directions between `a` and `b`.
    pub fn cut(&self, a: NodeId, b: NodeId) {
        let mut cut = self.cut.lock().unwrap();
        cut.insert((a, b));
        cut.insert((b, a));
    }

    pub fn heal(&self, a: NodeId, b: NodeId) {
        let mut cut = self.cut.lock().unwrap();
        cut.remove(&(a, b));
        cut.remove(&(b, a));
    }
}

impl Links for TestLinks {
    fn address(&self, to: NodeId) -> Option<SocketAddr> {
        self.addrs.lock().unwrap().get(&to).copied()
    }

    fn reachable(&self, from: NodeId, to: NodeId) -> bool {
        !self.cut.lock().unwrap().contains(&(from, to))
    }
}

/// Appends each command as a string; the response is the new length in decimal.
pub struct ListMachine {
    items: Arc<Mutex<Vec<String>>>,
}

impl StateMachine for ListMachine {
    fn apply(&mut self, _index: u64, command: &[u8]) -> Vec<u8> {
        let mut items = self.items.lock().unwrap();
        items.push(String::from_utf8_lossy(command).into_owned());
        items.len().to_string().into_bytes()
    }

    fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(&*self.items.lock().unwrap()).unwrap()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        let items: Vec<String> = serde_json::from_slice(snapshot).map_err(|e| e.to_string())?;
        *self.items.lock().unwrap() = items;
        Ok(())
    }
}

pub struct TestNode {
    pub quorum: Quorum,
    pub items: Arc<Mutex<Vec<String>>>,
    pub addr: SocketAddr,
}

pub struct Cluster {
    pub links: Arc<TestLinks>,
    root: TempDir,
    pub voters: BTreeSet<NodeId>,
    pub learners: BTreeSet<NodeId>,
    pub nodes: BTreeMap<NodeId, TestNode>,
    /// Applied to each node's config at every (re)start.
    pub tweak: fn(&mut QuorumConfig),
}

impl Cluster {
    pub async fn start(voters: &[NodeId], learners: &[NodeId]) -> Cluster {
        Cluster::start_with(voters, learners, |_| {}).await
    }

    /// Starts every node, with `tweak` applied to each node's config.
    pub async fn start_with(voters: &[NodeId], learners: &[NodeId], tweak: fn(&mut QuorumConfig)) -> Cluster {
        init_tracing();
        let mut cluster = Cluster {
            links: Arc::new(TestLinks::default()),
            root: tempfile::tempdir().unwrap(),
            voters: voters.iter().copied().collect(),
            learners: learners.iter().copied().collect(),
            nodes: BTreeMap::new(),
            tweak,
        };
        for &id in voters.iter().chain(learners) {
            cluster.start_node(id).await;
        }
        cluster
    }

    pub fn dir(&self, id: NodeId) -> PathBuf {
        self.root.path().join(format!("node-{id}"))
    }

    /// Starts (or restarts) `id` from its directory on a fresh port.
    pub async fn start_node(&mut self, id: NodeId) {
        assert!(!self.nodes.contains_key(&id), "node {id} is already running");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = QuorumConfig::new(id, self.voters.clone(), self.learners.clone(), self.dir(id), listener);
        (self.tweak)(&mut config);
        let items = Arc::new(Mutex::new(Vec::new()));
        let machine = Box::new(ListMachine { items: items.clone() });
        let quorum = Quorum::start(config, machine, self.links.clone()).await.unwrap();
        self.links.set_address(id, Some(addr));
        self.nodes.insert(id, TestNode { quorum, items, addr });
    }

    pub fn kill(&mut self, id: NodeId) {
        let node = self.nodes.remove(&id).expect("node is running");
        self.links.set_address(id, None);
        node.quorum.kill();
    }

    pub async fn shutdown(&mut self, id: NodeId) {
        let node = self.nodes.remove(&id).expect("node is running");
        self.links.set_address(id, None);
        node.quorum.shutdown().await.unwrap();
    }

    pub async fn shutdown_all(mut self) {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            self.shutdown(id).await;
        }
    }

    pub fn quorum(&self, id: NodeId) -> &Quorum {
        &self.nodes[&id].quorum
    }

    pub fn status(&self, id: NodeId) -> QuorumStatus {
        self.quorum(id).status()
    }

    pub fn items(&self, id: NodeId) -> Vec<String> {
        self.nodes[&id].items.lock().unwrap().clone()
    }

    fn describe(&self) -> String {
        self.nodes
            .iter()
            .map(|(id, n)| format!("  node {id}: {:?} items={}", n.quorum.status(), n.items.lock().unwrap().len()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Polls `ready` until it holds; panics with every node's status after [`WAIT`].
    pub async fn wait_until(&self, what: &str, ready: impl Fn(&Cluster) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !ready(self) {
            if Instant::now() > deadline {
                panic!("not within {WAIT:?}: {what}\n{}", self.describe());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The leader that every node in `among` agrees on (one of them leads).
    pub fn agreed_leader(&self, among: &[NodeId]) -> Option<NodeId> {
        let leader = among.iter().find(|&&id| self.status(id).role == Role::Leader).copied()?;
        among.iter().all(|&id| self.status(id).leader == Some(leader)).then_some(leader)
    }

    pub async fn wait_leader(&self, among: &[NodeId]) -> NodeId {
        self.wait_until(&format!("one leader agreed by {among:?}"), |c| c.agreed_leader(among).is_some()).await;
        self.agreed_leader(among).unwrap()
    }

    /// Proposes via `via`, retrying failures (no leader yet, leader lost) for up to [`WAIT`].
    pub async fn propose(&self, via: NodeId, command: &str) -> (u64, usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.quorum(via).propose_indexed(command.as_bytes().to_vec()).await {
                Ok((index, response)) => {
                    let len = String::from_utf8(response).unwrap().parse().unwrap();
                    return (index, len);
                }
                Err(e) if Instant::now() < deadline => {
                    eprintln!("proposal {command:?} via {via} failed, retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("proposal {command:?} via {via} failed: {e}\n{}", self.describe()),
            }
        }
    }

    /// Waits until all of `ids` hold the same items, at least `min_len` of them.
    pub async fn wait_converged(&self, ids: &[NodeId], min_len: usize) -> Vec<String> {
        self.wait_until(&format!("{ids:?} hold the same {min_len}+ items"), |c| {
            let first = c.items(ids[0]);
            first.len() >= min_len && ids.iter().all(|&id| c.items(id) == first)
        })
        .await;
        self.items(ids[0])
    }
}

/// Asserts that `expected` occur in `items` in this order.
pub fn assert_in_order(items: &[String], expected: &[&str]) {
    let positions: Vec<usize> = expected
        .iter()
        .map(|e| items.iter().position(|i| i == e).unwrap_or_else(|| panic!("{e:?} missing from {items:?}")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{expected:?} out of order in {items:?}");
}
