//! Shopify Admin REST resources as Shopify sends them.
//!
//! Money is a decimal *string* (`"409.94"`) and is read into `Decimal` without passing through a
//! float; a JSON number (tax `rate: 0.06`) is read from its literal text for the same reason.
//! Newer API versions add `*_set` MoneyBags (shop and presentment currency); they are optional
//! here because older payloads (and the SDK fixtures) lack them. Fields Shopify may omit or
//! null are `Option` or defaulted, so a payload trimmed by `fields=` or `include_fields` parses.

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Decimal (de)serialisation: written as a string, read from a string or a JSON number.
pub mod money {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::str::FromStr;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(serde_json::Number),
    }

    fn parse<E: serde::de::Error>(raw: Raw) -> Result<Decimal, E> {
        let text = match raw {
            Raw::Text(t) => t,
            Raw::Number(n) => n.to_string(),
        };
        let t = text.trim();
        Decimal::from_str(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map_err(|e| E::custom(format!("`{text}` is not a decimal amount: {e}")))
    }

    /// Writes the decimal as a string, as Shopify does.
    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_string())
    }

    /// Reads a string or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        parse(Raw::deserialize(d)?)
    }

    /// The same for `Option<Decimal>` (null or absent → `None`).
    pub mod opt {
        use super::*;

        /// Writes `null` or the decimal as a string.
        pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_str(&d.to_string()),
                None => s.serialize_none(),
            }
        }

        /// Reads null, a string or a number.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            match Option::<Raw>::deserialize(d)? {
                None => Ok(None),
                Some(Raw::Text(t)) if t.trim().is_empty() => Ok(None),
                Some(raw) => parse(raw).map(Some),
            }
        }
    }
}

/// An amount in one currency, inside a [`MoneyBag`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoneyAmount {
    /// The amount.
    #[serde(with = "money")]
    pub amount: Decimal,
    /// ISO 4217 code.
    pub currency_code: String,
}

/// Shopify's two-currency amount: the shop's currency and the buyer's (presentment) one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MoneyBag {
    /// In the shop's currency.
    pub shop_money: MoneyAmount,
    /// In the currency the buyer saw.
    pub presentment_money: MoneyAmount,
}

/// A tax line of an order, line item or shipping line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaxLine {
    /// Tax name (`State Tax`).
    #[serde(default)]
    pub title: String,
    /// Tax amount.
    #[serde(with = "money")]
    pub price: Decimal,
    /// Rate as a fraction (`0.06`).
    #[serde(with = "money::opt", default)]
    pub rate: Option<Decimal>,
    /// The amount as a MoneyBag (newer versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_set: Option<MoneyBag>,
}

/// A discount code applied to the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscountCode {
    /// The code as typed.
    pub code: String,
    /// Amount it took off.
    #[serde(with = "money")]
    pub amount: Decimal,
    /// `fixed_amount`, `percentage` or `shipping`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// The share of one discount application that fell on a line or shipping line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscountAllocation {
    /// Amount allocated.
    #[serde(with = "money")]
    pub amount: Decimal,
    /// The amount as a MoneyBag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_set: Option<MoneyBag>,
    /// Index into the order's `discount_applications`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_application_index: Option<u32>,
}

/// A custom property of a line item; the value is usually text but can be any JSON
/// (see the `order_with_properties` fixture, where it is an object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Property {
    /// Property name.
    pub name: String,
    /// Property value, as sent.
    pub value: Value,
}

/// A name/value pair on the order (`note_attributes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteAttribute {
    /// Name.
    pub name: String,
    /// Value, as sent.
    pub value: Value,
}

