//! The record a job is about, for the Errors page: the store's order (its number, and a link
//! to it in the store's admin) and the deal it became (a link to it in the CRM), where the
//! vendors have such pages ([`Connector::admin_url`](dealbridge_sdk::connector::Connector::admin_url)).

use crate::config::Config;
use dealbridge_sdk::connector::RecordKind;
use dealbridge_store::{EntityKind, Job, Store, StoreError};

/// A record in one system, with its admin page when the vendor has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordLink {
    /// The system's name in the config.
    pub system: String,
    /// How people name it: `order #1021`, `deal 42`.
    pub label: String,
    /// Its page in the system's admin.
    pub url: Option<String>,
}

/// The source record of a job and the deals bound to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobRecord {
    /// The canonical entity (`shop:1021`), when the payload names one.
    pub entity: Option<String>,
    /// The order in the store.
    pub order: Option<RecordLink>,
    /// Its deals in the CRMs (from the bindings: only once a deal was written).
    pub deals: Vec<RecordLink>,
}

/// The store system, the order id and its number, as the job's payload names them: a store →
/// CRM job carries the order; a CRM → store job its flow and the order id; a payments job the
/// entity.
fn source_of(job: &Job, config: &Config) -> Option<(String, String, Option<String>)> {
    let p = &job.payload;
    if let (Some(system), Some(id)) = (
        p["order"]["source"]["system"].as_str(),
        p["order"]["source"]["id"].as_str(),
    ) {
        let number = p["order"]["number"].as_str().map(str::to_string);
        return Some((system.to_string(), id.to_string(), number));
    }
    if let Some((system, id)) = p["entity"].as_str().and_then(|e| e.split_once(':')) {
        return Some((system.to_string(), id.to_string(), None));
    }
    let flow = config
        .flows
        .iter()
        .find(|f| Some(f.name.as_str()) == p["flow"].as_str())?;
    Some((flow.from.clone(), p["order_id"].as_str()?.to_string(), None))
}

/// The admin page of `id` of `kind` in `system`, if its connector has one.
fn admin_url(config: &Config, system: &str, kind: RecordKind, id: &str) -> Option<String> {
    let s = config.systems.get(system)?;
    s.kind().connector().admin_url(s.settings(), kind, id)
}

/// The record `job` is about, with links; the deals come from the bindings.
pub async fn record_of(job: &Job, config: &Config, store: &Store) -> Result<JobRecord, StoreError> {
    let Some((system, id, number)) = source_of(job, config) else {
        return Ok(JobRecord::default());
    };
    let entity = format!("{system}:{id}");
    let label = match &number {
        Some(n) if n != &id => format!("order #{n} (id {id})"),
        Some(n) => format!("order #{n}"),
        None => format!("order {id}"),
    };
    let order = RecordLink {
        url: admin_url(config, &system, RecordKind::Order, &id),
        system,
        label,
    };
    let deals = store
        .bindings_for(EntityKind::Deal, &entity)
        .await?
        .into_iter()
        .map(|b| RecordLink {
            url: admin_url(config, &b.system, RecordKind::Deal, &b.external_id),
            label: format!("deal {}", b.external_id),
            system: b.system,
        })
        .collect();
    Ok(JobRecord {
        entity: Some(entity),
        order: Some(order),
        deals,
    })
}
