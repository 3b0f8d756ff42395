//! Shared HTTP plumbing: a client with sane timeouts, the [`ClientLimits`] every connector's
//! client takes and the [`RateLimiter`] it builds (one per remote account), [`send`] (wait on
//! the limiter, send, read the whole answer), and the generic part of turning an HTTP failure
//! into a classified [`ConnectorError`]. What a vendor's status codes and error bodies mean
//! stays in the connector.

use crate::error::{ConnectorError, ErrorKind};
use crate::metrics::RequestOutcome;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter as Governor};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Timeouts for one connector's HTTP client.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// TCP connect timeout.
    pub connect: Duration,
    /// Whole-request timeout, body included.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
        }
    }
}

/// Builds a `reqwest` client with our user agent and timeouts. Redirects are not followed: an
/// API that redirects is misconfigured (http→https), and following it would resend credentials.
pub fn client(timeouts: Timeouts) -> Result<reqwest::Client, reqwest::Error> {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(concat!("dealbridge/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// reqwest is built without a default TLS crypto provider (that would pull aws-lc's C build);
/// we install rustls' `ring` provider once per process.
fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider is installed already, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A rate limiter for one remote account (one Bitrix24 portal, one shop). Every request to that
/// account waits here first, so a connector stays inside the vendor's budget instead of
/// learning it from 429s.
#[derive(Clone)]
pub struct RateLimiter {
    inner: Arc<DefaultDirectRateLimiter>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimiter")
    }
}

impl RateLimiter {
    /// `per_second` requests per second sustained, with bursts up to `burst`.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let rate = NonZeroU32::new(per_second.max(1)).expect("nonzero");
        let burst = NonZeroU32::new(burst.max(1)).expect("nonzero");
        RateLimiter {
            inner: Arc::new(Governor::direct(Quota::per_second(rate).allow_burst(burst))),
        }
    }

    /// Like [`RateLimiter::new`], with `margin` added to every interval between requests. A
    /// vendor that counts requests per second at *its* end (amoCRM) can see requests spaced
    /// exactly `1/per_second` apart land one too many in a second after network jitter.
    pub fn with_margin(per_second: u32, burst: u32, margin: Duration) -> Self {
        let period = Duration::from_secs(1) / per_second.max(1) + margin;
        let burst = NonZeroU32::new(burst.max(1)).expect("nonzero");
        let quota = Quota::with_period(period)
            .expect("nonzero period")
            .allow_burst(burst);
        RateLimiter {
            inner: Arc::new(Governor::direct(quota)),
        }
    }

    /// Whether `other` is the same budget (a clone of this limiter), not just an equal one.
    pub fn same_as(&self, other: &RateLimiter) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Waits until one more request is allowed.
    pub async fn acquire(&self) {
        self.inner.until_ready().await;
    }
}

/// A client-side request budget (token bucket) for one remote account: `per_second` sustained,
/// `burst` at once after a quiet spell. The config's `rate_limit_per_second` /
/// `rate_limit_burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests that may go at once before the rate applies.
    pub burst: u32,
}

/// How fast one client may call its remote account. Every connector's client takes one, so a
/// configured limit reaches every system the same way; each request waits on the client's
/// [`RateLimiter`] before it is sent. Clones of a client share that limiter.
///
/// No `Default`: which budget a client gets is a choice (the config's, or a connector's own
/// constant such as `dealbridge_bitrix24::DEFAULT_LIMITS`), never an accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// The request budget; `None` sends as fast as the caller asks (a vendor may still pace
    /// itself from its own headers, as Shopify's client does).
    pub rate_limit: Option<RateLimit>,
}

impl ClientLimits {
    /// No client-side limit.
    pub const UNLIMITED: ClientLimits = ClientLimits { rate_limit: None };

    /// `per_second` sustained with bursts of `burst`.
    pub const fn rate(per_second: u32, burst: u32) -> Self {
        ClientLimits {
            rate_limit: Some(RateLimit { per_second, burst }),
        }
    }

    /// The limiter these limits describe, or `None` when unlimited.
    pub fn limiter(&self) -> Option<RateLimiter> {
        self.rate_limit
            .map(|r| RateLimiter::new(r.per_second, r.burst))
    }
}

/// Waits on `limiter`, when there is one. Every request of every client goes through here
/// first, so no client can forget the configured budget.
pub async fn wait_for(limiter: Option<&RateLimiter>) {
    if let Some(l) = limiter {
        l.acquire().await;
    }
}

/// One whole HTTP answer: status, headers and the body read to its end.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The answer's headers.
    pub headers: reqwest::header::HeaderMap,
    /// The whole body.
    pub body: axum::body::Bytes,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `Retry-After` the answer carries, in seconds (see [`parse_retry_after`]).
    pub fn retry_after(&self) -> Option<Duration> {
        parse_retry_after(self.headers.get(reqwest::header::RETRY_AFTER))
    }

    /// Decodes the body as JSON; a body of another shape is [`ErrorKind::Protocol`], with the
    /// start of the body and `hint` (what the operator should check) in the message.
    pub fn json<T: serde::de::DeserializeOwned>(
        &self,
        system: &'static str,
        what: &str,
        hint: &str,
    ) -> Result<T, ConnectorError> {
        serde_json::from_slice::<T>(&self.body).map_err(|e| {
            let head = String::from_utf8_lossy(&self.body[..self.body.len().min(120)]);
            let head = head.split_whitespace().collect::<Vec<_>>().join(" ");
            ConnectorError::new(
                ErrorKind::Protocol,
                system,
                format!(
                    "{what}: HTTP {} but the body is not the expected JSON ({e}); starts with {head:?}; {hint}",
                    self.status
                ),
            )
            .with_source(e)
        })
    }
}

