//! DeleteRecords (key 21): moves a partition's log start offset forward (whole segments below it
//! are deleted by the log); -1 means the high watermark. Answers the new low watermark.

use super::Ctx;
use crate::codes;
use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

pub(crate) fn handle(ctx: &Ctx, _version: i16, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let b = &ctx.broker;
    let mut resp = DeleteRecordsResponse::default();
    for t in req.topics {
        let mut tr = DeleteRecordsTopicResult::default();
        tr.name = t.name.clone();
        let name = t.name.to_string();
        for p in t.partitions {
            let mut pr = DeleteRecordsPartitionResult::default();
            pr.partition_index = p.partition_index;
            pr.low_watermark = -1;
            let part = match b.leader_partition(&name, p.partition_index) {
                Ok(part) => part,
                Err(code) => {
                    pr.error_code = code;
                    tr.partitions.push(pr);
                    continue;
                }
            };
            let result = part.offsets().and_then(|o| {
                let target = if p.offset == -1 { o.high_watermark } else { p.offset };
                if target < 0 || target > o.high_watermark {
                    return Err(crate::partition::PartitionError {
                        code: codes::OFFSET_OUT_OF_RANGE,
                        message: String::new(),
                    });
                }
                part.with_log(|log| log.delete_records_before(target)).and_then(|r| {
                    r.map_err(|e| crate::partition::PartitionError {
                        code: codes::from_log_error(&e),
                        message: e.to_string(),
                    })
                })
            });
            match result {
                Ok(low) => {
                    tracing::info!(topic = %name, partition = p.partition_index, low_watermark = low, "deleted records");
                    pr.low_watermark = low;
                }
                Err(e) => pr.error_code = e.code,
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}
