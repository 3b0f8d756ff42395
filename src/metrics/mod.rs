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
//! - Loop health (`dealbridge_loop_failures`) comes from the supervisor's memory.
//!
//! Labels are low-cardinality only: system, kind, flow, outcome, state, loop. Never an id, a URL
//! or an e-mail.

pub mod cached;
pub mod engine;

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

/// The process's recorder, installed on first use: counters and histograms of the sdk and the
/// engine land here. If another recorder was installed first (an embedding program's), the
/// handle renders nothing of ours, and says so in the log.
pub fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(dealbridge_sdk::metrics::API_REQUEST_DURATION.to_string()),
                REQUEST_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(engine::JOB_LATENCY.to_string()),
                    LATENCY_BUCKETS,
                )
            })
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed before dealbridge's; /metrics will lack the counters");
        }
        dealbridge_sdk::metrics::describe();
        engine::describe();
        spawn_upkeep(handle.clone());
        handle
    })
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
    recorder().render()
}
