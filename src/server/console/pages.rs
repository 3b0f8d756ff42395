//! The console's pages, rendered on the server (readable without JavaScript; the stylesheet is
//! in the binary, nothing comes from a CDN).

use super::record::JobRecord;
use crate::config::Config;
use crate::server::html::escape;
use crate::status::StatusReport;
use crate::sync::selection::{flow_of, ErrorClass};
use dealbridge_store::{Conflict, InboxStats, Job, JournalRow, RejectionStats};
use std::collections::BTreeMap;
use std::fmt::Write;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}\
header{background:#1f3a5f;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}\
header a{color:#fff;text-decoration:none;font-weight:600}main{padding:16px}\
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f0f3f7}.bad{color:#a00;font-weight:600}.ok{color:#070}form.inline{display:inline}\
button{cursor:pointer}.err{max-width:640px;white-space:pre-wrap;font-family:monospace;font-size:12px}";

/// A whole page around `body`, with the navigation.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>{t} — dealbridge</title>\
         <style>{STYLE}</style><header><span>dealbridge</span><a href=\"/\">Overview</a>\
         <a href=\"/errors\">Errors</a><a href=\"/conflicts\">Conflicts</a>\
         <a href=\"/activity\">Activity</a><a href=\"/webhooks\">Webhooks</a><a href=\"/reconcile\">Reconcile</a><a href=\"/1c\">1C</a><form class=inline method=post action=\"/logout\">\
         <button>Log out</button></form></header><main><h1>{t}</h1>{body}</main></html>",
        t = escape(title)
    )
}

/// The login form (`error`: what went wrong with the last try).
pub fn login(error: Option<&str>) -> axum::response::Html<String> {
    let note = error.map_or(String::new(), |e| format!("<p class=bad>{}</p>", escape(e)));
    axum::response::Html(format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>Log in — dealbridge</title>\
         <style>{STYLE}</style><main><h1>dealbridge console</h1>{note}\
         <form method=post action=\"/login\"><label>Console token \
         <input type=password name=token autofocus></label> <button>Log in</button></form>\
         <p>The token is <code>[server] console_token</code> (or DEALBRIDGE_SERVER_CONSOLE_TOKEN).</p></main></html>"
    ))
}

/// One flow's line on the overview.
#[derive(Debug, Clone)]
pub struct FlowRow {
    /// The flow's name.
    pub name: String,
    /// `shop → crm`.
    pub route: String,
    /// Its poll's last success.
    pub last_poll: Option<chrono::DateTime<chrono::Utc>>,
    /// Since when its poll fails, if it does.
    pub failing_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Its pending and running jobs.
    pub waiting: usize,
    /// When the oldest of them was queued.
    pub oldest: Option<chrono::DateTime<chrono::Utc>>,
    /// Its poll cursor: where the last pass stopped (the newest change it read), and when the
    /// cursor last moved. `None` before the first pass that read anything.
    pub cursor: Option<(String, chrono::DateTime<chrono::Utc>)>,
}

