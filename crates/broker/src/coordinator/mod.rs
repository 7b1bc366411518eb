//! Coordinators: the group coordinator (`group.rs`, its `__consumer_offsets` records in
//! `group_records.rs`; KIP-848 consumer groups in `consumer_group.rs`, `assignor.rs` and
//! `consumer_records.rs`), and the transaction coordinator (`txn_coordinator.rs`, the service over
//! its state machine and `__transaction_state` records in `txn.rs` and its marker writer in
//! `txn_markers.rs`).
pub mod assignor;
pub mod consumer_group;
pub mod consumer_records;
pub mod group;
pub mod group_records;
pub mod txn;
pub mod txn_coordinator;
pub mod txn_markers;
pub mod wire;

/// Java's `String.hashCode` over UTF-16 code units: Kafka places a group or a transactional id on
/// a partition of its internal topic by it, so the same id lands on the same partition number.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}
