//! Wrong credentials, the leaky bucket, and every injected fault, seen through the client.

use crate::common;

use dealbridge_bitrix24::emulator::{BucketLimits, EmulatorConfig};
use dealbridge_sdk::error::ErrorKind;
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::model::ExternalRef;
use dealbridge_sdk::traits::CrmDeals;
use serde_json::{json, Value};
use std::time::Duration;

#[tokio::test]
async fn wrong_token_or_user_is_an_auth_error() {
    let (emu, _) = common::setup().await;
    for url in [
        emu.webhook_url.replace("/test/", "/wrong/"),
        emu.webhook_url.replace("/rest/1/", "/rest/2/"),
    ] {
        let c = common::client(&url).with_config_name("crm");
        let e = c.call("crm.deal.list", json!({})).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Auth);
        assert!(
            e.message.contains("check systems.crm.webhook_url"),
            "{}",
            e.message
        );
        assert!(
            !e.message.contains("wrong"),
            "the token never appears: {}",
            e.message
        );
    }
    let raw = common::raw()
        .get(emu.webhook_url.replace("/test/", "/bad/") + "crm.deal.list")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"})
    );
    assert!(!format!("{:?}", common::client(&emu.webhook_url)).contains("/test/"));
    emu.shutdown().await;
}

#[tokio::test]
async fn bucket_overflow_answers_503_and_the_client_sees_rate_limited() {
    let emu = common::emulator(EmulatorConfig {
        limits: BucketLimits {
            capacity: 5,
            drain_per_second: 2.0,
        },
        ..EmulatorConfig::default()
    })
    .await;
    let http = common::raw();
    let url = format!("{}crm.deal.list", emu.webhook_url);
    let sends = (0..10).map(|_| http.post(&url).json(&json!({})).send());
    let answers = futures_join(sends).await;
    let mut limited = 0;
    for a in answers {
        let a = a.unwrap();
        if a.status() == 503 {
            let body: Value = a.json().await.unwrap();
            assert_eq!(
                body,
                json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"})
            );
            limited += 1;
        } else {
            assert_eq!(a.status(), 200);
        }
    }
    assert!(limited >= 4, "only {limited} of 10 throttled");
    let c = common::client(&emu.webhook_url);
    let e = c.call("crm.deal.list", json!({})).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert!(e.retry_after.is_some());
    // The bucket drains: after a moment requests pass again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(c.call("crm.deal.list", json!({})).await.is_ok());
    // Raising the limits takes effect at once.
    emu.handle.set_limits(BucketLimits::enterprise());
    for _ in 0..20 {
        c.call("crm.deal.list", json!({})).await.unwrap();
    }
    emu.shutdown().await;
}

/// Runs the futures concurrently (no extra crate for `join_all`).
async fn futures_join<F, T>(futs: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn faults_map_to_error_kinds() {
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
                hang: Duration::from_secs(5),
                ..Default::default()
            },
            ErrorKind::Transient,
        ),
    ];
    for (config, kind) in cases {
        faults.set(config.clone());
        let e = c.call("crm.deal.list", json!({})).await.unwrap_err();
        assert_eq!(e.kind, kind, "{config:?}: {e}");
        assert!(!e.message.contains("/test/"), "no token in {}", e.message);
    }
    faults.set(FaultConfig {
        error_rate: 1.0,
        ..Default::default()
    });
    let raw = common::raw()
        .get(format!("{}crm.deal.list", emu.webhook_url))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 500);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"})
    );
    // Latency is added to every answer.
    faults.set(FaultConfig {
        latency: Duration::from_millis(300),
        ..Default::default()
    });
    let t = std::time::Instant::now();
    c.call("crm.deal.list", json!({})).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    faults.set(FaultConfig::default());
    assert!(emu.handle.counters().get("crm.deal.list").calls >= 6);
    emu.shutdown().await;
}

#[tokio::test]
async fn drop_after_write_commits_and_find_deal_recovers() {
    let (emu, c) = common::setup().await;
    emu.handle.faults().set(FaultConfig {
        drop_after_write_rate: 1.0,
        ..Default::default()
    });
    let e = c
        .call(
            "crm.deal.add",
            json!({"fields": {"TITLE": "Order #9", "ORIGINATOR_ID": "shop", "ORIGIN_ID": "9"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    emu.handle.faults().set(FaultConfig::default());
    assert_eq!(
        emu.handle.deal_count(),
        1,
        "the write landed although the client saw an error"
    );
    let found = c
        .find_deal(&ExternalRef {
            system: "shop".into(),
            id: "9".into(),
        })
        .await
        .unwrap();
    assert_eq!(found.as_deref(), Some("1"));
    let none = c
        .find_deal(&ExternalRef {
            system: "shop".into(),
            id: "10".into(),
        })
        .await
        .unwrap();
    assert_eq!(none, None);
    emu.shutdown().await;
}

#[tokio::test]
async fn non_json_answers_are_protocol_errors() {
    // A plain HTTP server that answers HTML, as a misconfigured proxy would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = s.read(&mut buf).await;
        let body = "<html>Bad gateway</html>";
        let resp = format!("HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        s.write_all(resp.as_bytes()).await.unwrap();
    });
    let c = common::client(&format!("http://{addr}/rest/1/secret/"));
    let e = c.call("crm.deal.list", json!({})).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Protocol);
    assert!(!e.message.contains("secret"));
    server.await.unwrap();
}
