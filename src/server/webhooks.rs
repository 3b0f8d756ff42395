//! `POST /webhooks/<system name>[/<token>]`: deliveries, verified by the system's connector,
//! stored before they are acknowledged.
//!
//! The connector's [`WebhookReceiver`] checks the signature (or the URL's token) over the raw
//! body in constant time before anything is stored; a delivery that fails gets the status it
//! names (401, 400, 404) and stores nothing but a count: per configured system, reason and
//! minute ([`Store::record_webhook_rejection`], for the console's Webhooks page; a name the config
//! does not have counts nowhere, since anyone can make names up). An accepted delivery's hints go to the inbox
//! (deduplicated by the key the connector gives: the vendor's delivery id, else the body's
//! hash), the engine is woken, and only then is it acknowledged. Processing (re-read the
//! resource, queue the write) happens in the engine, so a slow CRM never makes the sender's
//! webhook time out.

use crate::config::Config;
use crate::metrics::engine::{webhook_delivery, Delivery};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use dealbridge_sdk::connector::{Accepted, Hint, WebhookReceiver, WebhookRequest};
use dealbridge_store::Store;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;
use tracing::{info, warn};

/// The `system` label of a delivery to a name the config does not have.
const UNKNOWN_SYSTEM: &str = "unknown";

/// Largest delivery body accepted (a WooCommerce order with many lines is tens of KB).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// What the webhook handlers share.
#[derive(Clone)]
pub struct WebhookState {
    store: Store,
    systems: Arc<BTreeMap<String, Arc<dyn WebhookReceiver>>>,
    wake: Arc<Notify>,
}

impl WebhookState {
    /// Receivers for every system in the config; `wake` is notified after each stored delivery.
    pub fn new(store: Store, config: &Config, wake: Arc<Notify>) -> Self {
        let systems = config
            .systems
            .iter()
            .map(|(name, system)| {
                let receiver = system
                    .kind()
                    .connector()
                    .webhook_receiver(name, system.settings());
                (name.clone(), receiver)
            })
            .collect();
        WebhookState {
            store,
            systems: Arc::new(systems),
            wake,
        }
    }
}

/// The `/webhooks/{system}` and `/webhooks/{system}/{token}` routes.
pub fn router<S: Clone + Send + Sync + 'static>(state: WebhookState) -> Router<S> {
    Router::new()
        .route("/webhooks/{system}", post(receive))
        .route("/webhooks/{system}/{token}", post(receive_with_token))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn answer(status: StatusCode, text: impl Into<String>) -> Response {
    (status, format!("{}\n", text.into())).into_response()
}

async fn receive(
    State(state): State<WebhookState>,
    Path(system): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&state, &system, None, &headers, &body).await
}

/// For vendors that sign nothing and put a secret in the URL (amoCRM).
async fn receive_with_token(
    State(state): State<WebhookState>,
    Path((system, token)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&state, &system, Some(&token), &headers, &body).await
}

async fn handle(
    state: &WebhookState,
    system: &str,
    url_token: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let Some(receiver) = state.systems.get(system) else {
        // Not labelled with the path's segment: anyone can make up names.
        webhook_delivery(UNKNOWN_SYSTEM, Delivery::Rejected);
        return answer(
            StatusCode::NOT_FOUND,
            format!("no system named `{system}` in the config"),
        );
    };
    let request = WebhookRequest {
        headers,
        body,
        url_token,
    };
    match receiver.accept(&request) {
        Ok(Accepted::Reply(text)) => {
            webhook_delivery(system, Delivery::Stored);
            answer(StatusCode::OK, text)
        }
        Ok(Accepted::Hints(hints)) => store_hints(state, system, &hints).await,
        Err(rejected) => {
            webhook_delivery(system, Delivery::Rejected);
            warn!(%system, error = %rejected.message, "webhook rejected");
            // Counted for the console's Webhooks page; `system` is a configured name (checked
            // above), so forged paths add no rows. Failing to count must not change the answer.
            let reason = rejection_reason(rejected.status);
            if let Err(e) = state
                .store
                .record_webhook_rejection(system, reason, &rejected.message)
                .await
            {
                warn!(%system, error = %e, "a refused webhook delivery could not be counted");
            }
            let status = StatusCode::from_u16(rejected.status).unwrap_or(StatusCode::UNAUTHORIZED);
            answer(status, rejected.message)
        }
    }
}

/// The reason a refusal is counted under, from the status the receiver chose: 401/403 a
/// signature or token that does not match, 400/413/415/422 a body that cannot be read, 404 a
/// path the system does not use.
pub fn rejection_reason(status: u16) -> &'static str {
    match status {
        401 | 403 => "bad_signature",
        400 | 413 | 415 | 422 => "malformed",
        404 => "wrong_path",
        _ => "refused",
    }
}

/// Stores each hint as its own inbox item (`kind` = `<entity>:<topic>`, payload `{"id": …}`);
/// the first failure answers 503 (the sender retries; polling catches the change anyway).
async fn store_hints(state: &WebhookState, system: &str, hints: &[Hint]) -> Response {
    let mut last = answer(StatusCode::OK, "nothing to store");
    let mut any_fresh = false;
    for hint in hints {
        let kind = format!("{}:{}", hint.entity.as_str(), hint.topic);
        let payload = serde_json::json!({ "id": hint.id }).to_string();
        last = match state
            .store
            .inbox_put(system, &hint.dedupe_key, &kind, &payload)
            .await
        {
            Ok(fresh) => {
                info!(%system, topic = %hint.topic, fresh, "webhook stored");
                any_fresh |= fresh;
                state.wake.notify_one();
                answer(
                    StatusCode::OK,
                    if fresh { "stored" } else { "already stored" },
                )
            }
            Err(e) => {
                warn!(%system, error = %e, "webhook could not be stored");
                webhook_delivery(system, Delivery::Rejected);
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cannot store the delivery now; polling will pick the change up",
                );
            }
        };
    }
    let outcome = if any_fresh || hints.is_empty() {
        Delivery::Stored
    } else {
        Delivery::Duplicate
    };
    webhook_delivery(system, outcome);
    last
}

#[cfg(test)]
mod tests {
    use super::rejection_reason;

    #[test]
    fn refusals_are_counted_under_the_reason_their_status_means() {
        assert_eq!(rejection_reason(401), "bad_signature");
        assert_eq!(rejection_reason(403), "bad_signature");
        assert_eq!(rejection_reason(400), "malformed");
        assert_eq!(rejection_reason(404), "wrong_path");
        assert_eq!(rejection_reason(418), "refused");
    }
}
