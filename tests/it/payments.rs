//! Payments on deals (issues 5 and 6): 1C's payments (full, then partial ones adding up) and a
//! payment the store captured appear on the order's deal, once each; an order 1C says is fully
//! paid is marked paid in the store; and the same engine code does it for Bitrix24 and amoCRM.

use crate::common;
use dealbridge_store::EntityKind;

use common::{spawn_amo_world, spawn_world, AmoTuning, Tuning, World};
use dealbridge::app::App;
use dealbridge::onec::documents::apply_documents_file;
use dealbridge::onec::endpoint::ExchangeImporter;
use dealbridge::onec::exchange::StoreImporter;
use dealbridge::sync::payments::PaymentsJobs;
use dealbridge_commerceml::writer::{write_orders, OrderExport, WriterOptions};
use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::model::Order;
use dealbridge_woocommerce::emulator as woo;
use dealbridge_woocommerce::{NewOrder, WooClient};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::str::FromStr;

async fn payments_world() -> World {
    let w = spawn_world(Tuning {
        sync: "",
        crm: "paid_amount_field = \"UF_CRM_PAID\"\npaid_date_field = \"UF_CRM_PAID_AT\"",
        ..Tuning::default()
    })
    .await;
    w.edit_file(
        "dealbridge.toml",
        "entities = [\"order\"]",
        "entities = [\"order\", \"payment\"]",
    );
    w
}

async fn create_order(base_url: &str, catalog: &[woo::CatalogItem], paid: bool) -> u64 {
    let client = WooClient::new(base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    let simple: Vec<_> = catalog
        .iter()
        .filter(|c| c.variation_id == 0)
        .take(2)
        .collect();
    let order: NewOrder = serde_json::from_value(json!({
        "status": if paid { "processing" } else { "on-hold" },
        "set_paid": paid,
        "payment_method_title": if paid { "Card" } else { "Bank transfer" },
        "billing": {"first_name": "Ann", "email": "ann@example.com"},
        "line_items": [
            {"product_id": simple[0].product_id, "quantity": 2},
            {"product_id": simple[1].product_id, "quantity": 1}
        ]
    }))
    .unwrap();
    client.create_order(&order).await.unwrap().id
}

fn deal_of(w: &World, order_id: u64) -> Value {
    let deals: Vec<Value> = w
        .crm
        .handle
        .deals()
        .into_iter()
        .filter(|d| d["ORIGIN_ID"].as_str() == Some(order_id.to_string().as_str()))
        .collect();
    assert_eq!(deals.len(), 1);
    deals[0].clone()
}

fn decimal(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s.split('|').next().unwrap()).unwrap(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap(),
        other => panic!("not an amount: {other}"),
    }
}

fn payment_comments(w: &World, deal_id: &str) -> Vec<String> {
    w.crm
        .handle
        .comments()
        .into_iter()
        .filter(|c| c["ENTITY_ID"].to_string().trim_matches('"') == deal_id)
        .map(|c| c["COMMENT"].as_str().unwrap_or_default().to_string())
        .filter(|c| c.contains("[dealbridge:payment="))
        .collect()
}

/// 1C's answer for one exported order with one payment of `amount`, in the CommerceML 2.09
/// `Оплаты` shape 1C uses for partial payments (the requisite shape means "paid in full").
fn answer_from_1c(order: &Order, id: &str, amount: Decimal) -> Vec<u8> {
    let export = OrderExport {
        payment: None,
        status: Some("Принят".into()),
        order: order.clone(),
    };
    let xml =
        String::from_utf8(write_orders(&[export], &WriterOptions::default()).unwrap()).unwrap();
    let payments = format!(
        "<Оплаты><Оплата><НомерДокумента>{id}</НомерДокумента><ДатаОплаты>2026-11-25T10:00:00</ДатаОплаты><СуммаОплаты>{amount}</СуммаОплаты><СпособОплаты>Банковский перевод</СпособОплаты></Оплата></Оплаты></Документ>"
    );
    assert_eq!(xml.matches("</Документ>").count(), 1);
    xml.replace("</Документ>", &payments).into_bytes()
}

