//! The group coordinator for the classic consumer-group protocol (JoinGroup 0–9, SyncGroup 0–5,
//! Heartbeat 0–4, LeaveGroup 0–5), committed offsets (OffsetCommit, OffsetFetch, OffsetDelete,
//! DeleteGroups, retention) and transactional offsets, persisted in `__consumer_offsets` as Apache
//! Kafka 4.x does it (`GroupCoordinatorService`, `GroupMetadataManager`, `OffsetMetadataManager`).
//!
//! **Placement.** A group lives on partition `abs(javaHash(group)) % partitions` of
//! `__consumer_offsets`; the leader of that partition is its coordinator. Each partition this
//! broker leads is a *shard*: the groups of that partition, loaded from its log when the broker
//! becomes leader ([`GroupCoordinator::on_leader`], reading the log as `group_load.rs` says;
//! requests get COORDINATOR_LOAD_IN_PROGRESS meanwhile) and dropped when it stops leading ([`GroupCoordinator::on_resign`]; parked
//! requests get NOT_COORDINATOR, clients find the new coordinator). Requests for a group whose
//! partition is not a shard here get NOT_COORDINATOR.
//!
//! **State machine.** Kafka's classic group: Empty → PreparingRebalance → CompletingRebalance →
//! Stable (Dead groups are removed from the map). Member ids per KIP-394 (v4+ dynamic members get
//! MEMBER_ID_REQUIRED first), static membership per KIP-345 (a known `group.instance.id` joining
//! with a new member id replaces the old member — FENCED_INSTANCE_ID for the old id — without a
//! rebalance when the group is Stable and the member's protocol metadata is unchanged), the
//! initial rebalance delay, rebalance, session, pending-sync and new-member timeouts. Eager and
//! cooperative-incremental (KIP-429) rebalancing need nothing here: the coordinator passes the
//! client leader's assignment through untouched; cooperative clients simply rejoin.
//!
//! **Persistence.** Every change is appended, as Kafka's records (see `group_records`), to the
//! group's partition *under the coordinator lock* — so the log order is the state order — and
//! takes effect (or is answered) once the ISR has it (acks=all, bounded by
//! `offsets.commit.timeout.ms`), as Kafka's old `GroupMetadataManager` did:
//! - OffsetCommit: offset records; applied on replication, each offset remembering the log
//!   offset of its record so completions that race never let an older commit win;
//! - the leader's SyncGroup: a group metadata record with the assignment; the group becomes
//!   Stable and the assignment goes out only once it is replicated;
//! - a join that ends in an Empty group, a new group, a static member replaced in a Stable group:
//!   group metadata records;
//! - DeleteGroups, OffsetDelete, expired offsets, offsets of deleted topics: tombstones (these are
//!   removed from memory at once; the answer waits for replication).
//!
//! **Retention** (KIP-211): every `offsets.retention.check.interval.ms`, offsets of a group that
//! has been Empty for `offsets.retention.minutes` (counted from when it became Empty), offsets of
//! a standalone group (no protocol type) not committed for that long, and offsets of a Stable
//! `consumer` group for topics it no longer subscribes to, are tombstoned; an Empty group left
//! without offsets becomes Dead and is removed (with a group tombstone). Offsets with a commit or
//! a transaction in flight are kept.
//!
//! **Transactional offsets** — the interface the transaction coordinator uses:
//! - [`GroupCoordinator::txn_offset_commit`]: TxnOffsetCommit's work. Checks the group as Kafka
//!   does (generation -1 creates a standalone group; otherwise member, instance and generation
//!   must match), appends the offsets as a *transactional* batch carrying the producer id and
//!   epoch (no sequence) and keeps them pending for that producer until its marker;
//! - [`GroupCoordinator::complete_transaction`]: call it once a COMMIT or ABORT marker for the
//!   producer is written to that `__consumer_offsets` partition; a commit makes the pending
//!   offsets visible (unless a newer non-transactional commit already replaced them), an abort
//!   drops them. Calls for a partition still loading are replayed after the load; calls for a
//!   partition not led here are ignored (its new leader reads the marker from the log).
//! - Loading replays markers too: pending offsets without a marker stay pending.
//! - OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT for partitions with
//!   pending transactional offsets (or a commit in flight).
//!
//! **Bounds.** [`GROUPS_MAX`] groups per broker, `group.max.size` members per group,
//! [`OFFSETS_PER_GROUP_MAX`] offsets per group, [`PENDING_TXN_PRODUCERS_MAX`] producers with
//! pending transactional offsets per partition; loading reads `offsets.load.buffer.size` bytes a
//! step up to the log end it found, so a load is bounded by the partition's size.
//!
//! **KIP-848 consumer groups** share the shards, offsets, loading and write path: a [`Group`] of
//! kind [`GroupType::Consumer`] carries its members in a `ConsumerGroup`; see `group_consumer.rs`.
//!
//! Deliberately not here: the TxnOffsetCommit API handler and the markers (the
//! transaction coordinator's side); offsets of groups keyed by topic id.
//!
//! Concurrency: all shards sit behind one `std::sync::Mutex`, never held across an `.await`.
//! A JoinGroup, SyncGroup or commit that must wait parks on a `oneshot` channel; appends happen
//! under the lock, their replication is awaited outside it (a spawned task re-takes the lock to
//! complete them). Timeouts are checked by [`GroupCoordinator::tick`], a few times a second.

use super::assignor::Assignor;
use super::consumer_group::ConsumerGroup;
use super::group_records::{self as rec, CoordinatorRecord, KeyValue, TxnProducer};
use crate::codes;
use crate::config::BrokerConfig;
use bytes::{Bytes, BytesMut};
use oxbow_log::batch::BatchHeader;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// The internal topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";
/// The protocol type KIP-848 consumer groups report (ListGroups, DescribeGroups).
pub const CONSUMER_PROTOCOL_TYPE: &str = "consumer";
/// Groups kept by one broker over all its shards (each costs memory; Kafka bounds by heap).
pub const GROUPS_MAX: usize = 100_000;
/// Committed offsets one group may hold.
pub const OFFSETS_PER_GROUP_MAX: usize = 100_000;
/// Producers with transactional offsets awaiting their marker, per partition.
pub const PENDING_TXN_PRODUCERS_MAX: usize = 10_000;
/// Kafka's `group.classic.new.member.join.timeout.ms`: a new member that never completes its
/// first join is dropped after this (it cannot heartbeat without a member id).
const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);
/// Completions one append may trigger in a row (a failed write can start another): a bound on
/// the loop in `flush`; never reached in practice.
const FLUSH_ROUNDS_MAX: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// The kind of group (ListGroups v5's `GroupType`): the classic protocol's, or a KIP-848
/// consumer group (`consumer_group.rs`) with its own member model and records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupType {
    Classic,
    Consumer,
}

impl GroupType {
    pub fn name(self) -> &'static str {
        match self {
            GroupType::Classic => "classic",
            GroupType::Consumer => "consumer",
        }
    }
}

// ---- the log the coordinator writes (the broker's `__consumer_offsets` partitions) ----

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// An append to the local log, its replication still to come.
pub struct Appended {
    pub base_offset: i64,
    /// Resolves once the ISR has the batch, or with the Kafka error code of the failure.
    pub replicated: BoxFuture<Result<(), i16>>,
}

/// What the coordinator needs from the `__consumer_offsets` partitions it leads. The broker
/// implements it over its partitions; tests over memory.
pub trait OffsetsLog: Send + Sync + 'static {
    /// Appends `batch` to `partition` as its leader in `leader_epoch` (refused with
    /// NOT_LEADER_OR_FOLLOWER in any other epoch). Called under the coordinator lock: must not block.
    fn append(&self, partition: i32, leader_epoch: i32, batch: BytesMut) -> Result<Appended, i16>;
    /// The partition's log start and log end offsets.
    fn range(&self, partition: i32) -> Result<(i64, i64), i16>;
    /// Whole batches from `offset`, about `max_bytes` (at least one batch), below `end`.
    fn read(&self, partition: i32, offset: i64, max_bytes: usize, end: i64) -> Result<Bytes, i16>;
}

/// Time for the state machine: a monotonic instant for timeouts and the wall clock (ms) for
/// record timestamps. Injected so tests are deterministic.
pub type Clock = Arc<dyn Fn() -> (Instant, i64) + Send + Sync>;

fn system_clock() -> Clock {
    Arc::new(|| (Instant::now(), crate::broker::now_ms()))
}

// ---- requests and results ----

#[derive(Clone, Debug, Default)]
pub struct JoinResult {
    pub error: i16,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    pub skip_assignment: bool,
    /// Filled for the leader only: (member id, group instance id, metadata).
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinResult {
    fn error(code: i16, member_id: &str) -> JoinResult {
        JoinResult { error: code, generation_id: -1, member_id: member_id.to_string(), ..Default::default() }
    }
}

#[derive(Clone, Debug, Default)]
pub struct SyncResult {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    fn error(code: i16) -> SyncResult {
        SyncResult { error: code, ..Default::default() }
    }
}

pub struct JoinRequest {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// KIP-394: v4+ dynamic members get MEMBER_ID_REQUIRED on their first join.
    pub require_known_member_id: bool,
    /// JoinGroup v9+: a static leader rejoining a Stable group may skip the assignment.
    pub supports_skip_assignment: bool,
}

pub struct SyncRequest {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignments: Vec<(String, Bytes)>,
}

/// One partition of an OffsetCommit or TxnOffsetCommit.
#[derive(Clone, Debug)]
pub struct OffsetToCommit {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

pub struct CommitRequest {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    /// -1: a commit from the admin client or a standalone consumer.
    pub generation_id: i32,
    /// OffsetCommit v2–v4's `retention_time_ms` (-1: the broker's retention).
    pub retention_time_ms: i64,
    /// v9+ answers GROUP_ID_NOT_FOUND for a missing group; older versions ILLEGAL_GENERATION.
    pub api_version: i16,
    pub offsets: Vec<OffsetToCommit>,
}

/// A committed offset as the group holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
    pub expire_timestamp_ms: Option<i64>,
    /// The log offset of the record that carried it: a later record replaces an earlier one.
    pub record_offset: i64,
}

/// A partition's answer in OffsetFetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedOffset {
    pub topic: String,
    pub partition: i32,
    pub committed: Option<CommittedOffset>,
    pub error: i16,
}

/// A group as DescribeGroups shows it.
pub struct GroupDescription {
    pub state: GroupState,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<MemberDescription>,
}

pub struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// A group as ListGroups shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    /// The state's name in the group type's own terms (classic: Stable, PreparingRebalance, ...;
    /// consumer: Empty, Assigning, Reconciling, Stable).
    pub state: &'static str,
    pub group_type: GroupType,
}

// ---- the state ----

struct Member {
    id: String,
    group_instance_id: Option<String>,
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    awaiting_join: Option<oneshot::Sender<JoinResult>>,
    awaiting_sync: Option<oneshot::Sender<SyncResult>>,
    /// When the member's session (or, while new, its first join) expires.
    heartbeat_deadline: Instant,
    /// Joined but not yet through a completed join (Kafka's `isNew`).
    is_new: bool,
    /// Join order; the earliest remaining member is the next leader.
    seq: u64,
}

impl Member {
    fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols.iter().find(|(n, _)| n == protocol).map(|(_, b)| b.clone()).unwrap_or_default()
    }

    fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// Kafka's `hasSatisfiedHeartbeat` at expiry: a new member must finish joining in time; a
    /// member in a rebalance is excused; others must have heartbeaten.
    fn expired(&self, now: Instant) -> bool {
        if now < self.heartbeat_deadline {
            return false;
        }
        self.is_new || (self.awaiting_join.is_none() && self.awaiting_sync.is_none())
    }

    fn answer_join(&mut self, r: JoinResult) {
        if let Some(tx) = self.awaiting_join.take() {
            let _ = tx.send(r);
        }
    }

    fn answer_sync(&mut self, r: SyncResult) {
        if let Some(tx) = self.awaiting_sync.take() {
            let _ = tx.send(r);
        }
    }
}

