//! The group coordinator for the classic consumer-group protocol (JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup) and committed offsets, following Kafka's `GroupCoordinator` state machine:
//! Empty → PreparingRebalance → CompletingRebalance → Stable, eager rebalancing, member ids per
//! KIP-394, the client leader's assignment passed through untouched.
//!
//! What it deliberately does not do yet (issue 6 extends this module): committed offsets and group
//! metadata live **in memory only** — they are lost on restart until they move into the compacted
//! `__consumer_offsets` topic; no static membership (`group.instance.id` is recorded and reported
//! but does not skip rebalances), no KIP-848 consumer protocol, no offset retention, no
//! transactional offset commits. Every group lives on this broker (FindCoordinator answers self).
//!
//! Concurrency: all groups sit behind one `std::sync::Mutex`, never held across an `.await`.
//! A JoinGroup or SyncGroup that must wait parks on a `oneshot` channel stored in the member; the
//! lock is released while it waits. Timeouts (session, rebalance) are checked by [`GroupCoordinator::tick`],
//! called by the broker's background task a few times per second.

use crate::codes;
use crate::config::BrokerConfig;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// `offset.metadata.max.bytes` (Kafka default 4096).
pub const OFFSET_METADATA_MAX_BYTES: usize = 4096;
/// Bound on the number of groups kept (each costs memory; Kafka bounds by offsets topic size).
pub const MAX_GROUPS: usize = 10_000;
/// Bound on committed offsets per group.
pub const MAX_OFFSETS_PER_GROUP: usize = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    /// Kafka's state for a group being removed; used once groups can be deleted (issue 6).
    #[allow(dead_code)]
    Dead,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct JoinResult {
    pub error: i16,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// Filled for the leader only: (member id, group instance id, metadata).
    pub members: Vec<(String, Option<String>, Bytes)>,
}

#[derive(Clone, Debug, Default)]
pub struct SyncResult {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
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
    /// KIP-394: v4+ clients get MEMBER_ID_REQUIRED on their first join.
    pub require_known_member_id: bool,
}

#[derive(Clone, Debug)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
    /// For offsets retention (issue 6).
    #[allow(dead_code)]
    pub commit_timestamp_ms: i64,
}

struct Member {
    id: String,
    group_instance_id: Option<String>,
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    protocol_type: String,
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    awaiting_join: Option<oneshot::Sender<JoinResult>>,
    awaiting_sync: Option<oneshot::Sender<SyncResult>>,
    last_heartbeat: Instant,
    /// Order of joining; the first member becomes leader.
    joined_seq: u64,
}

struct Group {
    state: GroupState,
    generation_id: i32,
    protocol_type: Option<String>,
    protocol_name: Option<String>,
    leader: Option<String>,
    members: HashMap<String, Member>,
    /// KIP-394: member ids handed out with MEMBER_ID_REQUIRED, not yet joined (id → expiry).
    pending: HashMap<String, Instant>,
    rebalance_deadline: Option<Instant>,
    offsets: BTreeMap<(String, i32), CommittedOffset>,
}

impl Group {
    fn new() -> Group {
        Group {
            state: GroupState::Empty,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: HashMap::new(),
            pending: HashMap::new(),
            rebalance_deadline: None,
            offsets: BTreeMap::new(),
        }
    }

    fn supports_protocols(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !protocols.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && protocols.iter().any(|(name, _)| self.members.values().all(|m| m.protocols.iter().any(|(n, _)| n == name)))
    }

