//! [`Config`]: the whole `dealbridge.toml`, loaded and checked with all its mapping files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::alerts::{read_alerts, AlertsConfig, ALERTS_KEYS};
use super::catalog::{read_catalogs, CatalogConfig};
use super::database::{read_database, DatabaseConfig};
use super::doc::{self, Ctx, TableReader};
use super::flow::{read_flows, FlowConfig};
use super::schedule::{read_schedules, ScheduleConfig};
use super::settings::{read_server, read_sync, ServerConfig, SyncConfig, SERVER_KEYS, SYNC_KEYS};
use super::system::{read_system, SystemConfig, SystemKind};
use crate::connectors::onec::config::{read_exchange_1c, Exchange1cConfig, EXCHANGE_1C_KEYS};
use dealbridge_sdk::config::{ConfigErrors, Diagnostic, SourceFile};
use dealbridge_sdk::config::{Env, ProcessEnv};

/// The commented example config, for `dealbridge init`.
pub fn example_config() -> &'static str {
    include_str!("../../examples/dealbridge.toml")
}

/// A loaded, fully checked `dealbridge.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[database]` (default `sqlite://dealbridge.db` next to the config).
    pub database: DatabaseConfig,
    /// `[server]`.
    pub server: ServerConfig,
    /// `[systems.<name>]`, by name.
    pub systems: BTreeMap<String, SystemConfig>,
    /// `[[flows]]`, in file order, each with its parsed mapping.
    pub flows: Vec<FlowConfig>,
    /// `[sync]`.
    pub sync: SyncConfig,
    /// `[exchange_1c]`: the 1C exchange endpoint, when configured.
    pub exchange_1c: Option<Exchange1cConfig>,
    /// `[schedule.<name>]`: cron jobs run by `dealbridge run`.
    pub schedules: Vec<ScheduleConfig>,
    /// `[[catalog]]`: the 1C catalog pushed to a CRM or a store.
    pub catalogs: Vec<CatalogConfig>,
    /// `[alerts]`: notifications of incidents, when configured.
    pub alerts: Option<AlertsConfig>,
    /// The file the config came from.
    pub path: PathBuf,
}

const TOP_KEYS: &[&str] = &[
    "database",
    "server",
    "systems",
    "flows",
    "sync",
    "exchange_1c",
    "schedule",
    "catalog",
    "alerts",
];

impl Config {
    /// Loads and checks `path` and its mapping files, with secrets from the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        Config::load_with_env(path, &ProcessEnv)
    }

    /// Loads and checks `path`, taking environment variables from `env`.
    pub fn load_with_env(path: &Path, env: &dyn Env) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![Diagnostic::whole_file(
                path,
                format!("cannot read config file: {e}"),
            )])
        })?;
        Config::from_str(&text, path, env)
    }

    /// Checks config `text` as if it were the file at `path` (relative paths inside it resolve
    /// against `path`'s directory). Returns every mistake, sorted by file and line.
    pub fn from_str(text: &str, path: &Path, env: &dyn Env) -> Result<Config, ConfigErrors> {
        let src = SourceFile::new(path, text.to_string());
        let mut out = Vec::new();
        let config = read_config(&src, env, &mut out);
        match config {
            Some(c) if out.is_empty() => Ok(c),
            _ => {
                out.sort();
                out.dedup();
                Err(ConfigErrors(out))
            }
        }
    }

    /// The directory relative paths are resolved against.
    pub fn base_dir(&self) -> &Path {
        base_dir(&self.path)
    }

    /// The system called `name`.
    pub fn system(&self, name: &str) -> Option<&SystemConfig> {
        self.systems.get(name)
    }

    /// The flow called `name`.
    pub fn flow(&self, name: &str) -> Option<&FlowConfig> {
        self.flows.iter().find(|f| f.name == name)
    }
}

/// Validates a config and its mapping files: `Ok` with the config, or every mistake, each
/// displaying as `file:line:column: message`. What `dealbridge check` runs.
pub fn check(path: &Path, env: &dyn Env) -> Result<Config, Vec<Diagnostic>> {
    Config::load_with_env(path, env).map_err(|e| e.0)
}

fn base_dir(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

fn read_config(src: &SourceFile, env: &dyn Env, out: &mut Vec<Diagnostic>) -> Option<Config> {
    let root = doc::parse(src, out)?;
    let mut ctx = Ctx { src, out };
    let top = TableReader::new(&root, 0..0, "the config", TOP_KEYS);
    top.deny_unknown(&mut ctx);
    let dir = base_dir(&src.path);

    let db_table = top.table(&mut ctx, "database", "[database]", &["url"]);
    let database = read_database(&mut ctx, db_table.as_ref(), dir, env);
    let server_table = top.table(&mut ctx, "server", "[server]", SERVER_KEYS);
    let server = read_server(&mut ctx, server_table.as_ref(), env);
    let sync_table = top.table(&mut ctx, "sync", "[sync]", SYNC_KEYS);
    let sync = read_sync(&mut ctx, sync_table.as_ref());
    let exchange_table = top.table(&mut ctx, "exchange_1c", "[exchange_1c]", EXCHANGE_1C_KEYS);
    let exchange_1c = read_exchange_1c(&mut ctx, exchange_table.as_ref(), dir, env);
    let alerts_table = top.table(&mut ctx, "alerts", "[alerts]", ALERTS_KEYS);
    let alerts = read_alerts(&mut ctx, alerts_table.as_ref(), env);

    // Kinds are kept even for systems with other mistakes, so flows are still checked.
    let mut kinds: BTreeMap<String, Option<SystemKind>> = BTreeMap::new();
    let mut systems = BTreeMap::new();
    if let Some(systems_table) = top.table(&mut ctx, "systems", "[systems]", &[]) {
        for (name, value) in systems_table.entries() {
            let name: &str = name.get_ref();
            let Some(table) = value.get_ref().as_table() else {
                ctx.error(
                    value.span(),
                    format!(
                        "`systems.{name}` must be a table ([systems.{name}]), found {}",
                        doc::type_name(value.get_ref())
                    ),
                );
                continue;
            };
            let mut t =
                TableReader::new(table, value.span(), format!("[systems.{name}]"), &["kind"]);
            let (kind, system) = read_system(&mut ctx, name, &mut t, env);
            kinds.insert(name.to_string(), kind);
            if let Some(system) = system {
                systems.insert(name.to_string(), system);
            }
        }
    }
    let flows = read_flows(&mut ctx, top.entry("flows").map(|(_, v)| v), &kinds, dir);
    let flow_names: Vec<&str> = flows.iter().map(|f| f.name.as_str()).collect();
    let catalogs = read_catalogs(
        &mut ctx,
        top.entry("catalog").map(|(_, v)| v),
        &kinds,
        dir,
        &flow_names,
    );
    let mut flow_names = flow_names;
    flow_names.extend(catalogs.iter().map(|c| c.name.as_str()));
    let schedule_table = top.table(&mut ctx, "schedule", "[schedule]", &[]);
    let schedules = read_schedules(&mut ctx, schedule_table.as_ref(), &flow_names);
    Some(Config {
        database: database?,
        server,
        systems,
        flows,
        sync,
        exchange_1c,
        schedules,
        catalogs,
        alerts,
        path: src.path.clone(),
    })
}
