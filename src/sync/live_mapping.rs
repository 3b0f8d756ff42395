//! A flow's mapping as the worker of a running engine plans with it: re-read from its file when
//! the file changes, so "fix the mapping, press Retry" works without restarting `run` (or the
//! sandbox). A file that no longer loads (an edit half done) keeps the last good mapping, with a
//! warning; the console's job page shows the file's error (it re-plans from the file itself).
//! Only the store → CRM planning follows the file: a two-way pair's reverse stage map and
//! ownership, and the payment method names, are still read at start.

use super::plan::{DealPlanner, PlanError};
use crate::config::SystemKind;
use crate::mapping::Mapping;
use dealbridge_sdk::model::{Deal, Order};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tracing::{info, warn};

/// What tells a changed file from an unchanged one without reading it.
type Stamp = Option<(SystemTime, u64)>;

/// The mapping file's modification time and length, `None` when it cannot be read.
fn stamp(path: &std::path::Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// A mapping that follows its file (see the module doc).
pub struct LiveMapping {
    source: SystemKind,
    target: SystemKind,
    current: Mutex<(Stamp, Arc<Mapping>)>,
}

impl LiveMapping {
    /// Starts from `mapping` as loaded with the config (orders from `source` to `target`).
    pub fn new(mapping: Mapping, source: SystemKind, target: SystemKind) -> Self {
        let at = stamp(&mapping.path);
        LiveMapping {
            source,
            target,
            current: Mutex::new((at, Arc::new(mapping))),
        }
    }

    /// The mapping now: re-read when the file's time or length changed since the last read.
    pub fn current(&self) -> Arc<Mapping> {
        let mut guard = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (seen, mapping) = &mut *guard;
        let now = stamp(&mapping.path);
        if now != *seen {
            *seen = now;
            match Mapping::load(&mapping.path, self.source, self.target) {
                Ok(fresh) => {
                    info!(file = %mapping.path.display(), "mapping file changed; planning with it from now on");
                    *mapping = Arc::new(fresh);
                }
                Err(e) => warn!(
                    file = %mapping.path.display(),
                    error = %e,
                    "mapping file changed but does not load; planning with the last good one"
                ),
            }
        }
        mapping.clone()
    }
}

impl DealPlanner for LiveMapping {
    fn plan(&self, order: &Order) -> Result<Deal, PlanError> {
        self.current().plan(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPPING: &str = include_str!("../../mappings/woocommerce-bitrix24.toml");

    fn kinds() -> (SystemKind, SystemKind) {
        (
            crate::connectors::kind("woocommerce").unwrap(),
            crate::connectors::kind("bitrix24").unwrap(),
        )
    }

    #[test]
    fn an_edited_file_is_planned_with_and_a_broken_one_keeps_the_last_good() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.toml");
        std::fs::write(&path, MAPPING).unwrap();
        let (s, t) = kinds();
        let live = LiveMapping::new(Mapping::load(&path, s, t).unwrap(), s, t);
        assert_eq!(live.current().stage_for("completed").unwrap(), "WON");
        // A longer file: changed even within the file system's time resolution.
        let edited = MAPPING.replace("completed = \"WON\"", "completed = \"PREPARATION\"");
        std::fs::write(&path, edited).unwrap();
        assert_eq!(
            live.current().stage_for("completed").unwrap(),
            "PREPARATION"
        );
        std::fs::write(&path, "[status_map\nbroken").unwrap();
        assert_eq!(
            live.current().stage_for("completed").unwrap(),
            "PREPARATION",
            "a file that does not load keeps the last good mapping"
        );
    }
}
