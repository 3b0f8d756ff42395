//! The site side of the 1C exchange ("exchange with a site"): dealbridge plays the site.
//!
//! - [`config`]: `[exchange_1c]` (path, login, limits, order encoding, export stages).
//! - [`endpoint`]: the HTTP protocol 1C speaks (`checkauth`, `init`, chunked `file` uploads,
//!   zip, `import` with `progress`, `query`/`success` for orders, `info`), one session at a time.
//! - [`import`]: the import run (`import-1c`, and the endpoint's `mode=import`) into the store.
//! - `convert`: reader items → store catalog rows.
//! - [`exchange`]: the store-backed importer behind the endpoint (catalog in, orders out).
//! - [`documents`]: order statuses and payments from 1C, matched to the orders sent to it.
//! - [`metrics`]: files imported by type and outcome, import duration; [`exchange_journal`]:
//!   each imported file in the journal.
//! - [`quality`]: the data-quality report built while importing.
//! - [`guard`]: the deactivation guard (`max_deactivate_share`, held deactivations).
//! - [`record`]: what an import leaves in the journal.

pub mod config;
mod convert;
pub mod documents;
pub mod endpoint;
pub mod exchange;
pub mod exchange_journal;
pub mod guard;
pub mod import;
pub mod metrics;
pub mod quality;
pub mod record;

pub use guard::{apply_held, Deactivation, Held};
pub use import::{
    import_files, import_files_opts, import_files_with, FileImport, ImportError, ImportOptions,
    ImportProgress, ImportReport, ImportRun, BATCH_ROWS,
};
pub use quality::{Code, Example, Finding, Quality, QualityRules};

use dealbridge_store::StoreError;

/// What happens when 1C reports new payments of an order: the engine queues the job that shows
/// the order's payments on its deal (the 1C side knows orders and payments, not the queue's jobs).
#[async_trait::async_trait]
pub trait PaymentsQueue: Send + Sync {
    /// New payments of the order `entity` (`<system>:<id>`, whose id is `order_id`) were stored.
    async fn payments_changed(&self, entity: &str, order_id: &str) -> Result<(), StoreError>;
}
