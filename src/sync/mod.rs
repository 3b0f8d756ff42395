//! Flows: normalize → bind → diff → plan → enqueue, and the workers that drain the queue.
//!
//! - [`ids`]: how canonical entities, coalescing keys and contact keys are spelled.
//! - [`plan`]: order → deal, pure.
//! - [`link`]: deal rows linked to the CRM products the catalog pushed.
//! - [`poll`]: one pass over a source, queueing what changed; moves the cursor after.
//! - [`pull`]: the CRM → store poll of a two-way pair: changed deals → merge jobs.
//! - [`reverse`]: deal rows back to order lines.
//! - [`schedule`]: cron jobs (`[schedule.<name>]`), once per fire time across processes.
//! - [`inbox`]: webhook deliveries → re-read the resource → queue, like a poll would.
//! - [`job`]: queued payloads.
//! - [`payments`]: payments of an order (store and 1C) shown on its deal.
//! - [`upsert`]: the store → CRM write of one order, decided (pure) before it is applied.
//! - [`two_way`]: reconciliation of an order/deal pair: merge base, pure decide step,
//!   conflicts, apply.
//! - [`worker`]: runs a job: find-or-create, write, save binding + snapshot, journal.
//! - [`dry_run`]: `sync --dry-run`: the plan of a pass, with nothing written.
//! - [`reconcile`]: `reconcile`: what differs between the store and the CRM, and its fixes.
//! - [`queue_worker`]: claims jobs and runs them; retried on store errors, never ended by one.
//! - [`selection`]: which jobs an operator means (state, flow, error class) for `queue` commands.
//! - [`supervisor`]: runs a background loop pass after pass, pausing on failures, and keeps
//!   each loop's health for `/healthz` and `/status`.
//! - [`loops`]: the supervised loops of `run` (workers, polls, inbox, catalog, schedules,
//!   retention).
//! - [`engine`]: puts flows and workers together for `sync` (one pass to completion) and `run`.

/// Logs a background pass at INFO when it changed something and at DEBUG when it did not: the
/// loops run every few seconds, and a line per idle pass buried the lines that matter (issue 11).
/// `tracing` fixes a callsite's level at compile time, hence a macro and not a function.
macro_rules! pass_event {
    ($changed:expr, $($arg:tt)+) => {
        if $changed {
            ::tracing::info!($($arg)+)
        } else {
            ::tracing::debug!($($arg)+)
        }
    };
}

pub mod catalog;
pub mod dry_run;
pub mod engine;
pub mod ids;
pub mod inbox;
pub mod job;
pub mod link;
pub mod loops;
pub mod payments;
pub mod plan;
pub mod poll;
pub mod pull;
pub mod queue_worker;
pub mod reconcile;
pub mod reverse;
pub mod schedule;
pub mod selection;
pub mod supervisor;
pub mod two_way;
pub mod upsert;
pub mod worker;

use dealbridge_sdk::ConnectorError;

/// A failure of the sync machinery itself (not of one job, which the queue records).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The state database failed.
    #[error("state database: {0}")]
    Store(#[from] dealbridge_store::StoreError),
    /// The source system could not be read; the cursor did not move.
    #[error("flow `{flow}`: cannot read the source; the cursor did not move and the next pass will retry")]
    Source {
        /// The flow.
        flow: String,
        /// The connector's error.
        #[source]
        source: ConnectorError,
    },
    /// A catalog flow could not run or push (`dealbridge sync` reports it; the next run retries:
    /// what was pushed before is bound).
    #[error(transparent)]
    Catalog(Box<catalog::CatalogError>),
    /// A record could not be encoded as JSON (a bug).
    #[error("cannot encode a record as JSON: {0}")]
    Encode(#[source] serde_json::Error),
}
