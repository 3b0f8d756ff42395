//! Every fixture file gives the counts its line in `shared/fixtures/README.md` states.
//! (Fixtures copied byte-for-byte into tests/fixtures/.)

use dealbridge_commerceml::{inspect, FileSummary};

fn s(path: &str) -> FileSummary {
    inspect(format!("tests/fixtures/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn bigperson_2_08() {
    let i = s("bigperson-2.08/import.xml");
    assert_eq!(i.schema_version.as_deref(), Some("2.08"));
    assert_eq!(i.namespace.as_deref(), Some("urn:1C.ru:commerceml_210"));
    assert_eq!((i.encoding.as_str(), i.bom), ("UTF-8", true));
    assert_eq!((i.groups, i.properties, i.units, i.products), (5, 3, 1, 2));
    assert_eq!(i.only_changes, Some(false));
    let o = s("bigperson-2.08/offers.xml");
    assert_eq!(
        (
            o.properties,
            o.price_types,
            o.offers,
            o.prices,
            o.variant_offers
        ),
        (1, 3, 2, 6, 2)
    );
    assert_eq!(o.only_changes, Some(false));
}

#[test]
fn carono_orders_cp1251() {
    for (f, date, payments) in [("from.xml", "2007-10-30", 0), ("to.xml", "2008-03-28", 1)] {
        let d = s(&format!("carono-orders-2.03-cp1251/{f}"));
        assert_eq!(d.encoding, "windows-1251");
        assert!(!d.bom);
        assert_eq!(d.schema_version.as_deref(), Some("2.03"));
        assert_eq!(d.generated_at.as_deref(), Some(date));
        assert_eq!(d.namespace, None);
        assert_eq!(d.documents, 1);
        assert_eq!(d.payments, payments, "{f}: «Заказ оплачен»");
        assert_eq!(d.kind, Some(dealbridge_commerceml::ContentKind::Documents));
    }
}

#[test]
fn carono_ut11_2_07() {
    let i = s("carono-ut11-2.07/import.xml");
    assert_eq!(i.namespace.as_deref(), Some("urn:1C.ru:commerceml_2"));
    assert_eq!((i.groups, i.properties, i.products), (22, 10, 2));
    assert_eq!(i.only_changes, Some(false));
    let o = s("carono-ut11-2.07/offers.xml");
    assert_eq!(
        (o.price_types, o.warehouses, o.offers, o.prices),
        (1, 5, 5, 5)
    );
    assert_eq!((o.stock_entries, o.variant_offers), (5, 5));
}

#[test]
fn dicr_orders_from_1c() {
    let d = s("dicr-orders-from-1c-2.08/orders.xml");
    assert_eq!(d.namespace.as_deref(), Some("urn:1C.ru:commerceml_210"));
    assert_eq!((d.encoding.as_str(), d.bom), ("UTF-8", true));
    assert_eq!(d.documents, 1);
    assert_eq!(d.payments, 1, "«Дата оплаты по 1С» is set");
}

#[test]
fn djangocml_2_05() {
    let i = s("djangocml-2.05/import.xml");
    assert_eq!(i.schema_version.as_deref(), Some("2.05"));
    assert_eq!(i.namespace, None);
    assert_eq!((i.groups, i.properties, i.products), (36, 3, 282));
    assert_eq!(i.only_changes, Some(false));
}

#[test]
fn gillbeits_2_03_only_changes_as_child_element() {
    let i = s("gillbeits-2.03/import.xml");
    assert_eq!((i.groups, i.products), (2, 6));
    // The README counts `Свойство`; this file declares its 5 properties as
    // `СвойствоНоменклатуры`, which we read as properties too.
    assert_eq!(i.properties, 5);
    assert_eq!(i.only_changes, Some(false));
    let o = s("gillbeits-2.03/offers.xml");
    assert_eq!(
        (o.price_types, o.offers, o.prices, o.variant_offers),
        (2, 6, 12, 6)
    );
    assert_eq!(o.only_changes, Some(false));
}

#[test]
fn official_1c_sample() {
    let i = s("official-1c-sample/import.xml");
    assert_eq!((i.encoding.as_str(), i.bom), ("UTF-8", false));
    assert_eq!((i.groups, i.products), (1, 4));
    let o = s("official-1c-sample/offers.xml");
    assert_eq!(
        (o.price_types, o.offers, o.prices, o.variant_offers),
        (4, 2, 8, 2)
    );
    let d = s("official-1c-sample/orders.xml");
    assert_eq!((d.documents, d.payments), (1, 0));
    for x in [&i, &o, &d] {
        assert_eq!(x.unknown_elements, 0, "{}", x.file);
    }
}
