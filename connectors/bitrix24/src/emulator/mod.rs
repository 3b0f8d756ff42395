//! A local Bitrix24 portal for tests and the sandbox: real HTTP on loopback, the webhook paths
//! `/rest/<user>/<token>/<method>[.json]`, Bitrix24's answers and error bodies, 50-row pages, the
//! per-portal leaky bucket (503 `QUERY_LIMIT_EXCEEDED`), `batch`, fault injection and call
//! counters. The client never knows it is not talking to a portal.
//!
//! Methods: `crm.deal.add/get/list/update/delete`, `crm.deal.productrows.set/get`,
//! `crm.contact.add/get/list/update`, `crm.status.list`, `crm.product.add/get/list/update/delete`,
//! `crm.timeline.comment.add/list`, `event.offline.get/clear`, `crm.category.list`,
//! `crm.company.add/get/list/update`, `crm.requisite.add/list`,
//! `catalog.product.add/get/list/update`, `catalog.price.add/get/list/update/modify`, `batch`. Deal changes raise
//! `ONCRMDEALADD`/`ONCRMDEALUPDATE` (see [`EmulatorHandle::set_event_handler`]).

pub mod cli;
mod filter;
mod http;
pub mod limits;
mod methods;
pub mod operating;
pub mod sandbox;
mod server;
use dealbridge_sdk::emulator_server::ServerTask;
mod state;
mod timing;

pub use limits::BucketLimits;
pub use operating::OperatingLimits;
pub use state::{default_stages, StageDef, StageSemantics, CATALOG_IBLOCK_ID};

use dealbridge_sdk::fault::{CallCounters, Faults};
use serde_json::{json, Value};
use state::Portal;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// How the emulated portal is set up.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The webhook's user id (the `1` in `/rest/1/<token>/`).
    pub user_id: u64,
    /// The webhook's token.
    pub token: String,
    /// The request bucket.
    pub limits: BucketLimits,
    /// The per-method operating-time budget (`OPERATION_TIME_LIMIT`); free calls by default.
    pub operating: OperatingLimits,
    /// The deal stages of every pipeline.
    pub stages: Vec<StageDef>,
}

impl Default for EmulatorConfig {
    /// User 1, token `test`, standard-plan limits, the default pipeline's stages.
    fn default() -> Self {
        EmulatorConfig {
            user_id: 1,
            token: "test".into(),
            limits: BucketLimits::standard(),
            operating: OperatingLimits::default(),
            stages: default_stages(),
        }
    }
}

/// State shared by the server and every handle.
pub(crate) struct Shared {
    user_id: u64,
    token: String,
    faults: Faults,
    counters: CallCounters,
    bucket: Mutex<limits::LeakyBucket>,
    /// Per-method operating time behind 429 `OPERATION_TIME_LIMIT`.
    operating: Mutex<operating::OperatingMeter>,
    portal: Mutex<Portal>,
    /// Outgoing events to POST, in order, by one background task (like the portal's queue
    /// server, asynchronously after the request that raised them).
    events: tokio::sync::mpsc::UnboundedSender<(String, String)>,
    /// HTTP requests received (a `batch` is one).
    requests: AtomicU64,
    /// Requests refused with 503 `QUERY_LIMIT_EXCEEDED` by the bucket.
    throttled: AtomicU64,
    /// The OAuth app, when enabled.
    oauth: Mutex<Option<OAuthApp>>,
}

/// An installed OAuth app's credentials and tokens.
#[derive(Debug, Clone)]
struct OAuthApp {
    client_id: String,
    client_secret: String,
    access_token: String,
    refresh_token: String,
    /// Access tokens that were valid once (answered with `expired_token`).
    expired: Vec<String>,
    issued: u64,
    /// Whether the current access token came from the token endpoint (not the install).
    refreshed: bool,
    /// Calls received with a refreshed access token (see [`EmulatorHandle::refreshed_token_uses`]).
    refreshed_uses: u64,
    /// How long a call with a refreshed access token is held before it is answered.
    hold_refreshed: std::time::Duration,
}

