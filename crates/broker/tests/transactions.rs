//! Transactions at the partition level on running brokers. Transactional batches and markers
//! are written through the partition leaders' in-process API (`TxnPartitions`: what a verified
//! transactional Produce and the transaction coordinator's WriteTxnMarkers will run), then read
//! back over the Kafka protocol: Fetch at read_committed and read_uncommitted (LSO, aborted
//! transactions, markers), ListOffsets, DescribeProducers; and replicated to followers on a
//! three-broker cluster, where every replica must end with the same `.txnindex` and producer
//! state. Produce refuses transactional batches no coordinator verified: checked too (the
//! coordinator itself is tested in `txn_coordinator.rs`).

mod common;

use common::*;
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::*;
use kafka_protocol::records::RecordBatchDecoder;
use oxbow_broker::{Broker, BrokerConfig, Cluster, ClusterConfig, FaultAction, TxnMarker};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

const READ_UNCOMMITTED: i8 = 0;
const READ_COMMITTED: i8 = 1;
const WAIT: Duration = Duration::from_secs(30);

fn fetch(topic: &str, topic_id: uuid::Uuid, offset: i64, isolation_level: i8, max_wait_ms: i32) -> RequestKind {
    let RequestKind::Fetch(mut r) = fetch_req(12, topic, topic_id, 0, offset, max_wait_ms) else { unreachable!() };
    r.isolation_level = isolation_level;
    RequestKind::Fetch(r)
}

async fn fetch_partition(
    c: &mut Conn,
    topic: &str,
    topic_id: uuid::Uuid,
    offset: i64,
    isolation_level: i8,
) -> PartitionData {
    let ResponseKind::Fetch(r) = c.call(fetch(topic, topic_id, offset, isolation_level, 0), ApiKey::Fetch, 12).await
    else {
        panic!()
    };
    r.responses[0].partitions[0].clone()
}

/// What a consumer does with a fetched partition (the Java client's `CompletedFetch`): values in
/// offset order, without control records and without records of the aborted transactions the
/// response lists (from each one's first offset to its ABORT marker).
fn consume(pd: &PartitionData) -> Vec<String> {
    let mut pending: Vec<(i64, i64)> =
        pd.aborted_transactions.iter().flatten().map(|a| (a.first_offset, a.producer_id.0)).collect();
    pending.sort_unstable();
    let mut pending = pending.into_iter().peekable();
    let mut aborting = HashSet::new();
    let mut out = Vec::new();
    let mut bytes = pd.records.clone().unwrap_or_default();
    for set in RecordBatchDecoder::decode_all(&mut bytes).unwrap() {
        for r in set.records {
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
            out.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
        }
    }
    out
}

/// A consumer reading from `offset` until a fetch returns nothing: the first response, and
/// over all responses the values delivered, the control records met and the aborted
/// transactions listed. (A marker's timestamp is the broker's clock, far from the test batches'
/// fixed ones, so `segment.ms` rolls a segment there and one fetch reads one segment.)
struct Read {
    first: PartitionData,
    values: Vec<String>,
    controls: Vec<(i64, Vec<u8>, Vec<u8>)>,
    aborted: Option<BTreeSet<(i64, i64)>>,
}

async fn read_all(c: &mut Conn, topic: &str, topic_id: uuid::Uuid, mut offset: i64, isolation_level: i8) -> Read {
    let first = fetch_partition(c, topic, topic_id, offset, isolation_level).await;
    let mut read = Read { first: first.clone(), values: Vec::new(), controls: Vec::new(), aborted: None };
    let mut pd = first;
    // Bounded: every round moves past at least one batch of a log of a few dozen.
    for _ in 0..100 {
        assert_eq!(pd.error_code, 0);
        if let Some(list) = aborted(&pd) {
            read.aborted.get_or_insert_with(BTreeSet::new).extend(list);
        }
        let mut bytes = pd.records.clone().unwrap_or_default();
        let Some(last) = RecordBatchDecoder::decode_batch_info(&mut bytes)
            .unwrap()
            .last()
            .map(|b| b.min_offset + b.record_count as i64)
        else {
            return read;
        };
        read.values.extend(consume(&pd));
        read.controls.extend(control_records(&pd));
        offset = last;
        pd = fetch_partition(c, topic, topic_id, offset, isolation_level).await;
    }
    panic!("a log of a few batches read in 100 fetches");
}

