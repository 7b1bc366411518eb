//! ListOffsets (key 2): -1 latest (the high watermark, or the last stable offset for
//! `read_committed`, isolation level 1), -2 earliest (log start), -3 max timestamp, -4 earliest
//! local (= earliest, no tiered storage), -5 latest tiered (none: -1), and lookup by timestamp
//! through the log's time index, answering only offsets below what the isolation level may read
//! (Kafka's `lastFetchableOffset`).

use super::Ctx;
use crate::codes;
use crate::partition::Isolation;
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

pub(crate) const LATEST: i64 = -1;
pub(crate) const EARLIEST: i64 = -2;
pub(crate) const MAX_TIMESTAMP: i64 = -3;
pub(crate) const EARLIEST_LOCAL: i64 = -4;
pub(crate) const LATEST_TIERED: i64 = -5;

/// Kafka's leader epoch check: a client ahead of us is UNKNOWN_LEADER_EPOCH, behind is FENCED.
pub(crate) fn check_leader_epoch(requested: i32, current: i32) -> i16 {
    if requested < 0 || requested == current {
        codes::NONE
    } else if requested > current {
        codes::UNKNOWN_LEADER_EPOCH
    } else {
        codes::FENCED_LEADER_EPOCH
    }
}

pub(crate) fn handle(ctx: &Ctx, version: i16, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let b = &ctx.broker;
    let mut resp = ListOffsetsResponse::default();
    let isolation_level = req.isolation_level;
    for t in req.topics {
        let name = t.name.to_string();
        let mut tr = ListOffsetsTopicResponse::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            pr.timestamp = -1;
            pr.offset = -1;
            // Kafka answers ListOffsets only on the leader (followers are for debugging tools).
            let part = match b.leader_partition(&name, p.partition_index) {
                Ok(part) => part,
                Err(code) => {
                    pr.error_code = code;
                    tr.partitions.push(pr);
                    continue;
                }
            };
            let offsets = match part.offsets() {
                Ok(o) => o,
                Err(e) => {
                    pr.error_code = e.code;
                    tr.partitions.push(pr);
                    continue;
                }
            };
            let epoch_check = if version >= 4 {
                check_leader_epoch(p.current_leader_epoch, offsets.leader_epoch)
            } else {
                codes::NONE
            };
            if epoch_check != codes::NONE {
                pr.error_code = epoch_check;
                tr.partitions.push(pr);
                continue;
            }
            let last_fetchable = match Isolation::from_id(isolation_level) {
                Isolation::ReadCommitted => offsets.last_stable_offset,
                Isolation::ReadUncommitted => offsets.high_watermark,
            };
            let found: Result<Option<(i64, i64)>, i16> = match p.timestamp {
                LATEST => Ok(Some((-1, last_fetchable))),
                EARLIEST | EARLIEST_LOCAL => Ok(Some((-1, offsets.log_start_offset))),
                LATEST_TIERED => Ok(None),
                MAX_TIMESTAMP => match part.with_log(|log| log.max_timestamp()) {
                    Ok(Ok(v)) => Ok(v.map(|t| (t.timestamp_ms, t.offset))),
                    Ok(Err(e)) => Err(codes::from_log_error(&e)),
                    Err(e) => Err(e.code),
                },
                ts if ts >= 0 => match part.with_log(|log| log.offset_for_timestamp(ts)) {
                    Ok(Ok(v)) => Ok(v.filter(|t| t.offset < last_fetchable).map(|t| (t.timestamp_ms, t.offset))),
                    Ok(Err(e)) => Err(codes::from_log_error(&e)),
                    Err(e) => Err(e.code),
                },
                _ => Err(codes::INVALID_REQUEST),
            };
            match found {
                Ok(Some((ts, off))) => {
                    pr.timestamp = ts;
                    // After DeleteRecords the log start can sit inside a segment whose indexes
                    // still name older offsets; like Kafka, never answer below the log start.
                    pr.offset = off.max(offsets.log_start_offset);
                    if version >= 4 {
                        pr.leader_epoch = offsets.leader_epoch;
                    }
                }
                Ok(None) => {}
                Err(code) => pr.error_code = code,
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}
