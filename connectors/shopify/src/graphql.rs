//! The Admin GraphQL endpoint: `POST /admin/api/<API_VERSION>/graphql.json` with
//! `{"query", "variables"}`.
//!
//! The connector sends fixed documents and passes every argument in `variables`, so no user
//! text is ever spliced into a query. Requests use the REST client's access token and wait on
//! the same client-side bucket, so REST and GraphQL calls from one client are paced together
//! (conservative: Shopify meters GraphQL by calculated cost in a bucket of its own).
//!
//! **Failures**, classified for the durable queue:
//! - HTTP-level failures (401, 429, 5xx, a proxy's HTML page) as for REST.
//! - Top-level `errors` (HTTP 200): `extensions.code` `THROTTLED` →
//!   [`ErrorKind::RateLimited`] with a retry-after from `extensions.cost` (the points missing ÷
//!   `restoreRate`) when Shopify reports it, else 1 s; `ACCESS_DENIED` → [`ErrorKind::Auth`]
//!   (the app lacks a scope); `INTERNAL_SERVER_ERROR` → [`ErrorKind::Transient`]; anything else
//!   (a query the pinned API version rejects) → [`ErrorKind::Invalid`], since the same request
//!   will be rejected again.
//! - Per-mutation `userErrors` (`[{field: [...], message}]`) → [`ErrorKind::Invalid`] naming
//!   the field path and message: Shopify refused the data ([`check_user_errors`]).
//!
//! The shape of a throttled answer (`{"errors": [{"message": "Throttled", "extensions":
//! {"code": "THROTTLED"}}], "extensions": {"cost": {"requestedQueryCost", "actualQueryCost":
//! null, "throttleStatus": {"maximumAvailable", "currentlyAvailable", "restoreRate"}}}}`) is
//! from Shopify's community forum examples; whether it comes with HTTP 200 or 429 is
//! UNCONFIRMED, and both are handled.

use crate::client::ShopifyClient;
use crate::SYSTEM;
use dealbridge_sdk::{ConnectorError, ErrorKind};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use std::time::Duration;

/// `extensions.cost.throttleStatus`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    /// Bucket size in points.
    pub maximum_available: f64,
    /// Points available after this request.
    pub currently_available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
}

/// `extensions.cost`: what the request cost and the bucket after it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryCost {
    /// Points the query could cost at most.
    #[serde(default)]
    pub requested_query_cost: Option<f64>,
    /// Points it did cost (`null` when it was throttled and did not run).
    #[serde(default)]
    pub actual_query_cost: Option<f64>,
    /// The bucket.
    #[serde(default)]
    pub throttle_status: Option<ThrottleStatus>,
}

impl QueryCost {
    /// How long until the bucket holds the requested points again; `None` when the cost does
    /// not say.
    pub fn wait_for_points(&self) -> Option<Duration> {
        let t = self.throttle_status.as_ref()?;
        let requested = self.requested_query_cost?;
        if t.restore_rate <= 0.0 {
            return None;
        }
        let missing = (requested - t.currently_available).max(1.0);
        Some(Duration::from_millis(
            (missing / t.restore_rate * 1000.0).ceil() as u64,
        ))
    }
}

/// One mutation's `userErrors` entry. `field` is the argument path (`["lineItemId"]`);
/// read from a list or a single string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserError {
    /// Shopify's error code (`INVALID`, …), when the payload selects it.
    #[serde(default)]
    pub code: Option<String>,
    /// Path of the offending argument, if any.
    #[serde(default, deserialize_with = "field_path")]
    pub field: Vec<String>,
    /// What Shopify says is wrong.
    pub message: String,
}

fn field_path<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Some(Value::String(s)) => vec![s],
        _ => Vec::new(),
    })
}

/// The decoded answer: `data` and the cost, when Shopify reports it.
#[derive(Debug, Clone)]
pub struct GraphqlAnswer<T> {
    /// `data`, decoded.
    pub data: T,
    /// `extensions.cost`.
    pub cost: Option<QueryCost>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Value>,
    #[serde(default)]
    extensions: Option<Value>,
}

