//! `[systems.<name>]` with `kind = "amocrm"`: the account's address, its token (long-lived or
//! OAuth2) and the secret in its webhook URL.

use dealbridge_sdk::config::{
    read_http_url, read_optional_secret, read_secret, Ctx, Env, Secret, TableReader,
};
use url::Url;

/// The keys of the table besides `kind` and the shared limits.
pub const KEYS: &[&str] = &[
    "base_url",
    "token",
    "webhook_token",
    "client_id",
    "client_secret",
    "redirect_uri",
    "refresh_token",
];

/// The keys holding secrets.
pub const SECRET_FIELDS: &[&str] = &["token", "webhook_token", "client_secret", "refresh_token"];

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

impl AmoCrmConfig {
    /// Reads the table, reporting every mistake with its position.
    pub fn read(
        ctx: &mut Ctx<'_>,
        name: &str,
        t: &TableReader<'_, '_>,
        env: &dyn Env,
    ) -> Option<AmoCrmConfig> {
        let base_url = read_http_url(ctx, t, "base_url");
        let token = read_secret(ctx, t, name, "token", env);
        let webhook_token = read_optional_secret(ctx, t, name, "webhook_token", env);
        let oauth_keys = [
            "client_id",
            "client_secret",
            "redirect_uri",
            "refresh_token",
        ];
        let oauth = if oauth_keys.iter().any(|k| t.has(k)) {
            Some(read_oauth(ctx, t, name, env)?)
        } else {
            None
        };
        Some(AmoCrmConfig {
            base_url: base_url?,
            token: token?,
            webhook_token,
            oauth,
        })
    }
}

/// The OAuth2 keys; all four are needed once any is given.
fn read_oauth(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    name: &str,
    env: &dyn Env,
) -> Option<AmoOAuth> {
    let client_id = t.required_string(ctx, "client_id").map(|s| s.into_inner());
    let redirect_uri = t
        .required_string(ctx, "redirect_uri")
        .map(|s| s.into_inner());
    let client_secret = read_secret(ctx, t, name, "client_secret", env);
    let refresh_token = read_secret(ctx, t, name, "refresh_token", env);
    Some(AmoOAuth {
        client_id: client_id?,
        client_secret: client_secret?,
        redirect_uri: redirect_uri?,
        refresh_token: refresh_token?,
    })
}
