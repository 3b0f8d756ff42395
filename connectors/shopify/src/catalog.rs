//! Pushing 1C's prices and stock to Shopify by SKU, writing only what differs; the product,
//! location, variant and GraphQL calls that takes.
//!
//! **Push.** [`ShopifyClient::push_price_and_stock`] reads the whole catalog once
//! ([`ShopifyClient::list_all_products`], REST, 250 products a page, cursor paging by `Link`),
//! maps each SKU to its variant, reads the current stock of the variants whose stock is to be
//! set (REST `GET inventory_levels.json`, 50 inventory items a call at the one stock location),
//! compares, and writes only the differences through GraphQL bulk mutations
//! ([`ShopifyClient::graphql`]):
//! - price: `productVariantsBulkUpdate(productId, variants: [{id, price}])`, **one call per
//!   product** with every changed variant of that product in it (prices compared as decimals,
//!   so `12.5` equals `"12.50"`). A variant whose stock Shopify does not track gets
//!   `inventoryItem: {tracked: true}` in the same entry, and then its level is always set: an
//!   untracked item's level has no `available` to compare with, and Shopify refuses to set it
//!   until tracking is on.
//! - stock: `inventorySetQuantities(input: {name: "available", reason: "correction",
//!   ignoreCompareQuantity: true, quantities: [{inventoryItemId, locationId, quantity}]})`,
//!   up to [`STOCK_SET_MAX`] levels a call, after the price calls. Shopify keeps whole units,
//!   so a quantity is **truncated toward zero** (`3.7` → 3, `-2.5` → -2); negative quantities
//!   are kept, because Shopify allows a negative `available` (oversold). An item not yet
//!   stocked at the location is connected by the set. The compare-and-set check is skipped
//!   because 1C is the source of truth and the quantity was just compared.
//!
//! Calls for `S` SKUs in a shop of `P` products: ⌈P/250⌉ product pages + ⌈S/50⌉ level reads +
//! one `productVariantsBulkUpdate` per product with a variant whose price (or tracking)
//! differs + ⌈(variants whose stock differs)/250⌉ `inventorySetQuantities`; a push where
//! nothing differs writes nothing. Example, 1,000 changed variants (price and stock) in 200
//! products: 200 + 4 = 204 writes, where REST took 1,000 `PUT variants/{id}.json` + 1,000
//! `POST inventory_levels/set.json` = 2,000 (about 17 minutes at 2 requests/s, now under two).
//! Pacing is the client's leaky bucket ([`crate::bucket`]), shared by REST and GraphQL.
//!
//! **Why REST still reads.** The reads stay REST (`products.json` paging, `inventory_levels`),
//! as the rest of the crate; only the writes moved to GraphQL, where REST has no batch
//! endpoint (each changed price was its own `PUT`, each level its own `set`).
//!
//! **Confirmed in Shopify's GraphQL Admin reference:** `productVariantsBulkUpdate` updates
//! several variants of one product; `ProductVariantsBulkInput` has `id`, `price` (Money) and
//! `inventoryItem` (`InventoryItemInput`); the payload has `productVariants` and `userErrors
//! {field, message, code}`; `inventorySetQuantities` takes `name` (`available` or `on_hand`),
//! `reason`, `ignoreCompareQuantity` and `quantities` (`inventoryItemId`, `locationId`,
//! `quantity`); its payload has `inventoryAdjustmentGroup` and `userErrors`. From 2026-04
//! `ignoreCompareQuantity` gives way to a per-quantity `changeFromQuantity: null`; the pinned
//! version ([`crate::API_VERSION`]) predates that. **UNCONFIRMED:** `InventoryItemInput.tracked`
//! on Shopify (seen in a Shopify-compatible API's reference); the maximum number of
//! `quantities` per call (250 assumed); whether a call with userErrors applies its other
//! entries (see [`ShopifyClient`]'s `bulk_write`: the push is correct either way); the exact
//! field paths of userErrors (`["variants", "<i>", …]`, `["input", "quantities", "<i>", …]`
//! assumed, an error without an index fails the whole call).
//!
//! **Per-SKU outcomes.** A SKU no variant has is `not_found`. A SKU on two or more variants is
//! `failed` naming every variant id: guessing which one 1C means would set the wrong one. A
//! userError pointing at one entry of a bulk call (a negative price, a variant or inventory
//! item deleted since the listing, an untracked item) fails that SKU with Shopify's message;
//! the call is sent again without the refused entries, so the other SKUs of it are written
//! (a SKU whose price or tracking was refused gets no stock write). Transport errors,
//! throttling, 5xx, `ACCESS_DENIED` and auth failures end the push with the error: the engine
//! retries the run, and the comparison skips whatever was already written.
//!
//! **Stock location.** Stock lives per location. [`ShopifyClient::with_location_id`] names it
//! (checked once with `GET locations/{id}.json`); without it, the shop's active locations are
//! read once and the only one is used. A shop with several active locations (or none) and no
//! `location_id` fails the push with an error listing them, rather than guessing.

