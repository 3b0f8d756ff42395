//! Pipelines, their statuses, and lead custom field definitions.

use crate::emulator::http::{hal, problem, S};
use crate::emulator::request::*;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};

pub(crate) async fn list_pipelines(State(shared): S, headers: HeaderMap) -> Response {
    let b = base(&headers);
    let acc = shared.account();
    let list: Vec<Value> = acc
        .pipelines
        .iter()
        .enumerate()
        .map(|(i, p)| json!({
            "id": p.id, "name": p.name, "sort": i + 1, "is_main": i == 0, "is_unsorted_on": true,
            "is_archive": false, "account_id": acc.account_id,
            "_links": { "self": { "href": format!("{b}/api/v4/leads/pipelines/{}", p.id) } },
            "_embedded": { "statuses": acc.statuses(&b, p) },
        }))
        .collect();
    hal(
        200,
        json!({ "_total_items": list.len(), "_links": { "self": { "href": format!("{b}/api/v4/leads/pipelines") } }, "_embedded": { "pipelines": list } }),
    )
}

pub(crate) async fn list_statuses(
    State(shared): S,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    let b = base(&headers);
    let acc = shared.account();
    let Some(p) = acc.pipelines.iter().find(|p| p.id == id) else {
        return problem(404, "Not Found", "Pipeline not found", Vec::new());
    };
    let list = acc.statuses(&b, p);
    hal(
        200,
        json!({ "_total_items": list.len(), "_links": { "self": { "href": format!("{b}/api/v4/leads/pipelines/{id}/statuses") } }, "_embedded": { "statuses": list } }),
    )
}

pub(crate) async fn lead_fields(
    State(shared): S,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let p = params(&q);
    let (page, limit) = match paging(&p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let b = base(&headers);
    let items: Vec<Value> = shared
        .account()
        .lead_fields
        .iter()
        .map(|f| json!({ "id": f.id, "name": f.name, "code": f.code, "type": f.kind, "entity_type": "leads", "sort": 500, "is_api_only": false }))
        .collect();
    hal_page(
        &b,
        "/api/v4/leads/custom_fields",
        &p,
        "custom_fields",
        items,
        page,
        limit,
    )
}
