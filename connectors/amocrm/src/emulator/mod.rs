//! A local amoCRM account for tests and the sandbox: real HTTP on loopback, API v4 paths with
//! Bearer auth, HAL answers (`_page`, `_links`, `_embedded`), 204 for empty lists,
//! `problem+json` errors with `validation-errors`, the 7 requests/second limit (429), fault
//! injection and per-endpoint call counters. The client never knows it is not talking to
//! amoCRM.
//!
//! Endpoints: `GET/POST/PATCH /api/v4/leads`, `GET/PATCH /api/v4/leads/{id}`,
//! `POST /api/v4/leads/complex`, `GET /api/v4/leads/pipelines`,
//! `GET /api/v4/leads/pipelines/{id}/statuses`, `GET /api/v4/leads/custom_fields`,
//! `POST /api/v4/leads/{id}/link|unlink`, `GET /api/v4/leads/{id}/links`,
//! `GET/POST /api/v4/contacts`, `GET /api/v4/contacts/{id}`, `GET /api/v4/catalogs`,
//! `GET/POST /api/v4/catalogs/{id}/elements`.

pub mod cli;
mod endpoints;
mod http;
mod limits;
mod overload;
mod request;
mod server;
use dealbridge_sdk::emulator_server::ServerTask;
mod state;
mod webhooks;

pub use endpoints::catalogs::MAX_ELEMENTS_PER_WRITE;
pub use state::{
    default_catalog_fields, default_lead_fields, default_pipelines, FieldDef, PipelineDef,
    PRODUCTS_CATALOG,
};

use dealbridge_sdk::fault::{CallCounters, Faults};
use serde_json::Value;
use state::Account;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// How the emulated account is set up.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The subdomain (`example` of `example.amocrm.ru`); informational, links use the Host.
    pub subdomain: String,
    /// The Bearer token the account accepts.
    pub token: String,
    /// Requests admitted per one-second window (amoCRM: 7).
    pub rate_per_second: u32,
    /// Lead pipelines (142/143 are added to each).
    pub pipelines: Vec<PipelineDef>,
    /// Lead custom fields.
    pub lead_fields: Vec<FieldDef>,
    /// Account id in answers.
    pub account_id: u64,
}

impl Default for EmulatorConfig {
    /// Subdomain `example`, token `test`, 7 req/s, the fixture's pipeline, the dealbridge fields.
    fn default() -> Self {
        EmulatorConfig {
            subdomain: "example".into(),
            token: "test".into(),
            rate_per_second: 7,
            pipelines: default_pipelines(),
            lead_fields: default_lead_fields(),
            account_id: 28805383,
        }
    }
}

/// A manager's edit in the amoCRM UI ([`EmulatorHandle::manager_update_lead`]); `None` fields
/// are left as they are.
#[derive(Debug, Clone, Default)]
pub struct ManagerEdit {
    /// New name.
    pub name: Option<String>,
    /// New budget (integer).
    pub price: Option<i64>,
    /// New status (stage) id.
    pub status_id: Option<u64>,
    /// New pipeline id.
    pub pipeline_id: Option<u64>,
    /// Custom field values by field id (replaces that field's values).
    pub fields: Vec<(u64, Value)>,
}

/// State shared by the server and every handle.
pub(crate) struct Shared {
    /// The accepted Bearer token; an OAuth refresh replaces it.
    token: Mutex<String>,
    subdomain: String,
    oauth: Mutex<Option<OAuthState>>,
    webhook_url: Mutex<Option<String>>,
    hook_client: reqwest::Client,
    hooks_delivered: AtomicU64,
    hooks_failed: AtomicU64,
    faults: Faults,
    counters: CallCounters,
    window: Mutex<limits::SecondWindow>,
    /// The HTML page an overloaded account answers.
    overload: overload::Overload,
    account: Mutex<Account>,
}

/// The OAuth client the emulated account knows, and its current refresh token.
#[derive(Debug, Clone)]
pub(crate) struct OAuthState {
    client_id: String,
    client_secret: String,
    refresh_token: String,
    serial: u64,
}

