//! The shop's catalog as CRM catalog items (`CatalogSource`) against the emulator over real
//! loopback HTTP: items, names, exact prices in the currency the shop reports, activity,
//! paging, the number of calls the module docs promise, and failures.

use super::catalog::start_with;
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::model::{CatalogItem, ExternalRef};
use dealbridge_sdk::money::{Currency, Money};
use dealbridge_sdk::traits::CatalogSource;
use dealbridge_sdk::ErrorKind;
use dealbridge_woocommerce::emulator::{CatalogItem as ShopItem, EmulatorConfig, RunningEmulator};
use rust_decimal::Decimal;
use std::sync::Arc;

/// Calls per route since the last reset, only the routes that were called.
fn calls(emu: &RunningEmulator) -> Vec<(String, u64)> {
    emu.handle
        .counters()
        .snapshot()
        .into_iter()
        .filter(|(_, c)| c.calls > 0)
        .map(|(k, c)| (k, c.calls))
        .collect()
}

fn by_origin<'a>(items: &'a [CatalogItem], id: &str) -> &'a CatalogItem {
    items
        .iter()
        .find(|i| i.origin.id == id)
        .unwrap_or_else(|| panic!("no item {id} in {items:?}"))
}

fn active_of(items: &[CatalogItem]) -> Vec<(String, bool)> {
    items
        .iter()
        .map(|i| (i.origin.id.clone(), i.active))
        .collect()
}

