//! The routes beside orders: order notes, order refunds, products and their variations
//! (list, batch), and customers (list, get), answering as WooCommerce answers.
//!
//! Simplifications: products have only the fields in [`WooProduct`]; a refund is recorded
//! (`refunded_payment` false, no line items, no stock change) and lowers nothing but what
//! the order's `refunds` summary shows, as a manual refund in WooCommerce does.

use super::orders::money;
use super::routes::{query_pairs, BATCH_LIMIT};
use super::state::{OrderTopic, Store};
use super::wp_error::WpError;
use super::{EmulatorState, API_ROOT};
use crate::wire::{ManageStock, OrderNote, RefundRef, WooProduct, WooRefund};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::str::FromStr;

/// Paging parameters shared by the collections here (`page` ≥ 1, `per_page` 1–100).
fn paging(pairs: &[(String, String)]) -> Result<(usize, usize), WpError> {
    let get = |k: &str| pairs.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v);
    let mut bad = Vec::new();
    let page = match get("page").map(|v| v.trim().parse::<usize>()) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        Some(_) => {
            bad.push((
                "page".to_string(),
                "page must be greater than or equal to 1".to_string(),
            ));
            1
        }
    };
    let per_page = match get("per_page").map(|v| v.trim().parse::<usize>()) {
        None => 10,
        Some(Ok(p)) if (1..=100).contains(&p) => p,
        Some(_) => {
            bad.push((
                "per_page".to_string(),
                "per_page must be between 1 (inclusive) and 100 (inclusive)".to_string(),
            ));
            10
        }
    };
    if !bad.is_empty() {
        return Err(WpError::invalid_params(bad));
    }
    Ok((page, per_page))
}

/// One page of `items` as a response with `X-WP-Total` / `X-WP-TotalPages`.
fn paged(items: Vec<Value>, page: usize, per_page: usize) -> Response {
    let total = items.len();
    let pages = total.div_ceil(per_page);
    let body: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut resp = Json(body).into_response();
    let h = resp.headers_mut();
    h.insert("X-WP-Total", HeaderValue::from(total));
    h.insert("X-WP-TotalPages", HeaderValue::from(pages));
    resp
}

fn order_id(raw: &str) -> Result<u64, WpError> {
    raw.parse().map_err(|_| WpError::no_route())
}

fn json_body(body: &Bytes) -> Result<Map<String, Value>, WpError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(WpError::new(
            400,
            "rest_invalid_json",
            "Invalid JSON body passed.",
        )),
    }
}

fn note_json(order: u64, n: &OrderNote) -> Value {
    let mut v = serde_json::to_value(n).unwrap_or(Value::Null);
    v["_links"] = json!({
        "self": [{"href": format!("{API_ROOT}/orders/{order}/notes/{}", n.id)}],
        "collection": [{"href": format!("{API_ROOT}/orders/{order}/notes")}],
        "up": [{"href": format!("{API_ROOT}/orders/{order}")}],
    });
    v
}

/// `GET /orders/<id>/notes`: newest first, as WooCommerce lists them (`type` `any`).
pub(crate) async fn list_notes(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WpError> {
    let id = order_id(&id)?;
    let store = st.store.lock();
    if !store.orders.contains_key(&id) {
        return Err(WpError::invalid_order_id(404));
    }
    let notes = store.notes.get(&id).cloned().unwrap_or_default();
    Ok(Json(Value::Array(
        notes.iter().rev().map(|n| note_json(id, n)).collect(),
    )))
}

/// `POST /orders/<id>/notes` `{"note", "customer_note"}`: 201 with the note. Adding a note does
/// not modify the order (it is a comment), so no webhook fires.
pub(crate) async fn create_note(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, WpError> {
    let id = order_id(&id)?;
    let body = json_body(&body)?;
    let mut store = st.store.lock();
    if !store.orders.contains_key(&id) {
        return Err(WpError::invalid_order_id(404));
    }
    let text = match body.get("note") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(WpError::new(
                400,
                "rest_missing_callback_param",
                "Missing parameter(s): note",
            ))
        }
        Some(_) => {
            return Err(WpError::invalid_param(
                "note",
                "note is not of type string.",
            ))
        }
    };
    let customer_note = body
        .get("customer_note")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let now = store.now();
    let (gmt, local) = store.stamp(now);
    let note = OrderNote {
        id: store.aux_id(),
        author: "WooCommerce".to_string(),
        date_created: Some(local),
        date_created_gmt: Some(gmt),
        note: text,
        customer_note,
    };
    store.notes.entry(id).or_default().push(note.clone());
    Ok((StatusCode::CREATED, Json(note_json(id, &note))).into_response())
}

