//! An in-process Shopify Admin REST API over real HTTP: orders (cursor paging by `Link`,
//! `updated_at_min`, create/update/close/cancel), transactions, products, variants (price and
//! stock tracking), inventory levels (read, set, connect-on-set), locations and the shop
//! (`shop.json`, for its currency); the
//! access-token check; the leaky bucket with `X-Shopify-Shop-Api-Call-Limit` on every answer
//! and 429 + `Retry-After: 2.0` when full; signed webhooks with retries that keep the webhook
//! id; fault injection and counters. GraphQL (`graphql.json`) serves the order-editing
//! mutations (`orderEditBegin`, `orderEditSetQuantity`, `orderEditAddVariant`,
//! `orderEditAddCustomItem`, `orderEditCommit`) and the catalog writes
//! (`productVariantsBulkUpdate`, `inventorySetQuantities`, with the REST variant and level
//! routes' rules) with Shopify's calculated-cost bucket; a commit shows in the REST order as
//! `current_quantity` and `current_*` totals and fires `orders/updated`.
//!
//! Module map: `server` (accept loop that can drop connections), `gate` (counting, latency,
//! faults, auth, REST bucket), `bucket`, `routes` (REST handlers), `graphql` (the GraphQL
//! endpoint and its cost bucket), [`edit`] (order-edit sessions), `store` (data and order
//! semantics), [`seed`], [`webhooks`] (delivery with retries).
//!
//! **Simplifications.** One location seeded (tests may add more); one flat tax rate; `fields=`
//! is accepted and ignored; only `rel="next"` links are emitted (no `rel="previous"`); the
//! default sort is `id asc`.

mod bucket;
pub mod cli;
pub mod edit;
mod gate;
mod graphql;
mod routes;
pub mod seed;
mod server;
use dealbridge_sdk::emulator_server::ServerTask;
pub mod store;
pub mod webhooks;

pub use webhooks::DeliveryRecord;

use crate::wire::ShopifyOrder;
use axum::routing::{get, post};
use axum::Router;
use bucket::ServerBucket;
use dealbridge_sdk::fault::{CallCounters, FaultConfig, Faults};
use rust_decimal::Decimal;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::{SharedStore, ShopSettings, Store};
use webhooks::WebhookSender;

/// How to set up an emulated shop.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The shop domain (`dealbridge-test.myshopify.com`), sent in `X-Shopify-Shop-Domain`.
    pub shop: String,
    /// The accepted Admin API access token.
    pub access_token: String,
    /// The API version served (`/admin/api/<version>/…`).
    pub api_version: String,
    /// Bucket size (40 standard, 80 Plus).
    pub bucket_size: u32,
    /// Leak rate per second (2 standard).
    pub leak_per_sec: f64,
    /// Where order webhooks go; `None` sends none.
    pub webhook_url: Option<String>,
    /// The secret webhooks are signed with (the app's client secret).
    pub webhook_secret: String,
    /// Retries after a failed delivery (Shopify: 8 over 4 hours).
    pub webhook_retries: u32,
    /// Delay before the first retry; doubles each time.
    pub webhook_retry_delay: Duration,
    /// Shop currency.
    pub currency: String,
    /// Whether prices include tax.
    pub taxes_included: bool,
    /// Flat tax rate as a fraction.
    pub tax_rate: Decimal,
    /// First id handed out (orders, lines, transactions share the sequence).
    pub first_id: u64,
    /// Initial fault settings.
    pub faults: FaultConfig,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            shop: "dealbridge-test.myshopify.com".into(),
            access_token: "shpat_test".into(),
            api_version: crate::API_VERSION.into(),
            bucket_size: 40,
            leak_per_sec: 2.0,
            webhook_url: None,
            webhook_secret: "shpss_test".into(),
            webhook_retries: 3,
            webhook_retry_delay: Duration::from_millis(100),
            currency: "USD".into(),
            taxes_included: false,
            tax_rate: Decimal::new(6, 2),
            first_id: 450_789_000,
            faults: FaultConfig::default(),
        }
    }
}

/// State shared by every request of one emulator.
#[derive(Debug, Clone)]
pub struct EmulatorState {
    pub(crate) store: SharedStore,
    pub(crate) faults: Faults,
    pub(crate) counters: CallCounters,
    pub(crate) access_token: String,
    pub(crate) api_root: String,
    pub(crate) bucket: ServerBucket,
    pub(crate) webhooks: WebhookSender,
    pub(crate) graphql_cost: graphql::CostBucket,
}

