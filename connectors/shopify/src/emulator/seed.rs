//! A default catalog and reproducible random orders.

use super::store::{NewCustomer, NewLine, NewOrder, NewShipping, SeedVariant, Store};
use crate::wire::{ProductOption, ShopifyProduct, ShopifyVariant};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

fn variant(
    id: u64,
    product: u64,
    title: &str,
    sku: &str,
    cents: i64,
    stock: i64,
) -> ShopifyVariant {
    ShopifyVariant {
        id,
        product_id: Some(product),
        title: title.into(),
        price: Decimal::new(cents, 2),
        compare_at_price: None,
        sku: Some(sku.into()),
        barcode: None,
        position: Some(1),
        inventory_item_id: Some(id + 1_000_000),
        inventory_quantity: Some(stock),
        inventory_management: Some("shopify".into()),
        inventory_policy: Some("deny".into()),
        option1: Some(title.into()),
        option2: None,
        option3: None,
        taxable: true,
        requires_shipping: true,
        grams: Some(250),
        created_at: None,
        updated_at: None,
    }
}

/// Three products, five variants, stock at the one location.
pub fn default_catalog() -> Vec<ShopifyProduct> {
    let product =
        |id: u64, title: &str, option: &str, variants: Vec<ShopifyVariant>| ShopifyProduct {
            id,
            title: title.into(),
            body_html: None,
            vendor: Some("Dealbridge".into()),
            product_type: Some("Coffee".into()),
            handle: Some(title.to_lowercase().replace(' ', "-")),
            status: Some("active".into()),
            tags: String::new(),
            created_at: None,
            updated_at: None,
            published_at: None,
            options: vec![ProductOption {
                name: option.into(),
                values: variants.iter().map(|v| v.title.clone()).collect(),
            }],
            variants,
            images: Vec::new(),
        };
    vec![
        product(
            632_910_392,
            "House Blend",
            "Size",
            vec![
                variant(808_950_810, 632_910_392, "250g", "HB-250", 1250, 100),
                variant(808_950_811, 632_910_392, "1kg", "HB-1000", 3990, 40),
            ],
        ),
        product(
            632_910_393,
            "Espresso Roast",
            "Grind",
            vec![
                variant(808_950_820, 632_910_393, "Beans", "ER-B", 1475, 60),
                variant(808_950_821, 632_910_393, "Ground", "ER-G", 1475, 25),
            ],
        ),
        product(
            632_910_394,
            "Pour-over Kit",
            "Title",
            vec![variant(
                808_950_830,
                632_910_394,
                "Default Title",
                "POK-1",
                4599,
                12,
            )],
        ),
    ]
}

/// Adds `n` products of one tracked variant each; the `i`-th (1-based) has SKU
/// `<prefix>-{i:04}`, price `10.00` plus `i` cents and stock `i % 50`, so tests can predict
/// them. More than 250 make the product listing span several pages. Returns the SKUs in order.
pub fn seed_catalog(store: &mut Store, n: usize, prefix: &str) -> Vec<String> {
    (1..=n)
        .map(|i| {
            let sku = format!("{prefix}-{i:04}");
            store.add_product(
                &format!("Generated {sku}"),
                &[SeedVariant {
                    sku: sku.clone(),
                    price: Decimal::new(1000 + i as i64, 2),
                    stock: (i % 50) as i64,
                    tracked: true,
                }],
            );
            sku
        })
        .collect()
}

const NAMES: [(&str, &str); 5] = [
    ("Bob", "Norman"),
    ("Anna", "Ivanova"),
    ("Chen", "Li"),
    ("Maria", "Garcia"),
    ("Tom", "Baker"),
];

/// Creates `n` orders with 1–3 catalog lines, optional shipping, repeat buyers, and paid /
/// authorized / pending states, reproducible from `seed`.
pub fn seed_orders(store: &mut Store, n: usize, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let variants: Vec<u64> = store
        .products
        .values()
        .flat_map(|p| p.variants.iter().map(|v| v.id))
        .collect();
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let lines = (0..rng.random_range(1..=3))
            .map(|_| NewLine {
                variant_id: Some(variants[rng.random_range(0..variants.len())]),
                title: None,
                price: None,
                quantity: rng.random_range(1..=3),
            })
            .collect();
        let who = rng.random_range(0..NAMES.len());
        let (first, last) = NAMES[who];
        let email = format!(
            "{}.{}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        );
        let status = ["paid", "paid", "authorized", "pending"][rng.random_range(0..4)];
        let order = NewOrder {
            line_items: lines,
            email: Some(email.clone()),
            customer: Some(NewCustomer {
                id: Some(7_000 + who as u64),
                first_name: Some(first.into()),
                last_name: Some(last.into()),
                email: Some(email),
                phone: None,
            }),
            shipping_lines: if rng.random_bool(0.7) {
                vec![NewShipping {
                    title: "Standard".into(),
                    price: Decimal::new(500, 2),
                }]
            } else {
                Vec::new()
            },
            discount_codes: Vec::new(),
            financial_status: Some(status.into()),
            note: None,
            tags: None,
            source_name: None,
        };
        if let Ok(id) = store.create_order(order) {
            ids.push(id);
        }
    }
    ids
}
