//! The alert rules, pure: what the engine looks like now ([`Observations`]) → the conditions that
//! hold ([`conditions`]); the open incidents and those conditions → what to send ([`decide`]).
//! No I/O here: the evaluator reads the observations and applies the actions.

use crate::config::AlertRules;
use chrono::{DateTime, Utc};
use dealbridge_store::Incident;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The rules, by the name incidents and notifications carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// A flow has jobs in the dead letter.
    JobDead,
    /// A flow's poll has not succeeded for `poll_stale_after`.
    PollStale,
    /// A system rejects our credentials.
    AuthFailed,
    /// The last 1C exchange step of a type failed.
    Exchange1cFailed,
    /// Conflicts have waited for a person longer than `conflicts_waiting_after`.
    ConflictsWaiting,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 5] = [
        Rule::JobDead,
        Rule::PollStale,
        Rule::AuthFailed,
        Rule::Exchange1cFailed,
        Rule::ConflictsWaiting,
    ];

    /// The name in incidents and notifications (`alert`).
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::JobDead => "job_dead",
            Rule::PollStale => "poll_stale",
            Rule::AuthFailed => "auth_failed",
            Rule::Exchange1cFailed => "exchange_1c_failed",
            Rule::ConflictsWaiting => "conflicts_waiting",
        }
    }

    /// The rule named `name`, if any.
    pub fn named(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Whether `[alerts]` has this rule on.
    pub fn enabled(self, rules: &AlertRules) -> bool {
        match self {
            Rule::JobDead => rules.job_dead,
            Rule::PollStale => rules.poll_stale_after.is_some(),
            Rule::AuthFailed => rules.auth_failed,
            Rule::Exchange1cFailed => rules.exchange_1c_failed,
            Rule::ConflictsWaiting => rules.conflicts_waiting_after.is_some(),
        }
    }
}

/// A dead job (never an alert's own: a dead notification must not raise another).
#[derive(Debug, Clone, PartialEq)]
pub struct DeadJob {
    /// Job id.
    pub id: i64,
    /// Its flow, when known.
    pub flow: Option<String>,
    /// The system it writes to.
    pub target: String,
    /// The last failure's code (`mapping`, `auth`, …).
    pub error_kind: Option<String>,
    /// The last failure's message.
    pub error: Option<String>,
    /// When it went dead.
    pub dead_at: DateTime<Utc>,
}

/// A poll loop of `run` (an order poll or a deal pull) and its health.
#[derive(Debug, Clone, PartialEq)]
pub struct PollLoop {
    /// The flow it polls for.
    pub flow: String,
    /// The system it reads (where a rejected credential lives).
    pub system: Option<String>,
    /// When a pass last succeeded (`None`: not since the process started).
    pub last_success: Option<DateTime<Utc>>,
    /// Failing now: since when.
    pub failing_since: Option<DateTime<Utc>>,
    /// The last failure's text.
    pub last_error: Option<String>,
    /// The last failure's connector code.
    pub last_error_kind: Option<String>,
}

/// The latest outcome of one type of 1C exchange (`catalog`, `sale`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeOutcome {
    /// The exchange type.
    pub exchange: String,
    /// Whether that step failed.
    pub failed: bool,
    /// What the journal says about it.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// An open conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitingConflict {
    /// Conflict id.
    pub id: i64,
    /// `deal shop:12`.
    pub entity: String,
    /// The field.
    pub field: String,
    /// When it was found.
    pub since: DateTime<Utc>,
}

/// Everything the rules look at, read by the evaluator.
#[derive(Debug, Clone, PartialEq)]
pub struct Observations {
    /// Now.
    pub now: DateTime<Utc>,
    /// When the evaluator started: a poll that has not succeeded since counts from then.
    pub started_at: DateTime<Utc>,
    /// Dead jobs, newest first.
    pub dead_jobs: Vec<DeadJob>,
    /// The poll loops.
    pub polls: Vec<PollLoop>,
    /// Each 1C exchange type's latest outcome.
    pub exchanges: Vec<ExchangeOutcome>,
    /// Open conflicts.
    pub conflicts: Vec<WaitingConflict>,
}

/// A condition that holds now: an incident when it has none open.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Stable identity, e.g. `job_dead:flow=orders`.
    pub key: String,
    /// The rule that found it.
    pub rule: Rule,
    /// One line for a person.
    pub summary: String,
    /// The particulars.
    pub details: Value,
    /// When it began.
    pub since: DateTime<Utc>,
}

