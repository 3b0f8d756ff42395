//! Reader limits: what a hostile or broken upload may cost at most.

/// Bounds and switches for [`crate::CmlReader`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Maximum bytes read from the input before [`crate::CmlError::TooLarge`]. Default 2 GiB:
    /// real catalogs reach hundreds of MB, the bound exists to stop endless streams.
    pub max_bytes: u64,
    /// Maximum elements inside one item (product, offer, document, group tree). Items are the
    /// only thing held in memory, so this bounds memory per item. Default 200 000.
    pub max_item_elements: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            max_bytes: 2 * 1024 * 1024 * 1024,
            max_item_elements: 200_000,
        }
    }
}
