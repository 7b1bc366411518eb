//! The KIP-848 consumer group protocol's state machine: what ConsumerGroupHeartbeat does to a
//! group, following Apache Kafka's `GroupMetadataManager.consumerGroupHeartbeat` and
//! `CurrentAssignmentBuilder`.
//!
//! The model: every change to the group's members or subscriptions bumps the **group epoch**;
//! when the group epoch is ahead of the **assignment epoch**, the coordinator computes a new
//! target assignment with a server-side assignor ([`super::assignor`]) and sets the assignment
//! epoch to the group epoch. Each member then **reconciles** towards its target on its own
//! heartbeats: first it gives up partitions it must lose (UnrevokedPartitions: its epoch stays),
//! then it takes its new epoch and the partitions nobody else still owns, and waits for the rest
//! (UnreleasedPartitions) until their previous owners have revoked them. A partition therefore
//! never has two owners, and no member ever stops the others (no global barrier, unlike the
//! classic protocol).
//!
//! Pure: no I/O, no clock (callers pass `now_ms`), deterministic. Persistence of the group
//! (Kafka's ConsumerGroup* records in `__consumer_offsets`) and the API handlers live elsewhere.
//! Deliberately not here: regular-expression subscriptions (KIP-848's `SubscribedTopicRegex`; a
//! heartbeat using one is refused with INVALID_REQUEST by the handler), client-side assignors
//! (dropped from the KIP), rack-aware assignment.

use super::assignor::{assign, Assignment, Assignor, MemberSpec};
use crate::codes;
use std::collections::{BTreeMap, BTreeSet};

/// `group.consumer.session.timeout.ms` (Kafka's default).
pub const SESSION_TIMEOUT_MS_DEFAULT: i64 = 45_000;
/// `group.consumer.heartbeat.interval.ms` (Kafka's default).
pub const HEARTBEAT_INTERVAL_MS_DEFAULT: i32 = 5_000;
/// `group.consumer.max.size`: members one group may have.
pub const GROUP_MEMBERS_MAX: usize = 1_000;
/// Topics one member may subscribe to (bounds the assignor's input).
pub const SUBSCRIBED_TOPICS_MAX: usize = 10_000;

/// Member epochs with a meaning of their own in a heartbeat.
pub const JOIN_EPOCH: i32 = 0;
pub const LEAVE_EPOCH: i32 = -1;
pub const STATIC_LEAVE_EPOCH: i32 = -2;

/// A topic as the coordinator sees it: the assignment protocol names topics by id, subscriptions
/// by name.
pub type TopicId = [u8; 16];

/// Where a member is in reconciling towards its target assignment (Kafka's `MemberState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    Stable,
    UnrevokedPartitions,
    UnreleasedPartitions,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: MemberState,
    pub rebalance_timeout_ms: i32,
    pub subscribed: BTreeSet<String>,
    pub server_assignor: Option<String>,
    /// Partitions the member owns and may consume.
    pub assigned: Assignment<TopicId>,
    /// Partitions it must give up before taking its new epoch.
    pub pending_revocation: Assignment<TopicId>,
    /// When the session ends without a heartbeat.
    pub session_deadline_ms: i64,
    /// When a member that must revoke partitions is fenced for not doing so (None: nothing to revoke).
    pub revocation_deadline_ms: Option<i64>,
}

/// The group's state as DescribeGroups/ConsumerGroupDescribe and ListGroups report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    Assigning,
    Reconciling,
    Stable,
}

impl GroupState {
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::Assigning => "Assigning",
            GroupState::Reconciling => "Reconciling",
            GroupState::Stable => "Stable",
        }
    }
}

/// One ConsumerGroupHeartbeat, decoded. `None` fields mean "unchanged since the last heartbeat".
#[derive(Clone, Debug, Default)]
pub struct Heartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: Option<Vec<String>>,
    pub server_assignor: Option<String>,
    /// What the member owns now, by topic id (`None`: unchanged).
    pub owned: Option<Assignment<TopicId>>,
    pub client_id: String,
    pub client_host: String,
}

/// The answer to a heartbeat: the member's id and epoch, and its assignment when it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatAnswer {
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// `Some` when the member must (re)read its assignment.
    pub assignment: Option<Assignment<TopicId>>,
}

