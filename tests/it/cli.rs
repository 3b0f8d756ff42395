//! The `dealbridge` binary as an operator uses it: `check`, `init`, `sync` with the dead letter,
//! `queue retry|drop`, `status`, `run` with its HTTP server and SIGTERM, `emulate` and `sandbox`.
//! Every test runs the real executable against emulators talking real HTTP on loopback, and
//! asserts exit codes, output and what landed in the emulated systems.

use crate::common;

use common::{dealbridge, free_port, spawn_world, wait_until, ChildGuard, Tuning, World};
use dealbridge_bitrix24::{Bitrix24Client, ClientLimits};
use dealbridge_sdk::http::Timeouts;
use dealbridge_sdk::ErrorKind;
use dealbridge_woocommerce::{ListOrders, NewOrder, WooClient};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

/// How long any wait in this file may take before the test fails.
const WAIT: Duration = Duration::from_secs(20);

const STATUSES: [&str; 4] = ["pending", "processing", "on-hold", "completed"];

/// Creates `n` orders through the shop's REST API, as checkouts would; buyer `i % buyers`, status
/// cycling through [`STATUSES`]. Returns `(id, status)` of each.
pub(crate) async fn create_orders(base_url: &str, n: usize, buyers: usize) -> Vec<(u64, String)> {
    let client = WooClient::new(base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    let mut out = Vec::new();
    for i in 0..n {
        let order = new_order(i, buyers, STATUSES[i % STATUSES.len()]);
        let created = client.create_order(&order).await.expect("create order");
        out.push((created.id, created.status.clone()));
    }
    out
}

fn new_order(i: usize, buyers: usize, status: &str) -> NewOrder {
    let b = i % buyers;
    serde_json::from_value(json!({
        "status": status,
        "currency": "RUB",
        "payment_method": "bacs",
        "payment_method_title": "Direct Bank Transfer",
        "billing": {
            "first_name": format!("Buyer{b}"), "last_name": "Testov",
            "email": format!("buyer{b}@example.com"), "phone": format!("+7 900 000-{b:02}-{b:02}"),
            "address_1": "Lenina 1", "city": "Moscow", "country": "RU"
        },
        "line_items": [
            { "name": "Green tea", "sku": "TEA-1", "quantity": 1 + (i % 3), "subtotal": "100.50", "total": "100.50" }
        ],
        "shipping_lines": [{ "method_id": "flat_rate", "method_title": "Flat rate", "total": "300.00" }]
    }))
    .unwrap()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {}", out.status))
}

fn ids(list: &[(u64, String)]) -> BTreeSet<String> {
    list.iter().map(|(id, _)| id.to_string()).collect()
}

/// Jobs from `queue list --json [--state S]`.
fn jobs(world: &World, state: Option<&str>) -> Vec<Value> {
    let mut args = vec!["queue", "list", "--json", "--limit", "1000"];
    if let Some(s) = state {
        args.extend(["--state", s]);
    }
    world.cli_json(&args).as_array().unwrap().clone()
}

// ---------------------------------------------------------------------------------------------
// check / init

const GOOD_CONFIG: &str = r#"[database]
url = "sqlite://state.db"
[server]
listen = "127.0.0.1:8080"
[systems.shop]
kind = "woocommerce"
base_url = "http://127.0.0.1:9001"
consumer_key = "ck_test"
consumer_secret = "cs_test"
[systems.crm]
kind = "bitrix24"
webhook_url = "http://127.0.0.1:9002/rest/1/test/"
[[flows]]
name = "orders"
from = "shop"
to = "crm"
entities = ["order"]
mapping = "mappings/woocommerce-bitrix24.toml"
"#;

/// A directory holding `dealbridge.toml` (from `config`) and the shipped mapping.
fn config_dir(config: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/woocommerce-bitrix24.toml"),
        include_str!("../../mappings/woocommerce-bitrix24.toml"),
    )
    .unwrap();
    let path = dir.path().join("dealbridge.toml");
    std::fs::write(&path, config).unwrap();
    (dir, path)
}

fn run_check(config: &Path) -> Output {
    dealbridge()
        .arg("--config")
        .arg(config)
        .arg("check")
        .output()
        .unwrap()
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains `{needle}`"))
        + 1
}

