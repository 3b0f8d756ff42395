//! Webhooks end to end: the WooCommerce emulator signs and delivers order changes to
//! `dealbridge run`, which stores them before acknowledging and turns them into deals within
//! seconds; repeated and reordered deliveries leave one deal with the newest data; forged ones
//! are refused with nothing stored.

use crate::common;

use common::{crm_writes, dealbridge, spawn_world, wait_until, ChildGuard, Tuning};
use dealbridge_sdk::http::Timeouts;
use dealbridge_woocommerce::{NewOrder, WooClient};
use serde_json::json;
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_test";

fn new_order(n: usize) -> NewOrder {
    serde_json::from_value(json!({
        "status": "pending",
        "billing": {"first_name": format!("W{n}"), "email": format!("w{n}@example.com")},
        "line_items": [{"name": "Tea", "sku": "T-1", "quantity": 1, "subtotal": "10.00", "total": "10.00"}]
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom as the story it checks
async fn webhooks_make_deals_within_seconds_once_and_with_the_newest_data() {
    // Polling every hour: only webhooks can carry changes during this test.
    let world = spawn_world(Tuning {
        sync: "poll_interval = \"1h\"",
        crm: "",
        ..Tuning::default()
    })
    .await;
    let port = common::free_port();
    world.edit_file(
        "dealbridge.toml",
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    world.edit_file(
        "dealbridge.toml",
        "consumer_secret = \"cs_test\"",
        &format!("consumer_secret = \"cs_test\"\nwebhook_secret = \"{SECRET}\""),
    );
    let mut cmd = dealbridge();
    cmd.arg("--config").arg(&world.config).arg("run");
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
    world
        .shop
        .handle
        .set_webhooks(Some((format!("{base}/webhooks/shop"), SECRET.to_string())));

    // A new order reaches the CRM through the webhook within 2 s.
    let shop = WooClient::new(
        &world.shop.base_url,
        "ck_test",
        "cs_test",
        Timeouts::default(),
    )
    .unwrap();
    let started = Instant::now();
    let order = shop.create_order(&new_order(1)).await.unwrap();
    let crm = world.crm.handle.clone();
    wait_until(
        "the deal of a webhook-delivered order",
        Duration::from_secs(2),
        || {
            let crm = crm.clone();
            async move { crm.deal_count() == 1 }
        },
    )
    .await;
    eprintln!(
        "order → deal through the webhook in {:?}",
        started.elapsed()
    );

    // Two updates; then the older delivery arrives again, late, and a third time.
    shop.update_order(order.id, &json!({"status": "processing"}))
        .await
        .unwrap();
    shop.update_order(order.id, &json!({"status": "completed"}))
        .await
        .unwrap();
    wait_until("the deal at WON", Duration::from_secs(5), || {
        let crm = crm.clone();
        async move { crm.deals().first().is_some_and(|d| d["STAGE_ID"] == "WON") }
    })
    .await;
    let writes = crm_writes(&world.crm.handle);
    let deliveries = world.shop.handle.deliveries();
    let oldest = deliveries
        .first()
        .expect("deliveries were logged")
        .delivery_id
        .clone();
    for _ in 0..3 {
        world.shop.handle.redeliver(&oldest).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        world.crm.handle.deal_count(),
        1,
        "one deal whatever was delivered"
    );
    assert_eq!(
        world.crm.handle.deals()[0]["STAGE_ID"],
        "WON",
        "a stale delivery never rolls the deal back"
    );
    assert_eq!(
        crm_writes(&world.crm.handle),
        writes,
        "repeats and stale deliveries write nothing"
    );

    // A forged delivery is refused and not stored: the same body, correctly signed afterwards,
    // is still new to the inbox.
    let body_vec =
        dealbridge_woocommerce::webhook::php_json(&serde_json::to_value(&order).unwrap());
    let body = body_vec.as_slice();
    let http = reqwest::Client::new();
    let forged = http
        .post(format!("{base}/webhooks/shop"))
        .header("X-WC-Webhook-Topic", "order.updated")
        .header(
            "X-WC-Webhook-Signature",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let unsigned = http
        .post(format!("{base}/webhooks/shop"))
        .header("X-WC-Webhook-Topic", "order.updated")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let signed = http
        .post(format!("{base}/webhooks/shop"))
        .header("X-WC-Webhook-Topic", "order.updated")
        .header("X-WC-Webhook-Signature", sign(body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 200);
    assert_eq!(
        signed.text().await.unwrap().trim(),
        "stored",
        "the forged copies were not stored"
    );

    // With webhooks off, polling is the safety net.
    world.shop.handle.set_webhooks(None);
    shop.create_order(&new_order(2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(world.crm.handle.deal_count(), 1);
    let out = world.cli(&["sync"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(world.crm.handle.deal_count(), 2);

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

/// base64(HMAC-SHA256(secret, body)), as WooCommerce signs.
fn sign(body: &[u8]) -> String {
    dealbridge_woocommerce::webhook::sign(SECRET, body)
}

/// A backlog of deliveries (a flood, or a restart after one) is worked off whole: `sync` does
/// not stop after one pass's worth (200), and every order's deal is made once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_deliveries_is_handled_whole_in_one_sync() {
    use dealbridge::app::App;
    let w = spawn_world(Tuning::default()).await;
    let orders = w.shop.handle.seed_orders(5, 11);
    let app = App::load(&w.config).await.unwrap();
    // 450 deliveries about the 5 orders, as WooCommerce would have sent them while we were down.
    for n in 0..450 {
        let id = orders[n % orders.len()];
        assert!(app
            .store
            .inbox_put(
                "shop",
                &format!("delivery-{n}"),
                "order.updated",
                &json!({ "id": id }).to_string()
            )
            .await
            .unwrap());
    }
    let pass = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(pass.inbox.processed, 450, "{pass:?}");
    assert!(app.store.inbox_unprocessed(1_000).await.unwrap().is_empty());
    let (deals, origins) = w.deal_origins();
    assert_eq!((deals, origins.len()), (5, 5), "one deal per order");
    app.store.close().await;
}
