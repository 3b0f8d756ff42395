//! Conversions from CommerceML items to the canonical SDK model.

use crate::items::{CmlProduct, Document, Offer};
use crate::values::parse_datetime;
use chrono::{DateTime, NaiveDateTime, Utc};
use dealbridge_sdk::model::{
    Contact, ExternalRef, Order, OrderLine, PriceEntry, Product, StockLevel,
};
use dealbridge_sdk::money::{Currency, Money};
use rust_decimal::Decimal;

fn r(system: &str, id: &str) -> ExternalRef {
    ExternalRef {
        system: system.to_string(),
        id: id.trim().to_string(),
    }
}

fn utc(d: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(d, Utc)
}

impl CmlProduct {
    /// The SDK product (variants come from offers; a `#` product is itself one variant).
    pub fn to_sdk(&self, system: &str) -> Product {
        Product {
            source: r(system, &self.id),
            sku: self.sku.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            groups: self.groups.clone(),
            unit: self.unit.as_ref().and_then(|u| u.name.clone()),
            barcodes: self.barcodes.clone(),
            variants: Vec::new(),
            deleted: self.deleted,
        }
    }
}

impl Offer {
    /// Prices as SDK entries. `default_currency` comes from the price type when the price
    /// itself names none; a price whose currency cannot be understood is left out.
    pub fn price_entries(&self, system: &str, default_currency: Option<&str>) -> Vec<PriceEntry> {
        self.prices
            .iter()
            .filter_map(|p| {
                let cur = p.currency.as_deref().or(default_currency)?;
                Some(PriceEntry {
                    item: r(system, &self.id),
                    price_type: p.price_type_id.clone(),
                    price: Money::new(p.price, Currency::new(cur).ok()?),
                    unit: p.unit.clone(),
                })
            })
            .collect()
    }

    /// Stock as SDK levels: one per warehouse, or one undivided total.
    pub fn stock_levels(&self, system: &str) -> Vec<StockLevel> {
        if self.stock.is_empty() {
            return self
                .quantity
                .map(|q| StockLevel {
                    item: r(system, &self.id),
                    warehouse: None,
                    quantity: q,
                })
                .into_iter()
                .collect();
        }
        self.stock
            .iter()
            .map(|s| StockLevel {
                item: r(system, &self.id),
                warehouse: Some(s.warehouse_id.clone()),
                quantity: s.quantity,
            })
            .collect()
    }
}

impl Document {
    /// The SDK order. Delivery lines (`ORDER_DELIVERY`, services) go to `shipping_total`.
    pub fn to_sdk_order(&self, system: &str) -> Order {
        let created = self.date.map(utc).unwrap_or_else(Utc::now);
        let buyer = self.buyer();
        let email = buyer.and_then(|b| b.email()).map(str::to_string);
        let customer = Contact {
            source: buyer.and_then(|b| b.id.as_deref()).map(|id| r(system, id)),
            first_name: buyer.and_then(|b| b.first_name.clone()).unwrap_or_default(),
            last_name: buyer.and_then(|b| b.last_name.clone()).unwrap_or_default(),
            company: None,
            email,
            phone: buyer.and_then(|b| b.phone()).map(str::to_string),
        };
        let mut shipping = Decimal::ZERO;
        let mut lines = Vec::new();
        for l in &self.lines {
            let total = l
                .total
                .unwrap_or_else(|| l.unit_price.unwrap_or_default() * l.quantity);
            if l.id.as_deref() == Some("ORDER_DELIVERY") {
                shipping += total;
                continue;
            }
            lines.push(OrderLine {
                item: l.id.as_deref().map(|id| r(system, id)),
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price.unwrap_or_default(),
                total,
                tax: Decimal::ZERO,
            });
        }
        let paid_at = self.payments.iter().find_map(|p| p.paid_at).map(utc);
        Order {
            source: r(system, &self.id),
            number: self.number.clone().unwrap_or_else(|| self.id.clone()),
            status: self.status().unwrap_or_default().to_string(),
            currency: self
                .currency
                .as_deref()
                .and_then(|c| Currency::new(c).ok())
                .unwrap_or_else(|| Currency::new("RUB").expect("RUB is valid")),
            created_at: created,
            modified_at: self
                .requisite("Дата изменения статуса")
                .and_then(parse_datetime)
                .map(utc)
                .unwrap_or(created),
            customer,
            lines,
            discount_total: Decimal::ZERO,
            shipping_total: shipping,
            tax_total: Decimal::ZERO,
            total: self.total.unwrap_or_default(),
            paid_at,
            payment_method: self.requisite("Метод оплаты").map(str::to_string),
            source_channel: None,
            note: self.comment.clone(),
        }
    }
}
