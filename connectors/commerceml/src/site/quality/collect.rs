//! The streaming checks: fed each item as the parser reads it, before it becomes a store row.
//!
//! State is sets of 64-bit hashes (product ids with whether the product counts in pieces,
//! articles, barcodes) plus the few declared price types and warehouses; an offer whose product
//! is not (yet) in the import waits in a list of hashes until the end, when the products already
//! in the database are consulted once. A hash collision (about 1 in 10^9 for a 100k catalog) can
//! only hide a finding, never invent one for a product id, and can invent at most a duplicate.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use super::{names, Code, Example, Finding, Quality, QualityRules, MAX_EXAMPLES};
use crate::{CmlProduct, Offer, PriceType, Unit, Warehouse};

/// The hashes are already uniform: the sets need not hash them again.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Ident = BuildHasherDefault<Identity>;

/// Offers waiting for the database that keep an example (the count is exact beyond it).
const WAITING_EXAMPLES: usize = 200;

/// An offer whose product was not in the import when the offer was read.
struct Waiting {
    product: u64,
    variant: bool,
    fractional: bool,
    example: Option<Example>,
}

/// A price type or warehouse a file declares.
struct Declared {
    id: String,
    name: String,
    file: String,
    line: u64,
}

/// Collects the findings of one import run (all its files).
pub(crate) struct Collector {
    /// `false`: every check is skipped (to measure what the report costs).
    pub(crate) enabled: bool,
    rules: QualityRules,
    hasher: RandomState,
    findings: BTreeMap<Code, Finding>,
    file: String,
    file_declares_prices: bool,
    /// Product id hash → counted in pieces.
    products: HashMap<u64, bool, Ident>,
    articles: HashSet<u64, Ident>,
    barcodes: HashSet<u64, Ident>,
    /// Price types known before the run (the database), for resolving the mapping.
    known_price_types: Vec<(String, String)>,
    price_types: Vec<Declared>,
    warehouses: Vec<Declared>,
    /// Per mapped price type, the ids it names among the known and declared types.
    mapped_ids: Vec<HashSet<String>>,
    waiting: Vec<Waiting>,
}

/// Whether a unit is "pieces": OKEI 796, `шт`, `PCE`.
fn is_piece(u: &Unit) -> bool {
    let name = u
        .name
        .as_deref()
        .map(|n| n.trim().trim_end_matches('.').to_lowercase());
    u.code.as_deref() == Some("796")
        || name.as_deref() == Some("шт")
        || u.international.as_deref().map(str::trim) == Some("PCE")
}

/// Whether a unit as stored (its name, else its code) is pieces.
fn stored_is_piece(unit: &str) -> bool {
    let u = unit.trim().trim_end_matches('.').to_lowercase();
    u == "шт" || u == "796" || u == "pce"
}

impl Collector {
    /// A collector checking against `rules`, with the price types the database already knows.
    pub(crate) fn new(rules: QualityRules, known_price_types: Vec<(String, String)>) -> Self {
        let mut c = Collector {
            enabled: true,
            rules,
            hasher: RandomState::new(),
            findings: BTreeMap::new(),
            file: String::new(),
            file_declares_prices: false,
            products: HashMap::default(),
            articles: HashSet::default(),
            barcodes: HashSet::default(),
            known_price_types,
            price_types: Vec::new(),
            warehouses: Vec::new(),
            mapped_ids: Vec::new(),
            waiting: Vec::new(),
        };
        c.resolve_mapping();
        c
    }

    fn hash(&self, s: &str) -> u64 {
        self.hasher.hash_one(s)
    }

    /// Counts one item under `code`, keeping it as an example while there is room.
    fn add(&mut self, code: Code, example: impl FnOnce() -> Example) {
        let f = self.findings.entry(code).or_insert_with(|| Finding {
            code,
            count: 0,
            examples: Vec::new(),
            detail: None,
        });
        f.count += 1;
        if f.examples.len() < MAX_EXAMPLES {
            f.examples.push(example());
        }
    }

    fn example(&self, id: &str, sku: Option<&str>, line: u64) -> Example {
        Example {
            id: id.to_string(),
            sku: sku.map(str::to_string),
            file: Some(self.file.clone()),
            line: (line > 0).then_some(line),
        }
    }

