//! Bindings, inbox, cursors, journal, conflicts and connecting, on SQLite and PostgreSQL.

use crate::common;

use std::time::Duration;

use common::TestDb;
use dealbridge_store::{
    snapshot_hash, Backend, Clock, ConflictFilter, ConflictState, EntityKind, JobKind,
    JournalEntry, NewBinding, NewConflict, NewJob, Store, StoreError,
};
use serde_json::json;

both_backends!(
    migrations_are_idempotent,
    bindings_upsert_and_lookup_both_ways,
    binding_external_id_is_unique,
    inbox_dedupes_per_source,
    inbox_stats_count_recent_waiting_and_set_aside,
    cursors_set_and_list,
    journal_records_per_entity,
    conflicts_log_and_resolve,
    bindings_under_a_prefix,
    inbox_items_set_aside_come_back_when_their_time_comes,
    journal_latest_entry_of_each_entity,
    unknown_stored_kinds_are_errors_naming_table_and_value,
);

/// Runs raw SQL on the test database, as a hand edit or another version would.
async fn exec_raw(url: &str, sql: &str) {
    use sqlx::Connection;
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    }
}

async fn unknown_stored_kinds_are_errors_naming_table_and_value(db: TestDb) {
    let s = &db.store;
    s.save_binding(&NewBinding {
        system: "crm",
        kind: EntityKind::Deal,
        entity_id: "shop:1",
        external_id: "7",
        snapshot: None,
    })
    .await
    .unwrap();
    exec_raw(&db.url, "UPDATE bindings SET kind = 'dael'").await;
    let err = s.binding_counts().await.unwrap_err().to_string();
    assert!(
        err.contains("bindings.kind") && err.contains("\"dael\""),
        "{err}"
    );

    s.queue()
        .enqueue(&NewJob {
            kind: JobKind::DealUpsert,
            target: "crm",
            coalesce_key: "k",
            payload: &json!({}),
            max_attempts: 3,
        })
        .await
        .unwrap();
    exec_raw(&db.url, "UPDATE jobs SET kind = 'crm.deal.upsert'").await;
    // A claim dead-letters the unreadable job instead of failing the batch forever.
    s.queue()
        .enqueue(&NewJob {
            kind: JobKind::DealPull,
            target: "shop",
            coalesce_key: "k2",
            payload: &json!({}),
            max_attempts: 3,
        })
        .await
        .unwrap();
    let claimed = s
        .queue()
        .claim("w", Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].kind, JobKind::DealPull);
    let counts = s.queue().counts().await.unwrap();
    assert!(
        counts.contains(&(dealbridge_store::JobState::Dead, 1)),
        "{counts:?}"
    );
    let err = s
        .queue()
        .list(&Default::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("jobs.kind") && err.contains("\"crm.deal.upsert\""),
        "{err}"
    );

    s.journal(&JournalEntry {
        kind: EntityKind::Order,
        entity_id: "shop:1",
        system: "crm",
        action: "created",
        external_id: None,
        job_id: None,
        detail: None,
    })
    .await
    .unwrap();
    exec_raw(&db.url, "UPDATE journal SET entity_kind = 'Order'").await;
    let err = s.journal_recent(10).await.unwrap_err().to_string();
    assert!(
        err.contains("journal.entity_kind") && err.contains("\"Order\""),
        "{err}"
    );
}

async fn bindings_under_a_prefix(db: TestDb) {
    let s = &db.store;
    for (entity, ext) in [
        ("shop:1/payment/a", "a"),
        ("shop:1/payment/b_%", "b_%"),
        ("shop:10/payment/c", "c"),
        ("shop:1/other/d", "d"),
    ] {
        s.save_binding(&NewBinding {
            system: "1c",
            kind: EntityKind::Payment,
            entity_id: entity,
            external_id: ext,
            snapshot: None,
        })
        .await
        .unwrap();
    }
    let found: Vec<String> = s
        .bindings_with_prefix("1c", EntityKind::Payment, "shop:1/payment/")
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.external_id)
        .collect();
    assert_eq!(
        found,
        ["a", "b_%"],
        "only that order's payments; `%`/`_` are not wildcards"
    );
    assert!(s
        .bindings_with_prefix("1c", EntityKind::Payment, "shop:1/payment/b_")
        .await
        .unwrap()
        .iter()
        .all(|b| b.external_id == "b_%"));
}