/// One line item of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    /// Line id.
    pub id: u64,
    /// Product id; null for custom items or deleted products.
    #[serde(default)]
    pub product_id: Option<u64>,
    /// Variant id; null for custom items.
    #[serde(default)]
    pub variant_id: Option<u64>,
    /// Product title.
    #[serde(default)]
    pub title: String,
    /// Variant title (`green`).
    #[serde(default)]
    pub variant_title: Option<String>,
    /// Product and variant title together.
    #[serde(default)]
    pub name: Option<String>,
    /// SKU; may be empty.
    #[serde(default)]
    pub sku: Option<String>,
    /// Vendor.
    #[serde(default)]
    pub vendor: Option<String>,
    /// Quantity ordered; Shopify keeps it as ordered when the order is edited later.
    pub quantity: i64,
    /// The quantity now, after order edits and removals (REST since 2024-01; absent in older
    /// payloads, then `quantity` is current). 0 means the line was removed by an edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_quantity: Option<i64>,
    /// Units still to fulfil.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillable_quantity: Option<i64>,
    /// Unit price before discounts; tax-inclusive when the order's `taxes_included`.
    #[serde(with = "money")]
    pub price: Decimal,
    /// Unit price as a MoneyBag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_set: Option<MoneyBag>,
    /// Line-level discount total (older field; newer versions use `discount_allocations`).
    #[serde(with = "money::opt", default, skip_serializing_if = "Option::is_none")]
    pub total_discount: Option<Decimal>,
    /// Line-level discount total as a MoneyBag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_discount_set: Option<MoneyBag>,
    /// Discounts allocated to this line.
    #[serde(default)]
    pub discount_allocations: Vec<DiscountAllocation>,
    /// Taxes on this line.
    #[serde(default)]
    pub tax_lines: Vec<TaxLine>,
    /// Whether the line is taxable.
    #[serde(default)]
    pub taxable: bool,
    /// Whether it needs shipping.
    #[serde(default)]
    pub requires_shipping: bool,
    /// Weight in grams.
    #[serde(default)]
    pub grams: Option<i64>,
    /// Gift card line.
    #[serde(default)]
    pub gift_card: bool,
    /// Fulfilment state of the line.
    #[serde(default)]
    pub fulfillment_status: Option<String>,
    /// Custom properties.
    #[serde(default)]
    pub properties: Vec<Property>,
}

/// A shipping line of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShippingLine {
    /// Line id (absent in old payloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Rate code.
    #[serde(default)]
    pub code: Option<String>,
    /// Rate title.
    #[serde(default)]
    pub title: String,
    /// Price before shipping discounts; tax-inclusive when the order's `taxes_included`.
    #[serde(with = "money")]
    pub price: Decimal,
    /// Price as a MoneyBag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_set: Option<MoneyBag>,
    /// Price after shipping discounts.
    #[serde(with = "money::opt", default, skip_serializing_if = "Option::is_none")]
    pub discounted_price: Option<Decimal>,
    /// Where the rate came from.
    #[serde(default)]
    pub source: Option<String>,
    /// Discounts allocated to shipping.
    #[serde(default)]
    pub discount_allocations: Vec<DiscountAllocation>,
    /// Taxes on shipping.
    #[serde(default)]
    pub tax_lines: Vec<TaxLine>,
}

/// A postal address (billing, shipping, customer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// Address id (customer addresses only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Company.
    #[serde(default)]
    pub company: Option<String>,
    /// Street line 1.
    #[serde(default)]
    pub address1: Option<String>,
    /// Street line 2.
    #[serde(default)]
    pub address2: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Province / state.
    #[serde(default)]
    pub province: Option<String>,
    /// Province code.
    #[serde(default)]
    pub province_code: Option<String>,
    /// Country name.
    #[serde(default)]
    pub country: Option<String>,
    /// ISO country code.
    #[serde(default)]
    pub country_code: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub zip: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Latitude: a string in old payloads, a number in new ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<Value>,
    /// Longitude, like latitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<Value>,
    /// Whether it is the customer's default address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
}

/// A customer, standalone (`customers/{id}.json`) or embedded in an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Customer id.
    pub id: u64,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Phone (E.164).
    #[serde(default)]
    pub phone: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// Account state (`disabled`, `enabled`, `invited`).
    #[serde(default)]
    pub state: Option<String>,
    /// Comma-separated tags.
    #[serde(default)]
    pub tags: Option<String>,
    /// Staff note.
    #[serde(default)]
    pub note: Option<String>,
    /// Orders placed.
    #[serde(default)]
    pub orders_count: Option<u64>,
    /// Lifetime spend.
    #[serde(with = "money::opt", default)]
    pub total_spent: Option<Decimal>,
    /// Default address.
    #[serde(default)]
    pub default_address: Option<Address>,
    /// All addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
}

