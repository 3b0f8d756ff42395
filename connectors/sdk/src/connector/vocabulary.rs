//! The order statuses a store gives orders, so a status map can be checked for completeness.

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
