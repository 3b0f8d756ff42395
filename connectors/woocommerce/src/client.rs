//! The WooCommerce REST v3 client.
//!
//! Authenticates with HTTP Basic (consumer key / secret), which WooCommerce accepts over HTTPS.
//! Every failure is classified into a [`ConnectorError`] here, where the status code and the
//! WordPress error body are still at hand (see the `errors` module).

use crate::convert::order_to_canonical;
use crate::errors::error_from_response;
use crate::wire::{NewOrder, WooOrder};
use crate::SYSTEM;
use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use dealbridge_sdk::http::{send, ClientLimits, RateLimiter, Timeouts};
use dealbridge_sdk::model::{Order, Page};
use dealbridge_sdk::traits::OrderSource;
use dealbridge_sdk::{ConnectorError, ErrorKind};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use url::Url;

/// The REST namespace every order route lives under.
pub const API_PREFIX: &str = "wp-json/wc/v3";

/// Sort key of an order listing (`orderby`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderBy {
    /// Order id: stable while paging, because ids never change and new orders go last.
    #[default]
    Id,
    /// Creation date (WooCommerce's default).
    Date,
    /// Last modification. Supported by the emulator; **not in the v3 docs' list**, so a real
    /// shop may answer 400 `rest_invalid_param`.
    Modified,
}

impl OrderBy {
    fn as_str(self) -> &'static str {
        match self {
            OrderBy::Id => "id",
            OrderBy::Date => "date",
            OrderBy::Modified => "modified",
        }
    }
}

/// Sort direction (`order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Oldest / lowest first.
    #[default]
    Asc,
    /// Newest / highest first (WooCommerce's default).
    Desc,
}

/// Parameters of `GET /orders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOrders {
    /// Only orders modified strictly after this instant (WooCommerce compares at 1-second
    /// resolution, so a poller must overlap its cursor).
    pub modified_after: Option<DateTime<Utc>>,
    /// 1-based page.
    pub page: u32,
    /// Page size, 1–100.
    pub per_page: u32,
    /// Status filter (`processing`, `any`, …); `None` is WooCommerce's `any`.
    pub status: Option<String>,
    /// Sort key; defaults to [`OrderBy::Id`] for stable paging.
    pub orderby: OrderBy,
    /// Sort direction; defaults to ascending.
    pub order: SortOrder,
}

impl Default for ListOrders {
    fn default() -> Self {
        ListOrders {
            modified_after: None,
            page: 1,
            per_page: 10,
            status: None,
            orderby: OrderBy::Id,
            order: SortOrder::Asc,
        }
    }
}

/// A client for one WooCommerce shop.
#[derive(Debug, Clone)]
pub struct WooClient {
    http: reqwest::Client,
    /// `<shop>/wp-json/wc/v3/`, always with a trailing slash so `join` appends.
    api: Url,
    consumer_key: String,
    consumer_secret: String,
    system_name: String,
    /// The configured request budget, shared by clones; `None` is unlimited (WooCommerce
    /// documents no limit of its own, but the shop's hosting may).
    limiter: Option<RateLimiter>,
}

