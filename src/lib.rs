//! dealbridge: keeps an online store, 1C and a CRM in step.
//!
//! Module map (the data path and the crates: `ARCHITECTURE.md`):
//! - [`connectors`]: the registry, the one list of connector crates; config parsing, `check`,
//!   the wiring, webhooks, `emulate` and `sandbox` loop over it.
//! - [`config`]: `dealbridge.toml` → typed config; secrets from the environment, never logged;
//!   `check` names file:line of every mistake. Each `[systems.<name>]` table is read by its
//!   connector.
//! - [`mapping`]: mapping files (status maps, title templates, field ownership, 1C price types).
//! - [`app`]: wiring config → store, each system's capabilities (built by its connector), flows
//!   and engine.
//! - [`sync`]: flows (poll → plan → enqueue), webhook inbox, two-way reconciliation, payments,
//!   catalog, schedules, and the supervised workers that drain the queue.
//! - [`onec`]: 1C, from `connectors/commerceml` (re-exported by the registry): `[exchange_1c]`,
//!   the exchange endpoint, the import into the store (`import-1c`), 1C's documents.
//! - [`server`]: the HTTP server (`/healthz`, `/status`, `/metrics`, `/webhooks/<name>`; other
//!   routes such as the 1C endpoint are mounted beside them).
//! - [`metrics`]: `/metrics`: the in-memory counters (API requests, jobs, webhook deliveries)
//!   and the cached database gauges.
//! - [`alerts`]: `[alerts]`: rules evaluated beside the other loops, incidents notified once when
//!   they start and once when they clear, delivered through the queue.
//! - [`status`]: the status report shared by the CLI, the status page and `/metrics`.
//! - [`cli`]: one module per subcommand.
//!
//! Durable state (bindings, queue, cursors, journal, conflicts) lives in the `dealbridge-store`
//! crate; the canonical model, the connector descriptor and traits in `dealbridge-sdk`; each
//! vendor's client and emulator in its own crate under `connectors/`.

pub mod alerts;
pub mod app;
pub mod cli;
pub mod config;
pub mod connectors;
pub mod mapping;
pub mod metrics;
pub mod server;
pub mod status;
pub mod sync;

pub use connectors::onec;
