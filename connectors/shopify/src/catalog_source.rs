//! The shop's own catalog as CRM catalog items: [`CatalogSource`] for [`ShopifyClient`], so the
//! engine can fill a CRM's product catalog from Shopify when there is no 1C.
//!
//! **Calls.** One [`ShopifyClient::catalog_items`] costs exactly `1 + ⌈P/250⌉` requests for a
//! shop of `P` products: one `GET shop.json` for the currency, then `GET products.json` 250 a
//! page following the `Link` cursor ([`ShopifyClient::list_all_products`]); variants come inside
//! their products, so no per-product call is made. Nothing is cached between runs: the currency
//! is asked each time because a merchant can change it, and one call a run is cheap beside the
//! product pages. Pacing is the client's leaky bucket. Any failure (a 5xx, a 429, a dropped
//! connection) ends the read with the classified error and no partial catalog, so the engine
//! never mistakes half a shop for the whole one; the engine retries the run.
//!
//! **Items.** Every sellable thing becomes one [`CatalogItem`], in product id then variant id
//! order (what Shopify's `id` listing gives, re-sorted here so the order does not hang on it):
//! - a product without options (one variant titled `Default Title`, Shopify's placeholder) is
//!   one item named like the product;
//! - a product with options gives one item per variant, named `<product> (<variant title>)`,
//!   the variant title being Shopify's own `Red / Small`; when a variant has no title its
//!   option values are joined with `, `. The product itself is never an item: orders cannot
//!   contain it.
//!
//! The origin id is always the **variant** id, also for a product without options, because
//! that is what Shopify order lines carry (`line_items[].variant_id`, see
//! [`crate::convert`]), so a deal row and a CRM product can be matched later. The price is the
//! variant's `price`, the amount the shop sells at and the field the price push writes
//! ([`crate::catalog`]); `compare_at_price` is a "was" price shown struck through, not the
//! regular price. The SKU is `None` when blank. Description, unit and CRM id are `None`: the
//! CRM keeps its own text, Shopify has no unit, and bindings are the engine's.
//!
//! **Active.** `false` for `draft` and `archived` products (Shopify has no trash: a deleted
//! product is simply gone from the listing). Any other status, and a missing one (API versions
//! before 2020-10), counts as active: `unlisted` (2025-10) is still sold through a direct link,
//! and pinned versions before it report such products as `active` anyway. The REST listing
//! returns products of every status when not filtered by `status`, which is why no filter is
//! sent.

use crate::client::ShopifyClient;
use crate::wire::{ShopEnvelope, ShopifyProduct, ShopifyShop, ShopifyVariant};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::model::{CatalogItem, ExternalRef};
use dealbridge_sdk::traits::CatalogSource;
use dealbridge_sdk::{ConnectorError, Currency, ErrorKind, Money};
use reqwest::Method;

/// The title (and option value) Shopify gives the one variant of a product without options.
pub const DEFAULT_VARIANT_TITLE: &str = "Default Title";

/// Whether a product is on sale: not a draft and not archived (see the module docs for why
/// other and missing statuses count as active).
pub fn is_active(product: &ShopifyProduct) -> bool {
    !matches!(
        product.status.as_deref().map(str::trim),
        Some(s) if s.eq_ignore_ascii_case("draft") || s.eq_ignore_ascii_case("archived")
    )
}

/// Whether a product has no options of its own: a single variant that is Shopify's placeholder
/// (`Default Title`), whose name adds nothing to the product's.
pub fn is_simple(product: &ShopifyProduct) -> bool {
    match product.variants.as_slice() {
        [only] => variant_label(only).is_empty(),
        _ => false,
    }
}

/// What tells a variant apart in its name: its title, else its option values joined with
/// `, `; the placeholder `Default Title` counts as nothing.
pub fn variant_label(v: &ShopifyVariant) -> String {
    let meaningful = |s: &str| {
        let t = s.trim();
        (!t.is_empty() && t != DEFAULT_VARIANT_TITLE).then(|| t.to_string())
    };
    if let Some(title) = meaningful(&v.title) {
        return title;
    }
    [&v.option1, &v.option2, &v.option3]
        .into_iter()
        .filter_map(|o| o.as_deref().and_then(meaningful))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The catalog items of `products` (see the module docs for every rule), sorted by product id
/// then variant id. `system` is the configured system name, written into each origin.
/// Products without variants yield nothing: Shopify always has at least one, and an order line
/// could not point at anything else.
pub fn catalog_items_of(
    system: &str,
    currency: &Currency,
    products: &[ShopifyProduct],
) -> Vec<CatalogItem> {
    let mut sorted: Vec<&ShopifyProduct> = products.iter().collect();
    sorted.sort_by_key(|p| p.id);
    let mut items = Vec::new();
    for p in sorted {
        let simple = is_simple(p);
        let active = is_active(p);
        let mut variants: Vec<&ShopifyVariant> = p.variants.iter().collect();
        variants.sort_by_key(|v| v.id);
        for v in variants {
            let name = if simple {
                p.title.trim().to_string()
            } else {
                let label = variant_label(v);
                // A variant with neither title nor option values does not occur in Shopify's
                // answers; its id keeps two such rows apart in the CRM.
                let label = if label.is_empty() {
                    format!("variant {}", v.id)
                } else {
                    label
                };
                format!("{} ({label})", p.title.trim())
            };
            items.push(CatalogItem {
                origin: ExternalRef {
                    system: system.to_string(),
                    id: v.id.to_string(),
                },
                crm_id: None,
                name,
                sku: v
                    .sku
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
                description: None,
                price: Some(Money::new(v.price, currency.clone())),
                unit: None,
                active,
            });
        }
    }
    items
}

impl ShopifyClient {
    /// `GET shop.json`: the shop's settings.
    pub async fn get_shop(&self) -> Result<ShopifyShop, ConnectorError> {
        let req = self.request(Method::GET, "shop.json")?;
        let (env, _): (ShopEnvelope, _) = self.send("get shop settings", req).await?;
        Ok(env.shop)
    }

    /// The shop's currency, asked of the shop (`GET shop.json`): the currency every variant
    /// price is in. A missing or non-ISO code is a [`ErrorKind::Protocol`] error naming the shop.
    pub async fn shop_currency(&self) -> Result<Currency, ConnectorError> {
        let shop = self.get_shop().await?;
        let code = shop.currency.as_deref().unwrap_or("");
        Currency::new(code).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Protocol,
                SYSTEM,
                format!(
                    "shop {} (\"{}\"): shop.json gives currency {code:?}, which is not an ISO 4217 code ({e}), so catalog prices cannot be labelled; check the store currency under Settings → General in the Shopify admin and that the shop URL points at a Shopify store",
                    shop.id, shop.name
                ),
            )
        })
    }

    /// Every sellable item of the shop as a CRM catalog item, in product id then variant id
    /// order; `1 + ⌈products/250⌉` calls (see the module docs for the rules and the calls).
    pub async fn catalog_items(&self) -> Result<Vec<CatalogItem>, ConnectorError> {
        // The currency first: a shop whose currency cannot be read fails before the
        // (possibly many) product pages are fetched.
        let currency = self.shop_currency().await?;
        let products = self.list_all_products().await?;
        let items = catalog_items_of(self.system_name(), &currency, &products);
        tracing::debug!(
            system = self.system_name(),
            products = products.len(),
            items = items.len(),
            currency = currency.as_str(),
            "shopify catalog read"
        );
        Ok(items)
    }
}

