//! [`CrmCatalog`] for Bitrix24 through `crm.product.*`.
//!
//! Every product carries `XML_ID = "<system>:<id>"` (its origin), so a push that crashed after
//! the portal created products finds them again instead of duplicating them. Call economy:
//! unbound items are looked up in bulk (one `batch` of up to 50 `crm.product.list` commands,
//! each filtering `XML_ID` by a list of up to 50 values: 2,500 lookups per HTTP request), then
//! adds and updates go 50 commands per `batch`. Pushing N new products costs
//! `ceil(N / 2500) + ceil(N / 50)` requests; bound items (CRM id known) cost no lookup.
//!
//! With [`CatalogApi::Catalog`] the push goes to `catalog.product.*` + `catalog.price.*`
//! instead (see `catalog_api.rs`): about `ceil(N / 2500) + ceil(2N / 50)` requests, so
//! `crm.product.*` stays the economical mode.

use crate::client::{BatchResult, Bitrix24Client, MAX_BATCH};
use crate::settings::CatalogApi;
use crate::wire::{parse_decimal_text, value_text};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::{
    CatalogItem, CatalogPushReport, CatalogPushed, ExternalRef, Page, PushAction,
};
use dealbridge_sdk::money::round_money;
use dealbridge_sdk::money::{Currency, Money};
use dealbridge_sdk::traits::CrmCatalog;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Values per `XML_ID` filter list; a list page holds 50 rows, so 50 values fit one page when
/// each origin has one product.
const LOOKUP_VALUES: usize = 50;

/// The origin key written to `XML_ID`: `"<system>:<id>"`.
pub fn product_xml_id(item: &CatalogItem) -> String {
    format!("{}:{}", item.origin.system, item.origin.id)
}

/// One write to make.
pub(crate) struct Write {
    /// Index into the pushed items.
    pub(crate) index: usize,
    /// The product id, for an update.
    pub(crate) id: Option<String>,
    /// The outcome it reports: `updated`, `adopted` or `created`.
    pub(crate) action: PushAction,
}

/// The writes of one push: updates of bound items, then (once the unbound origins are looked
/// up) adoptions and creations. Shared by both catalog modes, which plan alike.
pub(crate) struct Plan {
    /// Writes in the order they are sent: updates in item order, then one per unbound origin.
    pub(crate) writes: Vec<Write>,
    /// Each unbound origin's `XML_ID`, once, in order of first occurrence.
    pub(crate) xml_ids: Vec<String>,
    /// The item index of each unbound origin's first occurrence.
    first_of: HashMap<String, usize>,
    /// `(repeat, first)` item indexes: the same origin twice in one push is written once (the
    /// first occurrence) and both get its id.
    pub(crate) repeats: Vec<(usize, usize)>,
}

impl Plan {
    /// Plans the items that have no outcome yet: bound ones (a non-blank CRM id) are updated,
    /// unbound ones wait for [`Plan::add_unbound`].
    pub(crate) fn new(items: &[CatalogItem], out: &[Option<CatalogPushed>]) -> Self {
        let mut plan = Self {
            writes: Vec::new(),
            xml_ids: Vec::new(),
            first_of: HashMap::new(),
            repeats: Vec::new(),
        };
        for (i, item) in items.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            match item
                .crm_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                Some(id) => plan.writes.push(Write {
                    index: i,
                    id: Some(id.to_string()),
                    action: PushAction::Updated,
                }),
                None => plan.note_unbound(i, product_xml_id(item)),
            }
        }
        plan
    }

    /// Records unbound item `i` with origin key `xml`: its first occurrence is looked up, a
    /// repeat just copies the first's outcome.
    fn note_unbound(&mut self, i: usize, xml: String) {
        match self.first_of.get(&xml) {
            Some(&first) => self.repeats.push((i, first)),
            None => {
                self.first_of.insert(xml.clone(), i);
                self.xml_ids.push(xml);
            }
        }
    }

    /// Appends a write per unbound origin, in order: adopting the product `found` by its
    /// `XML_ID` (a crashed push's leftover), else creating one.
    pub(crate) fn add_unbound(&mut self, found: &HashMap<String, String>) {
        for xml in &self.xml_ids {
            let index = self.first_of[xml];
            self.writes.push(match found.get(xml) {
                Some(id) => Write {
                    index,
                    id: Some(id.clone()),
                    action: PushAction::Adopted,
                },
                None => Write {
                    index,
                    id: None,
                    action: PushAction::Created,
                },
            });
        }
    }
}

