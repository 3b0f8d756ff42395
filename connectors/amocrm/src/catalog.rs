//! [`CrmCatalog`] for amoCRM: products are elements of the products catalog
//! (`/api/v4/catalogs/{id}/elements`), price and SKU in the catalog's `PRICE` and `SKU` fields,
//! and the origin key `"<system>:<id>"` in an external-id text field, so an item pushed
//! without its CRM id (a push that crashed after amoCRM created it) is found again instead of
//! duplicated.
//!
//! **Read-back** ([`CrmCatalog::products_page`], for `reconcile`): the catalog's elements, 250
//! a page, each with its origin, SKU and price read from the same fields. amoCRM elements have
//! no active flag and the price no currency, so reconcile compares amounts, and not activity.
//!
//! Calls: field/catalog resolution once per client (1–2 GETs); lookups of unbound items in
//! bulk (a scan of the catalog, 250 per page, stopping once every key is found, or one `query`
//! GET per item when there are only a few); writes as arrays of at most
//! [`CatalogSettings::batch_size`] (`POST` new, `PATCH` known). The per-request cap on element
//! writes is not documented where we could read it (UNCONFIRMED): 250, the list maximum, is
//! assumed.

use crate::client::AmoClient;
use crate::crm::FieldRef;
use crate::wire::{field_text, CatalogElement};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::{
    CatalogItem, CatalogPushReport, CatalogPushed, ExternalRef, Page, PushAction,
};
use dealbridge_sdk::money::{parse_decimal, Currency, Money};
use dealbridge_sdk::traits::{CatalogReadBack, CrmCatalog};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::OnceCell;

/// How products map onto the amoCRM products catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSettings {
    /// The catalog; `None` uses the account's catalog of type `products`.
    pub catalog_id: Option<u64>,
    /// Text field holding `"<system>:<id>"` of the item's origin, for find-or-create. It may be
    /// the SKU field itself (then the SKU is not written, the key is). Default: code
    /// `DEALBRIDGE_ORIGIN` (create a text field with that code in the catalog).
    pub external_id_field: FieldRef,
    /// The article field. Default: code `SKU` (the products catalog's own; UNCONFIRMED code).
    pub sku_field: Option<FieldRef>,
    /// The price field. Default: code `PRICE` (UNCONFIRMED code). The value is a number in
    /// the account currency; the item's currency is not sent.
    pub price_field: Option<FieldRef>,
    /// The description field. Default: code `DESCRIPTION` (UNCONFIRMED code).
    pub description_field: Option<FieldRef>,
    /// Most elements per `POST`/`PATCH` (1..=250; 250 assumed, the documented cap could not
    /// be confirmed).
    pub batch_size: usize,
    /// Up to this many unbound items are looked up with one `query` GET each; more trigger one
    /// paged scan of the catalog (250 per GET) that stops once every key is found.
    pub query_lookup_max: usize,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        CatalogSettings {
            catalog_id: None,
            external_id_field: FieldRef::Code("DEALBRIDGE_ORIGIN".into()),
            sku_field: Some(FieldRef::Code("SKU".into())),
            price_field: Some(FieldRef::Code("PRICE".into())),
            description_field: Some(FieldRef::Code("DESCRIPTION".into())),
            batch_size: crate::client::MAX_LIMIT as usize,
            query_lookup_max: 3,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    catalog: u64,
    origin: u64,
    sku: Option<u64>,
    price: Option<u64>,
    description: Option<u64>,
}

/// amoCRM's products catalog as a [`CrmCatalog`].
#[derive(Debug)]
pub struct AmoCatalog {
    client: AmoClient,
    settings: CatalogSettings,
    fields: OnceCell<Fields>,
}

fn key(origin: &ExternalRef) -> String {
    format!("{}:{}", origin.system, origin.id)
}

fn invalid(msg: String) -> ConnectorError {
    ConnectorError::new(ErrorKind::Invalid, SYSTEM, msg)
}

impl AmoCatalog {
    /// Products pushed through `client` with `settings`.
    pub fn new(client: AmoClient, settings: CatalogSettings) -> Self {
        AmoCatalog {
            client,
            settings,
            fields: OnceCell::new(),
        }
    }

