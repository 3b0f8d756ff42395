//! `POST /admin/api/<v>/graphql.json`: the order-editing mutations and the catalog writes
//! (`productVariantsBulkUpdate`, `inventorySetQuantities`, all or nothing per call),
//! recognised by their root field and fed from `variables`.
//!
//! The emulator does not parse GraphQL: it takes the root field (the first field inside the
//! operation's outer braces, after an alias if any) and reads every argument from `variables`,
//! which is how the connector (and any client that sends fixed documents with variables)
//! calls it. Inline literal arguments are not read. Answers have Shopify's shapes:
//! `{"data": {"<field>": {…, "userErrors": [{"field": [...], "message"}]}}, "extensions":
//! {"cost": {…}}}`; an unknown field or a missing variable is a top-level `errors` entry with
//! HTTP 200, as Shopify answers query errors.
//!
//! **Cost.** A calculated-cost bucket like Shopify's (1000 points, restoring 50/s, the
//! standard figures in Shopify's throttle examples); each mutation requests 10 points (the
//! documented default for a mutation), `productVariantsBulkUpdate` one more per variant
//! (UNCONFIRMED, see `cost_of`). When the bucket holds less than that the answer is
//! `{"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}` with the
//! throttle status, HTTP 200 (Shopify's HTTP status for a throttled GraphQL call is
//! UNCONFIRMED: community reports say 200 with this body). GraphQL calls do not use the REST
//! bucket. The selection set is not honoured: payloads carry every field the connector reads.

use super::edit::{gid, parse_gid, UserError};
use super::EmulatorState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Points a mutation requests.
pub(crate) const MUTATION_COST: f64 = 10.0;

/// The shop's GraphQL cost bucket.
#[derive(Debug, Clone)]
pub(crate) struct CostBucket(Arc<Mutex<(f64, Instant)>>);

impl CostBucket {
    /// Bucket size.
    pub(crate) const MAX: f64 = 1000.0;
    /// Points restored per second.
    pub(crate) const RESTORE: f64 = 50.0;

    pub(crate) fn new() -> Self {
        CostBucket(Arc::new(Mutex::new((Self::MAX, Instant::now()))))
    }

    /// Points available now.
    pub(crate) fn available(&self) -> f64 {
        let mut g = self.0.lock().expect("cost bucket lock");
        let now = Instant::now();
        g.0 = (g.0 + now.duration_since(g.1).as_secs_f64() * Self::RESTORE).min(Self::MAX);
        g.1 = now;
        g.0
    }

    /// Sets the points available now (tests drain it to provoke `THROTTLED`).
    pub(crate) fn set(&self, points: f64) {
        *self.0.lock().expect("cost bucket lock") = (points.clamp(0.0, Self::MAX), Instant::now());
    }

    /// Takes `cost` points; `Err(available)` when there are not enough.
    fn take(&self, cost: f64) -> Result<f64, f64> {
        let available = self.available();
        if available < cost {
            return Err(available);
        }
        let mut g = self.0.lock().expect("cost bucket lock");
        g.0 -= cost;
        Ok(g.0)
    }
}

fn throttle_status(available: f64) -> Value {
    json!({
        "maximumAvailable": CostBucket::MAX,
        "currentlyAvailable": available.floor() as i64,
        "restoreRate": CostBucket::RESTORE,
    })
}

fn top_error(message: &str, code: &str) -> Response {
    Json(json!({"errors": [{"message": message, "extensions": {"code": code}}]})).into_response()
}

/// The root field of the first operation: the first name inside its outer braces (after an
/// alias, if one is given).
pub fn root_field(query: &str) -> Option<String> {
    let text: String = query
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let body = &text[text.find('{')? + 1..];
    let ident = |s: &str| -> Option<(String, usize)> {
        let s2 = s.trim_start();
        let skipped = s.len() - s2.len();
        let len = s2
            .char_indices()
            .take_while(|(i, c)| {
                c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit())
            })
            .count();
        (len > 0).then(|| (s2[..len].to_string(), skipped + len))
    };
    let (first, used) = ident(body)?;
    let rest = body[used..].trim_start();
    match rest.strip_prefix(':') {
        Some(after) => ident(after).map(|(name, _)| name),
        None => Some(first),
    }
}

