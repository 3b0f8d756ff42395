//! The emulated shop's data and the write semantics of orders: prices from the catalog, tax
//! lines from one flat rate, totals in exact decimals, transactions matching the financial
//! status.
//!
//! **Simplifications.** One tax rate for lines and shipping; tax is computed per line on the
//! undiscounted price (discount codes are fixed amounts taken off the order total); one
//! location seeded (more can be added, see [`Store::add_location`]); REST timestamps have
//! 1-second resolution like Shopify's.

use crate::wire::{
    Customer, DiscountCode, InventoryLevel, LineItem, Location, MoneyAmount, MoneyBag, Refund,
    ShippingLine, ShopifyOrder, ShopifyProduct, ShopifyVariant, TaxLine, Transaction,
};
use chrono::{DateTime, Duration, FixedOffset, SubsecRound, Utc};
use dealbridge_sdk::money::round_money;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The seeded location of the emulated shop, where the seeded catalog is stocked.
pub const LOCATION_ID: u64 = 905_684_977;

/// A variant for [`Store::add_product`].
#[derive(Debug, Clone, PartialEq)]
pub struct SeedVariant {
    /// SKU (may repeat another variant's: Shopify does not enforce unique SKUs).
    pub sku: String,
    /// Price.
    pub price: Decimal,
    /// Stock at [`LOCATION_ID`].
    pub stock: i64,
    /// Whether Shopify tracks its stock (`inventory_management: "shopify"`, else null).
    pub tracked: bool,
}

/// A location as `GET locations.json` renders it (Shopify's shape; address fields filled like a
/// US shop's).
pub fn location(id: u64, name: &str, active: bool) -> Location {
    let at = DateTime::parse_from_rfc3339("2024-01-02T09:00:55-05:00").ok();
    Location {
        id,
        name: name.to_string(),
        address1: Some("126 York Street".into()),
        address2: None,
        city: Some("Ottawa".into()),
        zip: Some("K1N 5T5".into()),
        province: Some("Ontario".into()),
        province_code: Some("ON".into()),
        country: Some("CA".into()),
        country_code: Some("CA".into()),
        country_name: Some("Canada".into()),
        phone: None,
        active,
        legacy: false,
        created_at: at,
        updated_at: at,
        admin_graphql_api_id: Some(format!("gid://shopify/Location/{id}")),
    }
}

/// Shop-wide settings.
#[derive(Debug, Clone)]
pub struct ShopSettings {
    /// Shop currency.
    pub currency: String,
    /// Whether prices include tax.
    pub taxes_included: bool,
    /// Flat tax rate as a fraction (`0.06`).
    pub tax_rate: Decimal,
}

/// Everything the shop holds.
#[derive(Debug)]
pub struct Store {
    pub(crate) settings: ShopSettings,
    pub(crate) orders: BTreeMap<u64, ShopifyOrder>,
    pub(crate) transactions: BTreeMap<u64, Vec<Transaction>>,
    pub(crate) refunds: BTreeMap<u64, Vec<Refund>>,
    pub(crate) products: BTreeMap<u64, ShopifyProduct>,
    pub(crate) inventory: BTreeMap<(u64, u64), i64>,
    pub(crate) locations: BTreeMap<u64, Location>,
    /// Order-edit sessions by calculated order id (see [`super::edit`]).
    pub(crate) edits: BTreeMap<u64, super::edit::CalculatedOrder>,
    next_id: u64,
    clock_offset: Duration,
}

/// The store behind a lock, shared by all requests.
#[derive(Debug, Clone)]
pub struct SharedStore(Arc<Mutex<Store>>);

impl SharedStore {
    /// Wraps a store.
    pub fn new(store: Store) -> Self {
        SharedStore(Arc::new(Mutex::new(store)))
    }

    /// Locks it.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.0.lock().expect("store lock")
    }
}

/// An order line as a client posts it: a catalog variant, or a custom item with title and price.
#[derive(Debug, Clone, Deserialize)]
pub struct NewLine {
    /// Catalog variant.
    #[serde(default)]
    pub variant_id: Option<u64>,
    /// Custom item title.
    #[serde(default)]
    pub title: Option<String>,
    /// Custom item price.
    #[serde(default, with = "crate::wire::money::opt")]
    pub price: Option<Decimal>,
    /// Quantity.
    pub quantity: i64,
}

