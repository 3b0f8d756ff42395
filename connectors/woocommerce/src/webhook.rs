//! WooCommerce webhook deliveries: signature check, ping recognition, and parsing of the
//! delivered order.
//!
//! WooCommerce signs a delivery as `base64(HMAC-SHA256(webhook secret, raw body))` in
//! `X-WC-Webhook-Signature` [WCCORE:class-wc-webhook.php generate_signature()]. The check runs
//! over the *raw* bytes: the body is PHP's `wp_json_encode` output (`\/`, `\uXXXX` escapes), so
//! re-serialising it before checking would break the signature. The creation ping
//! (`webhook_id=<id>` form body) is sent unsigned and must be answered 200.

use crate::wire::WooOrder;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Header carrying the signature.
pub const HEADER_SIGNATURE: &str = "x-wc-webhook-signature";
/// Header carrying the topic (`order.updated`).
pub const HEADER_TOPIC: &str = "x-wc-webhook-topic";
/// Header carrying the resource (`order`).
pub const HEADER_RESOURCE: &str = "x-wc-webhook-resource";
/// Header carrying the event (`updated`).
pub const HEADER_EVENT: &str = "x-wc-webhook-event";
/// Header carrying the webhook's id.
pub const HEADER_WEBHOOK_ID: &str = "x-wc-webhook-id";
/// Header carrying the delivery id.
pub const HEADER_DELIVERY_ID: &str = "x-wc-webhook-delivery-id";
/// Header carrying the shop's home URL.
pub const HEADER_SOURCE: &str = "x-wc-webhook-source";

/// What a delivery is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryKind {
    /// The unsigned ping WooCommerce sends when a webhook is created; answer 200, store nothing.
    Ping {
        /// The webhook's id from the `webhook_id=<id>` body.
        webhook_id: u64,
    },
    /// A signed resource event (`order.created`, …).
    Event,
}

/// A verified WooCommerce delivery.
#[derive(Debug, Clone)]
pub struct WooDelivery {
    /// Ping or event.
    pub kind: DeliveryKind,
    /// `X-WC-Webhook-Topic`, e.g. `order.updated`; empty for a ping.
    pub topic: String,
    /// `X-WC-Webhook-Resource` (or the topic's part before the dot), e.g. `order`.
    pub resource: String,
    /// `X-WC-Webhook-Event` (or the topic's part after the dot), e.g. `updated`.
    pub event: String,
    /// `X-WC-Webhook-ID` (for a ping: the id from the body).
    pub webhook_id: Option<u64>,
    /// `X-WC-Webhook-Delivery-ID`.
    pub delivery_id: Option<String>,
    /// `X-WC-Webhook-Source`: the shop's home URL.
    pub source: Option<String>,
    /// SHA-256 of the raw body, lower-case hex.
    pub body_sha256: String,
    /// Key for the inbox's duplicate check: `<delivery id>:<body sha256>`, or the body hash
    /// alone when there is no delivery id. The body hash is always part of it because
    /// WooCommerce's delivery id is `wp_hash(webhook id . time())`: two different deliveries
    /// of one webhook within the same second carry the *same* delivery id, so the id alone
    /// would drop a real change.
    pub dedupe_key: String,
    /// For `order.*` topics: the order id from the body's `id`.
    pub order_id: Option<u64>,
    /// The order for `order.created|updated|restored`; `None` for `order.deleted`, whose body
    /// is only `{"id": …}`, and for other resources.
    pub order: Option<WooOrder>,
}

impl WooDelivery {
    /// True for the creation ping.
    pub fn is_ping(&self) -> bool {
        matches!(self.kind, DeliveryKind::Ping { .. })
    }
}

