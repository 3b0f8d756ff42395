//! amoCRM API v4 wire types: HAL collections, leads, contacts, pipelines, custom fields,
//! catalog elements, links, and the `problem+json` error body. Unknown fields are ignored and
//! most fields are optional, because amoCRM omits or nulls them depending on `with=`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// `{"href": "..."}` inside `_links`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Absolute URL.
    pub href: String,
}

/// `_links` of a HAL document: `self`, `next`, `first`, `prev`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Links {
    /// This page.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_: Option<Link>,
    /// The next page; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
    /// The first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<Link>,
    /// The previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<Link>,
}

/// A HAL collection page: `{"_page", "_links", "_embedded": {"<key>": [...]}}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Collection {
    /// Page number, when the endpoint pages.
    #[serde(rename = "_page", default)]
    pub page: Option<u32>,
    /// Total items (pipelines answer it; leads do not).
    #[serde(rename = "_total_items", default)]
    pub total_items: Option<u64>,
    /// Navigation links.
    #[serde(rename = "_links", default)]
    pub links: Links,
    /// The items by collection key (`leads`, `contacts`, `pipelines`, …).
    #[serde(rename = "_embedded", default)]
    pub embedded: BTreeMap<String, Vec<Value>>,
}

/// One value of a custom field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldValue {
    /// The value (text, number or bool depending on the field type).
    pub value: Value,
    /// Enum id of select / multitext values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enum_id: Option<u64>,
    /// Enum code (`WORK`, `MOB`, …) of multitext values (e-mail, phone). UNCONFIRMED detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enum_code: Option<String>,
}

/// One entry of `custom_fields_values`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldValue {
    /// Field id; one of id and code identifies the field on write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_id: Option<u64>,
    /// Field name (answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
    /// Field code (`EMAIL`, `PHONE`, or one given to an API-created field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_code: Option<String>,
    /// Field type (`text`, `numeric`, `multitext`, …; answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_type: Option<String>,
    /// The values.
    pub values: Vec<FieldValue>,
}

/// An entity link as it appears in `_embedded` (`contacts`, `companies`, `catalog_elements`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddedRef {
    /// Linked entity id.
    pub id: u64,
    /// Whether the contact is the lead's main contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_main: Option<bool>,
    /// Link metadata (`quantity`, `catalog_id` for catalog elements).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag id.
    #[serde(default)]
    pub id: Option<u64>,
    /// Tag name.
    pub name: String,
}

/// `_embedded` of a lead.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadEmbedded {
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Linked contacts (`with=contacts`).
    #[serde(default)]
    pub contacts: Vec<EmbeddedRef>,
    /// Linked companies.
    #[serde(default)]
    pub companies: Vec<EmbeddedRef>,
    /// Linked catalog elements with quantity (`with=catalog_elements`).
    #[serde(default)]
    pub catalog_elements: Vec<EmbeddedRef>,
}

/// A lead (deal) as amoCRM answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// Lead id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Budget: an integer in the account currency.
    #[serde(default)]
    pub price: Option<i64>,
    /// Responsible user.
    #[serde(default)]
    pub responsible_user_id: Option<u64>,
    /// Status (stage) id; 142 won / 143 lost exist in every pipeline.
    pub status_id: u64,
    /// Pipeline id.
    pub pipeline_id: u64,
    /// Created, Unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
    /// Last change, Unix seconds.
    #[serde(default)]
    pub updated_at: Option<i64>,
    /// Closed, Unix seconds.
    #[serde(default)]
    pub closed_at: Option<i64>,
    /// Deleted flag.
    #[serde(default)]
    pub is_deleted: bool,
    /// Custom field values (`null` when none).
    #[serde(default)]
    pub custom_fields_values: Option<Vec<CustomFieldValue>>,
    /// Account id.
    #[serde(default)]
    pub account_id: Option<u64>,
    /// Links to tags, contacts, companies, catalog elements.
    #[serde(rename = "_embedded", default)]
    pub embedded: LeadEmbedded,
}

impl Lead {
    /// The first value of custom field `field_id` as text.
    pub fn field_text(&self, field_id: u64) -> Option<String> {
        field_text(self.custom_fields_values.as_deref(), field_id)
    }
}

/// The first value of a custom field as text.
pub fn field_text(values: Option<&[CustomFieldValue]>, field_id: u64) -> Option<String> {
    values?
        .iter()
        .find(|f| f.field_id == Some(field_id))?
        .values
        .first()
        .map(|v| match &v.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
}

/// A contact as amoCRM answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactRecord {
    /// Contact id.
    pub id: u64,
    /// Full name.
    #[serde(default)]
    pub name: String,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Custom fields, e-mail and phone among them.
    #[serde(default)]
    pub custom_fields_values: Option<Vec<CustomFieldValue>>,
    /// Last change, Unix seconds.
    #[serde(default)]
    pub updated_at: Option<i64>,
}

