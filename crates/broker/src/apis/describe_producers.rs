//! DescribeProducers (key 61, KIP-664): the producers with state in each requested partition —
//! producer id and epoch, last sequence and timestamp, the coordinator epoch of the last
//! transaction marker, and the first offset of the open transaction (-1: none). What
//! `kafka-transactions.sh describe-producers` shows and `find-hanging` looks for.
//!
//! As Kafka's `activeProducerState`, only the partition's leader answers: a follower replica
//! says NOT_LEADER_OR_FOLLOWER; an unknown topic or partition UNKNOWN_TOPIC_OR_PARTITION. It
//! deliberately does not list the partition's open transactions separately: each producer's
//! `current_txn_start_offset` is that list.

use super::{s, Ctx};
use crate::codes;
use kafka_protocol::messages::describe_producers_response::{PartitionResponse, ProducerState, TopicResponse};
use kafka_protocol::messages::{DescribeProducersRequest, DescribeProducersResponse, ProducerId};

pub(crate) fn handle(ctx: &Ctx, _version: i16, req: DescribeProducersRequest) -> DescribeProducersResponse {
    let b = &ctx.broker;
    let mut resp = DescribeProducersResponse::default();
    for t in req.topics {
        let name = t.name.to_string();
        let mut tr = TopicResponse::default();
        tr.name = t.name.clone();
        for index in t.partition_indexes {
            let mut pr = PartitionResponse::default();
            pr.partition_index = index;
            let producers = b
                .leader_partition(&name, index)
                .map_err(|code| (code, None))
                .and_then(|part| part.active_producers().map_err(|e| (e.code, Some(e.message))));
            match producers {
                Ok(producers) => pr.active_producers = producers.into_iter().map(producer_state).collect(),
                Err((code, message)) => {
                    pr.error_code = code;
                    let message =
                        message.or_else(|| Some(codes::default_message(code).to_string()).filter(|m| !m.is_empty()));
                    pr.error_message = message.map(s);
                }
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}

fn producer_state(p: oxbow_log::ProducerInfo) -> ProducerState {
    let mut out = ProducerState::default();
    out.producer_id = ProducerId(p.producer_id);
    out.producer_epoch = i32::from(p.producer_epoch);
    out.last_sequence = p.last_sequence;
    out.last_timestamp = p.last_timestamp_ms;
    out.coordinator_epoch = p.coordinator_epoch;
    out.current_txn_start_offset = p.current_txn_start_offset;
    out
}
