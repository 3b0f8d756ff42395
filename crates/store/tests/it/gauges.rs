//! The reads behind the engine's cached `/metrics` gauges and the console's Overview, on SQLite
//! and PostgreSQL: waiting jobs grouped by origin, the newest journal rows of one entity.

use crate::common;

use common::TestDb;
use dealbridge_store::{Clock, EntityKind, JobKind, JournalEntry, NewJob, Queue, WaitingGroup};
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    waiting_jobs_are_grouped_by_flow_or_entity_system,
    newest_journal_rows_of_one_entity,
);

async fn put(q: &Queue, kind: JobKind, key: &str, payload: Value) {
    q.enqueue(&NewJob {
        kind,
        target: "crm",
        coalesce_key: key,
        payload: &payload,
        max_attempts: 3,
    })
    .await
    .unwrap();
}

async fn waiting_jobs_are_grouped_by_flow_or_entity_system(db: TestDb) {
    let q = db.store.queue();
    assert_eq!(q.waiting_by_origin().await.unwrap(), vec![]);
    let t0 = db.clock.now();
    put(
        &q,
        JobKind::DealUpsert,
        "o1",
        json!({"flow": "orders", "order": {}}),
    )
    .await;
    db.clock.advance(Duration::from_secs(10));
    put(
        &q,
        JobKind::DealUpsert,
        "o2",
        json!({"flow": "orders", "order": {}}),
    )
    .await;
    put(
        &q,
        JobKind::DealPull,
        "p1",
        json!({"flow": "back", "order_id": "1"}),
    )
    .await;
    put(
        &q,
        JobKind::DealPayments,
        "pay1",
        json!({"entity": "shop:1042", "order_id": "1042"}),
    )
    .await;
    put(
        &q,
        JobKind::DealPayments,
        "pay2",
        json!({"entity": "shop:7", "order_id": "7"}),
    )
    .await;
    put(&q, JobKind::DealUpsert, "odd", json!({"other": 1})).await;
    // One of the orders flow runs; a finished job is not waiting.
    let claimed = q.claim("w", Duration::from_secs(30), 1).await.unwrap();
    assert_eq!(claimed[0].coalesce_key, "o1");
    put(&q, JobKind::DealUpsert, "done", json!({"flow": "orders"})).await;
    let done = q.claim("w", Duration::from_secs(30), 10).await.unwrap();
    for j in done.iter().filter(|j| j.coalesce_key == "done") {
        q.complete(j).await.unwrap();
    }
    for j in done.iter().filter(|j| j.coalesce_key != "done") {
        q.release(j).await.unwrap();
    }

    let mut groups = q.waiting_by_origin().await.unwrap();
    groups.sort_by(|a, b| (&a.flow, &a.entity_system).cmp(&(&b.flow, &b.entity_system)));
    let t10 = t0 + chrono::Duration::seconds(10);
    let g = |flow: Option<&str>, sys: Option<&str>, pending, running, oldest| WaitingGroup {
        flow: flow.map(str::to_string),
        entity_system: sys.map(str::to_string),
        pending,
        running,
        oldest_pending: oldest,
    };
    assert_eq!(
        groups,
        vec![
            g(None, None, 1, 0, Some(t10)),
            g(None, Some("shop"), 2, 0, Some(t10)),
            g(Some("back"), None, 1, 0, Some(t10)),
            g(Some("orders"), None, 1, 1, Some(t10)),
        ]
    );
}

async fn newest_journal_rows_of_one_entity(db: TestDb) {
    let s = &db.store;
    for (i, session) in ["a", "a", "b", "b", "b"].iter().enumerate() {
        let detail = format!("file {i}");
        s.journal(&JournalEntry {
            kind: EntityKind::Exchange1c,
            entity_id: "catalog",
            system: "1c",
            action: "imported",
            external_id: Some(session),
            job_id: None,
            detail: Some(&detail),
        })
        .await
        .unwrap();
    }
    s.journal(&JournalEntry {
        kind: EntityKind::Exchange1c,
        entity_id: "sale",
        system: "1c",
        action: "failed",
        external_id: Some("c"),
        job_id: None,
        detail: None,
    })
    .await
    .unwrap();
    let rows = s
        .journal_latest_for(EntityKind::Exchange1c, "catalog", 3)
        .await
        .unwrap();
    let got: Vec<(Option<&str>, Option<&str>)> = rows
        .iter()
        .map(|r| (r.external_id.as_deref(), r.detail.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("b"), Some("file 4")),
            (Some("b"), Some("file 3")),
            (Some("b"), Some("file 2")),
        ]
    );
    assert!(s
        .journal_latest_for(EntityKind::Exchange1c, "other", 3)
        .await
        .unwrap()
        .is_empty());
}
