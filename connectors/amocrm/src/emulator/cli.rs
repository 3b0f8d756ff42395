//! The emulator as `dealbridge emulate amocrm` runs it.

use super::{spawn, EmulatorConfig};
use dealbridge_sdk::connector::{Emulator, EmulatorFlag, EmulatorOptions, StopSignal};
use dealbridge_sdk::fault::FaultConfig;
use std::net::SocketAddr;

/// `dealbridge emulate amocrm`.
pub struct AmoEmulator;

const FLAGS: &[EmulatorFlag] = &[
    EmulatorFlag::value("token", "The Bearer token clients must present", "test")
        .from_env("DEALBRIDGE_EMULATOR_TOKEN"),
    EmulatorFlag::value(
        "rate-per-second",
        "Requests admitted per second before 429",
        "7",
    ),
];

#[async_trait::async_trait]
impl Emulator for AmoEmulator {
    fn about(&self) -> &'static str {
        "amoCRM / Kommo API v4 (`/api/v4/leads`, contacts, pipelines, catalogs, links)"
    }

    fn default_listen(&self) -> &'static str {
        "127.0.0.1:9003"
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
                token: options.text("token"),
                rate_per_second: options.parse::<u32>("rate-per-second")?.unwrap_or(7),
                ..Default::default()
            },
            listen,
        )
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        emu.handle.faults().set(faults);
        println!(
            "amoCRM emulator at {} (Bearer token as given); Ctrl-C to stop",
            emu.base_url
        );
        stop.await;
        emu.shutdown().await;
        Ok(())
    }
}
