//! Shopify resources → the canonical model, and the totals check.
//!
//! **Tax-inclusive shops.** With `taxes_included: true` line and shipping prices *contain* the
//! tax; the canonical [`OrderLine`] wants amounts without it, so the line's own tax lines are
//! subtracted. With `false` they are added on top. Either way the order's `total_price` is
//! taken as Shopify states it, and [`check_totals`] says whether the parts add up.
//!
//! **Edited orders.** Shopify keeps an order's as-placed figures (`line_items[].quantity`,
//! `total_price`, `subtotal_price`, `total_tax`) when the order is edited later and shows the
//! order as it is now in `line_items[].current_quantity` (REST since 2024-01) and
//! `current_total_price`, `current_subtotal_price`, `current_total_tax`,
//! `current_total_discounts` (which "reflect order edits, returns, and refunds"). The canonical
//! order is the order *now*: those values are used when present (older payloads lack them, then
//! the as-placed ones are current), and a line whose `current_quantity` is 0 was removed and is
//! left out. Otherwise an edit written from the CRM would read back as never made and be sent
//! again forever. A line's placed tax and discount are scaled by current / ordered quantity
//! (rounded to cents); whether Shopify re-taxes an edited line the same way is UNCONFIRMED.
//!
//! **Status.** The canonical status is `cancelled` when `cancelled_at` is set, else `closed`
//! when `closed_at` is set, else the `financial_status` (`paid`, `authorized`, …), else `open`;
//! mapping files translate these codes.

use crate::wire::{
    Customer, InventoryLevel, LineItem, ShippingLine, ShopifyOrder, ShopifyProduct, TaxLine,
    TenderTransaction, Transaction,
};
use crate::SYSTEM;
use chrono::{DateTime, FixedOffset, Utc};
use dealbridge_sdk::model::{
    Contact, ExternalRef, Order, OrderLine, Payment, PriceEntry, Product, StockLevel, Variant,
};
use dealbridge_sdk::money::round_money;
use dealbridge_sdk::{ConnectorError, Currency, ErrorKind, Money};
use rust_decimal::Decimal;

/// Converts one Shopify order. `system` is the configured system name, written into every
/// [`ExternalRef`].
pub fn order_to_canonical(system: &str, o: &ShopifyOrder) -> Result<Order, ConnectorError> {
    let currency = currency(&o.currency, &format!("order {}", o.id))?;
    let lines = o
        .line_items
        .iter()
        .filter(|li| current_quantity(li) != 0)
        .map(|li| line(system, o.taxes_included, li))
        .collect();
    let shipping_total: Decimal = o
        .shipping_lines
        .iter()
        .map(|s| shipping_net(o.taxes_included, s))
        .sum();
    let status = if o.cancelled_at.is_some() {
        "cancelled".to_string()
    } else if o.closed_at.is_some() {
        "closed".to_string()
    } else {
        o.financial_status.clone().unwrap_or_else(|| "open".into())
    };
    let paid = matches!(
        o.financial_status.as_deref(),
        Some("paid" | "partially_refunded" | "refunded" | "partially_paid")
    );
    Ok(Order {
        source: ExternalRef {
            system: system.to_string(),
            id: o.id.to_string(),
        },
        number: o
            .name
            .clone()
            .or_else(|| o.order_number.map(|n| n.to_string()))
            .unwrap_or_else(|| o.id.to_string()),
        status,
        currency,
        created_at: utc(o.created_at),
        modified_at: utc(o.updated_at),
        customer: order_contact(system, o),
        lines,
        discount_total: order_discounts(o),
        shipping_total,
        tax_total: order_tax(o),
        total: order_total(o),
        // Shopify has no "paid at" on the order; `processed_at` is when payment was processed.
        paid_at: if paid { o.processed_at.map(utc) } else { None },
        payment_method: o
            .payment_gateway_names
            .first()
            .cloned()
            .or_else(|| o.gateway.clone())
            .filter(|g| !g.is_empty()),
        source_channel: o.source_name.clone().filter(|s| !s.is_empty()),
        note: o.note.clone().filter(|n| !n.trim().is_empty()),
    })
}

