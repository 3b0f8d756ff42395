//! What the 1C exchange endpoint counts: each uploaded file's import by exchange type and
//! outcome, and how long it took. Emitted through the [`metrics`] facade like the sdk's API
//! counters: the process running the endpoint (`dealbridge run`) installs the recorder; without
//! one (this crate's own tests) every call is a no-op.

use crate::ExchangeType;
use std::time::Duration;

/// Counter: files 1C sent that were imported, by `type` (`catalog`, `sale`) and `outcome`
/// (`ok`, `failed`).
pub const FILES: &str = "dealbridge_exchange_1c_files_total";
/// Histogram: seconds one file's import took, by `type`.
pub const IMPORT_DURATION: &str = "dealbridge_exchange_1c_import_duration_seconds";

/// Buckets of [`IMPORT_DURATION`], in seconds: from a small `orders.xml` to a catalog of
/// hundreds of thousands of offers.
pub const IMPORT_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// One file of `exchange_type` was imported (`ok`) or not, after `took`.
pub fn file_imported(exchange_type: ExchangeType, ok: bool, took: Duration) {
    let outcome = if ok { "ok" } else { "failed" };
    metrics::counter!(FILES, "type" => exchange_type.as_str(), "outcome" => outcome).increment(1);
    metrics::histogram!(IMPORT_DURATION, "type" => exchange_type.as_str())
        .record(took.as_secs_f64());
}

/// Help texts and units of the families above (call once, after the recorder is installed).
pub fn describe() {
    metrics::describe_counter!(
        FILES,
        "Files 1C sent to the exchange endpoint, by exchange type (catalog, sale) and import outcome (ok, failed)."
    );
    metrics::describe_histogram!(
        IMPORT_DURATION,
        metrics::Unit::Seconds,
        "Time to import one file 1C sent, by exchange type."
    );
}
