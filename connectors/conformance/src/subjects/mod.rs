//! The four connectors as [`crate::Subject`]s: each spawns its shipped emulator and builds its
//! real client, exactly as the sandbox does, with short timeouts because everything is on
//! loopback.

mod amocrm;
mod bitrix24;
mod shopify;
mod woocommerce;

pub use amocrm::AmoCrm;
pub use bitrix24::Bitrix24;
pub use shopify::Shopify;
pub use woocommerce::WooCommerce;

use dealbridge_sdk::fault::CallCounters;
use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::model::Deal;
use dealbridge_sdk::Currency;
use rust_decimal::Decimal;
use std::time::Duration;

/// Loopback timeouts: long enough for a slow CI machine, short enough that a hang fails fast.
pub(crate) fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    }
}

/// Calls to REST routes keyed `METHOD /route` whose method can change data.
pub(crate) fn rest_writes(counters: &CallCounters) -> u64 {
    counters
        .snapshot()
        .iter()
        .filter(|(key, _)| !key.starts_with("GET ") && !key.starts_with("HEAD "))
        .map(|(_, c)| c.calls)
        .sum()
}

/// Why a store offers no find-or-create, said by both store subjects.
pub(crate) const STORE_NOT_FIND_OR_CREATE: &str =
    "a store is not a find-or-create target: orders are born in the shop and the engine only writes back to them";

/// A deal without contact or rows at `stage`; the checks set its title and origin.
pub(crate) fn sample_deal(stage: &str, currency: &str) -> Deal {
    Deal {
        title: String::new(),
        stage: stage.into(),
        pipeline: None,
        currency: Currency::new(currency).expect("currency"),
        amount: Decimal::new(150_050, 2),
        contact: None,
        lines: Vec::new(),
        origin: crate::checks::origin("sample"),
        source_channel: None,
        comments: None,
    }
}