    /// The next file of the run starts.
    pub(crate) fn begin_file(&mut self, label: &str) {
        self.file = label.to_string();
        self.file_declares_prices = false;
    }

    /// A product, before it is stored.
    pub(crate) fn product(&mut self, p: &CmlProduct, line: u64) {
        if !self.enabled {
            return;
        }
        let sku = p.sku.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let ex = |c: &Self| c.example(&p.id, sku, line);
        let piece = p.unit.as_ref().is_some_and(is_piece);
        let id = self.hash(&p.id);
        if self.products.insert(id, piece).is_some() {
            let e = ex(self);
            self.add(Code::DuplicateId, || e);
        }
        if p.name.trim().is_empty() {
            let e = ex(self);
            self.add(Code::EmptyName, || e);
        }
        if p.deleted {
            return;
        }
        let unit_named = p
            .unit
            .as_ref()
            .is_some_and(|u| u.name.is_some() || u.code.as_deref().is_some_and(|c| !c.is_empty()));
        if !unit_named {
            let e = ex(self);
            self.add(Code::MissingUnit, || e);
        }
        if let Some(sku) = sku {
            let h = self.hash(sku);
            if !self.articles.insert(h) {
                let e = ex(self);
                self.add(Code::DuplicateArticle, || e);
            }
        }
        let mut own = HashSet::<u64, Ident>::default();
        let mut duplicate = false;
        for b in p
            .barcodes
            .iter()
            .map(|b| b.trim())
            .filter(|b| !b.is_empty())
        {
            let h = self.hash(b);
            if own.insert(h) && !self.barcodes.insert(h) {
                duplicate = true;
            }
        }
        if duplicate {
            let e = ex(self);
            self.add(Code::DuplicateBarcode, || e);
        }
    }

    /// A price type declaration.
    pub(crate) fn price_type(&mut self, t: &PriceType, line: u64) {
        if !self.enabled {
            return;
        }
        self.file_declares_prices = true;
        if !self.price_types.iter().any(|d| d.id == t.id) {
            self.price_types.push(Declared {
                id: t.id.clone(),
                name: t.name.clone(),
                file: self.file.clone(),
                line,
            });
            self.resolve_mapping();
        }
    }

    /// A warehouse declaration.
    pub(crate) fn warehouse(&mut self, w: &Warehouse, line: u64) {
        if !self.enabled {
            return;
        }
        if !self.warehouses.iter().any(|d| d.id == w.id) {
            self.warehouses.push(Declared {
                id: w.id.clone(),
                name: w.name.clone(),
                file: self.file.clone(),
                line,
            });
        }
    }

    /// Recomputes which ids each mapped price type names.
    fn resolve_mapping(&mut self) {
        let types = self
            .known_price_types
            .iter()
            .map(|(id, name)| (id.as_str(), name.as_str()))
            .chain(
                self.price_types
                    .iter()
                    .map(|d| (d.id.as_str(), d.name.as_str())),
            );
        let types: Vec<(&str, &str)> = types.collect();
        self.mapped_ids = self
            .rules
            .price_types
            .iter()
            .map(|v| {
                types
                    .iter()
                    .filter(|(id, name)| names(v, id, name))
                    .map(|(id, _)| id.to_string())
                    .collect()
            })
            .collect();
    }

    /// An offer, before it is stored.
    pub(crate) fn offer(&mut self, o: &Offer, line: u64) {
        if !self.enabled {
            return;
        }
        let sku = o.sku.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let ex = |c: &Self| c.example(&o.id, sku, line);
        let quantities = || o.quantity.iter().chain(o.stock.iter().map(|s| &s.quantity));
        if !o.deleted {
            let priced = self.file_declares_prices || !o.prices.is_empty();
            let lacks = self
                .mapped_ids
                .iter()
                .filter(|ids| !ids.is_empty())
                .any(|ids| !o.prices.iter().any(|p| ids.contains(&p.price_type_id)));
            if priced && lacks {
                let e = ex(self);
                self.add(Code::NoPrice, || e);
            }
            if quantities().any(|q| q.is_sign_negative() && !q.is_zero()) {
                let e = ex(self);
                self.add(Code::NegativeStock, || e);
            }
        }
        let fractional = !o.deleted && quantities().any(|q| !q.fract().is_zero());
        let product = self.hash(&o.product_id);
        // The offer's own unit wins; else its product's, which may still be unknown.
        let stored = self.products.get(&product).copied();
        let piece = o.unit.as_ref().map(is_piece).or(stored);
        if fractional && piece == Some(true) {
            let e = ex(self);
            self.add(Code::FractionalStock, || e);
        }
        if stored.is_none() {
            self.wait(o, product, fractional && piece.is_none(), sku, line);
        }
    }