/// Topic metadata the coordinator resolves subscriptions against.
#[derive(Clone, Debug, Default)]
pub struct TopicsView {
    /// name → (id, partition count).
    pub by_name: BTreeMap<String, (TopicId, i32)>,
}

#[derive(Clone, Debug)]
pub struct ConsumerGroup {
    pub group_id: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, Member>,
    /// The target assignment computed at `assignment_epoch`.
    pub target: BTreeMap<String, Assignment<TopicId>>,
    /// Who owns each partition now (assigned or pending revocation), for "unreleased" checks.
    owners: BTreeMap<(TopicId, i32), String>,
    /// The partitions per topic the last target was computed from: a change (new partitions)
    /// bumps the group epoch.
    subscribed_metadata: BTreeMap<TopicId, i32>,
    /// Set for a group reloaded from the log, whose topic metadata is not persisted (see
    /// `consumer_records`): its first heartbeat adopts the current metadata without a rebalance.
    metadata_unknown: bool,
    pub default_assignor: Assignor,
    pub session_timeout_ms: i64,
    pub heartbeat_interval_ms: i32,
}

fn count(a: &Assignment<TopicId>) -> usize {
    a.values().map(BTreeSet::len).sum()
}

fn minus(a: &Assignment<TopicId>, b: &Assignment<TopicId>) -> Assignment<TopicId> {
    let mut out = Assignment::new();
    for (t, ps) in a {
        let rest: BTreeSet<i32> = ps.iter().copied().filter(|p| !b.get(t).is_some_and(|s| s.contains(p))).collect();
        if !rest.is_empty() {
            out.insert(*t, rest);
        }
    }
    out
}

fn intersect(a: &Assignment<TopicId>, b: &Assignment<TopicId>) -> Assignment<TopicId> {
    let mut out = Assignment::new();
    for (t, ps) in a {
        if let Some(other) = b.get(t) {
            let both: BTreeSet<i32> = ps.intersection(other).copied().collect();
            if !both.is_empty() {
                out.insert(*t, both);
            }
        }
    }
    out
}

fn is_subset(a: &Assignment<TopicId>, b: &Assignment<TopicId>) -> bool {
    a.iter().all(|(t, ps)| ps.is_empty() || b.get(t).is_some_and(|s| ps.is_subset(s)))
}

impl ConsumerGroup {
    pub fn new(group_id: &str, default_assignor: Assignor) -> ConsumerGroup {
        ConsumerGroup {
            group_id: group_id.to_string(),
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            target: BTreeMap::new(),
            owners: BTreeMap::new(),
            subscribed_metadata: BTreeMap::new(),
            metadata_unknown: false,
            default_assignor,
            session_timeout_ms: SESSION_TIMEOUT_MS_DEFAULT,
            heartbeat_interval_ms: HEARTBEAT_INTERVAL_MS_DEFAULT,
        }
    }

    /// A group as its records in the log describe it (a coordinator failover): who owns what is
    /// rebuilt from the members' current assignments; the topic metadata is taken from the first
    /// heartbeat. Session and revocation deadlines start over from `now_ms`, as Kafka does on load.
    pub fn restore(
        group_id: &str,
        group_epoch: i32,
        assignment_epoch: i32,
        members: Vec<Member>,
        target: BTreeMap<String, Assignment<TopicId>>,
        default_assignor: Assignor,
        now_ms: i64,
    ) -> ConsumerGroup {
        let mut g = ConsumerGroup::new(group_id, default_assignor);
        g.group_epoch = group_epoch;
        g.assignment_epoch = assignment_epoch;
        g.target = target;
        g.metadata_unknown = true;
        for mut m in members {
            for (t, ps) in m.assigned.iter().chain(m.pending_revocation.iter()) {
                for p in ps {
                    g.owners.insert((*t, *p), m.member_id.clone());
                }
            }
            m.session_deadline_ms = now_ms.saturating_add(g.session_timeout_ms);
            m.revocation_deadline_ms = (m.state == MemberState::UnrevokedPartitions)
                .then(|| now_ms.saturating_add(i64::from(m.rebalance_timeout_ms.max(0))));
            g.members.insert(m.member_id.clone(), m);
        }
        g
    }

