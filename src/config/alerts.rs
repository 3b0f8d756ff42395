//! `[alerts]`: where alert notifications go, in which body format, and which rules raise them.

use std::time::Duration;

use super::doc::{type_name, Ctx, TableReader};
use dealbridge_sdk::config::{check_http_url, resolve_secret, Env, Secret};
use toml::de::DeValue;

/// The variable that overrides `[alerts] webhook_url`.
pub const ALERTS_WEBHOOK_URL_VAR: &str = "DEALBRIDGE_ALERTS_WEBHOOK_URL";

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    /// `webhook_url`: where each notification is POSTed (`http`/`https`). A secret: Slack's and
    /// Telegram's URLs carry their token, so it may be `env:VAR`, is overridden by
    /// `DEALBRIDGE_ALERTS_WEBHOOK_URL`, and never printed.
    pub webhook_url: Secret,
    /// `format`: the body shape (default `json`).
    pub format: AlertFormat,
    /// `check_every`: how often the rules are evaluated (default 30s).
    pub check_every: Duration,
    /// `max_attempts`: tries to deliver one notification before it goes to the dead letter
    /// (default 30: with the default backoff, hours of an endpoint being down).
    pub max_attempts: u32,
    /// Which rules raise alerts.
    pub rules: AlertRules,
}

/// `format` of `[alerts]`: the body each notification is POSTed as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertFormat {
    /// `json`: `{"alert", "state", "key", "summary", "details", "since", "at"}`.
    Json,
    /// `slack`: `{"text": …}` (a Slack incoming webhook, Mattermost, Rocket.Chat).
    Slack,
    /// `telegram`: `{"chat_id": …, "text": …}` for the Bot API's `sendMessage` URL.
    Telegram {
        /// `chat_id`: a number (`-1001234567890`) or a channel name (`"@ops"`).
        chat_id: serde_json::Value,
    },
}

/// The rules of `[alerts]`, each on by default and each able to be turned off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRules {
    /// `job_dead`: a flow has jobs in the dead letter.
    pub job_dead: bool,
    /// `poll_stale_after`: a flow's poll has not succeeded for this long (default 15m; `"off"`).
    pub poll_stale_after: Option<Duration>,
    /// `auth_failed`: a system rejects our credentials (a token revoked or not refreshable).
    pub auth_failed: bool,
    /// `exchange_1c_failed`: the last 1C exchange step of a type failed.
    pub exchange_1c_failed: bool,
    /// `conflicts_waiting_after`: a conflict has waited for a person this long (default 1h;
    /// `"off"`).
    pub conflicts_waiting_after: Option<Duration>,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            job_dead: true,
            poll_stale_after: Some(Duration::from_secs(15 * 60)),
            auth_failed: true,
            exchange_1c_failed: true,
            conflicts_waiting_after: Some(Duration::from_secs(3600)),
        }
    }
}

pub(crate) const ALERTS_KEYS: &[&str] = &[
    "webhook_url",
    "format",
    "chat_id",
    "check_every",
    "max_attempts",
    "job_dead",
    "poll_stale_after",
    "auth_failed",
    "exchange_1c_failed",
    "conflicts_waiting_after",
];

/// Reads `[alerts]`; `None` (alerts off) without the table or with a mistake in it.
pub(crate) fn read_alerts(
    ctx: &mut Ctx<'_>,
    t: Option<&TableReader<'_, '_>>,
    env: &dyn Env,
) -> Option<AlertsConfig> {
    let t = t?;
    t.deny_unknown(ctx);
    let webhook_url = read_webhook_url(ctx, t, env);
    let format = read_format(ctx, t);
    let check_every = t
        .duration(ctx, "check_every", Duration::from_millis(100))
        .unwrap_or(Duration::from_secs(30));
    let max_attempts = t
        .integer(ctx, "max_attempts", 1, 1000)
        .map_or(30, |n| u32::try_from(*n.get_ref()).unwrap_or(30));
    let defaults = AlertRules::default();
    let rules = AlertRules {
        job_dead: read_bool(ctx, t, "job_dead").unwrap_or(defaults.job_dead),
        poll_stale_after: read_threshold(ctx, t, "poll_stale_after", defaults.poll_stale_after),
        auth_failed: read_bool(ctx, t, "auth_failed").unwrap_or(defaults.auth_failed),
        exchange_1c_failed: read_bool(ctx, t, "exchange_1c_failed")
            .unwrap_or(defaults.exchange_1c_failed),
        conflicts_waiting_after: read_threshold(
            ctx,
            t,
            "conflicts_waiting_after",
            defaults.conflicts_waiting_after,
        ),
    };
    Some(AlertsConfig {
        webhook_url: webhook_url?,
        format: format?,
        check_every,
        max_attempts,
        rules,
    })
}

