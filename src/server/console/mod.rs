//! The operator console at `/`: the overview; the failed jobs with why and what to do (retry
//! one, retry all matching the filter with the current config and mapping, drop); the conflicts
//! waiting for a person (take a side); the journal (activity).
//! Closed by a token (`[server] console_token`, see [`auth`]); every action is a POST with the
//! session's CSRF token, is journalled (who, what, how many) and does nothing more when repeated.

pub mod auth;
pub mod detail;
pub mod exchanges;
pub mod onec;
pub mod pages;
pub mod reconcile;
pub mod record;

use crate::config::Config;
use crate::status::StatusReport;
use crate::sync::selection::{flow_of, journal_action, journal_operator, ErrorFilter, Selection};
use crate::sync::supervisor::Health;
use auth::{set_cookie, ConsoleAuth};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dealbridge_store::{ConflictFilter, ConflictState, Job, JobState, Store};
use pages::ErrorsQuery;
use std::str::FromStr;
use std::sync::Arc;
use tracing::{info, warn};

/// Most jobs the Errors page lists (the actions still reach every matching job).
const PAGE_JOBS: usize = 500;

/// What the console's handlers share.
#[derive(Clone)]
pub struct ConsoleState {
    /// The state database.
    pub store: Store,
    /// The loaded config (flows, for filters and grouping).
    pub config: Arc<Config>,
    /// The engine's loops, when an engine runs beside the server.
    pub health: Option<Arc<Health>>,
    /// Who may come in.
    pub auth: Arc<ConsoleAuth>,
    /// Runs a reconciliation from the Reconcile page, when an engine runs beside the server.
    pub reconciler: Option<crate::sync::reconcile::Reconciler>,
}

/// The console's routes.
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/errors", get(errors))
        .route("/errors/retry-all", post(retry_all))
        .route("/errors/drop-all", post(drop_all))
        .route("/errors/{id}", get(detail::job_detail))
        .route("/errors/{id}/retry", post(retry_one))
        .route("/errors/{id}/drop", post(drop_one))
        .route("/conflicts", get(conflicts))
        .route("/conflicts/{id}/take", post(take_side))
        .route("/conflicts/{id}/value", post(give_value))
        .route("/activity", get(activity))
        .route("/webhooks", get(webhooks))
        .route("/reconcile", get(reconcile::show))
        .route("/1c", get(onec::show))
        .route("/1c/apply-held", post(onec::apply_held))
        .route("/reconcile/run", post(reconcile::run))
        .with_state(state)
}

pub(crate) fn server_error(e: impl std::fmt::Display) -> Response {
    warn!(error = %e, "console request failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the state database did not answer: {e}\n"),
    )
        .into_response()
}

async fn overview(State(s): State<ConsoleState>, headers: HeaderMap) -> Response {
    if let Err(denied) = s.auth.session(&headers) {
        return denied.into_response();
    }
    let mut report = match StatusReport::gather(&s.store).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    if let Some(h) = &s.health {
        report.loops = h.snapshot();
    }
    let now = chrono::Utc::now();
    let (flows, hour, day) = match flow_rows(&s, &report).await {
        Ok(rows) => rows,
        Err(e) => return server_error(e),
    };
    let exchanges = match exchanges::last_exchanges(&s.store).await {
        Ok(x) => x,
        Err(e) => return server_error(e),
    };
    Html(pages::overview(
        &report,
        &flows,
        (hour, day),
        &exchanges,
        now,
    ))
    .into_response()
}

/// Per flow: its last successful poll, its waiting jobs and the oldest one; and the jobs done and
/// dead in the last hour and day.
async fn flow_rows(
    s: &ConsoleState,
    report: &StatusReport,
) -> Result<(Vec<pages::FlowRow>, (i64, i64), (i64, i64)), dealbridge_store::StoreError> {
    let waiting = Selection {
        states: vec![JobState::Pending, JobState::Running],
        ..Selection::default()
    }
    .jobs(&s.store, &s.config, None)
    .await?;
    let rows = s
        .config
        .flows
        .iter()
        .map(|f| {
            let mine: Vec<&Job> = waiting
                .iter()
                .filter(|j| flow_of(j, &s.config).as_deref() == Some(f.name.as_str()))
                .collect();
            let poll = report.loops.iter().find(|l| {
                l.name == format!("poll:{}", f.name) || l.name == format!("pull:{}", f.name)
            });
            pages::FlowRow {
                name: f.name.clone(),
                route: format!("{} → {}", f.from, f.to),
                last_poll: poll.and_then(|l| l.last_success),
                failing_since: poll.and_then(|l| l.failing_since),
                waiting: mine.len(),
                oldest: mine.iter().map(|j| j.created_at).min(),
                cursor: flow_cursor(report, &f.name),
            }
        })
        .collect();
    let now = chrono::Utc::now();
    let q = s.store.queue();
    let hour = q.finished_since(now - chrono::Duration::hours(1)).await?;
    let day = q.finished_since(now - chrono::Duration::days(1)).await?;
    Ok((rows, hour, day))
}

