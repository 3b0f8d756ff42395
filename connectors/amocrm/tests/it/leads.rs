//! Leads through the client against the emulator: batch add/get/update, paging by
//! `_links.next`, 204 for empty pages, `filter[updated_at]`, complex add, validation errors.

use crate::common;

use common::{DECIDING, FIRST_CONTACT, PIPELINE};
use dealbridge_amocrm::LeadsQuery;
use dealbridge_sdk::error::ErrorKind;
use serde_json::json;

#[tokio::test]
async fn add_get_update_leads() {
    let (emu, c) = common::setup().await;
    let saved = c
        .add_leads(&[
            json!({ "name": "A", "price": 100, "pipeline_id": PIPELINE, "status_id": FIRST_CONTACT }),
            json!({ "name": "B", "price": 200, "request_id": "b" }),
        ])
        .await
        .unwrap();
    assert_eq!(saved.len(), 2);
    assert_eq!(saved[0].request_id.as_deref(), Some("0"));
    assert_eq!(saved[1].request_id.as_deref(), Some("b"));
    let a = c.get_lead(saved[0].id, &[]).await.unwrap();
    assert_eq!(
        (a.name.as_str(), a.price, a.status_id, a.pipeline_id),
        ("A", Some(100), FIRST_CONTACT, PIPELINE)
    );
    let b = c.get_lead(saved[1].id, &[]).await.unwrap();
    assert_eq!(b.pipeline_id, PIPELINE, "main pipeline by default");

    let upd = c
        .update_leads(&[
            json!({ "id": saved[0].id, "status_id": 142, "price": 150 }),
            json!({ "id": saved[1].id, "name": "B2" }),
        ])
        .await
        .unwrap();
    assert!(upd.iter().all(|u| u.updated_at.is_some()));
    let a = c.get_lead(saved[0].id, &[]).await.unwrap();
    assert_eq!((a.price, a.status_id), (Some(150), 142));
    assert_eq!(c.get_lead(saved[1].id, &[]).await.unwrap().name, "B2");
    assert_eq!(emu.handle.counters().get("POST /api/v4/leads").served, 1);
    assert_eq!(emu.handle.counters().get("PATCH /api/v4/leads").served, 1);

    let missing = c.get_lead(1, &[]).await.unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound);
    emu.shutdown().await;
}