/// A query-level error: its message and `extensions.code`.
struct QueryError(String, &'static str);

/// Reads the arguments from `variables`; a missing or mistyped required one is a query error.
struct Vars<'a>(&'a Map<String, Value>);

impl Vars<'_> {
    fn missing(name: &str, ty: &str) -> QueryError {
        QueryError(
            format!("Variable ${name} of type {ty} was provided invalid value"),
            "INVALID_VARIABLE",
        )
    }

    fn id(&self, name: &str, kind: &str) -> Result<Option<u64>, QueryError> {
        match self.0.get(name).and_then(Value::as_str) {
            Some(s) => Ok(parse_gid(kind, s)),
            None => Err(Self::missing(name, "ID!")),
        }
    }

    fn int(&self, name: &str) -> Result<i64, QueryError> {
        self.0
            .get(name)
            .and_then(Value::as_i64)
            .ok_or_else(|| Self::missing(name, "Int!"))
    }

    fn string(&self, name: &str) -> Result<String, QueryError> {
        self.0
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Self::missing(name, "String!"))
    }

    fn flag(&self, name: &str, default: bool) -> bool {
        self.0.get(name).and_then(Value::as_bool).unwrap_or(default)
    }
}

fn user_errors(errors: &[UserError]) -> Value {
    Value::Array(
        errors
            .iter()
            .map(|e| json!({"field": e.field, "message": e.message}))
            .collect(),
    )
}

/// The handler.
pub(crate) async fn graphql(State(st): State<EmulatorState>, body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": {"query": "Required parameter missing or invalid"}})),
        )
            .into_response();
    };
    let Some(query) = req.get("query").and_then(Value::as_str) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": {"query": "Required parameter missing or invalid"}})),
        )
            .into_response();
    };
    let empty = Map::new();
    let vars = Vars(
        req.get("variables")
            .and_then(Value::as_object)
            .unwrap_or(&empty),
    );
    let Some(field) = root_field(query) else {
        return top_error("syntax error: no operation found", "PARSE_ERROR");
    };
    st.counters.call(&format!("graphql {field}"));
    const KNOWN: [&str; 7] = [
        "orderEditBegin",
        "orderEditAddVariant",
        "orderEditSetQuantity",
        "orderEditAddCustomItem",
        "orderEditCommit",
        "productVariantsBulkUpdate",
        "inventorySetQuantities",
    ];
    if !KNOWN.contains(&field.as_str()) {
        return top_error(
            &format!("Field '{field}' doesn't exist on type 'Mutation' (the emulator serves only the order-editing, variant bulk update and inventory set mutations)"),
            "undefinedField",
        );
    }
    let cost = cost_of(&field, &vars);
    let left = match st.graphql_cost.take(cost) {
        Ok(left) => left,
        Err(available) => {
            return Json(json!({
                "errors": [{
                    "message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
                }],
                "extensions": {"cost": {
                    "requestedQueryCost": cost as i64,
                    "actualQueryCost": null,
                    "throttleStatus": throttle_status(available),
                }},
            }))
            .into_response();
        }
    };
    let payload = match run(&st, &field, &vars) {
        Ok(p) => p,
        Err(QueryError(message, code)) => return top_error(&message, code),
    };
    st.counters.served(&format!("graphql {field}"));
    Json(json!({
        "data": {field: payload},
        "extensions": {"cost": {
            "requestedQueryCost": cost as i64,
            "actualQueryCost": cost as i64,
            "throttleStatus": throttle_status(left),
        }},
    }))
    .into_response()
}

