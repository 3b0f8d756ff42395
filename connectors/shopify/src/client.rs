//! The Shopify Admin REST client.
//!
//! Authenticates with `X-Shopify-Access-Token`. Paging is by cursor: the `Link` header's
//! `rel="next"` carries a `page_info` that is sent back exactly as given, with nothing but
//! `limit` beside it. Every request first waits on the configured limit (`rate_limit_per_second`,
//! if any), then on the client's model of the shop's leaky bucket ([`ClientBucket`]); a 429 is not retried here but returned as
//! [`ErrorKind::RateLimited`] with the float `Retry-After`, so the durable queue decides.
//!
//! **Page numbers over cursors.** [`OrderSource`] is page-number based. Rather than change the
//! sdk trait, the client remembers, per listing (same `since` and page size), the `page_info`
//! that leads to each page number it has seen. Asking for page *n* uses the cursor of page *n*;
//! a page never reached (a poller restarted mid-listing) is reached by walking forward from the
//! nearest known page, which costs calls but never skips or repeats orders. Pollers in this
//! engine walk pages 1, 2, 3 … in order, so the walk does not happen in practice.

use crate::bucket::{parse_call_limit, ClientBucket, CALL_LIMIT_HEADER};
use crate::convert::order_to_canonical;
use crate::errors::error_from_response;
use crate::link;
use crate::wire::{
    InventoryLevel, InventoryLevelEnvelope, InventoryLevelsEnvelope, OrderEnvelope, OrdersEnvelope,
    ProductsEnvelope, ShopifyOrder, ShopifyProduct, ShopifyVariant, Transaction,
    TransactionsEnvelope, VariantEnvelope,
};
use crate::{API_VERSION, SYSTEM};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use dealbridge_sdk::http::{send, wait_for, ClientLimits, RateLimiter, Timeouts};
use dealbridge_sdk::model::{Order, Page};
use dealbridge_sdk::traits::OrderSource;
use dealbridge_sdk::{ConnectorError, ErrorKind};
use reqwest::header::{HeaderMap, LINK};
use reqwest::{Method, RequestBuilder, StatusCode};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use url::Url;

/// The largest page Shopify serves.
pub const MAX_LIMIT: u32 = 250;

/// Parameters of `GET orders.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOrders {
    /// Only orders updated at or after this instant.
    pub updated_at_min: Option<DateTime<Utc>>,
    /// `open`, `closed`, `cancelled` or `any` (Shopify's own default is `open`; ours is `any`,
    /// so cancelled and archived orders are synced too).
    pub status: String,
    /// Page size, 1–250.
    pub limit: u32,
    /// Sort, e.g. `updated_at asc` (what delta polling wants) or `id asc`.
    pub order: Option<String>,
    /// A cursor from a previous page's `Link` header; when set, the filters above are not sent
    /// (Shopify rejects them beside `page_info`) and only `limit` is.
    pub page_info: Option<String>,
}

impl Default for ListOrders {
    fn default() -> Self {
        ListOrders {
            updated_at_min: None,
            status: "any".to_string(),
            limit: 50,
            order: Some("updated_at asc".to_string()),
            page_info: None,
        }
    }
}

/// One page of orders and the cursors around it.
#[derive(Debug, Clone)]
pub struct OrdersPage {
    /// The orders.
    pub orders: Vec<ShopifyOrder>,
    /// Cursor of the next page (`rel="next"`), if any.
    pub next_page_info: Option<String>,
    /// Cursor of the previous page (`rel="previous"`), if any.
    pub previous_page_info: Option<String>,
    /// The bucket as reported on this answer (`used`, `size`).
    pub call_limit: Option<(u32, u32)>,
}

/// `(since, per_page)` of one listing → page number → the `page_info` leading to it.
type CursorMap = HashMap<(Option<i64>, u32), HashMap<u32, String>>;

