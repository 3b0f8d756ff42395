//! Claiming due jobs under a lease, and taking back expired leases first.

use std::time::Duration;

use crate::db::{dur_ms, ms, on_db, Db, RowExt};
use crate::error::{is_unique_violation, StoreError};
use sqlx::AssertSqlSafe;

use super::types::{job_from_row, Job, JOB_COLS};
use super::Queue;

/// The SET part shared by both dialects: lease the row, count the try, bump the fencing token.
const CLAIM_SET: &str = "state = 'running', lease_owner = $1, lease_until = $2, \
    lease_token = lease_token + 1, attempts = attempts + 1, updated_at = $3";

/// Due pending jobs whose key has nothing running, oldest run_at first: an index range scan on
/// `jobs_due (state, run_at)`; the NOT EXISTS probe uses `jobs_by_key`.
const CANDIDATES: &str = "SELECT j.id FROM jobs j WHERE j.state = 'pending' AND j.run_at <= $3 \
    AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.coalesce_key = j.coalesce_key AND r.state = 'running') \
    ORDER BY j.run_at, j.id LIMIT $4";

impl Queue {
    /// Claims up to `max` due jobs for `worker`, leased for `lease`. Expired leases are taken back
    /// first (see the module doc). Returned oldest run_at first.
    pub async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<Job>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = ms(self.clock.now());
        self.reap_expired(now).await?;
        let until = now.saturating_add(dur_ms(lease));
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let sql = match &self.db {
            // SQLite: one statement; it takes the write lock before it reads, so two claimers
            // can never both see a row as pending.
            Db::Sqlite(_) => format!(
                "UPDATE jobs SET {CLAIM_SET} WHERE state = 'pending' AND id IN ({CANDIDATES}) \
                 RETURNING {JOB_COLS}"
            ),
            // PostgreSQL: lock the candidate rows, skipping rows another claimer holds.
            Db::Postgres(_) => format!(
                "WITH picked AS ({CANDIDATES} FOR UPDATE OF j SKIP LOCKED) \
                 UPDATE jobs SET {CLAIM_SET} WHERE state = 'pending' AND id IN (SELECT id FROM picked) \
                 RETURNING {JOB_COLS}"
            ),
        };
        let mut jobs = Vec::new();
        let mut unreadable = Vec::new();
        on_db!(&self.db, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql.as_str())).bind(worker).bind(until).bind(now).bind(limit)
                .fetch_all(pool).await
                .map_err(StoreError::db(format!("claiming jobs for worker {worker}")))?;
            for r in &rows {
                match job_from_row(r) {
                    Ok(job) => jobs.push(job),
                    Err(e) => unreadable.push((r.i64("id")?, r.i64("lease_token")?, e.to_string())),
                }
            }
        });
        // A row this build cannot read (e.g. a job kind it does not know) must not block the
        // whole batch on every claim: it goes to the dead letter with the reason, as a job the
        // worker could not run always did.
        for (id, token, reason) in unreadable {
            self.bury_unreadable(id, token, &reason, now).await?;
        }
        // RETURNING gives no order guarantee.
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    /// Dead-letters a just-claimed job whose row cannot be read, fenced by its new lease token.
    async fn bury_unreadable(
        &self,
        id: i64,
        token: i64,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let sql = "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = $3, \
                   last_error_kind = 'unreadable', finished_at = $4, updated_at = $4 \
                   WHERE id = $1 AND state = 'running' AND lease_token = $2";
        let reason = format!(
            "job {id} cannot be read by this build of dealbridge: {reason}; drop it with `dealbridge queue drop {id}`"
        );
        on_db!(&self.db, pool => {
            sqlx::query(sql).bind(id).bind(token).bind(&reason).bind(now)
                .execute(pool).await
                .map_err(StoreError::db(format!("dead-lettering unreadable job {id}")))?;
        });
        tracing::warn!(job = id, "job is dead: {reason}");
        Ok(())
    }

    /// Takes back running jobs whose lease ran out: dead if that was their last attempt, dropped if
    /// a newer job for the key is pending (it carries the latest payload), otherwise pending again
    /// with their original run_at (so they go first).
    async fn reap_expired(&self, now: i64) -> Result<(), StoreError> {
        // A plain read first: on SQLite every UPDATE takes the write lock, even one that changes
        // nothing, and expired leases are rare.
        let probe = "SELECT id FROM jobs WHERE state = 'running' AND lease_until <= $1 LIMIT 1";
        let any = on_db!(&self.db, pool => {
            sqlx::query(probe).bind(now).fetch_optional(pool).await
                .map_err(StoreError::db("looking for expired job leases"))?
                .is_some()
        });
        if !any {
            return Ok(());
        }
        let expired = "state = 'running' AND lease_until <= $1";
        let dead = format!(
            "UPDATE jobs SET state = 'dead', lease_until = NULL, finished_at = $1, updated_at = $1, \
             last_error_kind = 'lease_expired', last_error = 'the lease of ' || COALESCE(lease_owner, '?') || \
             ' expired during the last allowed attempt (worker crashed or hung)' \
             WHERE {expired} AND attempts >= max_attempts"
        );
        let superseded = format!(
            "UPDATE jobs SET state = 'dropped', lease_until = NULL, finished_at = $1, updated_at = $1, \
             drop_reason = 'lease expired while a newer job for the same key was pending; that job carries the latest payload' \
             WHERE {expired} AND EXISTS (SELECT 1 FROM jobs p WHERE p.coalesce_key = jobs.coalesce_key AND p.state = 'pending')"
        );
        let retry = format!(
            "UPDATE jobs SET state = 'pending', lease_until = NULL, updated_at = $1, \
             last_error_kind = 'lease_expired', last_error = 'the lease of ' || COALESCE(lease_owner, '?') || \
             ' expired before the job finished (worker crashed or hung)' \
             WHERE {expired}"
        );
        let mut taken = 0u64;
        for (what, sql) in [
            ("dead", &dead),
            ("dropped", &superseded),
            ("pending", &retry),
        ] {
            let res = on_db!(&self.db, pool => {
                sqlx::query(AssertSqlSafe(sql.as_str())).bind(now).execute(pool).await.map(|r| r.rows_affected())
            });
            match res {
                Ok(n) => {
                    if n > 0 {
                        tracing::warn!(jobs = n, to = what, "took back jobs whose lease expired");
                    }
                    taken += n;
                }
                // An enqueue raced in a pending job for the same key between the two statements;
                // the next claim drops the expired one as superseded.
                Err(e) if is_unique_violation(&e) => {
                    tracing::debug!(
                        "expired lease reaping raced with an enqueue; retried at next claim"
                    )
                }
                Err(source) => {
                    return Err(StoreError::Db {
                        op: format!("taking back expired job leases ({what})"),
                        source,
                    })
                }
            }
        }
        tracing::debug!(taken, "expired leases processed");
        Ok(())
    }
}
