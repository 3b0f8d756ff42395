//! Shopify orders become Bitrix24 deals through the same engine: signed webhooks within
//! seconds, repeats (Shopify retries with the same webhook id) absorbed, polling as the
//! safety net when webhooks are off.

use crate::common;

use common::{dealbridge, free_port, wait_until, ChildGuard};
use dealbridge_bitrix24::emulator as b24;
use dealbridge_sdk::http::Timeouts;
use dealbridge_shopify::emulator as shopify;
use dealbridge_shopify::ShopifyClient;
use serde_json::json;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const SECRET: &str = "shpss_test";

/// The Shopify and Bitrix24 (Enterprise limits) emulators on free ports, and a directory with
/// the shipped Shopify → Bitrix24 mapping for a config.
async fn world() -> (
    shopify::RunningEmulator,
    b24::RunningEmulator,
    tempfile::TempDir,
) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let shop = shopify::spawn(shopify::EmulatorConfig::default(), any)
        .await
        .unwrap();
    let crm = b24::spawn(
        b24::EmulatorConfig {
            limits: b24::BucketLimits::enterprise(),
            ..Default::default()
        },
        any,
    )
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
    (shop, crm, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom as the story it checks
async fn shopify_orders_reach_bitrix24_by_webhook_once_and_by_polling() {
    let (shop, crm, dir) = world().await;
    let port = free_port();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"[database]
url = "sqlite://dealbridge.db"
[server]
listen = "127.0.0.1:{port}"
[sync]
poll_interval = "1h"
[systems.shop]
kind = "shopify"
base_url = "{}"
access_token = "shpat_test"
webhook_secret = "{SECRET}"
[systems.crm]
kind = "bitrix24"
webhook_url = "{}"
rate_limit_per_second = 50
rate_limit_burst = 50
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
    let check = dealbridge()
        .arg("--config")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let mut cmd = dealbridge();
    cmd.arg("--config").arg(&config).arg("run");
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut engine = ChildGuard::spawn(cmd, "dealbridge run");
    let base = format!("http://127.0.0.1:{port}");
    wait_until("the engine's /healthz", Duration::from_secs(20), || {
        let url = format!("{base}/healthz");
        async move {
            reqwest::get(url)
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    shop.handle
        .set_webhook_url(Some(format!("{base}/webhooks/shop")));

    let client = ShopifyClient::new(&shop.base_url, "shpat_test", Timeouts::default()).unwrap();
    let started = Instant::now();
    let order = common::shopify_tea_order(
        &shop.base_url,
        json!({
            "shipping_lines": [{"title": "Standard", "price": "5.00"}],
            "financial_status": "paid"
        }),
    )
    .await;
    let deals = crm.handle.clone();
    wait_until(
        "the deal of a Shopify order",
        Duration::from_secs(2),
        || {
            let deals = deals.clone();
            async move { deals.deal_count() == 1 }
        },
    )
    .await;
    eprintln!("Shopify order → Bitrix24 deal in {:?}", started.elapsed());
    let deal = &crm.handle.deals()[0];
    assert_eq!(deal["ORIGIN_ID"], order.id.to_string().as_str());
    assert_eq!(deal["STAGE_ID"], "PREPARATION");
    assert_eq!(deal["CURRENCY_ID"], "USD");
    assert_eq!(
        deal["OPPORTUNITY"],
        order.total_price.round_dp(2).to_string().as_str()
    );

    // The same delivery three times (as Shopify retries it): stored once, no second deal.
    let body = serde_json::to_vec(&client.get_order(order.id).await.unwrap()).unwrap();
    let http = reqwest::Client::new();
    let mut answers = Vec::new();
    for _ in 0..3 {
        let r = http
            .post(format!("{base}/webhooks/shop"))
            .header("X-Shopify-Topic", "orders/updated")
            .header(
                "X-Shopify-Hmac-Sha256",
                dealbridge_shopify::webhook::sign(&body, SECRET),
            )
            .header("X-Shopify-Shop-Domain", "dealbridge-test.myshopify.com")
            .header(
                "X-Shopify-Webhook-Id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        answers.push(r.text().await.unwrap().trim().to_string());
    }
    assert_eq!(answers, ["stored", "already stored", "already stored"]);
    // A tampered one is refused.
    let r = http
        .post(format!("{base}/webhooks/shop"))
        .header("X-Shopify-Topic", "orders/updated")
        .header(
            "X-Shopify-Hmac-Sha256",
            dealbridge_shopify::webhook::sign(&body, "wrong"),
        )
        .header("X-Shopify-Webhook-Id", "another")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(crm.handle.deal_count(), 1);

    // Two deliveries in reverse order: the order is closed (→ WON), then the newer delivery
    // arrives before the older one. The handler re-reads the order, so the older body cannot
    // roll the deal back.
    shop.handle.set_webhook_url(None);
    let older = body.clone();
    let closed = client.close_order(order.id).await.unwrap();
    let newer = serde_json::to_vec(&closed).unwrap();
    for (id, b) in [("newer-1", &newer), ("older-1", &older)] {
        let r = http
            .post(format!("{base}/webhooks/shop"))
            .header("X-Shopify-Topic", "orders/updated")
            .header(
                "X-Shopify-Hmac-Sha256",
                dealbridge_shopify::webhook::sign(b, SECRET),
            )
            .header("X-Shopify-Webhook-Id", id)
            .body(b.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let deals = crm.handle.clone();
    wait_until("the deal at WON", Duration::from_secs(5), || {
        let deals = deals.clone();
        async move {
            deals
                .deals()
                .first()
                .is_some_and(|d| d["STAGE_ID"] == "WON")
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(crm.handle.deal_count(), 1);
    assert_eq!(
        crm.handle.deals()[0]["STAGE_ID"],
        "WON",
        "the older delivery did not roll it back"
    );

    // Webhooks off: the next order comes by polling (`sync`).
    shop.handle.set_webhook_url(None);
    client
        .create_order(&json!({
            "email": "boris@example.com",
            "line_items": [{"title": "Cup", "price": "7.00", "quantity": 1}],
            "financial_status": "pending"
        }))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(crm.handle.deal_count(), 1);
    let out = dealbridge()
        .arg("--config")
        .arg(&config)
        .arg("sync")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(crm.handle.deal_count(), 2);
    assert!(crm.handle.deals().iter().any(|d| d["STAGE_ID"] == "NEW"));

    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(engine.pid().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(engine
        .wait_exit(Duration::from_secs(15))
        .await
        .expect("engine stops")
        .success());
}

/// Two-way with Shopify: a manager's row edits (a quantity, a free-text row, a product picked
/// from the CRM catalog the shop pushed) reach the order through Shopify's order editing
/// (the only way its lines change), the edited order is read by its `current_*` quantities and
/// totals, and nothing comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managers_row_edit_reaches_the_shopify_order_once() {
    use dealbridge::app::App;
    use rust_decimal::Decimal;
    use serde_json::Value;
    let (shop, crm, dir) = world().await;
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://dealbridge.db\"\n[systems.shop]\nkind = \"shopify\"\nbase_url = \"{}\"\naccess_token = \"shpat_test\"\n[systems.crm]\nkind = \"bitrix24\"\nwebhook_url = \"{}\"\nrate_limit_per_second = 50\nrate_limit_burst = 50\n[[flows]]\nname = \"orders\"\nfrom = \"shop\"\nto = \"crm\"\nentities = [\"order\"]\nmapping = \"mappings/shopify-bitrix24.toml\"\n[[flows]]\nname = \"deals-back\"\nfrom = \"crm\"\nto = \"shop\"\nentities = [\"order\"]\nmapping = \"mappings/shopify-bitrix24.toml\"\n[[catalog]]\nname = \"shop-products\"\nfrom = \"shop\"\nto = \"crm\"\n",
            shop.base_url, crm.webhook_url
        ),
    )
    .unwrap();
    let order = common::shopify_tea_order(
        &shop.base_url,
        json!({
            "financial_status": "pending"
        }),
    )
    .await;
    let app = App::load(&config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(crm.handle.deal_count(), 1);
    let deal: u64 = crm.handle.deals()[0]["ID"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // The manager makes it 3 teas, adds gift wrap (free text) and one of the shop's products
    // from the CRM's catalog (the shop's catalog was pushed there).
    let mut rows: Vec<Value> = crm
        .handle
        .deal_rows(deal)
        .into_iter()
        .map(|r| json!({"PRODUCT_NAME": r["PRODUCT_NAME"], "PRICE": r["PRICE"], "QUANTITY": 3}))
        .collect();
    rows.push(json!({"PRODUCT_NAME": "Gift wrap", "PRICE": "5.00", "QUANTITY": 1}));
    let variant = shop.handle.variant_by_sku("HB-250").unwrap();
    let picked = crm
        .handle
        .products()
        .into_iter()
        .find(|p| p["XML_ID"] == format!("shop:{}", variant.id))
        .expect("the shop's variant is a CRM product");
    rows.push(json!({
        "PRODUCT_ID": picked["ID"],
        "PRODUCT_NAME": picked["NAME"],
        "PRICE": picked["PRICE"],
        "QUANTITY": 1
    }));
    assert!(crm.handle.manager_set_rows(deal, Value::Array(rows)));
    shop.handle.counters().reset();
    let pass = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(pass.dead, 0, "{pass:?}");

    let edited = shop.handle.order(order.id).unwrap();
    let tea = &edited.line_items[0];
    assert_eq!(tea.current_quantity, Some(3), "{edited:?}");
    let wrap = edited
        .line_items
        .iter()
        .find(|l| l.title == "Gift wrap")
        .expect("the custom item");
    assert_eq!(wrap.price, Decimal::new(500, 2));
    let added = edited
        .line_items
        .iter()
        .find(|l| l.variant_id == Some(variant.id))
        .expect("the picked product is a line of its variant, not a custom item");
    assert_eq!(added.current_quantity.or(Some(added.quantity)), Some(1));
    // 3 × 12.50 + 5.00 (the custom item is untaxed) + the variant + tax as Shopify computes it.
    let total = edited.current_total_price.unwrap();
    assert_eq!(
        total,
        Decimal::new(4250, 2) + variant.price + edited.current_total_tax.unwrap(),
        "{edited:?}"
    );
    let c = shop.handle.counters();
    assert_eq!(c.get("graphql orderEditBegin").served, 1);
    assert_eq!(c.get("graphql orderEditAddVariant").served, 1);
    assert_eq!(c.get("graphql orderEditCommit").served, 1);
    // The deal's amount follows the edited total.
    assert_eq!(
        crm.handle.deal(deal).unwrap()["OPPORTUNITY"]
            .as_str()
            .map(|s| s.parse::<Decimal>().unwrap()),
        Some(total)
    );

    // Settled: the edit is read back as made, so nothing is written again either way.
    let graphql = |c: &dealbridge_sdk::fault::CallCounters| {
        c.snapshot()
            .iter()
            .filter(|(k, _)| k.starts_with("graphql "))
            .map(|(_, v)| v.served)
            .sum::<u64>()
    };
    let before = (
        graphql(shop.handle.counters()),
        common::crm_writes(&crm.handle),
    );
    app.engine.sync_once(None, false).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(
        (
            graphql(shop.handle.counters()),
            common::crm_writes(&crm.handle)
        ),
        before,
        "no ping-pong"
    );
    app.store.close().await;
}
