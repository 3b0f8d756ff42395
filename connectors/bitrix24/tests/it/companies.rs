//! Companies: find-or-create by title / INN, and the deal's `COMPANY_ID` written without extra
//! requests in the engine's flow (find contact → create contact → create/update deal).

use crate::common;

use dealbridge_bitrix24::Bitrix24Settings;
use dealbridge_sdk::model::{Contact, Deal, DealLine, ExternalRef};
use dealbridge_sdk::money::Currency;
use dealbridge_sdk::traits::CrmDeals;
use rust_decimal_macros::dec;
use serde_json::json;

fn buyer(company: Option<&str>) -> Contact {
    Contact {
        source: None,
        first_name: "Ivan".into(),
        last_name: "Petrov".into(),
        company: company.map(Into::into),
        email: Some("ivan@example.org".into()),
        phone: None,
    }
}

fn deal(contact: Contact, id: &str) -> Deal {
    Deal {
        title: format!("Order #{id}"),
        stage: "NEW".into(),
        pipeline: None,
        currency: Currency::new("RUB").unwrap(),
        amount: dec!(500),
        contact: Some(contact),
        lines: vec![DealLine {
            product_id: None,
            name: "Tea".into(),
            price: dec!(500),
            quantity: dec!(1),
            tax_rate: None,
            tax_included: true,
        }],
        origin: ExternalRef {
            system: "shop".into(),
            id: id.into(),
        },
        source_channel: None,
        comments: None,
    }
}

#[tokio::test]
async fn find_or_create_company_by_title() {
    let (emu, c) = common::setup().await;
    let (id, created) = c.find_or_create_company("ООО Ромашка", None).await.unwrap();
    assert!(created);
    // Exact title, case and surrounding spaces aside (the portal's collation).
    let (again, created) = c
        .find_or_create_company("  ооо ромашка ", None)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, id);
    // A title that only contains the other is a different company.
    let (other, created) = c
        .find_or_create_company("ООО Ромашка Плюс", None)
        .await
        .unwrap();
    assert!(created);
    assert_ne!(other, id);
    let counters = emu.handle.counters();
    assert_eq!(counters.get("crm.company.list").calls, 3);
    assert_eq!(counters.get("crm.company.add").calls, 2);
    // Lookup batch + add, lookup batch, lookup batch + add.
    assert_eq!(emu.handle.http_requests(), 5);
    let companies = emu.handle.companies();
    assert_eq!(companies.len(), 2);
    assert_eq!(companies[0]["TITLE"], "ООО Ромашка");
    assert!(c.find_or_create_company("  ", None).await.is_err());
    emu.shutdown().await;
}