/// A shipping line as posted.
#[derive(Debug, Clone, Deserialize)]
pub struct NewShipping {
    /// Title.
    pub title: String,
    /// Price.
    #[serde(with = "crate::wire::money")]
    pub price: Decimal,
}

/// A customer as posted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewCustomer {
    /// Existing customer id (kept as given).
    #[serde(default)]
    pub id: Option<u64>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
}

/// What a new line sells, resolved from its variant or given as a custom item.
struct SoldItem {
    product_id: Option<u64>,
    variant_id: Option<u64>,
    title: String,
    variant_title: Option<String>,
    sku: Option<String>,
    price: Decimal,
}

/// The body of `POST orders.json` (`{"order": …}`).
#[derive(Debug, Clone, Deserialize)]
pub struct NewOrder {
    /// Lines; at least one.
    #[serde(default)]
    pub line_items: Vec<NewLine>,
    /// Buyer e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Buyer.
    #[serde(default)]
    pub customer: Option<NewCustomer>,
    /// Shipping.
    #[serde(default)]
    pub shipping_lines: Vec<NewShipping>,
    /// Fixed-amount discount codes.
    #[serde(default)]
    pub discount_codes: Vec<DiscountCode>,
    /// `paid` (default), `authorized`, `pending`.
    #[serde(default)]
    pub financial_status: Option<String>,
    /// Note.
    #[serde(default)]
    pub note: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Option<String>,
    /// Channel.
    #[serde(default)]
    pub source_name: Option<String>,
}

pub(crate) fn bag(amount: Decimal, currency: &str) -> Option<MoneyBag> {
    let m = MoneyAmount {
        amount,
        currency_code: currency.to_string(),
    };
    Some(MoneyBag {
        shop_money: m.clone(),
        presentment_money: m,
    })
}

impl Store {
    /// An empty shop with a catalog.
    pub fn new(settings: ShopSettings, first_id: u64, catalog: Vec<ShopifyProduct>) -> Self {
        let mut inventory = BTreeMap::new();
        let mut products = BTreeMap::new();
        for p in catalog {
            for v in &p.variants {
                if let Some(item) = v.inventory_item_id {
                    inventory.insert((item, LOCATION_ID), v.inventory_quantity.unwrap_or(0));
                }
            }
            products.insert(p.id, p);
        }
        Store {
            settings,
            orders: BTreeMap::new(),
            transactions: BTreeMap::new(),
            refunds: BTreeMap::new(),
            products,
            inventory,
            locations: BTreeMap::from([(
                LOCATION_ID,
                location(LOCATION_ID, "Main warehouse", true),
            )]),
            edits: BTreeMap::new(),
            next_id: first_id,
            clock_offset: Duration::zero(),
        }
    }

    /// Now, on the shop's clock, at Shopify's 1-second resolution.
    pub fn now(&self) -> DateTime<FixedOffset> {
        (Utc::now() + self.clock_offset)
            .trunc_subsecs(0)
            .fixed_offset()
    }

    /// Moves the clock forward.
    pub fn advance_clock(&mut self, by: Duration) {
        self.clock_offset += by;
    }

    pub(crate) fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn tax_of(&self, gross: Decimal) -> Decimal {
        let rate = self.settings.tax_rate;
        if rate.is_zero() {
            return Decimal::ZERO;
        }
        if self.settings.taxes_included {
            round_money(gross - gross / (Decimal::ONE + rate), 2)
        } else {
            round_money(gross * rate, 2)
        }
    }

    pub(crate) fn tax_lines(&self, tax: Decimal) -> Vec<TaxLine> {
        if tax.is_zero() {
            return Vec::new();
        }
        vec![TaxLine {
            title: "Sales Tax".into(),
            price: tax,
            rate: Some(self.settings.tax_rate),
            price_set: bag(tax, &self.settings.currency),
        }]
    }

    pub(crate) fn find_variant(&self, id: u64) -> Option<&ShopifyVariant> {
        self.products
            .values()
            .flat_map(|p| p.variants.iter())
            .find(|v| v.id == id)
    }

