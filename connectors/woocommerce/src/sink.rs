//! Writing back to WooCommerce orders ([`OrderSink`]) and reading their payments.
//!
//! **Read first, write the difference.** [`WooClient::update_order`](OrderSink::update_order)
//! reads the order, works out what differs from the [`OrderChange`], and sends at most one
//! `PUT /orders/<id>` (status, `set_paid`, lines) and one `POST /orders/<id>/notes`. Nothing
//! differing means no write at all, so a retried job or a repeated CRM event costs one read.
//!
//! **Lines** follow WooCommerce's documented update semantics (`PUT` with `line_items`): an entry
//! with an existing item `id` changes that item; an entry without `id` adds an item (by
//! `product_id`, which may also be a variation id, or by `sku`); an item is removed only by
//! naming its `id` with `product_id: null` and `quantity: 0` (leaving it out of the body does
//! nothing). WooCommerce keeps an item's old totals when only its quantity changes
//! (`prepare_line_items` sets totals only on create), so every changed or added line carries
//! explicit `subtotal` = `total` = the wanted line total; the order total is recomputed by
//! WooCommerce (`calculate_totals`) because `line_items` is in the body. A wanted line without a
//! catalog reference (no item, no SKU) matches, by name, an item without a product, else a fee
//! line; an unmatched one is added as a fee line (`fee_lines`; removed ones get `name: null`),
//! which is how [`crate::convert`] reads fees back.
//!
//! **Paid.** WooCommerce sets the status first and then runs `set_paid` only when the order
//! `needs_payment()` (status pending or failed, total > 0): `payment_complete()` makes it
//! `processing` with `date_paid`. So a pending/failed order gets `set_paid: true`; an on-hold
//! one (bank transfer) gets `status: processing`, whose transition sets `date_paid`; a
//! processing/completed target needs nothing more; a cancelled/refunded one is refused. An order
//! that already has `date_paid` is left alone; `paid: Some(false)` cannot be undone in
//! WooCommerce and is ignored.
//!
//! **Notes** are private order notes (`customer_note: false`). A note whose exact text is
//! already on the order is not added again, so a retried job does not duplicate it.

use crate::client::WooClient;
use crate::convert::order_to_canonical;
use crate::wire::{OrderNote, WooOrder, WooRefund};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::model::{ExternalRef, Order, OrderChange, OrderLine, Payment};
use dealbridge_sdk::money::{parse_decimal, round_money};
use dealbridge_sdk::traits::OrderSink;
use dealbridge_sdk::{ConnectorError, Currency, ErrorKind, Money};
use reqwest::Method;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// What [`plan_order_change`] decided to send.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderWritePlan {
    /// The `PUT /orders/<id>` body; `None` when the order needs no update.
    pub update: Option<Value>,
    /// A private note to add; `None` when there is none or it is already on the order.
    pub note: Option<String>,
}

impl OrderWritePlan {
    /// True when nothing has to be written.
    pub fn is_empty(&self) -> bool {
        self.update.is_none() && self.note.is_none()
    }
}

/// Works out the `PUT` body that makes `order` look like `change` (see the module docs), without
/// the note check (which needs the order's notes). Pure, so it is unit-testable.
pub fn plan_order_change(order: &WooOrder, change: &OrderChange) -> Result<Value, ConnectorError> {
    let mut body = Map::new();
    if let Some(status) = change.status.as_deref().map(str::trim) {
        if status.is_empty() {
            return Err(invalid(order.id, "the new status is empty"));
        }
        if status != order.status {
            body.insert("status".into(), json!(status));
        }
    }
    if change.paid == Some(true) && order.date_paid_gmt.is_none() {
        // WooCommerce applies the status first, then `set_paid` only if the order
        // `needs_payment()` (pending or failed, total > 0). Other statuses are paid by the
        // status transition to processing, which sets `date_paid`.
        let explicit = body
            .get("status")
            .and_then(Value::as_str)
            .map(str::to_string);
        let effective = explicit.clone().unwrap_or_else(|| order.status.clone());
        match effective.as_str() {
            "pending" | "failed" if dec(&order.total) > Decimal::ZERO => {
                body.insert("set_paid".into(), json!(true));
            }
            "pending" | "failed" | "on-hold" if explicit.is_none() => {
                body.insert("status".into(), json!("processing"));
            }
            "processing" | "completed" => {}
            other => {
                return Err(invalid(
                    order.id,
                    &format!(
                        "the order cannot be marked paid while its status is `{other}` (WooCommerce pays only pending, failed or on-hold orders); change the status in the mapping"
                    ),
                ))
            }
        }
    }
    if let Some(lines) = &change.lines {
        let (items, fees) = plan_lines(order, lines)?;
        if !items.is_empty() {
            body.insert("line_items".into(), Value::Array(items));
        }
        if !fees.is_empty() {
            body.insert("fee_lines".into(), Value::Array(fees));
        }
    }
    Ok(Value::Object(body))
}

