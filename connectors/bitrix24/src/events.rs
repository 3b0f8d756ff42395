//! Outbound deal events: what a Bitrix24 portal POSTs to an outgoing webhook or an
//! `event.bind` handler, and the offline-event queue (`event.offline.get`).
//!
//! A delivery is `application/x-www-form-urlencoded` with PHP bracket keys:
//! `event=ONCRMDEALUPDATE&event_handler_id=..&data[FIELDS][ID]=759&ts=..&auth[domain]=..&
//! auth[application_token]=..`. There is no signature: the only proof of origin is
//! `auth[application_token]`, compared with the token shown in the outgoing-webhook settings
//! (or saved at `ONAPPINSTALL`). Only the id is sent, and the portal never retries, so an event
//! is a hint: re-read the deal ([`dealbridge_sdk::traits::CrmDealReader::deal`]) and keep
//! polling as the safety net.

use crate::client::Bitrix24Client;
use crate::php_query::parse_query;
use crate::wire::value_text;
use crate::SYSTEM;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use serde_json::{json, Value};

/// One deal event as delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealEvent {
    /// `ONCRMDEALADD`, `ONCRMDEALUPDATE`, `ONCRMDEALDELETE`, … (upper-cased).
    pub event: String,
    /// `data[FIELDS][ID]`: the deal's id.
    pub deal_id: String,
    /// `auth[application_token]`: check it with [`verify_application_token`].
    pub application_token: String,
    /// `auth[domain]`: the portal that sent it.
    pub domain: Option<String>,
    /// `ts`: when the portal raised it (Unix seconds), if sent.
    pub ts: Option<i64>,
}

/// Why an event body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The body is not a form with `event`, `data[FIELDS][ID]` and `auth[application_token]`.
    #[error("bitrix24 event: {0}; expected a form body with event, data[FIELDS][ID] and auth[application_token] as Bitrix24 sends them")]
    Malformed(String),
    /// The event is not about a deal (`ONCRM DEAL …`).
    #[error(
        "bitrix24 event `{0}` is not a deal event; bind only ONCRMDEAL* events to this handler"
    )]
    NotADealEvent(String),
}

/// Parses a delivered event body (form-encoded; a JSON body of the same shape is accepted too,
/// as some proxies re-encode it).
pub fn parse_event(body: &[u8]) -> Result<DealEvent, EventError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| EventError::Malformed("the body is not UTF-8".into()))?;
    let v: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| EventError::Malformed(format!("bad JSON: {e}")))?
    } else {
        parse_query(text)
    };
    let field = |ptr: &str| {
        v.pointer(ptr)
            .and_then(value_text)
            .filter(|t| !t.is_empty())
    };
    let event = field("/event")
        .ok_or_else(|| EventError::Malformed("no `event`".into()))?
        .to_ascii_uppercase();
    if !event.starts_with("ONCRMDEAL") {
        return Err(EventError::NotADealEvent(event));
    }
    let deal_id = field("/data/FIELDS/ID")
        .ok_or_else(|| EventError::Malformed("no `data[FIELDS][ID]`".into()))?;
    let application_token = field("/auth/application_token")
        .ok_or_else(|| EventError::Malformed("no `auth[application_token]`".into()))?;
    Ok(DealEvent {
        event,
        deal_id,
        application_token,
        domain: field("/auth/domain"),
        ts: field("/ts").and_then(|t| t.trim().parse().ok()),
    })
}

/// Whether the event carries the expected application token, compared in constant time (for
/// equal lengths) so a forger cannot learn the token byte by byte from response times. An
/// empty expected token never matches.
pub fn verify_application_token(event: &DealEvent, expected: &str) -> bool {
    let (a, b) = (event.application_token.as_bytes(), expected.as_bytes());
    if b.is_empty() || a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One record of the offline-event queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineEvent {
    /// Queue record id.
    pub id: String,
    /// `EVENT_NAME` (`ONCRMDEALUPDATE`).
    pub event: String,
    /// `EVENT_DATA[FIELDS][ID]`, when the event names an entity.
    pub entity_id: Option<String>,
    /// `TIMESTAMP_X` as sent (ISO 8601).
    pub timestamp: String,
}

/// What `event.offline.get` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineEvents {
    /// Set when read without clearing: pass it to [`Bitrix24Client::clear_offline_events`]
    /// once the events are processed.
    pub process_id: Option<String>,
    /// The events, oldest first.
    pub events: Vec<OfflineEvent>,
}

impl Bitrix24Client {
    /// Reads up to `limit` offline events (`event.offline.get`). With `clear`, the portal drops
    /// them at once (at-most-once); without, they stay reserved for the returned `process_id`
    /// until [`Bitrix24Client::clear_offline_events`] (at-least-once). Needs an app context on
    /// a real portal (offline events are not offered to incoming webhooks).
    pub async fn offline_events(
        &self,
        limit: u32,
        clear: bool,
    ) -> Result<OfflineEvents, ConnectorError> {
        let r = self
            .call(
                "event.offline.get",
                json!({ "limit": limit.clamp(1, 1000), "clear": u8::from(clear) }),
            )
            .await?;
        let bad = |what: &str| {
            ConnectorError::new(
                ErrorKind::Protocol,
                SYSTEM,
                format!("event.offline.get: unexpected answer: {what}"),
            )
        };
        let process_id = r.result.get("process_id").and_then(value_text);
        let list = match r.result.get("events") {
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(bad("`events` is not a list")),
        };
        let events = list
            .iter()
            .map(|e| {
                Ok(OfflineEvent {
                    id: e
                        .get("ID")
                        .and_then(value_text)
                        .ok_or_else(|| bad("an event without ID"))?,
                    event: e
                        .get("EVENT_NAME")
                        .and_then(value_text)
                        .unwrap_or_default()
                        .to_ascii_uppercase(),
                    entity_id: e.pointer("/EVENT_DATA/FIELDS/ID").and_then(value_text),
                    timestamp: e
                        .get("TIMESTAMP_X")
                        .and_then(value_text)
                        .unwrap_or_default(),
                })
            })
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        Ok(OfflineEvents { process_id, events })
    }

    /// Drops the offline events reserved for `process_id` (`event.offline.clear`).
    pub async fn clear_offline_events(&self, process_id: &str) -> Result<(), ConnectorError> {
        self.call("event.offline.clear", json!({ "process_id": process_id }))
            .await?;
        Ok(())
    }
}
