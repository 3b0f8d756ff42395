//! Turning WooCommerce failures into classified [`ConnectorError`]s.
//!
//! WordPress answers errors with `{"code","message","data":{"status"}}`; the code and message
//! go into our message so an operator sees `woocommerce_rest_shop_order_invalid_id: Invalid ID.`
//! rather than a bare status. A body that is not JSON (a proxy's or PHP's HTML page) is a
//! protocol error: the request may not have reached WooCommerce at all, unless it is a 429 or a
//! 503 with `Retry-After` (a host throttling or in maintenance), which is `RateLimited`.

use crate::wire::WooError;
use crate::SYSTEM;
use dealbridge_sdk::http::{classify_status, parse_retry_after};
use dealbridge_sdk::{ConnectorError, ErrorKind};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Classifies a non-2xx answer from its status, headers and body.
pub(crate) fn error_from_response(
    what: &str,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> ConnectorError {
    let retry_after = parse_retry_after(headers.get(RETRY_AFTER));
    let parsed = serde_json::from_slice::<WooError>(body).ok();
    let kind = match (status, &parsed) {
        // 429 comes from hosts and WAFs as often as from WordPress; its body does not matter.
        (429, _) => ErrorKind::RateLimited,
        // A 503 that says when to come back is a host throttling or in maintenance, whatever
        // the page looks like: wait and retry, never dead-letter.
        (503, _) if retry_after.is_some() => ErrorKind::RateLimited,
        (_, None) => ErrorKind::Protocol,
        (401 | 403, _) => ErrorKind::Auth,
        (400, _) => ErrorKind::Invalid,
        (404, _) => ErrorKind::NotFound,
        (500..=599, _) => ErrorKind::Transient,
        (s, _) => classify_status(s),
    };
    let detail = match &parsed {
        Some(e) => format!("HTTP {status} {}: {}", e.code, e.message),
        None => format!(
            "HTTP {status} with a body that is not a WordPress error (starts with {:?})",
            snippet(body)
        ),
    };
    let hint = match kind {
        ErrorKind::Auth => {
            "; check consumer_key/consumer_secret and that the key has read_write permission"
        }
        ErrorKind::RateLimited | ErrorKind::Transient => "; will retry",
        ErrorKind::Invalid => "; the request was rejected and will not succeed unchanged",
        ErrorKind::NotFound => "; the record is gone or the id is wrong",
        ErrorKind::Protocol => {
            "; check that base_url points at the WordPress site and no proxy answers instead"
        }
    };
    ConnectorError::new(kind, SYSTEM, format!("{what}: {detail}{hint}"))
        .with_retry_after(retry_after)
}

/// The first bytes of a body, for error messages (never the whole page).
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(120)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::time::Duration;

    fn err(status: u16, body: &str) -> ConnectorError {
        error_from_response("get order 7", status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn wordpress_bodies_are_classified_by_status() {
        let e = err(
            404,
            r#"{"code":"woocommerce_rest_shop_order_invalid_id","message":"Invalid ID.","data":{"status":404}}"#,
        );
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert!(
            e.message
                .contains("woocommerce_rest_shop_order_invalid_id: Invalid ID."),
            "{}",
            e.message
        );
        assert_eq!(e.system, "woocommerce");
        let body = r#"{"code":"x","message":"m","data":{"status":0}}"#;
        assert_eq!(err(401, body).kind, ErrorKind::Auth);
        assert_eq!(err(400, body).kind, ErrorKind::Invalid);
        assert_eq!(err(500, body).kind, ErrorKind::Transient);
        assert_eq!(err(503, body).kind, ErrorKind::Transient);
        assert_eq!(err(413, body).kind, ErrorKind::Invalid);
    }

    #[test]
    fn html_is_a_protocol_error_naming_the_status() {
        let e = err(502, "<html><body>Bad Gateway</body></html>");
        assert_eq!(e.kind, ErrorKind::Protocol);
        assert!(e.message.contains("HTTP 502"), "{}", e.message);
    }

    #[test]
    fn throttling_carries_retry_after() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        let e = error_from_response("list orders", 429, &h, b"<html>slow down</html>");
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
        let e = error_from_response("list orders", 503, &h, b"<html>maintenance</html>");
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    }
}
