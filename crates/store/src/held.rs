//! Held deactivation: a full 1C catalog that would deactivate too large a share of the active
//! products or offers (a 1C mistake more often than a real clear-out) does not deactivate; the
//! rows it would have deactivated are kept in `catalog_held_deactivation` until an operator
//! applies them (`import-1c --apply-held-deactivation`) or the next full catalog replaces them.

use serde::Serialize;
use sqlx::AssertSqlSafe;

use crate::catalog::CatalogKind;
use crate::db::{ms, on_db, RowExt};
use crate::error::StoreError;
use crate::store::Store;

/// What is held for one system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HeldDeactivation {
    /// Products the held deactivation would deactivate.
    pub products: u64,
    /// Offers it would deactivate.
    pub offers: u64,
    /// The import run that held it (one of them, when products and offers were held by
    /// different runs).
    pub run_id: Option<String>,
}

impl HeldDeactivation {
    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.products == 0 && self.offers == 0
    }
}

/// The `NOT EXISTS` clause selecting the rows of `{t}` an import run did not see.
const UNSEEN: &str = "NOT EXISTS (SELECT 1 FROM catalog_seen s WHERE s.run_id = $2 \
     AND s.kind = $3 AND s.external_id = {t}.external_id)";

impl Store {
    /// How many active `kind` rows of `system` import run `run` did not see: what
    /// [`Store::deactivate_unseen`] would deactivate now.
    pub async fn count_unseen(
        &self,
        system: &str,
        run: &str,
        kind: CatalogKind,
    ) -> Result<u64, StoreError> {
        let t = kind.table();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {t} WHERE system = $1 AND active = 1 AND {}",
            UNSEEN.replace("{t}", t)
        );
        on_db!(&self.db, pool => {
            let r = sqlx::query(AssertSqlSafe(sql)).bind(system).bind(run).bind(kind.as_str())
                .fetch_one(pool).await
                .map_err(StoreError::db(format!("counting the 1C {}s of system {system} a full import did not list", kind.as_str())))?;
            Ok(r.i64("n")?.max(0) as u64)
        })
    }

    /// Holds the deactivation of what run `run` did not see, replacing any earlier hold of
    /// `kind` for `system` (the newer full catalog decides); returns how many rows are held.
    pub async fn hold_unseen(
        &self,
        system: &str,
        run: &str,
        kind: CatalogKind,
    ) -> Result<u64, StoreError> {
        let now = ms(self.clock.now());
        let t = kind.table();
        let insert = format!(
            "INSERT INTO catalog_held_deactivation (system, kind, external_id, run_id, held_at) \
             SELECT $1, $3, external_id, $2, $4 FROM {t} WHERE system = $1 AND active = 1 AND {}",
            UNSEEN.replace("{t}", t)
        );
        let op = format!(
            "holding the deactivation of 1C {}s of system {system}",
            kind.as_str()
        );
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_with(self.db.begin_write()).await.map_err(StoreError::db(op.clone()))?;
            sqlx::query("DELETE FROM catalog_held_deactivation WHERE system = $1 AND kind = $2")
                .bind(system).bind(kind.as_str())
                .execute(&mut *tx).await.map_err(StoreError::db(op.clone()))?;
            let n = sqlx::query(AssertSqlSafe(insert)).bind(system).bind(run).bind(kind.as_str()).bind(now)
                .execute(&mut *tx).await.map_err(StoreError::db(op.clone()))?
                .rows_affected();
            tx.commit().await.map_err(StoreError::db(op))?;
            Ok(n)
        })
    }

    /// Drops the held deactivation of `kind` for `system` (a newer full catalog deactivated
    /// within the bound, so the old hold no longer says what 1C means).
    pub async fn drop_held_deactivation(
        &self,
        system: &str,
        kind: CatalogKind,
    ) -> Result<(), StoreError> {
        on_db!(&self.db, pool => {
            sqlx::query("DELETE FROM catalog_held_deactivation WHERE system = $1 AND kind = $2")
                .bind(system).bind(kind.as_str())
                .execute(pool).await
                .map_err(StoreError::db(format!("dropping the held deactivation of 1C {}s of system {system}", kind.as_str())))?;
        });
        Ok(())
    }

    /// What is held for `system`.
    pub async fn held_deactivation(&self, system: &str) -> Result<HeldDeactivation, StoreError> {
        let sql =
            "SELECT kind, COUNT(*) AS n, MAX(run_id) AS run_id FROM catalog_held_deactivation \
                   WHERE system = $1 GROUP BY kind";
        on_db!(&self.db, pool => {
            let rows = sqlx::query(sql).bind(system).fetch_all(pool).await
                .map_err(StoreError::db(format!("reading the held deactivation of system {system}")))?;
            let mut out = HeldDeactivation::default();
            for r in &rows {
                let n = r.i64("n")?.max(0) as u64;
                match r.text("kind")?.as_str() {
                    "product" => out.products = n,
                    _ => out.offers = n,
                }
                out.run_id = out.run_id.max(r.opt_text("run_id")?);
            }
            Ok(out)
        })
    }

    /// Applies the held deactivation of `system` in one transaction: the held rows still active
    /// go inactive, and the hold is dropped. Returns (products, offers) deactivated; a second call
    /// finds nothing held and changes nothing.
    pub async fn apply_held_deactivation(&self, system: &str) -> Result<(u64, u64), StoreError> {
        let now = ms(self.clock.now());
        let op = format!("applying the held deactivation of system {system}");
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_with(self.db.begin_write()).await.map_err(StoreError::db(op.clone()))?;
            let mut out = [0u64; 2];
            for (i, kind) in [CatalogKind::Product, CatalogKind::Offer].into_iter().enumerate() {
                let sql = format!(
                    "UPDATE {t} SET active = 0, updated_at = $1 WHERE system = $2 AND active = 1 \
                     AND external_id IN (SELECT h.external_id FROM catalog_held_deactivation h \
                     WHERE h.system = $2 AND h.kind = $3)",
                    t = kind.table()
                );
                out[i] = sqlx::query(AssertSqlSafe(sql)).bind(now).bind(system).bind(kind.as_str())
                    .execute(&mut *tx).await.map_err(StoreError::db(op.clone()))?
                    .rows_affected();
            }
            sqlx::query("DELETE FROM catalog_held_deactivation WHERE system = $1")
                .bind(system)
                .execute(&mut *tx).await.map_err(StoreError::db(op.clone()))?;
            tx.commit().await.map_err(StoreError::db(op))?;
            Ok((out[0], out[1]))
        })
    }

    /// `(external id, unit)` of every product of `system`: what a data-quality check needs to
    /// know of products imported earlier (whether one exists, whether it is counted in pieces).
    pub async fn catalog_product_units(
        &self,
        system: &str,
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let sql = "SELECT external_id, unit FROM catalog_products WHERE system = $1";
        on_db!(&self.db, pool => {
            sqlx::query(sql).bind(system).fetch_all(pool).await
                .map_err(StoreError::db(format!("listing the 1C products of system {system}")))?
                .iter()
                .map(|r| Ok((r.text("external_id")?, r.opt_text("unit")?)))
                .collect()
        })
    }
}
