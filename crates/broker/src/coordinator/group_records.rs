//! The group coordinator's records in `__consumer_offsets`, byte for byte in Apache Kafka's
//! layout (`GroupCoordinatorRecordSerde` over the `OffsetCommitKey`/`OffsetCommitValue` and
//! `GroupMetadataKey`/`GroupMetadataValue` schemas), so Kafka's own tools
//! (`kafka-console-consumer --formatter ...OffsetsMessageFormatter`) read what Oxbow writes and
//! Oxbow loads what Kafka wrote.
//!
//! A key is an int16 record type followed by the key fields (never flexible); a value is an int16
//! version followed by the value fields; a tombstone is a key with a null value.
//!
//! | type | key | value versions read | version written |
//! |---|---|---|---|
//! | 0, 1 | OffsetCommitKey: group, topic, partition | OffsetCommitValue 0–4 | 3 |
//! | 2 | GroupMetadataKey: group | GroupMetadataValue 0–4 | 3 |
//!
//! Kafka writes the highest non-flexible value versions (3) and so does Oxbow; version 4 (the first
//! flexible one, compact strings and tagged fields) is read too. The KIP-848 consumer group's
//! records (types 3–8) are laid out in `consumer_records`; other record types (share and streams
//! groups) decode as [`CoordinatorRecord::Other`]: the loader skips them with a warning rather
//! than failing, since this coordinator does not serve those groups.
//!
//! Also here: the control record key of a transaction marker (`EndTxnMarker` batches), which the
//! loader needs to complete or drop transactional offsets. Pure code: no I/O, no clock.

pub use super::wire::DecodeError;
use super::wire::{put_bytes, put_i16, put_i32, put_i64, put_nullable_string, put_string, Reader};
use bytes::{Bytes, BytesMut};
use oxbow_log::record::{encode_batch, BatchSpec, Record};

/// Record types (the key's leading int16). Kafka 4.x calls type 1 `OffsetCommitKey`'s api key;
/// type 0 is the legacy key version of the same record.
pub const RECORD_TYPE_OFFSET_COMMIT_LEGACY: i16 = 0;
pub const RECORD_TYPE_OFFSET_COMMIT: i16 = 1;
pub const RECORD_TYPE_GROUP_METADATA: i16 = 2;

/// The value versions Kafka 4.x writes (`GroupCoordinatorRecordHelpers`).
pub const OFFSET_COMMIT_VALUE_VERSION: i16 = 3;
pub const GROUP_METADATA_VALUE_VERSION: i16 = 3;
/// Highest value version of either schema this reader understands.
const VALUE_VERSION_MAX: i16 = 4;

/// Control record types in an `EndTxnMarker` batch's key (Kafka's `ControlRecordType`).
pub const CONTROL_ABORT: i16 = 0;
pub const CONTROL_COMMIT: i16 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitValue {
    pub offset: i64,
    /// -1 when unknown (versions before 3 do not carry it).
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp_ms: i64,
    /// Version 1 only (pre-KIP-211 per-commit retention); `None` otherwise.
    pub expire_timestamp_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberMetadata {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout_ms: i32,
    pub session_timeout_ms: i32,
    pub subscription: Bytes,
    pub assignment: Bytes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMetadataValue {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    /// When the group entered its current state; -1 when unknown (versions before 2).
    pub current_state_timestamp_ms: i64,
    pub members: Vec<MemberMetadata>,
}

/// One decoded `__consumer_offsets` record. `None` values are tombstones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorRecord {
    OffsetCommit {
        group: String,
        topic: String,
        partition: i32,
        value: Option<OffsetCommitValue>,
    },
    GroupMetadata {
        group: String,
        value: Option<GroupMetadataValue>,
    },
    /// A KIP-848 consumer group record (types 3–8, `consumer_records`).
    Consumer(super::consumer_records::ConsumerRecord),
    /// A record type this coordinator does not serve (share and streams groups, ...).
    Other {
        record_type: i16,
    },
}

pub fn offset_commit_key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut out = Vec::with_capacity(10 + group.len() + topic.len());
    put_i16(&mut out, RECORD_TYPE_OFFSET_COMMIT);
    put_string(&mut out, group);
    put_string(&mut out, topic);
    put_i32(&mut out, partition);
    out
}

pub fn group_metadata_key(group: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + group.len());
    put_i16(&mut out, RECORD_TYPE_GROUP_METADATA);
    put_string(&mut out, group);
    out
}

