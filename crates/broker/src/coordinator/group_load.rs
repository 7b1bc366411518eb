//! Loading one `__consumer_offsets` partition into the group coordinator: read from the log
//! start to the log end found at the start, `offsets.load.buffer.size` bytes a step, replaying
//! every record in order as Kafka's `CoordinatorLoaderImpl` does — offsets, classic group metadata
//! and KIP-848 consumer group records (a later record replaces an earlier one, tombstones delete), transactional offsets kept pending per
//! producer until a COMMIT or ABORT marker in the same log settles them. Undecodable batches or
//! records, and record types of groups this coordinator does not serve, are skipped with a
//! warning, never fatal: one bad record must not make every group of a partition unavailable.
//!
//! Pure over an [`OffsetsLog`]: no locks, no clock but the one passed in.

use super::*;

/// What a load found: the groups and pending transactional offsets of one partition.
pub(super) struct Loaded {
    pub(super) groups: HashMap<String, Group>,
    pub(super) pending_txn: HashMap<i64, BTreeMap<(String, String, i32), CommittedOffset>>,
    pub(super) records: u64,
    pub(super) skipped: u64,
}

/// Reads a partition from its log start to the log end it finds, `buffer` bytes a step, and
/// replays every record. Bounded: each step moves forward by at least one batch.
pub(super) fn load_partition(
    log: &dyn OffsetsLog,
    partition: i32,
    buffer: usize,
    clock: &Clock,
) -> Result<Loaded, i16> {
    let (start, end) = log.range(partition)?;
    let mut state = Replay::default();
    let mut offset = start;
    while offset < end {
        let bytes = log.read(partition, offset, buffer, end)?;
        let mut next = offset;
        let mut at = 0usize;
        while at < bytes.len() {
            let Some(header) = BatchHeader::parse(&bytes[at..]) else { break };
            let size = header.size_bytes() as usize;
            let Some(batch) = bytes.get(at..at + size).filter(|_| size >= oxbow_log::batch::HEADER_BYTES) else {
                break;
            };
            state.batch(batch, &header, clock);
            next = header.next_offset();
            at += size;
        }
        if next <= offset {
            tracing::warn!(partition, offset, "loading stopped: no whole batch at this offset");
            break;
        }
        offset = next;
    }
    let (_, now_ms) = clock();
    Ok(state.finish(now_ms))
}

#[derive(Default)]
struct Replay {
    groups: HashMap<String, Group>,
    /// Group metadata as last written, applied to groups at the end.
    pending_txn: HashMap<i64, BTreeMap<(String, String, i32), CommittedOffset>>,
    /// KIP-848 consumer groups' records, turned into groups at the end.
    consumer: HashMap<String, super::consumer::ConsumerReplay>,
    records: u64,
    skipped: u64,
}

