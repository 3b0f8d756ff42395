//! The 1C exchange endpoint (`type=catalog|sale`, `mode=checkauth|init|file|import|query|
//! success|deactivate|complete|info`), speaking the protocol exactly as 1C and Bitrix do.
//!
//! Every answer is plain text whose first line is `success`, `progress` or `failure` (the
//! `init` parameters and the `query` XML excepted, as in the protocol) — also for bad requests,
//! panics and timeouts, because 1C aborts with "unknown status" on anything else.

mod answer;
mod files;
mod importer;
mod jobs;
mod measured;
mod session;
mod unzip;

pub use answer::Answer;
pub use files::confine;
pub use importer::{ExchangeImporter, ImportedFile};
pub use session::COOKIE_NAME;
pub use unzip::ZipLimits;

use super::config::{Exchange1cConfig, OrderEncoding};
use crate::writer::{write_orders, OrderExport, OutputEncoding, WriterOptions};
use crate::ExchangeType;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use dealbridge_sdk::config::Secret;
use jobs::{ImportJobs, JobState};
use session::Sessions;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the endpoint (from `[exchange_1c]`, plus knobs tests turn).
#[derive(Debug, Clone)]
pub struct ExchangeSettings {
    /// URL path of the endpoint.
    pub path: String,
    /// HTTP Basic user.
    pub login: String,
    /// HTTP Basic password.
    pub password: Secret,
    /// Upload directory; each exchange type gets a sub-directory.
    pub dir: PathBuf,
    /// Largest request body (answered as `file_limit`).
    pub file_limit: u64,
    /// Bound on all bytes uploaded plus unpacked in one exchange of one type.
    pub max_upload: u64,
    /// Offer `zip=yes`.
    pub zip: bool,
    /// Most entries in an uploaded archive.
    pub max_zip_entries: usize,
    /// Encoding of the `query` XML.
    pub order_encoding: OrderEncoding,
    /// How long one `import` request waits for the background import before answering
    /// `progress` (bounded work per request keeps 1C's HTTP timeout away).
    pub import_slice: Duration,
    /// Longest any request may take before it is answered `failure`.
    pub request_timeout: Duration,
    /// The site's order statuses as (id, name), answered to `mode=info` so 1C can fill its
    /// status matching table.
    pub info_statuses: Vec<(String, String)>,
}

impl ExchangeSettings {
    /// Settings from the config section, with defaults for the rest.
    pub fn from_config(c: &Exchange1cConfig) -> Self {
        ExchangeSettings {
            path: c.path.clone(),
            login: c.login.clone(),
            password: c.password.clone(),
            dir: c.dir.clone(),
            file_limit: c.file_limit,
            max_upload: c.max_upload,
            zip: c.zip,
            max_zip_entries: 10_000,
            order_encoding: c.order_encoding,
            import_slice: Duration::from_secs(2),
            request_timeout: Duration::from_secs(120),
            info_statuses: Vec::new(),
        }
    }
}

/// Shared state of the endpoint.
#[derive(Clone)]
pub struct ExchangeState {
    inner: Arc<Inner>,
}

struct Inner {
    settings: ExchangeSettings,
    importer: Arc<dyn ExchangeImporter>,
    sessions: Sessions,
    jobs: ImportJobs,
}

