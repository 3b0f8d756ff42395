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
use crate::wire::value_text;
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::{CatalogItem, CatalogPushReport, CatalogPushed, PushAction};
use dealbridge_sdk::money::round_money;
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
struct Write {
    /// Index into the pushed items.
    index: usize,
    /// The product id, for an update.
    id: Option<String>,
    action: PushAction,
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
        let mut writes: Vec<Write> = Vec::new();
        let mut unbound: Vec<usize> = Vec::new();
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
                Some(id) => writes.push(Write {
                    index: i,
                    id: Some(id.to_string()),
                    action: PushAction::Updated,
                }),
                None => unbound.push(i),
            }
        }
        // The same origin twice in one push is written once (the first occurrence) and both
        // get its id.
        let mut first_of: HashMap<String, usize> = HashMap::new();
        let mut xml_ids = Vec::new();
        let mut repeats = Vec::new();
        for &i in &unbound {
            let xml = product_xml_id(&items[i]);
            match first_of.get(&xml) {
                Some(&first) => repeats.push((i, first)),
                None => {
                    first_of.insert(xml.clone(), i);
                    xml_ids.push(xml);
                }
            }
        }
        let found = if xml_ids.is_empty() {
            HashMap::new()
        } else {
            self.find_products_by_xml_id(&xml_ids).await?
        };
        for xml in &xml_ids {
            let i = first_of[xml];
            writes.push(match found.get(xml) {
                Some(id) => Write {
                    index: i,
                    id: Some(id.clone()),
                    action: PushAction::Adopted,
                },
                None => Write {
                    index: i,
                    id: None,
                    action: PushAction::Created,
                },
            });
        }
        let mut first_error: Option<ConnectorError> = None;
        let mut lost_bindings = Vec::new();
        for chunk in writes.chunks(MAX_BATCH) {
            let cmds: Vec<(String, &str, Value)> = chunk
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
                .collect();
            let answer: BatchResult = match self.batch(false, &cmds).await {
                Ok(a) => a,
                Err(e) => {
                    // Earlier chunks landed; the retry adopts them by XML_ID.
                    return Err(first_error.unwrap_or(e));
                }
            };
            for (w, (key, _, _)) in chunk.iter().zip(&cmds) {
                match answer.get(key) {
                    Ok(v) => {
                        let crm_id = match &w.id {
                            Some(id) => id.clone(),
                            None => match value_text(v).filter(|t| t.parse::<u64>().is_ok()) {
                                Some(id) => id,
                                None => {
                                    first_error.get_or_insert_with(|| {
                                        ConnectorError::new(
                                            ErrorKind::Protocol,
                                            SYSTEM,
                                            format!("crm.product.add: expected a new id, got {v}"),
                                        )
                                    });
                                    continue;
                                }
                            },
                        };
                        out[w.index] = Some(CatalogPushed {
                            origin: items[w.index].origin.clone(),
                            crm_id,
                            action: w.action,
                        });
                    }
                    Err(e) => {
                        let gone = w.action == PushAction::Updated
                            && answer.errors.get(key).is_some_and(|a| {
                                a.error_description
                                    .to_ascii_lowercase()
                                    .contains("not found")
                            });
                        if gone && allow_rebind {
                            // Deleted in the CRM since it was bound: find by origin or create.
                            lost_bindings.push(w.index);
                        } else {
                            let item = &items[w.index];
                            let mut e = e;
                            e.message = format!(
                                "product {}:{}: {}",
                                item.origin.system, item.origin.id, e.message
                            );
                            first_error.get_or_insert(e);
                        }
                    }
                }
            }
        }
        copy_repeats(items, out, &repeats);
        if let Some(e) = first_error {
            return Err(e);
        }
        if !lost_bindings.is_empty() {
            let rebound = unbind(items, &lost_bindings);
            Box::pin(self.push_inner(&rebound, out, false)).await?;
        }
        Ok(())
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

#[async_trait]
impl CrmCatalog for Bitrix24Client {
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
