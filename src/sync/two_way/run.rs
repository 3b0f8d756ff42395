//! The worker's two-way job: under the pair's lock, load the inputs, decide, apply.

use dealbridge_sdk::model::{CrmDealState, Order};
use dealbridge_sdk::traits::CrmDeals;
use dealbridge_store::{snapshot_hash, Binding};

use super::base::load_inputs;
use super::decide::decide;
use crate::sync::worker::{
    read_with_retry, store_err, to_json, Executor, FlowTarget, JobOutcome, RunError, TwoWay,
};
use dealbridge_store::EntityKind;

/// The job being reconciled: which pair, and what its payload carried.
pub(crate) struct PairJob<'a> {
    /// The canonical entity (`shop:123`).
    pub entity: &'a str,
    /// The order's id in the store.
    pub order_id: &'a str,
    /// The order, when the store triggered the job (a hint: it is re-read).
    pub order: Option<Order>,
    /// The deal, when the CRM triggered the job (a hint: it is re-read).
    pub crm_state: Option<CrmDealState>,
}

impl Executor {
    /// Two-way: merges the order and the deal against their last synced snapshots and writes
    /// what moved to the side that lacks it. Runs under the pair's lock, so the store- and CRM-
    /// triggered jobs of one pair (different queue keys) never interleave.
    pub(crate) async fn reconcile(
        &self,
        flow: &FlowTarget,
        two: &TwoWay,
        crm: &dyn CrmDeals,
        job: PairJob<'_>,
    ) -> Result<JobOutcome, RunError> {
        let held = self
            .store
            .lock(&format!("pair:{}", job.entity))
            .await
            .map_err(store_err)?;
        let result = self.reconcile_locked(flow, two, crm, job).await;
        held.release().await.map_err(store_err)?;
        result
    }

    /// Load → decide → apply.
    async fn reconcile_locked(
        &self,
        flow: &FlowTarget,
        two: &TwoWay,
        crm: &dyn CrmDeals,
        job: PairJob<'_>,
    ) -> Result<JobOutcome, RunError> {
        let (entity, target) = (job.entity, flow.target_system.as_str());
        let Some(deal_binding) = self
            .store
            .binding(target, EntityKind::Deal, entity)
            .await
            .map_err(store_err)?
        else {
            return Err(RunError::Permanent(format!(
                "order {entity}: no deal is bound to it in `{target}`; the store → CRM job creates it first"
            )));
        };
        if let (Some(hint), None) = (&job.order, &job.crm_state) {
            if self.already_written(flow, &deal_binding, hint).await? {
                return Ok(JobOutcome::Unchanged);
            }
        }
        let Some((order, crm_state)) = self.read_pair(flow, two, &job, &deal_binding).await? else {
            return Ok(JobOutcome::Unchanged);
        };
        let inputs = load_inputs(
            &self.store,
            flow,
            &deal_binding,
            job.order_id,
            order,
            crm_state,
        )
        .await?;
        let plan = decide(&inputs, &two.mapping);
        self.apply_pair(flow, two, crm, &inputs, plan).await
    }

    /// A store-triggered job whose order plans to exactly the deal we last wrote has nothing to
    /// carry: no read of either system (journaled unchanged).
    async fn already_written(
        &self,
        flow: &FlowTarget,
        deal_binding: &Binding,
        hint: &Order,
    ) -> Result<bool, RunError> {
        let entity = deal_binding.entity_id.as_str();
        let planned = flow.plan(&self.store, hint).await?;
        if deal_binding.snapshot_hash.as_deref()
            != Some(snapshot_hash(&to_json(entity, &planned)?).as_str())
        {
            return Ok(false);
        }
        self.journal(
            entity,
            &flow.target_system,
            "unchanged",
            Some(&deal_binding.external_id),
            "deal already matches the order",
        )
        .await?;
        Ok(true)
    }

    /// Both sides read afresh: a payload may be older than a write another job of this pair
    /// made since (it was queued before), and merging a stale side would undo that write.
    /// `None` when either side is gone (journaled; nothing is written).
    async fn read_pair(
        &self,
        flow: &FlowTarget,
        two: &TwoWay,
        job: &PairJob<'_>,
        deal_binding: &Binding,
    ) -> Result<Option<(Order, CrmDealState)>, RunError> {
        let (entity, order_id) = (job.entity, job.order_id);
        let deal_id = deal_binding.external_id.as_str();
        let Some(order) = read_with_retry(|| two.source.order(order_id)).await? else {
            self.journal(
                entity,
                &flow.source_system,
                "skipped",
                Some(order_id),
                "order no longer exists in the store; nothing is written back",
            )
            .await?;
            return Ok(None);
        };
        let Some(crm_state) = read_with_retry(|| two.reader.deal(deal_id)).await? else {
            self.journal(
                entity,
                &flow.target_system,
                "skipped",
                Some(deal_id),
                "the deal was deleted in the CRM; nothing is written",
            )
            .await?;
            return Ok(None);
        };
        Ok(Some((order, crm_state)))
    }
}
