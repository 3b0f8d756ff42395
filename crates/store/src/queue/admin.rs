//! Looking at the queue and operator actions: list, get, retry, drop, counts, next due, purge.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::{dur_ms, from_ms, ms, on_db, RowExt};
use crate::error::{is_unique_violation, StoreError};
use sqlx::AssertSqlSafe;

use super::types::{job_from_row, Job, JobFilter, JobState, JOB_COLS};
use super::Queue;

impl Queue {
    /// Jobs matching the filter, most recently changed first.
    pub async fn list(&self, f: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let mut sql = format!("SELECT {JOB_COLS} FROM jobs WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        if !f.states.is_empty() {
            let mut marks = Vec::new();
            for s in &f.states {
                args.push(s.as_str().to_string());
                marks.push(format!("${}", args.len()));
            }
            sql.push_str(&format!(" AND state IN ({})", marks.join(", ")));
        }
        let kind = f.kind.map(|k| k.as_str().to_string());
        for (col, val) in [
            ("kind", &kind),
            ("target", &f.target),
            ("coalesce_key", &f.coalesce_key),
        ] {
            if let Some(v) = val {
                args.push(v.clone());
                sql.push_str(&format!(" AND {col} = ${}", args.len()));
            }
        }
        sql.push_str(&format!(
            " ORDER BY updated_at DESC, id DESC LIMIT ${}",
            args.len() + 1
        ));
        let limit = i64::from(if f.limit == 0 { 100 } else { f.limit });
        on_db!(&self.db, pool => {
            let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
            for a in &args {
                q = q.bind(a.as_str());
            }
            q.bind(limit).fetch_all(pool).await
                .map_err(StoreError::db("listing jobs"))?
                .iter().map(job_from_row).collect()
        })
    }

