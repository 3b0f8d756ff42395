//! `[systems.<name>]` with `kind = "woocommerce"`: the shop's address and REST API keys.

use dealbridge_sdk::config::{
    read_http_url, read_optional_secret, read_secret, Ctx, Env, Secret, TableReader,
};
use url::Url;

/// The keys of the table besides `kind` and the shared limits.
pub const KEYS: &[&str] = &[
    "base_url",
    "consumer_key",
    "consumer_secret",
    "webhook_secret",
];

/// The keys holding secrets.
pub const SECRET_FIELDS: &[&str] = &["consumer_key", "consumer_secret", "webhook_secret"];

/// `kind = "woocommerce"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WooCommerceConfig {
    /// The shop's root URL (`https://shop.example`); the client appends `/wp-json/wc/v3/…`.
    pub base_url: Url,
    /// REST API consumer key (`ck_…`).
    pub consumer_key: Secret,
    /// REST API consumer secret (`cs_…`).
    pub consumer_secret: Secret,
    /// The secret of the shop's webhooks (WooCommerce → Settings → Advanced → Webhooks), used to
    /// verify `X-WC-Webhook-Signature`. Optional: without it `/webhooks/<name>` refuses every
    /// delivery and polling alone carries the changes.
    pub webhook_secret: Option<Secret>,
}

impl WooCommerceConfig {
    /// Reads the table, reporting every mistake with its position.
    pub fn read(
        ctx: &mut Ctx<'_>,
        name: &str,
        t: &TableReader<'_, '_>,
        env: &dyn Env,
    ) -> Option<WooCommerceConfig> {
        let base_url = read_http_url(ctx, t, "base_url");
        let consumer_key = read_secret(ctx, t, name, "consumer_key", env);
        let consumer_secret = read_secret(ctx, t, name, "consumer_secret", env);
        let webhook_secret = read_optional_secret(ctx, t, name, "webhook_secret", env);
        Some(WooCommerceConfig {
            base_url: base_url?,
            consumer_key: consumer_key?,
            consumer_secret: consumer_secret?,
            webhook_secret,
        })
    }
}
