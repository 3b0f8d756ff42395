//! The shared ground of every dealbridge connector.
//!
//! Module map:
//! - [`connector`]: the descriptor each connector crate exports ([`Connector`](connector::Connector)):
//!   its config section, capabilities, vocabularies and webhook receiver.
//! - [`config`]: reading config tables with every mistake located (`file:line:column`), secrets,
//!   the request limits every system has.
//! - [`money`]: [`Money`](money::Money) and [`Currency`](money::Currency): `Decimal` amounts with an
//!   ISO 4217 code, explicit rounding.
//! - [`model`]: the canonical entities (Product, PriceEntry, StockLevel, Contact, Order, OrderLine,
//!   Payment, Deal) that every connector converts to and from.
//! - [`error`]: [`ConnectorError`](error::ConnectorError) and the retry classification the queue
//!   relies on ([`ConnectorError::should_retry`](error::ConnectorError::should_retry)).
//! - [`http`]: shared HTTP plumbing: a client with timeouts, the [`ClientLimits`](http::ClientLimits)
//!   every client takes and its rate limiter (one per remote account), and the mapping of HTTP failures onto [`ConnectorError`](error::ConnectorError).
//! - [`metrics`]: the API request counters and durations [`http::send`](http::send) records,
//!   through the `metrics` facade (the engine installs the recorder).
//! - [`auth`]: OAuth token pairs, the [`TokenStore`](auth::TokenStore) they are saved in, and
//!   the [`TokenCache`](auth::TokenCache) that refreshes once and saves before a new token is used.
//! - [`traits`]: what a store and a CRM connector implement so the engine can drive them without
//!   knowing their wire format.
//! - [`fault`]: fault injection and call counters shared by the emulators.
//! - [`emulator_server`]: the emulators' accept loop, which lets a fault drop a connection
//!   without answering.

pub mod auth;
pub mod config;
pub mod connector;
pub mod emulator_server;
pub mod error;
pub mod fault;
pub mod http;
pub mod metrics;
pub mod model;
pub mod money;
pub mod traits;

pub use error::{ConnectorError, ErrorKind};
pub use money::{Currency, Money};
