//! `dealbridge sync --dry-run`: what a pass would write, read from the same sources and compared
//! with the same snapshots, with no write anywhere (no queue, no cursor, no remote write).

use super::engine::Engine;
use super::ids::{entity_id, KIND_DEAL, KIND_ORDER};
use super::poll::poll_since;
use super::two_way::merge::{lines_value, same_compared_fields};
use super::SyncError;
use dealbridge_sdk::model::Deal;
use dealbridge_store::snapshot_hash;
use serde::Serialize;

/// One thing the pass would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    /// The flow.
    pub flow: String,
    /// The canonical entity (`shop:123`).
    pub entity: String,
    /// `create`, `update`, `merge` or `refuse`.
    pub action: String,
    /// Where it would be written.
    pub target: String,
    /// What differs, in words.
    pub detail: String,
}

/// The whole plan, with how many records were read and found unchanged.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DryRun {
    /// What would be written.
    pub changes: Vec<PlannedChange>,
    /// Records read.
    pub read: u64,
    /// Records that need nothing.
    pub unchanged: u64,
}

/// Which compared fields differ between two deals, as `field: old → new`.
fn deal_diff(old: &Deal, new: &Deal) -> String {
    let mut out = Vec::new();
    if old.stage != new.stage {
        out.push(format!("stage {} → {}", old.stage, new.stage));
    }
    if old.title != new.title {
        out.push(format!("title {:?} → {:?}", old.title, new.title));
    }
    if old.amount != new.amount {
        out.push(format!("amount {} → {}", old.amount, new.amount));
    }
    if lines_value(&old.lines) != lines_value(&new.lines) {
        out.push(format!("rows {} → {}", old.lines.len(), new.lines.len()));
    }
    if old.contact != new.contact {
        out.push("contact".to_string());
    }
    if out.is_empty() {
        "other fields".to_string()
    } else {
        out.join(", ")
    }
}

impl Engine {
    /// The plan of one pass over the selected flows (all when `only` is `None`).
    pub async fn dry_run(&self, only: Option<&str>, full: bool) -> Result<DryRun, SyncError> {
        let mut plan = DryRun::default();
        for flow in self
            .flows
            .iter()
            .filter(|f| only.is_none_or(|n| n == f.name))
        {
            let Some(target) = self.executor.flows.get(&flow.name) else {
                continue;
            };
            let since = poll_since(&self.store, &flow.cursor_name(), full, flow.overlap).await?;
            let mut page = 1;
            loop {
                let listing = flow
                    .source
                    .orders_modified_since(since, page, flow.page_size)
                    .await
                    .map_err(|e| SyncError::Source {
                        flow: flow.name.clone(),
                        source: e,
                    })?;
                for order in &listing.items {
                    plan.read += 1;
                    let entity = entity_id(&order.source);
                    let snapshot = serde_json::to_value(order).map_err(SyncError::Encode)?;
                    let bound_order = self
                        .store
                        .binding(&flow.source_system, KIND_ORDER, &entity)
                        .await?;
                    if bound_order.is_some_and(|b| {
                        b.snapshot_hash.as_deref() == Some(snapshot_hash(&snapshot).as_str())
                    }) {
                        plan.unchanged += 1;
                        continue;
                    }
                    let mut deal = match target.planner.plan(order) {
                        Ok(d) => d,
                        Err(e) => {
                            plan.changes.push(PlannedChange {
                                flow: flow.name.clone(),
                                entity,
                                action: "refuse".into(),
                                target: flow.target_system.clone(),
                                detail: e.to_string(),
                            });
                            continue;
                        }
                    };
                    // Linked like the worker links it, or every linked deal would show as
                    // an update.
                    if target.link_products {
                        super::link::link_rows(&self.store, &flow.target_system, order, &mut deal)
                            .await?;
                    }
                    let deal_json = serde_json::to_value(&deal).map_err(SyncError::Encode)?;
                    let bound = self
                        .store
                        .binding(&flow.target_system, KIND_DEAL, &entity)
                        .await?;
                    let change = match bound {
                        None => Some((
                            "create",
                            format!(
                                "deal {:?} at stage {}, {} row(s), {} {}",
                                deal.title,
                                deal.stage,
                                deal.lines.len(),
                                deal.amount,
                                deal.currency.as_str()
                            ),
                        )),
                        Some(b)
                            if b.snapshot_hash.as_deref()
                                == Some(snapshot_hash(&deal_json).as_str()) =>
                        {
                            None
                        }
                        Some(b) => {
                            let old: Option<Deal> =
                                b.snapshot.and_then(|s| serde_json::from_value(s).ok());
                            Some((
                                "update",
                                format!(
                                    "deal {}: {}",
                                    b.external_id,
                                    old.map_or_else(
                                        || "all fields".to_string(),
                                        |o| deal_diff(&o, &deal)
                                    )
                                ),
                            ))
                        }
                    };
                    match change {
                        Some((action, detail)) => plan.changes.push(PlannedChange {
                            flow: flow.name.clone(),
                            entity,
                            action: action.into(),
                            target: flow.target_system.clone(),
                            detail,
                        }),
                        None => plan.unchanged += 1,
                    }
                }
                match listing.next_page {
                    Some(next) if next > page && !listing.items.is_empty() => page = next,
                    _ => break,
                }
            }
        }
        for pull in self
            .pulls
            .iter()
            .filter(|p| only.is_none_or(|n| n == p.name || n == p.forward))
        {
            let since = poll_since(&self.store, &pull.cursor_name(), full, pull.overlap).await?;
            let mut page = 1;
            loop {
                let listing = pull
                    .reader
                    .deals_modified_since(since, page, pull.page_size)
                    .await
                    .map_err(|e| SyncError::Source {
                        flow: pull.name.clone(),
                        source: e,
                    })?;
                for state in &listing.items {
                    plan.read += 1;
                    let origin = &state.deal.origin;
                    if origin.system != pull.store_system || origin.id.is_empty() {
                        plan.unchanged += 1;
                        continue;
                    }
                    let entity = entity_id(origin);
                    let base: Option<Deal> = self
                        .store
                        .binding(&pull.crm_system, KIND_DEAL, &entity)
                        .await?
                        .and_then(|b| b.snapshot)
                        .and_then(|s| serde_json::from_value(s).ok());
                    match base {
                        Some(b) if !same_compared_fields(&b, &state.deal) => {
                            plan.changes.push(PlannedChange {
                                flow: pull.name.clone(),
                                entity,
                                action: "merge".into(),
                                target: pull.store_system.clone(),
                                detail: format!(
                                    "deal {} changed in the CRM: {}",
                                    state.id,
                                    deal_diff(&b, &state.deal)
                                ),
                            })
                        }
                        _ => plan.unchanged += 1,
                    }
                }
                match listing.next_page {
                    Some(next) if next > page && !listing.items.is_empty() => page = next,
                    _ => break,
                }
            }
        }
        Ok(plan)
    }
}
