//! The shared client layer as the engine wires it: `rate_limit_per_second` reaches every
//! system's client (WooCommerce and Shopify included) through `App::load`; a Bitrix24 OAuth
//! refresh is saved before the new token is used, so a `dealbridge run` killed right then leaves
//! a database the next start refreshes from; and the payments jobs 1C's documents queue honour
//! `[sync] max_attempts`.

use crate::common;
use dealbridge_commerceml::ExchangeType;

use common::{dealbridge, spawn_world, wait_until, ChildGuard, Tuning};
use dealbridge::app::App;
use dealbridge::onec::endpoint::ExchangeImporter;
use dealbridge::onec::exchange::StoreImporter;
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::traits::OrderSource;
use dealbridge_woocommerce::{NewOrder, WooClient};
use serde_json::json;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests made through the app's client in each rate test.
const REQUESTS: usize = 15;

/// Asserts the arrivals a `per_second`/`burst` limit allows: spread over at least
/// `(REQUESTS - burst) / per_second` seconds (less a little), and never more than
/// `burst + per_second` in any one-second window.
fn assert_rate(arrivals: &[Instant], per_second: u32, burst: u32) {
    assert_eq!(
        arrivals.len(),
        REQUESTS,
        "each request reached the emulator"
    );
    let span = arrivals[REQUESTS - 1] - arrivals[0];
    let floor =
        Duration::from_secs_f64((REQUESTS as f64 - f64::from(burst)) / f64::from(per_second));
    assert!(
        span >= floor.mul_f64(0.9),
        "{REQUESTS} requests at {per_second}/s (burst {burst}) took only {span:?}"
    );
    let most = arrivals
        .iter()
        .map(|t| {
            arrivals
                .iter()
                .filter(|u| **u >= *t && **u - *t < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(
        most <= (burst + per_second) as usize,
        "{most} requests in one second at {per_second}/s burst {burst}"
    );
}

/// The order source of the app's only flow, as `App::load` built it from the config.
fn source_of(app: &App) -> Arc<dyn OrderSource> {
    app.engine.flows[0].source.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_per_second_bounds_what_the_woocommerce_shop_sees() {
    let w = spawn_world(Tuning::default()).await;
    w.edit_file(
        "dealbridge.toml",
        "consumer_secret = \"cs_test\"",
        "consumer_secret = \"cs_test\"\nrate_limit_per_second = 5\nrate_limit_burst = 1",
    );
    let id = w.shop.handle.seed_orders(1, 7)[0].to_string();
    let app = App::load(&w.config).await.unwrap();
    let source = source_of(&app);
    w.shop.handle.counters().reset();
    for _ in 0..REQUESTS {
        assert!(source.order(&id).await.unwrap().is_some());
    }
    assert_rate(&w.shop.handle.counters().arrivals(), 5, 1);
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_per_second_bounds_what_the_shopify_shop_sees() {
    use dealbridge_bitrix24::emulator as b24;
    use dealbridge_shopify::emulator as shopify;
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let shop = shopify::spawn(shopify::EmulatorConfig::default(), any)
        .await
        .unwrap();
    let crm = b24::spawn(b24::EmulatorConfig::default(), any)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/mappings/shopify-bitrix24.toml"
        ),
        dir.path().join("mappings/shopify-bitrix24.toml"),
    )
    .unwrap();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"[database]
url = "sqlite://dealbridge.db"
[server]
listen = "127.0.0.1:0"
[systems.shop]
kind = "shopify"
base_url = "{}"
access_token = "shpat_test"
rate_limit_per_second = 4
rate_limit_burst = 2
[systems.crm]
kind = "bitrix24"
webhook_url = "{}"
[[flows]]
name = "orders"
from = "shop"
to = "crm"
entities = ["order"]
mapping = "mappings/shopify-bitrix24.toml"
"#,
            shop.base_url, crm.webhook_url
        ),
    )
    .unwrap();
    let id = shop.handle.seed_orders(1, 7)[0].to_string();
    let app = App::load(&config).await.unwrap();
    let source = source_of(&app);
    shop.handle.counters().reset();
    for _ in 0..REQUESTS {
        assert!(source.order(&id).await.unwrap().is_some());
    }
    // 15 calls stay far inside the shop's own bucket (40): the spacing is the configured limit's.
    assert_rate(&shop.handle.counters().arrivals(), 4, 2);
    app.store.close().await;
    shop.shutdown().await;
    crm.shutdown().await;
}

async fn order(base_url: &str, n: usize) {
    let client = WooClient::new(base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    let order: NewOrder = serde_json::from_value(json!({
        "status": "processing",
        "billing": {"first_name": format!("O{n}"), "email": format!("o{n}@example.com")},
        "line_items": [{"name": "Tea", "sku": "T-1", "quantity": 1, "subtotal": "10.00", "total": "10.00"}]
    }))
    .unwrap();
    client.create_order(&order).await.unwrap();
}

/// Starts `dealbridge run` on the world's config, logging to `log`.
fn run(config: &std::path::Path, log: &std::path::Path) -> ChildGuard {
    let mut cmd = dealbridge();
    cmd.arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    ChildGuard::spawn(cmd, "dealbridge run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_right_after_a_bitrix24_token_refresh_restarts_with_the_new_pair() {
    let w = spawn_world(Tuning {
        // A short lease: the killed run's claimed job is free again soon after the restart.
        sync: "poll_interval = \"200ms\"\nlease = \"1s\"",
        ..Tuning::default()
    })
    .await;
    let portal = format!("http://{}", w.crm.addr);
    w.crm
        .handle
        .enable_oauth("local.app", "app-secret", "at-1", "rt-1");
    w.edit_file(
        "dealbridge.toml",
        &format!("webhook_url = \"{}\"", w.crm.webhook_url),
        &format!(
            "portal_url = \"{portal}\"\nclient_id = \"local.app\"\nclient_secret = \"app-secret\"\naccess_token = \"at-1\"\nrefresh_token = \"rt-1\"\noauth_token_url = \"{portal}/oauth/token/\""
        ),
    );
    // The config's access token has expired: the first call refreshes, and Bitrix24 revokes
    // rt-1 as it issues the new pair.
    w.crm.handle.expire_access_token();
    // The first call with the new token is held, so the kill lands while it is in flight:
    // nothing after the token's first use has run.
    w.crm
        .handle
        .hold_calls_with_refreshed_tokens(Duration::from_secs(30));
    order(&w.shop.base_url, 1).await;
    let log = w.dir.path().join("run-1.log");
    let mut first = run(&w.config, &log);
    wait_until(
        "the new token's first use",
        Duration::from_secs(30),
        || async { w.crm.handle.refreshed_token_uses() > 0 },
    )
    .await;
    first.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    first.child.wait().unwrap();
    let (_, newest) = w.crm.handle.oauth_tokens().unwrap();
    assert_ne!(newest, "rt-1", "the emulator rotated the refresh token");
    assert_eq!(
        w.crm.handle.deal_count(),
        0,
        "killed before the deal was written"
    );

    // The hour passes again; the next start must refresh with the newest refresh token, which
    // only the database can hold (the config's rt-1 is revoked).
    w.crm.handle.expire_access_token();
    w.crm
        .handle
        .hold_calls_with_refreshed_tokens(Duration::ZERO);
    let log2 = w.dir.path().join("run-2.log");
    let _second = run(&w.config, &log2);
    let deadline = Instant::now() + Duration::from_secs(30);
    while w.crm.handle.deal_count() == 0 {
        assert!(
            Instant::now() < deadline,
            "no deal written after the restart; its log:\n{}\nthe first run's:\n{}",
            std::fs::read_to_string(&log2).unwrap_or_default(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, after) = w.crm.handle.oauth_tokens().unwrap();
    assert_ne!(after, newest, "the restart refreshed with the saved pair");
    let logs = std::fs::read_to_string(&log2).unwrap_or_default();
    assert!(!logs.contains("invalid_grant"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_from_1c_honour_the_configured_max_attempts() {
    let w = spawn_world(Tuning {
        sync: "max_attempts = 2\nbackoff_base = \"10ms\"\nbackoff_max = \"10ms\"",
        crm: "paid_amount_field = \"UF_CRM_PAID\"",
        ..Tuning::default()
    })
    .await;
    w.edit_file(
        "dealbridge.toml",
        "entities = [\"order\"]",
        "entities = [\"order\", \"payment\"]",
    );
    order(&w.shop.base_url, 1).await;
    let app = App::load(&w.config).await.unwrap();
    let s = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!((s.created, s.dead), (1, 0), "{s:?}");

    // 1C takes the order and answers with a payment, through the exchange's importer as
    // `dealbridge run` builds it.
    let importer = StoreImporter::new(app.store.clone(), dealbridge::app::payments_queue(&app));
    let offered = importer.orders_for_export().await.unwrap();
    let exported = offered[0].clone();
    importer
        .mark_exported(std::slice::from_ref(&exported.source.id))
        .await
        .unwrap();
    let file = w.dir.path().join("from-1c.xml");
    std::fs::write(&file, answer_from_1c(&exported)).unwrap();
    importer
        .import_file(ExchangeType::Sale, &file)
        .await
        .unwrap();

    // The CRM fails every call from now on: the payments job is tried twice, then dead.
    w.crm.handle.faults().set(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    });
    let (mut retried, mut dead) = (0, 0);
    for _ in 0..20 {
        let s = app.engine.sync_once(None, false).await.unwrap();
        retried += s.retried;
        dead += s.dead;
        if dead > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!((retried, dead), (1, 1), "one retry, then the dead letter");
    app.store.close().await;
}

/// 1C's answer for one exported order: paid in full by one payment order.
fn answer_from_1c(order: &dealbridge_sdk::model::Order) -> Vec<u8> {
    use dealbridge_commerceml::writer::{write_orders, OrderExport, WriterOptions};
    let export = OrderExport {
        payment: None,
        status: Some("Принят".into()),
        order: order.clone(),
    };
    let xml =
        String::from_utf8(write_orders(&[export], &WriterOptions::default()).unwrap()).unwrap();
    let payments = format!(
        "<Оплаты><Оплата><НомерДокумента>ПП-1</НомерДокумента><ДатаОплаты>2026-11-25T10:00:00</ДатаОплаты><СуммаОплаты>{}</СуммаОплаты></Оплата></Оплаты></Документ>",
        order.total
    );
    xml.replace("</Документ>", &payments).into_bytes()
}
