//! Signed webhook deliveries, sent the way Shopify sends them: the resource JSON as the body,
//! `X-Shopify-Hmac-Sha256` over it, and the same `X-Shopify-Webhook-Id` on every retry. A
//! non-2xx answer or a failed connection is retried a bounded number of times with doubling
//! delays (Shopify: 8 times over 4 hours; here a few times within a second, configurable).

use crate::webhook::sign;
use chrono::{SecondsFormat, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One attempt to deliver, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The webhook id (same on retries).
    pub webhook_id: String,
    /// Topic.
    pub topic: String,
    /// The resource (order) id.
    pub resource_id: u64,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver's status, or `None` when no answer came.
    pub status: Option<u16>,
}

/// Where and how deliveries go.
#[derive(Debug, Clone)]
pub(crate) struct WebhookSender {
    pub(crate) url: Arc<Mutex<Option<String>>>,
    pub(crate) secret: String,
    pub(crate) shop: String,
    pub(crate) api_version: String,
    pub(crate) retries: u32,
    pub(crate) retry_delay: Duration,
    pub(crate) log: Arc<Mutex<Vec<DeliveryRecord>>>,
    pub(crate) http: reqwest::Client,
}

impl WebhookSender {
    /// Sends `body` under `topic` in the background, if a URL is configured.
    pub(crate) fn send(&self, topic: &str, resource_id: u64, body: Vec<u8>) {
        let Some(url) = self.url.lock().expect("webhook url lock").clone() else {
            return;
        };
        let me = self.clone();
        let topic = topic.to_string();
        tokio::spawn(async move { me.deliver(url, topic, resource_id, body).await });
    }

    async fn deliver(self, url: String, topic: String, resource_id: u64, body: Vec<u8>) {
        let webhook_id = uuid::Uuid::new_v4().to_string();
        let event_id = uuid::Uuid::new_v4().to_string();
        let triggered_at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
        let hmac = sign(&body, &self.secret);
        let mut delay = self.retry_delay;
        for attempt in 1..=self.retries + 1 {
            let result = self
                .http
                .post(&url)
                .header("Content-Type", "application/json")
                .header("X-Shopify-Topic", &topic)
                .header("X-Shopify-Hmac-Sha256", &hmac)
                .header("X-Shopify-Shop-Domain", &self.shop)
                .header("X-Shopify-API-Version", &self.api_version)
                .header("X-Shopify-Webhook-Id", &webhook_id)
                .header("X-Shopify-Event-Id", &event_id)
                .header("X-Shopify-Triggered-At", &triggered_at)
                .body(body.clone())
                .send()
                .await;
            let status = result.as_ref().ok().map(|r| r.status().as_u16());
            self.log
                .lock()
                .expect("delivery log lock")
                .push(DeliveryRecord {
                    webhook_id: webhook_id.clone(),
                    topic: topic.clone(),
                    resource_id,
                    attempt,
                    status,
                });
            if status.is_some_and(|s| (200..300).contains(&s)) {
                return;
            }
            if attempt <= self.retries {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        tracing::warn!(%topic, %webhook_id, "shopify emulator: webhook not accepted after all retries");
    }
}