impl Replay {
    fn batch(&mut self, bytes: &[u8], header: &BatchHeader, clock: &Clock) {
        let records = match oxbow_log::record::decode_records(bytes) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(offset = header.base_offset, error = %e, "skipping an undecodable batch in {OFFSETS_TOPIC}");
                self.skipped += 1;
                return;
            }
        };
        if header.is_control() {
            if let Some(key) = records.first().and_then(|r| r.key.as_ref()) {
                match rec::decode_control_type(key) {
                    Ok(t) => self.marker(header.producer_id, t == rec::CONTROL_COMMIT, clock),
                    Err(e) => {
                        tracing::warn!(offset = header.base_offset, error = %e, "skipping a control batch");
                        self.skipped += 1;
                    }
                }
            }
            return;
        }
        let txn = header.is_transactional().then_some(header.producer_id);
        for r in records {
            let offset = header.base_offset + i64::from(r.offset_delta);
            let Some(key) = r.key.as_ref() else {
                self.skipped += 1;
                continue;
            };
            match rec::decode(key, r.value.as_deref()) {
                Ok(record) => {
                    self.records += 1;
                    self.apply(record, offset, txn, clock);
                }
                Err(e) => {
                    tracing::warn!(offset, error = %e, "skipping an undecodable record in {OFFSETS_TOPIC}");
                    self.skipped += 1;
                }
            }
        }
    }

    fn marker(&mut self, producer_id: i64, committed: bool, clock: &Clock) {
        let Some(pending) = self.pending_txn.remove(&producer_id) else { return };
        if !committed {
            return;
        }
        let (_, now_ms) = clock();
        for ((group, topic, partition), c) in pending {
            let g = self.groups.entry(group.clone()).or_insert_with(|| Group::new(&group, now_ms));
            let key = (topic, partition);
            if g.offsets.get(&key).is_none_or(|old| old.record_offset < c.record_offset) {
                g.offsets.insert(key, c);
            }
        }
    }

    fn apply(&mut self, record: CoordinatorRecord, offset: i64, txn: Option<i64>, clock: &Clock) {
        let (now, now_ms) = clock();
        match record {
            CoordinatorRecord::OffsetCommit { group, topic, partition, value: Some(v) } => {
                let c = CommittedOffset {
                    offset: v.offset,
                    leader_epoch: v.leader_epoch,
                    metadata: v.metadata,
                    commit_timestamp_ms: v.commit_timestamp_ms,
                    expire_timestamp_ms: v.expire_timestamp_ms,
                    record_offset: offset,
                };
                match txn {
                    Some(pid) => {
                        self.pending_txn.entry(pid).or_default().insert((group, topic, partition), c);
                    }
                    None => {
                        let g = self.groups.entry(group.clone()).or_insert_with(|| Group::new(&group, now_ms));
                        if g.offsets.len() < OFFSETS_PER_GROUP_MAX
                            || g.offsets.contains_key(&(topic.clone(), partition))
                        {
                            g.offsets.insert((topic, partition), c);
                        }
                    }
                }
            }
            CoordinatorRecord::OffsetCommit { group, topic, partition, value: None } => {
                if let Some(g) = self.groups.get_mut(&group) {
                    g.offsets.remove(&(topic, partition));
                }
            }
            CoordinatorRecord::GroupMetadata { group, value: Some(v) } => {
                let g = self.groups.entry(group.clone()).or_insert_with(|| Group::new(&group, now_ms));
                restore_metadata(g, v, now);
            }
            CoordinatorRecord::GroupMetadata { group, value: None } => {
                // Kafka writes offset tombstones before the group's; any offsets left keep a
                // standalone group.
                if let Some(g) = self.groups.get_mut(&group) {
                    if g.offsets.is_empty() {
                        self.groups.remove(&group);
                    } else {
                        let offsets = std::mem::take(&mut g.offsets);
                        *g = Group::new(&group, now_ms);
                        g.offsets = offsets;
                    }
                }
            }
            CoordinatorRecord::Consumer(r) => {
                if let crate::coordinator::consumer_records::ConsumerRecord::GroupMetadata { group, epoch: None } = &r {
                    // As for a classic group: offsets tombstoned before the group's record leave
                    // nothing behind.
                    if self
                        .groups
                        .get(group)
                        .is_some_and(|g| g.offsets.is_empty() && g.members.is_empty() && g.protocol_type.is_none())
                    {
                        self.groups.remove(group);
                    }
                }
                super::consumer::replay(&mut self.consumer, r)
            }
            CoordinatorRecord::Other { record_type } => {
                tracing::debug!(
                    record_type,
                    offset,
                    "skipping a record of a group type this coordinator does not serve"
                );
                self.skipped += 1;
            }
        }
    }

    fn finish(mut self, now_ms: i64) -> Loaded {
        super::consumer::restore(&mut self.groups, self.consumer, now_ms);
        Loaded { groups: self.groups, pending_txn: self.pending_txn, records: self.records, skipped: self.skipped }
    }
}

/// A group as its latest metadata record says (Kafka's `ClassicGroup.fromRecord`): Stable with
/// its members and assignments, or Empty.
fn restore_metadata(g: &mut Group, v: rec::GroupMetadataValue, now: Instant) {
    let ts = if v.current_state_timestamp_ms >= 0 { v.current_state_timestamp_ms } else { g.state_since_ms };
    g.generation_id = v.generation;
    g.protocol_type = (!v.protocol_type.is_empty()).then_some(v.protocol_type);
    g.protocol_name = v.protocol.clone();
    g.leader = v.leader;
    g.members.clear();
    g.static_members.clear();
    g.pending_join.clear();
    g.pending_sync.clear();
    g.sync_deadline = None;
    g.rebalance_deadline = None;
    g.initial_delay = None;
    let proto = v.protocol.unwrap_or_default();
    for m in v.members {
        if let Some(instance) = &m.group_instance_id {
            g.static_members.insert(instance.clone(), m.member_id.clone());
        }
        let member = Member {
            id: m.member_id.clone(),
            group_instance_id: m.group_instance_id,
            client_id: m.client_id,
            client_host: m.client_host,
            session_timeout: Duration::from_millis(m.session_timeout_ms.max(0) as u64),
            rebalance_timeout: Duration::from_millis(m.rebalance_timeout_ms.max(0) as u64),
            protocols: vec![(proto.clone(), m.subscription)],
            assignment: m.assignment,
            awaiting_join: None,
            awaiting_sync: None,
            heartbeat_deadline: now + Duration::from_millis(m.session_timeout_ms.max(0) as u64),
            is_new: false,
            seq: next_member_seq(),
        };
        g.members.insert(m.member_id, member);
    }
    let state = if g.members.is_empty() { GroupState::Empty } else { GroupState::Stable };
    g.previous_state = state;
    g.state = state;
    g.state_since_ms = ts;
}
