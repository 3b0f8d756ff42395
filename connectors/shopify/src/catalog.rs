//! Pushing 1C's prices and stock to Shopify by SKU, writing only what differs; the product,
//! location and variant calls that takes.
//!
//! **Push.** [`ShopifyClient::push_price_and_stock`] reads the whole catalog once
//! ([`ShopifyClient::list_all_products`], 250 products a page, cursor paging by `Link`), maps
//! each SKU to its variant, reads the current stock of the variants whose stock is to be set
//! (`GET inventory_levels.json`, 50 inventory items a call at the one stock location), compares,
//! and writes only the differences:
//! - price: `PUT variants/{id}.json` with `price` (compared as decimals, so `12.5` equals
//!   `"12.50"`);
//! - stock: `POST inventory_levels/set.json` at the stock location. Shopify keeps whole units,
//!   so a quantity is **truncated toward zero** (`3.7` → 3, `-2.5` → -2); negative quantities are
//!   kept, because Shopify allows a negative `available` (oversold). An inventory item not yet
//!   stocked at that location is connected by `set` itself. A variant whose stock Shopify does
//!   not track (`inventory_management: null`) gets `inventory_management: "shopify"` in the same
//!   variant `PUT` as its price, and then its level is always set: an untracked item's level has
//!   no `available` to compare with, and Shopify refuses `set` until tracking is on.
//!
//! Calls for `S` SKUs in a shop of `P` products: ⌈P/250⌉ product pages + ⌈S/50⌉ level reads +
//! one `PUT` per variant whose price differs (or whose tracking is off) + one `set` per variant
//! whose stock differs; a push where nothing differs writes nothing. Pacing is the client's
//! leaky bucket ([`crate::bucket`]).
//!
//! **Why REST.** REST has no batch endpoint for variant prices: each changed price is its own
//! `PUT variants/{id}.json`. GraphQL's `productVariantsBulkUpdate` sets every variant of one
//! product in one call, so a push changing `V` variants spread over `Q` products would take
//! `Q` price writes instead of `V` (a shop of sizes/colours, 5 variants a product, 1 call instead
//! of 5). It is not used because this client and its emulator speak REST (orders, webhooks and
//! paging are REST-shaped, see the crate docs); a GraphQL write path would need its own client,
//! cost model and emulator.
//!
//! **Per-SKU outcomes.** A SKU no variant has is `not_found`. A SKU on two or more variants is
//! `failed` naming every variant id: guessing which one 1C means would set the wrong one. A 422
//! (Shopify refused the value, e.g. a negative price) or a 404 (the variant was deleted since the
//! listing) fails that SKU with Shopify's message and the push goes on. Transport errors, 429s,
//! 5xx and auth failures end the push with the error: the engine retries the run, and the
//! comparison skips whatever was already written.
//!
//! **Stock location.** Stock lives per location. [`ShopifyClient::with_location_id`] names it
//! (checked once with `GET locations/{id}.json`); without it, the shop's active locations are
//! read once and the only one is used. A shop with several active locations (or none) and no
//! `location_id` fails the push with an error listing them, rather than guessing.

use crate::client::{ShopifyClient, MAX_LIMIT};
use crate::sink::CursorPage;
use crate::wire::{
    Location, LocationEnvelope, LocationsEnvelope, ProductsEnvelope, ShopifyProduct,
    ShopifyVariant, VariantEnvelope,
};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::model::{PushReport, SkuUpdate};
use dealbridge_sdk::traits::StorePricePush;
use dealbridge_sdk::{ConnectorError, ErrorKind};
use reqwest::Method;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Most inventory item ids Shopify accepts in one `GET inventory_levels.json`. With one
/// location that is also at most 50 levels, Shopify's default page size, so one read needs no
/// paging.
pub const LEVEL_IDS_MAX: usize = 50;

/// A variant as the push needs it.
#[derive(Debug, Clone)]
struct Target<'a> {
    sku: &'a str,
    variant: &'a ShopifyVariant,
    /// The wanted price, if one was given.
    price: Option<Decimal>,
    /// The wanted stock in whole units, if one was given.
    stock: Option<i64>,
}

impl Target<'_> {
    fn tracked(&self) -> bool {
        self.variant
            .inventory_management
            .as_deref()
            .is_some_and(|m| !m.is_empty())
    }
}

/// A price as Shopify writes it: two decimals (prices are rounded to them in [`merge`]).
fn price_text(d: Decimal) -> String {
    format!("{d:.2}")
}

