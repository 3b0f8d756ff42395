//! The nightly catalog end to end: a generated CommerceML catalog imported into SQLite, then
//! pushed to the Bitrix24 emulator (CRM products with the mapped price) and the WooCommerce
//! emulator (regular price and stock by SKU), over real loopback HTTP. The second night writes
//! nothing; one price changed in 1C writes exactly that item.

use crate::common;
use dealbridge::mapping::catalog::CatalogMapping;
use dealbridge::onec::import_files;
use dealbridge::sync::catalog::CatalogFlow;
use dealbridge_bitrix24::emulator as b24;
use dealbridge_bitrix24::{Bitrix24Client, ClientLimits};
use dealbridge_sdk::http::Timeouts;
use dealbridge_store::EntityKind;
use dealbridge_store::Store;
use dealbridge_woocommerce::emulator as woo;
use dealbridge_woocommerce::WooClient;
use rust_decimal::Decimal;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const RETAIL: &str = "a0000000-0000-4000-8000-000000000001";
const WHOLESALE: &str = "a0000000-0000-4000-8000-000000000002";
const W_MAIN: &str = "b0000000-0000-4000-8000-000000000001";
const W_SHOP: &str = "b0000000-0000-4000-8000-000000000002";

fn guid(kind: u32, i: usize) -> String {
    format!("{kind:08x}-0000-4000-8000-{i:012x}")
}

const HEAD: &str = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"2.07\" ДатаФормирования=\"2026-03-01T10:00:00\">\n";

/// The retail price of item `i` (wholesale is 90 % of it).
fn retail(i: usize) -> u64 {
    100 + i as u64
}

/// `import.xml` with `n` products (article `ART-i`) and `offers.xml` with one offer each; every
/// 10th product also has a variant `P#V` (article `ART-i-V`). Stock: 2 at the main warehouse,
/// `i % 5` at the shop warehouse. `price_of` overrides the retail price of chosen items.
fn generate(
    dir: &Path,
    n: usize,
    only_changes: bool,
    price_of: &dyn Fn(usize) -> u64,
) -> [PathBuf; 2] {
    let mut x = String::from(HEAD);
    x.push_str(
        "<Классификатор><Ид>cls</Ид><Наименование>Классификатор</Наименование></Классификатор>",
    );
    write!(x, "<Каталог СодержитТолькоИзменения=\"{only_changes}\"><Ид>cat</Ид><ИдКлассификатора>cls</ИдКлассификатора><Наименование>Каталог</Наименование><Товары>").unwrap();
    for i in 0..n {
        write!(x, "<Товар><Ид>{}</Ид><Артикул>ART-{i}</Артикул><Наименование>Товар {i}</Наименование><БазоваяЕдиница Код=\"796\">шт</БазоваяЕдиница></Товар>", guid(1, i)).unwrap();
    }
    x.push_str("</Товары></Каталог></КоммерческаяИнформация>");
    let import = dir.join("import.xml");
    std::fs::write(&import, x).unwrap();

    let mut x = String::from(HEAD);
    write!(x, "<ПакетПредложений СодержитТолькоИзменения=\"{only_changes}\"><Ид>cat#</Ид><Наименование>Пакет</Наименование><ИдКаталога>cat</ИдКаталога><ИдКлассификатора>cls</ИдКлассификатора><ТипыЦен>\
<ТипЦены><Ид>{RETAIL}</Ид><Наименование>Розничная</Наименование><Валюта>RUB</Валюта></ТипЦены>\
<ТипЦены><Ид>{WHOLESALE}</Ид><Наименование>Оптовая</Наименование><Валюта>RUB</Валюта></ТипЦены></ТипыЦен>\
<Склады><Склад><Ид>{W_MAIN}</Ид><Наименование>Основной склад</Наименование></Склад><Склад><Ид>{W_SHOP}</Ид><Наименование>Магазин</Наименование></Склад></Склады><Предложения>").unwrap();
    let offer = |x: &mut String, id: &str, art: &str, name: &str, price: u64, shop_qty: usize| {
        write!(x, "<Предложение><Ид>{id}</Ид><Артикул>{art}</Артикул><Наименование>{name}</Наименование><Цены>\
<Цена><ИдТипаЦены>{RETAIL}</ИдТипаЦены><ЦенаЗаЕдиницу>{price}.50</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена>\
<Цена><ИдТипаЦены>{WHOLESALE}</ИдТипаЦены><ЦенаЗаЕдиницу>{}.00</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена></Цены>\
<Количество>{}</Количество><Склад ИдСклада=\"{W_MAIN}\" КоличествоНаСкладе=\"2\"/><Склад ИдСклада=\"{W_SHOP}\" КоличествоНаСкладе=\"{shop_qty}\"/></Предложение>",
            price * 9 / 10, 2 + shop_qty).unwrap();
    };
    for i in 0..n {
        offer(
            &mut x,
            &guid(1, i),
            &format!("ART-{i}"),
            &format!("Товар {i}"),
            price_of(i),
            i % 5,
        );
        if i % 10 == 0 {
            let id = format!("{}#{}", guid(1, i), guid(2, i));
            offer(
                &mut x,
                &id,
                &format!("ART-{i}-V"),
                &format!("Товар {i} (XL)"),
                price_of(i) + 7,
                1,
            );
        }
    }
    x.push_str("</Предложения></ПакетПредложений></КоммерческаяИнформация>");
    let offers = dir.join("offers.xml");
    std::fs::write(&offers, x).unwrap();
    [import, offers]
}

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    crm: b24::RunningEmulator,
    shop: woo::RunningEmulator,
    flow: CatalogFlow,
}

/// Store SKUs: every 4th 1C article, the first variant, and two SKUs 1C does not know.
fn shop_catalog(n: usize) -> Vec<woo::CatalogItem> {
    let mut items: Vec<woo::CatalogItem> = (0..n)
        .step_by(4)
        .enumerate()
        .map(|(k, i)| woo::CatalogItem {
            product_id: 1000 + k as u64,
            variation_id: 0,
            name: format!("Shop {i}"),
            sku: format!("ART-{i}"),
            price: Decimal::new(1, 0),
        })
        .collect();
    items.push(woo::CatalogItem {
        product_id: 900,
        variation_id: 901,
        name: "Variant".into(),
        sku: "ART-0-V".into(),
        price: Decimal::new(1, 0),
    });
    items.push(woo::CatalogItem {
        product_id: 950,
        variation_id: 0,
        name: "Shop only".into(),
        sku: "SHOP-ONLY".into(),
        price: Decimal::new(5, 0),
    });
    items
}

