//! The engine: flows, workers and their schedule.
//!
//! `sync` runs each flow's poll once and then drains the queue, waiting out backoff delays,
//! until no work is left. `run` polls every `poll_interval` and keeps workers going until
//! shutdown; on shutdown a worker finishes the job it holds (so its lease is released by
//! completing or failing it) and takes no new one.

use super::catalog::{CatalogFlow, CatalogReport, ItemSource};
use super::inbox::{process_inbox, InboxReport};
use super::poll::{OrderFlow, PollReport};
use super::pull::DealPullFlow;
use super::schedule::ScheduledJob;
use super::worker::{Executor, JobOutcome};
use super::SyncError;
use dealbridge_store::Store;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// Timing and concurrency of the engine.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Worker tasks.
    pub workers: usize,
    /// Lease on a claimed job; a crashed worker's job is taken again after this.
    pub lease: Duration,
    /// Time between poll passes in `run`.
    pub poll_interval: Duration,
    /// Longest a worker sleeps when the queue is empty.
    pub idle: Duration,
    /// How long done, dropped and dead jobs stay queryable before `run` purges them.
    pub retention: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            workers: 2,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(30),
            idle: Duration::from_millis(500),
            retention: Duration::from_secs(14 * 86_400),
        }
    }
}

/// Counts of job outcomes, shared by the workers.
#[derive(Debug, Default)]
pub struct Tally {
    created: AtomicU64,
    written: AtomicU64,
    unchanged: AtomicU64,
    retried: AtomicU64,
    dead: AtomicU64,
}

/// A point-in-time copy of a [`Tally`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TallySnapshot {
    /// Records created.
    pub created: u64,
    /// Records updated.
    pub updated: u64,
    /// Jobs with nothing to change.
    pub unchanged: u64,
    /// Failed attempts retried.
    pub retried: u64,
    /// Jobs dead-lettered.
    pub dead: u64,
}

impl TallySnapshot {
    /// Jobs finished one way or another (retries not counted).
    pub fn finished(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.dead
    }
}

impl Tally {
    /// The counts now (for a progress bar).
    pub fn snapshot(&self) -> TallySnapshot {
        TallySnapshot {
            created: self.created.load(Ordering::Relaxed),
            updated: self.written.load(Ordering::Relaxed),
            unchanged: self.unchanged.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            dead: self.dead.load(Ordering::Relaxed),
        }
    }
}

/// What a `sync` did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SyncSummary {
    /// Webhook deliveries handled from the inbox.
    pub inbox: InboxReport,
    /// Per flow: name and poll report.
    pub polls: Vec<(String, PollReport)>,
    /// Per catalog: what it pushed.
    pub catalogs: Vec<CatalogReport>,
    /// Records created or updated (`created` + `updated`).
    pub written: u64,
    /// Records created.
    pub created: u64,
    /// Records updated (two-way: the store, the CRM or both written for one pair).
    pub updated: u64,
    /// Conflicts found in this pass (both systems changed a field), decided or held.
    pub conflicts: u64,
    /// Jobs that found nothing to change.
    pub unchanged: u64,
    /// Failed attempts that will be (or were) retried.
    pub retried: u64,
    /// Jobs that went to the dead letter in this pass.
    pub dead: u64,
}

/// Flows + executor + settings.
pub struct Engine {
    /// The store.
    pub store: Store,
    /// Order flows.
    pub flows: Vec<Arc<OrderFlow>>,
    /// CRM → store polls of two-way pairs.
    pub pulls: Vec<Arc<DealPullFlow>>,
    /// Cron jobs (`[schedule.<name>]`), run by [`Engine::run`].
    pub schedules: Vec<Arc<ScheduledJob>>,
    /// 1C catalog pushes (`[[catalog]]`): run by `sync` and by schedules.
    pub catalogs: Vec<Arc<CatalogFlow>>,
    /// Runs jobs.
    pub executor: Arc<Executor>,
    /// Settings.
    pub settings: EngineSettings,
    /// Job outcome counts since start.
    pub tally: Arc<Tally>,
    /// Woken by the webhook receiver when a delivery lands in the inbox.
    pub inbox_wake: Arc<Notify>,
    /// Woken by the 1C exchange after an import that changed the catalog: the `[[catalog]]`
    /// pushes run at once ("on every exchange"), not only on their schedule.
    pub catalog_wake: Arc<Notify>,
}

