//! The console's Activity page reads the journal filtered and paged, on SQLite and PostgreSQL.

use crate::common;

use common::TestDb;
use dealbridge_store::{EntityKind, JournalEntry, JournalFilter};

both_backends!(the_journal_is_filtered_and_paged_newest_first);

async fn the_journal_is_filtered_and_paged_newest_first(db: TestDb) {
    let s = &db.store;
    for i in 0..5 {
        let entity = format!("shop:10{i}");
        s.journal(&JournalEntry {
            kind: EntityKind::Deal,
            entity_id: &entity,
            system: "crm",
            action: "created",
            external_id: None,
            job_id: None,
            detail: None,
        })
        .await
        .unwrap();
    }
    s.journal(&JournalEntry {
        kind: EntityKind::Catalog,
        entity_id: "flow:products_50%_off",
        system: "crm",
        action: "pushed",
        external_id: None,
        job_id: None,
        detail: None,
    })
    .await
    .unwrap();
    let page = |f: JournalFilter| async move { s.journal_page(&f).await.unwrap() };
    let ids = |rows: &[dealbridge_store::JournalRow]| -> Vec<String> {
        rows.iter().map(|r| r.entity_id.clone()).collect()
    };

    let first = page(JournalFilter {
        kind: Some(EntityKind::Deal),
        limit: 2,
        ..JournalFilter::default()
    })
    .await;
    assert_eq!(ids(&first), ["shop:104", "shop:103"], "newest first");
    let second = page(JournalFilter {
        kind: Some(EntityKind::Deal),
        before: Some(first[1].id),
        limit: 2,
        ..JournalFilter::default()
    })
    .await;
    assert_eq!(ids(&second), ["shop:102", "shop:101"]);
    let one = page(JournalFilter {
        entity_contains: Some("103".into()),
        limit: 10,
        ..JournalFilter::default()
    })
    .await;
    assert_eq!(ids(&one), ["shop:103"]);
    // `%` and `_` are the text itself, not patterns.
    let literal = page(JournalFilter {
        entity_contains: Some("50%_".into()),
        limit: 10,
        ..JournalFilter::default()
    })
    .await;
    assert_eq!(ids(&literal), ["flow:products_50%_off"]);
    assert!(page(JournalFilter {
        entity_contains: Some("1%".into()),
        limit: 10,
        ..JournalFilter::default()
    })
    .await
    .is_empty());
    let by_system = page(JournalFilter {
        system: Some("shop".into()),
        limit: 10,
        ..JournalFilter::default()
    })
    .await;
    assert!(by_system.is_empty());
}