/// Turns a non-empty `userErrors` list into an [`ErrorKind::Invalid`] error that says what
/// was refused (`what`), every field and message, and what follows.
pub fn check_user_errors(what: &str, errors: &[UserError]) -> Result<(), ConnectorError> {
    if errors.is_empty() {
        return Ok(());
    }
    let text = errors
        .iter()
        .map(|e| {
            if e.field.is_empty() {
                e.message.clone()
            } else {
                format!("{}: {}", e.field.join("."), e.message)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    Err(ConnectorError::new(
        ErrorKind::Invalid,
        SYSTEM,
        format!("{what}: Shopify refused it ({text}); the request will not succeed unchanged"),
    ))
}

/// Classifies a top-level `errors` list (see the module docs).
fn top_level_error(what: &str, errors: &Value, cost: Option<&QueryCost>) -> ConnectorError {
    let list = errors
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![errors.clone()]);
    let code = |e: &Value| {
        e.pointer("/extensions/code")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase()
    };
    let message = list
        .iter()
        .map(|e| {
            e.get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string())
        })
        .collect::<Vec<_>>()
        .join("; ");
    let codes: Vec<String> = list.iter().map(code).collect();
    let has = |c: &str| codes.iter().any(|x| x == c);
    if has("THROTTLED") {
        let wait = cost
            .and_then(QueryCost::wait_for_points)
            .unwrap_or(Duration::from_secs(1));
        return ConnectorError::new(
            ErrorKind::RateLimited,
            SYSTEM,
            format!(
                "{what}: GraphQL throttled ({message}); the shop's query-cost bucket is short of points, will retry after {} ms",
                wait.as_millis()
            ),
        )
        .with_retry_after(Some(wait));
    }
    if has("ACCESS_DENIED") {
        return ConnectorError::new(
            ErrorKind::Auth,
            SYSTEM,
            format!("{what}: access denied ({message}); give the shop's custom app the access scope this needs (order edits: write_order_edits; price/stock push: write_products, write_inventory)"),
        );
    }
    if has("INTERNAL_SERVER_ERROR") {
        return ConnectorError::new(
            ErrorKind::Transient,
            SYSTEM,
            format!("{what}: Shopify had an internal error ({message}); will retry"),
        );
    }
    ConnectorError::new(
        ErrorKind::Invalid,
        SYSTEM,
        format!("{what}: the GraphQL request was rejected ({message}); check that the pinned API version {} serves it", crate::API_VERSION),
    )
}

impl ShopifyClient {
    /// `POST graphql.json` with a fixed `query` document and its `variables`; returns `data`
    /// decoded as `T` (and the cost). `what` names the operation and entity for messages
    /// (`edit order 450789469: orderEditBegin`). Per-mutation `userErrors` are left to the
    /// caller ([`check_user_errors`]), because only it knows what they refer to.
    pub async fn graphql<T: DeserializeOwned>(
        &self,
        what: &str,
        query: &str,
        variables: Value,
    ) -> Result<GraphqlAnswer<T>, ConnectorError> {
        let req = self
            .request(Method::POST, "graphql.json")?
            .json(&json!({ "query": query, "variables": variables }));
        let (env, _): (Envelope, _) = self.send(what, req).await?;
        let cost = env
            .extensions
            .as_ref()
            .and_then(|e| e.get("cost"))
            .and_then(|c| serde_json::from_value::<QueryCost>(c.clone()).ok());
        if let Some(errors) = env
            .errors
            .as_ref()
            .filter(|e| !e.is_null() && e.as_array().is_none_or(|a| !a.is_empty()))
        {
            return Err(top_level_error(what, errors, cost.as_ref()));
        }
        let data = env.data.unwrap_or(Value::Null);
        let data = serde_json::from_value::<T>(data).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Protocol,
                SYSTEM,
                format!("{what}: GraphQL `data` is not the expected shape ({e}); check that the shop URL points at a Shopify store and the API version {} is served", crate::API_VERSION),
            )
            .with_source(e)
        })?;
        Ok(GraphqlAnswer { data, cost })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_error_field_is_a_path_or_a_string() {
        let e: Vec<UserError> = serde_json::from_value(json!([
            {"field": ["lineItemId"], "message": "bad"},
            {"field": "quantity", "message": "neg"},
            {"field": null, "message": "plain"}
        ]))
        .unwrap();
        assert_eq!(e[0].field, vec!["lineItemId"]);
        assert_eq!(e[1].field, vec!["quantity"]);
        assert!(e[2].field.is_empty());
        let err = check_user_errors("edit order 1", &e).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(err
            .message
            .contains("lineItemId: bad; quantity: neg; plain"));
    }

    #[test]
    fn throttled_waits_for_the_missing_points() {
        let cost: QueryCost = serde_json::from_value(json!({
            "requestedQueryCost": 10, "actualQueryCost": null,
            "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 4, "restoreRate": 50.0}
        }))
        .unwrap();
        let e = top_level_error(
            "x",
            &json!([{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]),
            Some(&cost),
        );
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(Duration::from_millis(120)));
        let other = top_level_error("x", &json!([{"message": "Field 'x' doesn't exist"}]), None);
        assert_eq!(other.kind, ErrorKind::Invalid);
        let denied = top_level_error(
            "x",
            &json!([{"message": "no", "extensions": {"code": "ACCESS_DENIED"}}]),
            None,
        );
        assert_eq!(denied.kind, ErrorKind::Auth);
    }
}
