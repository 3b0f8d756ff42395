//! Two-way reconciliation of an order/deal pair: load the inputs, decide, apply.
//!
//! The work is split so each part has one reason to change:
//!
//! - [`merge`]: the three-way field merge, in deal terms (pure).
//! - [`base`]: the merge base, i.e. what each side looked like when the pair last synced, and
//!   the loader that gathers every input of the decide step from the store and both systems.
//! - [`decide`]: the pure decide step: inputs in, a [`decide::PairPlan`] out (the store order
//!   update, the CRM deal update, the conflicts to log, the journal notes, the snapshots).
//!   No store, no HTTP, no clock: the worker, `sync --dry-run` and the reconciliation all
//!   call it with inputs they gathered themselves.
//! - [`conflicts`]: decisions people made on `manual` conflicts (read), and conflicts to log
//!   (written), in the conflict log's terms.
//! - [`apply`]: executes a plan: the writes, the conflict log, the snapshots, the journal.
//! - `run`: the worker's job: lock the pair, load → decide → apply.

pub mod apply;
pub mod base;
pub mod conflicts;
pub mod decide;
pub mod merge;
pub(crate) mod run;

pub use base::{MergeBase, PairInputs};
pub use decide::{decide, PairPlan};
