//! `dealbridge reconcile`: proof that the store and the CRM agree, and the fixes where they do
//! not (issue 12).
//!
//! Webhooks get lost and people edit deals behind the integration's back, so the snapshots the
//! engine keeps say what it *wrote*, not what the CRM *holds*. Reconcile reads both systems over
//! a window, compares them through the same mapping the worker writes with, and reports each
//! difference once with the fix it proposes. `--fix` hands the fixes to the normal queue and
//! decide step (nothing is written here), so ownership rules and `manual` conflicts apply to a
//! fix exactly as to any other change.
//!
//! - [`difference`]: what a difference is (kind, both values, the fix) and the report.
//! - [`compare`]: one order against its deal(s), pure.
//! - [`orders`]: reads an order flow's two sides in pages and feeds [`compare`].
//! - [`catalog`]: a catalog flow's wanted items against the CRM's products.
//! - [`store_prices`]: a catalog flow's wanted prices and stock against the store's, by SKU.
//! - [`fix`]: queues the proposed fixes.

pub mod catalog;
pub mod compare;
pub mod difference;
pub mod fix;
pub mod orders;
pub mod store_prices;

pub use difference::{CatalogTarget, Checked, Difference, DifferenceKind, FixAction, Report};

use super::catalog::CatalogFlow;
use super::engine::Engine;
use super::poll::OrderFlow;
use super::pull::DealPullFlow;
use super::worker::Executor;
use super::SyncError;
use chrono::{DateTime, Utc};
use dealbridge_store::{EntityKind, JournalEntry, Store};
use std::sync::Arc;
use tracing::info;

/// Most differences a run's journal entry keeps (the counts are always whole).
const JOURNALED_DIFFERENCES: usize = 200;

/// What a reconciliation needs of the engine: the orders' flows, the CRM → store polls (a
/// two-way fix goes through them), the clients and the queue. Cheap to clone; a schedule holds
/// one.
#[derive(Clone)]
pub struct Reconciler {
    /// The state database (bindings, queue, journal).
    pub store: Store,
    /// The clients and the flows' planners.
    pub executor: Arc<Executor>,
    /// The store → CRM flows.
    pub flows: Vec<Arc<OrderFlow>>,
    /// The CRM → store polls of two-way pairs.
    pub pulls: Vec<Arc<DealPullFlow>>,
    /// The catalog flows.
    pub catalogs: Vec<Arc<CatalogFlow>>,
}

impl Reconciler {
    /// Compares the selected order flows (all when `only` is `None`) over what changed since
    /// `since`; with `fix`, queues the fixes (`sync` or a running engine applies them). The run
    /// is journalled (`reconcile` entries: counts, and the differences up to a bound).
    pub async fn run(
        &self,
        only: Option<&str>,
        since: DateTime<Utc>,
        fix: bool,
    ) -> Result<Report, SyncError> {
        let mut report = Report::default();
        for flow in self
            .flows
            .iter()
            .filter(|f| only.is_none_or(|n| n == f.name))
        {
            let found = self.reconcile_flow(flow, since).await?;
            if fix {
                report.fixes_queued += self.queue_fixes(flow, &found).await?;
            }
            report.add(found.report, found.differences);
        }
        for catalog in self
            .catalogs
            .iter()
            .filter(|c| only.is_none_or(|n| n == c.name))
        {
            if catalog.crm.is_some() {
                let found = self.reconcile_catalog(catalog).await?;
                if fix {
                    report.fixes_queued += self.queue_catalog_fixes(catalog, &found).await?;
                }
                report.checked.reads += found.report.reads;
                report.differences.extend(found.differences);
                report.catalogs.push(found.report);
            }
            if catalog.store.is_some() {
                let found = self.reconcile_store_prices(catalog).await?;
                if fix {
                    report.fixes_queued += self.queue_store_price_fixes(catalog, &found).await?;
                }
                report.checked.reads += found.report.reads;
                report.differences.extend(found.differences);
                report.catalogs.push(found.report);
            }
        }
        self.journal(&report, only, since).await?;
        info!(
            differences = report.differences.len(),
            orders = report.checked.orders,
            deals = report.checked.deals,
            fixes_queued = report.fixes_queued,
            "reconcile done"
        );
        Ok(report)
    }

    async fn journal(
        &self,
        report: &Report,
        only: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<(), SyncError> {
        let mut kept = report.clone();
        kept.differences.truncate(JOURNALED_DIFFERENCES);
        let detail = serde_json::json!({
            "since": since.to_rfc3339(),
            "differences_total": report.differences.len(),
            "report": kept,
        })
        .to_string();
        self.store
            .journal(&JournalEntry {
                kind: EntityKind::Reconcile,
                entity_id: only.unwrap_or("all"),
                system: "engine",
                action: if report.agrees() { "agree" } else { "differ" },
                external_id: None,
                job_id: None,
                detail: Some(&detail),
            })
            .await?;
        Ok(())
    }
}

impl Engine {
    /// What [`Reconciler`] needs, taken from this engine.
    pub fn reconciler(&self) -> Reconciler {
        Reconciler {
            store: self.store.clone(),
            executor: self.executor.clone(),
            flows: self.flows.clone(),
            pulls: self.pulls.clone(),
            catalogs: self.catalogs.clone(),
        }
    }

    /// See [`Reconciler::run`].
    pub async fn reconcile(
        &self,
        only: Option<&str>,
        since: DateTime<Utc>,
        fix: bool,
    ) -> Result<Report, SyncError> {
        self.reconciler().run(only, since, fix).await
    }
}