async fn world(n: usize, mapping: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("db").display()))
        .await
        .unwrap();
    let files = generate(dir.path(), n, false, &retail);
    import_files(&store, "1c", &files, &|_| {}).await.unwrap();

    let any = "127.0.0.1:0".parse().unwrap();
    let mut cfg = b24::EmulatorConfig::default();
    cfg.limits.capacity = 100_000;
    let crm = b24::spawn(cfg, any).await.unwrap();
    let shop = woo::spawn(
        woo::EmulatorConfig {
            catalog: shop_catalog(n),
            ..Default::default()
        },
        any,
    )
    .await
    .unwrap();
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    };
    let b24c =
        Bitrix24Client::new(&crm.webhook_url, ClientLimits::rate(500, 500), timeouts).unwrap();
    let wooc = WooClient::new(&shop.base_url, "ck_test", "cs_test", timeouts).unwrap();
    let mapping = CatalogMapping::parse(mapping, Path::new("mappings/1c-test.toml")).unwrap();
    let flow = CatalogFlow::new("catalog", "1c", mapping)
        .with_crm("crm", Arc::new(b24c))
        .with_store("shop", Arc::new(wooc));
    World {
        _dir: dir,
        store,
        crm,
        shop,
        flow,
    }
}

const MAPPING: &str = "[prices]\nprice_type = \"Розничная\"\n[stock]\nwarehouses = [\"Магазин\"]\n";

fn shop_writes(shop: &woo::RunningEmulator) -> u64 {
    let c = shop.handle.counters();
    c.get("POST /products/batch").calls + c.get("POST /products/{id}/variations/batch").calls
}

