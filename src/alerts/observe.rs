//! Reads what the rules look at ([`Observations`]) from the store and the loops' health; only
//! what the rules that are on need.

use super::rules::{DeadJob, ExchangeOutcome, Observations, PollLoop, WaitingConflict};
use crate::config::{AlertRules, Config};
use crate::sync::selection::flow_of;
use crate::sync::supervisor::{Health, LoopHealth};
use chrono::{DateTime, Utc};
use dealbridge_store::{
    ConflictFilter, ConflictState, EntityKind, Job, JobFilter, JobKind, JobState, Store, StoreError,
};

/// Most dead jobs read per pass: enough to see every flow that has some, bounded so a dead
/// letter of millions does not make each pass read it all.
const DEAD_JOBS_READ: u32 = 10_000;
/// Most open conflicts read per pass.
const CONFLICTS_READ: u32 = 1_000;

/// The journal action of a failed 1C exchange step ([`super::exchange`] writes it).
pub const EXCHANGE_FAILED: &str = "failed";

/// Everything the rules that are on need, as of `now`.
pub async fn observe(
    store: &Store,
    config: &Config,
    health: &Health,
    rules: &AlertRules,
    started_at: DateTime<Utc>,
) -> Result<Observations, StoreError> {
    let now = store.now();
    let dead_jobs = if rules.job_dead || rules.auth_failed {
        store
            .queue()
            .list(&JobFilter {
                states: vec![JobState::Dead],
                limit: DEAD_JOBS_READ,
                ..JobFilter::default()
            })
            .await?
            .iter()
            .filter_map(|j| dead_job_of(j, config))
            .collect()
    } else {
        Vec::new()
    };
    let exchanges = if rules.exchange_1c_failed {
        store
            .journal_latest_per_entity(EntityKind::Exchange1c)
            .await?
            .into_iter()
            .map(|row| ExchangeOutcome {
                failed: row.action == EXCHANGE_FAILED,
                detail: exchange_detail(row.detail.as_deref()).unwrap_or(row.action),
                exchange: row.entity_id,
                at: row.at,
            })
            .collect()
    } else {
        Vec::new()
    };
    let conflicts = if rules.conflicts_waiting_after.is_some() {
        store
            .conflicts(&ConflictFilter {
                state: Some(ConflictState::Open),
                limit: CONFLICTS_READ,
                ..ConflictFilter::default()
            })
            .await?
            .into_iter()
            .map(|c| WaitingConflict {
                id: c.id,
                entity: format!("{} {}", c.kind, c.entity_id),
                field: c.field,
                since: c.created_at,
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Observations {
        now,
        started_at,
        dead_jobs,
        polls: health
            .snapshot()
            .iter()
            .filter_map(|l| poll_loop_of(l, config))
            .collect(),
        exchanges,
        conflicts,
    })
}

/// A dead job as the rules see it; `None` for an alert's own job, so that a notification that
/// could not be delivered does not raise another one (and so on).
pub fn dead_job_of(job: &Job, config: &Config) -> Option<DeadJob> {
    if job.kind == JobKind::Alert {
        return None;
    }
    Some(DeadJob {
        id: job.id,
        flow: flow_of(job, config),
        target: job.target.clone(),
        error_kind: job.last_error_kind.clone(),
        error: job.last_error.clone(),
        dead_at: job.finished_at.unwrap_or(job.updated_at),
    })
}

/// A poll loop (`poll:<flow>`, `pull:<flow>`) that is still running, with the system it reads.
pub fn poll_loop_of(l: &LoopHealth, config: &Config) -> Option<PollLoop> {
    let flow = l
        .name
        .strip_prefix("poll:")
        .or_else(|| l.name.strip_prefix("pull:"))?;
    if l.ended {
        return None;
    }
    Some(PollLoop {
        flow: flow.to_string(),
        system: config.flow(flow).map(|f| f.from.clone()),
        last_success: l.last_success,
        failing_since: l.failing_since,
        last_error: l.last_error.clone(),
        last_error_kind: l.last_error_kind.clone(),
    })
}

/// A 1C exchange line's detail in words: a file's line (`{"file", "error"|"summary"}`, written by
/// the importer) as `import of <file>: <error or counts>`, another step's line as it is.
fn exchange_detail(detail: Option<&str>) -> Option<String> {
    let text = detail?;
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Some(text.to_string());
    };
    let Some(file) = v["file"].as_str() else {
        return Some(text.to_string());
    };
    let what = v["error"].as_str().or(v["summary"].as_str()).unwrap_or("");
    Some(format!("import of {file}: {what}"))
}
