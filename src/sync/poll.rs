//! The polling half of a flow: read what changed at the source, and durably queue the writes.
//!
//! The cursor moves only after every page of a pass is queued, so a crash mid-pass re-reads from
//! the old cursor (the queue coalesces what was queued twice). Each pass re-reads an `overlap`
//! window before the cursor: WooCommerce dates have one-second resolution and a change made in
//! the same second as the last one we saw would otherwise be skipped.

use super::ids::{coalesce_key, entity_id};
use super::job::DealUpsert;
use super::SyncError;
use chrono::{DateTime, Utc};
use dealbridge_sdk::model::{Order, Page};
use dealbridge_sdk::traits::OrderSource;
use dealbridge_store::{snapshot_hash, Enqueued, JobFilter, JobState, NewJob, Store};
use dealbridge_store::{EntityKind, JobKind};
use std::sync::Arc;
use std::time::Duration;
use tracing::debug;

/// One order flow: orders from `source_system` become deals in `target_system`.
pub struct OrderFlow {
    /// The flow's name from the config (`[[flows]] name`).
    pub name: String,
    /// The source system's config name.
    pub source_system: String,
    /// The target system's config name.
    pub target_system: String,
    /// Where orders are read.
    pub source: Arc<dyn OrderSource>,
    /// Page size for listing.
    pub page_size: u32,
    /// How far before the cursor each pass re-reads.
    pub overlap: Duration,
    /// Attempts before a write is dead-lettered.
    pub max_attempts: u32,
}

/// What one poll pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PollReport {
    /// Pages read.
    pub pages: u32,
    /// Orders read.
    pub seen: u64,
    /// New jobs queued.
    pub queued: u64,
    /// Pending jobs whose payload was replaced by a newer change.
    pub coalesced: u64,
    /// Orders unchanged since they were last synced (no job).
    pub unchanged: u64,
    /// Orders whose same change is dead-lettered or was dropped (no job).
    pub set_aside: u64,
}

impl OrderFlow {
    /// The cursor's name in the store.
    pub fn cursor_name(&self) -> String {
        format!("flow:{}:orders_modified_after", self.name)
    }

    /// One pass over the source. `full` ignores the cursor and re-reads everything (still
    /// queueing only what differs from the last synced snapshot).
    pub async fn poll(&self, store: &Store, full: bool) -> Result<PollReport, SyncError> {
        let cursor_name = self.cursor_name();
        let since = poll_since(store, &cursor_name, full, self.overlap).await?;
        let mut report = PollReport::default();
        let mut newest: Option<DateTime<Utc>> = None;
        let mut pages = Pages::first();
        while let Some(page) = pages.current() {
            let listing = self.read_page(since, page).await?;
            report.pages += 1;
            for order in &listing.items {
                report.seen += 1;
                newest = newest.max(Some(order.modified_at));
                match self.queue_order(store, order).await? {
                    Queued::Inserted => report.queued += 1,
                    Queued::Coalesced => report.coalesced += 1,
                    Queued::Unchanged => report.unchanged += 1,
                    Queued::SetAside => report.set_aside += 1,
                }
            }
            pages.advance(&listing);
        }
        advance_cursor(store, &cursor_name, newest).await?;
        // Unchanged and set-aside orders are the overlap window read again: nothing new.
        pass_event!(
            report.queued + report.coalesced > 0,
            flow = %self.name,
            pages = report.pages,
            seen = report.seen,
            queued = report.queued,
            coalesced = report.coalesced,
            unchanged = report.unchanged,
            set_aside = report.set_aside,
            "poll pass done"
        );
        Ok(report)
    }

    /// One page of the orders changed since `since` (`None`: all of them).
    pub async fn read_page(
        &self,
        since: Option<DateTime<Utc>>,
        page: u32,
    ) -> Result<Page<Order>, SyncError> {
        self.source
            .orders_modified_since(since, page, self.page_size)
            .await
            .map_err(|e| SyncError::Source {
                flow: self.name.clone(),
                source: e,
            })
    }

    /// Whether `order` is exactly the order whose deal last landed: the source-side binding
    /// holds it as it was then, and an equal hash means nothing to do (this is also what makes a
    /// second sync cost zero writes).
    pub async fn unchanged_since_sync(
        &self,
        store: &Store,
        order: &Order,
    ) -> Result<bool, SyncError> {
        let snapshot = serde_json::to_value(order).map_err(SyncError::Encode)?;
        let bound = store
            .binding(
                &self.source_system,
                EntityKind::Order,
                &entity_id(&order.source),
            )
            .await?;
        Ok(bound
            .is_some_and(|b| b.snapshot_hash.as_deref() == Some(snapshot_hash(&snapshot).as_str())))
    }

