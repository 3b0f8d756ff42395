//! The engine: flows, workers and their schedule.
//!
//! `sync` runs each flow's poll once and then drains the queue, waiting out backoff delays,
//! until no work is left. `run` polls every `poll_interval` and keeps workers going until
//! shutdown, every loop supervised ([`super::supervisor`], [`super::loops`]); on shutdown a
//! worker finishes the job it holds (so its lease is released by completing or failing it) and
//! takes no new one.

use super::catalog::{CatalogFlow, CatalogReport, ItemSource};
use super::inbox::{process_inbox, InboxReport};
use super::loops;
use super::poll::{OrderFlow, PollReport};
use super::pull::DealPullFlow;
use super::queue_worker::Worker;
use super::schedule::ScheduledJob;
use super::supervisor::{Backoff, Health, Supervision, DEFAULT_UNHEALTHY_AFTER};
use super::worker::Executor;
use super::SyncError;
use dealbridge_store::Store;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
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
    /// How long a background loop of `run` may keep failing before `/healthz` answers 503.
    pub unhealthy_after: Duration,
    /// Pauses of a failing loop of `run` (and of a draining worker of `sync` before it gives
    /// up): 1 s doubling to 30 s by default.
    pub loop_backoff: Backoff,
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            workers: 2,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(30),
            idle: Duration::from_millis(500),
            retention: Duration::from_secs(14 * 86_400),
            unhealthy_after: DEFAULT_UNHEALTHY_AFTER,
            loop_backoff: Backoff::default(),
        }
    }
}

/// Counts of job outcomes, shared by the workers.
#[derive(Debug, Default)]
pub struct Tally {
    pub(super) created: AtomicU64,
    pub(super) written: AtomicU64,
    pub(super) unchanged: AtomicU64,
    pub(super) retried: AtomicU64,
    pub(super) dead: AtomicU64,
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
    /// What each background loop of [`Engine::run`] last did; the server reads it for
    /// `/healthz` and `/status`.
    pub health: Arc<Health>,
    /// The alert rules' evaluator (`[alerts]`), run by [`Engine::run`] as the `alerts` loop.
    pub alerts: Option<Arc<crate::alerts::evaluator::Evaluator>>,
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
        self.drain_queue().await?;
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

    /// Drains the queue with `workers` tasks, for `sync`. A store error a worker cannot get past
    /// in a few tries ends the pass with that error (see [`Worker::drain`]); the other workers
    /// finish what they can first.
    async fn drain_queue(&self) -> Result<(), SyncError> {
        let stop = CancellationToken::new();
        let backoff = self.settings.loop_backoff;
        let mut tasks = Vec::new();
        for n in 0..self.settings.workers.max(1) {
            let worker = self.worker(format!("sync-{}-{n}", std::process::id()));
            let stop = stop.clone();
            tasks.push(tokio::spawn(
                async move { worker.drain(&stop, backoff).await },
            ));
        }
        let mut result = Ok(());
        for t in tasks {
            let done = t.await.expect("worker task panicked");
            if result.is_ok() {
                result = done;
            }
        }
        result
    }

    /// Runs every background loop until `shutdown` is cancelled: workers, pollers, deal pulls,
    /// the inbox, the catalog push after a 1C exchange, schedules and retention. Each is
    /// supervised ([`super::loops`]): a failure pauses the loop and shows in [`Engine::health`],
    /// it never ends it.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> Result<(), SyncError> {
        self.health
            .set_unhealthy_after(self.settings.unhealthy_after);
        let sup = Supervision {
            health: self.health.clone(),
            stop: shutdown,
            backoff: self.settings.loop_backoff,
        };
        let mut tasks = self.spawn_workers(&sup);
        tasks.extend(self.spawn_polls(&sup));
        tasks.extend(self.spawn_reactions(&sup));
        if let Some(alerts) = &self.alerts {
            tasks.push(tokio::spawn(crate::alerts::evaluator::run(
                alerts.clone(),
                sup.clone(),
            )));
        }
        for t in tasks {
            // `supervise` catches a pass's panic itself; an error here is a bug in it.
            if let Err(e) = t.await {
                error!(error = %e, "engine task ended abnormally");
            }
        }
        info!("engine stopped");
        Ok(())
    }

    fn spawn_workers(&self, sup: &Supervision) -> Vec<JoinHandle<()>> {
        (0..self.settings.workers.max(1))
            .map(|n| {
                let worker = Arc::new(self.worker(format!("run-{}-{n}", std::process::id())));
                tokio::spawn(loops::worker(format!("worker-{n}"), worker, sup.clone()))
            })
            .collect()
    }

    /// The timed loops: order polls, deal pulls, schedules, retention.
    fn spawn_polls(&self, sup: &Supervision) -> Vec<JoinHandle<()>> {
        let interval = self.settings.poll_interval;
        let store = &self.store;
        let mut tasks: Vec<JoinHandle<()>> = self
            .flows
            .iter()
            .map(|f| {
                tokio::spawn(loops::poller(
                    f.clone(),
                    store.clone(),
                    interval,
                    sup.clone(),
                ))
            })
            .collect();
        tasks.extend(self.pulls.iter().map(|p| {
            tokio::spawn(loops::deal_pull(
                p.clone(),
                store.clone(),
                interval,
                sup.clone(),
            ))
        }));
        tasks.extend(
            self.schedules
                .iter()
                .map(|j| tokio::spawn(loops::schedule(j.clone(), store.clone(), sup.clone()))),
        );
        tasks.push(tokio::spawn(loops::retention(
            store.clone(),
            self.settings.retention,
            sup.clone(),
        )));
        tasks
    }

    /// The loops woken by the server: webhook deliveries and 1C exchanges.
    fn spawn_reactions(&self, sup: &Supervision) -> Vec<JoinHandle<()>> {
        let mut tasks = vec![tokio::spawn(loops::inbox(
            self.store.clone(),
            self.flows.clone(),
            self.pulls.clone(),
            self.inbox_wake.clone(),
            sup.clone(),
        ))];
        // Only the 1C catalogs follow an exchange; a store's own catalog runs with `sync` and
        // on its schedule.
        let onec: Vec<Arc<CatalogFlow>> = self
            .catalogs
            .iter()
            .filter(|c| matches!(c.source, ItemSource::OneC))
            .cloned()
            .collect();
        if !onec.is_empty() {
            tasks.push(tokio::spawn(loops::catalogs_after_exchange(
                onec,
                self.store.clone(),
                self.catalog_wake.clone(),
                sup.clone(),
            )));
        }
        tasks
    }

    fn worker(&self, id: String) -> Worker {
        Worker {
            id,
            store: self.store.clone(),
            executor: self.executor.clone(),
            tally: self.tally.clone(),
            settings: self.settings.clone(),
        }
    }
}

/// An error with its causes, `a: b: c`, for one log line. A cause whose text the line already
/// ends with (an error that prints its source as well as returning it) is not repeated.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = c.source();
    }
    s
}
