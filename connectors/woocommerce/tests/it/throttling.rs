//! A host throttling WooCommerce: 429 and 503 with `Retry-After` in seconds or as an HTTP date.
//! The client reports `RateLimited` with the host's wait; a caller that waits it lands every
//! write once, and each busy answer costs one retry.

use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::ErrorKind;
use dealbridge_woocommerce::emulator::{spawn, EmulatorConfig};
use dealbridge_woocommerce::WooClient;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn retry_after_in_seconds_and_as_a_date_is_obeyed() {
    let emu = spawn(EmulatorConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let ids = emu.handle.seed_orders(4, 7);
    let c = WooClient::new(
        &emu.base_url,
        "ck_test",
        "cs_test",
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(2),
        },
    )
    .unwrap();
    let started = Instant::now();
    let (mut refused, mut waited) = (0u64, Duration::ZERO);
    for (i, id) in ids.iter().enumerate() {
        match i {
            0 => {
                let at = (chrono::Utc::now() + chrono::Duration::seconds(2))
                    .format("%a, %d %b %Y %H:%M:%S GMT")
                    .to_string();
                emu.handle.answer_busy_for_next(1, 503, &at);
            }
            2 => emu.handle.answer_busy_for_next(2, 429, "1"),
            _ => {}
        }
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= 3, "order {id} tried {attempts} times");
            match c.update_order(*id, &json!({"status": "completed"})).await {
                Ok(o) => {
                    assert_eq!(o.status, "completed");
                    break;
                }
                Err(e) => {
                    assert_eq!(e.kind, ErrorKind::RateLimited, "{}", e.message);
                    let wait = e.retry_after.expect("the host's Retry-After");
                    assert!(wait <= Duration::from_secs(2), "{wait:?}");
                    refused += 1;
                    waited += wait;
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
    assert_eq!(refused, 3);
    assert_eq!(emu.handle.busy_answers(), 3);
    let puts = emu.handle.counters().get("PUT /orders/{id}");
    assert_eq!(puts.served, 4, "every update landed once");
    assert_eq!(puts.calls, 4 + 3, "one retry per busy answer");
    // The date is whole seconds: its wait is 1–2 s, the two 429s 1 s each.
    assert!(waited >= Duration::from_millis(2500), "{waited:?}");
    assert!(started.elapsed() >= waited);
}
