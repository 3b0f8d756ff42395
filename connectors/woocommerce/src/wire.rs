//! WooCommerce REST v3 order JSON, as the service sends and accepts it.
//!
//! Money stays as the decimal *strings* WooCommerce sends (`"29.35"`); [`crate::convert`] parses
//! them, so a malformed amount becomes an error naming the order and the field instead of a
//! whole-page deserialisation failure. Dates are the site-local `YYYY-MM-DDTHH:MM:SS` without an
//! offset, each with a `*_gmt` twin; we only trust the `_gmt` ones. Unknown fields are ignored,
//! and most fields default when missing, because plugins add and remove fields freely.

use chrono::NaiveDateTime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A number WooCommerce may send as a JSON number (`"price": 12`, `21.99`) or as a string.
/// The text is kept exactly as sent so it can be parsed into a `Decimal` without going
/// through a float.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Num(pub String);

impl Num {
    /// The number's text as sent (`"12"`, `"21.99"`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<u64> for Num {
    fn from(v: u64) -> Self {
        Num(v.to_string())
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => Ok(Num(n.to_string())),
            serde_json::Value::String(s) => Ok(Num(s)),
            serde_json::Value::Null => Ok(Num(String::new())),
            other => Err(serde::de::Error::custom(format!(
                "expected a number or a numeric string, got {other}"
            ))),
        }
    }
}

impl Serialize for Num {
    /// Written as a JSON number, as WooCommerce does; text that is not a number (never produced
    /// by us) is written as a string rather than lost.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match serde_json::from_str::<serde_json::Number>(&self.0) {
            Ok(n) => n.serialize(s),
            Err(_) => s.serialize_str(&self.0),
        }
    }
}

/// `{"id", "key", "value"}` metadata entry on an order or an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaData {
    /// Meta id (absent when creating).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// Meta key; a leading `_` marks it private in WooCommerce.
    pub key: String,
    /// Any JSON value.
    #[serde(default)]
    pub value: serde_json::Value,
}

/// Billing address and contact of an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Billing {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Company.
    pub company: String,
    /// Address line 1.
    pub address_1: String,
    /// Address line 2.
    pub address_2: String,
    /// City.
    pub city: String,
    /// State / region code.
    pub state: String,
    /// Postcode.
    pub postcode: String,
    /// ISO 3166 alpha-2 country code.
    pub country: String,
    /// E-mail as typed by the buyer (may be mixed case).
    pub email: String,
    /// Phone as typed by the buyer.
    pub phone: String,
}

/// Shipping address of an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shipping {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Company.
    pub company: String,
    /// Address line 1.
    pub address_1: String,
    /// Address line 2.
    pub address_2: String,
    /// City.
    pub city: String,
    /// State / region code.
    pub state: String,
    /// Postcode.
    pub postcode: String,
    /// ISO 3166 alpha-2 country code.
    pub country: String,
    /// Shipping phone (newer WooCommerce versions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// One tax amount on an item (`taxes[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemTax {
    /// Tax rate id.
    pub id: u64,
    /// Tax on the line total.
    pub total: String,
    /// Tax on the line subtotal.
    pub subtotal: String,
}

/// A product line of an order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineItem {
    /// Item id (unique across the shop's order items).
    pub id: u64,
    /// Product name as ordered.
    pub name: String,
    /// Product id; 0 for a line with no catalog product.
    pub product_id: u64,
    /// Variation id; 0 for a simple product.
    pub variation_id: u64,
    /// Quantity (an integer in stock WooCommerce; plugins allow fractions).
    pub quantity: Num,
    /// Tax class slug.
    pub tax_class: String,
    /// Line total before discounts, tax excluded.
    pub subtotal: String,
    /// Tax on the subtotal.
    pub subtotal_tax: String,
    /// Line total after discounts, tax excluded.
    pub total: String,
    /// Tax on the total.
    pub total_tax: String,
    /// Per-rate taxes.
    pub taxes: Vec<ItemTax>,
    /// Item metadata (variation attributes and plugin data).
    pub meta_data: Vec<MetaData>,
    /// Product SKU; `null` when the product no longer exists.
    pub sku: Option<String>,
    /// `total / quantity` as a JSON number (a PHP float).
    pub price: Num,
}

/// A tax line of an order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxLine {
    /// Item id.
    pub id: u64,
    /// Rate code (`US-CA-STATE TAX`).
    pub rate_code: String,
    /// Rate id.
    pub rate_id: u64,
    /// Label.
    pub label: String,
    /// Compound rate.
    pub compound: bool,
    /// Tax on items.
    pub tax_total: String,
    /// Tax on shipping.
    pub shipping_tax_total: String,
    /// Metadata.
    pub meta_data: Vec<MetaData>,
}

