//! The per-method operating-time budget behind `OPERATION_TIME_LIMIT`.
//!
//! Bitrix24 sums the execution time of each REST method (per app or webhook) over a 10-minute
//! window of ten 1-minute buckets; once a method's sum passes the budget (480 s in the docs'
//! cloud example), calls of *that method only* are refused with HTTP 429 until the oldest time
//! leaves the window. The outer `batch` is not counted (reference: B24DOC limits.md).
//!
//! The emulator cannot measure real execution time meaningfully, so every call of a method costs
//! a configured simulated time. The default cost is zero, so ordinary tests never trip it.
//! UNCONFIRMED simplifications: a sliding window instead of ten 1-minute buckets, and commands
//! nested in a `batch` are not charged (the portal charges them).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The operating-time budget and the simulated cost of one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatingLimits {
    /// Summed execution time a method may use within the window.
    pub budget: Duration,
    /// The window (10 minutes on real portals; shorter in tests).
    pub window: Duration,
    /// Simulated execution time charged per call (zero: the budget never trips).
    pub cost_per_call: Duration,
}

impl Default for OperatingLimits {
    /// The docs' cloud example: 480 s per 10 minutes, with calls that cost nothing.
    fn default() -> Self {
        OperatingLimits {
            budget: Duration::from_secs(480),
            window: Duration::from_secs(600),
            cost_per_call: Duration::ZERO,
        }
    }
}

/// What the meter says about a method after a call was charged or refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct OperatingState {
    /// Seconds the method has used in the window (`time.operating`).
    pub operating: f64,
    /// Unix time when the oldest charged call leaves the window (`time.operating_reset_at`).
    pub reset_at: i64,
}

/// Per-method charged calls within the window.
#[derive(Debug, Default)]
pub(crate) struct OperatingMeter {
    limits: OperatingLimits,
    calls: BTreeMap<String, VecDeque<(Instant, Duration)>>,
    refused: BTreeMap<String, u64>,
}

impl OperatingMeter {
    pub(crate) fn new(limits: OperatingLimits) -> Self {
        OperatingMeter {
            limits,
            ..OperatingMeter::default()
        }
    }

    /// Changes the limits, keeping what was charged.
    pub(crate) fn set_limits(&mut self, limits: OperatingLimits) {
        self.limits = limits;
    }

    /// Charges one call of `method`, or refuses it (`Err`) while the method is over budget.
    pub(crate) fn charge(&mut self, method: &str) -> Result<OperatingState, OperatingState> {
        if method.eq_ignore_ascii_case("batch") {
            return Ok(self.state(method));
        }
        let now = Instant::now();
        let window = self.limits.window;
        let calls = self.calls.entry(method.to_string()).or_default();
        while calls
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= window)
        {
            calls.pop_front();
        }
        let used: Duration = calls.iter().map(|(_, c)| *c).sum();
        if used >= self.limits.budget && !self.limits.cost_per_call.is_zero() {
            *self.refused.entry(method.to_string()).or_default() += 1;
            return Err(self.state(method));
        }
        if !self.limits.cost_per_call.is_zero() {
            calls.push_back((now, self.limits.cost_per_call));
        }
        Ok(self.state(method))
    }

    /// The method's current sum and reset time.
    pub(crate) fn state(&self, method: &str) -> OperatingState {
        let now = Instant::now();
        let calls = self.calls.get(method);
        let live = calls
            .into_iter()
            .flatten()
            .filter(|(t, _)| now.duration_since(*t) < self.limits.window);
        let used: Duration = live.clone().map(|(_, c)| *c).sum();
        let oldest_left = live
            .map(|(t, _)| self.limits.window.saturating_sub(now.duration_since(*t)))
            .next()
            .unwrap_or(self.limits.window);
        let reset = SystemTime::now() + oldest_left;
        let reset_at = reset
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs_f64().ceil() as i64);
        OperatingState {
            operating: used.as_secs_f64(),
            reset_at,
        }
    }

    /// Calls of `method` refused with `OPERATION_TIME_LIMIT` so far.
    pub(crate) fn refused(&self, method: &str) -> u64 {
        self.refused.get(method).copied().unwrap_or(0)
    }

    /// Calls refused with `OPERATION_TIME_LIMIT` so far, all methods.
    pub(crate) fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_only_the_method_over_budget_then_resets() {
        let mut m = OperatingMeter::new(OperatingLimits {
            budget: Duration::from_secs(3),
            window: Duration::from_millis(300),
            cost_per_call: Duration::from_secs(1),
        });
        for _ in 0..3 {
            assert!(m.charge("crm.deal.add").is_ok());
        }
        let refused = m.charge("crm.deal.add").unwrap_err();
        assert!((refused.operating - 3.0).abs() < 1e-9);
        assert!(m.charge("crm.contact.add").is_ok());
        assert!(m.charge("batch").is_ok());
        assert_eq!(m.refused("crm.deal.add"), 1);
        assert_eq!(m.refused_total(), 1);
        std::thread::sleep(Duration::from_millis(320));
        assert!(m.charge("crm.deal.add").is_ok());
    }

    #[test]
    fn zero_cost_never_trips() {
        let mut m = OperatingMeter::new(OperatingLimits::default());
        for _ in 0..1000 {
            assert!(m.charge("crm.deal.add").is_ok());
        }
        assert_eq!(m.refused_total(), 0);
    }
}
