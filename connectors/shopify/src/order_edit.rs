//! Editing an order's lines through Shopify's GraphQL order editing.
//!
//! REST cannot change the lines of an existing order; GraphQL order editing can:
//! `orderEditBegin(id: "gid://shopify/Order/<id>")` opens a *calculated order* listing the
//! order's calculated line items; `orderEditSetQuantity` (0 removes; `restock: true` puts
//! removed units back), `orderEditAddVariant` and `orderEditAddCustomItem` stage changes on it;
//! `orderEditCommit(notifyCustomer: false, staffNote: …)` applies them. Nothing is applied
//! before the commit, so a refused step (its `userErrors`) leaves the order untouched: the
//! session is simply never committed.
//!
//! **Plan first.** The wanted lines are matched to the order's current REST lines first
//! ([`plan_line_edit`]); when nothing differs no session is begun at all (zero GraphQL calls), so
//! a repeated CRM event costs nothing. Otherwise the same matching runs on the calculated line
//! items `orderEditBegin` returns (their ids are what the mutations take), and each step is one
//! mutation: an edit costs begin + one call per changed line + commit.
//!
//! **Matching** (each order line used once): by variant id (the wanted line's `item`, when it is
//! a reference in this system: an id from another system is no Shopify variant), then by SKU,
//! then by title (`Product - Variant` or the product title, case-insensitive). A matched line
//! whose quantity differs gets `orderEditSetQuantity`; an order line nobody wants is set to 0;
//! a wanted line without a match is added: `orderEditAddVariant` for its variant (from `item`,
//! or found by SKU in the REST catalog, [`ShopifyClient::list_all_products`], read once per
//! edit and only when needed), else `orderEditAddCustomItem` with its name and unit price
//! (MoneyInput in the order's currency, `taxable: false` because a free-text row's price
//! already includes tax, `requiresShipping: false`).
//!
//! **What order editing cannot do.** It changes quantities and adds lines; the price of a line
//! already on the order cannot be changed (only discounted, `orderEditAddLineItemDiscount`,
//! not used here), and an added variant takes its catalog price. Such price differences are
//! left alone: the order read back afterwards shows the prices Shopify charges. Quantities are whole numbers in Shopify; a fractional or negative wanted
//! quantity is refused ([`ErrorKind::Invalid`]) before anything is sent.
//!
//! UNCONFIRMED: that `CalculatedOrder.lineItems` lists removed (quantity 0) lines too (the
//! matcher works either way); that a closed (archived) order can be edited; and the currency a
//! custom item's price must be in for multi-currency orders (the shop currency is sent).

use crate::client::ShopifyClient;
use crate::graphql::{check_user_errors, UserError};
use crate::wire::{LineItem, ShopifyOrder};
use crate::SYSTEM;
use dealbridge_sdk::model::OrderLine;
use dealbridge_sdk::money::round_money;
use dealbridge_sdk::{ConnectorError, ErrorKind};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The staff note every commit carries, so the order's timeline says where the edit came from.
pub const STAFF_NOTE: &str = "dealbridge: edited from the CRM";

const BEGIN: &str = "mutation orderEditBegin($id: ID!) {
  orderEditBegin(id: $id) {
    calculatedOrder {
      id
      lineItems(first: 250) { nodes { id quantity sku title variantTitle variant { id } } }
    }
    userErrors { field message }
  }
}";

const SET_QUANTITY: &str = "mutation orderEditSetQuantity($id: ID!, $lineItemId: ID!, $quantity: Int!, $restock: Boolean) {
  orderEditSetQuantity(id: $id, lineItemId: $lineItemId, quantity: $quantity, restock: $restock) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}";

const ADD_VARIANT: &str = "mutation orderEditAddVariant($id: ID!, $variantId: ID!, $quantity: Int!, $allowDuplicates: Boolean) {
  orderEditAddVariant(id: $id, variantId: $variantId, quantity: $quantity, allowDuplicates: $allowDuplicates) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}";