/// The outcomes of a push collected as its batches are answered: the pushed items, the first
/// error, and the bindings found deleted in the CRM.
pub(crate) struct Outcomes<'a> {
    /// The pushed items, by index.
    pub(crate) items: &'a [CatalogItem],
    /// One outcome slot per item.
    out: &'a mut [Option<CatalogPushed>],
    /// Whether a binding deleted in the CRM may be dropped and the item pushed again.
    allow_rebind: bool,
    /// The first error met; later ones are dropped.
    first_error: Option<ConnectorError>,
    /// Indexes of items whose bound product was deleted in the CRM.
    lost: Vec<usize>,
}

impl<'a> Outcomes<'a> {
    /// Collects into `out` (one slot per item of `items`).
    pub(crate) fn new(
        items: &'a [CatalogItem],
        out: &'a mut [Option<CatalogPushed>],
        allow_rebind: bool,
    ) -> Self {
        Self {
            items,
            out,
            allow_rebind,
            first_error: None,
            lost: Vec::new(),
        }
    }

    /// Keeps `e` unless an earlier error is already kept (the first one is reported).
    pub(crate) fn fail(&mut self, e: ConnectorError) {
        self.first_error.get_or_insert(e);
    }

    /// A failed product write: a bound product deleted in the CRM (`gone`) is queued for
    /// rebinding when allowed, anything else is kept as an error naming the item's origin.
    pub(crate) fn write_failed(&mut self, w: &Write, gone: bool, mut e: ConnectorError) {
        if gone && self.allow_rebind {
            // Deleted in the CRM since it was bound: find by origin or create.
            self.lost.push(w.index);
        } else {
            let item = &self.items[w.index];
            e.message = format!(
                "product {}:{}: {}",
                item.origin.system, item.origin.id, e.message
            );
            self.fail(e);
        }
    }

    /// Records the outcome of write `w`: the item now has CRM id `crm_id`.
    pub(crate) fn pushed(&mut self, w: &Write, crm_id: String) {
        self.out[w.index] = Some(CatalogPushed {
            origin: self.items[w.index].origin.clone(),
            crm_id,
            action: w.action,
        });
    }

    /// A whole request failed with `e`: the error to return (the first one kept, if any).
    /// Earlier requests landed; the retry adopts those products by origin.
    pub(crate) fn abort(self, e: ConnectorError) -> ConnectorError {
        self.first_error.unwrap_or(e)
    }

    /// Ends the pass: repeats get their first occurrence's outcome, then the first error is
    /// returned, else the indexes of the bindings lost (to push again unbound).
    pub(crate) fn finish(self, repeats: &[(usize, usize)]) -> Result<Vec<usize>, ConnectorError> {
        copy_repeats(self.items, self.out, repeats);
        match self.first_error {
            Some(e) => Err(e),
            None => Ok(self.lost),
        }
    }
}

impl Bitrix24Client {
    /// The product fields we own.
    fn product_fields(&self, item: &CatalogItem) -> Value {
        let mut f = Map::new();
        f.insert("NAME".into(), json!(item.name));
        f.insert("XML_ID".into(), json!(product_xml_id(item)));
        f.insert("ACTIVE".into(), json!(if item.active { "Y" } else { "N" }));
        if let Some(d) = &item.description {
            f.insert("DESCRIPTION".into(), json!(d));
            f.insert("DESCRIPTION_TYPE".into(), json!("text"));
        }
        if let Some(p) = &item.price {
            let amount = round_money(p.amount, p.currency.minor_units());
            f.insert("PRICE".into(), json!(amount.normalize().to_string()));
            f.insert("CURRENCY_ID".into(), json!(p.currency.as_str()));
        }
        if let Some(unit) = &item.unit {
            if let Some(m) = self.settings().measures.get(unit.trim()) {
                f.insert("MEASURE".into(), json!(m));
            }
        }
        if let Some(s) = &self.settings().product_section_id {
            f.insert("SECTION_ID".into(), json!(s));
        }
        Value::Object(f)
    }