use crate::client::{ShopifyClient, MAX_LIMIT};
use crate::graphql::UserError;
use crate::sink::CursorPage;
use crate::wire::{
    Location, LocationEnvelope, LocationsEnvelope, ProductsEnvelope, ShopifyProduct, ShopifyVariant,
};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::model::{PushReport, SkuUpdate};
use dealbridge_sdk::traits::StorePricePush;
use dealbridge_sdk::{ConnectorError, ErrorKind};
use reqwest::Method;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Most quantities sent in one `inventorySetQuantities` call. UNCONFIRMED: Shopify's
/// reference for `InventorySetQuantitiesInput.quantities` (checked for 2025-04 … 2026-07) states
/// no maximum; 250 is the usual Admin API input-list limit and what this client assumes.
pub const STOCK_SET_MAX: usize = 250;

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
        tracked(self.variant)
    }
}

/// Whether Shopify tracks `v`'s stock (only then has its level an `available`).
pub(crate) fn tracked(v: &ShopifyVariant) -> bool {
    v.inventory_management
        .as_deref()
        .is_some_and(|m| !m.is_empty())
}

/// A variant whose price, tracking or stock differs, and what became of its writes.
struct Change<'a> {
    sku: &'a str,
    variant: &'a ShopifyVariant,
    new_price: Option<Decimal>,
    turn_tracking_on: bool,
    new_stock: Option<i64>,
    /// Why the SKU failed, once a write of it was refused.
    failed: Option<String>,
    /// What was written so far (`price`, `stock tracking`), for messages.
    written: Vec<&'static str>,
}

/// `productVariantsBulkUpdate`: every changed variant of one product in one call.
const VARIANTS_BULK_UPDATE: &str =
    "mutation PushVariantPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id price }
    userErrors { field message code }
  }
}";

/// `inventorySetQuantities`: absolute `available` quantities at a location.
const INVENTORY_SET: &str = "mutation PushStock($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason }
    userErrors { field message code }
  }
}";

/// A mutation payload as the push reads it: only its `userErrors`.
#[derive(Debug, Deserialize)]
struct MutationPayload {
    #[serde(default, rename = "userErrors")]
    user_errors: Vec<UserError>,
}

/// `gid://shopify/<kind>/<id>`.
fn gid(kind: &str, id: u64) -> String {
    format!("gid://shopify/{kind}/{id}")
}

/// The entry of the input list `list` a userError's `field` path points at: the index after
/// the list's name (`["variants", "1", "price"]` → 1, `["input", "quantities", "0",
/// "quantity"]` → 0).
fn entry_index(field: &[String], list: &str) -> Option<usize> {
    let at = field.iter().position(|f| f == list)?;
    field.get(at + 1)?.parse().ok()
}

/// A userError as text: `field.path: message`.
fn describe_error(e: &UserError) -> String {
    if e.field.is_empty() {
        e.message.clone()
    } else {
        format!("{}: {}", e.field.join("."), e.message)
    }
}