    fn all_joined(&self) -> bool {
        self.pending.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    /// Kafka's `selectProtocol`: among protocols every member supports, the one with most votes,
    /// each member voting for its most preferred candidate.
    fn select_protocol(&self) -> Option<String> {
        let mut members: Vec<&Member> = self.members.values().collect();
        members.sort_by_key(|m| m.joined_seq);
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
        // Stable max: ties go to the earlier candidate in the first member's preference order.
        let mut best: Option<(&String, usize)> = None;
        for (c, v) in votes {
            if best.is_none_or(|(_, bv)| v > bv) {
                best = Some((c, v));
            }
        }
        best.map(|(c, _)| c.clone())
    }

    fn max_rebalance_timeout(&self) -> Duration {
        self.members.values().map(|m| m.rebalance_timeout).max().unwrap_or(Duration::from_secs(60))
    }

    fn prepare_rebalance(&mut self, now: Instant, initial_delay: Duration, why: &str, group_id: &str) {
        if self.state == GroupState::CompletingRebalance {
            // Members waiting in SyncGroup learn that a new rebalance started.
            for m in self.members.values_mut() {
                m.assignment = Bytes::new();
                if let Some(tx) = m.awaiting_sync.take() {
                    let _ = tx.send(SyncResult { error: codes::REBALANCE_IN_PROGRESS, ..Default::default() });
                }
            }
        }
        let delay = if self.state == GroupState::Empty { initial_delay.max(Duration::ZERO) } else { Duration::ZERO };
        let timeout = if self.state == GroupState::Empty && !initial_delay.is_zero() { delay } else { self.max_rebalance_timeout() };
        self.state = GroupState::PreparingRebalance;
        self.rebalance_deadline = Some(now + timeout);
        tracing::info!(group = group_id, generation = self.generation_id, reason = why, "preparing to rebalance group");
    }

    fn current_join_result(&self, member_id: &str) -> JoinResult {
        JoinResult {
            error: codes::NONE,
            generation_id: self.generation_id,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members: if self.leader.as_deref() == Some(member_id) { self.member_list() } else { vec![] },
        }
    }

    fn member_list(&self) -> Vec<(String, Option<String>, Bytes)> {
        let proto = self.protocol_name.clone().unwrap_or_default();
        let mut ms: Vec<&Member> = self.members.values().collect();
        ms.sort_by_key(|m| m.joined_seq);
        ms.iter()
            .map(|m| {
                let md = m.protocols.iter().find(|(n, _)| *n == proto).map(|(_, b)| b.clone()).unwrap_or_default();
                (m.id.clone(), m.group_instance_id.clone(), md)
            })
            .collect()
    }

    /// Kafka's `onCompleteJoin`: drop members that did not rejoin, start the next generation and
    /// answer every parked JoinGroup.
    fn complete_join(&mut self, group_id: &str) {
        let missing: Vec<String> = self.members.values().filter(|m| m.awaiting_join.is_none()).map(|m| m.id.clone()).collect();
        for id in missing {
            tracing::info!(group = group_id, member = %id, "member did not rejoin in time; removing it");
            self.members.remove(&id);
        }
        self.pending.clear();
        self.rebalance_deadline = None;
        self.generation_id += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol_name = None;
            self.leader = None;
            return;
        }
        self.protocol_name = self.select_protocol();
        if self.leader.as_ref().is_none_or(|l| !self.members.contains_key(l)) {
            self.leader = self.members.values().min_by_key(|m| m.joined_seq).map(|m| m.id.clone());
        }
        self.state = GroupState::CompletingRebalance;
        tracing::info!(group = group_id, generation = self.generation_id, members = self.members.len(), protocol = ?self.protocol_name, "group rebalanced; awaiting the leader's assignment");
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let result = self.current_join_result(&id);
            if let Some(m) = self.members.get_mut(&id) {
                m.last_heartbeat = Instant::now();
                if let Some(tx) = m.awaiting_join.take() {
                    let _ = tx.send(result);
                }
            }
        }
    }

    fn remove_member(&mut self, member_id: &str, now: Instant, initial_delay: Duration, group_id: &str, why: &str) {
        if let Some(mut m) = self.members.remove(member_id) {
            if let Some(tx) = m.awaiting_join.take() {
                let _ = tx.send(JoinResult { error: codes::UNKNOWN_MEMBER_ID, member_id: member_id.to_string(), ..Default::default() });
            }
            if let Some(tx) = m.awaiting_sync.take() {
                let _ = tx.send(SyncResult { error: codes::UNKNOWN_MEMBER_ID, ..Default::default() });
            }
        }
        self.pending.remove(member_id);
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                if self.members.is_empty() {
                    // Kafka goes through PreparingRebalance to Empty with a generation bump.
                    self.prepare_rebalance(now, Duration::ZERO, why, group_id);
                    self.complete_join(group_id);
                } else {
                    self.prepare_rebalance(now, initial_delay, why, group_id);
                }
            }
            GroupState::PreparingRebalance => {
                if self.all_joined() {
                    self.complete_join(group_id);
                }
            }
            GroupState::Empty | GroupState::Dead => {}
        }
    }
}

