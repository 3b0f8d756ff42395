//! The amoCRM API v4 client: one rate-limited JSON request with Bearer auth, HAL paging by
//! `_links.next`, and typed calls for leads, contacts, pipelines, custom fields, catalogs and
//! links.

use crate::errors::classify;
use crate::oauth::{OAuthSettings, TokenAnswer};
use crate::wire::{
    Catalog, CatalogElement, Collection, ComplexSaved, ContactRecord, CustomFieldDef, EntityLink,
    Lead, Note, Pipeline, Saved, Status,
};
use crate::SYSTEM;
use dealbridge_sdk::auth::{OAuthTokens, TokenCache, TokenStore};
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::http::{client, send, ClientLimits, RateLimiter, Timeouts};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Largest `limit` amoCRM accepts on list endpoints.
pub const MAX_LIMIT: u32 = 250;
/// Most leads one `POST /api/v4/leads/complex` may carry.
pub const MAX_COMPLEX: usize = 50;

/// 7/s with no burst, the limit a client gets unless told otherwise: amoCRM allows "not more
/// than 7 requests per second" and counts per second, so evenly spaced requests (one per
/// ~143 ms) never put 8 into one second, where a burst of 7 followed by the steady rate would.
pub const DEFAULT_LIMITS: ClientLimits = ClientLimits::rate(7, 1);

/// Spacing added to every request interval: amoCRM counts requests per second at *its* end,
/// so requests spaced exactly 1/7 s apart can land 8 in one second after network jitter.
/// 2 ms costs about 1.4% of throughput at 7/s.
const SPACING_MARGIN: Duration = Duration::from_millis(2);

/// The limiter for the account at `origin`: the configured rate with [`SPACING_MARGIN`], shared
/// with every other client of that account in the process (see `account_limit`); `None` when
/// unlimited.
fn limiter(origin: &str, limits: ClientLimits) -> Option<RateLimiter> {
    limits
        .rate_limit
        .map(|r| crate::account_limit::shared_limiter(origin, r, SPACING_MARGIN))
}

/// One page of a HAL collection.
#[derive(Debug, Clone, PartialEq)]
pub struct HalPage<T> {
    /// The items (empty for a 204 answer).
    pub items: Vec<T>,
    /// `_page`.
    pub page: Option<u32>,
    /// `_links.next.href`, when there is a next page.
    pub next: Option<String>,
}

/// Parameters of `GET /api/v4/leads`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadsQuery {
    /// `filter[updated_at][from]`, Unix seconds.
    pub updated_from: Option<i64>,
    /// `filter[updated_at][to]`, Unix seconds.
    pub updated_to: Option<i64>,
    /// `query`: amoCRM's search over names and field values.
    pub query: Option<String>,
    /// `filter[id][]`.
    pub ids: Vec<u64>,
    /// `with=` (`contacts`, `catalog_elements`, …).
    pub with: Vec<String>,
    /// `page`, 1-based.
    pub page: Option<u32>,
    /// `limit`, at most [`MAX_LIMIT`].
    pub limit: Option<u32>,
    /// `order[updated_at]=asc`: oldest change first.
    pub order_updated_asc: bool,
    /// `order[id]=asc`: a stable order for paging, since ids never change (a lead changed while
    /// a listing is paged does not shift the others). Ignored with `order_updated_asc`.
    pub order_id_asc: bool,
}

impl LeadsQuery {
    /// The query string (without `?`).
    pub fn to_query(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        if !self.with.is_empty() {
            s.append_pair("with", &self.with.join(","));
        }
        if let Some(p) = self.page {
            s.append_pair("page", &p.to_string());
        }
        if let Some(l) = self.limit {
            s.append_pair("limit", &l.to_string());
        }
        if let Some(q) = &self.query {
            s.append_pair("query", q);
        }
        if let Some(f) = self.updated_from {
            s.append_pair("filter[updated_at][from]", &f.to_string());
        }
        if let Some(t) = self.updated_to {
            s.append_pair("filter[updated_at][to]", &t.to_string());
        }
        for id in &self.ids {
            s.append_pair("filter[id][]", &id.to_string());
        }
        if self.order_updated_asc {
            s.append_pair("order[updated_at]", "asc");
        } else if self.order_id_asc {
            s.append_pair("order[id]", "asc");
        }
        s.finish()
    }
}