/// The initial rebalance delay of a group coming out of Empty (`group.initial.rebalance.delay.ms`).
#[derive(Clone, Copy)]
struct InitialDelay {
    due: Instant,
    delay: Duration,
    remaining: Duration,
}

struct Group {
    id: String,
    kind: GroupType,
    state: GroupState,
    previous_state: GroupState,
    /// Wall-clock ms when the group entered its state (persisted; KIP-211 counts from it).
    state_since_ms: i64,
    generation_id: i32,
    protocol_type: Option<String>,
    protocol_name: Option<String>,
    leader: Option<String>,
    members: HashMap<String, Member>,
    /// `group.instance.id` → member id.
    static_members: HashMap<String, String>,
    /// KIP-394 member ids handed out with MEMBER_ID_REQUIRED, not yet joined (id → expiry).
    pending_join: HashMap<String, Instant>,
    /// Members that have not sent SyncGroup since the join completed.
    pending_sync: HashSet<String>,
    sync_deadline: Option<(Instant, i32)>,
    rebalance_deadline: Option<Instant>,
    initial_delay: Option<InitialDelay>,
    new_member_added: bool,
    offsets: BTreeMap<(String, i32), CommittedOffset>,
    /// Commits appended and not yet replicated, per partition (for `require_stable`).
    pending_commits: HashMap<(String, i32), usize>,
    /// A KIP-848 consumer group's members and assignments (`kind` is `Consumer`); the classic
    /// fields above then stay as for an Empty group, and only `offsets` is shared.
    consumer: Option<Box<ConsumerGroup>>,
}

impl Group {
    fn new(id: &str, now_ms: i64) -> Group {
        Group {
            id: id.to_string(),
            kind: GroupType::Classic,
            state: GroupState::Empty,
            previous_state: GroupState::Empty,
            state_since_ms: now_ms,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: HashMap::new(),
            static_members: HashMap::new(),
            pending_join: HashMap::new(),
            pending_sync: HashSet::new(),
            sync_deadline: None,
            rebalance_deadline: None,
            initial_delay: None,
            new_member_added: false,
            offsets: BTreeMap::new(),
            pending_commits: HashMap::new(),
            consumer: None,
        }
    }

    /// Makes this (empty) group a KIP-848 consumer group, keeping its offsets.
    fn become_consumer_group(&mut self, cfg: &GroupConfig) {
        let mut cg = ConsumerGroup::new(&self.id, Assignor::Uniform);
        cg.session_timeout_ms = cfg.consumer_session_timeout_ms;
        cg.heartbeat_interval_ms = cfg.consumer_heartbeat_interval_ms;
        self.kind = GroupType::Consumer;
        self.protocol_type = Some(CONSUMER_PROTOCOL_TYPE.to_string());
        self.consumer = Some(Box::new(cg));
    }

    /// Empty in its own protocol's terms: no classic members, or no consumer group members.
    fn is_empty_group(&self) -> bool {
        match &self.consumer {
            Some(cg) => cg.members.is_empty(),
            None => self.state == GroupState::Empty,
        }
    }

    fn state_name(&self) -> &'static str {
        match &self.consumer {
            Some(cg) => cg.state().name(),
            None => self.state.name(),
        }
    }

    /// The tombstones that remove an empty group's own records (not its offsets).
    fn group_tombstones(&self) -> Vec<KeyValue> {
        match &self.consumer {
            None => vec![(rec::group_metadata_key(&self.id), None)],
            Some(cg) => consumer_group_tombstones(cg),
        }
    }

    fn transition(&mut self, to: GroupState, now_ms: i64) {
        self.previous_state = self.state;
        self.state = to;
        self.state_since_ms = now_ms;
    }

    fn is_consumer_group(&self) -> bool {
        self.protocol_type.as_deref() == Some("consumer")
    }

    fn awaiting_join_count(&self) -> usize {
        self.members.values().filter(|m| m.awaiting_join.is_some()).count()
    }

    fn all_joined(&self) -> bool {
        self.pending_join.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    fn rebalance_timeout(&self) -> Duration {
        self.members.values().map(|m| m.rebalance_timeout).max().unwrap_or(Duration::ZERO)
    }

    fn can_rebalance(&self) -> bool {
        matches!(self.state, GroupState::Stable | GroupState::CompletingRebalance | GroupState::Empty)
    }

    /// Kafka's `supportsProtocols`: an empty group takes any non-empty protocol set; otherwise the
    /// type must match and some protocol must be supported by every member.
    fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols
                .iter()
                .any(|(name, _)| self.members.values().all(|m| m.protocols.iter().any(|(n, _)| n == name)))
    }

    fn sorted_members(&self) -> Vec<&Member> {
        let mut ms: Vec<&Member> = self.members.values().collect();
        ms.sort_by_key(|m| m.seq);
        ms
    }

    /// Kafka's `selectProtocol`: among protocols every member supports, the one with the most
    /// votes, each member voting for its most preferred candidate (ties: the earlier candidate in
    /// the first member's preference).
    fn select_protocol(&self) -> Option<String> {
        let members = self.sorted_members();
        let first = members.first()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| members.iter().all(|m| m.protocols.iter().any(|(x, _)| x == *n)))
            .collect();
        let mut votes: Vec<(&String, usize)> = candidates.iter().map(|c| (*c, 0)).collect();
        for m in &members {
            if let Some((n, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(&n)) {
                if let Some(v) = votes.iter_mut().find(|(c, _)| *c == n) {
                    v.1 += 1;
                }
            }
        }
        let mut best: Option<(&String, usize)> = None;
        for (c, v) in votes {
            if best.is_none_or(|(_, bv)| v > bv) {
                best = Some((c, v));
            }
        }
        best.map(|(c, _)| c.clone())
    }

    fn member_list(&self) -> Vec<(String, Option<String>, Bytes)> {
        let proto = self.protocol_name.clone().unwrap_or_default();
        self.sorted_members().iter().map(|m| (m.id.clone(), m.group_instance_id.clone(), m.metadata(&proto))).collect()
    }

    fn join_result(&self, member_id: &str, with_members: bool) -> JoinResult {
        JoinResult {
            error: codes::NONE,
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            skip_assignment: false,
            members: if with_members { self.member_list() } else { vec![] },
        }
    }

    /// Kafka's `validateMember`: a static member must be the instance's current member id.
    fn validate_member(&self, member_id: &str, instance: Option<&str>) -> Result<(), i16> {
        match instance {
            Some(instance) => match self.static_members.get(instance) {
                None => Err(codes::UNKNOWN_MEMBER_ID),
                Some(current) if current != member_id => Err(codes::FENCED_INSTANCE_ID),
                Some(_) => Ok(()),
            },
            None if !self.members.contains_key(member_id) => Err(codes::UNKNOWN_MEMBER_ID),
            None => Ok(()),
        }
    }

    /// Kafka's `ClassicGroup.remove`: drops the member; the earliest remaining one leads.
    fn remove(&mut self, member_id: &str) -> Option<Member> {
        let m = self.members.remove(member_id);
        if let Some(m) = &m {
            if let Some(instance) = &m.group_instance_id {
                if self.static_members.get(instance) == Some(&m.id) {
                    self.static_members.remove(instance);
                }
            }
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = self.sorted_members().first().map(|m| m.id.clone());
        }
        self.pending_join.remove(member_id);
        self.pending_sync.remove(member_id);
        m
    }

    /// Topics the members subscribe to (consumer protocol only): `None` when unknown.
    fn subscribed_topics(&self) -> Option<HashSet<String>> {
        if let Some(cg) = &self.consumer {
            return Some(cg.members.values().flat_map(|m| m.subscribed.iter().cloned()).collect());
        }
        if !self.is_consumer_group() {
            return None;
        }
        let proto = self.protocol_name.as_deref()?;
        let mut topics = HashSet::new();
        for m in self.members.values() {
            topics.extend(rec::subscribed_topics(&m.metadata(proto))?);
        }
        Some(topics)
    }

    fn metadata_value(&self, assignment: &HashMap<String, Bytes>) -> rec::GroupMetadataValue {
        let proto = self.protocol_name.clone().unwrap_or_default();
        rec::GroupMetadataValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation_id,
            protocol: self.protocol_name.clone(),
            leader: self.leader.clone(),
            current_state_timestamp_ms: self.state_since_ms,
            members: self
                .sorted_members()
                .iter()
                .map(|m| rec::MemberMetadata {
                    member_id: m.id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout.as_millis().min(i32::MAX as u128) as i32,
                    session_timeout_ms: m.session_timeout.as_millis().min(i32::MAX as u128) as i32,
                    subscription: m.metadata(&proto),
                    assignment: assignment.get(&m.id).cloned().unwrap_or_default(),
                })
                .collect(),
        }
    }

    fn metadata_record(&self, assignment: &HashMap<String, Bytes>) -> KeyValue {
        (rec::group_metadata_key(&self.id), Some(rec::group_metadata_value(&self.metadata_value(assignment))))
    }

    fn current_assignment(&self) -> HashMap<String, Bytes> {
        self.members.values().map(|m| (m.id.clone(), m.assignment.clone())).collect()
    }
}

/// What happens once an append is replicated (or failed).
enum After {
    /// Nothing waits; a failure is logged with this description.
    Nothing(&'static str),
    Commit {
        group: String,
        offsets: Vec<((String, i32), CommittedOffset)>,
        reply: oneshot::Sender<i16>,
    },
    TxnCommit {
        producer_id: i64,
        group: String,
        keys: Vec<(String, i32, i64)>,
        reply: oneshot::Sender<i16>,
    },
    Assignment {
        group: String,
        generation: i32,
        assignment: HashMap<String, Bytes>,
    },
    StaticJoin(StaticJoin),
    /// Tombstones already applied in memory; the requester waits for them.
    Reply(oneshot::Sender<i16>),
}

/// What a static member's replacement needs to answer or revert it.
struct StaticJoin {
    group: String,
    instance: String,
    old_member_id: String,
    new_member_id: String,
    old_protocols: Vec<(String, Bytes)>,
    old_session_timeout: Duration,
    old_rebalance_timeout: Duration,
    current_leader: Option<String>,
    supports_skip_assignment: bool,
}

struct Write {
    partition: i32,
    epoch: i32,
    records: Vec<KeyValue>,
    txn: Option<TxnProducer>,
    after: After,
}

/// One `__consumer_offsets` partition led here: its groups and pending transactional offsets.
struct Shard {
    epoch: i32,
    loaded: bool,
    groups: HashMap<String, Group>,
    /// Producer id → (group, topic, partition) → offset awaiting the producer's marker.
    pending_txn: HashMap<i64, BTreeMap<(String, String, i32), CommittedOffset>>,
    /// `complete_transaction` calls that arrived while loading: replayed after it.
    deferred_markers: Vec<(i64, bool)>,
}

impl Shard {
    fn empty(epoch: i32) -> Shard {
        Shard {
            epoch,
            loaded: false,
            groups: HashMap::new(),
            pending_txn: HashMap::new(),
            deferred_markers: Vec::new(),
        }
    }

    fn has_pending_txn(&self, group: &str, topic: &str, partition: i32) -> bool {
        let key = (group.to_string(), topic.to_string(), partition);
        self.pending_txn.values().any(|p| p.contains_key(&key))
    }

