//! The gauges that need the database, read at most every [`REFRESH`]: a scrape within that
//! time of the last read is answered from memory, so a scraper (or several) polling every
//! second costs the database one read per [`REFRESH`].

use crate::status::StatusReport;
use chrono::{DateTime, Utc};
use dealbridge_store::{Store, StoreError};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a database read serves scrapes.
pub const REFRESH: Duration = Duration::from_secs(5);

/// Gauge: age in seconds of the oldest pending job (0 when nothing is pending).
pub const OLDEST_PENDING_AGE: &str = "dealbridge_oldest_pending_job_age_seconds";

/// One database read.
#[derive(Debug, Clone)]
pub struct DbSnapshot {
    /// Queue by state, bindings, open conflicts (the status report).
    pub report: StatusReport,
    /// When the oldest pending job was enqueued.
    pub oldest_pending: Option<DateTime<Utc>>,
    /// When this was read.
    read_at: Instant,
}

/// The cache of database gauges.
#[derive(Debug)]
pub struct DbGauges {
    store: Store,
    refresh: Duration,
    last: Mutex<Option<DbSnapshot>>,
}

impl DbGauges {
    /// An empty cache over `store`, read at most every [`REFRESH`]; the first scrape reads.
    pub fn new(store: Store) -> Self {
        Self::with_refresh(store, REFRESH)
    }

    /// [`DbGauges::new`] with another refresh interval.
    pub fn with_refresh(store: Store, refresh: Duration) -> Self {
        DbGauges {
            store,
            refresh,
            last: Mutex::new(None),
        }
    }

    /// The newest snapshot, read again when older than the refresh interval. If that read fails, the
    /// last good snapshot is served (its gauges go stale, the scrape still answers); only a
    /// first read that fails is an error.
    pub async fn snapshot(&self) -> Result<DbSnapshot, StoreError> {
        // Held across the read: concurrent scrapes wait for one read instead of each doing one.
        let mut last = self.last.lock().await;
        if let Some(s) = last.as_ref().filter(|s| s.read_at.elapsed() < self.refresh) {
            return Ok(s.clone());
        }
        match self.read().await {
            Ok(fresh) => {
                *last = Some(fresh.clone());
                Ok(fresh)
            }
            Err(e) => match last.as_ref() {
                Some(stale) => {
                    tracing::warn!(error = %e, "metrics: database unavailable; serving the last gauges read");
                    Ok(stale.clone())
                }
                None => Err(e),
            },
        }
    }

    async fn read(&self) -> Result<DbSnapshot, StoreError> {
        Ok(DbSnapshot {
            report: StatusReport::gather(&self.store).await?,
            oldest_pending: self.store.queue().oldest_pending().await?,
            read_at: Instant::now(),
        })
    }
}

impl DbSnapshot {
    /// The gauges in the text format; the oldest pending job's age is taken at `now`, so it
    /// keeps growing between reads.
    pub fn to_prometheus(&self, now: DateTime<Utc>) -> String {
        let mut out = self.report.to_prometheus();
        let age = self
            .oldest_pending
            .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
        out.push_str(&format!(
            "# HELP {OLDEST_PENDING_AGE} Age of the oldest pending job (0: none pending).\n# TYPE {OLDEST_PENDING_AGE} gauge\n{OLDEST_PENDING_AGE} {age}\n"
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dealbridge_store::{JobKind, NewJob};

    async fn enqueue(store: &Store, key: &str) {
        store
            .queue()
            .enqueue(&NewJob {
                kind: JobKind::DealUpsert,
                target: "crm",
                coalesce_key: key,
                payload: &serde_json::json!({}),
                max_attempts: 3,
            })
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn scrapes_within_the_interval_are_served_from_memory() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let gauges = DbGauges::with_refresh(store.clone(), Duration::from_millis(300));
        let first = gauges.snapshot().await.unwrap();
        assert_eq!(first.report.jobs("pending"), 0);
        assert_eq!(first.oldest_pending, None);
        let text = first.to_prometheus(Utc::now());
        assert!(
            text.contains(&format!("{OLDEST_PENDING_AGE} 0\n")),
            "{text}"
        );

        enqueue(&store, "a").await;
        // Within the interval: the database is not read again.
        assert_eq!(gauges.snapshot().await.unwrap().report.jobs("pending"), 0);

        tokio::time::sleep(Duration::from_millis(350)).await;
        let fresh = gauges.snapshot().await.unwrap();
        assert_eq!(fresh.report.jobs("pending"), 1);
        let enqueued = fresh.oldest_pending.expect("a pending job");
        // The age keeps growing between reads.
        let later = fresh.to_prometheus(enqueued + chrono::Duration::seconds(90));
        assert!(
            later.contains(&format!("{OLDEST_PENDING_AGE} 90\n")),
            "{later}"
        );
    }
}
