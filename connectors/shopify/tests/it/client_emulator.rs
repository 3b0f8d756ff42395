//! The client against the emulator over loopback: cursor paging, delta by `updated_at_min`,
//! auth, the leaky bucket and 429s, writes, and injected faults.

use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::traits::OrderSource;
use dealbridge_sdk::ErrorKind;
use dealbridge_shopify::emulator::{spawn, EmulatorConfig};
use dealbridge_shopify::{ListOrders, ShopifyClient, API_VERSION};
use rust_decimal_macros::dec;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::common::{start, timeouts};

#[tokio::test]
async fn pages_through_three_pages_by_cursor() {
    let (emu, client) = start().await;
    let seeded: BTreeSet<u64> = emu.handle.seed_orders(7, 42).into_iter().collect();
    let mut q = ListOrders {
        limit: 3,
        ..ListOrders::default()
    };
    let mut sizes = Vec::new();
    let mut seen = BTreeSet::new();
    loop {
        let page = client.list_orders(&q).await.unwrap();
        sizes.push(page.orders.len());
        for o in &page.orders {
            assert!(seen.insert(o.id), "order {} twice", o.id);
        }
        match page.next_page_info {
            Some(cursor) => q.page_info = Some(cursor),
            None => break,
        }
    }
    assert_eq!(sizes, vec![3, 3, 1]);
    assert_eq!(seen, seeded);

    // The same through the page-number trait: the client maps page numbers to cursors.
    let p1 = client.orders_modified_since(None, 1, 3).await.unwrap();
    let p2 = client.orders_modified_since(None, 2, 3).await.unwrap();
    let p3 = client.orders_modified_since(None, 3, 3).await.unwrap();
    assert_eq!(
        (p1.next_page, p2.next_page, p3.next_page),
        (Some(2), Some(3), None)
    );
    let ids: BTreeSet<u64> = [p1, p2, p3]
        .iter()
        .flat_map(|p| p.items.iter().map(|o| o.source.id.parse::<u64>().unwrap()))
        .collect();
    assert_eq!(ids, seeded);
    // A page never visited by this client is reached by walking from page 1.
    let fresh = ShopifyClient::new(&emu.base_url, "shpat_test", timeouts()).unwrap();
    let p3_again = fresh.orders_modified_since(None, 3, 3).await.unwrap();
    assert_eq!(p3_again.items.len(), 1);
}

#[tokio::test]
async fn page_info_must_come_alone() {
    let (emu, client) = start().await;
    emu.handle.seed_orders(4, 1);
    let page = client
        .list_orders(&ListOrders {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    let cursor = page.next_page_info.unwrap();
    let url = format!(
        "{}/admin/api/{API_VERSION}/orders.json?limit=2&status=any&page_info={cursor}",
        emu.base_url
    );
    let resp = reqwest::Client::new()
        .get(url)
        .header("X-Shopify-Access-Token", "shpat_test")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["errors"]["page_info"].is_string(), "{body}");
}

#[tokio::test]
async fn delta_by_updated_at_min() {
    let (emu, client) = start().await;
    let ids = emu.handle.seed_orders(5, 7);
    emu.handle.advance_clock(Duration::from_secs(60));
    let a = client
        .set_order_note(ids[1], "call the buyer")
        .await
        .unwrap();
    let b = client
        .set_order_tags(ids[3], &["vip", "wholesale"])
        .await
        .unwrap();
    assert_eq!(a.note.as_deref(), Some("call the buyer"));
    assert_eq!(b.tags, "vip, wholesale");
    let since = a.updated_at.with_timezone(&chrono::Utc);
    let page = client
        .list_orders(&ListOrders {
            updated_at_min: Some(since),
            ..Default::default()
        })
        .await
        .unwrap();
    let got: Vec<u64> = page.orders.iter().map(|o| o.id).collect();
    assert_eq!(got, vec![ids[1], ids[3]]);
    let canon = client
        .orders_modified_since(Some(since), 1, 50)
        .await
        .unwrap();
    assert_eq!(canon.items.len(), 2);
}

#[tokio::test]
async fn wrong_token_is_an_auth_error() {
    let (emu, _) = start().await;
    let bad = ShopifyClient::new(&emu.base_url, "shpat_wrong", timeouts()).unwrap();
    let e = bad.get_order(1).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(
        e.message.contains("Invalid API key or access token"),
        "{}",
        e.message
    );
    assert!(!e.should_retry());
}

#[tokio::test]
async fn bucket_header_is_read_and_a_burst_gets_429_with_retry_after() {
    let (emu, _) = start().await;
    let ids = emu.handle.seed_orders(1, 3);
    // No pacing: this client sends as fast as it can and meets the bucket.
    let client = ShopifyClient::new(&emu.base_url, "shpat_test", timeouts())
        .unwrap()
        .with_bucket(2.0, false);
    client.get_order(ids[0]).await.unwrap();
    assert_eq!(client.last_call_limit(), Some((1, 40)));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let c = client.clone();
        let id = ids[0];
        set.spawn(async move { c.get_order(id).await });
    }
    let mut limited = Vec::new();
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => limited.push(e),
        }
    }
    assert!(
        !limited.is_empty(),
        "51 calls in a burst must overflow a 40 bucket"
    );
    assert!(ok >= 38, "{ok} succeeded");
    for e in &limited {
        assert_eq!(e.kind, ErrorKind::RateLimited, "{e}");
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
        assert!(e.should_retry());
    }
    assert_eq!(client.last_call_limit().map(|l| l.1), Some(40));
    assert!(emu.handle.bucket_level().0 >= 38);
}

