//! Benchmark (not a test): `reconcile` of N WooCommerce orders against each CRM emulator at
//! its standard budget (issue 12: 10,000 orders on Bitrix24's standard budget within 10
//! minutes).
//!
//! `cargo bench --bench reconcile -- [--orders N] [--crm bitrix24|amocrm|both]` (default 10000,
//! both). Per CRM: seed N orders in the WooCommerce emulator, sync them into the CRM emulator
//! with its limits lifted (setup, not measured), then put the CRM back on its standard budget
//! (Bitrix24: a bucket of 50 draining 2/s; amoCRM: 7 requests/s), start a fresh engine on
//! the default client budget and time `reconcile` over the window. Prints the wall time, the
//! HTTP requests the CRM served, the budget's bound for that many requests, their ratio, and
//! what the reconciliation found (it should find no difference).

use dealbridge::app::App;
use std::path::Path;
use std::time::Instant;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The config: the shop and `crm` (its `[systems.crm]` lines), one flow with the mapping.
fn write_config(dir: &Path, shop: &str, crm: &str, mapping: &str, db: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{db}.toml"));
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"sqlite://{db}.db\"\n[systems.shop]\nkind = \"woocommerce\"\nbase_url = \"{shop}\"\nconsumer_key = \"ck_test\"\nconsumer_secret = \"cs_test\"\n[systems.crm]\n{crm}\n[[flows]]\nname = \"orders\"\nfrom = \"shop\"\nto = \"crm\"\nentities = [\"order\"]\nmapping = \"mappings/{mapping}\"\n"
        ),
    )
    .expect("config");
    path
}