#[tokio::test]
async fn validation_errors_carry_field_paths() {
    let (emu, c) = common::setup().await;
    let e = c
        .add_leads(&[
            json!({ "name": "ok" }),
            json!({ "name": "bad", "price": 10.5, "pipeline_id": PIPELINE, "status_id": 999 }),
        ])
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(
        e.message.contains("request 1: price (InvalidType"),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("request 1: status_id (NotSupportedChoice"),
        "{}",
        e.message
    );
    assert_eq!(emu.handle.lead_count(), 0, "a refused batch writes nothing");

    let e = c
        .add_leads(&[
            json!({ "custom_fields_values": [{ "field_id": 1, "values": [{ "value": "x" }] }] }),
        ])
        .await
        .unwrap_err();
    assert!(
        e.message.contains("custom_fields_values.0.field_id"),
        "{}",
        e.message
    );

    // The raw answer is problem+json in the documented shape.
    let r = common::raw()
        .post(format!("{}/api/v4/leads", emu.base_url))
        .bearer_auth("test")
        .json(&json!([{ "price": "12" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["validation-errors"][0]["request_id"], "0");
    assert_eq!(body["validation-errors"][0]["errors"][0]["path"], "price");
    assert_eq!(body["status"], 400);
    emu.shutdown().await;
}

#[tokio::test]
async fn statuses_142_and_143_exist_in_every_pipeline() {
    let (emu, c) = common::setup().await;
    let pipes = c.pipelines().await.unwrap();
    assert_eq!(pipes.len(), 1);
    for p in &pipes {
        let ids: Vec<u64> = p.embedded.statuses.iter().map(|s| s.id).collect();
        assert!(ids.contains(&142) && ids.contains(&143), "{ids:?}");
        assert_eq!(c.statuses(p.id).await.unwrap().len(), ids.len());
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn pages_follow_next_links_and_empty_is_204() {
    let (emu, c) = common::setup().await;
    let items: Vec<_> = (0..7)
        .map(|i| json!({ "name": format!("L{i}"), "price": i }))
        .collect();
    c.add_leads(&items).await.unwrap();

    let first = c
        .leads_page(&LeadsQuery {
            limit: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.items.len(), 3);
    assert_eq!(first.page, Some(1));
    let next = first.next.clone().expect("a next link");
    assert!(
        next.contains("page=2") && next.contains("limit=3"),
        "{next}"
    );

    let before = emu.handle.counters().get("GET /api/v4/leads").calls;
    let all = c
        .leads_all(&LeadsQuery {
            limit: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    let names: std::collections::BTreeSet<_> = all.iter().map(|l| l.name.clone()).collect();
    assert_eq!(names.len(), 7, "no duplicates across pages");
    assert_eq!(
        emu.handle.counters().get("GET /api/v4/leads").calls - before,
        3,
        "3 pages, the last one without a next link"
    );

    // A page past the end is 204 No Content, which the client reads as empty.
    let r = common::raw()
        .get(format!("{}/api/v4/leads?page=9&limit=3", emu.base_url))
        .bearer_auth("test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let empty = c
        .leads_page(&LeadsQuery {
            page: Some(9),
            limit: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(empty.items.is_empty() && empty.next.is_none());

    // limit above 250: refused by the client, and by the emulator with 400.
    let e = c
        .leads_page(&LeadsQuery {
            limit: Some(251),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    let r = common::raw()
        .get(format!("{}/api/v4/leads?limit=251", emu.base_url))
        .bearer_auth("test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    emu.shutdown().await;
}

#[tokio::test]
async fn filter_by_updated_at() {
    let (emu, c) = common::setup().await;
    let saved = c
        .add_leads(&[json!({ "name": "old" }), json!({ "name": "new" })])
        .await
        .unwrap();
    emu.handle.set_lead_updated_at(saved[0].id, 1_000);
    emu.handle.set_lead_updated_at(saved[1].id, 2_000);
    let got = c
        .leads_all(&LeadsQuery {
            updated_from: Some(1_500),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
    let got = c
        .leads_all(&LeadsQuery {
            updated_from: Some(500),
            updated_to: Some(1_500),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["old"]
    );
    let none = c
        .leads_all(&LeadsQuery {
            updated_from: Some(3_000),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn complex_add_creates_lead_and_contact_in_one_call() {
    let (emu, c) = common::setup().await;
    let out = c
        .add_complex(&[json!({
            "name": "Order 1", "price": 500, "pipeline_id": PIPELINE, "status_id": DECIDING,
            "_embedded": { "contacts": [{
                "first_name": "Ivan", "last_name": "Petrov",
                "custom_fields_values": [{ "field_code": "EMAIL", "values": [{ "value": "ivan@example.com", "enum_code": "WORK" }] }]
            }] }
        })])
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    let contact = out[0].contact_id.expect("contact created");
    let lead = c.get_lead(out[0].id, &["contacts"]).await.unwrap();
    assert_eq!(lead.embedded.contacts[0].id, contact);
    assert_eq!(lead.status_id, DECIDING);
    assert_eq!(
        emu.handle
            .counters()
            .get("POST /api/v4/leads/complex")
            .calls,
        1
    );
    assert_eq!(emu.handle.contacts().len(), 1);

    let many: Vec<_> = (0..51).map(|_| json!({ "name": "x" })).collect();
    assert_eq!(
        c.add_complex(&many).await.unwrap_err().kind,
        ErrorKind::Invalid
    );
    emu.shutdown().await;
}
