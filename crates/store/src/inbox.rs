//! The inbox: raw input (webhook bodies, polled pages, 1C uploads) stored before it is acknowledged,
//! deduplicated per source so a redelivered webhook is not processed twice.

use chrono::{DateTime, Utc};

use crate::db::{ms, on_db, RowExt};
use crate::error::StoreError;
use crate::store::Store;
use sqlx::AssertSqlSafe;

/// One stored input.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxItem {
    /// Row id.
    pub id: i64,
    /// Where it came from, e.g. `shop` or `shop:webhook`.
    pub source: String,
    /// The source's own identity for it (delivery id, `order:123:modified`, file hash).
    pub dedupe_key: String,
    /// What it is, e.g. `order.updated`.
    pub kind: String,
    /// The raw body as received.
    pub payload: String,
    /// When it was stored.
    pub received_at: DateTime<Utc>,
    /// When it was processed, if it was.
    pub processed_at: Option<DateTime<Utc>>,
}

/// One sender's webhook deliveries, counted for the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxStats {
    /// The system that sent them.
    pub source: String,
    /// Deliveries stored in the last hour.
    pub last_hour: i64,
    /// Deliveries stored in the last day.
    pub last_day: i64,
    /// Not processed yet (due or set aside).
    pub waiting: i64,
    /// Of those, set aside to wait for their record.
    pub set_aside: i64,
}

const COLS: &str = "id, source, dedupe_key, kind, payload, received_at, processed_at";

fn from_row(r: &impl RowExt) -> Result<InboxItem, StoreError> {
    Ok(InboxItem {
        id: r.i64("id")?,
        source: r.text("source")?,
        dedupe_key: r.text("dedupe_key")?,
        kind: r.text("kind")?,
        payload: r.text("payload")?,
        received_at: r.time("received_at")?,
        processed_at: r.opt_time("processed_at")?,
    })
}

impl Store {
    /// Stores an input unless (`source`, `dedupe_key`) is already there. Returns true if it was
    /// newly stored, false for a duplicate (which is left untouched).
    pub async fn inbox_put(
        &self,
        source: &str,
        dedupe_key: &str,
        kind: &str,
        payload: &str,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO inbox (source, dedupe_key, kind, payload, received_at) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source, dedupe_key) DO NOTHING";
        let now = ms(self.clock.now());
        let n = on_db!(&self.db, pool => {
            sqlx::query(sql).bind(source).bind(dedupe_key).bind(kind).bind(payload).bind(now)
                .execute(pool).await
                .map_err(StoreError::db(format!("storing inbox item {source}/{dedupe_key}")))?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Unprocessed inputs, oldest first, at most `limit`; those set aside with
    /// [`Store::inbox_retry_later`] only once their time has come.
    pub async fn inbox_unprocessed(&self, limit: u32) -> Result<Vec<InboxItem>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM inbox WHERE processed_at IS NULL \
             AND (retry_at IS NULL OR retry_at <= $2) ORDER BY id LIMIT $1"
        );
        let now = ms(self.clock.now());
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(i64::from(limit)).bind(now).fetch_all(pool).await
                .map_err(StoreError::db("listing unprocessed inbox items"))?
                .iter().map(from_row).collect()
        })
    }

    /// Sets an unprocessed input aside until `after` from now: the passes before then skip it.
    pub async fn inbox_retry_later(
        &self,
        id: i64,
        after: std::time::Duration,
    ) -> Result<(), StoreError> {
        let at = ms(self.clock.now()) + i64::try_from(after.as_millis()).unwrap_or(i64::MAX / 2);
        let sql = "UPDATE inbox SET retry_at = $2 WHERE id = $1 AND processed_at IS NULL";
        on_db!(&self.db, pool => {
            sqlx::query(sql).bind(id).bind(at).execute(pool).await
                .map_err(StoreError::db(format!("setting inbox item {id} aside")))?;
        });
        Ok(())
    }

    /// When the earliest unprocessed input set aside with [`Store::inbox_retry_later`] is due,
    /// if any is.
    pub async fn inbox_next_retry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let sql = "SELECT MIN(retry_at) AS due FROM inbox WHERE processed_at IS NULL AND retry_at IS NOT NULL";
        let due: Option<i64> = on_db!(&self.db, pool => {
            sqlx::query_scalar(sql).fetch_one(pool).await
                .map_err(StoreError::db("reading when the next set-aside inbox item is due"))?
        });
        Ok(due.and_then(DateTime::from_timestamp_millis))
    }

    /// One input by id.
    pub async fn inbox_get(&self, id: i64) -> Result<Option<InboxItem>, StoreError> {
        let sql = format!("SELECT {COLS} FROM inbox WHERE id = $1");
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await
                .map_err(StoreError::db(format!("reading inbox item {id}")))?
                .as_ref().map(from_row).transpose()
        })
    }

    /// Deliveries per sender: stored in the last hour and day, waiting, set aside.
    pub async fn inbox_stats(&self) -> Result<Vec<InboxStats>, StoreError> {
        let now = self.clock.now();
        let hour = ms(now - chrono::Duration::hours(1));
        let day = ms(now - chrono::Duration::days(1));
        let sql = "SELECT source, \
                   SUM(CASE WHEN received_at >= $1 THEN 1 ELSE 0 END) AS last_hour, \
                   SUM(CASE WHEN received_at >= $2 THEN 1 ELSE 0 END) AS last_day, \
                   SUM(CASE WHEN processed_at IS NULL THEN 1 ELSE 0 END) AS waiting, \
                   SUM(CASE WHEN processed_at IS NULL AND retry_at IS NOT NULL THEN 1 ELSE 0 END) AS set_aside \
                   FROM inbox GROUP BY source ORDER BY source";
        on_db!(&self.db, pool => {
            sqlx::query(sql).bind(hour).bind(day).fetch_all(pool).await
                .map_err(StoreError::db("counting webhook deliveries"))?
                .iter()
                .map(|r| Ok(InboxStats {
                    source: r.text("source")?,
                    last_hour: r.i64("last_hour")?,
                    last_day: r.i64("last_day")?,
                    waiting: r.i64("waiting")?,
                    set_aside: r.i64("set_aside")?,
                }))
                .collect()
        })
    }

    /// Marks an input processed (idempotent: the first processing time is kept).
    pub async fn inbox_mark_processed(&self, id: i64) -> Result<(), StoreError> {
        let sql = "UPDATE inbox SET processed_at = $1 WHERE id = $2 AND processed_at IS NULL";
        let now = ms(self.clock.now());
        on_db!(&self.db, pool => {
            sqlx::query(sql).bind(now).bind(id).execute(pool).await
                .map_err(StoreError::db(format!("marking inbox item {id} processed")))?;
        });
        Ok(())
    }
}
