//! The HTTP server: `/healthz`, `/status` (JSON, or a small page for browsers) and `/metrics`.
//! Webhooks join here in later issues; the 1C exchange endpoint lives in [`onec`].

pub mod onec;
pub mod webhooks;

use crate::status::StatusReport;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dealbridge_store::Store;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The store the status is read from.
    pub store: Store,
}

/// The router with every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// [`router`] plus the 1C exchange endpoint at its configured path, when configured.
pub fn router_with_exchange(state: AppState, exchange: Option<onec::ExchangeState>) -> Router {
    let main = router(state);
    match exchange {
        Some(e) => main.merge(onec::router(e)),
        None => main,
    }
}

/// Healthy when the database answers.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.queue().pending_count().await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {e}\n"),
        )
            .into_response(),
    }
}

async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let report = match StatusReport::gather(&state.store).await {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database unavailable: {e}\n"),
            )
                .into_response()
        }
    };
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

async fn metrics(State(state): State<AppState>) -> Response {
    match StatusReport::gather(&state.store).await {
        Ok(r) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            r.to_prometheus(),
        )
            .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {e}\n"),
        )
            .into_response(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
