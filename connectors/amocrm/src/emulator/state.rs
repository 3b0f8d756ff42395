//! The emulated account: pipelines, custom fields, leads, contacts, catalog elements and
//! links, with amoCRM's validation rules and answer shapes.

use crate::wire::{EntryErrors, FieldError};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A pipeline and its statuses (`(id, name)`); 142 and 143 are added to every pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineDef {
    /// Pipeline id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Statuses other than 142/143, in order; the first is the "unsorted" one.
    pub statuses: Vec<(u64, String)>,
}

/// The fixture's pipeline: 3177727 with its statuses (142/143 added automatically).
pub fn default_pipelines() -> Vec<PipelineDef> {
    vec![PipelineDef {
        id: 3177727,
        name: "Воронка".into(),
        statuses: vec![
            (32392156, "Неразобранное".into()),
            (32392159, "Первичный контакт".into()),
            (32392165, "Принимают решение".into()),
        ],
    }]
}

/// A custom field definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// Field id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Code.
    pub code: Option<String>,
    /// Type (`text`, `multitext`, `numeric`).
    pub kind: String,
}

/// Lead fields: `DEALBRIDGE_ORIGIN` (900001) and `DEALBRIDGE_AMOUNT` (900002), both text, and
/// `DEALBRIDGE_PAID` (900003), numeric.
pub fn default_lead_fields() -> Vec<FieldDef> {
    vec![
        FieldDef {
            id: 900001,
            name: "dealbridge origin".into(),
            code: Some("DEALBRIDGE_ORIGIN".into()),
            kind: "text".into(),
        },
        FieldDef {
            id: 900002,
            name: "dealbridge exact amount".into(),
            code: Some("DEALBRIDGE_AMOUNT".into()),
            kind: "text".into(),
        },
        FieldDef {
            id: 900003,
            name: "dealbridge paid".into(),
            code: Some("DEALBRIDGE_PAID".into()),
            kind: "numeric".into(),
        },
    ]
}

/// Fields of the products catalog: `SKU` (700001, text), `PRICE` (700002, price),
/// `DESCRIPTION` (700003, textarea) as amoCRM creates them (codes UNCONFIRMED), and the text
/// field `DEALBRIDGE_ORIGIN` (700004) an integrator adds for the origin key.
pub fn default_catalog_fields() -> Vec<FieldDef> {
    let f = |id, name: &str, code: &str, kind: &str| FieldDef {
        id,
        name: name.into(),
        code: Some(code.into()),
        kind: kind.into(),
    };
    vec![
        f(700001, "Артикул", "SKU", "text"),
        f(700002, "Цена", "PRICE", "price"),
        f(700003, "Описание", "DESCRIPTION", "textarea"),
        f(700004, "dealbridge origin", "DEALBRIDGE_ORIGIN", "text"),
    ]
}

fn contact_fields() -> Vec<FieldDef> {
    vec![
        FieldDef {
            id: 800001,
            name: "Телефон".into(),
            code: Some("PHONE".into()),
            kind: "multitext".into(),
        },
        FieldDef {
            id: 800002,
            name: "Email".into(),
            code: Some("EMAIL".into()),
            kind: "multitext".into(),
        },
    ]
}

/// Multitext enum codes accepted on e-mail/phone values (UNCONFIRMED list).
const ENUM_CODES: &[&str] = &["WORK", "WORKDD", "MOB", "FAX", "HOME", "PRIV", "OTHER"];

/// The products catalog every emulated account has.
pub const PRODUCTS_CATALOG: u64 = 4521;

/// One linked catalog element.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ElementLink {
    pub element: u64,
    pub catalog: u64,
    pub quantity: Value,
}

/// A stored lead: its plain fields plus links.
#[derive(Debug, Clone, Default)]
pub(crate) struct LeadRow {
    pub fields: Map<String, Value>,
    pub contacts: Vec<u64>,
    pub elements: Vec<ElementLink>,
}

