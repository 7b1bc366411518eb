//! KIP-848 consumer groups in the group coordinator: ConsumerGroupHeartbeat and
//! ConsumerGroupDescribe over the shards of `group.rs`, the records that persist a group
//! (`consumer_records`), their replay on load, session and rebalance timeouts, and OffsetCommit's
//! member-epoch check.
//!
//! A consumer group is a [`Group`] of kind `Consumer` whose members live in its
//! [`ConsumerGroup`] (the pure state machine); offsets, placement, loading and the write path are
//! the classic group's. Every heartbeat that changes the group is persisted as the difference
//! between the group before and after it — member subscriptions (type 5), the group epoch (3),
//! target assignments (7, then 6), current assignments (8), tombstones for members that left —
//! appended under the coordinator lock and answered once the ISR has it, as Kafka's coordinator
//! runtime does. A heartbeat that changes nothing writes nothing.
//!
//! Deliberately not here: regular-expression subscriptions (INVALID_REQUEST from the handler),
//! classic members in a consumer group and the online migration between protocols (a classic
//! JoinGroup on a non-empty consumer group gets INCONSISTENT_GROUP_PROTOCOL; empty groups switch
//! type), rack-aware assignment, and reverting in-memory state when an append fails (the failure
//! is answered; Kafka's timeline data structures would roll back — here a failed append almost
//! always means the partition lost its leader, and the shard is dropped with it).

use super::*;
use crate::coordinator::assignor::Assignment;
use crate::coordinator::consumer_group::{
    Heartbeat, HeartbeatAnswer, Member as ConsumerMember, MemberState, TopicId, TopicsView, JOIN_EPOCH,
};
use crate::coordinator::consumer_records::{self as cr, ConsumerRecord};
use std::collections::BTreeSet;

/// A consumer group as ConsumerGroupDescribe shows it (topic ids still to be named).
pub struct ConsumerGroupDescription {
    pub state: &'static str,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: &'static str,
    pub members: Vec<ConsumerMemberDescription>,
}

pub struct ConsumerMemberDescription {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub member_epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub subscribed: Vec<String>,
    pub assigned: Assignment<TopicId>,
    pub target: Assignment<TopicId>,
}

/// Resolves a topic name to its id and partition count in the current metadata image.
pub type TopicLookup<'a> = &'a (dyn Fn(&str) -> Option<(TopicId, i32)> + Sync);

