//! The `time` object every answer carries.

use super::state::iso;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// A started request's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: DateTime<Utc>,
}

impl Clock {
    pub(crate) fn start() -> Self {
        Clock { start: Utc::now() }
    }

    /// The `time` object up to now. `operating` fields only on top-level answers (batch
    /// `result_time` entries have none, as in the docs' examples).
    pub(crate) fn time(&self, top_level: bool) -> Value {
        let finish = Utc::now();
        let secs = |t: DateTime<Utc>| t.timestamp_micros() as f64 / 1e6;
        let duration = secs(finish) - secs(self.start);
        let mut t = json!({
            "start": secs(self.start),
            "finish": secs(finish),
            "duration": duration,
            "processing": duration,
            "date_start": iso(self.start),
            "date_finish": iso(finish),
        });
        if top_level {
            // The operating-time window is ten minutes; the emulator does not meter it.
            t["operating_reset_at"] = json!(self.start.timestamp() + 600);
            t["operating"] = json!(0);
        }
        t
    }
}
