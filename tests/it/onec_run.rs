//! `dealbridge run` with the 1C exchange enabled: 1C (the client emulator, speaking the real
//! protocol over loopback) uploads a catalog that lands in the store, and fetches the orders the
//! engine synced from the shop; they are offered until 1C confirms them with `success`.

use crate::common;
use dealbridge_store::EntityKind;

use common::{dealbridge, spawn_world, wait_until, ChildGuard, Tuning};
use dealbridge_commerceml::exchange_client::{
    run_catalog_exchange, run_sale_exchange, ClientOptions,
};
use dealbridge_sdk::http::Timeouts;
use dealbridge_store::Store;
use dealbridge_woocommerce::{NewOrder, WooClient};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// What 1C sends back for the first `n` orders of an exported XML: the same documents, paid,
/// with 1C's status. Returns the file and the orders' ids.
fn payments_from_1c(exported: &[u8], n: usize) -> (Vec<u8>, Vec<String>) {
    use dealbridge_commerceml::writer::{write_orders, OrderExport, WriterOptions};
    use dealbridge_commerceml::{CmlReader, Item, ReaderOptions};
    let mut reader = CmlReader::from_reader(
        std::io::Cursor::new(exported.to_vec()),
        ReaderOptions::default(),
    )
    .unwrap();
    let mut out = Vec::new();
    while let Some(item) = reader.next_item().unwrap() {
        if let Item::Document(d) = item {
            if out.len() < n {
                out.push(d.to_sdk_order("shop"));
            }
        }
    }
    let ids = out.iter().map(|o| o.source.id.clone()).collect();
    let exports: Vec<OrderExport> = out
        .into_iter()
        .enumerate()
        .map(|(i, order)| OrderExport {
            payment: Some(dealbridge_sdk::model::Payment {
                source: dealbridge_sdk::model::ExternalRef {
                    system: "1c".into(),
                    id: format!("ПП-{i}"),
                },
                order: order.source.clone(),
                amount: order.total_money(),
                paid_at: Some(chrono::Utc::now()),
                document_number: Some(format!("ПП-{i}")),
                method: Some("Банковский перевод".into()),
            }),
            status: Some("Выполнен".into()),
            order,
        })
        .collect();
    (
        write_orders(&exports, &WriterOptions::default()).unwrap(),
        ids,
    )
}

