//! `crm.deal.add/get/list/update/delete`.

use super::fields::{date, int, money, text, yes_no};
use super::{ApiFailure, Ctx, MethodOk, Params};
use crate::emulator::state::{money_text, now_iso, Portal, Record};
use crate::wire::value_text;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// Fields a client may write, by how the portal stores them.
enum Kind {
    Text,
    Int,
    Money,
    YesNo,
    Date,
}

fn writable(name: &str) -> Option<Kind> {
    Some(match name {
        "TITLE" | "TYPE_ID" | "CURRENCY_ID" | "COMMENTS" | "ADDITIONAL_INFO" | "SOURCE_ID"
        | "SOURCE_DESCRIPTION" | "ORIGINATOR_ID" | "ORIGIN_ID" | "LOCATION_ID" | "UTM_SOURCE"
        | "UTM_MEDIUM" | "UTM_CAMPAIGN" | "UTM_CONTENT" | "UTM_TERM" => Kind::Text,
        "PROBABILITY" | "COMPANY_ID" | "CONTACT_ID" | "ASSIGNED_BY_ID" | "LEAD_ID" => Kind::Int,
        "OPPORTUNITY" | "TAX_VALUE" => Kind::Money,
        "IS_MANUAL_OPPORTUNITY"
        | "OPENED"
        | "CLOSED"
        | "IS_RECURRING"
        | "IS_RETURN_CUSTOMER"
        | "IS_REPEATED_APPROACH" => Kind::YesNo,
        "BEGINDATE" | "CLOSEDATE" => Kind::Date,
        _ => return None,
    })
}

/// The fields `crm.deal.list` returns without `select` (all but user fields).
pub(crate) fn is_standard(name: &str) -> bool {
    !name.starts_with("UF_")
}

fn new_record(portal: &Portal, id: u64) -> Record {
    let now = now_iso();
    let user = Value::String(portal.user_id.to_string());
    let today = date(&json!(now[..10].to_string()));
    let mut r = Map::new();
    for (k, v) in [
        ("ID", json!(id.to_string())),
        ("TITLE", json!(format!("Сделка #{id}"))),
        ("TYPE_ID", json!("SALE")),
        ("STAGE_ID", Value::Null),
        ("PROBABILITY", Value::Null),
        ("CURRENCY_ID", json!("RUB")),
        ("OPPORTUNITY", json!("0.00")),
        ("IS_MANUAL_OPPORTUNITY", json!("N")),
        ("TAX_VALUE", json!("0.00")),
        ("LEAD_ID", Value::Null),
        ("COMPANY_ID", Value::Null),
        ("CONTACT_ID", Value::Null),
        ("QUOTE_ID", Value::Null),
        ("BEGINDATE", today.clone()),
        ("CLOSEDATE", today),
        ("ASSIGNED_BY_ID", user.clone()),
        ("CREATED_BY_ID", user.clone()),
        ("MODIFY_BY_ID", user.clone()),
        ("DATE_CREATE", json!(now)),
        ("DATE_MODIFY", json!(now)),
        ("OPENED", json!("Y")),
        ("CLOSED", json!("N")),
        ("COMMENTS", Value::Null),
        ("ADDITIONAL_INFO", Value::Null),
        ("LOCATION_ID", Value::Null),
        ("CATEGORY_ID", json!("0")),
        ("STAGE_SEMANTIC_ID", json!("P")),
        ("IS_NEW", json!("Y")),
        ("IS_RECURRING", json!("N")),
        ("IS_RETURN_CUSTOMER", json!("N")),
        ("IS_REPEATED_APPROACH", json!("N")),
        ("SOURCE_ID", Value::Null),
        ("SOURCE_DESCRIPTION", Value::Null),
        ("ORIGINATOR_ID", Value::Null),
        ("ORIGIN_ID", Value::Null),
        ("MOVED_BY_ID", user.clone()),
        ("MOVED_TIME", json!(now)),
        ("LAST_ACTIVITY_TIME", json!(now)),
        ("UTM_SOURCE", Value::Null),
        ("UTM_MEDIUM", Value::Null),
        ("UTM_CAMPAIGN", Value::Null),
        ("UTM_CONTENT", Value::Null),
        ("UTM_TERM", Value::Null),
        ("LAST_ACTIVITY_BY", user),
    ] {
        r.insert(k.to_string(), v);
    }
    r
}

/// Writes `fields` into `rec`. Read-only and unknown fields are ignored, as the portal does.
fn apply(rec: &mut Record, fields: &Map<String, Value>, creating: bool) {
    for (name, v) in fields {
        let name = name.to_ascii_uppercase();
        if let Some(kind) = writable(&name) {
            let stored = match kind {
                Kind::Text => text(v),
                Kind::Int => int(v),
                Kind::Money => money(v),
                Kind::YesNo => yes_no(v),
                Kind::Date => date(v),
            };
            rec.insert(name, stored);
        } else if name == "STAGE_ID" {
            rec.insert(name, text(v));
        } else if name == "CATEGORY_ID" && creating {
            // The pipeline is fixed at creation; updates leave it (moving needs its own method).
            rec.insert(name, Value::String(category_of(v).to_string()));
        } else if name == "CONTACT_IDS" {
            if let Some(first) =
                crate::php_query::as_list(v).and_then(|l| l.first().map(|f| int(f)))
            {
                rec.insert("CONTACT_ID".into(), first);
            }
        } else if name.starts_with("UF_CRM_") {
            let stored = if v.is_array() || v.is_object() {
                v.clone()
            } else {
                text(v)
            };
            rec.insert(name, stored);
        }
    }
}

