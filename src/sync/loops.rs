//! The background loops of `dealbridge run`, one function each. Every loop is a [`supervise`]d
//! pass, so a failure (the database gone for a moment, a source down) pauses the loop, shows in
//! [`Health`](super::supervisor::Health) and never ends it.
//!
//! A loop's name says what it is (`worker-0`, `poll:orders`, `pull:deals-back`, `inbox`,
//! `catalog:after-1c`, `schedule:nightly`, `retention`); `/status` lists them under it.

use super::catalog::{CatalogError, CatalogFlow};
use super::engine::error_chain;
use super::inbox::process_inbox;
use super::poll::OrderFlow;
use super::pull::DealPullFlow;
use super::queue_worker::{Step, Worker};
use super::schedule::{NextFire, ScheduledJob};
use super::supervisor::{supervise, Backoff, Next, Supervision};
use super::SyncError;
use chrono::{DateTime, Utc};
use dealbridge_store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tracing::error;

/// A queue worker: one job (or one idle wait) per pass. A store error in `claim`, `execute`,
/// `next_due` pauses the worker with the supervisor's backoff; a job left claimed by a failed
/// `execute` is taken again when its lease runs out.
pub async fn worker(name: String, worker: Arc<Worker>, sup: Supervision) {
    supervise(name, sup, move || {
        let worker = worker.clone();
        async move {
            Ok::<_, SyncError>(match worker.step(false).await? {
                Step::Worked | Step::Drained => Next::Now,
                Step::Idle(wait) => Next::After(wait),
            })
        }
    })
    .await;
}

/// A failed poll is tried again after the loop's backoff, but never later than the poll
/// interval would have: a short outage (the database locked for a moment) is over within
/// seconds, and a long one soon costs no more requests than polling did.
fn poll_backoff(loops: Backoff, interval: Duration) -> Backoff {
    Backoff {
        first: loops.first.min(interval),
        max: loops.max.min(interval),
    }
}

/// A poll pass that failed on a transient answer of its source is an API call made again: the
/// supervisor runs the pass again after its pause.
fn count_retry(e: &SyncError) {
    if let SyncError::Source { source, .. } = e {
        if source.should_retry() {
            crate::metrics::engine::api_retry(source.system);
        }
    }
}

/// An order flow's poller: one poll per `interval`.
pub async fn poller(flow: Arc<OrderFlow>, store: Store, interval: Duration, mut sup: Supervision) {
    sup.backoff = poll_backoff(sup.backoff, interval);
    supervise(format!("poll:{}", flow.name), sup, move || {
        let (flow, store) = (flow.clone(), store.clone());
        async move {
            flow.poll(&store, false).await.inspect_err(count_retry)?;
            Ok::<_, SyncError>(Next::After(interval))
        }
    })
    .await;
}

/// A two-way pair's CRM → store poll: one per `interval`.
pub async fn deal_pull(
    pull: Arc<DealPullFlow>,
    store: Store,
    interval: Duration,
    mut sup: Supervision,
) {
    sup.backoff = poll_backoff(sup.backoff, interval);
    supervise(format!("pull:{}", pull.name), sup, move || {
        let (pull, store) = (pull.clone(), store.clone());
        async move {
            pull.poll(&store, false).await.inspect_err(count_retry)?;
            Ok::<_, SyncError>(Next::After(interval))
        }
    })
    .await;
}

/// Webhook deliveries: handled as soon as the receiver wakes us, and every few seconds anyway
/// (a delivery deferred by a failing source is retried that way).
pub async fn inbox(
    store: Store,
    flows: Vec<Arc<OrderFlow>>,
    pulls: Vec<Arc<DealPullFlow>>,
    wake: Arc<Notify>,
    mut sup: Supervision,
) {
    // A failed pass is tried again within seconds (deliveries are waiting), at most every 5 s
    // as before supervision.
    sup.backoff.max = sup.backoff.max.min(Duration::from_secs(5));
    let (flows, pulls) = (Arc::new(flows), Arc::new(pulls));
    supervise("inbox".to_string(), sup, move || {
        let (store, flows, pulls) = (store.clone(), flows.clone(), pulls.clone());
        let wake = wake.clone();
        async move {
            // A backlog (a flood of deliveries, or a restart after one) goes on at once;
            // deliveries set aside are tried when they are due; otherwise every five seconds.
            let pause = process_inbox(&store, &flows, &pulls)
                .await?
                .pause(Duration::from_secs(5));
            Ok::<_, SyncError>(Next::WakeOr(wake, pause))
        }
    })
    .await;
}

