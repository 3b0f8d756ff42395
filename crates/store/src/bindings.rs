//! Bindings: which external record in which system a canonical entity is, plus the snapshot last
//! synced to/from that system (the base for three-way merge and for echo suppression).

use chrono::{DateTime, Utc};

use crate::db::{ms, on_db, RowExt};
use crate::error::{is_unique_violation, StoreError};
use crate::kinds::EntityKind;
use crate::snapshot::{canonical_json, snapshot_hash};
use crate::store::Store;
use sqlx::AssertSqlSafe;

/// One canonical entity's identity in one system.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// System name from the config, e.g. `shop` or `crm`.
    pub system: String,
    /// Entity kind, e.g. `order`, `deal`, `contact`.
    pub kind: EntityKind,
    /// The canonical entity id.
    pub entity_id: String,
    /// The record's id in that system.
    pub external_id: String,
    /// What was last synced to/from that system, if recorded.
    pub snapshot: Option<serde_json::Value>,
    /// [`snapshot_hash`] of `snapshot`.
    pub snapshot_hash: Option<String>,
    /// When the binding was last saved.
    pub synced_at: DateTime<Utc>,
}

/// A binding to save; the store computes the hash and the time.
#[derive(Debug, Clone, Copy)]
pub struct NewBinding<'a> {
    /// System name.
    pub system: &'a str,
    /// Entity kind.
    pub kind: EntityKind,
    /// Canonical entity id.
    pub entity_id: &'a str,
    /// Id in that system.
    pub external_id: &'a str,
    /// The synced state; `None` clears a previously stored snapshot.
    pub snapshot: Option<&'a serde_json::Value>,
}

const COLS: &str = "system, kind, entity_id, external_id, snapshot, snapshot_hash, synced_at";

fn from_row(r: &impl RowExt) -> Result<Binding, StoreError> {
    Ok(Binding {
        system: r.text("system")?,
        kind: r.named("bindings", "kind")?,
        entity_id: r.text("entity_id")?,
        external_id: r.text("external_id")?,
        snapshot: r.opt_json("snapshot")?,
        snapshot_hash: r.opt_text("snapshot_hash")?,
        synced_at: r.time("synced_at")?,
    })
}

