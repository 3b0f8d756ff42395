//! The vendor examples parse through the wire types, and the emulator answers the same
//! requests with the same fields and types.

use crate::common;

use dealbridge_amocrm::wire::{Collection, Lead, Pipeline, Saved, Status};
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect(&path)
}

fn embedded<T: serde::de::DeserializeOwned>(c: &Collection, key: &str) -> Vec<T> {
    c.embedded[key]
        .iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect()
}

#[test]
fn fixtures_parse() {
    let list: Collection =
        serde_json::from_value(fixture("lead__sampleGetLeadsResponseBody.json")).unwrap();
    assert_eq!(list.page, Some(2));
    assert!(list.links.next.as_ref().unwrap().href.ends_with("page=3"));
    let leads: Vec<Lead> = embedded(&list, "leads");
    assert_eq!(leads[0].price, Some(46333));
    assert_eq!((leads[0].status_id, leads[0].pipeline_id), (142, 1300));

    let one: Lead =
        serde_json::from_value(fixture("lead__sampleGetLeadByIDResponseBody.json")).unwrap();
    assert_eq!(one.embedded.catalog_elements[0].id, 525439);
    assert_eq!(
        one.embedded.catalog_elements[0].metadata.as_ref().unwrap()["quantity"],
        1
    );
    assert_eq!(one.embedded.tags[0].name, "тест");

    let added: Collection =
        serde_json::from_value(fixture("lead__sampleAddLeadResponseBody.json")).unwrap();
    let saved: Vec<Saved> = embedded(&added, "leads");
    assert_eq!(saved[1].id, 10185153);
    assert_eq!(saved[1].request_id.as_deref(), Some("1"));

    let pipes: Collection =
        serde_json::from_value(fixture("pipeline__sampleGetPipelinesResponseBody.json")).unwrap();
    let pipes: Vec<Pipeline> = embedded(&pipes, "pipelines");
    assert!(pipes[0].embedded.statuses.iter().any(|s| s.id == 142));
    // The docs' "statuses" example is a pipelines list with the statuses embedded.
    let more: Collection = serde_json::from_value(fixture(
        "pipeline_status__sampleGetPipelineStatusesResponseBody.json",
    ))
    .unwrap();
    let more: Vec<Pipeline> = embedded(&more, "pipelines");
    let statuses: Vec<Status> = more[0].embedded.statuses.clone();
    assert!(statuses.iter().any(|s| s.id == 143));
}

/// Every field the example has, the emulator has too, with the same JSON type (null in the
/// example matches anything).
fn same_shape(example: &Value, ours: &Value, at: &str) {
    match (example, ours) {
        (Value::Object(e), Value::Object(o)) => {
            for (k, v) in e {
                let got = o
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}.{k} missing in {ours}"));
                same_shape(v, got, &format!("{at}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(o)) => {
            if let (Some(e0), Some(o0)) = (e.first(), o.first()) {
                same_shape(e0, o0, &format!("{at}[0]"));
            }
        }
        (Value::Null, _) | (_, Value::Null) => {}
        (e, o) => {
            let t = |v: &Value| std::mem::discriminant(v);
            assert_eq!(t(e), t(o), "{at}: example {e}, emulator {o}");
        }
    }
}

#[tokio::test]
async fn emulator_answers_have_the_examples_fields() {
    let (emu, c) = common::setup().await;
    let saved = c
        .add_leads(&[json!({ "name": "x", "price": 1 }), json!({ "name": "y" })])
        .await
        .unwrap();
    let http = common::raw();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{}{path}", emu.base_url);
        async move {
            http.get(url)
                .bearer_auth("test")
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let mut list = get("/api/v4/leads?limit=1&page=1".into()).await;
    let mut example = fixture("lead__sampleGetLeadsResponseBody.json");
    // `prev`/`first` exist only past page 1.
    example["_links"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k == "self" || k == "next");
    same_shape(&example, &list, "leads");
    assert!(list["_links"]["next"]["href"]
        .as_str()
        .unwrap()
        .contains("page=2"));
    list = get("/api/v4/leads?limit=1&page=2".into()).await;
    assert!(list["_links"]["prev"].is_object());

    let mut one_example = fixture("lead__sampleGetLeadByIDResponseBody.json");
    // loss_reason is asked with `with=loss_reason`, which the emulator does not serve.
    one_example["_embedded"]
        .as_object_mut()
        .unwrap()
        .remove("loss_reason");
    one_example["_embedded"]
        .as_object_mut()
        .unwrap()
        .remove("companies");
    let one = get(format!(
        "/api/v4/leads/{}?with=contacts,catalog_elements",
        saved[0].id
    ))
    .await;
    same_shape(&one_example, &one, "lead");

    let added = http
        .post(format!("{}/api/v4/leads", emu.base_url))
        .bearer_auth("test")
        .json(&json!([{ "name": "z" }]))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    same_shape(
        &fixture("lead__sampleAddLeadResponseBody.json"),
        &added,
        "add",
    );

    let pipes = get("/api/v4/leads/pipelines".into()).await;
    same_shape(
        &fixture("pipeline__sampleGetPipelinesResponseBody.json"),
        &pipes,
        "pipelines",
    );
    let statuses = get("/api/v4/leads/pipelines/3177727/statuses".into()).await;
    let example = fixture("pipeline_status__sampleGetPipelineStatusesResponseBody.json");
    same_shape(
        &example["_embedded"]["pipelines"][0]["_embedded"]["statuses"][0],
        &statuses["_embedded"]["statuses"][0],
        "statuses",
    );
    emu.shutdown().await;
}
