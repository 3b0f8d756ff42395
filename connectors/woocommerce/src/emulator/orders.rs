//! Order writes as WooCommerce performs them: create, update, trash, delete, and the totals
//! recomputed from the lines after every change.
//!
//! Emulator simplifications (documented, deliberate): no tax rates (all taxes are `0.00`),
//! coupons are percentage coupons configured in [`EmulatorConfig`](super::EmulatorConfig),
//! and a line may carry an explicit `subtotal`/`total` instead of a catalog product.

use super::state::{OrderTopic, Store};
use super::wp_error::WpError;
use crate::wire::{
    Billing, CouponLine, FeeLine, LineItem, MetaData, Num, Shipping, ShippingLine, WooOrder,
};
use dealbridge_sdk::money::round_money;
use rand::distr::Alphanumeric;
use rand::Rng;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::str::FromStr;

/// Order statuses a write may set ([WCDOC:_orders.md] properties).
pub const ORDER_STATUSES: [&str; 8] = [
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "trash",
];

/// Statuses that count as paid: reaching one sets `date_paid` if unset (WooCommerce's
/// `woocommerce_order_is_paid_statuses`).
const PAID_STATUSES: [&str; 2] = ["processing", "completed"];

/// The version written into `version`, as a recent WooCommerce would.
const WC_VERSION: &str = "9.4.0";

/// Creates an order from a `POST /orders` body; returns its id.
pub(crate) fn create(store: &mut Store, body: &Value, created_via: &str) -> Result<u64, WpError> {
    let obj = as_object(body)?;
    if obj
        .get("id")
        .and_then(Value::as_u64)
        .is_some_and(|id| id != 0)
    {
        return Err(WpError::new(
            400,
            "woocommerce_rest_shop_order_exists",
            "Cannot create existing shop_order.",
        ));
    }
    let now = store.now();
    let (gmt, local) = store.stamp(now);
    let id = store.next_id;
    let mut order = WooOrder {
        id,
        parent_id: 0,
        number: id.to_string(),
        order_key: format!("wc_order_{}", random_key()),
        created_via: created_via.to_string(),
        version: WC_VERSION.to_string(),
        status: "pending".to_string(),
        currency: store.settings.currency.clone(),
        date_created: local,
        date_created_gmt: gmt,
        date_modified: local,
        date_modified_gmt: gmt,
        discount_total: String::new(),
        discount_tax: String::new(),
        shipping_total: String::new(),
        shipping_tax: String::new(),
        cart_tax: String::new(),
        total: String::new(),
        total_tax: String::new(),
        prices_include_tax: false,
        customer_id: 0,
        customer_ip_address: String::new(),
        customer_user_agent: String::new(),
        customer_note: String::new(),
        billing: Billing::default(),
        shipping: Shipping::default(),
        payment_method: String::new(),
        payment_method_title: String::new(),
        transaction_id: String::new(),
        date_paid: None,
        date_paid_gmt: None,
        date_completed: None,
        date_completed_gmt: None,
        cart_hash: String::new(),
        meta_data: Vec::new(),
        line_items: Vec::new(),
        tax_lines: Vec::new(),
        shipping_lines: Vec::new(),
        fee_lines: Vec::new(),
        coupon_lines: Vec::new(),
        refunds: Vec::new(),
        links: Value::Null,
    };
    if let Some(c) = field::<String>(obj, "currency")? {
        order.currency = c.to_ascii_uppercase();
    }
    apply(store, &mut order, obj, true)?;
    // Only now is the id taken: a rejected body must not burn one.
    store.next_id += 1;
    let seq = store.next_seq();
    store.orders.insert(
        id,
        super::state::Stored {
            order,
            modified_seq: seq,
        },
    );
    store.changed(OrderTopic::Created, id);
    Ok(id)
}