/// A validated lead entry: fields to store, and contacts to link when `_embedded.contacts`
/// was given.
pub(crate) type CheckedLead = (Map<String, Value>, Option<Vec<u64>>);

/// The account.
#[derive(Debug)]
pub(crate) struct Account {
    pub account_id: u64,
    pub pipelines: Vec<PipelineDef>,
    pub lead_fields: Vec<FieldDef>,
    pub contact_fields: Vec<FieldDef>,
    pub leads: BTreeMap<u64, LeadRow>,
    pub contacts: BTreeMap<u64, Map<String, Value>>,
    pub elements: BTreeMap<u64, Map<String, Value>>,
    pub catalog_fields: Vec<FieldDef>,
    /// Notes by lead id, oldest first.
    pub notes: BTreeMap<u64, Vec<Map<String, Value>>>,
    /// Lead events waiting for webhook delivery: `(action, lead fields)`.
    pub outbox: Vec<(&'static str, Map<String, Value>)>,
    next_id: u64,
}

/// A validation failure of one entry.
pub(crate) fn field_error(code: &str, path: &str, detail: &str) -> FieldError {
    FieldError {
        code: code.into(),
        path: path.into(),
        detail: detail.into(),
    }
}

pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Account {
    pub(crate) fn new(
        account_id: u64,
        pipelines: Vec<PipelineDef>,
        lead_fields: Vec<FieldDef>,
    ) -> Self {
        Account {
            account_id,
            pipelines,
            lead_fields,
            contact_fields: contact_fields(),
            leads: BTreeMap::new(),
            contacts: BTreeMap::new(),
            elements: BTreeMap::new(),
            catalog_fields: default_catalog_fields(),
            notes: BTreeMap::new(),
            outbox: Vec::new(),
            next_id: 10_000_001,
        }
    }

    pub(crate) fn id(&mut self) -> u64 {
        self.next_id += 2;
        self.next_id
    }

    /// Every status of a pipeline, 142/143 included, with `_links` on `base`.
    pub(crate) fn statuses(&self, base: &str, p: &PipelineDef) -> Vec<Value> {
        let mut out: Vec<Value> = p
            .statuses
            .iter()
            .enumerate()
            .map(|(i, (id, name))| {
                json!({
                    "id": id, "name": name, "sort": (i as i64 + 1) * 10, "is_editable": i > 0,
                    "pipeline_id": p.id, "color": "#99ccff", "type": i64::from(i == 0),
                    "account_id": self.account_id,
                })
            })
            .collect();
        for (id, name, sort) in [
            (142, "Успешно реализовано", 10000),
            (143, "Закрыто и не реализовано", 11000),
        ] {
            out.push(json!({
                "id": id, "name": name, "sort": sort, "is_editable": false, "pipeline_id": p.id,
                "color": if id == 142 { "#c1e0ff" } else { "#e6e8ea" }, "type": 0, "account_id": self.account_id,
            }));
        }
        for st in &mut out {
            st["_links"] = json!({ "self": { "href": format!("{base}/api/v4/leads/pipelines/{}/statuses/{}", p.id, st["id"]) } });
        }
        out
    }

    fn status_ok(&self, pipeline: u64, status: u64) -> bool {
        status == 142
            || status == 143
            || self
                .pipelines
                .iter()
                .any(|p| p.id == pipeline && p.statuses.iter().any(|(s, _)| *s == status))
    }

    /// Normalises `custom_fields_values` against `defs`: each entry named by `field_id` or
    /// `field_code`, answered with id, name, code and type.
    fn custom_fields(
        defs: &[FieldDef],
        given: &Value,
        errors: &mut Vec<FieldError>,
    ) -> Option<Value> {
        let Value::Array(items) = given else {
            if !given.is_null() {
                errors.push(field_error(
                    "InvalidType",
                    "custom_fields_values",
                    "This value should be of type array.",
                ));
            }
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let def = match (item["field_id"].as_u64(), item["field_code"].as_str()) {
                (Some(id), _) => defs.iter().find(|d| d.id == id),
                (None, Some(code)) => defs.iter().find(|d| d.code.as_deref() == Some(code)),
                _ => None,
            };
            let Some(def) = def else {
                errors.push(field_error(
                    "NotSupportedChoice",
                    &format!("custom_fields_values.{i}.field_id"),
                    "The value you selected is not a valid choice.",
                ));
                continue;
            };
            let Some(values) = item["values"].as_array() else {
                errors.push(field_error(
                    "InvalidType",
                    &format!("custom_fields_values.{i}.values"),
                    "This value should be of type array.",
                ));
                continue;
            };
            let mut vals = Vec::new();
            for (j, v) in values.iter().enumerate() {
                let mut nv = json!({ "value": v["value"] });
                if def.kind == "multitext" {
                    let code = v["enum_code"].as_str().unwrap_or("WORK");
                    if !ENUM_CODES.contains(&code) {
                        errors.push(field_error(
                            "NotSupportedChoice",
                            &format!("custom_fields_values.{i}.values.{j}.enum_code"),
                            "The value you selected is not a valid choice.",
                        ));
                    }
                    nv["enum_code"] = json!(code);
                }
                if matches!(def.kind.as_str(), "numeric" | "price")
                    && !(v["value"].is_number()
                        || v["value"]
                            .as_str()
                            .is_some_and(|s| s.trim().parse::<f64>().is_ok()))
                {
                    errors.push(field_error(
                        "InvalidType",
                        &format!("custom_fields_values.{i}.values.{j}.value"),
                        "This value should be of type numeric.",
                    ));
                }
                if matches!(def.kind.as_str(), "text" | "textarea") && !v["value"].is_string() {
                    errors.push(field_error(
                        "InvalidType",
                        &format!("custom_fields_values.{i}.values.{j}.value"),
                        "This value should be of type string.",
                    ));
                }
                vals.push(nv);
            }
            out.push(json!({
                "field_id": def.id, "field_name": def.name, "field_code": def.code,
                "field_type": def.kind, "values": vals,
            }));
        }
        Some(Value::Array(out))
    }

    /// Validates one lead entry of an add (`existing = None`) or update and returns the fields
    /// to store and the contacts to link.
    pub(crate) fn check_lead(
        &self,
        item: &Value,
        existing: Option<&LeadRow>,
    ) -> Result<CheckedLead, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut f = Map::new();
        if !item.is_object() {
            return Err(vec![field_error(
                "InvalidType",
                "",
                "This value should be of type object.",
            )]);
        }
        if let Some(n) = item.get("name") {
            match n.as_str() {
                Some(s) => {
                    f.insert("name".into(), json!(s));
                }
                None => errors.push(field_error(
                    "InvalidType",
                    "name",
                    "This value should be of type string.",
                )),
            }
        }
        if let Some(p) = item.get("price") {
            if p.is_i64() || p.is_u64() {
                f.insert("price".into(), p.clone());
            } else {
                errors.push(field_error(
                    "InvalidType",
                    "price",
                    "This value should be of type int.",
                ));
            }
        }
        let old_pipeline = existing.and_then(|l| l.fields["pipeline_id"].as_u64());
        let pipeline = match item.get("pipeline_id") {
            Some(v) => match v
                .as_u64()
                .filter(|id| self.pipelines.iter().any(|p| p.id == *id))
            {
                Some(id) => Some(id),
                None => {
                    errors.push(field_error(
                        "NotSupportedChoice",
                        "pipeline_id",
                        "The value you selected is not a valid choice.",
                    ));
                    None
                }
            },
            None => old_pipeline.or_else(|| self.pipelines.first().map(|p| p.id)),
        };
        if let Some(p) = pipeline {
            f.insert("pipeline_id".into(), json!(p));
            match item.get("status_id") {
                Some(v) => match v.as_u64().filter(|s| self.status_ok(p, *s)) {
                    Some(s) => {
                        f.insert("status_id".into(), json!(s));
                    }
                    None => errors.push(field_error(
                        "NotSupportedChoice",
                        "status_id",
                        "The value you selected is not a valid choice.",
                    )),
                },
                None if existing.is_none() => {
                    // New leads land in the first non-"unsorted" status.
                    let def = self.pipelines.iter().find(|x| x.id == p);
                    let s = def
                        .and_then(|d| d.statuses.get(1).or(d.statuses.first()))
                        .map_or(142, |s| s.0);
                    f.insert("status_id".into(), json!(s));
                }
                None => {
                    let old = existing
                        .and_then(|l| l.fields["status_id"].as_u64())
                        .unwrap_or(142);
                    if !self.status_ok(p, old) {
                        errors.push(field_error(
                            "NotSupportedChoice",
                            "status_id",
                            "The status does not belong to the pipeline.",
                        ));
                    }
                }
            }
        }
        if let Some(cf) = item.get("custom_fields_values") {
            if let Some(v) = Self::custom_fields(&self.lead_fields, cf, &mut errors) {
                f.insert("custom_fields_values".into(), v);
            }
        }
        let mut contacts = None;
        if let Some(list) = item
            .pointer("/_embedded/contacts")
            .and_then(Value::as_array)
        {
            let mut ids = Vec::new();
            for (i, c) in list.iter().enumerate() {
                match c["id"].as_u64().filter(|id| self.contacts.contains_key(id)) {
                    Some(id) => ids.push(id),
                    None => errors.push(field_error(
                        "NotSupportedChoice",
                        &format!("_embedded.contacts.{i}.id"),
                        "Contact not found.",
                    )),
                }
            }
            contacts = Some(ids);
        }
        if errors.is_empty() {
            Ok((f, contacts))
        } else {
            Err(errors)
        }
    }

