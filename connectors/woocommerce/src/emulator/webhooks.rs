//! Webhook delivery as WooCommerce does it: one webhook per order topic, delivered
//! asynchronously by a background worker (WooCommerce's Action Scheduler job), body built at
//! delivery time from the order's *current* state, signed over the exact bytes sent, no
//! retries, and a webhook disabled after more than 5 consecutive failures.
//!
//! Quirks kept on purpose: a change to an order that already has a delivery waiting for the
//! same topic is coalesced into it (WooCommerce schedules one job per webhook and resource per
//! window); the delivery id is `hash(webhook id . unix seconds)` as WooCommerce's
//! `wp_hash($id . strtotime('now'))`, so two deliveries of one webhook in the same second share
//! it. Simplification: a created/updated delivery whose order no longer exists when the job
//! runs is skipped.

use super::routes::order_json;
use super::state::{OrderTopic, SharedStore, Store};
use crate::webhook::{php_json, sign};
use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

/// WooCommerce and WordPress versions named in the `User-Agent`.
const USER_AGENT: &str = "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)";

/// `woocommerce_max_webhook_delivery_failures`: a webhook is disabled when its consecutive
/// failure count goes *above* this.
pub const MAX_FAILURES: u32 = 5;

/// The order topics the emulated shop has webhooks for, with their webhook ids.
const TOPICS: [(OrderTopic, u64); 3] = [
    (OrderTopic::Created, 1),
    (OrderTopic::Updated, 2),
    (OrderTopic::Deleted, 3),
];

/// A webhook's status, as WooCommerce names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookStatus {
    /// Delivering.
    Active,
    /// Switched off by the operator (no URL configured).
    Paused,
    /// Switched off by WooCommerce after more than [`MAX_FAILURES`] consecutive failures.
    Disabled,
}

/// One webhook of the emulated shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInfo {
    /// Webhook id (`X-WC-Webhook-ID`).
    pub id: u64,
    /// Topic, e.g. `order.created`.
    pub topic: String,
    /// Current status.
    pub status: WebhookStatus,
    /// Consecutive failed deliveries.
    pub failure_count: u32,
}

/// One delivery attempt, as the shop's webhook log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Topic, e.g. `order.updated`.
    pub topic: String,
    /// The order the delivery is about.
    pub order_id: u64,
    /// HTTP status answered; `None` when the request failed (refused, timed out).
    pub status: Option<u16>,
    /// `X-WC-Webhook-Delivery-ID` (not unique: see the module docs).
    pub delivery_id: String,
    /// `X-WC-Webhook-ID`.
    pub webhook_id: u64,
    /// True for a test's [`redeliver`](super::EmulatorHandle::redeliver) of a stored delivery.
    pub redelivery: bool,
}