/// Applies a `PUT /orders/<id>` body. Unknown id → 400 "Invalid ID." as WooCommerce's
/// `update_item` answers.
pub(crate) fn update(store: &mut Store, id: u64, body: &Value) -> Result<(), WpError> {
    let obj = as_object(body)?;
    let mut order = match store.orders.get(&id) {
        Some(s) => s.order.clone(),
        None => return Err(WpError::invalid_order_id(400)),
    };
    apply(store, &mut order, obj, false)?;
    touch(store, &mut order);
    let seq = store.next_seq();
    store.orders.insert(
        id,
        super::state::Stored {
            order,
            modified_seq: seq,
        },
    );
    store.changed(OrderTopic::Updated, id);
    Ok(())
}

/// `DELETE /orders/<id>`: with `force` removes the order and returns it as it was; without,
/// moves it to the trash (a trashed order again → 410 `woocommerce_rest_already_trashed`).
pub(crate) fn delete(store: &mut Store, id: u64, force: bool) -> Result<WooOrder, WpError> {
    if force {
        let removed = store
            .orders
            .remove(&id)
            .map(|s| s.order)
            .ok_or(WpError::invalid_order_id(404))?;
        store.changed(OrderTopic::Deleted, id);
        return Ok(removed);
    }
    let Some(stored) = store.orders.get(&id) else {
        return Err(WpError::invalid_order_id(404));
    };
    if stored.order.status == "trash" {
        return Err(WpError::new(
            410,
            "woocommerce_rest_already_trashed",
            "The order has already been deleted.",
        ));
    }
    let mut order = stored.order.clone();
    order.status = "trash".to_string();
    touch(store, &mut order);
    let seq = store.next_seq();
    store.orders.insert(
        id,
        super::state::Stored {
            order: order.clone(),
            modified_seq: seq,
        },
    );
    // Trashing fires `order.deleted` too (`wp_trash_post` is one of its hooks).
    store.changed(OrderTopic::Deleted, id);
    Ok(order)
}

/// Bumps `date_modified` to the server clock.
fn touch(store: &mut Store, order: &mut WooOrder) {
    let now = store.now();
    let (gmt, local) = store.stamp(now);
    order.date_modified_gmt = gmt;
    order.date_modified = local;
}