fn documents(xml: &[u8]) -> usize {
    String::from_utf8_lossy(xml).matches("<Документ>").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom as the story it checks
async fn run_serves_the_1c_exchange_catalog_in_orders_out() {
    let world = spawn_world(Tuning {
        sync: "poll_interval = \"200ms\"",
        ..Tuning::default()
    })
    .await;
    let port = common::free_port();
    world.edit_file(
        "dealbridge.toml",
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let mut text = std::fs::read_to_string(&world.config).unwrap();
    text.push_str("\n[exchange_1c]\nlogin = \"site\"\npassword = \"secret-1c\"\n");
    // The 1C catalog goes on to the CRM on every exchange, not only at night.
    text.push_str(
        "\n[[catalog]]\nname = \"products\"\nto = \"crm\"\nmapping = \"mappings/1c-bitrix24.toml\"\n",
    );
    std::fs::write(&world.config, text).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/1c-bitrix24.toml"),
        world.dir.path().join("mappings/1c-bitrix24.toml"),
    )
    .unwrap();

    let shop = WooClient::new(
        &world.shop.base_url,
        "ck_test",
        "cs_test",
        Timeouts::default(),
    )
    .unwrap();
    for i in 0..6 {
        let order: NewOrder = serde_json::from_value(json!({
            "status": "processing",
            "billing": {"first_name": format!("B{i}"), "email": format!("b{i}@example.com")},
            "line_items": [{"name": "Tea", "sku": "T-1", "quantity": 2, "subtotal": "20.00", "total": "20.00"}]
        }))
        .unwrap();
        shop.create_order(&order).await.unwrap();
    }

    let mut cmd = dealbridge();
    cmd.arg("--config").arg(&world.config).arg("run");
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut engine = ChildGuard::spawn(cmd, "dealbridge run");
    let crm = world.crm.handle.clone();
    wait_until("6 deals", Duration::from_secs(30), || {
        let crm = crm.clone();
        async move { crm.deal_count() == 6 }
    })
    .await;
    let url = format!("http://127.0.0.1:{port}/1c/exchange");
    wait_until("the exchange endpoint", Duration::from_secs(10), || {
        let url = url.clone();
        async move {
            reqwest::get(format!("{url}?type=catalog&mode=checkauth"))
                .await
                .is_ok()
        }
    })
    .await;

    // Wrong password: refused.
    let wrong = ClientOptions::new(&url, "site", "nope");
    assert!(run_catalog_exchange(&wrong, &[]).await.is_err());

    // Catalog in: zipped, in small chunks, imported through the same path as import-1c.
    let fixtures =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onec/carono-ut11-2.07");
    let mut opts = ClientOptions::new(&url, "site", "secret-1c");
    opts.chunk_limit = Some(8 * 1024);
    let transcript = run_catalog_exchange(
        &opts,
        &[fixtures.join("import.xml"), fixtures.join("offers.xml")],
    )
    .await
    .unwrap_or_else(|e| panic!("catalog exchange failed: {e}"));
    assert!(
        transcript
            .steps
            .iter()
            .all(|s| ["success", "progress", "zip=", "<"]
                .iter()
                .any(|p| s.answer.starts_with(p))),
        "{transcript}"
    );
    let store = Store::connect(&format!(
        "sqlite://{}",
        world.dir.path().join("dealbridge.db").display()
    ))
    .await
    .unwrap();
    let counts = store.catalog_counts("1c").await.unwrap();
    assert_eq!((counts.products, counts.offers), (2, 5), "{counts:?}");
    // ... and, right after the exchange, in the CRM's catalog with the retail price.
    let crm = world.crm.handle.clone();
    wait_until("the catalog in the CRM", Duration::from_secs(10), || {
        let crm = crm.clone();
        async move { !crm.products().is_empty() }
    })
    .await;
    assert!(
        world
            .crm
            .handle
            .products()
            .iter()
            .all(|p| p["XML_ID"].as_str().is_some_and(|x| x.starts_with("1c:"))),
        "{:?}",
        world.crm.handle.products()
    );

    // Orders out: every synced shop order, until 1C says success.
    let first = run_sale_exchange(&opts, &[])
        .await
        .unwrap_or_else(|e| panic!("sale exchange failed: {e}"));
    let xml = first.orders_xml.expect("orders answered");
    assert_eq!(documents(&xml), 6, "{}", String::from_utf8_lossy(&xml));
    assert!(
        String::from_utf8_lossy(&xml).contains("b3@example.com")
            || String::from_utf8_lossy(&xml).contains("B3")
    );
    let second = run_sale_exchange(&opts, &[]).await.unwrap();
    assert_eq!(
        documents(&second.orders_xml.unwrap_or_default()),
        0,
        "confirmed orders are not sent again"
    );

    // 1C answers with statuses and payments for two of those orders; they land on the right
    // orders, and sending the same file again changes nothing.
    let answer = payments_from_1c(&xml, 2);
    let file = world.dir.path().join("orders-from-1c.xml");
    std::fs::write(&file, &answer.0).unwrap();
    run_sale_exchange(&opts, std::slice::from_ref(&file))
        .await
        .unwrap_or_else(|e| panic!("status upload failed: {e}"));
    let bound = |kind: EntityKind| {
        let store = store.clone();
        async move {
            store
                .binding_counts()
                .await
                .unwrap()
                .into_iter()
                .find(|(s, k, _)| s == "1c" && *k == kind)
                .map(|(_, _, n)| n)
                .unwrap_or(0)
        }
    };
    assert_eq!(bound(EntityKind::Payment).await, 2);
    for id in &answer.1 {
        let b = store
            .binding("1c", EntityKind::Order, &format!("shop:{id}"))
            .await
            .unwrap()
            .expect("1C side of the order");
        let snap = b.snapshot.unwrap();
        assert_eq!(snap["status"], "Выполнен");
        assert_eq!(snap["paid"], true);
    }
    run_sale_exchange(&opts, &[file]).await.unwrap();
    assert_eq!(
        bound(EntityKind::Payment).await,
        2,
        "re-sent payments are not recorded twice"
    );
    store.close().await;

    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(engine.pid().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let code = engine
        .wait_exit(Duration::from_secs(15))
        .await
        .expect("engine stops");
    assert!(code.success());
}
