//! AlterPartitionReassignments (key 45): starts moving partitions to new replicas, or cancels a
//! move (`replicas` null), as `kafka-reassign-partitions --execute/--cancel` asks. Each partition
//! is one atomic change in the metadata log (see `controller::reassignment`); the controller
//! completes a move once the new replicas are in sync.

use super::{s, Ctx};
use crate::codes;
use crate::controller::reassignment;
use crate::metadata::MetadataRecord;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse};

pub(crate) async fn handle(
    ctx: &Ctx,
    version: i16,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let b = &ctx.broker;
    let image = b.image();
    let allow_rf_change = version < 1 || req.allow_replication_factor_change;
    let usable = |id: i32| image.brokers.get(&id).is_some_and(|r| !r.fenced && !r.in_controlled_shutdown);
    let mut resp = AlterPartitionReassignmentsResponse::default();
    resp.allow_replication_factor_change = allow_rf_change;
    // (topic slot, partition slot) of each proposed change, in proposal order.
    let mut slots = Vec::new();
    let mut groups = Vec::new();
    for t in req.topics {
        let topic = t.name.to_string();
        let mut tr = ReassignableTopicResponse::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = ReassignablePartitionResponse::default();
            pr.partition_index = p.partition_index;
            let change = match image.partition(&topic, p.partition_index) {
                None => Err((
                    codes::UNKNOWN_TOPIC_OR_PARTITION,
                    codes::default_message(codes::UNKNOWN_TOPIC_OR_PARTITION).to_string(),
                )),
                Some(current) => match &p.replicas {
                    None => reassignment::cancel(current).map(Some),
                    Some(target) => reassignment::start(
                        current,
                        &target.iter().map(|b| b.0).collect::<Vec<_>>(),
                        usable,
                        allow_rf_change,
                    ),
                },
            };
            match change {
                Ok(Some(change)) => {
                    slots.push((resp.responses.len(), tr.partitions.len()));
                    groups.push(vec![MetadataRecord::ChangePartition {
                        topic: topic.clone(),
                        partition: p.partition_index,
                        change,
                    }]);
                }
                Ok(None) => {}
                Err((code, message)) => {
                    pr.error_code = code;
                    pr.error_message = Some(s(message));
                }
            }
            tr.partitions.push(pr);
        }
        resp.responses.push(tr);
    }
    if !groups.is_empty() {
        let outcome = b.propose(groups).await;
        for (i, (t, p)) in slots.into_iter().enumerate() {
            let pr = &mut resp.responses[t].partitions[p];
            let error = match &outcome {
                Ok(results) => results[i].clone().err().map(|e| (e.code, e.message)),
                Err(e) => Some((e.code, e.message.clone())),
            };
            if let Some((code, message)) = error {
                pr.error_code = code;
                pr.error_message = Some(s(message));
            }
        }
    }
    resp
}