/// A flow's poll cursor (an order flow's or a CRM → store flow's) and when it last moved.
fn flow_cursor(
    report: &StatusReport,
    flow: &str,
) -> Option<(String, chrono::DateTime<chrono::Utc>)> {
    let names = [
        crate::sync::poll::cursor_name_of(flow),
        crate::sync::pull::cursor_name_of(flow),
    ];
    let c = report.cursors.iter().find(|c| names.contains(&c.name))?;
    let moved = chrono::DateTime::parse_from_rfc3339(&c.updated_at).ok()?;
    Some((c.value.clone(), moved.with_timezone(&chrono::Utc)))
}

async fn login_form() -> Response {
    pages::login(None).into_response()
}

/// The login form's fields.
#[derive(serde::Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(s): State<ConsoleState>, Form(f): Form<LoginForm>) -> Response {
    match s.auth.login(&f.token) {
        Some(session) => {
            info!("console login");
            (
                [(header::SET_COOKIE, set_cookie(&session))],
                Redirect::to("/"),
            )
                .into_response()
        }
        None => {
            warn!("console login with a wrong token");
            (StatusCode::UNAUTHORIZED, pages::login(Some("wrong token"))).into_response()
        }
    }
}

async fn logout(State(s): State<ConsoleState>, headers: HeaderMap) -> Response {
    s.auth.logout(&headers);
    Redirect::to("/login").into_response()
}

/// The jobs a query of the Errors page means: dead ones, or pending ones that failed before
/// (`retrying`), of a flow and error class.
fn selection(q: &ErrorsQuery) -> Result<(Selection, bool), String> {
    let retrying = q.state.as_deref() == Some("retrying");
    let error = q
        .class
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(ErrorFilter::from_str)
        .transpose()?;
    Ok((
        Selection {
            states: vec![if retrying {
                JobState::Pending
            } else {
                JobState::Dead
            }],
            flow: q.flow.clone().filter(|f| !f.is_empty()),
            error,
            kind: None,
        },
        retrying,
    ))
}

async fn matching(
    s: &ConsoleState,
    q: &ErrorsQuery,
    limit: Option<usize>,
) -> Result<Vec<Job>, Response> {
    let (sel, retrying) = selection(q).map_err(|e| (StatusCode::BAD_REQUEST, e).into_response())?;
    let jobs = sel
        .jobs(&s.store, &s.config, None)
        .await
        .map_err(server_error)?;
    Ok(jobs
        .into_iter()
        .filter(|j| !retrying || j.last_error_kind.is_some())
        .take(limit.unwrap_or(usize::MAX))
        .collect())
}

async fn errors(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Query(q): Query<ErrorsQuery>,
) -> Response {
    let session = match s.auth.session(&headers) {
        Ok(session) => session,
        Err(denied) => return denied.into_response(),
    };
    let jobs = match matching(&s, &q, Some(PAGE_JOBS)).await {
        Ok(jobs) => jobs,
        Err(r) => return r,
    };
    let mut records = std::collections::BTreeMap::new();
    for j in &jobs {
        match record::record_of(j, &s.config, &s.store).await {
            Ok(r) => records.insert(j.id, r),
            Err(e) => return server_error(e),
        };
    }
    Html(pages::errors(&s.config, &q, &jobs, &records, &session.csrf)).into_response()
}

/// A bulk action's form: the filter it was shown with, and the CSRF token.
#[derive(serde::Deserialize)]
struct BulkForm {
    csrf: String,
    #[serde(flatten)]
    query: ErrorsQuery,
}

/// Back to the Errors page with the same filter.
fn back(q: &ErrorsQuery) -> Response {
    let qs = serde_urlencoded_pairs(q);
    Redirect::to(&format!("/errors?{qs}")).into_response()
}

fn serde_urlencoded_pairs(q: &ErrorsQuery) -> String {
    let enc = |v: &Option<String>| {
        url::form_urlencoded::byte_serialize(v.as_deref().unwrap_or("").as_bytes())
            .collect::<String>()
    };
    format!(
        "state={}&flow={}&class={}",
        enc(&q.state),
        enc(&q.flow),
        enc(&q.class)
    )
}

