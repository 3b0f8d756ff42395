//! Errors of the store. Each message says what failed, on which entity, and what to do about it.

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no backend the store supports.
    #[error(
        "unsupported database URL {url:?}: use sqlite://PATH (created if missing), \
         sqlite::memory: or postgres://USER@HOST:PORT/DATABASE"
    )]
    UnsupportedUrl {
        /// The URL as given (password removed).
        url: String,
    },

    /// The SQLite file could not be opened or created.
    #[error("cannot open SQLite database at {path}: {source}; check the path and permissions")]
    OpenSqlite {
        /// The file (or `:memory:`).
        path: String,
        /// What SQLite said.
        #[source]
        source: sqlx::Error,
    },

    /// The PostgreSQL server could not be reached or refused us.
    #[error(
        "cannot connect to PostgreSQL at {url}: {source}; check that the server runs and that \
         the host, port, user, password and database in the URL are right"
    )]
    ConnectPostgres {
        /// The URL with the password removed.
        url: String,
        /// What the driver said.
        #[source]
        source: sqlx::Error,
    },

    /// Applying the embedded migrations failed.
    #[error(
        "cannot apply the {backend} schema migrations: {source}; if the database was created by a \
         newer dealbridge, run that version, otherwise check that the user may create tables"
    )]
    Migrate {
        /// `sqlite` or `postgres`.
        backend: &'static str,
        /// What the migrator said.
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// A query failed. `op` names the operation and the entity it was about.
    #[error("database error while {op}: {source}")]
    Db {
        /// E.g. `saving binding shop/order/123`.
        op: String,
        /// What the driver said.
        #[source]
        source: sqlx::Error,
    },

    /// The worker's lease on a job is gone: it expired and the job was given back or claimed by
    /// another worker. The worker must drop its result; the newer holder's outcome stands.
    #[error(
        "job {id} ({key}) is no longer held by lease token {token}: the lease expired and the job \
         was taken back; discard this result, the job runs (or ran) again under a newer lease"
    )]
    LeaseLost {
        /// Job id.
        id: i64,
        /// Its coalescing key.
        key: String,
        /// The fencing token the caller held.
        token: i64,
    },

    /// Binding an external id that is already bound to another entity of the same kind.
    #[error(
        "{system} {kind} {external_id} is already bound to entity {bound_to}, so it cannot also be \
         bound to {entity_id}; the two canonical entities are duplicates: merge them or remove the \
         stale binding"
    )]
    BindingConflict {
        /// System name.
        system: String,
        /// Entity kind.
        kind: crate::EntityKind,
        /// The external id both want.
        external_id: String,
        /// The entity that asked.
        entity_id: String,
        /// The entity that already holds it.
        bound_to: String,
    },

    /// A dead or dropped job cannot go back to pending because a newer job for the same key is
    /// already pending (and carries a newer payload).
    #[error(
        "job {id} cannot be retried: job {pending} is already pending for {key} with a newer \
         payload; let that one run, or drop job {id}"
    )]
    Superseded {
        /// The job the caller wanted to retry.
        id: i64,
        /// The pending job that supersedes it.
        pending: i64,
        /// The shared coalescing key.
        key: String,
    },

    /// A stored value cannot be read back (hand-edited row, or a bug).
    #[error("stored {what} is malformed: {detail}; fix or delete that row")]
    Corrupt {
        /// Which value, e.g. `jobs.payload of job 7`.
        what: String,
        /// Why it could not be read.
        detail: String,
    },
}

impl StoreError {
    /// Wraps a driver error with the operation that failed.
    pub(crate) fn db(op: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
        let op = op.into();
        move |source| StoreError::Db { op, source }
    }

    pub(crate) fn corrupt(what: impl Into<String>, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// True if the driver error is a unique-constraint violation (same test on both backends).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