/// The one way every client sends a request: waits on `limiter` (the configured budget), sends,
/// and reads the whole body. Only a transport failure is an error here, classified by
/// [`classify_transport`]; what a status or body means is the connector's to say, because only
/// it knows the vendor's error bodies.
///
/// Every request is counted ([`crate::metrics`]): `dealbridge_api_requests_total` by system and
/// outcome (a 429 is `throttled`) and its duration. A vendor that throttles with another status
/// uses [`send_with`].
pub async fn send(
    limiter: Option<&RateLimiter>,
    system: &'static str,
    what: &str,
    req: reqwest::RequestBuilder,
) -> Result<Answer, ConnectorError> {
    send_with(limiter, system, what, req, |_| false).await
}

/// [`send`], with `throttled` saying which answers (besides a 429) are the vendor's "too many
/// requests" (Bitrix24's 503 `QUERY_LIMIT_EXCEEDED`), so they are counted as `throttled`
/// rather than `server_error`. The time spent waiting on `limiter` is not part of the
/// request's duration.
pub async fn send_with(
    limiter: Option<&RateLimiter>,
    system: &'static str,
    what: &str,
    req: reqwest::RequestBuilder,
    throttled: fn(&Answer) -> bool,
) -> Result<Answer, ConnectorError> {
    wait_for(limiter).await;
    let started = std::time::Instant::now();
    let answer = receive(system, what, req).await;
    let outcome = match &answer {
        Ok(a) => RequestOutcome::of_status(a.status, throttled(a)),
        Err(_) => RequestOutcome::Network,
    };
    crate::metrics::record_request(system, outcome, started.elapsed());
    answer
}

/// Sends `req` and reads the whole answer.
async fn receive(
    system: &'static str,
    what: &str,
    req: reqwest::RequestBuilder,
) -> Result<Answer, ConnectorError> {
    // `without_url`: reqwest puts the URL in its errors, and a URL may hold a credential
    // (Bitrix24's webhook path, an OAuth `auth` parameter).
    let resp = req
        .send()
        .await
        .map_err(|e| classify_transport(system, what, e.without_url()))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    // A connection dropped mid-body surfaces here, and is as transient as one dropped earlier.
    let body = resp
        .bytes()
        .await
        .map_err(|e| classify_transport(system, what, e.without_url()))?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Classifies a transport-level failure (no HTTP answer at all).
pub fn classify_transport(system: &'static str, what: &str, err: reqwest::Error) -> ConnectorError {
    let kind = if err.is_builder() {
        ErrorKind::Invalid
    } else {
        ErrorKind::Transient
    };
    let msg = if err.is_timeout() {
        format!("{what}: timed out; will retry")
    } else if err.is_connect() {
        format!("{what}: cannot connect; check that the URL is right and the service is up")
    } else {
        format!("{what}: request failed: {err}")
    };
    ConnectorError::new(kind, system, msg).with_source(err)
}

/// Classifies an HTTP status the vendor-specific code did not recognise.
pub fn classify_status(status: u16) -> ErrorKind {
    match status {
        401 | 403 => ErrorKind::Auth,
        404 | 410 => ErrorKind::NotFound,
        408 | 425 | 500..=599 => ErrorKind::Transient,
        429 => ErrorKind::RateLimited,
        400..=499 => ErrorKind::Invalid,
        _ => ErrorKind::Protocol,
    }
}

/// Parses a `Retry-After` header: seconds (integer or float, as Shopify sends `2.0`) or an HTTP
/// date (RFC 9110 §10.2.3, as hosts and WAFs in front of WooCommerce send; a date in the past
/// is no wait).
pub fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_millis((secs * 1000.0) as u64));
    }
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    let left = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(left.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn status_classes() {
        assert_eq!(classify_status(503), ErrorKind::Transient);
        assert_eq!(classify_status(429), ErrorKind::RateLimited);
        assert_eq!(classify_status(400), ErrorKind::Invalid);
        assert_eq!(classify_status(401), ErrorKind::Auth);
        assert_eq!(classify_status(404), ErrorKind::NotFound);
    }

    #[test]
    fn retry_after_seconds() {
        let v = HeaderValue::from_static("2.0");
        assert_eq!(parse_retry_after(Some(&v)), Some(Duration::from_secs(2)));
        let v = HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse_retry_after(Some(&v)), Some(Duration::ZERO));
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let v = HeaderValue::from_str(&soon).unwrap();
        let wait = parse_retry_after(Some(&v)).unwrap();
        assert!(
            wait > Duration::from_secs(28) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        let v = HeaderValue::from_static("soon");
        assert_eq!(parse_retry_after(Some(&v)), None);
    }

    #[tokio::test]
    async fn limiter_spaces_requests_after_the_burst() {
        // 20/s with no burst: the 2nd and 3rd acquisitions must each wait ~50 ms.
        let l = RateLimiter::new(20, 1);
        let start = std::time::Instant::now();
        for _ in 0..3 {
            l.acquire().await;
        }
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
    }
}
