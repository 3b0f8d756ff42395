//! Cron jobs of `dealbridge run` (`[schedule.<name>]`): at each fire time, poll the job's flows
//! (a full re-read by default) so what changed is queued; the engine's workers write it.
//!
//! With several engine processes on one PostgreSQL database, each fire time runs once: the run
//! holds a named lock (`schedule:<name>`, a PostgreSQL advisory lock), and the fire time it ran
//! for is saved as a cursor before the lock is released, so a process that takes the lock a
//! moment later sees the run is done and skips it. A run missed while no engine was up runs once
//! at start when the job says `catch_up = true`. A run that fails is tried again for the same
//! fire time, after a growing pause, by the engine's supervisor (`sync::loops`).

use super::poll::OrderFlow;
use super::pull::DealPullFlow;
use super::SyncError;
use crate::config::ScheduleConfig;
use chrono::{DateTime, Utc};
use dealbridge_store::EntityKind;
use dealbridge_store::{JournalEntry, Store};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tracing::info;

/// One scheduled job with what it runs.
pub struct ScheduledJob {
    /// Its config.
    pub config: ScheduleConfig,
    /// The store → CRM flows it polls.
    pub flows: Vec<Arc<OrderFlow>>,
    /// The CRM → store polls it runs.
    pub pulls: Vec<Arc<DealPullFlow>>,
    /// The 1C catalog pushes it runs (the nightly catalog).
    pub catalogs: Vec<Arc<super::catalog::CatalogFlow>>,
    /// Its reconciliation over its order flows, when it says `reconcile = true`.
    pub reconciler: Option<super::reconcile::Reconciler>,
}

/// What [`ScheduledJob::wait_next`] waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextFire {
    /// This fire time came.
    At(DateTime<Utc>),
    /// Shutdown came first.
    Stopped,
    /// The schedule has no further fire time.
    Never,
}

/// What [`ScheduledJob::fire`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// This process ran it.
    Ran,
    /// Another process holds the lock or already ran this fire time.
    RanElsewhere,
}

impl ScheduledJob {
    fn cursor(&self) -> String {
        format!("schedule:{}:last_run", self.config.name)
    }

    async fn last_run(&self, store: &Store) -> Result<Option<DateTime<Utc>>, SyncError> {
        Ok(store
            .cursor(&self.cursor())
            .await?
            .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
            .map(|c| c.with_timezone(&Utc)))
    }

    /// Runs the job for fire time `at`, unless another process runs or ran it.
    pub async fn fire(&self, store: &Store, at: DateTime<Utc>) -> Result<Fired, SyncError> {
        let name = &self.config.name;
        let Some(lock) = store.try_lock(&format!("schedule:{name}")).await? else {
            info!(job = %name, at = %at, "another engine is running this job");
            return Ok(Fired::RanElsewhere);
        };
        let result = self.fire_locked(store, at).await;
        lock.release().await?;
        result
    }

    async fn fire_locked(&self, store: &Store, at: DateTime<Utc>) -> Result<Fired, SyncError> {
        let name = &self.config.name;
        if self.last_run(store).await?.is_some_and(|last| last >= at) {
            info!(job = %name, at = %at, "already ran for this time");
            return Ok(Fired::RanElsewhere);
        }
        info!(job = %name, at = %at, full = self.config.full, "scheduled run starts");
        let mut queued = 0;
        let mut seen = 0;
        for flow in &self.flows {
            let r = flow.poll(store, self.config.full).await?;
            queued += r.queued + r.coalesced;
            seen += r.seen;
        }
        for pull in &self.pulls {
            let r = pull.poll(store, self.config.full).await?;
            queued += r.queued + r.coalesced;
            seen += r.seen;
        }
        let mut pushed = 0;
        for catalog in &self.catalogs {
            let r = catalog.run(store, self.config.full).await?;
            seen += r.entries;
            pushed += r.crm_created + r.crm_updated + r.crm_adopted + r.store_updated;
        }
        let reconciled = self.reconcile().await?;
        store.set_cursor(&self.cursor(), &at.to_rfc3339()).await?;
        let detail = format!(
            "for {}: read {seen}, queued {queued}, catalog items written {pushed}{reconciled}",
            at.to_rfc3339()
        );
        store
            .journal(&JournalEntry {
                kind: EntityKind::Schedule,
                entity_id: name,
                system: "engine",
                action: "ran",
                external_id: None,
                job_id: None,
                detail: Some(&detail),
            })
            .await?;
        info!(job = %name, seen, queued, "scheduled run done");
        Ok(Fired::Ran)
    }

    /// The schedule's reconciliation, if it has one; what it found, for the run's journal line.
    async fn reconcile(&self) -> Result<String, SyncError> {
        let (Some(reconciler), Some(rc)) = (&self.reconciler, self.config.reconcile) else {
            return Ok(String::new());
        };
        let window = chrono::Duration::from_std(rc.since).unwrap_or(chrono::Duration::days(30));
        let report = reconciler.run(None, Utc::now() - window, rc.fix).await?;
        Ok(format!(
            ", reconcile: {} difference(s) over {} order(s), {} fix job(s) queued",
            report.differences.len(),
            report.checked.orders,
            report.fixes_queued
        ))
    }

    /// At start: runs the fire time missed while no engine was up, when the job says
    /// `catch_up = true`; on a first start, records when watching began (so a run missed from
    /// now on can be caught up after a restart).
    pub async fn catch_up(&self, store: &Store) -> Result<(), SyncError> {
        let name = &self.config.name;
        match self.last_run(store).await? {
            Some(last) if self.config.catch_up => {
                if let Some(missed) = self.config.missed_since(last, Utc::now()) {
                    info!(job = %name, missed = %missed, "catching up a run missed while down");
                    self.fire(store, missed).await?;
                }
            }
            None => {
                store
                    .set_cursor(&self.cursor(), &Utc::now().to_rfc3339())
                    .await?
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// Waits for the next fire time, or for `stop`, whichever comes first.
    pub async fn wait_next(&self, stop: &CancellationToken) -> NextFire {
        let Some(next) = self.config.next_after(Utc::now()) else {
            info!(job = %self.config.name, "the schedule has no further fire time");
            return NextFire::Never;
        };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = stop.cancelled() => NextFire::Stopped,
            _ = tokio::time::sleep(wait) => NextFire::At(next),
        }
    }
}
