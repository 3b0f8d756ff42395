//! Catalogs (one products catalog) and their elements: list with `query`, batch add.

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
    let b = base(&headers);
    let path = format!("/api/v4/catalogs/{cat}/elements");
    let items: Vec<Value> = shared
        .account()
        .elements
        .values()
        .filter(|e| query.is_none_or(|q| matches_query(e, q)))
        .map(|e| {
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
