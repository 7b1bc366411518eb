//! TxnOffsetCommit (key 28, v0–v5): a transactional producer's consumed offsets, written by the
//! group coordinator (`GroupCoordinator::txn_offset_commit`) to the group's `__consumer_offsets`
//! partition as a transactional batch and kept pending until the producer's COMMIT or ABORT
//! marker reaches that partition. v3+ carry the consumer's generation, member id and instance id
//! (KIP-447), checked as Kafka does; older versions commit as a standalone group (generation -1).
//! Partitions of topics the cluster does not know get UNKNOWN_TOPIC_OR_PARTITION one by one. The
//! producer must have added the group with AddOffsetsToTxn first: the client does that, and the
//! markers only reach partitions in the transaction. Before v3 a fenced producer gets
//! INVALID_PRODUCER_EPOCH (KIP-588).

use super::{fenced_for_version, Ctx};
use crate::codes;
use crate::coordinator::group::OffsetToCommit;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};

const PRODUCER_FENCED_VERSION: i16 = 3;
/// The first version with the consumer group's generation and member (KIP-447).
const GROUP_METADATA_VERSION: i16 = 3;

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: TxnOffsetCommitRequest) -> TxnOffsetCommitResponse {
    let b = &ctx.broker;
    let image = b.image();
    let mut codes_out: Vec<Vec<i16>> = Vec::new();
    let mut slots = Vec::new();
    let mut offsets = Vec::new();
    for (ti, t) in req.topics.iter().enumerate() {
        let name = t.name.to_string();
        let mut row = Vec::new();
        for (pi, p) in t.partitions.iter().enumerate() {
            if image.partition(&name, p.partition_index).is_none() {
                row.push(codes::UNKNOWN_TOPIC_OR_PARTITION);
                continue;
            }
            row.push(codes::NONE);
            slots.push((ti, pi));
            offsets.push(OffsetToCommit {
                topic: name.clone(),
                partition: p.partition_index,
                offset: p.committed_offset,
                leader_epoch: if version >= 2 { p.committed_leader_epoch } else { -1 },
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            });
        }
        codes_out.push(row);
    }
    let (generation, member, instance) = if version >= GROUP_METADATA_VERSION {
        (req.generation_id, req.member_id.to_string(), req.group_instance_id.as_ref().map(|x| x.to_string()))
    } else {
        (-1, String::new(), None)
    };
    let group_id = req.group_id.to_string();
    let result = b
        .groups
        .txn_offset_commit(
            &b.offsets_log(),
            &group_id,
            req.producer_id.0,
            req.producer_epoch,
            &member,
            instance.as_deref(),
            generation,
            offsets,
        )
        .await;
    match result {
        Ok(results) => {
            for ((ti, pi), code) in slots.into_iter().zip(results) {
                codes_out[ti][pi] = fenced_for_version(code, version, PRODUCER_FENCED_VERSION);
            }
        }
        Err(code) => {
            tracing::debug!(group = %group_id, transactional_id = %req.transactional_id.0, code, "TxnOffsetCommit refused");
            let code = fenced_for_version(code, version, PRODUCER_FENCED_VERSION);
            for row in codes_out.iter_mut() {
                for c in row.iter_mut().filter(|c| **c == codes::NONE) {
                    *c = code;
                }
            }
        }
    }
    let mut resp = TxnOffsetCommitResponse::default();
    resp.topics = req
        .topics
        .iter()
        .zip(codes_out)
        .map(|(t, row)| {
            let mut tr = TxnOffsetCommitResponseTopic::default();
            tr.name = t.name.clone();
            tr.partitions = t
                .partitions
                .iter()
                .zip(row)
                .map(|(p, code)| {
                    let mut pr = TxnOffsetCommitResponsePartition::default();
                    pr.partition_index = p.partition_index;
                    pr.error_code = code;
                    pr
                })
                .collect();
            tr
        })
        .collect();
    resp
}
