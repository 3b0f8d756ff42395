//! Webhook deliveries waiting in the inbox become queued writes.
//!
//! A delivery is a hint, not the truth: it may be stale, repeated, or arrive after a newer one.
//! So the processor takes only the resource id from it and re-reads the resource from the
//! source (the order from the store, the deal from the CRM), then queues exactly as a poll would
//! (unchanged → nothing; changed → one coalesced write). Repeats and reordering therefore cannot
//! duplicate a deal or roll it back, which is also why deliveries can be handled concurrently:
//! deliveries about one resource share one re-read, different resources are independent.

use super::poll::OrderFlow;
use super::pull::DealPullFlow;
use super::SyncError;
use dealbridge_store::{InboxItem, Store};
use serde::Serialize;
use std::sync::Arc;
use tokio::task::JoinSet;
use tracing::{debug, warn};

/// What one inbox pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InboxReport {
    /// Deliveries handled and marked processed.
    pub processed: u64,
    /// Orders re-read and queued (or found unchanged) because of them.
    pub orders: u64,
    /// Deliveries left for the next pass because the source could not be read.
    pub deferred: u64,
    /// The pass stopped at its limit and no source was failing: more deliveries are probably
    /// waiting, and the next pass should start at once rather than after the idle pause.
    #[serde(skip)]
    pub more: bool,
    /// A source could not be read: the pass stopped early.
    #[serde(skip)]
    pub failing: bool,
    /// How long until the earliest delivery set aside to wait for its record is due (zero if it
    /// is due now); `None` when none waits.
    #[serde(skip)]
    pub next_retry: Option<std::time::Duration>,
}

impl InboxReport {
    /// Adds another pass's counts (for a caller that runs passes until the inbox is empty).
    pub fn add(&mut self, other: &InboxReport) {
        self.processed += other.processed;
        self.orders += other.orders;
        self.deferred += other.deferred;
        self.more = other.more;
        self.failing = other.failing;
        self.next_retry = other.next_retry;
    }

    /// How long the engine should wait before the next pass when nothing wakes it: none when
    /// more is waiting, a second when a source failed, until the next set-aside delivery is due,
    /// else `idle`.
    pub fn pause(&self, idle: std::time::Duration) -> std::time::Duration {
        use std::time::Duration;
        if self.more {
            return Duration::ZERO;
        }
        let mut pause = if self.failing {
            Duration::from_secs(1)
        } else {
            idle
        };
        if let Some(due) = self.next_retry {
            pause = pause.min(due.max(Duration::from_millis(20)));
        }
        pause
    }
}

/// Most deliveries handled per pass.
const PASS_LIMIT: u32 = 200;

/// Resources re-read at the same time (each a remote read; the connectors' rate limiters still
/// pace them per account).
const CONCURRENCY: usize = 16;

/// How handling one resource ended.
enum Handled {
    /// Done (or nothing to do); `orders` re-read.
    Done { orders: u64 },
    /// The source could not be read now; the deliveries stay for the next pass.
    Deferred,
    /// The resource is not ready yet (a deal whose creating job has not saved its binding):
    /// the deliveries stay, the rest of the pass goes on.
    Later,
}

/// How long a delivery may wait for its resource to become ready before it is dropped (polling
/// catches the change then).
const LATER_FOR: chrono::Duration = chrono::Duration::minutes(10);

/// How long a delivery waiting for its record is set aside between tries: half its age, within
/// these bounds (a binding normally lands within a second; an unbound deal is tried about 15
/// times in [`LATER_FOR`]).
const LATER_RETRY_MIN: std::time::Duration = std::time::Duration::from_secs(1);
const LATER_RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(60);