    /// Creates an order; the `Err` text is the Shopify 422 field error.
    pub fn create_order(&mut self, n: NewOrder) -> Result<u64, (String, String)> {
        if n.line_items.is_empty() {
            return Err(("line_items".into(), "can't be blank".into()));
        }
        let cur = self.settings.currency.clone();
        // Ids are handed out in sequence: lines, shipping lines, customer, then the order.
        let mut lines = Vec::new();
        for nl in &n.line_items {
            lines.push(self.new_line_item(nl, &cur)?);
        }
        let mut shipping_lines = Vec::new();
        for s in &n.shipping_lines {
            shipping_lines.push(self.new_shipping_line(s, &cur));
        }
        let customer = self.new_customer(&n);
        let mut order = self.new_order(&n, lines, shipping_lines, customer);
        self.recompute_totals(&mut order);
        self.record_payment(&order);
        let id = order.id;
        self.orders.insert(id, order);
        Ok(id)
    }

    /// What a new line sells: a catalog variant, or a custom item with its own title and price.
    fn sold_item(&self, nl: &NewLine) -> Result<SoldItem, (String, String)> {
        match nl.variant_id {
            Some(vid) => {
                let v = self
                    .find_variant(vid)
                    .ok_or(("line_items".into(), format!("variant {vid} does not exist")))?;
                let p = &self.products[&v.product_id.unwrap_or_default()];
                Ok(SoldItem {
                    product_id: Some(p.id),
                    variant_id: Some(v.id),
                    title: p.title.clone(),
                    variant_title: Some(v.title.clone()),
                    sku: v.sku.clone(),
                    price: v.price,
                })
            }
            None => {
                let title = nl.title.clone().filter(|t| !t.is_empty()).ok_or((
                    "line_items".into(),
                    "title can't be blank for a custom item".into(),
                ))?;
                let price = nl
                    .price
                    .ok_or(("line_items".into(), "price can't be blank".into()))?;
                Ok(SoldItem {
                    product_id: None,
                    variant_id: None,
                    title,
                    variant_title: None,
                    sku: None,
                    price,
                })
            }
        }
    }

    /// A new order's line, taxed at the shop's rate; the `Err` is the 422 field error.
    fn new_line_item(&mut self, nl: &NewLine, cur: &str) -> Result<LineItem, (String, String)> {
        if nl.quantity <= 0 {
            return Err((
                "line_items".into(),
                "quantity must be greater than 0".into(),
            ));
        }
        let SoldItem {
            product_id,
            variant_id,
            title,
            variant_title,
            sku,
            price,
        } = self.sold_item(nl)?;
        let tax = self.tax_of(price * Decimal::from(nl.quantity));
        let id = self.id();
        Ok(LineItem {
            id,
            product_id,
            variant_id,
            // Shopify names a line "<product> - <variant>", leaving out the default variant.
            name: Some(match &variant_title {
                Some(vt) if !vt.is_empty() && vt != "Default Title" => {
                    format!("{title} - {vt}")
                }
                _ => title.clone(),
            }),
            title,
            variant_title,
            sku,
            vendor: None,
            quantity: nl.quantity,
            current_quantity: Some(nl.quantity),
            fulfillable_quantity: Some(nl.quantity),
            price,
            price_set: bag(price, cur),
            total_discount: Some(Decimal::ZERO),
            total_discount_set: bag(Decimal::ZERO, cur),
            discount_allocations: Vec::new(),
            tax_lines: self.tax_lines(tax),
            taxable: true,
            requires_shipping: true,
            grams: Some(0),
            gift_card: false,
            fulfillment_status: None,
            properties: Vec::new(),
        })
    }

    /// A new order's shipping line, taxed at the shop's rate.
    fn new_shipping_line(&mut self, s: &NewShipping, cur: &str) -> ShippingLine {
        let tax = self.tax_of(s.price);
        let id = self.id();
        ShippingLine {
            id: Some(id),
            code: Some(s.title.clone()),
            title: s.title.clone(),
            price: s.price,
            price_set: bag(s.price, cur),
            discounted_price: Some(s.price),
            source: Some("shopify".into()),
            discount_allocations: Vec::new(),
            tax_lines: self.tax_lines(tax),
        }
    }

