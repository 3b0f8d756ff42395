//! What a connector offers the suite: its emulator, its real client, and the sdk traits the
//! checks drive.
//!
//! The checks see a connector only through the sdk traits ([`OrderSource`], [`OrderSink`],
//! [`CrmDeals`], [`CrmDealReader`]), as the engine does, plus the emulator's fault plan and
//! counters to provoke and observe vendor behaviour. Vendor facts the checks compare against
//! (the vendor's own error texts, the `Retry-After` it sends) are declared by the adapter in
//! [`VendorTexts`], next to the emulator that follows them.

use async_trait::async_trait;
use dealbridge_sdk::fault::Faults;
use dealbridge_sdk::model::{Deal, OrderChange, Page};
use dealbridge_sdk::traits::{CrmDealReader, CrmDeals, OrderSink, OrderSource};
use dealbridge_sdk::ConnectorError;
use std::time::Duration;

/// Whether the client gets the credentials its emulator accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// The key / token / webhook URL the emulator was set up with.
    Valid,
    /// A well-formed credential the emulator does not accept
    /// ([`VendorTexts::wrong_credential`]).
    Wrong,
}

/// How one check wants the emulator and client set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// Records in the emulator before the check starts: orders for a store, deals for a CRM.
    pub records: usize,
    /// The credentials the client is built with.
    pub credentials: Credentials,
}

impl Setup {
    /// `records` records and valid credentials.
    pub fn seeded(records: usize) -> Self {
        Setup {
            records,
            credentials: Credentials::Valid,
        }
    }
}

/// What the vendor itself says, as its emulator reproduces it: the checks look for these in the
/// connector's error messages and delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VendorTexts {
    /// The vendor's message for rejected credentials.
    pub auth: &'static str,
    /// The vendor's message for a record that does not exist.
    pub not_found: &'static str,
    /// The vendor's message for data it refuses (an unknown stage or status); `None` where the
    /// connector refuses such data itself, before sending (then nothing must be sent).
    pub rejected: Option<&'static str>,
    /// The vendor's message for an internal server error.
    pub server_error: &'static str,
    /// The `Retry-After` the vendor's throttling answer carries; `None` where the vendor
    /// documents none (the client must then still name a delay of its own).
    pub retry_after: Option<Duration>,
    /// The wrong credential [`Credentials::Wrong`] uses; it must never appear in a message.
    pub wrong_credential: &'static str,
}

/// A listing the paging check walks, through the sdk trait the engine polls with.
pub enum Listing<'a> {
    /// A store or 1C: orders.
    Orders(&'a dyn OrderSource),
    /// A CRM: deals.
    Deals(&'a dyn CrmDealReader),
}

impl Listing<'_> {
    /// One page of all records (no `since`), reduced to the records' ids in this system.
    pub async fn ids(&self, page: u32, per_page: u32) -> Result<Page<String>, ConnectorError> {
        match self {
            Listing::Orders(source) => {
                let p = source.orders_modified_since(None, page, per_page).await?;
                Ok(Page {
                    items: p.items.into_iter().map(|o| o.source.id).collect(),
                    next_page: p.next_page,
                    total: p.total,
                })
            }
            Listing::Deals(reader) => {
                let p = reader.deals_modified_since(None, page, per_page).await?;
                Ok(Page {
                    items: p.items.into_iter().map(|d| d.id).collect(),
                    next_page: p.next_page,
                    total: p.total,
                })
            }
        }
    }
}

/// The write the idempotency and error-body checks drive.
pub enum Writes<'a> {
    /// A CRM: deals are found by their origin before one is created (find-or-create).
    FindOrCreate {
        /// The connector's deals.
        deals: &'a dyn CrmDeals,
        /// A deal this CRM accepts (its stage and pipeline exist); the checks set the origin.
        /// Boxed: a deal is far larger than the other variant.
        sample: Box<Deal>,
        /// A stage id of the CRM's own form that does not exist.
        unknown_stage: &'static str,
    },
    /// A store is not a find-or-create target: orders are born in the shop, the engine only
    /// writes back to them. The nearest equivalent is checked instead: the same change applied
    /// again writes nothing and adds no record.
    OrderWriteBack {
        /// Why this connector offers no find-or-create, for the check's messages.
        why: &'static str,
        /// The connector's order sink.
        sink: &'a dyn OrderSink,
        /// A seeded order to write back to.
        order_id: String,
        /// A change the store accepts for that order (status and note).
        change: OrderChange,
        /// A status the store does not have.
        unknown_status: &'static str,
    },
}

/// One connector under test: its emulator and its real client, built for one check.
#[async_trait]
pub trait Subject: Send + Sync + Sized {
    /// [`ConnectorError::system`] of every error the connector returns.
    const SYSTEM: &'static str;
    /// The page size the paging check asks for. A connector whose vendor serves fixed-size
    /// pages (Bitrix24: 50) gives that size.
    const PAGE_SIZE: u32;
    /// What the vendor says; see [`VendorTexts`].
    const TEXTS: VendorTexts;

    /// Spawns the emulator on a free loopback port, seeds it, and builds the connector's client
    /// against it.
    async fn start(setup: Setup) -> Self;

    /// The emulator's fault settings and plan (`plan(Throttle, 1)`: the next call is throttled).
    fn faults(&self) -> Faults;

    /// The listing the engine polls.
    fn listing(&self) -> Listing<'_>;

    /// The write the engine makes.
    fn writes(&self) -> Writes<'_>;

    /// Calls the emulator has received, so far, to methods that can change data.
    fn write_calls(&self) -> u64;

    /// Changes record `id` as someone else would (a manager in the CRM, the shop owner, another
    /// app), so that its modification time moves past every other record's. The paging check
    /// does this in the middle of a listing.
    async fn touch(&self, id: &str);

    /// Records (orders or deals) the emulator holds.
    fn record_count(&self) -> usize;

    /// Stops the emulator.
    async fn stop(self);
}
