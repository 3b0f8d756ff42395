//! The shop's own catalog as CRM catalog items: [`CatalogSource`] for [`WooClient`] (the
//! store → CRM products direction, for shops without 1C).
//!
//! **What comes out.** One [`CatalogItem`] per sellable item, sorted by product id, then
//! variation id:
//! - every product that is not `variable`, `grouped` or `external` (simple products and the
//!   types plugins add), origin id = the product id;
//! - every variation of a variable product (never the parent), origin id = the variation id,
//!   the `variation_id` order lines carry, named `<product name> (<option>, <option>)` from the
//!   variation's attribute values (`#<variation id>` in the brackets when every attribute is
//!   left at "Any …", since such a variation has no value of its own);
//! - `grouped` products are containers and `external` ones are sold on another site: neither
//!   ever appears on an order line, so neither is an item.
//!
//! `price` is `regular_price` (not the sale price: the CRM keeps the list price) in the shop's
//! currency, read from `GET /data/currencies/current` rather than assumed, `None` when the shop
//! has no price for the item. `active` is true only for a `publish`ed product, and for an
//! enabled (`publish`) variation of a published product: drafts, pending, private, scheduled
//! and trashed products, and disabled variations, cannot be bought, so the CRM should stop
//! offering them. `sku` is `None` when empty; `description`, `unit` and `crm_id` are `None`.
//!
//! **Trash.** `GET /products` leaves trashed products out (WordPress' `status=any`), yet the
//! engine only deactivates an item it is given, so trashed products are read too
//! (`status=trash`). WooCommerce trashes the variations with their product and then no longer
//! lists them in its `variations`, so a trashed variable product's variations are asked for
//! with `status=trash` as well.
//!
//! **Calls.** All reads, by id ascending, [`CATALOG_PAGE`] (100, WooCommerce's maximum) a page:
//! 1. `GET /data/currencies/current`: one call;
//! 2. `GET /products?status=any`: `max(1, ceil(products / 100))` calls;
//! 3. `GET /products?status=trash`: `max(1, ceil(trashed / 100))` calls;
//! 4. `GET /products/<id>/variations`: per variable product, `ceil(variations / 100)` calls
//!    (none for a product listing no variations), and `max(1, ceil(variations / 100))` with
//!    `status=trash` for a trashed one.
//!
//! The default emulator catalog (eight simple products, one variable product with two
//! variations) therefore takes 1 + 1 + 1 + 1 = 4 calls.
//!
//! **Consistency.** Pages are by id, so a product created during the read lands on a later
//! page and is not skipped; one trashed during the read may be seen twice (the later read
//! wins) or, between the two listings, not at all, and is then seen by the next run. Any
//! failed call fails the whole read with that call's classified error (a 5xx is
//! [`ErrorKind::Transient`]): a partial catalog would look like deleted products.

use crate::catalog::WooPage;
use crate::client::WooClient;
use crate::wire::{WooCurrency, WooProduct};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::model::{CatalogItem, ExternalRef};
use dealbridge_sdk::money::{parse_decimal, Currency, Money};
use dealbridge_sdk::traits::CatalogSource;
use dealbridge_sdk::{ConnectorError, ErrorKind};
use reqwest::Method;
use std::collections::BTreeMap;

/// Products or variations asked for per page when reading the catalog (WooCommerce's
/// `per_page` maximum).
pub const CATALOG_PAGE: u32 = 100;

