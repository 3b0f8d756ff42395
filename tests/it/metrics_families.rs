//! The metric families beyond API requests and jobs, each checked with real values after a real
//! scenario against `dealbridge run` (the real binary, so its recorder counts only its own
//! work): queue depth and oldest pending job per flow while the CRM refuses every write, poll
//! lag, API retries, 1C exchange files and import durations over HTTP, catalog items pushed
//! against what the Bitrix24 emulator received; then the console's Overview shows the flow's
//! cursor lag and the last 1C exchange, and promtool accepts the exposition.

use crate::common;
use crate::metrics::{
    create_orders, no_label_carries_an_id, parse, promtool_check, scrape, sum, Sample,
};

use common::{dealbridge, free_port, spawn_world, wait_until, ChildGuard, Tuning, World};
use dealbridge_commerceml::exchange_client::{
    run_catalog_exchange, run_sale_exchange, ClientOptions,
};
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_store::Store;
use std::path::PathBuf;
use std::time::Duration;

/// Orders placed while the CRM refuses every write.
const ORDERS: usize = 4;
const TOKEN: &str = "metr1cs-t0ken";

/// The value of the one series of `name` with all of `with`.
fn value(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && with
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// The world's config with a fixed port, the console's token, the 1C endpoint and a catalog
/// flow pushing 1C's catalog to the CRM after each exchange.
fn configure(world: &World) -> u16 {
    let port = free_port();
    world.edit_file(
        "dealbridge.toml",
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\"\nconsole_token = \"{TOKEN}\""),
    );
    let mut text = std::fs::read_to_string(&world.config).unwrap();
    text.push_str("\n[exchange_1c]\nlogin = \"site\"\npassword = \"secret-1c\"\n");
    text.push_str(
        "\n[[catalog]]\nname = \"products\"\nto = \"crm\"\nmapping = \"mappings/1c-bitrix24.toml\"\n",
    );
    std::fs::write(&world.config, text).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/1c-bitrix24.toml"),
        world.dir.path().join("mappings/1c-bitrix24.toml"),
    )
    .unwrap();
    port
}

