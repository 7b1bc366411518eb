//! The group coordinator over the wire, against real brokers: FindCoordinator naming the leader
//! of the group's `__consumer_offsets` partition, the classic protocol and offsets APIs, the
//! internal topic itself, a restart of a one-broker cluster, and a coordinator failover on a
//! three-broker cluster (kill the coordinator: FindCoordinator moves, the offsets and the group
//! are intact at the new one), and the same for a KIP-848 consumer group (ConsumerGroupHeartbeat:
//! members share the partitions, one leaves, the group survives a failover with its epochs, a
//! silent member is fenced). Requests are raw Kafka protocol (see `common`); every wait is
//! bounded and asserts a state, never a duration.

mod common;

use bytes::Bytes;
use common::*;
use kafka_protocol::messages::*;
use oxbow_broker::{BrokerConfig, Cluster, ClusterConfig, FaultAction};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const NOT_COORDINATOR: i16 = 16;

async fn start(dir: &std::path::Path, brokers: usize) -> Cluster {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let base = BrokerConfig {
        port: 0,
        data_dir: dir.to_path_buf(),
        replica_lag_time_max_ms: 1_500,
        broker_session_timeout_ms: 1_500,
        broker_heartbeat_interval_ms: 200,
        auto_leader_rebalance_enable: false,
        // Few partitions keep the test quick; the mapping is the same `abs(hash) % n`.
        offsets_topic_num_partitions: 5,
        // KIP-848 members: a short session so a silent member is fenced within the test.
        group_consumer_session_timeout_ms: 6_000,
        group_consumer_heartbeat_interval_ms: 500,
        ..Default::default()
    };
    Cluster::start(ClusterConfig { brokers, base, racks: BTreeMap::new() }).await.expect("cluster starts")
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

/// FindCoordinator v3 for `group`: (error, node id).
async fn find(c: &mut Conn, group: &str) -> (i16, i32) {
    let mut r = FindCoordinatorRequest::default();
    r.key = s(group);
    let ResponseKind::FindCoordinator(resp) = c.call(RequestKind::FindCoordinator(r), ApiKey::FindCoordinator, 3).await
    else {
        panic!()
    };
    (resp.error_code, resp.node_id.0)
}

/// A connection to `group`'s coordinator once it serves the group (loaded), asking through `via`.
async fn coordinator(cluster: &Cluster, via: i32, group: &str) -> (i32, Conn) {
    let addrs = cluster.addresses().await;
    eventually(&format!("a coordinator that serves {group}"), || async {
        let mut c = Conn::new(addrs[&via]).await;
        let (code, node) = find(&mut c, group).await;
        if code != 0 {
            assert!(code == COORDINATOR_NOT_AVAILABLE, "FindCoordinator: unexpected error {code}");
            return None;
        }
        let mut cc = Conn::new(*cluster.addresses().await.get(&node)?).await;
        let (_, d) = describe(&mut cc, group).await;
        (d != COORDINATOR_LOAD_IN_PROGRESS && d != NOT_COORDINATOR).then_some((node, cc))
    })
    .await
}

/// DescribeGroups v5 for one group: (state, error).
async fn describe(c: &mut Conn, group: &str) -> (String, i16) {
    let mut r = DescribeGroupsRequest::default();
    r.groups = vec![GroupId(s(group))];
    let ResponseKind::DescribeGroups(resp) = c.call(RequestKind::DescribeGroups(r), ApiKey::DescribeGroups, 5).await
    else {
        panic!()
    };
    (resp.groups[0].group_state.to_string(), resp.groups[0].error_code)
}

async fn join(c: &mut Conn, version: i16, group: &str, member: &str, instance: Option<&str>) -> JoinGroupResponse {
    let mut p = join_group_request::JoinGroupRequestProtocol::default();
    p.name = s("range");
    p.metadata = Bytes::from_static(b"\x00\x00\x00\x00\x00\x01\x00\x01t\xff\xff\xff\xff");
    let mut r = JoinGroupRequest::default();
    r.group_id = GroupId(s(group));
    r.member_id = s(member);
    r.session_timeout_ms = 30_000;
    r.rebalance_timeout_ms = 30_000;
    r.protocol_type = s("consumer");
    r.protocols = vec![p];
    if version >= 5 {
        r.group_instance_id = instance.map(s);
    }
    let ResponseKind::JoinGroup(resp) = c.call(RequestKind::JoinGroup(r), ApiKey::JoinGroup, version).await else {
        panic!()
    };
    resp
}

async fn sync(
    c: &mut Conn,
    group: &str,
    member: &str,
    generation: i32,
    assignment: Option<&'static [u8]>,
) -> SyncGroupResponse {
    let mut r = SyncGroupRequest::default();
    r.group_id = GroupId(s(group));
    r.member_id = s(member);
    r.generation_id = generation;
    if let Some(a) = assignment {
        let mut x = sync_group_request::SyncGroupRequestAssignment::default();
        x.member_id = s(member);
        x.assignment = Bytes::from_static(a);
        r.assignments = vec![x];
    }
    let ResponseKind::SyncGroup(resp) = c.call(RequestKind::SyncGroup(r), ApiKey::SyncGroup, 5).await else { panic!() };
    resp
}

async fn heartbeat(c: &mut Conn, group: &str, member: &str, generation: i32) -> i16 {
    let mut r = HeartbeatRequest::default();
    r.group_id = GroupId(s(group));
    r.member_id = s(member);
    r.generation_id = generation;
    let ResponseKind::Heartbeat(resp) = c.call(RequestKind::Heartbeat(r), ApiKey::Heartbeat, 4).await else { panic!() };
    resp.error_code
}

/// OffsetCommit v9 of `topic` partitions: per-partition codes.
async fn commit(
    c: &mut Conn,
    group: &str,
    member: &str,
    generation: i32,
    topic: &str,
    offsets: &[(i32, i64, &str)],
) -> Vec<i16> {
    let mut t = offset_commit_request::OffsetCommitRequestTopic::default();
    t.name = TopicName(s(topic));
    t.partitions = offsets
        .iter()
        .map(|(p, o, m)| {
            let mut x = offset_commit_request::OffsetCommitRequestPartition::default();
            x.partition_index = *p;
            x.committed_offset = *o;
            x.committed_leader_epoch = 0;
            x.committed_metadata = Some(s(m));
            x
        })
        .collect();
    let mut r = OffsetCommitRequest::default();
    r.group_id = GroupId(s(group));
    r.member_id = s(member);
    r.generation_id_or_member_epoch = generation;
    r.topics = vec![t];
    let ResponseKind::OffsetCommit(resp) = c.call(RequestKind::OffsetCommit(r), ApiKey::OffsetCommit, 9).await else {
        panic!()
    };
    resp.topics[0].partitions.iter().map(|p| p.error_code).collect()
}

/// OffsetFetch v8 for several groups at once (all partitions each): group → (error, [(topic, partition, offset, metadata)]).
async fn fetch_all(
    c: &mut Conn,
    groups: &[&str],
    require_stable: bool,
) -> BTreeMap<String, (i16, Vec<(String, i32, i64, String)>)> {
    let mut r = OffsetFetchRequest::default();
    r.require_stable = require_stable;
    r.groups = groups
        .iter()
        .map(|g| {
            let mut x = offset_fetch_request::OffsetFetchRequestGroup::default();
            x.group_id = GroupId(s(g));
            x.topics = None;
            x
        })
        .collect();
    let ResponseKind::OffsetFetch(resp) = c.call(RequestKind::OffsetFetch(r), ApiKey::OffsetFetch, 8).await else {
        panic!()
    };
    resp.groups
        .iter()
        .map(|g| {
            let parts = g
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(move |p| {
                        (
                            t.name.to_string(),
                            p.partition_index,
                            p.committed_offset,
                            p.metadata.clone().unwrap_or_default().to_string(),
                        )
                    })
                })
                .collect();
            (g.group_id.to_string(), (g.error_code, parts))
        })
        .collect()
}

