//! Emulator webhook deliveries over real loopback HTTP into a small axum receiver, checked with
//! the crate's own `webhook::verify`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use dealbridge_woocommerce::emulator::{
    spawn, EmulatorConfig, RunningEmulator, WebhookStatus, API_ROOT,
};
use dealbridge_woocommerce::webhook::{verify, DeliveryKind, WooDelivery};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "whsec-test";

/// What the receiver saw, and the status it answers with.
#[derive(Clone, Default)]
struct Inbox {
    got: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    answer: Arc<AtomicU16>,
}

impl Inbox {
    fn all(&self) -> Vec<(HeaderMap, Bytes)> {
        self.got.lock().unwrap().clone()
    }

    /// Every received delivery of `topic`, verified.
    fn verified(&self, topic: &str) -> Vec<(WooDelivery, Bytes)> {
        self.all()
            .into_iter()
            .filter(|(h, _)| {
                h.get("x-wc-webhook-topic")
                    .is_some_and(|t| t.to_str().unwrap() == topic)
            })
            .map(|(h, b)| (verify(&h, &b, SECRET).expect("signature verifies"), b))
            .collect()
    }
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inbox.got.lock().unwrap().push((headers, body));
    StatusCode::from_u16(inbox.answer.load(Ordering::SeqCst)).unwrap()
}

/// A receiver on a free loopback port; returns its URL.
async fn receiver(inbox: Inbox) -> String {
    inbox.answer.store(200, Ordering::SeqCst);
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(inbox);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/hook")
}

