//! The Bitrix24 REST client for incoming-webhook URLs: one rate-limited `call`, `batch`, and
//! paging through list methods.

use crate::errors::{classify, ErrorContext};
use crate::php_query::build_query;
use crate::wire::{ApiError, BatchPayload, Envelope};
use crate::SYSTEM;
use dealbridge_sdk::auth::{OAuthTokens, TokenCache, TokenStore};
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::http::{
    classify_status, classify_transport, client, send_with, Answer, ClientLimits, RateLimiter,
    Timeouts,
};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Most commands Bitrix24 accepts in one `batch` call.
pub const MAX_BATCH: usize = 50;

/// 2/s with a burst of 10, the limit a client gets unless told otherwise: the documented budget
/// is a leaky bucket draining 2/s with room for 50, so we stay well inside it and leave room for
/// the portal's other integrations.
pub const DEFAULT_LIMITS: ClientLimits = ClientLimits::rate(2, 10);

/// Most of a standard plan's bucket (50 requests, draining 2/s): a burst of 48, then 2/s. Two
/// requests of slack absorb the skew between our clock and the portal's (a request admitted here
/// arrives a little later there). Use it when dealbridge is the portal's only heavy integration
/// (catalog pushes); [`DEFAULT_LIMITS`] leaves more room.
pub const STANDARD_PLAN_LIMITS: ClientLimits = ClientLimits::rate(2, 48);

/// Most of an Enterprise bucket (250 requests, draining 5/s): a burst of 245, then 5/s.
pub const ENTERPRISE_PLAN_LIMITS: ClientLimits = ClientLimits::rate(5, 245);

/// What a successful call answered.
#[derive(Debug, Clone, PartialEq)]
pub struct CallResult {
    /// The method's `result`.
    pub result: Value,
    /// `total` of list methods (absent with `start=-1`).
    pub total: Option<u64>,
    /// `start` of the next page, when there is one.
    pub next: Option<u64>,
}

/// The per-command outcome of a `batch` call.
#[derive(Debug, Clone, Default)]
pub struct BatchResult {
    /// Results of the commands that succeeded, by key.
    pub results: BTreeMap<String, Value>,
    /// Errors of the commands that failed, by key.
    pub errors: BTreeMap<String, ApiError>,
    /// `total` of list commands.
    pub totals: BTreeMap<String, u64>,
    /// `next` of list commands with more pages.
    pub nexts: BTreeMap<String, u64>,
    methods: BTreeMap<String, String>,
    config_name: String,
}

impl BatchResult {
    /// The result of command `key`, or its error classified like a direct call's. A command that
    /// did not run (`halt` stopped the batch earlier) reports the error that stopped it.
    pub fn get(&self, key: &str) -> Result<&Value, ConnectorError> {
        if let Some(v) = self.results.get(key) {
            return Ok(v);
        }
        if let Some(e) = self.error(key) {
            return Err(e);
        }
        if let Some(first) = self.first_error() {
            return Err(first);
        }
        Err(ConnectorError::new(
            ErrorKind::Protocol,
            SYSTEM,
            format!("batch: Bitrix24 answered neither a result nor an error for command `{key}`"),
        ))
    }

    /// The classified error of command `key`, if it failed.
    pub fn error(&self, key: &str) -> Option<ConnectorError> {
        let e = self.errors.get(key)?;
        let method = self.methods.get(key).map_or("batch", String::as_str);
        Some(classify(
            None,
            e,
            None,
            ErrorContext {
                method,
                config_name: &self.config_name,
            },
        ))
    }

    /// The first failed command's error (in key order), if any failed.
    pub fn first_error(&self) -> Option<ConnectorError> {
        self.errors.keys().next().and_then(|k| self.error(k))
    }
}

/// A Bitrix24 REST client for one portal, authenticated by an incoming-webhook URL
/// (`https://portal/rest/<user>/<token>/`) or an OAuth app. Cheap to clone; clones share the
/// rate limiter and the tokens.
#[derive(Clone)]
pub struct Bitrix24Client {
    http: reqwest::Client,
    /// The webhook base ending in `/`. Contains the token: never log it.
    base: String,
    /// The base with the token masked, for messages and `Debug`.
    redacted: String,
    /// The request budget; `None` is unlimited (only when configured so).
    limiter: Option<RateLimiter>,
    config_name: String,
    settings: std::sync::Arc<crate::settings::Bitrix24Settings>,
    /// OAuth-app auth instead of a webhook token in the path.
    oauth: Option<std::sync::Arc<OAuth>>,
    /// Companies looked up by title (see `companies.rs`), shared by clones.
    pub(crate) companies: std::sync::Arc<std::sync::Mutex<crate::companies::CompanyCache>>,
    /// Methods the portal blocked with `OPERATION_TIME_LIMIT`, held until their reset.
    holds: std::sync::Arc<crate::operating::MethodHolds>,
}

