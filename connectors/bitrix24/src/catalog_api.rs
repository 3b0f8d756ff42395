//! The catalog push in [`CatalogApi::Catalog`] mode: `catalog.product.*` for the product and
//! `catalog.price.*` for its price of one price type.
//!
//! Cost (requests), for N products of which U are updates:
//! - lookups of unbound products by `xmlId`: `⌈N_unbound / 2500⌉` (50 `catalog.product.list`
//!   commands per `batch`, each filtering 50 `xmlId`s);
//! - current price ids of the products to update: `⌈U / 2500⌉` (`catalog.price.list`, same
//!   packing). Updates go through `catalog.price.update` by price id rather than
//!   `catalog.price.modify`, because `modify` replaces the product's whole price collection and
//!   would delete the prices of other price types (docs: "the price whose identifier was not
//!   provided will be deleted");
//! - writes: two commands per product with a price (product + price in the same `batch`, the
//!   price of a new product referring to it as `$result[a<i>][element][id]`), one without:
//!   `⌈2N / 50⌉`.
//!
//! So N new products cost `⌈N/2500⌉ + ⌈2N/50⌉` requests (1000 → 41), about twice
//! [`CatalogApi::CrmProduct`]'s `⌈N/2500⌉ + ⌈N/50⌉` (1000 → 21): `crm.product.*` is the
//! economical mode; use this one when the portal's catalog must be the trade catalog (warehouse,
//! several price types).
//!
//! Read-back for `reconcile` ([`Bitrix24Client::catalog_products_page`]): two requests per
//! 2,500 products (the products, then their prices of the price type).
//!
//! UNCONFIRMED against a live portal: `catalog.price.add/update` answer shapes (not in the docs;
//! only the product's id is read from `catalog.product.add`, whose shape is documented), the
//! "not found" wording of `catalog.product.update` (rebinding matches "not found" and
//! "not exist"), and `catalog.price.list` taking an array `productId` as IN.

use crate::catalog::{product_xml_id, unbind, Outcomes, Plan, Write};
use crate::client::{BatchResult, Bitrix24Client, MAX_BATCH};
use crate::settings::CatalogApi;
use crate::wire::value_text;
use crate::SYSTEM;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::{CatalogItem, CatalogPushed, ExternalRef, Page, PushAction};
use dealbridge_sdk::money::{parse_decimal, round_money, Currency, Money};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Values per IN filter; one list page holds 50 rows.
const LOOKUP_VALUES: usize = 50;

fn protocol(method: &str, what: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Protocol,
        SYSTEM,
        format!("{method}: unexpected answer shape: {what}"),
    )
}

/// Rows of a catalog list answer (`{"products": [...]}`, `{"prices": [...]}`).
fn rows<'a>(result: &'a Value, key: &str) -> &'a [Value] {
    result
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

fn id_text(v: &Value, field: &str) -> Option<(u64, String)> {
    let t = v.get(field).and_then(value_text)?;
    t.parse::<u64>().ok().map(|n| (n, t))
}

impl Bitrix24Client {
    /// `catalog.product.*` fields we own.
    fn catalog_fields(&self, item: &CatalogItem, iblock_id: u32) -> Value {
        let mut f = Map::new();
        f.insert("iblockId".into(), json!(iblock_id));
        f.insert("name".into(), json!(item.name));
        f.insert("xmlId".into(), json!(product_xml_id(item)));
        f.insert("active".into(), json!(if item.active { "Y" } else { "N" }));
        if let Some(d) = &item.description {
            f.insert("detailText".into(), json!(d));
            f.insert("detailTextType".into(), json!("text"));
        }
        if let Some(unit) = &item.unit {
            if let Some(m) = self.settings().measures.get(unit.trim()) {
                f.insert("measure".into(), json!(m));
            }
        }
        if let Some(s) = &self.settings().product_section_id {
            f.insert("iblockSectionId".into(), json!(s));
        }
        Value::Object(f)
    }

    /// Every page of a catalog list method whose rows sit under `key`.
    async fn catalog_list_all(
        &self,
        method: &str,
        params: Value,
        key: &str,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut params = params.as_object().cloned().unwrap_or_default();
        let mut out = Vec::new();
        let mut start = 0u64;
        loop {
            params.insert("start".into(), json!(start));
            let r = self.call(method, Value::Object(params.clone())).await?;
            out.extend(rows(&r.result, key).iter().cloned());
            match r.next {
                Some(n) if n > start => start = n,
                _ => return Ok(out),
            }
        }
    }

