//! Which jobs an operator means: `queue list|retry|drop` filters (state, flow, error class) and,
//! next, the console's Errors page. The error class is read from the failure code the worker
//! stored (`last_error_kind`), so "retry everything that failed for a transient reason" and
//! "show me what needs a person" are one filter each.

use crate::config::{Config, Entity};
use dealbridge_store::{
    EntityKind, Job, JobFilter, JobKind, JobState, JournalEntry, Store, StoreError,
};
use std::fmt;
use std::str::FromStr;

/// Whether retrying a failed job later can help by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Network, timeout, 5xx, throttled: the next try may well succeed.
    Transient,
    /// Validation, mapping, auth, not found, an unreadable answer: someone has to fix something
    /// (then retry).
    Permanent,
}

impl ErrorClass {
    /// The class of a stored failure code (the sdk's `ErrorKind::code`, `mapping` for a mapping
    /// the worker could not apply, `unreadable` for a job the queue could not read).
    pub fn of(code: &str) -> ErrorClass {
        match code {
            "transient" | "rate_limited" => ErrorClass::Transient,
            _ => ErrorClass::Permanent,
        }
    }

    /// `transient` or `permanent`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `--error-class`: a class, or one failure code (`auth`, `mapping`, `rate_limited`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorFilter {
    /// Every code of the class.
    Class(ErrorClass),
    /// Exactly this code.
    Code(String),
}

impl FromStr for ErrorFilter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "transient" => Ok(ErrorFilter::Class(ErrorClass::Transient)),
            "permanent" => Ok(ErrorFilter::Class(ErrorClass::Permanent)),
            "" => Err("an empty error class; use transient, permanent or a failure code such as auth, invalid, not_found, mapping, rate_limited".into()),
            code => Ok(ErrorFilter::Code(code.to_string())),
        }
    }
}

impl ErrorFilter {
    /// Whether a job whose last failure had `code` matches.
    pub fn matches(&self, code: Option<&str>) -> bool {
        match (self, code) {
            (_, None) => false,
            (ErrorFilter::Class(c), Some(code)) => ErrorClass::of(code) == *c,
            (ErrorFilter::Code(want), Some(code)) => want == code,
        }
    }
}

/// An operator's selection of jobs.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these states (empty: any).
    pub states: Vec<JobState>,
    /// Only jobs of this flow.
    pub flow: Option<String>,
    /// Only jobs whose last failure matches.
    pub error: Option<ErrorFilter>,
    /// Only this kind of job.
    pub kind: Option<JobKind>,
}

impl Selection {
    /// Every job matching, most recently changed first; at most `limit` (`None`: all).
    pub async fn jobs(
        &self,
        store: &Store,
        config: &Config,
        limit: Option<usize>,
    ) -> Result<Vec<Job>, StoreError> {
        // The store filters state and kind; flow and error class are read from the payload
        // and the failure code here. Without those the store's own limit applies, so listing
        // the newest 50 jobs does not read every finished job still kept.
        let sql_limit = match (&self.flow, &self.error, limit) {
            (None, None, Some(n)) => u32::try_from(n).unwrap_or(u32::MAX).max(1),
            _ => u32::MAX,
        };
        let all = store
            .queue()
            .list(&JobFilter {
                states: self.states.clone(),
                kind: self.kind,
                limit: sql_limit,
                ..JobFilter::default()
            })
            .await?;
        Ok(all
            .into_iter()
            .filter(|j| self.matches(j, config))
            .take(limit.unwrap_or(usize::MAX))
            .collect())
    }

    /// Whether `job` is selected (its state and kind are filtered by the store already).
    fn matches(&self, job: &Job, config: &Config) -> bool {
        let flow_ok = self
            .flow
            .as_ref()
            .is_none_or(|f| flow_of(job, config).as_deref() == Some(f.as_str()));
        let error_ok = self
            .error
            .as_ref()
            .is_none_or(|e| e.matches(job.last_error_kind.as_deref()));
        flow_ok && error_ok
    }

    /// The selection in words, for the journal and messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.states.is_empty() {
            let s: Vec<&str> = self.states.iter().map(|s| s.as_str()).collect();
            parts.push(format!("state {}", s.join("|")));
        }
        if let Some(f) = &self.flow {
            parts.push(format!("flow {f}"));
        }
        match &self.error {
            Some(ErrorFilter::Class(c)) => parts.push(format!("error class {c}")),
            Some(ErrorFilter::Code(c)) => parts.push(format!("error {c}")),
            None => {}
        }
        if let Some(k) = self.kind {
            parts.push(format!("kind {k}"));
        }
        if parts.is_empty() {
            "all jobs".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// Records an operator's action on the queue in the journal: who (`cli:<user>`, `console`),
/// what (the selection or the job), how many jobs it changed.
pub async fn journal_action(
    store: &Store,
    who: &str,
    action: &str,
    what: &str,
    count: u64,
) -> Result<(), StoreError> {
    journal_operator(store, (EntityKind::Queue, "jobs"), who, action, what, count).await
}

/// Records an operator's action on `entity` (a conflict's record, the queue) in the journal.
pub async fn journal_operator(
    store: &Store,
    entity: (EntityKind, &str),
    who: &str,
    action: &str,
    what: &str,
    count: u64,
) -> Result<(), StoreError> {
    let detail = serde_json::json!({"who": who, "what": what, "count": count}).to_string();
    store
        .journal(&JournalEntry {
            kind: entity.0,
            entity_id: entity.1,
            system: "operator",
            action,
            external_id: None,
            job_id: None,
            detail: Some(&detail),
        })
        .await
}

/// The flow a job belongs to: named in its payload (order and deal jobs), or for a payments job
/// the flow that carries payments from the store its order came from.
pub fn flow_of(job: &Job, config: &Config) -> Option<String> {
    let entity = job.payload["entity"].as_str();
    let system = entity.map(|e| e.split_once(':').map_or(e, |(s, _)| s));
    flow_of_origin(job.payload["flow"].as_str(), system, config)
}

/// [`flow_of`] from the parts the store groups waiting jobs by
/// ([`dealbridge_store::WaitingGroup`]): the payload's flow, else the flow carrying payments
/// from the system of the job's entity.
pub fn flow_of_origin(
    flow: Option<&str>,
    entity_system: Option<&str>,
    config: &Config,
) -> Option<String> {
    if let Some(flow) = flow {
        return Some(flow.to_string());
    }
    let system = entity_system?;
    config
        .flows
        .iter()
        .find(|f| f.from == system && f.entities.contains(&Entity::Payment))
        .map(|f| f.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_codes_fall_into_classes() {
        for code in ["transient", "rate_limited"] {
            assert_eq!(ErrorClass::of(code), ErrorClass::Transient, "{code}");
        }
        for code in [
            "auth",
            "invalid",
            "not_found",
            "protocol",
            "mapping",
            "unreadable",
        ] {
            assert_eq!(ErrorClass::of(code), ErrorClass::Permanent, "{code}");
        }
    }

    #[test]
    fn error_filters_parse_and_match() {
        let transient: ErrorFilter = "transient".parse().unwrap();
        assert!(transient.matches(Some("rate_limited")));
        assert!(!transient.matches(Some("mapping")));
        assert!(
            !transient.matches(None),
            "a job that never failed has no class"
        );
        let auth: ErrorFilter = "auth".parse().unwrap();
        assert!(auth.matches(Some("auth")));
        assert!(!auth.matches(Some("invalid")));
        assert!("".parse::<ErrorFilter>().is_err());
    }
}