const ADD_CUSTOM: &str = "mutation orderEditAddCustomItem($id: ID!, $title: String!, $price: MoneyInput!, $quantity: Int!, $taxable: Boolean, $requiresShipping: Boolean) {
  orderEditAddCustomItem(id: $id, title: $title, price: $price, quantity: $quantity, taxable: $taxable, requiresShipping: $requiresShipping) {
    calculatedLineItem { id quantity }
    userErrors { field message }
  }
}";

const COMMIT: &str =
    "mutation orderEditCommit($id: ID!, $notifyCustomer: Boolean, $staffNote: String) {
  orderEditCommit(id: $id, notifyCustomer: $notifyCustomer, staffNote: $staffNote) {
    order { id }
    userErrors { field message }
  }
}";

/// A line of the order as editing sees it: a REST line item (for planning) or a calculated
/// line item (for the mutations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditableLine {
    /// The id the mutations take (`gid://shopify/CalculatedLineItem/…`), or the REST line
    /// item id while planning.
    pub id: String,
    /// Variant id, for catalog lines.
    pub variant_id: Option<u64>,
    /// SKU, if any.
    pub sku: Option<String>,
    /// Product (or custom item) title.
    pub title: String,
    /// `Product - Variant`, as order lines are named.
    pub name: String,
    /// Quantity now.
    pub quantity: i64,
}

impl EditableLine {
    /// A REST line item, at its current quantity.
    pub fn from_line_item(li: &LineItem) -> Self {
        EditableLine {
            id: li.id.to_string(),
            variant_id: li.variant_id,
            sku: li.sku.clone().filter(|s| !s.trim().is_empty()),
            title: li.title.clone(),
            name: li.name.clone().unwrap_or_else(|| li.title.clone()),
            quantity: crate::convert::current_quantity(li),
        }
    }
}

/// One mutation of an edit.
#[derive(Debug, Clone, PartialEq)]
pub enum EditStep {
    /// `orderEditSetQuantity` (0 removes the line).
    SetQuantity {
        /// [`EditableLine::id`].
        line: String,
        /// The line's name, for messages.
        name: String,
        /// New quantity.
        quantity: i64,
    },
    /// `orderEditAddVariant`.
    AddVariant {
        /// Variant id.
        variant_id: u64,
        /// The wanted line's name, for messages.
        name: String,
        /// Quantity.
        quantity: i64,
    },
    /// A line known only by SKU: `orderEditAddVariant` once the catalog names its variant,
    /// else `orderEditAddCustomItem`.
    AddBySku {
        /// SKU.
        sku: String,
        /// Name, for a custom item and messages.
        name: String,
        /// Unit price, for a custom item.
        price: Decimal,
        /// Quantity.
        quantity: i64,
    },
    /// `orderEditAddCustomItem`.
    AddCustom {
        /// Title.
        title: String,
        /// Unit price (tax included, since the item is added untaxed).
        price: Decimal,
        /// Quantity.
        quantity: i64,
    },
}

fn invalid(order_id: u64, why: String) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Invalid,
        SYSTEM,
        format!("edit order {order_id}: {why}"),
    )
}

fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    !a.is_empty() && a.to_lowercase() == b.to_lowercase()
}

/// A wanted quantity as Shopify's integer; fractional or negative ones are refused.
fn whole(order_id: u64, w: &OrderLine) -> Result<i64, ConnectorError> {
    let q = w.quantity.normalize();
    match q.to_i64() {
        Some(n) if q.fract().is_zero() && n >= 0 && n <= i64::from(i32::MAX) => Ok(n),
        _ => Err(invalid(
            order_id,
            format!(
                "line `{}` has quantity {}; Shopify order quantities are whole numbers from 0 up; fix the row in the CRM deal",
                w.name, w.quantity
            ),
        )),
    }
}

/// The unit price a custom item gets: the wanted unit price, else total ÷ quantity, in cents.
fn unit_price(w: &OrderLine, quantity: i64) -> Decimal {
    let p = if w.unit_price.is_zero() && !w.total.is_zero() && quantity > 0 {
        w.total / Decimal::from(quantity)
    } else {
        w.unit_price
    };
    round_money(p, 2)
}