/// An amoCRM / Kommo client for one account (`https://<subdomain>.amocrm.ru`). Cheap to clone;
/// clones share the rate limiter and the token.
#[derive(Clone)]
pub struct AmoClient {
    http: reqwest::Client,
    /// `scheme://host[:port]`, no trailing slash.
    base: String,
    /// Bearer token; swappable so an OAuth refresher can replace it.
    token: Arc<RwLock<String>>,
    /// The request budget; `None` is unlimited (only when configured so).
    limiter: Option<RateLimiter>,
    config_name: String,
    /// OAuth refresh state; `None` for a long-lived token.
    oauth: Option<Arc<OAuth>>,
}

/// The refresh side of OAuth: the integration's settings and the token pair (refreshed once
/// for concurrent 401s, saved before a new access token is used).
struct OAuth {
    settings: OAuthSettings,
    tokens: TokenCache,
}

impl std::fmt::Debug for AmoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmoClient")
            .field("base", &self.base)
            .field("config_name", &self.config_name)
            .finish_non_exhaustive()
    }
}

impl AmoClient {
    /// A client for the account at `base_url` (`https://sub.amocrm.ru`, `https://sub.kommo.com`)
    /// with a long-lived token or an OAuth access token, sent as `Authorization: Bearer`.
    pub fn new(
        base_url: &str,
        token: &str,
        limits: ClientLimits,
        timeouts: Timeouts,
    ) -> Result<Self, ConnectorError> {
        let bad = |why: &str| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("the amoCRM base URL {why}: it must look like https://<subdomain>.amocrm.ru or https://<subdomain>.kommo.com"),
            )
        };
        let url = url::Url::parse(base_url.trim()).map_err(|_| bad("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad("must be http(s) with a host"));
        }
        if token.trim().is_empty() {
            return Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                "the amoCRM token is empty: set a long-lived token or an OAuth access token",
            ));
        }
        let base = url.origin().ascii_serialization();
        let limiter = limiter(&base, limits);
        let http = client(timeouts).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("cannot build the HTTP client: {e}"),
            )
        })?;
        Ok(AmoClient {
            http,
            base,
            token: Arc::new(RwLock::new(token.trim().to_string())),
            limiter,
            config_name: "crm".into(),
            oauth: None,
        })
    }

    /// Turns on OAuth: a call answered 401 refreshes the access token once with
    /// `oauth.refresh_token` and is retried; each new pair is saved in `store`, and the save is
    /// awaited before the new token is used (a failed save fails the call). Start the client
    /// with the last access token, or any placeholder (the first call then refreshes).
    pub fn with_oauth(mut self, oauth: OAuthSettings, store: Option<Arc<dyn TokenStore>>) -> Self {
        let tokens = TokenCache::new(
            SYSTEM,
            OAuthTokens {
                access_token: self.current_token(),
                refresh_token: oauth.refresh_token.clone(),
            },
        );
        if let Some(store) = store {
            tokens.set_store(store);
        }
        self.oauth = Some(Arc::new(OAuth {
            settings: oauth,
            tokens,
        }));
        self
    }

    /// Refreshes the access token now (`POST /oauth2/access_token`, `grant_type=refresh_token`),
    /// saves the pair in the store, then installs it. Fails if OAuth is not configured.
    pub async fn refresh_access_token(&self) -> Result<OAuthTokens, ConnectorError> {
        let Some(oauth) = &self.oauth else {
            return Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("systems.{}: no OAuth client_id/client_secret/refresh_token configured; cannot refresh the amoCRM token", self.config_name),
            ));
        };
        self.refresh(oauth, None).await
    }

    /// Refreshes unless the token changed since `used` was sent (another call refreshed), and
    /// installs the saved pair.
    async fn refresh(
        &self,
        oauth: &OAuth,
        used: Option<&str>,
    ) -> Result<OAuthTokens, ConnectorError> {
        let tokens = oauth
            .tokens
            .refresh(used, &self.config_name, |refresh| {
                self.exchange(&oauth.settings, refresh)
            })
            .await?;
        self.set_token(&tokens.access_token);
        Ok(tokens)
    }

    /// `POST /oauth2/access_token`: spends `refresh` for a new pair.
    async fn exchange(
        &self,
        settings: &OAuthSettings,
        refresh: String,
    ) -> Result<OAuthTokens, ConnectorError> {
        let what = "POST /oauth2/access_token";
        let body = serde_json::json!({
            "client_id": settings.client_id,
            "client_secret": settings.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "redirect_uri": settings.redirect_uri,
        });
        let req = self
            .http
            .post(format!("{}/oauth2/access_token", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let answer = send(self.limiter.as_ref(), SYSTEM, what, req).await?;
        let (status, bytes) = (answer.status, answer.body);
        if !(200..300).contains(&status) {
            let mut e = classify(status, None, &bytes, what, &self.config_name);
            if matches!(status, 400 | 401 | 403) {
                e.kind = ErrorKind::Auth;
                e.message = format!("{what}: amoCRM refused to refresh the OAuth token (HTTP {status}): the refresh token of systems.{} is used up or revoked, or client_id/client_secret/redirect_uri are wrong; authorize the integration again", self.config_name);
            }
            return Err(e);
        }
        let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|e| protocol(what, e))?;
        tracing::debug!(system = SYSTEM, expires_in = ?answer.expires_in, "amocrm token refreshed");
        Ok(answer.tokens())
    }

    /// The Bearer token as it is now.
    fn current_token(&self) -> String {
        self.token.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The token to send: with OAuth, the cache's (saved) access token.
    async fn bearer(&self) -> Result<String, ConnectorError> {
        match &self.oauth {
            Some(o) => o.tokens.access_token(&self.config_name).await,
            None => Ok(self.current_token()),
        }
    }

    /// Sets the config name (`[systems.<name>]`) used in messages. Defaults to `crm`.
    pub fn with_config_name(mut self, name: impl Into<String>) -> Self {
        self.config_name = name.into();
        self
    }

    /// Replaces the Bearer token; clones see the new token too. With OAuth the token cache
    /// decides what is sent (only a saved pair), and a refresh calls this to keep both in step.
    pub fn set_token(&self, token: &str) {
        *self.token.write().unwrap_or_else(|p| p.into_inner()) = token.trim().to_string();
    }

    /// The config name (`[systems.<name>]`) used in messages.
    pub fn config_name(&self) -> &str {
        &self.config_name
    }

    /// `scheme://host[:port]` of the account.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends one request to `path` (`/api/v4/...`, with its query) after waiting for the
    /// limiter. `Ok(None)` is a 204 No Content (an empty list).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, ConnectorError> {
        if !path.starts_with("/api/v4/") {
            return Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("`{path}` is not an amoCRM API v4 path"),
            ));
        }
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let token = self.bearer().await?;
        let (mut status, mut retry_after, mut bytes) =
            self.send(&method, path, body, &token, &what).await?;
        if status == 401 {
            if let Some(oauth) = &self.oauth {
                // Refresh once for all concurrent 401s: the first refreshes; the others find
                // the token changed and just retry with the new one.
                let fresh = self.refresh(oauth, Some(&token)).await?.access_token;
                (status, retry_after, bytes) =
                    self.send(&method, path, body, &fresh, &what).await?;
            }
        }
        if status == 204 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            return Err(classify(
                status,
                retry_after,
                &bytes,
                &what,
                &self.config_name,
            ));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&bytes).map(Some).map_err(|_| {
            if crate::errors::looks_like_html(&bytes) {
                return crate::errors::overloaded(status, retry_after, &what);
            }
            ConnectorError::new(
                ErrorKind::Protocol,
                SYSTEM,
                format!("{what}: amoCRM answered HTTP {status} with a body that is not JSON; check that systems.{}.base_url points at an amoCRM account", self.config_name),
            )
        })
    }

    /// One HTTP exchange after waiting for the limiter: status, `Retry-After`, body.
    async fn send(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        token: &str,
        what: &str,
    ) -> Result<(u16, Option<Duration>, axum::body::Bytes), ConnectorError> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{}", self.base, path))
            .bearer_auth(token)
            .header(
                reqwest::header::ACCEPT,
                "application/hal+json, application/json",
            );
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let answer = send(self.limiter.as_ref(), SYSTEM, what, req).await?;
        let (status, retry_after, bytes) = (answer.status, answer.retry_after(), answer.body);
        tracing::debug!(system = SYSTEM, call = %what, status, bytes = bytes.len(), "amocrm call");
        Ok((status, retry_after, bytes))
    }

    /// One page of a collection at `path`, items taken from `_embedded.<key>`.
    pub async fn page<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
    ) -> Result<HalPage<T>, ConnectorError> {
        let Some(body) = self.request(Method::GET, path, None).await? else {
            return Ok(HalPage {
                items: Vec::new(),
                page: None,
                next: None,
            });
        };
        let what = path.split('?').next().unwrap_or(path);
        let coll: Collection = serde_json::from_value(body).map_err(|e| protocol(what, e))?;
        let items = coll
            .embedded
            .get(key)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<Vec<T>, _>>()
            .map_err(|e| protocol(what, e))?;
        let next = match coll.links.next {
            Some(l) => Some(self.local_path(&l.href)?),
            None => None,
        };
        Ok(HalPage {
            items,
            page: coll.page,
            next,
        })
    }

    /// Every item of a collection, following `_links.next` until it is absent or a page is
    /// empty (204).
    pub async fn all<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &str,
    ) -> Result<Vec<T>, ConnectorError> {
        let mut out = Vec::new();
        let mut next = Some(path.to_string());
        let mut seen = std::collections::HashSet::new();
        while let Some(p) = next.take() {
            if !seen.insert(p.clone()) {
                return Err(ConnectorError::new(
                    ErrorKind::Protocol,
                    SYSTEM,
                    format!("{p}: amoCRM sent the same next link twice; stopping to avoid a loop"),
                ));
            }
            let page = self.page::<T>(&p, key).await?;
            if page.items.is_empty() {
                break;
            }
            out.extend(page.items);
            next = page.next;
        }
        Ok(out)
    }

    /// `_links.next.href` as a path on *our* base: the token is never sent to a host the
    /// answer names.
    fn local_path(&self, href: &str) -> Result<String, ConnectorError> {
        let url = url::Url::parse(href)
            .or_else(|_| url::Url::parse(&format!("{}{}", self.base, href)))
            .map_err(|_| protocol("_links.next", format!("`{href}` is not a URL")))?;
        let mut p = url.path().to_string();
        if let Some(q) = url.query() {
            p.push('?');
            p.push_str(q);
        }
        Ok(p)
    }

    /// One page of leads (`GET /api/v4/leads`).
    pub async fn leads_page(&self, q: &LeadsQuery) -> Result<HalPage<Lead>, ConnectorError> {
        check_limit(q.limit)?;
        self.page(&with_query("/api/v4/leads", &q.to_query()), "leads")
            .await
    }

    /// Every lead matching `q`, all pages.
    pub async fn leads_all(&self, q: &LeadsQuery) -> Result<Vec<Lead>, ConnectorError> {
        check_limit(q.limit)?;
        self.all(&with_query("/api/v4/leads", &q.to_query()), "leads")
            .await
    }

    /// One lead (`GET /api/v4/leads/{id}?with=...`).
    pub async fn get_lead(&self, id: u64, with: &[&str]) -> Result<Lead, ConnectorError> {
        let mut path = format!("/api/v4/leads/{id}");
        if !with.is_empty() {
            path = format!("{path}?with={}", with.join(","));
        }
        let body = self
            .request(Method::GET, &path, None)
            .await?
            .ok_or_else(|| not_found(&path))?;
        serde_json::from_value(body).map_err(|e| protocol("GET /api/v4/leads/{id}", e))
    }

    /// Batch add (`POST /api/v4/leads` with an array). Answers ids in request order.
    pub async fn add_leads(&self, leads: &[Value]) -> Result<Vec<Saved>, ConnectorError> {
        self.save(Method::POST, "/api/v4/leads", "leads", leads)
            .await
    }

    /// Batch update (`PATCH /api/v4/leads` with an array; each entry carries its `id`).
    pub async fn update_leads(&self, leads: &[Value]) -> Result<Vec<Saved>, ConnectorError> {
        self.save(Method::PATCH, "/api/v4/leads", "leads", leads)
            .await
    }

    /// Leads with their contact in one call (`POST /api/v4/leads/complex`, at most
    /// [`MAX_COMPLEX`]).
    pub async fn add_complex(&self, leads: &[Value]) -> Result<Vec<ComplexSaved>, ConnectorError> {
        if leads.len() > MAX_COMPLEX {
            return Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("POST /api/v4/leads/complex: {} leads given, amoCRM accepts at most {MAX_COMPLEX} per call; split the batch", leads.len()),
            ));
        }
        let body = Value::Array(leads.to_vec());
        let answer = self
            .request(Method::POST, "/api/v4/leads/complex", Some(&body))
            .await?
            .ok_or_else(|| protocol("POST /api/v4/leads/complex", "empty answer"))?;
        serde_json::from_value(answer).map_err(|e| protocol("POST /api/v4/leads/complex", e))
    }

    /// Contacts found by amoCRM's `query` search (name, e-mail, phone), all pages.
    pub async fn search_contacts(&self, query: &str) -> Result<Vec<ContactRecord>, ConnectorError> {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("query", query)
            .append_pair("limit", &MAX_LIMIT.to_string())
            .finish();
        self.all(&format!("/api/v4/contacts?{q}"), "contacts").await
    }

    /// Batch add contacts (`POST /api/v4/contacts`).
    pub async fn add_contacts(&self, contacts: &[Value]) -> Result<Vec<Saved>, ConnectorError> {
        self.save(Method::POST, "/api/v4/contacts", "contacts", contacts)
            .await
    }

    /// Every lead pipeline with its statuses.
    pub async fn pipelines(&self) -> Result<Vec<Pipeline>, ConnectorError> {
        self.all("/api/v4/leads/pipelines", "pipelines").await
    }

    /// The statuses of one pipeline.
    pub async fn statuses(&self, pipeline_id: u64) -> Result<Vec<Status>, ConnectorError> {
        self.all(
            &format!("/api/v4/leads/pipelines/{pipeline_id}/statuses"),
            "statuses",
        )
        .await
    }

    /// The custom fields defined on leads.
    pub async fn lead_custom_fields(&self) -> Result<Vec<CustomFieldDef>, ConnectorError> {
        self.all("/api/v4/leads/custom_fields?limit=250", "custom_fields")
            .await
    }

    /// Every catalog (list) of the account.
    pub async fn catalogs(&self) -> Result<Vec<Catalog>, ConnectorError> {
        self.all("/api/v4/catalogs", "catalogs").await
    }

    /// Elements of a catalog, optionally narrowed by `query` (amoCRM search), all pages.
    pub async fn catalog_elements(
        &self,
        catalog_id: u64,
        query: Option<&str>,
    ) -> Result<Vec<CatalogElement>, ConnectorError> {
        // Built in a block: the serializer is not `Send` and must not live across an await.
        let q = {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("limit", &MAX_LIMIT.to_string());
            if let Some(query) = query {
                q.append_pair("query", query);
            }
            q.finish()
        };
        self.all(
            &format!("/api/v4/catalogs/{catalog_id}/elements?{q}"),
            "elements",
        )
        .await
    }

    /// The custom fields of a catalog (`GET /api/v4/catalogs/{id}/custom_fields`).
    pub async fn catalog_custom_fields(
        &self,
        catalog_id: u64,
    ) -> Result<Vec<CustomFieldDef>, ConnectorError> {
        self.all(
            &format!("/api/v4/catalogs/{catalog_id}/custom_fields?limit={MAX_LIMIT}"),
            "custom_fields",
        )
        .await
    }

    /// One page (1-based, [`MAX_LIMIT`] elements) of a catalog's elements, narrowed by `query`
    /// (amoCRM's substring search) and/or `filter[id][]`.
    pub async fn catalog_elements_page(
        &self,
        catalog_id: u64,
        query: Option<&str>,
        ids: &[u64],
        page: u32,
    ) -> Result<HalPage<CatalogElement>, ConnectorError> {
        let q = {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("limit", &MAX_LIMIT.to_string());
            q.append_pair("page", &page.max(1).to_string());
            if let Some(query) = query {
                q.append_pair("query", query);
            }
            for id in ids {
                q.append_pair("filter[id][]", &id.to_string());
            }
            q.finish()
        };
        self.page(
            &format!("/api/v4/catalogs/{catalog_id}/elements?{q}"),
            "elements",
        )
        .await
    }

    /// The elements with these ids, [`MAX_LIMIT`] ids per call.
    pub async fn catalog_elements_by_ids(
        &self,
        catalog_id: u64,
        ids: &[u64],
    ) -> Result<Vec<CatalogElement>, ConnectorError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(MAX_LIMIT as usize) {
            out.extend(
                self.catalog_elements_page(catalog_id, None, chunk, 1)
                    .await?
                    .items,
            );
        }
        Ok(out)
    }

    /// Batch update catalog elements (`PATCH /api/v4/catalogs/{id}/elements`, each entry with
    /// its `id`).
    pub async fn update_catalog_elements(
        &self,
        catalog_id: u64,
        elements: &[Value],
    ) -> Result<Vec<Saved>, ConnectorError> {
        self.save(
            Method::PATCH,
            &format!("/api/v4/catalogs/{catalog_id}/elements"),
            "elements",
            elements,
        )
        .await
    }

    /// One lead, or `None` when amoCRM answers 204 (no such lead).
    pub async fn find_lead(&self, id: u64, with: &[&str]) -> Result<Option<Lead>, ConnectorError> {
        let mut path = format!("/api/v4/leads/{id}");
        if !with.is_empty() {
            path = format!("{path}?with={}", with.join(","));
        }
        match self.request(Method::GET, &path, None).await? {
            None => Ok(None),
            Some(body) => serde_json::from_value(body)
                .map(Some)
                .map_err(|e| protocol("GET /api/v4/leads/{id}", e)),
        }
    }

    /// Every note of a lead, optionally of one `note_type` (`filter[note_type]`).
    pub async fn lead_notes(
        &self,
        lead_id: u64,
        note_type: Option<&str>,
    ) -> Result<Vec<Note>, ConnectorError> {
        let mut path = format!("/api/v4/leads/{lead_id}/notes?limit={MAX_LIMIT}");
        if let Some(t) = note_type {
            path.push_str("&filter%5Bnote_type%5D=");
            path.push_str(t);
        }
        self.all(&path, "notes").await
    }

    /// Adds notes to a lead (`POST /api/v4/leads/{id}/notes` with an array).
    pub async fn add_lead_notes(
        &self,
        lead_id: u64,
        notes: &[Value],
    ) -> Result<Vec<Saved>, ConnectorError> {
        self.save(
            Method::POST,
            &format!("/api/v4/leads/{lead_id}/notes"),
            "notes",
            notes,
        )
        .await
    }

    /// Batch add catalog elements (`POST /api/v4/catalogs/{id}/elements`).
    pub async fn add_catalog_elements(
        &self,
        catalog_id: u64,
        elements: &[Value],
    ) -> Result<Vec<Saved>, ConnectorError> {
        self.save(
            Method::POST,
            &format!("/api/v4/catalogs/{catalog_id}/elements"),
            "elements",
            elements,
        )
        .await
    }

    /// Links entities to a lead (`POST /api/v4/leads/{id}/link`): catalog elements with
    /// `metadata.quantity`, contacts.
    pub async fn link_lead(
        &self,
        lead_id: u64,
        links: &[EntityLink],
    ) -> Result<(), ConnectorError> {
        if links.is_empty() {
            return Ok(());
        }
        let body = serde_json::to_value(links).map_err(|e| protocol("link", e))?;
        self.request(
            Method::POST,
            &format!("/api/v4/leads/{lead_id}/link"),
            Some(&body),
        )
        .await?;
        Ok(())
    }

    /// Removes links from a lead (`POST /api/v4/leads/{id}/unlink`).
    pub async fn unlink_lead(
        &self,
        lead_id: u64,
        links: &[EntityLink],
    ) -> Result<(), ConnectorError> {
        if links.is_empty() {
            return Ok(());
        }
        let body = serde_json::to_value(links).map_err(|e| protocol("unlink", e))?;
        self.request(
            Method::POST,
            &format!("/api/v4/leads/{lead_id}/unlink"),
            Some(&body),
        )
        .await?;
        Ok(())
    }

    /// The links of a lead (`GET /api/v4/leads/{id}/links`).
    pub async fn lead_links(&self, lead_id: u64) -> Result<Vec<EntityLink>, ConnectorError> {
        self.all(&format!("/api/v4/leads/{lead_id}/links"), "links")
            .await
    }

    async fn save(
        &self,
        method: Method,
        path: &str,
        key: &str,
        items: &[Value],
    ) -> Result<Vec<Saved>, ConnectorError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let what = format!("{method} {path}");
        let body = Value::Array(items.to_vec());
        let answer = self
            .request(method, path, Some(&body))
            .await?
            .ok_or_else(|| protocol(&what, "empty answer"))?;
        let coll: Collection = serde_json::from_value(answer).map_err(|e| protocol(&what, e))?;
        let saved: Vec<Saved> = coll
            .embedded
            .get(key)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()
            .map_err(|e| protocol(&what, e))?;
        if saved.len() != items.len() {
            return Err(protocol(
                &what,
                format!(
                    "sent {} entries, amoCRM answered {}",
                    items.len(),
                    saved.len()
                ),
            ));
        }
        Ok(saved)
    }
}

