//! `crm.category.list`: the deal pipelines (`entityTypeId` 2).
//!
//! Shape as the vendor example (`crm-category-list__01.json`): `{"categories": [{id, name,
//! sort, entityTypeId, isDefault, originId, originatorId}]}` with `total`; the default pipeline
//! has no `originId`/`originatorId`. Other entity types answer like a missing smart process
//! (`NOT_FOUND`, `crm-category-list__02.json`).

use super::{ApiFailure, Ctx, MethodOk, Params};
use crate::wire::value_text;
use serde_json::{json, Value};

/// `entityTypeId` of deals.
const DEAL: u64 = 2;

pub(super) fn list(ctx: &mut Ctx<'_>, params: &Params) -> Result<MethodOk, ApiFailure> {
    let entity = params
        .get("entityTypeId")
        .and_then(value_text)
        .and_then(|t| t.trim().parse::<u64>().ok());
    if entity != Some(DEAL) {
        // UNCONFIRMED: HTTP status of this error (400 like other CRM errors).
        return Err(ApiFailure::coded(
            400,
            "NOT_FOUND",
            "Смарт-процесс не найден",
        ));
    }
    let mut rows: Vec<(i64, u64, Value)> = ctx
        .portal
        .categories
        .iter()
        .map(|(id, (name, sort))| {
            let row = if *id == 0 {
                json!({ "id": 0, "name": name, "sort": sort, "entityTypeId": DEAL, "isDefault": "Y" })
            } else {
                json!({
                    "id": id, "name": name, "sort": sort, "entityTypeId": DEAL,
                    "isDefault": "N", "originId": "", "originatorId": "",
                })
            };
            (*sort, *id, row)
        })
        .collect();
    // By sort, then id: the vendor example lists the default pipeline (sort 300) last.
    rows.sort_by_key(|(sort, id, _)| (*sort, *id));
    let rows: Vec<Value> = rows.into_iter().map(|(_, _, r)| r).collect();
    let page = super::paginate(rows, params);
    Ok(MethodOk {
        result: json!({ "categories": page.result }),
        total: page.total,
        next: page.next,
    })
}