impl Engine {
    /// One pass: poll the selected flows (all when `only` is `None`), then run every queued job
    /// to done or dead.
    pub async fn sync_once(
        &self,
        only: Option<&str>,
        full: bool,
    ) -> Result<SyncSummary, SyncError> {
        // Every waiting delivery, not just one pass's worth.
        let mut inbox = InboxReport::default();
        loop {
            let pass = process_inbox(&self.store, &self.flows, &self.pulls).await?;
            inbox.add(&pass);
            if !pass.more {
                break;
            }
        }
        let mut summary = SyncSummary {
            inbox,
            ..SyncSummary::default()
        };
        for flow in self
            .flows
            .iter()
            .filter(|f| only.is_none_or(|n| n == f.name))
        {
            let report = flow.poll(&self.store, full).await?;
            summary.polls.push((flow.name.clone(), report));
        }
        for pull in self
            .pulls
            .iter()
            .filter(|f| only.is_none_or(|n| n == f.name || n == f.forward))
        {
            let report = pull.poll(&self.store, full).await?;
            summary.polls.push((pull.name.clone(), report));
        }
        for catalog in self
            .catalogs
            .iter()
            .filter(|c| only.is_none_or(|n| n == c.name))
        {
            summary.catalogs.push(catalog.run(&self.store, full).await?);
        }
        let conflicts_before = self.store.conflict_count().await?;
        let before = self.tally.snapshot();
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        for n in 0..self.settings.workers.max(1) {
            let worker = self.worker_ctx();
            let id = format!("sync-{}-{n}", std::process::id());
            let stop = stop.clone();
            tasks.push(tokio::spawn(
                async move { worker.run(id, stop, true).await },
            ));
        }
        for t in tasks {
            t.await.expect("worker task panicked")?;
        }
        let after = self.tally.snapshot();
        summary.created = after.created - before.created;
        summary.updated = after.updated - before.updated;
        summary.written = summary.created + summary.updated;
        summary.unchanged = after.unchanged - before.unchanged;
        summary.retried = after.retried - before.retried;
        summary.dead = after.dead - before.dead;
        summary.conflicts =
            u64::try_from(self.store.conflict_count().await? - conflicts_before).unwrap_or(0);
        Ok(summary)
    }

