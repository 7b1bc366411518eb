//! Produce (key 0): acks 0/1/-1, batches passed unchanged to `Log::append_as_leader`, which
//! validates CRC, sizes and idempotent sequences; log errors mapped to Kafka codes.
//!
//! Internal topics (`__consumer_offsets`) take no produce: INVALID_TOPIC_EXCEPTION, as Kafka.
//! Transactional batches (KIP-98) need the request's `transactional_id`
//! (TRANSACTIONAL_ID_AUTHORIZATION_FAILED without one, as Kafka) and, unless the producer already
//! has a transaction open in the partition at that epoch, the broker's KIP-890 verification
//! (`verify_transactional_append`), which refuses until the transaction coordinator lands: so for
//! now they are rejected with INVALID_TXN_STATE and a message, and only that seam changes when it
//! does. Control batches from clients are the log's INVALID_RECORD, as in Kafka. Produce to a
//! missing topic never auto-creates (Kafka auto-creates on Metadata only).
//! An acks=0 request that fails on any partition closes the connection, as Kafka does.
//! acks=-1 is checked against `min.insync.replicas` before the append (NOT_ENOUGH_REPLICAS) and
//! then waits until the high watermark covers the records (every ISR member has them) or the
//! request's timeout passes (REQUEST_TIMED_OUT), as Kafka's DelayedProduce; the partitions of one
//! request wait together. A partition led elsewhere answers NOT_LEADER_OR_FOLLOWER, so clients
//! refresh metadata and follow the leader.

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

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: ProduceRequest) -> ProduceReply {
    let b = &ctx.broker;
    let acks = req.acks;
    // One deadline for the whole request: its partitions' acks=all waits overlap in time.
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_millis(req.timeout_ms.clamp(0, 300_000) as u64);
    b.faults.disk_delay().await;
    let now = now_ms();
    let mut resp = ProduceResponse::default();
    // acks=all: (topic index, partition index in response, partition, offset after the records, leader epoch they were written in, min ISR).
    let mut waits = Vec::new();
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
            if super::metadata::is_internal_topic(&name) {
                // Kafka: "Cannot append to internal topic"; only the coordinators write there.
                tr.partition_responses.push(error_partition(
                    version,
                    idx,
                    codes::INVALID_TOPIC_EXCEPTION,
                    Some(format!("Cannot append to internal topic {name}")),
                ));
                continue;
            }
            let Some(part) = b.partition(&name, idx) else {
                let code = b.missing_partition_code(&name, idx);
                tr.partition_responses.push(error_partition(
                    version,
                    idx,
                    code,
                    Some(codes::default_message(code).into()),
                ));
                continue;
            };
            let Some(records) = pd.records else {
                tr.partition_responses.push(error_partition(
                    version,
                    idx,
                    codes::CORRUPT_MESSAGE,
                    Some("produce request without records".into()),
                ));
                continue;
            };
            if let Some(h) = batch::headers(&records).find(|h| h.is_transactional()) {
                let Some(transactional_id) = req.transactional_id.as_ref().map(|t| t.to_string()) else {
                    let message = "Transactional records need the produce request's transactional id".to_string();
                    tr.partition_responses.push(error_partition(
                        version,
                        idx,
                        codes::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                        Some(message),
                    ));
                    continue;
                };
                if !part.has_ongoing_txn(h.producer_id, h.producer_epoch) {
                    if let Err(e) = b
                        .verify_transactional_append(
                            Some(&transactional_id),
                            &name,
                            idx,
                            h.producer_id,
                            h.producer_epoch,
                        )
                        .await
                    {
                        tr.partition_responses.push(error_partition(version, idx, e.code, Some(e.message)));
                        continue;
                    }
                }
            }
            let size = records.len() as u64;
            match part.append(BytesMut::from(&records[..]), acks, min_isr, now) {
                Ok((out, epoch)) => {
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
                    if acks == -1 {
                        waits.push((
                            resp.responses.len(),
                            tr.partition_responses.len(),
                            part.clone(),
                            out.last_offset + 1,
                            epoch,
                            min_isr,
                        ));
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
    if !waits.is_empty() {
        // Waited one after the other against the shared deadline: the request answers when the
        // slowest partition is replicated (or the deadline passes), as if waited together.
        for (t, p, part, required, epoch, min_isr) in &waits {
            if let Err(e) = part.wait_replicated(*required, *epoch, *min_isr, deadline).await {
                let pr = &mut resp.responses[*t].partition_responses[*p];
                tracing::debug!(partition = pr.index, code = e.code, "acks=all produce failed: {}", e.message);
                *pr = error_partition(version, pr.index, e.code, Some(e.message));
            }
        }
    }
    if version >= 10 {
        add_leader_hints(b, &mut resp);
    }
    if acks == 0 {
        let failed =
            resp.responses.iter().flat_map(|t| t.partition_responses.iter()).any(|p| p.error_code != codes::NONE);
        if failed {
            tracing::info!("closing connection: an acks=0 produce failed (Kafka closes so the client notices)");
            return ProduceReply::Close;
        }
        return ProduceReply::Nothing;
    }
    ProduceReply::Respond(resp)
}

/// KIP-951: a partition answered NOT_LEADER_OR_FOLLOWER names its current leader and epoch, and
/// the response carries that leader's endpoint, so the client can retry there without a
/// metadata round trip.
fn add_leader_hints(b: &crate::broker::BrokerState, resp: &mut ProduceResponse) {
    use kafka_protocol::messages::produce_response::{LeaderIdAndEpoch, NodeEndpoint};
    use kafka_protocol::messages::BrokerId;
    let mut endpoints: Vec<NodeEndpoint> = Vec::new();
    for t in &mut resp.responses {
        let topic = t.name.to_string();
        for p in &mut t.partition_responses {
            if p.error_code != codes::NOT_LEADER_OR_FOLLOWER {
                continue;
            }
            let Some((leader, epoch, reg)) = b.leader_hint(&topic, p.index) else { continue };
            let mut hint = LeaderIdAndEpoch::default();
            hint.leader_id = BrokerId(leader);
            hint.leader_epoch = epoch;
            p.current_leader = hint;
            if !endpoints.iter().any(|e| e.node_id.0 == leader) {
                let mut e = NodeEndpoint::default();
                e.node_id = BrokerId(leader);
                e.host = s(reg.host);
                e.port = reg.port;
                e.rack = reg.rack.map(s);
                endpoints.push(e);
            }
        }
    }
    resp.node_endpoints = endpoints;
}