/// The query of one page of a listing by status, oldest id first (stable across pages).
fn by_id_query(status: &str, page: u32, per_page: u32) -> [(&'static str, String); 5] {
    [
        ("status", status.to_string()),
        ("page", page.to_string()),
        ("per_page", per_page.clamp(1, 100).to_string()),
        ("orderby", "id".to_string()),
        ("order", "asc".to_string()),
    ]
}

impl WooClient {
    /// `GET /data/currencies/current`: the shop's currency (WooCommerce > Settings > General),
    /// which every product price is in. Needs WooCommerce 3.5+ and a key whose user may read
    /// the shop settings (a shop manager or administrator).
    pub async fn shop_currency(&self) -> Result<Currency, ConnectorError> {
        let what = "read the shop currency (GET data/currencies/current, WooCommerce 3.5+)";
        let req = self.request(Method::GET, "data/currencies/current")?;
        let (current, _): (WooCurrency, _) = self.send(what, req).await?;
        Currency::new(&current.code).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!(
                    "{what}: {e}; set WooCommerce > Settings > General > Currency to the ISO currency the prices are in"
                ),
            )
        })
    }

    /// `GET /products?status=<status>`: one page of products (not variations) by id ascending.
    /// `status` is `any` (everything but the trash), `trash`, `draft`, `pending`, `private`,
    /// `publish` or `future`; `per_page` is clamped to 1–100.
    pub async fn list_products_with_status(
        &self,
        status: &str,
        page: u32,
        per_page: u32,
    ) -> Result<WooPage<WooProduct>, ConnectorError> {
        self.page_of(
            &format!("list products with status {status} (page {page})"),
            "products",
            &by_id_query(status, page, per_page),
        )
        .await
    }

    /// `GET /products/<id>/variations?status=<status>`: one page of a variable product's
    /// variations by id ascending (`any` lists enabled and disabled ones; a trashed product's
    /// variations need `trash`).
    pub async fn list_variations_with_status(
        &self,
        product_id: u64,
        status: &str,
        page: u32,
        per_page: u32,
    ) -> Result<WooPage<WooProduct>, ConnectorError> {
        self.page_of(
            &format!("list variations of product {product_id} with status {status} (page {page})"),
            &format!("products/{product_id}/variations"),
            &by_id_query(status, page, per_page),
        )
        .await
    }

    /// Every page of a listing, stopping at `X-WP-TotalPages` (or at an empty page, should a
    /// proxy strip the header).
    async fn all_pages(
        &self,
        variations_of: Option<u64>,
        status: &str,
    ) -> Result<Vec<WooProduct>, ConnectorError> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let (items, _, pages) = match variations_of {
                None => {
                    self.list_products_with_status(status, page, CATALOG_PAGE)
                        .await?
                }
                Some(id) => {
                    self.list_variations_with_status(id, status, page, CATALOG_PAGE)
                        .await?
                }
            };
            let empty = items.is_empty();
            out.extend(items);
            if empty || page >= pages {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// Every sellable item of the shop as CRM catalog items, in the calls the module docs
    /// count (see there for what is an item, its name, price and `active`).
    pub async fn catalog_items(&self) -> Result<Vec<CatalogItem>, ConnectorError> {
        let currency = self.shop_currency().await?;
        let mut products = self.all_pages(None, "any").await?;
        products.extend(self.all_pages(None, "trash").await?);
        // Keyed (product id, variation id or 0): sorted as promised, and a product read twice
        // (trashed between the two listings) keeps its later state.
        let mut items: BTreeMap<(u64, u64), CatalogItem> = BTreeMap::new();
        for p in &products {
            if p.kind == "grouped" || p.kind == "external" {
                continue;
            }
            if !is_variable(p) {
                items.insert((p.id, 0), product_item(self.system_name(), p, &currency)?);
                continue;
            }
            let variations = if p.status == "trash" {
                self.all_pages(Some(p.id), "trash").await?
            } else if p.variations.is_empty() {
                Vec::new()
            } else {
                self.all_pages(Some(p.id), "any").await?
            };
            for v in &variations {
                items.insert(
                    (p.id, v.id),
                    variation_item(self.system_name(), p, v, &currency)?,
                );
            }
        }
        Ok(items.into_values().collect())
    }
}

/// A product sold through its variations: `variable`, the `variable-…` types of plugins
/// (`variable-subscription`), or any product listing variations.
fn is_variable(p: &WooProduct) -> bool {
    p.kind.starts_with("variable") || !p.variations.is_empty()
}

/// The catalog item of a product sold as itself (see the module docs).
pub fn product_item(
    system: &str,
    p: &WooProduct,
    currency: &Currency,
) -> Result<CatalogItem, ConnectorError> {
    Ok(CatalogItem {
        origin: ExternalRef {
            system: system.to_string(),
            id: p.id.to_string(),
        },
        crm_id: None,
        name: p.name.clone(),
        sku: sku(&p.sku),
        description: None,
        price: regular_price(&format!("product {}", p.id), &p.regular_price, currency)?,
        unit: None,
        active: p.status == "publish",
    })
}

