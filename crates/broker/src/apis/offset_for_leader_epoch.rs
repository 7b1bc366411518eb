//! OffsetForLeaderEpoch (key 23): the end offset of a leader epoch. One broker has only ever had
//! epoch 0 for each partition, so epoch 0 ends at the log end offset and any later epoch is
//! undefined (-1/-1) as in Kafka. Issue 5 brings per-epoch history (leader-epoch checkpoint).

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
            match b.partition(&name, p.partition).map(|part| part.offsets()) {
                None => e.error_code = codes::UNKNOWN_TOPIC_OR_PARTITION,
                Some(Err(err)) => e.error_code = err.code,
                Some(Ok(o)) => {
                    let check = check_leader_epoch(p.current_leader_epoch, o.leader_epoch);
                    if check != codes::NONE {
                        e.error_code = check;
                    } else if p.leader_epoch >= 0 && p.leader_epoch <= o.leader_epoch {
                        e.leader_epoch = o.leader_epoch;
                        e.end_offset = o.log_end_offset;
                    }
                }
            }
            tr.partitions.push(e);
        }
        resp.topics.push(tr);
    }
    resp
}
