//! `crm.timeline.comment.add/list`: comments on a deal's timeline.

use super::fields::text;
use super::{paginate, select_param, ApiFailure, Ctx, MethodOk, Params};
use crate::emulator::filter::{matches, parse_filter, project, sort};
use crate::emulator::state::{now_iso, Record};
use crate::wire::value_text;
use serde_json::{json, Map, Value};

pub(super) fn add(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let fields = params.fields()?;
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| value_text(v))
            .filter(|t| !t.trim().is_empty())
    };
    let entity_type = get("ENTITY_TYPE").unwrap_or_default().to_ascii_lowercase();
    let entity_id = get("ENTITY_ID").and_then(|t| t.trim().parse::<u64>().ok());
    let comment = get("COMMENT");
    // UNCONFIRMED wordings; the docs list these three fields as required.
    let (Some(entity_id), Some(comment)) = (entity_id, comment) else {
        return Err(ApiFailure::method(
            "ENTITY_ID, ENTITY_TYPE and COMMENT are required.",
        ));
    };
    if entity_type != "deal" || !ctx.portal.deals.contains_key(&entity_id) {
        return Err(ApiFailure::method("Entity not found."));
    }
    let portal = &mut *ctx.portal;
    let id = portal.take_comment_id();
    let mut rec = Map::new();
    rec.insert("ID".into(), json!(id.to_string()));
    rec.insert("CREATED".into(), json!(now_iso()));
    rec.insert("ENTITY_ID".into(), json!(entity_id.to_string()));
    rec.insert("ENTITY_TYPE".into(), json!("deal"));
    rec.insert("AUTHOR_ID".into(), json!(portal.user_id.to_string()));
    rec.insert("COMMENT".into(), text(&json!(comment)));
    portal.comments.insert(id, rec);
    Ok(MethodOk::of(json!(id)))
}

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let conds = parse_filter(params.get("filter"))?;
    let mut rows: Vec<Record> = ctx
        .portal
        .comments
        .values()
        .filter(|r| matches(r, &conds, &[]))
        .cloned()
        .collect();
    sort(&mut rows, params.get("order"))?;
    let select = select_param(params);
    let rows = rows
        .iter()
        .map(|r| Value::Object(project(r, select.as_ref(), &|_| true)))
        .collect();
    Ok(paginate(rows, params))
}
