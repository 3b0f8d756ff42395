//! The HTTP face: auth, the request bucket, faults, params, and Bitrix24's answer shapes.

use super::methods::{dispatch, ApiFailure, Ctx, MethodOk, Params};
use super::operating::OperatingState;
use super::server::ConnControl;
use super::timing::Clock;
use super::Shared;
use crate::php_query::parse_query;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Router};
use dealbridge_sdk::fault::FaultOutcome;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/rest/{user}/{token}/{method}", any(handle))
        .route("/rest/{method}", any(handle_oauth))
        .route("/oauth/token/", any(token_endpoint))
        .route("/oauth/token", any(token_endpoint))
        .fallback(|| async { reply_failure(&method_not_found()) })
        .with_state(shared)
}

fn method_not_found() -> ApiFailure {
    ApiFailure::coded(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
}

fn json_reply(status: u16, body: &Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn reply_failure(f: &ApiFailure) -> Response {
    json_reply(f.status, &f.body())
}

fn reply_ok(ok: MethodOk, clock: &Clock, operating: OperatingState) -> Response {
    let mut body = json!({ "result": ok.result, "time": clock.time(Some(operating)) });
    if let Some(t) = ok.total {
        body["total"] = json!(t);
    }
    if let Some(n) = ok.next {
        body["next"] = json!(n);
    }
    json_reply(200, &body)
}

/// Closes the connection without answering; never returns while the connection lives.
async fn drop_connection(conn: Option<Extension<ConnControl>>) -> Response {
    match conn {
        Some(Extension(c)) => {
            c.kill();
            std::future::pending::<Response>().await
        }
        None => reply_failure(&ApiFailure::coded(
            500,
            "INTERNAL_SERVER_ERROR",
            "Internal server error",
        )),
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((user, token, method)): Path<(String, String, String)>,
    conn: Option<Extension<ConnControl>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let denied = (user != shared.user_id.to_string() || token != shared.token).then(|| {
        // Body as portals answer a wrong webhook (third-party captures; HTTP 401 per the docs).
        ApiFailure::coded(401, "NO_AUTH_FOUND", "Wrong authorization data")
    });
    serve(shared, method, denied, conn, query, headers, body).await
}

/// An OAuth-app call: `/rest/<method>` with the access token in the `auth` param (query or
/// body).
async fn handle_oauth(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    conn: Option<Extension<ConnControl>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = parse_params(&headers, query.as_deref(), &body)
        .ok()
        .and_then(|p| p.get("auth").and_then(crate::wire::value_text));
    let denied = match shared.oauth_check(token.as_deref()) {
        Ok(hold) => {
            if !hold.is_zero() {
                tokio::time::sleep(hold).await;
            }
            None
        }
        Err(refusal) => Some(refusal),
    };
    serve(shared, method, denied, conn, query, headers, body).await
}

/// `/oauth/token/?grant_type=refresh_token&client_id=..&client_secret=..&refresh_token=..`.
async fn token_endpoint(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = match parse_params(&headers, query.as_deref(), &body) {
        Ok(p) => p,
        Err(f) => return reply_failure(&f),
    };
    let get = |k: &str| {
        params
            .get(k)
            .and_then(crate::wire::value_text)
            .unwrap_or_default()
    };
    match shared.oauth_refresh(
        &get("grant_type"),
        &get("client_id"),
        &get("client_secret"),
        &get("refresh_token"),
    ) {
        Ok(v) => json_reply(200, &v),
        Err((status, code, text)) => {
            json_reply(status, &json!({ "error": code, "error_description": text }))
        }
    }
}

async fn serve(
    shared: Arc<Shared>,
    method: String,
    denied: Option<ApiFailure>,
    conn: Option<Extension<ConnControl>>,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let clock = Clock::start();
    let method = method.strip_suffix(".json").unwrap_or(&method).to_string();
    shared.counters.call(&method);
    shared
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Some(f) = denied {
        return reply_failure(&f);
    }
    if !shared.bucket().admit() {
        shared
            .throttled
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // UNCONFIRMED exact text; code and status are documented.
        return reply_failure(&ApiFailure::coded(
            503,
            "QUERY_LIMIT_EXCEEDED",
            "Too many requests",
        ));
    }
    let operating = match shared.operating().charge(&method) {
        Ok(state) => state,
        // The portal's body for a method over its operating-time budget (B24DOC system errors).
        Err(_) => {
            return reply_failure(&ApiFailure::coded(
                429,
                "OPERATION_TIME_LIMIT",
                "Method is blocked due to operation time limit.",
            ))
        }
    };
    let faults = shared.faults.get();
    let outcome = shared.faults.roll();
    match outcome {
        FaultOutcome::ServerError => {
            tokio::time::sleep(faults.latency).await;
            return reply_failure(&ApiFailure::coded(
                500,
                "INTERNAL_SERVER_ERROR",
                "Internal server error",
            ));
        }
        FaultOutcome::Throttle => {
            return reply_failure(&ApiFailure::coded(
                503,
                "QUERY_LIMIT_EXCEEDED",
                "Too many requests",
            ))
        }
        FaultOutcome::Timeout => {
            tokio::time::sleep(faults.hang).await;
            return drop_connection(conn).await;
        }
        FaultOutcome::Drop => return drop_connection(conn).await,
        FaultOutcome::Pass | FaultOutcome::DropAfterWrite => {}
    }
    let params = match parse_params(&headers, query.as_deref(), &body) {
        Ok(p) => p,
        Err(f) => return reply_failure(&f),
    };
    let result = {
        let mut portal = shared.portal();
        let mut ctx = Ctx {
            portal: &mut portal,
            counters: &shared.counters,
        };
        let r = dispatch(&mut ctx, &method, &params);
        shared.deliver(portal.take_deliveries());
        r
    };
    if outcome == FaultOutcome::DropAfterWrite {
        return drop_connection(conn).await;
    }
    tokio::time::sleep(faults.latency).await;
    match result {
        Ok(ok) => reply_ok(ok, &clock, operating),
        Err(f) => reply_failure(&f),
    }
}

/// Params from the query string and the body (JSON or form, body wins), like PHP's `$_REQUEST`.
fn parse_params(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Params, ApiFailure> {
    let mut merged = Map::new();
    let mut cmd_order = Vec::new();
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        if let Value::Object(m) = parse_query(q) {
            merged.extend(m);
        }
        cmd_order = form_cmd_order(q);
    }
    if !body.iter().all(u8::is_ascii_whitespace) {
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let looks_json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        if ctype.contains("json") || (ctype.is_empty() && looks_json) {
            // UNCONFIRMED: the portal's answer to a broken JSON body.
            let bad =
                || ApiFailure::coded(400, "INVALID_REQUEST", "Request body is not valid JSON");
            let v: Value = serde_json::from_slice(body).map_err(|_| bad())?;
            let Value::Object(m) = v else {
                return Err(bad());
            };
            merged.extend(m);
            if let Ok(probe) = serde_json::from_slice::<CmdProbe>(body) {
                if let Some(KeyOrder(keys)) = probe.cmd {
                    cmd_order = keys;
                }
            }
        } else {
            let text = String::from_utf8_lossy(body);
            if let Value::Object(m) = parse_query(&text) {
                merged.extend(m);
            }
            let order = form_cmd_order(&text);
            if !order.is_empty() {
                cmd_order = order;
            }
        }
    }
    Ok(Params {
        value: Value::Object(merged),
        cmd_order,
    })
}

/// The `cmd[...]` keys of a form body in the order sent.
fn form_cmd_order(q: &str) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for (k, _) in url::form_urlencoded::parse(q.as_bytes()) {
        if let Some(rest) = k.strip_prefix("cmd[") {
            if let Some(end) = rest.find(']') {
                let key = rest[..end].to_string();
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
        }
    }
    keys
}

/// Reads only the key order of a JSON body's `cmd` object (a `serde_json::Map` sorts keys).
#[derive(Deserialize)]
struct CmdProbe {
    #[serde(default)]
    cmd: Option<KeyOrder>,
}

struct KeyOrder(Vec<String>);

impl<'de> Deserialize<'de> for KeyOrder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyOrder;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map or a list of commands")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyOrder, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(KeyOrder(keys))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyOrder, A::Error> {
                let mut n = 0usize;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(KeyOrder((0..n).map(|i| i.to_string()).collect()))
            }
        }
        d.deserialize_any(V)
    }
}
