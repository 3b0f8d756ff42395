//! Rate-limit bench: pushes N catalog elements into the emulator at amoCRM's default limits
//! (7 requests/s, fixed one-second windows, so at most 7 requests may arrive at once: the
//! burst), with the client's default limiter, then pushes the same items again unbound (the
//! crash-resume case: found by a catalog scan, nothing rewritten).
//!
//! For each phase it prints the calls made, how many were refused with 429, the wall time, the
//! bound `(calls - burst) / 7` seconds (the least time the server allows for those calls) and
//! wall / bound.
//!
//! ```sh
//! cargo run --release -p dealbridge-amocrm --example catalog_bench -- 1000 10000
//! ```

use dealbridge_amocrm::emulator::{spawn, EmulatorConfig, EmulatorHandle};
use dealbridge_amocrm::{AmoCatalog, AmoClient, CatalogSettings};
use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::model::{CatalogItem, ExternalRef};
use dealbridge_sdk::money::{Currency, Money};
use dealbridge_sdk::traits::CrmCatalog;
use rust_decimal::Decimal;
use std::time::Instant;

/// Requests the emulator admits at once (its fixed one-second window of 7).
const BURST: u64 = 7;
const RATE: f64 = 7.0;

fn items(n: usize) -> Vec<CatalogItem> {
    (0..n)
        .map(|i| CatalogItem {
            origin: ExternalRef {
                system: "1c".into(),
                id: format!("{i:08}-GUID"),
            },
            crm_id: None,
            name: format!("Product {i}"),
            sku: Some(format!("SKU-{i}")),
            description: Some("bench item".into()),
            price: Some(Money::new(
                Decimal::new(10_000 + i as i64, 2),
                Currency::new("RUB").expect("RUB"),
            )),
            unit: None,
            active: true,
        })
        .collect()
}

fn totals(h: &EmulatorHandle) -> (u64, u64) {
    h.counters()
        .snapshot()
        .values()
        .fold((0, 0), |(c, s), m| (c + m.calls, s + m.served))
}

async fn phase(name: &str, n: usize, cat: &AmoCatalog, h: &EmulatorHandle, items: &[CatalogItem]) {
    h.counters().reset();
    let t = Instant::now();
    let report = cat.push_products(items).await.expect("push succeeds");
    let wall = t.elapsed().as_secs_f64();
    let (calls, served) = totals(h);
    let refused = calls - served;
    let bound = calls.saturating_sub(BURST) as f64 / RATE;
    let ratio = if bound > 0.0 { wall / bound } else { f64::NAN };
    let actions = report.items.iter().fold(
        std::collections::BTreeMap::<&str, usize>::new(),
        |mut m, r| {
            *m.entry(r.action.as_str()).or_default() += 1;
            m
        },
    );
    println!(
        "{name:<8} n={n:<6} calls={calls:<4} 429={refused:<3} wall={wall:>7.3}s bound={bound:>7.3}s ratio={ratio:.3} actions={actions:?}"
    );
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1000, 10_000]
    } else {
        sizes
    };
    for n in sizes {
        let emu = spawn(EmulatorConfig::default(), "127.0.0.1:0".parse().unwrap())
            .await
            .expect("emulator starts");
        let client = AmoClient::new(
            &emu.base_url,
            "test",
            dealbridge_amocrm::DEFAULT_LIMITS,
            Timeouts::default(),
        )
        .expect("client");
        // A fresh window: the burst is available at the start, as the bound assumes.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let cat = AmoCatalog::new(client, CatalogSettings::default());
        let items = items(n);
        phase("push", n, &cat, &emu.handle, &items).await;
        phase("re-push", n, &cat, &emu.handle, &items).await;
        assert_eq!(emu.handle.elements().len(), n, "no duplicates");
        emu.shutdown().await;
    }
}
