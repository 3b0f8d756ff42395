//! `catalog.product.add/get/list/update` and `catalog.price.add/get/list/update/modify`: the
//! trade catalog API (camelCase fields, numbers as JSON numbers).
//!
//! Shapes as the vendor examples (`catalog-product-*.json`, `catalog-price-*.json`):
//! `add`/`update` answer `{"element": {…}}`, `get` answers `{"product": {…}}`, `list` answers
//! `{"products": [...]}` with `total`; prices come as `{"prices": [...]}` from `list` and
//! `modify`. `catalog.product.list` needs `filter.iblockId` and a `select` (docs: "Required
//! field: iblockId", "Include id and iblockId").
//!
//! UNCONFIRMED (no vendor example or docs text found): `catalog.price.add/get/update` answering
//! `{"price": {…}}`; the wording of the "not found" and "required" errors (the vendor examples
//! use numeric codes like `200040300010` and `0`; the emulator sends the description with an
//! empty code); `catalog.price.list` accepting an array `productId` as IN (the docs' generic
//! filter rules say arrays mean IN).

use super::{paginate, ApiFailure, Ctx, MethodOk, Params};
use crate::emulator::filter::{matches, parse_filter, sort};
use crate::emulator::state::{now_iso, num, Record};
use crate::php_query::as_list;
use crate::wire::{parse_decimal_text, value_text};
use serde_json::{json, Map, Value};

/// Fields `catalog.product.list` can return that `add`/`get`/`update` leave out (the vendor
/// examples show them only in the list answer).
const LIST_ONLY: [&str; 5] = [
    "barcodeMulti",
    "recurSchemeLength",
    "recurSchemeType",
    "trialPriceId",
    "withoutOrder",
];

fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    fields.get(name).or_else(|| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn int_of(v: &Value) -> Option<i64> {
    value_text(v).and_then(|t| t.trim().parse::<i64>().ok())
}

fn not_found() -> ApiFailure {
    ApiFailure::method("Product is not exists")
}

/// Writes product fields by their type on the wire.
fn apply_product(rec: &mut Record, fields: &Map<String, Value>) {
    for (name, v) in fields {
        let Some(canon) = rec.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned() else {
            continue;
        };
        let stored = match canon.as_str() {
            "id" | "createdBy" | "modifiedBy" | "dateCreate" | "timestampX" | "available"
            | "type" => continue,
            "iblockId" | "iblockSectionId" | "measure" | "vatId" | "sort" | "quantity"
            | "quantityReserved" | "height" | "length" | "weight" | "width" => {
                int_of(v).map_or(Value::Null, |n| json!(n))
            }
            "active" | "bundle" | "canBuyZero" | "quantityTrace" | "subscribe" | "vatIncluded"
            | "barcodeMulti" | "withoutOrder" => {
                let yes = value_text(v).is_some_and(|t| t.eq_ignore_ascii_case("Y"));
                json!(if yes { "Y" } else { "N" })
            }
            "purchasingPrice" => value_text(v)
                .and_then(|t| parse_decimal_text(&t))
                .map_or(Value::Null, |d| json!(format!("{:.6}", d))),
            _ => value_text(v).map_or(Value::Null, Value::String),
        };
        rec.insert(canon, stored);
    }
}

fn new_product(id: u64, user: u64) -> Record {
    let now = now_iso();
    let mut r = Map::new();
    for (k, v) in [
        ("active", json!("Y")),
        ("available", json!("Y")),
        ("barcodeMulti", json!("N")),
        ("bundle", json!("N")),
        ("canBuyZero", json!("Y")),
        ("code", Value::Null),
        ("createdBy", json!(user)),
        ("dateActiveFrom", Value::Null),
        ("dateActiveTo", Value::Null),
        ("dateCreate", json!(now)),
        ("detailPicture", Value::Null),
        ("detailText", Value::Null),
        ("detailTextType", json!("text")),
        ("height", Value::Null),
        ("iblockId", Value::Null),
        ("iblockSectionId", Value::Null),
        ("id", json!(id)),
        ("length", Value::Null),
        ("measure", Value::Null),
        ("modifiedBy", json!(user)),
        ("name", Value::Null),
        ("previewPicture", Value::Null),
        ("previewText", Value::Null),
        ("previewTextType", json!("text")),
        ("purchasingCurrency", Value::Null),
        ("purchasingPrice", Value::Null),
        ("quantity", json!(0)),
        ("quantityReserved", json!(0)),
        ("quantityTrace", json!("D")),
        ("recurSchemeLength", Value::Null),
        ("recurSchemeType", json!("D")),
        ("sort", json!(100)),
        ("subscribe", json!("D")),
        ("timestampX", json!(now)),
        ("trialPriceId", Value::Null),
        ("type", json!(1)),
        ("vatId", Value::Null),
        ("vatIncluded", json!("N")),
        ("weight", Value::Null),
        ("width", Value::Null),
        ("withoutOrder", json!("N")),
        // A new element's XML_ID defaults to its id, as the vendor example shows.
        ("xmlId", json!(id.to_string())),
    ] {
        r.insert(k.to_string(), v);
    }
    r
}

/// The product as `add`/`get`/`update` show it.
fn element(rec: &Record) -> Value {
    Value::Object(
        rec.iter()
            .filter(|(k, _)| !LIST_ONLY.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

fn product_id(params: &Params) -> Result<u64, ApiFailure> {
    params
        .id()
        .ok_or_else(|| ApiFailure::method("Required parameter: id"))
}

pub(super) fn product_add(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let fields = params.fields()?;
    let iblock = field(&fields, "iblockId").and_then(int_of);
    let name = field(&fields, "name")
        .and_then(value_text)
        .filter(|n| !n.trim().is_empty());
    let (Some(iblock), Some(_)) = (iblock, name) else {
        return Err(ApiFailure::method("Required fields: iblockId, name"));
    };
    let portal = &mut *ctx.portal;
    if !portal.iblocks.contains(&(iblock as u64)) {
        return Err(ApiFailure::method("Iblock is not a catalog"));
    }
    let id = portal.take_product_id();
    let mut rec = new_product(id, portal.user_id);
    apply_product(&mut rec, &fields);
    portal.catalog_products.insert(id, rec.clone());
    Ok(MethodOk::of(json!({ "element": element(&rec) })))
}

pub(super) fn product_update(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = product_id(params)?;
    let fields = params.fields()?;
    let portal = &mut *ctx.portal;
    let user = portal.user_id;
    let rec = portal.catalog_products.get_mut(&id).ok_or_else(not_found)?;
    apply_product(rec, &fields);
    rec.insert("timestampX".into(), json!(now_iso()));
    rec.insert("modifiedBy".into(), json!(user));
    Ok(MethodOk::of(json!({ "element": element(rec) })))
}

pub(super) fn product_get(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = product_id(params)?;
    let rec = ctx.portal.catalog_products.get(&id).ok_or_else(not_found)?;
    Ok(MethodOk::of(json!({ "product": element(rec) })))
}

/// `select` names; an absent or empty select takes every field.
fn select_names(params: &Params) -> Vec<String> {
    params
        .get("select")
        .and_then(as_list)
        .map(|l| l.iter().filter_map(|v| value_text(v)).collect())
        .unwrap_or_default()
}

fn project(rec: &Record, names: &[String]) -> Value {
    if names.is_empty() || names.iter().any(|n| n == "*") {
        return Value::Object(rec.clone());
    }
    Value::Object(
        rec.iter()
            .filter(|(k, _)| names.iter().any(|n| n == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

pub(super) fn product_list(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let filter = params.get("filter");
    let has_iblock = filter.and_then(Value::as_object).is_some_and(|f| {
        f.keys()
            .any(|k| k.trim_start_matches(['=', '@']) == "iblockId")
    });
    if !has_iblock {
        return Err(ApiFailure::method("Required filter fields: iblockId"));
    }
    let names = select_names(params);
    if names.is_empty() {
        return Err(ApiFailure::method("Required select fields: id, iblockId"));
    }
    let conds = parse_filter(filter)?;
    let mut rows: Vec<Record> = ctx
        .portal
        .catalog_products
        .values()
        .filter(|r| matches(r, &conds, &[]))
        .cloned()
        .collect();
    sort(&mut rows, params.get("order"))?;
    let rows = rows.iter().map(|r| project(r, &names)).collect();
    let page = paginate(rows, params);
    Ok(MethodOk {
        result: json!({ "products": page.result }),
        total: page.total,
        next: page.next,
    })
}

/// A price's fields from a request: `(productId, catalogGroupId, price, currency)`; `None`
/// names the missing ones.
fn price_parts(fields: &Map<String, Value>) -> Result<(Option<u64>, u64, Value, String), String> {
    let product = field(fields, "productId")
        .and_then(int_of)
        .map(|n| n as u64);
    let group = field(fields, "catalogGroupId").and_then(int_of);
    let price = field(fields, "price")
        .and_then(value_text)
        .and_then(|t| parse_decimal_text(&t));
    let currency = field(fields, "currency")
        .and_then(value_text)
        .filter(|c| !c.trim().is_empty());
    let mut missing = Vec::new();
    if group.is_none() {
        missing.push("catalogGroupId");
    }
    if price.is_none() {
        missing.push("price");
    }
    if currency.is_none() {
        missing.push("currency");
    }
    if !missing.is_empty() {
        return Err(format!("Required fields: {}", missing.join(", ")));
    }
    let (Some(group), Some(price), Some(currency)) = (group, price, currency) else {
        return Err("Required fields: price, currency".into());
    };
    Ok((product, group as u64, num(price), currency))
}

fn check_group(ctx: &Ctx<'_>, group: u64) -> Result<(), ApiFailure> {
    if ctx.portal.price_types.contains(&group) {
        Ok(())
    } else {
        Err(ApiFailure::method(
            "Validate price error. Catalog price group is wrong",
        ))
    }
}

fn new_price(id: u64, product: u64, group: u64, price: Value, currency: String) -> Record {
    let mut r = Map::new();
    for (k, v) in [
        ("catalogGroupId", json!(group)),
        ("currency", json!(currency)),
        ("extraId", Value::Null),
        ("id", json!(id)),
        ("price", price.clone()),
        ("priceScale", price),
        ("productId", json!(product)),
        ("quantityFrom", Value::Null),
        ("quantityTo", Value::Null),
        ("timestampX", json!(now_iso())),
    ] {
        r.insert(k.to_string(), v);
    }
    r
}

/// One price per product and price type (no quantity ranges), as the portal enforces.
fn duplicate_group() -> ApiFailure {
    ApiFailure::method("Validate price error. Catalog product is allowed to have only a single price without ranges in the price group")
}

pub(super) fn price_add(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let fields = params.fields()?;
    let (product, group, price, currency) =
        price_parts(&fields).map_err(|m| ApiFailure::method(&m))?;
    let product = product.ok_or_else(|| ApiFailure::method("Required fields: productId"))?;
    check_group(ctx, group)?;
    let portal = &mut *ctx.portal;
    if !portal.catalog_products.contains_key(&product) {
        return Err(not_found());
    }
    let taken = portal.catalog_prices.values().any(|p| {
        p.get("productId") == Some(&json!(product))
            && p.get("catalogGroupId") == Some(&json!(group))
    });
    if taken {
        return Err(duplicate_group());
    }
    let id = portal.take_catalog_price_id();
    let rec = new_price(id, product, group, price, currency);
    portal.catalog_prices.insert(id, rec.clone());
    Ok(MethodOk::of(json!({ "price": rec })))
}

pub(super) fn price_get(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("Required parameter: id"))?;
    let rec = ctx
        .portal
        .catalog_prices
        .get(&id)
        .ok_or_else(|| ApiFailure::method("Price is not exists"))?;
    Ok(MethodOk::of(json!({ "price": rec })))
}

pub(super) fn price_update(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = params
        .id()
        .ok_or_else(|| ApiFailure::method("Required parameter: id"))?;
    let fields = params.fields()?;
    let rec = ctx
        .portal
        .catalog_prices
        .get_mut(&id)
        .ok_or_else(|| ApiFailure::method("Price is not exists"))?;
    if let Some(p) = field(&fields, "price")
        .and_then(value_text)
        .and_then(|t| parse_decimal_text(&t))
    {
        rec.insert("price".into(), num(p));
        rec.insert("priceScale".into(), num(p));
    }
    if let Some(c) = field(&fields, "currency").and_then(value_text) {
        rec.insert("currency".into(), json!(c));
    }
    rec.insert("timestampX".into(), json!(now_iso()));
    Ok(MethodOk::of(json!({ "price": rec })))
}

pub(super) fn price_list(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let conds = parse_filter(params.get("filter"))?;
    let mut rows: Vec<Record> = ctx
        .portal
        .catalog_prices
        .values()
        .filter(|r| matches(r, &conds, &[]))
        .cloned()
        .collect();
    sort(&mut rows, params.get("order"))?;
    let names = select_names(params);
    let rows = rows.iter().map(|r| project(r, &names)).collect();
    let page = paginate(rows, params);
    Ok(MethodOk {
        result: json!({ "prices": page.result }),
        total: page.total,
        next: page.next,
    })
}

/// `catalog.price.modify`: the product's whole price collection. Prices given with an `id`
/// are updated, without one are added, and the product's prices not named are deleted (docs).
pub(super) fn price_modify(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let fields = params.fields()?;
    let product = fields
        .get("product")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiFailure::method("Could not find value for parameter {fields}"))?;
    let pid = product
        .get("id")
        .and_then(int_of)
        .map(|n| n as u64)
        .ok_or_else(|| ApiFailure::method("Required fields: id"))?;
    if !ctx.portal.catalog_products.contains_key(&pid) {
        return Err(not_found());
    }
    let items: Vec<Map<String, Value>> = product
        .get("prices")
        .and_then(as_list)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| v.as_object().cloned())
        .collect();
    // Validate everything before changing anything.
    let mut planned = Vec::new();
    let mut groups = Vec::new();
    for item in &items {
        let (_, group, price, currency) = price_parts(item).map_err(|m| ApiFailure::method(&m))?;
        check_group(ctx, group)?;
        if groups.contains(&group) {
            return Err(duplicate_group());
        }
        groups.push(group);
        let id = item.get("id").and_then(int_of).map(|n| n as u64);
        planned.push((id, group, price, currency));
    }
    let portal = &mut *ctx.portal;
    let keep: Vec<u64> = planned.iter().filter_map(|p| p.0).collect();
    portal
        .catalog_prices
        .retain(|id, p| p.get("productId") != Some(&json!(pid)) || keep.contains(id));
    let mut out = Vec::new();
    for (id, group, price, currency) in planned {
        let id = match id.filter(|i| portal.catalog_prices.contains_key(i)) {
            Some(i) => i,
            None => portal.take_catalog_price_id(),
        };
        let rec = new_price(id, pid, group, price, currency);
        portal.catalog_prices.insert(id, rec.clone());
        out.push(Value::Object(rec));
    }
    Ok(MethodOk::of(json!({ "prices": out })))
}