/// Applies the writable fields of a create/update body, then recomputes totals.
fn apply(
    store: &mut Store,
    order: &mut WooOrder,
    obj: &Map<String, Value>,
    creating: bool,
) -> Result<(), WpError> {
    let old_status = order.status.clone();
    if let Some(status) = field::<String>(obj, "status")? {
        let registered = store.registered_statuses.iter().any(|s| s == &status);
        if !ORDER_STATUSES.contains(&status.as_str()) && !registered {
            let mut allowed: Vec<&str> = ORDER_STATUSES.to_vec();
            allowed.extend(store.registered_statuses.iter().map(String::as_str));
            return Err(WpError::invalid_param(
                "status",
                format!("status is not one of {}.", wp_list(&allowed)),
            ));
        }
        order.status = status;
    }
    if let Some(v) = field::<u64>(obj, "customer_id")? {
        order.customer_id = v;
    }
    if let Some(v) = field::<u64>(obj, "parent_id")? {
        order.parent_id = v;
    }
    for (name, slot) in [
        ("customer_note", &mut order.customer_note),
        ("payment_method", &mut order.payment_method),
        ("payment_method_title", &mut order.payment_method_title),
        ("transaction_id", &mut order.transaction_id),
    ] {
        if let Some(v) = field::<String>(obj, name)? {
            *slot = v;
        }
    }
    if let Some(patch) = obj.get("billing") {
        order.billing = overlay(&order.billing, patch, "billing")?;
    }
    if let Some(patch) = obj.get("shipping") {
        order.shipping = overlay(&order.shipping, patch, "shipping")?;
    }
    if let Some(metas) = field::<Vec<Value>>(obj, "meta_data")? {
        for m in metas {
            upsert_meta(store, &mut order.meta_data, &m)?;
        }
    }
    if let Some(items) = field::<Vec<Value>>(obj, "line_items")? {
        for it in items {
            line_item(store, order, &it, creating)?;
        }
    }
    if let Some(lines) = field::<Vec<Value>>(obj, "shipping_lines")? {
        for l in lines {
            shipping_line(store, order, &l)?;
        }
    }
    if let Some(lines) = field::<Vec<Value>>(obj, "fee_lines")? {
        for l in lines {
            fee_line(store, order, &l)?;
        }
    }
    if let Some(lines) = field::<Vec<Value>>(obj, "coupon_lines")? {
        for l in lines {
            coupon_line(store, order, &l)?;
        }
    }
    // Totals first: `needs_payment()` below looks at the total, as WooCommerce's does after
    // `calculate_totals()`.
    recalc(store, order)?;
    let now = store.now();
    let (gmt, local) = store.stamp(now);
    // `WC_REST_Orders_V2_Controller::save_object`: the status is set and saved first; then
    // `set_paid` runs `payment_complete()` when creating, or on update only when the order
    // `needs_payment()` (status pending or failed, total > 0). An on-hold or cancelled order is
    // therefore not paid by `set_paid` on update.
    if field::<bool>(obj, "set_paid")? == Some(true) {
        let needs_payment = matches!(order.status.as_str(), "pending" | "failed")
            && dec(&order.total) > Decimal::ZERO;
        // payment_complete(): only a status in `woocommerce_valid_order_statuses_for_payment_
        // complete` (on-hold, pending, failed, cancelled) moves to processing with date_paid.
        if (creating || needs_payment)
            && matches!(
                order.status.as_str(),
                "pending" | "on-hold" | "failed" | "cancelled"
            )
        {
            order.status = "processing".to_string();
            if order.date_paid_gmt.is_none() {
                order.date_paid_gmt = Some(gmt);
                order.date_paid = Some(local);
            }
        }
    }
    if order.status != old_status || creating {
        // WC_Order::maybe_set_date_paid / maybe_set_date_completed on the status transition.
        if PAID_STATUSES.contains(&order.status.as_str()) && order.date_paid_gmt.is_none() {
            order.date_paid_gmt = Some(gmt);
            order.date_paid = Some(local);
        }
        if order.status == "completed" && order.date_completed_gmt.is_none() {
            order.date_completed_gmt = Some(gmt);
            order.date_completed = Some(local);
        }
    }
    Ok(())
}

