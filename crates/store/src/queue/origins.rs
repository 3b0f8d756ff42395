//! Waiting work by where it came from: the `/metrics` gauges of queue depth and oldest pending
//! job per flow. One grouped query over the pending and running jobs; the flow is read from the
//! payload by the database's own JSON functions, so a backlog of 100,000 jobs costs one scan and
//! a handful of rows, not 100,000 payloads decoded in the engine.

use chrono::{DateTime, Utc};

use crate::db::{from_ms, on_db, Backend, RowExt};
use crate::error::StoreError;

use super::Queue;

/// Pending and running jobs of one origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingGroup {
    /// The payload's `flow` (order and deal jobs name the flow that queued them).
    pub flow: Option<String>,
    /// For a payload without a `flow`: the system before the first `:` of its `entity`
    /// (a payments job's `shop:1042` → `shop`), from which the engine finds the flow.
    pub entity_system: Option<String>,
    /// Pending jobs.
    pub pending: i64,
    /// Running jobs.
    pub running: i64,
    /// When the oldest pending one was enqueued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// The payload's `flow`, and the system of its `entity` when it has no flow. SQLite's
/// `json_extract` fails on text that is not JSON, hence `json_valid` first; PostgreSQL's payloads
/// are always written as JSON by `enqueue`.
const SQLITE: &str = "SELECT flow, CASE WHEN flow IS NULL \
       THEN substr(entity, 1, instr(entity || ':', ':') - 1) END AS entity_system, \
       state, COUNT(*) AS n, MIN(created_at) AS oldest \
     FROM (SELECT state, created_at, \
             CASE WHEN json_valid(payload) THEN json_extract(payload, '$.flow') END AS flow, \
             CASE WHEN json_valid(payload) THEN json_extract(payload, '$.entity') END AS entity \
           FROM jobs WHERE state IN ('pending', 'running')) AS waiting \
     GROUP BY 1, 2, 3";
const POSTGRES: &str = "SELECT flow, CASE WHEN flow IS NULL \
       THEN split_part(entity, ':', 1) END AS entity_system, \
       state, COUNT(*) AS n, MIN(created_at) AS oldest \
     FROM (SELECT state, created_at, payload::json ->> 'flow' AS flow, \
             payload::json ->> 'entity' AS entity \
           FROM jobs WHERE state IN ('pending', 'running')) AS waiting \
     GROUP BY 1, 2, 3";

impl Queue {
    /// Pending and running jobs grouped by origin (payload flow, or entity system), with the
    /// oldest pending job of each group. Finished jobs are not read.
    pub async fn waiting_by_origin(&self) -> Result<Vec<WaitingGroup>, StoreError> {
        let sql = match self.db.backend() {
            Backend::Sqlite => SQLITE,
            Backend::Postgres => POSTGRES,
        };
        type Row = (Option<String>, Option<String>, String, i64, Option<i64>);
        let rows: Vec<Row> = on_db!(&self.db, pool => {
            sqlx::query(sql).fetch_all(pool).await
                .map_err(StoreError::db("counting waiting jobs by flow"))?
                .iter()
                .map(|r| Ok((
                    r.opt_text("flow")?,
                    r.opt_text("entity_system")?,
                    r.text("state")?,
                    r.i64("n")?,
                    r.opt_i64("oldest")?,
                )))
                .collect::<Result<_, StoreError>>()?
        });
        let mut groups: Vec<WaitingGroup> = Vec::new();
        for (flow, entity_system, state, n, oldest) in rows {
            let i = match groups
                .iter()
                .position(|g| g.flow == flow && g.entity_system == entity_system)
            {
                Some(i) => i,
                None => {
                    groups.push(WaitingGroup {
                        flow,
                        entity_system,
                        pending: 0,
                        running: 0,
                        oldest_pending: None,
                    });
                    groups.len() - 1
                }
            };
            let g = &mut groups[i];
            if state == "pending" {
                g.pending += n;
                g.oldest_pending = oldest
                    .map(|t| from_ms(t, "oldest pending job"))
                    .transpose()?;
            } else {
                g.running += n;
            }
        }
        Ok(groups)
    }
}
