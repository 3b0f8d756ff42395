//! dealbridge: keeps an online store, 1C and a CRM in step.
//!
//! Module map:
//! - [`config`]: `dealbridge.toml` → typed config; secrets from the environment, never logged.
//! - [`mapping`]: mapping files (status maps, field ownership) and their validation.

pub mod config;
pub mod mapping;
