//! The nightly catalog: the 1C catalog in the state database (imported by `crate::onec`) →
//! CRM products with the mapped price, and the store's regular price and stock by SKU; or, for a
//! shop without 1C, the store's own catalog → CRM products ([`ItemSource::Store`]).
//!
//! **A store's own catalog** is read whole at each run through [`CatalogSource`] (every simple
//! product and every variant, with the regular price in the store's currency), bound as
//! `(crm system, "product", "<store>:<id>")` and compared with the snapshots exactly like 1C's
//! items below, so only products whose name, SKU, price or status changed in the shop are written
//! to the CRM. The read is the cost (⌈products/100⌉ WooCommerce pages plus the variations of each
//! variable product; ⌈products/250⌉ Shopify pages), which is why it runs on `sync` and on a
//! schedule rather than after every 1C exchange.
//!
//! **What is an item.** One item per sellable entry: every 1C offer (a product or one of its
//! variants, `Ид#Ид`), plus every product that has no offer at all (pushed to the CRM without a
//! price). Entries are read from the store in id-ordered pages, never all at once.
//!
//! **Only changes are written.** Each item's wanted state is compared with the snapshot saved on
//! its binding after the last successful push (CRM: binding `(crm system, "product",
//! "1c:<id>")`, external id = CRM product id; store: `(store system, "product_price",
//! "1c:<id>")`, external id = SKU). Equal hash → nothing is sent. Changed and new items are sent
//! in chunks ([`CHUNK`]) through [`CrmCatalog::push_products`] and
//! [`StorePricePush::push_price_and_stock`]; their bindings are saved after each chunk, so a run
//! that fails half-way keeps what it did and the next run resumes (the CRM connector adopts
//! products a lost answer left unbound by their `XML_ID`). A second night without a change in 1C
//! therefore makes no CRM call and no store call at all.
//!
//! **Store misses.** SKUs the store has no product for are reported (count and a sample) and
//! journaled, but not bound: they are asked again next night (a read, never a write), so a
//! product created in the shop later gets its price without waiting for a 1C change.
//!
//! **Inactive items** (deleted in 1C, or missing from the last full import) are skipped unless
//! `[products] include_inactive = true`; an inactive item that was pushed before is always sent
//! once more, as inactive, so the CRM stops offering it. The store is never sent inactive items.
//!
//! **`full`.** A full run ignores the snapshots: every CRM item is sent again (repairing edits made
//! by hand in the CRM), and every store SKU is re-compared against the live shop, which still
//! writes only the SKUs whose price or stock differ (the WooCommerce connector compares before
//! writing). Nothing is cleared; bindings are refreshed as usual.
//!
//! **Journal.** One entry per pushed chunk (kind `catalog`, entity `flow:<name>`) with its counts,
//! and one per problem item (SKU not found, refused by the store, duplicate SKU, unreadable
//! amount). Per-item success is on the binding (`synced_at`, snapshot), not in the journal, so a
//! first night of 100,000 products does not write 100,000 journal rows.

use dealbridge_store::EntityKind;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dealbridge_sdk::model::SkuUpdate;
use dealbridge_sdk::model::{CatalogItem, ExternalRef, PushAction};
use dealbridge_sdk::money::{parse_decimal, Currency, Money};
use dealbridge_sdk::traits::CrmCatalog;
pub use dealbridge_sdk::traits::{CatalogSource, StorePricePush};
use dealbridge_sdk::ConnectorError;
use dealbridge_store::{snapshot_hash, CatalogEntry, JournalEntry, Store, StoreError};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};

use super::SyncError;
use crate::mapping::catalog::CatalogMapping;
use crate::metrics::catalog::{self as item_metrics, ItemAction};

pub mod wanted;

/// Items per push call (and entries per page read from the state database). The connectors split
/// further (Bitrix24: 50 per `batch`, WooCommerce: 100 per request); a larger chunk only saves
/// lookup requests while keeping binding transactions moderate.
pub const CHUNK: usize = 500;

/// At most this many not-found SKUs are kept in the report and journaled per run; the count is
/// always exact.
pub const NOT_FOUND_SAMPLE: usize = 100;

/// Where a catalog flow's items come from.
#[derive(Clone)]
pub enum ItemSource {
    /// The 1C catalog imported into the state database (by the exchange or `import-1c`), read
    /// in pages.
    OneC,
    /// A store's own catalog, read whole from the store at each run (shops without 1C).
    Store(Arc<dyn CatalogSource>),
}

