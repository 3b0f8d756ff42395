//! Webhook deliveries waiting in the inbox become queued writes.
//!
//! A delivery is a hint, not the truth: it may be stale, repeated, or arrive after a newer one.
//! So the processor takes only the resource id from it and re-reads the resource from the
//! source, then queues exactly as a poll would (unchanged → nothing; changed → one coalesced
//! write). Repeats and reordering therefore cannot duplicate a deal or roll it back.

use super::poll::OrderFlow;
use super::pull::DealPullFlow;
use super::SyncError;
use dealbridge_store::Store;
use serde::Serialize;
use std::sync::Arc;
use tracing::{debug, info, warn};

/// What one inbox pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InboxReport {
    /// Deliveries handled and marked processed.
    pub processed: u64,
    /// Orders re-read and queued (or found unchanged) because of them.
    pub orders: u64,
    /// Deliveries left for the next pass because the source could not be read.
    pub deferred: u64,
}

/// Most deliveries handled per pass.
const PASS_LIMIT: u32 = 200;

/// Handles waiting deliveries for the given flows.
pub async fn process_inbox(
    store: &Store,
    flows: &[Arc<OrderFlow>],
    pulls: &[Arc<DealPullFlow>],
) -> Result<InboxReport, SyncError> {
    let mut report = InboxReport::default();
    for item in store.inbox_unprocessed(PASS_LIMIT).await? {
        if pulls.iter().any(|p| p.crm_system == item.source) {
            // A CRM event: re-read the deal, queue a merge like the deal poll would.
            match process_crm_event(store, pulls, &item).await? {
                true => {
                    store.inbox_mark_processed(item.id).await?;
                    report.processed += 1;
                    continue;
                }
                false => {
                    report.deferred += 1;
                    break;
                }
            }
        }
        let flows: Vec<_> = flows
            .iter()
            .filter(|f| f.source_system == item.source)
            .collect();
        let resource_id = serde_json::from_str::<serde_json::Value>(&item.payload)
            .ok()
            .and_then(|v| match &v["id"] {
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::String(s) => Some(s.clone()),
                _ => None,
            });
        let is_order = item.kind.starts_with("order") || item.kind.starts_with("orders/");
        if flows.is_empty() || !is_order || resource_id.is_none() {
            debug!(source = %item.source, kind = %item.kind, "delivery needs nothing from any flow");
            store.inbox_mark_processed(item.id).await?;
            report.processed += 1;
            continue;
        }
        let id = resource_id.expect("checked");
        let mut deferred = false;
        for flow in flows {
            match flow.source.order(&id).await {
                Ok(Some(order)) => {
                    flow.queue_order(store, &order).await?;
                    report.orders += 1;
                }
                Ok(None) => debug!(flow = %flow.name, order = %id, "order gone at the source"),
                Err(e) if e.should_retry() => {
                    warn!(flow = %flow.name, order = %id, error = %e, "cannot re-read the order; will try again");
                    deferred = true;
                }
                Err(e) => {
                    warn!(flow = %flow.name, order = %id, error = %e, "cannot re-read the order; polling will catch it")
                }
            }
        }
        if deferred {
            report.deferred += 1;
            // Keep order: later deliveries wait for this one's next pass.
            break;
        }
        store.inbox_mark_processed(item.id).await?;
        report.processed += 1;
    }
    if report.processed > 0 {
        info!(
            processed = report.processed,
            orders = report.orders,
            "inbox pass done"
        );
    }
    Ok(report)
}

/// Handles one CRM event; false when the deal could not be read now (try again later).
async fn process_crm_event(
    store: &Store,
    pulls: &[Arc<DealPullFlow>],
    item: &dealbridge_store::InboxItem,
) -> Result<bool, SyncError> {
    let id = serde_json::from_str::<serde_json::Value>(&item.payload)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string));
    let Some(id) = id else {
        return Ok(true);
    };
    for pull in pulls.iter().filter(|p| p.crm_system == item.source) {
        match pull.reader.deal(&id).await {
            Ok(Some(state)) => {
                pull.queue_deal(store, &state).await?;
            }
            Ok(None) => debug!(flow = %pull.name, deal = %id, "deal gone in the CRM"),
            Err(e) if e.should_retry() => {
                warn!(flow = %pull.name, deal = %id, error = %e, "cannot re-read the deal; will try again");
                return Ok(false);
            }
            Err(e) => {
                warn!(flow = %pull.name, deal = %id, error = %e, "cannot re-read the deal; polling will catch it")
            }
        }
    }
    Ok(true)
}
