//! `dealbridge reconcile [--flow NAME] [--since 30d] [--json] [--fix]`: what differs between the
//! store's orders and the CRM's deals, each difference once with its fix; exit code 5 when
//! anything differs.

use super::exit;
use crate::app::App;
use crate::config::parse_duration;
use crate::sync::reconcile::{CatalogTarget, Report};
use clap::Args;
use std::path::Path;

/// Arguments of `reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Only this order flow (default: all).
    #[arg(long)]
    pub flow: Option<String>,
    /// How far back to compare: orders and deals changed in this window (e.g. `30d`, `12h`).
    #[arg(long, default_value = "30d", value_parser = parse_window)]
    pub since: std::time::Duration,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Queue the proposed fixes (then `sync` or a running engine applies them).
    #[arg(long)]
    pub fix: bool,
}

fn parse_window(text: &str) -> Result<std::time::Duration, String> {
    parse_duration(text)
}

/// Runs the comparison; 0 when everything agrees, 5 when something differs.
pub async fn reconcile(config: &Path, args: &ReconcileArgs) -> anyhow::Result<u8> {
    let app = App::load(config).await?;
    if let Some(flow) = &args.flow {
        let names: Vec<_> = app
            .engine
            .flows
            .iter()
            .map(|f| f.name.as_str())
            .chain(app.engine.catalogs.iter().map(|c| c.name.as_str()))
            .collect();
        if !names.contains(&flow.as_str()) {
            anyhow::bail!(
                "no order or catalog flow named `{flow}` in {}; flows: {}",
                config.display(),
                names.join(", ")
            );
        }
    }
    let window = chrono::Duration::from_std(args.since)
        .map_err(|_| anyhow::anyhow!("--since {:?} is too long", args.since))?;
    let since = chrono::Utc::now() - window;
    let report = app
        .engine
        .reconcile(args.flow.as_deref(), since, args.fix)
        .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, args.fix);
    }
    app.store.close().await;
    Ok(if report.agrees() {
        exit::OK
    } else {
        exit::DIFFERENCES
    })
}

fn print_report(report: &Report, fix: bool) {
    for d in &report.differences {
        println!(
            "{:<16} {:<10} order {:<8} deal {:<8} {}",
            d.kind.as_str(),
            d.flow.as_deref().or(d.catalog.as_deref()).unwrap_or("-"),
            d.store_id.as_deref().unwrap_or("-"),
            d.crm_id.as_deref().unwrap_or("-"),
            d.note
        );
    }
    for f in &report.flows {
        println!(
            "flow {}: {} order(s) of {} and {} deal(s) of {} compared, {} agree, {} unmapped, {} difference(s); {} read call(s)",
            f.flow,
            f.checked.orders,
            f.store,
            f.checked.deals,
            f.crm,
            f.checked.agreeing,
            f.checked.unmapped,
            f.differences,
            f.checked.reads
        );
    }
    for c in &report.catalogs {
        match &c.not_compared {
            Some(why) => println!("catalog {}: not compared: {why}", c.catalog),
            None if c.target == CatalogTarget::StorePrices => println!(
                "catalog {}: prices and stock of {} SKU(s) compared with {} ({} found there, {} not in the store), {} agree, {} difference(s)",
                c.catalog, c.items, c.crm, c.products, c.not_in_store, c.agreeing, c.differences
            ),
            None => println!(
                "catalog {}: {} item(s) and {} product(s) of {} compared, {} agree, {} difference(s)",
                c.catalog, c.items, c.products, c.crm, c.agreeing, c.differences
            ),
        }
    }
    if report.agrees() {
        println!("the store and the CRM agree");
    } else if fix {
        println!(
            "{} fix job(s) queued; `dealbridge sync` (or the running engine) applies them",
            report.fixes_queued
        );
    } else {
        println!("run `dealbridge reconcile --fix` to queue the fixes");
    }
}
