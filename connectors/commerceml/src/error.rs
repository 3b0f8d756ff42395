//! Errors of the CommerceML reader and writer.

/// What went wrong reading or writing a CommerceML file.
///
/// Every message names the file position or the entity and says what to do, because these
/// errors end up in the 1C exchange log (`failure\n<message>`) read by an accountant.
#[derive(Debug, thiserror::Error)]
pub enum CmlError {
    /// The underlying file or stream failed.
    #[error("CommerceML: cannot read the file: {0}; check the path and that the upload finished")]
    Io(#[from] std::io::Error),
    /// The bytes are not well-formed XML.
    #[error("CommerceML: malformed XML at line {line}, column {column}: {message}; the file is truncated or broken, re-run the exchange from 1C")]
    Malformed {
        /// 1-based line of the error.
        line: u64,
        /// 1-based column (in bytes of the UTF-8 text) of the error.
        column: u64,
        /// What the XML parser said.
        message: String,
    },
    /// The file has a `<!DOCTYPE`: 1C never sends one, and DTDs are how entity-expansion and
    /// external-entity attacks work, so it is refused outright.
    #[error("CommerceML: the file declares a DOCTYPE at line {line}, column {column}; 1C never sends one, so the file is refused as possibly hostile (entity expansion / external entities)")]
    DocType {
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
    },
    /// An entity reference other than the five predefined ones or a character reference.
    #[error("CommerceML: unknown entity reference `&{name};` at line {line}, column {column}; only &lt; &gt; &amp; &apos; &quot; and &#N; are allowed")]
    UnknownEntity {
        /// The entity name.
        name: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
    },
    /// The input is larger than the configured bound.
    #[error("CommerceML: the file exceeds the configured maximum of {limit} bytes; raise `max_bytes` in the 1C exchange settings if the file is legitimate")]
    TooLarge {
        /// The configured bound in bytes.
        limit: u64,
    },
    /// One item (a product, an offer, a document) is unreasonably large.
    #[error("CommerceML: element <{element}> at line {line} has more than {limit} nested elements; refused to keep memory bounded")]
    ItemTooLarge {
        /// Local name of the item element.
        element: String,
        /// 1-based line where it started.
        line: u64,
        /// The configured bound.
        limit: usize,
    },
    /// The declared encoding is unknown or not supported.
    #[error("CommerceML: unsupported encoding `{0}` in the XML declaration; 1C writes UTF-8 or windows-1251")]
    Encoding(String),
    /// The root element is not `КоммерческаяИнформация`.
    #[error("CommerceML: the root element is <{0}>, not <КоммерческаяИнформация>; this is not a CommerceML file")]
    NotCommerceMl(String),
    /// The writer was given data it cannot express.
    #[error("CommerceML writer: {0}")]
    Write(String),
}
