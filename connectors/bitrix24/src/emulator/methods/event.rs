//! `event.offline.get` / `event.offline.clear`: the offline-event queue. Events raised while no
//! handler is set wait here (on a portal they are recorded for `event_type=offline` bindings).

use super::{ApiFailure, Ctx, MethodOk, Params};
use crate::wire::value_text;
use serde_json::{json, Value};

fn flag(params: &Params, name: &str, default: bool) -> bool {
    params
        .get(name)
        .and_then(value_text)
        .map_or(default, |t| !matches!(t.trim(), "" | "0" | "N" | "false"))
}

pub(super) fn get(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let limit = params
        .get("limit")
        .and_then(value_text)
        .and_then(|t| t.trim().parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let clear = flag(params, "clear", true);
    let wanted: Vec<u64> = ctx
        .portal
        .offline
        .iter()
        .filter(|e| e.process_id.is_none())
        .take(limit)
        .map(|e| e.id)
        .collect();
    let process_id = (!clear && !wanted.is_empty()).then(|| format!("p{}", wanted[0]));
    let mut events = Vec::new();
    for e in ctx
        .portal
        .offline
        .iter_mut()
        .filter(|e| wanted.contains(&e.id))
    {
        events.push(json!({
            "ID": e.id.to_string(),
            "TIMESTAMP_X": e.timestamp,
            "EVENT_NAME": e.event,
            "EVENT_DATA": { "FIELDS": { "ID": e.deal_id.to_string() } },
            "EVENT_ADDITIONAL": { "user_id": "1" },
            "MESSAGE_ID": e.id.to_string(),
        }));
        e.process_id.clone_from(&process_id);
    }
    if clear {
        ctx.portal.offline.retain(|e| !wanted.contains(&e.id));
    }
    Ok(MethodOk::of(json!({
        "process_id": process_id.map_or(Value::Null, Value::String),
        "events": events,
    })))
}

pub(super) fn clear(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let process = params
        .get("process_id")
        .and_then(value_text)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiFailure::method("process_id is required"))?;
    ctx.portal
        .offline
        .retain(|e| e.process_id.as_deref() != Some(process.as_str()));
    Ok(MethodOk::of(json!(true)))
}