pub struct GroupCoordinator {
    groups: Mutex<HashMap<String, Group>>,
    min_session_timeout_ms: i32,
    max_session_timeout_ms: i32,
    initial_rebalance_delay: Duration,
    max_group_size: usize,
    seq: std::sync::atomic::AtomicU64,
}

/// Snapshot of a group for DescribeGroups/ListGroups.
pub struct GroupDescription {
    pub state: GroupState,
    pub protocol_type: String,
    pub protocol: String,
    /// (member id, instance id, client id, host, metadata, assignment)
    pub members: Vec<(String, Option<String>, String, String, Bytes, Bytes)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub enum JoinOutcome {
    Done(JoinResult),
    Wait(oneshot::Receiver<JoinResult>),
}

pub enum SyncOutcome {
    Done(SyncResult),
    Wait(oneshot::Receiver<SyncResult>),
}

impl GroupCoordinator {
    pub fn new(cfg: &BrokerConfig) -> GroupCoordinator {
        GroupCoordinator {
            groups: Mutex::new(HashMap::new()),
            min_session_timeout_ms: cfg.group_min_session_timeout_ms,
            max_session_timeout_ms: cfg.group_max_session_timeout_ms,
            initial_rebalance_delay: Duration::from_millis(cfg.group_initial_rebalance_delay_ms),
            max_group_size: cfg.group_max_size,
            seq: Default::default(),
        }
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub fn join(&self, req: JoinRequest) -> JoinOutcome {
        let err = |code: i16, member_id: &str| JoinOutcome::Done(JoinResult { error: code, member_id: member_id.to_string(), generation_id: -1, ..Default::default() });
        if req.group_id.is_empty() {
            return err(codes::INVALID_GROUP_ID, &req.member_id);
        }
        if req.session_timeout_ms < self.min_session_timeout_ms || req.session_timeout_ms > self.max_session_timeout_ms {
            return err(codes::INVALID_SESSION_TIMEOUT, &req.member_id);
        }
        let now = Instant::now();
        let mut groups = lock(&self.groups);
        if !groups.contains_key(&req.group_id) {
            if !req.member_id.is_empty() {
                return err(codes::UNKNOWN_MEMBER_ID, &req.member_id);
            }
            if groups.len() >= MAX_GROUPS {
                return err(codes::COORDINATOR_NOT_AVAILABLE, &req.member_id);
            }
            groups.insert(req.group_id.clone(), Group::new());
        }
        let Some(group) = groups.get_mut(&req.group_id) else { return err(codes::UNKNOWN_SERVER_ERROR, &req.member_id) };
        if !group.supports_protocols(&req.protocol_type, &req.protocols) {
            return err(codes::INCONSISTENT_GROUP_PROTOCOL, &req.member_id);
        }
        let rebalance_timeout = Duration::from_millis(req.rebalance_timeout_ms.max(req.session_timeout_ms).max(0) as u64);
        let session_timeout = Duration::from_millis(req.session_timeout_ms.max(0) as u64);

        let mut member_id = req.member_id.clone();
        if member_id.is_empty() {
            if group.members.len() + group.pending.len() >= self.max_group_size {
                return err(codes::GROUP_MAX_SIZE_REACHED, "");
            }
            member_id = format!("{}-{}", req.client_id, uuid::Uuid::new_v4());
            if req.require_known_member_id {
                group.pending.insert(member_id.clone(), now + session_timeout);
                return JoinOutcome::Done(JoinResult { error: codes::MEMBER_ID_REQUIRED, member_id, generation_id: -1, ..Default::default() });
            }
        } else if group.pending.remove(&member_id).is_none() && !group.members.contains_key(&member_id) {
            return err(codes::UNKNOWN_MEMBER_ID, &member_id);
        }

        let (tx, rx) = oneshot::channel();
        let is_new = !group.members.contains_key(&member_id);
        if is_new {
            let seq = self.next_seq();
            group.members.insert(
                member_id.clone(),
                Member {
                    id: member_id.clone(),
                    group_instance_id: req.group_instance_id.clone(),
                    client_id: req.client_id.clone(),
                    client_host: req.client_host.clone(),
                    session_timeout,
                    rebalance_timeout,
                    protocol_type: req.protocol_type.clone(),
                    protocols: req.protocols.clone(),
                    assignment: Bytes::new(),
                    awaiting_join: Some(tx),
                    awaiting_sync: None,
                    last_heartbeat: now,
                    joined_seq: seq,
                },
            );
            if group.protocol_type.is_none() || group.members.len() == 1 {
                group.protocol_type = Some(req.protocol_type.clone());
            }
            match group.state {
                GroupState::PreparingRebalance => {}
                _ => group.prepare_rebalance(now, self.initial_rebalance_delay, "new member joined", &req.group_id),
            }
        } else {
            let Some(m) = group.members.get_mut(&member_id) else { return err(codes::UNKNOWN_MEMBER_ID, &member_id) };
            let same_metadata = m.protocols == req.protocols;
            m.last_heartbeat = now;
            m.session_timeout = session_timeout;
            m.rebalance_timeout = rebalance_timeout;
            match group.state {
                GroupState::PreparingRebalance => {
                    m.protocols = req.protocols.clone();
                    m.protocol_type = req.protocol_type.clone();
                    if let Some(old) = m.awaiting_join.replace(tx) {
                        let _ = old.send(JoinResult { error: codes::UNKNOWN_MEMBER_ID, member_id: member_id.clone(), ..Default::default() });
                    }
                }
                GroupState::CompletingRebalance | GroupState::Stable if same_metadata && group.leader.as_deref() != Some(&member_id) => {
                    // A follower rejoining with unchanged metadata gets the current generation.
                    return JoinOutcome::Done(group.current_join_result(&member_id));
                }
                GroupState::CompletingRebalance if same_metadata => {
                    return JoinOutcome::Done(group.current_join_result(&member_id));
                }
                _ => {
                    m.protocols = req.protocols.clone();
                    m.awaiting_join = Some(tx);
                    group.prepare_rebalance(now, Duration::ZERO, "member rejoined with new metadata or as leader", &req.group_id);
                }
            }
        }
        if group.state == GroupState::PreparingRebalance && group.all_joined() {
            let delayed = group.rebalance_deadline.is_some_and(|d| d > now) && group.generation_id == 0 && !self.initial_rebalance_delay.is_zero();
            if !delayed {
                group.complete_join(&req.group_id);
            }
        }
        JoinOutcome::Wait(rx)
    }

    pub fn sync(&self, group_id: &str, member_id: &str, generation_id: i32, protocol_type: Option<&str>, protocol_name: Option<&str>, assignments: Vec<(String, Bytes)>) -> SyncOutcome {
        let err = |code| SyncOutcome::Done(SyncResult { error: code, ..Default::default() });
        let mut groups = lock(&self.groups);
        let Some(group) = groups.get_mut(group_id) else { return err(codes::UNKNOWN_MEMBER_ID) };
        if !group.members.contains_key(member_id) {
            return err(codes::UNKNOWN_MEMBER_ID);
        }
        if generation_id != group.generation_id {
            return err(codes::ILLEGAL_GENERATION);
        }
        if protocol_type.is_some_and(|p| Some(p) != group.protocol_type.as_deref()) || protocol_name.is_some_and(|p| Some(p) != group.protocol_name.as_deref()) {
            return err(codes::INCONSISTENT_GROUP_PROTOCOL);
        }
        let pt = group.protocol_type.clone();
        let pn = group.protocol_name.clone();
        match group.state {
            GroupState::Empty | GroupState::Dead => err(codes::UNKNOWN_MEMBER_ID),
            GroupState::PreparingRebalance => err(codes::REBALANCE_IN_PROGRESS),
            GroupState::Stable => {
                let assignment = group.members.get(member_id).map(|m| m.assignment.clone()).unwrap_or_default();
                SyncOutcome::Done(SyncResult { error: codes::NONE, protocol_type: pt, protocol_name: pn, assignment })
            }
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = group.members.get_mut(member_id) {
                    m.awaiting_sync = Some(tx);
                    m.last_heartbeat = Instant::now();
                }
                if group.leader.as_deref() == Some(member_id) {
                    let given: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in group.members.values_mut() {
                        m.assignment = given.get(&m.id).cloned().unwrap_or_default();
                    }
                    group.state = GroupState::Stable;
                    tracing::info!(group = group_id, generation = group.generation_id, "group is stable");
                    for m in group.members.values_mut() {
                        if let Some(tx) = m.awaiting_sync.take() {
                            let _ = tx.send(SyncResult { error: codes::NONE, protocol_type: pt.clone(), protocol_name: pn.clone(), assignment: m.assignment.clone() });
                        }
                    }
                }
                SyncOutcome::Wait(rx)
            }
        }
    }

