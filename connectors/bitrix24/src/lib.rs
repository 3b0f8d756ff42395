//! Bitrix24 for dealbridge: a REST client for incoming-webhook URLs ([`Bitrix24Client`]), its
//! [`dealbridge_sdk::traits::CrmDeals`] implementation, the wire types, and a faithful local
//! emulator of the REST methods the engine uses ([`emulator`]).

pub mod client;
mod crm;
pub mod emulator;
mod errors;
pub mod php_query;
pub mod wire;

pub use client::{BatchResult, Bitrix24Client, CallResult, ClientLimits, MAX_BATCH};

/// The system name in [`dealbridge_sdk::error::ConnectorError::system`].
pub const SYSTEM: &str = "bitrix24";
