//! Two-way sync of a store order and its CRM deal (issue 6): a manager's edits in Bitrix24 flow
//! back to WooCommerce, our own writes coming back cause nothing, and an edit of the same field
//! on both sides is a conflict decided by the field's owner, or held for a person under `manual`.
//! Everything over real HTTP against the emulators; writes counted by the emulators.

use crate::common;

use common::{spawn_world, Tuning, World};
use dealbridge::app::App;
use dealbridge_sdk::http::Timeouts;
use dealbridge_store::{ConflictFilter, ConflictState};
use dealbridge_woocommerce::{NewOrder, WooClient};
use serde_json::{json, Value};

const REVERSE_FLOW: &str = r#"
[[flows]]
name = "deals-back"
from = "crm"
to = "shop"
entities = ["order"]
mapping = "mappings/woocommerce-bitrix24.toml"
"#;

async fn two_way_world() -> World {
    two_way_world_with(Tuning::default()).await
}

async fn two_way_world_with(tuning: Tuning) -> World {
    let w = spawn_world(tuning).await;
    let mut text = std::fs::read_to_string(&w.config).unwrap();
    text.push_str(REVERSE_FLOW);
    std::fs::write(&w.config, text).unwrap();
    w
}

async fn create_order(w: &World, status: &str) -> u64 {
    let client =
        WooClient::new(&w.shop.base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    // Lines of catalog products, as a real checkout makes them.
    let catalog = w.shop.handle.catalog();
    let simple: Vec<_> = catalog
        .iter()
        .filter(|c| c.variation_id == 0)
        .take(2)
        .collect();
    let order: NewOrder = serde_json::from_value(json!({
        "status": status,
        "billing": {"first_name": "Ann", "email": "ann@example.com"},
        "line_items": [
            {"product_id": simple[0].product_id, "quantity": 2},
            {"product_id": simple[1].product_id, "quantity": 1}
        ]
    }))
    .unwrap();
    client.create_order(&order).await.unwrap().id
}

fn deal_of(w: &World, order_id: u64) -> (u64, Value) {
    let deals: Vec<Value> = w
        .crm
        .handle
        .deals()
        .into_iter()
        .filter(|d| d["ORIGIN_ID"].as_str() == Some(order_id.to_string().as_str()))
        .collect();
    assert_eq!(deals.len(), 1, "one deal for order {order_id}");
    let id = deals[0]["ID"]
        .as_str()
        .map(|s| s.parse().unwrap())
        .or_else(|| deals[0]["ID"].as_u64())
        .unwrap();
    (id, deals[0].clone())
}

/// Write calls served by the WooCommerce emulator (PUT/POST/DELETE).
fn store_writes(w: &World) -> u64 {
    w.shop
        .handle
        .counters()
        .snapshot()
        .iter()
        .filter(|(k, _)| k.starts_with("PUT") || k.starts_with("POST") || k.starts_with("DELETE"))
        .map(|(_, c)| c.served)
        .sum()
}

/// Write calls served by the Bitrix24 emulator (also those inside a batch).
fn crm_writes(w: &World) -> u64 {
    common::crm_writes(&w.crm.handle)
}

fn order_json(w: &World, id: u64) -> Value {
    w.shop.handle.get_order_json(id).unwrap()
}

/// Two more passes write nothing to either side: the pair has settled, no ping-pong.
async fn assert_settled(w: &World, app: &App) {
    let settled = (store_writes(w), crm_writes(w));
    app.engine.sync_once(None, false).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(
        (store_writes(w), crm_writes(w)),
        settled,
        "nothing more to write"
    );
}

fn reset_counters(w: &World) {
    w.shop.handle.counters().reset();
    w.crm.handle.counters().reset();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managers_stage_change_reaches_the_store_once_and_does_not_come_back() {
    let w = two_way_world().await;
    let order = create_order(&w, "processing").await;
    let other = create_order(&w, "processing").await;
    let app = App::load(&w.config).await.unwrap();
    let first = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(first.dead, 0, "{first:?}");
    let (deal, fields) = deal_of(&w, order);
    assert_eq!(fields["STAGE_ID"], "PREPARATION");

    // The manager moves the deal to WON in the CRM.
    reset_counters(&w);
    assert!(w
        .crm
        .handle
        .manager_update_deal(deal, json!({"STAGE_ID": "WON"})));
    let pass = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(pass.dead, 0, "{pass:?}");
    assert_eq!(order_json(&w, order)["status"], "completed");
    assert_eq!(
        order_json(&w, other)["status"],
        "processing",
        "the other order is untouched"
    );
    assert_eq!(store_writes(&w), 1, "exactly one write to the store");
    assert_eq!(crm_writes(&w), 0, "nothing written back to the CRM");

    // Our write to the store comes back through the poll: no further write anywhere.
    for _ in 0..2 {
        let again = app.engine.sync_once(None, false).await.unwrap();
        assert_eq!(again.written, 0, "{again:?}");
    }
    assert_eq!(store_writes(&w), 1, "no ping-pong to the store");
    assert_eq!(crm_writes(&w), 0, "no ping-pong to the CRM");
    assert_eq!(w.crm.handle.deal(deal).unwrap()["STAGE_ID"], "WON");

    // And the other way round in the same engine: the shop owner puts the order on hold.
    w.shop
        .handle
        .owner_edit(other, &json!({"status": "on-hold"}))
        .unwrap();
    reset_counters(&w);
    app.engine.sync_once(None, false).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let (_, other_deal) = deal_of(&w, other);
    assert_eq!(other_deal["STAGE_ID"], "PREPAYMENT_INVOICE");
    assert_eq!(store_writes(&w), 0, "nothing written back to the store");
    assert_eq!(
        w.crm.handle.counters().get("crm.deal.update").served,
        1,
        "exactly one deal update"
    );
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_row_added_in_the_crm_becomes_an_order_line() {
    let w = two_way_world().await;
    let order = create_order(&w, "processing").await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let (deal, _) = deal_of(&w, order);
    let before: rust_decimal::Decimal = order_json(&w, order)["total"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let mut rows: Vec<Value> = w
        .crm
        .handle
        .deal_rows(deal)
        .into_iter()
        .map(|r| {
            json!({"PRODUCT_NAME": r["PRODUCT_NAME"], "PRICE": r["PRICE"], "QUANTITY": r["QUANTITY"]})
        })
        .collect();
    rows.push(json!({"PRODUCT_NAME": "Gift wrap", "PRICE": 100, "QUANTITY": 1}));
    assert!(w.crm.handle.manager_set_rows(deal, Value::Array(rows)));
    reset_counters(&w);
    let pass = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(pass.dead, 0, "{pass:?}");

    let after = order_json(&w, order);
    let names: Vec<&str> = after["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    let catalog = w.shop.handle.catalog();
    let simple: Vec<_> = catalog
        .iter()
        .filter(|c| c.variation_id == 0)
        .take(2)
        .collect();
    assert_eq!(
        names,
        [simple[0].name.as_str(), simple[1].name.as_str()],
        "the catalog lines stay product lines: {after}"
    );
    let fees: Vec<&str> = after["fee_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        fees,
        ["Gift wrap"],
        "a row with no store product is a fee line: {after}"
    );
    let total: rust_decimal::Decimal = after["total"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        total - before,
        rust_decimal::Decimal::from(100),
        "the total grew by the row"
    );
    assert_eq!(store_writes(&w), 1, "one write to the store");
    // The deal's amount follows the store's new total (the rows already match).
    assert!(crm_writes(&w) <= 1, "at most the amount is written back");
    assert_eq!(
        w.crm.handle.deal(deal).unwrap()["OPPORTUNITY"]
            .as_str()
            .map(|s| s.parse::<rust_decimal::Decimal>().unwrap()),
        Some(total)
    );
    assert_settled(&w, &app).await;
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_change_the_stage_the_owner_wins_and_the_conflict_is_logged() {
    let w = two_way_world().await;
    let order = create_order(&w, "processing").await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let (deal, _) = deal_of(&w, order);

    // Between two syncs: the shop owner puts the order on hold, the manager loses the deal.
    w.shop
        .handle
        .owner_edit(order, &json!({"status": "on-hold"}))
        .unwrap();
    assert!(w
        .crm
        .handle
        .manager_update_deal(deal, json!({"STAGE_ID": "LOSE"})));
    app.engine.sync_once(None, false).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();

    let conflicts = app
        .store
        .conflicts(&ConflictFilter::default())
        .await
        .unwrap();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(c.field, "stage");
    assert_eq!(c.base, Some(json!("PREPARATION")));
    assert_eq!(c.ours, json!("PREPAYMENT_INVOICE"));
    assert_eq!(c.theirs, json!("LOSE"));
    assert_eq!(
        c.rule, "crm",
        "the mapping's default: the CRM owns the stage"
    );
    assert_eq!(c.chosen.as_deref(), Some("crm"));
    assert_eq!(c.state, ConflictState::Resolved);
    // The owner's value landed everywhere: LOSE → `cancelled` by [stage_map].
    assert_eq!(order_json(&w, order)["status"], "cancelled");
    assert_eq!(w.crm.handle.deal(deal).unwrap()["STAGE_ID"], "LOSE");
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_manual_nothing_is_written_until_a_person_resolves_it() {
    let w = two_way_world().await;
    w.edit_file(
        "mappings/woocommerce-bitrix24.toml",
        "stage = \"crm\"",
        "stage = \"manual\"",
    );
    let order = create_order(&w, "processing").await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let (deal, _) = deal_of(&w, order);

    w.shop
        .handle
        .owner_edit(order, &json!({"status": "on-hold"}))
        .unwrap();
    assert!(w
        .crm
        .handle
        .manager_update_deal(deal, json!({"STAGE_ID": "LOSE"})));
    reset_counters(&w);
    app.engine.sync_once(None, false).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(store_writes(&w), 0, "held: nothing written to the store");
    assert_eq!(crm_writes(&w), 0, "held: nothing written to the CRM");
    assert_eq!(order_json(&w, order)["status"], "on-hold");
    assert_eq!(w.crm.handle.deal(deal).unwrap()["STAGE_ID"], "LOSE");

    // The operator sees one open conflict and takes the shop's value, from the real binary.
    let open = w.cli_json(&["conflicts", "list", "--json"]);
    let open = open.as_array().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["rule"], "manual");
    assert_eq!(open[0]["state"], "open");
    let id = open[0]["id"].as_i64().unwrap().to_string();
    let shown = w.cli(&["conflicts", "show", &id]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("PREPARATION") && text.contains("LOSE"),
        "{text}"
    );
    let out = w.cli(&["conflicts", "resolve", &id, "--take", "shop"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(
        w.crm.handle.deal(deal).unwrap()["STAGE_ID"],
        "PREPAYMENT_INVOICE"
    );
    assert_eq!(order_json(&w, order)["status"], "on-hold");
    assert_eq!(store_writes(&w), 0);
    assert_eq!(w.crm.handle.counters().get("crm.deal.update").served, 1);
    let after = app
        .store
        .conflicts(&ConflictFilter::default())
        .await
        .unwrap();
    assert_eq!(after.len(), 1, "no second conflict for the same edit");
    // Settled: further passes write nothing.
    app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(w.crm.handle.counters().get("crm.deal.update").served, 1);
    assert_eq!(store_writes(&w), 0);
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bitrix24_event_brings_the_managers_change_to_the_store_within_seconds() {
    use common::{dealbridge, wait_until, ChildGuard};
    use std::time::{Duration, Instant};
    // Polling every hour: after the first pass only the CRM's events can carry changes.
    let w = spawn_world(Tuning {
        sync: "poll_interval = \"1h\"",
        crm: "application_token = \"app-token-1\"",
        ..Tuning::default()
    })
    .await;
    let mut text = std::fs::read_to_string(&w.config).unwrap();
    text.push_str(REVERSE_FLOW);
    std::fs::write(&w.config, text).unwrap();
    let port = common::free_port();
    w.edit_file(
        "dealbridge.toml",
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let order = create_order(&w, "processing").await;
    let mut cmd = dealbridge();
    cmd.arg("--config").arg(&w.config).arg("run");
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let _engine = ChildGuard::spawn(cmd, "dealbridge run");
    let crm = w.crm.handle.clone();
    wait_until(
        "the deal from the first poll",
        Duration::from_secs(20),
        || {
            let crm = crm.clone();
            async move { crm.deal_count() == 1 }
        },
    )
    .await;
    let base = format!("http://127.0.0.1:{port}");

    // A forged event (wrong token) is refused and changes nothing.
    let forged = reqwest::Client::new()
        .post(format!("{base}/webhooks/crm"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=1&ts=1&auth%5Bapplication_token%5D=wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    // The portal's handler points at the engine; the manager wins the deal.
    w.crm
        .handle
        .set_event_handler(&format!("{base}/webhooks/crm"), "app-token-1");
    let (deal, _) = deal_of(&w, order);
    let started = Instant::now();
    assert!(w
        .crm
        .handle
        .manager_update_deal(deal, json!({"STAGE_ID": "WON"})));
    let shop = w.shop.handle.clone();
    wait_until("the store order completed", Duration::from_secs(5), || {
        let shop = shop.clone();
        async move { shop.get_order_json(order).unwrap()["status"] == "completed" }
    })
    .await;
    eprintln!(
        "deal → store through the CRM event in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amocrm_webhook_with_the_url_token_brings_a_stage_change_to_the_store() {
    use common::{dealbridge, free_port, wait_until, ChildGuard};
    use dealbridge_amocrm::emulator as amo;
    use std::time::Duration;
    let port = free_port();
    let top = format!("[server]\nlisten = \"127.0.0.1:{port}\"\n[sync]\npoll_interval = \"1h\"");
    let w = common::spawn_amo_world(common::AmoTuning {
        top: &top,
        crm: "webhook_token = \"hook-secret-1\"",
        tail: common::AMO_REVERSE_FLOW,
        ..Default::default()
    })
    .await;
    let (shop, crm, config) = (&w.shop, &w.crm, &w.config);
    let client = WooClient::new(&shop.base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    let simple: Vec<_> = shop
        .handle
        .catalog()
        .into_iter()
        .filter(|c| c.variation_id == 0)
        .take(1)
        .collect();
    let order: NewOrder = serde_json::from_value(json!({
        "status": "processing",
        "billing": {"first_name": "Ann", "email": "ann@example.com"},
        "line_items": [{"product_id": simple[0].product_id, "quantity": 1}]
    }))
    .unwrap();
    let order = client.create_order(&order).await.unwrap().id;
    let mut cmd = dealbridge();
    cmd.arg("--config").arg(config).arg("run");
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let _engine = ChildGuard::spawn(cmd, "dealbridge run");
    let h = crm.handle.clone();
    wait_until(
        "the lead from the first poll",
        Duration::from_secs(20),
        || {
            let h = h.clone();
            async move { h.leads().len() == 1 }
        },
    )
    .await;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let body = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142";
    for url in [
        format!("{base}/webhooks/crm/wrong"),
        format!("{base}/webhooks/crm"),
    ] {
        let r = http
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 401 || r.status() == 404,
            "{url}: {}",
            r.status()
        );
    }
    crm.handle
        .set_webhook_url(Some(&format!("{base}/webhooks/crm/hook-secret-1")));
    let lead = crm.handle.leads()[0]["id"].as_u64().unwrap();
    assert!(crm.handle.manager_update_lead(
        lead,
        amo::ManagerEdit {
            status_id: Some(142),
            ..Default::default()
        }
    ));
    wait_until("the store order completed", Duration::from_secs(5), || {
        let shop = shop.handle.clone();
        async move { shop.get_order_json(order).unwrap()["status"] == "completed" }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deal_won_in_the_crm_is_offered_to_1c_and_marked_only_after_success() {
    use dealbridge::onec::endpoint::ExchangeImporter;
    use dealbridge::onec::exchange::StoreImporter;
    let w = two_way_world().await;
    let won = create_order(&w, "processing").await;
    let open = create_order(&w, "processing").await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let importer = StoreImporter::new(app.store.clone(), dealbridge::app::payments_queue(&app))
        .with_export_stages(vec!["WON".to_string()]);
    assert!(
        importer.orders_for_export().await.unwrap().is_empty(),
        "no deal is won yet"
    );

    let (deal, _) = deal_of(&w, won);
    assert!(w
        .crm
        .handle
        .manager_update_deal(deal, json!({"STAGE_ID": "WON"})));
    app.engine.sync_once(None, false).await.unwrap();
    let offered: Vec<String> = importer
        .orders_for_export()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.source.id)
        .collect();
    assert_eq!(offered, [won.to_string()], "only the won deal's order");
    // 1C fetched it but has not confirmed: offered again at the next query.
    assert_eq!(importer.orders_for_export().await.unwrap().len(), 1);
    importer.mark_exported(&offered).await.unwrap();
    assert!(importer.orders_for_export().await.unwrap().is_empty());
    let _ = open;
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_product_picked_in_the_crm_becomes_a_product_line_not_a_fee() {
    let w = two_way_world().await;
    // The shop's own catalog goes to the CRM too, so the manager can pick its products.
    let mut text = std::fs::read_to_string(&w.config).unwrap();
    text.push_str("\n[[catalog]]\nname = \"shop-products\"\nfrom = \"shop\"\nto = \"crm\"\n");
    std::fs::write(&w.config, text).unwrap();
    let order = create_order(&w, "processing").await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let (deal, _) = deal_of(&w, order);

    // The order's rows name their CRM products (the shop's catalog was pushed first).
    let rows = w.crm.handle.deal_rows(deal);
    assert!(
        rows.iter()
            .filter(|r| r["PRODUCT_NAME"] != "Shipping")
            .all(|r| r["PRODUCT_ID"] != json!(0) && r["PRODUCT_ID"] != json!("0")),
        "linked rows: {rows:?}"
    );

    // The manager adds a third catalog product from the CRM's catalog, 2 pieces.
    let third = w
        .shop
        .handle
        .catalog()
        .into_iter()
        .filter(|c| c.variation_id == 0)
        .nth(2)
        .unwrap();
    let crm_product = w
        .crm
        .handle
        .products()
        .into_iter()
        .find(|p| p["XML_ID"] == format!("shop:{}", third.product_id))
        .expect("the third product is in the CRM");
    let mut rows: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            json!({"PRODUCT_ID": r["PRODUCT_ID"], "PRODUCT_NAME": r["PRODUCT_NAME"], "PRICE": r["PRICE"], "QUANTITY": r["QUANTITY"]})
        })
        .collect();
    rows.push(json!({
        "PRODUCT_ID": crm_product["ID"],
        "PRODUCT_NAME": crm_product["NAME"],
        "PRICE": crm_product["PRICE"],
        "QUANTITY": 2
    }));
    assert!(w.crm.handle.manager_set_rows(deal, Value::Array(rows)));
    reset_counters(&w);
    let pass = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(pass.dead, 0, "{pass:?}");

    let after = order_json(&w, order);
    let items = after["line_items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{after}");
    let added = &items[2];
    assert_eq!(added["product_id"], json!(third.product_id), "{after}");
    assert_eq!(added["quantity"], json!(2));
    assert!(
        after["fee_lines"].as_array().unwrap().is_empty(),
        "no fee line: {after}"
    );
    assert_eq!(store_writes(&w), 1, "one write to the store");
    assert_settled(&w, &app).await;
    app.store.close().await;
}

/// A crowd of CRM events about deals that carry the shop's origin but have no binding (left by
/// an earlier connector that used the same keys, or imported from another portal: they wait for
/// a binding that never comes) does not hold up the shop's deliveries behind them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_events_waiting_for_a_binding_do_not_hold_up_the_shops_deliveries() {
    // A portal whose budget the 210 re-reads do not exhaust (that is not what this is about).
    let w = two_way_world_with(Tuning {
        crm_limits: Some(dealbridge_bitrix24::emulator::BucketLimits {
            capacity: 10_000,
            drain_per_second: 100.0,
        }),
        ..Tuning::default()
    })
    .await;
    let order = create_order(&w, "processing").await;
    let app = App::load(&w.config).await.unwrap();
    // More than one pass holds (200).
    for n in 0..210 {
        let deal = w
            .crm
            .handle
            .manager_call(
                "crm.deal.add",
                json!({"fields": {
                    "TITLE": format!("Imported {n}"),
                    "STAGE_ID": "NEW",
                    "ORIGINATOR_ID": "shop",
                    "ORIGIN_ID": (90_000 + n).to_string()
                }}),
            )
            .and_then(|v| v.as_u64())
            .unwrap();
        app.store
            .inbox_put(
                "crm",
                &format!("event-{n}"),
                "oncrmdealadd",
                &json!({ "id": deal.to_string() }).to_string(),
            )
            .await
            .unwrap();
    }
    // The shop's delivery arrives after them.
    app.store
        .inbox_put(
            "shop",
            "delivery-1",
            "order.created",
            &json!({ "id": order }).to_string(),
        )
        .await
        .unwrap();
    let pass = app.engine.sync_once(None, false).await.unwrap();
    assert!(
        pass.inbox.deferred >= 210,
        "each waiting event tried at least once: {pass:?}"
    );
    let waiting = app.store.inbox_unprocessed(1_000).await.unwrap();
    assert!(
        waiting.iter().all(|i| i.source == "crm"),
        "the shop's delivery was handled: {waiting:?}"
    );
    deal_of(&w, order);
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_decides_the_pair_like_the_worker_and_writes_nothing() {
    let w = two_way_world().await;
    let order = create_order(&w, "processing").await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let (deal, _) = deal_of(&w, order);

    // The manager wins the deal; the shop owner, meanwhile, puts the order on hold.
    assert!(w
        .crm
        .handle
        .manager_update_deal(deal, json!({"STAGE_ID": "WON"})));
    let plan = app.engine.dry_run(None, false).await.unwrap();
    let merge: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| c.action == "merge")
        .collect();
    assert_eq!(merge.len(), 1, "{plan:?}");
    assert_eq!(merge[0].target, "shop");
    assert!(
        merge[0].detail.contains("status processing → completed"),
        "{plan:?}"
    );

    w.shop
        .handle
        .owner_edit(order, &json!({"status": "on-hold"}))
        .unwrap();
    reset_counters(&w);
    let plan = app.engine.dry_run(None, false).await.unwrap();
    assert!(
        plan.changes
            .iter()
            .any(|c| c.detail.contains("both changed stage") && c.detail.contains("crm")),
        "the stage conflict, decided by its owner (the CRM): {plan:?}"
    );
    assert_eq!(
        (store_writes(&w), crm_writes(&w)),
        (0, 0),
        "a dry run writes nothing"
    );
    let logged = app
        .store
        .conflicts(&ConflictFilter {
            state: None,
            kind: None,
            entity_id: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(logged.is_empty(), "nor logs a conflict");

    // The worker then does what the plan said.
    app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(order_json(&w, order)["status"], "completed");
    app.store.close().await;
}
