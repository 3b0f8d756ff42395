//! Shared set-up: an emulator on a free loopback port and a client pointed at it.
#![allow(dead_code)]

use dealbridge_bitrix24::emulator::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_bitrix24::{Bitrix24Client, ClientLimits};
use dealbridge_sdk::http::Timeouts;
use std::time::Duration;

/// Starts an emulator with `config` on 127.0.0.1, port chosen by the OS.
pub async fn emulator(config: EmulatorConfig) -> RunningEmulator {
    spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts")
}

/// A client with a generous local rate (tests are not the portal's budget) and short timeouts.
pub fn client(url: &str) -> Bitrix24Client {
    Bitrix24Client::new(
        url,
        ClientLimits {
            per_second: 200,
            burst: 200,
        },
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(2),
        },
    )
    .expect("valid webhook url")
}

/// An emulator with limits that never throttle, and a client for it.
pub async fn setup() -> (RunningEmulator, Bitrix24Client) {
    let mut config = EmulatorConfig::default();
    config.limits.capacity = 100_000;
    let emu = emulator(config).await;
    let c = client(&emu.webhook_url);
    (emu, c)
}

/// A bare HTTP client for raw requests (through the sdk so the TLS provider is installed).
pub fn raw() -> reqwest::Client {
    dealbridge_sdk::http::client(Timeouts::default()).expect("http client")
}
