//! Supervised loops under a real store failure: `run`'s workers ride out a locked SQLite file
//! (or a PostgreSQL database refusing connections) and finish the queue afterwards, and
//! `/healthz` says 503 (naming the loop) while they fail and 200 once they recover. Real parts
//! throughout: the database, the emulators over loopback HTTP, the server's router with the
//! engine's real `Health` over loopback HTTP.
//!
//! The PostgreSQL variant needs `DEALBRIDGE_TEST_POSTGRES_URL` (a server where the user may
//! create databases); without it the test says SKIPPED on stderr and passes.

use crate::common;

use common::{spawn_world, wait_until, Tuning};
use dealbridge::app::App;
use dealbridge::server::{router, AppState};
use dealbridge::sync::supervisor::Backoff;
use dealbridge::sync::SyncError;
use dealbridge_sdk::http::Timeouts;
use dealbridge_woocommerce::{NewOrder, WooClient};
use serde_json::{json, Value};
use sqlx::Connection;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
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

/// Loads the engine of `world` with a quick health bound and backoff, and queues every order
/// (before any failure, so what fails is the workers' `claim`).
async fn load_and_queue(world: &common::World) -> App {
    let mut app = App::load(&world.config).await.unwrap();
    app.engine.settings.unhealthy_after = Duration::from_secs(1);
    app.engine.settings.loop_backoff = Backoff {
        first: Duration::from_millis(200),
        max: Duration::from_secs(1),
    };
    let report = app.engine.flows[0].poll(&app.store, false).await.unwrap();
    assert_eq!(report.queued, ORDERS as u64, "{report:?}");
    app
}