async fn migrations_are_idempotent(db: TestDb) {
    let q = db.store.queue();
    let payload = json!({"n": 1});
    q.enqueue(&NewJob {
        kind: JobKind::DealUpsert,
        target: "crm",
        coalesce_key: "crm:deal:shop:1",
        payload: &payload,
        max_attempts: 3,
    })
    .await
    .unwrap();
    // Connect again to the same database, twice: migrations already applied, data kept.
    for _ in 0..2 {
        let again = Store::connect_with_clock(&db.url, db.clock.clone())
            .await
            .expect("second connect to a migrated database");
        assert_eq!(again.backend(), db.store.backend());
        assert_eq!(again.queue().pending_count().await.unwrap(), 1);
        again.close().await;
    }
    let expected = if db.url.starts_with("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    assert_eq!(db.store.backend(), expected);
}

async fn bindings_upsert_and_lookup_both_ways(db: TestDb) {
    let s = &db.store;
    assert!(s
        .binding("crm", EntityKind::Deal, "order-1")
        .await
        .unwrap()
        .is_none());
    let snap = json!({"title": "Order 1", "amount": "10.50", "lines": [{"sku": "A", "qty": "2"}]});
    s.save_binding(&NewBinding {
        system: "crm",
        kind: EntityKind::Deal,
        entity_id: "order-1",
        external_id: "501",
        snapshot: Some(&snap),
    })
    .await
    .unwrap();

    let b = s
        .binding("crm", EntityKind::Deal, "order-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.external_id, "501");
    assert_eq!(b.snapshot.as_ref(), Some(&snap));
    assert_eq!(
        b.snapshot_hash.as_deref(),
        Some(snapshot_hash(&snap).as_str())
    );
    assert_eq!(b.synced_at, db.clock.now());
    let by_ext = s
        .binding_by_external("crm", EntityKind::Deal, "501")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_ext, b);
    // Another system's id for the same entity is a separate binding.
    s.save_binding(&NewBinding {
        system: "shop",
        kind: EntityKind::Deal,
        entity_id: "order-1",
        external_id: "1001",
        snapshot: None,
    })
    .await
    .unwrap();
    assert!(s
        .binding_by_external("crm", EntityKind::Deal, "1001")
        .await
        .unwrap()
        .is_none());

    // Upsert: a new snapshot (keys in another order hash the same as an equal value).
    db.clock.advance(Duration::from_secs(60));
    let snap2: serde_json::Value = serde_json::from_str(
        r#"{"lines":[{"qty":"3","sku":"A"}],"amount":"15.75","title":"Order 1"}"#,
    )
    .unwrap();
    s.save_binding(&NewBinding {
        system: "crm",
        kind: EntityKind::Deal,
        entity_id: "order-1",
        external_id: "501",
        snapshot: Some(&snap2),
    })
    .await
    .unwrap();
    let b2 = s
        .binding("crm", EntityKind::Deal, "order-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b2.snapshot.as_ref(), Some(&snap2));
    assert_ne!(b2.snapshot_hash, b.snapshot_hash);
    assert_eq!(b2.synced_at, b.synced_at + chrono::Duration::seconds(60));

    let all = s.bindings_for(EntityKind::Deal, "order-1").await.unwrap();
    assert_eq!(
        all.iter().map(|b| b.system.as_str()).collect::<Vec<_>>(),
        ["crm", "shop"]
    );
    s.save_binding(&NewBinding {
        system: "crm",
        kind: EntityKind::Contact,
        entity_id: "c-1",
        external_id: "77",
        snapshot: None,
    })
    .await
    .unwrap();
    assert_eq!(
        s.binding_counts().await.unwrap(),
        vec![
            ("crm".to_string(), EntityKind::Contact, 1),
            ("crm".to_string(), EntityKind::Deal, 1),
            ("shop".to_string(), EntityKind::Deal, 1),
        ]
    );
    assert!(s
        .remove_binding("shop", EntityKind::Deal, "order-1")
        .await
        .unwrap());
    assert!(!s
        .remove_binding("shop", EntityKind::Deal, "order-1")
        .await
        .unwrap());
}

async fn binding_external_id_is_unique(db: TestDb) {
    let s = &db.store;
    let nb = |entity_id: &'static str| NewBinding {
        system: "crm",
        kind: EntityKind::Deal,
        entity_id,
        external_id: "900",
        snapshot: None,
    };
    s.save_binding(&nb("order-1")).await.unwrap();
    let err = s.save_binding(&nb("order-2")).await.unwrap_err();
    match &err {
        StoreError::BindingConflict {
            bound_to,
            entity_id,
            ..
        } => {
            assert_eq!(bound_to, "order-1");
            assert_eq!(entity_id, "order-2");
        }
        other => panic!("expected BindingConflict, got {other:?}"),
    }
    assert!(err.to_string().contains("already bound to entity order-1"));
    // The first binding is untouched.
    let b = s
        .binding_by_external("crm", EntityKind::Deal, "900")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.entity_id, "order-1");
}

