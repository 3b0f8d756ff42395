//! Catalogs (one products catalog), its custom fields, and its elements: list with `query` and
//! `filter[id][]`, batch add, batch update.

use crate::emulator::http::{hal, invalid, problem, S};
use crate::emulator::request::*;
use crate::emulator::state::{entry_errors, matches_query, PRODUCTS_CATALOG};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

pub(crate) async fn list_catalogs(headers: HeaderMap) -> Response {
    let b = base(&headers);
    hal(
        200,
        json!({
            "_page": 1,
            "_links": { "self": { "href": format!("{b}/api/v4/catalogs") } },
            "_embedded": { "catalogs": [{
                "id": PRODUCTS_CATALOG, "name": "Товары", "type": "products", "sort": 10,
                "can_add_elements": true, "can_link_multiple": true,
                "_links": { "self": { "href": format!("{b}/api/v4/catalogs/{PRODUCTS_CATALOG}") } },
            }] },
        }),
    )
}

pub(crate) async fn list_elements(
    State(shared): S,
    headers: HeaderMap,
    Path(cat): Path<u64>,
    RawQuery(q): RawQuery,
) -> Response {
    if cat != PRODUCTS_CATALOG {
        return problem(404, "Not Found", "Catalog not found", Vec::new());
    }
    let p = params(&q);
    let (page, limit) = match paging(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let query = param(&p, "query");
    let ids: Vec<u64> = p
        .iter()
        .filter(|(k, _)| k.starts_with("filter[id]"))
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let b = base(&headers);
    let path = format!("/api/v4/catalogs/{cat}/elements");
    let acc = shared.account();
    let hits: Vec<_> = acc
        .elements
        .values()
        .filter(|e| query.is_none_or(|q| matches_query(e, q)))
        .filter(|e| ids.is_empty() || e["id"].as_u64().is_some_and(|id| ids.contains(&id)))
        .collect();
    // Only the requested page is rendered (the rest are placeholders for the count), so a
    // scan of a large catalog costs the emulator little per page.
    let on_page = (page - 1).saturating_mul(limit)..page.saturating_mul(limit);
    let items: Vec<Value> = hits
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            if !on_page.contains(&i) {
                return Value::Null;
            }
            let mut v = e.clone();
            let id = v["id"].clone();
            v.insert(
                "_links".into(),
                json!({ "self": { "href": format!("{b}{path}/{id}") } }),
            );
            Value::Object(v)
        })
        .collect();
    hal_page(&b, &path, &p, "elements", items, page, limit)
}

pub(crate) async fn add_elements(
    State(shared): S,
    headers: HeaderMap,
    Path(cat): Path<u64>,
    body: Bytes,
) -> Response {
    if cat != PRODUCTS_CATALOG {
        return problem(404, "Not Found", "Catalog not found", Vec::new());
    }
    let items = match body_array(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(r) = too_many(&items) {
        return r;
    }
    let mut acc = shared.account();
    let mut rows = Vec::new();
    for (i, it) in items.iter().enumerate() {
        match acc.add_element(cat, it) {
            Ok(id) => rows.push((id, request_id(it, i), None)),
            Err(e) => return invalid(entry_errors(vec![(request_id(it, i), e)])),
        }
    }
    saved(
        &base(&headers),
        &format!("catalogs/{cat}/elements"),
        "elements",
        rows,
    )
}

/// Most elements one add/update request may carry. amoCRM's documented cap for catalog
/// element writes could not be confirmed; 250 (the list `limit` maximum) is assumed.
pub const MAX_ELEMENTS_PER_WRITE: usize = 250;

fn too_many(items: &[Value]) -> Option<Response> {
    (items.len() > MAX_ELEMENTS_PER_WRITE).then(|| {
        crate::emulator::http::one_invalid(
            "",
            "CountLessThanOrEqual",
            "This collection should contain 250 elements or less.",
        )
    })
}

/// `PATCH /api/v4/catalogs/{id}/elements`: every entry carries its `id`; the whole request is
/// refused when any entry is invalid, so nothing is half-written (UNCONFIRMED, as for leads).
pub(crate) async fn update_elements(
    State(shared): S,
    headers: HeaderMap,
    Path(cat): Path<u64>,
    body: Bytes,
) -> Response {
    if cat != PRODUCTS_CATALOG {
        return problem(404, "Not Found", "Catalog not found", Vec::new());
    }
    let items = match body_array(&body) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(r) = too_many(&items) {
        return r;
    }
    let mut acc = shared.account();
    let mut checked = Vec::new();
    let mut errs = Vec::new();
    for (i, it) in items.iter().enumerate() {
        match acc.check_element_update(cat, it) {
            Ok(x) => checked.push((request_id(it, i), x)),
            Err(e) => errs.push((request_id(it, i), e)),
        }
    }
    if !errs.is_empty() {
        return invalid(entry_errors(errs));
    }
    let rows = checked
        .into_iter()
        .map(|(rid, (id, name, cf))| (id, rid, Some(acc.apply_element(id, name, cf))))
        .collect();
    saved(
        &base(&headers),
        &format!("catalogs/{cat}/elements"),
        "elements",
        rows,
    )
}

/// `GET /api/v4/catalogs/{id}/custom_fields`.
pub(crate) async fn catalog_fields(
    State(shared): S,
    headers: HeaderMap,
    Path(cat): Path<u64>,
    RawQuery(q): RawQuery,
) -> Response {
    if cat != PRODUCTS_CATALOG {
        return problem(404, "Not Found", "Catalog not found", Vec::new());
    }
    let p = params(&q);
    let (page, limit) = match paging(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let b = base(&headers);
    let items: Vec<Value> = shared
        .account()
        .catalog_fields
        .iter()
        .map(|f| json!({ "id": f.id, "name": f.name, "code": f.code, "type": f.kind, "entity_type": "catalogs", "catalog_id": cat, "sort": 500, "is_api_only": false }))
        .collect();
    hal_page(
        &b,
        &format!("/api/v4/catalogs/{cat}/custom_fields"),
        &p,
        "custom_fields",
        items,
        page,
        limit,
    )
}
