//! The evaluator: every `check_every`, observe, decide ([`super::rules`]) and apply: open or
//! resolve incidents, each together with its notification job ([`JobKind::Alert`], delivered
//! by the queue workers with their retries and dead letter).

use super::notify::{AlertState, Notification, SYSTEM};
use super::observe::observe;
use super::rules::{conditions, decide, undecided, Action, Condition};
use crate::config::{AlertsConfig, Config};
use crate::sync::supervisor::{supervise, Health, Next, Supervision};
use chrono::{DateTime, Utc};
use dealbridge_store::{
    Backend, Incident, JobKind, NamedLock, NewIncident, NewJob, Store, StoreError,
};
use std::sync::Arc;
use tracing::{debug, warn};

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Incidents opened (firing notifications queued).
    pub opened: u32,
    /// Incidents resolved (resolved notifications queued).
    pub resolved: u32,
}

/// The named lock whose holder evaluates, when several processes share a PostgreSQL database.
pub const LEADER_LOCK: &str = "alerts:evaluator";

/// Evaluates the alert rules of one process.
pub struct Evaluator {
    store: Store,
    config: Arc<Config>,
    health: Arc<Health>,
    started_at: DateTime<Utc>,
    /// Held for the process's life once taken (PostgreSQL only).
    leader: tokio::sync::Mutex<Option<NamedLock>>,
}

impl Evaluator {
    /// An evaluator over `store` and the loops in `health`; polls that have not succeeded
    /// since now count as stale from now.
    pub fn new(store: Store, config: Arc<Config>, health: Arc<Health>) -> Evaluator {
        let started_at = store.now();
        Evaluator {
            store,
            config,
            health,
            started_at,
            leader: tokio::sync::Mutex::new(None),
        }
    }

    fn alerts(&self) -> Option<&AlertsConfig> {
        self.config.alerts.as_ref()
    }

    /// One evaluation: observe, decide, apply.
    pub async fn pass(&self) -> Result<PassReport, StoreError> {
        let Some(alerts) = self.alerts() else {
            return Ok(PassReport::default());
        };
        if !self.leads().await? {
            return Ok(PassReport::default());
        }
        let obs = observe(
            &self.store,
            &self.config,
            &self.health,
            &alerts.rules,
            self.started_at,
        )
        .await?;
        let now = conditions(&obs, &alerts.rules);
        let open = self.store.open_incidents().await?;
        let mut report = PassReport::default();
        for action in decide(&open, &now, &undecided(&obs), &alerts.rules) {
            match action {
                Action::Open(c) => {
                    if self.open(&c, alerts.max_attempts).await? {
                        report.opened += 1;
                    }
                }
                Action::Resolve(i) => {
                    if self.resolve(&i, alerts.max_attempts).await? {
                        report.resolved += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Whether this process evaluates. Processes sharing a PostgreSQL database each see only
    /// their own loops' health, so two evaluators would take turns opening and resolving an
    /// incident one of them alone sees; one leader (a named lock, kept until the process ends
    /// and released by PostgreSQL if it dies) evaluates for all. SQLite is one process.
    async fn leads(&self) -> Result<bool, StoreError> {
        if self.store.backend() != Backend::Postgres {
            return Ok(true);
        }
        let mut leader = self.leader.lock().await;
        if leader.is_none() {
            *leader = self.store.try_lock(LEADER_LOCK).await?;
            if leader.is_some() {
                tracing::info!("this process evaluates the alert rules");
            }
        }
        Ok(leader.is_some())
    }

    /// Opens the incident of `c` with its firing notification; false if another process
    /// opened it first.
    async fn open(&self, c: &Condition, max_attempts: u32) -> Result<bool, StoreError> {
        let at = self.store.now();
        let n = Notification {
            alert: c.rule.as_str().to_string(),
            state: AlertState::Firing,
            key: c.key.clone(),
            summary: c.summary.clone(),
            details: c.details.clone(),
            since: c.since,
            at,
        };
        let payload = serde_json::to_value(&n).unwrap_or_default();
        let coalesce = format!("alert:{}:{}:firing", c.key, at.timestamp_millis());
        let opened = self
            .store
            .open_incident(
                &NewIncident {
                    key: &c.key,
                    rule: c.rule.as_str(),
                    summary: &c.summary,
                    details: &c.details,
                    since: c.since,
                },
                &notice(&coalesce, &payload, max_attempts),
            )
            .await?;
        if opened.is_some() {
            warn!(alert = %c.key, summary = %c.summary, "alert firing");
        }
        Ok(opened.is_some())
    }

    /// Resolves `i` with its resolved notification; false if it was resolved already.
    async fn resolve(&self, i: &Incident, max_attempts: u32) -> Result<bool, StoreError> {
        let n = Notification {
            alert: i.rule.clone(),
            state: AlertState::Resolved,
            key: i.key.clone(),
            summary: i.summary.clone(),
            details: i.details.clone(),
            since: i.since,
            at: self.store.now(),
        };
        let payload = serde_json::to_value(&n).unwrap_or_default();
        let coalesce = format!("alert:{}:{}:resolved", i.key, i.id);
        let done = self
            .store
            .resolve_incident(i.id, &notice(&coalesce, &payload, max_attempts))
            .await?;
        if done {
            tracing::info!(alert = %i.key, "alert resolved");
        }
        Ok(done)
    }
}

/// The job that delivers one notification. Its key is the notification's own, so two
/// notifications never fold into one.
fn notice<'a>(key: &'a str, payload: &'a serde_json::Value, max_attempts: u32) -> NewJob<'a> {
    NewJob {
        kind: JobKind::Alert,
        target: SYSTEM,
        coalesce_key: key,
        payload,
        max_attempts,
    }
}

/// The `alerts` loop of `dealbridge run`: a pass every `[alerts] check_every`, the first one
/// `check_every` after the start, once the other loops are running (an incident about a loop
/// that is not there yet would look cleared).
pub async fn run(evaluator: Arc<Evaluator>, sup: Supervision) {
    let every = evaluator
        .alerts()
        .map_or(std::time::Duration::from_secs(30), |a| a.check_every);
    tokio::select! {
        _ = sup.stop.cancelled() => return,
        _ = tokio::time::sleep(every) => {}
    }
    supervise("alerts".to_string(), sup, move || {
        let evaluator = evaluator.clone();
        async move {
            let r = evaluator.pass().await?;
            debug!(
                opened = r.opened,
                resolved = r.resolved,
                "alert rules evaluated"
            );
            Ok::<_, StoreError>(Next::After(every))
        }
    })
    .await;
}
