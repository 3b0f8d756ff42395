//! The conflict log: a field changed on both sides since the base snapshot. A rule (the field's
//! owner) may have decided it at once (logged as `resolved`), or it waits for a person (`open`;
//! the `manual` rule holds that entity's writes until it is resolved).

use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::db::{ms, on_db, RowExt};
use crate::error::StoreError;
use crate::kinds::EntityKind;
use crate::snapshot::canonical_json;
use crate::store::Store;
use sqlx::AssertSqlSafe;

/// Whether a conflict still waits for a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictState {
    /// Waiting for someone to resolve it.
    Open,
    /// Decided (by a rule or a person).
    Resolved,
}

impl ConflictState {
    /// `open` or `resolved`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictState::Open => "open",
            ConflictState::Resolved => "resolved",
        }
    }
}

impl FromStr for ConflictState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "open" => Ok(ConflictState::Open),
            "resolved" => Ok(ConflictState::Resolved),
            other => Err(format!(
                "unknown conflict state {other:?}; expected open or resolved"
            )),
        }
    }
}

/// A conflict to record.
#[derive(Debug, Clone, Copy)]
pub struct NewConflict<'a> {
    /// Canonical entity kind.
    pub kind: EntityKind,
    /// Canonical entity id.
    pub entity_id: &'a str,
    /// The canonical field, e.g. `status` or `lines[2].qty`.
    pub field: &'a str,
    /// The value in the last synced snapshot (None: the field was absent).
    pub base: Option<&'a serde_json::Value>,
    /// Our side's new value.
    pub ours: &'a serde_json::Value,
    /// The other side's new value.
    pub theirs: &'a serde_json::Value,
    /// The system "ours" came from.
    pub ours_system: &'a str,
    /// The system "theirs" came from.
    pub theirs_system: &'a str,
    /// The ownership rule applied: `erp`, `store`, `crm`, `newest`, `manual`.
    pub rule: &'a str,
    /// The side (system name) the rule chose; `None` leaves the conflict open for a person.
    pub chosen: Option<&'a str>,
    /// The value that won, when decided.
    pub chosen_value: Option<&'a serde_json::Value>,
    /// Why, in words a person reads in `conflicts show`.
    pub reason: &'a str,
}

/// A recorded conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// Row id.
    pub id: i64,
    /// Entity kind.
    pub kind: EntityKind,
    /// Entity id.
    pub entity_id: String,
    /// Field.
    pub field: String,
    /// Base value.
    pub base: Option<serde_json::Value>,
    /// Our value.
    pub ours: serde_json::Value,
    /// Their value.
    pub theirs: serde_json::Value,
    /// Our system.
    pub ours_system: String,
    /// Their system.
    pub theirs_system: String,
    /// Rule applied.
    pub rule: String,
    /// The side chosen, once decided.
    pub chosen: Option<String>,
    /// The winning value, once decided.
    pub chosen_value: Option<serde_json::Value>,
    /// Why (the rule's reason, or the resolver's).
    pub reason: String,
    /// Open or resolved.
    pub state: ConflictState,
    /// When it was found.
    pub created_at: DateTime<Utc>,
    /// When it was decided.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who decided: `rule:<rule>` or the person's name.
    pub resolved_by: Option<String>,
}

/// Which conflicts to list (all fields optional; newest first).
#[derive(Debug, Clone, Default)]
pub struct ConflictFilter {
    /// Only this state.
    pub state: Option<ConflictState>,
    /// Only this entity kind.
    pub kind: Option<EntityKind>,
    /// Only this entity id.
    pub entity_id: Option<String>,
    /// At most this many (0 means 100).
    pub limit: u32,
}

const COLS: &str = "id, entity_kind, entity_id, field, base, ours, theirs, ours_system, theirs_system, \
                    rule, chosen, chosen_value, reason, state, created_at, resolved_at, resolved_by";

fn from_row(r: &impl RowExt) -> Result<Conflict, StoreError> {
    let id = r.i64("id")?;
    Ok(Conflict {
        id,
        kind: r.named("conflicts", "entity_kind")?,
        entity_id: r.text("entity_id")?,
        field: r.text("field")?,
        base: r.opt_json("base")?,
        ours: r.json("ours")?,
        theirs: r.json("theirs")?,
        ours_system: r.text("ours_system")?,
        theirs_system: r.text("theirs_system")?,
        rule: r.text("rule")?,
        chosen: r.opt_text("chosen")?,
        chosen_value: r.opt_json("chosen_value")?,
        reason: r.text("reason")?,
        state: r
            .text("state")?
            .parse()
            .map_err(|e| StoreError::corrupt(format!("conflicts.state of conflict {id}"), e))?,
        created_at: r.time("created_at")?,
        resolved_at: r.opt_time("resolved_at")?,
        resolved_by: r.opt_text("resolved_by")?,
    })
}