impl EmulatorState {
    /// Fresh state from a config.
    pub fn new(config: EmulatorConfig) -> Self {
        let faults = Faults::default();
        faults.set(config.faults);
        let settings = ShopSettings {
            currency: config.currency.to_ascii_uppercase(),
            taxes_included: config.taxes_included,
            tax_rate: config.tax_rate,
        };
        let http = dealbridge_sdk::http::client(dealbridge_sdk::http::Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_secs(5),
        })
        .expect("webhook HTTP client");
        EmulatorState {
            store: SharedStore::new(Store::new(
                settings,
                config.first_id,
                seed::default_catalog(),
            )),
            faults,
            counters: CallCounters::default(),
            access_token: config.access_token,
            api_root: format!("/admin/api/{}", config.api_version),
            bucket: ServerBucket::new(config.bucket_size, config.leak_per_sec),
            webhooks: WebhookSender {
                url: Arc::new(Mutex::new(config.webhook_url)),
                secret: config.webhook_secret,
                shop: config.shop,
                api_version: config.api_version,
                retries: config.webhook_retries,
                retry_delay: config.webhook_retry_delay,
                log: Arc::new(Mutex::new(Vec::new())),
                http,
            },
            graphql_cost: graphql::CostBucket::new(),
        }
    }

    /// Sends the order webhook for `topic`.
    pub(crate) fn notify(&self, topic: &str, order: &ShopifyOrder) {
        if let Ok(body) = serde_json::to_vec(order) {
            self.webhooks.send(topic, order.id, body);
        }
    }

    /// A handle for tests and the sandbox.
    pub fn handle(&self) -> EmulatorHandle {
        EmulatorHandle {
            state: self.clone(),
        }
    }
}

/// The routes with the gate in front. Served with `axum::serve` instead of [`spawn`], the
/// `Drop` and `Timeout` faults answer 500 instead of dropping the connection.
pub fn router(state: EmulatorState) -> Router {
    let r = state.api_root.clone();
    Router::new()
        .route(
            &format!("{r}/orders.json"),
            get(routes::list_orders).post(routes::create_order),
        )
        .route(
            &format!("{r}/orders/{{id}}"),
            get(routes::get_order).put(routes::update_order),
        )
        .route(
            &format!("{r}/orders/{{id}}/transactions.json"),
            get(routes::transactions).post(routes::create_transaction),
        )
        .route(
            &format!("{r}/orders/{{id}}/open.json"),
            post(routes::open_order),
        )
        .route(
            &format!("{r}/orders/{{id}}/refunds.json"),
            get(routes::refunds),
        )
        .route(
            &format!("{r}/orders/{{id}}/close.json"),
            post(routes::close_order),
        )
        .route(
            &format!("{r}/orders/{{id}}/cancel.json"),
            post(routes::cancel_order),
        )
        .route(&format!("{r}/products.json"), get(routes::products))
        .route(&format!("{r}/customers.json"), get(routes::customers))
        .route(
            &format!("{r}/tender_transactions.json"),
            get(routes::tender_transactions),
        )
        .route(
            &format!("{r}/variants/{{id}}"),
            get(routes::get_variant).put(routes::update_variant),
        )
        .route(
            &format!("{r}/inventory_levels.json"),
            get(routes::inventory_levels),
        )
        .route(
            &format!("{r}/inventory_levels/set.json"),
            post(routes::set_inventory_level),
        )
        .route(&format!("{r}/locations.json"), get(routes::locations))
        .route(&format!("{r}/locations/{{id}}"), get(routes::get_location))
        .route(&format!("{r}/shop.json"), get(routes::shop))
        .route(&format!("{r}/graphql.json"), post(graphql::graphql))
        .fallback(routes::no_route)
        .method_not_allowed_fallback(routes::no_route)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gate::gate,
        ))
        .with_state(state)
}

/// Test and sandbox access to a running emulator.
#[derive(Debug, Clone)]
pub struct EmulatorHandle {
    state: EmulatorState,
}

impl EmulatorHandle {
    /// Fault settings; change them with [`Faults::set`].
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Per-route counters keyed `METHOD /path` under the API root (`GET /orders.json`,
    /// `PUT /orders/{id}`, `POST /inventory_levels/set.json`, `POST /graphql.json`, …), and
    /// per GraphQL root field as `graphql <field>` (`graphql orderEditCommit`).
    pub fn counters(&self) -> &CallCounters {
        &self.state.counters
    }

    /// Creates `n` reproducible orders (no webhooks are sent for seeded orders). Returns ids.
    pub fn seed_orders(&self, n: usize, seed: u64) -> Vec<u64> {
        seed::seed_orders(&mut self.state.store.lock(), n, seed)
    }

    /// Every webhook delivery attempt so far, in order.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.state
            .webhooks
            .log
            .lock()
            .expect("delivery log lock")
            .clone()
    }

    /// Points webhooks somewhere else, or switches them off with `None`.
    pub fn set_webhook_url(&self, url: Option<String>) {
        *self.state.webhooks.url.lock().expect("webhook url lock") = url;
    }

