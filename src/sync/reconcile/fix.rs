//! `reconcile --fix`: each order with a difference gets one job in the normal queue; the worker's
//! decide step does the writing. What the fix changes here is only what would make the worker
//! skip the job: the snapshot that says "this deal is already written" (forgotten for a rewrite)
//! or the binding to a deal that no longer exists (removed for a create).

use super::difference::{Difference, FixAction};
use super::orders::FlowFindings;
use crate::sync::engine::Engine;
use crate::sync::ids::entity_id;
use crate::sync::poll::OrderFlow;
use crate::sync::SyncError;
use dealbridge_store::{EntityKind, JournalEntry, NewBinding};
use std::collections::BTreeMap;
use tracing::info;

/// The one fix an order gets when several differences propose one: a create outranks a
/// rewrite, which outranks a merge; by-hand differences queue nothing.
fn strongest(differences: &[Difference]) -> BTreeMap<String, FixAction> {
    let rank = |f: FixAction| match f {
        FixAction::CreateDeal => 3,
        FixAction::RewriteDeal => 2,
        FixAction::MergePair => 1,
        FixAction::ByHand => 0,
    };
    let mut out: BTreeMap<String, FixAction> = BTreeMap::new();
    for d in differences {
        let Some(id) = &d.store_id else { continue };
        if d.fix == FixAction::ByHand {
            continue;
        }
        let slot = out.entry(id.clone()).or_insert(d.fix);
        if rank(d.fix) > rank(*slot) {
            *slot = d.fix;
        }
    }
    out
}

impl Engine {
    /// Queues the fixes of one flow's findings; returns how many jobs were queued.
    pub async fn queue_fixes(
        &self,
        flow: &OrderFlow,
        found: &FlowFindings,
    ) -> Result<u64, SyncError> {
        let mut queued = 0;
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
                    if let Some(b) = self.store.binding(crm, EntityKind::Deal, &entity).await? {
                        self.store
                            .save_binding(&NewBinding {
                                system: crm,
                                kind: EntityKind::Deal,
                                entity_id: &entity,
                                external_id: &b.external_id,
                                snapshot: None,
                            })
                            .await?;
                    }
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
                FixAction::ByHand => continue,
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
}
