//! The `time` object every answer carries.

use super::operating::OperatingState;
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

    /// The `time` object up to now. `operating` fields (the method's metered time) only on top-level answers (batch
    /// `result_time` entries have none, as in the docs' examples).
    pub(crate) fn time(&self, top_level: Option<OperatingState>) -> Value {
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
        if let Some(op) = top_level {
            t["operating_reset_at"] = json!(op.reset_at);
            t["operating"] = json!(op.operating);
        }
        t
    }
}
