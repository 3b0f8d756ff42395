//! The job queue on SQLite and PostgreSQL: coalescing, per-key serialisation, leases and fencing,
//! backoff, dead letter, retry, drop, counts, purge and concurrent claimers.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestDb;
use dealbridge_store::{
    Clock, Enqueued, FailOutcome, Failure, Job, JobFilter, JobKind, JobState, NewJob, Queue,
    StoreError,
};
use serde_json::{json, Value};

both_backends!(
    coalescing_replaces_the_pending_payload,
    running_key_gets_a_new_pending_job_and_is_serialised,
    expired_lease_is_claimed_again,
    fencing_rejects_the_old_lease_holder,
    expired_lease_with_newer_pending_job_is_superseded,
    backoff_schedule_and_retry_after,
    max_attempts_then_dead_with_reason,
    permanent_failure_is_dead_at_once,
    retry_from_dead_is_claimable,
    bulk_retry_and_drop_touch_each_job_once,
    drop_keeps_the_job,
    release_gives_the_try_back,
    counts_and_next_due,
    purge_respects_retention,
    claim_order_and_limit,
    concurrent_claimers_never_share_a_job,
    concurrent_changes_to_shared_keys_run_one_at_a_time_and_the_last_wins,
);

const LEASE: Duration = Duration::from_secs(30);

async fn put(q: &Queue, key: &str, payload: Value, max_attempts: u32) -> Enqueued {
    q.enqueue(&NewJob {
        kind: JobKind::DealUpsert,
        target: "crm",
        coalesce_key: key,
        payload: &payload,
        max_attempts,
    })
    .await
    .unwrap()
}

fn transient<'a>(msg: &'a str) -> Failure<'a> {
    Failure {
        retryable: true,
        kind: "http_503",
        message: msg,
        retry_after: None,
    }
}

async fn claim_one(q: &Queue, worker: &str) -> Job {
    let mut jobs = q.claim(worker, LEASE, 1).await.unwrap();
    assert_eq!(jobs.len(), 1, "{worker} expected one job");
    jobs.pop().unwrap()
}

async fn coalescing_replaces_the_pending_payload(db: TestDb) {
    let q = db.store.queue();
    let first = put(&q, "crm:deal:shop:1", json!({"v": 1}), 5).await;
    let Enqueued::Inserted(id) = first else {
        panic!("first enqueue inserts, got {first:?}")
    };
    db.clock.advance(Duration::from_secs(2));
    assert_eq!(
        put(&q, "crm:deal:shop:1", json!({"v": 2}), 5).await,
        Enqueued::Coalesced(id)
    );
    assert_eq!(
        put(&q, "crm:deal:shop:1", json!({"v": 3}), 5).await,
        Enqueued::Coalesced(id)
    );
    let other = put(&q, "crm:deal:shop:2", json!({"v": 1}), 5).await;
    assert!(matches!(other, Enqueued::Inserted(o) if o != id));

    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!(job.payload, json!({"v": 3}));
    assert_eq!(job.coalesced, 2);
    assert_eq!(job.state, JobState::Pending);
    assert_eq!(
        job.run_at, job.created_at,
        "run_at kept from the first enqueue"
    );
    assert_eq!(
        job.updated_at,
        job.created_at + chrono::Duration::seconds(2)
    );
    assert_eq!(q.pending_count().await.unwrap(), 2);

    // A coalesced job that is backing off keeps its attempts and its run_at.
    let claimed = claim_one(&q, "w1").await;
    assert_eq!(claimed.id, id);
    let FailOutcome::RetryAt(at) = q.fail(&claimed, &transient("503")).await.unwrap() else {
        panic!("retryable failure with attempts left")
    };
    assert_eq!(
        put(&q, "crm:deal:shop:1", json!({"v": 4}), 5).await,
        Enqueued::Coalesced(id)
    );
    let job = q.get(id).await.unwrap().unwrap();
    assert_eq!((job.attempts, job.run_at), (1, at));
    assert_eq!(job.payload, json!({"v": 4}));
}

