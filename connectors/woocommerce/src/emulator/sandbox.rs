//! The emulator as `dealbridge sandbox` uses it: a shop with seeded orders.

use super::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_sdk::connector::{SandboxStore, SeededFailure};
use std::net::SocketAddr;

/// The order status the sandbox's failing order has: registered by a plugin, mapped by nobody.
pub const PLUGIN_STATUS: &str = "delivered";

/// A running WooCommerce emulator seen as the sandbox's store.
pub struct WooSandbox {
    handle: super::EmulatorHandle,
    /// The seeded order in [`PLUGIN_STATUS`].
    failing: Option<u64>,
    base_url: String,
    running: tokio::sync::Mutex<Option<RunningEmulator>>,
}

impl From<RunningEmulator> for WooSandbox {
    fn from(emu: RunningEmulator) -> Self {
        WooSandbox {
            handle: emu.handle.clone(),
            failing: None,
            base_url: emu.base_url.clone(),
            running: tokio::sync::Mutex::new(Some(emu)),
        }
    }
}

impl WooSandbox {
    /// Starts the emulator on a free loopback port with `orders` seeded orders.
    pub async fn start(orders: usize) -> std::io::Result<WooSandbox> {
        let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let emu = spawn(EmulatorConfig::default(), any).await?;
        emu.handle.seed_orders(orders, 42);
        // One more order, delivered: a status a shipment-tracking plugin registers, which the
        // shipped mapping (core statuses only) does not cover, as happens in real shops.
        emu.handle.register_order_status(PLUGIN_STATUS);
        let failing = emu.handle.seed_orders(1, 7).first().copied();
        if let Some(id) = failing {
            emu.handle
                .owner_edit(id, &serde_json::json!({ "status": PLUGIN_STATUS }))
                .map_err(|e| {
                    std::io::Error::other(format!("seeding the delivered order: {e:?}"))
                })?;
        }
        let mut sandbox = WooSandbox::from(emu);
        sandbox.failing = failing;
        Ok(sandbox)
    }
}

#[async_trait::async_trait]
impl SandboxStore for WooSandbox {
    fn config_table(&self) -> String {
        format!(
            "kind = \"woocommerce\"\nbase_url = \"{}\"\nconsumer_key = \"ck_test\"\nconsumer_secret = \"cs_test\"\n",
            self.base_url
        )
    }

    fn describe(&self) -> String {
        format!("WooCommerce emulator: {}/wp-json/wc/v3", self.base_url)
    }

    fn seed_orders(&self, n: usize, seed: u64) -> Vec<String> {
        self.handle
            .seed_orders(n, seed)
            .into_iter()
            .map(|id| id.to_string())
            .collect()
    }

    fn order_status(&self, id: &str) -> Option<String> {
        let order = self.handle.get_order_json(id.parse().ok()?)?;
        order["status"].as_str().map(str::to_string)
    }

    fn seeded_failure(&self) -> Option<SeededFailure> {
        let id = self.failing?;
        Some(SeededFailure {
            order_id: id.to_string(),
            why: format!(
                "order {id} is `{PLUGIN_STATUS}`, a status a shipment-tracking plugin adds, and the mapping's [status_map] has no stage for it"
            ),
            fix: format!("add `{PLUGIN_STATUS} = \"WON\"` under [status_map] in the mapping file"),
        })
    }

    async fn shutdown(&self) {
        if let Some(emu) = self.running.lock().await.take() {
            emu.shutdown().await;
        }
    }
}