impl ContactRecord {
    /// Every value of the multitext field with `code` (`EMAIL`, `PHONE`).
    pub fn values_of(&self, code: &str) -> Vec<String> {
        self.custom_fields_values
            .iter()
            .flatten()
            .filter(|f| f.field_code.as_deref() == Some(code))
            .flat_map(|f| f.values.iter())
            .filter_map(|v| v.value.as_str().map(str::to_string))
            .collect()
    }
}

/// A pipeline status (stage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Status id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Sort order.
    #[serde(default)]
    pub sort: i64,
    /// Owning pipeline.
    pub pipeline_id: u64,
    /// `1` for the "unsorted" status, `0` otherwise.
    #[serde(rename = "type", default)]
    pub kind: i64,
    /// Whether users may edit it.
    #[serde(default)]
    pub is_editable: bool,
}

/// `_embedded` of a pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PipelineEmbedded {
    /// Its statuses.
    #[serde(default)]
    pub statuses: Vec<Status>,
}

/// A lead pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Pipeline id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Sort order.
    #[serde(default)]
    pub sort: i64,
    /// The account's main pipeline.
    #[serde(default)]
    pub is_main: bool,
    /// Archived.
    #[serde(default)]
    pub is_archive: bool,
    /// Statuses.
    #[serde(rename = "_embedded", default)]
    pub embedded: PipelineEmbedded,
}

/// A custom field definition (`GET /api/v4/leads/custom_fields`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldDef {
    /// Field id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Code, if the field has one.
    #[serde(default)]
    pub code: Option<String>,
    /// Type (`text`, `numeric`, `multitext`, …).
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// A catalog ("list"; the products catalog has `type: products`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Catalog id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// `regular`, `products`, `invoices`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// A catalog element (a product).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogElement {
    /// Element id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Its catalog.
    pub catalog_id: u64,
    /// Custom fields (SKU, PRICE in the products catalog; UNCONFIRMED codes).
    #[serde(default)]
    pub custom_fields_values: Option<Vec<CustomFieldValue>>,
}

/// One link between a lead and another entity (`/leads/{id}/link`, `/links`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityLink {
    /// The lead (answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<u64>,
    /// `leads` (answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    /// Linked entity id.
    pub to_entity_id: u64,
    /// `contacts`, `companies`, `catalog_elements`.
    pub to_entity_type: String,
    /// `{"quantity", "catalog_id"}` for catalog elements; `{"is_main"}` for contacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// One entry of a batch add/update answer: the id and the `request_id` echoed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Saved {
    /// Entity id.
    pub id: u64,
    /// The `request_id` sent (or the index as text).
    #[serde(default)]
    pub request_id: Option<String>,
    /// Last change, for updates.
    #[serde(default)]
    pub updated_at: Option<i64>,
}

/// One entry of the `/leads/complex` answer (a plain array, not HAL).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ComplexSaved {
    /// Lead id.
    pub id: u64,
    /// Contact id created or linked.
    #[serde(default)]
    pub contact_id: Option<u64>,
    /// Company id created or linked.
    #[serde(default)]
    pub company_id: Option<u64>,
    /// Request ids echoed.
    #[serde(default)]
    pub request_id: Vec<String>,
    /// Whether amoCRM merged with an existing duplicate.
    #[serde(default)]
    pub merged: bool,
}

/// One validation error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    /// Error code (`NotSupportedChoice`, `InvalidType`, …).
    #[serde(default)]
    pub code: String,
    /// Field path (`custom_fields_values.0.field_id`).
    #[serde(default)]
    pub path: String,
    /// Human text.
    #[serde(default)]
    pub detail: String,
}

/// The errors of one request entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryErrors {
    /// Which entry of the array (`"0"`, or the `request_id` sent).
    #[serde(default)]
    pub request_id: String,
    /// Its errors.
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

/// An `application/problem+json` error body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Short title (`Bad Request`, `Unauthorized`).
    #[serde(default)]
    pub title: String,
    /// A type URL.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// HTTP status.
    #[serde(default)]
    pub status: u16,
    /// Detail text.
    #[serde(default)]
    pub detail: String,
    /// Per-entry validation errors.
    #[serde(
        rename = "validation-errors",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub validation_errors: Vec<EntryErrors>,
}

/// A note on a lead (`GET /api/v4/leads/{id}/notes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Note id.
    pub id: u64,
    /// The lead it belongs to.
    #[serde(default)]
    pub entity_id: Option<u64>,
    /// `common`, `service_message`, …
    #[serde(default)]
    pub note_type: String,
    /// Type-specific content; `common` notes carry `{"text": "..."}`.
    #[serde(default)]
    pub params: Value,
    /// Created, Unix seconds.
    #[serde(default)]
    pub created_at: Option<i64>,
}

impl Note {
    /// `params.text`, if the note has one.
    pub fn text(&self) -> Option<&str> {
        self.params.get("text").and_then(Value::as_str)
    }
}