async fn inbox_dedupes_per_source(db: TestDb) {
    let s = &db.store;
    assert!(s
        .inbox_put("shop", "delivery-1", "order.updated", r#"{"id":1}"#)
        .await
        .unwrap());
    assert!(!s
        .inbox_put("shop", "delivery-1", "order.updated", r#"{"id":1,"x":2}"#)
        .await
        .unwrap());
    // The same key from another source is another input.
    assert!(s
        .inbox_put("crm", "delivery-1", "deal.updated", r#"{"ID":"5"}"#)
        .await
        .unwrap());
    assert!(s
        .inbox_put("shop", "delivery-2", "order.created", r#"{"id":2}"#)
        .await
        .unwrap());

    let items = s.inbox_unprocessed(10).await.unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[0].payload, r#"{"id":1}"#,
        "the duplicate did not overwrite"
    );
    assert_eq!(items[0].source, "shop");
    assert!(items.windows(2).all(|w| w[0].id < w[1].id), "oldest first");

    s.inbox_mark_processed(items[0].id).await.unwrap();
    db.clock.advance(Duration::from_secs(5));
    s.inbox_mark_processed(items[0].id).await.unwrap();
    let first = s.inbox_get(items[0].id).await.unwrap().unwrap();
    assert_eq!(
        first.processed_at,
        Some(first.received_at),
        "first processing time kept"
    );
    let left = s.inbox_unprocessed(10).await.unwrap();
    assert_eq!(
        left.iter().map(|i| i.id).collect::<Vec<_>>(),
        [items[1].id, items[2].id]
    );
    assert_eq!(s.inbox_unprocessed(1).await.unwrap().len(), 1);
    // A processed input still dedupes.
    assert!(!s
        .inbox_put("shop", "delivery-1", "order.updated", "{}")
        .await
        .unwrap());
}

async fn cursors_set_and_list(db: TestDb) {
    let s = &db.store;
    assert_eq!(s.cursor("shop.orders").await.unwrap(), None);
    s.set_cursor("shop.orders", "2026-03-01T10:00:00")
        .await
        .unwrap();
    let t0 = db.clock.now();
    db.clock.advance(Duration::from_secs(30));
    s.set_cursor("crm.deals", "42").await.unwrap();
    s.set_cursor("shop.orders", "2026-03-01T11:00:00")
        .await
        .unwrap();
    assert_eq!(
        s.cursor("shop.orders").await.unwrap().as_deref(),
        Some("2026-03-01T11:00:00")
    );
    let all = s.cursors().await.unwrap();
    let t1 = t0 + chrono::Duration::seconds(30);
    assert_eq!(
        all,
        vec![
            ("crm.deals".to_string(), "42".to_string(), t1),
            (
                "shop.orders".to_string(),
                "2026-03-01T11:00:00".to_string(),
                t1
            ),
        ]
    );
}

async fn journal_records_per_entity(db: TestDb) {
    let s = &db.store;
    let e = JournalEntry {
        kind: EntityKind::Order,
        entity_id: "shop:1",
        system: "crm",
        action: "created",
        external_id: Some("501"),
        job_id: Some(7),
        detail: Some("deal created with 2 product rows"),
    };
    s.journal(&e).await.unwrap();
    db.clock.advance(Duration::from_secs(1));
    s.journal(&JournalEntry {
        action: "skipped-unchanged",
        job_id: None,
        detail: None,
        ..e
    })
    .await
    .unwrap();
    s.journal(&JournalEntry {
        entity_id: "shop:2",
        ..e
    })
    .await
    .unwrap();
    let rows = s.journal_for(EntityKind::Order, "shop:1").await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].action, "created");
    assert_eq!(rows[0].external_id.as_deref(), Some("501"));
    assert_eq!(rows[0].job_id, Some(7));
    assert_eq!(
        rows[0].detail.as_deref(),
        Some("deal created with 2 product rows")
    );
    assert_eq!(rows[1].action, "skipped-unchanged");
    assert_eq!(rows[1].detail, None);
    assert!(rows[1].at > rows[0].at);
    assert!(s
        .journal_for(EntityKind::Order, "shop:9")
        .await
        .unwrap()
        .is_empty());
    let recent = s.journal_recent(2).await.unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0].entity_id, "shop:2", "newest first");
}