async fn running_key_gets_a_new_pending_job_and_is_serialised(db: TestDb) {
    let q = db.store.queue();
    let a = put(&q, "k1", json!({"v": 1}), 5).await.id();
    let running = claim_one(&q, "w1").await;
    assert_eq!(running.id, a);

    // The key is running: a newer change becomes a new pending job, not lost.
    let b = put(&q, "k1", json!({"v": 2}), 5).await;
    let Enqueued::Inserted(b) = b else {
        panic!("expected a new job while k1 runs, got {b:?}")
    };
    assert_ne!(a, b);
    // ...and further changes coalesce into that pending one.
    assert_eq!(
        put(&q, "k1", json!({"v": 3}), 5).await,
        Enqueued::Coalesced(b)
    );
    let other = put(&q, "k2", json!({"v": 1}), 5).await.id();

    // Claim skips k1 while it runs but hands out other keys.
    let jobs = q.claim("w2", LEASE, 10).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), [other]);
    assert!(q.claim("w2", LEASE, 10).await.unwrap().is_empty());

    q.complete(&running).await.unwrap();
    let next = claim_one(&q, "w2").await;
    assert_eq!(next.id, b);
    assert_eq!(next.payload, json!({"v": 3}));
}

async fn expired_lease_is_claimed_again(db: TestDb) {
    let q = db.store.queue();
    let id = put(&q, "k", json!({}), 5).await.id();
    let first = claim_one(&q, "crashed-worker").await;
    assert_eq!(
        (first.attempts, first.lease_owner.as_deref()),
        (1, Some("crashed-worker"))
    );
    assert_eq!(
        first.lease_until,
        Some(db.clock.now() + chrono::Duration::seconds(30))
    );
    assert_eq!(first.state, JobState::Running);

    // Lease still live: nothing to claim.
    db.clock.advance(Duration::from_secs(29));
    assert!(q.claim("w2", LEASE, 10).await.unwrap().is_empty());
    // Expired: taken back and handed out again, counting as another attempt.
    db.clock.advance(Duration::from_secs(1));
    let again = claim_one(&q, "w2").await;
    assert_eq!(again.id, id);
    assert_eq!(again.attempts, 2);
    assert_eq!(again.lease_owner.as_deref(), Some("w2"));
    assert!(again.lease_token > first.lease_token);
    assert_eq!(again.last_error_kind.as_deref(), Some("lease_expired"));
    assert!(again
        .last_error
        .as_deref()
        .unwrap()
        .contains("crashed-worker"));
    q.complete(&again).await.unwrap();
    assert_eq!(q.get(id).await.unwrap().unwrap().state, JobState::Done);

    // A lease that runs out on the last allowed attempt is a dead letter, not another try.
    let last = put(&q, "k-last", json!({}), 1).await.id();
    let _held = claim_one(&q, "w3").await;
    db.clock.advance(Duration::from_secs(31));
    assert!(q.claim("w4", LEASE, 10).await.unwrap().is_empty());
    let dead = q.get(last).await.unwrap().unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.last_error_kind.as_deref(), Some("lease_expired"));
    assert!(dead.finished_at.is_some());
}

async fn fencing_rejects_the_old_lease_holder(db: TestDb) {
    let q = db.store.queue();
    let id = put(&q, "k", json!({}), 5).await.id();
    let old = claim_one(&q, "slow").await;
    db.clock.advance(Duration::from_secs(31));
    let new = claim_one(&q, "fresh").await;
    assert_eq!(new.id, id);

    let err = q.complete(&old).await.unwrap_err();
    assert!(
        matches!(err, StoreError::LeaseLost { id: i, .. } if i == id),
        "{err:?}"
    );
    assert!(err.to_string().contains("no longer held"));
    assert!(matches!(
        q.fail(&old, &transient("late")).await,
        Err(StoreError::LeaseLost { .. })
    ));
    assert!(matches!(
        q.release(&old).await,
        Err(StoreError::LeaseLost { .. })
    ));
    // The newer holder's state was not touched.
    let now = q.get(id).await.unwrap().unwrap();
    assert_eq!(
        (now.state, now.lease_owner.as_deref()),
        (JobState::Running, Some("fresh"))
    );
    q.complete(&new).await.unwrap();
    // Completing twice is also a lost lease (the job is no longer running).
    assert!(matches!(
        q.complete(&new).await,
        Err(StoreError::LeaseLost { .. })
    ));
    assert_eq!(q.get(id).await.unwrap().unwrap().state, JobState::Done);
}

