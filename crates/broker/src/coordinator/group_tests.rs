//! Deterministic tests of the group coordinator: the state machine driven through its locked
//! entry points (no runtime, a manual clock), over an in-memory `__consumer_offsets` log whose
//! appends are replicated at once unless a test holds or fails them. Loading reads that log back,
//! so "restart" is a second coordinator over the same bytes.

use super::*;
use crate::coordinator::group_records as rec;
use std::sync::Mutex as StdMutex;

/// An in-memory log per partition: batches with their base offsets patched in, as a leader would.
/// Batches of each partition, with their base offsets.
type Partitions = HashMap<i32, Vec<(i64, Vec<u8>)>>;

#[derive(Default)]
struct MemLog {
    parts: StdMutex<Partitions>,
    /// Appends fail with this code (before writing), when set.
    fail_append: StdMutex<Option<i16>>,
    /// Replication fails with this code (after writing), when set.
    fail_replication: StdMutex<Option<i16>>,
}

impl MemLog {
    fn next_offset(parts: &Partitions, p: i32) -> i64 {
        parts.get(&p).and_then(|v| v.last()).map_or(0, |(base, b)| {
            base + i64::from(oxbow_log::batch::BatchHeader::parse(b).unwrap().last_offset_delta) + 1
        })
    }

    /// Appends a batch as-is (tests use it for control batches the transaction side writes).
    fn append_raw(&self, p: i32, mut batch: Vec<u8>) {
        let mut parts = self.parts.lock().unwrap();
        let base = Self::next_offset(&parts, p);
        oxbow_log::batch::set_base_offset(&mut batch, base);
        parts.entry(p).or_default().push((base, batch));
    }

    /// Every record in partition `p`, decoded, with whether its batch was transactional.
    fn records(&self, p: i32) -> Vec<(CoordinatorRecord, bool)> {
        let parts = self.parts.lock().unwrap();
        let mut out = Vec::new();
        for (_, b) in parts.get(&p).into_iter().flatten() {
            let h = oxbow_log::batch::BatchHeader::parse(b).unwrap();
            if h.is_control() {
                continue;
            }
            for r in oxbow_log::record::decode_records(b).unwrap() {
                out.push((rec::decode(r.key.as_ref().unwrap(), r.value.as_deref()).unwrap(), h.is_transactional()));
            }
        }
        out
    }
}

impl OffsetsLog for MemLog {
    fn append(&self, partition: i32, _epoch: i32, batch: BytesMut) -> Result<Appended, i16> {
        if let Some(code) = *self.fail_append.lock().unwrap() {
            return Err(code);
        }
        let mut parts = self.parts.lock().unwrap();
        let base = Self::next_offset(&parts, partition);
        let mut b = batch.to_vec();
        oxbow_log::batch::set_base_offset(&mut b, base);
        parts.entry(partition).or_default().push((base, b));
        let result = match *self.fail_replication.lock().unwrap() {
            Some(code) => Err(code),
            None => Ok(()),
        };
        Ok(Appended { base_offset: base, replicated: Box::pin(async move { result }) })
    }

    fn range(&self, partition: i32) -> Result<(i64, i64), i16> {
        let parts = self.parts.lock().unwrap();
        Ok((0, Self::next_offset(&parts, partition)))
    }

    fn read(&self, partition: i32, offset: i64, max_bytes: usize, end: i64) -> Result<Bytes, i16> {
        let parts = self.parts.lock().unwrap();
        let mut out = Vec::new();
        for (base, b) in parts.get(&partition).into_iter().flatten() {
            let h = oxbow_log::batch::BatchHeader::parse(b).unwrap();
            if h.last_offset() < offset || *base >= end {
                continue;
            }
            if !out.is_empty() && out.len() + b.len() > max_bytes {
                break;
            }
            out.extend_from_slice(b);
        }
        Ok(Bytes::from(out))
    }
}

/// A clock the test moves.
#[derive(Clone)]
struct ManualClock(Arc<StdMutex<(Instant, i64)>>);

impl ManualClock {
    fn new() -> ManualClock {
        ManualClock(Arc::new(StdMutex::new((Instant::now(), 1_700_000_000_000))))
    }
    fn advance(&self, d: Duration) {
        let mut t = self.0.lock().unwrap();
        t.0 += d;
        t.1 += d.as_millis() as i64;
    }
    fn as_clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || *me.0.lock().unwrap())
    }
}

const PARTITIONS: i32 = 4;
const SESSION_MS: i32 = 10_000;
const DAY: Duration = Duration::from_secs(24 * 3600);

fn config(max_group_size: usize) -> GroupConfig {
    GroupConfig {
        min_session_timeout_ms: 6_000,
        max_session_timeout_ms: 1_800_000,
        initial_rebalance_delay: Duration::ZERO,
        max_group_size,
        offset_metadata_max_bytes: 4096,
        offsets_retention_ms: 7 * 24 * 3600 * 1000,
        commit_timeout: Duration::from_secs(5),
        load_buffer_bytes: 1024,
        partitions: PARTITIONS,
        consumer_session_timeout_ms: 10_000,
        consumer_heartbeat_interval_ms: 1_000,
    }
}

/// A coordinator leading every partition of an in-memory `__consumer_offsets`.
struct T {
    gc: Arc<GroupCoordinator>,
    mem: Arc<MemLog>,
    log: Arc<dyn OffsetsLog>,
    clock: ManualClock,
}

impl T {
    fn new() -> T {
        T::with(config(1024), Arc::new(MemLog::default()), ManualClock::new())
    }

    /// A coordinator over `mem` that loads every partition at once (no runtime: the load runs inline).
    fn with(cfg: GroupConfig, mem: Arc<MemLog>, clock: ManualClock) -> T {
        let gc = Arc::new(GroupCoordinator::with_clock(cfg, clock.as_clock()));
        let log: Arc<dyn OffsetsLog> = mem.clone();
        for p in 0..PARTITIONS {
            gc.on_leader(&log, p, 1);
        }
        T { gc, mem, log, clock }
    }

    /// The same log read by a fresh coordinator: a restart or a failover.
    fn restart(&self) -> T {
        T::with(config(1024), self.mem.clone(), self.clock.clone())
    }

    fn join(&self, req: JoinRequest) -> Outcome<JoinResult> {
        let mut inner = lock(&self.gc.inner);
        let mut writes = Vec::new();
        let out = self.gc.join_locked(&mut inner, req, &mut writes);
        self.gc.flush(&self.log, &mut inner, writes);
        out
    }

