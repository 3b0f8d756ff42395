//! The catalog imported from 1C: groups, price types, warehouses, property definitions,
//! products, offers (variants included), prices per type, stock per warehouse, and the property
//! values and images of products and offers.
//!
//! Writes come in batches ([`CatalogBatch`]), one transaction each, with multi-row statements: a
//! 100,000-product catalog must not cost 100,000 round trips. Every row carries the SHA-256 of its
//! canonical JSON; rows whose hash is unchanged are not written at all, so re-importing the same
//! files changes nothing. New products and offers get their binding (`kind` `product`/`offer`,
//! entity id `<system>:<external id>`) in the same transaction.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sqlx::AssertSqlSafe;

use crate::db::{ms, on_db, Backend, RowExt};
use crate::error::StoreError;
use crate::kinds::EntityKind;
use crate::snapshot::snapshot_hash;
use crate::store::Store;

/// Rows per multi-row statement: well under SQLite's 32,766 and PostgreSQL's 65,535 bind
/// parameters for the widest statement (19 columns, offers).
const ROWS_PER_STATEMENT: usize = 400;

/// A product group (category).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogGroup {
    /// Id in the source system.
    pub external_id: String,
    /// Name.
    pub name: String,
    /// Parent group id, `None` at the top level.
    pub parent_id: Option<String>,
    /// Marked deleted in the source.
    pub deleted: bool,
}

/// A price type (`Розничная`, `Оптовая`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogPriceType {
    /// Id in the source system.
    pub external_id: String,
    /// Name.
    pub name: String,
    /// Currency as the source writes it.
    pub currency: Option<String>,
}

/// A warehouse.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogWarehouse {
    /// Id in the source system.
    pub external_id: String,
    /// Name.
    pub name: String,
}

/// A catalog product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogProduct {
    /// Id in the source system (for 1C the `Ид`, possibly `product#characteristic`).
    pub external_id: String,
    /// Article / SKU.
    pub sku: Option<String>,
    /// Name.
    pub name: String,
    /// Group ids.
    pub group_ids: Vec<String>,
    /// Base unit (short name or code).
    pub unit: Option<String>,
    /// Barcodes.
    pub barcodes: Vec<String>,
    /// Marked deleted in the source (kept, but inactive).
    pub deleted: bool,
}

/// One value of a reference-book property (`ВариантыЗначений/Справочник`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogPropertyVariant {
    /// `ИдЗначения`: what a product's property value refers to.
    pub id: String,
    /// `Значение`: the text it stands for.
    pub value: String,
}

/// A property definition of the classifier (`Классификатор/Свойства/Свойство`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogProperty {
    /// Id in the source system.
    pub external_id: String,
    /// Name (`Наименование`).
    pub name: String,
    /// Value type as written (`Строка`, `Число`, `Справочник`, …), if the source says.
    pub kind: Option<String>,
    /// Allowed values of a reference-book property, empty for other kinds.
    pub variants: Vec<CatalogPropertyVariant>,
    /// Marked deleted in the source (kept: stored values may still refer to it).
    pub deleted: bool,
}

/// One property value of a product or offer, as the source sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogPropertyValue {
    /// Property id.
    pub id: String,
    /// The value as written: a text, a number, or the id of a reference-book variant
    /// ([`CatalogPropertyVariant::id`]). A multi-valued property has one entry per value.
    pub value: String,
}

/// Property values and images of one product or offer of the same batch (matched by
/// `external_id`; details of an id the batch does not write are ignored). They ride beside the
/// row rather than on it so every existing way of building a [`CatalogProduct`] keeps working.
///
/// A part that is `None` is not carried by the file and the stored one is kept (a changes-only
/// or prices-only file); `Some(vec![])` says there are none and clears what is stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogDetails {
    /// The product's or offer's id.
    pub external_id: String,
    /// Property values, in the order the source sent them.
    pub properties: Option<Vec<CatalogPropertyValue>>,
    /// Image paths relative to the exchange directory (`import_files/ab/abcd.jpg`); products
    /// only (ignored on offers).
    pub images: Option<Vec<String>>,
}

/// One price of an offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogPrice {
    /// Price type id.
    pub price_type_id: String,
    /// Amount as decimal text (never a float).
    pub amount: String,
    /// Currency as written.
    pub currency: Option<String>,
    /// Unit the price is for.
    pub unit: Option<String>,
}

/// Stock of an offer at one warehouse (`""` = the total).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogStock {
    /// Warehouse id, or `""` for a total quantity.
    pub warehouse_id: String,
    /// Quantity as decimal text.
    pub quantity: String,
}

/// An offer: a product or one of its variants, with prices and stock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogOffer {
    /// Id in the source system (`product` or `product#characteristic`).
    pub external_id: String,
    /// The product part of the id.
    pub product_id: String,
    /// The characteristic part, for a variant.
    pub characteristic_id: Option<String>,
    /// Article / SKU.
    pub sku: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Barcodes.
    pub barcodes: Vec<String>,
    /// Marked deleted in the source.
    pub deleted: bool,
    /// Prices, `None` when this file says nothing about prices (they are then left as stored).
    #[serde(skip)]
    pub prices: Option<Vec<CatalogPrice>>,
    /// Stock, `None` when this file says nothing about stock (it is then left as stored).
    #[serde(skip)]
    pub stock: Option<Vec<CatalogStock>>,
}

/// Everything one transaction writes.
#[derive(Debug, Clone, Default)]
pub struct CatalogBatch {
    /// Groups.
    pub groups: Vec<CatalogGroup>,
    /// Price types.
    pub price_types: Vec<CatalogPriceType>,
    /// Warehouses.
    pub warehouses: Vec<CatalogWarehouse>,
    /// Products.
    pub products: Vec<CatalogProduct>,
    /// Offers.
    pub offers: Vec<CatalogOffer>,
    /// Property definitions.
    pub properties: Vec<CatalogProperty>,
    /// Property values and images of products of this batch.
    pub product_details: Vec<CatalogDetails>,
    /// Property values of offers of this batch.
    pub offer_details: Vec<CatalogDetails>,
}

impl CatalogBatch {
    /// Number of rows of every kind together (details ride on their product/offer row and do
    /// not count).
    pub fn len(&self) -> usize {
        self.groups.len()
            + self.price_types.len()
            + self.warehouses.len()
            + self.properties.len()
            + self.products.len()
            + self.offers.len()
    }

    /// True if there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What happened to the rows of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpsertCounts {
    /// New rows.
    pub inserted: u64,
    /// Rows whose content changed (or that came back after a deactivation).
    pub updated: u64,
    /// Rows skipped because their hash was unchanged.
    pub unchanged: u64,
    /// Rows deactivated by a full import that no longer lists them.
    pub deactivated: u64,
}

impl UpsertCounts {
    /// Adds another count into this one.
    pub fn add(&mut self, o: &UpsertCounts) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.deactivated += o.deactivated;
    }

    /// Rows actually written (inserted, updated or deactivated).
    pub fn written(&self) -> u64 {
        self.inserted + self.updated + self.deactivated
    }
}

/// Per-kind outcome of one or more batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CatalogWriteReport {
    /// Groups.
    pub groups: UpsertCounts,
    /// Price types.
    pub price_types: UpsertCounts,
    /// Warehouses.
    pub warehouses: UpsertCounts,
    /// Property definitions.
    pub properties: UpsertCounts,
    /// Products (a change of property values or images counts as an update).
    pub products: UpsertCounts,
    /// Offers (their own fields and property values).
    pub offers: UpsertCounts,
    /// Price rows.
    pub prices: UpsertCounts,
    /// Stock rows.
    pub stock: UpsertCounts,
}

