//! One module per Kafka API (like franz-go's kfake), the table of supported versions, and the
//! dispatcher.
//!
//! [`SUPPORTED`] is the single source of truth: ApiVersions advertises exactly these ranges and
//! the frame decoder refuses anything outside them. The floors follow Apache Kafka 4.x (KIP-896
//! dropped older versions); ceilings are what this broker can honour. Not advertised on purpose:
//! SASL (no authentication yet), EndTxn v5 and the `transaction.version` feature (KIP-890 part 2:
//! clients then use transaction protocol version 1), ListTransactions v2 (KIP-1152),
//! DescribeTopicPartitions (tools fall back to Metadata),
//! Produce v13 (topic ids only).

use crate::broker::BrokerState;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use std::sync::Arc;

pub(crate) mod add_offsets_to_txn;
pub(crate) mod add_partitions_to_txn;
pub(crate) mod alter_configs;
pub(crate) mod alter_partition_reassignments;
pub(crate) mod api_versions;
pub(crate) mod consumer_group_describe;
pub(crate) mod consumer_group_heartbeat;
pub(crate) mod create_partitions;
pub(crate) mod create_topics;
pub(crate) mod delete_groups;
pub(crate) mod delete_records;
pub(crate) mod delete_topics;
pub(crate) mod describe_cluster;
pub(crate) mod describe_configs;
pub(crate) mod describe_groups;
pub(crate) mod describe_log_dirs;
pub(crate) mod describe_producers;
pub(crate) mod describe_transactions;
pub(crate) mod elect_leaders;
pub(crate) mod end_txn;
pub(crate) mod fetch;
pub(crate) mod find_coordinator;
pub(crate) mod heartbeat;
pub(crate) mod incremental_alter_configs;
pub(crate) mod init_producer_id;
pub(crate) mod join_group;
pub(crate) mod leave_group;
pub(crate) mod list_groups;
pub(crate) mod list_offsets;
pub(crate) mod list_partition_reassignments;
pub(crate) mod list_transactions;
pub(crate) mod metadata;
pub(crate) mod offset_commit;
pub(crate) mod offset_delete;
pub(crate) mod offset_fetch;
pub(crate) mod offset_for_leader_epoch;
pub(crate) mod produce;
pub(crate) mod sync_group;
pub(crate) mod txn_offset_commit;
pub(crate) mod write_txn_markers;

/// (API, lowest supported version, highest supported version).
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 17),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeCluster, 0, 2),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::AlterPartitionReassignments, 0, 1),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::AddPartitionsToTxn, 0, 5),
    (ApiKey::AddOffsetsToTxn, 0, 4),
    (ApiKey::EndTxn, 0, 4),
    (ApiKey::WriteTxnMarkers, 1, 1),
    (ApiKey::TxnOffsetCommit, 0, 5),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 1),
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
];

/// The supported version range of an API, if it is supported at all.
pub fn supported_range(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED.iter().find(|(k, _, _)| *k == key).map(|(_, lo, hi)| (*lo, *hi))
}

/// Per-request context handed to every handler.
pub(crate) struct Ctx {
    pub broker: Arc<BrokerState>,
    /// Kafka reports client hosts as "/1.2.3.4".
    pub client_host: String,
    /// The connection's Fetch read buffer, kept between fetches (see `fetch`). A connection
    /// handles one request at a time, so this lock is never contended.
    pub fetch_buffer: std::sync::Mutex<bytes::BytesMut>,
}

impl Ctx {
    pub fn client_id(header: &RequestHeader) -> String {
        header.client_id.as_ref().map(|s| s.to_string()).unwrap_or_default()
    }
}

/// Clients older than KIP-588 (below `first_version`) do not know PRODUCER_FENCED: Kafka answers
/// them INVALID_PRODUCER_EPOCH, which they handle the same way.
pub(crate) fn fenced_for_version(code: i16, version: i16, first_version: i16) -> i16 {
    if code == crate::codes::PRODUCER_FENCED && version < first_version {
        crate::codes::INVALID_PRODUCER_EPOCH
    } else {
        code
    }
}

pub(crate) fn s(v: impl Into<String>) -> StrBytes {
    StrBytes::from_string(v.into())
}

/// What the connection does after a request. (One per request, never stored: size is fine.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Reply {
    Send(ResponseKind),
    /// acks=0 produce: Kafka sends nothing back.
    Nothing,
    /// Close the connection (a request this broker cannot answer, a failed acks=0 produce).
    Close,
}