/// The 1C catalogs, pushed after each 1C exchange that changed the catalog. A push that failed
/// is tried again after the supervisor's pause (not only at the next exchange, which may be a
/// day away), until it succeeds.
pub async fn catalogs_after_exchange(
    catalogs: Vec<Arc<CatalogFlow>>,
    store: Store,
    wake: Arc<Notify>,
    sup: Supervision,
) {
    let stop = sup.stop.clone();
    let catalogs = Arc::new(catalogs);
    let retry = Arc::new(AtomicBool::new(false));
    supervise("catalog:after-1c".to_string(), sup, move || {
        let (catalogs, store) = (catalogs.clone(), store.clone());
        let (wake, stop, retry) = (wake.clone(), stop.clone(), retry.clone());
        async move {
            if !retry.swap(false, Ordering::SeqCst) {
                tokio::select! {
                    _ = stop.cancelled() => return Ok(Next::End),
                    _ = wake.notified() => {}
                }
            }
            let result = push_catalogs(&catalogs, &store).await;
            retry.store(result.is_err(), Ordering::SeqCst);
            result.map(|()| Next::Now)
        }
    })
    .await;
}

/// Runs each catalog once; the first error is returned after all were tried.
async fn push_catalogs(catalogs: &[Arc<CatalogFlow>], store: &Store) -> Result<(), CatalogError> {
    let mut first_error = None;
    for c in catalogs {
        if let Err(e) = push_catalog(c, store).await {
            error!(catalog = %c.name, error = %error_chain(&e), "catalog push after a 1C exchange failed");
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// One catalog push, under its named lock: one run at a time across processes sharing the
/// database (another process running it is not an error).
async fn push_catalog(c: &CatalogFlow, store: &Store) -> Result<(), CatalogError> {
    let store_error = |source| CatalogError::Store {
        flow: c.name.clone(),
        source,
    };
    let Some(lock) = store
        .try_lock(&format!("catalog:{}", c.name))
        .await
        .map_err(store_error)?
    else {
        return Ok(());
    };
    let result = c.run(store, false).await;
    if let Ok(r) = &result {
        let written = r.crm_created + r.crm_updated + r.crm_adopted + r.store_updated;
        pass_event!(written > 0, catalog = %c.name, created = r.crm_created, updated = r.crm_updated,
            adopted = r.crm_adopted, store_updated = r.store_updated, "catalog pushed after a 1C exchange");
    }
    let released = lock.release().await.map_err(store_error);
    result?;
    released
}

/// A cron job: the catch-up at start, then each fire time. A failed run is tried again for the
/// same fire time after the supervisor's pause, so one database hiccup at 03:00 does not skip
/// the nightly run.
pub async fn schedule(job: Arc<ScheduledJob>, store: Store, sup: Supervision) {
    let stop = sup.stop.clone();
    let started = Arc::new(AtomicBool::new(false));
    // The fire time whose run failed, to run again; a `std` mutex, never held across `.await`.
    let retry: Arc<Mutex<Option<DateTime<Utc>>>> = Arc::default();
    let name = format!("schedule:{}", job.config.name);
    supervise(name, sup, move || {
        let (job, store, stop) = (job.clone(), store.clone(), stop.clone());
        let (started, retry) = (started.clone(), retry.clone());
        async move {
            if !started.load(Ordering::SeqCst) {
                job.catch_up(&store).await?;
                started.store(true, Ordering::SeqCst);
                return Ok(Next::Now);
            }
            let again = retry.lock().unwrap_or_else(|p| p.into_inner()).take();
            let at = match again {
                Some(at) => at,
                None => match job.wait_next(&stop).await {
                    NextFire::At(at) => at,
                    NextFire::Stopped | NextFire::Never => return Ok(Next::End),
                },
            };
            if let Err(e) = job.fire(&store, at).await {
                *retry.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
                return Err(e);
            }
            Ok::<_, SyncError>(Next::Now)
        }
    })
    .await;
}

/// Retention: finished jobs stay queryable for `retention`, then go. Hourly is plenty.
pub async fn retention(store: Store, retention: Duration, sup: Supervision) {
    supervise("retention".to_string(), sup, move || {
        let queue = store.queue();
        async move {
            let purged = queue.purge(retention).await?;
            pass_event!(purged > 0, purged, "purged finished jobs past retention");
            Ok::<_, dealbridge_store::StoreError>(Next::After(Duration::from_secs(3600)))
        }
    })
    .await;
}