    /// Makes a producer's pending offsets visible (commit) or drops them (abort).
    fn complete_transaction(&mut self, producer_id: i64, committed: bool, now_ms: i64) -> usize {
        let Some(pending) = self.pending_txn.remove(&producer_id) else { return 0 };
        if !committed {
            return 0;
        }
        let mut applied = 0;
        for ((group, topic, partition), offset) in pending {
            let g = self.groups.entry(group.clone()).or_insert_with(|| Group::new(&group, now_ms));
            let key = (topic, partition);
            if g.offsets.get(&key).is_none_or(|c| c.record_offset < offset.record_offset) {
                g.offsets.insert(key, offset);
                applied += 1;
            }
        }
        applied
    }
}

struct Inner {
    /// Partitions of `__consumer_offsets` (its image's count once it exists).
    partitions: i32,
    shards: HashMap<i32, Shard>,
}

impl Inner {
    fn group_count(&self) -> usize {
        self.shards.values().map(|s| s.groups.len()).sum()
    }
}

#[derive(Clone, Debug)]
pub struct GroupConfig {
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    pub initial_rebalance_delay: Duration,
    pub max_group_size: usize,
    pub offset_metadata_max_bytes: usize,
    pub offsets_retention_ms: i64,
    pub commit_timeout: Duration,
    pub load_buffer_bytes: usize,
    pub partitions: i32,
    pub consumer_session_timeout_ms: i64,
    pub consumer_heartbeat_interval_ms: i32,
}

impl GroupConfig {
    pub fn from_broker(cfg: &BrokerConfig) -> GroupConfig {
        GroupConfig {
            min_session_timeout_ms: cfg.group_min_session_timeout_ms,
            max_session_timeout_ms: cfg.group_max_session_timeout_ms,
            initial_rebalance_delay: Duration::from_millis(cfg.group_initial_rebalance_delay_ms),
            max_group_size: cfg.group_max_size,
            offset_metadata_max_bytes: cfg.offset_metadata_max_bytes,
            offsets_retention_ms: cfg.offsets_retention_ms,
            commit_timeout: Duration::from_millis(cfg.offsets_commit_timeout_ms),
            load_buffer_bytes: cfg.offsets_load_buffer_size,
            partitions: cfg.offsets_topic_num_partitions,
            consumer_session_timeout_ms: cfg.group_consumer_session_timeout_ms,
            consumer_heartbeat_interval_ms: cfg.group_consumer_heartbeat_interval_ms,
        }
    }
}

pub struct GroupCoordinator {
    cfg: GroupConfig,
    inner: Mutex<Inner>,
    clock: Clock,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Kafka's mapping of a failed coordinator append to the error clients see.
pub fn append_error_to_response(code: i16) -> i16 {
    match code {
        codes::UNKNOWN_TOPIC_OR_PARTITION
        | codes::NOT_ENOUGH_REPLICAS
        | codes::NOT_ENOUGH_REPLICAS_AFTER_APPEND
        | codes::REQUEST_TIMED_OUT => codes::COORDINATOR_NOT_AVAILABLE,
        codes::NOT_LEADER_OR_FOLLOWER | codes::KAFKA_STORAGE_ERROR | codes::FENCED_LEADER_EPOCH => {
            codes::NOT_COORDINATOR
        }
        codes::MESSAGE_TOO_LARGE | codes::RECORD_LIST_TOO_LARGE => codes::UNKNOWN_SERVER_ERROR,
        other => other,
    }
}

/// For an offset commit, Kafka answers an oversized batch with INVALID_COMMIT_OFFSET_SIZE.
fn commit_error(code: i16) -> i16 {
    match code {
        codes::MESSAGE_TOO_LARGE | codes::RECORD_LIST_TOO_LARGE => codes::INVALID_COMMIT_OFFSET_SIZE,
        other => append_error_to_response(other),
    }
}

enum Outcome<T> {
    Done(T),
    Wait(oneshot::Receiver<T>),
}

impl GroupCoordinator {
    pub fn new(cfg: &BrokerConfig) -> GroupCoordinator {
        GroupCoordinator::with_clock(GroupConfig::from_broker(cfg), system_clock())
    }

    pub fn with_clock(cfg: GroupConfig, clock: Clock) -> GroupCoordinator {
        let partitions = cfg.partitions.max(1);
        GroupCoordinator { cfg, inner: Mutex::new(Inner { partitions, shards: HashMap::new() }), clock }
    }

    /// The `__consumer_offsets` partition count, from the metadata image once the topic exists.
    pub fn set_partition_count(&self, partitions: i32) {
        if partitions > 0 {
            lock(&self.inner).partitions = partitions;
        }
    }

    /// The shard a group lives in, or why it cannot be served here.
    fn shard<'a>(inner: &'a mut Inner, group: &str) -> Result<&'a mut Shard, i16> {
        let p = partition_for(group, inner.partitions);
        match inner.shards.get_mut(&p) {
            None => Err(codes::NOT_COORDINATOR),
            Some(s) if !s.loaded => Err(codes::COORDINATOR_LOAD_IN_PROGRESS),
            Some(s) => Ok(s),
        }
    }

    // ---- leadership of `__consumer_offsets` partitions ----

