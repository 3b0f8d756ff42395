//! Shopify: the shop's orders, listed through [`OrderSource`] (cursor paging behind page
//! numbers) and written back to through [`OrderSink`].

use super::{rest_writes, timeouts, STORE_NOT_FIND_OR_CREATE};
use crate::subject::{Credentials, Listing, Setup, Subject, VendorTexts, Writes};
use async_trait::async_trait;
use dealbridge_sdk::fault::Faults;
use dealbridge_sdk::model::OrderChange;
use dealbridge_shopify::emulator::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_shopify::ShopifyClient;
use std::time::Duration;

/// A Shopify emulator and a [`ShopifyClient`] for it.
pub struct Shopify {
    emulator: RunningEmulator,
    client: ShopifyClient,
    /// The first seeded order: the write-back target.
    order_id: String,
}

#[async_trait]
impl Subject for Shopify {
    const SYSTEM: &'static str = dealbridge_shopify::SYSTEM;
    const PAGE_SIZE: u32 = 3;
    const TEXTS: VendorTexts = VendorTexts {
        auth: "Invalid API key or access token",
        not_found: "Not Found",
        // REST has no status field to send: the connector maps a status onto close / cancel /
        // open itself and refuses any other before calling Shopify.
        rejected: None,
        server_error: "Internal Server Error",
        // Shopify's 429 carries `Retry-After: 2.0`.
        retry_after: Some(Duration::from_secs(2)),
        wrong_credential: "shpat_wrong_conformance",
    };

    async fn start(setup: Setup) -> Self {
        let config = EmulatorConfig::default();
        let token = match setup.credentials {
            Credentials::Valid => config.access_token.clone(),
            Credentials::Wrong => Self::TEXTS.wrong_credential.to_string(),
        };
        let emulator = spawn(config, "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("Shopify emulator starts");
        let ids = emulator.handle.seed_orders(setup.records, 7);
        let client = ShopifyClient::new(&emulator.base_url, &token, timeouts())
            .expect("client")
            .with_system_name("shop");
        Shopify {
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
        // Past the 1-second resolution of `updated_at`, then changed through the API as another
        // app would (a separate client, so this one's cursors are not involved).
        self.emulator.handle.advance_clock(Duration::from_secs(2));
        let token = EmulatorConfig::default().access_token;
        ShopifyClient::new(&self.emulator.base_url, &token, timeouts())
            .expect("client")
            .set_order_note(id.parse().expect("numeric id"), "Changed by another app")
            .await
            .expect("note set");
    }

    fn record_count(&self) -> usize {
        self.emulator.handle.order_ids().len()
    }

    async fn stop(self) {
        self.emulator.shutdown().await;
    }
}
