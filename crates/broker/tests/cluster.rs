//! Replication tests on a real embedded cluster: three brokers in this process, each with its own
//! listener, data dir and quorum node, talking over loopback TCP; faults are the cluster's own
//! (kill, stop, start, cut links). Requests are raw Kafka protocol (see `common`).
//!
//! Timings are shortened (session 1.5 s, replica lag 1.5 s) so faults take effect quickly; every
//! wait is bounded and asserts a state, never a duration.

mod common;

use common::*;
use kafka_protocol::messages::*;
use oxbow_broker::{BrokerConfig, Cluster, ClusterConfig, ClusterEvent, FaultAction};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

async fn start(dir: &std::path::Path, brokers: usize) -> Cluster {
    start_with(dir, brokers, |_| {}).await
}

async fn start_with(dir: &std::path::Path, brokers: usize, adjust: impl FnOnce(&mut BrokerConfig)) -> Cluster {
    // RUST_LOG=oxbow_broker=info shows what the brokers decide when a test fails.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let mut base = BrokerConfig {
        port: 0,
        data_dir: dir.to_path_buf(),
        replica_lag_time_max_ms: 1_500,
        broker_session_timeout_ms: 1_500,
        broker_heartbeat_interval_ms: 200,
        auto_leader_rebalance_enable: false,
        ..Default::default()
    };
    adjust(&mut base);
    Cluster::start(ClusterConfig { brokers, base, racks: BTreeMap::new() }).await.expect("cluster starts")
}

async fn conn(cluster: &Cluster, broker: i32) -> Conn {
    Conn::new(cluster.addresses().await[&broker]).await
}

/// Polls `check` until it returns `Some`, or panics with `what` after [`WAIT`].
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

async fn create(
    c: &mut Conn,
    name: &str,
    partitions: i32,
    rf: i16,
    assignment: Option<Vec<i32>>,
    configs: &[(&str, &str)],
) -> i16 {
    let mut t = create_topics_request::CreatableTopic::default();
    t.name = TopicName(s(name));
    match assignment {
        Some(replicas) => {
            t.num_partitions = -1;
            t.replication_factor = -1;
            let mut a = create_topics_request::CreatableReplicaAssignment::default();
            a.partition_index = 0;
            a.broker_ids = replicas.into_iter().map(BrokerId).collect();
            t.assignments = vec![a];
        }
        None => {
            t.num_partitions = partitions;
            t.replication_factor = rf;
        }
    }
    t.configs = configs
        .iter()
        .map(|(k, v)| {
            let mut c = create_topics_request::CreatableTopicConfig::default();
            c.name = s(k);
            c.value = Some(s(v));
            c
        })
        .collect();
    let mut r = CreateTopicsRequest::default();
    r.topics = vec![t];
    r.timeout_ms = 10_000;
    let ResponseKind::CreateTopics(resp) = c.call(RequestKind::CreateTopics(r), ApiKey::CreateTopics, 7).await else {
        panic!()
    };
    resp.topics[0].error_code
}

/// (leader, leader epoch, replicas, isr) of partition 0, as broker `via` sees it.
async fn partition_state(cluster: &Cluster, via: i32, topic: &str) -> (i32, i32, Vec<i32>, Vec<i32>) {
    let mut c = conn(cluster, via).await;
    let mut t = metadata_request::MetadataRequestTopic::default();
    t.name = Some(TopicName(s(topic)));
    let mut r = MetadataRequest::default();
    r.topics = Some(vec![t]);
    let ResponseKind::Metadata(m) = c.call(RequestKind::Metadata(r), ApiKey::Metadata, 12).await else { panic!() };
    let p = &m.topics[0].partitions[0];
    let ids = |v: &[BrokerId]| v.iter().map(|b| b.0).collect::<Vec<_>>();
    (p.leader_id.0, p.leader_epoch, ids(&p.replica_nodes), ids(&p.isr_nodes))
}

