//! OffsetFetch (key 9): committed offsets and their metadata; one group (v1–v7) or several
//! (v8+); a null topic list (v2+) means every partition the group has committed. v7+
//! `require_stable` answers UNSTABLE_OFFSET_COMMIT for partitions with transactional offsets
//! awaiting their marker (or a commit awaiting the ISR). A group not served here gets
//! NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS: per group (v8+), at the top (v2–v7), or on
//! every partition (v1, which has no top-level error).

use super::{s, Ctx};
use crate::coordinator::group::FetchedOffset;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use std::collections::BTreeMap;

/// Per topic (in name order), its partitions' answers.
type ByTopic = BTreeMap<String, Vec<FetchedOffset>>;
/// A group's error, with the partitions asked for (v1 repeats the error on each).
type Refused = (i16, Option<Vec<(String, i32)>>);

fn fetch(
    ctx: &Ctx,
    group: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
) -> Result<ByTopic, Refused> {
    let wanted: Option<Vec<(String, i32)>> =
        topics.map(|ts| ts.into_iter().flat_map(|(n, ps)| ps.into_iter().map(move |p| (n.clone(), p))).collect());
    match ctx.broker.groups.fetch_offsets(group, wanted.as_deref(), require_stable) {
        Ok(found) => {
            let mut out: ByTopic = BTreeMap::new();
            for f in found {
                out.entry(f.topic.clone()).or_default().push(f);
            }
            Ok(out)
        }
        Err(code) => Err((code, wanted)),
    }
}

pub(crate) fn handle(ctx: &Ctx, version: i16, req: OffsetFetchRequest) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    let require_stable = version >= 7 && req.require_stable;
    if version >= 8 {
        for g in req.groups {
            let topics = g.topics.map(|ts| ts.into_iter().map(|t| (t.name.to_string(), t.partition_indexes)).collect());
            let mut gr = OffsetFetchResponseGroup::default();
            gr.group_id = g.group_id.clone();
            match fetch(ctx, &g.group_id, topics, require_stable) {
                Ok(fetched) => {
                    gr.topics = fetched
                        .into_iter()
                        .map(|(name, parts)| {
                            let mut t = OffsetFetchResponseTopics::default();
                            t.name = TopicName(s(name));
                            t.partitions = parts
                                .into_iter()
                                .map(|f| {
                                    let mut x = OffsetFetchResponsePartitions::default();
                                    x.partition_index = f.partition;
                                    x.committed_offset = f.committed.as_ref().map_or(-1, |o| o.offset);
                                    x.committed_leader_epoch = f.committed.as_ref().map_or(-1, |o| o.leader_epoch);
                                    x.metadata = Some(s(f.committed.map(|o| o.metadata).unwrap_or_default()));
                                    x.error_code = f.error;
                                    x
                                })
                                .collect();
                            t
                        })
                        .collect();
                }
                Err((code, _)) => gr.error_code = code,
            }
            resp.groups.push(gr);
        }
        return resp;
    }
    let topics = req.topics.map(|ts| ts.into_iter().map(|t| (t.name.to_string(), t.partition_indexes)).collect());
    let partition = |p: i32, committed: Option<crate::coordinator::group::CommittedOffset>, error: i16| {
        let mut x = OffsetFetchResponsePartition::default();
        x.partition_index = p;
        x.committed_offset = committed.as_ref().map_or(-1, |o| o.offset);
        if version >= 5 {
            x.committed_leader_epoch = committed.as_ref().map_or(-1, |o| o.leader_epoch);
        }
        x.metadata = Some(s(committed.map(|o| o.metadata).unwrap_or_default()));
        x.error_code = error;
        x
    };
    match fetch(ctx, &req.group_id, topics, require_stable) {
        Ok(fetched) => {
            resp.topics = fetched
                .into_iter()
                .map(|(name, parts)| {
                    let mut t = OffsetFetchResponseTopic::default();
                    t.name = TopicName(s(name));
                    t.partitions = parts.into_iter().map(|f| partition(f.partition, f.committed, f.error)).collect();
                    t
                })
                .collect();
        }
        Err((code, wanted)) => {
            if version >= 2 {
                resp.error_code = code;
            } else {
                // v1 has only partition-level errors.
                let mut by: BTreeMap<String, Vec<i32>> = BTreeMap::new();
                for (t, p) in wanted.unwrap_or_default() {
                    by.entry(t).or_default().push(p);
                }
                resp.topics = by
                    .into_iter()
                    .map(|(name, ps)| {
                        let mut t = OffsetFetchResponseTopic::default();
                        t.name = TopicName(s(name));
                        t.partitions = ps.into_iter().map(|p| partition(p, None, code)).collect();
                        t
                    })
                    .collect();
            }
        }
    }
    resp
}