    /// Stores a new lead (already validated).
    pub(crate) fn insert_lead(&mut self, mut f: Map<String, Value>, contacts: Vec<u64>) -> u64 {
        let id = self.id();
        let t = now();
        f.insert("id".into(), json!(id));
        f.entry("name")
            .or_insert_with(|| json!(format!("Сделка #{id}")));
        f.entry("price").or_insert(json!(0));
        for (k, v) in [
            ("responsible_user_id", json!(504141)),
            ("group_id", json!(0)),
            ("loss_reason_id", Value::Null),
            ("source_id", Value::Null),
            ("created_by", json!(504141)),
            ("updated_by", json!(504141)),
            ("created_at", json!(t)),
            ("updated_at", json!(t)),
            ("closed_at", Value::Null),
            ("closest_task_at", Value::Null),
            ("is_deleted", json!(false)),
            ("custom_fields_values", Value::Null),
            ("score", Value::Null),
            ("account_id", json!(self.account_id)),
            ("labor_cost", Value::Null),
            ("is_price_modified_by_robot", json!(false)),
        ] {
            f.entry(k).or_insert(v);
        }
        self.outbox.push(("add", f.clone()));
        self.leads.insert(
            id,
            LeadRow {
                fields: f,
                contacts,
                elements: Vec::new(),
            },
        );
        id
    }

