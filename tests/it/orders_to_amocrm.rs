//! The same engine, another CRM: WooCommerce orders become amoCRM leads exactly once, through the
//! same flow code; only the connector and the mapping file differ from the Bitrix24 path.

use crate::common;

use common::{spawn_amo_world, AmoTuning};
use dealbridge::app::App;
use dealbridge_amocrm::emulator as amo;
use dealbridge_sdk::fault::FaultConfig;
use dealbridge_sdk::http::Timeouts;
use dealbridge_woocommerce::{NewOrder, WooClient};
use rust_decimal::Decimal;
use serde_json::{json, Value};
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
    let w = spawn_amo_world(AmoTuning {
        top: "[sync]\nbackoff_base = \"50ms\"\nbackoff_max = \"1s\"\nmax_attempts = 40\nlease = \"5s\"",
        crm: "timeout = \"1s\"",
        ..Default::default()
    })
    .await;
    let (shop, crm, config) = (&w.shop, &w.crm, &w.config);
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
    let app = App::load(config).await.unwrap();
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