    fn sync(
        &self,
        group: &str,
        member: &str,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> Outcome<SyncResult> {
        self.sync_as(group, member, None, generation, assignments)
    }

    fn sync_as(
        &self,
        group: &str,
        member: &str,
        instance: Option<&str>,
        generation: i32,
        assignments: Vec<(String, Bytes)>,
    ) -> Outcome<SyncResult> {
        let req = SyncRequest {
            group_id: group.into(),
            member_id: member.into(),
            group_instance_id: instance.map(String::from),
            generation_id: generation,
            // As SyncGroup before v5: no protocol to check.
            protocol_type: None,
            protocol_name: None,
            assignments,
        };
        let mut inner = lock(&self.gc.inner);
        let mut writes = Vec::new();
        let out = self.gc.sync_locked(&mut inner, req, &mut writes);
        self.gc.flush(&self.log, &mut inner, writes);
        out
    }

    fn commit(
        &self,
        group: &str,
        member: &str,
        generation: i32,
        version: i16,
        offsets: &[(&str, i32, i64, Option<&str>)],
    ) -> Result<Vec<i16>, i16> {
        let req = CommitRequest {
            group_id: group.into(),
            member_id: member.into(),
            group_instance_id: None,
            generation_id: generation,
            retention_time_ms: -1,
            api_version: version,
            offsets: offsets
                .iter()
                .map(|(t, p, o, m)| OffsetToCommit {
                    topic: t.to_string(),
                    partition: *p,
                    offset: *o,
                    leader_epoch: 3,
                    metadata: m.map(String::from),
                })
                .collect(),
        };
        let mut inner = lock(&self.gc.inner);
        let mut writes = Vec::new();
        let (codes_out, rx) = self.gc.commit_locked(&mut inner, req, &mut writes)?;
        self.gc.flush(&self.log, &mut inner, writes);
        drop(inner);
        let Some(mut rx) = rx else { return Ok(codes_out) };
        let code = rx.try_recv().expect("the in-memory log replicates at once");
        Ok(codes_out.into_iter().map(|c| if c == codes::NONE { code } else { c }).collect())
    }

    fn txn_commit(&self, group: &str, pid: i64, offsets: &[(&str, i32, i64)]) -> Result<Vec<i16>, i16> {
        let offsets = offsets
            .iter()
            .map(|(t, p, o)| OffsetToCommit {
                topic: t.to_string(),
                partition: *p,
                offset: *o,
                leader_epoch: -1,
                metadata: None,
            })
            .collect();
        let mut inner = lock(&self.gc.inner);
        let mut writes = Vec::new();
        let (codes_out, rx) = self.gc.txn_commit_locked(
            &mut inner,
            group,
            TxnProducer { producer_id: pid, producer_epoch: 0 },
            "",
            None,
            -1,
            offsets,
            &mut writes,
        )?;
        self.gc.flush(&self.log, &mut inner, writes);
        drop(inner);
        let code = rx.map_or(codes::NONE, |mut rx| rx.try_recv().expect("replicated at once"));
        Ok(codes_out.into_iter().map(|c| if c == codes::NONE { code } else { c }).collect())
    }

    fn fetch(&self, group: &str, topic: &str, partition: i32, require_stable: bool) -> (i64, String, i16) {
        let got =
            self.gc.fetch_offsets(group, Some(&[(topic.to_string(), partition)]), require_stable).expect("served here");
        let f = &got[0];
        (
            f.committed.as_ref().map_or(-1, |c| c.offset),
            f.committed.as_ref().map(|c| c.metadata.clone()).unwrap_or_default(),
            f.error,
        )
    }

    fn heartbeat(&self, group: &str, member: &str, generation: i32) -> i16 {
        self.gc.heartbeat(group, member, None, generation)
    }

    fn leave(&self, group: &str, members: &[(&str, Option<&str>)]) -> Result<Vec<i16>, i16> {
        let m: Vec<(String, Option<String>)> =
            members.iter().map(|(id, i)| (id.to_string(), i.map(String::from))).collect();
        self.gc.leave(&self.log, group, &m)
    }

    fn tick(&self) {
        self.gc.tick(&self.log);
    }

    fn state(&self, group: &str) -> Option<(GroupState, i32)> {
        let mut inner = lock(&self.gc.inner);
        let shard = GroupCoordinator::shard(&mut inner, group).ok()?;
        shard.groups.get(group).map(|g| (g.state, g.generation_id))
    }

    /// A dynamic member through KIP-394's two joins; returns the parked second join.
    fn join_dynamic(&self, group: &str, metadata: &'static [u8]) -> oneshot::Receiver<JoinResult> {
        let first = done(self.join(req(group, "", None, metadata)));
        assert_eq!(first.error, codes::MEMBER_ID_REQUIRED, "first join of a v4+ dynamic member");
        waiting(self.join(req(group, &first.member_id, None, metadata)))
    }

    /// One member in a Stable group with assignment `a`: (member id, generation).
    fn stable_single(&self, group: &str) -> (String, i32) {
        let j = answered(&mut self.join_dynamic(group, b"m"));
        let mut rx = waiting(self.sync(
            group,
            &j.member_id,
            j.generation_id,
            vec![(j.member_id.clone(), Bytes::from_static(b"a"))],
        ));
        assert_eq!(answered(&mut rx).assignment, Bytes::from_static(b"a"));
        (j.member_id, j.generation_id)
    }
}

fn req(group: &str, member: &str, instance: Option<&str>, metadata: &'static [u8]) -> JoinRequest {
    JoinRequest {
        group_id: group.into(),
        member_id: member.into(),
        group_instance_id: instance.map(String::from),
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: SESSION_MS,
        protocol_type: "consumer".into(),
        protocols: vec![("range".into(), Bytes::from_static(metadata))],
        require_known_member_id: true,
        supports_skip_assignment: false,
    }
}

fn done<X: std::fmt::Debug>(o: Outcome<X>) -> X {
    match o {
        Outcome::Done(x) => x,
        Outcome::Wait(_) => panic!("expected an immediate answer, got a parked request"),
    }
}

fn waiting<X: std::fmt::Debug>(o: Outcome<X>) -> oneshot::Receiver<X> {
    match o {
        Outcome::Wait(rx) => rx,
        Outcome::Done(x) => panic!("expected a parked request, got an immediate answer: {x:?}"),
    }
}

fn answered<X>(rx: &mut oneshot::Receiver<X>) -> X {
    rx.try_recv().unwrap_or_else(|e| panic!("expected an answer by now: {e}"))
}

fn parked<X>(rx: &mut oneshot::Receiver<X>) -> bool {
    matches!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty))
}

/// A group id on partition `p` of [`PARTITIONS`].
fn group_on(p: i32) -> String {
    (0..).map(|i| format!("g{i}")).find(|g| partition_for(g, PARTITIONS) == p).unwrap()
}

/// Kafka's ConsumerProtocolSubscription v0 for `topics`.
fn subscription(topics: &[&str]) -> &'static [u8] {
    let mut b = vec![0u8, 0];
    b.extend_from_slice(&(topics.len() as i32).to_be_bytes());
    for t in topics {
        b.extend_from_slice(&(t.len() as i16).to_be_bytes());
        b.extend_from_slice(t.as_bytes());
    }
    b.extend_from_slice(&(-1i32).to_be_bytes());
    Box::leak(b.into_boxed_slice())
}

#[test]
fn groups_map_to_partitions_as_in_kafka() {
    // From Java: "my-group".hashCode() == -1906497762, "console-consumer-12345" 158455506,
    // "polygenelubricants" Integer.MIN_VALUE (Kafka's Utils.abs makes it 0).
    assert_eq!(partition_for("my-group", 50), 12);
    assert_eq!(partition_for("console-consumer-12345", 50), 6);
    assert_eq!(partition_for("polygenelubricants", 50), 0);
    assert_eq!(partition_for("g", 50), 3);
    assert_eq!(partition_for("g", 1), 0);
}

#[test]
fn one_member_joins_syncs_heartbeats_and_leaves() {
    let t = T::new();
    let mut rx = t.join_dynamic("g", b"m");
    let j = answered(&mut rx);
    assert_eq!((j.error, j.generation_id, j.leader == j.member_id, j.members.len()), (codes::NONE, 1, true, 1));
    assert_eq!(t.state("g"), Some((GroupState::CompletingRebalance, 1)));
    let mut s = waiting(t.sync("g", &j.member_id, 1, vec![(j.member_id.clone(), Bytes::from_static(b"a"))]));
    assert_eq!(answered(&mut s).assignment, Bytes::from_static(b"a"), "the leader's bytes pass through untouched");
    assert_eq!(t.state("g"), Some((GroupState::Stable, 1)));
    assert_eq!(t.heartbeat("g", &j.member_id, 1), codes::NONE);
    assert_eq!(t.heartbeat("g", &j.member_id, 0), codes::ILLEGAL_GENERATION);
    assert_eq!(t.heartbeat("g", "nobody", 1), codes::UNKNOWN_MEMBER_ID);
    assert_eq!(t.heartbeat("unknown-group", "x", 1), codes::UNKNOWN_MEMBER_ID);
    // A follower's SyncGroup in a Stable group gets its assignment at once.
    assert_eq!(done(t.sync("g", &j.member_id, 1, vec![])).assignment, Bytes::from_static(b"a"));
    assert_eq!(t.leave("g", &[(&j.member_id, None)]).unwrap(), vec![codes::NONE]);
    assert_eq!(t.state("g"), Some((GroupState::Empty, 2)), "leaving empties the group in a new generation");
    assert_eq!(t.leave("g", &[(&j.member_id, None)]).unwrap(), vec![codes::UNKNOWN_MEMBER_ID]);
    // Records: new group, the assignment, the empty group — Kafka's layout.
    let p = partition_for("g", PARTITIONS);
    let recs = t.mem.records(p);
    let generations: Vec<(i32, usize)> = recs
        .iter()
        .filter_map(|(r, _)| match r {
            CoordinatorRecord::GroupMetadata { value: Some(v), .. } => Some((v.generation, v.members.len())),
            _ => None,
        })
        .collect();
    assert_eq!(generations, vec![(0, 0), (1, 1), (2, 0)]);
}