/// The line the change wants, with the total it should have.
fn wanted_total(l: &OrderLine) -> Decimal {
    if l.total.is_zero() && !l.unit_price.is_zero() {
        round_money(l.unit_price * l.quantity, 2)
    } else {
        round_money(l.total, 2)
    }
}

/// Matches wanted lines to the order's items: by catalog id (the variation id when the item
/// is a variation, else the product id: what [`crate::convert`] puts in `item`), then by SKU;
/// lines with neither match fee lines by name. Returns the `line_items` and `fee_lines` update
/// entries (empty when nothing differs).
fn plan_lines(
    order: &WooOrder,
    wanted: &[OrderLine],
) -> Result<(Vec<Value>, Vec<Value>), ConnectorError> {
    let mut items_used = vec![false; order.line_items.len()];
    let mut fees_used = vec![false; order.fee_lines.len()];
    let mut items = Vec::new();
    let mut fees = Vec::new();
    for w in wanted {
        let qty = w.quantity;
        if qty <= Decimal::ZERO || !qty.fract().is_zero() {
            return Err(invalid(
                order.id,
                &format!(
                    "line `{}` has quantity {qty}; WooCommerce line quantities are positive integers",
                    w.name
                ),
            ));
        }
        let total = wanted_total(w);
        let item_id: Option<u64> = w.item.as_ref().and_then(|r| r.id.parse().ok());
        let sku = w.sku.as_deref().map(str::trim).filter(|s| !s.is_empty());
        if item_id.is_none() && sku.is_none() {
            // A line without a catalog reference: an item whose product is gone (or never
            // existed), matched by name, else a fee line, matched by name, else a new fee.
            let orphan = order.line_items.iter().enumerate().find(|(i, li)| {
                !items_used[*i]
                    && li.product_id == 0
                    && li.sku.as_deref().is_none_or(|s| s.trim().is_empty())
                    && li.name.trim() == w.name.trim()
            });
            if let Some((i, li)) = orphan {
                items_used[i] = true;
                if dec(li.quantity.as_str()) != qty || dec(&li.total) != total {
                    items.push(json!({
                        "id": li.id,
                        "quantity": qty_json(qty),
                        "subtotal": money_text(total),
                        "total": money_text(total),
                    }));
                }
                continue;
            }
            let found = order
                .fee_lines
                .iter()
                .enumerate()
                .find(|(i, f)| !fees_used[*i] && f.name.trim() == w.name.trim());
            match found {
                Some((i, f)) => {
                    fees_used[i] = true;
                    if dec(&f.total) != total {
                        fees.push(json!({"id": f.id, "total": money_text(total)}));
                    }
                }
                None => fees.push(json!({"name": w.name, "total": money_text(total)})),
            }
            continue;
        }
        let found = order.line_items.iter().enumerate().find(|(i, li)| {
            if items_used[*i] {
                return false;
            }
            let catalog_id = if li.variation_id != 0 {
                li.variation_id
            } else {
                li.product_id
            };
            match (item_id, sku) {
                (Some(id), _) if catalog_id != 0 => catalog_id == id,
                (_, Some(s)) => li.sku.as_deref().map(str::trim) == Some(s),
                _ => false,
            }
        });
        match found {
            Some((i, li)) => {
                items_used[i] = true;
                let same_qty = dec(li.quantity.as_str()) == qty;
                if !same_qty || dec(&li.total) != total {
                    items.push(json!({
                        "id": li.id,
                        "quantity": qty_json(qty),
                        "subtotal": money_text(total),
                        "total": money_text(total),
                    }));
                }
            }
            None => {
                let mut add = Map::new();
                match (item_id, sku) {
                    (Some(id), _) => add.insert("product_id".into(), json!(id)),
                    (None, Some(s)) => add.insert("sku".into(), json!(s)),
                    (None, None) => None,
                };
                add.insert("quantity".into(), qty_json(qty));
                add.insert("subtotal".into(), json!(money_text(total)));
                add.insert("total".into(), json!(money_text(total)));
                items.push(Value::Object(add));
            }
        }
    }
    for (i, li) in order.line_items.iter().enumerate() {
        if !items_used[i] {
            items.push(json!({"id": li.id, "product_id": null, "quantity": 0}));
        }
    }
    for (i, f) in order.fee_lines.iter().enumerate() {
        if !fees_used[i] {
            fees.push(json!({"id": f.id, "name": null}));
        }
    }
    Ok((items, fees))
}

