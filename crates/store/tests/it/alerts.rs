//! Alert incidents on SQLite and PostgreSQL: opened and resolved once, each time with exactly
//! one notification job queued in the same transaction.

use crate::common;

use common::TestDb;
use dealbridge_store::{Clock, JobFilter, JobKind, JobState, NewIncident, NewJob};
use serde_json::json;

both_backends!(
    an_incident_opens_once_with_one_notification,
    resolving_queues_the_clear_once_and_a_recurrence_is_a_new_incident,
);

fn notice<'a>(key: &'a str, payload: &'a serde_json::Value) -> NewJob<'a> {
    NewJob {
        kind: JobKind::Alert,
        target: "alerts",
        coalesce_key: key,
        payload,
        max_attempts: 30,
    }
}

async fn alert_jobs(db: &TestDb) -> Vec<dealbridge_store::Job> {
    db.store
        .queue()
        .list(&JobFilter {
            kind: Some(JobKind::Alert),
            limit: 1000,
            ..JobFilter::default()
        })
        .await
        .unwrap()
}

async fn an_incident_opens_once_with_one_notification(db: TestDb) {
    let s = &db.store;
    let details = json!({"flow": "orders", "dead": 2});
    let incident = NewIncident {
        key: "job_dead:flow=orders",
        rule: "job_dead",
        summary: "2 jobs of flow orders are dead",
        details: &details,
        since: db.store.now() - chrono::Duration::minutes(3),
    };
    let body = json!({"alert": "job_dead", "state": "firing"});
    let id = s
        .open_incident(
            &incident,
            &notice("alert:job_dead:flow=orders:firing", &body),
        )
        .await
        .unwrap();
    assert!(id.is_some());
    // The same condition seen again (next pass, another process): nothing more.
    let again = s
        .open_incident(
            &incident,
            &notice("alert:job_dead:flow=orders:firing2", &body),
        )
        .await
        .unwrap();
    assert_eq!(again, None);

    let open = s.open_incidents().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, id.unwrap());
    assert_eq!(open[0].key, "job_dead:flow=orders");
    assert_eq!(open[0].rule, "job_dead");
    assert_eq!(open[0].details, details);
    assert_eq!(open[0].opened_at, db.clock.now());
    assert_eq!(open[0].since, db.clock.now() - chrono::Duration::minutes(3));
    assert_eq!(open[0].resolved_at, None);

    let jobs = alert_jobs(&db).await;
    assert_eq!(jobs.len(), 1, "one notification: {jobs:?}");
    assert_eq!(jobs[0].state, JobState::Pending);
    assert_eq!(jobs[0].payload, body);
    assert_eq!(jobs[0].max_attempts, 30);
}

async fn resolving_queues_the_clear_once_and_a_recurrence_is_a_new_incident(db: TestDb) {
    let s = &db.store;
    let details = json!({});
    let incident = NewIncident {
        key: "poll_stale:flow=orders",
        rule: "poll_stale",
        summary: "stale",
        details: &details,
        since: db.store.now() - chrono::Duration::minutes(3),
    };
    let fire = json!({"state": "firing"});
    let clear = json!({"state": "resolved"});
    let first = s
        .open_incident(&incident, &notice("a:1:firing", &fire))
        .await
        .unwrap()
        .unwrap();
    db.clock.advance(std::time::Duration::from_secs(300));
    assert!(s
        .resolve_incident(first, &notice("a:1:resolved", &clear))
        .await
        .unwrap());
    assert!(
        !s.resolve_incident(first, &notice("a:1:resolved-again", &clear))
            .await
            .unwrap(),
        "a resolved incident is not resolved twice"
    );
    assert!(s.open_incidents().await.unwrap().is_empty());
    let history = s.incidents(10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].resolved_at, Some(db.clock.now()));
    let payloads: Vec<_> = alert_jobs(&db)
        .await
        .into_iter()
        .map(|j| j.payload)
        .collect();
    assert_eq!(payloads.len(), 2, "{payloads:?}");
    assert!(payloads.contains(&fire) && payloads.contains(&clear));

    // The condition comes back: a new incident, notified again.
    let second = s
        .open_incident(&incident, &notice("a:2:firing", &fire))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(second, first);
    assert_eq!(s.incidents(10).await.unwrap().len(), 2);
    assert_eq!(alert_jobs(&db).await.len(), 3);
}