impl CatalogWriteReport {
    /// Adds another report into this one.
    pub fn add(&mut self, o: &CatalogWriteReport) {
        self.groups.add(&o.groups);
        self.price_types.add(&o.price_types);
        self.warehouses.add(&o.warehouses);
        self.properties.add(&o.properties);
        self.products.add(&o.products);
        self.offers.add(&o.offers);
        self.prices.add(&o.prices);
        self.stock.add(&o.stock);
    }

    /// Rows written over all kinds.
    pub fn written(&self) -> u64 {
        [
            self.groups,
            self.price_types,
            self.warehouses,
            self.properties,
            self.products,
            self.offers,
            self.prices,
            self.stock,
        ]
        .iter()
        .map(UpsertCounts::written)
        .sum()
    }
}

/// Which ids a batch records as seen by an import run (see [`Store::deactivate_unseen`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenRun<'a> {
    /// The run id.
    pub run: &'a str,
    /// Record product ids.
    pub products: bool,
    /// Record offer ids.
    pub offers: bool,
}

impl<'a> SeenRun<'a> {
    /// Records both kinds.
    pub fn all(run: &'a str) -> Self {
        SeenRun {
            run,
            products: true,
            offers: true,
        }
    }
}

/// Which catalog entity a full import deactivates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogKind {
    /// `catalog_products`.
    Product,
    /// `catalog_offers`.
    Offer,
}

impl CatalogKind {
    /// `product` / `offer`: the seen-list kind and the binding kind.
    pub fn as_str(self) -> &'static str {
        match self {
            CatalogKind::Product => "product",
            CatalogKind::Offer => "offer",
        }
    }

    pub(crate) fn table(self) -> &'static str {
        match self {
            CatalogKind::Product => "catalog_products",
            CatalogKind::Offer => "catalog_offers",
        }
    }
}

/// Row counts of one system's catalog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CatalogCounts {
    /// Groups.
    pub groups: i64,
    /// Price types.
    pub price_types: i64,
    /// Warehouses.
    pub warehouses: i64,
    /// Property definitions.
    pub properties: i64,
    /// Products, active or not.
    pub products: i64,
    /// Active products.
    pub active_products: i64,
    /// Offers, active or not.
    pub offers: i64,
    /// Active offers.
    pub active_offers: i64,
    /// Price rows.
    pub prices: i64,
    /// Stock rows.
    pub stock: i64,
}

/// A stored product's state, as tests and the CLI read it back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCatalogRow {
    /// Id in the source.
    pub external_id: String,
    /// Name (may be empty for an offer without one).
    pub name: Option<String>,
    /// Whether it is active (not deleted, and listed by the last full import).
    pub active: bool,
    /// Content hash.
    pub content_hash: String,
    /// Last write, unix milliseconds.
    pub updated_at: i64,
}

/// `($s, $s+1, …), (…)` for `rows` rows of `cols` columns starting at placeholder `start`.
fn values_sql(start: usize, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    let mut n = start;
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            s.push('$');
            s.push_str(&n.to_string());
            n += 1;
        }
        s.push(')');
    }
    s
}

/// SQLite gets anonymous `?` placeholders instead of `$N`: sqlx-sqlite looks up the name of
/// every parameter of a statement with `sqlite3_bind_parameter_name`, which scans the statement's
/// list of named parameters, so a 5,000-parameter `$N` statement costs O(n²) name scans (profiled:
/// half the import's CPU). Every multi-row statement here binds its values in textual order, so
/// numbering adds nothing. PostgreSQL keeps `$N`.
fn positional(sql: String, pg: bool) -> String {
    if pg {
        return sql;
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn hash_of<T: Serialize>(v: &T) -> String {
    snapshot_hash(&serde_json::to_value(v).unwrap_or(serde_json::Value::Null))
}

/// Keeps the last occurrence of each id: one multi-row upsert may not touch a row twice.
fn dedupe_last<T, F: Fn(&T) -> &str>(items: &[T], id: F) -> Vec<&T> {
    let mut seen = HashSet::with_capacity(items.len());
    let mut out: Vec<&T> = items.iter().rev().filter(|i| seen.insert(id(i))).collect();
    out.reverse();
    out
}

/// A row to write with its hash and whether it is new.
struct Planned<'a, T> {
    row: &'a T,
    hash: String,
    new: bool,
}

/// An offer part as written to its row: JSON array, element count and hash; all `None` when
/// the file does not carry the part (the stored one is then kept).
#[derive(Default)]
struct PartColumns {
    json: Option<String>,
    count: Option<i64>,
    hash: Option<String>,
}

impl PartColumns {
    /// The part's entries, last one per `key` winning, ordered by `key` (the reading order).
    fn new<T: Serialize>(part: Option<&Vec<T>>, hash: Option<String>, key: fn(&T) -> &str) -> Self {
        let Some(items) = part else {
            return PartColumns::default();
        };
        let mut seen = HashSet::with_capacity(items.len());
        let mut rows: Vec<&T> = items.iter().rev().filter(|i| seen.insert(key(i))).collect();
        rows.sort_by(|a, b| key(a).cmp(key(b)));
        PartColumns {
            json: Some(serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into())),
            count: Some(rows.len() as i64),
            hash,
        }
    }
}

/// A product's or offer's property values or images as written: JSON array and hash, both
/// `None` when the file does not carry the part (the stored one is then kept by a COALESCE).
#[derive(Default)]
struct DetailPart {
    json: Option<String>,
    hash: Option<String>,
    /// The file says there are none.
    empty: bool,
}

impl DetailPart {
    fn new<T: Serialize>(part: Option<&Vec<T>>) -> Self {
        match part {
            None => DetailPart::default(),
            Some(items) => DetailPart {
                json: Some(serde_json::to_string(items).unwrap_or_else(|_| "[]".into())),
                hash: Some(hash_of(items)),
                empty: items.is_empty(),
            },
        }
    }

    /// Whether writing this part would leave the stored one (of hash `stored`) as it is. "None"
    /// and "never given" are the same, so rows imported before the part was stored, or without
    /// any, are not rewritten just to record an empty list.
    fn same_as(&self, stored: Option<&String>) -> bool {
        match &self.hash {
            None => true,
            Some(h) => stored == Some(h) || (self.empty && stored.is_none()),
        }
    }
}

/// An offer's prices, stock and property values as written.
type OfferParts = (PartColumns, PartColumns, DetailPart);

/// The products of a batch that need writing (new, changed, or listed again after being
/// deactivated), with their detail parts; unchanged ones are only counted.
fn plan_products<'a>(
    products: &[&'a CatalogProduct],
    old: &HashMap<String, ProductState>,
    product_details: &HashMap<&str, &CatalogDetails>,
    report: &mut CatalogWriteReport,
) -> (
    Vec<Planned<'a, CatalogProduct>>,
    Vec<(DetailPart, DetailPart)>,
) {
    let mut todo = Vec::new();
    let mut details: Vec<(DetailPart, DetailPart)> = Vec::new();
    for p in products {
        // The core hash is the row's alone, so rows without details keep the hash they
        // had before details were stored; details have hashes of their own.
        let h = hash_of(*p);
        let d = product_details.get(p.external_id.as_str());
        let props = DetailPart::new(d.and_then(|d| d.properties.as_ref()));
        let images = DetailPart::new(d.and_then(|d| d.images.as_ref()));
        let new = match old.get(p.external_id.as_str()) {
            // An inactive row listed again is reactivated, so it counts as changed.
            Some(o)
                if o.hash == h
                    && o.active != p.deleted
                    && props.same_as(o.properties_hash.as_ref())
                    && images.same_as(o.images_hash.as_ref()) =>
            {
                report.products.unchanged += 1;
                continue;
            }
            Some(_) => {
                report.products.updated += 1;
                false
            }
            None => {
                report.products.inserted += 1;
                true
            }
        };
        todo.push(Planned {
            row: *p,
            hash: h,
            new,
        });
        details.push((props, images));
    }
    (todo, details)
}

