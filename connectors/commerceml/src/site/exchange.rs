//! The store-backed side of the 1C exchange endpoint: uploaded files go through the same import
//! as `import-1c`, and orders the engine has synced from a store are offered to 1C until 1C
//! confirms them.

use super::documents::{apply_documents_file, DocumentsReport};
use super::endpoint::ExchangeImporter;
use super::import::{import_files_opts, ImportOptions, ImportRun};
use super::PaymentsQueue;
use crate::ExchangeType;
use async_trait::async_trait;
use dealbridge_sdk::model::Order;
use dealbridge_store::{EntityKind, NewBinding, Store};
use std::path::{Path, PathBuf};
use tracing::info;

/// The system name 1C's records carry in bindings.
pub const SYSTEM_1C: &str = "1c";
/// Most orders offered in one `mode=query` answer; the rest follow in the next exchange.
const EXPORT_BATCH: u32 = 500;
/// Cursor holding the catalog exchange's [`ImportRun`] between `init` and `deactivate`, so a
/// restart of dealbridge in between continues the same run.
const CATALOG_RUN_CURSOR: &str = "onec:catalog_run";

/// [`ExchangeImporter`] over the engine's store.
pub struct StoreImporter {
    store: Store,
    export_stages: Vec<String>,
    /// Per store system: `[payment_methods]` of its flow's mapping.
    payment_methods: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// Woken after an import that changed the catalog, so `[[catalog]]` pushes run at once.
    catalog_changed: Option<std::sync::Arc<tokio::sync::Notify>>,
    /// One catalog exchange at a time touches the run.
    run_lock: tokio::sync::Mutex<()>,
    /// Where payments read from 1C's documents go (the engine's payments jobs).
    payments: std::sync::Arc<dyn PaymentsQueue>,
    /// Quality rules and the deactivation bound.
    options: ImportOptions,
}

impl StoreImporter {
    /// An importer writing to `store`, offering every synced order to 1C, handing payments
    /// from 1C's documents to `payments`.
    pub fn new(store: Store, payments: std::sync::Arc<dyn PaymentsQueue>) -> Self {
        StoreImporter {
            store,
            export_stages: Vec::new(),
            payment_methods: Default::default(),
            catalog_changed: None,
            run_lock: tokio::sync::Mutex::new(()),
            payments,
            options: ImportOptions::default(),
        }
    }

    async fn saved_run(&self) -> Result<Option<ImportRun>, String> {
        let text = self
            .store
            .cursor(CATALOG_RUN_CURSOR)
            .await
            .map_err(|e| format!("cannot read the exchange's import run: {e}"))?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    async fn save_run(&self, run: Option<&ImportRun>) -> Result<(), String> {
        let text = run.map_or_else(String::new, |r| {
            serde_json::to_string(r).expect("run encodes")
        });
        self.store
            .set_cursor(CATALOG_RUN_CURSOR, &text)
            .await
            .map_err(|e| format!("cannot save the exchange's import run: {e}"))
    }

    /// Payment methods are written to 1C as the flows' mappings name them (`[payment_methods]`):
    /// per store system, the method names by the store's payment method id.
    pub fn with_payment_methods(
        mut self,
        methods: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    ) -> Self {
        self.payment_methods = methods;
        self
    }

    /// Check imports against the `[[catalog]]` mappings and bound deactivation as `options`
    /// say (`[exchange_1c] max_deactivate_share`).
    pub fn with_import_options(mut self, options: ImportOptions) -> Self {
        self.options = options;
        self
    }

    /// Notify `wake` after each import that changed the catalog.
    pub fn with_catalog_wake(mut self, wake: std::sync::Arc<tokio::sync::Notify>) -> Self {
        self.catalog_changed = Some(wake);
        self
    }

    /// Offer an order only once its deal is in one of `stages` (`[exchange_1c] export_stages`).
    pub fn with_export_stages(mut self, stages: Vec<String>) -> Self {
        self.export_stages = stages;
        self
    }

    /// Whether the order entity may go to 1C now.
    async fn ready(&self, entity: &str) -> Result<bool, String> {
        if self.export_stages.is_empty() {
            return Ok(true);
        }
        let deals = self
            .store
            .bindings_for(EntityKind::Deal, entity)
            .await
            .map_err(|e| format!("cannot read the deal of {entity}: {e}"))?;
        Ok(deals.iter().any(|b| {
            b.snapshot
                .as_ref()
                .and_then(|s| s.get("stage"))
                .and_then(|s| s.as_str())
                .is_some_and(|stage| self.export_stages.iter().any(|w| w == stage))
        }))
    }
}

#[async_trait]
impl ExchangeImporter for StoreImporter {
    async fn begin_exchange(
        &self,
        exchange_type: ExchangeType,
        version: Option<&str>,
    ) -> Result<(), String> {
        if exchange_type != ExchangeType::Catalog {
            return Ok(());
        }
        let _held = self.run_lock.lock().await;
        // An exchange that never reached `deactivate` leaves its scratch list: drop it.
        if let Some(old) = self.saved_run().await? {
            old.abandon(&self.store)
                .await
                .map_err(|e| format!("cannot drop the previous exchange's import run: {e}"))?;
        }
        // Old 1C modules send no version and never ask to deactivate: each full file then
        // deactivates what it does not list, as they expect.
        let run = match version {
            Some(_) => Some(
                ImportRun::begin(&self.store, SYSTEM_1C)
                    .await
                    .map_err(|e| format!("cannot start the import run: {e}"))?,
            ),
            None => None,
        };
        self.save_run(run.as_ref()).await
    }