/// Handles waiting deliveries for the given flows.
pub async fn process_inbox(
    store: &Store,
    flows: &[Arc<OrderFlow>],
    pulls: &[Arc<DealPullFlow>],
) -> Result<InboxReport, SyncError> {
    let mut report = InboxReport::default();
    // Group by (source, resource id), in arrival order: one re-read serves every delivery of a
    // resource in this pass.
    let mut groups: Vec<((String, String), Vec<InboxItem>)> = Vec::new();
    let items = store.inbox_unprocessed(PASS_LIMIT).await?;
    let full = items.len() >= PASS_LIMIT as usize;
    for item in items {
        let key = (
            item.source.clone(),
            resource_id(&item).unwrap_or_else(|| format!("#{}", item.id)),
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, items)) => items.push(item),
            None => groups.push((key, vec![item])),
        }
    }
    let mut failing = false;
    for chunk in groups.chunks(CONCURRENCY) {
        let mut set = JoinSet::new();
        for (index, (_, items)) in chunk.iter().enumerate() {
            let (store, flows, pulls) = (store.clone(), flows.to_vec(), pulls.to_vec());
            let item = items[0].clone();
            set.spawn(async move { (index, handle(&store, &flows, &pulls, &item).await) });
        }
        let mut deferred = false;
        while let Some(joined) = set.join_next().await {
            let (index, outcome) = joined.expect("inbox task panicked");
            let items = &chunk[index].1;
            match outcome? {
                Handled::Done { orders } => {
                    for item in items {
                        store.inbox_mark_processed(item.id).await?;
                    }
                    report.processed += items.len() as u64;
                    report.orders += orders;
                }
                Handled::Deferred => {
                    report.deferred += items.len() as u64;
                    deferred = true;
                }
                Handled::Later => {
                    for item in items {
                        if chrono::Utc::now() - item.received_at > LATER_FOR {
                            warn!(source = %item.source, id = item.id, "delivery waited too long for its record; dropped (polling will catch the change)");
                            store.inbox_mark_processed(item.id).await?;
                            report.processed += 1;
                        } else {
                            // Set aside, so that many such deliveries cannot fill every pass
                            // and hold up the others behind them; the longer one has waited,
                            // the longer until its next try (a deal a manager made in the CRM
                            // is never bound, and each try reads it from the CRM again).
                            let age = (chrono::Utc::now() - item.received_at)
                                .to_std()
                                .unwrap_or_default();
                            let wait = (age / 2).clamp(LATER_RETRY_MIN, LATER_RETRY_MAX);
                            store.inbox_retry_later(item.id, wait).await?;
                            report.deferred += 1;
                        }
                    }
                }
            }
        }
        if deferred {
            // The source is failing: leave the rest for the next pass instead of hammering it.
            failing = true;
            break;
        }
    }
    // Deliveries set aside to wait for their record do not stop the next pass (it skips them);
    // a failing source does.
    report.more = full && !failing;
    report.failing = failing;
    report.next_retry = store
        .inbox_next_retry()
        .await?
        .map(|due| (due - store.now()).to_std().unwrap_or_default());
    pass_event!(
        report.processed > 0,
        processed = report.processed,
        orders = report.orders,
        deferred = report.deferred,
        "inbox pass done"
    );
    Ok(report)
}

/// The id of the resource a delivery is about (`{"id": …}` in every stored body).
fn resource_id(item: &InboxItem) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&item.payload)
        .ok()
        .and_then(|v| match &v["id"] {
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::String(s) => Some(s.clone()),
            _ => None,
        })
}

/// Whether a stored delivery is about a store order. The webhook endpoint stores
/// `<entity>:<topic>` (`order:order.updated`); rows stored before it named the entity carry the
/// sender's bare topic, whose order topics also begin with `order`.
fn is_order(kind: &str) -> bool {
    kind.starts_with("order")
}

