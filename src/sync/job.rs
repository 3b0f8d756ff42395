//! Job payloads: what a queued write carries. Payloads are JSON in the queue table, so they are
//! versioned by their `kind` string; a new shape gets a new kind.

use dealbridge_sdk::model::{CrmDealState, ExternalRef, Order};
use serde::{Deserialize, Serialize};

/// Payload of [`JobKind::DealUpsert`]. The deal is planned when the job runs, not when it is
/// queued, so a dead-lettered job retried after a mapping fix uses the fixed mapping.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DealUpsert {
    /// The flow that queued it (selects the mapping).
    pub flow: String,
    /// The order as read from the source.
    pub order: Order,
}

/// Payload of [`JobKind::DealPull`]. The order is re-read from the store when the job runs; the deal
/// is the state the CRM poll (or event) saw, the newest one when several were coalesced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DealPull {
    /// The store → CRM flow the pair belongs to (selects the mapping and both systems).
    pub flow: String,
    /// The order's id in the store.
    pub order_id: String,
    /// The deal as the CRM showed it.
    pub deal: CrmDealState,
}

/// Payload of [`JobKind::DealRelease`]: a second deal claims an order another deal mirrors;
/// it is made to stop claiming it (never deleted), with a note for the manager.
///
/// [`JobKind::DealRelease`]: dealbridge_store::JobKind::DealRelease
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DealRelease {
    /// The store → CRM flow of the order (selects the CRM).
    pub flow: String,
    /// The duplicate deal's id in the CRM.
    pub deal_id: String,
    /// The order both deals claim.
    pub origin: ExternalRef,
    /// The deal that stays linked to the order.
    pub kept: String,
}
