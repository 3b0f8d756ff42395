//! Deal pipelines and their stages, for checking a stage mapping against the portal
//! (`dealbridge check --remote`).
//!
//! Stages come from `crm.status.list` filtered by `ENTITY_ID`: `DEAL_STAGE` for the default
//! pipeline (category 0), `DEAL_STAGE_<n>` for pipeline `n`, whose stage ids read `C<n>:NAME`.
//! Pipelines come from `crm.category.list` with `entityTypeId = 2`. [`Bitrix24Client::deal_pipelines`]
//! reads both in one `batch` request.

use crate::client::{Bitrix24Client, MAX_BATCH};
use crate::wire::{value_text, StatusRecord};
use crate::SYSTEM;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use serde_json::{json, Value};

/// One stage of a deal pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The `STAGE_ID` a deal carries: `NEW` in pipeline 0, `C1:NEW` in pipeline 1.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The pipeline (`CATEGORY_ID`; 0 is the default one).
    pub category_id: u32,
    /// `P` (in progress), `S` (won) or `F` (lost). The portal sends `SEMANTICS` null for
    /// in-progress stages; that is reported as `P`. `None` only for a value we do not know.
    pub semantic: Option<String>,
}

/// One deal pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealCategory {
    /// Pipeline id (`CATEGORY_ID` of its deals).
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Whether this is the default pipeline (id 0).
    pub is_default: bool,
    /// Sort order in the UI.
    pub sort: i64,
}

/// Pipelines and the stages of the pipelines asked for, read in one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DealPipelines {
    /// Every deal pipeline of the portal (first page of 50: portals rarely have more).
    pub categories: Vec<DealCategory>,
    /// The stages of the requested pipelines, in pipeline order, each by `SORT`.
    pub stages: Vec<Stage>,
}

/// The `ENTITY_ID` of pipeline `category_id`'s stages.
pub fn stage_entity_id(category_id: u32) -> String {
    if category_id == 0 {
        "DEAL_STAGE".to_string()
    } else {
        format!("DEAL_STAGE_{category_id}")
    }
}

/// The mapped stage ids that are not stages of the portal, in the order given, each once.
/// Comparison is exact (stage ids are upper-case codes; `C1:NEW` is not `NEW`).
pub fn unknown_stages(mapped: &[&str], known: &[Stage]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in mapped {
        let m = m.trim();
        if !known.iter().any(|s| s.id == m) && !out.iter().any(|o| o == m) {
            out.push(m.to_string());
        }
    }
    out
}

fn protocol(method: &str, e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Protocol,
        SYSTEM,
        format!("{method}: unexpected answer shape: {e}"),
    )
}

fn stages_params(category_id: u32) -> Value {
    json!({
        "filter": { "ENTITY_ID": stage_entity_id(category_id) },
        "order": { "SORT": "ASC" },
    })
}

fn parse_stages(category_id: u32, rows: &Value) -> Result<Vec<Stage>, ConnectorError> {
    let rows: Vec<StatusRecord> =
        serde_json::from_value(rows.clone()).map_err(|e| protocol("crm.status.list", e))?;
    Ok(rows
        .into_iter()
        .map(|r| Stage {
            semantic: match r.semantics.as_deref().map(str::trim) {
                None | Some("") | Some("P") => Some("P".to_string()),
                Some(s @ ("S" | "F")) => Some(s.to_string()),
                Some(_) => None,
            },
            id: r.status_id,
            name: r.name,
            category_id,
        })
        .collect())
}

fn parse_categories(result: &Value) -> Result<Vec<DealCategory>, ConnectorError> {
    let list = result
        .get("categories")
        .and_then(Value::as_array)
        .ok_or_else(|| protocol("crm.category.list", "no `categories` list"))?;
    list.iter()
        .map(|c| {
            let id = c
                .get("id")
                .and_then(value_text)
                .and_then(|t| t.parse::<u32>().ok())
                .ok_or_else(|| protocol("crm.category.list", format!("bad id in {c}")))?;
            Ok(DealCategory {
                id,
                name: c.get("name").and_then(value_text).unwrap_or_default(),
                is_default: c.get("isDefault").and_then(Value::as_str) == Some("Y") || id == 0,
                sort: c
                    .get("sort")
                    .and_then(value_text)
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0),
            })
        })
        .collect()
}

impl Bitrix24Client {
    /// The stages of deal pipeline `category_id` (one `crm.status.list` request). An unknown
    /// pipeline gives an empty list.
    pub async fn deal_stages(&self, category_id: u32) -> Result<Vec<Stage>, ConnectorError> {
        let r = self
            .call("crm.status.list", stages_params(category_id))
            .await?;
        parse_stages(category_id, &r.result)
    }

    /// Every deal pipeline (`crm.category.list`, `entityTypeId = 2`), following pages.
    pub async fn deal_categories(&self) -> Result<Vec<DealCategory>, ConnectorError> {
        let mut out = Vec::new();
        let mut start = 0u64;
        loop {
            let r = self
                .call(
                    "crm.category.list",
                    json!({ "entityTypeId": 2, "start": start }),
                )
                .await?;
            out.extend(parse_categories(&r.result)?);
            match r.next {
                Some(n) if n > start => start = n,
                _ => return Ok(out),
            }
        }
    }

    /// The pipelines and the stages of `category_ids` in ONE `batch` request (up to 49
    /// pipelines; more are refused as [`ErrorKind::Invalid`]). Stages of a pipeline that does
    /// not exist come back empty; compare with [`DealPipelines::categories`] to tell.
    pub async fn deal_pipelines(
        &self,
        category_ids: &[u32],
    ) -> Result<DealPipelines, ConnectorError> {
        let mut ids: Vec<u32> = Vec::new();
        for id in category_ids {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        if ids.len() >= MAX_BATCH {
            return Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!(
                    "deal stages: {} pipelines asked for at once, at most {} fit one request",
                    ids.len(),
                    MAX_BATCH - 1
                ),
            ));
        }
        let mut cmds = vec![(
            "categories".to_string(),
            "crm.category.list",
            json!({ "entityTypeId": 2 }),
        )];
        for id in &ids {
            cmds.push((
                format!("stages_{id}"),
                "crm.status.list",
                stages_params(*id),
            ));
        }
        let answer = self.batch(false, &cmds).await?;
        let categories = parse_categories(answer.get("categories")?)?;
        let mut stages = Vec::new();
        for id in &ids {
            stages.extend(parse_stages(*id, answer.get(&format!("stages_{id}"))?)?);
        }
        Ok(DealPipelines { categories, stages })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(id: &str) -> Stage {
        Stage {
            id: id.into(),
            name: id.into(),
            category_id: 0,
            semantic: Some("P".into()),
        }
    }

    #[test]
    fn unknown_stages_are_listed_once_in_order() {
        let known = [stage("NEW"), stage("WON"), stage("C1:NEW")];
        assert_eq!(
            unknown_stages(&["NEW", "SHIPPED", "C2:NEW", "SHIPPED", "WON"], &known),
            ["SHIPPED", "C2:NEW"]
        );
        assert!(unknown_stages(&["C1:NEW"], &known).is_empty());
    }

    #[test]
    fn entity_ids() {
        assert_eq!(stage_entity_id(0), "DEAL_STAGE");
        assert_eq!(stage_entity_id(7), "DEAL_STAGE_7");
    }
}
