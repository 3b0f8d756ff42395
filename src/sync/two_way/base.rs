//! The merge base of a pair, and the loader that gathers every input of the decide step.
//!
//! The base is what each side looked like when the pair last synced, in deal terms: the CRM
//! side's base is the deal snapshot saved with the last write (or read), the store side's base
//! is the deal the last synced order snapshot plans to. Each side is compared with its own base
//! (see [`super::merge`]).
//!
//! Loading reads the store (bindings, conflicts, catalog links) but writes nothing and calls no
//! system: the caller reads the order and the deal itself (the worker afresh, `sync --dry-run`
//! from its listing), so any caller can gather inputs for [`super::decide`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use dealbridge_sdk::model::{CrmDealState, Deal, Order};
use dealbridge_store::{Binding, Store, StoreError};

use super::conflicts::load_resolutions;
use super::merge::{lines_value, Resolutions};
use crate::sync::plan::PlanError;
use crate::sync::reverse::StoreProduct;
use crate::sync::worker::{store_err, FlowTarget, RunError};
use dealbridge_store::EntityKind;

/// What each side looked like when the pair last synced, in deal terms.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeBase {
    /// The deal the last synced order planned to (the store side's base).
    pub store: Deal,
    /// The deal as we last wrote or saw it in the CRM (the CRM side's base).
    pub crm: Deal,
    /// When the pair last synced: decisions on conflicts made since then still apply.
    pub synced_at: DateTime<Utc>,
}

/// Everything [`super::decide`] needs about one pair, gathered by whoever runs it.
#[derive(Debug, Clone)]
pub struct PairInputs {
    /// The canonical entity (`shop:123`).
    pub entity: String,
    /// The order's id in the store.
    pub order_id: String,
    /// The deal's id in the CRM.
    pub deal_id: String,
    /// The order as the store shows it now.
    pub order: Order,
    /// The deal `order` plans to now, its rows linked like the worker links them.
    pub planned: Deal,
    /// The deal as the CRM shows it now.
    pub crm: CrmDealState,
    /// The merge base.
    pub base: MergeBase,
    /// Open (`manual`) conflicts of the pair: while any is open, nothing is written.
    pub open_conflicts: Vec<i64>,
    /// Decisions people made on the pair's conflicts since it last synced.
    pub resolutions: Resolutions,
    /// The store products of the CRM deal's rows, by CRM product id (for rows a manager added).
    pub row_products: HashMap<String, StoreProduct>,
}

/// Why the inputs of a pair could not be gathered.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The mapping cannot plan the order as it is now.
    #[error(transparent)]
    Unplannable(#[from] PlanError),
}

impl From<LoadError> for RunError {
    /// A store failure is transient; an order the mapping cannot plan is permanent.
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Store(e) => store_err(e),
            LoadError::Unplannable(e) => RunError::Permanent(e.to_string()),
        }
    }
}

/// Gathers the inputs of the decide step for the pair of `flow` whose deal is bound by
/// `deal_binding`, given the order (read as `order_id`) and the deal as the caller read them.
pub async fn load_inputs(
    store: &Store,
    flow: &FlowTarget,
    deal_binding: &Binding,
    order_id: &str,
    order: Order,
    crm: CrmDealState,
) -> Result<PairInputs, LoadError> {
    let entity = deal_binding.entity_id.clone();
    let planned = flow.plan_deal(store, &order).await??;
    let base = load_base(store, flow, deal_binding, &planned).await?;
    let open_conflicts: Vec<i64> = store
        .open_conflicts_for(EntityKind::Deal, &entity)
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    // Held pairs merge nothing, so their resolutions are not read (as before the split).
    let resolutions = if open_conflicts.is_empty() {
        load_resolutions(store, &entity, base.synced_at).await?
    } else {
        Resolutions::new()
    };
    // Only a row the CRM has and the store lacks can become a new order line, so the lookup
    // is made only when the rows differ (and only where a catalog links products at all).
    let row_products =
        if flow.link_products && lines_value(&crm.deal.lines) != lines_value(&planned.lines) {
            crate::sync::link::store_products_of_rows(
                store,
                &flow.target_system,
                &flow.source_system,
                &crm.deal.lines,
            )
            .await?
        } else {
            HashMap::new()
        };
    Ok(PairInputs {
        entity,
        order_id: order_id.to_string(),
        deal_id: deal_binding.external_id.clone(),
        order,
        planned,
        crm,
        base,
        open_conflicts,
        resolutions,
        row_products,
    })
}

/// The merge base from the pair's bindings. A missing deal snapshot falls back to the deal the
/// order plans to now; an old order snapshot the mapping can no longer plan falls back to the
/// CRM's base; a database failure is not swallowed into a wrong base.
async fn load_base(
    store: &Store,
    flow: &FlowTarget,
    deal_binding: &Binding,
    planned: &Deal,
) -> Result<MergeBase, StoreError> {
    let crm: Deal = deal_binding
        .snapshot
        .as_ref()
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .unwrap_or_else(|| planned.clone());
    let base_order = store
        .binding(
            &flow.source_system,
            EntityKind::Order,
            &deal_binding.entity_id,
        )
        .await?
        .and_then(|b| b.snapshot)
        .and_then(|s| serde_json::from_value::<Order>(s).ok());
    let store_side = match base_order {
        Some(o) => flow
            .plan_deal(store, &o)
            .await?
            .unwrap_or_else(|_| crm.clone()),
        None => crm.clone(),
    };
    Ok(MergeBase {
        store: store_side,
        crm,
        synced_at: deal_binding.synced_at,
    })
}
