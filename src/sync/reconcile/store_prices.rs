//! One catalog flow's store side: the regular price and stock each SKU should hold (the flow's
//! own plan, [`CatalogFlow::wanted_store_items`]) against what the store holds now, read back
//! by SKU ([`StorePricePush::current_price_and_stock`]).
//!
//! Differences: `price` (the store's regular price is not the mapped 1C price) and `stock` (the
//! store's stock is not 1C's, summed over the mapped warehouses and truncated to whole units as
//! stores keep it; an untracked item has none). A SKU the store has no writable product for is
//! counted, not reported: a shop may sell part of 1C's catalog, and each catalog run reports
//! its misses. The fix is the catalog's own push on its next run: the SKU's `product_price`
//! snapshot is forgotten, so the run sends it and the connector writes what differs.

use super::catalog::CatalogFindings;
use super::difference::{CatalogReport, CatalogTarget, Difference, DifferenceKind, FixAction};
use crate::sync::catalog::wanted::WantedSku;
use crate::sync::catalog::{CatalogFlow, StorePricePush};
use crate::sync::worker::read_with_retries;
use crate::sync::SyncError;
use dealbridge_sdk::model::SkuUpdate;
use dealbridge_store::EntityKind;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// Retries of the read (see the order flows' `READ_RETRIES`).
const READ_RETRIES: usize = 6;

fn text(d: Option<Decimal>) -> Value {
    d.map_or(Value::Null, |d| json!(d.normalize().to_string()))
}

/// Whether the store's price `have` is the mapped `want`: equal, or equal to it in cents,
/// because a store may keep two decimals (Shopify's push rounds half away from zero), and 1C
/// may send four.
fn same_price(want: Decimal, have: Option<Decimal>) -> bool {
    have.is_some_and(|h| {
        h == want || h == want.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    })
}

/// How the wanted SKU and the store's `have` differ (pure). A field the flow does not push
/// (`None` in the wanted update) is not compared.
pub fn compare_sku(catalog: &str, want: &WantedSku, have: &SkuUpdate) -> Vec<Difference> {
    let diff = |kind: DifferenceKind, store_value: Value, crm_value: Value| {
        Difference {
        kind,
        flow: None,
        catalog: Some(catalog.to_string()),
        store_id: want.entity.split_once(':').map(|(_, id)| id.to_string()),
        crm_id: Some(want.update.sku.clone()),
        field: Some(kind.as_str().to_string()),
        note: format!(
            "the {} of SKU {} is {} in 1C and {} in the store; the catalog's next run writes it again",
            kind.as_str(),
            want.update.sku,
            store_value,
            crm_value
        ),
        store_value,
        crm_value,
        fix: FixAction::RepushProduct,
    }
    };
    let mut out = Vec::new();
    if let Some(w) = want.update.regular_price {
        if !same_price(w, have.regular_price) {
            out.push(diff(
                DifferenceKind::Price,
                text(Some(w)),
                text(have.regular_price),
            ));
        }
    }
    if let Some(w) = want.update.stock_quantity {
        // Stores keep whole units; the push truncates toward zero.
        let w = w.trunc();
        if have.stock_quantity.map(|h| h.trunc()) != Some(w) {
            out.push(diff(
                DifferenceKind::Stock,
                text(Some(w)),
                text(have.stock_quantity),
            ));
        }
    }
    out
}

impl super::Reconciler {
    /// Reconciles the store side of one catalog flow (its prices and stock).
    pub async fn reconcile_store_prices(
        &self,
        flow: &CatalogFlow,
    ) -> Result<CatalogFindings, SyncError> {
        let mut found = CatalogFindings {
            report: CatalogReport {
                catalog: flow.name.clone(),
                target: CatalogTarget::StorePrices,
                ..CatalogReport::default()
            },
            ..CatalogFindings::default()
        };
        let Some((system, client)) = &flow.store else {
            return Ok(found);
        };
        found.report.crm = system.clone();
        let wanted = flow.wanted_store_items(&self.store).await?;
        found.report.items = wanted.len() as u64;
        let read = read_skus(client.as_ref(), &wanted).await;
        let Some(have) = found.read(flow, read)? else {
            return Ok(found);
        };
        found.report.reads = u64::from(!wanted.is_empty());
        found.report.products = have.len() as u64;
        for want in &wanted {
            let Some(h) = have.get(&want.update.sku) else {
                found.report.not_in_store += 1;
                continue;
            };
            found.record(compare_sku(&flow.name, want, h));
        }
        Ok(found)
    }

