//! Poll cursors: where each poller stopped (e.g. the `modified_after` of the last queued page).

use chrono::{DateTime, Utc};

use crate::db::{ms, on_db, RowExt};
use crate::error::StoreError;
use crate::store::Store;

impl Store {
    /// The cursor's value, if it was ever set.
    pub async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError> {
        let sql = "SELECT value FROM cursors WHERE name = $1";
        on_db!(&self.db, pool => {
            sqlx::query(sql).bind(name).fetch_optional(pool).await
                .map_err(StoreError::db(format!("reading cursor {name}")))?
                .map(|r| r.text("value")).transpose()
        })
    }

    /// Sets (creates or moves) a cursor.
    pub async fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let sql = "INSERT INTO cursors (name, value, updated_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
        let now = ms(self.clock.now());
        on_db!(&self.db, pool => {
            sqlx::query(sql).bind(name).bind(value).bind(now).execute(pool).await
                .map_err(StoreError::db(format!("setting cursor {name} to {value}")))?;
        });
        Ok(())
    }

    /// All cursors as (name, value, last moved), sorted by name.
    pub async fn cursors(&self) -> Result<Vec<(String, String, DateTime<Utc>)>, StoreError> {
        let sql = "SELECT name, value, updated_at FROM cursors ORDER BY name";
        on_db!(&self.db, pool => {
            sqlx::query(sql).fetch_all(pool).await
                .map_err(StoreError::db("listing cursors"))?
                .iter()
                .map(|r| Ok((r.text("name")?, r.text("value")?, r.time("updated_at")?)))
                .collect()
        })
    }
}