fn crm_writes(crm: &b24::RunningEmulator) -> u64 {
    let c = crm.handle.counters();
    c.get("crm.product.add").calls + c.get("crm.product.update").calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom as the story it checks
async fn nightly_catalog_writes_only_changes() {
    const N: usize = 300;
    let w = world(N, MAPPING).await;
    let items = N + N / 10; // offers + variants

    // --- first night: everything is new ---------------------------------------------------
    let r = w.flow.run(&w.store, false).await.unwrap();
    assert_eq!(r.entries as usize, items, "{r:?}");
    assert_eq!(r.crm_created as usize, items, "{r:?}");
    assert_eq!(r.crm_unchanged + r.crm_updated + r.crm_adopted, 0);
    let requests = w.crm.handle.http_requests();
    let bound = (items as u64).div_ceil(50) + 5;
    assert!(
        requests <= bound,
        "{requests} Bitrix24 requests for {items} products (bound {bound})"
    );
    assert_eq!(crm_writes(&w.crm), items as u64);

    let products = w.crm.handle.products();
    assert_eq!(products.len(), items);
    let find = |xml: &str| {
        products
            .iter()
            .find(|p| p["XML_ID"] == xml)
            .unwrap_or_else(|| panic!("no CRM product {xml}"))
            .clone()
    };
    let p7 = find(&format!("1c:{}", guid(1, 7)));
    assert_eq!(p7["NAME"], "Товар 7");
    assert_eq!(
        p7["PRICE"], "107.50",
        "the retail price, not the wholesale one"
    );
    assert_eq!(p7["CURRENCY_ID"], "RUB");
    let v10 = find(&format!("1c:{}#{}", guid(1, 10), guid(2, 10)));
    assert_eq!(v10["PRICE"], "117.50");
    assert_eq!(v10["NAME"], "Товар 10 (XL)");
    // Bound with the CRM id.
    let b = w
        .store
        .binding("crm", EntityKind::Product, &format!("1c:{}", guid(1, 7)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(serde_json::json!(b.external_id), p7["ID"]);

    // Store: every 4th article plus the variant; the shop warehouse only (i % 5).
    let in_shop = N.div_ceil(4) + 1;
    assert_eq!(r.store_updated as usize, in_shop, "{r:?}");
    assert_eq!(r.store_not_found as usize, items - in_shop, "{r:?}");
    assert!(r.store_failed.is_empty(), "{r:?}");
    let shop8 = w.shop.handle.product(1002).unwrap(); // ART-8
    assert_eq!(shop8.sku, "ART-8");
    assert_eq!(shop8.regular_price, "108.50");
    assert_eq!(
        shop8.stock_quantity,
        Some(3),
        "8 % 5 at the shop warehouse only"
    );
    let variant = w.shop.handle.product(901).unwrap();
    assert_eq!(variant.regular_price, "107.50");
    assert_eq!(variant.stock_quantity, Some(1));
    assert_eq!(
        w.shop.handle.product(950).unwrap().regular_price,
        "5",
        "untouched"
    );

    // --- second night: nothing changed, nothing is written -----------------------------------
    let crm_before = w.crm.handle.http_requests();
    w.shop.handle.counters().reset();
    let r2 = w.flow.run(&w.store, false).await.unwrap();
    assert_eq!(r2.crm_unchanged as usize, items, "{r2:?}");
    assert_eq!(r2.crm_created + r2.crm_updated + r2.crm_adopted, 0);
    assert_eq!(
        w.crm.handle.http_requests(),
        crm_before,
        "no Bitrix24 call at all"
    );
    assert_eq!(r2.store_updated, 0, "{r2:?}");
    assert_eq!(r2.store_unchanged as usize, in_shop);
    assert_eq!(shop_writes(&w.shop), 0, "no WooCommerce write");

    // --- 1C changes one price (a changes-only offers file) → exactly that item ---------------
    let dir = tempfile::tempdir().unwrap();
    let changed = generate(dir.path(), N, true, &|i| {
        if i == 8 {
            555
        } else {
            retail(i)
        }
    });
    import_files(&w.store, "1c", &changed[1..], &|_| {})
        .await
        .unwrap();
    let crm_counters = w.crm.handle.counters();
    crm_counters.reset();
    w.shop.handle.counters().reset();
    let r3 = w.flow.run(&w.store, false).await.unwrap();
    assert_eq!(r3.crm_updated, 1, "{r3:?}");
    assert_eq!(r3.crm_unchanged as usize, items - 1);
    assert_eq!(crm_counters.get("crm.product.update").calls, 1);
    assert_eq!(crm_counters.get("crm.product.add").calls, 0);
    assert_eq!(find(&format!("1c:{}", guid(1, 8)))["ID"], {
        let now = w.crm.handle.products();
        now.iter()
            .find(|p| p["XML_ID"] == format!("1c:{}", guid(1, 8)))
            .unwrap()["ID"]
            .clone()
    });
    let p8 = w
        .crm
        .handle
        .products()
        .into_iter()
        .find(|p| p["XML_ID"] == format!("1c:{}", guid(1, 8)))
        .unwrap();
    assert_eq!(p8["PRICE"], "555.50");
    assert_eq!(r3.store_updated, 1, "{r3:?}");
    assert_eq!(shop_writes(&w.shop), 1);
    assert_eq!(w.shop.handle.product(1002).unwrap().regular_price, "555.50");
    assert_eq!(w.crm.handle.products().len(), items, "no duplicate");

    // --- a full run re-sends every CRM item but writes only differing store SKUs --------------
    w.shop.handle.counters().reset();
    let r4 = w.flow.run(&w.store, true).await.unwrap();
    assert_eq!(r4.crm_updated as usize, items, "{r4:?}");
    assert_eq!(r4.store_updated, 0, "{r4:?}");
    assert_eq!(r4.store_unchanged as usize, in_shop);
    assert_eq!(shop_writes(&w.shop), 0);
    assert_eq!(w.crm.handle.products().len(), items);

    w.crm.shutdown().await;
    w.shop.shutdown().await;
    w.store.close().await;
}

/// An unmapped price type is a finding, not a failure: everything but the price still goes to
/// the CRM, and the run's report says why prices are missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_type_1c_does_not_have_is_reported_and_the_rest_still_goes() {
    let w = world(5, "[prices]\nprice_type = \"Закупочная\"\n").await;
    let r = w.flow.run(&w.store, false).await.unwrap();
    let why = r
        .price_type_missing
        .clone()
        .expect("the missing price type is reported");
    assert!(why.contains("price type `Закупочная`"), "{why}");
    assert!(why.contains("mappings/1c-test.toml"), "{why}");
    assert!(why.contains("Розничная ("), "{why}");
    assert_eq!(r.entries, 6, "5 products, one with a variant: {r:?}");
    assert_eq!(r.crm_created, 6, "{r:?}");
    let products = w.crm.handle.products();
    assert_eq!(products.len(), 6);
    // The emulator shows "0.00" for a product created without a price.
    assert!(
        products.iter().all(|p| p["PRICE"] == "0.00"),
        "no price is sent: {products:?}"
    );
    w.crm.shutdown().await;
    w.shop.shutdown().await;
    w.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wholesale_price_and_all_warehouses_when_mapped_so() {
    let w = world(
        8,
        "[prices]\nprice_type = \"a0000000-0000-4000-8000-000000000002\"\n",
    )
    .await;
    let r = w.flow.run(&w.store, false).await.unwrap();
    assert!(r.store_updated >= 2, "{r:?}");
    let shop4 = w.shop.handle.product(1001).unwrap(); // ART-4: wholesale 104 * 9 / 10 = 93
    assert_eq!(shop4.regular_price, "93.00");
    assert_eq!(shop4.stock_quantity, Some(2 + 4), "both warehouses");
    let p4 = w
        .crm
        .handle
        .products()
        .into_iter()
        .find(|p| p["XML_ID"] == format!("1c:{}", guid(1, 4)))
        .unwrap();
    assert_eq!(p4["PRICE"], "93.00");
    w.crm.shutdown().await;
    w.shop.shutdown().await;
    w.store.close().await;
}

/// A generated 1C catalog on disk (`n` products), the Bitrix24 emulator and the WooCommerce
/// emulator selling part of it, for tests that write a config and run the binary.
struct ConfigWorld {
    dir: tempfile::TempDir,
    files: [PathBuf; 2],
    crm: b24::RunningEmulator,
    shop: woo::RunningEmulator,
}

async fn config_world(n: usize) -> ConfigWorld {
    let dir = tempfile::tempdir().unwrap();
    let files = generate(dir.path(), n, false, &retail);
    let any = "127.0.0.1:0".parse().unwrap();
    let crm = b24::spawn(b24::EmulatorConfig::default(), any)
        .await
        .unwrap();
    let shop = woo::spawn(
        woo::EmulatorConfig {
            catalog: shop_catalog(n),
            ..Default::default()
        },
        any,
    )
    .await
    .unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    ConfigWorld {
        dir,
        files,
        crm,
        shop,
    }
}

/// The same through the config and the real binary: `import-1c`, then `sync` runs both
/// `[[catalog]]` entries (CRM products, store price and stock); the second `sync` writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogs_in_the_config_run_with_sync() {
    let ConfigWorld {
        dir,
        files,
        crm,
        shop,
    } = config_world(60).await;
    std::fs::write(dir.path().join("mappings/1c-crm.toml"), MAPPING).unwrap();
    std::fs::write(dir.path().join("mappings/1c-shop.toml"), MAPPING).unwrap();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"[database]
url = "sqlite://state.db"
[systems.shop]
kind = "woocommerce"
base_url = "{}"
consumer_key = "ck_test"
consumer_secret = "cs_test"
[systems.crm]
kind = "bitrix24"
webhook_url = "{}"
rate_limit_per_second = 50
rate_limit_burst = 50
[[catalog]]
name = "products"
to = "crm"
mapping = "mappings/1c-crm.toml"
[[catalog]]
name = "shop-prices"
to = "shop"
mapping = "mappings/1c-shop.toml"
[schedule.nightly]
cron = "0 3 * * *"
flows = ["products", "shop-prices"]
"#,
            shop.base_url, crm.webhook_url
        ),
    )
    .unwrap();
    let run = |args: &[&str]| common::dealbridge_ok(&config, args);
    let check = run(&["check"]);
    assert!(!check.is_empty());
    run(&[
        "import-1c",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
    ]);
    let first = run(&["sync"]);
    assert!(
        first.contains("catalog products: 66 item(s) from 1C; CRM: 66 created"),
        "{first}"
    );
    assert!(first.contains("catalog shop-prices: 66 item(s)"), "{first}");
    assert_eq!(crm.handle.products().len(), 66);
    let written = shop_writes(&shop);
    assert!(written > 0, "store prices written");
    // `status` tells the integrator when each catalog last wrote, and what.
    let status = run(&["status"]);
    assert!(status.contains("catalogs (last written):"), "{status}");
    assert!(
        status.contains("products -> crm at ") && status.contains("66 products: 66 created"),
        "{status}"
    );
    assert!(status.contains("shop-prices -> shop at "), "{status}");
    let second = run(&["sync"]);
    assert!(
        second.contains("CRM: 0 created, 0 updated, 0 adopted, 66 unchanged"),
        "{second}"
    );
    assert_eq!(
        shop_writes(&shop),
        written,
        "the second night writes nothing to the store"
    );
    assert_eq!(crm_writes(&crm), 66, "nor to the CRM");
}

