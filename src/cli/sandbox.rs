//! `dealbridge sandbox`: both emulators with seeded orders and the engine on SQLite, so a
//! newcomer sees orders become deals in one command. Everything talks over real HTTP on
//! loopback, exactly as it would to a real shop and a real portal.

use crate::app::App;
use crate::server::{router, AppState};
use anyhow::Context;
use clap::Args;
use dealbridge_sdk::connector::{SandboxCrm, SandboxStore};
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Arguments of `sandbox`.
#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Orders to seed in the shop.
    #[arg(long, default_value_t = 20)]
    pub orders: usize,
    /// Stop after the first sync instead of running on (new orders arrive every few seconds).
    #[arg(long)]
    pub once: bool,
    /// Keep the sandbox's config and database here (default: a fresh temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Where the engine's HTTP server listens while running on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

/// The mapping shipped with the sandbox.
const MAPPING: &str = include_str!("../../mappings/woocommerce-bitrix24.toml");

/// The store and the CRM the sandbox pairs, by connector kind (their emulators come from the
/// registry, like every other use of a connector).
const STORE_KIND: &str = "woocommerce";
const CRM_KIND: &str = "bitrix24";

/// Starts the store's emulator with `orders` seeded orders.
async fn start_store(orders: usize) -> anyhow::Result<Box<dyn SandboxStore>> {
    let kind =
        crate::connectors::kind(STORE_KIND).context("the sandbox's store is not registered")?;
    kind.connector()
        .sandbox_store(orders)
        .await
        .with_context(|| format!("{STORE_KIND} has no sandbox emulator"))?
        .map_err(|e| anyhow::anyhow!(e))
}

/// Starts the CRM's emulator.
async fn start_crm() -> anyhow::Result<Box<dyn SandboxCrm>> {
    let kind = crate::connectors::kind(CRM_KIND).context("the sandbox's CRM is not registered")?;
    kind.connector()
        .sandbox_crm()
        .await
        .with_context(|| format!("{CRM_KIND} has no sandbox emulator"))?
        .map_err(|e| anyhow::anyhow!(e))
}

/// Runs the sandbox.
pub async fn sandbox(args: &SandboxArgs) -> anyhow::Result<u8> {
    let (dir, _temp) = sandbox_dir(args.dir.as_deref())?;
    let shop: Arc<dyn SandboxStore> = Arc::from(start_store(args.orders).await?);
    let crm: Arc<dyn SandboxCrm> = Arc::from(start_crm().await?);
    std::fs::create_dir_all(dir.join("mappings"))?;
    std::fs::write(dir.join("mappings/woocommerce-bitrix24.toml"), MAPPING)?;
    let config_path = dir.join("dealbridge.toml");
    std::fs::write(
        &config_path,
        sandbox_config(&shop.config_table(), &crm.config_table(), args.listen),
    )?;
    println!("sandbox in {}", dir.display());
    let failing = if shop.seeded_failure().is_some() {
        " + 1 that fails on purpose"
    } else {
        ""
    };
    println!(
        "  {}  ({} seeded orders{failing})",
        shop.describe(),
        args.orders
    );
    println!("  {}", crm.describe());
    println!("  config:               {}", config_path.display());
    println!();

    let app = App::load(&config_path).await?;
    first_syncs(&app, crm.as_ref()).await?;
    show_two_way(&app, shop.as_ref(), crm.as_ref()).await?;
    show_failure(&app, shop.as_ref(), &dir, args.once).await?;
    let store = app.store.clone();
    if !args.once {
        run_on(app, shop.clone(), crm.clone(), args.listen).await?;
    }
    store.close().await;
    shop.shutdown().await;
    crm.shutdown().await;
    Ok(super::exit::OK)
}

/// The directory given, or a fresh temporary one (kept alive by the returned guard).
fn sandbox_dir(dir: Option<&Path>) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            Ok((d.to_path_buf(), None))
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("dealbridge-sandbox-")
                .tempdir()?;
            Ok((temp.path().to_path_buf(), Some(temp)))
        }
    }
}

