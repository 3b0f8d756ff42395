//! What the catalog flows count: items by what became of them in each target system.

/// Counter: catalog items by `catalog` (the flow's name), `system` (the target's config name)
/// and `action`.
pub const CATALOG_ITEMS_PUSHED: &str = "dealbridge_catalog_items_pushed_total";

/// What became of one item in one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemAction {
    /// The CRM had no such product; it was created.
    Created,
    /// Written: a bound CRM product, or a store SKU's price and stock.
    Updated,
    /// An unbound CRM product found by its origin and written (a lost binding).
    Adopted,
    /// An inactive item written as inactive, so the CRM stops offering it.
    Deactivated,
    /// Not written: equal to what was last pushed, or (store) already right in the shop.
    Unchanged,
    /// The store has no product or variation with the SKU.
    NotFound,
    /// The store refused the SKU's price or stock.
    Refused,
}

impl ItemAction {
    /// The `action` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemAction::Created => "created",
            ItemAction::Updated => "updated",
            ItemAction::Adopted => "adopted",
            ItemAction::Deactivated => "deactivated",
            ItemAction::Unchanged => "unchanged",
            ItemAction::NotFound => "not_found",
            ItemAction::Refused => "refused",
        }
    }
}

/// `n` items of `catalog` ended in `action` in `system`. Counted per chunk pushed (and per item
/// planned, for the unchanged ones), so a run that fails half-way still shows what it wrote.
pub fn items(catalog: &str, system: &str, action: ItemAction, n: u64) {
    if n > 0 {
        metrics::counter!(
            CATALOG_ITEMS_PUSHED,
            "catalog" => catalog.to_string(),
            "system" => system.to_string(),
            "action" => action.as_str()
        )
        .increment(n);
    }
}

/// Help text of the family above.
pub fn describe() {
    metrics::describe_counter!(
        CATALOG_ITEMS_PUSHED,
        "Catalog items by catalog flow, target system and action (created, updated, adopted, deactivated, unchanged, not_found, refused)."
    );
}
