//! The WooCommerce [`Connector`]: what the engine registers for `kind = "woocommerce"`.

use crate::config::{WooCommerceConfig, KEYS, SECRET_FIELDS};
use crate::webhook::{self, WebhookError};
use crate::WooClient;
use dealbridge_sdk::config::{system_override_var, Ctx, Env, RateLimit, Secret, TableReader};
use dealbridge_sdk::connector::{plain_id, trimmed, RecordKind};
use dealbridge_sdk::connector::{
    settings_of, Accepted, BuildContext, Capabilities, Connector, Emulator, Hint, HintEntity,
    Inspection, Offers, Rejected, Role, SandboxStore, StatusVocabulary, SystemSettings,
    WebhookReceiver, WebhookRequest,
};
use dealbridge_sdk::ConnectorError;
use std::sync::Arc;

/// The WooCommerce connector.
pub struct WooCommerce;

/// The value the engine registers.
pub static CONNECTOR: WooCommerce = WooCommerce;

#[async_trait::async_trait]
impl Connector for WooCommerce {
    /// The order's edit screen. `post.php?post=<id>&action=edit` rather than HPOS's
    /// `admin.php?page=wc-orders&action=edit&id=<id>`: with HPOS on, WooCommerce's
    /// `PostsRedirectionController` redirects the legacy URL to the new screen (placeholder posts
    /// included), while without HPOS the `wc-orders` page does not exist; so the legacy URL works
    /// on both and the engine need not know which storage a shop uses.
    fn admin_url(
        &self,
        settings: &dyn SystemSettings,
        kind: RecordKind,
        id: &str,
    ) -> Option<String> {
        let c = settings_of::<WooCommerceConfig>(settings).ok()?;
        (kind == RecordKind::Order && plain_id(id)).then(|| {
            format!(
                "{}/wp-admin/post.php?post={id}&action=edit",
                trimmed(&c.base_url)
            )
        })
    }

    fn kind(&self) -> &'static str {
        "woocommerce"
    }

    fn display_name(&self) -> &'static str {
        "WooCommerce"
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
        // WooCommerce's REST API documents no request limit; the shop's hosting decides.
        None
    }

    fn read_config(
        &self,
        ctx: &mut Ctx<'_>,
        name: &str,
        table: &TableReader<'_, '_>,
        env: &dyn Env,
    ) -> Option<Arc<dyn SystemSettings>> {
        WooCommerceConfig::read(ctx, name, table, env).map(|c| Arc::new(c) as _)
    }

    fn order_statuses(&self) -> Option<StatusVocabulary> {
        // WooCommerce REST v3 order `status` values (docs: pending, processing, on-hold,
        // completed, cancelled, refunded, failed, trash). `trash` orders are deleted ones;
        // `checkout-draft` is the block checkout's unfinished order (not in the REST docs' list).
        Some(StatusVocabulary {
            required: &[
                "pending",
                "processing",
                "on-hold",
                "completed",
                "cancelled",
                "refunded",
                "failed",
            ],
            optional: &["trash", "checkout-draft"],
            // Plugins register statuses (`register_post_status` + `wc_order_statuses`) and the
            // REST API returns them like the core ones.
            extensible: true,
        })
    }

    fn webhook_receiver(
        &self,
        name: &str,
        settings: &dyn SystemSettings,
    ) -> Arc<dyn WebhookReceiver> {
        Arc::new(Receiver {
            system: name.to_string(),
            secret: settings_of::<WooCommerceConfig>(settings)
                .ok()
                .and_then(|c| c.webhook_secret.clone()),
        })
    }

    fn emulator(&self) -> Option<&'static dyn Emulator> {
        Some(&crate::emulator::cli::WooEmulator)
    }

    fn inspect_delivery(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
        secret: Option<&str>,
    ) -> Option<Inspection> {
        let signature = match secret {
            Some(s) => webhook::verify(headers, body, s)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Err("not checked (no --secret)".into()),
        };
        let topic = headers
            .get("x-wc-webhook-topic")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let order = serde_json::from_slice::<crate::WooOrder>(body)
            .ok()
            .and_then(|o| crate::order_to_canonical("shop", &o).ok());
        Some(Inspection {
            topic,
            signature,
            order,
        })
    }

    async fn sandbox_store(&self, orders: usize) -> Option<Result<Box<dyn SandboxStore>, String>> {
        Some(
            crate::emulator::sandbox::WooSandbox::start(orders)
                .await
                .map(|s| Box::new(s) as Box<dyn SandboxStore>)
                .map_err(|e| format!("cannot start the WooCommerce emulator: {e}")),
        )
    }

    async fn build(&self, ctx: BuildContext<'_>) -> Result<Capabilities, ConnectorError> {
        let c = settings_of::<WooCommerceConfig>(ctx.settings)?;
        let client = WooClient::new(
            c.base_url.as_str(),
            c.consumer_key.expose(),
            c.consumer_secret.expose(),
            ctx.limits.timeouts(),
        )?
        .with_system_name(ctx.name)
        .with_limits(ctx.limits.client_limits());
        let client = Arc::new(client);
        Ok(Capabilities {
            order_source: Some(client.clone()),
            order_sink: Some(client.clone()),
            payment_source: Some(client.clone()),
            catalog_source: Some(client.clone()),
            price_push: Some(client),
            ..Capabilities::default()
        })
    }
}