/// Adds, changes or (quantity 0 / `product_id: null`) removes one product line.
fn line_item(
    store: &mut Store,
    order: &mut WooOrder,
    v: &Value,
    creating: bool,
) -> Result<(), WpError> {
    let obj = as_object_named(v, "line_items")?;
    let quantity = field::<Value>(obj, "quantity")?;
    let quantity = match quantity {
        None => None,
        Some(q) => Some(parse_qty(&q)?),
    };
    let removing = quantity == Some(Decimal::ZERO) || obj.get("product_id") == Some(&Value::Null);
    if let Some(item_id) = field::<u64>(obj, "id")?.filter(|id| *id != 0 && !creating) {
        let Some(pos) = order.line_items.iter().position(|l| l.id == item_id) else {
            return Err(WpError::new(
                400,
                "woocommerce_rest_invalid_item_id",
                "Order item ID provided is not associated with order.",
            ));
        };
        if removing {
            order.line_items.remove(pos);
            return Ok(());
        }
        // `prepare_line_items` on update sets only the posted props: a new quantity without
        // `subtotal`/`total` keeps the old amounts (WooCommerce prices a line from the catalog
        // only when creating it), so clients send the amounts with the quantity. The order
        // totals and the line's `price` (total / quantity) are recomputed either way.
        let line = &mut order.line_items[pos];
        if let Some(q) = quantity {
            line.quantity = Num(q.normalize().to_string());
        }
        if let Some(s) = money_field(obj, "subtotal")?.or(money_field(obj, "total")?) {
            line.subtotal = money(s);
        }
        if let Some(n) = field::<String>(obj, "name")? {
            line.name = n;
        }
        return Ok(());
    }
    if removing {
        return Ok(());
    }
    let product_id = field::<u64>(obj, "product_id")?.unwrap_or(0);
    let variation_id = field::<u64>(obj, "variation_id")?.unwrap_or(0);
    let sku = field::<String>(obj, "sku")?;
    let qty = quantity.unwrap_or(Decimal::ONE);
    let explicit = money_field(obj, "subtotal")?.or(money_field(obj, "total")?);
    let product = store.find_product(product_id, variation_id, sku.as_deref());
    let (product_id, variation_id, name, sku, subtotal) = match (product, explicit) {
        (Some(p), explicit) => (
            p.product_id,
            p.variation_id,
            p.name.clone(),
            Some(p.sku.clone()),
            explicit.unwrap_or(p.price * qty),
        ),
        (None, Some(sub)) if product_id == 0 && variation_id == 0 => {
            (0, 0, String::new(), None, sub)
        }
        (None, _) if product_id == 0 && variation_id == 0 && sku.is_none() => {
            return Err(WpError::new(
                400,
                "woocommerce_rest_required_product_reference",
                "Product ID or SKU is required.",
            ))
        }
        (None, _) => {
            return Err(WpError::new(
                400,
                "woocommerce_rest_invalid_product_id",
                "Product ID provided is invalid.",
            ))
        }
    };
    let name = field::<String>(obj, "name")?.unwrap_or(name);
    let meta_data = match field::<Vec<MetaData>>(obj, "meta_data")? {
        Some(mut m) => {
            for entry in &mut m {
                entry.id = Some(store.meta_id());
            }
            m
        }
        None => Vec::new(),
    };
    order.line_items.push(LineItem {
        id: store.item_id(),
        name,
        product_id,
        variation_id,
        quantity: Num(qty.normalize().to_string()),
        tax_class: String::new(),
        subtotal: money(subtotal),
        subtotal_tax: money(Decimal::ZERO),
        total: money(subtotal),
        total_tax: money(Decimal::ZERO),
        taxes: Vec::new(),
        meta_data,
        sku,
        price: Num::default(),
    });
    Ok(())
}

fn shipping_line(store: &mut Store, order: &mut WooOrder, v: &Value) -> Result<(), WpError> {
    let obj = as_object_named(v, "shipping_lines")?;
    if let Some(id) = field::<u64>(obj, "id")?.filter(|id| *id != 0) {
        let Some(pos) = order.shipping_lines.iter().position(|l| l.id == id) else {
            return Err(WpError::new(
                400,
                "woocommerce_rest_invalid_item_id",
                "Order item ID provided is not associated with order.",
            ));
        };
        if obj.get("method_id") == Some(&Value::Null) {
            order.shipping_lines.remove(pos);
            return Ok(());
        }
        let line = &mut order.shipping_lines[pos];
        if let Some(t) = money_field(obj, "total")? {
            line.total = money(t);
        }
        if let Some(t) = field::<String>(obj, "method_title")? {
            line.method_title = t;
        }
        return Ok(());
    }
    order.shipping_lines.push(ShippingLine {
        id: store.item_id(),
        method_title: field::<String>(obj, "method_title")?.unwrap_or_default(),
        method_id: field::<String>(obj, "method_id")?.unwrap_or_default(),
        total: money(money_field(obj, "total")?.unwrap_or_default()),
        total_tax: money(Decimal::ZERO),
        taxes: Vec::new(),
        meta_data: Vec::new(),
    });
    Ok(())
}

