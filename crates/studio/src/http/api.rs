//! The `/api/*` handlers: thin adapters from HTTP to the command layer, annotated for the
//! OpenAPI document (`GET /api/openapi.json`).

use super::{ApiError, ApiJson, ApiPath, ApiQuery, AppState};
use crate::commands::BROWSE_LIMIT_MAX;
use crate::decode::{Decoder, Encoding};
use crate::error::Error;
use crate::model::*;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::OpenApi;

type ApiResult<T> = Result<T, ApiError>;

pub fn routes() -> axum::Router<AppState> {
    use axum::routing::{delete, get, post, put};
    axum::Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/replication", get(replication))
        .route("/api/events", get(cluster_events))
        .route("/api/faults", post(fault))
        .route("/api/cluster", get(cluster))
        .route("/api/metrics", get(metrics))
        .route("/api/charts/throughput.svg", get(throughput_svg))
        .route("/api/topics", get(list_topics).post(create_topic))
        .route("/api/topics/{name}", get(topic_detail).delete(delete_topic))
        .route("/api/topics/{name}/configs", get(topic_configs).patch(alter_topic_configs))
        .route("/api/topics/{name}/partitions", post(add_partitions))
        .route("/api/topics/{name}/offsets", get(topic_offsets))
        .route("/api/topics/{name}/messages", get(browse_messages).post(produce))
        .route("/api/topics/{name}/groups", get(topic_groups))
        .route("/api/topics/{name}/producers", get(topic_producers))
        .route("/api/transactions", get(list_transactions))
        .route("/api/groups", get(list_groups))
        .route("/api/groups/{id}", get(group_detail).delete(delete_group))
        .route("/api/groups/{id}/lag", get(group_lag))
        .route("/api/groups/{id}/timeline", get(group_timeline))
        .route("/api/groups/{id}/offsets/reset", post(reset_group_offsets))
        .route("/api/groups/{id}/offsets", delete(delete_group_offsets))
        .route("/api/partitioner", get(partitioner))
        .route("/api/profiles", get(list_profiles).post(save_profile))
        .route("/api/profiles/active", put(set_active_profile))
        .route("/api/profiles/{name}", delete(delete_profile))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Oxbow studio API",
        description = "The studio service's HTTP API. Every /api/* request needs `Authorization: Bearer TOKEN` \
            (the token is printed in the studio URL's #token= fragment); the WebSocket /api/ws takes ?token=TOKEN. \
            Errors are JSON: {error_code, message, kafka_error}."
    ),
    paths(
        cluster, metrics, throughput_svg, list_topics, create_topic, topic_detail, delete_topic, topic_configs,
        alter_topic_configs, add_partitions, topic_offsets, browse_messages, produce, partitioner, list_profiles,
        save_profile, delete_profile, set_active_profile, openapi_json, replication, cluster_events, fault,
        topic_groups, list_groups, group_detail, delete_group, group_lag, group_timeline, reset_group_offsets,
        delete_group_offsets, topic_producers, list_transactions
    ),
    components(schemas(Scope, Decoder, FilterIn, Encoding, Theme, ErrorBody, ResetStrategy)),
    modifiers(&BearerSecurity),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// Chart colours.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum Theme {
    Light,
    Dark,
}

struct BearerSecurity;