    pub fn heartbeat(&self, group_id: &str, member_id: &str, generation_id: i32) -> i16 {
        let mut groups = lock(&self.groups);
        let Some(group) = groups.get_mut(group_id) else { return codes::UNKNOWN_MEMBER_ID };
        let state = group.state;
        let gen = group.generation_id;
        let Some(m) = group.members.get_mut(member_id) else { return codes::UNKNOWN_MEMBER_ID };
        m.last_heartbeat = Instant::now();
        match state {
            GroupState::Empty | GroupState::Dead => codes::UNKNOWN_MEMBER_ID,
            _ if generation_id != gen => codes::ILLEGAL_GENERATION,
            GroupState::PreparingRebalance => codes::REBALANCE_IN_PROGRESS,
            GroupState::CompletingRebalance | GroupState::Stable => codes::NONE,
        }
    }

    /// Removes members; returns per-member error codes in request order.
    pub fn leave(&self, group_id: &str, member_ids: &[String]) -> Result<Vec<i16>, i16> {
        let now = Instant::now();
        let mut groups = lock(&self.groups);
        let Some(group) = groups.get_mut(group_id) else { return Err(codes::UNKNOWN_MEMBER_ID) };
        let mut out = Vec::with_capacity(member_ids.len());
        for id in member_ids {
            if group.members.contains_key(id) || group.pending.contains_key(id) {
                group.remove_member(id, now, self.initial_rebalance_delay, group_id, "member left the group");
                out.push(codes::NONE);
            } else {
                out.push(codes::UNKNOWN_MEMBER_ID);
            }
        }
        Ok(out)
    }

