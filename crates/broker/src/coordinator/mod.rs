//! Coordinators: the group coordinator (`group.rs`, its `__consumer_offsets` records in
//! `group_records.rs`; KIP-848 consumer groups in `consumer_group.rs`, `assignor.rs` and
//! `consumer_records.rs`), and the transaction coordinator's state machine (`txn.rs`; its service
//! arrives with the rest of issue 6).
pub mod assignor;
pub mod group;
pub mod group_records;
pub mod consumer_group;
pub mod consumer_records;
// Not yet called outside its tests: the coordinator service that drives it is the next step.
#[allow(dead_code)]
pub mod txn;
#[allow(dead_code)]
pub mod txn_markers;
pub mod wire;

/// Java's `String.hashCode` over UTF-16 code units: Kafka places a group or a transactional id on
/// a partition of its internal topic by it, so the same id lands on the same partition number.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}