    /// The new order's customer, if it names one (a new id unless given; the order's e-mail
    /// when the customer has none).
    fn new_customer(&mut self, n: &NewOrder) -> Option<Customer> {
        n.customer.clone().map(|c| {
            let id = c.id.unwrap_or_else(|| self.id());
            Customer {
                id,
                email: c.email.clone().or(n.email.clone()),
                first_name: c.first_name,
                last_name: c.last_name,
                phone: c.phone,
                created_at: Some(self.now()),
                updated_at: Some(self.now()),
                state: Some("disabled".into()),
                tags: Some(String::new()),
                note: None,
                orders_count: Some(1),
                total_spent: None,
                default_address: None,
                addresses: Vec::new(),
            }
        })
    }

    /// The new order with its parts, numbered after the orders so far; totals are left for
    /// [`Store::recompute_totals`].
    fn new_order(
        &mut self,
        n: &NewOrder,
        lines: Vec<LineItem>,
        shipping_lines: Vec<ShippingLine>,
        customer: Option<Customer>,
    ) -> ShopifyOrder {
        let cur = self.settings.currency.clone();
        let id = self.id();
        let now = self.now();
        let number = self.orders.len() as u64 + 1001;
        ShopifyOrder {
            id,
            admin_graphql_api_id: Some(format!("gid://shopify/Order/{id}")),
            name: Some(format!("#{number}")),
            order_number: Some(number),
            email: n
                .email
                .clone()
                .or_else(|| customer.as_ref().and_then(|c| c.email.clone())),
            phone: None,
            currency: cur.clone(),
            presentment_currency: Some(cur.clone()),
            created_at: now,
            updated_at: now,
            processed_at: Some(now),
            cancelled_at: None,
            cancel_reason: None,
            closed_at: None,
            financial_status: Some(n.financial_status.clone().unwrap_or_else(|| "paid".into())),
            fulfillment_status: None,
            taxes_included: self.settings.taxes_included,
            total_price: Decimal::ZERO,
            subtotal_price: None,
            total_line_items_price: None,
            total_tax: None,
            total_discounts: None,
            current_total_price: None,
            current_subtotal_price: None,
            current_total_tax: None,
            current_total_discounts: None,
            total_price_set: None,
            subtotal_price_set: None,
            total_tax_set: None,
            total_discounts_set: None,
            total_shipping_price_set: None,
            total_line_items_price_set: None,
            note: n.note.clone(),
            tags: n.tags.clone().unwrap_or_default(),
            source_name: Some(n.source_name.clone().unwrap_or_else(|| "web".into())),
            gateway: Some("bogus".into()),
            payment_gateway_names: vec!["bogus".into()],
            line_items: lines,
            shipping_lines,
            discount_codes: n.discount_codes.clone(),
            discount_applications: Vec::new(),
            tax_lines: Vec::new(),
            customer,
            billing_address: None,
            shipping_address: None,
            note_attributes: Vec::new(),
        }
    }

    /// Totals from the parts, exactly: total = lines + shipping (+ tax unless included) −
    /// discounts.
    fn recompute_totals(&self, o: &mut ShopifyOrder) {
        let cur = o.currency.clone();
        let lines: Decimal = o
            .line_items
            .iter()
            .map(|l| l.price * Decimal::from(l.quantity))
            .sum();
        let shipping: Decimal = o.shipping_lines.iter().map(|s| s.price).sum();
        let tax: Decimal = o
            .line_items
            .iter()
            .flat_map(|l| l.tax_lines.iter())
            .chain(o.shipping_lines.iter().flat_map(|s| s.tax_lines.iter()))
            .map(|t| t.price)
            .sum();
        let discounts: Decimal = o.discount_codes.iter().map(|c| c.amount).sum();
        let total =
            lines + shipping - discounts + if o.taxes_included { Decimal::ZERO } else { tax };
        o.tax_lines = self.tax_lines(tax);
        o.total_line_items_price = Some(lines);
        o.subtotal_price = Some(lines - discounts);
        o.total_tax = Some(tax);
        o.total_discounts = Some(discounts);
        o.total_price = total;
        o.total_line_items_price_set = bag(lines, &cur);
        o.subtotal_price_set = bag(lines - discounts, &cur);
        o.total_tax_set = bag(tax, &cur);
        o.total_discounts_set = bag(discounts, &cur);
        o.total_shipping_price_set = bag(shipping, &cur);
        o.total_price_set = bag(total, &cur);
        // A new order is its own current state.
        o.current_total_price = Some(total);
        o.current_subtotal_price = Some(lines - discounts);
        o.current_total_tax = Some(tax);
        o.current_total_discounts = Some(discounts);
    }

