//! `GET /errors/{id}`: one job in full: its record with links, its attempts, its first and last
//! error (the vendor's own message), and what it would send if it ran now, re-planned with the
//! mapping file as it is now ([`crate::sync::replan`]). When re-planning fails, that failure is
//! shown instead: it is what tells an operator their fix is not in yet.

use super::pages::{page, record_links, when};
use super::record::{record_of, JobRecord};
use super::{server_error, ConsoleState};
use crate::server::html::escape;
use crate::sync::replan::{replan, ReplanError, Replanned};
use crate::sync::selection::{flow_of, ErrorClass};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use dealbridge_store::Job;
use std::fmt::Write;

/// The job's detail page.
pub async fn job_detail(
    State(s): State<ConsoleState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let session = match s.auth.session(&headers) {
        Ok(session) => session,
        Err(denied) => return denied.into_response(),
    };
    let job = match s.store.queue().get(id).await {
        Ok(Some(job)) => job,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                format!("no job {id} (done and purged, or never queued)\n"),
            )
                .into_response()
        }
        Err(e) => return server_error(e),
    };
    let record = match record_of(&job, &s.config, &s.store).await {
        Ok(r) => r,
        Err(e) => return server_error(e),
    };
    let now = match replan(&job, &s.config, &s.store).await {
        Ok(plan) => plan,
        Err(e) => return server_error(e),
    };
    let flow = flow_of(&job, &s.config).unwrap_or_else(|| "-".into());
    Html(render(&job, &flow, &record, &now, &session.csrf)).into_response()
}

/// Pretty JSON for a `<pre>`.
fn pretty(v: &serde_json::Value) -> String {
    escape(&serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()))
}

/// The page: facts, errors, the plan now (or why there is none), the actions, the payload.
fn render(
    job: &Job,
    flow: &str,
    record: &JobRecord,
    now: &Result<Replanned, ReplanError>,
    csrf: &str,
) -> String {
    let mut b = String::new();
    let class = job
        .last_error_kind
        .as_deref()
        .map_or("-".to_string(), |c| format!("{} ({c})", ErrorClass::of(c)));
    let _ = write!(
        b,
        "<table><tr><th>record</th><td>{rec}</td></tr><tr><th>flow</th><td>{flow}</td></tr>\
         <tr><th>kind</th><td>{kind}</td></tr><tr><th>state</th><td>{state}</td></tr>\
         <tr><th>attempts</th><td>{a} of {m}</td></tr><tr><th>error class</th><td>{class}</td></tr>\
         <tr><th>queued</th><td>{created}</td></tr><tr><th>last change</th><td>{updated}</td></tr>\
         <tr><th>first error</th><td class=err>{first}</td></tr><tr><th>last error</th><td class=err>{last}</td></tr></table>",
        rec = Some(record_links(record))
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| escape(&job.coalesce_key)),
        flow = escape(flow),
        kind = escape(job.kind.as_str()),
        state = escape(job.state.as_str()),
        a = job.attempts,
        m = job.max_attempts,
        class = escape(&class),
        created = when(job.created_at),
        updated = when(job.updated_at),
        first = escape(
            job.first_error
                .as_deref()
                .or(job.last_error.as_deref())
                .unwrap_or("-")
        ),
        last = escape(job.last_error.as_deref().unwrap_or("-")),
    );
    b.push_str("<h2>If it ran now</h2>");
    match now {
        Ok(plan) => {
            let _ = write!(
                b,
                "<p class=ok>It would {}.</p><pre id=planned>{}</pre>",
                escape(&plan.action),
                pretty(&plan.request)
            );
        }
        Err(ReplanError::WouldFail(why)) => {
            let _ = write!(
                b,
                "<p class=bad>It would fail again:</p><pre id=planned class=err>{}</pre>\
                 <p>Fix what it names (the mapping file is read again for this page), reload, then retry.</p>",
                escape(why)
            );
        }
        Err(ReplanError::AtRunTime(why)) => {
            let _ = write!(b, "<p>{}</p>", escape(why));
        }
    }
    let _ = write!(
        b,
        "<p><form class=inline method=post action=\"/errors/{id}/retry\"><input type=hidden name=csrf value=\"{c}\"><button>Retry</button></form> \
         <form class=inline method=post action=\"/errors/{id}/drop\"><input type=hidden name=csrf value=\"{c}\"><button>Drop</button></form> \
         <a href=\"/errors\">back to Errors</a></p><h2>Queued payload</h2><pre>{p}</pre>",
        id = job.id,
        c = escape(csrf),
        p = pretty(&job.payload),
    );
    page(&format!("Job {}", job.id), &b)
}
