//! `[systems.<name>]`: the remote systems (store, CRM) and their credentials.

use std::fmt;
use std::time::Duration;

use dealbridge_sdk::http::Timeouts;
use url::Url;

use super::doc::{Ctx, TableReader};
use super::env::{system_override_var, Env};
use super::secret::{resolve_secret, Secret};

/// The kinds of system dealbridge can talk to. The `kind = "…"` value in `[systems.<name>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SystemKind {
    /// WooCommerce REST API v3.
    WooCommerce,
    /// Bitrix24 REST through an incoming webhook URL.
    Bitrix24,
    /// amoCRM / Kommo API v4.
    AmoCrm,
    /// Shopify Admin REST API.
    Shopify,
}

impl SystemKind {
    /// Every kind, in the order error messages list them.
    pub const ALL: &'static [SystemKind] = &[
        SystemKind::WooCommerce,
        SystemKind::Bitrix24,
        SystemKind::AmoCrm,
        SystemKind::Shopify,
    ];

    /// The name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            SystemKind::WooCommerce => "woocommerce",
            SystemKind::Bitrix24 => "bitrix24",
            SystemKind::AmoCrm => "amocrm",
            SystemKind::Shopify => "shopify",
        }
    }

    /// The kind named `name` in a config file.
    pub fn parse(name: &str) -> Option<SystemKind> {
        SystemKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// `woocommerce, bitrix24, amocrm, shopify`, for error messages.
    pub fn known_list() -> String {
        let names: Vec<&str> = SystemKind::ALL.iter().map(|k| k.as_str()).collect();
        names.join(", ")
    }

    /// The secret fields of this kind, each overridable by `DEALBRIDGE_SYSTEMS_<NAME>_<FIELD>`.
    pub fn secret_fields(self) -> &'static [&'static str] {
        match self {
            SystemKind::WooCommerce => &["consumer_key", "consumer_secret", "webhook_secret"],
            SystemKind::Bitrix24 => &[
                "webhook_url",
                "application_token",
                "client_secret",
                "access_token",
                "refresh_token",
            ],
            SystemKind::AmoCrm => &["token", "webhook_token", "client_secret", "refresh_token"],
            SystemKind::Shopify => &["access_token", "webhook_secret"],
        }
    }

    fn known_keys(self) -> &'static [&'static str] {
        match self {
            SystemKind::WooCommerce => &[
                "kind",
                "base_url",
                "consumer_key",
                "consumer_secret",
                "webhook_secret",
                "rate_limit_per_second",
                "rate_limit_burst",
                "timeout",
                "connect_timeout",
            ],
            SystemKind::Bitrix24 => &[
                "kind",
                "webhook_url",
                "portal_url",
                "client_id",
                "client_secret",
                "access_token",
                "refresh_token",
                "oauth_token_url",
                "application_token",
                "catalog_api",
                "catalog_iblock_id",
                "catalog_price_type_id",
                "requisite_preset_id",
                "paid_amount_field",
                "paid_date_field",
                "rate_limit_per_second",
                "rate_limit_burst",
                "timeout",
                "connect_timeout",
            ],
            SystemKind::Shopify => &[
                "kind",
                "base_url",
                "access_token",
                "webhook_secret",
                "location_id",
                "rate_limit_per_second",
                "rate_limit_burst",
                "timeout",
                "connect_timeout",
            ],
            SystemKind::AmoCrm => &[
                "kind",
                "base_url",
                "token",
                "webhook_token",
                "client_id",
                "client_secret",
                "redirect_uri",
                "refresh_token",
                "rate_limit_per_second",
                "rate_limit_burst",
                "timeout",
                "connect_timeout",
            ],
        }
    }

    /// Client-side rate limit used when the config sets none.
    pub fn default_rate_limit(self) -> Option<RateLimit> {
        match self {
            // WooCommerce's REST API documents no request limit; the shop's hosting decides.
            SystemKind::WooCommerce => None,
            // Bitrix24 leaks 2 requests/s from a bucket of 50 and answers 503 QUERY_LIMIT_EXCEEDED
            // beyond it. We keep a smaller burst so another integration on the same portal still
            // leaves us room.
            SystemKind::Bitrix24 => Some(RateLimit {
                per_second: 2,
                burst: 10,
            }),
            // Shopify paces itself from X-Shopify-Shop-Api-Call-Limit (leaky bucket, 2/s).
            SystemKind::Shopify => None,
            // amoCRM allows 7 requests/s per integration and restricts abusers; no burst.
            SystemKind::AmoCrm => Some(RateLimit {
                per_second: 7,
                burst: 1,
            }),
        }
    }
}