impl ExchangeState {
    /// State for `settings`, importing through `importer`.
    pub fn new(settings: ExchangeSettings, importer: Arc<dyn ExchangeImporter>) -> Self {
        ExchangeState {
            inner: Arc::new(Inner {
                importer,
                sessions: Sessions::persisted(settings.dir.join(".sessions")),
                jobs: ImportJobs::default(),
                settings,
            }),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &ExchangeSettings {
        &self.inner.settings
    }
}

/// A router serving the endpoint at `settings.path` (any method: 1C GETs, uploads by POST).
/// Merge it into the main router.
pub fn router<S: Clone + Send + Sync + 'static>(state: ExchangeState) -> Router<S> {
    let path = state.inner.settings.path.clone();
    Router::new().route(&path, any(endpoint)).with_state(state)
}

/// Runs the request in its own task so that a panic (or a stuck import) becomes a `failure`
/// answer instead of a dropped connection or an empty body.
async fn endpoint(
    State(state): State<ExchangeState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            // An exchange URL typed into 1C with its own `?` (`/ex?get_param`) makes 1C send
            // `?get_param?type=catalog&…`; the key after the last `?` is the real one.
            .map(|(k, v)| match k.rsplit_once('?') {
                Some((_, real)) => (real.to_string(), v),
                None => (k, v),
            })
            .collect();
    let timeout = state.inner.settings.request_timeout;
    let task = tokio::spawn(dispatch(state, params, headers, body));
    let answer = match tokio::time::timeout(timeout, task).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "1C exchange request panicked");
            Answer::failure(
                "internal error in dealbridge; see the dealbridge log and retry the exchange",
            )
        }
        Err(_) => Answer::failure(format!(
            "request took longer than {}s; retry the exchange",
            timeout.as_secs()
        )),
    };
    answer.into_response()
}

async fn dispatch(
    state: ExchangeState,
    params: HashMap<String, String>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let s = &state.inner;
    let kind = params.get("type").map(String::as_str).unwrap_or("");
    let mode = params.get("mode").map(String::as_str).unwrap_or("");
    let kind: ExchangeType = match kind.parse() {
        Ok(kind) => kind,
        Err(reason) => return Answer::failure(reason),
    };
    if mode == "checkauth" {
        return checkauth(s, &headers);
    }
    let Some(cookie) = s.sessions.find(&headers) else {
        return Answer::failure(format!(
            "not authorised: missing or unknown {COOKIE_NAME} cookie; start with mode=checkauth"
        ));
    };
    let filename = params.get("filename").map(String::as_str);
    match (kind, mode) {
        (_, "init") => {
            let version = params.get("version").cloned();
            if let Err(reason) = s.importer.begin_exchange(kind, version.as_deref()).await {
                return Answer::failure(format!("cannot start the exchange: {reason}"));
            }
            init(s, &cookie, kind, version)
        }
        (_, "file") => file(s, &cookie, kind, filename, body).await,
        (_, "import") => {
            let exchange = exchange_id(s, &cookie);
            import(s, kind, filename, exchange).await
        }
        (ExchangeType::Sale, "query") => query(s, &cookie).await,
        (ExchangeType::Sale, "success") => confirm(s, &cookie).await,
        (_, "deactivate") | (_, "complete") => match s.importer.finish_exchange(kind).await {
            Ok(summary) => Answer::Success(vec![format!("{mode}: done"), summary]),
            Err(reason) => Answer::failure(format!("{mode} failed: {reason}")),
        },
        // Bitrix answers the status / payment system / delivery directory 1C reads to fill its
        // matching tables (`Справочник`); see crate::writer::write_info.
        (_, "info") => Answer::Xml(
            crate::writer::write_info(&s.settings.info_statuses, &[], &[]),
            "application/xml; charset=utf-8",
        ),
        _ => Answer::failure(format!("unknown mode \"{mode}\" for type={kind}")),
    }
}

fn checkauth(s: &Inner, headers: &HeaderMap) -> Answer {
    if !session::basic_matches(headers, &s.settings.login, s.settings.password.expose()) {
        return Answer::failure(
            "wrong login or password; check the exchange settings in 1C against [exchange_1c] in dealbridge.toml",
        );
    }
    let (cookie, sessid) = s.sessions.open();
    let now = chrono::Utc::now().timestamp();
    Answer::Success(vec![
        COOKIE_NAME.to_string(),
        cookie,
        format!("sessid={sessid}"),
        format!("timestamp={now}"),
    ])
}

fn type_dir(s: &Inner, kind: ExchangeType) -> PathBuf {
    s.settings.dir.join(kind.as_str())
}

