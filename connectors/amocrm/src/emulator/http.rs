//! The HTTP face: the routes, and the `gate` middleware every route passes (call counters,
//! Bearer auth, the 7 req/s window, faults); plus the problem+json and HAL answer builders.

use super::endpoints::catalogs::{
    add_elements, catalog_fields, list_catalogs, list_elements, update_elements,
};
use super::endpoints::contacts::{add_contacts, get_contact, list_contacts};
use super::endpoints::leads::{
    add_complex, add_leads, get_lead, list_leads, update_lead, update_leads,
};
use super::endpoints::links::{link, links, unlink};
use super::endpoints::meta::{lead_fields, list_pipelines, list_statuses};
use super::endpoints::notes::{add_notes, list_notes};
use super::server::ConnControl;
use super::Shared;
use crate::wire::{EntryErrors, Problem};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use dealbridge_sdk::fault::FaultOutcome;
use serde_json::Value;
use std::sync::Arc;

pub(crate) type S = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/api/v4/leads",
            get(list_leads).post(add_leads).patch(update_leads),
        )
        .route("/api/v4/leads/complex", post(add_complex))
        .route("/api/v4/leads/pipelines", get(list_pipelines))
        .route("/api/v4/leads/pipelines/{id}/statuses", get(list_statuses))
        .route("/api/v4/leads/custom_fields", get(lead_fields))
        .route("/api/v4/leads/{id}", get(get_lead).patch(update_lead))
        .route("/api/v4/leads/{id}/link", post(link))
        .route("/api/v4/leads/{id}/unlink", post(unlink))
        .route("/api/v4/leads/{id}/links", get(links))
        .route("/api/v4/contacts", get(list_contacts).post(add_contacts))
        .route("/api/v4/contacts/{id}", get(get_contact))
        .route("/api/v4/catalogs", get(list_catalogs))
        .route(
            "/api/v4/catalogs/{id}/elements",
            get(list_elements).post(add_elements).patch(update_elements),
        )
        .route("/api/v4/catalogs/{id}/custom_fields", get(catalog_fields))
        .route("/api/v4/leads/{id}/notes", get(list_notes).post(add_notes))
        .route_layer(from_fn_with_state(shared.clone(), gate))
        .route("/oauth2/access_token", post(super::webhooks::access_token))
        .fallback(|| async { problem(404, "Not Found", "Page not found", Vec::new()) })
        .with_state(shared)
}

/// An `application/problem+json` answer.
pub(crate) fn problem(
    status: u16,
    title: &str,
    detail: &str,
    errors: Vec<EntryErrors>,
) -> Response {
    let body = Problem {
        title: title.into(),
        kind: format!("https://httpstatus.es/{status}"),
        status,
        detail: detail.into(),
        validation_errors: errors,
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::to_string(&body).unwrap_or_default(),
    )
        .into_response()
}

pub(crate) fn invalid(errors: Vec<EntryErrors>) -> Response {
    problem(400, "Bad Request", "Request validation failed", errors)
}

pub(crate) fn one_invalid(path: &str, code: &str, detail: &str) -> Response {
    invalid(vec![EntryErrors {
        request_id: "0".into(),
        errors: vec![super::state::field_error(code, path, detail)],
    }])
}

pub(crate) fn hal(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, "application/hal+json")],
        body.to_string(),
    )
        .into_response()
}

async fn drop_connection(conn: Option<Extension<ConnControl>>) -> Response {
    match conn {
        Some(Extension(c)) => {
            c.kill();
            std::future::pending::<Response>().await
        }
        None => problem(
            500,
            "Internal Server Error",
            "Internal server error",
            Vec::new(),
        ),
    }
}

/// Counts the call, checks the token and the per-second window, applies faults.
async fn gate(
    State(shared): S,
    matched: MatchedPath,
    conn: Option<Extension<ConnControl>>,
    req: Request,
    next: Next,
) -> Response {
    let key = format!("{} {}", req.method(), matched.as_str());
    shared.counters.call(&key);
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth.strip_prefix("Bearer ") != Some(shared.current_token().as_str()) {
        // UNCONFIRMED detail text; status and problem+json are documented.
        return problem(401, "Unauthorized", "Unauthorized", Vec::new());
    }
    if !shared.window().admit() {
        // No Retry-After: amoCRM documents none.
        return problem(429, "Too Many Requests", "Too many requests", Vec::new());
    }
    if shared.overload.take() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            super::overload::PAGE,
        )
            .into_response();
    }
    let faults = shared.faults.get();
    let outcome = shared.faults.roll();
    match outcome {
        FaultOutcome::ServerError => {
            tokio::time::sleep(faults.latency).await;
            return problem(
                500,
                "Internal Server Error",
                "Internal server error",
                Vec::new(),
            );
        }
        FaultOutcome::Throttle => {
            return problem(429, "Too Many Requests", "Too many requests", Vec::new())
        }
        FaultOutcome::Timeout => {
            tokio::time::sleep(faults.hang).await;
            return drop_connection(conn).await;
        }
        FaultOutcome::Drop => return drop_connection(conn).await,
        FaultOutcome::Pass | FaultOutcome::DropAfterWrite => {}
    }
    let response = next.run(req).await;
    if response.status().is_success() {
        shared.counters.served(&key);
    }
    super::webhooks::flush(&shared);
    if outcome == FaultOutcome::DropAfterWrite {
        return drop_connection(conn).await;
    }
    tokio::time::sleep(faults.latency).await;
    response
}
