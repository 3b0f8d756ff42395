//! What a 1C import leaves in the journal (kind `catalog`, entity `1c-import:<run id>`): the
//! report of each import with its data-quality findings (`imported`), a held deactivation
//! (`deactivation-held`) and its later application (`deactivation-applied`), as JSON details.

use serde_json::json;

use super::guard::Held;
use super::import::ImportReport;
use dealbridge_store::{EntityKind, JournalEntry, Store, StoreError};

fn entity(run: &str) -> String {
    format!("1c-import:{run}")
}

async fn write(
    store: &Store,
    system: &str,
    entity: &str,
    action: &str,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    store
        .journal(&JournalEntry {
            kind: EntityKind::Catalog,
            entity_id: entity,
            system,
            action,
            external_id: None,
            job_id: None,
            detail: Some(&detail.to_string()),
        })
        .await
}

/// Journals an import's report (files, row counts, quality) under its run.
pub async fn journal_import(
    store: &Store,
    system: &str,
    run: &str,
    report: &ImportReport,
) -> Result<(), StoreError> {
    let detail = json!({
        "files": report.files,
        "catalog": report.catalog,
        "quality": report.quality,
    });
    write(store, system, &entity(run), "imported", &detail).await
}

/// Journals a held deactivation.
pub async fn journal_held(
    store: &Store,
    system: &str,
    run: &str,
    held: &Held,
) -> Result<(), StoreError> {
    let detail = json!({ "held": held, "finding": held.finding() });
    write(store, system, &entity(run), "deactivation-held", &detail).await
}

/// Journals the application of a held deactivation.
pub async fn journal_applied(
    store: &Store,
    system: &str,
    run: Option<&str>,
    products: u64,
    offers: u64,
) -> Result<(), StoreError> {
    let detail = json!({ "products": products, "offers": offers });
    let entity = entity(run.unwrap_or("held"));
    write(store, system, &entity, "deactivation-applied", &detail).await
}