/// A sent request, kept so a test can send it again byte for byte.
#[derive(Debug, Clone)]
struct Sent {
    record: DeliveryRecord,
    url: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

/// Webhook configuration and log, shared by the handle and the worker.
#[derive(Debug)]
pub(crate) struct Hooks {
    /// Delivery URL and secret; `None` pauses every webhook.
    target: Option<(String, String)>,
    webhooks: Vec<WebhookInfo>,
    log: Vec<Sent>,
    /// Home URL with a trailing `/` (`X-WC-Webhook-Source`).
    source: String,
}

/// Shared handle to [`Hooks`].
#[derive(Debug, Clone)]
pub(crate) struct SharedHooks(Arc<Mutex<Hooks>>);

impl SharedHooks {
    pub fn new(url: Option<String>, secret: String) -> Self {
        let status = if url.is_some() {
            WebhookStatus::Active
        } else {
            WebhookStatus::Paused
        };
        SharedHooks(Arc::new(Mutex::new(Hooks {
            target: url.map(|u| (u, secret)),
            webhooks: TOPICS
                .iter()
                .map(|(t, id)| WebhookInfo {
                    id: *id,
                    topic: t.as_str().to_string(),
                    status,
                    failure_count: 0,
                })
                .collect(),
            log: Vec::new(),
            source: "http://localhost/".to_string(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Hooks> {
        // Only whole-field assignments happen under this lock; a poisoned one is consistent.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the shop's home URL (known once the listener is bound).
    pub fn set_source(&self, base_url: &str) {
        self.lock().source = format!("{}/", base_url.trim_end_matches('/'));
    }

    /// `Some((url, secret))` (re)activates every webhook with a clean failure count, as an
    /// operator re-enabling them would; `None` pauses them.
    pub fn set_target(&self, target: Option<(String, String)>) {
        let mut h = self.lock();
        let status = if target.is_some() {
            WebhookStatus::Active
        } else {
            WebhookStatus::Paused
        };
        for w in &mut h.webhooks {
            w.status = status;
            w.failure_count = 0;
        }
        h.target = target;
    }

    pub fn webhooks(&self) -> Vec<WebhookInfo> {
        self.lock().webhooks.clone()
    }

    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.lock().log.iter().map(|s| s.record.clone()).collect()
    }

    /// The delivery target if the topic's webhook is active.
    fn active_target(&self, topic: OrderTopic) -> Option<(u64, String, String, String)> {
        let h = self.lock();
        let w = h.webhooks.iter().find(|w| w.topic == topic.as_str())?;
        if w.status != WebhookStatus::Active {
            return None;
        }
        let (url, secret) = h.target.clone()?;
        Some((w.id, url, secret, h.source.clone()))
    }

    /// WooCommerce's `log_delivery`: a success resets the count, a failure raises it and
    /// disables the webhook once it exceeds [`MAX_FAILURES`].
    fn record(&self, sent: Sent) {
        let mut h = self.lock();
        let ok = sent.record.status.is_some_and(|s| (200..=302).contains(&s));
        if let Some(w) = h
            .webhooks
            .iter_mut()
            .find(|w| w.id == sent.record.webhook_id)
        {
            if ok {
                w.failure_count = 0;
            } else {
                w.failure_count += 1;
                if w.failure_count > MAX_FAILURES {
                    w.status = WebhookStatus::Disabled;
                    tracing::warn!(webhook = w.id, topic = %w.topic,
                        "woocommerce emulator: webhook disabled after {} failed deliveries",
                        w.failure_count);
                }
            }
        }
        h.log.push(sent);
    }

    /// The most recent stored delivery with this delivery id.
    fn find(&self, delivery_id: &str) -> Option<Sent> {
        self.lock()
            .log
            .iter()
            .rev()
            .find(|s| s.record.delivery_id == delivery_id)
            .cloned()
    }

    fn log_redelivery(&self, sent: Sent) {
        self.lock().log.push(sent);
    }

    /// URL and the ids of every webhook, for pings.
    fn ping_targets(&self) -> Option<(String, Vec<u64>)> {
        let h = self.lock();
        let (url, _) = h.target.clone()?;
        Some((url, h.webhooks.iter().map(|w| w.id).collect()))
    }
}

/// The background delivery worker (one per emulator).
pub(crate) struct Worker {
    pub store: Weak<Mutex<Store>>,
    pub hooks: SharedHooks,
    pub delay: Duration,
    pub client: reqwest::Client,
}

impl Worker {
    /// Runs until the store is dropped. Changes wait `delay` (the Action Scheduler's
    /// latency); a change for an order and topic already waiting joins that job.
    pub async fn run(self, mut rx: UnboundedReceiver<(OrderTopic, u64)>) {
        let mut queue: VecDeque<(Instant, OrderTopic, u64)> = VecDeque::new();
        let mut waiting: HashSet<(OrderTopic, u64)> = HashSet::new();
        loop {
            let next_due = queue.front().map(|(due, _, _)| *due);
            tokio::select! {
                change = rx.recv() => {
                    let Some((topic, id)) = change else { return };
                    if self.hooks.active_target(topic).is_some() && waiting.insert((topic, id)) {
                        queue.push_back((Instant::now() + self.delay, topic, id));
                    }
                }
                _ = sleep_until(next_due), if next_due.is_some() => {
                    if let Some((_, topic, id)) = queue.pop_front() {
                        waiting.remove(&(topic, id));
                        if !self.deliver(topic, id).await {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Builds, signs and sends one delivery; false once the emulator is gone.
    async fn deliver(&self, topic: OrderTopic, order_id: u64) -> bool {
        let Some((webhook_id, url, secret, source)) = self.hooks.active_target(topic) else {
            return true;
        };
        let Some(store) = self.store.upgrade().map(SharedStoreRef) else {
            return false;
        };
        let (payload, unix) = {
            let mut s = store.lock();
            let unix = s.now().timestamp();
            let payload = match topic {
                OrderTopic::Deleted => Some(serde_json::json!({ "id": order_id })),
                _ => s
                    .orders
                    .get(&order_id)
                    .map(|st| order_json(&st.order, source.trim_end_matches('/'))),
            };
            (payload, unix)
        };
        drop(store);
        let Some(payload) = payload else {
            return true;
        };
        let body = php_json(&payload);
        let (resource, event) = topic.as_str().split_once('.').unwrap_or(("order", ""));
        let delivery_id = delivery_id(webhook_id, unix);
        let headers = vec![
            ("Content-Type", "application/json".to_string()),
            ("User-Agent", USER_AGENT.to_string()),
            ("X-WC-Webhook-Source", source),
            ("X-WC-Webhook-Topic", topic.as_str().to_string()),
            ("X-WC-Webhook-Resource", resource.to_string()),
            ("X-WC-Webhook-Event", event.to_string()),
            ("X-WC-Webhook-Signature", sign(&secret, &body)),
            ("X-WC-Webhook-ID", webhook_id.to_string()),
            ("X-WC-Webhook-Delivery-ID", delivery_id.clone()),
        ];
        let status = post(&self.client, &url, &headers, &body).await;
        self.hooks.record(Sent {
            record: DeliveryRecord {
                topic: topic.as_str().to_string(),
                order_id,
                status,
                delivery_id,
                webhook_id,
                redelivery: false,
            },
            url,
            headers,
            body,
        });
        true
    }
}

/// A strong store reference for the duration of one payload build.
struct SharedStoreRef(Arc<Mutex<Store>>);

impl SharedStoreRef {
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn sleep_until(due: Option<Instant>) {
    if let Some(due) = due {
        tokio::time::sleep_until(due).await;
    }
}

/// Sends one request; the status, or `None` when there was no answer. No redirects are
/// followed (the client is built so) and nothing is retried.
async fn post(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&'static str, String)],
    body: &[u8],
) -> Option<u16> {
    let mut req = client.post(url).body(body.to_vec());
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    match req.send().await {
        Ok(resp) => Some(resp.status().as_u16()),
        Err(e) => {
            tracing::debug!(error = %e, %url, "woocommerce emulator: webhook delivery failed");
            None
        }
    }
}

/// `wp_hash($webhook_id . time())`: 32 hex characters, equal for one webhook within a second.
fn delivery_id(webhook_id: u64, unix: i64) -> String {
    let digest = Sha256::digest(format!("dealbridge-emulator-salt{webhook_id}{unix}").as_bytes());
    hex::encode(&digest[..16])
}

/// Sends a stored delivery again, byte for byte (a duplicate, as a proxy or a manual
/// "resend" would produce). It does not touch the failure count.
pub(crate) async fn redeliver(
    hooks: &SharedHooks,
    client: &reqwest::Client,
    delivery_id: &str,
) -> Option<DeliveryRecord> {
    let mut sent = hooks.find(delivery_id)?;
    let status = post(client, &sent.url, &sent.headers, &sent.body).await;
    sent.record.status = status;
    sent.record.redelivery = true;
    let record = sent.record.clone();
    hooks.log_redelivery(sent);
    Some(record)
}

/// WooCommerce's `deliver_ping`: a form body `webhook_id=<id>`, no signature headers. One per
/// webhook; returns (webhook id, status). Failures do not count against the webhook.
pub(crate) async fn ping(hooks: &SharedHooks, client: &reqwest::Client) -> Vec<(u64, Option<u16>)> {
    let Some((url, ids)) = hooks.ping_targets() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for id in ids {
        let headers = [
            (
                "Content-Type",
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("User-Agent", USER_AGENT.to_string()),
        ];
        let status = post(
            client,
            &url,
            &headers,
            format!("webhook_id={id}").as_bytes(),
        )
        .await;
        out.push((id, status));
    }
    out
}

/// Builds the worker's HTTP client (WooCommerce's delivery timeout is 60 s; redirects are not
/// followed).
pub(crate) fn client() -> reqwest::Client {
    dealbridge_sdk::http::client(dealbridge_sdk::http::Timeouts {
        connect: Duration::from_secs(5),
        request: Duration::from_secs(60),
    })
    .unwrap_or_default()
}

/// Starts the worker on the current runtime, if there is one, and wires the store to it.
pub(crate) fn start(
    store: &SharedStore,
    hooks: &SharedHooks,
    delay: Duration,
    client: reqwest::Client,
) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("woocommerce emulator built outside a tokio runtime: no webhook delivery");
        return;
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    store.lock().changes = Some(tx);
    let worker = Worker {
        store: store.downgrade(),
        hooks: hooks.clone(),
        delay,
        client,
    };
    rt.spawn(worker.run(rx));
}
