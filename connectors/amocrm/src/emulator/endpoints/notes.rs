//! Lead notes: list (with `filter[note_type]`) and batch add on one lead.

use crate::emulator::http::{invalid, problem, S};
use crate::emulator::request::*;
use crate::emulator::state::{entry_errors, field_error, now};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

/// Note types a client may create (documented list; the emulator renders all alike).
const NOTE_TYPES: &[&str] = &[
    "common",
    "call_in",
    "call_out",
    "service_message",
    "extended_service_message",
    "message_cashier",
    "geolocation",
    "sms_in",
    "sms_out",
    "attachment",
];

/// `GET /api/v4/leads/{id}/notes`.
pub(crate) async fn list_notes(
    State(shared): S,
    headers: HeaderMap,
    Path(lead): Path<u64>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(&q);
    let (page, limit) = match paging(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let types: Vec<&str> = p
        .iter()
        .filter(|(k, _)| k.starts_with("filter[note_type]"))
        .map(|(_, v)| v.as_str())
        .collect();
    let acc = shared.account();
    if !acc.leads.contains_key(&lead) {
        return problem(404, "Not Found", "Lead not found", Vec::new());
    }
    let b = base(&headers);
    let items: Vec<Value> = acc
        .notes
        .get(&lead)
        .into_iter()
        .flatten()
        .filter(|n| types.is_empty() || types.iter().any(|t| n["note_type"] == json!(t)))
        .map(|n| Value::Object(n.clone()))
        .collect();
    hal_page(
        &b,
        &format!("/api/v4/leads/{lead}/notes"),
        &p,
        "notes",
        items,
        page,
        limit,
    )
}

/// `POST /api/v4/leads/{id}/notes` with an array of `{note_type, params}`.
pub(crate) async fn add_notes(
    State(shared): S,
    headers: HeaderMap,
    Path(lead): Path<u64>,
    body: Bytes,
) -> Response {
    let items = match body_array(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut acc = shared.account();
    if !acc.leads.contains_key(&lead) {
        return problem(404, "Not Found", "Lead not found", Vec::new());
    }
    let mut errs = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let t = it["note_type"].as_str().unwrap_or_default();
        if !NOTE_TYPES.contains(&t) {
            errs.push((
                request_id(it, i),
                vec![field_error(
                    "NotSupportedChoice",
                    "note_type",
                    "The value you selected is not a valid choice.",
                )],
            ));
        } else if t == "common" && !it.pointer("/params/text").is_some_and(Value::is_string) {
            errs.push((
                request_id(it, i),
                vec![field_error(
                    "NotBlank",
                    "params.text",
                    "This value should not be blank.",
                )],
            ));
        }
    }
    if !errs.is_empty() {
        return invalid(entry_errors(errs));
    }
    let mut rows = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let id = acc.id();
        let t = now();
        let n = json!({
            "id": id, "entity_id": lead, "created_by": 504141, "updated_by": 504141,
            "created_at": t, "updated_at": t, "responsible_user_id": 504141, "group_id": 0,
            "note_type": it["note_type"], "params": it["params"], "account_id": acc.account_id,
        });
        acc.notes
            .entry(lead)
            .or_default()
            .push(n.as_object().cloned().unwrap_or_default());
        rows.push((id, request_id(it, i), None));
    }
    saved(
        &base(&headers),
        &format!("leads/{lead}/notes"),
        "notes",
        rows,
    )
}
