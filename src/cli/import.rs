//! `dealbridge import-1c FILE... [--json]`: imports CommerceML files through the same code path
//! as the 1C exchange endpoint, with a progress bar on a terminal and log lines otherwise, and
//! prints the data-quality report. `import-1c --apply-held-deactivation` applies a deactivation
//! the guard held (`[exchange_1c] max_deactivate_share`).

use crate::app::open_store;
use crate::onec::{import_files_opts, ImportProgress, ImportReport, BATCH_ROWS};
use clap::Args;
use dealbridge_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Arguments of `import-1c`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CommerceML files, imported in the order given (import.xml before offers.xml).
    #[arg(required_unless_present = "apply_held_deactivation")]
    pub files: Vec<PathBuf>,
    /// Apply the deactivation a full catalog's import held (it would have deactivated more than
    /// `[exchange_1c] max_deactivate_share`), instead of importing files. Idempotent.
    #[arg(long, conflicts_with = "files")]
    pub apply_held_deactivation: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The system name the catalog is stored under.
    #[arg(long, default_value = "1c")]
    pub system: String,
    /// State database URL; overrides the config's `database.url` (no config needed then).
    #[arg(long, env = "DEALBRIDGE_DATABASE_URL")]
    pub database: Option<String>,
    /// Products/offers per transaction.
    #[arg(long, default_value_t = BATCH_ROWS)]
    pub batch: usize,
}

/// Runs the import and prints the report.
pub async fn import_1c(config: &Path, args: &ImportArgs) -> anyhow::Result<u8> {
    let store = match &args.database {
        Some(url) => Store::connect(url).await?,
        None => open_store(config).await?,
    };
    if args.apply_held_deactivation {
        return apply_held(store, args).await;
    }
    // Payments jobs the documents queue: the config's `[sync] max_attempts` when there is one
    // (with `--database` the config is optional); likewise the quality rules and the
    // deactivation bound.
    let loaded = crate::app::load_config(config).ok();
    let max_attempts = loaded
        .as_ref()
        .map_or(crate::config::SyncConfig::default().max_attempts, |c| {
            c.sync.max_attempts
        });
    let mut options = loaded
        .as_ref()
        .map(crate::app::onec_import_options)
        .unwrap_or_default();
    options.batch_rows = args.batch;
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    });
    // Plain mode logs each file's start and end, and every 10 % in between.
    let last_decile = Mutex::new(None::<(usize, u64)>);
    let progress = |p: ImportProgress| {
        if let Some(b) = &bar {
            b.set_length(p.bytes_total);
            b.set_position(p.bytes_done);
            b.set_message(format!("[{}/{}] {}", p.file_index + 1, p.files, p.file));
            return;
        }
        let decile = p.bytes_done * 10 / p.bytes_total.max(1);
        let mut last = last_decile.lock().unwrap_or_else(|e| e.into_inner());
        if p.file_done || *last != Some((p.file_index, decile)) {
            *last = Some((p.file_index, decile));
            tracing::info!(
                file = %p.file,
                done = p.file_done,
                bytes = p.bytes_done,
                of = p.bytes_total,
                items = p.items,
                "import-1c progress"
            );
        }
    };
    let result = import_files_opts(&store, &args.system, &args.files, &options, &progress).await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            store.close().await;
            return Err(e.into());
        }
    };
    // Order statuses and payments in the files land on the orders sent to 1C, as through the
    // exchange endpoint.
    let mut docs = crate::onec::documents::DocumentsReport::default();
    let payments = crate::sync::payments::PaymentsJobs::new(store.clone(), max_attempts);
    if report.documents > 0 {
        for file in &args.files {
            let d = crate::onec::documents::apply_documents_file(&store, file, &payments)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            docs.matched += d.matched;
            docs.payments += d.payments;
            docs.unmatched += d.unmatched;
        }
        tracing::info!(
            matched = docs.matched,
            payments = docs.payments,
            unmatched = docs.unmatched,
            "1C documents applied"
        );
    }
    store.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", human(&report));
        if report.documents > 0 {
            println!(
                "documents: {} matched to orders sent to 1C ({} payment(s) recorded), {} not ours",
                docs.matched, docs.payments, docs.unmatched
            );
        }
    }
    Ok(super::exit::OK)
}

fn human(r: &ImportReport) -> String {
    let mut out = String::new();
    for f in &r.files {
        out.push_str(&format!(
            "{}: {} items, {} bytes, kind {}, {}\n",
            f.file,
            f.items,
            f.bytes,
            f.kind
                .map_or("-".into(), |k| format!("{k:?}").to_lowercase()),
            match f.only_changes {
                Some(true) => "changes only",
                _ => "full",
            }
        ));
    }
    let c = &r.catalog;
    out.push_str("kind         inserted  updated  unchanged  deactivated\n");
    for (name, u) in [
        ("groups", c.groups),
        ("price types", c.price_types),
        ("warehouses", c.warehouses),
        ("products", c.products),
        ("offers", c.offers),
        ("prices", c.prices),
        ("stock", c.stock),
    ] {
        out.push_str(&format!(
            "{name:<12} {:>8}  {:>7}  {:>9}  {:>11}\n",
            u.inserted, u.updated, u.unchanged, u.deactivated
        ));
    }
    out.push_str(&format!(
        "documents {}, payments {}, unknown elements {}\n",
        r.documents, r.payments, r.unknown_elements
    ));
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out.push_str(&r.quality.summary());
    out
}

/// `--apply-held-deactivation`: deactivates what the guard held and says how much.
async fn apply_held(store: Store, args: &ImportArgs) -> anyhow::Result<u8> {
    let result = crate::onec::apply_held(&store, &args.system).await;
    store.close().await;
    let (products, offers) = result?;
    if args.json {
        let out = serde_json::json!({ "system": args.system, "deactivated": { "products": products, "offers": offers } });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if products + offers == 0 {
        println!(
            "no held deactivation for system {}: nothing to apply",
            args.system
        );
    } else {
        println!("held deactivation applied: {products} products, {offers} offers deactivated");
    }
    Ok(super::exit::OK)
}
