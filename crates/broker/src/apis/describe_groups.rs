//! DescribeGroups (key 15): state, protocol, members with client ids and hosts; member metadata
//! and assignments only for a Stable group (Kafka's group summary). An unknown group is reported
//! as "Dead" with no error, as Kafka does before v6; a group not served here gets
//! NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.

use super::{s, Ctx};
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};

/// READ, DELETE, DESCRIBE on a group with no authorizer.
const GROUP_AUTHORIZED_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

pub(crate) fn handle(ctx: &Ctx, version: i16, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let mut resp = DescribeGroupsResponse::default();
    for gid in req.groups {
        let mut g = DescribedGroup::default();
        g.group_id = gid.clone();
        if version >= 3 && req.include_authorized_operations {
            g.authorized_operations = GROUP_AUTHORIZED_OPERATIONS;
        }
        match ctx.broker.groups.describe(&gid) {
            Err(code) => {
                g.error_code = code;
                g.group_state = s("");
            }
            Ok(None) => g.group_state = s("Dead"),
            Ok(Some(d)) => {
                g.group_state = s(d.state.name());
                g.protocol_type = s(d.protocol_type);
                g.protocol_data = s(d.protocol);
                g.members = d
                    .members
                    .into_iter()
                    .map(|m| {
                        let mut x = DescribedGroupMember::default();
                        x.member_id = s(m.member_id);
                        if version >= 4 {
                            x.group_instance_id = m.group_instance_id.map(s);
                        }
                        x.client_id = s(m.client_id);
                        x.client_host = s(m.client_host);
                        x.member_metadata = m.metadata;
                        x.member_assignment = m.assignment;
                        x
                    })
                    .collect();
            }
        }
        resp.groups.push(g);
    }
    resp
}
