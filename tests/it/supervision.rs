//! Supervised loops under a real store failure: `run`'s workers ride out a locked SQLite file
//! and finish the queue afterwards, and `/healthz` says 503 (naming the loop) while they fail
//! and 200 once they recover. Real parts throughout: a SQLite file, the emulators over loopback
//! HTTP, the server's router with the engine's real `Health` over loopback HTTP.

use crate::common;

use common::{spawn_world, wait_until, Tuning};
use dealbridge::app::App;
use dealbridge::server::{router, AppState};
use dealbridge::sync::supervisor::Backoff;
use dealbridge_sdk::http::Timeouts;
use dealbridge_woocommerce::{NewOrder, WooClient};
use serde_json::{json, Value};
use sqlx::Connection;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const ORDERS: usize = 8;

async fn create_orders(base_url: &str, n: usize) {
    let shop = WooClient::new(base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    for i in 0..n {
        let order: NewOrder = serde_json::from_value(json!({
            "status": "processing",
            "billing": {"first_name": format!("S{i}"), "email": format!("s{i}@example.com")},
            "line_items": [{"name": "Tea", "sku": "T", "quantity": 1, "subtotal": "10.00", "total": "10.00"}]
        }))
        .unwrap();
        shop.create_order(&order).await.unwrap();
    }
}

/// GET `url`: status code and body.
async fn get(http: &reqwest::Client, url: &str) -> (u16, String) {
    match http.get(url).send().await {
        Ok(r) => {
            let code = r.status().as_u16();
            (code, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    }
}

/// Polls `url` until it answers `code`; returns that answer's body. Panics with the last answer
/// after `timeout`.
async fn wait_for(http: &reqwest::Client, url: &str, code: u16, timeout: Duration) -> String {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let (got, body) = get(http, url).await;
        if got == code {
            return body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{url} did not answer {code} within {timeout:?}; last: {got} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_survive_a_locked_database_and_healthz_says_so_until_they_recover() {
    let world = spawn_world(Tuning {
        // One poll at start is all this test wants from the poller.
        sync: "poll_interval = \"1h\"\nworkers = 2",
        ..Tuning::default()
    })
    .await;
    create_orders(&world.shop.base_url, ORDERS).await;
    let mut app = App::load(&world.config).await.unwrap();
    app.engine.settings.unhealthy_after = Duration::from_secs(1);
    app.engine.settings.loop_backoff = Backoff {
        first: Duration::from_millis(200),
        max: Duration::from_secs(1),
    };
    // The jobs are queued before the lock, so what fails is the workers' `claim`.
    let report = app.engine.flows[0].poll(&app.store, false).await.unwrap();
    assert_eq!(report.queued, ORDERS as u64, "{report:?}");

    // Another connection takes the write lock and keeps it past the pool's busy timeout (10 s):
    // every write of the engine fails with "database is locked" meanwhile; reads still work
    // (WAL), so `/healthz` could still reach the database and must rely on the loops' health.
    let db = world.dir.path().join("dealbridge.db");
    assert!(db.exists(), "the engine's database is {}", db.display());
    let mut locker = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut locker)
        .await
        .unwrap();

    let stop = CancellationToken::new();
    let health = app.engine.health.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes = router(AppState {
        store: app.store.clone(),
        health: Some(health.clone()),
    });
    let server_stop = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, routes)
            .with_graceful_shutdown(async move { server_stop.cancelled().await })
            .await
    });
    let engine = Arc::new(app.engine);
    let running = tokio::spawn(engine.clone().run(stop.clone()));

    let http = reqwest::Client::new();
    let healthz = format!("{base}/healthz");
    let reason = wait_for(&http, &healthz, 503, Duration::from_secs(60)).await;
    assert!(
        reason.contains("loop `worker-") && reason.contains("database is locked"),
        "the reason names the failing worker and its error: {reason}"
    );
    assert!(reason.contains("failing since 20"), "{reason}");
    assert_eq!(
        world.crm.handle.deal_count(),
        0,
        "nothing written while locked"
    );
    assert!(!running.is_finished(), "run is still going");

    // The lock goes; the same workers (never restarted by hand) drain the queue.
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    locker.close().await.unwrap();
    wait_until(
        "every queued order to become a deal",
        Duration::from_secs(60),
        || async { world.crm.handle.deal_count() == ORDERS },
    )
    .await;
    wait_for(&http, &healthz, 200, Duration::from_secs(30)).await;

    // `/status` lists each loop with its last success and the error it recovered from.
    let (code, body) = get(&http, &format!("{base}/status")).await;
    assert_eq!(code, 200, "{body}");
    let status: Value = serde_json::from_str(&body).unwrap();
    let queue = status["queue"].as_array().unwrap();
    let jobs = |state: &str| {
        queue
            .iter()
            .find(|row| row[0] == state)
            .map_or(0, |row| row[1].as_i64().unwrap())
    };
    // The poller's retry after the lock re-reads the overlap and may queue an order again; that
    // job finds its deal already right. Every job ends done, none dead, one deal per order.
    assert!(jobs("done") >= ORDERS as i64, "{body}");
    assert_eq!(world.crm.handle.deal_count(), ORDERS);
    assert_eq!(
        jobs("pending") + jobs("running") + jobs("dead"),
        0,
        "{body}"
    );
    let loops = status["loops"].as_array().expect("loops in /status");
    let names: Vec<&str> = loops.iter().map(|l| l["name"].as_str().unwrap()).collect();
    for name in ["worker-0", "worker-1", "poll:orders", "inbox", "retention"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let worker = loops.iter().find(|l| l["name"] == "worker-0").unwrap();
    assert!(worker["last_success"].is_string(), "{worker}");
    assert!(worker["failing_since"].is_null(), "{worker}");
    assert!(
        worker["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("database is locked")),
        "{worker}"
    );
    let page = http
        .get(format!("{base}/status"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("loops:") && page.contains("worker-0"),
        "{page}"
    );

    stop.cancel();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("run stops on shutdown")
        .unwrap()
        .unwrap();
    server.await.unwrap().unwrap();
}
