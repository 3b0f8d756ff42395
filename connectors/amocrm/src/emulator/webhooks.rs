//! Outgoing webhooks and the OAuth token endpoint of the emulated account.
//!
//! amoCRM posts lead events form-encoded (`application/x-www-form-urlencoded`), unsigned, with
//! keys like `leads[update][0][id]` and `account[subdomain]`, User-Agent
//! `amoCRM-WebHook-client/1.0` (webhooks-format page and captured deliveries). The emulator
//! sends one POST per event, asynchronously, after the change is stored.

use super::Shared;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The form body of one lead event, as amoCRM shapes it (legacy field names: `last_modified`,
/// `date_create`; values as text).
pub(crate) fn encode_event(
    action: &str,
    lead: &Map<String, Value>,
    subdomain: &str,
    account_id: u64,
) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    let k = |f: &str| format!("leads[{action}][0][{f}]");
    s.append_pair(&k("id"), &text(&lead["id"]));
    if action != "delete" {
        for (f, src) in [
            ("name", "name"),
            ("status_id", "status_id"),
            ("old_status_id", "old_status_id"),
            ("price", "price"),
            ("responsible_user_id", "responsible_user_id"),
            ("last_modified", "updated_at"),
            ("modified_user_id", "updated_by"),
            ("created_user_id", "created_by"),
            ("date_create", "created_at"),
            ("pipeline_id", "pipeline_id"),
            ("account_id", "account_id"),
        ] {
            if let Some(v) = lead.get(src).filter(|v| !v.is_null()) {
                s.append_pair(&k(f), &text(v));
            }
        }
        for (i, cf) in lead
            .get("custom_fields_values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            s.append_pair(
                &format!("leads[{action}][0][custom_fields][{i}][id]"),
                &text(&cf["field_id"]),
            );
            s.append_pair(
                &format!("leads[{action}][0][custom_fields][{i}][name]"),
                &text(&cf["field_name"]),
            );
            for (j, v) in cf["values"].as_array().into_iter().flatten().enumerate() {
                s.append_pair(
                    &format!("leads[{action}][0][custom_fields][{i}][values][{j}][value]"),
                    &text(&v["value"]),
                );
            }
        }
    } else {
        s.append_pair(&k("type"), "2");
    }
    s.append_pair("account[subdomain]", subdomain);
    s.append_pair("account[id]", &account_id.to_string());
    s.finish()
}

/// Sends every queued lead event to the webhook URL (if one is set), each in its own task.
pub(crate) fn flush(shared: &Arc<Shared>) {
    let events = std::mem::take(&mut shared.account().outbox);
    let Some(url) = shared.webhook_url() else {
        return;
    };
    let account_id = shared.account().account_id;
    for (action, lead) in events {
        let body = encode_event(action, &lead, &shared.subdomain, account_id);
        let shared = shared.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let sent = shared
                .hook_client
                .post(&url)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::USER_AGENT, "amoCRM-WebHook-client/1.0")
                .body(body)
                .send()
                .await;
            let ok = matches!(&sent, Ok(r) if r.status().is_success());
            let counter = if ok {
                &shared.hooks_delivered
            } else {
                &shared.hooks_failed
            };
            counter.fetch_add(1, Ordering::SeqCst);
        });
    }
}

/// `POST /oauth2/access_token` with `grant_type=refresh_token`: a JSON body (form bodies are
/// accepted too) with `client_id`, `client_secret`, `refresh_token`, `redirect_uri`. The
/// refresh token is single-use: each refresh issues a new pair and the old refresh token stops
/// working (widely documented; UNCONFIRMED in primary docs). Error body shape UNCONFIRMED.
pub(crate) async fn access_token(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    shared.counters.call("POST /oauth2/access_token");
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let req: Value = if form {
        Value::Object(
            url::form_urlencoded::parse(&body)
                .into_owned()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let refuse = |status: u16, detail: &str| {
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            [(header::CONTENT_TYPE, "application/problem+json")],
            json!({ "title": "Bad Request", "type": format!("https://httpstatus.es/{status}"), "status": status, "detail": detail, "hint": detail }).to_string(),
        )
            .into_response()
    };
    let mut oauth = shared.oauth.lock().unwrap_or_else(|p| p.into_inner());
    let Some(state) = oauth.as_mut() else {
        return refuse(400, "OAuth is not enabled for this account");
    };
    if req["grant_type"] != "refresh_token" {
        return refuse(400, "The authorization grant type is not supported");
    }
    if req["client_id"] != json!(state.client_id)
        || req["client_secret"] != json!(state.client_secret)
    {
        return refuse(401, "Client authentication failed");
    }
    if req["refresh_token"] != json!(state.refresh_token) {
        return refuse(400, "Token has been revoked");
    }
    state.serial += 1;
    let access = format!("access-{}", state.serial);
    state.refresh_token = format!("refresh-{}", state.serial);
    let refresh = state.refresh_token.clone();
    drop(oauth);
    *shared.token.lock().unwrap_or_else(|p| p.into_inner()) = access.clone();
    shared.counters.served("POST /oauth2/access_token");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "token_type": "Bearer", "expires_in": 86400, "server_time": super::state::now(), "access_token": access, "refresh_token": refresh }).to_string(),
    )
        .into_response()
}