/// `dealbridge run` in-process: the engine and the server's router (with its real `Health`)
/// on a loopback port.
struct Running {
    base: String,
    http: reqwest::Client,
    stop: CancellationToken,
    engine: JoinHandle<Result<(), SyncError>>,
    server: JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn start(app: App) -> Running {
        let stop = CancellationToken::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes = router(AppState::new(
            app.store.clone(),
            Some(app.engine.health.clone()),
        ));
        let server_stop = stop.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, routes)
                .with_graceful_shutdown(async move { server_stop.cancelled().await })
                .await
        });
        let engine = tokio::spawn(Arc::new(app.engine).run(stop.clone()));
        Running {
            base,
            http: reqwest::Client::new(),
            stop,
            engine,
            server,
        }
    }

    /// Waits for `/healthz` to answer 503 naming a failing worker; returns the reason.
    async fn wait_unhealthy(&self) -> String {
        let healthz = format!("{}/healthz", self.base);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            // Before a worker's failure is recorded, a 503 may come from the database check.
            let reason = wait_for(&self.http, &healthz, 503, Duration::from_secs(60)).await;
            if reason.contains("loop `worker-") {
                assert!(reason.contains("failing since 20"), "{reason}");
                assert!(!self.engine.is_finished(), "run is still going");
                return reason;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no failing worker named: {reason}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// After the failure: every order a deal, `/healthz` 200, `/status` listing each loop and
    /// the worker's recovered error (containing `error`); then a clean shutdown.
    async fn assert_recovered(self, world: &common::World, error: &str) {
        wait_until(
            "every queued order to become a deal",
            Duration::from_secs(60),
            || async { world.crm.handle.deal_count() == ORDERS },
        )
        .await;
        let healthz = format!("{}/healthz", self.base);
        wait_for(&self.http, &healthz, 200, Duration::from_secs(30)).await;
        // The poller's retry after the failure re-reads the overlap and may queue an order
        // again; that job finds its deal already right. Every job ends done, none dead, one
        // deal per order.
        let status_url = format!("{}/status", self.base);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let (body, status) = loop {
            let (code, body) = get(&self.http, &status_url).await;
            assert_eq!(code, 200, "{body}");
            let status: Value = serde_json::from_str(&body).unwrap();
            if jobs(&status, "pending") + jobs(&status, "running") == 0 {
                break (body, status);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "queue not drained: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(jobs(&status, "done") >= ORDERS as i64, "{body}");
        assert_eq!(jobs(&status, "dead"), 0, "{body}");
        assert_eq!(world.crm.handle.deal_count(), ORDERS);
        let loops = status["loops"].as_array().expect("loops in /status");
        let names: Vec<&str> = loops.iter().map(|l| l["name"].as_str().unwrap()).collect();
        for name in ["worker-0", "worker-1", "poll:orders", "inbox", "retention"] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        let worker = loops.iter().find(|l| l["name"] == "worker-0").unwrap();
        assert!(worker["last_success"].is_string(), "{worker}");
        assert!(worker["failing_since"].is_null(), "{worker}");
        let last_error = worker["last_error"].as_str().unwrap_or_default();
        assert!(last_error.contains(error), "{worker}");
        let page = self
            .http
            .get(&status_url)
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
        let (_, metrics) = get(&self.http, &format!("{}/metrics", self.base)).await;
        let gauge = "dealbridge_loop_failures{loop=\"worker-0\"} 0";
        assert!(metrics.contains(gauge), "{metrics}");

        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.engine)
            .await
            .expect("run stops on shutdown")
            .unwrap()
            .unwrap();
        self.server.await.unwrap().unwrap();
    }
}

/// Jobs in `state` in a `/status` report.
fn jobs(status: &Value, state: &str) -> i64 {
    status["queue"]
        .as_array()
        .and_then(|q| q.iter().find(|row| row[0] == state))
        .map_or(0, |row| row[1].as_i64().unwrap_or(0))
}

/// One poll at start is all these tests want from the poller; a job left claimed by a dropped
/// connection is taken again soon.
const SYNC: &str = "poll_interval = \"1h\"\nworkers = 2\nlease = \"3s\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_survive_a_locked_database_and_healthz_says_so_until_they_recover() {
    let world = spawn_world(Tuning {
        sync: SYNC,
        ..Tuning::default()
    })
    .await;
    create_orders(&world.shop.base_url, ORDERS).await;
    let app = load_and_queue(&world).await;

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

    let run = Running::start(app).await;
    let reason = run.wait_unhealthy().await;
    assert!(reason.contains("database is locked"), "{reason}");
    let written = world.crm.handle.deal_count();
    assert_eq!(written, 0, "nothing written while locked");

    // The lock goes; the same workers (never restarted by hand) drain the queue.
    sqlx::query("ROLLBACK").execute(&mut locker).await.unwrap();
    locker.close().await.unwrap();
    run.assert_recovered(&world, "database is locked").await;
}

const PG_ENV: &str = "DEALBRIDGE_TEST_POSTGRES_URL";

/// PostgreSQL's answer to a connection while `ALLOW_CONNECTIONS` is false.
const REFUSED: &str = "is not currently accepting connections";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_survive_postgres_refusing_connections_and_finish_the_queue() {
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (no {PG_ENV}): workers_survive_postgres_refusing_connections_and_finish_the_queue"
        );
        return;
    };
    let db_name = format!("dealbridge_sup_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect to PostgreSQL");
    let admin_sql = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    admin_sql(format!("CREATE DATABASE {db_name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&db_name);
    let world = spawn_world(Tuning {
        sync: SYNC,
        ..Tuning::default()
    })
    .await;
    world.edit_file("dealbridge.toml", "sqlite://dealbridge.db", url.as_str());
    create_orders(&world.shop.base_url, ORDERS).await;
    let app = load_and_queue(&world).await;

    // The database stops taking connections and the pool's are cut: every query of the engine
    // fails (a refused connection, then the pool's acquire timeout) until it is allowed again.
    admin_sql(format!("ALTER DATABASE {db_name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .await
        .unwrap();
    admin_sql(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db_name}'"
    ))
    .execute(&mut admin)
    .await
    .unwrap();

    let run = Running::start(app).await;
    let reason = run.wait_unhealthy().await;
    assert!(reason.contains(REFUSED), "{reason}");
    assert_eq!(
        world.crm.handle.deal_count(),
        0,
        "nothing written while refused"
    );

    admin_sql(format!("ALTER DATABASE {db_name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    run.assert_recovered(&world, REFUSED).await;
    admin_sql(format!("DROP DATABASE {db_name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
}