/// The offers of a batch that need writing, with the parts (prices, stock, properties) their
/// rows get; prices and stock are counted one by one.
fn plan_offers<'a>(
    offers: &[&'a CatalogOffer],
    old: &HashMap<String, OfferState>,
    offer_details: &HashMap<&str, &CatalogDetails>,
    report: &mut CatalogWriteReport,
) -> (Vec<Planned<'a, CatalogOffer>>, Vec<OfferParts>) {
    let mut core: Vec<Planned<CatalogOffer>> = Vec::new();
    let mut parts: Vec<OfferParts> = Vec::new();
    for o in offers {
        let h = hash_of(*o);
        let prev = old.get(o.external_id.as_str());
        let props = DetailPart::new(
            offer_details
                .get(o.external_id.as_str())
                .and_then(|d| d.properties.as_ref()),
        );
        let props_same = props.same_as(prev.and_then(|p| p.properties_hash.as_ref()));
        let ph = o.prices.as_ref().map(hash_of);
        let sh = o.stock.as_ref().map(hash_of);
        let core_same = matches!(prev, Some(p) if p.hash == h && p.active != o.deleted);
        let prices_same = ph.is_none() || matches!(prev, Some(p) if p.prices_hash == ph);
        let stock_same = sh.is_none() || matches!(prev, Some(p) if p.stock_hash == sh);
        let n_prices = o.prices.as_ref().map_or(0, Vec::len) as u64;
        let n_stock = o.stock.as_ref().map_or(0, Vec::len) as u64;
        let had_prices = prev.is_some_and(|p| p.prices_hash.is_some());
        let had_stock = prev.is_some_and(|p| p.stock_hash.is_some());
        if prices_same {
            report.prices.unchanged += n_prices
        } else if had_prices {
            report.prices.updated += n_prices
        } else {
            report.prices.inserted += n_prices
        }
        if stock_same {
            report.stock.unchanged += n_stock
        } else if had_stock {
            report.stock.updated += n_stock
        } else {
            report.stock.inserted += n_stock
        }
        let new = match prev {
            Some(_) if core_same && prices_same && stock_same && props_same => {
                report.offers.unchanged += 1;
                continue;
            }
            Some(_) => {
                if core_same && props_same {
                    report.offers.unchanged += 1
                } else {
                    report.offers.updated += 1
                }
                false
            }
            None => {
                report.offers.inserted += 1;
                true
            }
        };
        // A part this file does not carry is bound as NULL and kept by the COALESCE below.
        parts.push((
            PartColumns::new(o.prices.as_ref(), ph, |p: &CatalogPrice| {
                p.price_type_id.as_str()
            }),
            PartColumns::new(o.stock.as_ref(), sh, |s: &CatalogStock| {
                s.warehouse_id.as_str()
            }),
            props,
        ));
        core.push(Planned {
            row: *o,
            hash: h,
            new,
        });
    }
    (core, parts)
}

/// The variants of a property as its stored JSON object (`{ИдЗначения: Значение}`).
fn variants_json(v: &[CatalogPropertyVariant]) -> String {
    let map: BTreeMap<&str, &str> = v
        .iter()
        .map(|v| (v.id.as_str(), v.value.as_str()))
        .collect();
    serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())
}

/// Details by id, the last one per id winning (as for the rows themselves).
fn details_by_id(details: &[CatalogDetails]) -> HashMap<&str, &CatalogDetails> {
    details
        .iter()
        .map(|d| (d.external_id.as_str(), d))
        .collect()
}

/// Runs `$sql_for(rows)` with binds from `$bind(q, row)` over `$items` in chunks, on `$conn`.
macro_rules! exec_chunks {
    ($conn:expr, $pg:expr, $items:expr, $cols:expr, $sql_for:expr, $op:expr, |$q:ident, $r:ident| $bind:expr) => {{
        for chunk in $items.chunks(ROWS_PER_STATEMENT) {
            let sql: String = positional($sql_for(values_sql(1, chunk.len(), $cols)), $pg);
            let mut $q = sqlx::query(AssertSqlSafe(sql));
            for $r in chunk {
                $q = $bind;
            }
            $q.execute(&mut *$conn).await.map_err(StoreError::db($op))?;
        }
    }};
}

