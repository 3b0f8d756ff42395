//! Ending a try: complete, fail (retry or dead letter) and release. Every statement is fenced by
//! `id AND state = 'running' AND lease_token = <token the worker got at claim>`, so a worker whose
//! lease expired and was taken by another cannot overwrite the newer state.

use crate::db::{dur_ms, ms, on_db};
use crate::error::{is_unique_violation, StoreError};
use sqlx::AssertSqlSafe;

use super::types::{FailOutcome, Failure, Job};
use super::Queue;

const FENCE: &str = "id = $1 AND state = 'running' AND lease_token = $2";

impl Queue {
    fn lease_lost(job: &Job) -> StoreError {
        StoreError::LeaseLost {
            id: job.id,
            key: job.coalesce_key.clone(),
            token: job.lease_token,
        }
    }

    /// Marks a claimed job done.
    pub async fn complete(&self, job: &Job) -> Result<(), StoreError> {
        let now = ms(self.clock.now());
        let sql = format!(
            "UPDATE jobs SET state = 'done', lease_until = NULL, finished_at = $3, updated_at = $3 WHERE {FENCE}"
        );
        let n = on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(job.id).bind(job.lease_token).bind(now)
                .execute(pool).await
                .map_err(StoreError::db(format!("completing job {} ({})", job.id, job.coalesce_key)))?
                .rows_affected()
        });
        if n == 0 {
            return Err(Self::lease_lost(job));
        }
        Ok(())
    }

    /// Records a failed try: back to pending after backoff (at least `retry_after`) if retryable
    /// and attempts remain, else dead with the reason.
    pub async fn fail(&self, job: &Job, f: &Failure<'_>) -> Result<FailOutcome, StoreError> {
        let now = self.clock.now();
        let now_ms = ms(now);
        if !(f.retryable && job.attempts < job.max_attempts) {
            let reason = if f.retryable {
                format!(
                    "{} (gave up after {} of {} attempts)",
                    f.message, job.attempts, job.max_attempts
                )
            } else {
                f.message.to_string()
            };
            let sql = format!(
                "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = $3, last_error_kind = $4, \
                 first_error = COALESCE(first_error, $3), finished_at = $5, updated_at = $5 WHERE {FENCE}"
            );
            let n = on_db!(&self.db, pool => {
                sqlx::query(AssertSqlSafe(sql.as_str())).bind(job.id).bind(job.lease_token).bind(&reason).bind(f.kind).bind(now_ms)
                    .execute(pool).await
                    .map_err(StoreError::db(format!("dead-lettering job {} ({})", job.id, job.coalesce_key)))?
                    .rows_affected()
            });
            if n == 0 {
                return Err(Self::lease_lost(job));
            }
            tracing::warn!(job = job.id, key = %job.coalesce_key, kind = f.kind, "job is dead: {reason}");
            return Ok(FailOutcome::Dead);
        }

        let delay = self
            .backoff
            .delay(job.attempts)
            .max(f.retry_after.unwrap_or_default());
        let at_ms = now_ms.saturating_add(dur_ms(delay));
        let at = crate::db::from_ms(at_ms, "retry time")?;
        let sql = format!(
            "UPDATE jobs SET state = 'pending', run_at = $3, lease_until = NULL, last_error = $4, \
             first_error = COALESCE(first_error, $4), last_error_kind = $5, updated_at = $6 WHERE {FENCE}"
        );
        let res = on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(job.id).bind(job.lease_token).bind(at_ms).bind(f.message).bind(f.kind).bind(now_ms)
                .execute(pool).await.map(|r| r.rows_affected())
        });
        match res {
            Ok(0) => Err(Self::lease_lost(job)),
            Ok(_) => Ok(FailOutcome::RetryAt(at)),
            Err(e) if is_unique_violation(&e) => {
                self.supersede(job, now_ms, Some(at_ms), Some(f)).await?;
                Ok(FailOutcome::RetryAt(at))
            }
            Err(source) => Err(StoreError::Db {
                op: format!(
                    "scheduling a retry of job {} ({})",
                    job.id, job.coalesce_key
                ),
                source,
            }),
        }
    }

    /// Gives a claimed job back untried (shutdown): pending again, the try not counted.
    pub async fn release(&self, job: &Job) -> Result<(), StoreError> {
        let now = ms(self.clock.now());
        let sql = format!(
            "UPDATE jobs SET state = 'pending', lease_until = NULL, updated_at = $3, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE {FENCE}"
        );
        let res = on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(job.id).bind(job.lease_token).bind(now)
                .execute(pool).await.map(|r| r.rows_affected())
        });
        match res {
            Ok(0) => Err(Self::lease_lost(job)),
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => self.supersede(job, now, None, None).await,
            Err(source) => Err(StoreError::Db {
                op: format!("releasing job {} ({})", job.id, job.coalesce_key),
                source,
            }),
        }
    }

    /// A running job cannot go back to pending because a newer job for its key is pending (it was
    /// enqueued while this one ran). The newer one carries the latest payload, so this one is
    /// dropped; the newer one is held back until `hold_until` so the backoff still applies.
    async fn supersede(
        &self,
        job: &Job,
        now: i64,
        hold_until: Option<i64>,
        failure: Option<&Failure<'_>>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'dropped', lease_until = NULL, finished_at = $3, updated_at = $3, \
             drop_reason = 'superseded by a newer pending job for the same key', \
             last_error = COALESCE($4, last_error), last_error_kind = COALESCE($5, last_error_kind) \
             WHERE {FENCE}"
        );
        let n = on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(job.id).bind(job.lease_token).bind(now)
                .bind(failure.map(|f| f.message)).bind(failure.map(|f| f.kind))
                .execute(pool).await
                .map_err(StoreError::db(format!("dropping superseded job {} ({})", job.id, job.coalesce_key)))?
                .rows_affected()
        });
        if n == 0 {
            return Err(Self::lease_lost(job));
        }
        if let Some(until) = hold_until {
            let hold = "UPDATE jobs SET run_at = CASE WHEN run_at < $1 THEN $1 ELSE run_at END, updated_at = $2 \
                        WHERE coalesce_key = $3 AND state = 'pending'";
            on_db!(&self.db, pool => {
                sqlx::query(hold).bind(until).bind(now).bind(&job.coalesce_key)
                    .execute(pool).await
                    .map_err(StoreError::db(format!("holding back the pending job for {}", job.coalesce_key)))?;
            });
        }
        Ok(())
    }
}
