//! `crm.company.add/get/list/update/delete` and the two requisite methods the connector uses
//! (`crm.requisite.add/list`: a company's INN lives in a requisite, `RQ_INN`, not in the
//! company).
//!
//! Company read shape follows the docs' field list (`ID`, `TITLE`, `COMPANY_TYPE`, `INDUSTRY`,
//! `CURRENCY_ID`, `REVENUE`, `COMMENTS`, `OPENED`, `ASSIGNED_BY_ID`, `DATE_CREATE`,
//! `DATE_MODIFY`, `ORIGINATOR_ID`, `ORIGIN_ID`, …); IDs as strings like every CRM entity.
//! UNCONFIRMED: the portal's wording for a missing `TITLE` (the emulator refuses it).

use super::fields::{int, money, text, yes_no};
use super::{ApiFailure, Ctx, MethodOk, Params};
use crate::emulator::state::{now_iso, Portal, Record};
use crate::wire::value_text;
use serde_json::{json, Map, Value};

/// `ENTITY_TYPE_ID` of companies.
const COMPANY_TYPE: u64 = 4;

enum Kind {
    Text,
    Int,
    Money,
    YesNo,
}

fn writable(name: &str) -> Option<Kind> {
    Some(match name {
        "TITLE" | "COMPANY_TYPE" | "INDUSTRY" | "EMPLOYEES" | "CURRENCY_ID" | "COMMENTS"
        | "ORIGINATOR_ID" | "ORIGIN_ID" | "ADDRESS" | "SOURCE_ID" | "SOURCE_DESCRIPTION" => {
            Kind::Text
        }
        "ASSIGNED_BY_ID" | "LEAD_ID" => Kind::Int,
        "REVENUE" => Kind::Money,
        "OPENED" | "IS_MY_COMPANY" => Kind::YesNo,
        _ => return None,
    })
}

fn is_standard(name: &str) -> bool {
    !name.starts_with("UF_")
}

fn new_record(portal: &Portal, id: u64) -> Record {
    let now = now_iso();
    let user = json!(portal.user_id.to_string());
    let mut r = Map::new();
    for (k, v) in [
        ("ID", json!(id.to_string())),
        ("TITLE", Value::Null),
        ("COMPANY_TYPE", json!("CUSTOMER")),
        ("INDUSTRY", Value::Null),
        ("EMPLOYEES", Value::Null),
        ("CURRENCY_ID", json!("RUB")),
        ("REVENUE", json!("0.00")),
        ("COMMENTS", Value::Null),
        ("ADDRESS", Value::Null),
        ("SOURCE_ID", Value::Null),
        ("SOURCE_DESCRIPTION", Value::Null),
        ("LEAD_ID", Value::Null),
        ("HAS_PHONE", json!("N")),
        ("HAS_EMAIL", json!("N")),
        ("IS_MY_COMPANY", json!("N")),
        ("OPENED", json!("Y")),
        ("ASSIGNED_BY_ID", user.clone()),
        ("CREATED_BY_ID", user.clone()),
        ("MODIFY_BY_ID", user),
        ("DATE_CREATE", json!(now)),
        ("DATE_MODIFY", json!(now)),
        ("ORIGINATOR_ID", Value::Null),
        ("ORIGIN_ID", Value::Null),
    ] {
        r.insert(k.to_string(), v);
    }
    r
}

fn apply(rec: &mut Record, fields: &Map<String, Value>) {
    for (name, v) in fields {
        let name = name.to_ascii_uppercase();
        if let Some(kind) = writable(&name) {
            let stored = match kind {
                Kind::Text => text(v),
                Kind::Int => int(v),
                Kind::Money => money(v),
                Kind::YesNo => yes_no(v),
            };
            rec.insert(name, stored);
        } else if name.starts_with("UF_CRM_") {
            rec.insert(name, text(v));
        }
    }
}

