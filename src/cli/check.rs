//! `dealbridge init` and `dealbridge check`.

use super::exit;
use crate::config::{check as check_config, example_config, ProcessEnv};
use anyhow::Context;
use std::path::Path;

/// The mapping `dealbridge init` writes beside the example config: the shipped
/// `mappings/woocommerce-bitrix24.toml`, for the pair the example config connects.
pub fn default_mapping_file() -> &'static str {
    include_str!("../../mappings/woocommerce-bitrix24.toml")
}

/// Writes the commented example config (and the default mapping next to it). Never overwrites.
pub fn init(path: &Path) -> anyhow::Result<u8> {
    if path.exists() {
        anyhow::bail!(
            "{} exists; not overwriting it (move it away or pass --config NEW_PATH)",
            path.display()
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, example_config())
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    let mapping = path
        .parent()
        .unwrap_or(Path::new("."))
        .join("mappings/woocommerce-bitrix24.toml");
    if !mapping.exists() {
        std::fs::create_dir_all(mapping.parent().expect("has parent"))?;
        std::fs::write(&mapping, default_mapping_file())?;
        println!("wrote {}", mapping.display());
    }
    println!("edit them, then run `dealbridge check` and `dealbridge sync`");
    Ok(exit::OK)
}

/// Validates the config and its mappings; prints every mistake as file:line:column. With
/// `remote`, also asks each CRM (Bitrix24 portal, amoCRM account) for its pipelines and stages
/// and names every mapped stage it does not have, and each Shopify store a catalog writes for
/// the location its stock goes to.
pub async fn check(path: &Path, remote: bool) -> anyhow::Result<u8> {
    let code = check_local(path)?;
    if code != exit::OK || !remote {
        return Ok(code);
    }
    let config = crate::app::load_config(path)?;
    let problems = remote_problems(&config).await?;
    for p in &problems {
        eprintln!("{p}");
    }
    if problems.is_empty() {
        println!("remote: every mapped stage exists in its CRM pipeline");
        Ok(exit::OK)
    } else {
        eprintln!("{} mistake(s) found in the CRM", problems.len());
        Ok(exit::INVALID_CONFIG)
    }
}

/// Per pipeline: (mapping file, stage id it names).
type Wanted = std::collections::BTreeMap<u32, Vec<(String, String)>>;

/// The stages the mappings name for `system`, per pipeline.
fn mapped_stages(config: &crate::config::Config, system: &str) -> Wanted {
    let mut wanted = Wanted::new();
    for flow in config
        .flows
        .iter()
        .filter(|f| f.to == system || f.from == system)
    {
        let m = &flow.mapping;
        let file = m.path.display().to_string();
        let entry = wanted.entry(m.pipeline()).or_default();
        for stage in m.status_map.values().chain(m.stage_map.keys()) {
            entry.push((file.clone(), stage.clone()));
        }
    }
    wanted
}

/// Asks each system's connector to check the config against the live system: mapped CRM
/// stages it does not have, the stock location of each store a 1C catalog writes. Returns
/// the problems; prints the notes.
async fn remote_problems(config: &crate::config::Config) -> anyhow::Result<Vec<String>> {
    use dealbridge_sdk::connector::{BuildContext, RemoteCheck, SavedState};
    let store = crate::app::open_store(&config.path).await?;
    let state: std::sync::Arc<dyn SavedState> =
        std::sync::Arc::new(crate::app::StoreState(store.clone()));
    let mut problems = Vec::new();
    for (name, system) in &config.systems {
        let is_crm = !system.kind().is_store();
        let check = RemoteCheck {
            build: BuildContext {
                name,
                settings: system.settings(),
                limits: system.limits(),
                state: state.clone(),
                deal_pipeline: None,
            },
            stages: if is_crm {
                mapped_stages(config, name)
            } else {
                Wanted::new()
            },
            stock_catalogs: config
                .catalogs
                .iter()
                .filter(|c| c.from.is_none() && &c.to == name && !is_crm)
                .map(|c| c.name.clone())
                .collect(),
        };
        let report = system
            .kind()
            .connector()
            .remote_check(check)
            .await
            .map_err(|e| anyhow::anyhow!("systems.{name}: cannot check it remotely: {e}"))?;
        for note in &report.notes {
            println!("remote: {note}");
        }
        problems.extend(report.problems);
    }
    store.close().await;
    Ok(problems)
}

fn check_local(path: &Path) -> anyhow::Result<u8> {
    match check_config(path, &ProcessEnv) {
        Ok(config) => {
            println!("{}: ok", path.display());
            for (name, system) in &config.systems {
                let kind = system.kind().as_str();
                println!("  system {name}: {kind}");
            }
            for flow in &config.flows {
                println!(
                    "  flow {}: {} -> {} ({}), mapping {}",
                    flow.name,
                    flow.from,
                    flow.to,
                    flow.entities
                        .iter()
                        .map(|e| format!("{e:?}").to_lowercase())
                        .collect::<Vec<_>>()
                        .join(", "),
                    flow.mapping.path.display()
                );
            }
            for c in &config.catalogs {
                match &c.from {
                    Some(shop) => println!(
                        "  catalog {}: {shop} -> {} (the store's own products)",
                        c.name, c.to
                    ),
                    None => println!(
                        "  catalog {}: 1C -> {}, mapping {}",
                        c.name,
                        c.to,
                        c.mapping.path.display()
                    ),
                }
            }
            Ok(exit::OK)
        }
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            eprintln!("{} mistake(s) found", diagnostics.len());
            Ok(exit::INVALID_CONFIG)
        }
    }
}
