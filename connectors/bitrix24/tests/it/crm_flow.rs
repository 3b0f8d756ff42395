//! The engine's view: `CrmDeals` find-or-create of contacts and deals, then update.

use crate::common;

use dealbridge_sdk::error::ErrorKind;
use dealbridge_sdk::model::{Contact, Deal, DealLine, ExternalRef};
use dealbridge_sdk::money::Currency;
use dealbridge_sdk::traits::CrmDeals;
use rust_decimal_macros::dec;
use serde_json::json;

fn buyer() -> Contact {
    Contact {
        source: Some(ExternalRef {
            system: "shop".into(),
            id: "c7".into(),
        }),
        first_name: "Ivan".into(),
        last_name: "Petrov".into(),
        company: None,
        email: Some("  Ivan@Example.ORG ".into()),
        phone: Some("+7 (900) 123-45-67".into()),
    }
}

fn deal(stage: &str) -> Deal {
    Deal {
        title: "Order #1042".into(),
        stage: stage.into(),
        pipeline: None,
        currency: Currency::new("RUB").unwrap(),
        amount: dec!(1350.00),
        contact: Some(buyer()),
        lines: vec![
            DealLine {
                product_id: None,
                name: "Tea".into(),
                price: dec!(500),
                quantity: dec!(2),
                tax_rate: None,
                tax_included: true,
            },
            DealLine {
                product_id: Some("17".into()),
                name: "Cup".into(),
                price: dec!(100),
                quantity: dec!(1.5),
                tax_rate: Some(dec!(20)),
                tax_included: true,
            },
        ],
        origin: ExternalRef {
            system: "shop".into(),
            id: "1042".into(),
        },
        source_channel: Some("checkout".into()),
        comments: Some("Leave at the door".into()),
    }
}

#[tokio::test]
async fn find_or_create_then_update() {
    let (emu, c) = common::setup().await;
    let crm: &dyn CrmDeals = &c;

    // Contacts: none yet, created once, then found by e-mail or by phone alone.
    assert_eq!(crm.find_contact(&buyer()).await.unwrap(), None);
    let contact_id = crm.create_contact(&buyer()).await.unwrap();
    let stored = &emu.handle.contacts()[0];
    assert_eq!(stored["EMAIL"][0]["VALUE"], "ivan@example.org");
    assert_eq!(stored["PHONE"][0]["VALUE"], "+79001234567");
    assert_eq!(stored["ORIGIN_ID"], "c7");
    assert_eq!(
        crm.find_contact(&buyer()).await.unwrap().as_deref(),
        Some(contact_id.as_str())
    );
    let phone_only = Contact {
        email: Some("other@example.org".into()),
        ..buyer()
    };
    assert_eq!(
        crm.find_contact(&phone_only).await.unwrap().as_deref(),
        Some(contact_id.as_str())
    );
    let nobody = Contact {
        email: None,
        phone: None,
        ..buyer()
    };
    assert_eq!(crm.find_contact(&nobody).await.unwrap(), None);
    // Each lookup (e-mail and phone together) is one batch; no contact data, no call.
    assert_eq!(emu.handle.counters().get("batch").calls, 3);
    assert_eq!(emu.handle.counters().get("crm.contact.list").calls, 6);

    // Deals: find by origin, create with rows in one batch, amount kept as the shop's.
    let d = deal("NEW");
    assert_eq!(crm.find_deal(&d.origin).await.unwrap(), None);
    let before = emu.handle.counters().get("batch").calls;
    let id = crm.create_deal(&d, Some(&contact_id)).await.unwrap();
    assert_eq!(emu.handle.counters().get("batch").calls, before + 1);
    let got = c.get_deal(&id).await.unwrap();
    assert_eq!(got.opportunity, Some(dec!(1350.00)));
    assert_eq!(got.is_manual_opportunity.as_deref(), Some("Y"));
    assert_eq!(got.contact_id.as_deref(), Some(contact_id.as_str()));
    assert_eq!(got.originator_id.as_deref(), Some("shop"));
    assert_eq!(got.origin_id.as_deref(), Some("1042"));
    assert_eq!(got.other["SOURCE_DESCRIPTION"], "checkout");
    assert_eq!(got.other["COMMENTS"], "Leave at the door");
    let rows = c.get_deal_rows(&id).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].price, rows[0].quantity), (dec!(500), dec!(2)));
    assert_eq!(rows[1].product_id.as_deref(), Some("17"));
    assert_eq!(rows[1].quantity, dec!(1.5));
    assert_eq!(
        crm.find_deal(&d.origin).await.unwrap().as_deref(),
        Some(id.as_str())
    );

    // Update: stage and rows follow, no second deal.
    let mut d2 = deal("WON");
    d2.lines.truncate(1);
    d2.amount = dec!(1000);
    crm.update_deal(&id, &d2, Some(&contact_id)).await.unwrap();
    let got = emu.handle.deal(id.parse().unwrap()).unwrap();
    assert_eq!(got["STAGE_ID"], "WON");
    assert_eq!(got["OPPORTUNITY"], "1000.00");
    assert_eq!(emu.handle.deal_rows(id.parse().unwrap()).len(), 1);
    // Update with no lines clears the rows.
    d2.lines.clear();
    crm.update_deal(&id, &d2, None).await.unwrap();
    assert!(emu.handle.deal_rows(id.parse().unwrap()).is_empty());
    assert_eq!(emu.handle.deal_count(), 1);

    // A stage the portal does not have is a permanent error.
    let e = crm.create_deal(&deal("SHIPPED"), None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid, "{e}");
    assert_eq!(emu.handle.deal_count(), 1);
    let e = crm
        .update_deal("999", &deal("NEW"), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    emu.shutdown().await;
}

#[tokio::test]
async fn deal_in_another_pipeline() {
    let (emu, c) = common::setup().await;
    let mut d = deal("C3:PREPARATION");
    d.pipeline = Some("3".into());
    let id = c.create_deal(&d, None).await.unwrap();
    let got = c.get_deal(&id).await.unwrap();
    assert_eq!(got.category_id.as_deref(), Some("3"));
    assert_eq!(got.stage_id.as_deref(), Some("C3:PREPARATION"));
    // The default pipeline's stage id is not valid in pipeline 3.
    let mut bad = deal("PREPARATION");
    bad.pipeline = Some("3".into());
    assert_eq!(
        c.create_deal(&bad, None).await.unwrap_err().kind,
        ErrorKind::Invalid
    );
    let r = c
        .call("crm.deal.list", json!({"filter": {"CATEGORY_ID": 3}}))
        .await
        .unwrap();
    assert_eq!(r.total, Some(1));
    emu.shutdown().await;
}