    /// Queues the webhook events of a changed lead: `status` when the status moved (with
    /// `old_status_id`), `update` always.
    pub(crate) fn queue_update(&mut self, id: u64, old_status: Option<Value>) {
        let Some(row) = self.leads.get(&id) else {
            return;
        };
        let f = row.fields.clone();
        if let Some(old) = old_status.filter(|o| *o != f["status_id"]) {
            let mut s = f.clone();
            s.insert("old_status_id".into(), old);
            self.outbox.push(("status", s));
        }
        self.outbox.push(("update", f));
    }

    /// Applies a validated update.
    pub(crate) fn apply_lead(
        &mut self,
        id: u64,
        f: Map<String, Value>,
        contacts: Option<Vec<u64>>,
    ) -> i64 {
        let row = self.leads.get_mut(&id).expect("checked");
        // Never backwards: a test may have set `updated_at` ahead of the clock.
        let t = now().max(row.fields["updated_at"].as_i64().unwrap_or(0));
        let mut f = f;
        // Custom fields not named in the update keep their values.
        if let (Some(Value::Array(new)), Some(Value::Array(old))) = (
            f.get("custom_fields_values").cloned(),
            row.fields.get("custom_fields_values"),
        ) {
            let mut merged: Vec<Value> = old
                .iter()
                .filter(|o| !new.iter().any(|n| n["field_id"] == o["field_id"]))
                .cloned()
                .collect();
            merged.extend(new);
            f.insert("custom_fields_values".into(), Value::Array(merged));
        }
        row.fields.extend(f);
        row.fields.insert("updated_at".into(), json!(t));
        if let Some(c) = contacts {
            for id in c {
                if !row.contacts.contains(&id) {
                    row.contacts.push(id);
                }
            }
        }
        t
    }