/// `95 s`, `12 min`, `3 h`: how long ago, roughly.
fn ago(t: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// The overview: flows, recent jobs, queue, loops, cursors, catalogs, conflicts, the last 1C
/// exchange.
pub fn overview(
    report: &StatusReport,
    flows: &[FlowRow],
    (hour, day): ((i64, i64), (i64, i64)),
    exchanges: &[super::exchanges::LastExchange],
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let mut b = String::new();
    let dead = count(report, "dead");
    let _ = write!(
        b,
        "<p>Open conflicts: <b>{}</b>. Dead jobs: <b class={}>{dead}</b> (<a href=\"/errors\">see why</a>). \
         Last hour: {} done, {} failed for good. Last day: {} done, {} failed for good.</p>",
        report.open_conflicts,
        if dead > 0 { "bad" } else { "ok" },
        hour.0,
        hour.1,
        day.0,
        day.1
    );
    b.push_str("<h2>Flows</h2><table><tr><th>flow</th><th>from → to</th><th>last successful poll (cursor lag)</th><th>cursor</th><th>waiting jobs</th><th>oldest waiting</th></tr>");
    for f in flows {
        let poll = match (f.last_poll, f.failing_since) {
            (last, Some(since)) => format!(
                "<span class=bad>failing for {}</span>{}",
                ago(since, now),
                last.map_or(String::new(), |t| format!(
                    "; last success {} ({} ago)",
                    when(t),
                    ago(t, now)
                ))
            ),
            (Some(t), None) => format!("{} ({} ago)", when(t), ago(t, now)),
            (None, None) => "-".to_string(),
        };
        let cursor = f.cursor.as_ref().map_or("-".to_string(), |(at, moved)| {
            format!("{} (moved {} ago)", escape(at), ago(*moved, now))
        });
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{poll}</td><td>{cursor}</td><td>{}</td><td>{}</td></tr>",
            escape(&f.name),
            escape(&f.route),
            f.waiting,
            f.oldest
                .map_or("-".to_string(), |t| format!("{} ago", ago(t, now))),
        );
    }
    b.push_str("</table>");
    b.push_str(&super::exchanges::section(exchanges, when));
    b.push_str("<h2>Queue</h2><table><tr><th>state</th><th>jobs</th></tr>");
    for (state, n) in &report.queue {
        let _ = write!(b, "<tr><td>{}</td><td>{n}</td></tr>", escape(state));
    }
    b.push_str("</table><h2>Background loops</h2><table><tr><th>loop</th><th>last success</th><th>failing since</th><th>last error</th></tr>");
    for l in &report.loops {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td class=bad>{}</td><td class=err>{}</td></tr>",
            escape(&l.name),
            l.last_success.map(when).unwrap_or_default(),
            l.failing_since.map(when).unwrap_or_default(),
            escape(l.last_error.as_deref().unwrap_or("")),
        );
    }
    b.push_str(
        "</table><h2>Cursors</h2><table><tr><th>cursor</th><th>value</th><th>moved</th></tr>",
    );
    for c in report
        .cursors
        .iter()
        .filter(|c| !c.name.starts_with("oauth:"))
    {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.name),
            escape(&c.value),
            escape(&c.updated_at)
        );
    }
    b.push_str("</table><h2>Catalogs</h2><table><tr><th>catalog</th><th>system</th><th>at</th><th>what</th></tr>");
    for c in &report.catalogs {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.flow),
            escape(&c.system),
            escape(&c.at),
            escape(&c.detail)
        );
    }
    b.push_str("</table>");
    page("Overview", &b)
}

/// A time as people read it (to the second, UTC).
pub(crate) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn count(report: &StatusReport, state: &str) -> i64 {
    report
        .queue
        .iter()
        .find(|(s, _)| s == state)
        .map_or(0, |(_, n)| *n)
}

/// The filter the Errors page shows (query string), echoed into its forms.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ErrorsQuery {
    /// `dead` (default) or `retrying`.
    pub state: Option<String>,
    /// A flow name.
    pub flow: Option<String>,
    /// `transient`, `permanent` or a failure code.
    pub class: Option<String>,
}