fn qty_json(q: Decimal) -> Value {
    // Checked to be a whole number above; WooCommerce's schema types it as an integer.
    json!(q.trunc().to_i64().unwrap_or_default())
}

/// Money as WooCommerce writes it: two decimals.
fn money_text(d: Decimal) -> String {
    format!("{:.2}", round_money(d, 2))
}

fn dec(s: &str) -> Decimal {
    if s.trim().is_empty() {
        return Decimal::ZERO;
    }
    parse_decimal(s).unwrap_or_default()
}

fn invalid(order_id: u64, why: &str) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Invalid,
        SYSTEM,
        format!("update order {order_id}: {why}; fix the change (mapping or CRM data) and retry"),
    )
}

fn parse_order_id(id: &str) -> Result<u64, ConnectorError> {
    id.trim().parse().map_err(|_| {
        ConnectorError::new(
            ErrorKind::NotFound,
            SYSTEM,
            format!("order `{id}`: WooCommerce order ids are integers; the binding is wrong"),
        )
    })
}

impl WooClient {
    /// `GET /orders/<id>/notes`: every note of the order, newest first.
    pub async fn list_order_notes(&self, order_id: u64) -> Result<Vec<OrderNote>, ConnectorError> {
        let req = self.request(Method::GET, &format!("orders/{order_id}/notes"))?;
        Ok(self
            .send(&format!("list notes of order {order_id}"), req)
            .await?
            .0)
    }

    /// `POST /orders/<id>/notes`: adds a note; `customer_note` e-mails it to the buyer.
    pub async fn add_order_note(
        &self,
        order_id: u64,
        note: &str,
        customer_note: bool,
    ) -> Result<OrderNote, ConnectorError> {
        let req = self
            .request(Method::POST, &format!("orders/{order_id}/notes"))?
            .json(&json!({"note": note, "customer_note": customer_note}));
        Ok(self
            .send(&format!("add a note to order {order_id}"), req)
            .await?
            .0)
    }

