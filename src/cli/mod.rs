//! The command line: one module per subcommand. Each returns an [`ExitCode`]-worthy result;
//! `main` only sets up logging and maps errors to exit codes.

pub mod check;
pub mod commerceml;
pub mod conflicts;
pub mod emulate;
pub mod import;
pub mod inspect;
pub mod queue;
pub mod reconcile;
pub mod run;
pub mod sandbox;
pub mod status;
pub mod sync;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Keeps an online store, 1C and a CRM in step.
#[derive(Debug, Parser)]
#[command(name = "dealbridge", version, about)]
pub struct Cli {
    /// The config file.
    #[arg(
        short,
        long,
        global = true,
        default_value = "dealbridge.toml",
        env = "DEALBRIDGE_CONFIG"
    )]
    pub config: PathBuf,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented example config to the config path (refuses to overwrite).
    Init,
    /// Validate the config and its mapping files; names file:line of every mistake.
    Check {
        /// Also ask each Bitrix24 portal whether the mapped pipelines and stages exist.
        #[arg(long)]
        remote: bool,
    },
    /// Run continuously: pollers, workers and the HTTP server, until SIGTERM / Ctrl-C.
    Run,
    /// One pass to completion: poll, then run every queued write to done or dead.
    Sync(sync::SyncArgs),
    /// Queue by state, bindings by kind, cursors, open conflicts.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Inspect and steer the job queue.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// The conflict log: list, show, and resolve what a `manual` field waits for.
    #[command(subcommand)]
    Conflicts(conflicts::ConflictsCommand),
    /// Run a connector's emulator (`emulate <kind> --help`) on a local port, or act as 1C.
    #[command(subcommand)]
    Emulate(emulate::EmulateCommand),
    /// Start both emulators with seeded orders and the engine on SQLite: watch orders become deals.
    Sandbox(sandbox::SandboxArgs),
    /// Check a saved webhook delivery and show the records it yields.
    #[command(subcommand)]
    Inspect(inspect::InspectCommand),
    /// CommerceML file tools (no database): `inspect`.
    #[command(subcommand)]
    Commerceml(commerceml::CommercemlCommand),
    /// Compare the store's orders with the CRM's deals; report each difference, `--fix` queues fixes.
    Reconcile(reconcile::ReconcileArgs),
    /// Import CommerceML files from 1C (catalog, prices, stock) into the state database.
    #[command(name = "import-1c")]
    Import1c(import::ImportArgs),
}

/// Exit codes a script can trust.
pub mod exit {
    /// Everything worked.
    pub const OK: u8 = 0;
    /// The command failed (bad config, unreachable database, …).
    pub const FAILURE: u8 = 1;
    /// Bad usage (clap's own code).
    pub const USAGE: u8 = 2;
    /// `sync` finished, but some writes went to the dead letter.
    pub const DEAD_LETTERS: u8 = 3;
    /// `check` found mistakes in the config or mappings.
    pub const INVALID_CONFIG: u8 = 4;
    /// `reconcile` found differences between the systems.
    pub const DIFFERENCES: u8 = 5;
}