impl Shared {
    fn current_token(&self) -> String {
        self.token.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn webhook_url(&self) -> Option<String> {
        self.webhook_url
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn account(&self) -> MutexGuard<'_, Account> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.account.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn window(&self) -> MutexGuard<'_, limits::SecondWindow> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
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

    /// Calls per endpoint, keyed `METHOD /route` (`POST /api/v4/leads`,
    /// `POST /api/v4/leads/{id}/link`).
    pub fn counters(&self) -> CallCounters {
        self.shared.counters.clone()
    }

    /// Every lead as `GET /api/v4/leads/{id}?with=contacts,catalog_elements` answers it.
    pub fn leads(&self) -> Vec<Value> {
        let acc = self.shared.account();
        acc.leads
            .values()
            .map(|l| acc.render_lead("http://emulator", l, true, true))
            .collect()
    }

    /// Every contact (without `_links`).
    pub fn contacts(&self) -> Vec<Value> {
        self.shared
            .account()
            .contacts
            .values()
            .map(|c| Value::Object(c.clone()))
            .collect()
    }

    /// Catalog elements linked to a lead: `(element id, quantity)`.
    pub fn links(&self, lead_id: u64) -> Vec<(u64, Value)> {
        self.shared
            .account()
            .leads
            .get(&lead_id)
            .map(|l| {
                l.elements
                    .iter()
                    .map(|e| (e.element, e.quantity.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Catalog elements (without `_links`).
    pub fn elements(&self) -> Vec<Value> {
        self.shared
            .account()
            .elements
            .values()
            .map(|e| Value::Object(e.clone()))
            .collect()
    }

    /// How many leads exist.
    pub fn lead_count(&self) -> usize {
        self.shared.account().leads.len()
    }

    /// Sets a lead's `updated_at` (tests of `filter[updated_at]` without waiting seconds).
    pub fn set_lead_updated_at(&self, lead_id: u64, unix: i64) {
        if let Some(l) = self.shared.account().leads.get_mut(&lead_id) {
            l.fields.insert("updated_at".into(), unix.into());
        }
    }

    /// Custom field values of a lead, as `(field code, first value)` (tests).
    pub fn lead(&self, lead_id: u64) -> Option<Value> {
        let acc = self.shared.account();
        acc.leads
            .get(&lead_id)
            .map(|l| acc.render_lead("http://emulator", l, true, true))
    }

    /// The notes of a lead, oldest first.
    pub fn notes(&self, lead_id: u64) -> Vec<Value> {
        self.shared
            .account()
            .notes
            .get(&lead_id)
            .into_iter()
            .flatten()
            .map(|n| Value::Object(n.clone()))
            .collect()
    }

    /// What a manager does in the amoCRM UI: changes a lead without any API call (nothing is
    /// counted), moves `updated_at` forward (at least one second past its previous value, so
    /// `filter[updated_at][from]` sees it) and fires the lead's `update` (and `status`, when
    /// the status moved) webhooks. Returns `false` if there is no such lead.
    pub fn manager_update_lead(&self, lead_id: u64, edit: ManagerEdit) -> bool {
        {
            let mut acc = self.shared.account();
            let Some(row) = acc.leads.get_mut(&lead_id) else {
                return false;
            };
            let old_status = row.fields.get("status_id").cloned();
            let prev = row.fields["updated_at"].as_i64().unwrap_or(0);
            if let Some(n) = edit.name {
                row.fields.insert("name".into(), n.into());
            }
            if let Some(p) = edit.price {
                row.fields.insert("price".into(), p.into());
            }
            if let Some(s) = edit.status_id {
                row.fields.insert("status_id".into(), s.into());
            }
            if let Some(p) = edit.pipeline_id {
                row.fields.insert("pipeline_id".into(), p.into());
            }
            if !edit.fields.is_empty() {
                let mut cf = row
                    .fields
                    .get("custom_fields_values")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for (id, v) in edit.fields {
                    cf.retain(|f| f["field_id"] != serde_json::json!(id));
                    cf.push(serde_json::json!({ "field_id": id, "values": [{ "value": v }] }));
                }
                row.fields
                    .insert("custom_fields_values".into(), Value::Array(cf));
            }
            let t = state::now().max(prev + 1);
            row.fields.insert("updated_at".into(), t.into());
            acc.queue_update(lead_id, old_status);
        }
        webhooks::flush(&self.shared);
        true
    }

    /// Where lead events are posted (form-encoded, asynchronously); `None` stops them.
    pub fn set_webhook_url(&self, url: Option<&str>) {
        *self
            .shared
            .webhook_url
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = url.map(str::to_string);
    }

    /// Webhook deliveries answered 2xx, and the others (refused or unreachable).
    pub fn webhook_deliveries(&self) -> (u64, u64) {
        (
            self.shared.hooks_delivered.load(Ordering::SeqCst),
            self.shared.hooks_failed.load(Ordering::SeqCst),
        )
    }

    /// Turns on `POST /oauth2/access_token` for one integration with its current refresh token.
    pub fn enable_oauth(&self, client_id: &str, client_secret: &str, refresh_token: &str) {
        *self.shared.oauth.lock().unwrap_or_else(|p| p.into_inner()) = Some(OAuthState {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            refresh_token: refresh_token.into(),
            serial: 0,
        });
    }

    /// The refresh token the account accepts now (after rotations).
    pub fn current_refresh_token(&self) -> Option<String> {
        self.shared
            .oauth
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|o| o.refresh_token.clone())
    }

    /// Expires the access token: every call answers 401 until the client refreshes.
    pub fn expire_access_token(&self) {
        *self.shared.token.lock().unwrap_or_else(|p| p.into_inner()) =
            format!("expired-{}", state::now());
    }

    /// Changes the requests-per-second limit.
    pub fn set_rate_per_second(&self, rate: u32) {
        self.shared.window().set_limit(rate);
    }

    /// Requests refused with 429 by the per-second window so far.
    pub fn window_refusals(&self) -> u64 {
        self.shared.window().refused()
    }

    /// Answers the next `n` requests (past the window) with an overloaded account's HTML page
    /// (HTTP 503, `text/html`) instead of serving them.
    pub fn answer_html_for_next(&self, n: u64) {
        self.shared.overload.next(n);
    }

    /// Answers every `k`-th request with the HTML page (0 stops).
    pub fn answer_html_every(&self, k: u64) {
        self.shared.overload.every(k);
    }

    /// HTML pages answered so far.
    pub fn html_pages_served(&self) -> u64 {
        self.shared.overload.served()
    }
}

/// A running emulator. Stop it with [`RunningEmulator::shutdown`]; dropping it stops it too.
pub struct RunningEmulator {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The base URL to give the client: `http://127.0.0.1:PORT`.
    pub base_url: String,
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
    let shared = Arc::new(Shared {
        token: Mutex::new(config.token.clone()),
        subdomain: config.subdomain.clone(),
        oauth: Mutex::new(None),
        webhook_url: Mutex::new(None),
        hook_client: dealbridge_sdk::http::client(dealbridge_sdk::http::Timeouts {
            connect: std::time::Duration::from_secs(2),
            request: std::time::Duration::from_secs(5),
        })
        .map_err(std::io::Error::other)?,
        hooks_delivered: AtomicU64::new(0),
        hooks_failed: AtomicU64::new(0),
        faults: Faults::default(),
        counters: CallCounters::default(),
        window: Mutex::new(limits::SecondWindow::new(config.rate_per_second)),
        overload: overload::Overload::default(),
        account: Mutex::new(Account::new(
            config.account_id,
            config.pipelines.clone(),
            config.lead_fields.clone(),
        )),
    });
    let app = http::router(shared.clone());
    let server = ServerTask::start(listener, app, "amocrm emulator");
    Ok(RunningEmulator {
        addr,
        base_url: format!("http://{addr}"),
        handle: EmulatorHandle { shared },
        server,
    })
}
