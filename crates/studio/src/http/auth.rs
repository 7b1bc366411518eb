//! The request checks, as pure functions: token, Host (DNS-rebinding defence) and Origin.

use base64::Engine as _;
use subtle::ConstantTimeEq;

/// Random bytes in a token (encoded as 43 base64url characters).
pub const TOKEN_BYTES: usize = 32;

/// A fresh per-run token from the OS random number generator, base64url without padding.
pub fn generate_token() -> std::io::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(format!("OS random number generator: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Constant-time comparison (in the token's content; the length is not secret).
pub fn token_matches(expected: &str, given: &str) -> bool {
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The token from an `Authorization: Bearer TOKEN` header value.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The `token` parameter of a query string (for WebSocket upgrades, which browsers cannot give headers).
pub fn query_token(query: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find_map(|(key, value)| (key == "token").then_some(value))
}

/// Host header values the studio answers: loopback names with the bound port, plus the bound
/// host itself when the user chose a non-loopback address. Anything else may be a DNS-rebinding
/// attack (a hostile page whose domain now resolves to 127.0.0.1).
pub fn host_allowed(host_header: &str, port: u16, bound_host: &str) -> bool {
    let host = host_header.trim().to_ascii_lowercase();
    let mut allowed = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
    let bound = bound_host.trim().to_ascii_lowercase();
    if !bound.is_empty() && bound != "0.0.0.0" && bound != "::" {
        if bound.contains(':') && !bound.starts_with('[') {
            allowed.push(format!("[{bound}]:{port}"));
        } else {
            allowed.push(format!("{bound}:{port}"));
        }
    }
    allowed.contains(&host)
}

/// An `Origin` header must name the same origin as the request (scheme http, same host:port).
pub fn origin_allowed(origin: &str, host_header: &str) -> bool {
    origin.trim().eq_ignore_ascii_case(&format!("http://{}", host_header.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_urlsafe() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn token_checks() {
        assert!(token_matches("abc", "abc"));
        assert!(!token_matches("abc", "abd"));
        assert!(!token_matches("abc", "abcd"));
        assert_eq!(bearer_token("Bearer xyz"), Some("xyz"));
        assert_eq!(bearer_token("bearer  xyz "), Some("xyz"));
        assert_eq!(bearer_token("Basic xyz"), None);
        assert_eq!(bearer_token("xyz"), None);
        assert_eq!(query_token("a=1&token=t%2Bk"), Some("t+k".into()));
        assert_eq!(query_token("a=1"), None);
    }

    #[test]
    fn host_checks_defend_against_rebinding() {
        assert!(host_allowed("127.0.0.1:8080", 8080, "127.0.0.1"));
        assert!(host_allowed("localhost:8080", 8080, "127.0.0.1"));
        assert!(host_allowed("LOCALHOST:8080", 8080, "127.0.0.1"));
        assert!(host_allowed("[::1]:8080", 8080, "127.0.0.1"));
        assert!(!host_allowed("127.0.0.1:8081", 8080, "127.0.0.1"));
        assert!(!host_allowed("evil.example:8080", 8080, "127.0.0.1"));
        assert!(!host_allowed("127.0.0.1", 8080, "127.0.0.1"));
        assert!(host_allowed("192.168.1.5:8080", 8080, "192.168.1.5"));
        assert!(!host_allowed("0.0.0.0:8080", 8080, "0.0.0.0"));
    }

    #[test]
    fn origin_must_be_same_origin() {
        assert!(origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(!origin_allowed("http://evil.example", "127.0.0.1:8080"));
        assert!(!origin_allowed("https://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(!origin_allowed("null", "127.0.0.1:8080"));
        assert!(!origin_allowed("http://localhost:8080", "127.0.0.1:8080"));
    }
}
