//! OffsetDelete (key 47, KIP-496): deletes a group's committed offsets for some partitions.
//! The group must be Empty, or a `consumer` group not subscribed to the topic
//! (GROUP_SUBSCRIBED_TO_TOPIC per partition otherwise); a non-empty group of another protocol
//! gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.

use super::Ctx;
use crate::codes;
use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};

pub(crate) async fn handle(ctx: &Ctx, _version: i16, req: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let b = &ctx.broker;
    let image = b.image();
    let mut resp = OffsetDeleteResponse::default();
    // (topic index, partition index) of the partitions that go to the group.
    let mut slots = Vec::new();
    let mut wanted = Vec::new();
    let mut topics: Vec<OffsetDeleteResponseTopic> = Vec::new();
    for (ti, t) in req.topics.iter().enumerate() {
        let mut tr = OffsetDeleteResponseTopic::default();
        tr.name = t.name.clone();
        for (pi, p) in t.partitions.iter().enumerate() {
            let mut pr = OffsetDeleteResponsePartition::default();
            pr.partition_index = p.partition_index;
            if image.partition(&t.name, p.partition_index).is_none() {
                pr.error_code = codes::UNKNOWN_TOPIC_OR_PARTITION;
            } else {
                slots.push((ti, pi));
                wanted.push((t.name.to_string(), p.partition_index));
            }
            tr.partitions.push(pr);
        }
        topics.push(tr);
    }
    match b.groups.delete_offsets(&b.offsets_log(), &req.group_id, &wanted).await {
        Ok(results) => {
            for ((ti, pi), code) in slots.into_iter().zip(results) {
                topics[ti].partitions[pi].error_code = code;
            }
            resp.topics = topics;
        }
        Err(code) => resp.error_code = code,
    }
    resp
}
