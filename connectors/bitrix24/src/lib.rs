//! Bitrix24 for dealbridge: a REST client for incoming-webhook URLs ([`Bitrix24Client`]), its
//! [`dealbridge_sdk::traits::CrmDeals`] implementation, the wire types, and a faithful local
//! emulator of the REST methods the engine uses ([`emulator`]). [`connector::CONNECTOR`] is what
//! the engine registers; [`config`] reads its `[systems.<name>]` table.

pub mod catalog;
mod catalog_api;
pub mod client;
mod companies;
pub mod config;
pub mod connector;
mod crm;
pub mod emulator;
mod errors;
pub mod events;
mod operating;
pub mod payments;
pub mod php_query;
pub mod pipelines;
mod reader;
pub mod settings;
pub mod wire;

pub use client::{
    BatchResult, Bitrix24Client, CallResult, OAuthConfig, DEFAULT_LIMITS, ENTERPRISE_PLAN_LIMITS,
    MAX_BATCH, STANDARD_PLAN_LIMITS,
};
// The shared client layer's types, re-exported so a caller of this crate needs no sdk import.
pub use companies::COMPANY_TTL;
pub use dealbridge_sdk::auth::{OAuthTokens, TokenStore};
pub use dealbridge_sdk::http::ClientLimits;
pub use events::{parse_event, verify_application_token, DealEvent, EventError};
pub use pipelines::{unknown_stages, DealCategory, DealPipelines, Stage};
pub use reader::DEAL_PAGE_SIZE;
pub use settings::{Bitrix24Settings, CatalogApi, PaidAmountFormat};

/// The system name in [`dealbridge_sdk::error::ConnectorError::system`].
pub const SYSTEM: &str = "bitrix24";