/// A price as Shopify writes it: two decimals (prices are rounded to them in [`merge`]).
pub(crate) fn price_text(d: Decimal) -> String {
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

    /// Sends one bulk mutation (`query`, root field `field`) for `inputs`, the entries of the
    /// list argument `list`, built into variables by `variables`; returns each entry's outcome
    /// (`Err` with Shopify's userError text).
    ///
    /// Whether Shopify applies the other entries of a call that has userErrors is UNCONFIRMED
    /// (`productVariantsBulkUpdate` is documented as one operation per product; its
    /// `allowPartialUpdates` default is not relied on). So a call with userErrors is taken as
    /// applying nothing: the entries the errors point at (by index in their field path) fail
    /// with their message, and the rest is sent again without them. That is right either way,
    /// because every entry is an absolute value: writing one twice changes nothing. A userError
    /// that names no entry fails every entry still pending. Each retry drops at least one
    /// entry, so a call of `n` entries is sent at most `n` times (once when nothing is refused).
    async fn bulk_write(
        &self,
        what: &str,
        query: &str,
        field: &str,
        list: &str,
        inputs: Vec<Value>,
        variables: impl Fn(Vec<Value>) -> Value,
    ) -> Result<Vec<Result<(), String>>, ConnectorError> {
        let mut outcomes: Vec<Option<Result<(), String>>> = vec![None; inputs.len()];
        let mut pending: Vec<usize> = (0..inputs.len()).collect();
        while !pending.is_empty() {
            let sent: Vec<Value> = pending.iter().map(|&i| inputs[i].clone()).collect();
            let answer = self
                .graphql::<HashMap<String, Option<MutationPayload>>>(
                    &format!("{what}: {field}"),
                    query,
                    variables(sent),
                )
                .await?;
            let Some(Some(payload)) = answer.data.get(field) else {
                return Err(ConnectorError::new(
                    ErrorKind::Protocol,
                    SYSTEM,
                    format!("{what}: {field} answered without its payload; check that the shop URL points at a Shopify store and the API version {} is served", crate::API_VERSION),
                ));
            };
            if payload.user_errors.is_empty() {
                for &i in &pending {
                    outcomes[i] = Some(Ok(()));
                }
                break;
            }
            let mut refused: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            let mut general: Vec<String> = Vec::new();
            for e in &payload.user_errors {
                match entry_index(&e.field, list).filter(|&k| k < pending.len()) {
                    // The path past the entry's index (`price`): the index is the call's,
                    // meaningless to the reader.
                    Some(k) => refused
                        .entry(k)
                        .or_default()
                        .push(describe_error(&UserError {
                            field: e
                                .field
                                .iter()
                                .skip_while(|f| *f != list)
                                .skip(2)
                                .cloned()
                                .collect(),
                            ..e.clone()
                        })),
                    None => general.push(describe_error(e)),
                }
            }
            if refused.is_empty() {
                let why = general.join("; ");
                for &i in &pending {
                    outcomes[i] = Some(Err(why.clone()));
                }
                break;
            }
            for (k, why) in &refused {
                outcomes[pending[*k]] = Some(Err(why.join("; ")));
            }
            pending = pending
                .iter()
                .enumerate()
                .filter(|(k, _)| !refused.contains_key(k))
                .map(|(_, &i)| i)
                .collect();
        }
        Ok(outcomes.into_iter().map(|o| o.unwrap_or(Ok(()))).collect())
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
        let (by_sku, product_of) = index_variants(&products, &wanted);
        let mut targets: Vec<Target> = Vec::new();
        for (sku, w) in &wanted {
            let variants = by_sku.get(sku.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(t) = target(sku, w, variants, &mut report) {
                targets.push(t);
            }
        }
        let levels = match location {
            Some(loc) => {
                // Untracked items are not read: their level has no `available` until tracking
                // is on, so they are always set.
                let items: Vec<u64> = targets
                    .iter()
                    .filter(|t| t.stock.is_some() && t.tracked())
                    .filter_map(|t| t.variant.inventory_item_id)
                    .collect();
                self.levels_at(loc, &items).await?
            }
            None => HashMap::new(),
        };
        let mut changes = differences(targets, &levels, &mut report);
        self.write_prices_and_tracking(&mut changes, &product_of)
            .await?;
        if let Some(loc) = location {
            self.write_stock(&mut changes, loc).await?;
        }
        for c in changes {
            match c.failed {
                Some(why) => report.failed.push((c.sku.to_string(), why)),
                None => report.updated.push(c.sku.to_string()),
            }
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

    /// Current stock at `loc` of inventory items `items` (inventory item id → available), 50
    /// items a read; an item not stocked there is absent.
    pub(crate) async fn levels_at(
        &self,
        loc: u64,
        items: &[u64],
    ) -> Result<HashMap<u64, Option<i64>>, ConnectorError> {
        let mut levels = HashMap::new();
        for chunk in items.chunks(LEVEL_IDS_MAX) {
            for l in self.list_inventory_levels(chunk, &[loc]).await? {
                if l.location_id == loc {
                    levels.insert(l.inventory_item_id, l.available);
                }
            }
        }
        Ok(levels)
    }

    /// Prices and tracking: one `productVariantsBulkUpdate` per product (in product id order),
    /// all its changed variants in it. Records what was written, or why a SKU failed.
    async fn write_prices_and_tracking(
        &self,
        changes: &mut [Change<'_>],
        product_of: &HashMap<u64, u64>,
    ) -> Result<(), ConnectorError> {
        let mut by_product: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, c) in changes.iter().enumerate() {
            if c.new_price.is_some() || c.turn_tracking_on {
                let product = product_of
                    .get(&c.variant.id)
                    .copied()
                    .or(c.variant.product_id)
                    .unwrap_or(0);
                by_product.entry(product).or_default().push(i);
            }
        }
        for (product, idx) in by_product {
            let inputs: Vec<Value> = idx.iter().map(|&i| variant_input(&changes[i])).collect();
            let outcomes = self
                .bulk_write(
                    &format!("update prices of product {product}"),
                    VARIANTS_BULK_UPDATE,
                    "productVariantsBulkUpdate",
                    "variants",
                    inputs,
                    |list| json!({"productId": gid("Product", product), "variants": list}),
                )
                .await?;
            for (&i, outcome) in idx.iter().zip(outcomes) {
                changes[i].note_price_outcome(outcome);
            }
        }
        Ok(())
    }

    /// Stock: `inventorySetQuantities` at `loc`, up to STOCK_SET_MAX levels a call. A SKU whose
    /// price or tracking was refused is not stocked (tracking may still be off).
    async fn write_stock(
        &self,
        changes: &mut [Change<'_>],
        loc: u64,
    ) -> Result<(), ConnectorError> {
        let idx: Vec<usize> = changes
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.failed.is_none() && c.new_stock.is_some() && c.variant.inventory_item_id.is_some()
            })
            .map(|(i, _)| i)
            .collect();
        for chunk in idx.chunks(STOCK_SET_MAX) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|&i| {
                    let c = &changes[i];
                    json!({
                        "inventoryItemId": gid("InventoryItem", c.variant.inventory_item_id.unwrap_or(0)),
                        "locationId": gid("Location", loc),
                        "quantity": c.new_stock.unwrap_or(0),
                    })
                })
                .collect();
            let outcomes = self
                .bulk_write(
                    &format!("set stock of {} items at location {loc}", chunk.len()),
                    INVENTORY_SET,
                    "inventorySetQuantities",
                    "quantities",
                    inputs,
                    |list| {
                        json!({"input": {
                            "name": "available",
                            "reason": "correction",
                            "ignoreCompareQuantity": true,
                            "quantities": list,
                        }})
                    },
                )
                .await?;
            for (&i, outcome) in chunk.iter().zip(outcomes) {
                if let Err(why) = outcome {
                    changes[i].note_stock_refused(loc, &why);
                }
            }
        }
        Ok(())
    }
}

