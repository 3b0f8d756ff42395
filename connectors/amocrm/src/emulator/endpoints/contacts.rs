//! Contacts: list with `query`, get, batch add.

use crate::emulator::http::{hal, invalid, S};
use crate::emulator::request::*;
use crate::emulator::state::{entry_errors, matches_query};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub(crate) async fn list_contacts(
    State(shared): S,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(&q);
    let (page, limit) = match paging(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let query = param(&p, "query");
    let b = base(&headers);
    let items: Vec<Value> = shared
        .account()
        .contacts
        .values()
        .filter(|c| query.is_none_or(|q| matches_query(c, q)))
        .map(|c| render_contact(&b, c))
        .collect();
    hal_page(&b, "/api/v4/contacts", &p, "contacts", items, page, limit)
}

pub(crate) fn render_contact(b: &str, c: &serde_json::Map<String, Value>) -> Value {
    let mut v = c.clone();
    let id = v["id"].clone();
    v.insert(
        "_links".into(),
        json!({ "self": { "href": format!("{b}/api/v4/contacts/{id}") } }),
    );
    v.insert("_embedded".into(), json!({ "tags": [], "companies": [] }));
    Value::Object(v)
}

pub(crate) async fn get_contact(
    State(shared): S,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    match shared.account().contacts.get(&id) {
        Some(c) => hal(200, render_contact(&base(&headers), c)),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

pub(crate) async fn add_contacts(State(shared): S, headers: HeaderMap, body: Bytes) -> Response {
    let items = match body_array(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut acc = shared.account();
    let mut rows = Vec::new();
    for (i, it) in items.iter().enumerate() {
        match acc.add_contact(it) {
            Ok(id) => rows.push((id, request_id(it, i), None)),
            Err(e) => return invalid(entry_errors(vec![(request_id(it, i), e)])),
        }
    }
    saved(&base(&headers), "contacts", "contacts", rows)
}
