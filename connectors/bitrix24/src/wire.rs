//! Bitrix24 wire types: the envelopes, error bodies and records as the REST API sends them.
//!
//! Bitrix24 is loose with types: on read, IDs and money are strings (`"ID":"410"`,
//! `"OPPORTUNITY":"1000.00"`), product-row prices are JSON numbers, PHP's empty array `[]` stands
//! for an empty map. The deserialisers here accept each of those forms so one odd record does not
//! fail a whole page. Money is read into `Decimal` from the number's text, never through `f64`
//! arithmetic.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

/// An error body: `{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}`.
/// Many CRM methods send an empty `error` and only a description; some send `"error":0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// The error code, empty when the method gave none.
    #[serde(deserialize_with = "de_text")]
    pub error: String,
    /// Human-readable text.
    #[serde(default, deserialize_with = "de_text")]
    pub error_description: String,
}

/// The `time` object of every answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeInfo {
    /// Unix time the request started (seconds, fractional).
    pub start: f64,
    /// Unix time it finished.
    pub finish: f64,
    /// Wall time in seconds.
    pub duration: f64,
    /// Time spent in the method.
    pub processing: f64,
    /// Start as ISO 8601 with offset.
    pub date_start: String,
    /// Finish as ISO 8601 with offset.
    pub date_finish: String,
    /// Unix time when the oldest operating-time bucket expires (not in batch `result_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_reset_at: Option<i64>,
    /// Seconds of method execution time used in the current window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating: Option<f64>,
}

/// A successful answer: `result`, plus `total`/`next` for list methods.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Envelope {
    /// The method's result.
    pub result: Value,
    /// Total rows matched (list methods, unless `start=-1`).
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub total: Option<u64>,
    /// The `start` of the next page, when there is one.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub next: Option<u64>,
    /// Timing.
    #[serde(default)]
    pub time: Option<TimeInfo>,
}

/// The `result` of a `batch` call. Every map is keyed by the command key; PHP sends an empty
/// map as `[]`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct BatchPayload {
    /// Results of the commands that succeeded.
    #[serde(default, deserialize_with = "de_php_map")]
    pub result: BTreeMap<String, Value>,
    /// Errors of the commands that failed.
    #[serde(default, deserialize_with = "de_php_map")]
    pub result_error: BTreeMap<String, ApiError>,
    /// `total` of list commands.
    #[serde(default, deserialize_with = "de_php_map")]
    pub result_total: BTreeMap<String, u64>,
    /// `next` of list commands that have more pages.
    #[serde(default, deserialize_with = "de_php_map")]
    pub result_next: BTreeMap<String, u64>,
    /// Timing of each command.
    #[serde(default, deserialize_with = "de_php_map")]
    pub result_time: BTreeMap<String, TimeInfo>,
}

/// One value of a multi-field (`PHONE`, `EMAIL`, `WEB`, `IM`). On read every member is there;
/// in update requests `ID` is a number, `VALUE` may be missing and `DELETE: "Y"` removes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct MultiField {
    /// Id of this value; absent for a value to add.
    #[serde(
        default,
        deserialize_with = "de_opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// `WORK`, `HOME`, `MOBILE`, `MAILING`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_type: Option<String>,
    /// The phone number or address.
    #[serde(
        default,
        deserialize_with = "de_opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<String>,
    /// `PHONE`, `EMAIL`, … (read only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_id: Option<String>,
    /// `Y` to delete this value in an update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<String>,
}

