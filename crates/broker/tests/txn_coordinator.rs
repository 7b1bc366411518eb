//! The transaction coordinator over the Kafka protocol, as a transactional producer drives it:
//! FindCoordinator, InitProducerId, AddPartitionsToTxn, transactional Produce (verified by the
//! coordinator, in process or from another broker), EndTxn, then what consumers see at
//! read_committed and read_uncommitted. Also fencing, the timeout abort, InitProducerId's
//! timeout check, a restart of the only broker, and the coordinator failing over on a
//! three-broker cluster in the middle of a transaction and in the middle of its commit.

mod common;

use common::*;
use kafka_protocol::messages::*;
use kafka_protocol::records::RecordBatchDecoder;
use oxbow_broker::{Broker, BrokerConfig, Cluster, ClusterConfig, FaultAction};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const READ_UNCOMMITTED: i8 = 0;
const READ_COMMITTED: i8 = 1;
const WAIT: Duration = Duration::from_secs(60);

const NONE: i16 = 0;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_TXN_STATE: i16 = 48;
const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
const CONCURRENT_TRANSACTIONS: i16 = 51;
const PRODUCER_FENCED: i16 = 90;
/// Answers a client retries on (Kafka's clients do the same).
const RETRIABLE: [i16; 6] = [
    14, // COORDINATOR_LOAD_IN_PROGRESS
    15, // COORDINATOR_NOT_AVAILABLE
    16, // NOT_COORDINATOR
    CONCURRENT_TRANSACTIONS,
    6,  // NOT_LEADER_OR_FOLLOWER
    19, // NOT_ENOUGH_REPLICAS
];

fn config(dir: &std::path::Path) -> BrokerConfig {
    BrokerConfig {
        port: 0,
        data_dir: dir.to_path_buf(),
        transaction_state_log_num_partitions: 3,
        transaction_abort_timed_out_transaction_cleanup_interval_ms: 200,
        offsets_commit_timeout_ms: 20_000,
        ..Default::default()
    }
}