impl fmt::Display for SystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client-side request budget (token bucket) for one remote account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub per_second: u32,
    /// Requests that may go at once after a quiet spell.
    pub burst: u32,
}

/// Settings every system has: request budget and timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemLimits {
    /// `rate_limit_per_second` / `rate_limit_burst`; `None` means unlimited.
    pub rate_limit: Option<RateLimit>,
    /// `timeout`: whole-request timeout, body included (default 60s).
    pub timeout: Duration,
    /// `connect_timeout`: TCP connect timeout (default 10s).
    pub connect_timeout: Duration,
}

impl SystemLimits {
    /// The timeouts in the form the sdk's HTTP client takes.
    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.connect_timeout,
            request: self.timeout,
        }
    }
}

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
    /// Request budget and timeouts.
    pub limits: SystemLimits,
}

/// `kind = "bitrix24"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitrix24Config {
    /// How dealbridge authenticates: an incoming webhook or a local app's OAuth tokens.
    pub auth: Bitrix24Auth,
    /// `application_token`: the token Bitrix24 sends with its outbound events
    /// (`auth[application_token]`); events to `/webhooks/<name>` without it are refused. Optional:
    /// without it outbound events are not accepted and deal changes are found by polling.
    pub application_token: Option<Secret>,
    /// `paid_amount_field`: the deal user field (`UF_CRM_…`) that shows the paid amount.
    pub paid_amount_field: Option<String>,
    /// `paid_date_field`: the deal user field (`UF_CRM_…`) that shows the last payment's date.
    pub paid_date_field: Option<String>,
    /// `catalog_api = "catalog"` with `catalog_iblock_id` and `catalog_price_type_id`: push the
    /// catalog through `catalog.product.*` + `catalog.price.*` (two commands per product) instead
    /// of the default, more economical `crm.product.*` (`None`).
    pub catalog_api: Option<(u32, u32)>,
    /// `requisite_preset_id`: the requisite preset used to write a new company's INN.
    pub requisite_preset_id: Option<u32>,
    /// Request budget and timeouts.
    pub limits: SystemLimits,
}

impl Bitrix24Config {
    /// The incoming webhook URL, when the portal is reached through one.
    pub fn webhook_url(&self) -> Option<&Secret> {
        match &self.auth {
            Bitrix24Auth::Webhook(url) => Some(url),
            Bitrix24Auth::OAuth(_) => None,
        }
    }
}

/// Bitrix24 authentication: `webhook_url`, or `portal_url` + the OAuth keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bitrix24Auth {
    /// `webhook_url`: incoming webhook `https://<portal>/rest/<user>/<token>/`, always ending in
    /// `/`. A secret: the token in its path is the credential.
    Webhook(Secret),
    /// A local or marketplace app: `portal_url`, `client_id`, `client_secret`, `access_token`,
    /// `refresh_token` (the tokens rotate on every refresh; dealbridge keeps the newest pair in
    /// its database, so the config's pair is only the first one), `oauth_token_url` (default
    /// `https://oauth.bitrix.info/oauth/token/`).
    OAuth(Box<Bitrix24OAuth>),
}

/// The OAuth keys of a Bitrix24 app (see [`Bitrix24Auth::OAuth`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitrix24OAuth {
    /// `https://<portal>.bitrix24.ru`.
    pub portal_url: Url,
    /// The app's `client_id`.
    pub client_id: String,
    /// The app's `client_secret`.
    pub client_secret: Secret,
    /// The first access token.
    pub access_token: Secret,
    /// The first refresh token.
    pub refresh_token: Secret,
    /// The token endpoint.
    pub token_url: Url,
}

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
    /// Request budget and timeouts.
    pub limits: SystemLimits,
}

