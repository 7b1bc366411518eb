//! The HTTP edge: axum routes over the command layer, the security checks, the embedded UI.
//!
//! Security model (the studio runs on a person's machine next to their browser):
//! - binds to loopback unless told otherwise;
//! - every `/api/*` request (the OpenAPI document included) needs `Authorization: Bearer TOKEN`,
//!   the WebSocket `?token=TOKEN`; the token is random per run; a request without it gets 401 and
//!   does nothing;
//! - the Host header must name the bound port on a loopback name (DNS-rebinding defence), and an
//!   Origin header, when present, must be this same origin: both 403 otherwise, for every path;
//! - no CORS headers at all, so other origins' pages cannot read responses.

pub mod api;
pub mod assets;
pub mod auth;
pub mod ws;

use crate::commands::{Studio, StudioOptions};
use crate::error::{Error, Result};
use crate::inside::InsideView;
use crate::model::ErrorBody;
use crate::profiles::StoredProfile;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// How long `shutdown` waits for in-flight requests; `oxbow serve` must stop within 5 s in all.
pub const SHUTDOWN_WAIT_MS: u64 = 1_000;
/// Request bodies larger than this are refused (a produce request carries one record's text).
pub const REQUEST_BODY_BYTES_MAX: usize = 4 * 1024 * 1024;

/// How to run the studio service.
pub struct StudioConfig {
    /// Address to bind; loopback unless the user means to expose the studio.
    pub host: String,
    /// 0 = any free port.
    pub port: u16,
    /// The per-run API token; [`StudioConfig::new`] makes a random one.
    pub token: String,
    /// Where connection profiles are stored; `None` keeps them in memory only.
    pub profiles_path: Option<PathBuf>,
    /// The profile the studio connects with first (built in, never written to the file).
    pub initial_profile: StoredProfile,
    /// Whether the initial profile is this process's embedded cluster.
    pub embedded: bool,
    /// The embedded broker's observer API (only in embedded mode).
    pub inside_view: Option<Arc<dyn InsideView>>,
}

impl StudioConfig {
    /// A config for `bootstrap_servers` on 127.0.0.1:`port` with a fresh random token.
    /// `embedded` names the built-in profile `embedded`, else `default`.
    pub fn new(bootstrap_servers: &str, port: u16, embedded: bool) -> Result<StudioConfig> {
        let token = auth::generate_token().map_err(|e| Error::Internal(format!("making the API token: {e}")))?;
        let name = if embedded { "embedded" } else { "default" };
        Ok(StudioConfig {
            host: "127.0.0.1".into(),
            port,
            token,
            profiles_path: crate::profiles::default_profiles_path(),
            initial_profile: StoredProfile::plaintext(name, bootstrap_servers),
            embedded,
            inside_view: None,
        })
    }
}

/// The shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub studio: Studio,
    token: Arc<str>,
    port: u16,
    bound_host: Arc<str>,
}

/// A running studio service.
pub struct StudioHandle {
    local_addr: SocketAddr,
    token: String,
    studio: Studio,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl StudioHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    /// The command layer, for in-process callers (the Tauri shell's commands).
    pub fn studio(&self) -> &Studio {
        &self.studio
    }

    /// `http://127.0.0.1:PORT/#token=TOKEN`: opening it is all a user does (the UI reads the token
    /// from the fragment, which browsers never send to servers).
    pub fn url_with_token(&self) -> String {
        let host = match self.local_addr.ip() {
            std::net::IpAddr::V4(ip) if ip.is_loopback() || ip.is_unspecified() => "127.0.0.1".to_string(),
            std::net::IpAddr::V6(ip) if ip.is_loopback() || ip.is_unspecified() => "[::1]".to_string(),
            std::net::IpAddr::V4(ip) => ip.to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        };
        format!("http://{host}:{}/#token={}", self.local_addr.port(), self.token)
    }

    /// Ends background tasks, stops accepting, closes WebSockets, then closes the cluster
    /// clients. Callers stop the cluster only after this, so nothing here waits on stopped brokers.
    pub async fn shutdown(self) {
        // The group sampler first: it would otherwise start a new round of requests at any tick.
        self.studio.stop_background().await;
        let _ = self.shutdown.send(true);
        // In-flight requests finish; open WebSockets end on the same signal.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(SHUTDOWN_WAIT_MS), self.task).await;
        // Blocking calls still in flight (the sampler's last read, a request past the wait above)
        // end now rather than at their own timeout (10 s), which the brokers stopping next would
        // let them wait out in full, and the runtime would wait for them at exit.
        self.studio.close_clients();
    }
}

