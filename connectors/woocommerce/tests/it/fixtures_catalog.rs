//! The notes, refunds, products, variations and customers examples of the WooCommerce docs
//! parse with our wire types, and refunds become negative payments.

use dealbridge_woocommerce::sink::payments_from;
use dealbridge_woocommerce::wire::{
    ManageStock, OrderNote, WooCustomer, WooOrder, WooProduct, WooRefund,
};
use rust_decimal_macros::dec;
use std::path::PathBuf;

/// Byte-for-byte copies of `shared/fixtures/api-examples/woocommerce/`.
fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

#[test]
fn catalog_and_customer_examples_parse() {
    let products: Vec<WooProduct> =
        serde_json::from_str(&fixture("products__list_all_products__response.json")).unwrap();
    assert_eq!(products[0].kind, "variable");
    assert_eq!(products[1].regular_price, "21.99");
    assert_eq!(products[1].manage_stock, ManageStock::No);
    let variations: Vec<WooProduct> = serde_json::from_str(&fixture(
        "product-variations__list_all_product_variations__response.json",
    ))
    .unwrap();
    assert_eq!(variations[0].id, 733);
    assert_eq!(variations[0].price, "9.00");
    let batch: serde_json::Value =
        serde_json::from_str(&fixture("products__batch_update_products__response.json")).unwrap();
    let updated: Vec<WooProduct> = serde_json::from_value(batch["update"].clone()).unwrap();
    assert!(!updated.is_empty());
    let customers: Vec<WooCustomer> =
        serde_json::from_str(&fixture("customers__list_all_customers__response.json")).unwrap();
    assert_eq!(customers[0].email, "joao.silva@example.com");
    assert_eq!(customers[0].billing.city, "Rio de Janeiro");
    let notes: Vec<OrderNote> =
        serde_json::from_str(&fixture("order-notes__list_all_order_notes__response.json")).unwrap();
    assert_eq!(notes.len(), 3);
}

#[test]
fn refund_examples_become_negative_payments() {
    let refunds: Vec<WooRefund> =
        serde_json::from_str(&fixture("order-refunds__list_all_refunds__response.json")).unwrap();
    let order: WooOrder =
        serde_json::from_str(&fixture("orders__retrieve_an_order__response.json")).unwrap();
    let payments = payments_from("shop", &order, &refunds).unwrap();
    let refunds_out: Vec<_> = payments
        .iter()
        .filter(|p| p.source.id.contains(":refund:"))
        .map(|p| (p.source.id.clone(), p.amount.amount))
        .collect();
    // Oldest first: 724 (9.00) was made before 726 (10.00).
    assert_eq!(
        refunds_out,
        vec![
            (format!("order:{}:refund:724", order.id), dec!(-9.00)),
            (format!("order:{}:refund:726", order.id), dec!(-10.00)),
        ]
    );
}
