//! The connector registry: the one place in the engine that names connector crates.
//!
//! Adding a system is one crate under `connectors/` that exports a
//! [`Connector`](dealbridge_sdk::connector::Connector) and one line in [`CONNECTORS`]; config
//! parsing, `check`, the wiring, the webhook endpoint and the mapping checks loop over this list.

use dealbridge_sdk::connector::{Connector, SystemKind};

/// 1C's CommerceML reader and writer, and the 1C exchange client (`emulate 1c`).
pub use dealbridge_commerceml as commerceml;
/// The site side of the 1C exchange: `[exchange_1c]`, the endpoint 1C talks to, the import and
/// 1C's documents. 1C is not a `[systems.<name>]` (it connects to us), so it is mounted here
/// rather than listed in [`CONNECTORS`].
pub use dealbridge_commerceml::site as onec;

/// Every connector this build knows, in the order messages list them.
pub static CONNECTORS: &[&dyn Connector] = &[
    &dealbridge_woocommerce::connector::CONNECTOR,
    &dealbridge_bitrix24::connector::CONNECTOR,
    &dealbridge_amocrm::connector::CONNECTOR,
    &dealbridge_shopify::connector::CONNECTOR,
];

/// Every registered kind.
pub fn kinds() -> impl Iterator<Item = SystemKind> {
    CONNECTORS.iter().map(|c| SystemKind::new(*c))
}

/// The kind named `name` in a config file (`kind = "…"`).
pub fn kind(name: &str) -> Option<SystemKind> {
    kinds().find(|k| k.as_str() == name)
}

/// `woocommerce, bitrix24, amocrm, shopify`, for error messages.
pub fn known_list() -> String {
    let names: Vec<&str> = kinds().map(SystemKind::as_str).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in kinds() {
            assert_eq!(kind(k.as_str()), Some(k));
        }
        assert_eq!(known_list(), "woocommerce, bitrix24, amocrm, shopify");
        assert_eq!(kind("sap"), None);
    }
}
