//! The order routes under `/wp-json/wc/v3`, answering as WooCommerce answers.

use super::orders;
use super::query::OrderQuery;
use super::wp_error::WpError;
use super::{EmulatorState, API_ROOT};
use crate::wire::WooOrder;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// Most items a batch request may carry (create + update + delete together), WooCommerce's
/// `woocommerce_rest_batch_items_limit` default.
pub const BATCH_LIMIT: usize = 100;

/// Splits a raw query string into decoded pairs.
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// `GET /orders`.
pub(crate) async fn list(
    State(st): State<EmulatorState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, WpError> {
    let pairs = query_pairs(raw.as_deref());
    let store = st.store.lock();
    let q = OrderQuery::parse(&pairs, store.settings.utc_offset)?;
    let (page, total, pages) = q.run(&store);
    let base = site(&headers);
    let body: Vec<Value> = page.iter().map(|s| order_json(&s.order, &base)).collect();
    drop(store);

    let mut resp = Json(body).into_response();
    let h = resp.headers_mut();
    h.insert("X-WP-Total", HeaderValue::from(total));
    h.insert("X-WP-TotalPages", HeaderValue::from(pages));
    // RFC 5988 links as WooCommerce's CRUD controller emits them: prev and next only.
    let link = |n: u64| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs.iter().filter(|(k, _)| k != "page") {
            ser.append_pair(k, v);
        }
        ser.append_pair("page", &n.to_string());
        format!("<{base}{API_ROOT}/orders?{}>", ser.finish())
    };
    if q.page > 1 {
        let prev = (q.page - 1).min(pages.max(1));
        if let Ok(v) = HeaderValue::from_str(&format!("{}; rel=\"prev\"", link(prev))) {
            h.append(header::LINK, v);
        }
    }
    if pages > q.page {
        if let Ok(v) = HeaderValue::from_str(&format!("{}; rel=\"next\"", link(q.page + 1))) {
            h.append(header::LINK, v);
        }
    }
    Ok(resp)
}

