//! `CrmDealReader`, `CrmPayments`, outgoing webhooks and OAuth refresh against the emulator.

use crate::common;

use axum::body::Bytes;
use axum::routing::post;
use common::{DECIDING, FIRST_CONTACT, PIPELINE};
use dealbridge_amocrm::emulator::ManagerEdit;
use dealbridge_amocrm::{parse_webhook, LeadEventKind, OAuthSettings, OAuthTokens, TokenStore};
use dealbridge_sdk::model::{Deal, ExternalRef, Payment};
use dealbridge_sdk::money::{Currency, Money};
use dealbridge_sdk::traits::{CrmDealReader, CrmDeals, CrmPayments};
use rust_decimal_macros::dec;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn deal(id: &str) -> Deal {
    Deal {
        title: format!("Order #{id}"),
        stage: FIRST_CONTACT.to_string(),
        pipeline: None,
        currency: Currency::new("RUB").unwrap(),
        amount: dec!(1234.56),
        contact: None,
        lines: Vec::new(),
        origin: ExternalRef {
            system: "shop".into(),
            id: id.into(),
        },
        source_channel: None,
        comments: None,
    }
}

fn payment(id: &str, amount: rust_decimal::Decimal) -> Payment {
    Payment {
        source: ExternalRef {
            system: "1c".into(),
            id: id.into(),
        },
        order: ExternalRef {
            system: "1c".into(),
            id: "ORD".into(),
        },
        amount: Money::new(amount, Currency::new("RUB").unwrap()),
        paid_at: None,
        document_number: Some(format!("N-{id}")),
        method: Some("bank transfer".into()),
    }
}

#[tokio::test]
async fn changed_leads_are_read_back_by_id_and_one_by_id() {
    let (emu, c) = common::setup().await;
    let d = common::deals(&c);
    let a: u64 = d
        .create_deal(&deal("1"), None)
        .await
        .unwrap()
        .parse()
        .unwrap();
    let b: u64 = d
        .create_deal(&deal("2"), None)
        .await
        .unwrap()
        .parse()
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    emu.handle.set_lead_updated_at(a, now - 1000);
    emu.handle.set_lead_updated_at(b, now - 900);
    // A manager moves lead a on: no API call, updated_at moves past everything else.
    let before = emu.handle.counters().snapshot();
    assert!(emu.handle.manager_update_lead(
        a,
        ManagerEdit {
            status_id: Some(DECIDING),
            price: Some(2000),
            ..Default::default()
        }
    ));
    assert_eq!(emu.handle.counters().snapshot(), before, "not our call");

    let since = chrono::DateTime::from_timestamp(now - 950, 0);
    let page = d.deals_modified_since(since, 1, 50).await.unwrap();
    let ids: Vec<&str> = page.items.iter().map(|s| s.id.as_str()).collect();
    // By id, not by change: a lead changed while pages are read must not shift the others.
    assert_eq!(ids, [a.to_string(), b.to_string()], "by id");
    assert_eq!(page.next_page, None);
    let sa = &page.items[0];
    assert_eq!(sa.deal.stage, DECIDING.to_string());
    assert_eq!(
        sa.deal.pipeline.as_deref(),
        Some(PIPELINE.to_string().as_str())
    );
    assert_eq!(
        sa.deal.amount,
        dec!(2000),
        "a manager's new budget wins over the exact amount it made stale"
    );
    assert_eq!(
        page.items[1].deal.amount,
        dec!(1234.56),
        "an untouched lead reads its exact amount, not the rounded budget"
    );
    assert_eq!(sa.deal.origin.system, "shop");
    assert_eq!(sa.deal.origin.id, "1");
    assert!(sa.modified_at.timestamp() >= now);
    // Everything, paged one by one.
    let p1 = d.deals_modified_since(None, 1, 1).await.unwrap();
    assert_eq!(p1.items.len(), 1);
    assert_eq!(p1.next_page, Some(2));
    let one = d.deal(&b.to_string()).await.unwrap().unwrap();
    assert_eq!(one.deal.origin.id, "2");
    assert_eq!(d.deal("99999999").await.unwrap(), None);
    emu.shutdown().await;
}

