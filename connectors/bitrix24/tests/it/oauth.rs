//! OAuth-app auth: `auth=<access_token>`, `expired_token` → one refresh → the call repeated.

use crate::common;

use dealbridge_bitrix24::{Bitrix24Client, ClientLimits, OAuthConfig, OAuthTokens};
use dealbridge_sdk::error::ErrorKind;
use dealbridge_sdk::http::Timeouts;
use serde_json::json;
use std::sync::{Arc, Mutex};

fn oauth_client(
    emu: &dealbridge_bitrix24::emulator::RunningEmulator,
    refresh: &str,
) -> Bitrix24Client {
    Bitrix24Client::new_oauth(
        &format!("http://{}", emu.addr),
        OAuthConfig {
            client_id: "app.1".into(),
            client_secret: "s3cret".into(),
            token_url: format!("http://{}/oauth/token/", emu.addr),
        },
        OAuthTokens {
            access_token: "access-0".into(),
            refresh_token: refresh.into(),
        },
        ClientLimits::rate(200, 200),
        Timeouts::default(),
    )
    .unwrap()
}

#[tokio::test]
async fn expired_token_is_refreshed_once_and_the_call_repeated() {
    let (emu, _) = common::setup().await;
    emu.handle
        .enable_oauth("app.1", "s3cret", "access-0", "refresh-0");
    let seen: Arc<Mutex<Vec<OAuthTokens>>> = Arc::default();
    let sink = seen.clone();
    let c = oauth_client(&emu, "refresh-0").with_token_store(Arc::new(move |t: &OAuthTokens| {
        sink.lock().unwrap().push(t.clone());
    }));
    let r = c
        .call("crm.deal.add", json!({"fields": {"TITLE": "A"}}))
        .await
        .unwrap();
    assert_eq!(r.result, json!(1));

    emu.handle.expire_access_token();
    let before = emu.handle.http_requests();
    let got = c.call("crm.deal.get", json!({"id": 1})).await.unwrap();
    assert_eq!(got.result["TITLE"], "A");
    // The refused call and its repeat; the refresh goes to the token endpoint.
    assert_eq!(emu.handle.http_requests() - before, 2);
    let now = c.oauth_tokens().unwrap();
    assert_eq!(
        Some((now.access_token.clone(), now.refresh_token.clone())),
        emu.handle.oauth_tokens()
    );
    assert_eq!(seen.lock().unwrap().as_slice(), &[now]);
    // Batches use the same auth.
    let b = c
        .batch(false, &[("d", "crm.deal.get", json!({"id": 1}))])
        .await
        .unwrap();
    assert_eq!(b.get("d").unwrap()["ID"], "1");
    emu.shutdown().await;
}

#[tokio::test]
async fn a_spent_refresh_token_is_an_auth_error_naming_the_fix() {
    let (emu, _) = common::setup().await;
    emu.handle
        .enable_oauth("app.1", "s3cret", "access-0", "refresh-0");
    let c = oauth_client(&emu, "refresh-old").with_config_name("crm");
    emu.handle.expire_access_token();
    let e = c.call("crm.deal.list", json!({})).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(e.message.contains("invalid_grant"), "{}", e.message);
    assert!(
        e.message.contains("systems.crm.refresh_token"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("s3cret"));
    // A token that was never issued is refused without a refresh.
    let raw = common::raw()
        .post(format!(
            "http://{}/rest/crm.deal.list.json?auth=forged",
            emu.addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);
    emu.shutdown().await;
}