async fn emulator(url: &str, delay_ms: u64) -> RunningEmulator {
    spawn(
        EmulatorConfig {
            webhook_url: Some(url.to_string()),
            webhook_secret: SECRET.to_string(),
            webhook_delay: Duration::from_millis(delay_ms),
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap()
}

async fn rest(emu: &RunningEmulator, method: reqwest::Method, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .request(method, format!("{}{API_ROOT}{path}", emu.base_url))
        .basic_auth("ck_test", Some("cs_test"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

fn order_body() -> Value {
    json!({
        "billing": {"first_name": "Анна", "email": "anna@example.org"},
        "line_items": [{"product_id": 12, "quantity": 2}],
        "shipping_lines": [{"method_id": "flat_rate", "method_title": "Курьер", "total": "350.00"}]
    })
}

/// Polls until `cond` holds, for at most 5 s.
async fn wait_for(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..250 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn created_delivery_verifies_and_is_the_rest_order() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let emu = emulator(&url, 50).await;
    let created = rest(&emu, reqwest::Method::POST, "/orders", order_body()).await;
    let id = created["id"].as_u64().unwrap();

    wait_for("order.created", || {
        !inbox.verified("order.created").is_empty()
    })
    .await;
    let (d, raw) = inbox.verified("order.created").remove(0);
    assert_eq!(d.kind, DeliveryKind::Event);
    assert_eq!(
        (d.resource.as_str(), d.event.as_str()),
        ("order", "created")
    );
    assert_eq!(d.order_id, Some(id));
    assert_eq!(d.webhook_id, Some(1));
    assert_eq!(
        d.source.as_deref(),
        Some(format!("{}/", emu.base_url).as_str())
    );
    let delivery_id = d.delivery_id.clone().unwrap();
    assert_eq!(delivery_id.len(), 32);
    assert_eq!(d.order.as_ref().unwrap().id, id);

    // Exactly the REST representation, written as PHP writes JSON.
    let now = rest(
        &emu,
        reqwest::Method::GET,
        &format!("/orders/{id}"),
        json!({}),
    )
    .await;
    assert_eq!(serde_json::from_slice::<Value>(&raw).unwrap(), now);
    let text = std::str::from_utf8(&raw).unwrap();
    assert!(text.is_ascii(), "non-ASCII is \\u-escaped");
    assert!(
        text.contains(r#"http:\/\/127.0.0.1"#),
        "slashes escaped: {text}"
    );
    assert!(!text.contains('\n'));

    let (headers, _) = inbox.all().remove(0);
    let ua = headers["user-agent"].to_str().unwrap();
    assert!(ua.starts_with("WooCommerce/") && ua.contains("Hookshot (WordPress/"));
    assert_eq!(headers["content-type"], "application/json");

    let log = emu.handle.deliveries();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].topic, "order.created");
    assert_eq!(log[0].order_id, id);
    assert_eq!(log[0].status, Some(200));
    assert_eq!(log[0].delivery_id, delivery_id);

    // A duplicate is the same bytes, so the same dedupe key.
    let again = emu.handle.redeliver(&delivery_id).await.unwrap();
    assert!(again.redelivery);
    assert_eq!(again.status, Some(200));
    let both = inbox.verified("order.created");
    assert_eq!(both.len(), 2);
    assert_eq!(both[0].0.dedupe_key, both[1].0.dedupe_key);
    assert_eq!(both[0].1, both[1].1);
    assert!(emu.handle.redeliver("no-such-delivery").await.is_none());
}

#[tokio::test]
async fn update_delivers_latest_state_and_rapid_updates_coalesce() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let emu = emulator(&url, 300).await;
    let created = rest(&emu, reqwest::Method::POST, "/orders", order_body()).await;
    let id = created["id"].as_u64().unwrap();
    wait_for("order.created", || {
        !inbox.verified("order.created").is_empty()
    })
    .await;

    emu.handle.advance_clock(Duration::from_secs(5));
    let path = format!("/orders/{id}");
    rest(
        &emu,
        reqwest::Method::PUT,
        &path,
        json!({"status": "processing"}),
    )
    .await;
    let last = rest(
        &emu,
        reqwest::Method::PUT,
        &path,
        json!({"status": "completed"}),
    )
    .await;

    wait_for("order.updated", || {
        !inbox.verified("order.updated").is_empty()
    })
    .await;
    // Let a second delivery arrive if the emulator wrongly made one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let updates = inbox.verified("order.updated");
    assert_eq!(
        updates.len(),
        1,
        "two updates within the window are one delivery"
    );
    let order = updates[0].0.order.clone().unwrap();
    assert_eq!(
        order.status, "completed",
        "built at delivery time: latest state"
    );
    assert!(order.date_modified_gmt > created_gmt(&created));
    assert_eq!(
        serde_json::from_slice::<Value>(&updates[0].1).unwrap()["date_modified_gmt"],
        last["date_modified_gmt"]
    );
}

fn created_gmt(order: &Value) -> chrono::NaiveDateTime {
    order["date_modified_gmt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn delete_batch_and_seed_deliver() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let emu = emulator(&url, 20).await;
    let ids = emu.handle.seed_orders(2, 7);
    // Let the seed's jobs run first: a created job for an order deleted before it runs is
    // skipped (see the emulator's docs).
    wait_for("2 created", || inbox.verified("order.created").len() == 2).await;
    let batch = rest(
        &emu,
        reqwest::Method::POST,
        "/orders/batch",
        json!({"create": [order_body()], "delete": [ids[0]]}),
    )
    .await;
    let batch_id = batch["create"][0]["id"].as_u64().unwrap();
    wait_for("3 created + 1 deleted", || {
        inbox.verified("order.created").len() == 3 && inbox.verified("order.deleted").len() == 1
    })
    .await;
    let mut created: Vec<u64> = inbox
        .verified("order.created")
        .iter()
        .filter_map(|(d, _)| d.order_id)
        .collect();
    created.sort();
    assert_eq!(created, vec![ids[0], ids[1], batch_id]);
    let (deleted, raw) = inbox.verified("order.deleted").remove(0);
    assert_eq!(deleted.order_id, Some(ids[0]));
    assert!(deleted.order.is_none());
    assert_eq!(
        serde_json::from_slice::<Value>(&raw).unwrap(),
        json!({"id": ids[0]})
    );

    // Trashing (DELETE without force) is an order.deleted too.
    rest(
        &emu,
        reqwest::Method::DELETE,
        &format!("/orders/{}", ids[1]),
        json!({}),
    )
    .await;
    wait_for("trash → order.deleted", || {
        inbox.verified("order.deleted").len() == 2
    })
    .await;
}

#[tokio::test]
async fn six_failures_disable_the_webhook() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    inbox.answer.store(500, Ordering::SeqCst);
    let emu = emulator(&url, 10).await;
    emu.handle.seed_orders(8, 1);
    wait_for("webhook disabled", || emu.handle.webhooks_disabled()).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let created = emu
        .handle
        .webhooks()
        .into_iter()
        .find(|w| w.topic == "order.created")
        .unwrap();
    assert_eq!(created.status, WebhookStatus::Disabled);
    assert_eq!(created.failure_count, 6);
    let log = emu.handle.deliveries();
    assert_eq!(log.len(), 6, "no retries, and nothing after disabling");
    assert!(log.iter().all(|r| r.status == Some(500)));
    assert_eq!(inbox.all().len(), 6);

    // Disabled stays disabled; re-enabling (as an operator would) delivers again.
    emu.handle.seed_orders(1, 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(inbox.all().len(), 6);
    inbox.answer.store(200, Ordering::SeqCst);
    emu.handle
        .set_webhooks(Some((url.clone(), SECRET.to_string())));
    assert!(!emu.handle.webhooks_disabled());
    let ids = emu.handle.seed_orders(1, 3);
    wait_for("delivery after re-enable", || {
        emu.handle
            .deliveries()
            .iter()
            .any(|r| r.order_id == ids[0] && r.status == Some(200))
    })
    .await;
}

#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    inbox.answer.store(503, Ordering::SeqCst);
    let emu = emulator(&url, 10).await;
    emu.handle.seed_orders(5, 1);
    wait_for("5 failures", || emu.handle.deliveries().len() == 5).await;
    inbox.answer.store(200, Ordering::SeqCst);
    emu.handle.seed_orders(1, 2);
    wait_for("a success", || emu.handle.deliveries().len() == 6).await;
    let w = &emu.handle.webhooks()[0];
    assert_eq!((w.status, w.failure_count), (WebhookStatus::Active, 0));
}

#[tokio::test]
async fn paused_webhooks_deliver_nothing() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let emu = emulator(&url, 10).await;
    emu.handle.set_webhooks(None);
    assert!(emu
        .handle
        .webhooks()
        .iter()
        .all(|w| w.status == WebhookStatus::Paused));
    emu.handle.seed_orders(3, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(inbox.all().is_empty());
    assert!(emu.handle.deliveries().is_empty());
    assert!(emu.handle.ping_webhooks().await.is_empty());
}

#[tokio::test]
async fn ping_is_an_unsigned_form_body() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let emu = emulator(&url, 10).await;
    let answered = emu.handle.ping_webhooks().await;
    assert_eq!(
        answered,
        vec![(1, Some(200)), (2, Some(200)), (3, Some(200))]
    );
    let got = inbox.all();
    assert_eq!(got.len(), 3);
    let (headers, body) = &got[0];
    assert_eq!(&body[..], b"webhook_id=1");
    assert!(headers.get("x-wc-webhook-signature").is_none());
    let d = verify(headers, body, SECRET).unwrap();
    assert_eq!(d.kind, DeliveryKind::Ping { webhook_id: 1 });
    // Pings are not deliveries: the log and the failure counts are untouched.
    assert!(emu.handle.deliveries().is_empty());
}

#[tokio::test]
async fn wrong_secret_and_tampering_are_rejected_on_real_deliveries() {
    let inbox = Inbox::default();
    let url = receiver(inbox.clone()).await;
    let emu = emulator(&url, 10).await;
    emu.handle.seed_orders(1, 1);
    wait_for("a delivery", || !inbox.all().is_empty()).await;
    let (headers, body) = inbox.all().remove(0);
    assert!(verify(&headers, &body, "not-the-secret").is_err());
    // Re-serialising the body (unescaping `\/`) breaks the signature: verify the raw bytes.
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<Value>(&body).unwrap()).unwrap();
    assert!(verify(&headers, &reserialised, SECRET).is_err());
    let mut tampered = body.to_vec();
    let pos = tampered.iter().position(|b| *b == b'0').unwrap();
    tampered[pos] = b'1';
    assert!(verify(&headers, &tampered, SECRET).is_err());
}