#[tokio::test]
async fn simple_and_variable_products_become_items_in_the_shop_currency() {
    let (emu, c) = start_with(EmulatorConfig {
        currency: "eur".into(),
        ..EmulatorConfig::default()
    })
    .await;
    let source: Arc<dyn CatalogSource> = Arc::new(c.with_system_name("shop"));
    let items = source.catalog_items().await.unwrap();

    // Each simple product by id, the variable product 18 as its variations 31 and 32 (never
    // itself), in product-then-variation order.
    let ids: Vec<&str> = items.iter().map(|i| i.origin.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["11", "12", "13", "14", "15", "16", "17", "31", "32", "19"]
    );
    let eur = Currency::new("EUR").unwrap();
    assert_eq!(
        items[0],
        CatalogItem {
            origin: ExternalRef {
                system: "shop".into(),
                id: "11".into(),
            },
            crm_id: None,
            name: "Чайник электрический".into(),
            sku: Some("KT-1001".into()),
            description: None,
            price: Some(Money::new(Decimal::new(249_000, 2), eur.clone())),
            unit: None,
            active: true,
        }
    );
    let shirt_m = by_origin(&items, "31");
    assert_eq!(shirt_m.name, "Футболка (M)");
    assert_eq!(shirt_m.sku.as_deref(), Some("TS-M"));
    assert_eq!(by_origin(&items, "32").name, "Футболка (L)");
    // Exact decimals as the shop wrote them, never through a float.
    let price = |id: &str| {
        let m = by_origin(&items, id).price.clone().unwrap();
        assert_eq!(m.currency, eur);
        m.amount.to_string()
    };
    assert_eq!(price("31"), "990.00");
    assert_eq!(price("32"), "1090.00");
    assert_eq!(price("14"), "349.99");
    assert_eq!(price("19"), "199.95");
    assert!(items.iter().all(|i| i.active && i.description.is_none()));

    // The module docs: currency 1 + products 1 + trash 1 + one variations page of product 18.
    assert_eq!(
        calls(&emu),
        vec![
            ("GET /data/currencies/current".to_string(), 1),
            ("GET /products".to_string(), 2),
            ("GET /products/{id}/variations".to_string(), 1),
        ]
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn drafts_private_trashed_and_disabled_items_are_inactive() {
    let (emu, c) = start_with(EmulatorConfig::default()).await;
    emu.handle.owner_set_product_status(12, "draft").unwrap();
    emu.handle.owner_set_product_status(13, "private").unwrap();
    emu.handle.owner_set_product_status(14, "trash").unwrap();
    emu.handle.owner_set_product_status(32, "private").unwrap(); // variation disabled
    let items = c.catalog_items().await.unwrap();
    assert_eq!(
        active_of(&items),
        [
            ("11", true),
            ("12", false),
            ("13", false),
            ("14", false), // read from the trash, so the CRM can stop offering it
            ("15", true),
            ("16", true),
            ("17", true),
            ("31", true),
            ("32", false),
            ("19", true),
        ]
        .map(|(id, a)| (id.to_string(), a))
    );
    assert_eq!(by_origin(&items, "14").name, "Кружка керамическая");
    assert_eq!(by_origin(&items, "12").origin.system, "woocommerce");

    // A trashed variable product takes its variations along; they are read from the trash.
    emu.handle.owner_set_product_status(18, "trash").unwrap();
    emu.handle.counters().reset();
    let items = c.catalog_items().await.unwrap();
    let shirts: Vec<_> = items
        .iter()
        .filter(|i| i.name.starts_with("Футболка"))
        .map(|i| (i.origin.id.as_str(), i.name.as_str(), i.active))
        .collect();
    assert_eq!(
        shirts,
        vec![("31", "Футболка (M)", false), ("32", "Футболка (L)", false)]
    );
    assert_eq!(
        emu.handle
            .counters()
            .get("GET /products/{id}/variations")
            .served,
        1
    );

    // Restored, the enabled variation sells again and the disabled one stays disabled.
    emu.handle.owner_set_product_status(18, "publish").unwrap();
    let items = c.catalog_items().await.unwrap();
    assert!(by_origin(&items, "31").active);
    assert!(!by_origin(&items, "32").active);
    emu.shutdown().await;
}

#[tokio::test]
async fn more_than_one_page_of_products_and_variations_is_read_whole() {
    // 150 simple products and a variable product with 101 variations, the last of them left
    // at "Any …" (no option in its name).
    let mut catalog: Vec<ShopItem> = (0..150u64)
        .map(|k| ShopItem {
            product_id: 1000 + k,
            variation_id: 0,
            name: format!("Товар {k}"),
            sku: format!("SKU-{k}"),
            price: Decimal::new(10_000 + k as i64, 2),
        })
        .collect();
    catalog.extend((1..=101u64).map(|k| ShopItem {
        product_id: 5000,
        variation_id: 5000 + k,
        name: if k == 101 {
            "Носки".to_string()
        } else {
            format!("Носки - {k}")
        },
        sku: String::new(),
        price: Decimal::new(50, 2),
    }));
    let (emu, c) = start_with(EmulatorConfig {
        catalog,
        ..EmulatorConfig::default()
    })
    .await;
    emu.handle.owner_set_product_status(1007, "trash").unwrap();
    let items = c.catalog_items().await.unwrap();

    let mut expected: Vec<String> = (1000..1150).map(|id: u64| id.to_string()).collect();
    expected.extend((5001..=5101).map(|id: u64| id.to_string()));
    let ids: Vec<String> = items.iter().map(|i| i.origin.id.clone()).collect();
    assert_eq!(ids, expected);
    assert!(!by_origin(&items, "1007").active);
    assert_eq!(items.iter().filter(|i| !i.active).count(), 1);
    let last_simple = by_origin(&items, "1149");
    assert_eq!(last_simple.name, "Товар 149");
    assert_eq!(
        last_simple.price.as_ref().unwrap().amount.to_string(),
        "101.49"
    );
    let v = by_origin(&items, "5042");
    assert_eq!(v.name, "Носки (42)");
    assert_eq!(v.sku, None);
    assert_eq!(v.price.as_ref().unwrap().amount.to_string(), "0.50");
    assert_eq!(v.price.as_ref().unwrap().currency.as_str(), "RUB");
    assert_eq!(by_origin(&items, "5101").name, "Носки (#5101)");

    // 1 currency + 2 pages of 150 products + 1 of the trash + 2 pages of 101 variations.
    assert_eq!(
        calls(&emu),
        vec![
            ("GET /data/currencies/current".to_string(), 1),
            ("GET /products".to_string(), 3),
            ("GET /products/{id}/variations".to_string(), 2),
        ]
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_5xx_from_the_shop_is_a_retryable_error() {
    let (emu, c) = start_with(EmulatorConfig::default()).await;
    emu.handle.faults().set(FaultConfig {
        error_rate: 1.0,
        ..Default::default()
    });
    let e = c.catalog_items().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(e.should_retry());
    assert_eq!(e.system, "woocommerce");
    assert!(e.message.contains("shop currency"), "{}", e.message);
    assert!(e.message.contains("HTTP 500"), "{}", e.message);
    assert!(e.message.contains("will retry"), "{}", e.message);
    // Nothing is read after the first failure: a partial catalog would look like deletions.
    assert_eq!(
        calls(&emu),
        vec![("GET /data/currencies/current".to_string(), 1)]
    );

    // The retry, once the shop is back, reads the whole catalog.
    emu.handle.faults().set(FaultConfig::default());
    assert_eq!(c.catalog_items().await.unwrap().len(), 10);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_shop_currency_that_is_not_iso_is_refused_naming_the_setting() {
    let (emu, c) = start_with(EmulatorConfig {
        currency: "USDT".into(),
        ..EmulatorConfig::default()
    })
    .await;
    let e = c.catalog_items().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid, "{e}");
    assert!(!e.should_retry());
    assert!(e.message.contains("USDT"), "{}", e.message);
    assert!(
        e.message.contains("Settings > General > Currency"),
        "{}",
        e.message
    );
    assert_eq!(emu.handle.counters().get("GET /products").calls, 0);
    emu.shutdown().await;
}