/// `kind = "amocrm"` (amoCRM or Kommo, API v4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmoCrmConfig {
    /// The account's address, `https://<subdomain>.amocrm.ru` (or `.kommo.com`).
    pub base_url: Url,
    /// A long-lived token or an OAuth access token, sent as `Authorization: Bearer`.
    pub token: Secret,
    /// `webhook_token`: amoCRM webhooks are unsigned, so the URL carries a secret:
    /// `/webhooks/<name>/<webhook_token>`; deliveries to any other URL are refused. Optional:
    /// without it webhooks are off and lead changes are found by polling.
    pub webhook_token: Option<Secret>,
    /// OAuth2 of an integration (`client_id`, `client_secret`, `redirect_uri`, `refresh_token`):
    /// with it, `token` is the first access token and is refreshed when amoCRM answers 401; each
    /// new pair is kept in the state database. Without it, `token` is a long-lived token.
    pub oauth: Option<AmoOAuth>,
    /// Request budget and timeouts.
    pub limits: SystemLimits,
}

/// amoCRM OAuth2 keys (see [`AmoCrmConfig::oauth`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmoOAuth {
    /// The integration's ID.
    pub client_id: String,
    /// The integration's secret key.
    pub client_secret: Secret,
    /// The redirect URI registered for the integration.
    pub redirect_uri: String,
    /// The first refresh token.
    pub refresh_token: Secret,
}

/// One `[systems.<name>]` table, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SystemConfig {
    /// A WooCommerce shop.
    WooCommerce(WooCommerceConfig),
    /// A Bitrix24 portal.
    Bitrix24(Bitrix24Config),
    /// An amoCRM / Kommo account.
    AmoCrm(AmoCrmConfig),
    /// A Shopify shop.
    Shopify(ShopifyConfig),
}

impl SystemConfig {
    /// Which kind of system this is.
    pub fn kind(&self) -> SystemKind {
        match self {
            SystemConfig::WooCommerce(_) => SystemKind::WooCommerce,
            SystemConfig::Bitrix24(_) => SystemKind::Bitrix24,
            SystemConfig::AmoCrm(_) => SystemKind::AmoCrm,
            SystemConfig::Shopify(_) => SystemKind::Shopify,
        }
    }

    /// Request budget and timeouts.
    pub fn limits(&self) -> &SystemLimits {
        match self {
            SystemConfig::WooCommerce(c) => &c.limits,
            SystemConfig::Bitrix24(c) => &c.limits,
            SystemConfig::AmoCrm(c) => &c.limits,
            SystemConfig::Shopify(c) => &c.limits,
        }
    }
}

