//! ApiVersions (key 18): advertises [`super::SUPPORTED`].
//!
//! Tagged fields are left at their defaults, so the v3+ encoder writes none of them — as Apache
//! Kafka does when a field equals its default. librdkafka 2.0.2 (Debian 12's kcat) fails with
//! "Read underflow" on replies that carry default-valued tagged fields. No feature flags are
//! advertised (`supported_features`, `finalized_features` empty, epoch -1). The KIP-511 fallback
//! for unsupported ApiVersions versions lives in `server::frame`.

use super::{Ctx, SUPPORTED};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

pub(crate) fn handle(_ctx: &Ctx, _version: i16, _req: ApiVersionsRequest) -> ApiVersionsResponse {
    response()
}

pub(crate) fn response() -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.error_code = 0;
    r.api_keys = SUPPORTED
        .iter()
        .map(|(k, lo, hi)| {
            let mut v = ApiVersion::default();
            v.api_key = *k as i16;
            v.min_version = *lo;
            v.max_version = *hi;
            v
        })
        .collect();
    r
}

/// KIP-511: the reply to an ApiVersions request of a version this broker does not know —
/// encoded as v0, error UNSUPPORTED_VERSION, listing only ApiVersions' own range (as Kafka does).
pub(crate) fn unsupported_version_response() -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    r.error_code = crate::codes::UNSUPPORTED_VERSION;
    let (lo, hi) = super::supported_range(kafka_protocol::messages::ApiKey::ApiVersions).unwrap_or((0, 0));
    let mut v = ApiVersion::default();
    v.api_key = kafka_protocol::messages::ApiKey::ApiVersions as i16;
    v.min_version = lo;
    v.max_version = hi;
    r.api_keys = vec![v];
    r
}
