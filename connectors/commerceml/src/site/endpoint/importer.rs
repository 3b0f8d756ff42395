//! The seam between the exchange protocol and storage: what the endpoint asks of the engine.

use crate::ExchangeType;
use async_trait::async_trait;
use dealbridge_sdk::model::Order;
use std::path::Path;
use std::time::Duration;

/// One uploaded file whose import ended, as the endpoint reports it to
/// [`ExchangeImporter::file_imported`].
#[derive(Debug, Clone, Copy)]
pub struct ImportedFile<'a> {
    /// `catalog` or `sale`.
    pub exchange_type: ExchangeType,
    /// The exchange it belongs to (its session's `sessid`): files of one exchange share it.
    pub exchange: &'a str,
    /// The file name 1C gave.
    pub name: &'a str,
    /// What [`ExchangeImporter::import_file`] returned.
    pub result: Result<&'a str, &'a str>,
    /// How long the import took.
    pub took: Duration,
}

/// Imports uploaded CommerceML files and supplies orders for 1C.
///
/// The endpoint only speaks the protocol; the store-backed implementation lives with the
/// import code, so the protocol can be tested over real HTTP against any implementation.
#[async_trait]
pub trait ExchangeImporter: Send + Sync {
    /// Imports one uploaded file. `exchange_type` is `catalog` or `sale`. `Ok` carries a short
    /// summary for the 1C log; `Err` the reason 1C shows to its user.
    async fn import_file(&self, exchange_type: ExchangeType, path: &Path)
        -> Result<String, String>;

    /// Orders 1C has not yet confirmed (answered to `type=sale&mode=query`).
    async fn orders_for_export(&self) -> Result<Vec<Order>, String>;

    /// Marks orders exported; called only when 1C confirms with `mode=success`.
    /// `ids` are the orders' `source.id`.
    async fn mark_exported(&self, ids: &[String]) -> Result<(), String>;

    /// A file's import ended (once per file, after [`ExchangeImporter::import_file`]), for the
    /// record: the store-backed importer journals it.
    async fn file_imported(&self, _file: &ImportedFile<'_>) {}

    /// A new exchange of `exchange_type` starts (`mode=init`). `version` is what 1C sent: new 1C
    /// modules send one and end the exchange with `mode=deactivate` / `mode=complete`, so a full
    /// catalog split over several files is deactivated once, at the end.
    async fn begin_exchange(
        &self,
        _exchange_type: ExchangeType,
        _version: Option<&str>,
    ) -> Result<(), String> {
        Ok(())
    }

    /// 1C asks to deactivate what the exchange's full files did not list (`mode=deactivate`), or
    /// the exchange ends (`mode=complete`). Idempotent: the second call finds nothing to do.
    async fn finish_exchange(&self, _exchange_type: ExchangeType) -> Result<String, String> {
        Ok("nothing to deactivate".to_string())
    }
}