async fn expired_lease_with_newer_pending_job_is_superseded(db: TestDb) {
    let q = db.store.queue();
    let a = put(&q, "k", json!({"v": 1}), 5).await.id();
    let _held = claim_one(&q, "crashed").await;
    let b = put(&q, "k", json!({"v": 2}), 5).await.id();
    db.clock.advance(Duration::from_secs(31));
    // The newer pending job carries the latest payload; the expired one is set aside.
    let jobs = q.claim("w", LEASE, 10).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), [b]);
    let old = q.get(a).await.unwrap().unwrap();
    assert_eq!(old.state, JobState::Dropped);
    assert!(old.drop_reason.unwrap().contains("newer job"));

    // A worker failing while a newer job is pending: dropped as superseded, the newer one waits
    // out the backoff.
    let c = put(&q, "k", json!({"v": 3}), 5).await.id();
    let FailOutcome::RetryAt(at) = q
        .fail(
            &jobs[0],
            &Failure {
                retry_after: Some(Duration::from_secs(60)),
                ..transient("503")
            },
        )
        .await
        .unwrap()
    else {
        panic!("retryable")
    };
    assert_eq!(q.get(b).await.unwrap().unwrap().state, JobState::Dropped);
    let pending = q.get(c).await.unwrap().unwrap();
    assert_eq!((pending.state, pending.run_at), (JobState::Pending, at));
}

async fn backoff_schedule_and_retry_after(db: TestDb) {
    let q = db.store.queue();
    let id = put(&q, "k", json!({}), 10).await.id();
    // Attempt n fails → wait nominal(n) = 1 s · 2^(n-1), ±25 %.
    for n in 1..=6u32 {
        let job = claim_one(&q, "w").await;
        assert_eq!(job.attempts, n);
        let now = db.clock.now();
        let FailOutcome::RetryAt(at) = q.fail(&job, &transient("503")).await.unwrap() else {
            panic!("attempt {n} should be retried")
        };
        let wait = (at - now).to_std().unwrap();
        let nominal = Duration::from_secs(1 << (n - 1));
        assert!(
            wait >= nominal.mul_f64(0.75) && wait <= nominal.mul_f64(1.25),
            "attempt {n}: waited {wait:?}, nominal {nominal:?}"
        );
        assert_eq!(q.get(id).await.unwrap().unwrap().run_at, at);
        // Not claimable before run_at, claimable at it.
        db.clock.set(at - chrono::Duration::milliseconds(1));
        assert!(
            q.claim("w", LEASE, 1).await.unwrap().is_empty(),
            "attempt {n}: too early"
        );
        db.clock.set(at);
    }
    // Retry-After longer than the backoff wins.
    let job = claim_one(&q, "w").await;
    let now = db.clock.now();
    let f = Failure {
        retryable: true,
        kind: "http_429",
        message: "QUERY_LIMIT_EXCEEDED",
        retry_after: Some(Duration::from_secs(120)),
    };
    assert_eq!(
        q.fail(&job, &f).await.unwrap(),
        FailOutcome::RetryAt(now + chrono::Duration::seconds(120))
    );
    let stored = q.get(id).await.unwrap().unwrap();
    assert_eq!(stored.last_error.as_deref(), Some("QUERY_LIMIT_EXCEEDED"));
    assert_eq!(stored.last_error_kind.as_deref(), Some("http_429"));
    // A shorter Retry-After does not shorten the backoff (attempt 8 nominal: 128 s).
    db.clock.advance(Duration::from_secs(120));
    let job = claim_one(&q, "w").await;
    let now = db.clock.now();
    let FailOutcome::RetryAt(at) = q
        .fail(
            &job,
            &Failure {
                retry_after: Some(Duration::from_secs(1)),
                ..f
            },
        )
        .await
        .unwrap()
    else {
        panic!("retry")
    };
    assert!((at - now).num_seconds() >= 96);
}