/// A client for one shop.
#[derive(Debug, Clone)]
pub struct ShopifyClient {
    http: reqwest::Client,
    /// `<shop>/admin/api/<version>/`, with the trailing slash so `join` appends.
    api: Url,
    token: String,
    system_name: String,
    bucket: Arc<ClientBucket>,
    /// The configured request budget (`rate_limit_per_second`), shared by clones; waited on
    /// before the bucket. `None` leaves the pacing to the bucket alone.
    limiter: Option<RateLimiter>,
    last_call_limit: Arc<Mutex<Option<(u32, u32)>>>,
    cursors: Arc<Mutex<CursorMap>>,
    /// The location stock is pushed to, when configured (`location_id`); see
    /// [`ShopifyClient::with_location_id`].
    pub(crate) location_id: Option<u64>,
    /// The location stock goes to, once resolved (configured and checked, or the shop's only
    /// active one): resolved at most once per client, because it costs a call and a shop's
    /// locations change rarely. Shared by clones.
    pub(crate) stock_location: Arc<tokio::sync::OnceCell<u64>>,
}

impl ShopifyClient {
    /// A client for the shop at `shop_base_url` (`https://my-shop.myshopify.com`), using the
    /// Admin API access token of a custom app. Assumes the standard bucket (40, leaking 2/s)
    /// until the shop reports its own size.
    pub fn new(
        shop_base_url: &str,
        access_token: &str,
        timeouts: Timeouts,
    ) -> Result<Self, ConnectorError> {
        let api = api_url(shop_base_url)?;
        if access_token.trim().is_empty() {
            return Err(ConnectorError::new(
                ErrorKind::Auth,
                SYSTEM,
                "access_token is empty; set the Admin API access token of the shop's custom app (shpat_…)",
            ));
        }
        let http = dealbridge_sdk::http::client(timeouts).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("cannot build the HTTP client: {e}"),
            )
            .with_source(e)
        })?;
        Ok(ShopifyClient {
            http,
            api,
            token: access_token.to_string(),
            system_name: "shopify".to_string(),
            bucket: Arc::new(ClientBucket::new(40, 2.0, true)),
            limiter: None,
            last_call_limit: Arc::new(Mutex::new(None)),
            cursors: Arc::new(Mutex::new(HashMap::new())),
            location_id: None,
            stock_location: Arc::new(tokio::sync::OnceCell::new()),
        })
    }

    /// Sets the configured system name (`[systems.<name>]`) used in converted records.
    pub fn with_system_name(mut self, name: impl Into<String>) -> Self {
        self.system_name = name.into();
        self
    }

    /// Sets the plan's leak rate (2/s standard, 4/s Advanced, 20/s Plus) and whether the client
    /// paces itself; with `pacing` false it sends at once and meets 429s instead.
    pub fn with_bucket(mut self, leak_per_sec: f64, pacing: bool) -> Self {
        self.bucket = Arc::new(ClientBucket::new(40, leak_per_sec, pacing));
        self
    }

    /// Sets the configured request budget (`rate_limit_per_second` / `rate_limit_burst`):
    /// every request waits on it, then on the shop's bucket as
    /// `X-Shopify-Shop-Api-Call-Limit` reports it. Unlimited (bucket only) by default.
    pub fn with_limits(mut self, limits: ClientLimits) -> Self {
        self.limiter = limits.limiter();
        self
    }

    /// The configured system name.
    pub fn system_name(&self) -> &str {
        &self.system_name
    }

    /// The bucket as the shop last reported it (`used`, `size`).
    pub fn last_call_limit(&self) -> Option<(u32, u32)> {
        *self.last_call_limit.lock().expect("call limit lock")
    }

    /// `GET orders.json`: one page, with the cursors from the `Link` header.
    pub async fn list_orders(&self, q: &ListOrders) -> Result<OrdersPage, ConnectorError> {
        let limit = q.limit.clamp(1, MAX_LIMIT);
        let mut query: Vec<(&str, String)> = vec![("limit", limit.to_string())];
        match &q.page_info {
            Some(cursor) => query.push(("page_info", cursor.clone())),
            None => {
                query.push(("status", q.status.clone()));
                if let Some(since) = q.updated_at_min {
                    query.push((
                        "updated_at_min",
                        since.to_rfc3339_opts(SecondsFormat::Secs, true),
                    ));
                }
                if let Some(order) = &q.order {
                    query.push(("order", order.clone()));
                }
            }
        }
        let req = self.request(Method::GET, "orders.json")?.query(&query);
        let (env, headers): (OrdersEnvelope, _) = self.send("list orders", req).await?;
        let link = headers
            .get(LINK)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Ok(OrdersPage {
            orders: env.orders,
            next_page_info: link::page_info(link, "next"),
            previous_page_info: link::page_info(link, "previous"),
            call_limit: call_limit(&headers),
        })
    }

    /// `GET orders/{id}.json`.
    pub async fn get_order(&self, id: u64) -> Result<ShopifyOrder, ConnectorError> {
        let req = self.request(Method::GET, &format!("orders/{id}.json"))?;
        let (env, _): (OrderEnvelope, _) = self.send(&format!("get order {id}"), req).await?;
        Ok(env.order)
    }

    /// `POST orders.json` with the order object (`{"line_items": […], …}`); mostly for tests
    /// and the sandbox.
    pub async fn create_order(
        &self,
        order: &serde_json::Value,
    ) -> Result<ShopifyOrder, ConnectorError> {
        let req = self
            .request(Method::POST, "orders.json")?
            .json(&json!({ "order": order }));
        let (env, _): (OrderEnvelope, _) = self.send("create order", req).await?;
        Ok(env.order)
    }

    /// `PUT orders/{id}.json` setting the staff note.
    pub async fn set_order_note(
        &self,
        id: u64,
        note: &str,
    ) -> Result<ShopifyOrder, ConnectorError> {
        self.update_order(id, json!({ "note": note })).await
    }

    /// `PUT orders/{id}.json` replacing the tags (comma-separated in Shopify).
    pub async fn set_order_tags(
        &self,
        id: u64,
        tags: &[&str],
    ) -> Result<ShopifyOrder, ConnectorError> {
        self.update_order(id, json!({ "tags": tags.join(", ") }))
            .await
    }

    async fn update_order(
        &self,
        id: u64,
        mut changes: serde_json::Value,
    ) -> Result<ShopifyOrder, ConnectorError> {
        changes["id"] = json!(id);
        let req = self
            .request(Method::PUT, &format!("orders/{id}.json"))?
            .json(&json!({ "order": changes }));
        let (env, _): (OrderEnvelope, _) = self.send(&format!("update order {id}"), req).await?;
        Ok(env.order)
    }

    /// `POST orders/{id}/close.json`: archives the order.
    pub async fn close_order(&self, id: u64) -> Result<ShopifyOrder, ConnectorError> {
        let req = self
            .request(Method::POST, &format!("orders/{id}/close.json"))?
            .json(&json!({}));
        let (env, _): (OrderEnvelope, _) = self.send(&format!("close order {id}"), req).await?;
        Ok(env.order)
    }

    /// `POST orders/{id}/cancel.json` with an optional reason (`customer`, `fraud`,
    /// `inventory`, `declined`, `other`).
    pub async fn cancel_order(
        &self,
        id: u64,
        reason: Option<&str>,
    ) -> Result<ShopifyOrder, ConnectorError> {
        let body = match reason {
            Some(r) => json!({ "reason": r }),
            None => json!({}),
        };
        let req = self
            .request(Method::POST, &format!("orders/{id}/cancel.json"))?
            .json(&body);
        let (env, _): (OrderEnvelope, _) = self.send(&format!("cancel order {id}"), req).await?;
        Ok(env.order)
    }

    /// `GET orders/{id}/transactions.json`.
    pub async fn list_transactions(
        &self,
        order_id: u64,
    ) -> Result<Vec<Transaction>, ConnectorError> {
        let req = self.request(Method::GET, &format!("orders/{order_id}/transactions.json"))?;
        let (env, _): (TransactionsEnvelope, _) = self
            .send(&format!("list transactions of order {order_id}"), req)
            .await?;
        Ok(env.transactions)
    }

    /// `GET products.json` (first page; up to `limit` products).
    pub async fn list_products(&self, limit: u32) -> Result<Vec<ShopifyProduct>, ConnectorError> {
        let req = self
            .request(Method::GET, "products.json")?
            .query(&[("limit", limit.clamp(1, MAX_LIMIT).to_string())]);
        let (env, _): (ProductsEnvelope, _) = self.send("list products", req).await?;
        Ok(env.products)
    }

    /// `PUT variants/{id}.json` setting the price; see [`ShopifyClient::update_variant`] to
    /// turn on stock tracking in the same call.
    pub async fn update_variant_price(
        &self,
        variant_id: u64,
        price: Decimal,
    ) -> Result<ShopifyVariant, ConnectorError> {
        self.update_variant(variant_id, Some(price), false).await
    }

    /// `PUT variants/{id}.json` setting the price (when given) and, with `track_inventory`,
    /// `inventory_management: "shopify"` so Shopify tracks its stock, in one call.
    pub async fn update_variant(
        &self,
        variant_id: u64,
        price: Option<Decimal>,
        track_inventory: bool,
    ) -> Result<ShopifyVariant, ConnectorError> {
        let mut variant = serde_json::Map::new();
        variant.insert("id".into(), json!(variant_id));
        let mut what = Vec::new();
        if let Some(p) = price {
            variant.insert("price".into(), json!(crate::catalog::price_text(p)));
            what.push(format!("price {p}"));
        }
        if track_inventory {
            variant.insert("inventory_management".into(), json!("shopify"));
            what.push("stock tracking on".to_string());
        }
        let req = self
            .request(Method::PUT, &format!("variants/{variant_id}.json"))?
            .json(&json!({ "variant": serde_json::Value::Object(variant) }));
        let (env, _): (VariantEnvelope, _) = self
            .send(
                &format!("update variant {variant_id} ({})", what.join(", ")),
                req,
            )
            .await?;
        Ok(env.variant)
    }

    /// `GET inventory_levels.json?inventory_item_ids=…&location_ids=…` (at least one list must
    /// be non-empty, as in Shopify).
    pub async fn list_inventory_levels(
        &self,
        inventory_item_ids: &[u64],
        location_ids: &[u64],
    ) -> Result<Vec<InventoryLevel>, ConnectorError> {
        let join = |ids: &[u64]| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let mut query = Vec::new();
        if !inventory_item_ids.is_empty() {
            query.push(("inventory_item_ids", join(inventory_item_ids)));
        }
        if !location_ids.is_empty() {
            query.push(("location_ids", join(location_ids)));
        }
        let req = self
            .request(Method::GET, "inventory_levels.json")?
            .query(&query);
        let (env, _): (InventoryLevelsEnvelope, _) =
            self.send("list inventory levels", req).await?;
        Ok(env.inventory_levels)
    }

    /// `POST inventory_levels/set.json`: sets the available quantity of an inventory item at a
    /// location.
    pub async fn set_inventory_level(
        &self,
        inventory_item_id: u64,
        location_id: u64,
        available: i64,
    ) -> Result<InventoryLevel, ConnectorError> {
        let body = json!({
            "location_id": location_id,
            "inventory_item_id": inventory_item_id,
            "available": available,
        });
        let req = self
            .request(Method::POST, "inventory_levels/set.json")?
            .json(&body);
        let (env, _): (InventoryLevelEnvelope, _) = self
            .send(
                &format!(
                    "set stock of inventory item {inventory_item_id} at location {location_id}"
                ),
                req,
            )
            .await?;
        Ok(env.inventory_level)
    }

    pub(crate) fn request(
        &self,
        method: Method,
        path: &str,
    ) -> Result<RequestBuilder, ConnectorError> {
        let url = self.api.join(path).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("bad API path {path}: {e}"),
            )
        })?;
        Ok(self
            .http
            .request(method, url)
            .header("X-Shopify-Access-Token", &self.token))
    }

    /// Waits on the configured limiter and the bucket, sends, reads the whole body, records the
    /// bucket level, and either decodes the body or classifies the failure.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        what: &str,
        req: RequestBuilder,
    ) -> Result<(T, HeaderMap), ConnectorError> {
        // The configured budget first: the bucket's reservation must be taken when the
        // request is about to leave, not before a wait on the limiter.
        wait_for(self.limiter.as_ref()).await;
        let wait = self.bucket.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let answer = send(None, SYSTEM, what, req).await?;
        if let Some((used, size)) = call_limit(&answer.headers) {
            self.bucket.observe(used, size);
            *self.last_call_limit.lock().expect("call limit lock") = Some((used, size));
        }
        if answer.status == StatusCode::TOO_MANY_REQUESTS.as_u16() {
            self.bucket.observe_full();
        }
        if !answer.is_success() {
            return Err(error_from_response(
                what,
                answer.status,
                &answer.headers,
                &answer.body,
            ));
        }
        let value = answer.json(
            SYSTEM,
            what,
            "check that the shop URL points at a Shopify store",
        )?;
        Ok((value, answer.headers))
    }

    fn cursor_for(&self, key: (Option<i64>, u32), page: u32) -> Option<(u32, Option<String>)> {
        if page <= 1 {
            return Some((1, None));
        }
        let map = self.cursors.lock().expect("cursor lock");
        let pages = map.get(&key)?;
        if let Some(c) = pages.get(&page) {
            return Some((page, Some(c.clone())));
        }
        pages
            .iter()
            .filter(|(p, _)| **p < page)
            .max_by_key(|(p, _)| **p)
            .map(|(p, c)| (*p, Some(c.clone())))
    }
}

