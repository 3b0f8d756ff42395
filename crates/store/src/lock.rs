//! Named locks that hold across every process sharing the store.
//!
//! On PostgreSQL a lock is a session-level advisory lock (`pg_advisory_lock`) held on a connection
//! taken out of the pool for as long as the guard lives: several `dealbridge run` processes then
//! agree on "only one of us creates this contact" or "only one of us runs the nightly sync". If
//! the process dies, PostgreSQL ends the session and the lock goes with it, so a crash never
//! leaves a lock behind.
//!
//! SQLite is one machine and, in practice, one dealbridge process, so its locks are in-process
//! mutexes keyed by name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};
use sqlx::pool::PoolConnection;
use sqlx::Postgres;
use tokio::sync::OwnedMutexGuard;

use crate::db::Db;
use crate::error::StoreError;
use crate::store::Store;

/// A held named lock; released when dropped (or with [`NamedLock::release`]).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct NamedLock {
    inner: Inner,
}

enum Inner {
    Local(#[allow(dead_code)] OwnedMutexGuard<()>),
    Postgres {
        conn: Option<PoolConnection<Postgres>>,
        key: i64,
    },
}

impl std::fmt::Debug for NamedLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NamedLock")
    }
}

/// The 64-bit advisory-lock key of a name: the first 8 bytes of its SHA-256.
fn key_of(name: &str) -> i64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

fn local(name: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    LOCKS
        .get_or_init(Default::default)
        .lock()
        .expect("lock map")
        .entry(name.to_string())
        .or_default()
        .clone()
}

impl Store {
    /// Waits for the named lock and holds it until the guard is dropped.
    pub async fn lock(&self, name: &str) -> Result<NamedLock, StoreError> {
        match &self.db {
            Db::Sqlite(_) => Ok(NamedLock {
                inner: Inner::Local(local(name).lock_owned().await),
            }),
            Db::Postgres(pool) => {
                let op = || format!("taking lock `{name}`");
                let mut conn = pool.acquire().await.map_err(StoreError::db(op()))?;
                let key = key_of(name);
                sqlx::query("SELECT pg_advisory_lock($1)")
                    .bind(key)
                    .execute(&mut *conn)
                    .await
                    .map_err(StoreError::db(op()))?;
                Ok(NamedLock {
                    inner: Inner::Postgres {
                        conn: Some(conn),
                        key,
                    },
                })
            }
        }
    }

    /// Takes the named lock if nobody holds it; `None` if somebody does (for singletons such
    /// as the nightly catalog sync: the process that does not get it skips the run).
    pub async fn try_lock(&self, name: &str) -> Result<Option<NamedLock>, StoreError> {
        match &self.db {
            Db::Sqlite(_) => Ok(local(name).try_lock_owned().ok().map(|g| NamedLock {
                inner: Inner::Local(g),
            })),
            Db::Postgres(pool) => {
                let op = || format!("trying lock `{name}`");
                let mut conn = pool.acquire().await.map_err(StoreError::db(op()))?;
                let key = key_of(name);
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(key)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(StoreError::db(op()))?;
                Ok(got.then(|| NamedLock {
                    inner: Inner::Postgres {
                        conn: Some(conn),
                        key,
                    },
                }))
            }
        }
    }
}

impl NamedLock {
    /// Releases the lock now, returning the connection to the pool in a clean state.
    pub async fn release(mut self) -> Result<(), StoreError> {
        if let Inner::Postgres { conn, key } = &mut self.inner {
            if let Some(mut c) = conn.take() {
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(*key)
                    .execute(&mut *c)
                    .await
                    .map_err(StoreError::db("releasing a named lock"))?;
            }
        }
        Ok(())
    }
}

impl Drop for NamedLock {
    fn drop(&mut self) {
        // Dropped without `release` (an error path, a cancelled task): close the connection
        // instead of returning it, so the session ends and PostgreSQL drops the lock with it.
        if let Inner::Postgres { conn, .. } = &mut self.inner {
            if let Some(mut c) = conn.take() {
                c.close_on_drop();
            }
        }
    }
}
