//! `OrderSink` and payments against the emulator over loopback: call counts from the
//! emulator's counters, values as they landed.

use dealbridge_sdk::model::OrderChange;
use dealbridge_sdk::traits::OrderSink;
use dealbridge_sdk::ErrorKind;
use dealbridge_shopify::emulator::RunningEmulator;
use dealbridge_shopify::ShopifyClient;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use std::time::Duration;

async fn start() -> (RunningEmulator, ShopifyClient) {
    let (emu, client) = crate::common::start().await;
    (emu, client.with_system_name("shop"))
}

/// An order of two custom items (10.00 × 2 + 5.50) with the given financial status.
async fn order(c: &ShopifyClient, financial_status: &str) -> u64 {
    c.create_order(&json!({
        "financial_status": financial_status,
        "line_items": [
            {"title": "Mug", "price": "10.00", "quantity": 2},
            {"title": "Tea", "price": "5.50", "quantity": 1}
        ]
    }))
    .await
    .unwrap()
    .id
}

fn change() -> OrderChange {
    OrderChange::default()
}

#[tokio::test]
async fn note_is_appended_once() {
    let (emu, c) = start().await;
    let id = order(&c, "paid").await;
    emu.handle.counters().reset();
    let ch = OrderChange {
        note: Some("Счёт выставлен".into()),
        ..change()
    };
    let got = OrderSink::update_order(&c, &id.to_string(), &ch)
        .await
        .unwrap();
    assert_eq!(got.note.as_deref(), Some("Счёт выставлен"));
    OrderSink::update_order(&c, &id.to_string(), &ch)
        .await
        .unwrap();
    let ch2 = OrderChange {
        note: Some("Отгружено".into()),
        ..change()
    };
    OrderSink::update_order(&c, &id.to_string(), &ch2)
        .await
        .unwrap();
    assert_eq!(
        emu.handle.order(id).unwrap().note.as_deref(),
        Some("Счёт выставлен\nОтгружено")
    );
    let counts = emu.handle.counters();
    assert_eq!(counts.get("GET /orders/{id}").served, 3);
    assert_eq!(counts.get("PUT /orders/{id}").served, 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn completed_closes_and_cancelled_cancels_once() {
    let (emu, c) = start().await;
    let id = order(&c, "paid").await;
    emu.handle.counters().reset();
    let done = OrderChange {
        status: Some("completed".into()),
        ..change()
    };
    let got = OrderSink::update_order(&c, &id.to_string(), &done)
        .await
        .unwrap();
    assert_eq!(got.status, "closed");
    assert!(emu.handle.order(id).unwrap().closed_at.is_some());
    OrderSink::update_order(&c, &id.to_string(), &done)
        .await
        .unwrap();
    let counts = emu.handle.counters();
    assert_eq!(counts.get("POST /orders/{id}/close.json").served, 1);

    let other = order(&c, "pending").await;
    let cancel = OrderChange {
        status: Some("cancelled".into()),
        ..change()
    };
    let got = OrderSink::update_order(&c, &other.to_string(), &cancel)
        .await
        .unwrap();
    assert_eq!(got.status, "cancelled");
    OrderSink::update_order(&c, &other.to_string(), &cancel)
        .await
        .unwrap();
    assert_eq!(counts.get("POST /orders/{id}/cancel.json").served, 1);
    assert!(emu.handle.order(other).unwrap().cancelled_at.is_some());

    // A financial status cannot be set directly.
    let bad = OrderChange {
        status: Some("refunded".into()),
        ..change()
    };
    let e = OrderSink::update_order(&c, &id.to_string(), &bad)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    emu.shutdown().await;
}

#[tokio::test]
async fn paid_captures_an_authorization() {
    let (emu, c) = start().await;
    let id = order(&c, "authorized").await;
    emu.handle.counters().reset();
    let paid = OrderChange {
        paid: Some(true),
        ..change()
    };
    let got = OrderSink::update_order(&c, &id.to_string(), &paid)
        .await
        .unwrap();
    assert_eq!(got.status, "paid");
    let txs = emu.handle.transactions(id);
    let auth = txs.iter().find(|t| t.kind == "authorization").unwrap();
    let capture = txs.iter().find(|t| t.kind == "capture").unwrap();
    assert_eq!(capture.parent_id, Some(auth.id));
    assert_eq!(capture.amount, auth.amount);
    assert_eq!(
        emu.handle.order(id).unwrap().financial_status.as_deref(),
        Some("paid")
    );
    // Paid already: one read, nothing written.
    OrderSink::update_order(&c, &id.to_string(), &paid)
        .await
        .unwrap();
    let counts = emu.handle.counters();
    assert_eq!(counts.get("POST /orders/{id}/transactions.json").served, 1);
    assert_eq!(emu.handle.transactions(id).len(), 2);
    emu.shutdown().await;
}

#[tokio::test]
async fn paid_on_a_manual_order_records_an_external_sale() {
    let (emu, c) = start().await;
    let id = order(&c, "pending").await;
    let total = emu.handle.order(id).unwrap().total_price;
    let paid = OrderChange {
        paid: Some(true),
        ..change()
    };
    let got = OrderSink::update_order(&c, &id.to_string(), &paid)
        .await
        .unwrap();
    assert_eq!(got.status, "paid");
    let txs = emu.handle.transactions(id);
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].kind, "sale");
    assert_eq!(txs[0].amount, total);
    assert_eq!(txs[0].gateway.as_deref(), Some("manual"));

    // Status and payment in one change: the sale, then the close.
    let id2 = order(&c, "pending").await;
    let both = OrderChange {
        paid: Some(true),
        status: Some("completed".into()),
        ..change()
    };
    let got = OrderSink::update_order(&c, &id2.to_string(), &both)
        .await
        .unwrap();
    assert_eq!(got.status, "closed");
    assert_eq!(
        emu.handle.order(id2).unwrap().financial_status.as_deref(),
        Some("paid")
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn line_changes_go_first_and_a_refused_one_writes_nothing() {
    let (emu, c) = start().await;
    let id = order(&c, "paid").await;
    let current = OrderSink::update_order(&c, &id.to_string(), &change())
        .await
        .unwrap();
    emu.handle.counters().reset();

    // A fractional quantity is refused before anything is written.
    let mut lines = current.lines.clone();
    lines[0].quantity = Decimal::new(25, 1);
    let ch = OrderChange {
        lines: Some(lines),
        note: Some("x".into()),
        ..change()
    };
    let e = OrderSink::update_order(&c, &id.to_string(), &ch)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("whole numbers"), "{}", e.message);
    assert_eq!(emu.handle.counters().get("PUT /orders/{id}").calls, 0);
    assert_eq!(emu.handle.counters().get("POST /graphql.json").calls, 0);
    assert_eq!(emu.handle.order(id).unwrap().note, None);

    // A whole one is edited, then the note is written on the edited order.
    let mut lines = current.lines.clone();
    lines[0].quantity = Decimal::from(5);
    let ch = OrderChange {
        lines: Some(lines),
        note: Some("x".into()),
        ..change()
    };
    let got = OrderSink::update_order(&c, &id.to_string(), &ch)
        .await
        .unwrap();
    assert_eq!(got.lines[0].quantity, Decimal::from(5));
    assert_eq!(got.total, dec!(58.83), "50.00 + 5.50 + tax 3.00 + 0.33");
    assert_eq!(got.note.as_deref(), Some("x"));
    assert_eq!(
        emu.handle.order(id).unwrap().financial_status.as_deref(),
        Some("partially_paid"),
        "the edit raised the total of a paid order"
    );

    // Marking it paid records the difference as an external sale.
    let paid = OrderSink::update_order(
        &c,
        &id.to_string(),
        &OrderChange {
            paid: Some(true),
            ..change()
        },
    )
    .await
    .unwrap();
    assert_eq!(paid.status, "paid");
    let txs = emu.handle.transactions(id);
    assert_eq!(txs.last().unwrap().kind, "sale");
    assert_eq!(txs.iter().map(|t| t.amount).sum::<Decimal>(), dec!(58.83));
    emu.shutdown().await;
}

#[tokio::test]
async fn payments_are_sales_and_captures_minus_refunds() {
    let (emu, c) = start().await;
    let id = order(&c, "authorized").await;
    assert!(c.payments_of(&id.to_string()).await.unwrap().is_empty());
    OrderSink::update_order(
        &c,
        &id.to_string(),
        &OrderChange {
            paid: Some(true),
            ..change()
        },
    )
    .await
    .unwrap();
    emu.handle.advance_clock(Duration::from_secs(2));
    emu.handle
        .owner_refund(id, dec!(5.00), "broken handle")
        .unwrap();
    emu.handle.counters().reset();

    let total = emu.handle.order(id).unwrap().total_price;
    let payments = c.payments_of(&id.to_string()).await.unwrap();
    let amounts: Vec<Decimal> = payments.iter().map(|p| p.amount.amount).collect();
    assert_eq!(amounts, vec![total, dec!(-5.00)]);
    assert!(payments.iter().all(|p| p.order.id == id.to_string()));
    assert!(payments.iter().all(|p| p.source.system == "shop"));
    assert_eq!(
        emu.handle.order(id).unwrap().financial_status.as_deref(),
        Some("partially_refunded")
    );
    let counts = emu.handle.counters();
    assert_eq!(counts.get("GET /orders/{id}/transactions.json").served, 1);
    assert_eq!(counts.get("GET /orders/{id}").served, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn customers_products_and_tenders_page_by_cursor() {
    let (emu, c) = start().await;
    let ids = emu.handle.seed_orders(20, 7);
    let mut expected: Vec<u64> = ids
        .iter()
        .filter_map(|id| emu.handle.order(*id).unwrap().customer.map(|cu| cu.id))
        .collect();
    expected.sort();
    expected.dedup();
    assert!(expected.len() > 3, "seed has several buyers");

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = c.list_customers_page(3, cursor.as_deref()).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|cu| cu.id));
        match page.next_page_info {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, expected.len().div_ceil(3));
    assert_eq!(
        emu.handle.counters().get("GET /customers.json").served,
        pages as u64
    );
    assert_eq!(c.all_customers().await.unwrap().len(), expected.len());

    let all = c.list_all_products().await.unwrap();
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = c.list_products_page(1, cursor.as_deref()).await.unwrap();
        paged.extend(page.items.into_iter().map(|p| p.id));
        match page.next_page_info {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert!(all.len() > 1);
    assert_eq!(paged, all.iter().map(|p| p.id).collect::<Vec<_>>());

    // A refund shows in refunds.json and as a negative tender transaction.
    let paid = order(&c, "paid").await;
    emu.handle.advance_clock(Duration::from_secs(2));
    emu.handle.owner_refund(paid, dec!(3.00), "late").unwrap();
    let refunds = c.list_refunds(paid).await.unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].transactions[0].amount, dec!(3.00));
    let mut tenders = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = c
            .list_tender_transactions(5, None, cursor.as_deref())
            .await
            .unwrap();
        tenders.extend(page.items);
        match page.next_page_info {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let of_paid: Vec<Decimal> = tenders
        .iter()
        .filter(|t| t.order_id == paid)
        .map(|t| t.amount)
        .collect();
    assert_eq!(
        of_paid,
        vec![emu.handle.order(paid).unwrap().total_price, dec!(-3.00)]
    );
    let times: Vec<_> = tenders.iter().map(|t| t.processed_at).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "oldest first");
    emu.shutdown().await;
}
