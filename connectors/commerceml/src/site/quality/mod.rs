//! The data-quality report of a 1C import: what in the files is wrong or suspicious, counted per
//! [`Code`] with up to [`MAX_EXAMPLES`] examples (the 1C `Ид`, the article, the file and line).
//!
//! Built while the import streams ([`collect::Collector`]): per item it does a few hash-set
//! look-ups over 64-bit hashes of ids, articles and barcodes (never copies of the items), so the
//! report costs a small fraction of the import. Nothing is dropped silently: what the import
//! stores differently from what 1C meant (a price type nobody maps, an offer whose product is
//! unknown) is counted here and the rest of the file goes on.
//!
//! - [`collect`]: the streaming checks.
//! - [`bounds`]: the refusal of text before the XML declaration or after the root element,
//!   checked before anything is stored.
//! - [`encoding`]: whether the bytes match the declared encoding.

pub mod bounds;
pub(crate) mod collect;
pub(crate) mod encoding;

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Examples kept per finding.
pub const MAX_EXAMPLES: usize = 20;

/// The default `[exchange_1c] max_deactivate_share`: a full catalog may deactivate at most a
/// fifth of the active products or offers without an operator's say.
pub fn default_max_deactivate_share() -> Decimal {
    Decimal::new(2, 1)
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// An offer (not a variant) whose product is neither in the import nor in the database.
    OfferWithoutProduct,
    /// A variant offer (`Ид#Ид`) whose product is neither in the import nor in the database.
    VariantWithoutProduct,
    /// An active offer of a prices file without a price of a mapped price type.
    NoPrice,
    /// A price type the files declare that no `[[catalog]]` mapping names.
    PriceTypeNotMapped,
    /// A price type a mapping names that the files (which declare price types) do not declare.
    MappedPriceTypeMissing,
    /// A warehouse the files declare that a mapping listing warehouses does not name.
    WarehouseNotMapped,
    /// A warehouse a mapping names that the files (which declare warehouses) do not declare.
    MappedWarehouseMissing,
    /// A product whose `Ид` an earlier product of the import already had.
    DuplicateId,
    /// An active product whose article an earlier active product of the import already had.
    DuplicateArticle,
    /// An active product with a barcode an earlier active product of the import already had.
    DuplicateBarcode,
    /// A product with an empty name.
    EmptyName,
    /// An offer with a negative quantity (total or at a warehouse).
    NegativeStock,
    /// An offer of a product counted in pieces (OKEI 796, `шт`) with a fractional quantity.
    FractionalStock,
    /// An active product without a unit (`БазоваяЕдиница`).
    MissingUnit,
    /// A file whose bytes do not match its declared encoding (the text is garbled).
    EncodingMismatch,
    /// A full catalog's deactivation was held: it would have deactivated more than
    /// `max_deactivate_share` of the active products or offers.
    DeactivationHeld,
}

/// One example of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// The 1C `Ид` (for price types and warehouses, their id or the mapping's value).
    pub id: String,
    /// The article (`Артикул`), when the item has one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sku: Option<String>,
    /// The file it is in.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<String>,
    /// The 1-based line of the item's start in that file.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<u64>,
}

/// One kind of problem: how many items have it and a few of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What it is.
    pub code: Code,
    /// How many items (or files, for `encoding_mismatch`) have it.
    pub count: u64,
    /// Up to [`MAX_EXAMPLES`], in file order.
    pub examples: Vec<Example>,
    /// Particulars (e.g. the counts behind a held deactivation).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

/// The data-quality report of one import: findings by code, empty when all is well.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quality {
    /// Findings, ordered by code.
    pub findings: Vec<Finding>,
}

impl Quality {
    /// The count of `code` (0 when absent).
    pub fn count(&self, code: Code) -> u64 {
        self.get(code).map_or(0, |f| f.count)
    }

    /// The finding of `code`, if any.
    pub fn get(&self, code: Code) -> Option<&Finding> {
        self.findings.iter().find(|f| f.code == code)
    }

    /// Adds `other`'s findings to these (counts add up, examples up to the bound).
    pub fn merge(&mut self, other: Quality) {
        let mut by: BTreeMap<Code, Finding> = std::mem::take(&mut self.findings)
            .into_iter()
            .map(|f| (f.code, f))
            .collect();
        for f in other.findings {
            match by.get_mut(&f.code) {
                Some(mine) => {
                    mine.count += f.count;
                    let room = MAX_EXAMPLES.saturating_sub(mine.examples.len());
                    mine.examples.extend(f.examples.into_iter().take(room));
                    if mine.detail.is_none() {
                        mine.detail = f.detail;
                    }
                }
                None => {
                    by.insert(f.code, f);
                }
            }
        }
        self.findings = by.into_values().collect();
    }

    /// One line per finding (`code: count (e.g. Ид …)`), for a terminal.
    pub fn summary(&self) -> String {
        if self.findings.is_empty() {
            return "quality: no findings\n".to_string();
        }
        let mut out = String::from("quality:\n");
        for f in &self.findings {
            let code = serde_json::to_value(f.code).unwrap_or_default();
            out.push_str(&format!(
                "  {:<26} {:>7}",
                code.as_str().unwrap_or("?"),
                f.count
            ));
            if let Some(e) = f.examples.first() {
                out.push_str(&format!("  e.g. {}", e.id));
                if let Some(sku) = &e.sku {
                    out.push_str(&format!(" ({sku})"));
                }
                if let (Some(file), Some(line)) = (&e.file, e.line) {
                    out.push_str(&format!(" at {file}:{line}"));
                }
            }
            if let Some(d) = &f.detail {
                out.push_str(&format!("  {d}"));
            }
            out.push('\n');
        }
        out
    }
}

/// What the import checks the files against: the `[[catalog]]` mappings of the 1C catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QualityRules {
    /// `[prices] price_type` of each mapping (a name or an id). Empty: price checks are off.
    pub price_types: Vec<String>,
    /// `[stock] warehouses` of the mappings (names or ids). Empty: every warehouse counts.
    pub warehouses: Vec<String>,
}

/// Whether a mapping's value names the declared `(id, name)`: by id, by name, or by name
/// ignoring case and surrounding blanks (as the catalog flow resolves it).
pub(crate) fn names(value: &str, id: &str, name: &str) -> bool {
    value == id || value == name || value.trim().to_lowercase() == name.trim().to_lowercase()
}
