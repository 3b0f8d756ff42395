//! `[systems.<name>]` with `kind = "shopify"`: the shop's address, its Admin API token, and the
//! location its stock is written to.

use dealbridge_sdk::config::{
    read_http_url, read_optional_secret, read_secret, Ctx, Env, Secret, TableReader,
};
use url::Url;

/// The keys of the table besides `kind` and the shared limits.
pub const KEYS: &[&str] = &["base_url", "access_token", "webhook_secret", "location_id"];

/// The keys holding secrets.
pub const SECRET_FIELDS: &[&str] = &["access_token", "webhook_secret"];

/// `kind = "shopify"` (Admin REST API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopifyConfig {
    /// The shop's address, `https://<shop>.myshopify.com`.
    pub base_url: Url,
    /// Admin API access token (`shpat_…`), sent as `X-Shopify-Access-Token`.
    pub access_token: Secret,
    /// The app's client secret that signs webhooks (`X-Shopify-Hmac-Sha256`); optional.
    pub webhook_secret: Option<Secret>,
    /// `location_id`: the location whose stock a `[[catalog]]` sets. Optional when the shop has
    /// one active location; with several, the push refuses to guess and names them.
    pub location_id: Option<u64>,
}

impl ShopifyConfig {
    /// Reads the table, reporting every mistake with its position.
    pub fn read(
        ctx: &mut Ctx<'_>,
        name: &str,
        t: &TableReader<'_, '_>,
        env: &dyn Env,
    ) -> Option<ShopifyConfig> {
        let base_url = read_http_url(ctx, t, "base_url");
        let access_token = read_secret(ctx, t, name, "access_token", env);
        let webhook_secret = read_optional_secret(ctx, t, name, "webhook_secret", env);
        let location_id = t
            .integer(ctx, "location_id", 1, i64::MAX)
            .map(|n| *n.get_ref() as u64);
        Some(ShopifyConfig {
            base_url: base_url?,
            access_token: access_token?,
            webhook_secret,
            location_id,
        })
    }
}
