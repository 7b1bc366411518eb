//! OffsetCommit (key 8): committed offsets with metadata kept by the group coordinator (in memory
//! until issue 6 moves them into `__consumer_offsets`). Unknown partitions are refused per
//! partition as Kafka does.

use super::Ctx;
use crate::codes;
use crate::coordinator::group::CommittedOffset;
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

pub(crate) fn handle(ctx: &Ctx, version: i16, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let b = &ctx.broker;
    let now = crate::broker::now_ms();
    // (topic index, partition index, code) per requested partition; known ones go to the group.
    let mut codes_out: Vec<Vec<i16>> = Vec::new();
    let mut to_commit = Vec::new();
    let mut slots = Vec::new();
    for (ti, t) in req.topics.iter().enumerate() {
        let name = t.name.to_string();
        let mut row = Vec::new();
        for (pi, p) in t.partitions.iter().enumerate() {
            if b.partition(&name, p.partition_index).is_none() {
                row.push(codes::UNKNOWN_TOPIC_OR_PARTITION);
                continue;
            }
            row.push(codes::NONE);
            slots.push((ti, pi));
            to_commit.push((
                (name.clone(), p.partition_index),
                CommittedOffset {
                    offset: p.committed_offset,
                    leader_epoch: if version >= 6 { p.committed_leader_epoch } else { -1 },
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                    commit_timestamp_ms: now,
                },
            ));
        }
        codes_out.push(row);
    }
    let committed = if b.is_group_coordinator(&req.group_id) {
        b.groups.commit(&req.group_id, &req.member_id, req.generation_id_or_member_epoch, to_commit)
    } else {
        Err(codes::NOT_COORDINATOR)
    };
    match committed {
        Ok(results) => {
            for ((ti, pi), code) in slots.into_iter().zip(results) {
                codes_out[ti][pi] = code;
            }
        }
        Err(code) => {
            for row in codes_out.iter_mut() {
                for c in row.iter_mut() {
                    *c = code;
                }
            }
        }
    }
    let mut resp = OffsetCommitResponse::default();
    resp.topics = req
        .topics
        .iter()
        .zip(codes_out)
        .map(|(t, row)| {
            let mut tr = OffsetCommitResponseTopic::default();
            tr.name = t.name.clone();
            tr.partitions = t
                .partitions
                .iter()
                .zip(row)
                .map(|(p, code)| {
                    let mut pr = OffsetCommitResponsePartition::default();
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