impl GroupCoordinator {
    /// ConsumerGroupHeartbeat's work: the member's answer, or Kafka's error code.
    pub async fn consumer_heartbeat(
        self: &Arc<Self>,
        log: &Arc<dyn OffsetsLog>,
        group_id: &str,
        hb: Heartbeat,
        topics: TopicLookup<'_>,
    ) -> Result<HeartbeatAnswer, i16> {
        let (answer, rx) = {
            let mut inner = lock(&self.inner);
            let mut writes = Vec::new();
            let out = self.consumer_heartbeat_locked(&mut inner, group_id, hb, topics, &mut writes);
            self.flush(log, &mut inner, writes);
            out?
        };
        if let Some(rx) = rx {
            let code = rx.await.unwrap_or(codes::COORDINATOR_NOT_AVAILABLE);
            if code != codes::NONE {
                return Err(code);
            }
        }
        Ok(answer)
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn consumer_heartbeat_locked(
        &self,
        inner: &mut Inner,
        group_id: &str,
        hb: Heartbeat,
        topics: TopicLookup<'_>,
        writes: &mut Vec<Write>,
    ) -> Result<(HeartbeatAnswer, Option<oneshot::Receiver<i16>>), i16> {
        let (_, now_ms) = (self.clock)();
        if group_id.is_empty() {
            return Err(codes::INVALID_GROUP_ID);
        }
        let total = inner.group_count();
        let partition = partition_for(group_id, inner.partitions);
        let shard = Self::shard(inner, group_id)?;
        let epoch = shard.epoch;
        let created = !shard.groups.contains_key(group_id);
        if created {
            if hb.member_epoch != JOIN_EPOCH {
                // The group is gone (deleted, or expired with its members): the member rejoins.
                return Err(codes::UNKNOWN_MEMBER_ID);
            }
            if total >= GROUPS_MAX {
                tracing::warn!(group = %group_id, "refusing a new group: this broker keeps at most {GROUPS_MAX} groups");
                return Err(codes::COORDINATOR_NOT_AVAILABLE);
            }
            let mut g = Group::new(group_id, now_ms);
            g.become_consumer_group(&self.cfg);
            shard.groups.insert(group_id.to_string(), g);
        }
        let g = shard.groups.get_mut(group_id).expect("just ensured");
        let mut records = Vec::new();
        if g.consumer.is_none() {
            // An empty classic group (offsets only, or all members gone) becomes a consumer group,
            // as Kafka converts it; one with classic members is not a consumer group.
            let classic_empty = g.state == GroupState::Empty && g.members.is_empty() && g.pending_join.is_empty();
            if !classic_empty || hb.member_epoch != JOIN_EPOCH {
                return Err(codes::GROUP_ID_NOT_FOUND);
            }
            records.extend(g.group_tombstones());
            g.become_consumer_group(&self.cfg);
            tracing::info!(group = %group_id, "empty classic group becomes a consumer (KIP-848) group");
        }
        let cg = g.consumer.as_mut().expect("a consumer group");
        let before = (**cg).clone();
        let view = topics_view(cg, &hb, topics);
        let (member, member_epoch) = (hb.member_id.clone(), hb.member_epoch);
        let result = cg.heartbeat(hb, &view, now_ms);
        match &result {
            Err(code) => {
                tracing::info!(group = %group_id, member = %member, member_epoch, code, "consumer group heartbeat refused")
            }
            Ok(_) if member_epoch < 0 => {
                tracing::info!(group = %group_id, member = %member, member_epoch, "consumer group member leaves")
            }
            Ok(a) if member_epoch == JOIN_EPOCH => {
                tracing::info!(group = %group_id, member = %member, epoch = a.member_epoch, "consumer group member joins")
            }
            Ok(a) => {
                tracing::debug!(group = %group_id, member = %member, member_epoch, epoch = a.member_epoch, assignment = ?a.assignment.as_ref().map(|x| x.values().map(|p| p.len()).sum::<usize>()), "consumer group heartbeat")
            }
        }
        if let (Err(code), true) = (&result, created) {
            // A refused join leaves no group behind.
            let code = *code;
            shard.groups.remove(group_id);
            return Err(code);
        }
        records.extend(diff_records(group_id, &before, cg));
        if cg.group_epoch != before.group_epoch {
            tracing::info!(group = %group_id, group_epoch = cg.group_epoch, members = cg.members.len(), state = cg.state().name(), "consumer group epoch bumped");
        }
        let answer = match result {
            Ok(a) => a,
            Err(code) => {
                if !records.is_empty() {
                    writes.push(Write {
                        partition,
                        epoch,
                        records,
                        txn: None,
                        after: After::Nothing("a refused consumer group heartbeat's changes"),
                    });
                }
                return Err(code);
            }
        };
        if records.is_empty() {
            return Ok((answer, None));
        }
        let (tx, rx) = oneshot::channel();
        writes.push(Write { partition, epoch, records, txn: None, after: After::Reply(tx) });
        Ok((answer, Some(rx)))
    }

    /// ConsumerGroupDescribe for one group. `Ok(None)`: the group exists but is not a consumer
    /// group (Kafka answers GROUP_ID_NOT_FOUND saying so).
    pub fn describe_consumer_group(&self, group_id: &str) -> Result<Option<ConsumerGroupDescription>, i16> {
        let mut inner = lock(&self.inner);
        let shard = Self::shard(&mut inner, group_id)?;
        let g = shard.groups.get(group_id).ok_or(codes::GROUP_ID_NOT_FOUND)?;
        let Some(cg) = &g.consumer else { return Ok(None) };
        Ok(Some(ConsumerGroupDescription {
            state: cg.state().name(),
            group_epoch: cg.group_epoch,
            assignment_epoch: cg.assignment_epoch,
            assignor: cg.assignor_name(),
            members: cg
                .members
                .values()
                .map(|m| ConsumerMemberDescription {
                    member_id: m.member_id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    member_epoch: m.member_epoch,
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    subscribed: m.subscribed.iter().cloned().collect(),
                    assigned: m.assigned.clone(),
                    target: cg.target.get(&m.member_id).cloned().unwrap_or_default(),
                })
                .collect(),
        }))
    }
}

/// The topics the group's members and this heartbeat name, as the image has them now.
fn topics_view(cg: &ConsumerGroup, hb: &Heartbeat, topics: TopicLookup<'_>) -> TopicsView {
    let mut names: BTreeSet<&str> = cg.members.values().flat_map(|m| m.subscribed.iter().map(String::as_str)).collect();
    if let Some(sub) = &hb.subscribed_topic_names {
        names.extend(sub.iter().map(String::as_str));
    }
    TopicsView { by_name: names.into_iter().filter_map(|n| topics(n).map(|t| (n.to_string(), t))).collect() }
}

fn member_metadata(m: &ConsumerMember) -> cr::MemberMetadata {
    cr::MemberMetadata {
        instance_id: m.instance_id.clone(),
        rack_id: m.rack_id.clone(),
        client_id: m.client_id.clone(),
        client_host: m.client_host.clone(),
        subscribed_topic_names: m.subscribed.iter().cloned().collect(),
        rebalance_timeout_ms: m.rebalance_timeout_ms,
        server_assignor: m.server_assignor.clone(),
    }
}

fn current_assignment(m: &ConsumerMember) -> cr::CurrentAssignment {
    cr::CurrentAssignment {
        member_epoch: m.member_epoch,
        previous_member_epoch: m.previous_member_epoch,
        state: m.state,
        assigned: m.assigned.clone(),
        pending_revocation: m.pending_revocation.clone(),
    }
}

/// The records that take the log from `before` to `after`, in Kafka's order: tombstones of
/// members that left, subscriptions, the group epoch, the target assignment, current assignments.
fn diff_records(group: &str, before: &ConsumerGroup, after: &ConsumerGroup) -> Vec<KeyValue> {
    let mut out = Vec::new();
    let left: Vec<&String> = before.members.keys().filter(|id| !after.members.contains_key(*id)).collect();
    for id in &left {
        out.push((cr::current_assignment_key(group, id), None));
    }
    for id in before.target.keys().filter(|id| !after.target.contains_key(*id)) {
        out.push((cr::target_assignment_member_key(group, id), None));
    }
    for id in &left {
        out.push((cr::member_metadata_key(group, id), None));
    }
    for m in after.members.values() {
        let meta = member_metadata(m);
        if before.members.get(&m.member_id).map(member_metadata).as_ref() != Some(&meta) {
            out.push((cr::member_metadata_key(group, &m.member_id), Some(cr::member_metadata_value(&meta))));
        }
    }
    if after.group_epoch != before.group_epoch {
        out.push((cr::group_metadata_key(group), Some(cr::group_metadata_value(after.group_epoch))));
    }
    for (id, t) in &after.target {
        if before.target.get(id) != Some(t) {
            out.push((cr::target_assignment_member_key(group, id), Some(cr::target_assignment_member_value(t))));
        }
    }
    if after.assignment_epoch != before.assignment_epoch {
        out.push((
            cr::target_assignment_metadata_key(group),
            Some(cr::target_assignment_metadata_value(after.assignment_epoch)),
        ));
    }
    for m in after.members.values() {
        let cur = current_assignment(m);
        if before.members.get(&m.member_id).map(current_assignment).as_ref() != Some(&cur) {
            out.push((cr::current_assignment_key(group, &m.member_id), Some(cr::current_assignment_value(&cur))));
        }
    }
    out
}

/// Tombstones removing a consumer group's records (its members', then the group's own).
pub(super) fn consumer_group_tombstones(cg: &ConsumerGroup) -> Vec<KeyValue> {
    let g = &cg.group_id;
    let mut out = Vec::new();
    for id in cg.members.keys() {
        out.push((cr::current_assignment_key(g, id), None));
    }
    for id in cg.target.keys() {
        out.push((cr::target_assignment_member_key(g, id), None));
    }
    for id in cg.members.keys() {
        out.push((cr::member_metadata_key(g, id), None));
    }
    out.push((cr::target_assignment_metadata_key(g), None));
    out.push((cr::group_metadata_key(g), None));
    out
}

/// Session and rebalance timeouts: fences the members whose time is up (the group epoch moves
/// on, the others get their partitions on their next heartbeats) and writes it down. A scan of
/// the group's members, cloned only when someone expires.
pub(super) fn expire_members(cg: &mut ConsumerGroup, partition: i32, epoch: i32, now_ms: i64, writes: &mut Vec<Write>) {
    if !cg.has_expired_members(now_ms) {
        return;
    }
    let before = cg.clone();
    let gone = cg.expire(now_ms);
    let revoking: Vec<&String> = gone.iter().filter(|id| before.members[*id].session_deadline_ms > now_ms).collect();
    tracing::info!(group = %cg.group_id, fenced = ?gone, late_revocation = ?revoking, group_epoch = cg.group_epoch, "consumer group members fenced (session timeout, or partitions not revoked within the rebalance timeout)");
    let records = diff_records(&cg.group_id.clone(), &before, cg);
    if !records.is_empty() {
        writes.push(Write {
            partition,
            epoch,
            records,
            txn: None,
            after: After::Nothing("fencing expired consumer group members"),
        });
    }
}

/// Kafka's `ConsumerGroup.validateOffsetCommit`: with member epoch -1 and no members (the admin
/// client, a standalone consumer) anything goes; otherwise the member must exist
/// (UNKNOWN_MEMBER_ID) at its current epoch or the one before (else STALE_MEMBER_EPOCH).
///
/// The previous epoch is accepted because a commit sent just before a heartbeat answer bumped
/// the member's epoch arrives with the old one; librdkafka fails such a synchronous commit
/// outright. This is safe here because an epoch only moves on once the member has given up the
/// partitions it had to revoke (Kafka 4.x wants the exact epoch; KIP-1251 relaxes it per
/// partition with the epoch each partition was assigned at).
pub(super) fn validate_consumer_offset_commit(
    cg: &ConsumerGroup,
    member_id: &str,
    member_epoch: i32,
) -> Result<(), i16> {
    if member_epoch < 0 && cg.members.is_empty() {
        return Ok(());
    }
    let m = cg.members.get(member_id).ok_or(codes::UNKNOWN_MEMBER_ID)?;
    // Epoch 0 is a member still joining: it owns nothing it could commit.
    if member_epoch != m.member_epoch && (member_epoch <= 0 || member_epoch != m.previous_member_epoch) {
        return Err(codes::STALE_MEMBER_EPOCH);
    }
    Ok(())
}

// ---- loading ----

/// One consumer group's records as replayed so far.
#[derive(Default)]
pub(super) struct ConsumerReplay {
    /// The group epoch, once its type-3 record was seen (a group exists only with one).
    epoch: Option<i32>,
    assignment_epoch: i32,
    members: BTreeMap<String, cr::MemberMetadata>,
    current: BTreeMap<String, cr::CurrentAssignment>,
    target: BTreeMap<String, Assignment<TopicId>>,
}

/// Applies one record in log order; a tombstone of the group record forgets the group.
pub(super) fn replay(groups: &mut HashMap<String, ConsumerReplay>, record: ConsumerRecord) {
    match record {
        ConsumerRecord::GroupMetadata { group, epoch: Some(e) } => groups.entry(group).or_default().epoch = Some(e),
        ConsumerRecord::GroupMetadata { group, epoch: None } => {
            groups.remove(&group);
        }
        ConsumerRecord::PartitionMetadata { .. } => {}
        ConsumerRecord::MemberMetadata { group, member, value } => {
            let r = groups.entry(group).or_default();
            match value {
                Some(v) => {
                    r.members.insert(member, v);
                }
                None => {
                    r.members.remove(&member);
                }
            }
        }
        ConsumerRecord::TargetAssignmentMetadata { group, assignment_epoch } => {
            groups.entry(group).or_default().assignment_epoch = assignment_epoch.unwrap_or(0)
        }
        ConsumerRecord::TargetAssignmentMember { group, member, partitions } => {
            let r = groups.entry(group).or_default();
            match partitions {
                Some(p) => {
                    r.target.insert(member, p);
                }
                None => {
                    r.target.remove(&member);
                }
            }
        }
        ConsumerRecord::CurrentAssignment { group, member, value } => {
            let r = groups.entry(group).or_default();
            match value {
                Some(v) => {
                    r.current.insert(member, v);
                }
                None => {
                    r.current.remove(&member);
                }
            }
        }
    }
}

/// Turns the replayed consumer groups into groups (joining the offsets already loaded for them).
pub(super) fn restore(groups: &mut HashMap<String, Group>, replays: HashMap<String, ConsumerReplay>, now_ms: i64) {
    for (id, r) in replays {
        let Some(group_epoch) = r.epoch else { continue };
        let members: Vec<ConsumerMember> = r
            .members
            .into_iter()
            .map(|(member_id, meta)| {
                let cur = r.current.get(&member_id).cloned().unwrap_or(cr::CurrentAssignment {
                    member_epoch: 0,
                    previous_member_epoch: -1,
                    state: MemberState::Stable,
                    assigned: Assignment::new(),
                    pending_revocation: Assignment::new(),
                });
                ConsumerMember {
                    member_id,
                    instance_id: meta.instance_id,
                    rack_id: meta.rack_id,
                    client_id: meta.client_id,
                    client_host: meta.client_host,
                    member_epoch: cur.member_epoch,
                    previous_member_epoch: cur.previous_member_epoch,
                    state: cur.state,
                    rebalance_timeout_ms: meta.rebalance_timeout_ms,
                    subscribed: meta.subscribed_topic_names.into_iter().collect(),
                    server_assignor: meta.server_assignor,
                    assigned: cur.assigned,
                    pending_revocation: cur.pending_revocation,
                    session_deadline_ms: now_ms,
                    revocation_deadline_ms: None,
                }
            })
            .collect();
        let g = groups.entry(id.clone()).or_insert_with(|| Group::new(&id, now_ms));
        let offsets = std::mem::take(&mut g.offsets);
        *g = Group::new(&id, now_ms);
        g.offsets = offsets;
        g.kind = GroupType::Consumer;
        g.protocol_type = Some(CONSUMER_PROTOCOL_TYPE.to_string());
        g.consumer = Some(Box::new(ConsumerGroup::restore(
            &id,
            group_epoch,
            r.assignment_epoch,
            members,
            r.target,
            Assignor::Uniform,
            now_ms,
        )));
    }
}
