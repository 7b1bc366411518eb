//! Produce (key 0): acks 0/1/-1, batches passed unchanged to `Log::append_as_leader`, which
//! validates CRC, sizes and idempotent sequences; log errors mapped to Kafka codes.
//!
//! Not supported yet: transactional produce (issue 6) — rejected with INVALID_TXN_STATE and a
//! message. Produce to a missing topic never auto-creates (Kafka auto-creates on Metadata only).
//! An acks=0 request that fails on any partition closes the connection, as Kafka does.
//! acks=-1 returns right after the append: on one broker the ISR is {self}; with
//! `min.insync.replicas` above the ISR size the partition answers NOT_ENOUGH_REPLICAS as Kafka does.

use super::{s, Ctx};
use crate::broker::{count_in, now_ms};
use crate::{batch, codes};
use bytes::BytesMut;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

fn error_partition(version: i16, index: i32, code: i16, message: Option<String>) -> PartitionProduceResponse {
    let mut p = PartitionProduceResponse::default();
    p.index = index;
    p.error_code = code;
    p.base_offset = -1;
    p.log_append_time_ms = -1;
    p.log_start_offset = -1;
    if version >= 8 {
        p.error_message = message.map(s);
    }
    p
}

/// What the connection does with a produce result.
pub(crate) enum ProduceReply {
    Respond(ProduceResponse),
    /// acks=0 and every partition succeeded: Kafka sends nothing.
    Nothing,
    /// acks=0 and some partition failed: Kafka closes the connection so the client notices.
    Close,
}

pub(crate) fn handle(ctx: &Ctx, version: i16, req: ProduceRequest) -> ProduceReply {
    let b = &ctx.broker;
    let acks = req.acks;
    let now = now_ms();
    let mut resp = ProduceResponse::default();
    for topic in req.topic_data {
        let name = topic.name.to_string();
        let mut tr = TopicProduceResponse::default();
        tr.name = topic.name.clone();
        let min_isr = b.min_insync_replicas(&name);
        for pd in topic.partition_data {
            let idx = pd.index;
            if acks != 0 && acks != 1 && acks != -1 {
                tr.partition_responses.push(error_partition(version, idx, codes::INVALID_REQUIRED_ACKS, None));
                continue;
            }
            let Some(part) = b.partition(&name, idx) else {
                tr.partition_responses.push(error_partition(version, idx, codes::UNKNOWN_TOPIC_OR_PARTITION, Some(codes::default_message(codes::UNKNOWN_TOPIC_OR_PARTITION).into())));
                continue;
            };
            let Some(records) = pd.records else {
                tr.partition_responses.push(error_partition(version, idx, codes::CORRUPT_MESSAGE, Some("produce request without records".into())));
                continue;
            };
            let headers: Vec<batch::BatchHeader> = batch::headers(&records).collect();
            if req.transactional_id.is_some() || headers.iter().any(|h| h.is_transactional() || h.is_control()) {
                tracing::warn!(topic = %name, partition = idx, "rejected transactional produce: transactions are not supported yet");
                tr.partition_responses.push(error_partition(version, idx, codes::INVALID_TXN_STATE, Some("Oxbow does not support transactions yet".into())));
                continue;
            }
            let size = records.len() as u64;
            match part.append(BytesMut::from(&records[..]), acks, min_isr, now) {
                Ok(out) => {
                    if !out.duplicate {
                        count_in(&b.stats, size, (out.last_offset - out.base_offset + 1).max(0) as u64);
                    }
                    let mut p = PartitionProduceResponse::default();
                    p.index = idx;
                    p.error_code = codes::NONE;
                    p.base_offset = out.base_offset;
                    p.log_append_time_ms = out.log_append_time_ms;
                    if version >= 5 {
                        p.log_start_offset = out.log_start_offset;
                    }
                    tr.partition_responses.push(p);
                }
                Err(e) => {
                    tracing::debug!(topic = %name, partition = idx, code = e.code, "produce failed: {}", e.message);
                    tr.partition_responses.push(error_partition(version, idx, e.code, Some(e.message)));
                }
            }
        }
        resp.responses.push(tr);
    }
    if acks == 0 {
        let failed = resp.responses.iter().flat_map(|t| t.partition_responses.iter()).any(|p| p.error_code != codes::NONE);
        if failed {
            tracing::info!("closing connection: an acks=0 produce failed (Kafka closes so the client notices)");
            return ProduceReply::Close;
        }
        return ProduceReply::Nothing;
    }
    ProduceReply::Respond(resp)
}
