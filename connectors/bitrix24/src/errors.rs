//! Turning Bitrix24 error answers into classified [`ConnectorError`]s.
//!
//! Bitrix24 names most failures with an `error` code (`QUERY_LIMIT_EXCEEDED`, `NO_AUTH_FOUND`,
//! …) and answers CRM validation failures with an empty code and a description. The codes are
//! matched case-insensitively (the official PHP SDK does the same: `expired_token` and
//! `insufficient_scope` are lower case on the wire).

use crate::wire::ApiError;
use crate::SYSTEM;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::http::classify_status;
use std::time::Duration;

/// What we know about where an error came from, for the message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorContext<'a> {
    /// The REST method called (`crm.deal.add`).
    pub method: &'a str,
    /// The config name of this system (`crm`), so messages can name the setting to fix.
    pub config_name: &'a str,
}

/// Classifies one Bitrix24 error. `status` is the HTTP status (absent for a command inside a
/// `batch`, which always answers 200); `operating_reset_at` is `time.operating_reset_at`.
pub(crate) fn classify(
    status: Option<u16>,
    err: &ApiError,
    operating_reset_at: Option<i64>,
    ctx: ErrorContext<'_>,
) -> ConnectorError {
    let code = err.error.trim();
    let upper = code.to_ascii_uppercase();
    let desc = err.error_description.trim();
    let method = ctx.method;
    let setting = format!("systems.{}.webhook_url", ctx.config_name);
    let said = if desc.is_empty() {
        code.to_string()
    } else if code.is_empty() || code == "0" {
        desc.to_string()
    } else {
        format!("{code}: {desc}")
    };
    let (kind, message, retry_after) = match upper.as_str() {
        "QUERY_LIMIT_EXCEEDED" => (
            ErrorKind::RateLimited,
            format!("{method}: Bitrix24 request limit exceeded ({said}); slowing down and retrying (lower the client's per_second if this repeats)"),
            // The bucket drains 2 requests per second on standard plans: one second frees room.
            Some(Duration::from_secs(1)),
        ),
        "OPERATION_TIME_LIMIT" => (
            ErrorKind::RateLimited,
            format!("{method}: Bitrix24 blocked the method for exceeding its operating-time limit ({said}); retrying after the reset"),
            operating_reset_at.map(until_unix).or(Some(Duration::from_secs(60))),
        ),
        "OVERLOAD_LIMIT" => (
            ErrorKind::RateLimited,
            format!("{method}: Bitrix24 has blocked REST access for overload ({said}); retrying later, ask the portal admin if it persists"),
            Some(Duration::from_secs(60)),
        ),
        "NO_AUTH_FOUND" | "INVALID_CREDENTIALS" | "INVALID_TOKEN" | "EXPIRED_TOKEN" | "WRONG_CLIENT" => (
            ErrorKind::Auth,
            format!("{method}: Bitrix24 rejected the webhook token ({said}): check {setting} (the user id and token part of the incoming-webhook URL)"),
            None,
        ),
        "INSUFFICIENT_SCOPE" => (
            ErrorKind::Auth,
            format!("{method}: the Bitrix24 webhook lacks the scope for this method ({said}): enable the `crm` scope on the incoming webhook used in {setting}"),
            None,
        ),
        "ACCESS_DENIED" | "USER_ACCESS_ERROR" | "PAYMENT_REQUIRED" => (
            ErrorKind::Auth,
            format!("{method}: Bitrix24 denied access ({said}): the webhook's user needs CRM rights, and REST needs a paid plan; check {setting}"),
            None,
        ),
        "PORTAL_DELETED" => (
            ErrorKind::Auth,
            format!("{method}: the Bitrix24 portal was deleted ({said}): check {setting}"),
            None,
        ),
        "INTERNAL_SERVER_ERROR" | "ERROR_UNEXPECTED_ANSWER" => (
            ErrorKind::Transient,
            format!("{method}: Bitrix24 internal error ({said}); will retry"),
            None,
        ),
        "ERROR_METHOD_NOT_FOUND" => (
            ErrorKind::Invalid,
            format!("{method}: Bitrix24 does not know this method ({said}): check that {setting} ends with /rest/<user>/<token>/ and that the portal has the CRM module"),
            None,
        ),
        "ERROR_BATCH_LENGTH_EXCEEDED" | "ERROR_BATCH_METHOD_NOT_ALLOWED" => (
            ErrorKind::Invalid,
            format!("{method}: Bitrix24 refused the batch ({said}): at most 50 commands, no nested batch"),
            None,
        ),
        _ => by_status(status, code, desc, &said, method),
    };
    ConnectorError::new(kind, SYSTEM, message).with_retry_after(retry_after)
}