fn store_writes(handle: &woo::EmulatorHandle) -> u64 {
    handle
        .counters()
        .snapshot()
        .iter()
        .filter(|(k, _)| k.starts_with("PUT") || k.starts_with("POST"))
        .map(|(_, c)| c.served)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_from_1c_add_up_on_the_deal_and_mark_the_order_paid() {
    let w = payments_world().await;
    let order_id = create_order(&w.shop.base_url, &w.shop.handle.catalog(), false).await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let deal_id = deal_of(&w, order_id)["ID"]
        .to_string()
        .trim_matches('"')
        .to_string();

    // 1C takes the order (mode=query, then success) ...
    let importer = StoreImporter::new(app.store.clone(), dealbridge::app::payments_queue(&app));
    let offered = importer.orders_for_export().await.unwrap();
    let order = offered
        .iter()
        .find(|o| o.source.id == order_id.to_string())
        .expect("the order is offered to 1C")
        .clone();
    importer
        .mark_exported(std::slice::from_ref(&order.source.id))
        .await
        .unwrap();
    let total = order.total;
    let first = (total * Decimal::new(4, 1)).round_dp(2);

    // ... and sends a first, partial payment.
    let dir = tempfile::tempdir().unwrap();
    let file1 = dir.path().join("from-1c-1.xml");
    std::fs::write(&file1, answer_from_1c(&order, "ПП-1", first)).unwrap();
    let r = apply_documents_file(&app.store, &file1, &PaymentsJobs::new(app.store.clone(), 8))
        .await
        .unwrap();
    assert_eq!((r.matched, r.payments), (1, 1));
    let pass = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(pass.dead, 0, "{pass:?}");
    let deal = deal_of(&w, order_id);
    assert_eq!(decimal(&deal["UF_CRM_PAID"]), first, "{deal}");
    assert_eq!(payment_comments(&w, &deal_id).len(), 1);
    let shop_order = w.shop.handle.get_order_json(order_id).unwrap();
    assert!(
        shop_order["date_paid"].is_null(),
        "partly paid: not marked paid"
    );

    // The rest arrives in a second file: the deal shows both, the order is paid.
    let file2 = dir.path().join("from-1c-2.xml");
    std::fs::write(&file2, answer_from_1c(&order, "ПП-2", total - first)).unwrap();
    apply_documents_file(&app.store, &file2, &PaymentsJobs::new(app.store.clone(), 8))
        .await
        .unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let deal = deal_of(&w, order_id);
    assert_eq!(decimal(&deal["UF_CRM_PAID"]), total, "{deal}");
    assert_eq!(payment_comments(&w, &deal_id).len(), 2);
    let shop_order = w.shop.handle.get_order_json(order_id).unwrap();
    assert!(
        !shop_order["date_paid"].is_null(),
        "fully paid: marked paid in the store"
    );
    assert_eq!(shop_order["status"], "processing");

    // 1C re-sends both files; the store's paid order comes back through the poll: nothing new.
    apply_documents_file(&app.store, &file1, &PaymentsJobs::new(app.store.clone(), 8))
        .await
        .unwrap();
    apply_documents_file(&app.store, &file2, &PaymentsJobs::new(app.store.clone(), 8))
        .await
        .unwrap();
    w.crm.handle.counters().reset();
    w.shop.handle.counters().reset();
    app.engine.sync_once(None, false).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(payment_comments(&w, &deal_id).len(), 2, "no payment twice");
    assert_eq!(
        w.crm
            .handle
            .counters()
            .get("crm.timeline.comment.add")
            .served,
        0
    );
    assert_eq!(
        store_writes(&w.shop.handle),
        0,
        "the store is not written again"
    );
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_captured_by_the_store_shows_on_the_deal() {
    let w = payments_world().await;
    let order_id = create_order(&w.shop.base_url, &w.shop.handle.catalog(), true).await;
    let app = App::load(&w.config).await.unwrap();
    let pass = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(pass.dead, 0, "{pass:?}");
    let deal = deal_of(&w, order_id);
    let deal_id = deal["ID"].to_string().trim_matches('"').to_string();
    assert_eq!(
        decimal(&deal["UF_CRM_PAID"]),
        decimal(&deal["OPPORTUNITY"]),
        "{deal}"
    );
    let comments = payment_comments(&w, &deal_id);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].contains(&format!("woocommerce:order:{order_id}:paid"))
            || comments[0].contains(&format!("shop:order:{order_id}:paid")),
        "{comments:?}"
    );

    // A refund by the shop owner shows as a negative payment; the paid amount drops.
    let paid = decimal(&deal["UF_CRM_PAID"]);
    w.shop
        .handle
        .owner_refund(order_id, Decimal::new(1000, 2), "damaged jar")
        .unwrap();
    w.shop
        .handle
        .owner_edit(order_id, &json!({"customer_note": "refunded 10.00"}))
        .unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let deal = deal_of(&w, order_id);
    assert_eq!(
        decimal(&deal["UF_CRM_PAID"]),
        paid - Decimal::new(1000, 2),
        "{deal}"
    );
    assert_eq!(payment_comments(&w, &deal_id).len(), 2);
    app.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_round_trip_lands_on_amocrm() {
    let w = spawn_amo_world(AmoTuning {
        entities: "[\"order\", \"payment\"]",
        ..Default::default()
    })
    .await;
    let (shop, crm, config) = (&w.shop, &w.crm, &w.config);
    let order_id = create_order(&shop.base_url, &shop.handle.catalog(), true).await;
    let app = App::load(config).await.unwrap();
    let pass = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(pass.dead, 0, "{pass:?}");
    let leads = crm.handle.leads();
    assert_eq!(leads.len(), 1);
    let lead_id = leads[0]["id"].as_u64().unwrap();
    let notes = crm.handle.notes(lead_id);
    let marked: Vec<_> = notes
        .iter()
        .filter(|n| n.to_string().contains(&format!("order:{order_id}:paid")))
        .collect();
    assert_eq!(marked.len(), 1, "one payment note: {notes:?}");
    let lead = crm.handle.lead(lead_id).unwrap();
    assert!(
        lead.to_string().contains("DEALBRIDGE_PAID"),
        "the paid amount field is set: {lead}"
    );
    // Again: nothing new.
    let again = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(again.written, 0, "{again:?}");
    assert_eq!(crm.handle.notes(lead_id).len(), notes.len());
    app.store.close().await;
}

/// amoCRM through an integration's OAuth2 keys: the expired access token is refreshed once, the
/// new pair is saved in the state database, and a restart with the config's spent refresh token
/// still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amocrm_oauth_tokens_are_refreshed_and_kept() {
    let w = spawn_amo_world(AmoTuning {
        crm: "client_id = \"integration-1\"\nclient_secret = \"int-secret\"\nredirect_uri = \"https://example.com/oauth\"\nrefresh_token = \"rt-1\"",
        ..Default::default()
    })
    .await;
    let (shop, crm, config) = (&w.shop, &w.crm, &w.config);
    crm.handle
        .enable_oauth("integration-1", "int-secret", "rt-1");
    create_order(&shop.base_url, &shop.handle.catalog(), false).await;
    let app = App::load(config).await.unwrap();
    crm.handle.expire_access_token();
    let s = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!((s.created, s.dead), (1, 0), "{s:?}");
    let rotated = crm.handle.current_refresh_token().unwrap();
    assert_ne!(rotated, "rt-1");
    let saved = app
        .store
        .cursor(&dealbridge::app::oauth_cursor("crm"))
        .await
        .unwrap()
        .unwrap();
    assert!(saved.contains(&rotated), "the new pair is kept");
    app.store.close().await;

    create_order(&shop.base_url, &shop.handle.catalog(), false).await;
    let app = App::load(config).await.unwrap();
    let s = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(
        (s.created, s.dead),
        (1, 0),
        "after a restart the saved pair is used: {s:?}"
    );
    assert_eq!(crm.handle.leads().len(), 2);
    app.store.close().await;
}