    /// Checks session and rebalance timeouts. Called periodically.
    pub fn tick(&self) {
        let now = Instant::now();
        let mut groups = lock(&self.groups);
        for (gid, group) in groups.iter_mut() {
            group.pending.retain(|_, exp| *exp > now);
            let expired: Vec<String> = group
                .members
                .values()
                .filter(|m| m.awaiting_join.is_none() && m.awaiting_sync.is_none() && now.duration_since(m.last_heartbeat) > m.session_timeout)
                .map(|m| m.id.clone())
                .collect();
            for id in expired {
                tracing::info!(group = %gid, member = %id, "member session expired");
                group.remove_member(&id, now, self.initial_rebalance_delay, gid, "member session expired");
            }
            if group.state == GroupState::PreparingRebalance && group.rebalance_deadline.is_some_and(|d| now >= d) {
                group.complete_join(gid);
            }
            if group.state == GroupState::CompletingRebalance {
                // The leader never sent its assignment: Kafka removes members still waiting and rebalances.
                let stuck: Vec<String> = group
                    .members
                    .values()
                    .filter(|m| now.duration_since(m.last_heartbeat) > m.session_timeout.max(m.rebalance_timeout))
                    .map(|m| m.id.clone())
                    .collect();
                for id in stuck {
                    group.remove_member(&id, now, self.initial_rebalance_delay, gid, "no SyncGroup from the leader in time");
                }
            }
        }
        // Forget empty groups without offsets: they cost memory and carry nothing.
        groups.retain(|_, g| !(g.state == GroupState::Empty && g.members.is_empty() && g.pending.is_empty() && g.offsets.is_empty()));
    }