#[test]
fn check_names_the_line_of_an_unknown_system_kind() {
    let config = GOOD_CONFIG.replace("kind = \"bitrix24\"", "kind = \"salesforce\"");
    let (_dir, path) = config_dir(&config);
    let out = run_check(&path);
    assert_eq!(
        code(&out),
        4,
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    let want = format!("{}:{}:", path.display(), line_of(&config, "salesforce"));
    assert!(
        stderr(&out).contains(&want),
        "stderr should point at `{want}`:\n{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("salesforce"), "{}", stderr(&out));
}

#[test]
fn check_names_the_line_of_a_misspelt_key() {
    let config = GOOD_CONFIG.replace("consumer_secret =", "consumer_secrte =");
    let (_dir, path) = config_dir(&config);
    let out = run_check(&path);
    assert_eq!(
        code(&out),
        4,
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    let want = format!(
        "{}:{}:",
        path.display(),
        line_of(&config, "consumer_secrte")
    );
    assert!(
        stderr(&out).contains(&want),
        "stderr should point at `{want}`:\n{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("consumer_secrte"), "{}", stderr(&out));
}

#[test]
fn check_accepts_a_good_config() {
    let (_dir, path) = config_dir(GOOD_CONFIG);
    let out = run_check(&path);
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("{}: ok", path.display())),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("flow orders: shop -> crm"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn init_writes_a_config_that_checks_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dealbridge.toml");
    let mapping = dir.path().join("mappings/woocommerce-bitrix24.toml");
    let init = || {
        dealbridge()
            .current_dir(dir.path())
            .arg("--config")
            .arg(&config)
            .arg("init")
            .output()
            .unwrap()
    };
    let out = init();
    assert_eq!(code(&out), 0, "stderr: {}", stderr(&out));
    assert!(config.is_file(), "init wrote no dealbridge.toml");
    assert!(mapping.is_file(), "init wrote no mapping");

    let out = run_check(&config);
    assert_eq!(
        code(&out),
        0,
        "the config init wrote does not pass check:\n{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains(": ok"), "{}", stdout(&out));

    // A second init must not touch what the operator may already have edited.
    std::fs::write(&config, "# edited by the operator\n").unwrap();
    let out = init();
    assert_ne!(code(&out), 0, "second init succeeded: {}", stdout(&out));
    assert!(stderr(&out).contains("not overwriting"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "# edited by the operator\n"
    );
}

// ---------------------------------------------------------------------------------------------
// sync, dead letter, queue retry / drop, status

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_stage_goes_to_the_dead_letter_and_retry_after_the_fix_makes_the_deals() {
    let world = spawn_world(Tuning::default()).await;
    let orders = create_orders(&world.shop.base_url, 8, 3).await;
    let completed: BTreeSet<String> = orders
        .iter()
        .filter(|(_, s)| s == "completed")
        .map(|(id, _)| id.to_string())
        .collect();
    let others: BTreeSet<String> = ids(&orders).difference(&completed).cloned().collect();
    assert_eq!(completed.len(), 2);

    let mapping = "mappings/woocommerce-bitrix24.toml";
    world.edit_file(
        mapping,
        "completed = \"WON\"",
        "completed = \"NO_SUCH_STAGE\"",
    );
    let out = world.cli(&["sync"]);
    assert_eq!(
        code(&out),
        3,
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("queue retry"), "{}", stdout(&out));

    // The dead letter holds exactly the completed orders, each saying why.
    let dead = jobs(&world, Some("dead"));
    assert_eq!(dead.len(), completed.len(), "{dead:#?}");
    let dead_keys: BTreeSet<String> = dead
        .iter()
        .map(|j| j["key"].as_str().unwrap().to_string())
        .collect();
    let want_keys: BTreeSet<String> = completed
        .iter()
        .map(|id| format!("crm:deal:shop:{id}"))
        .collect();
    assert_eq!(dead_keys, want_keys, "dead jobs are the completed orders");
    for job in &dead {
        let err = job["last_error"].as_str().expect("dead job has last_error");
        assert!(
            err.contains("NO_SUCH_STAGE") && err.contains("not found"),
            "error does not name the stage problem: {err}"
        );
        assert_eq!(job["last_error_kind"], "invalid", "{job:#}");
        assert_eq!(
            job["attempts"], 1,
            "a rejected payload is not retried: {job:#}"
        );
    }
    let (n, origins) = world.deal_origins();
    assert_eq!(n, others.len());
    assert_eq!(origins, others, "every other order became a deal");

    // Drop one: it leaves the queue but stays listed as dropped.
    let dropped_id = dead[0]["id"].as_i64().unwrap();
    let out = world.cli(&["queue", "drop", &dropped_id.to_string()]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listed = jobs(&world, Some("dropped"));
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["id"].as_i64(), Some(dropped_id));
    assert_eq!(jobs(&world, Some("dead")).len(), completed.len() - 1);

    // Fix the mapping, retry each (the dropped one too: an operator may change their mind).
    world.edit_file(
        mapping,
        "completed = \"NO_SUCH_STAGE\"",
        "completed = \"WON\"",
    );
    for job in &dead {
        let id = job["id"].as_i64().unwrap().to_string();
        let out = world.cli(&["queue", "retry", &id]);
        assert_eq!(code(&out), 0, "retry {id}: {}", stderr(&out));
    }
    assert!(jobs(&world, Some("dead")).is_empty());
    assert!(jobs(&world, Some("dropped")).is_empty());
    let out = world.cli(&["sync"]);
    assert_eq!(
        code(&out),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    let (n, origins) = world.deal_origins();
    assert_eq!(n, orders.len(), "exactly one deal per order");
    assert_eq!(origins, ids(&orders));
    for deal in world.crm.handle.deals() {
        if completed.contains(deal["ORIGIN_ID"].as_str().unwrap()) {
            assert_eq!(deal["STAGE_ID"], "WON");
        }
    }

    // Retrying a finished job is refused and changes nothing.
    let before = jobs(&world, None);
    let done_id = before
        .iter()
        .find(|j| j["state"] == "done")
        .expect("a done job")["id"]
        .as_i64()
        .unwrap();
    let out = world.cli(&["queue", "retry", &done_id.to_string()]);
    assert_ne!(code(&out), 0, "retry of a done job succeeded");
    assert_eq!(jobs(&world, None), before);
    let out = world.cli(&["sync"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(world.crm.handle.deal_count(), orders.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_json_counts_jobs_bindings_and_names_the_cursor() {
    let world = spawn_world(Tuning::default()).await;
    create_orders(&world.shop.base_url, 10, 4).await;
    let out = world.cli(&["sync"]);
    assert_eq!(
        code(&out),
        0,
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );

    let status = world.cli_json(&["status", "--json"]);
    let queue: Vec<(String, i64)> = serde_json::from_value(status["queue"].clone())
        .unwrap_or_else(|e| panic!("queue is not [[state, count]]: {e}: {status:#}"));
    let done = queue.iter().find(|(s, _)| s == "done").map(|(_, n)| *n);
    assert_eq!(done, Some(10), "{status:#}");
    assert!(
        queue.iter().all(|(s, n)| s == "done" || *n == 0),
        "only done jobs: {status:#}"
    );
    let binding = |system: &str, kind: &str| {
        status["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["system"] == system && b["kind"] == kind)
            .and_then(|b| b["count"].as_i64())
    };
    assert_eq!(binding("shop", "order"), Some(10), "{status:#}");
    assert_eq!(binding("crm", "deal"), Some(10), "{status:#}");
    assert_eq!(binding("crm", "contact"), Some(4), "{status:#}");
    assert_eq!(world.crm.handle.contacts().len(), 4);
    let cursors = status["cursors"].as_array().unwrap();
    assert!(
        cursors
            .iter()
            .any(|c| c["name"] == "flow:orders:orders_modified_after"
                && !c["value"].as_str().unwrap_or_default().is_empty()),
        "{status:#}"
    );
    assert_eq!(status["open_conflicts"], 0);
}

// ---------------------------------------------------------------------------------------------
// run

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_status_follows_new_orders_and_stops_cleanly_on_sigterm() {
    let world = spawn_world(Tuning {
        sync: "poll_interval = \"200ms\"",
        ..Tuning::default()
    })
    .await;
    let orders = create_orders(&world.shop.base_url, 6, 3).await;
    let port = free_port();
    world.edit_file(
        "dealbridge.toml",
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let log = world.dir.path().join("run.log");
    let mut cmd = dealbridge();
    cmd.arg("--config")
        .arg(&world.config)
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut engine = ChildGuard::spawn(cmd, "dealbridge run");
    let logs = || std::fs::read_to_string(&log).unwrap_or_default();

    let http = dealbridge_sdk::http::client(Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(5),
    })
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_until("/healthz to answer 200", WAIT, || {
        let http = http.clone();
        let url = format!("{base}/healthz");
        async move {
            http.get(url)
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 200)
        }
    })
    .await;
    engine.assert_running();
    wait_until(&format!("{} deals", orders.len()), WAIT, || async {
        world.crm.handle.deal_count() >= orders.len()
    })
    .await;
    assert_eq!(world.deal_origins().1, ids(&orders), "{}", logs());

    // /status and /metrics tell the same story as the CRM.
    let status: Value = http
        .get(format!("{base}/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deals_bound = status["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["kind"] == "deal")
        .map(|b| b["count"].clone());
    assert_eq!(deals_bound, Some(json!(orders.len())), "{status:#}");
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // Every order's job is done; a re-read that found an order while its job was running
    // queues one more, which finds the deal already right (no CRM call), so "done" may exceed
    // the orders. Nothing is dead.
    let gauge = |state: &str| -> u64 {
        let prefix = format!("dealbridge_jobs{{state=\"{state}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {state} gauge in {metrics}"))
    };
    assert!(gauge("done") >= orders.len() as u64, "{metrics}");
    assert_eq!(gauge("dead"), 0, "{metrics}");

    // A new checkout becomes a deal while the engine runs.
    let shop = WooClient::new(
        &world.shop.base_url,
        "ck_test",
        "cs_test",
        Timeouts::default(),
    )
    .unwrap();
    let new = shop
        .create_order(&new_order(99, 1, "processing"))
        .await
        .unwrap();
    wait_until("the new order's deal", WAIT, || async {
        world.deal_origins().1.contains(&new.id.to_string())
    })
    .await;
    assert_eq!(world.crm.handle.deal_count(), orders.len() + 1);

    // SIGTERM: a clean exit, no job left leased.
    let kill = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(engine.pid().to_string())
        .status()
        .unwrap();
    assert!(kill.success());
    let status = engine
        .wait_exit(Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("run did not stop within 10 s of SIGTERM\n{}", logs()));
    assert_eq!(status.code(), Some(0), "{}", logs());
    assert!(jobs(&world, Some("running")).is_empty());
    assert_eq!(world.crm.handle.deal_count(), orders.len() + 1);
}

// ---------------------------------------------------------------------------------------------
// emulate, sandbox

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_woocommerce_serves_seeded_orders_to_the_right_keys_only() {
    let port = free_port();
    let mut cmd = dealbridge();
    cmd.args(["emulate", "woocommerce", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--consumer-key", "ck_x", "--consumer-secret", "cs_y"])
        .args(["--seed-orders", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut emu = ChildGuard::spawn(cmd, "dealbridge emulate woocommerce");
    let base = format!("http://127.0.0.1:{port}");
    let good = WooClient::new(&base, "ck_x", "cs_y", Timeouts::default()).unwrap();
    let q = ListOrders {
        per_page: 100,
        ..Default::default()
    };
    // The emulator listens before it seeds: wait for the seeded orders, not just an answer.
    wait_until(
        "the WooCommerce emulator to serve its seeded orders",
        WAIT,
        || async {
            good.list_orders(&q)
                .await
                .is_ok_and(|(o, _, _)| o.len() == 3)
        },
    )
    .await;
    emu.assert_running();
    let (orders, total, _) = good.list_orders(&q).await.unwrap();
    assert_eq!(orders.len(), 3);
    assert_eq!(total, 3);

    let bad = WooClient::new(&base, "ck_x", "cs_wrong", Timeouts::default()).unwrap();
    let err = bad
        .list_orders(&q)
        .await
        .expect_err("wrong secret accepted");
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulate_bitrix24_answers_the_right_webhook_only() {
    let port = free_port();
    let mut cmd = dealbridge();
    cmd.args(["emulate", "bitrix24", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--token", "tok"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut emu = ChildGuard::spawn(cmd, "dealbridge emulate bitrix24");
    let limits = ClientLimits::rate(5, 5);
    let good = Bitrix24Client::new(
        &format!("http://127.0.0.1:{port}/rest/1/tok/"),
        limits,
        Timeouts::default(),
    )
    .unwrap();
    wait_until("the Bitrix24 emulator to answer", WAIT, || async {
        good.call("crm.deal.list", json!({})).await.is_ok()
    })
    .await;
    emu.assert_running();
    let listed = good.call("crm.deal.list", json!({})).await.unwrap();
    assert_eq!(listed.result, json!([]), "a fresh portal has no deals");

    let bad = Bitrix24Client::new(
        &format!("http://127.0.0.1:{port}/rest/1/not-the-token/"),
        limits,
        Timeouts::default(),
    )
    .unwrap();
    let err = bad
        .call("crm.deal.list", json!({}))
        .await
        .expect_err("wrong token accepted");
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
}

#[test]
fn sandbox_once_makes_the_deals_and_a_second_sync_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dealbridge()
        .current_dir(dir.path())
        .args(["sandbox", "--once", "--orders", "5", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "stdout: {text}\nstderr: {}", stderr(&out));
    assert!(text.contains("5 deal(s) created"), "{text}");
    // One seeded order fails on purpose (a plugin's status the mapping lacks); the rest flow.
    assert!(text.contains("6 order(s) read"), "{text}");
    assert!(text.contains(", 1 dead"), "{text}");
    assert!(text.contains("one order fails on purpose"), "{text}");
    assert!(
        text.contains("add `delivered = \"WON\"` under [status_map]"),
        "{text}"
    );
    assert!(text.contains("deals in the CRM: 5"), "{text}");
    assert!(
        text.contains("catalog shop-products: 10 product(s) of the shop created in the CRM"),
        "{text}"
    );
    assert!(text.contains("second sync: 0 written"), "{text}");
    // Both directions: a manager's WON reaches the shop, and does not come back.
    assert!(text.contains("is now `completed`"), "{text}");
    assert!(text.contains("next sync: 0 written"), "{text}");
    assert!(dir.path().join("dealbridge.toml").is_file());
    let out = run_check(&dir.path().join("dealbridge.toml"));
    assert_eq!(
        code(&out),
        0,
        "sandbox config fails check: {}",
        stderr(&out)
    );
}

/// `inspect webhook`: a saved delivery is checked as `/webhooks/<system>` would and its order
/// shown; a wrong secret fails with exit 1.
#[test]
fn inspect_webhook_verifies_and_shows_the_order() {
    let dir = tempfile::tempdir().unwrap();
    // WooCommerce: the vendor's own order example, signed as WooCommerce signs.
    let woo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/connectors/woocommerce/tests/fixtures/orders__retrieve_an_order__response.json"
    ))
    .unwrap();
    let body = dir.path().join("woo.json");
    std::fs::write(&body, &woo).unwrap();
    let signature = dealbridge_woocommerce::webhook::sign("s3cret", &woo);
    let run = |secret: &str| {
        dealbridge()
            .args(["inspect", "webhook", "woocommerce", "--json", "--body"])
            .arg(&body)
            .args(["--header", "X-WC-Webhook-Topic: order.updated"])
            .args(["--header", &format!("X-WC-Webhook-Signature: {signature}")])
            .args(["--secret", secret])
            .output()
            .unwrap()
    };
    let ok = run("s3cret");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let v: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["topic"], "order.updated");
    assert_eq!(v["order"]["source"]["id"], "727");
    assert_eq!(v["order"]["total"], "29.35");
    let bad = run("wrong");
    assert_eq!(bad.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(v["verified"], false);

    // Shopify: the SDK's order example, with the new header names.
    let fixture: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/connectors/shopify/tests/fixtures/order.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let shop_body = serde_json::to_vec(&fixture["order"]).unwrap();
    let path = dir.path().join("shopify.json");
    std::fs::write(&path, &shop_body).unwrap();
    let out = dealbridge()
        .args(["inspect", "webhook", "shopify", "--body"])
        .arg(&path)
        .args(["--header", "shopify-topic: orders/create"])
        .args([
            "--header",
            &format!(
                "shopify-hmac-sha256: {}",
                dealbridge_shopify::webhook::sign(&shop_body, "k")
            ),
        ])
        .args(["--secret", "k"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("signature: valid"), "{text}");
    assert!(text.contains("topic:     orders/create"), "{text}");
    assert!(
        text.contains(&format!("order {}", fixture["order"]["id"])),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_plan_and_writes_nothing_then_sync_summarises() {
    let world = spawn_world(Tuning::default()).await;
    create_orders(&world.shop.base_url, 3, 3).await;
    let out = world.cli(&["sync", "--dry-run"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.matches("create ").count(), 3, "{text}");
    assert!(text.contains("would write 3"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
    assert_eq!(world.crm.handle.deal_count(), 0, "a dry run writes nothing");
    assert!(jobs(&world, None).is_empty(), "nor queues anything");
    let plan = world.cli_json(&["sync", "--dry-run", "--json"]);
    assert_eq!(plan["changes"].as_array().unwrap().len(), 3);

    let out = world.cli(&["sync"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("created 3, updated 0, unchanged 0, failed 0"),
        "{text}"
    );
    assert!(text.contains("conflicts 0"), "{text}");
    let out = world.cli(&["sync", "--dry-run"]);
    assert!(stdout(&out).contains("would write 0"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_remote_names_a_mapped_stage_the_portal_does_not_have() {
    let world = spawn_world(Tuning::default()).await;
    let out = world.cli(&["check", "--remote"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("every mapped stage exists"),
        "{}",
        stdout(&out)
    );
    // A stage that is well-formed but not in the portal's pipeline.
    world.edit_file(
        "mappings/woocommerce-bitrix24.toml",
        "WON = \"completed\"",
        "WON = \"completed\"\nSHIPPED = \"completed\"",
    );
    let out = world.cli(&["check"]);
    assert_eq!(code(&out), 0, "locally fine: {}", stderr(&out));
    let out = world.cli(&["check", "--remote"]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("stage `SHIPPED` is not a stage of pipeline 0 in `crm`")
            && err.contains("WON"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_remote_names_an_amocrm_status_the_pipeline_lacks() {
    use dealbridge_amocrm::emulator as amo;
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let crm = amo::spawn(amo::EmulatorConfig::default(), any)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    let mapping = dir.path().join("mappings/woocommerce-amocrm.toml");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/mappings/woocommerce-amocrm.toml"
        ),
        &mapping,
    )
    .unwrap();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://state.db\"\n[systems.shop]\nkind = \"woocommerce\"\nbase_url = \"http://127.0.0.1:9\"\nconsumer_key = \"k\"\nconsumer_secret = \"s\"\n[systems.crm]\nkind = \"amocrm\"\nbase_url = \"{}\"\ntoken = \"test\"\n[[flows]]\nname = \"orders\"\nfrom = \"shop\"\nto = \"crm\"\nentities = [\"order\"]\nmapping = \"mappings/woocommerce-amocrm.toml\"\n",
            crm.base_url
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        dealbridge()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["check", "--remote"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(&mapping).unwrap();
    std::fs::write(
        &mapping,
        text.replace("[stage_map]", "[stage_map]\n\"999\" = \"completed\""),
    )
    .unwrap();
    let out = run(&["check", "--remote"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("status `999` is not a status of pipeline 3177727 in `crm`"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_remote_names_the_shopify_location_a_catalog_writes() {
    use dealbridge_shopify::emulator as shopify;
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    let shop = shopify::spawn(shopify::EmulatorConfig::default(), any)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("mappings/1c-shop.toml"),
        "[prices]\nprice_type = \"Розничная\"\n",
    )
    .unwrap();
    let config = dir.path().join("dealbridge.toml");
    let write = |extra: &str| {
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"sqlite://state.db\"\n[systems.shop]\nkind = \"shopify\"\nbase_url = \"{}\"\naccess_token = \"shpat_test\"\n{extra}\n[[catalog]]\nname = \"prices\"\nto = \"shop\"\nmapping = \"mappings/1c-shop.toml\"\n",
                shop.base_url
            ),
        )
        .unwrap()
    };
    let run = |args: &[&str]| {
        dealbridge()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    write("");
    let out = run(&["check"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("catalog prices: 1C -> shop, mapping"),
        "{}",
        stdout(&out)
    );
    // One active location: that one.
    let out = run(&["check", "--remote"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "catalog prices sets the stock of location {} in `shop`",
            shopify::store::LOCATION_ID
        )),
        "{}",
        stdout(&out)
    );
    // A second store opens: the check refuses to guess and says what to set.
    let second = shop.handle.add_location("Second store", true);
    let out = run(&["check", "--remote"]);
    assert_eq!(code(&out), 4, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("2 active locations") && err.contains("location_id"),
        "{err}"
    );
    write(&format!("location_id = {second}"));
    let out = run(&["check", "--remote"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("stock of location {second}")),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_filters_and_bulk_retry_touch_each_matching_job_once() {
    let world = spawn_world(Tuning::default()).await;
    let orders = create_orders(&world.shop.base_url, 8, 3).await;
    let completed = orders.iter().filter(|(_, s)| s == "completed").count();
    let mapping = "mappings/woocommerce-bitrix24.toml";
    world.edit_file(
        mapping,
        "completed = \"WON\"",
        "completed = \"NO_SUCH_STAGE\"",
    );
    assert_eq!(code(&world.cli(&["sync"])), 3);

    // Filters: the CRM refused the stage, a permanent failure of flow `orders`.
    let list = |extra: &[&str]| {
        let mut args = vec!["queue", "list", "--json", "--state", "dead"];
        args.extend_from_slice(extra);
        world.cli_json(&args).as_array().unwrap().clone()
    };
    let permanent = list(&["--flow", "orders", "--error-class", "permanent"]);
    assert_eq!(permanent.len(), completed, "{permanent:#?}");
    for job in &permanent {
        assert_eq!(job["flow"], "orders");
        assert_eq!(job["error_class"], "permanent");
    }
    assert_eq!(list(&["--error-class", "invalid"]).len(), completed);
    assert!(list(&["--error-class", "transient"]).is_empty());
    let out = world.cli(&["queue", "list", "--flow", "nope"]);
    assert_ne!(code(&out), 0);
    assert!(
        stderr(&out).contains("no flow called `nope`"),
        "{}",
        stderr(&out)
    );

    // A filter that matches nothing touches nothing.
    let out = world.cli(&["queue", "retry", "--all", "--error-class", "transient"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("0 job(s) queued again"),
        "{}",
        stdout(&out)
    );
    assert_eq!(list(&[]).len(), completed);

    // After the fix, one command retries every matching job, once; a second does nothing.
    world.edit_file(
        mapping,
        "completed = \"NO_SUCH_STAGE\"",
        "completed = \"WON\"",
    );
    let out = world.cli(&[
        "queue",
        "retry",
        "--all",
        "--flow",
        "orders",
        "--error-class",
        "permanent",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("{completed} job(s) queued again")),
        "{}",
        stdout(&out)
    );
    let again = world.cli(&["queue", "retry", "--all", "--flow", "orders"]);
    assert!(
        stdout(&again).starts_with("0 job(s) queued again"),
        "{}",
        stdout(&again)
    );
    assert!(list(&[]).is_empty());
    assert_eq!(code(&world.cli(&["sync"])), 0);
    let (n, origins) = world.deal_origins();
    assert_eq!(n, orders.len(), "exactly one deal per order");
    assert_eq!(origins, ids(&orders));

    // Drop --all works on what is left (nothing dead now) and says so.
    let out = world.cli(&["queue", "drop", "--all"]);
    assert!(
        stdout(&out).starts_with("0 job(s) dropped"),
        "{}",
        stdout(&out)
    );

    // Each operator action is journalled with who and how many.
    let store = dealbridge::app::open_store(&world.config).await.unwrap();
    let actions = store
        .journal_for(dealbridge_store::EntityKind::Queue, "jobs")
        .await
        .unwrap();
    let summary: Vec<(String, u64)> = actions
        .iter()
        .map(|a| {
            let d: Value = serde_json::from_str(a.detail.as_deref().unwrap()).unwrap();
            assert!(d["who"].as_str().unwrap().starts_with("cli:"), "{d}");
            (a.action.clone(), d["count"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("retry-all".to_string(), 0),
            ("retry-all".to_string(), completed as u64),
            ("retry-all".to_string(), 0),
            ("drop-all".to_string(), 0),
        ]
    );
    store.close().await;
}

// ---------------------------------------------------------------------------------------------
// the web console

/// The console's router over this world's database, closed by `token`, on a loopback port.
pub(crate) async fn serve_console(world: &World, token: &str) -> String {
    use dealbridge::server::console::{auth::ConsoleAuth, router, ConsoleState};
    let config = dealbridge::app::load_config(&world.config).unwrap();
    let store = dealbridge::app::open_store(&world.config).await.unwrap();
    let app = router(ConsoleState {
        store,
        config: std::sync::Arc::new(config),
        health: None,
        reconciler: None,
        auth: std::sync::Arc::new(ConsoleAuth::new(Some(dealbridge::config::Secret::new(
            token,
        )))),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A status conflict on `entity` left open for a person (rule `manual`): shop says
/// `completed`, crm says `cancelled`. Its id, and the crm side's value.
async fn open_status_conflict(store: &dealbridge_store::Store, entity: &str) -> (i64, Value) {
    let (base, ours, theirs) = (json!("processing"), json!("completed"), json!("cancelled"));
    let id = store
        .record_conflict(&dealbridge_store::NewConflict {
            kind: dealbridge_store::EntityKind::Order,
            entity_id: entity,
            field: "status",
            base: Some(&base),
            ours: &ours,
            theirs: &theirs,
            ours_system: "shop",
            theirs_system: "crm",
            rule: "manual",
            chosen: None,
            chosen_value: None,
            reason: "both changed the status; the mapping says a person decides",
        })
        .await
        .unwrap();
    (id, theirs)
}

/// Logs in to the console at `base` with `token`; the session cookie (`name=value`).
pub(crate) async fn console_login(http: &reqwest::Client, base: &str, token: &str) -> String {
    let login = http
        .post(format!("{base}/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303, "login with the right token");
    login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// The text of a console page, fetched with the session `cookie`.
pub(crate) async fn console_page(http: &reqwest::Client, url: &str, cookie: &str) -> String {
    http.get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of the first `name=csrf value="…"` in a page.
pub(crate) fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=csrf value=\"")
        .expect("a form with a CSRF token")
        + 17;
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom as the story it checks
async fn the_console_is_closed_without_the_token_and_retries_all_matching_after_a_fix() {
    let world = spawn_world(Tuning::default()).await;
    let orders = create_orders(&world.shop.base_url, 8, 3).await;
    let completed = orders.iter().filter(|(_, s)| s == "completed").count();
    let mapping = "mappings/woocommerce-bitrix24.toml";
    world.edit_file(
        mapping,
        "completed = \"WON\"",
        "completed = \"NO_SUCH_STAGE\"",
    );
    assert_eq!(code(&world.cli(&["sync"])), 3);
    let base = serve_console(&world, "t0ken-xyz").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Closed: every page and action answers 401 without a session, and nothing changes.
    for path in [
        "/",
        "/errors",
        "/errors/1",
        "/conflicts",
        "/activity",
        "/webhooks",
        "/reconcile",
        "/1c",
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert!(r.text().await.unwrap().contains("Console token"));
    }
    for path in [
        "/errors/retry-all",
        "/errors/drop-all",
        "/errors/1/retry",
        "/errors/1/drop",
        "/conflicts/1/take",
        "/conflicts/1/value",
        "/reconcile/run",
        "/1c/apply-held",
    ] {
        let r = http
            .post(format!("{base}{path}"))
            .form(&[
                ("csrf", "x"),
                ("state", "dead"),
                ("side", "crm"),
                ("value", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "POST {path}");
    }
    let wrong = http
        .post(format!("{base}/login"))
        .form(&[("token", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    // Logged in: the Errors page shows each dead job with the CRM's own message.
    let r = http
        .post(format!("{base}/login"))
        .form(&[("token", "t0ken-xyz")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let get = |path: &str| {
        http.get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
    };
    let page = get("/errors").await.unwrap().text().await.unwrap();
    assert!(
        page.contains(&format!("{completed} job(s) match")),
        "{page}"
    );
    assert!(
        page.contains("NO_SUCH_STAGE"),
        "the vendor's message is shown: {page}"
    );
    assert!(page.contains("orders — permanent (invalid)"), "{page}");
    let overview = get("/").await.unwrap();
    assert_eq!(overview.status(), 200);
    let overview = overview.text().await.unwrap();
    assert!(overview.contains("Dead jobs"), "{overview}");
    let done = orders.len() - completed;
    assert!(
        overview.contains(&format!(
            "Last hour: {done} done, {completed} failed for good"
        )),
        "{overview}"
    );
    assert!(
        overview.contains("<td>orders</td><td>shop → crm</td>"),
        "{overview}"
    );
    let csrf = csrf_of(&page);
    let dead = || jobs(&world, Some("dead")).len();

    // A forged CSRF token changes nothing.
    let post_all = |csrf: String| {
        http.post(format!("{base}/errors/retry-all"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf),
                ("state", "dead".into()),
                ("flow", "orders".into()),
                ("class", "permanent".into()),
            ])
            .send()
    };
    assert_eq!(post_all("forged".into()).await.unwrap().status(), 403);
    assert_eq!(dead(), completed);

    // Fix the mapping, retry all matching: every dead job runs again with the fixed mapping.
    world.edit_file(
        mapping,
        "completed = \"NO_SUCH_STAGE\"",
        "completed = \"WON\"",
    );
    assert_eq!(post_all(csrf.clone()).await.unwrap().status(), 303);
    assert_eq!(dead(), 0);
    assert_eq!(
        post_all(csrf).await.unwrap().status(),
        303,
        "a second click"
    );
    assert_eq!(code(&world.cli(&["sync"])), 0);
    let (n, origins) = world.deal_origins();
    assert_eq!(n, orders.len(), "exactly one deal per order");
    assert_eq!(origins, ids(&orders));

    // Both clicks are journalled, by the console, with how many each changed.
    let store = dealbridge::app::open_store(&world.config).await.unwrap();
    let counts: Vec<(String, u64)> = store
        .journal_for(dealbridge_store::EntityKind::Queue, "jobs")
        .await
        .unwrap()
        .iter()
        .map(|a| {
            let d: Value = serde_json::from_str(a.detail.as_deref().unwrap()).unwrap();
            assert_eq!(d["who"], "console");
            assert!(
                !a.detail.as_deref().unwrap().contains("t0ken"),
                "no token in the journal"
            );
            (a.action.clone(), d["count"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        counts,
        vec![
            ("retry-all".into(), completed as u64),
            ("retry-all".into(), 0)
        ]
    );
    store.close().await;
}

/// The first executable of `names` on PATH.
fn on_path(names: &[&str]) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver on a free loopback port, and the Chromium binary it should drive.
async fn chromedriver() -> Option<(ChildGuard, String, std::path::PathBuf)> {
    let driver = on_path(&["chromedriver"])?;
    let browser = on_path(&["chromium", "chromium-browser", "google-chrome"])?;
    let port = free_port();
    let mut cmd = std::process::Command::new(driver);
    cmd.arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let guard = ChildGuard::spawn(cmd, "chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let status = format!("{url}/status");
    let http = dealbridge_sdk::http::client(Timeouts::default()).unwrap();
    wait_until("chromedriver answers", WAIT, || {
        let req = http.get(&status).send();
        async move { req.await.is_ok() }
    })
    .await;
    Some((guard, url, browser))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom as the story it checks
async fn in_a_real_browser_an_operator_logs_in_sees_the_vendor_error_and_retries_all_after_a_fix() {
    let Some((_driver, webdriver, browser)) = chromedriver().await else {
        eprintln!(
            "SKIPPED (no chromium/chromedriver on PATH; apt-get install chromium chromium-driver): in_a_real_browser_…"
        );
        return;
    };
    let world = spawn_world(Tuning::default()).await;
    let orders = create_orders(&world.shop.base_url, 8, 3).await;
    let mapping = "mappings/woocommerce-bitrix24.toml";
    world.edit_file(
        mapping,
        "completed = \"WON\"",
        "completed = \"NO_SUCH_STAGE\"",
    );
    assert_eq!(code(&world.cli(&["sync"])), 3);
    let base = serve_console(&world, "browser-t0ken").await;

    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "goog:chromeOptions": {
            "binary": browser,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"]
        }
    }))
    .unwrap();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let b = fantoccini::ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&webdriver)
        .await
        .expect("a WebDriver session");
    use fantoccini::Locator;

    // The console asks for the token first.
    b.goto(&format!("{base}/")).await.unwrap();
    let token = b.find(Locator::Css("input[name=token]")).await.unwrap();
    token.send_keys("browser-t0ken").await.unwrap();
    b.find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // A click does not wait for the next page: wait for what the page shows, as a person would.
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//h1[text()='Overview']"))
        .await
        .expect("the overview after logging in");
    let overview = b.source().await.unwrap();
    assert!(overview.contains("Dead jobs"), "{overview}");
    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::write(
        shots.join("console-overview.png"),
        b.screenshot().await.unwrap(),
    )
    .unwrap();

    // The Errors page names the CRM's own complaint.
    b.goto(&format!("{base}/errors")).await.unwrap();
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//h1[text()='Errors']"))
        .await
        .expect("the Errors page");
    let errors = b.source().await.unwrap();
    assert!(errors.contains("NO_SUCH_STAGE"), "{errors}");
    assert!(
        errors.contains("/wp-admin/post.php?post="),
        "each job links its order in the shop: {errors}"
    );
    std::fs::write(
        shots.join("console-errors.png"),
        b.screenshot().await.unwrap(),
    )
    .unwrap();

    // Fix the mapping, click "Retry all matching", and the deals appear in the CRM.
    world.edit_file(
        mapping,
        "completed = \"NO_SUCH_STAGE\"",
        "completed = \"WON\"",
    );
    b.find(Locator::Css("form[action='/errors/retry-all'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//p[starts-with(., '0 job(s) match')]"))
        .await
        .expect("the Errors page again, with nothing dead");
    assert_eq!(code(&world.cli(&["sync"])), 0);
    let (n, origins) = world.deal_origins();
    assert_eq!(n, orders.len(), "exactly one deal per order");
    assert_eq!(origins, ids(&orders));

    // A conflict the mapping leaves to a person is decided on the Conflicts page.
    let store = dealbridge::app::open_store(&world.config).await.unwrap();
    let (conflict, theirs) = open_status_conflict(&store, "shop:100").await;
    b.goto(&format!("{base}/conflicts")).await.unwrap();
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//h2[text()='Waiting for a person (1)']"))
        .await
        .expect("the open conflict");
    b.find(Locator::XPath("//button[text()='Take crm']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//h2[text()='Waiting for a person (0)']"))
        .await
        .expect("no conflict waits after the decision");
    let decided = store.conflict(conflict).await.unwrap().unwrap();
    assert_eq!(decided.chosen.as_deref(), Some("crm"));
    assert_eq!(decided.chosen_value, Some(theirs));
    store.close().await;
    b.close().await.unwrap();
    eprintln!("screenshots in {}", shots.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_waiting_for_a_person_is_decided_from_the_console_once() {
    let world = spawn_world(Tuning::default()).await;
    let store = dealbridge::app::open_store(&world.config).await.unwrap();
    let (id, theirs) = open_status_conflict(&store, "shop:42").await;
    let console = serve_console(&world, "c0nflict").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(
        http.get(format!("{console}/conflicts"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let cookie = console_login(&http, &console, "c0nflict").await;
    let page = console_page(&http, &format!("{console}/conflicts"), &cookie).await;
    assert!(page.contains("Waiting for a person (1)"), "{page}");
    assert!(
        page.contains("shop: completed") && page.contains("crm: cancelled"),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let take = |csrf: String| {
        http.post(format!("{console}/conflicts/{id}/take"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf), ("side", "crm".to_string())])
            .send()
    };
    assert_eq!(take("forged".into()).await.unwrap().status(), 403);
    assert_eq!(
        store.conflict(id).await.unwrap().unwrap().state,
        dealbridge_store::ConflictState::Open
    );
    assert_eq!(take(csrf.clone()).await.unwrap().status(), 303);
    assert_eq!(take(csrf).await.unwrap().status(), 303, "a second click");
    let decided = store.conflict(id).await.unwrap().unwrap();
    assert_eq!(decided.state, dealbridge_store::ConflictState::Resolved);
    assert_eq!(decided.chosen.as_deref(), Some("crm"));
    assert_eq!(decided.chosen_value, Some(theirs));

    // The Activity page shows the decision; the second click changed nothing.
    let activity = console_page(&http, &format!("{console}/activity"), &cookie).await;
    assert!(activity.contains("conflict"), "{activity}");
    let hooks = console_page(&http, &format!("{console}/webhooks"), &cookie).await;
    assert!(
        hooks.contains("No delivery stored yet from: crm, shop"),
        "{hooks}"
    );
    let counts: Vec<u64> = store
        .journal_for(dealbridge_store::EntityKind::Order, "shop:42")
        .await
        .unwrap()
        .iter()
        .map(|a| {
            serde_json::from_str::<Value>(a.detail.as_deref().unwrap()).unwrap()["count"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(counts, vec![1, 0]);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_with_a_token_answer_only_the_bearer() {
    let world = spawn_world(Tuning::default()).await;
    // The token comes from the environment, as an operator would keep it out of the file.
    let env: std::collections::BTreeMap<String, String> = [(
        dealbridge::config::METRICS_TOKEN_VAR.to_string(),
        "scrape-me".to_string(),
    )]
    .into();
    let config = dealbridge::config::Config::load_with_env(&world.config, &env).unwrap();
    let token = config.server.metrics_token.clone();
    assert_eq!(token.as_ref().map(|t| t.expose()), Some("scrape-me"));
    let store = dealbridge::app::open_store(&world.config).await.unwrap();
    let app = dealbridge::server::router(
        dealbridge::server::AppState::new(store, None).with_metrics_token(token),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = dealbridge_sdk::http::client(Timeouts::default()).unwrap();
    let scrape = |auth: Option<&str>| {
        let mut req = http.get(format!("{base}/metrics"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };
    assert_eq!(scrape(None).await.unwrap().status(), 401);
    assert_eq!(scrape(Some("Bearer guess")).await.unwrap().status(), 401);
    let ok = scrape(Some("Bearer scrape-me")).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("dealbridge_jobs"));
    // /healthz keeps its own (no) auth.
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
