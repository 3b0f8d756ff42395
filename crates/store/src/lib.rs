//! dealbridge's durable state, on SQLite (default: one file, WAL) or PostgreSQL (scale-out), with
//! one API and one schema (kept in step in `migrations/sqlite` and `migrations/postgres`, applied
//! at [`Store::connect`]). All queries are runtime `sqlx` queries; times are stored as unix
//! milliseconds taken from an injectable [`Clock`], JSON as canonical text.
//!
//! Module map:
//! * `db`: [`Backend`], connecting, migrations, the two-pool dispatch (`on_db!`) and row decoding.
//! * `store`: the [`Store`] handle.
//! * `catalog`: the catalog imported from 1C (products, offers, prices, stock), batched upserts
//!   skipping unchanged rows.
//! * `bindings`: canonical entity ↔ external id per system, with the last synced snapshot.
//! * `snapshot`: canonical JSON and [`snapshot_hash`].
//! * `inbox`: raw accepted input, deduped per source.
//! * `rejections`: refused webhook deliveries, counted per system, reason and minute (bounded).
//! * `cursors`: poll cursors.
//! * `journal`: what was done to which entity.
//! * `kinds`: [`EntityKind`] and [`JobKind`], the one mapping to their stored strings.
//! * `lock`: named locks across processes ([`NamedLock`]; PostgreSQL advisory locks).
//! * `conflicts`: the field-level conflict log.
//! * `alerts`: alert incidents, opened and resolved together with their notification job.
//! * [`queue`]: the durable job queue (coalescing, leases with fencing, backoff, dead letter).
//! * `clock`: [`Clock`], [`SystemClock`], [`ManualClock`].
//! * `error`: [`StoreError`].

mod alerts;
mod bindings;
mod catalog;
mod clock;
mod conflicts;
mod cursors;
mod db;
mod error;
mod held;
mod inbox;
mod journal;
mod kinds;
mod lock;
pub mod queue;
mod rejections;
mod snapshot;
mod store;

pub use alerts::{Incident, NewIncident};
pub use bindings::{Binding, NewBinding};
pub use catalog::{
    CatalogBatch, CatalogCounts, CatalogDetails, CatalogEntry, CatalogGroup, CatalogKind,
    CatalogOffer, CatalogPrice, CatalogPriceType, CatalogProduct, CatalogProperty,
    CatalogPropertyValue, CatalogPropertyVariant, CatalogStock, CatalogWarehouse,
    CatalogWriteReport, SeenRun, StoredCatalogRow, UpsertCounts,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use conflicts::{Conflict, ConflictFilter, ConflictState, NewConflict};
pub use db::Backend;
pub use error::StoreError;
pub use held::HeldDeactivation;
pub use inbox::{InboxItem, InboxStats};
pub use journal::{JournalEntry, JournalFilter, JournalRow};
pub use kinds::{EntityKind, JobKind, UnknownName};
pub use lock::NamedLock;
pub use queue::{
    BackoffPolicy, BulkRetry, Enqueued, FailOutcome, Failure, Job, JobFilter, JobState, NewJob,
    Queue, WaitingGroup,
};
pub use rejections::{RejectionStats, REJECTIONS_KEPT};
pub use snapshot::{canonical_json, snapshot_hash};
pub use store::Store;