/// Evaluates `$attempt` (an `(i16, T)`, awaited inside) again while its code is retriable, up
/// to [`WAIT`]; the last answer.
macro_rules! retry {
    ($attempt:expr) => {{
        let deadline = Instant::now() + WAIT;
        loop {
            let answer = $attempt;
            if !RETRIABLE.contains(&answer.0) || Instant::now() > deadline {
                break answer;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }};
}

/// Evaluates `$check` (an `Option`, awaited inside) until it is `Some`, up to [`WAIT`].
macro_rules! eventually {
    ($what:expr, $check:expr) => {{
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = $check {
                break v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {}", $what);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }};
}

/// FindCoordinator v3 for a transactional id: (code, node id).
async fn find_coordinator(addr: SocketAddr, tid: &str) -> (i16, i32) {
    let Ok(stream) = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await else {
        return (15, -1);
    };
    let Ok(stream) = stream else { return (15, -1) };
    drop(stream);
    let mut c = Conn::new(addr).await;
    let mut r = FindCoordinatorRequest::default();
    r.key = s(tid);
    r.key_type = 1;
    let ResponseKind::FindCoordinator(resp) = c.call(RequestKind::FindCoordinator(r), ApiKey::FindCoordinator, 3).await
    else {
        panic!()
    };
    (resp.error_code, resp.node_id.0)
}

async fn init_producer_id(c: &mut Conn, tid: &str, timeout_ms: i32, version: i16) -> (i16, (i64, i16)) {
    let mut r = InitProducerIdRequest::default();
    r.transactional_id = Some(TransactionalId(s(tid)));
    r.transaction_timeout_ms = timeout_ms;
    r.producer_id = ProducerId(-1);
    r.producer_epoch = -1;
    let ResponseKind::InitProducerId(resp) =
        c.call(RequestKind::InitProducerId(r), ApiKey::InitProducerId, version).await
    else {
        panic!()
    };
    (resp.error_code, (resp.producer_id.0, resp.producer_epoch))
}

async fn add_partitions(c: &mut Conn, tid: &str, pid: (i64, i16), parts: &[(&str, i32)]) -> (i16, ()) {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for (t, p) in parts {
        by_topic.entry(t).or_default().push(*p);
    }
    let mut r = AddPartitionsToTxnRequest::default();
    r.v3_and_below_transactional_id = TransactionalId(s(tid));
    r.v3_and_below_producer_id = ProducerId(pid.0);
    r.v3_and_below_producer_epoch = pid.1;
    r.v3_and_below_topics = by_topic
        .into_iter()
        .map(|(t, ps)| {
            let mut topic = add_partitions_to_txn_request::AddPartitionsToTxnTopic::default();
            topic.name = TopicName(s(t));
            topic.partitions = ps;
            topic
        })
        .collect();
    let ResponseKind::AddPartitionsToTxn(resp) =
        c.call(RequestKind::AddPartitionsToTxn(r), ApiKey::AddPartitionsToTxn, 3).await
    else {
        panic!()
    };
    let codes: Vec<i16> = resp
        .results_by_topic_v3_and_below
        .iter()
        .flat_map(|t| t.results_by_partition.iter().map(|p| p.partition_error_code))
        .collect();
    assert_eq!(codes.len(), parts.len());
    (codes.iter().copied().find(|c| *c != NONE).unwrap_or(NONE), ())
}

async fn end_txn(c: &mut Conn, tid: &str, pid: (i64, i16), commit: bool, version: i16) -> (i16, ()) {
    let mut r = EndTxnRequest::default();
    r.transactional_id = TransactionalId(s(tid));
    r.producer_id = ProducerId(pid.0);
    r.producer_epoch = pid.1;
    r.committed = commit;
    let ResponseKind::EndTxn(resp) = c.call(RequestKind::EndTxn(r), ApiKey::EndTxn, version).await else { panic!() };
    (resp.error_code, ())
}

/// DescribeTransactions v0: (code, state, epoch, partitions).
async fn describe(c: &mut Conn, tid: &str) -> (i16, String, i16, Vec<(String, i32)>) {
    let mut r = DescribeTransactionsRequest::default();
    r.transactional_ids = vec![TransactionalId(s(tid))];
    let ResponseKind::DescribeTransactions(resp) =
        c.call(RequestKind::DescribeTransactions(r), ApiKey::DescribeTransactions, 0).await
    else {
        panic!()
    };
    let st = &resp.transaction_states[0];
    let parts = st.topics.iter().flat_map(|t| t.partitions.iter().map(|p| (t.topic.to_string(), *p))).collect();
    (st.error_code, st.transaction_state.to_string(), st.producer_epoch, parts)
}

/// A transactional Produce v9 of `values` to `topic`-`partition`: the partition's code.
async fn produce_txn(
    c: &mut Conn,
    tid: &str,
    topic: &str,
    partition: i32,
    pid: (i64, i16),
    sequence: i32,
    values: &[&str],
) -> i16 {
    let RequestKind::Produce(mut r) = produce_req(topic, partition, -1, batch_of(values, pid.0, pid.1, sequence, true))
    else {
        unreachable!()
    };
    r.transactional_id = Some(TransactionalId(s(tid)));
    let ResponseKind::Produce(resp) = c.call(RequestKind::Produce(r), ApiKey::Produce, 9).await else { panic!() };
    resp.responses[0].partition_responses[0].error_code
}

async fn ready_coordinator(addr: SocketAddr, tid: &str) -> i32 {
    let (code, node) = retry!(find_coordinator(addr, tid).await);
    assert_eq!(code, NONE, "FindCoordinator for {tid}");
    node
}

/// What a consumer at `isolation` reads from `topic`-`partition`: values in offset order,
/// without control records and without the records of aborted transactions (from each one's
/// first offset the response lists to its ABORT marker), as the Java client's `CompletedFetch`.
async fn read(c: &mut Conn, topic: &str, partition: i32, isolation: i8) -> Vec<String> {
    let mut values = Vec::new();
    let mut offset = 0;
    let mut aborting = std::collections::HashSet::new();
    // Bounded: each round moves past at least one batch of a log of a few batches.
    for _ in 0..50 {
        let RequestKind::Fetch(mut r) = fetch_req(12, topic, uuid::Uuid::nil(), partition, offset, 0) else {
            unreachable!()
        };
        r.isolation_level = isolation;
        let ResponseKind::Fetch(resp) = c.call(RequestKind::Fetch(r), ApiKey::Fetch, 12).await else { panic!() };
        let pd = &resp.responses[0].partitions[0];
        assert_eq!(pd.error_code, NONE, "fetch {topic}-{partition}");
        let mut pending: Vec<(i64, i64)> =
            pd.aborted_transactions.iter().flatten().map(|a| (a.first_offset, a.producer_id.0)).collect();
        pending.sort_unstable();
        let mut pending = pending.into_iter().peekable();
        let mut bytes = pd.records.clone().unwrap_or_default();
        let sets = RecordBatchDecoder::decode_all(&mut bytes).unwrap();
        if sets.is_empty() {
            return values;
        }
        for set in sets {
            for r in set.records {
                offset = r.offset + 1;
                while let Some((_, pid)) = pending.next_if(|(first, _)| *first <= r.offset) {
                    aborting.insert(pid);
                }
                if r.control {
                    // Key: version 0, then type 0 ABORT / 1 COMMIT.
                    if r.key.as_deref() == Some(&[0u8, 0, 0, 0][..]) {
                        aborting.remove(&r.producer_id);
                    }
                    continue;
                }
                if r.transactional && aborting.contains(&r.producer_id) {
                    continue;
                }
                values.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
            }
        }
    }
    panic!("{topic}-{partition} not read in 50 fetches");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_and_abort_reach_read_committed_and_read_uncommitted_consumers() {
    let dir = tempfile::tempdir().unwrap();
    let h = Broker::start(config(dir.path())).await.unwrap();
    let addr = h.local_addr();
    let mut c = Conn::new(addr).await;
    create_topic(&mut c, "orders", 2).await;
    create_topic(&mut c, "audit", 1).await;
    assert_eq!(ready_coordinator(addr, "app").await, 1);

    let (code, pid) = retry!(init_producer_id(&mut c, "app", 60_000, 4).await);
    assert_eq!((code, pid.1), (NONE, 0), "the first InitProducerId gives epoch 0");
    // A partition not added to a transaction is refused (KIP-890 verification).
    assert_eq!(produce_txn(&mut c, "app", "orders", 0, pid, 0, &["early"]).await, INVALID_TXN_STATE);

    // Transaction 1 spans three partitions of two topics and is aborted.
    assert_eq!(add_partitions(&mut c, "app", pid, &[("orders", 0), ("orders", 1), ("audit", 0)]).await.0, NONE);
    assert_eq!(describe(&mut c, "app").await.1, "Ongoing");
    assert_eq!(produce_txn(&mut c, "app", "orders", 0, pid, 0, &["a1", "a2"]).await, NONE);
    assert_eq!(produce_txn(&mut c, "app", "orders", 1, pid, 0, &["a3"]).await, NONE);
    assert_eq!(produce_txn(&mut c, "app", "audit", 0, pid, 0, &["a4"]).await, NONE);
    assert_eq!(end_txn(&mut c, "app", pid, false, 3).await.0, NONE);

    // Transaction 2 commits; its AddPartitions waits (CONCURRENT_TRANSACTIONS) for the abort's markers.
    assert_eq!(retry!(add_partitions(&mut c, "app", pid, &[("orders", 0), ("audit", 0)]).await).0, NONE);
    assert_eq!(produce_txn(&mut c, "app", "orders", 0, pid, 2, &["c1"]).await, NONE);
    assert_eq!(produce_txn(&mut c, "app", "audit", 0, pid, 1, &["c2"]).await, NONE);
    assert_eq!(end_txn(&mut c, "app", pid, true, 3).await.0, NONE);
    eventually!("the commit completes", (describe(&mut c, "app").await.1 == "CompleteCommit").then_some(()));
    // A retried EndTxn of a completed commit succeeds; an abort of it does not.
    assert_eq!(end_txn(&mut c, "app", pid, true, 3).await.0, NONE);
    assert_eq!(end_txn(&mut c, "app", pid, false, 3).await.0, INVALID_TXN_STATE);

    assert_eq!(read(&mut c, "orders", 0, READ_COMMITTED).await, ["c1"]);
    assert_eq!(read(&mut c, "orders", 1, READ_COMMITTED).await, Vec::<String>::new());
    assert_eq!(read(&mut c, "audit", 0, READ_COMMITTED).await, ["c2"]);
    assert_eq!(read(&mut c, "orders", 0, READ_UNCOMMITTED).await, ["a1", "a2", "c1"]);
    assert_eq!(read(&mut c, "audit", 0, READ_UNCOMMITTED).await, ["a4", "c2"]);

    // ListTransactions filters by state and lists unknown state names back.
    let mut r = ListTransactionsRequest::default();
    r.state_filters = vec![s("CompleteCommit"), s("Bogus")];
    let ResponseKind::ListTransactions(listed) =
        c.call(RequestKind::ListTransactions(r), ApiKey::ListTransactions, 1).await
    else {
        panic!()
    };
    assert_eq!(listed.transaction_states.iter().map(|t| t.transactional_id.to_string()).collect::<Vec<_>>(), ["app"]);
    assert_eq!(listed.unknown_state_filters, vec![s("Bogus")]);
    h.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_producer_fences_the_first_and_aborts_its_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let h = Broker::start(config(dir.path())).await.unwrap();
    let addr = h.local_addr();
    let mut c = Conn::new(addr).await;
    create_topic(&mut c, "t", 1).await;
    ready_coordinator(addr, "fenced").await;
    let (_, first) = retry!(init_producer_id(&mut c, "fenced", 60_000, 4).await);
    assert_eq!(add_partitions(&mut c, "fenced", first, &[("t", 0)]).await.0, NONE);
    assert_eq!(produce_txn(&mut c, "fenced", "t", 0, first, 0, &["zombie"]).await, NONE);

    // The second InitProducerId bumps the epoch to abort the open transaction (the client is
    // told to retry), then once more for the new producer.
    assert_eq!(
        init_producer_id(&mut c, "fenced", 60_000, 4).await.0,
        CONCURRENT_TRANSACTIONS,
        "the first attempt aborts the open transaction"
    );
    let (code, second) = retry!(init_producer_id(&mut c, "fenced", 60_000, 4).await);
    assert_eq!((code, second), (NONE, (first.0, first.1 + 2)));

    // The zombie is fenced everywhere: EndTxn (PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH
    // before v2), AddPartitionsToTxn, and Produce to the partition the abort marker reached.
    assert_eq!(end_txn(&mut c, "fenced", first, true, 3).await.0, PRODUCER_FENCED);
    assert_eq!(end_txn(&mut c, "fenced", first, true, 1).await.0, INVALID_PRODUCER_EPOCH);
    assert_eq!(add_partitions(&mut c, "fenced", first, &[("t", 0)]).await.0, PRODUCER_FENCED);
    assert_eq!(produce_txn(&mut c, "fenced", "t", 0, first, 1, &["late"]).await, INVALID_PRODUCER_EPOCH);
    assert_eq!(read(&mut c, "t", 0, READ_COMMITTED).await, Vec::<String>::new());

    // The new producer works.
    assert_eq!(add_partitions(&mut c, "fenced", second, &[("t", 0)]).await.0, NONE);
    assert_eq!(produce_txn(&mut c, "fenced", "t", 0, second, 0, &["fresh"]).await, NONE);
    assert_eq!(end_txn(&mut c, "fenced", second, true, 3).await.0, NONE);
    eventually!(
        "the commit reaches read_committed",
        (read(&mut c, "t", 0, READ_COMMITTED).await == ["fresh"]).then_some(())
    );
    h.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_past_its_timeout_is_aborted_and_its_producer_fenced() {
    let dir = tempfile::tempdir().unwrap();
    let h = Broker::start(config(dir.path())).await.unwrap();
    let addr = h.local_addr();
    let mut c = Conn::new(addr).await;
    create_topic(&mut c, "slow", 1).await;
    ready_coordinator(addr, "slowpoke").await;

    // InitProducerId checks the timeout against transaction.max.timeout.ms (15 min).
    assert_eq!(retry!(init_producer_id(&mut c, "slowpoke", 900_001, 4).await).0, INVALID_TRANSACTION_TIMEOUT);
    assert_eq!(init_producer_id(&mut c, "slowpoke", 0, 4).await.0, INVALID_TRANSACTION_TIMEOUT);

    let (code, pid) = retry!(init_producer_id(&mut c, "slowpoke", 1_000, 4).await);
    assert_eq!(code, NONE);
    assert_eq!(add_partitions(&mut c, "slowpoke", pid, &[("slow", 0)]).await.0, NONE);
    assert_eq!(produce_txn(&mut c, "slowpoke", "slow", 0, pid, 0, &["never"]).await, NONE);
    let (_, state, epoch, _) = eventually!("the timeout abort", {
        let d = describe(&mut c, "slowpoke").await;
        (d.1 == "CompleteAbort").then_some(d)
    });
    assert_eq!((state.as_str(), epoch), ("CompleteAbort", pid.1 + 1), "aborted with a bumped epoch");
    assert_eq!(end_txn(&mut c, "slowpoke", pid, true, 3).await.0, PRODUCER_FENCED);
    assert_eq!(read(&mut c, "slow", 0, READ_COMMITTED).await, Vec::<String>::new());
    assert_eq!(read(&mut c, "slow", 0, READ_UNCOMMITTED).await, ["never"]);
    h.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_broker_loads_its_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let h = Broker::start(cfg.clone()).await.unwrap();
    let addr = h.local_addr();
    let mut c = Conn::new(addr).await;
    create_topic(&mut c, "r", 1).await;
    ready_coordinator(addr, "done").await;
    ready_coordinator(addr, "open").await;
    let (_, done) = retry!(init_producer_id(&mut c, "done", 60_000, 4).await);
    assert_eq!(add_partitions(&mut c, "done", done, &[("r", 0)]).await.0, NONE);
    assert_eq!(produce_txn(&mut c, "done", "r", 0, done, 0, &["one"]).await, NONE);
    assert_eq!(end_txn(&mut c, "done", done, true, 3).await.0, NONE);
    eventually!("the commit completes", (describe(&mut c, "done").await.1 == "CompleteCommit").then_some(()));
    let (_, open) = retry!(init_producer_id(&mut c, "open", 60_000, 4).await);
    assert_eq!(add_partitions(&mut c, "open", open, &[("r", 0)]).await.0, NONE);
    assert_eq!(produce_txn(&mut c, "open", "r", 0, open, 0, &["two"]).await, NONE);
    h.shutdown().await.unwrap();

    let h = Broker::start(cfg).await.unwrap();
    let addr = h.local_addr();
    let mut c = Conn::new(addr).await;
    let d = eventually!("the transactions are loaded", {
        let d = describe(&mut c, "open").await;
        (d.0 == NONE).then_some(d)
    });
    assert_eq!((d.1.as_str(), d.2, d.3), ("Ongoing", open.1, vec![("r".to_string(), 0)]));
    assert_eq!(describe(&mut c, "done").await.1, "CompleteCommit");
    assert_eq!(retry!(end_txn(&mut c, "open", open, true, 3).await).0, NONE);
    eventually!(
        "both commits reach read_committed",
        (read(&mut c, "r", 0, READ_COMMITTED).await == ["one", "two"]).then_some(())
    );
    h.shutdown().await.unwrap();
}

async fn start_cluster(dir: &std::path::Path) -> Cluster {
    let base = BrokerConfig {
        port: 0,
        data_dir: dir.to_path_buf(),
        replica_lag_time_max_ms: 1_500,
        broker_session_timeout_ms: 1_500,
        broker_heartbeat_interval_ms: 200,
        auto_leader_rebalance_enable: false,
        transaction_state_log_num_partitions: 1,
        offsets_commit_timeout_ms: 20_000,
        ..Default::default()
    };
    Cluster::start(ClusterConfig { brokers: 3, base, racks: BTreeMap::new() }).await.unwrap()
}

/// Creates `topic` with one single-replica partition per broker in `leaders`, in that order.
async fn create_placed_topic(c: &mut Conn, topic: &str, leaders: &[i32]) {
    let mut t = create_topics_request::CreatableTopic::default();
    t.name = TopicName(s(topic));
    t.num_partitions = -1;
    t.replication_factor = -1;
    t.assignments = leaders
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut a = create_topics_request::CreatableReplicaAssignment::default();
            a.partition_index = i as i32;
            a.broker_ids = vec![BrokerId(*b)];
            a
        })
        .collect();
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![t];
    r.timeout_ms = 10_000;
    let ResponseKind::CreateTopics(resp) = c.call(RequestKind::CreateTopics(r), ApiKey::CreateTopics, 7).await else {
        panic!()
    };
    assert_eq!(resp.topics[0].error_code, 0, "{:?}", resp.topics[0].error_message);
}

/// The coordinator of `tid` as broker `via` sees it, once that is a broker other than `not`
/// which has loaded the id.
async fn new_coordinator(cluster: &Cluster, via: i32, not: i32, tid: &str) -> i32 {
    eventually!("a new transaction coordinator", {
        let (code, node) = find_coordinator(cluster.addresses().await[&via], tid).await;
        if code == NONE && node > 0 && node != not {
            let mut c = Conn::new(cluster.addresses().await[&node]).await;
            (describe(&mut c, tid).await.0 == NONE).then_some(node)
        } else {
            None
        }
    })
}

/// Produces one transactional `value` to each partition of `topic`, at its leader in `leaders`.
async fn produce_each(
    addrs: &BTreeMap<i32, SocketAddr>,
    tid: &str,
    topic: &str,
    leaders: &[i32],
    pid: (i64, i16),
    value: &str,
) {
    for (p, b) in leaders.iter().enumerate() {
        let mut leader = Conn::new(addrs[b]).await;
        let code = retry!((produce_txn(&mut leader, tid, topic, p as i32, pid, 0, &[value]).await, ())).0;
        assert_eq!(code, NONE, "{topic}-{p} at broker {b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_coordinator_fails_over_mid_transaction_and_the_client_commits() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path()).await;
    let addrs = cluster.addresses().await;
    let old = ready_coordinator(addrs[&1], "failover").await;
    let others: Vec<i32> = (1..=3).filter(|b| *b != old).collect();
    let mut c = Conn::new(addrs[&old]).await;
    // One partition on each other broker: their Produce verifies with the coordinator remotely.
    create_placed_topic(&mut c, "fo", &others).await;
    let (code, pid) = retry!(init_producer_id(&mut c, "failover", 60_000, 4).await);
    assert_eq!(code, NONE);
    assert_eq!(retry!(add_partitions(&mut c, "failover", pid, &[("fo", 0), ("fo", 1)]).await).0, NONE);
    produce_each(&addrs, "failover", "fo", &others, pid, "v").await;

    cluster.fault(old, FaultAction::Kill).await.unwrap();
    let new = new_coordinator(&cluster, others[0], old, "failover").await;
    let mut c = Conn::new(cluster.addresses().await[&new]).await;
    assert_eq!(describe(&mut c, "failover").await.1, "Ongoing", "the new coordinator loaded the open transaction");
    assert_eq!(retry!(end_txn(&mut c, "failover", pid, true, 3).await).0, NONE);
    eventually!(
        "the commit completes on the new coordinator",
        (describe(&mut c, "failover").await.1 == "CompleteCommit").then_some(())
    );
    for (p, b) in others.iter().enumerate() {
        let mut leader = Conn::new(cluster.addresses().await[b]).await;
        assert_eq!(read(&mut leader, "fo", p as i32, READ_COMMITTED).await, ["v"], "fo-{p} committed");
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_coordinator_finishes_a_commit_its_predecessor_left_half_done() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_cluster(dir.path()).await;
    let addrs = cluster.addresses().await;
    let old = ready_coordinator(addrs[&1], "half").await;
    let others: Vec<i32> = (1..=3).filter(|b| *b != old).collect();
    let (cut, fine) = (others[0], others[1]);
    let mut c = Conn::new(addrs[&old]).await;
    create_placed_topic(&mut c, "half", &[cut, fine]).await;
    let (code, pid) = retry!(init_producer_id(&mut c, "half", 60_000, 4).await);
    assert_eq!(code, NONE);
    assert_eq!(retry!(add_partitions(&mut c, "half", pid, &[("half", 0), ("half", 1)]).await).0, NONE);
    produce_each(&addrs, "half", "half", &[cut, fine], pid, "w").await;

    // The link between the coordinator and one partition leader is cut: the commit is prepared
    // (PrepareCommit replicated to the ISR, which drops the cut broker) but that marker cannot
    // be written. Then the coordinator dies; its successor loads PrepareCommit and finishes.
    cluster.fault(old, FaultAction::Isolate { peer: Some(cut) }).await.unwrap();
    assert_eq!(retry!(end_txn(&mut c, "half", pid, true, 3).await).0, NONE);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(describe(&mut c, "half").await.1, "PrepareCommit", "one marker cannot be written");
    let mut cut_leader = Conn::new(addrs[&cut]).await;
    assert_eq!(read(&mut cut_leader, "half", 0, READ_COMMITTED).await, Vec::<String>::new());
    cluster.fault(old, FaultAction::Kill).await.unwrap();

    let new = new_coordinator(&cluster, fine, old, "half").await;
    let mut c = Conn::new(cluster.addresses().await[&new]).await;
    eventually!(
        "the new coordinator completes the commit",
        (describe(&mut c, "half").await.1 == "CompleteCommit").then_some(())
    );
    for (p, b) in [cut, fine].iter().enumerate() {
        let mut leader = Conn::new(cluster.addresses().await[b]).await;
        assert_eq!(read(&mut leader, "half", p as i32, READ_COMMITTED).await, ["w"], "half-{p} committed");
    }
    // The producer goes on with the new coordinator.
    assert_eq!(retry!(add_partitions(&mut c, "half", pid, &[("half", 1)]).await).0, NONE);
    cluster.shutdown().await;
}
