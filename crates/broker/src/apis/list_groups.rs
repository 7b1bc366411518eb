//! ListGroups (key 16): the groups this broker coordinates, with protocol type, state (v4+,
//! filterable, case-insensitive; each type's own state names: a KIP-848 group is Empty,
//! Assigning, Reconciling or Stable) and type (v5+, filterable; "classic" or "consumer"). Admin clients ask every
//! broker and merge. COORDINATOR_LOAD_IN_PROGRESS (and no groups) while any of this broker's
//! `__consumer_offsets` partitions is still loading, as Kafka.

use super::{s, Ctx};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};

pub(crate) fn handle(ctx: &Ctx, version: i16, req: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = req.states_filter.iter().map(|x| x.to_lowercase()).collect();
    let types: Vec<String> = req.types_filter.iter().map(|x| x.to_lowercase()).collect();
    let mut resp = ListGroupsResponse::default();
    let groups = match ctx.broker.groups.list() {
        Ok(g) => g,
        Err(code) => {
            resp.error_code = code;
            return resp;
        }
    };
    for lg in groups {
        if version >= 4 && !states.is_empty() && !states.contains(&lg.state.to_lowercase()) {
            continue;
        }
        if version >= 5 && !types.is_empty() && !types.iter().any(|t| t == lg.group_type.name()) {
            continue;
        }
        let mut g = ListedGroup::default();
        g.group_id = GroupId(s(lg.group_id));
        g.protocol_type = s(lg.protocol_type);
        if version >= 4 {
            g.group_state = s(lg.state);
        }
        if version >= 5 {
            g.group_type = s(lg.group_type.name());
        }
        resp.groups.push(g);
    }
    resp
}
