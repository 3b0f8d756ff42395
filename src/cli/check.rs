//! `dealbridge init` and `dealbridge check`.

use super::exit;
use crate::config::{check as check_config, example_config, ProcessEnv};
use crate::mapping::default_mapping_file;
use anyhow::Context;
use std::path::Path;

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

/// Validates the config and its mappings; prints every mistake as file:line:column.
pub fn check(path: &Path) -> anyhow::Result<u8> {
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
