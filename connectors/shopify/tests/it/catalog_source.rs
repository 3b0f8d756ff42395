//! The shop's catalog read as CRM catalog items against the emulator over loopback: simple
//! products and variants with exact prices in the currency the shop reports, drafts and
//! archived products inactive, paging over more than one page of products, the calls it takes
//! (one `shop.json` plus one `products.json` a 250 products), and failures of the shop returned
//! classified.

use crate::common::{start, start_with};
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::model::{CatalogItem, ExternalRef};
use dealbridge_sdk::traits::CatalogSource;
use dealbridge_sdk::{Currency, ErrorKind, Money};
use dealbridge_shopify::emulator::store::SeedVariant;
use dealbridge_shopify::emulator::{EmulatorConfig, EmulatorHandle};
use rust_decimal_macros::dec;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

const SHOP: &str = "GET /shop.json";
const PRODUCTS: &str = "GET /products.json";

/// The seeded products (see `emulator::seed::default_catalog`).
const HOUSE_BLEND: u64 = 632_910_392;
const POUR_OVER_KIT: u64 = 632_910_394;

/// Every route called since the last reset, with the number of calls received.
fn calls(h: &EmulatorHandle) -> BTreeMap<String, u64> {
    h.counters()
        .snapshot()
        .into_iter()
        .map(|(route, count)| (route, count.calls))
        .collect()
}

fn expected_calls(product_pages: u64) -> BTreeMap<String, u64> {
    BTreeMap::from([(SHOP.to_string(), 1), (PRODUCTS.to_string(), product_pages)])
}

fn by_origin(items: &[CatalogItem], id: u64) -> &CatalogItem {
    let id = id.to_string();
    items
        .iter()
        .find(|i| i.origin.id == id)
        .unwrap_or_else(|| panic!("no item with origin {id}"))
}

#[tokio::test]
async fn simple_and_variable_products_become_items_priced_in_the_shops_currency() {
    // A euro shop: the currency must come from the shop, not be assumed.
    let (emu, client) = start_with(EmulatorConfig {
        currency: "EUR".into(),
        ..EmulatorConfig::default()
    })
    .await;
    let client = client.with_system_name("my-shop");
    let h = &emu.handle;
    // A product without options and without SKU, added after the seeded ones but with a
    // smaller id (the shop's id sequence starts below them): it must come first.
    let gift = h.add_product(
        "Gift Card",
        &[SeedVariant {
            sku: "  ".into(),
            price: dec!(25),
            stock: 0,
            tracked: false,
        }],
    );
    assert!(gift.id < HOUSE_BLEND);
    h.counters().reset();

    // Through the trait object the engine holds.
    let source: Arc<dyn CatalogSource> = Arc::new(client);
    let items = source.catalog_items().await.unwrap();

    let eur = Currency::new("EUR").unwrap();
    let item = |id: u64, name: &str, sku: Option<&str>, price| CatalogItem {
        origin: ExternalRef {
            system: "my-shop".into(),
            id: id.to_string(),
        },
        crm_id: None,
        name: name.into(),
        sku: sku.map(str::to_string),
        description: None,
        price: Some(Money::new(price, eur.clone())),
        unit: None,
        active: true,
    };
    assert_eq!(
        items,
        vec![
            item(gift.variants[0].id, "Gift Card", None, dec!(25)),
            item(
                808_950_810,
                "House Blend (250g)",
                Some("HB-250"),
                dec!(12.50)
            ),
            item(
                808_950_811,
                "House Blend (1kg)",
                Some("HB-1000"),
                dec!(39.90)
            ),
            item(
                808_950_820,
                "Espresso Roast (Beans)",
                Some("ER-B"),
                dec!(14.75)
            ),
            item(
                808_950_821,
                "Espresso Roast (Ground)",
                Some("ER-G"),
                dec!(14.75)
            ),
            item(808_950_830, "Pour-over Kit", Some("POK-1"), dec!(45.99)),
        ]
    );
    // Exact decimals as the shop wrote them, not floats: the scale survives.
    let kit = by_origin(&items, 808_950_830).price.clone().unwrap();
    assert_eq!(kit.amount.to_string(), "45.99");
    assert_eq!(kit.currency.as_str(), "EUR");
    assert_eq!(
        by_origin(&items, 808_950_811)
            .price
            .as_ref()
            .unwrap()
            .amount
            .to_string(),
        "39.90"
    );
    // The origin is the variant id order lines carry, never the parent product's id.
    let origins: HashSet<&str> = items.iter().map(|i| i.origin.id.as_str()).collect();
    assert!(!origins.contains(HOUSE_BLEND.to_string().as_str()));
    assert!(!origins.contains(POUR_OVER_KIT.to_string().as_str()));

    assert_eq!(calls(h), expected_calls(1));
    emu.shutdown().await;
}