/// Syncs every order with the CRM's limits lifted; panics unless all landed.
async fn seed(config: &Path, n: usize) {
    let started = Instant::now();
    let app = App::load(config).await.expect("app");
    let summary = app.engine.sync_once(None, false).await.expect("sync");
    assert_eq!(summary.dead, 0, "setup sync: {summary:?}");
    app.store.close().await;
    eprintln!(
        "  setup: {n} orders synced in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Times one reconcile; returns (seconds, differences, orders compared).
async fn reconcile(config: &Path) -> (f64, usize, u64, u64) {
    let app = App::load(config).await.expect("app");
    let since = chrono::Utc::now() - chrono::Duration::days(30);
    let started = Instant::now();
    let report = app
        .engine
        .reconcile(None, since, false)
        .await
        .expect("reconcile");
    let took = started.elapsed().as_secs_f64();
    app.store.close().await;
    let mut kinds = std::collections::BTreeMap::new();
    for d in &report.differences {
        *kinds.entry(d.kind.as_str()).or_insert(0u64) += 1;
    }
    if let Some(d) = report.differences.first() {
        eprintln!(
            "  differences by kind: {kinds:?}; first: {}",
            serde_json::to_string(d).unwrap_or_default()
        );
    }
    (
        took,
        report.differences.len(),
        report.checked.orders,
        report.checked.reads,
    )
}

fn mappings(dir: &Path) {
    std::fs::create_dir_all(dir.join("mappings")).unwrap();
    for m in ["woocommerce-bitrix24.toml", "woocommerce-amocrm.toml"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("mappings")
                .join(m),
            dir.join("mappings").join(m),
        )
        .expect("mapping");
    }
}

async fn bitrix24(n: usize) {
    use dealbridge_bitrix24::emulator as b24;
    let any = "127.0.0.1:0".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    mappings(dir.path());
    let shop = dealbridge_woocommerce::emulator::spawn(Default::default(), any)
        .await
        .unwrap();
    shop.handle.seed_orders(n, 7);
    let crm = b24::spawn(Default::default(), any).await.unwrap();
    crm.handle.set_limits(b24::BucketLimits {
        capacity: 1_000_000,
        drain_per_second: 1_000_000.0,
    });
    let lifted = format!(
        "kind = \"bitrix24\"\nwebhook_url = \"{}\"\nrate_limit_per_second = 10000\nrate_limit_burst = 10000",
        crm.webhook_url
    );
    let seed_cfg = write_config(
        dir.path(),
        &shop.base_url,
        &lifted,
        "woocommerce-bitrix24.toml",
        "state",
    );
    seed(&seed_cfg, n).await;
    // The standard portal, and the engine's default client budget for it.
    crm.handle.set_limits(b24::BucketLimits::standard());
    std::thread::sleep(std::time::Duration::from_secs(30)); // the bucket drains to empty
    let before = crm.handle.http_requests();
    let standard = format!("kind = \"bitrix24\"\nwebhook_url = \"{}\"", crm.webhook_url);
    let cfg = write_config(
        dir.path(),
        &shop.base_url,
        &standard,
        "woocommerce-bitrix24.toml",
        "state",
    );
    std::fs::rename(&cfg, dir.path().join("bench.toml")).unwrap();
    let (took, diffs, orders, reads) = reconcile(&dir.path().join("bench.toml")).await;
    let requests = crm.handle.http_requests() - before;
    let refused = crm.handle.bucket_refusals();
    // A bucket of 50 that drains 2/s serves R requests in (R - 50) / 2 s at best.
    let bound = (requests.saturating_sub(50)) as f64 / 2.0;
    println!(
        "bitrix24 (standard: bucket 50, 2/s): {orders} orders, {diffs} difference(s); {took:.1} s wall; {requests} CRM requests ({refused} refused by the bucket); bound {bound:.1} s; ratio {:.2}; {reads} connector reads",
        if bound > 0.0 { took / bound } else { 0.0 }
    );
}

async fn amocrm(n: usize) {
    use dealbridge_amocrm::emulator as amo;
    let any = "127.0.0.1:0".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    mappings(dir.path());
    let shop = dealbridge_woocommerce::emulator::spawn(Default::default(), any)
        .await
        .unwrap();
    shop.handle.seed_orders(n, 7);
    let crm = amo::spawn(Default::default(), any).await.unwrap();
    crm.handle.set_rate_per_second(100_000);
    let lifted = format!(
        "kind = \"amocrm\"\nbase_url = \"{}\"\ntoken = \"test\"\nrate_limit_per_second = 10000\nrate_limit_burst = 10000",
        crm.base_url
    );
    let seed_cfg = write_config(
        dir.path(),
        &shop.base_url,
        &lifted,
        "woocommerce-amocrm.toml",
        "state",
    );
    seed(&seed_cfg, n).await;
    crm.handle.set_rate_per_second(7);
    std::thread::sleep(std::time::Duration::from_secs(2));
    crm.handle.counters().reset();
    let standard = format!(
        "kind = \"amocrm\"\nbase_url = \"{}\"\ntoken = \"test\"",
        crm.base_url
    );
    let cfg = write_config(
        dir.path(),
        &shop.base_url,
        &standard,
        "woocommerce-amocrm.toml",
        "state",
    );
    std::fs::rename(&cfg, dir.path().join("bench.toml")).unwrap();
    let (took, diffs, orders, reads) = reconcile(&dir.path().join("bench.toml")).await;
    let snapshot = crm.handle.counters().snapshot();
    let requests: u64 = snapshot.values().map(|c| c.calls).sum();
    let bound = requests as f64 / 7.0;
    println!(
        "amocrm (7 requests/s): {orders} orders, {diffs} difference(s); {took:.1} s wall; {requests} CRM requests; bound {bound:.1} s; ratio {:.2}; {reads} connector reads",
        took / bound
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = arg(&args, "--orders")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let which = arg(&args, "--crm").unwrap_or_else(|| "both".into());
    if which == "bitrix24" || which == "both" {
        bitrix24(n).await;
    }
    if which == "amocrm" || which == "both" {
        amocrm(n).await;
    }
}
