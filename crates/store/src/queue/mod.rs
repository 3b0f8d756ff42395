//! The durable job queue: one row per target write.
//!
//! * **Coalescing.** At most one *pending* job per `coalesce_key` (a partial unique index). A newer
//!   enqueue for the key replaces that job's payload, kind, target and max_attempts and returns
//!   [`Enqueued::Coalesced`]; the job **keeps its attempts and run_at**, so a target that is failing
//!   keeps backing off instead of being hammered by a stream of edits, and the latest payload is
//!   what runs next. If the key's job is *running*, a new pending job is inserted so the newer
//!   change is not lost.
//! * **Per-key serialisation.** `claim` never hands out a pending job while another job with its key
//!   is running; jobs of different keys run in parallel.
//! * **Leases and fencing.** `claim` sets `lease_until = now + lease` and increments `lease_token`;
//!   `complete`/`fail`/`release` act only if the row still carries that token and is running, else
//!   [`StoreError::LeaseLost`]. An expired lease is taken back by the
//!   next `claim` (back to pending, keeping its place in line; dead if it was the last attempt;
//!   dropped if a newer job for the key is pending, since that one carries the latest payload).
//! * **Attempts** are counted at claim: a try lost to a crash counts as a try. `release` (shutdown)
//!   gives the try back.
//! * **Failures.** Retryable and attempts < max → pending at `now + max(backoff(attempts),
//!   retry_after)`; otherwise dead with the reason in `last_error`. Done, dead and dropped jobs stay
//!   until [`Queue::purge`].
//! * **Claim on PostgreSQL** is one `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`, so
//!   any number of processes can share the queue. **On SQLite** it is a single `UPDATE …
//!   RETURNING` statement: SQLite takes the write lock before reading, so concurrent claimers in
//!   one process (or several) are serialised and never see the same row as pending.
//!
//! All times come from the store's [`Clock`].

mod admin;
mod backoff;
mod bulk;
mod claim;
mod finish;
mod origins;
mod types;

use std::sync::Arc;

pub use backoff::BackoffPolicy;
pub use bulk::BulkRetry;
pub use origins::WaitingGroup;
pub use types::{Enqueued, FailOutcome, Failure, Job, JobFilter, JobState, NewJob};

use crate::clock::Clock;
use crate::db::{ms, on_db, Db, RowExt};
use crate::error::StoreError;
use crate::snapshot::canonical_json;

/// The enqueue statement, binding kind, target, coalesce_key, payload, max_attempts and now
/// (ms); returns `id, coalesced`. Shared with the alerts, which queue a notification in the
/// transaction that opens or resolves its incident.
pub(crate) const ENQUEUE_SQL: &str =
    "INSERT INTO jobs (kind, target, coalesce_key, payload, state, attempts, max_attempts, \
    coalesced, run_at, lease_token, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, 'pending', 0, $5, 0, $6, 0, $6, $6) \
    ON CONFLICT (coalesce_key) WHERE state = 'pending' DO UPDATE SET \
    payload = excluded.payload, kind = excluded.kind, target = excluded.target, \
    max_attempts = excluded.max_attempts, coalesced = jobs.coalesced + 1, \
    updated_at = excluded.updated_at \
    RETURNING id, coalesced";

/// Handle on the job queue. Cheap to clone; shares the store's pool and clock.
#[derive(Clone)]
pub struct Queue {
    db: Db,
    clock: Arc<dyn Clock>,
    backoff: BackoffPolicy,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("backend", &self.db.backend())
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Queue {
    pub(crate) fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            clock,
            backoff: BackoffPolicy::default(),
        }
    }

    /// The same queue with another retry schedule.
    pub fn with_backoff(mut self, backoff: BackoffPolicy) -> Self {
        self.backoff = backoff;
        self
    }

    /// The retry schedule in use.
    pub fn backoff(&self) -> BackoffPolicy {
        self.backoff
    }

    /// Adds a job due now, or folds it into the pending job with the same key (see the module doc).
    pub async fn enqueue(&self, job: &NewJob<'_>) -> Result<Enqueued, StoreError> {
        let now = ms(self.clock.now());
        let sql = ENQUEUE_SQL;
        let payload = canonical_json(job.payload);
        let max_attempts = i64::from(job.max_attempts.max(1));
        let (id, coalesced) = on_db!(&self.db, pool => {
            let row = sqlx::query(sql)
                .bind(job.kind.as_str()).bind(job.target).bind(job.coalesce_key).bind(&payload)
                .bind(max_attempts).bind(now)
                .fetch_one(pool).await
                .map_err(StoreError::db(format!(
                    "enqueueing {} job for {}", job.kind, job.coalesce_key
                )))?;
            (row.i64("id")?, row.i64("coalesced")?)
        });
        Ok(if coalesced == 0 {
            Enqueued::Inserted(id)
        } else {
            Enqueued::Coalesced(id)
        })
    }
}