/// Writes the Shopify emulator received: GraphQL bulk price and stock mutations, and the REST
/// writes a push must no longer use.
fn shopify_writes(shop: &dealbridge_shopify::emulator::RunningEmulator) -> u64 {
    let c = shop.handle.counters();
    c.get("graphql productVariantsBulkUpdate").served
        + c.get("graphql inventorySetQuantities").served
        + c.get("PUT /variants/{id}").served
        + c.get("POST /inventory_levels/set.json").served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_store_gets_price_and_stock_and_the_second_night_writes_nothing() {
    use dealbridge_shopify::emulator::store::{SeedVariant, LOCATION_ID};
    use dealbridge_shopify::emulator::{spawn as spawn_shopify, EmulatorConfig};
    use dealbridge_shopify::ShopifyClient;
    const N: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("db").display()))
        .await
        .unwrap();
    let files = generate(dir.path(), N, false, &retail);
    import_files(&store, "1c", &files, &|_| {}).await.unwrap();

    // The shop sells every 4th 1C article (one untracked: its stock is off in Shopify) and the
    // first variant, plus a product 1C does not know.
    let shop = spawn_shopify(EmulatorConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let seed = |sku: String, tracked: bool| SeedVariant {
        sku,
        price: Decimal::new(1, 0),
        stock: 0,
        tracked,
    };
    for i in (0..N).step_by(4) {
        shop.handle
            .add_product(&format!("Shop {i}"), &[seed(format!("ART-{i}"), i != 12)]);
    }
    shop.handle.add_product(
        "Variant",
        &[seed("ART-0-V".into(), true), seed("SHOP-ONLY".into(), true)],
    );
    let client = ShopifyClient::new(
        &shop.base_url,
        "shpat_test",
        dealbridge_sdk::http::Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(5),
        },
    )
    .unwrap()
    .with_system_name("shop");
    let mapping = CatalogMapping::parse(MAPPING, Path::new("mappings/1c-test.toml")).unwrap();
    let flow = CatalogFlow::new("catalog", "1c", mapping).with_store("shop", Arc::new(client));

    // --- first night: price (retail) and stock (shop warehouse, i % 5) on every shop SKU ------
    let in_shop = N.div_ceil(4) + 1;
    let r = flow.run(&store, false).await.unwrap();
    assert_eq!(r.store_updated as usize, in_shop, "{r:?}");
    assert!(r.store_failed.is_empty(), "{r:?}");
    // One bulk price write per product (the variant shares its product with a shop-only SKU)
    // and one stock write for all levels, instead of two REST calls per SKU.
    let products = N.div_ceil(4) + 1;
    assert_eq!(
        (
            shop.handle
                .counters()
                .get("graphql productVariantsBulkUpdate")
                .served,
            shop.handle
                .counters()
                .get("graphql inventorySetQuantities")
                .served
        ),
        (products as u64, 1)
    );
    assert_eq!(shopify_writes(&shop), products as u64 + 1, "no REST write");
    let h = &shop.handle;
    let stock = |sku: &str| {
        let item = h.variant_by_sku(sku).unwrap().inventory_item_id.unwrap();
        h.inventory_level(item, LOCATION_ID)
    };
    let v8 = h.variant_by_sku("ART-8").unwrap();
    assert_eq!(v8.price, Decimal::new(10850, 2));
    assert_eq!(stock("ART-8"), Some(3), "8 % 5 at the shop warehouse only");
    let v12 = h.variant_by_sku("ART-12").unwrap();
    assert_eq!(
        v12.inventory_management.as_deref(),
        Some("shopify"),
        "tracking turned on"
    );
    assert_eq!(stock("ART-12"), Some(2));
    assert_eq!(
        h.variant_by_sku("ART-0-V").unwrap().price,
        Decimal::new(10750, 2)
    );
    assert_eq!(stock("ART-0-V"), Some(1));
    assert_eq!(
        h.variant_by_sku("SHOP-ONLY").unwrap().price,
        Decimal::new(1, 0)
    );

    // --- second night: nothing changed, nothing written ----------------------------------------
    h.counters().reset();
    let r2 = flow.run(&store, false).await.unwrap();
    assert_eq!(r2.store_updated, 0, "{r2:?}");
    assert_eq!(r2.store_unchanged as usize, in_shop, "{r2:?}");
    assert_eq!(shopify_writes(&shop), 0, "no Shopify write");
    // SKUs the shop did not have are asked again (the shop may have added them): one page.
    assert_eq!(h.counters().get("GET /products.json").served, 1);

    // --- 1C changes one price → exactly one variant PUT ----------------------------------------
    let changed_dir = tempfile::tempdir().unwrap();
    let changed = generate(changed_dir.path(), N, true, &|i| {
        if i == 8 {
            555
        } else {
            retail(i)
        }
    });
    import_files(&store, "1c", &changed[1..], &|_| {})
        .await
        .unwrap();
    h.counters().reset();
    let r3 = flow.run(&store, false).await.unwrap();
    assert_eq!(r3.store_updated, 1, "{r3:?}");
    assert_eq!(
        h.counters().get("graphql productVariantsBulkUpdate").served,
        1,
        "one price write"
    );
    assert_eq!(shopify_writes(&shop), 1);
    assert_eq!(
        h.variant_by_sku("ART-8").unwrap().price,
        Decimal::new(55550, 2)
    );

    shop.shutdown().await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shops_own_catalog_reaches_the_crm_and_only_changes_are_written() {
    use dealbridge_sdk::model::SkuUpdate;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("db").display()))
        .await
        .unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    // No 1C here: the shop's 10 simple products, one variation and one shop-only product.
    let shop = woo::spawn(
        woo::EmulatorConfig {
            catalog: shop_catalog(40),
            ..Default::default()
        },
        any,
    )
    .await
    .unwrap();
    let crm = b24::spawn(b24::EmulatorConfig::default(), any)
        .await
        .unwrap();
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    };
    let wooc = WooClient::new(&shop.base_url, "ck_test", "cs_test", timeouts)
        .unwrap()
        .with_system_name("shop");
    let b24c =
        Bitrix24Client::new(&crm.webhook_url, ClientLimits::rate(100, 100), timeouts).unwrap();
    let flow = CatalogFlow::from_store("shop-products", "shop", Arc::new(wooc.clone()))
        .with_crm("crm", Arc::new(b24c));

    // --- first night: every sellable item becomes a CRM product ------------------------------
    let r = flow.run(&store, false).await.unwrap();
    assert_eq!(r.source, "shop");
    assert_eq!(r.entries, 12, "{r:?}");
    assert_eq!(r.crm_created, 12, "{r:?}");
    let products = crm.handle.products();
    assert_eq!(products.len(), 12);
    let by_key = |key: &str| {
        crm.handle
            .products()
            .into_iter()
            .find(|p| p["XML_ID"] == key)
            .unwrap_or_else(|| panic!("no CRM product {key}"))
    };
    let p8 = by_key("shop:1002");
    assert_eq!(p8["NAME"], "Shop 8");
    assert_eq!(p8["PRICE"], "1.00");
    assert_eq!(p8["CURRENCY_ID"], "RUB", "the shop's currency");
    assert_eq!(by_key("shop:901")["PRICE"], "1.00", "the variation itself");
    assert!(
        !products.iter().any(|p| p["XML_ID"] == "shop:900"),
        "never the variable parent"
    );
    assert_eq!(by_key("shop:950")["PRICE"], "5.00");

    // --- second night: nothing changed in the shop, nothing written to the CRM ---------------
    let before = crm.handle.http_requests();
    let r2 = flow.run(&store, false).await.unwrap();
    assert_eq!(r2.crm_unchanged, 12, "{r2:?}");
    assert_eq!(r2.crm_created + r2.crm_updated + r2.crm_adopted, 0);
    assert_eq!(
        crm.handle.http_requests(),
        before,
        "no Bitrix24 call at all"
    );

    // --- the owner changes one price and drafts one product → exactly those two --------------
    wooc.push_price_and_stock(&[SkuUpdate {
        sku: "ART-8".into(),
        regular_price: Some(Decimal::new(999, 2)),
        stock_quantity: None,
    }])
    .await
    .unwrap();
    shop.handle.owner_set_product_status(1003, "draft").unwrap();
    crm.handle.counters().reset();
    let r3 = flow.run(&store, false).await.unwrap();
    assert_eq!(r3.crm_updated, 2, "{r3:?}");
    assert_eq!(r3.crm_unchanged, 10, "{r3:?}");
    assert_eq!(crm.handle.counters().get("crm.product.update").calls, 2);
    assert_eq!(crm.handle.counters().get("crm.product.add").calls, 0);
    assert_eq!(by_key("shop:1002")["PRICE"], "9.99");
    assert_eq!(
        by_key("shop:1003")["ACTIVE"],
        "N",
        "a draft is deactivated in the CRM"
    );
    assert_eq!(crm.handle.products().len(), 12, "no duplicate");

    shop.shutdown().await;
    crm.shutdown().await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shops_own_catalog_in_the_config_reaches_amocrm_with_sync() {
    let tail = "[[catalog]]\nname = \"shop-products\"\nfrom = \"shop\"\nto = \"crm\"\n";
    let w = common::spawn_amo_world(common::AmoTuning {
        tail,
        ..Default::default()
    })
    .await;
    let expected = {
        let wooc = WooClient::new(
            &w.shop.base_url,
            "ck_test",
            "cs_test",
            Timeouts {
                connect: Duration::from_secs(2),
                request: Duration::from_secs(5),
            },
        )
        .unwrap();
        dealbridge_sdk::traits::CatalogSource::catalog_items(&wooc)
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.active)
            .count()
    };
    assert!(expected > 0);
    let run = |args: &[&str]| common::dealbridge_ok(&w.config, args);
    let first = run(&["sync", "shop-products"]);
    assert!(
        first.contains(&format!(
            "catalog shop-products: {expected} item(s) from shop; CRM: {expected} created"
        )),
        "{first}"
    );
    assert_eq!(w.crm.handle.elements().len(), expected);
    let second = run(&["sync", "shop-products"]);
    assert!(
        second.contains(&format!(
            "CRM: 0 created, 0 updated, 0 adopted, {expected} unchanged"
        )),
        "{second}"
    );
    assert_eq!(w.crm.handle.elements().len(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_shops_own_catalog_reaches_the_crm_by_variant() {
    use dealbridge_shopify::emulator::{spawn as spawn_shopify, EmulatorConfig};
    use dealbridge_shopify::ShopifyClient;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("db").display()))
        .await
        .unwrap();
    let any = "127.0.0.1:0".parse().unwrap();
    let shop = spawn_shopify(EmulatorConfig::default(), any).await.unwrap();
    let crm = b24::spawn(b24::EmulatorConfig::default(), any)
        .await
        .unwrap();
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    };
    let client = ShopifyClient::new(&shop.base_url, "shpat_test", timeouts)
        .unwrap()
        .with_system_name("shopify");
    let wanted = dealbridge_sdk::traits::CatalogSource::catalog_items(&client)
        .await
        .unwrap();
    let b24c =
        Bitrix24Client::new(&crm.webhook_url, ClientLimits::rate(100, 100), timeouts).unwrap();
    let flow = CatalogFlow::from_store("shopify-products", "shopify", Arc::new(client))
        .with_crm("crm", Arc::new(b24c));
    let r = flow.run(&store, false).await.unwrap();
    assert_eq!(r.crm_created as usize, wanted.len(), "{r:?}");
    let products = crm.handle.products();
    for item in &wanted {
        let key = format!("shopify:{}", item.origin.id);
        let p = products
            .iter()
            .find(|p| p["XML_ID"] == key)
            .unwrap_or_else(|| panic!("no CRM product {key}"));
        assert_eq!(p["NAME"], item.name.as_str());
        let price = item.price.as_ref().unwrap();
        assert_eq!(p["PRICE"], format!("{:.2}", price.amount));
        assert_eq!(p["CURRENCY_ID"], price.currency.as_str());
    }
    let r2 = flow.run(&store, false).await.unwrap();
    assert_eq!(r2.crm_unchanged as usize, wanted.len(), "{r2:?}");
    assert_eq!(crm.handle.products().len(), wanted.len());
    shop.shutdown().await;
    crm.shutdown().await;
    store.close().await;
}

