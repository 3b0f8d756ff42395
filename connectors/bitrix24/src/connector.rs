//! The Bitrix24 [`Connector`]: what the engine registers for `kind = "bitrix24"`.

use crate::config::{Bitrix24Auth, Bitrix24Config, KEYS, SECRET_FIELDS};
use crate::{Bitrix24Client, Bitrix24Settings, CatalogApi, OAuthConfig, OAuthTokens};
use dealbridge_sdk::config::{system_override_var, Ctx, Env, RateLimit, Secret, TableReader};
use dealbridge_sdk::connector::SavedTokens;
use dealbridge_sdk::connector::{
    body_hash, settings_of, Accepted, BuildContext, Capabilities, Connector, Emulator, Hint,
    HintEntity, Offers, Rejected, RemoteCheck, RemoteReport, Role, SandboxCrm, SystemSettings,
    WebhookReceiver, WebhookRequest,
};
use dealbridge_sdk::connector::{plain_id, RecordKind};
use dealbridge_sdk::ConnectorError;
use std::sync::Arc;

/// The Bitrix24 connector.
pub struct Bitrix24;

/// The value the engine registers.
pub static CONNECTOR: Bitrix24 = Bitrix24;

#[async_trait::async_trait]
impl Connector for Bitrix24 {
    /// `<portal>/crm/deal/details/<id>/`. The portal is the origin of `webhook_url` (its path
    /// holds the token, which must not reach a page) or `portal_url`.
    fn admin_url(
        &self,
        settings: &dyn SystemSettings,
        kind: RecordKind,
        id: &str,
    ) -> Option<String> {
        let c = settings_of::<Bitrix24Config>(settings).ok()?;
        if kind != RecordKind::Deal || !plain_id(id) {
            return None;
        }
        let portal = match &c.auth {
            Bitrix24Auth::Webhook(url) => url::Url::parse(url.expose()).ok()?,
            Bitrix24Auth::OAuth(o) => o.portal_url.clone(),
        };
        let origin = portal.origin();
        origin
            .is_tuple()
            .then(|| format!("{}/crm/deal/details/{id}/", origin.ascii_serialization()))
    }

    fn kind(&self) -> &'static str {
        "bitrix24"
    }

    fn display_name(&self) -> &'static str {
        "Bitrix24"
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
        // Bitrix24 leaks 2 requests/s from a bucket of 50 and answers 503 QUERY_LIMIT_EXCEEDED
        // beyond it. We keep a smaller burst so another integration on the same portal still
        // leaves us room.
        Some(RateLimit {
            per_second: 2,
            burst: 10,
        })
    }

    fn read_config(
        &self,
        ctx: &mut Ctx<'_>,
        name: &str,
        table: &TableReader<'_, '_>,
        env: &dyn Env,
    ) -> Option<Arc<dyn SystemSettings>> {
        Bitrix24Config::read(ctx, name, table, env).map(|c| Arc::new(c) as _)
    }

    fn check_stage(&self, stage: &str, pipeline: Option<Option<u32>>) -> Result<(), String> {
        check_stage(stage, pipeline)
    }

    fn webhook_receiver(
        &self,
        name: &str,
        settings: &dyn SystemSettings,
    ) -> Arc<dyn WebhookReceiver> {
        Arc::new(Receiver {
            system: name.to_string(),
            token: settings_of::<Bitrix24Config>(settings)
                .ok()
                .and_then(|c| c.application_token.clone()),
        })
    }

    fn emulator(&self) -> Option<&'static dyn Emulator> {
        Some(&crate::emulator::cli::Bitrix24Emulator)
    }

    async fn sandbox_crm(&self) -> Option<Result<Box<dyn SandboxCrm>, String>> {
        Some(
            crate::emulator::sandbox::Bitrix24Sandbox::start()
                .await
                .map(|s| Box::new(s) as Box<dyn SandboxCrm>)
                .map_err(|e| format!("cannot start the Bitrix24 emulator: {e}")),
        )
    }

    async fn build(&self, ctx: BuildContext<'_>) -> Result<Capabilities, ConnectorError> {
        let c = settings_of::<Bitrix24Config>(ctx.settings)?;
        let client = client(c, &ctx)
            .await?
            .with_config_name(ctx.name.to_string())
            .with_settings(settings(c));
        let client = Arc::new(client);
        Ok(Capabilities {
            crm_deals: Some(client.clone()),
            crm_reader: Some(client.clone()),
            crm_payments: Some(client.clone()),
            crm_catalog: Some(client),
            ..Capabilities::default()
        })
    }

    async fn remote_check(&self, check: RemoteCheck<'_>) -> Result<RemoteReport, ConnectorError> {
        if check.stages.is_empty() {
            return Ok(RemoteReport::default());
        }
        let c = settings_of::<Bitrix24Config>(check.build.settings)?;
        let client = client(c, &check.build).await?;
        remote_stages(&client, check.build.name, &check.stages).await
    }
}

