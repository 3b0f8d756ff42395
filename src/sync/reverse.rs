//! Deal rows back to order lines, for a manager's row edit flowing to the store.
//!
//! Rows are matched to the order's lines by the name the planner gave them (`Name (SKU)`), so a
//! line the manager left alone keeps its product, SKU, tax and price exactly as the store has
//! them; only its quantity follows the row. A row with no matching line is a new line at the
//! row's price (tax included, as rows carry gross prices). The shipping row is not a line.
//!
//! A new row that names a CRM product the catalog pushed ([`super::link`]) becomes a line of
//! that product (by its store id, or by the 1C article, which the store resolves), not a fee:
//! the manager picked it from the catalog, and the store's stock and reports should see it.

use std::collections::HashMap;

use dealbridge_sdk::model::{Deal, DealLine, ExternalRef, Order, OrderLine};
use dealbridge_sdk::money::round_money;
use rust_decimal::Decimal;

/// The name the planner gives the shipping row.
pub const SHIPPING_ROW: &str = "Shipping";

/// The store product a CRM product stands for: the store's own id when the store's catalog was
/// pushed, the article when 1C's was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreProduct {
    /// The store's product or variation.
    pub item: Option<ExternalRef>,
    /// Its article.
    pub sku: Option<String>,
}

/// The order lines that make `order` carry `rows`. `planned` is the deal planned from `order`
/// (its first rows correspond to `order.lines`, in order); `products` are the store products of
/// the rows' CRM products (by CRM product id), for new rows.
pub fn order_lines_from_rows(
    rows: &[DealLine],
    order: &Order,
    planned: &Deal,
    products: &HashMap<String, StoreProduct>,
) -> Vec<OrderLine> {
    let scale = order.currency.minor_units();
    let mut taken = vec![false; order.lines.len()];
    let mut out = Vec::new();
    for row in rows {
        if row.name == SHIPPING_ROW && !order.shipping_total.is_zero() {
            continue;
        }
        let matched = planned
            .lines
            .iter()
            .take(order.lines.len())
            .enumerate()
            .find(|(i, p)| !taken[*i] && p.name == row.name);
        match matched {
            Some((i, _)) => {
                taken[i] = true;
                let line = &order.lines[i];
                let mut line = line.clone();
                if line.quantity != row.quantity && !line.quantity.is_zero() {
                    // Keep the store's net unit price and tax rate; scale to the new quantity.
                    let net_unit = line.total / line.quantity;
                    let tax_unit = line.tax / line.quantity;
                    line.quantity = row.quantity;
                    line.total = round_money(net_unit * row.quantity, scale);
                    line.tax = round_money(tax_unit * row.quantity, scale);
                }
                out.push(line);
            }
            None => {
                let product = row.product_id.as_ref().and_then(|id| products.get(id));
                out.push(OrderLine {
                    item: product.and_then(|p| p.item.clone()),
                    sku: product.and_then(|p| p.sku.clone()),
                    name: row.name.clone(),
                    quantity: row.quantity,
                    unit_price: row.price,
                    total: round_money(row.price * row.quantity, scale),
                    tax: Decimal::ZERO,
                })
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::plan::{deal_for_order, DealHeader};
    use chrono::Utc;
    use dealbridge_sdk::model::{Contact, ExternalRef};
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
            customer: Contact::default(),
            lines: vec![OrderLine {
                item: Some(ExternalRef {
                    system: "shop".into(),
                    id: "p1".into(),
                }),
                sku: Some("A-1".into()),
                name: "Tea".into(),
                quantity: dec!(2),
                unit_price: dec!(5),
                total: dec!(10.00),
                tax: dec!(2.00),
            }],
            discount_total: dec!(0),
            shipping_total: dec!(50),
            tax_total: dec!(2),
            total: dec!(62),
            paid_at: None,
            payment_method: None,
            source_channel: None,
            note: None,
        }
    }

    fn plan(o: &Order) -> Deal {
        deal_for_order(
            o,
            DealHeader {
                title: "t".into(),
                stage: "NEW".into(),
                pipeline: None,
            },
        )
    }

    #[test]
    fn a_new_row_becomes_a_line_and_known_rows_keep_their_product() {
        let o = order();
        let planned = plan(&o);
        let mut rows = planned.lines.clone();
        rows.push(DealLine {
            product_id: Some("55".into()),
            name: "Gift wrap".into(),
            price: dec!(100),
            quantity: dec!(1),
            tax_rate: None,
            tax_included: false,
        });
        let lines = order_lines_from_rows(&rows, &o, &planned, &HashMap::new());
        assert_eq!(lines.len(), 2, "shipping is not a line");
        assert_eq!(lines[0], o.lines[0]);
        assert_eq!(lines[1].name, "Gift wrap");
        assert_eq!(lines[1].total, dec!(100));
        assert_eq!(
            lines[1].item, None,
            "CRM product 55 stands for no store product"
        );
        assert_eq!(lines[1].sku, None);

        // The same row when CRM product 55 is the store's product p9 (store catalog pushed), or
        // 1C's article B-2 (1C catalog pushed).
        for product in [
            StoreProduct {
                item: Some(ExternalRef {
                    system: "shop".into(),
                    id: "p9".into(),
                }),
                sku: Some("B-2".into()),
            },
            StoreProduct {
                item: None,
                sku: Some("B-2".into()),
            },
        ] {
            let products = HashMap::from([("55".to_string(), product.clone())]);
            let lines = order_lines_from_rows(&rows, &o, &planned, &products);
            assert_eq!(lines[1].item, product.item);
            assert_eq!(lines[1].sku.as_deref(), Some("B-2"));
            assert_eq!(lines[1].total, dec!(100));
        }
    }

    #[test]
    fn a_quantity_change_scales_the_line_and_a_removed_row_removes_it() {
        let o = order();
        let planned = plan(&o);
        let mut rows = planned.lines.clone();
        rows[0].quantity = dec!(3);
        let lines = order_lines_from_rows(&rows, &o, &planned, &HashMap::new());
        assert_eq!(lines[0].quantity, dec!(3));
        assert_eq!(lines[0].total, dec!(15.00));
        assert_eq!(lines[0].tax, dec!(3.00));
        assert_eq!(lines[0].sku.as_deref(), Some("A-1"));
        let lines = order_lines_from_rows(&planned.lines[1..], &o, &planned, &HashMap::new());
        assert!(lines.is_empty());
    }
}
