//! amoCRM's throttling signals through the client: the account-wide 7 requests/s shared by every
//! client of the account, and the overloaded account's HTML page treated as throttling.

use crate::common;

use dealbridge_amocrm::emulator::EmulatorConfig;
use dealbridge_amocrm::{AmoClient, DEFAULT_LIMITS};
use dealbridge_sdk::error::ErrorKind;
use dealbridge_sdk::http::Timeouts;
use serde_json::json;
use std::time::{Duration, Instant};

fn account_client(base: &str) -> AmoClient {
    AmoClient::new(
        base,
        "test",
        DEFAULT_LIMITS,
        Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(5),
        },
    )
    .expect("valid base url")
}

/// Adds contact `name` as the job queue would: retry a rate-limited call after a pause.
/// Returns how many attempts were rate limited. `scale` shortens the pause for the test.
async fn add_with_retries(c: &AmoClient, name: &str, scale: u32) -> u32 {
    let mut limited = 0;
    loop {
        match c.add_contacts(&[json!({ "name": name })]).await {
            Ok(saved) => {
                assert_eq!(saved.len(), 1);
                return limited;
            }
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::RateLimited, "{}", e.message);
                limited += 1;
                assert!(limited <= 5, "{name} rate limited {limited} times");
                let wait = e.retry_after.expect("a pause");
                tokio::time::sleep(wait / scale).await;
            }
        }
    }
}

fn names_once(emu_names: Vec<String>, want: usize, prefix: &str) {
    let mut got: Vec<String> = emu_names
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    got.sort();
    let mut expect: Vec<String> = (0..want).map(|i| format!("{prefix}{i:02}")).collect();
    expect.sort();
    assert_eq!(got, expect, "every contact exactly once");
}

#[tokio::test]
async fn two_clients_on_one_account_stay_under_its_limit_together() {
    let emu = common::emulator(EmulatorConfig::default()).await;
    // Two flows build their own clients for the same account.
    let (a, b) = (account_client(&emu.base_url), account_client(&emu.base_url));
    let started = Instant::now();
    let run = |c: AmoClient, flow: &'static str| async move {
        let mut limited = 0;
        for i in 0..14 {
            limited += add_with_retries(&c, &format!("{flow}{i:02}"), 1).await;
        }
        limited
    };
    let (la, lb) = tokio::join!(run(a, "flow-a "), run(b, "flow-b "));
    let took = started.elapsed();
    let names = || {
        emu.handle
            .contacts()
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    names_once(names(), 14, "flow-a ");
    names_once(names(), 14, "flow-b ");
    let refused = emu.handle.window_refusals();
    eprintln!("two clients, 28 writes: {refused} refused, took {took:?}");
    // With a limiter each they would send 14/s together and be refused about half the time.
    assert!(refused <= 1, "the window refused {refused} requests");
    assert_eq!(u64::from(la + lb), refused);
    // 28 requests at 7/s (one every ~145 ms) take ~3.9 s: the pace is the account's, not 14/s.
    assert!(took >= Duration::from_millis(3700), "{took:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn html_page_is_throttling_retried_and_nothing_is_dead() {
    let emu = common::emulator(EmulatorConfig {
        rate_per_second: 100_000,
        ..EmulatorConfig::default()
    })
    .await;
    let c = common::client(&emu.base_url, "test");
    let raw = reqwest::Client::new()
        .get(format!("{}/api/v4/contacts", emu.base_url))
        .bearer_auth("test");
    emu.handle.answer_html_for_next(1);
    let page = raw.send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    emu.handle.answer_html_for_next(2);
    emu.handle.answer_html_every(4);
    let mut limited = 0;
    for i in 0..12 {
        // The queue would wait `retry_after` (3 s); the test waits a hundredth of it.
        limited += add_with_retries(&c, &format!("html {i:02}"), 100).await;
    }
    let names = emu
        .handle
        .contacts()
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names_once(names, 12, "html ");
    let served = emu.handle.html_pages_served();
    // 1 raw + 2 in a row + every 4th of the rest: each page cost one retry, no more.
    assert_eq!(u64::from(limited), served - 1);
    assert!((4..=8).contains(&limited), "{limited} pages");
    emu.handle.answer_html_every(0);
    emu.handle.answer_html_for_next(1);
    let e = c
        .add_contacts(&[json!({"name": "once"})])
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    assert!(e.message.contains("HTML page"), "{}", e.message);
    emu.shutdown().await;
}