/// `webhook_url`: a secret that must be an http(s) URL. A bad value is reported without
/// echoing it (it may hold a bot token).
fn read_webhook_url(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>, env: &dyn Env) -> Option<Secret> {
    let (url, origin) = resolve_secret(ctx, t, "webhook_url", ALERTS_WEBHOOK_URL_VAR, env)?;
    if let Err(e) = check_http_url(url.expose()) {
        let (span, from) = origin.locate();
        ctx.error(span, format!("`webhook_url` in [alerts]{from}: {e}"));
        return None;
    }
    Some(url)
}

/// `format` and, for Telegram, `chat_id`.
fn read_format(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>) -> Option<AlertFormat> {
    let format = t.string(ctx, "format");
    let name = format.as_ref().map_or("json", |f| f.get_ref().as_str());
    let chat_id = read_chat_id(ctx, t);
    match name {
        "json" | "slack" => {
            if let (Some((k, _)), Some(_)) = (t.entry("chat_id"), &chat_id) {
                ctx.error(
                    k.span(),
                    format!("`chat_id` in [alerts] is only for format = \"telegram\"; this is format = \"{name}\""),
                );
                return None;
            }
            Some(if name == "json" {
                AlertFormat::Json
            } else {
                AlertFormat::Slack
            })
        }
        "telegram" => match chat_id {
            Some(chat_id) => Some(AlertFormat::Telegram { chat_id }),
            None => {
                if !t.has("chat_id") {
                    t.missing(
                        ctx,
                        "chat_id",
                        ": format = \"telegram\" needs the chat to post to, e.g. chat_id = -1001234567890 or chat_id = \"@ops_channel\"",
                    );
                }
                None
            }
        },
        other => {
            let span = format.as_ref().map_or(t.span.clone(), |f| f.span());
            ctx.error(
                span,
                format!("`format` in [alerts] must be \"json\", \"slack\" or \"telegram\", found \"{other}\""),
            );
            None
        }
    }
}

/// `chat_id`: an integer or a non-empty string.
fn read_chat_id(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>) -> Option<serde_json::Value> {
    let (_, v) = t.entry("chat_id")?;
    match v.get_ref() {
        DeValue::Integer(_) => t
            .integer(ctx, "chat_id", i64::MIN, i64::MAX)
            .map(|n| serde_json::Value::from(*n.get_ref())),
        DeValue::String(s) if !s.trim().is_empty() => Some(serde_json::Value::from(s.to_string())),
        other => {
            ctx.error(
                v.span(),
                format!(
                    "`chat_id` in [alerts] must be a chat id number or a \"@channel\" name, found {}",
                    type_name(other)
                ),
            );
            None
        }
    }
}

fn read_bool(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>, key: &str) -> Option<bool> {
    let (_, v) = t.entry(key)?;
    match v.get_ref() {
        DeValue::Boolean(b) => Some(*b),
        other => {
            ctx.error(
                v.span(),
                format!(
                    "`{key}` in [alerts] must be true or false, found {}",
                    type_name(other)
                ),
            );
            None
        }
    }
}

/// A rule's threshold: a duration (`"15m"`), or `"off"` / `false` to turn the rule off.
fn read_threshold(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    key: &str,
    default: Option<Duration>,
) -> Option<Duration> {
    let Some((_, v)) = t.entry(key) else {
        return default;
    };
    match v.get_ref() {
        DeValue::Boolean(false) => None,
        DeValue::String(s) if s.as_ref() == "off" => None,
        DeValue::Boolean(true) => {
            ctx.error(
                v.span(),
                format!("`{key}` in [alerts] must be a duration like \"15m\", or \"off\"; `true` says nothing about how long"),
            );
            default
        }
        _ => t.duration(ctx, key, Duration::from_millis(100)).or(default),
    }
}