    async fn finish_exchange(&self, exchange_type: ExchangeType) -> Result<String, String> {
        if exchange_type != ExchangeType::Catalog {
            return Ok("nothing to deactivate".to_string());
        }
        let _held = self.run_lock.lock().await;
        let Some(run) = self.saved_run().await? else {
            return Ok("nothing to deactivate".to_string());
        };
        let done = run
            .finish(&self.store, SYSTEM_1C, self.options.max_deactivate_share)
            .await
            .map_err(|e| format!("deactivation failed: {e}"))?;
        self.save_run(None).await?;
        if let Some(held) = &done.held {
            tracing::warn!(
                products = held.products,
                offers = held.offers,
                "1C exchange: deactivation held (more than max_deactivate_share)"
            );
            return Ok(format!(
                "deactivation held: {} products, {} offers (more than max_deactivate_share)",
                held.products, held.offers
            ));
        }
        let (products, offers) = (done.products, done.offers);
        if products + offers > 0 {
            if let Some(wake) = &self.catalog_changed {
                wake.notify_one();
            }
        }
        info!(
            products,
            offers, "1C exchange: deactivated what its full files did not list"
        );
        Ok(format!("deactivated {products} products, {offers} offers"))
    }

    async fn import_file(
        &self,
        exchange_type: ExchangeType,
        path: &Path,
    ) -> Result<String, String> {
        let files = [PathBuf::from(path)];
        // Held for the whole import: files of one exchange join its run one after another.
        let _held = self.run_lock.lock().await;
        let run = if exchange_type == ExchangeType::Catalog {
            self.saved_run().await?
        } else {
            None
        };
        let report = match run {
            // New protocol: the file joins the exchange's run; deactivation waits for
            // `mode=deactivate`.
            Some(mut run) => {
                let report = run
                    .import_opts(&self.store, SYSTEM_1C, &files, &self.options, &|_| {})
                    .await
                    .map_err(|e| format!("import of {} failed: {e}", path.display()))?;
                self.save_run(Some(&run)).await?;
                super::record::journal_import(&self.store, SYSTEM_1C, &run.id, &report)
                    .await
                    .map_err(|e| format!("cannot journal the import of {}: {e}", path.display()))?;
                report
            }
            None => import_files_opts(&self.store, SYSTEM_1C, &files, &self.options, &|_| {})
                .await
                .map_err(|e| format!("import of {} failed: {e}", path.display()))?,
        };
        if report.catalog.written() > 0 {
            if let Some(wake) = &self.catalog_changed {
                wake.notify_one();
            }
        }
        let docs = if report.documents > 0 {
            apply_documents_file(&self.store, path, self.payments.as_ref()).await?
        } else {
            DocumentsReport::default()
        };
        let c = &report.catalog;
        let findings: u64 = report.quality.findings.iter().map(|f| f.count).sum();
        let summary = format!(
            "{exchange_type}: products {}+{}~{}, offers {}+{}~{}, documents {} ({} matched, {} unmatched), payments {}, quality findings {findings}",
            c.products.inserted,
            c.products.updated,
            c.products.unchanged,
            c.offers.inserted,
            c.offers.updated,
            c.offers.unchanged,
            report.documents,
            docs.matched,
            docs.unmatched,
            docs.payments
        );
        info!(file = %path.display(), %summary, "1C file imported");
        Ok(summary)
    }

