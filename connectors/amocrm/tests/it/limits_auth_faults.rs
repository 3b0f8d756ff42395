//! Wrong tokens, the 7 requests/second limit, and every injected fault, seen through the client.

use crate::common;

use dealbridge_amocrm::emulator::EmulatorConfig;
use dealbridge_amocrm::{AmoClient, LeadsQuery};
use dealbridge_sdk::error::ErrorKind;
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::model::ExternalRef;
use dealbridge_sdk::money::Currency;
use dealbridge_sdk::traits::CrmDeals;
use rust_decimal_macros::dec;
use serde_json::Value;
use std::time::{Duration, Instant};

#[tokio::test]
async fn wrong_token_is_an_auth_error_and_a_new_token_works() {
    let (emu, _) = common::setup().await;
    let c = common::client(&emu.base_url, "wrong").with_config_name("amo");
    let e = c.leads_page(&LeadsQuery::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(
        e.message.contains("check systems.amo.token"),
        "{}",
        e.message
    );
    assert!(
        !e.message.contains("wrong"),
        "the token never appears: {}",
        e.message
    );
    assert!(!format!("{c:?}").contains("wrong"));

    let r = common::raw()
        .get(format!("{}/api/v4/leads", emu.base_url))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 401);

    // An OAuth refresh swaps the token in place.
    c.set_token("test");
    assert!(c
        .leads_page(&LeadsQuery::default())
        .await
        .unwrap()
        .items
        .is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn over_seven_per_second_is_429_rate_limited_with_a_one_second_wait() {
    let emu = common::emulator(EmulatorConfig::default()).await;
    // A client that does not limit itself: the emulator must.
    let c = common::client(&emu.base_url, "test");
    let mut limited = None;
    for _ in 0..12 {
        if let Err(e) = c.leads_page(&LeadsQuery::default()).await {
            limited = Some(e);
            break;
        }
    }
    let e = limited.expect("the 8th request within a second is refused");
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
    assert_eq!(emu.handle.counters().get("GET /api/v4/leads").served, 7);
    emu.shutdown().await;
}

#[tokio::test]
async fn default_client_limits_stay_inside_seven_per_second() {
    let emu = common::emulator(EmulatorConfig::default()).await;
    let c = AmoClient::new(
        &emu.base_url,
        "test",
        dealbridge_amocrm::DEFAULT_LIMITS,
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(2),
        },
    )
    .unwrap();
    let start = Instant::now();
    for _ in 0..15 {
        c.leads_page(&LeadsQuery::default())
            .await
            .expect("never throttled");
    }
    let took = start.elapsed();
    // 15 requests at 7/s: the 15th may go at 14/7 s = 2 s; the margin adds ~28 ms.
    assert!(took >= Duration::from_millis(2000), "{took:?}");
    assert!(took < Duration::from_millis(2000 * 115 / 100), "{took:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_map_to_kinds() {
    let (emu, c) = common::setup().await;
    let faults = emu.handle.faults();
    let cases = [
        (
            FaultConfig {
                error_rate: 1.0,
                ..Default::default()
            },
            ErrorKind::Transient,
        ),
        (
            FaultConfig {
                throttle_rate: 1.0,
                ..Default::default()
            },
            ErrorKind::RateLimited,
        ),
        (
            FaultConfig {
                drop_rate: 1.0,
                ..Default::default()
            },
            ErrorKind::Transient,
        ),
        (
            FaultConfig {
                timeout_rate: 1.0,
                hang: Duration::from_millis(3000),
                ..Default::default()
            },
            ErrorKind::Transient,
        ),
    ];
    for (config, kind) in cases {
        faults.set(config.clone());
        let e = c.leads_page(&LeadsQuery::default()).await.unwrap_err();
        assert_eq!(e.kind, kind, "{config:?}: {}", e.message);
        assert!(e.should_retry());
    }
    faults.set(FaultConfig::default());
    assert!(c.leads_page(&LeadsQuery::default()).await.is_ok());
    emu.shutdown().await;
}

#[tokio::test]
async fn drop_after_write_then_find_deal_finds_the_lead() {
    let (emu, c) = common::setup().await;
    let d = common::deals(&c);
    let origin = ExternalRef {
        system: "shop".into(),
        id: "77".into(),
    };
    // Resolves the field codes before faults start.
    assert_eq!(d.find_deal(&origin).await.unwrap(), None);
    let deal = dealbridge_sdk::model::Deal {
        title: "Order #77".into(),
        stage: common::FIRST_CONTACT.to_string(),
        pipeline: None,
        currency: Currency::new("RUB").unwrap(),
        amount: dec!(99.99),
        contact: None,
        lines: Vec::new(),
        origin: origin.clone(),
        source_channel: None,
        comments: None,
    };
    emu.handle.faults().set(FaultConfig {
        drop_after_write_rate: 1.0,
        ..Default::default()
    });
    let e = d.create_deal(&deal, None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient);
    assert_eq!(emu.handle.lead_count(), 1, "the write landed");
    emu.handle.faults().set(FaultConfig::default());
    let found = d
        .find_deal(&origin)
        .await
        .unwrap()
        .expect("found by origin");
    assert_eq!(emu.handle.leads()[0]["id"].to_string(), found);
    assert_eq!(emu.handle.leads()[0]["price"], 100);
    emu.shutdown().await;
}
