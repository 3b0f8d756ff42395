//! Reading requests and shaping HAL answers: query params, paging, bodies, `_links`.

// Helpers return the finished error answer as `Err(Response)` so handlers can bail out with
// it; an emulator's error path is not worth boxing every response for.
#![allow(clippy::result_large_err)]

use crate::emulator::http::{hal, one_invalid, problem};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub(crate) fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

pub(crate) fn params(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn param<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// `page`/`limit` per the docs: limit 1..=250 (default 50), page ≥ 1.
pub(crate) fn paging(p: &[(String, String)]) -> Result<(usize, usize), Response> {
    let limit = match param(p, "limit") {
        None => 50,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=250).contains(&n) => n,
            // UNCONFIRMED exact code/text of amoCRM's answer to limit > 250.
            _ => {
                return Err(one_invalid(
                    "limit",
                    "LessThanOrEqual",
                    "This value should be less than or equal to 250.",
                ))
            }
        },
    };
    let page = match param(p, "page") {
        None => 1,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(one_invalid(
                    "page",
                    "GreaterThanOrEqual",
                    "This value should be greater than or equal to 1.",
                ))
            }
        },
    };
    Ok((page, limit))
}

/// A HAL page of `items` under `_embedded.<key>`, or 204 when the page is empty.
pub(crate) fn hal_page(
    base: &str,
    path: &str,
    p: &[(String, String)],
    key: &str,
    items: Vec<Value>,
    page: usize,
    limit: usize,
) -> Response {
    let start = (page - 1).saturating_mul(limit);
    if start >= items.len() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let end = (start + limit).min(items.len());
    let href = |pg: usize| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in p.iter().filter(|(k, _)| k != "page" && k != "limit") {
            s.append_pair(k, v);
        }
        s.append_pair("limit", &limit.to_string());
        s.append_pair("page", &pg.to_string());
        json!({ "href": format!("{base}{path}?{}", s.finish()) })
    };
    let mut links = json!({ "self": href(page) });
    if end < items.len() {
        links["next"] = href(page + 1);
    }
    if page > 1 {
        links["first"] = href(1);
        links["prev"] = href(page - 1);
    }
    let slice: Vec<Value> = items[start..end].to_vec();
    hal(
        200,
        json!({ "_page": page, "_links": links, "_embedded": { key: slice } }),
    )
}

pub(crate) fn body_json(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|_| {
        problem(
            400,
            "Bad Request",
            "Request body is not valid JSON",
            Vec::new(),
        )
    })
}

pub(crate) fn body_array(body: &Bytes) -> Result<Vec<Value>, Response> {
    match body_json(body)? {
        Value::Array(a) if !a.is_empty() => Ok(a),
        _ => Err(problem(
            400,
            "Bad Request",
            "Request body must be a non-empty array",
            Vec::new(),
        )),
    }
}

pub(crate) fn request_id(item: &Value, i: usize) -> String {
    item["request_id"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| i.to_string())
}

pub(crate) fn withs(p: &[(String, String)]) -> (bool, bool) {
    let w = param(p, "with").unwrap_or_default();
    let has = |x: &str| w.split(',').any(|s| s.trim() == x);
    (has("contacts"), has("catalog_elements"))
}

pub(crate) fn saved(
    base: &str,
    path: &str,
    key: &str,
    rows: Vec<(u64, String, Option<i64>)>,
) -> Response {
    let items: Vec<Value> = rows
        .into_iter()
        .map(|(id, rid, upd)| {
            let mut v = json!({ "id": id, "request_id": rid, "_links": { "self": { "href": format!("{base}/api/v4/{path}/{id}") } } });
            if let Some(u) = upd {
                v["updated_at"] = json!(u);
            }
            v
        })
        .collect();
    hal(
        200,
        json!({ "_links": { "self": { "href": format!("{base}/api/v4/{path}") } }, "_embedded": { key: items } }),
    )
}
