//! The amoCRM [`Connector`]: what the engine registers for `kind = "amocrm"`.

use crate::config::{AmoCrmConfig, KEYS, SECRET_FIELDS};
use crate::{AmoCatalog, AmoClient, AmoDeals, CatalogSettings, DealSettings, OAuthSettings};
use dealbridge_sdk::config::{Ctx, Env, RateLimit, Secret, TableReader};
use dealbridge_sdk::connector::SavedTokens;
use dealbridge_sdk::connector::{
    body_hash, settings_of, Accepted, BuildContext, Capabilities, Connector, Emulator, Hint,
    HintEntity, Offers, Rejected, RemoteCheck, RemoteReport, Role, SystemSettings, WebhookReceiver,
    WebhookRequest,
};
use dealbridge_sdk::connector::{plain_id, trimmed, RecordKind};
use dealbridge_sdk::ConnectorError;
use std::sync::Arc;

/// The amoCRM / Kommo connector.
pub struct AmoCrm;

/// The value the engine registers.
pub static CONNECTOR: AmoCrm = AmoCrm;

#[async_trait::async_trait]
impl Connector for AmoCrm {
    /// `https://<subdomain>.amocrm.ru/leads/detail/<id>` (the account's `base_url`, so a
    /// Kommo account gets its own host).
    fn admin_url(
        &self,
        settings: &dyn SystemSettings,
        kind: RecordKind,
        id: &str,
    ) -> Option<String> {
        let c = settings_of::<AmoCrmConfig>(settings).ok()?;
        (kind == RecordKind::Deal && plain_id(id))
            .then(|| format!("{}/leads/detail/{id}", trimmed(&c.base_url)))
    }