async fn produce_once(cluster: &Cluster, broker: i32, topic: &str, acks: i16, values: &[&str]) -> i16 {
    let mut c = conn(cluster, broker).await;
    let ResponseKind::Produce(p) = c.call(produce_req(topic, 0, acks, batch(values, -1, -1)), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    p.responses[0].partition_responses[0].error_code
}

/// Produces to `broker`, retrying while it has not yet taken up a leadership the metadata already
/// gives it (NOT_LEADER_OR_FOLLOWER for a moment after a change, as with Kafka; clients retry).
async fn produce(cluster: &Cluster, broker: i32, topic: &str, acks: i16, values: &[&str]) -> i16 {
    for _ in 0..50 {
        let code = produce_once(cluster, broker, topic, acks, values).await;
        if code != 6 {
            return code;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    6
}

/// The bytes of every `.log` segment of `topic`-0 on `broker`, in offset order.
fn log_bytes(dir: &std::path::Path, broker: i32, topic: &str) -> Vec<u8> {
    let part = dir.join(format!("broker-{broker}")).join(format!("{topic}-0"));
    let mut files: Vec<_> = std::fs::read_dir(&part)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files.iter().flat_map(|f| std::fs::read(f).unwrap()).collect()
}

/// (log end offset, high watermark, records truncated) of `topic`-0's replica on each running broker.
fn replica_offsets(cluster: &Cluster, topic: &str) -> BTreeMap<i32, (i64, i64, u64)> {
    cluster
        .observers()
        .iter()
        .filter_map(|(id, o)| {
            o.topic_partitions(topic)
                .into_iter()
                .next()
                .map(|v| (*id, (v.log_end_offset, v.high_watermark, v.records_truncated)))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acks_all_survives_a_killed_leader_and_replicas_stay_identical() {
    // Four brokers: 1-3 are the controller quorum, 4 only a broker. The partition lives on 4, 1
    // and 2, so two of its replicas can die while two controllers stay up.
    let dir = tempfile::tempdir().unwrap();
    let cluster = start(dir.path(), 4).await;
    let mut c = conn(&cluster, 1).await;
    assert_eq!(create(&mut c, "t", 1, 5, None, &[]).await, 38, "RF 5 on 4 brokers is INVALID_REPLICATION_FACTOR");
    assert_eq!(create(&mut c, "t", -1, -1, Some(vec![4, 1, 2]), &[("min.insync.replicas", "2")]).await, 0);
    let (leader, epoch, replicas, isr) = partition_state(&cluster, 1, "t").await;
    assert_eq!((leader, replicas.len(), isr.len()), (4, 3, 3));

    for i in 0..5 {
        assert_eq!(produce(&cluster, leader, "t", -1, &[&format!("a{i}"), "b"]).await, 0, "acks=all with a full ISR");
    }
    // A follower is not the leader: Kafka's NOT_LEADER_OR_FOLLOWER sends clients to the leader.
    let follower = *replicas.iter().find(|r| **r != leader).unwrap();
    assert_eq!(produce_once(&cluster, follower, "t", -1, &["x"]).await, 6);
    // KIP-951 (Produce v10+): the refusal names the leader, its epoch and its endpoint.
    let mut c = conn(&cluster, follower).await;
    let ResponseKind::Produce(p) = c.call(produce_req("t", 0, -1, batch(&["x"], -1, -1)), ApiKey::Produce, 12).await
    else {
        panic!()
    };
    let pr = &p.responses[0].partition_responses[0];
    assert_eq!((pr.error_code, pr.current_leader.leader_id.0, pr.current_leader.leader_epoch), (6, leader, epoch));
    assert_eq!(
        p.node_endpoints.iter().map(|e| (e.node_id.0, e.port)).collect::<Vec<_>>(),
        vec![(leader, cluster.addresses().await[&leader].port() as i32)]
    );
    eventually("every replica has the 10 records and the high watermark", || async {
        let o = replica_offsets(&cluster, "t");
        (o.len() == 3 && o.values().all(|(leo, hw, _)| *leo == 10 && *hw == 10)).then_some(())
    })
    .await;
    let bytes = log_bytes(dir.path(), leader, "t");
    for r in &replicas {
        assert_eq!(log_bytes(dir.path(), *r, "t"), bytes, "broker {r}'s replica is byte-identical to the leader's");
    }

    // Kill the leader: another in-sync replica takes over in a new epoch.
    cluster.fault(leader, FaultAction::Kill).await.unwrap();
    let survivor = *replicas.iter().find(|r| **r != leader).unwrap();
    let (new_leader, new_epoch, _, new_isr) = eventually("a new leader", || async {
        let s = partition_state(&cluster, survivor, "t").await;
        (s.0 != leader && s.0 >= 0 && !s.3.contains(&leader)).then_some(s)
    })
    .await;
    assert!(new_epoch > epoch, "the leader epoch moves with the leader");
    assert_eq!(new_isr.len(), 2);
    assert_eq!(
        produce(&cluster, new_leader, "t", -1, &["after"]).await,
        0,
        "acks=all with min.insync.replicas=2 survives one broker down"
    );

    // Kill a second broker: one replica left, below min.insync.replicas.
    let third = *replicas.iter().find(|r| **r != leader && **r != new_leader).unwrap();
    cluster.fault(third, FaultAction::Kill).await.unwrap();
    eventually("the ISR shrinks to the leader alone", || async {
        (partition_state(&cluster, new_leader, "t").await.3 == vec![new_leader]).then_some(())
    })
    .await;
    assert_eq!(produce(&cluster, new_leader, "t", -1, &["refused"]).await, 19, "NOT_ENOUGH_REPLICAS");
    assert_eq!(produce(&cluster, new_leader, "t", 1, &["acks1"]).await, 0, "acks=1 does not need the ISR");

    // Both come back, catch up and rejoin the ISR; every replica is identical again.
    cluster.fault(leader, FaultAction::Start).await.unwrap();
    cluster.fault(third, FaultAction::Start).await.unwrap();
    eventually("the ISR is whole again", || async {
        (partition_state(&cluster, new_leader, "t").await.3.len() == 3).then_some(())
    })
    .await;
    eventually("replicas converge", || async {
        let o = replica_offsets(&cluster, "t");
        (o.len() == 3 && o.values().all(|(leo, hw, _)| *leo == 12 && *hw == 12)).then_some(())
    })
    .await;
    let bytes = log_bytes(dir.path(), new_leader, "t");
    for r in &replicas {
        assert_eq!(log_bytes(dir.path(), *r, "t"), bytes, "broker {r} after rejoining");
    }
    let events = cluster.events_since(0);
    assert!(events.iter().any(|e| matches!(&e.event, ClusterEvent::LeaderChanged { topic, from, to, unclean: false, .. } if topic == "t" && *from == leader && *to == new_leader)), "{events:#?}");
    assert!(events.iter().any(|e| matches!(&e.event, ClusterEvent::BrokerFenced { broker } if *broker == leader)));
    assert!(events
        .iter()
        .any(|e| matches!(&e.event, ClusterEvent::IsrChanged { topic, to, .. } if topic == "t" && to.len() == 3)));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unclean_election_loses_records_and_the_returning_replica_truncates_them() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start(dir.path(), 3).await;
    let mut c = conn(&cluster, 3).await;
    assert_eq!(create(&mut c, "u", -1, -1, Some(vec![1, 2]), &[("unclean.leader.election.enable", "true")]).await, 0);
    assert_eq!(partition_state(&cluster, 3, "u").await.0, 1, "the first assigned replica leads");
    assert_eq!(produce(&cluster, 1, "u", -1, &["both-1", "both-2"]).await, 0);

    // Cut 1 from 2: the follower falls out of the ISR; acks=1 writes now reach broker 1 only.
    cluster.fault(1, FaultAction::Isolate { peer: Some(2) }).await.unwrap();
    eventually("broker 2 leaves the ISR", || async {
        (partition_state(&cluster, 3, "u").await.3 == vec![1]).then_some(())
    })
    .await;
    assert_eq!(produce(&cluster, 1, "u", 1, &["lost-1", "lost-2", "lost-3"]).await, 0);

    // The leader dies; only the out-of-sync replica is left, and the topic allows it to lead.
    cluster.fault(1, FaultAction::Kill).await.unwrap();
    cluster.fault(1, FaultAction::Heal { peer: Some(2) }).await.unwrap();
    let (leader, epoch, _, isr) = eventually("unclean election of broker 2", || async {
        let s = partition_state(&cluster, 3, "u").await;
        (s.0 == 2).then_some(s)
    })
    .await;
    assert_eq!(isr, vec![2]);
    assert_eq!(produce(&cluster, leader, "u", -1, &["new-1"]).await, 0);

    // Broker 1 returns as a follower in the new epoch and cuts the records the leader never had.
    cluster.fault(1, FaultAction::Start).await.unwrap();
    let offsets = eventually("broker 1 truncates and catches up", || async {
        let o = replica_offsets(&cluster, "u");
        (o.get(&1).zip(o.get(&2)).is_some_and(|(a, b)| a.0 == b.0 && a.0 == 3)).then_some(o)
    })
    .await;
    assert!(offsets[&1].2 >= 3, "broker 1 truncated its 3 divergent records: {offsets:?}");
    assert_eq!(log_bytes(dir.path(), 1, "u"), log_bytes(dir.path(), 2, "u"));
    assert!(partition_state(&cluster, 3, "u").await.1 >= epoch);
    let events = cluster.events_since(0);
    assert!(
        events.iter().any(
            |e| matches!(&e.event, ClusterEvent::LeaderChanged { topic, to: 2, unclean: true, .. } if topic == "u")
        ),
        "{events:#?}"
    );
    assert!(
        events.iter().any(
            |e| matches!(&e.event, ClusterEvent::Truncated { topic, broker: 1, from: 5, to: 2, .. } if topic == "u")
        ),
        "{events:#?}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_controller_fails_over_and_admin_requests_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start(dir.path(), 3).await;
    let controller = |m: &MetadataResponse| m.controller_id.0;
    let metadata = |broker: i32| {
        let cluster = &cluster;
        async move {
            let mut c = conn(cluster, broker).await;
            let ResponseKind::Metadata(m) =
                c.call(RequestKind::Metadata(MetadataRequest::default()), ApiKey::Metadata, 12).await
            else {
                panic!()
            };
            m
        }
    };
    // Clients are told the answering broker (KRaft's way); the active controller is the cluster's.
    assert_eq!(controller(&metadata(2).await), 2);
    let first = cluster.controller_id().expect("an active controller");
    assert!((1..=3).contains(&first));
    cluster.fault(first, FaultAction::Kill).await.unwrap();
    let other = if first == 1 { 2 } else { 1 };
    let second = eventually("another controller", || async {
        let m = metadata(other).await;
        let active = cluster.controller_id();
        (active.is_some_and(|c| c != first) && m.brokers.len() == 2).then(|| active.unwrap())
    })
    .await;
    assert_ne!(second, first);
    let mut c = conn(&cluster, other).await;
    assert_eq!(create(&mut c, "after-failover", 2, 2, None, &[]).await, 0, "the new controller takes changes");
    assert_eq!(create(&mut c, "too-many", 1, 3, None, &[]).await, 38, "only 2 brokers are live");
    cluster.fault(first, FaultAction::Start).await.unwrap();
    eventually("the restarted broker is back in Metadata", || async {
        (metadata(other).await.brokers.len() == 3).then_some(())
    })
    .await;
    // A stopped broker gives its leaderships away first (controlled shutdown).
    let (leader, ..) = partition_state(&cluster, other, "after-failover").await;
    cluster.fault(leader, FaultAction::Stop).await.unwrap();
    let via = (1..=3).find(|b| *b != leader).unwrap();
    let (after, ..) = partition_state(&cluster, via, "after-failover").await;
    assert_ne!(after, leader, "leadership moved before the broker stopped");
    assert!(cluster.fault(leader, FaultAction::Stop).await.is_err(), "stopping a stopped broker is refused");
    cluster.shutdown().await;
}

async fn call(cluster: &Cluster, broker: i32, req: RequestKind, key: ApiKey, version: i16) -> ResponseKind {
    conn(cluster, broker).await.call(req, key, version).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reassignment_copies_the_data_and_preferred_election_restores_the_leader() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start(dir.path(), 3).await;
    let mut c = conn(&cluster, 2).await;
    assert_eq!(create(&mut c, "r", -1, -1, Some(vec![1, 2]), &[]).await, 0);
    for i in 0..4 {
        assert_eq!(produce(&cluster, 1, "r", -1, &[&format!("m{i}")]).await, 0);
    }

    // Move the partition from [1, 2] to [3, 2]: 3 copies the data, then 1 is dropped.
    let mut p = alter_partition_reassignments_request::ReassignablePartition::default();
    p.partition_index = 0;
    p.replicas = Some(vec![BrokerId(3), BrokerId(2)]);
    let mut t = alter_partition_reassignments_request::ReassignableTopic::default();
    t.name = TopicName(s("r"));
    t.partitions = vec![p];
    let mut req = AlterPartitionReassignmentsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 10_000;
    let ResponseKind::AlterPartitionReassignments(resp) =
        call(&cluster, 2, RequestKind::AlterPartitionReassignments(req), ApiKey::AlterPartitionReassignments, 0).await
    else {
        panic!()
    };
    assert_eq!(resp.responses[0].partitions[0].error_code, 0, "{:?}", resp.responses[0].partitions[0].error_message);
    let (_, _, replicas, isr) = eventually("the move completes", || async {
        let s = partition_state(&cluster, 2, "r").await;
        (s.2 == vec![3, 2]).then_some(s)
    })
    .await;
    assert_eq!((replicas, isr), (vec![3, 2], vec![2, 3]));
    let ResponseKind::ListPartitionReassignments(list) = call(
        &cluster,
        1,
        RequestKind::ListPartitionReassignments(ListPartitionReassignmentsRequest::default()),
        ApiKey::ListPartitionReassignments,
        0,
    )
    .await
    else {
        panic!()
    };
    assert!(list.topics.is_empty(), "nothing in progress after completion");
    eventually("3 holds the data and 1 no longer holds a replica", || async {
        let o = replica_offsets(&cluster, "r");
        (o.get(&3).is_some_and(|x| x.0 == 4) && !o.contains_key(&1) && !dir.path().join("broker-1/r-0").exists())
            .then_some(())
    })
    .await;
    assert_eq!(log_bytes(dir.path(), 3, "r"), log_bytes(dir.path(), 2, "r"));

    // Preferred leader: 3 is preferred and leads; a controlled stop moves leadership to 2, and
    // ElectLeaders gives it back once 3 is in sync again.
    assert_eq!(partition_state(&cluster, 2, "r").await.0, 3);
    cluster.fault(3, FaultAction::Stop).await.unwrap();
    assert_eq!(partition_state(&cluster, 2, "r").await.0, 2);
    cluster.fault(3, FaultAction::Start).await.unwrap();
    eventually("3 is back in the ISR", || async {
        (partition_state(&cluster, 2, "r").await.3 == vec![2, 3]).then_some(())
    })
    .await;
    let mut tp = elect_leaders_request::TopicPartitions::default();
    tp.topic = TopicName(s("r"));
    tp.partitions = vec![0];
    let mut req = ElectLeadersRequest::default();
    req.election_type = 0;
    req.topic_partitions = Some(vec![tp]);
    req.timeout_ms = 10_000;
    let ResponseKind::ElectLeaders(resp) =
        call(&cluster, 1, RequestKind::ElectLeaders(req.clone()), ApiKey::ElectLeaders, 2).await
    else {
        panic!()
    };
    assert_eq!(resp.replica_election_results[0].partition_result[0].error_code, 0);
    assert_eq!(partition_state(&cluster, 1, "r").await.0, 3);
    let ResponseKind::ElectLeaders(resp) =
        call(&cluster, 1, RequestKind::ElectLeaders(req), ApiKey::ElectLeaders, 2).await
    else {
        panic!()
    };
    assert_eq!(resp.replica_election_results[0].partition_result[0].error_code, 84, "ELECTION_NOT_NEEDED");
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn automatic_rebalance_gives_preferred_leaders_back() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start_with(dir.path(), 3, |c| {
        c.auto_leader_rebalance_enable = true;
        c.leader_imbalance_check_interval_ms = 500;
    })
    .await;
    let mut c = conn(&cluster, 3).await;
    assert_eq!(create(&mut c, "pref", -1, -1, Some(vec![1, 2, 3]), &[]).await, 0);
    cluster.fault(1, FaultAction::Stop).await.unwrap();
    assert_eq!(partition_state(&cluster, 3, "pref").await.0, 2, "a controlled stop hands leadership to 2");
    cluster.fault(1, FaultAction::Start).await.unwrap();
    // No ElectLeaders: the controller's imbalance check moves it back once 1 is in sync again.
    eventually("broker 1 leads again", || async { (partition_state(&cluster, 3, "pref").await.0 == 1).then_some(()) })
        .await;
    let events = cluster.events_since(0);
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.event, ClusterEvent::LeaderChanged { topic, from: 2, to: 1, .. } if topic == "pref")),
        "{events:#?}"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_paused_broker_is_fenced_and_a_paused_one_can_still_be_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start(dir.path(), 3).await;
    let mut c = conn(&cluster, 1).await;
    assert_eq!(create(&mut c, "p", -1, -1, Some(vec![2, 1, 3]), &[]).await, 0);
    cluster.fault(2, FaultAction::Pause).await.unwrap();
    // Connected but silent: its heartbeats stop, the controller fences it and moves its leadership.
    let (leader, ..) = eventually("leadership leaves the paused broker", || async {
        let s = partition_state(&cluster, 1, "p").await;
        (s.0 != 2 && s.0 > 0 && !s.3.contains(&2)).then_some(s)
    })
    .await;
    assert_eq!(leader, 1);
    assert_eq!(produce(&cluster, 1, "p", -1, &["while-paused"]).await, 0);
    cluster.fault(2, FaultAction::Resume).await.unwrap();
    eventually("the resumed broker rejoins the ISR", || async {
        (partition_state(&cluster, 1, "p").await.3.len() == 3).then_some(())
    })
    .await;
    cluster.fault(2, FaultAction::Pause).await.unwrap();
    assert_eq!(cluster.fault(2, FaultAction::Stop).await.unwrap().state, "stopped");
    cluster.shutdown().await;
}
