//! The decide step of two-way reconciliation: pure, inputs in, a plan out.
//!
//! No store, no HTTP and no clock: the order, the deal, the merge base, the conflict state and
//! the mapping are passed in ([`PairInputs`]), and the [`PairPlan`] says what to write where,
//! which conflicts to log and which snapshots to save. The worker applies the plan
//! ([`super::apply`]); `sync --dry-run` prints it; the reconciliation compares with it.
//!
//! One thing cannot be known before writing: a store that takes new lines recomputes the order's
//! totals (taxes, rounding), and the deal must carry the store's figures. So when the store is
//! written, the CRM's deal is planned after that write from the order the store returns, with
//! the merged stage and title ([`PairWrites::deal_after_store_write`], pure as well).

use dealbridge_sdk::model::{Deal, Order, OrderChange};

use super::base::PairInputs;
use super::merge::{
    lines_value, merge, same_compared_fields, FieldConflict, MergeInput, Merged, Side,
};
use crate::mapping::{Mapping, OwnedField};
use crate::sync::reverse::order_lines_from_rows;

/// What to do with one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct PairPlan {
    /// Fields both sides changed: logged whether or not anything is written.
    pub conflicts: Vec<FieldConflict>,
    /// Hold, or write.
    pub action: PairAction,
}

/// Whether the pair is written.
#[derive(Debug, Clone, PartialEq)]
pub enum PairAction {
    /// A person must decide first (an open `manual` conflict, or one this merge found): nothing
    /// is written to either side and no snapshot moves. The reason is journaled on the deal.
    Held(String),
    /// The writes (possibly none: then the pair is journaled unchanged).
    Write(Box<PairWrites>),
}

/// The writes of a pair that is not held, in the order they are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct PairWrites {
    /// The merged values of the compared fields.
    pub merged: Merged,
    /// Journal notes on the order for what the store is *not* told (a stage with no store
    /// status): said so it does not look lost.
    pub kept: Vec<String>,
    /// The store order update; written first, so a failed CRM write is retried against a store
    /// that already carries the change.
    pub order: Option<OrderChange>,
    /// The CRM deal update.
    pub deal: DealWrite,
    /// The contact, comments or source channel changed in the store: they only flow store → CRM,
    /// so the deal is written even when its compared fields agree.
    pub forward_only_changed: bool,
    /// The fields whose store change reaches the CRM (for the journal).
    pub from_store: Vec<OwnedField>,
    /// The snapshots saved afterwards, the next merge's base.
    pub snapshots: Snapshots,
}

/// The CRM side of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum DealWrite {
    /// The store is not written, so the deal is known now.
    Known {
        /// The deal the CRM should hold.
        deal: Box<Deal>,
        /// The CRM's deal differs from it (or a forward-only field changed): write it.
        write: bool,
    },
    /// The store is written first; the deal is planned from the order it returns
    /// ([`PairWrites::deal_after_store_write`]).
    AfterStoreWrite,
}

/// The snapshots a plan saves when applied. `None` stands for a record only the writes produce.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshots {
    /// The order; `None` when the store is written: the order the store returns is saved, right
    /// after its write.
    pub order: Option<Order>,
    /// The deal; `None` when it is planned after the store write.
    pub deal: Option<Deal>,
}

impl PairPlan {
    /// Whether applying the plan writes to either system.
    pub fn writes_anything(&self) -> bool {
        match &self.action {
            PairAction::Held(_) => false,
            // A store write always carries a deal planned after it (`AfterStoreWrite`).
            PairAction::Write(w) => {
                w.order.is_some() || matches!(w.deal, DealWrite::Known { write: true, .. })
            }
        }
    }
}

impl PairWrites {
    /// The deal for the CRM once the store is written: `planned` is the deal the order the store
    /// returned plans to; it takes the merged stage and title. Returns the deal and whether the
    /// CRM's deal (`crm_now`) must be written.
    pub fn deal_after_store_write(&self, planned: Deal, crm_now: &Deal) -> (Deal, bool) {
        let deal = with_merged(planned, &self.merged, true);
        let write = needs_write(&deal, crm_now, self.forward_only_changed);
        (deal, write)
    }
}

