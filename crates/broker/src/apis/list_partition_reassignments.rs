//! ListPartitionReassignments (key 46): the partitions being moved, with their full replica set
//! and the replicas being added and removed (`kafka-reassign-partitions --verify/--list`).

use super::{s, Ctx};
use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};

pub(crate) fn handle(
    ctx: &Ctx,
    _version: i16,
    req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    let image = ctx.broker.image();
    let wanted: Vec<(String, Option<Vec<i32>>)> = match req.topics {
        Some(topics) => topics.into_iter().map(|t| (t.name.to_string(), Some(t.partition_indexes))).collect(),
        None => image.topics.keys().map(|n| (n.clone(), None)).collect(),
    };
    let ids = |v: &[i32]| v.iter().copied().map(BrokerId).collect::<Vec<_>>();
    let mut resp = ListPartitionReassignmentsResponse::default();
    for (name, indexes) in wanted {
        let Some(topic) = image.topics.get(&name) else { continue };
        let partitions: Vec<OngoingPartitionReassignment> = topic
            .partitions
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                (!p.adding.is_empty() || !p.removing.is_empty())
                    && indexes.as_ref().is_none_or(|ix| ix.contains(&(*i as i32)))
            })
            .map(|(i, p)| {
                let mut o = OngoingPartitionReassignment::default();
                o.partition_index = i as i32;
                o.replicas = ids(&p.replicas);
                o.adding_replicas = ids(&p.adding);
                o.removing_replicas = ids(&p.removing);
                o
            })
            .collect();
        if !partitions.is_empty() {
            let mut t = OngoingTopicReassignment::default();
            t.name = TopicName(s(name));
            t.partitions = partitions;
            resp.topics.push(t);
        }
    }
    resp
}