async fn max_attempts_then_dead_with_reason(db: TestDb) {
    let q = db.store.queue();
    let id = put(&q, "k", json!({}), 3).await.id();
    for n in 1..=3u32 {
        let job = claim_one(&q, "w").await;
        assert_eq!(job.attempts, n);
        let out = q
            .fail(&job, &transient("upstream timed out"))
            .await
            .unwrap();
        if n < 3 {
            let FailOutcome::RetryAt(at) = out else {
                panic!("attempt {n} retried")
            };
            db.clock.set(at);
        } else {
            assert_eq!(out, FailOutcome::Dead);
        }
    }
    let dead = q.get(id).await.unwrap().unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.attempts, 3);
    let reason = dead.last_error.unwrap();
    assert!(
        reason.contains("upstream timed out") && reason.contains("3 of 3"),
        "{reason}"
    );
    assert_eq!(dead.finished_at, Some(db.clock.now()));
    assert_eq!(dead.lease_until, None);
    db.clock.advance(Duration::from_secs(3600));
    assert!(
        q.claim("w", LEASE, 10).await.unwrap().is_empty(),
        "dead jobs are not claimed"
    );
    let listed = q
        .list(&JobFilter {
            states: vec![JobState::Dead],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|j| j.id).collect::<Vec<_>>(), [id]);
}

async fn permanent_failure_is_dead_at_once(db: TestDb) {
    let q = db.store.queue();
    let id = put(&q, "k", json!({}), 10).await.id();
    let job = claim_one(&q, "w").await;
    let out = q
        .fail(
            &job,
            &Failure {
                retryable: false,
                kind: "validation",
                message: "crm rejected the deal: field OPPORTUNITY is not a number",
                retry_after: Some(Duration::from_secs(5)),
            },
        )
        .await
        .unwrap();
    assert_eq!(out, FailOutcome::Dead);
    let dead = q.get(id).await.unwrap().unwrap();
    assert_eq!((dead.state, dead.attempts), (JobState::Dead, 1));
    assert_eq!(
        dead.last_error.as_deref(),
        Some("crm rejected the deal: field OPPORTUNITY is not a number")
    );
    assert_eq!(dead.last_error_kind.as_deref(), Some("validation"));
}

async fn retry_from_dead_is_claimable(db: TestDb) {
    let q = db.store.queue();
    let id = put(&q, "k", json!({"v": 1}), 2).await.id();
    let job = claim_one(&q, "w").await;
    let perm = Failure {
        retryable: false,
        kind: "validation",
        message: "bad",
        retry_after: None,
    };
    q.fail(&job, &perm).await.unwrap();
    assert!(!q.retry(id + 1000).await.unwrap(), "no such job");
    db.clock.advance(Duration::from_secs(10));
    assert!(q.retry(id).await.unwrap());
    assert!(!q.retry(id).await.unwrap(), "already pending");
    let pending = q.get(id).await.unwrap().unwrap();
    assert_eq!(
        (
            pending.state,
            pending.attempts,
            pending.run_at,
            pending.finished_at
        ),
        (JobState::Pending, 0, db.clock.now(), None)
    );
    let again = claim_one(&q, "w").await;
    assert_eq!((again.id, again.attempts), (id, 1));
    q.complete(&again).await.unwrap();
    assert!(!q.retry(id).await.unwrap(), "done jobs are not retried");

    // A dead job whose key already has a newer pending job cannot be retried over it.
    let d = put(&q, "k2", json!({"v": 1}), 2).await.id();
    let job = claim_one(&q, "w").await;
    q.fail(&job, &perm).await.unwrap();
    let newer = put(&q, "k2", json!({"v": 2}), 2).await.id();
    let err = q.retry(d).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Superseded { id, pending, .. } if id == d && pending == newer),
        "{err:?}"
    );
    assert_eq!(q.get(d).await.unwrap().unwrap().state, JobState::Dead);
}

