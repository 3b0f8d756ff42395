//! `OrderSink` and payments against the emulator over real loopback HTTP: call counts from
//! the emulator's counters, values as they landed in the emulated shop.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::model::{ExternalRef, OrderChange, OrderLine};
use dealbridge_sdk::traits::OrderSink;
use dealbridge_sdk::ErrorKind;
use dealbridge_woocommerce::emulator::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_woocommerce::wire::{NewLineItem, NewOrder, NewShippingLine};
use dealbridge_woocommerce::WooClient;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Inbox = Arc<Mutex<Vec<String>>>;

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, _body: Bytes) -> StatusCode {
    let topic = headers
        .get("x-wc-webhook-topic")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    inbox.lock().unwrap().push(topic);
    StatusCode::OK
}

/// A webhook receiver that records the topics delivered; returns its URL.
async fn receiver(inbox: Inbox) -> String {
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(inbox);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
}

async fn emulator(webhook_url: Option<String>) -> RunningEmulator {
    spawn(
        EmulatorConfig {
            webhook_url,
            webhook_secret: "s3cret".into(),
            webhook_delay: Duration::from_millis(20),
            ..EmulatorConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

fn client(emu: &RunningEmulator) -> WooClient {
    WooClient::new(
        &emu.base_url,
        "ck_test",
        "cs_test",
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(3),
        },
    )
    .unwrap()
    .with_system_name("shop")
}

/// A pending order: 2 × Кофемолка (12, 1899.90), 1 × Футболка - L (variation 32, 1090.00),
/// courier 350.00; total 5239.80.
async fn pending_order(c: &WooClient) -> u64 {
    let o = c
        .create_order(&NewOrder {
            payment_method: Some("bacs".into()),
            payment_method_title: Some("Банковский перевод".into()),
            line_items: vec![
                NewLineItem {
                    product_id: Some(12),
                    quantity: Some(2),
                    ..Default::default()
                },
                NewLineItem {
                    product_id: Some(18),
                    variation_id: Some(32),
                    quantity: Some(1),
                    ..Default::default()
                },
            ],
            shipping_lines: vec![NewShippingLine {
                method_id: "flat_rate".into(),
                method_title: "Курьер".into(),
                total: "350.00".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(o.total, "5239.80");
    o.id
}

fn line(item: Option<&str>, sku: Option<&str>, qty: i64, total: Decimal) -> OrderLine {
    OrderLine {
        item: item.map(|id| ExternalRef {
            system: "shop".into(),
            id: id.into(),
        }),
        sku: sku.map(str::to_string),
        name: String::new(),
        quantity: Decimal::from(qty),
        unit_price: Decimal::ZERO,
        total,
        tax: Decimal::ZERO,
    }
}

async fn wait_for(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn status_change_is_one_put_bumps_modified_and_fires_the_webhook() {
    let inbox: Inbox = Arc::default();
    let url = receiver(inbox.clone()).await;
    let emu = emulator(Some(url)).await;
    let c = client(&emu);
    let id = pending_order(&c).await;
    let before = c.get_order(id).await.unwrap();
    wait_for("order.created", || inbox.lock().unwrap().len() == 1).await;
    emu.handle.counters().reset();
    emu.handle.advance_clock(Duration::from_secs(3));

    let change = OrderChange {
        status: Some("completed".into()),
        ..OrderChange::default()
    };
    let got = OrderSink::update_order(&c, &id.to_string(), &change)
        .await
        .unwrap();
    assert_eq!(got.status, "completed");
    let counts = emu.handle.counters();
    assert_eq!(counts.get("GET /orders/{id}").served, 1);
    assert_eq!(counts.get("PUT /orders/{id}").served, 1);
    assert_eq!(counts.get("GET /orders/{id}/notes").served, 0);

    let landed = c.get_order(id).await.unwrap();
    assert_eq!(landed.status, "completed");
    assert!(landed.date_modified_gmt > before.date_modified_gmt);
    assert!(landed.date_completed_gmt.is_some());
    assert_eq!(got.modified_at, landed.date_modified_gmt.and_utc());
    wait_for("order.updated", || {
        inbox.lock().unwrap().iter().any(|t| t == "order.updated")
    })
    .await;

    // The same change again: one read, no write.
    OrderSink::update_order(&c, &id.to_string(), &change)
        .await
        .unwrap();
    assert_eq!(counts.get("GET /orders/{id}").served, 3);
    assert_eq!(counts.get("PUT /orders/{id}").served, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn paid_sets_processing_and_date_paid_and_yields_a_payment() {
    let emu = emulator(None).await;
    let c = client(&emu);
    let id = pending_order(&c).await;
    assert!(c.payments_of(&id.to_string()).await.unwrap().is_empty());
    emu.handle.counters().reset();

    let change = OrderChange {
        paid: Some(true),
        ..OrderChange::default()
    };
    let got = OrderSink::update_order(&c, &id.to_string(), &change)
        .await
        .unwrap();
    assert_eq!(got.status, "processing");
    let paid_at = got.paid_at.expect("date_paid set");
    assert_eq!(emu.handle.counters().get("PUT /orders/{id}").served, 1);

    // Already paid: nothing to write.
    OrderSink::update_order(&c, &id.to_string(), &change)
        .await
        .unwrap();
    assert_eq!(emu.handle.counters().get("PUT /orders/{id}").served, 1);

    let payments = c.payments_of(&id.to_string()).await.unwrap();
    assert_eq!(payments.len(), 1);
    let p = &payments[0];
    assert_eq!(p.source.id, format!("order:{id}:paid"));
    assert_eq!(p.source.system, "shop");
    assert_eq!(p.order.id, id.to_string());
    assert_eq!(p.amount.amount, dec!(5239.80));
    assert_eq!(p.amount.currency.as_str(), "RUB");
    assert_eq!(p.paid_at, Some(paid_at));
    assert_eq!(p.method.as_deref(), Some("Банковский перевод"));
    // No refunds listed on the order: the refunds endpoint is not asked.
    assert_eq!(
        emu.handle.counters().get("GET /orders/{id}/refunds").served,
        0
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn refunds_are_negative_payments() {
    let emu = emulator(None).await;
    let c = client(&emu);
    let id = pending_order(&c).await;
    emu.handle
        .owner_edit(id, &json!({"set_paid": true}))
        .unwrap();
    emu.handle.advance_clock(Duration::from_secs(2));
    emu.handle
        .owner_refund(id, dec!(100.00), "scratch")
        .unwrap();
    emu.handle.advance_clock(Duration::from_secs(2));
    let second = emu.handle.owner_refund(id, dec!(39.80), "").unwrap();
    emu.handle.counters().reset();

    let payments = c.payments_of(&id.to_string()).await.unwrap();
    let amounts: Vec<Decimal> = payments.iter().map(|p| p.amount.amount).collect();
    assert_eq!(amounts, vec![dec!(5239.80), dec!(-100.00), dec!(-39.80)]);
    assert_eq!(payments[2].source.id, format!("order:{id}:refund:{second}"));
    assert!(payments[1].paid_at < payments[2].paid_at);
    let counts = emu.handle.counters();
    assert_eq!(counts.get("GET /orders/{id}").served, 1);
    assert_eq!(counts.get("GET /orders/{id}/refunds").served, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn lines_are_replaced_in_one_put_and_totals_recomputed() {
    let emu = emulator(None).await;
    let c = client(&emu);
    let id = pending_order(&c).await;
    emu.handle.counters().reset();

    // Keep the L shirt with 3 pieces at a negotiated 3000.00, drop the grinder, add 2 teas by
    // SKU and an M shirt by its variation id; a gift-wrap fee as a line without a product.
    let mut wrap = line(None, None, 1, dec!(150.00));
    wrap.name = "Упаковка".into();
    let change = OrderChange {
        lines: Some(vec![
            line(Some("32"), None, 3, dec!(3000.00)),
            line(None, Some("TEA-BLK-100"), 2, dec!(578.00)),
            line(Some("31"), None, 1, dec!(990.00)),
            wrap,
        ]),
        ..OrderChange::default()
    };
    let got = OrderSink::update_order(&c, &id.to_string(), &change)
        .await
        .unwrap();
    let counts = emu.handle.counters();
    assert_eq!(counts.get("GET /orders/{id}").served, 1);
    assert_eq!(counts.get("PUT /orders/{id}").served, 1);

    let landed = c.get_order(id).await.unwrap();
    let lines: Vec<(u64, u64, String, String)> = landed
        .line_items
        .iter()
        .map(|l| {
            (
                l.product_id,
                l.variation_id,
                l.quantity.to_string(),
                l.total.clone(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            (18, 32, "3".into(), "3000.00".into()),
            (15, 0, "2".into(), "578.00".into()),
            (18, 31, "1".into(), "990.00".into()),
        ]
    );
    assert_eq!(landed.fee_lines.len(), 1);
    assert_eq!(landed.fee_lines[0].total, "150.00");
    // 3000 + 578 + 990 + 150 fee + 350 shipping.
    assert_eq!(landed.total, "5068.00");
    assert_eq!(got.total, dec!(5068.00));
    assert_eq!(got.lines.len(), 4);

    // The order as it now is, sent back: no write.
    let again = OrderChange {
        lines: Some(got.lines.clone()),
        ..OrderChange::default()
    };
    OrderSink::update_order(&c, &id.to_string(), &again)
        .await
        .unwrap();
    assert_eq!(counts.get("PUT /orders/{id}").served, 1);

    // Removing everything but the tea, by SKU.
    let only_tea = OrderChange {
        lines: Some(vec![line(None, Some("TEA-BLK-100"), 1, dec!(289.00))]),
        ..OrderChange::default()
    };
    let got = OrderSink::update_order(&c, &id.to_string(), &only_tea)
        .await
        .unwrap();
    assert_eq!(counts.get("PUT /orders/{id}").served, 2);
    assert_eq!(got.lines.len(), 1);
    assert_eq!(got.total, dec!(639.00));
    emu.shutdown().await;
}

#[tokio::test]
async fn note_is_private_and_not_added_twice() {
    let emu = emulator(None).await;
    let c = client(&emu);
    let id = pending_order(&c).await;
    emu.handle.counters().reset();
    let change = OrderChange {
        note: Some("Менеджер: счёт выставлен".into()),
        ..OrderChange::default()
    };
    OrderSink::update_order(&c, &id.to_string(), &change)
        .await
        .unwrap();
    OrderSink::update_order(&c, &id.to_string(), &change)
        .await
        .unwrap();
    assert_eq!(
        emu.handle.notes(id),
        vec![("Менеджер: счёт выставлен".to_string(), false)]
    );
    let counts = emu.handle.counters();
    assert_eq!(counts.get("POST /orders/{id}/notes").served, 1);
    assert_eq!(counts.get("GET /orders/{id}/notes").served, 2);
    assert_eq!(counts.get("PUT /orders/{id}").served, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn owner_edits_are_not_counted_and_are_read_before_writing() {
    let emu = emulator(None).await;
    let c = client(&emu);
    let id = pending_order(&c).await;
    emu.handle.counters().reset();
    emu.handle
        .owner_edit(id, &json!({"status": "on-hold"}))
        .unwrap();
    assert_eq!(emu.handle.counters().get("PUT /orders/{id}").calls, 0);

    // The engine wants on-hold too: the shop already has it, so nothing is written.
    let change = OrderChange {
        status: Some("on-hold".into()),
        ..OrderChange::default()
    };
    let got = OrderSink::update_order(&c, &id.to_string(), &change)
        .await
        .unwrap();
    assert_eq!(got.status, "on-hold");
    assert_eq!(emu.handle.counters().get("PUT /orders/{id}").calls, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn bad_ids_and_bad_changes_are_classified() {
    let emu = emulator(None).await;
    let c = client(&emu);
    let id = pending_order(&c).await;
    let change = OrderChange {
        status: Some("completed".into()),
        ..OrderChange::default()
    };
    let e = OrderSink::update_order(&c, "999999", &change)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let e = OrderSink::update_order(&c, "abc", &change)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);

    // A status WooCommerce does not know: 400 rest_invalid_param, not retried.
    let bad = OrderChange {
        status: Some("shipped".into()),
        ..OrderChange::default()
    };
    let e = OrderSink::update_order(&c, &id.to_string(), &bad)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("rest_invalid_param"), "{}", e.message);
    emu.shutdown().await;
}

#[tokio::test]
async fn an_on_hold_order_is_paid_by_moving_it_to_processing() {
    let emu = emulator(None).await;
    let c = client(&emu);
    let id = pending_order(&c).await;
    emu.handle
        .owner_edit(id, &json!({"status": "on-hold"}))
        .unwrap();
    // As in WooCommerce, `set_paid` on update does nothing to an on-hold order
    // (`needs_payment()` is false): the emulator keeps it on-hold and unpaid.
    let raw = c
        .update_order(id, &json!({"set_paid": true}))
        .await
        .unwrap();
    assert_eq!(raw.status, "on-hold");
    assert!(raw.date_paid_gmt.is_none());

    let got = OrderSink::update_order(
        &c,
        &id.to_string(),
        &OrderChange {
            paid: Some(true),
            ..OrderChange::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(got.status, "processing");
    assert!(got.paid_at.is_some());
    assert_eq!(c.payments_of(&id.to_string()).await.unwrap().len(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn emulator_keeps_line_amounts_on_a_quantity_only_update_and_removes_by_null_product() {
    let emu = emulator(None).await;
    let c = client(&emu);
    let id = pending_order(&c).await;
    let o = c.get_order(id).await.unwrap();
    let grinder = o.line_items[0].id;
    let shirt = o.line_items[1].id;
    // WooCommerce prices a line only when creating it: a new quantity alone keeps the amounts.
    let o = c
        .update_order(id, &json!({"line_items": [{"id": grinder, "quantity": 3}]}))
        .await
        .unwrap();
    assert_eq!(o.line_items[0].quantity.to_string(), "3");
    assert_eq!(o.line_items[0].total, "3799.80");
    assert_eq!(o.line_items[0].price.to_string(), "1266.6");
    // `product_id: null` removes an item; leaving it out of the body would change nothing.
    let o = c
        .update_order(
            id,
            &json!({"line_items": [{"id": shirt, "product_id": null}]}),
        )
        .await
        .unwrap();
    assert_eq!(o.line_items.len(), 1);
    assert_eq!(o.total, "4149.80");
    // An unknown item id is refused.
    let e = c
        .update_order(id, &json!({"line_items": [{"id": 1, "quantity": 1}]}))
        .await
        .unwrap_err();
    assert!(
        e.message.contains("woocommerce_rest_invalid_item_id"),
        "{}",
        e.message
    );
    emu.shutdown().await;
}