/// One line: total after the line's discounts, without tax; unit price = total / quantity,
/// rounded to 4 places only when the division does not come out exact.
fn line(system: &str, taxes_included: bool, li: &LineItem) -> OrderLine {
    let quantity = Decimal::from(current_quantity(li));
    let gross = li.price * quantity - scaled(li, line_discount(li));
    let tax = scaled(li, sum_tax(&li.tax_lines));
    let total = if taxes_included { gross - tax } else { gross };
    let unit_price = if quantity.is_zero() {
        Decimal::ZERO
    } else {
        let exact = total / quantity;
        if exact * quantity == total {
            exact.normalize()
        } else {
            round_money(exact, 4)
        }
    };
    OrderLine {
        item: li.variant_id.or(li.product_id).map(|id| ExternalRef {
            system: system.to_string(),
            id: id.to_string(),
        }),
        sku: li.sku.clone().filter(|s| !s.trim().is_empty()),
        name: li.name.clone().unwrap_or_else(|| li.title.clone()),
        quantity,
        unit_price,
        total,
        tax,
    }
}

/// The line's quantity now: `current_quantity` when Shopify sends it, else as ordered.
pub fn current_quantity(li: &LineItem) -> i64 {
    li.current_quantity.unwrap_or(li.quantity)
}

/// An amount placed for the ordered quantity, for the current quantity: unchanged when the
/// quantity did not change, else pro rata, rounded to cents.
fn scaled(li: &LineItem, placed: Decimal) -> Decimal {
    let now = current_quantity(li);
    if now == li.quantity || li.quantity == 0 {
        placed
    } else {
        round_money(placed * Decimal::from(now) / Decimal::from(li.quantity), 2)
    }
}

/// Whether the order was changed after it was placed (an edit, or a removal): some line's
/// current quantity differs from the ordered one, or the current total differs from the placed
/// one (lines added by an edit change only the latter).
pub fn is_edited(o: &ShopifyOrder) -> bool {
    o.line_items
        .iter()
        .any(|li| li.current_quantity.is_some_and(|c| c != li.quantity))
        || o.current_total_price.is_some_and(|c| c != o.total_price)
}

/// Discount on a line: the allocations when present (newer versions), else `total_discount`.
fn line_discount(li: &LineItem) -> Decimal {
    if li.discount_allocations.is_empty() {
        li.total_discount.unwrap_or_default()
    } else {
        li.discount_allocations.iter().map(|a| a.amount).sum()
    }
}

fn shipping_gross(s: &ShippingLine) -> Decimal {
    let allocated: Decimal = s.discount_allocations.iter().map(|a| a.amount).sum();
    s.discounted_price.unwrap_or(s.price - allocated)
}

fn shipping_net(taxes_included: bool, s: &ShippingLine) -> Decimal {
    let gross = shipping_gross(s);
    if taxes_included {
        gross - sum_tax(&s.tax_lines)
    } else {
        gross
    }
}

fn sum_tax(lines: &[TaxLine]) -> Decimal {
    lines.iter().map(|t| t.price).sum()
}

/// `current_total_tax`, else `total_tax`, else the order's tax lines.
fn order_tax(o: &ShopifyOrder) -> Decimal {
    o.current_total_tax
        .or(o.total_tax)
        .unwrap_or_else(|| sum_tax(&o.tax_lines))
}

/// `current_total_price`, else `total_price`: what the buyer owes now.
pub fn order_total(o: &ShopifyOrder) -> Decimal {
    o.current_total_price.unwrap_or(o.total_price)
}

/// `current_total_discounts`, else `total_discounts`.
fn order_discounts(o: &ShopifyOrder) -> Decimal {
    o.current_total_discounts
        .or(o.total_discounts)
        .unwrap_or_default()
}