/// The 1C entry id an article of [`generate`] names (`ART-i` or the variant's `ART-i-V`).
fn entry_of(sku: &str) -> Option<String> {
    let rest = sku.strip_prefix("ART-")?;
    Some(match rest.strip_suffix("-V") {
        Some(i) => {
            let i: usize = i.parse().ok()?;
            format!("{}#{}", guid(1, i), guid(2, i))
        }
        None => guid(1, rest.parse().ok()?),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deal_rows_name_the_crm_products_the_1c_catalog_pushed() {
    let ConfigWorld {
        dir,
        files,
        crm,
        shop,
    } = config_world(60).await;
    let orders = shop.handle.seed_orders(6, 7);
    std::fs::write(dir.path().join("mappings/1c-crm.toml"), MAPPING).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/mappings/woocommerce-bitrix24.toml"
        ),
        dir.path().join("mappings/woocommerce-bitrix24.toml"),
    )
    .unwrap();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"[database]
url = "sqlite://state.db"
[systems.shop]
kind = "woocommerce"
base_url = "{}"
consumer_key = "ck_test"
consumer_secret = "cs_test"
[systems.crm]
kind = "bitrix24"
webhook_url = "{}"
rate_limit_per_second = 50
rate_limit_burst = 50
[[flows]]
name = "orders"
from = "shop"
to = "crm"
entities = ["order"]
mapping = "mappings/woocommerce-bitrix24.toml"
[[catalog]]
name = "products"
to = "crm"
mapping = "mappings/1c-crm.toml"
"#,
            shop.base_url, crm.webhook_url
        ),
    )
    .unwrap();
    let run = |args: &[&str]| common::dealbridge_ok(&config, args);
    run(&[
        "import-1c",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
    ]);
    // One pass: the catalog is pushed before the queued deals are written.
    run(&["sync"]);
    assert_eq!(crm.handle.deals().len(), orders.len());

    let products = crm.handle.products();
    let crm_id_of = |entry: &str| {
        products
            .iter()
            .find(|p| p["XML_ID"] == format!("1c:{entry}"))
            .map(|p| p["ID"].as_str().unwrap().to_string())
    };
    let (mut linked, mut text_only) = (0, 0);
    for deal in crm.handle.deals() {
        let id: u64 = deal["ID"].as_str().unwrap().parse().unwrap();
        for row in crm.handle.deal_rows(id) {
            let name = row["PRODUCT_NAME"].as_str().unwrap().to_string();
            let sku = name
                .rsplit_once('(')
                .and_then(|(_, s)| s.strip_suffix(')'))
                .map(str::to_string);
            let want = sku
                .as_deref()
                .and_then(entry_of)
                .and_then(|e| crm_id_of(&e));
            match want {
                Some(crm_id) => {
                    assert_eq!(
                        row["PRODUCT_ID"].to_string().trim_matches('"'),
                        crm_id,
                        "row {name} names the CRM product of its 1C article"
                    );
                    linked += 1;
                }
                None => {
                    assert_eq!(
                        row["PRODUCT_ID"].to_string().trim_matches('"'),
                        "0",
                        "row {name} has no 1C product: a text row"
                    );
                    text_only += 1;
                }
            }
        }
    }
    assert!(linked > 0, "some rows are linked ({text_only} text rows)");

    // Linked rows are what the CRM keeps: the next pass writes nothing.
    let writes = common::crm_writes(&crm.handle);
    let again = run(&["sync"]);
    assert!(again.contains("created 0, updated 0"), "{again}");
    assert_eq!(common::crm_writes(&crm.handle), writes);
}

