//! The HTTP server: `/healthz`, `/status` (JSON, or a small page for browsers) and `/metrics`
//! (the Prometheus text format, see [`crate::metrics`]). Webhooks are in [`webhooks`]; the 1C
//! exchange endpoint lives in [`onec`].

pub mod console;
pub mod html;
pub mod webhooks;

use crate::metrics::cached::DbGauges;
use crate::status::StatusReport;
use crate::sync::supervisor::{Health, LoopHealth};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dealbridge_store::Store;
use std::fmt::Write as _;
use std::sync::Arc;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The store the status is read from.
    pub store: Store,
    /// The engine's loops, when an engine runs beside the server (`run`, `sandbox`); `None`
    /// serves the database's view only.
    pub health: Option<Arc<Health>>,
    /// The database gauges of `/metrics`, read at most every few seconds.
    pub gauges: Arc<DbGauges>,
    /// `[server] metrics_token`: when set, `/metrics` wants `Authorization: Bearer <token>`.
    pub metrics_token: Option<crate::config::Secret>,
}

impl AppState {
    /// The state over `store`, with the engine's loop `health` when an engine runs beside it.
    pub fn new(store: Store, health: Option<Arc<Health>>) -> Self {
        AppState {
            gauges: Arc::new(DbGauges::new(store.clone())),
            store,
            health,
            metrics_token: None,
        }
    }

    /// The same, with the `/metrics` gauges of waiting jobs labelled by `config`'s flows
    /// (without it they all count under `flow="none"`).
    pub fn with_flows(mut self, config: Arc<crate::config::Config>) -> Self {
        self.gauges = Arc::new(DbGauges::new(self.store.clone()).with_config(config));
        self
    }

    /// The same, with `/metrics` closed by a bearer token.
    pub fn with_metrics_token(mut self, token: Option<crate::config::Secret>) -> Self {
        self.metrics_token = token;
        self
    }
}

/// Whether the request carries `Authorization: Bearer <token>` (compared in constant time).
fn bearer_ok(headers: &HeaderMap, token: &crate::config::Secret) -> bool {
    use subtle::ConstantTimeEq;
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(token.expose().as_bytes())))
}

/// The router with every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// [`router`] plus other routes mounted beside it (the 1C exchange endpoint, when configured).
pub fn router_with(state: AppState, extra: Option<Router>) -> Router {
    let main = router(state);
    match extra {
        Some(e) => main.merge(e),
        None => main,
    }
}

/// Healthy when no engine loop has been failing longer than its bound and the database
/// answers; otherwise 503 with the reason in plain text.
async fn healthz(State(state): State<AppState>) -> Response {
    // The loops first: they need no database, so the answer stays quick while it struggles.
    if let Some(health) = &state.health {
        let failing = health.failing(chrono::Utc::now());
        if !failing.is_empty() {
            return (StatusCode::SERVICE_UNAVAILABLE, failing_reason(&failing)).into_response();
        }
    }
    match state.store.queue().pending_count().await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {e}\n"),
        )
            .into_response(),
    }
}

/// One line per failing loop: its name, since when, how many failures, the last error.
fn failing_reason(failing: &[LoopHealth]) -> String {
    let mut out = String::new();
    for l in failing {
        let since = l
            .failing_since
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "loop `{}` failing since {since} ({} failures in a row): {}",
            l.name,
            l.consecutive_failures,
            l.last_error.as_deref().unwrap_or("unknown error")
        );
    }
    out
}

async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut report = match StatusReport::gather(&state.store).await {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database unavailable: {e}\n"),
            )
                .into_response()
        }
    };
    if let Some(health) = &state.health {
        report.loops = health.snapshot();
    }
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html {
        let body = html_escape(&report.to_string());
        Html(format!(
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5><title>dealbridge status</title><h1>dealbridge</h1><pre>{body}</pre>"
        ))
        .into_response()
    } else {
        Json(report).into_response()
    }
}

/// `/metrics`: the cached database gauges, the loops' health, then every counter and
/// histogram in memory.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        if !bearer_ok(&headers, token) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need Authorization: Bearer <[server] metrics_token>\n",
            )
                .into_response();
        }
    }
    let snapshot = match state.gauges.snapshot().await {
        Ok(s) => s,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database unavailable: {e}\n"),
            )
                .into_response()
        }
    };
    let mut snapshot = snapshot;
    if let Some(health) = &state.health {
        snapshot.report.loops = health.snapshot();
    }
    let mut body = snapshot.to_prometheus(chrono::Utc::now());
    body.push_str(&crate::metrics::render_counters());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
