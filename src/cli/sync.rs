//! `dealbridge sync [FLOW] [--full] [--json]`: one pass to completion.

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
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the pass; exit code 3 if anything went to the dead letter.
pub async fn sync(config: &Path, args: &SyncArgs) -> anyhow::Result<u8> {
    let app = App::load(config).await?;
    if let Some(flow) = &args.flow {
        if !app.engine.flows.iter().any(|f| &f.name == flow) {
            let names: Vec<_> = app.engine.flows.iter().map(|f| f.name.as_str()).collect();
            anyhow::bail!(
                "no flow named `{flow}` in {}; flows: {}",
                config.display(),
                names.join(", ")
            );
        }
    }
    let summary = app
        .engine
        .sync_once(args.flow.as_deref(), args.full)
        .await?;
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
        println!(
            "writes: {} done, {} unchanged, {} failed attempt(s) retried, {} dead-lettered in this pass ({} dead in the queue)",
            summary.written, summary.unchanged, summary.retried, summary.dead, dead_total
        );
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
