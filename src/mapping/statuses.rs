//! The order statuses each store kind has, so a status map can be checked for completeness.

use crate::config::SystemKind;

/// The statuses a store kind gives orders.
#[derive(Debug, Clone, Copy)]
pub struct StatusVocabulary {
    /// Statuses every status map must map: orders in them arrive during normal operation.
    pub required: &'static [&'static str],
    /// Statuses that may be mapped but need not be (orders rarely reach us in them).
    pub optional: &'static [&'static str],
}

impl StatusVocabulary {
    /// Whether `status` is a status of this store kind.
    pub fn contains(&self, status: &str) -> bool {
        self.required.contains(&status) || self.optional.contains(&status)
    }

    /// All statuses, required first.
    pub fn all(&self) -> Vec<&'static str> {
        self.required.iter().chain(self.optional).copied().collect()
    }
}

/// The order statuses of `kind`, or `None` for kinds that are not stores.
pub fn order_statuses(kind: SystemKind) -> Option<StatusVocabulary> {
    match kind {
        // WooCommerce REST v3 order `status` values (docs: pending, processing, on-hold,
        // completed, cancelled, refunded, failed, trash). `trash` orders are deleted ones;
        // `checkout-draft` is the block checkout's unfinished order (not in the REST docs' list).
        SystemKind::WooCommerce => Some(StatusVocabulary {
            required: &[
                "pending",
                "processing",
                "on-hold",
                "completed",
                "cancelled",
                "refunded",
                "failed",
            ],
            optional: &["trash", "checkout-draft"],
        }),
        // Shopify has no single order status: dealbridge's canonical status is `cancelled` when
        // the order is cancelled, else `closed` when archived, else its `financial_status`.
        SystemKind::Shopify => Some(StatusVocabulary {
            required: &[
                "pending",
                "authorized",
                "paid",
                "partially_paid",
                "partially_refunded",
                "refunded",
                "voided",
                "cancelled",
                "closed",
            ],
            optional: &["open", "expired"],
        }),
        _ => None,
    }
}