fn category_of(v: &Value) -> u64 {
    value_text(v)
        .and_then(|t| t.trim().parse::<u64>().ok())
        .unwrap_or(0)
}

/// Checks `STAGE_ID` against the deal's pipeline (defaulting it on create) and sets the fields
/// that follow from the stage.
fn settle_stage(portal: &Portal, rec: &mut Record, stage_changed: bool) -> Result<(), ApiFailure> {
    let category = rec.get("CATEGORY_ID").map_or(0, category_of);
    let stage = rec.get("STAGE_ID").and_then(value_text).unwrap_or_default();
    let def = if stage.is_empty() {
        portal.stages.first()
    } else {
        portal.find_stage(category, &stage)
    };
    let Some(def) = def else {
        // UNCONFIRMED: the exact text a portal answers for an unknown stage was not found in
        // the docs; the shape (HTTP 400, empty code, description) is that of other CRM errors.
        return Err(ApiFailure::method(&format!(
            "Stage \"{stage}\" is not found in deal category {category}."
        )));
    };
    rec.insert("STAGE_ID".into(), json!(Portal::stage_in(category, def)));
    let semantic = def.semantics.code();
    rec.insert("STAGE_SEMANTIC_ID".into(), json!(semantic));
    rec.insert(
        "CLOSED".into(),
        json!(if semantic == "P" { "N" } else { "Y" }),
    );
    if stage_changed {
        rec.insert("MOVED_TIME".into(), json!(now_iso()));
        rec.insert("MOVED_BY_ID".into(), json!(portal.user_id.to_string()));
    }
    Ok(())
}

/// With `IS_MANUAL_OPPORTUNITY = N` the amount follows the product rows (when there are any;
/// a deal without rows keeps the amount written to it). `TAX_VALUE` always follows the rows.
pub(crate) fn recompute_amount(portal: &mut Portal, id: u64, rows_replaced: bool) {
    let rows = portal.rows.get(&id).cloned().unwrap_or_default();
    let Some(rec) = portal.deals.get_mut(&id) else {
        return;
    };
    let manual = rec.get("IS_MANUAL_OPPORTUNITY").and_then(Value::as_str) == Some("Y");
    if !manual && (rows_replaced || !rows.is_empty()) {
        let sum: Decimal = rows.iter().map(|r| r.total()).sum();
        rec.insert("OPPORTUNITY".into(), json!(money_text(sum)));
    }
    if rows_replaced || !rows.is_empty() {
        let tax: Decimal = rows.iter().map(|r| r.tax()).sum();
        rec.insert("TAX_VALUE".into(), json!(money_text(tax)));
    }
}

pub(super) fn add(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let fields = params.fields()?;
    let portal = &mut *ctx.portal;
    // Validate on a scratch record first so a refused add uses no id.
    let mut rec = new_record(portal, 0);
    apply(&mut rec, &fields, true);
    settle_stage(portal, &mut rec, false)?;
    let id = portal.take_deal_id();
    rec.insert("ID".into(), json!(id.to_string()));
    if !fields.keys().any(|k| k.eq_ignore_ascii_case("TITLE")) {
        rec.insert("TITLE".into(), json!(format!("Сделка #{id}")));
    }
    portal.deals.insert(id, rec);
    recompute_amount(portal, id, false);
    portal.raise("ONCRMDEALADD", id);
    Ok(MethodOk::of(json!(id)))
}

pub(super) fn get(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("ID is not defined or invalid."))?;
    let rec = ctx
        .portal
        .deals
        .get(&id)
        .ok_or_else(|| ApiFailure::method("Not found"))?;
    Ok(MethodOk::of(Value::Object(rec.clone())))
}

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    super::list_records(ctx.portal.deals.values(), params, &[], &is_standard)
}

pub(super) fn update(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("ID is not defined or invalid."))?;
    let fields = params.fields()?;
    let portal = &mut *ctx.portal;
    let mut rec = portal
        .deals
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiFailure::method("Not found"))?;
    let before = rec.get("STAGE_ID").cloned();
    apply(&mut rec, &fields, false);
    let changed = rec.get("STAGE_ID") != before.as_ref();
    settle_stage(portal, &mut rec, changed)?;
    rec.insert("DATE_MODIFY".into(), json!(now_iso()));
    rec.insert("MODIFY_BY_ID".into(), json!(portal.user_id.to_string()));
    rec.insert("IS_NEW".into(), json!("N"));
    portal.deals.insert(id, rec);
    recompute_amount(portal, id, false);
    portal.raise("ONCRMDEALUPDATE", id);
    Ok(MethodOk::of(json!(true)))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("ID is not defined or invalid."))?;
    if ctx.portal.deals.remove(&id).is_none() {
        return Err(ApiFailure::method("Not found"));
    }
    ctx.portal.rows.remove(&id);
    Ok(MethodOk::of(json!(true)))
}
