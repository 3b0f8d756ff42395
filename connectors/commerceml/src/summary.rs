//! `inspect`: a one-pass summary of a file, without storing anything.

use crate::error::CmlError;
use crate::items::Item;
use crate::options::ReaderOptions;
use crate::reader::{CmlReader, ContentKind};
use serde::Serialize;
use std::io::Read;
use std::path::Path;

/// Counts and header facts of one CommerceML file (the CLI's `inspect --json` object).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FileSummary {
    /// The path or label given.
    pub file: String,
    /// `ВерсияСхемы`.
    pub schema_version: Option<String>,
    /// `ДатаФормирования` as written.
    pub generated_at: Option<String>,
    /// Default namespace, `None` without one.
    pub namespace: Option<String>,
    /// Encoding used to decode (`UTF-8`, `windows-1251`).
    pub encoding: String,
    /// Whether the file starts with a byte-order mark.
    pub bom: bool,
    /// `СодержитТолькоИзменения`, `None` when the file does not say.
    pub only_changes: Option<bool>,
    /// Main content: `catalog`, `offers`, `documents`, …
    pub kind: Option<ContentKind>,
    /// All sections present.
    pub kinds: Vec<ContentKind>,
    /// Groups, nested ones included.
    pub groups: u64,
    /// Property definitions.
    pub properties: u64,
    /// Price types declared.
    pub price_types: u64,
    /// Warehouses declared.
    pub warehouses: u64,
    /// Units declared.
    pub units: u64,
    /// Products (`Товары/Товар` in a catalog).
    pub products: u64,
    /// Offers.
    pub offers: u64,
    /// Prices over all offers.
    pub prices: u64,
    /// Stock records: one per warehouse entry, or one for a bare total `Количество`.
    pub stock_entries: u64,
    /// Offers whose id contains `#`.
    pub variant_offers: u64,
    /// Groups, properties, products, offers and documents marked deleted.
    pub deleted: u64,
    /// Documents.
    pub documents: u64,
    /// Standalone counterparties (`Контрагенты` package).
    pub counterparties: u64,
    /// Payments in any shape.
    pub payments: u64,
    /// Elements skipped as unknown.
    pub unknown_elements: u64,
}

/// Summarises a file by path.
pub fn inspect(path: impl AsRef<Path>) -> Result<FileSummary, CmlError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path)?;
    inspect_reader(file, &path.display().to_string(), ReaderOptions::default())
}

/// Summarises any byte stream; `label` becomes [`FileSummary::file`].
pub fn inspect_reader<R: Read + Send + 'static>(
    input: R,
    label: &str,
    options: ReaderOptions,
) -> Result<FileSummary, CmlError> {
    let mut reader = CmlReader::from_reader(input, options)?;
    let mut s = FileSummary {
        file: label.to_string(),
        ..FileSummary::default()
    };
    while let Some(item) = reader.next_item()? {
        match item {
            Item::Group(g) => {
                s.groups += 1;
                s.deleted += g.deleted as u64;
            }
            Item::Property(p) => {
                s.properties += 1;
                s.deleted += p.deleted as u64;
            }
            Item::PriceType(_) => s.price_types += 1,
            Item::Warehouse(_) => s.warehouses += 1,
            Item::Unit(_) => s.units += 1,
            Item::Product(p) => {
                s.products += 1;
                s.deleted += p.deleted as u64;
            }
            Item::Offer(o) => {
                s.offers += 1;
                s.prices += o.prices.len() as u64;
                s.stock_entries += if o.stock.is_empty() {
                    o.quantity.is_some() as u64
                } else {
                    o.stock.len() as u64
                };
                s.variant_offers += o.id.contains('#') as u64;
                s.deleted += o.deleted as u64;
            }
            Item::Document(d) => {
                s.documents += 1;
                s.payments += d.payments.len() as u64;
                s.deleted += d.deleted as u64;
            }
            Item::Counterparty(_) => s.counterparties += 1,
        }
    }
    let h = reader.header();
    s.schema_version = h.schema_version.clone();
    s.generated_at = h.generated_at.clone();
    s.namespace = h.namespace.clone();
    s.encoding = h.encoding.clone();
    s.bom = h.bom;
    s.only_changes = h.only_changes;
    s.kind = h.primary_kind();
    s.kinds = h.kinds.clone();
    s.unknown_elements = reader.unknown_elements();
    Ok(s)
}