impl Shared {
    fn portal(&self) -> MutexGuard<'_, Portal> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.portal.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn oauth_app(&self) -> MutexGuard<'_, Option<OAuthApp>> {
        self.oauth.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks an OAuth call's `auth` param: `Err` is the refusal to answer, `Ok` how long to
    /// hold the call first (see [`EmulatorHandle::hold_calls_with_refreshed_tokens`]).
    fn oauth_check(&self, token: Option<&str>) -> Result<std::time::Duration, methods::ApiFailure> {
        let mut app = self.oauth_app();
        let (Some(app), Some(token)) = (app.as_mut(), token) else {
            return Err(methods::ApiFailure::coded(
                401,
                "NO_AUTH_FOUND",
                "Wrong authorization data",
            ));
        };
        if token == app.access_token && app.refreshed {
            app.refreshed_uses += 1;
            return Ok(app.hold_refreshed);
        }
        Self::oauth_refusal(app, token).map_or(Ok(std::time::Duration::ZERO), Err)
    }

    /// Why a token is refused, or `None` when it is the current one.
    fn oauth_refusal(app: &OAuthApp, token: &str) -> Option<methods::ApiFailure> {
        if token == app.access_token {
            None
        } else if app.expired.iter().any(|t| t == token) {
            Some(methods::ApiFailure::coded(
                401,
                "expired_token",
                "The access token provided has expired.",
            ))
        } else {
            Some(methods::ApiFailure::coded(
                401,
                "invalid_token",
                "The access token provided is invalid.",
            ))
        }
    }

    /// The token endpoint's `refresh_token` grant: new access and refresh tokens; the old
    /// access token then answers `expired_token`, the old refresh token is spent.
    fn oauth_refresh(
        &self,
        grant: &str,
        client_id: &str,
        client_secret: &str,
        refresh: &str,
    ) -> Result<Value, (u16, &'static str, &'static str)> {
        let mut guard = self.oauth_app();
        let Some(app) = guard.as_mut() else {
            return Err((400, "invalid_client", "Invalid client id or secret"));
        };
        if grant != "refresh_token" {
            return Err((400, "unsupported_grant_type", "Unsupported grant type"));
        }
        if client_id != app.client_id || client_secret != app.client_secret {
            return Err((400, "invalid_client", "Invalid client id or secret"));
        }
        if refresh != app.refresh_token {
            return Err((400, "invalid_grant", "Invalid authorization code"));
        }
        app.issued += 1;
        let old = std::mem::replace(&mut app.access_token, format!("access-{}", app.issued));
        app.expired.push(old);
        app.refresh_token = format!("refresh-{}", app.issued);
        app.refreshed = true;
        let domain = self.portal().domain.clone();
        Ok(json!({
            "access_token": app.access_token,
            "expires": chrono::Utc::now().timestamp() + 3600,
            "expires_in": 3600,
            "scope": "crm",
            "domain": domain,
            "server_endpoint": "https://oauth.bitrix.info/rest/",
            "status": "L",
            "client_endpoint": format!("http://{domain}/rest/"),
            "member_id": "emulator0member0id",
            "user_id": self.user_id,
            "refresh_token": app.refresh_token,
        }))
    }

    /// Hands deliveries to the event task.
    fn deliver(&self, deliveries: Vec<(String, String)>) {
        for d in deliveries {
            // The task lives as long as the sender; a send can only fail at shutdown.
            let _ = self.events.send(d);
        }
    }

    fn operating(&self) -> MutexGuard<'_, operating::OperatingMeter> {
        self.operating.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bucket(&self) -> MutexGuard<'_, limits::LeakyBucket> {
        self.bucket.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Looks into and steers a running emulator. Cheap to clone.
#[derive(Clone)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
}

impl EmulatorHandle {
    /// The fault settings; change them with [`Faults::set`] at any time.
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// Calls per method (`crm.deal.add`, `batch`; a batch also counts each nested method).
    pub fn counters(&self) -> CallCounters {
        self.shared.counters.clone()
    }

