//! Deal pipelines and stages (`crm.category.list`, `crm.status.list`) for `check --remote`.

use crate::common;

use dealbridge_bitrix24::{unknown_stages, Stage};
use serde_json::Value;

#[tokio::test]
async fn default_pipeline_stages_with_semantics() {
    let (emu, c) = common::setup().await;
    let stages = c.deal_stages(0).await.unwrap();
    let ids: Vec<&str> = stages.iter().map(|s| s.id.as_str()).collect();
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
    let sem: Vec<&str> = stages
        .iter()
        .map(|s| s.semantic.as_deref().unwrap())
        .collect();
    assert_eq!(sem, ["P", "P", "P", "P", "P", "S", "F", "F"]);
    assert!(stages.iter().all(|s| s.category_id == 0));
    assert_eq!(stages[0].name, "Новая");
    assert_eq!(emu.handle.counters().get("crm.status.list").calls, 1);
    assert_eq!(emu.handle.http_requests(), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn other_pipeline_stage_ids_carry_the_category() {
    let (emu, c) = common::setup().await;
    emu.handle.add_deal_category(3, "Опт", 200);
    let stages = c.deal_stages(3).await.unwrap();
    assert_eq!(stages[0].id, "C3:NEW");
    assert_eq!(stages[5].id, "C3:WON");
    assert!(stages.iter().all(|s| s.category_id == 3));
    emu.shutdown().await;
}

#[tokio::test]
async fn categories_and_stages_in_one_batch() {
    let (emu, c) = common::setup().await;
    emu.handle.add_deal_category(3, "Опт", 200);
    let p = c.deal_pipelines(&[0, 3, 0]).await.unwrap();
    // One HTTP request: a batch of 1 category list + 2 status lists.
    assert_eq!(emu.handle.http_requests(), 1);
    let counters = emu.handle.counters();
    assert_eq!(counters.get("batch").calls, 1);
    assert_eq!(counters.get("crm.category.list").calls, 1);
    assert_eq!(counters.get("crm.status.list").calls, 2);
    let ids: Vec<u32> = p.categories.iter().map(|c| c.id).collect();
    // Sorted like the vendor example: sort 200 first, the default (300) last.
    assert_eq!(ids, [3, 0]);
    assert!(p.categories[1].is_default);
    assert_eq!(p.categories[1].name, "Общая");
    assert_eq!(p.stages.len(), 16);
    assert_eq!(p.stages[8].id, "C3:NEW");
    let unknown = unknown_stages(&["NEW", "C3:WON", "C4:NEW", "SHIPPED"], &p.stages);
    assert_eq!(unknown, ["C4:NEW", "SHIPPED"]);
    emu.shutdown().await;
}

#[tokio::test]
async fn category_list_alone_and_errors() {
    let (emu, c) = common::setup().await;
    let cats = c.deal_categories().await.unwrap();
    assert_eq!(cats.len(), 1);
    assert_eq!(cats[0].id, 0);
    // Another entity type: NOT_FOUND like the vendor example.
    let e = c
        .call(
            "crm.category.list",
            serde_json::json!({"entityTypeId": 1234}),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("Смарт-процесс"), "{}", e.message);
    emu.shutdown().await;
}

/// The emulator's `crm.category.list` answer has the fixture's field names and JSON types.
#[tokio::test]
async fn category_list_matches_vendor_shape() {
    let (emu, c) = common::setup().await;
    emu.handle.add_deal_category(9, "Воронка", 200);
    let ours = c
        .call("crm.category.list", serde_json::json!({"entityTypeId": 2}))
        .await
        .unwrap();
    let fixture = common::fixture("crm-category-list__01.json");
    let theirs = &fixture["result"]["categories"];
    let pick = |list: &Value, default: bool| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| (c["isDefault"] == "Y") == default)
            .unwrap()
            .clone()
    };
    for default in [true, false] {
        common::assert_same_shape(
            &pick(&ours.result["categories"], default),
            &pick(theirs, default),
        );
    }
    assert!(ours.total.is_some());
    emu.shutdown().await;
}

#[test]
fn stage_helper_is_exported() {
    let s = Stage {
        id: "NEW".into(),
        name: "Новая".into(),
        category_id: 0,
        semantic: Some("P".into()),
    };
    assert!(unknown_stages(&["NEW"], &[s]).is_empty());
}