#[tokio::test]
async fn payments_become_notes_and_a_paid_total_and_resync_writes_nothing() {
    let (emu, c) = common::setup().await;
    let d = common::deals(&c);
    let id = d.create_deal(&deal("7"), None).await.unwrap();
    let lead: u64 = id.parse().unwrap();
    let n = emu.handle.counters();
    n.reset();
    let two = [payment("P1", dec!(1000.00)), payment("P2", dec!(234.56))];
    assert_eq!(
        d.sync_payments(&id, &two).await.unwrap(),
        3,
        "2 notes + the field"
    );
    assert_eq!(
        n.get("POST /api/v4/leads/{id}/notes").served,
        1,
        "one array"
    );
    assert_eq!(n.get("PATCH /api/v4/leads").served, 1);
    let notes = emu.handle.notes(lead);
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["note_type"], "common");
    assert!(notes[0]["params"]["text"]
        .as_str()
        .unwrap()
        .contains("[dealbridge payment 1c:P1]"));
    let state = d.deal(&id).await.unwrap().unwrap();
    assert_eq!(state.paid_amount, Some(dec!(1234.56)));
    assert_eq!(
        state.deal.origin.id, "7",
        "the origin field survived the update"
    );

    n.reset();
    assert_eq!(d.sync_payments(&id, &two).await.unwrap(), 0);
    assert_eq!(n.get("POST /api/v4/leads/{id}/notes").calls, 0);
    assert_eq!(n.get("PATCH /api/v4/leads").calls, 0);
    assert_eq!(n.get("GET /api/v4/leads/{id}").calls, 1);
    assert_eq!(n.get("GET /api/v4/leads/{id}/notes").calls, 1);

    let three = [two[0].clone(), two[1].clone(), payment("R1", dec!(-34.56))];
    assert_eq!(d.sync_payments(&id, &three).await.unwrap(), 2);
    assert_eq!(emu.handle.notes(lead).len(), 3);
    let state = d.deal(&id).await.unwrap().unwrap();
    assert_eq!(state.paid_amount, Some(dec!(1200.00)));
    assert!(d.sync_payments("99999999", &two).await.is_err());
    emu.shutdown().await;
}

#[tokio::test]
async fn lead_changes_are_posted_as_form_webhooks() {
    let (emu, c) = common::setup().await;
    let got: Arc<Mutex<Vec<(String, Bytes)>>> = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook/secret",
        post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let sink = sink.clone();
            async move {
                let ct = headers["content-type"].to_str().unwrap().to_string();
                sink.lock().unwrap().push((ct, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    emu.handle
        .set_webhook_url(Some(&format!("http://{addr}/hook/secret")));

    let d = common::deals(&c);
    let id: u64 = d
        .create_deal(&deal("9"), None)
        .await
        .unwrap()
        .parse()
        .unwrap();
    emu.handle.manager_update_lead(
        id,
        ManagerEdit {
            status_id: Some(DECIDING),
            ..Default::default()
        },
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while emu.handle.webhook_deliveries().0 < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(emu.handle.webhook_deliveries(), (3, 0));
    let mut events = Vec::new();
    for (ct, body) in got.lock().unwrap().iter() {
        assert_eq!(ct, "application/x-www-form-urlencoded");
        events.extend(parse_webhook(body).unwrap());
    }
    events.sort_by_key(|e| e.kind);
    let kinds: Vec<LeadEventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            LeadEventKind::Add,
            LeadEventKind::Update,
            LeadEventKind::Status
        ]
    );
    assert!(events.iter().all(|e| e.lead_id == id));
    assert!(events
        .iter()
        .all(|e| e.account_subdomain.as_deref() == Some("example")));
    let st = &events[2];
    assert_eq!(st.status_id, Some(DECIDING));
    assert_eq!(st.old_status_id, Some(FIRST_CONTACT));
    server.abort();
    emu.shutdown().await;
}

#[tokio::test]
async fn an_expired_oauth_token_is_refreshed_once_and_the_new_pair_persisted() {
    let (emu, _) = common::setup().await;
    emu.handle.enable_oauth("cid", "csecret", "refresh-0");
    let saved: Arc<Mutex<Vec<OAuthTokens>>> = Arc::default();
    let s2 = saved.clone();
    let sink: Arc<dyn TokenStore> =
        Arc::new(move |t: &OAuthTokens| s2.lock().unwrap().push(t.clone()));
    let c = common::client(&emu.base_url, "test").with_oauth(
        OAuthSettings {
            client_id: "cid".into(),
            client_secret: "csecret".into(),
            redirect_uri: "https://example.test/oauth".into(),
            refresh_token: "refresh-0".into(),
        },
        Some(sink),
    );
    emu.handle.expire_access_token();
    // Several calls hit the 401 at once: one refresh, all retried.
    let calls = (0..4).map(|_| c.pipelines());
    for r in futures_join(calls).await {
        assert_eq!(r.unwrap().len(), 1);
    }
    let n = emu.handle.counters();
    assert_eq!(n.get("POST /oauth2/access_token").served, 1);
    let saved = saved.lock().unwrap().clone();
    assert_eq!(saved.len(), 1);
    assert_eq!(
        Some(saved[0].refresh_token.clone()),
        emu.handle.current_refresh_token()
    );
    assert!(
        !format!("{:?}", saved[0]).contains("refresh-1"),
        "no secrets in Debug"
    );
    // A revoked refresh token is an Auth error naming what to do.
    emu.handle.enable_oauth("cid", "csecret", "something-else");
    emu.handle.expire_access_token();
    let e = c.pipelines().await.unwrap_err();
    assert_eq!(e.kind, dealbridge_sdk::error::ErrorKind::Auth);
    assert!(
        e.message.contains("authorize the integration again"),
        "{}",
        e.message
    );
    let _ = json!(null);
    emu.shutdown().await;
}

/// Runs futures concurrently on this task (no extra dependency).
async fn futures_join<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let set: Vec<_> = fs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    let mut set: Vec<_> = set.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if let Some(fut) = f {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        out[i] = Some(v);
                        *f = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}