    /// Every deal as `crm.deal.get` would return it, by id.
    pub fn deals(&self) -> Vec<Value> {
        self.shared
            .portal()
            .deals
            .values()
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// One deal as `crm.deal.get` would return it.
    pub fn deal(&self, id: u64) -> Option<Value> {
        self.shared
            .portal()
            .deals
            .get(&id)
            .map(|r| Value::Object(r.clone()))
    }

    /// A deal's product rows as `crm.deal.productrows.get` would return them.
    pub fn deal_rows(&self, id: u64) -> Vec<Value> {
        methods::render_rows(&self.shared.portal(), id)
    }

    /// Every contact as `crm.contact.get` would return it, by id.
    pub fn contacts(&self) -> Vec<Value> {
        self.shared
            .portal()
            .contacts
            .values()
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// How many deals exist.
    pub fn deal_count(&self) -> usize {
        self.shared.portal().deals.len()
    }

    /// HTTP requests received so far (a `batch` counts once, whatever it holds).
    pub fn http_requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Requests the leaky bucket refused (HTTP 503 `QUERY_LIMIT_EXCEEDED`), injected throttles
    /// not included.
    pub fn bucket_refusals(&self) -> u64 {
        self.shared.throttled.load(Ordering::Relaxed)
    }

    /// Every product (`crm.product.*`) as `crm.product.get` would return it, by id.
    pub fn products(&self) -> Vec<Value> {
        self.shared
            .portal()
            .products
            .values()
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// Every company as `crm.company.get` would return it, by id.
    pub fn companies(&self) -> Vec<Value> {
        self.shared
            .portal()
            .companies
            .values()
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// Every requisite as `crm.requisite.list` would return it, by id.
    pub fn requisites(&self) -> Vec<Value> {
        self.shared
            .portal()
            .requisites
            .values()
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// Adds a company as a manager would in the UI (not counted). Returns its id.
    pub fn manager_add_company(&self, fields: Value) -> Option<u64> {
        self.manager("crm.company.add", json!({ "fields": fields }))
            .and_then(|v| v.as_u64())
    }

    /// Deletes company `id` as a manager would in the UI (not counted); `false` if missing.
    pub fn manager_delete_company(&self, id: &str) -> bool {
        self.manager("crm.company.delete", json!({ "id": id }))
            .is_some()
    }

    /// Adds deal pipeline `id` (`crm.category.list` shows it; its stages are the emulator's
    /// stages as `C<id>:<STAGE>`).
    pub fn add_deal_category(&self, id: u64, name: &str, sort: i64) {
        self.shared
            .portal()
            .categories
            .insert(id, (name.to_string(), sort));
    }

    /// Every `catalog.product.*` product in the `list` shape (all fields), by id.
    pub fn catalog_products(&self) -> Vec<Value> {
        self.shared
            .portal()
            .catalog_products
            .values()
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// Every `catalog.price.*` price, by id.
    pub fn catalog_prices(&self) -> Vec<Value> {
        self.shared
            .portal()
            .catalog_prices
            .values()
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// Adds a price type (`catalogGroupId`); type 1 (base price) always exists.
    pub fn add_price_type(&self, id: u64) {
        let mut p = self.shared.portal();
        if !p.price_types.contains(&id) {
            p.price_types.push(id);
        }
    }

    /// Runs `method` as a manager or another integration would (not counted as our call);
    /// returns its `result`, `None` if it failed.
    pub fn manager_call(&self, method: &str, params: Value) -> Option<Value> {
        self.manager(method, params)
    }

    /// Adds a product as a manager would in the UI (not counted as an API call). Returns its id.
    pub fn manager_add_product(&self, fields: Value) -> Option<u64> {
        self.manager("crm.product.add", json!({ "fields": fields }))
            .and_then(|v| v.as_u64())
    }

    /// Every timeline comment as `crm.timeline.comment.list` would return it, by id.
    pub fn comments(&self) -> Vec<Value> {
        self.shared
            .portal()
            .comments
            .values()
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// Changes deal `id` as a manager would in the UI: the same rules as `crm.deal.update`
    /// (DATE_MODIFY moves, events fire), but not counted as one of our API calls. `false` if the
    /// deal does not exist or the change is refused.
    pub fn manager_update_deal(&self, id: u64, fields: Value) -> bool {
        self.manager("crm.deal.update", json!({ "id": id, "fields": fields }))
            .is_some()
    }

    /// Replaces deal `id`'s product rows as a manager would (rows in `crm.deal.productrows.set`
    /// shape); not counted as an API call.
    pub fn manager_set_rows(&self, id: u64, rows: Value) -> bool {
        self.manager(
            "crm.deal.productrows.set",
            json!({ "id": id, "rows": rows }),
        )
        .is_some()
    }

    fn manager(&self, method: &str, params: Value) -> Option<Value> {
        let uncounted = CallCounters::default();
        let mut portal = self.shared.portal();
        let mut ctx = methods::Ctx {
            portal: &mut portal,
            counters: &uncounted,
        };
        let p = methods::Params {
            value: params,
            cmd_order: Vec::new(),
        };
        let r = methods::dispatch(&mut ctx, method, &p);
        self.shared.deliver(portal.take_deliveries());
        r.ok().map(|ok| ok.result)
    }

    /// Sends deal events (`ONCRMDEALADD`, `ONCRMDEALUPDATE`) to `url` as the portal's outgoing
    /// webhook / `event.bind` handler does: a form-encoded POST after the change, carrying
    /// `auth[application_token]`. Without a handler, events queue for `event.offline.get`.
    pub fn set_event_handler(&self, url: &str, application_token: &str) {
        self.shared.portal().event_handler = Some(state::EventHandler {
            id: 1,
            url: url.to_string(),
            application_token: application_token.to_string(),
        });
    }

    /// Removes the event handler: later events queue for `event.offline.get`.
    pub fn clear_event_handler(&self) {
        self.shared.portal().event_handler = None;
    }

    /// Installs an OAuth app: calls to `/rest/<method>` with `auth=<access_token>` are then
    /// accepted, and `/oauth/token/` refreshes tokens (the emulator's stand-in for
    /// `https://oauth.bitrix.info/oauth/token/`).
    pub fn enable_oauth(
        &self,
        client_id: &str,
        client_secret: &str,
        access_token: &str,
        refresh_token: &str,
    ) {
        *self.shared.oauth_app() = Some(OAuthApp {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            access_token: access_token.into(),
            refresh_token: refresh_token.into(),
            expired: Vec::new(),
            issued: 0,
            refreshed: false,
            refreshed_uses: 0,
            hold_refreshed: std::time::Duration::ZERO,
        });
    }

    /// Holds every call made with a refreshed access token for `d` before answering it, so a
    /// test can stop the client while its first such call is in flight.
    pub fn hold_calls_with_refreshed_tokens(&self, d: std::time::Duration) {
        if let Some(app) = self.shared.oauth_app().as_mut() {
            app.hold_refreshed = d;
        }
    }

    /// Calls received with an access token the token endpoint issued (not the installed one).
    pub fn refreshed_token_uses(&self) -> u64 {
        self.shared
            .oauth_app()
            .as_ref()
            .map_or(0, |a| a.refreshed_uses)
    }

    /// Expires the current access token as an hour passing would: calls with it answer 401
    /// `expired_token` until the client refreshes.
    pub fn expire_access_token(&self) {
        if let Some(app) = self.shared.oauth_app().as_mut() {
            app.issued += 1;
            let old = std::mem::replace(&mut app.access_token, format!("unissued-{}", app.issued));
            app.expired.push(old);
            app.refreshed = false;
        }
    }

    /// The current OAuth tokens `(access, refresh)`, if an app is installed.
    pub fn oauth_tokens(&self) -> Option<(String, String)> {
        self.shared
            .oauth_app()
            .as_ref()
            .map(|a| (a.access_token.clone(), a.refresh_token.clone()))
    }

    /// How many offline events wait in the queue.
    pub fn offline_event_count(&self) -> usize {
        self.shared.portal().offline.len()
    }

    /// Changes the request bucket's limits (the current fill level is kept).
    pub fn set_limits(&self, limits: BucketLimits) {
        self.shared.bucket().set_limits(limits);
    }

    /// Changes the operating-time budget (what was charged is kept).
    pub fn set_operating_limits(&self, limits: OperatingLimits) {
        self.shared.operating().set_limits(limits);
    }

    /// Seconds of simulated execution time `method` has used in the current window.
    pub fn operating_seconds(&self, method: &str) -> f64 {
        self.shared.operating().state(method).operating
    }

    /// Calls of `method` refused with 429 `OPERATION_TIME_LIMIT`.
    pub fn operating_refused(&self, method: &str) -> u64 {
        self.shared.operating().refused(method)
    }

    /// Calls refused with 429 `OPERATION_TIME_LIMIT`, all methods.
    pub fn operating_refused_total(&self) -> u64 {
        self.shared.operating().refused_total()
    }
}

/// A running emulator. Stop it with [`RunningEmulator::shutdown`]; dropping it stops it too.
pub struct RunningEmulator {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The incoming-webhook URL to give the client: `http://127.0.0.1:PORT/rest/1/test/`.
    pub webhook_url: String,
    /// Inspection and fault control.
    pub handle: EmulatorHandle,
    server: ServerTask,
}

impl RunningEmulator {
    /// Stops accepting, closes open connections and waits for the server task to end.
    pub async fn shutdown(self) {
        self.server.stop().await;
    }
}

/// Starts an emulator on `addr` (port 0 picks a free port).
pub async fn spawn(config: EmulatorConfig, addr: SocketAddr) -> std::io::Result<RunningEmulator> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (events, mut queue) = tokio::sync::mpsc::unbounded_channel::<(String, String)>();
    tokio::spawn(async move {
        let http = dealbridge_sdk::http::client(dealbridge_sdk::http::Timeouts {
            connect: std::time::Duration::from_secs(2),
            request: std::time::Duration::from_secs(5),
        })
        .ok();
        while let Some((url, body)) = queue.recv().await {
            let Some(http) = &http else { continue };
            // Like the portal: no retries; a failed delivery is only logged.
            let sent = http
                .post(&url)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
                .send()
                .await;
            if let Err(e) = sent {
                tracing::debug!(error = %e.without_url(), "bitrix24 emulator: event delivery failed");
            }
        }
    });
    let mut portal = Portal::new(config.user_id, config.stages.clone());
    portal.domain = addr.to_string();
    let shared = Arc::new(Shared {
        user_id: config.user_id,
        token: config.token.clone(),
        faults: Faults::default(),
        counters: CallCounters::default(),
        bucket: Mutex::new(limits::LeakyBucket::new(config.limits)),
        operating: Mutex::new(operating::OperatingMeter::new(config.operating)),
        portal: Mutex::new(portal),
        events,
        requests: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
        oauth: Mutex::new(None),
    });
    let app = http::router(shared.clone());
    let server = ServerTask::start(listener, app, "bitrix24 emulator");
    Ok(RunningEmulator {
        addr,
        webhook_url: format!("http://{addr}/rest/{}/{}/", config.user_id, config.token),
        handle: EmulatorHandle { shared },
        server,
    })
}
