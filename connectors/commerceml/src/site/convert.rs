//! Reader items → store catalog rows. Decimals become their exact decimal text here, so the
//! store never sees a float.

use crate::{CmlProduct, Offer, Unit};
use dealbridge_store::{CatalogOffer, CatalogPrice, CatalogProduct, CatalogStock};

/// The unit as stored: its short name, else its code.
fn unit_name(u: Option<Unit>) -> Option<String> {
    u.and_then(|u| u.name.or(u.code).or(u.international))
}

/// A catalog product.
pub(super) fn product(p: CmlProduct) -> CatalogProduct {
    CatalogProduct {
        external_id: p.id,
        sku: p.sku,
        name: p.name,
        group_ids: p.groups,
        unit: unit_name(p.unit),
        barcodes: p.barcodes,
        deleted: p.deleted,
    }
}

/// An offer with its prices and stock. A part the file does not carry is `None`, so a prices-only
/// file leaves stored stock alone and a rests-only file leaves prices alone.
pub(super) fn offer(o: Offer) -> CatalogOffer {
    let prices = (!o.prices.is_empty()).then(|| {
        o.prices
            .into_iter()
            .map(|p| CatalogPrice {
                price_type_id: p.price_type_id,
                amount: p.price.to_string(),
                currency: p.currency,
                unit: p.unit,
            })
            .collect()
    });
    let stock = (o.quantity.is_some() || !o.stock.is_empty()).then(|| {
        // The total (`""`) is kept beside per-warehouse rows: 1C sends both and they may differ
        // (reserved goods), so neither is derived from the other.
        o.quantity
            .map(|q| CatalogStock {
                warehouse_id: String::new(),
                quantity: q.to_string(),
            })
            .into_iter()
            .chain(o.stock.into_iter().map(|s| CatalogStock {
                warehouse_id: s.warehouse_id,
                quantity: s.quantity.to_string(),
            }))
            .collect()
    });
    CatalogOffer {
        external_id: o.id,
        product_id: o.product_id,
        characteristic_id: o.characteristic_id,
        sku: o.sku,
        name: o.name,
        barcodes: o.barcodes,
        deleted: o.deleted,
        prices,
        stock,
    }
}
