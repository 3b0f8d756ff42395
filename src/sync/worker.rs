//! The writing half of a flow: claim jobs, call the target, record the result.
//!
//! A job is done only after the target accepted the write *and* the binding with its snapshot
//! is saved. A crash in between leaves the job leased; when the lease expires another worker
//! runs it again, and find-or-create (look the deal up by its origin before creating) turns
//! that second run into an update instead of a duplicate.

use super::ids::{contact_key, entity_id, KIND_CONTACT, KIND_DEAL, KIND_ORDER};
use super::job::{DealUpsert, JOB_DEAL_UPSERT};
use super::plan::DealPlanner;
use super::SyncError;
use backon::{ExponentialBuilder, Retryable};
use dealbridge_sdk::model::{Contact, Deal};
use dealbridge_sdk::traits::CrmDeals;
use dealbridge_sdk::ConnectorError;
use dealbridge_store::{
    snapshot_hash, FailOutcome, Failure, Job, JournalEntry, NewBinding, Queue, Store,
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
}

/// The write side of one flow.
pub struct FlowTarget {
    /// Source system name (for the source-side binding).
    pub source_system: String,
    /// Target system name.
    pub target_system: String,
    /// Plans the deal from the order.
    pub planner: Arc<dyn DealPlanner>,
}

/// What running one job came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// The target was written (deal created or updated).
    Written,
    /// Nothing differed from the last write: no call made.
    Unchanged,
    /// Failed; will run again at the time given.
    Retrying,
    /// Failed for good; in the dead letter.
    Dead,
}

/// How a job failed, before it is recorded.
enum RunError {
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
        if job.kind != JOB_DEAL_UPSERT {
            return Err(RunError::Permanent(format!(
                "job {}: unknown kind `{}`; this build of dealbridge cannot run it (drop it with `dealbridge queue drop {}`)",
                job.id, job.kind, job.id
            )));
        }
        let payload: DealUpsert = serde_json::from_value(job.payload.clone()).map_err(|e| {
            RunError::Permanent(format!("job {}: payload is not a deal upsert: {e}", job.id))
        })?;
        let flow = self.flows.get(&payload.flow).ok_or_else(|| {
            RunError::Permanent(format!(
                "job {}: flow `{}` is not in the config any more; add it back or drop the job",
                job.id, payload.flow
            ))
        })?;
        let crm = self.crms.get(&flow.target_system).ok_or_else(|| {
            RunError::Permanent(format!(
                "job {}: system `{}` is not in the config",
                job.id, flow.target_system
            ))
        })?;
        let order = &payload.order;
        let entity = entity_id(&order.source);
        let deal = flow
            .planner
            .plan(order)
            .map_err(|e| RunError::Permanent(e.to_string()))?;
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
                    Some(c) => self.contact_id(crm.as_ref(), target, c).await?,
                    None => None,
                };
                let deal_id = self
                    .write_deal(
                        crm.as_ref(),
                        target,
                        &entity,
                        bound.as_ref().map(|b| b.external_id.as_str()),
                        &deal,
                        contact_id.as_deref(),
                    )
                    .await?;
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
                JobOutcome::Written
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
        Ok(outcome)
    }

    /// Creates or updates the deal; returns its CRM id.
    async fn write_deal(
        &self,
        crm: &dyn CrmDeals,
        target: &str,
        entity: &str,
        bound_id: Option<&str>,
        deal: &Deal,
        contact_id: Option<&str>,
    ) -> Result<String, RunError> {
        if let Some(id) = bound_id {
            crm.update_deal(id, deal, contact_id).await?;
            self.journal(entity, target, "updated", Some(id), &deal.stage)
                .await?;
            return Ok(id.to_string());
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
            return Ok(id);
        }
        let id = crm.create_deal(deal, contact_id).await?;
        self.journal(entity, target, "created", Some(&id), &deal.stage)
            .await?;
        Ok(id)
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

    async fn journal_kind(
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

/// A store failure while running a job is transient: the database may be back on the next try,
/// and the job is still leased, so nothing is lost.
fn store_err(e: dealbridge_store::StoreError) -> RunError {
    RunError::Connector(
        ConnectorError::new(dealbridge_sdk::ErrorKind::Transient, "store", e.to_string())
            .with_source(e),
    )
}

/// Retries a *read* a few times at once with backoff (reads are idempotent); writes are never
/// retried here, their retries are durable and live in the queue.
async fn read_with_retry<T, F, Fut>(f: F) -> Result<T, ConnectorError>
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
