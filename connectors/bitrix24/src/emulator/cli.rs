//! The emulator as `dealbridge emulate bitrix24` runs it.

use super::{spawn, BucketLimits, EmulatorConfig};
use dealbridge_sdk::connector::{Emulator, EmulatorFlag, EmulatorOptions, StopSignal};
use dealbridge_sdk::fault::FaultConfig;
use std::net::SocketAddr;

/// `dealbridge emulate bitrix24`.
pub struct Bitrix24Emulator;

const FLAGS: &[EmulatorFlag] = &[
    EmulatorFlag::value("user", "The webhook's user id", "1"),
    EmulatorFlag::value("token", "The webhook's secret token", "test")
        .from_env("DEALBRIDGE_EMULATOR_TOKEN"),
    EmulatorFlag::switch(
        "enterprise",
        "Use the Enterprise plan's request budget (5/s, bucket 250) instead of 2/s, bucket 50",
    ),
];

#[async_trait::async_trait]
impl Emulator for Bitrix24Emulator {
    fn about(&self) -> &'static str {
        "Bitrix24 REST through an incoming-webhook URL (`/rest/<user>/<token>/<method>`)"
    }

    fn default_listen(&self) -> &'static str {
        "127.0.0.1:9002"
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
        let limits = if options.flag("enterprise") {
            BucketLimits::enterprise()
        } else {
            BucketLimits::standard()
        };
        let emu = spawn(
            EmulatorConfig {
                user_id: options.parse::<u64>("user")?.unwrap_or(1),
                token: options.text("token"),
                limits,
                ..Default::default()
            },
            listen,
        )
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        emu.handle.faults().set(faults);
        println!(
            "Bitrix24 emulator; webhook URL {} ; Ctrl-C to stop",
            emu.webhook_url
        );
        stop.await;
        emu.shutdown().await;
        Ok(())
    }
}
