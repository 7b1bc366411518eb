//! DeleteTopics (key 20): by name (v1–v5) and by name or topic id (v6). The deletion goes through
//! the metadata log; every broker then closes its replicas' logs and removes their directories in
//! the background.

use super::{s, Ctx};
use crate::codes;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use uuid::Uuid;

pub(crate) async fn handle(ctx: &Ctx, version: i16, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let b = &ctx.broker;
    let mut resp = DeleteTopicsResponse::default();
    let targets: Vec<(Option<String>, Uuid)> = if version >= 6 {
        req.topics.iter().map(|t| (t.name.as_ref().map(|n| n.to_string()), t.topic_id)).collect()
    } else {
        req.topic_names.iter().map(|n| (Some(n.to_string()), Uuid::nil())).collect()
    };
    // Names resolved first (by id for v6), then every known topic deleted in one metadata command.
    let mut rows: Vec<(DeletableTopicResult, Option<String>)> = Vec::new();
    for (name, id) in targets {
        let mut r = DeletableTopicResult::default();
        let resolved = match (&name, id.is_nil()) {
            (Some(n), _) => Some(n.clone()),
            (None, false) => b.image().topic_by_id(id).map(|t| t.name.clone()),
            (None, true) => None,
        };
        let Some(n) = resolved else {
            r.name = None;
            if version >= 6 {
                r.topic_id = id;
            }
            r.error_code = if id.is_nil() { codes::INVALID_REQUEST } else { codes::UNKNOWN_TOPIC_ID };
            if version >= 5 {
                r.error_message = Some(s(codes::default_message(r.error_code)));
            }
            rows.push((r, None));
            continue;
        };
        r.name = Some(TopicName(s(n.clone())));
        rows.push((r, Some(n)));
    }
    let names: Vec<String> = rows.iter().filter_map(|(_, n)| n.clone()).collect();
    let mut outcomes = b.delete_topics(&names).await.into_iter();
    for (mut r, name) in rows {
        if name.is_some() {
            match outcomes.next().expect("one outcome per name") {
                Ok(tid) => {
                    if version >= 6 {
                        r.topic_id = tid;
                    }
                }
                Err(e) => {
                    r.error_code = e.code;
                    if version >= 5 {
                        r.error_message = Some(s(e.message));
                    }
                }
            }
        }
        resp.responses.push(r);
    }
    resp
}