/// A shipping line of an order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShippingLine {
    /// Item id.
    pub id: u64,
    /// Shipping method title.
    pub method_title: String,
    /// Shipping method id (`flat_rate`).
    pub method_id: String,
    /// Shipping total, tax excluded.
    pub total: String,
    /// Tax on shipping.
    pub total_tax: String,
    /// Per-rate taxes.
    pub taxes: Vec<serde_json::Value>,
    /// Metadata.
    pub meta_data: Vec<MetaData>,
}

/// A fee line of an order (a surcharge such as a payment fee).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeeLine {
    /// Item id.
    pub id: u64,
    /// Fee name.
    pub name: String,
    /// Tax class slug.
    pub tax_class: String,
    /// `taxable` or `none`.
    pub tax_status: String,
    /// Fee total, tax excluded.
    pub total: String,
    /// Tax on the fee.
    pub total_tax: String,
    /// Per-rate taxes.
    pub taxes: Vec<serde_json::Value>,
    /// Metadata.
    pub meta_data: Vec<MetaData>,
}

/// A coupon applied to an order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CouponLine {
    /// Item id.
    pub id: u64,
    /// Coupon code.
    pub code: String,
    /// Discount amount, tax excluded.
    pub discount: String,
    /// Tax part of the discount.
    pub discount_tax: String,
    /// Metadata.
    pub meta_data: Vec<MetaData>,
}

/// A refund summary inside an order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RefundRef {
    /// Refund id.
    pub id: u64,
    /// Reason given.
    pub reason: String,
    /// Refunded amount (negative, as WooCommerce writes it: `"-10.00"`).
    pub total: String,
}

/// A WooCommerce order as `GET /wp-json/wc/v3/orders/<id>` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WooOrder {
    /// Order id.
    pub id: u64,
    /// Parent order id (0 for none).
    #[serde(default)]
    pub parent_id: u64,
    /// Order number shown to people (the id unless a plugin renumbers).
    #[serde(default)]
    pub number: String,
    /// Order key (`wc_order_…`).
    #[serde(default)]
    pub order_key: String,
    /// How the order was made (`checkout`, `rest-api`, `admin`).
    #[serde(default)]
    pub created_via: String,
    /// WooCommerce version that last wrote the order.
    #[serde(default)]
    pub version: String,
    /// Status slug (`pending`, `processing`, `on-hold`, `completed`, …).
    pub status: String,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Created, site-local time.
    pub date_created: NaiveDateTime,
    /// Created, GMT.
    pub date_created_gmt: NaiveDateTime,
    /// Last modified, site-local time.
    pub date_modified: NaiveDateTime,
    /// Last modified, GMT.
    pub date_modified_gmt: NaiveDateTime,
    /// Discount total.
    #[serde(default)]
    pub discount_total: String,
    /// Discount tax.
    #[serde(default)]
    pub discount_tax: String,
    /// Shipping total.
    #[serde(default)]
    pub shipping_total: String,
    /// Shipping tax.
    #[serde(default)]
    pub shipping_tax: String,
    /// Tax on items.
    #[serde(default)]
    pub cart_tax: String,
    /// Grand total.
    pub total: String,
    /// All tax.
    #[serde(default)]
    pub total_tax: String,
    /// Whether prices were entered with tax.
    #[serde(default)]
    pub prices_include_tax: bool,
    /// Customer user id; 0 for a guest.
    #[serde(default)]
    pub customer_id: u64,
    /// Buyer's IP.
    #[serde(default)]
    pub customer_ip_address: String,
    /// Buyer's browser.
    #[serde(default)]
    pub customer_user_agent: String,
    /// Note the buyer left at checkout.
    #[serde(default)]
    pub customer_note: String,
    /// Billing address and contact.
    #[serde(default)]
    pub billing: Billing,
    /// Shipping address.
    #[serde(default)]
    pub shipping: Shipping,
    /// Payment method id (`bacs`, `cod`).
    #[serde(default)]
    pub payment_method: String,
    /// Payment method title.
    #[serde(default)]
    pub payment_method_title: String,
    /// Gateway transaction id.
    #[serde(default)]
    pub transaction_id: String,
    /// Paid, site-local time.
    #[serde(default)]
    pub date_paid: Option<NaiveDateTime>,
    /// Paid, GMT.
    #[serde(default)]
    pub date_paid_gmt: Option<NaiveDateTime>,
    /// Completed, site-local time.
    #[serde(default)]
    pub date_completed: Option<NaiveDateTime>,
    /// Completed, GMT.
    #[serde(default)]
    pub date_completed_gmt: Option<NaiveDateTime>,
    /// Cart hash.
    #[serde(default)]
    pub cart_hash: String,
    /// Order metadata (UTM attribution lives here: `_wc_order_attribution_*`).
    #[serde(default)]
    pub meta_data: Vec<MetaData>,
    /// Product lines.
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    /// Tax lines.
    #[serde(default)]
    pub tax_lines: Vec<TaxLine>,
    /// Shipping lines.
    #[serde(default)]
    pub shipping_lines: Vec<ShippingLine>,
    /// Fee lines.
    #[serde(default)]
    pub fee_lines: Vec<FeeLine>,
    /// Coupons.
    #[serde(default)]
    pub coupon_lines: Vec<CouponLine>,
    /// Refunds.
    #[serde(default)]
    pub refunds: Vec<RefundRef>,
    /// HAL-style links (`self`, `collection`, `customer`).
    #[serde(
        default,
        rename = "_links",
        skip_serializing_if = "serde_json::Value::is_null"
    )]
    pub links: serde_json::Value,
}

