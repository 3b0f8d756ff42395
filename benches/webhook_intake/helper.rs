//! Webhook intake benchmark helper (issue 4), not a test. Two jobs:
//!
//! - `gen`: writes N signed WooCommerce `order.updated` deliveries, one per line as
//!   `delivery id <TAB> X-WC-Webhook-Signature <TAB> body`, for `intake.lua` to replay with wrk.
//!   Signing needs HMAC-SHA256, which wrk's Lua lacks, so every request is prepared here. Each
//!   delivery has its own delivery id, order id and body: a repeat would be answered from the
//!   inbox's dedupe check and measure nothing durable.
//! - `baseline`: a plain axum server with the same route, `POST /webhooks/{system}`, that
//!   answers 200 without storing (optionally after the same signature check and body parse as
//!   dealbridge, `--verify SECRET`), to show what the HTTP stack alone costs on this machine.
//!
//! `cargo run --release --example webhook_intake -- gen --secret S --count N --out FILE`
//! `cargo run --release --example webhook_intake -- baseline --listen 127.0.0.1:18081 [--verify S]`
//! See `benches/webhook_intake/README.md` for the whole procedure.

// The order literal below is one big `json!`, deeper than the default macro recursion limit.
#![recursion_limit = "256"]

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::HeaderValue;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use std::io::{BufWriter, Write};
use std::sync::Arc;

const USAGE: &str = "usage: webhook_intake gen --secret S [--count N] [--out FILE] [--tag T]
       webhook_intake baseline [--listen ADDR] [--verify SECRET]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("gen") => gen(&args[1..]),
        Some("baseline") => baseline(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    if let Err(e) = result {
        eprintln!("webhook_intake: {e}");
        std::process::exit(2);
    }
}

