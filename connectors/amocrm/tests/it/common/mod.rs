//! Shared set-up: an emulator on a free loopback port and a client pointed at it.
#![allow(dead_code)]

use dealbridge_amocrm::emulator::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_amocrm::{AmoClient, AmoDeals, ClientLimits, DealSettings};
use dealbridge_sdk::http::Timeouts;
use std::time::Duration;

/// The fixture pipeline and two of its statuses.
pub const PIPELINE: u64 = 3177727;
pub const FIRST_CONTACT: u64 = 32392159;
pub const DECIDING: u64 = 32392165;

/// Starts an emulator with `config` on 127.0.0.1, port chosen by the OS.
pub async fn emulator(config: EmulatorConfig) -> RunningEmulator {
    spawn(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts")
}

/// A client with a generous local rate and short timeouts.
pub fn client(url: &str, token: &str) -> AmoClient {
    AmoClient::new(
        url,
        token,
        ClientLimits::rate(1000, 1000),
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(2),
        },
    )
    .expect("valid base url")
}

/// An emulator that never throttles, and a client for it.
pub async fn setup() -> (RunningEmulator, AmoClient) {
    let emu = emulator(EmulatorConfig {
        rate_per_second: 100_000,
        ..EmulatorConfig::default()
    })
    .await;
    let c = client(&emu.base_url, "test");
    (emu, c)
}

/// Deals on the fixture pipeline with the default field codes.
pub fn deals(c: &AmoClient) -> AmoDeals {
    AmoDeals::new(c.clone(), DealSettings::new(PIPELINE))
}

/// A bare HTTP client for raw requests.
pub fn raw() -> reqwest::Client {
    dealbridge_sdk::http::client(Timeouts::default()).expect("http client")
}