/// Version 3 (version 1 when an expire timestamp is set, as Kafka does).
pub fn offset_commit_value(v: &OffsetCommitValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + v.metadata.len());
    match v.expire_timestamp_ms {
        Some(expire) => {
            put_i16(&mut out, 1);
            put_i64(&mut out, v.offset);
            put_string(&mut out, &v.metadata);
            put_i64(&mut out, v.commit_timestamp_ms);
            put_i64(&mut out, expire);
        }
        None => {
            put_i16(&mut out, OFFSET_COMMIT_VALUE_VERSION);
            put_i64(&mut out, v.offset);
            put_i32(&mut out, v.leader_epoch);
            put_string(&mut out, &v.metadata);
            put_i64(&mut out, v.commit_timestamp_ms);
        }
    }
    out
}

/// Version 3.
pub fn group_metadata_value(v: &GroupMetadataValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        64 + v.members.iter().map(|m| 64 + m.subscription.len() + m.assignment.len()).sum::<usize>(),
    );
    put_i16(&mut out, GROUP_METADATA_VALUE_VERSION);
    put_string(&mut out, &v.protocol_type);
    put_i32(&mut out, v.generation);
    put_nullable_string(&mut out, v.protocol.as_deref());
    put_nullable_string(&mut out, v.leader.as_deref());
    put_i64(&mut out, v.current_state_timestamp_ms);
    put_i32(&mut out, v.members.len() as i32);
    for m in &v.members {
        put_string(&mut out, &m.member_id);
        put_nullable_string(&mut out, m.group_instance_id.as_deref());
        put_string(&mut out, &m.client_id);
        put_string(&mut out, &m.client_host);
        put_i32(&mut out, m.rebalance_timeout_ms);
        put_i32(&mut out, m.session_timeout_ms);
        put_bytes(&mut out, &m.subscription);
        put_bytes(&mut out, &m.assignment);
    }
    out
}

/// The key and value of one record to append (value `None`: a tombstone).
pub type KeyValue = (Vec<u8>, Option<Vec<u8>>);

/// A producer writing transactionally: its id and epoch go into the batch header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnProducer {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

/// One uncompressed v2 batch of `records` (at least one), stamped `now_ms`; transactional with the
/// producer's id and epoch when `txn` is given (no sequence, as Kafka's coordinator writes it).
pub fn batch(records: &[KeyValue], now_ms: i64, txn: Option<TxnProducer>) -> BytesMut {
    let recs: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            attributes: 0,
            timestamp_delta: 0,
            offset_delta: i as i32,
            key: Some(Bytes::copy_from_slice(k)),
            value: v.as_ref().map(|v| Bytes::copy_from_slice(v)),
            headers: Vec::new(),
        })
        .collect();
    let mut spec = BatchSpec::simple(recs.len().saturating_sub(1) as i32, now_ms, now_ms);
    if let Some(t) = txn {
        spec.transactional = true;
        spec.producer_id = t.producer_id;
        spec.producer_epoch = t.producer_epoch;
    }
    // Encoding an uncompressed batch cannot fail (compression is the only fallible step).
    BytesMut::from(&encode_batch(&spec, &recs).expect("an uncompressed batch encodes")[..])
}

// ---- decoding ----

/// Decodes one `__consumer_offsets` record.
pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<CoordinatorRecord, DecodeError> {
    let mut k = Reader::new(key);
    let record_type = k.i16("record type")?;
    match record_type {
        RECORD_TYPE_OFFSET_COMMIT_LEGACY | RECORD_TYPE_OFFSET_COMMIT => {
            let group = k.string(false, "OffsetCommitKey.group")?;
            let topic = k.string(false, "OffsetCommitKey.topic")?;
            let partition = k.i32("OffsetCommitKey.partition")?;
            k.done("OffsetCommitKey")?;
            let value = value.map(decode_offset_commit_value).transpose()?;
            Ok(CoordinatorRecord::OffsetCommit { group, topic, partition, value })
        }
        RECORD_TYPE_GROUP_METADATA => {
            let group = k.string(false, "GroupMetadataKey.group")?;
            k.done("GroupMetadataKey")?;
            let value = value.map(decode_group_metadata_value).transpose()?;
            Ok(CoordinatorRecord::GroupMetadata { group, value })
        }
        3..=8 => Ok(CoordinatorRecord::Consumer(super::consumer_records::decode(record_type, &mut k, value)?)),
        other => Ok(CoordinatorRecord::Other { record_type: other }),
    }
}

