//! What the test modules share: an emulator on a free loopback port and a client for it.

use dealbridge_sdk::http::Timeouts;
use dealbridge_shopify::emulator::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_shopify::ShopifyClient;
use std::time::Duration;

/// Short timeouts: everything is on loopback.
pub fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    }
}

/// The default emulator on port 0 and a client (default system name) pointed at it.
pub async fn start() -> (RunningEmulator, ShopifyClient) {
    start_with(EmulatorConfig::default()).await
}

/// An emulator set up by `config` on port 0 and a client (default system name, the config's
/// access token) pointed at it.
pub async fn start_with(config: EmulatorConfig) -> (RunningEmulator, ShopifyClient) {
    let token = config.access_token.clone();
    let emu = spawn(config, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = ShopifyClient::new(&emu.base_url, &token, timeouts()).unwrap();
    (emu, client)
}
