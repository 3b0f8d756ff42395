//! Retry delays: exponential backoff with ±25 % jitter.
//!
//! `nominal(n) = min(base · factor^(n-1), max)` for the n-th failed try (n ≥ 1), so with the
//! defaults 1 s, 2 s, 4 s, … 512 s, then 10 min for every later try. The jittered delay is
//! `nominal · (1 − jitter + 2 · jitter · u)` for a uniform u in [0, 1), capped at `max` again: with the
//! default jitter of 0.25 it lies in [0.75 · nominal, min(1.25 · nominal, max)]. Jitter spreads the
//! retries of many jobs that failed together (a CRM outage) so they do not return in one burst;
//! ±25 % rather than "full" jitter keeps the schedule predictable enough to read in `queue list`.

use std::time::Duration;

/// How long to wait before retrying a failed job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    /// Delay after the first failed try.
    pub base: Duration,
    /// Growth per further try.
    pub factor: u32,
    /// Upper bound of any delay.
    pub max: Duration,
    /// Jitter as a fraction of the nominal delay, in [0, 1].
    pub jitter: f64,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            factor: 2,
            max: Duration::from_secs(600),
            jitter: 0.25,
        }
    }
}

impl BackoffPolicy {
    /// The delay before retry after `attempt` tries (1-based), without jitter. Pure.
    pub fn nominal(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1);
        let mut d = self.base;
        for _ in 0..exp {
            d = d.saturating_mul(self.factor.max(1));
            if d >= self.max {
                return self.max;
            }
        }
        d.min(self.max)
    }

    /// The jittered delay for a given uniform sample `u` in [0, 1). Pure, so it can be tested
    /// at the bounds.
    pub fn delay_with(&self, attempt: u32, u: f64) -> Duration {
        let nominal = self.nominal(attempt);
        let j = self.jitter.clamp(0.0, 1.0);
        let scale = 1.0 - j + 2.0 * j * u.clamp(0.0, 1.0);
        nominal.mul_f64(scale).min(self.max)
    }

    /// The jittered delay before retry after `attempt` tries.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nominal_schedule_doubles_from_one_second_up_to_ten_minutes() {
        let p = BackoffPolicy::default();
        let secs: Vec<u64> = (1..=12).map(|n| p.nominal(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]);
        assert_eq!(p.nominal(0), Duration::from_secs(1));
        assert_eq!(p.nominal(u32::MAX), Duration::from_secs(600));
    }

    #[test]
    fn jitter_stays_within_a_quarter_of_nominal_and_under_the_cap() {
        let p = BackoffPolicy::default();
        assert_eq!(p.delay_with(3, 0.0), Duration::from_secs(3));
        assert_eq!(p.delay_with(3, 0.5), Duration::from_secs(4));
        assert!(p.delay_with(3, 0.999_999) < Duration::from_secs(5));
        assert_eq!(p.delay_with(20, 0.999), Duration::from_secs(600));
        assert_eq!(p.delay_with(20, 0.0), Duration::from_secs(450));
        for n in 1..=15 {
            let nominal = p.nominal(n);
            for _ in 0..200 {
                let d = p.delay(n);
                assert!(
                    d >= nominal.mul_f64(0.75),
                    "attempt {n}: {d:?} < 0.75·{nominal:?}"
                );
                assert!(
                    d <= nominal.mul_f64(1.25).min(p.max),
                    "attempt {n}: {d:?} too long"
                );
            }
        }
    }
}
