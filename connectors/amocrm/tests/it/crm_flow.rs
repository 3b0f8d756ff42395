//! The engine's view: `CrmDeals` against the emulator — contacts by e-mail/phone, deals found by
//! origin, the integer price rounded explicitly with the exact amount kept, product rows as
//! catalog links replaced on update, and no writes when nothing changed.

use crate::common;

use common::{DECIDING, FIRST_CONTACT, PIPELINE};
use dealbridge_sdk::model::{Contact, Deal, DealLine, ExternalRef};
use dealbridge_sdk::money::Currency;
use dealbridge_sdk::traits::CrmDeals;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

fn line(name: &str, qty: Decimal, price: Decimal) -> DealLine {
    DealLine {
        product_id: None,
        name: name.into(),
        price,
        quantity: qty,
        tax_rate: None,
        tax_included: true,
    }
}

fn deal(id: &str, amount: Decimal, lines: Vec<DealLine>) -> Deal {
    Deal {
        title: format!("Order #{id}"),
        stage: FIRST_CONTACT.to_string(),
        pipeline: None,
        currency: Currency::new("RUB").unwrap(),
        amount,
        contact: None,
        lines,
        origin: ExternalRef {
            system: "shop".into(),
            id: id.into(),
        },
        source_channel: None,
        comments: None,
    }
}

fn field(lead: &Value, id: u64) -> Option<String> {
    lead["custom_fields_values"]
        .as_array()?
        .iter()
        .find(|f| f["field_id"] == json!(id))?["values"][0]["value"]
        .as_str()
        .map(str::to_string)
}

#[tokio::test]
async fn contacts_are_found_by_email_then_phone() {
    let (emu, c) = common::setup().await;
    let d = common::deals(&c);
    let ivan = Contact {
        first_name: "Ivan".into(),
        last_name: "Petrov".into(),
        email: Some(" Ivan@Example.com ".into()),
        phone: Some("+7 (912) 345-67-89".into()),
        ..Default::default()
    };
    assert_eq!(d.find_contact(&ivan).await.unwrap(), None);
    let id = d.create_contact(&ivan).await.unwrap();
    let stored = emu.handle.contacts();
    assert_eq!(stored[0]["name"], "Ivan Petrov");
    let codes: Vec<&str> = stored[0]["custom_fields_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["EMAIL", "PHONE"]);

    assert_eq!(d.find_contact(&ivan).await.unwrap(), Some(id.clone()));
    let by_phone = Contact {
        phone: Some("79123456789".into()),
        email: Some("other@example.com".into()),
        ..Default::default()
    };
    assert_eq!(d.find_contact(&by_phone).await.unwrap(), Some(id.clone()));
    // A substring hit of the search is not a match.
    let partial = Contact {
        email: Some("van@example.com".into()),
        ..Default::default()
    };
    assert_eq!(d.find_contact(&partial).await.unwrap(), None);
    emu.shutdown().await;
}

#[tokio::test]
async fn create_find_update_with_rows_as_catalog_links() {
    let (emu, c) = common::setup().await;
    let d = common::deals(&c);
    let contact = d
        .create_contact(&Contact {
            first_name: "Anna".into(),
            email: Some("anna@example.com".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let origin = ExternalRef {
        system: "shop".into(),
        id: "1042".into(),
    };
    assert_eq!(d.find_deal(&origin).await.unwrap(), None);

    let first = deal(
        "1042",
        dec!(10.50),
        vec![
            line("Tea", dec!(2), dec!(3.25)),
            line("Cup", dec!(0.5), dec!(4)),
        ],
    );
    let id = d.create_deal(&first, Some(&contact)).await.unwrap();
    let lead_id: u64 = id.parse().unwrap();

    // Rounded explicitly half away from zero; the exact amount kept in the text field.
    let lead = emu
        .handle
        .leads()
        .into_iter()
        .find(|l| l["id"] == json!(lead_id))
        .unwrap();
    assert_eq!(lead["price"], 11);
    assert_eq!(field(&lead, 900002).as_deref(), Some("10.50 RUB"));
    assert_eq!(field(&lead, 900001).as_deref(), Some("shop:1042"));
    assert_eq!(lead["pipeline_id"], PIPELINE);
    assert_eq!(lead["_embedded"]["contacts"][0]["id"].to_string(), contact);
    let links = emu.handle.links(lead_id);
    assert_eq!(links.len(), 2);
    let elements = emu.handle.elements();
    let tea = elements.iter().find(|e| e["name"] == "Tea").unwrap()["id"]
        .as_u64()
        .unwrap();
    let cup = elements.iter().find(|e| e["name"] == "Cup").unwrap()["id"]
        .as_u64()
        .unwrap();
    assert!(links.contains(&(tea, json!(2))));
    assert!(links.contains(&(cup, json!(0.5))));

    // Found by origin; a similar origin (substring) is not.
    assert_eq!(d.find_deal(&origin).await.unwrap(), Some(id.clone()));
    let near = ExternalRef {
        system: "shop".into(),
        id: "104".into(),
    };
    assert_eq!(d.find_deal(&near).await.unwrap(), None);

    // Update: Cup removed, Tea quantity changed, Spoon added (a new element), 10.49 → 10.
    let mut second = deal(
        "1042",
        dec!(10.49),
        vec![
            line("Tea", dec!(3), dec!(3.25)),
            line("Spoon", dec!(1), dec!(1)),
        ],
    );
    second.stage = DECIDING.to_string();
    d.update_deal(&id, &second, Some(&contact)).await.unwrap();
    let lead = emu
        .handle
        .leads()
        .into_iter()
        .find(|l| l["id"] == json!(lead_id))
        .unwrap();
    assert_eq!(lead["price"], 10);
    assert_eq!(lead["status_id"], DECIDING);
    assert_eq!(field(&lead, 900002).as_deref(), Some("10.49 RUB"));
    let spoon = emu
        .handle
        .elements()
        .iter()
        .find(|e| e["name"] == "Spoon")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let mut links = emu.handle.links(lead_id);
    links.sort_by_key(|l| l.0);
    let mut want = vec![(tea, json!(3)), (spoon, json!(1))];
    want.sort_by_key(|l| l.0);
    assert_eq!(links, want, "rows replaced: Cup unlinked");
    assert_eq!(
        emu.handle.elements().len(),
        3,
        "Tea reused, not created twice"
    );

    // The same deal again: one read, no writes.
    let counters = emu.handle.counters();
    counters.reset();
    d.update_deal(&id, &second, Some(&contact)).await.unwrap();
    let snap = counters.snapshot();
    let writes: u64 = snap
        .iter()
        .filter(|(k, _)| !k.starts_with("GET "))
        .map(|(_, v)| v.calls)
        .sum();
    assert_eq!(writes, 0, "{snap:?}");
    assert_eq!(emu.handle.lead_count(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn unknown_stage_is_invalid() {
    let (emu, c) = common::setup().await;
    let d = common::deals(&c);
    let mut bad = deal("7", dec!(1), Vec::new());
    bad.stage = "999".into();
    let e = d.create_deal(&bad, None).await.unwrap_err();
    assert_eq!(e.kind, dealbridge_sdk::error::ErrorKind::Invalid);
    assert!(e.message.contains("status_id"), "{}", e.message);
    bad.stage = "NEW".into();
    let e = d.create_deal(&bad, None).await.unwrap_err();
    assert!(e.message.contains("not an amoCRM id"), "{}", e.message);
    assert_eq!(emu.handle.lead_count(), 0);
    emu.shutdown().await;
}