    /// OffsetCommit for one group; `offsets` are ((topic, partition), offset). Returns an error
    /// code for the whole request or per-partition codes.
    pub fn commit(&self, group_id: &str, member_id: &str, generation_id: i32, offsets: Vec<((String, i32), CommittedOffset)>) -> Result<Vec<i16>, i16> {
        if group_id.is_empty() {
            return Err(codes::INVALID_GROUP_ID);
        }
        let mut groups = lock(&self.groups);
        if !groups.contains_key(group_id) {
            if generation_id >= 0 {
                return Err(codes::ILLEGAL_GENERATION);
            }
            if groups.len() >= MAX_GROUPS {
                return Err(codes::COORDINATOR_NOT_AVAILABLE);
            }
            groups.insert(group_id.to_string(), Group::new());
        }
        let Some(group) = groups.get_mut(group_id) else { return Err(codes::UNKNOWN_SERVER_ERROR) };
        if generation_id < 0 && group.state == GroupState::Empty {
            // A group only using Kafka to store offsets.
        } else if !group.members.contains_key(member_id) {
            return Err(codes::UNKNOWN_MEMBER_ID);
        } else if generation_id != group.generation_id {
            return Err(codes::ILLEGAL_GENERATION);
        } else if group.state == GroupState::CompletingRebalance {
            return Err(codes::REBALANCE_IN_PROGRESS);
        }
        if let Some(m) = group.members.get_mut(member_id) {
            m.last_heartbeat = Instant::now();
        }
        let mut out = Vec::with_capacity(offsets.len());
        for (tp, off) in offsets {
            if off.metadata.as_ref().is_some_and(|m| m.len() > OFFSET_METADATA_MAX_BYTES) {
                out.push(codes::OFFSET_METADATA_TOO_LARGE);
                continue;
            }
            if group.offsets.len() >= MAX_OFFSETS_PER_GROUP && !group.offsets.contains_key(&tp) {
                out.push(codes::OFFSET_METADATA_TOO_LARGE);
                continue;
            }
            group.offsets.insert(tp, off);
            out.push(codes::NONE);
        }
        Ok(out)
    }

    /// Committed offsets of a group; `None` partitions = all the group has.
    pub fn fetch_offsets(&self, group_id: &str, partitions: Option<&[(String, i32)]>) -> Vec<((String, i32), Option<CommittedOffset>)> {
        let groups = lock(&self.groups);
        let group = groups.get(group_id);
        match partitions {
            Some(ps) => ps.iter().map(|tp| (tp.clone(), group.and_then(|g| g.offsets.get(tp).cloned()))).collect(),
            None => group.map(|g| g.offsets.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect()).unwrap_or_default(),
        }
    }

    pub fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let groups = lock(&self.groups);
        let g = groups.get(group_id)?;
        let proto = g.protocol_name.clone().unwrap_or_default();
        let mut ms: Vec<&Member> = g.members.values().collect();
        ms.sort_by_key(|m| m.joined_seq);
        Some(GroupDescription {
            state: g.state,
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol: if g.state == GroupState::Stable || g.state == GroupState::CompletingRebalance { proto.clone() } else { String::new() },
            members: ms
                .iter()
                .map(|m| {
                    let md = m.protocols.iter().find(|(n, _)| *n == proto).map(|(_, b)| b.clone()).unwrap_or_default();
                    (m.id.clone(), m.group_instance_id.clone(), m.client_id.clone(), m.client_host.clone(), md, m.assignment.clone())
                })
                .collect(),
        })
    }

