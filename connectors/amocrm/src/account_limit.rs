//! One request limiter per amoCRM account, shared by every client built for it in the process.
//!
//! amoCRM counts requests per account ("not more than 7 requests per second"; reference:
//! developers.kommo.com/docs/limitations), not per client object. Flows and catalog jobs each
//! build their own [`crate::client::AmoClient`]; with a limiter each, two flows on one account
//! would send 14/s together and bounce off the 429. So limiters live in a process-wide registry
//! keyed by the account's origin (`https://sub.amocrm.ru`) and the configured rate: clients for one
//! account with the same limits share one limiter. Keying on the rate too keeps a client
//! configured differently (a test's unlimited client) from silently changing another's budget.

use dealbridge_sdk::http::{RateLimit, RateLimiter};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

type Key = (String, u32, u32);

fn registry() -> &'static Mutex<HashMap<Key, RateLimiter>> {
    static REGISTRY: OnceLock<Mutex<HashMap<Key, RateLimiter>>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// The limiter every client of the account at `origin` with `rate` shares.
pub(crate) fn shared_limiter(origin: &str, rate: RateLimit, margin: Duration) -> RateLimiter {
    let key = (origin.to_ascii_lowercase(), rate.per_second, rate.burst);
    let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
    map.entry(key)
        .or_insert_with(|| RateLimiter::with_margin(rate.per_second, rate.burst, margin))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_limiter_per_account_and_rate() {
        let rate = RateLimit {
            per_second: 7,
            burst: 1,
        };
        let a = shared_limiter("https://one.amocrm.ru", rate, Duration::ZERO);
        let b = shared_limiter("https://ONE.amocrm.ru", rate, Duration::ZERO);
        let c = shared_limiter("https://two.amocrm.ru", rate, Duration::ZERO);
        assert!(a.same_as(&b));
        assert!(!a.same_as(&c));
    }
}
