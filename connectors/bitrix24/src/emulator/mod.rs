//! A local Bitrix24 portal for tests and the sandbox: real HTTP on loopback, the webhook paths
//! `/rest/<user>/<token>/<method>[.json]`, Bitrix24's answers and error bodies, 50-row pages, the
//! per-portal leaky bucket (503 `QUERY_LIMIT_EXCEEDED`), `batch`, fault injection and call
//! counters. The client never knows it is not talking to a portal.
//!
//! Methods: `crm.deal.add/get/list/update/delete`, `crm.deal.productrows.set/get`,
//! `crm.contact.add/get/list/update`, `crm.status.list`, `batch`.

mod filter;
mod http;
pub mod limits;
mod methods;
mod server;
use dealbridge_sdk::emulator_server::ServerTask;
mod state;
mod timing;

pub use limits::BucketLimits;
pub use state::{default_stages, StageDef, StageSemantics};

use dealbridge_sdk::fault::{CallCounters, Faults};
use serde_json::Value;
use state::Portal;
use std::net::SocketAddr;
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
    portal: Mutex<Portal>,
}

impl Shared {
    fn portal(&self) -> MutexGuard<'_, Portal> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.portal.lock().unwrap_or_else(|p| p.into_inner())
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

    /// Changes the request bucket's limits (the current fill level is kept).
    pub fn set_limits(&self, limits: BucketLimits) {
        self.shared.bucket().set_limits(limits);
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
    let shared = Arc::new(Shared {
        user_id: config.user_id,
        token: config.token.clone(),
        faults: Faults::default(),
        counters: CallCounters::default(),
        bucket: Mutex::new(limits::LeakyBucket::new(config.limits)),
        portal: Mutex::new(Portal::new(config.user_id, config.stages.clone())),
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