    /// A lead as `GET /api/v4/leads/{id}` answers it.
    pub(crate) fn render_lead(
        &self,
        base: &str,
        row: &LeadRow,
        with_contacts: bool,
        with_catalog: bool,
    ) -> Value {
        let mut v = row.fields.clone();
        let id = v["id"].clone();
        v.insert(
            "_links".into(),
            json!({ "self": { "href": format!("{base}/api/v4/leads/{id}") } }),
        );
        let mut emb = json!({ "tags": [], "companies": [] });
        if with_contacts {
            emb["contacts"] = Value::Array(
                row.contacts
                    .iter()
                    .enumerate()
                    .map(|(i, c)| json!({ "id": c, "is_main": i == 0, "_links": { "self": { "href": format!("{base}/api/v4/contacts/{c}") } } }))
                    .collect(),
            );
        }
        if with_catalog {
            emb["catalog_elements"] = Value::Array(
                row.elements
                    .iter()
                    .map(|e| json!({ "id": e.element, "metadata": { "quantity": e.quantity, "catalog_id": e.catalog } }))
                    .collect(),
            );
        }
        v.insert("_embedded".into(), emb);
        Value::Object(v)
    }

    /// Validates and stores a new contact.
    pub(crate) fn add_contact(&mut self, item: &Value) -> Result<u64, Vec<FieldError>> {
        let mut errors = Vec::new();
        let cf = item
            .get("custom_fields_values")
            .and_then(|cf| Self::custom_fields(&self.contact_fields, cf, &mut errors));
        for k in ["name", "first_name", "last_name"] {
            if item.get(k).is_some_and(|v| !v.is_string()) {
                errors.push(field_error(
                    "InvalidType",
                    k,
                    "This value should be of type string.",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let first = item["first_name"].as_str().unwrap_or_default();
        let last = item["last_name"].as_str().unwrap_or_default();
        let name = item["name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{first} {last}").trim().to_string());
        let id = self.id();
        let t = now();
        let c = json!({
            "id": id, "name": name, "first_name": first, "last_name": last,
            "responsible_user_id": 504141, "group_id": 0, "created_by": 504141, "updated_by": 504141,
            "created_at": t, "updated_at": t, "closest_task_at": null, "is_deleted": false,
            "is_unsorted": false, "custom_fields_values": cf, "account_id": self.account_id,
        });
        self.contacts
            .insert(id, c.as_object().cloned().unwrap_or_default());
        Ok(id)
    }

    /// Adds a catalog element.
    pub(crate) fn add_element(
        &mut self,
        catalog: u64,
        item: &Value,
    ) -> Result<u64, Vec<FieldError>> {
        let Some(name) = item["name"].as_str().filter(|n| !n.trim().is_empty()) else {
            return Err(vec![field_error(
                "NotBlank",
                "name",
                "This value should not be blank.",
            )]);
        };
        let cf = self.check_element_fields(item)?;
        let id = self.id();
        let t = now();
        let e = json!({
            "id": id, "name": name, "catalog_id": catalog, "created_by": 504141, "updated_by": 504141,
            "created_at": t, "updated_at": t, "is_deleted": false,
            "custom_fields_values": cf.unwrap_or(Value::Null),
            "account_id": self.account_id,
        });
        self.elements
            .insert(id, e.as_object().cloned().unwrap_or_default());
        Ok(id)
    }

    fn check_element_fields(&self, item: &Value) -> Result<Option<Value>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let cf = item
            .get("custom_fields_values")
            .and_then(|cf| Self::custom_fields(&self.catalog_fields, cf, &mut errors));
        if errors.is_empty() {
            Ok(cf)
        } else {
            Err(errors)
        }
    }

    /// Validates one entry of a catalog element update; the element must exist in `catalog`.
    pub(crate) fn check_element_update(
        &self,
        catalog: u64,
        item: &Value,
    ) -> Result<(u64, Option<String>, Option<Value>), Vec<FieldError>> {
        let Some(id) = item["id"].as_u64() else {
            return Err(vec![field_error(
                "NotBlank",
                "id",
                "This value should not be blank.",
            )]);
        };
        if self
            .elements
            .get(&id)
            .is_none_or(|e| e["catalog_id"].as_u64() != Some(catalog))
        {
            return Err(vec![field_error("NotFound", "id", "Element not found.")]);
        }
        let name = match item.get("name") {
            None => None,
            Some(n) => match n.as_str().filter(|n| !n.trim().is_empty()) {
                Some(n) => Some(n.to_string()),
                None => {
                    return Err(vec![field_error(
                        "NotBlank",
                        "name",
                        "This value should not be blank.",
                    )])
                }
            },
        };
        Ok((id, name, self.check_element_fields(item)?))
    }

    /// Applies a validated element update: the name, and the given fields replace the stored
    /// values of the same fields (others are kept).
    pub(crate) fn apply_element(
        &mut self,
        id: u64,
        name: Option<String>,
        cf: Option<Value>,
    ) -> i64 {
        let t = now();
        let e = self.elements.get_mut(&id).expect("checked");
        if let Some(n) = name {
            e.insert("name".into(), json!(n));
        }
        if let Some(Value::Array(new)) = cf {
            let mut old = e
                .get("custom_fields_values")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for nf in new {
                old.retain(|o| o["field_id"] != nf["field_id"]);
                old.push(nf);
            }
            e.insert("custom_fields_values".into(), Value::Array(old));
        }
        e.insert("updated_at".into(), json!(t));
        t
    }
}

/// Whether `query` matches a record: case-insensitive substring of its name, id or any custom
/// field value; digit runs of 5+ also match phone values with other punctuation. The real
/// search is full-text and fuzzier (UNCONFIRMED); clients must re-check matches.
pub(crate) fn matches_query(record: &Map<String, Value>, query: &str) -> bool {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return true;
    }
    let qd: String = q.chars().filter(char::is_ascii_digit).collect();
    let phone_like = qd.len() >= 5 && q.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c));
    let mut texts: Vec<String> = vec![
        record
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase(),
        record.get("id").map(|v| v.to_string()).unwrap_or_default(),
    ];
    if let Some(fields) = record.get("custom_fields_values").and_then(Value::as_array) {
        for f in fields {
            for v in f["values"].as_array().into_iter().flatten() {
                texts.push(match &v["value"] {
                    Value::String(s) => s.to_lowercase(),
                    other => other.to_string(),
                });
            }
        }
    }
    texts.iter().any(|t| {
        t.contains(&q)
            || (phone_like
                && t.chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .contains(&qd))
    })
}

/// Turns per-entry errors into the `validation-errors` list.
pub(crate) fn entry_errors(per_entry: Vec<(String, Vec<FieldError>)>) -> Vec<EntryErrors> {
    per_entry
        .into_iter()
        .filter(|(_, e)| !e.is_empty())
        .map(|(request_id, errors)| EntryErrors { request_id, errors })
        .collect()
}