    /// Finds products by `XML_ID`, 2,500 values per request. Returns `XML_ID` → lowest id.
    pub async fn find_products_by_xml_id(
        &self,
        xml_ids: &[String],
    ) -> Result<HashMap<String, String>, ConnectorError> {
        let mut found: HashMap<String, (u64, String)> = HashMap::new();
        let mut note = |rows: &[Value]| {
            for r in rows {
                let (Some(id), Some(xml)) = (
                    r.get("ID").and_then(value_text),
                    r.get("XML_ID").and_then(value_text),
                ) else {
                    continue;
                };
                let Ok(n) = id.parse::<u64>() else { continue };
                let e = found.entry(xml).or_insert((n, id.clone()));
                if n < e.0 {
                    *e = (n, id);
                }
            }
        };
        for request in xml_ids.chunks(LOOKUP_VALUES * MAX_BATCH) {
            let cmds: Vec<(String, &str, Value)> = request
                .chunks(LOOKUP_VALUES)
                .enumerate()
                .map(|(i, values)| (format!("l{i}"), "crm.product.list", lookup(values)))
                .collect();
            let answer = self.batch(false, &cmds).await?;
            for (key, _, params) in &cmds {
                let rows = answer.get(key)?;
                note(rows.as_array().map_or(&[][..], Vec::as_slice));
                if answer.nexts.contains_key(key) {
                    // More than a page matched (several products per origin): read the rest.
                    let all = self.list_all("crm.product.list", params.clone()).await?;
                    note(&all);
                }
            }
        }
        Ok(found.into_iter().map(|(k, (_, id))| (k, id)).collect())
    }

    async fn push_inner(
        &self,
        items: &[CatalogItem],
        out: &mut [Option<CatalogPushed>],
        allow_rebind: bool,
    ) -> Result<(), ConnectorError> {
        let mut plan = Plan::new(items, out);
        let found = if plan.xml_ids.is_empty() {
            HashMap::new()
        } else {
            self.find_products_by_xml_id(&plan.xml_ids).await?
        };
        plan.add_unbound(&found);
        let mut outcomes = Outcomes::new(items, out, allow_rebind);
        for chunk in plan.writes.chunks(MAX_BATCH) {
            let cmds = self.product_commands(items, chunk);
            let answer: BatchResult = match self.batch(false, &cmds).await {
                Ok(a) => a,
                Err(e) => return Err(outcomes.abort(e)),
            };
            for (w, (key, _, _)) in chunk.iter().zip(&cmds) {
                record_product_write(&mut outcomes, w, key, &answer);
            }
        }
        let lost = outcomes.finish(&plan.repeats)?;
        if !lost.is_empty() {
            let rebound = unbind(items, &lost);
            Box::pin(self.push_inner(&rebound, out, false)).await?;
        }
        Ok(())
    }

    /// The `batch` commands of `writes`: `u<i>` updates a bound product, `a<i>` adds one.
    fn product_commands(
        &self,
        items: &[CatalogItem],
        writes: &[Write],
    ) -> Vec<(String, &'static str, Value)> {
        writes
            .iter()
            .map(|w| {
                let fields = self.product_fields(&items[w.index]);
                match &w.id {
                    Some(id) => (
                        format!("u{}", w.index),
                        "crm.product.update",
                        json!({ "id": id, "fields": fields }),
                    ),
                    None => (
                        format!("a{}", w.index),
                        "crm.product.add",
                        json!({ "fields": fields }),
                    ),
                }
            })
            .collect()
    }
}

/// Records the answer to write `w` (command `key` of `answer`): the product's id, or why not.
fn record_product_write(outcomes: &mut Outcomes<'_>, w: &Write, key: &str, answer: &BatchResult) {
    match answer.get(key) {
        Ok(v) => {
            let crm_id = match &w.id {
                Some(id) => id.clone(),
                None => match value_text(v).filter(|t| t.parse::<u64>().is_ok()) {
                    Some(id) => id,
                    None => {
                        outcomes.fail(ConnectorError::new(
                            ErrorKind::Protocol,
                            SYSTEM,
                            format!("crm.product.add: expected a new id, got {v}"),
                        ));
                        return;
                    }
                },
            };
            outcomes.pushed(w, crm_id);
        }
        Err(e) => {
            let gone = w.action == PushAction::Updated
                && answer.errors.get(key).is_some_and(|a| {
                    a.error_description
                        .to_ascii_lowercase()
                        .contains("not found")
                });
            outcomes.write_failed(w, gone, e);
        }
    }
}

