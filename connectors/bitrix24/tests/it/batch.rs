//! `batch`: references between commands, halt, the 50-command limit, counters, answer shape.

use crate::common;

use dealbridge_sdk::error::ErrorKind;
use serde_json::{json, Value};

#[tokio::test]
async fn later_commands_use_earlier_results() {
    let (emu, c) = common::setup().await;
    // Keys deliberately not in alphabetical order: commands run in the order sent.
    let cmds = [
        (
            "z_deal",
            "crm.deal.add",
            json!({"fields": {"TITLE": "Batch deal", "CURRENCY_ID": "USD"}}),
        ),
        (
            "a_rows",
            "crm.deal.productrows.set",
            json!({"id": "$result[z_deal]", "rows": [{"PRODUCT_NAME": "Tea", "PRICE": "2.50", "QUANTITY": 4}]}),
        ),
        ("m_get", "crm.deal.get", json!({"id": "$result[z_deal]"})),
        (
            "b_list",
            "crm.deal.list",
            json!({"filter": {"ID": "$result[m_get][ID]"}, "select": ["ID", "OPPORTUNITY"]}),
        ),
    ];
    let r = c.batch(true, &cmds).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let id = r.get("z_deal").unwrap().as_u64().unwrap();
    assert_eq!(r.get("a_rows").unwrap(), &json!(true));
    assert_eq!(r.get("m_get").unwrap()["OPPORTUNITY"], "10.00");
    assert_eq!(r.get("b_list").unwrap()[0]["ID"], json!(id.to_string()));
    assert_eq!(r.totals.get("b_list"), Some(&1));
    assert_eq!(emu.handle.deal_rows(id).len(), 1);
    let counts = emu.handle.counters();
    assert_eq!(counts.get("batch").calls, 1);
    assert_eq!(counts.get("crm.deal.add").served, 1);
    assert_eq!(counts.get("crm.deal.productrows.set").served, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn halt_stops_at_the_first_error_and_answers_200() {
    let (emu, c) = common::setup().await;
    let cmds = [
        (
            "bad",
            "crm.deal.add",
            json!({"fields": {"STAGE_ID": "NOPE"}}),
        ),
        ("never", "crm.deal.add", json!({"fields": {"TITLE": "x"}})),
    ];
    let r = c.batch(true, &cmds).await.unwrap();
    assert!(r.results.is_empty());
    assert_eq!(r.get("bad").unwrap_err().kind, ErrorKind::Invalid);
    assert!(r.get("never").is_err());
    assert_eq!(emu.handle.deal_count(), 0);
    // Without halt the second one runs.
    let r = c.batch(false, &cmds).await.unwrap();
    assert!(r.get("never").is_ok());
    assert_eq!(emu.handle.deal_count(), 1);

    // Raw shape: HTTP 200, empty maps as [], errors keyed by command.
    let raw = common::raw()
        .post(format!("{}batch", emu.webhook_url))
        .json(&json!({"halt": 0, "cmd": {"x": "crm.deal.get?id=404", "y": "batch?cmd[a]=crm.deal.list", "z": "no.such.method"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["result"]["result"], json!([]));
    assert_eq!(body["result"]["result_total"], json!([]));
    assert_eq!(
        body["result"]["result_error"]["x"],
        json!({"error": "", "error_description": "Not found"})
    );
    assert_eq!(
        body["result"]["result_error"]["y"]["error"],
        "ERROR_BATCH_METHOD_NOT_ALLOWED"
    );
    assert_eq!(
        body["result"]["result_error"]["z"]["error"],
        "ERROR_METHOD_NOT_FOUND"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn more_than_fifty_commands_are_refused() {
    let (emu, c) = common::setup().await;
    let cmds: Vec<(String, &str, Value)> = (0..51)
        .map(|i| {
            (
                format!("c{i}"),
                "crm.deal.add",
                json!({"fields": {"TITLE": "x"}}),
            )
        })
        .collect();
    let e = c.batch(false, &cmds).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(
        e.message.contains("ERROR_BATCH_LENGTH_EXCEEDED"),
        "{}",
        e.message
    );
    assert_eq!(emu.handle.deal_count(), 0);
    let raw = common::raw()
        .post(format!("{}batch.json", emu.webhook_url))
        .json(&json!({"cmd": (0..51).map(|i| (format!("k{i}"), json!("crm.deal.list"))).collect::<serde_json::Map<_, _>>()}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"})
    );
    emu.shutdown().await;
}
