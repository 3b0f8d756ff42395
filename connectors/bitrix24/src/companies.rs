//! Companies: find-or-create by title (and INN through requisites), and the company link of
//! synced deals.
//!
//! The deal flow spends no extra request on companies: `find_contact` adds a
//! `crm.company.list` (exact `TITLE`) to its lookup batch and remembers the answer;
//! `create_contact` links a found company; `create_deal` / `update_deal` put `COMPANY_ID` in the
//! deal write, and when the company was not found, a `crm.company.add` goes first in the same
//! `batch` and the deal refers to it as `$result[company]`. Only when no lookup happened (a
//! contact without e-mail and phone is never looked up… unless it has a company; or the engine
//! skipped `find_contact`) does the deal write look the company up itself first.
//!
//! Titles are matched as the portal's MySQL collation does: trimmed, case-insensitive. An answer
//! is remembered for [`COMPANY_TTL`] (settable with
//! [`Bitrix24Client::with_company_ttl`]): a buyer's second order within it costs no lookup, and a
//! company deleted or renamed in the CRM is looked up afresh once the entry is older, instead of
//! its old id being written into deals for as long as the process runs (UNCONFIRMED what a portal
//! does with a `COMPANY_ID` that no longer exists; the emulator stores it).

use crate::client::Bitrix24Client;
use crate::wire::value_text;
use crate::SYSTEM;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::Contact;
use serde_json::{json, Value};
use std::collections::HashMap;

use std::time::{Duration, Instant};

/// `ENTITY_TYPE_ID` of companies (requisites belong to an entity by type and id).
const COMPANY_ENTITY_TYPE: u32 = 4;

/// Most titles remembered; the cache starts over beyond this (a catalog of buyers, not a leak).
const CACHE_LIMIT: usize = 10_000;

/// How long a company lookup is trusted.
pub const COMPANY_TTL: Duration = Duration::from_secs(15 * 60);

/// Company title (normalised) → `Some(id)` when found, `None` when looked up and missing, with
/// the time of the answer; shared by a client's clones.
#[derive(Debug)]
pub(crate) struct CompanyCache {
    entries: HashMap<String, (Option<String>, Instant)>,
    ttl: Duration,
}

impl Default for CompanyCache {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            ttl: COMPANY_TTL,
        }
    }
}

impl CompanyCache {
    /// The answer for `title` if it is younger than the TTL; an older one is dropped.
    fn get(&mut self, title: &str) -> Option<Option<String>> {
        let k = key(title);
        match self.entries.get(&k) {
            Some((id, at)) if at.elapsed() < self.ttl => Some(id.clone()),
            Some(_) => {
                self.entries.remove(&k);
                None
            }
            None => None,
        }
    }

    fn insert(&mut self, title: &str, id: Option<String>) {
        if self.entries.len() >= CACHE_LIMIT {
            self.entries.clear();
        }
        self.entries.insert(key(title), (id, Instant::now()));
    }

    fn remove(&mut self, title: &str) {
        self.entries.remove(&key(title));
    }
}

/// What the deal write should do about the company.
pub(crate) enum CompanyLink {
    /// Nothing (no company on the contact).
    None,
    /// Set `COMPANY_ID` to this id.
    Known(String),
    /// Add the company in the deal's batch (key `company`) and refer to it.
    Create(String),
}

/// The cache key of a title.
fn key(title: &str) -> String {
    title.trim().to_lowercase()
}

/// The contact's company title, if it names one.
pub(crate) fn company_of(contact: Option<&Contact>) -> Option<&str> {
    contact?
        .company
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
}

/// `crm.company.list` by exact title, lowest id first.
pub(crate) fn title_lookup(title: &str) -> Value {
    json!({
        "filter": { "=TITLE": title.trim() },
        "select": ["ID"],
        "order": { "ID": "ASC" },
    })
}

/// `crm.company.add` params for a new company.
pub(crate) fn company_add(title: &str) -> Value {
    json!({
        "fields": { "TITLE": title.trim() },
        "params": { "REGISTER_SONET_EVENT": "N" },
    })
}

/// The lowest numeric value of `field` among list rows.
fn lowest(rows: &Value, field: &str) -> Option<String> {
    rows.as_array()?
        .iter()
        .filter_map(|r| r.get(field).and_then(value_text))
        .filter_map(|id| id.parse::<u64>().ok())
        .min()
        .map(|id| id.to_string())
}

fn new_id(method: &str, v: &Value) -> Result<String, ConnectorError> {
    value_text(v)
        .filter(|t| t.parse::<u64>().is_ok_and(|n| n > 0))
        .ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::Protocol,
                SYSTEM,
                format!("{method}: expected a new id, got {v}"),
            )
        })
}