async fn retry_all(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Form(f): Form<BulkForm>,
) -> Response {
    if let Err(denied) = s.auth.check_csrf(&headers, &f.csrf) {
        return denied.into_response();
    }
    let jobs = match matching(&s, &f.query, None).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let report = match s.store.queue().retry_many(&jobs).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let what = describe(&f.query, jobs.len());
    if let Err(e) = journal_action(&s.store, "console", "retry-all", &what, report.retried).await {
        return server_error(e);
    }
    info!(retried = report.retried, "console: retry all matching");
    back(&f.query)
}

async fn drop_all(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Form(f): Form<BulkForm>,
) -> Response {
    if let Err(denied) = s.auth.check_csrf(&headers, &f.csrf) {
        return denied.into_response();
    }
    let jobs = match matching(&s, &f.query, None).await {
        Ok(j) => j,
        Err(r) => return r,
    };
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let dropped = match s
        .store
        .queue()
        .drop_many(&ids, "dropped from the console")
        .await
    {
        Ok(n) => n,
        Err(e) => return server_error(e),
    };
    let what = describe(&f.query, jobs.len());
    if let Err(e) = journal_action(&s.store, "console", "drop-all", &what, dropped).await {
        return server_error(e);
    }
    back(&f.query)
}

/// A one-job action's form.
#[derive(serde::Deserialize)]
struct OneForm {
    csrf: String,
}

async fn retry_one(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<OneForm>,
) -> Response {
    if let Err(denied) = s.auth.check_csrf(&headers, &f.csrf) {
        return denied.into_response();
    }
    let n = match s.store.queue().retry(id).await {
        Ok(changed) => u64::from(changed),
        Err(dealbridge_store::StoreError::Superseded { .. }) => 0,
        Err(e) => return server_error(e),
    };
    if let Err(e) = journal_action(&s.store, "console", "retry", &format!("job {id}"), n).await {
        return server_error(e);
    }
    Redirect::to("/errors").into_response()
}

async fn drop_one(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<OneForm>,
) -> Response {
    if let Err(denied) = s.auth.check_csrf(&headers, &f.csrf) {
        return denied.into_response();
    }
    let n = match s
        .store
        .queue()
        .drop_job(id, "dropped from the console")
        .await
    {
        Ok(changed) => u64::from(changed),
        Err(e) => return server_error(e),
    };
    if let Err(e) = journal_action(&s.store, "console", "drop", &format!("job {id}"), n).await {
        return server_error(e);
    }
    Redirect::to("/errors").into_response()
}

/// Most rows the Conflicts and Activity pages list.
const PAGE_ROWS: u32 = 200;

async fn conflicts(State(s): State<ConsoleState>, headers: HeaderMap) -> Response {
    let session = match s.auth.session(&headers) {
        Ok(session) => session,
        Err(denied) => return denied.into_response(),
    };
    let filter = |state| ConflictFilter {
        state: Some(state),
        limit: PAGE_ROWS,
        ..ConflictFilter::default()
    };
    let open = s.store.conflicts(&filter(ConflictState::Open)).await;
    let decided = s.store.conflicts(&filter(ConflictState::Resolved)).await;
    match (open, decided) {
        (Ok(open), Ok(decided)) => {
            Html(pages::conflicts(&open, &decided, &session.csrf)).into_response()
        }
        (Err(e), _) | (_, Err(e)) => server_error(e),
    }
}

/// "Take this side" of a conflict.
#[derive(serde::Deserialize)]
struct TakeForm {
    csrf: String,
    side: String,
}

/// Resolves an open conflict with one side's value, as `conflicts resolve --take` does; the
/// next sync writes it to both systems. A second click finds it decided and changes nothing.
async fn take_side(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<TakeForm>,
) -> Response {
    if let Err(denied) = s.auth.check_csrf(&headers, &f.csrf) {
        return denied.into_response();
    }
    let c = match open_conflict(&s, id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let value = if f.side == c.ours_system {
        c.ours.clone()
    } else if f.side == c.theirs_system {
        c.theirs.clone()
    } else {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "conflict {id} is between `{}` and `{}`\n",
                c.ours_system, c.theirs_system
            ),
        )
            .into_response();
    };
    let reason = format!("{} taken in the console", f.side);
    decide(&s, &c, &f.side, &value, &reason).await
}

