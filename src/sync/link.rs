//! Deal rows linked to the CRM's own products.
//!
//! A store order's line becomes a deal row; when the line's product is also in the CRM's
//! catalog (pushed there by a `[[catalog]]`), the row names that CRM product (Bitrix24
//! `PRODUCT_ID`, an amoCRM catalog element) instead of being free text, so the CRM's reports
//! by product count it. The link is read from the catalog bindings, in this order:
//!
//! 1. the line's own product, when the store's catalog is pushed (`from = "<store>"`): the
//!    binding `(crm, "product", "<store>:<product or variation id>")`;
//! 2. else the line's article, when the 1C catalog is pushed: the 1C entry with that article
//!    (an offer's own, or its product's), bound as `(crm, "product", "1c:<id>")`. An article
//!    that names several 1C entries (variants sharing their product's article) links nothing:
//!    guessing would count the sale against the wrong variant.
//!
//! A line with no bound product stays a text row, as before. The planner stays pure; linking is
//! this one extra step with two indexed reads per order, applied wherever a deal is planned, so
//! the deals compared in a merge are linked the same way.

use std::collections::HashMap;

use dealbridge_sdk::model::{CatalogItem, Deal, DealLine, ExternalRef, Order};
use dealbridge_store::{Store, StoreError};

use super::reverse::StoreProduct;
use crate::onec::exchange::SYSTEM_1C;
use dealbridge_store::EntityKind;

/// Sets `product_id` on the rows of `deal` that stand for `order`'s lines (its first
/// `order.lines.len()` rows, as the planner builds them) whose product is bound to a product of
/// `crm_system`.
pub async fn link_rows(
    store: &Store,
    crm_system: &str,
    order: &Order,
    deal: &mut Deal,
) -> Result<(), StoreError> {
    let n = order.lines.len().min(deal.lines.len());
    if n == 0 {
        return Ok(());
    }
    let own: Vec<Option<String>> = order.lines[..n]
        .iter()
        .map(|l| l.item.as_ref().map(|r| format!("{}:{}", r.system, r.id)))
        .collect();
    let skus: Vec<&str> = order.lines[..n]
        .iter()
        .filter_map(|l| l.sku.as_deref().map(str::trim))
        .filter(|s| !s.is_empty())
        .collect();
    let by_sku: HashMap<String, String> = if skus.is_empty() {
        HashMap::new()
    } else {
        store
            .catalog_entries_by_sku(SYSTEM_1C, &skus)
            .await?
            .into_iter()
            .filter_map(|(sku, ids)| match ids.as_slice() {
                [one] => Some((sku, format!("{SYSTEM_1C}:{one}"))),
                _ => None,
            })
            .collect()
    };
    let mut entities: Vec<&str> = own.iter().flatten().map(String::as_str).collect();
    entities.extend(by_sku.values().map(String::as_str));
    if entities.is_empty() {
        return Ok(());
    }
    let bound = store
        .catalog_bindings(crm_system, EntityKind::Product, &entities)
        .await?;
    for (i, line) in order.lines[..n].iter().enumerate() {
        let direct = own[i].as_ref().and_then(|e| bound.get(e));
        let via_sku = || {
            let sku = line.sku.as_deref()?.trim();
            bound.get(by_sku.get(sku)?)
        };
        if let Some((crm_id, _)) = direct.or_else(via_sku) {
            deal.lines[i].product_id = Some(crm_id.clone());
        }
    }
    Ok(())
}

/// The other way, for rows a manager added in the CRM: the store product of each row's CRM
/// product (by CRM product id), read from the catalog bindings. A product pushed from
/// `store_system`'s own catalog gives its store id (and article); one pushed from the 1C catalog
/// gives its article, by which the store finds its own product. Rows without a bound product
/// are left out (they become fee lines).
pub async fn store_products_of_rows(
    store: &Store,
    crm_system: &str,
    store_system: &str,
    rows: &[DealLine],
) -> Result<HashMap<String, StoreProduct>, StoreError> {
    let mut out = HashMap::new();
    for id in rows.iter().filter_map(|r| r.product_id.as_deref()) {
        if out.contains_key(id) {
            continue;
        }
        let Some(b) = store
            .binding_by_external(crm_system, EntityKind::Product, id)
            .await?
        else {
            continue;
        };
        let pushed: Option<CatalogItem> = b.snapshot.and_then(|s| serde_json::from_value(s).ok());
        let sku = pushed.and_then(|p| p.sku).filter(|s| !s.trim().is_empty());
        let item = b
            .entity_id
            .strip_prefix(store_system)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|own| ExternalRef {
                system: store_system.to_string(),
                id: own.to_string(),
            });
        if item.is_some() || sku.is_some() {
            out.insert(id.to_string(), StoreProduct { item, sku });
        }
    }
    Ok(out)
}