fn fee_line(store: &mut Store, order: &mut WooOrder, v: &Value) -> Result<(), WpError> {
    let obj = as_object_named(v, "fee_lines")?;
    if let Some(id) = field::<u64>(obj, "id")?.filter(|id| *id != 0) {
        let Some(pos) = order.fee_lines.iter().position(|l| l.id == id) else {
            return Err(WpError::new(
                400,
                "woocommerce_rest_invalid_item_id",
                "Order item ID provided is not associated with order.",
            ));
        };
        if obj.get("name") == Some(&Value::Null) {
            order.fee_lines.remove(pos);
            return Ok(());
        }
        if let Some(t) = money_field(obj, "total")? {
            order.fee_lines[pos].total = money(t);
        }
        return Ok(());
    }
    order.fee_lines.push(FeeLine {
        id: store.item_id(),
        name: field::<String>(obj, "name")?.unwrap_or_default(),
        tax_class: String::new(),
        tax_status: "none".to_string(),
        total: money(money_field(obj, "total")?.unwrap_or_default()),
        total_tax: money(Decimal::ZERO),
        taxes: Vec::new(),
        meta_data: Vec::new(),
    });
    Ok(())
}

fn coupon_line(store: &mut Store, order: &mut WooOrder, v: &Value) -> Result<(), WpError> {
    let obj = as_object_named(v, "coupon_lines")?;
    let code = field::<String>(obj, "code")?
        .unwrap_or_default()
        .to_lowercase();
    if !store.settings.coupons.contains_key(&code) {
        return Err(WpError::new(
            400,
            "woocommerce_rest_invalid_coupon",
            format!("Coupon \"{code}\" does not exist!"),
        ));
    }
    if !order.coupon_lines.iter().any(|c| c.code == code) {
        order.coupon_lines.push(CouponLine {
            id: store.item_id(),
            code,
            discount: String::new(),
            discount_tax: money(Decimal::ZERO),
            meta_data: Vec::new(),
        });
    }
    Ok(())
}

/// Recomputes every derived amount: coupon discounts (percent of the items' subtotal, spread
/// over the lines in proportion, the rounding remainder on the last line), line totals and
/// prices, shipping, and the grand total = Σ line totals + fees + shipping (no taxes).
pub(crate) fn recalc(store: &Store, order: &mut WooOrder) -> Result<(), WpError> {
    let subtotal: Decimal = order.line_items.iter().map(|l| dec(&l.subtotal)).sum();
    let mut discount = Decimal::ZERO;
    for c in &mut order.coupon_lines {
        let pct = store
            .settings
            .coupons
            .get(&c.code)
            .copied()
            .unwrap_or_default();
        let d = round_money(subtotal * pct / Decimal::ONE_HUNDRED, 2).min(subtotal - discount);
        c.discount = money(d);
        discount += d;
    }
    let mut left = discount;
    let n = order.line_items.len();
    for (i, l) in order.line_items.iter_mut().enumerate() {
        let sub = dec(&l.subtotal);
        let share = if i + 1 == n {
            left
        } else if subtotal.is_zero() {
            Decimal::ZERO
        } else {
            round_money(discount * sub / subtotal, 2)
        };
        left -= share;
        let total = sub - share;
        l.total = money(total);
        let qty = dec(l.quantity.as_str());
        // WooCommerce computes `price` as total / quantity in PHP floats; six places is
        // what survives that anyway.
        l.price = Num(if qty.is_zero() {
            "0".to_string()
        } else {
            (total / qty).round_dp(6).normalize().to_string()
        });
    }
    let lines: Decimal = order.line_items.iter().map(|l| dec(&l.total)).sum();
    let fees: Decimal = order.fee_lines.iter().map(|l| dec(&l.total)).sum();
    let shipping: Decimal = order.shipping_lines.iter().map(|l| dec(&l.total)).sum();
    order.discount_total = money(discount);
    order.discount_tax = money(Decimal::ZERO);
    order.shipping_total = money(shipping);
    order.shipping_tax = money(Decimal::ZERO);
    order.cart_tax = money(Decimal::ZERO);
    order.total_tax = money(Decimal::ZERO);
    order.total = money(lines + fees + shipping);
    Ok(())
}