/// The parts of an order's total and whether they add up. An edited order is checked as it
/// is now (current quantities and `current_*` totals).
#[derive(Debug, Clone, PartialEq)]
pub struct TotalsCheck {
    /// Σ price × current quantity over line items, before any discount.
    pub lines: Decimal,
    /// Σ shipping line prices, before shipping discounts.
    pub shipping: Decimal,
    /// The order's tax (`current_total_tax`, else `total_tax`).
    pub tax: Decimal,
    /// The order's discounts (`current_total_discounts`, else `total_discounts`).
    pub discounts: Decimal,
    /// Whether prices include tax (then tax is not added again).
    pub taxes_included: bool,
    /// lines + shipping (+ tax unless included) − discounts.
    pub expected: Decimal,
    /// `current_total_price` (else `total_price`) as Shopify states it.
    pub total: Decimal,
    /// Whether the order was edited after it was placed ([`is_edited`]); then the checks of
    /// as-placed fields (`total_line_items_price`, the order's `tax_lines`) are skipped, since
    /// they describe the order before the edit.
    pub edited: bool,
    /// Every inconsistency found, as a sentence; empty when all add up.
    pub discrepancies: Vec<String>,
}

impl TotalsCheck {
    /// Whether every check passed.
    pub fn is_consistent(&self) -> bool {
        self.discrepancies.is_empty()
    }
}

/// Checks "sum of lines + shipping + tax − discounts = total" (tax not added when
/// `taxes_included`), and the cross-checks Shopify's own fields allow: `total_line_items_price`,
/// `subtotal_price`, the order's tax lines against `total_tax`, and discount codes against
/// `total_discounts`. An edited order is checked as it is now: current quantities against
/// `current_total_price`, `current_subtotal_price`, `current_total_tax` (see [`TotalsCheck`]).
/// Each mismatch is named, never silently corrected.
pub fn check_totals(o: &ShopifyOrder) -> TotalsCheck {
    let lines: Decimal = o
        .line_items
        .iter()
        .map(|li| li.price * Decimal::from(current_quantity(li)))
        .sum();
    let shipping: Decimal = o.shipping_lines.iter().map(|s| s.price).sum();
    let tax = order_tax(o);
    let discounts = order_discounts(o);
    let total = order_total(o);
    let edited = is_edited(o);
    let expected =
        lines + shipping - discounts + if o.taxes_included { Decimal::ZERO } else { tax };
    let mut d = Vec::new();
    let total_name = if o.current_total_price.is_some() {
        "current_total_price"
    } else {
        "total_price"
    };
    if expected != total {
        d.push(format!(
            "order {}: lines {lines} + shipping {shipping}{} − discounts {discounts} = {expected}, but {total_name} is {total}",
            o.id,
            if o.taxes_included { format!(" (tax {tax} included)") } else { format!(" + tax {tax}") },
        ));
    }
    if let Some(tli) = o.total_line_items_price.filter(|_| !edited) {
        if tli != lines {
            d.push(format!(
                "order {}: total_line_items_price {tli} ≠ Σ line price × quantity {lines}",
                o.id
            ));
        }
    }
    let (subtotal, subtotal_name) = match o.current_subtotal_price {
        Some(c) => (Some(c), "current_subtotal_price"),
        None => (o.subtotal_price, "subtotal_price"),
    };
    if let Some(sub) = subtotal {
        if sub != lines - discounts {
            d.push(format!(
                "order {}: {subtotal_name} {sub} ≠ lines {lines} − discounts {discounts}",
                o.id
            ));
        }
    }
    if !edited && !o.tax_lines.is_empty() && sum_tax(&o.tax_lines) != tax {
        d.push(format!(
            "order {}: Σ tax_lines {} ≠ total_tax {tax}",
            o.id,
            sum_tax(&o.tax_lines)
        ));
    }
    if let Some(sub) = subtotal {
        let from_subtotal = sub + shipping + if o.taxes_included { Decimal::ZERO } else { tax };
        if from_subtotal != total {
            d.push(format!(
                "order {}: {subtotal_name} {sub} + shipping {shipping} + tax = {from_subtotal}, but {total_name} is {total}",
                o.id
            ));
        }
    }
    // Discount codes belong to the order as placed.
    let codes: Decimal = o.discount_codes.iter().map(|c| c.amount).sum();
    let placed_discounts = o.total_discounts.unwrap_or_default();
    if codes != placed_discounts {
        d.push(format!(
            "order {}: discount_codes add up to {codes} but total_discounts is {placed_discounts}",
            o.id
        ));
    }
    TotalsCheck {
        lines,
        shipping,
        tax,
        discounts,
        taxes_included: o.taxes_included,
        expected,
        total,
        edited,
        discrepancies: d,
    }
}