/// A job's record as links: the store's order and the CRM's deals, each to its admin page
/// where the vendor has one (opened without a referrer: the console's address stays here).
pub(crate) fn record_links(record: &JobRecord) -> String {
    record
        .order
        .iter()
        .chain(&record.deals)
        .map(|r| match &r.url {
            Some(url) => format!(
                "<a href=\"{}\" target=_blank rel=\"noopener noreferrer\">{}</a> in {}",
                escape(url),
                escape(&r.label),
                escape(&r.system)
            ),
            None => format!("{} in {}", escape(&r.label), escape(&r.system)),
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Dead (or retrying) jobs with why, grouped by flow and error class, and the actions; each
/// job's record links to the store and the CRM, its id to the job's detail.
pub fn errors(
    config: &Config,
    q: &ErrorsQuery,
    jobs: &[Job],
    records: &BTreeMap<i64, JobRecord>,
    csrf: &str,
) -> String {
    let mut b = String::new();
    let filter_fields = format!(
        "<input type=hidden name=state value=\"{}\"><input type=hidden name=flow value=\"{}\">\
         <input type=hidden name=class value=\"{}\"><input type=hidden name=csrf value=\"{}\">",
        escape(q.state.as_deref().unwrap_or("dead")),
        escape(q.flow.as_deref().unwrap_or("")),
        escape(q.class.as_deref().unwrap_or("")),
        escape(csrf)
    );
    let _ = write!(
        b,
        "<form method=get action=\"/errors\">State <select name=state><option{}>dead</option><option{}>retrying</option></select> \
         Flow <input name=flow value=\"{}\"> Class <input name=class value=\"{}\" placeholder=\"transient, permanent or a code\"> \
         <button>Filter</button></form>",
        if q.state.as_deref() == Some("retrying") { "" } else { " selected" },
        if q.state.as_deref() == Some("retrying") { " selected" } else { "" },
        escape(q.flow.as_deref().unwrap_or("")),
        escape(q.class.as_deref().unwrap_or("")),
    );
    let _ = write!(
        b,
        "<p>{} job(s) match. <form class=inline method=post action=\"/errors/retry-all\">{filter_fields}\
         <button>Retry all matching</button></form> <form class=inline method=post action=\"/errors/drop-all\">{filter_fields}\
         <button>Drop all matching</button></form> (retried jobs run with the current config and mapping)</p>",
        jobs.len()
    );
    let mut groups: std::collections::BTreeMap<(String, String), Vec<&Job>> = Default::default();
    for j in jobs {
        let flow = flow_of(j, config).unwrap_or_else(|| "-".into());
        let class = j
            .last_error_kind
            .as_deref()
            .map_or("-".to_string(), |c| format!("{} ({c})", ErrorClass::of(c)));
        groups.entry((flow, class)).or_default().push(j);
    }
    for ((flow, class), jobs) in &groups {
        let _ = write!(
            b,
            "<h2>{} — {} — {} job(s)</h2><table><tr><th>job</th><th>record</th><th>attempts</th><th>last change</th><th>error</th><th></th></tr>",
            escape(flow),
            escape(class),
            jobs.len()
        );
        for j in jobs {
            let _ = write!(
                b,
                "<tr><td><a href=\"/errors/{id}\">{id}</a></td><td>{rec}</td><td>{a}/{m}</td><td>{at}</td><td class=err>{err}</td><td>\
                 <form class=inline method=post action=\"/errors/{id}/retry\"><input type=hidden name=csrf value=\"{c}\"><button>Retry</button></form> \
                 <form class=inline method=post action=\"/errors/{id}/drop\"><input type=hidden name=csrf value=\"{c}\"><button>Drop</button></form></td></tr>",
                id = j.id,
                rec = records
                    .get(&j.id)
                    .map(record_links)
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| escape(&j.coalesce_key)),
                a = j.attempts,
                m = j.max_attempts,
                at = when(j.updated_at),
                err = escape(j.last_error.as_deref().unwrap_or("")),
                c = escape(csrf),
            );
        }
        b.push_str("</table>");
    }
    page("Errors", &b)
}

/// A JSON value as a person reads it (a string without its quotes).
fn value(v: Option<&serde_json::Value>) -> String {
    match v {
        None => "(absent)".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Open conflicts with the base and both values, each with "take this side" actions; then the
/// recently decided ones with their rule and reason.
pub fn conflicts(open: &[Conflict], decided: &[Conflict], csrf: &str) -> String {
    let mut b = String::new();
    let _ = write!(b, "<h2>Waiting for a person ({})</h2>", open.len());
    b.push_str("<table><tr><th>id</th><th>record</th><th>field</th><th>base</th><th>one side</th><th>other side</th><th>rule</th><th>decide</th></tr>");
    for c in open {
        let take = |system: &str| {
            format!(
                "<form class=inline method=post action=\"/conflicts/{}/take\"><input type=hidden name=csrf value=\"{}\">\
                 <input type=hidden name=side value=\"{s}\"><button>Take {s}</button></form>",
                c.id,
                escape(csrf),
                s = escape(system)
            )
        };
        let give = format!(
            "<form class=inline method=post action=\"/conflicts/{}/value\"><input type=hidden name=csrf value=\"{}\">\
             <input name=value size=12 placeholder='\"WON\"' aria-label=\"value as JSON\"><button>Use this value</button></form>",
            c.id,
            escape(csrf)
        );
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}: {}</td><td>{}: {}</td><td>{}</td><td>{} {} {}</td></tr>",
            c.id,
            escape(c.kind.as_str()),
            escape(&c.entity_id),
            escape(&c.field),
            escape(&value(c.base.as_ref())),
            escape(&c.ours_system),
            escape(&value(Some(&c.ours))),
            escape(&c.theirs_system),
            escape(&value(Some(&c.theirs))),
            escape(&c.rule),
            take(&c.ours_system),
            take(&c.theirs_system),
            give,
        );
    }
    b.push_str("</table><h2>Decided</h2><table><tr><th>id</th><th>record</th><th>field</th><th>winner</th><th>value</th><th>why</th></tr>");
    for c in decided {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.id,
            escape(&c.entity_id),
            escape(&c.field),
            escape(c.chosen.as_deref().unwrap_or("")),
            escape(&value(c.chosen_value.as_ref())),
            escape(&c.reason),
        );
    }
    b.push_str("</table>");
    page("Conflicts", &b)
}

/// The journal, newest first: catalog pushes, 1C exchanges, schedule runs, operators' actions;
/// filtered by what, system and record, `page` rows a page, with a link to the older ones.
pub fn activity(rows: &[JournalRow], q: &super::ActivityQuery, page_rows: usize) -> String {
    let mut b = String::new();
    let kinds: String = dealbridge_store::EntityKind::ALL
        .iter()
        .map(|k| {
            let selected = if q.what == k.as_str() {
                " selected"
            } else {
                ""
            };
            format!("<option{selected}>{}</option>", k.as_str())
        })
        .collect();
    let _ = write!(
        b,
        "<form method=get action=\"/activity\">what <select name=what><option value=\"\">any</option>{kinds}</select> \
         system <input name=system size=8 value=\"{}\"> record <input name=record size=14 value=\"{}\"> \
         <button>Filter</button></form>",
        escape(&q.system),
        escape(&q.record)
    );
    b.push_str(
        "<table><tr><th>when</th><th>what</th><th>record</th><th>system</th><th>action</th><th>detail</th></tr>",
    );
    for r in rows {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=err>{}</td></tr>",
            when(r.at),
            escape(r.kind.as_str()),
            escape(&r.entity_id),
            escape(&r.system),
            escape(&r.action),
            escape(r.detail.as_deref().unwrap_or("")),
        );
    }
    b.push_str("</table>");
    if rows.is_empty() {
        b.push_str("<p>Nothing matches.</p>");
    }
    if let (true, Some(last)) = (rows.len() >= page_rows, rows.last()) {
        let enc = |t: &str| url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>();
        let _ = write!(
            b,
            "<p><a href=\"/activity?what={}&amp;system={}&amp;record={}&amp;before={}\">Older →</a></p>",
            enc(&q.what),
            enc(&q.system),
            enc(&q.record),
            last.id
        );
    }
    page("Activity", &b)
}

