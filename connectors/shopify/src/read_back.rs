//! The regular price and stock the shop holds now, per SKU: what `reconcile` compares with
//! what the catalog flow would push. It reads what the push reads before it compares, the same
//! way: every product (REST, 250 a page), each SKU's variant (a SKU on several variants is left
//! out, as the push refuses it), and the stock of the tracked ones at the stock location
//! (`inventory_levels`, 50 items a read). Calls: ⌈P/250⌉ + ⌈tracked SKUs/50⌉ (+1 to resolve the
//! location once per client).

use crate::catalog::{index_variants, tracked};
use crate::client::ShopifyClient;
use dealbridge_sdk::model::SkuUpdate;
use dealbridge_sdk::ConnectorError;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

impl ShopifyClient {
    /// The price and stock of each of `skus` the shop has on exactly one variant (see the
    /// module docs). An untracked variant, or one not stocked at the location, has no stock.
    pub async fn current_price_and_stock(
        &self,
        skus: &[String],
    ) -> Result<Vec<SkuUpdate>, ConnectorError> {
        let wanted: BTreeMap<String, ()> = skus.iter().map(|s| (s.clone(), ())).collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let location = self.stock_location().await?;
        let products = self.list_all_products().await?;
        let (by_sku, _) = index_variants(&products, &wanted);
        let single: Vec<(&str, &crate::wire::ShopifyVariant)> = by_sku
            .iter()
            .filter_map(|(sku, vs)| match vs.as_slice() {
                [one] => Some((*sku, *one)),
                _ => None,
            })
            .collect();
        let items: Vec<u64> = single
            .iter()
            .filter(|(_, v)| tracked(v))
            .filter_map(|(_, v)| v.inventory_item_id)
            .collect();
        let levels = self.levels_at(location, &items).await?;
        Ok(single
            .into_iter()
            .map(|(sku, v)| SkuUpdate {
                sku: sku.to_string(),
                regular_price: Some(v.price),
                stock_quantity: v
                    .inventory_item_id
                    .filter(|_| tracked(v))
                    .and_then(|item| levels.get(&item).copied().flatten())
                    .map(Decimal::from),
            })
            .collect())
    }
}