/// One catalog flow: 1C → a CRM catalog and/or a store's prices and stock, or a store's catalog
/// → a CRM catalog.
#[derive(Clone)]
pub struct CatalogFlow {
    /// The flow's name (journal, errors).
    pub name: String,
    /// The system the items come from (`1c`, or the store's system name).
    pub source_system: String,
    /// How the items are read.
    pub source: ItemSource,
    /// Price type, currency, warehouses, inactive items.
    pub mapping: CatalogMapping,
    /// The CRM: its system name from the config and its catalog client.
    pub crm: Option<(String, Arc<dyn CrmCatalog>)>,
    /// The store: its system name from the config and its price/stock client.
    pub store: Option<(String, Arc<dyn StorePricePush>)>,
}

/// What one run did. Counts are items (1C offers or offer-less products).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CatalogReport {
    /// The flow.
    pub flow: String,
    /// The system the items came from (`1c`, or a store's name).
    pub source: String,
    /// Whether snapshots were ignored.
    pub full: bool,
    /// Sellable entries read from the 1C catalog.
    pub entries: u64,
    /// Inactive entries not sent anywhere.
    pub skipped_inactive: u64,
    /// CRM products created.
    pub crm_created: u64,
    /// CRM products updated.
    pub crm_updated: u64,
    /// CRM products found by their origin (unbound) and updated.
    pub crm_adopted: u64,
    /// Items whose CRM snapshot was unchanged: not sent.
    pub crm_unchanged: u64,
    /// SKUs whose store price or stock was written.
    pub store_updated: u64,
    /// SKUs not sent (snapshot unchanged) or sent and found already right.
    pub store_unchanged: u64,
    /// SKUs the store has no product or variation for.
    pub store_not_found: u64,
    /// Up to [`NOT_FOUND_SAMPLE`] of those SKUs.
    pub store_not_found_sample: Vec<String>,
    /// SKUs the store refused, with its reason.
    pub store_failed: Vec<(String, String)>,
    /// Items with a SKU another item of this run already sent (the first one wins).
    pub store_duplicate_sku: Vec<String>,
    /// Active items without a SKU (or without price and stock): nothing to send to the store.
    pub store_skipped: u64,
    /// Items with an amount or quantity that is not a number, with the reason (not sent).
    pub invalid: Vec<(String, String)>,
    /// Set when the mapping's price type is not in the imported 1C catalog: why, and the known
    /// types. Items then go without a price (names, stock and activity still go); the 1C
    /// import's quality report shows it too (`mapped_price_type_missing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_type_missing: Option<String>,
}

/// Why a catalog run stopped.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The state database failed.
    #[error("catalog flow `{flow}`: state database: {source}")]
    Store {
        /// The flow.
        flow: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The mapping names a warehouse the 1C catalog does not have.
    #[error("catalog flow `{flow}`: warehouse `{warehouse}` ([stock] warehouses in {file}) is not in the 1C catalog of system `{system}`; known warehouses: {known}. Fix the mapping, or import the 1C offers file that declares it")]
    UnknownWarehouse {
        /// The flow.
        flow: String,
        /// The source system.
        system: String,
        /// The mapping's value.
        warehouse: String,
        /// The mapping file.
        file: String,
        /// Known warehouses as `name (id)`.
        known: String,
    },
    /// Reading the store's own catalog failed; nothing was pushed.
    #[error("catalog flow `{flow}`: reading the products of `{system}` failed; nothing was pushed and the next run tries again: {source}")]
    Read {
        /// The flow.
        flow: String,
        /// The store.
        system: String,
        /// The connector's error.
        #[source]
        source: ConnectorError,
    },
    /// A push to the CRM or the store failed. Chunks pushed before it are bound; the next run
    /// resumes from there.
    #[error("catalog flow `{flow}`: pushing {count} items to `{system}` failed; items pushed before were saved and the next run retries the rest: {source}")]
    Push {
        /// The flow.
        flow: String,
        /// The target system.
        system: String,
        /// Items in the failed chunk.
        count: usize,
        /// The connector's error.
        #[source]
        source: ConnectorError,
    },
}

impl From<CatalogError> for SyncError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Store { source, .. } => SyncError::Store(source),
            other => SyncError::Catalog(Box::new(other)),
        }
    }
}

