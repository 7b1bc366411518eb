//! OffsetCommit (key 8), v2–v9: committed offsets with their metadata, stored by the group
//! coordinator in `__consumer_offsets` and answered once the ISR has them. Partitions of topics
//! the cluster does not know are refused one by one (UNKNOWN_TOPIC_OR_PARTITION) as Kafka does;
//! the rest go to the group in one batch. Generation -1 is the admin client's or a standalone
//! consumer's commit, accepted only while the group is Empty (else UNKNOWN_MEMBER_ID).

use super::Ctx;
use crate::codes;
use crate::coordinator::group::{CommitRequest, OffsetToCommit};
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: OffsetCommitRequest) -> OffsetCommitResponse {
    let b = &ctx.broker;
    let image = b.image();
    // Per requested partition: its code, and whether it went to the group.
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
                leader_epoch: if version >= 6 { p.committed_leader_epoch } else { -1 },
                metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
            });
        }
        codes_out.push(row);
    }
    let commit = CommitRequest {
        group_id: req.group_id.to_string(),
        member_id: req.member_id.to_string(),
        group_instance_id: if version >= 7 { req.group_instance_id.as_ref().map(|x| x.to_string()) } else { None },
        generation_id: req.generation_id_or_member_epoch,
        retention_time_ms: if (2..=4).contains(&version) { req.retention_time_ms } else { -1 },
        api_version: version,
        offsets,
    };
    match b.groups.commit(&b.offsets_log(), commit).await {
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
