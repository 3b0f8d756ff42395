//! The per-portal leaky bucket behind `QUERY_LIMIT_EXCEEDED`.
//!
//! Bitrix24 counts every HTTP request (a `batch` is one) into a counter that drains at a fixed
//! rate; a request that would push it past the capacity is refused with HTTP 503. Standard plans
//! drain 2/s with a capacity of 50, Enterprise 5/s with 250.

use std::time::Instant;

/// Capacity and drain rate of the request bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketLimits {
    /// Requests the bucket holds before refusing.
    pub capacity: u32,
    /// Requests drained per second (a rate, not money: `f64` is fine).
    pub drain_per_second: f64,
}

impl BucketLimits {
    /// Every plan but Enterprise: 50 requests, draining 2 per second.
    pub fn standard() -> Self {
        BucketLimits {
            capacity: 50,
            drain_per_second: 2.0,
        }
    }

    /// Enterprise plans: 250 requests, draining 5 per second.
    pub fn enterprise() -> Self {
        BucketLimits {
            capacity: 250,
            drain_per_second: 5.0,
        }
    }
}

impl Default for BucketLimits {
    fn default() -> Self {
        BucketLimits::standard()
    }
}

/// The bucket's running state.
#[derive(Debug)]
pub(crate) struct LeakyBucket {
    limits: BucketLimits,
    level: f64,
    last: Instant,
}

impl LeakyBucket {
    pub(crate) fn new(limits: BucketLimits) -> Self {
        LeakyBucket {
            limits,
            level: 0.0,
            last: Instant::now(),
        }
    }

    /// Changes the limits, keeping the current level.
    pub(crate) fn set_limits(&mut self, limits: BucketLimits) {
        self.drain();
        self.limits = limits;
    }

    fn drain(&mut self) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.level = (self.level - elapsed * self.limits.drain_per_second).max(0.0);
        self.last = now;
    }

    /// Counts one request; `false` when it does not fit. A refused request is not counted
    /// (UNCONFIRMED: the docs do not say whether Bitrix24 counts refused requests).
    pub(crate) fn admit(&mut self) -> bool {
        self.drain();
        if self.level + 1.0 > f64::from(self.limits.capacity) {
            return false;
        }
        self.level += 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn refuses_past_capacity_then_drains() {
        let mut b = LeakyBucket::new(BucketLimits {
            capacity: 3,
            drain_per_second: 20.0,
        });
        assert!(b.admit() && b.admit() && b.admit());
        assert!(!b.admit());
        std::thread::sleep(Duration::from_millis(120));
        assert!(b.admit());
    }
}