/// Records a refund of `amount` on order `id`, as the admin's "Refund manually" does: a refund
/// object plus the summary in the order's `refunds`, and `order.updated`. Returns the refund.
pub(crate) fn refund(
    store: &mut Store,
    id: u64,
    amount: Decimal,
    reason: &str,
) -> Result<WooRefund, WpError> {
    let Some(stored) = store.orders.get(&id) else {
        return Err(WpError::invalid_order_id(404));
    };
    let total = Decimal::from_str(&stored.order.total).unwrap_or_default();
    let already: Decimal = store
        .refunds
        .get(&id)
        .map(|r| {
            r.iter()
                .map(|x| Decimal::from_str(&x.amount).unwrap_or_default())
                .sum()
        })
        .unwrap_or_default();
    if amount <= Decimal::ZERO || amount + already > total {
        return Err(WpError::new(
            500,
            "woocommerce_rest_cannot_create_order_refund",
            "Invalid refund amount.",
        ));
    }
    let now = store.now();
    let (gmt, local) = store.stamp(now);
    let refund = WooRefund {
        id: store.aux_id(),
        date_created: Some(local),
        date_created_gmt: Some(gmt),
        amount: money(amount),
        reason: reason.to_string(),
        refunded_by: 1,
        refunded_payment: false,
    };
    store.refunds.entry(id).or_default().push(refund.clone());
    let seq = store.next_seq();
    if let Some(s) = store.orders.get_mut(&id) {
        s.order.refunds.insert(
            0,
            RefundRef {
                id: refund.id,
                reason: reason.to_string(),
                total: money(-amount),
            },
        );
        if amount + already == total {
            s.order.status = "refunded".to_string();
        }
        s.order.date_modified_gmt = gmt;
        s.order.date_modified = local;
        s.modified_seq = seq;
    }
    store.changed(OrderTopic::Updated, id);
    Ok(refund)
}

fn refund_json(order: u64, r: &WooRefund) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
    v["meta_data"] = json!([]);
    v["line_items"] = json!([]);
    v["_links"] = json!({
        "self": [{"href": format!("{API_ROOT}/orders/{order}/refunds/{}", r.id)}],
        "collection": [{"href": format!("{API_ROOT}/orders/{order}/refunds")}],
        "up": [{"href": format!("{API_ROOT}/orders/{order}")}],
    });
    v
}

