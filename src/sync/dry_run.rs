//! `dealbridge sync --dry-run`: what a pass would write, read from the same sources and compared
//! with the same snapshots, with no write anywhere (no queue, no cursor, no remote write).
//!
//! It reads like a pass ([`OrderFlow::read_page`], [`DealPullFlow::read_page`], the same
//! "unchanged since last sync" checks) and decides like the worker: the store → CRM write with
//! [`decide_upsert`], a two-way pair with [`two_way::decide`](super::two_way::decide), on
//! inputs it gathers itself. Where the worker would re-read a side, the dry run takes it from
//! the listing, or reads it once (the deal of a changed order of a two-way pair, the order of a
//! changed deal).

use super::engine::Engine;
use super::ids::entity_id;
use super::poll::{poll_since, OrderFlow, Pages};
use super::pull::DealPullFlow;
use super::two_way::base::{load_inputs, LoadError, PairInputs};
use super::two_way::decide::{decide, DealWrite, PairAction, PairPlan};
use super::two_way::merge::{lines_value, side_name};
use super::upsert::{decide_upsert, UpsertPlan};
use super::worker::{FlowTarget, TwoWay};
use super::SyncError;
use dealbridge_sdk::model::{CrmDealState, Deal, Order, OrderChange};
use dealbridge_store::Binding;
use dealbridge_store::EntityKind;
use serde::Serialize;

/// One thing the pass would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    /// The flow.
    pub flow: String,
    /// The canonical entity (`shop:123`).
    pub entity: String,
    /// `create`, `update`, `merge` (a two-way pair's write, either side), `held` (a conflict
    /// waits for a person: nothing written) or `refuse`.
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

impl DryRun {
    /// Counts one record read, and what it would need (nothing: unchanged).
    fn record(&mut self, changes: Vec<PlannedChange>) {
        self.read += 1;
        if changes.is_empty() {
            self.unchanged += 1;
        }
        self.changes.extend(changes);
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
            if let Some(target) = self.executor.flows.get(&flow.name) {
                self.dry_run_orders(flow, target, full, &mut plan).await?;
            }
        }
        for pull in self
            .pulls
            .iter()
            .filter(|p| only.is_none_or(|n| n == p.name || n == p.forward))
        {
            self.dry_run_deals(pull, full, &mut plan).await?;
        }
        Ok(plan)
    }

    /// The store → CRM side of a flow: each changed order, as the worker would write it.
    async fn dry_run_orders(
        &self,
        flow: &OrderFlow,
        target: &FlowTarget,
        full: bool,
        plan: &mut DryRun,
    ) -> Result<(), SyncError> {
        let since = poll_since(&self.store, &flow.cursor_name(), full, flow.overlap).await?;
        let mut pages = Pages::first();
        while let Some(page) = pages.current() {
            let listing = flow.read_page(since, page).await?;
            for order in &listing.items {
                let changes = if flow.unchanged_since_sync(&self.store, order).await? {
                    Vec::new()
                } else {
                    self.order_changes(flow, target, order).await?
                };
                plan.record(changes);
            }
            pages.advance(&listing);
        }
        Ok(())
    }

    /// What the worker would do with one changed order: reconcile its pair when the flow is
    /// two-way and the deal exists, else create or update the deal.
    async fn order_changes(
        &self,
        flow: &OrderFlow,
        target: &FlowTarget,
        order: &Order,
    ) -> Result<Vec<PlannedChange>, SyncError> {
        let entity = entity_id(&order.source);
        let change = |action: &str, detail: String| PlannedChange {
            flow: flow.name.clone(),
            entity: entity.clone(),
            action: action.into(),
            target: flow.target_system.clone(),
            detail,
        };
        let deal = match target.plan_deal(&self.store, order).await? {
            Ok(deal) => deal,
            Err(e) => return Ok(vec![change("refuse", e.to_string())]),
        };
        let bound = self
            .store
            .binding(&flow.target_system, EntityKind::Deal, &entity)
            .await?;
        let upsert = decide_upsert(deal, bound.as_ref()).map_err(SyncError::Encode)?;
        // The deal we last wrote is this one: the worker stops there too, two-way or not.
        if let UpsertPlan::Unchanged { .. } = upsert {
            return Ok(Vec::new());
        }
        if let (Some(two), Some(b)) = (&target.two_way, &bound) {
            let state = two
                .reader
                .deal(&b.external_id)
                .await
                .map_err(|e| SyncError::Source {
                    flow: flow.name.clone(),
                    source: e,
                })?;
            // A deal deleted in the CRM: the worker writes nothing either.
            let Some(state) = state else {
                return Ok(Vec::new());
            };
            let pair = Pair {
                flow: &flow.name,
                target,
                two,
                binding: b,
            };
            return self.pair_changes(&pair, order.clone(), state).await;
        }
        Ok(match upsert {
            UpsertPlan::Unchanged { .. } => Vec::new(),
            UpsertPlan::Write {
                bound_id: None,
                deal,
                ..
            } => vec![change(
                "create",
                format!(
                    "deal {:?} at stage {}, {} row(s), {} {}",
                    deal.title,
                    deal.stage,
                    deal.lines.len(),
                    deal.amount,
                    deal.currency.as_str()
                ),
            )],
            UpsertPlan::Write {
                bound_id: Some(id),
                deal,
                ..
            } => {
                let old: Option<Deal> = bound
                    .and_then(|b| b.snapshot)
                    .and_then(|s| serde_json::from_value(s).ok());
                let diff = old.map_or_else(|| "all fields".to_string(), |o| deal_diff(&o, &deal));
                vec![change("update", format!("deal {id}: {diff}"))]
            }
        })
    }

    /// The CRM → store side of a two-way pair: each changed deal, merged with its order.
    async fn dry_run_deals(
        &self,
        pull: &DealPullFlow,
        full: bool,
        plan: &mut DryRun,
    ) -> Result<(), SyncError> {
        let since = poll_since(&self.store, &pull.cursor_name(), full, pull.overlap).await?;
        let mut pages = Pages::first();
        while let Some(page) = pages.current() {
            let listing = pull.read_page(since, page).await?;
            for state in &listing.items {
                let changes = match pull.changed_binding(&self.store, state).await? {
                    Ok(binding) => self.deal_changes(pull, &binding, state).await?,
                    Err(_) => Vec::new(),
                };
                plan.record(changes);
            }
            pages.advance(&listing);
        }
        Ok(())
    }

    /// What the worker would do with one changed deal: read its order and decide the pair.
    async fn deal_changes(
        &self,
        pull: &DealPullFlow,
        binding: &Binding,
        state: &CrmDealState,
    ) -> Result<Vec<PlannedChange>, SyncError> {
        let Some(target) = self.executor.flows.get(&pull.forward) else {
            return Ok(Vec::new());
        };
        let Some(two) = &target.two_way else {
            return Ok(Vec::new());
        };
        let order =
            two.source
                .order(&state.deal.origin.id)
                .await
                .map_err(|e| SyncError::Source {
                    flow: pull.name.clone(),
                    source: e,
                })?;
        // An order deleted in the store: the worker writes nothing either.
        let Some(order) = order else {
            return Ok(Vec::new());
        };
        let pair = Pair {
            flow: &pull.name,
            target,
            two,
            binding,
        };
        self.pair_changes(&pair, order, state.clone()).await
    }

    /// Gathers a pair's inputs like the worker, decides, and says what the plan writes.
    async fn pair_changes(
        &self,
        pair: &Pair<'_>,
        order: Order,
        state: CrmDealState,
    ) -> Result<Vec<PlannedChange>, SyncError> {
        let order_id = order.source.id.clone();
        let inputs = match load_inputs(
            &self.store,
            pair.target,
            pair.binding,
            &order_id,
            order,
            state,
        )
        .await
        {
            Ok(inputs) => inputs,
            Err(LoadError::Store(e)) => return Err(e.into()),
            Err(LoadError::Unplannable(e)) => {
                return Ok(vec![pair.change(
                    &pair.binding.entity_id,
                    "refuse",
                    false,
                    e.to_string(),
                )])
            }
        };
        let plan = decide(&inputs, &pair.two.mapping);
        Ok(describe_pair(pair, &inputs, &plan))
    }
}

