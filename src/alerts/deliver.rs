//! Running an `alert` job: the queue worker's half of a notification. A failed POST is an
//! ordinary job failure, so a receiver that is down is retried with the queue's backoff and,
//! past `[alerts] max_attempts`, kept in the dead letter for `queue retry`: nothing is lost.

use super::notify::Notification;
use crate::sync::worker::{decode, Executor, JobOutcome, RunError};
use dealbridge_store::Job;
use tracing::info;

impl Executor {
    /// Delivers the notification job `job` carries.
    pub(crate) async fn run_alert(&self, job: &Job) -> Result<JobOutcome, RunError> {
        let Some(notifier) = &self.alerts else {
            return Err(RunError::Permanent(format!(
                "job {}: [alerts] is not configured any more, so this notification has nowhere to go; add [alerts] back and retry the job, or drop it",
                job.id
            )));
        };
        let n: Notification = decode(job)?;
        notifier.send(&n).await?;
        info!(alert = %n.key, state = ?n.state, "alert delivered");
        Ok(JobOutcome::Written)
    }
}
