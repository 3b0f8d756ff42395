//! The per-account request window behind amoCRM's 429: at most N requests per second.
//!
//! amoCRM states "not more than 7 requests per second"; how it windows them is not documented
//! (UNCONFIRMED), so the emulator uses fixed one-second windows starting at the first request
//! of each window. Refused requests are not counted.

use std::time::{Duration, Instant};

/// Requests admitted per one-second window.
#[derive(Debug)]
pub(crate) struct SecondWindow {
    limit: u32,
    start: Instant,
    count: u32,
    /// Requests refused with 429 so far.
    refused: u64,
}

impl SecondWindow {
    pub(crate) fn new(limit: u32) -> Self {
        SecondWindow {
            limit,
            start: Instant::now(),
            count: 0,
            refused: 0,
        }
    }

    pub(crate) fn set_limit(&mut self, limit: u32) {
        self.limit = limit;
    }

    /// Requests refused with 429 so far.
    pub(crate) fn refused(&self) -> u64 {
        self.refused
    }

    /// Counts one request; `false` when the window is full.
    pub(crate) fn admit(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.start) >= Duration::from_secs(1) {
            self.start = now;
            self.count = 0;
        }
        if self.count >= self.limit {
            self.refused += 1;
            return false;
        }
        self.count += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighth_request_in_a_second_is_refused() {
        let mut w = SecondWindow::new(7);
        assert!((0..7).all(|_| w.admit()));
        assert!(!w.admit());
        std::thread::sleep(Duration::from_millis(1010));
        assert!(w.admit());
    }
}
