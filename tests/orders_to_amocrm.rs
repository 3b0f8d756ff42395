//! The same engine, another CRM: WooCommerce orders become amoCRM leads exactly once, through the
//! same flow code; only the connector and the mapping file differ from the Bitrix24 path.

use dealbridge::app::App;
use dealbridge_amocrm::emulator as amo;
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::http::Timeouts;
use dealbridge_woocommerce::emulator as woo;
use dealbridge_woocommerce::{NewOrder, WooClient};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

fn write_calls(handle: &amo::EmulatorHandle) -> u64 {
    handle
        .counters()
        .snapshot()
        .iter()
        .filter(|(k, _)| k.starts_with("POST") || k.starts_with("PATCH") || k.starts_with("DELETE"))
        .map(|(_, c)| c.served)
        .sum()
}

fn lead_for(leads: &[Value], order_id: u64) -> Vec<&Value> {
    let key = format!("\"shop:{order_id}\"");
    leads
        .iter()
        .filter(|l| l.to_string().contains(&key))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_become_amocrm_leads_exactly_once_despite_faults() {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let shop = woo::spawn(woo::EmulatorConfig::default(), any)
        .await
        .unwrap();
    let crm = amo::spawn(amo::EmulatorConfig::default(), any)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/mappings/woocommerce-amocrm.toml"
        ),
        dir.path().join("mappings/woocommerce-amocrm.toml"),
    )
    .unwrap();
    let config = dir.path().join("dealbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"[database]
url = "sqlite://dealbridge.db"
[sync]
backoff_base = "50ms"
backoff_max = "1s"
max_attempts = 40
lease = "5s"
[systems.shop]
kind = "woocommerce"
base_url = "{}"
consumer_key = "ck_test"
consumer_secret = "cs_test"
[systems.crm]
kind = "amocrm"
base_url = "{}"
token = "test"
timeout = "1s"
[[flows]]
name = "orders"
from = "shop"
to = "crm"
entities = ["order"]
mapping = "mappings/woocommerce-amocrm.toml"
"#,
            shop.base_url, crm.base_url
        ),
    )
    .unwrap();

    let client = WooClient::new(&shop.base_url, "ck_test", "cs_test", Timeouts::default()).unwrap();
    let statuses = ["pending", "processing", "completed", "on-hold"];
    let mut orders = Vec::new();
    for i in 0..20 {
        let buyer = i % 7;
        let order: NewOrder = serde_json::from_value(json!({
            "status": statuses[i % 4],
            "billing": {"first_name": format!("A{buyer}"), "email": format!("a{buyer}@example.com")},
            "line_items": [
                {"name": "Honey", "sku": "H-1", "quantity": 1 + (i % 2), "subtotal": "150.25", "total": "150.25"},
                {"name": "Jar", "sku": "J-2", "quantity": 1, "subtotal": "20.00", "total": "20.00"}
            ]
        }))
        .unwrap();
        orders.push(client.create_order(&order).await.unwrap());
    }

    // A fifth of the calls fail, some after the write landed.
    crm.handle.faults().set(FaultConfig {
        error_rate: 0.08,
        throttle_rate: 0.07,
        drop_after_write_rate: 0.05,
        hang: Duration::from_millis(1500),
        ..Default::default()
    });
    let app = App::load(&config).await.unwrap();
    let summary = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(summary.dead, 0, "{summary:?}");
    crm.handle.faults().set(FaultConfig::default());

    let leads = crm.handle.leads();
    assert_eq!(leads.len(), 20, "one lead per order, no duplicates");
    assert_eq!(crm.handle.contacts().len(), 7, "one contact per buyer");
    for o in &orders {
        let found = lead_for(&leads, o.id);
        assert_eq!(found.len(), 1, "order {}", o.id);
        let lead = found[0];
        let total = Decimal::from_str(&o.total.to_string()).unwrap();
        let rounded =
            total.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        assert_eq!(
            lead["price"].as_i64().unwrap(),
            i64::try_from(rounded.mantissa() / 10i128.pow(rounded.scale())).unwrap()
        );
        assert!(
            lead.to_string()
                .contains(&format!("{} RUB", total.round_dp(2))),
            "exact amount kept: {lead}"
        );
        assert_eq!(lead["pipeline_id"], 3177727);
        let stage = match o.status.as_str() {
            "pending" => 32392159,
            "processing" | "on-hold" => 32392165,
            "completed" => 142,
            s => panic!("{s}"),
        };
        assert_eq!(lead["status_id"], stage);
        let id = lead["id"].as_u64().unwrap();
        assert_eq!(crm.handle.links(id).len(), 2, "two product rows linked");
    }

    // Nothing changed: nothing written.
    crm.handle.counters().reset();
    let again = app.engine.sync_once(None, false).await.unwrap();
    assert_eq!(again.written, 0, "{again:?}");
    assert_eq!(write_calls(&crm.handle), 0);
    app.store.close().await;
}