fn control_records(pd: &PartitionData) -> Vec<(i64, Vec<u8>, Vec<u8>)> {
    let mut bytes = pd.records.clone().unwrap_or_default();
    RecordBatchDecoder::decode_all(&mut bytes)
        .unwrap()
        .into_iter()
        .flat_map(|set| set.records)
        .filter(|r| r.control)
        .map(|r| (r.offset, r.key.unwrap().to_vec(), r.value.unwrap().to_vec()))
        .collect()
}

fn aborted(pd: &PartitionData) -> Option<Vec<(i64, i64)>> {
    pd.aborted_transactions.as_ref().map(|list| list.iter().map(|a| (a.producer_id.0, a.first_offset)).collect())
}

async fn latest_offset(c: &mut Conn, topic: &str, isolation_level: i8) -> i64 {
    let mut p = list_offsets_request::ListOffsetsPartition::default();
    p.partition_index = 0;
    p.timestamp = -1;
    let mut t = list_offsets_request::ListOffsetsTopic::default();
    t.name = TopicName(s(topic));
    t.partitions = vec![p];
    let mut r = ListOffsetsRequest::default();
    r.replica_id = BrokerId(-1);
    r.isolation_level = isolation_level;
    r.topics = vec![t];
    let ResponseKind::ListOffsets(resp) = c.call(RequestKind::ListOffsets(r), ApiKey::ListOffsets, 7).await else {
        panic!()
    };
    let pr = &resp.topics[0].partitions[0];
    assert_eq!(pr.error_code, 0);
    pr.offset
}

async fn describe_producers(c: &mut Conn, topic: &str) -> describe_producers_response::PartitionResponse {
    let mut t = describe_producers_request::TopicRequest::default();
    t.name = TopicName(s(topic));
    t.partition_indexes = vec![0];
    let mut r = DescribeProducersRequest::default();
    r.topics = vec![t];
    let ResponseKind::DescribeProducers(resp) =
        c.call(RequestKind::DescribeProducers(r), ApiKey::DescribeProducers, 0).await
    else {
        panic!()
    };
    resp.topics[0].partitions[0].clone()
}

fn marker(producer_id: i64, coordinator_epoch: i32, commit: bool) -> TxnMarker {
    TxnMarker { producer_id, producer_epoch: 0, coordinator_epoch, commit }
}