    async fn fields(&self) -> Result<Fields, ConnectorError> {
        self.fields
            .get_or_try_init(|| async {
                let s = &self.settings;
                if !(1..=crate::client::MAX_LIMIT as usize).contains(&s.batch_size) {
                    return Err(invalid(format!("catalog batch_size {} is out of range; amoCRM takes 1..=250 elements per request", s.batch_size)));
                }
                let catalog = match s.catalog_id {
                    Some(id) => id,
                    None => self
                        .client
                        .catalogs()
                        .await?
                        .into_iter()
                        .find(|c| c.kind == "products")
                        .map(|c| c.id)
                        .ok_or_else(|| invalid("amoCRM has no products catalog: enable Products in the account or configure the catalog id".into()))?,
                };
                let refs = [
                    Some(&s.external_id_field),
                    s.sku_field.as_ref(),
                    s.price_field.as_ref(),
                    s.description_field.as_ref(),
                ];
                let defs = if refs.iter().flatten().any(|r| matches!(r, FieldRef::Code(_))) {
                    self.client.catalog_custom_fields(catalog).await?
                } else {
                    Vec::new()
                };
                let find = |r: &FieldRef| -> Result<u64, ConnectorError> {
                    match r {
                        FieldRef::Id(id) => Ok(*id),
                        FieldRef::Code(code) => defs
                            .iter()
                            .find(|d| d.code.as_deref() == Some(code.as_str()))
                            .map(|d| d.id)
                            .ok_or_else(|| invalid(format!("amoCRM catalog {catalog} has no field with code `{code}`: create it (a text field for the origin key) or configure its id"))),
                    }
                };
                Ok(Fields {
                    catalog,
                    origin: find(&s.external_id_field)?,
                    sku: s.sku_field.as_ref().map(find).transpose()?,
                    price: s.price_field.as_ref().map(find).transpose()?,
                    description: s.description_field.as_ref().map(find).transpose()?,
                })
            })
            .await
            .copied()
    }

    /// The element body we own for `item` (no id).
    fn body(f: &Fields, item: &CatalogItem) -> Value {
        let mut cf =
            vec![json!({ "field_id": f.origin, "values": [{ "value": key(&item.origin) }] })];
        if let (Some(id), Some(sku)) = (f.sku.filter(|s| *s != f.origin), &item.sku) {
            cf.push(json!({ "field_id": id, "values": [{ "value": sku }] }));
        }
        if let (Some(id), Some(p)) = (f.price, &item.price) {
            cf.push(json!({ "field_id": id, "values": [{ "value": crate::crm::decimal_json(p.amount) }] }));
        }
        if let (Some(id), Some(d)) = (f.description, &item.description) {
            cf.push(json!({ "field_id": id, "values": [{ "value": d }] }));
        }
        json!({ "name": item.name.trim(), "custom_fields_values": cf })
    }

    /// Whether `e` already shows what `body` would write (then no PATCH is needed).
    fn same(e: &CatalogElement, body: &Value) -> bool {
        if e.name != body["name"].as_str().unwrap_or_default() {
            return false;
        }
        body["custom_fields_values"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|f| {
                let want = &f["values"][0]["value"];
                let have = f["field_id"]
                    .as_u64()
                    .and_then(|id| field_text(e.custom_fields_values.as_deref(), id));
                match (want, have) {
                    (Value::String(w), Some(h)) => *w == h,
                    (Value::Number(w), Some(h)) => {
                        w.to_string().parse::<Decimal>().ok() == h.parse::<Decimal>().ok()
                    }
                    _ => false,
                }
            })
    }

    /// Finds elements by origin key: `(key → element)`, the lowest id when several match.
    async fn lookup(
        &self,
        f: &Fields,
        keys: &[String],
    ) -> Result<HashMap<String, CatalogElement>, ConnectorError> {
        let mut found: HashMap<String, CatalogElement> = HashMap::new();
        let take = |e: CatalogElement, found: &mut HashMap<String, CatalogElement>| {
            if let Some(k) = field_text(e.custom_fields_values.as_deref(), f.origin) {
                if keys.contains(&k) && found.get(&k).is_none_or(|old| old.id > e.id) {
                    found.insert(k, e);
                }
            }
        };
        if keys.len() <= self.settings.query_lookup_max {
            for k in keys {
                // `query` is a substring search: keep only exact key matches.
                let mut page = 1;
                loop {
                    let p = self
                        .client
                        .catalog_elements_page(f.catalog, Some(k), &[], page)
                        .await?;
                    let more = p.next.is_some() && !p.items.is_empty();
                    for e in p.items {
                        take(e, &mut found);
                    }
                    if !more {
                        break;
                    }
                    page += 1;
                }
            }
        } else {
            let mut page = 1;
            loop {
                let p = self
                    .client
                    .catalog_elements_page(f.catalog, None, &[], page)
                    .await?;
                let more = p.next.is_some() && !p.items.is_empty();
                for e in p.items {
                    take(e, &mut found);
                }
                // Early stop: every key found. A duplicate on a later page cannot change the
                // choice much (lowest id among those seen) and is not ours to clean up.
                if !more || found.len() == keys.len() {
                    break;
                }
                page += 1;
            }
        }
        Ok(found)
    }
}

/// The nominal currency of read-back prices: amoCRM's price field is a bare number in the
/// account's currency, which the API does not name (see [`CrmCatalog::read_back`]).
const READ_BACK_CURRENCY: &str = "RUB";

