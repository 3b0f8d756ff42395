//! Shopify connector: Admin REST client, conversion to the canonical model, webhook
//! verification, and a faithful local emulator.
//!
//! **Why REST, not GraphQL** (except for order line edits, which only GraphQL order editing
//! can make: [`order_edit`], and the price/stock writes of [`catalog`], which GraphQL bulk
//! mutations batch per product and 250 levels a call). The two things this connector does most, delta polling of orders
//! (`updated_at_min` + `Link` cursor paging) and webhook intake (whose bodies *are* the REST
//! resource JSON), are REST-shaped: one REST call returns whole orders with lines, taxes and
//! customer, and the webhook body parses with the same wire types. GraphQL would need
//! hand-written selections for the same data and a second cost model; GraphQL bulk operations
//! (for full catalog exports) are left for later. The REST Admin API is "legacy" since
//! 2024-10 but remains served for existing custom apps; the version is pinned in
//! [`API_VERSION`].
//!
//! Module map:
//! - [`connector`]: the [`Connector`](dealbridge_sdk::connector::Connector) the engine registers
//!   ([`connector::CONNECTOR`]); [`config`]: its `[systems.<name>]` table.
//! - [`wire`]: orders, transactions, customers, products/variants, inventory levels, locations,
//!   the shop as Shopify sends them (money as decimal strings, `*_set` MoneyBags).
//! - [`convert`]: Shopify → canonical `Order`, `Payment`, `Contact`, `Product`, with a totals
//!   check; an edited order is read as it is now (`current_quantity`, `current_*` totals).
//! - [`client`]: [`ShopifyClient`]: REST client with cursor paging and a client-side leaky bucket;
//!   implements [`OrderSource`](dealbridge_sdk::traits::OrderSource).
//! - [`catalog`]: [`StorePricePush`](dealbridge_sdk::traits::StorePricePush) for
//!   [`ShopifyClient`]: prices and stock by SKU, writing only what differs; all products
//!   (cursor paging), locations and the stock location (`location_id` or the only active one)
//!   read by REST; prices written with one GraphQL `productVariantsBulkUpdate` per product and
//!   stock with `inventorySetQuantities` (up to 250 levels a call). Its docs give the call counts.
//! - [`read_back`]: the price and stock the shop holds now per SKU (for `reconcile`), read as
//!   the push reads them.
//! - [`catalog_source`]: [`CatalogSource`](dealbridge_sdk::traits::CatalogSource) for
//!   [`ShopifyClient`]: the shop's sellable variants as CRM catalog items, priced in the currency
//!   read from `shop.json` (store → CRM products, for shops without 1C).
//! - [`sink`]: [`OrderSink`](dealbridge_sdk::traits::OrderSink) for [`ShopifyClient`] (line
//!   edits, note, close/cancel/open, capture or external sale) and
//!   [`ShopifyClient::payments_of`].
//! - [`order_edit`]: line edits through GraphQL order editing (`orderEditBegin`,
//!   `orderEditSetQuantity`, `orderEditAddVariant`, `orderEditAddCustomItem`,
//!   `orderEditCommit`): the wanted lines matched to the order's, one session per edit, none
//!   when nothing differs.
//! - [`graphql`]: [`ShopifyClient::graphql`]: `POST graphql.json` with variables; `THROTTLED`,
//!   top-level errors and `userErrors` classified.
//! - [`bucket`]: the client's view of Shopify's leaky bucket (`X-Shopify-Shop-Api-Call-Limit`).
//! - [`link`]: `Link` header parsing (`rel="next"` → `page_info`).
//! - [`webhook`]: HMAC verification of deliveries and their headers.
//! - `errors`: HTTP failures → classified [`ConnectorError`](dealbridge_sdk::ConnectorError).
//! - [`emulator`]: an in-process Shopify over real HTTP with the bucket, 429s, signed webhooks
//!   with retries, fault injection and counters, and the GraphQL order-editing, variant bulk
//!   update and inventory set mutations.

pub mod bucket;
pub mod catalog;
pub mod catalog_source;
pub mod client;
pub mod config;
pub mod connector;
pub mod convert;
pub mod emulator;
mod errors;
pub mod graphql;
pub mod link;
pub mod order_edit;
pub mod read_back;
pub mod sink;
pub mod webhook;
pub mod wire;

pub use client::{ListOrders, OrdersPage, ShopifyClient};
pub use convert::{order_to_canonical, TotalsCheck};
pub use webhook::{verify, ShopifyDelivery, WebhookError};
pub use wire::ShopifyOrder;

/// The system tag of every error this crate returns.
pub const SYSTEM: &str = "shopify";

/// The pinned Admin API version every request and the emulator use.
pub const API_VERSION: &str = "2025-07";
