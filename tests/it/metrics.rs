//! `/metrics` of a running `dealbridge run`: orders go through with 30 % of the emulators'
//! answers faulted (15 % server errors, 15 % throttles), then the scraped counters are checked
//! against what the emulators saw, to the request; the exposition is checked by `promtool`
//! when it is installed.
//!
//! The engine is the real binary in its own process, so its process-wide metrics recorder
//! counts only its own requests (not the test's, nor other tests' running beside it).

use crate::common;

use common::{dealbridge, free_port, spawn_world, wait_until, ChildGuard, Tuning, World};
use dealbridge_sdk::fault::{FaultConfig, FaultOutcome};
use dealbridge_sdk::http::Timeouts;
use dealbridge_woocommerce::wire::NewOrder;
use dealbridge_woocommerce::WooClient;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Orders placed.
const ORDERS: usize = 24;

/// One sample line: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub(crate) name: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// Parses the sample lines of a text exposition (labels without escaped quotes, as ours are).
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("sample has a value");
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => {
                    let body = rest.strip_suffix('}').expect("labels close");
                    let labels = body
                        .split("\",")
                        .filter(|p| !p.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once('=').expect("label pair");
                            (k.to_string(), v.trim_matches('"').to_string())
                        })
                        .collect();
                    (n.to_string(), labels)
                }
                None => (series.to_string(), BTreeMap::new()),
            };
            Sample {
                name,
                labels,
                value: value.parse().unwrap_or_else(|_| panic!("value of {line}")),
            }
        })
        .collect()
}

/// The sum of `name`'s samples whose labels include every pair of `with`.
pub(crate) fn sum(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> u64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum::<f64>() as u64
}

