//! The emulated REST methods, and what they share: params, results, errors, paging.

mod batch;
mod catalog;
mod category;
mod company;
mod contact;
mod deal;
mod event;
mod fields;
mod product;
mod productrows;
pub(crate) use productrows::render_rows;
mod status;
mod timeline;

use super::state::Portal;
use crate::php_query::as_list;
use crate::wire::value_text;
use dealbridge_sdk::fault::CallCounters;
use serde_json::{json, Map, Value};

/// Rows per page of every list method.
pub(crate) const PAGE_SIZE: u64 = 50;

/// The request params, plus the order of the `cmd` keys of a `batch` (a JSON object loses it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pub value: Value,
    pub cmd_order: Vec<String>,
}

impl Params {
    /// A param by name, ignoring case: Bitrix24's REST layer upper-cases param names, so `id`
    /// and `ID` are the same.
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        let map = self.value.as_object()?;
        map.get(name).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// A positive integer id param (`id: 5` or `id: "5"`).
    pub(crate) fn id(&self) -> Option<u64> {
        self.get("id")
            .and_then(value_text)
            .and_then(|t| t.trim().parse::<u64>().ok())
            .filter(|n| *n > 0)
    }

    /// `fields`, which must be a PHP array (a JSON object, or an empty list).
    pub(crate) fn fields(&self) -> Result<Map<String, Value>, ApiFailure> {
        match self.get("fields") {
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(Value::Array(a)) if a.is_empty() => Ok(Map::new()),
            _ => Err(ApiFailure::method("Parameter 'fields' must be array.")),
        }
    }
}

/// A method's successful answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MethodOk {
    pub result: Value,
    pub total: Option<u64>,
    pub next: Option<u64>,
}

impl MethodOk {
    pub(crate) fn of(result: Value) -> Self {
        MethodOk {
            result,
            total: None,
            next: None,
        }
    }
}

/// A method's error answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiFailure {
    pub status: u16,
    pub code: String,
    pub description: String,
}

impl ApiFailure {
    /// A CRM method error: HTTP 400, empty code, a description.
    pub(crate) fn method(description: &str) -> Self {
        ApiFailure {
            status: 400,
            code: String::new(),
            description: description.to_string(),
        }
    }

    /// An error with a code.
    pub(crate) fn coded(status: u16, code: &str, description: &str) -> Self {
        ApiFailure {
            status,
            code: code.to_string(),
            description: description.to_string(),
        }
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Value {
        json!({ "error": self.code, "error_description": self.description })
    }
}

/// What a method runs against.
pub(crate) struct Ctx<'a> {
    pub portal: &'a mut Portal,
    pub counters: &'a CallCounters,
}

/// Runs one method. Unknown methods get Bitrix24's 404 `ERROR_METHOD_NOT_FOUND`.
pub(crate) fn dispatch(
    ctx: &mut Ctx<'_>,
    method: &str,
    params: &Params,
) -> Result<MethodOk, ApiFailure> {
    let m = method.to_ascii_lowercase();
    let handler: fn(&mut Ctx<'_>, &Params) -> Result<MethodOk, ApiFailure> = match m.as_str() {
        "crm.deal.add" => deal::add,
        "crm.deal.get" => deal::get,
        "crm.deal.list" => deal::list,
        "crm.deal.update" => deal::update,
        "crm.deal.delete" => deal::delete,
        "crm.deal.productrows.set" => productrows::set,
        "crm.deal.productrows.get" => productrows::get,
        "crm.contact.add" => contact::add,
        "crm.contact.get" => contact::get,
        "crm.contact.list" => contact::list,
        "crm.contact.update" => contact::update,
        "crm.status.list" => status::list,
        "crm.category.list" => category::list,
        "crm.company.add" => company::add,
        "crm.company.get" => company::get,
        "crm.company.list" => company::list,
        "crm.company.update" => company::update,
        "crm.company.delete" => company::delete,
        "crm.requisite.add" => company::requisite_add,
        "crm.requisite.list" => company::requisite_list,
        "catalog.product.add" => catalog::product_add,
        "catalog.product.get" => catalog::product_get,
        "catalog.product.list" => catalog::product_list,
        "catalog.product.update" => catalog::product_update,
        "catalog.price.add" => catalog::price_add,
        "catalog.price.get" => catalog::price_get,
        "catalog.price.list" => catalog::price_list,
        "catalog.price.update" => catalog::price_update,
        "catalog.price.modify" => catalog::price_modify,
        "crm.product.add" => product::add,
        "crm.product.get" => product::get,
        "crm.product.list" => product::list,
        "crm.product.update" => product::update,
        "crm.product.delete" => product::delete,
        "crm.timeline.comment.add" => timeline::add,
        "crm.timeline.comment.list" => timeline::list,
        "event.offline.get" => event::get,
        "event.offline.clear" => event::clear,
        "batch" => batch::run,
        _ => {
            return Err(ApiFailure::coded(
                404,
                "ERROR_METHOD_NOT_FOUND",
                "Method not found!",
            ))
        }
    };
    ctx.counters.served(method);
    handler(ctx, params)
}

/// One page of `rows` from the `start` param, with `total` and `next` as list methods answer.
/// `start=-1` skips the count: first page, no `total`, no `next`. Like the portal, a `start`
/// inside a page is rounded down to the page's first row.
pub(crate) fn paginate(rows: Vec<Value>, params: &Params) -> MethodOk {
    let start_raw = params
        .get("start")
        .and_then(value_text)
        .and_then(|t| t.trim().parse::<i64>().ok())
        .unwrap_or(0);
    if start_raw < 0 {
        let page: Vec<Value> = rows.into_iter().take(PAGE_SIZE as usize).collect();
        return MethodOk::of(Value::Array(page));
    }
    let start = (start_raw as u64 / PAGE_SIZE) * PAGE_SIZE;
    let total = rows.len() as u64;
    let page: Vec<Value> = rows
        .into_iter()
        .skip(start as usize)
        .take(PAGE_SIZE as usize)
        .collect();
    let next = (start + PAGE_SIZE < total).then_some(start + PAGE_SIZE);
    MethodOk {
        result: Value::Array(page),
        total: Some(total),
        next,
    }
}

/// `select` as given (list or PHP array), for [`super::filter::project`].
pub(crate) fn select_param(params: &Params) -> Option<Value> {
    let v = params.get("select")?;
    as_list(v).map(|l| Value::Array(l.into_iter().cloned().collect()))
}

/// `crm.<entity>.list`: `filter` (with `multi` fields such as EMAIL/PHONE matched by any value),
/// `order`, `select`, then one 50-row page: the same for every CRM entity.
fn list_records<'a>(
    records: impl Iterator<Item = &'a super::state::Record>,
    params: &Params,
    multi: &[&str],
    default_fields: &dyn Fn(&str) -> bool,
) -> Result<MethodOk, ApiFailure> {
    use super::filter::{matches, parse_filter, project, sort};
    let conds = parse_filter(params.get("filter"))?;
    let mut rows: Vec<super::state::Record> = records
        .filter(|r| matches(r, &conds, multi))
        .cloned()
        .collect();
    sort(&mut rows, params.get("order"))?;
    let select = select_param(params);
    let rows = rows
        .iter()
        .map(|r| Value::Object(project(r, select.as_ref(), default_fields)))
        .collect();
    Ok(paginate(rows, params))
}
