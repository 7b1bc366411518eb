//! ConsumerGroupDescribe (key 69), v0–v1: a KIP-848 consumer group's state, epochs, assignor and
//! members with their subscriptions, current and target assignments (topic ids named from the
//! metadata image). A group of another type, or none, is GROUP_ID_NOT_FOUND with a message
//! saying which, as Kafka answers — the admin client then describes a classic group with
//! DescribeGroups. v1 adds the member type (always "consumer" here: no classic members in
//! consumer groups).

use super::{s, Ctx};
use crate::codes;
use crate::coordinator::assignor::Assignment;
use crate::coordinator::consumer_group::TopicId;
use crate::metadata::MetadataImage;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as WireAssignment, DescribedGroup, Member, TopicPartitions,
};
use kafka_protocol::messages::{ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse, TopicName};
use uuid::Uuid;

/// READ, DELETE, DESCRIBE on a group with no authorizer (as DescribeGroups).
const GROUP_AUTHORIZED_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);
/// ConsumerGroupDescribe v1's MemberType for a member of the consumer protocol.
const MEMBER_TYPE_CONSUMER: i8 = 1;

fn assignment(image: &MetadataImage, a: &Assignment<TopicId>) -> WireAssignment {
    let mut w = WireAssignment::default();
    w.topic_partitions = a
        .iter()
        .map(|(id, ps)| {
            let id = Uuid::from_bytes(*id);
            let mut tp = TopicPartitions::default();
            tp.topic_id = id;
            tp.topic_name = TopicName(s(image.topic_by_id(id).map(|t| t.name.clone()).unwrap_or_default()));
            tp.partitions = ps.iter().copied().collect();
            tp
        })
        .collect();
    w
}

pub(crate) fn handle(ctx: &Ctx, version: i16, req: ConsumerGroupDescribeRequest) -> ConsumerGroupDescribeResponse {
    let image = ctx.broker.image();
    let mut resp = ConsumerGroupDescribeResponse::default();
    for gid in req.group_ids {
        let mut g = DescribedGroup::default();
        g.group_id = gid.clone();
        if req.include_authorized_operations {
            g.authorized_operations = GROUP_AUTHORIZED_OPERATIONS;
        }
        match ctx.broker.groups.describe_consumer_group(&gid) {
            Err(code) => {
                g.error_code = code;
                if code == codes::GROUP_ID_NOT_FOUND {
                    g.error_message = Some(s(format!("Group {} not found.", gid.as_str())));
                }
            }
            Ok(None) => {
                g.error_code = codes::GROUP_ID_NOT_FOUND;
                g.error_message = Some(s(format!("Group {} is not a consumer group.", gid.as_str())));
            }
            Ok(Some(d)) => {
                g.group_state = s(d.state);
                g.group_epoch = d.group_epoch;
                g.assignment_epoch = d.assignment_epoch;
                g.assignor_name = s(d.assignor);
                g.members = d
                    .members
                    .into_iter()
                    .map(|m| {
                        let mut x = Member::default();
                        x.member_id = s(m.member_id);
                        x.instance_id = m.instance_id.map(s);
                        x.rack_id = m.rack_id.map(s);
                        x.member_epoch = m.member_epoch;
                        x.client_id = s(m.client_id);
                        x.client_host = s(m.client_host);
                        x.subscribed_topic_names = m.subscribed.into_iter().map(|t| TopicName(s(t))).collect();
                        x.assignment = assignment(&image, &m.assigned);
                        x.target_assignment = assignment(&image, &m.target);
                        if version >= 1 {
                            x.member_type = MEMBER_TYPE_CONSUMER;
                        }
                        x
                    })
                    .collect();
            }
        }
        resp.groups.push(g);
    }
    resp
}