/// Verifies `X-WC-Webhook-Signature` and names the order a delivery is about.
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
                format!("WooCommerce webhooks of `{system}` go to /webhooks/{system}"),
            ));
        }
        let Some(secret) = &self.secret else {
            // A ping must still succeed so the shop lets the owner save the webhook.
            if webhook::is_ping(request.headers, request.body) {
                return Ok(Accepted::Reply(
                    "pong; set webhook_secret to accept deliveries".to_string(),
                ));
            }
            return Err(Rejected::new(
                401,
                format!(
                    "webhooks of `{system}` are off: set systems.{system}.webhook_secret (or {})",
                    system_override_var(system, "webhook_secret")
                ),
            ));
        };
        match webhook::verify(request.headers, request.body, secret.expose()) {
            Ok(d) if d.is_ping() => Ok(Accepted::Reply("pong".to_string())),
            Ok(d) => {
                let entity = match (d.resource.as_str(), d.order_id) {
                    ("order", Some(_)) => HintEntity::Order,
                    _ => HintEntity::Other,
                };
                Ok(Accepted::Hints(vec![Hint {
                    entity,
                    topic: d.topic,
                    id: d.order_id.map(|id| id.to_string()).unwrap_or_default(),
                    dedupe_key: d.dedupe_key,
                }]))
            }
            Err(e) => {
                // Past a good signature, a bad body is the sender's mistake, not an auth failure.
                let status = match e {
                    WebhookError::MissingTopic | WebhookError::Malformed { .. } => 400,
                    _ => 401,
                };
                Err(Rejected::new(status, e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod admin_url_tests {
    use super::*;

    #[test]
    fn an_order_links_to_its_edit_screen_on_either_storage() {
        let c = WooCommerceConfig {
            base_url: "https://shop.example/".parse().unwrap(),
            consumer_key: Secret::new("ck"),
            consumer_secret: Secret::new("cs"),
            webhook_secret: None,
        };
        let url = |kind, id| WooCommerce.admin_url(&c, kind, id);
        assert_eq!(
            url(RecordKind::Order, "727").as_deref(),
            Some("https://shop.example/wp-admin/post.php?post=727&action=edit")
        );
        assert_eq!(url(RecordKind::Deal, "727"), None, "a shop has no deals");
        assert_eq!(url(RecordKind::Order, "../x"), None, "not a WooCommerce id");
    }
}