    /// Runs IN-filtered list commands, 50 values each and 50 commands per request, and returns
    /// every row (following pages when a command matched more than a page).
    async fn catalog_lookup(
        &self,
        method: &str,
        key: &str,
        values: &[String],
        params: impl Fn(&[String]) -> Value,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut out = Vec::new();
        for request in values.chunks(LOOKUP_VALUES * MAX_BATCH) {
            let cmds: Vec<(String, &str, Value)> = request
                .chunks(LOOKUP_VALUES)
                .enumerate()
                .map(|(i, v)| (format!("l{i}"), method, params(v)))
                .collect();
            let answer = self.batch(false, &cmds).await?;
            for (k, _, p) in &cmds {
                if answer.nexts.contains_key(k) {
                    out.extend(self.catalog_list_all(method, p.clone(), key).await?);
                } else {
                    out.extend(rows(answer.get(k)?, key).iter().cloned());
                }
            }
        }
        Ok(out)
    }

    /// Finds trade-catalog products by `xmlId` in information block `iblock_id`, 2,500 values
    /// per request. Returns `xmlId` → lowest product id.
    pub async fn find_catalog_products_by_xml_id(
        &self,
        iblock_id: u32,
        xml_ids: &[String],
    ) -> Result<HashMap<String, String>, ConnectorError> {
        let found = self
            .catalog_lookup("catalog.product.list", "products", xml_ids, |v| {
                json!({
                    "select": ["id", "iblockId", "xmlId"],
                    "filter": { "iblockId": iblock_id, "xmlId": v },
                    "order": { "id": "asc" },
                })
            })
            .await?;
        let mut out: HashMap<String, (u64, String)> = HashMap::new();
        for r in found {
            let (Some((n, id)), Some(xml)) =
                (id_text(&r, "id"), r.get("xmlId").and_then(value_text))
            else {
                continue;
            };
            let e = out.entry(xml).or_insert((n, id.clone()));
            if n < e.0 {
                *e = (n, id);
            }
        }
        Ok(out.into_iter().map(|(k, (_, id))| (k, id)).collect())
    }

    /// The price ids of `product_ids` for price type `price_type_id` (product id → price id).
    pub async fn catalog_price_ids(
        &self,
        product_ids: &[String],
        price_type_id: u32,
    ) -> Result<HashMap<String, String>, ConnectorError> {
        let found = self
            .catalog_lookup("catalog.price.list", "prices", product_ids, |v| {
                json!({
                    "select": ["id", "productId", "catalogGroupId"],
                    "filter": { "productId": v, "catalogGroupId": price_type_id },
                    "order": { "id": "asc" },
                })
            })
            .await?;
        let mut out = HashMap::new();
        for r in found {
            if let (Some((_, id)), Some((_, product))) =
                (id_text(&r, "id"), id_text(&r, "productId"))
            {
                out.entry(product).or_insert(id);
            }
        }
        Ok(out)
    }

    /// One read-back page in this mode (for `reconcile`): up to 2,500 products of the
    /// information block (one `batch` of 50 `catalog.product.list` commands at consecutive
    /// `start` offsets, by id), then their prices of the mapped price type (`catalog.price.list`,
    /// 50 product ids a command: one more request). Two requests per 2,500 products.
    pub(crate) async fn catalog_products_page(
        &self,
        page: u32,
    ) -> Result<Page<CatalogItem>, ConnectorError> {
        let (iblock_id, price_type_id) = self.catalog_mode()?;
        let base = u64::from(page.max(1) - 1) * (LOOKUP_VALUES * MAX_BATCH) as u64;
        let cmds: Vec<Command> = (0..MAX_BATCH as u64)
            .map(|i| {
                (
                    format!("p{i}"),
                    "catalog.product.list",
                    json!({
                        "select": ["id", "iblockId", "name", "xmlId", "active"],
                        "filter": { "iblockId": iblock_id },
                        "order": { "id": "asc" },
                        "start": base + i * LOOKUP_VALUES as u64,
                    }),
                )
            })
            .collect();
        let answer = self.batch(false, &cmds).await?;
        let mut products: Vec<Value> = Vec::new();
        let mut more = false;
        for (key, _, _) in &cmds {
            products.extend(rows(answer.get(key)?, "products").iter().cloned());
            more = answer.nexts.contains_key(key);
            if !more {
                break;
            }
        }
        let ids: Vec<String> = products
            .iter()
            .filter_map(|p| id_text(p, "id").map(|(_, t)| t))
            .collect();
        let prices = self.catalog_prices(&ids, price_type_id).await?;
        Ok(Page {
            items: products
                .iter()
                .filter_map(|p| catalog_item_of(p, &prices))
                .collect(),
            next_page: more.then_some(page.max(1) + 1),
            total: None,
        })
    }

