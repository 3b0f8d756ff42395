//! Price and stock push by SKU against the emulator over loopback: what is written, what is
//! read back, how many calls it takes, and the per-SKU outcomes (not found, duplicate SKU,
//! truncated and negative stock, untracked variants, refused values), the stock location, and
//! paging over more than one page of products.

use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::model::SkuUpdate;
use dealbridge_sdk::traits::StorePricePush;
use dealbridge_sdk::ErrorKind;
use dealbridge_shopify::emulator::store::{SeedVariant, LOCATION_ID};
use dealbridge_shopify::emulator::EmulatorHandle;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::sync::Arc;

const PRODUCTS: &str = "GET /products.json";
const LOCATIONS: &str = "GET /locations.json";
const LOCATION: &str = "GET /locations/{id}";
const LEVELS: &str = "GET /inventory_levels.json";
const VARIANT_PUT: &str = "PUT /variants/{id}";
const LEVEL_SET: &str = "POST /inventory_levels/set.json";
const BULK_UPDATE: &str = "graphql productVariantsBulkUpdate";
const STOCK_SET: &str = "graphql inventorySetQuantities";

use crate::common::start;

fn upd(sku: &str, price: Option<Decimal>, stock: Option<Decimal>) -> SkuUpdate {
    SkuUpdate {
        sku: sku.to_string(),
        regular_price: price,
        stock_quantity: stock,
    }
}

fn served(h: &EmulatorHandle, route: &str) -> u64 {
    h.counters().get(route).served
}

/// Writes made (`productVariantsBulkUpdate` calls, `inventorySetQuantities` calls); the REST
/// write routes are not used any more.
fn writes(h: &EmulatorHandle) -> (u64, u64) {
    assert_eq!(served(h, VARIANT_PUT), 0, "no REST variant PUT");
    assert_eq!(served(h, LEVEL_SET), 0, "no REST level set");
    (served(h, BULK_UPDATE), served(h, STOCK_SET))
}

/// Stock of the variant with `sku` at `location`.
fn stock_of(h: &EmulatorHandle, sku: &str, location: u64) -> Option<i64> {
    let item = h.variant_by_sku(sku).unwrap().inventory_item_id.unwrap();
    h.inventory_level(item, location)
}

/// A one-variant product whose stock Shopify does not track (SKU `LOOSE`, 5.00, 4 on hand).
fn add_loose(h: &EmulatorHandle) -> dealbridge_shopify::wire::ShopifyProduct {
    h.add_product(
        "Loose",
        &[SeedVariant {
            sku: "LOOSE".into(),
            price: dec!(5),
            stock: 4,
            tracked: false,
        }],
    )
}

