//! DeleteGroups (key 42), v0–v2: removes Empty groups and their committed offsets (tombstones in
//! `__consumer_offsets`). NON_EMPTY_GROUP while a group has members, GROUP_ID_NOT_FOUND for an
//! unknown one, NOT_COORDINATOR for a group coordinated elsewhere.

use super::Ctx;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

pub(crate) async fn handle(ctx: &Ctx, _version: i16, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let names: Vec<String> = req.groups_names.iter().map(|g| g.to_string()).collect();
    let results = ctx.broker.groups.delete_groups(&ctx.broker.offsets_log(), &names).await;
    let mut resp = DeleteGroupsResponse::default();
    resp.results = req
        .groups_names
        .into_iter()
        .zip(results)
        .map(|(g, code)| {
            let mut r = DeletableGroupResult::default();
            r.group_id = g;
            r.error_code = code;
            r
        })
        .collect();
    resp
}
