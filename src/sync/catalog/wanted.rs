//! What the CRM catalog should hold now: every item this flow would push, as it would push it
//! (the same price type, currency and inactive rule), with the CRM id bound to it; and what the
//! store's prices and stock should be (each SKU's mapped price and stock summed over the mapped
//! warehouses, planned by the run's own [`super::store_plan`]). `reconcile` compares them with
//! what the CRM and the store really hold.

use super::{store_plan, CatalogError, CatalogFlow, ItemSource, StorePlan};
use dealbridge_sdk::model::{CatalogItem, ExternalRef, SkuUpdate};
use dealbridge_store::{EntityKind, Store};
use std::collections::HashSet;

/// One item the CRM should hold.
#[derive(Debug, Clone, PartialEq)]
pub struct WantedItem {
    /// Its entity id (`1c:<id>`, `<store>:<id>`): the binding's key.
    pub entity: String,
    /// The item as a push would send it now.
    pub item: CatalogItem,
    /// The CRM product bound to it, when one is.
    pub crm_id: Option<String>,
}

/// The price and stock one SKU of the store should hold.
#[derive(Debug, Clone, PartialEq)]
pub struct WantedSku {
    /// The 1C item's entity id (`1c:<id>`): the key of its `product_price` binding.
    pub entity: String,
    /// The SKU with the price and stock a run would push (`None`: that field is not pushed).
    pub update: SkuUpdate,
}

impl CatalogFlow {
    /// Every SKU whose price and stock the store should hold, in 1C's order: each active 1C
    /// entry with an article and a price or stock, as a run pushes it. A SKU a second entry
    /// also carries keeps the first entry's values, as a run does (it reports the second).
    /// Empty when the flow writes no store.
    pub async fn wanted_store_items(&self, store: &Store) -> Result<Vec<WantedSku>, CatalogError> {
        if self.store.is_none() || !matches!(self.source, ItemSource::OneC) {
            return Ok(Vec::new());
        }
        let resolved = self.resolve(store).await?;
        let mut wanted = Vec::new();
        let mut seen = HashSet::new();
        let mut after = String::new();
        loop {
            let page = store
                .catalog_entries_page(&self.source_system, &after, super::CHUNK as u32)
                .await
                .map_err(self.store_err())?;
            let Some(last) = page.last() else { break };
            after = last.external_id.clone();
            for e in &page {
                // An unreadable price or stock is a problem the catalog run journals; not
                // compared.
                let Ok(price) = self.price_of(&resolved, &e.prices) else {
                    continue;
                };
                if let StorePlan::Update(update) = store_plan(&resolved, e, price.as_ref()) {
                    if seen.insert(update.sku.clone()) {
                        wanted.push(WantedSku {
                            entity: format!("{}:{}", self.source_system, e.external_id),
                            update,
                        });
                    }
                }
            }
            if page.len() < super::CHUNK {
                break;
            }
        }
        Ok(wanted)
    }

    /// Every item the CRM should hold, in the source's order. Items the flow would skip
    /// (inactive and never pushed, or with an unreadable price) are left out, as a push leaves
    /// them out.
    pub async fn wanted_crm_items(&self, store: &Store) -> Result<Vec<WantedItem>, CatalogError> {
        let items = match &self.source {
            ItemSource::Store(client) => {
                client
                    .catalog_items()
                    .await
                    .map_err(|source| CatalogError::Read {
                        flow: self.name.clone(),
                        system: self.source_system.clone(),
                        source,
                    })?
            }
            ItemSource::OneC => self.onec_items(store).await?,
        };
        let mut wanted = Vec::with_capacity(items.len());
        for chunk in items.chunks(super::CHUNK) {
            let entities: Vec<String> = chunk
                .iter()
                .map(|i| format!("{}:{}", self.source_system, i.origin.id))
                .collect();
            let ids: Vec<&str> = entities.iter().map(String::as_str).collect();
            let bound = self
                .bindings(store, &self.crm, EntityKind::Product, &ids)
                .await?;
            for (item, entity) in chunk.iter().zip(entities) {
                let crm_id = bound.get(&entity).map(|(id, _)| id.clone());
                if !item.active && !self.mapping.include_inactive && crm_id.is_none() {
                    continue;
                }
                wanted.push(WantedItem {
                    entity,
                    item: item.clone(),
                    crm_id,
                });
            }
        }
        Ok(wanted)
    }

    /// The 1C entries as CRM items, priced by the mapping.
    async fn onec_items(&self, store: &Store) -> Result<Vec<CatalogItem>, CatalogError> {
        let resolved = self.resolve(store).await?;
        let mut items = Vec::new();
        let mut after = String::new();
        loop {
            let page = store
                .catalog_entries_page(&self.source_system, &after, super::CHUNK as u32)
                .await
                .map_err(self.store_err())?;
            let Some(last) = page.last() else { break };
            after = last.external_id.clone();
            for e in &page {
                // An unreadable price is a problem the catalog run journals; not compared.
                let Ok(price) = self.price_of(&resolved, &e.prices) else {
                    continue;
                };
                items.push(CatalogItem {
                    origin: ExternalRef {
                        system: self.source_system.clone(),
                        id: e.external_id.clone(),
                    },
                    crm_id: None,
                    name: e.name.clone(),
                    sku: e.sku.clone(),
                    description: None,
                    price,
                    unit: e.unit.clone(),
                    active: e.active,
                });
            }
            if page.len() < super::CHUNK {
                break;
            }
        }
        Ok(items)
    }
}
