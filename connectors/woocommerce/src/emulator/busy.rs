//! A busy host: 429 or 503 with `Retry-After` for the next N requests.
//!
//! WooCommerce documents no rate limit for `wc/v3`; throttling comes from the host, a WAF or a
//! maintenance page in front of WordPress, as 429 or 503 with `Retry-After` in seconds or as an
//! HTTP date (RFC 9110 §10.2.3). Tests choose which.

use super::wp_error::WpError;
use axum::http::header::RETRY_AFTER;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};

/// The pending busy answers: how many, which status, which `Retry-After`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Busy {
    inner: Arc<Mutex<BusyState>>,
}

#[derive(Debug, Default)]
struct BusyState {
    left: u64,
    status: u16,
    retry_after: String,
    served: u64,
}

impl Busy {
    /// Answers the next `n` requests with `status` and `Retry-After: retry_after`.
    pub(crate) fn set(&self, n: u64, status: u16, retry_after: &str) {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        s.left = n;
        s.status = status;
        s.retry_after = retry_after.to_string();
    }

    /// The busy answer for this request, if one is pending.
    pub(crate) fn take(&self) -> Option<Response> {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if s.left == 0 {
            return None;
        }
        s.left -= 1;
        s.served += 1;
        let e = WpError::new(
            s.status,
            "rest_too_many_requests",
            "Too many requests. Please wait and try again.",
        );
        let mut r = e.into_response();
        if let Ok(v) = HeaderValue::from_str(&s.retry_after) {
            r.headers_mut().insert(RETRY_AFTER, v);
        }
        Some(r)
    }

    /// Busy answers given so far.
    pub(crate) fn served(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).served
    }
}
