//! The emulated shop's data: orders, a small catalog, and the server clock.
//!
//! One mutex guards it all; handlers hold it only for in-memory work, never across an await.

use crate::wire::{
    ManageStock, OrderNote, ProductAttribute, WooCustomer, WooOrder, WooProduct, WooRefund,
};
use chrono::{DateTime, Duration as ChronoDuration, FixedOffset, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::sync::mpsc::UnboundedSender;

/// Which webhook topic an order change fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum OrderTopic {
    /// `order.created`.
    Created,
    /// `order.updated`.
    Updated,
    /// `order.deleted` (trashed or deleted for good).
    Deleted,
}

impl OrderTopic {
    /// The topic as WooCommerce names it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderTopic::Created => "order.created",
            OrderTopic::Updated => "order.updated",
            OrderTopic::Deleted => "order.deleted",
        }
    }
}

/// A product (or one variation of it) the emulated shop sells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    /// Product id.
    pub product_id: u64,
    /// Variation id, 0 for a simple product.
    pub variation_id: u64,
    /// Name as it appears on an order line.
    pub name: String,
    /// SKU.
    pub sku: String,
    /// Price per unit, tax excluded.
    pub price: Decimal,
}

/// An order as stored: the wire representation plus a modification sequence number that breaks
/// ties between orders modified within the same second (WooCommerce stores whole seconds).
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub order: WooOrder,
    pub modified_seq: u64,
}

/// Settings the shop logic needs.
#[derive(Debug, Clone)]
pub(crate) struct ShopSettings {
    pub currency: String,
    pub utc_offset: FixedOffset,
    /// Coupon code (lower-cased) → percent off the subtotal.
    pub coupons: BTreeMap<String, Decimal>,
}

/// Everything the emulated shop knows.
#[derive(Debug)]
pub(crate) struct Store {
    pub settings: ShopSettings,
    pub orders: BTreeMap<u64, Stored>,
    pub catalog: Vec<CatalogItem>,
    /// Products and variations by id (variations carry `parent_id`), built from the catalog.
    pub products: BTreeMap<u64, WooProduct>,
    /// Customers by id.
    pub customers: BTreeMap<u64, WooCustomer>,
    /// Order notes by order id, oldest first.
    pub notes: BTreeMap<u64, Vec<OrderNote>>,
    /// Refunds by order id, oldest first.
    pub refunds: BTreeMap<u64, Vec<WooRefund>>,
    /// The status a trashed product or variation had before (WordPress'
    /// `_wp_trash_meta_status`), restored when it leaves the trash.
    pub trash_meta: BTreeMap<u64, String>,
    /// Order statuses a plugin registered (`register_post_status` + the `wc_order_statuses`
    /// filter, e.g. a shipment tracker's `delivered`): the REST API takes them like the core ones.
    pub registered_statuses: Vec<String>,
    /// Ids of notes and refunds (WordPress comments and posts; any increasing ids do).
    pub next_aux_id: u64,
    pub next_id: u64,
    pub next_item_id: u64,
    pub next_meta_id: u64,
    seq: u64,
    last_now: DateTime<Utc>,
    clock_offset: ChronoDuration,
    /// Where order changes go for webhook delivery (the emulator's Action Scheduler).
    pub changes: Option<UnboundedSender<(OrderTopic, u64)>>,
}

impl Store {
    pub fn new(settings: ShopSettings, catalog: Vec<CatalogItem>, first_order_id: u64) -> Self {
        let products = products_from_catalog(&catalog);
        Store {
            settings,
            orders: BTreeMap::new(),
            catalog,
            products,
            customers: BTreeMap::new(),
            notes: BTreeMap::new(),
            refunds: BTreeMap::new(),
            trash_meta: BTreeMap::new(),
            registered_statuses: Vec::new(),
            next_aux_id: first_order_id * 1000,
            next_id: first_order_id,
            // Item and meta ids share WordPress' tables with other data; any increasing ids do.
            next_item_id: first_order_id * 10,
            next_meta_id: first_order_id * 100,
            seq: 0,
            last_now: DateTime::<Utc>::MIN_UTC,
            clock_offset: ChronoDuration::zero(),
            changes: None,
        }
    }

    /// Records that an order changed, for webhook delivery. Sending never blocks; with no
    /// delivery worker it does nothing.
    pub fn changed(&self, topic: OrderTopic, order_id: u64) {
        if let Some(tx) = &self.changes {
            let _ = tx.send((topic, order_id));
        }
    }

    /// The server clock: wall time plus any test offset, never going backwards.
    pub fn now(&mut self) -> DateTime<Utc> {
        let wall = Utc::now() + self.clock_offset;
        self.last_now = wall.max(self.last_now);
        self.last_now
    }

    /// Moves the server clock forward (tests use it instead of sleeping).
    pub fn advance_clock(&mut self, by: ChronoDuration) {
        self.clock_offset += by;
    }