    /// The `current_*` totals from the lines as they are now (`current_quantity`), as Shopify
    /// recomputes them after an order edit; the as-placed totals are left alone. The tax of a
    /// line whose quantity changed is its placed tax scaled by current / ordered quantity,
    /// rounded to cents: the same rule [`crate::convert`] reads lines by (how Shopify itself
    /// re-taxes an edited line is UNCONFIRMED).
    pub(crate) fn recompute_current_totals(&self, o: &mut ShopifyOrder) {
        let mut lines = Decimal::ZERO;
        let mut tax = Decimal::ZERO;
        for l in &o.line_items {
            let q = l.current_quantity.unwrap_or(l.quantity);
            lines += l.price * Decimal::from(q);
            let placed: Decimal = l.tax_lines.iter().map(|t| t.price).sum();
            tax += if q == l.quantity || l.quantity == 0 {
                placed
            } else {
                round_money(placed * Decimal::from(q) / Decimal::from(l.quantity), 2)
            };
        }
        let shipping: Decimal = o.shipping_lines.iter().map(|s| s.price).sum();
        tax += o
            .shipping_lines
            .iter()
            .flat_map(|s| s.tax_lines.iter())
            .map(|t| t.price)
            .sum::<Decimal>();
        let discounts = o.total_discounts.unwrap_or_default();
        o.current_subtotal_price = Some(lines - discounts);
        o.current_total_tax = Some(tax);
        o.current_total_discounts = Some(discounts);
        o.current_total_price =
            Some(lines + shipping - discounts + if o.taxes_included { Decimal::ZERO } else { tax });
    }

    fn record_payment(&mut self, o: &ShopifyOrder) {
        let kind = match o.financial_status.as_deref() {
            Some("paid") => "sale",
            Some("authorized") => "authorization",
            _ => return,
        };
        let id = self.id();
        self.transactions
            .entry(o.id)
            .or_default()
            .push(Transaction {
                id,
                order_id: Some(o.id),
                kind: kind.into(),
                status: Some("success".into()),
                amount: o.total_price,
                currency: Some(o.currency.clone()),
                gateway: Some("bogus".into()),
                created_at: o.created_at,
                processed_at: Some(o.created_at),
                authorization: Some(format!("auth-{id}")),
                parent_id: None,
                test: true,
                message: Some("Bogus Gateway: Forced success".into()),
                error_code: None,
                payment_details: None,
                receipt: None,
            });
    }

