//! Every vendor example parses; orders, customers, products, transactions convert to canonical
//! records with exact decimals, and the totals check names the fixtures' discrepancies.
//! Fixtures are byte-for-byte copies of `shared/fixtures/api-examples/shopify/` (Shopify's
//! Ruby SDK test fixtures).

use dealbridge_shopify::convert::{
    check_totals, customer_to_contact, inventory_to_stock, order_to_canonical,
    product_to_canonical, tender_to_payment, transaction_to_payment, variant_prices,
};
use dealbridge_shopify::wire::*;
use rust_decimal_macros::dec;
use serde::de::DeserializeOwned;

fn load<T: DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read(&path).unwrap();
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn order_converts_with_exact_amounts_and_named_discrepancies() {
    let o = load::<OrderEnvelope>("order.json").order;
    let c = order_to_canonical("shop", &o).unwrap();
    assert_eq!(c.source.id, "450789469");
    assert_eq!(c.number, "#1001");
    assert_eq!(c.status, "authorized");
    assert_eq!(c.currency.as_str(), "USD");
    assert_eq!(c.total, dec!(409.94));
    assert_eq!(c.tax_total, dec!(11.94));
    assert_eq!(c.shipping_total, dec!(0.00));
    assert_eq!(c.discount_total, dec!(0.00));
    assert_eq!(c.lines.len(), 3);
    assert_eq!(c.lines[0].item.as_ref().unwrap().id, "39072856");
    assert_eq!(c.lines[0].sku.as_deref(), Some("IPOD2008GREEN"));
    assert_eq!(c.lines[0].total, dec!(199.00));
    assert_eq!(c.lines[0].unit_price, dec!(199));
    assert_eq!(c.customer.email.as_deref(), Some("bob.norman@hostmail.com"));
    assert_eq!(c.customer.source.as_ref().unwrap().id, "207119551");
    assert_eq!(c.customer.phone.as_deref(), Some("555-625-1199"));
    assert_eq!(c.note.as_deref(), Some("Test note"));
    assert_eq!(c.source_channel.as_deref(), Some("web"));
    assert_eq!(c.paid_at, None, "authorized is not paid");

    // The SDK fixture was edited by hand: three lines of 199.00 but total_line_items_price
    // 398.00, and a 10.00 discount code with total_discounts 0.00. Shopify's own aggregates
    // (subtotal + shipping + tax = total) agree; the line-level sum does not.
    let t = check_totals(&o);
    assert_eq!(t.lines, dec!(597.00));
    assert_eq!(t.expected, dec!(608.94));
    assert_eq!(t.total, dec!(409.94));
    assert!(!t.is_consistent());
    let all = t.discrepancies.join("\n");
    assert!(
        all.contains("total_line_items_price 398.00 ≠ Σ line price × quantity 597.00"),
        "{all}"
    );
    assert!(
        all.contains("discount_codes add up to 10.00 but total_discounts is 0.00"),
        "{all}"
    );
    assert!(
        !all.contains("subtotal_price 398.00 + shipping"),
        "aggregates agree: {all}"
    );
}

#[test]
fn orders_list_and_order_with_properties_parse() {
    let list = load::<OrdersEnvelope>("orders.json").orders;
    assert_eq!(list.len(), 1);
    let c = order_to_canonical("shop", &list[0]).unwrap();
    assert_eq!(c.total, dec!(409.94));

    let o = load::<OrderEnvelope>("order_with_properties.json").order;
    // A property whose value is an object, as Shopify sends for some apps.
    assert!(o
        .line_items
        .iter()
        .flat_map(|l| l.properties.iter())
        .any(|p| p.value.is_object()));
    let c = order_to_canonical("shop", &o).unwrap();
    assert!(
        c.lines.iter().any(|l| l.sku.is_none()),
        "empty SKU is no SKU"
    );
    let t = check_totals(&o);
    assert_eq!(t.lines, dec!(69.00));
    assert_eq!(t.expected, dec!(80.94));
    assert!(t
        .discrepancies
        .iter()
        .any(|d| d.contains("80.94, but total_price is 409.94")));
}