/// `reconcile` over a `[[catalog]]`: a price changed in the CRM catalog by hand, a product
/// deactivated there and one deleted are reported (and nothing else), `--fix` makes the next
/// catalog run push them again, and the catalog agrees after one `sync`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_finds_what_was_changed_in_the_crm_catalog_and_the_next_run_repairs_it() {
    use dealbridge::sync::reconcile::DifferenceKind;
    let ConfigWorld {
        dir, files, crm, ..
    } = config_world(20).await;
    std::fs::write(dir.path().join("mappings/1c-crm.toml"), MAPPING).unwrap();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://state.db\"\n[systems.crm]\nkind = \"bitrix24\"\nwebhook_url = \"{}\"\n[[catalog]]\nname = \"products\"\nto = \"crm\"\nmapping = \"mappings/1c-crm.toml\"\n",
            crm.webhook_url
        ),
    )
    .unwrap();
    common::dealbridge_ok(
        &config,
        &[
            "import-1c",
            files[0].to_str().unwrap(),
            files[1].to_str().unwrap(),
        ],
    );
    let app = dealbridge::app::App::load(&config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let clean = app.engine.reconcile(None, since, false).await.unwrap();
    assert!(clean.agrees(), "{:#?}", clean.differences);
    assert_eq!(clean.catalogs[0].items, 22);
    assert_eq!(clean.catalogs[0].agreeing, 22);
    assert_eq!(
        (clean.catalogs[0].reads, clean.checked.reads),
        (1, 1),
        "22 products are one page read (2,500 a page), and the total says so"
    );

    let products = crm.handle.products();
    let id_of = |i: usize| -> (String, String) {
        let origin = format!("1c:{}", guid(1, i));
        let p = products
            .iter()
            .find(|p| p["XML_ID"] == origin.as_str())
            .unwrap_or_else(|| panic!("product {origin}"));
        (p["ID"].as_str().unwrap().to_string(), guid(1, i))
    };
    let (priced, priced_origin) = id_of(3);
    let (off, off_origin) = id_of(4);
    let (gone, gone_origin) = id_of(5);
    let h = &crm.handle;
    assert!(h
        .manager_call(
            "crm.product.update",
            serde_json::json!({ "id": priced, "fields": { "PRICE": "1.00" } })
        )
        .is_some());
    assert!(h
        .manager_call(
            "crm.product.update",
            serde_json::json!({ "id": off, "fields": { "ACTIVE": "N" } })
        )
        .is_some());
    assert!(h
        .manager_call("crm.product.delete", serde_json::json!({ "id": gone }))
        .is_some());

    let report = app.engine.reconcile(None, since, false).await.unwrap();
    let found: std::collections::BTreeSet<_> = report
        .differences
        .iter()
        .map(|d| (d.kind, d.store_id.clone().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            (DifferenceKind::Price, priced_origin),
            (DifferenceKind::Inactive, off_origin),
            (DifferenceKind::MissingProduct, gone_origin),
        ]
        .into_iter()
        .collect(),
        "{:#?}",
        report.differences
    );
    let price = report
        .differences
        .iter()
        .find(|d| d.kind == DifferenceKind::Price)
        .unwrap();
    assert_eq!(price.store_value, serde_json::json!("103.5 RUB"));
    assert_eq!(price.crm_value, serde_json::json!("1 RUB"));
    assert_eq!(price.catalog.as_deref(), Some("products"));

    let fixed = app.engine.reconcile(None, since, true).await.unwrap();
    assert_eq!(fixed.fixes_queued, 3);
    app.engine.sync_once(None, false).await.unwrap();
    let after = app.engine.reconcile(None, since, false).await.unwrap();
    assert!(after.agrees(), "{:#?}", after.differences);
    assert_eq!(
        crm.handle.products().len(),
        22,
        "the deleted one created again, no duplicate"
    );
    app.store.close().await;
}