/// The first sync (orders become deals, the shop's catalog reaches the CRM) and a second one
/// that writes nothing.
async fn first_syncs(app: &App, crm: &dyn SandboxCrm) -> anyhow::Result<()> {
    let summary = app.engine.sync_once(None, false).await?;
    println!(
        "first sync: {} order(s) read, {} deal(s) created, {} payment(s) shown on deals, {} retried, {} dead",
        summary.polls.iter().map(|(_, p)| p.seen).sum::<u64>(),
        summary.created,
        summary.updated,
        summary.retried,
        summary.dead
    );
    for c in &summary.catalogs {
        let deals = crm.deals();
        let rows: usize = deals.iter().map(|d| d.rows).sum();
        let linked: usize = deals.iter().map(|d| d.linked_rows).sum();
        println!(
            "catalog {}: {} product(s) of the shop created in the CRM; {linked} of {rows} deal row(s) name one (the others are shipping and fees)",
            c.flow,
            c.crm_created,
        );
    }
    print_deals(crm);
    let again = app.engine.sync_once(None, false).await?;
    println!(
        "second sync: {} written, {} unchanged — nothing is written twice",
        again.written,
        again.polls.iter().map(|(_, p)| p.unchanged).sum::<u64>()
    );
    Ok(())
}

/// Runs the engine and the status page until Ctrl-C, with a new order every 10 s.
async fn run_on(
    app: App,
    shop: Arc<dyn SandboxStore>,
    crm: Arc<dyn SandboxCrm>,
    listen: SocketAddr,
) -> anyhow::Result<()> {
    println!();
    println!(
        "running on: a new order arrives in the shop every 10 s and becomes a deal within seconds."
    );
    // A token for this run only: the console shows the buyers' names and e-mails.
    let token = crate::server::console::auth::random_hex();
    println!("console:     http://{listen}/   (token {token})");
    println!("status page: http://{listen}/status   (Ctrl-C to stop)");
    let stop = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; pass --listen"))?;
    let server_stop = stop.clone();
    let server = tokio::spawn(
        axum::serve(
            listener,
            router(
                AppState::new(app.store.clone(), Some(app.engine.health.clone()))
                    .with_flows(std::sync::Arc::new(app.config.clone())),
            )
            .merge(console_router(&app, &token)),
        )
        .with_graceful_shutdown(async move { server_stop.cancelled().await })
        .into_future(),
    );
    let arrivals = spawn_arrivals(shop, crm, stop.clone());
    let signal_stop = stop.clone();
    tokio::spawn(async move {
        super::run::wait_for_signal().await;
        signal_stop.cancel();
    });
    let mut engine = app.engine;
    engine.settings.poll_interval = Duration::from_secs(2);
    Arc::new(engine).run(stop.clone()).await?;
    stop.cancel();
    let _ = arrivals.await;
    server.await??;
    Ok(())
}

/// The web console of the sandbox's engine, closed by `token`.
fn console_router(app: &App, token: &str) -> axum::Router {
    use crate::server::console::{auth::ConsoleAuth, router, ConsoleState};
    router(ConsoleState {
        store: app.store.clone(),
        config: Arc::new(app.config.clone()),
        health: Some(app.engine.health.clone()),
        reconciler: Some(app.engine.reconciler()),
        auth: Arc::new(ConsoleAuth::new(Some(crate::config::Secret::new(token)))),
    })
}

/// A new order in the shop every 10 s, and the deal it becomes as soon as the CRM has it.
fn spawn_arrivals(
    shop: Arc<dyn SandboxStore>,
    crm: Arc<dyn SandboxCrm>,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seed = 1000;
        let mut known = crm.deals().len();
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(10)) => {}
            }
            seed += 1;
            let ids = shop.seed_orders(1, seed);
            println!("shop: new order {}", ids.join(", "));
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let deals = crm.deals();
                if deals.len() > known {
                    known = deals.len();
                    if let Some(d) = deals.last() {
                        println!(
                            "crm:  deal {} \"{}\" stage {} amount {} {}",
                            d.id, d.title, d.stage, d.amount, d.currency
                        );
                    }
                    break;
                }
            }
        }
    })
}

