//! What happens to every request before the route's logic: counting, latency, injected
//! faults, and authentication, in that order (faults model the network and the web server in
//! front of WordPress, so they strike before WordPress looks at credentials).

use super::auth::{self, Credentials};
use super::server::ConnKill;
use super::wp_error::WpError;
use super::{EmulatorState, API_ROOT};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header::RETRY_AFTER, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dealbridge_sdk::fault::FaultOutcome;
use serde_json::json;

/// The middleware: see the module docs.
pub(crate) async fn gate(State(st): State<EmulatorState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let path = matched
        .clone()
        .unwrap_or_else(|| req.uri().path().to_string());
    let key = format!("{method} {}", path.strip_prefix(API_ROOT).unwrap_or(&path));
    st.counters.call(&key);

    let cfg = st.faults.get();
    if !cfg.latency.is_zero() {
        tokio::time::sleep(cfg.latency).await;
    }
    if let Some(busy) = st.busy.take() {
        return busy;
    }
    let kill = req.extensions().get::<ConnKill>().cloned();
    let outcome = st.faults.roll();
    match outcome {
        FaultOutcome::ServerError => return server_error(),
        FaultOutcome::Throttle => return throttled(),
        FaultOutcome::Timeout => {
            tokio::time::sleep(cfg.hang).await;
            return drop_connection(kill).await;
        }
        FaultOutcome::Drop => return drop_connection(kill).await,
        FaultOutcome::DropAfterWrite | FaultOutcome::Pass => {}
    }

    let query = super::routes::query_pairs(req.uri().query());
    match auth::check(req.headers(), &query, &st.consumer_key, &st.consumer_secret) {
        Credentials::Valid => {}
        Credentials::WrongSecret => return auth::wrong_secret().into_response(),
        // An anonymous request to an unknown route still gets `rest_no_route` from the fallback.
        Credentials::Anonymous if matched.is_some() => {
            return auth::permission_denied(&method, &path).into_response()
        }
        Credentials::Anonymous => {}
    }
    if matched.is_some() {
        st.counters.served(&key);
    }
    let response = next.run(req).await;
    if outcome == FaultOutcome::DropAfterWrite {
        return drop_connection(kill).await;
    }
    response
}

/// WordPress' fatal-error answer on a REST route.
fn server_error() -> Response {
    let body = json!({
        "code": "internal_server_error",
        "message": "<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>",
        "data": {"status": 500},
        "additional_errors": []
    });
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

/// A host/WAF-style throttle. WooCommerce itself documents no rate limit for `wc/v3`; the body
/// shape here is the WordPress one, which real proxies may not use.
fn throttled() -> Response {
    let e = WpError::new(
        429,
        "rest_too_many_requests",
        "Too many requests. Please wait and try again.",
    );
    let mut r = e.into_response();
    r.headers_mut()
        .insert(RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
    r
}

/// Closes the connection without an answer. Outside our own accept loop (a bare
/// [`super::router`] under `axum::serve`) there is no connection to kill, so it answers 500.
async fn drop_connection(kill: Option<ConnKill>) -> Response {
    match kill {
        Some(k) => {
            k.kill();
            // The connection task drops this future together with the socket.
            std::future::pending::<Response>().await
        }
        None => server_error(),
    }
}