#[test]
fn a_second_member_rebalances_the_group() {
    let t = T::new();
    let (a, _) = t.stable_single("g");
    let mut rb = t.join_dynamic("g", b"m");
    assert!(parked(&mut rb), "the newcomer waits for the rebalance");
    assert_eq!(t.heartbeat("g", &a, 1), codes::REBALANCE_IN_PROGRESS);
    let mut ra = waiting(t.join(req("g", &a, None, b"m")));
    let (a2, b) = (answered(&mut ra), answered(&mut rb));
    assert_eq!((a2.generation_id, b.generation_id), (2, 2));
    assert_eq!((a2.leader.as_str(), b.leader.as_str()), (a.as_str(), a.as_str()), "the leader keeps its role");
    assert_eq!((a2.members.len(), b.members.len()), (2, 0), "only the leader sees the members");
    // The follower's sync waits for the leader's; both get their share once it is stored.
    let mut sb = waiting(t.sync("g", &b.member_id, 2, vec![]));
    assert!(parked(&mut sb));
    let mut sa = waiting(t.sync(
        "g",
        &a,
        2,
        vec![(a.clone(), Bytes::from_static(b"x")), (b.member_id.clone(), Bytes::from_static(b"y"))],
    ));
    assert_eq!(answered(&mut sa).assignment, Bytes::from_static(b"x"));
    assert_eq!(answered(&mut sb).assignment, Bytes::from_static(b"y"));
    // A leader rejoining a Stable group forces a rebalance; a follower with the same metadata does not.
    let f = done(t.join(req("g", &b.member_id, None, b"m")));
    assert_eq!((f.error, f.generation_id, f.members.len()), (codes::NONE, 2, 0));
    assert_eq!(t.state("g"), Some((GroupState::Stable, 2)));
    let _r = waiting(t.join(req("g", &a, None, b"m")));
    assert_eq!(t.state("g").unwrap().0, GroupState::PreparingRebalance);
}

#[test]
fn errors_are_kafkas() {
    let t = T::new();
    let (a, g1) = t.stable_single("g");
    let mut bad = req("g", "", None, b"m");
    bad.session_timeout_ms = 1;
    assert_eq!(done(t.join(bad)).error, codes::INVALID_SESSION_TIMEOUT);
    assert_eq!(done(t.join(req("", "", None, b"m"))).error, codes::INVALID_GROUP_ID);
    assert_eq!(
        done(t.join(req("nope", "some-member", None, b"m"))).error,
        codes::UNKNOWN_MEMBER_ID,
        "a member id for a group that does not exist"
    );
    assert_eq!(done(t.join(req("g", "stranger", None, b"m"))).error, codes::UNKNOWN_MEMBER_ID);
    let mut other = req("g", "", None, b"m");
    other.protocol_type = "connect".into();
    assert_eq!(done(t.join(other)).error, codes::INCONSISTENT_GROUP_PROTOCOL);
    let mut other = req("g", "", None, b"m");
    other.protocols = vec![("roundrobin".into(), Bytes::new())];
    assert_eq!(done(t.join(other)).error, codes::INCONSISTENT_GROUP_PROTOCOL, "no protocol in common with the members");
    assert_eq!(done(t.sync("g", &a, g1 + 1, vec![])).error, codes::ILLEGAL_GENERATION);
    assert_eq!(done(t.sync("g", "stranger", g1, vec![])).error, codes::UNKNOWN_MEMBER_ID);
    assert_eq!(done(t.sync("nope", "x", 1, vec![])).error, codes::UNKNOWN_MEMBER_ID);
    let mut s = SyncRequest {
        group_id: "g".into(),
        member_id: a.clone(),
        group_instance_id: None,
        generation_id: g1,
        protocol_type: Some("connect".into()),
        protocol_name: None,
        assignments: vec![],
    };
    let mut inner = lock(&t.gc.inner);
    assert_eq!(done(t.gc.sync_locked(&mut inner, s, &mut Vec::new())).error, codes::INCONSISTENT_GROUP_PROTOCOL);
    s = SyncRequest {
        group_id: "g".into(),
        member_id: a.clone(),
        group_instance_id: Some("i9".into()),
        generation_id: g1,
        protocol_type: None,
        protocol_name: None,
        assignments: vec![],
    };
    assert_eq!(
        done(t.gc.sync_locked(&mut inner, s, &mut Vec::new())).error,
        codes::UNKNOWN_MEMBER_ID,
        "an instance id nobody has"
    );
    drop(inner);
    // Not this broker's partition; a partition still loading.
    t.gc.on_resign(partition_for("g", PARTITIONS));
    assert_eq!(done(t.join(req("g", "", None, b"m"))).error, codes::NOT_COORDINATOR);
    assert_eq!(t.heartbeat("g", &a, g1), codes::NOT_COORDINATOR);
    lock(&t.gc.inner).shards.insert(partition_for("g", PARTITIONS), Shard::empty(2));
    assert_eq!(done(t.join(req("g", "", None, b"m"))).error, codes::COORDINATOR_LOAD_IN_PROGRESS);
    assert_eq!(t.heartbeat("g", &a, g1), codes::NONE, "Kafka answers heartbeats blindly while loading");
    assert_eq!(t.gc.fetch_offsets("g", None, false).unwrap_err(), codes::COORDINATOR_LOAD_IN_PROGRESS);
    assert_eq!(t.gc.list().unwrap_err(), codes::COORDINATOR_LOAD_IN_PROGRESS);
}

#[test]
fn group_max_size_is_enforced() {
    let t = T::with(config(2), Arc::new(MemLog::default()), ManualClock::new());
    let a = answered(&mut t.join_dynamic("g", b"m"));
    answered(&mut waiting(t.sync("g", &a.member_id, 1, vec![])));
    let mut rb = t.join_dynamic("g", b"m");
    let mut ra2 = waiting(t.join(req("g", &a.member_id, None, b"m")));
    answered(&mut rb);
    answered(&mut ra2);
    assert_eq!(t.state("g"), Some((GroupState::CompletingRebalance, 2)));
    // Kafka checks the size before handing out a member id.
    let refused = done(t.join(req("g", "", None, b"m")));
    assert_eq!((refused.error, refused.member_id.as_str()), (codes::GROUP_MAX_SIZE_REACHED, ""));
    // An existing member is still welcome.
    assert!(parked(&mut waiting(t.join(req("g", &a.member_id, None, b"changed")))));
}

