//! 1C: importing CommerceML files into the store.
//!
//! - [`import`]: the import run (`import-1c`, and the exchange endpoint's `mode=import`).
//! - `convert`: reader items → store catalog rows.
//! - [`exchange`]: the store-backed importer behind the 1C exchange endpoint.
//! - [`documents`]: order statuses and payments from 1C, matched to the orders sent to it.

mod convert;
pub mod documents;
pub mod exchange;
pub mod import;

pub use import::{
    import_files, import_files_with, FileImport, ImportError, ImportProgress, ImportReport,
    ImportRun, BATCH_ROWS,
};