/// An order made in 1C itself (no order of ours has its number) is kept, not dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_made_in_1c_is_stored() {
    let w = payments_world().await;
    let order_id = create_order(&w.shop.base_url, &w.shop.handle.catalog(), false).await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let importer = StoreImporter::new(app.store.clone(), dealbridge::app::payments_queue(&app));
    let mut order = importer
        .orders_for_export()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.source.id == order_id.to_string())
        .unwrap();
    // Not exported: 1C made an order of its own with another number.
    order.source.id = "1C-7731".into();
    order.number = "1C-7731".into();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("from-1c.xml");
    std::fs::write(&file, answer_from_1c(&order, "ПП-9", order.total)).unwrap();
    let r = apply_documents_file(&app.store, &file, &PaymentsJobs::new(app.store.clone(), 8))
        .await
        .unwrap();
    assert_eq!((r.matched, r.unmatched), (0, 1));
    let b = app
        .store
        .binding("1c", EntityKind::Order1c, "1c:1C-7731")
        .await
        .unwrap()
        .expect("stored");
    let stored: Order = serde_json::from_value(b.snapshot.unwrap()).unwrap();
    assert_eq!(stored.total, order.total);
    assert_eq!(stored.lines.len(), order.lines.len());
    // Sent again: updated in place, still one.
    apply_documents_file(&app.store, &file, &PaymentsJobs::new(app.store.clone(), 8))
        .await
        .unwrap();
    let counts = app.store.binding_counts().await.unwrap();
    assert!(
        counts.contains(&("1c".into(), EntityKind::Order1c, 1)),
        "{counts:?}"
    );
    app.store.close().await;
}

