//! The client against the emulator over real loopback HTTP.

use chrono::Utc;
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::traits::OrderSource;
use dealbridge_sdk::ErrorKind;
use dealbridge_woocommerce::emulator::{spawn, EmulatorConfig, RunningEmulator};
use dealbridge_woocommerce::wire::{Billing, NewLineItem, NewOrder, NewShippingLine};
use dealbridge_woocommerce::{ListOrders, OrderBy, SortOrder, WooClient};
use rust_decimal_macros::dec;
use serde_json::json;
use std::time::Duration;

async fn emulator() -> RunningEmulator {
    spawn(EmulatorConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(2),
    }
}

fn client(emu: &RunningEmulator) -> WooClient {
    WooClient::new(&emu.base_url, "ck_test", "cs_test", timeouts())
        .unwrap()
        .with_system_name("shop")
}

fn new_order(i: u32) -> NewOrder {
    NewOrder {
        billing: Some(Billing {
            first_name: "Ivan".into(),
            last_name: format!("Buyer{i}"),
            email: format!("Buyer{i}@Example.com"),
            phone: "+7 900 000-00-00".into(),
            ..Default::default()
        }),
        payment_method: Some("cod".into()),
        payment_method_title: Some("Cash on delivery".into()),
        line_items: vec![
            NewLineItem {
                product_id: Some(12), // Кофемолка, 1899.90
                quantity: Some(2),
                ..Default::default()
            },
            NewLineItem {
                product_id: Some(18),
                variation_id: Some(32), // Футболка - L, 1090.00
                quantity: Some(1),
                ..Default::default()
            },
        ],
        shipping_lines: vec![NewShippingLine {
            method_id: "flat_rate".into(),
            method_title: "Courier".into(),
            total: "350.00".into(),
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn create_and_page_through_25_orders() {
    let emu = emulator().await;
    let c = client(&emu);
    let mut ids = Vec::new();
    for i in 0..25 {
        let o = c.create_order(&new_order(i)).await.unwrap();
        assert_eq!(o.number, o.id.to_string());
        assert_eq!(o.status, "pending");
        assert_eq!(o.created_via, "rest-api");
        // 2 × 1899.90 + 1090.00 + 350.00 shipping
        assert_eq!(o.total, "5239.80");
        assert_eq!(o.line_items[0].total, "3799.80");
        assert_eq!(o.line_items[1].sku.as_deref(), Some("TS-L"));
        ids.push(o.id);
    }
    assert_eq!(ids[0], 100);
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(emu.handle.counters().get("POST /orders").served, 25);

    let mut seen = Vec::new();
    for page in 1..=3 {
        let (orders, total, pages) = c
            .list_orders(&ListOrders {
                page,
                per_page: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!((total, pages), (25, 3));
        assert_eq!(orders.len(), if page < 3 { 10 } else { 5 });
        seen.extend(orders.iter().map(|o| o.id));
    }
    assert_eq!(seen, ids, "id ascending, every order exactly once");

    // The trait view: canonical orders with exact decimals and a next page from the headers.
    let p1 = c.orders_modified_since(None, 1, 10).await.unwrap();
    assert_eq!((p1.next_page, p1.total), (Some(2), Some(25)));
    let o = &p1.items[0];
    assert_eq!(o.source.system, "shop");
    assert_eq!(o.total, dec!(5239.80));
    assert_eq!(o.lines[0].unit_price, dec!(1899.90));
    assert_eq!(o.lines[1].item.as_ref().unwrap().id, "32");
    assert_eq!(o.customer.email.as_deref(), Some("buyer0@example.com"));
    assert_eq!(o.currency.as_str(), "RUB");
    let p3 = c.orders_modified_since(None, 3, 10).await.unwrap();
    assert_eq!(p3.next_page, None);
    emu.shutdown().await;
}

#[tokio::test]
async fn list_headers_and_links_are_woocommerce_shaped() {
    let emu = emulator().await;
    emu.handle.seed_orders(12, 7);
    let http = reqwest::Client::new();
    let resp = http
        .get(format!(
            "{}/wp-json/wc/v3/orders?per_page=5&page=2",
            emu.base_url
        ))
        .basic_auth("ck_test", Some("cs_test"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-wp-total"], "12");
    assert_eq!(resp.headers()["x-wp-totalpages"], "3");
    let links: Vec<&str> = resp
        .headers()
        .get_all("link")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(links[0].ends_with("page=1>; rel=\"prev\""), "{links:?}");
    assert!(
        links[1].contains("per_page=5") && links[1].ends_with("page=3>; rel=\"next\""),
        "{links:?}"
    );
    // Default order is newest first.
    let body: Vec<serde_json::Value> = resp.json().await.unwrap();
    assert!(body[0]["id"].as_u64() > body[4]["id"].as_u64());

    // Query-string credentials are the documented fallback.
    let resp = http
        .get(format!(
            "{}/wp-json/wc/v3/orders?consumer_key=ck_test&consumer_secret=cs_test",
            emu.base_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // No credentials: the endpoint's permission error; unknown route: rest_no_route.
    let resp = http
        .get(format!("{}/wp-json/wc/v3/orders", emu.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let e: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(e["code"], "woocommerce_rest_cannot_view");
    let resp = http
        .get(format!("{}/wp-json/wc/v3/nothing", emu.base_url))
        .basic_auth("ck_test", Some("cs_test"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let e: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        e,
        json!({"code": "rest_no_route", "message": "No route was found matching the URL and request method.", "data": {"status": 404}})
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn modified_after_returns_only_the_delta_and_updates_bump_date_modified() {
    let emu = emulator().await;
    let c = client(&emu);
    let ids = emu.handle.seed_orders(8, 42);
    let before = c.get_order(ids[3]).await.unwrap();
    // The newest modification of all (seeding may straddle a second boundary).
    let (all, _, _) = c
        .list_orders(&ListOrders {
            per_page: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let cursor = all
        .iter()
        .map(|o| o.date_modified_gmt)
        .max()
        .unwrap()
        .and_utc();

    // Nothing changed since the newest modification: exclusive comparison, empty delta.
    let q = ListOrders {
        modified_after: Some(cursor),
        per_page: 100,
        ..Default::default()
    };
    let (orders, total, _) = c.list_orders(&q).await.unwrap();
    assert_eq!((orders.len(), total), (0, 0));

    emu.handle.advance_clock(Duration::from_secs(5));
    let updated = c
        .update_order(
            ids[3],
            &json!({"status": "completed", "customer_note": "ring twice"}),
        )
        .await
        .unwrap();
    assert!(updated.date_modified_gmt > before.date_modified_gmt);
    assert_eq!(updated.date_created_gmt, before.date_created_gmt);
    assert!(updated.date_completed_gmt.is_some());
    assert_eq!(updated.status, "completed");

    let (orders, total, pages) = c.list_orders(&q).await.unwrap();
    assert_eq!((total, pages), (1, 1));
    assert_eq!(orders[0].id, ids[3]);
    assert_eq!(orders[0].customer_note, "ring twice");

    // The trait's `since` is inclusive: asking from the update's own second still finds it.
    let page = c
        .orders_modified_since(Some(updated.date_modified_gmt.and_utc()), 1, 50)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].status, "completed");
    assert_eq!(page.items[0].note.as_deref(), Some("ring twice"));
    assert!(page.items[0].modified_at <= Utc::now() + chrono::Duration::seconds(10));

    // orderby=modified (an emulator extension) puts the changed order last.
    let (all, _, _) = c
        .list_orders(&ListOrders {
            per_page: 100,
            orderby: OrderBy::Modified,
            order: SortOrder::Asc,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.last().unwrap().id, ids[3]);
    assert_eq!(emu.handle.counters().get("PUT /orders/{id}").served, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn errors_are_classified() {
    let emu = emulator().await;
    let c = client(&emu);

    let wrong = WooClient::new(&emu.base_url, "ck_test", "cs_wrong", timeouts()).unwrap();
    let e = wrong.get_order(100).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert_eq!(e.system, "woocommerce");
    assert!(
        e.message.contains("Consumer secret is invalid."),
        "{}",
        e.message
    );

    let e = c
        .list_orders(&ListOrders {
            per_page: 500,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(e.message.contains("rest_invalid_param"), "{}", e.message);

    let e = c.get_order(999_999).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(
        e.message.contains("woocommerce_rest_shop_order_invalid_id"),
        "{}",
        e.message
    );

    let e = c
        .update_order(999_999, &json!({"status": "completed"}))
        .await
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Invalid,
        "WooCommerce answers 400 for an update of an unknown id"
    );

    let id = c.create_order(&new_order(1)).await.unwrap().id;
    let e = c
        .update_order(id, &json!({"status": "shipped"}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(
        e.message.contains("Invalid parameter(s): status"),
        "{}",
        e.message
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn invalid_status_body_is_wordpress_shaped() {
    let emu = emulator().await;
    let resp = reqwest::Client::new()
        .post(format!("{}/wp-json/wc/v3/orders", emu.base_url))
        .basic_auth("ck_test", Some("cs_test"))
        .json(&json!({"status": "shipped"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "rest_invalid_param");
    assert_eq!(body["message"], "Invalid parameter(s): status");
    assert_eq!(body["data"]["status"], 400);
    assert!(body["data"]["params"]["status"]
        .as_str()
        .unwrap()
        .starts_with("status is not one of pending"));
    assert_eq!(
        emu.handle.order_count(),
        0,
        "a rejected create stores nothing"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn delete_trashes_then_forces_and_batch_works() {
    let emu = emulator().await;
    let c = client(&emu);
    let ids = emu.handle.seed_orders(3, 1);
    let trashed = c.delete_order(ids[0], false).await.unwrap();
    assert_eq!(trashed.status, "trash");
    let (_, total, _) = c.list_orders(&ListOrders::default()).await.unwrap();
    assert_eq!(total, 2, "status=any leaves out the trash");
    c.delete_order(ids[0], true).await.unwrap();
    assert_eq!(
        c.get_order(ids[0]).await.unwrap_err().kind,
        ErrorKind::NotFound
    );

    let resp = reqwest::Client::new()
        .post(format!("{}/wp-json/wc/v3/orders/batch", emu.base_url))
        .basic_auth("ck_test", Some("cs_test"))
        .json(&json!({
            "create": [serde_json::to_value(new_order(9)).unwrap()],
            "update": [{"id": ids[1], "status": "on-hold"}, {"id": 424242, "status": "on-hold"}],
            "delete": [ids[2]]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["create"][0]["total"], "5239.80");
    assert_eq!(body["update"][0]["status"], "on-hold");
    assert_eq!(
        body["update"][1]["error"]["code"],
        "woocommerce_rest_shop_order_invalid_id"
    );
    assert_eq!(body["delete"][0]["id"], ids[2]);
    assert_eq!(emu.handle.order_count(), 2);

    let too_many: Vec<u64> = (1..=101).collect();
    let resp = reqwest::Client::new()
        .post(format!("{}/wp-json/wc/v3/orders/batch", emu.base_url))
        .basic_auth("ck_test", Some("cs_test"))
        .json(&json!({"delete": too_many}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    emu.shutdown().await;
}

#[tokio::test]
async fn seeded_orders_are_realistic_and_reproducible() {
    let emu = emulator().await;
    let ids = emu.handle.seed_orders(30, 99);
    let c = client(&emu);
    let mut emails = std::collections::BTreeMap::new();
    let mut statuses = std::collections::BTreeSet::new();
    for p in 1..=3 {
        let page = c.orders_modified_since(None, p, 10).await.unwrap();
        for o in page.items {
            assert!((1..=4 + 1).contains(&o.lines.len()));
            let sum: rust_decimal::Decimal = o.lines.iter().map(|l| l.total).sum();
            assert_eq!(sum + o.shipping_total, o.total, "order {}", o.source.id);
            *emails.entry(o.customer.email.clone().unwrap()).or_insert(0) += 1;
            statuses.insert(o.status.clone());
        }
    }
    assert!(emails.values().any(|n| *n > 1), "some buyers repeat");
    assert!(emails.keys().all(|e| *e == e.to_lowercase()));
    assert!(statuses.len() >= 3, "{statuses:?}");

    let other = emulator().await;
    other.handle.seed_orders(30, 99);
    for id in [ids[0], ids[17], ids[29]] {
        let a = emu.handle.get_order_json(id).unwrap();
        let b = other.handle.get_order_json(id).unwrap();
        assert_eq!(a["total"], b["total"], "same seed, same order {id}");
        assert_eq!(a["billing"], b["billing"]);
    }
    emu.shutdown().await;
    other.shutdown().await;
}

#[tokio::test]
async fn injected_faults_map_to_retryable_errors() {
    let emu = emulator().await;
    let c = client(&emu);
    emu.handle.seed_orders(2, 3);

    emu.handle.faults().set(FaultConfig {
        error_rate: 1.0,
        ..Default::default()
    });
    let e = c.get_order(100).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient);
    assert!(e.message.contains("internal_server_error"), "{}", e.message);

    emu.handle.faults().set(FaultConfig {
        throttle_rate: 1.0,
        ..Default::default()
    });
    let e = c.list_orders(&ListOrders::default()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(1)));

    emu.handle.faults().set(FaultConfig {
        drop_rate: 1.0,
        ..Default::default()
    });
    let e = c.get_order(100).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");

    emu.handle.faults().set(FaultConfig {
        timeout_rate: 1.0,
        hang: Duration::from_secs(5),
        ..Default::default()
    });
    let started = std::time::Instant::now();
    let e = c.get_order(100).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(e.message.contains("timed out"), "{}", e.message);
    assert!(started.elapsed() < Duration::from_secs(4));

    // The write lands although the client sees a failure: the duplicate-maker.
    emu.handle.faults().set(FaultConfig {
        drop_after_write_rate: 1.0,
        ..Default::default()
    });
    let e = c.create_order(&new_order(5)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert_eq!(emu.handle.order_count(), 3);

    emu.handle.faults().set(FaultConfig::default());
    assert_eq!(c.get_order(100).await.unwrap().id, 100);
    let counts = emu.handle.counters().get("GET /orders/{id}");
    assert_eq!((counts.calls, counts.served), (4, 1));
    assert_eq!(emu.handle.counters().get("POST /orders").served, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn html_error_pages_are_protocol_errors() {
    // A plain HTTP server answering like a misconfigured proxy, on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::BAD_GATEWAY,
            axum::response::Html("<html><body><h1>502 Bad Gateway</h1></body></html>"),
        )
    });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let c = WooClient::new(&format!("http://{addr}"), "ck", "cs", timeouts()).unwrap();
    let e = c.get_order(1).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Protocol);
    assert!(e.message.contains("HTTP 502"), "{}", e.message);
    server.abort();
}
