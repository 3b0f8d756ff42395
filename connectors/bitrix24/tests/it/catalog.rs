//! `CrmCatalog` through `crm.product.*`: bulk lookup by XML_ID, 50 writes per batch, adoption
//! after a lost report, and idempotent retries under faults.

use crate::common;

use dealbridge_bitrix24::emulator::EmulatorConfig;
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::model::{CatalogItem, ExternalRef, PushAction};
use dealbridge_sdk::money::{Currency, Money};
use dealbridge_sdk::traits::CrmCatalog;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::HashSet;

fn item(n: usize) -> CatalogItem {
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
            Decimal::new(10_000 + n as i64, 2),
            Currency::new("RUB").unwrap(),
        )),
        unit: Some("шт".into()),
        active: true,
    }
}

fn items(n: usize) -> Vec<CatalogItem> {
    (0..n).map(item).collect()
}

fn xml_ids(products: &[Value]) -> Vec<String> {
    products
        .iter()
        .map(|p| p["XML_ID"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn assert_no_duplicates(products: &[Value]) {
    let ids = xml_ids(products);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate XML_IDs in the portal");
}

#[tokio::test]
async fn thousand_new_products_cost_at_most_25_requests() {
    let (emu, c) = common::setup().await;
    let report = c.push_products(&items(1000)).await.unwrap();
    assert_eq!(report.items.len(), 1000);
    assert!(report.items.iter().all(|p| p.action == PushAction::Created));
    // 1 lookup batch (20 list commands) + 20 add batches.
    assert_eq!(emu.handle.http_requests(), 21);
    assert!(emu.handle.http_requests() <= 25);
    let counters = emu.handle.counters();
    assert_eq!(counters.get("batch").calls, 21);
    assert_eq!(counters.get("crm.product.list").calls, 20);
    assert_eq!(counters.get("crm.product.add").calls, 1000);
    let products = emu.handle.products();
    assert_eq!(products.len(), 1000);
    assert_no_duplicates(&products);
    // Values landed as written, in report order.
    let first = products
        .iter()
        .find(|p| p["ID"] == json!(report.items[7].crm_id))
        .unwrap();
    assert_eq!(first["XML_ID"], "1c:guid-7");
    assert_eq!(first["NAME"], "Product 7");
    assert_eq!(first["PRICE"], "100.07");
    assert_eq!(first["CURRENCY_ID"], "RUB");
    assert_eq!(first["DESCRIPTION"], "Description of 7");
    assert_eq!(first["ACTIVE"], "Y");
    assert_eq!(report.items[7].origin.id, "guid-7");
    emu.shutdown().await;
}

#[tokio::test]
async fn bound_items_are_updated_without_lookup() {
    let (emu, c) = common::setup().await;
    let first = c.push_products(&items(60)).await.unwrap();
    emu.handle.counters().reset();
    let before = emu.handle.http_requests();
    let mut bound = items(60);
    for (i, it) in bound.iter_mut().enumerate() {
        it.crm_id = Some(first.items[i].crm_id.clone());
        it.name = format!("Renamed {i}");
        it.active = i % 2 == 0;
    }
    let report = c.push_products(&bound).await.unwrap();
    assert!(report.items.iter().all(|p| p.action == PushAction::Updated));
    assert_eq!(
        emu.handle.http_requests() - before,
        2,
        "60 updates = 2 batches"
    );
    let counters = emu.handle.counters();
    assert_eq!(counters.get("crm.product.list").calls, 0);
    assert_eq!(counters.get("crm.product.add").calls, 0);
    assert_eq!(counters.get("crm.product.update").calls, 60);
    let products = emu.handle.products();
    assert_eq!(products.len(), 60);
    let p = products
        .iter()
        .find(|p| p["ID"] == json!(report.items[3].crm_id))
        .unwrap();
    assert_eq!(p["NAME"], "Renamed 3");
    assert_eq!(p["ACTIVE"], "N");
    emu.shutdown().await;
}

#[tokio::test]
async fn lost_report_is_adopted_on_repush() {
    let (emu, c) = common::setup().await;
    // The products were created but the engine never saw the report (crash).
    c.push_products(&items(120)).await.unwrap();
    // A manager also created one product by hand with our origin key.
    emu.handle
        .manager_add_product(json!({"NAME": "Hand made", "XML_ID": "1c:guid-500"}))
        .unwrap();
    emu.handle.counters().reset();
    let mut again = items(120);
    again.push(item(500));
    again.push(item(501));
    let report = c.push_products(&again).await.unwrap();
    let adopted = report
        .items
        .iter()
        .filter(|p| p.action == PushAction::Adopted)
        .count();
    assert_eq!(adopted, 121);
    assert_eq!(report.items[121].action, PushAction::Created);
    let counters = emu.handle.counters();
    assert_eq!(counters.get("crm.product.add").calls, 1);
    assert_eq!(counters.get("crm.product.update").calls, 121);
    let products = emu.handle.products();
    assert_eq!(products.len(), 122);
    assert_no_duplicates(&products);
    emu.shutdown().await;
}

#[tokio::test]
async fn bound_item_deleted_in_crm_is_found_or_recreated() {
    let (emu, c) = common::setup().await;
    let mut one = items(1);
    one[0].crm_id = Some("999".into());
    let report = c.push_products(&one).await.unwrap();
    assert_eq!(report.items[0].action, PushAction::Created);
    assert_ne!(report.items[0].crm_id, "999");
    assert_eq!(emu.handle.products().len(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn retries_under_faults_never_duplicate() {
    let mut config = EmulatorConfig::default();
    config.limits.capacity = 100_000;
    let emu = common::emulator(config).await;
    let c = common::client(&emu.webhook_url);
    emu.handle.faults().set(FaultConfig {
        error_rate: 0.1,
        drop_rate: 0.05,
        drop_after_write_rate: 0.15,
        ..Default::default()
    });
    let all = items(200);
    let mut failures = 0;
    let report = loop {
        // The engine's durable queue retries the whole push call.
        match c.push_products(&all).await {
            Ok(r) => break r,
            Err(_) => {
                failures += 1;
                assert!(failures < 100, "no success after 100 tries");
            }
        }
    };
    emu.handle.faults().set(FaultConfig::default());
    // Faults are random: usually some push failed, but a lucky run may have none.
    println!("{failures} failed pushes before success");
    assert_eq!(report.items.len(), 200);
    let products = emu.handle.products();
    assert_eq!(products.len(), 200, "after {failures} failed pushes");
    assert_no_duplicates(&products);
    let ids: HashSet<&str> = report.items.iter().map(|p| p.crm_id.as_str()).collect();
    assert_eq!(ids.len(), 200);
    emu.shutdown().await;
}

#[tokio::test]
async fn lookup_batch_is_bounded_and_uses_in_filters() {
    let (emu, c) = common::setup().await;
    // 2,600 unbound items: two lookup requests (2,500 + 100 values).
    let found = c
        .find_products_by_xml_id(&(0..2600).map(|i| format!("x:{i}")).collect::<Vec<_>>())
        .await
        .unwrap();
    assert!(found.is_empty());
    assert_eq!(emu.handle.http_requests(), 2);
    assert_eq!(emu.handle.counters().get("crm.product.list").calls, 52);
    // The emulator refuses a 51-command batch as the portal does.
    let cmds: Vec<(String, &str, Value)> = (0..51)
        .map(|i| (format!("c{i}"), "crm.product.list", json!({})))
        .collect();
    let e = c.batch(false, &cmds).await.unwrap_err();
    assert!(
        e.message.contains("ERROR_BATCH_LENGTH_EXCEEDED"),
        "{}",
        e.message
    );
    emu.shutdown().await;
}
