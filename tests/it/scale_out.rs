//! Scale-out on PostgreSQL: two `dealbridge run` processes share one queue and still make every
//! deal and every contact exactly once.
//!
//! Needs `DEALBRIDGE_TEST_POSTGRES_URL` (a server where the user may create databases; `.ci/run`
//! sets it). Without it the test says SKIPPED on stderr and passes.

use crate::common;

use common::{dealbridge, spawn_world, wait_until, ChildGuard, Tuning};
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::http::Timeouts;
use dealbridge_woocommerce::{NewOrder, WooClient};
use serde_json::{json, Value};
use sqlx::Connection;
use std::collections::BTreeSet;
use std::time::Duration;

const PG_ENV: &str = "DEALBRIDGE_TEST_POSTGRES_URL";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom as the story it checks
async fn two_engines_on_postgres_share_the_queue_without_duplicates() {
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (no {PG_ENV}): two_engines_on_postgres_share_the_queue_without_duplicates"
        );
        return;
    };
    let db_name = format!("dealbridge_e2e_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&db_name);

    let world = spawn_world(Tuning {
        sync: "poll_interval = \"300ms\"\nworkers = 2\nlease = \"5s\"\nbackoff_base = \"50ms\"\nbackoff_max = \"500ms\"\nmax_attempts = 30",
        crm: "",
        ..Tuning::default()
    })
    .await;
    world.edit_file("dealbridge.toml", "sqlite://dealbridge.db", url.as_str());
    // A full re-read every two seconds stands in for the nightly job: with two engines each fire
    // time must run once.
    let mut text = std::fs::read_to_string(&world.config).unwrap();
    text.push_str("\n[schedule.nightly]\ncron = \"*/2 * * * * *\"\nfull = true\n");
    std::fs::write(&world.config, text).unwrap();
    world.crm.handle.faults().set(FaultConfig {
        latency: Duration::from_millis(10),
        drop_after_write_rate: 0.05,
        ..Default::default()
    });
    let shop = WooClient::new(
        &world.shop.base_url,
        "ck_test",
        "cs_test",
        Timeouts::default(),
    )
    .unwrap();
    for i in 0..40 {
        let buyer = i % 9;
        let order: NewOrder = serde_json::from_value(json!({
            "status": "processing",
            "billing": {"first_name": format!("B{buyer}"), "email": format!("b{buyer}@example.com")},
            "line_items": [{"name": "Tea", "sku": "T", "quantity": 1, "subtotal": "10.00", "total": "10.00"}]
        }))
        .unwrap();
        shop.create_order(&order).await.unwrap();
    }

    let mut engines: Vec<ChildGuard> = (0..2)
        .map(|n| {
            let mut cmd = dealbridge();
            cmd.arg("--config").arg(&world.config).arg("run");
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            ChildGuard::spawn(cmd, &format!("engine {n}"))
        })
        .collect();
    let crm = world.crm.handle.clone();
    wait_until("40 deals", Duration::from_secs(60), || {
        let crm = crm.clone();
        async move { crm.deal_count() >= 40 }
    })
    .await;
    // Let in-flight retries settle, then stop both engines gracefully.
    wait_until("no work left", Duration::from_secs(60), || {
        let status = world.cli_json(&["status", "--json"]);
        async move {
            let q = status["queue"].as_array().unwrap().clone();
            let n = |s: &str| {
                q.iter()
                    .find(|r| r[0] == s)
                    .and_then(|r| r[1].as_i64())
                    .unwrap_or(0)
            };
            n("pending") == 0 && n("running") == 0 && n("done") >= 40
        }
    })
    .await;
    // Let the scheduled job fire a few times with both engines up.
    let sched_url = url.to_string();
    wait_until("three scheduled runs", Duration::from_secs(20), || {
        let sched_url = sched_url.clone();
        async move {
            let Ok(mut db) = sqlx::PgConnection::connect(&sched_url).await else {
                return false;
            };
            let n: (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM journal WHERE entity_kind = 'schedule' AND action = 'ran'",
            )
            .fetch_one(&mut db)
            .await
            .unwrap_or((0,));
            n.0 >= 3
        }
    })
    .await;
    for e in &mut engines {
        e.assert_running();
        let status = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(e.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
    for e in &mut engines {
        let code = e
            .wait_exit(Duration::from_secs(15))
            .await
            .expect("engine stops on SIGTERM");
        assert!(code.success(), "{} exited with {code}", e.what);
    }

    let (n, origins) = world.deal_origins();
    assert_eq!(origins.len(), 40);
    assert_eq!(n, 40, "no duplicate deals with two engines");
    assert_eq!(
        world.crm.handle.contacts().len(),
        9,
        "no duplicate contacts with two engines"
    );

    // Both processes did part of the work.
    let jobs: Vec<Value> =
        serde_json::from_value(world.cli_json(&["queue", "list", "--json", "--limit", "200"]))
            .unwrap();
    let owners: BTreeSet<String> = jobs
        .iter()
        .filter_map(|j| j["lease_owner"].as_str())
        .map(|o| o.split('-').nth(1).unwrap_or_default().to_string())
        .collect();
    assert!(owners.len() >= 2, "both engines claimed jobs: {owners:?}");

    // The scheduled job ran, each fire time once, though both engines wake for it.
    let mut db = sqlx::PgConnection::connect(url.as_str()).await.unwrap();
    let runs: Vec<(String,)> = sqlx::query_as(
        "SELECT detail FROM journal WHERE entity_kind = 'schedule' AND action = 'ran' ORDER BY id",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    let fire_times: Vec<String> = runs
        .iter()
        .map(|(d,)| d.split(": read").next().unwrap_or_default().to_string())
        .collect();
    let distinct: BTreeSet<&String> = fire_times.iter().collect();
    assert!(runs.len() >= 2, "the job ran: {fire_times:?}");
    assert_eq!(
        distinct.len(),
        fire_times.len(),
        "each fire time ran once: {fire_times:?}"
    );
    drop(db);

    drop(world);
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}
