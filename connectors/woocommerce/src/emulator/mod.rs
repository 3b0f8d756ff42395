//! A local WooCommerce: the `/wp-json/wc/v3/orders` endpoints (with order notes and refunds),
//! products and variations (list with `status`, price/stock batch updates), customers (list,
//! get) and the shop currency (`GET /data/currencies/current`) over
//! real HTTP, with the service's status codes, error bodies, paging headers and
//! authentication, plus fault injection and per-route call counters. Shop-owner actions that
//! do not go through the REST API (and are not counted): [`EmulatorHandle::owner_edit`],
//! [`EmulatorHandle::owner_refund`], [`EmulatorHandle::owner_set_product_status`].
//!
//! Module map: `server` (accept loop that can drop connections), `gate` (counting, latency,
//! faults, auth), [`routes`] (handlers), `orders` (write semantics and totals), `query` (list
//! parameters), `extras` (notes, refunds, products, variations, customers), [`state`] (the data
//! and the clock), `auth`, `wp_error`, [`seed`],
//! [`webhooks`] (signed deliveries to a configured URL on every order change).
//!
//! **Clock.** Dates have WooCommerce's 1-second resolution and `modified_after` is exclusive,
//! so two changes within one second are indistinguishable to a `modified_after` query: a
//! poller must overlap its cursor (ask from a little before the newest `date_modified_gmt`
//! it has seen) and tolerate seeing an order twice. Internally every change also takes a
//! strictly increasing sequence number, which orders ties for `orderby=modified`.
//!
//! **Simplifications.** No tax rates (taxes are `0.00`); coupons are percentage coupons from
//! [`EmulatorConfig::coupons`]; a line may give `subtotal`/`total` instead of a catalog product.

mod auth;
mod busy;
pub mod cli;
mod extras;
mod gate;
mod orders;
mod query;
pub mod routes;
pub mod sandbox;
pub mod seed;
mod server;
use dealbridge_sdk::emulator_server::ServerTask;
pub mod state;
pub mod webhooks;
mod wp_error;

pub use state::CatalogItem;
pub use webhooks::{DeliveryRecord, WebhookInfo, WebhookStatus};
pub use wp_error::WpError;

use axum::routing::{get, post};
use axum::Router;
use chrono::FixedOffset;
use dealbridge_sdk::fault::{CallCounters, FaultConfig, Faults};
use rust_decimal::Decimal;
use state::{SharedStore, ShopSettings, Store};
use std::net::SocketAddr;
use std::time::Duration;
use webhooks::SharedHooks;

/// The REST namespace root every route lives under.
pub const API_ROOT: &str = "/wp-json/wc/v3";

/// How to set up an emulated shop.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The accepted consumer key (`ck_…`).
    pub consumer_key: String,
    /// The accepted consumer secret (`cs_…`).
    pub consumer_secret: String,
    /// Shop currency for new orders.
    pub currency: String,
    /// The shop's timezone as hours east of UTC (site-local dates use it).
    pub utc_offset_hours: i32,
    /// Id of the first order created.
    pub first_order_id: u64,
    /// Products orders can be placed for.
    pub catalog: Vec<CatalogItem>,
    /// Percentage coupons: code (case-insensitive) → percent off the items' subtotal.
    pub coupons: Vec<(String, Decimal)>,
    /// Initial fault settings (changeable later through [`EmulatorHandle::faults`]).
    pub faults: FaultConfig,
    /// Where webhooks are delivered (`order.created`, `order.updated`, `order.deleted`);
    /// `None` leaves them paused. Changeable through [`EmulatorHandle::set_webhooks`].
    pub webhook_url: Option<String>,
    /// The webhooks' secret: the HMAC key of `X-WC-Webhook-Signature`.
    pub webhook_secret: String,
    /// How long a change waits before its delivery runs (the Action Scheduler's latency);
    /// further changes to the same order and topic in that window join the same delivery.
    pub webhook_delay: Duration,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            consumer_key: "ck_test".to_string(),
            consumer_secret: "cs_test".to_string(),
            currency: "RUB".to_string(),
            utc_offset_hours: 3,
            first_order_id: 100,
            catalog: seed::default_catalog(),
            coupons: vec![("sale10".to_string(), Decimal::TEN)],
            faults: FaultConfig::default(),
            webhook_url: None,
            webhook_secret: String::new(),
            webhook_delay: Duration::from_millis(100),
        }
    }
}

