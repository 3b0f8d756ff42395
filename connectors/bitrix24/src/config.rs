//! `[systems.<name>]` with `kind = "bitrix24"`: how dealbridge reaches the portal (an incoming
//! webhook or a local app's OAuth keys), the events' token, and optional deal fields.

use dealbridge_sdk::config::{
    check_http_url, read_optional_secret, read_secret, resolve_secret, system_override_var, Ctx,
    Env, Secret, TableReader,
};
use url::Url;

/// The keys of the table besides `kind` and the shared limits.
pub const KEYS: &[&str] = &[
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
];

/// The keys holding secrets.
pub const SECRET_FIELDS: &[&str] = &[
    "webhook_url",
    "application_token",
    "client_secret",
    "access_token",
    "refresh_token",
];

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
}

impl Bitrix24Config {
    /// The incoming webhook URL, when the portal is reached through one.
    pub fn webhook_url(&self) -> Option<&Secret> {
        match &self.auth {
            Bitrix24Auth::Webhook(url) => Some(url),
            Bitrix24Auth::OAuth(_) => None,
        }
    }

    /// Reads the table, reporting every mistake with its position.
    pub fn read(
        ctx: &mut Ctx<'_>,
        name: &str,
        t: &TableReader<'_, '_>,
        env: &dyn Env,
    ) -> Option<Bitrix24Config> {
        let auth = read_auth(ctx, t, name, env);
        let application_token = read_optional_secret(ctx, t, name, "application_token", env);
        let catalog_api = read_catalog_api(ctx, t);
        let requisite_preset_id = positive(ctx, t, "requisite_preset_id");
        let paid_amount_field = user_field(ctx, t, "paid_amount_field");
        let paid_date_field = user_field(ctx, t, "paid_date_field");
        Some(Bitrix24Config {
            auth: auth?,
            application_token,
            paid_amount_field,
            paid_date_field,
            catalog_api,
            requisite_preset_id,
        })
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

/// `webhook_url`, or the OAuth keys when any of them is present (and no `webhook_url`).
fn read_auth(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    name: &str,
    env: &dyn Env,
) -> Option<Bitrix24Auth> {
    let oauth_keys = ["portal_url", "client_id", "client_secret", "refresh_token"];
    if !t.has("webhook_url") && oauth_keys.iter().any(|k| t.has(k)) {
        return read_oauth(ctx, t, name, env);
    }
    let var = system_override_var(name, "webhook_url");
    let (secret, origin) = resolve_secret(ctx, t, "webhook_url", &var, env)?;
    match check_webhook_url(secret.expose()) {
        Ok(url) => Some(Bitrix24Auth::Webhook(Secret::new(url))),
        Err(e) => {
            let (span, from) = origin.locate();
            ctx.error(span, format!("`webhook_url` in {}{from}: {e}", t.name));
            None
        }
    }
}

/// The OAuth keys of a Bitrix24 app (see [`Bitrix24Auth::OAuth`]).
fn read_oauth(
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

/// `catalog_api`: `"crm.product"` (default, `None`) or `"catalog"` with its two ids.
fn read_catalog_api(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>) -> Option<(u32, u32)> {
    let v = t.string(ctx, "catalog_api")?;
    match v.get_ref().as_str() {
        "crm.product" => None,
        "catalog" => match (
            positive(ctx, t, "catalog_iblock_id"),
            positive(ctx, t, "catalog_price_type_id"),
        ) {
            (Some(i), Some(p)) => Some((i, p)),
            _ => {
                ctx.error(v.span(), format!("`catalog_api = \"catalog\"` in {} needs `catalog_iblock_id` (the product catalog's information block) and `catalog_price_type_id` (the price type, e.g. 1 for the base price)", t.name));
                None
            }
        },
        other => {
            ctx.error(v.span(), format!("`catalog_api` in {} must be \"crm.product\" (default) or \"catalog\", found \"{other}\"", t.name));
            None
        }
    }
}

/// An optional id of at least 1.
fn positive(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>, key: &str) -> Option<u32> {
    t.integer(ctx, key, 1, i64::from(u32::MAX))
        .map(|n| *n.get_ref() as u32)
}

/// An optional deal user field id (`UF_CRM_…`).
fn user_field(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>, key: &str) -> Option<String> {
    let v = t.string(ctx, key)?;
    if v.get_ref().starts_with("UF_CRM_") {
        return Some(v.into_inner());
    }
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

/// Checks the shape of a Bitrix24 incoming webhook URL without echoing it (the token is secret),
/// and returns it ending in `/` so method names can be appended.
pub fn check_webhook_url(text: &str) -> Result<String, String> {
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
}
