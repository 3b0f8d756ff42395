//! `dealbridge sync [FLOW] [--full] [--dry-run] [--json]`: one pass to completion, with a
//! progress line on a terminal and a summary (created, updated, unchanged, failed, conflicts).

use super::exit;
use crate::app::App;
use clap::Args;
use std::path::Path;

/// Arguments of `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this flow (default: all flows).
    pub flow: Option<String>,
    /// Ignore the poll cursor and re-read everything (only changed records are written).
    #[arg(long)]
    pub full: bool,
    /// Print what the pass would write and write nothing (no queue, no cursor, no remote write).
    #[arg(long)]
    pub dry_run: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the pass; exit code 3 if anything went to the dead letter.
pub async fn sync(config: &Path, args: &SyncArgs) -> anyhow::Result<u8> {
    let app = App::load(config).await?;
    if let Some(flow) = &args.flow {
        let known = app.engine.flows.iter().any(|f| &f.name == flow)
            || app.engine.pulls.iter().any(|p| &p.name == flow)
            || app.engine.catalogs.iter().any(|c| &c.name == flow);
        if !known {
            let names: Vec<_> = app
                .engine
                .flows
                .iter()
                .map(|f| f.name.as_str())
                .chain(app.engine.pulls.iter().map(|p| p.name.as_str()))
                .chain(app.engine.catalogs.iter().map(|c| c.name.as_str()))
                .collect();
            anyhow::bail!(
                "no flow named `{flow}` in {}; flows: {}",
                config.display(),
                names.join(", ")
            );
        }
    }
    if args.dry_run {
        let plan = app.engine.dry_run(args.flow.as_deref(), args.full).await?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            for c in &plan.changes {
                println!(
                    "{:<7} {:<10} {:<16} → {:<8} {}",
                    c.action, c.flow, c.entity, c.target, c.detail
                );
            }
            println!(
                "dry run: read {}, would write {}, unchanged {}; nothing was written",
                plan.read,
                // A refused record and a held pair write nothing.
                plan.changes
                    .iter()
                    .filter(|c| c.action != "refuse" && c.action != "held")
                    .count(),
                plan.unchanged
            );
            let refused = plan.changes.iter().filter(|c| c.action == "refuse").count();
            if refused > 0 {
                println!("{refused} record(s) would be refused: fix the mapping named above");
            }
        }
        app.store.close().await;
        return Ok(exit::OK);
    }
    let progress = progress_line(&app, args.json);
    let summary = app.engine.sync_once(args.flow.as_deref(), args.full).await;
    if let Some((bar, task)) = progress {
        task.abort();
        bar.finish_and_clear();
    }
    let summary = summary?;
    let dead_total = app
        .store
        .queue()
        .counts()
        .await?
        .into_iter()
        .find(|(s, _)| s.as_str() == "dead")
        .map(|(_, n)| n)
        .unwrap_or(0);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        for (flow, p) in &summary.polls {
            println!(
                "flow {flow}: read {} record(s) in {} page(s): {} queued, {} merged into pending writes, {} unchanged, {} set aside (dead or dropped)",
                p.seen, p.pages, p.queued, p.coalesced, p.unchanged, p.set_aside
            );
        }
        for c in &summary.catalogs {
            let from = if c.source == crate::onec::exchange::SYSTEM_1C {
                "1C"
            } else {
                c.source.as_str()
            };
            println!(
                "catalog {}: {} item(s) from {from}; CRM: {} created, {} updated, {} adopted, {} unchanged; store: {} updated, {} unchanged, {} SKU(s) not in the store, {} refused",
                c.flow,
                c.entries,
                c.crm_created,
                c.crm_updated,
                c.crm_adopted,
                c.crm_unchanged,
                c.store_updated,
                c.store_unchanged,
                c.store_not_found,
                c.store_failed.len()
            );
        }
        println!(
            "created {}, updated {}, unchanged {}, failed {} (dead-lettered; {} dead in the queue), conflicts {}; {} failed attempt(s) retried",
            summary.created,
            summary.updated,
            summary.unchanged,
            summary.dead,
            dead_total,
            summary.conflicts,
            summary.retried
        );
        if summary.conflicts > 0 {
            println!("see them with `dealbridge conflicts list --all`; open ones wait for `dealbridge conflicts resolve`");
        }
        if summary.dead > 0 {
            println!("see them with `dealbridge queue list --state dead`; fix the cause, then `dealbridge queue retry ID`");
        }
    }
    app.store.close().await;
    Ok(if summary.dead > 0 {
        exit::DEAD_LETTERS
    } else {
        exit::OK
    })
}

/// A live progress line on stderr while the pass runs, when stderr is a terminal.
fn progress_line(
    app: &App,
    json: bool,
) -> Option<(indicatif::ProgressBar, tokio::task::JoinHandle<()>)> {
    use std::io::IsTerminal;
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let tally = app.engine.tally.clone();
    let queue = app.store.queue();
    let b = bar.clone();
    let task = tokio::spawn(async move {
        loop {
            let t = tally.snapshot();
            let pending = queue.pending_count().await.unwrap_or(0);
            b.set_message(format!(
                "created {}, updated {}, unchanged {}, failed {}, retrying {}; {pending} queued",
                t.created, t.updated, t.unchanged, t.dead, t.retried
            ));
            b.tick();
            tokio::time::sleep(std::time::Duration::from_millis(120)).await;
        }
    });
    Some((bar, task))
}
