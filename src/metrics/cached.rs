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
    last: Mutex<Option<DbSnapshot>>,
}

impl DbGauges {
    /// An empty cache over `store`; the first scrape reads.
    pub fn new(store: Store) -> Self {
        DbGauges {
            store,
            last: Mutex::new(None),
        }
    }

    /// The newest snapshot, read again when older than [`REFRESH`]. If that read fails, the
    /// last good snapshot is served (its gauges go stale, the scrape still answers); only a
    /// first read that fails is an error.
    pub async fn snapshot(&self) -> Result<DbSnapshot, StoreError> {
        // Held across the read: concurrent scrapes wait for one read instead of each doing one.
        let mut last = self.last.lock().await;
        if let Some(s) = last.as_ref().filter(|s| s.read_at.elapsed() < REFRESH) {
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
