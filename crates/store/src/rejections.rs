//! Webhook deliveries refused before anything was stored, counted for the console's Webhooks
//! page: per system, per reason, per minute.
//!
//! A refused delivery is not kept (it may be forged, and anyone can send one), so only a
//! counter per `(system, reason, minute)` is upserted, with the last refusal's message of that
//! minute. A flood of forged requests adds to one row a minute; rows older than
//! [`REJECTIONS_KEPT`] are pruned when a new minute's row is started, so the table holds at most
//! systems × reasons × two days of minutes.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::db::{ms, on_db, RowExt};
use crate::error::StoreError;
use crate::store::Store;

/// How long rejection counters are kept.
pub const REJECTIONS_KEPT: Duration = Duration::days(2);

/// Longest refusal message kept (the receivers' messages are one sentence; this bounds a row).
const MESSAGE_CHARS: usize = 300;

/// One system's refusals of one reason, counted for the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectionStats {
    /// The configured system the deliveries were addressed to.
    pub system: String,
    /// Why they were refused (`bad_signature`, `malformed`, …: the engine names them).
    pub reason: String,
    /// Refusals in the last hour.
    pub last_hour: i64,
    /// Refusals in the last day.
    pub last_day: i64,
    /// The most recent refusal's message.
    pub last_message: String,
    /// The minute of the most recent refusal.
    pub last_at: DateTime<Utc>,
}

/// The start of the minute `t` falls in, in unix ms.
fn minute_of(t: DateTime<Utc>) -> i64 {
    let m = ms(t);
    m - m.rem_euclid(60_000)
}

impl Store {
    /// Counts one refused delivery to `system` for `reason`, keeping `message` as the minute's
    /// last. `system` must be a configured system's name (the caller checks: a name taken from
    /// the request path would let anyone add rows).
    pub async fn record_webhook_rejection(
        &self,
        system: &str,
        reason: &str,
        message: &str,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let minute = minute_of(now);
        let message: String = message.chars().take(MESSAGE_CHARS).collect();
        let sql = "INSERT INTO webhook_rejections (system, reason, minute, count, last_message) \
                   VALUES ($1, $2, $3, 1, $4) \
                   ON CONFLICT (system, reason, minute) DO UPDATE SET \
                   count = webhook_rejections.count + 1, last_message = excluded.last_message \
                   RETURNING count";
        let count: i64 = on_db!(&self.db, pool => {
            sqlx::query(sql).bind(system).bind(reason).bind(minute).bind(&message)
                .fetch_one(pool).await
                .map_err(StoreError::db(format!("counting a refused webhook delivery to {system}")))?
                .i64("count")?
        });
        // The minute's first refusal: the moment to drop what has aged out (once a minute at
        // most, however many refusals arrive).
        if count == 1 {
            self.prune_webhook_rejections().await?;
        }
        Ok(())
    }

    /// Deletes counters older than [`REJECTIONS_KEPT`]; how many rows went.
    pub async fn prune_webhook_rejections(&self) -> Result<u64, StoreError> {
        let cutoff = minute_of(self.clock.now() - REJECTIONS_KEPT);
        let sql = "DELETE FROM webhook_rejections WHERE minute < $1";
        let done = on_db!(&self.db, pool => {
            sqlx::query(sql).bind(cutoff).execute(pool).await
                .map_err(StoreError::db("pruning old webhook rejection counters"))?
                .rows_affected()
        });
        Ok(done)
    }

    /// Refusals per system and reason in the last hour and day, with the latest message;
    /// ordered by system and reason.
    pub async fn webhook_rejections(&self) -> Result<Vec<RejectionStats>, StoreError> {
        let now = self.clock.now();
        let hour = minute_of(now - Duration::hours(1));
        let day = minute_of(now - Duration::days(1));
        // At most systems × reasons × 1,440 rows: summed here, the same on both databases.
        let sql = "SELECT system, reason, minute, count, last_message FROM webhook_rejections \
                   WHERE minute >= $1 ORDER BY system, reason, minute";
        let rows: Vec<(String, String, i64, i64, String)> = on_db!(&self.db, pool => {
            sqlx::query(sql).bind(day).fetch_all(pool).await
                .map_err(StoreError::db("reading webhook rejection counters"))?
                .iter()
                .map(|r| Ok((r.text("system")?, r.text("reason")?, r.i64("minute")?,
                             r.i64("count")?, r.text("last_message")?)))
                .collect::<Result<_, StoreError>>()?
        });
        let mut out: BTreeMap<(String, String), RejectionStats> = BTreeMap::new();
        for (system, reason, minute, count, message) in rows {
            let at = crate::db::from_ms(minute, "webhook_rejections.minute")?;
            let s = out
                .entry((system.clone(), reason.clone()))
                .or_insert_with(|| RejectionStats {
                    system,
                    reason,
                    last_hour: 0,
                    last_day: 0,
                    last_message: String::new(),
                    last_at: at,
                });
            s.last_day += count;
            if minute >= hour {
                s.last_hour += count;
            }
            // Rows come oldest first: the last one read is the latest.
            s.last_message = message;
            s.last_at = at;
        }
        Ok(out.into_values().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_floored() {
        let t = DateTime::from_timestamp_millis(1_700_000_123_456).unwrap();
        assert_eq!(minute_of(t), 1_700_000_100_000);
        assert_eq!(minute_of(t) % 60_000, 0);
    }
}
