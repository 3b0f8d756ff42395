//! The order statuses each store kind has, so a status map can be checked for completeness.
//! Each connector names its own ([`Connector::order_statuses`]).
//!
//! [`Connector::order_statuses`]: dealbridge_sdk::connector::Connector::order_statuses

use crate::config::SystemKind;
pub use dealbridge_sdk::connector::StatusVocabulary;

/// The order statuses of `kind`, or `None` for kinds that are not stores.
pub fn order_statuses(kind: SystemKind) -> Option<StatusVocabulary> {
    kind.connector().order_statuses()
}
