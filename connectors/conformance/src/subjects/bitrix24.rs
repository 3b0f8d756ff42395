//! Bitrix24: deals, listed through [`CrmDealReader`] (fixed 50-row pages) and found or created
//! through [`CrmDeals`] by `ORIGINATOR_ID` + `ORIGIN_ID`.

use super::{sample_deal, timeouts};
use crate::subject::{Credentials, Listing, Setup, Subject, VendorTexts, Writes};
use async_trait::async_trait;
use dealbridge_bitrix24::emulator::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_bitrix24::{Bitrix24Client, ClientLimits, DEAL_PAGE_SIZE};
use dealbridge_sdk::fault::Faults;
use serde_json::json;

/// A Bitrix24 portal emulator and a webhook [`Bitrix24Client`] for it.
pub struct Bitrix24 {
    emulator: RunningEmulator,
    client: Bitrix24Client,
}

/// REST methods that change data (batched commands are counted by their own method).
fn is_write(method: &str) -> bool {
    [".add", ".update", ".set", ".delete", ".modify"]
        .iter()
        .any(|suffix| method.ends_with(suffix))
}

#[async_trait]
impl Subject for Bitrix24 {
    const SYSTEM: &'static str = dealbridge_bitrix24::SYSTEM;
    const PAGE_SIZE: u32 = DEAL_PAGE_SIZE;
    const TEXTS: VendorTexts = VendorTexts {
        auth: "NO_AUTH_FOUND: Wrong authorization data",
        not_found: "Not found",
        rejected: Some("Stage \"999\" is not found in deal category 0."),
        server_error: "INTERNAL_SERVER_ERROR: Internal server error",
        // 503 QUERY_LIMIT_EXCEEDED carries no Retry-After: Bitrix24 documents the bucket's
        // drain rate instead, and the client names its own delay.
        retry_after: None,
        wrong_credential: "wrongconformancetoken",
    };

    async fn start(setup: Setup) -> Self {
        let mut config = EmulatorConfig::default();
        // The checks are not about the portal's request budget; throttling is provoked by plan.
        config.limits.capacity = 100_000;
        let token = config.token.clone();
        let emulator = spawn(config, "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("Bitrix24 emulator starts");
        for i in 1..=setup.records {
            let fields = json!({
                "TITLE": format!("Seeded deal {i}"),
                "STAGE_ID": "NEW",
                "OPPORTUNITY": 1000 + i,
                "CURRENCY_ID": "RUB",
            });
            emulator
                .handle
                .manager_call("crm.deal.add", json!({ "fields": fields }))
                .expect("seeded deal");
        }
        let url = match setup.credentials {
            Credentials::Valid => emulator.webhook_url.clone(),
            Credentials::Wrong => emulator.webhook_url.replace(
                &format!("/{token}/"),
                &format!("/{}/", Self::TEXTS.wrong_credential),
            ),
        };
        let limits = ClientLimits::rate(200, 200);
        let client = Bitrix24Client::new(&url, limits, timeouts()).expect("client");
        Bitrix24 { emulator, client }
    }

    fn faults(&self) -> Faults {
        self.emulator.handle.faults()
    }

    fn listing(&self) -> Listing<'_> {
        Listing::Deals(&self.client)
    }

    fn writes(&self) -> Writes<'_> {
        Writes::FindOrCreate {
            deals: &self.client,
            sample: Box::new(sample_deal("NEW", "RUB")),
            unknown_stage: "999",
        }
    }

    fn write_calls(&self) -> u64 {
        self.emulator
            .handle
            .counters()
            .snapshot()
            .iter()
            .filter(|(method, _)| is_write(method))
            .map(|(_, c)| c.calls)
            .sum()
    }

    async fn touch(&self, id: &str) {
        // DATE_MODIFY has 1-second resolution and the portal's clock is the real one.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let changed = self.emulator.handle.manager_update_deal(
            id.parse().expect("numeric id"),
            json!({ "TITLE": "Changed by a manager" }),
        );
        assert!(changed, "deal {id} changed");
    }

    fn record_count(&self) -> usize {
        self.emulator.handle.deal_count()
    }

    async fn stop(self) {
        self.emulator.shutdown().await;
    }
}