#[test]
fn a_consistent_tax_inclusive_order_checks_out() {
    // Built from the fixture: tax-inclusive prices, so tax is inside the line prices.
    let mut o = load::<OrderEnvelope>("order.json").order;
    o.taxes_included = true;
    o.line_items.truncate(2);
    for li in &mut o.line_items {
        li.price = dec!(106.00);
        li.tax_lines = vec![TaxLine {
            title: "VAT".into(),
            price: dec!(6.00),
            rate: Some(dec!(0.06)),
            price_set: None,
        }];
    }
    o.tax_lines = vec![TaxLine {
        title: "VAT".into(),
        price: dec!(12.00),
        rate: Some(dec!(0.06)),
        price_set: None,
    }];
    o.total_tax = Some(dec!(12.00));
    o.discount_codes.clear();
    o.total_line_items_price = Some(dec!(212.00));
    o.subtotal_price = Some(dec!(212.00));
    o.total_price = dec!(212.00);
    let t = check_totals(&o);
    assert!(t.is_consistent(), "{:?}", t.discrepancies);
    let c = order_to_canonical("shop", &o).unwrap();
    assert_eq!(
        c.lines[0].total,
        dec!(100.00),
        "tax taken out of an inclusive price"
    );
    assert_eq!(c.lines[0].tax, dec!(6.00));
}

#[test]
fn transactions_become_payments_only_when_money_moved() {
    let t = load::<TransactionEnvelope>("transaction.json").transaction;
    assert_eq!(t.kind, "authorization");
    assert_eq!(t.amount, dec!(409.94));
    assert_eq!(transaction_to_payment("shop", "USD", &t).unwrap(), None);

    let mut sale = t.clone();
    sale.kind = "sale".into();
    let p = transaction_to_payment("shop", "USD", &sale)
        .unwrap()
        .unwrap();
    assert_eq!(p.amount.amount, dec!(409.94));
    assert_eq!(p.order.id, "450789469");

    let refund = load::<RefundEnvelope>("refund.json").refund;
    let p = transaction_to_payment("shop", "USD", &refund.transactions[0])
        .unwrap()
        .unwrap();
    assert_eq!(p.amount.amount, dec!(-209.00));
    assert_eq!(p.amount.currency.as_str(), "USD");

    let tenders =
        load::<TenderTransactionsEnvelope>("tender_transactions.json").tender_transactions;
    let sum: rust_decimal::Decimal = tenders
        .iter()
        .map(|t| tender_to_payment("shop", t).unwrap().amount.amount)
        .sum();
    assert_eq!(sum, dec!(294.78));
}

#[test]
fn customer_product_variants_inventory() {
    let cu = load::<CustomerEnvelope>("customers.json").customer;
    let c = customer_to_contact("shop", &cu);
    assert_eq!(c.display_name(), "Bob Norman");
    assert_eq!(
        c.phone.as_deref(),
        Some("555-625-1199"),
        "from the default address"
    );

    let p = load::<ProductEnvelope>("product.json").product;
    let cp = product_to_canonical("shop", &p);
    assert_eq!(cp.variants.len(), 4);
    assert_eq!(cp.variants[0].sku.as_deref(), Some("IPOD2008PINK"));
    // The fixture's only option is Shopify's placeholder `Title`, paired with `Pink`.
    assert_eq!(
        cp.variants[0].attributes,
        vec![("Title".to_string(), "Pink".to_string())]
    );
    let prices = variant_prices("shop", &p, "USD").unwrap();
    assert!(prices.iter().all(|e| e.price.amount == dec!(199.00)));

    let v = load::<VariantEnvelope>("variant.json").variant;
    assert_eq!(v.price, dec!(199.00));
    assert_eq!(load::<VariantsEnvelope>("variants.json").variants.len(), 4);

    let l = load::<InventoryLevelEnvelope>("inventory_level.json").inventory_level;
    let s = inventory_to_stock("shop", &l);
    assert_eq!(
        (s.item.id.as_str(), s.warehouse.as_deref(), s.quantity),
        ("808950810", Some("905684977"), dec!(1))
    );
    let all = load::<InventoryLevelsEnvelope>("inventory_levels.json").inventory_levels;
    assert_eq!(all.iter().map(|l| l.available.unwrap()).sum::<i64>(), 40);
}

#[test]
fn the_remaining_fixtures_parse() {
    let d = load::<DraftOrderEnvelope>("draft_order.json").draft_order;
    // Draft orders are not converted; their aggregates agree (1007.41 + 20.00 shipping = 1027.41)
    // although the line prices do not add up to the subtotal in this hand-made fixture.
    assert_eq!(d.subtotal_price + dec!(20.00) + d.total_tax, d.total_price);
    assert_eq!(load::<WebhooksEnvelope>("webhooks.json").webhooks.len(), 2);
    // `webhook.json` wraps a single subscription under the plural key.
    #[derive(serde::Deserialize)]
    struct Single {
        webhooks: WebhookSubscription,
    }
    assert_eq!(
        load::<Single>("webhook.json").webhooks.topic,
        "orders/create"
    );
    let e = load::<ShopifyErrors>("errors.json");
    assert_eq!(
        e.text(),
        "price: expected String to be a Money; title: can't be blank"
    );
}