impl Store {
    /// Writes one batch in one transaction: rows with an unchanged hash are skipped, new and
    /// changed rows are upserted, new products/offers get their binding, and when `seen` is given
    /// the product/offer ids of the batch are recorded (for the kinds it names) for
    /// [`Store::deactivate_unseen`].
    pub async fn write_catalog_batch(
        &self,
        system: &str,
        seen: Option<SeenRun<'_>>,
        batch: &CatalogBatch,
    ) -> Result<CatalogWriteReport, StoreError> {
        let now = ms(self.clock.now());
        let mut report = CatalogWriteReport::default();
        let groups = dedupe_last(&batch.groups, |g| &g.external_id);
        let price_types = dedupe_last(&batch.price_types, |g| &g.external_id);
        let warehouses = dedupe_last(&batch.warehouses, |g| &g.external_id);
        let products = dedupe_last(&batch.products, |g| &g.external_id);
        let offers = dedupe_last(&batch.offers, |g| &g.external_id);
        let properties = dedupe_last(&batch.properties, |g| &g.external_id);
        let product_details = details_by_id(&batch.product_details);
        let offer_details = details_by_id(&batch.offer_details);
        let op = |what: &str| format!("writing a batch of 1C catalog {what} for system {system}");
        let pg = self.db.backend() == Backend::Postgres;

        on_db!(&self.db, pool => {
            let mut tx = pool.begin_with(self.db.begin_write()).await.map_err(StoreError::db(op("rows (begin)")))?;

            // --- simple reference tables: groups, price types, warehouses -------------------
            macro_rules! simple_table {
                ($items:expr, $table:literal, $counts:expr, $cols:literal, $setcols:literal,
                 |$q:ident, $p:ident| $bind:expr) => {{
                    let ids: Vec<&str> = $items.iter().map(|g| g.external_id.as_str()).collect();
                    let old = CatalogConn::existing_hashes(&mut *tx, $table, system, &ids, false).await?;
                    let mut todo = Vec::new();
                    for g in $items.iter() {
                        let h = hash_of(*g);
                        match old.get(g.external_id.as_str()) {
                            Some((oh, _)) if *oh == h => $counts.unchanged += 1,
                            Some(_) => { $counts.updated += 1; todo.push(Planned { row: *g, hash: h, new: false }) }
                            None => { $counts.inserted += 1; todo.push(Planned { row: *g, hash: h, new: true }) }
                        }
                    }
                    let ncols = $cols.split(',').count();
                    exec_chunks!(tx, pg, todo, ncols,
                        |v: String| format!("INSERT INTO {} ({}) VALUES {v} ON CONFLICT (system, external_id) DO UPDATE SET {}", $table, $cols, $setcols),
                        op($table), |$q, $p| $bind);
                }};
            }
            simple_table!(groups, "catalog_groups", report.groups,
                "system, external_id, name, parent_id, deleted, content_hash, updated_at",
                "name = excluded.name, parent_id = excluded.parent_id, deleted = excluded.deleted, content_hash = excluded.content_hash, updated_at = excluded.updated_at",
                |q, p| q.bind(system).bind(p.row.external_id.as_str()).bind(p.row.name.as_str())
                    .bind(p.row.parent_id.as_deref()).bind(p.row.deleted as i64).bind(p.hash.as_str()).bind(now));
            simple_table!(price_types, "catalog_price_types", report.price_types,
                "system, external_id, name, currency, content_hash, updated_at",
                "name = excluded.name, currency = excluded.currency, content_hash = excluded.content_hash, updated_at = excluded.updated_at",
                |q, p| q.bind(system).bind(p.row.external_id.as_str()).bind(p.row.name.as_str())
                    .bind(p.row.currency.as_deref()).bind(p.hash.as_str()).bind(now));
            simple_table!(warehouses, "catalog_warehouses", report.warehouses,
                "system, external_id, name, content_hash, updated_at",
                "name = excluded.name, content_hash = excluded.content_hash, updated_at = excluded.updated_at",
                |q, p| q.bind(system).bind(p.row.external_id.as_str()).bind(p.row.name.as_str())
                    .bind(p.hash.as_str()).bind(now));
            simple_table!(properties, "catalog_properties", report.properties,
                "system, external_id, name, kind, variants, deleted, content_hash, updated_at",
                "name = excluded.name, kind = excluded.kind, variants = excluded.variants, deleted = excluded.deleted, content_hash = excluded.content_hash, updated_at = excluded.updated_at",
                |q, p| q.bind(system).bind(p.row.external_id.as_str()).bind(p.row.name.as_str())
                    .bind(p.row.kind.as_deref()).bind(variants_json(&p.row.variants)).bind(p.row.deleted as i64)
                    .bind(p.hash.as_str()).bind(now));

            // --- products, with their property values and images --------------------------------
            let ids: Vec<&str> = products.iter().map(|p| p.external_id.as_str()).collect();
            let old = CatalogConn::existing_product_hashes(&mut *tx, system, &ids).await?;
            let (todo, details) = plan_products(&products, &old, &product_details, &mut report);
            let rows: Vec<(&Planned<CatalogProduct>, &(DetailPart, DetailPart))> = todo.iter().zip(details.iter()).collect();
            // A part this file does not carry is bound as NULL and kept by the COALESCE below.
            exec_chunks!(tx, pg, rows, 15,
                |v: String| format!("INSERT INTO catalog_products (system, external_id, sku, name, group_ids, unit, barcodes, deleted, active, content_hash, \
                    properties, properties_hash, images, images_hash, updated_at) VALUES {v} \
                    ON CONFLICT (system, external_id) DO UPDATE SET sku = excluded.sku, name = excluded.name, group_ids = excluded.group_ids, \
                    unit = excluded.unit, barcodes = excluded.barcodes, deleted = excluded.deleted, active = excluded.active, \
                    content_hash = excluded.content_hash, \
                    properties = COALESCE(excluded.properties, catalog_products.properties), \
                    properties_hash = COALESCE(excluded.properties_hash, catalog_products.properties_hash), \
                    images = COALESCE(excluded.images, catalog_products.images), \
                    images_hash = COALESCE(excluded.images_hash, catalog_products.images_hash), updated_at = excluded.updated_at"),
                op("products"), |q, r| {
                    let (p, (pr, im)) = r;
                    q.bind(system).bind(p.row.external_id.as_str()).bind(p.row.sku.as_deref())
                        .bind(p.row.name.as_str()).bind(json_list(&p.row.group_ids)).bind(p.row.unit.as_deref())
                        .bind(json_list(&p.row.barcodes)).bind(p.row.deleted as i64).bind((!p.row.deleted) as i64)
                        .bind(p.hash.as_str())
                        .bind(pr.json.as_deref()).bind(pr.hash.as_deref()).bind(im.json.as_deref()).bind(im.hash.as_deref())
                        .bind(now)
                });
            let new_products: Vec<&str> = todo.iter().filter(|p| p.new).map(|p| p.row.external_id.as_str()).collect();
            CatalogConn::insert_bindings(&mut *tx, system, EntityKind::Product, &new_products, now).await?;
            if let Some(SeenRun { run, products: true, .. }) = seen {
                CatalogConn::insert_seen(&mut *tx, run, CatalogKind::Product.as_str(), &ids).await?;
            }

            // --- offers, their prices and stock -------------------------------------------------
            let ids: Vec<&str> = offers.iter().map(|p| p.external_id.as_str()).collect();
            let old = CatalogConn::existing_offer_hashes(&mut *tx, system, &ids).await?;
            let (core, parts) = plan_offers(&offers, &old, &offer_details, &mut report);
            let rows: Vec<(&Planned<CatalogOffer>, &OfferParts)> = core.iter().zip(parts.iter()).collect();
            exec_chunks!(tx, pg, rows, 19,
                |v: String| format!("INSERT INTO catalog_offers (system, external_id, product_id, characteristic_id, sku, name, barcodes, deleted, active, content_hash, \
                    prices, price_count, prices_hash, stock, stock_count, stock_hash, properties, properties_hash, updated_at) VALUES {v} \
                    ON CONFLICT (system, external_id) DO UPDATE SET product_id = excluded.product_id, characteristic_id = excluded.characteristic_id, \
                    sku = excluded.sku, name = excluded.name, barcodes = excluded.barcodes, deleted = excluded.deleted, active = excluded.active, \
                    content_hash = excluded.content_hash, \
                    prices = COALESCE(excluded.prices, catalog_offers.prices), price_count = COALESCE(excluded.price_count, catalog_offers.price_count), \
                    prices_hash = COALESCE(excluded.prices_hash, catalog_offers.prices_hash), \
                    stock = COALESCE(excluded.stock, catalog_offers.stock), stock_count = COALESCE(excluded.stock_count, catalog_offers.stock_count), \
                    stock_hash = COALESCE(excluded.stock_hash, catalog_offers.stock_hash), \
                    properties = COALESCE(excluded.properties, catalog_offers.properties), \
                    properties_hash = COALESCE(excluded.properties_hash, catalog_offers.properties_hash), updated_at = excluded.updated_at"),
                op("offers"), |q, r| {
                    let (p, (pp, sp, pr)) = r;
                    q.bind(system).bind(p.row.external_id.as_str()).bind(p.row.product_id.as_str())
                        .bind(p.row.characteristic_id.as_deref()).bind(p.row.sku.as_deref()).bind(p.row.name.as_deref())
                        .bind(json_list(&p.row.barcodes)).bind(p.row.deleted as i64).bind((!p.row.deleted) as i64)
                        .bind(p.hash.as_str())
                        .bind(pp.json.as_deref()).bind(pp.count).bind(pp.hash.as_deref())
                        .bind(sp.json.as_deref()).bind(sp.count).bind(sp.hash.as_deref())
                        .bind(pr.json.as_deref()).bind(pr.hash.as_deref())
                        .bind(now)
                });
            let new_offers: Vec<&str> = core.iter().filter(|p| p.new).map(|p| p.row.external_id.as_str()).collect();
            CatalogConn::insert_bindings(&mut *tx, system, EntityKind::Offer, &new_offers, now).await?;
            if let Some(SeenRun { run, offers: true, .. }) = seen {
                CatalogConn::insert_seen(&mut *tx, run, CatalogKind::Offer.as_str(), &ids).await?;
            }

            tx.commit().await.map_err(StoreError::db(op("rows (commit)")))?;
        });
        Ok(report)
    }

