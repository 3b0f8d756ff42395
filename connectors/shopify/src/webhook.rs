//! Verifying Shopify webhook deliveries.
//!
//! The signature is `base64(HMAC-SHA256(key = app client secret, message = raw body))` in
//! `X-Shopify-Hmac-Sha256`. It is checked over the *raw* bytes (re-serialised JSON would not
//! match), the header is base64-decoded, and the MAC is compared in constant time
//! (`Mac::verify_slice`). Header names are matched case-insensitively and both the classic
//! `X-Shopify-*` names and the newer `shopify-*` ones (Events / shopify-api-ruby 16.2) are
//! accepted. Nothing in the body is looked at before the signature checks out.

use crate::wire::ShopifyOrder;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, FixedOffset};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// A required header is absent.
    #[error("shopify webhook: header {0} is missing; the request is not a Shopify delivery or a proxy dropped it")]
    MissingHeader(&'static str),
    /// The signature header is not base64 of 32 bytes.
    #[error("shopify webhook: X-Shopify-Hmac-Sha256 is not a base64 SHA-256 MAC")]
    MalformedSignature,
    /// The signature does not match the body under the secret.
    #[error("shopify webhook: signature mismatch; the body was altered or the webhook secret (the app's client secret) is wrong")]
    SignatureMismatch,
    /// No secret configured.
    #[error("shopify webhook: no webhook secret configured; set the app's client secret")]
    NoSecret,
    /// Signed correctly, but the order body does not parse.
    #[error("shopify webhook: topic {topic}: the body is not a Shopify order ({reason})")]
    BadBody {
        /// The topic.
        topic: String,
        /// The parse error.
        reason: String,
    },
}

/// Read access to a delivery's headers, case-insensitively.
pub trait DeliveryHeaders {
    /// The first value of header `name` (any case), as text.
    fn header(&self, name: &str) -> Option<&str>;
}

impl DeliveryHeaders for [(String, String)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl DeliveryHeaders for Vec<(String, String)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl DeliveryHeaders for axum::http::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        // HeaderMap names are stored lower-case; `get` with a &str lower-cases nothing, so
        // normalise first.
        self.get(name.to_ascii_lowercase().as_str())?.to_str().ok()
    }
}

/// A verified delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopifyDelivery {
    /// `orders/create`, `orders/updated`, `products/update`, …
    pub topic: String,
    /// `my-shop.myshopify.com`.
    pub shop_domain: Option<String>,
    /// The dedupe key: the same on every retry of one delivery.
    pub webhook_id: Option<String>,
    /// The API version the body is rendered in.
    pub api_version: Option<String>,
    /// When Shopify triggered the delivery (`X-Shopify-Triggered-At`).
    pub triggered_at: Option<DateTime<FixedOffset>>,
    /// The event id (`X-Shopify-Event-Id`), shared by deliveries of one event to several
    /// subscriptions.
    pub event_id: Option<String>,
    /// The order, for `orders/*` topics other than `orders/delete` (whose body is just an id).
    pub order: Option<ShopifyOrder>,
}

/// Both header spellings, classic first.
fn get<'a, H: DeliveryHeaders + ?Sized>(h: &'a H, suffix: &str) -> Option<&'a str> {
    h.header(&format!("x-shopify-{suffix}"))
        .or_else(|| h.header(&format!("shopify-{suffix}")))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `base64(HMAC-SHA256(secret, body))`: what Shopify puts in `X-Shopify-Hmac-Sha256`.