impl WooClient {
    /// A client for the shop at `base_url` (the site address, e.g. `https://shop.example`;
    /// a URL already ending in `/wp-json/wc/v3` is accepted too).
    pub fn new(
        base_url: &str,
        consumer_key: &str,
        consumer_secret: &str,
        timeouts: Timeouts,
    ) -> Result<Self, ConnectorError> {
        let api = api_url(base_url)?;
        if consumer_key.is_empty() || consumer_secret.is_empty() {
            return Err(ConnectorError::new(
                ErrorKind::Auth,
                SYSTEM,
                "consumer_key and consumer_secret must both be set (WooCommerce > Settings > Advanced > REST API)",
            ));
        }
        if api.scheme() == "http" && !is_loopback(&api) {
            // Real WooCommerce only honours Basic auth when is_ssl(); over plain HTTP it expects
            // OAuth 1.0a and will answer 401. Warn rather than refuse: a TLS-terminating proxy
            // may make the shop see HTTPS.
            tracing::warn!(url = %api, "WooCommerce over plain HTTP: Basic auth is accepted only over HTTPS");
        }
        let http = dealbridge_sdk::http::client(timeouts).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("cannot build the HTTP client: {e}"),
            )
            .with_source(e)
        })?;
        Ok(WooClient {
            http,
            api,
            consumer_key: consumer_key.to_string(),
            consumer_secret: consumer_secret.to_string(),
            system_name: "woocommerce".to_string(),
            limiter: None,
        })
    }

    /// Sets the request budget (`rate_limit_per_second` / `rate_limit_burst`): every request
    /// waits on it before it is sent. Unlimited by default.
    pub fn with_limits(mut self, limits: ClientLimits) -> Self {
        self.limiter = limits.limiter();
        self
    }

    /// Sets the configured system name (`[systems.<name>]`) used in [`ExternalRef::system`]
    /// of converted records. Defaults to `woocommerce`.
    ///
    /// [`ExternalRef::system`]: dealbridge_sdk::model::ExternalRef::system
    pub fn with_system_name(mut self, name: impl Into<String>) -> Self {
        self.system_name = name.into();
        self
    }

    /// The configured system name.
    pub fn system_name(&self) -> &str {
        &self.system_name
    }

    /// `GET /orders`: one page of orders, with the matching total (`X-WP-Total`) and the page
    /// count (`X-WP-TotalPages`).
    pub async fn list_orders(
        &self,
        q: &ListOrders,
    ) -> Result<(Vec<WooOrder>, u64, u32), ConnectorError> {
        let mut query: Vec<(&str, String)> = vec![
            ("page", q.page.to_string()),
            ("per_page", q.per_page.to_string()),
            ("orderby", q.orderby.as_str().to_string()),
            (
                "order",
                match q.order {
                    SortOrder::Asc => "asc",
                    SortOrder::Desc => "desc",
                }
                .to_string(),
            ),
        ];
        if let Some(since) = q.modified_after {
            query.push((
                "modified_after",
                since.format("%Y-%m-%dT%H:%M:%S").to_string(),
            ));
            // Without this WooCommerce reads the date in the shop's local timezone.
            query.push(("dates_are_gmt", "true".to_string()));
        }
        if let Some(status) = &q.status {
            query.push(("status", status.clone()));
        }
        let what = format!("list orders (page {})", q.page);
        let req = self.request(Method::GET, "orders")?.query(&query);
        let (orders, headers): (Vec<WooOrder>, _) = self.send(&what, req).await?;
        let total = header_num(&headers, "x-wp-total").unwrap_or(orders.len() as u64);
        let total_pages = header_num(&headers, "x-wp-totalpages")
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(u32::from(!orders.is_empty()));
        Ok((orders, total, total_pages))
    }

    /// `GET /orders/<id>`.
    pub async fn get_order(&self, id: u64) -> Result<WooOrder, ConnectorError> {
        let req = self.request(Method::GET, &format!("orders/{id}"))?;
        Ok(self.send(&format!("get order {id}"), req).await?.0)
    }

    /// `POST /orders`.
    pub async fn create_order(&self, order: &NewOrder) -> Result<WooOrder, ConnectorError> {
        let req = self.request(Method::POST, "orders")?.json(order);
        Ok(self.send("create order", req).await?.0)
    }

    /// `PUT /orders/<id>` with any writable fields (`{"status": "completed"}`).
    pub async fn update_order(
        &self,
        id: u64,
        changes: &serde_json::Value,
    ) -> Result<WooOrder, ConnectorError> {
        let req = self
            .request(Method::PUT, &format!("orders/{id}"))?
            .json(changes);
        Ok(self.send(&format!("update order {id}"), req).await?.0)
    }

    /// `DELETE /orders/<id>`: to the trash, or for good with `force`. Returns the order as it was.
    pub async fn delete_order(&self, id: u64, force: bool) -> Result<WooOrder, ConnectorError> {
        let req = self
            .request(Method::DELETE, &format!("orders/{id}"))?
            .query(&[("force", if force { "true" } else { "false" })]);
        Ok(self.send(&format!("delete order {id}"), req).await?.0)
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
            .basic_auth(&self.consumer_key, Some(&self.consumer_secret)))
    }

    /// Waits for the rate limiter, sends, reads the whole body, and either decodes it or
    /// classifies the failure.
    pub(crate) async fn send<T: DeserializeOwned>(
        &self,
        what: &str,
        req: RequestBuilder,
    ) -> Result<(T, HeaderMap), ConnectorError> {
        let answer = send(self.limiter.as_ref(), SYSTEM, what, req).await?;
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
            "check that base_url points at the WordPress site",
        )?;
        Ok((value, answer.headers))
    }
}

#[async_trait]
impl OrderSource for WooClient {
    /// Lists by id ascending so pages stay stable while orders are being modified (an order's
    /// id never changes and new ones go last). `since` is made inclusive by asking for one
    /// second earlier: WooCommerce's `modified_after` is exclusive at 1-second resolution.
    async fn orders_modified_since(
        &self,
        since: Option<DateTime<Utc>>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Order>, ConnectorError> {
        let q = ListOrders {
            modified_after: since.map(|s| s - ChronoDuration::seconds(1)),
            page,
            per_page,
            status: None,
            orderby: OrderBy::Id,
            order: SortOrder::Asc,
        };
        let (orders, total, total_pages) = self.list_orders(&q).await?;
        let items = orders
            .iter()
            .map(|o| order_to_canonical(&self.system_name, o))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_page: (page < total_pages).then_some(page + 1),
            total: Some(total),
        })
    }

    async fn order(&self, id: &str) -> Result<Option<Order>, ConnectorError> {
        let Ok(numeric) = id.parse::<u64>() else {
            return Ok(None); // WooCommerce ids are integers: no such order
        };
        match self.get_order(numeric).await {
            Ok(o) if o.status == "trash" => Ok(None),
            Ok(o) => order_to_canonical(&self.system_name, &o).map(Some),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn api_url(base_url: &str) -> Result<Url, ConnectorError> {
    let bad = |why: String| {
        ConnectorError::new(
            ErrorKind::Invalid,
            SYSTEM,
            format!("base_url `{base_url}` {why}; set it to the shop's address, e.g. https://shop.example"),
        )
    };
    let trimmed = base_url.trim().trim_end_matches('/');
    let full = if trimmed.ends_with(API_PREFIX) {
        format!("{trimmed}/")
    } else {
        format!("{trimmed}/{API_PREFIX}/")
    };
    let url = Url::parse(&full).map_err(|e| bad(format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad("is not an http(s) URL".to_string()));
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

pub(crate) fn header_num(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_forms() {
        let a = api_url("http://127.0.0.1:9001").unwrap();
        assert_eq!(a.as_str(), "http://127.0.0.1:9001/wp-json/wc/v3/");
        let b = api_url("https://shop.example/blog/wp-json/wc/v3/").unwrap();
        assert_eq!(b.as_str(), "https://shop.example/blog/wp-json/wc/v3/");
        assert_eq!(
            b.join("orders/5").unwrap().path(),
            "/blog/wp-json/wc/v3/orders/5"
        );
        let e = api_url("ftp://x").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert!(e.message.contains("ftp://x"));
    }
}