    /// Deactivates the `kind` rows of `system` that are active and were not recorded as seen by
    /// import run `run`; returns how many. Call it only after a *full* import.
    pub async fn deactivate_unseen(
        &self,
        system: &str,
        run: &str,
        kind: CatalogKind,
    ) -> Result<u64, StoreError> {
        let now = ms(self.clock.now());
        let sql = format!(
            "UPDATE {t} SET active = 0, updated_at = $1 WHERE system = $2 AND active = 1 \
             AND NOT EXISTS (SELECT 1 FROM catalog_seen s WHERE s.run_id = $3 AND s.kind = $4 \
             AND s.external_id = {t}.external_id)",
            t = kind.table()
        );
        let n = on_db!(&self.db, pool => {
            sqlx::query(AssertSqlSafe(sql)).bind(now).bind(system).bind(run).bind(kind.as_str())
                .execute(pool).await
                .map_err(StoreError::db(format!("deactivating 1C {}s of system {system} not listed by the full import", kind.as_str())))?
                .rows_affected()
        });
        Ok(n)
    }

    /// Drops the seen-list of import run `run` (call when the run ends, whatever its outcome).
    pub async fn forget_import_run(&self, run: &str) -> Result<(), StoreError> {
        on_db!(&self.db, pool => {
            sqlx::query("DELETE FROM catalog_seen WHERE run_id = $1").bind(run)
                .execute(pool).await
                .map_err(StoreError::db(format!("dropping the seen-list of import run {run}")))?;
        });
        Ok(())
    }

    /// Row counts of `system`'s catalog.
    pub async fn catalog_counts(&self, system: &str) -> Result<CatalogCounts, StoreError> {
        let sql = "SELECT \
            (SELECT COUNT(*) FROM catalog_groups WHERE system = $1) AS groups, \
            (SELECT COUNT(*) FROM catalog_price_types WHERE system = $1) AS price_types, \
            (SELECT COUNT(*) FROM catalog_warehouses WHERE system = $1) AS warehouses, \
            (SELECT COUNT(*) FROM catalog_properties WHERE system = $1) AS properties, \
            (SELECT COUNT(*) FROM catalog_products WHERE system = $1) AS products, \
            (SELECT COUNT(*) FROM catalog_products WHERE system = $1 AND active = 1) AS active_products, \
            (SELECT COUNT(*) FROM catalog_offers WHERE system = $1) AS offers, \
            (SELECT COUNT(*) FROM catalog_offers WHERE system = $1 AND active = 1) AS active_offers, \
            (SELECT CAST(COALESCE(SUM(price_count), 0) AS BIGINT) FROM catalog_offers WHERE system = $1) AS prices, \
            (SELECT CAST(COALESCE(SUM(stock_count), 0) AS BIGINT) FROM catalog_offers WHERE system = $1) AS stock";
        on_db!(&self.db, pool => {
            let r = sqlx::query(sql).bind(system).fetch_one(pool).await
                .map_err(StoreError::db(format!("counting the 1C catalog of system {system}")))?;
            Ok(CatalogCounts {
                groups: r.i64("groups")?,
                price_types: r.i64("price_types")?,
                warehouses: r.i64("warehouses")?,
                properties: r.i64("properties")?,
                products: r.i64("products")?,
                active_products: r.i64("active_products")?,
                offers: r.i64("offers")?,
                active_offers: r.i64("active_offers")?,
                prices: r.i64("prices")?,
                stock: r.i64("stock")?,
            })
        })
    }

    /// One stored product or offer, by id.
    pub async fn catalog_row(
        &self,
        system: &str,
        kind: CatalogKind,
        external_id: &str,
    ) -> Result<Option<StoredCatalogRow>, StoreError> {
        let sql = format!(
            "SELECT external_id, name, active, content_hash, updated_at FROM {} \
             WHERE system = $1 AND external_id = $2",
            kind.table()
        );
        on_db!(&self.db, pool => {
            let r = sqlx::query(AssertSqlSafe(sql)).bind(system).bind(external_id)
                .fetch_optional(pool).await
                .map_err(StoreError::db(format!("reading 1C {} {external_id} of system {system}", kind.as_str())))?;
            r.map(|r| Ok(StoredCatalogRow {
                external_id: r.text("external_id")?,
                name: r.opt_text("name")?,
                active: r.i64("active")? != 0,
                content_hash: r.text("content_hash")?,
                updated_at: r.i64("updated_at")?,
            })).transpose()
        })
    }

    /// The stored prices of one offer: (price type, amount, currency), by price type.
    pub async fn catalog_prices(
        &self,
        system: &str,
        offer_id: &str,
    ) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        let prices: Vec<CatalogPrice> = self.offer_part(system, offer_id, "prices").await?;
        Ok(prices
            .into_iter()
            .map(|p| (p.price_type_id, p.amount, p.currency))
            .collect())
    }

    /// The stored stock of one offer: (warehouse, quantity), by warehouse (`""` = total).
    pub async fn catalog_stock(
        &self,
        system: &str,
        offer_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let stock: Vec<CatalogStock> = self.offer_part(system, offer_id, "stock").await?;
        Ok(stock
            .into_iter()
            .map(|s| (s.warehouse_id, s.quantity))
            .collect())
    }

    /// Reads and decodes the JSON part column `column` (`prices`/`stock`) of one offer; empty
    /// when the offer or the part is absent.
    async fn offer_part<T: serde::de::DeserializeOwned>(
        &self,
        system: &str,
        offer_id: &str,
        column: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        let sql =
            format!("SELECT {column} FROM catalog_offers WHERE system = $1 AND external_id = $2");
        let json: Option<String> = on_db!(&self.db, pool => {
            match sqlx::query(AssertSqlSafe(sql)).bind(system).bind(offer_id).fetch_optional(pool).await
                .map_err(StoreError::db(format!("reading {column} of 1C offer {offer_id} of system {system}")))? {
                Some(r) => r.opt_text(column)?,
                None => None,
            }
        });
        match json {
            None => Ok(Vec::new()),
            Some(j) => serde_json::from_str(&j).map_err(|e| StoreError::Corrupt {
                what: format!("catalog_offers.{column} of 1C offer {offer_id} of system {system}"),
                detail: e.to_string(),
            }),
        }
    }
}

/// Stored hash state of an offer.
struct OfferState {
    hash: String,
    active: bool,
    prices_hash: Option<String>,
    stock_hash: Option<String>,
    properties_hash: Option<String>,
}

/// Stored hash state of a product.
struct ProductState {
    hash: String,
    active: bool,
    properties_hash: Option<String>,
    images_hash: Option<String>,
}

