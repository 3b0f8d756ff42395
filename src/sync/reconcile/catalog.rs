//! One catalog flow's reconciliation: what the CRM catalog should hold (the flow's own wanted
//! items, [`CatalogFlow::wanted_crm_items`]) against the products the CRM holds, read back in
//! pages, matched by origin (the external key every pushed product carries).
//!
//! Differences: `missing_product` (an item the CRM should hold is not there), `price` (the
//! CRM product's price is not the mapped one), `inactive` (active in the CRM though the source
//! deactivated it, or the reverse). The fix is the catalog's own push on its next run: the
//! item's snapshot is forgotten (or its binding to a product that is gone removed), so the run
//! writes it whatever the snapshots said.

use super::difference::{CatalogReport, Difference, DifferenceKind, FixAction};
use crate::sync::catalog::wanted::WantedItem;
use crate::sync::catalog::CatalogFlow;
use crate::sync::worker::read_with_retries;
use crate::sync::SyncError;
use dealbridge_sdk::model::CatalogItem;
use dealbridge_sdk::traits::{CatalogReadBack, CrmCatalog};
use dealbridge_store::EntityKind;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Retries of one page read (see the order flows' `READ_RETRIES`).
const READ_RETRIES: usize = 6;

/// What one catalog's reconciliation found.
#[derive(Debug, Default)]
pub struct CatalogFindings {
    /// Its counts.
    pub report: CatalogReport,
    /// Its differences.
    pub differences: Vec<Difference>,
}

impl CatalogFindings {
    /// Takes what the connector read, or notes why this catalog cannot be compared (a
    /// connector that cannot read it back answers `invalid`): `Ok(None)` then.
    pub(crate) fn read<T>(
        &mut self,
        flow: &CatalogFlow,
        result: Result<T, dealbridge_sdk::ConnectorError>,
    ) -> Result<Option<T>, SyncError> {
        match result {
            Ok(read) => Ok(Some(read)),
            Err(e) if e.kind == dealbridge_sdk::ErrorKind::Invalid => {
                self.report.not_compared = Some(e.message);
                Ok(None)
            }
            Err(e) => Err(SyncError::Source {
                flow: flow.name.clone(),
                source: e,
            }),
        }
    }

    /// Counts one item's comparison: agreeing when it found nothing.
    pub(crate) fn record(&mut self, differences: Vec<Difference>) {
        if differences.is_empty() {
            self.report.agreeing += 1;
        }
        self.differences.extend(differences);
        self.report.differences = self.differences.len() as u64;
    }
}

/// The price as compared: the amount, with its currency when the CRM keeps one.
fn price_value(item: &CatalogItem, currency: bool) -> Value {
    item.price.as_ref().map_or(Value::Null, |p| {
        if currency {
            json!(format!("{} {}", p.amount.normalize(), p.currency.as_str()))
        } else {
            json!(p.amount.normalize().to_string())
        }
    })
}

/// How `want` and the CRM's `have` differ (pure), on the fields the CRM's products really hold
/// (`read_back`).
pub fn compare_item(
    catalog: &str,
    want: &WantedItem,
    have: Option<&CatalogItem>,
    read_back: CatalogReadBack,
) -> Vec<Difference> {
    let diff =
        |kind: DifferenceKind, store_value: Value, crm_value: Value, note: String| Difference {
            kind,
            flow: None,
            catalog: Some(catalog.to_string()),
            store_id: Some(want.item.origin.id.clone()),
            crm_id: have
                .and_then(|h| h.crm_id.clone())
                .or_else(|| want.crm_id.clone()),
            field: Some(kind.as_str().to_string()),
            store_value,
            crm_value,
            fix: FixAction::RepushProduct,
            note: format!("{note}; the catalog's next run pushes it again"),
        };
    let Some(have) = have else {
        if !want.item.active {
            // An inactive item the CRM no longer has is what deactivation wants anyway.
            return Vec::new();
        }
        return vec![diff(
            DifferenceKind::MissingProduct,
            json!(want.item.name),
            Value::Null,
            format!(
                "{} ({}) is not in the CRM's catalog",
                want.item.name, want.entity
            ),
        )];
    };
    let mut out = Vec::new();
    // A CRM product without a price where the mapping has none is no difference.
    let (w, h) = (
        price_value(&want.item, read_back.currency),
        price_value(have, read_back.currency),
    );
    if want.item.price.is_some() && w != h {
        out.push(diff(
            DifferenceKind::Price,
            w.clone(),
            h.clone(),
            format!("the mapped price is {w}, the CRM shows {h}"),
        ));
    }
    if read_back.active && want.item.active != have.active {
        out.push(diff(
            DifferenceKind::Inactive,
            json!(want.item.active),
            json!(have.active),
            if want.item.active {
                "active in the source, inactive in the CRM".to_string()
            } else {
                "deactivated in the source, still active in the CRM".to_string()
            },
        ));
    }
    out
}

impl super::Reconciler {
    /// Reconciles one catalog flow that writes a CRM's catalog.
    pub async fn reconcile_catalog(
        &self,
        flow: &CatalogFlow,
    ) -> Result<CatalogFindings, SyncError> {
        let mut found = CatalogFindings {
            report: CatalogReport {
                catalog: flow.name.clone(),
                ..CatalogReport::default()
            },
            ..CatalogFindings::default()
        };
        let Some((crm_system, crm)) = &flow.crm else {
            return Ok(found);
        };
        found.report.crm = crm_system.clone();
        let wanted = flow.wanted_crm_items(&self.store).await?;
        found.report.items = wanted.len() as u64;
        let read = read_products(crm.as_ref(), &flow.source_system).await;
        let Some((have, read, pages)) = found.read(flow, read)? else {
            return Ok(found);
        };
        found.report.products = read;
        found.report.reads = pages;
        for want in &wanted {
            found.record(compare_item(
                &flow.name,
                want,
                have.get(&want.item.origin.id),
                crm.read_back(),
            ));
        }
        Ok(found)
    }

    /// Forgets what makes the catalog's next run skip each differing item.
    pub async fn queue_catalog_fixes(
        &self,
        flow: &CatalogFlow,
        found: &CatalogFindings,
    ) -> Result<u64, SyncError> {
        let Some((crm_system, _)) = &flow.crm else {
            return Ok(0);
        };
        let mut fixed = std::collections::BTreeSet::new();
        for d in &found.differences {
            let Some(id) = &d.store_id else { continue };
            if !fixed.insert(id.clone()) {
                continue;
            }
            // Never pushed (no binding): the next run pushes it anyway.
            let entity = format!("{}:{id}", flow.source_system);
            if d.kind == DifferenceKind::MissingProduct {
                self.store
                    .remove_binding(crm_system, EntityKind::Product, &entity)
                    .await?;
            } else {
                self.forget_snapshot(crm_system, EntityKind::Product, &entity)
                    .await?;
            }
        }
        Ok(fixed.len() as u64)
    }
}

/// The CRM's products that carry `system` as origin, by origin id; how many were read, and in
/// how many page reads.
async fn read_products(
    crm: &dyn CrmCatalog,
    system: &str,
) -> Result<(HashMap<String, CatalogItem>, u64, u64), dealbridge_sdk::ConnectorError> {
    let mut have = HashMap::new();
    let (mut read, mut pages) = (0, 0);
    let mut page = 1;
    loop {
        let listing = read_with_retries(READ_RETRIES, || crm.products_page(page)).await?;
        pages += 1;
        read += listing.items.len() as u64;
        for p in listing.items {
            if p.origin.system == system {
                have.entry(p.origin.id.clone()).or_insert(p);
            }
        }
        match listing.next_page {
            Some(next) if next > page => page = next,
            _ => break,
        }
    }
    Ok((have, read, pages))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dealbridge_sdk::model::ExternalRef;
    use dealbridge_sdk::money::{Currency, Money};
    use rust_decimal_macros::dec;

    fn item(price: Option<rust_decimal::Decimal>, active: bool) -> CatalogItem {
        CatalogItem {
            origin: ExternalRef {
                system: "1c".into(),
                id: "p1".into(),
            },
            crm_id: Some("7".into()),
            name: "Tea".into(),
            sku: None,
            description: None,
            price: price.map(|a| Money::new(a, Currency::new("RUB").unwrap())),
            unit: None,
            active,
        }
    }

    fn want(price: Option<rust_decimal::Decimal>, active: bool) -> WantedItem {
        WantedItem {
            entity: "1c:p1".into(),
            item: item(price, active),
            crm_id: Some("7".into()),
        }
    }

    fn kinds(w: &WantedItem, h: Option<&CatalogItem>) -> Vec<DifferenceKind> {
        let all = CatalogReadBack {
            active: true,
            currency: true,
        };
        compare_item("products", w, h, all)
            .into_iter()
            .map(|d| d.kind)
            .collect()
    }

    #[test]
    fn equal_prices_at_any_scale_agree() {
        let h = item(Some(dec!(10.50)), true);
        assert!(kinds(&want(Some(dec!(10.5)), true), Some(&h)).is_empty());
    }

    #[test]
    fn price_and_active_differ_each_once() {
        let h = item(Some(dec!(1)), true);
        assert_eq!(
            kinds(&want(Some(dec!(10.5)), false), Some(&h)),
            vec![DifferenceKind::Price, DifferenceKind::Inactive]
        );
    }

    #[test]
    fn a_missing_item_differs_only_while_active() {
        assert_eq!(
            kinds(&want(None, true), None),
            vec![DifferenceKind::MissingProduct]
        );
        assert!(kinds(&want(None, false), None).is_empty());
    }

    #[test]
    fn a_crm_without_active_flag_or_currency_is_compared_on_the_amount_only() {
        let bare = CatalogReadBack {
            active: false,
            currency: false,
        };
        let mut h = item(Some(dec!(10.50)), true);
        h.price = Some(Money::new(dec!(10.5), Currency::new("USD").unwrap()));
        let w = want(Some(dec!(10.5)), false);
        assert!(compare_item("products", &w, Some(&h), bare).is_empty());
        h.price = Some(Money::new(dec!(9), Currency::new("USD").unwrap()));
        let d = compare_item("products", &w, Some(&h), bare);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].store_value.clone(), d[0].crm_value.clone()),
            (json!("10.5"), json!("9"))
        );
    }

    #[test]
    fn no_mapped_price_is_no_price_difference() {
        let h = item(Some(dec!(99)), true);
        assert!(kinds(&want(None, true), Some(&h)).is_empty());
    }
}