/// Two-decimal text, as WooCommerce formats money (`wc_format_decimal($v, 2)`).
pub(crate) fn money(d: Decimal) -> String {
    round_money(d, 2).to_string()
}

/// Parses text we wrote ourselves; anything unparsable counts as zero.
fn dec(s: &str) -> Decimal {
    Decimal::from_str(s.trim()).unwrap_or_default()
}

fn parse_qty(v: &Value) -> Result<Decimal, WpError> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    };
    match Decimal::from_str(text.trim()) {
        Ok(q) if q >= Decimal::ZERO && q.fract().is_zero() => Ok(q),
        _ => Err(WpError::invalid_param(
            "line_items",
            "line_items[0][quantity] is not of type integer.",
        )),
    }
}

fn money_field(obj: &Map<String, Value>, name: &str) -> Result<Option<Decimal>, WpError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Decimal::from_str(s.trim())
            .map(Some)
            .map_err(|_| WpError::invalid_param(name, format!("{name} is not of type string."))),
        Some(Value::Number(n)) => Decimal::from_str(&n.to_string())
            .map(Some)
            .map_err(|_| WpError::invalid_param(name, format!("{name} is not of type string."))),
        Some(_) => Err(WpError::invalid_param(
            name,
            format!("{name} is not of type string."),
        )),
    }
}

/// Adds or changes a meta entry: by `id` when given, else by `key` (WooCommerce's
/// `update_meta_data`).
fn upsert_meta(store: &mut Store, metas: &mut Vec<MetaData>, v: &Value) -> Result<(), WpError> {
    let m: MetaData = serde_json::from_value(v.clone())
        .map_err(|_| WpError::invalid_param("meta_data", "meta_data[0] is not of type object."))?;
    let pos = match m.id {
        Some(id) => metas.iter().position(|x| x.id == Some(id)),
        None => metas.iter().position(|x| x.key == m.key),
    };
    match pos {
        Some(p) => {
            metas[p].key = m.key;
            metas[p].value = m.value;
        }
        None => metas.push(MetaData {
            id: Some(store.meta_id()),
            key: m.key,
            value: m.value,
        }),
    }
    Ok(())
}

/// Reads one optional top-level field; a wrong type is `rest_invalid_param` naming the field.
fn field<T: DeserializeOwned>(obj: &Map<String, Value>, name: &str) -> Result<Option<T>, WpError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|_| {
            WpError::invalid_param(name, format!("{name} is not of the expected type."))
        }),
    }
}

/// Applies a partial object (`{"email": "x"}`) to an address block.
fn overlay<T: Serialize + DeserializeOwned>(
    current: &T,
    patch: &Value,
    name: &str,
) -> Result<T, WpError> {
    let bad = || WpError::invalid_param(name, format!("{name} is not of type object."));
    let Value::Object(p) = patch else {
        return Err(bad());
    };
    let mut cur = serde_json::to_value(current).map_err(|_| bad())?;
    if let Value::Object(c) = &mut cur {
        for (k, v) in p {
            c.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(cur).map_err(|_| bad())
}

fn as_object(v: &Value) -> Result<&Map<String, Value>, WpError> {
    v.as_object()
        .ok_or_else(|| WpError::new(400, "rest_invalid_json", "Invalid JSON body passed."))
}

fn as_object_named<'a>(v: &'a Value, name: &str) -> Result<&'a Map<String, Value>, WpError> {
    v.as_object()
        .ok_or_else(|| WpError::invalid_param(name, format!("{name}[0] is not of type object.")))
}

/// A list as WordPress' `wp_sprintf_l` writes it: `a, b, and c`.
pub(crate) fn wp_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [a, b] => format!("{a} and {b}"),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    }
}

fn random_key() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(13)
        .map(|c| char::from(c).to_ascii_lowercase())
        .collect()
}
