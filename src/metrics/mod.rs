//! The engine's metrics, served at `/metrics` in the Prometheus text exposition format.
//!
//! - Counters and histograms live in memory, in the one recorder of the process
//!   ([`metrics_exporter_prometheus`] behind the [`metrics`] facade), installed once by
//!   [`recorder`] behind a `OnceLock`. The sdk's shared client layer
//!   ([`dealbridge_sdk::metrics`]) and the engine ([`engine`]) emit into it; the facade makes a
//!   library's emission a no-op until a process installs a recorder, as `tracing` does for logs.
//! - Gauges that need the database (queue depth by state, oldest pending job, bindings, open
//!   conflicts) are read at most every [`cached::REFRESH`] by the scrape, never on each one
//!   ([`cached::DbGauges`]).
//! - Loop health (`dealbridge_loop_failures`) and poll lag ([`poll`]) come from the
//!   supervisor's memory.
//! - Catalog items pushed ([`catalog`]); the 1C endpoint's files and import durations
//!   ([`crate::onec::metrics`]).
//!
//! Labels are low-cardinality only: system, kind, flow, outcome, state, loop, catalog, action,
//! type. Never an id, a URL or an e-mail.
//!
//! `DEALBRIDGE_METRICS=off` in the environment installs no recorder: every counter and histogram
//! is then a no-op of the facade (what the webhook intake benchmark compares against), and
//! `/metrics` serves the database gauges only.

pub mod cached;
pub mod catalog;
pub mod engine;
pub mod poll;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Buckets of API request durations, in seconds.
const REQUEST_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Buckets of job latency (enqueue to done), in seconds: from a quick pass to a backlog of hours.
const LATENCY_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
];

/// The environment variable that turns the in-memory counters off (`off`, `false` or `0`).
pub const SWITCH_ENV: &str = "DEALBRIDGE_METRICS";

/// Whether the counters are on: unless [`SWITCH_ENV`] says `off`, `false` or `0`.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        let off = std::env::var(SWITCH_ENV).is_ok_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "off" | "false" | "0"
            )
        });
        if off {
            tracing::info!(
                "{SWITCH_ENV}=off: no metrics recorder; /metrics serves the database gauges only"
            );
        }
        !off
    })
}

/// The process's recorder, installed on first use: counters and histograms of the sdk and the
/// engine land here. If another recorder was installed first (an embedding program's), the
/// handle renders nothing of ours, and says so in the log. `None` when [`enabled`] is false.
pub fn recorder() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE.get_or_init(|| enabled().then(install)).as_ref()
}

fn install() -> PrometheusHandle {
    let buckets = [
        (
            dealbridge_sdk::metrics::API_REQUEST_DURATION,
            REQUEST_BUCKETS,
        ),
        (engine::JOB_LATENCY, LATENCY_BUCKETS),
        (
            crate::onec::metrics::IMPORT_DURATION,
            crate::onec::metrics::IMPORT_BUCKETS,
        ),
    ];
    let recorder = buckets
        .into_iter()
        .try_fold(PrometheusBuilder::new(), |b, (name, list)| {
            b.set_buckets_for_metric(Matcher::Full(name.to_string()), list)
        })
        .expect("bucket lists are not empty")
        .build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!(
            "a metrics recorder was installed before dealbridge's; /metrics will lack the counters"
        );
    }
    dealbridge_sdk::metrics::describe();
    engine::describe();
    catalog::describe();
    crate::onec::metrics::describe();
    spawn_upkeep(handle.clone());
    handle
}

/// How often histogram samples are folded into their buckets between scrapes.
const UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds the histograms' pending samples into their buckets every [`UPKEEP`], so memory stays
/// bounded when nobody scrapes (the exporter does this only on render otherwise). A plain
/// thread: the recorder may be installed before, or outside, a tokio runtime.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".to_string())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP);
            handle.run_upkeep();
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "metrics: cannot start the upkeep thread; histograms are folded on scrape only");
    }
}

/// The in-memory part of the exposition: every counter and histogram recorded so far.
pub fn render_counters() -> String {
    recorder().map(PrometheusHandle::render).unwrap_or_default()
}
