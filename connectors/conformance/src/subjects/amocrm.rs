//! amoCRM: leads, listed through [`CrmDealReader`] and found or created through [`CrmDeals`] by
//! the origin custom field.

use super::{rest_writes, timeouts};
use crate::subject::{Credentials, Listing, Setup, Subject, VendorTexts, Writes};
use async_trait::async_trait;
use dealbridge_amocrm::emulator::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_amocrm::{AmoClient, AmoDeals, ClientLimits, DealSettings};
use dealbridge_sdk::fault::Faults;
use serde_json::json;

/// The emulator's fixture pipeline and its first stage.
const PIPELINE: u64 = 3177727;
const FIRST_CONTACT: u64 = 32392159;

/// An amoCRM account emulator, an [`AmoClient`] and the [`AmoDeals`] over it.
pub struct AmoCrm {
    emulator: RunningEmulator,
    deals: AmoDeals,
}

#[async_trait]
impl Subject for AmoCrm {
    const SYSTEM: &'static str = dealbridge_amocrm::SYSTEM;
    const PAGE_SIZE: u32 = 3;
    const TEXTS: VendorTexts = VendorTexts {
        auth: "Unauthorized",
        // amoCRM answers a read of a missing lead with 204 and no body (its "empty" answer);
        // the client reads a lead before it updates one, so that is what it meets.
        not_found: "204 No Content",
        rejected: Some(
            "status_id (NotSupportedChoice: The value you selected is not a valid choice.)",
        ),
        server_error: "Internal server error",
        // amoCRM documents no Retry-After on its 429; the client names its own delay.
        retry_after: None,
        wrong_credential: "wrong-conformance-token",
    };

    async fn start(setup: Setup) -> Self {
        let config = EmulatorConfig {
            // The checks are not about the 7 requests/second budget; throttling is planned.
            rate_per_second: 100_000,
            ..EmulatorConfig::default()
        };
        let good = config.token.clone();
        let emulator = spawn(config, "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("amoCRM emulator starts");
        let client = |token: &str| {
            let limits = ClientLimits::rate(1000, 1000);
            AmoClient::new(&emulator.base_url, token, limits, timeouts()).expect("client")
        };
        if setup.records > 0 {
            // Seeded as another integration would, through the API, before the counters matter.
            let leads: Vec<_> = (1..=setup.records)
                .map(|i| json!({ "name": format!("Seeded lead {i}"), "price": 1000 + i, "pipeline_id": PIPELINE }))
                .collect();
            client(&good).add_leads(&leads).await.expect("seeded leads");
            emulator.handle.counters().reset();
        }
        let token = match setup.credentials {
            Credentials::Valid => good,
            Credentials::Wrong => Self::TEXTS.wrong_credential.to_string(),
        };
        let deals = AmoDeals::new(client(&token), DealSettings::new(PIPELINE));
        AmoCrm { emulator, deals }
    }

    fn faults(&self) -> Faults {
        self.emulator.handle.faults()
    }

    fn listing(&self) -> Listing<'_> {
        Listing::Deals(&self.deals)
    }

    fn writes(&self) -> Writes<'_> {
        Writes::FindOrCreate {
            deals: &self.deals,
            sample: Box::new(super::sample_deal(&FIRST_CONTACT.to_string(), "RUB")),
            unknown_stage: "999",
        }
    }

    fn write_calls(&self) -> u64 {
        rest_writes(&self.emulator.handle.counters())
    }

    async fn touch(&self, id: &str) {
        // A manager's edit a minute from now: later than every other lead's `updated_at`
        // without waiting out the 1-second resolution.
        let later = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            + 60;
        let id = id.parse().expect("numeric id");
        self.emulator.handle.set_lead_updated_at(id, later as i64);
    }

    fn record_count(&self) -> usize {
        self.emulator.handle.lead_count()
    }

    async fn stop(self) {
        self.emulator.shutdown().await;
    }
}