/// `$start, $start+1, …` for an `IN (…)` list of `n` values.
fn in_list(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The per-backend helpers below take the open transaction's connection. They are generated
/// once per driver so each type-checks against it.
macro_rules! backend_helpers {
    ($conn:ty, $pg:expr) => {
        impl CatalogConn for $conn {

            async fn existing_hashes(
                &mut self,
                table: &str,
                system: &str,
                ids: &[&str],
                with_active: bool,
            ) -> Result<HashMap<String, (String, bool)>, StoreError> {
                let mut out = HashMap::with_capacity(ids.len());
                let active = if with_active { "active" } else { "CAST(1 AS BIGINT) AS active" };
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let sql = format!(
                        "SELECT external_id, content_hash, {active} FROM {table} WHERE system = $1 AND external_id IN ({})",
                        in_list(2, chunk.len())
                    );
                    let mut q = sqlx::query(AssertSqlSafe(positional(sql, $pg))).bind(system);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    for r in q.fetch_all(&mut *self).await.map_err(StoreError::db(format!("reading stored hashes of {table}")))? {
                        out.insert(r.text("external_id")?, (r.text("content_hash")?, r.i64("active")? != 0));
                    }
                }
                Ok(out)
            }

            async fn existing_offer_hashes(
                &mut self,
                system: &str,
                ids: &[&str],
            ) -> Result<HashMap<String, OfferState>, StoreError> {
                let mut out = HashMap::with_capacity(ids.len());
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let sql = format!(
                        "SELECT external_id, content_hash, active, prices_hash, stock_hash, properties_hash FROM catalog_offers WHERE system = $1 AND external_id IN ({})",
                        in_list(2, chunk.len())
                    );
                    let mut q = sqlx::query(AssertSqlSafe(positional(sql, $pg))).bind(system);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    for r in q.fetch_all(&mut *self).await.map_err(StoreError::db("reading stored hashes of catalog_offers"))? {
                        out.insert(r.text("external_id")?, OfferState {
                            hash: r.text("content_hash")?,
                            active: r.i64("active")? != 0,
                            prices_hash: r.opt_text("prices_hash")?,
                            stock_hash: r.opt_text("stock_hash")?,
                            properties_hash: r.opt_text("properties_hash")?,
                        });
                    }
                }
                Ok(out)
            }

            async fn existing_product_hashes(
                &mut self,
                system: &str,
                ids: &[&str],
            ) -> Result<HashMap<String, ProductState>, StoreError> {
                let mut out = HashMap::with_capacity(ids.len());
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let sql = format!(
                        "SELECT external_id, content_hash, active, properties_hash, images_hash FROM catalog_products WHERE system = $1 AND external_id IN ({})",
                        in_list(2, chunk.len())
                    );
                    let mut q = sqlx::query(AssertSqlSafe(positional(sql, $pg))).bind(system);
                    for id in chunk {
                        q = q.bind(*id);
                    }
                    for r in q.fetch_all(&mut *self).await.map_err(StoreError::db("reading stored hashes of catalog_products"))? {
                        out.insert(r.text("external_id")?, ProductState {
                            hash: r.text("content_hash")?,
                            active: r.i64("active")? != 0,
                            properties_hash: r.opt_text("properties_hash")?,
                            images_hash: r.opt_text("images_hash")?,
                        });
                    }
                }
                Ok(out)
            }

            async fn insert_bindings(
                &mut self,
                system: &str,
                kind: EntityKind,
                ids: &[&str],
                now: i64,
            ) -> Result<(), StoreError> {
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    // The snapshot stays empty: the catalog row itself is the imported state.
                    let values: Vec<String> = (0..chunk.len())
                        .map(|i| {
                            let b = i * 5;
                            format!("(${},${},${},${},NULL,NULL,${})", b + 1, b + 2, b + 3, b + 4, b + 5)
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO bindings (system, kind, entity_id, external_id, snapshot, snapshot_hash, synced_at) VALUES {} ON CONFLICT DO NOTHING",
                        values.join(",")
                    );
                    let mut q = sqlx::query(AssertSqlSafe(positional(sql, $pg)));
                    for id in chunk {
                        q = q.bind(system).bind(kind.as_str()).bind(format!("{system}:{id}")).bind(*id).bind(now);
                    }
                    q.execute(&mut *self).await.map_err(StoreError::db(format!("binding new 1C {kind}s of system {system}")))?;
                }
                Ok(())
            }

            async fn insert_seen(
                &mut self,
                run: &str,
                kind: &str,
                ids: &[&str],
            ) -> Result<(), StoreError> {
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let sql = format!(
                        "INSERT INTO catalog_seen (run_id, kind, external_id) VALUES {} ON CONFLICT DO NOTHING",
                        values_sql(1, chunk.len(), 3)
                    );
                    let mut q = sqlx::query(AssertSqlSafe(positional(sql, $pg)));
                    for id in chunk {
                        q = q.bind(run).bind(kind).bind(*id);
                    }
                    q.execute(&mut *self).await.map_err(StoreError::db(format!("recording seen 1C {kind}s of import run {run}")))?;
                }
                Ok(())
            }
        }
    };
}

/// Batch helpers on an open transaction's connection, implemented once per driver (by the macro
/// above) so the same call in `on_db!` type-checks against either.
trait CatalogConn {
    async fn existing_hashes(
        &mut self,
        table: &str,
        system: &str,
        ids: &[&str],
        with_active: bool,
    ) -> Result<HashMap<String, (String, bool)>, StoreError>;
    async fn existing_offer_hashes(
        &mut self,
        system: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, OfferState>, StoreError>;
    async fn existing_product_hashes(
        &mut self,
        system: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, ProductState>, StoreError>;
    async fn insert_bindings(
        &mut self,
        system: &str,
        kind: EntityKind,
        ids: &[&str],
        now: i64,
    ) -> Result<(), StoreError>;
    async fn insert_seen(&mut self, run: &str, kind: &str, ids: &[&str]) -> Result<(), StoreError>;
}

backend_helpers!(sqlx::SqliteConnection, false);
backend_helpers!(sqlx::PgConnection, true);

/// One sellable catalog entry as the catalog sync reads it: an offer (a product or one of its
/// variants) with its product's name and unit, or a product that has no offer at all.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    /// The offer id (`product` or `product#characteristic`), or the product id when the product
    /// has no offer.
    pub external_id: String,
    /// The product part of the id.
    pub product_id: String,
    /// The characteristic part, for a variant.
    pub characteristic_id: Option<String>,
    /// True for an offer row, false for a product without offers.
    pub is_offer: bool,
    /// Article: the offer's, else its product's.
    pub sku: Option<String>,
    /// Name: the offer's, else its product's, else the id.
    pub name: String,
    /// The product's base unit.
    pub unit: Option<String>,
    /// Active: the offer and (when stored) its product are both active.
    pub active: bool,
    /// Prices by price type (empty when never imported).
    pub prices: Vec<CatalogPrice>,
    /// Stock by warehouse, `""` being a total (empty when never imported).
    pub stock: Vec<CatalogStock>,
}

/// Offers (joined to their product by their own id, else by the product part of it) and
/// products without any offer, as one id-ordered list for keyset paging.
const ENTRIES_SQL: &str = "SELECT * FROM ( \
    SELECT o.external_id AS external_id, o.product_id AS product_id, o.characteristic_id AS characteristic_id, \
        CAST(1 AS BIGINT) AS is_offer, COALESCE(o.sku, p.sku, pp.sku) AS sku, \
        COALESCE(o.name, p.name, pp.name) AS name, COALESCE(p.unit, pp.unit) AS unit, \
        CAST(CASE WHEN o.active = 1 AND COALESCE(p.active, pp.active, 1) = 1 THEN 1 ELSE 0 END AS BIGINT) AS active, \
        o.prices AS prices, o.stock AS stock \
    FROM catalog_offers o \
    LEFT JOIN catalog_products p ON p.system = o.system AND p.external_id = o.external_id \
    LEFT JOIN catalog_products pp ON pp.system = o.system AND pp.external_id = o.product_id \
    WHERE o.system = $1 AND o.external_id > $2 \
    UNION ALL \
    SELECT p.external_id, p.external_id, CAST(NULL AS TEXT), CAST(0 AS BIGINT), p.sku, p.name, p.unit, \
        p.active, CAST(NULL AS TEXT), CAST(NULL AS TEXT) \
    FROM catalog_products p \
    WHERE p.system = $1 AND p.external_id > $2 \
    AND NOT EXISTS (SELECT 1 FROM catalog_offers o WHERE o.system = p.system AND o.external_id = p.external_id) \
    AND NOT EXISTS (SELECT 1 FROM catalog_offers o WHERE o.system = p.system AND o.product_id = p.external_id) \
) e ORDER BY external_id LIMIT $3";

/// A stored `catalog_properties.variants` object.
fn decode_variants(
    json: &str,
    id: &str,
    system: &str,
) -> Result<BTreeMap<String, String>, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        what: format!("catalog_properties.variants of 1C property {id} of system {system}"),
        detail: e.to_string(),
    })
}