    /// Polls every flow each `poll_interval` and runs workers, until `shutdown` is cancelled.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> Result<(), SyncError> {
        let mut tasks = Vec::new();
        for n in 0..self.settings.workers.max(1) {
            let worker = self.worker_ctx();
            let id = format!("run-{}-{n}", std::process::id());
            let stop = shutdown.clone();
            tasks.push(tokio::spawn(
                async move { worker.run(id, stop, false).await },
            ));
        }
        for flow in &self.flows {
            let flow = flow.clone();
            let store = self.store.clone();
            let stop = shutdown.clone();
            let interval = self.settings.poll_interval;
            tasks.push(tokio::spawn(async move {
                loop {
                    if let Err(e) = flow.poll(&store, false).await {
                        error!(flow = %flow.name, error = %error_chain(&e), "poll failed");
                    }
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(interval) => {}
                    }
                }
                Ok(())
            }));
        }
        for job in &self.schedules {
            let job = job.clone();
            let store = self.store.clone();
            let stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                job.run(store, stop).await;
                Ok(())
            }));
        }
        // Only the 1C catalogs follow an exchange; a store's own catalog runs with `sync` and
        // on its schedule.
        let onec_catalogs: Vec<Arc<CatalogFlow>> = self
            .catalogs
            .iter()
            .filter(|c| matches!(c.source, ItemSource::OneC))
            .cloned()
            .collect();
        if !onec_catalogs.is_empty() {
            let catalogs = onec_catalogs;
            let store = self.store.clone();
            let wake = self.catalog_wake.clone();
            let stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = wake.notified() => {}
                    }
                    for c in &catalogs {
                        // One run at a time across processes sharing the database.
                        let lock = match store.try_lock(&format!("catalog:{}", c.name)).await {
                            Ok(Some(l)) => l,
                            Ok(None) => continue,
                            Err(e) => {
                                error!(catalog = %c.name, error = %error_chain(&e), "cannot take the catalog lock");
                                continue;
                            }
                        };
                        match c.run(&store, false).await {
                            Ok(r) => info!(catalog = %c.name, created = r.crm_created, updated = r.crm_updated, store_updated = r.store_updated, "catalog pushed after a 1C exchange"),
                            Err(e) => error!(catalog = %c.name, error = %error_chain(&e), "catalog push after a 1C exchange failed; the next run retries"),
                        }
                        if let Err(e) = lock.release().await {
                            error!(error = %error_chain(&e), "cannot release the catalog lock");
                        }
                    }
                }
                Ok(())
            }));
        }
        for pull in &self.pulls {
            let pull = pull.clone();
            let store = self.store.clone();
            let stop = shutdown.clone();
            let interval = self.settings.poll_interval;
            tasks.push(tokio::spawn(async move {
                loop {
                    if let Err(e) = pull.poll(&store, false).await {
                        error!(flow = %pull.name, error = %error_chain(&e), "deal poll failed");
                    }
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(interval) => {}
                    }
                }
                Ok(())
            }));
        }
        {
            // Webhook deliveries: handled as soon as the receiver wakes us, and every few
            // seconds anyway (a delivery deferred by a failing source is retried that way).
            let store = self.store.clone();
            let flows = self.flows.clone();
            let pulls = self.pulls.clone();
            let wake = self.inbox_wake.clone();
            let stop = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    // Deliveries left waiting (a source failing, a record not ready yet) are
                    // tried again after a second; otherwise every five.
                    let pause = match process_inbox(&store, &flows, &pulls).await {
                        // A backlog (a flood of deliveries, or a restart after one) goes on at
                        // once; deliveries set aside are tried when they are due.
                        Ok(r) => r.pause(Duration::from_secs(5)),
                        Err(e) => {
                            error!(error = %error_chain(&e), "inbox pass failed");
                            Duration::from_secs(5)
                        }
                    };
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
                Ok(())
            }));
        }
        {
            // Retention: finished jobs stay queryable for `retention`, then go. Hourly is plenty.
            let queue = self.store.queue();
            let stop = shutdown.clone();
            let retention = self.settings.retention;
            tasks.push(tokio::spawn(async move {
                loop {
                    match queue.purge(retention).await {
                        Ok(0) => {}
                        Ok(n) => info!(purged = n, "purged finished jobs past retention"),
                        Err(e) => error!(error = %error_chain(&e), "purge failed"),
                    }
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
                    }
                }
                Ok(())
            }));
        }
        for t in tasks {
            if let Err(e) = t.await.expect("engine task panicked") {
                error!(error = %error_chain(&e), "engine task failed");
            }
        }
        info!("engine stopped");
        Ok(())
    }

    fn worker_ctx(&self) -> Worker {
        Worker {
            store: self.store.clone(),
            executor: self.executor.clone(),
            tally: self.tally.clone(),
            settings: self.settings.clone(),
        }
    }
}

/// What one worker task owns.
struct Worker {
    store: Store,
    executor: Arc<Executor>,
    tally: Arc<Tally>,
    settings: EngineSettings,
}

impl Worker {
    /// The worker loop. With `drain`, it returns once no pending or running work is left;
    /// otherwise it runs until `stop`.
    async fn run(&self, id: String, stop: CancellationToken, drain: bool) -> Result<(), SyncError> {
        let queue = self.store.queue();
        loop {
            if stop.is_cancelled() {
                return Ok(());
            }
            let jobs = queue.claim(&id, self.settings.lease, 1).await?;
            if let Some(job) = jobs.into_iter().next() {
                // Not raced against `stop`: a job in hand is finished, so its lease ends cleanly.
                match self.executor.execute(&job).await? {
                    JobOutcome::Created => self.tally.created.fetch_add(1, Ordering::Relaxed),
                    JobOutcome::Written => self.tally.written.fetch_add(1, Ordering::Relaxed),
                    JobOutcome::Unchanged => self.tally.unchanged.fetch_add(1, Ordering::Relaxed),
                    JobOutcome::Retrying => self.tally.retried.fetch_add(1, Ordering::Relaxed),
                    JobOutcome::Dead => self.tally.dead.fetch_add(1, Ordering::Relaxed),
                };
                continue;
            }
            if drain && queue.pending_count().await? == 0 {
                return Ok(());
            }
            // Sleep until the next job is due (a backoff), but no longer than `idle`, so new
            // work and expired leases are noticed soon.
            let wait = match queue.next_due().await? {
                Some(at) => (at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(self.settings.idle),
                None => self.settings.idle,
            }
            .max(Duration::from_millis(20));
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// An error with its causes, `a: b: c`, for one log line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