    /// Forgets the `product_price` snapshot of each differing SKU, so the catalog's next run
    /// sends it.
    pub async fn queue_store_price_fixes(
        &self,
        flow: &CatalogFlow,
        found: &CatalogFindings,
    ) -> Result<u64, SyncError> {
        let Some((system, _)) = &flow.store else {
            return Ok(0);
        };
        let mut fixed = BTreeSet::new();
        for d in &found.differences {
            let Some(id) = &d.store_id else { continue };
            if !fixed.insert(id.clone()) {
                continue;
            }
            // Not bound: the next run sends it anyway.
            let entity = format!("{}:{id}", flow.source_system);
            self.forget_snapshot(system, EntityKind::ProductPrice, &entity)
                .await?;
        }
        Ok(fixed.len() as u64)
    }
}

/// The store's price and stock of the wanted SKUs, by SKU.
async fn read_skus(
    client: &dyn StorePricePush,
    wanted: &[WantedSku],
) -> Result<HashMap<String, SkuUpdate>, dealbridge_sdk::ConnectorError> {
    let skus: Vec<String> = wanted.iter().map(|w| w.update.sku.clone()).collect();
    if skus.is_empty() {
        return Ok(HashMap::new());
    }
    let held = read_with_retries(READ_RETRIES, || client.current_price_and_stock(&skus)).await?;
    Ok(held.into_iter().map(|h| (h.sku.clone(), h)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn upd(price: Option<Decimal>, stock: Option<Decimal>) -> SkuUpdate {
        SkuUpdate {
            sku: "ART-1".into(),
            regular_price: price,
            stock_quantity: stock,
        }
    }

    fn kinds(want: SkuUpdate, have: SkuUpdate) -> Vec<DifferenceKind> {
        let w = WantedSku {
            entity: "1c:p1".into(),
            update: want,
        };
        compare_sku("prices", &w, &have)
            .into_iter()
            .map(|d| d.kind)
            .collect()
    }

    #[test]
    fn equal_values_at_any_scale_and_in_cents_agree() {
        assert!(kinds(
            upd(Some(dec!(10.5)), Some(dec!(3.7))),
            upd(Some(dec!(10.50)), Some(dec!(3)))
        )
        .is_empty());
        assert!(kinds(upd(Some(dec!(1.2345)), None), upd(Some(dec!(1.23)), None)).is_empty());
    }

    #[test]
    fn price_and_stock_differ_each_once() {
        assert_eq!(
            kinds(
                upd(Some(dec!(10)), Some(dec!(3))),
                upd(Some(dec!(1)), Some(dec!(7)))
            ),
            vec![DifferenceKind::Price, DifferenceKind::Stock]
        );
        assert_eq!(
            kinds(upd(None, Some(dec!(3))), upd(Some(dec!(1)), None)),
            vec![DifferenceKind::Stock],
            "untracked stock differs; a price the flow does not push does not"
        );
    }

    #[test]
    fn a_difference_names_the_item_the_sku_and_both_values() {
        let w = WantedSku {
            entity: "1c:p1".into(),
            update: upd(None, Some(dec!(3))),
        };
        let d = &compare_sku("prices", &w, &upd(None, Some(dec!(7))))[0];
        assert_eq!(d.store_id.as_deref(), Some("p1"));
        assert_eq!(d.crm_id.as_deref(), Some("ART-1"));
        assert_eq!(
            (d.store_value.clone(), d.crm_value.clone()),
            (json!("3"), json!("7"))
        );
    }
}