/// Runs one mutation; `Err` is a query-level error answer.
fn run(st: &EmulatorState, field: &str, v: &Vars<'_>) -> Result<Value, QueryError> {
    match field {
        "orderEditBegin" => {
            let id = v.id("id", "Order")?;
            let mut store = st.store.lock();
            let res = id.map_or_else(
                || {
                    Err(UserError {
                        field: vec!["id".into()],
                        message: "The order does not exist".into(),
                    })
                },
                |id| store.begin_edit(id),
            );
            Ok(match res {
                Ok(calc) => json!({
                    "calculatedOrder": store.calculated_json(calc),
                    "orderEditSession": {"id": gid("OrderEditSession", calc)},
                    "userErrors": [],
                }),
                Err(e) => fail(e, json!({"calculatedOrder": null})),
            })
        }
        "orderEditSetQuantity" => {
            let calc = v.id("id", "CalculatedOrder")?.unwrap_or(0);
            let line = v.id("lineItemId", "CalculatedLineItem")?.unwrap_or(0);
            let quantity = v.int("quantity")?;
            let restock = v.flag("restock", false);
            let mut store = st.store.lock();
            let result = store.edit_set_quantity(calc, line, quantity, restock);
            Ok(line_answer(&store, calc, result))
        }
        "orderEditAddVariant" => {
            let calc = v.id("id", "CalculatedOrder")?.unwrap_or(0);
            let variant = v.id("variantId", "ProductVariant")?.unwrap_or(0);
            let quantity = v.int("quantity")?;
            let dup = v.flag("allowDuplicates", false);
            let mut store = st.store.lock();
            let result = store.edit_add_variant(calc, variant, quantity, dup);
            Ok(line_answer(&store, calc, result))
        }
        "orderEditAddCustomItem" => {
            let calc = v.id("id", "CalculatedOrder")?.unwrap_or(0);
            let title = v.string("title")?;
            let quantity = v.int("quantity")?;
            let Some(price) = v.0.get("price").filter(|p| p.is_object()) else {
                return Err(Vars::missing("price", "MoneyInput!"));
            };
            let amount = match price.get("amount") {
                Some(Value::String(s)) => Decimal::from_str(s.trim()).ok(),
                Some(Value::Number(n)) => Decimal::from_str(&n.to_string()).ok(),
                _ => None,
            };
            let (Some(amount), Some(currency)) =
                (amount, price.get("currencyCode").and_then(Value::as_str))
            else {
                return Err(Vars::missing("price", "MoneyInput!"));
            };
            let taxable = v.flag("taxable", true);
            let shipping = v.flag("requiresShipping", false);
            let mut store = st.store.lock();
            let result =
                store.edit_add_custom(calc, &title, amount, currency, quantity, taxable, shipping);
            Ok(line_answer(&store, calc, result))
        }
        "orderEditCommit" => {
            let calc = v.id("id", "CalculatedOrder")?.unwrap_or(0);
            let notify = v.flag("notifyCustomer", false);
            let note =
                v.0.get("staffNote")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            let committed = st.store.lock().commit_edit(calc, notify, note);
            Ok(match committed {
                Ok(order) => {
                    st.notify("orders/updated", &order);
                    json!({
                        "order": {"id": gid("Order", order.id)},
                        "successMessages": ["Order updated"],
                        "userErrors": [],
                    })
                }
                Err(e) => fail(e, json!({"order": null})),
            })
        }
        "productVariantsBulkUpdate" => variants_bulk_update(st, v),
        "inventorySetQuantities" => inventory_set_quantities(st, v),
        _ => Err(QueryError(
            format!("Field '{field}' doesn't exist on type 'Mutation'"),
            "undefinedField",
        )),
    }
}

/// A mutation's payload with `extra`'s fields null and `e` as its one user error.
fn fail(e: UserError, extra: Value) -> Value {
    let mut p = extra;
    p["userErrors"] = user_errors(&[e]);
    p
}

/// The answer of a mutation that changes one calculated line: the line and the calculated
/// order, or the user error with both null.
fn line_answer(store: &super::store::Store, calc: u64, result: Result<u64, UserError>) -> Value {
    match result {
        Ok(l) => json!({
            "calculatedLineItem": store.calculated_line_json(calc, l),
            "calculatedOrder": store.calculated_json(calc),
            "userErrors": [],
        }),
        Err(e) => fail(
            e,
            json!({"calculatedLineItem": null, "calculatedOrder": null}),
        ),
    }
}

/// Points a call requests: [`MUTATION_COST`], plus one per variant for
/// `productVariantsBulkUpdate` (each updated variant is an object in the returned
/// `productVariants` list). UNCONFIRMED: Shopify's calculated cost for these mutations is
/// not in the docs consulted; this keeps a bulk call dearer than a single edit and far
/// cheaper than one call per variant.
fn cost_of(field: &str, v: &Vars<'_>) -> f64 {
    match field {
        "productVariantsBulkUpdate" => {
            let n =
                v.0.get("variants")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
            MUTATION_COST + n as f64
        }
        _ => MUTATION_COST,
    }
}

