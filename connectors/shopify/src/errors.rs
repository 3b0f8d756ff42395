//! Turning Shopify failures into classified [`ConnectorError`]s.
//!
//! Shopify answers REST errors with `{"errors": "text"}` or `{"errors": {"field": ["msg"]}}`;
//! the flattened text goes into our message so an operator sees `title: can't be blank` rather
//! than a bare 422. A body that is not such JSON (a proxy's HTML page) keeps the status class
//! but is reported with its first bytes.

use crate::wire::ShopifyErrors;
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
    let parsed = serde_json::from_slice::<ShopifyErrors>(body).ok();
    let kind = match (status, &parsed) {
        (429, _) => ErrorKind::RateLimited,
        (500..=599, _) => ErrorKind::Transient,
        (400 | 406 | 422, Some(_)) => ErrorKind::Invalid,
        (s, _) => classify_status(s),
    };
    let detail = match &parsed {
        Some(e) => format!("HTTP {status}: {}", e.text()),
        None => format!(
            "HTTP {status} with a body that is not a Shopify error (starts with {:?})",
            snippet(body)
        ),
    };
    let hint = match kind {
        ErrorKind::Auth => "; check the Admin API access token and the app's access scopes",
        ErrorKind::RateLimited => "; the shop's API bucket is full, will retry after Retry-After",
        ErrorKind::Transient => "; will retry",
        ErrorKind::Invalid => "; the request was rejected and will not succeed unchanged",
        ErrorKind::NotFound => "; the record is gone or the id is wrong",
        ErrorKind::Protocol => "; check that the shop URL points at a Shopify store",
    };
    let retry_after = parse_retry_after(headers.get(RETRY_AFTER));
    ConnectorError::new(kind, SYSTEM, format!("{what}: {detail}{hint}")).with_retry_after(
        // Shopify always sends Retry-After on 429; a proxy's 429 may not, then wait one leak.
        retry_after.or((kind == ErrorKind::RateLimited).then(|| std::time::Duration::from_secs(1))),
    )
}

/// The first 120 characters of a body, for messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(120).collect()
}