/// "Give the value yourself" of a conflict: JSON, as `conflicts resolve --value`.
#[derive(serde::Deserialize)]
struct ValueForm {
    csrf: String,
    value: String,
}

/// Resolves an open conflict with a value the operator writes (JSON; a stage is `"WON"`), as
/// `conflicts resolve --value` does. Text that is not JSON is refused and changes nothing.
async fn give_value(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<ValueForm>,
) -> Response {
    if let Err(denied) = s.auth.check_csrf(&headers, &f.csrf) {
        return denied.into_response();
    }
    let value: serde_json::Value = match serde_json::from_str(f.value.trim()) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("the value must be JSON (a text is quoted: \"WON\"): {e}\n"),
            )
                .into_response()
        }
    };
    let c = match open_conflict(&s, id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    decide(&s, &c, "custom", &value, "a value given in the console").await
}

/// The conflict `id`, or the answer saying it does not exist.
async fn open_conflict(s: &ConsoleState, id: i64) -> Result<dealbridge_store::Conflict, Response> {
    match s.store.conflict(id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err((StatusCode::NOT_FOUND, format!("no conflict {id}\n")).into_response()),
        Err(e) => Err(server_error(e)),
    }
}

/// Records the decision (once: a decided conflict is left as it is) and journals it.
async fn decide(
    s: &ConsoleState,
    c: &dealbridge_store::Conflict,
    chosen: &str,
    value: &serde_json::Value,
    reason: &str,
) -> Response {
    match s
        .store
        .resolve_conflict(c.id, chosen, Some(value), "console", reason)
        .await
    {
        Ok(changed) => {
            let what = format!("conflict {}: {reason}", c.id);
            let entity = (c.kind, c.entity_id.as_str());
            let n = u64::from(changed);
            if let Err(e) = journal_operator(&s.store, entity, "console", "resolve", &what, n).await
            {
                return server_error(e);
            }
            Redirect::to("/conflicts").into_response()
        }
        Err(e) => server_error(e),
    }
}

/// The Activity page's filter: what (entity kind), system, record text, and the page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ActivityQuery {
    /// An entity kind (`deal`, `catalog`, `exchange_1c`, `queue`, …); empty: any.
    #[serde(default)]
    pub what: String,
    /// A system's name; empty: any.
    #[serde(default)]
    pub system: String,
    /// Text the record's id contains; empty: any.
    #[serde(default)]
    pub record: String,
    /// Rows older than this id (the next page).
    #[serde(default)]
    pub before: Option<i64>,
}

async fn activity(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Query(q): Query<ActivityQuery>,
) -> Response {
    if let Err(denied) = s.auth.session(&headers) {
        return denied.into_response();
    }
    let kind = match q.what.trim() {
        "" => None,
        w => match dealbridge_store::EntityKind::from_str(w) {
            Ok(k) => Some(k),
            Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
        },
    };
    let text = |t: &str| Some(t.trim().to_string()).filter(|t| !t.is_empty());
    let filter = dealbridge_store::JournalFilter {
        kind,
        system: text(&q.system),
        entity_contains: text(&q.record),
        before: q.before,
        limit: PAGE_ROWS,
    };
    match s.store.journal_page(&filter).await {
        Ok(rows) => Html(pages::activity(&rows, &q, PAGE_ROWS as usize)).into_response(),
        Err(e) => server_error(e),
    }
}

async fn webhooks(State(s): State<ConsoleState>, headers: HeaderMap) -> Response {
    if let Err(denied) = s.auth.session(&headers) {
        return denied.into_response();
    }
    let (stats, rejected) = match (
        s.store.inbox_stats().await,
        s.store.webhook_rejections().await,
    ) {
        (Ok(stats), Ok(rejected)) => (stats, rejected),
        (Err(e), _) | (_, Err(e)) => return server_error(e),
    };
    let quiet: Vec<String> = s
        .config
        .systems
        .keys()
        .filter(|name| !stats.iter().any(|st| &st.source == *name))
        .cloned()
        .collect();
    Html(pages::webhooks(&stats, &quiet, &rejected)).into_response()
}

/// The filter in words, for the journal.
fn describe(q: &ErrorsQuery, matched: usize) -> String {
    format!(
        "state {}, flow {}, class {} ({matched} matched)",
        q.state.as_deref().unwrap_or("dead"),
        q.flow.as_deref().filter(|f| !f.is_empty()).unwrap_or("any"),
        q.class
            .as_deref()
            .filter(|c| !c.is_empty())
            .unwrap_or("any")
    )
}
