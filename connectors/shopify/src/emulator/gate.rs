//! What happens to every request before the route's logic: counting, latency, injected
//! faults, authentication, then the REST leaky bucket, in that order. Every answer to an
//! authenticated REST call carries `X-Shopify-Shop-Api-Call-Limit`; GraphQL calls skip the
//! REST bucket (they have their own, see `graphql`).

use super::server::ConnKill;
use super::EmulatorState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dealbridge_sdk::fault::FaultOutcome;
use serde_json::json;

/// Shopify's answer to an unknown or missing access token.
pub(crate) const INVALID_TOKEN: &str =
    "[API] Invalid API key or access token (unrecognized login or wrong password)";

/// The body of a 429 (as widely observed; exact text UNCONFIRMED in official docs).
pub(crate) const THROTTLED: &str =
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.";

/// The middleware: see the module docs.
pub(crate) async fn gate(State(st): State<EmulatorState>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let key = format!(
        "{method} {}",
        path.strip_prefix(&st.api_root).unwrap_or(&path)
    );
    st.counters.call(&key);

    let cfg = st.faults.get();
    if !cfg.latency.is_zero() {
        tokio::time::sleep(cfg.latency).await;
    }
    let kill = req.extensions().get::<ConnKill>().cloned();
    let outcome = st.faults.roll();
    match outcome {
        FaultOutcome::ServerError => {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
        FaultOutcome::Throttle => return throttled(&st, st.bucket.size()),
        FaultOutcome::Timeout => {
            tokio::time::sleep(cfg.hang).await;
            return drop_connection(kill).await;
        }
        FaultOutcome::Drop => return drop_connection(kill).await,
        FaultOutcome::DropAfterWrite | FaultOutcome::Pass => {}
    }

    let token = req
        .headers()
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(st.access_token.as_str()) {
        return error(StatusCode::UNAUTHORIZED, INVALID_TOKEN);
    }
    // GraphQL has its own calculated-cost bucket (see `graphql`), not the REST one.
    let rest = !key.ends_with("/graphql.json");
    let level = if rest {
        match st.bucket.take() {
            Ok(level) => Some(level),
            Err(level) => return throttled(&st, level),
        }
    } else {
        None
    };
    st.counters.served(&key);
    let mut response = next.run(req).await;
    if outcome == FaultOutcome::DropAfterWrite {
        return drop_connection(kill).await;
    }
    let Some(level) = level else {
        return response;
    };
    if let Ok(v) = HeaderValue::from_str(&st.bucket.header(level)) {
        response
            .headers_mut()
            .insert("x-shopify-shop-api-call-limit", v);
    }
    response
}

/// `{"errors": "text"}` with a status.
pub(crate) fn error(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "errors": text }))).into_response()
}

fn throttled(st: &EmulatorState, level: u32) -> Response {
    let mut r = error(StatusCode::TOO_MANY_REQUESTS, THROTTLED);
    let h = r.headers_mut();
    h.insert("retry-after", HeaderValue::from_static("2.0"));
    if let Ok(v) = HeaderValue::from_str(&st.bucket.header(level)) {
        h.insert("x-shopify-shop-api-call-limit", v);
    }
    r
}

/// Closes the connection without an answer (500 outside our own accept loop).
async fn drop_connection(kill: Option<ConnKill>) -> Response {
    match kill {
        Some(k) => {
            k.kill();
            std::future::pending::<Response>().await
        }
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}