impl Store {
    /// Records a conflict and returns its id. With `chosen` set it is stored as resolved by
    /// `rule:<rule>`; without, it is open.
    pub async fn record_conflict(&self, c: &NewConflict<'_>) -> Result<i64, StoreError> {
        let now = ms(self.clock.now());
        let (state, resolved_at, resolved_by) = match c.chosen {
            Some(_) => (
                ConflictState::Resolved,
                Some(now),
                Some(format!("rule:{}", c.rule)),
            ),
            None => (ConflictState::Open, None, None),
        };
        let sql = "INSERT INTO conflicts (entity_kind, entity_id, field, base, ours, theirs, ours_system, \
                   theirs_system, rule, chosen, chosen_value, reason, state, created_at, resolved_at, resolved_by) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id";
        let base = c.base.map(canonical_json);
        let chosen_value = c.chosen_value.map(canonical_json);
        on_db!(&self.db, pool => {
            let row = sqlx::query(sql)
                .bind(c.kind.as_str()).bind(c.entity_id).bind(c.field).bind(base.as_deref())
                .bind(canonical_json(c.ours)).bind(canonical_json(c.theirs))
                .bind(c.ours_system).bind(c.theirs_system).bind(c.rule).bind(c.chosen)
                .bind(chosen_value.as_deref()).bind(c.reason).bind(state.as_str()).bind(now)
                .bind(resolved_at).bind(resolved_by.as_deref())
                .fetch_one(pool).await
                .map_err(StoreError::db(format!(
                    "recording a conflict on {} {} field {}", c.kind, c.entity_id, c.field
                )))?;
            row.i64("id")
        })
    }

    /// One conflict by id.
    pub async fn conflict(&self, id: i64) -> Result<Option<Conflict>, StoreError> {
        let sql = format!("SELECT {COLS} FROM conflicts WHERE id = $1");
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(pool).await
                .map_err(StoreError::db(format!("reading conflict {id}")))?
                .as_ref().map(from_row).transpose()
        })
    }

    /// Conflicts matching the filter, newest first.
    pub async fn conflicts(&self, f: &ConflictFilter) -> Result<Vec<Conflict>, StoreError> {
        let mut sql = format!("SELECT {COLS} FROM conflicts WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        for (col, val) in [
            ("state", f.state.map(|s| s.as_str().to_string())),
            ("entity_kind", f.kind.map(|k| k.as_str().to_string())),
            ("entity_id", f.entity_id.clone()),
        ] {
            if let Some(v) = val {
                args.push(v);
                sql.push_str(&format!(" AND {col} = ${}", args.len()));
            }
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", args.len() + 1));
        let limit = i64::from(if f.limit == 0 { 100 } else { f.limit });
        on_db!(&self.db, pool => {
            let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
            for a in &args {
                q = q.bind(a.as_str());
            }
            q.bind(limit).fetch_all(pool).await
                .map_err(StoreError::db("listing conflicts"))?
                .iter().map(from_row).collect()
        })
    }

    /// Open conflicts of one entity (the `manual` rule holds its writes while any is open).
    pub async fn open_conflicts_for(
        &self,
        kind: EntityKind,
        entity_id: &str,
    ) -> Result<Vec<Conflict>, StoreError> {
        self.conflicts(&ConflictFilter {
            state: Some(ConflictState::Open),
            kind: Some(kind),
            entity_id: Some(entity_id.to_string()),
            limit: 1000,
        })
        .await
    }

    /// How many conflicts were ever recorded (open and resolved).
    pub async fn conflict_count(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) AS n FROM conflicts";
        on_db!(&self.db, pool => {
            sqlx::query(sql).fetch_one(pool).await
                .map_err(StoreError::db("counting conflicts"))?
                .i64("n")
        })
    }

    /// How many conflicts wait for a person.
    pub async fn open_conflict_count(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COUNT(*) AS n FROM conflicts WHERE state = 'open'";
        on_db!(&self.db, pool => {
            sqlx::query(sql).fetch_one(pool).await
                .map_err(StoreError::db("counting open conflicts"))?
                .i64("n")
        })
    }

    /// Resolves an open conflict: `chosen` names the winning side (a system name, or `custom`),
    /// `value` the winning value, `by` who decided, `reason` why. False if it was not open.
    pub async fn resolve_conflict(
        &self,
        id: i64,
        chosen: &str,
        value: Option<&serde_json::Value>,
        by: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE conflicts SET state = 'resolved', chosen = $1, chosen_value = $2, \
                   resolved_by = $3, reason = $4, resolved_at = $5 WHERE id = $6 AND state = 'open'";
        let now = ms(self.clock.now());
        let value = value.map(canonical_json);
        let n = on_db!(&self.db, pool => {
            sqlx::query(sql).bind(chosen).bind(value.as_deref()).bind(by).bind(reason).bind(now).bind(id)
                .execute(pool).await
                .map_err(StoreError::db(format!("resolving conflict {id}")))?
                .rows_affected()
        });
        Ok(n == 1)
    }
}