#[test]
fn eager_and_cooperative_rebalances_are_the_clients_business() {
    // Cooperative-incremental clients rejoin after revoking; the coordinator sees plain joins and
    // hands the leader's bytes through, whatever protocol name and bytes the clients chose.
    let t = T::new();
    let mut cooperative = req("g", "", None, b"v3-owned-partitions");
    cooperative.protocols = vec![
        ("cooperative-sticky".into(), Bytes::from_static(b"sub-1")),
        ("range".into(), Bytes::from_static(b"sub-2")),
    ];
    let first = done(t.join(cooperative));
    let mut again = req("g", &first.member_id, None, b"");
    again.protocols = vec![
        ("cooperative-sticky".into(), Bytes::from_static(b"sub-1")),
        ("range".into(), Bytes::from_static(b"sub-2")),
    ];
    let j = answered(&mut waiting(t.join(again)));
    assert_eq!(j.protocol_name.as_deref(), Some("cooperative-sticky"), "the members' most preferred common protocol");
    assert_eq!(j.members[0].2, Bytes::from_static(b"sub-1"), "the leader sees the metadata of the chosen protocol");
    let assignment = Bytes::from_static(b"\x00\x03opaque-assignment-bytes");
    let mut s = waiting(t.sync("g", &j.member_id, 1, vec![(j.member_id.clone(), assignment.clone())]));
    assert_eq!(answered(&mut s).assignment, assignment);
}

#[test]
fn a_static_member_rejoining_replaces_the_old_one_without_a_rebalance() {
    let t = T::new();
    // Two static members, Stable in generation 1... then 2 after the second joins.
    let mut r1 = waiting(t.join(req("g", "", Some("i1"), b"m")));
    let j1 = answered(&mut r1);
    assert_ne!(j1.error, codes::MEMBER_ID_REQUIRED, "static members skip KIP-394's round trip");
    assert!(j1.member_id.starts_with("i1-"), "member id starts with the instance id: {}", j1.member_id);
    answered(&mut waiting(t.sync("g", &j1.member_id, 1, vec![(j1.member_id.clone(), Bytes::from_static(b"a1"))])));
    let mut r2 = waiting(t.join(req("g", "", Some("i2"), b"m")));
    let mut r1 = waiting(t.join(req("g", &j1.member_id, Some("i1"), b"m")));
    let (j1, j2) = (answered(&mut r1), answered(&mut r2));
    assert_eq!(j1.generation_id, 2);
    let assignments =
        vec![(j1.member_id.clone(), Bytes::from_static(b"a1")), (j2.member_id.clone(), Bytes::from_static(b"a2"))];
    let mut s1 = waiting(t.sync_as("g", &j1.member_id, Some("i1"), 2, assignments));
    let _ = answered(&mut s1);
    assert_eq!(done(t.sync_as("g", &j2.member_id, Some("i2"), 2, vec![])).assignment, Bytes::from_static(b"a2"));

    // i2 restarts: unknown member id, same instance, same metadata.
    let mut again = waiting(t.join(req("g", "", Some("i2"), b"m")));
    let j2b = answered(&mut again);
    assert_eq!(j2b.error, codes::NONE);
    assert_ne!(j2b.member_id, j2.member_id);
    assert_eq!(j2b.generation_id, 2, "no rebalance: same generation");
    assert_eq!(t.state("g"), Some((GroupState::Stable, 2)));
    assert_eq!(j2b.leader, j1.member_id);
    // Its SyncGroup returns the assignment the old member had.
    assert_eq!(done(t.sync_as("g", &j2b.member_id, Some("i2"), 2, vec![])).assignment, Bytes::from_static(b"a2"));
    // The stale member id is fenced.
    assert_eq!(t.gc.heartbeat("g", &j2.member_id, Some("i2"), 2), codes::FENCED_INSTANCE_ID);
    assert_eq!(t.gc.heartbeat("g", &j2b.member_id, Some("i2"), 2), codes::NONE);
    assert_eq!(
        t.commit("g", &j2.member_id, 2, 8, &[("t", 0, 1, None)]).map(|_| ()).unwrap_err(),
        codes::UNKNOWN_MEMBER_ID,
        "the old dynamic id is gone"
    );
    // The static leader restarting (JoinGroup < v9) is told the old leader id, so it does not assign.
    let l = answered(&mut waiting(t.join(req("g", "", Some("i1"), b"m"))));
    assert_eq!((l.generation_id, l.leader.as_str()), (2, j1.member_id.as_str()));
    assert_ne!(l.member_id, j1.member_id);
    // With v9 it is told it leads but may skip the assignment.
    let mut v9 = req("g", "", Some("i1"), b"m");
    v9.supports_skip_assignment = true;
    let l9 = answered(&mut waiting(t.join(v9)));
    assert!(l9.skip_assignment && l9.leader == l9.member_id && l9.members.len() == 2, "{l9:?}");
    assert_eq!(t.state("g"), Some((GroupState::Stable, 2)));

    // Changed metadata: a rebalance after all.
    let _r = waiting(t.join(req("g", "", Some("i2"), b"other")));
    assert_eq!(t.state("g").unwrap().0, GroupState::PreparingRebalance);
}

#[test]
fn static_members_leave_by_instance_id_and_survive_a_rebalance_they_miss() {
    let t = T::new();
    let j1 = answered(&mut waiting(t.join(req("g", "", Some("i1"), b"m"))));
    answered(&mut waiting(t.sync("g", &j1.member_id, 1, vec![])));
    // A dynamic member joins; the static one does not rejoin before the rebalance times out.
    let mut rd = t.join_dynamic("g", b"m");
    assert!(parked(&mut rd));
    t.clock.advance(Duration::from_millis(SESSION_MS as u64 / 2));
    t.gc.heartbeat("g", &j1.member_id, Some("i1"), 1);
    t.clock.advance(Duration::from_millis(SESSION_MS as u64 / 2 + 1));
    t.tick();
    let d = answered(&mut rd);
    assert_eq!(d.generation_id, 2);
    assert_eq!(d.leader, d.member_id, "the leader did not rejoin: a rejoined member leads");
    assert_eq!(d.members.len(), 2, "the static member keeps its place");
    // Removal by instance id alone (KIP-345's admin path): member id empty.
    assert_eq!(
        t.leave("g", &[("", Some("i1")), ("", Some("nobody"))]).unwrap(),
        vec![codes::NONE, codes::UNKNOWN_MEMBER_ID]
    );
    assert_eq!(t.gc.heartbeat("g", &j1.member_id, Some("i1"), 2), codes::UNKNOWN_MEMBER_ID);
    // A member id with an instance id the group does not know is unknown.
    assert_eq!(t.leave("g", &[(&d.member_id, Some("i7"))]).unwrap(), vec![codes::UNKNOWN_MEMBER_ID]);
}

#[test]
fn sessions_pending_members_and_syncs_expire() {
    let t = T::new();
    let (a, _) = t.stable_single("g");
    let mut rb = t.join_dynamic("g", b"m");
    let mut ra = waiting(t.join(req("g", &a, None, b"m")));
    let (_, b) = (answered(&mut ra), answered(&mut rb));
    // Only the leader syncs; the follower never does: removed after the rebalance timeout.
    let mut sa = waiting(t.sync("g", &a, 2, vec![(a.clone(), Bytes::from_static(b"x"))]));
    assert_eq!(answered(&mut sa).assignment, Bytes::from_static(b"x"));
    t.clock.advance(Duration::from_millis(SESSION_MS as u64 + 1));
    assert_eq!(t.heartbeat("g", &a, 2), codes::NONE);
    t.tick();
    assert_eq!(t.heartbeat("g", &b.member_id, 2), codes::UNKNOWN_MEMBER_ID, "no SyncGroup in time");
    assert_eq!(t.heartbeat("g", &a, 2), codes::REBALANCE_IN_PROGRESS);
    let j = answered(&mut waiting(t.join(req("g", &a, None, b"m"))));
    assert_eq!((j.generation_id, j.members.len()), (3, 1));
    answered(&mut waiting(t.sync("g", &a, 3, vec![])));
    // Silence past the session timeout: the member is gone and the group is Empty.
    t.clock.advance(Duration::from_millis(SESSION_MS as u64 + 1));
    t.tick();
    assert_eq!(t.state("g"), Some((GroupState::Empty, 4)));
    // A KIP-394 id never used expires after the session timeout.
    let first = done(t.join(req("g", "", None, b"m")));
    t.clock.advance(Duration::from_millis(SESSION_MS as u64 + 1));
    t.tick();
    assert_eq!(done(t.join(req("g", &first.member_id, None, b"m"))).error, codes::UNKNOWN_MEMBER_ID);
}