/// Most entries of `inventorySetQuantities.input.quantities` the emulator takes
/// (UNCONFIRMED for Shopify, see [`crate::catalog::STOCK_SET_MAX`]).
pub(crate) const QUANTITIES_MAX: usize = crate::catalog::STOCK_SET_MAX;

/// A userError with a field path and Shopify's error `code`.
fn user_error(field: &[&str], message: &str, code: &str) -> Value {
    json!({"field": field, "message": message, "code": code})
}

fn money(v: &Value) -> Option<Decimal> {
    match v {
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        _ => None,
    }
}

/// `productVariantsBulkUpdate(productId, variants)`: `price` and `inventoryItem.tracked` of
/// variants of one product, with the REST variant route's rules (a negative or unreadable
/// price is refused; a variant that is not the product's is unknown). All or nothing: with
/// any userError nothing is written (the connector does not rely on this, see
/// [`crate::catalog`]).
fn variants_bulk_update(st: &EmulatorState, v: &Vars<'_>) -> Result<Value, QueryError> {
    let product = v.id("productId", "Product")?;
    let Some(inputs) = v.0.get("variants").and_then(Value::as_array) else {
        return Err(Vars::missing("variants", "[ProductVariantsBulkInput!]!"));
    };
    let mut store = st.store.lock();
    let failed = |errors: Vec<Value>| json!({"product": null, "productVariants": null, "userErrors": errors});
    let Some(product) = product.filter(|p| store.products.contains_key(p)) else {
        return Ok(failed(vec![user_error(
            &["productId"],
            "Product does not exist",
            "PRODUCT_DOES_NOT_EXIST",
        )]));
    };
    // (variant id, price, tracked) per entry, checked before anything is written.
    let mut planned: Vec<(u64, Option<Decimal>, Option<bool>)> = Vec::new();
    let mut errors = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let n = i.to_string();
        let id = input
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| parse_gid("ProductVariant", s))
            .filter(|id| {
                store.products[&product]
                    .variants
                    .iter()
                    .any(|x| x.id == *id)
            });
        let Some(id) = id else {
            errors.push(user_error(
                &["variants", &n, "id"],
                "Product variant does not exist",
                "PRODUCT_VARIANT_DOES_NOT_EXIST",
            ));
            continue;
        };
        let price = match input.get("price") {
            None | Some(Value::Null) => None,
            Some(p) => match money(p) {
                Some(d) if d >= Decimal::ZERO => Some(d),
                Some(_) => {
                    errors.push(user_error(
                        &["variants", &n, "price"],
                        "Price must be greater than or equal to 0",
                        "INVALID",
                    ));
                    continue;
                }
                None => {
                    errors.push(user_error(
                        &["variants", &n, "price"],
                        "Price is not a valid Money value",
                        "INVALID",
                    ));
                    continue;
                }
            },
        };
        let tracked = input
            .get("inventoryItem")
            .and_then(|i| i.get("tracked"))
            .and_then(Value::as_bool);
        planned.push((id, price, tracked));
    }
    if !errors.is_empty() {
        return Ok(failed(errors));
    }
    let now = store.now();
    let mut updated = Vec::new();
    let p = store.products.get_mut(&product).expect("checked above");
    for (id, price, tracked) in planned {
        let var = p
            .variants
            .iter_mut()
            .find(|x| x.id == id)
            .expect("checked above");
        if let Some(price) = price {
            var.price = price;
        }
        if let Some(t) = tracked {
            var.inventory_management = t.then(|| "shopify".to_string());
        }
        var.updated_at = Some(now);
        updated.push(json!({
            "id": gid("ProductVariant", var.id),
            "price": format!("{:.2}", var.price),
            "inventoryItem": {"tracked": var.inventory_management.is_some()},
        }));
    }
    Ok(json!({
        "product": {"id": gid("Product", product)},
        "productVariants": updated,
        "userErrors": [],
    }))
}

