//! Executes a [`PairPlan`]: the conflict log, the store write, the CRM write, the snapshots and
//! the journal, in that order.
//!
//! The order is what makes a crash or a failed call safe to retry: conflicts are logged before
//! anything is written; the order snapshot is saved as soon as the store accepted its write, so
//! if the CRM write then fails, the retry sees the store already carries the change (both sides
//! agree) instead of writing it again; the deal snapshot is saved only after the CRM accepted
//! the deal.

use dealbridge_sdk::model::{Deal, Order, OrderChange};
use dealbridge_sdk::traits::CrmDeals;

use super::base::PairInputs;
use super::conflicts::{record_conflicts, PairSystems};
use super::decide::{DealWrite, PairAction, PairPlan, PairWrites};
use crate::sync::worker::{store_err, Executor, FlowTarget, JobOutcome, RunError, TwoWay};
use dealbridge_store::EntityKind;

impl Executor {
    /// Applies the plan decided for the pair of `inputs`.
    pub(crate) async fn apply_pair(
        &self,
        flow: &FlowTarget,
        two: &TwoWay,
        crm: &dyn CrmDeals,
        inputs: &PairInputs,
        plan: PairPlan,
    ) -> Result<JobOutcome, RunError> {
        let (source, target) = (flow.source_system.as_str(), flow.target_system.as_str());
        let (entity, deal_id) = (inputs.entity.as_str(), inputs.deal_id.as_str());
        let systems = PairSystems {
            store: source,
            crm: target,
        };
        record_conflicts(&self.store, entity, systems, &plan.conflicts)
            .await
            .map_err(store_err)?;
        let writes = match plan.action {
            PairAction::Held(reason) => {
                self.journal(entity, target, "held", Some(deal_id), &reason)
                    .await?;
                return Ok(JobOutcome::Unchanged);
            }
            PairAction::Write(writes) => writes,
        };
        for note in &writes.kept {
            self.journal(entity, source, "kept", Some(&inputs.order_id), note)
                .await?;
        }
        let order_after = match &writes.order {
            Some(change) => self.write_order(two, source, inputs, change).await?,
            None => inputs.order.clone(),
        };
        let (final_deal, crm_written) = match &writes.deal {
            DealWrite::Known { deal, write } => (deal.as_ref().clone(), *write),
            DealWrite::AfterStoreWrite => {
                let planned = flow.plan(&self.store, &order_after).await?;
                writes.deal_after_store_write(planned, &inputs.crm.deal)
            }
        };
        if crm_written {
            self.write_pair_deal(crm, target, inputs, &writes, &final_deal)
                .await?;
        }
        self.save_deal_snapshot(target, entity, deal_id, &final_deal)
            .await?;
        self.save_order_snapshot(source, entity, &order_after)
            .await?;
        let store_written = writes.order.is_some();
        if store_written || crm_written {
            self.queue_payments_if_paid(flow, entity, &order_after)
                .await?;
            return Ok(JobOutcome::Written);
        }
        self.journal(
            entity,
            target,
            "unchanged",
            Some(deal_id),
            "order and deal agree",
        )
        .await?;
        Ok(JobOutcome::Unchanged)
    }

    /// Writes the order update to the store, journals it and saves the order it returns as the
    /// order snapshot at once (see the module docs).
    async fn write_order(
        &self,
        two: &TwoWay,
        source: &str,
        inputs: &PairInputs,
        change: &OrderChange,
    ) -> Result<Order, RunError> {
        let (entity, order_id) = (inputs.entity.as_str(), inputs.order_id.as_str());
        let after = two.sink.update_order(order_id, change).await?;
        let what: Vec<&str> = [
            change.status.as_ref().map(|_| "status"),
            change.lines.as_ref().map(|_| "lines"),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.journal_kind(
            EntityKind::Order,
            entity,
            source,
            "updated",
            Some(order_id),
            &format!(
                "from the CRM: {} (status now `{}`)",
                what.join(", "),
                after.status
            ),
        )
        .await?;
        self.save_order_snapshot(source, entity, &after).await?;
        Ok(after)
    }

    /// Writes the deal to the CRM (finding or creating its contact) and journals what moved.
    async fn write_pair_deal(
        &self,
        crm: &dyn CrmDeals,
        target: &str,
        inputs: &PairInputs,
        writes: &PairWrites,
        deal: &Deal,
    ) -> Result<(), RunError> {
        let contact_id = match &deal.contact {
            Some(c) => self.contact_id(crm, target, c).await?,
            None => None,
        };
        crm.update_deal(&inputs.deal_id, deal, contact_id.as_deref())
            .await?;
        let moved: Vec<&str> = writes.from_store.iter().map(|f| f.as_str()).collect();
        let from_store = if moved.is_empty() {
            "recalculated totals".to_string()
        } else {
            moved.join(", ")
        };
        self.journal(
            &inputs.entity,
            target,
            "updated",
            Some(&inputs.deal_id),
            &format!("stage {}; from the store: {from_store}", deal.stage),
        )
        .await
    }
}
