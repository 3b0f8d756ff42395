//! The CRM → store direction: reading deals back (`CrmDealReader`), read-compare-write of
//! product rows, outgoing events, offline events and payments (`CrmPayments`).

use crate::common;

use chrono::{TimeZone, Utc};
use dealbridge_bitrix24::{parse_event, verify_application_token, Bitrix24Settings};
use dealbridge_sdk::model::{Deal, DealLine, ExternalRef, Payment};
use dealbridge_sdk::money::{Currency, Money};
use dealbridge_sdk::traits::{CrmDealReader, CrmDeals, CrmPayments};
use rust_decimal_macros::dec;
use serde_json::{json, Value};
use std::time::Duration;

fn deal(n: u32) -> Deal {
    Deal {
        title: format!("Order #{n}"),
        stage: "NEW".into(),
        pipeline: None,
        currency: Currency::new("RUB").unwrap(),
        amount: dec!(1350.00),
        contact: None,
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
            id: n.to_string(),
        },
        source_channel: Some("checkout".into()),
        comments: None,
    }
}

#[tokio::test]
async fn deals_read_back_with_rows_in_two_requests_per_page() {
    let (emu, c) = common::setup().await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(c.create_deal(&deal(n), Some("5")).await.unwrap());
    }
    let before = emu.handle.http_requests();
    emu.handle.counters().reset();
    let page = c.deals_modified_since(None, 1, 50).await.unwrap();
    assert_eq!(emu.handle.http_requests() - before, 2);
    let counters = emu.handle.counters();
    assert_eq!(counters.get("crm.deal.list").calls, 1);
    assert_eq!(counters.get("crm.deal.productrows.get").calls, 3);
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.next_page, None);
    assert_eq!(page.total, Some(3));
    let first = &page.items[0];
    assert_eq!(first.id, ids[0]);
    assert_eq!(first.deal.title, "Order #1");
    assert_eq!(first.deal.stage, "NEW");
    assert_eq!(first.deal.pipeline.as_deref(), Some("0"));
    assert_eq!(first.deal.amount, dec!(1350.00));
    assert_eq!(first.deal.origin.system, "shop");
    assert_eq!(first.deal.origin.id, "1");
    assert_eq!(first.deal.source_channel.as_deref(), Some("checkout"));
    let contact = first.deal.contact.as_ref().unwrap();
    assert_eq!(contact.source.as_ref().unwrap().id, "5");
    assert_eq!(first.deal.lines.len(), 2);
    assert_eq!(first.deal.lines[0].product_id, None);
    assert_eq!(first.deal.lines[1].product_id.as_deref(), Some("17"));
    assert_eq!(first.deal.lines[1].quantity, dec!(1.5));
    assert_eq!(first.deal.lines[1].tax_rate, Some(dec!(20)));
    assert_eq!(first.paid_amount, None);

    // A manager's edit a second later is what a delta read returns, nothing else.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let since = Utc::now();
    let second: u64 = ids[1].parse().unwrap();
    assert!(emu
        .handle
        .manager_update_deal(second, json!({"STAGE_ID": "WON"})));
    assert!(emu.handle.manager_set_rows(
        second,
        json!([{"PRODUCT_NAME": "Kettle", "PRICE": 2000, "QUANTITY": 1}])
    ));
    let delta = c.deals_modified_since(Some(since), 1, 50).await.unwrap();
    assert_eq!(delta.items.len(), 1);
    let d = &delta.items[0];
    assert_eq!(d.id, ids[1]);
    assert_eq!(d.deal.stage, "WON");
    assert_eq!(d.deal.lines.len(), 1);
    assert_eq!(d.deal.lines[0].name, "Kettle");
    assert!(d.modified_at >= since - chrono::Duration::seconds(1));

    // One deal: one request; a missing one is None.
    let before = emu.handle.http_requests();
    let one = c.deal(&ids[1]).await.unwrap().unwrap();
    assert_eq!(one, *d);
    assert_eq!(emu.handle.http_requests() - before, 1);
    assert!(c.deal("9999").await.unwrap().is_none());
    emu.shutdown().await;
}

