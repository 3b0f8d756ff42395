//! `dealbridge emulate woocommerce|bitrix24 --listen ADDR`: a vendor emulator on a local port,
//! reachable only through the vendor's own API, with the credentials given here.

use clap::{Args, Subcommand};
use dealbridge_sdk::fault::FaultConfig;
use std::net::SocketAddr;
use std::time::Duration;

/// Which emulator.
#[derive(Debug, Subcommand)]
pub enum EmulateCommand {
    /// WooCommerce REST API v3 (`/wp-json/wc/v3/orders`).
    Woocommerce {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9001")]
        listen: SocketAddr,
        /// The consumer key clients must present.
        #[arg(long, default_value = "ck_test")]
        consumer_key: String,
        /// The consumer secret clients must present.
        #[arg(
            long,
            default_value = "cs_test",
            env = "DEALBRIDGE_EMULATOR_CONSUMER_SECRET"
        )]
        consumer_secret: String,
        /// Orders to create at start.
        #[arg(long, default_value_t = 0)]
        seed_orders: usize,
        /// Deliver signed webhooks (order.created/updated/deleted) to this URL.
        #[arg(long)]
        webhook_url: Option<String>,
        /// The secret webhooks are signed with.
        #[arg(long, default_value = "", env = "DEALBRIDGE_EMULATOR_WEBHOOK_SECRET")]
        webhook_secret: String,
        /// Faults to inject.
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Shopify Admin REST API (`/admin/api/<version>/orders.json`, transactions, products,
    /// inventory), with its leaky bucket and signed webhooks.
    Shopify {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9004")]
        listen: SocketAddr,
        /// The Admin API access token clients must present.
        #[arg(long, default_value = "shpat_test", env = "DEALBRIDGE_EMULATOR_TOKEN")]
        access_token: String,
        /// Orders to create at start.
        #[arg(long, default_value_t = 0)]
        seed_orders: usize,
        /// Deliver signed webhooks (orders/create, orders/updated, …) to this URL.
        #[arg(long)]
        webhook_url: Option<String>,
        /// The app secret webhooks are signed with.
        #[arg(
            long,
            default_value = "shpss_test",
            env = "DEALBRIDGE_EMULATOR_WEBHOOK_SECRET"
        )]
        webhook_secret: String,
        /// Faults to inject.
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// amoCRM / Kommo API v4 (`/api/v4/leads`, contacts, pipelines, catalogs, links).
    Amocrm {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9003")]
        listen: SocketAddr,
        /// The Bearer token clients must present.
        #[arg(long, default_value = "test", env = "DEALBRIDGE_EMULATOR_TOKEN")]
        token: String,
        /// Requests admitted per second before 429.
        #[arg(long, default_value_t = 7)]
        rate_per_second: u32,
        /// Faults to inject.
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// Bitrix24 REST through an incoming-webhook URL (`/rest/<user>/<token>/<method>`).
    Bitrix24 {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9002")]
        listen: SocketAddr,
        /// The webhook's user id.
        #[arg(long, default_value_t = 1)]
        user: u64,
        /// The webhook's secret token.
        #[arg(long, default_value = "test", env = "DEALBRIDGE_EMULATOR_TOKEN")]
        token: String,
        /// Use the Enterprise plan's request budget (5/s, bucket 250) instead of 2/s, bucket 50.
        #[arg(long)]
        enterprise: bool,
        /// Faults to inject.
        #[command(flatten)]
        faults: FaultArgs,
    },
    /// A 1C:Enterprise client: drives a site's exchange endpoint and prints the transcript.
    #[command(name = "1c")]
    OneC(OneCArgs),
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
        EmulateCommand::Woocommerce {
            listen,
            consumer_key,
            consumer_secret,
            seed_orders,
            webhook_url,
            webhook_secret,
            faults,
        } => {
            let emu = dealbridge_woocommerce::emulator::spawn(
                dealbridge_woocommerce::emulator::EmulatorConfig {
                    consumer_key: consumer_key.clone(),
                    consumer_secret: consumer_secret.clone(),
                    webhook_url: webhook_url.clone(),
                    webhook_secret: webhook_secret.clone(),
                    ..Default::default()
                },
                *listen,
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            emu.handle.faults().set(faults.to_config());
            if *seed_orders > 0 {
                emu.handle.seed_orders(*seed_orders, 1);
            }
            println!(
                "WooCommerce emulator at {}/wp-json/wc/v3 (key {consumer_key}); Ctrl-C to stop",
                emu.base_url
            );
            super::run::wait_for_signal().await;
            emu.shutdown().await;
        }
        EmulateCommand::Shopify {
            listen,
            access_token,
            seed_orders,
            webhook_url,
            webhook_secret,
            faults,
        } => {
            let emu = dealbridge_shopify::emulator::spawn(
                dealbridge_shopify::emulator::EmulatorConfig {
                    access_token: access_token.clone(),
                    webhook_url: webhook_url.clone(),
                    webhook_secret: webhook_secret.clone(),
                    faults: faults.to_config(),
                    ..Default::default()
                },
                *listen,
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            if *seed_orders > 0 {
                emu.handle.seed_orders(*seed_orders, 1);
            }
            println!(
                "Shopify emulator at {}/admin/api/{}/ ; Ctrl-C to stop",
                emu.base_url,
                dealbridge_shopify::API_VERSION
            );
            super::run::wait_for_signal().await;
            emu.shutdown().await;
        }
        EmulateCommand::Amocrm {
            listen,
            token,
            rate_per_second,
            faults,
        } => {
            let emu = dealbridge_amocrm::emulator::spawn(
                dealbridge_amocrm::emulator::EmulatorConfig {
                    token: token.clone(),
                    rate_per_second: *rate_per_second,
                    ..Default::default()
                },
                *listen,
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            emu.handle.faults().set(faults.to_config());
            println!(
                "amoCRM emulator at {} (Bearer token as given); Ctrl-C to stop",
                emu.base_url
            );
            super::run::wait_for_signal().await;
            emu.shutdown().await;
        }
        EmulateCommand::Bitrix24 {
            listen,
            user,
            token,
            enterprise,
            faults,
        } => {
            let limits = if *enterprise {
                dealbridge_bitrix24::emulator::BucketLimits::enterprise()
            } else {
                dealbridge_bitrix24::emulator::BucketLimits::standard()
            };
            let emu = dealbridge_bitrix24::emulator::spawn(
                dealbridge_bitrix24::emulator::EmulatorConfig {
                    user_id: *user,
                    token: token.clone(),
                    limits,
                    ..Default::default()
                },
                *listen,
            )
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
            emu.handle.faults().set(faults.to_config());
            println!(
                "Bitrix24 emulator; webhook URL {} ; Ctrl-C to stop",
                emu.webhook_url
            );
            super::run::wait_for_signal().await;
            emu.shutdown().await;
        }
        EmulateCommand::OneC(args) => return emulate_1c(args).await,
    }
    Ok(super::exit::OK)
}

/// Runs one 1C exchange and prints what was said; non-zero exit on `failure`.
async fn emulate_1c(args: &OneCArgs) -> anyhow::Result<u8> {
    use dealbridge_commerceml::exchange_client::{
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
