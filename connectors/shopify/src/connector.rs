//! The Shopify [`Connector`]: what the engine registers for `kind = "shopify"`.

use crate::config::{ShopifyConfig, KEYS, SECRET_FIELDS};
use crate::ShopifyClient;
use dealbridge_sdk::config::{system_override_var, Ctx, Env, RateLimit, Secret, TableReader};
use dealbridge_sdk::connector::{
    body_hash, settings_of, Accepted, BuildContext, Capabilities, Connector, Emulator, Hint,
    HintEntity, Inspection, Offers, Rejected, RemoteCheck, RemoteReport, Role, StatusVocabulary,
    SystemSettings, WebhookReceiver, WebhookRequest,
};
use dealbridge_sdk::connector::{plain_id, trimmed, RecordKind};
use dealbridge_sdk::ConnectorError;
use std::sync::Arc;

/// The Shopify connector.
pub struct Shopify;

/// The value the engine registers.
pub static CONNECTOR: Shopify = Shopify;

#[async_trait::async_trait]
impl Connector for Shopify {
    /// `https://<shop>/admin/orders/<id>`: the order in the Shopify admin.
    fn admin_url(
        &self,
        settings: &dyn SystemSettings,
        kind: RecordKind,
        id: &str,
    ) -> Option<String> {
        let c = settings_of::<ShopifyConfig>(settings).ok()?;
        (kind == RecordKind::Order && plain_id(id))
            .then(|| format!("{}/admin/orders/{id}", trimmed(&c.base_url)))
    }

