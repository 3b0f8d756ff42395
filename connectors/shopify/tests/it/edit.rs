//! Line edits through GraphQL order editing, against the emulator over loopback: what the
//! order looks like afterwards (REST and canonical, exact decimals), and how many calls it took.
//!
//! The order every test starts from (shop tax 6 %, not included):
//! House Blend 250g (variant 808950810, SKU HB-250) 12.50 × 2 = 25.00, tax 1.50;
//! House Blend 1kg (808950811, HB-1000) 39.90 × 1, tax 2.39; custom "Mug" 10.00 × 1, tax 0.60.
//! Lines 74.90, tax 4.49, total 79.39.

use axum::routing::post;
use axum::Router;
use dealbridge_sdk::model::{ExternalRef, Order, OrderChange, OrderLine};
use dealbridge_sdk::traits::OrderSink;
use dealbridge_sdk::ErrorKind;
use dealbridge_shopify::emulator::RunningEmulator;
use dealbridge_shopify::order_edit::STAFF_NOTE;
use dealbridge_shopify::ShopifyClient;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const HB_250: u64 = 808_950_810;
const HB_1000: u64 = 808_950_811;
const ER_BEANS: u64 = 808_950_820;

async fn start() -> (RunningEmulator, ShopifyClient) {
    let (emu, client) = crate::common::start().await;
    (emu, client.with_system_name("shop"))
}

/// Creates the order above and returns its id and its canonical form.
async fn order(c: &ShopifyClient) -> (u64, Order) {
    let id = c
        .create_order(&json!({
            "financial_status": "pending",
            "line_items": [
                {"variant_id": HB_250, "quantity": 2},
                {"variant_id": HB_1000, "quantity": 1},
                {"title": "Mug", "price": "10.00", "quantity": 1}
            ]
        }))
        .await
        .unwrap()
        .id;
    let current = OrderSink::update_order(c, &id.to_string(), &OrderChange::default())
        .await
        .unwrap();
    assert_eq!(current.total, dec!(79.39));
    (id, current)
}

fn lines_change(lines: Vec<OrderLine>) -> OrderChange {
    OrderChange {
        lines: Some(lines),
        ..OrderChange::default()
    }
}

/// The line whose SKU (or, for custom items, name) is `key`.
fn line<'a>(o: &'a Order, key: &str) -> &'a OrderLine {
    o.lines
        .iter()
        .find(|l| l.sku.as_deref() == Some(key) || l.name == key)
        .unwrap_or_else(|| panic!("no line {key} in {:?}", o.lines))
}

fn new_line(
    item: Option<u64>,
    sku: Option<&str>,
    name: &str,
    qty: i64,
    price: Decimal,
) -> OrderLine {
    OrderLine {
        item: item.map(|id| ExternalRef {
            system: "shop".into(),
            id: id.to_string(),
        }),
        sku: sku.map(str::to_string),
        name: name.into(),
        quantity: Decimal::from(qty),
        unit_price: price,
        total: price * Decimal::from(qty),
        tax: Decimal::ZERO,
    }
}

fn graphql_calls(emu: &RunningEmulator) -> u64 {
    emu.handle.counters().get("POST /graphql.json").calls
}

fn op(emu: &RunningEmulator, field: &str) -> u64 {
    emu.handle
        .counters()
        .get(&format!("graphql {field}"))
        .served
}

/// Updates the order with `lines`, then checks that the same lines again cost no GraphQL call
/// (the edit reads back as made, so the engine will not repeat it).
async fn edit(emu: &RunningEmulator, c: &ShopifyClient, id: u64, lines: Vec<OrderLine>) -> Order {
    let got = OrderSink::update_order(c, &id.to_string(), &lines_change(lines))
        .await
        .unwrap();
    let before = graphql_calls(emu);
    let again = OrderSink::update_order(c, &id.to_string(), &lines_change(got.lines.clone()))
        .await
        .unwrap();
    assert_eq!(
        graphql_calls(emu),
        before,
        "an unchanged line list makes no GraphQL call"
    );
    assert_eq!(again, got);
    got
}