    /// `GET /orders/<id>/refunds`: every refund of the order (all pages), newest first.
    pub async fn list_refunds(&self, order_id: u64) -> Result<Vec<WooRefund>, ConnectorError> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let req = self
                .request(Method::GET, &format!("orders/{order_id}/refunds"))?
                .query(&[("page", page.to_string()), ("per_page", "100".to_string())]);
            let (batch, headers): (Vec<WooRefund>, _) = self
                .send(&format!("list refunds of order {order_id}"), req)
                .await?;
            let pages = crate::client::header_num(&headers, "x-wp-totalpages").unwrap_or(1);
            let empty = batch.is_empty();
            out.extend(batch);
            if empty || u64::from(page) >= pages {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// The payments of an order as canonical [`Payment`]s: one positive payment of the order
    /// total when the order is paid (`date_paid_gmt` set; source id `order:<id>:paid`, method =
    /// the payment method title, document number = the gateway transaction id), and one
    /// negative payment per refund (source id `order:<id>:refund:<refund id>`). Costs one
    /// `GET /orders/<id>` and, when the order lists refunds, one `GET /orders/<id>/refunds`.
    pub async fn payments_of(&self, order_id: &str) -> Result<Vec<Payment>, ConnectorError> {
        let id = parse_order_id(order_id)?;
        let order = self.get_order(id).await?;
        let refunds = if order.refunds.is_empty() {
            Vec::new()
        } else {
            self.list_refunds(id).await?
        };
        payments_from(self.system_name(), &order, &refunds)
    }
}

/// The canonical payments of an order and its refunds (see [`WooClient::payments_of`]).
pub fn payments_from(
    system: &str,
    order: &WooOrder,
    refunds: &[WooRefund],
) -> Result<Vec<Payment>, ConnectorError> {
    let currency = Currency::new(&order.currency).map_err(|e| {
        ConnectorError::new(
            ErrorKind::Protocol,
            SYSTEM,
            format!(
                "order {}: currency {:?} is not an ISO code ({e})",
                order.id, order.currency
            ),
        )
    })?;
    let order_ref = ExternalRef {
        system: system.to_string(),
        id: order.id.to_string(),
    };
    let method = [&order.payment_method_title, &order.payment_method]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .map(str::to_string);
    let amount = |what: &str, text: &str| {
        parse_decimal(text.trim()).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Protocol,
                SYSTEM,
                format!(
                    "order {}: {what} {text:?} is not a decimal number ({e})",
                    order.id
                ),
            )
        })
    };
    let mut out = Vec::new();
    if let Some(paid) = order.date_paid_gmt {
        out.push(Payment {
            source: ExternalRef {
                system: system.to_string(),
                id: format!("order:{}:paid", order.id),
            },
            order: order_ref.clone(),
            amount: Money::new(amount("total", &order.total)?, currency.clone()),
            paid_at: Some(paid.and_utc()),
            document_number: Some(order.transaction_id.trim().to_string())
                .filter(|t| !t.is_empty()),
            method: method.clone(),
        });
    }
    // Oldest refund first, so the list reads in the order the money moved.
    let mut refunds: Vec<&WooRefund> = refunds.iter().collect();
    refunds.sort_by_key(|r| (r.date_created_gmt, r.id));
    for r in refunds {
        out.push(Payment {
            source: ExternalRef {
                system: system.to_string(),
                id: format!("order:{}:refund:{}", order.id, r.id),
            },
            order: order_ref.clone(),
            amount: Money::new(
                -amount(&format!("refund {} amount", r.id), &r.amount)?.abs(),
                currency.clone(),
            ),
            paid_at: r.date_created_gmt.map(|t| t.and_utc()),
            document_number: None,
            method: method.clone(),
        });
    }
    Ok(out)
}

#[async_trait]
impl OrderSink for WooClient {
    /// Reads the order, then writes only what differs: at most one `PUT /orders/<id>` and one
    /// `POST /orders/<id>/notes` (see the module docs). Returns the order as the shop now has it.
    async fn update_order(&self, id: &str, change: &OrderChange) -> Result<Order, ConnectorError> {
        let numeric = parse_order_id(id)?;
        let current = self.get_order(numeric).await?;
        let body = plan_order_change(&current, change)?;
        let note = match change.note.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => {
                let existing = self.list_order_notes(numeric).await?;
                (!existing
                    .iter()
                    .any(|x| !x.customer_note && x.note.trim() == n))
                .then(|| n.to_string())
            }
            _ => None,
        };
        let updated = if body.as_object().is_some_and(|m| !m.is_empty()) {
            WooClient::update_order(self, numeric, &body).await?
        } else {
            current
        };
        if let Some(n) = note {
            self.add_order_note(numeric, &n, false).await?;
        }
        order_to_canonical(self.system_name(), &updated)
    }
}