/// An order (`orders.json`, `orders/{id}.json`, and the `orders/*` webhook body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopifyOrder {
    /// Order id.
    pub id: u64,
    /// GraphQL id (`gid://shopify/Order/…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_graphql_api_id: Option<String>,
    /// Display name (`#1001`).
    #[serde(default)]
    pub name: Option<String>,
    /// Order number (`1001`).
    #[serde(default)]
    pub order_number: Option<u64>,
    /// Buyer e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Buyer phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Shop currency of all plain amounts.
    pub currency: String,
    /// Currency the buyer saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presentment_currency: Option<String>,
    /// Placed.
    pub created_at: DateTime<FixedOffset>,
    /// Last changed (delta polling compares this).
    pub updated_at: DateTime<FixedOffset>,
    /// Processed (payment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<DateTime<FixedOffset>>,
    /// Cancelled.
    #[serde(default)]
    pub cancelled_at: Option<DateTime<FixedOffset>>,
    /// Why cancelled (`customer`, `fraud`, `inventory`, `declined`, `other`).
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// Closed (archived).
    #[serde(default)]
    pub closed_at: Option<DateTime<FixedOffset>>,
    /// `pending`, `authorized`, `paid`, `partially_refunded`, `refunded`, `voided`, …
    #[serde(default)]
    pub financial_status: Option<String>,
    /// `null`, `partial`, `fulfilled`, …
    #[serde(default)]
    pub fulfillment_status: Option<String>,
    /// Whether line and shipping prices include tax.
    #[serde(default)]
    pub taxes_included: bool,
    /// Grand total.
    #[serde(with = "money")]
    pub total_price: Decimal,
    /// Lines after discounts, before shipping (and before tax unless tax-inclusive).
    #[serde(with = "money::opt", default)]
    pub subtotal_price: Option<Decimal>,
    /// Sum of line prices × quantities, before discounts.
    #[serde(with = "money::opt", default)]
    pub total_line_items_price: Option<Decimal>,
    /// Tax total.
    #[serde(with = "money::opt", default)]
    pub total_tax: Option<Decimal>,
    /// Discount total.
    #[serde(with = "money::opt", default)]
    pub total_discounts: Option<Decimal>,
    /// Grand total now: reflects order edits, returns and refunds (`total_price` stays as
    /// placed). Absent in old payloads.
    #[serde(with = "money::opt", default, skip_serializing_if = "Option::is_none")]
    pub current_total_price: Option<Decimal>,
    /// Subtotal now (after edits), like `subtotal_price`.
    #[serde(with = "money::opt", default, skip_serializing_if = "Option::is_none")]
    pub current_subtotal_price: Option<Decimal>,
    /// Tax total now (after edits).
    #[serde(with = "money::opt", default, skip_serializing_if = "Option::is_none")]
    pub current_total_tax: Option<Decimal>,
    /// Discount total now (after edits).
    #[serde(with = "money::opt", default, skip_serializing_if = "Option::is_none")]
    pub current_total_discounts: Option<Decimal>,
    /// Grand total as a MoneyBag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_price_set: Option<MoneyBag>,
    /// Subtotal as a MoneyBag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtotal_price_set: Option<MoneyBag>,
    /// Tax total as a MoneyBag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tax_set: Option<MoneyBag>,
    /// Discount total as a MoneyBag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_discounts_set: Option<MoneyBag>,
    /// Shipping total after shipping discounts, as a MoneyBag (newer versions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_shipping_price_set: Option<MoneyBag>,
    /// Line total as a MoneyBag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_line_items_price_set: Option<MoneyBag>,
    /// Staff-visible note.
    #[serde(default)]
    pub note: Option<String>,
    /// Comma-separated tags.
    #[serde(default)]
    pub tags: String,
    /// Channel (`web`, `pos`, `shopify_draft_order`, an app id).
    #[serde(default)]
    pub source_name: Option<String>,
    /// Payment gateway (old field).
    #[serde(default)]
    pub gateway: Option<String>,
    /// Payment gateways used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payment_gateway_names: Vec<String>,
    /// Line items.
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    /// Shipping lines.
    #[serde(default)]
    pub shipping_lines: Vec<ShippingLine>,
    /// Discount codes.
    #[serde(default)]
    pub discount_codes: Vec<DiscountCode>,
    /// Discount applications (kept raw: their shape varies by type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discount_applications: Vec<Value>,
    /// Order-level tax lines.
    #[serde(default)]
    pub tax_lines: Vec<TaxLine>,
    /// The buyer's account, if any.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// Billing address.
    #[serde(default)]
    pub billing_address: Option<Address>,
    /// Shipping address.
    #[serde(default)]
    pub shipping_address: Option<Address>,
    /// Cart attributes.
    #[serde(default)]
    pub note_attributes: Vec<NoteAttribute>,
}

