//! OffsetFetch (key 9): committed offsets and their metadata; one group (v1–v7) or several
//! (v8+); a null topic list (v2+) means every partition the group has committed.

use super::{s, Ctx};
use crate::codes;
use crate::coordinator::group::CommittedOffset;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use std::collections::BTreeMap;

type Fetched = BTreeMap<String, Vec<(i32, Option<CommittedOffset>)>>;

fn fetch(ctx: &Ctx, group: &str, topics: Option<Vec<(String, Vec<i32>)>>) -> Fetched {
    let wanted: Option<Vec<(String, i32)>> = topics.map(|ts| ts.into_iter().flat_map(|(n, ps)| ps.into_iter().map(move |p| (n.clone(), p))).collect());
    let mut out: Fetched = BTreeMap::new();
    for ((t, p), off) in ctx.broker.groups.fetch_offsets(group, wanted.as_deref()) {
        out.entry(t).or_default().push((p, off));
    }
    out
}

pub(crate) fn handle(ctx: &Ctx, version: i16, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    if version >= 8 {
        for g in req.groups {
            let topics = g.topics.map(|ts| ts.into_iter().map(|t| (t.name.to_string(), t.partition_indexes)).collect());
            let fetched = fetch(ctx, &g.group_id, topics);
            let mut gr = OffsetFetchResponseGroup::default();
            gr.group_id = g.group_id.clone();
            gr.topics = fetched
                .into_iter()
                .map(|(name, parts)| {
                    let mut t = OffsetFetchResponseTopics::default();
                    t.name = TopicName(s(name));
                    t.partitions = parts
                        .into_iter()
                        .map(|(p, off)| {
                            let mut x = OffsetFetchResponsePartitions::default();
                            x.partition_index = p;
                            x.committed_offset = off.as_ref().map(|o| o.offset).unwrap_or(-1);
                            x.committed_leader_epoch = off.as_ref().map(|o| o.leader_epoch).unwrap_or(-1);
                            x.metadata = Some(s(off.and_then(|o| o.metadata).unwrap_or_default()));
                            x.error_code = codes::NONE;
                            x
                        })
                        .collect();
                    t
                })
                .collect();
            resp.groups.push(gr);
        }
        return resp;
    }
    let topics = req.topics.map(|ts| ts.into_iter().map(|t| (t.name.to_string(), t.partition_indexes)).collect());
    let fetched = fetch(ctx, &req.group_id, topics);
    resp.topics = fetched
        .into_iter()
        .map(|(name, parts)| {
            let mut t = OffsetFetchResponseTopic::default();
            t.name = TopicName(s(name));
            t.partitions = parts
                .into_iter()
                .map(|(p, off)| {
                    let mut x = OffsetFetchResponsePartition::default();
                    x.partition_index = p;
                    x.committed_offset = off.as_ref().map(|o| o.offset).unwrap_or(-1);
                    if version >= 5 {
                        x.committed_leader_epoch = off.as_ref().map(|o| o.leader_epoch).unwrap_or(-1);
                    }
                    x.metadata = Some(s(off.and_then(|o| o.metadata).unwrap_or_default()));
                    x.error_code = codes::NONE;
                    x
                })
                .collect();
            t
        })
        .collect();
    resp
}