/// A two-way pair as the dry run sees it.
struct Pair<'a> {
    flow: &'a str,
    target: &'a FlowTarget,
    two: &'a TwoWay,
    binding: &'a Binding,
}

impl Pair<'_> {
    /// A change written to the store (`to_store`) or the CRM.
    fn change(&self, entity: &str, action: &str, to_store: bool, detail: String) -> PlannedChange {
        let target = if to_store {
            &self.target.source_system
        } else {
            &self.target.target_system
        };
        PlannedChange {
            flow: self.flow.to_string(),
            entity: entity.to_string(),
            action: action.into(),
            target: target.clone(),
            detail,
        }
    }
}

/// A pair's plan in words: one change per system written, the conflicts said on each.
fn describe_pair(pair: &Pair<'_>, inputs: &PairInputs, plan: &PairPlan) -> Vec<PlannedChange> {
    let conflicts: String = plan
        .conflicts
        .iter()
        .map(|c| {
            format!(
                "; both changed {} (store {}, crm {}): {}",
                c.field.as_str(),
                c.store,
                c.crm,
                c.winner.map_or("held for a person", side_name)
            )
        })
        .collect();
    let entity = inputs.entity.as_str();
    let writes = match &plan.action {
        PairAction::Held(reason) => {
            let detail = format!("deal {}: {reason}{conflicts}", inputs.deal_id);
            return vec![pair.change(entity, "held", false, detail)];
        }
        PairAction::Write(w) => w,
    };
    let mut out = Vec::new();
    if let Some(change) = &writes.order {
        let detail = format!(
            "order {}: {} (from the CRM){conflicts}",
            inputs.order_id,
            order_diff(&inputs.order, change)
        );
        out.push(pair.change(entity, "merge", true, detail));
    }
    let (deal, write, after) = match &writes.deal {
        DealWrite::Known { deal, write } => (deal.as_ref().clone(), *write, ""),
        // The store recomputes totals on its write; until then, the order as it is.
        DealWrite::AfterStoreWrite => {
            let (deal, write) =
                writes.deal_after_store_write(inputs.planned.clone(), &inputs.crm.deal);
            (deal, write, " (after the store's write)")
        }
    };
    if write {
        let detail = format!(
            "deal {}: {}{after} (from the store){conflicts}",
            inputs.deal_id,
            deal_diff(&inputs.crm.deal, &deal)
        );
        out.push(pair.change(entity, "merge", false, detail));
    }
    out
}

/// What an order update changes, in words.
fn order_diff(order: &Order, change: &OrderChange) -> String {
    let mut out = Vec::new();
    if let Some(status) = &change.status {
        out.push(format!("status {} → {status}", order.status));
    }
    if let Some(lines) = &change.lines {
        out.push(format!("lines {} → {}", order.lines.len(), lines.len()));
    }
    out.join(", ")
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