#[async_trait]
impl CatalogSource for ShopifyClient {
    async fn catalog_items(&self) -> Result<Vec<CatalogItem>, ConnectorError> {
        ShopifyClient::catalog_items(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;

    fn variant(id: u64, title: &str, options: [Option<&str>; 3], price: Decimal) -> ShopifyVariant {
        let json = serde_json::json!({
            "id": id,
            "title": title,
            "price": price.to_string(),
            "sku": format!("SKU-{id}"),
            "option1": options[0],
            "option2": options[1],
            "option3": options[2],
        });
        serde_json::from_value(json).unwrap()
    }

    fn product(
        id: u64,
        title: &str,
        status: Option<&str>,
        variants: Vec<ShopifyVariant>,
    ) -> ShopifyProduct {
        let mut p: ShopifyProduct =
            serde_json::from_value(serde_json::json!({ "id": id, "title": title })).unwrap();
        p.status = status.map(str::to_string);
        p.variants = variants;
        p
    }

    #[test]
    fn labels_prefer_the_title_then_join_option_values() {
        let titled = variant(
            1,
            "Red / Small",
            [Some("Red"), Some("Small"), None],
            dec!(1),
        );
        assert_eq!(variant_label(&titled), "Red / Small");
        let untitled = variant(2, "  ", [Some("Red"), Some(" "), Some("Cotton")], dec!(1));
        assert_eq!(variant_label(&untitled), "Red, Cotton");
        let placeholder = variant(
            3,
            DEFAULT_VARIANT_TITLE,
            [Some(DEFAULT_VARIANT_TITLE), None, None],
            dec!(1),
        );
        assert_eq!(variant_label(&placeholder), "");
    }

    #[test]
    fn order_is_by_product_then_variant_id_whatever_the_input_order() {
        let usd = Currency::new("usd").unwrap();
        let products = vec![
            product(
                20,
                "Shirt",
                Some("active"),
                vec![
                    variant(202, "", [Some("Blue"), Some("L"), None], dec!(19.99)),
                    variant(201, "Red / M", [Some("Red"), Some("M"), None], dec!(18.50)),
                ],
            ),
            product(
                10,
                "Mug",
                None,
                vec![variant(
                    101,
                    DEFAULT_VARIANT_TITLE,
                    [None, None, None],
                    dec!(7),
                )],
            ),
            product(
                30,
                "Gone",
                Some("Archived"),
                vec![variant(301, "One", [Some("One"), None, None], dec!(1))],
            ),
            product(40, "Empty", Some("active"), vec![]),
        ];
        let items = catalog_items_of("shop", &usd, &products);
        let summary: Vec<(&str, &str, bool)> = items
            .iter()
            .map(|i| (i.origin.id.as_str(), i.name.as_str(), i.active))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("101", "Mug", true),
                ("201", "Shirt (Red / M)", true),
                ("202", "Shirt (Blue, L)", true),
                ("301", "Gone (One)", false),
            ]
        );
        assert_eq!(items[1].price, Some(Money::new(dec!(18.50), usd.clone())));
        assert_eq!(items[1].price.as_ref().unwrap().amount.to_string(), "18.50");
        assert!(items
            .iter()
            .all(|i| i.origin.system == "shop" && i.crm_id.is_none()));
    }

    #[test]
    fn a_single_variant_with_real_options_is_named_by_them() {
        let eur = Currency::new("EUR").unwrap();
        let p = product(
            1,
            "Poster",
            Some("draft"),
            vec![variant(5, "A2", [Some("A2"), None, None], dec!(12))],
        );
        assert!(!is_simple(&p));
        assert!(!is_active(&p));
        let items = catalog_items_of("s", &eur, &[p]);
        assert_eq!(items[0].name, "Poster (A2)");
        assert!(!items[0].active);
    }
}
