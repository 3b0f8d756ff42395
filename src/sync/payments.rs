//! Payments on deals: what the store captured and what 1C recorded for an order appear on its
//! deal, so an accountant and a manager see the same paid/unpaid state; and an order 1C says is
//! fully paid is marked paid in the store.
//!
//! A `deal.payments` job is queued for an order when the store says it is paid or refunded (after
//! its deal is written) and when 1C sends payments for it. The job gathers *every* payment of the
//! order and hands the whole list to the CRM connector, which writes only the ones the deal does
//! not show yet: re-running it, or 1C re-sending a file, writes nothing. When 1C recorded payments
//! for the order, those are the order's payments (1C keeps the books); otherwise the store's
//! captured payments and refunds are.

use super::worker::{read_with_retry, store_err, Executor, FlowTarget, JobOutcome, RunError};
use crate::onec::exchange::SYSTEM_1C;
use dealbridge_sdk::model::{Order, OrderChange, Payment};
use dealbridge_sdk::{ConnectorError, ErrorKind};
use dealbridge_store::{EntityKind, JobKind};
use dealbridge_store::{Job, NewJob, Store, StoreError};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Payload of [`JobKind::DealPayments`]. The payments are gathered when the job runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DealPayments {
    /// The order entity (`shop:123`).
    pub entity: String,
    /// The order's id in the store.
    pub order_id: String,
}

/// The queue key: one pending payments job per order.
pub fn payments_key(entity: &str) -> String {
    format!("payments:{entity}")
}

/// Queues (or folds into the pending) payments job of one order.
pub async fn queue_payments(
    store: &Store,
    entity: &str,
    order_id: &str,
    max_attempts: u32,
) -> Result<(), StoreError> {
    let payload = serde_json::to_value(DealPayments {
        entity: entity.to_string(),
        order_id: order_id.to_string(),
    })
    .expect("payload encodes");
    let queued = store
        .queue()
        .enqueue(&NewJob {
            kind: JobKind::DealPayments,
            target: "crm",
            coalesce_key: &payments_key(entity),
            payload: &payload,
            max_attempts,
        })
        .await?;
    if matches!(queued, dealbridge_store::Enqueued::Inserted(_)) {
        crate::metrics::engine::job_enqueued(
            JobKind::DealPayments,
            crate::metrics::engine::NO_FLOW,
        );
    }
    Ok(())
}

/// The engine's side of [`crate::onec::PaymentsQueue`]: payments 1C reports for an order queue
/// its payments job, tried `max_attempts` times (`[sync] max_attempts`).
pub struct PaymentsJobs {
    store: Store,
    max_attempts: u32,
}

impl PaymentsJobs {
    /// Jobs in `store`'s queue with `max_attempts` attempts each.
    pub fn new(store: Store, max_attempts: u32) -> Self {
        PaymentsJobs {
            store,
            max_attempts,
        }
    }
}

#[async_trait::async_trait]
impl crate::onec::PaymentsQueue for PaymentsJobs {
    async fn payments_changed(&self, entity: &str, order_id: &str) -> Result<(), StoreError> {
        queue_payments(&self.store, entity, order_id, self.max_attempts).await
    }
}

/// Whether the store's order carries money movements worth showing on the deal.
pub fn has_payments(order: &Order) -> bool {
    order.paid_at.is_some() || order.status == "refunded" || order.status == "partially_refunded"
}