/// An OAuth app's credentials (Bitrix24 → Developer resources → application).
#[derive(Clone)]
pub struct OAuthConfig {
    /// `client_id` of the app.
    pub client_id: String,
    /// `client_secret` of the app. Never logged.
    pub client_secret: String,
    /// The token endpoint: `https://oauth.bitrix.info/oauth/token/` (the emulator's
    /// `http://127.0.0.1:PORT/oauth/token/` in tests).
    pub token_url: String,
}

impl std::fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

impl OAuthConfig {
    /// The public Bitrix24 token endpoint.
    pub const DEFAULT_TOKEN_URL: &'static str = "https://oauth.bitrix.info/oauth/token/";
}

/// OAuth state: the app's credentials and the token pair (refreshed once for concurrent calls,
/// saved before a new access token is used).
struct OAuth {
    config: OAuthConfig,
    tokens: TokenCache,
}

impl std::fmt::Debug for Bitrix24Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bitrix24Client")
            .field("webhook", &self.redacted)
            .field("config_name", &self.config_name)
            .finish()
    }
}

impl Bitrix24Client {
    /// A client for an incoming-webhook URL (trailing slash optional). Fails with
    /// [`ErrorKind::Invalid`] when the URL is not of the form `http(s)://host/rest/<user>/<token>/`.
    pub fn new(
        webhook_url: &str,
        limits: ClientLimits,
        timeouts: Timeouts,
    ) -> Result<Self, ConnectorError> {
        let (base, redacted) = parse_webhook_url(webhook_url)?;
        let http = client(timeouts).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("cannot build the HTTP client: {e}"),
            )
        })?;
        Ok(Bitrix24Client {
            http,
            base,
            redacted,
            limiter: limits.limiter(),
            holds: std::sync::Arc::default(),
            config_name: "crm".to_string(),
            settings: std::sync::Arc::new(crate::settings::Bitrix24Settings::new()),
            oauth: None,
            companies: Default::default(),
        })
    }

    /// A client for an OAuth app on `portal_url` (`https://example.bitrix24.ru`): calls go to
    /// `<portal>/rest/<method>.json` with `auth=<access_token>`; an `expired_token` answer
    /// refreshes the pair at [`OAuthConfig::token_url`] once and repeats the call.
    pub fn new_oauth(
        portal_url: &str,
        config: OAuthConfig,
        tokens: OAuthTokens,
        limits: ClientLimits,
        timeouts: Timeouts,
    ) -> Result<Self, ConnectorError> {
        let bad = |why: &str| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!(
                    "the Bitrix24 portal URL {why}: it must look like https://<portal>.bitrix24.ru"
                ),
            )
        };
        let url = url::Url::parse(portal_url.trim()).map_err(|_| bad("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad("must be http(s) with a host"));
        }
        let mut base = url.clone();
        base.set_path("/rest/");
        base.set_query(None);
        base.set_fragment(None);
        let http = client(timeouts).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("cannot build the HTTP client: {e}"),
            )
        })?;
        Ok(Bitrix24Client {
            http,
            base: base.to_string(),
            redacted: base.to_string(),
            limiter: limits.limiter(),
            holds: std::sync::Arc::default(),
            config_name: "crm".to_string(),
            settings: std::sync::Arc::new(crate::settings::Bitrix24Settings::new()),
            oauth: Some(std::sync::Arc::new(OAuth {
                config,
                tokens: TokenCache::new(SYSTEM, tokens),
            })),
            companies: Default::default(),
        })
    }

    /// Saves every refreshed token pair in `store`, and waits for the save before the new
    /// access token is used: Bitrix24 revokes the old refresh token on refresh, so a pair that
    /// was used but not saved would leave the next start unable to refresh. A failed save fails
    /// the call that needed the token (transient; a retry saves first).
    pub fn with_token_store(self, store: std::sync::Arc<dyn TokenStore>) -> Self {
        if let Some(o) = &self.oauth {
            o.tokens.set_store(store);
        }
        self
    }

    /// The current OAuth token pair (after any refresh); `None` for a webhook client.
    pub fn oauth_tokens(&self) -> Option<OAuthTokens> {
        self.oauth.as_ref().map(|o| o.tokens.tokens())
    }

    /// Replaces the pair after an `expired_token` answer to a call sent with `used`, unless
    /// another call already did; the new pair is saved before it is returned.
    async fn refresh(&self, o: &OAuth, used: &str) -> Result<String, ConnectorError> {
        let new = o
            .tokens
            .refresh(Some(used), &self.config_name, |refresh| {
                self.exchange(&o.config, refresh)
            })
            .await?;
        Ok(new.access_token)
    }

    /// Asks the token endpoint for a new pair in exchange for `refresh`.
    async fn exchange(
        &self,
        config: &OAuthConfig,
        refresh: String,
    ) -> Result<OAuthTokens, ConnectorError> {
        let what = "Bitrix24 OAuth token refresh";
        let url = url::Url::parse_with_params(
            &config.token_url,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", config.client_id.as_str()),
                ("client_secret", config.client_secret.as_str()),
                ("refresh_token", refresh.as_str()),
            ],
        )
        .map_err(|_| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!(
                    "{what}: the token URL is not a URL; check systems.{}.oauth_token_url",
                    self.config_name
                ),
            )
        })?;
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| classify_transport(SYSTEM, what, e.without_url()))?;
        let status = response.status().as_u16();
        let body: Value = response
            .json()
            .await
            .map_err(|e| classify_transport(SYSTEM, what, e.without_url()))?;
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        match (text("access_token"), text("refresh_token")) {
            (Some(a), Some(r)) => Ok(OAuthTokens {
                access_token: a.to_string(),
                refresh_token: r.to_string(),
            }),
            _ => Err(ConnectorError::new(
                if (500..600).contains(&status) { ErrorKind::Transient } else { ErrorKind::Auth },
                SYSTEM,
                format!(
                    "{what} failed (HTTP {status}, {}): re-install or re-authorise the app and update systems.{}.refresh_token",
                    text("error").unwrap_or("no error code"),
                    self.config_name
                ),
            )),
        }
    }

    /// Sets the config name of this system (`[systems.<name>]`), used in error messages that
    /// tell the operator which setting to fix. Defaults to `crm`.
    pub fn with_config_name(mut self, name: impl Into<String>) -> Self {
        self.config_name = name.into();
        self
    }

    /// Sets the portal's catalog / payment settings (default: [`crate::Bitrix24Settings::new`]).
    pub fn with_settings(mut self, settings: crate::settings::Bitrix24Settings) -> Self {
        self.settings = std::sync::Arc::new(settings);
        self
    }

    /// The portal's catalog / payment settings.
    pub fn settings(&self) -> &crate::settings::Bitrix24Settings {
        &self.settings
    }

    /// The config name of this system (`crm`), for messages and origins.
    pub fn config_name(&self) -> &str {
        &self.config_name
    }

    /// The webhook URL with its token masked, safe to print.
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    fn ctx<'a>(&'a self, method: &'a str) -> ErrorContext<'a> {
        ErrorContext {
            method,
            config_name: &self.config_name,
        }
    }

    /// Calls one REST method with JSON params (POST `<base><method>.json`), after waiting for the
    /// portal's rate limiter, and classifies any failure.
    pub async fn call(&self, method: &str, params: Value) -> Result<CallResult, ConnectorError> {
        self.post(method, params.to_string()).await
    }

    /// POSTs a JSON body already serialised (so `batch` can keep its commands in order). With
    /// OAuth, an `expired_token` answer refreshes the tokens once and repeats the call.
    async fn post(&self, method: &str, body: String) -> Result<CallResult, ConnectorError> {
        check_method_name(method)?;
        if let Some(left) = self.holds.remaining(method) {
            return Err(ConnectorError::new(
                ErrorKind::RateLimited,
                SYSTEM,
                format!("{method}: held after Bitrix24's OPERATION_TIME_LIMIT for {}s more (the method's operating-time budget resets then); not calling it until then", left.as_secs().max(1)),
            )
            .with_retry_after(Some(left)));
        }
        let token = match &self.oauth {
            Some(o) => Some(o.tokens.access_token(&self.config_name).await?),
            None => None,
        };
        let (status, bytes) = self.send(method, &body, token.as_deref()).await?;
        if let (Some(o), Some(used)) = (&self.oauth, &token) {
            if is_expired_token(&bytes) {
                let fresh = self.refresh(o, used).await?;
                let (status, bytes) = self.send(method, &body, Some(&fresh)).await?;
                return self.decode(method, status, &bytes);
            }
        }
        self.decode(method, status, &bytes)
    }

    /// One HTTP request, after waiting for the portal's rate limiter.
    async fn send(
        &self,
        method: &str,
        body: &str,
        token: Option<&str>,
    ) -> Result<(u16, Vec<u8>), ConnectorError> {
        let mut url = format!("{}{}.json", self.base, method);
        if let Some(t) = token {
            url.push_str("?auth=");
            url.extend(url::form_urlencoded::byte_serialize(t.as_bytes()));
        }
        let what = format!("Bitrix24 {method}");
        let req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        // The URL holds the token; `send` keeps it out of transport errors.
        let answer = send_with(self.limiter.as_ref(), SYSTEM, &what, req, is_throttle).await?;
        let (status, bytes) = (answer.status, answer.body);
        tracing::debug!(
            system = SYSTEM,
            method,
            status,
            bytes = bytes.len(),
            "bitrix24 call"
        );
        Ok((status, bytes.to_vec()))
    }

    fn decode(&self, method: &str, status: u16, body: &[u8]) -> Result<CallResult, ConnectorError> {
        let json: Value = serde_json::from_slice(body).map_err(|_| {
            let head: String = String::from_utf8_lossy(&body[..body.len().min(60)])
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            ConnectorError::new(
                ErrorKind::Protocol,
                SYSTEM,
                format!(
                    "{method}: Bitrix24 answered HTTP {status} with a body that is not JSON (`{head}`); check that systems.{}.webhook_url points at a Bitrix24 portal",
                    self.config_name
                ),
            )
        })?;
        if json.get("error").is_some_and(|e| !e.is_null()) {
            let api: ApiError = serde_json::from_value(json.clone()).unwrap_or(ApiError {
                error: String::new(),
                error_description: json.to_string(),
            });
            // The refusal body carries no `time`; the last answer's reset time says when.
            let reset = json
                .pointer("/time/operating_reset_at")
                .and_then(Value::as_i64)
                .or_else(|| self.holds.last_reset(method));
            let err = classify(Some(status), &api, reset, self.ctx(method));
            if api.error.eq_ignore_ascii_case("OPERATION_TIME_LIMIT") {
                self.holds
                    .hold(method, err.retry_after.unwrap_or(Duration::from_secs(60)));
            }
            return Err(err);
        }
        if let Some(reset) = json
            .pointer("/time/operating_reset_at")
            .and_then(Value::as_i64)
        {
            self.holds.saw_reset(method, reset);
        }
        if !(200..300).contains(&status) {
            return Err(ConnectorError::new(
                classify_status(status),
                SYSTEM,
                format!("{method}: Bitrix24 answered HTTP {status} without an error code"),
            ));
        }
        let env: Envelope = serde_json::from_value(json).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Protocol,
                SYSTEM,
                format!("{method}: Bitrix24 answer has no usable `result`: {e}"),
            )
        })?;
        Ok(CallResult {
            result: env.result,
            total: env.total,
            next: env.next,
        })
    }

    /// Runs up to 50 commands in one `batch` call. Each command is `(key, method, params)`;
    /// params may reference earlier results as `$result[key]` or `$result[key][FIELD]`. With
    /// `halt`, Bitrix24 stops at the first failing command. The call itself fails only when the
    /// whole request does (transport, auth, limits, more than 50 commands); per-command
    /// failures are in the returned [`BatchResult`].
    pub async fn batch<K, M>(
        &self,
        halt: bool,
        cmds: &[(K, M, Value)],
    ) -> Result<BatchResult, ConnectorError>
    where
        K: AsRef<str>,
        M: AsRef<str>,
    {
        // Written by hand: a `serde_json::Map` would sort the keys, and commands run in the
        // order sent (later ones may reference earlier results).
        let mut body = format!("{{\"halt\":{},\"cmd\":{{", u8::from(halt));
        let mut methods = BTreeMap::new();
        for (key, method, params) in cmds {
            let (key, method) = (key.as_ref(), method.as_ref());
            check_method_name(method)?;
            let query = build_query(params);
            let line = if query.is_empty() {
                method.to_string()
            } else {
                format!("{method}?{query}")
            };
            if !methods.is_empty() {
                body.push(',');
            }
            body.push_str(&Value::String(key.to_string()).to_string());
            body.push(':');
            body.push_str(&Value::String(line).to_string());
            methods.insert(key.to_string(), method.to_string());
        }
        body.push_str("}}");
        let answer = self.post("batch", body).await?;
        let payload: BatchPayload = serde_json::from_value(answer.result).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Protocol,
                SYSTEM,
                format!("batch: unexpected Bitrix24 batch answer: {e}"),
            )
        })?;
        Ok(BatchResult {
            results: payload.result,
            errors: payload.result_error,
            totals: payload.result_total,
            nexts: payload.result_next,
            methods,
            config_name: self.config_name.clone(),
        })
    }

    /// Reads every page of a list method (`crm.deal.list`, …) by following `next`, and returns
    /// all rows. `params` is the method's params without `start`.
    pub async fn list_all(
        &self,
        method: &str,
        params: Value,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut params = match params {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => {
                return Err(ConnectorError::new(
                    ErrorKind::Invalid,
                    SYSTEM,
                    format!("{method}: list params must be an object"),
                ))
            }
        };
        let mut rows = Vec::new();
        let mut start = 0u64;
        loop {
            params.insert("start".into(), json!(start));
            let page = self.call(method, Value::Object(params.clone())).await?;
            match page.result {
                Value::Array(items) => rows.extend(items),
                other => {
                    return Err(ConnectorError::new(
                        ErrorKind::Protocol,
                        SYSTEM,
                        format!("{method}: expected a list, got {}", short(&other)),
                    ))
                }
            }
            match page.next {
                Some(next) if next > start => start = next,
                Some(next) => {
                    return Err(ConnectorError::new(
                        ErrorKind::Protocol,
                        SYSTEM,
                        format!("{method}: Bitrix24 answered next={next} after start={start}; stopping to avoid a loop"),
                    ))
                }
                None => return Ok(rows),
            }
        }
    }
}

