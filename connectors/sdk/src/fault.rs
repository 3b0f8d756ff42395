//! Fault injection and call counters for the vendor emulators.
//!
//! An emulator consults [`Faults::roll`] before answering each API call; the outcome says whether
//! to answer normally, with the vendor's own server error, with its throttling answer, after a
//! delay, or to drop the connection without an answer. [`Faults::plan`] scripts exact outcomes
//! for the next calls ("the next 2 calls are throttled"), so a test can provoke one answer
//! without racing a probability. [`CallCounters`] counts calls per method so tests can assert
//! "the second sync made zero write calls".

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Fault settings; all rates are probabilities in `0.0..=1.0`. The defaults inject nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Share of calls answered with the vendor's 500 error body.
    pub error_rate: f64,
    /// Share of calls answered with the vendor's throttling answer (Bitrix24 503
    /// `QUERY_LIMIT_EXCEEDED`, 429 elsewhere).
    pub throttle_rate: f64,
    /// Share of calls that hang past any client timeout (the connection then drops).
    pub timeout_rate: f64,
    /// Share of calls whose connection is closed before any answer.
    pub drop_rate: f64,
    /// Share of calls that *do the work* and then drop the connection before answering: the
    /// client sees a failure although the write landed (the classic duplicate maker).
    pub drop_after_write_rate: f64,
    /// Fixed latency added to every call.
    #[serde(with = "millis")]
    pub latency: Duration,
    /// How long a "timeout" call hangs before dropping.
    #[serde(with = "millis")]
    pub hang: Duration,
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// What the emulator should do with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOutcome {
    /// Answer normally.
    Pass,
    /// Answer with the vendor's internal server error.
    ServerError,
    /// Answer with the vendor's throttling response.
    Throttle,
    /// Hang for [`FaultConfig::hang`], then drop the connection.
    Timeout,
    /// Drop the connection at once.
    Drop,
    /// Do the work, then drop the connection instead of answering.
    DropAfterWrite,
}

impl FaultOutcome {
    /// Position in the draw counters.
    fn index(self) -> usize {
        match self {
            FaultOutcome::Pass => 0,
            FaultOutcome::ServerError => 1,
            FaultOutcome::Throttle => 2,
            FaultOutcome::Timeout => 3,
            FaultOutcome::Drop => 4,
            FaultOutcome::DropAfterWrite => 5,
        }
    }
}

/// Shared, changeable fault settings of one emulator.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    config: Arc<Mutex<FaultConfig>>,
    /// Outcomes scripted for the next calls, consumed before any random draw.
    planned: Arc<Mutex<VecDeque<FaultOutcome>>>,
    /// How many times each outcome was drawn, in [`FaultOutcome::index`] order.
    rolled: Arc<[AtomicU64; 6]>,
}

impl Faults {
    /// Replaces the settings.
    pub fn set(&self, config: FaultConfig) {
        *self.config.lock().expect("fault lock") = config;
    }

    /// The current settings.
    pub fn get(&self) -> FaultConfig {
        self.config.lock().expect("fault lock").clone()
    }

    /// Makes each of the next `calls` calls (after any already planned) end in `outcome`,
    /// whatever the rates say. Deterministic, unlike the rates: "the next call is throttled".
    pub fn plan(&self, outcome: FaultOutcome, calls: usize) {
        let mut planned = self.planned.lock().expect("fault lock");
        planned.extend(std::iter::repeat_n(outcome, calls));
    }

    /// How many planned outcomes are still waiting for a call.
    pub fn planned(&self) -> usize {
        self.planned.lock().expect("fault lock").len()
    }

    /// How many calls drew `outcome` so far (planned or by the rates), so a test can check
    /// what a client saw against what the emulator did ("12 calls were throttled").
    pub fn rolled(&self, outcome: FaultOutcome) -> u64 {
        self.rolled[outcome.index()].load(Ordering::Relaxed)
    }

    /// Draws the outcome for one call: the next planned one if any, else by the rates.
    pub fn roll(&self) -> FaultOutcome {
        let outcome = self.draw();
        self.rolled[outcome.index()].fetch_add(1, Ordering::Relaxed);
        outcome
    }

    fn draw(&self) -> FaultOutcome {
        if let Some(next) = self.planned.lock().expect("fault lock").pop_front() {
            return next;
        }
        let c = self.get();
        let x: f64 = rand::rng().random();
        let mut edge = c.error_rate;
        if x < edge {
            return FaultOutcome::ServerError;
        }
        edge += c.throttle_rate;
        if x < edge {
            return FaultOutcome::Throttle;
        }
        edge += c.timeout_rate;
        if x < edge {
            return FaultOutcome::Timeout;
        }
        edge += c.drop_rate;
        if x < edge {
            return FaultOutcome::Drop;
        }
        edge += c.drop_after_write_rate;
        if x < edge {
            return FaultOutcome::DropAfterWrite;
        }
        FaultOutcome::Pass
    }
}

