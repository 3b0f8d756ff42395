//! The canonical model: what every connector converts to and from.
//!
//! Canonical records are plain data. They carry the id the *source* system gave them in
//! [`ExternalRef`]; our own entity ids and the per-system ids live in the engine's bindings, not
//! here. Money and quantities are `Decimal`; a quantity can be fractional (1C sends `0.250` kg).

use crate::money::{Currency, Money};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Where a record came from: the configured system name (`shop`, `crm`, `1c`) and that system's id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExternalRef {
    /// The system name from the config (`[systems.<name>]`).
    pub system: String,
    /// The id in that system, as text (WooCommerce `123`, 1C `GUID`, 1C variant `GUID#GUID`).
    pub id: String,
}

/// A product or service, with its variants (1C characteristics, store variations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// Source reference.
    pub source: ExternalRef,
    /// Article / SKU.
    pub sku: Option<String>,
    /// Display name.
    pub name: String,
    /// Longer text, if any.
    pub description: Option<String>,
    /// Group / category ids in the source system.
    pub groups: Vec<String>,
    /// Unit of measure (`шт`, `кг`, `pcs`).
    pub unit: Option<String>,
    /// Barcodes (EAN/GTIN).
    pub barcodes: Vec<String>,
    /// Variants; empty for a simple product.
    pub variants: Vec<Variant>,
    /// Marked as deleted at the source.
    pub deleted: bool,
}

/// One variant of a product (1C `Ид#Ид` characteristic, WooCommerce variation, Shopify variant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Source reference of the variant itself.
    pub source: ExternalRef,
    /// SKU of the variant.
    pub sku: Option<String>,
    /// Display name of the variant.
    pub name: String,
    /// Characteristic name → value (`Цвет` → `Красный`).
    pub attributes: Vec<(String, String)>,
}

/// A price of a product (or variant) under a named price type (1C `ТипЦены`: `Розничная`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceEntry {
    /// The product or variant priced.
    pub item: ExternalRef,
    /// Price type id or name in the source system.
    pub price_type: String,
    /// Price per unit.
    pub price: Money,
    /// Unit the price is for, when the source says.
    pub unit: Option<String>,
}

/// Stock of a product (or variant) at one warehouse; `warehouse = None` is an undivided total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockLevel {
    /// The product or variant.
    pub item: ExternalRef,
    /// Warehouse id in the source system, if stock is per warehouse.
    pub warehouse: Option<String>,
    /// Quantity on hand; may be fractional or negative (1C allows both).
    pub quantity: Decimal,
}

/// A person or company buying.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Contact {
    /// Source reference, when the source has a customer record (guest orders have none).
    pub source: Option<ExternalRef>,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Company, if the buyer is one.
    pub company: Option<String>,
    /// E-mail, lower-cased and trimmed when normalised.
    pub email: Option<String>,
    /// Phone as digits with an optional leading `+`.
    pub phone: Option<String>,
}

impl Contact {
    /// "First Last", or the company, or the e-mail: whatever names this contact best.
    pub fn display_name(&self) -> String {
        let full = format!("{} {}", self.first_name.trim(), self.last_name.trim());
        let full = full.trim();
        if !full.is_empty() {
            return full.to_string();
        }
        if let Some(c) = self.company.as_deref().filter(|c| !c.trim().is_empty()) {
            return c.trim().to_string();
        }
        self.email.clone().unwrap_or_default()
    }

    /// The e-mail normalised for matching: trimmed and lower-cased.
    pub fn normalized_email(&self) -> Option<String> {
        self.email
            .as_deref()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@'))
    }

    /// The phone normalised for matching: digits only, with a leading `+` kept.
    pub fn normalized_phone(&self) -> Option<String> {
        let raw = self.phone.as_deref()?.trim();
        let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.len() < 5 {
            return None;
        }
        Some(if raw.starts_with('+') {
            format!("+{digits}")
        } else {
            digits
        })
    }
}

/// A store order or a 1C order document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Source reference (WooCommerce order id, 1C document id).
    pub source: ExternalRef,
    /// Human order number (`#1042`, 1C `Номер`).
    pub number: String,
    /// The source system's own status code (`processing`, `on-hold`, …); mapping files translate it.
    pub status: String,
    /// Currency of all amounts in the order.
    pub currency: Currency,
    /// When the order was placed.
    pub created_at: DateTime<Utc>,
    /// When the source last changed it.
    pub modified_at: DateTime<Utc>,
    /// The buyer.
    pub customer: Contact,
    /// Order lines (goods and services; shipping is in [`Order::shipping_total`]).
    pub lines: Vec<OrderLine>,
    /// Discount on the whole order.
    pub discount_total: Decimal,
    /// Shipping charged.
    pub shipping_total: Decimal,
    /// Tax included in [`Order::total`].
    pub tax_total: Decimal,
    /// Grand total the buyer pays.
    pub total: Decimal,
    /// When it was paid, if it was.
    pub paid_at: Option<DateTime<Utc>>,
    /// Payment method title.
    pub payment_method: Option<String>,
    /// Where the order came from (created_via, UTM source), for the deal's source field.
    pub source_channel: Option<String>,
    /// The buyer's note.
    pub note: Option<String>,
}