    pub fn list(&self) -> Vec<(String, String, GroupState)> {
        let groups = lock(&self.groups);
        let mut v: Vec<_> = groups.iter().map(|(id, g)| (id.clone(), g.protocol_type.clone().unwrap_or_default(), g.state)).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Drops committed offsets of a deleted topic (Kafka does this on topic deletion).
    pub fn forget_topic(&self, topic: &str) {
        let mut groups = lock(&self.groups);
        for g in groups.values_mut() {
            g.offsets.retain(|(t, _), _| t != topic);
        }
    }

    /// Answers every parked JoinGroup/SyncGroup (shutdown) so their connections can finish.
    pub fn shutdown(&self) {
        let mut groups = lock(&self.groups);
        for g in groups.values_mut() {
            for m in g.members.values_mut() {
                if let Some(tx) = m.awaiting_join.take() {
                    let _ = tx.send(JoinResult { error: codes::COORDINATOR_NOT_AVAILABLE, member_id: m.id.clone(), generation_id: -1, ..Default::default() });
                }
                if let Some(tx) = m.awaiting_sync.take() {
                    let _ = tx.send(SyncResult { error: codes::COORDINATOR_NOT_AVAILABLE, ..Default::default() });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(member: &str, known: bool) -> JoinRequest {
        JoinRequest {
            group_id: "g".into(),
            member_id: member.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 10_000,
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(b"m"))],
            require_known_member_id: known,
        }
    }

    #[tokio::test]
    async fn single_member_join_sync_heartbeat_leave() {
        let gc = GroupCoordinator::new(&BrokerConfig::default());
        let JoinOutcome::Done(r) = gc.join(req("", true)) else { panic!("expected MEMBER_ID_REQUIRED") };
        assert_eq!(r.error, codes::MEMBER_ID_REQUIRED);
        let JoinOutcome::Wait(rx) = gc.join(req(&r.member_id, true)) else { panic!("expected to wait") };
        let j = rx.await.unwrap();
        assert_eq!((j.error, j.generation_id, j.leader == j.member_id, j.members.len()), (0, 1, true, 1));
        let SyncOutcome::Wait(rx) = gc.sync("g", &j.member_id, 1, None, None, vec![(j.member_id.clone(), Bytes::from_static(b"a"))]) else { panic!() };
        assert_eq!(rx.await.unwrap().assignment, Bytes::from_static(b"a"));
        assert_eq!(gc.heartbeat("g", &j.member_id, 1), codes::NONE);
        assert_eq!(gc.heartbeat("g", &j.member_id, 0), codes::ILLEGAL_GENERATION);
        assert_eq!(gc.heartbeat("g", "nobody", 1), codes::UNKNOWN_MEMBER_ID);
        assert_eq!(gc.leave("g", std::slice::from_ref(&j.member_id)).unwrap(), vec![codes::NONE]);
        assert_eq!(gc.describe("g").unwrap().state, GroupState::Empty);
    }

    #[tokio::test]
    async fn second_member_triggers_rebalance() {
        let gc = GroupCoordinator::new(&BrokerConfig::default());
        let JoinOutcome::Wait(rx) = gc.join(req("", false)) else { panic!() };
        let a = rx.await.unwrap();
        let SyncOutcome::Wait(rx) = gc.sync("g", &a.member_id, 1, None, None, vec![]) else { panic!() };
        rx.await.unwrap();
        let JoinOutcome::Wait(rx_b) = gc.join(req("", false)) else { panic!() };
        assert_eq!(gc.heartbeat("g", &a.member_id, 1), codes::REBALANCE_IN_PROGRESS);
        let JoinOutcome::Wait(rx_a) = gc.join(req(&a.member_id, false)) else { panic!() };
        let (a2, b) = (rx_a.await.unwrap(), rx_b.await.unwrap());
        assert_eq!((a2.generation_id, b.generation_id), (2, 2));
        assert_eq!(a2.leader, a.member_id);
        assert_eq!(a2.members.len(), 2);
        assert!(b.members.is_empty());
    }
}