/// `inventorySetQuantities(input: {name, reason, ignoreCompareQuantity, quantities})`:
/// absolute `available` quantities, with the REST `set` route's rules (unknown item or
/// location refused, an untracked item refused, a level not stocked yet connected). Only
/// `name: "available"` is served; without `ignoreCompareQuantity: true` every entry needs a
/// `compareQuantity` equal to the stored one. All or nothing, like
/// [`variants_bulk_update`].
fn inventory_set_quantities(st: &EmulatorState, v: &Vars<'_>) -> Result<Value, QueryError> {
    let Some(input) = v.0.get("input").filter(|i| i.is_object()) else {
        return Err(Vars::missing("input", "InventorySetQuantitiesInput!"));
    };
    let (Some(name), Some(reason), Some(quantities)) = (
        input.get("name").and_then(Value::as_str),
        input.get("reason").and_then(Value::as_str),
        input.get("quantities").and_then(Value::as_array),
    ) else {
        return Err(Vars::missing("input", "InventorySetQuantitiesInput!"));
    };
    let ignore_compare = input
        .get("ignoreCompareQuantity")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let failed =
        |errors: Vec<Value>| json!({"inventoryAdjustmentGroup": null, "userErrors": errors});
    if name != "available" {
        return Ok(failed(vec![user_error(
            &["input", "name"],
            "The quantity name must be available (the emulator serves only available)",
            "INVALID_NAME",
        )]));
    }
    const REASONS: [&str; 4] = ["correction", "cycle_count_available", "received", "other"];
    if !REASONS.contains(&reason) {
        return Ok(failed(vec![user_error(
            &["input", "reason"],
            "The reason is not one of the possible reasons",
            "INVALID_REASON",
        )]));
    }
    if quantities.len() > QUANTITIES_MAX {
        return Ok(failed(vec![user_error(
            &["input", "quantities"],
            &format!("The quantities list cannot hold more than {QUANTITIES_MAX} entries"),
            "INVALID",
        )]));
    }
    let mut store = st.store.lock();
    let mut planned: Vec<(u64, u64, i64, i64)> = Vec::new();
    let mut errors = Vec::new();
    for (i, q) in quantities.iter().enumerate() {
        let n = i.to_string();
        let item = q
            .get("inventoryItemId")
            .and_then(Value::as_str)
            .and_then(|s| parse_gid("InventoryItem", s));
        let location = q
            .get("locationId")
            .and_then(Value::as_str)
            .and_then(|s| parse_gid("Location", s));
        let Some(quantity) = q.get("quantity").and_then(Value::as_i64) else {
            return Err(Vars::missing("input", "InventorySetQuantitiesInput!"));
        };
        let Some(variant) = item.and_then(|i| store.variant_of_item(i)) else {
            errors.push(user_error(
                &["input", "quantities", &n, "inventoryItemId"],
                "The specified inventory item could not be found.",
                "INVALID_INVENTORY_ITEM",
            ));
            continue;
        };
        let Some(location) = location.filter(|l| store.locations.contains_key(l)) else {
            errors.push(user_error(
                &["input", "quantities", &n, "locationId"],
                "The specified location could not be found.",
                "INVALID_LOCATION",
            ));
            continue;
        };
        if variant.inventory_management.is_none() {
            errors.push(user_error(
                &["input", "quantities", &n, "inventoryItemId"],
                "Inventory item does not have inventory tracking enabled",
                "INVALID_INVENTORY_ITEM",
            ));
            continue;
        }
        let item = item.unwrap_or(0);
        let current = store.inventory.get(&(item, location)).copied().unwrap_or(0);
        if !ignore_compare {
            let compare = q.get("compareQuantity").and_then(Value::as_i64);
            if compare != Some(current) {
                errors.push(user_error(
                    &["input", "quantities", &n, "compareQuantity"],
                    "The compareQuantity argument no longer matches the persisted quantity.",
                    "COMPARE_QUANTITY_STALE",
                ));
                continue;
            }
        }
        planned.push((item, location, quantity, current));
    }
    if !errors.is_empty() {
        return Ok(failed(errors));
    }
    let mut changes = Vec::new();
    for (item, location, quantity, before) in planned {
        store.set_inventory(item, location, quantity);
        changes.push(json!({
            "name": "available",
            "delta": quantity - before,
            "quantityAfterChange": quantity,
            "item": {"id": gid("InventoryItem", item)},
            "location": {"id": gid("Location", location)},
        }));
    }
    Ok(json!({
        "inventoryAdjustmentGroup": {"reason": reason, "changes": changes},
        "userErrors": [],
    }))
}