/// Whether an answer is OAuth's `expired_token` (lower case on the wire; matched in any case).
fn is_expired_token(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
        .is_some_and(|e| e.eq_ignore_ascii_case("expired_token"))
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    s.chars().take(80).collect()
}

/// Method names go into the URL path: only allow what Bitrix24 method names are made of.
fn check_method_name(method: &str) -> Result<(), ConnectorError> {
    let ok = !method.is_empty()
        && method
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ConnectorError::new(
            ErrorKind::Invalid,
            SYSTEM,
            format!("`{method}` is not a Bitrix24 method name"),
        ))
    }
}

/// Splits `https://portal/rest/<user>/<token>/` into the base (with a trailing slash) and a
/// redacted copy. Never echoes the URL in errors: it holds the token.
fn parse_webhook_url(raw: &str) -> Result<(String, String), ConnectorError> {
    let bad = |why: &str| {
        ConnectorError::new(
            ErrorKind::Invalid,
            SYSTEM,
            format!("the Bitrix24 webhook URL {why}: it must look like https://<portal>/rest/<user id>/<token>/ (copy it from Bitrix24 → Developer resources → Incoming webhook)"),
        )
    };
    let url = url::Url::parse(raw.trim()).map_err(|_| bad("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must use https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let n = segments.len();
    if n < 3 || segments[n - 3] != "rest" {
        return Err(bad("has no /rest/<user>/<token>/ path"));
    }
    if segments[n - 2].parse::<u64>().is_err() {
        return Err(bad("has a user id that is not a number"));
    }
    let mut base = url.clone();
    base.set_path(&format!("{}/", segments.join("/")));
    let mut shown = base.clone();
    let masked: Vec<&str> = segments[..n - 1].iter().copied().chain(["***"]).collect();
    shown.set_path(&format!("{}/", masked.join("/")));
    Ok((base.to_string(), shown.to_string()))
}

/// Bitrix24's "too many requests": HTTP 503 with `QUERY_LIMIT_EXCEEDED` (the portal's leaky
/// bucket), counted as `throttled` by the shared client layer rather than as a server error.
fn is_throttle(answer: &Answer) -> bool {
    answer.status == 503
        && std::str::from_utf8(&answer.body).is_ok_and(|b| b.contains("QUERY_LIMIT_EXCEEDED"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_url_forms() {
        let (b, r) = parse_webhook_url("https://ex.bitrix24.ru/rest/1/abc123").unwrap();
        assert_eq!(b, "https://ex.bitrix24.ru/rest/1/abc123/");
        assert_eq!(r, "https://ex.bitrix24.ru/rest/1/***/");
        let (b, _) = parse_webhook_url("http://127.0.0.1:9002/rest/1/test/").unwrap();
        assert_eq!(b, "http://127.0.0.1:9002/rest/1/test/");
        for bad in [
            "ftp://x/rest/1/t/",
            "https://x/api/1/t/",
            "https://x/rest/u/t/",
            "nope",
        ] {
            let e = parse_webhook_url(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Invalid, "{bad}");
            assert!(!e.message.contains("/t/"), "{}", e.message);
        }
    }

    #[test]
    fn method_names_are_checked() {
        assert!(check_method_name("crm.deal.productrows.set").is_ok());
        assert!(check_method_name("../x").is_err());
        assert!(check_method_name("").is_err());
    }
}