#[test]
fn the_initial_rebalance_delay_gathers_members() {
    let mut cfg = config(1024);
    cfg.initial_rebalance_delay = Duration::from_secs(3);
    let t = T::with(cfg, Arc::new(MemLog::default()), ManualClock::new());
    let mut a = t.join_dynamic("g", b"m");
    t.clock.advance(Duration::from_secs(2));
    t.tick();
    let mut b = t.join_dynamic("g", b"m");
    t.clock.advance(Duration::from_millis(1100));
    t.tick();
    assert!(parked(&mut a) && parked(&mut b), "a member joining within the delay extends it");
    t.clock.advance(Duration::from_secs(3));
    t.tick();
    let (ja, jb) = (answered(&mut a), answered(&mut b));
    assert_eq!((ja.generation_id, jb.generation_id), (1, 1), "both in the first generation");
}

#[test]
fn offsets_commit_and_fetch_with_kafkas_checks() {
    let t = T::new();
    // The admin client (generation -1) on a group that does not exist: a standalone group.
    assert_eq!(t.commit("admin", "", -1, 8, &[("t", 0, 5, Some("meta"))]).unwrap(), vec![codes::NONE]);
    assert_eq!(t.fetch("admin", "t", 0, false), (5, "meta".to_string(), codes::NONE));
    assert_eq!(t.fetch("admin", "t", 1, false), (-1, String::new(), codes::NONE), "no offset: -1 and empty metadata");
    assert_eq!(t.fetch("nobody", "t", 0, false), (-1, String::new(), codes::NONE));
    let all = t.gc.fetch_offsets("admin", None, false).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].committed.as_ref().unwrap().leader_epoch, 3);
    // A member's commit needs its generation.
    let (a, gen) = t.stable_single("g");
    assert_eq!(t.commit("g", &a, gen, 8, &[("t", 0, 10, None)]).unwrap(), vec![codes::NONE]);
    assert_eq!(t.commit("g", &a, gen + 1, 8, &[("t", 0, 11, None)]).unwrap_err(), codes::ILLEGAL_GENERATION);
    assert_eq!(t.commit("g", "stranger", gen, 8, &[("t", 0, 11, None)]).unwrap_err(), codes::UNKNOWN_MEMBER_ID);
    // The admin client may not commit while the group has members (AlterConsumerGroupOffsets).
    assert_eq!(t.commit("g", "", -1, 8, &[("t", 0, 0, None)]).unwrap_err(), codes::UNKNOWN_MEMBER_ID);
    assert_eq!(t.fetch("g", "t", 0, false).0, 10);
    let big = "x".repeat(4097);
    assert_eq!(
        t.commit("g", &a, gen, 8, &[("t", 0, 12, Some(&big)), ("t", 1, 7, Some("ok"))]).unwrap(),
        vec![codes::OFFSET_METADATA_TOO_LARGE, codes::NONE]
    );
    assert_eq!(t.fetch("g", "t", 0, false).0, 10, "the oversized commit changed nothing");
    // A group that does not exist with a generation: ILLEGAL_GENERATION before v9, GROUP_ID_NOT_FOUND from v9.
    assert_eq!(t.commit("missing", "m", 1, 8, &[("t", 0, 1, None)]).unwrap_err(), codes::ILLEGAL_GENERATION);
    assert_eq!(t.commit("missing", "m", 1, 9, &[("t", 0, 1, None)]).unwrap_err(), codes::GROUP_ID_NOT_FOUND);
    // During CompletingRebalance: REBALANCE_IN_PROGRESS.
    let mut rb = t.join_dynamic("g", b"m");
    let mut ra = waiting(t.join(req("g", &a, None, b"m")));
    answered(&mut ra);
    answered(&mut rb);
    assert_eq!(t.commit("g", &a, gen + 1, 8, &[("t", 0, 13, None)]).unwrap_err(), codes::REBALANCE_IN_PROGRESS);
    // Once empty, the admin client may commit (resetting offsets).
    assert_eq!(t.leave("g", &[(&a, None)]).unwrap(), vec![codes::NONE]);
    t.clock.advance(Duration::from_millis(SESSION_MS as u64 * 2));
    t.tick();
    assert_eq!(t.state("g").unwrap().0, GroupState::Empty);
    assert_eq!(t.commit("g", "", -1, 8, &[("t", 0, 0, None)]).unwrap(), vec![codes::NONE]);
    assert_eq!(t.fetch("g", "t", 0, false).0, 0);
}

#[test]
fn failed_writes_answer_with_kafkas_mapped_errors() {
    let t = T::new();
    *t.mem.fail_append.lock().unwrap() = Some(codes::NOT_LEADER_OR_FOLLOWER);
    assert_eq!(t.commit("a", "", -1, 8, &[("t", 0, 1, None)]).unwrap(), vec![codes::NOT_COORDINATOR]);
    *t.mem.fail_append.lock().unwrap() = None;
    *t.mem.fail_replication.lock().unwrap() = Some(codes::REQUEST_TIMED_OUT);
    assert_eq!(t.commit("a", "", -1, 8, &[("t", 0, 2, None)]).unwrap(), vec![codes::COORDINATOR_NOT_AVAILABLE]);
    assert_eq!(t.fetch("a", "t", 0, false).0, -1, "an unreplicated commit is not visible");
    *t.mem.fail_replication.lock().unwrap() = Some(codes::MESSAGE_TOO_LARGE);
    assert_eq!(t.commit("a", "", -1, 8, &[("t", 0, 2, None)]).unwrap(), vec![codes::INVALID_COMMIT_OFFSET_SIZE]);
    // The leader's assignment cannot be stored: every member hears the error, the group rebalances.
    *t.mem.fail_replication.lock().unwrap() = None;
    let j = answered(&mut t.join_dynamic("g", b"m"));
    *t.mem.fail_replication.lock().unwrap() = Some(codes::NOT_ENOUGH_REPLICAS);
    let mut s = waiting(t.sync("g", &j.member_id, 1, vec![(j.member_id.clone(), Bytes::from_static(b"a"))]));
    assert_eq!(answered(&mut s).error, codes::COORDINATOR_NOT_AVAILABLE);
    assert_eq!(t.state("g").unwrap().0, GroupState::PreparingRebalance);
}

