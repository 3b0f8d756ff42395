//! Configuration: `dealbridge.toml` → typed [`Config`]; secrets from the environment, never logged.
//!
//! Files are walked by hand over toml's spanned document (see `doc`) so that `dealbridge check`
//! reports every mistake with `file:line:column`, not just the first one serde meets.

mod catalog;
mod database;
mod diagnostic;
pub(crate) mod doc;
mod duration;
mod env;
mod exchange;
mod flow;
mod load;
mod schedule;
mod secret;
mod settings;
mod system;

pub use catalog::CatalogConfig;
pub use database::{DatabaseBackend, DatabaseConfig, DEFAULT_DATABASE_URL};
pub(crate) use diagnostic::SourceFile;
pub use diagnostic::{ConfigErrors, Diagnostic};
pub use duration::{parse_duration, DURATION_UNITS};
pub use env::{system_override_var, Env, NoEnv, ProcessEnv, DATABASE_URL_VAR};
pub use exchange::{
    Exchange1cConfig, OrderEncoding, DEFAULT_EXCHANGE_PATH, DEFAULT_FILE_LIMIT, DEFAULT_MAX_UPLOAD,
    EXCHANGE_1C_PASSWORD_VAR,
};
pub use flow::{is_store, is_supported, Entity, FlowConfig, SUPPORTED_FLOWS};
pub use load::{check, example_config, Config};
pub use schedule::ScheduleConfig;
pub use secret::Secret;
pub use settings::{ServerConfig, SyncConfig};
pub use system::{
    AmoCrmConfig, AmoOAuth, Bitrix24Auth, Bitrix24Config, Bitrix24OAuth, RateLimit, ShopifyConfig,
    SystemConfig, SystemKind, SystemLimits, WooCommerceConfig,
};