#[async_trait]
impl dealbridge_sdk::traits::PaymentSource for WooClient {
    async fn payments_of(&self, order_id: &str) -> Result<Vec<Payment>, ConnectorError> {
        WooClient::payments_of(self, order_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{LineItem, Num};

    fn order() -> WooOrder {
        let mut o: WooOrder = serde_json::from_value(json!({
            "id": 7, "status": "pending", "currency": "RUB",
            "date_created": "2024-01-01T10:00:00", "date_created_gmt": "2024-01-01T07:00:00",
            "date_modified": "2024-01-01T10:00:00", "date_modified_gmt": "2024-01-01T07:00:00",
            "total": "300.00"
        }))
        .unwrap();
        o.line_items = vec![
            LineItem {
                id: 1,
                product_id: 11,
                quantity: Num("1".into()),
                total: "100.00".into(),
                sku: Some("A".into()),
                ..LineItem::default()
            },
            LineItem {
                id: 2,
                product_id: 18,
                variation_id: 31,
                quantity: Num("2".into()),
                total: "200.00".into(),
                sku: Some("B".into()),
                ..LineItem::default()
            },
        ];
        o
    }

    fn line(id: Option<&str>, sku: Option<&str>, qty: i64, total: i64) -> OrderLine {
        OrderLine {
            item: id.map(|i| ExternalRef {
                system: "shop".into(),
                id: i.into(),
            }),
            sku: sku.map(str::to_string),
            name: "x".into(),
            quantity: Decimal::from(qty),
            unit_price: Decimal::ZERO,
            total: Decimal::from(total),
            tax: Decimal::ZERO,
        }
    }

    #[test]
    fn same_lines_plan_nothing() {
        let change = OrderChange {
            lines: Some(vec![
                line(Some("11"), None, 1, 100),
                line(Some("31"), None, 2, 200),
            ]),
            status: Some("pending".into()),
            ..OrderChange::default()
        };
        assert_eq!(plan_order_change(&order(), &change).unwrap(), json!({}));
    }

    #[test]
    fn lines_are_updated_removed_and_added_in_one_body() {
        let change = OrderChange {
            lines: Some(vec![
                line(Some("31"), None, 3, 300),
                line(None, Some("C"), 1, 50),
            ]),
            paid: Some(true),
            ..OrderChange::default()
        };
        let body = plan_order_change(&order(), &change).unwrap();
        assert_eq!(
            body,
            json!({
                "set_paid": true,
                "line_items": [
                    {"id": 2, "quantity": 3, "subtotal": "300.00", "total": "300.00"},
                    {"sku": "C", "quantity": 1, "subtotal": "50.00", "total": "50.00"},
                    {"id": 1, "product_id": null, "quantity": 0}
                ]
            })
        );
    }

    #[test]
    fn a_line_without_product_matches_by_name() {
        let mut o = order();
        o.line_items.push(LineItem {
            id: 3,
            name: "Сборка".into(),
            quantity: Num("1".into()),
            total: "500.00".into(),
            ..LineItem::default()
        });
        let mut custom = line(None, None, 1, 500);
        custom.name = "Сборка".into();
        let change = OrderChange {
            lines: Some(vec![
                line(Some("11"), None, 1, 100),
                line(Some("31"), None, 2, 200),
                custom,
            ]),
            ..OrderChange::default()
        };
        assert_eq!(plan_order_change(&o, &change).unwrap(), json!({}));
    }

    #[test]
    fn paid_follows_needs_payment() {
        let paid = OrderChange {
            paid: Some(true),
            ..OrderChange::default()
        };
        let mut o = order();
        o.status = "on-hold".into();
        assert_eq!(
            plan_order_change(&o, &paid).unwrap(),
            json!({"status": "processing"})
        );
        let both = OrderChange {
            status: Some("completed".into()),
            ..paid.clone()
        };
        assert_eq!(
            plan_order_change(&o, &both).unwrap(),
            json!({"status": "completed"})
        );
        o.status = "cancelled".into();
        assert_eq!(
            plan_order_change(&o, &paid).unwrap_err().kind,
            ErrorKind::Invalid
        );
        o.date_paid_gmt = Some(o.date_created_gmt);
        assert_eq!(plan_order_change(&o, &paid).unwrap(), json!({}));
    }

    #[test]
    fn fractional_quantity_is_refused() {
        let mut l = line(Some("11"), None, 1, 100);
        l.quantity = Decimal::new(15, 1);
        let change = OrderChange {
            lines: Some(vec![l]),
            ..OrderChange::default()
        };
        let e = plan_order_change(&order(), &change).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert!(e.message.contains("order 7"), "{}", e.message);
    }
}