#[tokio::test]
async fn the_client_slows_down_as_the_bucket_fills() {
    let (emu, _) = start().await;
    let ids = emu.handle.seed_orders(1, 3);
    let burst = ShopifyClient::new(&emu.base_url, "shpat_test", timeouts())
        .unwrap()
        .with_bucket(2.0, false);
    for _ in 0..37 {
        burst.get_order(ids[0]).await.unwrap();
    }
    let paced = ShopifyClient::new(&emu.base_url, "shpat_test", timeouts()).unwrap();
    paced.get_order(ids[0]).await.unwrap(); // learns the level: ~38/40
    let t = Instant::now();
    paced.get_order(ids[0]).await.unwrap();
    paced.get_order(ids[0]).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(600),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(emu.handle.counters().get("GET /orders/{id}").calls, 40);
}

#[tokio::test]
async fn writes_transactions_products_and_inventory() {
    let (_emu, client) = start().await;
    let created = client
        .create_order(&serde_json::json!({
            "email": "anna@example.com",
            "line_items": [{"variant_id": 808950810u64, "quantity": 2}, {"title": "Gift wrap", "price": "3.50", "quantity": 1}],
            "shipping_lines": [{"title": "Standard", "price": "5.00"}],
            "financial_status": "paid"
        }))
        .await
        .unwrap();
    // 2 × 12.50 + 3.50 + 5.00 shipping + 6 % tax on each part (1.50 + 0.21 + 0.30).
    assert_eq!(created.total_price, dec!(35.51));
    assert!(dealbridge_shopify::convert::check_totals(&created).is_consistent());
    let tx = client.list_transactions(created.id).await.unwrap();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].kind.as_str(), tx[0].amount), ("sale", dec!(35.51)));

    let closed = client.close_order(created.id).await.unwrap();
    assert!(closed.closed_at.is_some());
    let cancelled = client
        .cancel_order(created.id, Some("customer"))
        .await
        .unwrap();
    assert_eq!(cancelled.cancel_reason.as_deref(), Some("customer"));
    let again = client.cancel_order(created.id, None).await.unwrap_err();
    assert_eq!(again.kind, ErrorKind::Invalid);
    assert!(
        again.message.contains("already been cancelled"),
        "{}",
        again.message
    );

    let products = client.list_products(50).await.unwrap();
    let variant = &products[0].variants[0];
    let v = client
        .update_variant_price(variant.id, dec!(13.75))
        .await
        .unwrap();
    assert_eq!(v.price, dec!(13.75));
    let item = variant.inventory_item_id.unwrap();
    let level = client
        .set_inventory_level(item, 905_684_977, 17)
        .await
        .unwrap();
    assert_eq!(level.available, Some(17));
    let levels = client.list_inventory_levels(&[item], &[]).await.unwrap();
    assert_eq!(levels[0].available, Some(17));
    let missing = client.get_order(1).await.unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn injected_faults_are_classified_transient() {
    let (emu, client) = start().await;
    emu.handle.faults().set(FaultConfig {
        drop_rate: 1.0,
        ..Default::default()
    });
    let e = client.get_order(1).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    emu.handle.faults().set(FaultConfig {
        error_rate: 1.0,
        ..Default::default()
    });
    let e = client.get_order(1).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    emu.handle.faults().set(FaultConfig {
        throttle_rate: 1.0,
        ..Default::default()
    });
    let e = client.get_order(1).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retry_after),
        (ErrorKind::RateLimited, Some(Duration::from_secs(2)))
    );
    emu.handle.faults().set(FaultConfig::default());
    let e = client.get_order(1).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn a_tax_inclusive_shop_adds_up() {
    let emu = spawn(
        EmulatorConfig {
            taxes_included: true,
            tax_rate: dec!(0.20),
            currency: "EUR".into(),
            ..EmulatorConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let client = ShopifyClient::new(&emu.base_url, "shpat_test", timeouts()).unwrap();
    let o = client
        .create_order(&serde_json::json!({
            "line_items": [{"title": "Mug", "price": "12.00", "quantity": 3}],
            "shipping_lines": [{"title": "Post", "price": "6.00"}]
        }))
        .await
        .unwrap();
    // Prices include 20 % VAT: 36.00 holds 6.00 tax, 6.00 shipping holds 1.00.
    assert_eq!(
        (o.total_price, o.total_tax),
        (dec!(42.00), Some(dec!(7.00)))
    );
    assert!(dealbridge_shopify::convert::check_totals(&o).is_consistent());
    let c = dealbridge_shopify::order_to_canonical("shop", &o).unwrap();
    assert_eq!(
        (c.lines[0].total, c.lines[0].tax, c.lines[0].unit_price),
        (dec!(30.00), dec!(6.00), dec!(10))
    );
    assert_eq!(c.shipping_total, dec!(5.00));
    assert_eq!(
        c.lines[0].total + c.shipping_total + c.tax_total - c.discount_total,
        c.total
    );
}
