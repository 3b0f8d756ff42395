//! The client's model of Shopify's REST leaky bucket.
//!
//! Every answer carries `X-Shopify-Shop-Api-Call-Limit: used/size`. Between answers the bucket
//! leaks at a known rate (2/s on standard plans), so the client estimates the level *now*,
//! counts its own requests in flight, and waits before sending when the bucket is more than half
//! full: not at all at half, one leak interval when it is full. A burst therefore runs at full
//! speed while the bucket is empty and settles to the leak rate as it fills, instead of hitting
//! 429s. A 429 sets the level to full so concurrent callers back off too.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The header Shopify reports the bucket in.
pub const CALL_LIMIT_HEADER: &str = "x-shopify-shop-api-call-limit";

/// Parses `32/40` into `(used, size)`.
pub fn parse_call_limit(value: &str) -> Option<(u32, u32)> {
    let (used, size) = value.trim().split_once('/')?;
    let used = used.trim().parse().ok()?;
    let size: u32 = size.trim().parse().ok()?;
    (size > 0).then_some((used, size))
}

#[derive(Debug)]
struct Level {
    /// Estimated requests in the bucket at `at`.
    used: f64,
    size: f64,
    at: Instant,
}

/// One shop's bucket as this client sees it. Shared by all clones of a client.
#[derive(Debug)]
pub struct ClientBucket {
    level: Mutex<Level>,
    leak_per_sec: f64,
    pacing: bool,
}

impl ClientBucket {
    /// A bucket assumed empty, of `size` requests, leaking `leak_per_sec`. With `pacing`
    /// false the client never waits (it still tracks the level for [`ClientBucket::level`]).
    pub fn new(size: u32, leak_per_sec: f64, pacing: bool) -> Self {
        ClientBucket {
            level: Mutex::new(Level {
                used: 0.0,
                size: f64::from(size.max(1)),
                at: Instant::now(),
            }),
            leak_per_sec: leak_per_sec.max(0.1),
            pacing,
        }
    }

    fn leaked(&self, l: &mut Level, now: Instant) {
        let dt = now.saturating_duration_since(l.at).as_secs_f64();
        l.used = (l.used - dt * self.leak_per_sec).max(0.0);
        l.at = now;
    }

    /// How long to wait before the next request, given the level now. Counts the request as
    /// sent (at the end of the wait), so concurrent callers space themselves out.
    pub fn reserve(&self) -> Duration {
        let mut l = self.level.lock().expect("bucket lock");
        let now = Instant::now();
        self.leaked(&mut l, now);
        let half = l.size / 2.0;
        let interval = 1.0 / self.leak_per_sec;
        let wait = if !self.pacing || l.used <= half {
            0.0
        } else if l.used + 1.0 > l.size {
            // Full: wait until one request has leaked out, plus the pacing interval.
            (l.used + 1.0 - l.size) * interval + interval
        } else {
            (l.used - half) / half * interval
        };
        l.used += 1.0;
        Duration::from_secs_f64(wait)
    }

    /// Takes in what the shop reported (`used/size`) on an answer just received.
    pub fn observe(&self, used: u32, size: u32) {
        let mut l = self.level.lock().expect("bucket lock");
        l.used = f64::from(used);
        l.size = f64::from(size.max(1));
        l.at = Instant::now();
    }

    /// After a 429: the bucket is full.
    pub fn observe_full(&self) {
        let mut l = self.level.lock().expect("bucket lock");
        l.used = l.size;
        l.at = Instant::now();
    }

    /// The estimated level now, as `(used, size)` rounded up.
    pub fn level(&self) -> (u32, u32) {
        let mut l = self.level.lock().expect("bucket lock");
        self.leaked(&mut l, Instant::now());
        (l.used.ceil() as u32, l.size as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_header() {
        assert_eq!(parse_call_limit("32/40"), Some((32, 40)));
        assert_eq!(parse_call_limit(" 1 / 80 "), Some((1, 80)));
        assert_eq!(parse_call_limit("x/40"), None);
        assert_eq!(parse_call_limit("3/0"), None);
    }

    #[test]
    fn waits_grow_as_the_bucket_fills() {
        let b = ClientBucket::new(40, 2.0, true);
        b.observe(10, 40);
        assert_eq!(b.reserve(), Duration::ZERO);
        b.observe(30, 40);
        let mid = b.reserve();
        assert!(
            mid > Duration::ZERO && mid < Duration::from_millis(500),
            "{mid:?}"
        );
        b.observe(40, 40);
        assert!(b.reserve() >= Duration::from_millis(500));
        let off = ClientBucket::new(40, 2.0, false);
        off.observe(40, 40);
        assert_eq!(off.reserve(), Duration::ZERO);
    }
}