#[test]
fn groups_and_offsets_survive_a_restart() {
    let t = T::new();
    let (a, gen) = t.stable_single("g");
    assert_eq!(
        t.commit("g", &a, gen, 8, &[("t", 0, 42, Some("m42")), ("t", 1, 7, None)]).unwrap(),
        vec![codes::NONE, codes::NONE]
    );
    assert_eq!(t.commit("g", &a, gen, 8, &[("t", 0, 43, Some("m43"))]).unwrap(), vec![codes::NONE]);
    let j = answered(&mut waiting(t.join(req("s", "", Some("inst"), b"m"))));
    answered(&mut waiting(t.sync_as(
        "s",
        &j.member_id,
        Some("inst"),
        1,
        vec![(j.member_id.clone(), Bytes::from_static(b"sa"))],
    )));
    assert_eq!(t.commit("gone", "", -1, 8, &[("t", 0, 1, None)]).unwrap(), vec![codes::NONE]);
    assert_eq!(t.block_on_delete(&["gone"]), vec![codes::NONE]);
    assert_eq!(
        t.commit("partial", "", -1, 8, &[("t", 0, 1, None), ("t", 1, 2, None)]).unwrap(),
        vec![codes::NONE, codes::NONE]
    );
    assert_eq!(t.block_on_delete_offsets("partial", &[("t", 1)]), Ok(vec![codes::NONE]));

    let r = t.restart();
    assert_eq!(r.state("g"), Some((GroupState::Stable, gen)), "a group with members loads Stable");
    assert_eq!(r.fetch("g", "t", 0, false), (43, "m43".to_string(), codes::NONE), "the latest commit wins");
    assert_eq!(r.fetch("g", "t", 1, false).0, 7);
    assert_eq!(r.heartbeat("g", &a, gen), codes::NONE, "members resume with their ids and generation");
    assert_eq!(done(r.sync("g", &a, gen, vec![])).assignment, Bytes::from_static(b"a"));
    assert_eq!(r.gc.heartbeat("s", &j.member_id, Some("inst"), 1), codes::NONE, "static membership is persisted");
    assert_eq!(r.state("gone"), None, "a deleted group stays deleted");
    assert_eq!(r.fetch("partial", "t", 0, false).0, 1);
    assert_eq!(r.fetch("partial", "t", 1, false).0, -1, "a deleted offset stays deleted");
    // A member that never comes back after the restart expires with its session.
    r.clock.advance(Duration::from_millis(SESSION_MS as u64 + 1));
    r.tick();
    assert_eq!(r.state("g"), Some((GroupState::Empty, gen + 1)));
    assert_eq!(r.fetch("g", "t", 0, false).0, 43, "offsets outlive the members");
}

impl T {
    fn block_on_delete(&self, groups: &[&str]) -> Vec<i16> {
        let names: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        block_on(self.gc.delete_groups(&self.log, &names))
    }
    fn block_on_delete_offsets(&self, group: &str, parts: &[(&str, i32)]) -> Result<Vec<i16>, i16> {
        let ps: Vec<(String, i32)> = parts.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        block_on(self.gc.delete_offsets(&self.log, group, &ps))
    }
}

/// Runs a future whose writes complete inline (the in-memory log replicates at once).
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match f.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the future should be ready: its writes complete inline"),
    }
}

#[test]
fn delete_groups_and_offsets_follow_kafkas_rules() {
    let t = T::new();
    let topics = subscription(&["orders"]);
    let j = answered(&mut t.join_dynamic("active", topics));
    answered(&mut waiting(t.sync("active", &j.member_id, 1, vec![])));
    assert_eq!(
        t.commit("active", &j.member_id, 1, 8, &[("orders", 0, 5, None), ("old", 0, 9, None)]).unwrap(),
        vec![codes::NONE, codes::NONE]
    );
    assert_eq!(
        t.block_on_delete(&["active", "nope", "", "x"]),
        vec![codes::NON_EMPTY_GROUP, codes::GROUP_ID_NOT_FOUND, codes::INVALID_GROUP_ID, codes::GROUP_ID_NOT_FOUND]
    );
    // OffsetDelete on a consumer group: refused for the topic it consumes, fine for another.
    assert_eq!(
        t.block_on_delete_offsets("active", &[("orders", 0), ("old", 0)]),
        Ok(vec![codes::GROUP_SUBSCRIBED_TO_TOPIC, codes::NONE])
    );
    assert_eq!(t.fetch("active", "old", 0, false).0, -1);
    assert_eq!(t.fetch("active", "orders", 0, false).0, 5);
    assert_eq!(t.block_on_delete_offsets("nope", &[("orders", 0)]), Err(codes::GROUP_ID_NOT_FOUND));
    // A non-consumer protocol group with members: NON_EMPTY_GROUP.
    let mut connect = req("workers", "", None, b"w");
    connect.protocol_type = "connect".into();
    let first = done(t.join(connect));
    let mut connect = req("workers", &first.member_id, None, b"w");
    connect.protocol_type = "connect".into();
    answered(&mut waiting(t.join(connect)));
    assert_eq!(t.block_on_delete_offsets("workers", &[("orders", 0)]), Err(codes::NON_EMPTY_GROUP));
    // Once empty, the group can go, offsets and all.
    assert_eq!(t.leave("active", &[(&j.member_id, None)]).unwrap(), vec![codes::NONE]);
    assert_eq!(
        t.block_on_delete_offsets("active", &[("orders", 0)]),
        Ok(vec![codes::NONE]),
        "an empty group subscribes to nothing"
    );
    assert_eq!(t.block_on_delete(&["active"]), vec![codes::NONE]);
    assert_eq!(t.state("active"), None);
    let p = partition_for("active", PARTITIONS);
    let last = t
        .mem
        .records(p)
        .into_iter()
        .rev()
        .find(|(r, _)| matches!(r, CoordinatorRecord::GroupMetadata { group, .. } if group == "active"))
        .unwrap();
    assert_eq!(
        last.0,
        CoordinatorRecord::GroupMetadata { group: "active".into(), value: None },
        "a tombstone for the group"
    );
}

#[test]
fn offsets_expire_as_kip_211_says() {
    let t = T::new();
    // A consumer group: offsets committed at t0; it becomes Empty five days later.
    let (a, gen) = t.stable_single("cg");
    assert_eq!(t.commit("cg", &a, gen, 8, &[("t", 0, 1, None)]).unwrap(), vec![codes::NONE]);
    // A standalone group: offsets count from their commit.
    assert_eq!(t.commit("simple", "", -1, 8, &[("t", 0, 2, None)]).unwrap(), vec![codes::NONE]);
    t.clock.advance(5 * DAY);
    assert_eq!(t.heartbeat("cg", &a, gen), codes::NONE);
    assert_eq!(t.leave("cg", &[(&a, None)]).unwrap(), vec![codes::NONE]);
    t.clock.advance(3 * DAY);
    assert_eq!(t.gc.expire_offsets(&t.log), 1, "8 days after its commit the standalone offset expires");
    assert_eq!(t.state("simple"), None, "an empty group without offsets is removed");
    assert_eq!(t.fetch("cg", "t", 0, false).0, 1, "3 days after becoming Empty the consumer group keeps its offsets");
    t.clock.advance(4 * DAY + Duration::from_secs(1));
    assert_eq!(t.gc.expire_offsets(&t.log), 1);
    assert_eq!(t.state("cg"), None);
    let p = partition_for("cg", PARTITIONS);
    let recs = t.mem.records(p);
    assert!(
        recs.iter().any(|(r, _)| *r
            == CoordinatorRecord::OffsetCommit { group: "cg".into(), topic: "t".into(), partition: 0, value: None }),
        "offset tombstone written"
    );
    // A Stable consumer group keeps offsets of topics it consumes, loses those of others.
    let j = answered(&mut t.join_dynamic("live", subscription(&["in"])));
    answered(&mut waiting(t.sync("live", &j.member_id, 1, vec![])));
    assert_eq!(
        t.commit("live", &j.member_id, 1, 8, &[("in", 0, 3, None), ("gone", 0, 4, None)]).unwrap(),
        vec![codes::NONE, codes::NONE]
    );
    t.clock.advance(8 * DAY);
    assert_eq!(t.heartbeat("live", &j.member_id, 1), codes::NONE);
    assert_eq!(t.gc.expire_offsets(&t.log), 1);
    assert_eq!((t.fetch("live", "in", 0, false).0, t.fetch("live", "gone", 0, false).0), (3, -1));
    // The restart sees the same.
    let r = t.restart();
    assert_eq!((r.state("cg"), r.fetch("live", "gone", 0, false).0, r.fetch("live", "in", 0, false).0), (None, -1, 3));
}