async fn conflicts_log_and_resolve(db: TestDb) {
    let s = &db.store;
    assert_eq!(s.open_conflict_count().await.unwrap(), 0);
    let base = json!("new");
    let ours = json!("processing");
    let theirs = json!("cancelled");
    let auto = s
        .record_conflict(&NewConflict {
            kind: EntityKind::Order,
            entity_id: "shop:1",
            field: "status",
            base: Some(&base),
            ours: &ours,
            theirs: &theirs,
            ours_system: "shop",
            theirs_system: "crm",
            rule: "store",
            chosen: Some("shop"),
            chosen_value: Some(&ours),
            reason: "status is owned by the store",
        })
        .await
        .unwrap();
    let amount_ours = json!({"amount": "10.00", "currency": "EUR"});
    let amount_theirs = json!({"amount": "12.00", "currency": "EUR"});
    let manual = s
        .record_conflict(&NewConflict {
            kind: EntityKind::Order,
            entity_id: "shop:1",
            field: "total",
            base: None,
            ours: &amount_ours,
            theirs: &amount_theirs,
            ours_system: "shop",
            theirs_system: "crm",
            rule: "manual",
            chosen: None,
            chosen_value: None,
            reason: "total is manual: both sides changed it",
        })
        .await
        .unwrap();
    assert_eq!(s.open_conflict_count().await.unwrap(), 1);
    let c = s.conflict(auto).await.unwrap().unwrap();
    assert_eq!(c.state, ConflictState::Resolved);
    assert_eq!(c.resolved_by.as_deref(), Some("rule:store"));
    assert_eq!(c.base, Some(base));
    assert_eq!(c.chosen_value, Some(ours.clone()));
    let open = s
        .open_conflicts_for(EntityKind::Order, "shop:1")
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, manual);
    assert_eq!(open[0].theirs, amount_theirs);
    assert_eq!(open[0].base, None);

    db.clock.advance(Duration::from_secs(3600));
    assert!(s
        .resolve_conflict(
            manual,
            "crm",
            Some(&amount_theirs),
            "anna",
            "the CRM total includes shipping"
        )
        .await
        .unwrap());
    assert!(!s
        .resolve_conflict(manual, "shop", None, "bob", "again")
        .await
        .unwrap());
    assert_eq!(s.open_conflict_count().await.unwrap(), 0);
    let r = s.conflict(manual).await.unwrap().unwrap();
    assert_eq!(r.chosen.as_deref(), Some("crm"));
    assert_eq!(r.resolved_by.as_deref(), Some("anna"));
    assert_eq!(
        r.resolved_at,
        Some(r.created_at + chrono::Duration::seconds(3600))
    );
    let all = s.conflicts(&ConflictFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>(), [manual, auto]);
    let none = s
        .conflicts(&ConflictFilter {
            state: Some(ConflictState::Open),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn sqlite_file_is_created_and_bad_paths_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(path.exists(), "the database file is created when missing");
    store.close().await;

    let bad = format!("sqlite://{}/no/such/dir/x.db", dir.path().display());
    let err = Store::connect(&bad).await.unwrap_err();
    assert!(matches!(err, StoreError::OpenSqlite { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("no/such/dir/x.db") && msg.contains("check the path and permissions"),
        "{msg}"
    );

    let err = Store::connect("mysql://localhost/x").await.unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl { .. }), "{err:?}");
}

#[tokio::test]
async fn in_memory_sqlite_keeps_its_data_across_calls() {
    let store = Store::connect_with_clock("sqlite::memory:", common::clock())
        .await
        .unwrap();
    store.set_cursor("a", "1").await.unwrap();
    assert_eq!(store.cursor("a").await.unwrap().as_deref(), Some("1"));
    store.close().await;
}

#[tokio::test]
async fn postgres_connection_errors_hide_the_password() {
    // Nothing listens on port 1: the connection is refused at once.
    let err = Store::connect("postgres://u:secret@127.0.0.1:1/db")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(!msg.contains("secret"), "{msg}");
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
}

async fn inbox_items_set_aside_come_back_when_their_time_comes(db: TestDb) {
    let s = &db.store;
    for n in 1..=3 {
        s.inbox_put("crm", &format!("event-{n}"), "deal.updated", "{}")
            .await
            .unwrap();
    }
    let items = s.inbox_unprocessed(10).await.unwrap();
    // The first two wait for their deal's binding: set aside for 2 s.
    s.inbox_retry_later(items[0].id, Duration::from_secs(2))
        .await
        .unwrap();
    s.inbox_retry_later(items[1].id, Duration::from_secs(2))
        .await
        .unwrap();
    let now: Vec<i64> = s
        .inbox_unprocessed(10)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(
        now,
        vec![items[2].id],
        "the others are not held up behind them"
    );
    // With a limit of 1 the waiting ones still do not take the only place.
    assert_eq!(s.inbox_unprocessed(1).await.unwrap()[0].id, items[2].id);
    db.clock.advance(Duration::from_secs(2));
    assert_eq!(
        s.inbox_unprocessed(10).await.unwrap().len(),
        3,
        "their time has come"
    );
    // Processed items are never listed again, set aside or not.
    s.inbox_mark_processed(items[0].id).await.unwrap();
    s.inbox_retry_later(items[0].id, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(s.inbox_unprocessed(10).await.unwrap().len(), 2);
}

async fn journal_latest_entry_of_each_entity(db: TestDb) {
    let s = &db.store;
    let e = JournalEntry {
        kind: EntityKind::Catalog,
        entity_id: "flow:products",
        system: "crm",
        action: "pushed",
        external_id: None,
        job_id: None,
        detail: Some("500 products: 500 created, 0 updated, 0 adopted"),
    };
    s.journal(&e).await.unwrap();
    s.journal(&JournalEntry {
        detail: Some("12 products: 12 created, 0 updated, 0 adopted"),
        ..e
    })
    .await
    .unwrap();
    s.journal(&JournalEntry {
        entity_id: "flow:prices",
        system: "shop",
        detail: Some("3 SKUs: 3 updated, 0 already right, 0 not found, 0 refused"),
        ..e
    })
    .await
    .unwrap();
    // Another kind is not mixed in.
    s.journal(&JournalEntry {
        kind: EntityKind::Order,
        entity_id: "shop:1",
        ..e
    })
    .await
    .unwrap();
    let latest = s
        .journal_latest_per_entity(EntityKind::Catalog)
        .await
        .unwrap();
    let got: Vec<(&str, &str, Option<&str>)> = latest
        .iter()
        .map(|r| (r.entity_id.as_str(), r.system.as_str(), r.detail.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "flow:prices",
                "shop",
                Some("3 SKUs: 3 updated, 0 already right, 0 not found, 0 refused")
            ),
            (
                "flow:products",
                "crm",
                Some("12 products: 12 created, 0 updated, 0 adopted")
            ),
        ]
    );
    assert!(s
        .journal_latest_per_entity(EntityKind::Schedule)
        .await
        .unwrap()
        .is_empty());
}

async fn inbox_stats_count_recent_waiting_and_set_aside(db: TestDb) {
    let s = &db.store;
    s.inbox_put("shop", "old", "order:order.updated", r#"{"id":"1"}"#)
        .await
        .unwrap();
    db.clock.advance(std::time::Duration::from_secs(2 * 3600));
    for key in ["a", "b", "c"] {
        s.inbox_put("shop", key, "order:order.updated", r#"{"id":"2"}"#)
            .await
            .unwrap();
    }
    s.inbox_put("crm", "e1", "deal:oncrmdealupdate", r#"{"id":"7"}"#)
        .await
        .unwrap();
    let items = s.inbox_unprocessed(10).await.unwrap();
    s.inbox_mark_processed(items[0].id).await.unwrap();
    let crm = items.iter().find(|i| i.source == "crm").unwrap();
    s.inbox_retry_later(crm.id, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let stats = s.inbox_stats().await.unwrap();
    let row = |src: &str| {
        let r = stats.iter().find(|r| r.source == src).unwrap();
        (r.last_hour, r.last_day, r.waiting, r.set_aside)
    };
    assert_eq!(row("shop"), (3, 4, 3, 0));
    assert_eq!(row("crm"), (1, 1, 1, 1));
}
