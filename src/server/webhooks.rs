//! `POST /webhooks/<system name>`: store deliveries, verified, before acknowledging them.
//!
//! The signature is checked over the raw body in constant time before anything is stored; a
//! delivery that fails it gets 401 and changes nothing. An accepted delivery goes to the inbox
//! (deduplicated by the vendor's delivery id, else the body's hash), the engine is woken, and
//! only then is it acknowledged. Processing (re-read the resource, queue the write) happens in
//! the engine, so a slow CRM never makes the shop's webhook time out.

use crate::config::{Config, Secret, SystemConfig};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use dealbridge_store::Store;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;
use tracing::{info, warn};

/// Largest delivery body accepted (a WooCommerce order with many lines is tens of KB).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// One system's webhook settings.
#[derive(Clone)]
enum Receiver {
    WooCommerce { secret: Option<Secret> },
    Shopify { secret: Option<Secret> },
    Bitrix24 { token: Option<Secret> },
    AmoCrm { token: Option<Secret> },
}

/// What the webhook handlers share.
#[derive(Clone)]
pub struct WebhookState {
    store: Store,
    systems: Arc<BTreeMap<String, Receiver>>,
    wake: Arc<Notify>,
}

impl WebhookState {
    /// Receivers for every system in the config; `wake` is notified after each stored delivery.
    pub fn new(store: Store, config: &Config, wake: Arc<Notify>) -> Self {
        let systems = config
            .systems
            .iter()
            .map(|(name, system)| {
                let r = match system {
                    SystemConfig::WooCommerce(w) => Receiver::WooCommerce {
                        secret: w.webhook_secret.clone(),
                    },
                    SystemConfig::Shopify(c) => Receiver::Shopify {
                        secret: c.webhook_secret.clone(),
                    },
                    SystemConfig::Bitrix24(b) => Receiver::Bitrix24 {
                        token: b.application_token.clone(),
                    },
                    SystemConfig::AmoCrm(a) => Receiver::AmoCrm {
                        token: a.webhook_token.clone(),
                    },
                };
                (name.clone(), r)
            })
            .collect();
        WebhookState {
            store,
            systems: Arc::new(systems),
            wake,
        }
    }
}

/// The `/webhooks/{system}` route.
pub fn router<S: Clone + Send + Sync + 'static>(state: WebhookState) -> Router<S> {
    Router::new()
        .route("/webhooks/{system}", post(receive))
        .route("/webhooks/{system}/{token}", post(receive_with_token))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn off(system: &str) -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        format!(
            "webhooks of `{system}` are off: set systems.{system}.webhook_secret (or DEALBRIDGE_SYSTEMS_{}_WEBHOOK_SECRET)",
            system.to_uppercase()
        ),
    )
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
    let Some(receiver) = state.systems.get(&system) else {
        return answer(
            StatusCode::NOT_FOUND,
            format!("no system named `{system}` in the config"),
        );
    };
    let (topic, dedupe_key) = match receiver {
        Receiver::WooCommerce { secret } => {
            let Some(secret) = secret else {
                // A ping must still succeed so the shop lets the owner save the webhook.
                if dealbridge_woocommerce::webhook::is_ping(&headers, &body) {
                    return answer(
                        StatusCode::OK,
                        "pong; set webhook_secret to accept deliveries",
                    );
                }
                return off(&system);
            };
            match dealbridge_woocommerce::webhook::verify(&headers, &body, secret.expose()) {
                Ok(d) if d.is_ping() => return answer(StatusCode::OK, "pong"),
                Ok(d) => (d.topic, d.dedupe_key),
                Err(e) => {
                    use dealbridge_woocommerce::webhook::WebhookError;
                    warn!(%system, error = %e, "webhook rejected");
                    // Past a good signature, a bad body is the sender's mistake, not an auth failure.
                    let status = match e {
                        WebhookError::MissingTopic | WebhookError::Malformed { .. } => {
                            StatusCode::BAD_REQUEST
                        }
                        _ => StatusCode::UNAUTHORIZED,
                    };
                    return answer(status, e.to_string());
                }
            }
        }
        Receiver::AmoCrm { .. } => {
            return answer(
                StatusCode::NOT_FOUND,
                format!("amoCRM webhooks of `{system}` go to /webhooks/{system}/<webhook_token>"),
            )
        }
        Receiver::Bitrix24 { token } => {
            return match bitrix24_event(&system, token.as_ref(), &body) {
                Ok((topic, key, payload)) => {
                    store_delivery(&state, &system, &key, &topic, &payload).await
                }
                Err(r) => *r,
            };
        }
        Receiver::Shopify { secret } => {
            let Some(secret) = secret else {
                return off(&system);
            };
            match dealbridge_shopify::webhook::verify(&headers, &body, secret.expose()) {
                // Shopify retries with the same webhook id: that is the dedupe key.
                Ok(d) => {
                    let key = d.webhook_id.clone().unwrap_or_else(|| {
                        dealbridge_store::snapshot_hash(&serde_json::Value::String(
                            String::from_utf8_lossy(&body).into_owned(),
                        ))
                    });
                    (d.topic, key)
                }
                Err(e) => {
                    warn!(%system, error = %e, "webhook rejected");
                    return answer(StatusCode::UNAUTHORIZED, e.to_string());
                }
            }
        }
    };
    let payload = String::from_utf8_lossy(&body);
    store_delivery(&state, &system, &dedupe_key, &topic, &payload).await
}