/// `POST /orders`: 201 with the order and its `Location`.
pub(crate) async fn create(
    State(st): State<EmulatorState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, WpError> {
    let body = json_body(&body)?;
    let base = site(&headers);
    let mut store = st.store.lock();
    let id = orders::create(&mut store, &body, "rest-api")?;
    let order = order_json(&store.orders[&id].order, &base);
    drop(store);
    let mut resp = (StatusCode::CREATED, Json(order)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{base}{API_ROOT}/orders/{id}")) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// `GET /orders/<id>`.
pub(crate) async fn get_one(
    State(st): State<EmulatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, WpError> {
    let id = route_id(&id)?;
    let store = st.store.lock();
    let stored = store
        .orders
        .get(&id)
        .ok_or(WpError::invalid_order_id(404))?;
    Ok(Json(order_json(&stored.order, &site(&headers))))
}

/// `PUT|PATCH|POST /orders/<id>`.
pub(crate) async fn update(
    State(st): State<EmulatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, WpError> {
    let id = route_id(&id)?;
    let body = json_body(&body)?;
    let mut store = st.store.lock();
    orders::update(&mut store, id, &body)?;
    Ok(Json(order_json(&store.orders[&id].order, &site(&headers))))
}

/// `DELETE /orders/<id>[?force=true]`.
pub(crate) async fn delete(
    State(st): State<EmulatorState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, WpError> {
    let id = route_id(&id)?;
    let force = query_pairs(raw.as_deref())
        .iter()
        .any(|(k, v)| k == "force" && matches!(v.as_str(), "true" | "1"));
    let mut store = st.store.lock();
    let order = orders::delete(&mut store, id, force)?;
    Ok(Json(order_json(&order, &site(&headers))))
}

/// `POST /orders/batch`: `{"create":[…],"update":[…],"delete":[ids]}`. Failures of single
/// items are answered inline as `{"id", "error": {code, message, data}}`; deletes are forced,
/// as WooCommerce's batch handler forces them.
pub(crate) async fn batch(
    State(st): State<EmulatorState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, WpError> {
    let body = json_body(&body)?;
    let obj = body
        .as_object()
        .ok_or_else(|| WpError::new(400, "rest_invalid_json", "Invalid JSON body passed."))?;
    let list = |k: &str| -> Result<Vec<Value>, WpError> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.clone()),
            Some(_) => Err(WpError::invalid_param(
                k,
                format!("{k} is not of type array."),
            )),
        }
    };
    let (creates, updates, deletes) = (list("create")?, list("update")?, list("delete")?);
    if creates.len() + updates.len() + deletes.len() > BATCH_LIMIT {
        return Err(WpError::new(
            413,
            "woocommerce_rest_request_entity_too_large",
            format!("Unable to accept more than {BATCH_LIMIT} items for this request."),
        ));
    }
    let base = site(&headers);
    let mut store = st.store.lock();
    let mut out = Map::new();
    if obj.contains_key("create") {
        let done: Vec<Value> = creates
            .iter()
            .map(|c| match orders::create(&mut store, c, "rest-api") {
                Ok(id) => order_json(&store.orders[&id].order, &base),
                Err(e) => item_error(0, &e),
            })
            .collect();
        out.insert("create".into(), Value::Array(done));
    }
    if obj.contains_key("update") {
        let done: Vec<Value> = updates
            .iter()
            .map(|u| {
                let id = u.get("id").and_then(Value::as_u64).unwrap_or(0);
                match orders::update(&mut store, id, u) {
                    Ok(()) => order_json(&store.orders[&id].order, &base),
                    Err(e) => item_error(id, &e),
                }
            })
            .collect();
        out.insert("update".into(), Value::Array(done));
    }
    if obj.contains_key("delete") {
        let done: Vec<Value> = deletes
            .iter()
            .map(|d| {
                let id = d
                    .as_u64()
                    .or_else(|| d.as_str().and_then(|s| s.parse().ok()))
                    .unwrap_or(0);
                match orders::delete(&mut store, id, true) {
                    Ok(o) => order_json(&o, &base),
                    Err(e) => item_error(id, &e),
                }
            })
            .collect();
        out.insert("delete".into(), Value::Array(done));
    }
    Ok(Json(Value::Object(out)))
}

/// Anything no route matches, including a known path with a method it does not take.
pub(crate) async fn no_route() -> WpError {
    WpError::no_route()
}

/// The order as WooCommerce renders it, with its `_links`.
pub(crate) fn order_json(o: &WooOrder, base: &str) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    let mut links = json!({
        "self": [{"href": format!("{base}{API_ROOT}/orders/{}", o.id)}],
        "collection": [{"href": format!("{base}{API_ROOT}/orders")}],
    });
    if o.customer_id != 0 {
        links["customer"] =
            json!([{"href": format!("{base}{API_ROOT}/customers/{}", o.customer_id)}]);
    }
    v["_links"] = links;
    v
}

fn item_error(id: u64, e: &WpError) -> Value {
    let body = e.body();
    json!({"id": id, "error": {"code": body["code"], "message": body["message"], "data": body["data"]}})
}

/// WordPress' route pattern for ids is `(?P<id>[\d]+)`: anything else matches no route.
fn route_id(raw: &str) -> Result<u64, WpError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WpError::no_route());
    }
    raw.parse().map_err(|_| WpError::no_route())
}

fn json_body(body: &Bytes) -> Result<Value, WpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|e| {
        let mut err = WpError::new(400, "rest_invalid_json", "Invalid JSON body passed.");
        err.extra.insert("json_error_code".into(), json!(4));
        err.extra
            .insert("json_error_message".into(), json!(e.to_string()));
        err
    })
}

/// The site's address as the client reached it (`http://127.0.0.1:PORT`), for links.
fn site(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}
