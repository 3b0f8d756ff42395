//! The REST handlers: orders (list with cursor paging, get, create, update note/tags, close,
//! cancel, open), transactions (list, create capture/sale/void), refunds (list), tender
//! transactions, products and customers (cursor paging), variants, inventory levels,
//! locations and the shop itself.

use super::gate::error;
use super::store::NewOrder;
use super::EmulatorState;
use crate::wire::{InventoryLevel, ShopifyOrder};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::str::FromStr;

/// The query string as pairs.
fn pairs(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `123.json` → 123.
fn id_of(seg: &str) -> Option<u64> {
    seg.strip_suffix(".json").unwrap_or(seg).parse().ok()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Not Found")
}

fn field_error(field: &str, msg: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "errors": { field: [msg] } })),
    )
        .into_response()
}

fn bad_request(field: &str, msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "errors": { field: msg } })),
    )
        .into_response()
}

/// Everything a listing is filtered and sorted by; the cursor carries it so a `page_info`
/// request needs (and accepts) nothing else.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Listing {
    status: String,
    updated_at_min: Option<DateTime<FixedOffset>>,
    updated_at_max: Option<DateTime<FixedOffset>>,
    created_at_min: Option<DateTime<FixedOffset>>,
    since_id: Option<u64>,
    financial_status: Option<String>,
    sort: String,
    desc: bool,
    /// The last (sort key, id) of the previous page.
    after: Option<(i64, u64)>,
}

fn sort_key(o: &ShopifyOrder, sort: &str) -> i64 {
    match sort {
        "updated_at" => o.updated_at.timestamp(),
        "created_at" => o.created_at.timestamp(),
        _ => o.id as i64,
    }
}

/// `Err` names the invalid parameter.
fn parse_listing(q: &[(String, String)]) -> Result<Listing, String> {
    let date = |name: &str| -> Result<Option<DateTime<FixedOffset>>, String> {
        match param(q, name) {
            None | Some("") => Ok(None),
            Some(v) => DateTime::parse_from_rfc3339(v)
                .map(Some)
                .map_err(|_| name.to_string()),
        }
    };
    let (sort, desc) = match param(q, "order") {
        None => ("id".to_string(), false),
        Some(o) => {
            let mut it = o.split_whitespace();
            let field = it.next().unwrap_or("id").to_string();
            if !matches!(field.as_str(), "id" | "created_at" | "updated_at") {
                return Err("order".to_string());
            }
            (
                field,
                it.next().is_some_and(|d| d.eq_ignore_ascii_case("desc")),
            )
        }
    };
    Ok(Listing {
        status: param(q, "status").unwrap_or("open").to_string(),
        updated_at_min: date("updated_at_min")?,
        updated_at_max: date("updated_at_max")?,
        created_at_min: date("created_at_min")?,
        since_id: param(q, "since_id").and_then(|s| s.parse().ok()),
        financial_status: param(q, "financial_status").map(str::to_string),
        sort,
        desc,
        after: None,
    })
}

fn matches(l: &Listing, o: &ShopifyOrder) -> bool {
    let status_ok = match l.status.as_str() {
        "any" => true,
        "closed" => o.closed_at.is_some(),
        "cancelled" => o.cancelled_at.is_some(),
        _ => o.closed_at.is_none() && o.cancelled_at.is_none(),
    };
    status_ok
        && l.updated_at_min.is_none_or(|m| o.updated_at >= m)
        && l.updated_at_max.is_none_or(|m| o.updated_at <= m)
        && l.created_at_min.is_none_or(|m| o.created_at >= m)
        && l.since_id.is_none_or(|s| o.id > s)
        && l.financial_status
            .as_deref()
            .is_none_or(|f| f == "any" || o.financial_status.as_deref() == Some(f))
        && l.after.is_none_or(|after| {
            let k = (sort_key(o, &l.sort), o.id);
            if l.desc {
                k < after
            } else {
                k > after
            }
        })
}

