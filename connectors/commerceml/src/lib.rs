//! CommerceML 2.x (and 3.1) for the 1C ↔ site exchange: a streaming reader that yields
//! canonical items one at a time, a file summary (`inspect`, counted straight from the XML
//! events), the order writer for the `mode=query` answer and the `mode=info` directory
//! (order statuses, payment systems, delivery services) in Bitrix's shape.
//!
//! [`site`] is the site side of the exchange built on them: the HTTP endpoint 1C talks to,
//! `[exchange_1c]`, the import into the state database, and the documents (statuses,
//! payments) 1C sends back.
//!
//! The reader matches local element names (files come with no namespace or with
//! `urn:1C.ru:commerceml_2`, `_208`, `_210`, `_3`), decodes UTF-8 with or without BOM and
//! windows-1251 by the XML declaration, and decides what a file holds by its content.

mod convert;
mod error;
pub mod exchange_client;
mod exchange_type;
mod items;
mod node;
mod options;
mod reader;
pub mod sdk_map;
pub mod site;
mod source;
mod summary;
pub mod values;
pub mod writer;

pub use error::CmlError;
pub use exchange_type::ExchangeType;
pub use items::*;
pub use options::ReaderOptions;
pub use reader::{CmlReader, ContentKind, Header};
pub use summary::{inspect, inspect_full, inspect_reader, inspect_reader_full, FileSummary};