/// Gives each repeated origin `(i, first)` the outcome of its first occurrence (written once).
pub(crate) fn copy_repeats(
    items: &[CatalogItem],
    out: &mut [Option<CatalogPushed>],
    repeats: &[(usize, usize)],
) {
    for &(i, first) in repeats {
        if let Some(p) = out[first].clone() {
            out[i] = Some(CatalogPushed {
                origin: items[i].origin.clone(),
                ..p
            });
        }
    }
}

/// `items` with the bindings at `lost` dropped (deleted in the CRM): pushed again, they are
/// looked up by origin, then adopted or created.
pub(crate) fn unbind(items: &[CatalogItem], lost: &[usize]) -> Vec<CatalogItem> {
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let mut it = it.clone();
            if lost.contains(&i) {
                it.crm_id = None;
            }
            it
        })
        .collect()
}

fn lookup(values: &[String]) -> Value {
    json!({
        // An array value filters with IN.
        "filter": { "XML_ID": values },
        "select": ["ID", "XML_ID"],
        "order": { "ID": "ASC" },
    })
}

/// Products read back per [`CrmCatalog::products_page`] page: 50 `crm.product.list` pages in
/// one `batch`.
const READ_PAGE: u64 = 50 * MAX_BATCH as u64;

/// A `crm.product.list` row as a catalog item; `None` without an id.
fn product_of(row: &Value) -> Option<CatalogItem> {
    let text = |k: &str| row.get(k).and_then(value_text).filter(|t| !t.is_empty());
    let id = text("ID")?;
    let (system, origin) = text("XML_ID")
        .and_then(|x| {
            x.split_once(':')
                .map(|(s, i)| (s.to_string(), i.to_string()))
        })
        .unwrap_or_default();
    let price = match (
        text("PRICE").and_then(|p| parse_decimal_text(&p)),
        text("CURRENCY_ID"),
    ) {
        (Some(amount), Some(c)) => Currency::new(&c).ok().map(|c| Money::new(amount, c)),
        _ => None,
    };
    Some(CatalogItem {
        origin: ExternalRef { system, id: origin },
        crm_id: Some(id.clone()),
        name: text("NAME").unwrap_or_default(),
        sku: None,
        description: None,
        price,
        unit: None,
        active: text("ACTIVE").as_deref() != Some("N"),
    })
}

#[async_trait]
impl CrmCatalog for Bitrix24Client {
    /// 2,500 products per page: one `batch` of 50 `crm.product.list` commands at consecutive
    /// `start` offsets, sorted by `ID`. In `catalog.*` mode the products and their prices of
    /// the price type, read apart ([`Bitrix24Client::catalog_products_page`]).
    async fn products_page(&self, page: u32) -> Result<Page<CatalogItem>, ConnectorError> {
        if !matches!(self.settings().catalog_api, CatalogApi::CrmProduct) {
            return self.catalog_products_page(page).await;
        }
        let base = u64::from(page.max(1) - 1) * READ_PAGE;
        let cmds: Vec<(String, &str, Value)> = (0..MAX_BATCH as u64)
            .map(|i| {
                (
                    format!("p{i}"),
                    "crm.product.list",
                    json!({
                        "order": { "ID": "ASC" },
                        "select": ["ID", "NAME", "XML_ID", "PRICE", "CURRENCY_ID", "ACTIVE"],
                        "start": base + i * 50,
                    }),
                )
            })
            .collect();
        let answer = self.batch(false, &cmds).await?;
        let mut items = Vec::new();
        let mut more = false;
        for (key, _, _) in &cmds {
            let rows = answer.get(key)?;
            let rows = rows.as_array().map_or(&[][..], Vec::as_slice);
            items.extend(rows.iter().filter_map(product_of));
            more = answer.nexts.contains_key(key);
            if !more {
                break;
            }
        }
        Ok(Page {
            items,
            next_page: more.then_some(page.max(1) + 1),
            total: None,
        })
    }

    async fn push_products(
        &self,
        items: &[CatalogItem],
    ) -> Result<CatalogPushReport, ConnectorError> {
        let mut out: Vec<Option<CatalogPushed>> = vec![None; items.len()];
        match self.settings().catalog_api {
            CatalogApi::CrmProduct => self.push_inner(items, &mut out, true).await?,
            CatalogApi::Catalog { .. } => self.push_catalog_api(items, &mut out, true).await?,
        }
        let items = out
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                p.ok_or_else(|| {
                    ConnectorError::new(
                        ErrorKind::Protocol,
                        SYSTEM,
                        format!("catalog push: item {i} got no outcome from Bitrix24"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CatalogPushReport { items })
    }
}