async fn open_store(world: &World) -> Store {
    Store::connect(&format!(
        "sqlite://{}",
        world.dir.path().join("dealbridge.db").display()
    ))
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_counts_a_real_scenario_and_the_overview_shows_lag_and_the_last_exchange() {
    let world = spawn_world(Tuning {
        // One poll at start: no later pass queues a second job for an order whose first one
        // is running, so the queue holds exactly one job per order.
        sync: "poll_interval = \"1h\"\nbackoff_base = \"1s\"\nbackoff_max = \"2s\"\nmax_attempts = 100",
        ..Tuning::default()
    })
    .await;
    let port = configure(&world);
    // The CRM refuses every call: the orders' jobs wait in the queue.
    world.crm.handle.faults().set(FaultConfig {
        error_rate: 1.0,
        ..Default::default()
    });
    create_orders(&world.shop.base_url, ORDERS).await;

    let mut cmd = dealbridge();
    cmd.arg("--config").arg(&world.config).arg("run");
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut engine = ChildGuard::spawn(cmd, "dealbridge run");
    let url = format!("http://127.0.0.1:{port}/metrics");
    wait_until("the server", Duration::from_secs(10), || {
        let url = url.clone();
        async move { reqwest::get(url).await.is_ok() }
    })
    .await;
    let store = open_store(&world).await;

    waiting_jobs_per_flow(&url, &store).await;
    engine.assert_running();

    // The CRM answers again: the jobs drain.
    world.crm.handle.faults().set(FaultConfig::default());
    let crm = world.crm.handle.clone();
    wait_until("every order as a deal", Duration::from_secs(60), || {
        let crm = crm.clone();
        async move { crm.deal_count() == ORDERS }
    })
    .await;

    exchanges_with_1c(&world, port).await;
    let samples = catalog_pushed(&world, &url).await;
    let text = scrape(&url).await;
    check_exchange_files(&samples, &text);
    overview_shows_lag_and_exchange(port, &store).await;

    no_label_carries_an_id(&parse(&text));
    promtool_check(&text);
    store.close().await;
    engine.assert_running();
}

/// While every CRM write fails: `dealbridge_queue_depth{flow="orders"}` is the queue's own count
/// of pending and running jobs, the oldest of them ages, nothing counts under `none`; the poll
/// lag counts from the one poll at start and grows; the refused calls are retried.
async fn waiting_jobs_per_flow(url: &str, store: &Store) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let samples = loop {
        let samples = parse(&scrape(url).await);
        let depth = value(&samples, "dealbridge_queue_depth", &[("flow", "orders")]);
        let age = value(
            &samples,
            "dealbridge_oldest_pending_job_age_seconds",
            &[("flow", "orders")],
        );
        let retried = sum(
            &samples,
            "dealbridge_api_retries_total",
            &[("system", "bitrix24")],
        );
        if depth == Some(ORDERS as f64) && age.is_some_and(|a| a > 0.0) && retried > 0 {
            break samples;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no depth of {ORDERS} for flow orders with refused calls retried within 30 s: {depth:?}, age {age:?}, retries {retried}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(
        store.queue().pending_count().await.unwrap(),
        ORDERS as i64,
        "the gauge is the queue's own count"
    );
    assert_eq!(
        value(&samples, "dealbridge_queue_depth", &[("flow", "none")]),
        Some(0.0)
    );
    let lag = value(
        &samples,
        "dealbridge_poll_lag_seconds",
        &[("flow", "orders")],
    )
    .expect("a poll lag once the flow polled");
    assert!((0.0..60.0).contains(&lag), "poll lag {lag}");
    // Polled once an hour: the lag grows between scrapes.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = value(
        &parse(&scrape(url).await),
        "dealbridge_poll_lag_seconds",
        &[("flow", "orders")],
    )
    .unwrap();
    assert!(later >= lag + 1.0, "lag {lag} then {later}");
}

/// 1C sends a catalog with a broken file (refused), then the real catalog (two files), then a
/// sale exchange with one (empty) documents file, all over HTTP.
async fn exchanges_with_1c(world: &World, port: u16) {
    let url = format!("http://127.0.0.1:{port}/1c/exchange");
    let opts = ClientOptions::new(&url, "site", "secret-1c");
    let broken = world.dir.path().join("broken.xml");
    std::fs::write(
        &broken,
        "<?xml version=\"1.0\"?><КоммерческаяИнформация><Каталог",
    )
    .unwrap();
    assert!(
        run_catalog_exchange(&opts, &[broken]).await.is_err(),
        "a broken file fails its import"
    );
    let fixtures =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onec/carono-ut11-2.07");
    run_catalog_exchange(
        &opts,
        &[fixtures.join("import.xml"), fixtures.join("offers.xml")],
    )
    .await
    .unwrap_or_else(|e| panic!("catalog exchange failed: {e}"));
    let empty = dealbridge_commerceml::writer::write_orders(&[], &Default::default()).unwrap();
    let sale = world.dir.path().join("from-1c.xml");
    std::fs::write(&sale, empty).unwrap();
    run_sale_exchange(&opts, &[sale])
        .await
        .unwrap_or_else(|e| panic!("sale exchange failed: {e}"));
}

/// The catalog pushed after the exchange: `created` equals the products the emulator holds, and
/// nothing else was pushed (a first push creates every item).
async fn catalog_pushed(world: &World, url: &str) -> Vec<Sample> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let samples = parse(&scrape(url).await);
        let in_crm = world.crm.handle.products().len() as u64;
        let created = sum(
            &samples,
            "dealbridge_catalog_items_pushed_total",
            &[
                ("catalog", "products"),
                ("system", "crm"),
                ("action", "created"),
            ],
        );
        if in_crm > 0 && created == in_crm {
            let all = sum(
                &samples,
                "dealbridge_catalog_items_pushed_total",
                &[("catalog", "products")],
            );
            assert_eq!(all, created, "a first push only creates");
            return samples;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "catalog pushed {created}, the CRM holds {in_crm}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Files by type and outcome, and one import duration per file.
fn check_exchange_files(samples: &[Sample], text: &str) {
    let files = |t: &str, outcome: &str| {
        sum(
            samples,
            "dealbridge_exchange_1c_files_total",
            &[("type", t), ("outcome", outcome)],
        )
    };
    assert_eq!(files("catalog", "ok"), 2, "{text}");
    assert_eq!(files("catalog", "failed"), 1, "{text}");
    assert_eq!(files("sale", "ok"), 1, "{text}");
    assert_eq!(files("sale", "failed"), 0, "{text}");
    let durations = |t: &str| {
        sum(
            samples,
            "dealbridge_exchange_1c_import_duration_seconds_count",
            &[("type", t)],
        )
    };
    assert_eq!((durations("catalog"), durations("sale")), (3, 1), "{text}");
}

/// The Overview (after logging in): the orders flow's last successful poll and its cursor as the
/// store holds it; the last catalog exchange with both files imported, and the sale exchange.
async fn overview_shows_lag_and_exchange(port: u16, store: &Store) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let login = http
        .post(format!("{base}/login"))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = http
        .get(format!("{base}/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cursor = store
        .cursor("flow:orders:orders_modified_after")
        .await
        .unwrap()
        .expect("the poll moved its cursor");
    assert!(page.contains("cursor lag"), "{page}");
    assert!(page.contains(&format!("{cursor} (moved ")), "{page}");
    assert!(
        page.contains(" ago)</td>"),
        "last successful poll and how long ago: {page}"
    );
    let exchange = &page[page.find("Last 1C exchange").expect("the section")..];
    for want in [
        "catalog",
        "import.xml",
        "offers.xml",
        "sale",
        "from-1c.xml",
        "class=ok>ok",
    ] {
        assert!(exchange.contains(want), "{want} in {exchange}");
    }
    assert!(
        !exchange.contains("broken.xml"),
        "only the newest catalog exchange: {exchange}"
    );
}

/// `DEALBRIDGE_METRICS=off`: no recorder, so the poll's API requests are not counted; the
/// cached database gauges and the loops are still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_off_serves_the_database_gauges_only() {
    let world = spawn_world(Tuning {
        sync: "poll_interval = \"200ms\"",
        ..Tuning::default()
    })
    .await;
    let port = free_port();
    world.edit_file(
        "dealbridge.toml",
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let mut cmd = dealbridge();
    cmd.env("DEALBRIDGE_METRICS", "off")
        .arg("--config")
        .arg(&world.config)
        .arg("run");
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut engine = ChildGuard::spawn(cmd, "dealbridge run");
    let url = format!("http://127.0.0.1:{port}/metrics");
    let shop = world.shop.handle.clone();
    wait_until("a few polls answered", Duration::from_secs(20), || {
        let (url, shop) = (url.clone(), shop.clone());
        async move {
            let polled: u64 = shop.counters().snapshot().values().map(|c| c.calls).sum();
            polled >= 3 && reqwest::get(url).await.is_ok()
        }
    })
    .await;
    let text = scrape(&url).await;
    let samples = parse(&text);
    assert!(
        !samples
            .iter()
            .any(|s| s.name.starts_with("dealbridge_api_requests")),
        "{text}"
    );
    assert_eq!(
        value(&samples, "dealbridge_queue_depth", &[("flow", "orders")]),
        Some(0.0),
        "{text}"
    );
    assert!(
        samples
            .iter()
            .any(|s| s.name == "dealbridge_poll_lag_seconds"),
        "{text}"
    );
    engine.assert_running();
}
