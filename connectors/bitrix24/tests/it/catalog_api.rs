//! The catalog push in `CatalogApi::Catalog` mode (`catalog.product.*` + `catalog.price.*`),
//! and the emulator's catalog answers against the vendor examples.

use crate::common;

use dealbridge_bitrix24::emulator::CATALOG_IBLOCK_ID;
use dealbridge_bitrix24::{Bitrix24Client, Bitrix24Settings, CatalogApi};
use dealbridge_sdk::model::{CatalogItem, ExternalRef, PushAction};
use dealbridge_sdk::money::{Currency, Money};
use dealbridge_sdk::traits::CrmCatalog;
use rust_decimal::Decimal;
use serde_json::{json, Value};

fn item(n: usize, kopecks: i64) -> CatalogItem {
    CatalogItem {
        origin: ExternalRef {
            system: "1c".into(),
            id: format!("guid-{n}"),
        },
        crm_id: None,
        name: format!("Product {n}"),
        sku: Some(format!("SKU-{n}")),
        description: Some(format!("Description of {n}")),
        price: Some(Money::new(
            Decimal::new(kopecks + n as i64, 2),
            Currency::new("RUB").unwrap(),
        )),
        unit: None,
        active: true,
    }
}

fn items(n: usize, kopecks: i64) -> Vec<CatalogItem> {
    (0..n).map(|i| item(i, kopecks)).collect()
}

fn catalog_mode(c: Bitrix24Client) -> Bitrix24Client {
    c.with_settings(Bitrix24Settings {
        catalog_api: CatalogApi::Catalog {
            iblock_id: CATALOG_IBLOCK_ID as u32,
            price_type_id: 1,
        },
        ..Bitrix24Settings::new()
    })
}

/// A numeric id as text (the catalog API sends ids as JSON numbers).
fn num_text(v: &Value) -> String {
    v.as_u64().map(|n| n.to_string()).unwrap_or_default()
}

fn price_of(prices: &[Value], product: &str, group: u64) -> Option<Value> {
    prices
        .iter()
        .find(|p| num_text(&p["productId"]) == product && p["catalogGroupId"] == json!(group))
        .cloned()
}

#[tokio::test]
async fn new_products_cost_two_commands_each() {
    let (emu, c) = common::setup().await;
    let c = catalog_mode(c);
    let report = c.push_products(&items(100, 10_000)).await.unwrap();
    assert!(report.items.iter().all(|p| p.action == PushAction::Created));
    // 1 lookup batch (2 list commands) + ⌈200 / 50⌉ = 4 write batches.
    assert_eq!(emu.handle.http_requests(), 5);
    let counters = emu.handle.counters();
    assert_eq!(counters.get("batch").calls, 5);
    assert_eq!(counters.get("catalog.product.list").calls, 2);
    assert_eq!(counters.get("catalog.product.add").calls, 100);
    assert_eq!(counters.get("catalog.price.add").calls, 100);
    assert_eq!(counters.get("catalog.price.list").calls, 0);
    // Nothing went to crm.product.*.
    assert_eq!(counters.get("crm.product.add").calls, 0);
    let products = emu.handle.catalog_products();
    assert_eq!(products.len(), 100);
    let p7 = products
        .iter()
        .find(|p| num_text(&p["id"]) == report.items[7].crm_id)
        .unwrap();
    assert_eq!(p7["xmlId"], "1c:guid-7");
    assert_eq!(p7["name"], "Product 7");
    assert_eq!(p7["iblockId"], json!(CATALOG_IBLOCK_ID));
    assert_eq!(p7["detailText"], "Description of 7");
    assert_eq!(p7["active"], "Y");
    let price = price_of(&emu.handle.catalog_prices(), &report.items[7].crm_id, 1).unwrap();
    assert_eq!(price["price"], json!(100.07));
    assert_eq!(price["currency"], "RUB");
    emu.shutdown().await;
}

