//! Order editing in the emulated shop: the state behind the GraphQL `orderEdit*` mutations.
//!
//! `orderEditBegin` opens a *calculated order*: a copy of the order's line items (their
//! current quantities) on which changes are staged. `orderEditSetQuantity`,
//! `orderEditAddVariant` and `orderEditAddCustomItem` change only the copy; `orderEditCommit`
//! applies it to the order: existing line items get `current_quantity` and
//! `fulfillable_quantity` (`quantity` stays as ordered, as in Shopify), staged new lines become
//! line items, the `current_*` totals are recomputed, the financial status follows the new
//! total, and `updated_at` moves. A session that is never committed leaves the order as it was.
//!
//! **Ids.** A calculated line item of an existing line has the line item's numeric id
//! (`gid://shopify/CalculatedLineItem/<line item id>`); added ones and calculated orders take
//! ids from the shop's sequence. Shopify's own numbering is UNCONFIRMED; clients must use the
//! ids they are given, which is all this emulator promises.
//!
//! **Simplifications.** No fulfilments, so every unit is editable; stock is not moved by
//! `restock` or by added variants (order creation does not move it either); a committed
//! session cannot be reused. The userError texts are the emulator's own (Shopify's exact
//! wording is UNCONFIRMED); their `field` paths name the argument, as Shopify's do.

use super::store::{bag, Store};
use crate::wire::{LineItem, ShopifyOrder};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// One line of a calculated order.
#[derive(Debug, Clone, PartialEq)]
pub struct CalculatedLine {
    /// Calculated line item id.
    pub id: u64,
    /// The order's line item this stands for; `None` for a line added in this session.
    pub line_item_id: Option<u64>,
    /// Product, for catalog lines.
    pub product_id: Option<u64>,
    /// Variant, for catalog lines; `None` for custom items.
    pub variant_id: Option<u64>,
    /// Product (or custom item) title.
    pub title: String,
    /// Variant title.
    pub variant_title: Option<String>,
    /// SKU.
    pub sku: Option<String>,
    /// Unit price.
    pub price: Decimal,
    /// Quantity with the staged changes.
    pub quantity: i64,
    /// Quantity when the session began (0 for added lines).
    pub quantity_before: i64,
    /// Whether the line is taxed.
    pub taxable: bool,
    /// Whether it needs shipping.
    pub requires_shipping: bool,
    /// Whether removed units go back to stock.
    pub restock: bool,
}

/// An order-edit session.
#[derive(Debug, Clone, PartialEq)]
pub struct CalculatedOrder {
    /// Calculated order id.
    pub id: u64,
    /// The order being edited.
    pub order_id: u64,
    /// Existing lines first (in the order's order), then added ones.
    pub lines: Vec<CalculatedLine>,
    /// Whether `orderEditCommit` has applied it.
    pub committed: bool,
    /// The commit's `staffNote`.
    pub staff_note: Option<String>,
    /// The commit's `notifyCustomer`, once committed.
    pub notify_customer: Option<bool>,
}

/// A GraphQL `UserError`: the argument path and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// Argument path, e.g. `["quantity"]`.
    pub field: Vec<String>,
    /// What is wrong.
    pub message: String,
}

fn user_error(field: &str, message: impl Into<String>) -> UserError {
    UserError {
        field: vec![field.to_string()],
        message: message.into(),
    }
}

/// `gid://shopify/<kind>/<id>`.
pub fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// The numeric id of `gid://shopify/<kind>/<id>` (a bare number is accepted too).
pub fn parse_gid(kind: &str, value: &str) -> Option<u64> {
    let v = value.trim();
    v.strip_prefix("gid://shopify/")
        .and_then(|rest| rest.strip_prefix(kind))
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(v)
        .parse()
        .ok()
}

impl Store {
    /// `orderEditBegin`: a session over the order's lines as they are now.
    pub fn begin_edit(&mut self, order_id: u64) -> Result<u64, UserError> {
        let Some(order) = self.orders.get(&order_id) else {
            return Err(user_error("id", "The order does not exist"));
        };
        if order.cancelled_at.is_some() {
            return Err(user_error("id", "A cancelled order cannot be edited"));
        }
        let lines = order
            .line_items
            .iter()
            .map(|li| {
                let q = li.current_quantity.unwrap_or(li.quantity);
                CalculatedLine {
                    id: li.id,
                    line_item_id: Some(li.id),
                    product_id: li.product_id,
                    variant_id: li.variant_id,
                    title: li.title.clone(),
                    variant_title: li.variant_title.clone(),
                    sku: li.sku.clone(),
                    price: li.price,
                    quantity: q,
                    quantity_before: q,
                    taxable: li.taxable,
                    requires_shipping: li.requires_shipping,
                    restock: false,
                }
            })
            .collect();
        let id = self.id();
        self.edits.insert(
            id,
            CalculatedOrder {
                id,
                order_id,
                lines,
                committed: false,
                staff_note: None,
                notify_customer: None,
            },
        );
        Ok(id)
    }