/// A payment transaction of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// Transaction id.
    pub id: u64,
    /// Order it belongs to.
    #[serde(default)]
    pub order_id: Option<u64>,
    /// `authorization`, `sale`, `capture`, `void`, `refund` (GraphQL adds `change`, …).
    pub kind: String,
    /// `pending`, `success`, `failure`, `error`.
    #[serde(default)]
    pub status: Option<String>,
    /// Amount.
    #[serde(with = "money")]
    pub amount: Decimal,
    /// Currency (absent in old payloads: then the order's).
    #[serde(default)]
    pub currency: Option<String>,
    /// Gateway.
    #[serde(default)]
    pub gateway: Option<String>,
    /// Created.
    pub created_at: DateTime<FixedOffset>,
    /// Processed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<DateTime<FixedOffset>>,
    /// Gateway authorization code.
    #[serde(default)]
    pub authorization: Option<String>,
    /// The transaction this one captures, voids or refunds.
    #[serde(default)]
    pub parent_id: Option<u64>,
    /// Test mode.
    #[serde(default)]
    pub test: bool,
    /// Gateway message.
    #[serde(default)]
    pub message: Option<String>,
    /// Gateway error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Card details (masked), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_details: Option<Value>,
    /// Gateway receipt, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Value>,
}

/// A tender transaction (money actually moved; `tender_transactions.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenderTransaction {
    /// Id.
    pub id: u64,
    /// Order.
    pub order_id: u64,
    /// Amount (negative for refunds).
    #[serde(with = "money")]
    pub amount: Decimal,
    /// Currency.
    pub currency: String,
    /// When processed.
    #[serde(default)]
    pub processed_at: Option<DateTime<FixedOffset>>,
    /// Method (`credit_card`, …).
    #[serde(default)]
    pub payment_method: Option<String>,
    /// Gateway reference.
    #[serde(default)]
    pub remote_reference: Option<String>,
    /// Test mode.
    #[serde(default)]
    pub test: bool,
}

/// A refund; only what the payments side needs (its transactions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    /// Refund id.
    pub id: u64,
    /// Order refunded.
    pub order_id: u64,
    /// When.
    pub created_at: DateTime<FixedOffset>,
    /// Staff note.
    #[serde(default)]
    pub note: Option<String>,
    /// Whether stock was put back.
    #[serde(default)]
    pub restock: Option<bool>,
    /// Refund transactions (kind `refund`).
    #[serde(default)]
    pub transactions: Vec<Transaction>,
    /// Refunded lines, raw.
    #[serde(default)]
    pub refund_line_items: Vec<Value>,
    /// Order adjustments, raw.
    #[serde(default)]
    pub order_adjustments: Vec<Value>,
}

/// A product variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopifyVariant {
    /// Variant id.
    pub id: u64,
    /// Product id.
    #[serde(default)]
    pub product_id: Option<u64>,
    /// Title (`Pink`, `Default Title`).
    #[serde(default)]
    pub title: String,
    /// Price; tax-inclusive or not per the shop's settings.
    #[serde(with = "money")]
    pub price: Decimal,
    /// "Compare at" (list) price.
    #[serde(with = "money::opt", default)]
    pub compare_at_price: Option<Decimal>,
    /// SKU.
    #[serde(default)]
    pub sku: Option<String>,
    /// Barcode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
    /// Position in the product.
    #[serde(default)]
    pub position: Option<u32>,
    /// Inventory item (stock is kept per item and location).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_item_id: Option<u64>,
    /// Stock across locations (deprecated upstream; read-only).
    #[serde(default)]
    pub inventory_quantity: Option<i64>,
    /// `shopify` when Shopify tracks stock.
    #[serde(default)]
    pub inventory_management: Option<String>,
    /// `deny` or `continue` selling when out of stock.
    #[serde(default)]
    pub inventory_policy: Option<String>,
    /// First option value.
    #[serde(default)]
    pub option1: Option<String>,
    /// Second option value.
    #[serde(default)]
    pub option2: Option<String>,
    /// Third option value.
    #[serde(default)]
    pub option3: Option<String>,
    /// Taxable.
    #[serde(default)]
    pub taxable: bool,
    /// Needs shipping.
    #[serde(default)]
    pub requires_shipping: bool,
    /// Weight in grams.
    #[serde(default)]
    pub grams: Option<i64>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// A product option (`Color` with its values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductOption {
    /// Option name.
    pub name: String,
    /// Values (absent in old payloads).
    #[serde(default)]
    pub values: Vec<String>,
}

