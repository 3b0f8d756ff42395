//! What the engine counts: jobs enqueued, done, retried and dead per job kind (and flow where
//! the engine knows it), job latency from enqueue to done, webhook deliveries per system and
//! outcome. Emitted through the [`metrics`] facade into [`super::recorder`].

use dealbridge_store::JobKind;
use std::time::Duration;

/// Counter: jobs put in the queue (a change folded into a pending job is not a new job), by
/// `kind` and `flow`.
pub const JOBS_ENQUEUED: &str = "dealbridge_jobs_enqueued_total";
/// Counter: jobs finished successfully, by `kind`.
pub const JOBS_DONE: &str = "dealbridge_jobs_done_total";
/// Counter: job attempts that failed and will be retried, by `kind`.
pub const JOB_RETRIES: &str = "dealbridge_job_retries_total";
/// Counter: jobs dead-lettered (permanent error or attempts used up), by `kind`.
pub const JOBS_DEAD: &str = "dealbridge_jobs_dead_total";
/// Histogram: seconds from a job's enqueue to its successful end, by `kind`.
pub const JOB_LATENCY: &str = "dealbridge_job_latency_seconds";
/// Counter: webhook deliveries by `system` (the config's name) and `outcome`.
pub const WEBHOOK_DELIVERIES: &str = "dealbridge_webhook_deliveries_total";
/// Counter: API calls made again because the system's answer was transient (5xx, throttled,
/// network), by `system` (the connector's name, as in `dealbridge_api_requests_total`).
pub const API_RETRIES: &str = "dealbridge_api_retries_total";

/// The `system` of failures of the state database (not an API: never counted as an API retry).
const STATE_DATABASE: &str = "store";

/// The `flow` label of a job whose flow the engine does not know where it queues it (1C's
/// payments).
pub const NO_FLOW: &str = "none";

/// A job was queued.
pub fn job_enqueued(kind: JobKind, flow: &str) {
    metrics::counter!(JOBS_ENQUEUED, "kind" => kind.as_str(), "flow" => flow.to_string())
        .increment(1);
}

/// A job ended well, `latency` after it was enqueued.
pub fn job_done(kind: JobKind, latency: Duration) {
    metrics::counter!(JOBS_DONE, "kind" => kind.as_str()).increment(1);
    metrics::histogram!(JOB_LATENCY, "kind" => kind.as_str()).record(latency.as_secs_f64());
}

/// A job's attempt failed and it will be tried again.
pub fn job_retried(kind: JobKind) {
    metrics::counter!(JOB_RETRIES, "kind" => kind.as_str()).increment(1);
}

/// A job went to the dead letters.
pub fn job_dead(kind: JobKind) {
    metrics::counter!(JOBS_DEAD, "kind" => kind.as_str()).increment(1);
}

/// A call to `system` failed transiently and will be made again: at once (an idempotent read
/// retried in place) or by the job's next attempt. The sdk's `send` does not retry by itself,
/// so these are all the API retries there are.
pub fn api_retry(system: &'static str) {
    if system != STATE_DATABASE {
        metrics::counter!(API_RETRIES, "system" => system).increment(1);
    }
}

/// How a webhook delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// At least one new hint stored in the inbox (or a ping answered).
    Stored,
    /// Every hint was in the inbox already (the vendor resent it).
    Duplicate,
    /// Refused: bad signature or token, malformed body, unknown system, storage failure.
    Rejected,
}

impl Delivery {
    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Stored => "stored",
            Delivery::Duplicate => "duplicate",
            Delivery::Rejected => "rejected",
        }
    }
}

/// A delivery to `/webhooks/<system>` ended in `outcome`. `system` must be a configured
/// system's name (the label is never taken from an unknown path segment).
pub fn webhook_delivery(system: &str, outcome: Delivery) {
    metrics::counter!(WEBHOOK_DELIVERIES, "system" => system.to_string(), "outcome" => outcome.as_str())
        .increment(1);
}

/// Help texts and units of the families above.
pub fn describe() {
    metrics::describe_counter!(JOBS_ENQUEUED, "Jobs queued, by job kind and flow.");
    metrics::describe_counter!(JOBS_DONE, "Jobs finished successfully, by job kind.");
    metrics::describe_counter!(
        JOB_RETRIES,
        "Job attempts that failed and will be retried, by job kind."
    );
    metrics::describe_counter!(JOBS_DEAD, "Jobs dead-lettered, by job kind.");
    metrics::describe_histogram!(
        JOB_LATENCY,
        metrics::Unit::Seconds,
        "Time from a job's enqueue to its successful end, by job kind."
    );
    metrics::describe_counter!(
        WEBHOOK_DELIVERIES,
        "Webhook deliveries by system and outcome (stored, duplicate, rejected)."
    );
    metrics::describe_counter!(
        API_RETRIES,
        "API calls made again after a transient failure (5xx, throttled, network), by system."
    );
}
