//! Every import the endpoint runs goes through here: timed, counted
//! ([`crate::site::metrics`]) and reported to the importer for the record.

use super::importer::{ExchangeImporter, ImportedFile};
use crate::site::metrics;
use crate::ExchangeType;
use std::path::Path;
use std::time::Instant;

/// Imports `path` (1C's file `name` of `exchange`) through `importer`, then counts and reports
/// the result.
pub(super) async fn import_file(
    importer: &dyn ExchangeImporter,
    exchange_type: ExchangeType,
    path: &Path,
    exchange: &str,
    name: &str,
) -> Result<String, String> {
    let started = Instant::now();
    let result = importer.import_file(exchange_type, path).await;
    let took = started.elapsed();
    metrics::file_imported(exchange_type, result.is_ok(), took);
    importer
        .file_imported(&ImportedFile {
            exchange_type,
            exchange,
            name,
            result: result.as_deref().map_err(String::as_str),
            took,
        })
        .await;
    result
}
