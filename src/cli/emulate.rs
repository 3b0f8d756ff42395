//! `dealbridge emulate <kind> --listen ADDR`: a connector's emulator on a local port, reachable
//! only through the vendor's own API, with the credentials given here; `emulate 1c` drives a
//! site's exchange endpoint as 1C does.

use anyhow::Context;
use clap::{Arg, ArgAction, Args, Subcommand};
use dealbridge_sdk::connector::{Emulator, EmulatorOptions, StopSignal};
use dealbridge_sdk::fault::FaultConfig;
use std::net::SocketAddr;
use std::time::Duration;

/// Which emulator: a connector's (`woocommerce`, `shopify`, `amocrm`, `bitrix24`: each registered
/// connector's `kind`, with the flags its emulator declares; `dealbridge emulate <kind> --help`
/// lists them), or a 1C client.
#[derive(Debug, Subcommand)]
pub enum EmulateCommand {
    /// A 1C:Enterprise client: drives a site's exchange endpoint and prints the transcript.
    #[command(name = "1c")]
    OneC(OneCArgs),
    /// A vendor emulator, by connector kind, with its flags.
    #[command(external_subcommand)]
    Vendor(Vec<String>),
}

/// `dealbridge emulate 1c`: act as 1C against a site's exchange endpoint.
#[derive(Debug, Args, Clone)]
pub struct OneCArgs {
    /// The site's exchange URL, e.g. http://127.0.0.1:8080/1c/exchange.
    #[arg(long)]
    pub url: String,
    /// HTTP Basic user.
    #[arg(long)]
    pub user: String,
    /// HTTP Basic password.
    #[arg(long, env = "DEALBRIDGE_EMULATOR_1C_PASSWORD")]
    pub password: String,
    /// Pack the files into one zip archive when the site offers `zip=yes`.
    #[arg(long)]
    pub zip: bool,
    /// Run the order exchange (query → success, then FILE... as status files) instead of the
    /// catalog exchange.
    #[arg(long)]
    pub sale: bool,
    /// Speak the old protocol (no `version=` at init).
    #[arg(long)]
    pub old_protocol: bool,
    /// Files to upload and import.
    pub files: Vec<std::path::PathBuf>,
}

/// Fault injection flags shared by the emulators.
#[derive(Debug, Args, Clone, Default)]
pub struct FaultArgs {
    /// Share of calls answered with a server error (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of calls answered with the vendor's throttling response.
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Share of calls whose connection is dropped without an answer.
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Latency added to every call, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

impl FaultArgs {
    /// The fault flags read back from a dynamically built emulator command.
    fn from_matches(matches: &clap::ArgMatches) -> anyhow::Result<FaultArgs> {
        Ok(<FaultArgs as clap::FromArgMatches>::from_arg_matches(
            matches,
        )?)
    }

    /// As the sdk's fault settings.
    pub fn to_config(&self) -> FaultConfig {
        FaultConfig {
            error_rate: self.error_rate,
            throttle_rate: self.throttle_rate,
            drop_rate: self.drop_rate,
            latency: Duration::from_millis(self.latency_ms),
            ..Default::default()
        }
    }
}

/// Runs the chosen emulator until Ctrl-C / SIGTERM.
pub async fn emulate(cmd: &EmulateCommand) -> anyhow::Result<u8> {
    match cmd {
        EmulateCommand::OneC(args) => emulate_1c(args).await,
        EmulateCommand::Vendor(args) => emulate_vendor(args).await,
    }
}

/// `emulate <kind> [--listen ADDR] [flags]`: the kind's emulator with its own flags, the
/// listen address and the shared fault flags.
async fn emulate_vendor(args: &[String]) -> anyhow::Result<u8> {
    let kind_name = args.first().map(String::as_str).unwrap_or_default();
    let kind = crate::connectors::kind(kind_name);
    let emulator = kind
        .and_then(|k| k.connector().emulator())
        .with_context(|| {
            let known: Vec<&str> = crate::connectors::kinds()
                .filter(|k| k.connector().emulator().is_some())
                .map(|k| k.as_str())
                .collect();
            format!(
                "no emulator called `{kind_name}`; emulators: {}, 1c",
                known.join(", ")
            )
        })?;
    let kind = kind.expect("an emulator has a kind").as_str();
    let matches = match emulator_command(kind, emulator).try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            // `--help` prints and succeeds; a wrong flag prints and fails, like clap itself.
            let code = if e.use_stderr() {
                super::exit::USAGE
            } else {
                super::exit::OK
            };
            e.print()?;
            return Ok(code);
        }
    };
    let listen: SocketAddr = matches
        .get_one::<String>("listen")
        .expect("defaulted")
        .parse()
        .context("--listen must be an address like 127.0.0.1:9001")?;
    let mut options = EmulatorOptions::default();
    for flag in emulator.flags() {
        let value = if flag.switch {
            matches.get_flag(flag.name).then(|| "true".to_string())
        } else {
            matches.get_one::<String>(flag.name).cloned()
        };
        if let Some(v) = value {
            options.0.insert(flag.name.to_string(), v);
        }
    }
    let faults = FaultArgs::from_matches(&matches)?.to_config();
    let stop: StopSignal = Box::pin(super::run::wait_for_signal());
    emulator
        .run(listen, &options, faults, stop)
        .await
        .map_err(|e| anyhow::anyhow!("{kind_name} emulator: {e}"))?;
    Ok(super::exit::OK)
}

/// The clap command of one emulator: `--listen`, its own flags, the fault flags.
fn emulator_command(kind: &'static str, emulator: &'static dyn Emulator) -> clap::Command {
    let mut cmd = FaultArgs::augment_args(clap::Command::new(kind))
        .about(emulator.about())
        .bin_name(format!("dealbridge emulate {kind}"))
        .arg(
            Arg::new("listen")
                .long("listen")
                .help("Address to listen on")
                .default_value(emulator.default_listen()),
        );
    for flag in emulator.flags() {
        let mut arg = Arg::new(flag.name).long(flag.name).help(flag.help);
        if flag.switch {
            arg = arg.action(ArgAction::SetTrue);
        } else if let Some(d) = flag.default {
            arg = arg.default_value(d);
        }
        if let Some(env) = flag.env {
            arg = arg.env(env);
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

/// Runs one 1C exchange and prints what was said; non-zero exit on `failure`.
async fn emulate_1c(args: &OneCArgs) -> anyhow::Result<u8> {
    use crate::connectors::commerceml::exchange_client::{
        run_catalog_exchange, run_sale_exchange, ClientOptions,
    };
    let mut opts = ClientOptions::new(&args.url, &args.user, &args.password);
    opts.zip = args.zip;
    if args.old_protocol {
        opts.version = None;
    }
    let result = if args.sale {
        run_sale_exchange(&opts, &args.files).await
    } else {
        if args.files.is_empty() {
            anyhow::bail!("give at least one CommerceML file to upload (or --sale for orders)");
        }
        run_catalog_exchange(&opts, &args.files).await
    };
    match result {
        Ok(t) => {
            print!("{t}");
            if let Some(xml) = &t.orders_xml {
                println!("({} bytes of orders XML received)", xml.len());
            }
            println!("exchange finished: success");
            Ok(super::exit::OK)
        }
        Err(e) => {
            print!("{}", e.transcript());
            eprintln!("{e}");
            Ok(super::exit::FAILURE)
        }
    }
}