    /// The prices of `product_ids` of price type `price_type_id` (product id → price), the
    /// lowest price id's when a product has several.
    async fn catalog_prices(
        &self,
        product_ids: &[String],
        price_type_id: u32,
    ) -> Result<HashMap<String, Money>, ConnectorError> {
        if product_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let found = self
            .catalog_lookup("catalog.price.list", "prices", product_ids, |v| {
                json!({
                    "select": ["id", "productId", "catalogGroupId", "price", "currency"],
                    "filter": { "productId": v, "catalogGroupId": price_type_id },
                    "order": { "id": "asc" },
                })
            })
            .await?;
        let mut out = HashMap::new();
        for r in found {
            let text = |k: &str| r.get(k).and_then(value_text);
            let (Some((_, product)), Some(amount), Some(currency)) = (
                id_text(&r, "productId"),
                text("price").and_then(|p| parse_decimal(p.trim()).ok()),
                text("currency").and_then(|c| Currency::new(&c).ok()),
            ) else {
                continue;
            };
            out.entry(product)
                .or_insert_with(|| Money::new(amount, currency));
        }
        Ok(out)
    }

    /// The catalog push through `catalog.product.*` + `catalog.price.*`.
    pub(crate) async fn push_catalog_api(
        &self,
        items: &[CatalogItem],
        out: &mut [Option<CatalogPushed>],
        allow_rebind: bool,
    ) -> Result<(), ConnectorError> {
        let (iblock_id, price_type_id) = self.catalog_mode()?;
        let mut plan = Plan::new(items, out);
        let found = if plan.xml_ids.is_empty() {
            HashMap::new()
        } else {
            self.find_catalog_products_by_xml_id(iblock_id, &plan.xml_ids)
                .await?
        };
        plan.add_unbound(&found);
        let price_ids = self
            .update_price_ids(items, &plan.writes, price_type_id)
            .await?;
        let groups: Vec<Vec<Command>> = plan
            .writes
            .iter()
            .map(|w| self.write_commands(&items[w.index], w, iblock_id, price_type_id, &price_ids))
            .collect();

        let mut outcomes = Outcomes::new(items, out, allow_rebind);
        let mut start = 0;
        while start < groups.len() {
            let end = batch_end(&groups, start);
            let cmds: Vec<Command> = groups[start..end].iter().flatten().cloned().collect();
            let answer: BatchResult = match self.batch(false, &cmds).await {
                Ok(a) => a,
                Err(e) => return Err(outcomes.abort(e)),
            };
            for (w, group) in plan.writes[start..end].iter().zip(&groups[start..end]) {
                record_catalog_write(&mut outcomes, w, group, &answer);
            }
            start = end;
        }
        let lost = outcomes.finish(&plan.repeats)?;
        if !lost.is_empty() {
            let rebound = unbind(items, &lost);
            Box::pin(self.push_catalog_api(&rebound, out, false)).await?;
        }
        Ok(())
    }

    /// The information block and price type of the `catalog.*` mode; an error in any other.
    fn catalog_mode(&self) -> Result<(u32, u32), ConnectorError> {
        match self.settings().catalog_api {
            CatalogApi::Catalog {
                iblock_id,
                price_type_id,
            } => Ok((iblock_id, price_type_id)),
            CatalogApi::CrmProduct => Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                "catalog push: the catalog.* mode needs CatalogApi::Catalog settings",
            )),
        }
    }

    /// Price ids of the products to update that carry a price (product id → price id), so the
    /// price is updated in place rather than replaced. No request when there are none.
    async fn update_price_ids(
        &self,
        items: &[CatalogItem],
        writes: &[Write],
        price_type_id: u32,
    ) -> Result<HashMap<String, String>, ConnectorError> {
        let priced_updates: Vec<String> = writes
            .iter()
            .filter(|w| items[w.index].price.is_some())
            .filter_map(|w| w.id.clone())
            .collect();
        if priced_updates.is_empty() {
            Ok(HashMap::new())
        } else {
            self.catalog_price_ids(&priced_updates, price_type_id).await
        }
    }

    /// One product's commands, kept together in one batch: its update (`u<i>`) or add (`a<i>`),
    /// then its price (`p<i>`) when it has one.
    fn write_commands(
        &self,
        item: &CatalogItem,
        w: &Write,
        iblock_id: u32,
        price_type_id: u32,
        price_ids: &HashMap<String, String>,
    ) -> Vec<Command> {
        let fields = self.catalog_fields(item, iblock_id);
        let mut cmds = Vec::new();
        let product_ref = match &w.id {
            Some(id) => {
                cmds.push((
                    format!("u{}", w.index),
                    "catalog.product.update",
                    json!({ "id": id, "fields": fields }),
                ));
                id.clone()
            }
            None => {
                cmds.push((
                    format!("a{}", w.index),
                    "catalog.product.add",
                    json!({ "fields": fields }),
                ));
                // The new product's id, resolved by the batch from the add before it.
                format!("$result[a{}][element][id]", w.index)
            }
        };
        if let Some(p) = &item.price {
            let existing = w.id.as_ref().and_then(|id| price_ids.get(id));
            cmds.push(price_command(
                w.index,
                p,
                existing,
                &product_ref,
                price_type_id,
            ));
        }
        cmds
    }
}