/// Per-method call counters, split into all calls and calls that were answered successfully,
/// and when each call arrived (so tests can check a client's request rate as the server saw it).
#[derive(Debug, Clone, Default)]
pub struct CallCounters {
    inner: Arc<Mutex<BTreeMap<String, MethodCount>>>,
    arrivals: Arc<Mutex<std::collections::VecDeque<std::time::Instant>>>,
}

/// Arrival times kept: the newest this many (a benchmark's millions of calls stay bounded).
const MAX_ARRIVALS: usize = 100_000;

/// Counts for one method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodCount {
    /// Every call received, faulted or not.
    pub calls: u64,
    /// Calls that reached the method's logic (not rejected by auth, limits or faults).
    pub served: u64,
}

impl CallCounters {
    /// Records a call received.
    pub fn call(&self, method: &str) {
        {
            let mut a = self.arrivals.lock().expect("arrivals lock");
            if a.len() == MAX_ARRIVALS {
                a.pop_front();
            }
            a.push_back(std::time::Instant::now());
        }
        self.inner
            .lock()
            .expect("counter lock")
            .entry(method.to_string())
            .or_default()
            .calls += 1;
    }

    /// Records a call that reached the method's logic.
    pub fn served(&self, method: &str) {
        self.inner
            .lock()
            .expect("counter lock")
            .entry(method.to_string())
            .or_default()
            .served += 1;
    }

    /// A copy of all counts.
    pub fn snapshot(&self) -> BTreeMap<String, MethodCount> {
        self.inner.lock().expect("counter lock").clone()
    }

    /// Counts for one method.
    pub fn get(&self, method: &str) -> MethodCount {
        self.snapshot().get(method).copied().unwrap_or_default()
    }

    /// When each call (of any method) arrived, oldest first; the newest 100,000 at most.
    pub fn arrivals(&self) -> Vec<std::time::Instant> {
        self.arrivals
            .lock()
            .expect("arrivals lock")
            .iter()
            .copied()
            .collect()
    }

    /// Sets every count back to zero and forgets the arrival times.
    pub fn reset(&self) {
        self.arrivals.lock().expect("arrivals lock").clear();
        self.inner.lock().expect("counter lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_faults_always_pass() {
        let f = Faults::default();
        assert!((0..1000).all(|_| f.roll() == FaultOutcome::Pass));
    }

    #[test]
    fn full_error_rate_always_errors() {
        let f = Faults::default();
        f.set(FaultConfig {
            error_rate: 1.0,
            ..Default::default()
        });
        assert!((0..100).all(|_| f.roll() == FaultOutcome::ServerError));
    }

    #[test]
    fn rates_are_roughly_honoured() {
        let f = Faults::default();
        f.set(FaultConfig {
            throttle_rate: 0.3,
            ..Default::default()
        });
        let n = (0..10_000)
            .filter(|_| f.roll() == FaultOutcome::Throttle)
            .count();
        assert!((2_500..3_500).contains(&n), "{n}");
    }

    #[test]
    fn planned_outcomes_come_first_then_the_rates() {
        let f = Faults::default();
        f.plan(FaultOutcome::Throttle, 2);
        f.plan(FaultOutcome::ServerError, 1);
        assert_eq!(f.planned(), 3);
        assert_eq!(f.roll(), FaultOutcome::Throttle);
        assert_eq!(f.roll(), FaultOutcome::Throttle);
        assert_eq!(f.roll(), FaultOutcome::ServerError);
        assert_eq!(f.roll(), FaultOutcome::Pass);
        assert_eq!(f.planned(), 0);
        assert_eq!(f.rolled(FaultOutcome::Throttle), 2);
        assert_eq!(f.rolled(FaultOutcome::ServerError), 1);
        assert_eq!(f.rolled(FaultOutcome::Pass), 1);
    }

    #[test]
    fn counters_count_per_method() {
        let c = CallCounters::default();
        c.call("crm.deal.add");
        c.call("crm.deal.add");
        c.served("crm.deal.add");
        assert_eq!(
            c.get("crm.deal.add"),
            MethodCount {
                calls: 2,
                served: 1
            }
        );
        assert_eq!(c.get("crm.deal.list"), MethodCount::default());
    }
}
