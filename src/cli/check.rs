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
    let mut problems = remote_stages(&config).await?;
    problems.extend(remote_locations(&config).await);
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

/// The stages each mapping names, per system of `kind` and pipeline.
fn mapped_stages(
    config: &crate::config::Config,
    kind: crate::config::SystemKind,
) -> std::collections::BTreeMap<String, Wanted> {
    let mut wanted: std::collections::BTreeMap<String, Wanted> = Default::default();
    for flow in &config.flows {
        for system in [&flow.to, &flow.from] {
            if config.system(system).map(|s| s.kind()) != Some(kind) {
                continue;
            }
            let m = &flow.mapping;
            let file = m.path.display().to_string();
            let entry = wanted
                .entry(system.clone())
                .or_default()
                .entry(m.pipeline())
                .or_default();
            for stage in m.status_map.values().chain(m.stage_map.keys()) {
                entry.push((file.clone(), stage.clone()));
            }
        }
    }
    wanted
}

/// Mapped CRM stages the CRM does not have, one message each.
async fn remote_stages(config: &crate::config::Config) -> anyhow::Result<Vec<String>> {
    use crate::config::SystemConfig;
    let wanted = mapped_stages(config, crate::config::SystemKind::Bitrix24);
    let store = crate::app::open_store(&config.path).await?;
    let mut problems = Vec::new();
    for (system, pipelines) in &wanted {
        let system = system.as_str();
        let Some(SystemConfig::Bitrix24(b)) = config.system(system) else {
            continue;
        };
        let limits = dealbridge_bitrix24::DEFAULT_LIMITS;
        let client =
            crate::app::bitrix24_client(&store, system, b, limits, b.limits.timeouts()).await?;
        let ids: Vec<u32> = pipelines.keys().copied().collect();
        let known = client.deal_pipelines(&ids).await.map_err(|e| {
            anyhow::anyhow!("systems.{system}: cannot read the portal's pipelines: {e}")
        })?;
        for (&pipeline, stages) in pipelines {
            if !known.categories.iter().any(|c| c.id == pipeline) && pipeline != 0 {
                problems.push(format!(
                    "systems.{system}: pipeline {pipeline} (CATEGORY_ID) does not exist in the portal; pipelines: {}",
                    known.categories.iter().map(|c| format!("{} ({})", c.id, c.name)).collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            let in_pipeline: Vec<_> = known
                .stages
                .iter()
                .filter(|s| s.category_id == pipeline)
                .cloned()
                .collect();
            let mut seen = std::collections::BTreeSet::new();
            for (file, stage) in stages {
                if !seen.insert((file.clone(), stage.clone())) {
                    continue;
                }
                if !dealbridge_bitrix24::unknown_stages(&[stage.as_str()], &in_pipeline).is_empty()
                {
                    problems.push(format!(
                        "{file}: stage `{stage}` is not a stage of pipeline {pipeline} in `{system}`; its stages: {}",
                        in_pipeline.iter().map(|s| format!("{} ({})", s.id, s.name)).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
    }
    // amoCRM: the statuses of each mapped pipeline.
    let amo = mapped_stages(config, crate::config::SystemKind::AmoCrm);
    for (system, pipelines) in &amo {
        let system = system.as_str();
        let Some(SystemConfig::AmoCrm(a)) = config.system(system) else {
            continue;
        };
        let client = crate::app::amo_client(
            &store,
            system,
            a,
            dealbridge_amocrm::DEFAULT_LIMITS,
            a.limits.timeouts(),
        )
        .await?;
        for (&pipeline, stages) in pipelines {
            let statuses = client.statuses(u64::from(pipeline)).await.map_err(|e| {
                anyhow::anyhow!(
                    "systems.{system}: cannot read the statuses of pipeline {pipeline}: {e}"
                )
            })?;
            let mut seen = std::collections::BTreeSet::new();
            for (file, stage) in stages {
                if !seen.insert((file.clone(), stage.clone())) {
                    continue;
                }
                if !statuses.iter().any(|s| s.id.to_string() == *stage) {
                    problems.push(format!(
                        "{file}: status `{stage}` is not a status of pipeline {pipeline} in `{system}`; its statuses: {}",
                        statuses.iter().map(|s| format!("{} ({})", s.id, s.name)).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
    }
    store.close().await;
    Ok(problems)
}

/// For each catalog that sets a Shopify store's stock: the location it will write, or why none
/// can be chosen (several active locations and no `location_id`, or one that is not there).
async fn remote_locations(config: &crate::config::Config) -> Vec<String> {
    use crate::config::SystemConfig;
    let mut problems = Vec::new();
    for c in config.catalogs.iter().filter(|c| c.from.is_none()) {
        let Some(SystemConfig::Shopify(shop)) = config.system(&c.to) else {
            continue;
        };
        let client = match dealbridge_shopify::ShopifyClient::new(
            shop.base_url.as_str(),
            shop.access_token.expose(),
            shop.limits.timeouts(),
        ) {
            Ok(client) => client
                .with_system_name(c.to.clone())
                .with_location_id(shop.location_id),
            Err(e) => {
                problems.push(format!("systems.{}: {e}", c.to));
                continue;
            }
        };
        match client.stock_location().await {
            Ok(id) => println!(
                "remote: catalog {} sets the stock of location {id} in `{}`",
                c.name, c.to
            ),
            Err(e) => problems.push(format!("catalog {}: {e}", c.name)),
        }
    }
    problems
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
