//! Leads: list (paging, `filter[updated_at]`, `query`, `with`), get, batch add/update,
//! single update, and `/leads/complex`.

// Helpers return the finished error answer as `Err(Response)` so handlers can bail out with
// it; an emulator's error path is not worth boxing every response for.
#![allow(clippy::result_large_err)]

use crate::emulator::http::{hal, invalid, one_invalid, S};
use crate::emulator::request::*;
use crate::emulator::state::{entry_errors, field_error, matches_query, Account};
use crate::wire::FieldError;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub(crate) async fn list_leads(
    State(shared): S,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(&q);
    let (page, limit) = match paging(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let num = |k: &str| param(&p, k).and_then(|v| v.parse::<i64>().ok());
    let (from, to) = (
        num("filter[updated_at][from]"),
        num("filter[updated_at][to]"),
    );
    let ids: Vec<u64> = p
        .iter()
        .filter(|(k, _)| k.starts_with("filter[id]"))
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let query = param(&p, "query");
    let (wc, wcat) = withs(&p);
    let b = base(&headers);
    let acc = shared.account();
    // `order[updated_at|created_at|id]=asc|desc`; ties keep id order so paging is stable.
    let order = p
        .iter()
        .find(|(k, _)| k.starts_with("order["))
        .map(|(k, v)| (k.clone(), v.clone()));
    let mut rows: Vec<&crate::emulator::state::LeadRow> = acc.leads.values().collect();
    if let Some((k, v)) = &order {
        let field = k.trim_start_matches("order[").trim_end_matches(']');
        if !matches!(field, "updated_at" | "created_at" | "id")
            || !matches!(v.as_str(), "asc" | "desc")
        {
            return one_invalid(
                "order",
                "NotSupportedChoice",
                "The value you selected is not a valid choice.",
            );
        }
        rows.sort_by_key(|l| l.fields[field].as_i64().unwrap_or(0));
        if v == "desc" {
            rows.reverse();
        }
    }
    let items: Vec<Value> = rows
        .into_iter()
        .filter(|l| {
            let upd = l.fields["updated_at"].as_i64().unwrap_or(0);
            from.is_none_or(|f| upd >= f)
                && to.is_none_or(|t| upd <= t)
                && (ids.is_empty() || l.fields["id"].as_u64().is_some_and(|id| ids.contains(&id)))
                && query.is_none_or(|q| matches_query(&l.fields, q))
        })
        .map(|l| acc.render_lead(&b, l, wc, wcat))
        .collect();
    hal_page(&b, "/api/v4/leads", &p, "leads", items, page, limit)
}

pub(crate) async fn get_lead(
    State(shared): S,
    headers: HeaderMap,
    Path(id): Path<u64>,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(&q);
    let (wc, wcat) = withs(&p);
    let acc = shared.account();
    match acc.leads.get(&id) {
        Some(l) => hal(200, acc.render_lead(&base(&headers), l, wc, wcat)),
        // amoCRM answers 204 for a missing entity (UNCONFIRMED; the SDK treats 204 as empty).
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// A batch add/update answer: ids and `request_id`s under `_embedded.<key>`; `path` is the
/// collection's path below `/api/v4/`.
pub(crate) async fn add_leads(State(shared): S, headers: HeaderMap, body: Bytes) -> Response {
    let items = match body_array(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut acc = shared.account();
    let mut checked = Vec::new();
    let mut errs = Vec::new();
    for (i, it) in items.iter().enumerate() {
        match acc.check_lead(it, None) {
            Ok(x) => checked.push((request_id(it, i), x)),
            Err(e) => errs.push((request_id(it, i), e)),
        }
    }
    if !errs.is_empty() {
        // The whole request is refused when any entry is invalid (UNCONFIRMED).
        return invalid(entry_errors(errs));
    }
    let rows = checked
        .into_iter()
        .map(|(rid, (f, c))| (acc.insert_lead(f, c.unwrap_or_default()), rid, None))
        .collect();
    saved(&base(&headers), "leads", "leads", rows)
}

pub(crate) fn update_many(
    acc: &mut Account,
    items: &[Value],
    path_id: Option<u64>,
) -> Result<Vec<(u64, String, Option<i64>)>, Response> {
    let mut checked = Vec::new();
    let mut errs: Vec<(String, Vec<FieldError>)> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let rid = request_id(it, i);
        let Some(id) = path_id.or_else(|| it["id"].as_u64()) else {
            errs.push((
                rid,
                vec![field_error(
                    "NotBlank",
                    "id",
                    "This value should not be blank.",
                )],
            ));
            continue;
        };
        let Some(row) = acc.leads.get(&id) else {
            errs.push((rid, vec![field_error("NotFound", "id", "Lead not found.")]));
            continue;
        };
        match acc.check_lead(it, Some(row)) {
            Ok(x) => checked.push((id, rid, x)),
            Err(e) => errs.push((rid, e)),
        }
    }
    if !errs.is_empty() {
        return Err(invalid(entry_errors(errs)));
    }
    Ok(checked
        .into_iter()
        .map(|(id, rid, (f, c))| {
            let old_status = acc.leads[&id].fields.get("status_id").cloned();
            let t = acc.apply_lead(id, f, c);
            acc.queue_update(id, old_status);
            (id, rid, Some(t))
        })
        .collect())
}

pub(crate) async fn update_leads(State(shared): S, headers: HeaderMap, body: Bytes) -> Response {
    let items = match body_array(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut acc = shared.account();
    match update_many(&mut acc, &items, None) {
        Ok(rows) => saved(&base(&headers), "leads", "leads", rows),
        Err(r) => r,
    }
}

pub(crate) async fn update_lead(
    State(shared): S,
    headers: HeaderMap,
    Path(id): Path<u64>,
    body: Bytes,
) -> Response {
    let item = match body_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut acc = shared.account();
    match update_many(&mut acc, std::slice::from_ref(&item), Some(id)) {
        Ok(rows) => {
            let b = base(&headers);
            let (id, _, upd) = &rows[0];
            hal(
                200,
                json!({ "id": id, "updated_at": upd, "_links": { "self": { "href": format!("{b}/api/v4/leads/{id}") } } }),
            )
        }
        Err(r) => r,
    }
}

pub(crate) async fn add_complex(State(shared): S, body: Bytes) -> Response {
    let items = match body_array(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if items.len() > 50 {
        return one_invalid(
            "",
            "CountLessThanOrEqual",
            "This collection should contain 50 elements or less.",
        );
    }
    let mut acc = shared.account();
    // Validate everything first so a refused request writes nothing.
    let mut errs = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let mut lead = it.clone();
        let new_contacts: Vec<Value> = it
            .pointer("/_embedded/contacts")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if let Some(e) = lead.get_mut("_embedded").and_then(Value::as_object_mut) {
            e.remove("contacts");
        }
        let mut e = acc.check_lead(&lead, None).err().unwrap_or_default();
        if new_contacts.len() > 1 {
            e.push(field_error(
                "CountLessThanOrEqual",
                "_embedded.contacts",
                "One contact per lead.",
            ));
        }
        if !e.is_empty() {
            errs.push((request_id(it, i), e));
        }
    }
    if !errs.is_empty() {
        return invalid(entry_errors(errs));
    }
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let mut lead = it.clone();
        let contact = it.pointer("/_embedded/contacts/0").cloned();
        if let Some(e) = lead.get_mut("_embedded").and_then(Value::as_object_mut) {
            e.remove("contacts");
        }
        let contact_id = match contact {
            Some(c) => match c["id"].as_u64().filter(|id| acc.contacts.contains_key(id)) {
                Some(id) => Some(id),
                None => match acc.add_contact(&c) {
                    Ok(id) => Some(id),
                    Err(e) => return invalid(entry_errors(vec![(request_id(it, i), e)])),
                },
            },
            None => None,
        };
        let (f, _) = match acc.check_lead(&lead, None) {
            Ok(x) => x,
            Err(e) => return invalid(entry_errors(vec![(request_id(it, i), e)])),
        };
        let id = acc.insert_lead(f, contact_id.into_iter().collect());
        out.push(json!({ "id": id, "contact_id": contact_id, "company_id": null, "request_id": [request_id(it, i)], "merged": false }));
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Value::Array(out).to_string(),
    )
        .into_response()
}
