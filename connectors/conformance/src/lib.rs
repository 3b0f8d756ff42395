//! The conformance suite: behaviour every dealbridge connector shows against its own emulator,
//! written once and run for each connector.
//!
//! The engine relies on a few promises that no single trait signature states: listings page
//! without gaps or repeats, wrong credentials are an [`ErrorKind::Auth`](dealbridge_sdk::ErrorKind)
//! failure that is not retried, a throttled call comes back as rate-limited with the delay the
//! vendor asked for, a vendor's error body reaches the operator in the error message with the
//! right retry class, and writing the same thing twice leaves one record. Each connector's own
//! tests check its wire format; this crate checks those promises the same way for all of them,
//! so a new connector cannot quietly keep fewer.
//!
//! Module map:
//! - [`subject`]: the [`Subject`] trait a connector's test adapter implements (spawn its
//!   emulator, build its real client, expose the sdk traits the checks drive).
//! - [`checks`]: the generic checks, one module each: [`checks::paging`],
//!   [`checks::auth_failure`], [`checks::throttling_and_retry_after`], [`checks::error_bodies`],
//!   [`checks::find_or_create_idempotent`].
//! - [`subjects`]: the adapters for WooCommerce, Shopify, Bitrix24 and amoCRM.
//!
//! `tests/it` runs every check for every subject; a new connector adds its adapter to
//! [`subjects`] and one line to the test macro.

pub mod checks;
pub mod subject;
pub mod subjects;

pub use subject::{Credentials, Listing, Setup, Subject, VendorTexts, Writes};
