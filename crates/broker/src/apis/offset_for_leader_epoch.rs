//! OffsetForLeaderEpoch (key 23): where a leader epoch ends in this replica's log (Kafka's
//! `LeaderEpochFileCache.endOffsetFor` through `oxbow_log::Log::end_offset_for_epoch`): the
//! largest epoch at or below the one asked for, and the start of the next one (the log end for
//! the current epoch). Followers ask it after a leader change to find and cut a divergent tail
//! (KIP-101, KIP-279). Only a leader answers, as in Kafka (v3+ names the asking replica).

use super::list_offsets::check_leader_epoch;
use super::Ctx;
use crate::codes;
use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

pub(crate) fn handle(ctx: &Ctx, _version: i16, req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let b = &ctx.broker;
    let mut resp = OffsetForLeaderEpochResponse::default();
    for t in req.topics {
        let mut tr = OffsetForLeaderTopicResult::default();
        tr.topic = t.topic.clone();
        let name = t.topic.to_string();
        for p in t.partitions {
            let mut e = EpochEndOffset::default();
            e.partition = p.partition;
            e.leader_epoch = -1;
            e.end_offset = -1;
            let Some(part) = b.partition(&name, p.partition) else {
                e.error_code = b.missing_partition_code(&name, p.partition);
                tr.partitions.push(e);
                continue;
            };
            if !part.is_leader() {
                e.error_code = codes::NOT_LEADER_OR_FOLLOWER;
                tr.partitions.push(e);
                continue;
            }
            let check = check_leader_epoch(p.current_leader_epoch, part.leader_epoch());
            if check != codes::NONE {
                e.error_code = check;
            } else {
                match part.with_log(|log| log.end_offset_for_epoch(p.leader_epoch)) {
                    Ok((epoch, end)) => {
                        e.leader_epoch = epoch;
                        e.end_offset = end;
                    }
                    Err(err) => e.error_code = err.code,
                }
            }
            tr.partitions.push(e);
        }
        resp.topics.push(tr);
    }
    resp
}