async fn drop_keeps_the_job(db: TestDb) {
    let q = db.store.queue();
    let p = put(&q, "k1", json!({}), 3).await.id();
    let r = put(&q, "k2", json!({}), 3).await.id();
    assert!(q.drop_job(p, "order cancelled by hand").await.unwrap());
    assert!(!q.drop_job(p, "again").await.unwrap(), "already dropped");
    let running = claim_one(&q, "w").await;
    assert_eq!(running.id, r);
    assert!(!q.drop_job(r, "running jobs are not dropped").await.unwrap());
    q.fail(
        &running,
        &Failure {
            retryable: false,
            kind: "validation",
            message: "bad",
            retry_after: None,
        },
    )
    .await
    .unwrap();
    assert!(q.drop_job(r, "known bad data").await.unwrap());
    let dropped = q.get(p).await.unwrap().unwrap();
    assert_eq!(dropped.state, JobState::Dropped);
    assert_eq!(
        dropped.drop_reason.as_deref(),
        Some("order cancelled by hand")
    );
    assert!(dropped.finished_at.is_some());
    assert_eq!(
        q.get(r).await.unwrap().unwrap().last_error.as_deref(),
        Some("bad")
    );
    assert!(q.claim("w", LEASE, 10).await.unwrap().is_empty());
    // A dropped job can be brought back.
    assert!(q.retry(p).await.unwrap());
    assert_eq!(claim_one(&q, "w").await.id, p);
}

async fn release_gives_the_try_back(db: TestDb) {
    let q = db.store.queue();
    let id = put(&q, "k", json!({}), 3).await.id();
    let job = claim_one(&q, "w").await;
    q.release(&job).await.unwrap();
    let back = q.get(id).await.unwrap().unwrap();
    assert_eq!(
        (back.state, back.attempts, back.lease_until),
        (JobState::Pending, 0, None)
    );
    let again = claim_one(&q, "w2").await;
    assert_eq!((again.id, again.attempts), (id, 1));
    // Releasing while a newer job for the key is pending hands over to that one.
    let newer = put(&q, "k", json!({"v": 2}), 3).await.id();
    q.release(&again).await.unwrap();
    assert_eq!(q.get(id).await.unwrap().unwrap().state, JobState::Dropped);
    assert_eq!(claim_one(&q, "w3").await.id, newer);
}

