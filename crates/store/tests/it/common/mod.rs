//! Runs one test scenario on SQLite (a temp file) and on PostgreSQL (a fresh database created from
//! `DEALBRIDGE_TEST_POSTGRES_URL` and dropped afterwards). Without that variable the PostgreSQL
//! half says SKIPPED loudly and passes.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use dealbridge_store::{ManualClock, Store};
use sqlx::Connection;

/// What a scenario gets: a migrated store on a manual clock, and the URL it was opened with.
pub struct TestDb {
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub url: String,
}

/// A fixed start, so times in assertions are easy to reason about.
pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
    ))
}

pub const PG_ENV: &str = "DEALBRIDGE_TEST_POSTGRES_URL";

/// Runs `f` in its own task so a failing assertion still lets us clean up, then re-raises it.
async fn run_guarded<F, Fut>(db: TestDb, f: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let store = db.store.clone();
    let res = tokio::spawn(f(db)).await;
    store.close().await;
    if let Err(e) = res {
        std::panic::resume_unwind(e.into_panic());
    }
}

pub async fn run_sqlite<F, Fut>(_name: &str, f: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("dealbridge.db").display());
    let clock = clock();
    let store = Store::connect_with_clock(&url, clock.clone())
        .await
        .expect("open the SQLite test store");
    run_guarded(TestDb { store, clock, url }, f).await;
    drop(dir);
}

pub async fn run_postgres<F, Fut>(name: &str, f: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        // Written to the real stderr, past the test harness's capture, so a run without PostgreSQL
        // says so in its output.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED (no {PG_ENV}): {name} on PostgreSQL"
        );
        return;
    };
    let db_name = format!("dealbridge_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {PG_ENV}={admin_url}: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
        .execute(&mut admin)
        .await
        .expect("create the test database");
    let mut url = url::Url::parse(&admin_url).expect("DEALBRIDGE_TEST_POSTGRES_URL is a URL");
    url.set_path(&db_name);
    let url = url.to_string();
    let clock = clock();
    let store = Store::connect_with_clock(&url, clock.clone())
        .await
        .expect("open the PostgreSQL test store");
    run_guarded(TestDb { store, clock, url }, f).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop the test database");
    let _ = admin.close().await;
}

/// `both_backends!(a, b, …)` makes, for each `async fn a(db: TestDb)` in the calling file, a module
/// `a` with tests `sqlite` and `postgres` running it.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::run_sqlite(stringify!($name), super::$name).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::run_postgres(stringify!($name), super::$name).await
            }
        }
    )*};
}