    /// This broker leads `partition` in `epoch`: loads its groups from the log (in the
    /// background; requests get COORDINATOR_LOAD_IN_PROGRESS until done). Idempotent per epoch.
    pub fn on_leader(self: &Arc<Self>, log: &Arc<dyn OffsetsLog>, partition: i32, epoch: i32) {
        {
            let mut inner = lock(&self.inner);
            if inner.shards.get(&partition).is_some_and(|s| s.epoch == epoch) {
                return;
            }
            if let Some(old) = inner.shards.remove(&partition) {
                unload(old, partition);
            }
            inner.shards.insert(partition, Shard::empty(epoch));
        }
        tracing::debug!(partition, epoch, "loading the groups of {OFFSETS_TOPIC}-{partition}");
        let (me, log) = (self.clone(), log.clone());
        let load = move || {
            let started = Instant::now();
            match load_partition(&*log, partition, me.cfg.load_buffer_bytes, &me.clock) {
                Ok(loaded) => me.install(partition, epoch, loaded, started),
                Err(code) => {
                    tracing::warn!(partition, epoch, code, "loading {OFFSETS_TOPIC}-{partition} failed; its groups are unavailable until this broker leads it again");
                    let mut inner = lock(&me.inner);
                    if inner.shards.get(&partition).is_some_and(|s| s.epoch == epoch) {
                        inner.shards.remove(&partition);
                    }
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(load);
            }
            Err(_) => load(),
        }
    }

    fn install(&self, partition: i32, epoch: i32, loaded: Loaded, started: Instant) {
        let (now, now_ms) = (self.clock)();
        let mut inner = lock(&self.inner);
        let room = GROUPS_MAX.saturating_sub(inner.group_count());
        let Some(shard) = inner.shards.get_mut(&partition).filter(|s| s.epoch == epoch && !s.loaded) else { return };
        let mut groups = loaded.groups;
        if groups.len() > room {
            tracing::warn!(
                partition,
                groups = groups.len(),
                room,
                "more groups than this broker keeps ({GROUPS_MAX}); the rest are not served"
            );
            let keep: Vec<String> = groups.keys().take(room).cloned().collect();
            groups.retain(|k, _| keep.contains(k));
        }
        for g in groups.values_mut() {
            for m in g.members.values_mut() {
                m.heartbeat_deadline = now + m.session_timeout;
                m.seq = next_member_seq();
            }
            if let Some(cg) = g.consumer.as_mut() {
                cg.heartbeat_interval_ms = self.cfg.consumer_heartbeat_interval_ms;
                cg.set_session_timeout_ms(self.cfg.consumer_session_timeout_ms, now_ms);
            }
        }
        let (count, offsets) = (groups.len(), groups.values().map(|g| g.offsets.len()).sum::<usize>());
        shard.groups = groups;
        shard.pending_txn = loaded.pending_txn;
        shard.loaded = true;
        for (pid, committed) in std::mem::take(&mut shard.deferred_markers) {
            shard.complete_transaction(pid, committed, now_ms);
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        // 50 partitions load on every leadership change: only those with content are news.
        if loaded.records > 0 {
            tracing::info!(
                partition,
                epoch,
                groups = count,
                offsets,
                records = loaded.records,
                skipped = loaded.skipped,
                elapsed_ms,
                "loaded the groups of {OFFSETS_TOPIC}-{partition}"
            );
        } else {
            tracing::debug!(partition, epoch, elapsed_ms, "loaded {OFFSETS_TOPIC}-{partition}: empty");
        }
    }

    /// This broker no longer leads `partition`: drops its groups; parked requests get
    /// NOT_COORDINATOR so clients find the new coordinator.
    pub fn on_resign(&self, partition: i32) {
        let shard = lock(&self.inner).shards.remove(&partition);
        if let Some(shard) = shard {
            unload(shard, partition);
        }
    }

    /// Partitions led (loaded or loading) here.
    pub fn led_partitions(&self) -> Vec<i32> {
        let mut v: Vec<i32> = lock(&self.inner).shards.keys().copied().collect();
        v.sort_unstable();
        v
    }

    // ---- writes ----

    /// Appends the writes (under the lock) and arranges their completions: at once when the
    /// append fails or is already replicated, else in a task once replication answers.
    fn flush(self: &Arc<Self>, log: &Arc<dyn OffsetsLog>, inner: &mut Inner, writes: Vec<Write>) {
        let mut queue = writes;
        for _ in 0..FLUSH_ROUNDS_MAX {
            if queue.is_empty() {
                return;
            }
            let mut next = Vec::new();
            for w in queue {
                let (_, now_ms) = (self.clock)();
                let batch = rec::batch(&w.records, now_ms, w.txn);
                match log.append(w.partition, w.epoch, batch) {
                    Err(code) => self.complete(inner, w.partition, w.epoch, w.after, Err(code), &mut next),
                    Ok(appended) => {
                        let mut after = w.after;
                        self.appended(inner, w.partition, w.epoch, &mut after, appended.base_offset);
                        let mut replicated = appended.replicated;
                        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                        if let std::task::Poll::Ready(r) = replicated.as_mut().poll(&mut cx) {
                            self.complete(inner, w.partition, w.epoch, after, r, &mut next);
                            continue;
                        }
                        let (me, log, timeout) = (self.clone(), log.clone(), self.cfg.commit_timeout);
                        let (partition, epoch) = (w.partition, w.epoch);
                        tokio::spawn(async move {
                            let r = tokio::time::timeout(timeout, replicated)
                                .await
                                .unwrap_or(Err(codes::REQUEST_TIMED_OUT));
                            let mut inner = lock(&me.inner);
                            let mut more = Vec::new();
                            me.complete(&mut inner, partition, epoch, after, r, &mut more);
                            me.flush(&log, &mut inner, more);
                        });
                    }
                }
            }
            queue = next;
        }
        tracing::error!(writes = queue.len(), "group coordinator writes kept failing into more writes; dropped");
    }

    /// Bookkeeping right after the local append: record offsets of what is now in the log.
    fn appended(&self, inner: &mut Inner, partition: i32, epoch: i32, after: &mut After, base_offset: i64) {
        let Some(shard) = inner.shards.get_mut(&partition).filter(|s| s.epoch == epoch) else { return };
        match after {
            After::Commit { offsets, .. } => {
                for (i, (_, c)) in offsets.iter_mut().enumerate() {
                    c.record_offset = base_offset + i as i64;
                }
            }
            After::TxnCommit { producer_id, group, keys, .. } => {
                let pending = shard.pending_txn.entry(*producer_id).or_default();
                for (i, (topic, p, record_offset)) in keys.iter_mut().enumerate() {
                    *record_offset = base_offset + i as i64;
                    if let Some(c) = pending.get_mut(&(group.clone(), topic.clone(), *p)) {
                        c.record_offset = *record_offset;
                    }
                }
            }
            _ => {}
        }
    }

    /// Completes a write: `result` is the replication outcome (the code of a failed append).
    fn complete(
        &self,
        inner: &mut Inner,
        partition: i32,
        epoch: i32,
        after: After,
        result: Result<(), i16>,
        more: &mut Vec<Write>,
    ) {
        let (now, now_ms) = (self.clock)();
        let shard = inner.shards.get_mut(&partition).filter(|s| s.epoch == epoch && s.loaded);
        match after {
            After::Nothing(what) => {
                if let Err(code) = result {
                    tracing::warn!(partition, code, "{what}: writing to {OFFSETS_TOPIC} failed");
                }
            }
            After::Reply(reply) => {
                let _ = reply.send(result.err().map(append_error_to_response).unwrap_or(codes::NONE));
            }
            After::Commit { group, offsets, reply } => {
                if let Some(g) = shard.and_then(|s| s.groups.get_mut(&group)) {
                    for (key, c) in offsets {
                        if let Some(n) = g.pending_commits.get_mut(&key) {
                            *n = n.saturating_sub(1);
                            if *n == 0 {
                                g.pending_commits.remove(&key);
                            }
                        }
                        if result.is_ok() && g.offsets.get(&key).is_none_or(|old| old.record_offset < c.record_offset) {
                            g.offsets.insert(key, c);
                        }
                    }
                }
                let _ = reply.send(result.err().map(commit_error).unwrap_or(codes::NONE));
            }
            After::TxnCommit { producer_id, group, keys, reply } => {
                if let (Err(_), Some(shard)) = (result, shard) {
                    // The offsets never made it: they are not pending any more.
                    if let Some(pending) = shard.pending_txn.get_mut(&producer_id) {
                        for (topic, p, record_offset) in &keys {
                            let key = (group.clone(), topic.clone(), *p);
                            if pending.get(&key).is_some_and(|c| c.record_offset == *record_offset) {
                                pending.remove(&key);
                            }
                        }
                        if pending.is_empty() {
                            shard.pending_txn.remove(&producer_id);
                        }
                    }
                }
                let _ = reply.send(result.err().map(commit_error).unwrap_or(codes::NONE));
            }
            After::Assignment { group, generation, assignment } => {
                let Some(shard) = shard else { return };
                let Some(g) = shard.groups.get_mut(&group) else { return };
                // A member may have joined meanwhile: only the same generation, still completing.
                if g.state != GroupState::CompletingRebalance || g.generation_id != generation {
                    return;
                }
                match result {
                    Ok(()) => {
                        set_and_propagate_assignment(g, &assignment, now);
                        g.transition(GroupState::Stable, now_ms);
                        tracing::info!(group = %g.id, generation, members = g.members.len(), "group is stable");
                    }
                    Err(code) => {
                        let error = append_error_to_response(code);
                        tracing::warn!(group = %g.id, generation, code, "storing the group's assignment failed");
                        reset_and_propagate_assignment_error(g, error);
                        let mut ctx = self.ctx(partition, epoch, (now, now_ms), more);
                        maybe_prepare_rebalance_or_complete_join(g, &mut ctx, "storing the assignment failed");
                    }
                }
            }
            After::StaticJoin(sj) => {
                let Some(g) = shard.and_then(|s| s.groups.get_mut(&sj.group)) else { return };
                if !g.members.contains_key(&sj.new_member_id) {
                    return;
                }
                match result {
                    Ok(()) => {
                        let is_leader = g.leader.as_deref() == Some(sj.new_member_id.as_str());
                        let mut r = g.join_result(&sj.new_member_id, false);
                        if sj.supports_skip_assignment {
                            // JoinGroup v9+: the static leader learns it leads but skips assigning.
                            if is_leader {
                                r.members = g.member_list();
                                r.skip_assignment = true;
                            }
                        } else {
                            // Older clients: name the previous leader id so a returning leader does
                            // not run a trivial assignment a Stable group would ignore.
                            r.leader = sj.current_leader.clone().unwrap_or_default();
                        }
                        if let Some(m) = g.members.get_mut(&sj.new_member_id) {
                            m.answer_join(r);
                        }
                    }
                    Err(code) => {
                        let error = append_error_to_response(code);
                        tracing::warn!(group = %g.id, instance = %sj.instance, code, "storing a replaced static member failed; reverting");
                        let mut r = g.join_result("", false);
                        r.error = error;
                        r.leader = sj.current_leader.clone().unwrap_or_default();
                        if let Some(m) = g.members.get_mut(&sj.new_member_id) {
                            m.protocols = sj.old_protocols.clone();
                            m.session_timeout = sj.old_session_timeout;
                            m.rebalance_timeout = sj.old_rebalance_timeout;
                            m.answer_join(r);
                        }
                        replace_static_member(
                            g,
                            &sj.instance,
                            &sj.new_member_id,
                            &sj.old_member_id,
                            codes::FENCED_INSTANCE_ID,
                        );
                        if let Some(m) = g.members.get_mut(&sj.old_member_id) {
                            m.heartbeat_deadline = now + m.session_timeout;
                        }
                    }
                }
            }
        }
    }

    // ---- JoinGroup ----

    pub async fn join(self: &Arc<Self>, log: &Arc<dyn OffsetsLog>, req: JoinRequest) -> JoinResult {
        let member_id = req.member_id.clone();
        let outcome = {
            let mut inner = lock(&self.inner);
            let mut writes = Vec::new();
            let out = self.join_locked(&mut inner, req, &mut writes);
            self.flush(log, &mut inner, writes);
            out
        };
        match outcome {
            Outcome::Done(r) => r,
            Outcome::Wait(rx) => {
                rx.await.unwrap_or_else(|_| JoinResult::error(codes::COORDINATOR_NOT_AVAILABLE, &member_id))
            }
        }
    }

    fn join_locked(&self, inner: &mut Inner, req: JoinRequest, writes: &mut Vec<Write>) -> Outcome<JoinResult> {
        let (now, now_ms) = (self.clock)();
        let err = |code: i16, member_id: &str| Outcome::Done(JoinResult::error(code, member_id));
        if req.group_id.is_empty() {
            return err(codes::INVALID_GROUP_ID, &req.member_id);
        }
        let total = inner.group_count();
        let partition = partition_for(&req.group_id, inner.partitions);
        let shard = match Self::shard(inner, &req.group_id) {
            Ok(s) => s,
            Err(code) => return err(code, &req.member_id),
        };
        if req.session_timeout_ms < self.cfg.min_session_timeout_ms
            || req.session_timeout_ms > self.cfg.max_session_timeout_ms
        {
            return err(codes::INVALID_SESSION_TIMEOUT, &req.member_id);
        }
        let unknown_member = req.member_id.is_empty();
        let new_group = !shard.groups.contains_key(&req.group_id);
        if new_group {
            if !unknown_member {
                return err(codes::UNKNOWN_MEMBER_ID, &req.member_id);
            }
            if total >= GROUPS_MAX {
                tracing::warn!(group = %req.group_id, "refusing a new group: this broker keeps at most {GROUPS_MAX} groups");
                return err(codes::COORDINATOR_NOT_AVAILABLE, &req.member_id);
            }
            shard.groups.insert(req.group_id.clone(), Group::new(&req.group_id, now_ms));
        }
        let epoch = shard.epoch;
        let g = shard.groups.get_mut(&req.group_id).expect("just ensured");
        if g.consumer.is_some() {
            // No mixed groups here (Kafka's online migration between protocols is not
            // implemented): a classic member may only take over an empty consumer group.
            if !g.is_empty_group() {
                tracing::info!(group = %g.id, member = %req.member_id, "classic join refused: the group is a non-empty consumer (KIP-848) group");
                return err(codes::INCONSISTENT_GROUP_PROTOCOL, &req.member_id);
            }
            let records = g.group_tombstones();
            g.consumer = None;
            g.kind = GroupType::Classic;
            g.protocol_type = None;
            writes.push(Write {
                partition,
                epoch,
                records,
                txn: None,
                after: After::Nothing("turning an empty consumer group into a classic one"),
            });
        }
        let mut ctx = self.ctx(partition, epoch, (now, now_ms), writes);
        let out = if !accept_joining_member(g, &req.member_id, self.cfg.max_group_size) {
            tracing::info!(group = %g.id, member = %req.member_id, max = self.cfg.max_group_size, "join refused: the group is at group.max.size");
            g.remove(&req.member_id);
            err(codes::GROUP_MAX_SIZE_REACHED, "")
        } else if unknown_member {
            self.join_new_member(g, req, &mut ctx)
        } else {
            join_existing_member(g, req, &mut ctx)
        };
        if new_group {
            // As Kafka: a new group is committed to the log even before anything else is written.
            let record = (
                rec::group_metadata_key(&g.id),
                Some(rec::group_metadata_value(&rec::GroupMetadataValue {
                    protocol_type: String::new(),
                    generation: 0,
                    protocol: None,
                    leader: None,
                    current_state_timestamp_ms: g.state_since_ms,
                    members: vec![],
                })),
            );
            // Ahead of the writes the join itself made, so the log keeps their order.
            ctx.writes.insert(
                0,
                Write {
                    partition,
                    epoch,
                    records: vec![record],
                    txn: None,
                    after: After::Nothing("recording a new group"),
                },
            );
        }
        out
    }

    fn join_new_member(&self, g: &mut Group, req: JoinRequest, ctx: &mut Ctx) -> Outcome<JoinResult> {
        if !g.supports_protocols(&req.protocol_type, &req.protocols) {
            return Outcome::Done(JoinResult::error(codes::INCONSISTENT_GROUP_PROTOCOL, ""));
        }
        let prefix = req.group_instance_id.clone().unwrap_or_else(|| req.client_id.clone());
        let new_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        if let Some(instance) = req.group_instance_id.clone() {
            if let Some(old_id) = g.static_members.get(&instance).cloned() {
                tracing::info!(group = %g.id, instance = %instance, old = %old_id, new = %new_id, state = g.state.name(), "static member rejoined with a new member id; replacing the old one");
                return update_static_member(g, req, &instance, &old_id, &new_id, ctx);
            }
            tracing::info!(group = %g.id, instance = %instance, member = %new_id, "new static member joins");
            return self.add_member(g, req, &new_id, ctx);
        }
        if req.require_known_member_id {
            // KIP-394: the member must come back with this id; it stays pending a session meanwhile.
            let session = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
            g.pending_join.insert(new_id.clone(), ctx.now + session);
            return Outcome::Done(JoinResult::error(codes::MEMBER_ID_REQUIRED, &new_id));
        }
        self.add_member(g, req, &new_id, ctx)
    }

    fn add_member(&self, g: &mut Group, req: JoinRequest, member_id: &str, ctx: &mut Ctx) -> Outcome<JoinResult> {
        let (tx, rx) = oneshot::channel();
        if g.state == GroupState::PreparingRebalance && g.previous_state == GroupState::Empty {
            g.new_member_added = true;
        }
        if g.members.is_empty() {
            g.protocol_type = Some(req.protocol_type.clone());
        }
        let member = Member {
            id: member_id.to_string(),
            group_instance_id: req.group_instance_id.clone(),
            client_id: req.client_id,
            client_host: req.client_host,
            session_timeout: Duration::from_millis(req.session_timeout_ms.max(0) as u64),
            rebalance_timeout: Duration::from_millis(req.rebalance_timeout_ms.max(0) as u64),
            protocols: req.protocols,
            assignment: Bytes::new(),
            awaiting_join: Some(tx),
            awaiting_sync: None,
            heartbeat_deadline: ctx.now + NEW_MEMBER_JOIN_TIMEOUT,
            is_new: true,
            seq: next_member_seq(),
        };
        if let Some(instance) = &member.group_instance_id {
            g.static_members.insert(instance.clone(), member.id.clone());
        }
        g.pending_join.remove(member_id);
        if g.leader.is_none() {
            g.leader = Some(member.id.clone());
        }
        g.members.insert(member.id.clone(), member);
        maybe_prepare_rebalance_or_complete_join(g, ctx, "a new member joined");
        Outcome::Wait(rx)
    }

    // ---- SyncGroup ----

    pub async fn sync(self: &Arc<Self>, log: &Arc<dyn OffsetsLog>, req: SyncRequest) -> SyncResult {
        let outcome = {
            let mut inner = lock(&self.inner);
            let mut writes = Vec::new();
            let out = self.sync_locked(&mut inner, req, &mut writes);
            self.flush(log, &mut inner, writes);
            out
        };
        match outcome {
            Outcome::Done(r) => r,
            Outcome::Wait(rx) => rx.await.unwrap_or_else(|_| SyncResult::error(codes::COORDINATOR_NOT_AVAILABLE)),
        }
    }

    fn sync_locked(&self, inner: &mut Inner, req: SyncRequest, writes: &mut Vec<Write>) -> Outcome<SyncResult> {
        let (now, _) = (self.clock)();
        let err = |code| Outcome::Done(SyncResult::error(code));
        if req.group_id.is_empty() {
            return err(codes::INVALID_GROUP_ID);
        }
        let partition = partition_for(&req.group_id, inner.partitions);
        let shard = match Self::shard(inner, &req.group_id) {
            Ok(s) => s,
            Err(code) => return err(code),
        };
        let epoch = shard.epoch;
        let Some(g) = shard.groups.get_mut(&req.group_id) else { return err(codes::UNKNOWN_MEMBER_ID) };
        if let Err(code) = g.validate_member(&req.member_id, req.group_instance_id.as_deref()) {
            return err(code);
        }
        if req.generation_id != g.generation_id {
            return err(codes::ILLEGAL_GENERATION);
        }
        let inconsistent =
            |asked: &Option<String>, have: &Option<String>| asked.is_some() && have.is_some() && asked != have;
        if inconsistent(&req.protocol_type, &g.protocol_type) || inconsistent(&req.protocol_name, &g.protocol_name) {
            return err(codes::INCONSISTENT_GROUP_PROTOCOL);
        }
        match g.state {
            GroupState::Empty => err(codes::UNKNOWN_MEMBER_ID),
            GroupState::PreparingRebalance => err(codes::REBALANCE_IN_PROGRESS),
            GroupState::Stable => {
                g.pending_sync.remove(&req.member_id);
                let m = g.members.get(&req.member_id).expect("validated member");
                Outcome::Done(SyncResult {
                    error: codes::NONE,
                    protocol_type: g.protocol_type.clone(),
                    protocol_name: g.protocol_name.clone(),
                    assignment: m.assignment.clone(),
                })
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = g.members.get_mut(&req.member_id) {
                    m.awaiting_sync = Some(tx);
                    m.heartbeat_deadline = now + m.session_timeout;
                }
                g.pending_sync.remove(&req.member_id);
                if g.leader.as_deref() == Some(req.member_id.as_str()) {
                    let given: HashMap<String, Bytes> = req.assignments.into_iter().collect();
                    let assignment: HashMap<String, Bytes> =
                        g.members.keys().map(|id| (id.clone(), given.get(id).cloned().unwrap_or_default())).collect();
                    let missing = g.members.keys().filter(|id| !given.contains_key(*id)).count();
                    if missing > 0 {
                        tracing::warn!(group = %g.id, missing, "the leader's assignment leaves members out; they get an empty assignment");
                    }
                    tracing::info!(group = %g.id, generation = g.generation_id, members = g.members.len(), "assignment received from the leader");
                    writes.push(Write {
                        partition,
                        epoch,
                        records: vec![g.metadata_record(&assignment)],
                        txn: None,
                        after: After::Assignment { group: g.id.clone(), generation: g.generation_id, assignment },
                    });
                }
                Outcome::Wait(rx)
            }
        }
    }

    // ---- Heartbeat ----

    pub fn heartbeat(
        self: &Arc<Self>,
        group_id: &str,
        member_id: &str,
        instance: Option<&str>,
        generation_id: i32,
    ) -> i16 {
        let (now, _) = (self.clock)();
        if group_id.is_empty() {
            return codes::INVALID_GROUP_ID;
        }
        let mut inner = lock(&self.inner);
        let shard = match Self::shard(&mut inner, group_id) {
            Ok(s) => s,
            // Kafka answers a heartbeat blindly while the group loads.
            Err(codes::COORDINATOR_LOAD_IN_PROGRESS) => return codes::NONE,
            Err(code) => return code,
        };
        let Some(g) = shard.groups.get_mut(group_id) else { return codes::UNKNOWN_MEMBER_ID };
        if let Err(code) = g.validate_member(member_id, instance) {
            return code;
        }
        if generation_id != g.generation_id {
            return codes::ILLEGAL_GENERATION;
        }
        let state = g.state;
        let m = g.members.get_mut(member_id).expect("validated member");
        match state {
            GroupState::Empty => codes::UNKNOWN_MEMBER_ID,
            GroupState::PreparingRebalance => {
                m.heartbeat_deadline = now + m.session_timeout;
                codes::REBALANCE_IN_PROGRESS
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                m.heartbeat_deadline = now + m.session_timeout;
                codes::NONE
            }
        }
    }

    // ---- LeaveGroup ----

    /// Removes members given by member id or (member id empty) group instance id; per-member
    /// codes in request order, or an error for the whole request.
    pub fn leave(
        self: &Arc<Self>,
        log: &Arc<dyn OffsetsLog>,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Result<Vec<i16>, i16> {
        let (now, now_ms) = (self.clock)();
        if group_id.is_empty() {
            return Err(codes::INVALID_GROUP_ID);
        }
        let mut inner = lock(&self.inner);
        let partition = partition_for(group_id, inner.partitions);
        let mut writes = Vec::new();
        let out = {
            let shard = Self::shard(&mut inner, group_id)?;
            let epoch = shard.epoch;
            let Some(g) = shard.groups.get_mut(group_id) else { return Err(codes::UNKNOWN_MEMBER_ID) };
            let mut out = Vec::with_capacity(members.len());
            let mut left = Vec::new();
            for (member_id, instance) in members {
                let code = if member_id.is_empty() {
                    match instance.as_ref().and_then(|i| g.static_members.get(i)).cloned() {
                        Some(id) => {
                            remove_current_member(g, &id);
                            left.push(id);
                            codes::NONE
                        }
                        None => codes::UNKNOWN_MEMBER_ID,
                    }
                } else if g.pending_join.contains_key(member_id) {
                    g.pending_join.remove(member_id);
                    left.push(member_id.clone());
                    codes::NONE
                } else {
                    match g.validate_member(member_id, instance.as_deref()) {
                        Ok(()) => {
                            remove_current_member(g, member_id);
                            left.push(member_id.clone());
                            codes::NONE
                        }
                        Err(code) => code,
                    }
                };
                out.push(code);
            }
            if !left.is_empty() {
                tracing::info!(group = %g.id, members = ?left, "members left the group");
                let mut ctx = self.ctx(partition, epoch, (now, now_ms), &mut writes);
                match g.state {
                    GroupState::Stable | GroupState::CompletingRebalance => {
                        maybe_prepare_rebalance_or_complete_join(g, &mut ctx, "members left the group")
                    }
                    GroupState::PreparingRebalance => maybe_complete_join_phase(g, &mut ctx),
                    GroupState::Empty => {}
                }
            }
            out
        };
        self.flush(log, &mut inner, writes);
        Ok(out)
    }

    // ---- timers ----

    /// Session, rebalance, initial-delay, pending-join and pending-sync timeouts. Called
    /// periodically (and by tests with their clock).
    pub fn tick(self: &Arc<Self>, log: &Arc<dyn OffsetsLog>) {
        let (now, now_ms) = (self.clock)();
        let mut inner = lock(&self.inner);
        let mut writes = Vec::new();
        for (&partition, shard) in inner.shards.iter_mut().filter(|(_, s)| s.loaded) {
            let epoch = shard.epoch;
            for g in shard.groups.values_mut() {
                if let Some(cg) = g.consumer.as_mut() {
                    consumer::expire_members(cg, partition, epoch, now_ms, &mut writes);
                    continue;
                }
                let mut ctx = self.ctx(partition, epoch, (now, now_ms), &mut writes);
                tick_group(g, &mut ctx);
            }
        }
        self.flush(log, &mut inner, writes);
    }

    // ---- offsets ----

    pub async fn commit(self: &Arc<Self>, log: &Arc<dyn OffsetsLog>, req: CommitRequest) -> Result<Vec<i16>, i16> {
        let (codes_out, rx) = {
            let mut inner = lock(&self.inner);
            let mut writes = Vec::new();
            let out = self.commit_locked(&mut inner, req, &mut writes)?;
            self.flush(log, &mut inner, writes);
            out
        };
        let Some(rx) = rx else { return Ok(codes_out) };
        let code = rx.await.unwrap_or(codes::COORDINATOR_NOT_AVAILABLE);
        Ok(codes_out.into_iter().map(|c| if c == codes::NONE { code } else { c }).collect())
    }

    #[allow(clippy::type_complexity)]
    fn commit_locked(
        &self,
        inner: &mut Inner,
        req: CommitRequest,
        writes: &mut Vec<Write>,
    ) -> Result<(Vec<i16>, Option<oneshot::Receiver<i16>>), i16> {
        let (now, now_ms) = (self.clock)();
        if req.group_id.is_empty() {
            return Err(codes::INVALID_GROUP_ID);
        }
        let total = inner.group_count();
        let partition = partition_for(&req.group_id, inner.partitions);
        let shard = Self::shard(inner, &req.group_id)?;
        if !shard.groups.contains_key(&req.group_id) {
            if req.generation_id >= 0 {
                // v9+ can say it plainly; older versions keep Kafka's ILLEGAL_GENERATION.
                return Err(if req.api_version >= 9 { codes::GROUP_ID_NOT_FOUND } else { codes::ILLEGAL_GENERATION });
            }
            if total >= GROUPS_MAX {
                tracing::warn!(group = %req.group_id, "refusing a new group: this broker keeps at most {GROUPS_MAX} groups");
                return Err(codes::COORDINATOR_NOT_AVAILABLE);
            }
            // A standalone ("simple") group: a consumer or the admin client storing offsets only.
            shard.groups.insert(req.group_id.clone(), Group::new(&req.group_id, now_ms));
        }
        let epoch = shard.epoch;
        let g = shard.groups.get_mut(&req.group_id).expect("just ensured");
        validate_offset_commit(g, &req.member_id, req.group_instance_id.as_deref(), req.generation_id, false)?;
        if let Some(m) = g.members.get_mut(&req.member_id) {
            m.heartbeat_deadline = now + m.session_timeout;
        }
        let expire = (req.retention_time_ms >= 0).then(|| now_ms.saturating_add(req.retention_time_ms));
        let mut out = Vec::with_capacity(req.offsets.len());
        let mut records = Vec::new();
        let mut offsets = Vec::new();
        let mut new_keys = 0usize;
        for o in req.offsets {
            let metadata = o.metadata.unwrap_or_default();
            if metadata.len() > self.cfg.offset_metadata_max_bytes {
                out.push(codes::OFFSET_METADATA_TOO_LARGE);
                continue;
            }
            let key = (o.topic.clone(), o.partition);
            if !g.offsets.contains_key(&key) {
                if g.offsets.len() + new_keys >= OFFSETS_PER_GROUP_MAX {
                    tracing::warn!(group = %g.id, "commit refused: a group keeps at most {OFFSETS_PER_GROUP_MAX} offsets");
                    out.push(codes::INVALID_COMMIT_OFFSET_SIZE);
                    continue;
                }
                new_keys += 1;
            }
            let value = CommittedOffset {
                offset: o.offset,
                leader_epoch: o.leader_epoch,
                metadata,
                commit_timestamp_ms: now_ms,
                expire_timestamp_ms: expire,
                record_offset: -1,
            };
            records.push((
                rec::offset_commit_key(&g.id, &o.topic, o.partition),
                Some(rec::offset_commit_value(&to_value(&value))),
            ));
            *g.pending_commits.entry(key.clone()).or_default() += 1;
            offsets.push((key, value));
            out.push(codes::NONE);
        }
        if records.is_empty() {
            return Ok((out, None));
        }
        let (tx, rx) = oneshot::channel();
        writes.push(Write {
            partition,
            epoch,
            records,
            txn: None,
            after: After::Commit { group: g.id.clone(), offsets, reply: tx },
        });
        Ok((out, Some(rx)))
    }

    /// TxnOffsetCommit's work (see the module docs): per-partition codes, or an error for all.
    #[allow(clippy::too_many_arguments)]
    pub async fn txn_offset_commit(
        self: &Arc<Self>,
        log: &Arc<dyn OffsetsLog>,
        group_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        member_id: &str,
        group_instance_id: Option<&str>,
        generation_id: i32,
        offsets: Vec<OffsetToCommit>,
    ) -> Result<Vec<i16>, i16> {
        let (codes_out, rx) = {
            let mut inner = lock(&self.inner);
            let mut writes = Vec::new();
            let out = self.txn_commit_locked(
                &mut inner,
                group_id,
                TxnProducer { producer_id, producer_epoch },
                member_id,
                group_instance_id,
                generation_id,
                offsets,
                &mut writes,
            )?;
            self.flush(log, &mut inner, writes);
            out
        };
        let Some(rx) = rx else { return Ok(codes_out) };
        let code = rx.await.unwrap_or(codes::COORDINATOR_NOT_AVAILABLE);
        Ok(codes_out.into_iter().map(|c| if c == codes::NONE { code } else { c }).collect())
    }

    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn txn_commit_locked(
        &self,
        inner: &mut Inner,
        group_id: &str,
        producer: TxnProducer,
        member_id: &str,
        instance: Option<&str>,
        generation_id: i32,
        offsets: Vec<OffsetToCommit>,
        writes: &mut Vec<Write>,
    ) -> Result<(Vec<i16>, Option<oneshot::Receiver<i16>>), i16> {
        let (_, now_ms) = (self.clock)();
        if group_id.is_empty() {
            return Err(codes::INVALID_GROUP_ID);
        }
        let total = inner.group_count();
        let partition = partition_for(group_id, inner.partitions);
        let shard = Self::shard(inner, group_id)?;
        if !shard.groups.contains_key(group_id) {
            if generation_id >= 0 {
                return Err(codes::ILLEGAL_GENERATION);
            }
            if total >= GROUPS_MAX {
                return Err(codes::COORDINATOR_NOT_AVAILABLE);
            }
            shard.groups.insert(group_id.to_string(), Group::new(group_id, now_ms));
        }
        if !shard.pending_txn.contains_key(&producer.producer_id)
            && shard.pending_txn.len() >= PENDING_TXN_PRODUCERS_MAX
        {
            tracing::warn!(group = group_id, "refusing transactional offsets: {PENDING_TXN_PRODUCERS_MAX} producers already await their markers on this partition");
            return Err(codes::COORDINATOR_NOT_AVAILABLE);
        }
        let epoch = shard.epoch;
        let g = shard.groups.get(group_id).expect("just ensured");
        validate_offset_commit(g, member_id, instance, generation_id, true)?;
        let mut out = Vec::with_capacity(offsets.len());
        let mut records = Vec::new();
        let mut keys = Vec::new();
        let mut pending = Vec::new();
        for o in offsets {
            let metadata = o.metadata.unwrap_or_default();
            if metadata.len() > self.cfg.offset_metadata_max_bytes {
                out.push(codes::OFFSET_METADATA_TOO_LARGE);
                continue;
            }
            let value = CommittedOffset {
                offset: o.offset,
                leader_epoch: o.leader_epoch,
                metadata,
                commit_timestamp_ms: now_ms,
                expire_timestamp_ms: None,
                record_offset: -1,
            };
            records.push((
                rec::offset_commit_key(group_id, &o.topic, o.partition),
                Some(rec::offset_commit_value(&to_value(&value))),
            ));
            keys.push((o.topic.clone(), o.partition, -1));
            pending.push(((group_id.to_string(), o.topic, o.partition), value));
            out.push(codes::NONE);
        }
        if records.is_empty() {
            return Ok((out, None));
        }
        let entry = shard.pending_txn.entry(producer.producer_id).or_default();
        for (k, v) in pending {
            entry.insert(k, v);
        }
        let (tx, rx) = oneshot::channel();
        writes.push(Write {
            partition,
            epoch,
            records,
            txn: Some(producer),
            after: After::TxnCommit { producer_id: producer.producer_id, group: group_id.to_string(), keys, reply: tx },
        });
        Ok((out, Some(rx)))
    }

    /// A COMMIT (`committed`) or ABORT marker for `producer_id` was written to `partition` of
    /// `__consumer_offsets`: its pending transactional offsets become visible or are dropped.
    /// Called by the WriteTxnMarkers handler once the marker is replicated.
    pub fn complete_transaction(&self, partition: i32, producer_id: i64, committed: bool) {
        let (_, now_ms) = (self.clock)();
        let mut inner = lock(&self.inner);
        let Some(shard) = inner.shards.get_mut(&partition) else {
            tracing::debug!(
                partition,
                producer_id,
                "transaction marker for a partition not led here; its leader reads it from the log"
            );
            return;
        };
        if !shard.loaded {
            shard.deferred_markers.push((producer_id, committed));
            return;
        }
        let applied = shard.complete_transaction(producer_id, committed, now_ms);
        tracing::debug!(partition, producer_id, committed, applied, "transactional offsets completed");
    }

    /// OffsetFetch for one group. `partitions` `None`: every partition the group has.
    pub fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<&[(String, i32)]>,
        require_stable: bool,
    ) -> Result<Vec<FetchedOffset>, i16> {
        let mut inner = lock(&self.inner);
        let shard = Self::shard(&mut inner, group_id)?;
        let group = shard.groups.get(group_id);
        let unstable = |t: &str, p: i32| {
            require_stable
                && (shard.has_pending_txn(group_id, t, p)
                    || group.is_some_and(|g| g.pending_commits.contains_key(&(t.to_string(), p))))
        };
        let answer = |t: &str, p: i32, c: Option<&CommittedOffset>| {
            if unstable(t, p) {
                FetchedOffset {
                    topic: t.to_string(),
                    partition: p,
                    committed: None,
                    error: codes::UNSTABLE_OFFSET_COMMIT,
                }
            } else {
                FetchedOffset { topic: t.to_string(), partition: p, committed: c.cloned(), error: codes::NONE }
            }
        };
        Ok(match partitions {
            Some(ps) => {
                ps.iter().map(|(t, p)| answer(t, *p, group.and_then(|g| g.offsets.get(&(t.clone(), *p))))).collect()
            }
            None => {
                group.map(|g| g.offsets.iter().map(|((t, p), c)| answer(t, *p, Some(c))).collect()).unwrap_or_default()
            }
        })
    }

    // ---- admin ----

    /// DescribeGroups for one group; `Ok(None)` for an unknown group (Kafka reports it Dead).
    pub fn describe(&self, group_id: &str) -> Result<Option<GroupDescription>, i16> {
        let mut inner = lock(&self.inner);
        let shard = Self::shard(&mut inner, group_id)?;
        let Some(g) = shard.groups.get(group_id) else { return Ok(None) };
        if g.consumer.is_some() {
            // Kafka's DescribeGroups (before v6) answers a group of another type as a Dead one.
            return Ok(None);
        }
        let stable = g.state == GroupState::Stable;
        let proto = g.protocol_name.clone().unwrap_or_default();
        Ok(Some(GroupDescription {
            state: g.state,
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol: if stable { proto.clone() } else { String::new() },
            members: g
                .sorted_members()
                .iter()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    // Kafka shows metadata and assignments only for a Stable group.
                    metadata: if stable { m.metadata(&proto) } else { Bytes::new() },
                    assignment: if stable { m.assignment.clone() } else { Bytes::new() },
                })
                .collect(),
        }))
    }

