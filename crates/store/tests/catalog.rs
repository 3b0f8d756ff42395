//! The 1C catalog tables: batched upserts, unchanged rows skipped, bindings, seen-list
//! deactivation, partial offers (prices-only / stock-only), on SQLite and PostgreSQL.

mod common;

use common::TestDb;
use dealbridge_store::{
    CatalogBatch, CatalogGroup, CatalogKind, CatalogOffer, CatalogPrice, CatalogPriceType,
    CatalogProduct, CatalogStock, CatalogWarehouse, SeenRun, UpsertCounts,
};
use std::time::Duration;

both_backends!(
    batch_inserts_then_skips_unchanged,
    changed_rows_are_updated_and_parts_replaced,
    full_run_deactivates_unseen_and_reactivates,
    partial_offers_keep_the_other_part,
    entries_page_offers_and_offerless_products,
    catalog_bindings_bulk_read_and_take_over,
);

fn product(id: &str, name: &str) -> CatalogProduct {
    CatalogProduct {
        external_id: id.into(),
        sku: Some(format!("SKU-{id}")),
        name: name.into(),
        group_ids: vec!["g1".into()],
        unit: Some("шт".into()),
        barcodes: vec![],
        deleted: false,
    }
}

fn offer(id: &str, price: &str, qty: &str) -> CatalogOffer {
    let (product_id, characteristic_id) = match id.split_once('#') {
        Some((p, c)) => (p.to_string(), Some(c.to_string())),
        None => (id.to_string(), None),
    };
    CatalogOffer {
        external_id: id.into(),
        product_id,
        characteristic_id,
        sku: None,
        name: Some(format!("offer {id}")),
        barcodes: vec![],
        deleted: false,
        prices: Some(vec![
            CatalogPrice {
                price_type_id: "retail".into(),
                amount: price.into(),
                currency: Some("RUB".into()),
                unit: Some("шт".into()),
            },
            CatalogPrice {
                price_type_id: "wholesale".into(),
                amount: "1.50".into(),
                currency: Some("RUB".into()),
                unit: None,
            },
        ]),
        stock: Some(vec![
            CatalogStock {
                warehouse_id: "".into(),
                quantity: qty.into(),
            },
            CatalogStock {
                warehouse_id: "w1".into(),
                quantity: qty.into(),
            },
        ]),
    }
}

fn batch() -> CatalogBatch {
    CatalogBatch {
        groups: vec![CatalogGroup {
            external_id: "g1".into(),
            name: "Группа".into(),
            parent_id: None,
            deleted: false,
        }],
        price_types: vec![CatalogPriceType {
            external_id: "retail".into(),
            name: "Розничная".into(),
            currency: Some("RUB".into()),
        }],
        warehouses: vec![CatalogWarehouse {
            external_id: "w1".into(),
            name: "Основной".into(),
        }],
        products: vec![product("p1", "Стол"), product("p2", "Стул")],
        offers: vec![offer("p1", "100.00", "3"), offer("p2#c1", "7.25", "0.5")],
    }
}

fn ins(n: u64) -> UpsertCounts {
    UpsertCounts {
        inserted: n,
        ..Default::default()
    }
}

fn same(n: u64) -> UpsertCounts {
    UpsertCounts {
        unchanged: n,
        ..Default::default()
    }
}

