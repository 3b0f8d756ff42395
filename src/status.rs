//! The status report: queue by state, bindings by kind, cursors (schedules' last runs among
//! them), each catalog's last push, open conflicts. One function feeds `dealbridge status`, the
//! status page and `/metrics`, so they never disagree.

use crate::sync::supervisor::LoopHealth;
use dealbridge_store::{EntityKind, Store, StoreError};
use serde::Serialize;
use std::fmt;

/// A snapshot of the engine's state.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// Jobs per state (`pending`, `running`, `done`, `dead`, `dropped`).
    pub queue: Vec<(String, i64)>,
    /// Bindings per system and kind.
    pub bindings: Vec<BindingCount>,
    /// Poll cursors.
    pub cursors: Vec<CursorRow>,
    /// Each catalog flow's last push (the journal's newest `catalog` entry per flow).
    pub catalogs: Vec<CatalogPush>,
    /// Conflicts waiting for someone.
    pub open_conflicts: i64,
    /// The running engine's loops (`/status` of `run`): last success and last error of each.
    /// Empty, and left out, where no engine runs beside the reader (`dealbridge status`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub loops: Vec<LoopHealth>,
}

/// When a catalog flow last wrote, and what.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogPush {
    /// The flow's name.
    pub flow: String,
    /// The system written.
    pub system: String,
    /// When (RFC 3339).
    pub at: String,
    /// What the chunk did (`300 products: 0 created, 1 updated, 0 adopted`).
    pub detail: String,
}

/// Bindings of one kind in one system.
#[derive(Debug, Clone, Serialize)]
pub struct BindingCount {
    /// System name.
    pub system: String,
    /// Entity kind.
    pub kind: EntityKind,
    /// How many.
    pub count: i64,
}

/// One poll cursor.
#[derive(Debug, Clone, Serialize)]
pub struct CursorRow {
    /// Cursor name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// When it last moved.
    pub updated_at: String,
}

impl StatusReport {
    /// Reads the report from the store.
    pub async fn gather(store: &Store) -> Result<StatusReport, StoreError> {
        let queue = store
            .queue()
            .counts()
            .await?
            .into_iter()
            .map(|(state, n)| (state.as_str().to_string(), n))
            .collect();
        let bindings = store
            .binding_counts()
            .await?
            .into_iter()
            .map(|(system, kind, count)| BindingCount {
                system,
                kind,
                count,
            })
            .collect();
        let cursors = store
            .cursors()
            .await?
            .into_iter()
            // OAuth token pairs live in the same table; they are secrets, never shown.
            .filter(|(name, _, _)| !name.starts_with("oauth:"))
            .map(|(name, value, at)| CursorRow {
                name,
                value,
                updated_at: at.to_rfc3339(),
            })
            .collect();
        let catalogs = store
            .journal_latest_per_entity(EntityKind::Catalog)
            .await?
            .into_iter()
            .map(|row| CatalogPush {
                flow: row
                    .entity_id
                    .strip_prefix("flow:")
                    .unwrap_or(&row.entity_id)
                    .to_string(),
                system: row.system,
                at: row.at.to_rfc3339(),
                detail: row.detail.unwrap_or_default(),
            })
            .collect();
        Ok(StatusReport {
            queue,
            bindings,
            cursors,
            catalogs,
            open_conflicts: store.open_conflict_count().await?,
            loops: Vec::new(),
        })
    }

    /// Jobs in one state.
    pub fn jobs(&self, state: &str) -> i64 {
        self.queue
            .iter()
            .find(|(s, _)| s == state)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }

    /// Prometheus text exposition of the same numbers.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP dealbridge_jobs Jobs in the queue by state.\n# TYPE dealbridge_jobs gauge\n",
        );
        for state in ["pending", "running", "done", "dead", "dropped"] {
            out.push_str(&format!(
                "dealbridge_jobs{{state=\"{state}\"}} {}\n",
                self.jobs(state)
            ));
        }
        out.push_str("# HELP dealbridge_bindings Bound entities by system and kind.\n# TYPE dealbridge_bindings gauge\n");
        for b in &self.bindings {
            out.push_str(&format!(
                "dealbridge_bindings{{system=\"{}\",kind=\"{}\"}} {}\n",
                b.system, b.kind, b.count
            ));
        }
        out.push_str("# HELP dealbridge_open_conflicts Conflicts waiting for resolution.\n# TYPE dealbridge_open_conflicts gauge\n");
        out.push_str(&format!(
            "dealbridge_open_conflicts {}\n",
            self.open_conflicts
        ));
        if !self.loops.is_empty() {
            out.push_str("# HELP dealbridge_loop_failures Failures in a row of each engine loop (0: healthy).\n# TYPE dealbridge_loop_failures gauge\n");
        }
        for l in &self.loops {
            out.push_str(&format!(
                "dealbridge_loop_failures{{loop=\"{}\"}} {}\n",
                l.name, l.consecutive_failures
            ));
        }
        out
    }
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "queue:")?;
        for state in ["pending", "running", "done", "dead", "dropped"] {
            writeln!(f, "  {state:<8} {}", self.jobs(state))?;
        }
        writeln!(f, "bindings:")?;
        if self.bindings.is_empty() {
            writeln!(f, "  (none)")?;
        }
        for b in &self.bindings {
            writeln!(f, "  {:<10} {:<8} {}", b.system, b.kind, b.count)?;
        }
        writeln!(f, "cursors:")?;
        if self.cursors.is_empty() {
            writeln!(f, "  (none)")?;
        }
        for c in &self.cursors {
            writeln!(f, "  {} = {} (moved {})", c.name, c.value, c.updated_at)?;
        }
        writeln!(f, "catalogs (last written):")?;
        if self.catalogs.is_empty() {
            writeln!(f, "  (none yet)")?;
        }
        for c in &self.catalogs {
            writeln!(f, "  {} -> {} at {}: {}", c.flow, c.system, c.at, c.detail)?;
        }
        write!(f, "open conflicts: {}", self.open_conflicts)?;
        if !self.loops.is_empty() {
            writeln!(f)?;
            write!(f, "loops:")?;
        }
        for l in &self.loops {
            write!(f, "\n  {}", LoopLine(l))?;
        }
        Ok(())
    }
}

/// One loop on one line of the text report: state, last success, last error.
struct LoopLine<'a>(&'a LoopHealth);

impl fmt::Display for LoopLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.0;
        let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map_or("never".to_string(), |t| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            })
        };
        let state = match (l.ended, l.failing_since) {
            (true, _) => "ended".to_string(),
            (false, Some(since)) => format!(
                "FAILING since {} ({} in a row)",
                at(Some(since)),
                l.consecutive_failures
            ),
            (false, None) => "ok".to_string(),
        };
        write!(
            f,
            "{:<24} {state}; last success {}",
            l.name,
            at(l.last_success)
        )?;
        if let Some(e) = &l.last_error {
            write!(f, "; last error at {}: {e}", at(l.last_error_at))?;
        }
        Ok(())
    }
}
