//! `dealbridge commerceml inspect FILE... [--json]`: what CommerceML files hold, without a
//! database (and without a config).

use crate::connectors::commerceml::{inspect, FileSummary};
use clap::Subcommand;
use std::path::PathBuf;

/// CommerceML file tools.
#[derive(Debug, Subcommand)]
pub enum CommercemlCommand {
    /// Summarise files: schema, namespace, encoding, changes-only flag and item counts.
    Inspect {
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per file, one per line.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `commerceml` subcommand. A file that cannot be read is reported on stderr and the
/// others are still summarised; the exit code is then FAILURE.
pub fn commerceml(cmd: &CommercemlCommand) -> anyhow::Result<u8> {
    match cmd {
        CommercemlCommand::Inspect { files, json } => {
            let mut failed = false;
            let mut rows = Vec::new();
            for f in files {
                match inspect(f) {
                    Ok(s) if *json => println!("{}", serde_json::to_string(&s)?),
                    Ok(s) => rows.push(s),
                    Err(e) => {
                        failed = true;
                        eprintln!("error: {}: {e}", f.display());
                    }
                }
            }
            if !*json {
                print!("{}", table(&rows));
            }
            Ok(if failed {
                super::exit::FAILURE
            } else {
                super::exit::OK
            })
        }
    }
}

/// The human table: one row per file.
fn table(rows: &[FileSummary]) -> String {
    let header = [
        "file",
        "schema",
        "namespace",
        "encoding",
        "changes",
        "kind",
        "groups",
        "props",
        "ptypes",
        "whs",
        "products",
        "offers",
        "prices",
        "stock",
        "variants",
        "deleted",
        "docs",
        "payments",
        "unknown",
    ];
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for s in rows {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        cells.push(vec![
            s.file.clone(),
            opt(&s.schema_version),
            opt(&s.namespace),
            format!("{}{}", s.encoding, if s.bom { "+BOM" } else { "" }),
            s.only_changes.map_or("-".into(), |b| b.to_string()),
            s.kind
                .map(|k| format!("{k:?}").to_lowercase())
                .unwrap_or_else(|| "-".into()),
            s.groups.to_string(),
            s.properties.to_string(),
            s.price_types.to_string(),
            s.warehouses.to_string(),
            s.products.to_string(),
            s.offers.to_string(),
            s.prices.to_string(),
            s.stock_entries.to_string(),
            s.variant_offers.to_string(),
            s.deleted.to_string(),
            s.documents.to_string(),
            s.payments.to_string(),
            s.unknown_elements.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &cells {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
