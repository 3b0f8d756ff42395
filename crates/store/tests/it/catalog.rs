//! The 1C catalog tables: batched upserts, unchanged rows skipped, bindings, seen-list
//! deactivation, partial offers (prices-only / stock-only), property definitions, property
//! values and images, on SQLite and PostgreSQL.

use crate::common;

use common::TestDb;
use dealbridge_store::{
    CatalogBatch, CatalogDetails, CatalogGroup, CatalogKind, CatalogOffer, CatalogPrice,
    CatalogPriceType, CatalogProduct, CatalogProperty, CatalogPropertyValue,
    CatalogPropertyVariant, CatalogStock, CatalogWarehouse, EntityKind, SeenRun, UpsertCounts,
};
use std::time::Duration;

both_backends!(
    batch_inserts_then_skips_unchanged,
    changed_rows_are_updated_and_parts_replaced,
    full_run_deactivates_unseen_and_reactivates,
    held_deactivation_is_counted_kept_and_applied_once,
    partial_offers_keep_the_other_part,
    entries_page_offers_and_offerless_products,
    catalog_bindings_bulk_read_and_take_over,
    properties_and_images_stored_resolved_and_skipped_when_unchanged,
    details_absent_from_a_file_are_kept_and_empty_ones_clear,
    entries_by_sku_follow_the_articles_the_push_sends,
    a_catalog_batch_and_binding_writes_at_the_same_time_both_land,
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
        ..Default::default()
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
    let b = s
        .binding("1c", EntityKind::Offer, "1c:p2#c1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.external_id, "p2#c1");
    assert!(s
        .binding("1c", EntityKind::Product, "1c:p1")
        .await
        .unwrap()
        .is_some());
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
        EntityKind::ProductPrice,
        &[("1c:a", "A", &snap), ("1c:b", "B", &snap)],
    )
    .await
    .unwrap();
    let got = s
        .catalog_bindings("shop", EntityKind::ProductPrice, &["1c:a", "1c:b", "1c:c"])
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got["1c:a"].0, "A");
    assert_eq!(
        got["1c:a"].1.as_deref(),
        Some(dealbridge_store::snapshot_hash(&snap).as_str())
    );
    // SKU `A` moves to item c: c takes it over, a loses its binding, no conflict error.
    s.save_catalog_bindings("shop", EntityKind::ProductPrice, &[("1c:c", "A", &snap)])
        .await
        .unwrap();
    let got = s
        .catalog_bindings("shop", EntityKind::ProductPrice, &["1c:a", "1c:b", "1c:c"])
        .await
        .unwrap();
    assert!(!got.contains_key("1c:a"));
    assert_eq!(got["1c:c"].0, "A");
    assert_eq!(got["1c:b"].0, "B");
    // Other systems and kinds are apart.
    assert!(s
        .catalog_bindings("crm", EntityKind::ProductPrice, &["1c:b"])
        .await
        .unwrap()
        .is_empty());
}

fn pv(id: &str, value: &str) -> CatalogPropertyValue {
    CatalogPropertyValue {
        id: id.into(),
        value: value.into(),
    }
}

fn pair(name: &str, value: &str) -> (String, String) {
    (name.into(), value.into())
}

/// Two definitions (a reference-book colour, a number) and the details of p1 and offer p2#c1.
fn detailed_batch(weight: &str) -> CatalogBatch {
    let mut b = batch();
    b.properties = vec![
        CatalogProperty {
            external_id: "color".into(),
            name: "Цвет".into(),
            kind: Some("Справочник".into()),
            variants: vec![
                CatalogPropertyVariant {
                    id: "v-red".into(),
                    value: "Красный".into(),
                },
                CatalogPropertyVariant {
                    id: "v-blue".into(),
                    value: "Синий".into(),
                },
            ],
            deleted: false,
        },
        CatalogProperty {
            external_id: "weight".into(),
            name: "Вес".into(),
            kind: Some("Число".into()),
            variants: vec![],
            deleted: false,
        },
    ];
    b.product_details = vec![CatalogDetails {
        external_id: "p1".into(),
        properties: Some(vec![
            pv("color", "v-red"),
            pv("weight", weight),
            // No definition stored: read back by id, value as sent.
            pv("undefined", "v-x"),
            pv("color", "v-blue"),
        ]),
        images: Some(vec![
            "import_files/ab/abcd.jpg".into(),
            "import_files/cd/cdef.png".into(),
        ]),
    }];
    b.offer_details = vec![CatalogDetails {
        external_id: "p2#c1".into(),
        properties: Some(vec![pv("color", "v-blue")]),
        images: None,
    }];
    b
}