    fn open_edit(&mut self, calc: u64) -> Result<&mut CalculatedOrder, UserError> {
        match self.edits.get_mut(&calc) {
            None => Err(user_error("id", "The calculated order does not exist")),
            Some(c) if c.committed => Err(user_error(
                "id",
                "The calculated order has already been committed",
            )),
            Some(c) => Ok(c),
        }
    }

    /// `orderEditSetQuantity`: stages a new quantity (0 removes). Returns the line id.
    pub fn edit_set_quantity(
        &mut self,
        calc: u64,
        line: u64,
        quantity: i64,
        restock: bool,
    ) -> Result<u64, UserError> {
        let c = self.open_edit(calc)?;
        if quantity < 0 {
            return Err(user_error("quantity", "Quantity cannot be negative"));
        }
        let Some(l) = c.lines.iter_mut().find(|l| l.id == line) else {
            return Err(user_error(
                "lineItemId",
                "The line item does not exist on the calculated order",
            ));
        };
        l.quantity = quantity;
        l.restock = restock && quantity < l.quantity_before;
        Ok(l.id)
    }

    /// `orderEditAddVariant`: stages a catalog line at the variant's price. A variant already
    /// on the order is refused unless `allow_duplicates`, as in Shopify.
    pub fn edit_add_variant(
        &mut self,
        calc: u64,
        variant: u64,
        quantity: i64,
        allow_duplicates: bool,
    ) -> Result<u64, UserError> {
        self.open_edit(calc)?;
        if quantity <= 0 {
            return Err(user_error("quantity", "Quantity must be greater than 0"));
        }
        let Some(v) = self.find_variant(variant).cloned() else {
            return Err(user_error(
                "variantId",
                format!("The variant {variant} does not exist"),
            ));
        };
        let product = v.product_id.and_then(|p| self.products.get(&p)).cloned();
        let id = self.id();
        let c = self.open_edit(calc)?;
        if !allow_duplicates
            && c.lines
                .iter()
                .any(|l| l.variant_id == Some(variant) && l.quantity > 0)
        {
            return Err(user_error(
                "variantId",
                "The variant is already on the order; set its quantity instead",
            ));
        }
        c.lines.push(CalculatedLine {
            id,
            line_item_id: None,
            product_id: v.product_id,
            variant_id: Some(v.id),
            title: product.map(|p| p.title).unwrap_or_else(|| v.title.clone()),
            variant_title: Some(v.title.clone()),
            sku: v.sku.clone(),
            price: v.price,
            quantity,
            quantity_before: 0,
            taxable: v.taxable,
            requires_shipping: v.requires_shipping,
            restock: false,
        });
        Ok(id)
    }

    /// `orderEditAddCustomItem`: stages a line that is not in the catalog. The price must be
    /// in the order's currency.
    #[allow(clippy::too_many_arguments)]
    pub fn edit_add_custom(
        &mut self,
        calc: u64,
        title: &str,
        price: Decimal,
        currency: &str,
        quantity: i64,
        taxable: bool,
        requires_shipping: bool,
    ) -> Result<u64, UserError> {
        let order_id = self.open_edit(calc)?.order_id;
        if title.trim().is_empty() {
            return Err(user_error("title", "Title can't be blank"));
        }
        if price < Decimal::ZERO {
            return Err(user_error("price", "Price can't be negative"));
        }
        if quantity <= 0 {
            return Err(user_error("quantity", "Quantity must be greater than 0"));
        }
        let order_currency = self
            .orders
            .get(&order_id)
            .map(|o| o.currency.clone())
            .unwrap_or_default();
        if !currency.eq_ignore_ascii_case(&order_currency) {
            return Err(user_error(
                "price",
                format!("The currency {currency} is not the order's currency {order_currency}"),
            ));
        }
        let id = self.id();
        let c = self.open_edit(calc)?;
        c.lines.push(CalculatedLine {
            id,
            line_item_id: None,
            product_id: None,
            variant_id: None,
            title: title.trim().to_string(),
            variant_title: None,
            sku: None,
            price,
            quantity,
            quantity_before: 0,
            taxable,
            requires_shipping,
            restock: false,
        });
        Ok(id)
    }