impl AmoCatalog {
    /// `e` as a catalog item: origin from the external-id field (`"<system>:<id>"`; empty for
    /// an element made by hand), SKU, price and description from theirs. amoCRM elements have
    /// no active flag: always `true`.
    fn item_of(f: &Fields, e: CatalogElement) -> CatalogItem {
        let cf = e.custom_fields_values.as_deref();
        let origin = field_text(cf, f.origin)
            .and_then(|k| {
                k.split_once(':').map(|(system, id)| ExternalRef {
                    system: system.to_string(),
                    id: id.to_string(),
                })
            })
            .unwrap_or(ExternalRef {
                system: String::new(),
                id: String::new(),
            });
        let currency = Currency::new(READ_BACK_CURRENCY).expect("a currency code");
        CatalogItem {
            origin,
            crm_id: Some(e.id.to_string()),
            name: e.name,
            sku: f
                .sku
                .filter(|s| *s != f.origin)
                .and_then(|id| field_text(cf, id)),
            description: f.description.and_then(|id| field_text(cf, id)),
            price: f
                .price
                .and_then(|id| field_text(cf, id))
                .and_then(|t| parse_decimal(t.trim()).ok())
                .map(|amount| Money::new(amount, currency)),
            unit: None,
            active: true,
        }
    }
}

#[async_trait]
impl CrmCatalog for AmoCatalog {
    /// One page of the products catalog's elements (250, by id, as amoCRM lists them).
    async fn products_page(&self, page: u32) -> Result<Page<CatalogItem>, ConnectorError> {
        let f = self.fields().await?;
        let p = self
            .client
            .catalog_elements_page(f.catalog, None, &[], page.max(1))
            .await?;
        let next_page = (p.next.is_some() && !p.items.is_empty()).then_some(page.max(1) + 1);
        Ok(Page {
            items: p.items.into_iter().map(|e| Self::item_of(&f, e)).collect(),
            next_page,
            total: None,
        })
    }

    fn read_back(&self) -> CatalogReadBack {
        CatalogReadBack {
            active: false,
            currency: false,
        }
    }

    async fn push_products(
        &self,
        items: &[CatalogItem],
    ) -> Result<CatalogPushReport, ConnectorError> {
        if items.is_empty() {
            return Ok(CatalogPushReport::default());
        }
        let f = self.fields().await?;
        for it in items {
            if it.name.trim().is_empty() {
                return Err(invalid(format!(
                    "catalog item {}: the name is empty; amoCRM requires one (fix the product in its source)",
                    key(&it.origin)
                )));
            }
        }
        // Unbound items, each origin key once (the first item with that key wins).
        let mut unbound: Vec<String> = Vec::new();
        for it in items.iter().filter(|i| i.crm_id.is_none()) {
            let k = key(&it.origin);
            if !unbound.contains(&k) {
                unbound.push(k);
            }
        }
        let found = if unbound.is_empty() {
            HashMap::new()
        } else {
            self.lookup(&f, &unbound).await?
        };

        // Per input index: (crm id once known, action); every index is set by the loop below.
        let mut out: Vec<(Option<u64>, PushAction)> =
            vec![(None, PushAction::Created); items.len()];
        let mut patch: Vec<Value> = Vec::new();
        let mut create: Vec<(String, Value)> = Vec::new();
        let mut first_of: BTreeMap<String, usize> = BTreeMap::new();
        for (i, it) in items.iter().enumerate() {
            let body = Self::body(&f, it);
            if let Some(id) = &it.crm_id {
                let id: u64 = id.trim().parse().map_err(|_| {
                    invalid(format!(
                        "catalog item {}: `{id}` is not an amoCRM element id",
                        key(&it.origin)
                    ))
                })?;
                let mut b = body;
                b["id"] = json!(id);
                patch.push(b);
                out[i] = (Some(id), PushAction::Updated);
                continue;
            }
            let k = key(&it.origin);
            if let Some(&j) = first_of.get(&k) {
                // A repeated key in one push: same element, written once.
                out[i] = (out[j].0, out[j].1);
                continue;
            }
            first_of.insert(k.clone(), i);
            match found.get(&k) {
                Some(e) => {
                    if !Self::same(e, &body) {
                        let mut b = body;
                        b["id"] = json!(e.id);
                        patch.push(b);
                    }
                    out[i] = (Some(e.id), PushAction::Adopted);
                }
                None => {
                    create.push((k, body));
                    out[i] = (None, PushAction::Created);
                }
            }
        }
        for chunk in patch.chunks(self.settings.batch_size) {
            self.client
                .update_catalog_elements(f.catalog, chunk)
                .await?;
        }
        let mut created: HashMap<String, u64> = HashMap::new();
        for chunk in create.chunks(self.settings.batch_size) {
            let bodies: Vec<Value> = chunk.iter().map(|(_, b)| b.clone()).collect();
            let saved = self.client.add_catalog_elements(f.catalog, &bodies).await?;
            for ((k, _), s) in chunk.iter().zip(saved) {
                created.insert(k.clone(), s.id);
            }
        }
        let items = items
            .iter()
            .zip(out)
            .map(|(it, (id, action))| {
                let id = id
                    .or_else(|| created.get(&key(&it.origin)).copied())
                    .unwrap_or_default();
                CatalogPushed {
                    origin: it.origin.clone(),
                    crm_id: id.to_string(),
                    action,
                }
            })
            .collect();
        Ok(CatalogPushReport { items })
    }
}