    /// Queues the write for one order read from the source, unless nothing changed since it last
    /// landed or the same change is set aside (dead or dropped).
    pub(crate) async fn queue_order(
        &self,
        store: &Store,
        order: &Order,
    ) -> Result<Queued, SyncError> {
        let entity = entity_id(&order.source);
        if self.unchanged_since_sync(store, order).await? {
            debug!(flow = %self.name, order = %entity, "unchanged since last sync");
            return Ok(Queued::Unchanged);
        }
        let payload = self.upsert_payload(order)?;
        let key = coalesce_key(&self.target_system, EntityKind::Deal, &entity);
        // A change the operator dropped, or one that is sitting in the dead letter, is not
        // queued again just because the overlap window (or --full) re-read it: it stays set
        // aside until the order changes again or someone runs `queue retry`.
        let latest = store
            .queue()
            .list(&JobFilter {
                coalesce_key: Some(key.clone()),
                limit: 1,
                ..JobFilter::default()
            })
            .await?;
        if let Some(job) = latest.first() {
            if matches!(job.state, JobState::Dead | JobState::Dropped)
                && snapshot_hash(&job.payload) == snapshot_hash(&payload)
            {
                debug!(flow = %self.name, order = %entity, job = job.id, state = job.state.as_str(), "set aside; not requeued");
                return Ok(Queued::SetAside);
            }
        }
        self.enqueue_upsert(store, &key, &payload).await
    }

    /// The write job's payload for `order`.
    fn upsert_payload(&self, order: &Order) -> Result<serde_json::Value, SyncError> {
        serde_json::to_value(DealUpsert {
            flow: self.name.clone(),
            order: order.clone(),
        })
        .map_err(SyncError::Encode)
    }

    /// Queues the write of `order` whatever the snapshots say: an operator's (or `reconcile
    /// --fix`'s) explicit request. Folds into a pending write of the same order.
    pub(crate) async fn queue_order_now(
        &self,
        store: &Store,
        order: &Order,
    ) -> Result<Queued, SyncError> {
        let payload = self.upsert_payload(order)?;
        let key = coalesce_key(
            &self.target_system,
            EntityKind::Deal,
            &entity_id(&order.source),
        );
        self.enqueue_upsert(store, &key, &payload).await
    }

    async fn enqueue_upsert(
        &self,
        store: &Store,
        key: &str,
        payload: &serde_json::Value,
    ) -> Result<Queued, SyncError> {
        let queued = store
            .queue()
            .enqueue(&NewJob {
                kind: JobKind::DealUpsert,
                target: &self.target_system,
                coalesce_key: key,
                payload,
                max_attempts: self.max_attempts,
            })
            .await?;
        Ok(match queued {
            Enqueued::Inserted(_) => {
                crate::metrics::engine::job_enqueued(JobKind::DealUpsert, &self.name);
                Queued::Inserted
            }
            Enqueued::Coalesced(_) => Queued::Coalesced,
        })
    }
}

/// Where a listing is, page by page: from page 1 until the system names no later page. An
/// empty page, or a "next" page that is not later, also ends it: a system that kept answering so
/// would otherwise be read forever. Shared by every pass over a listing (orders, deals, dry run).
#[derive(Debug, Clone, Copy)]
pub struct Pages {
    current: Option<u32>,
}

impl Pages {
    /// Before the first page.
    pub fn first() -> Self {
        Pages { current: Some(1) }
    }

    /// The page to read next; `None` when the listing is done.
    pub fn current(&self) -> Option<u32> {
        self.current
    }

    /// Moves past `listing`, the page just read.
    pub fn advance<T>(&mut self, listing: &Page<T>) {
        self.current = match (self.current, listing.next_page) {
            (Some(page), Some(next)) if next > page && !listing.items.is_empty() => Some(next),
            _ => None,
        };
    }
}

/// Where a pass starts reading: the cursor minus `overlap`, or everything (`None`) for a full
/// pass or a first one.
pub async fn poll_since(
    store: &Store,
    cursor_name: &str,
    full: bool,
    overlap: Duration,
) -> Result<Option<DateTime<Utc>>, SyncError> {
    if full {
        return Ok(None);
    }
    Ok(store
        .cursor(cursor_name)
        .await?
        .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
        .map(|c| c.with_timezone(&Utc) - overlap))
}

/// Moves the cursor to `newest` after a whole pass, never backwards: a `--full` pass over old
/// data must not rewind it.
pub async fn advance_cursor(
    store: &Store,
    cursor_name: &str,
    newest: Option<DateTime<Utc>>,
) -> Result<(), SyncError> {
    let Some(newest) = newest else {
        return Ok(());
    };
    let old = store
        .cursor(cursor_name)
        .await?
        .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
        .map(|c| c.with_timezone(&Utc));
    if old.is_none_or(|o| newest > o) {
        store.set_cursor(cursor_name, &newest.to_rfc3339()).await?;
    }
    Ok(())
}

/// What [`OrderFlow::queue_order`] did.
pub(crate) enum Queued {
    Inserted,
    Coalesced,
    Unchanged,
    SetAside,
}