    /// The order as the REST API renders it.
    pub fn order(&self, id: u64) -> Option<ShopifyOrder> {
        self.state.store.lock().orders.get(&id).cloned()
    }

    /// All order ids, ascending.
    pub fn order_ids(&self) -> Vec<u64> {
        self.state.store.lock().orders.keys().copied().collect()
    }

    /// Refunds `amount` of an order as the shop owner would in the admin (not counted as a
    /// client call; fires `orders/updated`). Returns the refund id, `None` when nothing was
    /// captured.
    pub fn owner_refund(
        &self,
        order_id: u64,
        amount: rust_decimal::Decimal,
        note: &str,
    ) -> Option<u64> {
        let (refund, order) = {
            let mut store = self.state.store.lock();
            let r = store.refund(order_id, amount, note)?;
            (r, store.orders.get(&order_id).cloned()?)
        };
        self.state.notify("orders/updated", &order);
        Some(refund.id)
    }

    /// The order's transactions as stored.
    pub fn transactions(&self, order_id: u64) -> Vec<crate::wire::Transaction> {
        self.state
            .store
            .lock()
            .transactions
            .get(&order_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Order-edit sessions begun on an order (committed or not).
    pub fn edit_sessions(&self, order_id: u64) -> Vec<edit::CalculatedOrder> {
        self.state
            .store
            .lock()
            .edits
            .values()
            .filter(|c| c.order_id == order_id)
            .cloned()
            .collect()
    }

    /// The GraphQL cost bucket's points available now (of 1000).
    pub fn graphql_available(&self) -> f64 {
        self.state.graphql_cost.available()
    }

    /// Sets the GraphQL points available now; below 10 the next mutation is `THROTTLED`.
    pub fn set_graphql_available(&self, points: f64) {
        self.state.graphql_cost.set(points);
    }

    /// The bucket level now (`used`, `size`).
    pub fn bucket_level(&self) -> (u32, u32) {
        (self.state.bucket.level(), self.state.bucket.size())
    }

    /// The first variant (by product id) with this SKU, as the REST API renders it.
    pub fn variant_by_sku(&self, sku: &str) -> Option<crate::wire::ShopifyVariant> {
        self.state
            .store
            .lock()
            .products
            .values()
            .flat_map(|p| p.variants.iter())
            .find(|v| v.sku.as_deref() == Some(sku))
            .cloned()
    }

    /// The stock of an inventory item at a location; `None` when it is not stocked there.
    pub fn inventory_level(&self, inventory_item_id: u64, location_id: u64) -> Option<i64> {
        self.state
            .store
            .lock()
            .inventory
            .get(&(inventory_item_id, location_id))
            .copied()
    }

    /// Adds a location (not counted as a client call). Returns its id.
    pub fn add_location(&self, name: &str, active: bool) -> u64 {
        self.state.store.lock().add_location(name, active).id
    }

    /// Adds a product with these variants, stocked at [`store::LOCATION_ID`]. Returns it.
    pub fn add_product(
        &self,
        title: &str,
        variants: &[store::SeedVariant],
    ) -> crate::wire::ShopifyProduct {
        self.state.store.lock().add_product(title, variants)
    }

    /// Sets a product's `status` (`active`, `draft`, `archived`) as the shop owner would in the
    /// admin (not counted as a client call). Returns whether the product exists.
    pub fn set_product_status(&self, product_id: u64, status: &str) -> bool {
        match self.state.store.lock().products.get_mut(&product_id) {
            Some(p) => {
                p.status = Some(status.to_string());
                true
            }
            None => false,
        }
    }

    /// Adds `n` one-variant products with SKUs `<prefix>-0001`…, prices and stock from their
    /// number (see [`seed::seed_catalog`]). Returns the SKUs in order.
    pub fn seed_catalog(&self, n: usize, sku_prefix: &str) -> Vec<String> {
        seed::seed_catalog(&mut self.state.store.lock(), n, sku_prefix)
    }

    /// Moves the shop clock forward (REST timestamps have 1-second resolution).
    pub fn advance_clock(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or_else(|_| chrono::Duration::zero());
        self.state.store.lock().advance_clock(by);
    }
}

/// An emulator serving on a socket.
#[derive(Debug)]
pub struct RunningEmulator {
    /// The bound address.
    pub addr: SocketAddr,
    /// `http://<addr>`: the shop URL for [`crate::ShopifyClient::new`].
    pub base_url: String,
    /// Access to data, faults, counters and deliveries.
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
    let handle = state.handle();
    let server = ServerTask::start(listener, router(state), "shopify emulator");
    Ok(RunningEmulator {
        addr,
        base_url: format!("http://{addr}"),
        handle,
        server,
    })
}
