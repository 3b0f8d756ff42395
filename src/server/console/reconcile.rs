//! The console's Reconcile page: the last reconciliation of each scope (from the journal, so
//! a nightly schedule's run and a `dealbridge reconcile` from a shell both show), its
//! differences with both values and the fix each proposes, and a button to run one now
//! (report only, or queueing the fixes).

use super::pages::{page, when};
use super::{server_error, ConsoleState};
use crate::server::html::escape;
use crate::sync::selection::journal_action;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use dealbridge_store::{EntityKind, JournalRow};
use serde_json::Value;
use std::fmt::Write;
use tracing::{info, warn};

/// The window a run from the console compares.
const WINDOW_DAYS: i64 = 30;

/// `GET /reconcile`.
pub async fn show(State(s): State<ConsoleState>, headers: HeaderMap) -> Response {
    let session = match s.auth.session(&headers) {
        Ok(session) => session,
        Err(denied) => return denied.into_response(),
    };
    match s
        .store
        .journal_latest_per_entity(EntityKind::Reconcile)
        .await
    {
        Ok(rows) => Html(render(&rows, s.reconciler.is_some(), &session.csrf)).into_response(),
        Err(e) => server_error(e),
    }
}

/// The "run now" form.
#[derive(serde::Deserialize)]
pub struct RunForm {
    csrf: String,
    /// `"1"` to queue the fixes too.
    #[serde(default)]
    fix: Option<String>,
}

/// `POST /reconcile/run`: starts a run in the background (a large window takes minutes at the
/// vendors' budgets) and comes back to the page, where the run shows once it is journalled.
pub async fn run(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Form(f): Form<RunForm>,
) -> Response {
    if let Err(denied) = s.auth.check_csrf(&headers, &f.csrf) {
        return denied.into_response();
    }
    let Some(reconciler) = s.reconciler.clone() else {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "no engine runs beside this console; run `dealbridge reconcile` instead\n",
        )
            .into_response();
    };
    let fix = f.fix.as_deref() == Some("1");
    let what = if fix { "run with fixes" } else { "run" };
    if let Err(e) = journal_action(&s.store, "console", "reconcile", what, 1).await {
        return server_error(e);
    }
    tokio::spawn(async move {
        let since = chrono::Utc::now() - chrono::Duration::days(WINDOW_DAYS);
        match reconciler.run(None, since, fix).await {
            Ok(r) => info!(
                differences = r.differences.len(),
                fix, "console: reconcile done"
            ),
            Err(e) => warn!(error = %e, "console: reconcile failed; the next run retries"),
        }
    });
    Redirect::to("/reconcile").into_response()
}

/// The page: one section per scope's last run.
fn render(rows: &[JournalRow], can_run: bool, csrf: &str) -> String {
    let mut b = String::new();
    if can_run {
        let _ = write!(
            b,
            "<form method=post action=\"/reconcile/run\"><input type=hidden name=csrf value=\"{c}\">\
             <button>Compare now (last {WINDOW_DAYS} days)</button></form> \
             <form method=post action=\"/reconcile/run\"><input type=hidden name=csrf value=\"{c}\">\
             <input type=hidden name=fix value=1><button>Compare and queue the fixes</button></form>\
             <p>A run reads both systems at their budgets; reload to see it once it is done.</p>",
            c = escape(csrf)
        );
    }
    if rows.is_empty() {
        b.push_str("<p>No reconciliation has run yet: <code>dealbridge reconcile</code>, or <code>reconcile = true</code> on a schedule.</p>");
    }
    for row in rows {
        section(&mut b, row);
    }
    page("Reconcile", &b)
}

/// One run: when, what it read, and its differences.
fn section(b: &mut String, row: &JournalRow) {
    let detail: Value = row
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    let report = &detail["report"];
    let total = detail["differences_total"].as_u64().unwrap_or(0);
    let verdict = if total == 0 {
        "<span class=ok>the systems agree</span>".to_string()
    } else {
        format!("<span class=bad>{total} difference(s)</span>")
    };
    let _ = write!(
        b,
        "<h2>{} — {} {verdict}</h2><p>window from {}; read {} order(s), {} deal(s), {} read call(s); {} fix job(s) queued</p>",
        escape(&row.entity_id),
        when(row.at),
        escape(detail["since"].as_str().unwrap_or("?")),
        report["checked"]["orders"],
        report["checked"]["deals"],
        report["checked"]["reads"],
        report["fixes_queued"],
    );
    for c in report["catalogs"].as_array().into_iter().flatten() {
        let _ = write!(
            b,
            "<p>catalog {}: {}</p>",
            escape(c["catalog"].as_str().unwrap_or("")),
            match c["not_compared"].as_str() {
                Some(why) => format!("not compared: {}", escape(why)),
                None if c["target"] == "store_prices" => format!(
                    "prices and stock of {} SKU(s) in {}: {} found, {} agree",
                    c["items"],
                    escape(c["crm"].as_str().unwrap_or("")),
                    c["products"],
                    c["agreeing"]
                ),
                None => format!(
                    "{} item(s), {} product(s) read back, {} agree",
                    c["items"], c["products"], c["agreeing"]
                ),
            }
        );
    }
    let Some(diffs) = report["differences"].as_array().filter(|d| !d.is_empty()) else {
        return;
    };
    b.push_str("<table><tr><th>kind</th><th>flow / catalog</th><th>store / 1C</th><th>CRM</th><th>store value</th><th>CRM value</th><th>fix</th><th>why</th></tr>");
    for d in diffs {
        let text = |k: &str| escape(d[k].as_str().unwrap_or("-"));
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=err>{}</td><td class=err>{}</td><td>{}</td><td>{}</td></tr>",
            text("kind"),
            escape(d["flow"].as_str().or(d["catalog"].as_str()).unwrap_or("-")),
            text("store_id"),
            text("crm_id"),
            escape(&d["store_value"].to_string()),
            escape(&d["crm_value"].to_string()),
            text("fix"),
            text("note"),
        );
    }
    b.push_str("</table>");
    if total > diffs.len() as u64 {
        let _ = write!(
            b,
            "<p>{} more: <code>dealbridge reconcile --json</code> lists every one.</p>",
            total - diffs.len() as u64
        );
    }
}
