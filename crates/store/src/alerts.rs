//! Alert incidents: a condition an alert rule found (a flow with dead jobs, a poll gone stale),
//! open from the moment it was first seen until it cleared.
//!
//! Opening or resolving an incident and queueing its notification happen in one transaction, so
//! a crash leaves either both or neither: a restart never sends a firing alert twice nor forgets
//! the clear. At most one incident per key is open (a partial unique index), so two processes
//! evaluating the same database open it once between them.

use chrono::{DateTime, Utc};

use crate::db::{ms, on_db, RowExt};
use crate::error::StoreError;
use crate::queue::{NewJob, ENQUEUE_SQL};
use crate::snapshot::canonical_json;
use crate::store::Store;
use sqlx::AssertSqlSafe;

/// An incident to open.
#[derive(Debug, Clone, Copy)]
pub struct NewIncident<'a> {
    /// Stable identity of the condition, e.g. `job_dead:flow=orders`.
    pub key: &'a str,
    /// The rule that found it, e.g. `job_dead`.
    pub rule: &'a str,
    /// One line for a person.
    pub summary: &'a str,
    /// The particulars (flow, error, counts) as JSON.
    pub details: &'a serde_json::Value,
    /// When the condition began (e.g. when the first job went dead).
    pub since: DateTime<Utc>,
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    /// Row id.
    pub id: i64,
    /// Stable identity of the condition.
    pub key: String,
    /// The rule that found it.
    pub rule: String,
    /// One line for a person, as it was when the incident opened.
    pub summary: String,
    /// The particulars as they were when the incident opened.
    pub details: serde_json::Value,
    /// When the condition began.
    pub since: DateTime<Utc>,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// When it cleared; `None` while open.
    pub resolved_at: Option<DateTime<Utc>>,
}

const COLS: &str = "id, key, rule, summary, details, since, opened_at, resolved_at";

fn from_row(r: &impl RowExt) -> Result<Incident, StoreError> {
    Ok(Incident {
        id: r.i64("id")?,
        key: r.text("key")?,
        rule: r.text("rule")?,
        summary: r.text("summary")?,
        details: r.json("details")?,
        since: r.time("since")?,
        opened_at: r.time("opened_at")?,
        resolved_at: r.opt_time("resolved_at")?,
    })
}

/// Queues `notice` inside the open transaction `tx` (expanded once per backend by `on_db!`).
macro_rules! enqueue_in {
    ($tx:ident, $notice:expr, $now:expr, $op:ident) => {
        sqlx::query(ENQUEUE_SQL)
            .bind($notice.kind.as_str())
            .bind($notice.target)
            .bind($notice.coalesce_key)
            .bind(canonical_json($notice.payload))
            .bind(i64::from($notice.max_attempts.max(1)))
            .bind($now)
            .execute(&mut *$tx)
            .await
            .map_err(StoreError::db($op()))?
    };
}

impl Store {
    /// Every open incident, oldest first.
    pub async fn open_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        let sql =
            format!("SELECT {COLS} FROM alert_incidents WHERE resolved_at IS NULL ORDER BY id");
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).fetch_all(pool).await
                .map_err(StoreError::db("listing open alert incidents"))?
                .iter().map(from_row).collect()
        })
    }

    /// The latest `limit` incidents, open and resolved, newest first.
    pub async fn incidents(&self, limit: u32) -> Result<Vec<Incident>, StoreError> {
        let sql = format!("SELECT {COLS} FROM alert_incidents ORDER BY id DESC LIMIT $1");
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(i64::from(limit)).fetch_all(pool).await
                .map_err(StoreError::db("listing alert incidents"))?
                .iter().map(from_row).collect()
        })
    }

    /// Opens an incident and queues `notice` (its firing notification) in one transaction.
    /// Returns the new incident's id, or `None` when an incident with this key is already open
    /// (then nothing is queued).
    pub async fn open_incident(
        &self,
        incident: &NewIncident<'_>,
        notice: &NewJob<'_>,
    ) -> Result<Option<i64>, StoreError> {
        let now = ms(self.clock.now());
        let insert = "INSERT INTO alert_incidents (key, rule, summary, details, since, opened_at) \
                      VALUES ($1, $2, $3, $4, $5, $6) \
                      ON CONFLICT (key) WHERE resolved_at IS NULL DO NOTHING RETURNING id";
        let details = canonical_json(incident.details);
        let op = || format!("opening alert incident {}", incident.key);
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_with(self.db.begin_write()).await.map_err(StoreError::db(op()))?;
            let id = sqlx::query(insert)
                .bind(incident.key).bind(incident.rule).bind(incident.summary).bind(&details).bind(ms(incident.since)).bind(now)
                .fetch_optional(&mut *tx).await
                .map_err(StoreError::db(op()))?
                .map(|r| r.i64("id")).transpose()?;
            if id.is_some() {
                enqueue_in!(tx, notice, now, op);
            }
            tx.commit().await.map_err(StoreError::db(op()))?;
            Ok(id)
        })
    }

    /// Resolves the open incident `id` and queues `notice` (its resolved notification) in one
    /// transaction. False when it was not open any more (then nothing is queued).
    pub async fn resolve_incident(&self, id: i64, notice: &NewJob<'_>) -> Result<bool, StoreError> {
        let now = ms(self.clock.now());
        let update =
            "UPDATE alert_incidents SET resolved_at = $1 WHERE id = $2 AND resolved_at IS NULL";
        let op = || format!("resolving alert incident {id}");
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_with(self.db.begin_write()).await.map_err(StoreError::db(op()))?;
            let n = sqlx::query(update).bind(now).bind(id)
                .execute(&mut *tx).await
                .map_err(StoreError::db(op()))?
                .rows_affected();
            if n == 1 {
                enqueue_in!(tx, notice, now, op);
            }
            tx.commit().await.map_err(StoreError::db(op()))?;
            Ok(n == 1)
        })
    }
}