fn txn(values: &[&str], producer_id: i64) -> bytes::Bytes {
    batch_of(values, producer_id, 0, 0, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_stops_at_open_transactions_and_skips_aborted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let config = BrokerConfig { port: 0, data_dir: dir.path().to_path_buf(), ..Default::default() };
    let h = Broker::start(config.clone()).await.unwrap();
    let mut c = Conn::new(h.local_addr()).await;
    let id = create_topic(&mut c, "tx", 1).await;

    // Produce refuses transactional batches: none without a transactional id, and no
    // coordinator knows this transactional id. Clients may never write control batches.
    let RequestKind::Produce(mut req) = produce_req("tx", 0, -1, txn(&["x"], 1)) else { unreachable!() };
    let code = |r: ResponseKind| match r {
        ResponseKind::Produce(p) => p.responses[0].partition_responses[0].error_code,
        _ => panic!(),
    };
    assert_eq!(
        code(c.call(RequestKind::Produce(req.clone()), ApiKey::Produce, 9).await),
        53,
        "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"
    );
    req.transactional_id = Some(TransactionalId(s("app")));
    assert_eq!(code(c.call(RequestKind::Produce(req), ApiKey::Produce, 9).await), 48, "INVALID_TXN_STATE");

    // Producer 1 opens a transaction; producer 2's is aborted; plain records in between.
    let txns = h.txn_partitions();
    assert_eq!(txns.append("tx", 0, txn(&["a1", "a2"], 1)).await.unwrap(), (0, 1));
    assert_eq!(txns.append("tx", 0, batch(&["p1"], -1, -1)).await.unwrap(), (2, 2));
    assert_eq!(txns.append("tx", 0, txn(&["b1", "b2"], 2)).await.unwrap(), (3, 4));
    assert_eq!(txns.write_marker("tx", 0, marker(2, 7, false)).await.unwrap(), 5);
    assert_eq!(txns.append("tx", 0, batch(&["p2"], -1, -1)).await.unwrap(), (6, 6));
    // A marker from an older coordinator epoch is a zombie's; a plain write inside an open
    // transaction is refused.
    assert_eq!(
        txns.write_marker("tx", 0, marker(2, 6, true)).await.unwrap_err().0,
        52,
        "TRANSACTION_COORDINATOR_FENCED"
    );
    assert_eq!(txns.append("tx", 0, batch_of(&["z"], 1, 0, 2, false)).await.unwrap_err().0, 48, "INVALID_TXN_STATE");

    // read_uncommitted: everything below the high watermark, the ABORT marker included.
    let read = read_all(&mut c, "tx", id, 0, READ_UNCOMMITTED).await;
    assert_eq!((read.first.high_watermark, read.first.last_stable_offset), (7, 0));
    assert_eq!(read.aborted, None);
    assert_eq!(read.values, ["a1", "a2", "p1", "b1", "b2", "p2"]);
    assert_eq!(read.controls, vec![(5, vec![0, 0, 0, 0], vec![0, 0, 0, 0, 0, 7])], "ABORT, coordinator epoch 7");
    // read_committed: nothing past producer 1's open transaction.
    let pd = fetch_partition(&mut c, "tx", id, 0, READ_COMMITTED).await;
    assert_eq!((pd.error_code, pd.high_watermark, pd.last_stable_offset), (0, 7, 0));
    assert_eq!((consume(&pd).len(), aborted(&pd)), (0, Some(vec![])));
    assert_eq!(
        (latest_offset(&mut c, "tx", READ_COMMITTED).await, latest_offset(&mut c, "tx", READ_UNCOMMITTED).await),
        (0, 7)
    );

    let producers = describe_producers(&mut c, "tx").await;
    assert_eq!(producers.error_code, 0);
    let by_id: BTreeMap<i64, (i32, i32, i32, i64)> = producers
        .active_producers
        .iter()
        .map(|p| {
            (p.producer_id.0, (p.producer_epoch, p.last_sequence, p.coordinator_epoch, p.current_txn_start_offset))
        })
        .collect();
    assert_eq!(by_id, BTreeMap::from([(1, (0, 1, -1, 0)), (2, (0, 1, 7, -1))]));

    // A read_committed consumer waits at the open transaction; the COMMIT lets it through.
    let mut consumer = Conn::new(h.local_addr()).await;
    let waiting = consumer.send(&fetch("tx", id, 0, READ_COMMITTED, 20_000), ApiKey::Fetch, 12).await;
    assert_eq!(txns.write_marker("tx", 0, marker(1, 7, true)).await.unwrap(), 7);
    let ResponseKind::Fetch(resp) = consumer.recv(ApiKey::Fetch, 12, waiting).await else { panic!() };
    let pd = &resp.responses[0].partitions[0];
    assert_eq!((pd.high_watermark, pd.last_stable_offset), (8, 8));
    assert!(!consume(pd).is_empty(), "the parked fetch returns the committed records");
    let read = read_all(&mut c, "tx", id, 0, READ_COMMITTED).await;
    assert_eq!(read.aborted, Some(BTreeSet::from([(2, 3)])));
    assert_eq!(read.values, ["a1", "a2", "p1", "p2"]);
    assert_eq!(latest_offset(&mut c, "tx", READ_COMMITTED).await, 8);
    // Read from inside the aborted transaction, and from past it.
    assert_eq!(aborted(&fetch_partition(&mut c, "tx", id, 4, READ_COMMITTED).await), Some(vec![(2, 3)]));
    assert_eq!(aborted(&fetch_partition(&mut c, "tx", id, 6, READ_COMMITTED).await), Some(vec![]));

    // The .txnindex and producer state survive a restart.
    h.shutdown().await.unwrap();
    let h = Broker::start(config).await.unwrap();
    let mut c = Conn::new(h.local_addr()).await;
    let again = read_all(&mut c, "tx", id, 0, READ_COMMITTED).await;
    assert_eq!((again.first.last_stable_offset, again.aborted, again.values), (8, read.aborted, read.values));
    assert_eq!(describe_producers(&mut c, "tx").await.active_producers.len(), 2);
    h.shutdown().await.unwrap();
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (leader, ISR) of `topic`-0 as broker `via` sees it.
async fn leader_and_isr(cluster: &Cluster, via: i32, topic: &str) -> (i32, Vec<i32>) {
    let mut c = Conn::new(cluster.addresses().await[&via]).await;
    let mut t = metadata_request::MetadataRequestTopic::default();
    t.name = Some(TopicName(s(topic)));
    let mut r = MetadataRequest::default();
    r.topics = Some(vec![t]);
    let ResponseKind::Metadata(m) = c.call(RequestKind::Metadata(r), ApiKey::Metadata, 12).await else { panic!() };
    let p = &m.topics[0].partitions[0];
    (p.leader_id.0, p.isr_nodes.iter().map(|b| b.0).collect())
}

/// The `.txnindex` files of `topic`-0 on `broker`, concatenated in segment order. (Replicas may
/// roll segments at different offsets — a follower appends what one fetch brings — so the
/// entries are compared, not where they sit.)
fn txn_indexes(dir: &std::path::Path, broker: i32, topic: &str) -> Vec<u8> {
    let part = dir.join(format!("broker-{broker}")).join(format!("{topic}-0"));
    let mut files: Vec<_> = std::fs::read_dir(part)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txnindex"))
        .collect();
    files.sort();
    files.iter().flat_map(|f| std::fs::read(f).unwrap()).collect()
}

/// Per running broker: (log end offset, high watermark, LSO) of `topic`-0's replica.
fn offsets(cluster: &Cluster, topic: &str) -> BTreeMap<i32, (i64, i64, i64)> {
    cluster
        .observers()
        .iter()
        .filter_map(|(id, o)| {
            o.topic_partitions(topic)
                .into_iter()
                .next()
                .map(|v| (*id, (v.log_end_offset, v.high_watermark, v.last_stable_offset)))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn markers_replicate_and_every_replica_rebuilds_the_same_transaction_state() {
    let dir = tempfile::tempdir().unwrap();
    let base = BrokerConfig {
        port: 0,
        data_dir: dir.path().to_path_buf(),
        replica_lag_time_max_ms: 1_500,
        broker_session_timeout_ms: 1_500,
        broker_heartbeat_interval_ms: 200,
        auto_leader_rebalance_enable: false,
        ..Default::default()
    };
    let cluster = Cluster::start(ClusterConfig { brokers: 3, base, racks: BTreeMap::new() }).await.unwrap();
    let mut c = Conn::new(cluster.addresses().await[&1]).await;
    let mut t = create_topics_request::CreatableTopic::default();
    t.name = TopicName(s("tx"));
    t.num_partitions = 1;
    t.replication_factor = 3;
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![t];
    r.timeout_ms = 10_000;
    let ResponseKind::CreateTopics(resp) = c.call(RequestKind::CreateTopics(r), ApiKey::CreateTopics, 7).await else {
        panic!()
    };
    assert_eq!(resp.topics[0].error_code, 0);
    let id = resp.topics[0].topic_id;
    let leader = eventually("a leader with the whole ISR", || async {
        let (leader, isr) = leader_and_isr(&cluster, 1, "tx").await;
        (leader > 0 && isr.len() == 3).then_some(leader)
    })
    .await;

    // Four producers: 10 aborted while 11 is open (its LSO entry says so), 11 committed,
    // 12 aborted, 13 left open.
    let txns = cluster.txn_partitions(leader).unwrap();
    txns.append("tx", 0, txn(&["a"], 10)).await.unwrap();
    txns.append("tx", 0, txn(&["b"], 11)).await.unwrap();
    txns.write_marker("tx", 0, marker(10, 1, false)).await.unwrap();
    txns.append("tx", 0, txn(&["c1", "c2"], 12)).await.unwrap();
    txns.write_marker("tx", 0, marker(11, 1, true)).await.unwrap();
    let open_at = txns.append("tx", 0, txn(&["d"], 13)).await.unwrap().0;
    txns.write_marker("tx", 0, marker(12, 1, false)).await.unwrap();
    txns.append("tx", 0, batch(&["e"], -1, -1)).await.unwrap();

    let end = eventually("every replica has everything and the high watermark", || async {
        let o = offsets(&cluster, "tx");
        let leo = o[&leader].0;
        (o.len() == 3 && o.values().all(|(l, hw, _)| *l == leo && *hw == leo)).then_some(leo)
    })
    .await;
    assert_eq!(end, 9);
    let o = offsets(&cluster, "tx");
    assert!(o.values().all(|(_, _, lso)| *lso == open_at), "every replica's LSO stops at producer 13: {o:?}");
    let files = txn_indexes(dir.path(), leader, "tx");
    assert_eq!(files.len(), 2 * 34, "two aborts");
    let observers = cluster.observers();
    let producers = observers[&leader].producers("tx", 0).unwrap();
    assert_eq!(
        producers.iter().map(|p| (p.producer_id, p.current_txn_start_offset)).collect::<Vec<_>>(),
        vec![(10, -1), (11, -1), (12, -1), (13, open_at)]
    );
    for (broker, o) in &observers {
        assert_eq!(
            txn_indexes(dir.path(), *broker, "tx"),
            files,
            "broker {broker}'s .txnindex is the leader's, byte for byte"
        );
        assert_eq!(o.producers("tx", 0).unwrap(), producers, "broker {broker}'s producer state");
        assert_eq!(o.aborted_transactions("tx", 0), observers[&leader].aborted_transactions("tx", 0));
    }
    let entries = observers[&leader].aborted_transactions("tx", 0).unwrap();
    assert_eq!(
        entries.iter().map(|e| (e.producer_id, e.last_stable_offset)).collect::<Vec<_>>(),
        vec![(10, 1), (12, open_at)]
    );

    // The leader dies; a follower takes over with the same state: it serves read_committed
    // the same way and ends the open transaction when the coordinator asks.
    cluster.fault(leader, FaultAction::Kill).await.unwrap();
    let survivor = *observers.keys().find(|b| **b != leader).unwrap();
    let new_leader = eventually("a new leader", || async {
        let (l, isr) = leader_and_isr(&cluster, survivor, "tx").await;
        (l > 0 && l != leader && !isr.contains(&leader)).then_some(l)
    })
    .await;
    let txns = cluster.txn_partitions(new_leader).unwrap();
    let commit_at = eventually("the new leader takes the commit", || async {
        txns.write_marker("tx", 0, marker(13, 1, true)).await.ok()
    })
    .await;
    assert_eq!(
        txns.write_marker("tx", 0, marker(13, 0, true)).await.unwrap_err().0,
        52,
        "coordinator epoch 1 came with the replicated markers"
    );
    let mut c = Conn::new(cluster.addresses().await[&new_leader]).await;
    let read = read_all(&mut c, "tx", id, 0, READ_COMMITTED).await;
    assert_eq!((read.first.last_stable_offset, read.first.high_watermark), (commit_at + 1, commit_at + 1));
    assert_eq!(read.aborted, Some(BTreeSet::from([(10, 0), (12, 3)])));
    assert_eq!(read.values, ["b", "d", "e"]);
    cluster.shutdown().await;
}

/// Apache Kafka's jars (`scripts/fetch-kafka.sh`): `KAFKA_LIBS`, else the repo's `.cache/kafka/libs`.
fn kafka_libs() -> Option<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let libs =
        std::env::var_os("KAFKA_LIBS").map(std::path::PathBuf::from).unwrap_or_else(|| root.join(".cache/kafka/libs"));
    let has_kafka = std::fs::read_dir(&libs)
        .ok()?
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with("kafka_2.13-"));
    has_kafka.then_some(libs)
}

/// Kafka's own `kafka-dump-log` (DumpLogSegments) on `files`.
fn dump_log(libs: &std::path::Path, args: &[&str]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/kafka-run-class.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .arg("org.apache.kafka.tools.DumpLogSegments")
        .args(args)
        .env("KAFKA_LIBS", libs)
        .output()
        .expect("run kafka-dump-log");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kafka-dump-log {args:?} failed:\n{text}");
    text
}

/// Differential check of the on-disk layout: Kafka's DumpLogSegments reads the broker's
/// `.txnindex` entries and its marker batches as Kafka wrote them. Needs Apache Kafka's jars
/// (`scripts/fetch-kafka.sh`, run by `make test`); without them it says so and checks nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_dump_log_reads_the_txnindex_and_the_markers() {
    let Some(libs) = kafka_libs() else {
        eprintln!("SKIPPED: no Apache Kafka jars (run scripts/fetch-kafka.sh or set KAFKA_LIBS)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = BrokerConfig { port: 0, data_dir: dir.path().to_path_buf(), ..Default::default() };
    let h = Broker::start(config).await.unwrap();
    let mut c = Conn::new(h.local_addr()).await;
    create_topic(&mut c, "dump", 1).await;
    let txns = h.txn_partitions();
    txns.append("dump", 0, txn(&["a"], 1)).await.unwrap(); // 0
    txns.append("dump", 0, txn(&["b1", "b2"], 2)).await.unwrap(); // 1-2
    txns.write_marker("dump", 0, marker(1, 4, false)).await.unwrap(); // 3: ABORT, producer 2 open
    txns.write_marker("dump", 0, marker(2, 4, true)).await.unwrap(); // 4: COMMIT
    h.shutdown().await.unwrap();

    let part = dir.path().join("dump-0");
    let mut txn_indexes: Vec<_> = std::fs::read_dir(&part)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txnindex"))
        .collect();
    assert_eq!(txn_indexes.len(), 1, "one segment holds the ABORT");
    let index = txn_indexes.pop().unwrap();
    let out = dump_log(&libs, &["--files", index.to_str().unwrap()]);
    assert!(out.contains("version: 0 producerId: 1 firstOffset: 0 lastOffset: 3 lastStableOffset: 1"), "{out}");

    let mut logs: Vec<_> = std::fs::read_dir(&part)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    logs.sort();
    let files = logs.iter().map(|p| p.to_str().unwrap().to_string()).collect::<Vec<_>>().join(",");
    let out = dump_log(&libs, &["--files", &files, "--print-data-log"]);
    assert!(!out.contains("isvalid: false") && !out.contains("Exception"), "{out}");
    for (offset, kind) in [(3, "ABORT"), (4, "COMMIT")] {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("| offset: {offset} ")))
            .unwrap_or_else(|| panic!("no record at {offset}:\n{out}"));
        assert!(line.contains(&format!("endTxnMarker: {kind} coordinatorEpoch: 4")), "{line}");
    }
    let batch = out.lines().find(|l| l.starts_with("baseOffset: 3 ")).unwrap();
    assert!(
        batch.contains("isTransactional: true") && batch.contains("isControl: true") && batch.contains("producerId: 1"),
        "{batch}"
    );
}
