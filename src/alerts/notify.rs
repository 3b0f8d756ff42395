//! One notification: what it says ([`Notification`], the payload of an `alert` job), the body it
//! is sent as (`[alerts] format`), and the POST that sends it ([`Notifier`]).

use crate::config::{AlertFormat, AlertsConfig, Secret};
use chrono::{DateTime, Utc};
use dealbridge_sdk::http::{self, Timeouts};
use dealbridge_sdk::{ConnectorError, ErrorKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The tag of the errors and API-request metrics of alert deliveries.
pub const SYSTEM: &str = "alerts";

/// Whether an incident began or ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition was found.
    Firing,
    /// The condition cleared.
    Resolved,
}

/// One notification, as queued and, with `format = "json"`, as sent:
/// `{"alert", "state", "key", "summary", "details", "since", "at"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The rule, e.g. `job_dead`.
    pub alert: String,
    /// Firing or resolved.
    pub state: AlertState,
    /// The incident's stable key, e.g. `job_dead:flow=orders`.
    pub key: String,
    /// One line for a person.
    pub summary: String,
    /// The particulars (flow, error, counts).
    pub details: Value,
    /// When the condition began.
    pub since: DateTime<Utc>,
    /// When this notification was raised.
    pub at: DateTime<Utc>,
}

impl Notification {
    /// The message text of the chat formats (Slack, Telegram).
    pub fn text(&self) -> String {
        match self.state {
            AlertState::Firing => format!(
                "[dealbridge] FIRING {}\n{}\nsince {}",
                self.key,
                self.summary,
                self.since.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            AlertState::Resolved => format!(
                "[dealbridge] RESOLVED {} (after {})\n{}",
                self.key,
                crate::alerts::rules::human((self.at - self.since).to_std().unwrap_or_default()),
                self.summary
            ),
        }
    }

    /// The body to POST in `format`.
    pub fn body(&self, format: &AlertFormat) -> Value {
        match format {
            AlertFormat::Json => serde_json::to_value(self).unwrap_or(Value::Null),
            AlertFormat::Slack => json!({ "text": self.text() }),
            AlertFormat::Telegram { chat_id } => json!({ "chat_id": chat_id, "text": self.text() }),
        }
    }
}

/// Sends notifications to `[alerts] webhook_url`.
pub struct Notifier {
    client: reqwest::Client,
    url: Secret,
    format: AlertFormat,
}

impl Notifier {
    /// A notifier for `config` (the HTTP client with the sdk's timeouts and TLS setup).
    pub fn new(config: &AlertsConfig) -> Result<Notifier, ConnectorError> {
        let client = http::client(Timeouts {
            connect: std::time::Duration::from_secs(10),
            request: std::time::Duration::from_secs(30),
        })
        .map_err(|e| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("cannot build the HTTP client for [alerts]: {e}"),
            )
        })?;
        Ok(Notifier {
            client,
            url: config.webhook_url.clone(),
            format: config.format.clone(),
        })
    }

    /// POSTs `n` in the configured format. A 2xx answer is delivered; any other answer or no
    /// answer is an error classified like every API call (5xx, 429 and network: retried;
    /// 4xx: permanent), whose message never holds the URL (it may carry a token).
    pub async fn send(&self, n: &Notification) -> Result<(), ConnectorError> {
        let req = self
            .client
            .post(self.url.expose())
            .json(&n.body(&self.format));
        let answer = http::send(None, SYSTEM, "posting an alert", req).await?;
        if answer.is_success() {
            return Ok(());
        }
        let head = String::from_utf8_lossy(&answer.body[..answer.body.len().min(200)]);
        Err(ConnectorError::new(
            http::classify_status(answer.status),
            SYSTEM,
            format!(
                "the alert endpoint ([alerts] webhook_url) answered HTTP {}: {}; check the URL and the receiver",
                answer.status,
                head.trim()
            ),
        )
        .with_retry_after(answer.retry_after()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn firing() -> Notification {
        Notification {
            alert: "job_dead".into(),
            state: AlertState::Firing,
            key: "job_dead:flow=orders".into(),
            summary: "2 jobs of flow orders are in the dead letter".into(),
            details: json!({"flow": "orders", "dead_jobs": 2}),
            since: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
            at: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 30).unwrap(),
        }
    }

    #[test]
    fn the_json_body_is_the_documented_shape() {
        let body = firing().body(&AlertFormat::Json);
        assert_eq!(
            body,
            json!({
                "alert": "job_dead",
                "state": "firing",
                "key": "job_dead:flow=orders",
                "summary": "2 jobs of flow orders are in the dead letter",
                "details": {"flow": "orders", "dead_jobs": 2},
                "since": "2026-03-01T12:00:00Z",
                "at": "2026-03-01T12:00:30Z",
            })
        );
        let back: Notification = serde_json::from_value(body).unwrap();
        assert_eq!(back, firing());
    }

    #[test]
    fn slack_gets_one_text_field() {
        let body = firing().body(&AlertFormat::Slack);
        assert_eq!(
            body,
            json!({"text": "[dealbridge] FIRING job_dead:flow=orders\n2 jobs of flow orders are in the dead letter\nsince 2026-03-01 12:00:00 UTC"})
        );
    }

    #[test]
    fn telegram_gets_the_chat_and_the_text_and_a_clear_says_how_long_it_lasted() {
        let mut n = firing();
        n.state = AlertState::Resolved;
        n.at = n.since + chrono::Duration::minutes(75);
        let body = n.body(&AlertFormat::Telegram {
            chat_id: json!(-1001234567890i64),
        });
        assert_eq!(
            body,
            json!({
                "chat_id": -1001234567890i64,
                "text": "[dealbridge] RESOLVED job_dead:flow=orders (after 1h 15m)\n2 jobs of flow orders are in the dead letter"
            })
        );
        let body = n.body(&AlertFormat::Telegram {
            chat_id: json!("@ops"),
        });
        assert_eq!(body["chat_id"], "@ops");
    }
}