/// Webhook deliveries per system: stored in the last hour and day, waiting, set aside; the
/// systems configured that have sent none (their webhooks may be off or failing at the sender);
/// and the deliveries refused before anything was stored, with why.
pub fn webhooks(stats: &[InboxStats], quiet: &[String], rejected: &[RejectionStats]) -> String {
    let mut b = String::from(
        "<table><tr><th>system</th><th>last hour</th><th>last day</th><th>waiting</th><th>set aside (record not ready)</th></tr>",
    );
    for s in stats {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.source),
            s.last_hour,
            s.last_day,
            s.waiting,
            s.set_aside
        );
    }
    b.push_str("</table>");
    if !quiet.is_empty() {
        let _ = write!(
            b,
            "<p>No delivery stored yet from: {}. Polling still carries their changes.</p>",
            escape(&quiet.join(", "))
        );
    }
    b.push_str(&rejections(rejected));
    page("Webhooks", &b)
}

/// The refused deliveries (nothing of them was stored) per system and reason.
fn rejections(rejected: &[RejectionStats]) -> String {
    if rejected.is_empty() {
        return "<h2>Rejected</h2><p>No delivery refused in the last day.</p>".to_string();
    }
    let mut b = String::from(
        "<h2>Rejected</h2><p>Refused before anything was stored: a signature or token that does not \
         match is a wrong secret at the sender (or a forgery); a malformed body is the sender's bug.</p>\
         <table><tr><th>system</th><th>reason</th><th>last hour</th><th>last day</th><th>last</th><th>last message</th></tr>",
    );
    for r in rejected {
        let reason = match r.reason.as_str() {
            "bad_signature" => "bad signature or token",
            "malformed" => "malformed body",
            "wrong_path" => "wrong path",
            other => other,
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td class=bad>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=err>{}</td></tr>",
            escape(&r.system),
            escape(reason),
            r.last_hour,
            r.last_day,
            when(r.last_at),
            escape(&r.last_message),
        );
    }
    b.push_str("</table>");
    b
}
