//! Turning amoCRM HTTP answers into classified [`ConnectorError`]s.
//!
//! amoCRM answers errors with `application/problem+json`; validation failures list field paths
//! under `validation-errors`. 429 bodies may be empty or HTML (the official PHP SDK copes with a
//! non-JSON 429), so classification goes by status first and only reads the body for detail.

use crate::wire::Problem;
use crate::SYSTEM;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::http::classify_status;
use std::time::Duration;

/// How long to wait after a 429 without `Retry-After`: amoCRM documents none, and its limit is
/// per second, so one second frees the budget.
pub(crate) const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(1);

/// Classifies a non-2xx answer. `what` names the call (`POST /api/v4/leads`); `config_name` the
/// `[systems.<name>]` section, so the message can say which setting to fix.
pub(crate) fn classify(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
    what: &str,
    config_name: &str,
) -> ConnectorError {
    let problem: Option<Problem> = serde_json::from_slice(body).ok();
    let detail = problem
        .as_ref()
        .map(|p| {
            if p.detail.is_empty() {
                p.title.clone()
            } else {
                p.detail.clone()
            }
        })
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let token = format!("systems.{config_name}.token");
    // A 429 page is the plain per-second limit (handled below, as the official SDK does); a
    // 5xx page is the overloaded account.
    if status >= 500 && problem.is_none() && looks_like_html(body) {
        return overloaded(status, retry_after, what);
    }
    let (kind, message, wait) = match status {
        400 | 422 => {
            let fields = problem
                .as_ref()
                .map(field_paths)
                .filter(|f| !f.is_empty())
                .map(|f| format!(": {f}"))
                .unwrap_or_default();
            (
                ErrorKind::Invalid,
                format!("{what}: amoCRM rejected the data ({detail}){fields}; fix the mapping or the source record, then retry the job"),
                None,
            )
        }
        401 => (
            ErrorKind::Auth,
            format!("{what}: amoCRM rejected the token ({detail}): check {token} (a long-lived token or a fresh OAuth access token) and the subdomain in the base URL"),
            None,
        ),
        403 => (
            ErrorKind::Auth,
            format!("{what}: amoCRM refused access ({detail}): the account may have blocked this IP for exceeding 7 requests per second, or the token's user lacks rights; check {token} and wait before retrying"),
            None,
        ),
        404 => (
            ErrorKind::NotFound,
            format!("{what}: amoCRM has no such record ({detail})"),
            None,
        ),
        429 => (
            ErrorKind::RateLimited,
            format!("{what}: amoCRM asked us to slow down (more than 7 requests per second); retrying after a pause"),
            Some(retry_after.unwrap_or(DEFAULT_THROTTLE_WAIT)),
        ),
        500..=599 => (
            ErrorKind::Transient,
            format!("{what}: amoCRM server error ({detail}); will retry"),
            retry_after,
        ),
        s => {
            let kind = classify_status(s);
            (kind, format!("{what}: amoCRM answered HTTP {s} ({detail})"), retry_after)
        }
    };
    ConnectorError::new(kind, SYSTEM, message).with_retry_after(wait)
}

/// How long to pause after an overloaded account's HTML page: longer than a 429's second,
/// because the page means the account (not just this client) is saturated. UNCONFIRMED: amoCRM
/// documents neither the page nor a wait; the official SDK only treats a non-JSON 429 as
/// "Too many requests".
pub(crate) const OVERLOAD_WAIT: Duration = Duration::from_secs(3);

/// Whether an answer body is an HTML page rather than JSON (an overloaded account's answer).
pub(crate) fn looks_like_html(body: &[u8]) -> bool {
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| body[i] == b'<')
}

/// An HTML page where JSON was expected: the account is overloaded. Throttling, retried after
/// [`OVERLOAD_WAIT`], never a protocol error that would dead-letter the job.
pub(crate) fn overloaded(status: u16, retry_after: Option<Duration>, what: &str) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::RateLimited,
        SYSTEM,
        format!("{what}: amoCRM answered HTTP {status} with an HTML page instead of JSON (the account is overloaded); pausing and retrying"),
    )
    .with_retry_after(Some(retry_after.unwrap_or(OVERLOAD_WAIT)))
}

/// `request 0: price (InvalidType: …); request 1: status_id (…)`.
fn field_paths(p: &Problem) -> String {
    p.validation_errors
        .iter()
        .flat_map(|entry| {
            entry.errors.iter().map(move |e| {
                format!(
                    "request {}: {} ({}: {})",
                    entry.request_id, e.path, e.code, e.detail
                )
            })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let k = |s| classify(s, None, b"", "GET /api/v4/leads", "crm").kind;
        assert_eq!(k(400), ErrorKind::Invalid);
        assert_eq!(k(401), ErrorKind::Auth);
        assert_eq!(k(403), ErrorKind::Auth);
        assert_eq!(k(404), ErrorKind::NotFound);
        assert_eq!(k(429), ErrorKind::RateLimited);
        assert_eq!(k(502), ErrorKind::Transient);
    }

    #[test]
    fn validation_errors_name_the_paths() {
        // The documented example body (amoCRM errors page, second-hand copy).
        let body = br#"{"validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice","path":"custom_fields_values.0.field_id","detail":"The value you selected is not a valid choice."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}"#;
        let e = classify(400, None, body, "POST /api/v4/leads", "crm");
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert!(
            e.message
                .contains("request 0: custom_fields_values.0.field_id (NotSupportedChoice"),
            "{}",
            e.message
        );
    }

    #[test]
    fn html_pages_are_throttling() {
        let page = b"\n<!DOCTYPE html><html><body>Service overloaded</body></html>";
        for status in [500, 502, 503, 504] {
            let e = classify(status, None, page, "POST /api/v4/leads", "crm");
            assert_eq!(e.kind, ErrorKind::RateLimited, "{status}");
            assert_eq!(e.retry_after, Some(OVERLOAD_WAIT));
        }
        let e = classify(429, None, page, "POST /api/v4/leads", "crm");
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert!(!looks_like_html(b"{\"title\":\"x\"}"));
        assert!(!looks_like_html(b""));
    }

    #[test]
    fn throttle_waits_a_second_by_default() {
        let e = classify(429, None, b"<html>", "GET /api/v4/leads", "crm");
        assert_eq!(e.retry_after, Some(DEFAULT_THROTTLE_WAIT));
        let e = classify(403, None, b"", "GET /api/v4/leads", "crm");
        assert!(e.message.contains("blocked this IP"), "{}", e.message);
    }
}
