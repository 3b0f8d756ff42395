//! amoCRM / Kommo (API v4) for dealbridge: a Bearer-token REST client ([`AmoClient`]), the
//! [`dealbridge_sdk::traits::CrmDeals`] implementation ([`AmoDeals`]), the wire types
//! ([`wire`]), and a local emulator of the endpoints the engine uses ([`emulator`]).
//! [`connector::CONNECTOR`] is what the engine registers; [`config`] reads its
//! `[systems.<name>]` table.

mod account_limit;
pub mod catalog;
pub mod client;
pub mod config;
pub mod connector;
mod crm;
pub mod emulator;
mod errors;
pub mod oauth;
pub mod payments;
pub mod reader;
pub mod webhook;
pub mod wire;

pub use catalog::{AmoCatalog, CatalogSettings};
pub use client::{AmoClient, LeadsQuery, DEFAULT_LIMITS, MAX_COMPLEX, MAX_LIMIT};
// The shared client layer's limits type, re-exported so a caller needs no sdk import.
pub use crm::{exact_amount_text, rounded_price, AmoDeals, DealSettings, FieldRef};
pub use dealbridge_sdk::http::ClientLimits;
pub use oauth::{OAuthSettings, OAuthTokens, TokenStore};
pub use payments::PaymentSettings;
pub use reader::ReaderSettings;
pub use webhook::{parse_webhook, LeadEvent, LeadEventKind, WebhookError};

/// The system name in [`dealbridge_sdk::error::ConnectorError::system`].
pub const SYSTEM: &str = "amocrm";