    /// ListGroups over every shard here: COORDINATOR_LOAD_IN_PROGRESS (and no groups) while any
    /// is loading, as Kafka.
    pub fn list(&self) -> Result<Vec<ListedGroup>, i16> {
        let inner = lock(&self.inner);
        if inner.shards.values().any(|s| !s.loaded) {
            return Err(codes::COORDINATOR_LOAD_IN_PROGRESS);
        }
        let mut v: Vec<ListedGroup> = inner
            .shards
            .values()
            .flat_map(|s| s.groups.values())
            .map(|g| ListedGroup {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state_name(),
                group_type: g.kind,
            })
            .collect();
        v.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(v)
    }

    /// DeleteGroups: one code per group, in order.
    pub async fn delete_groups(self: &Arc<Self>, log: &Arc<dyn OffsetsLog>, groups: &[String]) -> Vec<i16> {
        let mut slots: Vec<Result<i16, oneshot::Receiver<i16>>> = Vec::with_capacity(groups.len());
        {
            let mut inner = lock(&self.inner);
            let mut writes = Vec::new();
            for group_id in groups {
                if group_id.is_empty() {
                    slots.push(Ok(codes::INVALID_GROUP_ID));
                    continue;
                }
                let partition = partition_for(group_id, inner.partitions);
                let shard = match Self::shard(&mut inner, group_id) {
                    Ok(s) => s,
                    Err(code) => {
                        slots.push(Ok(code));
                        continue;
                    }
                };
                let epoch = shard.epoch;
                let Some(g) = shard.groups.get(group_id) else {
                    slots.push(Ok(codes::GROUP_ID_NOT_FOUND));
                    continue;
                };
                if !g.is_empty_group() {
                    slots.push(Ok(codes::NON_EMPTY_GROUP));
                    continue;
                }
                let g = shard.groups.remove(group_id).expect("present");
                let mut records: Vec<KeyValue> =
                    g.offsets.keys().map(|(t, p)| (rec::offset_commit_key(group_id, t, *p), None)).collect();
                records.extend(g.group_tombstones());
                tracing::info!(group = %group_id, offsets = g.offsets.len(), "deleting group");
                let (tx, rx) = oneshot::channel();
                writes.push(Write { partition, epoch, records, txn: None, after: After::Reply(tx) });
                slots.push(Err(rx));
            }
            self.flush(log, &mut inner, writes);
        }
        let mut out = Vec::with_capacity(slots.len());
        for s in slots {
            out.push(match s {
                Ok(code) => code,
                Err(rx) => rx.await.unwrap_or(codes::COORDINATOR_NOT_AVAILABLE),
            });
        }
        out
    }