async fn list(c: &mut Conn, version: i16, states: &[&str], types: &[&str]) -> (i16, Vec<(String, String)>) {
    let mut r = ListGroupsRequest::default();
    r.states_filter = states.iter().map(|x| s(x)).collect();
    if version >= 5 {
        r.types_filter = types.iter().map(|x| s(x)).collect();
    }
    let ResponseKind::ListGroups(resp) = c.call(RequestKind::ListGroups(r), ApiKey::ListGroups, version).await else {
        panic!()
    };
    (resp.error_code, resp.groups.iter().map(|g| (g.group_id.to_string(), g.group_state.to_string())).collect())
}

/// A member in a Stable group: (member id, generation). The join goes through KIP-394.
async fn stable_member(c: &mut Conn, group: &str) -> (String, i32) {
    let first = join(c, 9, group, "", None).await;
    assert_eq!(first.error_code, 79, "MEMBER_ID_REQUIRED on a v4+ first join");
    let j = join(c, 9, group, &first.member_id, None).await;
    assert_eq!((j.error_code, j.leader.as_str()), (0, j.member_id.as_str()));
    let sg = sync(c, group, &j.member_id, j.generation_id, Some(b"assigned")).await;
    assert_eq!((sg.error_code, sg.assignment.as_ref()), (0, &b"assigned"[..]));
    (j.member_id.to_string(), j.generation_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_and_offsets_over_the_wire_and_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start(dir.path(), 1).await;
    let mut c = Conn::new(cluster.addresses().await[&1]).await;
    create_topic(&mut c, "t", 3).await;

    // Before the first lookup there is no __consumer_offsets: group requests are not served here.
    assert_eq!(heartbeat(&mut c, "g", "m", 1).await, NOT_COORDINATOR);
    let (_, mut c) = coordinator(&cluster, 1, "g").await;
    // The internal topic: flagged in Metadata, 5 partitions, compacted, closed to producers.
    let mut mt = metadata_request::MetadataRequestTopic::default();
    mt.name = Some(TopicName(s("__consumer_offsets")));
    let mut mr = MetadataRequest::default();
    mr.topics = Some(vec![mt]);
    let ResponseKind::Metadata(m) = c.call(RequestKind::Metadata(mr), ApiKey::Metadata, 12).await else { panic!() };
    assert_eq!((m.topics[0].error_code, m.topics[0].is_internal, m.topics[0].partitions.len()), (0, true, 5));
    let ResponseKind::Produce(p) =
        c.call(produce_req("__consumer_offsets", 0, 1, batch(&["x"], -1, -1)), ApiKey::Produce, 9).await
    else {
        panic!()
    };
    assert_eq!(
        p.responses[0].partition_responses[0].error_code, 17,
        "INVALID_TOPIC_EXCEPTION: clients cannot write internal topics"
    );
    let mut dc = describe_configs_request::DescribeConfigsResource::default();
    dc.resource_type = 2;
    dc.resource_name = s("__consumer_offsets");
    let mut dr = DescribeConfigsRequest::default();
    dr.resources = vec![dc];
    let ResponseKind::DescribeConfigs(d) = c.call(RequestKind::DescribeConfigs(dr), ApiKey::DescribeConfigs, 4).await
    else {
        panic!()
    };
    let cfg: BTreeMap<String, String> = d.results[0]
        .configs
        .iter()
        .map(|x| (x.name.to_string(), x.value.clone().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(
        (cfg["cleanup.policy"].as_str(), cfg["compression.type"].as_str(), cfg["segment.bytes"].as_str()),
        ("compact", "producer", "104857600")
    );

    let (member, generation) = stable_member(&mut c, "g").await;
    assert_eq!(
        commit(&mut c, "g", &member, generation, "t", &[(0, 10, "zero"), (1, 11, "one"), (7, 1, "")]).await,
        vec![0, 0, 3]
    );
    assert_eq!(commit(&mut c, "g", &member, generation + 1, "t", &[(0, 12, "")]).await, vec![22], "ILLEGAL_GENERATION");
    assert_eq!(
        commit(&mut c, "g", "", -1, "t", &[(0, 0, "")]).await,
        vec![25],
        "the admin client cannot commit for an active group: UNKNOWN_MEMBER_ID"
    );
    assert_eq!(commit(&mut c, "missing", "m", 3, "t", &[(0, 0, "")]).await, vec![69], "v9: GROUP_ID_NOT_FOUND");
    assert_eq!(commit(&mut c, "standalone", "", -1, "t", &[(2, 5, "s")]).await, vec![0]);
    let fetched = fetch_all(&mut c, &["g", "standalone", "nobody"], true).await;
    assert_eq!(
        fetched["g"],
        (0, vec![("t".into(), 0, 10, "zero".into()), ("t".into(), 1, 11, "one".into())]),
        "metadata round-trips"
    );
    assert_eq!(fetched["standalone"].1, vec![("t".into(), 2, 5, "s".into())]);
    assert_eq!(fetched["nobody"], (0, vec![]));

    let (code, groups) = list(&mut c, 5, &["stable"], &["classic"]).await;
    assert_eq!((code, groups), (0, vec![("g".to_string(), "Stable".to_string())]), "v4 states and v5 types filters");
    assert_eq!(list(&mut c, 5, &[], &["consumer"]).await.1, vec![], "no KIP-848 groups");
    assert_eq!(list(&mut c, 4, &["empty"], &[]).await.1, vec![("standalone".to_string(), "Empty".to_string())]);
    assert_eq!(describe(&mut c, "g").await, ("Stable".to_string(), 0));
    assert_eq!(describe(&mut c, "missing").await, ("Dead".to_string(), 0));

    // DeleteGroups and OffsetDelete.
    let mut dg = DeleteGroupsRequest::default();
    dg.groups_names = vec![GroupId(s("g")), GroupId(s("missing"))];
    let ResponseKind::DeleteGroups(r) = c.call(RequestKind::DeleteGroups(dg), ApiKey::DeleteGroups, 2).await else {
        panic!()
    };
    assert_eq!(
        r.results.iter().map(|x| x.error_code).collect::<Vec<_>>(),
        vec![68, 69],
        "NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND"
    );
    let mut od = OffsetDeleteRequest::default();
    od.group_id = GroupId(s("g"));
    let mut ot = offset_delete_request::OffsetDeleteRequestTopic::default();
    ot.name = TopicName(s("t"));
    ot.partitions = [0, 1]
        .iter()
        .map(|p| {
            let mut x = offset_delete_request::OffsetDeleteRequestPartition::default();
            x.partition_index = *p;
            x
        })
        .collect();
    od.topics = vec![ot];
    let ResponseKind::OffsetDelete(r) = c.call(RequestKind::OffsetDelete(od.clone()), ApiKey::OffsetDelete, 0).await
    else {
        panic!()
    };
    assert_eq!(
        (r.error_code, r.topics[0].partitions[0].error_code),
        (0, 86),
        "GROUP_SUBSCRIBED_TO_TOPIC: the member consumes t"
    );

    // A restart of the whole (one-broker) cluster: the group, its member and offsets come back.
    drop(c);
    cluster.shutdown().await;
    let cluster = start(dir.path(), 1).await;
    let (_, mut c) = coordinator(&cluster, 1, "g").await;
    assert_eq!(describe(&mut c, "g").await, ("Stable".to_string(), 0));
    assert_eq!(heartbeat(&mut c, "g", &member, generation).await, 0, "the member resumes in its generation");
    assert_eq!(sync(&mut c, "g", &member, generation, None).await.assignment.as_ref(), &b"assigned"[..]);
    let fetched = fetch_all(&mut c, &["g", "standalone"], false).await;
    assert_eq!(fetched["g"].1, vec![("t".into(), 0, 10, "zero".into()), ("t".into(), 1, 11, "one".into())]);
    assert_eq!(fetched["standalone"].1, vec![("t".into(), 2, 5, "s".into())]);

    // The member leaves (v3+ batch): the group is Empty; offsets can be deleted, then the group.
    let mut lr = LeaveGroupRequest::default();
    lr.group_id = GroupId(s("g"));
    let mut me = leave_group_request::MemberIdentity::default();
    me.member_id = s(&member);
    let mut ghost = leave_group_request::MemberIdentity::default();
    ghost.member_id = s("ghost");
    lr.members = vec![me, ghost];
    let ResponseKind::LeaveGroup(r) = c.call(RequestKind::LeaveGroup(lr), ApiKey::LeaveGroup, 5).await else {
        panic!()
    };
    assert_eq!(r.members.iter().map(|m| m.error_code).collect::<Vec<_>>(), vec![0, 25]);
    let ResponseKind::OffsetDelete(r) = c.call(RequestKind::OffsetDelete(od), ApiKey::OffsetDelete, 0).await else {
        panic!()
    };
    assert_eq!((r.error_code, r.topics[0].partitions[0].error_code, r.topics[0].partitions[1].error_code), (0, 0, 0));
    assert_eq!(fetch_all(&mut c, &["g"], false).await["g"].1, vec![]);
    let mut dg = DeleteGroupsRequest::default();
    dg.groups_names = vec![GroupId(s("g"))];
    let ResponseKind::DeleteGroups(r) = c.call(RequestKind::DeleteGroups(dg), ApiKey::DeleteGroups, 2).await else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, 0);
    assert_eq!(describe(&mut c, "g").await, ("Dead".to_string(), 0));
    drop(c);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn coordinator_failover_keeps_offsets_and_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = start(dir.path(), 3).await;
    let mut c = Conn::new(cluster.addresses().await[&1]).await;
    create_topic(&mut c, "t", 2).await;
    let (old, mut cc) = coordinator(&cluster, 1, "failover-group").await;
    let (member, generation) = stable_member(&mut cc, "failover-group").await;
    // A static member joins too (its instance mapping must survive the move as well); the
    // dynamic member hears of the rebalance in its heartbeat and rejoins.
    let addr = cluster.addresses().await[&old];
    let static_join = tokio::spawn(async move {
        let mut c = Conn::new(addr).await;
        let r = join(&mut c, 7, "failover-group", "", Some("inst-1")).await;
        (c, r)
    });
    let deadline = Instant::now() + WAIT;
    while heartbeat(&mut cc, "failover-group", &member, generation).await != 27 {
        assert!(Instant::now() < deadline, "the member never heard of the rebalance (REBALANCE_IN_PROGRESS)");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rejoined = join(&mut cc, 9, "failover-group", &member, None).await;
    let (mut cs, sj) = static_join.await.unwrap();
    assert_eq!((rejoined.error_code, sj.error_code), (0, 0), "a static member needs no second join");
    let gen2 = rejoined.generation_id;
    assert_eq!((gen2, sj.generation_id, rejoined.leader.as_str()), (generation + 1, gen2, member.as_str()));
    assert_eq!(sync(&mut cc, "failover-group", &member, gen2, Some(b"leader-part")).await.error_code, 0);
    assert_eq!(sync(&mut cs, "failover-group", &sj.member_id, gen2, None).await.error_code, 0);
    assert_eq!(
        commit(&mut cc, "failover-group", &member, gen2, "t", &[(0, 100, "before"), (1, 200, "")]).await,
        vec![0, 0]
    );

    // Kill the coordinator: the partition moves, and so does the group.
    drop(cc);
    drop(cs);
    cluster.fault(old, FaultAction::Kill).await.unwrap();
    let via = if old == 1 { 2 } else { 1 };
    let (new, mut cc) = coordinator(&cluster, via, "failover-group").await;
    assert_ne!(new, old, "FindCoordinator names the partition's new leader");
    let fetched = fetch_all(&mut cc, &["failover-group"], true).await;
    assert_eq!(
        fetched["failover-group"],
        (0, vec![("t".into(), 0, 100, "before".into()), ("t".into(), 1, 200, "".into())]),
        "committed offsets intact"
    );
    assert_eq!(describe(&mut cc, "failover-group").await.0, "Stable");
    // The group resumes: the members' ids and generation are valid at the new coordinator.
    assert_eq!(heartbeat(&mut cc, "failover-group", &member, gen2).await, 0);
    assert_eq!(sync(&mut cc, "failover-group", &member, gen2, None).await.assignment.as_ref(), &b"leader-part"[..]);
    assert_eq!(commit(&mut cc, "failover-group", &member, gen2, "t", &[(0, 101, "after")]).await, vec![0]);
    // The old coordinator comes back as a follower of that partition: it does not serve the group.
    cluster.fault(old, FaultAction::Start).await.unwrap();
    let mut back = eventually("the old coordinator is back", || async {
        let addr = *cluster.addresses().await.get(&old)?;
        tokio::net::TcpStream::connect(addr).await.ok()?;
        Some(Conn::new(addr).await)
    })
    .await;
    let deadline = Instant::now() + WAIT;
    while heartbeat(&mut back, "failover-group", &member, gen2).await != NOT_COORDINATOR {
        assert!(Instant::now() < deadline, "the restarted broker should refuse the group it no longer leads");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (now, mut cc) = coordinator(&cluster, old, "failover-group").await;
    assert_eq!(now, new);
    assert_eq!(
        fetch_all(&mut cc, &["failover-group"], false).await["failover-group"].1[0],
        ("t".into(), 0, 101, "after".into())
    );
    drop(cc);
    drop(back);
    cluster.shutdown().await;
}

// ---- KIP-848 consumer groups ----

/// A KIP-848 member as a client keeps it: its id, epoch and the partitions it owns.
struct Kip848Member {
    id: String,
    epoch: i32,
    owned: Vec<i32>,
}

/// ConsumerGroupHeartbeat v1. A join (epoch 0) subscribes to `topic`; later heartbeats report what the
/// member owns, as clients do after a change.
async fn cg_heartbeat(
    c: &mut Conn,
    group: &str,
    m: &Kip848Member,
    topic: &str,
    topic_id: uuid::Uuid,
) -> ConsumerGroupHeartbeatResponse {
    let mut r = ConsumerGroupHeartbeatRequest::default();
    r.group_id = GroupId(s(group));
    r.member_id = s(&m.id);
    r.member_epoch = m.epoch;
    r.rebalance_timeout_ms = if m.epoch == 0 { 30_000 } else { -1 };
    if m.epoch == 0 {
        r.subscribed_topic_names = Some(vec![TopicName(s(topic))]);
        r.server_assignor = Some(s("uniform"));
    }
    if m.epoch >= 0 {
        let mut tp = consumer_group_heartbeat_request::TopicPartitions::default();
        tp.topic_id = topic_id;
        tp.partitions = m.owned.clone();
        r.topic_partitions = Some(if m.owned.is_empty() { vec![] } else { vec![tp] });
    }
    let ResponseKind::ConsumerGroupHeartbeat(resp) =
        c.call(RequestKind::ConsumerGroupHeartbeat(r), ApiKey::ConsumerGroupHeartbeat, 1).await
    else {
        panic!()
    };
    resp
}

/// Heartbeats every member, taking each answer as a client does (it owns what it is told at once).
async fn cg_round(c: &mut Conn, group: &str, members: &mut [Kip848Member], topic: &str, topic_id: uuid::Uuid) {
    for m in members.iter_mut() {
        let resp = cg_heartbeat(c, group, m, topic, topic_id).await;
        assert_eq!(resp.error_code, 0, "heartbeat of {}: {:?}", m.id, resp.error_message);
        m.epoch = resp.member_epoch;
        if let Some(a) = resp.assignment {
            m.owned = a.topic_partitions.iter().flat_map(|tp| tp.partitions.iter().copied()).collect();
            m.owned.sort_unstable();
        }
    }
}

/// ConsumerGroupDescribe v1: (error, state, group epoch, assignment epoch, members' (id, epoch, topic names of the assignment)).
async fn cg_describe(c: &mut Conn, group: &str) -> (i16, String, i32, i32, Vec<(String, i32, Vec<String>)>) {
    let mut r = ConsumerGroupDescribeRequest::default();
    r.group_ids = vec![GroupId(s(group))];
    let ResponseKind::ConsumerGroupDescribe(resp) =
        c.call(RequestKind::ConsumerGroupDescribe(r), ApiKey::ConsumerGroupDescribe, 1).await
    else {
        panic!()
    };
    let g = &resp.groups[0];
    let members = g
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                m.member_epoch,
                m.assignment.topic_partitions.iter().map(|tp| tp.topic_name.to_string()).collect(),
            )
        })
        .collect();
    (g.error_code, g.group_state.to_string(), g.group_epoch, g.assignment_epoch, members)
}

/// Heartbeats until the group is Stable; every partition then has exactly one owner.
async fn cg_settle(
    c: &mut Conn,
    group: &str,
    members: &mut [Kip848Member],
    topic: &str,
    topic_id: uuid::Uuid,
    partitions: i32,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        cg_round(c, group, members, topic, topic_id).await;
        if cg_describe(c, group).await.1 == "Stable" {
            break;
        }
        assert!(Instant::now() < deadline, "the consumer group never became Stable");
    }
    let mut all: Vec<i32> = members.iter().flat_map(|m| m.owned.iter().copied()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..partitions).collect::<Vec<_>>(), "disjoint assignments covering every partition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consumer_group_protocol_members_leave_fail_over_and_expire() {
    const G: &str = "kip848-group";
    let dir = tempfile::tempdir().unwrap();
    let cluster = start(dir.path(), 3).await;
    let mut c = Conn::new(cluster.addresses().await[&1]).await;
    let topic_id = create_topic(&mut c, "t848", 4).await;
    let (old, mut cc) = coordinator(&cluster, 1, G).await;
    let new_member = |id: &str| Kip848Member { id: id.into(), epoch: 0, owned: vec![] };
    let mut members = vec![new_member("member-a"), new_member("member-b"), new_member("member-c")];

    // Three members share the four partitions; c leaves and a and b take its partition over.
    cg_settle(&mut cc, G, &mut members, "t848", topic_id, 4).await;
    assert!(members.iter().all(|m| !m.owned.is_empty()), "uniform gives each member something");
    let mut c_member = members.pop().unwrap();
    c_member.epoch = -1;
    let left = cg_heartbeat(&mut cc, G, &c_member, "t848", topic_id).await;
    assert_eq!((left.error_code, left.member_epoch), (0, -1));
    cg_settle(&mut cc, G, &mut members, "t848", topic_id, 4).await;
    let (code, state, group_epoch, assignment_epoch, described) = cg_describe(&mut cc, G).await;
    assert_eq!(
        (code, state.as_str(), group_epoch, assignment_epoch, described.len()),
        (0, "Stable", 4, 4, 2),
        "3 joins and a leave"
    );
    assert!(described.iter().all(|(_, e, topics)| *e == 4 && topics.iter().all(|t| t == "t848")), "{described:?}");
    let (code, listed) = list(&mut cc, 5, &[], &["consumer"]).await;
    assert_eq!((code, listed), (0, vec![(G.to_string(), "Stable".to_string())]));
    assert_eq!(
        describe(&mut cc, G).await,
        ("Dead".to_string(), 0),
        "DescribeGroups v5 knows no classic group of that name"
    );

    // Offsets are committed with member epochs.
    let a = &members[0];
    assert_eq!(commit(&mut cc, G, &a.id, a.epoch, "t848", &[(a.owned[0], 42, "a")]).await, vec![0]);
    assert_eq!(
        commit(&mut cc, G, &a.id, a.epoch + 5, "t848", &[(a.owned[0], 43, "")]).await,
        vec![113],
        "STALE_MEMBER_EPOCH"
    );
    assert_eq!(
        commit(&mut cc, G, "nobody", a.epoch, "t848", &[(a.owned[0], 43, "")]).await,
        vec![25],
        "UNKNOWN_MEMBER_ID"
    );

    // The coordinator dies: the new one loads the group with its epochs and the members carry on.
    drop(cc);
    cluster.fault(old, FaultAction::Kill).await.unwrap();
    let via = if old == 1 { 2 } else { 1 };
    let (new, mut cc) = coordinator(&cluster, via, G).await;
    assert_ne!(new, old);
    let (_, state, epoch_after, _, described_after) = cg_describe(&mut cc, G).await;
    assert_eq!(
        (state.as_str(), epoch_after, described_after),
        ("Stable", group_epoch, described),
        "reloaded as it was"
    );
    let owned_before: Vec<Vec<i32>> = members.iter().map(|m| m.owned.clone()).collect();
    cg_round(&mut cc, G, &mut members, "t848", topic_id).await;
    assert_eq!(
        members.iter().map(|m| m.owned.clone()).collect::<Vec<_>>(),
        owned_before,
        "members keep their partitions"
    );
    assert!(members.iter().all(|m| m.epoch == 4), "and their epochs");
    let fetched = fetch_all(&mut cc, &[G], false).await;
    assert_eq!(fetched[G].1, vec![("t848".to_string(), members[0].owned[0], 42, "a".to_string())]);

    // b falls silent: after the session timeout it is fenced and a gets everything.
    let mut a = members.remove(0);
    let b = members.remove(0);
    let deadline = Instant::now() + WAIT;
    while a.owned.len() < 4 {
        assert!(Instant::now() < deadline, "the silent member was never fenced");
        cg_round(&mut cc, G, std::slice::from_mut(&mut a), "t848", topic_id).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(cg_heartbeat(&mut cc, G, &b, "t848", topic_id).await.error_code, 25, "b was fenced: UNKNOWN_MEMBER_ID");
    drop(cc);
    cluster.shutdown().await;
}