/// `GET orders.json`.
pub(crate) async fn list_orders(
    State(st): State<EmulatorState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = pairs(raw.as_deref());
    let limit: usize = match param(&q, "limit").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=250).contains(&n) => n,
        Some(_) => return bad_request("limit", "Invalid value."),
    };
    let listing = match param(&q, "page_info") {
        Some(cursor) => {
            // Shopify: with page_info only limit (and fields) may be given.
            if q.iter()
                .any(|(k, _)| !matches!(k.as_str(), "page_info" | "limit" | "fields"))
            {
                return bad_request("page_info", "Invalid value.");
            }
            match URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|b| serde_json::from_slice::<Listing>(&b).ok())
            {
                Some(l) => l,
                None => return bad_request("page_info", "Invalid value."),
            }
        }
        None => match parse_listing(&q) {
            Ok(l) => l,
            Err(field) => return bad_request(&field, "Invalid value."),
        },
    };
    let store = st.store.lock();
    let mut found: Vec<&ShopifyOrder> = store
        .orders
        .values()
        .filter(|o| matches(&listing, o))
        .collect();
    found.sort_by_key(|o| (sort_key(o, &listing.sort), o.id));
    if listing.desc {
        found.reverse();
    }
    let more = found.len() > limit;
    found.truncate(limit);
    let body = json!({ "orders": found });
    let mut resp = Json(body).into_response();
    if more {
        let last = found.last().expect("non-empty when more");
        let next = Listing {
            after: Some((sort_key(last, &listing.sort), last.id)),
            ..listing
        };
        let token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&next).expect("cursor json"));
        let host = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let link = format!(
            "<http://{host}{}/orders.json?limit={limit}&page_info={token}>; rel=\"next\"",
            st.api_root
        );
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert("link", v);
        }
    }
    resp
}

/// `GET orders/{id}.json`.
pub(crate) async fn get_order(
    State(st): State<EmulatorState>,
    Path(seg): Path<String>,
) -> Response {
    let Some(id) = id_of(&seg) else {
        return not_found();
    };
    match st.store.lock().orders.get(&id) {
        Some(o) => Json(json!({ "order": o })).into_response(),
        None => not_found(),
    }
}

#[derive(Deserialize)]
struct OrderBody<T> {
    order: T,
}

/// `POST orders.json`.
pub(crate) async fn create_order(
    State(st): State<EmulatorState>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(parsed) = serde_json::from_slice::<OrderBody<NewOrder>>(&body) else {
        return bad_request("order", "Required parameter missing or invalid");
    };
    let order = {
        let mut store = st.store.lock();
        match store.create_order(parsed.order) {
            Ok(id) => store.orders[&id].clone(),
            Err((field, msg)) => return field_error(&field, &msg),
        }
    };
    st.notify("orders/create", &order);
    (StatusCode::CREATED, Json(json!({ "order": order }))).into_response()
}

/// `PUT orders/{id}.json`: note, tags, email.
pub(crate) async fn update_order(
    State(st): State<EmulatorState>,
    Path(seg): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(id) = id_of(&seg) else {
        return not_found();
    };
    let Ok(parsed) = serde_json::from_slice::<OrderBody<Value>>(&body) else {
        return bad_request("order", "Required parameter missing or invalid");
    };
    let order = {
        let mut store = st.store.lock();
        if !store.orders.contains_key(&id) {
            return not_found();
        }
        store.touch(id);
        let o = store.orders.get_mut(&id).expect("checked");
        let c = &parsed.order;
        if let Some(note) = c.get("note") {
            o.note = note.as_str().map(str::to_string);
        }
        if let Some(tags) = c.get("tags") {
            o.tags = match tags {
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.as_str().unwrap_or("").to_string(),
            };
        }
        if let Some(email) = c.get("email").and_then(Value::as_str) {
            o.email = Some(email.to_string());
        }
        o.clone()
    };
    st.notify("orders/updated", &order);
    Json(json!({ "order": order })).into_response()
}