    /// OffsetDelete (KIP-496): per-partition codes, or an error for the whole group.
    pub async fn delete_offsets(
        self: &Arc<Self>,
        log: &Arc<dyn OffsetsLog>,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<i16>, i16> {
        let (out, rx) = {
            let mut inner = lock(&self.inner);
            let partition = partition_for(group_id, inner.partitions);
            let shard = Self::shard(&mut inner, group_id)?;
            let epoch = shard.epoch;
            let Some(g) = shard.groups.get_mut(group_id) else { return Err(codes::GROUP_ID_NOT_FOUND) };
            if !g.is_empty_group() && !g.is_consumer_group() {
                return Err(codes::NON_EMPTY_GROUP);
            }
            let subscribed =
                if g.is_empty_group() { HashSet::new() } else { g.subscribed_topics().unwrap_or_default() };
            let mut out = Vec::with_capacity(partitions.len());
            let mut records = Vec::new();
            for (t, p) in partitions {
                if subscribed.contains(t) {
                    out.push(codes::GROUP_SUBSCRIBED_TO_TOPIC);
                    continue;
                }
                if g.offsets.remove(&(t.clone(), *p)).is_some() {
                    records.push((rec::offset_commit_key(group_id, t, *p), None));
                }
                out.push(codes::NONE);
            }
            if records.is_empty() {
                return Ok(out);
            }
            let (tx, rx) = oneshot::channel();
            let writes = vec![Write { partition, epoch, records, txn: None, after: After::Reply(tx) }];
            self.flush(log, &mut inner, writes);
            (out, rx)
        };
        let code = rx.await.unwrap_or(codes::COORDINATOR_NOT_AVAILABLE);
        if code != codes::NONE {
            return Err(code);
        }
        Ok(out)
    }

    /// Offsets retention (KIP-211; see the module docs). Returns the offsets expired.
    pub fn expire_offsets(self: &Arc<Self>, log: &Arc<dyn OffsetsLog>) -> usize {
        let (_, now_ms) = (self.clock)();
        let retention = self.cfg.offsets_retention_ms;
        let mut inner = lock(&self.inner);
        let mut writes = Vec::new();
        let mut expired_total = 0;
        for (&partition, shard) in inner.shards.iter_mut().filter(|(_, s)| s.loaded) {
            let epoch = shard.epoch;
            let mut records = Vec::new();
            let mut dead = Vec::new();
            let pending_txn_keys: HashSet<(String, String, i32)> =
                shard.pending_txn.values().flat_map(|p| p.keys().cloned()).collect();
            for g in shard.groups.values_mut() {
                // Which offsets may expire, and counted from when (Kafka's offsetExpirationCondition).
                let standalone = g.protocol_type.as_deref().is_none_or(str::is_empty);
                let (subscribed, empty_since) = if let Some(cg) = &g.consumer {
                    // Kafka's consumer groups count from each commit, and keep the offsets of
                    // topics a member subscribes to.
                    ((!cg.members.is_empty()).then(|| g.subscribed_topics().unwrap_or_default()), None)
                } else {
                    let unsubscribed_only = !standalone && g.state == GroupState::Stable && g.is_consumer_group();
                    if !standalone && g.state != GroupState::Empty && !unsubscribed_only {
                        continue;
                    }
                    let subscribed = if unsubscribed_only { g.subscribed_topics() } else { None };
                    if unsubscribed_only && subscribed.is_none() {
                        continue;
                    }
                    (
                        subscribed,
                        (g.state == GroupState::Empty && !standalone && g.state_since_ms > 0)
                            .then_some(g.state_since_ms),
                    )
                };
                let expired: Vec<(String, i32)> = g
                    .offsets
                    .iter()
                    .filter(|((t, p), c)| {
                        if subscribed.as_ref().is_some_and(|s| s.contains(t))
                            || g.pending_commits.contains_key(&(t.clone(), *p))
                            || pending_txn_keys.contains(&(g.id.clone(), t.clone(), *p))
                        {
                            return false;
                        }
                        match c.expire_timestamp_ms {
                            Some(at) => now_ms >= at,
                            None => now_ms - empty_since.unwrap_or(c.commit_timestamp_ms) >= retention,
                        }
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                for (t, p) in &expired {
                    g.offsets.remove(&(t.clone(), *p));
                    records.push((rec::offset_commit_key(&g.id, t, *p), None));
                }
                expired_total += expired.len();
                if !expired.is_empty() {
                    tracing::info!(group = %g.id, offsets = expired.len(), "expired committed offsets (offsets.retention.minutes)");
                }
                let no_members = g.members.is_empty() && g.pending_join.is_empty();
                if g.is_empty_group()
                    && no_members
                    && g.offsets.is_empty()
                    && g.pending_commits.is_empty()
                    && !pending_txn_keys.iter().any(|(gid, _, _)| *gid == g.id)
                {
                    dead.push(g.id.clone());
                }
            }
            for id in dead {
                if let Some(g) = shard.groups.remove(&id) {
                    records.extend(g.group_tombstones());
                }
                tracing::info!(group = %id, "group is Dead (empty, no offsets left); removed");
            }
            if !records.is_empty() {
                writes.push(Write {
                    partition,
                    epoch,
                    records,
                    txn: None,
                    after: After::Nothing("tombstones for expired offsets and dead groups"),
                });
            }
        }
        self.flush(log, &mut inner, writes);
        expired_total
    }

    /// A topic was deleted: its committed offsets go too (tombstoned), as in Kafka.
    pub fn forget_topic(self: &Arc<Self>, log: &Arc<dyn OffsetsLog>, topic: &str) {
        let mut inner = lock(&self.inner);
        let mut writes = Vec::new();
        for (&partition, shard) in inner.shards.iter_mut().filter(|(_, s)| s.loaded) {
            let mut records = Vec::new();
            for g in shard.groups.values_mut() {
                let gone: Vec<(String, i32)> = g.offsets.keys().filter(|(t, _)| t == topic).cloned().collect();
                for (t, p) in gone {
                    g.offsets.remove(&(t.clone(), p));
                    records.push((rec::offset_commit_key(&g.id, &t, p), None));
                }
            }
            if !records.is_empty() {
                writes.push(Write {
                    partition,
                    epoch: shard.epoch,
                    records,
                    txn: None,
                    after: After::Nothing("tombstones for a deleted topic's offsets"),
                });
            }
        }
        self.flush(log, &mut inner, writes);
    }

    /// Answers every parked JoinGroup/SyncGroup (shutdown) so their connections can finish.
    pub fn shutdown(&self) {
        let shards: Vec<(i32, Shard)> = lock(&self.inner).shards.drain().collect();
        for (p, s) in shards {
            unload(s, p);
        }
    }
}

/// Kafka's partition of a group id among `partitions`.
pub fn partition_for(group: &str, partitions: i32) -> i32 {
    let h = super::java_string_hash(group);
    // Kafka's Utils.abs maps i32::MIN to 0.
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs % partitions.max(1)
}

fn to_value(c: &CommittedOffset) -> rec::OffsetCommitValue {
    rec::OffsetCommitValue {
        offset: c.offset,
        leader_epoch: c.leader_epoch,
        metadata: c.metadata.clone(),
        commit_timestamp_ms: c.commit_timestamp_ms,
        expire_timestamp_ms: c.expire_timestamp_ms,
    }
}

fn unload(shard: Shard, partition: i32) {
    let groups = shard.groups.len();
    for (_, mut g) in shard.groups {
        for m in g.members.values_mut() {
            m.answer_join(JoinResult::error(codes::NOT_COORDINATOR, &m.id));
            m.answer_sync(SyncResult::error(codes::NOT_COORDINATOR));
        }
    }
    if groups > 0 {
        tracing::info!(
            partition,
            epoch = shard.epoch,
            groups,
            "unloaded the groups of {OFFSETS_TOPIC}-{partition}: no longer its leader"
        );
    } else {
        tracing::debug!(partition, epoch = shard.epoch, "unloaded {OFFSETS_TOPIC}-{partition}: no longer its leader");
    }
}

/// Kafka's `ClassicGroup.validateOffsetCommit`.
fn validate_offset_commit(
    g: &Group,
    member_id: &str,
    instance: Option<&str>,
    generation_id: i32,
    transactional: bool,
) -> Result<(), i16> {
    if let Some(cg) = &g.consumer {
        return validate_consumer_offset_commit(cg, member_id, generation_id);
    }
    if generation_id < 0 && g.state == GroupState::Empty {
        // The admin client or a consumer not using group management: fine while nobody is in it.
        return Ok(());
    }
    if generation_id >= 0 || !member_id.is_empty() || instance.is_some() {
        g.validate_member(member_id, instance)?;
        if generation_id != g.generation_id {
            return Err(codes::ILLEGAL_GENERATION);
        }
    } else if !transactional && g.state != GroupState::Empty {
        // No member id and no generation: only an empty group takes such offsets.
        return Err(codes::UNKNOWN_MEMBER_ID);
    }
    if !transactional && g.state == GroupState::CompletingRebalance {
        return Err(codes::REBALANCE_IN_PROGRESS);
    }
    Ok(())
}

// ---- the classic protocol's transitions (Kafka's GroupMetadataManager, classic part) ----

/// What a transition needs: where its writes go and the time.
struct Ctx<'a> {
    partition: i32,
    epoch: i32,
    now: Instant,
    now_ms: i64,
    initial_delay: Duration,
    writes: &'a mut Vec<Write>,
}

impl GroupCoordinator {
    /// The context of one classic-group transition: where it happens, when, and where its writes go.
    fn ctx<'a>(
        &self,
        partition: i32,
        epoch: i32,
        (now, now_ms): (Instant, i64),
        writes: &'a mut Vec<Write>,
    ) -> Ctx<'a> {
        Ctx { partition, epoch, now, now_ms, initial_delay: self.cfg.initial_rebalance_delay, writes }
    }
}