/// The value after `--name`, if given.
fn opt(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One WooCommerce REST v3 order as a webhook carries it, shaped like the documented
/// `GET /orders/<id>` response (two line items, tax and shipping lines, meta data) so body
/// size, HMAC and JSON parsing cost what a real delivery costs (~2.3 KB).
fn order(id: u64, tag: &str) -> serde_json::Value {
    let sec = id % 60;
    let min = (id / 60) % 60;
    serde_json::json!({
        "id": id, "parent_id": 0, "number": id.to_string(),
        "order_key": format!("wc_order_{tag}{id:x}"), "created_via": "checkout", "version": "9.4.2",
        "status": "processing", "currency": "USD",
        "date_created": format!("2026-11-25T10:{min:02}:{sec:02}"),
        "date_created_gmt": format!("2026-11-25T07:{min:02}:{sec:02}"),
        "date_modified": format!("2026-11-25T11:{min:02}:{sec:02}"),
        "date_modified_gmt": format!("2026-11-25T08:{min:02}:{sec:02}"),
        "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "10.00",
        "shipping_tax": "0.00", "cart_tax": "1.35", "total": "29.35", "total_tax": "1.35",
        "prices_include_tax": false, "customer_id": 0, "customer_ip_address": "203.0.113.7",
        "customer_user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "customer_note": "",
        "billing": {"first_name": "John", "last_name": "Doe", "company": "",
            "address_1": "969 Market", "address_2": "", "city": "San Francisco", "state": "CA",
            "postcode": "94103", "country": "US", "email": format!("buyer{id}@example.com"),
            "phone": "(555) 555-5555"},
        "shipping": {"first_name": "John", "last_name": "Doe", "company": "",
            "address_1": "969 Market", "address_2": "", "city": "San Francisco", "state": "CA",
            "postcode": "94103", "country": "US"},
        "payment_method": "bacs", "payment_method_title": "Direct Bank Transfer",
        "transaction_id": "", "date_paid": format!("2026-11-25T11:{min:02}:{sec:02}"),
        "date_paid_gmt": format!("2026-11-25T08:{min:02}:{sec:02}"),
        "date_completed": null, "date_completed_gmt": null, "cart_hash": "",
        "meta_data": [{"id": 13106, "key": "_download_permissions_granted", "value": "yes"}],
        "line_items": [
            {"id": id * 10 + 1, "name": "Woo Single #1", "product_id": 93, "variation_id": 0,
             "quantity": 2, "tax_class": "", "subtotal": "6.00", "subtotal_tax": "0.45",
             "total": "6.00", "total_tax": "0.45",
             "taxes": [{"id": 75, "total": "0.45", "subtotal": "0.45"}], "meta_data": [],
             "sku": "W-1", "price": 3},
            {"id": id * 10 + 2, "name": "Ship Your Idea – Color: Black, Size: M", "product_id": 22,
             "variation_id": 23, "quantity": 1, "tax_class": "", "subtotal": "12.00",
             "subtotal_tax": "0.90", "total": "12.00", "total_tax": "0.90",
             "taxes": [{"id": 75, "total": "0.9", "subtotal": "0.9"}],
             "meta_data": [{"id": 2095, "key": "pa_color", "value": "black"},
                           {"id": 2096, "key": "size", "value": "M"}],
             "sku": "Bar3", "price": 12}],
        "tax_lines": [{"id": id * 10 + 3, "rate_code": "US-CA-STATE TAX", "rate_id": 75,
            "label": "State Tax", "compound": false, "tax_total": "1.35",
            "shipping_tax_total": "0.00", "meta_data": []}],
        "shipping_lines": [{"id": id * 10 + 4, "method_title": "Flat Rate",
            "method_id": "flat_rate", "total": "10.00", "total_tax": "0.00", "taxes": [],
            "meta_data": []}],
        "fee_lines": [], "coupon_lines": [], "refunds": [],
        "_links": {"self": [{"href": format!("https://shop.example.com/wp-json/wc/v3/orders/{id}")}],
                   "collection": [{"href": "https://shop.example.com/wp-json/wc/v3/orders"}]}
    })
}

fn gen(args: &[String]) -> Result<(), String> {
    let secret = opt(args, "--secret").ok_or("gen needs --secret")?;
    let count: u64 = opt(args, "--count")
        .unwrap_or_else(|| "100000".into())
        .parse()
        .map_err(|e| format!("--count: {e}"))?;
    let out = opt(args, "--out").unwrap_or_else(|| "requests.tsv".into());
    // The tag keeps delivery ids of separate generations apart, so a second file replayed
    // against the same database is new deliveries too.
    let tag = opt(args, "--tag").unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        format!("{t:x}")
    });
    let file = std::fs::File::create(&out).map_err(|e| format!("{out}: {e}"))?;
    let mut w = BufWriter::new(file);
    let mut bytes = 0usize;
    for i in 0..count {
        let id = 100_000 + i;
        let body = dealbridge_woocommerce::webhook::php_json(&order(id, &tag));
        let signature = dealbridge_woocommerce::webhook::sign(&secret, &body);
        // WooCommerce's delivery id is 32 hex digits (wp_hash); ours is tag + counter, padded.
        let delivery = format!("{tag}{i:0>width$x}", width = 32 - tag.len().min(24));
        // php_json output is one line with no raw tab (JSON escapes control characters).
        if body.contains(&b'\n') || body.contains(&b'\t') {
            return Err("body contains a newline or tab".into());
        }
        if i < 100 {
            // Self-check: dealbridge's own verification accepts what we wrote.
            let mut h = HeaderMap::new();
            let hv = |s: &str| HeaderValue::from_str(s).expect("ascii header");
            h.insert("x-wc-webhook-signature", hv(&signature));
            h.insert("x-wc-webhook-topic", hv("order.updated"));
            h.insert("x-wc-webhook-delivery-id", hv(&delivery));
            dealbridge_woocommerce::webhook::verify(&h, &body, &secret)
                .map_err(|e| format!("generated delivery {i} does not verify: {e}"))?;
        }
        w.write_all(delivery.as_bytes())
            .and_then(|_| w.write_all(b"\t"))
            .and_then(|_| w.write_all(signature.as_bytes()))
            .and_then(|_| w.write_all(b"\t"))
            .and_then(|_| w.write_all(&body))
            .and_then(|_| w.write_all(b"\n"))
            .map_err(|e| format!("{out}: {e}"))?;
        bytes += body.len();
    }
    w.flush().map_err(|e| format!("{out}: {e}"))?;
    eprintln!(
        "wrote {count} signed deliveries to {out} (tag {tag}, mean body {} bytes)",
        (bytes as u64).checked_div(count).unwrap_or(0)
    );
    Ok(())
}

fn baseline(args: &[String]) -> Result<(), String> {
    let listen = opt(args, "--listen").unwrap_or_else(|| "127.0.0.1:18081".into());
    let secret: Option<Arc<str>> = opt(args, "--verify").map(Into::into);
    // Same runtime as `dealbridge run` (main.rs: `Runtime::new()`, one worker per core).
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let app = Router::new()
            .route("/webhooks/{system}", post(receive))
            .layer(DefaultBodyLimit::max(2 * 1024 * 1024))
            .with_state(secret.clone());
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| format!("{listen}: {e}"))?;
        eprintln!(
            "baseline listening on http://{listen}/webhooks/{{system}} ({})",
            if secret.is_some() {
                "verifies the signature and parses the order, stores nothing"
            } else {
                "answers 200, stores nothing"
            }
        );
        axum::serve(listener, app).await.map_err(|e| e.to_string())
    })
}

async fn receive(
    State(secret): State<Option<Arc<str>>>,
    Path(_system): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    if let Some(secret) = secret {
        if dealbridge_woocommerce::webhook::verify(&headers, &body, &secret).is_err() {
            return (StatusCode::UNAUTHORIZED, "bad signature\n");
        }
    }
    (StatusCode::OK, "stored\n")
}
