//! Supervised background loops and the health registry they report to.
//!
//! Every loop of `dealbridge run` (workers, pollers, deal pulls, the inbox, the catalog push
//! after a 1C exchange, schedules, retention) is one [`supervise`] call around a *pass*: one unit
//! of work, including whatever waiting it does before or after. A pass that fails is logged with
//! its error chain, recorded in [`Health`], and followed by a growing pause ([`Backoff`]); then
//! the loop carries on, like zero2prod's `worker_loop`. A pass that panics is treated the same
//! way: each pass runs in its own task, so a panic surfaces as a `JoinError` instead of
//! silently ending the loop.
//!
//! [`Health`] is what `/healthz` and `/status` read: per loop, the last success, the last error
//! and since when the loop has been failing.

use super::engine::error_chain;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// How long a loop may fail before `/healthz` reports it, unless the settings say otherwise.
pub const DEFAULT_UNHEALTHY_AFTER: Duration = Duration::from_secs(60);

/// What one loop has been doing, as `/status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoopHealth {
    /// The loop's name (`worker-0`, `poll:orders`, `schedule:nightly`, …).
    pub name: String,
    /// When a pass last succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// The last failure's error chain (kept after a recovery, for the record).
    pub last_error: Option<String>,
    /// When the last failure happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// The last failure's connector error code (`auth`, `transient`, …), when a connector's
    /// error caused it: what the alerts read to tell a revoked token from an outage.
    pub last_error_kind: Option<String>,
    /// The first failure of the current run of failures; `None` while the loop is healthy.
    pub failing_since: Option<DateTime<Utc>>,
    /// Failures in a row; 0 after a success.
    pub consecutive_failures: u32,
    /// The loop has ended (cancelled, or nothing left to do, e.g. a schedule without a next
    /// fire time). An ended loop is never reported as failing.
    pub ended: bool,
}

impl LoopHealth {
    /// Failing for longer than `bound` at `now`.
    pub fn failing_longer_than(&self, bound: Duration, now: DateTime<Utc>) -> bool {
        !self.ended
            && self
                .failing_since
                .is_some_and(|since| (now - since).to_std().unwrap_or_default() > bound)
    }
}

/// The shared registry of loop health: written by the supervised loops, read by the server.
///
/// A plain `std` mutex: every critical section is a map lookup and a few assignments, never
/// held across an `.await` (mini-redis's `Db` makes the same choice).
#[derive(Debug)]
pub struct Health {
    loops: Mutex<BTreeMap<String, LoopHealth>>,
    /// [`Health::unhealthy_after`] in milliseconds; an atomic so the engine can hand over its
    /// setting when it starts, after the server already holds the registry.
    unhealthy_after_ms: AtomicU64,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            loops: Mutex::default(),
            unhealthy_after_ms: AtomicU64::new(millis(DEFAULT_UNHEALTHY_AFTER)),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Health {
    /// How long a loop may keep failing before it makes the process unhealthy.
    pub fn unhealthy_after(&self) -> Duration {
        Duration::from_millis(self.unhealthy_after_ms.load(Ordering::Relaxed))
    }

    /// Sets [`Health::unhealthy_after`].
    pub fn set_unhealthy_after(&self, bound: Duration) {
        self.unhealthy_after_ms
            .store(millis(bound), Ordering::Relaxed);
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut LoopHealth)) {
        // A panic while holding this lock cannot leave a half-written entry that matters (the
        // worst is one stale field), so a poisoned lock is used as is.
        let mut loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        let entry = loops.entry(name.to_string()).or_insert_with(|| LoopHealth {
            name: name.to_string(),
            ..LoopHealth::default()
        });
        f(entry);
    }

    /// Lists a loop before its first pass ends, so `/status` shows it from the start.
    pub fn register(&self, name: &str) {
        self.update(name, |l| l.ended = false);
    }

    /// A pass of `name` succeeded: the run of failures, if any, is over.
    pub fn record_success(&self, name: &str) {
        self.update(name, |l| {
            l.last_success = Some(Utc::now());
            l.failing_since = None;
            l.consecutive_failures = 0;
        });
    }

    /// A pass of `name` failed with `error` (an error chain).
    pub fn record_failure(&self, name: &str, error: &str) {
        self.record_failure_kind(name, error, None);
    }

    /// A pass of `name` failed with `error`, caused by a connector error of code `kind`.
    pub fn record_failure_kind(&self, name: &str, error: &str, kind: Option<&str>) {
        let now = Utc::now();
        self.update(name, |l| {
            l.last_error = Some(error.to_string());
            l.last_error_kind = kind.map(str::to_string);
            l.last_error_at = Some(now);
            l.failing_since.get_or_insert(now);
            l.consecutive_failures = l.consecutive_failures.saturating_add(1);
        });
    }