/// Why a delivery was rejected. Nothing from a rejected delivery may be stored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    /// No `X-WC-Webhook-Signature` on a body that is not a ping.
    #[error(
        "woocommerce webhook delivery has no X-WC-Webhook-Signature header: check that the \
         sender is WooCommerce and that the request reaches us unmodified (no proxy stripping headers)"
    )]
    MissingSignature,
    /// The signature does not match the body under the configured secret.
    #[error(
        "woocommerce webhook signature does not match the body: check that \
         systems.<name>.webhook_secret equals the webhook's secret in WooCommerce \
         (WooCommerce > Settings > Advanced > Webhooks) and that nothing rewrites the body"
    )]
    BadSignature,
    /// A signed body without `X-WC-Webhook-Topic`.
    #[error(
        "woocommerce webhook delivery has a valid signature but no X-WC-Webhook-Topic header: \
         check that a proxy in front of the receiver forwards all X-WC-Webhook-* headers"
    )]
    MissingTopic,
    /// The signed body of an event is not the JSON expected.
    #[error(
        "woocommerce webhook delivery (topic {topic}) has a valid signature but an unreadable \
         body: {reason}; check the webhook's API version in WooCommerce (must be WP REST API \
         Integration v3)"
    )]
    Malformed {
        /// The delivery's topic.
        topic: String,
        /// What is wrong with the body.
        reason: String,
    },
}

/// Verifies one delivery over its raw body and parses it.
///
/// A `webhook_id=<n>` form body without a signature header is the creation ping and is
/// accepted unsigned (it carries no data). Every other body must carry a signature that
/// matches `base64(HMAC-SHA256(secret, body))`, compared in constant time.
pub fn verify(headers: &HeaderMap, body: &[u8], secret: &str) -> Result<WooDelivery, WebhookError> {
    let body_sha256 = hex::encode(Sha256::digest(body));
    let signature = header(headers, HEADER_SIGNATURE);
    let ping = ping_id(body);
    match (&signature, ping) {
        (None, Some(webhook_id)) => {
            return Ok(WooDelivery {
                kind: DeliveryKind::Ping { webhook_id },
                topic: String::new(),
                resource: String::new(),
                event: String::new(),
                webhook_id: Some(webhook_id),
                delivery_id: None,
                source: header(headers, HEADER_SOURCE),
                dedupe_key: body_sha256.clone(),
                body_sha256,
                order_id: None,
                order: None,
            })
        }
        (None, None) => return Err(WebhookError::MissingSignature),
        (Some(sig), _) => {
            if !signature_matches(secret, body, sig) {
                return Err(WebhookError::BadSignature);
            }
        }
    }
    let delivery_id = header(headers, HEADER_DELIVERY_ID);
    let source = header(headers, HEADER_SOURCE);
    let dedupe_key = match &delivery_id {
        Some(d) => format!("{d}:{body_sha256}"),
        None => body_sha256.clone(),
    };
    if let Some(webhook_id) = ping {
        // A signed ping (not what WooCommerce sends, but valid): still nothing to store.
        return Ok(WooDelivery {
            kind: DeliveryKind::Ping { webhook_id },
            topic: String::new(),
            resource: String::new(),
            event: String::new(),
            webhook_id: Some(webhook_id),
            delivery_id,
            source,
            dedupe_key,
            body_sha256,
            order_id: None,
            order: None,
        });
    }
    let topic = header(headers, HEADER_TOPIC).ok_or(WebhookError::MissingTopic)?;
    let (topic_resource, topic_event) = topic.split_once('.').unwrap_or((topic.as_str(), ""));
    let resource = header(headers, HEADER_RESOURCE).unwrap_or_else(|| topic_resource.to_string());
    let event = header(headers, HEADER_EVENT).unwrap_or_else(|| topic_event.to_string());
    let malformed = |reason: String| WebhookError::Malformed {
        topic: topic.clone(),
        reason,
    };
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| malformed(format!("not JSON ({e})")))?;
    let (order_id, order) = if resource == "order" {
        let id = json
            .get("id")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| malformed("no numeric \"id\" in the order body".to_string()))?;
        let order = if matches!(event.as_str(), "created" | "updated" | "restored") {
            let o: WooOrder = serde_json::from_value(json)
                .map_err(|e| malformed(format!("not a REST v3 order ({e})")))?;
            Some(o)
        } else {
            None
        };
        (Some(id), order)
    } else {
        (None, None)
    };
    Ok(WooDelivery {
        kind: DeliveryKind::Event,
        topic,
        resource,
        event,
        webhook_id: header(headers, HEADER_WEBHOOK_ID).and_then(|v| v.trim().parse().ok()),
        delivery_id,
        source,
        dedupe_key,
        body_sha256,
        order_id,
        order,
    })
}