/// Mapped stages the portal does not have (and mapped pipelines it does not have).
async fn remote_stages(
    client: &Bitrix24Client,
    system: &str,
    wanted: &std::collections::BTreeMap<u32, Vec<(String, String)>>,
) -> Result<RemoteReport, ConnectorError> {
    let ids: Vec<u32> = wanted.keys().copied().collect();
    let known = client.deal_pipelines(&ids).await?;
    let mut report = RemoteReport::default();
    for (&pipeline, stages) in wanted {
        if !known.categories.iter().any(|c| c.id == pipeline) && pipeline != 0 {
            report.problems.push(format!(
                "systems.{system}: pipeline {pipeline} (CATEGORY_ID) does not exist in the portal; pipelines: {}",
                known.categories.iter().map(|c| format!("{} ({})", c.id, c.name)).collect::<Vec<_>>().join(", ")
            ));
            continue;
        }
        let in_pipeline: Vec<_> = known
            .stages
            .iter()
            .filter(|s| s.category_id == pipeline)
            .cloned()
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        for (file, stage) in stages {
            if !seen.insert((file, stage)) {
                continue;
            }
            if !crate::unknown_stages(&[stage.as_str()], &in_pipeline).is_empty() {
                report.problems.push(format!(
                    "{file}: stage `{stage}` is not a stage of pipeline {pipeline} in `{system}`; its stages: {}",
                    in_pipeline.iter().map(|s| format!("{} ({})", s.id, s.name)).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    Ok(report)
}

/// A Bitrix24 stage id: not empty, no spaces, and `C<pipeline>:` prefixed outside pipeline 0.
/// `pipeline` is `None` when `[deal] pipeline` was itself wrong: then the prefix is not judged.
pub fn check_stage(stage: &str, pipeline: Option<Option<u32>>) -> Result<(), String> {
    if stage.trim().is_empty() {
        return Err("is empty; write a CRM stage id such as \"NEW\"".to_string());
    }
    if stage.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{stage}` contains spaces; CRM stage ids have none (e.g. \"NEW\", \"C1:WON\")"
        ));
    }
    let prefix_category = stage
        .strip_prefix('C')
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(digits, _)| digits.parse::<u32>().ok());
    let Some(pipeline) = pipeline else {
        return Ok(());
    };
    match (pipeline.unwrap_or(0), prefix_category) {
        (0, Some(c)) => Err(format!(
            "`{stage}` belongs to pipeline {c}, but [deal] pipeline is 0 (default); set `pipeline = {c}` in [deal] or use a default-pipeline stage"
        )),
        (p, Some(c)) if c != p => Err(format!(
            "`{stage}` belongs to pipeline {c}, but [deal] pipeline is {p}; stages of pipeline {p} are written `C{p}:STAGE`"
        )),
        (p, None) if p != 0 => Err(format!(
            "`{stage}` is a default-pipeline stage, but [deal] pipeline is {p}; write `C{p}:{stage}`"
        )),
        _ => Ok(()),
    }
}

/// The connector's settings from `[systems.<name>]`.
fn settings(b: &Bitrix24Config) -> Bitrix24Settings {
    let mut settings = Bitrix24Settings::new();
    settings.paid_amount_field = b.paid_amount_field.clone();
    settings.paid_date_field = b.paid_date_field.clone();
    settings.requisite_preset_id = b.requisite_preset_id;
    if let Some((iblock_id, price_type_id)) = b.catalog_api {
        settings.catalog_api = CatalogApi::Catalog {
            iblock_id,
            price_type_id,
        };
    }
    settings
}

/// The client for `[systems.<name>]`: webhook auth, or OAuth with the newest token pair
/// (Bitrix24 rotates the refresh token on every refresh, so the pair the config holds is only
/// the first; each new pair is saved in the state database as soon as it is issued).
async fn client(
    b: &Bitrix24Config,
    ctx: &BuildContext<'_>,
) -> Result<Bitrix24Client, ConnectorError> {
    let (name, limits, timeouts) = (ctx.name, ctx.limits.client_limits(), ctx.limits.timeouts());
    let oauth = match &b.auth {
        Bitrix24Auth::Webhook(url) => return Bitrix24Client::new(url.expose(), limits, timeouts),
        Bitrix24Auth::OAuth(oauth) => oauth,
    };
    let tokens = SavedTokens::new(ctx.state.clone(), name);
    // Both halves from one save, or the config's first pair: never a mix.
    let first = tokens.load().await?.unwrap_or_else(|| OAuthTokens {
        access_token: oauth.access_token.expose().to_string(),
        refresh_token: oauth.refresh_token.expose().to_string(),
    });
    Ok(Bitrix24Client::new_oauth(
        oauth.portal_url.as_str(),
        OAuthConfig {
            client_id: oauth.client_id.clone(),
            client_secret: oauth.client_secret.expose().to_string(),
            token_url: oauth.token_url.to_string(),
        },
        first,
        limits,
        timeouts,
    )?
    .with_token_store(Arc::new(tokens)))
}

/// Bitrix24 outbound events (form-encoded `event`, `data[FIELDS][ID]`, `auth[...]`): accepted
/// only with the portal's `application_token`.
struct Receiver {
    system: String,
    token: Option<Secret>,
}

impl WebhookReceiver for Receiver {
    fn accept(&self, request: &WebhookRequest<'_>) -> Result<Accepted, Rejected> {
        let system = &self.system;
        if request.url_token.is_some() {
            return Err(Rejected::new(
                404,
                format!("Bitrix24 events of `{system}` go to /webhooks/{system}"),
            ));
        }
        let Some(token) = &self.token else {
            return Err(Rejected::new(
                401,
                format!(
                    "events of `{system}` are off: set systems.{system}.application_token (or {}) to the token Bitrix24 shows for the event handler",
                    system_override_var(system, "application_token")
                ),
            ));
        };
        let event =
            crate::parse_event(request.body).map_err(|e| Rejected::new(400, e.to_string()))?;
        if !crate::verify_application_token(&event, token.expose()) {
            return Err(Rejected::new(
                401,
                "wrong application_token: the event is not from the configured portal's handler",
            ));
        }
        // Bitrix24 does not retry events; the same change arrives once, so event + deal + time
        // is a fine identity (a body hash would do as well).
        let key = format!(
            "{}:{}:{}",
            event.event,
            event.deal_id,
            event
                .ts
                .map_or_else(|| body_hash(request.body), |t| t.to_string())
        );
        Ok(Accepted::Hints(vec![Hint {
            entity: HintEntity::Deal,
            topic: event.event.to_ascii_lowercase(),
            id: event.deal_id,
            dedupe_key: key,
        }]))
    }
}

#[cfg(test)]
mod admin_url_tests {
    use super::*;

    #[test]
    fn a_deal_links_to_its_card_without_the_webhook_token() {
        let c = Bitrix24Config {
            auth: Bitrix24Auth::Webhook(Secret::new("https://b24.example.ru/rest/1/s3cr3t/")),
            application_token: None,
            paid_amount_field: None,
            paid_date_field: None,
            catalog_api: None,
            requisite_preset_id: None,
        };
        let url = Bitrix24.admin_url(&c, RecordKind::Deal, "42").unwrap();
        assert_eq!(url, "https://b24.example.ru/crm/deal/details/42/");
        assert!(!url.contains("s3cr3t"));
        assert_eq!(Bitrix24.admin_url(&c, RecordKind::Order, "42"), None);
    }
}