    /// One job by id.
    pub async fn get(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1");
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await
                .map_err(StoreError::db(format!("reading job {id}")))?
                .as_ref().map(job_from_row).transpose()
        })
    }

    /// Puts a dead (or dropped) job back to pending, due now, with its attempts reset. False if
    /// there is no such job or it is not dead/dropped. [`StoreError::Superseded`] if a newer job
    /// for the same key is already pending.
    pub async fn retry(&self, id: i64) -> Result<bool, StoreError> {
        let now = ms(self.clock.now());
        let sql = "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, updated_at = $1, \
                   finished_at = NULL, lease_until = NULL, drop_reason = NULL \
                   WHERE id = $2 AND state IN ('dead', 'dropped')";
        let res = on_db!(&self.db, pool => {
            sqlx::query(sql).bind(now).bind(id).execute(pool).await.map(|r| r.rows_affected())
        });
        match res {
            Ok(n) => Ok(n == 1),
            Err(e) if is_unique_violation(&e) => {
                let job = self.get(id).await?;
                let key = job.map(|j| j.coalesce_key).unwrap_or_default();
                let sql = "SELECT id FROM jobs WHERE coalesce_key = $1 AND state = 'pending'";
                let pending = on_db!(&self.db, pool => {
                    sqlx::query(sql).bind(&key).fetch_optional(pool).await
                        .map_err(StoreError::db(format!("finding the pending job for {key}")))?
                        .map(|r| r.i64("id")).transpose()?
                });
                Err(StoreError::Superseded {
                    id,
                    pending: pending.unwrap_or(0),
                    key,
                })
            }
            Err(source) => Err(StoreError::Db {
                op: format!("retrying job {id}"),
                source,
            }),
        }
    }

    /// Sets a pending or dead job aside (state dropped, kept with the reason). False if there is no
    /// such job or it is running, done or already dropped.
    pub async fn drop_job(&self, id: i64, reason: &str) -> Result<bool, StoreError> {
        let now = ms(self.clock.now());
        let sql = "UPDATE jobs SET state = 'dropped', drop_reason = $1, finished_at = $2, updated_at = $2 \
                   WHERE id = $3 AND state IN ('pending', 'dead')";
        let n = on_db!(&self.db, pool => {
            sqlx::query(sql).bind(reason).bind(now).bind(id).execute(pool).await
                .map_err(StoreError::db(format!("dropping job {id}")))?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Number of jobs in every state (zeros included), in lifecycle order.
    pub async fn counts(&self) -> Result<Vec<(JobState, i64)>, StoreError> {
        let sql = "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state";
        let rows: Vec<(String, i64)> = on_db!(&self.db, pool => {
            sqlx::query(sql).fetch_all(pool).await
                .map_err(StoreError::db("counting jobs by state"))?
                .iter().map(|r| Ok((r.text("state")?, r.i64("n")?))).collect::<Result<_, StoreError>>()?
        });
        Ok(JobState::ALL
            .into_iter()
            .map(|s| {
                let n = rows
                    .iter()
                    .find(|(name, _)| name == s.as_str())
                    .map_or(0, |(_, n)| *n);
                (s, n)
            })
            .collect())
    }

    /// Jobs that became done or dead at or after `since`, per state (for "done/failed in the
    /// last hour and day").
    pub async fn finished_since(&self, since: DateTime<Utc>) -> Result<(i64, i64), StoreError> {
        let sql = "SELECT state, COUNT(*) AS n FROM jobs WHERE finished_at >= $1 \
                   AND state IN ('done', 'dead') GROUP BY state";
        let rows: Vec<(String, i64)> = on_db!(&self.db, pool => {
            sqlx::query(sql).bind(ms(since)).fetch_all(pool).await
                .map_err(StoreError::db("counting jobs finished recently"))?
                .iter().map(|r| Ok((r.text("state")?, r.i64("n")?))).collect::<Result<_, StoreError>>()?
        });
        let n = |state: &str| rows.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
        Ok((n("done"), n("dead")))
    }

    /// Work left: pending plus running jobs.
    pub async fn pending_count(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) AS n FROM jobs WHERE state IN ('pending', 'running')";
        on_db!(&self.db, pool => {
            sqlx::query(sql).fetch_one(pool).await
                .map_err(StoreError::db("counting pending jobs"))?
                .i64("n")
        })
    }

    /// When the oldest pending job was enqueued (`None`: nothing pending). Its age is how long
    /// the queue has been behind.
    pub async fn oldest_pending(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let sql = "SELECT MIN(created_at) AS t FROM jobs WHERE state = 'pending'";
        let t: Option<i64> = on_db!(&self.db, pool => {
            sqlx::query(sql).fetch_one(pool).await
                .map_err(StoreError::db("finding the oldest pending job"))?
                .opt_i64("t")?
        });
        t.map(|t| from_ms(t, "oldest pending job")).transpose()
    }

    /// The earliest time `claim` may have something new: the earliest run_at of a pending job or
    /// lease expiry of a running one. It can be in the past while nothing is claimable (a pending
    /// job waits for its key's running job), so a worker loop should still sleep a little.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let sql = "SELECT MIN(run_at) AS t FROM jobs WHERE state = 'pending' \
                   UNION ALL SELECT MIN(lease_until) AS t FROM jobs WHERE state = 'running'";
        let times: Vec<Option<i64>> = on_db!(&self.db, pool => {
            sqlx::query(sql).fetch_all(pool).await
                .map_err(StoreError::db("finding the next due job"))?
                .iter().map(|r| r.opt_i64("t")).collect::<Result<_, StoreError>>()?
        });
        times
            .into_iter()
            .flatten()
            .min()
            .map(|t| from_ms(t, "next due time"))
            .transpose()
    }

    /// Deletes done, dead and dropped jobs that finished more than `older_than` ago; returns how
    /// many.
    pub async fn purge(&self, older_than: Duration) -> Result<u64, StoreError> {
        let cutoff = ms(self.clock.now()).saturating_sub(dur_ms(older_than));
        let sql =
            "DELETE FROM jobs WHERE state IN ('done', 'dead', 'dropped') AND finished_at < $1";
        on_db!(&self.db, pool => {
            Ok(sqlx::query(sql).bind(cutoff).execute(pool).await
                .map_err(StoreError::db("purging finished jobs"))?
                .rows_affected())
        })
    }
}