fn accept_joining_member(g: &Group, member_id: &str, max: usize) -> bool {
    match g.state {
        GroupState::Empty => true,
        // Awaiting members count here, so a group over a lowered bound can shrink back.
        GroupState::PreparingRebalance => {
            g.members.get(member_id).is_some_and(|m| m.awaiting_join.is_some()) || g.awaiting_join_count() < max
        }
        GroupState::CompletingRebalance | GroupState::Stable => {
            g.members.contains_key(member_id) || g.members.len() < max
        }
    }
}

fn join_existing_member(g: &mut Group, req: JoinRequest, ctx: &mut Ctx) -> Outcome<JoinResult> {
    let member_id = req.member_id.clone();
    if !g.supports_protocols(&req.protocol_type, &req.protocols) {
        return Outcome::Done(JoinResult::error(codes::INCONSISTENT_GROUP_PROTOCOL, &member_id));
    }
    if g.pending_join.contains_key(&member_id) {
        // A KIP-394 member coming back with its id. (Static members are never pending.)
        let (tx, rx) = oneshot::channel();
        if g.state == GroupState::PreparingRebalance && g.previous_state == GroupState::Empty {
            g.new_member_added = true;
        }
        if g.members.is_empty() {
            g.protocol_type = Some(req.protocol_type.clone());
        }
        g.pending_join.remove(&member_id);
        let seq = next_member_seq();
        let m = Member {
            id: member_id.clone(),
            group_instance_id: None,
            client_id: req.client_id,
            client_host: req.client_host,
            session_timeout: Duration::from_millis(req.session_timeout_ms.max(0) as u64),
            rebalance_timeout: Duration::from_millis(req.rebalance_timeout_ms.max(0) as u64),
            protocols: req.protocols,
            assignment: Bytes::new(),
            awaiting_join: Some(tx),
            awaiting_sync: None,
            heartbeat_deadline: ctx.now + NEW_MEMBER_JOIN_TIMEOUT,
            is_new: true,
            seq,
        };
        if g.leader.is_none() {
            g.leader = Some(member_id.clone());
        }
        g.members.insert(member_id, m);
        maybe_prepare_rebalance_or_complete_join(g, ctx, "a pending member joined");
        return Outcome::Wait(rx);
    }
    if let Err(code) = g.validate_member(&member_id, req.group_instance_id.as_deref()) {
        return Outcome::Done(JoinResult::error(code, &member_id));
    }
    let is_leader = g.leader.as_deref() == Some(member_id.as_str());
    let matches = g.members.get(&member_id).is_some_and(|m| m.matches(&req.protocols));
    match g.state {
        GroupState::PreparingRebalance => {
            update_member_and_rebalance(g, req, ctx, "member rejoined during a rebalance")
        }
        GroupState::CompletingRebalance if matches => {
            // Same metadata (it may have missed the join answer): the current generation again.
            Outcome::Done(g.join_result(&member_id, is_leader))
        }
        GroupState::CompletingRebalance => update_member_and_rebalance(
            g,
            req,
            ctx,
            "member changed its metadata while the group was completing a rebalance",
        ),
        // The leader's join forces a rebalance (it may see topic changes the metadata does not show).
        GroupState::Stable if is_leader => update_member_and_rebalance(g, req, ctx, "the leader rejoined"),
        GroupState::Stable if !matches => update_member_and_rebalance(g, req, ctx, "member changed its metadata"),
        GroupState::Stable => Outcome::Done(g.join_result(&member_id, false)),
        GroupState::Empty => Outcome::Done(JoinResult::error(codes::UNKNOWN_MEMBER_ID, &member_id)),
    }
}