#[async_trait]
impl OrderSource for ShopifyClient {
    /// Lists by `updated_at` ascending (keyset cursor, so changes during paging neither skip nor
    /// repeat orders within one listing); `updated_at_min` is inclusive. See the module docs for
    /// how page numbers map onto cursors.
    async fn orders_modified_since(
        &self,
        since: Option<DateTime<Utc>>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Order>, ConnectorError> {
        let per_page = per_page.clamp(1, MAX_LIMIT);
        let key = (since.map(|s| s.timestamp_micros()), per_page);
        if page <= 1 {
            // A new listing starts: forget the cursors of older ones, so a long-running poller
            // (whose `since` moves every cycle) keeps one listing's cursors, not all of them.
            self.cursors.lock().expect("cursor lock").clear();
        }
        let (mut at, mut cursor) = self.cursor_for(key, page).unwrap_or((1, None));
        loop {
            let q = ListOrders {
                updated_at_min: since,
                limit: per_page,
                page_info: cursor.clone(),
                ..ListOrders::default()
            };
            let listed = self.list_orders(&q).await?;
            if let Some(next) = &listed.next_page_info {
                self.cursors
                    .lock()
                    .expect("cursor lock")
                    .entry(key)
                    .or_default()
                    .insert(at + 1, next.clone());
            }
            if at >= page || listed.next_page_info.is_none() {
                if at < page {
                    // The listing ended before the page asked for.
                    return Ok(Page {
                        items: Vec::new(),
                        next_page: None,
                        total: None,
                    });
                }
                let items = listed
                    .orders
                    .iter()
                    .map(|o| order_to_canonical(&self.system_name, o))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(Page {
                    items,
                    next_page: listed.next_page_info.map(|_| page + 1),
                    total: None,
                });
            }
            at += 1;
            cursor = listed.next_page_info;
        }
    }

    async fn order(&self, id: &str) -> Result<Option<Order>, ConnectorError> {
        let Ok(numeric) = id.parse::<u64>() else {
            return Ok(None); // Shopify REST ids are integers: no such order
        };
        match self.get_order(numeric).await {
            Ok(o) => crate::convert::order_to_canonical(&self.system_name, &o).map(Some),
            Err(e) if e.kind == dealbridge_sdk::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn call_limit(headers: &HeaderMap) -> Option<(u32, u32)> {
    parse_call_limit(headers.get(CALL_LIMIT_HEADER)?.to_str().ok()?)
}

fn api_url(base: &str) -> Result<Url, ConnectorError> {
    let bad = |why: String| {
        ConnectorError::new(
            ErrorKind::Invalid,
            SYSTEM,
            format!("shop URL `{base}` {why}; set it to the shop's address, e.g. https://my-shop.myshopify.com"),
        )
    };
    let trimmed = base.trim().trim_end_matches('/');
    let url = Url::parse(&format!("{trimmed}/admin/api/{API_VERSION}/"))
        .map_err(|e| bad(format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad("is not an http(s) URL".to_string()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_url_pins_the_version() {
        let u = api_url("https://s.myshopify.com/").unwrap();
        assert_eq!(
            u.as_str(),
            format!("https://s.myshopify.com/admin/api/{API_VERSION}/")
        );
        assert_eq!(
            u.join("orders/5.json").unwrap().path(),
            format!("/admin/api/{API_VERSION}/orders/5.json")
        );
        assert_eq!(api_url("ftp://x").unwrap_err().kind, ErrorKind::Invalid);
    }
}
