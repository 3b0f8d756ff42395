//! The [`Store`] handle: one pool plus the clock, cloned freely across tasks.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, SystemClock};
use crate::db::{Backend, Db};
use crate::error::StoreError;
use crate::queue::Queue;

/// dealbridge's durable state. Cheap to clone: clones share the connection pool and the clock.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens `sqlite://PATH` (file created if missing; WAL, busy timeout, synchronous=NORMAL,
    /// foreign keys), `sqlite::memory:` or `postgres://…`, and applies the schema migrations.
    /// Safe to call on an already migrated database.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        Self::connect_with_clock(url, Arc::new(SystemClock)).await
    }

    /// Like [`Store::connect`], with the time source injected (tests use `ManualClock`).
    pub async fn connect_with_clock(url: &str, clock: Arc<dyn Clock>) -> Result<Store, StoreError> {
        let db = Db::connect(url).await?;
        tracing::debug!(backend = %db.backend(), "store connected and migrated");
        Ok(Store { db, clock })
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The job queue on the same pool and clock, with the default backoff policy.
    pub fn queue(&self) -> Queue {
        Queue::new(self.db.clone(), self.clock.clone())
    }

    /// The store's current time (from its clock).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Closes the pool: waits for checked-out connections to come back, then closes them all.
    pub async fn close(&self) {
        self.db.close().await
    }
}
