//! `crm.contact.add/get/list/update`, with the `PHONE`/`EMAIL`/`WEB`/`IM` multi-fields.

use super::fields::{date, int, text, yes_no};
use super::{ApiFailure, Ctx, MethodOk, Params};
use crate::emulator::state::{now_iso, Portal, Record};
use crate::php_query::as_list;
use crate::wire::value_text;
use serde_json::{json, Map, Value};

/// Multi-field names.
pub(crate) const MULTI: [&str; 4] = ["PHONE", "EMAIL", "WEB", "IM"];

enum Kind {
    Text,
    Int,
    YesNo,
    Date,
}

fn writable(name: &str) -> Option<Kind> {
    Some(match name {
        "NAME"
        | "SECOND_NAME"
        | "LAST_NAME"
        | "POST"
        | "COMMENTS"
        | "HONORIFIC"
        | "TYPE_ID"
        | "SOURCE_ID"
        | "SOURCE_DESCRIPTION"
        | "ORIGINATOR_ID"
        | "ORIGIN_ID"
        | "ORIGIN_VERSION"
        | "ADDRESS"
        | "ADDRESS_2"
        | "ADDRESS_CITY"
        | "ADDRESS_POSTAL_CODE"
        | "ADDRESS_REGION"
        | "ADDRESS_PROVINCE"
        | "ADDRESS_COUNTRY"
        | "UTM_SOURCE"
        | "UTM_MEDIUM"
        | "UTM_CAMPAIGN"
        | "UTM_CONTENT"
        | "UTM_TERM" => Kind::Text,
        "COMPANY_ID" | "ASSIGNED_BY_ID" | "LEAD_ID" => Kind::Int,
        "OPENED" | "EXPORT" => Kind::YesNo,
        "BIRTHDATE" => Kind::Date,
        _ => return None,
    })
}

/// Fields `crm.contact.list` returns without `select`: multi-fields and user fields must be
/// selected by name (`select: ["*", "EMAIL"]`).
fn is_standard(name: &str) -> bool {
    !name.starts_with("UF_") && !MULTI.contains(&name)
}

fn new_record(portal: &Portal, id: u64) -> Record {
    let now = now_iso();
    let user = json!(portal.user_id.to_string());
    let mut r = Map::new();
    for (k, v) in [
        ("ID", json!(id.to_string())),
        ("NAME", Value::Null),
        ("SECOND_NAME", Value::Null),
        ("LAST_NAME", Value::Null),
        ("POST", Value::Null),
        ("COMMENTS", Value::Null),
        ("HONORIFIC", Value::Null),
        ("PHOTO", Value::Null),
        ("LEAD_ID", Value::Null),
        ("TYPE_ID", json!("CLIENT")),
        ("SOURCE_ID", Value::Null),
        ("SOURCE_DESCRIPTION", Value::Null),
        ("COMPANY_ID", Value::Null),
        ("BIRTHDATE", json!("")),
        ("EXPORT", json!("Y")),
        ("HAS_PHONE", json!("N")),
        ("HAS_EMAIL", json!("N")),
        ("HAS_IMOL", json!("N")),
        ("DATE_CREATE", json!(now)),
        ("DATE_MODIFY", json!(now)),
        ("ASSIGNED_BY_ID", user.clone()),
        ("CREATED_BY_ID", user.clone()),
        ("MODIFY_BY_ID", user.clone()),
        ("OPENED", json!("Y")),
        ("ORIGINATOR_ID", Value::Null),
        ("ORIGIN_ID", Value::Null),
        ("ORIGIN_VERSION", Value::Null),
        ("LAST_ACTIVITY_TIME", json!(now)),
        ("LAST_ACTIVITY_BY", user),
    ] {
        r.insert(k.to_string(), v);
    }
    r
}

/// Applies written multi-field values: an item with `ID` updates that value (or deletes it with
/// `DELETE: "Y"` or an empty `VALUE`); an item without `ID` adds a value.
fn apply_multi(portal: &mut Portal, rec: &mut Record, name: &str, items: &Value) {
    let mut current: Vec<Value> = rec
        .get(name)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for item in as_list(items).unwrap_or_default() {
        let Some(item) = item.as_object() else {
            continue;
        };
        let get = |k: &str| item.get(k).and_then(value_text);
        let value = get("VALUE");
        match get("ID") {
            Some(id) => {
                let pos = current
                    .iter()
                    .position(|c| c.get("ID").and_then(value_text).as_deref() == Some(id.trim()));
                let Some(pos) = pos else { continue };
                let delete = get("DELETE").is_some_and(|d| d.eq_ignore_ascii_case("Y"))
                    || value.as_deref().is_some_and(|v| v.trim().is_empty());
                if delete {
                    current.remove(pos);
                    continue;
                }
                if let Some(v) = value {
                    current[pos]["VALUE"] = json!(v);
                }
                if let Some(t) = get("VALUE_TYPE") {
                    current[pos]["VALUE_TYPE"] = json!(t);
                }
            }
            None => {
                let Some(v) = value.filter(|v| !v.trim().is_empty()) else {
                    continue;
                };
                let id = portal.take_multi_id();
                current.push(json!({
                    "ID": id.to_string(),
                    "VALUE_TYPE": get("VALUE_TYPE").unwrap_or_else(|| "WORK".into()),
                    "VALUE": v,
                    "TYPE_ID": name,
                }));
            }
        }
    }
    if current.is_empty() {
        rec.remove(name);
    } else {
        rec.insert(name.to_string(), Value::Array(current));
    }
}

fn apply(portal: &mut Portal, rec: &mut Record, fields: &Map<String, Value>) {
    for (name, v) in fields {
        let name = name.to_ascii_uppercase();
        if MULTI.contains(&name.as_str()) {
            apply_multi(portal, rec, &name, v);
        } else if let Some(kind) = writable(&name) {
            let stored = match kind {
                Kind::Text => text(v),
                Kind::Int => int(v),
                Kind::YesNo => yes_no(v),
                Kind::Date => date(v),
            };
            rec.insert(name, stored);
        } else if name.starts_with("UF_CRM_") {
            let stored = if v.is_array() || v.is_object() {
                v.clone()
            } else {
                text(v)
            };
            rec.insert(name, stored);
        }
    }
    let has = |k: &str| if rec.contains_key(k) { "Y" } else { "N" };
    let (p, e) = (has("PHONE"), has("EMAIL"));
    rec.insert("HAS_PHONE".into(), json!(p));
    rec.insert("HAS_EMAIL".into(), json!(e));
}

pub(super) fn add(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let fields = params.fields()?;
    let portal = &mut *ctx.portal;
    let id = portal.take_contact_id();
    let mut rec = new_record(portal, id);
    apply(portal, &mut rec, &fields);
    portal.contacts.insert(id, rec);
    Ok(MethodOk::of(json!(id)))
}

pub(super) fn get(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("ID is not defined or invalid."))?;
    let rec = ctx
        .portal
        .contacts
        .get(&id)
        .ok_or_else(|| ApiFailure::method("Not found"))?;
    Ok(MethodOk::of(Value::Object(rec.clone())))
}

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    super::list_records(ctx.portal.contacts.values(), params, &MULTI, &is_standard)
}

pub(super) fn update(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("ID is not defined or invalid."))?;
    let fields = params.fields()?;
    let portal = &mut *ctx.portal;
    let mut rec = portal
        .contacts
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiFailure::method("Contact is not found"))?;
    apply(portal, &mut rec, &fields);
    rec.insert("DATE_MODIFY".into(), json!(now_iso()));
    portal.contacts.insert(id, rec);
    Ok(MethodOk::of(json!(true)))
}