fn init(s: &Inner, cookie: &str, kind: ExchangeType, version: Option<String>) -> Answer {
    let dir = type_dir(s, kind);
    if let Err(e) = files::reset_dir(&dir) {
        return Answer::failure(format!(
            "cannot clear the upload directory {}: {e}; check permissions",
            dir.display()
        ));
    }
    s.jobs.clear(kind.as_str());
    let sessid = s
        .sessions
        .with(cookie, |sess| {
            sess.version = version.clone();
            sess.sessid.clone()
        })
        .unwrap_or_default();
    let mut text = format!(
        "zip={}\nfile_limit={}",
        if s.settings.zip { "yes" } else { "no" },
        s.settings.file_limit
    );
    if let Some(v) = version {
        text.push_str(&format!("\nsessid={sessid}\nversion={v}"));
    }
    Answer::Raw(text)
}

async fn file(
    s: &Inner,
    cookie: &str,
    kind: ExchangeType,
    filename: Option<&str>,
    body: Body,
) -> Answer {
    let Some(name) = filename else {
        return Answer::failure("mode=file needs filename=");
    };
    let rel = match confine(name) {
        Ok(rel) => rel,
        Err(why) => return Answer::failure(why),
    };
    let limit = s.settings.file_limit as usize;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return Answer::failure(format!(
                "the upload of {name} is larger than file_limit={limit} bytes or was cut off; nothing was kept"
            ))
        }
    };
    let dir = type_dir(s, kind);
    let used = files::dir_size(&dir);
    if used + bytes.len() as u64 > s.settings.max_upload {
        // The file is incomplete for good: drop what arrived of it too.
        let _ = std::fs::remove_file(dir.join(&rel));
        return Answer::failure(format!(
            "the exchange exceeds max_upload={} bytes at {name}; nothing of it was kept; raise max_upload in [exchange_1c]",
            s.settings.max_upload
        ));
    }
    if let Err(e) = files::append(&dir, &rel, &bytes) {
        return Answer::failure(format!("cannot store {name}: {e}; check disk space"));
    }
    let old_protocol = s
        .sessions
        .with(cookie, |sess| sess.version.is_none())
        .unwrap_or(false);
    if kind == ExchangeType::Sale && old_protocol && !files::is_zip(&dir.join(&rel)) {
        // Old protocol (no version at init): 1C sends no mode=import for sale files, the site
        // imports at upload time.
        let exchange = exchange_id(s, cookie);
        let path = dir.join(&rel);
        return match measured::import_file(s.importer.as_ref(), kind, &path, &exchange, name).await
        {
            Ok(summary) => Answer::success(summary),
            Err(reason) => Answer::failure(reason),
        };
    }
    Answer::success(format!("received {} bytes of {name}", bytes.len()))
}

/// Unpacks every archive waiting in `dir` (1C uploads one zip, then imports the names inside).
async fn unpack_pending(s: &Inner, dir: &std::path::Path) -> Result<Vec<PathBuf>, String> {
    let limits = ZipLimits {
        max_entries: s.settings.max_zip_entries,
        max_total: s.settings.max_upload,
    };
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut unpacked = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(unpacked);
        };
        for e in entries.flatten() {
            let path = e.path();
            if !e.file_type().map(|t| t.is_file()).unwrap_or(false) || !files::is_zip(&path) {
                continue;
            }
            let result = unzip::unpack(&path, &dir, limits);
            // Unpacked or hostile: the archive itself is not needed any more.
            let _ = std::fs::remove_file(&path);
            unpacked.extend(result?);
        }
        Ok(unpacked)
    })
    .await
    .map_err(|e| format!("unpacking failed: {e}"))?
}

/// The exchange a session's requests belong to, for the record: its `sessid`.
fn exchange_id(s: &Inner, cookie: &str) -> String {
    s.sessions
        .with(cookie, |sess| sess.sessid.clone())
        .unwrap_or_default()
}