#[tokio::test]
async fn deal_pages_follow_bitrix_paging() {
    let (emu, c) = common::setup().await;
    for chunk in 0..3 {
        let cmds: Vec<(String, &str, Value)> = (0..40)
            .map(|i| {
                (
                    format!("d{i}"),
                    "crm.deal.add",
                    json!({"fields": {"TITLE": format!("D{chunk}-{i}")}}),
                )
            })
            .collect();
        c.batch(true, &cmds).await.unwrap();
    }
    let p1 = c.deals_modified_since(None, 1, 50).await.unwrap();
    assert_eq!(
        (p1.items.len(), p1.next_page, p1.total),
        (50, Some(2), Some(120))
    );
    let p3 = c.deals_modified_since(None, 3, 50).await.unwrap();
    assert_eq!((p3.items.len(), p3.next_page), (20, None));
    // Oldest change first, ties by id.
    let ids: Vec<u64> = p1.items.iter().map(|d| d.id.parse().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    emu.shutdown().await;
}

#[tokio::test]
async fn update_deal_writes_rows_only_when_they_differ() {
    let (emu, c) = common::setup().await;
    let d = deal(1);
    let id = c.create_deal(&d, None).await.unwrap();
    let row_ids = |emu: &dealbridge_bitrix24::emulator::RunningEmulator| -> Vec<Value> {
        emu.handle
            .deal_rows(id.parse().unwrap())
            .iter()
            .map(|r| r["ID"].clone())
            .collect()
    };
    let rows_before = row_ids(&emu);
    emu.handle.counters().reset();

    // Stage change, same rows: 1 request, no rows.set, rows keep their ids.
    let mut d2 = d.clone();
    d2.stage = "EXECUTING".into();
    let before = emu.handle.http_requests();
    c.update_deal(&id, &d2, None).await.unwrap();
    assert_eq!(emu.handle.http_requests() - before, 1);
    assert_eq!(
        emu.handle.counters().get("crm.deal.productrows.set").calls,
        0
    );
    assert_eq!(row_ids(&emu), rows_before);
    assert_eq!(
        emu.handle.deal(id.parse().unwrap()).unwrap()["STAGE_ID"],
        "EXECUTING"
    );

    // Changed quantity: 2 requests, rows replaced.
    d2.lines[0].quantity = dec!(3);
    let before = emu.handle.http_requests();
    c.update_deal(&id, &d2, None).await.unwrap();
    assert_eq!(emu.handle.http_requests() - before, 2);
    assert_eq!(
        emu.handle.counters().get("crm.deal.productrows.set").calls,
        1
    );
    let rows = emu.handle.deal_rows(id.parse().unwrap());
    assert_eq!(rows[0]["QUANTITY"], json!(3));

    // No lines: rows cleared.
    d2.lines.clear();
    c.update_deal(&id, &d2, None).await.unwrap();
    assert!(emu.handle.deal_rows(id.parse().unwrap()).is_empty());
    let before = emu.handle.http_requests();
    c.update_deal(&id, &d2, None).await.unwrap();
    assert_eq!(emu.handle.http_requests() - before, 1);
    emu.shutdown().await;
}

async fn next(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) -> (String, Vec<u8>) {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("event arrives")
        .unwrap()
}

/// A loopback handler that collects event bodies.
async fn sink() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) {
    use axum::body::Bytes;
    use axum::http::HeaderMap;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let ctype = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let _ = tx.send((ctype, body.to_vec()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), rx)
}

#[tokio::test]
async fn deal_changes_post_form_events_with_the_application_token() {
    let (emu, c) = common::setup().await;
    let (url, mut rx) = sink().await;
    emu.handle.set_event_handler(&url, "app-token-123");
    let id = c.create_deal(&deal(1), None).await.unwrap();
    // crm.deal.add and the rows set in the same batch.
    let (ctype, body) = next(&mut rx).await;
    assert_eq!(ctype, "application/x-www-form-urlencoded");
    let raw = String::from_utf8(body.clone()).unwrap();
    assert!(raw.contains("data%5BFIELDS%5D%5BID%5D="), "{raw}");
    let ev = parse_event(&body).unwrap();
    assert_eq!(ev.event, "ONCRMDEALADD");
    assert_eq!(ev.deal_id, id);
    assert!(verify_application_token(&ev, "app-token-123"));
    assert!(!verify_application_token(&ev, "app-token-124"));
    assert!(!verify_application_token(&ev, ""));
    assert!(ev.domain.as_deref().unwrap().starts_with("127.0.0.1:"));
    assert!(ev.ts.is_some());
    let (_, body) = next(&mut rx).await;
    assert_eq!(parse_event(&body).unwrap().event, "ONCRMDEALUPDATE");

    // A manager's edit fires too, without counting as our call.
    let before = emu.handle.http_requests();
    emu.handle
        .manager_update_deal(id.parse().unwrap(), json!({"TITLE": "Edited"}));
    let (_, body) = next(&mut rx).await;
    let ev = parse_event(&body).unwrap();
    assert_eq!(
        (ev.event.as_str(), ev.deal_id.as_str()),
        ("ONCRMDEALUPDATE", id.as_str())
    );
    assert_eq!(emu.handle.http_requests(), before);
    emu.shutdown().await;
}

#[test]
fn parse_event_accepts_the_documented_shapes() {
    let json_body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/api-examples/bitrix24/on-crm-deal-update__01.json"
    ));
    if let Ok(body) = json_body {
        let ev = parse_event(&body).unwrap();
        assert_eq!(ev.deal_id, "759");
        assert_eq!(ev.application_token, "51856fefc120afa4b628cc82d3935cce");
        assert_eq!(ev.ts, Some(1736405807));
    }
    let form = b"event=ONCRMDEALUPDATE&event_handler_id=975&data%5BFIELDS%5D%5BID%5D=7405&ts=1766047124&auth%5Bdomain%5D=x.bitrix24.ru&auth%5Bmember_id%5D=m&auth%5Bapplication_token%5D=jvh9";
    let ev = parse_event(form).unwrap();
    assert_eq!(ev.deal_id, "7405");
    assert_eq!(ev.domain.as_deref(), Some("x.bitrix24.ru"));
    assert!(verify_application_token(&ev, "jvh9"));
    assert!(parse_event(
        b"event=ONCRMLEADADD&data%5BFIELDS%5D%5BID%5D=1&auth%5Bapplication_token%5D=t"
    )
    .is_err());
    assert!(parse_event(b"event=ONCRMDEALADD&data%5BFIELDS%5D%5BID%5D=1").is_err());
    assert!(parse_event(b"\xff\xfe").is_err());
}