    fn kind(&self) -> &'static str {
        "shopify"
    }

    fn display_name(&self) -> &'static str {
        "Shopify"
    }

    fn role(&self) -> Role {
        Role::Store
    }

    fn offers(&self) -> Offers {
        Offers {
            order_source: true,
            order_sink: true,
            payment_source: true,
            catalog_source: true,
            price_push: true,
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
        // Shopify paces itself from X-Shopify-Shop-Api-Call-Limit (leaky bucket, 2/s).
        None
    }

    fn read_config(
        &self,
        ctx: &mut Ctx<'_>,
        name: &str,
        table: &TableReader<'_, '_>,
        env: &dyn Env,
    ) -> Option<Arc<dyn SystemSettings>> {
        ShopifyConfig::read(ctx, name, table, env).map(|c| Arc::new(c) as _)
    }

    fn order_statuses(&self) -> Option<StatusVocabulary> {
        // Shopify has no single order status: dealbridge's canonical status is `cancelled` when
        // the order is cancelled, else `closed` when archived, else its `financial_status`.
        Some(StatusVocabulary {
            required: &[
                "pending",
                "authorized",
                "paid",
                "partially_paid",
                "partially_refunded",
                "refunded",
                "voided",
                "cancelled",
                "closed",
            ],
            optional: &["open", "expired"],
            // Derived by dealbridge from Shopify's fixed fields: nothing else can appear.
            extensible: false,
        })
    }

    fn webhook_receiver(
        &self,
        name: &str,
        settings: &dyn SystemSettings,
    ) -> Arc<dyn WebhookReceiver> {
        Arc::new(Receiver {
            system: name.to_string(),
            secret: settings_of::<ShopifyConfig>(settings)
                .ok()
                .and_then(|c| c.webhook_secret.clone()),
        })
    }

    fn emulator(&self) -> Option<&'static dyn Emulator> {
        Some(&crate::emulator::cli::ShopifyEmulator)
    }

    fn inspect_delivery(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
        secret: Option<&str>,
    ) -> Option<Inspection> {
        let signature = match secret {
            Some(s) => crate::webhook::verify(headers, body, s)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Err("not checked (no --secret)".into()),
        };
        let topic = headers
            .get("x-shopify-topic")
            .or_else(|| headers.get("shopify-topic"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let order = serde_json::from_slice::<crate::wire::ShopifyOrder>(body)
            .ok()
            .and_then(|o| crate::convert::order_to_canonical("shop", &o).ok());
        Some(Inspection {
            topic,
            signature,
            order,
        })
    }

    async fn build(&self, ctx: BuildContext<'_>) -> Result<Capabilities, ConnectorError> {
        let client = Arc::new(client(&ctx)?);
        Ok(Capabilities {
            order_source: Some(client.clone()),
            order_sink: Some(client.clone()),
            payment_source: Some(client.clone()),
            catalog_source: Some(client.clone()),
            price_push: Some(client),
            ..Capabilities::default()
        })
    }

    /// For each 1C catalog that sets this shop's stock: the location it will write, or why none
    /// can be chosen (several active locations and no `location_id`, or one that is not there).
    async fn remote_check(&self, check: RemoteCheck<'_>) -> Result<RemoteReport, ConnectorError> {
        let mut report = RemoteReport::default();
        if check.stock_catalogs.is_empty() {
            return Ok(report);
        }
        let client = client(&check.build)?;
        let system = check.build.name;
        for catalog in &check.stock_catalogs {
            match client.stock_location().await {
                Ok(id) => report.notes.push(format!(
                    "catalog {catalog} sets the stock of location {id} in `{system}`"
                )),
                Err(e) => report.problems.push(format!("catalog {catalog}: {e}")),
            }
        }
        Ok(report)
    }
}

/// The client for `[systems.<name>]`.
fn client(ctx: &BuildContext<'_>) -> Result<ShopifyClient, ConnectorError> {
    let c = settings_of::<ShopifyConfig>(ctx.settings)?;
    Ok(ShopifyClient::new(
        c.base_url.as_str(),
        c.access_token.expose(),
        ctx.limits.timeouts(),
    )?
    .with_system_name(ctx.name)
    .with_location_id(c.location_id)
    .with_limits(ctx.limits.client_limits()))
}

/// Verifies `X-Shopify-Hmac-Sha256`; deduplicates by `X-Shopify-Webhook-Id` (Shopify retries
/// a delivery with the same id).
struct Receiver {
    system: String,
    secret: Option<Secret>,
}

impl WebhookReceiver for Receiver {
    fn accept(&self, request: &WebhookRequest<'_>) -> Result<Accepted, Rejected> {
        let system = &self.system;
        if request.url_token.is_some() {
            return Err(Rejected::new(
                404,
                format!("Shopify webhooks of `{system}` go to /webhooks/{system}"),
            ));
        }
        let Some(secret) = &self.secret else {
            return Err(Rejected::new(
                401,
                format!(
                    "webhooks of `{system}` are off: set systems.{system}.webhook_secret (or {})",
                    system_override_var(system, "webhook_secret")
                ),
            ));
        };
        let d = crate::webhook::verify(request.headers, request.body, secret.expose())
            .map_err(|e| Rejected::new(401, e.to_string()))?;
        let id = serde_json::from_slice::<serde_json::Value>(request.body)
            .ok()
            .and_then(|v| match &v["id"] {
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::String(s) => Some(s.clone()),
                _ => None,
            });
        let entity = match &id {
            Some(_) if d.topic.starts_with("orders/") => HintEntity::Order,
            _ => HintEntity::Other,
        };
        Ok(Accepted::Hints(vec![Hint {
            entity,
            dedupe_key: d.webhook_id.unwrap_or_else(|| body_hash(request.body)),
            topic: d.topic,
            id: id.unwrap_or_default(),
        }]))
    }
}

#[cfg(test)]
mod admin_url_tests {
    use super::*;

    #[test]
    fn an_order_links_to_the_shopify_admin() {
        let c = ShopifyConfig {
            base_url: "https://demo.myshopify.com".parse().unwrap(),
            access_token: Secret::new("shpat_x"),
            webhook_secret: None,
            location_id: None,
        };
        assert_eq!(
            Shopify
                .admin_url(&c, RecordKind::Order, "450789469")
                .as_deref(),
            Some("https://demo.myshopify.com/admin/orders/450789469")
        );
        assert_eq!(Shopify.admin_url(&c, RecordKind::Deal, "1"), None);
    }
}
