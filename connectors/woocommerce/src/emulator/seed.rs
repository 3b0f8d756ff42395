//! A default catalog and realistic generated orders, reproducible from a seed.

use super::orders;
use super::state::{CatalogItem, Store};
use crate::wire::{Billing, Shipping, WooCustomer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// The catalog every emulator starts with: simple products and one variable product, prices
/// with kopecks.
pub fn default_catalog() -> Vec<CatalogItem> {
    let item = |product_id, variation_id, name: &str, sku: &str, price: i64| CatalogItem {
        product_id,
        variation_id,
        name: name.to_string(),
        sku: sku.to_string(),
        price: Decimal::new(price, 2),
    };
    vec![
        item(11, 0, "Чайник электрический", "KT-1001", 249_000),
        item(12, 0, "Кофемолка", "CG-2002", 189_990),
        item(13, 0, "Френч-пресс 0,6 л", "FP-0600", 84_950),
        item(14, 0, "Кружка керамическая", "MG-0350", 34_999),
        item(15, 0, "Чай чёрный, 100 г", "TEA-BLK-100", 28_900),
        item(16, 0, "Кофе в зёрнах, 1 кг", "CF-BEAN-1000", 154_900),
        item(17, 0, "Термос 1 л", "TH-1000", 199_900),
        item(18, 31, "Футболка - M", "TS-M", 99_000),
        item(18, 32, "Футболка - L", "TS-L", 109_000),
        item(19, 0, "Сахар тростниковый, 500 г", "SG-500", 19_995),
    ]
}

struct Buyer {
    id: u64,
    first: &'static str,
    last: &'static str,
    email: &'static str,
    phone: &'static str,
    city: &'static str,
}

/// Buyers; some registered (`id` ≠ 0), some guests, one e-mail typed in mixed case.
const BUYERS: [Buyer; 8] = [
    Buyer {
        id: 2,
        first: "Иван",
        last: "Петров",
        email: "Ivan.Petrov@Example.com",
        phone: "+7 (912) 345-67-89",
        city: "Екатеринбург",
    },
    Buyer {
        id: 0,
        first: "Мария",
        last: "Соколова",
        email: "maria.sokolova@example.ru",
        phone: "8 916 123 45 67",
        city: "Москва",
    },
    Buyer {
        id: 3,
        first: "Алексей",
        last: "Смирнов",
        email: "a.smirnov@example.com",
        phone: "+79001112233",
        city: "Казань",
    },
    Buyer {
        id: 0,
        first: "Ольга",
        last: "Кузнецова",
        email: "olga.k@example.org",
        phone: "+7 921 555-00-11",
        city: "Санкт-Петербург",
    },
    Buyer {
        id: 5,
        first: "Дмитрий",
        last: "Волков",
        email: "volkov.d@example.com",
        phone: "+7 (343) 200-10-10",
        city: "Пермь",
    },
    Buyer {
        id: 0,
        first: "Анна",
        last: "Морозова",
        email: "anna.morozova@example.ru",
        phone: "",
        city: "Новосибирск",
    },
    Buyer {
        id: 7,
        first: "Сергей",
        last: "Новиков",
        email: "s.novikov@example.com",
        phone: "+7 913 777-88-99",
        city: "Томск",
    },
    Buyer {
        id: 0,
        first: "Елена",
        last: "Лебедева",
        email: "e.lebedeva@example.org",
        phone: "+7 (812) 300-40-50",
        city: "Самара",
    },
];

/// Registers the buyers that have an account (`id` ≠ 0) as customers.
pub(crate) fn seed_customers(store: &mut Store) {
    let now = store.now();
    let (gmt, _) = store.stamp(now);
    for b in BUYERS.iter().filter(|b| b.id != 0) {
        let login = b.email.split('@').next().unwrap_or(b.email).to_lowercase();
        store.customers.insert(
            b.id,
            WooCustomer {
                id: b.id,
                email: b.email.to_lowercase(),
                first_name: b.first.to_string(),
                last_name: b.last.to_string(),
                role: "customer".to_string(),
                username: login,
                billing: Billing {
                    first_name: b.first.to_string(),
                    last_name: b.last.to_string(),
                    city: b.city.to_string(),
                    country: "RU".to_string(),
                    email: b.email.to_string(),
                    phone: b.phone.to_string(),
                    ..Billing::default()
                },
                shipping: Shipping {
                    first_name: b.first.to_string(),
                    last_name: b.last.to_string(),
                    city: b.city.to_string(),
                    country: "RU".to_string(),
                    ..Shipping::default()
                },
                is_paying_customer: false,
                date_created_gmt: Some(gmt),
                date_modified_gmt: Some(gmt),
            },
        );
    }
}

/// Creates `n` orders as a shop's checkout would; returns their ids.
pub(crate) fn seed_orders(store: &mut Store, n: usize, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let statuses = ["pending", "processing", "on-hold", "completed"];
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let b = &BUYERS[rng.random_range(0..BUYERS.len())];
        let status = statuses[rng.random_range(0..statuses.len())];
        let lines: Vec<Value> = (0..rng.random_range(1..=4))
            .map(|_| {
                let p = &store.catalog[rng.random_range(0..store.catalog.len())];
                json!({
                    "product_id": p.product_id,
                    "variation_id": p.variation_id,
                    "quantity": rng.random_range(1..=3),
                })
            })
            .collect();
        let shipping = [
            ("flat_rate", "Курьер", "350.00"),
            ("local_pickup", "Самовывоз", "0.00"),
            ("flat_rate", "Почта России", "299.90"),
        ][rng.random_range(0..3)];
        let (method, title) = if rng.random_bool(0.5) {
            ("cod", "Оплата при получении")
        } else {
            ("bacs", "Банковский перевод")
        };
        let mut body = json!({
            "status": status,
            "customer_id": b.id,
            "payment_method": method,
            "payment_method_title": title,
            "billing": {
                "first_name": b.first, "last_name": b.last, "address_1": "ул. Ленина, 1",
                "city": b.city, "postcode": "620000", "country": "RU",
                "email": b.email, "phone": b.phone
            },
            "shipping": {
                "first_name": b.first, "last_name": b.last, "address_1": "ул. Ленина, 1",
                "city": b.city, "postcode": "620000", "country": "RU"
            },
            "line_items": lines,
            "shipping_lines": [{"method_id": shipping.0, "method_title": shipping.1, "total": shipping.2}],
        });
        if rng.random_bool(0.2) {
            body["coupon_lines"] = json!([{"code": "sale10"}]);
        }
        if rng.random_bool(0.15) {
            body["fee_lines"] = json!([{"name": "Упаковка в подарок", "total": "150.00"}]);
        }
        if rng.random_bool(0.25) {
            body["customer_note"] = json!("Позвоните, пожалуйста, за час до доставки");
        }
        let sources = ["yandex", "google", "vk.com", ""];
        let source = sources[rng.random_range(0..sources.len())];
        if !source.is_empty() {
            body["meta_data"] = json!([
                {"key": "_wc_order_attribution_source_type", "value": "utm"},
                {"key": "_wc_order_attribution_utm_source", "value": source}
            ]);
        }
        // The body is built from our own catalog and settings, so it is valid; a failure here
        // is a bug in the seeder and must be loud.
        let id = orders::create(store, &body, "checkout").expect("seeded order is valid");
        ids.push(id);
    }
    ids
}