fn decode_part<T: serde::de::DeserializeOwned>(
    json: Option<String>,
    what: &str,
    id: &str,
    system: &str,
) -> Result<Vec<T>, StoreError> {
    match json {
        None => Ok(Vec::new()),
        Some(j) => serde_json::from_str(&j).map_err(|e| StoreError::Corrupt {
            what: format!("catalog_offers.{what} of 1C offer {id} of system {system}"),
            detail: e.to_string(),
        }),
    }
}

impl Store {
    /// One page of `system`'s sellable catalog entries (see [`CatalogEntry`]) with ids after
    /// `after` (`""` for the first page), by id, at most `limit`. Keyset paging: pass the last id
    /// of a page to get the next; a short page is the last.
    pub async fn catalog_entries_page(
        &self,
        system: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<CatalogEntry>, StoreError> {
        let op = || format!("listing 1C catalog entries of system {system} after `{after}`");
        let rows = on_db!(&self.db, pool => {
            let rows = sqlx::query(ENTRIES_SQL).bind(system).bind(after).bind(i64::from(limit))
                .fetch_all(pool).await.map_err(StoreError::db(op()))?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let external_id = r.text("external_id")?;
                let name = r.opt_text("name")?.filter(|n| !n.is_empty()).unwrap_or_else(|| external_id.clone());
                out.push(CatalogEntry {
                    product_id: r.text("product_id")?,
                    characteristic_id: r.opt_text("characteristic_id")?,
                    is_offer: r.i64("is_offer")? != 0,
                    sku: r.opt_text("sku")?.filter(|s| !s.trim().is_empty()),
                    name,
                    unit: r.opt_text("unit")?,
                    active: r.i64("active")? != 0,
                    prices: decode_part(r.opt_text("prices")?, "prices", &external_id, system)?,
                    stock: decode_part(r.opt_text("stock")?, "stock", &external_id, system)?,
                    external_id,
                });
            }
            out
        });
        Ok(rows)
    }

    /// The price types of `system`'s catalog, by id.
    pub async fn catalog_price_types(
        &self,
        system: &str,
    ) -> Result<Vec<CatalogPriceType>, StoreError> {
        let sql = "SELECT external_id, name, currency FROM catalog_price_types WHERE system = $1 ORDER BY external_id";
        on_db!(&self.db, pool => {
            sqlx::query(sql).bind(system).fetch_all(pool).await
                .map_err(StoreError::db(format!("listing 1C price types of system {system}")))?
                .iter()
                .map(|r| Ok(CatalogPriceType {
                    external_id: r.text("external_id")?,
                    name: r.text("name")?,
                    currency: r.opt_text("currency")?,
                }))
                .collect()
        })
    }

    /// The warehouses of `system`'s catalog, by id.
    pub async fn catalog_warehouses(
        &self,
        system: &str,
    ) -> Result<Vec<CatalogWarehouse>, StoreError> {
        let sql = "SELECT external_id, name FROM catalog_warehouses WHERE system = $1 ORDER BY external_id";
        on_db!(&self.db, pool => {
            sqlx::query(sql).bind(system).fetch_all(pool).await
                .map_err(StoreError::db(format!("listing 1C warehouses of system {system}")))?
                .iter()
                .map(|r| Ok(CatalogWarehouse {
                    external_id: r.text("external_id")?,
                    name: r.text("name")?,
                }))
                .collect()
        })
    }

    /// The property definitions of `system`'s classifier, by id, with their variants (by
    /// variant id).
    pub async fn catalog_properties(
        &self,
        system: &str,
    ) -> Result<Vec<CatalogProperty>, StoreError> {
        let sql = "SELECT external_id, name, kind, variants, deleted FROM catalog_properties WHERE system = $1 ORDER BY external_id";
        let rows: Vec<(CatalogProperty, String)> = on_db!(&self.db, pool => {
            sqlx::query(sql).bind(system).fetch_all(pool).await
                .map_err(StoreError::db(format!("listing 1C property definitions of system {system}")))?
                .iter()
                .map(|r| Ok((CatalogProperty {
                    external_id: r.text("external_id")?,
                    name: r.text("name")?,
                    kind: r.opt_text("kind")?,
                    variants: Vec::new(),
                    deleted: r.i64("deleted")? != 0,
                }, r.text("variants")?)))
                .collect::<Result<_, StoreError>>()?
        });
        rows.into_iter()
            .map(|(mut p, json)| {
                p.variants = decode_variants(&json, &p.external_id, system)?
                    .into_iter()
                    .map(|(id, value)| CatalogPropertyVariant { id, value })
                    .collect();
                Ok(p)
            })
            .collect()
    }

    /// The property values of one product as (name, value) pairs in the order 1C sent them,
    /// empty when the product or its values are absent. The name is the property's
    /// `Наименование` when its definition is stored, else its id; the value of a reference-book
    /// property is the variant's text when the variant is known, else the value as sent (a
    /// text, a number, or an unknown variant id). A multi-valued property gives one pair per
    /// value.
    pub async fn catalog_product_properties(
        &self,
        system: &str,
        external_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let raw = self
            .catalog_property_values(system, CatalogKind::Product, external_id)
            .await?;
        self.resolve_properties(system, raw).await
    }

    /// [`Store::catalog_product_properties`] for an offer (a variant's `ЗначенияСвойств` in
    /// `offers.xml`).
    pub async fn catalog_offer_properties(
        &self,
        system: &str,
        external_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let raw = self
            .catalog_property_values(system, CatalogKind::Offer, external_id)
            .await?;
        self.resolve_properties(system, raw).await
    }

    /// The property values of one product or offer exactly as stored (ids, values as sent),
    /// empty when the row or its values are absent.
    pub async fn catalog_property_values(
        &self,
        system: &str,
        kind: CatalogKind,
        external_id: &str,
    ) -> Result<Vec<CatalogPropertyValue>, StoreError> {
        self.row_json(system, kind, external_id, "properties").await
    }

    /// The image paths of one product (`import_files/ab/abcd.jpg`, relative to the 1C exchange
    /// directory), in the order 1C sent them; empty when the product or its images are absent.
    pub async fn catalog_product_images(
        &self,
        system: &str,
        external_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.row_json(system, CatalogKind::Product, external_id, "images")
            .await
    }