fn value_version(r: &mut Reader, what: &str) -> Result<i16, DecodeError> {
    let v = r.i16(what)?;
    if !(0..=VALUE_VERSION_MAX).contains(&v) {
        return Err(DecodeError(format!("{what}: unknown version {v}")));
    }
    Ok(v)
}

pub fn decode_offset_commit_value(bytes: &[u8]) -> Result<OffsetCommitValue, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = value_version(&mut r, "OffsetCommitValue version")?;
    let flexible = v >= 4;
    let offset = r.i64("OffsetCommitValue.offset")?;
    let leader_epoch = if v >= 3 { r.i32("OffsetCommitValue.leaderEpoch")? } else { -1 };
    let metadata = r.string(flexible, "OffsetCommitValue.metadata")?;
    let commit_timestamp_ms = r.i64("OffsetCommitValue.commitTimestamp")?;
    let expire_timestamp_ms = if v == 1 { Some(r.i64("OffsetCommitValue.expireTimestamp")?) } else { None };
    if flexible {
        r.skip_tagged("OffsetCommitValue tagged fields")?;
    }
    r.done("OffsetCommitValue")?;
    Ok(OffsetCommitValue { offset, leader_epoch, metadata, commit_timestamp_ms, expire_timestamp_ms })
}

pub fn decode_group_metadata_value(bytes: &[u8]) -> Result<GroupMetadataValue, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = value_version(&mut r, "GroupMetadataValue version")?;
    let flexible = v >= 4;
    let protocol_type = r.string(flexible, "GroupMetadataValue.protocolType")?;
    let generation = r.i32("GroupMetadataValue.generation")?;
    let protocol = r.string_opt(flexible, "GroupMetadataValue.protocol")?;
    let leader = r.string_opt(flexible, "GroupMetadataValue.leader")?;
    let current_state_timestamp_ms = if v >= 2 { r.i64("GroupMetadataValue.currentStateTimestamp")? } else { -1 };
    let n = r.array_len(flexible, "GroupMetadataValue.members")?;
    let mut members = Vec::with_capacity(n);
    for _ in 0..n {
        let member_id = r.string(flexible, "MemberMetadata.memberId")?;
        let group_instance_id = if v >= 3 { r.string_opt(flexible, "MemberMetadata.groupInstanceId")? } else { None };
        let client_id = r.string(flexible, "MemberMetadata.clientId")?;
        let client_host = r.string(flexible, "MemberMetadata.clientHost")?;
        let rebalance_timeout_ms = if v >= 1 { r.i32("MemberMetadata.rebalanceTimeout")? } else { -1 };
        let session_timeout_ms = r.i32("MemberMetadata.sessionTimeout")?;
        // Version 0 had no rebalance timeout: Kafka uses the session timeout.
        let rebalance_timeout_ms = if rebalance_timeout_ms < 0 { session_timeout_ms } else { rebalance_timeout_ms };
        let subscription = r.bytes(flexible, "MemberMetadata.subscription")?;
        let assignment = r.bytes(flexible, "MemberMetadata.assignment")?;
        if flexible {
            r.skip_tagged("MemberMetadata tagged fields")?;
        }
        members.push(MemberMetadata {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout_ms,
            session_timeout_ms,
            subscription,
            assignment,
        });
    }
    if flexible {
        r.skip_tagged("GroupMetadataValue tagged fields")?;
    }
    r.done("GroupMetadataValue")?;
    Ok(GroupMetadataValue { protocol_type, generation, protocol, leader, current_state_timestamp_ms, members })
}

/// The control type of a transaction marker's key (version int16, type int16): commit or abort.
pub fn decode_control_type(key: &[u8]) -> Result<i16, DecodeError> {
    let mut r = Reader::new(key);
    let _version = r.i16("control record version")?;
    let t = r.i16("control record type")?;
    match t {
        CONTROL_ABORT | CONTROL_COMMIT => Ok(t),
        other => Err(DecodeError(format!("control record type {other} is neither ABORT (0) nor COMMIT (1)"))),
    }
}

