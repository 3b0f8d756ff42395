//! The `dealbridge` binary: parses the command line, sets up logging, runs the subcommand, and
//! turns its outcome into an exit code. Everything else lives in the library.

use clap::Parser;
use dealbridge::cli::{self, Cli, Command};
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(cli::exit::FAILURE);
        }
    };
    let result: anyhow::Result<u8> = runtime.block_on(async {
        match &cli.command {
            Command::Init => cli::check::init(&cli.config),
            Command::Check { remote } => cli::check::check(&cli.config, *remote).await,
            Command::Run => cli::run::run(&cli.config).await,
            Command::Sync(args) => cli::sync::sync(&cli.config, args).await,
            Command::Status { json } => cli::status::status(&cli.config, *json).await,
            Command::Queue(cmd) => cli::queue::queue(&cli.config, cmd).await,
            Command::Conflicts(cmd) => cli::conflicts::conflicts(&cli.config, cmd).await,
            Command::Emulate(cmd) => cli::emulate::emulate(cmd).await,
            Command::Sandbox(args) => cli::sandbox::sandbox(args).await,
            Command::Inspect(cmd) => cli::inspect::inspect(cmd),
            Command::Commerceml(cmd) => cli::commerceml::commerceml(cmd),
            Command::Reconcile(args) => cli::reconcile::reconcile(&cli.config, args).await,
            Command::Import1c(args) => cli::import::import_1c(&cli.config, args).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(cli::exit::FAILURE)
        }
    }
}

/// Logs go to stderr (stdout is for results a script reads). `RUST_LOG` overrides the level.
/// Colours only on a terminal: a log file or journald would get the escape codes verbatim.
fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,hyper=warn,reqwest=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