/// Works out the mutations that turn `current` into `wanted` (see the module docs); empty when
/// nothing differs. `system` is the configured system name: only `item` references of this
/// system are taken as variant ids. Pure, so the matching is unit-testable.
pub fn plan_line_edit(
    order_id: u64,
    system: &str,
    current: &[EditableLine],
    wanted: &[OrderLine],
) -> Result<Vec<EditStep>, ConnectorError> {
    let quantities = wanted
        .iter()
        .map(|w| whole(order_id, w))
        .collect::<Result<Vec<_>, _>>()?;
    let variant_of = |w: &OrderLine| -> Option<u64> {
        w.item
            .as_ref()
            .filter(|r| r.system == system)
            .and_then(|r| r.id.trim().parse().ok())
    };
    let sku_of = |w: &OrderLine| {
        w.sku
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut used = vec![false; current.len()];
    let mut matched: Vec<Option<usize>> = vec![None; wanted.len()];
    // Three passes, strongest key first; within a pass a live line beats a removed one.
    for pass in 0..3 {
        for (wi, w) in wanted.iter().enumerate() {
            if matched[wi].is_some() {
                continue;
            }
            let hit = |c: &EditableLine| match pass {
                0 => variant_of(w).is_some() && c.variant_id == variant_of(w),
                1 => sku_of(w).is_some() && c.sku.as_deref().map(str::trim) == sku_of(w).as_deref(),
                _ => same_text(&w.name, &c.name) || same_text(&w.name, &c.title),
            };
            let found = (0..current.len())
                .filter(|&ci| !used[ci] && hit(&current[ci]))
                .max_by_key(|&ci| (current[ci].quantity > 0, std::cmp::Reverse(ci)));
            if let Some(ci) = found {
                used[ci] = true;
                matched[wi] = Some(ci);
            }
        }
    }
    let mut steps = Vec::new();
    let mut set: Vec<(usize, i64)> = Vec::new();
    for (wi, m) in matched.iter().enumerate() {
        if let Some(ci) = m {
            if current[*ci].quantity != quantities[wi] {
                set.push((*ci, quantities[wi]));
            }
        }
    }
    for (ci, c) in current.iter().enumerate() {
        if !used[ci] && c.quantity > 0 {
            set.push((ci, 0));
        }
    }
    set.sort_by_key(|(ci, _)| *ci);
    for (ci, quantity) in set {
        steps.push(EditStep::SetQuantity {
            line: current[ci].id.clone(),
            name: current[ci].name.clone(),
            quantity,
        });
    }
    for (wi, w) in wanted.iter().enumerate() {
        let quantity = quantities[wi];
        if matched[wi].is_some() || quantity == 0 {
            continue;
        }
        steps.push(match (variant_of(w), sku_of(w)) {
            (Some(variant_id), _) => EditStep::AddVariant {
                variant_id,
                name: w.name.clone(),
                quantity,
            },
            (None, Some(sku)) => EditStep::AddBySku {
                sku,
                name: w.name.clone(),
                price: unit_price(w, quantity),
                quantity,
            },
            (None, None) => {
                if w.name.trim().is_empty() {
                    return Err(invalid(
                        order_id,
                        "a new line has no product, no SKU and no name; name the row in the CRM deal".into(),
                    ));
                }
                EditStep::AddCustom {
                    title: w.name.trim().to_string(),
                    price: unit_price(w, quantity),
                    quantity,
                }
            }
        });
    }
    Ok(steps)
}

#[derive(Deserialize)]
struct Node<T> {
    nodes: Vec<T>,
}

#[derive(Deserialize)]
struct Gid {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CalcLine {
    id: String,
    quantity: i64,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    variant_title: Option<String>,
    #[serde(default)]
    variant: Option<Gid>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CalcOrder {
    id: String,
    line_items: Node<CalcLine>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BeginPayload {
    calculated_order: Option<CalcOrder>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BeginData {
    order_edit_begin: BeginPayload,
}

/// Any mutation payload: only its `userErrors` matter to the caller.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    #[serde(default)]
    user_errors: Vec<UserError>,
}

/// The trailing number of a `gid://shopify/<Kind>/<n>`.
fn gid_number(gid: &str) -> Option<u64> {
    gid.rsplit('/').next()?.parse().ok()
}

impl EditableLine {
    fn from_calculated(l: &CalcLine) -> Self {
        let name = match l.variant_title.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() && v != "Default Title" => format!("{} - {v}", l.title),
            _ => l.title.clone(),
        };
        EditableLine {
            id: l.id.clone(),
            variant_id: l.variant.as_ref().and_then(|v| gid_number(&v.id)),
            sku: l.sku.clone().filter(|s| !s.trim().is_empty()),
            title: l.title.clone(),
            name,
            quantity: l.quantity,
        }
    }
}

impl ShopifyClient {
    /// Makes the order's lines `wanted` through one order-edit session (see the module docs).
    /// Returns whether anything was committed; `false` means no GraphQL call was made. On a
    /// refused step the session is left uncommitted and the order is unchanged.
    pub async fn edit_order_lines(
        &self,
        order: &ShopifyOrder,
        wanted: &[OrderLine],
    ) -> Result<bool, ConnectorError> {
        let id = order.id;
        let rest_lines: Vec<EditableLine> = order
            .line_items
            .iter()
            .map(EditableLine::from_line_item)
            .collect();
        let dry = plan_line_edit(id, self.system_name(), &rest_lines, wanted)?;
        if dry.is_empty() {
            return Ok(false);
        }
        // The catalog is read before the session opens, so a failed listing opens nothing.
        let mut skus: Option<HashMap<String, u64>> = None;
        if dry.iter().any(|s| matches!(s, EditStep::AddBySku { .. })) {
            skus = Some(self.variants_by_sku().await?);
        }
        let calc = self.begin_order_edit(id).await?;
        let lines: Vec<EditableLine> = calc
            .line_items
            .nodes
            .iter()
            .map(EditableLine::from_calculated)
            .collect();
        let steps = plan_line_edit(id, self.system_name(), &lines, wanted)?;
        if steps.is_empty() {
            // Someone made the same change between the read and the session: nothing to commit.
            return Ok(false);
        }
        for step in &steps {
            // The session may need the catalog when the dry run did not (the order changed).
            if matches!(step, EditStep::AddBySku { .. }) && skus.is_none() {
                skus = Some(self.variants_by_sku().await?);
            }
            let m = step_mutation(step, &calc.id, skus.as_ref(), &order.currency);
            self.run_edit_step(id, &m).await?;
        }
        self.commit_order_edit(id, &calc.id).await?;
        tracing::info!(
            order = id,
            steps = steps.len(),
            "shopify order lines edited"
        );
        Ok(true)
    }

    /// Opens an order-edit session on order `id` (`orderEditBegin`): its calculated order.
    async fn begin_order_edit(&self, id: u64) -> Result<CalcOrder, ConnectorError> {
        let what = edit_what(id, "orderEditBegin");
        let begun = self
            .graphql::<BeginData>(
                &what,
                BEGIN,
                json!({ "id": format!("gid://shopify/Order/{id}") }),
            )
            .await?
            .data
            .order_edit_begin;
        check_user_errors(&what, &begun.user_errors)?;
        begun.calculated_order.ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::Protocol,
                SYSTEM,
                format!("{what}: no calculated order and no userErrors; check that the shop URL points at a Shopify store"),
            )
        })
    }

    /// Sends one step of the session on order `id`; its userErrors fail the edit, which is then
    /// left uncommitted.
    async fn run_edit_step(&self, id: u64, m: &StepMutation) -> Result<(), ConnectorError> {
        let not_committed =
            "the edit was not committed and the order is unchanged; fix the row in the CRM deal";
        let what = edit_what(id, m.op);
        let payload = self
            .graphql::<HashMap<String, Payload>>(&what, m.query, m.variables.clone())
            .await?
            .data;
        let errors = payload
            .get(m.op)
            .map(|p| p.user_errors.as_slice())
            .unwrap_or(&[]);
        check_user_errors(&format!("{what}, {}", m.subject), errors).map_err(|e| {
            ConnectorError::new(e.kind, SYSTEM, format!("{}; {not_committed}", e.message))
        })
    }

    /// Commits session `calc_id` of order `id` (`orderEditCommit`, customer not notified).
    async fn commit_order_edit(&self, id: u64, calc_id: &str) -> Result<(), ConnectorError> {
        let what = edit_what(id, "orderEditCommit");
        let committed = self
            .graphql::<HashMap<String, Payload>>(
                &what,
                COMMIT,
                json!({ "id": calc_id, "notifyCustomer": false, "staffNote": STAFF_NOTE }),
            )
            .await?
            .data;
        let errors = committed
            .get("orderEditCommit")
            .map(|p| p.user_errors.as_slice())
            .unwrap_or(&[]);
        check_user_errors(&what, errors)
    }

    /// SKU → variant id over the whole catalog (the first variant of a repeated SKU, by
    /// product then variant order, as Shopify lists them).
    async fn variants_by_sku(&self) -> Result<HashMap<String, u64>, ConnectorError> {
        let mut map = HashMap::new();
        for p in self.list_all_products().await? {
            for v in &p.variants {
                if let Some(sku) = v.sku.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                    map.entry(sku.to_string()).or_insert(v.id);
                }
            }
        }
        Ok(map)
    }
}