#[tokio::test]
async fn writes_differing_price_and_stock_then_nothing_on_an_identical_push() {
    let (emu, client) = start().await;
    let h = &emu.handle;
    // Seeded: HB-250 12.50 / 100, ER-B 14.75 / 60, HB-1000 39.90 / 40. HB-250 is given twice:
    // the price of the first entry and the stock of the second are wanted.
    let items = vec![
        upd("HB-250", Some(dec!(13.00)), Some(dec!(7))),
        upd("ER-B", Some(dec!(15.10)), Some(dec!(61))),
        upd("HB-250", None, Some(dec!(8))),
    ];
    let report = client.push_price_and_stock(&items).await.unwrap();
    assert_eq!(report.updated, vec!["ER-B", "HB-250"]);
    assert!(report.unchanged.is_empty() && report.not_found.is_empty() && report.failed.is_empty());

    let hb = h.variant_by_sku("HB-250").unwrap();
    assert_eq!(hb.price, dec!(13.00));
    assert_eq!(stock_of(h, "HB-250", LOCATION_ID), Some(8));
    assert_eq!(hb.inventory_quantity, Some(8));
    assert_eq!(h.variant_by_sku("ER-B").unwrap().price, dec!(15.10));
    assert_eq!(stock_of(h, "ER-B", LOCATION_ID), Some(61));

    // One location read, one product page, one level read; HB-250 and ER-B are on two
    // products: two bulk price updates, and one stock call for both.
    assert_eq!(served(h, LOCATIONS), 1);
    assert_eq!(served(h, PRODUCTS), 1);
    assert_eq!(served(h, LEVELS), 1);
    assert_eq!(writes(h), (2, 1));

    // The same again, through the trait object the engine holds, plus a price equal as a
    // decimal but not as text (39.9 vs "39.90"): reads only, nothing written, and the stock
    // location is not looked up again.
    h.counters().reset();
    let push: Arc<dyn StorePricePush> = Arc::new(client.clone());
    let mut again = items.clone();
    again.push(upd("HB-1000", Some(dec!(39.9)), None));
    let report = push.push_price_and_stock(&again).await.unwrap();
    assert_eq!(report.unchanged, vec!["ER-B", "HB-1000", "HB-250"]);
    assert!(report.updated.is_empty());
    assert_eq!(writes(h), (0, 0));
    assert_eq!(served(h, LOCATIONS), 0);
    assert_eq!(served(h, PRODUCTS), 1);
    assert_eq!(served(h, LEVELS), 1);

    // 1C's four decimals: rounded to cents (half away from zero) before comparing, so the
    // price is written once and the next night finds it unchanged.
    h.counters().reset();
    let four = [upd("HB-1000", Some(dec!(41.2350)), None)];
    let report = client.push_price_and_stock(&four).await.unwrap();
    assert_eq!(report.updated, vec!["HB-1000"]);
    assert_eq!(h.variant_by_sku("HB-1000").unwrap().price, dec!(41.24));
    let report = client.push_price_and_stock(&four).await.unwrap();
    assert_eq!(report.unchanged, vec!["HB-1000"]);
    assert_eq!(writes(h), (1, 0));

    // Nothing asked, nothing sent.
    h.counters().reset();
    let empty = client.push_price_and_stock(&[]).await.unwrap();
    assert_eq!(empty, Default::default());
    assert!(h.counters().snapshot().is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn per_sku_outcomes_not_found_duplicate_fractional_negative_untracked() {
    let (emu, client) = start().await;
    let h = &emu.handle;
    let seed = |sku: &str, tracked: bool| SeedVariant {
        sku: sku.to_string(),
        price: dec!(5.00),
        stock: 4,
        tracked,
    };
    let dup_a = h.add_product("Dup A", &[seed("DUP", true)]).variants[0].id;
    let dup_b = h.add_product("Dup B", &[seed("DUP", true)]).variants[0].id;
    h.add_product("Loose", &[seed("LOOSE", false)]);
    let items = vec![
        upd("NOPE", Some(dec!(1)), None),
        upd("DUP", Some(dec!(2)), Some(dec!(2))),
        upd("POK-1", None, Some(dec!(3.7))),
        upd("ER-G", None, Some(dec!(-2.5))),
        upd("LOOSE", None, Some(dec!(9))),
    ];
    let report = client.push_price_and_stock(&items).await.unwrap();
    assert_eq!(report.not_found, vec!["NOPE"]);
    assert_eq!(report.failed.len(), 1, "{:?}", report.failed);
    let (sku, why) = &report.failed[0];
    assert_eq!(sku, "DUP");
    assert!(
        why.contains(&dup_a.to_string()) && why.contains(&dup_b.to_string()),
        "{why}"
    );
    assert!(why.contains("unique"), "{why}");
    assert_eq!(report.updated, vec!["ER-G", "LOOSE", "POK-1"]);

    // 3.7 → 3 (toward zero); -2.5 → -2, and Shopify keeps negative stock.
    assert_eq!(stock_of(h, "POK-1", LOCATION_ID), Some(3));
    assert_eq!(stock_of(h, "ER-G", LOCATION_ID), Some(-2));
    // The untracked variant got tracking in one bulk update, then its stock with the two
    // others in one inventorySetQuantities.
    let loose = h.variant_by_sku("LOOSE").unwrap();
    assert_eq!(loose.inventory_management.as_deref(), Some("shopify"));
    assert_eq!(stock_of(h, "LOOSE", LOCATION_ID), Some(9));
    assert_eq!(writes(h), (1, 1));
    // Only the tracked variants' levels were read, in one call.
    assert_eq!(served(h, LEVELS), 1);
    // Neither duplicate was touched.
    let dups: Vec<_> = client
        .list_all_products()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|p| p.variants)
        .filter(|v| v.sku.as_deref() == Some("DUP"))
        .collect();
    assert_eq!(
        dups.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![dup_a, dup_b]
    );
    assert!(dups.iter().all(|v| v.price == dec!(5.00)));

    // Again: the newly tracked variant now compares like the others; nothing is written.
    h.counters().reset();
    let report = client.push_price_and_stock(&items).await.unwrap();
    assert_eq!(report.unchanged, vec!["ER-G", "LOOSE", "POK-1"]);
    assert_eq!(writes(h), (0, 0));
    emu.shutdown().await;
}

#[tokio::test]
async fn several_active_locations_need_location_id() {
    let (emu, client) = start().await;
    let h = &emu.handle;
    let second = h.add_location("Second store", true);
    let client = client.with_system_name("my-shop");

    let stock = vec![
        upd("HB-250", None, Some(dec!(5))),
        upd("ER-B", Some(dec!(14.75)), Some(dec!(6))),
    ];
    let err = client.push_price_and_stock(&stock).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(!err.should_retry());
    for part in [
        "2 active locations".to_string(),
        LOCATION_ID.to_string(),
        "Main warehouse".to_string(),
        second.to_string(),
        "Second store".to_string(),
        "location_id".to_string(),
        "[systems.my-shop]".to_string(),
    ] {
        assert!(
            err.message.contains(&part),
            "{part} missing: {}",
            err.message
        );
    }
    // It failed before reading the catalog or writing anything.
    assert_eq!(served(h, PRODUCTS), 0);
    assert_eq!(writes(h), (0, 0));

    // A price-only push needs no location.
    let report = client
        .push_price_and_stock(&[upd("HB-250", Some(dec!(11)), None)])
        .await
        .unwrap();
    assert_eq!(report.updated, vec!["HB-250"]);

    // With the location named, stock goes there; the items were not stocked there yet, so
    // `set` connects them. The seeded location keeps its stock.
    h.counters().reset();
    let at_second = client.clone().with_location_id(Some(second));
    let report = at_second.push_price_and_stock(&stock).await.unwrap();
    assert_eq!(report.updated, vec!["ER-B", "HB-250"]);
    assert_eq!(served(h, LOCATION), 1);
    assert_eq!(served(h, LOCATIONS), 0);
    assert_eq!(stock_of(h, "HB-250", second), Some(5));
    assert_eq!(stock_of(h, "ER-B", second), Some(6));
    assert_eq!(stock_of(h, "HB-250", LOCATION_ID), Some(100));
    // The variant's total is the sum over locations.
    assert_eq!(
        h.variant_by_sku("HB-250").unwrap().inventory_quantity,
        Some(105)
    );
    assert_eq!(writes(h), (0, 1));

    // A configured location that is inactive or unknown is refused, naming the active ones.
    let closed = h.add_location("Closed shop", false);
    let err = client
        .clone()
        .with_location_id(Some(closed))
        .push_price_and_stock(&stock)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(err.message.contains("not active"), "{}", err.message);
    assert!(err.message.contains(&second.to_string()), "{}", err.message);
    let err = client
        .clone()
        .with_location_id(Some(1))
        .push_price_and_stock(&stock)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(
        err.message.contains("location 1 does not exist"),
        "{}",
        err.message
    );
    assert!(err.message.contains("[systems.my-shop]"), "{}", err.message);
    emu.shutdown().await;
}

#[tokio::test]
async fn finds_skus_across_several_product_pages() {
    let (emu, client) = start().await;
    let h = &emu.handle;
    let skus = h.seed_catalog(300, "GEN");
    let all = client.list_all_products().await.unwrap();
    assert_eq!(all.len(), 303, "300 generated + 3 seeded");
    assert_eq!(served(h, PRODUCTS), 2, "250 a page");

    // Every generated SKU at its current values (price 10.00 + i cents, stock i % 50), except
    // the first's price and the last's stock.
    let items: Vec<SkuUpdate> = skus
        .iter()
        .enumerate()
        .map(|(n, sku)| {
            let i = n as i64 + 1;
            let price = if i == 1 {
                dec!(99.00)
            } else {
                Decimal::new(1000 + i, 2)
            };
            let stock = if i == 300 { 7 } else { i % 50 };
            upd(sku, Some(price), Some(Decimal::from(stock)))
        })
        .collect();
    h.counters().reset();
    let report = client.push_price_and_stock(&items).await.unwrap();
    assert!(report.not_found.is_empty(), "{:?}", report.not_found);
    assert_eq!(report.updated, vec!["GEN-0001", "GEN-0300"]);
    assert_eq!(report.unchanged.len(), 298);
    assert_eq!(h.variant_by_sku("GEN-0001").unwrap().price, dec!(99.00));
    assert_eq!(stock_of(h, "GEN-0300", LOCATION_ID), Some(7));
    // ⌈303/250⌉ product pages, ⌈300/50⌉ level reads, one bulk update and one stock call.
    assert_eq!(served(h, PRODUCTS), 2);
    assert_eq!(served(h, LEVELS), 6);
    assert_eq!(writes(h), (1, 1));

    // Only stock changes, on all 300 SKUs of 300 products: no price write, ⌈300/250⌉ = 2
    // stock calls (250 + 50).
    h.counters().reset();
    let stock_only: Vec<SkuUpdate> = skus
        .iter()
        .enumerate()
        .map(|(n, sku)| upd(sku, None, Some(Decimal::from(1000 + n as i64))))
        .collect();
    let report = client.push_price_and_stock(&stock_only).await.unwrap();
    assert_eq!(report.updated.len(), 300);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(writes(h), (0, 2));
    assert_eq!(stock_of(h, "GEN-0001", LOCATION_ID), Some(1000));
    assert_eq!(stock_of(h, "GEN-0251", LOCATION_ID), Some(1250));
    assert_eq!(stock_of(h, "GEN-0300", LOCATION_ID), Some(1299));
    let report = client.push_price_and_stock(&stock_only).await.unwrap();
    assert_eq!(report.unchanged.len(), 300);
    assert_eq!(writes(h), (0, 2), "nothing more written");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_refused_value_fails_only_its_sku() {
    let (emu, client) = start().await;
    let h = &emu.handle;
    let items = vec![
        upd("HB-250", Some(dec!(-1)), None),
        upd("HB-1000", Some(dec!(41)), None),
        upd("ER-B", None, Some(dec!(3))),
    ];
    let report = client.push_price_and_stock(&items).await.unwrap();
    assert_eq!(report.updated, vec!["ER-B", "HB-1000"]);
    assert_eq!(report.failed.len(), 1);
    let (sku, why) = &report.failed[0];
    assert_eq!(sku, "HB-250");
    assert!(
        why.contains("price: Price must be greater than or equal to 0"),
        "{why}"
    );
    assert!(why.contains("808950810"), "names the variant: {why}");
    assert_eq!(h.variant_by_sku("HB-250").unwrap().price, dec!(12.50));
    assert_eq!(h.variant_by_sku("HB-1000").unwrap().price, dec!(41.00));
    assert_eq!(stock_of(h, "ER-B", LOCATION_ID), Some(3));
    // HB-250 and HB-1000 share a product: the refused call is sent again without HB-250
    // (two bulk updates), and ER-B's stock takes one call.
    assert_eq!(writes(h), (2, 1));
    emu.shutdown().await;
}

#[tokio::test]
async fn server_errors_end_the_push_as_retryable() {
    let (emu, client) = start().await;
    emu.handle.faults().set(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    });
    let err = client
        .push_price_and_stock(&[upd("HB-250", Some(dec!(1)), None)])
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(err.should_retry());
    assert_eq!(
        emu.handle.variant_by_sku("HB-250").unwrap().price,
        dec!(12.50)
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn emulator_locations_tracking_and_level_set_rules() {
    let (emu, client) = start().await;
    let h = &emu.handle;
    let locations = client.list_locations().await.unwrap();
    assert_eq!(locations.len(), 1);
    let main = &locations[0];
    assert_eq!(main.id, LOCATION_ID);
    assert!(main.active && !main.legacy);
    assert_eq!(
        main.admin_graphql_api_id.as_deref(),
        Some("gid://shopify/Location/905684977")
    );
    assert_eq!(client.get_location(LOCATION_ID).await.unwrap(), *main);
    assert_eq!(
        client.get_location(1).await.unwrap_err().kind,
        ErrorKind::NotFound
    );

    // Setting stock of an untracked item is refused with Shopify's message.
    let loose = add_loose(h);
    let v = &loose.variants[0];
    let item = v.inventory_item_id.unwrap();
    let err = client
        .set_inventory_level(item, LOCATION_ID, 1)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(
        err.message
            .contains("Inventory item does not have inventory tracking enabled"),
        "{}",
        err.message
    );
    // Its level has no quantity while untracked.
    let levels = client
        .list_inventory_levels(&[item], &[LOCATION_ID])
        .await
        .unwrap();
    assert_eq!(levels.len(), 1);
    assert_eq!(levels[0].available, None);

    // `inventory_quantity` on a variant PUT is ignored; `inventory_management` is taken.
    let url = format!(
        "{}/admin/api/{}/variants/{}.json",
        emu.base_url,
        dealbridge_shopify::API_VERSION,
        v.id
    );
    let resp = reqwest::Client::new()
        .put(url)
        .header("X-Shopify-Access-Token", "shpat_test")
        .json(&serde_json::json!({"variant": {"id": v.id, "inventory_quantity": 999, "inventory_management": "shopify"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let now = h.variant_by_sku("LOOSE").unwrap();
    assert_eq!(now.inventory_quantity, Some(4));
    assert_eq!(now.inventory_management.as_deref(), Some("shopify"));
    let levels = client
        .list_inventory_levels(&[item], &[LOCATION_ID])
        .await
        .unwrap();
    assert_eq!(levels[0].available, Some(4));
    emu.shutdown().await;
}

#[tokio::test]
async fn emulator_bulk_mutations_follow_the_rest_rules_all_or_nothing() {
    use serde_json::{json, Value};
    let (emu, client) = start().await;
    let h = &emu.handle;
    let loose = add_loose(h);
    let lv = &loose.variants[0];
    let loose_item = lv.inventory_item_id.unwrap();
    let hb = h.variant_by_sku("HB-250").unwrap();
    let hb_item = hb.inventory_item_id.unwrap();
    let set = |quantities: Value| {
        json!({"input": {"name": "available", "reason": "correction",
            "ignoreCompareQuantity": true, "quantities": quantities}})
    };
    let q = |item: u64, n: i64| {
        json!({"inventoryItemId": format!("gid://shopify/InventoryItem/{item}"),
            "locationId": format!("gid://shopify/Location/{LOCATION_ID}"), "quantity": n})
    };
    const SET: &str = "mutation S($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { field message code } } }";
    const BULK: &str = "mutation B($productId: ID!, $variants: [ProductVariantsBulkInput!]!) { productVariantsBulkUpdate(productId: $productId, variants: $variants) { productVariants { id price } userErrors { field message code } } }";

    // An untracked item and an unknown one are refused with their index; nothing is set,
    // not even the valid first entry.
    let a = client
        .graphql::<Value>(
            "t",
            SET,
            set(json!([q(hb_item, 1), q(loose_item, 2), q(1, 3)])),
        )
        .await
        .unwrap();
    let errs = &a.data["inventorySetQuantities"]["userErrors"];
    assert_eq!(
        errs[0]["field"],
        json!(["input", "quantities", "1", "inventoryItemId"])
    );
    assert!(errs[0]["message"]
        .as_str()
        .unwrap()
        .contains("tracking enabled"));
    assert_eq!(
        errs[1]["field"],
        json!(["input", "quantities", "2", "inventoryItemId"])
    );
    assert_eq!(stock_of(h, "HB-250", LOCATION_ID), Some(100));
    assert!(a.cost.is_some());

    // More than 250 entries are refused as a whole.
    let many: Vec<Value> = (0..251).map(|_| q(hb_item, 1)).collect();
    let a = client
        .graphql::<Value>("t", SET, set(json!(many)))
        .await
        .unwrap();
    assert_eq!(
        a.data["inventorySetQuantities"]["userErrors"][0]["field"],
        json!(["input", "quantities"])
    );

    // Without ignoreCompareQuantity a stale compareQuantity is refused.
    let mut stale = set(json!([{
        "inventoryItemId": format!("gid://shopify/InventoryItem/{hb_item}"),
        "locationId": format!("gid://shopify/Location/{LOCATION_ID}"),
        "quantity": 5, "compareQuantity": 99}]));
    stale["input"]["ignoreCompareQuantity"] = json!(false);
    let a = client.graphql::<Value>("t", SET, stale).await.unwrap();
    assert_eq!(
        a.data["inventorySetQuantities"]["userErrors"][0]["code"],
        "COMPARE_QUANTITY_STALE"
    );

    // A variant of another product and a negative price are refused; nothing is written.
    let a = client
        .graphql::<Value>(
            "t",
            BULK,
            json!({"productId": format!("gid://shopify/Product/{}", loose.id), "variants": [
                {"id": format!("gid://shopify/ProductVariant/{}", lv.id), "price": "6.00", "inventoryItem": {"tracked": true}},
                {"id": format!("gid://shopify/ProductVariant/{}", hb.id), "price": "1.00"},
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(
        a.data["productVariantsBulkUpdate"]["userErrors"][0]["field"],
        json!(["variants", "1", "id"])
    );
    let now = h.variant_by_sku("LOOSE").unwrap();
    assert_eq!(now.price, dec!(5));
    assert!(now.inventory_management.is_none());

    // Tracking turned on by a bulk update lets its stock be set; the cost grows per variant.
    let a = client
        .graphql::<Value>(
            "t",
            BULK,
            json!({"productId": format!("gid://shopify/Product/{}", loose.id), "variants": [
                {"id": format!("gid://shopify/ProductVariant/{}", lv.id), "price": "6.00", "inventoryItem": {"tracked": true}},
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(
        a.data["productVariantsBulkUpdate"]["productVariants"][0]["price"],
        "6.00"
    );
    assert_eq!(a.cost.unwrap().actual_query_cost, Some(11.0));
    let a = client
        .graphql::<Value>("t", SET, set(json!([q(loose_item, 2)])))
        .await
        .unwrap();
    assert_eq!(a.data["inventorySetQuantities"]["userErrors"], json!([]));
    assert_eq!(stock_of(h, "LOOSE", LOCATION_ID), Some(2));
    assert_eq!(served(h, BULK_UPDATE), 2);
    assert_eq!(served(h, STOCK_SET), 4);
    emu.shutdown().await;
}
