//! Benchmark (not a test): the operator's "retry all matching" on a large dead letter.
//!
//! `cargo bench --bench queue_bulk -- [--jobs N]` (default 1000): a fresh SQLite state database
//! with N dead jobs (one per order, failed permanently, as an unmapped stage leaves them), then
//! the same calls `queue retry --all` and the console make: list the dead jobs, `retry_many`;
//! then a second `retry_many` (nothing to do); then `drop_many` of all. Prints the time of each
//! step and the rows each touched, for `BENCHMARKS.md`.

use dealbridge_store::{Failure, JobFilter, JobKind, JobState, NewJob, Store};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .iter()
        .position(|a| a == "--jobs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::connect(&url).await.expect("state database");
    let q = store.queue();
    let payload = serde_json::json!({"flow": "orders", "order": {}});
    for i in 0..n {
        q.enqueue(&NewJob {
            kind: JobKind::DealUpsert,
            target: "crm",
            coalesce_key: &format!("crm:deal:shop:{i}"),
            payload: &payload,
            max_attempts: 8,
        })
        .await
        .expect("enqueue");
    }
    let failure = Failure {
        retryable: false,
        kind: "invalid",
        message: "Stage \"NO_SUCH_STAGE\" is not found",
        retry_after: None,
    };
    loop {
        let jobs = q
            .claim("bench", Duration::from_secs(60), 500)
            .await
            .expect("claim");
        if jobs.is_empty() {
            break;
        }
        for j in &jobs {
            q.fail(j, &failure).await.expect("fail");
        }
    }
    let dead = JobFilter {
        states: vec![JobState::Dead],
        limit: u32::MAX,
        ..JobFilter::default()
    };
    let t = Instant::now();
    let jobs = q.list(&dead).await.expect("list");
    let listed = t.elapsed();
    let t = Instant::now();
    let first = q.retry_many(&jobs).await.expect("retry");
    let retried = t.elapsed();
    let t = Instant::now();
    let second = q.retry_many(&jobs).await.expect("retry again");
    let again = t.elapsed();
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let t = Instant::now();
    let dropped = q.drop_many(&ids, "bench").await.expect("drop");
    let drop_time = t.elapsed();
    println!("| step | rows | time |\n|---|---:|---:|");
    println!("| list dead jobs | {} | {:.1} ms |", jobs.len(), ms(listed));
    println!(
        "| retry_many | {} retried | {:.1} ms |",
        first.retried,
        ms(retried)
    );
    println!(
        "| retry_many again | {} retried | {:.1} ms |",
        second.retried,
        ms(again)
    );
    println!(
        "| drop_many | {dropped} dropped | {:.1} ms |",
        ms(drop_time)
    );
    store.close().await;
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