/// What the evaluator does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open an incident for the condition and send its firing notification.
    Open(Condition),
    /// Resolve the incident and send its clear.
    Resolve(Incident),
}

/// The conditions that hold, for the rules that are on, ordered by key.
pub fn conditions(obs: &Observations, rules: &AlertRules) -> Vec<Condition> {
    let mut out = Vec::new();
    if rules.job_dead {
        out.extend(dead_jobs(&obs.dead_jobs));
    }
    if let Some(after) = rules.poll_stale_after {
        out.extend(stale_polls(obs, after));
    }
    if rules.auth_failed {
        out.extend(auth_failures(obs));
    }
    if rules.exchange_1c_failed {
        out.extend(failed_exchanges(&obs.exchanges));
    }
    if let Some(after) = rules.conflicts_waiting_after {
        out.extend(waiting_conflicts(obs, after));
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// The keys whose condition cannot be judged yet: those of a poll loop that has not finished a
/// pass since the process started. A restart must not clear (and then fire again) an
/// incident only because the new process has not looked yet.
pub fn undecided(obs: &Observations) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for p in obs
        .polls
        .iter()
        .filter(|p| p.last_success.is_none() && p.last_error.is_none())
    {
        keys.insert(format!("poll_stale:flow={}", p.flow));
        if let Some(system) = &p.system {
            keys.insert(format!("auth_failed:system={system}"));
        }
    }
    keys
}

/// Once per incident: a condition without an open incident opens one; an open incident whose
/// condition is gone is resolved, unless its key is `undecided`. Incidents of rules turned off
/// (or unknown to this version) are left as they are: the condition was not looked at, so it
/// did not clear.
pub fn decide(
    open: &[Incident],
    now: &[Condition],
    undecided: &BTreeSet<String>,
    rules: &AlertRules,
) -> Vec<Action> {
    let open_keys: BTreeSet<&str> = open.iter().map(|i| i.key.as_str()).collect();
    let mut holding: BTreeSet<&str> = now.iter().map(|c| c.key.as_str()).collect();
    holding.extend(undecided.iter().map(String::as_str));
    let mut actions: Vec<Action> = now
        .iter()
        .filter(|c| !open_keys.contains(c.key.as_str()))
        .cloned()
        .map(Action::Open)
        .collect();
    actions.extend(
        open.iter()
            .filter(|i| Rule::named(&i.rule).is_some_and(|r| r.enabled(rules)))
            .filter(|i| !holding.contains(i.key.as_str()))
            .cloned()
            .map(Action::Resolve),
    );
    actions
}

/// `job_dead`: one condition per flow with dead jobs (jobs without a flow: per target).
fn dead_jobs(jobs: &[DeadJob]) -> Vec<Condition> {
    let mut by_group: BTreeMap<(String, String), Vec<&DeadJob>> = BTreeMap::new();
    for j in jobs {
        let group = match &j.flow {
            Some(f) => ("flow".to_string(), f.clone()),
            None => ("target".to_string(), j.target.clone()),
        };
        by_group.entry(group).or_default().push(j);
    }
    by_group
        .into_iter()
        .map(|((what, name), jobs)| {
            let latest = jobs.iter().max_by_key(|j| (j.dead_at, j.id)).expect("a group has a job");
            let since = jobs.iter().map(|j| j.dead_at).min().unwrap_or(latest.dead_at);
            let kind = latest.error_kind.as_deref().unwrap_or("unknown");
            let error = latest.error.as_deref().unwrap_or("(no message)");
            let n = jobs.len();
            let ids: Vec<i64> = jobs.iter().take(20).map(|j| j.id).collect();
            let retry = if what == "flow" {
                format!("dealbridge queue retry --all --flow {name}")
            } else {
                "dealbridge queue retry --all".to_string()
            };
            Condition {
                key: format!("job_dead:{what}={name}"),
                rule: Rule::JobDead,
                summary: format!(
                    "{n} job{} of {what} {name} in the dead letter; latest error ({kind}): {error}. \
                     Fix the cause, then retry them (`{retry}` or the console's Errors page)",
                    if n == 1 { "" } else { "s" },
                ),
                details: json!({
                    what: name, "dead_jobs": n, "job_ids": ids, "error_kind": kind, "error": error,
                }),
                since,
            }
        })
        .collect()
}

/// `poll_stale`: a poll loop whose last success (or, never, the evaluator's start) is older
/// than `after`.
fn stale_polls(obs: &Observations, after: Duration) -> Vec<Condition> {
    obs.polls
        .iter()
        .filter_map(|p| {
            let since = p.last_success.unwrap_or(obs.started_at);
            let age = (obs.now - since).to_std().unwrap_or_default();
            if age < after {
                return None;
            }
            let error = match (&p.failing_since, &p.last_error) {
                (Some(_), Some(e)) => format!("; last error: {e}"),
                _ => String::new(),
            };
            Some(Condition {
                key: format!("poll_stale:flow={}", p.flow),
                rule: Rule::PollStale,
                summary: format!(
                    "flow {} has not polled successfully for {}{error}",
                    p.flow,
                    human(age)
                ),
                details: json!({
                    "flow": p.flow, "last_success": p.last_success, "failing_since": p.failing_since,
                    "error": p.last_error, "error_kind": p.last_error_kind,
                }),
                since,
            })
        })
        .collect()
}

/// `auth_failed`: per system, dead jobs that failed with `auth` and poll loops failing with it.
fn auth_failures(obs: &Observations) -> Vec<Condition> {
    // system → (since, latest error, where it was seen)
    let mut seen: BTreeMap<String, (DateTime<Utc>, String, Vec<String>)> = BTreeMap::new();
    let mut note = |system: &str, at: DateTime<Utc>, error: &str, source: String| {
        let e = seen
            .entry(system.to_string())
            .or_insert_with(|| (at, error.to_string(), Vec::new()));
        e.0 = e.0.min(at);
        e.2.push(source);
    };
    for j in obs
        .dead_jobs
        .iter()
        .filter(|j| j.error_kind.as_deref() == Some("auth"))
    {
        note(
            &j.target,
            j.dead_at,
            j.error.as_deref().unwrap_or(""),
            format!("job {}", j.id),
        );
    }
    for p in &obs.polls {
        if let (Some(since), Some("auth"), Some(system)) =
            (p.failing_since, p.last_error_kind.as_deref(), &p.system)
        {
            let error = p.last_error.as_deref().unwrap_or("");
            note(system, since, error, format!("the poll of flow {}", p.flow));
        }
    }
    seen.into_iter()
        .map(|(system, (since, error, sources))| Condition {
            key: format!("auth_failed:system={system}"),
            rule: Rule::AuthFailed,
            summary: format!(
                "{system} rejects our credentials (a token revoked or one that cannot be refreshed): {error}. \
                 Fix them in [systems.{system}] (or reconnect the app), then retry the dead jobs"
            ),
            details: json!({"system": system, "error": error, "seen_in": sources}),
            since,
        })
        .collect()
}

/// `exchange_1c_failed`: each exchange type whose latest step failed.
fn failed_exchanges(exchanges: &[ExchangeOutcome]) -> Vec<Condition> {
    exchanges
        .iter()
        .filter(|e| e.failed)
        .map(|e| Condition {
            key: format!("exchange_1c_failed:type={}", e.exchange),
            rule: Rule::Exchange1cFailed,
            summary: format!(
                "the 1C exchange ({}) failed: {}. 1C shows the same reason; this clears after the next successful import",
                e.exchange, e.detail
            ),
            details: json!({"exchange": e.exchange, "error": e.detail}),
            since: e.at,
        })
        .collect()
}

/// `conflicts_waiting`: one condition while any conflict has waited longer than `after`.
fn waiting_conflicts(obs: &Observations, after: Duration) -> Vec<Condition> {
    let old: Vec<&WaitingConflict> = obs
        .conflicts
        .iter()
        .filter(|c| (obs.now - c.since).to_std().unwrap_or_default() >= after)
        .collect();
    let Some(oldest) = old.iter().min_by_key(|c| (c.since, c.id)) else {
        return Vec::new();
    };
    let n = old.len();
    vec![Condition {
        key: "conflicts_waiting".to_string(),
        rule: Rule::ConflictsWaiting,
        summary: format!(
            "{n} conflict{} waited more than {} for a person (oldest: {} field {}); resolve them on the console's Conflicts page or with `dealbridge conflicts resolve`",
            if n == 1 { " has" } else { "s have" },
            human(after),
            oldest.entity,
            oldest.field
        ),
        details: json!({
            "conflicts": n,
            "conflict_ids": old.iter().take(20).map(|c| c.id).collect::<Vec<_>>(),
            "oldest": {"id": oldest.id, "entity": oldest.entity, "field": oldest.field},
        }),
        since: oldest.since,
    }]
}

/// A duration as a person says it: `45s`, `17m`, `2h 5m`, `3d 4h`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 if s % 3600 / 60 == 0 => format!("{}h", s / 3600),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ if s % 86_400 / 3600 == 0 => format!("{}d", s / 86_400),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests;