fn with_query(path: &str, q: &str) -> String {
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

fn check_limit(limit: Option<u32>) -> Result<(), ConnectorError> {
    match limit {
        Some(l) if l == 0 || l > MAX_LIMIT => Err(ConnectorError::new(
            ErrorKind::Invalid,
            SYSTEM,
            format!("GET /api/v4/leads: limit {l} is out of range; amoCRM accepts 1..={MAX_LIMIT}"),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn protocol(what: &str, e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Protocol,
        SYSTEM,
        format!("{what}: unexpected amoCRM answer: {e}"),
    )
}

fn not_found(path: &str) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::NotFound,
        SYSTEM,
        format!("GET {path}: amoCRM answered 204 No Content: no such record"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leads_query_encodes_filters() {
        let q = LeadsQuery {
            updated_from: Some(100),
            with: vec!["contacts".into(), "catalog_elements".into()],
            limit: Some(250),
            page: Some(2),
            ..Default::default()
        };
        assert_eq!(
            q.to_query(),
            "with=contacts%2Ccatalog_elements&page=2&limit=250&filter%5Bupdated_at%5D%5Bfrom%5D=100"
        );
    }

    #[test]
    fn next_link_stays_on_our_host() {
        let c = AmoClient::new(
            "https://ex.amocrm.ru/",
            "t",
            DEFAULT_LIMITS,
            Timeouts::default(),
        )
        .unwrap();
        assert_eq!(
            c.local_path("https://evil.example/api/v4/leads?page=3")
                .unwrap(),
            "/api/v4/leads?page=3"
        );
        assert_eq!(c.base_url(), "https://ex.amocrm.ru");
    }
}
