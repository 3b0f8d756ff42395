//! The writing half of a flow: claim jobs, call the target, record the result.
//!
//! A job is done only after the target accepted the write *and* the binding with its snapshot
//! is saved. A crash in between leaves the job leased; when the lease expires another worker
//! runs it again, and find-or-create (look the deal up by its origin before creating) turns
//! that second run into an update instead of a duplicate.

use super::ids::{contact_key, entity_id, KIND_CONTACT, KIND_DEAL, KIND_ORDER};
use super::job::{DealPull, DealUpsert, JOB_DEAL_PULL, JOB_DEAL_UPSERT};
use super::merge::{lines_value, merge, same_compared_fields, side_name, MergeInput, Resolutions};
use super::plan::DealPlanner;
use super::reverse::order_lines_from_rows;
use super::SyncError;
use crate::mapping::{Mapping, OwnedField};
use backon::{ExponentialBuilder, Retryable};
use dealbridge_sdk::model::{Contact, CrmDealState, Deal, Order, OrderChange};
use dealbridge_sdk::traits::{
    CrmDealReader, CrmDeals, CrmPayments, OrderSink, OrderSource, PaymentSource,
};
use dealbridge_sdk::ConnectorError;
use dealbridge_store::{
    snapshot_hash, ConflictFilter, ConflictState, FailOutcome, Failure, Job, JournalEntry,
    NewBinding, NewConflict, Queue, Store,
};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn, Instrument};

/// Everything a worker needs to run jobs: where to write, and how each flow plans its deals.
pub struct Executor {
    /// The store (bindings, journal).
    pub store: Store,
    /// The queue, with the configured backoff policy.
    pub queue: Queue,
    /// CRM clients by system name.
    pub crms: BTreeMap<String, Arc<dyn CrmDeals>>,
    /// Planners by flow name, with the source and target system names.
    pub flows: BTreeMap<String, FlowTarget>,
    /// CRMs that show payments on deals, by system name.
    pub payments: BTreeMap<String, Arc<dyn CrmPayments>>,
    /// Stores that list an order's payments, by system name.
    pub payment_sources: BTreeMap<String, Arc<dyn PaymentSource>>,
    /// Stores whose orders can be written (marked paid), by system name.
    pub sinks: BTreeMap<String, Arc<dyn OrderSink>>,
    /// Stores whose orders can be re-read, by system name.
    pub sources: BTreeMap<String, Arc<dyn OrderSource>>,
    /// Attempts for the jobs a job queues (payments after a deal).
    pub max_attempts: u32,
}

/// The write side of one flow.
pub struct FlowTarget {
    /// Source system name (for the source-side binding).
    pub source_system: String,
    /// Target system name.
    pub target_system: String,
    /// Plans the deal from the order.
    pub planner: Arc<dyn DealPlanner>,
    /// The flow carries payments too (`entities` has "payment").
    pub payments: bool,
    /// Set when a CRM → store flow pairs with this one: deals are read back, merged with their
    /// orders, and what the CRM changed is written to the store.
    pub two_way: Option<TwoWay>,
    /// A `[[catalog]]` writes the target CRM's products, so deal rows are linked to them
    /// ([`super::link`]); without one the lookups would find nothing, so none is made.
    pub link_products: bool,
}

impl FlowTarget {
    /// The deal `order` plans to, its rows linked to the CRM's products
    /// ([`super::link`]); a mapping that cannot map it is permanent (dead letter).
    async fn plan(&self, store: &Store, order: &Order) -> Result<Deal, RunError> {
        let mut deal = self
            .planner
            .plan(order)
            .map_err(|e| RunError::Permanent(e.to_string()))?;
        if self.link_products {
            super::link::link_rows(store, &self.target_system, order, &mut deal)
                .await
                .map_err(store_err)?;
        }
        Ok(deal)
    }
}

/// What the CRM → store direction of a pair needs.
pub struct TwoWay {
    /// The pair's mapping (reverse stage map, field ownership).
    pub mapping: Arc<Mapping>,
    /// Reads deals back from the CRM.
    pub reader: Arc<dyn CrmDealReader>,
    /// Writes orders in the store.
    pub sink: Arc<dyn OrderSink>,
    /// Re-reads orders from the store.
    pub source: Arc<dyn OrderSource>,
}

