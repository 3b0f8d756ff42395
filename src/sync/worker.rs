//! The writing half of a flow: claim jobs, call the target, record the result.
//!
//! A job is done only after the target accepted the write *and* the binding with its snapshot
//! is saved. A crash in between leaves the job leased; when the lease expires another worker
//! runs it again, and find-or-create (look the deal up by its origin before creating) turns
//! that second run into an update instead of a duplicate.
//!
//! Every write is decided before it is made: a store → CRM job plans the deal and decides it
//! against the binding ([`super::upsert`]); a job of a two-way pair loads both sides, decides
//! with the pure [`super::two_way::decide`] and applies the plan ([`super::two_way`]).

use super::ids::{contact_key, entity_id};
use super::job::{DealPull, DealRelease, DealUpsert};
use super::plan::{DealPlanner, PlanError};
use super::two_way::run::PairJob;
use super::upsert::{decide_upsert, UpsertPlan};
use super::SyncError;
use crate::mapping::Mapping;
use backon::{ExponentialBuilder, Retryable};
use dealbridge_sdk::model::{Contact, Deal, Order};
use dealbridge_sdk::traits::{
    CrmDealReader, CrmDeals, CrmPayments, OrderSink, OrderSource, PaymentSource,
};
use dealbridge_sdk::ConnectorError;
use dealbridge_store::{EntityKind, JobKind};
use dealbridge_store::{
    FailOutcome, Failure, Job, JournalEntry, NewBinding, Queue, Store, StoreError,
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
    /// CRMs whose deals can be read back, by system name (`reconcile` compares them with the
    /// orders; a two-way pair reads them through its [`TwoWay`]).
    pub readers: BTreeMap<String, Arc<dyn CrmDealReader>>,
    /// Attempts for the jobs a job queues (payments after a deal).
    pub max_attempts: u32,
    /// Sends alert notifications (`[alerts]`), when configured.
    pub alerts: Option<Arc<crate::alerts::notify::Notifier>>,
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
    /// The deal `order` plans to, its rows linked to the CRM's products ([`super::link`]).
    /// The outer error is the store's (linking reads it); the inner one says why the mapping
    /// cannot map the order.
    pub(crate) async fn plan_deal(
        &self,
        store: &Store,
        order: &Order,
    ) -> Result<Result<Deal, PlanError>, StoreError> {
        let mut deal = match self.planner.plan(order) {
            Ok(deal) => deal,
            Err(e) => return Ok(Err(e)),
        };
        if self.link_products {
            super::link::link_rows(store, &self.target_system, order, &mut deal).await?;
        }
        Ok(Ok(deal))
    }

    /// [`FlowTarget::plan_deal`] for a job: a mapping that cannot map the order is permanent
    /// (dead letter).
    pub(crate) async fn plan(&self, store: &Store, order: &Order) -> Result<Deal, RunError> {
        self.plan_deal(store, order)
            .await
            .map_err(store_err)?
            .map_err(|e| RunError::Permanent(e.to_string()))
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
    /// A call (or the store) failed; retried when the error says so.
    Connector(ConnectorError),
    /// The job cannot succeed as it is (a mapping gap, a bad payload): dead-lettered.
    Permanent(String),
}

impl RunError {
    /// The error as a connector error (a permanent one as `invalid`), for callers outside a job.
    pub(crate) fn into_connector(self) -> ConnectorError {
        match self {
            RunError::Connector(e) => e,
            RunError::Permanent(message) => {
                ConnectorError::new(dealbridge_sdk::ErrorKind::Invalid, "engine", message)
            }
        }
    }
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
            readers: BTreeMap::new(),
            max_attempts: 8,
            alerts: None,
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
                            if let RunError::Connector(e) = &err {
                                crate::metrics::engine::api_retry(e.system);
                            }
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
        match job.kind {
            JobKind::DealUpsert => {
                let payload: DealUpsert = decode(job)?;
                let (flow, crm) = self.flow(job, &payload.flow)?;
                let entity = entity_id(&payload.order.source);
                if let Some(two) = &flow.two_way {
                    let bound = self
                        .store
                        .binding(&flow.target_system, EntityKind::Deal, &entity)
                        .await
                        .map_err(store_err)?;
                    if bound.is_some() {
                        let id = payload.order.source.id.clone();
                        let job = PairJob {
                            entity: &entity,
                            order_id: &id,
                            order: Some(payload.order),
                            crm_state: None,
                        };
                        return self.reconcile(flow, two, crm, job).await;
                    }
                }
                self.upsert(flow, crm, &payload).await
            }
            JobKind::DealPull => {
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
                let job = PairJob {
                    entity: &entity,
                    order_id: &payload.order_id,
                    order: None,
                    crm_state: Some(payload.deal),
                };
                self.reconcile(flow, two, crm, job).await
            }
            JobKind::DealPayments => self.run_payments(job).await,
            JobKind::DealRelease => self.release(job).await,
            JobKind::Alert => self.run_alert(job).await,
        }
    }

    /// Makes a duplicate deal stop claiming its order, and journals it.
    async fn release(&self, job: &Job) -> Result<JobOutcome, RunError> {
        let payload: DealRelease = decode(job)?;
        let (flow, crm) = self.flow(job, &payload.flow)?;
        let entity = entity_id(&payload.origin);
        let note = format!(
            "dealbridge: this deal duplicated deal {} for order {} of {}; it no longer mirrors the order. Merge it into deal {} or close it.",
            payload.kept, payload.origin.id, payload.origin.system, payload.kept
        );
        crm.release_deal(&payload.deal_id, &payload.origin, &note)
            .await?;
        self.journal(
            &entity,
            &flow.target_system,
            "released_duplicate",
            Some(&payload.deal_id),
            &format!("kept deal {}", payload.kept),
        )
        .await?;
        Ok(JobOutcome::Written)
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

    /// Store → CRM only: make the deal match the order. Plans the deal, decides the write
    /// against the binding ([`super::upsert`]), then applies it.
    async fn upsert(
        &self,
        flow: &FlowTarget,
        crm: &dyn CrmDeals,
        payload: &DealUpsert,
    ) -> Result<JobOutcome, RunError> {
        let order = &payload.order;
        let entity = entity_id(&order.source);
        let deal = flow.plan(&self.store, order).await?;
        let bound = self
            .store
            .binding(&flow.target_system, EntityKind::Deal, &entity)
            .await
            .map_err(store_err)?;
        let plan = decide_upsert(deal, bound.as_ref())
            .map_err(|e| RunError::Permanent(format!("order {entity}: cannot encode deal: {e}")))?;
        self.apply_upsert(flow, crm, &entity, order, plan).await
    }

    /// Executes an [`UpsertPlan`]: the deal write with its binding, then the order snapshot (so
    /// the next poll sees the order as landed) and the payments it carries.
    async fn apply_upsert(
        &self,
        flow: &FlowTarget,
        crm: &dyn CrmDeals,
        entity: &str,
        order: &Order,
        plan: UpsertPlan,
    ) -> Result<JobOutcome, RunError> {
        let order_snapshot = serde_json::to_value(order).map_err(|e| {
            RunError::Permanent(format!("order {entity}: cannot encode order: {e}"))
        })?;
        let target = flow.target_system.as_str();
        let outcome = match plan {
            UpsertPlan::Unchanged { deal_id } => {
                self.journal(
                    entity,
                    target,
                    "unchanged",
                    Some(&deal_id),
                    "deal already matches the order",
                )
                .await?;
                JobOutcome::Unchanged
            }
            UpsertPlan::Write {
                bound_id,
                deal,
                snapshot,
            } => {
                let contact_id = match &deal.contact {
                    Some(c) => self.contact_id(crm, target, c).await?,
                    None => None,
                };
                let (deal_id, created) = self
                    .write_deal(
                        crm,
                        target,
                        entity,
                        bound_id.as_deref(),
                        &deal,
                        contact_id.as_deref(),
                    )
                    .await?;
                self.store
                    .save_binding(&NewBinding {
                        system: target,
                        kind: EntityKind::Deal,
                        entity_id: entity,
                        external_id: &deal_id,
                        snapshot: Some(&snapshot),
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
                kind: EntityKind::Order,
                entity_id: entity,
                external_id: &order.source.id,
                snapshot: Some(&order_snapshot),
            })
            .await
            .map_err(store_err)?;
        self.queue_payments_if_paid(flow, entity, order).await?;
        Ok(outcome)
    }

    /// A paid or refunded order's payments go to its deal (see [`super::payments`]); queued
    /// after the deal is written so the payments job finds it.
    pub(crate) async fn queue_payments_if_paid(
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

    /// Saves `deal` as the deal snapshot of `entity`, bound to `deal_id` (the CRM side's merge
    /// base).
    pub(crate) async fn save_deal_snapshot(
        &self,
        target: &str,
        entity: &str,
        deal_id: &str,
        deal: &Deal,
    ) -> Result<(), RunError> {
        let json = to_json(entity, deal)?;
        self.store
            .save_binding(&NewBinding {
                system: target,
                kind: EntityKind::Deal,
                entity_id: entity,
                external_id: deal_id,
                snapshot: Some(&json),
            })
            .await
            .map_err(store_err)
    }

    /// Saves `order` as the order snapshot of `entity` (the store side's merge base).
    pub(crate) async fn save_order_snapshot(
        &self,
        source: &str,
        entity: &str,
        order: &Order,
    ) -> Result<(), RunError> {
        let json = to_json(entity, order)?;
        self.store
            .save_binding(&NewBinding {
                system: source,
                kind: EntityKind::Order,
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
    pub(crate) async fn contact_id(
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
                .binding(target, EntityKind::Contact, &key)
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
                kind: EntityKind::Contact,
                entity_id: &key,
                external_id: &id,
                snapshot: snapshot.as_ref(),
            })
            .await
            .map_err(store_err)?;
        self.journal_kind(EntityKind::Contact, &key, target, action, Some(&id), "")
            .await?;
        Ok(Some(id))
    }

    /// Journals an action on the deal of `entity` in `system`.
    pub(crate) async fn journal(
        &self,
        entity: &str,
        system: &str,
        action: &str,
        external: Option<&str>,
        detail: &str,
    ) -> Result<(), RunError> {
        self.journal_kind(EntityKind::Deal, entity, system, action, external, detail)
            .await
    }

    /// Journals an action on an entity of `kind` in `system`.
    pub(crate) async fn journal_kind(
        &self,
        kind: EntityKind,
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
pub(crate) fn to_json<T: serde::Serialize>(
    entity: &str,
    v: &T,
) -> Result<serde_json::Value, RunError> {
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
    read_with_retries(3, f).await
}

/// [`read_with_retry`] with `times` retries. A pause the system asked for (`Retry-After`, a
/// throttling answer) is waited out in full: retrying sooner would only be refused again.
pub(crate) async fn read_with_retries<T, F, Fut>(times: usize, f: F) -> Result<T, ConnectorError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ConnectorError>>,
{
    f.retry(
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(times)
            .with_jitter(),
    )
    .when(|e: &ConnectorError| e.should_retry())
    .adjust(|e: &ConnectorError, next: Option<Duration>| {
        next.map(|d| e.retry_after.map_or(d, |asked| asked.max(d)))
    })
    .notify(|e: &ConnectorError, _| crate::metrics::engine::api_retry(e.system))
    .await
}
