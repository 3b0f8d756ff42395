//! `crm.status.list`: the deal stages of each pipeline (`DEAL_STAGE`, `DEAL_STAGE_<n>`).

use super::{paginate, ApiFailure, Ctx, MethodOk, Params};
use crate::emulator::filter::{matches, parse_filter, project, sort};
use crate::emulator::state::{Portal, Record, StageSemantics};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn colour(s: StageSemantics, i: usize) -> &'static str {
    const PROCESS: [&str; 5] = ["#39A8EF", "#2FC6F6", "#55D0E0", "#47E4C2", "#FFA900"];
    match s {
        StageSemantics::Process => PROCESS[i % PROCESS.len()],
        StageSemantics::Success => "#7BD500",
        StageSemantics::Failure => "#FF5752",
    }
}

fn rows_for(portal: &Portal, category: u64, first_id: u64) -> Vec<Record> {
    let entity = if category == 0 {
        "DEAL_STAGE".to_string()
    } else {
        format!("DEAL_STAGE_{category}")
    };
    portal
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (semantics, extra) = match s.semantics {
                StageSemantics::Process => (Value::Null, "process"),
                StageSemantics::Success => (json!("S"), "success"),
                StageSemantics::Failure => (json!("F"), "failure"),
            };
            let c = colour(s.semantics, i);
            let row = json!({
                "ID": (first_id + 2 * i as u64).to_string(),
                "ENTITY_ID": entity,
                "STATUS_ID": Portal::stage_in(category, s),
                "NAME": s.name,
                "NAME_INIT": s.name,
                "SORT": ((i + 1) * 10).to_string(),
                "SYSTEM": if i == 0 || s.semantics != StageSemantics::Process { "Y" } else { "N" },
                "CATEGORY_ID": if category == 0 { Value::Null } else { json!(category.to_string()) },
                "COLOR": c,
                "SEMANTICS": semantics,
                "EXTRA": { "SEMANTICS": extra, "COLOR": c },
            });
            row.as_object().cloned().unwrap_or_default()
        })
        .collect()
}

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let conds = parse_filter(params.get("filter"))?;
    // Pipeline 0 always exists; others exist once a deal uses them or a filter names them.
    let mut categories: BTreeSet<u64> = ctx.portal.categories.keys().copied().collect();
    categories.insert(0);
    for d in ctx.portal.deals.values() {
        if let Some(c) = d
            .get("CATEGORY_ID")
            .and_then(Value::as_str)
            .and_then(|c| c.parse().ok())
        {
            categories.insert(c);
        }
    }
    if let Some(Value::String(e)) = params.get("filter").and_then(|f| f.get("ENTITY_ID")) {
        if let Some(c) = e.strip_prefix("DEAL_STAGE_").and_then(|c| c.parse().ok()) {
            categories.insert(c);
        }
    }
    let mut rows: Vec<Record> = Vec::new();
    for (n, c) in categories.iter().enumerate() {
        rows.extend(rows_for(ctx.portal, *c, 101 + 100 * n as u64));
    }
    rows.retain(|r| matches(r, &conds, &[]));
    let order = params
        .get("order")
        .cloned()
        .unwrap_or(json!({"SORT": "ASC"}));
    sort(&mut rows, Some(&order))?;
    let select = super::select_param(params);
    let rows = rows
        .iter()
        .map(|r| Value::Object(project(r, select.as_ref(), &|_| true)))
        .collect();
    Ok(paginate(rows, params))
}
