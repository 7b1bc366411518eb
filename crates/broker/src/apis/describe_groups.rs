//! DescribeGroups (key 15): state, protocol, members with client ids, hosts, metadata and
//! assignments. An unknown group is reported as "Dead" with no error, as Kafka does before v6.

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
            None => {
                g.group_state = s("Dead");
            }
            Some(d) => {
                g.group_state = s(d.state.name());
                g.protocol_type = s(d.protocol_type);
                g.protocol_data = s(d.protocol);
                g.members = d
                    .members
                    .into_iter()
                    .map(|(id, instance, client_id, host, md, assignment)| {
                        let mut m = DescribedGroupMember::default();
                        m.member_id = s(id);
                        if version >= 4 {
                            m.group_instance_id = instance.map(s);
                        }
                        m.client_id = s(client_id);
                        m.client_host = s(host);
                        m.member_metadata = md;
                        m.member_assignment = assignment;
                        m
                    })
                    .collect();
            }
        }
        resp.groups.push(g);
    }
    resp
}