impl utoipa::Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI 3 document of this API (token-gated like every /api/* path).
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object),
              (status = 401, description = "Missing or wrong token", body = ErrorBody)))]
async fn openapi_json() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

/// Brokers, topic and partition counts, the active profile.
#[utoipa::path(get, path = "/api/cluster", tag = "cluster",
    responses((status = 200, body = ClusterOverview),
              (status = 401, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, description = "Cluster unreachable", body = ErrorBody)))]
async fn cluster(State(state): State<AppState>) -> ApiResult<Json<ClusterOverview>> {
    Ok(Json(state.studio.cluster_overview().await?))
}

/// Recent throughput per second (embedded cluster only; `available: false` with a reason otherwise).
#[utoipa::path(get, path = "/api/metrics", tag = "cluster",
    responses((status = 200, body = MetricsSeries), (status = 401, body = ErrorBody)))]
async fn metrics(State(state): State<AppState>) -> Json<MetricsSeries> {
    Json(state.studio.metrics())
}

/// Produce and fetch throughput as an SVG line chart.
#[utoipa::path(get, path = "/api/charts/throughput.svg", tag = "cluster",
    params(("width" = Option<u32>, Query, description = "Pixels, 100–4000 (default 600)", minimum = 100, maximum = 4000),
           ("height" = Option<u32>, Query, description = "Pixels, 100–4000 (default 200)", minimum = 100, maximum = 4000),
           ("theme" = Option<Theme>, Query, description = "light (default) or dark")),
    responses((status = 200, description = "The chart", content_type = "image/svg+xml", body = String),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn throughput_svg(State(state): State<AppState>, query: ApiQuery) -> ApiResult<Response> {
    let width = query.parse::<u32>("width", "a width in pixels")?.unwrap_or(600);
    let height = query.parse::<u32>("height", "a height in pixels")?.unwrap_or(200);
    let dark = match query.text("theme").unwrap_or("light") {
        "light" => false,
        "dark" => true,
        other => return Err(Error::bad_input("theme", format!("{other:?} is not light or dark")).into()),
    };
    let svg = state.studio.throughput_svg(width, height, dark)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// Topics with partition count, replication factor, record count (an estimate on compacted topics), size.
#[utoipa::path(get, path = "/api/topics", tag = "topics",
    params(("search" = Option<String>, Query, description = "Case-insensitive substring of the name"),
           ("include_internal" = Option<bool>, Query, description = "Include topics whose names start with __ (default false)")),
    responses((status = 200, body = Vec<TopicSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn list_topics(State(state): State<AppState>, query: ApiQuery) -> ApiResult<Json<Vec<TopicSummary>>> {
    let include_internal = query.boolean("include_internal")?.unwrap_or(false);
    Ok(Json(state.studio.list_topics(query.text("search"), include_internal).await?))
}

/// The embedded cluster's replication: per partition one lane per replica, and every broker's
/// fault state (embedded cluster only).
#[utoipa::path(get, path = "/api/replication", tag = "replication",
    params(("topic" = Option<String>, Query, description = "Only this topic's partitions"),
           ("brokers_only" = Option<bool>, Query, description = "Only the brokers' states, no partitions (cheap to poll)")),
    responses((status = 200, body = crate::replication::ReplicationView), (status = 400, description = "brokers_only is not true or false", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 501, description = "Not the embedded cluster", body = ErrorBody)))]
async fn replication(
    State(state): State<AppState>,
    query: ApiQuery,
) -> ApiResult<Json<crate::replication::ReplicationView>> {
    let brokers_only = query.parse::<bool>("brokers_only", "true or false")?.unwrap_or(false);
    Ok(Json(state.studio.replication(query.text("topic"), brokers_only).await?))
}

/// The cluster's event timeline after `since` (leader and ISR changes, truncations, controller
/// changes, fencing, faults), oldest first.
#[utoipa::path(get, path = "/api/events", tag = "replication",
    params(("since" = Option<i64>, Query, description = "Only events with a larger seq (default 0: every kept event)", minimum = 0)),
    responses((status = 200, body = Vec<crate::replication::ClusterEventView>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 501, body = ErrorBody)))]
async fn cluster_events(
    State(state): State<AppState>,
    query: ApiQuery,
) -> ApiResult<Json<Vec<crate::replication::ClusterEventView>>> {
    let since = query.parse::<i64>("since", "an event sequence number")?.unwrap_or(0);
    if since < 0 {
        return Err(ApiError(Error::bad_input("since", format!("{since}: an event sequence number is at least 0"))));
    }
    Ok(Json(state.studio.cluster_events(since as u64)?))
}

/// Injects or undoes a fault on one broker of the embedded cluster. Only from loopback: a
/// studio bound to another address still refuses faults from other machines.
#[utoipa::path(post, path = "/api/faults", tag = "replication", request_body = crate::replication::FaultRequest,
    responses((status = 200, body = crate::replication::BrokerFaultState), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, description = "Not from loopback", body = ErrorBody),
              (status = 404, description = "No such broker", body = ErrorBody),
              (status = 409, description = "Impossible in the broker's state (e.g. stopping a stopped broker)", body = ErrorBody),
              (status = 501, body = ErrorBody), (status = 503, description = "The broker could not start", body = ErrorBody)))]
async fn fault(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    ApiJson(request): ApiJson<crate::replication::FaultRequest>,
) -> ApiResult<Json<crate::replication::BrokerFaultState>> {
    if !peer.ip().is_loopback() {
        return Err(ApiError(Error::Forbidden(format!(
            "faults are accepted only from this machine, not from {}",
            peer.ip()
        ))));
    }
    Ok(Json(state.studio.fault(request).await?))
}

/// Creates a topic (Kafka's validation errors come back as 4xx with `kafka_error`).
#[utoipa::path(post, path = "/api/topics", tag = "topics", request_body = CreateTopicRequest,
    responses((status = 201, body = TopicSummary), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, description = "TOPIC_ALREADY_EXISTS", body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn create_topic(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateTopicRequest>,
) -> ApiResult<(StatusCode, Json<TopicSummary>)> {
    Ok((StatusCode::CREATED, Json(state.studio.create_topic(request).await?)))
}

/// Partitions (leader, replicas, ISR, offsets; segments in embedded mode) and a config summary.
#[utoipa::path(get, path = "/api/topics/{name}", tag = "topics", params(("name" = String, Path, description = "Topic name", pattern = r"^[a-zA-Z0-9._-]{1,249}$")),
    responses((status = 200, body = TopicDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn topic_detail(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<Json<TopicDetail>> {
    Ok(Json(state.studio.topic_detail(&name).await?))
}

/// Deletes a topic.
#[utoipa::path(delete, path = "/api/topics/{name}", tag = "topics", params(("name" = String, Path, description = "Topic name", pattern = r"^[a-zA-Z0-9._-]{1,249}$")),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn delete_topic(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<StatusCode> {
    state.studio.delete_topic(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every config of the topic with its source; sensitive values are never sent.
#[utoipa::path(get, path = "/api/topics/{name}/configs", tag = "topics", params(("name" = String, Path, description = "Topic name", pattern = r"^[a-zA-Z0-9._-]{1,249}$")),
    responses((status = 200, body = Vec<TopicConfigEntry>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn topic_configs(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Vec<TopicConfigEntry>>> {
    Ok(Json(state.studio.topic_configs(&name).await?))
}

/// Sets and deletes topic-level configs (IncrementalAlterConfigs); returns the configs after the change.
#[utoipa::path(patch, path = "/api/topics/{name}/configs", tag = "topics", params(("name" = String, Path, description = "Topic name", pattern = r"^[a-zA-Z0-9._-]{1,249}$")),
    request_body = AlterConfigsRequest,
    responses((status = 200, body = Vec<TopicConfigEntry>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn alter_topic_configs(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<AlterConfigsRequest>,
) -> ApiResult<Json<Vec<TopicConfigEntry>>> {
    Ok(Json(state.studio.alter_topic_configs(&name, request).await?))
}

/// Grows the topic to `count` partitions.
#[utoipa::path(post, path = "/api/topics/{name}/partitions", tag = "topics", params(("name" = String, Path, description = "Topic name", pattern = r"^[a-zA-Z0-9._-]{1,249}$")),
    request_body = AddPartitionsRequest,
    responses((status = 200, body = TopicDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn add_partitions(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<AddPartitionsRequest>,
) -> ApiResult<Json<TopicDetail>> {
    Ok(Json(state.studio.add_partitions(&name, request).await?))
}

/// Log start offset, high watermark (and, embedded, log end offset and segments) per partition.
#[utoipa::path(get, path = "/api/topics/{name}/offsets", tag = "topics", params(("name" = String, Path, description = "Topic name", pattern = r"^[a-zA-Z0-9._-]{1,249}$")),
    responses((status = 200, body = Vec<PartitionOffsets>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn topic_offsets(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Vec<PartitionOffsets>>> {
    Ok(Json(state.studio.partition_offsets(&name).await?))
}

fn parse_decoder(query: &ApiQuery, name: &str) -> ApiResult<Decoder> {
    Ok(Decoder::parse(name, query.text(name).unwrap_or("string"))?)
}

/// Reads records. `newest` is the last `limit` records across the selected partitions.
#[utoipa::path(get, path = "/api/topics/{name}/messages", tag = "messages",
    params(("name" = String, Path, description = "Topic name", pattern = r"^[a-zA-Z0-9._-]{1,249}$"),
           ("scope" = Option<Scope>, Query, description = "newest (default), oldest, offset or timestamp"),
           ("offset" = Option<i64>, Query, description = "Start offset in each partition (scope=offset)"),
           ("timestamp_ms" = Option<i64>, Query, description = "Start time, ms since the epoch (scope=timestamp)"),
           ("partitions" = Option<String>, Query, description = "Comma-separated partition ids, e.g. 0,2 (default: all)"),
           ("limit" = Option<u32>, Query, description = "Records to return, 1–5000 (default 100)", minimum = 1, maximum = 5000),
           ("key_decoder" = Option<Decoder>, Query, description = "Default string"),
           ("value_decoder" = Option<Decoder>, Query, description = "Default string"),
           ("filter" = Option<String>, Query, description = "Case-insensitive substring to look for"),
           ("filter_in" = Option<FilterIn>, Query, description = "Where to look: key, value, headers or all (default)")),
    responses((status = 200, body = MessagePage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn browse_messages(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    query: ApiQuery,
) -> ApiResult<Json<MessagePage>> {
    let scope = match query.text("scope").unwrap_or("newest") {
        "newest" => Scope::Newest,
        "oldest" => Scope::Oldest,
        "offset" => Scope::Offset,
        "timestamp" => Scope::Timestamp,
        other => {
            return Err(
                Error::bad_input("scope", format!("{other:?} is not newest, oldest, offset or timestamp")).into()
            )
        }
    };
    let partitions = match query.text("partitions").map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(
            text.split(',')
                .map(|p| {
                    p.trim()
                        .parse::<i32>()
                        .map_err(|_| Error::bad_input("partitions", format!("{p:?} is not a partition id")))
                })
                .collect::<Result<Vec<i32>, Error>>()?,
        ),
    };
    let limit = query.parse::<i64>("limit", "a number of records")?.unwrap_or(100);
    if !(1..=BROWSE_LIMIT_MAX as i64).contains(&limit) {
        return Err(Error::bad_input("limit", format!("must be between 1 and {BROWSE_LIMIT_MAX}, got {limit}")).into());
    }
    let filter_in = match query.text("filter_in").unwrap_or("all") {
        "all" => FilterIn::All,
        "key" => FilterIn::Key,
        "value" => FilterIn::Value,
        "headers" => FilterIn::Headers,
        other => {
            return Err(Error::bad_input("filter_in", format!("{other:?} is not key, value, headers or all")).into())
        }
    };
    let request = BrowseRequest {
        scope,
        offset: query.parse("offset", "an offset")?,
        timestamp_ms: query.parse("timestamp_ms", "a time in ms since the epoch")?,
        partitions,
        limit: limit as usize,
        key_decoder: parse_decoder(&query, "key_decoder")?,
        value_decoder: parse_decoder(&query, "value_decoder")?,
        filter: query.text("filter").map(str::to_string),
        filter_in,
    };
    Ok(Json(state.studio.browse_messages(&name, request).await?))
}

/// Produces `count` copies of one record (keyed or keyless); returns where the first 1,000 landed.
#[utoipa::path(post, path = "/api/topics/{name}/messages", tag = "messages", params(("name" = String, Path, description = "Topic name", pattern = r"^[a-zA-Z0-9._-]{1,249}$")),
    request_body = ProduceRequest,
    responses((status = 200, body = ProduceResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn produce(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiJson(request): ApiJson<ProduceRequest>,
) -> ApiResult<Json<ProduceResult>> {
    Ok(Json(state.studio.produce(&name, request).await?))
}

/// Which partition a key hashes to under Java's (murmur2) and librdkafka's (CRC32) default partitioners.
#[utoipa::path(get, path = "/api/partitioner", tag = "messages",
    params(("key" = String, Query, description = "The key as text in `encoding`"),
           ("partitions" = i32, Query, description = "Partition count, 1–100000", minimum = 1, maximum = 100000),
           ("encoding" = Option<Encoding>, Query, description = "string (default), json, hex or base64")),
    responses((status = 200, body = PartitionerAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn partitioner(State(state): State<AppState>, query: ApiQuery) -> ApiResult<Json<PartitionerAnswer>> {
    let key = query.text("key").ok_or_else(|| Error::bad_input("key", "required"))?;
    let partitions = query
        .parse::<i64>("partitions", "a partition count")?
        .ok_or_else(|| Error::bad_input("partitions", "required"))?;
    let partitions =
        i32::try_from(partitions).map_err(|_| Error::bad_input("partitions", "must be between 1 and 100000"))?;
    let encoding = Encoding::parse("encoding", query.text("encoding").unwrap_or("string"))?;
    Ok(Json(state.studio.key_partition(key, partitions, encoding)?))
}

/// Connection profiles (secrets are never returned: `has_password` says whether one is stored).
#[utoipa::path(get, path = "/api/profiles", tag = "profiles",
    responses((status = 200, body = ProfileList), (status = 401, body = ErrorBody)))]
async fn list_profiles(State(state): State<AppState>) -> Json<ProfileList> {
    Json(state.studio.profiles())
}

/// Saves a profile (creates it, or replaces the one with the same name).
#[utoipa::path(post, path = "/api/profiles", tag = "profiles", request_body = ProfileInput,
    responses((status = 201, body = ProfileView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 500, description = "The profiles file could not be written", body = ErrorBody)))]
async fn save_profile(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ProfileInput>,
) -> ApiResult<(StatusCode, Json<ProfileView>)> {
    Ok((StatusCode::CREATED, Json(state.studio.save_profile(input)?)))
}

/// Deletes a stored profile (not the built-in or the active one).
#[utoipa::path(delete, path = "/api/profiles/{name}", tag = "profiles", params(("name" = String, Path, description = "Profile name", pattern = r"^[A-Za-z0-9 ._-]{1,64}$")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 500, description = "The profiles file could not be written", body = ErrorBody)))]
async fn delete_profile(State(state): State<AppState>, ApiPath(name): ApiPath<String>) -> ApiResult<StatusCode> {
    state.studio.delete_profile(&name)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Switches the active profile; the studio's clients are rebuilt for it.
#[utoipa::path(put, path = "/api/profiles/active", tag = "profiles", request_body = ActiveProfileRequest,
    responses((status = 200, body = ProfileList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_active_profile(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ActiveProfileRequest>,
) -> ApiResult<Json<ProfileList>> {
    Ok(Json(state.studio.set_active_profile(&request.name)?))
}

/// Every consumer group's committed offsets on this topic (for the partition strips' markers).
#[utoipa::path(get, path = "/api/topics/{name}/groups", tag = "groups", params(("name" = String, Path, description = "Topic name", pattern = r"^[a-zA-Z0-9._-]{1,249}$")),
    responses((status = 200, body = Vec<TopicGroupOffsets>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 501, body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn topic_groups(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Vec<TopicGroupOffsets>>> {
    Ok(Json(state.studio.topic_groups(&name).await?))
}

/// Each partition of a topic with the producers its leader keeps (DescribeProducers), their open
/// transactions and the partition's last stable offset.
#[utoipa::path(get, path = "/api/topics/{name}/producers", tag = "transactions", params(("name" = String, Path, description = "Topic name", pattern = r"^[a-zA-Z0-9._-]{1,249}$")),
    responses((status = 200, body = TopicProducers), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
async fn topic_producers(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<TopicProducers>> {
    Ok(Json(state.studio.topic_producers(&name).await?))
}

/// The cluster's transactional ids (every broker's ListTransactions, then DescribeTransactions):
/// state, producer id and epoch, timeout, start time and partitions; open ones first.
#[utoipa::path(get, path = "/api/transactions", tag = "transactions",
    params(("search" = Option<String>, Query, description = "Case-insensitive substring of the transactional id"),
           ("state" = Option<String>, Query, description = "Only transactions in this state: Ongoing, PrepareCommit, PrepareAbort, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort or Dead")),
    responses((status = 200, body = TransactionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 501, body = ErrorBody), (status = 502, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
async fn list_transactions(State(state): State<AppState>, query: ApiQuery) -> ApiResult<Json<TransactionList>> {
    Ok(Json(state.studio.transactions(query.text("search"), query.text("state")).await?))
}

/// Consumer groups with state, type, protocol, members, topics and total lag (the high watermark
/// minus the committed offset, summed over partitions).
#[utoipa::path(get, path = "/api/groups", tag = "groups",
    params(("search" = Option<String>, Query, description = "Case-insensitive substring of the group id"),
           ("state" = Option<String>, Query, description = "Only groups in this state: Stable, PreparingRebalance, CompletingRebalance, Empty, Dead or Unknown")),
    responses((status = 200, body = GroupList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 501, body = ErrorBody), (status = 502, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
async fn list_groups(State(state): State<AppState>, query: ApiQuery) -> ApiResult<Json<GroupList>> {
    Ok(Json(state.studio.list_groups(query.text("search"), query.text("state")).await?))
}

/// One consumer group: state, protocol, coordinator, members with their partitions, and per
/// partition the committed offset, high watermark, lag and owner.
#[utoipa::path(get, path = "/api/groups/{id}", tag = "groups", params(("id" = String, Path, description = "Group id", pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,255}$")),
    responses((status = 200, body = GroupDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 501, body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn group_detail(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<GroupDetail>> {
    Ok(Json(state.studio.group_detail(&id).await?))
}

/// Deletes a consumer group and its committed offsets. A group with members is refused (409,
/// NON_EMPTY_GROUP); a cluster without DeleteGroups answers 501.
#[utoipa::path(delete, path = "/api/groups/{id}", tag = "groups", params(("id" = String, Path, description = "Group id", pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,255}$")),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "The group has members (NON_EMPTY_GROUP)", body = ErrorBody),
              (status = 501, description = "The cluster does not support DeleteGroups", body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn delete_group(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    state.studio.delete_group(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The group's lag sampled every 2 s over the last 10 minutes (total and per partition).
#[utoipa::path(get, path = "/api/groups/{id}/lag", tag = "groups", params(("id" = String, Path, description = "Group id", pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,255}$")),
    responses((status = 200, body = GroupLagSeries), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 501, body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn group_lag(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<GroupLagSeries>> {
    Ok(Json(state.studio.group_lag(&id).await?))
}

/// What changed in the group between samples (state, members joining and leaving, assignments),
/// oldest first, over the last 10 minutes.
#[utoipa::path(get, path = "/api/groups/{id}/timeline", tag = "groups", params(("id" = String, Path, description = "Group id", pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,255}$")),
    responses((status = 200, body = Vec<GroupEventView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 501, body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn group_timeline(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<GroupEventView>>> {
    Ok(Json(state.studio.group_timeline(&id).await?))
}

/// Resets the group's committed offsets (earliest, latest, timestamp, offset or shift, clamped
/// into the log as `kafka-consumer-groups.sh --reset-offsets` does): a preview with
/// `dry_run: true` (the default), committed otherwise. Refused (409) while the group is active.
#[utoipa::path(post, path = "/api/groups/{id}/offsets/reset", tag = "groups", params(("id" = String, Path, description = "Group id", pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,255}$")),
    request_body = ResetOffsetsRequest,
    responses((status = 200, body = ResetResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, description = "A named topic does not exist", body = ErrorBody),
              (status = 409, description = "The group is active", body = ErrorBody), (status = 501, body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn reset_group_offsets(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<ResetOffsetsRequest>,
) -> ApiResult<Json<ResetResult>> {
    Ok(Json(state.studio.reset_group_offsets(&id, request).await?))
}

/// Deletes the group's committed offsets of one topic (OffsetDelete). Refused (409,
/// GROUP_SUBSCRIBED_TO_TOPIC) while a member reads the topic; 501 when the cluster lacks OffsetDelete.
#[utoipa::path(delete, path = "/api/groups/{id}/offsets", tag = "groups",
    params(("id" = String, Path, description = "Group id", pattern = r"^[^\x00-\x1f\x7f-\x9f]{1,255}$"),
           ("topic" = String, Query, description = "The topic whose committed offsets go", pattern = r"^[a-zA-Z0-9._-]{1,249}$")),
    responses((status = 204, description = "Deleted"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "A member reads the topic (GROUP_SUBSCRIBED_TO_TOPIC)", body = ErrorBody),
              (status = 501, description = "The cluster does not support OffsetDelete", body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn delete_group_offsets(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    query: ApiQuery,
) -> ApiResult<StatusCode> {
    let topic =
        query.text("topic").ok_or_else(|| Error::bad_input("topic", "required: the topic whose offsets to delete"))?;
    state.studio.delete_group_offsets(&id, topic).await?;
    Ok(StatusCode::NO_CONTENT)
}