#[tokio::test]
async fn drafts_and_archived_products_are_listed_inactive() {
    let (emu, client) = start().await;
    let h = &emu.handle;
    assert!(h.set_product_status(HOUSE_BLEND, "draft"));
    assert!(h.set_product_status(POUR_OVER_KIT, "archived"));

    let items = client.catalog_items().await.unwrap();
    assert_eq!(
        items.len(),
        5,
        "inactive items are still read, marked inactive"
    );
    let active: Vec<(&str, bool)> = items
        .iter()
        .map(|i| (i.origin.id.as_str(), i.active))
        .collect();
    assert_eq!(
        active,
        vec![
            ("808950810", false),
            ("808950811", false),
            ("808950820", true),
            ("808950821", true),
            ("808950830", false),
        ]
    );
    // Back to active in the shop: active again on the next read.
    assert!(h.set_product_status(HOUSE_BLEND, "active"));
    let again = client.catalog_items().await.unwrap();
    assert!(by_origin(&again, 808_950_810).active);
    assert!(!by_origin(&again, 808_950_830).active);
    assert_eq!(
        by_origin(&again, 808_950_810).price,
        Some(Money::new(dec!(12.50), Currency::new("USD").unwrap()))
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn pages_over_several_product_pages_in_the_promised_calls_and_a_stable_order() {
    let (emu, client) = start().await;
    let h = &emu.handle;
    let skus = h.seed_catalog(260, "GEN");
    h.counters().reset();

    let items = client.catalog_items().await.unwrap();
    // 263 products (260 generated + 3 seeded): 2 pages of 250 and 1 shop read, nothing else.
    assert_eq!(calls(h), expected_calls(2));
    assert_eq!(items.len(), 260 + 5);
    let unique: HashSet<&str> = items.iter().map(|i| i.origin.id.as_str()).collect();
    assert_eq!(unique.len(), items.len(), "no item read twice across pages");

    // The generated products have the smaller ids, so they come first, in their order.
    let got: Vec<&str> = items[..260]
        .iter()
        .map(|i| i.sku.as_deref().unwrap())
        .collect();
    assert_eq!(got, skus.iter().map(String::as_str).collect::<Vec<_>>());
    let g137 = &items[136];
    assert_eq!(g137.name, "Generated GEN-0137");
    assert_eq!(
        g137.price,
        Some(Money::new(dec!(11.37), Currency::new("USD").unwrap()))
    );
    assert_eq!(
        g137.origin.id,
        h.variant_by_sku("GEN-0137").unwrap().id.to_string()
    );
    let tail: Vec<&str> = items[260..].iter().map(|i| i.origin.id.as_str()).collect();
    assert_eq!(
        tail,
        vec![
            "808950810",
            "808950811",
            "808950820",
            "808950821",
            "808950830"
        ]
    );

    // A second read gives the same items in the same order, at the same cost.
    h.counters().reset();
    assert_eq!(client.catalog_items().await.unwrap(), items);
    assert_eq!(calls(h), expected_calls(2));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_server_error_from_the_shop_is_a_retryable_error() {
    let (emu, client) = start().await;
    let h = &emu.handle;
    h.faults().set(FaultConfig {
        error_rate: 1.0,
        ..FaultConfig::default()
    });
    let err = client.catalog_items().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transient);
    assert!(err.should_retry());
    assert_eq!(err.system, "shopify");
    for part in ["get shop settings", "HTTP 500", "will retry"] {
        assert!(err.message.contains(part), "{part:?} in {}", err.message);
    }
    // The read stopped at the first failure: no product page was asked for.
    assert_eq!(calls(h), BTreeMap::from([(SHOP.to_string(), 1)]));

    // The shop recovers: the retried read is whole.
    h.faults().set(FaultConfig::default());
    h.counters().reset();
    assert_eq!(client.catalog_items().await.unwrap().len(), 5);
    assert_eq!(calls(h), expected_calls(1));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_shop_currency_that_is_not_iso_fails_naming_the_shop_before_any_product_page() {
    let (emu, client) = start_with(EmulatorConfig {
        currency: "EURO".into(),
        ..EmulatorConfig::default()
    })
    .await;
    let err = client.catalog_items().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Protocol);
    assert_eq!(err.system, "shopify");
    for part in ["shop 548380009", "\"EURO\"", "Shopify admin"] {
        assert!(err.message.contains(part), "{part:?} in {}", err.message);
    }
    assert_eq!(calls(&emu.handle), BTreeMap::from([(SHOP.to_string(), 1)]));
    emu.shutdown().await;
}