/// True for WooCommerce's creation ping: an unsigned `webhook_id=<n>` form body. Needs no
/// secret, so a receiver without one configured can still answer the ping with 200.
pub fn is_ping(headers: &HeaderMap, body: &[u8]) -> bool {
    header(headers, HEADER_SIGNATURE).is_none() && ping_id(body).is_some()
}

/// `base64(HMAC-SHA256(secret, body))`: the value WooCommerce puts in `X-WC-Webhook-Signature`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    B64.encode(hmac_sha256(secret, body))
}

fn hmac_sha256(secret: &str, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, the empty one included; `new_from_slice` cannot fail.
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Compares the decoded header with our MAC in constant time. A header that is not base64
/// is simply a mismatch.
fn signature_matches(secret: &str, body: &[u8], header_value: &str) -> bool {
    let Ok(given) = B64.decode(header_value.trim()) else {
        return false;
    };
    let expected = hmac_sha256(secret, body);
    given.len() == expected.len() && bool::from(expected.ct_eq(&given))
}

/// The webhook id of a ping body (`webhook_id=<digits>`, nothing else).
fn ping_id(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?.trim();
    let digits = text.strip_prefix("webhook_id=")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A header by its `X-WC-…` name, or the same name without `X-` (accepted in case a proxy or a
/// future WooCommerce drops the prefix, as Shopify did; WooCommerce itself sends `X-`).
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let get = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    get(name).or_else(|| name.strip_prefix("x-").and_then(get))
}

/// Encodes JSON as PHP's `wp_json_encode` does with default flags: compact, `/` escaped as
/// `\/`, and every non-ASCII character as a lower-case `\uXXXX` UTF-16 escape. WooCommerce
/// signs exactly these bytes.
pub fn php_json(value: &serde_json::Value) -> Vec<u8> {
    let compact = serde_json::to_string(value).unwrap_or_default();
    let mut out = String::with_capacity(compact.len() + compact.len() / 8);
    // `/` and non-ASCII can only occur inside JSON strings, so a pass over the whole text
    // escapes exactly the string contents.
    for c in compact.chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn signed(topic: &str, body: &[u8], secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("X-WC-Webhook-Topic", HeaderValue::from_str(topic).unwrap());
        h.insert(
            "X-WC-Webhook-Signature",
            HeaderValue::from_str(&sign(secret, body)).unwrap(),
        );
        h.insert("X-WC-Webhook-ID", HeaderValue::from_static("7"));
        h.insert("X-WC-Webhook-Delivery-ID", HeaderValue::from_static("abc"));
        h
    }

    #[test]
    fn known_vector_from_woocommerce_tests() {
        assert_eq!(
            sign("", b"secret"),
            "GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs="
        );
        let mut h = HeaderMap::new();
        h.insert(
            "x-wc-webhook-signature",
            HeaderValue::from_static("GBDo00G55h6IiV+6CxqivQPLbI//KzaOZm747971tPs="),
        );
        h.insert("x-wc-webhook-topic", HeaderValue::from_static("action.x"));
        // The vector's body is not JSON: the signature passes, the body is then rejected.
        assert!(matches!(
            verify(&h, b"secret", ""),
            Err(WebhookError::Malformed { .. })
        ));
        assert_eq!(
            verify(&h, b"secret", "other").unwrap_err(),
            WebhookError::BadSignature
        );
    }

    #[test]
    fn tampered_wrong_secret_missing_header() {
        let body = br#"{"id":5}"#;
        let h = signed("order.deleted", body, "s3cret");
        assert!(verify(&h, body, "s3cret").is_ok());
        assert_eq!(
            verify(&h, br#"{"id":6}"#, "s3cret").unwrap_err(),
            WebhookError::BadSignature
        );
        assert_eq!(
            verify(&h, body, "wrong").unwrap_err(),
            WebhookError::BadSignature
        );
        let mut no_sig = h.clone();
        no_sig.remove(HEADER_SIGNATURE);
        assert_eq!(
            verify(&no_sig, body, "s3cret").unwrap_err(),
            WebhookError::MissingSignature
        );
        let mut garbage = h.clone();
        garbage.insert(HEADER_SIGNATURE, HeaderValue::from_static("%%%not base64"));
        assert_eq!(
            verify(&garbage, body, "s3cret").unwrap_err(),
            WebhookError::BadSignature
        );
        let mut no_topic = h;
        no_topic.remove(HEADER_TOPIC);
        assert_eq!(
            verify(&no_topic, body, "s3cret").unwrap_err(),
            WebhookError::MissingTopic
        );
    }

    #[test]
    fn ping_needs_no_signature() {
        let d = verify(&HeaderMap::new(), b"webhook_id=12", "s").unwrap();
        assert_eq!(d.kind, DeliveryKind::Ping { webhook_id: 12 });
        assert!(d.is_ping());
        assert!(is_ping(&HeaderMap::new(), b"webhook_id=12"));
        assert!(!is_ping(&HeaderMap::new(), b"{\"id\":12}"));
        assert_eq!(d.webhook_id, Some(12));
        // Anything else unsigned is refused.
        assert_eq!(
            verify(&HeaderMap::new(), b"webhook_id=12&x=1", "s").unwrap_err(),
            WebhookError::MissingSignature
        );
    }

    #[test]
    fn names_without_x_prefix_are_accepted() {
        let body = br#"{"id":1}"#;
        let mut h = HeaderMap::new();
        h.insert(
            "wc-webhook-topic",
            HeaderValue::from_static("order.deleted"),
        );
        h.insert(
            "wc-webhook-signature",
            HeaderValue::from_str(&sign("k", body)).unwrap(),
        );
        let d = verify(&h, body, "k").unwrap();
        assert_eq!(d.topic, "order.deleted");
        assert_eq!(d.dedupe_key, d.body_sha256);
    }

    #[test]
    fn deleted_topic_has_id_only() {
        let body = br#"{"id":727}"#;
        let d = verify(&signed("order.deleted", body, "k"), body, "k").unwrap();
        assert_eq!(d.kind, DeliveryKind::Event);
        assert_eq!(
            (d.resource.as_str(), d.event.as_str()),
            ("order", "deleted")
        );
        assert_eq!(d.order_id, Some(727));
        assert!(d.order.is_none());
        assert_eq!(d.webhook_id, Some(7));
        assert_eq!(d.delivery_id.as_deref(), Some("abc"));
        assert_eq!(d.dedupe_key, format!("abc:{}", d.body_sha256));
    }

    #[test]
    fn fixture_order_body_parses() {
        let fixture = include_str!("../tests/fixtures/orders__retrieve_an_order__response.json");
        let value: serde_json::Value = serde_json::from_str(fixture).unwrap();
        let body = php_json(&value);
        let d = verify(&signed("order.updated", &body, "k"), &body, "k").unwrap();
        assert_eq!(d.order_id, Some(727));
        let order = d.order.unwrap();
        assert_eq!(order.id, 727);
        assert_eq!(order.total, "29.35");
        // Not JSON for a non-ping: rejected after the signature passes.
        let bad = b"<html>";
        assert!(matches!(
            verify(&signed("order.updated", bad, "k"), bad, "k"),
            Err(WebhookError::Malformed { .. })
        ));
    }

    #[test]
    fn php_json_escapes_like_wp_json_encode() {
        let v = serde_json::json!({"url": "http://a/b", "name": "Ёлка 😀", "q": "a\\/b"});
        let text = String::from_utf8(php_json(&v)).unwrap();
        // Key order depends on serde_json's features; check each member's text.
        for member in [
            r#""name":"\u0401\u043b\u043a\u0430 \ud83d\ude00""#,
            r#""q":"a\\\/b""#,
            r#""url":"http:\/\/a\/b""#,
        ] {
            assert!(text.contains(member), "{member} not in {text}");
        }
        assert!(text.is_ascii());
        // And it is still the same JSON.
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}
