//! The KIP-848 consumer group's records in `__consumer_offsets`, in Apache Kafka 4.x's layout
//! (`group-coordinator/src/main/resources/common/message/ConsumerGroup*.json`), so a group Oxbow
//! wrote is read back by the next coordinator of its partition, and Kafka's tools can read it.
//!
//! | type | key (non-flexible) | value (version 0, flexible) |
//! |---|---|---|
//! | 3 | ConsumerGroupMetadataKey: group | ConsumerGroupMetadataValue: group epoch |
//! | 5 | ConsumerGroupMemberMetadataKey: group, member | instance, rack, client id and host, subscribed topic names, regex, rebalance timeout, server assignor |
//! | 6 | ConsumerGroupTargetAssignmentMetadataKey: group | assignment epoch |
//! | 7 | ConsumerGroupTargetAssignmentMemberKey: group, member | target partitions by topic id |
//! | 8 | ConsumerGroupCurrentMemberAssignmentKey: group, member | member epoch, previous epoch, state, assigned and pending-revocation partitions by topic id |
//!
//! Deliberately not written: type 4 (ConsumerGroupPartitionMetadata, the subscribed topics'
//! partition counts), which Kafka 4.1 replaced by a metadata hash in the group's record; a
//! reloaded group instead adopts the topic metadata of its first heartbeat without a rebalance
//! (see `ConsumerGroup::restore`). Type 4 records written by Kafka are skipped when loading.
//! Unknown tagged fields (Kafka's later additions) are skipped. Pure code: no I/O.

use super::assignor::Assignment;
use super::consumer_group::{MemberState, TopicId};
use super::wire::{put_i16, put_i32, put_string, DecodeError, Reader};

pub const RECORD_TYPE_CONSUMER_GROUP_METADATA: i16 = 3;
pub const RECORD_TYPE_CONSUMER_GROUP_PARTITION_METADATA: i16 = 4;
pub const RECORD_TYPE_CONSUMER_GROUP_MEMBER_METADATA: i16 = 5;
pub const RECORD_TYPE_CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA: i16 = 6;
pub const RECORD_TYPE_CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER: i16 = 7;
pub const RECORD_TYPE_CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT: i16 = 8;

/// The only value version of these schemas.
const VALUE_VERSION: i16 = 0;

/// ConsumerGroupMemberMetadataValue.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MemberMetadata {
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub rebalance_timeout_ms: i32,
    pub server_assignor: Option<String>,
}

/// ConsumerGroupCurrentMemberAssignmentValue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentAssignment {
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: MemberState,
    pub assigned: Assignment<TopicId>,
    pub pending_revocation: Assignment<TopicId>,
}

/// One decoded consumer group record; `None` values are tombstones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerRecord {
    GroupMetadata {
        group: String,
        epoch: Option<i32>,
    },
    /// Type 4: read only to be skipped (see the module docs).
    PartitionMetadata {
        group: String,
    },
    MemberMetadata {
        group: String,
        member: String,
        value: Option<MemberMetadata>,
    },
    TargetAssignmentMetadata {
        group: String,
        assignment_epoch: Option<i32>,
    },
    TargetAssignmentMember {
        group: String,
        member: String,
        partitions: Option<Assignment<TopicId>>,
    },
    CurrentAssignment {
        group: String,
        member: String,
        value: Option<CurrentAssignment>,
    },
}

/// Kafka's `MemberState` byte values.
fn state_byte(s: MemberState) -> i8 {
    match s {
        MemberState::Stable => 0,
        MemberState::UnrevokedPartitions => 1,
        MemberState::UnreleasedPartitions => 2,
    }
}

fn state_from_byte(b: i8) -> Result<MemberState, DecodeError> {
    match b {
        0 => Ok(MemberState::Stable),
        1 => Ok(MemberState::UnrevokedPartitions),
        2 => Ok(MemberState::UnreleasedPartitions),
        other => {
            Err(DecodeError(format!("ConsumerGroupCurrentMemberAssignmentValue.State: unknown member state {other}")))
        }
    }
}

// ---- keys ----

fn key(record_type: i16, group: &str, member: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + group.len() + member.map_or(0, str::len));
    put_i16(&mut out, record_type);
    put_string(&mut out, group);
    if let Some(m) = member {
        put_string(&mut out, m);
    }
    out
}

