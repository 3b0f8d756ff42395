//! Vendor-free webhook intake: a connector turns a delivery into hints; the engine stores them.
//!
//! A delivery is a hint, not the truth: the engine stores `(entity, id)` and re-reads the
//! resource before acting, so a receiver only authenticates the delivery and names what changed.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};

/// One delivery as it reached `/webhooks/<name>[/<token>]`.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The raw body (signatures are computed over it).
    pub body: &'a [u8],
    /// The last path segment of `/webhooks/<name>/<token>`, for vendors that sign nothing and
    /// authenticate by a secret in the URL.
    pub url_token: Option<&'a str>,
}

/// What a hint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintEntity {
    /// A store order: the engine re-reads it and queues its deal.
    Order,
    /// A CRM deal: the engine re-reads it and queues the merge back to the store.
    Deal,
    /// Something no flow acts on (kept for the record).
    Other,
}

impl HintEntity {
    /// The stored prefix of the inbox item's kind (`order:…`).
    pub fn as_str(self) -> &'static str {
        match self {
            HintEntity::Order => "order",
            HintEntity::Deal => "deal",
            HintEntity::Other => "other",
        }
    }
}

/// One change a delivery reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// What changed.
    pub entity: HintEntity,
    /// The vendor's topic (`order.updated`, `orders/create`, `ONCRMDEALUPDATE`), for the record.
    pub topic: String,
    /// The resource's id in the sending system.
    pub id: String,
    /// Deduplicates retried deliveries (the vendor's delivery id, else a hash of the body).
    pub dedupe_key: String,
}

/// A delivery the receiver took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Store these hints, then acknowledge.
    Hints(Vec<Hint>),
    /// Answer 200 with this text and store nothing (a ping when a webhook is saved).
    Reply(String),
}

/// A delivery the receiver refused; nothing is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The HTTP status to answer (401 bad signature, 400 malformed after a good one, 404 wrong
    /// path).
    pub status: u16,
    /// What is wrong and what to do, without any secret.
    pub message: String,
}

impl Rejected {
    /// A refusal with `status` and `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Rejected {
            status,
            message: message.into(),
        }
    }
}

/// Authenticates and reads one system's webhook deliveries.
pub trait WebhookReceiver: Send + Sync {
    /// Checks the delivery (signature or token, in constant time) and names what changed.
    fn accept(&self, request: &WebhookRequest<'_>) -> Result<Accepted, Rejected>;
}

/// A dedupe key for a delivery that carries no id of its own: the SHA-256 of its body.
pub fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}