/// `GET /orders/<id>/refunds`: newest first, paged.
pub(crate) async fn list_refunds(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WpError> {
    let id = order_id(&id)?;
    let (page, per_page) = paging(&query_pairs(raw.as_deref()))?;
    let store = st.store.lock();
    if !store.orders.contains_key(&id) {
        return Err(WpError::invalid_order_id(404));
    }
    let refunds = store.refunds.get(&id).cloned().unwrap_or_default();
    let items = refunds.iter().rev().map(|r| refund_json(id, r)).collect();
    Ok(paged(items, page, per_page))
}

/// `POST /orders/<id>/refunds` `{"amount": "10.00", "reason"}`: 201 with the refund.
/// `api_refund` (true by default) would ask the gateway; the emulated gateways are manual, so
/// it is accepted and ignored.
pub(crate) async fn create_refund(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, WpError> {
    let id = order_id(&id)?;
    let body = json_body(&body)?;
    let amount = match body.get("amount") {
        Some(Value::String(s)) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
    .ok_or_else(|| WpError::invalid_param("amount", "amount is not of type string."))?;
    let reason = body.get("reason").and_then(Value::as_str).unwrap_or("");
    let mut store = st.store.lock();
    let r = refund(&mut store, id, amount, reason)?;
    Ok((StatusCode::CREATED, Json(refund_json(id, &r))).into_response())
}

/// A product as the API renders it, with `_links`.
fn product_json(p: &WooProduct) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    let href = if p.parent_id != 0 {
        format!("{API_ROOT}/products/{}/variations/{}", p.parent_id, p.id)
    } else {
        format!("{API_ROOT}/products/{}", p.id)
    };
    v["_links"] = json!({"self": [{"href": href}]});
    v
}

/// The `status` filter of the product and variation listings: absent or `any` is every status
/// but `trash` (WordPress leaves statuses excluded from search out of `any`); anything else
/// must be one of WooCommerce's statuses and matches exactly.
fn status_filter(pairs: &[(String, String)]) -> Result<Option<String>, WpError> {
    const STATUSES: [&str; 6] = ["draft", "pending", "private", "publish", "future", "trash"];
    match pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "status")
        .map(|(_, v)| v.as_str())
    {
        None | Some("any") => Ok(None),
        Some(s) if STATUSES.contains(&s) => Ok(Some(s.to_string())),
        Some(_) => Err(WpError::invalid_param(
            "status",
            "status is not one of any, future, trash, draft, pending, private, and publish.",
        )),
    }
}

fn status_matches(filter: &Option<String>, status: &str) -> bool {
    match filter {
        None => status != "trash",
        Some(f) => f == status,
    }
}

/// Sets a product's or variation's status as the shop owner does in wp-admin (not counted as
/// a client call). Products take `draft`, `pending`, `private`, `publish`, `future` or
/// `trash`; variations `publish` (enabled) or `private` (disabled). Trashing a variable
/// product trashes its variations and empties its `variations` list, as
/// `WC_Post_Data::trash_post` and the variable data store do; restoring it restores them.
pub(crate) fn set_product_status(store: &mut Store, id: u64, status: &str) -> Result<(), WpError> {
    let p = store
        .products
        .get(&id)
        .cloned()
        .ok_or(invalid_product(404))?;
    let allowed: &[&str] = if p.parent_id == 0 {
        &["draft", "pending", "private", "publish", "future", "trash"]
    } else {
        &["publish", "private"]
    };
    if !allowed.contains(&status) {
        return Err(WpError::invalid_param(
            "status",
            format!("status is not one of {}.", allowed.join(", ")),
        ));
    }
    let now = store.now();
    let (gmt, _) = store.stamp(now);
    let children: Vec<u64> = store
        .products
        .values()
        .filter(|v| v.parent_id == id)
        .map(|v| v.id)
        .collect();
    let trashing = status == "trash" && p.status != "trash";
    let restoring = status != "trash" && p.status == "trash";
    for c in &children {
        if trashing {
            let before = store.products[c].status.clone();
            store.trash_meta.insert(*c, before);
        }
        let restored = if restoring {
            store.trash_meta.remove(c)
        } else {
            None
        };
        if let Some(v) = store.products.get_mut(c) {
            if trashing {
                v.status = "trash".to_string();
            } else if let Some(before) = restored {
                v.status = before;
            }
            v.date_modified_gmt = Some(gmt);
        }
    }
    if let Some(stored) = store.products.get_mut(&id) {
        stored.status = status.to_string();
        stored.date_modified_gmt = Some(gmt);
        if trashing {
            stored.variations.clear();
        } else if restoring {
            stored.variations = children;
        }
    }
    Ok(())
}

/// The shop currency's display name and symbol (symbols HTML-encoded, as WooCommerce sends
/// them); the code itself for currencies the emulator does not know.
fn currency_names(code: &str) -> (&str, &str) {
    match code {
        "RUB" => ("Russian ruble", "&#8381;"),
        "USD" => ("United States (US) dollar", "&#36;"),
        "EUR" => ("Euro", "&euro;"),
        "KZT" => ("Kazakhstani tenge", "&#8376;"),
        "BYN" => ("Belarusian ruble", "Br"),
        other => (other, other),
    }
}

/// `GET /data/currencies/current`: `{"code","name","symbol","_links"}`.
pub(crate) async fn current_currency(State(st): State<EmulatorState>) -> Json<Value> {
    let code = st.store.lock().settings.currency.clone();
    let (name, symbol) = currency_names(&code);
    Json(json!({
        "code": code,
        "name": name,
        "symbol": symbol,
        "_links": {
            "self": [{"href": format!("{API_ROOT}/data/currencies/{code}")}],
            "collection": [{"href": format!("{API_ROOT}/data/currencies/")}],
        },
    }))
}

/// `GET /products`: `sku` (comma-separated; then variations are included too, as WooCommerce
/// widens the post type when filtering by SKU), `include`, `type`, `status` (default `any`:
/// everything but the trash), `orderby` id|date, `order`, paging.
pub(crate) async fn list_products(
    State(st): State<EmulatorState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WpError> {
    let pairs = query_pairs(raw.as_deref());
    let (page, per_page) = paging(&pairs)?;
    let get = |k: &str| {
        pairs
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let skus: Option<Vec<String>> = get("sku").filter(|s| !s.is_empty()).map(|s| {
        let mut v: Vec<String> = s.split(',').map(str::to_string).collect();
        if v.len() > 1 {
            v.push(s.to_string()); // "Include the current string as a SKU too."
        }
        v
    });
    let include: Option<Vec<u64>> = get("include")
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let kind = get("type");
    let status = status_filter(&pairs)?;
    let asc = get("order") == Some("asc");
    let store = st.store.lock();
    let mut items: Vec<&WooProduct> = store
        .products
        .values()
        .filter(|p| match &skus {
            Some(s) => s.contains(&p.sku),
            None => p.parent_id == 0,
        })
        .filter(|p| include.as_ref().is_none_or(|i| i.contains(&p.id)))
        .filter(|p| kind.is_none_or(|k| p.kind == k))
        .filter(|p| status_matches(&status, &p.status))
        .collect();
    // Every product is "created" at once in the emulator, so date order is id order.
    if !asc {
        items.reverse();
    }
    let items = items.into_iter().map(product_json).collect();
    Ok(paged(items, page, per_page))
}

/// `GET /products/<id>`.
pub(crate) async fn get_product(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WpError> {
    let id = order_id(&id)?;
    let store = st.store.lock();
    match store.products.get(&id) {
        Some(p) if p.parent_id == 0 => Ok(Json(product_json(p))),
        _ => Err(invalid_product(404)),
    }
}

/// `GET /products/<id>/variations`, paged, ascending by id when `order=asc`; `status` as for
/// products (default `any`, so the variations of a trashed product need `status=trash`).
pub(crate) async fn list_variations(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WpError> {
    let id = order_id(&id)?;
    let pairs = query_pairs(raw.as_deref());
    let (page, per_page) = paging(&pairs)?;
    let asc = pairs.iter().any(|(k, v)| k == "order" && v == "asc");
    let status = status_filter(&pairs)?;
    let store = st.store.lock();
    if !is_product(&store, id) {
        return Err(invalid_product(404));
    }
    let mut items: Vec<&WooProduct> = store
        .products
        .values()
        .filter(|p| p.parent_id == id && status_matches(&status, &p.status))
        .collect();
    if !asc {
        items.reverse();
    }
    Ok(paged(
        items.into_iter().map(product_json).collect(),
        page,
        per_page,
    ))
}

/// True for a product (not a variation) that exists.
fn is_product(store: &Store, id: u64) -> bool {
    store.products.get(&id).map(|p| p.parent_id) == Some(0)
}

fn invalid_product(status: u16) -> WpError {
    WpError::new(status, "woocommerce_rest_product_invalid_id", "Invalid ID.")
}

fn invalid_variation(status: u16) -> WpError {
    WpError::new(
        status,
        "woocommerce_rest_product_variation_invalid_id",
        "Invalid ID.",
    )
}

/// Applies the writable price and stock fields of a product/variation update, as
/// `WC_REST_Products_Controller::prepare_object_for_database` does: `regular_price` must be a
/// string; `stock_quantity` is only applied when the product manages stock (after
/// `manage_stock` from the same body), and then sets `stock_status`.
fn apply_product_update(
    store: &mut Store,
    id: u64,
    body: &Map<String, Value>,
) -> Result<(), WpError> {
    let mut p = store
        .products
        .get(&id)
        .cloned()
        .ok_or(invalid_product(400))?;
    let mut price_changed = false;
    match body.get("regular_price") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            let norm = if s.trim().is_empty() {
                String::new()
            } else {
                Decimal::from_str(s.trim())
                    .map_err(|_| {
                        WpError::invalid_param("regular_price", "regular_price is not a price.")
                    })?
                    .to_string()
            };
            if norm != p.regular_price {
                price_changed = true;
                p.regular_price = norm;
            }
        }
        Some(_) => {
            return Err(WpError::invalid_param(
                "regular_price",
                "regular_price is not of type string.",
            ))
        }
    }
    if price_changed && p.sale_price.is_empty() {
        p.price = p.regular_price.clone();
    }
    match body.get("manage_stock") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => {
            p.manage_stock = if *b {
                ManageStock::Yes
            } else {
                ManageStock::No
            }
        }
        Some(Value::String(s)) if s == "parent" && p.parent_id != 0 => {
            p.manage_stock = ManageStock::Parent
        }
        Some(_) => {
            return Err(WpError::invalid_param(
                "manage_stock",
                "manage_stock is not of type boolean.",
            ))
        }
    }
    match body.get("stock_quantity") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_i64().is_some() => {
            if p.manage_stock.is_yes() {
                let q = n.as_i64().unwrap_or_default();
                p.stock_quantity = Some(q);
                p.stock_status = if q > 0 { "instock" } else { "outofstock" }.to_string();
            }
        }
        Some(_) => {
            return Err(WpError::invalid_param(
                "stock_quantity",
                "stock_quantity is not of type integer.",
            ))
        }
    }
    let now = store.now();
    let (gmt, _) = store.stamp(now);
    p.date_modified_gmt = Some(gmt);
    if price_changed {
        // New order lines are priced from the catalog: keep it in step.
        if let Ok(price) = Decimal::from_str(&p.regular_price) {
            for c in store
                .catalog
                .iter_mut()
                .filter(|c| c.variation_id == id || (c.variation_id == 0 && c.product_id == id))
            {
                c.price = price;
            }
        }
    }
    store.products.insert(id, p);
    Ok(())
}

fn item_error(id: u64, e: &WpError) -> Value {
    let body = e.body();
    json!({"id": id, "error": {"code": body["code"], "message": body["message"], "data": body["data"]}})
}

/// Shared body of `POST /products/batch` and `POST /products/<id>/variations/batch`: only
/// `update` is served (`create`/`delete` items get an inline error); more than
/// [`BATCH_LIMIT`] items → 413.
fn batch(
    store: &mut Store,
    body: &Map<String, Value>,
    parent: Option<u64>,
) -> Result<Value, WpError> {
    let list = |k: &str| -> Result<Vec<Value>, WpError> {
        match body.get(k) {
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
    let unsupported = WpError::new(
        400,
        "dealbridge_emulator_unsupported",
        "The emulator only serves batch updates of products and variations.",
    );
    let mut out = Map::new();
    if body.contains_key("create") {
        let done = creates
            .iter()
            .map(|_| item_error(0, &unsupported))
            .collect();
        out.insert("create".into(), Value::Array(done));
    }
    if body.contains_key("update") {
        let mut done = Vec::with_capacity(updates.len());
        for u in &updates {
            let id = u.get("id").and_then(Value::as_u64).unwrap_or(0);
            let belongs = match (parent, store.products.get(&id)) {
                (None, Some(p)) => p.parent_id == 0,
                (Some(parent), Some(p)) => p.parent_id == parent,
                (_, None) => false,
            };
            let res = if !belongs {
                Err(match parent {
                    None => invalid_product(400),
                    Some(_) => invalid_variation(400),
                })
            } else {
                match u.as_object() {
                    Some(obj) => apply_product_update(store, id, obj),
                    None => Err(WpError::invalid_param(
                        "update",
                        "update[0] is not of type object.",
                    )),
                }
            };
            done.push(match res {
                Ok(()) => product_json(&store.products[&id]),
                Err(e) => item_error(id, &e),
            });
        }
        out.insert("update".into(), Value::Array(done));
    }
    if body.contains_key("delete") {
        let done = deletes
            .iter()
            .map(|d| item_error(d.as_u64().unwrap_or(0), &unsupported))
            .collect();
        out.insert("delete".into(), Value::Array(done));
    }
    Ok(Value::Object(out))
}

/// `POST|PUT|PATCH /products/batch`.
pub(crate) async fn batch_products(
    State(st): State<EmulatorState>,
    body: Bytes,
) -> Result<Json<Value>, WpError> {
    let body = json_body(&body)?;
    let mut store = st.store.lock();
    batch(&mut store, &body, None).map(Json)
}

/// `POST|PUT|PATCH /products/<id>/variations/batch`.
pub(crate) async fn batch_variations(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, WpError> {
    let id = order_id(&id)?;
    let body = json_body(&body)?;
    let mut store = st.store.lock();
    if !is_product(&store, id) {
        return Err(invalid_product(404));
    }
    batch(&mut store, &body, Some(id)).map(Json)
}

/// `PUT|PATCH|POST /products/<id>`: the same price/stock fields as a batch update.
pub(crate) async fn update_product(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, WpError> {
    let id = order_id(&id)?;
    let body = json_body(&body)?;
    let mut store = st.store.lock();
    if !is_product(&store, id) {
        return Err(invalid_product(400));
    }
    apply_product_update(&mut store, id, &body)?;
    Ok(Json(product_json(&store.products[&id])))
}

/// `GET /customers`: `email` filter, `orderby` id|name (default name), `order`, paging.
/// WooCommerce's default `role` filter is `customer`; every emulated customer has it.
pub(crate) async fn list_customers(
    State(st): State<EmulatorState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, WpError> {
    let pairs = query_pairs(raw.as_deref());
    let (page, per_page) = paging(&pairs)?;
    let get = |k: &str| {
        pairs
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let email = get("email").map(str::to_lowercase);
    let desc = get("order") == Some("desc");
    let by_id = get("orderby") == Some("id");
    let store = st.store.lock();
    let mut list: Vec<_> = store
        .customers
        .values()
        .filter(|c| email.as_ref().is_none_or(|e| c.email.to_lowercase() == *e))
        .collect();
    if !by_id {
        list.sort_by(|a, b| {
            (&a.first_name, &a.last_name, a.id).cmp(&(&b.first_name, &b.last_name, b.id))
        });
    }
    if desc {
        list.reverse();
    }
    let items = list
        .into_iter()
        .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
        .collect();
    Ok(paged(items, page, per_page))
}

/// `GET /customers/<id>`: 404 `woocommerce_rest_invalid_id` for an unknown id.
pub(crate) async fn get_customer(
    State(st): State<EmulatorState>,
    Path(id): Path<String>,
    _headers: HeaderMap,
) -> Result<Json<Value>, WpError> {
    let id = order_id(&id)?;
    let store = st.store.lock();
    store
        .customers
        .get(&id)
        .map(|c| Json(serde_json::to_value(c).unwrap_or(Value::Null)))
        .ok_or_else(|| WpError::new(404, "woocommerce_rest_invalid_id", "Invalid resource ID."))
}