async fn batch_inserts_then_skips_unchanged(db: TestDb) {
    let s = &db.store;
    let r = s.write_catalog_batch("1c", None, &batch()).await.unwrap();
    assert_eq!(r.products, ins(2));
    assert_eq!(r.offers, ins(2));
    assert_eq!(r.prices, ins(4));
    assert_eq!(r.stock, ins(4));
    assert_eq!(
        (r.groups, r.price_types, r.warehouses),
        (ins(1), ins(1), ins(1))
    );
    let c = s.catalog_counts("1c").await.unwrap();
    assert_eq!(
        (c.products, c.active_products, c.offers, c.prices, c.stock),
        (2, 2, 2, 4, 4)
    );
    assert_eq!((c.groups, c.price_types, c.warehouses), (1, 1, 1));
    // Bindings for products and offers, entity id `<system>:<id>`.
    let b = s.binding("1c", "offer", "1c:p2#c1").await.unwrap().unwrap();
    assert_eq!(b.external_id, "p2#c1");
    assert!(s.binding("1c", "product", "1c:p1").await.unwrap().is_some());
    let before = s
        .catalog_row("1c", CatalogKind::Product, "p1")
        .await
        .unwrap()
        .unwrap();

    db.clock.advance(Duration::from_secs(60));
    let r = s.write_catalog_batch("1c", None, &batch()).await.unwrap();
    assert_eq!(r.written(), 0, "nothing written on the same batch: {r:?}");
    assert_eq!(r.products, same(2));
    assert_eq!(r.offers, same(2));
    assert_eq!(r.prices, same(4));
    assert_eq!(r.stock, same(4));
    let after = s
        .catalog_row("1c", CatalogKind::Product, "p1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, after, "updated_at untouched");
    assert_eq!(s.catalog_prices("1c", "p1").await.unwrap()[0].1, "100.00");
}

async fn changed_rows_are_updated_and_parts_replaced(db: TestDb) {
    let s = &db.store;
    s.write_catalog_batch("1c", None, &batch()).await.unwrap();
    let mut b = batch();
    b.products[0].name = "Стол дубовый".into();
    b.offers[0].prices.as_mut().unwrap().pop();
    b.offers[0].prices.as_mut().unwrap()[0].amount = "120.00".into();
    let r = s.write_catalog_batch("1c", None, &b).await.unwrap();
    assert_eq!(r.products.updated, 1);
    assert_eq!(r.products.unchanged, 1);
    assert_eq!(r.prices.updated, 1, "one price row written for p1");
    assert_eq!(r.prices.unchanged, 2);
    assert_eq!(r.stock, same(4));
    let prices = s.catalog_prices("1c", "p1").await.unwrap();
    assert_eq!(
        prices,
        vec![("retail".into(), "120.00".into(), Some("RUB".into()))],
        "the dropped price type is gone"
    );
    let row = s
        .catalog_row("1c", CatalogKind::Product, "p1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.name.as_deref(), Some("Стол дубовый"));
}

async fn full_run_deactivates_unseen_and_reactivates(db: TestDb) {
    let s = &db.store;
    s.write_catalog_batch("1c", Some(SeenRun::all("run1")), &batch())
        .await
        .unwrap();
    assert_eq!(
        s.deactivate_unseen("1c", "run1", CatalogKind::Product)
            .await
            .unwrap(),
        0
    );
    s.forget_import_run("run1").await.unwrap();

    let mut b = batch();
    b.products.remove(1);
    b.offers.remove(1);
    s.write_catalog_batch("1c", Some(SeenRun::all("run2")), &b)
        .await
        .unwrap();
    assert_eq!(
        s.deactivate_unseen("1c", "run2", CatalogKind::Product)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.deactivate_unseen("1c", "run2", CatalogKind::Offer)
            .await
            .unwrap(),
        1
    );
    s.forget_import_run("run2").await.unwrap();
    let p2 = s
        .catalog_row("1c", CatalogKind::Product, "p2")
        .await
        .unwrap()
        .unwrap();
    assert!(!p2.active);
    let c = s.catalog_counts("1c").await.unwrap();
    assert_eq!((c.products, c.active_products, c.active_offers), (2, 1, 1));
    // Another system's rows are never touched.
    s.write_catalog_batch("other", Some(SeenRun::all("run3")), &batch())
        .await
        .unwrap();
    assert_eq!(
        s.deactivate_unseen("other", "run3", CatalogKind::Product)
            .await
            .unwrap(),
        0
    );
    assert_eq!(s.catalog_counts("1c").await.unwrap().active_products, 1);

    // Listed again with the same content: reactivated (a write, not "unchanged").
    let r = s.write_catalog_batch("1c", None, &batch()).await.unwrap();
    assert_eq!(r.products.updated, 1);
    assert_eq!(r.products.unchanged, 1);
    assert!(
        s.catalog_row("1c", CatalogKind::Product, "p2")
            .await
            .unwrap()
            .unwrap()
            .active
    );
}

async fn partial_offers_keep_the_other_part(db: TestDb) {
    let s = &db.store;
    s.write_catalog_batch("1c", None, &batch()).await.unwrap();
    // A rests-only file: stock given, prices not.
    let mut o = offer("p1", "0", "9");
    o.prices = None;
    let r = s
        .write_catalog_batch(
            "1c",
            None,
            &CatalogBatch {
                offers: vec![o],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r.stock.updated, 2);
    assert_eq!(r.prices, UpsertCounts::default());
    assert_eq!(
        s.catalog_prices("1c", "p1").await.unwrap().len(),
        2,
        "prices kept"
    );
    assert_eq!(
        s.catalog_stock("1c", "p1").await.unwrap(),
        vec![("".into(), "9".into()), ("w1".into(), "9".into())]
    );
    // The same rests file again: nothing written.
    let mut o = offer("p1", "0", "9");
    o.prices = None;
    let r = s
        .write_catalog_batch(
            "1c",
            None,
            &CatalogBatch {
                offers: vec![o],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r.written(), 0, "{r:?}");
}

/// Offers joined to their product (by own id, else by the product part), offer-less products,
/// keyset paging in id order, prices and stock decoded; price types and warehouses listed.
async fn entries_page_offers_and_offerless_products(db: TestDb) {
    let s = &db.store;
    let mut b = batch();
    b.products.push(product("p3", "Шкаф")); // no offer
    b.products[0].deleted = true; // p1 inactive → its offer too
    s.write_catalog_batch("1c", None, &b).await.unwrap();

    let all = s.catalog_entries_page("1c", "", 10).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|e| e.external_id.as_str()).collect();
    assert_eq!(ids, vec!["p1", "p2#c1", "p3"]);
    let p1 = &all[0];
    assert!(p1.is_offer);
    assert!(!p1.active, "the product is deleted");
    assert_eq!(p1.sku.as_deref(), Some("SKU-p1"), "the product's article");
    assert_eq!(p1.unit.as_deref(), Some("шт"));
    assert_eq!(p1.prices.len(), 2);
    assert_eq!(p1.prices[0].amount, "100.00");
    assert_eq!(p1.stock.len(), 2);
    let v = &all[1];
    assert_eq!(v.product_id, "p2");
    assert_eq!(v.characteristic_id.as_deref(), Some("c1"));
    assert_eq!(v.name, "offer p2#c1");
    assert!(v.active);
    let p3 = &all[2];
    assert!(!p3.is_offer);
    assert_eq!(p3.name, "Шкаф");
    assert!(p3.prices.is_empty() && p3.stock.is_empty());

    let first = s.catalog_entries_page("1c", "", 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let rest = s
        .catalog_entries_page("1c", &first[1].external_id, 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].external_id, "p3");
    assert!(s
        .catalog_entries_page("other", "", 10)
        .await
        .unwrap()
        .is_empty());

    let types = s.catalog_price_types("1c").await.unwrap();
    assert_eq!(types.len(), 1);
    assert_eq!(types[0].name, "Розничная");
    let whs = s.catalog_warehouses("1c").await.unwrap();
    assert_eq!(whs[0].external_id, "w1");
}

async fn catalog_bindings_bulk_read_and_take_over(db: TestDb) {
    let s = &db.store;
    let snap = serde_json::json!({"sku": "A", "price": "1"});
    s.save_catalog_bindings(
        "shop",
        "product_price",
        &[("1c:a", "A", &snap), ("1c:b", "B", &snap)],
    )
    .await
    .unwrap();
    let got = s
        .catalog_bindings("shop", "product_price", &["1c:a", "1c:b", "1c:c"])
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got["1c:a"].0, "A");
    assert_eq!(
        got["1c:a"].1.as_deref(),
        Some(dealbridge_store::snapshot_hash(&snap).as_str())
    );
    // SKU `A` moves to item c: c takes it over, a loses its binding, no conflict error.
    s.save_catalog_bindings("shop", "product_price", &[("1c:c", "A", &snap)])
        .await
        .unwrap();
    let got = s
        .catalog_bindings("shop", "product_price", &["1c:a", "1c:b", "1c:c"])
        .await
        .unwrap();
    assert!(!got.contains_key("1c:a"));
    assert_eq!(got["1c:c"].0, "A");
    assert_eq!(got["1c:b"].0, "B");
    // Other systems and kinds are apart.
    assert!(s
        .catalog_bindings("crm", "product_price", &["1c:b"])
        .await
        .unwrap()
        .is_empty());
}
