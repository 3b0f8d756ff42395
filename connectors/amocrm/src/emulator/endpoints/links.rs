//! Lead links: catalog elements with quantity and contacts; link, unlink, list.

// Helpers return the finished error answer as `Err(Response)` so handlers can bail out with
// it; an emulator's error path is not worth boxing every response for.
#![allow(clippy::result_large_err)]

use crate::emulator::http::{hal, invalid, problem, S};
use crate::emulator::request::*;
use crate::emulator::state::{entry_errors, field_error, Account, ElementLink, PRODUCTS_CATALOG};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub(crate) fn link_items(
    acc: &Account,
    lead: u64,
    items: &[Value],
) -> Result<Vec<(String, u64, Option<Value>)>, Response> {
    if !acc.leads.contains_key(&lead) {
        return Err(problem(404, "Not Found", "Lead not found", Vec::new()));
    }
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let kind = it["to_entity_type"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let Some(id) = it["to_entity_id"].as_u64() else {
            errs.push((
                i.to_string(),
                vec![field_error(
                    "NotBlank",
                    "to_entity_id",
                    "This value should not be blank.",
                )],
            ));
            continue;
        };
        let ok = match kind.as_str() {
            "contacts" => acc.contacts.contains_key(&id),
            "catalog_elements" => acc.elements.get(&id).is_some_and(|e| {
                it.pointer("/metadata/catalog_id")
                    .is_none_or(|c| *c == e["catalog_id"])
            }),
            _ => false,
        };
        if !ok {
            errs.push((
                i.to_string(),
                vec![field_error(
                    "NotSupportedChoice",
                    "to_entity_id",
                    "Entity not found.",
                )],
            ));
            continue;
        }
        if let Some(q) = it.pointer("/metadata/quantity") {
            if !q.is_number() {
                errs.push((
                    i.to_string(),
                    vec![field_error(
                        "InvalidType",
                        "metadata.quantity",
                        "This value should be of type numeric.",
                    )],
                ));
                continue;
            }
        }
        out.push((kind, id, it.get("metadata").cloned()));
    }
    if !errs.is_empty() {
        return Err(invalid(entry_errors(errs)));
    }
    Ok(out)
}

pub(crate) fn render_link(lead: u64, kind: &str, id: u64, meta: Value) -> Value {
    json!({ "entity_id": lead, "entity_type": "leads", "to_entity_id": id, "to_entity_type": kind, "metadata": meta })
}

pub(crate) async fn link(
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
    let checked = match link_items(&acc, lead, &items) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut out = Vec::new();
    for (kind, id, meta) in checked {
        if kind == "catalog_elements" {
            let catalog = acc.elements[&id]["catalog_id"]
                .as_u64()
                .unwrap_or(PRODUCTS_CATALOG);
            let quantity = meta
                .as_ref()
                .and_then(|m| m.get("quantity"))
                .cloned()
                .unwrap_or(json!(1));
            let row = acc.leads.get_mut(&lead).expect("checked");
            // A repeated link replaces the quantity (UNCONFIRMED amoCRM behaviour).
            row.elements.retain(|e| e.element != id);
            row.elements.push(ElementLink {
                element: id,
                catalog,
                quantity: quantity.clone(),
            });
            out.push(render_link(
                lead,
                &kind,
                id,
                json!({ "quantity": quantity, "catalog_id": catalog }),
            ));
        } else {
            let row = acc.leads.get_mut(&lead).expect("checked");
            if !row.contacts.contains(&id) {
                row.contacts.push(id);
            }
            out.push(render_link(
                lead,
                &kind,
                id,
                json!({ "main_contact": row.contacts[0] == id }),
            ));
        }
    }
    acc.apply_lead(lead, Default::default(), None);
    let b = base(&headers);
    hal(
        200,
        json!({ "_links": { "self": { "href": format!("{b}/api/v4/leads/{lead}/link") } }, "_embedded": { "links": out } }),
    )
}

pub(crate) async fn unlink(State(shared): S, Path(lead): Path<u64>, body: Bytes) -> Response {
    let items = match body_array(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut acc = shared.account();
    let checked = match link_items(&acc, lead, &items) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let row = acc.leads.get_mut(&lead).expect("checked");
    for (kind, id, _) in checked {
        if kind == "catalog_elements" {
            row.elements.retain(|e| e.element != id);
        } else {
            row.contacts.retain(|c| *c != id);
        }
    }
    acc.apply_lead(lead, Default::default(), None);
    StatusCode::NO_CONTENT.into_response()
}

pub(crate) async fn links(State(shared): S, headers: HeaderMap, Path(lead): Path<u64>) -> Response {
    let acc = shared.account();
    let Some(row) = acc.leads.get(&lead) else {
        return problem(404, "Not Found", "Lead not found", Vec::new());
    };
    let mut out: Vec<Value> = row
        .contacts
        .iter()
        .enumerate()
        .map(|(i, c)| render_link(lead, "contacts", *c, json!({ "main_contact": i == 0 })))
        .collect();
    out.extend(row.elements.iter().map(|e| {
        render_link(
            lead,
            "catalog_elements",
            e.element,
            json!({ "quantity": e.quantity, "catalog_id": e.catalog }),
        )
    }));
    if out.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let b = base(&headers);
    hal(
        200,
        json!({ "_links": { "self": { "href": format!("{b}/api/v4/leads/{lead}/links") } }, "_embedded": { "links": out } }),
    )
}
