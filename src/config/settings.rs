//! `[server]` and `[sync]`: process-wide settings with defaults.

use std::net::SocketAddr;
use std::time::Duration;

use super::doc::{Ctx, TableReader};
use dealbridge_sdk::config::{resolve_secret, Env, Secret};

/// The variable that overrides `[server] console_token`.
pub const CONSOLE_TOKEN_VAR: &str = "DEALBRIDGE_SERVER_CONSOLE_TOKEN";
/// The variable that overrides `[server] metrics_token`.
pub const METRICS_TOKEN_VAR: &str = "DEALBRIDGE_SERVER_METRICS_TOKEN";

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// `listen`: address of the HTTP server (webhooks, `/healthz`). Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// `console_token`: the token the web console's login asks for (it shows customers' names
    /// and e-mails, so it is closed by default). Without it the console is served only on a
    /// loopback `listen` address.
    pub console_token: Option<Secret>,
    /// `metrics_token`: when set, `/metrics` answers only `Authorization: Bearer <token>`
    /// (Prometheus' `authorization` scrape setting); open otherwise.
    pub metrics_token: Option<Secret>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            console_token: None,
            metrics_token: None,
        }
    }
}

/// `[sync]`: how polling and the job queue behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// `poll_interval`: time between polls of a source (default 30s).
    pub poll_interval: Duration,
    /// `overlap`: how far before the saved cursor a poll re-reads (`modified_after` = cursor −
    /// overlap), to catch changes committed out of order (default 5m).
    pub overlap: Duration,
    /// `page_size`: items per page when listing a source (default 50, 1..=100).
    pub page_size: u32,
    /// `workers`: concurrent queue workers per process (default 2).
    pub workers: u32,
    /// `lease`: how long a claimed job is held before another worker may take it (default 60s).
    pub lease: Duration,
    /// `max_attempts`: attempts before a transiently failing job goes to the dead letter (default 8).
    pub max_attempts: u32,
    /// `retention`: how long done and dead jobs stay queryable (default 14d).
    pub retention: Duration,
    /// `unhealthy_after`: how long a background loop (a poll, the workers, the inbox) may keep
    /// failing before `/healthz` answers 503 (default 60s).
    pub unhealthy_after: Duration,
    /// `backoff_base`: delay before the first retry of a failed write; each further retry
    /// doubles it, with jitter (default 1s).
    pub backoff_base: Duration,
    /// `backoff_max`: the longest delay between retries (default 10m).
    pub backoff_max: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            poll_interval: Duration::from_secs(30),
            overlap: Duration::from_secs(5 * 60),
            page_size: 50,
            workers: 2,
            lease: Duration::from_secs(60),
            max_attempts: 8,
            retention: Duration::from_secs(14 * 86_400),
            unhealthy_after: Duration::from_secs(60),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(600),
        }
    }
}

pub(crate) const SERVER_KEYS: &[&str] = &["listen", "console_token", "metrics_token"];
pub(crate) const SYNC_KEYS: &[&str] = &[
    "poll_interval",
    "overlap",
    "page_size",
    "workers",
    "lease",
    "max_attempts",
    "retention",
    "unhealthy_after",
    "backoff_base",
    "backoff_max",
];

/// Reads `[server]`; absent keys keep their defaults.
pub(crate) fn read_server(
    ctx: &mut Ctx<'_>,
    t: Option<&TableReader<'_, '_>>,
    env: &dyn Env,
) -> ServerConfig {
    let mut server = ServerConfig::default();
    let Some(t) = t else {
        server.console_token = env.var(CONSOLE_TOKEN_VAR).map(Secret::new);
        server.metrics_token = env.var(METRICS_TOKEN_VAR).map(Secret::new);
        return server;
    };
    t.deny_unknown(ctx);
    let token = |ctx: &mut Ctx<'_>, key: &str, var: &str| {
        (t.has(key) || env.var(var).is_some())
            .then(|| resolve_secret(ctx, t, key, var, env).map(|(s, _)| s))
            .flatten()
    };
    server.console_token = token(ctx, "console_token", CONSOLE_TOKEN_VAR);
    server.metrics_token = token(ctx, "metrics_token", METRICS_TOKEN_VAR);
    if let Some(listen) = t.string(ctx, "listen") {
        match listen.get_ref().parse::<SocketAddr>() {
            Ok(addr) => server.listen = addr,
            Err(_) => ctx.error(
                listen.span(),
                format!(
                    "`listen` in [server] must be an IP address and port like \"127.0.0.1:8080\", found \"{}\"",
                    listen.get_ref()
                ),
            ),
        }
    }
    server
}

/// Reads `[sync]`; absent keys keep their defaults.
pub(crate) fn read_sync(ctx: &mut Ctx<'_>, t: Option<&TableReader<'_, '_>>) -> SyncConfig {
    let mut sync = SyncConfig::default();
    let Some(t) = t else { return sync };
    t.deny_unknown(ctx);
    let ms = Duration::from_millis;
    if let Some(d) = t.duration(ctx, "poll_interval", ms(100)) {
        sync.poll_interval = d;
    }
    if let Some(d) = t.duration(ctx, "overlap", Duration::ZERO) {
        sync.overlap = d;
    }
    if let Some(d) = t.duration(ctx, "lease", ms(1000)) {
        sync.lease = d;
    }
    if let Some(d) = t.duration(ctx, "retention", ms(1000)) {
        sync.retention = d;
    }
    if let Some(d) = t.duration(ctx, "unhealthy_after", ms(100)) {
        sync.unhealthy_after = d;
    }
    if let Some(d) = t.duration(ctx, "backoff_base", ms(10)) {
        sync.backoff_base = d;
    }
    if let Some(d) = t.duration(ctx, "backoff_max", ms(10)) {
        sync.backoff_max = d;
    }
    // WooCommerce caps `per_page` at 100.
    if let Some(n) = t.integer(ctx, "page_size", 1, 100) {
        sync.page_size = *n.get_ref() as u32;
    }
    if let Some(n) = t.integer(ctx, "workers", 1, 256) {
        sync.workers = *n.get_ref() as u32;
    }
    if let Some(n) = t.integer(ctx, "max_attempts", 1, 1000) {
        sync.max_attempts = *n.get_ref() as u32;
    }
    sync
}
