//! `CrmCatalog` against the emulator: bulk lookups, array writes, call counts, crash-resume
//! adoption, and faults with re-runs that never duplicate.

use crate::common;

use dealbridge_amocrm::{AmoCatalog, CatalogSettings};
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::model::{CatalogItem, ExternalRef, PushAction};
use dealbridge_sdk::money::{Currency, Money};
use dealbridge_sdk::traits::CrmCatalog;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn item(i: usize, price: i64) -> CatalogItem {
    CatalogItem {
        origin: ExternalRef {
            system: "1c".into(),
            id: format!("GUID-{i}"),
        },
        crm_id: None,
        name: format!("Product {i}"),
        sku: Some(format!("SKU-{i}")),
        description: None,
        price: Some(Money::new(
            Decimal::new(price * 100 + 50, 2),
            Currency::new("RUB").unwrap(),
        )),
        unit: None,
        active: true,
    }
}

fn field(e: &Value, id: u64) -> Option<Value> {
    e["custom_fields_values"]
        .as_array()?
        .iter()
        .find(|f| f["field_id"] == json!(id))
        .map(|f| f["values"][0]["value"].clone())
}

/// Origin keys of every element, checking none repeats.
fn unique_origins(emu: &dealbridge_amocrm::emulator::RunningEmulator) -> BTreeSet<String> {
    let els = emu.handle.elements();
    let keys: Vec<String> = els
        .iter()
        .filter_map(|e| field(e, 700004).and_then(|v| v.as_str().map(str::to_string)))
        .collect();
    let set: BTreeSet<String> = keys.iter().cloned().collect();
    assert_eq!(set.len(), els.len(), "an element was duplicated");
    set
}

#[tokio::test]
async fn push_creates_in_arrays_and_a_lost_binding_push_adopts_without_writes() {
    let (emu, c) = common::setup().await;
    let cat = AmoCatalog::new(c.clone(), CatalogSettings::default());
    let items: Vec<CatalogItem> = (0..600).map(|i| item(i, 100 + i as i64)).collect();
    let report = cat.push_products(&items).await.unwrap();
    let n = emu.handle.counters();
    assert_eq!(n.get("GET /api/v4/catalogs").served, 1);
    assert_eq!(n.get("GET /api/v4/catalogs/{id}/custom_fields").served, 1);
    // One scan page (the catalog is empty: 204), then 250 + 250 + 100.
    assert_eq!(n.get("GET /api/v4/catalogs/{id}/elements").calls, 1);
    assert_eq!(n.get("POST /api/v4/catalogs/{id}/elements").served, 3);
    assert_eq!(emu.handle.elements().len(), 600);
    assert!(report.items.iter().all(|r| r.action == PushAction::Created));
    let e = emu
        .handle
        .elements()
        .into_iter()
        .find(|e| {
            e["id"].as_u64().map(|i| i.to_string()).as_deref()
                == Some(report.items[7].crm_id.as_str())
        })
        .unwrap();
    assert_eq!(e["name"], "Product 7");
    assert_eq!(field(&e, 700001), Some(json!("SKU-7")));
    assert_eq!(field(&e, 700002), Some(json!(107.5)));
    assert_eq!(field(&e, 700004), Some(json!("1c:GUID-7")));

    // The engine crashed before saving bindings: the same items again, unbound.
    n.reset();
    let again = cat.push_products(&items).await.unwrap();
    assert_eq!(
        n.get("GET /api/v4/catalogs/{id}/elements").served,
        3,
        "600 / 250 pages"
    );
    assert_eq!(n.get("POST /api/v4/catalogs/{id}/elements").calls, 0);
    assert_eq!(
        n.get("PATCH /api/v4/catalogs/{id}/elements").calls,
        0,
        "unchanged: no write"
    );
    assert!(again.items.iter().all(|r| r.action == PushAction::Adopted));
    assert_eq!(
        again.items.iter().map(|r| &r.crm_id).collect::<Vec<_>>(),
        report.items.iter().map(|r| &r.crm_id).collect::<Vec<_>>()
    );
    unique_origins(&emu);

    // Bound items with a new price: no lookup, one PATCH per 250.
    n.reset();
    let bound: Vec<CatalogItem> = items
        .iter()
        .zip(&report.items)
        .take(300)
        .map(|(it, r)| CatalogItem {
            crm_id: Some(r.crm_id.clone()),
            ..item(it.origin.id[5..].parse().unwrap(), 999)
        })
        .collect();
    let upd = cat.push_products(&bound).await.unwrap();
    assert!(upd.items.iter().all(|r| r.action == PushAction::Updated));
    assert_eq!(n.get("GET /api/v4/catalogs/{id}/elements").calls, 0);
    assert_eq!(n.get("PATCH /api/v4/catalogs/{id}/elements").served, 2);
    let e = emu
        .handle
        .elements()
        .into_iter()
        .find(|e| {
            e["id"].as_u64().map(|i| i.to_string()).as_deref()
                == Some(report.items[0].crm_id.as_str())
        })
        .unwrap();
    assert_eq!(field(&e, 700002), Some(json!(999.5)));
    assert_eq!(field(&e, 700004), Some(json!("1c:GUID-0")), "kept");
    assert_eq!(emu.handle.elements().len(), 600);
    emu.shutdown().await;
}