/// Join order of members, over all groups (only the order within a group matters).
fn next_member_seq() -> u64 {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn update_member_and_rebalance(g: &mut Group, req: JoinRequest, ctx: &mut Ctx, why: &str) -> Outcome<JoinResult> {
    let (tx, rx) = oneshot::channel();
    if let Some(m) = g.members.get_mut(&req.member_id) {
        m.protocols = req.protocols;
        m.rebalance_timeout = Duration::from_millis(req.rebalance_timeout_ms.max(0) as u64);
        m.session_timeout = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
        // A retried JoinGroup replaces the earlier one (whose connection is likely gone).
        m.awaiting_join = Some(tx);
    }
    maybe_prepare_rebalance_or_complete_join(g, ctx, why);
    Outcome::Wait(rx)
}

/// Kafka's `replaceStaticMember`: the instance's member id changes from `from` to `to`; a
/// request parked under the old id learns it was fenced.
fn replace_static_member(g: &mut Group, instance: &str, from: &str, to: &str, fenced: i16) {
    let Some(mut m) = g.members.remove(from) else { return };
    m.answer_join(JoinResult::error(fenced, from));
    m.answer_sync(SyncResult::error(fenced));
    m.id = to.to_string();
    g.static_members.insert(instance.to_string(), to.to_string());
    if g.leader.as_deref() == Some(from) {
        g.leader = Some(to.to_string());
    }
    if g.pending_sync.remove(from) {
        g.pending_sync.insert(to.to_string());
    }
    g.members.insert(to.to_string(), m);
}

fn update_static_member(
    g: &mut Group,
    req: JoinRequest,
    instance: &str,
    old_id: &str,
    new_id: &str,
    ctx: &mut Ctx,
) -> Outcome<JoinResult> {
    let current_leader = g.leader.clone();
    let proto = g.protocol_name.clone().unwrap_or_default();
    let (old_protocols, old_session, old_rebalance, old_metadata) = match g.members.get(old_id) {
        Some(m) => (m.protocols.clone(), m.session_timeout, m.rebalance_timeout, m.metadata(&proto)),
        None => return Outcome::Done(JoinResult::error(codes::UNKNOWN_MEMBER_ID, "")),
    };
    replace_static_member(g, instance, old_id, new_id, codes::FENCED_INSTANCE_ID);
    let (tx, rx) = oneshot::channel();
    let m = g.members.get_mut(new_id).expect("just replaced");
    m.protocols = req.protocols;
    m.session_timeout = Duration::from_millis(req.session_timeout_ms.max(0) as u64);
    m.rebalance_timeout = Duration::from_millis(req.rebalance_timeout_ms.max(0) as u64);
    m.client_id = req.client_id;
    m.client_host = req.client_host;
    m.awaiting_join = Some(tx);
    m.heartbeat_deadline = ctx.now + m.session_timeout;
    let metadata_unchanged = m.metadata(&proto) == old_metadata;
    match g.state {
        GroupState::Stable => {
            if g.protocol_name == g.select_protocol() && metadata_unchanged {
                // No rebalance: persist the new member id; the member then syncs its old assignment.
                let assignment = g.current_assignment();
                ctx.writes.push(Write {
                    partition: ctx.partition,
                    epoch: ctx.epoch,
                    records: vec![g.metadata_record(&assignment)],
                    txn: None,
                    after: After::StaticJoin(StaticJoin {
                        group: g.id.clone(),
                        instance: instance.to_string(),
                        old_member_id: old_id.to_string(),
                        new_member_id: new_id.to_string(),
                        old_protocols,
                        old_session_timeout: old_session,
                        old_rebalance_timeout: old_rebalance,
                        current_leader,
                        supports_skip_assignment: req.supports_skip_assignment,
                    }),
                });
            } else {
                prepare_rebalance(g, ctx, "a static member rejoined with changed protocol metadata");
            }
        }
        // The old id may already be in the leader's hands: rebalance so the new id gets its share.
        GroupState::CompletingRebalance => {
            prepare_rebalance(g, ctx, "a static member rejoined while the group was completing a rebalance")
        }
        GroupState::PreparingRebalance => maybe_complete_join_phase(g, ctx),
        GroupState::Empty => {}
    }
    Outcome::Wait(rx)
}

fn maybe_prepare_rebalance_or_complete_join(g: &mut Group, ctx: &mut Ctx, why: &str) {
    if g.can_rebalance() {
        prepare_rebalance(g, ctx, why);
    } else {
        maybe_complete_join_phase(g, ctx);
    }
}

fn prepare_rebalance(g: &mut Group, ctx: &mut Ctx, why: &str) {
    if g.state == GroupState::CompletingRebalance {
        // Members waiting in SyncGroup learn that a new rebalance started.
        reset_and_propagate_assignment_error(g, codes::REBALANCE_IN_PROGRESS);
    }
    g.pending_sync.clear();
    g.sync_deadline = None;
    let initial = g.state == GroupState::Empty;
    g.transition(GroupState::PreparingRebalance, ctx.now_ms);
    tracing::info!(group = %g.id, generation = g.generation_id, reason = why, "preparing to rebalance group");
    if initial {
        let delay = ctx.initial_delay;
        let remaining = g.rebalance_timeout().saturating_sub(delay);
        g.initial_delay = Some(InitialDelay { due: ctx.now + delay, delay, remaining });
        g.new_member_added = false;
        if delay.is_zero() {
            // A zero-delay timer fires at once.
            try_complete_initial_rebalance(g, ctx);
        }
    } else {
        maybe_complete_join_else_schedule(g, ctx);
    }
}

fn maybe_complete_join_else_schedule(g: &mut Group, ctx: &mut Ctx) {
    if g.all_joined() {
        complete_join(g, ctx);
    } else {
        g.rebalance_deadline = Some(ctx.now + g.rebalance_timeout());
    }
}

/// Kafka's `tryCompleteInitialRebalanceElseSchedule`: a member that joined during the delay
/// extends it (up to the rebalance timeout); otherwise the join completes.
fn try_complete_initial_rebalance(g: &mut Group, ctx: &mut Ctx) {
    let Some(d) = g.initial_delay else { return };
    if g.new_member_added && !d.remaining.is_zero() {
        g.new_member_added = false;
        let delay = d.delay.min(d.remaining);
        g.initial_delay =
            Some(InitialDelay { due: ctx.now + delay, delay, remaining: d.remaining.saturating_sub(d.delay) });
    } else {
        g.initial_delay = None;
        complete_join(g, ctx);
    }
}

fn maybe_complete_join_phase(g: &mut Group, ctx: &mut Ctx) {
    if g.state == GroupState::PreparingRebalance && g.all_joined() && g.previous_state != GroupState::Empty {
        complete_join(g, ctx);
    }
}

/// Kafka's `completeClassicGroupJoin`.
fn complete_join(g: &mut Group, ctx: &mut Ctx) {
    if g.state != GroupState::PreparingRebalance {
        return;
    }
    // Dynamic members that did not rejoin are dropped; static ones keep their place.
    let missing: Vec<String> = g
        .members
        .values()
        .filter(|m| m.awaiting_join.is_none() && m.group_instance_id.is_none())
        .map(|m| m.id.clone())
        .collect();
    for id in missing {
        tracing::info!(group = %g.id, member = %id, "member did not rejoin in time; removing it");
        g.remove(&id);
    }
    if !maybe_elect_new_joined_leader(g) && !g.members.is_empty() {
        tracing::warn!(group = %g.id, "no member rejoined; waiting another rebalance timeout");
        g.rebalance_deadline = Some(ctx.now + g.rebalance_timeout());
        return;
    }
    g.rebalance_deadline = None;
    g.initial_delay = None;
    g.generation_id += 1;
    g.pending_sync.clear();
    if g.members.is_empty() {
        g.protocol_name = None;
        g.leader = None;
        g.transition(GroupState::Empty, ctx.now_ms);
        tracing::info!(group = %g.id, generation = g.generation_id, "group is now empty");
        ctx.writes.push(Write {
            partition: ctx.partition,
            epoch: ctx.epoch,
            records: vec![g.metadata_record(&HashMap::new())],
            txn: None,
            after: After::Nothing("recording an empty group"),
        });
        return;
    }
    g.protocol_name = g.select_protocol();
    g.transition(GroupState::CompletingRebalance, ctx.now_ms);
    tracing::info!(group = %g.id, generation = g.generation_id, members = g.members.len(), protocol = ?g.protocol_name, "group rebalanced; awaiting the leader's assignment");
    let leader = g.leader.clone();
    let ids: Vec<String> = g.members.keys().cloned().collect();
    for id in ids {
        let result = g.join_result(&id, leader.as_deref() == Some(id.as_str()));
        let m = g.members.get_mut(&id).expect("member");
        m.answer_join(result);
        m.heartbeat_deadline = ctx.now + m.session_timeout;
        m.is_new = false;
        g.pending_sync.insert(id);
    }
    g.sync_deadline = Some((ctx.now + g.rebalance_timeout(), g.generation_id));
}

/// The leader must be among the rejoined members; otherwise one of them takes over.
fn maybe_elect_new_joined_leader(g: &mut Group) -> bool {
    let Some(leader) = g.leader.clone() else { return true };
    if g.members.get(&leader).is_some_and(|m| m.awaiting_join.is_some()) {
        return true;
    }
    let mut joined: Vec<&Member> = g.members.values().filter(|m| m.awaiting_join.is_some()).collect();
    joined.sort_by_key(|m| m.seq);
    match joined.first() {
        Some(m) => {
            tracing::info!(group = %g.id, old = %leader, new = %m.id, "the leader did not rejoin; electing a new one");
            g.leader = Some(m.id.clone());
            true
        }
        None => false,
    }
}

fn reset_and_propagate_assignment_error(g: &mut Group, code: i16) {
    for m in g.members.values_mut() {
        m.assignment = Bytes::new();
        m.answer_sync(SyncResult::error(code));
    }
}

fn set_and_propagate_assignment(g: &mut Group, assignment: &HashMap<String, Bytes>, now: Instant) {
    let (pt, pn) = (g.protocol_type.clone(), g.protocol_name.clone());
    for m in g.members.values_mut() {
        m.assignment = assignment.get(&m.id).cloned().unwrap_or_default();
        if m.awaiting_sync.is_some() {
            m.heartbeat_deadline = now + m.session_timeout;
        }
        let r = SyncResult {
            error: codes::NONE,
            protocol_type: pt.clone(),
            protocol_name: pn.clone(),
            assignment: m.assignment.clone(),
        };
        m.answer_sync(r);
    }
}

/// Removes a member that left or expired; a JoinGroup it has parked gets UNKNOWN_MEMBER_ID.
fn remove_current_member(g: &mut Group, member_id: &str) {
    if let Some(mut m) = g.remove(member_id) {
        m.answer_join(JoinResult::error(codes::UNKNOWN_MEMBER_ID, ""));
        m.answer_sync(SyncResult::error(codes::UNKNOWN_MEMBER_ID));
    }
}

/// Kafka's `removeMemberAndUpdateClassicGroup` (session expiry).
fn remove_member_and_update(g: &mut Group, member_id: &str, ctx: &mut Ctx, why: &str) {
    remove_current_member(g, member_id);
    match g.state {
        GroupState::Stable | GroupState::CompletingRebalance => maybe_prepare_rebalance_or_complete_join(g, ctx, why),
        GroupState::PreparingRebalance if g.all_joined() => complete_join(g, ctx),
        _ => {}
    }
}

fn tick_group(g: &mut Group, ctx: &mut Ctx) {
    let now = ctx.now;
    // KIP-394 ids never used in time.
    let before = g.pending_join.len();
    g.pending_join.retain(|_, exp| *exp > now);
    if g.pending_join.len() != before && g.state == GroupState::PreparingRebalance {
        maybe_complete_join_phase(g, ctx);
    }
    // Sessions (and new members' first joins).
    let mut expired: Vec<(u64, String)> =
        g.members.values().filter(|m| m.expired(now)).map(|m| (m.seq, m.id.clone())).collect();
    expired.sort();
    for (_, id) in expired {
        tracing::info!(group = %g.id, member = %id, "member's session expired; removing it");
        remove_member_and_update(g, &id, ctx, "a member's session expired");
    }
    if let Some(d) = g.initial_delay {
        if g.state == GroupState::PreparingRebalance && now >= d.due {
            try_complete_initial_rebalance(g, ctx);
        }
    }
    if g.state == GroupState::PreparingRebalance
        && g.initial_delay.is_none()
        && g.rebalance_deadline.is_some_and(|d| now >= d)
    {
        complete_join(g, ctx);
    }
    // Members that never sent SyncGroup after the join (Kafka's pending-sync expiry).
    if let Some((due, generation)) = g.sync_deadline {
        if now >= due {
            g.sync_deadline = None;
            if generation == g.generation_id
                && matches!(g.state, GroupState::CompletingRebalance | GroupState::Stable)
                && !g.pending_sync.is_empty()
            {
                let pending: Vec<String> = g.pending_sync.drain().collect();
                tracing::info!(group = %g.id, members = ?pending, "members did not send SyncGroup in time; removing them");
                for id in &pending {
                    remove_current_member(g, id);
                }
                prepare_rebalance(g, ctx, "members did not sync in time");
            }
        }
    }
}

#[path = "group_consumer.rs"]
mod consumer;
#[path = "group_load.rs"]
mod load;
use consumer::{consumer_group_tombstones, validate_consumer_offset_commit};
use load::{load_partition, Loaded};

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
