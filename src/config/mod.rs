//! Configuration: `dealbridge.toml` → typed [`Config`]; secrets from the environment, never logged.
//!
//! Files are walked by hand over toml's spanned document (see `doc`) so that `dealbridge check`
//! reports every mistake with `file:line:column`, not just the first one serde meets.

mod alerts;
mod catalog;
mod database;
mod flow;
mod load;
mod schedule;
mod settings;
mod system;

pub use alerts::{AlertFormat, AlertRules, AlertsConfig, ALERTS_WEBHOOK_URL_VAR};
pub use catalog::CatalogConfig;
pub use database::{DatabaseBackend, DatabaseConfig, DEFAULT_DATABASE_URL};
pub(crate) use dealbridge_sdk::config as doc;
pub use dealbridge_sdk::config::SourceFile;
pub use dealbridge_sdk::config::{
    parse_duration, system_override_var, ConfigErrors, Diagnostic, Env, NoEnv, ProcessEnv, Secret,
    DATABASE_URL_VAR, DURATION_UNITS,
};
pub use flow::{is_store, is_supported, supported_flows, Entity, FlowConfig};
pub use load::{check, example_config, Config};
pub use schedule::ScheduleConfig;
pub use settings::{ServerConfig, SyncConfig, CONSOLE_TOKEN_VAR, METRICS_TOKEN_VAR};
pub use system::{RateLimit, Role, SystemConfig, SystemKind, SystemLimits};
