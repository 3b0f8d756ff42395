//! The vendor's own example payloads parse as they are, and convert to exact canonical values.

use dealbridge_sdk::ErrorKind;
use dealbridge_woocommerce::order_to_canonical;
use dealbridge_woocommerce::wire::{WooError, WooOrder};
use rust_decimal_macros::dec;
use std::path::PathBuf;

/// Byte-for-byte copies of `shared/fixtures/api-examples/woocommerce/` (see its README).
fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn order_fixtures() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("orders__") && n.ends_with(".json"))
        .map(|n| (n.clone(), fixture(&n)))
        .collect();
    out.sort();
    out
}

#[test]
fn every_orders_fixture_parses() {
    let files = order_fixtures();
    assert_eq!(files.len(), 6, "expected the six orders__*.json fixtures");
    let mut orders = 0;
    for (name, text) in files {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let parsed: Vec<WooOrder> = if name.contains("list_all") {
            serde_json::from_value(v).unwrap_or_else(|e| panic!("{name}: {e}"))
        } else if name.contains("batch") {
            ["create", "update", "delete"]
                .iter()
                .flat_map(|k| v[k].as_array().cloned().unwrap_or_default())
                .map(|o| serde_json::from_value(o).unwrap_or_else(|e| panic!("{name}: {e}")))
                .collect()
        } else {
            vec![serde_json::from_value(v).unwrap_or_else(|e| panic!("{name}: {e}"))]
        };
        for o in &parsed {
            assert!(o.id > 0, "{name}");
            assert!(!o.line_items.is_empty(), "{name}: order {} has lines", o.id);
            // Every parsed order also converts.
            order_to_canonical("shop", o).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        orders += parsed.len();
    }
    assert!(orders >= 8, "{orders}");
}

#[test]
fn error_fixtures_parse() {
    for name in [
        "introduction__errors__woocommerce_rest_api_error_example.json",
        "introduction__errors__wp_rest_api_error_example.json",
    ] {
        let e: WooError = serde_json::from_str(&fixture(name)).unwrap();
        assert_eq!(e.status(), Some(404), "{name}");
    }
}

#[test]
fn retrieve_fixture_converts_exactly() {
    let o: WooOrder =
        serde_json::from_str(&fixture("orders__retrieve_an_order__response.json")).unwrap();
    let c = order_to_canonical("shop", &o).unwrap();
    assert_eq!(c.source.system, "shop");
    assert_eq!(c.source.id, "727");
    assert_eq!(c.number, "727");
    assert_eq!(c.status, "processing");
    assert_eq!(c.currency.as_str(), "USD");
    // The _gmt twins, not the site-local dates (three hours apart in this fixture).
    assert_eq!(c.created_at.to_rfc3339(), "2017-03-22T19:28:02+00:00");
    assert_eq!(c.modified_at.to_rfc3339(), "2017-03-22T19:28:08+00:00");
    assert_eq!(c.paid_at.unwrap().to_rfc3339(), "2017-03-22T19:28:08+00:00");
    assert_eq!(c.customer.email.as_deref(), Some("john.doe@example.com"));
    assert_eq!(c.customer.phone.as_deref(), Some("(555) 555-5555"));
    assert_eq!(c.customer.source, None, "customer_id 0 is a guest");
    assert_eq!(c.customer.display_name(), "John Doe");
    assert_eq!(c.lines.len(), 2);
    let l0 = &c.lines[0];
    assert_eq!(l0.item.as_ref().unwrap().id, "93");
    assert_eq!(l0.sku, None, "empty SKU is none");
    assert_eq!(
        (l0.quantity, l0.unit_price, l0.total, l0.tax),
        (dec!(2), dec!(3.00), dec!(6.00), dec!(0.45))
    );
    let l1 = &c.lines[1];
    assert_eq!(
        l1.item.as_ref().unwrap().id,
        "23",
        "the variation, not the parent product"
    );
    assert_eq!(l1.sku.as_deref(), Some("Bar3"));
    assert_eq!(
        (l1.quantity, l1.unit_price, l1.total, l1.tax),
        (dec!(1), dec!(12.00), dec!(12.00), dec!(0.90))
    );
    assert_eq!(c.shipping_total, dec!(10.00));
    assert_eq!(c.discount_total, dec!(0.00));
    assert_eq!(c.tax_total, dec!(1.35));
    assert_eq!(c.total, dec!(29.35));
    assert_eq!(c.total.to_string(), "29.35");
    assert_eq!(c.payment_method.as_deref(), Some("Direct Bank Transfer"));
    assert_eq!(c.source_channel.as_deref(), Some("rest-api"));
    assert_eq!(c.note, None);
}

#[test]
fn unit_price_is_total_over_quantity_rounded_half_away_from_zero() {
    let mut o: WooOrder =
        serde_json::from_str(&fixture("orders__retrieve_an_order__response.json")).unwrap();
    o.line_items[0].quantity = dealbridge_woocommerce::wire::Num("3".into());
    o.line_items[0].total = "10.00".into(); // 3.333… → 3.33
    o.line_items[1].quantity = dealbridge_woocommerce::wire::Num("8".into());
    o.line_items[1].total = "0.20".into(); // 0.025 → 0.03 (half away from zero)
    let c = order_to_canonical("shop", &o).unwrap();
    assert_eq!(c.lines[0].unit_price, dec!(3.33));
    assert_eq!(c.lines[1].unit_price.to_string(), "0.03");
}

#[test]
fn fees_attribution_notes_and_customers() {
    let mut o: WooOrder =
        serde_json::from_str(&fixture("orders__retrieve_an_order__response.json")).unwrap();
    o.fee_lines.push(dealbridge_woocommerce::wire::FeeLine {
        name: "Gift wrap".into(),
        total: "4.50".into(),
        total_tax: "0.00".into(),
        ..Default::default()
    });
    o.meta_data.push(dealbridge_woocommerce::wire::MetaData {
        id: None,
        key: "_wc_order_attribution_utm_source".into(),
        value: serde_json::json!("newsletter"),
    });
    o.customer_note = "Leave at the door".into();
    o.customer_id = 42;
    o.billing.email = "John.DOE@Example.com".into();
    let c = order_to_canonical("shop", &o).unwrap();
    let fee = c.lines.last().unwrap();
    assert_eq!(
        (fee.name.as_str(), fee.quantity, fee.unit_price, fee.total),
        ("Gift wrap", dec!(1), dec!(4.50), dec!(4.50))
    );
    assert!(fee.item.is_none());
    assert_eq!(c.source_channel.as_deref(), Some("newsletter"));
    assert_eq!(c.note.as_deref(), Some("Leave at the door"));
    assert_eq!(c.customer.source.as_ref().unwrap().id, "42");
    assert_eq!(c.customer.email.as_deref(), Some("john.doe@example.com"));
}

#[test]
fn a_bad_amount_names_the_order_and_the_field() {
    let mut o: WooOrder =
        serde_json::from_str(&fixture("orders__retrieve_an_order__response.json")).unwrap();
    o.line_items[1].total = "12,00,0".into();
    let e = order_to_canonical("shop", &o).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Protocol);
    assert_eq!(e.system, "woocommerce");
    assert!(e.message.contains("order 727"), "{}", e.message);
    assert!(e.message.contains("line_items[1].total"), "{}", e.message);
}
