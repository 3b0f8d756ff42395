//! What connectors implement so the engine can drive them without knowing their wire format.
//!
//! The engine (in `src/`) only ever sees these traits and the canonical model. A connector crate
//! implements the traits for its client; the engine's registry (`src/connectors.rs`) builds the
//! right client from a `[systems.<name>]` config section.

use crate::error::ConnectorError;
use crate::model::{
    CatalogItem, CatalogPushReport, Contact, CrmDealState, Deal, ExternalRef, Order, OrderChange,
    Page, Payment, PushReport, SkuUpdate,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A system that orders can be read from (a store, 1C).
#[async_trait]
pub trait OrderSource: Send + Sync {
    /// One page of orders modified at or after `since` (all orders when `None`), oldest first,
    /// so a poller can move its cursor page by page. `page` is 1-based.
    async fn orders_modified_since(
        &self,
        since: Option<DateTime<Utc>>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Order>, ConnectorError>;

    /// Re-reads one order by its id in this system; `None` if it no longer exists. A webhook is
    /// only a hint (it may be stale, repeated or out of order), so the engine reads the order's
    /// current state before acting on it.
    async fn order(&self, id: &str) -> Result<Option<Order>, ConnectorError> {
        Err(ConnectorError::new(
            crate::ErrorKind::Invalid,
            "connector",
            format!("order {id}: this connector cannot re-read a single order; rely on polling"),
        ))
    }
}

/// A CRM that deals and their contacts can be written to.
///
/// Creating is split from finding so the engine can do find-or-create: a job that crashed after
/// the CRM created a deal but before the binding was saved finds that deal again by its origin
/// (Bitrix24 `ORIGINATOR_ID` + `ORIGIN_ID`) instead of creating a second one.
#[async_trait]
pub trait CrmDeals: Send + Sync {
    /// Looks a contact up by e-mail, then by phone. Returns its CRM id.
    async fn find_contact(&self, contact: &Contact) -> Result<Option<String>, ConnectorError>;

    /// Creates a contact and returns its CRM id.
    async fn create_contact(&self, contact: &Contact) -> Result<String, ConnectorError>;

    /// Looks a deal up by the record it mirrors. Returns its CRM id.
    async fn find_deal(&self, origin: &ExternalRef) -> Result<Option<String>, ConnectorError>;

    /// Creates the deal with its product rows and returns its CRM id.
    async fn create_deal(
        &self,
        deal: &Deal,
        contact_id: Option<&str>,
    ) -> Result<String, ConnectorError>;

    /// Makes the deal `id` look like `deal`, product rows included.
    async fn update_deal(
        &self,
        id: &str,
        deal: &Deal,
        contact_id: Option<&str>,
    ) -> Result<(), ConnectorError>;

    /// Makes deal `id` stop claiming `origin` (the record it mirrors): its external key is
    /// changed so [`CrmDeals::find_deal`] and the deal readers no longer take it for that
    /// record, and `note` is left on the deal for the manager. Nothing else about the deal
    /// changes and it is never deleted. `reconcile --fix` does this to the second of two deals
    /// that mirror one order. Idempotent.
    async fn release_deal(
        &self,
        id: &str,
        origin: &ExternalRef,
        note: &str,
    ) -> Result<(), ConnectorError> {
        let _ = (id, origin, note);
        Err(ConnectorError::new(
            crate::error::ErrorKind::Invalid,
            "crm",
            "this CRM's connector cannot release a duplicate deal; merge or delete it by hand",
        ))
    }
}

/// A CRM whose deals can be read back: the CRM → store / 1C direction.
#[async_trait]
pub trait CrmDealReader: Send + Sync {
    /// One page of deals changed at or after `since` (all when `None`), in an order that a
    /// change made while the pages are read does not shift (by id: a deal changed mid-listing
    /// must not hide another; the engine's cursor is the newest change of the whole pass).
    /// `page` is 1-based; the connector maps it to its own paging (Bitrix24 `start`, amoCRM
    /// `page`).
    async fn deals_modified_since(
        &self,
        since: Option<DateTime<Utc>>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<CrmDealState>, ConnectorError>;

    /// Re-reads one deal by its CRM id; `None` if it no longer exists. Used after an outbound
    /// event (which is only a hint) and before a write-back.
    async fn deal(&self, id: &str) -> Result<Option<CrmDealState>, ConnectorError>;

    /// Whether a deal's product rows carry a price of their own (Bitrix24 product rows do). A
    /// CRM whose rows link catalog products priced in the catalog (amoCRM) answers `false`:
    /// the row price read back is the product's, shared by every deal, so comparing it with one
    /// order's line price (`reconcile`) would report a difference nobody can fix on the deal.
    fn rows_have_own_prices(&self) -> bool {
        true
    }
}

/// A CRM that shows payments on its deals.
#[async_trait]
pub trait CrmPayments: Send + Sync {
    /// Makes deal `deal_id` show exactly `payments` (every payment of the order so far, from 1C
    /// or the store) and their sum as the paid amount. Idempotent: payments already there (matched
    /// by their source id) are not written again; returns how many writes it made.
    async fn sync_payments(
        &self,
        deal_id: &str,
        payments: &[Payment],
    ) -> Result<u32, ConnectorError>;
}

/// A CRM product catalog that the engine pushes products and prices into.
#[async_trait]
pub trait CrmCatalog: Send + Sync {
    /// Creates or updates `items` (the engine passes only items that changed since the last
    /// push). Unbound items are first looked up by origin, so a crashed push never duplicates.
    /// Bulk work goes through the CRM's batch API.
    async fn push_products(
        &self,
        items: &[CatalogItem],
    ) -> Result<CatalogPushReport, ConnectorError>;

    /// One page of the CRM's products as they are now (`page` is 1-based; the connector picks
    /// the page size), for `reconcile`: each with its CRM id, its origin read back from the
    /// external-key field (empty for a product made by hand), name, price and active flag. In a
    /// stable order (by id), so products added while the pages are read do not shift the rest.
    async fn products_page(&self, page: u32) -> Result<Page<CatalogItem>, ConnectorError> {
        let _ = page;
        Err(ConnectorError::new(
            crate::error::ErrorKind::Invalid,
            "crm",
            "this CRM's catalog cannot be read back by this build, so it cannot be reconciled",
        ))
    }

    /// What the products [`CrmCatalog::products_page`] returns really hold, so `reconcile`
    /// compares only that: a CRM whose products have no active flag, or whose price field is a
    /// bare number in the account's currency (amoCRM), returns `active: true` and a price in a
    /// nominal currency, which are not compared.
    fn read_back(&self) -> CatalogReadBack {
        CatalogReadBack {
            active: true,
            currency: true,
        }
    }
}

/// Which fields of a CRM's products read back mean something (see [`CrmCatalog::read_back`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogReadBack {
    /// The products carry an active flag the push writes.
    pub active: bool,
    /// The price carries its currency.
    pub currency: bool,
}

/// A store whose product catalog can be read whole, as the items a CRM catalog holds (the store →
/// CRM products direction, for shops without 1C).
#[async_trait]
pub trait CatalogSource: Send + Sync {
    /// Every sellable item of the store, in a stable order: each simple product, and each
    /// variant (WooCommerce variation, Shopify variant) of a product that has variants, never
    /// the variable parent itself. `origin` is `(system name, id)` with the id the store's order
    /// lines use for it (WooCommerce: the variation id, else the product id; Shopify: the variant
    /// id), so a deal row and a CRM product can be matched later; `crm_id` is `None`;
    /// `price` is the regular price in the store's currency (asked of the store, not assumed);
    /// `active` is `false` for drafts, archived and trashed products.
    async fn catalog_items(&self) -> Result<Vec<CatalogItem>, ConnectorError>;
}

/// A store whose prices and stock can be set by SKU, writing only what differs.
#[async_trait]
pub trait StorePricePush: Send + Sync {
    /// Sets regular price and/or stock per SKU; reports updated, unchanged, not found and failed
    /// SKUs. A SKU given twice takes the last value of each field.
    async fn push_price_and_stock(&self, items: &[SkuUpdate])
        -> Result<PushReport, ConnectorError>;

    /// The regular price and stock the store holds now for `skus`, for `reconcile`: one entry
    /// per SKU that [`StorePricePush::push_price_and_stock`] could write (on exactly one
    /// product or variant that holds a price), in any order; a SKU the push would report not
    /// found or failed is left out. `regular_price` is `None` when the store has none set,
    /// `stock_quantity` `None` when the store does not track the item's stock (or has no level
    /// at the stock location). Pass every SKU at once: the connector reads in the fewest calls
    /// its API allows for the whole list.
    async fn current_price_and_stock(
        &self,
        skus: &[String],
    ) -> Result<Vec<SkuUpdate>, ConnectorError> {
        let _ = skus;
        Err(ConnectorError::new(
            crate::error::ErrorKind::Invalid,
            "store",
            "this store's prices and stock cannot be read back by this build, so they cannot be reconciled",
        ))
    }
}

/// A store whose orders the engine writes back to (status, lines, paid).
#[async_trait]
pub trait OrderSink: Send + Sync {
    /// Applies `change` to order `id` and returns the order as the store now has it.
    async fn update_order(&self, id: &str, change: &OrderChange) -> Result<Order, ConnectorError>;
}

/// A system that knows the payments made against its orders (a store's captured payments and
/// refunds).
#[async_trait]
pub trait PaymentSource: Send + Sync {
    /// Every payment (refunds negative) of order `order_id`, oldest first.
    async fn payments_of(&self, order_id: &str) -> Result<Vec<Payment>, ConnectorError>;
}
