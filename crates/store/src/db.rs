//! Connecting to SQLite or PostgreSQL, applying migrations, and the small helpers every module uses
//! to run one query text on either pool.
//!
//! Why an enum over the two pools and not `sqlx::Any`: the claim query needs dialect-specific SQL
//! (`FOR UPDATE SKIP LOCKED` exists only on PostgreSQL), `Any` hides which backend a statement runs
//! on and decodes fewer types. With the enum, each call site names its SQL once and [`on_db!`]
//! expands the same code for both pool types. Placeholders are `$1, $2, …` on both: SQLite accepts
//! them as numbered parameters.
//!
//! SQL text assembled with `format!` (wrapped in `AssertSqlSafe`) is built only from constant
//! fragments and `$n` placeholders; every value is bound, never spliced in.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::Row;

use crate::error::StoreError;

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A SQLite file (or in-memory database): one writer at a time.
    Sqlite,
    /// A PostgreSQL database: any number of processes may share the queue.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pool of whichever backend the URL named.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool; the body is expanded once per backend so
/// it type-checks against each driver.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// How long a SQLite connection waits for the write lock before giving up with "database is
/// locked". Writes are short, so a generous wait only matters under heavy contention.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Db {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The statement that opens a transaction which will write. SQLite's plain `BEGIN` is
    /// deferred: a transaction that reads first (the catalog batch reads the stored hashes) and
    /// then writes cannot upgrade once another connection has committed since its read, and fails
    /// at once with "database is locked" instead of waiting `busy_timeout` (seen: a 1C import
    /// while the catalog push woken by the previous file saved its bindings). `BEGIN IMMEDIATE`
    /// takes the write lock up front and waits for it like any other write.
    pub(crate) fn begin_write(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "BEGIN IMMEDIATE",
            Db::Postgres(_) => "BEGIN",
        }
    }

    /// Opens the database named by `url` and applies the embedded migrations.
    pub(crate) async fn connect(url: &str) -> Result<Db, StoreError> {
        let db = if url.starts_with("sqlite:") {
            Db::Sqlite(open_sqlite(url).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Db::Postgres(open_postgres(url).await?)
        } else {
            return Err(StoreError::UnsupportedUrl { url: redact(url) });
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("../../migrations/sqlite")
                .run(pool)
                .await
                .map_err(|source| StoreError::Migrate {
                    backend: "sqlite",
                    source,
                }),
            Db::Postgres(pool) => sqlx::migrate!("../../migrations/postgres")
                .run(pool)
                .await
                .map_err(|source| StoreError::Migrate {
                    backend: "postgres",
                    source,
                }),
        }
    }

    pub(crate) async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }
}

async fn open_sqlite(url: &str) -> Result<SqlitePool, StoreError> {
    let opts = SqliteConnectOptions::from_str(url).map_err(|source| StoreError::OpenSqlite {
        path: url.to_string(),
        source,
    })?;
    let path = opts.get_filename().display().to_string();
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let opts = opts
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true);
    let pool = if in_memory {
        // An in-memory database lives as long as one connection to it: keep exactly one, forever.
        SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        // SQLite has one writer at a time anyway; a few connections let reads run beside it.
        SqlitePoolOptions::new().max_connections(4)
    };
    pool.connect_with(opts)
        .await
        .map_err(|source| StoreError::OpenSqlite {
            path: if in_memory { ":memory:".into() } else { path },
            source,
        })
}

async fn open_postgres(url: &str) -> Result<PgPool, StoreError> {
    PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .map_err(|source| StoreError::ConnectPostgres {
            url: redact(url),
            source,
        })
}

/// The URL with any password replaced, fit for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable URL>".to_string(),
    }
}

/// Unix milliseconds: the one time representation in both schemas.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Milliseconds from the database back to a time.
pub(crate) fn from_ms(v: i64, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(v)
        .ok_or_else(|| StoreError::corrupt(what, format!("{v} is not a valid unix-ms timestamp")))
}

/// Milliseconds of a duration, saturating (a lease of centuries is still a lease).
pub(crate) fn dur_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Typed column access that reads the same on a SQLite or PostgreSQL row.
pub(crate) trait RowExt {
    fn i64(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_i64(&self, col: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;

    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError> {
        from_ms(self.i64(col)?, col)
    }
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_i64(col)?.map(|v| from_ms(v, col)).transpose()
    }
    fn json(&self, col: &str) -> Result<serde_json::Value, StoreError> {
        parse_json(&self.text(col)?, col)
    }
    fn opt_json(&self, col: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.opt_text(col)?.map(|s| parse_json(&s, col)).transpose()
    }
    /// A typed name from a text column ([`crate::EntityKind`], [`crate::JobKind`]); an unknown
    /// string is a [`StoreError::Corrupt`] naming the table, the column and the value.
    fn named<T>(&self, table: &str, col: &str) -> Result<T, StoreError>
    where
        T: std::str::FromStr<Err = crate::kinds::UnknownName>,
    {
        self.text(col)?
            .parse()
            .map_err(|e| StoreError::corrupt(format!("{table}.{col}"), e))
    }
}

fn parse_json(s: &str, col: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(format!("JSON column {col}"), e))
}

macro_rules! impl_row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn i64(&self, col: &str) -> Result<i64, StoreError> {
                self.try_get::<i64, _>(col)
                    .map_err(|e| StoreError::corrupt(format!("column {col}"), e))
            }
            fn opt_i64(&self, col: &str) -> Result<Option<i64>, StoreError> {
                self.try_get::<Option<i64>, _>(col)
                    .map_err(|e| StoreError::corrupt(format!("column {col}"), e))
            }
            fn text(&self, col: &str) -> Result<String, StoreError> {
                self.try_get::<String, _>(col)
                    .map_err(|e| StoreError::corrupt(format!("column {col}"), e))
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
                self.try_get::<Option<String>, _>(col)
                    .map_err(|e| StoreError::corrupt(format!("column {col}"), e))
            }
        }
    };
}
impl_row_ext!(SqliteRow);
impl_row_ext!(PgRow);