/// The buyer: the customer record when there is one, filled in from the billing address and
/// the order's own e-mail/phone.
fn order_contact(system: &str, o: &ShopifyOrder) -> Contact {
    let mut c = o
        .customer
        .as_ref()
        .map(|cu| customer_to_contact(system, cu))
        .unwrap_or_default();
    let fill = |slot: &mut String, v: Option<&String>| {
        if slot.trim().is_empty() {
            if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
                *slot = v.trim().to_string();
            }
        }
    };
    if let Some(b) = &o.billing_address {
        fill(&mut c.first_name, b.first_name.as_ref());
        fill(&mut c.last_name, b.last_name.as_ref());
        if c.company.is_none() {
            c.company = b.company.clone().filter(|s| !s.trim().is_empty());
        }
        if c.phone.is_none() {
            c.phone = b.phone.clone().filter(|s| !s.trim().is_empty());
        }
    }
    if c.email.is_none() {
        c.email = o.email.clone().filter(|s| !s.trim().is_empty());
    }
    if c.phone.is_none() {
        c.phone = o.phone.clone().filter(|s| !s.trim().is_empty());
    }
    c
}

/// A customer record as a canonical contact (the default address supplies a missing phone or
/// company).
pub fn customer_to_contact(system: &str, cu: &Customer) -> Contact {
    let text = |v: &Option<String>| v.clone().map(|s| s.trim().to_string()).unwrap_or_default();
    let addr = cu.default_address.as_ref();
    Contact {
        source: Some(ExternalRef {
            system: system.to_string(),
            id: cu.id.to_string(),
        }),
        first_name: text(&cu.first_name),
        last_name: text(&cu.last_name),
        company: addr
            .and_then(|a| a.company.clone())
            .filter(|s| !s.trim().is_empty()),
        email: cu.email.clone().filter(|s| !s.trim().is_empty()),
        phone: cu
            .phone
            .clone()
            .or_else(|| addr.and_then(|a| a.phone.clone()))
            .filter(|s| !s.trim().is_empty()),
    }
}

/// A transaction as a canonical payment, or `None` when no money moved: only successful
/// `sale` and `capture` (positive) and `refund` (negative) count; `authorization` only reserves
/// funds and `void` cancels a reservation. `order_currency` is used when the transaction has
/// no currency of its own (older versions).
pub fn transaction_to_payment(
    system: &str,
    order_currency: &str,
    t: &Transaction,
) -> Result<Option<Payment>, ConnectorError> {
    if t.status.as_deref().is_some_and(|s| s != "success") {
        return Ok(None);
    }
    let amount = match t.kind.as_str() {
        "sale" | "capture" => t.amount,
        "refund" => -t.amount,
        _ => return Ok(None),
    };
    let Some(order_id) = t.order_id else {
        return Ok(None);
    };
    let currency = currency(
        t.currency.as_deref().unwrap_or(order_currency),
        &format!("transaction {}", t.id),
    )?;
    Ok(Some(Payment {
        source: ExternalRef {
            system: system.to_string(),
            id: t.id.to_string(),
        },
        order: ExternalRef {
            system: system.to_string(),
            id: order_id.to_string(),
        },
        amount: Money::new(amount, currency),
        paid_at: Some(utc(t.processed_at.unwrap_or(t.created_at))),
        document_number: t.authorization.clone().filter(|a| !a.is_empty()),
        method: t.gateway.clone().filter(|g| !g.is_empty()),
    }))
}

