//! ListGroups (key 16): every group with its protocol type, state (v4+, filterable) and type
//! (v5+, always "classic" today).

use super::{s, Ctx};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};

pub(crate) fn handle(ctx: &Ctx, version: i16, req: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = req.states_filter.iter().map(|x| x.to_lowercase()).collect();
    let types: Vec<String> = req.types_filter.iter().map(|x| x.to_lowercase()).collect();
    let mut resp = ListGroupsResponse::default();
    for (id, protocol_type, state) in ctx.broker.groups.list() {
        if version >= 4 && !states.is_empty() && !states.contains(&state.name().to_lowercase()) {
            continue;
        }
        if version >= 5 && !types.is_empty() && !types.iter().any(|t| t == "classic") {
            continue;
        }
        let mut g = ListedGroup::default();
        g.group_id = GroupId(s(id));
        g.protocol_type = s(protocol_type);
        if version >= 4 {
            g.group_state = s(state.name());
        }
        if version >= 5 {
            g.group_type = s("classic");
        }
        resp.groups.push(g);
    }
    resp
}