/// State shared by every request of one emulator.
#[derive(Debug, Clone)]
pub struct EmulatorState {
    pub(crate) store: SharedStore,
    pub(crate) faults: Faults,
    pub(crate) counters: CallCounters,
    pub(crate) consumer_key: String,
    pub(crate) consumer_secret: String,
    pub(crate) hooks: SharedHooks,
    pub(crate) http: reqwest::Client,
    /// Pending 429/503 answers with `Retry-After`.
    pub(crate) busy: busy::Busy,
}

impl EmulatorState {
    /// Fresh state from a config. Inside a tokio runtime this also starts the webhook
    /// delivery worker; outside one, webhooks are never delivered.
    pub fn new(config: EmulatorConfig) -> Self {
        let utc_offset = FixedOffset::east_opt(config.utc_offset_hours * 3600)
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
        let settings = ShopSettings {
            currency: config.currency.to_ascii_uppercase(),
            utc_offset,
            coupons: config
                .coupons
                .into_iter()
                .map(|(c, p)| (c.to_lowercase(), p))
                .collect(),
        };
        let faults = Faults::default();
        faults.set(config.faults);
        let mut initial = Store::new(settings, config.catalog, config.first_order_id);
        seed::seed_customers(&mut initial);
        let store = SharedStore::new(initial);
        let hooks = SharedHooks::new(config.webhook_url, config.webhook_secret);
        let http = webhooks::client();
        webhooks::start(&store, &hooks, config.webhook_delay, http.clone());
        EmulatorState {
            store,
            faults,
            counters: CallCounters::default(),
            consumer_key: config.consumer_key,
            consumer_secret: config.consumer_secret,
            hooks,
            http,
            busy: busy::Busy::default(),
        }
    }

    /// A handle for tests and the sandbox.
    pub fn handle(&self) -> EmulatorHandle {
        EmulatorHandle {
            state: self.clone(),
        }
    }
}

/// The routes, with the gate (counters, latency, faults, auth) in front. Served with
/// `axum::serve` instead of [`spawn`], the `Drop` and `Timeout` faults answer 500 instead of
/// dropping the connection.
pub fn router(state: EmulatorState) -> Router {
    let orders = format!("{API_ROOT}/orders");
    let products = format!("{API_ROOT}/products");
    Router::new()
        .route(&orders, get(routes::list).post(routes::create))
        .route(
            &format!("{orders}/batch"),
            post(routes::batch).put(routes::batch).patch(routes::batch),
        )
        .route(
            &format!("{orders}/{{id}}"),
            get(routes::get_one)
                .put(routes::update)
                .patch(routes::update)
                .post(routes::update)
                .delete(routes::delete),
        )
        .route(
            &format!("{orders}/{{id}}/notes"),
            get(extras::list_notes).post(extras::create_note),
        )
        .route(
            &format!("{orders}/{{id}}/refunds"),
            get(extras::list_refunds).post(extras::create_refund),
        )
        .route(&products, get(extras::list_products))
        .route(
            &format!("{products}/batch"),
            post(extras::batch_products)
                .put(extras::batch_products)
                .patch(extras::batch_products),
        )
        .route(
            &format!("{products}/{{id}}"),
            get(extras::get_product)
                .put(extras::update_product)
                .patch(extras::update_product)
                .post(extras::update_product),
        )
        .route(
            &format!("{products}/{{id}}/variations"),
            get(extras::list_variations),
        )
        .route(
            &format!("{products}/{{id}}/variations/batch"),
            post(extras::batch_variations)
                .put(extras::batch_variations)
                .patch(extras::batch_variations),
        )
        .route(
            &format!("{API_ROOT}/customers"),
            get(extras::list_customers),
        )
        .route(
            &format!("{API_ROOT}/data/currencies/current"),
            get(extras::current_currency),
        )
        .route(
            &format!("{API_ROOT}/customers/{{id}}"),
            get(extras::get_customer),
        )
        .fallback(routes::no_route)
        .method_not_allowed_fallback(routes::no_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gate::gate,
        ))
        .with_state(state)
}

