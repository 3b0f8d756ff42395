//! The regular price and stock the shop holds now, per SKU: what `reconcile` compares with
//! what the catalog flow would push. It reads exactly what the push reads before it compares
//! ([`WooClient::products_by_sku`]: ⌈SKUs/100⌉ requests) and takes the same record for each
//! SKU (the first product or variation carrying it, never a variable or grouped parent), so a
//! SKU read back here is a SKU the push writes.

use crate::catalog::holds_price;
use crate::client::WooClient;
use crate::wire::WooProduct;
use dealbridge_sdk::model::SkuUpdate;
use dealbridge_sdk::money::parse_decimal;
use dealbridge_sdk::ConnectorError;
use rust_decimal::Decimal;

/// What `p` holds: its regular price (`None` when unset or not a number, which a push
/// overwrites) and its stock (`None` unless the record itself tracks it).
fn held(p: &WooProduct) -> SkuUpdate {
    SkuUpdate {
        sku: p.sku.clone(),
        regular_price: parse_decimal(p.regular_price.trim()).ok(),
        stock_quantity: p
            .stock_quantity
            .filter(|_| p.manage_stock.is_yes())
            .map(Decimal::from),
    }
}

impl WooClient {
    /// The price and stock of each of `skus` the shop has (see the module docs); SKUs it has
    /// no writable record for are left out.
    pub async fn current_price_and_stock(
        &self,
        skus: &[String],
    ) -> Result<Vec<SkuUpdate>, ConnectorError> {
        let found = self.products_by_sku(skus).await?;
        let mut out = Vec::with_capacity(skus.len());
        let mut seen = std::collections::HashSet::new();
        for sku in skus {
            if !seen.insert(sku.as_str()) {
                continue;
            }
            if let Some(p) = found
                .iter()
                .find(|p| p.sku == *sku)
                .filter(|p| holds_price(p))
            {
                out.push(held(p));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ManageStock;
    use rust_decimal_macros::dec;

    fn product(price: &str, manage: ManageStock, stock: Option<i64>) -> WooProduct {
        WooProduct {
            sku: "A".into(),
            kind: "simple".into(),
            regular_price: price.into(),
            manage_stock: manage,
            stock_quantity: stock,
            ..serde_json::from_str("{\"id\": 1}").unwrap()
        }
    }

    #[test]
    fn untracked_stock_and_an_unset_price_read_as_none() {
        let h = held(&product("12.50", ManageStock::Yes, Some(3)));
        assert_eq!(
            (h.regular_price, h.stock_quantity),
            (Some(dec!(12.5)), Some(dec!(3)))
        );
        let h = held(&product("", ManageStock::No, Some(3)));
        assert_eq!((h.regular_price, h.stock_quantity), (None, None));
        let h = held(&product("1", ManageStock::Parent, Some(3)));
        assert_eq!(
            h.stock_quantity, None,
            "the parent tracks it, not the variation"
        );
    }
}