/// The variants carrying a wanted SKU, by SKU, and each such variant's product id (variant id →
/// product id; the bulk price write is per product).
pub(crate) fn index_variants<'a, V>(
    products: &'a [ShopifyProduct],
    wanted: &BTreeMap<String, V>,
) -> (HashMap<&'a str, Vec<&'a ShopifyVariant>>, HashMap<u64, u64>) {
    let mut by_sku: HashMap<&str, Vec<&ShopifyVariant>> = HashMap::new();
    let mut product_of: HashMap<u64, u64> = HashMap::new();
    for p in products {
        for v in &p.variants {
            if let Some(sku) = v.sku.as_deref() {
                if wanted.contains_key(sku) {
                    by_sku.entry(sku).or_default().push(v);
                    product_of.insert(v.id, p.id);
                }
            }
        }
    }
    (by_sku, product_of)
}

/// The write target of SKU `sku` (wanting `w`) among the `variants` carrying it, or `None`
/// with the SKU reported not found or failed: nothing is written for a SKU that is missing, on
/// several variants, has an out-of-range stock, or has no inventory item to stock.
fn target<'a>(
    sku: &'a str,
    w: &SkuUpdate,
    variants: &[&'a ShopifyVariant],
    report: &mut PushReport,
) -> Option<Target<'a>> {
    let variant = match variants {
        [] => {
            report.not_found.push(sku.to_string());
            return None;
        }
        [one] => *one,
        several => {
            let ids: Vec<String> = several.iter().map(|v| v.id.to_string()).collect();
            report.failed.push((
                sku.to_string(),
                format!(
                    "SKU {sku} is on {} variants in Shopify ({}); nothing written: make the SKU unique in Shopify",
                    several.len(),
                    ids.join(", ")
                ),
            ));
            return None;
        }
    };
    let stock = match w.stock_quantity {
        None => None,
        Some(q) => match q.trunc().to_i64() {
            Some(whole) => Some(whole),
            None => {
                report.failed.push((
                    sku.to_string(),
                    format!(
                        "variant {} (SKU {sku}): stock {q} is out of range for Shopify; nothing written: check the quantity in 1C",
                        variant.id
                    ),
                ));
                return None;
            }
        },
    };
    if stock.is_some() && variant.inventory_item_id.is_none() {
        report.failed.push((
            sku.to_string(),
            format!(
                "variant {} (SKU {sku}) has no inventory item in Shopify's answer, so its stock cannot be set; nothing written: check the variant in the Shopify admin",
                variant.id
            ),
        ));
        return None;
    }
    Some(Target {
        sku,
        variant,
        price: w.regular_price,
        stock,
    })
}

