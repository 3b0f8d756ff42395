//! The emulator as `dealbridge emulate woocommerce` runs it.

use super::{spawn, EmulatorConfig};
use dealbridge_sdk::connector::{Emulator, EmulatorFlag, EmulatorOptions, StopSignal};
use dealbridge_sdk::fault::FaultConfig;
use std::net::SocketAddr;

/// `dealbridge emulate woocommerce`.
pub struct WooEmulator;

const FLAGS: &[EmulatorFlag] = &[
    EmulatorFlag::value(
        "consumer-key",
        "The consumer key clients must present",
        "ck_test",
    ),
    EmulatorFlag::value(
        "consumer-secret",
        "The consumer secret clients must present",
        "cs_test",
    )
    .from_env("DEALBRIDGE_EMULATOR_CONSUMER_SECRET"),
    EmulatorFlag::value("seed-orders", "Orders to create at start", "0"),
    EmulatorFlag::optional(
        "webhook-url",
        "Deliver signed webhooks (order.created/updated/deleted) to this URL",
    ),
    EmulatorFlag::value("webhook-secret", "The secret webhooks are signed with", "")
        .from_env("DEALBRIDGE_EMULATOR_WEBHOOK_SECRET"),
];

#[async_trait::async_trait]
impl Emulator for WooEmulator {
    fn about(&self) -> &'static str {
        "WooCommerce REST API v3 (`/wp-json/wc/v3/orders`)"
    }

    fn default_listen(&self) -> &'static str {
        "127.0.0.1:9001"
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
        let consumer_key = options.text("consumer-key");
        let emu = spawn(
            EmulatorConfig {
                consumer_key: consumer_key.clone(),
                consumer_secret: options.text("consumer-secret"),
                webhook_url: options.get("webhook-url").map(str::to_string),
                webhook_secret: options.text("webhook-secret"),
                ..Default::default()
            },
            listen,
        )
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        emu.handle.faults().set(faults);
        let seed = options.parse::<usize>("seed-orders")?.unwrap_or(0);
        if seed > 0 {
            emu.handle.seed_orders(seed, 1);
        }
        println!(
            "WooCommerce emulator at {}/wp-json/wc/v3 (key {consumer_key}); Ctrl-C to stop",
            emu.base_url
        );
        stop.await;
        emu.shutdown().await;
        Ok(())
    }
}
