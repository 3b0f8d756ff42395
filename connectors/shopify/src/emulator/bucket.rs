//! Shopify's REST leaky bucket, server side: `size` requests, leaking `leak_per_sec`. Every
//! authenticated call adds one; a call that would overflow is refused with 429 and
//! `Retry-After: 2.0` (what Shopify sends, whatever the real wait).

use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One shop's bucket.
#[derive(Debug, Clone)]
pub struct ServerBucket {
    inner: Arc<Mutex<(f64, Instant)>>,
    size: u32,
    leak_per_sec: f64,
}

impl ServerBucket {
    /// An empty bucket.
    pub fn new(size: u32, leak_per_sec: f64) -> Self {
        ServerBucket {
            inner: Arc::new(Mutex::new((0.0, Instant::now()))),
            size: size.max(1),
            leak_per_sec: leak_per_sec.max(0.01),
        }
    }

    fn leak(&self, state: &mut (f64, Instant)) {
        let now = Instant::now();
        let dt = now.saturating_duration_since(state.1).as_secs_f64();
        state.0 = (state.0 - dt * self.leak_per_sec).max(0.0);
        state.1 = now;
    }

    /// Adds one call. `Ok(level)` when it fits, `Err(level)` when the bucket is full.
    pub fn take(&self) -> Result<u32, u32> {
        let mut s = self.inner.lock().expect("bucket lock");
        self.leak(&mut s);
        if s.0 + 1.0 > f64::from(self.size) + 1e-9 {
            return Err(self.size);
        }
        s.0 += 1.0;
        Ok(s.0.ceil() as u32)
    }

    /// The level now, without adding a call.
    pub fn level(&self) -> u32 {
        let mut s = self.inner.lock().expect("bucket lock");
        self.leak(&mut s);
        s.0.ceil() as u32
    }

    /// The bucket size.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The `X-Shopify-Shop-Api-Call-Limit` value for a level.
    pub fn header(&self, level: u32) -> String {
        format!("{level}/{}", self.size)
    }
}