/// A control batch the transaction coordinator's marker writing would append.
fn marker(pid: i64, commit: bool) -> Vec<u8> {
    let mut spec = oxbow_log::record::BatchSpec::simple(0, 0, 0);
    spec.transactional = true;
    spec.control = true;
    spec.producer_id = pid;
    spec.producer_epoch = 0;
    let key = [0u8, 0, 0, if commit { 1 } else { 0 }];
    let value = [0u8, 0, 0, 0, 0, 0];
    let r = oxbow_log::record::Record {
        attributes: 0,
        timestamp_delta: 0,
        offset_delta: 0,
        key: Some(Bytes::copy_from_slice(&key)),
        value: Some(Bytes::copy_from_slice(&value)),
        headers: vec![],
    };
    oxbow_log::record::encode_batch(&spec, &[r]).unwrap()
}

#[test]
fn transactional_offsets_wait_for_their_marker() {
    let t = T::new();
    let g = group_on(1);
    assert_eq!(t.commit(&g, "", -1, 8, &[("t", 0, 10, None)]).unwrap(), vec![codes::NONE]);
    assert_eq!(t.txn_commit(&g, 77, &[("t", 0, 20), ("t", 1, 21)]).unwrap(), vec![codes::NONE, codes::NONE]);
    let recs = t.mem.records(1);
    assert!(recs.last().unwrap().1, "written in a transactional batch");
    assert_eq!(t.fetch(&g, "t", 0, false).0, 10, "pending offsets are not visible");
    assert_eq!(
        t.fetch(&g, "t", 0, true).2,
        codes::UNSTABLE_OFFSET_COMMIT,
        "require_stable sees the pending transaction"
    );
    assert_eq!(t.fetch(&g, "t", 5, true).2, codes::NONE);
    // Committed: visible.
    t.mem.append_raw(1, marker(77, true));
    t.gc.complete_transaction(1, 77, true);
    assert_eq!(t.fetch(&g, "t", 0, true), (20, String::new(), codes::NONE));
    assert_eq!(t.fetch(&g, "t", 1, false).0, 21);
    // Aborted: dropped.
    assert_eq!(t.txn_commit(&g, 88, &[("t", 0, 30)]).unwrap(), vec![codes::NONE]);
    t.mem.append_raw(1, marker(88, false));
    t.gc.complete_transaction(1, 88, false);
    assert_eq!(t.fetch(&g, "t", 0, true), (20, String::new(), codes::NONE));
    // A later plain commit wins over an older transaction that commits after it.
    assert_eq!(t.txn_commit(&g, 99, &[("t", 1, 40)]).unwrap(), vec![codes::NONE]);
    assert_eq!(t.commit(&g, "", -1, 8, &[("t", 1, 50, None)]).unwrap(), vec![codes::NONE]);
    t.mem.append_raw(1, marker(99, true));
    t.gc.complete_transaction(1, 99, true);
    assert_eq!(t.fetch(&g, "t", 1, false).0, 50);
    // One more, left without a marker.
    assert_eq!(t.txn_commit(&g, 111, &[("t", 2, 60)]).unwrap(), vec![codes::NONE]);

    // Loading replays the markers: the same offsets, the unfinished transaction still pending.
    let r = t.restart();
    assert_eq!(r.fetch(&g, "t", 0, true), (20, String::new(), codes::NONE));
    assert_eq!(r.fetch(&g, "t", 1, true).0, 50);
    assert_eq!(r.fetch(&g, "t", 2, true).2, codes::UNSTABLE_OFFSET_COMMIT);
    assert_eq!(r.fetch(&g, "t", 2, false).0, -1);
    r.mem.append_raw(1, marker(111, true));
    r.gc.complete_transaction(1, 111, true);
    assert_eq!(r.fetch(&g, "t", 2, true).0, 60);
    // A marker while loading is applied after the load.
    lock(&r.gc.inner).shards.get_mut(&1).unwrap().loaded = false;
    r.gc.complete_transaction(1, 5, true);
    assert_eq!(lock(&r.gc.inner).shards[&1].deferred_markers, vec![(5, true)]);
}

#[test]
fn unloading_answers_parked_requests_with_not_coordinator() {
    let t = T::new();
    let (a, _) = t.stable_single("g");
    let mut rb = t.join_dynamic("g", b"m");
    assert!(parked(&mut rb));
    t.gc.on_resign(partition_for("g", PARTITIONS));
    assert_eq!(answered(&mut rb).error, codes::NOT_COORDINATOR);
    assert_eq!(t.heartbeat("g", &a, 1), codes::NOT_COORDINATOR);
    assert_eq!(t.gc.led_partitions().len(), PARTITIONS as usize - 1);
    // Leading it again (a new epoch) loads the group back from the log.
    t.gc.on_leader(&t.log, partition_for("g", PARTITIONS), 2);
    assert_eq!(t.state("g"), Some((GroupState::Stable, 1)));
}

#[test]
fn listing_and_describing() {
    let t = T::new();
    let (a, _) = t.stable_single("b-group");
    assert_eq!(t.commit("a-simple", "", -1, 8, &[("t", 0, 1, None)]).unwrap(), vec![codes::NONE]);
    let listed = t.gc.list().unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|g| (g.group_id.as_str(), g.protocol_type.as_str(), g.state, g.group_type))
            .collect::<Vec<_>>(),
        vec![("a-simple", "", "Empty", GroupType::Classic), ("b-group", "consumer", "Stable", GroupType::Classic)]
    );
    let d = t.gc.describe("b-group").unwrap().unwrap();
    assert_eq!(
        (d.state, d.protocol_type.as_str(), d.protocol.as_str(), d.members.len()),
        (GroupState::Stable, "consumer", "range", 1)
    );
    assert_eq!(
        (d.members[0].member_id.as_str(), d.members[0].assignment.as_ref(), d.members[0].metadata.as_ref()),
        (a.as_str(), &b"a"[..], &b"m"[..])
    );
    assert!(t.gc.describe("missing").unwrap().is_none());
    // Not Stable: no protocol, no metadata or assignments (Kafka's group summary).
    let _b = t.join_dynamic("b-group", b"m");
    let d = t.gc.describe("b-group").unwrap().unwrap();
    assert_eq!((d.state, d.protocol.as_str(), d.members[0].assignment.len()), (GroupState::PreparingRebalance, "", 0));
}

#[test]
fn deleted_topics_take_their_offsets_along() {
    let t = T::new();
    assert_eq!(
        t.commit("g", "", -1, 8, &[("doomed", 0, 1, None), ("kept", 0, 2, None)]).unwrap(),
        vec![codes::NONE, codes::NONE]
    );
    t.gc.forget_topic(&t.log, "doomed");
    assert_eq!((t.fetch("g", "doomed", 0, false).0, t.fetch("g", "kept", 0, false).0), (-1, 2));
    assert_eq!(t.restart().fetch("g", "doomed", 0, false).0, -1, "tombstoned, not only forgotten");
}

// ---- KIP-848 consumer groups ----

mod consumer_groups {
    use super::*;
    use crate::coordinator::consumer_group::{Heartbeat, HeartbeatAnswer, LEAVE_EPOCH};

    const ORDERS: [u8; 16] = [7; 16];

    fn lookup(name: &str) -> Option<([u8; 16], i32)> {
        (name == "orders").then_some((ORDERS, 4))
    }

    fn hb(member: &str, epoch: i32, owned: Option<&[i32]>) -> Heartbeat {
        Heartbeat {
            member_id: member.into(),
            member_epoch: epoch,
            rebalance_timeout_ms: if epoch == 0 { 30_000 } else { -1 },
            subscribed_topic_names: (epoch == 0).then(|| vec!["orders".to_string()]),
            owned: owned.map(|ps| {
                if ps.is_empty() {
                    Default::default()
                } else {
                    [(ORDERS, ps.iter().copied().collect())].into_iter().collect()
                }
            }),
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            ..Heartbeat::default()
        }
    }

