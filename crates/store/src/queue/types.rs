//! The queue's value types.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::RowExt;
use crate::error::StoreError;
use crate::kinds::JobKind;

/// A job's life: `pending → running → done`, or `→ pending` again (retry after backoff), or
/// `→ dead` (permanent failure, attempts exhausted); `pending`/`dead → dropped` by an operator;
/// `dead`/`dropped → pending` by `retry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobState {
    /// Waiting for `run_at`.
    Pending,
    /// Held by a worker's lease.
    Running,
    /// Finished successfully.
    Done,
    /// Dead letter: failed permanently or ran out of attempts; `last_error` says why.
    Dead,
    /// Set aside by an operator or superseded by a newer job for the same key; never runs.
    Dropped,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 5] = [
        JobState::Pending,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
        JobState::Dropped,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
            JobState::Dropped => "dropped",
        }
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!("unknown job state {s:?}; expected pending, running, done, dead or dropped")
            })
    }
}

/// A job to enqueue.
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    /// What to do, e.g. [`JobKind::DealUpsert`].
    pub kind: JobKind,
    /// The system written to, e.g. `crm`.
    pub target: &'a str,
    /// The target entity, e.g. `crm:deal:shop:123`: at most one pending job per key.
    pub coalesce_key: &'a str,
    /// The work, as JSON.
    pub payload: &'a serde_json::Value,
    /// Tries before the job goes dead (at least 1).
    pub max_attempts: u32,
}

/// What `enqueue` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// A new pending job with this id.
    Inserted(i64),
    /// The pending job with this id got the new payload (its attempts and run_at are kept).
    Coalesced(i64),
}

impl Enqueued {
    /// The job id either way.
    pub fn id(self) -> i64 {
        match self {
            Enqueued::Inserted(id) | Enqueued::Coalesced(id) => id,
        }
    }
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Id.
    pub id: i64,
    /// What to do.
    pub kind: JobKind,
    /// System written to.
    pub target: String,
    /// Coalescing / serialisation key.
    pub coalesce_key: String,
    /// The work.
    pub payload: serde_json::Value,
    /// Where it is in its life.
    pub state: JobState,
    /// Tries started so far (counted at claim, so a try lost to a crash counts).
    pub attempts: u32,
    /// Tries allowed.
    pub max_attempts: u32,
    /// How many later enqueues were folded into this job while it was pending.
    pub coalesced: u32,
    /// Not claimed before this time.
    pub run_at: DateTime<Utc>,
    /// The worker that holds (or last held) it.
    pub lease_owner: Option<String>,
    /// When the current lease runs out (only while running).
    pub lease_until: Option<DateTime<Utc>>,
    /// Fencing token: incremented at every claim; complete/fail/release must present it.
    pub lease_token: i64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// The first failure's message (kept when later tries fail differently; set together with
    /// `last_error` since migration 0007).
    pub first_error: Option<String>,
    /// The last failure's low-cardinality code, e.g. `timeout`, `http_503`, `validation`.
    pub last_error_kind: Option<String>,
    /// Why it was dropped.
    pub drop_reason: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When it became done, dead or dropped.
    pub finished_at: Option<DateTime<Utc>>,
}

/// How a try failed.
#[derive(Debug, Clone, Copy)]
pub struct Failure<'a> {
    /// Worth trying again (timeout, 5xx, 429); false for validation errors.
    pub retryable: bool,
    /// Low-cardinality code for metrics and `queue list`.
    pub kind: &'a str,
    /// What went wrong, for a person.
    pub message: &'a str,
    /// The server's Retry-After, if it sent one: the retry waits at least this long.
    pub retry_after: Option<Duration>,
}

/// What `fail` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Back to pending, due at this time. (If a newer job for the same key was already pending,
    /// this job was dropped as superseded and the newer one is held back until this time.)
    RetryAt(DateTime<Utc>),
    /// Dead letter.
    Dead,
}

/// Which jobs `list` returns (most recently changed first).
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only these states (empty: all).
    pub states: Vec<JobState>,
    /// Only this kind.
    pub kind: Option<JobKind>,
    /// Only this target system.
    pub target: Option<String>,
    /// Only this key.
    pub coalesce_key: Option<String>,
    /// At most this many (0 means 100).
    pub limit: u32,
}

/// The column list every job query returns, in [`job_from_row`]'s terms.
pub(crate) const JOB_COLS: &str = "id, kind, target, coalesce_key, payload, state, attempts, \
    max_attempts, coalesced, run_at, lease_owner, lease_until, lease_token, last_error, \
    first_error, last_error_kind, drop_reason, created_at, updated_at, finished_at";

fn count(r: &impl RowExt, col: &str) -> Result<u32, StoreError> {
    let v = r.i64(col)?;
    u32::try_from(v)
        .map_err(|_| StoreError::corrupt(format!("jobs.{col}"), format!("{v} is out of range")))
}

pub(crate) fn job_from_row(r: &impl RowExt) -> Result<Job, StoreError> {
    let id = r.i64("id")?;
    Ok(Job {
        id,
        kind: r.named("jobs", "kind")?,
        target: r.text("target")?,
        coalesce_key: r.text("coalesce_key")?,
        payload: r.json("payload")?,
        state: r
            .text("state")?
            .parse()
            .map_err(|e| StoreError::corrupt(format!("jobs.state of job {id}"), e))?,
        attempts: count(r, "attempts")?,
        max_attempts: count(r, "max_attempts")?,
        coalesced: count(r, "coalesced")?,
        run_at: r.time("run_at")?,
        lease_owner: r.opt_text("lease_owner")?,
        lease_until: r.opt_time("lease_until")?,
        lease_token: r.i64("lease_token")?,
        last_error: r.opt_text("last_error")?,
        first_error: r.opt_text("first_error")?,
        last_error_kind: r.opt_text("last_error_kind")?,
        drop_reason: r.opt_text("drop_reason")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        finished_at: r.opt_time("finished_at")?,
    })
}