/// Decides one pair: merges the order and the deal against their base, and says what each side
/// must be told. `mapping` gives the field owners and the reverse stage map.
pub fn decide(inputs: &PairInputs, mapping: &Mapping) -> PairPlan {
    if !inputs.open_conflicts.is_empty() {
        let ids: Vec<String> = inputs.open_conflicts.iter().map(i64::to_string).collect();
        return PairPlan {
            conflicts: Vec::new(),
            action: PairAction::Held(format!(
                "open conflict(s) {}: resolve with `dealbridge conflicts resolve`",
                ids.join(", ")
            )),
        };
    }
    let outcome = merge(
        &MergeInput {
            store_now: &inputs.planned,
            store_base: &inputs.base.store,
            crm_now: &inputs.crm.deal,
            crm_base: &inputs.base.crm,
            store_modified: inputs.order.modified_at,
            crm_modified: inputs.crm.modified_at,
        },
        &mapping.fields,
        &inputs.resolutions,
    );
    if outcome.held() {
        return PairPlan {
            conflicts: outcome.conflicts,
            action: PairAction::Held("a manual conflict holds this order and its deal".into()),
        };
    }
    let merged = outcome.merged;
    let (order, kept) = store_side(inputs, mapping, &merged);
    let (store_base, store_now) = (&inputs.base.store, &inputs.planned);
    let forward_only_changed = store_now.contact != store_base.contact
        || store_now.comments != store_base.comments
        || store_now.source_channel != store_base.source_channel;
    let (deal, snapshots) = if order.is_some() {
        let snapshots = Snapshots {
            order: None,
            deal: None,
        };
        (DealWrite::AfterStoreWrite, snapshots)
    } else {
        let deal = with_merged(inputs.planned.clone(), &merged, false);
        let write = needs_write(&deal, &inputs.crm.deal, forward_only_changed);
        let snapshots = Snapshots {
            order: Some(inputs.order.clone()),
            deal: Some(deal.clone()),
        };
        (
            DealWrite::Known {
                deal: Box::new(deal),
                write,
            },
            snapshots,
        )
    };
    let from_store = outcome
        .changed
        .iter()
        .filter(|(_, side)| *side == Side::Store)
        .map(|(f, _)| *f)
        .collect();
    PairPlan {
        conflicts: outcome.conflicts,
        action: PairAction::Write(Box::new(PairWrites {
            merged,
            kept,
            order,
            deal,
            forward_only_changed,
            from_store,
            snapshots,
        })),
    }
}

/// The store's side: the stage (through the reverse stage map) and the lines. Returns the order
/// update, if any, and the notes on what the store cannot be told.
fn store_side(
    inputs: &PairInputs,
    mapping: &Mapping,
    merged: &Merged,
) -> (Option<OrderChange>, Vec<String>) {
    let (order, planned) = (&inputs.order, &inputs.planned);
    let mut change = OrderChange::default();
    let mut kept = Vec::new();
    if merged.stage != planned.stage {
        match mapping.status_for_stage(&merged.stage) {
            Some(status) if status != order.status => change.status = Some(status.to_string()),
            Some(_) => {}
            None => kept.push(format!(
                "deal stage `{}` has no store status in {} ([stage_map]); the order stays `{}`",
                merged.stage,
                mapping.path.display(),
                order.status
            )),
        }
    }
    if lines_value(&merged.lines) != lines_value(&planned.lines) {
        change.lines = Some(order_lines_from_rows(
            &merged.lines,
            order,
            planned,
            &inputs.row_products,
        ));
    }
    let change = Some(change).filter(|c| *c != OrderChange::default());
    (change, kept)
}

/// The deal the CRM should hold: `planned` with the merged stage and title, and, when the store
/// is not written (so `planned` does not carry them yet), the merged amount and rows.
fn with_merged(mut planned: Deal, merged: &Merged, store_written: bool) -> Deal {
    planned.stage = merged.stage.clone();
    planned.title = merged.title.clone();
    if !store_written {
        planned.amount = merged.amount;
        planned.lines = merged.lines.clone();
    }
    planned
}

fn needs_write(deal: &Deal, crm_now: &Deal, forward_only_changed: bool) -> bool {
    !same_compared_fields(deal, crm_now) || forward_only_changed
}

#[cfg(test)]
mod tests;