/// Runs `dealbridge --config <config> <args>` and returns its exit code and stdout.
fn dealbridge_code(config: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = common::dealbridge()
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run dealbridge");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The store side of a `[[catalog]] to = "shop"`: a stock set by hand and a price changed by
/// hand in WooCommerce are reported exactly (the SKUs the shop does not sell are counted, not
/// reported), `--fix` makes the next `sync` write them back, and the next `reconcile` agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom
async fn reconcile_finds_stock_and_price_set_by_hand_in_woocommerce_and_the_next_sync_repairs_them()
{
    let ConfigWorld {
        dir, files, shop, ..
    } = config_world(20).await;
    std::fs::write(dir.path().join("mappings/1c-shop.toml"), MAPPING).unwrap();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://state.db\"\n[systems.shop]\nkind = \"woocommerce\"\nbase_url = \"{}\"\nconsumer_key = \"ck_test\"\nconsumer_secret = \"cs_test\"\n[[catalog]]\nname = \"shop-prices\"\nto = \"shop\"\nmapping = \"mappings/1c-shop.toml\"\n",
            shop.base_url
        ),
    )
    .unwrap();
    common::dealbridge_ok(
        &config,
        &[
            "import-1c",
            files[0].to_str().unwrap(),
            files[1].to_str().unwrap(),
        ],
    );
    common::dealbridge_ok(&config, &["sync"]);
    let (code, out) = dealbridge_code(&config, &["reconcile", "--json"]);
    assert_eq!(code, Some(0), "{out}");
    let clean: serde_json::Value = serde_json::from_str(&out).unwrap();
    let c = &clean["catalogs"][0];
    assert_eq!(c["target"], "store_prices", "{c}");
    assert_eq!(c["crm"], "shop");
    // 20 offers + 2 variants; the shop sells ART-0, 4, 8, 12, 16 and ART-0-V.
    assert_eq!(
        (
            &c["items"],
            &c["products"],
            &c["not_in_store"],
            &c["agreeing"]
        ),
        (&22.into(), &6.into(), &16.into(), &6.into()),
        "{c}"
    );

    // By hand, through the shop's REST API: ART-8 (product 1002, stock 8 % 5 = 3 at the
    // mapped warehouse) gets 7 in stock; ART-4 (product 1001, 104.50) gets 99.
    let by_hand =
        WooClient::new(&shop.base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    let saved = by_hand
        .batch_update_products(&[
            serde_json::json!({"id": 1002, "stock_quantity": 7}),
            serde_json::json!({"id": 1001, "regular_price": "99.00"}),
        ])
        .await
        .unwrap();
    assert!(saved.iter().all(Result::is_ok), "{saved:?}");

    let (code, out) = dealbridge_code(&config, &["reconcile", "--json"]);
    assert_eq!(code, Some(5), "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found: Vec<(String, String, String, String, String)> = report["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or("-").to_string();
            (
                s("kind"),
                s("store_id"),
                s("crm_id"),
                s("store_value"),
                s("crm_value"),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "price".into(),
                guid(1, 4),
                "ART-4".into(),
                "104.5".into(),
                "99".into()
            ),
            (
                "stock".into(),
                guid(1, 8),
                "ART-8".into(),
                "3".into(),
                "7".into()
            ),
        ],
        "{out}"
    );
    assert_eq!(report["differences"][1]["fix"], "repush_product");
    assert_eq!(report["differences"][1]["catalog"], "shop-prices");

    let (code, out) = dealbridge_code(&config, &["reconcile", "--fix"]);
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("2 fix job(s) queued"), "{out}");
    let writes = shop_writes(&shop);
    let synced = common::dealbridge_ok(&config, &["sync"]);
    assert!(synced.contains("catalog shop-prices"), "{synced}");
    assert_eq!(
        shop_writes(&shop),
        writes + 1,
        "one batch write for the two SKUs"
    );
    let p = shop.handle.product(1002).unwrap();
    assert_eq!(p.stock_quantity, Some(3));
    assert_eq!(shop.handle.product(1001).unwrap().regular_price, "104.50");
    let (code, out) = dealbridge_code(&config, &["reconcile"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("prices and stock of 22 SKU(s)"), "{out}");
}