/// What an edit call on order `id` is, for messages: `edit order <id>: <op>`.
fn edit_what(id: u64, op: &str) -> String {
    format!("edit order {id}: {op}")
}

/// One step of an edit as a GraphQL mutation.
struct StepMutation {
    /// The mutation's field, where its userErrors are.
    op: &'static str,
    /// What the step does, for messages.
    subject: String,
    query: &'static str,
    variables: Value,
}

/// The mutation of `step` in session `calc` of an order in `currency`. A SKU line becomes the
/// catalog's variant when `skus` (SKU → variant id) has it, else a custom item.
fn step_mutation(
    step: &EditStep,
    calc: &str,
    skus: Option<&HashMap<String, u64>>,
    currency: &str,
) -> StepMutation {
    let (op, subject, query, variables) = match step {
        EditStep::SetQuantity {
            line,
            name,
            quantity,
        } => (
            "orderEditSetQuantity",
            format!("set line `{name}` to {quantity}"),
            SET_QUANTITY,
            json!({
                "id": calc, "lineItemId": line, "quantity": quantity, "restock": true,
            }),
        ),
        EditStep::AddVariant {
            variant_id,
            name,
            quantity,
        } => (
            "orderEditAddVariant",
            format!("add variant {variant_id} (`{name}`) × {quantity}"),
            ADD_VARIANT,
            add_variant_vars(calc, *variant_id, *quantity),
        ),
        EditStep::AddBySku {
            sku,
            name,
            price,
            quantity,
        } => match skus.and_then(|m| m.get(sku)) {
            Some(variant_id) => (
                "orderEditAddVariant",
                format!("add variant {variant_id} (SKU {sku}) × {quantity}"),
                ADD_VARIANT,
                add_variant_vars(calc, *variant_id, *quantity),
            ),
            None => (
                "orderEditAddCustomItem",
                format!("add custom item `{name}` (SKU {sku} is not in the catalog) × {quantity}"),
                ADD_CUSTOM,
                custom_vars(calc, name, *price, *quantity, currency),
            ),
        },
        EditStep::AddCustom {
            title,
            price,
            quantity,
        } => (
            "orderEditAddCustomItem",
            format!("add custom item `{title}` at {price} × {quantity}"),
            ADD_CUSTOM,
            custom_vars(calc, title, *price, *quantity, currency),
        ),
    };
    StepMutation {
        op,
        subject,
        query,
        variables,
    }
}