#[tokio::test]
async fn inn_finds_by_requisite_and_is_written_with_a_preset() {
    let (emu, c) = common::setup().await;
    let c = c.with_settings(Bitrix24Settings {
        requisite_preset_id: Some(1),
        ..Bitrix24Settings::new()
    });
    let (id, created) = c
        .find_or_create_company("ООО Ромашка", Some("7701234567"))
        .await
        .unwrap();
    assert!(created);
    // Company + requisite in one batch after the lookup batch.
    assert_eq!(emu.handle.http_requests(), 2);
    let req = &emu.handle.requisites()[0];
    assert_eq!(req["RQ_INN"], "7701234567");
    assert_eq!(req["ENTITY_ID"], json!(id));
    assert_eq!(req["ENTITY_TYPE_ID"], "4");
    // Renamed in the CRM: the INN still finds it.
    emu.handle.manager_call(
        "crm.company.update",
        json!({"id": id, "fields": {"TITLE": "Ромашка (опт)"}}),
    );
    let (again, created) = c
        .find_or_create_company("ООО Ромашка", Some("7701234567"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, id);
    assert_eq!(emu.handle.counters().get("crm.requisite.list").calls, 2);
    assert_eq!(emu.handle.companies().len(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn new_company_is_added_in_the_deal_batch() {
    let (emu, c) = common::setup().await;
    let contact = buyer(Some("ООО Ромашка"));
    // The engine's flow: find (1 request), create contact (1), create deal (1).
    assert_eq!(c.find_contact(&contact).await.unwrap(), None);
    let contact_id = c.create_contact(&contact).await.unwrap();
    let deal_id = c
        .create_deal(&deal(contact.clone(), "1"), Some(&contact_id))
        .await
        .unwrap();
    assert_eq!(emu.handle.http_requests(), 3);
    let counters = emu.handle.counters();
    assert_eq!(counters.get("batch").calls, 2);
    assert_eq!(counters.get("crm.company.list").calls, 1);
    assert_eq!(counters.get("crm.company.add").calls, 1);
    let company = &emu.handle.companies()[0];
    let company_id = company["ID"].as_str().unwrap().to_string();
    let stored = emu.handle.deal(deal_id.parse().unwrap()).unwrap();
    assert_eq!(stored["COMPANY_ID"], json!(company_id));
    assert_eq!(stored["CONTACT_ID"], json!(contact_id));
    // The contact, created before the company, was linked in the same batch.
    assert_eq!(emu.handle.contacts()[0]["COMPANY_ID"], json!(company_id));
    assert_eq!(emu.handle.deal_rows(deal_id.parse().unwrap()).len(), 1);

    // Next order of the same buyer: the company is known, no lookup, no add.
    let before = emu.handle.http_requests();
    assert_eq!(
        c.find_contact(&contact).await.unwrap().as_deref(),
        Some(contact_id.as_str())
    );
    let d2 = c
        .create_deal(&deal(contact.clone(), "2"), Some(&contact_id))
        .await
        .unwrap();
    assert_eq!(emu.handle.http_requests() - before, 2);
    let counters = emu.handle.counters();
    assert_eq!(counters.get("crm.company.list").calls, 1);
    assert_eq!(counters.get("crm.company.add").calls, 1);
    let stored = emu.handle.deal(d2.parse().unwrap()).unwrap();
    assert_eq!(stored["COMPANY_ID"], json!(company_id));
    emu.shutdown().await;
}

#[tokio::test]
async fn existing_company_is_found_in_the_contact_lookup() {
    let (emu, c) = common::setup().await;
    let company_id = emu
        .handle
        .manager_add_company(json!({"TITLE": "ООО Ромашка"}))
        .unwrap();
    let contact = buyer(Some("ООО Ромашка"));
    assert_eq!(c.find_contact(&contact).await.unwrap(), None);
    let contact_id = c.create_contact(&contact).await.unwrap();
    // The contact carries the company it was created with.
    assert_eq!(
        emu.handle.contacts()[0]["COMPANY_ID"],
        json!(company_id.to_string())
    );
    let deal_id = c
        .create_deal(&deal(contact.clone(), "1"), Some(&contact_id))
        .await
        .unwrap();
    assert_eq!(emu.handle.http_requests(), 3);
    assert_eq!(emu.handle.counters().get("crm.company.add").calls, 0);
    let stored = emu.handle.deal(deal_id.parse().unwrap()).unwrap();
    assert_eq!(stored["COMPANY_ID"], json!(company_id.to_string()));

    // Update: COMPANY_ID written in the same one-request batch (rows unchanged).
    let before = emu.handle.http_requests();
    let mut changed = deal(contact.clone(), "1");
    changed.stage = "EXECUTING".into();
    c.update_deal(&deal_id, &changed, Some(&contact_id))
        .await
        .unwrap();
    assert_eq!(emu.handle.http_requests() - before, 1);
    let stored = emu.handle.deal(deal_id.parse().unwrap()).unwrap();
    assert_eq!(stored["STAGE_ID"], "EXECUTING");
    assert_eq!(stored["COMPANY_ID"], json!(company_id.to_string()));
    emu.shutdown().await;
}

#[tokio::test]
async fn deal_write_without_a_prior_lookup_finds_the_company_first() {
    let (emu, c) = common::setup().await;
    // A fresh client (say, after a restart) updating a deal of a company buyer.
    let company_id = emu
        .handle
        .manager_add_company(json!({"TITLE": "ИП Сидоров"}))
        .unwrap();
    let d = deal(buyer(Some("ИП Сидоров")), "9");
    let id = c.create_deal(&d, None).await.unwrap();
    // One lookup, then the deal batch.
    assert_eq!(emu.handle.http_requests(), 2);
    let stored = emu.handle.deal(id.parse().unwrap()).unwrap();
    assert_eq!(stored["COMPANY_ID"], json!(company_id.to_string()));
    // Missing company, no lookup before: lookup, then add + deal in one batch.
    let d = deal(buyer(Some("ИП Новиков")), "10");
    let before = emu.handle.http_requests();
    let id = c.create_deal(&d, None).await.unwrap();
    assert_eq!(emu.handle.http_requests() - before, 2);
    let stored = emu.handle.deal(id.parse().unwrap()).unwrap();
    let new_company = emu
        .handle
        .companies()
        .into_iter()
        .find(|co| co["TITLE"] == "ИП Новиков")
        .unwrap();
    assert_eq!(stored["COMPANY_ID"], new_company["ID"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn contacts_without_company_cost_what_they_did() {
    let (emu, c) = common::setup().await;
    let contact = buyer(None);
    assert_eq!(c.find_contact(&contact).await.unwrap(), None);
    let contact_id = c.create_contact(&contact).await.unwrap();
    let id = c
        .create_deal(&deal(contact.clone(), "1"), Some(&contact_id))
        .await
        .unwrap();
    assert_eq!(emu.handle.http_requests(), 3);
    assert_eq!(emu.handle.counters().get("crm.company.list").calls, 0);
    let stored = emu.handle.deal(id.parse().unwrap()).unwrap();
    assert!(stored["COMPANY_ID"].is_null());
    emu.shutdown().await;
}

#[tokio::test]
async fn a_company_deleted_in_the_crm_is_looked_up_again_once_the_cache_entry_is_old() {
    let (emu, c) = common::setup().await;
    let c = c.with_company_ttl(std::time::Duration::from_millis(300));
    let contact = buyer(Some("ООО Ромашка"));
    assert_eq!(c.find_contact(&contact).await.unwrap(), None);
    let contact_id = c.create_contact(&contact).await.unwrap();
    c.create_deal(&deal(contact.clone(), "1"), Some(&contact_id))
        .await
        .unwrap();
    let first = emu.handle.companies()[0]["ID"]
        .as_str()
        .unwrap()
        .to_string();

    // A manager deletes the company in the CRM.
    assert!(emu.handle.manager_delete_company(&first));
    assert!(emu.handle.companies().is_empty());

    // Within the TTL the answer is trusted: no lookup (the next order costs no extra request).
    let d2 = c
        .create_deal(&deal(contact.clone(), "2"), Some(&contact_id))
        .await
        .unwrap();
    assert_eq!(emu.handle.counters().get("crm.company.list").calls, 1);
    let stored = emu.handle.deal(d2.parse().unwrap()).unwrap();
    assert_eq!(stored["COMPANY_ID"], json!(first));

    // Once it is older, the company is looked up, found missing and added again.
    tokio::time::sleep(std::time::Duration::from_millis(350)).await;
    let d3 = c
        .create_deal(&deal(contact.clone(), "3"), Some(&contact_id))
        .await
        .unwrap();
    assert_eq!(emu.handle.counters().get("crm.company.list").calls, 2);
    assert_eq!(emu.handle.counters().get("crm.company.add").calls, 2);
    let companies = emu.handle.companies();
    assert_eq!(companies.len(), 1);
    let second = companies[0]["ID"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    let stored = emu.handle.deal(d3.parse().unwrap()).unwrap();
    assert_eq!(stored["COMPANY_ID"], json!(second));
    emu.shutdown().await;
}
