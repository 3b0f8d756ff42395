//! Connector errors and their retry classification.
//!
//! The durable queue decides what to do with a failed write from [`ConnectorError::kind`] alone:
//! transient kinds are retried with backoff (honouring [`ConnectorError::retry_after`]), the others
//! go to the dead letter with the message as the reason. Connectors therefore classify at the
//! edge, where they still know the vendor's status codes and error bodies.

use std::time::Duration;

/// What sort of failure this is, as far as retrying goes. Low-cardinality: also used as the error
/// code in metrics and the queue's `last_error_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Network failure, timeout, dropped connection, 5xx: try again later.
    Transient,
    /// The remote asked us to slow down (429, Bitrix24 `QUERY_LIMIT_EXCEEDED`): try again later.
    RateLimited,
    /// Credentials rejected (401/403): retrying will not help until someone fixes the config.
    Auth,
    /// The remote rejected the data (validation 4xx): retrying the same payload will not help.
    Invalid,
    /// The remote record does not exist (404).
    NotFound,
    /// The remote answered something we cannot understand (not JSON, wrong shape).
    Protocol,
}

impl ErrorKind {
    /// A short stable code for logs, metrics and the queue table.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Transient => "transient",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Auth => "auth",
            ErrorKind::Invalid => "invalid",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Protocol => "protocol",
        }
    }
}

/// An error from talking to an external system.
#[derive(Debug, thiserror::Error)]
#[error("{system}: {message}")]
pub struct ConnectorError {
    /// Retry classification.
    pub kind: ErrorKind,
    /// The system (`woocommerce`, `bitrix24`) that failed.
    pub system: &'static str,
    /// What happened and, where it helps, what to do.
    pub message: String,
    /// How long the remote asked us to wait.
    pub retry_after: Option<Duration>,
    /// The underlying error, kept for the cause chain.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ConnectorError {
    /// A new error of a kind.
    pub fn new(kind: ErrorKind, system: &'static str, message: impl Into<String>) -> Self {
        ConnectorError {
            kind,
            system,
            message: message.into(),
            retry_after: None,
            source: None,
        }
    }

    /// Attaches a `Retry-After` hint.
    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Whether the same request may succeed later: transient and rate-limited failures.
    /// Protocol errors are retried too: a proxy's HTML error page is usually passing.
    pub fn should_retry(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Transient | ErrorKind::RateLimited | ErrorKind::Protocol
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_decides_retry() {
        let e = |k| ConnectorError::new(k, "x", "m");
        assert!(e(ErrorKind::Transient).should_retry());
        assert!(e(ErrorKind::RateLimited).should_retry());
        assert!(e(ErrorKind::Protocol).should_retry());
        assert!(!e(ErrorKind::Invalid).should_retry());
        assert!(!e(ErrorKind::Auth).should_retry());
        assert!(!e(ErrorKind::NotFound).should_retry());
    }
}
