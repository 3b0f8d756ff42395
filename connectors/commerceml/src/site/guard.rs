//! The deactivation guard. A full catalog deactivates what it does not list; a full catalog
//! that lists far fewer items than yesterday's is more often a 1C mistake (a filter left on in the
//! exchange node, a product group moved out) than a real clear-out. So when the deactivation
//! would touch more than `[exchange_1c] max_deactivate_share` of the active products or of the
//! active offers, the catalog is still imported but nothing is deactivated: the rows that would
//! have been are held in the store ([`Store::hold_unseen`]), reported as a `deactivation_held`
//! finding and journalled, until `dealbridge import-1c --apply-held-deactivation` applies them.
//! The next full catalog replaces the hold (it says what 1C means now).

use rust_decimal::Decimal;
use serde::Serialize;

use super::import::ImportReport;
use super::quality::{Code, Finding, Quality};
use super::record;
use dealbridge_store::{CatalogKind, Store, StoreError};

/// A held deactivation: what it would have done and against what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Held {
    /// Products held (not deactivated).
    pub products: u64,
    /// Offers held.
    pub offers: u64,
    /// Active products before the run's deactivation.
    pub active_products: u64,
    /// Active offers before it.
    pub active_offers: u64,
    /// The bound exceeded.
    pub max_share: Decimal,
}

impl Held {
    /// The `deactivation_held` finding.
    pub fn finding(&self) -> Finding {
        Finding {
            code: Code::DeactivationHeld,
            count: self.products + self.offers,
            examples: Vec::new(),
            detail: Some(format!(
                "the full catalog would deactivate {} of {} active products and {} of {} active \
                 offers, more than max_deactivate_share {}; nothing was deactivated: check the \
                 catalog in 1C, then run `dealbridge import-1c --apply-held-deactivation` to apply it",
                self.products, self.active_products, self.offers, self.active_offers, self.max_share
            )),
        }
    }
}

/// What the end of a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Deactivation {
    /// Products deactivated.
    pub products: u64,
    /// Offers deactivated.
    pub offers: u64,
    /// Set when the deactivation was held instead.
    pub held: Option<Held>,
}

impl Deactivation {
    /// Adds the counts (or the held finding) to an import's report.
    pub fn add_to(&self, report: &mut ImportReport) {
        report.catalog.products.deactivated += self.products;
        report.catalog.offers.deactivated += self.offers;
        if let Some(h) = &self.held {
            report.quality.merge(Quality {
                findings: vec![h.finding()],
            });
        }
    }
}

/// Whether deactivating `n` of `active` rows is more than `max_share` of them.
fn too_many(n: u64, active: u64, max_share: Decimal) -> bool {
    n > 0 && Decimal::from(n) > max_share * Decimal::from(active)
}

/// Deactivates the rows of the kinds in `full` (`[products, offers]`) that run `run` did not
/// see, or holds them all when either kind would lose more than `max_share` of its active rows.
pub async fn deactivate_or_hold(
    store: &Store,
    system: &str,
    run: &str,
    full: [bool; 2],
    max_share: Decimal,
) -> Result<Deactivation, StoreError> {
    let kinds: Vec<CatalogKind> = [CatalogKind::Product, CatalogKind::Offer]
        .into_iter()
        .zip(full)
        .filter_map(|(k, f)| f.then_some(k))
        .collect();
    if kinds.is_empty() {
        return Ok(Deactivation::default());
    }
    let counts = store.catalog_counts(system).await?;
    let active = |k: CatalogKind| match k {
        CatalogKind::Product => counts.active_products.max(0) as u64,
        CatalogKind::Offer => counts.active_offers.max(0) as u64,
    };
    let mut hold = false;
    for &k in &kinds {
        let n = store.count_unseen(system, run, k).await?;
        hold |= too_many(n, active(k), max_share);
    }
    let mut out = Deactivation::default();
    if hold {
        let mut held = [0u64; 2];
        for &k in &kinds {
            held[k as usize] = store.hold_unseen(system, run, k).await?;
        }
        let h = Held {
            products: held[0],
            offers: held[1],
            active_products: active(CatalogKind::Product),
            active_offers: active(CatalogKind::Offer),
            max_share,
        };
        record::journal_held(store, system, run, &h).await?;
        out.held = Some(h);
        return Ok(out);
    }
    for &k in &kinds {
        store.drop_held_deactivation(system, k).await?;
        let n = store.deactivate_unseen(system, run, k).await?;
        match k {
            CatalogKind::Product => out.products = n,
            CatalogKind::Offer => out.offers = n,
        }
    }
    Ok(out)
}

/// Applies what is held for `system` (see [`Store::apply_held_deactivation`]) and journals it;
/// returns (products, offers) deactivated, (0, 0) when nothing was held.
pub async fn apply_held(store: &Store, system: &str) -> Result<(u64, u64), StoreError> {
    let held = store.held_deactivation(system).await?;
    let (products, offers) = store.apply_held_deactivation(system).await?;
    if !held.is_empty() {
        record::journal_applied(store, system, held.run_id.as_deref(), products, offers).await?;
    }
    Ok((products, offers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_a_share_of_the_active_rows() {
        let fifth = Decimal::new(2, 1);
        assert!(!too_many(0, 0, fifth));
        assert!(!too_many(20, 100, fifth), "exactly the share is allowed");
        assert!(too_many(21, 100, fifth));
        assert!(too_many(3, 10, fifth));
        assert!(!too_many(1, 10, fifth));
        assert!(!too_many(100, 100, Decimal::ONE));
        assert!(too_many(1, 100, Decimal::ZERO));
    }
}