    fn kind(&self) -> &'static str {
        "amocrm"
    }

    fn display_name(&self) -> &'static str {
        "amoCRM"
    }

    fn role(&self) -> Role {
        Role::Crm
    }

    fn offers(&self) -> Offers {
        Offers {
            crm_deals: true,
            crm_reader: true,
            crm_payments: true,
            crm_catalog: true,
            ..Offers::default()
        }
    }

    fn keys(&self) -> &'static [&'static str] {
        KEYS
    }

    fn secret_fields(&self) -> &'static [&'static str] {
        SECRET_FIELDS
    }

    fn default_rate_limit(&self) -> Option<RateLimit> {
        // amoCRM allows 7 requests/s per integration and restricts abusers; no burst.
        Some(RateLimit {
            per_second: 7,
            burst: 1,
        })
    }

    fn read_config(
        &self,
        ctx: &mut Ctx<'_>,
        name: &str,
        table: &TableReader<'_, '_>,
        env: &dyn Env,
    ) -> Option<Arc<dyn SystemSettings>> {
        AmoCrmConfig::read(ctx, name, table, env).map(|c| Arc::new(c) as _)
    }

    fn check_stage(&self, stage: &str, pipeline: Option<Option<u32>>) -> Result<(), String> {
        if stage.trim().is_empty() {
            return Err("is empty; write a CRM stage id such as \"NEW\"".to_string());
        }
        // amoCRM statuses are numbers, unique only with their pipeline (142/143 are in all).
        if stage.parse::<u64>().is_err() {
            return Err(format!(
                "`{stage}` is not an amoCRM status id; write the number from the pipeline's statuses (142 is won, 143 lost)"
            ));
        }
        match pipeline {
            Some(None) => Err("needs a pipeline: set `pipeline = <id>` in [deal] (amoCRM status ids only mean something within their pipeline)".to_string()),
            _ => Ok(()),
        }
    }

    fn webhook_receiver(
        &self,
        name: &str,
        settings: &dyn SystemSettings,
    ) -> Arc<dyn WebhookReceiver> {
        Arc::new(Receiver {
            system: name.to_string(),
            token: settings_of::<AmoCrmConfig>(settings)
                .ok()
                .and_then(|c| c.webhook_token.clone()),
        })
    }

    fn emulator(&self) -> Option<&'static dyn Emulator> {
        Some(&crate::emulator::cli::AmoEmulator)
    }

    async fn build(&self, ctx: BuildContext<'_>) -> Result<Capabilities, ConnectorError> {
        let c = settings_of::<AmoCrmConfig>(ctx.settings)?;
        let client = client(c, &ctx).await?;
        let catalog = Arc::new(AmoCatalog::new(client.clone(), CatalogSettings::default()));
        // The pipeline comes with each deal from the flow's mapping; this one is only the
        // fallback for a deal that names none.
        let deals = Arc::new(AmoDeals::new(
            client,
            DealSettings::new(ctx.deal_pipeline.unwrap_or(0)),
        ));
        Ok(Capabilities {
            crm_deals: Some(deals.clone()),
            crm_reader: Some(deals.clone()),
            crm_payments: Some(deals),
            crm_catalog: Some(catalog),
            ..Capabilities::default()
        })
    }

    async fn remote_check(&self, check: RemoteCheck<'_>) -> Result<RemoteReport, ConnectorError> {
        let c = settings_of::<AmoCrmConfig>(check.build.settings)?;
        let system = check.build.name;
        let mut report = RemoteReport::default();
        if check.stages.is_empty() {
            return Ok(report);
        }
        let client = client(c, &check.build).await?;
        for (&pipeline, stages) in &check.stages {
            let statuses = client.statuses(u64::from(pipeline)).await?;
            let mut seen = std::collections::BTreeSet::new();
            for (file, stage) in stages {
                if !seen.insert((file, stage)) {
                    continue;
                }
                if !statuses.iter().any(|s| s.id.to_string() == *stage) {
                    report.problems.push(format!(
                        "{file}: status `{stage}` is not a status of pipeline {pipeline} in `{system}`; its statuses: {}",
                        statuses.iter().map(|s| format!("{} ({})", s.id, s.name)).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        Ok(report)
    }
}

/// The client for `[systems.<name>]`: a long-lived token, or OAuth2 with the newest pair
/// (amoCRM replaces the refresh token on every refresh; the newest is kept in the database).
async fn client(a: &AmoCrmConfig, ctx: &BuildContext<'_>) -> Result<AmoClient, ConnectorError> {
    let (limits, timeouts) = (ctx.limits.client_limits(), ctx.limits.timeouts());
    let Some(oauth) = &a.oauth else {
        return Ok(
            AmoClient::new(a.base_url.as_str(), a.token.expose(), limits, timeouts)?
                .with_config_name(ctx.name.to_string()),
        );
    };
    let tokens = SavedTokens::new(ctx.state.clone(), ctx.name);
    // Both halves from one save, or the config's first pair: never a mix.
    let (access, refresh) = match tokens.load().await? {
        Some(t) => (t.access_token, t.refresh_token),
        None => (
            a.token.expose().to_string(),
            oauth.refresh_token.expose().to_string(),
        ),
    };
    Ok(
        AmoClient::new(a.base_url.as_str(), &access, limits, timeouts)?
            .with_config_name(ctx.name.to_string())
            .with_oauth(
                OAuthSettings {
                    client_id: oauth.client_id.clone(),
                    client_secret: oauth.client_secret.expose().to_string(),
                    redirect_uri: oauth.redirect_uri.clone(),
                    refresh_token: refresh,
                },
                Some(Arc::new(tokens)),
            ),
    )
}

/// amoCRM's unsigned, form-encoded webhooks, authenticated by the secret in the URL
/// (`/webhooks/<name>/<webhook_token>`, compared in constant time). Each lead event is a hint.
struct Receiver {
    system: String,
    token: Option<Secret>,
}

impl WebhookReceiver for Receiver {
    fn accept(&self, request: &WebhookRequest<'_>) -> Result<Accepted, Rejected> {
        let system = &self.system;
        let Some(given) = request.url_token else {
            return Err(Rejected::new(
                404,
                format!("amoCRM webhooks of `{system}` go to /webhooks/{system}/<webhook_token>"),
            ));
        };
        let Some(expected) = &self.token else {
            return Err(Rejected::new(
                401,
                format!("webhooks of `{system}` are off: set systems.{system}.webhook_token"),
            ));
        };
        use subtle::ConstantTimeEq;
        if !bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) {
            return Err(Rejected::new(401, "wrong webhook token in the URL"));
        }
        let events =
            crate::parse_webhook(request.body).map_err(|e| Rejected::new(400, e.to_string()))?;
        let hints = events
            .into_iter()
            .map(|e| Hint {
                entity: HintEntity::Deal,
                topic: format!("lead.{:?}", e.kind).to_ascii_lowercase(),
                id: e.lead_id.to_string(),
                dedupe_key: format!(
                    "{:?}:{}:{}",
                    e.kind,
                    e.lead_id,
                    e.modified_at
                        .map_or_else(|| body_hash(request.body), |t| t.to_string())
                ),
            })
            .collect();
        Ok(Accepted::Hints(hints))
    }
}

#[cfg(test)]
mod admin_url_tests {
    use super::*;

    #[test]
    fn a_lead_links_to_its_card() {
        let c = AmoCrmConfig {
            base_url: "https://acme.amocrm.ru".parse().unwrap(),
            token: Secret::new("t"),
            webhook_token: None,
            oauth: None,
        };
        assert_eq!(
            AmoCrm.admin_url(&c, RecordKind::Deal, "3698752").as_deref(),
            Some("https://acme.amocrm.ru/leads/detail/3698752")
        );
        assert_eq!(AmoCrm.admin_url(&c, RecordKind::Order, "1"), None);
    }
}