/// What differs, per SKU (in SKU order, as `targets` is), given the current stock `levels`;
/// SKUs already as wanted are reported unchanged.
fn differences<'a>(
    targets: Vec<Target<'a>>,
    levels: &HashMap<u64, Option<i64>>,
    report: &mut PushReport,
) -> Vec<Change<'a>> {
    let mut changes: Vec<Change> = Vec::new();
    for t in targets {
        let v = t.variant;
        let new_price = t.price.filter(|p| *p != v.price);
        let turn_tracking_on = t.stock.is_some() && !t.tracked();
        // A missing level (item not stocked at this location) differs from any quantity:
        // setting it connects it.
        let current = v
            .inventory_item_id
            .and_then(|item| levels.get(&item).copied().flatten());
        let new_stock = t.stock.filter(|q| turn_tracking_on || current != Some(*q));
        if new_price.is_none() && !turn_tracking_on && new_stock.is_none() {
            report.unchanged.push(t.sku.to_string());
            continue;
        }
        changes.push(Change {
            sku: t.sku,
            variant: v,
            new_price,
            turn_tracking_on,
            new_stock,
            failed: None,
            written: Vec::new(),
        });
    }
    changes
}

/// The `productVariantsBulkUpdate` input of change `c`: its new price and/or tracking.
fn variant_input(c: &Change<'_>) -> Value {
    let mut input = Map::new();
    input.insert("id".into(), json!(gid("ProductVariant", c.variant.id)));
    if let Some(p) = c.new_price {
        input.insert("price".into(), json!(price_text(p)));
    }
    if c.turn_tracking_on {
        input.insert("inventoryItem".into(), json!({"tracked": true}));
    }
    Value::Object(input)
}

impl Change<'_> {
    /// Records the outcome of this variant's price/tracking write.
    fn note_price_outcome(&mut self, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => {
                if self.new_price.is_some() {
                    self.written.push("price");
                }
                if self.turn_tracking_on {
                    self.written.push("stock tracking");
                }
            }
            Err(why) => {
                self.failed = Some(format!(
                    "variant {} (SKU {}): Shopify refused the price/tracking update ({why}); nothing written for this SKU: check the value in 1C",
                    self.variant.id, self.sku
                ));
            }
        }
    }

    /// Records that Shopify refused this variant's stock at `loc`, naming what was already
    /// written (the SKU is then partly updated).
    fn note_stock_refused(&mut self, loc: u64, why: &str) {
        let also = if self.written.is_empty() {
            String::new()
        } else {
            format!(
                " ({} of variant {} already written)",
                self.written.join(" and "),
                self.variant.id
            )
        };
        self.failed = Some(format!(
            "variant {} (SKU {}): Shopify refused the stock {} at location {loc} ({why}){also}",
            self.variant.id,
            self.sku,
            self.new_stock.unwrap_or(0)
        ));
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

    async fn current_price_and_stock(
        &self,
        skus: &[String],
    ) -> Result<Vec<SkuUpdate>, ConnectorError> {
        ShopifyClient::current_price_and_stock(self, skus).await
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
    fn user_error_paths_point_at_the_entry() {
        let f = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            entry_index(&f(&["variants", "1", "price"]), "variants"),
            Some(1)
        );
        assert_eq!(
            entry_index(&f(&["input", "quantities", "0", "quantity"]), "quantities"),
            Some(0)
        );
        assert_eq!(
            entry_index(&f(&["input", "quantities"]), "quantities"),
            None
        );
        assert_eq!(entry_index(&f(&["productId"]), "variants"), None);
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