pub fn group_metadata_key(group: &str) -> Vec<u8> {
    key(RECORD_TYPE_CONSUMER_GROUP_METADATA, group, None)
}
pub fn member_metadata_key(group: &str, member: &str) -> Vec<u8> {
    key(RECORD_TYPE_CONSUMER_GROUP_MEMBER_METADATA, group, Some(member))
}
pub fn target_assignment_metadata_key(group: &str) -> Vec<u8> {
    key(RECORD_TYPE_CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA, group, None)
}
pub fn target_assignment_member_key(group: &str, member: &str) -> Vec<u8> {
    key(RECORD_TYPE_CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER, group, Some(member))
}
pub fn current_assignment_key(group: &str, member: &str) -> Vec<u8> {
    key(RECORD_TYPE_CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT, group, Some(member))
}

// ---- flexible writing (compact lengths, empty tagged-field sections) ----

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_compact_string(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64 + 1);
    out.extend_from_slice(s.as_bytes());
}

fn put_compact_nullable_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => put_uvarint(out, 0),
        Some(s) => put_compact_string(out, s),
    }
}

fn put_no_tags(out: &mut Vec<u8>) {
    put_uvarint(out, 0);
}

/// `[]TopicPartitions`: topic id (uuid), partitions (`[]int32`), tagged fields.
fn put_topic_partitions(out: &mut Vec<u8>, a: &Assignment<TopicId>) {
    let topics: Vec<_> = a.iter().filter(|(_, ps)| !ps.is_empty()).collect();
    put_uvarint(out, topics.len() as u64 + 1);
    for (id, ps) in topics {
        out.extend_from_slice(id);
        put_uvarint(out, ps.len() as u64 + 1);
        for p in ps {
            put_i32(out, *p);
        }
        put_no_tags(out);
    }
}

fn epoch_value(epoch: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(7);
    put_i16(&mut out, VALUE_VERSION);
    put_i32(&mut out, epoch);
    put_no_tags(&mut out);
    out
}

/// ConsumerGroupMetadataValue: the group epoch.
pub fn group_metadata_value(epoch: i32) -> Vec<u8> {
    epoch_value(epoch)
}

/// ConsumerGroupTargetAssignmentMetadataValue: the assignment epoch.
pub fn target_assignment_metadata_value(assignment_epoch: i32) -> Vec<u8> {
    epoch_value(assignment_epoch)
}

pub fn member_metadata_value(m: &MemberMetadata) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + m.subscribed_topic_names.iter().map(|t| t.len() + 1).sum::<usize>());
    put_i16(&mut out, VALUE_VERSION);
    put_compact_nullable_string(&mut out, m.instance_id.as_deref());
    put_compact_nullable_string(&mut out, m.rack_id.as_deref());
    put_compact_string(&mut out, &m.client_id);
    put_compact_string(&mut out, &m.client_host);
    put_uvarint(&mut out, m.subscribed_topic_names.len() as u64 + 1);
    for t in &m.subscribed_topic_names {
        put_compact_string(&mut out, t);
    }
    put_compact_nullable_string(&mut out, None); // SubscribedTopicRegex: not supported here
    put_i32(&mut out, m.rebalance_timeout_ms);
    put_compact_nullable_string(&mut out, m.server_assignor.as_deref());
    put_no_tags(&mut out);
    out
}

pub fn target_assignment_member_value(partitions: &Assignment<TopicId>) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + partitions.len() * 24);
    put_i16(&mut out, VALUE_VERSION);
    put_topic_partitions(&mut out, partitions);
    put_no_tags(&mut out);
    out
}

pub fn current_assignment_value(c: &CurrentAssignment) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + (c.assigned.len() + c.pending_revocation.len()) * 24);
    put_i16(&mut out, VALUE_VERSION);
    put_i32(&mut out, c.member_epoch);
    put_i32(&mut out, c.previous_member_epoch);
    out.push(state_byte(c.state) as u8);
    put_topic_partitions(&mut out, &c.assigned);
    put_topic_partitions(&mut out, &c.pending_revocation);
    put_no_tags(&mut out);
    out
}

// ---- reading ----

fn value_version(r: &mut Reader, what: &str) -> Result<(), DecodeError> {
    let v = r.i16(what)?;
    if v != VALUE_VERSION {
        return Err(DecodeError(format!("{what}: unknown version {v}")));
    }
    Ok(())
}

fn read_topic_partitions(r: &mut Reader, what: &str) -> Result<Assignment<TopicId>, DecodeError> {
    let n = r.array_len(true, what)?;
    let mut out = Assignment::new();
    for _ in 0..n {
        let id: TopicId = r.take(16, what)?.try_into().expect("16 bytes");
        let count = r.array_len(true, what)?;
        let set = out.entry(id).or_default();
        for _ in 0..count {
            set.insert(r.i32(what)?);
        }
        r.skip_tagged(what)?;
    }
    out.retain(|_, ps| !ps.is_empty());
    Ok(out)
}