/// `POST orders/{id}/close.json`.
pub(crate) async fn close_order(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = id_of(&id) else {
        return not_found();
    };
    let order = {
        let mut store = st.store.lock();
        let now = store.now();
        let Some(o) = store.orders.get_mut(&id) else {
            return not_found();
        };
        o.closed_at = Some(now);
        o.updated_at = now;
        o.clone()
    };
    st.notify("orders/updated", &order);
    Json(json!({ "order": order })).into_response()
}

#[derive(Deserialize, Default)]
struct CancelBody {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST orders/{id}/cancel.json`. An authorized or pending order becomes `voided`; a paid
/// one keeps its status (refunds are a separate call in Shopify).
pub(crate) async fn cancel_order(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(id) = id_of(&id) else {
        return not_found();
    };
    let reason = serde_json::from_slice::<CancelBody>(&body)
        .unwrap_or_default()
        .reason;
    let order = {
        let mut store = st.store.lock();
        let now = store.now();
        let Some(o) = store.orders.get_mut(&id) else {
            return not_found();
        };
        if o.cancelled_at.is_some() {
            return field_error("base", "Order has already been cancelled");
        }
        o.cancelled_at = Some(now);
        o.cancel_reason = Some(reason.unwrap_or_else(|| "other".into()));
        o.closed_at = Some(now);
        o.updated_at = now;
        if matches!(
            o.financial_status.as_deref(),
            Some("authorized" | "pending")
        ) {
            o.financial_status = Some("voided".into());
        }
        o.clone()
    };
    st.notify("orders/cancelled", &order);
    Json(json!({ "order": order })).into_response()
}

/// `GET orders/{id}/transactions.json`.
pub(crate) async fn transactions(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = id_of(&id) else {
        return not_found();
    };
    let store = st.store.lock();
    if !store.orders.contains_key(&id) {
        return not_found();
    }
    let list = store.transactions.get(&id).cloned().unwrap_or_default();
    Json(json!({ "transactions": list })).into_response()
}

/// A cursor over an id-keyed (or time-and-id-keyed) listing: the key of the last item served.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyCursor {
    /// The listing's own filters, carried so a `page_info` request needs nothing else.
    #[serde(default)]
    since: Option<i64>,
    desc: bool,
    after: (i64, u64),
}

/// Pages `items` (already filtered; each with its sort key) by cursor, as Shopify's REST
/// listings do: `limit` 1–250 (default 50); with `page_info` only `limit` and `fields` may be
/// given; `rel="next"` and `rel="previous"` links. Returns the response.
fn cursor_page<T: Serialize>(
    headers: &HeaderMap,
    api_root: &str,
    resource: &str,
    q: &[(String, String)],
    mut items: Vec<((i64, u64), T)>,
    filters: (Option<i64>, bool),
) -> Response {
    let limit: usize = match param(q, "limit").map(str::parse::<usize>) {
        None => 50,
        Some(Ok(n)) if (1..=250).contains(&n) => n,
        Some(_) => return bad_request("limit", "Invalid value."),
    };
    let (since, desc, after) = match param(q, "page_info") {
        Some(cursor) => {
            if q.iter()
                .any(|(k, _)| !matches!(k.as_str(), "page_info" | "limit" | "fields"))
            {
                return bad_request("page_info", "Invalid value.");
            }
            match URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|b| serde_json::from_slice::<KeyCursor>(&b).ok())
            {
                Some(c) => (c.since, c.desc, Some(c.after)),
                None => return bad_request("page_info", "Invalid value."),
            }
        }
        None => (filters.0, filters.1, None),
    };
    items.retain(|(k, _)| since.is_none_or(|s| k.0 >= s));
    items.sort_by_key(|(k, _)| *k);
    if desc {
        items.reverse();
    }
    let had_before = after.is_some();
    if let Some(a) = after {
        items.retain(|(k, _)| if desc { *k < a } else { *k > a });
    }
    let more = items.len() > limit;
    items.truncate(limit);
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let link = |key: (i64, u64), rel: &str, backwards: bool| {
        let c = KeyCursor {
            since,
            desc: desc != backwards,
            after: key,
        };
        let token = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).expect("cursor json"));
        format!("<http://{host}{api_root}/{resource}.json?limit={limit}&page_info={token}>; rel=\"{rel}\"")
    };
    let mut links = Vec::new();
    // A "previous" cursor walks the other way from the first item; callers here only follow
    // "next", and Shopify's previous pages are served newest-first from that cursor too.
    if had_before {
        if let Some((k, _)) = items.first() {
            links.push(link(*k, "previous", true));
        }
    }
    if more {
        if let Some((k, _)) = items.last() {
            links.push(link(*k, "next", false));
        }
    }
    let list: Vec<T> = items.into_iter().map(|(_, v)| v).collect();
    let mut resp = Json(json!({ resource: list })).into_response();
    if !links.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
            resp.headers_mut().insert("link", v);
        }
    }
    resp
}

/// `GET products.json`: by id, cursor paging (`since_id` filters).
pub(crate) async fn products(
    State(st): State<EmulatorState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = pairs(raw.as_deref());
    let since_id: u64 = param(&q, "since_id")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let items: Vec<_> = st
        .store
        .lock()
        .products
        .values()
        .filter(|p| p.id > since_id)
        .map(|p| ((p.id as i64, p.id), p.clone()))
        .collect();
    cursor_page(&headers, &st.api_root, "products", &q, items, (None, false))
}

/// `GET customers.json`: the shop's customers (the emulator's are the buyers of its orders),
/// by id, cursor paging.
pub(crate) async fn customers(
    State(st): State<EmulatorState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = pairs(raw.as_deref());
    let since_id: u64 = param(&q, "since_id")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut by_id = std::collections::BTreeMap::new();
    for o in st.store.lock().orders.values() {
        if let Some(c) = &o.customer {
            if c.id > since_id {
                by_id.insert(c.id, c.clone());
            }
        }
    }
    let items = by_id
        .into_iter()
        .map(|(id, c)| ((id as i64, id), c))
        .collect();
    cursor_page(
        &headers,
        &st.api_root,
        "customers",
        &q,
        items,
        (None, false),
    )
}

/// `GET tender_transactions.json`: money that moved, shop-wide (successful sales and
/// captures positive, refunds negative), `order=processed_at DESC` by default (or `ASC`),
/// `processed_at_min`, cursor paging.
pub(crate) async fn tender_transactions(
    State(st): State<EmulatorState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = pairs(raw.as_deref());
    let desc = match param(&q, "order") {
        None => true,
        Some(o) if o.eq_ignore_ascii_case("processed_at DESC") => true,
        Some(o) if o.eq_ignore_ascii_case("processed_at ASC") => false,
        Some(_) if param(&q, "page_info").is_some() => true,
        Some(_) => return bad_request("order", "Invalid value."),
    };
    let since = match param(&q, "processed_at_min") {
        None => None,
        Some(v) => match DateTime::parse_from_rfc3339(v) {
            Ok(t) => Some(t.timestamp()),
            Err(_) => return bad_request("processed_at_min", "Invalid value."),
        },
    };
    let store = st.store.lock();
    let mut items = Vec::new();
    for txs in store.transactions.values() {
        for t in txs {
            if t.status.as_deref().is_some_and(|s| s != "success") {
                continue;
            }
            let amount = match t.kind.as_str() {
                "sale" | "capture" => t.amount,
                "refund" => -t.amount,
                _ => continue,
            };
            let at = t.processed_at.unwrap_or(t.created_at);
            items.push((
                (at.timestamp(), t.id),
                crate::wire::TenderTransaction {
                    id: t.id,
                    order_id: t.order_id.unwrap_or_default(),
                    amount,
                    currency: t
                        .currency
                        .clone()
                        .unwrap_or_else(|| store.settings.currency.clone()),
                    processed_at: Some(at),
                    payment_method: t.gateway.clone(),
                    remote_reference: t.authorization.clone(),
                    test: t.test,
                },
            ));
        }
    }
    drop(store);
    cursor_page(
        &headers,
        &st.api_root,
        "tender_transactions",
        &q,
        items,
        (since, desc),
    )
}

/// `GET variants/{id}.json`.
pub(crate) async fn get_variant(
    State(st): State<EmulatorState>,
    Path(seg): Path<String>,
) -> Response {
    let Some(id) = id_of(&seg) else {
        return not_found();
    };
    let store = st.store.lock();
    match store
        .products
        .values()
        .flat_map(|p| p.variants.iter())
        .find(|v| v.id == id)
    {
        Some(v) => Json(json!({ "variant": v })).into_response(),
        None => not_found(),
    }
}

/// `PUT variants/{id}.json`: price and `inventory_management` (`"shopify"` or null).
/// `inventory_quantity` is ignored, as Shopify ignores it: stock is set on inventory levels.
pub(crate) async fn update_variant(
    State(st): State<EmulatorState>,
    Path(seg): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(id) = id_of(&seg) else {
        return not_found();
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("variant", "Required parameter missing or invalid");
    };
    let price = match v["variant"].get("price") {
        None => None,
        Some(p) => match p
            .as_str()
            .map(str::to_string)
            .or_else(|| p.as_number().map(|n| n.to_string()))
            .and_then(|s| Decimal::from_str(&s).ok())
        {
            Some(d) if d >= Decimal::ZERO => Some(d),
            Some(_) => return field_error("price", "must be greater than or equal to 0"),
            None => return field_error("price", "expected String to be a Money"),
        },
    };
    // Outer None: not sent; Some(None): null (tracking off).
    let management = match v["variant"].get("inventory_management") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(m)) if m == "shopify" => Some(Some(m.clone())),
        Some(_) => return field_error("inventory_management", "is not included in the list"),
    };
    let mut store = st.store.lock();
    let now = store.now();
    let Some(var) = store
        .products
        .values_mut()
        .flat_map(|p| p.variants.iter_mut())
        .find(|v| v.id == id)
    else {
        return not_found();
    };
    if let Some(p) = price {
        var.price = p;
    }
    if let Some(m) = management {
        var.inventory_management = m;
    }
    var.updated_at = Some(now);
    Json(json!({ "variant": var })).into_response()
}

/// `GET inventory_levels.json?inventory_item_ids=…&location_ids=…`.
pub(crate) async fn inventory_levels(
    State(st): State<EmulatorState>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = pairs(raw.as_deref());
    let ids = |name: &str| -> Option<Vec<u64>> {
        param(&q, name).map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
    };
    let items = ids("inventory_item_ids");
    let locations = ids("location_ids");
    if items.is_none() && locations.is_none() {
        return field_error("base", "inventory_item_ids or location_ids must be present");
    }
    let store = st.store.lock();
    let list: Vec<InventoryLevel> = store
        .inventory
        .iter()
        .filter(|((i, l), _)| {
            items.as_ref().is_none_or(|v| v.contains(i))
                && locations.as_ref().is_none_or(|v| v.contains(l))
        })
        .map(|((i, l), a)| InventoryLevel {
            inventory_item_id: *i,
            location_id: *l,
            // Shopify reports no quantity for an item whose stock it does not track.
            available: store
                .variant_of_item(*i)
                .is_some_and(|v| v.inventory_management.is_some())
                .then_some(*a),
            updated_at: None,
        })
        .collect();
    Json(json!({ "inventory_levels": list })).into_response()
}

#[derive(Deserialize)]
struct SetLevel {
    location_id: u64,
    inventory_item_id: u64,
    available: i64,
}

/// `POST inventory_levels/set.json`: sets `available` at a location of the shop; an item not
/// yet stocked there is connected first, as Shopify does. 422 when the item's stock is not
/// tracked; 404 for an unknown item.
pub(crate) async fn set_inventory_level(
    State(st): State<EmulatorState>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(b) = serde_json::from_slice::<SetLevel>(&body) else {
        return field_error(
            "base",
            "location_id, inventory_item_id and available are required",
        );
    };
    let mut store = st.store.lock();
    if !store.locations.contains_key(&b.location_id) {
        return field_error("location_id", "is not a location of this shop");
    }
    let Some(variant) = store.variant_of_item(b.inventory_item_id) else {
        return not_found();
    };
    if variant.inventory_management.is_none() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "errors": ["Inventory item does not have inventory tracking enabled"] })),
        )
            .into_response();
    }
    let level = store.set_inventory(b.inventory_item_id, b.location_id, b.available);
    Json(json!({ "inventory_level": level })).into_response()
}

/// `GET locations.json`: every location, active or not, by id.
pub(crate) async fn locations(State(st): State<EmulatorState>) -> Response {
    let list: Vec<_> = st.store.lock().locations.values().cloned().collect();
    Json(json!({ "locations": list })).into_response()
}

/// `GET locations/{id}.json`.
pub(crate) async fn get_location(
    State(st): State<EmulatorState>,
    Path(seg): Path<String>,
) -> Response {
    let Some(id) = id_of(&seg) else {
        return not_found();
    };
    match st.store.lock().locations.get(&id) {
        Some(l) => Json(json!({ "location": l })).into_response(),
        None => not_found(),
    }
}

/// `GET shop.json`: the shop's settings as Shopify renders them (the fields the connector and a
/// person debugging it read; the id is fixed). The currency is the configured one, so a test can
/// tell a client that asks the shop from one that assumes `USD`.
pub(crate) async fn shop(State(st): State<EmulatorState>) -> Response {
    let settings = st.store.lock().settings.clone();
    let domain = st.webhooks.shop.clone();
    let name = domain.split('.').next().unwrap_or(&domain).to_string();
    let shop = crate::wire::ShopifyShop {
        id: 548_380_009,
        name,
        currency: Some(settings.currency),
        domain: Some(domain.clone()),
        myshopify_domain: Some(domain),
        taxes_included: Some(settings.taxes_included),
        money_format: Some("{{amount}}".into()),
        iana_timezone: Some("America/New_York".into()),
    };
    Json(json!({ "shop": shop })).into_response()
}

/// Anything else.
pub(crate) async fn no_route() -> Response {
    not_found()
}

/// `POST orders/{id}/transactions.json` `{"transaction": {...}}`: 201 with the transaction;
/// 422 field errors as Shopify writes them. Fires `orders/updated`.
pub(crate) async fn create_transaction(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Some(id) = id_of(&id) else {
        return not_found();
    };
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("transaction", "Required parameter missing or invalid");
    };
    let Some(tx_body) = parsed.get("transaction").filter(|t| t.is_object()) else {
        return bad_request("transaction", "Required parameter missing or invalid");
    };
    let (tx, order) = {
        let mut store = st.store.lock();
        if !store.orders.contains_key(&id) {
            return not_found();
        }
        match store.add_transaction(id, tx_body) {
            Ok(tx) => (tx, store.orders[&id].clone()),
            Err((field, msg)) => return field_error(&field, &msg),
        }
    };
    st.notify("orders/updated", &order);
    (StatusCode::CREATED, Json(json!({ "transaction": tx }))).into_response()
}

/// `POST orders/{id}/open.json`: re-opens a closed order (a cancelled one stays closed).
pub(crate) async fn open_order(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
) -> Response {
    let Some(id) = id_of(&id) else {
        return not_found();
    };
    let order = {
        let mut store = st.store.lock();
        let now = store.now();
        let Some(o) = store.orders.get_mut(&id) else {
            return not_found();
        };
        if o.cancelled_at.is_some() {
            return field_error("base", "Order has been cancelled and cannot be re-opened");
        }
        o.closed_at = None;
        o.updated_at = now;
        o.clone()
    };
    st.notify("orders/updated", &order);
    Json(json!({ "order": order })).into_response()
}

/// `GET orders/{id}/refunds.json`: the order's refunds, oldest first.
pub(crate) async fn refunds(State(st): State<EmulatorState>, Path(id): Path<String>) -> Response {
    let Some(id) = id_of(&id) else {
        return not_found();
    };
    let store = st.store.lock();
    if !store.orders.contains_key(&id) {
        return not_found();
    }
    let list = store.refunds.get(&id).cloned().unwrap_or_default();
    Json(json!({ "refunds": list })).into_response()
}