/// A product with its variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopifyProduct {
    /// Product id.
    pub id: u64,
    /// Title.
    pub title: String,
    /// HTML description.
    #[serde(default)]
    pub body_html: Option<String>,
    /// Vendor.
    #[serde(default)]
    pub vendor: Option<String>,
    /// Product type.
    #[serde(default)]
    pub product_type: Option<String>,
    /// URL handle.
    #[serde(default)]
    pub handle: Option<String>,
    /// `active`, `archived`, `draft` (newer versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Comma-separated tags.
    #[serde(default)]
    pub tags: String,
    /// Created.
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// Published.
    #[serde(default)]
    pub published_at: Option<DateTime<FixedOffset>>,
    /// Variants.
    #[serde(default)]
    pub variants: Vec<ShopifyVariant>,
    /// Options.
    #[serde(default)]
    pub options: Vec<ProductOption>,
    /// Images, raw.
    #[serde(default)]
    pub images: Vec<Value>,
}

/// The shop itself (`GET shop.json`): only what the connector reads is typed, the rest of
/// Shopify's ~60 fields are ignored. `currency` is the shop's own currency, the one every
/// variant `price` and every `shop_money` amount is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopifyShop {
    /// Shop id.
    pub id: u64,
    /// Shop name.
    #[serde(default)]
    pub name: String,
    /// The shop's currency (ISO 4217, `USD`). Optional here so a missing one is reported by
    /// name rather than as a parse failure of the whole body.
    #[serde(default)]
    pub currency: Option<String>,
    /// Primary domain.
    #[serde(default)]
    pub domain: Option<String>,
    /// `<name>.myshopify.com`.
    #[serde(default)]
    pub myshopify_domain: Option<String>,
    /// Whether prices include tax.
    #[serde(default)]
    pub taxes_included: Option<bool>,
    /// Money format (`${{amount}}`).
    #[serde(default)]
    pub money_format: Option<String>,
    /// IANA time zone (`America/New_York`).
    #[serde(default)]
    pub iana_timezone: Option<String>,
}

/// Stock of one inventory item at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryLevel {
    /// Inventory item (a variant's `inventory_item_id`).
    pub inventory_item_id: u64,
    /// Location.
    pub location_id: u64,
    /// Available quantity; null when the item is not tracked.
    #[serde(default)]
    pub available: Option<i64>,
    /// Last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// A location: a shop, warehouse or other place stock is kept (`GET locations.json`). The
/// address fields are as Shopify sends them (mostly nullable); only `id`, `name` and `active`
/// matter to the connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Location id.
    pub id: u64,
    /// Name shown in the admin.
    #[serde(default)]
    pub name: String,
    /// Street address.
    #[serde(default)]
    pub address1: Option<String>,
    /// Second address line.
    #[serde(default)]
    pub address2: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Postal code.
    #[serde(default)]
    pub zip: Option<String>,
    /// Province or state name.
    #[serde(default)]
    pub province: Option<String>,
    /// Province code.
    #[serde(default)]
    pub province_code: Option<String>,
    /// Country code (`US`).
    #[serde(default)]
    pub country: Option<String>,
    /// Country code (`US`).
    #[serde(default)]
    pub country_code: Option<String>,
    /// Country name.
    #[serde(default)]
    pub country_name: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Whether the location is active: only active locations stock and fulfil.
    #[serde(default)]
    pub active: bool,
    /// Whether this is a fulfillment service's location (not the merchant's own).
    #[serde(default)]
    pub legacy: bool,
    /// Created.
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// The GraphQL id (`gid://shopify/Location/…`).
    #[serde(default)]
    pub admin_graphql_api_id: Option<String>,
}