/// The error body of the WordPress REST API: `{"code","message","data":{"status"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WooError {
    /// Machine code (`woocommerce_rest_shop_order_invalid_id`, `rest_invalid_param`).
    pub code: String,
    /// Human message.
    pub message: String,
    /// `{"status": 404, "params": {...}}`.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl WooError {
    /// The HTTP status inside `data`, if present.
    pub fn status(&self) -> Option<u16> {
        self.data
            .get("status")
            .and_then(|s| s.as_u64())
            .and_then(|s| u16::try_from(s).ok())
    }
}

/// Body of `POST /orders` (a subset of the writable order fields; all optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    /// Status; WooCommerce defaults to `pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Currency; defaults to the shop's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Customer user id (0 = guest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<u64>,
    /// Buyer's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_note: Option<String>,
    /// Billing address and contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing: Option<Billing>,
    /// Shipping address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<Shipping>,
    /// Payment method id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<String>,
    /// Payment method title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method_title: Option<String>,
    /// Gateway transaction id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Mark paid: status becomes `processing` and `date_paid` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_paid: Option<bool>,
    /// Product lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_items: Vec<NewLineItem>,
    /// Shipping lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shipping_lines: Vec<NewShippingLine>,
    /// Fee lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fee_lines: Vec<NewFeeLine>,
    /// Coupons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coupon_lines: Vec<NewCouponLine>,
    /// Order metadata.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_data: Vec<MetaData>,
}

/// A product line to create. WooCommerce prices it from the catalog unless `subtotal`/`total`
/// are given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewLineItem {
    /// Product id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<u64>,
    /// Variation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variation_id: Option<u64>,
    /// Quantity; defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
    /// Name override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// SKU (WooCommerce can look the product up by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Line subtotal override (before discounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtotal: Option<String>,
    /// Line total override (after discounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
}

/// A shipping line to create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewShippingLine {
    /// Method id (`flat_rate`).
    pub method_id: String,
    /// Method title.
    pub method_title: String,
    /// Shipping total.
    pub total: String,
}

/// A fee line to create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewFeeLine {
    /// Fee name.
    pub name: String,
    /// Fee total.
    pub total: String,
}

/// A coupon to apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewCouponLine {
    /// Coupon code.
    pub code: String,
}

/// An order note (`GET/POST /orders/<id>/notes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderNote {
    /// Note id.
    pub id: u64,
    /// Who wrote it (`system` or the user's name).
    #[serde(default)]
    pub author: String,
    /// Created, site-local time.
    #[serde(default)]
    pub date_created: Option<NaiveDateTime>,
    /// Created, GMT.
    #[serde(default)]
    pub date_created_gmt: Option<NaiveDateTime>,
    /// The note text.
    pub note: String,
    /// `true` when the customer was e-mailed the note; `false` for a private note.
    #[serde(default)]
    pub customer_note: bool,
}

/// An order refund (`GET /orders/<id>/refunds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WooRefund {
    /// Refund id.
    pub id: u64,
    /// Created, site-local time.
    #[serde(default)]
    pub date_created: Option<NaiveDateTime>,
    /// Created, GMT.
    #[serde(default)]
    pub date_created_gmt: Option<NaiveDateTime>,
    /// Refunded amount, positive (`"10.00"`).
    pub amount: String,
    /// Reason given.
    #[serde(default)]
    pub reason: String,
    /// User id who refunded.
    #[serde(default)]
    pub refunded_by: u64,
    /// Whether the gateway refunded the money (`false` for a manual refund).
    #[serde(default)]
    pub refunded_payment: bool,
}