/// Dispatches a decoded request.
pub(crate) async fn dispatch(ctx: &Ctx, header: &RequestHeader, request: RequestKind) -> Reply {
    let v = header.request_api_version;
    Reply::Send(match request {
        RequestKind::ApiVersions(r) => ResponseKind::ApiVersions(api_versions::handle(ctx, v, r)),
        RequestKind::Metadata(r) => ResponseKind::Metadata(metadata::handle(ctx, v, r).await),
        RequestKind::Produce(r) => match produce::handle(ctx, v, r).await {
            produce::ProduceReply::Respond(resp) => ResponseKind::Produce(resp),
            produce::ProduceReply::Nothing => return Reply::Nothing,
            produce::ProduceReply::Close => return Reply::Close,
        },
        RequestKind::Fetch(r) => match fetch::handle(ctx, v, r).await {
            Some(resp) => ResponseKind::Fetch(resp),
            None => return Reply::Close,
        },
        RequestKind::ListOffsets(r) => ResponseKind::ListOffsets(list_offsets::handle(ctx, v, r)),
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(create_topics::handle(ctx, v, r).await),
        RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(delete_topics::handle(ctx, v, r).await),
        RequestKind::CreatePartitions(r) => ResponseKind::CreatePartitions(create_partitions::handle(ctx, v, r).await),
        RequestKind::InitProducerId(r) => ResponseKind::InitProducerId(init_producer_id::handle(ctx, v, r).await),
        RequestKind::OffsetForLeaderEpoch(r) => {
            ResponseKind::OffsetForLeaderEpoch(offset_for_leader_epoch::handle(ctx, v, r))
        }
        RequestKind::DescribeConfigs(r) => ResponseKind::DescribeConfigs(describe_configs::handle(ctx, v, r)),
        RequestKind::AlterConfigs(r) => ResponseKind::AlterConfigs(alter_configs::handle(ctx, v, r).await),
        RequestKind::IncrementalAlterConfigs(r) => {
            ResponseKind::IncrementalAlterConfigs(incremental_alter_configs::handle(ctx, v, r).await)
        }
        RequestKind::DeleteRecords(r) => ResponseKind::DeleteRecords(delete_records::handle(ctx, v, r)),
        RequestKind::DescribeCluster(r) => ResponseKind::DescribeCluster(describe_cluster::handle(ctx, v, r)),
        RequestKind::AlterPartitionReassignments(r) => {
            ResponseKind::AlterPartitionReassignments(alter_partition_reassignments::handle(ctx, v, r).await)
        }
        RequestKind::ListPartitionReassignments(r) => {
            ResponseKind::ListPartitionReassignments(list_partition_reassignments::handle(ctx, v, r))
        }
        RequestKind::ElectLeaders(r) => ResponseKind::ElectLeaders(elect_leaders::handle(ctx, v, r).await),
        RequestKind::DescribeLogDirs(r) => ResponseKind::DescribeLogDirs(describe_log_dirs::handle(ctx, v, r)),
        RequestKind::FindCoordinator(r) => ResponseKind::FindCoordinator(find_coordinator::handle(ctx, v, r).await),
        RequestKind::DescribeProducers(r) => ResponseKind::DescribeProducers(describe_producers::handle(ctx, v, r)),
        RequestKind::JoinGroup(r) => ResponseKind::JoinGroup(join_group::handle(ctx, header, r).await),
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(sync_group::handle(ctx, v, r).await),
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(heartbeat::handle(ctx, v, r)),
        RequestKind::LeaveGroup(r) => ResponseKind::LeaveGroup(leave_group::handle(ctx, v, r)),
        RequestKind::OffsetCommit(r) => ResponseKind::OffsetCommit(offset_commit::handle(ctx, v, r).await),
        RequestKind::DeleteGroups(r) => ResponseKind::DeleteGroups(delete_groups::handle(ctx, v, r).await),
        RequestKind::OffsetDelete(r) => ResponseKind::OffsetDelete(offset_delete::handle(ctx, v, r).await),
        RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(offset_fetch::handle(ctx, v, r)),
        RequestKind::ListGroups(r) => ResponseKind::ListGroups(list_groups::handle(ctx, v, r)),
        RequestKind::DescribeGroups(r) => ResponseKind::DescribeGroups(describe_groups::handle(ctx, v, r)),
        RequestKind::AddPartitionsToTxn(r) => {
            ResponseKind::AddPartitionsToTxn(add_partitions_to_txn::handle(ctx, v, r).await)
        }
        RequestKind::AddOffsetsToTxn(r) => ResponseKind::AddOffsetsToTxn(add_offsets_to_txn::handle(ctx, v, r).await),
        RequestKind::EndTxn(r) => ResponseKind::EndTxn(end_txn::handle(ctx, v, r).await),
        RequestKind::WriteTxnMarkers(r) => ResponseKind::WriteTxnMarkers(write_txn_markers::handle(ctx, v, r).await),
        RequestKind::TxnOffsetCommit(r) => ResponseKind::TxnOffsetCommit(txn_offset_commit::handle(ctx, v, r).await),
        RequestKind::DescribeTransactions(r) => {
            ResponseKind::DescribeTransactions(describe_transactions::handle(ctx, v, r))
        }
        RequestKind::ListTransactions(r) => ResponseKind::ListTransactions(list_transactions::handle(ctx, v, r)),
        RequestKind::ConsumerGroupHeartbeat(r) => {
            ResponseKind::ConsumerGroupHeartbeat(consumer_group_heartbeat::handle(ctx, header, r).await)
        }
        RequestKind::ConsumerGroupDescribe(r) => {
            ResponseKind::ConsumerGroupDescribe(consumer_group_describe::handle(ctx, v, r))
        }
        other => {
            // The frame decoder only lets supported APIs through; reaching here is a bug in the table.
            tracing::error!(api = ?ApiKey::try_from(header.request_api_key).ok(), "no handler for a supported API; closing connection");
            drop(other);
            return Reply::Close;
        }
    })
}
