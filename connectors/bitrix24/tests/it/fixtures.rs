//! Every vendor example (copied from the docs into tests/fixtures) parses through the wire types.

use dealbridge_bitrix24::wire::{
    ApiError, BatchPayload, ContactRecord, DealRecord, Envelope, MultiField, ProductRowRecord,
    StatusRecord,
};
use rust_decimal_macros::dec;
use serde_json::Value;
use std::path::PathBuf;

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn envelope(name: &str) -> Envelope {
    serde_json::from_value(load(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_error_example_is_an_api_error() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut errors = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") {
            continue;
        }
        let v = load(&name);
        if v.get("error").is_some() {
            let e: ApiError = serde_json::from_value(v).unwrap();
            assert!(!e.error_description.is_empty(), "{name}");
            errors += 1;
        }
    }
    assert!(errors >= 8, "{errors}");
    let e: ApiError = serde_json::from_value(load("crm-deal-productrows-set__02.json")).unwrap();
    assert_eq!(e.error, "ERROR_CORE");
}

#[test]
fn deals() {
    let add = envelope("crm-deal-add__01.json");
    assert_eq!(add.result, 394);
    assert_eq!(add.time.unwrap().operating, Some(0.0));
    let d: DealRecord = serde_json::from_value(envelope("crm-deal-get__01.json").result).unwrap();
    assert_eq!(d.id, "410");
    assert_eq!(d.opportunity, Some(dec!(1000000.00)));
    assert_eq!(d.contact_id.as_deref(), Some("84"));
    assert_eq!(d.originator_id, None);
    assert_eq!(d.other["UF_CRM_1721244482250"], "Привет мир!");
    let list = envelope("crm-deal-list__01.json");
    assert_eq!(list.total, Some(6));
    assert_eq!(list.next, None);
    let rows: Vec<DealRecord> = serde_json::from_value(list.result).unwrap();
    assert_eq!(rows[0].opportunity, Some(dec!(19999.99)));
    assert_eq!(rows[0].category_id.as_deref(), Some("1"));
    assert_eq!(envelope("crm-deal-update__01.json").result, true);
}

#[test]
fn product_rows() {
    let rows: Vec<ProductRowRecord> =
        serde_json::from_value(envelope("crm-deal-productrows-get__01.json").result).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].price, dec!(899.1));
    assert_eq!(rows[0].product_id.as_deref(), Some("450"));
    assert_eq!(rows[0].tax_rate, None);
    assert_eq!(rows[0].other["PRICE_ACCOUNT"], "899.10");
    assert_eq!(envelope("crm-deal-productrows-set__01.json").result, true);
}

#[test]
fn contacts_and_multi_fields() {
    assert_eq!(envelope("crm-contact-add__01.json").result, 46);
    let c: ContactRecord =
        serde_json::from_value(envelope("crm-contact-get__01.json").result).unwrap();
    assert_eq!(c.phone.len(), 2);
    assert_eq!(c.email[1].value.as_deref(), Some("ivanov@example.work"));
    assert_eq!(c.email[1].type_id.as_deref(), Some("EMAIL"));
    let list: Vec<ContactRecord> =
        serde_json::from_value(envelope("crm-contact-list__01.json").result).unwrap();
    assert_eq!(list.len(), 5);
    for name in [
        "crm-contact-update__01.json",
        "crm-contact-update__03.json",
        "crm-contact-update__05.json",
    ] {
        let values: Vec<MultiField> = serde_json::from_value(load(name)).unwrap();
        assert!(
            values.iter().all(|v| v.id.is_some() && v.value.is_some()),
            "{name}"
        );
    }
    // Update requests: numeric IDs, DELETE flags, values to add.
    for name in [
        "crm-contact-update__02.json",
        "crm-contact-update__04.json",
        "crm-contact-update__06.json",
    ] {
        let req = load(name);
        let phones: Vec<MultiField> =
            serde_json::from_value(req["fields"]["PHONE"].clone()).unwrap();
        assert!(!phones.is_empty(), "{name}");
    }
    let del: Vec<MultiField> =
        serde_json::from_value(load("crm-contact-update__04.json")["fields"]["PHONE"].clone())
            .unwrap();
    assert_eq!(del[0].id.as_deref(), Some("222"));
    assert_eq!(del[0].delete.as_deref(), Some("Y"));
    assert_eq!(envelope("crm-contact-update__07.json").result, true);
}

#[test]
fn batches_with_php_empty_arrays() {
    let b: BatchPayload = serde_json::from_value(envelope("batch__01.json").result).unwrap();
    assert_eq!(b.result.len(), 2);
    assert!(b.result_error.is_empty() && b.result_next.is_empty());
    assert_eq!(b.result_total["get_department"], 1);
    assert!(b.result_time["get_user"].operating.is_none());
    for name in ["batch__02.json", "batch__03.json"] {
        let b: BatchPayload = serde_json::from_value(envelope(name).result).unwrap();
        assert!(b.result.is_empty());
        assert_eq!(b.result_error["get_user"].error, "insufficient_scope");
    }
}

#[test]
fn stages() {
    let env = envelope("crm-status-list__01.json");
    assert_eq!(
        env.time.as_ref().unwrap().operating_reset_at,
        Some(1752146747)
    );
    let rows: Vec<StatusRecord> = serde_json::from_value(env.result).unwrap();
    assert_eq!(rows.len(), 8);
    assert_eq!(rows[5].status_id, "WON");
    assert_eq!(rows[5].semantics.as_deref(), Some("S"));
    assert_eq!(rows[0].category_id, None);
}
