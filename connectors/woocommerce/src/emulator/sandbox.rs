//! The emulator as `dealbridge sandbox` uses it: a shop with seeded orders.

use super::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_sdk::connector::SandboxStore;
use std::net::SocketAddr;

/// A running WooCommerce emulator seen as the sandbox's store.
pub struct WooSandbox {
    handle: super::EmulatorHandle,
    base_url: String,
    running: tokio::sync::Mutex<Option<RunningEmulator>>,
}

impl From<RunningEmulator> for WooSandbox {
    fn from(emu: RunningEmulator) -> Self {
        WooSandbox {
            handle: emu.handle.clone(),
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
        Ok(emu.into())
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

    async fn shutdown(&self) {
        if let Some(emu) = self.running.lock().await.take() {
            emu.shutdown().await;
        }
    }
}