/// A tender transaction (money that actually moved) as a canonical payment; refunds are
/// already negative.
pub fn tender_to_payment(system: &str, t: &TenderTransaction) -> Result<Payment, ConnectorError> {
    Ok(Payment {
        source: ExternalRef {
            system: system.to_string(),
            id: format!("tender-{}", t.id),
        },
        order: ExternalRef {
            system: system.to_string(),
            id: t.order_id.to_string(),
        },
        amount: Money::new(
            t.amount,
            currency(&t.currency, &format!("tender transaction {}", t.id))?,
        ),
        paid_at: t.processed_at.map(utc),
        document_number: t.remote_reference.clone(),
        method: t.payment_method.clone(),
    })
}

/// A product with its variants. Variant attributes pair the product's option names with the
/// variant's `option1..3`; Shopify's placeholder option `Title`/`Default Title` is left out.
pub fn product_to_canonical(system: &str, p: &ShopifyProduct) -> Product {
    let r = |id: u64| ExternalRef {
        system: system.to_string(),
        id: id.to_string(),
    };
    let variants = p
        .variants
        .iter()
        .map(|v| {
            let values = [&v.option1, &v.option2, &v.option3];
            let attributes = p
                .options
                .iter()
                .zip(values)
                .filter_map(|(opt, val)| Some((opt.name.clone(), val.clone()?)))
                .filter(|(n, v)| !(n == "Title" && v == "Default Title"))
                .collect();
            Variant {
                source: r(v.id),
                sku: v.sku.clone().filter(|s| !s.trim().is_empty()),
                name: v.title.clone(),
                attributes,
            }
        })
        .collect();
    let single_sku = match p.variants.as_slice() {
        [only] => only.sku.clone().filter(|s| !s.trim().is_empty()),
        _ => None,
    };
    Product {
        source: r(p.id),
        sku: single_sku,
        name: p.title.clone(),
        description: p.body_html.clone().filter(|s| !s.trim().is_empty()),
        groups: p
            .product_type
            .clone()
            .filter(|s| !s.trim().is_empty())
            .into_iter()
            .collect(),
        unit: None,
        barcodes: p
            .variants
            .iter()
            .filter_map(|v| v.barcode.clone())
            .filter(|b| !b.trim().is_empty())
            .collect(),
        variants,
        deleted: p.status.as_deref() == Some("archived"),
    }
}

/// Each variant's price as a [`PriceEntry`] of price type `price` in the shop currency.
pub fn variant_prices(
    system: &str,
    p: &ShopifyProduct,
    shop_currency: &str,
) -> Result<Vec<PriceEntry>, ConnectorError> {
    let cur = currency(shop_currency, &format!("product {}", p.id))?;
    Ok(p.variants
        .iter()
        .map(|v| PriceEntry {
            item: ExternalRef {
                system: system.to_string(),
                id: v.id.to_string(),
            },
            price_type: "price".to_string(),
            price: Money::new(v.price, cur.clone()),
            unit: None,
        })
        .collect())
}

/// An inventory level as a stock level. The item is the *inventory item* id (not the variant:
/// the caller maps it through the variant's `inventory_item_id`); the warehouse is the location.
pub fn inventory_to_stock(system: &str, l: &InventoryLevel) -> StockLevel {
    StockLevel {
        item: ExternalRef {
            system: system.to_string(),
            id: l.inventory_item_id.to_string(),
        },
        warehouse: Some(l.location_id.to_string()),
        quantity: Decimal::from(l.available.unwrap_or(0)),
    }
}

fn currency(code: &str, what: &str) -> Result<Currency, ConnectorError> {
    Currency::new(code).map_err(|e| {
        ConnectorError::new(
            ErrorKind::Protocol,
            SYSTEM,
            format!("{what}: currency {e}; the shop's currency setting is not an ISO code"),
        )
    })
}

fn utc(t: DateTime<FixedOffset>) -> DateTime<Utc> {
    t.with_timezone(&Utc)
}
