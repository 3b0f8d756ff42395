//! WooCommerce connector: REST v3 client, conversion to the canonical model, and a faithful
//! local emulator of the order endpoints.
//!
//! Module map:
//! - [`connector`]: the [`Connector`](dealbridge_sdk::connector::Connector) the engine registers
//!   ([`connector::CONNECTOR`]); [`config`]: its `[systems.<name>]` table.
//! - [`wire`]: the order JSON as WooCommerce sends it (money as decimal strings).
//! - [`client`]: [`WooClient`], Basic-auth REST client; implements
//!   [`OrderSource`](dealbridge_sdk::traits::OrderSource).
//! - [`catalog`]: products, variations, customers (paging, batch) and
//!   [`WooClient::push_price_and_stock`] by SKU with minimal calls.
//! - [`catalog_source`]: [`CatalogSource`](dealbridge_sdk::traits::CatalogSource) for
//!   [`WooClient`]: the shop's own catalog (simple products and variations) as CRM catalog
//!   items, priced in the currency the shop reports.
//! - [`read_back`]: the price and stock the shop holds now per SKU, for `reconcile`.
//! - [`convert`]: WooCommerce order → canonical [`Order`](dealbridge_sdk::model::Order).
//! - `errors`: HTTP failures → classified [`ConnectorError`](dealbridge_sdk::ConnectorError).
//! - [`sink`]: [`OrderSink`](dealbridge_sdk::traits::OrderSink) for [`WooClient`] (status,
//!   paid, lines, notes: read first, write only the difference) and [`WooClient::payments_of`].
//! - [`webhook`]: signature check and parsing of webhook deliveries ([`webhook::verify`]).
//! - [`emulator`]: an in-process WooCommerce over real HTTP, with fault injection and counters.

pub mod catalog;
pub mod catalog_source;
pub mod client;
pub mod config;
pub mod connector;
pub mod convert;
pub mod emulator;
mod errors;
pub mod read_back;
pub mod sink;
pub mod webhook;
pub mod wire;

pub use client::{ListOrders, OrderBy, SortOrder, WooClient};
pub use convert::order_to_canonical;
pub use dealbridge_sdk::model::{PushReport, SkuUpdate};
pub use wire::{NewOrder, WooOrder};

/// The system tag of every error this crate returns.
pub const SYSTEM: &str = "woocommerce";