impl Order {
    /// The grand total as [`Money`].
    pub fn total_money(&self) -> Money {
        Money::new(self.total, self.currency.clone())
    }
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The product (or variant) ordered, in the source system, if it is a catalog item.
    pub item: Option<ExternalRef>,
    /// SKU as ordered.
    pub sku: Option<String>,
    /// Name as ordered.
    pub name: String,
    /// Quantity; fractional allowed.
    pub quantity: Decimal,
    /// Price per unit after line discounts, tax excluded.
    pub unit_price: Decimal,
    /// Line total after discounts, tax excluded.
    pub total: Decimal,
    /// Tax on the line.
    pub tax: Decimal,
}

/// A payment against an order or deal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    /// Source reference (1C payment document, store transaction).
    pub source: ExternalRef,
    /// The order it pays, in the same source system.
    pub order: ExternalRef,
    /// Amount paid (negative for a refund).
    pub amount: Money,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
    /// Payment document number (1C `Номер оплаты по 1С`).
    pub document_number: Option<String>,
    /// Method (card, bank transfer, cash).
    pub method: Option<String>,
}

/// A CRM deal as the engine wants it to be: what a CRM connector creates or updates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    /// Deal title (`Order #1042`).
    pub title: String,
    /// Target pipeline stage id in the CRM's own terms (Bitrix24 `STAGE_ID`, amoCRM status id).
    pub stage: String,
    /// Pipeline / category id, when the CRM has several.
    pub pipeline: Option<String>,
    /// Currency of the amount and rows.
    pub currency: Currency,
    /// Deal amount.
    pub amount: Decimal,
    /// The buyer, matched or created in the CRM by e-mail / phone.
    pub contact: Option<Contact>,
    /// Product rows.
    pub lines: Vec<DealLine>,
    /// The record this deal mirrors: written to the CRM's external-key fields (Bitrix24
    /// `ORIGINATOR_ID` = system, `ORIGIN_ID` = id) so find-or-create can find it again.
    pub origin: ExternalRef,
    /// Source channel (UTM, `checkout`), for the CRM's source field.
    pub source_channel: Option<String>,
    /// Free text for the deal's comments.
    pub comments: Option<String>,
}

/// One product row of a deal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealLine {
    /// CRM product id when the catalog item is bound; `None` writes a free-text row.
    pub product_id: Option<String>,
    /// Row name.
    pub name: String,
    /// Price per unit, tax included if [`DealLine::tax_included`].
    pub price: Decimal,
    /// Quantity.
    pub quantity: Decimal,
    /// Tax rate in percent, if any.
    pub tax_rate: Option<Decimal>,
    /// Whether `price` includes the tax.
    pub tax_included: bool,
}

/// One page of a listing, with whether more pages follow.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// The 1-based page number to ask for next, if any.
    pub next_page: Option<u32>,
    /// Total items across all pages, when the system says.
    pub total: Option<u64>,
}

/// A deal as read back from the CRM: the CRM → store / 1C direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrmDealState {
    /// The deal's id in the CRM.
    pub id: String,
    /// The deal's current content. `origin` is read from the CRM's external-key fields (Bitrix24
    /// `ORIGINATOR_ID`/`ORIGIN_ID`, the amoCRM external-id field); a deal a manager created by
    /// hand has an origin whose `id` is empty.
    pub deal: Deal,
    /// When the CRM last changed it (Bitrix24 `DATE_MODIFY`, amoCRM `updated_at`).
    pub modified_at: DateTime<Utc>,
    /// Paid amount as the CRM shows it (payments or the configured paid field), when known.
    pub paid_amount: Option<Decimal>,
}

/// A catalog item pushed to a CRM's product catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogItem {
    /// The record it mirrors (1C product or variant, store product); written to the CRM's
    /// external-key field (Bitrix24 `XML_ID`, amoCRM external-id/SKU field) so a push that
    /// crashed after the CRM created the product finds it again instead of duplicating it.
    pub origin: ExternalRef,
    /// The CRM id when the engine already knows it (bound); `None` means find by origin or create.
    pub crm_id: Option<String>,
    /// Product name.
    pub name: String,
    /// Article / SKU.
    pub sku: Option<String>,
    /// Description text.
    pub description: Option<String>,
    /// The price the mapping chose (one 1C price type), if any.
    pub price: Option<Money>,
    /// Unit of measure (`шт`, `кг`), if known.
    pub unit: Option<String>,
    /// `false` when the source deleted or deactivated it.
    pub active: bool,
}

