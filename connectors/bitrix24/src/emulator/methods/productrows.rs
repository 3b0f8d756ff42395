//! `crm.deal.productrows.set/get`: `set` replaces every row of the deal.

use super::deal::recompute_amount;
use super::fields::decimal;
use super::{ApiFailure, Ctx, MethodOk, Params};
use crate::emulator::state::{now_iso, RowRec};
use crate::php_query::as_list;
use crate::wire::value_text;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

const BAD_ID: &str = "The parameter id is invalid or not defined.";

fn deal_id(ctx: &Ctx<'_>, params: &Params) -> Result<u64, ApiFailure> {
    let id = params.id().ok_or_else(|| ApiFailure::method(BAD_ID))?;
    if !ctx.portal.deals.contains_key(&id) {
        // UNCONFIRMED: wording for an id that does not exist.
        return Err(ApiFailure::method("Not found"));
    }
    Ok(id)
}

fn field<'a>(row: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    row.get(name)
        .or_else(|| {
            row.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

fn parse_row(row: &Map<String, Value>, index: usize) -> RowRec {
    let dec = |name: &str, default: Decimal| field(row, name).map_or(default, decimal);
    let int = |name: &str, default: i64| {
        field(row, name)
            .and_then(value_text)
            .and_then(|t| t.trim().parse::<i64>().ok())
            .unwrap_or(default)
    };
    let tax_rate = field(row, "TAX_RATE")
        .and_then(value_text)
        .filter(|t| !t.trim().is_empty())
        .map(|t| decimal(&Value::String(t)));
    RowRec {
        id: 0,
        product_id: int("PRODUCT_ID", 0).max(0) as u64,
        name: field(row, "PRODUCT_NAME")
            .and_then(value_text)
            .unwrap_or_default(),
        price: dec("PRICE", Decimal::ZERO),
        quantity: dec("QUANTITY", Decimal::ONE),
        discount_type_id: int("DISCOUNT_TYPE_ID", 2).clamp(1, 2) as u8,
        discount_rate: dec("DISCOUNT_RATE", Decimal::ZERO),
        discount_sum: dec("DISCOUNT_SUM", Decimal::ZERO),
        tax_rate,
        tax_included: field(row, "TAX_INCLUDED")
            .and_then(value_text)
            .is_some_and(|t| t.eq_ignore_ascii_case("Y")),
        measure_code: int("MEASURE_CODE", 796).max(0) as u32,
        measure_name: field(row, "MEASURE_NAME")
            .and_then(value_text)
            .unwrap_or_else(|| "шт".into()),
        sort: int("SORT", (index as i64 + 1) * 10),
    }
}

pub(super) fn set(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = deal_id(ctx, params)?;
    let rows_param = params.get("rows");
    let list: Vec<&Value> = match rows_param {
        // An empty list disappears from a form body: `rows=` (or no rows) clears the deal.
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(v) => as_list(v)
            // UNCONFIRMED wording, modelled on "Parameter 'fields' must be array.".
            .ok_or_else(|| ApiFailure::method("Parameter 'rows' must be array."))?,
    };
    let mut parsed = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let Some(obj) = r.as_object() else {
            return Err(ApiFailure::method("Parameter 'rows' must be array."));
        };
        parsed.push(parse_row(obj, i));
    }
    for r in &mut parsed {
        r.id = ctx.portal.take_row_id();
    }
    ctx.portal.rows.insert(id, parsed);
    if let Some(rec) = ctx.portal.deals.get_mut(&id) {
        rec.insert("DATE_MODIFY".into(), json!(now_iso()));
    }
    recompute_amount(ctx.portal, id, true);
    // UNCONFIRMED whether a portal raises ONCRMDEALUPDATE for a rows-only change; DATE_MODIFY
    // moves, so the emulator tells handlers too.
    ctx.portal.raise("ONCRMDEALUPDATE", id);
    Ok(MethodOk::of(json!(true)))
}

pub(super) fn get(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let id = deal_id(ctx, params)?;
    Ok(MethodOk::of(Value::Array(render_rows(ctx.portal, id))))
}

/// The deal's rows in wire shape, by `SORT` then id.
pub(crate) fn render_rows(portal: &crate::emulator::state::Portal, id: u64) -> Vec<Value> {
    let mut rows = portal.rows.get(&id).cloned().unwrap_or_default();
    rows.sort_by_key(|r| (r.sort, r.id));
    rows.iter().map(|r| r.render(id)).collect()
}
