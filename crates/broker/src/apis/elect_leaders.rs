//! ElectLeaders (key 43): preferred-leader election (type 0; `kafka-leader-election
//! --election-type preferred`) and unclean election (type 1) for the listed partitions, or for
//! every partition when the list is null. The changes go through the metadata log, one atomic
//! group per partition, so each partition succeeds or fails on its own (see
//! `controller::election` for the rules and the error codes).
//!
//! As Kafka does, a request for all partitions reports only the partitions where something
//! happened or failed, not those whose leader was already the right one.

use super::{s, Ctx};
use crate::codes;
use crate::controller::election::{self, Elected};
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use std::collections::BTreeMap;

const PREFERRED: i8 = 0;
const UNCLEAN: i8 = 1;

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: ElectLeadersRequest) -> ElectLeadersResponse {
    let b = &ctx.broker;
    // Kafka decides elections on the controller; this broker decides on its image, so it first
    // catches up with the controller's (an ISR change may not have reached it yet).
    crate::controller::catch_up_with_controller(b).await;
    let image = b.image();
    let election_type = if version >= 1 { req.election_type } else { PREFERRED };
    let all = req.topic_partitions.is_none();
    let wanted: Vec<(String, i32)> = match &req.topic_partitions {
        Some(list) => list.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.topic.to_string(), *p))).collect(),
        None => {
            image.topics.values().flat_map(|t| (0..t.partition_count()).map(move |p| (t.name.clone(), p))).collect()
        }
    };
    let usable = |id: i32| image.brokers.get(&id).is_some_and(|r| !r.fenced && !r.in_controlled_shutdown);
    // (topic, partition) -> result; changes proposed together below.
    let mut results: BTreeMap<(String, i32), (i16, Option<String>)> = BTreeMap::new();
    let mut changes = Vec::new();
    for (topic, index) in wanted {
        let Some(p) = image.partition(&topic, index) else {
            results.insert(
                (topic, index),
                (
                    codes::UNKNOWN_TOPIC_OR_PARTITION,
                    Some(codes::default_message(codes::UNKNOWN_TOPIC_OR_PARTITION).into()),
                ),
            );
            continue;
        };
        let elected = match election_type {
            PREFERRED => election::elect_preferred(&topic, index as usize, p, usable),
            UNCLEAN => election::elect_unclean(&topic, index as usize, p, usable),
            other => Elected::Refused(codes::INVALID_REQUEST, format!("Unknown election type {other}")),
        };
        match elected {
            Elected::Change(record) => {
                changes.push(((topic.clone(), index), vec![record]));
                results.insert((topic, index), (codes::NONE, None));
            }
            Elected::Refused(code, _) if all && code == codes::ELECTION_NOT_NEEDED => {}
            Elected::Refused(code, message) => {
                results.insert((topic, index), (code, Some(message)));
            }
        }
    }
    if !changes.is_empty() {
        let (keys, groups): (Vec<_>, Vec<_>) = changes.into_iter().unzip();
        match b.propose(groups).await {
            Ok(applied) => {
                for (key, r) in keys.into_iter().zip(applied) {
                    if let Err(e) = r {
                        results.insert(key, (e.code, Some(e.message)));
                    }
                }
            }
            Err(e) => {
                for key in keys {
                    results.insert(key, (e.code, Some(e.message.clone())));
                }
            }
        }
    }
    let mut by_topic: BTreeMap<String, Vec<PartitionResult>> = BTreeMap::new();
    for ((topic, index), (code, message)) in results {
        let mut r = PartitionResult::default();
        r.partition_id = index;
        r.error_code = code;
        r.error_message = message.map(s);
        by_topic.entry(topic).or_default().push(r);
    }
    let mut resp = ElectLeadersResponse::default();
    resp.replica_election_results = by_topic
        .into_iter()
        .map(|(topic, partition_result)| {
            let mut t = ReplicaElectionResult::default();
            t.topic = TopicName(s(topic));
            t.partition_result = partition_result;
            t
        })
        .collect();
    resp
}
