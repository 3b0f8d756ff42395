//! Poll lag: seconds since each flow's last successful poll pass.
//!
//! A poll pass succeeds when its supervised loop (`poll:<flow>` for an order flow,
//! `pull:<flow>` for a CRM → store flow, see [`crate::sync::loops`]) ends a pass without error;
//! the supervisor's [`Health`](crate::sync::supervisor::Health) records that moment already, so
//! the lag is computed from it at scrape time and keeps growing between passes (a gauge set at
//! the pass would freeze at 0 while the loop hangs). A flow whose loop never succeeded since the
//! start has no series yet; `dealbridge_loop_failures` says why.

use crate::sync::supervisor::LoopHealth;
use chrono::{DateTime, Utc};

/// Gauge: seconds since the flow's last successful poll pass, by `flow`.
pub const POLL_LAG: &str = "dealbridge_poll_lag_seconds";

/// The flow a loop polls for, if it is a poll loop.
pub fn polled_flow(loop_name: &str) -> Option<&str> {
    loop_name
        .strip_prefix("poll:")
        .or_else(|| loop_name.strip_prefix("pull:"))
}

/// The poll lag family in the text format, from the loops' health at `now`.
pub fn lag_exposition(loops: &[LoopHealth], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for l in loops {
        let (Some(flow), Some(last)) = (polled_flow(&l.name), l.last_success) else {
            continue;
        };
        if out.is_empty() {
            out.push_str(&format!(
                "# HELP {POLL_LAG} Seconds since the flow's last successful poll pass.\n# TYPE {POLL_LAG} gauge\n"
            ));
        }
        let lag = (now - last).num_milliseconds().max(0) as f64 / 1000.0;
        out.push_str(&format!("{POLL_LAG}{{flow=\"{flow}\"}} {lag}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(name: &str, last_success: Option<DateTime<Utc>>) -> LoopHealth {
        LoopHealth {
            name: name.to_string(),
            last_success,
            ..LoopHealth::default()
        }
    }

    #[test]
    fn lag_grows_from_the_last_successful_pass_and_only_poll_loops_count() {
        let t = Utc::now();
        let loops = [
            health("poll:orders", Some(t)),
            health("pull:deals-back", Some(t - chrono::Duration::seconds(30))),
            health("poll:never", None),
            health("worker-0", Some(t)),
        ];
        let text = lag_exposition(&loops, t + chrono::Duration::milliseconds(2500));
        assert_eq!(
            text,
            format!(
                "# HELP {POLL_LAG} Seconds since the flow's last successful poll pass.\n# TYPE {POLL_LAG} gauge\n\
                 {POLL_LAG}{{flow=\"orders\"}} 2.5\n{POLL_LAG}{{flow=\"deals-back\"}} 32.5\n"
            )
        );
        assert_eq!(lag_exposition(&loops[3..], t), "");
    }
}