    async fn file_imported(&self, file: &super::endpoint::ImportedFile<'_>) {
        super::exchange_journal::journal_file(&self.store, file).await;
    }

    async fn orders_for_export(&self) -> Result<Vec<Order>, String> {
        let limit = if self.export_stages.is_empty() {
            EXPORT_BATCH
        } else {
            u32::MAX // filtered below; the batch bound applies to what passes
        };
        let bindings = self
            .store
            .unmirrored(EntityKind::Order, SYSTEM_1C, EntityKind::OrderExport, limit)
            .await
            .map_err(|e| format!("cannot read orders for 1C: {e}"))?;
        let mut ready = Vec::new();
        for b in bindings {
            if ready.len() >= EXPORT_BATCH as usize {
                break;
            }
            if self.ready(&b.entity_id).await? {
                ready.push(b);
            }
        }
        ready
            .into_iter()
            .filter_map(|b| b.snapshot)
            .map(|s| {
                let mut order = serde_json::from_value::<Order>(s)
                    .map_err(|e| format!("a stored order cannot be read back: {e}"))?;
                if let (Some(methods), Some(m)) = (
                    self.payment_methods.get(&order.source.system),
                    order.payment_method.as_mut(),
                ) {
                    if let Some(name) = methods.get(m.as_str()) {
                        *m = name.clone();
                    }
                }
                Ok(order)
            })
            .collect()
    }

    async fn mark_exported(&self, ids: &[String]) -> Result<(), String> {
        // The ids are the orders' ids in their source system; find each order's entity again
        // among the orders not yet exported (the set 1C was just sent).
        let pending = self
            .store
            .unmirrored(
                EntityKind::Order,
                SYSTEM_1C,
                EntityKind::OrderExport,
                u32::MAX,
            )
            .await
            .map_err(|e| format!("cannot read orders for 1C: {e}"))?;
        for id in ids {
            let Some(b) = pending.iter().find(|b| &b.external_id == id) else {
                continue; // already marked by an earlier success: nothing to do
            };
            let number = b
                .snapshot
                .as_ref()
                .and_then(|s| s.get("number"))
                .and_then(|n| n.as_str())
                .unwrap_or(id)
                .to_string();
            self.store
                .save_binding(&NewBinding {
                    system: SYSTEM_1C,
                    kind: EntityKind::OrderExport,
                    entity_id: &b.entity_id,
                    external_id: &number,
                    snapshot: None,
                })
                .await
                .map_err(|e| format!("cannot mark order {id} exported: {e}"))?;
        }
        Ok(())
    }
}

/// The site's order statuses for 1C's `mode=info` (id, name), named as a store's admin shows
/// them (`on-hold` → `On hold`).
pub fn info_statuses(statuses: &[&str]) -> Vec<(String, String)> {
    statuses
        .iter()
        .map(|id| {
            let words = id.replace(['-', '_'], " ");
            let mut name = words.clone();
            if let Some(first) = words.chars().next() {
                name = first.to_uppercase().collect::<String>() + &words[first.len_utf8()..];
            }
            (id.to_string(), name)
        })
        .collect()
}
