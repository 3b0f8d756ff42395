//! End to end: WooCommerce orders become Bitrix24 deals, exactly once, whatever fails between.
//! The engine talks to both emulators over real HTTP on loopback; state is a real SQLite file.

use crate::common;

use common::{crm_writes, spawn_world, Tuning};
use dealbridge::app::App;
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::http::Timeouts;
use dealbridge_woocommerce::wire::NewOrder;
use dealbridge_woocommerce::WooClient;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;
use std::time::Duration;

/// Creates `n` orders through the shop's REST API, as a customer's checkout would.
async fn create_orders(base_url: &str, n: usize) -> Vec<Value> {
    let client = WooClient::new(base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    let statuses = ["pending", "processing", "on-hold", "completed"];
    let mut out = Vec::new();
    for i in 0..n {
        let customer = i % 17; // some customers order more than once
        let body = json!({
            "status": statuses[i % statuses.len()],
            "currency": "RUB",
            "payment_method": "bacs",
            "payment_method_title": "Direct Bank Transfer",
            "billing": {
                "first_name": format!("Buyer{customer}"),
                "last_name": "Testov",
                "email": format!("buyer{customer}@example.com"),
                "phone": format!("+7 900 000-{customer:02}-{customer:02}"),
                "address_1": "Lenina 1", "city": "Moscow", "country": "RU"
            },
            "line_items": [
                { "name": "Green tea", "sku": "TEA-1", "quantity": 1 + (i % 3), "subtotal": format!("{}.50", 100 * (1 + (i % 3))), "total": format!("{}.50", 100 * (1 + (i % 3))) },
                { "name": "Cup", "sku": "CUP-2", "quantity": 2, "subtotal": "59.98", "total": "59.98" }
            ],
            "shipping_lines": [{ "method_id": "flat_rate", "method_title": "Flat rate", "total": "300.00" }]
        });
        let order: NewOrder = serde_json::from_value(body).unwrap();
        let created = client.create_order(&order).await.expect("create order");
        out.push(serde_json::to_value(created).unwrap());
    }
    out
}

fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s).unwrap(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap(),
        other => panic!("not a number: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_orders_become_fifty_deals_and_a_second_sync_writes_nothing() {
    let world = spawn_world(Tuning::default()).await;
    let orders = create_orders(&world.shop.base_url, 50).await;

    let app = App::load(&world.config).await.unwrap();
    let summary = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(summary.dead, 0, "{summary:?}");
    assert_eq!(summary.written, 50, "{summary:?}");

    let (n, origins) = world.deal_origins();
    assert_eq!(n, 50);
    assert_eq!(origins.len(), 50, "every deal mirrors a different order");

    // Each deal carries the order's rows, amount, currency, contact and mapped stage.
    let deals = world.crm.handle.deals();
    let contacts = world.crm.handle.contacts();
    assert_eq!(contacts.len(), 17, "one contact per distinct buyer");
    for order in &orders {
        let id = order["id"].as_u64().unwrap().to_string();
        let deal = deals
            .iter()
            .find(|d| d["ORIGIN_ID"] == id.as_str())
            .expect("deal for order");
        assert_eq!(deal["ORIGINATOR_ID"], "shop");
        assert_eq!(deal["CURRENCY_ID"], "RUB");
        assert_eq!(
            dec(&deal["OPPORTUNITY"]),
            dec(&order["total"]),
            "amount of order {id}"
        );
        let stage = match order["status"].as_str().unwrap() {
            "pending" => "NEW",
            "processing" => "PREPARATION",
            "on-hold" => "PREPAYMENT_INVOICE",
            "completed" => "WON",
            s => panic!("unexpected status {s}"),
        };
        assert_eq!(deal["STAGE_ID"], stage);
        let contact = contacts
            .iter()
            .find(|c| c["ID"] == deal["CONTACT_ID"])
            .expect("deal has its contact");
        assert_eq!(contact["EMAIL"][0]["VALUE"], order["billing"]["email"]);

        let deal_id: u64 = deal["ID"].as_str().unwrap().parse().unwrap();
        let rows = world.crm.handle.deal_rows(deal_id);
        let items = order["line_items"].as_array().unwrap();
        assert_eq!(
            rows.len(),
            items.len() + 1,
            "one row per item plus shipping"
        );
        for (row, item) in rows.iter().zip(items) {
            assert!(row["PRODUCT_NAME"]
                .as_str()
                .unwrap()
                .starts_with(item["name"].as_str().unwrap()));
            assert_eq!(dec(&row["QUANTITY"]), dec(&item["quantity"]));
            let unit = dec(&item["total"]) / dec(&item["quantity"]);
            assert_eq!(dec(&row["PRICE"]), unit.round_dp(2));
        }
        assert_eq!(
            dec(&rows.last().unwrap()["PRICE"]),
            dec(&order["shipping_total"])
        );
    }

    // A second pass finds nothing new to write.
    world.crm.handle.counters().reset();
    let again = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(again.written, 0, "{again:?}");
    assert_eq!(
        crm_writes(&world.crm.handle),
        0,
        "no write call on an unchanged shop"
    );

    // And `sync` through the binary agrees, with a clean exit code.
    let out = world.cli(&["sync"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(crm_writes(&world.crm.handle), 0);
    assert_eq!(world.crm.handle.deal_count(), 50);

    // A changed order is written again, once.
    let client = WooClient::new(
        &world.shop.base_url,
        "ck_test",
        "cs_test",
        Timeouts::default(),
    )
    .unwrap();
    let first = orders[0]["id"].as_u64().unwrap();
    client
        .update_order(first, &json!({"status": "completed"}))
        .await
        .unwrap();
    let changed = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(changed.written, 1, "{changed:?}");
    let deal = world
        .crm
        .handle
        .deals()
        .into_iter()
        .find(|d| d["ORIGIN_ID"] == first.to_string().as_str())
        .unwrap();
    assert_eq!(deal["STAGE_ID"], "WON");
    assert_eq!(world.crm.handle.deal_count(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_failing_crm_still_ends_with_fifty_deals_and_no_duplicates() {
    let world = spawn_world(Tuning {
        sync: "backoff_base = \"50ms\"\nbackoff_max = \"1s\"\nmax_attempts = 30\nlease = \"5s\"",
        crm: "timeout = \"500ms\"",
        ..Tuning::default()
    })
    .await;
    create_orders(&world.shop.base_url, 50).await;
    world.crm.handle.faults().set(FaultConfig {
        error_rate: 0.10,
        throttle_rate: 0.10,
        timeout_rate: 0.05,
        drop_after_write_rate: 0.05,
        hang: Duration::from_millis(1500),
        ..Default::default()
    });

    let app = App::load(&world.config).await.unwrap();
    let summary = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(summary.dead, 0, "{summary:?}");
    assert!(
        summary.retried > 0,
        "faults must have caused retries: {summary:?}"
    );

    let (n, origins) = world.deal_origins();
    assert_eq!(origins.len(), 50);
    assert_eq!(
        n, 50,
        "no duplicate deals despite dropped answers after writes"
    );
    let contacts = world.crm.handle.contacts();
    assert_eq!(contacts.len(), 17, "no duplicate contacts");

    // Retries are visible to the operator.
    let out = world.cli(&["queue", "list", "--json", "--limit", "100"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jobs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(jobs.len(), 50);
    assert!(jobs.iter().all(|j| j["state"] == "done"));
    let retried: Vec<_> = jobs
        .iter()
        .filter(|j| j["attempts"].as_u64().unwrap() > 1)
        .collect();
    assert!(
        !retried.is_empty(),
        "some jobs needed more than one attempt"
    );
    assert!(
        retried.iter().all(|j| j["last_error"].is_string()),
        "a retried job shows why"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_killed_five_times_mid_sync_still_makes_exactly_fifty_deals() {
    let world = spawn_world(Tuning {
        sync: "lease = \"1s\"\nbackoff_base = \"50ms\"\nbackoff_max = \"500ms\"\nmax_attempts = 50",
        crm: "",
        ..Tuning::default()
    })
    .await;
    create_orders(&world.shop.base_url, 50).await;
    // Slow the CRM down so a kill lands in the middle of the work, and drop some answers after
    // the write landed so "created but not bound" happens by network too.
    world.crm.handle.faults().set(FaultConfig {
        latency: Duration::from_millis(15),
        drop_after_write_rate: 0.05,
        ..Default::default()
    });
    // Kill points differ from run to run; the seed is printed so a failure can be replayed.
    let seed = std::env::var("DEALBRIDGE_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill seed {seed} (replay with DEALBRIDGE_KILL_SEED={seed})");
    let mut rng_state: u64 = seed;
    let mut next = || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state
    };
    for round in 0..5 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dealbridge"))
            .arg("--config")
            .arg(&world.config)
            .arg("sync")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let wait = Duration::from_millis(150 + next() % 700);
        tokio::time::sleep(wait).await;
        // SIGKILL: no chance to clean up.
        let _ = child.kill();
        let _ = child.wait();
        eprintln!(
            "round {round}: killed after {wait:?}; deals so far {}",
            world.crm.handle.deal_count()
        );
    }
    world.crm.handle.faults().set(FaultConfig::default());
    let out = world.cli(&["sync"]);
    assert!(
        out.status.success(),
        "final sync: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (n, origins) = world.deal_origins();
    assert_eq!(origins.len(), 50);
    assert_eq!(n, 50, "exactly 50 deals after five kills");

    let out = world.cli(&["status", "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let deals_bound = status["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["kind"] == "deal")
        .unwrap();
    assert_eq!(deals_bound["count"], 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_or_dropped_change_is_not_requeued_until_the_order_changes() {
    let world = spawn_world(Tuning::default()).await;
    world.edit_file(
        "mappings/woocommerce-bitrix24.toml",
        "completed = \"WON\"",
        "completed = \"NO_SUCH_STAGE\"",
    );
    let orders = create_orders(&world.shop.base_url, 8).await;
    let completed: Vec<u64> = orders
        .iter()
        .filter(|o| o["status"] == "completed")
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert_eq!(completed.len(), 2);

    let app = App::load(&world.config).await.unwrap();
    let first = app.engine.sync_once(None, true).await.unwrap();
    assert_eq!(first.dead, 2, "{first:?}");
    assert_eq!(world.crm.handle.deal_count(), 6);

    // Re-reading the same orders (overlap window, or --full) does not queue the same failing
    // change again: it waits in the dead letter for the operator.
    let again = app.engine.sync_once(None, true).await.unwrap();
    assert_eq!(again.polls[0].1.set_aside, 2, "{again:?}");
    assert_eq!(again.polls[0].1.queued, 0, "{again:?}");
    let dead = app
        .store
        .queue()
        .list(&dealbridge_store::JobFilter {
            states: vec![dealbridge_store::JobState::Dead],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(dead.len(), 2);

    // Dropped stays dropped too.
    assert!(app
        .store
        .queue()
        .drop_job(dead[0].id, "not wanted")
        .await
        .unwrap());
    let after_drop = app.engine.sync_once(None, true).await.unwrap();
    assert_eq!(after_drop.polls[0].1.set_aside, 2, "{after_drop:?}");
    assert_eq!(world.crm.handle.deal_count(), 6);

    // A new change of the order is a new job, and with a valid stage it lands.
    let client = WooClient::new(
        &world.shop.base_url,
        "ck_test",
        "cs_test",
        Timeouts::default(),
    )
    .unwrap();
    for id in &completed {
        client
            .update_order(*id, &json!({"status": "processing"}))
            .await
            .unwrap();
    }
    let changed = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(changed.written, 2, "{changed:?}");
    assert_eq!(world.crm.handle.deal_count(), 8);
}
