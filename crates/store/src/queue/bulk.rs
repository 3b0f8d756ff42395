//! Operator actions on many jobs at once: retry or drop every job an operator's filter matched
//! (`queue retry --all`, `queue drop --all`, the console's "retry all matching"). Each job is
//! touched once, in a few statements however many jobs there are, and a second identical action
//! changes nothing (only dead or dropped jobs are retried, only pending or dead ones dropped).

use std::collections::{BTreeMap, HashSet};

use crate::db::{ms, on_db, RowExt};
use crate::error::StoreError;
use sqlx::AssertSqlSafe;

use super::types::{Job, JobState};
use super::Queue;

/// Ids per statement: far below SQLite's and PostgreSQL's bind limits.
const IDS_PER_STATEMENT: usize = 500;

/// What a bulk retry did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkRetry {
    /// Jobs put back to pending.
    pub retried: u64,
    /// Jobs not retried because a pending job for the same key exists (it carries the newer
    /// change), or because an older job of the same key was in the selection with a newer one.
    pub superseded: Vec<i64>,
    /// Jobs of the selection that were not dead or dropped (any more): nothing to do.
    pub skipped: u64,
}

impl Queue {
    /// Puts the dead or dropped jobs among `jobs` back to pending, due now, attempts reset: per
    /// key only the newest (a key has at most one pending job), and none whose key already has a
    /// pending job.
    pub async fn retry_many(&self, jobs: &[Job]) -> Result<BulkRetry, StoreError> {
        let mut report = BulkRetry::default();
        let mut newest: BTreeMap<&str, &Job> = BTreeMap::new();
        for job in jobs {
            if !matches!(job.state, JobState::Dead | JobState::Dropped) {
                report.skipped += 1;
                continue;
            }
            match newest.get(job.coalesce_key.as_str()) {
                Some(kept) if kept.id > job.id => report.superseded.push(job.id),
                Some(kept) => {
                    report.superseded.push(kept.id);
                    newest.insert(&job.coalesce_key, job);
                }
                None => {
                    newest.insert(&job.coalesce_key, job);
                }
            }
        }
        let keys: Vec<&str> = newest.keys().copied().collect();
        let busy = self.keys_with_pending(&keys).await?;
        let mut ids = Vec::new();
        for (key, job) in &newest {
            if busy.contains(*key) {
                report.superseded.push(job.id);
            } else {
                ids.push(job.id);
            }
        }
        let now = ms(self.clock.now());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, updated_at = $1, \
                 finished_at = NULL, lease_until = NULL, drop_reason = NULL \
                 WHERE state IN ('dead', 'dropped') AND id IN ({})",
                marks(2, chunk.len())
            );
            let n = on_db!(&self.db, pool => {
                let mut q = sqlx::query(AssertSqlSafe(sql.as_str())).bind(now);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(pool).await
                    .map_err(StoreError::db(format!("retrying {} jobs", chunk.len())))?
                    .rows_affected()
            });
            report.retried += n;
            report.skipped += chunk.len() as u64 - n;
        }
        report.superseded.sort_unstable();
        Ok(report)
    }

    /// Drops the pending or dead jobs among `ids` (kept, listed as dropped with `reason`);
    /// returns how many changed.
    pub async fn drop_many(&self, ids: &[i64], reason: &str) -> Result<u64, StoreError> {
        let now = ms(self.clock.now());
        let mut dropped = 0;
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE jobs SET state = 'dropped', drop_reason = $1, finished_at = $2, updated_at = $2 \
                 WHERE state IN ('pending', 'dead') AND id IN ({})",
                marks(3, chunk.len())
            );
            dropped += on_db!(&self.db, pool => {
                let mut q = sqlx::query(AssertSqlSafe(sql.as_str())).bind(reason).bind(now);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.execute(pool).await
                    .map_err(StoreError::db(format!("dropping {} jobs", chunk.len())))?
                    .rows_affected()
            });
        }
        Ok(dropped)
    }

    /// The keys among `keys` that have a pending job.
    async fn keys_with_pending(&self, keys: &[&str]) -> Result<HashSet<String>, StoreError> {
        let mut busy = HashSet::new();
        for chunk in keys.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "SELECT coalesce_key FROM jobs WHERE state = 'pending' AND coalesce_key IN ({})",
                marks(1, chunk.len())
            );
            let rows = on_db!(&self.db, pool => {
                let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
                for k in chunk {
                    q = q.bind(*k);
                }
                q.fetch_all(pool).await.map_err(StoreError::db("finding keys with a pending job"))?
                    .iter().map(|r| r.text("coalesce_key")).collect::<Result<Vec<_>, _>>()?
            });
            busy.extend(rows);
        }
        Ok(busy)
    }
}

/// `$first, $first+1, …`: `n` numbered placeholders.
fn marks(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