/// Reads one `[systems.<name>]` table. Returns the kind even when other fields are wrong, so flows
/// can still be checked against it.
pub(crate) fn read_system(
    ctx: &mut Ctx<'_>,
    name: &str,
    t: &mut TableReader<'_, '_>,
    env: &dyn Env,
) -> (Option<SystemKind>, Option<SystemConfig>) {
    if !valid_name(name) {
        ctx.error(
            t.span.clone(),
            format!(
                "system name `{name}` may use only letters, digits, `_` and `-` (it becomes part of environment variable names)"
            ),
        );
    }
    let Some(kind_value) = t.required_string(ctx, "kind") else {
        return (None, None);
    };
    let Some(kind) = SystemKind::parse(kind_value.get_ref()) else {
        ctx.error(
            kind_value.span(),
            format!(
                "unknown system kind `{}` in {}; known kinds: {}",
                kind_value.get_ref(),
                t.name,
                SystemKind::known_list()
            ),
        );
        return (None, None);
    };
    t.set_known(kind.known_keys());
    t.deny_unknown(ctx);
    let limits = read_limits(ctx, t, kind);
    let config = match kind {
        SystemKind::WooCommerce => {
            let base_url = t.required_string(ctx, "base_url").and_then(|u| {
                match check_http_url(u.get_ref()) {
                    Ok(url) => Some(url),
                    Err(e) => {
                        ctx.error(u.span(), format!("`base_url` in {}: {e}", t.name));
                        None
                    }
                }
            });
            let key = read_secret(ctx, t, name, "consumer_key", env);
            let secret = read_secret(ctx, t, name, "consumer_secret", env);
            let hook_var = system_override_var(name, "webhook_secret");
            let webhook_secret = if t.has("webhook_secret") || env.var(&hook_var).is_some() {
                read_secret(ctx, t, name, "webhook_secret", env)
            } else {
                None
            };
            match (base_url, key, secret, limits) {
                (Some(base_url), Some(consumer_key), Some(consumer_secret), Some(limits)) => {
                    Some(SystemConfig::WooCommerce(WooCommerceConfig {
                        base_url,
                        consumer_key,
                        consumer_secret,
                        webhook_secret,
                        limits,
                    }))
                }
                _ => None,
            }
        }
        SystemKind::Bitrix24 => {
            let oauth_keys = ["portal_url", "client_id", "client_secret", "refresh_token"];
            let auth = if !t.has("webhook_url") && oauth_keys.iter().any(|k| t.has(k)) {
                read_bitrix24_oauth(ctx, t, name, env)
            } else {
                let var = system_override_var(name, "webhook_url");
                resolve_secret(ctx, t, "webhook_url", &var, env)
                    .and_then(
                        |(secret, origin)| match check_webhook_url(secret.expose()) {
                            Ok(url) => Some(Secret::new(url)),
                            Err(e) => {
                                let (span, from) = origin.locate();
                                ctx.error(span, format!("`webhook_url` in {}{from}: {e}", t.name));
                                None
                            }
                        },
                    )
                    .map(Bitrix24Auth::Webhook)
            };
            let token_var = system_override_var(name, "application_token");
            let application_token = if t.has("application_token") || env.var(&token_var).is_some() {
                read_secret(ctx, t, name, "application_token", env)
            } else {
                None
            };
            let user_field = |ctx: &mut Ctx<'_>, key: &str| {
                let v = t.string(ctx, key)?;
                if v.get_ref().starts_with("UF_CRM_") {
                    Some(v.into_inner())
                } else {
                    ctx.error(
                        v.span(),
                        format!(
                            "`{key}` in {} must be a deal user field id like \"UF_CRM_PAID\" (CRM → Settings → Deals → Custom fields), found \"{}\"",
                            t.name,
                            v.get_ref()
                        ),
                    );
                    None
                }
            };
            let number = |ctx: &mut Ctx<'_>, key: &str| {
                t.integer(ctx, key, 1, i64::from(u32::MAX))
                    .map(|n| *n.get_ref() as u32)
            };
            let catalog_api = match t.string(ctx, "catalog_api") {
                None => None,
                Some(v) if v.get_ref() == "crm.product" => None,
                Some(v) if v.get_ref() == "catalog" => {
                    match (
                        number(ctx, "catalog_iblock_id"),
                        number(ctx, "catalog_price_type_id"),
                    ) {
                        (Some(i), Some(p)) => Some((i, p)),
                        _ => {
                            ctx.error(v.span(), format!("`catalog_api = \"catalog\"` in {} needs `catalog_iblock_id` (the product catalog's information block) and `catalog_price_type_id` (the price type, e.g. 1 for the base price)", t.name));
                            None
                        }
                    }
                }
                Some(v) => {
                    ctx.error(v.span(), format!("`catalog_api` in {} must be \"crm.product\" (default) or \"catalog\", found \"{}\"", t.name, v.get_ref()));
                    None
                }
            };
            let requisite_preset_id = number(ctx, "requisite_preset_id");
            let paid_amount_field = user_field(ctx, "paid_amount_field");
            let paid_date_field = user_field(ctx, "paid_date_field");
            match (auth, limits) {
                (Some(auth), Some(limits)) => Some(SystemConfig::Bitrix24(Bitrix24Config {
                    auth,
                    application_token,
                    paid_amount_field,
                    paid_date_field,
                    catalog_api,
                    requisite_preset_id,
                    limits,
                })),
                _ => None,
            }
        }
        SystemKind::Shopify => {
            let base_url = t.required_string(ctx, "base_url").and_then(|u| {
                match check_http_url(u.get_ref()) {
                    Ok(url) => Some(url),
                    Err(e) => {
                        ctx.error(u.span(), format!("`base_url` in {}: {e}", t.name));
                        None
                    }
                }
            });
            let token = read_secret(ctx, t, name, "access_token", env);
            let hook_var = system_override_var(name, "webhook_secret");
            let webhook_secret = if t.has("webhook_secret") || env.var(&hook_var).is_some() {
                read_secret(ctx, t, name, "webhook_secret", env)
            } else {
                None
            };
            let location_id = t
                .integer(ctx, "location_id", 1, i64::MAX)
                .map(|n| *n.get_ref() as u64);
            match (base_url, token, limits) {
                (Some(base_url), Some(access_token), Some(limits)) => {
                    Some(SystemConfig::Shopify(ShopifyConfig {
                        base_url,
                        access_token,
                        webhook_secret,
                        location_id,
                        limits,
                    }))
                }
                _ => None,
            }
        }
        SystemKind::AmoCrm => {
            let base_url = t.required_string(ctx, "base_url").and_then(|u| {
                match check_http_url(u.get_ref()) {
                    Ok(url) => Some(url),
                    Err(e) => {
                        ctx.error(u.span(), format!("`base_url` in {}: {e}", t.name));
                        None
                    }
                }
            });
            let token = read_secret(ctx, t, name, "token", env);
            let hook_var = system_override_var(name, "webhook_token");
            let webhook_token = if t.has("webhook_token") || env.var(&hook_var).is_some() {
                read_secret(ctx, t, name, "webhook_token", env)
            } else {
                None
            };
            let oauth = if [
                "client_id",
                "client_secret",
                "redirect_uri",
                "refresh_token",
            ]
            .iter()
            .any(|k| t.has(k))
            {
                let client_id = t.required_string(ctx, "client_id").map(|s| s.into_inner());
                let redirect_uri = t
                    .required_string(ctx, "redirect_uri")
                    .map(|s| s.into_inner());
                let client_secret = read_secret(ctx, t, name, "client_secret", env);
                let refresh_token = read_secret(ctx, t, name, "refresh_token", env);
                match (client_id, client_secret, redirect_uri, refresh_token) {
                    (
                        Some(client_id),
                        Some(client_secret),
                        Some(redirect_uri),
                        Some(refresh_token),
                    ) => Some(Some(AmoOAuth {
                        client_id,
                        client_secret,
                        redirect_uri,
                        refresh_token,
                    })),
                    _ => None,
                }
            } else {
                Some(None)
            };
            match (base_url, token, oauth, limits) {
                (Some(base_url), Some(token), Some(oauth), Some(limits)) => {
                    Some(SystemConfig::AmoCrm(AmoCrmConfig {
                        base_url,
                        token,
                        webhook_token,
                        oauth,
                        limits,
                    }))
                }
                _ => None,
            }
        }
    };
    (Some(kind), config)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn read_limits(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    kind: SystemKind,
) -> Option<SystemLimits> {
    let before = ctx.out.len();
    let per_second = t.integer(ctx, "rate_limit_per_second", 1, 10_000);
    let burst = t.integer(ctx, "rate_limit_burst", 1, 10_000);
    let rate_limit = match (per_second, burst) {
        (Some(p), Some(b)) => Some(RateLimit {
            per_second: *p.get_ref() as u32,
            burst: *b.get_ref() as u32,
        }),
        (Some(p), None) => Some(RateLimit {
            per_second: *p.get_ref() as u32,
            burst: kind
                .default_rate_limit()
                .map_or(*p.get_ref() as u32, |d| d.burst),
        }),
        (None, Some(b)) => match kind.default_rate_limit() {
            Some(d) => Some(RateLimit {
                per_second: d.per_second,
                burst: *b.get_ref() as u32,
            }),
            None => {
                ctx.error(
                    b.span(),
                    format!(
                        "`rate_limit_burst` in {} needs `rate_limit_per_second` too ({} has no default limit)",
                        t.name, kind
                    ),
                );
                None
            }
        },
        (None, None) => kind.default_rate_limit(),
    };
    let timeout = t
        .duration(ctx, "timeout", Duration::from_millis(1))
        .unwrap_or(Duration::from_secs(60));
    let connect_timeout = t
        .duration(ctx, "connect_timeout", Duration::from_millis(1))
        .unwrap_or(Duration::from_secs(10));
    (ctx.out.len() == before).then_some(SystemLimits {
        rate_limit,
        timeout,
        connect_timeout,
    })
}

