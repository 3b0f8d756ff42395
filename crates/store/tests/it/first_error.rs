//! A job's first failure is kept beside its last one, on SQLite and PostgreSQL.

use crate::common;

use common::TestDb;
use dealbridge_store::{Failure, JobKind, JobState, NewJob};
use std::time::Duration;

both_backends!(first_error_is_kept_when_later_tries_fail_differently);

async fn first_error_is_kept_when_later_tries_fail_differently(db: TestDb) {
    let q = db.store.queue();
    let payload = serde_json::json!({"flow": "orders"});
    let id = q
        .enqueue(&NewJob {
            kind: JobKind::DealUpsert,
            target: "crm",
            coalesce_key: "crm:deal:shop:1",
            payload: &payload,
            max_attempts: 2,
        })
        .await
        .unwrap()
        .id();
    let fail = |message| Failure {
        retryable: true,
        kind: "transient",
        message,
        retry_after: None,
    };
    let job = q
        .claim("w", Duration::from_secs(30), 1)
        .await
        .unwrap()
        .remove(0);
    q.fail(&job, &fail("502 Bad Gateway")).await.unwrap();
    let after_one = q.get(id).await.unwrap().unwrap();
    assert_eq!(after_one.first_error.as_deref(), Some("502 Bad Gateway"));
    db.clock.advance(Duration::from_secs(3600));
    let job = q
        .claim("w", Duration::from_secs(30), 1)
        .await
        .unwrap()
        .remove(0);
    q.fail(&job, &fail("timed out")).await.unwrap();
    let dead = q.get(id).await.unwrap().unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.first_error.as_deref(), Some("502 Bad Gateway"));
    assert!(
        dead.last_error.as_deref().unwrap().starts_with("timed out"),
        "{:?}",
        dead.last_error
    );
}