    /// The loop `name` ended.
    pub fn record_ended(&self, name: &str) {
        self.update(name, |l| l.ended = true);
    }

    /// Every loop, by name.
    pub fn snapshot(&self) -> Vec<LoopHealth> {
        let loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        loops.values().cloned().collect()
    }

    /// One loop, if it was ever registered.
    pub fn get(&self, name: &str) -> Option<LoopHealth> {
        let loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        loops.get(name).cloned()
    }

    /// The loops failing for longer than [`Health::unhealthy_after`] at `now`.
    pub fn failing(&self, now: DateTime<Utc>) -> Vec<LoopHealth> {
        let bound = self.unhealthy_after();
        self.snapshot()
            .into_iter()
            .filter(|l| l.failing_longer_than(bound, now))
            .collect()
    }
}

/// Pause after failures in a row: `first`, doubled per further failure, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The pause after the first failure.
    pub first: Duration,
    /// The longest pause.
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s, 2 s, 4 s, … up to 30 s: a database restart is waited out within seconds of its
    /// return, and a long outage costs one attempt per loop every half minute.
    fn default() -> Self {
        Backoff {
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The pause after `failures` failures in a row (`0` is no pause).
    pub fn delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        // 2^20 × anything sensible is past any cap; the shift cannot overflow.
        let factor = 1u32 << (failures - 1).min(20);
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// What a pass asks for after it succeeded. The supervisor does the waiting, so the success is
/// recorded as soon as the work is done, not after the pause that follows it.
#[derive(Debug, Clone)]
pub enum Next {
    /// Run the next pass at once.
    Now,
    /// Pause this long first.
    After(Duration),
    /// Pause until `wake` is notified or `at_most` has passed.
    WakeOr(Arc<Notify>, Duration),
    /// The loop has nothing left to do.
    End,
}

/// Waits as `next` says; `false` when the loop ends (asked to, or `stop` came first).
async fn wait(next: Next, stop: &CancellationToken) -> bool {
    let pause = match next {
        Next::Now => return true,
        Next::End => return false,
        Next::After(pause) => pause,
        Next::WakeOr(wake, at_most) => {
            tokio::select! {
                _ = stop.cancelled() => return false,
                _ = wake.notified() => return true,
                _ = tokio::time::sleep(at_most) => return true,
            }
        }
    };
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(pause) => true,
    }
}

/// What a supervised loop needs besides its pass.
#[derive(Clone)]
pub struct Supervision {
    /// The registry the loop reports to.
    pub health: Arc<Health>,
    /// Cancelled at shutdown: the loop takes no new pass and cuts its backoff short.
    pub stop: CancellationToken,
    /// Pauses after failures.
    pub backoff: Backoff,
}

/// Runs `pass` again and again under the name `name` until `sup.stop` is cancelled or a pass
/// returns `Ok(Next::End)`; after a success it waits as the pass asked ([`Next`]).
///
/// A failed pass is logged with its error chain, recorded, and followed by a [`Backoff`] pause;
/// a panicking pass is recorded the same way. Neither ends the loop. A pass is never cut short
/// at shutdown (a worker finishes the job it holds, so its lease ends cleanly): a pass that
/// waits before its work (for a wake-up, a fire time) must watch `stop` itself.
pub async fn supervise<F, Fut, E>(name: String, sup: Supervision, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Next, E>> + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    sup.health.register(&name);
    let mut failures: u32 = 0;
    while !sup.stop.is_cancelled() {
        // Its own task, so that a panic comes back as a `JoinError` we can record.
        let (error, kind) = match tokio::spawn(pass()).await {
            Ok(Ok(next)) => {
                if failures > 0 {
                    info!(task = %name, failures, "recovered");
                }
                failures = 0;
                sup.health.record_success(&name);
                if !wait(next, &sup.stop).await {
                    break;
                }
                continue;
            }
            Ok(Err(e)) => (error_chain(&e), connector_code(&e)),
            Err(join) => (panic_message(join), None),
        };
        failures = failures.saturating_add(1);
        sup.health.record_failure_kind(&name, &error, kind);
        let pause = sup.backoff.delay(failures);
        error!(task = %name, failures, retry_in = ?pause, error = %error, "pass failed; retrying after a pause");
        tokio::select! {
            _ = sup.stop.cancelled() => break,
            _ = tokio::time::sleep(pause) => {}
        }
    }
    sup.health.record_ended(&name);
}

/// The code of the first connector error in `e`'s chain (`auth` for a rejected token).
fn connector_code(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(c) = err.downcast_ref::<dealbridge_sdk::ConnectorError>() {
            return Some(c.kind.code());
        }
        cur = err.source();
    }
    None
}

