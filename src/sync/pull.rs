//! The CRM → store half of a two-way pair: read the deals the CRM changed, and queue a merge for
//! each one whose compared fields differ from what we last wrote or saw.
//!
//! Our own writes come back here too (a deal we updated has a new `DATE_MODIFY`); they equal the
//! deal snapshot saved with the write and queue nothing, which is what stops ping-pong. Deals a
//! manager created by hand (no origin from this store) are not ours to mirror and are skipped.

use super::ids::{coalesce_key, entity_id};
use super::job::DealPull;
use super::poll::{advance_cursor, poll_since, Pages, PollReport};
use super::two_way::merge::same_compared_fields;
use super::SyncError;
use chrono::{DateTime, Utc};
use dealbridge_sdk::model::{CrmDealState, Deal, Page};
use dealbridge_sdk::traits::CrmDealReader;
use dealbridge_store::{Binding, Enqueued, NewJob, Store};
use dealbridge_store::{EntityKind, JobKind};
use std::sync::Arc;
use std::time::Duration;
use tracing::debug;

/// One CRM → store flow: deals read from `crm_system`, merged into orders of `store_system`.
pub struct DealPullFlow {
    /// The reverse flow's name (`[[flows]] name`), used for its cursor and logs.
    pub name: String,
    /// The store → CRM flow of the same pair (its mapping and bindings).
    pub forward: String,
    /// The CRM's config name.
    pub crm_system: String,
    /// The store's config name.
    pub store_system: String,
    /// Reads deals.
    pub reader: Arc<dyn CrmDealReader>,
    /// Page size.
    pub page_size: u32,
    /// How far before the cursor each pass re-reads.
    pub overlap: Duration,
    /// Attempts before a write is dead-lettered.
    pub max_attempts: u32,
}

/// The store cursor of the CRM → store flow named `flow`.
pub fn cursor_name_of(flow: &str) -> String {
    format!("flow:{flow}:deals_modified_after")
}

/// What [`DealPullFlow::queue_deal`] did with one deal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pulled {
    /// A merge job was queued.
    Queued,
    /// Folded into a pending merge job for the same pair.
    Coalesced,
    /// Equal to what we last wrote or saw (our own write echoing back, or no compared change).
    Unchanged,
    /// Not a deal of this store's orders.
    NotOurs,
    /// A deal of this store's orders whose binding is not saved yet (the store → CRM job that
    /// created it is finishing): try again shortly rather than drop the change.
    Unbound,
}

impl DealPullFlow {
    /// The cursor's name in the store.
    pub fn cursor_name(&self) -> String {
        cursor_name_of(&self.name)
    }

    /// One pass over the CRM's changed deals; the cursor moves after the whole pass is queued.
    pub async fn poll(&self, store: &Store, full: bool) -> Result<PollReport, SyncError> {
        let cursor_name = self.cursor_name();
        let since = poll_since(store, &cursor_name, full, self.overlap).await?;
        let mut report = PollReport::default();
        let mut newest: Option<DateTime<Utc>> = None;
        let mut pages = Pages::first();
        while let Some(page) = pages.current() {
            let listing = self.read_page(since, page).await?;
            report.pages += 1;
            for state in &listing.items {
                report.seen += 1;
                newest = newest.max(Some(state.modified_at));
                match self.queue_deal(store, state).await? {
                    Pulled::Queued => report.queued += 1,
                    Pulled::Coalesced => report.coalesced += 1,
                    // An unbound deal is seen again by the next pass (the overlap window).
                    Pulled::Unchanged | Pulled::NotOurs | Pulled::Unbound => report.unchanged += 1,
                }
            }
            pages.advance(&listing);
        }
        advance_cursor(store, &cursor_name, newest).await?;
        pass_event!(report.queued + report.coalesced > 0, flow = %self.name, pages = report.pages,
              seen = report.seen, queued = report.queued, coalesced = report.coalesced,
              unchanged = report.unchanged, "deal poll pass done");
        Ok(report)
    }

    /// One page of the deals changed since `since` (`None`: all of them).
    pub async fn read_page(
        &self,
        since: Option<DateTime<Utc>>,
        page: u32,
    ) -> Result<Page<CrmDealState>, SyncError> {
        self.reader
            .deals_modified_since(since, page, self.page_size)
            .await
            .map_err(|e| SyncError::Source {
                flow: self.name.clone(),
                source: e,
            })
    }

    /// The deal binding of one deal read from the CRM when the deal is ours and its compared
    /// fields differ from what we last wrote or saw (or no snapshot says); otherwise why not
    /// (never [`Pulled::Queued`] or [`Pulled::Coalesced`]).
    pub async fn changed_binding(
        &self,
        store: &Store,
        state: &CrmDealState,
    ) -> Result<Result<Binding, Pulled>, SyncError> {
        let origin = &state.deal.origin;
        if origin.system != self.store_system || origin.id.is_empty() {
            return Ok(Err(Pulled::NotOurs));
        }
        let entity = entity_id(origin);
        let Some(bound) = store
            .binding(&self.crm_system, EntityKind::Deal, &entity)
            .await?
        else {
            // Not bound yet: the store → CRM job that creates it is still on its way.
            return Ok(Err(Pulled::Unbound));
        };
        if bound.external_id != state.id {
            debug!(flow = %self.name, deal = %state.id, bound = %bound.external_id, "a second deal claims the same order; ignored");
            return Ok(Err(Pulled::NotOurs));
        }
        let base: Option<Deal> = bound
            .snapshot
            .as_ref()
            .and_then(|s| serde_json::from_value(s.clone()).ok());
        if base.is_some_and(|b| same_compared_fields(&b, &state.deal)) {
            debug!(flow = %self.name, order = %entity, deal = %state.id, "deal equals the last synced state");
            return Ok(Err(Pulled::Unchanged));
        }
        Ok(Ok(bound))
    }

    /// Queues a merge for one deal read from the CRM, unless it is not ours or unchanged.
    pub async fn queue_deal(
        &self,
        store: &Store,
        state: &CrmDealState,
    ) -> Result<Pulled, SyncError> {
        let origin = &state.deal.origin;
        if let Err(seen) = self.changed_binding(store, state).await? {
            return Ok(seen);
        }
        let entity = entity_id(origin);
        let payload = serde_json::to_value(DealPull {
            flow: self.forward.clone(),
            order_id: origin.id.clone(),
            deal: state.clone(),
        })
        .map_err(SyncError::Encode)?;
        let key = coalesce_key(&self.store_system, EntityKind::Order, &entity);
        let queued = store
            .queue()
            .enqueue(&NewJob {
                kind: JobKind::DealPull,
                target: &self.store_system,
                coalesce_key: &key,
                payload: &payload,
                max_attempts: self.max_attempts,
            })
            .await?;
        Ok(match queued {
            Enqueued::Inserted(_) => {
                crate::metrics::engine::job_enqueued(JobKind::DealPull, &self.forward);
                Pulled::Queued
            }
            Enqueued::Coalesced(_) => Pulled::Coalesced,
        })
    }
}
