//! Job payloads: what a queued write carries. Payloads are JSON in the queue table, so they are
//! versioned by their `kind` string; a new shape gets a new kind.

use dealbridge_sdk::model::Order;
use serde::{Deserialize, Serialize};

/// Job kind: make the CRM deal for an order match it.
pub const JOB_DEAL_UPSERT: &str = "deal.upsert";

/// Payload of [`JOB_DEAL_UPSERT`]. The deal is planned when the job runs, not when it is
/// queued, so a dead-lettered job retried after a mapping fix uses the fixed mapping.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DealUpsert {
    /// The flow that queued it (selects the mapping).
    pub flow: String,
    /// The order as read from the source.
    pub order: Order,
}
