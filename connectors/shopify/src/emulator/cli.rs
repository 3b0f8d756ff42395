//! The emulator as `dealbridge emulate shopify` runs it.

use super::{spawn, EmulatorConfig};
use dealbridge_sdk::connector::{Emulator, EmulatorFlag, EmulatorOptions, StopSignal};
use dealbridge_sdk::fault::FaultConfig;
use std::net::SocketAddr;

/// `dealbridge emulate shopify`.
pub struct ShopifyEmulator;

const FLAGS: &[EmulatorFlag] = &[
    EmulatorFlag::value(
        "access-token",
        "The Admin API access token clients must present",
        "shpat_test",
    )
    .from_env("DEALBRIDGE_EMULATOR_TOKEN"),
    EmulatorFlag::value("seed-orders", "Orders to create at start", "0"),
    EmulatorFlag::optional(
        "webhook-url",
        "Deliver signed webhooks (orders/create, orders/updated, …) to this URL",
    ),
    EmulatorFlag::value(
        "webhook-secret",
        "The app secret webhooks are signed with",
        "shpss_test",
    )
    .from_env("DEALBRIDGE_EMULATOR_WEBHOOK_SECRET"),
];

#[async_trait::async_trait]
impl Emulator for ShopifyEmulator {
    fn about(&self) -> &'static str {
        "Shopify Admin REST API (`/admin/api/<version>/orders.json`, transactions, products, inventory), with its leaky bucket and signed webhooks"
    }

    fn default_listen(&self) -> &'static str {
        "127.0.0.1:9004"
    }

    fn flags(&self) -> &'static [EmulatorFlag] {
        FLAGS
    }

    async fn run(
        &self,
        listen: SocketAddr,
        options: &EmulatorOptions,
        faults: FaultConfig,
        stop: StopSignal,
    ) -> Result<(), String> {
        let emu = spawn(
            EmulatorConfig {
                access_token: options.text("access-token"),
                webhook_url: options.get("webhook-url").map(str::to_string),
                webhook_secret: options.text("webhook-secret"),
                faults,
                ..Default::default()
            },
            listen,
        )
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let seed = options.parse::<usize>("seed-orders")?.unwrap_or(0);
        if seed > 0 {
            emu.handle.seed_orders(seed, 1);
        }
        println!(
            "Shopify emulator at {}/admin/api/{}/ ; Ctrl-C to stop",
            emu.base_url,
            crate::API_VERSION
        );
        stop.await;
        emu.shutdown().await;
        Ok(())
    }
}