    fn wait(&mut self, o: &Offer, product: u64, fractional: bool, sku: Option<&str>, line: u64) {
        let example = (self.waiting.len() < WAITING_EXAMPLES || fractional)
            .then(|| self.example(&o.id, sku, line));
        self.waiting.push(Waiting {
            product,
            variant: o.is_variant(),
            fractional,
            example,
        });
    }

    /// A file's bytes did not match its declared encoding.
    pub(crate) fn encoding_mismatch(&mut self, why: String) {
        let e = self.example(&self.file, None, 1);
        self.add(Code::EncodingMismatch, || e);
        if let Some(f) = self.findings.get_mut(&Code::EncodingMismatch) {
            f.detail.get_or_insert(why);
        }
    }

    /// Whether offers wait for the products in the database.
    pub(crate) fn needs_database(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Settles the waiting offers against the products in the database (`(id, unit)`).
    pub(crate) fn resolve(&mut self, stored: Vec<(String, Option<String>)>) {
        let mut products = HashMap::<u64, bool, Ident>::default();
        for (id, unit) in stored {
            let h = self.hash(&id);
            products.insert(h, unit.as_deref().is_some_and(stored_is_piece));
        }
        for w in std::mem::take(&mut self.waiting) {
            let example = || {
                w.example
                    .clone()
                    .expect("examples are kept for the first ones")
            };
            let known = self.products.get(&w.product).or(products.get(&w.product));
            match known {
                None => {
                    let code = if w.variant {
                        Code::VariantWithoutProduct
                    } else {
                        Code::OfferWithoutProduct
                    };
                    match &w.example {
                        Some(_) => self.add(code, example),
                        None => self.count_only(code),
                    }
                }
                Some(&piece) if piece && w.fractional => self.add(Code::FractionalStock, example),
                Some(_) => {}
            }
        }
    }

    /// Counts one item under `code` without an example (its example was not kept).
    fn count_only(&mut self, code: Code) {
        self.findings
            .entry(code)
            .or_insert_with(|| Finding {
                code,
                count: 0,
                examples: Vec::new(),
                detail: None,
            })
            .count += 1;
    }

    /// The report: the findings so far plus the mapping checks over everything declared.
    pub(crate) fn finish(mut self) -> Quality {
        let rules = std::mem::take(&mut self.rules);
        let price_types = std::mem::take(&mut self.price_types);
        let warehouses = std::mem::take(&mut self.warehouses);
        for (wanted, declared, not_mapped, missing) in [
            (
                &rules.price_types,
                &price_types,
                Code::PriceTypeNotMapped,
                Code::MappedPriceTypeMissing,
            ),
            (
                &rules.warehouses,
                &warehouses,
                Code::WarehouseNotMapped,
                Code::MappedWarehouseMissing,
            ),
        ] {
            // Without a mapping (or a file declaring any) there is nothing to compare.
            if wanted.is_empty() || declared.is_empty() {
                continue;
            }
            for d in declared {
                if !wanted.iter().any(|v| names(v, &d.id, &d.name)) {
                    self.add(not_mapped, || Example {
                        id: d.id.clone(),
                        sku: None,
                        file: Some(d.file.clone()),
                        line: (d.line > 0).then_some(d.line),
                    });
                }
            }
            let mut seen = HashSet::new();
            for v in wanted.iter().filter(|v| seen.insert(v.as_str())) {
                if !declared.iter().any(|d| names(v, &d.id, &d.name)) {
                    self.add(missing, || Example {
                        id: v.clone(),
                        sku: None,
                        file: None,
                        line: None,
                    });
                }
            }
        }
        Quality {
            findings: self.findings.into_values().collect(),
        }
    }
}
