//! The 1C exchange, journaled: wraps the endpoint's importer so that each step's outcome is a
//! journal line (kind `exchange_1c`, id the exchange type): every failure (`failed`, with the
//! reason 1C was given), and the steps whose success means the exchange works again (the
//! exchange finished, orders confirmed). Files are journaled by the importer itself
//! (`exchange_journal`: one line per file, `imported` or `failed`). The `exchange_1c_failed` rule reads the
//! latest line of each type; the console's Activity page shows them all.

use super::observe::EXCHANGE_FAILED;
use crate::connectors::commerceml::ExchangeType;
use crate::onec::endpoint::ExchangeImporter;
use async_trait::async_trait;
use dealbridge_sdk::model::Order;
use dealbridge_store::{EntityKind, JournalEntry, Store};
use std::path::Path;
use std::sync::Arc;
use tracing::warn;

/// An [`ExchangeImporter`] that journals what `inner` did.
pub struct JournaledImporter {
    inner: Arc<dyn ExchangeImporter>,
    store: Store,
}

impl JournaledImporter {
    /// Journals `inner`'s outcomes in `store`.
    pub fn new(inner: Arc<dyn ExchangeImporter>, store: Store) -> Self {
        JournaledImporter { inner, store }
    }

    /// Journals a step's outcome: always a failure; a success only when `success` names its
    /// action. A journal that cannot be written is logged, never fails the exchange.
    async fn record<T>(
        &self,
        exchange: ExchangeType,
        step: &str,
        result: &Result<T, String>,
        success: Option<(&str, String)>,
    ) {
        let (action, detail) = match (result, success) {
            (Err(reason), _) => (EXCHANGE_FAILED, format!("{step}: {reason}")),
            (Ok(_), Some((action, detail))) => (action, detail),
            (Ok(_), None) => return,
        };
        let kind = exchange.to_string();
        let entry = JournalEntry {
            kind: EntityKind::Exchange1c,
            entity_id: &kind,
            system: crate::onec::exchange::SYSTEM_1C,
            action,
            external_id: None,
            job_id: None,
            detail: Some(&detail),
        };
        if let Err(e) = self.store.journal(&entry).await {
            warn!(exchange = %kind, action, error = %e, "cannot journal a 1C exchange step");
        }
    }
}

#[async_trait]
impl ExchangeImporter for JournaledImporter {
    /// Not journaled here: the store's importer journals each file itself, with its session,
    /// time and counts or error (`exchange_journal`), in the same `exchange_1c` lines the
    /// `exchange_1c_failed` rule reads.
    async fn import_file(
        &self,
        exchange_type: ExchangeType,
        path: &Path,
    ) -> Result<String, String> {
        self.inner.import_file(exchange_type, path).await
    }

    async fn file_imported(&self, file: &crate::onec::endpoint::ImportedFile<'_>) {
        self.inner.file_imported(file).await;
    }

    async fn orders_for_export(&self) -> Result<Vec<Order>, String> {
        let result = self.inner.orders_for_export().await;
        self.record(ExchangeType::Sale, "listing orders for 1C", &result, None)
            .await;
        result
    }

    async fn mark_exported(&self, ids: &[String]) -> Result<(), String> {
        let result = self.inner.mark_exported(ids).await;
        let done = format!("{} orders confirmed by 1C", ids.len());
        self.record(
            ExchangeType::Sale,
            "confirming orders",
            &result,
            Some(("confirmed", done)),
        )
        .await;
        result
    }

    async fn begin_exchange(
        &self,
        exchange_type: ExchangeType,
        version: Option<&str>,
    ) -> Result<(), String> {
        let result = self.inner.begin_exchange(exchange_type, version).await;
        self.record(exchange_type, "starting the exchange", &result, None)
            .await;
        result
    }

    async fn finish_exchange(&self, exchange_type: ExchangeType) -> Result<String, String> {
        let result = self.inner.finish_exchange(exchange_type).await;
        let done = result.clone().unwrap_or_default();
        self.record(
            exchange_type,
            "finishing the exchange",
            &result,
            Some(("finished", done)),
        )
        .await;
        result
    }
}
