//! WooCommerce order JSON → the canonical [`Order`].
//!
//! Every amount is parsed from WooCommerce's decimal strings into `Decimal`; a malformed one is a
//! [`ErrorKind::Protocol`] error naming the order and the field, so one broken order does not
//! hide behind a generic parse failure. Times come from the `*_gmt` fields only: the plain ones
//! are in the shop's local time without an offset.

use crate::wire::{LineItem, WooOrder};
use crate::SYSTEM;
use chrono::{DateTime, NaiveDateTime, Utc};
use dealbridge_sdk::model::{Contact, ExternalRef, Order, OrderLine};
use dealbridge_sdk::money::{parse_decimal, round_money};
use dealbridge_sdk::{ConnectorError, Currency, ErrorKind};
use rust_decimal::Decimal;

/// Order meta keys (WooCommerce ≥ 8.5 order attribution) that name where the buyer came from,
/// most specific first.
const ATTRIBUTION_KEYS: [&str; 2] = [
    "_wc_order_attribution_utm_source",
    "_wc_order_attribution_source_type",
];

/// Converts one WooCommerce order. `system` is the configured system name (`shop`), written
/// into every [`ExternalRef`].
pub fn order_to_canonical(system: &str, o: &WooOrder) -> Result<Order, ConnectorError> {
    let money = |field: &str, text: &str| amount(o.id, field, text);
    let currency = Currency::new(&o.currency).map_err(|e| {
        protocol(
            o.id,
            &format!("currency: {e}; the shop's currency setting is not an ISO code"),
        )
    })?;

    let mut lines = Vec::with_capacity(o.line_items.len() + o.fee_lines.len());
    for (i, li) in o.line_items.iter().enumerate() {
        lines.push(line_item(system, o.id, i, li)?);
    }
    for (i, fee) in o.fee_lines.iter().enumerate() {
        let total = money(&format!("fee_lines[{i}].total"), &fee.total)?;
        lines.push(OrderLine {
            item: None,
            sku: None,
            name: fee.name.clone(),
            quantity: Decimal::ONE,
            unit_price: total,
            total,
            tax: money(&format!("fee_lines[{i}].total_tax"), &fee.total_tax)?,
        });
    }

    Ok(Order {
        source: ExternalRef {
            system: system.to_string(),
            id: o.id.to_string(),
        },
        number: if o.number.is_empty() {
            o.id.to_string()
        } else {
            o.number.clone()
        },
        status: o.status.clone(),
        currency,
        created_at: utc(o.date_created_gmt),
        modified_at: utc(o.date_modified_gmt),
        customer: customer(system, o),
        lines,
        discount_total: money("discount_total", &o.discount_total)?,
        shipping_total: money("shipping_total", &o.shipping_total)?,
        tax_total: money("total_tax", &o.total_tax)?,
        total: money("total", &o.total)?,
        paid_at: o.date_paid_gmt.map(utc),
        payment_method: non_empty(&o.payment_method_title).or_else(|| non_empty(&o.payment_method)),
        source_channel: source_channel(o),
        note: non_empty(&o.customer_note),
    })
}

/// One product line. The unit price is the line total (after discounts, tax excluded) divided
/// by the quantity, rounded half away from zero to 2 places: WooCommerce's own `price` field is
/// the same division done in PHP floats, so we recompute it exactly instead of trusting it.
fn line_item(
    system: &str,
    order_id: u64,
    i: usize,
    li: &LineItem,
) -> Result<OrderLine, ConnectorError> {
    let quantity = amount(
        order_id,
        &format!("line_items[{i}].quantity"),
        li.quantity.as_str(),
    )?;
    let total = amount(order_id, &format!("line_items[{i}].total"), &li.total)?;
    let tax = amount(
        order_id,
        &format!("line_items[{i}].total_tax"),
        &li.total_tax,
    )?;
    let unit_price = if quantity.is_zero() {
        Decimal::ZERO
    } else {
        round_money(total / quantity, 2)
    };
    let item = (li.product_id != 0).then(|| ExternalRef {
        system: system.to_string(),
        id: if li.variation_id != 0 {
            li.variation_id
        } else {
            li.product_id
        }
        .to_string(),
    });
    Ok(OrderLine {
        item,
        sku: li.sku.as_deref().and_then(non_empty),
        name: li.name.clone(),
        quantity,
        unit_price,
        total,
        tax,
    })
}

/// The buyer, from the billing block. Guests (`customer_id == 0`) have no source record.
fn customer(system: &str, o: &WooOrder) -> Contact {
    let b = &o.billing;
    Contact {
        source: (o.customer_id != 0).then(|| ExternalRef {
            system: system.to_string(),
            id: o.customer_id.to_string(),
        }),
        first_name: b.first_name.trim().to_string(),
        last_name: b.last_name.trim().to_string(),
        company: non_empty(&b.company),
        email: non_empty(&b.email).map(|e| e.to_lowercase()),
        phone: non_empty(&b.phone),
    }
}

/// Where the order came from: the order-attribution meta when present (UTM source, else the
/// source type such as `organic`), otherwise `created_via` (`checkout`, `admin`, `rest-api`).
fn source_channel(o: &WooOrder) -> Option<String> {
    for key in ATTRIBUTION_KEYS {
        let found = o
            .meta_data
            .iter()
            .find(|m| m.key == key)
            .and_then(|m| m.value.as_str())
            .and_then(non_empty);
        if found.is_some() {
            return found;
        }
    }
    non_empty(&o.created_via)
}

/// Parses one money/quantity field. WooCommerce writes `""` for amounts that were never set on
/// some old orders; that is zero, not an error.
fn amount(order_id: u64, field: &str, text: &str) -> Result<Decimal, ConnectorError> {
    if text.trim().is_empty() {
        return Ok(Decimal::ZERO);
    }
    parse_decimal(text).map_err(|e| {
        protocol(
            order_id,
            &format!("field `{field}` = {text:?} is not a decimal number ({e})"),
        )
    })
}

fn protocol(order_id: u64, what: &str) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Protocol,
        SYSTEM,
        format!("order {order_id}: {what}; the order cannot be converted until the shop sends a valid value"),
    )
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}