/// A Bitrix24 outbound event (form-encoded `event`, `data[FIELDS][ID]`, `auth[...]`): accepted
/// only with the portal's `application_token`; stored as `{"id": <deal id>}` so the engine
/// re-reads the deal like any other hint.
fn bitrix24_event(
    system: &str,
    token: Option<&Secret>,
    body: &[u8],
) -> Result<(String, String, String), Box<Response>> {
    let Some(token) = token else {
        return Err(Box::new(answer(
            StatusCode::UNAUTHORIZED,
            format!(
                "events of `{system}` are off: set systems.{system}.application_token (or DEALBRIDGE_SYSTEMS_{}_APPLICATION_TOKEN) to the token Bitrix24 shows for the event handler",
                system.to_uppercase()
            ),
        )));
    };
    let event = dealbridge_bitrix24::parse_event(body).map_err(|e| {
        warn!(%system, error = %e, "Bitrix24 event rejected");
        Box::new(answer(StatusCode::BAD_REQUEST, e.to_string()))
    })?;
    if !dealbridge_bitrix24::verify_application_token(&event, token.expose()) {
        warn!(%system, "Bitrix24 event with a wrong application_token rejected");
        return Err(Box::new(answer(
            StatusCode::UNAUTHORIZED,
            "wrong application_token: the event is not from the configured portal's handler",
        )));
    }
    // Bitrix24 does not retry events; the same change arrives once, so event + deal + time
    // is a fine identity (a body hash would do as well).
    let key = format!(
        "{}:{}:{}",
        event.event,
        event.deal_id,
        event.ts.map_or_else(
            || dealbridge_store::snapshot_hash(&serde_json::Value::String(
                String::from_utf8_lossy(body).into_owned()
            )),
            |t| t.to_string()
        )
    );
    let payload = serde_json::json!({"id": event.deal_id}).to_string();
    Ok((event.event.to_ascii_lowercase(), key, payload))
}

async fn store_delivery(
    state: &WebhookState,
    system: &str,
    dedupe_key: &str,
    topic: &str,
    payload: &str,
) -> Response {
    match state
        .store
        .inbox_put(system, dedupe_key, topic, payload)
        .await
    {
        Ok(fresh) => {
            info!(%system, %topic, fresh, "webhook stored");
            state.wake.notify_one();
            answer(
                StatusCode::OK,
                if fresh { "stored" } else { "already stored" },
            )
        }
        Err(e) => {
            warn!(%system, error = %e, "webhook could not be stored");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "cannot store the delivery now; polling will pick the change up",
            )
        }
    }
}

/// `POST /webhooks/{system}/{token}`: amoCRM's unsigned, form-encoded webhooks, authenticated by
/// the secret in the URL (compared in constant time). Each lead event is stored as its own
/// `{"id": <lead id>}` hint; the engine re-reads the lead before acting.
async fn receive_with_token(
    State(state): State<WebhookState>,
    Path((system, token)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(Receiver::AmoCrm { token: expected }) = state.systems.get(&system) else {
        return answer(
            StatusCode::NOT_FOUND,
            format!("no amoCRM system named `{system}` in the config"),
        );
    };
    let Some(expected) = expected else {
        return answer(
            StatusCode::UNAUTHORIZED,
            format!("webhooks of `{system}` are off: set systems.{system}.webhook_token"),
        );
    };
    use subtle::ConstantTimeEq;
    if !bool::from(token.as_bytes().ct_eq(expected.expose().as_bytes())) {
        warn!(%system, "amoCRM webhook with a wrong URL token rejected");
        return answer(StatusCode::UNAUTHORIZED, "wrong webhook token in the URL");
    }
    let events = match dealbridge_amocrm::parse_webhook(&body) {
        Ok(e) => e,
        Err(e) => {
            warn!(%system, error = %e, "amoCRM webhook rejected");
            return answer(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    let mut last = answer(StatusCode::OK, "nothing to store");
    for e in events {
        let payload = serde_json::json!({"id": e.lead_id.to_string()}).to_string();
        let key = format!(
            "{:?}:{}:{}",
            e.kind,
            e.lead_id,
            e.modified_at.map_or_else(
                || dealbridge_store::snapshot_hash(&serde_json::Value::String(
                    String::from_utf8_lossy(&body).into_owned()
                )),
                |t| t.to_string()
            )
        );
        let topic = format!("lead.{:?}", e.kind).to_ascii_lowercase();
        last = store_delivery(&state, &system, &key, &topic, &payload).await;
        if !last.status().is_success() {
            return last;
        }
    }
    last
}