/// The OAuth keys of a Bitrix24 app (see [`Bitrix24Auth::OAuth`]).
fn read_bitrix24_oauth(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    name: &str,
    env: &dyn Env,
) -> Option<Bitrix24Auth> {
    let url = |ctx: &mut Ctx<'_>, key: &str, required: bool| -> Option<Url> {
        let v = if required {
            t.required_string(ctx, key)?
        } else {
            t.string(ctx, key)?
        };
        match check_http_url(v.get_ref()) {
            Ok(u) => Some(u),
            Err(e) => {
                ctx.error(v.span(), format!("`{key}` in {}: {e}", t.name));
                None
            }
        }
    };
    let portal_url = url(ctx, "portal_url", true);
    let token_url = if t.has("oauth_token_url") {
        url(ctx, "oauth_token_url", false)
    } else {
        Url::parse("https://oauth.bitrix.info/oauth/token/").ok()
    };
    let client_id = t.required_string(ctx, "client_id").map(|s| s.into_inner());
    let client_secret = read_secret(ctx, t, name, "client_secret", env);
    let access_token = read_secret(ctx, t, name, "access_token", env);
    let refresh_token = read_secret(ctx, t, name, "refresh_token", env);
    Some(Bitrix24Auth::OAuth(Box::new(Bitrix24OAuth {
        portal_url: portal_url?,
        client_id: client_id?,
        client_secret: client_secret?,
        access_token: access_token?,
        refresh_token: refresh_token?,
        token_url: token_url?,
    })))
}