    /// Creates a transaction as `POST orders/{id}/transactions.json` does: `capture` of an
    /// authorization (`parent_id`, or the order's only open one; amount defaults to the
    /// authorized amount and may not exceed it), `sale` (e.g. `source: external` for a payment
    /// received outside Shopify), or `void` of an authorization. Refunds go through the
    /// Refund resource, as in Shopify. Then the financial status follows the money. The `Err`
    /// is the 422 field error.
    pub fn add_transaction(
        &mut self,
        order_id: u64,
        body: &Value,
    ) -> Result<Transaction, (String, String)> {
        let bad = |f: &str, m: &str| Err((f.to_string(), m.to_string()));
        let Some(order) = self.orders.get(&order_id).cloned() else {
            return bad("order", "not found");
        };
        let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
        let amount = match body.get("amount") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match s.trim().parse::<Decimal>() {
                Ok(a) if a > Decimal::ZERO => Some(a),
                _ => return bad("amount", "must be greater than 0"),
            },
            Some(Value::Number(n)) => match n.to_string().parse::<Decimal>() {
                Ok(a) if a > Decimal::ZERO => Some(a),
                _ => return bad("amount", "must be greater than 0"),
            },
            Some(_) => return bad("amount", "is invalid"),
        };
        let txs = self
            .transactions
            .get(&order_id)
            .cloned()
            .unwrap_or_default();
        let settled: Vec<u64> = txs
            .iter()
            .filter(|t| matches!(t.kind.as_str(), "capture" | "void"))
            .filter_map(|t| t.parent_id)
            .collect();
        let open_auths: Vec<&Transaction> = txs
            .iter()
            .filter(|t| t.kind == "authorization" && !settled.contains(&t.id))
            .collect();
        let parent_id = body.get("parent_id").and_then(Value::as_u64);
        let (amount, parent, gateway) = match kind {
            "capture" | "void" => {
                let parent = match parent_id {
                    Some(p) => open_auths.iter().find(|t| t.id == p).copied(),
                    None if open_auths.len() == 1 => Some(open_auths[0]),
                    None => None,
                };
                let Some(parent) = parent else {
                    return bad("base", "No capturable transaction was found");
                };
                let amount = amount.unwrap_or(parent.amount);
                if amount > parent.amount {
                    return bad(
                        "amount",
                        "must be less than or equal to the authorized amount",
                    );
                }
                (amount, Some(parent.id), parent.gateway.clone())
            }
            "sale" => {
                let Some(amount) = amount else {
                    return bad("amount", "can't be blank");
                };
                let external = body.get("source").and_then(Value::as_str) == Some("external");
                let gateway = body
                    .get("gateway")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| external.then(|| "manual".to_string()))
                    .or_else(|| order.gateway.clone());
                (amount, None, gateway)
            }
            "refund" => {
                return bad(
                    "kind",
                    "Refund transactions must be created by using the Refund resource",
                )
            }
            _ => return bad("kind", "is not included in the list"),
        };
        let now = self.now();
        let id = self.id();
        let tx = Transaction {
            id,
            order_id: Some(order_id),
            kind: kind.to_string(),
            status: Some("success".into()),
            amount,
            currency: Some(
                body.get("currency")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| order.currency.clone()),
            ),
            gateway,
            created_at: now,
            processed_at: Some(now),
            authorization: None,
            parent_id: parent,
            test: false,
            message: None,
            error_code: None,
            payment_details: None,
            receipt: None,
        };
        self.transactions
            .entry(order_id)
            .or_default()
            .push(tx.clone());
        self.settle(order_id);
        Ok(tx)
    }

    /// Refunds `amount` of order `order_id` as the shop owner would in the admin (a Refund with
    /// one `refund` transaction against the order's first sale or capture). Returns the
    /// refund; `None` when the order has nothing captured to refund.
    pub fn refund(&mut self, order_id: u64, amount: Decimal, note: &str) -> Option<Refund> {
        let txs = self.transactions.get(&order_id)?.clone();
        let parent = txs
            .iter()
            .find(|t| matches!(t.kind.as_str(), "sale" | "capture"))?
            .clone();
        let now = self.now();
        let refund_id = self.id();
        let tx_id = self.id();
        let tx = Transaction {
            id: tx_id,
            order_id: Some(order_id),
            kind: "refund".into(),
            status: Some("success".into()),
            amount,
            currency: parent.currency.clone(),
            gateway: parent.gateway.clone(),
            created_at: now,
            processed_at: Some(now),
            authorization: None,
            parent_id: Some(parent.id),
            test: parent.test,
            message: None,
            error_code: None,
            payment_details: None,
            receipt: None,
        };
        self.transactions
            .entry(order_id)
            .or_default()
            .push(tx.clone());
        let refund = Refund {
            id: refund_id,
            order_id,
            created_at: now,
            note: Some(note.to_string()).filter(|n| !n.is_empty()),
            restock: Some(false),
            transactions: vec![tx],
            refund_line_items: Vec::new(),
            order_adjustments: Vec::new(),
        };
        self.refunds
            .entry(order_id)
            .or_default()
            .push(refund.clone());
        self.settle(order_id);
        Some(refund)
    }

    /// Sets the order's financial status from its successful transactions and marks it
    /// changed.
    pub(crate) fn settle(&mut self, order_id: u64) {
        let txs = self
            .transactions
            .get(&order_id)
            .cloned()
            .unwrap_or_default();
        let ok = |t: &&Transaction| t.status.as_deref().is_none_or(|s| s == "success");
        let sum = |kinds: &[&str]| -> Decimal {
            txs.iter()
                .filter(ok)
                .filter(|t| kinds.contains(&t.kind.as_str()))
                .map(|t| t.amount)
                .sum()
        };
        let paid = sum(&["sale", "capture"]);
        let refunded = sum(&["refund"]);
        let settled: Vec<u64> = txs
            .iter()
            .filter(|t| matches!(t.kind.as_str(), "capture" | "void"))
            .filter_map(|t| t.parent_id)
            .collect();
        let authorized = txs
            .iter()
            .filter(ok)
            .any(|t| t.kind == "authorization" && !settled.contains(&t.id));
        let now = self.now();
        let Some(o) = self.orders.get_mut(&order_id) else {
            return;
        };
        let status = if refunded > Decimal::ZERO && refunded >= paid {
            "refunded"
        } else if refunded > Decimal::ZERO {
            "partially_refunded"
        } else if paid >= o.current_total_price.unwrap_or(o.total_price) && paid > Decimal::ZERO {
            "paid"
        } else if paid > Decimal::ZERO {
            "partially_paid"
        } else if authorized {
            "authorized"
        } else if txs.iter().any(|t| t.kind == "void") {
            "voided"
        } else {
            "pending"
        };
        o.financial_status = Some(status.to_string());
        o.updated_at = now;
    }

    /// Marks an order changed now.
    pub fn touch(&mut self, id: u64) {
        let now = self.now();
        if let Some(o) = self.orders.get_mut(&id) {
            o.updated_at = now;
        }
    }

    /// The variant of an inventory item.
    pub fn variant_of_item(&self, item: u64) -> Option<&ShopifyVariant> {
        self.products
            .values()
            .flat_map(|p| p.variants.iter())
            .find(|v| v.inventory_item_id == Some(item))
    }

    /// Sets the stock of an item at a location, creating the level when the item was not
    /// stocked there, and keeps the variant's `inventory_quantity` (the sum over locations) in
    /// step.
    pub fn set_inventory(&mut self, item: u64, location: u64, available: i64) -> InventoryLevel {
        self.inventory.insert((item, location), available);
        let total: i64 = self
            .inventory
            .iter()
            .filter(|((i, _), _)| *i == item)
            .map(|(_, a)| *a)
            .sum();
        let now = self.now();
        for p in self.products.values_mut() {
            for v in &mut p.variants {
                if v.inventory_item_id == Some(item) {
                    v.inventory_quantity = Some(total);
                    v.updated_at = Some(now);
                }
            }
        }
        InventoryLevel {
            inventory_item_id: item,
            location_id: location,
            available: Some(available),
            updated_at: Some(now),
        }
    }

    /// Adds a location (active or not) and returns it.
    pub fn add_location(&mut self, name: &str, active: bool) -> Location {
        let id = self.id();
        let l = location(id, name, active);
        self.locations.insert(id, l.clone());
        l
    }

    /// Adds a product with these variants (ids from the shop's sequence), each stocked at
    /// [`LOCATION_ID`], and returns it.
    pub fn add_product(&mut self, title: &str, variants: &[SeedVariant]) -> ShopifyProduct {
        let product_id = self.id();
        let now = self.now();
        let mut list = Vec::with_capacity(variants.len());
        for (n, sv) in variants.iter().enumerate() {
            let id = self.id();
            let item = self.id();
            let option = if variants.len() == 1 {
                "Default Title".to_string()
            } else {
                format!("Option {}", n + 1)
            };
            list.push(ShopifyVariant {
                id,
                product_id: Some(product_id),
                title: option.clone(),
                price: sv.price,
                compare_at_price: None,
                sku: Some(sv.sku.clone()),
                barcode: None,
                position: Some(n as u32 + 1),
                inventory_item_id: Some(item),
                inventory_quantity: Some(sv.stock),
                inventory_management: sv.tracked.then(|| "shopify".to_string()),
                inventory_policy: Some("deny".into()),
                option1: Some(option),
                option2: None,
                option3: None,
                taxable: true,
                requires_shipping: true,
                grams: Some(0),
                created_at: Some(now),
                updated_at: Some(now),
            });
            self.inventory.insert((item, LOCATION_ID), sv.stock);
        }
        let product = ShopifyProduct {
            id: product_id,
            title: title.to_string(),
            body_html: None,
            vendor: Some("Dealbridge".into()),
            product_type: None,
            handle: Some(title.to_lowercase().replace(' ', "-")),
            status: Some("active".into()),
            tags: String::new(),
            created_at: Some(now),
            updated_at: Some(now),
            published_at: Some(now),
            options: vec![crate::wire::ProductOption {
                name: "Title".into(),
                values: list.iter().map(|v| v.title.clone()).collect(),
            }],
            variants: list,
            images: Vec::new(),
        };
        self.products.insert(product_id, product.clone());
        product
    }
}