/// The mapping resolved against the imported catalog.
struct Resolved {
    /// The price type id.
    price_type: Option<String>,
    /// Its currency, when 1C declares one.
    price_currency: Option<Currency>,
    /// Warehouse ids counted; `None` = all.
    warehouses: Option<HashSet<String>>,
    /// Why the mapped price type was not found (items then go without a price).
    price_type_missing: Option<String>,
}

/// A CRM item waiting to be pushed, with its binding snapshot.
struct PendingCrm {
    entity: String,
    item: CatalogItem,
    snapshot: Value,
}

/// What one 1C catalog run collects while it walks the pages.
struct OnecPass {
    report: CatalogReport,
    /// Every item is written, changed or not (`sync --full`).
    full: bool,
    crm_pending: Vec<PendingCrm>,
    store_pending: Vec<PendingStore>,
    /// Articles already sent to the store in this run (a second one would overwrite the first).
    skus_seen: HashSet<String>,
}

/// A store update waiting to be pushed.
struct PendingStore {
    entity: String,
    update: SkuUpdate,
    snapshot: Value,
}

impl CatalogFlow {
    /// A flow reading `source_system`'s catalog with `mapping`; add targets with
    /// [`CatalogFlow::with_crm`] / [`CatalogFlow::with_store`].
    pub fn new(name: &str, source_system: &str, mapping: CatalogMapping) -> Self {
        CatalogFlow {
            name: name.to_string(),
            source_system: source_system.to_string(),
            source: ItemSource::OneC,
            mapping,
            crm: None,
            store: None,
        }
    }

    /// Reads the items from store system `system`'s own catalog instead of the imported 1C
    /// catalog; only a CRM target makes sense then (prices and stock come from the store itself).
    pub fn from_store(name: &str, system: &str, client: Arc<dyn CatalogSource>) -> Self {
        CatalogFlow {
            source: ItemSource::Store(client),
            ..CatalogFlow::new(name, system, CatalogMapping::for_store())
        }
    }

    /// Sends products to CRM system `system`.
    pub fn with_crm(mut self, system: &str, client: Arc<dyn CrmCatalog>) -> Self {
        self.crm = Some((system.to_string(), client));
        self
    }

    /// Sends prices and stock to store system `system`.
    pub fn with_store(mut self, system: &str, client: Arc<dyn StorePricePush>) -> Self {
        self.store = Some((system.to_string(), client));
        self
    }