pub(crate) async fn create_orders(base_url: &str, n: usize) {
    let client = WooClient::new(base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    for i in 0..n {
        let order: NewOrder = serde_json::from_value(json!({
            "status": "processing",
            "currency": "RUB",
            "billing": {"first_name": format!("Buyer{i}"), "last_name": "Testov", "email": format!("buyer{i}@example.com")},
            "line_items": [{"name": "Tea", "sku": "TEA-1", "quantity": 1, "subtotal": "100.00", "total": "100.00"}]
        }))
        .unwrap();
        client.create_order(&order).await.expect("create order");
    }
}

pub(crate) async fn scrape(url: &str) -> String {
    let resp = reqwest::get(url).await.expect("scrape /metrics");
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    resp.text().await.unwrap()
}

/// What the emulators did since the faults were switched on, per system and outcome.
struct Seen {
    shop_calls: u64,
    crm_calls: u64,
    shop: [u64; 3],
    crm: [u64; 3],
}

/// `[pass, server error, throttle]` draws of an emulator's faults.
fn draws(f: &dealbridge_sdk::fault::Faults) -> [u64; 3] {
    [
        f.rolled(FaultOutcome::Pass),
        f.rolled(FaultOutcome::ServerError),
        f.rolled(FaultOutcome::Throttle),
    ]
}

fn seen(world: &World, shop_base: [u64; 3], crm_base: [u64; 3]) -> Seen {
    let minus = |a: [u64; 3], b: [u64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let mut crm = minus(draws(&world.crm.handle.faults()), crm_base);
    crm[2] += world.crm.handle.bucket_refusals();
    Seen {
        shop_calls: world
            .shop
            .handle
            .counters()
            .snapshot()
            .values()
            .map(|c| c.calls)
            .sum(),
        crm_calls: world.crm.handle.http_requests(),
        shop: minus(draws(world.shop.handle.faults()), shop_base),
        crm,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_match_what_the_emulators_saw_under_thirty_percent_faults() {
    let world = spawn_world(Tuning {
        sync: "poll_interval = \"1h\"\nbackoff_base = \"20ms\"\nbackoff_max = \"200ms\"\nmax_attempts = 40",
        ..Tuning::default()
    })
    .await;
    let port = free_port();
    world.edit_file(
        "dealbridge.toml",
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    create_orders(&world.shop.base_url, ORDERS).await;
    // From here on every call to the emulators is the engine's.
    world.shop.handle.counters().reset();
    let shop_base = draws(world.shop.handle.faults());
    let crm_base = draws(&world.crm.handle.faults());
    assert_eq!(world.crm.handle.http_requests(), 0);
    let faults = FaultConfig {
        error_rate: 0.15,
        throttle_rate: 0.15,
        ..Default::default()
    };
    world.shop.handle.faults().set(faults.clone());
    world.crm.handle.faults().set(faults);

    let mut cmd = dealbridge();
    cmd.arg("--config").arg(&world.config).arg("run");
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let started = std::time::Instant::now();
    let mut engine = ChildGuard::spawn(cmd, "dealbridge run");
    let crm = world.crm.handle.clone();
    wait_until("every order as a deal", Duration::from_secs(120), || {
        let crm = crm.clone();
        async move { crm.deal_count() == ORDERS }
    })
    .await;
    engine.assert_running();
    println!("{ORDERS} deals after {:?}", started.elapsed());

    // Webhook deliveries: a forged one to a configured system, one to a name not configured.
    let http = reqwest::Client::new();
    for (path, status) in [("shop", 401), ("no-such-system", 404)] {
        let r = http
            .post(format!("http://127.0.0.1:{port}/webhooks/{path}"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
    }

    let url = format!("http://127.0.0.1:{port}/metrics");
    let (text, samples, seen) = quiet_scrape(&url, &world, shop_base, crm_base).await;
    println!("quiet after {:?}", started.elapsed());
    check_requests(&samples, "woocommerce", seen.shop_calls, seen.shop);
    check_requests(&samples, "bitrix24", seen.crm_calls, seen.crm);
    assert!(
        seen.shop[1] + seen.shop[2] + seen.crm[1] + seen.crm[2] > 0,
        "faults struck"
    );

    check_jobs(&samples, &text, &seen);
    // Every faulted call was made again: in place (a read), by the job's next attempt (a
    // write), or by the poll's next pass; none went dead.
    let retries = |system| {
        sum(
            &samples,
            "dealbridge_api_retries_total",
            &[("system", system)],
        )
    };
    assert_eq!(retries("bitrix24"), seen.crm[1] + seen.crm[2], "{text}");
    assert_eq!(
        retries("woocommerce"),
        seen.shop[1] + seen.shop[2],
        "{text}"
    );
    assert_eq!(world.crm.handle.deal_count(), ORDERS);
    let rejected = |system| {
        sum(
            &samples,
            "dealbridge_webhook_deliveries_total",
            &[("system", system), ("outcome", "rejected")],
        )
    };
    assert_eq!((rejected("shop"), rejected("unknown")), (1, 1), "{text}");

    no_label_carries_an_id(&samples);
    promtool_check(&text);
}

/// Scrapes until a quiet moment: two equal scrapes around the emulators' counts, with every
/// job done (the engine polls hourly, but a retry may still be in flight) and the cached
/// database gauges read since.
async fn quiet_scrape(
    url: &str,
    world: &World,
    shop_base: [u64; 3],
    crm_base: [u64; 3],
) -> (String, Vec<Sample>, Seen) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no quiet moment with every job done within 30 s; last scrape:\n{last}"
        );
        let before = scrape(url).await;
        let seen = seen(world, shop_base, crm_base);
        let after = scrape(url).await;
        let (b, a) = (parse(&before), parse(&after));
        let jobs_done = sum(&a, "dealbridge_jobs_done_total", &[]);
        // The database gauges are read at most every 5 s: wait for a read after the last job.
        let done_in_db = sum(&a, "dealbridge_jobs", &[("state", "done")]);
        // By series: the recorder renders series in no fixed order.
        let counters = |s: &[Sample]| {
            s.iter()
                .filter(|s| s.name.starts_with("dealbridge_api_requests_total"))
                .map(|s| (format!("{:?}", s.labels), s.value))
                .collect::<BTreeMap<_, _>>()
        };
        let all = ORDERS as u64;
        if counters(&b) == counters(&a) && jobs_done == all && done_in_db == all {
            break (after, a, seen);
        }
        last = after;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Jobs: one per order, all done, none dead; the faults on the CRM caused retries; the database
/// gauges (cached) and the loops are there too.
fn check_jobs(samples: &[Sample], text: &str, seen: &Seen) {
    let n = ORDERS as u64;
    let upsert = [("kind", "deal.upsert")];
    assert_eq!(
        sum(samples, "dealbridge_jobs_done_total", &upsert),
        n,
        "{text}"
    );
    assert_eq!(
        sum(
            samples,
            "dealbridge_jobs_enqueued_total",
            &[("kind", "deal.upsert"), ("flow", "orders")]
        ),
        n,
        "{text}"
    );
    assert_eq!(sum(samples, "dealbridge_jobs_dead_total", &[]), 0, "{text}");
    assert_eq!(
        sum(samples, "dealbridge_job_latency_seconds_count", &upsert),
        n,
        "{text}"
    );
    if seen.crm[1] + seen.crm[2] > 0 {
        assert!(
            sum(samples, "dealbridge_job_retries_total", &upsert) > 0,
            "{text}"
        );
    }
    // The database gauges (cached) and the loops are there too.
    assert_eq!(
        sum(samples, "dealbridge_jobs", &[("state", "done")]),
        n,
        "{text}"
    );
    assert!(samples
        .iter()
        .any(|s| s.name == "dealbridge_oldest_pending_job_age_seconds"));
    assert!(samples.iter().any(|s| s.name == "dealbridge_loop_failures"));
    assert!(samples
        .iter()
        .any(|s| s.name == "dealbridge_open_conflicts"));
}

/// `dealbridge_api_requests_total` of `system` equals the emulator's count per outcome: every
/// call that passed the faults was answered 2xx, each injected error and throttle is one
/// `server_error` / `throttled`, and nothing else happened.
fn check_requests(
    samples: &[Sample],
    system: &str,
    calls: u64,
    [pass, errors, throttles]: [u64; 3],
) {
    let name = "dealbridge_api_requests_total";
    let of = |outcome: &str| sum(samples, name, &[("system", system), ("outcome", outcome)]);
    assert_eq!(
        sum(samples, name, &[("system", system)]),
        calls,
        "{system}: all requests"
    );
    assert_eq!(of("ok"), pass, "{system}: ok");
    assert_eq!(of("server_error"), errors, "{system}: server_error");
    assert_eq!(of("throttled"), throttles, "{system}: throttled");
    assert_eq!(
        of("client_error") + of("network"),
        0,
        "{system}: nothing else"
    );
    let durations = sum(
        samples,
        "dealbridge_api_request_duration_seconds_count",
        &[("system", system)],
    );
    assert_eq!(durations, calls, "{system}: one duration per request");
}

/// Labels are low-cardinality words: only known label names, and no value that looks like an
/// id, a URL or an e-mail.
pub(crate) fn no_label_carries_an_id(samples: &[Sample]) {
    let allowed = [
        "system", "outcome", "kind", "flow", "state", "loop", "le", "catalog", "action", "type",
    ];
    for s in samples {
        for (k, v) in &s.labels {
            assert!(allowed.contains(&k.as_str()), "label {k} on {}", s.name);
            if k == "le" {
                continue;
            }
            // `bitrix24` and `worker-0` are words; `1042` or `order-1042` is an id.
            let digits = v.chars().all(|c| c.is_ascii_digit())
                || v.as_bytes()
                    .windows(3)
                    .any(|w| w.iter().all(u8::is_ascii_digit));
            assert!(
                !v.contains('@') && !v.contains("://") && !digits,
                "{}{{{k}={v:?}}} looks like an id, a URL or an e-mail",
                s.name
            );
        }
    }
}

/// `promtool check metrics` on the exposition, when promtool is installed.
pub(crate) fn promtool_check(text: &str) {
    use std::io::Write;
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            println!("SKIPPED (no promtool): the exposition was not checked by promtool ({e}); install the Debian package `prometheus`");
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- exposition ---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
