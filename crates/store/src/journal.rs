//! The journal: an append-only record of what was done to which entity in which system.

use chrono::{DateTime, Utc};

use crate::db::{ms, on_db, RowExt};
use crate::error::StoreError;
use crate::kinds::EntityKind;
use crate::store::Store;
use sqlx::AssertSqlSafe;

/// What to record.
#[derive(Debug, Clone, Copy)]
pub struct JournalEntry<'a> {
    /// Canonical entity kind, e.g. `order`.
    pub kind: EntityKind,
    /// Canonical entity id.
    pub entity_id: &'a str,
    /// The system acted on, e.g. `crm`.
    pub system: &'a str,
    /// What happened: `created`, `updated`, `skipped-unchanged`, `found-existing`, `dead`, …
    pub action: &'a str,
    /// The record's id in that system, when known.
    pub external_id: Option<&'a str>,
    /// The job that did it, if any.
    pub job_id: Option<i64>,
    /// Free text (or JSON) with the particulars.
    pub detail: Option<&'a str>,
}

/// A recorded journal line.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalRow {
    /// Row id (increasing).
    pub id: i64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Entity kind.
    pub kind: EntityKind,
    /// Entity id.
    pub entity_id: String,
    /// System acted on.
    pub system: String,
    /// What happened.
    pub action: String,
    /// External id, when known.
    pub external_id: Option<String>,
    /// The job that did it.
    pub job_id: Option<i64>,
    /// Particulars.
    pub detail: Option<String>,
}

const COLS: &str = "id, at, entity_kind, entity_id, system, action, external_id, job_id, detail";

fn from_row(r: &impl RowExt) -> Result<JournalRow, StoreError> {
    Ok(JournalRow {
        id: r.i64("id")?,
        at: r.time("at")?,
        kind: r.named("journal", "entity_kind")?,
        entity_id: r.text("entity_id")?,
        system: r.text("system")?,
        action: r.text("action")?,
        external_id: r.opt_text("external_id")?,
        job_id: r.opt_i64("job_id")?,
        detail: r.opt_text("detail")?,
    })
}

impl Store {
    /// Appends one entry, stamped with the clock's time.
    pub async fn journal(&self, e: &JournalEntry<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO journal (at, entity_kind, entity_id, system, action, external_id, job_id, detail) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        let now = ms(self.clock.now());
        on_db!(&self.db, pool => {
            sqlx::query(sql)
                .bind(now).bind(e.kind.as_str()).bind(e.entity_id).bind(e.system).bind(e.action)
                .bind(e.external_id).bind(e.job_id).bind(e.detail)
                .execute(pool).await
                .map_err(StoreError::db(format!(
                    "journaling {} of {} {} in {}", e.action, e.kind, e.entity_id, e.system
                )))?;
        });
        Ok(())
    }

    /// Everything recorded for one entity, oldest first.
    pub async fn journal_for(
        &self,
        kind: EntityKind,
        entity_id: &str,
    ) -> Result<Vec<JournalRow>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM journal WHERE entity_kind = $1 AND entity_id = $2 ORDER BY id"
        );
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(kind.as_str()).bind(entity_id).fetch_all(pool).await
                .map_err(StoreError::db(format!("reading the journal of {kind} {entity_id}")))?
                .iter().map(from_row).collect()
        })
    }

    /// The newest entry of each entity of `kind`, by entity id (e.g. each catalog flow's last
    /// pushed chunk, kind `catalog`).
    pub async fn journal_latest_per_entity(
        &self,
        kind: EntityKind,
    ) -> Result<Vec<JournalRow>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM journal WHERE id IN \
             (SELECT MAX(id) FROM journal WHERE entity_kind = $1 GROUP BY entity_id) \
             ORDER BY entity_id"
        );
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(kind.as_str()).fetch_all(pool).await
                .map_err(StoreError::db(format!("reading the latest {kind} journal entries")))?
                .iter().map(from_row).collect()
        })
    }

    /// The newest `limit` entries of one entity, newest first (e.g. the files of the latest
    /// 1C exchanges of one type; the entity index keeps it a short read however long the
    /// journal).
    pub async fn journal_latest_for(
        &self,
        kind: EntityKind,
        entity_id: &str,
        limit: u32,
    ) -> Result<Vec<JournalRow>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM journal WHERE entity_kind = $1 AND entity_id = $2 \
             ORDER BY id DESC LIMIT $3"
        );
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(kind.as_str()).bind(entity_id).bind(i64::from(limit))
                .fetch_all(pool).await
                .map_err(StoreError::db(format!("reading the latest journal of {kind} {entity_id}")))?
                .iter().map(from_row).collect()
        })
    }

    /// The latest `limit` entries, newest first.
    pub async fn journal_recent(&self, limit: u32) -> Result<Vec<JournalRow>, StoreError> {
        let sql = format!("SELECT {COLS} FROM journal ORDER BY id DESC LIMIT $1");
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(i64::from(limit)).fetch_all(pool).await
                .map_err(StoreError::db("reading the recent journal"))?
                .iter().map(from_row).collect()
        })
    }
}

/// Which journal lines an operator asks for (the console's Activity page): each filter is
/// optional; pages go back in time from `before` (a row id), newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// Only this entity kind.
    pub kind: Option<EntityKind>,
    /// Only this system.
    pub system: Option<String>,
    /// Only entities whose id contains this text (an order number, a flow's name).
    pub entity_contains: Option<String>,
    /// Only rows older than this row id (the next page).
    pub before: Option<i64>,
    /// At most this many rows.
    pub limit: u32,
}

impl Store {
    /// The journal lines `f` selects, newest first.
    pub async fn journal_page(&self, f: &JournalFilter) -> Result<Vec<JournalRow>, StoreError> {
        // Only the filters given become conditions, numbered in order, so one statement text
        // serves both databases without casts of untyped NULL parameters.
        let mut conds: Vec<String> = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if f.kind.is_some() {
            conds.push(format!("entity_kind = {}", next()));
        }
        if f.system.is_some() {
            conds.push(format!("system = {}", next()));
        }
        if f.entity_contains.is_some() {
            conds.push(format!("entity_id LIKE {} ESCAPE '\\'", next()));
        }
        if f.before.is_some() {
            conds.push(format!("id < {}", next()));
        }
        let limit = next();
        let filter = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        let sql = format!("SELECT {COLS} FROM journal {filter} ORDER BY id DESC LIMIT {limit}");
        let like = f.entity_contains.as_deref().map(|t| {
            let escaped = t
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        on_db!(&self.db, pool => {
            let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
            if let Some(k) = f.kind {
                q = q.bind(k.as_str());
            }
            if let Some(s) = &f.system {
                q = q.bind(s.as_str());
            }
            if let Some(l) = &like {
                q = q.bind(l.as_str());
            }
            if let Some(b) = f.before {
                q = q.bind(b);
            }
            q.bind(i64::from(f.limit)).fetch_all(pool).await
                .map_err(StoreError::db("reading a page of the journal".to_string()))?
                .iter().map(from_row).collect()
        })
    }
}
