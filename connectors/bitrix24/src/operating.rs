//! Pacing a method the portal blocked with `OPERATION_TIME_LIMIT`.
//!
//! The portal meters execution time per method over a 10-minute window and, once a method is
//! over its budget, refuses every further call of that method with HTTP 429 until
//! `time.operating_reset_at` (reference: B24DOC limits.md). Calling it again before then only
//! collects more refusals, so the client remembers the reset time each answer reports and, once a
//! method is refused, answers further calls of *that method* with `RateLimited` locally until
//! the reset, without a request. Other methods keep flowing.
//!
//! The budget itself is portal configuration the API does not report (480 s in the docs' cloud
//! example), so the client does not slow down before the first refusal; it holds after it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Per-method reset times seen and holds in force; shared by a client's clones.
#[derive(Debug, Default)]
pub(crate) struct MethodHolds {
    inner: Mutex<HashMap<String, MethodState>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct MethodState {
    /// `time.operating_reset_at` of the method's last successful answer (unix seconds).
    reset_at: Option<i64>,
    /// No calls of the method before this instant.
    held_until: Option<Instant>,
}

impl MethodHolds {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, MethodState>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers the reset time an answer to `method` reported.
    pub(crate) fn saw_reset(&self, method: &str, reset_at: i64) {
        self.lock().entry(method.to_string()).or_default().reset_at = Some(reset_at);
    }

    /// The last reset time seen for `method`.
    pub(crate) fn last_reset(&self, method: &str) -> Option<i64> {
        self.lock().get(method).and_then(|s| s.reset_at)
    }

    /// Holds `method` for `wait` (after the portal refused it).
    pub(crate) fn hold(&self, method: &str, wait: Duration) {
        self.lock()
            .entry(method.to_string())
            .or_default()
            .held_until = Some(Instant::now() + wait);
    }

    /// How long `method` is still held, if it is.
    pub(crate) fn remaining(&self, method: &str) -> Option<Duration> {
        let until = self.lock().get(method).and_then(|s| s.held_until)?;
        let left = until.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_one_method_until_the_wait_passes() {
        let h = MethodHolds::default();
        h.saw_reset("crm.deal.add", 42);
        assert_eq!(h.last_reset("crm.deal.add"), Some(42));
        h.hold("crm.deal.add", Duration::from_millis(50));
        assert!(h.remaining("crm.deal.add").is_some());
        assert!(h.remaining("crm.contact.add").is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(h.remaining("crm.deal.add").is_none());
    }
}
