//! Test world: a WooCommerce emulator and a Bitrix24 emulator on loopback ports, a config file
//! and a fresh SQLite database in a temp directory. The engine under test talks to the
//! emulators over real HTTP, in-process (`App`) or as the real binary (`dealbridge`).

#![allow(dead_code)]

use dealbridge_bitrix24::emulator as b24;
use dealbridge_woocommerce::emulator as woo;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

/// The emulators plus the engine's config.
pub struct World {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub shop: woo::RunningEmulator,
    pub crm: b24::RunningEmulator,
}

/// Extra lines for the config's `[sync]` and `[systems.crm]` sections, and the Bitrix24
/// emulator's request bucket (`None`: an Enterprise portal's).
#[derive(Default, Clone)]
pub struct Tuning {
    pub sync: &'static str,
    pub crm: &'static str,
    pub crm_limits: Option<b24::BucketLimits>,
}

pub async fn spawn_world(tuning: Tuning) -> World {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let shop = woo::spawn(woo::EmulatorConfig::default(), any)
        .await
        .expect("woo emulator");
    let crm = b24::spawn(
        b24::EmulatorConfig {
            limits: tuning
                .crm_limits
                .unwrap_or_else(b24::BucketLimits::enterprise),
            ..Default::default()
        },
        any,
    )
    .await
    .expect("bitrix24 emulator");
    let dir = tempfile::tempdir().unwrap();
    let mapping = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/mappings/woocommerce-bitrix24.toml"
    ))
    .unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/woocommerce-bitrix24.toml"),
        mapping,
    )
    .unwrap();
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
    World {
        dir,
        config,
        shop,
        crm,
    }
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
    [
        "crm.deal.add",
        "crm.deal.update",
        "crm.deal.productrows.set",
        "crm.contact.add",
        "crm.contact.update",
    ]
    .iter()
    .map(|m| c.get(m).served)
    .sum()
}

/// A `dealbridge` command with a clean environment: no `DEALBRIDGE_*` variable of the caller's
/// shell (config path, secret overrides) leaks into the run, and logs stay quiet.
pub fn dealbridge() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dealbridge"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DEALBRIDGE_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// Places a Shopify order for 2 × Tea at 12.50 (`extra` adds or overrides fields, e.g.
/// `financial_status`, `shipping_lines`) in the Shopify emulator at `base_url`.
pub async fn shopify_tea_order(
    base_url: &str,
    extra: serde_json::Value,
) -> dealbridge_shopify::wire::ShopifyOrder {
    let client = dealbridge_shopify::ShopifyClient::new(
        base_url,
        "shpat_test",
        dealbridge_sdk::http::Timeouts::default(),
    )
    .unwrap();
    let mut body = serde_json::json!({
        "email": "anna@example.com",
        "line_items": [{"title": "Tea", "price": "12.50", "quantity": 2}],
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    client.create_order(&body).await.unwrap()
}

/// Runs `dealbridge --config <config> <args>` (see [`dealbridge`]), asserts it succeeded, and
/// returns what it printed.
pub fn dealbridge_ok(config: &Path, args: &[&str]) -> String {
    let out = dealbridge()
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run dealbridge");
    assert!(
        out.status.success(),
        "dealbridge {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A loopback port that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// A child process that is killed when the guard drops, so a failing test leaves nothing behind.
pub struct ChildGuard {
    pub child: std::process::Child,
    /// What the child is, for failure messages.
    pub what: String,
}

impl ChildGuard {
    /// Spawns `cmd` under a guard.
    pub fn spawn(mut cmd: std::process::Command, what: &str) -> ChildGuard {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        ChildGuard {
            child,
            what: what.to_string(),
        }
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Panics if the child has already exited (it was meant to keep running).
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!("{} exited early with {status}", self.what);
        }
    }

    /// Waits up to `timeout` for the child to exit on its own.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `check` every 100 ms until it returns true; panics naming `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl World {
    /// Replaces `from` with `to` in a file of the world's directory (`rel` is relative to it);
    /// panics if `from` is not there, so a stale edit cannot pass silently.
    pub fn edit_file(&self, rel: &str, from: &str, to: &str) {
        let path = self.dir.path().join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(from),
            "{} does not contain `{from}`",
            path.display()
        );
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// Runs the real binary and parses its stdout as JSON; panics with stderr on failure.
    pub fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "dealbridge {args:?} failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "dealbridge {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

/// A WooCommerce emulator and an amoCRM emulator with a config between them (the amoCRM twin of
/// [`spawn_world`]).
pub struct AmoWorld {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub shop: woo::RunningEmulator,
    pub crm: dealbridge_amocrm::emulator::RunningEmulator,
}

/// What an [`AmoWorld`]'s config adds to the defaults.
#[derive(Default, Clone)]
pub struct AmoTuning<'a> {
    /// Lines for the top of the file (`[server]`, `[sync]` sections).
    pub top: &'a str,
    /// Extra lines in `[systems.crm]`.
    pub crm: &'a str,
    /// The order flow's entities (default `["order"]`).
    pub entities: &'a str,
    /// Text appended at the end (more flows).
    pub tail: &'a str,
}

/// The flow from the CRM back to the shop, for two-way tests.
pub const AMO_REVERSE_FLOW: &str = "[[flows]]\nname = \"leads-back\"\nfrom = \"crm\"\nto = \"shop\"\nentities = [\"order\"]\nmapping = \"mappings/woocommerce-amocrm.toml\"\n";

pub async fn spawn_amo_world(t: AmoTuning<'_>) -> AmoWorld {
    use dealbridge_amocrm::emulator as amo;
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let shop = woo::spawn(woo::EmulatorConfig::default(), any)
        .await
        .expect("woo emulator");
    let crm = amo::spawn(amo::EmulatorConfig::default(), any)
        .await
        .expect("amoCRM emulator");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/mappings/woocommerce-amocrm.toml"
        ),
        dir.path().join("mappings/woocommerce-amocrm.toml"),
    )
    .unwrap();
    let entities = if t.entities.is_empty() {
        "[\"order\"]"
    } else {
        t.entities
    };
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://dealbridge.db\"\n{top}\n[systems.shop]\nkind = \"woocommerce\"\nbase_url = \"{shop}\"\nconsumer_key = \"ck_test\"\nconsumer_secret = \"cs_test\"\n[systems.crm]\nkind = \"amocrm\"\nbase_url = \"{crm}\"\ntoken = \"test\"\n{crm_extra}\n[[flows]]\nname = \"orders\"\nfrom = \"shop\"\nto = \"crm\"\nentities = {entities}\nmapping = \"mappings/woocommerce-amocrm.toml\"\n{tail}",
            top = t.top,
            shop = shop.base_url,
            crm = crm.base_url,
            crm_extra = t.crm,
            tail = t.tail,
        ),
    )
    .unwrap();
    AmoWorld {
        dir,
        config,
        shop,
        crm,
    }
}
