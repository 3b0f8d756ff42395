//! The console's 1C page: the data-quality report of the latest imports (each finding with its
//! count and examples: 1C `Ид`, article, file and line) and a deactivation the guard held, with
//! the button that applies it (the same as `import-1c --apply-held-deactivation`).

use super::pages::{page, when};
use super::{server_error, ConsoleState};
use crate::onec::exchange::SYSTEM_1C;
use crate::server::html::escape;
use crate::sync::selection::journal_action;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use dealbridge_store::{EntityKind, HeldDeactivation, JournalFilter, JournalRow};
use serde_json::Value;
use std::fmt::Write;
use tracing::info;

/// Imports shown.
const IMPORTS: u32 = 5;

/// `GET /1c`.
pub async fn show(State(s): State<ConsoleState>, headers: HeaderMap) -> Response {
    let session = match s.auth.session(&headers) {
        Ok(session) => session,
        Err(denied) => return denied.into_response(),
    };
    let held = match s.store.held_deactivation(SYSTEM_1C).await {
        Ok(h) => h,
        Err(e) => return server_error(e),
    };
    let rows = s
        .store
        .journal_page(&JournalFilter {
            kind: Some(EntityKind::Catalog),
            entity_contains: Some("1c-import:".into()),
            limit: IMPORTS * 4,
            ..JournalFilter::default()
        })
        .await;
    match rows {
        Ok(rows) => {
            let imports: Vec<&JournalRow> = rows
                .iter()
                .filter(|r| r.action == "imported")
                .take(IMPORTS as usize)
                .collect();
            Html(render(&held, &imports, &session.csrf)).into_response()
        }
        Err(e) => server_error(e),
    }
}

/// The apply form.
#[derive(serde::Deserialize)]
pub struct ApplyForm {
    csrf: String,
}

/// `POST /1c/apply-held`: applies the held deactivation (idempotent: nothing held, nothing
/// done) and journals who did it.
pub async fn apply_held(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Form(f): Form<ApplyForm>,
) -> Response {
    if let Err(denied) = s.auth.check_csrf(&headers, &f.csrf) {
        return denied.into_response();
    }
    let (products, offers) = match crate::onec::apply_held(&s.store, SYSTEM_1C).await {
        Ok(n) => n,
        Err(e) => return server_error(e),
    };
    let what = format!("held 1C deactivation applied: {products} product(s), {offers} offer(s)");
    if let Err(e) = journal_action(
        &s.store,
        "console",
        "apply-held-deactivation",
        &what,
        products + offers,
    )
    .await
    {
        return server_error(e);
    }
    info!(products, offers, "console: held 1C deactivation applied");
    Redirect::to("/1c").into_response()
}

fn render(held: &HeldDeactivation, imports: &[&JournalRow], csrf: &str) -> String {
    let mut b = String::from("<h2>Held deactivation</h2>");
    if held.is_empty() {
        b.push_str("<p>Nothing held.</p>");
    } else {
        let _ = write!(
            b,
            "<p class=bad>A full catalog from 1C would deactivate {} product(s) and {} offer(s), more than <code>[exchange_1c] max_deactivate_share</code> allows; \
             they stay active until you apply it (check in 1C first that they really are gone).</p>\
             <form method=post action=\"/1c/apply-held\"><input type=hidden name=csrf value=\"{}\"><button>Apply the deactivation</button></form>",
            held.products,
            held.offers,
            escape(csrf)
        );
    }
    b.push_str("<h2>Data quality of the latest imports</h2>");
    if imports.is_empty() {
        b.push_str("<p>No 1C import yet.</p>");
    }
    for row in imports {
        import_section(&mut b, row);
    }
    page("1C", &b)
}

/// One import: its files and findings.
fn import_section(b: &mut String, row: &JournalRow) {
    let detail: Value = row
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    let files: Vec<String> = detail["files"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            let path = f["file"].as_str().unwrap_or("?");
            let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
            format!("{name} ({} item(s))", f["items"])
        })
        .collect();
    let _ = write!(
        b,
        "<h3>{} — {}</h3><p>files: {}</p>",
        when(row.at),
        escape(row.entity_id.trim_start_matches("1c-import:")),
        escape(&files.join(", "))
    );
    let findings = detail["quality"]["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if findings.is_empty() {
        b.push_str("<p class=ok>no findings</p>");
        return;
    }
    b.push_str(
        "<table><tr><th>finding</th><th>count</th><th>examples (Ид, article, file:line)</th></tr>",
    );
    for f in &findings {
        let examples: Vec<String> = f["examples"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                format!(
                    "{} {} {}:{}",
                    e["id"].as_str().unwrap_or(""),
                    e["sku"].as_str().unwrap_or(""),
                    e["file"].as_str().unwrap_or(""),
                    e["line"].as_u64().map_or(String::new(), |l| l.to_string())
                )
            })
            .collect();
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td class=err>{}{}</td></tr>",
            escape(f["code"].as_str().unwrap_or("")),
            f["count"],
            escape(&examples.join("\n")),
            escape(
                f["detail"]
                    .as_str()
                    .map_or(String::new(), |d| format!("\n{d}"))
                    .as_str()
            ),
        );
    }
    b.push_str("</table>");
}
