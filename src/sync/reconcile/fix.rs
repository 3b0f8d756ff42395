//! `reconcile --fix`: each order with a difference gets one job in the normal queue; the worker's
//! decide step does the writing. What the fix changes here is only what would make the worker
//! skip the job: the snapshot that says "this deal is already written" (forgotten for a rewrite)
//! or the binding to a deal that no longer exists (removed for a create).

use super::difference::{Difference, FixAction};
use super::orders::FlowFindings;
use crate::sync::ids::entity_id;
use crate::sync::job::DealRelease;
use crate::sync::payments::queue_payments;
use crate::sync::poll::OrderFlow;
use crate::sync::SyncError;
use dealbridge_sdk::model::ExternalRef;
use dealbridge_store::{EntityKind, JobKind, JournalEntry, NewBinding, NewJob};
use std::collections::BTreeMap;
use tracing::info;

/// The one write fix an order gets when several differences propose one: a create outranks a
/// rewrite, which outranks a merge. Duplicates are released one by one; by-hand differences
/// queue nothing.
fn strongest(differences: &[Difference]) -> BTreeMap<String, FixAction> {
    let rank = |f: FixAction| match f {
        FixAction::CreateDeal => 3,
        FixAction::RewriteDeal => 2,
        FixAction::MergePair => 1,
        FixAction::ReleaseDuplicate
        | FixAction::SyncPayments
        | FixAction::RepushProduct
        | FixAction::ByHand => 0,
    };
    let mut out: BTreeMap<String, FixAction> = BTreeMap::new();
    for d in differences {
        let Some(id) = &d.store_id else { continue };
        if rank(d.fix) == 0 {
            continue;
        }
        let slot = out.entry(id.clone()).or_insert(d.fix);
        if rank(d.fix) > rank(*slot) {
            *slot = d.fix;
        }
    }
    out
}

impl super::Reconciler {
    /// Forgets the snapshot of a binding (keeping the record it binds), so the next write of
    /// that record is not taken for a no-op. `false` when there is no such binding: a record
    /// never written is written anyway.
    pub(crate) async fn forget_snapshot(
        &self,
        system: &str,
        kind: EntityKind,
        entity: &str,
    ) -> Result<bool, SyncError> {
        let Some(bound) = self.store.binding(system, kind, entity).await? else {
            return Ok(false);
        };
        self.store
            .save_binding(&NewBinding {
                system,
                kind,
                entity_id: entity,
                external_id: &bound.external_id,
                snapshot: None,
            })
            .await?;
        Ok(true)
    }

    /// Queues the fixes of one flow's findings; returns how many jobs were queued.
    pub async fn queue_fixes(
        &self,
        flow: &OrderFlow,
        found: &FlowFindings,
    ) -> Result<u64, SyncError> {
        let mut queued = self.queue_releases(flow, found).await?;
        queued += self.queue_payment_fixes(flow, found).await?;
        for (order_id, fix) in strongest(&found.differences) {
            let Some(order) = found.orders.get(&order_id) else {
                continue;
            };
            let entity = entity_id(&order.source);
            let crm = &flow.target_system;
            match fix {
                FixAction::CreateDeal => {
                    self.store
                        .remove_binding(crm, EntityKind::Deal, &entity)
                        .await?;
                }
                FixAction::RewriteDeal => {
                    self.forget_snapshot(crm, EntityKind::Deal, &entity).await?;
                }
                FixAction::MergePair => {
                    // The CRM side first: the pull job merges what the CRM holds now.
                    if let (Some(pull), Some(deal)) = (
                        self.pulls.iter().find(|p| p.forward == flow.name),
                        found.deals.get(&order_id),
                    ) {
                        pull.queue_deal(&self.store, deal).await?;
                        queued += 1;
                    }
                }
                FixAction::ReleaseDuplicate
                | FixAction::SyncPayments
                | FixAction::RepushProduct
                | FixAction::ByHand => continue,
            }
            flow.queue_order_now(&self.store, order).await?;
            queued += 1;
            self.store
                .journal(&JournalEntry {
                    kind: EntityKind::Deal,
                    entity_id: &entity,
                    system: crm,
                    action: "reconcile_fix",
                    external_id: None,
                    job_id: None,
                    detail: Some(&format!("{} queued by reconcile --fix", fix.as_str())),
                })
                .await?;
            info!(flow = %flow.name, order = %order_id, fix = fix.as_str(), "reconcile: fix queued");
        }
        Ok(queued)
    }

    /// One release job per duplicate deal.
    async fn queue_releases(
        &self,
        flow: &OrderFlow,
        found: &FlowFindings,
    ) -> Result<u64, SyncError> {
        let mut queued = 0;
        for d in found
            .differences
            .iter()
            .filter(|d| d.fix == FixAction::ReleaseDuplicate)
        {
            let (Some(order_id), Some(deal_id), Some(kept)) =
                (&d.store_id, &d.crm_id, d.store_value.as_str())
            else {
                continue;
            };
            let payload = serde_json::to_value(DealRelease {
                flow: flow.name.clone(),
                deal_id: deal_id.clone(),
                origin: ExternalRef {
                    system: flow.source_system.clone(),
                    id: order_id.clone(),
                },
                kept: kept.to_string(),
            })
            .map_err(SyncError::Encode)?;
            let key = format!("{}:deal.release:{deal_id}", flow.target_system);
            self.store
                .queue()
                .enqueue(&NewJob {
                    kind: JobKind::DealRelease,
                    target: &flow.target_system,
                    coalesce_key: &key,
                    payload: &payload,
                    max_attempts: flow.max_attempts,
                })
                .await?;
            crate::metrics::engine::job_enqueued(JobKind::DealRelease, &flow.name);
            info!(flow = %flow.name, order = %order_id, deal = %deal_id, "reconcile: release of a duplicate deal queued");
            queued += 1;
        }
        Ok(queued)
    }

    /// One payments job per order whose deal shows another paid amount.
    async fn queue_payment_fixes(
        &self,
        flow: &OrderFlow,
        found: &FlowFindings,
    ) -> Result<u64, SyncError> {
        let mut queued = 0;
        for d in found
            .differences
            .iter()
            .filter(|d| d.fix == FixAction::SyncPayments)
        {
            let Some(order_id) = &d.store_id else {
                continue;
            };
            let entity = entity_id(&ExternalRef {
                system: flow.source_system.clone(),
                id: order_id.clone(),
            });
            queue_payments(&self.store, &entity, order_id, flow.max_attempts).await?;
            queued += 1;
        }
        Ok(queued)
    }
}