/// A `JoinError` as a line: the panic's message when it had one.
fn panic_message(join: tokio::task::JoinError) -> String {
    if !join.is_panic() {
        return format!("task ended abnormally: {join}");
    }
    let payload = join.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    format!("panicked: {text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    #[derive(Debug, thiserror::Error)]
    #[error("pass failed")]
    struct Failed(#[source] std::io::Error);

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Backoff::default();
        let secs: Vec<u64> = (0..9).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(secs, [0, 1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(30));
    }

    fn quick(stop: &CancellationToken) -> Supervision {
        Supervision {
            health: Arc::new(Health::default()),
            stop: stop.clone(),
            backoff: Backoff {
                first: Duration::from_millis(20),
                max: Duration::from_millis(80),
            },
        }
    }

    #[tokio::test]
    async fn failures_are_recorded_with_their_chain_and_success_resets_them() {
        let stop = CancellationToken::new();
        let sup = quick(&stop);
        let health = sup.health.clone();
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let s = stop.clone();
        let started = std::time::Instant::now();
        // Fails three times, then succeeds once and asks to end.
        supervise("flaky".into(), sup, move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            let s = s.clone();
            async move {
                if n < 3 {
                    return Err(Failed(std::io::Error::other("disk on fire")));
                }
                s.cancel();
                Ok(Next::Now)
            }
        })
        .await;
        // 20 + 40 + 80 ms of backoff were waited.
        assert!(started.elapsed() >= Duration::from_millis(140));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        let l = health.get("flaky").unwrap();
        assert_eq!(l.consecutive_failures, 0);
        assert_eq!(l.failing_since, None);
        assert!(l.last_success.is_some());
        assert_eq!(l.last_error.as_deref(), Some("pass failed: disk on fire"));
        assert!(l.ended);
    }

    #[tokio::test]
    async fn a_connector_error_in_the_chain_names_its_kind() {
        use dealbridge_sdk::{ConnectorError, ErrorKind};
        let stop = CancellationToken::new();
        let sup = quick(&stop);
        let health = sup.health.clone();
        let s = stop.clone();
        supervise("poll:orders".into(), sup, move || {
            s.cancel();
            async {
                Err::<Next, _>(crate::sync::SyncError::Source {
                    flow: "orders".into(),
                    source: ConnectorError::new(ErrorKind::Auth, "woocommerce", "401: key revoked"),
                })
            }
        })
        .await;
        let l = health.get("poll:orders").unwrap();
        assert_eq!(l.last_error_kind.as_deref(), Some("auth"));
        assert!(l.last_error.unwrap().contains("key revoked"));
    }

    #[tokio::test]
    async fn a_loop_failing_longer_than_the_bound_is_reported() {
        let health = Health::default();
        health.set_unhealthy_after(Duration::from_secs(5));
        health.register("poll:orders");
        health.record_failure("poll:orders", "boom");
        let now = Utc::now();
        assert!(health.failing(now).is_empty(), "not yet past the bound");
        let later = now + chrono::Duration::seconds(6);
        let failing = health.failing(later);
        assert_eq!(failing.len(), 1);
        assert_eq!(failing[0].name, "poll:orders");
        health.record_success("poll:orders");
        assert!(health.failing(later).is_empty(), "recovered");
    }

    #[tokio::test]
    async fn a_panicking_pass_is_recorded_and_the_loop_restarted() {
        let stop = CancellationToken::new();
        let sup = quick(&stop);
        let health = sup.health.clone();
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let s = stop.clone();
        let h = health.clone();
        supervise("panicky".into(), sup, move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            let s = s.clone();
            let h = h.clone();
            async move {
                match n {
                    0 => panic!("index out of bounds"),
                    _ => {
                        // The panic was recorded before this pass started.
                        let l = h.get("panicky").unwrap();
                        assert_eq!(l.consecutive_failures, 1);
                        assert_eq!(
                            l.last_error.as_deref(),
                            Some("panicked: index out of bounds")
                        );
                        s.cancel();
                        Ok::<_, Failed>(Next::Now)
                    }
                }
            }
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "restarted after the panic");
        let l = health.get("panicky").unwrap();
        assert_eq!(l.consecutive_failures, 0);
        assert!(l.last_success.is_some());
    }

    #[tokio::test]
    async fn stop_cuts_the_backoff_short() {
        let stop = CancellationToken::new();
        let mut sup = quick(&stop);
        sup.backoff = Backoff {
            first: Duration::from_secs(3600),
            max: Duration::from_secs(3600),
        };
        let s = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            s.cancel();
        });
        let started = std::time::Instant::now();
        supervise("down".into(), sup, || async {
            Err::<Next, _>(Failed(std::io::Error::other("down")))
        })
        .await;
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