fn read_epoch(bytes: &[u8], what: &str) -> Result<i32, DecodeError> {
    let mut r = Reader::new(bytes);
    value_version(&mut r, what)?;
    let epoch = r.i32(what)?;
    r.skip_tagged(what)?;
    r.done(what)?;
    Ok(epoch)
}

fn read_member_metadata(bytes: &[u8]) -> Result<MemberMetadata, DecodeError> {
    const W: &str = "ConsumerGroupMemberMetadataValue";
    let mut r = Reader::new(bytes);
    value_version(&mut r, W)?;
    let instance_id = r.string_opt(true, "ConsumerGroupMemberMetadataValue.InstanceId")?;
    let rack_id = r.string_opt(true, "ConsumerGroupMemberMetadataValue.RackId")?;
    let client_id = r.string(true, "ConsumerGroupMemberMetadataValue.ClientId")?;
    let client_host = r.string(true, "ConsumerGroupMemberMetadataValue.ClientHost")?;
    let n = r.array_len(true, "ConsumerGroupMemberMetadataValue.SubscribedTopicNames")?;
    let mut subscribed_topic_names = Vec::with_capacity(n);
    for _ in 0..n {
        subscribed_topic_names.push(r.string(true, "ConsumerGroupMemberMetadataValue.SubscribedTopicNames")?);
    }
    let _regex = r.string_opt(true, "ConsumerGroupMemberMetadataValue.SubscribedTopicRegex")?;
    let rebalance_timeout_ms = r.i32("ConsumerGroupMemberMetadataValue.RebalanceTimeoutMs")?;
    let server_assignor = r.string_opt(true, "ConsumerGroupMemberMetadataValue.ServerAssignor")?;
    r.skip_tagged(W)?;
    r.done(W)?;
    Ok(MemberMetadata {
        instance_id,
        rack_id,
        client_id,
        client_host,
        subscribed_topic_names,
        rebalance_timeout_ms,
        server_assignor,
    })
}

fn read_target_member(bytes: &[u8]) -> Result<Assignment<TopicId>, DecodeError> {
    const W: &str = "ConsumerGroupTargetAssignmentMemberValue";
    let mut r = Reader::new(bytes);
    value_version(&mut r, W)?;
    let a = read_topic_partitions(&mut r, "ConsumerGroupTargetAssignmentMemberValue.TopicPartitions")?;
    r.skip_tagged(W)?;
    r.done(W)?;
    Ok(a)
}

fn read_current_assignment(bytes: &[u8]) -> Result<CurrentAssignment, DecodeError> {
    const W: &str = "ConsumerGroupCurrentMemberAssignmentValue";
    let mut r = Reader::new(bytes);
    value_version(&mut r, W)?;
    let member_epoch = r.i32("ConsumerGroupCurrentMemberAssignmentValue.MemberEpoch")?;
    let previous_member_epoch = r.i32("ConsumerGroupCurrentMemberAssignmentValue.PreviousMemberEpoch")?;
    let state = state_from_byte(r.i8("ConsumerGroupCurrentMemberAssignmentValue.State")?)?;
    let assigned = read_topic_partitions(&mut r, "ConsumerGroupCurrentMemberAssignmentValue.AssignedPartitions")?;
    let pending_revocation =
        read_topic_partitions(&mut r, "ConsumerGroupCurrentMemberAssignmentValue.PartitionsPendingRevocation")?;
    r.skip_tagged(W)?;
    r.done(W)?;
    Ok(CurrentAssignment { member_epoch, previous_member_epoch, state, assigned, pending_revocation })
}