/// `id "name"` for each location, for messages.
fn describe(locations: &[&Location]) -> String {
    if locations.is_empty() {
        return "none".to_string();
    }
    locations
        .iter()
        .map(|l| format!("{} \"{}\"", l.id, l.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a write failure belongs to one SKU (the value was refused, the variant is gone)
/// rather than to the whole push (network, throttling, Shopify down, credentials).
fn fails_only_this_sku(e: &ConnectorError) -> bool {
    matches!(e.kind, ErrorKind::Invalid | ErrorKind::NotFound)
}

/// Merges updates per SKU (last value per field) and rounds prices to Shopify's two decimals,
/// half away from zero: 1C may send four (`12.3450`), and an unrounded price would differ from
/// what Shopify keeps on every run and be written again each night.
fn merge(items: &[SkuUpdate]) -> BTreeMap<String, SkuUpdate> {
    let mut wanted = SkuUpdate::merge(items);
    for w in wanted.values_mut() {
        w.regular_price = w
            .regular_price
            .map(|p| p.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero));
    }
    wanted
}

impl ShopifyClient {
    /// Sets the location stock is pushed to (`location_id` in `[systems.<name>]`); `None` uses
    /// the shop's only active location. Forgets a location resolved before.
    pub fn with_location_id(mut self, location_id: Option<u64>) -> Self {
        self.location_id = location_id;
        self.stock_location = Arc::new(tokio::sync::OnceCell::new());
        self
    }

    /// The configured stock location, if any.
    pub fn location_id(&self) -> Option<u64> {
        self.location_id
    }

    /// `GET products.json`: one page (`limit` 1–250) of products with their variants, by
    /// cursor (`page_info` from the previous page's `Link` header).
    pub async fn list_products_page(
        &self,
        limit: u32,
        page_info: Option<&str>,
    ) -> Result<CursorPage<ShopifyProduct>, ConnectorError> {
        self.cursor_page("products", limit, page_info, &[], |e: ProductsEnvelope| {
            e.products
        })
        .await
    }

    /// Every product with its variants: `GET products.json` 250 a page, following the `Link`
    /// header's `rel="next"` cursor to the end (⌈products/250⌉ calls).
    pub async fn list_all_products(&self) -> Result<Vec<ShopifyProduct>, ConnectorError> {
        let mut products = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_products_page(MAX_LIMIT, cursor.as_deref())
                .await?;
            products.extend(page.items);
            match page.next_page_info {
                // A cursor that points at itself would loop forever.
                Some(next) if cursor.as_deref() == Some(next.as_str()) => {
                    return Err(ConnectorError::new(
                        ErrorKind::Protocol,
                        SYSTEM,
                        format!(
                            "list products: the next-page cursor repeats the current one after {} products; check that the shop URL points at a Shopify store",
                            products.len()
                        ),
                    ));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(products),
            }
        }
    }

    /// `GET locations.json`: every location of the shop, active or not.
    pub async fn list_locations(&self) -> Result<Vec<Location>, ConnectorError> {
        let req = self.request(Method::GET, "locations.json")?;
        let (env, _): (LocationsEnvelope, _) = self.send("list locations", req).await?;
        Ok(env.locations)
    }

    /// `GET locations/{id}.json`.
    pub async fn get_location(&self, id: u64) -> Result<Location, ConnectorError> {
        let req = self.request(Method::GET, &format!("locations/{id}.json"))?;
        let (env, _): (LocationEnvelope, _) = self.send(&format!("get location {id}"), req).await?;
        Ok(env.location)
    }

    /// The location stock is pushed to: the configured one once checked to exist and be
    /// active, else the shop's only active location. Resolved once per client (one call); an
    /// error is not remembered, so a fixed shop works on the next push.
    pub async fn stock_location(&self) -> Result<u64, ConnectorError> {
        self.stock_location
            .get_or_try_init(|| self.resolve_location())
            .await
            .copied()
    }

    async fn resolve_location(&self) -> Result<u64, ConnectorError> {
        let section = format!("[systems.{}]", self.system_name());
        if let Some(id) = self.location_id {
            let found = match self.get_location(id).await {
                Ok(l) => Some(l),
                Err(e) if e.kind == ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            return match found {
                Some(l) if l.active => Ok(l.id),
                found => {
                    // Listing the locations costs a call, but only on this error, and tells the
                    // operator which id to set.
                    let all = self.list_locations().await?;
                    let active: Vec<&Location> = all.iter().filter(|l| l.active).collect();
                    let what = match found {
                        Some(l) => format!("location {id} (\"{}\") is not active", l.name),
                        None => format!("location {id} does not exist in this shop"),
                    };
                    Err(ConnectorError::new(
                        ErrorKind::Invalid,
                        SYSTEM,
                        format!(
                            "stock push: {what}; set location_id in {section} to an active location of the shop: {}",
                            describe(&active)
                        ),
                    ))
                }
            };
        }
        let all = self.list_locations().await?;
        let active: Vec<&Location> = all.iter().filter(|l| l.active).collect();
        match active.as_slice() {
            [only] => Ok(only.id),
            [] => Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!(
                    "stock push: the shop has 0 active locations (all: {}), so there is nowhere to put stock; activate the location 1C's stock belongs to in the Shopify admin, or set location_id in {section}",
                    describe(&all.iter().collect::<Vec<_>>())
                ),
            )),
            _ => Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!(
                    "stock push: the shop has {} active locations ({}), so it is not known where stock goes; set location_id in {section} to the id of the location 1C's stock belongs to",
                    active.len(),
                    describe(&active)
                ),
            )),
        }
    }

    /// `PUT variants/{id}.json` setting the price (when given) and, with `track_inventory`,
    /// `inventory_management: "shopify"` so Shopify tracks its stock, in one call.
    pub async fn update_variant(
        &self,
        variant_id: u64,
        price: Option<Decimal>,
        track_inventory: bool,
    ) -> Result<ShopifyVariant, ConnectorError> {
        let mut variant = Map::new();
        variant.insert("id".into(), json!(variant_id));
        let mut what = Vec::new();
        if let Some(p) = price {
            variant.insert("price".into(), json!(price_text(p)));
            what.push(format!("price {p}"));
        }
        if track_inventory {
            variant.insert("inventory_management".into(), json!("shopify"));
            what.push("stock tracking on".to_string());
        }
        let req = self
            .request(Method::PUT, &format!("variants/{variant_id}.json"))?
            .json(&json!({ "variant": Value::Object(variant) }));
        let (env, _): (VariantEnvelope, _) = self
            .send(
                &format!("update variant {variant_id} ({})", what.join(", ")),
                req,
            )
            .await?;
        Ok(env.variant)
    }

    /// Sets regular prices and/or stock by SKU, writing only what differs (see the module docs
    /// for the calls, the stock location, truncation and the per-SKU outcomes). A SKU given
    /// twice takes the last value of each field.
    pub async fn push_price_and_stock(
        &self,
        items: &[SkuUpdate],
    ) -> Result<PushReport, ConnectorError> {
        let wanted = merge(items);
        let mut report = PushReport::default();
        if wanted.is_empty() {
            return Ok(report);
        }
        // The location first: a shop whose stock location is ambiguous fails before any read,
        // and a price-only push never needs one.
        let location = if wanted.values().any(|w| w.stock_quantity.is_some()) {
            Some(self.stock_location().await?)
        } else {
            None
        };
        let products = self.list_all_products().await?;
        let mut by_sku: HashMap<&str, Vec<&ShopifyVariant>> = HashMap::new();
        for v in products.iter().flat_map(|p| p.variants.iter()) {
            if let Some(sku) = v.sku.as_deref() {
                if wanted.contains_key(sku) {
                    by_sku.entry(sku).or_default().push(v);
                }
            }
        }

        let mut targets: Vec<Target> = Vec::new();
        for (sku, w) in &wanted {
            let variants = by_sku.get(sku.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let variant = match variants {
                [] => {
                    report.not_found.push(sku.clone());
                    continue;
                }
                [one] => *one,
                several => {
                    let ids: Vec<String> = several.iter().map(|v| v.id.to_string()).collect();
                    report.failed.push((
                        sku.clone(),
                        format!(
                            "SKU {sku} is on {} variants in Shopify ({}); nothing written: make the SKU unique in Shopify",
                            several.len(),
                            ids.join(", ")
                        ),
                    ));
                    continue;
                }
            };
            let stock = match w.stock_quantity {
                None => None,
                Some(q) => match q.trunc().to_i64() {
                    Some(whole) => Some(whole),
                    None => {
                        report.failed.push((
                            sku.clone(),
                            format!(
                                "variant {} (SKU {sku}): stock {q} is out of range for Shopify; nothing written: check the quantity in 1C",
                                variant.id
                            ),
                        ));
                        continue;
                    }
                },
            };
            if stock.is_some() && variant.inventory_item_id.is_none() {
                report.failed.push((
                    sku.clone(),
                    format!(
                        "variant {} (SKU {sku}) has no inventory item in Shopify's answer, so its stock cannot be set; nothing written: check the variant in the Shopify admin",
                        variant.id
                    ),
                ));
                continue;
            }
            targets.push(Target {
                sku,
                variant,
                price: w.regular_price,
                stock,
            });
        }

        // Current stock of tracked variants, 50 items a read. Untracked ones are not read:
        // their level has no `available` until tracking is on, so they are always set.
        let mut levels: HashMap<u64, Option<i64>> = HashMap::new();
        if let Some(loc) = location {
            let items: Vec<u64> = targets
                .iter()
                .filter(|t| t.stock.is_some() && t.tracked())
                .filter_map(|t| t.variant.inventory_item_id)
                .collect();
            for chunk in items.chunks(LEVEL_IDS_MAX) {
                for l in self.list_inventory_levels(chunk, &[loc]).await? {
                    if l.location_id == loc {
                        levels.insert(l.inventory_item_id, l.available);
                    }
                }
            }
        }

        for t in targets {
            let v = t.variant;
            let new_price = t.price.filter(|p| *p != v.price);
            let turn_tracking_on = t.stock.is_some() && !t.tracked();
            // A missing level (item not stocked at this location) differs from any quantity:
            // `set` connects it.
            let current = v
                .inventory_item_id
                .and_then(|item| levels.get(&item).copied().flatten());
            let new_stock = t.stock.filter(|q| turn_tracking_on || current != Some(*q));
            if new_price.is_none() && !turn_tracking_on && new_stock.is_none() {
                report.unchanged.push(t.sku.to_string());
                continue;
            }
            let mut written = Vec::new();
            if new_price.is_some() || turn_tracking_on {
                match self.update_variant(v.id, new_price, turn_tracking_on).await {
                    Ok(_) => {
                        if new_price.is_some() {
                            written.push("price");
                        }
                        if turn_tracking_on {
                            written.push("stock tracking");
                        }
                    }
                    Err(e) if fails_only_this_sku(&e) => {
                        report.failed.push((t.sku.to_string(), e.message));
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            if let (Some(q), Some(item), Some(loc)) = (new_stock, v.inventory_item_id, location) {
                match self.set_inventory_level(item, loc, q).await {
                    Ok(_) => {}
                    Err(e) if fails_only_this_sku(&e) => {
                        let also = if written.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " ({} of variant {} already written)",
                                written.join(" and "),
                                v.id
                            )
                        };
                        report
                            .failed
                            .push((t.sku.to_string(), format!("{}{also}", e.message)));
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            report.updated.push(t.sku.to_string());
        }
        tracing::debug!(
            system = self.system_name(),
            updated = report.updated.len(),
            unchanged = report.unchanged.len(),
            not_found = report.not_found.len(),
            failed = report.failed.len(),
            "shopify price/stock push"
        );
        Ok(report)
    }
}

#[async_trait]
impl StorePricePush for ShopifyClient {
    async fn push_price_and_stock(
        &self,
        items: &[SkuUpdate],
    ) -> Result<PushReport, ConnectorError> {
        ShopifyClient::push_price_and_stock(self, items).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn upd(sku: &str, price: Option<Decimal>, stock: Option<Decimal>) -> SkuUpdate {
        SkuUpdate {
            sku: sku.into(),
            regular_price: price,
            stock_quantity: stock,
        }
    }

    #[test]
    fn merge_keeps_the_last_value_of_each_field() {
        let m = merge(&[
            upd("A", Some(dec!(1)), Some(dec!(5))),
            upd("B", None, Some(dec!(2))),
            upd("A", Some(dec!(3)), None),
        ]);
        assert_eq!(m.len(), 2);
        assert_eq!(m["A"].regular_price, Some(dec!(3)));
        assert_eq!(m["A"].stock_quantity, Some(dec!(5)));
        assert_eq!(m["B"].regular_price, None);
    }

    #[test]
    fn prices_are_rounded_to_cents_half_away_from_zero() {
        let m = merge(&[
            upd("A", Some(dec!(1.2345)), None),
            upd("B", Some(dec!(10.005)), None),
            upd("C", Some(dec!(10.0049)), None),
            upd("D", Some(dec!(7)), None),
        ]);
        let text = |k: &str| price_text(m[k].regular_price.unwrap());
        assert_eq!(text("A"), "1.23");
        assert_eq!(text("B"), "10.01");
        assert_eq!(text("C"), "10.00");
        assert_eq!(text("D"), "7.00");
        assert_eq!(price_text(dec!(12.5)), "12.50");
    }
}
