//! WooCommerce: the shop's orders, listed through [`OrderSource`] and written back to through
//! [`OrderSink`].

use super::{rest_writes, timeouts, STORE_NOT_FIND_OR_CREATE};
use crate::subject::{Credentials, Listing, Setup, Subject, VendorTexts, Writes};
use async_trait::async_trait;
use dealbridge_sdk::fault::Faults;
use dealbridge_sdk::model::OrderChange;
use dealbridge_woocommerce::emulator::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_woocommerce::WooClient;
use std::time::Duration;

/// A WooCommerce emulator and a [`WooClient`] for it.
pub struct WooCommerce {
    emulator: RunningEmulator,
    client: WooClient,
    /// The first seeded order: the write-back target.
    order_id: String,
}

#[async_trait]
impl Subject for WooCommerce {
    const SYSTEM: &'static str = dealbridge_woocommerce::SYSTEM;
    const PAGE_SIZE: u32 = 3;
    const TEXTS: VendorTexts = VendorTexts {
        // A known key with a wrong secret (an unknown key is refused per endpoint instead).
        auth: "Consumer secret is invalid.",
        not_found: "Invalid ID.",
        rejected: Some("Invalid parameter(s): status"),
        server_error: "There has been a critical error on this website.",
        // WooCommerce documents no throttling; the emulator's host/WAF-style 429 says 1 s.
        retry_after: Some(Duration::from_secs(1)),
        wrong_credential: "cs_wrong_conformance",
    };

    async fn start(setup: Setup) -> Self {
        let config = EmulatorConfig::default();
        let secret = match setup.credentials {
            Credentials::Valid => config.consumer_secret.clone(),
            Credentials::Wrong => Self::TEXTS.wrong_credential.to_string(),
        };
        let key = config.consumer_key.clone();
        let emulator = spawn(config, "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("WooCommerce emulator starts");
        let ids = emulator.handle.seed_orders(setup.records, 7);
        let client = WooClient::new(&emulator.base_url, &key, &secret, timeouts())
            .expect("client")
            .with_system_name("shop");
        WooCommerce {
            emulator,
            client,
            order_id: ids.first().map_or_else(String::new, u64::to_string),
        }
    }

    fn faults(&self) -> Faults {
        self.emulator.handle.faults().clone()
    }

    fn listing(&self) -> Listing<'_> {
        Listing::Orders(&self.client)
    }

    fn writes(&self) -> Writes<'_> {
        Writes::OrderWriteBack {
            why: STORE_NOT_FIND_OR_CREATE,
            sink: &self.client,
            order_id: self.order_id.clone(),
            change: OrderChange {
                status: Some("completed".into()),
                note: Some("Checked by the conformance suite".into()),
                ..OrderChange::default()
            },
            unknown_status: "no-such-status",
        }
    }

    fn write_calls(&self) -> u64 {
        rest_writes(self.emulator.handle.counters())
    }

    async fn touch(&self, id: &str) {
        // Past WooCommerce's 1-second date resolution, so the change is later than any other.
        let handle = &self.emulator.handle;
        handle.advance_clock(Duration::from_secs(2));
        let body = serde_json::json!({ "customer_note": "Changed by the shop owner" });
        handle
            .owner_edit(id.parse().expect("numeric id"), &body)
            .expect("owner edit");
    }

    fn record_count(&self) -> usize {
        self.emulator.handle.order_count()
    }

    async fn stop(self) {
        self.emulator.shutdown().await;
    }
}
