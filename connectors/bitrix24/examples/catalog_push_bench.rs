//! Catalog push against the emulator at a standard plan's limits (bucket of 50, draining 2/s):
//! how many requests a push of N new products takes, whether the client's limiter keeps clear
//! of 503 `QUERY_LIMIT_EXCEEDED`, and how the wall time compares with the bound the bucket sets
//! (`(requests - 50) / 2` seconds, at least 0).
//!
//! ```sh
//! cargo run --release -p dealbridge-bitrix24 --example catalog_push_bench -- 1000 10000
//! ```

use dealbridge_bitrix24::emulator::{spawn, BucketLimits, EmulatorConfig};
use dealbridge_bitrix24::{Bitrix24Client, STANDARD_PLAN_LIMITS};
use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::model::{CatalogItem, ExternalRef};
use dealbridge_sdk::money::{Currency, Money};
use dealbridge_sdk::traits::CrmCatalog;
use rust_decimal::Decimal;
use std::time::{Duration, Instant};

fn items(n: usize) -> Vec<CatalogItem> {
    let rub = Currency::new("RUB").expect("RUB");
    (0..n)
        .map(|i| CatalogItem {
            origin: ExternalRef {
                system: "1c".into(),
                id: format!("5f3a1c2e-0000-4000-8000-{i:012}"),
            },
            crm_id: None,
            name: format!("Товар {i}"),
            sku: Some(format!("SKU-{i}")),
            description: Some(format!("Описание товара {i}")),
            price: Some(Money::new(Decimal::new(19_990 + i as i64, 2), rub.clone())),
            unit: Some("шт".into()),
            active: true,
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let counts = if counts.is_empty() {
        vec![1000]
    } else {
        counts
    };
    let limits = BucketLimits::standard();
    let client_limits = STANDARD_PLAN_LIMITS;
    let rate = client_limits
        .rate_limit
        .expect("the standard plan has a limit");
    println!(
        "bucket: capacity {} draining {}/s; client limiter: burst {} at {}/s",
        limits.capacity, limits.drain_per_second, rate.burst, rate.per_second
    );
    println!("products | requests | 503s | failed pushes | wall s | bound s | wall/bound");
    for n in counts {
        let emu = spawn(
            EmulatorConfig {
                limits,
                ..EmulatorConfig::default()
            },
            "127.0.0.1:0".parse().expect("addr"),
        )
        .await
        .expect("emulator");
        let client = Bitrix24Client::new(
            &emu.webhook_url,
            client_limits,
            Timeouts {
                connect: Duration::from_secs(5),
                request: Duration::from_secs(60),
            },
        )
        .expect("client");
        let all = items(n);
        let started = Instant::now();
        let mut failed = 0u32;
        let report = loop {
            // As the engine's queue would: a failed push is retried whole (and adopts).
            match client.push_products(&all).await {
                Ok(r) => break r,
                Err(e) => {
                    failed += 1;
                    eprintln!("push failed ({failed}): {e}");
                    assert!(failed < 10, "giving up");
                }
            }
        };
        let wall = started.elapsed().as_secs_f64();
        assert_eq!(report.items.len(), n);
        assert_eq!(
            emu.handle.products().len(),
            n,
            "no duplicates, nothing lost"
        );
        let requests = emu.handle.http_requests();
        let refused = emu.handle.bucket_refusals();
        let bound =
            ((requests as f64 - f64::from(limits.capacity)) / limits.drain_per_second).max(0.0);
        let ratio = if bound > 0.0 {
            format!("{:.3}", wall / bound)
        } else {
            "n/a (inside the burst)".to_string()
        };
        println!("{n:>8} | {requests:>8} | {refused:>4} | {failed:>13} | {wall:>6.2} | {bound:>7.2} | {ratio}");
        emu.shutdown().await;
    }
}