impl Executor {
    /// Runs a [`JobKind::DealPayments`] job.
    pub(crate) async fn run_payments(&self, job: &Job) -> Result<JobOutcome, RunError> {
        let payload: DealPayments = super::worker::decode(job)?;
        let entity = payload.entity.as_str();
        // The flow whose store the order came from and that carries payments.
        let source_system = entity.split_once(':').map_or("", |(s, _)| s);
        let Some(flow) = self
            .flows
            .values()
            .find(|f| f.payments && f.source_system == source_system)
        else {
            // Recorded (1C's payments are bindings) but not shown anywhere: no flow asks for it.
            self.journal_kind(
                EntityKind::Payment,
                entity,
                source_system,
                "kept",
                None,
                "no flow carries payments from this store (add \"payment\" to its entities); recorded only",
            )
            .await?;
            return Ok(JobOutcome::Unchanged);
        };
        let target = flow.target_system.as_str();
        let Some(crm) = self.payments.get(target) else {
            return Err(RunError::Permanent(format!(
                "order {entity}: `{target}` cannot show payments in this build"
            )));
        };
        let Some(deal) = self
            .store
            .binding(target, EntityKind::Deal, entity)
            .await
            .map_err(store_err)?
        else {
            // Its deal is still being created (queued before this job, or retrying): wait.
            return Err(RunError::Connector(ConnectorError::new(
                ErrorKind::Transient,
                "crm",
                format!("order {entity}: no deal in `{target}` yet to show its payments on; retried after the deal is written"),
            )));
        };
        let from_1c = self.payments_from_1c(entity).await?;
        let paid_in_1c: Decimal = from_1c.iter().map(|p| p.amount.amount).sum();
        let payments = self
            .gather_payments(flow, from_1c, &payload.order_id)
            .await?;
        let total: Decimal = payments.iter().map(|p| p.amount.amount).sum();
        let writes = crm.sync_payments(&deal.external_id, &payments).await?;
        if writes > 0 {
            self.journal_kind(
                EntityKind::Payment,
                entity,
                target,
                "updated",
                Some(&deal.external_id),
                &format!(
                    "{} payment(s), {total} in all; {writes} write(s)",
                    payments.len()
                ),
            )
            .await?;
        }
        let marked = self
            .mark_paid_when_1c_paid(flow, entity, &payload.order_id, paid_in_1c)
            .await?;
        Ok(if writes > 0 || marked {
            JobOutcome::Written
        } else {
            JobOutcome::Unchanged
        })
    }

    /// Every payment the deal of `entity` should show now, gathered as a payments job gathers
    /// them; the store is asked only when its order says money moved (`reconcile` compares the
    /// sum with the deal's paid amount).
    pub(crate) async fn payments_due(
        &self,
        flow: &FlowTarget,
        entity: &str,
        order: &Order,
    ) -> Result<Vec<Payment>, RunError> {
        let from_1c = self.payments_from_1c(entity).await?;
        if from_1c.is_empty() && !has_payments(order) {
            return Ok(Vec::new());
        }
        self.gather_payments(flow, from_1c, &order.source.id).await
    }

    /// The order's payments: 1C's when 1C recorded any (1C keeps the books, and an order it
    /// marked paid in the store would otherwise show the same money twice: once as 1C's bank
    /// payment, once as the store's "paid"), else the store's captured payments and refunds.
    async fn gather_payments(
        &self,
        flow: &FlowTarget,
        from_1c: Vec<Payment>,
        order_id: &str,
    ) -> Result<Vec<Payment>, RunError> {
        if !from_1c.is_empty() {
            return Ok(from_1c);
        }
        Ok(match self.payment_sources.get(&flow.source_system) {
            Some(src) => read_with_retry(|| src.payments_of(order_id)).await?,
            None => Vec::new(),
        })
    }

    async fn payments_from_1c(&self, entity: &str) -> Result<Vec<Payment>, RunError> {
        let bound = self
            .store
            .bindings_with_prefix(
                SYSTEM_1C,
                EntityKind::Payment,
                &format!("{entity}/payment/"),
            )
            .await
            .map_err(store_err)?;
        Ok(bound
            .into_iter()
            .filter_map(|b| b.snapshot)
            .filter_map(|s| serde_json::from_value::<Payment>(s).ok())
            .collect())
    }

    /// When 1C's payments (`paid_in_1c` in all) cover the order's total and the store does not
    /// show it paid yet, marks it paid in the store (WooCommerce `set_paid`). Returns whether it
    /// wrote.
    async fn mark_paid_when_1c_paid(
        &self,
        flow: &FlowTarget,
        entity: &str,
        order_id: &str,
        paid_in_1c: Decimal,
    ) -> Result<bool, RunError> {
        let Some(sink) = self.sinks.get(&flow.source_system) else {
            return Ok(false);
        };
        if paid_in_1c.is_zero() {
            return Ok(false);
        }
        let Some(source) = self.sources.get(&flow.source_system) else {
            return Ok(false);
        };
        // The store's current state decides (not our snapshot, which lags until the next poll).
        let Some(order): Option<Order> = read_with_retry(|| source.order(order_id)).await? else {
            return Ok(false);
        };
        if order.paid_at.is_some() || paid_in_1c < order.total {
            return Ok(false);
        }
        let after = sink
            .update_order(
                order_id,
                &OrderChange {
                    paid: Some(true),
                    ..OrderChange::default()
                },
            )
            .await?;
        self.journal_kind(
            EntityKind::Order,
            entity,
            &flow.source_system,
            "paid",
            Some(order_id),
            &format!(
                "1C recorded {paid_in_1c} against a total of {}; marked paid (status now `{}`)",
                order.total, after.status
            ),
        )
        .await?;
        Ok(true)
    }
}
