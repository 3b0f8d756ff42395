//! What the shared client layer counts: every API request [`crate::http::send`] makes, by
//! system and [`RequestOutcome`], and how long it took.
//!
//! The sdk only *emits*, through the [`metrics`] facade (as it logs through `tracing`): the
//! process that runs the connectors installs one recorder (the engine's `dealbridge::metrics`
//! does, once per process, behind a `OnceLock`) and renders it. With no recorder installed,
//! as in the emulators' own tests, every call here is a no-op.
//!
//! Labels are low-cardinality by construction: `system` is the connector's `SYSTEM` constant
//! (`"bitrix24"`), never a config name, URL or id, and `outcome` is one of five words.

use std::time::Duration;

/// Counter: API requests by `system` and `outcome`.
pub const API_REQUESTS: &str = "dealbridge_api_requests_total";
/// Histogram: API request duration in seconds (send to last body byte) by `system`.
pub const API_REQUEST_DURATION: &str = "dealbridge_api_request_duration_seconds";

/// How one API request ended, as far as the shared layer can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestOutcome {
    /// A 2xx (or 1xx/3xx) answer.
    Ok,
    /// The vendor said "too many requests" (429, or the connector's own throttle answer).
    Throttled,
    /// Any other 4xx.
    ClientError,
    /// A 5xx that is not a throttle.
    ServerError,
    /// No HTTP answer at all: connect failure, timeout, connection dropped mid-body.
    Network,
}

impl RequestOutcome {
    /// Every outcome, in the order the label values are listed.
    pub const ALL: [RequestOutcome; 5] = [
        RequestOutcome::Ok,
        RequestOutcome::Throttled,
        RequestOutcome::ClientError,
        RequestOutcome::ServerError,
        RequestOutcome::Network,
    ];

    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestOutcome::Ok => "ok",
            RequestOutcome::Throttled => "throttled",
            RequestOutcome::ClientError => "client_error",
            RequestOutcome::ServerError => "server_error",
            RequestOutcome::Network => "network",
        }
    }

    /// The outcome of an HTTP answer with `status`; `throttled` is the connector's verdict on
    /// the answer (see [`crate::http::send_with`]).
    pub fn of_status(status: u16, throttled: bool) -> RequestOutcome {
        if throttled {
            return RequestOutcome::Throttled;
        }
        match status {
            429 => RequestOutcome::Throttled,
            400..=499 => RequestOutcome::ClientError,
            500..=599 => RequestOutcome::ServerError,
            _ => RequestOutcome::Ok,
        }
    }
}

/// Records one request of `system` that ended in `outcome` after `took`.
pub fn record_request(system: &'static str, outcome: RequestOutcome, took: Duration) {
    metrics::counter!(API_REQUESTS, "system" => system, "outcome" => outcome.as_str()).increment(1);
    metrics::histogram!(API_REQUEST_DURATION, "system" => system).record(took.as_secs_f64());
}

/// Gives the recorder the help text and unit of the families above (call once, after the
/// recorder is installed).
pub fn describe() {
    metrics::describe_counter!(
        API_REQUESTS,
        "API requests to the stores and CRMs by system and outcome (ok, throttled, client_error, server_error, network)."
    );
    metrics::describe_histogram!(
        API_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "API request duration by system, from send to the last byte of the answer."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_of_statuses() {
        assert_eq!(RequestOutcome::of_status(200, false), RequestOutcome::Ok);
        assert_eq!(
            RequestOutcome::of_status(429, false),
            RequestOutcome::Throttled
        );
        assert_eq!(
            RequestOutcome::of_status(503, true),
            RequestOutcome::Throttled
        );
        assert_eq!(
            RequestOutcome::of_status(503, false),
            RequestOutcome::ServerError
        );
        assert_eq!(
            RequestOutcome::of_status(404, false),
            RequestOutcome::ClientError
        );
    }
}
