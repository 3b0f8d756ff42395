//! Named locks, on SQLite (in-process) and PostgreSQL (advisory locks across connections).

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::TestDb;
use dealbridge_store::Store;

both_backends!(
    a_held_lock_excludes_other_holders,
    a_dropped_lock_is_freed,
    locks_serialise_critical_sections,
);

async fn a_held_lock_excludes_other_holders(db: TestDb) {
    // A second Store stands for a second process: its own pool, its own sessions.
    let other = Store::connect(&db.url).await.unwrap();
    let held = db.store.lock("contact:crm/email:a@b.c").await.unwrap();
    assert!(other
        .try_lock("contact:crm/email:a@b.c")
        .await
        .unwrap()
        .is_none());
    // A different name is independent.
    let unrelated = other.try_lock("contact:crm/email:x@y.z").await.unwrap();
    assert!(unrelated.is_some());
    held.release().await.unwrap();
    let again = other.try_lock("contact:crm/email:a@b.c").await.unwrap();
    assert!(again.is_some(), "released lock can be taken");
    // A held lock keeps its connection out of the pool, so release before closing the pool.
    again.unwrap().release().await.unwrap();
    unrelated.unwrap().release().await.unwrap();
    other.close().await;
}

async fn a_dropped_lock_is_freed(db: TestDb) {
    let other = Store::connect(&db.url).await.unwrap();
    {
        let _held = db.store.lock("nightly-sync").await.unwrap();
        assert!(other.try_lock("nightly-sync").await.unwrap().is_none());
    }
    // On PostgreSQL the session is closed in the background; allow it a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if other.try_lock("nightly-sync").await.unwrap().is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dropped lock was never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    other.close().await;
}

async fn locks_serialise_critical_sections(db: TestDb) {
    let inside = Arc::new(AtomicUsize::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = Store::connect(&db.url).await.unwrap();
        let inside = inside.clone();
        let entered = entered.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..5 {
                let guard = store.lock("one-at-a-time").await.unwrap();
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two holders at once"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                entered.fetch_add(1, Ordering::SeqCst);
                guard.release().await.unwrap();
            }
            store.close().await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(entered.load(Ordering::SeqCst), 20);
}
