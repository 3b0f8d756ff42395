//! The order statuses a store gives orders, so a status map can be checked for completeness.

/// The statuses a store kind gives orders.
#[derive(Debug, Clone, Copy)]
pub struct StatusVocabulary {
    /// Statuses every status map must map: orders in them arrive during normal operation.
    pub required: &'static [&'static str],
    /// Statuses that may be mapped but need not be (orders rarely reach us in them).
    pub optional: &'static [&'static str],
    /// The store's plugins can register statuses of their own (WooCommerce's
    /// `register_post_status`, e.g. a shipment tracker's `delivered`), so a status map may
    /// name a status outside the lists, unless it is a near-miss of one of them (a typo).
    pub extensible: bool,
}

impl StatusVocabulary {
    /// Whether `status` is a status of this store kind.
    pub fn contains(&self, status: &str) -> bool {
        self.required.contains(&status) || self.optional.contains(&status)
    }

    /// Whether a status map may name `status`: one of the lists, or for an extensible store
    /// any status that is not a near-miss of one of them.
    pub fn accepts(&self, status: &str) -> bool {
        self.contains(status)
            || (self.extensible && crate::config::nearest(status, &self.all()).is_none())
    }

    /// All statuses, required first.
    pub fn all(&self) -> Vec<&'static str> {
        self.required.iter().chain(self.optional).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extensible_store_accepts_a_plugin_status_but_not_a_typo() {
        let v = StatusVocabulary {
            required: &["pending", "completed"],
            optional: &["trash"],
            extensible: true,
        };
        assert!(v.accepts("completed"));
        assert!(v.accepts("delivered"), "a plugin's status");
        assert!(!v.accepts("complete"), "a typo of `completed`");
        let closed = StatusVocabulary {
            extensible: false,
            ..v
        };
        assert!(!closed.accepts("delivered"));
    }
}