    fn parts(a: &HeartbeatAnswer) -> Option<Vec<i32>> {
        a.assignment.as_ref().map(|a| a.values().flat_map(|s| s.iter().copied()).collect())
    }

    impl T {
        fn consumer(&self, group: &str, hb: Heartbeat) -> Result<HeartbeatAnswer, i16> {
            let mut inner = lock(&self.gc.inner);
            let mut writes = Vec::new();
            let out = self.gc.consumer_heartbeat_locked(&mut inner, group, hb, &lookup, &mut writes);
            self.gc.flush(&self.log, &mut inner, writes);
            drop(inner);
            let (answer, rx) = out?;
            if let Some(mut rx) = rx {
                assert_eq!(rx.try_recv().expect("the in-memory log replicates at once"), codes::NONE);
            }
            Ok(answer)
        }

        fn consumer_epochs(&self, group: &str) -> (i32, i32, &'static str, Vec<(String, i32, usize)>) {
            let d = self.gc.describe_consumer_group(group).unwrap().expect("a consumer group");
            (
                d.group_epoch,
                d.assignment_epoch,
                d.state,
                d.members
                    .iter()
                    .map(|m| (m.member_id.clone(), m.member_epoch, m.assigned.values().map(|s| s.len()).sum()))
                    .collect(),
            )
        }
    }

    /// Two members split a topic without a partition ever having two owners; the group, its
    /// epochs and assignments survive a failover (a new coordinator loading the log).
    #[test]
    fn members_share_partitions_and_the_group_survives_a_failover() {
        let t = T::new();
        let a = t.consumer("cg", hb("a", 0, None)).unwrap();
        assert_eq!((a.member_epoch, parts(&a)), (1, Some(vec![0, 1, 2, 3])));
        let b = t.consumer("cg", hb("b", 0, None)).unwrap();
        assert_eq!((b.member_epoch, parts(&b)), (2, Some(vec![])));
        let a = t.consumer("cg", hb("a", 1, Some(&[0, 1, 2, 3]))).unwrap();
        let kept = parts(&a).unwrap();
        assert_eq!((a.member_epoch, kept.len()), (1, 2), "a must revoke two partitions first");
        let a = t.consumer("cg", hb("a", 1, Some(&kept))).unwrap();
        assert_eq!(a.member_epoch, 2);
        let b = t.consumer("cg", hb("b", 2, Some(&[]))).unwrap();
        let mut all = kept.clone();
        all.extend(parts(&b).unwrap());
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3]);
        let before = t.consumer_epochs("cg");
        assert_eq!((before.0, before.1, before.2), (2, 2, "Stable"));
        let listed = t.gc.list().unwrap();
        assert_eq!(
            (listed[0].group_type, listed[0].state, listed[0].protocol_type.as_str()),
            (GroupType::Consumer, "Stable", "consumer")
        );
        assert!(t.gc.describe("cg").unwrap().is_none(), "DescribeGroups sees no classic group");

        let r = t.restart();
        assert_eq!(r.consumer_epochs("cg"), before, "reloaded with its epochs and assignments");
        // The members carry on at their epochs; nothing changes, so nothing is sent.
        let b2 = r.consumer("cg", hb("b", 2, None)).unwrap();
        assert_eq!((b2.member_epoch, b2.assignment), (2, None));
        // a leaves: b takes everything.
        assert_eq!(r.consumer("cg", hb("a", LEAVE_EPOCH, None)).unwrap().member_epoch, LEAVE_EPOCH);
        let b3 = r.consumer("cg", hb("b", 2, Some(&parts(&b).unwrap()))).unwrap();
        assert_eq!((b3.member_epoch, parts(&b3)), (3, Some(vec![0, 1, 2, 3])));
        let again = r.restart();
        assert_eq!(again.consumer_epochs("cg").3, vec![("b".to_string(), 3, 4)], "the leave was tombstoned");
    }

    #[test]
    fn offset_commits_check_the_member_epoch() {
        let t = T::new();
        t.consumer("cg", hb("a", 0, None)).unwrap();
        assert_eq!(t.commit("cg", "a", 1, 9, &[("orders", 0, 5, None)]), Ok(vec![codes::NONE]));
        assert_eq!(
            t.commit("cg", "a", 2, 9, &[("orders", 0, 6, None)]),
            Err(codes::STALE_MEMBER_EPOCH),
            "an epoch it never had"
        );
        // b joins and a gives up two partitions; a's commit still in flight at epoch 1 is accepted.
        t.consumer("cg", hb("b", 0, None)).unwrap();
        let a = t.consumer("cg", hb("a", 1, Some(&[0, 1, 2, 3]))).unwrap();
        let a = t.consumer("cg", hb("a", 1, Some(&parts(&a).unwrap()))).unwrap();
        assert_eq!(a.member_epoch, 2);
        assert_eq!(t.commit("cg", "a", 1, 9, &[("orders", 0, 5, None)]), Ok(vec![codes::NONE]), "the previous epoch");
        assert_eq!(
            t.commit("cg", "b", 0, 9, &[("orders", 0, 6, None)]),
            Err(codes::STALE_MEMBER_EPOCH),
            "an epoch before its join"
        );
        assert_eq!(t.commit("cg", "zombie", 1, 9, &[("orders", 0, 6, None)]), Err(codes::UNKNOWN_MEMBER_ID));
        assert_eq!(
            t.commit("cg", "", -1, 9, &[("orders", 0, 6, None)]),
            Err(codes::UNKNOWN_MEMBER_ID),
            "not while it has members"
        );
        assert_eq!(t.fetch("cg", "orders", 0, false).0, 5);
        // A classic member cannot join a live consumer group.
        assert_eq!(done(t.join(req("cg", "", None, b"m"))).error, codes::INCONSISTENT_GROUP_PROTOCOL);
        // Once empty, the admin client may commit and delete the group (tombstones stay deleted).
        t.consumer("cg", hb("a", LEAVE_EPOCH, None)).unwrap();
        t.consumer("cg", hb("b", LEAVE_EPOCH, None)).unwrap();
        assert_eq!(t.commit("cg", "", -1, 9, &[("orders", 0, 7, None)]), Ok(vec![codes::NONE]));
        assert_eq!(t.block_on_delete(&["cg"]), vec![codes::NONE]);
        assert!(t.restart().gc.describe_consumer_group("cg").is_err());
    }

    #[test]
    fn silent_members_are_fenced_after_the_session_timeout() {
        let t = T::new();
        t.consumer("cg", hb("a", 0, None)).unwrap();
        t.consumer("cg", hb("b", 0, None)).unwrap();
        t.clock.advance(Duration::from_secs(6));
        t.consumer("cg", hb("a", 1, None)).unwrap();
        t.clock.advance(Duration::from_secs(5));
        t.tick();
        let (group_epoch, _, _, members) = t.consumer_epochs("cg");
        assert_eq!(
            (group_epoch, members.len(), members[0].0.as_str()),
            (3, 1, "a"),
            "b was fenced and the epoch bumped"
        );
        assert_eq!(t.consumer("cg", hb("b", 2, None)).unwrap_err(), codes::UNKNOWN_MEMBER_ID);
        assert_eq!(t.restart().consumer_epochs("cg").3.len(), 1, "the fencing was written down");
    }

    #[test]
    fn refusals_are_kafkas() {
        let t = T::new();
        assert_eq!(t.consumer("cg", hb("a", 3, None)).unwrap_err(), codes::UNKNOWN_MEMBER_ID, "no group: rejoin");
        assert!(t.gc.describe_consumer_group("cg").is_err(), "a refused join leaves no group behind");
        let _parked = t.join_dynamic("classic", b"m");
        assert_eq!(t.consumer("classic", hb("a", 0, None)).unwrap_err(), codes::GROUP_ID_NOT_FOUND);
        assert!(t.gc.describe_consumer_group("classic").unwrap().is_none());
    }
}
