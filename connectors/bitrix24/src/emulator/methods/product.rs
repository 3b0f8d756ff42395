//! `crm.product.add/get/list/update/delete`: the CRM's own product catalog (the "outdated" but
//! still served product API; `catalog.product.*` is the newer one).
//!
//! Read shape as the docs' field list gives it (`ID`, `CATALOG_ID`, `PRICE`, `CURRENCY_ID`,
//! `NAME`, `CODE`, `DESCRIPTION`, `DESCRIPTION_TYPE`, `ACTIVE`, `SECTION_ID`, `SORT`, `VAT_ID`,
//! `VAT_INCLUDED`, `MEASURE`, `XML_ID`, `DATE_CREATE`, `TIMESTAMP_X`, `MODIFIED_BY`,
//! `CREATED_BY`). UNCONFIRMED: whether a portal sends `PRICE` as `"1000.00"` or `"1000"`; the
//! emulator uses the two-decimal form of other money fields.

use super::fields::{int, money, text, yes_no};
use super::{ApiFailure, Ctx, MethodOk, Params};
use crate::emulator::state::{now_iso, Record};
use serde_json::{json, Map, Value};

enum Kind {
    Text,
    Int,
    Money,
    YesNo,
}

fn writable(name: &str) -> Option<Kind> {
    Some(match name {
        "NAME" | "CODE" | "DESCRIPTION" | "DESCRIPTION_TYPE" | "CURRENCY_ID" | "XML_ID" => {
            Kind::Text
        }
        "SECTION_ID" | "SORT" | "VAT_ID" | "MEASURE" | "CATALOG_ID" => Kind::Int,
        "PRICE" => Kind::Money,
        "ACTIVE" | "VAT_INCLUDED" => Kind::YesNo,
        _ => return None,
    })
}

fn is_standard(name: &str) -> bool {
    !name.starts_with("PROPERTY_")
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
        }
    }
}

pub(super) fn add(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let fields = params.fields()?;
    let has_name = fields.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("NAME") && text(v).as_str().is_some_and(|s| !s.is_empty())
    });
    if !has_name {
        // UNCONFIRMED wording; the portal requires a name.
        return Err(ApiFailure::method("The field NAME is required."));
    }
    let portal = &mut *ctx.portal;
    let id = portal.take_product_id();
    let now = now_iso();
    let user = json!(portal.user_id.to_string());
    let mut rec = Map::new();
    for (k, v) in [
        ("ID", json!(id.to_string())),
        ("CATALOG_ID", json!("25")),
        ("PRICE", json!("0.00")),
        ("CURRENCY_ID", json!("RUB")),
        ("NAME", Value::Null),
        ("CODE", Value::Null),
        ("DESCRIPTION", Value::Null),
        ("DESCRIPTION_TYPE", json!("text")),
        ("ACTIVE", json!("Y")),
        ("SECTION_ID", Value::Null),
        ("SORT", json!("500")),
        ("VAT_ID", Value::Null),
        ("VAT_INCLUDED", json!("N")),
        ("MEASURE", Value::Null),
        ("XML_ID", json!(id.to_string())),
        ("PREVIEW_PICTURE", Value::Null),
        ("DETAIL_PICTURE", Value::Null),
        ("DATE_CREATE", json!(now)),
        ("TIMESTAMP_X", json!(now)),
        ("MODIFIED_BY", user.clone()),
        ("CREATED_BY", user),
    ] {
        rec.insert(k.to_string(), v);
    }
    apply(&mut rec, &fields);
    portal.products.insert(id, rec);
    Ok(MethodOk::of(json!(id)))
}

pub(super) fn get(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("The parameter id is invalid or not defined."))?;
    let rec = ctx
        .portal
        .products
        .get(&id)
        .ok_or_else(|| ApiFailure::method("Product is not found"))?;
    Ok(MethodOk::of(Value::Object(rec.clone())))
}

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    super::list_records(ctx.portal.products.values(), params, &[], &is_standard)
}

pub(super) fn update(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("The parameter id is invalid or not defined."))?;
    let fields = params.fields()?;
    let portal = &mut *ctx.portal;
    let rec = portal
        .products
        .get_mut(&id)
        .ok_or_else(|| ApiFailure::method("Product is not found"))?;
    apply(rec, &fields);
    rec.insert("TIMESTAMP_X".into(), json!(now_iso()));
    Ok(MethodOk::of(json!(true)))
}

pub(super) fn delete(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("The parameter id is invalid or not defined."))?;
    if ctx.portal.products.remove(&id).is_none() {
        return Err(ApiFailure::method("Product is not found"));
    }
    Ok(MethodOk::of(json!(true)))
}
