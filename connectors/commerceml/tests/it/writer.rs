//! The `mode=query` writer: XSD-valid (2.09 and 2.10), encodings, and read back by our reader.

use chrono::{TimeZone, Utc};
use dealbridge_commerceml::writer::{
    write_orders, OrderExport, OutputEncoding, SchemaVersion, WriterOptions,
};
use dealbridge_commerceml::{CmlReader, Item, ReaderOptions};
use dealbridge_sdk::model::{Contact, ExternalRef, Order, OrderLine, Payment};
use dealbridge_sdk::money::{Currency, Money};
use rust_decimal_macros::dec;
use std::io::Cursor;
use std::process::Command;

fn r(id: &str) -> ExternalRef {
    ExternalRef {
        system: "shop".into(),
        id: id.into(),
    }
}

fn order() -> OrderExport {
    let at = Utc.with_ymd_and_hms(2024, 3, 1, 9, 5, 7).unwrap();
    OrderExport {
        order: Order {
            source: r("1042"),
            number: "1042".into(),
            status: "processing".into(),
            currency: Currency::new("RUB").unwrap(),
            created_at: at,
            modified_at: at,
            customer: Contact {
                source: None,
                first_name: "Иван".into(),
                last_name: "Петров & Сын".into(),
                company: None,
                email: Some("ivan@example.com".into()),
                phone: Some("+7 900 000-00-00".into()),
            },
            lines: vec![OrderLine {
                item: Some(r("4b1e-guid#c0de")),
                sku: Some("ART-1".into()),
                name: "Стол <обеденный> €".into(),
                quantity: dec!(2.5),
                unit_price: dec!(100.10),
                total: dec!(250.25),
                tax: dec!(0),
            }],
            discount_total: dec!(0),
            shipping_total: dec!(300),
            tax_total: dec!(0),
            total: dec!(550.25),
            paid_at: None,
            payment_method: Some("Банковская карта".into()),
            source_channel: None,
            note: Some("позвонить".into()),
        },
        payment: Some(Payment {
            source: r("tx-1"),
            order: r("1042"),
            amount: Money::new(dec!(550.25), Currency::new("RUB").unwrap()),
            paid_at: Some(at),
            document_number: Some("PAY-77".into()),
            method: Some("card".into()),
        }),
        status: Some("[N] Принят".into()),
    }
}

fn xmllint(bytes: &[u8], xsd: &str) -> Option<(bool, String)> {
    if Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("SKIPPED: xmllint not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orders.xml");
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", &format!("tests/fixtures/xsd/{xsd}")])
        .arg(&file)
        .output()
        .unwrap();
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn output_is_valid_against_both_xsds() {
    for (v, xsd) in [
        (SchemaVersion::V2_10, "commerceml-2.10.xsd"),
        (SchemaVersion::V2_09, "commerceml-2.09.xsd"),
    ] {
        for enc in [OutputEncoding::Utf8Bom, OutputEncoding::Windows1251] {
            let opts = WriterOptions {
                schema_version: v,
                encoding: enc,
                generated_at: None,
            };
            let bytes = write_orders(&[order(), order()], &opts).unwrap();
            if let Some((ok, msg)) = xmllint(&bytes, xsd) {
                assert!(ok, "{xsd} {enc:?}: {msg}");
            }
            let empty = write_orders(&[], &opts).unwrap();
            if let Some((ok, msg)) = xmllint(&empty, xsd) {
                assert!(ok, "empty {xsd}: {msg}");
            }
        }
    }
}

#[test]
fn encodings_and_bom() {
    let utf = write_orders(&[order()], &WriterOptions::default()).unwrap();
    assert!(utf.starts_with(b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let cp = write_orders(
        &[order()],
        &WriterOptions {
            encoding: OutputEncoding::Windows1251,
            ..WriterOptions::default()
        },
    )
    .unwrap();
    assert!(cp.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>"));
    assert!(
        std::str::from_utf8(&cp).is_err(),
        "Cyrillic is single-byte windows-1251"
    );
}

#[test]
fn round_trip_through_the_reader() {
    for enc in [
        OutputEncoding::Utf8Bom,
        OutputEncoding::Windows1251,
        OutputEncoding::Utf8,
    ] {
        let bytes = write_orders(
            &[order()],
            &WriterOptions {
                encoding: enc,
                ..WriterOptions::default()
            },
        )
        .unwrap();
        let mut reader =
            CmlReader::from_reader(Cursor::new(bytes), ReaderOptions::default()).unwrap();
        let items: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(reader.header().schema_version.as_deref(), Some("2.10"));
        assert_eq!(reader.unknown_elements(), 0);
        let Item::Document(d) = &items[0] else {
            panic!("no document")
        };
        assert_eq!(d.id, "1042");
        assert_eq!(d.status(), Some("[N] Принят"));
        assert_eq!(d.requisite("Заказ оплачен"), Some("true"));
        assert_eq!(d.requisite("Номер платежного документа"), Some("PAY-77"));
        assert_eq!(d.payments.len(), 1);
        let back = d.to_sdk_order("shop");
        let orig = order().order;
        assert_eq!(back.total, orig.total);
        assert_eq!(back.shipping_total, orig.shipping_total);
        assert_eq!(back.created_at, orig.created_at);
        assert_eq!(back.customer.email, orig.customer.email);
        assert_eq!(back.customer.last_name, orig.customer.last_name);
        assert_eq!(back.lines.len(), 1);
        let (a, b) = (&back.lines[0], &orig.lines[0]);
        assert_eq!(
            (a.item.as_ref().map(|x| &x.id), &a.sku, &a.name),
            (b.item.as_ref().map(|x| &x.id), &b.sku, &b.name)
        );
        assert_eq!(
            (a.quantity, a.unit_price, a.total),
            (b.quantity, b.unit_price, b.total)
        );
        assert_eq!(back.note, orig.note);
        assert_eq!(back.payment_method, orig.payment_method);
    }
}