pub fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks the signature of a delivery and reads its headers (and, for order topics, the order).
pub fn verify<H: DeliveryHeaders + ?Sized>(
    headers: &H,
    body: &[u8],
    secret: &str,
) -> Result<ShopifyDelivery, WebhookError> {
    if secret.is_empty() {
        return Err(WebhookError::NoSecret);
    }
    let given =
        get(headers, "hmac-sha256").ok_or(WebhookError::MissingHeader("X-Shopify-Hmac-Sha256"))?;
    let given = STANDARD
        .decode(given)
        .map_err(|_| WebhookError::MalformedSignature)?;
    if given.len() != 32 {
        return Err(WebhookError::MalformedSignature);
    }
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| WebhookError::SignatureMismatch)?;

    let topic = get(headers, "topic")
        .ok_or(WebhookError::MissingHeader("X-Shopify-Topic"))?
        .to_string();
    let order = if topic.starts_with("orders/") && topic != "orders/delete" {
        Some(
            serde_json::from_slice::<ShopifyOrder>(body).map_err(|e| WebhookError::BadBody {
                topic: topic.clone(),
                reason: e.to_string(),
            })?,
        )
    } else {
        None
    };
    Ok(ShopifyDelivery {
        topic,
        shop_domain: get(headers, "shop-domain").map(str::to_string),
        webhook_id: get(headers, "webhook-id").map(str::to_string),
        api_version: get(headers, "api-version").map(str::to_string),
        triggered_at: get(headers, "triggered-at")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok()),
        event_id: get(headers, "event-id").map(str::to_string),
        order,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The vector from shopify.dev and shopify-api-js' validate tests.
    const VECTOR: &str = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=";

    #[test]
    fn known_vector() {
        assert_eq!(sign(br#"{"foo": "bar"}"#, "test_secret_key"), VECTOR);
        let d = verify(
            &h(&[
                ("X-Shopify-Hmac-Sha256", VECTOR),
                ("x-shopify-topic", "products/update"),
                ("X-Shopify-Webhook-Id", "w-1"),
                ("X-Shopify-Triggered-At", "2026-11-25T10:00:00.123Z"),
            ]),
            br#"{"foo": "bar"}"#,
            "test_secret_key",
        )
        .unwrap();
        assert_eq!(d.topic, "products/update");
        assert_eq!(d.webhook_id.as_deref(), Some("w-1"));
        assert!(d.triggered_at.is_some());
        assert_eq!(d.order, None);
    }

    #[test]
    fn new_header_names_and_any_case() {
        let d = verify(
            &h(&[
                ("SHOPIFY-HMAC-SHA256", VECTOR),
                ("shopify-topic", "app/uninstalled"),
                ("Shopify-Shop-Domain", "a.myshopify.com"),
            ]),
            br#"{"foo": "bar"}"#,
            "test_secret_key",
        )
        .unwrap();
        assert_eq!(d.shop_domain.as_deref(), Some("a.myshopify.com"));
        let mut map = axum::http::HeaderMap::new();
        map.insert("x-shopify-hmac-sha256", VECTOR.parse().unwrap());
        map.insert("X-Shopify-Topic", "carts/update".parse().unwrap());
        assert_eq!(
            verify(&map, br#"{"foo": "bar"}"#, "test_secret_key")
                .unwrap()
                .topic,
            "carts/update"
        );
    }

    #[test]
    fn rejections() {
        let ok = h(&[
            ("X-Shopify-Hmac-Sha256", VECTOR),
            ("X-Shopify-Topic", "x/y"),
        ]);
        assert_eq!(
            verify(&ok, br#"{"foo": "baz"}"#, "test_secret_key"),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            verify(&ok, br#"{"foo": "bar"}"#, "wrong"),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            verify(
                &h(&[("X-Shopify-Topic", "x/y")]),
                br#"{"foo": "bar"}"#,
                "test_secret_key"
            ),
            Err(WebhookError::MissingHeader("X-Shopify-Hmac-Sha256"))
        );
        assert_eq!(
            verify(&h(&[("X-Shopify-Hmac-Sha256", "!!notbase64")]), b"{}", "k"),
            Err(WebhookError::MalformedSignature)
        );
        assert_eq!(
            verify(&ok, br#"{"foo": "bar"}"#, ""),
            Err(WebhookError::NoSecret)
        );
        // Signed but not an order under an order topic.
        let sig = sign(b"{\"id\":1}", "k");
        let e = verify(
            &h(&[
                ("X-Shopify-Hmac-Sha256", &sig),
                ("X-Shopify-Topic", "orders/create"),
            ]),
            b"{\"id\":1}",
            "k",
        )
        .unwrap_err();
        assert!(matches!(e, WebhookError::BadBody { .. }));
    }
}