fn print_deals(crm: &dyn SandboxCrm) {
    let deals = crm.deals();
    println!("deals in the CRM: {}", deals.len());
    for d in deals.iter().take(10) {
        println!(
            "  #{:<4} {:<16} {:<20} {:>10} {}  contact {}",
            d.id,
            d.title,
            d.stage,
            d.amount,
            d.currency,
            d.contact.as_deref().unwrap_or("-"),
        );
    }
    if deals.len() > 10 {
        println!("  … and {} more", deals.len() - 10);
    }
}

/// Both directions: a manager wins an open deal in the CRM emulator; the next pass writes the
/// shop's order, and our write coming back changes nothing.
async fn show_two_way(
    app: &App,
    shop: &dyn SandboxStore,
    crm: &dyn SandboxCrm,
) -> anyhow::Result<()> {
    let Some(deal) = crm.deals().into_iter().find(|d| d.open) else {
        return Ok(());
    };
    let Some(order) = deal.origin_id.clone() else {
        return Ok(());
    };
    let id = deal.id;
    if !crm.win_deal(&id) {
        return Ok(());
    }
    let back = app.engine.sync_once(None, false).await?;
    let status = shop.order_status(&order).unwrap_or_default();
    println!(
        "a manager moved deal {id} to WON in the CRM: the shop's order {order} is now `{status}` ({} write(s), conflicts {})",
        back.written, back.conflicts
    );
    let echo = app.engine.sync_once(None, false).await?;
    println!(
        "next sync: {} written — our own write coming back changes nothing",
        echo.written
    );
    Ok(())
}

/// The seeded order that fails on purpose: where it is and how to fix it, so a newcomer sees
/// the Errors page at work (and `queue list` on the command line).
async fn show_failure(
    app: &App,
    shop: &dyn SandboxStore,
    dir: &Path,
    once: bool,
) -> anyhow::Result<()> {
    let Some(f) = shop.seeded_failure() else {
        return Ok(());
    };
    let dead = app
        .store
        .queue()
        .list(&dealbridge_store::JobFilter {
            states: vec![dealbridge_store::JobState::Dead],
            ..dealbridge_store::JobFilter::default()
        })
        .await?;
    let Some(job) = dead
        .iter()
        .find(|j| j.payload["order"]["source"]["id"].as_str() == Some(f.order_id.as_str()))
    else {
        return Ok(());
    };
    println!();
    let shown = if once {
        "`dealbridge queue list --state dead` shows it; without --once the console's Errors page does"
    } else {
        "the console's Errors page shows it"
    };
    println!(
        "one order fails on purpose: {} (job {}, dead; {shown}).",
        f.why, job.id
    );
    println!(
        "  to fix it: {} ({}), then Retry it on its page /errors/{}, which shows the deal it would make now.",
        f.fix,
        dir.join("mappings/woocommerce-bitrix24.toml").display(),
        job.id
    );
    Ok(())
}

fn sandbox_config(shop_table: &str, crm_table: &str, listen: SocketAddr) -> String {
    format!(
        r#"# Written by `dealbridge sandbox`: both systems are local emulators.
[database]
url = "sqlite://dealbridge.db"

[server]
listen = "{listen}"

[systems.shop]
{shop_table}
[systems.crm]
{crm_table}
[[flows]]
name = "orders"
from = "shop"
to = "crm"
entities = ["order", "payment"]
mapping = "mappings/woocommerce-bitrix24.toml"

# The other direction: a manager's stage or row change in the CRM reaches the shop's order.
[[flows]]
name = "deals-back"
from = "crm"
to = "shop"
entities = ["order"]
mapping = "mappings/woocommerce-bitrix24.toml"

# The shop's own products and prices in the CRM's catalog (no 1C here); deal rows name them.
[[catalog]]
name = "shop-products"
from = "shop"
to = "crm"
"#
    )
}
