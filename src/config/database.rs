//! `[database]`: where dealbridge keeps its state (SQLite file by default, PostgreSQL to scale out).

use std::path::{Path, PathBuf};

use url::Url;

use super::doc::{Ctx, TableReader};
use dealbridge_sdk::config::{resolve_secret, Origin, Secret};
use dealbridge_sdk::config::{Env, DATABASE_URL_VAR};

/// The URL used when the config has no `[database]` table: a file next to the config.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://dealbridge.db";

/// Which database engine a URL selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseBackend {
    /// A SQLite file; relative paths were resolved against the config file's directory.
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// An in-memory SQLite database (`sqlite::memory:`), for tests.
    SqliteMemory,
    /// PostgreSQL (`postgres://` or `postgresql://`).
    Postgres,
}

/// `[database]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// The URL to hand to sqlx. For SQLite files it carries the resolved path; for PostgreSQL it
    /// may hold a password, hence [`Secret`]. Overridden by `DEALBRIDGE_DATABASE_URL`.
    pub url: Secret,
    /// The engine, and for SQLite the file.
    pub backend: DatabaseBackend,
}

impl DatabaseConfig {
    /// The URL with any password replaced by `***`, safe for logs and `status` output.
    pub fn redacted_url(&self) -> String {
        if self.backend != DatabaseBackend::Postgres {
            return self.url.expose().to_string();
        }
        match Url::parse(self.url.expose()) {
            Ok(mut url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("***"));
                }
                url.to_string()
            }
            Err(_) => "postgres://***".to_string(),
        }
    }
}

/// Reads `[database]` (or supplies the default when the table is absent).
pub(crate) fn read_database(
    ctx: &mut Ctx<'_>,
    table: Option<&TableReader<'_, '_>>,
    base_dir: &Path,
    env: &dyn Env,
) -> Option<DatabaseConfig> {
    let (url, origin) = match table {
        Some(t) => {
            t.deny_unknown(ctx);
            if !t.has("url") && env.var(DATABASE_URL_VAR).is_none() {
                (
                    Secret::new(DEFAULT_DATABASE_URL),
                    Origin::File(t.span.clone()),
                )
            } else {
                resolve_secret(ctx, t, "url", DATABASE_URL_VAR, env)?
            }
        }
        None => match env.var(DATABASE_URL_VAR) {
            Some(v) => (
                Secret::new(v),
                Origin::Var(0..0, DATABASE_URL_VAR.to_string()),
            ),
            None => (Secret::new(DEFAULT_DATABASE_URL), Origin::File(0..0)),
        },
    };
    match resolve_url(url.expose(), base_dir) {
        Ok((url, backend)) => Some(DatabaseConfig {
            url: Secret::new(url),
            backend,
        }),
        Err(e) => {
            let (span, from) = origin.locate();
            ctx.error(span, format!("`url` in [database]{from}: {e}"));
            None
        }
    }
}

/// Classifies a database URL and makes SQLite paths absolute-or-config-relative.
fn resolve_url(text: &str, base_dir: &Path) -> Result<(String, DatabaseBackend), String> {
    let text = text.trim();
    if text == "sqlite::memory:" || text.starts_with("sqlite::memory:?") {
        return Ok((text.to_string(), DatabaseBackend::SqliteMemory));
    }
    if let Some(rest) = text.strip_prefix("sqlite://") {
        let (file, query) = match rest.split_once('?') {
            Some((f, q)) => (f, Some(q)),
            None => (rest, None),
        };
        if file.is_empty() {
            return Err(
                "SQLite URL names no file; write e.g. \"sqlite://dealbridge.db\"".to_string(),
            );
        }
        let path = base_dir.join(file);
        let mut url = format!("sqlite://{}", path.display());
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        return Ok((url, DatabaseBackend::Sqlite { path }));
    }
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        // Parse errors from `url` never include the input, so the password cannot leak here.
        let url = Url::parse(text).map_err(|e| format!("not a valid PostgreSQL URL ({e})"))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err("PostgreSQL URL has no host; write e.g. \"postgres://user@127.0.0.1:5432/dealbridge\"".to_string());
        }
        return Ok((text.to_string(), DatabaseBackend::Postgres));
    }
    let scheme = text.split(':').next().unwrap_or("");
    Err(format!(
        "the URL must start with sqlite:// or postgres://, found `{scheme}:`; write e.g. \"sqlite://dealbridge.db\" or \"postgres://user@host/db\""
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_resolve_against_the_config_directory() {
        let (url, backend) =
            resolve_url("sqlite://state/db.sqlite?mode=rwc", Path::new("/etc/db")).unwrap();
        assert_eq!(url, "sqlite:///etc/db/state/db.sqlite?mode=rwc");
        assert_eq!(
            backend,
            DatabaseBackend::Sqlite {
                path: PathBuf::from("/etc/db/state/db.sqlite")
            }
        );
        let (url, _) = resolve_url("sqlite:///var/lib/x.db", Path::new("/etc/db")).unwrap();
        assert_eq!(url, "sqlite:///var/lib/x.db");
        let (url, _) = resolve_url("sqlite://x.db", Path::new("")).unwrap();
        assert_eq!(url, "sqlite://x.db");
    }

    #[test]
    fn other_schemes_are_refused() {
        assert_eq!(
            resolve_url("postgres://u:pw@localhost/db", Path::new(""))
                .unwrap()
                .1,
            DatabaseBackend::Postgres
        );
        assert!(resolve_url("mysql://localhost/db", Path::new(""))
            .unwrap_err()
            .contains("`mysql:`"));
        assert!(resolve_url("sqlite://", Path::new("")).is_err());
    }

    #[test]
    fn redaction_hides_passwords() {
        let db = DatabaseConfig {
            url: Secret::new("postgres://app:hunter2@db:5432/dealbridge"),
            backend: DatabaseBackend::Postgres,
        };
        assert_eq!(db.redacted_url(), "postgres://app:***@db:5432/dealbridge");
        assert!(!format!("{db:?}").contains("hunter2"));
    }
}