/// `orderEditAddVariant` variables: `quantity` of variant `variant_id`, as a line of its own
/// even when the order already has that variant.
fn add_variant_vars(calc: &str, variant_id: u64, quantity: i64) -> Value {
    json!({
        "id": calc,
        "variantId": format!("gid://shopify/ProductVariant/{variant_id}"),
        "quantity": quantity,
        "allowDuplicates": true,
    })
}

fn custom_vars(
    calc: &str,
    title: &str,
    price: Decimal,
    quantity: i64,
    currency: &str,
) -> serde_json::Value {
    json!({
        "id": calc,
        "title": title,
        "price": {"amount": price.to_string(), "currencyCode": currency},
        "quantity": quantity,
        "taxable": false,
        "requiresShipping": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dealbridge_sdk::model::ExternalRef;

    fn cur(id: &str, variant: Option<u64>, sku: Option<&str>, name: &str, q: i64) -> EditableLine {
        EditableLine {
            id: id.into(),
            variant_id: variant,
            sku: sku.map(str::to_string),
            title: name.split(" - ").next().unwrap().to_string(),
            name: name.into(),
            quantity: q,
        }
    }

    fn want(
        item: Option<(&str, &str)>,
        sku: Option<&str>,
        name: &str,
        q: i64,
        price: i64,
    ) -> OrderLine {
        OrderLine {
            item: item.map(|(s, id)| ExternalRef {
                system: s.into(),
                id: id.into(),
            }),
            sku: sku.map(str::to_string),
            name: name.into(),
            quantity: Decimal::from(q),
            unit_price: Decimal::new(price, 2),
            total: Decimal::new(price * q, 2),
            tax: Decimal::ZERO,
        }
    }

    #[test]
    fn matching_goes_variant_then_sku_then_title() {
        let current = vec![
            cur("1", Some(10), Some("A"), "Coffee - 250g", 2),
            cur("2", None, None, "Gift wrap", 1),
            cur("3", Some(30), Some("C"), "Tea", 1),
        ];
        let wanted = vec![
            want(Some(("shop", "10")), None, "renamed", 3, 1250),
            want(None, None, "gift WRAP", 1, 500),
            want(None, Some("NEW"), "New thing", 2, 100),
            want(Some(("crm", "30")), None, "Biscuit", 1, 200),
        ];
        let steps = plan_line_edit(7, "shop", &current, &wanted).unwrap();
        assert_eq!(
            steps,
            vec![
                EditStep::SetQuantity {
                    line: "1".into(),
                    name: "Coffee - 250g".into(),
                    quantity: 3
                },
                EditStep::SetQuantity {
                    line: "3".into(),
                    name: "Tea".into(),
                    quantity: 0
                },
                EditStep::AddBySku {
                    sku: "NEW".into(),
                    name: "New thing".into(),
                    price: Decimal::new(100, 2),
                    quantity: 2
                },
                // A CRM id is not a Shopify variant: added as a custom item by name.
                EditStep::AddCustom {
                    title: "Biscuit".into(),
                    price: Decimal::new(200, 2),
                    quantity: 1
                },
            ]
        );
    }

    #[test]
    fn same_lines_plan_nothing_and_bad_quantities_are_refused() {
        let current = vec![
            cur("1", Some(10), Some("A"), "Coffee", 2),
            cur("2", Some(11), None, "Gone", 0),
        ];
        let wanted = vec![want(None, Some("A"), "Coffee", 2, 1250)];
        assert!(plan_line_edit(7, "shop", &current, &wanted)
            .unwrap()
            .is_empty());
        let mut half = want(None, Some("A"), "Coffee", 2, 1250);
        half.quantity = Decimal::new(15, 1);
        let e = plan_line_edit(7, "shop", &current, &[half]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert!(
            e.message.contains("edit order 7") && e.message.contains("`Coffee`"),
            "{}",
            e.message
        );
        let e = plan_line_edit(
            7,
            "shop",
            &current,
            &[want(None, Some("A"), "Coffee", -1, 1250)],
        )
        .unwrap_err();
        assert!(e.message.contains("quantity -1"), "{}", e.message);
    }
}