    /// Sets the session timeout, moving every member's deadline to it (on load, from config).
    pub fn set_session_timeout_ms(&mut self, session_timeout_ms: i64, now_ms: i64) {
        self.session_timeout_ms = session_timeout_ms;
        for m in self.members.values_mut() {
            m.session_deadline_ms = now_ms.saturating_add(session_timeout_ms);
        }
    }

    /// The name of the assignor the group's next target assignment uses.
    pub fn assignor_name(&self) -> &'static str {
        self.assignor().name()
    }

    /// Whether `expire(now_ms)` would remove someone (a cheap check before cloning the group).
    pub fn has_expired_members(&self, now_ms: i64) -> bool {
        self.members
            .values()
            .any(|m| m.session_deadline_ms <= now_ms || m.revocation_deadline_ms.is_some_and(|d| d <= now_ms))
    }

    pub fn state(&self) -> GroupState {
        if self.members.is_empty() {
            GroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            GroupState::Assigning
        } else if self
            .members
            .values()
            .any(|m| m.member_epoch != self.assignment_epoch || m.state != MemberState::Stable)
        {
            GroupState::Reconciling
        } else {
            GroupState::Stable
        }
    }

    /// The assignor the members ask for (the first named by a member in id order), else the default.
    fn assignor(&self) -> Assignor {
        self.members
            .values()
            .filter_map(|m| m.server_assignor.as_deref())
            .find_map(Assignor::by_name)
            .unwrap_or(self.default_assignor)
    }

    /// Handles one heartbeat. Errors are Kafka's codes for the response's error_code.
    pub fn heartbeat(&mut self, hb: Heartbeat, topics: &TopicsView, now_ms: i64) -> Result<HeartbeatAnswer, i16> {
        if let Some(a) = &hb.server_assignor {
            if Assignor::by_name(a).is_none() {
                return Err(codes::UNSUPPORTED_ASSIGNOR);
            }
        }
        if hb.subscribed_topic_names.as_ref().is_some_and(|t| t.len() > SUBSCRIBED_TOPICS_MAX) {
            return Err(codes::INVALID_REQUEST);
        }
        match hb.member_epoch {
            LEAVE_EPOCH | STATIC_LEAVE_EPOCH => return self.leave(&hb),
            e if e < STATIC_LEAVE_EPOCH => return Err(codes::INVALID_REQUEST),
            _ => {}
        }
        let mut bump = false;
        let member_id = if hb.member_epoch == JOIN_EPOCH {
            if hb.member_id.is_empty() {
                return Err(codes::INVALID_REQUEST);
            }
            if hb.subscribed_topic_names.is_none() {
                return Err(codes::INVALID_REQUEST);
            }
            // A static member taking its old place back changes nothing for the others.
            bump = !self.join(&hb, now_ms)?;
            hb.member_id.clone()
        } else {
            let m = self.members.get(&hb.member_id).ok_or(codes::UNKNOWN_MEMBER_ID)?;
            if hb.member_epoch != m.member_epoch {
                // A heartbeat whose answer was lost comes back with the previous epoch and the
                // partitions it had then; anything else is a zombie.
                let lost_answer = hb.member_epoch == m.previous_member_epoch
                    && hb.owned.as_ref().is_some_and(|o| is_subset(o, &m.assigned));
                if !lost_answer {
                    return Err(codes::FENCED_MEMBER_EPOCH);
                }
            }
            hb.member_id.clone()
        };

        let m = self.members.get_mut(&member_id).expect("joined or found above");
        m.session_deadline_ms = now_ms.saturating_add(self.session_timeout_ms);
        m.client_id.clone_from(&hb.client_id);
        m.client_host.clone_from(&hb.client_host);
        if hb.rebalance_timeout_ms > 0 {
            m.rebalance_timeout_ms = hb.rebalance_timeout_ms;
        }
        if let Some(names) = &hb.subscribed_topic_names {
            let next: BTreeSet<String> = names.iter().cloned().collect();
            if next != m.subscribed {
                m.subscribed = next;
                bump = true;
            }
        }
        if hb.server_assignor != m.server_assignor && hb.server_assignor.is_some() {
            m.server_assignor.clone_from(&hb.server_assignor);
            bump = true;
        }
        if hb.rack_id.is_some() {
            m.rack_id.clone_from(&hb.rack_id);
        }
        // New partitions of a subscribed topic also need a new target.
        let metadata = self.subscribed_topics(topics);
        if self.metadata_unknown {
            self.metadata_unknown = false;
            self.subscribed_metadata = metadata.clone();
        }
        if metadata != self.subscribed_metadata {
            bump = true;
        }
        if bump {
            self.group_epoch += 1;
        }
        if self.group_epoch > self.assignment_epoch {
            self.compute_target(topics, metadata);
        }
        let before = self.members[&member_id].assigned.clone();
        let owned = hb.owned.clone();
        self.reconcile(&member_id, owned.as_ref(), now_ms);
        let m = &self.members[&member_id];
        // Kafka sends the assignment on a full request (a join, or a member resending everything
        // after an error) and whenever it changed.
        let full = hb.member_epoch == JOIN_EPOCH
            || (hb.rebalance_timeout_ms != -1 && hb.subscribed_topic_names.is_some() && hb.owned.is_some());
        let changed = full || m.assigned != before || m.member_epoch != hb.member_epoch;
        Ok(HeartbeatAnswer {
            member_id,
            member_epoch: m.member_epoch,
            heartbeat_interval_ms: self.heartbeat_interval_ms,
            assignment: changed.then(|| m.assigned.clone()),
        })
    }

    /// Adds a member; `Ok(true)` when it is a static member returning to its old place.
    fn join(&mut self, hb: &Heartbeat, now_ms: i64) -> Result<bool, i16> {
        if let Some(instance) = &hb.instance_id {
            // A static member coming back under a new member id takes over the old one's
            // assignment and epoch (no rebalance) — only once the old one has left (epoch -2).
            if let Some(old) =
                self.members.values().find(|m| m.instance_id.as_deref() == Some(instance.as_str())).cloned()
            {
                if old.member_epoch != STATIC_LEAVE_EPOCH {
                    return Err(codes::UNRELEASED_INSTANCE_ID);
                }
                self.members.remove(&old.member_id);
                if let Some(t) = self.target.remove(&old.member_id) {
                    self.target.insert(hb.member_id.clone(), t);
                }
                for owner in self.owners.values_mut() {
                    if *owner == old.member_id {
                        owner.clone_from(&hb.member_id);
                    }
                }
                let epoch = old.previous_member_epoch;
                self.members.insert(
                    hb.member_id.clone(),
                    Member {
                        member_id: hb.member_id.clone(),
                        member_epoch: epoch,
                        previous_member_epoch: epoch,
                        session_deadline_ms: now_ms,
                        ..old
                    },
                );
                return Ok(true);
            }
        }
        if let Some(existing) = self.members.get(&hb.member_id) {
            // A member rejoining with epoch 0 (after being fenced, or a restart with the same id):
            // it starts over and owns nothing.
            let id = existing.member_id.clone();
            self.remove_member(&id);
        }
        if self.members.len() >= GROUP_MEMBERS_MAX {
            return Err(codes::GROUP_MAX_SIZE_REACHED);
        }
        self.members.insert(
            hb.member_id.clone(),
            Member {
                member_id: hb.member_id.clone(),
                instance_id: hb.instance_id.clone(),
                rack_id: hb.rack_id.clone(),
                client_id: hb.client_id.clone(),
                client_host: hb.client_host.clone(),
                member_epoch: 0,
                previous_member_epoch: -1,
                state: MemberState::Stable,
                rebalance_timeout_ms: hb.rebalance_timeout_ms,
                subscribed: BTreeSet::new(),
                server_assignor: hb.server_assignor.clone(),
                assigned: Assignment::new(),
                pending_revocation: Assignment::new(),
                session_deadline_ms: now_ms,
                revocation_deadline_ms: None,
            },
        );
        Ok(false)
    }

    fn leave(&mut self, hb: &Heartbeat) -> Result<HeartbeatAnswer, i16> {
        let id = if hb.member_id.is_empty() {
            // A static member may leave by instance id alone.
            let instance = hb.instance_id.as_deref().ok_or(codes::UNKNOWN_MEMBER_ID)?;
            self.members
                .values()
                .find(|m| m.instance_id.as_deref() == Some(instance))
                .map(|m| m.member_id.clone())
                .ok_or(codes::UNKNOWN_MEMBER_ID)?
        } else {
            hb.member_id.clone()
        };
        let m = self.members.get_mut(&id).ok_or(codes::UNKNOWN_MEMBER_ID)?;
        if hb.member_epoch == STATIC_LEAVE_EPOCH && m.instance_id.is_some() {
            // Temporary leave: keep its assignment for the instance's return within the session.
            if m.member_epoch != STATIC_LEAVE_EPOCH {
                m.previous_member_epoch = m.member_epoch;
            }
            m.member_epoch = STATIC_LEAVE_EPOCH;
        } else {
            self.remove_member(&id);
            self.group_epoch += 1;
        }
        Ok(HeartbeatAnswer { member_id: id, member_epoch: hb.member_epoch, heartbeat_interval_ms: 0, assignment: None })
    }

    fn remove_member(&mut self, id: &str) {
        self.members.remove(id);
        self.target.remove(id);
        self.owners.retain(|_, owner| owner != id);
    }

    /// Members whose session ended, or who did not revoke in time: removed (fenced), bumping the
    /// group epoch so the others share their partitions. Returns who was removed.
    pub fn expire(&mut self, now_ms: i64) -> Vec<String> {
        let gone: Vec<String> = self
            .members
            .values()
            .filter(|m| m.session_deadline_ms <= now_ms || m.revocation_deadline_ms.is_some_and(|d| d <= now_ms))
            .map(|m| m.member_id.clone())
            .collect();
        for id in &gone {
            self.remove_member(id);
        }
        if !gone.is_empty() {
            self.group_epoch += 1;
        }
        gone
    }

    fn subscribed_topics(&self, topics: &TopicsView) -> BTreeMap<TopicId, i32> {
        let names: BTreeSet<&String> = self.members.values().flat_map(|m| m.subscribed.iter()).collect();
        names.into_iter().filter_map(|n| topics.by_name.get(n)).map(|(id, count)| (*id, *count)).collect()
    }

    fn compute_target(&mut self, topics: &TopicsView, metadata: BTreeMap<TopicId, i32>) {
        let specs: Vec<MemberSpec<TopicId>> = self
            .members
            .values()
            .map(|m| MemberSpec {
                member_id: m.member_id.clone(),
                subscribed: m.subscribed.iter().filter_map(|n| topics.by_name.get(n).map(|(id, _)| *id)).collect(),
                // Stickiness follows the previous target, as Kafka's assignor input does.
                current: self.target.get(&m.member_id).cloned().unwrap_or_default(),
            })
            .collect();
        self.target = assign(self.assignor(), &specs, &metadata);
        self.subscribed_metadata = metadata;
        self.assignment_epoch = self.group_epoch;
    }

    /// Moves a member one step towards its target (Kafka's CurrentAssignmentBuilder).
    fn reconcile(&mut self, member_id: &str, owned: Option<&Assignment<TopicId>>, now_ms: i64) {
        let target_epoch = self.assignment_epoch;
        let target = self.target.get(member_id).cloned().unwrap_or_default();
        let mut m = self.members.remove(member_id).expect("reconciling a member");
        if m.member_epoch == STATIC_LEAVE_EPOCH {
            self.members.insert(member_id.to_string(), m);
            return;
        }
        // Revocations confirmed: the member no longer reports them as owned.
        if m.state == MemberState::UnrevokedPartitions {
            let revoked = owned.is_some_and(|o| intersect(o, &m.pending_revocation).is_empty());
            if !revoked {
                self.members.insert(member_id.to_string(), m);
                return;
            }
            for (t, ps) in std::mem::take(&mut m.pending_revocation) {
                for p in ps {
                    self.owners.remove(&(t, p));
                }
            }
            m.revocation_deadline_ms = None;
        }
        if m.member_epoch == target_epoch && m.state == MemberState::Stable {
            self.members.insert(member_id.to_string(), m);
            return;
        }
        let keep = intersect(&m.assigned, &target);
        let revoke = minus(&m.assigned, &target);
        if count(&revoke) > 0 {
            m.assigned = keep;
            m.pending_revocation = revoke;
            m.state = MemberState::UnrevokedPartitions;
            m.revocation_deadline_ms = Some(now_ms.saturating_add(i64::from(m.rebalance_timeout_ms.max(0))));
            self.members.insert(member_id.to_string(), m);
            return;
        }
        let mut assigned = keep;
        let mut unreleased = false;
        for (t, ps) in minus(&target, &assigned) {
            for p in ps {
                match self.owners.get(&(t, p)) {
                    Some(owner) if owner != member_id => unreleased = true,
                    _ => {
                        self.owners.insert((t, p), member_id.to_string());
                        assigned.entry(t).or_default().insert(p);
                    }
                }
            }
        }
        m.assigned = assigned;
        if m.member_epoch != target_epoch {
            m.previous_member_epoch = m.member_epoch;
            m.member_epoch = target_epoch;
        }
        m.state = if unreleased { MemberState::UnreleasedPartitions } else { MemberState::Stable };
        self.members.insert(member_id.to_string(), m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> TopicId {
        [n; 16]
    }

    fn topics(spec: &[(&str, u8, i32)]) -> TopicsView {
        TopicsView { by_name: spec.iter().map(|(name, n, count)| (name.to_string(), (id(*n), *count))).collect() }
    }

    fn hb(member: &str, epoch: i32) -> Heartbeat {
        Heartbeat {
            member_id: member.into(),
            member_epoch: epoch,
            rebalance_timeout_ms: 30_000,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            ..Heartbeat::default()
        }
    }

    fn join(member: &str, subs: &[&str]) -> Heartbeat {
        Heartbeat {
            subscribed_topic_names: Some(subs.iter().map(|s| s.to_string()).collect()),
            owned: Some(Assignment::new()),
            ..hb(member, JOIN_EPOCH)
        }
    }

    fn parts(a: &Assignment<TopicId>) -> Vec<i32> {
        a.values().flat_map(|s| s.iter().copied()).collect()
    }

    fn owned(ps: &[i32]) -> Option<Assignment<TopicId>> {
        let mut a = Assignment::new();
        if !ps.is_empty() {
            a.insert(id(1), ps.iter().copied().collect());
        }
        Some(a)
    }

    #[test]
    fn a_lone_member_gets_everything_then_shares_without_a_double_owner() {
        let t = topics(&[("orders", 1, 4)]);
        let mut g = ConsumerGroup::new("g", Assignor::Uniform);
        let a = g.heartbeat(join("a", &["orders"]), &t, 0).unwrap();
        assert_eq!((a.member_epoch, parts(a.assignment.as_ref().unwrap())), (1, vec![0, 1, 2, 3]));
        assert_eq!(g.state(), GroupState::Stable);

        // b joins: group epoch 2; b gets only what a does not own yet, so nothing at first.
        let b = g.heartbeat(join("b", &["orders"]), &t, 10).unwrap();
        assert_eq!((b.member_epoch, parts(b.assignment.as_ref().unwrap())), (2, vec![]));
        assert_eq!(g.members["b"].state, MemberState::UnreleasedPartitions);
        assert_eq!(g.state(), GroupState::Reconciling);

        // a's next heartbeat tells it to revoke two partitions; its epoch stays 1 until it does.
        let a2 = g.heartbeat(Heartbeat { owned: owned(&[0, 1, 2, 3]), ..hb("a", 1) }, &t, 20).unwrap();
        assert_eq!((a2.member_epoch, parts(a2.assignment.as_ref().unwrap()).len()), (1, 2));
        assert_eq!(g.members["a"].state, MemberState::UnrevokedPartitions);
        let kept = parts(a2.assignment.as_ref().unwrap());
        // a confirms the revocation by reporting only what it kept: epoch 2.
        let a3 = g.heartbeat(Heartbeat { owned: owned(&kept), ..hb("a", 1) }, &t, 30).unwrap();
        assert_eq!(a3.member_epoch, 2);
        // Now b gets the released partitions.
        let b2 = g.heartbeat(Heartbeat { owned: owned(&[]), ..hb("b", 2) }, &t, 40).unwrap();
        let mut all = kept.clone();
        all.extend(parts(b2.assignment.as_ref().unwrap()));
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3]);
        assert_eq!(g.state(), GroupState::Stable);
    }

    #[test]
    fn epochs_are_checked() {
        let t = topics(&[("orders", 1, 2)]);
        let mut g = ConsumerGroup::new("g", Assignor::Range);
        g.heartbeat(join("a", &["orders"]), &t, 0).unwrap();
        assert_eq!(g.heartbeat(hb("a", 7), &t, 1), Err(codes::FENCED_MEMBER_EPOCH));
        assert_eq!(g.heartbeat(hb("nobody", 3), &t, 1), Err(codes::UNKNOWN_MEMBER_ID));
        assert_eq!(
            g.heartbeat(Heartbeat { server_assignor: Some("sticky".into()), ..join("c", &["orders"]) }, &t, 1),
            Err(codes::UNSUPPORTED_ASSIGNOR)
        );
        assert_eq!(
            g.heartbeat(Heartbeat { subscribed_topic_names: None, ..join("d", &[]) }, &t, 1),
            Err(codes::INVALID_REQUEST)
        );
        // A lost answer: the member comes back with its previous epoch and what it owned then.
        let grown = topics(&[("orders", 1, 3)]);
        let a = g.heartbeat(Heartbeat { owned: owned(&[0, 1]), ..hb("a", 1) }, &grown, 2).unwrap();
        assert_eq!(a.member_epoch, 2);
        let again = g.heartbeat(Heartbeat { owned: owned(&[0, 1]), ..hb("a", 1) }, &grown, 3).unwrap();
        assert_eq!(again.member_epoch, 2, "the previous epoch with owned partitions it had is a retry");
        assert_eq!(
            g.heartbeat(Heartbeat { owned: owned(&[7]), ..hb("a", 1) }, &grown, 4),
            Err(codes::FENCED_MEMBER_EPOCH)
        );
    }

    #[test]
    fn leaving_and_expiry_bump_the_group_epoch_and_free_partitions() {
        let t = topics(&[("orders", 1, 2)]);
        let mut g = ConsumerGroup::new("g", Assignor::Uniform);
        g.heartbeat(join("a", &["orders"]), &t, 0).unwrap();
        g.heartbeat(join("b", &["orders"]), &t, 0).unwrap();
        let epoch = g.group_epoch;
        let left = g.heartbeat(hb("b", LEAVE_EPOCH), &t, 1).unwrap();
        assert_eq!(left.member_epoch, LEAVE_EPOCH);
        assert_eq!(g.group_epoch, epoch + 1);
        let a = g
            .heartbeat(
                Heartbeat { owned: owned(&parts(&g.members["a"].assigned)), ..hb("a", g.members["a"].member_epoch) },
                &t,
                2,
            )
            .unwrap();
        assert_eq!(parts(a.assignment.as_ref().unwrap()), vec![0, 1]);
        assert_eq!(g.expire(2 + SESSION_TIMEOUT_MS_DEFAULT), vec!["a".to_string()]);
        assert_eq!(g.state(), GroupState::Empty);
    }

    #[test]
    fn a_static_member_returns_without_a_rebalance() {
        let t = topics(&[("orders", 1, 4)]);
        let mut g = ConsumerGroup::new("g", Assignor::Uniform);
        g.heartbeat(Heartbeat { instance_id: Some("i1".into()), ..join("a", &["orders"]) }, &t, 0).unwrap();
        let epoch = g.group_epoch;
        g.heartbeat(Heartbeat { instance_id: Some("i1".into()), ..hb("a", STATIC_LEAVE_EPOCH) }, &t, 1).unwrap();
        assert_eq!(g.group_epoch, epoch, "a temporary leave does not rebalance");
        // The same instance under a new member id: while the old one is still active it is refused.
        let back = g.heartbeat(Heartbeat { instance_id: Some("i1".into()), ..join("a2", &["orders"]) }, &t, 2).unwrap();
        assert_eq!(g.group_epoch, epoch, "its return does not either");
        assert_eq!(parts(back.assignment.as_ref().unwrap()), vec![0, 1, 2, 3]);
        let dup = g.heartbeat(Heartbeat { instance_id: Some("i1".into()), ..join("a3", &["orders"]) }, &t, 3);
        assert_eq!(dup, Err(codes::UNRELEASED_INSTANCE_ID));
    }

    #[test]
    fn new_partitions_of_a_subscribed_topic_are_assigned() {
        let mut g = ConsumerGroup::new("g", Assignor::Range);
        g.heartbeat(join("a", &["orders"]), &topics(&[("orders", 1, 1)]), 0).unwrap();
        let more = topics(&[("orders", 1, 3)]);
        let a = g.heartbeat(Heartbeat { owned: owned(&[0]), ..hb("a", 1) }, &more, 1).unwrap();
        assert_eq!((a.member_epoch, parts(a.assignment.as_ref().unwrap())), (2, vec![0, 1, 2]));
    }
}