/// Topics a `consumer` protocol member subscribes to, from its JoinGroup metadata (Kafka's
/// `ConsumerProtocolSubscription`, any version: the topic list comes first in all of them).
/// `None` when the bytes are not a consumer subscription.
pub fn subscribed_topics(metadata: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader::new(metadata);
    let version = r.i16("subscription version").ok()?;
    if version < 0 {
        return None;
    }
    let n = r.array_len(false, "subscription topics").ok()?;
    let mut topics = Vec::with_capacity(n);
    for _ in 0..n {
        topics.push(r.string(false, "subscription topic").ok()?);
    }
    Some(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn offset_commit_records_have_kafkas_bytes() {
        // Key type 1, "g", "t", partition 3.
        assert_eq!(hex(&offset_commit_key("g", "t", 3)), "0001000167000174".to_string() + "00000003");
        let v = OffsetCommitValue {
            offset: 42,
            leader_epoch: 7,
            metadata: "m".into(),
            commit_timestamp_ms: 1000,
            expire_timestamp_ms: None,
        };
        // Version 3: offset i64, leaderEpoch i32, metadata string, commitTimestamp i64.
        assert_eq!(
            hex(&offset_commit_value(&v)),
            "0003".to_string() + "000000000000002a" + "00000007" + "00016d" + "00000000000003e8"
        );
        let back = decode(&offset_commit_key("g", "t", 3), Some(&offset_commit_value(&v))).unwrap();
        assert_eq!(
            back,
            CoordinatorRecord::OffsetCommit { group: "g".into(), topic: "t".into(), partition: 3, value: Some(v) }
        );
        let tomb = decode(&offset_commit_key("g", "t", 3), None).unwrap();
        assert_eq!(
            tomb,
            CoordinatorRecord::OffsetCommit { group: "g".into(), topic: "t".into(), partition: 3, value: None }
        );
    }

    #[test]
    fn older_and_flexible_offset_values_decode() {
        // Version 1 (KIP-211's predecessor): offset, metadata, commit and expire timestamps.
        let v1 = [&[0u8, 1][..], &5i64.to_be_bytes(), &[0, 0], &9i64.to_be_bytes(), &99i64.to_be_bytes()].concat();
        let d = decode_offset_commit_value(&v1).unwrap();
        assert_eq!(
            (d.offset, d.leader_epoch, d.metadata.as_str(), d.commit_timestamp_ms, d.expire_timestamp_ms),
            (5, -1, "", 9, Some(99))
        );
        // Version 4: compact string (length + 1) and an empty tagged-field section.
        let v4 = [&[0u8, 4][..], &6i64.to_be_bytes(), &2i32.to_be_bytes(), &[3, b'a', b'b'], &8i64.to_be_bytes(), &[0]]
            .concat();
        let d = decode_offset_commit_value(&v4).unwrap();
        assert_eq!((d.offset, d.leader_epoch, d.metadata.as_str(), d.commit_timestamp_ms), (6, 2, "ab", 8));
        // And with one unknown tagged field (tag 0, 3 bytes), which is skipped.
        let v4t =
            [&[0u8, 4][..], &6i64.to_be_bytes(), &2i32.to_be_bytes(), &[1], &8i64.to_be_bytes(), &[1, 0, 3, 1, 2, 3]]
                .concat();
        assert_eq!(decode_offset_commit_value(&v4t).unwrap().metadata, "");
    }

    #[test]
    fn group_metadata_round_trips_in_version_3() {
        let v = GroupMetadataValue {
            protocol_type: "consumer".into(),
            generation: 5,
            protocol: Some("range".into()),
            leader: Some("m1".into()),
            current_state_timestamp_ms: 1234,
            members: vec![MemberMetadata {
                member_id: "m1".into(),
                group_instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout_ms: 300_000,
                session_timeout_ms: 45_000,
                subscription: Bytes::from_static(b"sub"),
                assignment: Bytes::from_static(b"asg"),
            }],
        };
        let bytes = group_metadata_value(&v);
        // version, "consumer", generation 5, "range", "m1", timestamp, 1 member.
        assert!(hex(&bytes).starts_with(
            &("0003".to_string()
                + "0008"
                + &hex(b"consumer")
                + "00000005"
                + "0005"
                + &hex(b"range")
                + "0002"
                + &hex(b"m1")
                + "00000000000004d2"
                + "00000001")
        ));
        assert_eq!(
            decode(&group_metadata_key("grp"), Some(&bytes)).unwrap(),
            CoordinatorRecord::GroupMetadata { group: "grp".into(), value: Some(v.clone()) }
        );
        assert_eq!(hex(&group_metadata_key("grp")), "00020003".to_string() + &hex(b"grp"));
        // An empty group (Kafka's newEmptyGroupMetadataRecord): null protocol and leader.
        let empty = GroupMetadataValue {
            protocol_type: String::new(),
            generation: 0,
            protocol: None,
            leader: None,
            current_state_timestamp_ms: 1,
            members: vec![],
        };
        assert_eq!(decode_group_metadata_value(&group_metadata_value(&empty)).unwrap(), empty);
    }

    #[test]
    fn version_0_group_metadata_takes_the_session_timeout_as_rebalance_timeout() {
        let mut b = vec![0u8, 0];
        b.extend_from_slice(&8i16.to_be_bytes());
        b.extend_from_slice(b"consumer");
        b.extend_from_slice(&1i32.to_be_bytes());
        b.extend_from_slice(&(-1i16).to_be_bytes()); // protocol null
        b.extend_from_slice(&(-1i16).to_be_bytes()); // leader null
        b.extend_from_slice(&1i32.to_be_bytes()); // one member
        for s in ["m", "c", "h"] {
            b.extend_from_slice(&(s.len() as i16).to_be_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        b.extend_from_slice(&10_000i32.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        let d = decode_group_metadata_value(&b).unwrap();
        assert_eq!(
            (d.members[0].rebalance_timeout_ms, d.members[0].session_timeout_ms, d.current_state_timestamp_ms),
            (10_000, 10_000, -1)
        );
    }

    #[test]
    fn corrupt_records_are_errors_naming_the_field() {
        let e = decode(&[0, 1, 0, 5, b'g'], None).unwrap_err();
        assert!(e.0.contains("OffsetCommitKey.group"), "{e}");
        let e = decode_offset_commit_value(&[0, 9]).unwrap_err();
        assert!(e.0.contains("unknown version 9"), "{e}");
        let mut lying = vec![0u8, 3];
        lying.extend_from_slice(&0i16.to_be_bytes());
        lying.extend_from_slice(&1i32.to_be_bytes());
        lying.extend_from_slice(&(-1i16).to_be_bytes());
        lying.extend_from_slice(&(-1i16).to_be_bytes());
        lying.extend_from_slice(&0i64.to_be_bytes());
        lying.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode_group_metadata_value(&lying).unwrap_err().0.contains("members"));
        assert_eq!(decode(&[0, 12, 1, 2], Some(b"x")).unwrap(), CoordinatorRecord::Other { record_type: 12 });
        assert!(decode_control_type(&[0, 0, 0, 7]).is_err());
        assert_eq!(decode_control_type(&[0, 0, 0, 1]).unwrap(), CONTROL_COMMIT);
    }

    #[test]
    fn batches_are_valid_and_transactional_when_asked() {
        let recs = vec![
            (
                offset_commit_key("g", "t", 0),
                Some(offset_commit_value(&OffsetCommitValue {
                    offset: 1,
                    leader_epoch: -1,
                    metadata: String::new(),
                    commit_timestamp_ms: 5,
                    expire_timestamp_ms: None,
                })),
            ),
            (group_metadata_key("g"), None),
        ];
        let b = batch(&recs, 5, Some(TxnProducer { producer_id: 77, producer_epoch: 3 }));
        let h = oxbow_log::batch::BatchHeader::parse(&b).unwrap();
        assert!(h.is_transactional() && !h.is_control());
        assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence, h.records_count), (77, 3, -1, 2));
        assert!(oxbow_log::batch::crc_is_valid(&b));
        let decoded = oxbow_log::record::decode_records(&b).unwrap();
        assert_eq!(decoded[1].value, None);
        assert_eq!(decoded[0].key.as_deref(), Some(&offset_commit_key("g", "t", 0)[..]));
        let plain = oxbow_log::batch::BatchHeader::parse(&batch(&recs, 5, None)).unwrap();
        assert!(!plain.is_transactional() && !plain.has_producer_id());
    }

    #[test]
    fn consumer_subscriptions_name_their_topics() {
        let mut b = vec![0u8, 1];
        b.extend_from_slice(&2i32.to_be_bytes());
        for t in ["a", "bb"] {
            b.extend_from_slice(&(t.len() as i16).to_be_bytes());
            b.extend_from_slice(t.as_bytes());
        }
        b.extend_from_slice(&(-1i32).to_be_bytes()); // user data null: not read
        assert_eq!(subscribed_topics(&b), Some(vec!["a".to_string(), "bb".to_string()]));
        assert_eq!(subscribed_topics(b"x"), None);
    }
}
