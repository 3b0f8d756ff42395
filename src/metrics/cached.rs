//! The gauges that need the database, read at most every [`REFRESH`]: a scrape within that
//! time of the last read is answered from memory, so a scraper (or several) polling every
//! second costs the database one read per [`REFRESH`].

use crate::config::Config;
use crate::status::StatusReport;
use crate::sync::selection::flow_of_origin;
use chrono::{DateTime, Utc};
use dealbridge_store::{Store, StoreError, WaitingGroup};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a database read serves scrapes.
pub const REFRESH: Duration = Duration::from_secs(5);

/// Gauge: age in seconds of the oldest pending job, by `flow` (0 when none is pending).
pub const OLDEST_PENDING_AGE: &str = "dealbridge_oldest_pending_job_age_seconds";
/// Gauge: pending plus running jobs, by `flow`.
pub const QUEUE_DEPTH: &str = "dealbridge_queue_depth";

/// The `flow` label of waiting jobs that belong to no configured flow (a flow renamed or
/// removed since they were queued, a payments job whose store carries no payments flow).
pub const NO_FLOW: &str = crate::metrics::engine::NO_FLOW;

/// One flow's waiting work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowQueue {
    /// Pending plus running jobs.
    pub depth: i64,
    /// When its oldest pending job was enqueued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// One database read.
#[derive(Debug, Clone)]
pub struct DbSnapshot {
    /// Queue by state, bindings, open conflicts (the status report).
    pub report: StatusReport,
    /// When the oldest pending job was enqueued.
    pub oldest_pending: Option<DateTime<Utc>>,
    /// Waiting work by `flow` label: every configured flow and [`NO_FLOW`], waiting or not.
    pub flows: BTreeMap<String, FlowQueue>,
    /// When this was read.
    read_at: Instant,
}

/// The cache of database gauges.
#[derive(Debug)]
pub struct DbGauges {
    store: Store,
    refresh: Duration,
    /// The flows the `flow` label may name; without a config every waiting job is [`NO_FLOW`].
    config: Option<Arc<Config>>,
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
            config: None,
            last: Mutex::new(None),
        }
    }

    /// The same, labelling waiting jobs with the flows of `config`.
    pub fn with_config(mut self, config: Arc<Config>) -> Self {
        self.config = Some(config);
        self
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
        let queue = self.store.queue();
        let groups = queue.waiting_by_origin().await?;
        Ok(DbSnapshot {
            report: StatusReport::gather(&self.store).await?,
            oldest_pending: queue.oldest_pending().await?,
            flows: by_flow(&groups, self.config.as_deref()),
            read_at: Instant::now(),
        })
    }
}

/// Folds the store's groups into one entry per `flow` label: each configured flow and
/// [`NO_FLOW`], so every series exists (at 0) before its first job.
pub fn by_flow(groups: &[WaitingGroup], config: Option<&Config>) -> BTreeMap<String, FlowQueue> {
    let mut flows: BTreeMap<String, FlowQueue> = config
        .into_iter()
        .flat_map(|c| &c.flows)
        .map(|f| (f.name.clone(), FlowQueue::default()))
        .collect();
    flows.insert(NO_FLOW.to_string(), FlowQueue::default());
    for g in groups {
        let named =
            config.and_then(|c| flow_of_origin(g.flow.as_deref(), g.entity_system.as_deref(), c));
        // Only configured names become labels: a payload's flow is data, not a bounded set.
        let label = named
            .filter(|n| flows.contains_key(n))
            .unwrap_or_else(|| NO_FLOW.to_string());
        let entry = flows.entry(label).or_default();
        entry.depth += g.pending + g.running;
        entry.oldest_pending = match (entry.oldest_pending, g.oldest_pending) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    flows
}

impl DbSnapshot {
    /// The gauges in the text format; the oldest pending job's age is taken at `now`, so it
    /// keeps growing between reads.
    pub fn to_prometheus(&self, now: DateTime<Utc>) -> String {
        let mut out = self.report.to_prometheus();
        out.push_str(&super::poll::lag_exposition(&self.report.loops, now));
        out.push_str(&format!(
            "# HELP {QUEUE_DEPTH} Jobs pending or running, by flow.\n# TYPE {QUEUE_DEPTH} gauge\n"
        ));
        for (flow, q) in &self.flows {
            out.push_str(&format!("{QUEUE_DEPTH}{{flow=\"{flow}\"}} {}\n", q.depth));
        }
        out.push_str(&format!(
            "# HELP {OLDEST_PENDING_AGE} Age of the oldest pending job, by flow (0: none pending).\n# TYPE {OLDEST_PENDING_AGE} gauge\n"
        ));
        for (flow, q) in &self.flows {
            let age = q
                .oldest_pending
                .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
            out.push_str(&format!("{OLDEST_PENDING_AGE}{{flow=\"{flow}\"}} {age}\n"));
        }
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
            text.contains(&format!("{OLDEST_PENDING_AGE}{{flow=\"none\"}} 0\n")),
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
            later.contains(&format!("{OLDEST_PENDING_AGE}{{flow=\"none\"}} 90\n")),
            "{later}"
        );
    }
}
