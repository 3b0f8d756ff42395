//! Products, variations, customers and the price/stock push against the emulator over real
//! loopback HTTP.

use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::ErrorKind;
use dealbridge_woocommerce::emulator::{spawn, EmulatorConfig, RunningEmulator, API_ROOT};
use dealbridge_woocommerce::wire::{ManageStock, NewLineItem, NewOrder};
use dealbridge_woocommerce::{SkuUpdate, WooClient};
use rust_decimal_macros::dec;
use serde_json::json;
use std::time::Duration;

async fn start() -> (RunningEmulator, WooClient) {
    start_with(EmulatorConfig::default()).await
}

/// An emulated shop set up by `config` on a free loopback port, and a client for it.
pub(crate) async fn start_with(config: EmulatorConfig) -> (RunningEmulator, WooClient) {
    let emu = spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let c = WooClient::new(
        &emu.base_url,
        "ck_test",
        "cs_test",
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(3),
        },
    )
    .unwrap();
    (emu, c)
}

#[tokio::test]
async fn prices_are_pushed_by_sku_in_bulk_writing_only_differences() {
    let (emu, c) = start().await;
    let prices = vec![
        ("KT-1001".to_string(), dec!(2590)),    // simple, was 2490.00
        ("TS-M".to_string(), dec!(999.00)),     // variation 31 of 18, was 990.00
        ("CG-2002".to_string(), dec!(1899.90)), // unchanged
        ("NOPE-1".to_string(), dec!(1)),
    ];
    let report = c.push_prices(&prices).await.unwrap();
    assert_eq!(report.updated, vec!["KT-1001", "TS-M"]);
    assert_eq!(report.unchanged, vec!["CG-2002"]);
    assert_eq!(report.not_found, vec!["NOPE-1"]);
    assert!(report.failed.is_empty());
    let counts = emu.handle.counters();
    assert_eq!(counts.get("GET /products").served, 1);
    assert_eq!(counts.get("POST /products/batch").served, 1);
    assert_eq!(counts.get("POST /products/{id}/variations/batch").served, 1);
    assert_eq!(emu.handle.product(11).unwrap().regular_price, "2590.00");
    assert_eq!(emu.handle.product(11).unwrap().price, "2590.00");
    assert_eq!(emu.handle.product(31).unwrap().regular_price, "999.00");

    // New order lines are priced from the new catalog price.
    let o = c
        .create_order(&NewOrder {
            line_items: vec![NewLineItem {
                sku: Some("KT-1001".into()),
                quantity: Some(1),
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(o.total, "2590.00");

    // The same push again reads once and writes nothing.
    counts.reset();
    let again = c.push_prices(&prices).await.unwrap();
    assert!(again.updated.is_empty());
    assert_eq!(again.unchanged.len(), 3);
    assert_eq!(counts.get("GET /products").served, 1);
    assert_eq!(counts.get("POST /products/batch").calls, 0);
    assert_eq!(counts.get("POST /products/{id}/variations/batch").calls, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn stock_is_pushed_with_manage_stock_and_truncated() {
    let (emu, c) = start().await;
    let report = c
        .push_price_and_stock(&[
            SkuUpdate {
                sku: "KT-1001".into(),
                regular_price: None,
                stock_quantity: Some(dec!(7.9)),
            },
            SkuUpdate {
                sku: "TS-L".into(),
                regular_price: Some(dec!(1100)),
                stock_quantity: Some(dec!(0)),
            },
            SkuUpdate {
                sku: "SG-500".into(),
                regular_price: None,
                stock_quantity: Some(dec!(10)), // as seeded
            },
        ])
        .await
        .unwrap();
    assert_eq!(report.updated, vec!["KT-1001", "TS-L"]);
    assert_eq!(report.unchanged, vec!["SG-500"]);
    let kettle = emu.handle.product(11).unwrap();
    assert_eq!(kettle.stock_quantity, Some(7));
    assert_eq!(kettle.manage_stock, ManageStock::Yes);
    let shirt = emu.handle.product(32).unwrap();
    assert_eq!(shirt.stock_quantity, Some(0));
    assert_eq!(shirt.stock_status, "outofstock");
    assert_eq!(shirt.regular_price, "1100.00");
    emu.shutdown().await;
}

#[tokio::test]
async fn batches_are_split_at_100_and_the_emulator_refuses_more() {
    let (emu, c) = start().await;
    let updates: Vec<_> = (0..101)
        .map(|i| json!({"id": 12, "regular_price": format!("{}.00", 1000 + i)}))
        .collect();
    let results = c.batch_update_products(&updates).await.unwrap();
    assert_eq!(results.len(), 101);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(emu.handle.counters().get("POST /products/batch").served, 2);
    assert_eq!(emu.handle.product(12).unwrap().regular_price, "1100.00");

    // A per-item error is reported inline; a number as regular_price is not a string.
    let results = c
        .batch_update_products(&[
            json!({"id": 999, "regular_price": "1.00"}),
            json!({"id": 13, "regular_price": 5}),
            json!({"id": 31, "regular_price": "1.00"}), // a variation, not a product
        ])
        .await
        .unwrap();
    let errs: Vec<String> = results.into_iter().map(|r| r.unwrap_err()).collect();
    assert!(
        errs[0].starts_with("woocommerce_rest_product_invalid_id"),
        "{errs:?}"
    );
    assert!(errs[1].starts_with("rest_invalid_param"), "{errs:?}");
    assert!(
        errs[2].starts_with("woocommerce_rest_product_invalid_id"),
        "{errs:?}"
    );

    // More than 100 in one request: 413 from the emulator, as WooCommerce answers.
    let resp = reqwest::Client::new()
        .post(format!("{}{API_ROOT}/products/batch", emu.base_url))
        .basic_auth("ck_test", Some("cs_test"))
        .json(&json!({ "update": updates }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    emu.shutdown().await;
}

#[tokio::test]
async fn products_variations_and_customers_page() {
    let (emu, c) = start().await;
    let (p1, total, pages) = c.list_products(1, 4).await.unwrap();
    assert_eq!((p1.len(), total, pages), (4, 9, 3));
    assert_eq!(p1[0].id, 11);
    let (p3, _, _) = c.list_products(3, 4).await.unwrap();
    assert_eq!(p3.iter().map(|p| p.id).collect::<Vec<_>>(), vec![19]);
    let shirt = p1
        .iter()
        .chain(c.list_products(2, 4).await.unwrap().0.iter())
        .find(|p| p.id == 18)
        .cloned()
        .unwrap();
    assert_eq!(shirt.kind, "variable");
    assert_eq!(shirt.variations, vec![31, 32]);
    let (vars, total, _) = c.list_variations(18, 1, 10).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(vars[0].sku, "TS-M");
    assert_eq!(vars[0].parent_id, 18);

    let by_sku = c
        .products_by_sku(&["TS-L".into(), "FP-0600".into()])
        .await
        .unwrap();
    let mut ids: Vec<u64> = by_sku.iter().map(|p| p.id).collect();
    ids.sort();
    assert_eq!(ids, vec![13, 32]);

    let (cs, total, pages) = c.list_customers(1, 3).await.unwrap();
    assert_eq!((cs.len(), total, pages), (3, 4, 2));
    assert_eq!(cs.iter().map(|c| c.id).collect::<Vec<_>>(), vec![2, 3, 5]);
    let (rest, _, _) = c.list_customers(2, 3).await.unwrap();
    assert_eq!(rest[0].id, 7);
    let ivan = c.get_customer(2).await.unwrap();
    assert_eq!(ivan.email, "ivan.petrov@example.com");
    assert_eq!(ivan.billing.city, "Екатеринбург");
    let e = c.get_customer(999).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    let e = c.list_products(1, 0).await.map(|_| ());
    assert!(e.is_ok(), "per_page is clamped to 1..=100");
    assert_eq!(emu.handle.counters().get("GET /customers").served, 2);
    emu.shutdown().await;
}