#[tokio::test]
async fn few_unbound_items_are_found_by_query_and_changed_ones_patched() {
    let (emu, c) = common::setup().await;
    let cat = AmoCatalog::new(c.clone(), CatalogSettings::default());
    cat.push_products(&(0..20).map(|i| item(i, 10)).collect::<Vec<_>>())
        .await
        .unwrap();
    let n = emu.handle.counters();
    n.reset();
    // GUID-1 is a substring of GUID-10..19: only the exact key is adopted.
    let r = cat
        .push_products(&[item(1, 11), item(2, 10), item(500, 10)])
        .await
        .unwrap();
    assert_eq!(n.get("GET /api/v4/catalogs/{id}/elements").calls, 3);
    assert_eq!(n.get("PATCH /api/v4/catalogs/{id}/elements").served, 1);
    assert_eq!(n.get("POST /api/v4/catalogs/{id}/elements").served, 1);
    let actions: Vec<PushAction> = r.items.iter().map(|i| i.action).collect();
    assert_eq!(
        actions,
        [
            PushAction::Adopted,
            PushAction::Adopted,
            PushAction::Created
        ]
    );
    assert_eq!(emu.handle.elements().len(), 21);
    unique_origins(&emu);
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_with_reruns_never_duplicate() {
    let (emu, c) = common::setup().await;
    let cat = AmoCatalog::new(
        c.clone(),
        CatalogSettings {
            batch_size: 50,
            ..Default::default()
        },
    );
    let items: Vec<CatalogItem> = (0..400).map(|i| item(i, 5)).collect();
    // 500s, 429s, drops, and drops after the write landed (the client never sees the ids);
    // the engine re-runs the push until it succeeds.
    emu.handle.faults().set(FaultConfig {
        error_rate: 0.1,
        throttle_rate: 0.1,
        drop_rate: 0.1,
        drop_after_write_rate: 0.2,
        ..Default::default()
    });
    let mut runs = 0;
    let report = loop {
        runs += 1;
        assert!(runs < 200, "never converged");
        if let Ok(r) = cat.push_products(&items).await {
            break r;
        }
    };
    emu.handle.faults().set(FaultConfig::default());
    assert!(runs > 1, "the faults bit at least once");
    let keys = unique_origins(&emu);
    assert_eq!(keys.len(), 400);
    let ids: BTreeSet<&str> = report.items.iter().map(|r| r.crm_id.as_str()).collect();
    assert_eq!(ids.len(), 400);
    // And once more: nothing left to write.
    let n = emu.handle.counters();
    n.reset();
    let r = cat.push_products(&items).await.unwrap();
    assert!(r.items.iter().all(|i| i.action == PushAction::Adopted));
    assert_eq!(n.get("POST /api/v4/catalogs/{id}/elements").calls, 0);
    assert_eq!(n.get("PATCH /api/v4/catalogs/{id}/elements").calls, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn emulator_refuses_more_than_250_elements_per_write() {
    let (emu, c) = common::setup().await;
    let bodies: Vec<Value> = (0..251)
        .map(|i| json!({ "name": format!("x{i}") }))
        .collect();
    let e = c
        .add_catalog_elements(dealbridge_amocrm::emulator::PRODUCTS_CATALOG, &bodies)
        .await
        .unwrap_err();
    assert_eq!(e.kind, dealbridge_sdk::error::ErrorKind::Invalid);
    assert!(emu.handle.elements().is_empty());
    emu.shutdown().await;
}
