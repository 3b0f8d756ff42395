//! The console's Errors page in depth: each job's record linked to the store and the CRM, the
//! job detail with the write re-planned from the mapping file as it is now, and refused webhook
//! deliveries on the Webhooks page. Real emulators over loopback, a real SQLite file.

use crate::cli::{code, console_login, console_page, create_orders, csrf_of, serve_console};
use crate::common::{spawn_world, Tuning};
use serde_json::{json, Value};

const MAPPING: &str = "mappings/woocommerce-bitrix24.toml";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one scenario, read top to bottom as the story it checks
async fn console_job_detail_links_the_record_and_shows_the_write_with_the_mapping_as_it_is_now() {
    let world = spawn_world(Tuning::default()).await;
    let orders = create_orders(&world.shop.base_url, 4, 2).await;
    assert_eq!(code(&world.cli(&["sync"])), 0);
    // A processing order is completed in the shop while `completed` maps to a stage the portal
    // does not have: the deal's update is refused by the CRM and the job dies.
    let (order, _) = orders.iter().find(|(_, s)| s == "processing").unwrap();
    world.edit_file(
        MAPPING,
        "completed = \"WON\"",
        "completed = \"NO_SUCH_STAGE\"",
    );
    world
        .shop
        .handle
        .owner_edit(*order, &json!({"status": "completed"}))
        .unwrap();
    assert_eq!(code(&world.cli(&["sync"])), 3);
    let dead = world.cli_json(&["queue", "list", "--state", "dead", "--json"]);
    let dead = dead.as_array().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    let job = dead[0]["id"].as_i64().unwrap();
    let deal = world
        .crm
        .handle
        .deals()
        .iter()
        .find(|d| d["ORIGIN_ID"] == Value::String(order.to_string()))
        .map(|d| d["ID"].as_str().unwrap().to_string())
        .expect("the order's deal");

    let base = serve_console(&world, "d3tail").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let closed = http
        .get(format!("{base}/errors/{job}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        closed.status(),
        401,
        "the detail is behind the console's login"
    );
    let cookie = console_login(&http, &base, "d3tail").await;

    // The Errors page: the order linked to its edit screen, the deal to its card, the job to
    // its detail.
    let page = console_page(&http, &format!("{base}/errors"), &cookie).await;
    let order_link = format!(
        "{}/wp-admin/post.php?post={order}&amp;action=edit",
        world.shop.base_url
    );
    assert!(page.contains(&order_link), "{page}");
    let crm_origin = world.crm.webhook_url.split("/rest/").next().unwrap();
    let deal_link = format!("{crm_origin}/crm/deal/details/{deal}/");
    assert!(page.contains(&deal_link), "{page}");
    assert!(page.contains(&format!("href=\"/errors/{job}\"")), "{page}");
    assert!(!page.contains("/rest/1/"), "no webhook token on the page");

    // The detail: attempts, the CRM's own complaint, and the write as it would be sent now.
    let detail = |cookie: String| {
        let http = http.clone();
        let url = format!("{base}/errors/{job}");
        async move { console_page(&http, &url, &cookie).await }
    };
    let page = detail(cookie.clone()).await;
    assert!(page.contains("<h1>Job "), "{page}");
    assert!(
        page.contains("NO_SUCH_STAGE"),
        "the vendor's message: {page}"
    );
    assert!(page.contains(&deal_link), "{page}");
    assert!(
        page.contains(&format!("update deal {deal} in crm")),
        "{page}"
    );
    assert!(
        page.contains("&quot;stage&quot;: &quot;NO_SUCH_STAGE&quot;"),
        "still the unfixed stage: {page}"
    );
    assert!(
        !csrf_of(&page).is_empty(),
        "retry and drop forms carry the CSRF token"
    );

    // A mapping the operator is half-way through editing: the page says it would fail again.
    world.edit_file(MAPPING, "completed = \"NO_SUCH_STAGE\"", "completed = \"\"");
    let page = detail(cookie.clone()).await;
    assert!(page.contains("It would fail again"), "{page}");
    assert!(page.contains("does not load now"), "{page}");

    // Fixed: the write now carries the mapped stage, before anything is retried.
    world.edit_file(MAPPING, "completed = \"\"", "completed = \"WON\"");
    let page = detail(cookie.clone()).await;
    assert!(!page.contains("It would fail again"), "{page}");
    assert!(
        page.contains("&quot;stage&quot;: &quot;WON&quot;"),
        "the fixed stage: {page}"
    );
    let missing = http
        .get(format!("{base}/errors/987654"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_webhooks_page_counts_a_forged_signature_and_ignores_unknown_systems() {
    let world = spawn_world(Tuning::default()).await;
    world.edit_file(
        "dealbridge.toml",
        "consumer_secret = \"cs_test\"\n",
        "consumer_secret = \"cs_test\"\nwebhook_secret = \"s3cret\"\n",
    );
    let config = dealbridge::app::load_config(&world.config).unwrap();
    let store = dealbridge::app::open_store(&world.config).await.unwrap();
    let hooks = dealbridge::server::webhooks::router::<()>(
        dealbridge::server::webhooks::WebhookState::new(
            store.clone(),
            &config,
            std::sync::Arc::default(),
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, hooks).await.unwrap() });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let forge = |path: &'static str| {
        http.post(format!("http://{addr}{path}"))
            .header("X-WC-Webhook-Topic", "order.updated")
            .header("X-WC-Webhook-Signature", "Zm9yZ2Vk")
            .body(r#"{"id": 1}"#)
            .send()
    };
    assert_eq!(forge("/webhooks/shop").await.unwrap().status(), 401);
    assert_eq!(forge("/webhooks/shop").await.unwrap().status(), 401);
    // A made-up system name is refused and adds no row: anyone can invent names.
    assert_eq!(forge("/webhooks/made-up").await.unwrap().status(), 404);
    let counted = store.webhook_rejections().await.unwrap();
    let got: Vec<(&str, &str, i64)> = counted
        .iter()
        .map(|r| (r.system.as_str(), r.reason.as_str(), r.last_day))
        .collect();
    assert_eq!(got, vec![("shop", "bad_signature", 2)]);

    let base = serve_console(&world, "h00ks").await;
    let cookie = console_login(&http, &base, "h00ks").await;
    let page = console_page(&http, &format!("{base}/webhooks"), &cookie).await;
    assert!(
        page.contains("<td>shop</td><td class=bad>bad signature or token</td><td>2</td><td>2</td>"),
        "{page}"
    );
    assert!(!page.contains("made-up"), "{page}");
    store.close().await;
}

/// `dealbridge sandbox` running on: its console lists the order seeded to fail with the
/// mapping's own hint; fixing the mapping file and pressing Retry makes its deal in the running
/// engine (the worker re-reads a changed mapping file), and the Errors page empties.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_console_lists_the_seeded_failing_order_and_a_retry_after_the_fix_clears_it() {
    use crate::common::{dealbridge, free_port, wait_until, ChildGuard};
    use std::process::Stdio;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let out = dir.path().join("sandbox.out");
    let mut cmd = dealbridge();
    cmd.args(["sandbox", "--orders", "3", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--dir")
        .arg(dir.path())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null());
    let _sandbox = ChildGuard::spawn(cmd, "dealbridge sandbox");
    let printed = || std::fs::read_to_string(&out).unwrap_or_default();
    let wait = Duration::from_secs(60);
    wait_until("the sandbox to print its console token", wait, || async {
        printed().contains("(token ")
    })
    .await;
    let text = printed();
    let token = text
        .split("(token ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .unwrap()
        .to_string();
    let base = format!("http://127.0.0.1:{port}");
    // The sdk's client installs the TLS crypto provider a bare reqwest builder needs.
    dealbridge_sdk::http::client(dealbridge_sdk::http::Timeouts::default()).unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    wait_until("the sandbox's console to answer", wait, || {
        let r = http.get(format!("{base}/login")).send();
        async move { r.await.is_ok() }
    })
    .await;
    let cookie = console_login(&http, &base, &token).await;
    let page = console_page(&http, &format!("{base}/errors"), &cookie).await;
    assert!(page.contains("1 job(s) match"), "{page}");
    assert!(
        page.contains("order status `delivered` has no CRM stage"),
        "the mapping's own message: {page}"
    );
    assert!(
        page.contains("add `delivered = &quot;STAGE&quot;` to [status_map]"),
        "{page}"
    );
    assert!(
        page.contains("/wp-admin/post.php?post="),
        "the order's link: {page}"
    );

    // The fix, then Retry on the Errors page: the running engine makes the deal.
    let mapping = dir.path().join("mappings/woocommerce-bitrix24.toml");
    let text = std::fs::read_to_string(&mapping).unwrap();
    std::fs::write(
        &mapping,
        text.replace("[status_map]\n", "[status_map]\ndelivered = \"WON\"\n"),
    )
    .unwrap();
    let job = page
        .split("href=\"/errors/")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap()
        .to_string();
    let detail = console_page(&http, &format!("{base}/errors/{job}"), &cookie).await;
    assert!(
        detail.contains("&quot;stage&quot;: &quot;WON&quot;"),
        "{detail}"
    );
    let retried = http
        .post(format!("{base}/errors/{job}/retry"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 303);
    wait_until("the retried job to make its deal", wait, || {
        let http = http.clone();
        let (url, cookie) = (format!("{base}/errors/{job}"), cookie.clone());
        async move {
            console_page(&http, &url, &cookie)
                .await
                .contains("<td>done</td>")
        }
    })
    .await;
    let page = console_page(&http, &format!("{base}/errors"), &cookie).await;
    assert!(page.contains("0 job(s) match"), "{page}");
}