/// A draft order; parsed so operators can inspect it, not converted (a draft is not a sale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftOrder {
    /// Id.
    pub id: u64,
    /// Name (`#D1`).
    #[serde(default)]
    pub name: Option<String>,
    /// `open`, `invoice_sent`, `completed`.
    #[serde(default)]
    pub status: Option<String>,
    /// Currency.
    pub currency: String,
    /// Whether prices include tax.
    #[serde(default)]
    pub taxes_included: bool,
    /// Subtotal.
    #[serde(with = "money")]
    pub subtotal_price: Decimal,
    /// Tax.
    #[serde(with = "money")]
    pub total_tax: Decimal,
    /// Total.
    #[serde(with = "money")]
    pub total_price: Decimal,
    /// Order created from it, once completed.
    #[serde(default)]
    pub order_id: Option<u64>,
    /// Lines, raw (no ids, `applied_discount` per line).
    #[serde(default)]
    pub line_items: Vec<Value>,
    /// The one shipping line, raw.
    #[serde(default)]
    pub shipping_line: Option<Value>,
}

/// A webhook subscription (`webhooks.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookSubscription {
    /// Id.
    pub id: u64,
    /// Delivery address.
    pub address: String,
    /// Topic (`orders/create`).
    pub topic: String,
    /// `json` or `xml`.
    #[serde(default)]
    pub format: Option<String>,
    /// Created.
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Last changed.
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// `{"order": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderEnvelope {
    /// The order.
    pub order: ShopifyOrder,
}

/// `{"orders": […]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrdersEnvelope {
    /// The orders.
    pub orders: Vec<ShopifyOrder>,
}

/// `{"transactions": […]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransactionsEnvelope {
    /// The transactions.
    pub transactions: Vec<Transaction>,
}

/// `{"transaction": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransactionEnvelope {
    /// The transaction.
    pub transaction: Transaction,
}

/// `{"tender_transactions": […]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TenderTransactionsEnvelope {
    /// The tender transactions.
    pub tender_transactions: Vec<TenderTransaction>,
}

/// `{"refunds": […]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundsEnvelope {
    /// The refunds.
    pub refunds: Vec<Refund>,
}

/// `{"refund": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundEnvelope {
    /// The refund.
    pub refund: Refund,
}

/// `{"customer": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerEnvelope {
    /// The customer.
    pub customer: Customer,
}

/// `{"customers": […]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomersEnvelope {
    /// The customers.
    pub customers: Vec<Customer>,
}

/// `{"product": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductEnvelope {
    /// The product.
    pub product: ShopifyProduct,
}

/// `{"shop": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShopEnvelope {
    /// The shop.
    pub shop: ShopifyShop,
}

/// `{"products": […]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductsEnvelope {
    /// The products.
    pub products: Vec<ShopifyProduct>,
}

/// `{"variant": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantEnvelope {
    /// The variant.
    pub variant: ShopifyVariant,
}

/// `{"variants": […]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VariantsEnvelope {
    /// The variants.
    pub variants: Vec<ShopifyVariant>,
}

/// `{"inventory_level": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InventoryLevelEnvelope {
    /// The level.
    pub inventory_level: InventoryLevel,
}

/// `{"inventory_levels": […]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InventoryLevelsEnvelope {
    /// The levels.
    pub inventory_levels: Vec<InventoryLevel>,
}

/// `{"location": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocationEnvelope {
    /// The location.
    pub location: Location,
}

/// `{"locations": […]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocationsEnvelope {
    /// The locations.
    pub locations: Vec<Location>,
}

/// `{"draft_order": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraftOrderEnvelope {
    /// The draft order.
    pub draft_order: DraftOrder,
}

/// `{"webhooks": […]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhooksEnvelope {
    /// The subscriptions.
    pub webhooks: Vec<WebhookSubscription>,
}

/// Shopify's REST error body: `{"errors": "text"}` or `{"errors": {"field": ["msg", …]}}`
/// (sometimes `{"errors": ["msg"]}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopifyErrors {
    /// The errors, as sent.
    pub errors: Value,
}

impl ShopifyErrors {
    /// One line of text: `title: can't be blank; price: expected String to be a Money`.
    pub fn text(&self) -> String {
        fn flat(v: &Value) -> String {
            match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => items.iter().map(flat).collect::<Vec<_>>().join(", "),
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", flat(v)))
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            }
        }
        flat(&self.errors)
    }
}