/// A product or a variation, as `GET /products` (and `/products/<id>/variations`) returns it:
/// only the fields dealbridge reads or writes. `GET /products?sku=a,b` returns variations too
/// (`type` `variation`, `parent_id` set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WooProduct {
    /// Product or variation id.
    pub id: u64,
    /// Name (variations: `Parent - Attr`).
    #[serde(default)]
    pub name: String,
    /// `simple`, `variable`, `grouped`, `external`, or `variation`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// `publish`, `draft`, `pending`, `private`.
    #[serde(default)]
    pub status: String,
    /// The parent product of a variation; 0 otherwise.
    #[serde(default)]
    pub parent_id: u64,
    /// SKU; `""` when unset.
    #[serde(default)]
    pub sku: String,
    /// Current price (read-only; the sale price when on sale).
    #[serde(default)]
    pub price: String,
    /// Regular price (decimal string; `""` when unset).
    #[serde(default)]
    pub regular_price: String,
    /// Sale price.
    #[serde(default)]
    pub sale_price: String,
    /// Whether stock is tracked.
    #[serde(default)]
    pub manage_stock: ManageStock,
    /// Stock quantity when tracked.
    #[serde(default)]
    pub stock_quantity: Option<i64>,
    /// `instock`, `outofstock`, `onbackorder`.
    #[serde(default)]
    pub stock_status: String,
    /// Variation ids of a variable product. WooCommerce lists only enabled and disabled
    /// (`publish`/`private`) variations here, so a trashed product's list is empty.
    #[serde(default)]
    pub variations: Vec<u64>,
    /// Attributes: on a product, each with its `options`; on a variation, each with the one
    /// `option` it takes (an attribute left at "Any …" is absent).
    #[serde(default)]
    pub attributes: Vec<ProductAttribute>,
    /// Last modified, GMT.
    #[serde(default)]
    pub date_modified_gmt: Option<NaiveDateTime>,
}

/// A product attribute (`Color`) as a product (`options`) or a variation (`option`) carries it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProductAttribute {
    /// Attribute id; 0 for a custom (product-level) attribute.
    #[serde(default)]
    pub id: u64,
    /// Attribute name (`Color`).
    #[serde(default)]
    pub name: String,
    /// The value a variation takes (`Green`); absent on a product's attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// The values a product offers (`["Black", "Green"]`); absent on a variation's attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// The shop's currency, as `GET /data/currencies/current` answers (WooCommerce 3.5+).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WooCurrency {
    /// ISO 4217 code (`RUB`), WooCommerce > Settings > General > Currency.
    pub code: String,
    /// Display name (`Russian ruble`).
    #[serde(default)]
    pub name: String,
    /// Symbol (`&#8381;`, HTML-encoded as WooCommerce sends it).
    #[serde(default)]
    pub symbol: String,
}

/// `manage_stock`: a bool on products; on variations also the string `"parent"` (stock managed
/// at the parent product).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ManageStock {
    /// Not tracked.
    #[default]
    No,
    /// Tracked on this product or variation.
    Yes,
    /// A variation whose stock the parent product tracks.
    Parent,
}

impl ManageStock {
    /// True when this record itself tracks stock.
    pub fn is_yes(self) -> bool {
        self == ManageStock::Yes
    }
}

impl Serialize for ManageStock {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ManageStock::No => s.serialize_bool(false),
            ManageStock::Yes => s.serialize_bool(true),
            ManageStock::Parent => s.serialize_str("parent"),
        }
    }
}

impl<'de> Deserialize<'de> for ManageStock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(true) => ManageStock::Yes,
            serde_json::Value::String(s) if s == "parent" => ManageStock::Parent,
            serde_json::Value::String(s) if s == "true" || s == "yes" => ManageStock::Yes,
            _ => ManageStock::No,
        })
    }
}

/// A customer (`GET /customers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WooCustomer {
    /// User id.
    pub id: u64,
    /// E-mail.
    #[serde(default)]
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Role (`customer`).
    #[serde(default)]
    pub role: String,
    /// Login.
    #[serde(default)]
    pub username: String,
    /// Billing address and contact.
    #[serde(default)]
    pub billing: Billing,
    /// Shipping address.
    #[serde(default)]
    pub shipping: Shipping,
    /// Whether the customer has paid for an order.
    #[serde(default)]
    pub is_paying_customer: bool,
    /// Created, GMT.
    #[serde(default)]
    pub date_created_gmt: Option<NaiveDateTime>,
    /// Last modified, GMT.
    #[serde(default)]
    pub date_modified_gmt: Option<NaiveDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn num_keeps_the_text_of_numbers_and_strings() {
        let n: Num = serde_json::from_str("21.99").unwrap();
        assert_eq!(n.as_str(), "21.99");
        let n: Num = serde_json::from_str("\"3.00\"").unwrap();
        assert_eq!(n.as_str(), "3.00");
        assert_eq!(serde_json::to_string(&Num("12".into())).unwrap(), "12");
    }

    #[test]
    fn error_body_status() {
        let e: WooError = serde_json::from_str(
            r#"{"code":"rest_no_route","message":"No route","data":{"status":404}}"#,
        )
        .unwrap();
        assert_eq!(e.status(), Some(404));
    }
}
