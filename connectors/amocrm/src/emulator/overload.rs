//! An overloaded account: answers an HTML page instead of JSON.
//!
//! A saturated amoCRM account has been seen answering an HTML error page from its front server
//! rather than the API's JSON (the report; the exact page and status are UNCONFIRMED, the
//! emulator uses 503 with a minimal `text/html` page). Tests switch it on for the next N
//! requests or for every k-th request.

use std::sync::atomic::{AtomicU64, Ordering};

/// The page's body.
pub(crate) const PAGE: &str = "<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>503 Service Temporarily Unavailable</h1><p>The server is overloaded. Try again later.</p></body></html>\n";

/// When to answer the page; counters of what was answered.
#[derive(Debug, Default)]
pub(crate) struct Overload {
    /// Requests still to answer with the page.
    next: AtomicU64,
    /// Answer every k-th request with the page (0: never).
    every: AtomicU64,
    /// Requests seen while `every` is set.
    seen: AtomicU64,
    /// Pages answered.
    served: AtomicU64,
}

impl Overload {
    /// Answers the page to the next `n` requests.
    pub(crate) fn next(&self, n: u64) {
        self.next.store(n, Ordering::SeqCst);
    }

    /// Answers the page to every `k`-th request (0 stops).
    pub(crate) fn every(&self, k: u64) {
        self.seen.store(0, Ordering::SeqCst);
        self.every.store(k, Ordering::SeqCst);
    }

    /// Whether this request gets the page (and counts it).
    pub(crate) fn take(&self) -> bool {
        let by_count = self
            .next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let k = self.every.load(Ordering::SeqCst);
        let by_share = k > 0 && (self.seen.fetch_add(1, Ordering::SeqCst) + 1).is_multiple_of(k);
        let hit = by_count || by_share;
        if hit {
            self.served.fetch_add(1, Ordering::SeqCst);
        }
        hit
    }

    /// Pages answered so far.
    pub(crate) fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_n_then_every_kth() {
        let o = Overload::default();
        o.next(2);
        assert!(o.take() && o.take() && !o.take());
        o.every(3);
        let hits: Vec<bool> = (0..6).map(|_| o.take()).collect();
        assert_eq!(hits, vec![false, false, true, false, false, true]);
        assert_eq!(o.served(), 4);
    }
}