    /// `orderEditCommit`: applies the session to the order (see the module docs) and returns
    /// the order as REST renders it now.
    pub fn commit_edit(
        &mut self,
        calc: u64,
        notify_customer: bool,
        staff_note: Option<String>,
    ) -> Result<ShopifyOrder, UserError> {
        let c = self.open_edit(calc)?.clone();
        if !self.orders.contains_key(&c.order_id) {
            return Err(user_error("id", "The order does not exist"));
        }
        let cur = self.orders[&c.order_id].currency.clone();
        let mut added = Vec::new();
        for l in c.lines.iter().filter(|l| l.line_item_id.is_none()) {
            if l.quantity <= 0 {
                continue;
            }
            let gross = l.price * Decimal::from(l.quantity);
            let tax = if l.taxable {
                self.tax_of(gross)
            } else {
                Decimal::ZERO
            };
            let tax_lines = self.tax_lines(tax);
            let id = self.id();
            added.push(LineItem {
                id,
                product_id: l.product_id,
                variant_id: l.variant_id,
                title: l.title.clone(),
                variant_title: l.variant_title.clone(),
                name: Some(match &l.variant_title {
                    Some(vt) if !vt.is_empty() && vt != "Default Title" => {
                        format!("{} - {vt}", l.title)
                    }
                    _ => l.title.clone(),
                }),
                sku: l.sku.clone(),
                vendor: None,
                quantity: l.quantity,
                current_quantity: Some(l.quantity),
                fulfillable_quantity: Some(l.quantity),
                price: l.price,
                price_set: bag(l.price, &cur),
                total_discount: Some(Decimal::ZERO),
                total_discount_set: bag(Decimal::ZERO, &cur),
                discount_allocations: Vec::new(),
                tax_lines,
                taxable: l.taxable,
                requires_shipping: l.requires_shipping,
                grams: Some(0),
                gift_card: false,
                fulfillment_status: None,
                properties: Vec::new(),
            });
        }
        let now = self.now();
        let mut order = self.orders[&c.order_id].clone();
        for l in c.lines.iter().filter(|l| l.line_item_id.is_some()) {
            if let Some(li) = order
                .line_items
                .iter_mut()
                .find(|li| Some(li.id) == l.line_item_id)
            {
                li.current_quantity = Some(l.quantity);
                li.fulfillable_quantity = Some(l.quantity);
            }
        }
        order.line_items.extend(added);
        self.recompute_current_totals(&mut order);
        order.updated_at = now;
        self.orders.insert(c.order_id, order);
        if self.transactions.contains_key(&c.order_id) {
            // The total moved: the financial status follows it (paid → partially_paid).
            self.settle(c.order_id);
        }
        if let Some(e) = self.edits.get_mut(&calc) {
            e.committed = true;
            e.staff_note = staff_note;
            e.notify_customer = Some(notify_customer);
        }
        Ok(self.orders[&c.order_id].clone())
    }

    /// The calculated order as the GraphQL API renders it (`CalculatedOrder`): every field
    /// the connector selects, whatever the query selected (the emulator does not trim to the
    /// selection set).
    pub fn calculated_json(&self, calc: u64) -> Value {
        let Some(c) = self.edits.get(&calc) else {
            return Value::Null;
        };
        let cur = self
            .orders
            .get(&c.order_id)
            .map(|o| o.currency.clone())
            .unwrap_or_default();
        let money = |d: Decimal| {
            let m = json!({"amount": d.to_string(), "currencyCode": cur});
            json!({"shopMoney": m, "presentmentMoney": m})
        };
        let node = |l: &CalculatedLine| {
            json!({
                "id": gid("CalculatedLineItem", l.id),
                "quantity": l.quantity,
                "editableQuantity": l.quantity,
                "editableQuantityBeforeChanges": l.quantity_before,
                "title": l.title,
                "variantTitle": l.variant_title,
                "sku": l.sku,
                "restocking": l.restock,
                "variant": l.variant_id.map(|v| json!({"id": gid("ProductVariant", v)})),
                "originalUnitPriceSet": money(l.price),
            })
        };
        let existing: Vec<Value> = c
            .lines
            .iter()
            .filter(|l| l.line_item_id.is_some())
            .map(node)
            .collect();
        let added: Vec<Value> = c
            .lines
            .iter()
            .filter(|l| l.line_item_id.is_none() && l.quantity > 0)
            .map(node)
            .collect();
        let subtotal: Decimal = c
            .lines
            .iter()
            .map(|l| l.price * Decimal::from(l.quantity))
            .sum();
        json!({
            "id": gid("CalculatedOrder", c.id),
            "originalOrder": {"id": gid("Order", c.order_id)},
            "committed": c.committed,
            "lineItems": {"nodes": existing},
            "addedLineItems": {"nodes": added},
            "subtotalLineItemsQuantity": c.lines.iter().map(|l| l.quantity).sum::<i64>(),
            "subtotalPriceSet": money(subtotal),
        })
    }

    /// One calculated line as `CalculatedLineItem`.
    pub fn calculated_line_json(&self, calc: u64, line: u64) -> Value {
        let Value::Object(c) = self.calculated_json(calc) else {
            return Value::Null;
        };
        let id = gid("CalculatedLineItem", line);
        ["lineItems", "addedLineItems"]
            .iter()
            .filter_map(|k| c.get(*k)?.get("nodes")?.as_array())
            .flatten()
            .find(|n| n["id"] == id)
            .cloned()
            .or_else(|| {
                // A staged line set to 0 is not among the added nodes; render it anyway.
                let l = self.edits.get(&calc)?.lines.iter().find(|l| l.id == line)?;
                Some(json!({"id": id, "quantity": l.quantity}))
            })
            .unwrap_or(Value::Null)
    }
}