#[tokio::test]
async fn repush_adopts_and_updates_prices_in_place() {
    let (emu, c) = common::setup().await;
    let c = catalog_mode(c);
    let first = c.push_products(&items(60, 10_000)).await.unwrap();
    // Another integration keeps a second price type on product 0: it must survive.
    emu.handle.add_price_type(2);
    let p0 = first.items[0].crm_id.clone();
    emu.handle
        .manager_call(
            "catalog.price.add",
            json!({"fields": {"productId": p0, "catalogGroupId": 2, "price": 1, "currency": "RUB"}}),
        )
        .unwrap();
    let before = emu.handle.http_requests();
    // The report of the first push was lost: items come unbound, with new prices.
    let again = c.push_products(&items(60, 20_000)).await.unwrap();
    assert!(again.items.iter().all(|p| p.action == PushAction::Adopted));
    for (a, b) in first.items.iter().zip(&again.items) {
        assert_eq!(a.crm_id, b.crm_id);
    }
    // 1 product lookup + 1 price-id lookup + ⌈120 / 50⌉ = 3 write batches.
    assert_eq!(emu.handle.http_requests() - before, 5);
    let counters = emu.handle.counters();
    assert_eq!(counters.get("catalog.product.update").calls, 60);
    assert_eq!(counters.get("catalog.price.update").calls, 60);
    // The manager's price is not one of our calls.
    assert_eq!(counters.get("catalog.price.add").calls, 60);
    assert_eq!(emu.handle.catalog_products().len(), 60);
    let prices = emu.handle.catalog_prices();
    assert_eq!(prices.len(), 61);
    assert_eq!(price_of(&prices, &p0, 1).unwrap()["price"], json!(200));
    assert_eq!(price_of(&prices, &p0, 2).unwrap()["price"], json!(1));
    emu.shutdown().await;
}

