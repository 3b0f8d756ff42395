//! Test world: a WooCommerce emulator and a Bitrix24 emulator on loopback ports, a config file
//! and a fresh SQLite database in a temp directory. The engine under test talks to the
//! emulators over real HTTP, in-process (`App`) or as the real binary (`dealbridge`).

#![allow(dead_code)]

use dealbridge_bitrix24::emulator as b24;
use dealbridge_woocommerce::emulator as woo;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;

/// The emulators plus the engine's config.
pub struct World {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub shop: woo::RunningEmulator,
    pub crm: b24::RunningEmulator,
}

/// Extra lines for the config's `[sync]` and `[systems.crm]` sections.
#[derive(Default, Clone)]
pub struct Tuning {
    pub sync: &'static str,
    pub crm: &'static str,
}

pub async fn spawn_world(tuning: Tuning) -> World {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let shop = woo::spawn(woo::EmulatorConfig::default(), any).await.expect("woo emulator");
    let crm = b24::spawn(
        b24::EmulatorConfig {
            limits: b24::BucketLimits::enterprise(),
            ..Default::default()
        },
        any,
    )
    .await
    .expect("bitrix24 emulator");
    let dir = tempfile::tempdir().unwrap();
    let mapping = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/woocommerce-bitrix24.toml")).unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::write(dir.path().join("mappings/woocommerce-bitrix24.toml"), mapping).unwrap();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"[database]
url = "sqlite://dealbridge.db"
[server]
listen = "127.0.0.1:0"
[sync]
{sync}
[systems.shop]
kind = "woocommerce"
base_url = "{shop}"
consumer_key = "ck_test"
consumer_secret = "cs_test"
[systems.crm]
kind = "bitrix24"
webhook_url = "{crm}"
rate_limit_per_second = 50
rate_limit_burst = 50
{crm_extra}
[[flows]]
name = "orders"
from = "shop"
to = "crm"
entities = ["order"]
mapping = "mappings/woocommerce-bitrix24.toml"
"#,
            sync = tuning.sync,
            shop = shop.base_url,
            crm = crm.webhook_url,
            crm_extra = tuning.crm,
        ),
    )
    .unwrap();
    World { dir, config, shop, crm }
}

impl World {
    /// Runs the real binary with this world's config.
    pub fn cli(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_dealbridge"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run dealbridge")
    }

    /// The ORIGIN_ID of every deal in the CRM, with duplicates counted.
    pub fn deal_origins(&self) -> (usize, BTreeSet<String>) {
        let deals = self.crm.handle.deals();
        let set = deals
            .iter()
            .map(|d| d["ORIGIN_ID"].as_str().unwrap_or_default().to_string())
            .collect();
        (deals.len(), set)
    }
}

/// Write calls made to the CRM, by method.
pub fn crm_writes(handle: &b24::EmulatorHandle) -> u64 {
    let c = handle.counters();
    ["crm.deal.add", "crm.deal.update", "crm.deal.productrows.set", "crm.contact.add", "crm.contact.update"]
        .iter()
        .map(|m| c.get(m).served)
        .sum()
}