/// The catalog item of variation `v` of variable product `parent` (see the module docs).
pub fn variation_item(
    system: &str,
    parent: &WooProduct,
    v: &WooProduct,
    currency: &Currency,
) -> Result<CatalogItem, ConnectorError> {
    Ok(CatalogItem {
        origin: ExternalRef {
            system: system.to_string(),
            id: v.id.to_string(),
        },
        crm_id: None,
        name: format!("{} ({})", parent.name, variation_label(v)),
        sku: sku(&v.sku),
        description: None,
        price: regular_price(
            &format!("variation {} of product {}", v.id, parent.id),
            &v.regular_price,
            currency,
        )?,
        unit: None,
        active: v.status == "publish" && parent.status == "publish",
    })
}

/// What tells a variation from its siblings: its attribute values joined with `", "`
/// (`Green, M`), or `#<id>` when it takes every attribute's "Any …" and so has none.
pub fn variation_label(v: &WooProduct) -> String {
    let values: Vec<&str> = v
        .attributes
        .iter()
        .filter_map(|a| a.option.as_deref())
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .collect();
    if values.is_empty() {
        format!("#{}", v.id)
    } else {
        values.join(", ")
    }
}

fn sku(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// `regular_price` as money: `""` (no price set) is `None`; anything but a decimal is an error
/// naming the record, since a guessed price in a CRM is worse than a failed run.
fn regular_price(
    what: &str,
    raw: &str,
    currency: &Currency,
) -> Result<Option<Money>, ConnectorError> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let amount = parse_decimal(t).map_err(|e| {
        ConnectorError::new(
            ErrorKind::Protocol,
            SYSTEM,
            format!(
                "read the catalog: {what} has regular_price {t:?}, which is not a decimal ({e}); correct the price in wp-admin (Products > Edit)"
            ),
        )
    })?;
    Ok(Some(Money::new(amount, currency.clone())))
}

#[async_trait]
impl CatalogSource for WooClient {
    async fn catalog_items(&self) -> Result<Vec<CatalogItem>, ConnectorError> {
        WooClient::catalog_items(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ProductAttribute;
    use rust_decimal_macros::dec;

    fn product(json: serde_json::Value) -> WooProduct {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn variation_names_prices_and_activity() {
        let rub = Currency::new("RUB").unwrap();
        let parent = product(serde_json::json!({
            "id": 22, "name": "Ship Your Idea", "type": "variable", "status": "publish",
            "variations": [733, 734]
        }));
        let mut v = product(serde_json::json!({
            "id": 733, "status": "publish", "sku": " ", "regular_price": "9.00",
            "attributes": [{"id": 6, "name": "Color", "option": "Green"},
                           {"id": 0, "name": "Size", "option": "M"}]
        }));
        let item = variation_item("shop", &parent, &v, &rub).unwrap();
        assert_eq!(item.name, "Ship Your Idea (Green, M)");
        assert_eq!(item.origin.id, "733");
        assert_eq!(item.origin.system, "shop");
        assert_eq!(item.sku, None);
        assert_eq!(item.price, Some(Money::new(dec!(9.00), rub.clone())));
        assert!(item.active);

        v.status = "private".into(); // a disabled variation
        assert!(!variation_item("shop", &parent, &v, &rub).unwrap().active);
        v.attributes = vec![ProductAttribute::default()]; // "Any Color"
        assert_eq!(variation_label(&v), "#733");

        v.regular_price = "12,5x".into();
        let e = variation_item("shop", &parent, &v, &rub).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Protocol);
        assert!(
            e.message.contains("variation 733 of product 22"),
            "{}",
            e.message
        );
    }

    #[test]
    fn products_without_price_or_published_status() {
        let usd = Currency::new("USD").unwrap();
        let p = product(serde_json::json!({
            "id": 5, "name": "Draft", "type": "simple", "status": "draft",
            "sku": "D-1", "regular_price": ""
        }));
        let item = product_item("woocommerce", &p, &usd).unwrap();
        assert_eq!(item.price, None);
        assert_eq!(item.sku.as_deref(), Some("D-1"));
        assert!(!item.active);
        assert!(is_variable(&product(
            serde_json::json!({"id": 1, "type": "variable-subscription"})
        )));
        assert!(!is_variable(&p));
    }
}