/// A deal as `crm.deal.get` / `crm.deal.list` return it. List rows carry only the selected
/// fields, hence the options; everything not named here is kept in [`DealRecord::other`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct DealRecord {
    /// Deal id.
    #[serde(deserialize_with = "de_text")]
    pub id: String,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Stage (`NEW`, `C1:NEW`).
    #[serde(default)]
    pub stage_id: Option<String>,
    /// Pipeline id.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub category_id: Option<String>,
    /// Currency.
    #[serde(default)]
    pub currency_id: Option<String>,
    /// Amount.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub opportunity: Option<Decimal>,
    /// `Y` when the amount is set by hand, `N` when computed from product rows.
    #[serde(default)]
    pub is_manual_opportunity: Option<String>,
    /// Main contact.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub contact_id: Option<String>,
    /// External system that owns the record (we write the source system name).
    #[serde(default)]
    pub originator_id: Option<String>,
    /// Id in that external system.
    #[serde(default)]
    pub origin_id: Option<String>,
    /// Created, ISO 8601 with offset.
    #[serde(default)]
    pub date_create: Option<String>,
    /// Last modified, ISO 8601 with offset.
    #[serde(default)]
    pub date_modify: Option<String>,
    /// Every other field as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A contact as `crm.contact.get` / `crm.contact.list` return it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct ContactRecord {
    /// Contact id.
    #[serde(deserialize_with = "de_text")]
    pub id: String,
    /// Given name.
    #[serde(default)]
    pub name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// E-mail values (only when selected, in lists).
    #[serde(default)]
    pub email: Vec<MultiField>,
    /// Phone values (only when selected, in lists).
    #[serde(default)]
    pub phone: Vec<MultiField>,
    /// Every other field as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A product row as `crm.deal.productrows.get` returns it (prices are JSON numbers here).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct ProductRowRecord {
    /// Row id.
    #[serde(deserialize_with = "de_text")]
    pub id: String,
    /// The deal (or other owner) id.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub owner_id: Option<String>,
    /// `D` for deals.
    #[serde(default)]
    pub owner_type: Option<String>,
    /// Catalog product id; `0` for a free-text row.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub product_id: Option<String>,
    /// Row name.
    #[serde(default)]
    pub product_name: Option<String>,
    /// Final unit price, discounts and taxes included.
    #[serde(deserialize_with = "de_decimal")]
    pub price: Decimal,
    /// Unit price with discounts, tax excluded.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub price_exclusive: Option<Decimal>,
    /// Quantity.
    #[serde(deserialize_with = "de_decimal")]
    pub quantity: Decimal,
    /// Tax rate in percent, `null` for none.
    #[serde(default, deserialize_with = "de_opt_decimal")]
    pub tax_rate: Option<Decimal>,
    /// `Y` when the tax is included in the price.
    #[serde(default)]
    pub tax_included: Option<String>,
    /// Every other field as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A row of `crm.status.list` (deal stages among others).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct StatusRecord {
    /// Row id.
    #[serde(deserialize_with = "de_text")]
    pub id: String,
    /// `DEAL_STAGE`, `DEAL_STAGE_1`, `SOURCE`, …
    pub entity_id: String,
    /// The stage id used in `STAGE_ID`.
    pub status_id: String,
    /// Display name.
    pub name: String,
    /// Sort order (a string on the wire).
    #[serde(deserialize_with = "de_text")]
    pub sort: String,
    /// `S` success, `F` failure, `null` in progress.
    #[serde(default)]
    pub semantics: Option<String>,
    /// Pipeline id, `null` for the default one.
    #[serde(default, deserialize_with = "de_opt_text")]
    pub category_id: Option<String>,
}

/// Reads a string or a number as text (`"410"` and `410` both give `"410"`); `null` gives `""`.
pub fn de_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(value_text(&Value::deserialize(d)?).unwrap_or_default())
}

/// Like [`de_text`] but `null` (or a missing field) is `None`.
pub fn de_opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_text(&Value::deserialize(d)?))
}

/// Reads a decimal from a string or a JSON number, through its text.
pub fn de_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    de_opt_decimal(d)?.ok_or_else(|| serde::de::Error::custom("expected a decimal, got null"))
}

/// Like [`de_decimal`]; `null` and `""` are `None`.
pub fn de_opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let v = Value::deserialize(d)?;
    match value_text(&v) {
        None => Ok(None),
        Some(t) if t.trim().is_empty() => Ok(None),
        Some(t) => parse_decimal_text(&t)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("`{t}` is not a decimal"))),
    }
}

fn de_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(value_text(&v).and_then(|t| t.parse().ok()))
}

/// Reads a PHP associative array: a JSON object, or `[]` (PHP's empty array), or a list (keys
/// become `"0"`, `"1"`, …).
pub fn de_php_map<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    let entries: Vec<(String, Value)> = match v {
        Value::Null => Vec::new(),
        Value::Object(m) => m.into_iter().collect(),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected a map or [], got {other}"
            )))
        }
    };
    entries
        .into_iter()
        .map(|(k, v)| {
            serde_json::from_value(v)
                .map(|t| (k, t))
                .map_err(serde::de::Error::custom)
        })
        .collect()
}

/// A scalar as text: strings as they are, numbers in their shortest form, booleans as
/// `true`/`false`. `null`, arrays and objects are `None`.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parses a decimal as Bitrix24 writes one: `"1000.00"`, `899.1`, `1e3`.
pub fn parse_decimal_text(text: &str) -> Option<Decimal> {
    let t = text.trim();
    Decimal::from_str(t)
        .or_else(|_| Decimal::from_scientific(t))
        .ok()
}
