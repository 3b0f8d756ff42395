//! Cron jobs (`[schedule.<name>]`): each fire time runs once even with two engines on one
//! database, and a run missed while no engine was up is caught up once at start.

use crate::common;

use chrono::{Duration as ChronoDuration, Utc};
use common::{spawn_world, Tuning};
use dealbridge::app::App;
use dealbridge::sync::schedule::Fired;
use dealbridge_store::EntityKind;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn runs(store: &dealbridge_store::Store, job: &str) -> Vec<String> {
    store
        .journal_for(EntityKind::Schedule, job)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "ran")
        .map(|r| r.detail.unwrap_or_default())
        .map(|d| d.split(": read").next().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_run_each_fire_time_once() {
    let w = spawn_world(Tuning {
        sync: "poll_interval = \"1h\"",
        crm: "",
        ..Tuning::default()
    })
    .await;
    let mut text = std::fs::read_to_string(&w.config).unwrap();
    text.push_str("\n[schedule.often]\ncron = \"* * * * * *\"\nfull = true\n");
    std::fs::write(&w.config, text).unwrap();
    w.shop.handle.seed_orders(3, 1);

    let a = App::load(&w.config).await.unwrap();
    let b = App::load(&w.config).await.unwrap();
    let (store_a, store_b) = (a.store.clone(), b.store.clone());
    let (engine_a, engine_b) = (Arc::new(a.engine), Arc::new(b.engine));
    // Both engines fire the same time concurrently, as two processes would.
    let job_a = engine_a.schedules[0].clone();
    let job_b = engine_b.schedules[0].clone();
    let at = Utc::now();
    let (ra, rb) = tokio::join!(job_a.fire(&store_a, at), job_b.fire(&store_b, at));
    let mut outcomes = [ra.unwrap(), rb.unwrap()];
    outcomes.sort_by_key(|f| *f == Fired::Ran);
    assert_eq!(
        outcomes,
        [Fired::RanElsewhere, Fired::Ran],
        "exactly one ran"
    );
    // A late second process for the same time skips it too.
    assert_eq!(job_b.fire(&store_b, at).await.unwrap(), Fired::RanElsewhere);

    // And in the running engines, every second for a few seconds.
    let stop = CancellationToken::new();
    let ea = tokio::spawn(engine_a.run(stop.clone()));
    let eb = tokio::spawn(engine_b.run(stop.clone()));
    tokio::time::sleep(Duration::from_millis(3500)).await;
    stop.cancel();
    ea.await.unwrap().unwrap();
    eb.await.unwrap().unwrap();
    let fired = runs(&store_a, "often").await;
    let distinct: BTreeSet<&String> = fired.iter().collect();
    assert!(fired.len() >= 3, "ran every second: {fired:?}");
    assert_eq!(
        distinct.len(),
        fired.len(),
        "each fire time once: {fired:?}"
    );
    // The run's full poll queued the orders, and the workers wrote them.
    assert_eq!(w.crm.handle.deal_count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_missed_while_down_is_caught_up_once_at_start() {
    let w = spawn_world(Tuning {
        sync: "poll_interval = \"1h\"",
        crm: "",
        ..Tuning::default()
    })
    .await;
    let mut text = std::fs::read_to_string(&w.config).unwrap();
    text.push_str(
        "\n[schedule.nightly]\ncron = \"0 3 * * *\"\ntime_zone = \"Europe/Moscow\"\ncatch_up = true\n",
    );
    std::fs::write(&w.config, text).unwrap();
    w.shop.handle.seed_orders(2, 5);
    let app = App::load(&w.config).await.unwrap();
    let store = app.store.clone();
    // The engine last ran the job three days ago.
    let last = Utc::now() - ChronoDuration::days(3);
    store
        .set_cursor("schedule:nightly:last_run", &last.to_rfc3339())
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(Arc::new(app.engine).run(stop.clone()));
    common::wait_until("the catch-up run", Duration::from_secs(10), || {
        let crm = w.crm.handle.clone();
        async move { crm.deal_count() == 2 }
    })
    .await;
    stop.cancel();
    task.await.unwrap().unwrap();
    let fired = runs(&store, "nightly").await;
    assert_eq!(
        fired.len(),
        1,
        "one catch-up run for three missed nights: {fired:?}"
    );
    // It ran for the latest missed 03:00 Moscow time (00:00 UTC).
    assert!(fired[0].contains("T00:00:00"), "{fired:?}");
}
