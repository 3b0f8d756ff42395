//! What a queued job would send if it ran now: the console's job detail shows it, so an operator
//! who fixed the mapping sees the fix take (or not) before pressing Retry.
//!
//! A store → CRM job carries the order as it was read and plans the deal when it runs
//! ([`super::job::DealUpsert`]); so re-planning reads the flow's mapping file *again* (the one
//! on disk now, not the one loaded at start) and runs the worker's own steps on the stored
//! order: [`FlowTarget::plan_deal`] (the mapping's planner and the product links) and
//! [`decide_upsert`] against the deal binding. Nothing is written and no system is called.
//! A CRM → store job and a payments job re-read both systems when they run, so only their
//! payload is shown.

use super::ids::entity_id;
use super::job::DealUpsert;
use super::upsert::{decide_upsert, UpsertPlan};
use super::worker::FlowTarget;
use crate::config::Config;
use crate::mapping::Mapping;
use dealbridge_store::{EntityKind, Job, JobKind, Store, StoreError};
use serde::Serialize;
use std::sync::Arc;

/// The write a job would make now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replanned {
    /// In words: `create a deal in crm`, `update deal 42 in crm`, `nothing: …`.
    pub action: String,
    /// The system written.
    pub target: String,
    /// The record as it would be sent (the canonical deal the CRM connector writes).
    pub request: serde_json::Value,
}

/// Why a job cannot be planned now: what the worker would say if it ran (a status the mapping
/// still does not cover, a flow gone from the config), or that it is re-planned only when it
/// runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplanError {
    /// The job would fail again with this message.
    #[error("{0}")]
    WouldFail(String),
    /// A kind of job planned only from what the systems hold when it runs.
    #[error("{0}")]
    AtRunTime(String),
}

/// Re-plans `job` with the config and the flow's mapping file as they are now.
pub async fn replan(
    job: &Job,
    config: &Config,
    store: &Store,
) -> Result<Result<Replanned, ReplanError>, StoreError> {
    if job.kind != JobKind::DealUpsert {
        return Ok(Err(ReplanError::AtRunTime(format!(
            "a `{}` job re-reads the store and the CRM when it runs, so what it writes is decided then; its queued payload is below",
            job.kind
        ))));
    }
    let payload: DealUpsert = match serde_json::from_value(job.payload.clone()) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Err(ReplanError::WouldFail(format!(
                "job {}: payload is not a `{}` payload: {e}",
                job.id, job.kind
            ))))
        }
    };
    let target = match flow_target(config, &payload.flow) {
        Ok(t) => t,
        Err(e) => return Ok(Err(ReplanError::WouldFail(e))),
    };
    let order = &payload.order;
    let deal = match target.plan_deal(store, order).await? {
        Ok(deal) => deal,
        Err(e) => return Ok(Err(ReplanError::WouldFail(e.to_string()))),
    };
    let entity = entity_id(&order.source);
    let bound = store
        .binding(&target.target_system, EntityKind::Deal, &entity)
        .await?;
    let plan = match decide_upsert(deal, bound.as_ref()) {
        Ok(plan) => plan,
        Err(e) => {
            return Ok(Err(ReplanError::WouldFail(format!(
                "order {entity}: cannot encode deal: {e}"
            ))))
        }
    };
    let crm = target.target_system.clone();
    // A bound order of a two-way pair is merged with the deal as the CRM holds it when the job
    // runs (the worker reconciles instead of overwriting); what the store's side plans is this.
    let paired = config
        .flows
        .iter()
        .any(|f| f.from == target.target_system && f.to == target.source_system);
    if let (true, Some(b)) = (paired, &bound) {
        let request = match plan {
            UpsertPlan::Unchanged { .. } => serde_json::Value::Null,
            UpsertPlan::Write { snapshot, .. } => snapshot,
        };
        return Ok(Ok(Replanned {
            action: format!(
                "merge the order with deal {} in {crm} (two-way: the CRM's side is read when it runs; the store's side plans the deal below)",
                b.external_id
            ),
            target: crm,
            request,
        }));
    }
    Ok(Ok(match plan {
        UpsertPlan::Unchanged { deal_id } => Replanned {
            action: format!("nothing: deal {deal_id} in {crm} already matches the order"),
            target: crm,
            request: serde_json::Value::Null,
        },
        UpsertPlan::Write {
            bound_id, snapshot, ..
        } => Replanned {
            action: match bound_id {
                Some(id) => format!("update deal {id} in {crm}"),
                None => format!("find the deal by its origin in {crm}, else create it"),
            },
            target: crm,
            request: snapshot,
        },
    }))
}

/// The flow's write side as the worker builds it at start, but with its mapping read from disk
/// now; the error says what to fix (the flow, or the mapping file, with every mistake).
fn flow_target(config: &Config, name: &str) -> Result<FlowTarget, String> {
    let flow = config
        .flows
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| {
            format!("flow `{name}` is not in the config any more; add it back or drop the job")
        })?;
    let kind = |system: &str| {
        config
            .systems
            .get(system)
            .map(|s| s.kind())
            .ok_or_else(|| format!("system `{system}` of flow `{name}` is not in the config"))
    };
    let mapping = Mapping::load(&flow.mapping.path, kind(&flow.from)?, kind(&flow.to)?)
        .map_err(|e| format!("the mapping file of flow `{name}` does not load now:\n{e}"))?;
    Ok(FlowTarget {
        source_system: flow.from.clone(),
        target_system: flow.to.clone(),
        planner: Arc::new(mapping),
        payments: false,
        two_way: None,
        link_products: config.catalogs.iter().any(|c| c.to == flow.to),
    })
}
