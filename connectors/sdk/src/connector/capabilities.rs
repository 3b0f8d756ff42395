//! What a built connector offers the engine, and what building it takes.

use super::SystemSettings;
use crate::config::SystemLimits;
use crate::error::ConnectorError;
use crate::traits::{
    CatalogSource, CrmCatalog, CrmDealReader, CrmDeals, CrmPayments, OrderSink, OrderSource,
    PaymentSource, StorePricePush,
};
use std::sync::Arc;

/// Which capabilities a connector offers, known without building it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offers {
    /// Orders can be read (polled, re-read): [`OrderSource`].
    pub order_source: bool,
    /// Orders can be written back (status, lines): [`OrderSink`].
    pub order_sink: bool,
    /// Payments captured by the store can be read: [`PaymentSource`].
    pub payment_source: bool,
    /// Its own product catalog can be read: [`CatalogSource`].
    pub catalog_source: bool,
    /// Prices and stock can be written: [`StorePricePush`].
    pub price_push: bool,
    /// Orders become deals: [`CrmDeals`].
    pub crm_deals: bool,
    /// Deals can be read back (two-way): [`CrmDealReader`].
    pub crm_reader: bool,
    /// Payments can be shown on deals: [`CrmPayments`].
    pub crm_payments: bool,
    /// Products can be written to its catalog: [`CrmCatalog`].
    pub crm_catalog: bool,
}

/// The built capabilities of one configured system; `None` where it offers none.
#[derive(Clone, Default)]
pub struct Capabilities {
    /// See [`Offers::order_source`].
    pub order_source: Option<Arc<dyn OrderSource>>,
    /// See [`Offers::order_sink`].
    pub order_sink: Option<Arc<dyn OrderSink>>,
    /// See [`Offers::payment_source`].
    pub payment_source: Option<Arc<dyn PaymentSource>>,
    /// See [`Offers::catalog_source`].
    pub catalog_source: Option<Arc<dyn CatalogSource>>,
    /// See [`Offers::price_push`].
    pub price_push: Option<Arc<dyn StorePricePush>>,
    /// See [`Offers::crm_deals`].
    pub crm_deals: Option<Arc<dyn CrmDeals>>,
    /// See [`Offers::crm_reader`].
    pub crm_reader: Option<Arc<dyn CrmDealReader>>,
    /// See [`Offers::crm_payments`].
    pub crm_payments: Option<Arc<dyn CrmPayments>>,
    /// See [`Offers::crm_catalog`].
    pub crm_catalog: Option<Arc<dyn CrmCatalog>>,
}

/// Durable key/value state a connector may keep in the engine's database (rotated OAuth
/// tokens). A save completes before it returns: a token is used only once it is safe.
#[async_trait::async_trait]
pub trait SavedState: Send + Sync {
    /// The value saved under `key`, if any.
    async fn load(&self, key: &str) -> Result<Option<String>, ConnectorError>;
    /// Saves `value` under `key`, replacing the old one.
    async fn save(&self, key: &str, value: &str) -> Result<(), ConnectorError>;
}

/// What [`super::Connector::build`] gets.
pub struct BuildContext<'a> {
    /// The system's name (`[systems.<name>]`).
    pub name: &'a str,
    /// Its settings, as its connector read them.
    pub settings: &'a dyn SystemSettings,
    /// Its request budget and timeouts.
    pub limits: &'a SystemLimits,
    /// The engine's durable state, for tokens that rotate.
    pub state: Arc<dyn SavedState>,
    /// For a CRM: the deal pipeline of the first flow writing to it (the fallback for a deal
    /// whose mapping names none).
    pub deal_pipeline: Option<u64>,
}