pub(super) fn add(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let fields = params.fields()?;
    let portal = &mut *ctx.portal;
    let mut rec = new_record(portal, 0);
    apply(&mut rec, &fields);
    if rec
        .get("TITLE")
        .and_then(value_text)
        .is_none_or(|t| t.trim().is_empty())
    {
        return Err(ApiFailure::method("The field TITLE is required."));
    }
    let id = portal.take_company_id();
    rec.insert("ID".into(), json!(id.to_string()));
    portal.companies.insert(id, rec);
    Ok(MethodOk::of(json!(id)))
}

pub(super) fn get(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("ID is not defined or invalid."))?;
    let rec = ctx
        .portal
        .companies
        .get(&id)
        .ok_or_else(|| ApiFailure::method("Not found"))?;
    Ok(MethodOk::of(Value::Object(rec.clone())))
}

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    super::list_records(ctx.portal.companies.values(), params, &[], &is_standard)
}

pub(super) fn update(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("ID is not defined or invalid."))?;
    let fields = params.fields()?;
    let rec = ctx
        .portal
        .companies
        .get_mut(&id)
        .ok_or_else(|| ApiFailure::method("Company is not found"))?;
    apply(rec, &fields);
    rec.insert("DATE_MODIFY".into(), json!(now_iso()));
    Ok(MethodOk::of(json!(true)))
}

/// `crm.company.delete`: removes the company and its requisites (as the portal does); the
/// deals and contacts that named it keep their `COMPANY_ID` (UNCONFIRMED: the portal may clear
/// the links).
pub(super) fn delete(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("ID is not defined or invalid."))?;
    let portal = &mut *ctx.portal;
    if portal.companies.remove(&id).is_none() {
        return Err(ApiFailure::method("Not found"));
    }
    let id_text = id.to_string();
    portal.requisites.retain(|_, r| {
        !(r.get("ENTITY_TYPE_ID").and_then(value_text).as_deref() == Some("4")
            && r.get("ENTITY_ID").and_then(value_text).as_deref() == Some(id_text.as_str()))
    });
    Ok(MethodOk::of(json!(true)))
}

/// `crm.requisite.add`: `ENTITY_TYPE_ID`, `ENTITY_ID`, `PRESET_ID` and `NAME` are required (docs).
/// UNCONFIRMED: the exact error wordings.
pub(super) fn requisite_add(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let fields = params.fields()?;
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .and_then(|(_, v)| value_text(v))
            .filter(|t| !t.trim().is_empty())
    };
    let num = |k: &str| get(k).and_then(|t| t.trim().parse::<u64>().ok());
    let (Some(entity_type), Some(entity_id), Some(preset), Some(name)) = (
        num("ENTITY_TYPE_ID"),
        num("ENTITY_ID"),
        num("PRESET_ID"),
        get("NAME"),
    ) else {
        return Err(ApiFailure::method(
            "ENTITY_TYPE_ID, ENTITY_ID, PRESET_ID and NAME are required.",
        ));
    };
    let portal = &mut *ctx.portal;
    if entity_type != COMPANY_TYPE || !portal.companies.contains_key(&entity_id) {
        return Err(ApiFailure::method("Entity not found."));
    }
    let id = portal.take_requisite_id();
    let now = now_iso();
    let mut rec = Map::new();
    for (k, v) in [
        ("ID", json!(id.to_string())),
        ("ENTITY_TYPE_ID", json!(entity_type.to_string())),
        ("ENTITY_ID", json!(entity_id.to_string())),
        ("PRESET_ID", json!(preset.to_string())),
        ("NAME", json!(name)),
        ("ACTIVE", json!("Y")),
        ("SORT", json!("500")),
        ("DATE_CREATE", json!(now)),
        ("RQ_INN", json!(get("RQ_INN").unwrap_or_default())),
        ("RQ_KPP", json!(get("RQ_KPP").unwrap_or_default())),
        (
            "RQ_COMPANY_NAME",
            json!(get("RQ_COMPANY_NAME").unwrap_or_default()),
        ),
    ] {
        rec.insert(k.to_string(), v);
    }
    portal.requisites.insert(id, rec);
    Ok(MethodOk::of(json!(id)))
}

pub(super) fn requisite_list(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    super::list_records(ctx.portal.requisites.values(), params, &[], &|_| true)
}