impl Studio {
    /// Binds the listener and serves the API, the WebSocket and the UI until `shutdown`.
    pub async fn serve(config: StudioConfig) -> Result<StudioHandle> {
        if config.token.len() < 32 {
            return Err(Error::bad_input("token", "must be at least 32 characters"));
        }
        let studio = Studio::new(StudioOptions {
            initial_profile: config.initial_profile,
            embedded: config.embedded,
            profiles_path: config.profiles_path,
            inside_view: config.inside_view,
        })?;
        let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port)).await.map_err(|source| {
            Error::Io { what: format!("binding the studio to {}:{}", config.host, config.port), source }
        })?;
        let local_addr =
            listener.local_addr().map_err(|source| Error::Io { what: "reading the studio address".into(), source })?;
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let state = AppState {
            studio: studio.clone(),
            token: Arc::from(config.token.as_str()),
            port: local_addr.port(),
            bound_host: Arc::from(config.host.as_str()),
        };
        let app = router(state, shutdown_rx.clone());
        let mut stop = shutdown_rx;
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "studio server stopped");
            }
        });
        tracing::info!(addr = %local_addr, "studio listening");
        Ok(StudioHandle { local_addr, token: config.token, studio, shutdown, task })
    }
}

fn router(state: AppState, shutdown: tokio::sync::watch::Receiver<bool>) -> axum::Router {
    use axum::routing::get;
    api::routes()
        .route("/api/ws", get(ws::upgrade))
        .route("/api", axum::routing::any(api_not_found))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .fallback(get(ui).head(ui))
        .layer(axum::Extension(ws::Shutdown(shutdown)))
        .layer(axum::extract::DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

async fn ui(uri: axum::http::Uri) -> Response {
    assets::serve(uri.path())
}

async fn api_not_found(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError(Error::NotFound(format!("no API endpoint {method} {}", uri.path())))
}

/// Host, Origin and token checks, in that order, before any handler runs.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !auth::host_allowed(host, state.port, &state.bound_host) {
        return error_response(
            403,
            40301,
            format!("Host header {host:?} is not this studio's address (127.0.0.1:{})", state.port),
            None,
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !auth::origin_allowed(origin, host) {
            return error_response(
                403,
                40302,
                format!("Origin {origin:?} is not this studio's origin (http://{host})"),
                None,
            );
        }
    }
    let path = request.uri().path().to_string();
    if path == "/api" || path.starts_with("/api/") {
        let given = if path == "/api/ws" {
            request.uri().query().and_then(auth::query_token)
        } else {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(auth::bearer_token)
                .map(str::to_string)
        };
        let ok = given.as_deref().is_some_and(|given| auth::token_matches(&state.token, given));
        if !ok {
            let how = if path == "/api/ws" { "?token=TOKEN in the URL" } else { "Authorization: Bearer TOKEN" };
            let mut response = error_response(
                401,
                40101,
                format!("missing or wrong API token: send {how} (the token is in the studio URL's #token= fragment)"),
                None,
            );
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    let mut response = next.run(request).await;
    if path.starts_with("/api/") {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

pub fn error_response(status: u16, error_code: u32, message: String, kafka_error: Option<String>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(ErrorBody { error_code, message, kafka_error })).into_response()
}

/// An [`Error`] as an HTTP response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> ApiError {
        ApiError(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.0.status_and_code();
        if status >= 500 {
            tracing::warn!(error = %self.0, "studio request failed");
        }
        error_response(status, code, self.0.to_string(), self.0.kafka_error().map(str::to_string))
    }
}

/// A JSON body whose rejections are JSON errors naming what was wrong (400).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError(Error::bad_input("body", rejection.body_text()))),
        }
    }
}

/// A path parameter whose rejections are JSON errors.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError(Error::bad_input("path", rejection.body_text()))),
        }
    }
}

/// Query parameters as text, parsed by the handler (so errors name the parameter).
pub struct ApiQuery(pub std::collections::HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for ApiQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError(Error::bad_input("query", format!("not a valid query string: {e}"))))?;
        Ok(ApiQuery(pairs.into_iter().collect()))
    }
}

impl ApiQuery {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter parsed as `T`; an unparseable value is a 400 naming the parameter.
    pub fn parse<T: std::str::FromStr>(&self, name: &str, what: &str) -> Result<Option<T>, ApiError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiError(Error::bad_input(name, format!("{text:?} is not {what}")))),
        }
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.0.get(name).map(|s| s.trim().to_ascii_lowercase()) {
            None => Ok(None),
            Some(text) => match text.as_str() {
                "true" | "1" | "yes" => Ok(Some(true)),
                "false" | "0" | "no" => Ok(Some(false)),
                _ => Err(ApiError(Error::bad_input(name, format!("{text:?} is not true or false")))),
            },
        }
    }
}
