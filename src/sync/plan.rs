//! Planning: what a CRM deal should look like for a canonical order.
//!
//! The planner is pure: the same order and mapping always give the same [`Deal`], so the hash of
//! the planned deal can be compared with the snapshot of what was last written, and an unchanged
//! order costs no CRM call.

use dealbridge_sdk::model::{Deal, DealLine, Order};
use dealbridge_sdk::money::round_money;
use rust_decimal::Decimal;

/// Why an order cannot become a deal. These are permanent: the job goes to the dead letter with
/// this message until someone fixes the mapping and retries it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// The mapping has no stage for the order's status.
    #[error("order {order}: {message}")]
    Mapping {
        /// The order's entity id.
        order: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// Turns an order into the deal the CRM should hold.
pub trait DealPlanner: Send + Sync {
    /// Plans the deal, or says why the order cannot be mapped.
    fn plan(&self, order: &Order) -> Result<Deal, PlanError>;
}

/// What the mapping decided for one order; the rest of the deal comes from the order itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealHeader {
    /// Deal title.
    pub title: String,
    /// CRM stage id.
    pub stage: String,
    /// CRM pipeline id, if any.
    pub pipeline: Option<String>,
}

/// Builds the deal for `order` under `header`.
///
/// Rows carry gross unit prices (tax included, rounded half away from zero to the currency's
/// minor units), because that is what a manager compares with the receipt. Shipping becomes a
/// row of its own so the rows add up to what the buyer pays; the deal amount is the order's
/// grand total as the store computed it (the rows may differ from it by rounding of unit
/// prices, which is why the CRM connector writes the amount as a manual value).
pub fn deal_for_order(order: &Order, header: DealHeader) -> Deal {
    let scale = order.currency.minor_units();
    let mut lines: Vec<DealLine> = order
        .lines
        .iter()
        .map(|l| {
            let gross = l.total + l.tax;
            let price = if l.quantity.is_zero() {
                round_money(gross, scale)
            } else {
                round_money(gross / l.quantity, scale)
            };
            let tax_rate = if l.tax.is_zero() || l.total.is_zero() {
                None
            } else {
                Some(round_money(l.tax * Decimal::from(100) / l.total, 2))
            };
            DealLine {
                product_id: None,
                name: match &l.sku {
                    Some(sku) if !sku.is_empty() => format!("{} ({sku})", l.name),
                    _ => l.name.clone(),
                },
                price,
                quantity: l.quantity.normalize(),
                tax_rate,
                tax_included: tax_rate.is_some(),
            }
        })
        .collect();
    if !order.shipping_total.is_zero() {
        lines.push(DealLine {
            product_id: None,
            name: "Shipping".into(),
            price: round_money(order.shipping_total, scale),
            quantity: Decimal::ONE,
            tax_rate: None,
            tax_included: false,
        });
    }
    let contact = Some(order.customer.clone()).filter(|c| {
        c.normalized_email().is_some()
            || c.normalized_phone().is_some()
            || !c.display_name().is_empty()
    });
    Deal {
        title: header.title,
        stage: header.stage,
        pipeline: header.pipeline,
        currency: order.currency.clone(),
        amount: round_money(order.total, scale),
        contact,
        lines,
        origin: order.source.clone(),
        source_channel: order.source_channel.clone(),
        comments: order.note.clone(),
    }
}

impl DealPlanner for crate::mapping::Mapping {
    fn plan(&self, order: &Order) -> Result<Deal, PlanError> {
        let stage = self
            .stage_for(&order.status)
            .map_err(|e| PlanError::Mapping {
                order: format!("{}:{}", order.source.system, order.source.id),
                message: e.to_string(),
            })?;
        Ok(deal_for_order(
            order,
            DealHeader {
                title: self.deal_title(order),
                stage: stage.to_string(),
                pipeline: self.deal.pipeline.map(|p| p.to_string()),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use dealbridge_sdk::model::{Contact, ExternalRef, OrderLine};
    use dealbridge_sdk::Currency;
    use rust_decimal_macros::dec;

    fn order() -> Order {
        Order {
            source: ExternalRef {
                system: "shop".into(),
                id: "7".into(),
            },
            number: "7".into(),
            status: "processing".into(),
            currency: Currency::new("RUB").unwrap(),
            created_at: Utc::now(),
            modified_at: Utc::now(),
            customer: Contact {
                first_name: "Ann".into(),
                email: Some("ann@example.com".into()),
                ..Default::default()
            },
            lines: vec![
                OrderLine {
                    item: None,
                    sku: Some("A-1".into()),
                    name: "Tea".into(),
                    quantity: dec!(3),
                    unit_price: dec!(3.33),
                    total: dec!(10.00),
                    tax: dec!(2.00),
                },
                OrderLine {
                    item: None,
                    sku: None,
                    name: "Cheese".into(),
                    quantity: dec!(0.250),
                    unit_price: dec!(800),
                    total: dec!(200.00),
                    tax: dec!(0),
                },
            ],
            discount_total: dec!(0),
            shipping_total: dec!(50.00),
            tax_total: dec!(2.00),
            total: dec!(262.00),
            paid_at: None,
            payment_method: None,
            source_channel: Some("checkout".into()),
            note: None,
        }
    }

    #[test]
    fn rows_carry_gross_unit_prices_and_shipping() {
        let d = deal_for_order(
            &order(),
            DealHeader {
                title: "Order #7".into(),
                stage: "PREPARATION".into(),
                pipeline: None,
            },
        );
        assert_eq!(d.amount.to_string(), "262.00");
        assert_eq!(d.lines.len(), 3);
        // 12.00 / 3 = 4.00 gross per unit, 20 % tax.
        assert_eq!(d.lines[0].price.to_string(), "4.00");
        assert_eq!(d.lines[0].tax_rate.unwrap().to_string(), "20.00");
        assert_eq!(d.lines[0].name, "Tea (A-1)");
        // Fractional quantities survive, and 200 / 0.25 = 800.
        assert_eq!(d.lines[1].quantity.to_string(), "0.25");
        assert_eq!(d.lines[1].price.to_string(), "800.00");
        assert_eq!(d.lines[2].name, "Shipping");
        assert_eq!(d.origin.id, "7");
    }

    #[test]
    fn unit_price_rounds_half_away_from_zero() {
        let mut o = order();
        o.lines.truncate(1);
        o.lines[0].total = dec!(10.00);
        o.lines[0].tax = dec!(0);
        o.lines[0].quantity = dec!(3);
        let d = deal_for_order(
            &o,
            DealHeader {
                title: "t".into(),
                stage: "NEW".into(),
                pipeline: None,
            },
        );
        assert_eq!(d.lines[0].price.to_string(), "3.33");
        o.lines[0].total = dec!(0.05);
        o.lines[0].quantity = dec!(2);
        let d = deal_for_order(
            &o,
            DealHeader {
                title: "t".into(),
                stage: "NEW".into(),
                pipeline: None,
            },
        );
        assert_eq!(d.lines[0].price.to_string(), "0.03");
    }
}