async fn counts_and_next_due(db: TestDb) {
    let q = db.store.queue();
    assert_eq!(q.next_due().await.unwrap(), None);
    let t0 = db.clock.now();
    for k in ["a", "b", "c", "d", "e"] {
        put(&q, k, json!({}), 1).await;
    }
    assert_eq!(q.next_due().await.unwrap(), Some(t0));
    let jobs = q.claim("w", LEASE, 4).await.unwrap();
    q.complete(&jobs[0]).await.unwrap();
    let perm = Failure {
        retryable: false,
        kind: "validation",
        message: "bad",
        retry_after: None,
    };
    q.fail(&jobs[1], &perm).await.unwrap();
    q.fail(&jobs[2], &perm).await.unwrap();
    q.drop_job(jobs[2].id, "no").await.unwrap();
    let counts = q.counts().await.unwrap();
    assert_eq!(
        counts,
        vec![
            (JobState::Pending, 1),
            (JobState::Running, 1),
            (JobState::Done, 1),
            (JobState::Dead, 1),
            (JobState::Dropped, 1),
        ]
    );
    assert_eq!(q.pending_count().await.unwrap(), 2);
    // Only the running job's lease is left once the pending one runs too.
    let last = claim_one(&q, "w").await;
    assert_eq!(
        q.next_due().await.unwrap(),
        Some(t0 + chrono::Duration::seconds(30))
    );
    q.complete(&last).await.unwrap();
    q.complete(&jobs[3]).await.unwrap();
    assert_eq!(q.next_due().await.unwrap(), None);
    assert_eq!(q.pending_count().await.unwrap(), 0);
    let newest = q
        .list(&JobFilter {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(newest.len(), 2);
    let by_two = q
        .list(&JobFilter {
            states: vec![JobState::Done, JobState::Dead],
            target: Some("crm".into()),
            kind: Some(JobKind::DealUpsert),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_two.len(), 4);
    let one_key = q
        .list(&JobFilter {
            coalesce_key: Some("b".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(one_key.len(), 1);
}

async fn purge_respects_retention(db: TestDb) {
    let q = db.store.queue();
    let day = Duration::from_secs(86_400);
    let old_done = put(&q, "a", json!({}), 1).await.id();
    let old_dead = put(&q, "b", json!({}), 1).await.id();
    let jobs = q.claim("w", LEASE, 2).await.unwrap();
    q.complete(&jobs[0]).await.unwrap();
    q.fail(&jobs[1], &transient("gave up")).await.unwrap();
    let pending = put(&q, "c", json!({}), 1).await.id();
    db.clock.advance(day * 8);
    let fresh = put(&q, "d", json!({}), 1).await.id();
    let j = claim_one(&q, "w").await;
    assert_eq!(j.id, pending);
    q.complete(&j).await.unwrap();
    assert_eq!(q.purge(day * 7).await.unwrap(), 2);
    assert!(q.get(old_done).await.unwrap().is_none());
    assert!(q.get(old_dead).await.unwrap().is_none());
    assert!(
        q.get(pending).await.unwrap().is_some(),
        "finished just now: kept"
    );
    assert!(
        q.get(fresh).await.unwrap().is_some(),
        "pending: never purged"
    );
    assert_eq!(q.purge(day * 7).await.unwrap(), 0);
}

async fn claim_order_and_limit(db: TestDb) {
    let q = db.store.queue();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(put(&q, &format!("k{i}"), json!({"i": i}), 3).await.id());
        db.clock.advance(Duration::from_millis(10));
    }
    // Make the first one fail so it moves to the back of the line.
    let first = claim_one(&q, "w").await;
    assert_eq!(first.id, ids[0]);
    let FailOutcome::RetryAt(at) = q.fail(&first, &transient("x")).await.unwrap() else {
        panic!()
    };
    db.clock.set(at);
    let got = q.claim("w", LEASE, 3).await.unwrap();
    assert_eq!(got.iter().map(|j| j.id).collect::<Vec<_>>(), ids[1..4]);
    let rest = q.claim("w", LEASE, 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|j| j.id).collect::<Vec<_>>(),
        [ids[4], ids[0]]
    );
    assert!(q.claim("w", LEASE, 0).await.unwrap().is_empty());
}

async fn concurrent_claimers_never_share_a_job(db: TestDb) {
    let q = db.store.queue();
    const N: usize = 200;
    for i in 0..N {
        put(&q, &format!("crm:deal:shop:{i}"), json!({"i": i}), 3).await;
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            let mut mine = Vec::new();
            loop {
                let jobs = q.claim(&worker, LEASE, 7).await.unwrap();
                if jobs.is_empty() {
                    if q.pending_count().await.unwrap() == 0 {
                        break;
                    }
                    tokio::task::yield_now().await;
                    continue;
                }
                for j in jobs {
                    assert_eq!(j.lease_owner.as_deref(), Some(worker.as_str()));
                    q.complete(&j).await.unwrap();
                    mine.push(j.id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    let mut per_worker = Vec::new();
    for t in tasks {
        let mine = t.await.unwrap();
        per_worker.push(mine.len());
        all.extend(mine);
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        N,
        "every job handed out exactly once (per worker: {per_worker:?})"
    );
    assert_eq!(unique.len(), N);
    let counts = q.counts().await.unwrap();
    assert!(counts.contains(&(JobState::Done, N as i64)), "{counts:?}");
    let done = q
        .list(&JobFilter {
            states: vec![JobState::Done],
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        done.iter().all(|j| j.attempts == 1),
        "nobody claimed a job twice"
    );
}

async fn concurrent_changes_to_shared_keys_run_one_at_a_time_and_the_last_wins(db: TestDb) {
    let q = db.store.queue();
    const KEYS: usize = 8;
    const CHANGES: usize = 240;
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    let seen: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let producing = Arc::new(std::sync::atomic::AtomicBool::new(true));

    let producer = {
        let q = q.clone();
        let producing = producing.clone();
        tokio::spawn(async move {
            for seq in 0..CHANGES {
                let key = format!("key-{}", seq % KEYS);
                put(&q, &key, json!({ "seq": seq }), 3).await;
                if seq % 5 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            producing.store(false, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let mut workers = Vec::new();
    for w in 0..4 {
        let (q, running, seen, producing) =
            (q.clone(), running.clone(), seen.clone(), producing.clone());
        workers.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            loop {
                let jobs = q.claim(&worker, LEASE, 3).await.unwrap();
                if jobs.is_empty() {
                    if !producing.load(std::sync::atomic::Ordering::SeqCst)
                        && q.pending_count().await.unwrap() == 0
                    {
                        break;
                    }
                    tokio::task::yield_now().await;
                    continue;
                }
                for j in &jobs {
                    assert!(
                        running.lock().unwrap().insert(j.coalesce_key.clone()),
                        "two jobs of {} ran at once",
                        j.coalesce_key
                    );
                }
                tokio::task::yield_now().await;
                for j in jobs {
                    let seq = j.payload["seq"].as_u64().unwrap();
                    {
                        let mut seen = seen.lock().unwrap();
                        let last = seen.entry(j.coalesce_key.clone()).or_insert(0);
                        assert!(
                            seq >= *last,
                            "{}: ran seq {seq} after {last}",
                            j.coalesce_key
                        );
                        *last = seq;
                    }
                    // Leave the set before completing: the key's next job may be claimed as soon
                    // as this one is done.
                    running.lock().unwrap().remove(&j.coalesce_key);
                    q.complete(&j).await.unwrap();
                }
            }
        }));
    }
    producer.await.unwrap();
    for w in workers {
        w.await.unwrap();
    }
    // The latest change of every key ran last.
    let seen = seen.lock().unwrap().clone();
    for k in 0..KEYS {
        let last_seq = (0..CHANGES).filter(|s| s % KEYS == k).max().unwrap() as u64;
        assert_eq!(seen.get(&format!("key-{k}")), Some(&last_seq), "key-{k}");
    }
    let counts = q.counts().await.unwrap();
    assert!(counts.contains(&(JobState::Pending, 0)) && counts.contains(&(JobState::Running, 0)));
}

async fn bulk_retry_and_drop_touch_each_job_once(db: TestDb) {
    let q = db.store.queue();
    let perm = Failure {
        retryable: false,
        kind: "mapping",
        message: "unmapped stage",
        retry_after: None,
    };
    // 30 dead jobs, one per key, plus two dead jobs of one key (only the newer may come back)
    // and one dead job whose key has a newer pending job already.
    let mut dead = Vec::new();
    for i in 0..30 {
        dead.push(put(&q, &format!("k{i}"), json!({"v": i}), 1).await.id());
    }
    let old_twin = put(&q, "twin", json!({"v": 1}), 1).await.id();
    let busy = put(&q, "busy", json!({"v": 1}), 1).await.id();
    for job in q.claim("w", LEASE, 50).await.unwrap() {
        q.fail(&job, &perm).await.unwrap();
    }
    let new_twin = put(&q, "twin", json!({"v": 2}), 1).await.id();
    let job = claim_one(&q, "w").await;
    q.fail(&job, &perm).await.unwrap();
    let newer_busy = put(&q, "busy", json!({"v": 2}), 1).await.id();
    let all_dead = q
        .list(&JobFilter {
            states: vec![JobState::Dead],
            limit: 1000,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(all_dead.len(), 33);

    let report = q.retry_many(&all_dead).await.unwrap();
    assert_eq!(report.retried, 31, "{report:?}");
    let mut superseded = vec![old_twin, busy];
    superseded.sort_unstable();
    assert_eq!(report.superseded, superseded);
    for id in dead.iter().chain([&new_twin]) {
        assert_eq!(q.get(*id).await.unwrap().unwrap().state, JobState::Pending);
    }
    assert_eq!(q.get(busy).await.unwrap().unwrap().state, JobState::Dead);
    assert_eq!(
        q.get(newer_busy).await.unwrap().unwrap().state,
        JobState::Pending
    );

    // The same action again finds nothing to do.
    let again = q.retry_many(&all_dead).await.unwrap();
    assert_eq!(again.retried, 0, "{again:?}");

    // Drop: pending and dead jobs go, running and done ones do not; again, nothing more.
    let ids: Vec<i64> = dead[..10].iter().copied().chain([busy]).collect();
    assert_eq!(q.drop_many(&ids, "operator").await.unwrap(), 11);
    assert_eq!(q.drop_many(&ids, "operator").await.unwrap(), 0);
    let dropped = q.get(busy).await.unwrap().unwrap();
    assert_eq!(
        (dropped.state, dropped.drop_reason.as_deref()),
        (JobState::Dropped, Some("operator"))
    );
}
