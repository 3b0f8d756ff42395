//! `OPERATION_TIME_LIMIT`: a method over its operating-time budget is refused with 429 and the
//! vendor's body, only that method; the client holds the method until the reset instead of
//! hammering it, and a run that retries as the job queue does still lands every write once.

use crate::common;

use dealbridge_bitrix24::emulator::{EmulatorConfig, OperatingLimits};
use dealbridge_sdk::error::ErrorKind;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Three calls of one method per 2-second window: a budget a test can trip and outlive.
fn tight() -> OperatingLimits {
    OperatingLimits {
        budget: Duration::from_secs(3),
        window: Duration::from_secs(2),
        cost_per_call: Duration::from_secs(1),
    }
}

#[tokio::test]
async fn over_budget_method_gets_the_vendor_body_and_time_block() {
    let emu = common::emulator(EmulatorConfig {
        operating: tight(),
        ..EmulatorConfig::default()
    })
    .await;
    let http = common::raw();
    let url = format!("{}crm.deal.list", emu.webhook_url);
    let mut operating = Vec::new();
    for _ in 0..3 {
        let a = http.post(&url).json(&json!({})).send().await.unwrap();
        assert_eq!(a.status(), 200);
        let body: Value = a.json().await.unwrap();
        operating.push(body["time"]["operating"].as_f64().unwrap());
        let reset = body["time"]["operating_reset_at"].as_i64().unwrap();
        let now = chrono::Utc::now().timestamp();
        assert!((now..=now + 3).contains(&reset), "reset {reset}, now {now}");
    }
    assert_eq!(operating, vec![1.0, 2.0, 3.0]);
    let a = http.post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(a.status(), 429);
    let body: Value = a.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked due to operation time limit."})
    );
    let other = http
        .post(format!("{}crm.contact.list", emu.webhook_url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        200,
        "only the method over budget is blocked"
    );
    assert_eq!(emu.handle.operating_refused("crm.deal.list"), 1);
    assert_eq!(emu.handle.operating_refused_total(), 1);
    assert!((emu.handle.operating_seconds("crm.deal.list") - 3.0).abs() < 1e-9);
    emu.shutdown().await;
}

#[tokio::test]
async fn client_holds_the_blocked_method_and_every_write_lands_once() {
    let emu = common::emulator(EmulatorConfig {
        operating: tight(),
        ..EmulatorConfig::default()
    })
    .await;
    let c = common::client(&emu.webhook_url);
    let started = Instant::now();
    let (mut local_holds, mut refusals_seen) = (0u32, 0u32);
    for i in 0..10 {
        // As the job queue does: retry a rate-limited call after its `retry_after`.
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts <= 8, "contact {i} retried {attempts} times");
            match c
                .call(
                    "crm.contact.add",
                    json!({"fields": {"NAME": format!("Buyer {i}")}}),
                )
                .await
            {
                Ok(_) => break,
                Err(e) => {
                    assert_eq!(e.kind, ErrorKind::RateLimited, "{}", e.message);
                    if e.message.contains("held after") {
                        local_holds += 1;
                    } else {
                        refusals_seen += 1;
                        // A clone (another flow on this portal) asking at once is held locally:
                        // no request, no further refusal.
                        let before = emu.handle.operating_refused("crm.contact.add");
                        let again = c.clone().call("crm.contact.add", json!({})).await;
                        let again = again.expect_err("held");
                        assert!(again.message.contains("held after"), "{}", again.message);
                        assert_eq!(emu.handle.operating_refused("crm.contact.add"), before);
                        local_holds += 1;
                    }
                    // Other methods keep flowing while this one is held.
                    c.call("crm.deal.list", json!({})).await.unwrap();
                    let wait = e.retry_after.expect("a pause");
                    assert!(wait <= Duration::from_secs(4), "{wait:?}");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
    let names: Vec<String> = emu
        .handle
        .contacts()
        .iter()
        .map(|c| c["NAME"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut want: Vec<String> = (0..10).map(|i| format!("Buyer {i}")).collect();
    let mut got = names.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "every contact exactly once");
    let refused = emu.handle.operating_refused("crm.contact.add");
    assert_eq!(u64::from(refusals_seen), refused);
    // 10 calls at 3 per window: the client is refused about once a window, never more.
    assert!((1..=4).contains(&refused), "refused {refused} times");
    assert_eq!(emu.handle.operating_refused("crm.deal.list"), 0);
    // The run is paced by the budget: at least 3 windows for 10 calls.
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(local_holds, refusals_seen);
    eprintln!(
        "operating budget: refused {refused}, held locally {local_holds}, took {:?}",
        started.elapsed()
    );
    emu.shutdown().await;
}
