//! `POST /admin/api/<v>/graphql.json`: the order-editing mutations, recognised by their root
//! field and fed from `variables`.
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
//! documented default for a mutation). When the bucket holds less than that the answer is
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
    const KNOWN: [&str; 5] = [
        "orderEditBegin",
        "orderEditAddVariant",
        "orderEditSetQuantity",
        "orderEditAddCustomItem",
        "orderEditCommit",
    ];
    if !KNOWN.contains(&field.as_str()) {
        return top_error(
            &format!("Field '{field}' doesn't exist on type 'Mutation' (the emulator serves only the order-editing mutations)"),
            "undefinedField",
        );
    }
    let left = match st.graphql_cost.take(MUTATION_COST) {
        Ok(left) => left,
        Err(available) => {
            return Json(json!({
                "errors": [{
                    "message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
                }],
                "extensions": {"cost": {
                    "requestedQueryCost": MUTATION_COST as i64,
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
            "requestedQueryCost": MUTATION_COST as i64,
            "actualQueryCost": MUTATION_COST as i64,
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
