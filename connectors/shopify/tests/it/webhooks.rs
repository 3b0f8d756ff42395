//! Webhooks from the emulator to a small axum receiver over loopback, verified with
//! [`verify`]; retries keep the webhook id.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use dealbridge_sdk::http::Timeouts;
use dealbridge_shopify::emulator::{spawn, EmulatorConfig};
use dealbridge_shopify::webhook::{verify, WebhookError};
use dealbridge_shopify::ShopifyClient;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "shpss_webhook_secret";

/// One received request: headers and raw body.
type Received = (Vec<(String, String)>, Vec<u8>);

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Answer 500 to this many requests before accepting.
    fail_first: Arc<AtomicU32>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let pairs = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    r.got.lock().unwrap().push((pairs, body.to_vec()));
    let left = r.fail_first.load(Ordering::SeqCst);
    if left > 0 {
        r.fail_first.store(left - 1, Ordering::SeqCst);
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let app = Router::new()
        .route("/webhooks/shopify", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/shopify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

async fn wait_for(r: &Receiver, n: usize) {
    for _ in 0..100 {
        if r.got.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "expected {n} deliveries, got {}",
        r.got.lock().unwrap().len()
    );
}

fn config(url: String) -> EmulatorConfig {
    EmulatorConfig {
        webhook_url: Some(url),
        webhook_secret: SECRET.into(),
        webhook_retry_delay: Duration::from_millis(50),
        ..EmulatorConfig::default()
    }
}

#[tokio::test]
async fn order_create_and_update_arrive_signed() {
    let (r, url) = receiver().await;
    let emu = spawn(config(url), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = ShopifyClient::new(&emu.base_url, "shpat_test", Timeouts::default()).unwrap();
    let order = client
        .create_order(
            &serde_json::json!({"line_items": [{"variant_id": 808950820u64, "quantity": 1}]}),
        )
        .await
        .unwrap();
    wait_for(&r, 1).await;
    client.set_order_note(order.id, "gift").await.unwrap();
    wait_for(&r, 2).await;

    let got = r.got.lock().unwrap().clone();
    let first = verify(&got[0].0, &got[0].1, SECRET).unwrap();
    assert_eq!(first.topic, "orders/create");
    assert_eq!(
        first.shop_domain.as_deref(),
        Some("dealbridge-test.myshopify.com")
    );
    assert_eq!(
        first.api_version.as_deref(),
        Some(dealbridge_shopify::API_VERSION)
    );
    assert!(first.triggered_at.is_some());
    assert_eq!(first.order.as_ref().unwrap().id, order.id);
    assert_eq!(first.order.as_ref().unwrap().total_price, order.total_price);
    let second = verify(&got[1].0, &got[1].1, SECRET).unwrap();
    assert_eq!(second.topic, "orders/updated");
    assert_eq!(second.order.unwrap().note.as_deref(), Some("gift"));
    assert_ne!(first.webhook_id, second.webhook_id);

    // Tampered body, wrong secret, missing signature: all rejected.
    let mut tampered = got[0].1.clone();
    tampered[10] ^= 1;
    assert_eq!(
        verify(&got[0].0, &tampered, SECRET),
        Err(WebhookError::SignatureMismatch)
    );
    assert_eq!(
        verify(&got[0].0, &got[0].1, "other"),
        Err(WebhookError::SignatureMismatch)
    );
    let unsigned: Vec<(String, String)> = got[0]
        .0
        .iter()
        .filter(|(k, _)| k != "x-shopify-hmac-sha256")
        .cloned()
        .collect();
    assert_eq!(
        verify(&unsigned, &got[0].1, SECRET),
        Err(WebhookError::MissingHeader("X-Shopify-Hmac-Sha256"))
    );
}

#[tokio::test]
async fn retries_keep_the_webhook_id() {
    let (r, url) = receiver().await;
    r.fail_first.store(2, Ordering::SeqCst);
    let emu = spawn(config(url), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = ShopifyClient::new(&emu.base_url, "shpat_test", Timeouts::default()).unwrap();
    let order = client
        .create_order(&serde_json::json!({"line_items": [{"title": "Custom", "price": "9.99", "quantity": 1}]}))
        .await
        .unwrap();
    wait_for(&r, 3).await;
    let got = r.got.lock().unwrap().clone();
    let ids: Vec<String> = got
        .iter()
        .map(|(h, b)| verify(h, b, SECRET).unwrap().webhook_id.unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert!(
        got.iter().all(|(_, b)| *b == got[0].1),
        "same payload on retries"
    );
    let log = emu.handle.deliveries();
    let statuses: Vec<(u32, Option<u16>)> = log.iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(
        statuses,
        vec![(1, Some(500)), (2, Some(500)), (3, Some(200))]
    );
    assert!(log
        .iter()
        .all(|d| d.resource_id == order.id && d.webhook_id == ids[0]));
}

#[tokio::test]
async fn retries_are_bounded_and_webhooks_can_be_switched_off() {
    let (r, url) = receiver().await;
    r.fail_first.store(100, Ordering::SeqCst);
    let emu = spawn(config(url), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = ShopifyClient::new(&emu.base_url, "shpat_test", Timeouts::default()).unwrap();
    client
        .create_order(
            &serde_json::json!({"line_items": [{"title": "X", "price": "1.00", "quantity": 1}]}),
        )
        .await
        .unwrap();
    wait_for(&r, 4).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        r.got.lock().unwrap().len(),
        4,
        "1 attempt + 3 retries, no more"
    );

    emu.handle.set_webhook_url(None);
    client
        .create_order(
            &serde_json::json!({"line_items": [{"title": "Y", "price": "1.00", "quantity": 1}]}),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.got.lock().unwrap().len(), 4);
}