#[tokio::test]
async fn quantity_change_is_one_set_quantity_and_reads_back() {
    let (emu, c) = start().await;
    let (id, current) = order(&c).await;
    emu.handle.counters().reset();
    let mut wanted = current.lines.clone();
    wanted[0].quantity = dec!(3);
    let got = edit(&emu, &c, id, wanted).await;

    // begin + 1 change + commit.
    assert_eq!(op(&emu, "orderEditBegin"), 1);
    assert_eq!(op(&emu, "orderEditSetQuantity"), 1);
    assert_eq!(op(&emu, "orderEditCommit"), 1);
    assert_eq!(graphql_calls(&emu), 3);

    let hb = line(&got, "HB-250");
    assert_eq!(
        (hb.quantity, hb.total, hb.tax),
        (dec!(3), dec!(37.50), dec!(2.25))
    );
    assert_eq!(got.tax_total, dec!(5.24));
    assert_eq!(got.total, dec!(92.64));

    // REST keeps the ordered quantity and shows the edit in current_quantity / current_*.
    let rest = c.get_order(id).await.unwrap();
    let li = rest
        .line_items
        .iter()
        .find(|l| l.variant_id == Some(HB_250))
        .unwrap();
    assert_eq!(
        (li.quantity, li.current_quantity, li.fulfillable_quantity),
        (2, Some(3), Some(3))
    );
    assert_eq!(rest.total_price, dec!(79.39));
    assert_eq!(rest.current_total_price, Some(dec!(92.64)));
    assert_eq!(rest.current_subtotal_price, Some(dec!(87.40)));
    assert_eq!(rest.current_total_tax, Some(dec!(5.24)));
    let check = dealbridge_shopify::convert::check_totals(&rest);
    assert!(check.edited);
    assert!(check.is_consistent(), "{:?}", check.discrepancies);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_line_left_out_is_removed_and_restocked() {
    let (emu, c) = start().await;
    let (id, current) = order(&c).await;
    emu.handle.counters().reset();
    let wanted: Vec<OrderLine> = current
        .lines
        .iter()
        .filter(|l| l.sku.as_deref() != Some("HB-1000"))
        .cloned()
        .collect();
    let got = edit(&emu, &c, id, wanted).await;
    assert_eq!(graphql_calls(&emu), 3);
    assert_eq!(got.lines.len(), 2);
    assert!(got
        .lines
        .iter()
        .all(|l| l.sku.as_deref() != Some("HB-1000")));
    assert_eq!(got.tax_total, dec!(2.10));
    assert_eq!(got.total, dec!(37.10));
    let rest = emu.handle.order(id).unwrap();
    let li = rest
        .line_items
        .iter()
        .find(|l| l.variant_id == Some(HB_1000))
        .unwrap();
    assert_eq!((li.quantity, li.current_quantity), (1, Some(0)));
    let session = &emu.handle.edit_sessions(id)[0];
    assert!(session.committed);
    assert!(session
        .lines
        .iter()
        .any(|l| l.variant_id == Some(HB_1000) && l.restock));
    emu.shutdown().await;
}

#[tokio::test]
async fn variants_are_added_by_item_and_by_sku() {
    let (emu, c) = start().await;
    let (id, current) = order(&c).await;
    emu.handle.counters().reset();
    let mut wanted = current.lines.clone();
    wanted.push(new_line(
        Some(ER_BEANS),
        None,
        "Espresso Roast - Beans",
        2,
        dec!(14.75),
    ));
    wanted.push(new_line(
        None,
        Some("POK-1"),
        "Pour-over Kit",
        1,
        dec!(45.99),
    ));
    let got = edit(&emu, &c, id, wanted).await;

    assert_eq!(op(&emu, "orderEditAddVariant"), 2);
    assert_eq!(graphql_calls(&emu), 4, "begin + 2 adds + commit");
    assert_eq!(
        emu.handle.counters().get("GET /products.json").served,
        1,
        "one catalog read resolves the SKU"
    );
    let er = line(&got, "ER-B");
    assert_eq!(er.item.as_ref().unwrap().id, ER_BEANS.to_string());
    assert_eq!(
        (er.quantity, er.total, er.tax),
        (dec!(2), dec!(29.50), dec!(1.77))
    );
    let kit = line(&got, "POK-1");
    assert_eq!(kit.item.as_ref().unwrap().id, "808950830");
    assert_eq!(
        (kit.quantity, kit.total, kit.tax),
        (dec!(1), dec!(45.99), dec!(2.76))
    );
    assert_eq!(got.lines.len(), 5);
    assert_eq!(got.tax_total, dec!(9.02));
    assert_eq!(got.total, dec!(159.41));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_free_text_row_becomes_an_untaxed_custom_item() {
    let (emu, c) = start().await;
    let (id, current) = order(&c).await;
    emu.handle.counters().reset();
    let mut wanted = current.lines.clone();
    wanted.push(new_line(None, None, "Gift wrap", 2, dec!(5.00)));
    let got = edit(&emu, &c, id, wanted).await;
    assert_eq!(op(&emu, "orderEditAddCustomItem"), 1);
    assert_eq!(graphql_calls(&emu), 3);
    assert_eq!(emu.handle.counters().get("GET /products.json").calls, 0);
    let wrap = line(&got, "Gift wrap");
    assert_eq!(wrap.item, None);
    assert_eq!(
        (wrap.quantity, wrap.unit_price, wrap.total, wrap.tax),
        (dec!(2), dec!(5), dec!(10.00), dec!(0))
    );
    assert_eq!(got.tax_total, dec!(4.49));
    assert_eq!(got.total, dec!(89.39));
    let rest = emu.handle.order(id).unwrap();
    let li = rest
        .line_items
        .iter()
        .find(|l| l.title == "Gift wrap")
        .unwrap();
    assert!(!li.taxable && !li.requires_shipping && li.variant_id.is_none());
    emu.shutdown().await;
}

#[tokio::test]
async fn unchanged_lines_make_no_graphql_call() {
    let (emu, c) = start().await;
    let (id, current) = order(&c).await;
    emu.handle.counters().reset();
    // Same lines, in another order, with the item dropped from one (matched by SKU).
    let mut wanted = current.lines.clone();
    wanted.reverse();
    wanted[2].item = None;
    OrderSink::update_order(&c, &id.to_string(), &lines_change(wanted))
        .await
        .unwrap();
    assert_eq!(graphql_calls(&emu), 0);
    assert!(emu.handle.edit_sessions(id).is_empty());
    assert_eq!(emu.handle.counters().get("GET /orders/{id}").served, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_refused_step_is_invalid_and_nothing_is_committed() {
    let (emu, c) = start().await;
    let (id, current) = order(&c).await;
    let before = emu.handle.order(id).unwrap();
    emu.handle.counters().reset();
    let mut wanted = current.lines.clone();
    wanted[0].quantity = dec!(5);
    wanted.push(new_line(Some(999), None, "Ghost", 1, dec!(1.00)));
    let change = OrderChange {
        lines: Some(wanted),
        note: Some("should not be written".into()),
        ..OrderChange::default()
    };
    let e = OrderSink::update_order(&c, &id.to_string(), &change)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    for part in [
        &format!("order {id}"),
        "orderEditAddVariant",
        "variant 999",
        "variantId:",
        "not committed",
    ] {
        assert!(
            e.message.contains(part),
            "{part} missing from {}",
            e.message
        );
    }
    assert_eq!(op(&emu, "orderEditBegin"), 1);
    assert_eq!(op(&emu, "orderEditSetQuantity"), 1);
    assert_eq!(
        emu.handle.counters().get("graphql orderEditCommit").calls,
        0
    );
    assert_eq!(emu.handle.counters().get("PUT /orders/{id}").calls, 0);
    assert_eq!(
        emu.handle.order(id).unwrap(),
        before,
        "the order is unchanged"
    );
    assert!(!emu.handle.edit_sessions(id)[0].committed);

    // A negative quantity is refused before any call.
    let mut neg = current.lines.clone();
    neg[0].quantity = dec!(-1);
    emu.handle.counters().reset();
    let e = OrderSink::update_order(&c, &id.to_string(), &lines_change(neg))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("quantity -1"), "{}", e.message);
    assert_eq!(graphql_calls(&emu), 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn the_emulator_speaks_shopify_graphql() {
    let (emu, c) = start().await;
    let (id, _) = order(&c).await;
    let begin = "mutation b($id: ID!) { orderEditBegin(id: $id) { calculatedOrder { id lineItems(first: 5) { nodes { id quantity } } } userErrors { field message } } }";
    let got = c
        .graphql::<Value>(
            "begin",
            begin,
            json!({"id": format!("gid://shopify/Order/{id}")}),
        )
        .await
        .unwrap();
    let calc = &got.data["orderEditBegin"]["calculatedOrder"];
    assert_eq!(calc["lineItems"]["nodes"].as_array().unwrap().len(), 3);
    let cost = got.cost.unwrap();
    assert_eq!(cost.actual_query_cost, Some(10.0));
    let t = cost.throttle_status.unwrap();
    assert_eq!((t.maximum_available, t.restore_rate), (1000.0, 50.0));

    // A negative quantity is a userError naming the field, not a failed request.
    let set = "mutation s($id: ID!, $lineItemId: ID!, $quantity: Int!) { orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity) { userErrors { field message } } }";
    let got = c
        .graphql::<Value>(
            "set",
            set,
            json!({"id": calc["id"], "lineItemId": calc["lineItems"]["nodes"][0]["id"], "quantity": -1}),
        )
        .await
        .unwrap();
    assert_eq!(
        got.data["orderEditSetQuantity"]["userErrors"][0]["field"],
        json!(["quantity"])
    );

    // An unknown root field is a top-level error (HTTP 200): Invalid.
    let e = c
        .graphql::<Value>("shop", "query { shop { name } }", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("'shop'"), "{}", e.message);
    emu.shutdown().await;
}

#[tokio::test]
async fn throttled_is_rate_limited_with_the_restore_time() {
    let (emu, c) = start().await;
    let (id, current) = order(&c).await;
    emu.handle.set_graphql_available(0.0);
    let mut wanted = current.lines.clone();
    wanted[0].quantity = dec!(4);
    let e = OrderSink::update_order(&c, &id.to_string(), &lines_change(wanted.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert!(e.should_retry());
    // 10 points missing at 50 a second: about 200 ms.
    let wait = e.retry_after.unwrap();
    assert!(
        wait >= Duration::from_millis(100) && wait <= Duration::from_millis(200),
        "{wait:?}"
    );
    assert!(emu.handle.edit_sessions(id).is_empty());
    // Refill rather than wait: the retry needs begin + change + commit, 30 points.
    emu.handle.set_graphql_available(1000.0);
    let got = OrderSink::update_order(&c, &id.to_string(), &lines_change(wanted))
        .await
        .unwrap();
    assert_eq!(line(&got, "HB-250").quantity, dec!(4));
    emu.shutdown().await;
}

#[tokio::test]
async fn commit_fires_orders_updated_with_the_edited_order() {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = got.clone();
    let app = Router::new().route(
        "/hooks",
        post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                sink.lock()
                    .unwrap()
                    .push(serde_json::from_slice(&body).unwrap());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (emu, c) = start().await;
    let (id, current) = order(&c).await;
    emu.handle.set_webhook_url(Some(url));
    let updated_before = emu.handle.order(id).unwrap().updated_at;
    emu.handle.advance_clock(Duration::from_secs(5));
    let mut wanted = current.lines.clone();
    wanted[2].quantity = dec!(3);
    OrderSink::update_order(&c, &id.to_string(), &lines_change(wanted))
        .await
        .unwrap();
    assert!(emu.handle.order(id).unwrap().updated_at > updated_before);
    for _ in 0..100 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let deliveries = emu.handle.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].topic, "orders/updated");
    let body = got.lock().unwrap()[0].clone();
    assert_eq!(body["id"], json!(id));
    assert_eq!(body["current_total_price"], json!("100.59"));
    let mug = body["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == "Mug")
        .unwrap()
        .clone();
    assert_eq!(
        (mug["quantity"].clone(), mug["current_quantity"].clone()),
        (json!(1), json!(3))
    );
    let session = &emu.handle.edit_sessions(id)[0];
    assert_eq!(session.staff_note.as_deref(), Some(STAFF_NOTE));
    assert_eq!(session.notify_customer, Some(false));
    emu.shutdown().await;
}