#[tokio::test]
async fn bound_items_skip_the_product_lookup_and_lost_bindings_rebind() {
    let (emu, c) = common::setup().await;
    let c = catalog_mode(c);
    let first = c.push_products(&items(3, 10_000)).await.unwrap();
    let mut bound = items(3, 30_000);
    for (it, p) in bound.iter_mut().zip(&first.items) {
        it.crm_id = Some(p.crm_id.clone());
    }
    // Product 2 is bound to an id that no longer exists: it is found by xmlId instead.
    bound[2].crm_id = Some("9999".into());
    let before = emu.handle.http_requests();
    let report = c.push_products(&bound).await.unwrap();
    assert_eq!(report.items[0].action, PushAction::Updated);
    assert_eq!(report.items[2].action, PushAction::Adopted);
    assert_eq!(report.items[2].crm_id, first.items[2].crm_id);
    // Price ids + writes; then for the lost one: lookup, price ids, writes.
    assert_eq!(emu.handle.http_requests() - before, 5);
    assert_eq!(emu.handle.catalog_products().len(), 3);
    let prices = emu.handle.catalog_prices();
    assert_eq!(prices.len(), 3);
    assert_eq!(
        price_of(&prices, &first.items[2].crm_id, 1).unwrap()["price"],
        json!(300.02)
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn product_list_requires_iblock_filter_and_select() {
    let (emu, c) = common::setup().await;
    let e = c
        .call(
            "catalog.product.list",
            json!({"select": ["id", "iblockId"]}),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("iblockId"), "{}", e.message);
    let e = c
        .call(
            "catalog.product.list",
            json!({"filter": {"iblockId": CATALOG_IBLOCK_ID}}),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("select"), "{}", e.message);
    emu.shutdown().await;
}

/// Field names and JSON types of the emulator's catalog answers equal the vendor examples'.
#[tokio::test]
async fn catalog_answers_match_vendor_shapes() {
    let (emu, c) = common::setup().await;
    let added = c
        .call(
            "catalog.product.add",
            json!({"fields": {"iblockId": CATALOG_IBLOCK_ID, "name": "Товар", "code": "Tovar", "measure": 5, "sort": 100}}),
        )
        .await
        .unwrap()
        .result;
    let fx = common::fixture("catalog-product-add__01.json");
    common::assert_same_shape(&added["element"], &fx["result"]["element"]);
    let id = added["element"]["id"].as_u64().unwrap();

    let got = c
        .call("catalog.product.get", json!({"id": id}))
        .await
        .unwrap()
        .result;
    let fx = common::fixture("catalog-product-get__01.json");
    common::assert_same_shape(&got["product"], &fx["result"]["product"]);

    let updated = c
        .call(
            "catalog.product.update",
            json!({"id": id, "fields": {"name": "Товар 2"}}),
        )
        .await
        .unwrap()
        .result;
    let fx = common::fixture("catalog-product-update__01.json");
    common::assert_same_shape(&updated["element"], &fx["result"]["element"]);
    assert_eq!(updated["element"]["name"], "Товар 2");

    // The list answer with the select the vendor example used.
    let fx = common::fixture("catalog-product-list__01.json");
    let select: Vec<String> = fx["result"]["products"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let listed = c
        .call(
            "catalog.product.list",
            json!({"select": select, "filter": {"iblockId": CATALOG_IBLOCK_ID}}),
        )
        .await
        .unwrap();
    assert_eq!(listed.total, Some(1));
    common::assert_same_shape(&listed.result["products"][0], &fx["result"]["products"][0]);

    // Prices: modify (whole collection) and list.
    let modified = c
        .call(
            "catalog.price.modify",
            json!({"fields": {"product": {"id": id, "prices": [
                {"catalogGroupId": 1, "currency": "RUB", "price": 2001}
            ]}}}),
        )
        .await
        .unwrap()
        .result;
    let fx = common::fixture("catalog-price-modify__01.json");
    common::assert_same_shape(&modified["prices"][0], &fx["result"]["prices"][0]);
    assert_eq!(modified["prices"][0]["price"], json!(2001));
    let fx = common::fixture("catalog-price-list__01.json");
    let select: Vec<String> = fx["result"]["prices"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let listed = c
        .call(
            "catalog.price.list",
            json!({"select": select, "filter": {"productId": id}}),
        )
        .await
        .unwrap();
    common::assert_same_shape(&listed.result["prices"][0], &fx["result"]["prices"][0]);
    assert_eq!(listed.total, Some(1));

    // modify drops the prices it is not given (docs), and validates like the vendor example.
    let e = c
        .call(
            "catalog.price.modify",
            json!({"fields": {"product": {"id": id, "prices": [{"catalogGroupId": 1}]}}}),
        )
        .await
        .unwrap_err();
    assert!(
        e.message.contains("Required fields: price, currency"),
        "{}",
        e.message
    );
    c.call(
        "catalog.price.modify",
        json!({"fields": {"product": {"id": id, "prices": []}}}),
    )
    .await
    .unwrap();
    assert!(emu.handle.catalog_prices().is_empty());
    emu.shutdown().await;
}

/// The read-back in `catalog.*` mode: products with their price of the mapped price type (not
/// another type's), two requests for a page (2,500 products; a smaller catalog here, as the emulator sorts each
/// of the 50 list commands in full), a manager's price change visible.
#[tokio::test]
async fn products_read_back_with_the_price_of_the_price_type() {
    let (emu, c) = common::setup().await;
    let c = catalog_mode(c);
    let pushed = c.push_products(&items(120, 10_000)).await.unwrap();
    emu.handle.add_price_type(2);
    let p0 = pushed.items[0].crm_id.clone();
    emu.handle
        .manager_call(
            "catalog.price.add",
            json!({"fields": {"productId": p0, "catalogGroupId": 2, "price": 1, "currency": "RUB"}}),
        )
        .unwrap();
    let p7 = pushed.items[7].crm_id.clone();
    let price7 = price_of(&emu.handle.catalog_prices(), &p7, 1).unwrap()["id"].clone();
    emu.handle
        .manager_call(
            "catalog.price.update",
            json!({"id": price7, "fields": {"price": "5.00", "currency": "RUB"}}),
        )
        .unwrap();
    let before = emu.handle.http_requests();
    let page = c.products_page(1).await.unwrap();
    assert_eq!(
        emu.handle.http_requests() - before,
        2,
        "products, then prices"
    );
    assert_eq!(page.items.len(), 120);
    assert_eq!(page.next_page, None);
    let all = page.items;
    let wanted = items(120, 10_000);
    for (i, (got, want)) in all.iter().zip(&wanted).enumerate() {
        assert_eq!(got.origin, want.origin);
        assert_eq!(got.crm_id.as_deref(), Some(pushed.items[i].crm_id.as_str()));
        assert_eq!(got.name, want.name);
        assert!(got.active);
        let expected = if i == 7 {
            Decimal::new(500, 2)
        } else {
            want.price.as_ref().unwrap().amount
        };
        let price = got.price.as_ref().unwrap();
        assert_eq!(
            (price.amount, price.currency.as_str()),
            (expected, "RUB"),
            "item {i}"
        );
    }
    emu.shutdown().await;
}