    fn store_err(&self) -> impl Fn(StoreError) -> CatalogError + '_ {
        move |source| CatalogError::Store {
            flow: self.name.clone(),
            source,
        }
    }

    /// Runs the flow once (see the module docs); `full` ignores the saved snapshots.
    pub async fn run(&self, store: &Store, full: bool) -> Result<CatalogReport, CatalogError> {
        match &self.source {
            ItemSource::OneC => self.run_onec(store, full).await,
            ItemSource::Store(client) => self.run_store_source(store, client.as_ref(), full).await,
        }
    }

    /// The store → CRM direction: the store's items read whole, compared with their snapshots
    /// and pushed in chunks like 1C's.
    async fn run_store_source(
        &self,
        store: &Store,
        client: &dyn CatalogSource,
        full: bool,
    ) -> Result<CatalogReport, CatalogError> {
        let mut report = CatalogReport {
            flow: self.name.clone(),
            source: self.source_system.clone(),
            full,
            ..Default::default()
        };
        let items = client
            .catalog_items()
            .await
            .map_err(|source| CatalogError::Read {
                flow: self.name.clone(),
                system: self.source_system.clone(),
                source,
            })?;
        report.entries = items.len() as u64;
        let mut pending: Vec<PendingCrm> = Vec::new();
        for chunk in items.chunks(CHUNK) {
            let entities: Vec<String> = chunk
                .iter()
                .map(|i| format!("{}:{}", self.source_system, i.origin.id))
                .collect();
            let ids: Vec<&str> = entities.iter().map(String::as_str).collect();
            let bound = self
                .bindings(store, &self.crm, EntityKind::Product, &ids)
                .await?;
            for (item, entity) in chunk.iter().zip(entities) {
                let binding = bound.get(&entity);
                if !item.active && !self.mapping.include_inactive && binding.is_none() {
                    report.skipped_inactive += 1;
                    continue;
                }
                self.plan_crm(
                    item.clone(),
                    entity,
                    binding,
                    full,
                    &mut pending,
                    &mut report,
                );
            }
            if pending.len() >= CHUNK {
                self.flush_crm(store, &mut pending, &mut report).await?;
            }
        }
        self.flush_crm(store, &mut pending, &mut report).await?;
        Ok(report)
    }

    /// The bindings of `ids` (entity ids) of `kind` in the target system, if there is a target.
    async fn bindings<T: ?Sized>(
        &self,
        store: &Store,
        target: &Option<(String, Arc<T>)>,
        kind: EntityKind,
        ids: &[&str],
    ) -> Result<HashMap<String, (String, Option<String>)>, CatalogError> {
        match target {
            Some((sys, _)) => store
                .catalog_bindings(sys, kind, ids)
                .await
                .map_err(self.store_err()),
            None => Ok(HashMap::new()),
        }
    }

    /// Queues `item` for the CRM unless its snapshot equals the bound one (or `full`).
    fn plan_crm(
        &self,
        item: CatalogItem,
        entity: String,
        binding: Option<&(String, Option<String>)>,
        full: bool,
        pending: &mut Vec<PendingCrm>,
        report: &mut CatalogReport,
    ) {
        // The snapshot leaves the CRM id out: it is identity, not content.
        let snapshot = serde_json::to_value(&item).unwrap_or(Value::Null);
        let same = binding.is_some_and(|(_, h)| h.as_deref() == Some(&snapshot_hash(&snapshot)));
        if same && !full {
            report.crm_unchanged += 1;
            if let Some((system, _)) = &self.crm {
                item_metrics::items(&self.name, system, ItemAction::Unchanged, 1);
            }
            return;
        }
        let item = CatalogItem {
            crm_id: binding.map(|(id, _)| id.clone()),
            ..item
        };
        pending.push(PendingCrm {
            entity,
            item,
            snapshot,
        });
    }

    /// The 1C direction: entries read from the state database in pages.
    async fn run_onec(&self, store: &Store, full: bool) -> Result<CatalogReport, CatalogError> {
        let resolved = self.resolve(store).await?;
        let mut pass = OnecPass {
            report: CatalogReport {
                flow: self.name.clone(),
                source: self.source_system.clone(),
                full,
                price_type_missing: resolved.price_type_missing.clone(),
                ..Default::default()
            },
            full,
            crm_pending: Vec::new(),
            store_pending: Vec::new(),
            skus_seen: HashSet::new(),
        };
        let mut after = String::new();
        loop {
            let page = store
                .catalog_entries_page(&self.source_system, &after, CHUNK as u32)
                .await
                .map_err(self.store_err())?;
            let Some(last) = page.last() else { break };
            after = last.external_id.clone();
            let short = page.len() < CHUNK;
            self.plan_page(store, &resolved, &page, &mut pass).await?;
            if pass.crm_pending.len() >= CHUNK {
                self.flush_crm(store, &mut pass.crm_pending, &mut pass.report)
                    .await?;
            }
            if pass.store_pending.len() >= CHUNK {
                self.flush_store(store, &mut pass.store_pending, &mut pass.report)
                    .await?;
            }
            if short {
                break;
            }
        }
        self.flush_crm(store, &mut pass.crm_pending, &mut pass.report)
            .await?;
        self.flush_store(store, &mut pass.store_pending, &mut pass.report)
            .await?;
        Ok(pass.report)
    }

    /// Plans one page of 1C entries: the CRM item and the store's price and stock of each.
    async fn plan_page(
        &self,
        store: &Store,
        resolved: &Resolved,
        page: &[CatalogEntry],
        pass: &mut OnecPass,
    ) -> Result<(), CatalogError> {
        pass.report.entries += page.len() as u64;
        let entities: Vec<String> = page
            .iter()
            .map(|e| format!("{}:{}", self.source_system, e.external_id))
            .collect();
        let ids: Vec<&str> = entities.iter().map(String::as_str).collect();
        let crm_bound = self
            .bindings(store, &self.crm, EntityKind::Product, &ids)
            .await?;
        let store_bound = self
            .bindings(store, &self.store, EntityKind::ProductPrice, &ids)
            .await?;
        for (e, entity) in page.iter().zip(entities) {
            let crm_binding = crm_bound.get(&entity);
            if !e.active && !self.mapping.include_inactive && crm_binding.is_none() {
                pass.report.skipped_inactive += 1;
                continue;
            }
            let price = match self.price_of(resolved, &e.prices) {
                Ok(p) => p,
                Err(why) => {
                    self.problem(store, &entity, "catalog_invalid", None, &why)
                        .await?;
                    pass.report.invalid.push((entity, why));
                    continue;
                }
            };
            if self.crm.is_some() {
                let item = CatalogItem {
                    origin: ExternalRef {
                        system: self.source_system.clone(),
                        id: e.external_id.clone(),
                    },
                    crm_id: None,
                    name: e.name.clone(),
                    sku: e.sku.clone(),
                    description: None,
                    price: price.clone(),
                    unit: e.unit.clone(),
                    active: e.active,
                };
                self.plan_crm(
                    item,
                    entity.clone(),
                    crm_binding,
                    pass.full,
                    &mut pass.crm_pending,
                    &mut pass.report,
                );
            }
            if self.store.is_some() {
                let bound = store_bound.get(&entity);
                self.plan_store_entry(store, resolved, e, entity, price, bound, pass)
                    .await?;
            }
        }
        Ok(())
    }

    /// Plans the store's price and stock of one 1C entry, by SKU: only what differs from the
    /// snapshot last written (or everything on a full run); an entry without an article, or with
    /// an article an earlier entry of this run already used, is skipped and said why.
    #[allow(clippy::too_many_arguments)] // one entry's inputs, all read by the caller's page pass
    async fn plan_store_entry(
        &self,
        store: &Store,
        resolved: &Resolved,
        e: &CatalogEntry,
        entity: String,
        price: Option<Money>,
        bound: Option<&(String, Option<String>)>,
        pass: &mut OnecPass,
    ) -> Result<(), CatalogError> {
        let report = &mut pass.report;
        let update = match store_plan(resolved, e, price.as_ref()) {
            StorePlan::Inactive => {
                report.skipped_inactive += u64::from(self.crm.is_none());
                return Ok(());
            }
            StorePlan::Invalid(why) => {
                self.problem(store, &entity, "catalog_invalid", None, &why)
                    .await?;
                report.invalid.push((entity, why));
                return Ok(());
            }
            StorePlan::Nothing => {
                report.store_skipped += 1;
                return Ok(());
            }
            StorePlan::Update(u) => u,
        };
        let SkuUpdate {
            sku,
            regular_price,
            stock_quantity: stock,
        } = update;
        if !pass.skus_seen.insert(sku.clone()) {
            let why = format!(
                "SKU `{sku}` is also the article of another 1C item sent earlier in this run; the store got that one's price and stock. Give each 1C offer its own article"
            );
            self.problem(store, &entity, "catalog_duplicate_sku", Some(&sku), &why)
                .await?;
            report.store_duplicate_sku.push(sku);
            return Ok(());
        }
        let snapshot = json!({
            "sku": sku,
            "regular_price": regular_price.map(|d| d.normalize().to_string()),
            "stock_quantity": stock.map(|d| d.normalize().to_string()),
        });
        let same = bound.is_some_and(|(bound_sku, h)| {
            *bound_sku == sku && h.as_deref() == Some(&snapshot_hash(&snapshot))
        });
        if same && !pass.full {
            report.store_unchanged += 1;
            if let Some((system, _)) = &self.store {
                item_metrics::items(&self.name, system, ItemAction::Unchanged, 1);
            }
        } else {
            pass.store_pending.push(PendingStore {
                entity,
                update: SkuUpdate {
                    sku,
                    regular_price,
                    stock_quantity: stock,
                },
                snapshot,
            });
        }
        Ok(())
    }

    /// Finds the mapped price type and warehouses in the imported catalog.
    async fn resolve(&self, store: &Store) -> Result<Resolved, CatalogError> {
        let sys = &self.source_system;
        let file = self.mapping.path.display().to_string();
        let types = store
            .catalog_price_types(sys)
            .await
            .map_err(self.store_err())?;
        let wanted = &self.mapping.price_type;
        let mut missing = None;
        let (price_type, price_currency) = if types.is_empty() {
            // Nothing imported yet (or a catalog without offers): items go without a price.
            (None, None)
        } else {
            let found = types
                .iter()
                .find(|t| t.external_id == *wanted)
                .or_else(|| types.iter().find(|t| t.name == *wanted))
                .or_else(|| {
                    types
                        .iter()
                        .find(|t| t.name.trim().to_lowercase() == wanted.to_lowercase())
                });
            match found {
                Some(t) => (
                    Some(t.external_id.clone()),
                    t.currency.as_deref().and_then(|c| Currency::new(c).ok()),
                ),
                // A finding, not a failure: everything but the price still goes, and the run
                // says why prices are missing.
                None => {
                    let known: Vec<String> = types
                        .iter()
                        .map(|t| format!("{} ({})", t.name, t.external_id))
                        .collect();
                    let why = format!(
                        "catalog flow `{}`: price type `{wanted}` ([prices] price_type in {file}) is not in the 1C catalog of system `{sys}`; known price types: {}. Items go without a price: fix the mapping, or import the 1C offers file that declares it",
                        self.name,
                        known.join(", ")
                    );
                    tracing::warn!(flow = %self.name, "{why}");
                    missing = Some(why);
                    (None, None)
                }
            }
        };
        let warehouses = if self.mapping.warehouses.is_empty() || self.store.is_none() {
            None
        } else {
            let known = store
                .catalog_warehouses(sys)
                .await
                .map_err(self.store_err())?;
            let mut ids = HashSet::new();
            for w in &self.mapping.warehouses {
                let Some(k) = known
                    .iter()
                    .find(|k| k.external_id == *w)
                    .or_else(|| known.iter().find(|k| k.name == *w))
                else {
                    return Err(CatalogError::UnknownWarehouse {
                        flow: self.name.clone(),
                        system: sys.clone(),
                        warehouse: w.clone(),
                        file,
                        known: known
                            .iter()
                            .map(|k| format!("{} ({})", k.name, k.external_id))
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                };
                ids.insert(k.external_id.clone());
            }
            Some(ids)
        };
        Ok(Resolved {
            price_type,
            price_currency,
            warehouses,
            price_type_missing: missing,
        })
    }

    /// The mapped price of an entry: `None` when it has none of that type.
    fn price_of(
        &self,
        r: &Resolved,
        prices: &[dealbridge_store::CatalogPrice],
    ) -> Result<Option<Money>, String> {
        let Some(id) = &r.price_type else {
            return Ok(None);
        };
        let Some(p) = prices.iter().find(|p| p.price_type_id == *id) else {
            return Ok(None);
        };
        let amount = parse_decimal(&p.amount).map_err(|e| {
            format!(
                "price `{}` of type `{}` is not a number ({e}); fix it in 1C",
                p.amount, self.mapping.price_type
            )
        })?;
        let currency = p
            .currency
            .as_deref()
            .and_then(|c| Currency::new(c).ok())
            .or_else(|| r.price_currency.clone())
            .unwrap_or_else(|| self.mapping.currency.clone());
        Ok(Some(Money::new(amount, currency)))
    }

    /// Journals one problem item.
    async fn problem(
        &self,
        store: &Store,
        entity: &str,
        action: &str,
        external: Option<&str>,
        why: &str,
    ) -> Result<(), CatalogError> {
        let system = match (&self.store, &self.crm) {
            (Some((s, _)), _) | (None, Some((s, _))) => s.as_str(),
            (None, None) => self.source_system.as_str(),
        };
        store
            .journal(&JournalEntry {
                kind: EntityKind::Product,
                entity_id: entity,
                system,
                action,
                external_id: external,
                job_id: None,
                detail: Some(why),
            })
            .await
            .map_err(self.store_err())
    }

    /// Journals a chunk summary.
    async fn summary(&self, store: &Store, system: &str, detail: &str) -> Result<(), CatalogError> {
        let entity = format!("flow:{}", self.name);
        store
            .journal(&JournalEntry {
                kind: EntityKind::Catalog,
                entity_id: &entity,
                system,
                action: "pushed",
                external_id: None,
                job_id: None,
                detail: Some(detail),
            })
            .await
            .map_err(self.store_err())
    }

    async fn flush_crm(
        &self,
        store: &Store,
        pending: &mut Vec<PendingCrm>,
        report: &mut CatalogReport,
    ) -> Result<(), CatalogError> {
        let Some((system, client)) = &self.crm else {
            return Ok(());
        };
        if pending.is_empty() {
            return Ok(());
        }
        let items: Vec<CatalogItem> = pending.iter().map(|p| p.item.clone()).collect();
        let pushed = client
            .push_products(&items)
            .await
            .map_err(|source| CatalogError::Push {
                flow: self.name.clone(),
                system: system.clone(),
                count: items.len(),
                source,
            })?;
        let (mut created, mut updated, mut adopted) = (0u64, 0u64, 0u64);
        let mut rows: Vec<(&str, &str, &Value)> = Vec::with_capacity(pending.len());
        for (p, out) in pending.iter().zip(&pushed.items) {
            match out.action {
                PushAction::Created => created += 1,
                PushAction::Adopted => adopted += 1,
                PushAction::Updated => updated += 1,
            }
            rows.push((p.entity.as_str(), out.crm_id.as_str(), &p.snapshot));
        }
        store
            .save_catalog_bindings(system, EntityKind::Product, &rows)
            .await
            .map_err(self.store_err())?;
        count_crm_chunk(&self.name, system, pending, &pushed.items);
        report.crm_created += created;
        report.crm_updated += updated;
        report.crm_adopted += adopted;
        self.summary(
            store,
            system,
            &format!(
                "{} products: {created} created, {updated} updated, {adopted} adopted",
                rows.len()
            ),
        )
        .await?;
        pending.clear();
        Ok(())
    }

    async fn flush_store(
        &self,
        store: &Store,
        pending: &mut Vec<PendingStore>,
        report: &mut CatalogReport,
    ) -> Result<(), CatalogError> {
        let Some((system, client)) = &self.store else {
            return Ok(());
        };
        if pending.is_empty() {
            return Ok(());
        }
        let updates: Vec<SkuUpdate> = pending.iter().map(|p| p.update.clone()).collect();
        let pushed = client
            .push_price_and_stock(&updates)
            .await
            .map_err(|source| CatalogError::Push {
                flow: self.name.clone(),
                system: system.clone(),
                count: updates.len(),
                source,
            })?;
        let done: HashSet<&str> = pushed
            .updated
            .iter()
            .chain(&pushed.unchanged)
            .map(String::as_str)
            .collect();
        let rows: Vec<(&str, &str, &Value)> = pending
            .iter()
            .filter(|p| done.contains(p.update.sku.as_str()))
            .map(|p| (p.entity.as_str(), p.update.sku.as_str(), &p.snapshot))
            .collect();
        store
            .save_catalog_bindings(system, EntityKind::ProductPrice, &rows)
            .await
            .map_err(self.store_err())?;
        let entity_of: HashMap<&str, &str> = pending
            .iter()
            .map(|p| (p.update.sku.as_str(), p.entity.as_str()))
            .collect();
        for sku in &pushed.not_found {
            report.store_not_found += 1;
            if report.store_not_found_sample.len() < NOT_FOUND_SAMPLE {
                report.store_not_found_sample.push(sku.clone());
                let entity = entity_of.get(sku.as_str()).copied().unwrap_or("");
                let why = format!("`{system}` has no product or variation with SKU `{sku}`; create it in the shop (or fix the article in 1C) and the next run sets its price and stock");
                self.problem(store, entity, "catalog_sku_not_found", Some(sku), &why)
                    .await?;
            }
        }
        for (sku, why) in &pushed.failed {
            let entity = entity_of.get(sku.as_str()).copied().unwrap_or("");
            self.problem(store, entity, "catalog_store_refused", Some(sku), why)
                .await?;
            report.store_failed.push((sku.clone(), why.clone()));
        }
        report.store_updated += pushed.updated.len() as u64;
        report.store_unchanged += pushed.unchanged.len() as u64;
        for (action, n) in [
            (ItemAction::Updated, pushed.updated.len()),
            (ItemAction::Unchanged, pushed.unchanged.len()),
            (ItemAction::NotFound, pushed.not_found.len()),
            (ItemAction::Refused, pushed.failed.len()),
        ] {
            item_metrics::items(&self.name, system, action, n as u64);
        }
        self.summary(
            store,
            system,
            &format!(
                "{} SKUs: {} updated, {} already right, {} not found, {} refused",
                updates.len(),
                pushed.updated.len(),
                pushed.unchanged.len(),
                pushed.not_found.len(),
                pushed.failed.len()
            ),
        )
        .await?;
        pending.clear();
        Ok(())
    }
}

/// Counts one pushed CRM chunk: an inactive item written is `deactivated`, the others by
/// what the CRM did with them.
fn count_crm_chunk(
    catalog: &str,
    system: &str,
    sent: &[PendingCrm],
    outcomes: &[dealbridge_sdk::model::CatalogPushed],
) {
    let mut by_action: HashMap<&'static str, (ItemAction, u64)> = HashMap::new();
    for (p, out) in sent.iter().zip(outcomes) {
        let action = match (p.item.active, out.action) {
            (false, _) => ItemAction::Deactivated,
            (true, PushAction::Created) => ItemAction::Created,
            (true, PushAction::Updated) => ItemAction::Updated,
            (true, PushAction::Adopted) => ItemAction::Adopted,
        };
        by_action.entry(action.as_str()).or_insert((action, 0)).1 += 1;
    }
    for (action, n) in by_action.into_values() {
        item_metrics::items(catalog, system, action, n);
    }
}

/// What one 1C entry asks of the store's price and stock (before the run's duplicate-SKU check).
enum StorePlan {
    /// Inactive: the store is never sent inactive items.
    Inactive,
    /// Its stock is not a number (why).
    Invalid(String),
    /// No article, or neither a price nor stock: nothing to send.
    Nothing,
    /// The price and stock to set on its SKU.
    Update(SkuUpdate),
}

/// The store's share of entry `e` priced `price` (the mapped price): shared by the run and by
/// [`CatalogFlow::wanted_store_items`], so `reconcile` wants exactly what a run would push.
fn store_plan(r: &Resolved, e: &CatalogEntry, price: Option<&Money>) -> StorePlan {
    if !e.active {
        return StorePlan::Inactive;
    }
    let stock = match stock_of(r, &e.stock) {
        Ok(s) => s,
        Err(why) => return StorePlan::Invalid(why),
    };
    let regular_price = price.map(|p| p.amount);
    match &e.sku {
        Some(sku) if regular_price.is_some() || stock.is_some() => StorePlan::Update(SkuUpdate {
            sku: sku.clone(),
            regular_price,
            stock_quantity: stock,
        }),
        _ => StorePlan::Nothing,
    }
}

/// The store stock of an entry: the sum over the counted warehouses; with every warehouse
/// counted, the per-warehouse rows, else 1C's total (`""`). `None` when 1C sent no stock.
fn stock_of(
    r: &Resolved,
    stock: &[dealbridge_store::CatalogStock],
) -> Result<Option<Decimal>, String> {
    if stock.is_empty() {
        return Ok(None);
    }
    let per_warehouse: Vec<&dealbridge_store::CatalogStock> = stock
        .iter()
        .filter(|s| !s.warehouse_id.is_empty())
        .collect();
    let rows: Vec<&dealbridge_store::CatalogStock> = match &r.warehouses {
        Some(ids) => per_warehouse
            .into_iter()
            .filter(|s| ids.contains(&s.warehouse_id))
            .collect(),
        None if per_warehouse.is_empty() => stock.iter().collect(),
        None => per_warehouse,
    };
    let mut sum = Decimal::ZERO;
    for s in rows {
        sum += parse_decimal(&s.quantity).map_err(|e| {
            format!(
                "stock `{}` at warehouse `{}` is not a number ({e}); fix it in 1C",
                s.quantity, s.warehouse_id
            )
        })?;
    }
    Ok(Some(sum))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dealbridge_store::CatalogStock;

    fn st(w: &str, q: &str) -> CatalogStock {
        CatalogStock {
            warehouse_id: w.into(),
            quantity: q.into(),
        }
    }

    #[test]
    fn stock_sums_the_counted_warehouses() {
        let all = Resolved {
            price_type: None,
            price_currency: None,
            warehouses: None,
            price_type_missing: None,
        };
        let rows = vec![st("", "10"), st("w1", "3"), st("w2", "4.5")];
        assert_eq!(stock_of(&all, &rows).unwrap(), Some(Decimal::new(75, 1)));
        assert_eq!(stock_of(&all, &[st("", "10")]).unwrap(), Some(Decimal::TEN));
        assert_eq!(stock_of(&all, &[]).unwrap(), None);
        let one = Resolved {
            warehouses: Some(HashSet::from(["w2".to_string()])),
            ..all
        };
        assert_eq!(stock_of(&one, &rows).unwrap(), Some(Decimal::new(45, 1)));
        assert_eq!(
            stock_of(&one, &[st("w1", "3")]).unwrap(),
            Some(Decimal::ZERO)
        );
        assert!(stock_of(&one, &[st("w2", "x")])
            .unwrap_err()
            .contains("not a number"));
    }
}