/// `[payment_methods]` renames the store's payment method for 1C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_methods_are_named_for_1c_as_the_mapping_says() {
    let w = payments_world().await;
    w.edit_file(
        "mappings/woocommerce-bitrix24.toml",
        "[payment_methods]",
        "[payment_methods]\n\"Bank transfer\" = \"Безналичный расчет\"",
    );
    let order_id = create_order(&w.shop.base_url, &w.shop.handle.catalog(), false).await;
    let app = App::load(&w.config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let importer = StoreImporter::new(app.store.clone(), dealbridge::app::payments_queue(&app))
        .with_payment_methods(dealbridge::app::payment_methods(&app.config));
    let order = importer
        .orders_for_export()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.source.id == order_id.to_string())
        .unwrap();
    assert_eq!(order.payment_method.as_deref(), Some("Безналичный расчет"));
    app.store.close().await;
}

/// A Shopify order paid at checkout: its sale transaction shows on the deal, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_transaction_shows_on_the_deal() {
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
[systems.shop]
kind = "shopify"
base_url = "{}"
access_token = "shpat_test"
[systems.crm]
kind = "bitrix24"
webhook_url = "{}"
paid_amount_field = "UF_CRM_PAID"
[[flows]]
name = "orders"
from = "shop"
to = "crm"
entities = ["order", "payment"]
mapping = "mappings/shopify-bitrix24.toml"
"#,
            shop.base_url, crm.webhook_url
        ),
    )
    .unwrap();
    let order = common::shopify_tea_order(
        &shop.base_url,
        json!({
            "financial_status": "paid"
        }),
    )
    .await;
    let app = App::load(&config).await.unwrap();
    let pass = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(pass.dead, 0, "{pass:?}");
    let deals = crm.handle.deals();
    assert_eq!(deals.len(), 1);
    let deal = &deals[0];
    let id = deal["ID"].to_string().trim_matches('"').to_string();
    assert_eq!(decimal(&deal["UF_CRM_PAID"]), order.total_price, "{deal}");
    let comments: Vec<_> = crm
        .handle
        .comments()
        .into_iter()
        .filter(|c| c["ENTITY_ID"].to_string().trim_matches('"') == id)
        .collect();
    assert_eq!(comments.len(), 1, "{comments:?}");
    let again = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(again.written, 0, "{again:?}");
    app.store.close().await;
}