impl Store {
    /// The binding of canonical entity (`kind`, `entity_id`) in `system`.
    pub async fn binding(
        &self,
        system: &str,
        kind: EntityKind,
        entity_id: &str,
    ) -> Result<Option<Binding>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM bindings WHERE system = $1 AND kind = $2 AND entity_id = $3"
        );
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(system).bind(kind.as_str()).bind(entity_id)
                .fetch_optional(pool).await
                .map_err(StoreError::db(format!("reading binding {system}/{kind}/entity {entity_id}")))?
                .as_ref().map(from_row).transpose()
        })
    }

    /// The binding of external record `external_id` of `kind` in `system` (reverse lookup).
    pub async fn binding_by_external(
        &self,
        system: &str,
        kind: EntityKind,
        external_id: &str,
    ) -> Result<Option<Binding>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM bindings WHERE system = $1 AND kind = $2 AND external_id = $3"
        );
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(system).bind(kind.as_str()).bind(external_id)
                .fetch_optional(pool).await
                .map_err(StoreError::db(format!("reading binding {system}/{kind}/external {external_id}")))?
                .as_ref().map(from_row).transpose()
        })
    }

    /// Every system's binding of one canonical entity, ordered by system.
    pub async fn bindings_for(
        &self,
        kind: EntityKind,
        entity_id: &str,
    ) -> Result<Vec<Binding>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM bindings WHERE kind = $1 AND entity_id = $2 ORDER BY system"
        );
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(kind.as_str()).bind(entity_id)
                .fetch_all(pool).await
                .map_err(StoreError::db(format!("reading bindings of {kind} {entity_id}")))?
                .iter().map(from_row).collect()
        })
    }

    /// Bindings of (`system`, `kind`) whose entity id starts with `prefix`, by entity id: the
    /// payments 1C recorded against one order are `("1c", Payment, "shop:123/payment/")`.
    pub async fn bindings_with_prefix(
        &self,
        system: &str,
        kind: EntityKind,
        prefix: &str,
    ) -> Result<Vec<Binding>, StoreError> {
        // substr instead of LIKE: ids may hold `%` and `_`; instead of a range: PostgreSQL
        // compares text by the database's collation, not by code point.
        let len = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
        let sql = format!(
            "SELECT {COLS} FROM bindings WHERE system = $1 AND kind = $2 \
             AND substr(entity_id, 1, $4) = $3 ORDER BY entity_id"
        );
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str())).bind(system).bind(kind.as_str()).bind(prefix).bind(len)
                .fetch_all(pool).await
                .map_err(StoreError::db(format!("reading {system}/{kind} bindings under {prefix}")))?
                .iter().map(from_row).collect()
        })
    }

    /// Bindings of `kind` held by systems other than `mirror_system` whose entity has no
    /// `mirror_kind` binding in `mirror_system` yet, oldest sync first: "orders not yet sent to
    /// 1C" is `unmirrored(Order, "1c", OrderExport, n)`.
    pub async fn unmirrored(
        &self,
        kind: EntityKind,
        mirror_system: &str,
        mirror_kind: EntityKind,
        limit: u32,
    ) -> Result<Vec<Binding>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM bindings b WHERE b.kind = $1 AND b.system <> $2 \
             AND NOT EXISTS (SELECT 1 FROM bindings m WHERE m.system = $2 AND m.kind = $3 \
             AND m.entity_id = b.entity_id) ORDER BY b.synced_at, b.entity_id LIMIT $4"
        );
        on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(kind.as_str()).bind(mirror_system).bind(mirror_kind.as_str()).bind(i64::from(limit))
                .fetch_all(pool).await
                .map_err(StoreError::db(format!("listing {kind} bindings not yet in {mirror_system}")))?
                .iter().map(from_row).collect()
        })
    }

    /// Inserts or replaces the binding of (`system`, `kind`, `entity_id`), stamping it with the
    /// clock's time and the snapshot's hash. Fails with [`StoreError::BindingConflict`] if the
    /// external id is already bound to another entity of that kind in that system.
    pub async fn save_binding(&self, b: &NewBinding<'_>) -> Result<(), StoreError> {
        let snapshot = b.snapshot.map(canonical_json);
        let hash = b.snapshot.map(snapshot_hash);
        let now = ms(self.clock.now());
        let sql = "INSERT INTO bindings (system, kind, entity_id, external_id, snapshot, snapshot_hash, synced_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7) \
                   ON CONFLICT (system, kind, entity_id) DO UPDATE SET \
                   external_id = excluded.external_id, snapshot = excluded.snapshot, \
                   snapshot_hash = excluded.snapshot_hash, synced_at = excluded.synced_at";
        let res = on_db!(&self.db, pool => {
            sqlx::query(sql)
                .bind(b.system).bind(b.kind.as_str()).bind(b.entity_id).bind(b.external_id)
                .bind(snapshot.as_deref()).bind(hash.as_deref()).bind(now)
                .execute(pool).await.map(|_| ())
        });
        match res {
            Ok(()) => Ok(()),
            Err(e) if is_unique_violation(&e) => {
                let holder = self
                    .binding_by_external(b.system, b.kind, b.external_id)
                    .await?;
                Err(StoreError::BindingConflict {
                    system: b.system.to_string(),
                    kind: b.kind,
                    external_id: b.external_id.to_string(),
                    entity_id: b.entity_id.to_string(),
                    bound_to: holder.map(|h| h.entity_id).unwrap_or_else(|| "?".into()),
                })
            }
            Err(source) => Err(StoreError::Db {
                op: format!(
                    "saving binding {}/{}/entity {} -> {}",
                    b.system, b.kind, b.entity_id, b.external_id
                ),
                source,
            }),
        }
    }

    /// Deletes one binding; true if it existed.
    pub async fn remove_binding(
        &self,
        system: &str,
        kind: EntityKind,
        entity_id: &str,
    ) -> Result<bool, StoreError> {
        let sql = "DELETE FROM bindings WHERE system = $1 AND kind = $2 AND entity_id = $3";
        let n = on_db!(&self.db, pool => {
            sqlx::query(sql).bind(system).bind(kind.as_str()).bind(entity_id)
                .execute(pool).await
                .map_err(StoreError::db(format!("removing binding {system}/{kind}/entity {entity_id}")))?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Number of bindings per (system, kind), sorted.
    pub async fn binding_counts(&self) -> Result<Vec<(String, EntityKind, i64)>, StoreError> {
        let sql = "SELECT system, kind, COUNT(*) AS n FROM bindings GROUP BY system, kind ORDER BY system, kind";
        on_db!(&self.db, pool => {
            sqlx::query(sql).fetch_all(pool).await
                .map_err(StoreError::db("counting bindings"))?
                .iter()
                .map(|r| Ok((r.text("system")?, r.named("bindings", "kind")?, r.i64("n")?)))
                .collect()
        })
    }
}
