//! Consumer key / secret checking, in WooCommerce's order: the `consumer_key` /
//! `consumer_secret` query parameters first, then HTTP Basic.
//!
//! WooCommerce's outcomes differ by what is wrong: a known key with a wrong secret is an
//! authentication error ("Consumer secret is invalid.") on any route; no credentials or an
//! unknown key leave the request anonymous, and the endpoint's permission check then refuses
//! it with its own code (`woocommerce_rest_cannot_view`, …), also 401.

use super::wp_error::WpError;
use axum::http::{header::AUTHORIZATION, HeaderMap};
use base64::Engine;

/// What the credentials on a request amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// Key and secret match.
    Valid,
    /// Nothing usable, or a key the shop does not know: the request is anonymous.
    Anonymous,
    /// A known key with the wrong secret.
    WrongSecret,
}

/// Checks the request's credentials against the configured pair.
pub(crate) fn check(
    headers: &HeaderMap,
    query: &[(String, String)],
    key: &str,
    secret: &str,
) -> Credentials {
    let from_query = || {
        let k = query.iter().find(|(n, _)| n == "consumer_key")?.1.clone();
        let s = query
            .iter()
            .find(|(n, _)| n == "consumer_secret")?
            .1
            .clone();
        (!k.is_empty() && !s.is_empty()).then_some((k, s))
    };
    let Some((k, s)) = from_query().or_else(|| basic(headers)) else {
        return Credentials::Anonymous;
    };
    if !constant_time_eq(k.as_bytes(), key.as_bytes()) {
        return Credentials::Anonymous;
    }
    if constant_time_eq(s.as_bytes(), secret.as_bytes()) {
        Credentials::Valid
    } else {
        Credentials::WrongSecret
    }
}

/// The 401 for a known key with a wrong secret.
pub(crate) fn wrong_secret() -> WpError {
    WpError::new(
        401,
        "woocommerce_rest_authentication_error",
        "Consumer secret is invalid.",
    )
}

/// The 401 an endpoint's permission check gives an anonymous request.
pub(crate) fn permission_denied(method: &str, path: &str) -> WpError {
    let item = !path.ends_with("/orders");
    let (code, message) = match (method, item) {
        (_, _) if path.ends_with("/batch") => (
            "woocommerce_rest_cannot_batch",
            "Sorry, you are not allowed to batch manipulate this resource.",
        ),
        ("GET", false) => (
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ),
        ("GET", true) => (
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        ),
        ("POST", false) => (
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        ),
        ("DELETE", _) => (
            "woocommerce_rest_cannot_delete",
            "Sorry, you are not allowed to delete this resource.",
        ),
        _ => (
            "woocommerce_rest_cannot_edit",
            "Sorry, you are not allowed to edit this resource.",
        ),
    };
    WpError::new(401, code, message)
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (k, s) = text.split_once(':')?;
    (!k.is_empty() && !s.is_empty()).then(|| (k.to_string(), s.to_string()))
}

/// Compares without an early exit, so response time does not leak how much of a secret matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn basic_header(k: &str, s: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{k}:{s}"));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {enc}")).unwrap(),
        );
        h
    }

    #[test]
    fn basic_and_query_credentials() {
        assert_eq!(
            check(&basic_header("ck", "cs"), &[], "ck", "cs"),
            Credentials::Valid
        );
        assert_eq!(
            check(&basic_header("ck", "no"), &[], "ck", "cs"),
            Credentials::WrongSecret
        );
        assert_eq!(
            check(&basic_header("other", "cs"), &[], "ck", "cs"),
            Credentials::Anonymous
        );
        assert_eq!(
            check(&HeaderMap::new(), &[], "ck", "cs"),
            Credentials::Anonymous
        );
        let q = vec![
            ("consumer_key".to_string(), "ck".to_string()),
            ("consumer_secret".to_string(), "cs".to_string()),
        ];
        assert_eq!(check(&HeaderMap::new(), &q, "ck", "cs"), Credentials::Valid);
    }
}