/// Test and sandbox access to a running emulator's data, faults and counters.
#[derive(Debug, Clone)]
pub struct EmulatorHandle {
    state: EmulatorState,
}

impl EmulatorHandle {
    /// Fault settings; change them with [`Faults::set`].
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Per-route counters, keyed `METHOD /route` with the route pattern: `GET /orders`,
    /// `POST /orders`, `GET /orders/{id}`, `PUT /orders/{id}`, `DELETE /orders/{id}`,
    /// `POST /orders/batch`, `GET|POST /orders/{id}/notes`, `GET|POST /orders/{id}/refunds`,
    /// `GET /products`, `POST /products/batch`, `GET /products/{id}/variations`,
    /// `POST /products/{id}/variations/batch`, `GET /customers`, `GET /customers/{id}`,
    /// `GET /data/currencies/current`.
    pub fn counters(&self) -> &CallCounters {
        &self.state.counters
    }

    /// Answers the next `n` requests with `status` (429 or 503) and `Retry-After: retry_after`
    /// (seconds, or an HTTP date), as a throttling host does.
    pub fn answer_busy_for_next(&self, n: u64, status: u16, retry_after: &str) {
        self.state.busy.set(n, status, retry_after);
    }

    /// Busy answers given so far.
    pub fn busy_answers(&self) -> u64 {
        self.state.busy.served()
    }

    /// Creates `n` realistic orders (1–4 catalog lines, shipping, repeat buyers, mixed
    /// statuses), reproducible from `seed`. Returns their ids.
    pub fn seed_orders(&self, n: usize, seed: u64) -> Vec<u64> {
        seed::seed_orders(&mut self.state.store.lock(), n, seed)
    }

    /// Orders stored, trashed ones included.
    pub fn order_count(&self) -> usize {
        self.state.store.lock().orders.len()
    }

    /// An order as `GET /orders/<id>` would render it (links relative to `http://localhost`).
    pub fn get_order_json(&self, id: u64) -> Option<serde_json::Value> {
        let store = self.state.store.lock();
        let stored = store.orders.get(&id)?;
        Some(routes::order_json(&stored.order, "http://localhost"))
    }

    /// All order ids, ascending.
    pub fn order_ids(&self) -> Vec<u64> {
        self.state.store.lock().orders.keys().copied().collect()
    }

    /// The catalog orders can be placed for.
    pub fn catalog(&self) -> Vec<CatalogItem> {
        self.state.store.lock().catalog.clone()
    }

    /// Points every webhook at `Some((url, secret))` and (re)activates it with a clean failure
    /// count, or pauses them all with `None` (no deliveries; changes made meanwhile are never
    /// delivered, as in WooCommerce).
    pub fn set_webhooks(&self, target: Option<(String, String)>) {
        self.state.hooks.set_target(target);
    }

    /// The shop's webhooks (one per order topic) with status and consecutive failure count.
    pub fn webhooks(&self) -> Vec<WebhookInfo> {
        self.state.hooks.webhooks()
    }

    /// True when WooCommerce would have disabled any webhook (more than 5 consecutive
    /// failures).
    pub fn webhooks_disabled(&self) -> bool {
        self.webhooks()
            .iter()
            .any(|w| w.status == WebhookStatus::Disabled)
    }