    /// The next modification sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// GMT and site-local wall times of an instant, truncated to whole seconds as WordPress
    /// stores them.
    pub fn stamp(&self, t: DateTime<Utc>) -> (NaiveDateTime, NaiveDateTime) {
        let secs = DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t);
        (
            secs.naive_utc(),
            secs.with_timezone(&self.settings.utc_offset).naive_local(),
        )
    }

    pub fn item_id(&mut self) -> u64 {
        self.next_item_id += 1;
        self.next_item_id
    }

    /// The next note or refund id.
    pub fn aux_id(&mut self) -> u64 {
        self.next_aux_id += 1;
        self.next_aux_id
    }

    pub fn meta_id(&mut self) -> u64 {
        self.next_meta_id += 1;
        self.next_meta_id
    }

    /// Looks a catalog entry up by product/variation id, or by SKU.
    pub fn find_product(
        &self,
        product_id: u64,
        variation_id: u64,
        sku: Option<&str>,
    ) -> Option<CatalogItem> {
        // A variation id given as `product_id` names that variation, as WooCommerce's
        // `wc_get_product()` + `WC_Order_Item_Product::set_product()` resolve it.
        let by_id = self.catalog.iter().find(|c| {
            (variation_id != 0 && c.variation_id == variation_id)
                || (variation_id == 0
                    && product_id != 0
                    && (c.variation_id == product_id
                        || (c.variation_id == 0 && c.product_id == product_id)))
        });
        by_id
            .or_else(|| {
                let sku = sku.filter(|s| !s.is_empty())?;
                self.catalog.iter().find(|c| c.sku == sku)
            })
            .cloned()
    }
}

/// The name of the one attribute the emulated variable products vary by. The catalog names a
/// variation `Parent - Value`; the value is the variation's option of this attribute.
pub const VARIATION_ATTRIBUTE: &str = "Вариант";

/// Simple products for catalog entries without a variation, and a variable parent with its
/// variations for the others. Every item starts with tracked stock of 10. A variation named
/// `Parent - Value` takes option `Value` of [`VARIATION_ATTRIBUTE`]; one whose name has no
/// ` - ` takes none, as a variation left at "Any …" in WooCommerce.
fn products_from_catalog(catalog: &[CatalogItem]) -> BTreeMap<u64, WooProduct> {
    let mut out = BTreeMap::new();
    let item = |id: u64, name: &str, kind: &str, parent: u64, sku: &str, price: Option<Decimal>| {
        let price = price.map(|p| p.round_dp(2).to_string()).unwrap_or_default();
        WooProduct {
            id,
            name: name.to_string(),
            kind: kind.to_string(),
            status: "publish".to_string(),
            parent_id: parent,
            sku: sku.to_string(),
            price: price.clone(),
            regular_price: price,
            sale_price: String::new(),
            manage_stock: if kind == "variable" {
                ManageStock::No
            } else {
                ManageStock::Yes
            },
            stock_quantity: (kind != "variable").then_some(10),
            stock_status: "instock".to_string(),
            variations: Vec::new(),
            attributes: Vec::new(),
            date_modified_gmt: None,
        }
    };
    let attribute = |option: Option<String>, options: Vec<String>| ProductAttribute {
        id: 0,
        name: VARIATION_ATTRIBUTE.to_string(),
        option,
        options,
    };
    for c in catalog {
        if c.variation_id == 0 {
            out.insert(
                c.product_id,
                item(c.product_id, &c.name, "simple", 0, &c.sku, Some(c.price)),
            );
            continue;
        }
        let (parent_name, option) = match c.name.split_once(" - ") {
            Some((parent, option)) => (parent.to_string(), Some(option.to_string())),
            None => (c.name.clone(), None),
        };
        let parent = out
            .entry(c.product_id)
            .or_insert_with(|| item(c.product_id, &parent_name, "variable", 0, "", None));
        parent.variations.push(c.variation_id);
        if let Some(o) = &option {
            match parent.attributes.first_mut() {
                Some(a) => a.options.push(o.clone()),
                None => parent.attributes.push(attribute(None, vec![o.clone()])),
            }
        }
        let mut variation = item(
            c.variation_id,
            &c.name,
            "variation",
            c.product_id,
            &c.sku,
            Some(c.price),
        );
        variation.attributes = option
            .map(|o| attribute(Some(o), Vec::new()))
            .into_iter()
            .collect();
        out.insert(c.variation_id, variation);
    }
    out
}

/// Shared handle to the store.
#[derive(Debug, Clone)]
pub(crate) struct SharedStore(Arc<Mutex<Store>>);

impl SharedStore {
    pub fn new(store: Store) -> Self {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    /// Locks the store. A poisoned lock (a panic mid-update) is still usable: the emulator's
    /// writes are whole-record replacements, so there is no half-written record to fear.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A reference that does not keep the store alive (the delivery worker holds one, so an
    /// emulator that is dropped is freed and its worker ends).
    pub fn downgrade(&self) -> Weak<Mutex<Store>> {
        Arc::downgrade(&self.0)
    }
}
