//! Links to a record in its system's own admin interface, for the console's Errors page.

/// What kind of record an admin link points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A store's order (its id in the store, not its display number).
    Order,
    /// A CRM's deal (amoCRM: lead).
    Deal,
}

/// `base` without a trailing `/`, so a path can be appended.
pub fn trimmed(base: &url::Url) -> &str {
    base.as_str().trim_end_matches('/')
}

/// Whether `id` can go into a URL path as it is (the vendors' ids are numeric; anything else is
/// not one of theirs, and no link is better than a wrong one).
pub fn plain_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
}