    /// Every delivery attempt so far, oldest first (redeliveries included, marked).
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.state.hooks.deliveries()
    }

    /// Sends the most recent stored delivery with this delivery id again, byte for byte, to
    /// the URL it went to: a duplicate. Returns the new log record, `None` for an unknown id.
    pub async fn redeliver(&self, delivery_id: &str) -> Option<DeliveryRecord> {
        webhooks::redeliver(&self.state.hooks, &self.state.http, delivery_id).await
    }

    /// Sends WooCommerce's creation ping (`webhook_id=<id>`, unsigned) for every webhook to the
    /// configured URL; returns (webhook id, answered status).
    pub async fn ping_webhooks(&self) -> Vec<(u64, Option<u16>)> {
        webhooks::ping(&self.state.hooks, &self.state.http).await
    }

    /// Edits an order as the shop owner would in wp-admin (any `PUT /orders/<id>` body:
    /// `{"status": "on-hold"}`, `{"line_items": [...]}`), with the same semantics, totals,
    /// `date_modified` bump and `order.updated` webhook, but without going through HTTP, so it
    /// is not counted as a client call.
    pub fn owner_edit(&self, id: u64, body: &serde_json::Value) -> Result<(), WpError> {
        orders::update(&mut self.state.store.lock(), id, body)
    }

    /// Registers an order status as a plugin would (a shipment tracker's `delivered`); from
    /// then on writes may set it and listings show it, like a core status.
    pub fn register_order_status(&self, slug: &str) {
        let mut store = self.state.store.lock();
        if !store.registered_statuses.iter().any(|s| s == slug) {
            store.registered_statuses.push(slug.to_string());
        }
    }

    /// Refunds `amount` of order `id` manually, as the shop owner's "Refund manually" does
    /// (not counted as a client call). Returns the refund id.
    pub fn owner_refund(&self, id: u64, amount: Decimal, reason: &str) -> Result<u64, WpError> {
        extras::refund(&mut self.state.store.lock(), id, amount, reason).map(|r| r.id)
    }

    /// The notes of an order, oldest first, as `(text, customer_note)`.
    pub fn notes(&self, id: u64) -> Vec<(String, bool)> {
        self.state
            .store
            .lock()
            .notes
            .get(&id)
            .map(|n| {
                n.iter()
                    .map(|x| (x.note.clone(), x.customer_note))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sets a product's or variation's status as the shop owner would in wp-admin (not counted
    /// as a client call): `draft`, `pending`, `private`, `publish`, `future` or `trash` for a
    /// product, `publish` or `private` (disabled) for a variation. Trashing a variable product
    /// trashes its variations too, as WooCommerce does.
    pub fn owner_set_product_status(&self, id: u64, status: &str) -> Result<(), WpError> {
        extras::set_product_status(&mut self.state.store.lock(), id, status)
    }

    /// A product or variation as the API renders it (without `_links`).
    pub fn product(&self, id: u64) -> Option<crate::wire::WooProduct> {
        self.state.store.lock().products.get(&id).cloned()
    }

    /// Moves the server clock forward, so tests need not sleep across WooCommerce's 1-second
    /// date resolution.
    pub fn advance_clock(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
        self.state.store.lock().advance_clock(by);
    }
}

/// An emulator serving on a socket.
#[derive(Debug)]
pub struct RunningEmulator {
    /// The bound address.
    pub addr: SocketAddr,
    /// `http://<addr>`: the shop's base URL for [`crate::WooClient::new`].
    pub base_url: String,
    /// Access to data, faults and counters.
    pub handle: EmulatorHandle,
    server: ServerTask,
}

impl RunningEmulator {
    /// Stops accepting, closes every open connection, and waits for the server task.
    pub async fn shutdown(self) {
        self.server.stop().await;
    }
}

/// Starts an emulator on `addr` (port 0 picks a free one).
pub async fn spawn(config: EmulatorConfig, addr: SocketAddr) -> std::io::Result<RunningEmulator> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let state = EmulatorState::new(config);
    state.hooks.set_source(&format!("http://{addr}"));
    let handle = state.handle();
    let server = ServerTask::start(listener, router(state), "woocommerce emulator");
    Ok(RunningEmulator {
        addr,
        base_url: format!("http://{addr}"),
        handle,
        server,
    })
}