/// Re-reads the resource of one delivery and queues what changed.
async fn handle(
    store: &Store,
    flows: &[Arc<OrderFlow>],
    pulls: &[Arc<DealPullFlow>],
    item: &InboxItem,
) -> Result<Handled, SyncError> {
    if pulls.iter().any(|p| p.crm_system == item.source) {
        // A CRM event: re-read the deal, queue a merge like the deal poll would.
        return process_crm_event(store, pulls, item).await;
    }
    let flows: Vec<_> = flows
        .iter()
        .filter(|f| f.source_system == item.source)
        .collect();
    let id = match resource_id(item) {
        Some(id) if !flows.is_empty() && is_order(&item.kind) => id,
        _ => {
            debug!(source = %item.source, kind = %item.kind, "delivery needs nothing from any flow");
            return Ok(Handled::Done { orders: 0 });
        }
    };
    let mut orders = 0;
    for flow in flows {
        match flow.source.order(&id).await {
            Ok(Some(order)) => {
                flow.queue_order(store, &order).await?;
                orders += 1;
            }
            Ok(None) => debug!(flow = %flow.name, order = %id, "order gone at the source"),
            Err(e) if e.should_retry() => {
                warn!(flow = %flow.name, order = %id, error = %e, "cannot re-read the order; will try again");
                return Ok(Handled::Deferred);
            }
            Err(e) => {
                warn!(flow = %flow.name, order = %id, error = %e, "cannot re-read the order; polling will catch it")
            }
        }
    }
    Ok(Handled::Done { orders })
}

/// Handles one CRM event.
async fn process_crm_event(
    store: &Store,
    pulls: &[Arc<DealPullFlow>],
    item: &InboxItem,
) -> Result<Handled, SyncError> {
    let Some(id) = resource_id(item) else {
        return Ok(Handled::Done { orders: 0 });
    };
    let mut orders = 0;
    let mut later = false;
    for pull in pulls.iter().filter(|p| p.crm_system == item.source) {
        match pull.reader.deal(&id).await {
            Ok(Some(state)) => {
                if pull.queue_deal(store, &state).await? == super::pull::Pulled::Unbound {
                    later = true;
                }
                orders += 1;
            }
            Ok(None) => debug!(flow = %pull.name, deal = %id, "deal gone in the CRM"),
            Err(e) if e.should_retry() => {
                warn!(flow = %pull.name, deal = %id, error = %e, "cannot re-read the deal; will try again");
                return Ok(Handled::Deferred);
            }
            Err(e) => {
                warn!(flow = %pull.name, deal = %id, error = %e, "cannot re-read the deal; polling will catch it")
            }
        }
    }
    Ok(if later {
        Handled::Later
    } else {
        Handled::Done { orders }
    })
}

#[cfg(test)]
mod kind_tests {
    use super::is_order;

    #[test]
    fn order_deliveries_are_known_by_their_entity_and_by_old_topics() {
        // What the webhook endpoint stores now: `<entity>:<topic>`.
        assert!(is_order("order:order.updated"));
        assert!(is_order("order:orders/create"));
        assert!(!is_order("deal:oncrmdealupdate"));
        assert!(!is_order("other:product.updated"));
        // Rows stored by earlier versions carry the sender's bare topic.
        assert!(is_order("order.updated"));
        assert!(is_order("orders/updated"));
        assert!(!is_order("lead.status"));
    }
}

#[cfg(test)]
mod pause_tests {
    use super::InboxReport;
    use std::time::Duration;

    const IDLE: Duration = Duration::from_secs(5);

    #[test]
    fn the_next_pass_comes_when_there_is_something_to_do() {
        let r = |more, failing, next_retry| InboxReport {
            more,
            failing,
            next_retry,
            ..InboxReport::default()
        };
        assert_eq!(
            r(true, false, None).pause(IDLE),
            Duration::ZERO,
            "a backlog"
        );
        assert_eq!(r(false, false, None).pause(IDLE), IDLE, "nothing waits");
        assert_eq!(
            r(false, true, None).pause(IDLE),
            Duration::from_secs(1),
            "a source failed"
        );
        // A delivery set aside is tried when due, not a whole idle pause later …
        let due = Duration::from_millis(700);
        assert_eq!(r(false, false, Some(due)).pause(IDLE), due);
        // … nor in a busy loop when it is due already.
        assert_eq!(
            r(false, false, Some(Duration::ZERO)).pause(IDLE),
            Duration::from_millis(20)
        );
        assert_eq!(
            r(false, false, Some(Duration::from_secs(60))).pause(IDLE),
            IDLE
        );
    }
}
