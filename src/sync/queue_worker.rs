//! The queue workers: claim a job, run it with the [`Executor`], count the outcome.
//!
//! A worker is a sequence of [`Worker::step`]s. `run` supervises the steps (a failing database
//! pauses a worker, never ends it); `sync` drains the queue and gives up, with the error, only
//! after a few retries.

use super::engine::{error_chain, EngineSettings, Tally};
use super::supervisor::Backoff;
use super::worker::{Executor, JobOutcome};
use super::SyncError;
use crate::metrics::engine as metrics;
use dealbridge_store::{Job, Store};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Store errors in a row after which a draining worker (`dealbridge sync`) gives up.
pub const DRAIN_ATTEMPTS: u32 = 4;

/// What one [`Worker::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Ran one job.
    Worked,
    /// Found no job due: wait this long (until the next job is due, at most `idle`) before
    /// the next step.
    Idle(Duration),
    /// Draining, and no pending or running work is left.
    Drained,
}

/// Counts a job's outcome in the process's metrics; a done job's latency runs from its
/// enqueue (a folded change keeps the job's first enqueue time) to now.
fn count_outcome(job: &Job, outcome: JobOutcome) {
    match outcome {
        JobOutcome::Created | JobOutcome::Written | JobOutcome::Unchanged => {
            let latency = (chrono::Utc::now() - job.created_at)
                .to_std()
                .unwrap_or(Duration::ZERO);
            metrics::job_done(job.kind, latency);
        }
        JobOutcome::Retrying => metrics::job_retried(job.kind),
        JobOutcome::Dead => metrics::job_dead(job.kind),
    }
}

/// What one worker task owns.
pub struct Worker {
    /// Its lease owner name.
    pub id: String,
    /// The store.
    pub store: Store,
    /// Runs jobs.
    pub executor: Arc<Executor>,
    /// Outcome counts.
    pub tally: Arc<Tally>,
    /// Lease and idle wait.
    pub settings: EngineSettings,
}

impl Worker {
    /// Claims and runs one job, or says how long to wait for one. With `drain`, reports
    /// [`Step::Drained`] once no pending or running work is left.
    ///
    /// A store error comes back as is. A job whose `execute` failed that way stays claimed and
    /// is taken again once its lease runs out, so nothing is lost by retrying the step.
    pub async fn step(&self, drain: bool) -> Result<Step, SyncError> {
        let queue = self.store.queue();
        let jobs = queue.claim(&self.id, self.settings.lease, 1).await?;
        if let Some(job) = jobs.into_iter().next() {
            // Not raced against `stop`: a job in hand is finished, so its lease ends cleanly.
            let outcome = self.executor.execute(&job).await?;
            let counter = match outcome {
                JobOutcome::Created => &self.tally.created,
                JobOutcome::Written => &self.tally.written,
                JobOutcome::Unchanged => &self.tally.unchanged,
                JobOutcome::Retrying => &self.tally.retried,
                JobOutcome::Dead => &self.tally.dead,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            count_outcome(&job, outcome);
            return Ok(Step::Worked);
        }
        if drain && queue.pending_count().await? == 0 {
            return Ok(Step::Drained);
        }
        // Sleep until the next job is due (a backoff), but no longer than `idle`, so new work
        // and expired leases are noticed soon.
        let wait = match queue.next_due().await? {
            Some(at) => (at - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(self.settings.idle),
            None => self.settings.idle,
        }
        .max(Duration::from_millis(20));
        Ok(Step::Idle(wait))
    }

    /// `dealbridge sync`'s worker: steps until the queue is drained or `stop`.
    ///
    /// A one-shot pass has no one to report to later, so a store error is retried only
    /// [`DRAIN_ATTEMPTS`] times in a row (with `backoff`, enough to ride out a lock held for a
    /// moment or a database restart) and then ends the pass with that error: `sync` fails
    /// loudly rather than reporting a queue it could not drain as done.
    pub async fn drain(&self, stop: &CancellationToken, backoff: Backoff) -> Result<(), SyncError> {
        let mut failures = 0;
        while !stop.is_cancelled() {
            match self.step(true).await {
                Ok(Step::Drained) => return Ok(()),
                Ok(Step::Worked) => failures = 0,
                Ok(Step::Idle(wait)) => {
                    failures = 0;
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(e) => {
                    failures += 1;
                    if failures >= DRAIN_ATTEMPTS {
                        return Err(e);
                    }
                    let pause = backoff.delay(failures);
                    warn!(worker = %self.id, failures, retry_in = ?pause, error = %error_chain(&e), "worker step failed; retrying");
                    tokio::time::sleep(pause).await;
                }
            }
        }
        Ok(())
    }
}