/// What running one job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// The target record was created.
    Created,
    /// An existing record was updated (or, two-way, the store and/or the CRM was written).
    Written,
    /// Nothing differed from the last write: no call made.
    Unchanged,
    /// Failed; will run again at the time given.
    Retrying,
    /// Failed for good; in the dead letter.
    Dead,
}

/// How a job failed, before it is recorded.
pub(crate) enum RunError {
    Connector(ConnectorError),
    Permanent(String),
}

impl From<ConnectorError> for RunError {
    fn from(e: ConnectorError) -> Self {
        RunError::Connector(e)
    }
}

impl Executor {
    /// An executor over the given clients and flows.
    pub fn new(
        store: Store,
        queue: Queue,
        crms: BTreeMap<String, Arc<dyn CrmDeals>>,
        flows: BTreeMap<String, FlowTarget>,
    ) -> Self {
        Executor {
            store,
            queue,
            crms,
            flows,
            payments: BTreeMap::new(),
            payment_sources: BTreeMap::new(),
            sinks: BTreeMap::new(),
            sources: BTreeMap::new(),
            max_attempts: 8,
        }
    }

    /// Runs one claimed job to an outcome and records it in the queue.
    pub async fn execute(&self, job: &Job) -> Result<JobOutcome, SyncError> {
        let span = tracing::info_span!("job", id = job.id, kind = %job.kind, key = %job.coalesce_key, attempt = job.attempts);
        async {
            let result = self.run(job).await;
            match result {
                Ok(outcome) => {
                    self.queue.complete(job).await?;
                    Ok(outcome)
                }
                Err(err) => {
                    let (retryable, kind, message, retry_after) = match &err {
                        RunError::Connector(e) => (e.should_retry(), e.kind.code(), e.to_string(), e.retry_after),
                        RunError::Permanent(m) => (false, "mapping", m.clone(), None),
                    };
                    let outcome = self
                        .queue
                        .fail(
                            job,
                            &Failure {
                                retryable,
                                kind,
                                message: &message,
                                retry_after,
                            },
                        )
                        .await?;
                    match outcome {
                        FailOutcome::RetryAt(at) => {
                            info!(error = %message, error_kind = kind, retry_at = %at, "job failed; will retry");
                            Ok(JobOutcome::Retrying)
                        }
                        FailOutcome::Dead => {
                            warn!(error = %message, error_kind = kind, "job dead-lettered");
                            Ok(JobOutcome::Dead)
                        }
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn run(&self, job: &Job) -> Result<JobOutcome, RunError> {
        match job.kind.as_str() {
            JOB_DEAL_UPSERT => {
                let payload: DealUpsert = decode(job)?;
                let (flow, crm) = self.flow(job, &payload.flow)?;
                let entity = entity_id(&payload.order.source);
                if let Some(two) = &flow.two_way {
                    let bound = self
                        .store
                        .binding(&flow.target_system, KIND_DEAL, &entity)
                        .await
                        .map_err(store_err)?;
                    if bound.is_some() {
                        let id = payload.order.source.id.clone();
                        return self
                            .reconcile(flow, two, crm, &entity, &id, Some(payload.order), None)
                            .await;
                    }
                }
                self.upsert(flow, crm, &payload).await
            }
            JOB_DEAL_PULL => {
                let payload: DealPull = decode(job)?;
                let (flow, crm) = self.flow(job, &payload.flow)?;
                let Some(two) = &flow.two_way else {
                    return Err(RunError::Permanent(format!(
                        "job {}: flow `{}` has no CRM → store flow paired with it any more; add it back or drop the job",
                        job.id, payload.flow
                    )));
                };
                let entity = entity_id(&dealbridge_sdk::model::ExternalRef {
                    system: flow.source_system.clone(),
                    id: payload.order_id.clone(),
                });
                self.reconcile(
                    flow,
                    two,
                    crm,
                    &entity,
                    &payload.order_id,
                    None,
                    Some(payload.deal),
                )
                .await
            }
            super::payments::JOB_DEAL_PAYMENTS => self.run_payments(job).await,
            other => Err(RunError::Permanent(format!(
                "job {}: unknown kind `{other}`; this build of dealbridge cannot run it (drop it with `dealbridge queue drop {}`)",
                job.id, job.id
            ))),
        }
    }

    /// The job's flow and its CRM client.
    fn flow(&self, job: &Job, name: &str) -> Result<(&FlowTarget, &dyn CrmDeals), RunError> {
        let flow = self.flows.get(name).ok_or_else(|| {
            RunError::Permanent(format!(
                "job {}: flow `{name}` is not in the config any more; add it back or drop the job",
                job.id
            ))
        })?;
        let crm = self.crms.get(&flow.target_system).ok_or_else(|| {
            RunError::Permanent(format!(
                "job {}: system `{}` is not in the config",
                job.id, flow.target_system
            ))
        })?;
        Ok((flow, crm.as_ref()))
    }

    /// Store → CRM only: make the deal match the order.
    async fn upsert(
        &self,
        flow: &FlowTarget,
        crm: &dyn CrmDeals,
        payload: &DealUpsert,
    ) -> Result<JobOutcome, RunError> {
        let order = &payload.order;
        let entity = entity_id(&order.source);
        let deal = flow.plan(&self.store, order).await?;
        let deal_snapshot = serde_json::to_value(&deal)
            .map_err(|e| RunError::Permanent(format!("order {entity}: cannot encode deal: {e}")))?;
        let order_snapshot = serde_json::to_value(order).map_err(|e| {
            RunError::Permanent(format!("order {entity}: cannot encode order: {e}"))
        })?;
        let target = flow.target_system.as_str();
        let bound = self
            .store
            .binding(target, KIND_DEAL, &entity)
            .await
            .map_err(store_err)?;

        let outcome = match &bound {
            Some(b)
                if b.snapshot_hash.as_deref() == Some(snapshot_hash(&deal_snapshot).as_str()) =>
            {
                self.journal(
                    &entity,
                    target,
                    "unchanged",
                    Some(&b.external_id),
                    "deal already matches the order",
                )
                .await?;
                JobOutcome::Unchanged
            }
            _ => {
                let contact_id = match &deal.contact {
                    Some(c) => self.contact_id(crm, target, c).await?,
                    None => None,
                };
                let deal_id = self
                    .write_deal(
                        crm,
                        target,
                        &entity,
                        bound.as_ref().map(|b| b.external_id.as_str()),
                        &deal,
                        contact_id.as_deref(),
                    )
                    .await?;
                let (deal_id, created) = deal_id;
                self.store
                    .save_binding(&NewBinding {
                        system: target,
                        kind: KIND_DEAL,
                        entity_id: &entity,
                        external_id: &deal_id,
                        snapshot: Some(&deal_snapshot),
                    })
                    .await
                    .map_err(store_err)?;
                if created {
                    JobOutcome::Created
                } else {
                    JobOutcome::Written
                }
            }
        };
        self.store
            .save_binding(&NewBinding {
                system: &flow.source_system,
                kind: KIND_ORDER,
                entity_id: &entity,
                external_id: &order.source.id,
                snapshot: Some(&order_snapshot),
            })
            .await
            .map_err(store_err)?;
        self.queue_payments_if_paid(flow, &entity, order).await?;
        Ok(outcome)
    }

    /// A paid or refunded order's payments go to its deal (see [`super::payments`]); queued
    /// after the deal is written so the payments job finds it.
    async fn queue_payments_if_paid(
        &self,
        flow: &FlowTarget,
        entity: &str,
        order: &Order,
    ) -> Result<(), RunError> {
        if flow.payments && super::payments::has_payments(order) {
            super::payments::queue_payments(
                &self.store,
                entity,
                &order.source.id,
                self.max_attempts,
            )
            .await
            .map_err(store_err)?;
        }
        Ok(())
    }

    /// Two-way: merges the order and the deal against their last synced snapshots and writes what
    /// moved to the side that lacks it. Runs under the pair's lock, so the store- and CRM-
    /// triggered jobs of one pair (different queue keys) never interleave.
    #[allow(clippy::too_many_arguments)]
    async fn reconcile(
        &self,
        flow: &FlowTarget,
        two: &TwoWay,
        crm: &dyn CrmDeals,
        entity: &str,
        order_id: &str,
        order: Option<Order>,
        crm_state: Option<CrmDealState>,
    ) -> Result<JobOutcome, RunError> {
        let held = self
            .store
            .lock(&format!("pair:{entity}"))
            .await
            .map_err(store_err)?;
        let result = self
            .reconcile_locked(flow, two, crm, entity, order_id, order, crm_state)
            .await;
        held.release().await.map_err(store_err)?;
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn reconcile_locked(
        &self,
        flow: &FlowTarget,
        two: &TwoWay,
        crm: &dyn CrmDeals,
        entity: &str,
        order_id: &str,
        order: Option<Order>,
        crm_state: Option<CrmDealState>,
    ) -> Result<JobOutcome, RunError> {
        let target = flow.target_system.as_str();
        let source = flow.source_system.as_str();
        let Some(deal_binding) = self
            .store
            .binding(target, KIND_DEAL, entity)
            .await
            .map_err(store_err)?
        else {
            return Err(RunError::Permanent(format!(
                "order {entity}: no deal is bound to it in `{target}`; the store → CRM job creates it first"
            )));
        };
        let deal_id = deal_binding.external_id.clone();
        // A store-triggered job whose order plans to exactly the deal we last wrote has nothing
        // to carry: no read of either system.
        if let (Some(hint), None) = (&order, &crm_state) {
            let planned = flow.plan(&self.store, hint).await?;
            if deal_binding.snapshot_hash.as_deref()
                == Some(snapshot_hash(&to_json(entity, &planned)?).as_str())
            {
                self.journal(
                    entity,
                    target,
                    "unchanged",
                    Some(&deal_id),
                    "deal already matches the order",
                )
                .await?;
                return Ok(JobOutcome::Unchanged);
            }
        }
        // Both sides are read afresh: a payload may be older than a write another job of this
        // pair made since (it was queued before), and merging a stale side would undo that write.
        let order_now = match read_with_retry(|| two.source.order(order_id)).await? {
            Some(o) => o,
            None => {
                self.journal(
                    entity,
                    source,
                    "skipped",
                    Some(order_id),
                    "order no longer exists in the store; nothing is written back",
                )
                .await?;
                return Ok(JobOutcome::Unchanged);
            }
        };
        let crm_state = match read_with_retry(|| two.reader.deal(&deal_id)).await? {
            Some(s) => s,
            None => {
                self.journal(
                    entity,
                    target,
                    "skipped",
                    Some(&deal_id),
                    "the deal was deleted in the CRM; nothing is written",
                )
                .await?;
                return Ok(JobOutcome::Unchanged);
            }
        };
        let store_now = flow.plan(&self.store, &order_now).await?;
        let crm_base: Deal = match deal_binding
            .snapshot
            .as_ref()
            .and_then(|s| serde_json::from_value(s.clone()).ok())
        {
            Some(d) => d,
            None => store_now.clone(),
        };
        let order_binding = self
            .store
            .binding(source, KIND_ORDER, entity)
            .await
            .map_err(store_err)?;
        let base_order = order_binding
            .as_ref()
            .and_then(|b| b.snapshot.as_ref())
            .and_then(|s| serde_json::from_value::<Order>(s.clone()).ok());
        // An old snapshot the mapping can no longer plan falls back to the CRM's base; a
        // database failure is not swallowed into a wrong base.
        let store_base = match base_order {
            Some(o) => match flow.plan(&self.store, &o).await {
                Ok(deal) => deal,
                Err(RunError::Permanent(_)) => crm_base.clone(),
                Err(e) => return Err(e),
            },
            None => crm_base.clone(),
        };

        // A person must decide first: `manual` holds every write of the pair.
        let open = self
            .store
            .open_conflicts_for(KIND_DEAL, entity)
            .await
            .map_err(store_err)?;
        if !open.is_empty() {
            let ids: Vec<String> = open.iter().map(|c| c.id.to_string()).collect();
            self.journal(
                entity,
                target,
                "held",
                Some(&deal_id),
                &format!(
                    "open conflict(s) {}: resolve with `dealbridge conflicts resolve`",
                    ids.join(", ")
                ),
            )
            .await?;
            return Ok(JobOutcome::Unchanged);
        }
        let resolutions = self.resolutions(entity, deal_binding.synced_at).await?;
        let outcome = merge(
            &MergeInput {
                store_now: &store_now,
                store_base: &store_base,
                crm_now: &crm_state.deal,
                crm_base: &crm_base,
                store_modified: order_now.modified_at,
                crm_modified: crm_state.modified_at,
            },
            &two.mapping.fields,
            &resolutions,
        );
        for c in &outcome.conflicts {
            let chosen = c.winner.map(|w| match w {
                super::merge::Side::Store => source,
                super::merge::Side::Crm => target,
            });
            let chosen_value = c.winner.map(|w| match w {
                super::merge::Side::Store => c.store.clone(),
                super::merge::Side::Crm => c.crm.clone(),
            });
            let id = self
                .store
                .record_conflict(&NewConflict {
                    kind: KIND_DEAL,
                    entity_id: entity,
                    field: c.field.as_str(),
                    base: Some(&c.base),
                    ours: &c.store,
                    theirs: &c.crm,
                    ours_system: source,
                    theirs_system: target,
                    rule: c.rule.as_str(),
                    chosen,
                    chosen_value: chosen_value.as_ref(),
                    reason: &c.reason,
                })
                .await
                .map_err(store_err)?;
            warn!(order = %entity, field = c.field.as_str(), conflict = id, rule = c.rule.as_str(),
                  winner = c.winner.map_or("none (held)", side_name), "both systems changed a field");
        }
        if outcome.held() {
            self.journal(
                entity,
                target,
                "held",
                Some(&deal_id),
                "a manual conflict holds this order and its deal",
            )
            .await?;
            return Ok(JobOutcome::Unchanged);
        }
        let merged = &outcome.merged;

        // The store's side: the stage (through the reverse stage map) and the lines.
        let mut change = OrderChange::default();
        if merged.stage != store_now.stage {
            match two.mapping.status_for_stage(&merged.stage) {
                Some(status) if status != order_now.status => {
                    change.status = Some(status.to_string())
                }
                Some(_) => {}
                None => {
                    self.journal(entity, source, "kept", Some(order_id), &format!(
                        "deal stage `{}` has no store status in {} ([stage_map]); the order stays `{}`",
                        merged.stage, two.mapping.path.display(), order_now.status
                    ))
                    .await?;
                }
            }
        }
        if lines_value(&merged.lines) != lines_value(&store_now.lines) {
            let products = if flow.link_products {
                super::link::store_products_of_rows(&self.store, target, source, &merged.lines)
                    .await
                    .map_err(store_err)?
            } else {
                Default::default()
            };
            change.lines = Some(order_lines_from_rows(
                &merged.lines,
                &order_now,
                &store_now,
                &products,
            ));
        }
        let store_written = change != OrderChange::default();
        let order_after = if store_written {
            let after = two.sink.update_order(order_id, &change).await?;
            let what: Vec<&str> = [
                change.status.as_ref().map(|_| "status"),
                change.lines.as_ref().map(|_| "lines"),
            ]
            .into_iter()
            .flatten()
            .collect();
            self.journal_kind(
                KIND_ORDER,
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
            // Saved at once: if the CRM write below fails, the retry sees the store already
            // carries the change (both sides then agree) instead of writing it again.
            self.save_order_snapshot(source, entity, &after).await?;
            after
        } else {
            order_now
        };

        // The CRM's side: the order as the store now has it, with the merged stage and title.
        let mut final_deal = flow.plan(&self.store, &order_after).await?;
        final_deal.stage = merged.stage.clone();
        final_deal.title = merged.title.clone();
        if !store_written {
            final_deal.amount = merged.amount;
            final_deal.lines = merged.lines.clone();
        }
        let forward_only_changed = store_now.contact != store_base.contact
            || store_now.comments != store_base.comments
            || store_now.source_channel != store_base.source_channel;
        let crm_written =
            !same_compared_fields(&final_deal, &crm_state.deal) || forward_only_changed;
        if crm_written {
            let contact_id = match &final_deal.contact {
                Some(c) => self.contact_id(crm, target, c).await?,
                None => None,
            };
            crm.update_deal(&deal_id, &final_deal, contact_id.as_deref())
                .await?;
            let moved: Vec<&str> = outcome
                .changed
                .iter()
                .filter(|(_, side)| *side == super::merge::Side::Store)
                .map(|(f, _)| f.as_str())
                .collect();
            self.journal(
                entity,
                target,
                "updated",
                Some(&deal_id),
                &format!(
                    "stage {}; from the store: {}",
                    final_deal.stage,
                    if moved.is_empty() {
                        "recalculated totals".to_string()
                    } else {
                        moved.join(", ")
                    }
                ),
            )
            .await?;
        }
        let final_json = to_json(entity, &final_deal)?;
        self.store
            .save_binding(&NewBinding {
                system: target,
                kind: KIND_DEAL,
                entity_id: entity,
                external_id: &deal_id,
                snapshot: Some(&final_json),
            })
            .await
            .map_err(store_err)?;
        self.save_order_snapshot(source, entity, &order_after)
            .await?;
        if store_written || crm_written {
            self.queue_payments_if_paid(flow, entity, &order_after)
                .await?;
        }
        if !store_written && !crm_written {
            self.journal(
                entity,
                target,
                "unchanged",
                Some(&deal_id),
                "order and deal agree",
            )
            .await?;
            return Ok(JobOutcome::Unchanged);
        }
        Ok(JobOutcome::Written)
    }

    /// Decisions people made (`conflicts resolve`) on this pair's `manual` conflicts since the
    /// pair last synced: they are applied once, by the next merge.
    async fn resolutions(
        &self,
        entity: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Resolutions, RunError> {
        let decided = self
            .store
            .conflicts(&ConflictFilter {
                state: Some(ConflictState::Resolved),
                kind: Some(KIND_DEAL.to_string()),
                entity_id: Some(entity.to_string()),
                limit: 100,
            })
            .await
            .map_err(store_err)?;
        let mut out = Resolutions::new();
        // Newest first: the first decision seen for a field is the one that stands.
        for c in decided {
            let by_person = c
                .resolved_by
                .as_deref()
                .is_some_and(|b| !b.starts_with("rule:"));
            let fresh = c.resolved_at.is_some_and(|at| at >= since);
            if let (true, true, Some(field), Some(value)) = (
                by_person,
                fresh,
                OwnedField::parse(&c.field),
                c.chosen_value,
            ) {
                out.entry(field).or_insert(value);
            }
        }
        Ok(out)
    }

    async fn save_order_snapshot(
        &self,
        source: &str,
        entity: &str,
        order: &Order,
    ) -> Result<(), RunError> {
        let json = to_json(entity, order)?;
        self.store
            .save_binding(&NewBinding {
                system: source,
                kind: KIND_ORDER,
                entity_id: entity,
                external_id: &order.source.id,
                snapshot: Some(&json),
            })
            .await
            .map_err(store_err)
    }

    /// Creates or updates the deal; returns its CRM id and whether it was created.
    async fn write_deal(
        &self,
        crm: &dyn CrmDeals,
        target: &str,
        entity: &str,
        bound_id: Option<&str>,
        deal: &Deal,
        contact_id: Option<&str>,
    ) -> Result<(String, bool), RunError> {
        if let Some(id) = bound_id {
            crm.update_deal(id, deal, contact_id).await?;
            self.journal(entity, target, "updated", Some(id), &deal.stage)
                .await?;
            return Ok((id.to_string(), false));
        }
        // Not bound: maybe a previous run created it and crashed before saving the binding.
        if let Some(id) = read_with_retry(|| crm.find_deal(&deal.origin)).await? {
            crm.update_deal(&id, deal, contact_id).await?;
            self.journal(
                entity,
                target,
                "adopted",
                Some(&id),
                "found by origin; updated instead of creating",
            )
            .await?;
            return Ok((id, false));
        }
        let id = crm.create_deal(deal, contact_id).await?;
        self.journal(entity, target, "created", Some(&id), &deal.stage)
            .await?;
        Ok((id, true))
    }

    /// Finds or creates the contact; returns its CRM id, or `None` if it has no matching key.
    async fn contact_id(
        &self,
        crm: &dyn CrmDeals,
        target: &str,
        contact: &Contact,
    ) -> Result<Option<String>, RunError> {
        let Some(key) = contact_key(contact) else {
            return Ok(None);
        };
        let bound = |store: Store, key: String| async move {
            store
                .binding(target, KIND_CONTACT, &key)
                .await
                .map(|b| b.map(|b| b.external_id))
                .map_err(store_err)
        };
        // Fast path: a known buyer needs no lock.
        if let Some(id) = bound(self.store.clone(), key.clone()).await? {
            return Ok(Some(id));
        }
        // One find-or-create per contact at a time, across every process sharing the store
        // (PostgreSQL advisory lock), so two orders of one new buyer make one contact.
        let held = self
            .store
            .lock(&format!("contact:{target}/{key}"))
            .await
            .map_err(store_err)?;
        if let Some(id) = bound(self.store.clone(), key.clone()).await? {
            held.release().await.map_err(store_err)?;
            return Ok(Some(id));
        }
        let (id, action) = match read_with_retry(|| crm.find_contact(contact)).await? {
            Some(id) => (id, "matched"),
            None => (crm.create_contact(contact).await?, "created"),
        };
        let snapshot = serde_json::to_value(contact).ok();
        self.store
            .save_binding(&NewBinding {
                system: target,
                kind: KIND_CONTACT,
                entity_id: &key,
                external_id: &id,
                snapshot: snapshot.as_ref(),
            })
            .await
            .map_err(store_err)?;
        self.journal_kind(KIND_CONTACT, &key, target, action, Some(&id), "")
            .await?;
        Ok(Some(id))
    }

    async fn journal(
        &self,
        entity: &str,
        system: &str,
        action: &str,
        external: Option<&str>,
        detail: &str,
    ) -> Result<(), RunError> {
        self.journal_kind(KIND_DEAL, entity, system, action, external, detail)
            .await
    }

    pub(crate) async fn journal_kind(
        &self,
        kind: &str,
        entity: &str,
        system: &str,
        action: &str,
        external: Option<&str>,
        detail: &str,
    ) -> Result<(), RunError> {
        self.store
            .journal(&JournalEntry {
                kind,
                entity_id: entity,
                system,
                action,
                external_id: external,
                job_id: None,
                detail: Some(detail).filter(|d| !d.is_empty()),
            })
            .await
            .map_err(store_err)
    }
}

/// Decodes a job's payload; a payload that does not decode is permanent (a bug or a hand edit).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(job: &Job) -> Result<T, RunError> {
    serde_json::from_value(job.payload.clone()).map_err(|e| {
        RunError::Permanent(format!(
            "job {}: payload is not a `{}` payload: {e}",
            job.id, job.kind
        ))
    })
}

/// A record as JSON for a snapshot.
fn to_json<T: serde::Serialize>(entity: &str, v: &T) -> Result<serde_json::Value, RunError> {
    serde_json::to_value(v)
        .map_err(|e| RunError::Permanent(format!("{entity}: cannot encode a snapshot: {e}")))
}

/// A store failure while running a job is transient: the database may be back on the next try,
/// and the job is still leased, so nothing is lost.
pub(crate) fn store_err(e: dealbridge_store::StoreError) -> RunError {
    RunError::Connector(
        ConnectorError::new(dealbridge_sdk::ErrorKind::Transient, "store", e.to_string())
            .with_source(e),
    )
}

/// Retries a *read* a few times at once with backoff (reads are idempotent); writes are never
/// retried here, their retries are durable and live in the queue.
pub(crate) async fn read_with_retry<T, F, Fut>(f: F) -> Result<T, ConnectorError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ConnectorError>>,
{
    f.retry(
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(3)
            .with_jitter(),
    )
    .when(|e: &ConnectorError| e.should_retry())
    .await
}