#[tokio::test]
async fn events_queue_offline_without_a_handler() {
    let (emu, c) = common::setup().await;
    let id = c.create_deal(&deal(1), None).await.unwrap();
    emu.handle
        .manager_update_deal(id.parse().unwrap(), json!({"STAGE_ID": "WON"}));
    assert_eq!(emu.handle.offline_event_count(), 3);
    // Read without clearing: reserved for a process, then cleared.
    let got = c.offline_events(2, false).await.unwrap();
    assert_eq!(got.events.len(), 2);
    assert_eq!(got.events[0].event, "ONCRMDEALADD");
    assert_eq!(got.events[0].entity_id.as_deref(), Some(id.as_str()));
    let process = got.process_id.clone().unwrap();
    c.clear_offline_events(&process).await.unwrap();
    assert_eq!(emu.handle.offline_event_count(), 1);
    // Read with clear=1: gone at once.
    let got = c.offline_events(50, true).await.unwrap();
    assert_eq!(got.events.len(), 1);
    assert_eq!(got.events[0].event, "ONCRMDEALUPDATE");
    assert_eq!(got.process_id, None);
    assert!(c.offline_events(50, true).await.unwrap().events.is_empty());
    emu.shutdown().await;
}

fn payment(id: &str, amount: rust_decimal::Decimal, day: u32) -> Payment {
    Payment {
        source: ExternalRef {
            system: "1c".into(),
            id: id.into(),
        },
        order: ExternalRef {
            system: "1c".into(),
            id: "order-1".into(),
        },
        amount: Money::new(amount, Currency::new("RUB").unwrap()),
        paid_at: Some(Utc.with_ymd_and_hms(2026, 3, day, 9, 30, 0).unwrap()),
        document_number: Some(format!("PP-{id}")),
        method: Some("bank transfer".into()),
    }
}

#[tokio::test]
async fn payments_land_once_and_read_back_as_paid_amount() {
    let (emu, c) = common::setup().await;
    let c = c.with_settings(Bitrix24Settings {
        paid_amount_field: Some("UF_CRM_PAID_AMOUNT".into()),
        paid_date_field: Some("UF_CRM_PAID_DATE".into()),
        ..Bitrix24Settings::new()
    });
    let id = c.create_deal(&deal(1), None).await.unwrap();
    let p1 = payment("pay-1", dec!(1000.00), 2);
    let p2 = payment("pay-2", dec!(350), 4);

    let before = emu.handle.http_requests();
    let writes = c
        .sync_payments(&id, &[p1.clone(), p2.clone()])
        .await
        .unwrap();
    assert_eq!(writes, 3, "the fields and two comments");
    assert_eq!(emu.handle.http_requests() - before, 2);
    let rec = emu.handle.deal(id.parse().unwrap()).unwrap();
    assert_eq!(rec["UF_CRM_PAID_AMOUNT"], "1350.00");
    assert_eq!(rec["UF_CRM_PAID_DATE"], "2026-03-04T09:30:00+00:00");
    let comments = emu.handle.comments();
    assert_eq!(comments.len(), 2);
    assert!(comments[0]["COMMENT"]
        .as_str()
        .unwrap()
        .contains("[dealbridge:payment=1c:pay-1]"));
    assert_eq!(comments[0]["ENTITY_ID"], json!(id));

    // Re-sync: one read, nothing written.
    emu.handle.counters().reset();
    let before = emu.handle.http_requests();
    assert_eq!(
        c.sync_payments(&id, &[p1.clone(), p2.clone()])
            .await
            .unwrap(),
        0
    );
    assert_eq!(emu.handle.http_requests() - before, 1);
    assert_eq!(emu.handle.counters().get("crm.deal.update").calls, 0);
    assert_eq!(
        emu.handle.counters().get("crm.timeline.comment.add").calls,
        0
    );

    // A third payment (a refund): the fields and one comment.
    let p3 = payment("ref-1", dec!(-50), 5);
    assert_eq!(c.sync_payments(&id, &[p1, p2, p3]).await.unwrap(), 2);
    assert_eq!(emu.handle.comments().len(), 3);
    let state = c.deal(&id).await.unwrap().unwrap();
    assert_eq!(state.paid_amount, Some(dec!(1300.00)));
    let page = c.deals_modified_since(None, 1, 50).await.unwrap();
    assert_eq!(page.items[0].paid_amount, Some(dec!(1300.00)));

    // A deal that is gone is NotFound, with what to do.
    let e = c.sync_payments("9999", &[]).await.unwrap_err();
    assert_eq!(e.kind, dealbridge_sdk::error::ErrorKind::NotFound);
    emu.shutdown().await;
}
