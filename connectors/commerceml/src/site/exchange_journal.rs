//! The journal of 1C exchanges: one entry per file an exchange imported (kind `exchange_1c`,
//! entity = the exchange type, external id = the exchange's session), with its counts or why it
//! failed. The console's Overview shows the latest exchange of each type from it, the Activity
//! page lists every file.

use super::endpoint::ImportedFile;
use super::exchange::SYSTEM_1C;
use dealbridge_store::{EntityKind, JournalEntry, Store};

/// Journal action of a file imported.
pub const IMPORTED: &str = "imported";
/// Journal action of a file whose import failed.
pub const FAILED: &str = "failed";

/// Records `file` in the journal. A journal that cannot be written is logged, not returned: the
/// import itself is done (or failed) and 1C's answer must not depend on the record.
pub async fn journal_file(store: &Store, file: &ImportedFile<'_>) {
    let (action, detail) = match file.result {
        Ok(summary) => (
            IMPORTED,
            serde_json::json!({"file": file.name, "seconds": file.took.as_secs_f64(), "summary": summary}),
        ),
        Err(reason) => (
            FAILED,
            serde_json::json!({"file": file.name, "seconds": file.took.as_secs_f64(), "error": reason}),
        ),
    };
    let detail = detail.to_string();
    let entry = JournalEntry {
        kind: EntityKind::Exchange1c,
        entity_id: file.exchange_type.as_str(),
        system: SYSTEM_1C,
        action,
        external_id: Some(file.exchange),
        job_id: None,
        detail: Some(&detail),
    };
    if let Err(e) = store.journal(&entry).await {
        tracing::warn!(file = file.name, error = %e, "cannot journal the 1C file's import; the import itself is not affected");
    }
}