fn read_secret(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    system: &str,
    field: &str,
    env: &dyn Env,
) -> Option<Secret> {
    resolve_secret(ctx, t, field, &system_override_var(system, field), env).map(|(s, _)| s)
}

/// An absolute `http`/`https` URL with a host.
pub(crate) fn check_http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text)
        .map_err(|e| format!("not a valid URL ({e}); write e.g. \"https://shop.example\""))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "URL scheme must be http or https, found `{}`",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".to_string());
    }
    Ok(url)
}

/// Checks the shape of a Bitrix24 incoming webhook URL without echoing it (the token is secret),
/// and returns it ending in `/` so method names can be appended.
fn check_webhook_url(text: &str) -> Result<String, String> {
    let url = check_http_url(text)
        .map_err(|e| format!("{e}; expected https://<portal>/rest/<user id>/<token>/"))?;
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let shape_ok = segments.len() >= 3
        && segments[segments.len() - 3] == "rest"
        && segments[segments.len() - 2]
            .chars()
            .all(|c| c.is_ascii_digit());
    if !shape_ok || url.query().is_some() {
        return Err(
            "does not look like a Bitrix24 incoming webhook; expected https://<portal>/rest/<user id>/<token>/"
                .to_string(),
        );
    }
    let mut s = url.to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_normalised() {
        assert_eq!(
            check_webhook_url("http://127.0.0.1:9002/rest/1/test").unwrap(),
            "http://127.0.0.1:9002/rest/1/test/"
        );
        assert!(check_webhook_url("https://portal.bitrix24.ru/rest/1/abc/").is_ok());
        assert!(check_webhook_url("https://portal.bitrix24.ru/api/1/abc/").is_err());
        assert!(check_webhook_url("ftp://portal/rest/1/abc/").is_err());
        assert!(check_webhook_url("not a url").is_err());
    }

    #[test]
    fn kinds_round_trip() {
        for k in SystemKind::ALL {
            assert_eq!(SystemKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(
            SystemKind::known_list(),
            "woocommerce, bitrix24, amocrm, shopify"
        );
    }
}
