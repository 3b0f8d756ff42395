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

mod endpoints;
mod http;
mod limits;
mod request;
mod server;
use dealbridge_sdk::emulator_server::ServerTask;
mod state;

pub use state::{default_lead_fields, default_pipelines, FieldDef, PipelineDef, PRODUCTS_CATALOG};

use dealbridge_sdk::fault::{CallCounters, Faults};
use serde_json::Value;
use state::Account;
use std::net::SocketAddr;
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

/// State shared by the server and every handle.
pub(crate) struct Shared {
    token: String,
    faults: Faults,
    counters: CallCounters,
    window: Mutex<limits::SecondWindow>,
    account: Mutex<Account>,
}

impl Shared {
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

    /// Changes the requests-per-second limit.
    pub fn set_rate_per_second(&self, rate: u32) {
        self.shared.window().set_limit(rate);
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
        token: config.token.clone(),
        faults: Faults::default(),
        counters: CallCounters::default(),
        window: Mutex::new(limits::SecondWindow::new(config.rate_per_second)),
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
