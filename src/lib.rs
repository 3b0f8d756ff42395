//! dealbridge: keeps an online store, 1C and a CRM in step.
//!
//! Module map:
//! - [`config`]: `dealbridge.toml` → typed config; secrets from the environment, never logged;
//!   `check` names file:line of every mistake.
//! - [`onec`]: importing CommerceML files from 1C into the store (`import-1c`, the exchange).
//! - [`mapping`]: mapping files (status maps, title templates, field ownership).
//! - [`sync`]: flows (poll → plan → enqueue) and the workers that drain the queue.
//! - [`app`]: wiring config → store, connector clients, flows and engine; the one place that
//!   knows which connector crate serves which `kind`.
//! - [`status`]: the status report shared by the CLI, the status page and `/metrics`.
//! - [`server`]: the HTTP server (`/healthz`, `/status`, `/metrics`).
//! - [`cli`]: one module per subcommand.
//!
//! Durable state (bindings, queue, cursors, journal, conflicts) lives in the `dealbridge-store`
//! crate; the canonical model and connector traits in `dealbridge-sdk`; each vendor's client and
//! emulator in its own crate under `connectors/`.

pub mod app;
pub mod cli;
pub mod config;
pub mod connectors;
pub mod mapping;
pub mod onec;
pub mod server;
pub mod status;
pub mod sync;