/// The same on Shopify: a stock level set by hand at the stock location (REST
/// `inventory_levels/set`) is reported as exactly one `stock` difference, `--fix` makes the
/// next run set it back, and the next reconcile agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_finds_stock_set_by_hand_in_shopify_and_the_next_run_repairs_it() {
    use dealbridge::sync::reconcile::{CatalogTarget, DifferenceKind};
    use dealbridge_shopify::emulator::store::{SeedVariant, LOCATION_ID};
    use dealbridge_shopify::emulator::{spawn as spawn_shopify, EmulatorConfig};
    use dealbridge_shopify::ShopifyClient;
    let dir = tempfile::tempdir().unwrap();
    let files = generate(dir.path(), 20, false, &retail);
    let shop = spawn_shopify(EmulatorConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    for i in (0..20).step_by(4) {
        let seed = SeedVariant {
            sku: format!("ART-{i}"),
            price: Decimal::new(1, 0),
            stock: 0,
            tracked: true,
        };
        shop.handle.add_product(&format!("Shop {i}"), &[seed]);
    }
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::write(dir.path().join("mappings/1c-shop.toml"), MAPPING).unwrap();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://state.db\"\n[systems.shop]\nkind = \"shopify\"\nbase_url = \"{}\"\naccess_token = \"shpat_test\"\n[[catalog]]\nname = \"prices\"\nto = \"shop\"\nmapping = \"mappings/1c-shop.toml\"\n",
            shop.base_url
        ),
    )
    .unwrap();
    common::dealbridge_ok(
        &config,
        &[
            "import-1c",
            files[0].to_str().unwrap(),
            files[1].to_str().unwrap(),
        ],
    );
    let app = dealbridge::app::App::load(&config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let clean = app.engine.reconcile(None, since, false).await.unwrap();
    assert!(clean.agrees(), "{:#?}", clean.differences);
    let c = &clean.catalogs[0];
    assert_eq!(c.target, CatalogTarget::StorePrices);
    assert_eq!((c.items, c.products, c.agreeing), (22, 5, 5), "{c:?}");

    // By hand: ART-12 (12 % 5 = 2 at the mapped warehouse) gets 9 at the stock location.
    let by_hand = ShopifyClient::new(&shop.base_url, "shpat_test", Timeouts::default()).unwrap();
    let item = shop
        .handle
        .variant_by_sku("ART-12")
        .unwrap()
        .inventory_item_id
        .unwrap();
    by_hand
        .set_inventory_level(item, LOCATION_ID, 9)
        .await
        .unwrap();

    let report = app.engine.reconcile(None, since, false).await.unwrap();
    let found: Vec<_> = report
        .differences
        .iter()
        .map(|d| {
            (
                d.kind,
                d.store_id.clone().unwrap(),
                d.store_value.clone(),
                d.crm_value.clone(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![(
            DifferenceKind::Stock,
            guid(1, 12),
            serde_json::json!("2"),
            serde_json::json!("9")
        )]
    );
    let fixed = app.engine.reconcile(None, since, true).await.unwrap();
    assert_eq!(fixed.fixes_queued, 1);
    app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(shop.handle.inventory_level(item, LOCATION_ID), Some(2));
    let after = app.engine.reconcile(None, since, false).await.unwrap();
    assert!(after.agrees(), "{:#?}", after.differences);
    app.store.close().await;
    shop.shutdown().await;
}

/// amoCRM catalogs are compared too: the shop's own catalog pushed to amoCRM agrees; a price
/// changed in amoCRM (through its API) is reported as exactly that `price` difference, and
/// `--fix` makes the next run write it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_finds_a_price_changed_in_the_amocrm_catalog_and_the_next_run_repairs_it() {
    use dealbridge::sync::reconcile::DifferenceKind;
    use dealbridge_amocrm::{AmoClient, DEFAULT_LIMITS};
    let tail = "[[catalog]]\nname = \"shop-products\"\nfrom = \"shop\"\nto = \"crm\"\n";
    let w = common::spawn_amo_world(common::AmoTuning {
        tail,
        ..Default::default()
    })
    .await;
    let app = dealbridge::app::App::load(&w.config).await.unwrap();
    app.engine
        .sync_once(Some("shop-products"), false)
        .await
        .unwrap();
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let only = Some("shop-products");
    let clean = app.engine.reconcile(only, since, false).await.unwrap();
    assert!(clean.agrees(), "{:#?}", clean.differences);
    let c = &clean.catalogs[0];
    assert_eq!(c.not_compared, None);
    let n = w.crm.handle.elements().len() as u64;
    assert!(n > 0);
    assert_eq!((c.items, c.products, c.agreeing), (n, n, n), "{c:?}");

    // A manager changes one product's price in amoCRM.
    // A second client shares the account's 7-a-second window with the engine's: let the
    // window pass rather than be told to slow down.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let amo = AmoClient::new(&w.crm.base_url, "test", DEFAULT_LIMITS, Timeouts::default()).unwrap();
    let catalog = amo
        .catalogs()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.kind == "products")
        .unwrap()
        .id;
    let price_field = amo
        .catalog_custom_fields(catalog)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.code.as_deref() == Some("PRICE"))
        .unwrap()
        .id;
    let element = &w.crm.handle.elements()[0];
    let id = element["id"].as_u64().unwrap();
    amo.update_catalog_elements(
        catalog,
        &[serde_json::json!({"id": id, "custom_fields_values": [{"field_id": price_field, "values": [{"value": 1}]}]})],
    )
    .await
    .unwrap();

    let report = app.engine.reconcile(only, since, false).await.unwrap();
    assert_eq!(report.differences.len(), 1, "{:#?}", report.differences);
    let d = &report.differences[0];
    assert_eq!(d.kind, DifferenceKind::Price);
    assert_eq!(d.crm_id.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(d.crm_value, serde_json::json!("1"));
    let fixed = app.engine.reconcile(only, since, true).await.unwrap();
    assert_eq!(fixed.fixes_queued, 1);
    app.engine
        .sync_once(Some("shop-products"), false)
        .await
        .unwrap();
    let after = app.engine.reconcile(only, since, false).await.unwrap();
    assert!(after.agrees(), "{:#?}", after.differences);
    assert_eq!(w.crm.handle.elements().len() as u64, n, "no duplicate");
    app.store.close().await;
}

/// Bitrix24's `catalog_api = "catalog"` mode is compared too: a price changed by a manager
/// (`catalog.price.update`) is reported as exactly that `price` difference and repaired by the
/// next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_compares_a_bitrix24_trade_catalog_and_the_next_run_repairs_a_price() {
    use dealbridge::sync::reconcile::DifferenceKind;
    let ConfigWorld {
        dir, files, crm, ..
    } = config_world(20).await;
    std::fs::write(dir.path().join("mappings/1c-crm.toml"), MAPPING).unwrap();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://state.db\"\n[systems.crm]\nkind = \"bitrix24\"\nwebhook_url = \"{}\"\ncatalog_api = \"catalog\"\ncatalog_iblock_id = {}\ncatalog_price_type_id = 1\n[[catalog]]\nname = \"products\"\nto = \"crm\"\nmapping = \"mappings/1c-crm.toml\"\n",
            crm.webhook_url,
            b24::CATALOG_IBLOCK_ID
        ),
    )
    .unwrap();
    common::dealbridge_ok(
        &config,
        &[
            "import-1c",
            files[0].to_str().unwrap(),
            files[1].to_str().unwrap(),
        ],
    );
    let app = dealbridge::app::App::load(&config).await.unwrap();
    app.engine.sync_once(None, false).await.unwrap();
    let since = chrono::Utc::now() - chrono::Duration::days(1);
    let clean = app.engine.reconcile(None, since, false).await.unwrap();
    assert!(clean.agrees(), "{:#?}", clean.differences);
    assert_eq!(clean.catalogs[0].not_compared, None);
    assert_eq!(
        (clean.catalogs[0].items, clean.catalogs[0].agreeing),
        (22, 22)
    );

    let origin = format!("1c:{}", guid(1, 3));
    let product = crm
        .handle
        .catalog_products()
        .into_iter()
        .find(|p| p["xmlId"] == origin.as_str())
        .unwrap();
    let price = crm
        .handle
        .catalog_prices()
        .into_iter()
        .find(|p| p["productId"] == product["id"] && p["catalogGroupId"] == 1)
        .unwrap();
    assert!(crm
        .handle
        .manager_call(
            "catalog.price.update",
            serde_json::json!({"id": price["id"], "fields": {"price": "1.00", "currency": "RUB"}}),
        )
        .is_some());
    let report = app.engine.reconcile(None, since, false).await.unwrap();
    let found: Vec<_> = report
        .differences
        .iter()
        .map(|d| (d.kind, d.store_id.clone().unwrap(), d.crm_value.clone()))
        .collect();
    assert_eq!(
        found,
        vec![(
            DifferenceKind::Price,
            guid(1, 3),
            serde_json::json!("1 RUB")
        )]
    );
    let fixed = app.engine.reconcile(None, since, true).await.unwrap();
    assert_eq!(fixed.fixes_queued, 1);
    app.engine.sync_once(None, false).await.unwrap();
    let after = app.engine.reconcile(None, since, false).await.unwrap();
    assert!(after.agrees(), "{:#?}", after.differences);
    app.store.close().await;
}