async fn import(s: &Inner, kind: ExchangeType, filename: Option<&str>, exchange: String) -> Answer {
    let Some(name) = filename else {
        return Answer::failure("mode=import needs filename=");
    };
    let rel = match confine(name) {
        Ok(rel) => rel,
        Err(why) => return Answer::failure(why),
    };
    let dir = type_dir(s, kind);
    let unpacked = match unpack_pending(s, &dir).await {
        Ok(u) => u,
        Err(reason) => return Answer::failure(reason),
    };
    let path = dir.join(&rel);
    if !path.is_file() {
        if files::is_zip(&path) && !unpacked.is_empty() {
            return Answer::success(format!("unpacked {} files from {name}", unpacked.len()));
        }
        return Answer::failure(format!(
            "{name} was not uploaded in this exchange (mode=file first)"
        ));
    }
    let key = (kind.to_string(), name.to_string());
    let done = match s.jobs.state(&key) {
        Some(JobState::Running(rx)) => rx,
        Some(JobState::Done(result)) => return finished(s, &key, name, result),
        None => {
            let importer = Arc::clone(&s.importer);
            let name = name.to_string();
            s.jobs.start(key.clone(), move || async move {
                measured::import_file(importer.as_ref(), kind, &path, &exchange, &name).await
            })
        }
    };
    match s.jobs.wait(&key, done, s.settings.import_slice).await {
        Some(result) => finished(s, &key, name, result),
        None => Answer::Progress(format!("importing {name}")),
    }
}

fn finished(
    s: &Inner,
    key: &(String, String),
    name: &str,
    result: Result<String, String>,
) -> Answer {
    s.jobs.forget(key);
    match result {
        Ok(summary) => Answer::Success(vec![format!("imported {name}"), summary]),
        Err(reason) => Answer::failure(format!("import of {name} failed: {reason}")),
    }
}

async fn query(s: &Inner, cookie: &str) -> Answer {
    let orders = match s.importer.orders_for_export().await {
        Ok(o) => o,
        Err(reason) => return Answer::failure(format!("cannot list orders for 1C: {reason}")),
    };
    let ids: Vec<String> = orders.iter().map(|o| o.source.id.clone()).collect();
    let exports: Vec<OrderExport> = orders
        .into_iter()
        .map(|order| OrderExport {
            order,
            payment: None,
            status: None,
        })
        .collect();
    let (encoding, content_type) = match s.settings.order_encoding {
        OrderEncoding::Utf8Bom => (OutputEncoding::Utf8Bom, "application/xml; charset=utf-8"),
        OrderEncoding::Utf8 => (OutputEncoding::Utf8, "application/xml; charset=utf-8"),
        OrderEncoding::Windows1251 => (
            OutputEncoding::Windows1251,
            "application/xml; charset=windows-1251",
        ),
    };
    let options = WriterOptions {
        encoding,
        ..WriterOptions::default()
    };
    match write_orders(&exports, &options) {
        Ok(xml) => {
            s.sessions.with(cookie, |sess| sess.sent_orders = ids);
            Answer::Xml(xml, content_type)
        }
        Err(e) => Answer::failure(format!("cannot write the orders XML: {e}")),
    }
}

async fn confirm(s: &Inner, cookie: &str) -> Answer {
    let ids = s
        .sessions
        .with(cookie, |sess| std::mem::take(&mut sess.sent_orders))
        .unwrap_or_default();
    if ids.is_empty() {
        return Answer::success("no orders to confirm");
    }
    match s.importer.mark_exported(&ids).await {
        Ok(()) => Answer::success(format!("{} orders marked exported", ids.len())),
        Err(reason) => {
            // Keep them: a retried `success` must still confirm these orders.
            s.sessions.with(cookie, |sess| sess.sent_orders = ids);
            Answer::failure(format!("cannot mark orders exported: {reason}"))
        }
    }
}
