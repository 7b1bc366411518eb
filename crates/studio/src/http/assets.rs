//! The built UI, embedded at compile time (see build.rs), served with SPA fallback.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/ui_files.rs"));

/// Served at `/` when `ui/dist` did not exist at build time.
const NOT_BUILT_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Oxbow studio</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;line-height:1.5}code{background:#eee;padding:.1rem .3rem}</style>
</head><body>
<h1>Oxbow studio</h1>
<p>The studio API is running, but this binary was built without the web UI.</p>
<p>Build the UI and then the binary again:</p>
<pre><code>cd ui &amp;&amp; npm install &amp;&amp; npm run build &amp;&amp; cd .. &amp;&amp; cargo build -p oxbow</code></pre>
<p>The API is described at <code>/api/openapi.json</code> (send <code>Authorization: Bearer TOKEN</code>).</p>
</body></html>
"#;

fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

fn find(path: &str) -> Option<&'static [u8]> {
    UI_FILES.iter().find(|(name, _)| *name == path).map(|(_, bytes)| *bytes)
}

/// The response for a non-API path: the file if it exists, else index.html (SPA routes).
/// Vite puts content-hashed names under `assets/`, which may be cached for a year; everything
/// else (index.html above all) must be revalidated so a new build shows at once.
pub fn serve(path: &str) -> Response {
    let path = path.trim_start_matches('/');
    if !UI_BUILT {
        return page(NOT_BUILT_PAGE.as_bytes(), "index.html", false);
    }
    if !path.is_empty() {
        if let Some(bytes) = find(path) {
            return page(bytes, path, path.starts_with("assets/"));
        }
        // A missing file with an extension (a stale asset link) is a plain 404, not the SPA.
        let last = path.rsplit('/').next().unwrap_or("");
        if last.contains('.') && !last.ends_with(".html") {
            return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found")
                .into_response();
        }
    }
    match find("index.html") {
        Some(bytes) => page(bytes, "index.html", false),
        None => page(NOT_BUILT_PAGE.as_bytes(), "index.html", false),
    }
}

fn page(bytes: &'static [u8], path: &str, immutable: bool) -> Response {
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if path.ends_with(".html") {
        // The UI is never framed (clickjacking) and loads only its own resources.
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("assets/app-1234.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("a.CSS"), "text/css; charset=utf-8");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }

    #[test]
    fn root_and_spa_routes_get_html() {
        for path in ["/", "/topics/orders", "/cluster"] {
            let response = serve(path);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        }
    }
}