/// Decodes a record of types 3–8 whose key's type was already read by `k`.
pub(super) fn decode(record_type: i16, k: &mut Reader, value: Option<&[u8]>) -> Result<ConsumerRecord, DecodeError> {
    let group = k.string(false, "ConsumerGroup key GroupId")?;
    let member = match record_type {
        RECORD_TYPE_CONSUMER_GROUP_MEMBER_METADATA
        | RECORD_TYPE_CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER
        | RECORD_TYPE_CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT => k.string(false, "ConsumerGroup key MemberId")?,
        _ => String::new(),
    };
    k.done("ConsumerGroup key")?;
    Ok(match record_type {
        RECORD_TYPE_CONSUMER_GROUP_METADATA => ConsumerRecord::GroupMetadata {
            group,
            epoch: value.map(|v| read_epoch(v, "ConsumerGroupMetadataValue")).transpose()?,
        },
        RECORD_TYPE_CONSUMER_GROUP_PARTITION_METADATA => ConsumerRecord::PartitionMetadata { group },
        RECORD_TYPE_CONSUMER_GROUP_MEMBER_METADATA => {
            ConsumerRecord::MemberMetadata { group, member, value: value.map(read_member_metadata).transpose()? }
        }
        RECORD_TYPE_CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA => ConsumerRecord::TargetAssignmentMetadata {
            group,
            assignment_epoch: value.map(|v| read_epoch(v, "ConsumerGroupTargetAssignmentMetadataValue")).transpose()?,
        },
        RECORD_TYPE_CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER => ConsumerRecord::TargetAssignmentMember {
            group,
            member,
            partitions: value.map(read_target_member).transpose()?,
        },
        _ => {
            ConsumerRecord::CurrentAssignment { group, member, value: value.map(read_current_assignment).transpose()? }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::group_records::{self as rec, CoordinatorRecord};
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn a(spec: &[(u8, &[i32])]) -> Assignment<TopicId> {
        spec.iter().map(|(t, ps)| ([*t; 16], ps.iter().copied().collect())).collect()
    }

    #[test]
    fn records_have_kafkas_bytes_and_round_trip() {
        // Key type 3, "g"; value version 0, epoch 7, no tagged fields.
        assert_eq!(hex(&group_metadata_key("g")), "0003000167");
        assert_eq!(hex(&group_metadata_value(7)), "00000000000700");
        assert_eq!(
            rec::decode(&group_metadata_key("g"), Some(&group_metadata_value(7))).unwrap(),
            CoordinatorRecord::Consumer(ConsumerRecord::GroupMetadata { group: "g".into(), epoch: Some(7) })
        );
        // Key type 8, "g", "m".
        assert_eq!(hex(&current_assignment_key("g", "m")), "00080001670001".to_string() + "6d");
        let c = CurrentAssignment {
            member_epoch: 3,
            previous_member_epoch: 2,
            state: MemberState::UnrevokedPartitions,
            assigned: a(&[(1, &[0, 2])]),
            pending_revocation: a(&[(2, &[5])]),
        };
        let bytes = current_assignment_value(&c);
        // version, epochs, state 1, one topic (compact 2): id, two partitions (compact 3).
        assert!(hex(&bytes).starts_with(
            &("0000".to_string()
                + "00000003"
                + "00000002"
                + "01"
                + "02"
                + &"01".repeat(16)
                + "03"
                + "00000000"
                + "00000002"
                + "00")
        ));
        assert_eq!(
            rec::decode(&current_assignment_key("g", "m"), Some(&bytes)).unwrap(),
            CoordinatorRecord::Consumer(ConsumerRecord::CurrentAssignment {
                group: "g".into(),
                member: "m".into(),
                value: Some(c)
            })
        );
        let m = MemberMetadata {
            instance_id: Some("i".into()),
            rack_id: None,
            client_id: "c".into(),
            client_host: "/1.2.3.4".into(),
            subscribed_topic_names: vec!["t1".into(), "t2".into()],
            rebalance_timeout_ms: 300_000,
            server_assignor: Some("uniform".into()),
        };
        let back = rec::decode(&member_metadata_key("g", "m"), Some(&member_metadata_value(&m))).unwrap();
        assert_eq!(
            back,
            CoordinatorRecord::Consumer(ConsumerRecord::MemberMetadata {
                group: "g".into(),
                member: "m".into(),
                value: Some(m)
            })
        );
        let t = a(&[(9, &[1])]);
        let back =
            rec::decode(&target_assignment_member_key("g", "m"), Some(&target_assignment_member_value(&t))).unwrap();
        assert_eq!(
            back,
            CoordinatorRecord::Consumer(ConsumerRecord::TargetAssignmentMember {
                group: "g".into(),
                member: "m".into(),
                partitions: Some(t)
            })
        );
        let tomb = rec::decode(&target_assignment_metadata_key("g"), None).unwrap();
        assert_eq!(
            tomb,
            CoordinatorRecord::Consumer(ConsumerRecord::TargetAssignmentMetadata {
                group: "g".into(),
                assignment_epoch: None
            })
        );
    }

    #[test]
    fn later_tagged_fields_are_skipped_and_corruption_is_named() {
        // Kafka 4.1's metadata hash (tag 0, 8 bytes) in the group record.
        let mut v = vec![0u8, 0, 0, 0, 0, 4, 1, 0, 8];
        v.extend_from_slice(&42i64.to_be_bytes());
        assert_eq!(read_epoch(&v, "x").unwrap(), 4);
        let e = rec::decode(&current_assignment_key("g", "m"), Some(&[0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 9])).unwrap_err();
        assert!(e.0.contains("member state 9"), "{e}");
        let e = rec::decode(&member_metadata_key("g", "m"), Some(&[0, 1])).unwrap_err();
        assert!(e.0.contains("unknown version 1"), "{e}");
    }
}