/// Errors without a code we recognise: CRM validation errors (empty code, `ERROR_CORE`, …).
fn by_status(
    status: Option<u16>,
    code: &str,
    desc: &str,
    said: &str,
    method: &str,
) -> (ErrorKind, String, Option<Duration>) {
    let lower = desc.to_ascii_lowercase();
    let method_level = code.is_empty() || code == "0" || code.eq_ignore_ascii_case("ERROR_CORE");
    let kind = match status {
        Some(s @ 401 | s @ 403) => classify_status(s),
        Some(s) if s >= 500 => ErrorKind::Transient,
        Some(429) => ErrorKind::RateLimited,
        _ if method_level && (lower == "not found" || lower.ends_with(" is not found")) => {
            ErrorKind::NotFound
        }
        Some(s) if !method_level => classify_status(s),
        _ => ErrorKind::Invalid,
    };
    let message = match kind {
        ErrorKind::NotFound => format!("{method}: Bitrix24 has no such record ({said})"),
        ErrorKind::Invalid => format!(
            "{method}: Bitrix24 rejected the data ({said}); fix the mapping or the source record, then retry the job"
        ),
        ErrorKind::Transient => format!("{method}: Bitrix24 server error ({said}); will retry"),
        ErrorKind::RateLimited => format!("{method}: Bitrix24 asked us to slow down ({said})"),
        ErrorKind::Auth => format!("{method}: Bitrix24 refused access ({said}); check the webhook URL and its scopes"),
        ErrorKind::Protocol => format!("{method}: unexpected Bitrix24 answer ({said})"),
    };
    (kind, message, None)
}

fn until_unix(reset_at: i64) -> Duration {
    let now = chrono::Utc::now().timestamp();
    Duration::from_secs(reset_at.saturating_sub(now).clamp(1, 600) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, desc: &str) -> ApiError {
        ApiError {
            error: code.into(),
            error_description: desc.into(),
        }
    }
    const CTX: ErrorContext<'static> = ErrorContext {
        method: "crm.deal.add",
        config_name: "crm",
    };

    #[test]
    fn codes_map_to_kinds() {
        let k = |s, c, d| classify(s, &err(c, d), None, CTX).kind;
        assert_eq!(
            k(Some(503), "QUERY_LIMIT_EXCEEDED", "Too many requests"),
            ErrorKind::RateLimited
        );
        assert_eq!(
            k(Some(429), "OPERATION_TIME_LIMIT", ""),
            ErrorKind::RateLimited
        );
        assert_eq!(
            k(Some(401), "NO_AUTH_FOUND", "Wrong authorization data"),
            ErrorKind::Auth
        );
        assert_eq!(k(Some(401), "expired_token", ""), ErrorKind::Auth);
        assert_eq!(k(None, "insufficient_scope", ""), ErrorKind::Auth);
        assert_eq!(
            k(Some(500), "INTERNAL_SERVER_ERROR", ""),
            ErrorKind::Transient
        );
        assert_eq!(
            k(Some(400), "", "Parameter 'fields' must be array."),
            ErrorKind::Invalid
        );
        assert_eq!(
            k(Some(400), "ERROR_CORE", "Discount Sum is required"),
            ErrorKind::Invalid
        );
        assert_eq!(
            k(Some(404), "ERROR_METHOD_NOT_FOUND", "Method not found!"),
            ErrorKind::Invalid
        );
        assert_eq!(k(Some(400), "", "Not found"), ErrorKind::NotFound);
        assert_eq!(k(None, "", "Contact is not found"), ErrorKind::NotFound);
        assert_eq!(k(Some(502), "SOMETHING", ""), ErrorKind::Transient);
    }

    #[test]
    fn auth_message_names_the_setting_and_not_the_token() {
        let e = classify(
            Some(401),
            &err("NO_AUTH_FOUND", "Wrong authorization data"),
            None,
            CTX,
        );
        assert!(
            e.message.contains("check systems.crm.webhook_url"),
            "{}",
            e.message
        );
    }

    #[test]
    fn operating_limit_waits_until_reset() {
        let reset = chrono::Utc::now().timestamp() + 30;
        let e = classify(
            Some(429),
            &err("OPERATION_TIME_LIMIT", ""),
            Some(reset),
            CTX,
        );
        let wait = e.retry_after.unwrap();
        assert!(
            wait >= Duration::from_secs(28) && wait <= Duration::from_secs(31),
            "{wait:?}"
        );
    }
}
