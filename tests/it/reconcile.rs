//! `reconcile` end to end: WooCommerce orders and Bitrix24 deals over real HTTP, changed behind
//! dealbridge's back the ways users report (a deal deleted, an amount edited, a stage moved
//! while the store owns it, rows edited, a second deal for one order, an order whose webhook
//! never came), then reported exactly, fixed through the queue, and reported agreeing.

use crate::common;

use common::{spawn_world, Tuning};
use dealbridge::app::App;
use dealbridge::sync::reconcile::{DifferenceKind, FixAction, Report};
use dealbridge_sdk::http::Timeouts;
use dealbridge_store::EntityKind;
use dealbridge_woocommerce::wire::NewOrder;
use dealbridge_woocommerce::WooClient;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Creates one order through the shop's REST API, as a checkout would; returns its id.
async fn order(base_url: &str, i: usize) -> String {
    let client = WooClient::new(base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    let body = json!({
        "status": "processing",
        "currency": "RUB",
        "billing": {
            "first_name": format!("Buyer{i}"), "last_name": "Testov",
            "email": format!("buyer{i}@example.com"), "country": "RU"
        },
        "line_items": [
            { "name": "Green tea", "sku": "TEA-1", "quantity": 2, "subtotal": "200.00", "total": "200.00" },
            { "name": "Cup", "sku": "CUP-2", "quantity": 1, "subtotal": "59.90", "total": "59.90" }
        ]
    });
    let order: NewOrder = serde_json::from_value(body).unwrap();
    client
        .create_order(&order)
        .await
        .expect("create order")
        .id
        .to_string()
}

/// The deal id in the CRM emulator whose ORIGIN_ID is `order`.
fn deal_of(world: &common::World, order: &str) -> u64 {
    let deals = world.crm.handle.deals();
    let deal = deals
        .iter()
        .find(|d| d["ORIGIN_ID"] == order)
        .unwrap_or_else(|| panic!("no deal for order {order}"));
    deal["ID"].as_str().unwrap().parse().unwrap()
}

/// Each difference as (kind, store id).
fn found(report: &Report) -> BTreeSet<(DifferenceKind, String)> {
    report
        .differences
        .iter()
        .map(|d| (d.kind, d.store_id.clone().unwrap_or_default()))
        .collect()
}

async fn reconcile(world: &common::World, fix: bool) -> Report {
    let app = App::load(&world.config).await.unwrap();
    let since = chrono::Utc::now() - chrono::Duration::days(30);
    let report = app.engine.reconcile(None, since, fix).await.unwrap();
    app.store.close().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_exactly_what_changed_behind_its_back_and_fixes_it() {
    let world = spawn_world(Tuning::default()).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(order(&world.shop.base_url, i).await);
    }
    let app = App::load(&world.config).await.unwrap();
    let summary = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!((summary.written, summary.dead), (6, 0), "{summary:?}");
    app.store.close().await;

    let clean = reconcile(&world, false).await;
    assert!(clean.agrees(), "{:#?}", clean.differences);
    assert_eq!(clean.checked.orders, 6);
    assert_eq!(clean.checked.agreeing, 6);

    // Behind dealbridge's back, as a manager or another integration would.
    let crm = &world.crm.handle;
    let deleted = deal_of(&world, &ids[0]);
    assert!(crm
        .manager_call("crm.deal.delete", json!({ "id": deleted }))
        .is_some());
    assert!(crm.manager_update_deal(
        deal_of(&world, &ids[1]),
        json!({ "OPPORTUNITY": "1.00", "IS_MANUAL_OPPORTUNITY": "Y" })
    ));
    assert!(crm.manager_update_deal(deal_of(&world, &ids[2]), json!({ "STAGE_ID": "EXECUTING" })));
    let rows_deal = deal_of(&world, &ids[3]);
    // The amount stays manual, so only the rows differ.
    assert!(crm.manager_update_deal(rows_deal, json!({ "IS_MANUAL_OPPORTUNITY": "Y" })));
    assert!(crm.manager_set_rows(
        rows_deal,
        json!([{ "PRODUCT_NAME": "Green tea", "PRICE": "100.00", "QUANTITY": 5 }])
    ));
    let kept = deal_of(&world, &ids[4]);
    let second = crm
        .manager_call(
            "crm.deal.add",
            json!({ "fields": { "TITLE": "Copy", "ORIGINATOR_ID": "shop", "ORIGIN_ID": ids[4], "OPPORTUNITY": "259.90", "CURRENCY_ID": "RUB" } }),
        )
        .expect("second deal");
    let second = second
        .as_u64()
        .map(|n| n.to_string())
        .or_else(|| second.as_str().map(str::to_string))
        .expect("crm.deal.add answers the id");
    // An order whose webhook never came: created after the sync, never polled.
    let unseen = order(&world.shop.base_url, 6).await;

    let report = reconcile(&world, false).await;
    let want: BTreeSet<(DifferenceKind, String)> = [
        (DifferenceKind::MissingInCrm, ids[0].clone()),
        (DifferenceKind::Amount, ids[1].clone()),
        (DifferenceKind::Stage, ids[2].clone()),
        (DifferenceKind::Rows, ids[3].clone()),
        (DifferenceKind::DuplicateInCrm, ids[4].clone()),
        (DifferenceKind::MissingInCrm, unseen.clone()),
    ]
    .into_iter()
    .collect();
    assert_eq!(found(&report), want, "{:#?}", report.differences);
    assert_eq!(report.differences.len(), want.len(), "each difference once");
    let amount = report
        .differences
        .iter()
        .find(|d| d.kind == DifferenceKind::Amount)
        .unwrap();
    assert_eq!(amount.store_value, json!("259.9"));
    assert_eq!(amount.crm_value, json!("1"));
    assert_eq!(amount.fix, FixAction::RewriteDeal);
    let dup = report
        .differences
        .iter()
        .find(|d| d.kind == DifferenceKind::DuplicateInCrm)
        .unwrap();
    assert_eq!(
        dup.crm_id.as_deref(),
        Some(second.to_string().trim_matches('"'))
    );
    assert_eq!(dup.store_value, json!(kept.to_string()));
    let json: Value = serde_json::to_value(&report).unwrap();
    for key in ["flows", "differences", "checked"] {
        assert!(json.get(key).is_some(), "JSON has {key}: {json}");
    }
    let first = &json["differences"][0];
    for key in [
        "kind",
        "flow",
        "store_id",
        "crm_id",
        "field",
        "store_value",
        "crm_value",
        "fix",
    ] {
        assert!(first.get(key).is_some(), "a difference has {key}: {first}");
    }

    // --fix queues, one sync applies, and the next reconcile finds nothing.
    let fixed = reconcile(&world, true).await;
    assert_eq!(
        fixed.fixes_queued, 6,
        "5 orders and 1 duplicate: {fixed:#?}"
    );
    let app = App::load(&world.config).await.unwrap();
    let summary = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(summary.dead, 0, "{summary:?}");
    app.store.close().await;
    let after = reconcile(&world, false).await;
    assert!(after.agrees(), "{:#?}", after.differences);
    assert_eq!(after.checked.agreeing, 7);

    // Nothing deleted, nothing duplicated: 7 orders' deals plus the manager's copy, which no
    // longer claims the order and says why.
    let deals = crm.deals();
    assert_eq!(deals.len(), 8);
    let copy = deals
        .iter()
        .find(|d| d["ID"].as_str() == Some(second.as_str()))
        .expect("the copy is still there");
    assert_eq!(copy["ORIGIN_ID"], "", "{copy}");
    assert!(
        crm.comments().iter().any(|c| c["COMMENT"]
            .as_str()
            .is_some_and(|t| t.contains("duplicated deal"))),
        "a note tells the manager"
    );
    let (_, origins) = world.deal_origins();
    for id in ids.iter().chain([&unseen]) {
        assert!(origins.contains(id), "order {id} has its deal");
    }
}

/// The lead of `order` in the amoCRM emulator (by its external-id field value).
fn lead_of(leads: &[Value], order: &str) -> Value {
    let key = format!("\"shop:{order}\"");
    leads
        .iter()
        .find(|l| l.to_string().contains(&key))
        .cloned()
        .unwrap_or_else(|| panic!("no lead for order {order}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amocrm_leads_are_reconciled_the_same_way() {
    use common::{spawn_amo_world, AmoTuning};
    use dealbridge_amocrm::emulator::ManagerEdit;
    let w = spawn_amo_world(AmoTuning::default()).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(order(&w.shop.base_url, i).await);
    }
    let app = App::load(&w.config).await.unwrap();
    let summary = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!((summary.written, summary.dead), (4, 0), "{summary:?}");
    app.store.close().await;
    let since = chrono::Utc::now() - chrono::Duration::days(30);
    let run = |fix: bool| {
        let config = w.config.clone();
        async move {
            let app = App::load(&config).await.unwrap();
            let r = app.engine.reconcile(None, since, fix).await.unwrap();
            app.store.close().await;
            r
        }
    };
    let clean = run(false).await;
    assert!(
        clean.agrees(),
        "no false difference: {:#?}",
        clean.differences
    );

    let leads = w.crm.handle.leads();
    let lead_id = |order: &str| lead_of(&leads, order)["id"].as_u64().unwrap();
    assert!(w.crm.handle.manager_update_lead(
        lead_id(&ids[0]),
        ManagerEdit {
            price: Some(5),
            ..ManagerEdit::default()
        }
    ));
    assert!(w.crm.handle.manager_update_lead(
        lead_id(&ids[1]),
        ManagerEdit {
            status_id: Some(142),
            ..ManagerEdit::default()
        }
    ));
    // Another integration adds a second lead with the same external id, over the API.
    let original = lead_of(&leads, &ids[2]);
    let fields: Vec<Value> = original["custom_fields_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| json!({ "field_id": f["field_id"], "values": f["values"] }))
        .collect();
    let added: Value = reqwest::Client::new()
        .post(format!("{}/api/v4/leads", w.crm.base_url))
        .bearer_auth("test")
        .json(&json!([{ "name": "Copy", "price": 260, "custom_fields_values": fields }]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let copy = added["_embedded"]["leads"][0]["id"]
        .as_u64()
        .expect("copy id");
    let unseen = order(&w.shop.base_url, 9).await;

    let report = run(false).await;
    let want: BTreeSet<(DifferenceKind, String)> = [
        (DifferenceKind::Amount, ids[0].clone()),
        (DifferenceKind::Stage, ids[1].clone()),
        (DifferenceKind::DuplicateInCrm, ids[2].clone()),
        (DifferenceKind::MissingInCrm, unseen.clone()),
    ]
    .into_iter()
    .collect();
    assert_eq!(found(&report), want, "{:#?}", report.differences);
    assert_eq!(report.differences.len(), want.len());

    let fixed = run(true).await;
    assert_eq!(fixed.fixes_queued, 4, "{fixed:#?}");
    let app = App::load(&w.config).await.unwrap();
    let summary = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(summary.dead, 0, "{summary:?}");
    app.store.close().await;
    let after = run(false).await;
    assert!(after.agrees(), "{:#?}", after.differences);
    assert_eq!(
        w.crm.handle.lead_count(),
        6,
        "5 orders' leads plus the copy, none deleted"
    );
    let copy = w.crm.handle.lead(copy).unwrap();
    assert!(
        copy.to_string()
            .contains(&format!("released:shop:{}", ids[2])),
        "the copy no longer claims the order: {copy}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_the_deal_does_not_show_is_a_paid_difference_and_is_written_again() {
    let w = spawn_world(Tuning {
        crm: "paid_amount_field = \"UF_CRM_PAID\"",
        ..Tuning::default()
    })
    .await;
    w.edit_file(
        "dealbridge.toml",
        "entities = [\"order\"]",
        "entities = [\"order\", \"payment\"]",
    );
    let client =
        WooClient::new(&w.shop.base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    let paid: NewOrder = serde_json::from_value(json!({
        "status": "processing",
        "set_paid": true,
        "payment_method_title": "Card",
        "billing": { "first_name": "Ann", "email": "ann@example.com" },
        "line_items": [{ "name": "Green tea", "sku": "TEA-1", "quantity": 3, "subtotal": "300.30", "total": "300.30" }]
    }))
    .unwrap();
    let id = client.create_order(&paid).await.unwrap().id.to_string();
    let app = App::load(&w.config).await.unwrap();
    let summary = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(summary.dead, 0, "{summary:?}");
    app.store.close().await;
    assert!(reconcile(&w, false).await.agrees());

    // Someone clears the paid amount on the deal.
    assert!(w
        .crm
        .handle
        .manager_update_deal(deal_of(&w, &id), json!({ "UF_CRM_PAID": "0" })));
    let report = reconcile(&w, false).await;
    assert_eq!(
        found(&report),
        [(DifferenceKind::Paid, id.clone())].into_iter().collect()
    );
    let d = &report.differences[0];
    assert_eq!(
        (d.store_value.clone(), d.crm_value.clone()),
        (json!("300.3"), json!("0"))
    );
    assert_eq!(d.fix, FixAction::SyncPayments);

    assert_eq!(reconcile(&w, true).await.fixes_queued, 1);
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    app.store.close().await;
    assert!(reconcile(&w, false).await.agrees());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nightly_schedule_reconciles_journals_and_queues_its_fixes() {
    let w = spawn_world(Tuning::default()).await;
    let first = order(&w.shop.base_url, 1).await;
    order(&w.shop.base_url, 2).await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    app.store.close().await;
    assert!(w
        .crm
        .handle
        .manager_call("crm.deal.delete", json!({ "id": deal_of(&w, &first) }))
        .is_some());
    let mut text = std::fs::read_to_string(&w.config).unwrap();
    text.push_str("\n[schedule.nightly]\ncron = \"0 3 * * *\"\nreconcile = true\nreconcile_since = \"7d\"\nreconcile_fix = true\n");
    std::fs::write(&w.config, text).unwrap();

    let app = App::load(&w.config).await.unwrap();
    let job = app.engine.schedules[0].clone();
    job.fire(&app.store, chrono::Utc::now()).await.unwrap();
    let ran = app
        .store
        .journal_for(EntityKind::Schedule, "nightly")
        .await
        .unwrap();
    let detail = ran.last().unwrap().detail.clone().unwrap_or_default();
    assert!(
        detail.contains("reconcile: 1 difference(s) over 2 order(s), 1 fix job(s) queued"),
        "{detail}"
    );
    let runs = app
        .store
        .journal_for(EntityKind::Reconcile, "all")
        .await
        .unwrap();
    let last = runs.last().expect("the run is journalled");
    assert_eq!(last.action, "differ");
    let saved: Value = serde_json::from_str(last.detail.as_deref().unwrap()).unwrap();
    assert_eq!(saved["report"]["differences"][0]["kind"], "missing_in_crm");
    assert_eq!(
        saved["report"]["differences"][0]["store_id"],
        first.as_str()
    );
    // The engine's workers apply the fix.
    app.engine.sync_once(None, false).await.unwrap();
    app.store.close().await;
    assert!(reconcile(&w, false).await.agrees());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_exits_5_on_differences_and_0_when_all_agree() {
    let w = spawn_world(Tuning::default()).await;
    let id = order(&w.shop.base_url, 1).await;
    // Never synced: the order is missing in the CRM.
    let out = w.cli(&["reconcile", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(json["differences"][0]["kind"], "missing_in_crm");
    assert_eq!(json["differences"][0]["store_id"], id.as_str());
    assert_eq!(json["differences"][0]["fix"], "create_deal");
    assert_eq!(json["checked"]["orders"], 1);

    let out = w.cli(&["reconcile", "--fix"]);
    assert_eq!(out.status.code(), Some(5));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("missing_in_crm"), "{text}");
    assert!(text.contains("1 fix job(s) queued"), "{text}");
    let out = w.cli(&["sync"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = w.cli(&["reconcile", "--flow", "orders", "--since", "2d"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the store and the CRM agree"));
    let out = w.cli(&["reconcile", "--flow", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("flows: orders"));
    let out = w.cli(&["reconcile", "--since", "soon"]);
    assert_eq!(out.status.code(), Some(2), "bad usage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopify_orders_are_reconciled_the_same_way() {
    use dealbridge_bitrix24::emulator as b24;
    use dealbridge_shopify::emulator as shopify;
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
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
            "[database]\nurl = \"sqlite://dealbridge.db\"\n[systems.shop]\nkind = \"shopify\"\nbase_url = \"{}\"\naccess_token = \"shpat_test\"\n[systems.crm]\nkind = \"bitrix24\"\nwebhook_url = \"{}\"\n[[flows]]\nname = \"orders\"\nfrom = \"shop\"\nto = \"crm\"\nentities = [\"order\"]\nmapping = \"mappings/shopify-bitrix24.toml\"\n",
            shop.base_url, crm.webhook_url
        ),
    )
    .unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let o = common::shopify_tea_order(&shop.base_url, json!({})).await;
        ids.push(o.id.to_string());
    }
    let since = chrono::Utc::now() - chrono::Duration::days(30);
    let app = App::load(&config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let clean = app.engine.reconcile(None, since, false).await.unwrap();
    assert!(
        clean.agrees(),
        "no false difference: {:#?}",
        clean.differences
    );
    let deal = |order: &str| -> u64 {
        crm.handle
            .deals()
            .iter()
            .find(|d| d["ORIGIN_ID"] == order)
            .and_then(|d| d["ID"].as_str()?.parse().ok())
            .unwrap()
    };
    assert!(crm
        .handle
        .manager_call("crm.deal.delete", json!({ "id": deal(&ids[0]) }))
        .is_some());
    assert!(crm.handle.manager_update_deal(
        deal(&ids[1]),
        json!({ "OPPORTUNITY": "3.00", "IS_MANUAL_OPPORTUNITY": "Y" })
    ));
    let report = app.engine.reconcile(None, since, true).await.unwrap();
    assert_eq!(
        found(&report),
        [
            (DifferenceKind::MissingInCrm, ids[0].clone()),
            (DifferenceKind::Amount, ids[1].clone())
        ]
        .into_iter()
        .collect(),
        "{:#?}",
        report.differences
    );
    app.engine.sync_once(None, false).await.unwrap();
    let after = app.engine.reconcile(None, since, false).await.unwrap();
    assert!(after.agrees(), "{:#?}", after.differences);
    assert_eq!(crm.handle.deals().len(), 3);
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_the_last_run_and_runs_one_with_fixes() {
    use crate::cli::{console_login, console_page, csrf_of};
    use dealbridge::server::console::{auth::ConsoleAuth, router, ConsoleState};
    let w = spawn_world(Tuning::default()).await;
    let id = order(&w.shop.base_url, 1).await;
    let app = App::load(&w.config).await.unwrap();
    let console = router(ConsoleState {
        store: app.store.clone(),
        config: std::sync::Arc::new(app.config.clone()),
        health: None,
        reconciler: Some(app.engine.reconciler()),
        auth: std::sync::Arc::new(ConsoleAuth::new(Some(dealbridge::config::Secret::new(
            "tok",
        )))),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, console).await.unwrap() });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let anonymous = http.get(format!("{base}/reconcile")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);

    let cookie = console_login(&http, &base, "tok").await;
    let empty = console_page(&http, &format!("{base}/reconcile"), &cookie).await;
    assert!(empty.contains("No reconciliation has run yet"), "{empty}");

    // A run from a shell shows on the page, with the difference and its fix.
    let out = w.cli(&["reconcile"]);
    assert_eq!(out.status.code(), Some(5));
    let shown = console_page(&http, &format!("{base}/reconcile"), &cookie).await;
    assert!(shown.contains("1 difference(s)"), "{shown}");
    assert!(
        shown.contains("missing_in_crm") && shown.contains("create_deal"),
        "{shown}"
    );
    assert!(shown.contains(&format!("<td>{id}</td>")), "{shown}");

    // A forged CSRF token changes nothing; the real one starts a run that queues the fix.
    let forged = http
        .post(format!("{base}/reconcile/run"))
        .header("cookie", &cookie)
        .form(&[("csrf", "forged"), ("fix", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let csrf = csrf_of(&shown);
    let started = http
        .post(format!("{base}/reconcile/run"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("fix", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 303);
    let store = app.store.clone();
    common::wait_until(
        "the console's run queues the fix",
        std::time::Duration::from_secs(10),
        || {
            let store = store.clone();
            async move {
                store
                    .queue()
                    .counts()
                    .await
                    .unwrap()
                    .iter()
                    .any(|(state, n)| state.as_str() == "pending" && *n > 0)
            }
        },
    )
    .await;
    app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(w.deal_origins().0, 1, "the fix made the deal");
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_way_pair_agrees_on_a_stage_the_store_cannot_express_and_differs_on_one_it_can() {
    let w = spawn_world(Tuning::default()).await;
    let mut text = std::fs::read_to_string(&w.config).unwrap();
    text.push_str("\n[[flows]]\nname = \"deals-back\"\nfrom = \"crm\"\nto = \"shop\"\nentities = [\"order\"]\nmapping = \"mappings/woocommerce-bitrix24.toml\"\n");
    std::fs::write(&w.config, text).unwrap();
    let a = order(&w.shop.base_url, 1).await;
    let b = order(&w.shop.base_url, 2).await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    // A manager's stage with no store status, synced: the pair agrees.
    assert!(w
        .crm
        .handle
        .manager_update_deal(deal_of(&w, &a), json!({ "STAGE_ID": "EXECUTING" })));
    app.engine.sync_once(None, false).await.unwrap();
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let report = app.engine.reconcile(None, since, false).await.unwrap();
    assert!(report.agrees(), "{:#?}", report.differences);
    // A deal won before any poll or event brought it to the store: the order is still
    // `processing`, the deal means `completed`.
    assert!(w
        .crm
        .handle
        .manager_update_deal(deal_of(&w, &b), json!({ "STAGE_ID": "WON" })));
    let report = app.engine.reconcile(None, since, false).await.unwrap();
    let kinds: Vec<_> = report.differences.iter().map(|d| (d.kind, d.fix)).collect();
    assert_eq!(kinds, [(DifferenceKind::Stage, FixAction::MergePair)]);
    // The fix goes through the pair's decide step: the CRM changed, so the store takes WON.
    let fixed = app.engine.reconcile(None, since, true).await.unwrap();
    assert!(fixed.fixes_queued >= 1);
    app.engine.sync_once(None, false).await.unwrap();
    let after = app.engine.reconcile(None, since, false).await.unwrap();
    assert!(after.agrees(), "{:#?}", after.differences);
    let order_b = w.shop.handle.get_order_json(b.parse().unwrap()).unwrap();
    assert_eq!(order_b["status"], "completed");
    app.store.close().await;
}