impl Bitrix24Client {
    fn company_cache(&self) -> std::sync::MutexGuard<'_, CompanyCache> {
        self.companies.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Trusts a company lookup for `ttl` instead of [`COMPANY_TTL`] (for this client and its
    /// clones).
    pub fn with_company_ttl(self, ttl: Duration) -> Self {
        self.company_cache().ttl = ttl;
        self
    }

    /// Remembers what a lookup of `title` found (`None`: no such company).
    pub(crate) fn remember_company(&self, title: &str, id: Option<String>) {
        self.company_cache().insert(title, id);
    }

    /// Reads a lookup answer (`crm.company.list` rows) into the cache.
    pub(crate) fn remember_lookup(&self, title: &str, rows: &Value) {
        self.remember_company(title, lowest(rows, "ID"));
    }

    /// The cached id of `title`, if it was found before.
    pub(crate) fn cached_company(&self, title: &str) -> Option<String> {
        self.company_cache().get(title).flatten()
    }

    /// Whether `title` still needs a lookup (not in the cache at all).
    pub(crate) fn company_unknown(&self, title: &str) -> bool {
        self.company_cache().get(title).is_none()
    }

    /// Decides the company part of a deal write for `contact`; may look the company up (one
    /// request) when no lookup happened before.
    pub(crate) async fn company_link(
        &self,
        contact: Option<&Contact>,
    ) -> Result<CompanyLink, ConnectorError> {
        let Some(title) = company_of(contact) else {
            return Ok(CompanyLink::None);
        };
        if self.company_unknown(title) {
            let r = self.call("crm.company.list", title_lookup(title)).await?;
            self.remember_lookup(title, &r.result);
        }
        let mut cache = self.company_cache();
        match cache.get(title).flatten() {
            Some(id) => Ok(CompanyLink::Known(id)),
            None => {
                // Taken: a concurrent write of the same company looks it up afresh instead
                // of adding it a second time from this stale "missing".
                cache.remove(title);
                Ok(CompanyLink::Create(title.to_string()))
            }
        }
    }

    /// Finds a company by INN (a requisite's `RQ_INN`, when `inn` is given) or else by exact
    /// title, and creates it when neither matches. Returns `(id, created)`. Lookups go in one
    /// `batch`; creating costs one more request (the company, plus its INN requisite in the
    /// same `batch` when [`crate::Bitrix24Settings::requisite_preset_id`] is set).
    pub async fn find_or_create_company(
        &self,
        name: &str,
        inn: Option<&str>,
    ) -> Result<(String, bool), ConnectorError> {
        let title = name.trim();
        if title.is_empty() {
            return Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                "company: an empty name cannot be found or created in Bitrix24; give the buyer's company name",
            ));
        }
        let inn = inn.map(str::trim).filter(|i| !i.is_empty());
        let mut cmds = vec![("title", "crm.company.list", title_lookup(title))];
        if let Some(inn) = inn {
            cmds.push((
                "inn",
                "crm.requisite.list",
                json!({
                    "filter": { "ENTITY_TYPE_ID": COMPANY_ENTITY_TYPE, "RQ_INN": inn },
                    "select": ["ID", "ENTITY_ID"],
                    "order": { "ID": "ASC" },
                }),
            ));
        }
        let answer = self.batch(false, &cmds).await?;
        if inn.is_some() {
            if let Some(id) = lowest(answer.get("inn")?, "ENTITY_ID") {
                return Ok((id, false));
            }
        }
        let by_title = answer.get("title")?;
        self.remember_lookup(title, by_title);
        if let Some(id) = lowest(by_title, "ID") {
            return Ok((id, false));
        }
        let id = match (inn, self.settings().requisite_preset_id) {
            (Some(inn), Some(preset)) => {
                let cmds = [
                    ("company", "crm.company.add", company_add(title)),
                    (
                        "requisite",
                        "crm.requisite.add",
                        json!({ "fields": {
                            "ENTITY_TYPE_ID": COMPANY_ENTITY_TYPE,
                            "ENTITY_ID": "$result[company]",
                            "PRESET_ID": preset,
                            "NAME": title,
                            "RQ_INN": inn,
                        }}),
                    ),
                ];
                let answer = self.batch(true, &cmds).await?;
                let id = new_id("crm.company.add", answer.get("company")?)?;
                if let Err(mut e) = answer.get("requisite") {
                    e.message = format!(
                        "company {id} was created but its INN requisite was not (check systems.{}.requisite_preset_id): {}",
                        self.config_name(),
                        e.message
                    );
                    self.remember_company(title, Some(id));
                    return Err(e);
                }
                id
            }
            _ => {
                let r = self.call("crm.company.add", company_add(title)).await?;
                new_id("crm.company.add", &r.result)?
            }
        };
        self.remember_company(title, Some(id.clone()));
        Ok((id, true))
    }
}