/// A `catalog.product.list` row as a catalog item, priced from `prices`; `None` without an id.
fn catalog_item_of(row: &Value, prices: &HashMap<String, Money>) -> Option<CatalogItem> {
    let text = |k: &str| row.get(k).and_then(value_text).filter(|t| !t.is_empty());
    let (_, id) = id_text(row, "id")?;
    let origin = text("xmlId")
        .and_then(|x| {
            x.split_once(':').map(|(s, i)| ExternalRef {
                system: s.to_string(),
                id: i.to_string(),
            })
        })
        .unwrap_or(ExternalRef {
            system: String::new(),
            id: String::new(),
        });
    Some(CatalogItem {
        origin,
        price: prices.get(&id).cloned(),
        crm_id: Some(id),
        name: text("name").unwrap_or_default(),
        sku: None,
        description: None,
        unit: None,
        active: text("active").as_deref() != Some("N"),
    })
}

/// One `batch` command: key, method, parameters.
type Command = (String, &'static str, Value);

/// The price command of item `index`: `catalog.price.update` of its `existing` price (other
/// price types untouched), else `catalog.price.add` for `product_ref`.
fn price_command(
    index: usize,
    p: &Money,
    existing: Option<&String>,
    product_ref: &str,
    price_type_id: u32,
) -> Command {
    let amount = round_money(p.amount, p.currency.minor_units()).normalize();
    match existing {
        Some(price_id) => (
            format!("p{index}"),
            "catalog.price.update",
            json!({ "id": price_id, "fields": {
                "price": amount.to_string(),
                "currency": p.currency.as_str(),
            }}),
        ),
        None => (
            format!("p{index}"),
            "catalog.price.add",
            json!({ "fields": {
                "productId": product_ref,
                "catalogGroupId": price_type_id,
                "price": amount.to_string(),
                "currency": p.currency.as_str(),
            }}),
        ),
    }
}

/// The end of the batch starting at group `start`: as many whole products as fit 50 commands.
fn batch_end(groups: &[Vec<Command>], start: usize) -> usize {
    let mut end = start;
    let mut n = 0;
    while end < groups.len() && n + groups[end].len() <= MAX_BATCH {
        n += groups[end].len();
        end += 1;
    }
    end
}

/// Records the answer to write `w` (its commands `group`, product first): the product's id once
/// both the product and its price are written, or why not.
fn record_catalog_write(
    outcomes: &mut Outcomes<'_>,
    w: &Write,
    group: &[Command],
    answer: &BatchResult,
) {
    let item = &outcomes.items[w.index];
    let (product_key, _, _) = &group[0];
    let product = match answer.get(product_key) {
        Ok(v) => v,
        Err(e) => {
            let gone = w.action == PushAction::Updated
                && answer.errors.get(product_key).is_some_and(|a| {
                    let d = a.error_description.to_ascii_lowercase();
                    d.contains("not found") || d.contains("not exist")
                });
            outcomes.write_failed(w, gone, e);
            return;
        }
    };
    let crm_id = match &w.id {
        Some(id) => id.clone(),
        None => match product
            .pointer("/element/id")
            .and_then(value_text)
            .filter(|t| t.parse::<u64>().is_ok())
        {
            Some(id) => id,
            None => {
                outcomes.fail(protocol(
                    "catalog.product.add",
                    format!("no element id in {product}"),
                ));
                return;
            }
        },
    };
    if let Some((price_key, method, _)) = group.get(1) {
        if let Err(mut e) = answer.get(price_key) {
            // The product is there; the retry finds it by xmlId and writes the price again.
            e.message = format!(
                "product {}:{} (id {crm_id}) was written but its price was not ({method}): {}",
                item.origin.system, item.origin.id, e.message
            );
            outcomes.fail(e);
            return;
        }
    }
    outcomes.pushed(w, crm_id);
}