/// What a catalog push did, item by item, in input order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CatalogPushReport {
    /// For each pushed item, in input order: its CRM id and what happened.
    pub items: Vec<CatalogPushed>,
}

/// One item's outcome in a [`CatalogPushReport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogPushed {
    /// The item's origin (as given).
    pub origin: ExternalRef,
    /// Its id in the CRM.
    pub crm_id: String,
    /// What the push did to it.
    pub action: PushAction,
}

/// What a catalog push did to one item. Serialised as the strings below, which the engine also
/// counts by and which appear in journal details; [`PushAction::as_str`] is the one mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PushAction {
    /// `created`: the CRM had no such product; it was added.
    Created,
    /// `updated`: the bound product was written.
    Updated,
    /// `adopted`: an unbound product was found by its origin, then updated (a lost binding).
    Adopted,
}

impl PushAction {
    /// Every action.
    pub const ALL: [PushAction; 3] = [
        PushAction::Created,
        PushAction::Updated,
        PushAction::Adopted,
    ];

    /// The action's name: `created`, `updated` or `adopted`.
    pub fn as_str(self) -> &'static str {
        match self {
            PushAction::Created => "created",
            PushAction::Updated => "updated",
            PushAction::Adopted => "adopted",
        }
    }
}

impl std::fmt::Display for PushAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for PushAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        PushAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!("unknown catalog push action {s:?}; expected created, updated or adopted")
            })
    }
}

/// What to set on a store's product or variant with this SKU; `None` leaves a field alone.
#[derive(Debug, Clone, PartialEq)]
pub struct SkuUpdate {
    /// The SKU, exactly as in the store.
    pub sku: String,
    /// New regular price.
    pub regular_price: Option<Decimal>,
    /// New stock quantity (stores keep integers: truncated toward zero).
    pub stock_quantity: Option<Decimal>,
}

impl SkuUpdate {
    /// Merges updates per SKU, the last value of each field winning, in SKU order: the same SKU
    /// may come from two 1C items, and a store is written once per SKU.
    pub fn merge(items: &[SkuUpdate]) -> std::collections::BTreeMap<String, SkuUpdate> {
        let mut wanted: std::collections::BTreeMap<String, SkuUpdate> = Default::default();
        for i in items {
            let e = wanted.entry(i.sku.clone()).or_insert_with(|| SkuUpdate {
                sku: i.sku.clone(),
                regular_price: None,
                stock_quantity: None,
            });
            if i.regular_price.is_some() {
                e.regular_price = i.regular_price;
            }
            if i.stock_quantity.is_some() {
                e.stock_quantity = i.stock_quantity;
            }
        }
        wanted
    }
}

/// What a price/stock push did, per SKU.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PushReport {
    /// SKUs written.
    pub updated: Vec<String>,
    /// SKUs found with the wanted values already: not written.
    pub unchanged: Vec<String>,
    /// SKUs no product or variant has.
    pub not_found: Vec<String>,
    /// SKUs the store refused or that cannot be written (a variable parent product), with the
    /// reason.
    pub failed: Vec<(String, String)>,
}

/// A change the engine wants made to a store order (the CRM / 1C → store direction).
/// `None` fields are left as they are.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OrderChange {
    /// New status in the store's own vocabulary (`completed`, `processing`).
    pub status: Option<String>,
    /// The full new set of lines: lines not listed are removed, new ones added.
    pub lines: Option<Vec<OrderLine>>,
    /// Mark the order paid (WooCommerce `set_paid`, Shopify capture / mark as paid).
    pub paid: Option<bool>,
    /// A note to add to the order (visible to the shop owner, not the customer).
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are counted by the engine and written into journal details; a rename is a
    /// visible change, so they are spelled out here.
    #[test]
    fn push_actions_keep_their_names() {
        let want = [
            (PushAction::Created, "created"),
            (PushAction::Updated, "updated"),
            (PushAction::Adopted, "adopted"),
        ];
        assert_eq!(want.len(), PushAction::ALL.len());
        for (action, text) in want {
            assert_eq!(action.as_str(), text);
            assert_eq!(action.to_string(), text);
            assert_eq!(text.parse::<PushAction>(), Ok(action));
            assert_eq!(serde_json::to_value(action).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<PushAction>(text.into()).unwrap(),
                action
            );
        }
        assert!("Created".parse::<PushAction>().is_err());
    }
}
