//! Deals, product rows, lists and filters: the client against the emulator over loopback.

use crate::common;

use dealbridge_sdk::error::ErrorKind;
use rust_decimal_macros::dec;
use serde_json::{json, Value};

#[tokio::test]
async fn add_get_update_with_product_rows() {
    let (emu, c) = common::setup().await;
    let added = c
        .call(
            "crm.deal.add",
            json!({"fields": {"TITLE": "Order #1", "STAGE_ID": "PREPARATION", "CURRENCY_ID": "EUR",
                              "OPPORTUNITY": 10, "ORIGINATOR_ID": "shop", "ORIGIN_ID": "1"}}),
        )
        .await
        .unwrap();
    // `crm.deal.add` answers the new id as an integer.
    assert!(added.result.is_u64(), "{}", added.result);
    let id = added.result.as_u64().unwrap().to_string();

    let deal = c.get_deal(&id).await.unwrap();
    assert_eq!(deal.id, id);
    assert_eq!(deal.title.as_deref(), Some("Order #1"));
    assert_eq!(deal.stage_id.as_deref(), Some("PREPARATION"));
    assert_eq!(deal.currency_id.as_deref(), Some("EUR"));
    assert_eq!(deal.opportunity, Some(dec!(10.00)));
    assert_eq!(deal.is_manual_opportunity.as_deref(), Some("N"));
    // On read, ids and money are strings, dates ISO 8601 with an offset.
    let raw = c
        .call("crm.deal.get", json!({"id": id}))
        .await
        .unwrap()
        .result;
    assert_eq!(raw["ID"], json!(id));
    assert_eq!(raw["OPPORTUNITY"], "10.00");
    assert_eq!(raw["CATEGORY_ID"], "0");
    assert_eq!(raw["STAGE_SEMANTIC_ID"], "P");
    let created = raw["DATE_CREATE"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(created).is_ok(),
        "{created}"
    );
    assert!(created.ends_with("+03:00"), "{created}");

    // Automatic amount: the rows' sum replaces OPPORTUNITY.
    let set = c
        .call(
            "crm.deal.productrows.set",
            json!({"id": id, "rows": [
                {"PRODUCT_NAME": "Tea", "PRICE": "12.50", "QUANTITY": 2},
                {"PRODUCT_NAME": "Cup", "PRICE": 5, "QUANTITY": "3", "TAX_RATE": 20, "TAX_INCLUDED": "Y"}
            ]}),
        )
        .await
        .unwrap();
    assert_eq!(set.result, json!(true));
    let deal = c.get_deal(&id).await.unwrap();
    assert_eq!(deal.opportunity, Some(dec!(40.00)));
    let rows = c.get_deal_rows(&id).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].product_name.as_deref(), Some("Tea"));
    assert_eq!(rows[0].price, dec!(12.5));
    assert_eq!(rows[0].quantity, dec!(2));
    assert_eq!(rows[0].owner_id.as_deref(), Some(id.as_str()));
    assert_eq!(rows[1].tax_rate, Some(dec!(20)));
    assert_eq!(rows[1].tax_included.as_deref(), Some("Y"));
    // Rows carry numbers, as the portal sends them.
    let raw_rows = c
        .call("crm.deal.productrows.get", json!({"id": id}))
        .await
        .unwrap()
        .result;
    assert!(raw_rows[0]["PRICE"].is_number() && raw_rows[0]["ID"].is_string());
    assert_eq!(raw_rows[1]["PRICE_ACCOUNT"], "5.00");

    // `set` replaces every row.
    c.call(
        "crm.deal.productrows.set",
        json!({"id": id, "rows": [{"PRODUCT_NAME": "Pot", "PRICE": 7, "QUANTITY": 1}]}),
    )
    .await
    .unwrap();
    assert_eq!(c.get_deal_rows(&id).await.unwrap().len(), 1);
    assert_eq!(c.get_deal(&id).await.unwrap().opportunity, Some(dec!(7.00)));

    // Manual amount: kept whatever the rows say.
    let upd = c
        .call("crm.deal.update", json!({"id": id, "fields": {"OPPORTUNITY": "99.90", "IS_MANUAL_OPPORTUNITY": "Y", "STAGE_ID": "WON"}}))
        .await
        .unwrap();
    assert_eq!(upd.result, json!(true));
    c.call(
        "crm.deal.productrows.set",
        json!({"id": id, "rows": [{"PRODUCT_NAME": "Pot", "PRICE": 1, "QUANTITY": 1}]}),
    )
    .await
    .unwrap();
    let raw = c
        .call("crm.deal.get", json!({"id": id}))
        .await
        .unwrap()
        .result;
    assert_eq!(raw["OPPORTUNITY"], "99.90");
    assert_eq!(raw["STAGE_ID"], "WON");
    assert_eq!(raw["CLOSED"], "Y");
    assert_eq!(raw["STAGE_SEMANTIC_ID"], "S");
    assert_eq!(emu.handle.deal_rows(id.parse().unwrap()).len(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn method_errors_are_classified() {
    let (emu, c) = common::setup().await;
    let e = c
        .call("crm.deal.get", json!({"id": 999}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    let e = c
        .call("crm.deal.add", json!({"fields": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(
        e.message.contains("Parameter 'fields' must be array."),
        "{}",
        e.message
    );
    let e = c
        .call("crm.deal.add", json!({"fields": {"STAGE_ID": "SHIPPED"}}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid, "{e}");
    let e = c
        .call("crm.deal.list", json!({"filter": "x"}))
        .await
        .unwrap_err();
    assert!(
        e.message.contains("Parameter 'filter' must be array."),
        "{}",
        e.message
    );
    let e = c.call("crm.nothing.here", json!({})).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    assert!(
        e.message.contains("ERROR_METHOD_NOT_FOUND"),
        "{}",
        e.message
    );
    assert_eq!(emu.handle.deal_count(), 0, "refused adds create nothing");
    emu.shutdown().await;
}

#[tokio::test]
async fn list_pages_of_fifty_with_next_and_total() {
    let (emu, c) = common::setup().await;
    let cmds: Vec<(String, &str, Value)> = (0..50)
        .map(|i| {
            (
                format!("d{i}"),
                "crm.deal.add",
                json!({"fields": {"TITLE": format!("Deal {i}")}}),
            )
        })
        .collect();
    for _ in 0..2 {
        let r = c.batch(false, &cmds).await.unwrap();
        assert!(r.errors.is_empty());
    }
    let more: Vec<(String, &str, Value)> = cmds[..20].to_vec();
    c.batch(false, &more).await.unwrap();
    assert_eq!(emu.handle.deal_count(), 120);

    let p1 = c
        .call("crm.deal.list", json!({"select": ["ID"]}))
        .await
        .unwrap();
    assert_eq!((p1.total, p1.next), (Some(120), Some(50)));
    assert_eq!(p1.result.as_array().unwrap().len(), 50);
    let p2 = c
        .call("crm.deal.list", json!({"select": ["ID"], "start": 50}))
        .await
        .unwrap();
    assert_eq!((p2.total, p2.next), (Some(120), Some(100)));
    let p3 = c
        .call("crm.deal.list", json!({"select": ["ID"], "start": 100}))
        .await
        .unwrap();
    assert_eq!((p3.total, p3.next), (Some(120), None));
    assert_eq!(p3.result.as_array().unwrap().len(), 20);
    // start=-1: no count, no next.
    let fast = c
        .call(
            "crm.deal.list",
            json!({"start": -1, "order": {"ID": "ASC"}, "filter": {">ID": 100}}),
        )
        .await
        .unwrap();
    assert_eq!((fast.total, fast.next), (None, None));
    assert_eq!(fast.result.as_array().unwrap().len(), 20);

    let all = c
        .list_all("crm.deal.list", json!({"select": ["ID", "TITLE"]}))
        .await
        .unwrap();
    assert_eq!(all.len(), 120);
    let mut ids: Vec<u64> = all
        .iter()
        .map(|d| d["ID"].as_str().unwrap().parse().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 120);
    assert_eq!(
        all[0].as_object().unwrap().len(),
        2,
        "select limits the fields"
    );
    // 2 batches + 1 + 3 pages + 1 + 3 pages of list_all.
    assert_eq!(emu.handle.counters().get("crm.deal.list").calls, 7);
    emu.shutdown().await;
}

#[tokio::test]
async fn filters_by_origin_and_prefixes() {
    let (emu, c) = common::setup().await;
    for (sys, oid, stage) in [
        ("shop", "1", "NEW"),
        ("shop", "2", "WON"),
        ("erp", "1", "NEW"),
    ] {
        c.call(
            "crm.deal.add",
            json!({"fields": {"ORIGINATOR_ID": sys, "ORIGIN_ID": oid, "STAGE_ID": stage}}),
        )
        .await
        .unwrap();
    }
    let found = c
        .call(
            "crm.deal.list",
            json!({"filter": {"ORIGINATOR_ID": "shop", "ORIGIN_ID": "1"}, "select": ["ID"]}),
        )
        .await
        .unwrap();
    assert_eq!(found.result, json!([{"ID": "1"}]));
    let r = c
        .call("crm.deal.list", json!({"filter": {"!STAGE_ID": "NEW"}}))
        .await
        .unwrap();
    assert_eq!(r.total, Some(1));
    let r = c
        .call(
            "crm.deal.list",
            json!({"filter": {"@ID": [1, 3]}, "order": {"ID": "DESC"}, "select": ["ID"]}),
        )
        .await
        .unwrap();
    assert_eq!(r.result, json!([{"ID": "3"}, {"ID": "1"}]));
    let r = c
        .call(
            "crm.deal.list",
            json!({"filter": {">=DATE_MODIFY": "2000-01-01T00:00:00+00:00", "<ID": 3}}),
        )
        .await
        .unwrap();
    assert_eq!(r.total, Some(2));

    // Form-encoded bodies with PHP bracket keys work too, as the portal accepts them.
    let raw = common::raw()
        .post(format!("{}crm.deal.list", emu.webhook_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("filter%5B%3EID%5D=1&select%5B%5D=ID")
        .send()
        .await
        .unwrap();
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["result"], json!([{"ID": "2"}, {"ID": "3"}]));
    // And GET with a query string.
    let body: Value = common::raw()
        .get(format!("{}crm.deal.get.json?id=2", emu.webhook_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["result"]["ORIGIN_ID"], "2");
    assert!(body["time"]["operating_reset_at"].is_i64());
    emu.shutdown().await;
}

#[tokio::test]
async fn contacts_match_by_any_email_or_phone() {
    let (emu, c) = common::setup().await;
    let id = c
        .call("crm.contact.add", json!({"fields": {"NAME": "Ann", "EMAIL": [
            {"VALUE": "ann@x.org", "VALUE_TYPE": "WORK"}, {"VALUE": "a2@x.org", "VALUE_TYPE": "HOME"}],
            "PHONE": [{"VALUE": "+7 900 111-22-33", "VALUE_TYPE": "WORK"}]}}))
        .await
        .unwrap()
        .result;
    assert_eq!(id, json!(1));
    let got = c
        .call("crm.contact.get", json!({"id": 1}))
        .await
        .unwrap()
        .result;
    assert_eq!(got["EMAIL"][1]["TYPE_ID"], "EMAIL");
    assert_eq!(got["HAS_PHONE"], "Y");
    let r = c
        .call("crm.contact.list", json!({"filter": {"EMAIL": "A2@x.org"}}))
        .await
        .unwrap();
    assert_eq!(r.total, Some(1));
    assert!(
        r.result[0].get("EMAIL").is_none(),
        "multi-fields only when selected"
    );
    let r = c
        .call(
            "crm.contact.list",
            json!({"filter": {"PHONE": "+79001112233"}, "select": ["ID", "PHONE"]}),
        )
        .await
        .unwrap();
    assert_eq!(r.result[0]["PHONE"][0]["VALUE"], "+7 900 111-22-33");
    // Update semantics of multi-fields: by ID change, DELETE removes, no ID adds.
    let phone_id = got["PHONE"][0]["ID"].as_str().unwrap().to_string();
    c.call(
        "crm.contact.update",
        json!({"id": 1, "fields": {"PHONE": [
        {"ID": phone_id, "DELETE": "Y"}, {"VALUE": "555", "VALUE_TYPE": "MOBILE"}]}}),
    )
    .await
    .unwrap();
    let got = c
        .call("crm.contact.get", json!({"id": 1}))
        .await
        .unwrap()
        .result;
    assert_eq!(got["PHONE"].as_array().unwrap().len(), 1);
    assert_eq!(got["PHONE"][0]["VALUE"], "555");
    let e = c
        .call(
            "crm.contact.update",
            json!({"id": 77, "fields": {"NAME": "x"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(emu.handle.contacts().len(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn stages_are_listed() {
    let (emu, c) = common::setup().await;
    let r = c
        .call(
            "crm.status.list",
            json!({"filter": {"ENTITY_ID": "DEAL_STAGE"}}),
        )
        .await
        .unwrap();
    let ids: Vec<&str> = r
        .result
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["STATUS_ID"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "NEW",
            "PREPARATION",
            "PREPAYMENT_INVOICE",
            "EXECUTING",
            "FINAL_INVOICE",
            "WON",
            "LOSE",
            "APOLOGY"
        ]
    );
    let rows: Vec<dealbridge_bitrix24::wire::StatusRecord> =
        serde_json::from_value(r.result).unwrap();
    assert_eq!(rows[5].semantics.as_deref(), Some("S"));
    let r = c
        .call(
            "crm.status.list",
            json!({"filter": {"ENTITY_ID": "DEAL_STAGE_2"}}),
        )
        .await
        .unwrap();
    assert_eq!(r.result[0]["STATUS_ID"], "C2:NEW");
    emu.shutdown().await;
}