#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom as the story it checks
async fn properties_and_images_stored_resolved_and_skipped_when_unchanged(db: TestDb) {
    let s = &db.store;
    let r = s
        .write_catalog_batch("1c", None, &detailed_batch("1.5"))
        .await
        .unwrap();
    assert_eq!(r.properties, ins(2));
    assert_eq!(r.products, ins(2));
    assert_eq!(r.offers, ins(2));
    assert_eq!(s.catalog_counts("1c").await.unwrap().properties, 2);

    assert_eq!(
        s.catalog_product_properties("1c", "p1").await.unwrap(),
        vec![
            pair("Цвет", "Красный"),
            pair("Вес", "1.5"),
            pair("undefined", "v-x"),
            pair("Цвет", "Синий"),
        ]
    );
    assert_eq!(
        s.catalog_property_values("1c", CatalogKind::Product, "p1")
            .await
            .unwrap()[0],
        pv("color", "v-red")
    );
    assert_eq!(
        s.catalog_product_images("1c", "p1").await.unwrap(),
        vec![
            "import_files/ab/abcd.jpg".to_string(),
            "import_files/cd/cdef.png".to_string()
        ]
    );
    assert_eq!(
        s.catalog_offer_properties("1c", "p2#c1").await.unwrap(),
        vec![pair("Цвет", "Синий")]
    );
    // Nothing stored, or no such row: empty, not an error.
    assert!(s
        .catalog_product_properties("1c", "p2")
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .catalog_product_images("1c", "p2")
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .catalog_product_images("1c", "nope")
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .catalog_offer_properties("1c", "p1")
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .catalog_product_properties("other", "p1")
        .await
        .unwrap()
        .is_empty());

    let defs = s.catalog_properties("1c").await.unwrap();
    assert_eq!(defs.len(), 2);
    assert_eq!(defs[0].external_id, "color");
    assert_eq!(defs[0].kind.as_deref(), Some("Справочник"));
    // Variants come back by variant id.
    assert_eq!(
        defs[0].variants,
        vec![
            CatalogPropertyVariant {
                id: "v-blue".into(),
                value: "Синий".into()
            },
            CatalogPropertyVariant {
                id: "v-red".into(),
                value: "Красный".into()
            },
        ]
    );
    assert!(defs[1].variants.is_empty());

    // The same batch again writes nothing.
    let before = s
        .catalog_row("1c", CatalogKind::Product, "p1")
        .await
        .unwrap()
        .unwrap();
    db.clock.advance(Duration::from_secs(5));
    let r = s
        .write_catalog_batch("1c", None, &detailed_batch("1.5"))
        .await
        .unwrap();
    assert_eq!(r.written(), 0, "{r:?}");
    assert_eq!(r.properties, same(2));
    assert_eq!(r.products, same(2));

    // A changed value rewrites that product only; a changed variant text rewrites the definition.
    let mut b = detailed_batch("2");
    b.properties[0].variants[0].value = "Алый".into();
    let r = s.write_catalog_batch("1c", None, &b).await.unwrap();
    assert_eq!(
        r.products,
        UpsertCounts {
            updated: 1,
            unchanged: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        r.properties,
        UpsertCounts {
            updated: 1,
            unchanged: 1,
            ..Default::default()
        }
    );
    assert_eq!(r.offers, same(2));
    assert_eq!(r.written(), 2, "{r:?}");
    let after = s
        .catalog_row("1c", CatalogKind::Product, "p1")
        .await
        .unwrap()
        .unwrap();
    assert!(after.updated_at > before.updated_at);
    assert_eq!(
        s.catalog_product_properties("1c", "p1").await.unwrap()[..2],
        [pair("Цвет", "Алый"), pair("Вес", "2")]
    );

    // A changed image list or offer value is a change too.
    let mut b = detailed_batch("2");
    b.properties[0].variants[0].value = "Алый".into();
    b.product_details[0].images = Some(vec!["import_files/ab/abcd.jpg".into()]);
    b.offer_details[0].properties = Some(vec![pv("color", "v-red")]);
    let r = s.write_catalog_batch("1c", None, &b).await.unwrap();
    assert_eq!(
        r.products,
        UpsertCounts {
            updated: 1,
            unchanged: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        r.offers,
        UpsertCounts {
            updated: 1,
            unchanged: 1,
            ..Default::default()
        }
    );
    assert_eq!(r.prices, same(4));
    assert_eq!(
        s.catalog_product_images("1c", "p1").await.unwrap(),
        vec!["import_files/ab/abcd.jpg".to_string()]
    );
    assert_eq!(
        s.catalog_offer_properties("1c", "p2#c1").await.unwrap(),
        vec![pair("Цвет", "Алый")]
    );
}

async fn details_absent_from_a_file_are_kept_and_empty_ones_clear(db: TestDb) {
    let s = &db.store;
    s.write_catalog_batch("1c", None, &detailed_batch("1.5"))
        .await
        .unwrap();
    let props = s.catalog_product_properties("1c", "p1").await.unwrap();
    assert_eq!(props.len(), 4);

    // A file that does not carry details (changes-only import, prices-only offers): nothing
    // written, nothing lost.
    let r = s.write_catalog_batch("1c", None, &batch()).await.unwrap();
    assert_eq!(r.written(), 0, "{r:?}");
    let mut o = offer("p2#c1", "8", "0.5");
    o.stock = None;
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
    assert_eq!(r.prices.updated, 2);
    assert_eq!(
        s.catalog_offer_properties("1c", "p2#c1").await.unwrap(),
        vec![pair("Цвет", "Синий")],
        "kept by a prices-only write"
    );
    // A product row rewritten for another reason keeps its details too.
    let mut b = batch();
    b.products[0].name = "Стол большой".into();
    let r = s.write_catalog_batch("1c", None, &b).await.unwrap();
    assert_eq!(
        r.products,
        UpsertCounts {
            updated: 1,
            unchanged: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        s.catalog_product_properties("1c", "p1").await.unwrap(),
        props
    );
    assert_eq!(s.catalog_product_images("1c", "p1").await.unwrap().len(), 2);

    // "None" said for a row that never had any (p2): the same, nothing written.
    let mut b = batch();
    b.products[0].name = "Стол большой".into();
    b.product_details = vec![CatalogDetails {
        external_id: "p2".into(),
        properties: Some(vec![]),
        images: Some(vec![]),
    }];
    let r = s.write_catalog_batch("1c", None, &b).await.unwrap();
    assert_eq!(r.written(), 0, "{r:?}");

    // "None" said for p1 (a full file without them): cleared.
    b.product_details[0].external_id = "p1".into();
    let r = s.write_catalog_batch("1c", None, &b).await.unwrap();
    assert_eq!(
        r.products,
        UpsertCounts {
            updated: 1,
            unchanged: 1,
            ..Default::default()
        }
    );
    assert!(s
        .catalog_product_properties("1c", "p1")
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .catalog_product_images("1c", "p1")
        .await
        .unwrap()
        .is_empty());
    // And saying it again is unchanged.
    let r = s.write_catalog_batch("1c", None, &b).await.unwrap();
    assert_eq!(r.written(), 0, "{r:?}");
    // Details for an id the batch does not write are ignored.
    let r = s
        .write_catalog_batch(
            "1c",
            None,
            &CatalogBatch {
                product_details: vec![CatalogDetails {
                    external_id: "p1".into(),
                    properties: Some(vec![pv("weight", "3")]),
                    images: None,
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(r.written(), 0);
    assert!(s
        .catalog_product_properties("1c", "p1")
        .await
        .unwrap()
        .is_empty());
}

async fn entries_by_sku_follow_the_articles_the_push_sends(db: TestDb) {
    let s = &db.store;
    let mut b = batch();
    // p1: offer p1 without an article of its own → the product's SKU-p1.
    // p2: two variant offers without articles → both carry SKU-p2 (ambiguous for the caller).
    b.offers.push(offer("p2#c2", "8.00", "1"));
    // p4: a variant with its own article.
    b.products.push(product("p4", "Полка"));
    let mut own = offer("p4#c9", "9.00", "1");
    own.sku = Some("OWN-9".into());
    b.offers.push(own);
    // p3: no offer at all → the product itself.
    b.products.push(product("p3", "Шкаф"));
    s.write_catalog_batch("1c", None, &b).await.unwrap();

    let found = s
        .catalog_entries_by_sku(
            "1c",
            &["SKU-p1", "SKU-p2", "OWN-9", "SKU-p3", "SKU-p4", "NONE"],
        )
        .await
        .unwrap();
    assert_eq!(found["SKU-p1"], vec!["p1"]);
    assert_eq!(found["SKU-p2"], vec!["p2#c1", "p2#c2"]);
    assert_eq!(found["OWN-9"], vec!["p4#c9"]);
    assert_eq!(found["SKU-p3"], vec!["p3"]);
    assert!(
        !found.contains_key("SKU-p4"),
        "p4's only offer has an article of its own"
    );
    assert!(!found.contains_key("NONE"));
    assert!(s
        .catalog_entries_by_sku("other", &["SKU-p1"])
        .await
        .unwrap()
        .is_empty());
}

/// The 1C import and the catalog push write at the same time in `dealbridge run` (the push is
/// woken by the previous file of the exchange). On SQLite a batch that reads the stored hashes
/// and then writes must not fail with "database is locked" because the other connection
/// committed in between: it waits for the write lock instead.
async fn a_catalog_batch_and_binding_writes_at_the_same_time_both_land(db: TestDb) {
    let s = db.store.clone();
    s.write_catalog_batch("1c", None, &batch()).await.unwrap();
    let pusher = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                let snapshot = serde_json::json!({ "n": i });
                let entity = format!("1c:item-{i}");
                let external = i.to_string();
                s.save_catalog_bindings(
                    "crm",
                    EntityKind::Product,
                    &[(&entity, &external, &snapshot)],
                )
                .await
                .unwrap();
            }
        })
    };
    for i in 0..60 {
        let mut b = batch();
        b.price_types[0].name = format!("Розничная {i}");
        b.products[0].name = format!("Стол {i}");
        s.write_catalog_batch("1c", None, &b)
            .await
            .unwrap_or_else(|e| panic!("batch {i}: {e}"));
    }
    pusher.await.unwrap();
    let bound = s
        .catalog_bindings("crm", EntityKind::Product, &["1c:item-0", "1c:item-299"])
        .await
        .unwrap();
    assert_eq!(bound.len(), 2);
    assert_eq!(
        s.catalog_price_types("1c").await.unwrap()[0].name,
        "Розничная 59"
    );
}

/// The guard's store side: what a run did not see is counted, held (not deactivated), replaced
/// by a newer hold, and applied once; a second application changes nothing.
async fn held_deactivation_is_counted_kept_and_applied_once(db: TestDb) {
    let s = &db.store;
    let mut b = CatalogBatch::default();
    for i in 0..10 {
        b.products.push(product(&format!("p{i}"), "Стол"));
        b.offers.push(offer(&format!("p{i}"), "1.00", "1"));
    }
    s.write_catalog_batch("1c", None, &b).await.unwrap();
    // Today's full catalog lists 7 of the 10.
    let mut seen = CatalogBatch {
        products: b.products[..7].to_vec(),
        offers: b.offers[..7].to_vec(),
        ..Default::default()
    };
    s.write_catalog_batch("1c", Some(SeenRun::all("run1")), &seen)
        .await
        .unwrap();
    for kind in [CatalogKind::Product, CatalogKind::Offer] {
        assert_eq!(s.count_unseen("1c", "run1", kind).await.unwrap(), 3);
        assert_eq!(s.hold_unseen("1c", "run1", kind).await.unwrap(), 3);
    }
    s.forget_import_run("run1").await.unwrap();
    let held = s.held_deactivation("1c").await.unwrap();
    assert_eq!((held.products, held.offers), (3, 3));
    assert_eq!(held.run_id.as_deref(), Some("run1"));
    assert_eq!(
        s.catalog_counts("1c").await.unwrap().active_products,
        10,
        "held, not applied"
    );
    assert!(s.held_deactivation("other").await.unwrap().is_empty());

    // A newer hold of products replaces the old one (it lists 8 of 10 now).
    seen.products = b.products[..8].to_vec();
    s.write_catalog_batch("1c", Some(SeenRun::all("run2")), &seen)
        .await
        .unwrap();
    assert_eq!(
        s.hold_unseen("1c", "run2", CatalogKind::Product)
            .await
            .unwrap(),
        2
    );
    s.forget_import_run("run2").await.unwrap();
    let held = s.held_deactivation("1c").await.unwrap();
    assert_eq!((held.products, held.offers), (2, 3));

    assert_eq!(s.apply_held_deactivation("1c").await.unwrap(), (2, 3));
    let c = s.catalog_counts("1c").await.unwrap();
    assert_eq!((c.active_products, c.active_offers), (8, 7));
    assert!(
        !s.catalog_row("1c", CatalogKind::Product, "p9")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    assert!(
        s.catalog_row("1c", CatalogKind::Product, "p7")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    assert!(s.held_deactivation("1c").await.unwrap().is_empty());
    // Idempotent.
    assert_eq!(s.apply_held_deactivation("1c").await.unwrap(), (0, 0));

    // Dropping a hold forgets it without deactivating.
    seen.products = b.products[..1].to_vec();
    s.write_catalog_batch("1c", Some(SeenRun::all("run3")), &seen)
        .await
        .unwrap();
    assert_eq!(
        s.hold_unseen("1c", "run3", CatalogKind::Product)
            .await
            .unwrap(),
        7
    );
    s.drop_held_deactivation("1c", CatalogKind::Product)
        .await
        .unwrap();
    s.forget_import_run("run3").await.unwrap();
    assert!(s.held_deactivation("1c").await.unwrap().is_empty());
    assert_eq!(s.catalog_counts("1c").await.unwrap().active_products, 8);
}