    /// Names property ids and resolves variant ids through the stored definitions.
    async fn resolve_properties(
        &self,
        system: &str,
        raw: Vec<CatalogPropertyValue>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        if raw.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids: Vec<&str> = raw.iter().map(|v| v.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut defs: HashMap<String, (String, BTreeMap<String, String>)> = HashMap::new();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT external_id, name, variants FROM catalog_properties WHERE system = $1 AND external_id IN ({})",
                in_list(2, chunk.len())
            );
            let rows: Vec<(String, String, String)> = on_db!(&self.db, pool => {
                let mut q = sqlx::query(AssertSqlSafe(sql.as_str())).bind(system);
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(pool).await
                    .map_err(StoreError::db(format!("reading 1C property definitions of system {system}")))?
                    .iter()
                    .map(|r| Ok((r.text("external_id")?, r.text("name")?, r.text("variants")?)))
                    .collect::<Result<_, StoreError>>()?
            });
            for (id, name, variants) in rows {
                let variants = decode_variants(&variants, &id, system)?;
                defs.insert(id, (name, variants));
            }
        }
        Ok(raw
            .into_iter()
            .map(|v| match defs.get(&v.id) {
                Some((name, variants)) => {
                    let name = if name.trim().is_empty() {
                        v.id.clone()
                    } else {
                        name.clone()
                    };
                    let value = variants.get(&v.value).cloned().unwrap_or(v.value);
                    (name, value)
                }
                None => (v.id, v.value),
            })
            .collect())
    }

    /// Reads and decodes a JSON array column (`properties`/`images`) of one product or offer;
    /// empty when the row or the column is absent.
    async fn row_json<T: serde::de::DeserializeOwned>(
        &self,
        system: &str,
        kind: CatalogKind,
        external_id: &str,
        column: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        let table = kind.table();
        let sql = format!("SELECT {column} FROM {table} WHERE system = $1 AND external_id = $2");
        let json: Option<String> = on_db!(&self.db, pool => {
            match sqlx::query(AssertSqlSafe(sql)).bind(system).bind(external_id).fetch_optional(pool).await
                .map_err(StoreError::db(format!("reading {column} of 1C {} {external_id} of system {system}", kind.as_str())))? {
                Some(r) => r.opt_text(column)?,
                None => None,
            }
        });
        match json {
            None => Ok(Vec::new()),
            Some(j) => serde_json::from_str(&j).map_err(|e| StoreError::Corrupt {
                what: format!(
                    "{table}.{column} of 1C {} {external_id} of system {system}",
                    kind.as_str()
                ),
                detail: e.to_string(),
            }),
        }
    }

    /// The bindings of (`system`, `kind`) for these entity ids, as entity id → (external id,
    /// snapshot hash), in `ceil(n / 400)` queries: the
    /// catalog sync compares a whole page against its snapshots without a query per item.
    pub async fn catalog_bindings(
        &self,
        system: &str,
        kind: EntityKind,
        entity_ids: &[&str],
    ) -> Result<HashMap<String, (String, Option<String>)>, StoreError> {
        let mut out = HashMap::with_capacity(entity_ids.len());
        for chunk in entity_ids.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT entity_id, external_id, snapshot_hash FROM bindings \
                 WHERE system = $1 AND kind = $2 AND entity_id IN ({})",
                in_list(3, chunk.len())
            );
            on_db!(&self.db, pool => {
                let mut q = sqlx::query(AssertSqlSafe(sql.as_str())).bind(system).bind(kind.as_str());
                for id in chunk {
                    q = q.bind(*id);
                }
                for r in q.fetch_all(pool).await
                    .map_err(StoreError::db(format!("reading {system}/{kind} bindings of a catalog page")))? {
                    out.insert(r.text("entity_id")?, (r.text("external_id")?, r.opt_text("snapshot_hash")?));
                }
            });
        }
        Ok(out)
    }

    /// The sellable entries of `system`'s catalog (ids as [`Store::catalog_entries_page`] gives
    /// them) whose article is one of `skus`, as SKU → entry ids. An offer without an article of
    /// its own has its product's (as the catalog push sends it), so one SKU may name several
    /// entries (variants sharing their product's article): the caller decides what that means.
    pub async fn catalog_entries_by_sku(
        &self,
        system: &str,
        skus: &[&str],
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in skus.chunks(ROWS_PER_STATEMENT) {
            let list = in_list(2, chunk.len());
            // Offers by their own article; offers without one by their product's (the variant
            // row `P#V` of old schemas, or the parent `P`); offer-less products by theirs.
            let sql = format!(
                "SELECT o.sku AS sku, o.external_id AS id FROM catalog_offers o \
                 WHERE o.system = $1 AND o.sku IN ({list}) \
                 UNION \
                 SELECT p.sku, o.external_id FROM catalog_products p \
                 JOIN catalog_offers o ON o.system = p.system \
                   AND (o.external_id = p.external_id OR o.product_id = p.external_id) \
                 WHERE p.system = $1 AND p.sku IN ({list}) AND (o.sku IS NULL OR o.sku = '') \
                 UNION \
                 SELECT p.sku, p.external_id FROM catalog_products p \
                 WHERE p.system = $1 AND p.sku IN ({list}) \
                 AND NOT EXISTS (SELECT 1 FROM catalog_offers o WHERE o.system = p.system AND o.external_id = p.external_id) \
                 AND NOT EXISTS (SELECT 1 FROM catalog_offers o WHERE o.system = p.system AND o.product_id = p.external_id)"
            );
            on_db!(&self.db, pool => {
                let mut q = sqlx::query(AssertSqlSafe(sql.as_str())).bind(system);
                for sku in chunk {
                    q = q.bind(*sku);
                }
                for r in q.fetch_all(pool).await
                    .map_err(StoreError::db(format!("finding {system} catalog entries by article")))? {
                    out.entry(r.text("sku")?).or_default().push(r.text("id")?);
                }
            });
        }
        for ids in out.values_mut() {
            ids.sort();
            ids.dedup();
        }
        Ok(out)
    }

    /// Saves many bindings of (`system`, `kind`), given as (entity id, external id, snapshot), in
    /// one transaction, each with its snapshot and
    /// hash, stamped with the clock's time. The catalog source is authoritative: an external id
    /// bound to another entity of that kind (a SKU that moved from one 1C item to another) is
    /// taken over, the old holder's binding being removed, instead of failing the whole batch.
    pub async fn save_catalog_bindings(
        &self,
        system: &str,
        kind: EntityKind,
        rows: &[(&str, &str, &serde_json::Value)],
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let now = ms(self.clock.now());
        let op = || format!("saving {} {system}/{kind} catalog bindings", rows.len());
        let take_over = "DELETE FROM bindings WHERE system = $1 AND kind = $2 AND external_id = $3 AND entity_id <> $4";
        let upsert = "INSERT INTO bindings (system, kind, entity_id, external_id, snapshot, snapshot_hash, synced_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7) \
                      ON CONFLICT (system, kind, entity_id) DO UPDATE SET \
                      external_id = excluded.external_id, snapshot = excluded.snapshot, \
                      snapshot_hash = excluded.snapshot_hash, synced_at = excluded.synced_at";
        on_db!(&self.db, pool => {
            let mut tx = pool.begin_with(self.db.begin_write()).await.map_err(StoreError::db(op()))?;
            for (entity_id, external_id, snapshot) in rows {
                sqlx::query(take_over).bind(system).bind(kind.as_str()).bind(*external_id).bind(*entity_id)
                    .execute(&mut *tx).await.map_err(StoreError::db(op()))?;
                sqlx::query(upsert).bind(system).bind(kind.as_str()).bind(*entity_id).bind(*external_id)
                    .bind(crate::snapshot::canonical_json(snapshot)).bind(snapshot_hash(snapshot)).bind(now)
                    .execute(&mut *tx).await.map_err(StoreError::db(op()))?;
            }
            tx.commit().await.map_err(StoreError::db(op()))?;
        });
        Ok(())
    }
}
