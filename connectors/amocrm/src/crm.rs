//! [`CrmDeals`] for amoCRM: contacts found by `query` and checked by their EMAIL/PHONE fields,
//! leads found by an external-id custom field, the amount written as an integer `price` plus
//! the exact amount in a text field, and product rows as catalog elements linked with quantity.

use crate::client::{protocol, AmoClient, LeadsQuery, MAX_LIMIT};
use crate::wire::{EntityLink, Lead};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::{Contact, Deal, DealLine, ExternalRef};
use dealbridge_sdk::money::{round_money, Currency};
use dealbridge_sdk::traits::CrmDeals;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use tokio::sync::OnceCell;

/// A custom field named by its id or by its `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    /// The field id (Settings → fields, or `GET /api/v4/leads/custom_fields`).
    Id(u64),
    /// The field's `code`, looked up once with `GET /api/v4/leads/custom_fields`.
    Code(String),
}

/// How deals map onto one amoCRM account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealSettings {
    /// Pipeline used when [`Deal::pipeline`] is `None`.
    pub pipeline_id: u64,
    /// Text field on leads holding `"{origin.system}:{origin.id}"`, for find-or-create.
    pub external_id_field: FieldRef,
    /// Text field on leads holding the exact amount with minor units (`"10.50 RUB"`), because
    /// `price` is an integer. `None` keeps only the rounded price.
    pub exact_amount_field: Option<FieldRef>,
    /// Catalog for product rows; `None` uses the account's catalog of type `products`.
    pub catalog_id: Option<u64>,
}

impl DealSettings {
    /// Fields found by the codes `DEALBRIDGE_ORIGIN` and `DEALBRIDGE_AMOUNT`, the products
    /// catalog, and pipeline `pipeline_id`.
    pub fn new(pipeline_id: u64) -> Self {
        DealSettings {
            pipeline_id,
            external_id_field: FieldRef::Code("DEALBRIDGE_ORIGIN".into()),
            exact_amount_field: Some(FieldRef::Code("DEALBRIDGE_AMOUNT".into())),
            catalog_id: None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved {
    pub(crate) origin_field: u64,
    pub(crate) amount_field: Option<u64>,
    pub(crate) catalog_id: Option<u64>,
}

/// amoCRM as a [`CrmDeals`]: an [`AmoClient`] plus the account's [`DealSettings`]. Field codes
/// and the catalog are resolved on first use (at most two calls) and cached.
#[derive(Debug)]
pub struct AmoDeals {
    pub(crate) client: AmoClient,
    pub(crate) settings: DealSettings,
    resolved: OnceCell<Resolved>,
    pub(crate) payments: crate::payments::PaymentSettings,
    pub(crate) reader: crate::reader::ReaderSettings,
    /// The paid field's id, resolved once; `None` when the account has no such field.
    pub(crate) paid_field: OnceCell<Option<u64>>,
}

/// amoCRM `price` for an amount: an integer, rounded half away from zero (10.50 → 11,
/// 10.49 → 10, −10.50 → −11), explicitly, so the rule does not depend on the server.
pub fn rounded_price(amount: Decimal) -> Result<i64, ConnectorError> {
    amount
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("deal amount {amount} does not fit amoCRM's integer price"),
            )
        })
}

/// The exact amount as stored in the exact-amount field: rounded to the currency's minor units
/// with them all shown, then the code (`"10.50 RUB"`, `"1200 JPY"`).
pub fn exact_amount_text(amount: Decimal, currency: &Currency) -> String {
    let mut d = round_money(amount, currency.minor_units());
    d.rescale(currency.minor_units());
    format!("{d} {}", currency.as_str())
}

fn origin_key(origin: &ExternalRef) -> String {
    format!("{}:{}", origin.system, origin.id)
}

pub(crate) fn parse_id(what: &str, id: &str) -> Result<u64, ConnectorError> {
    id.trim().parse::<u64>().map_err(|_| {
        ConnectorError::new(
            ErrorKind::Invalid,
            SYSTEM,
            format!("{what} `{id}` is not an amoCRM id (a positive integer); fix the mapping"),
        )
    })
}

/// A Decimal as a JSON number (amoCRM numeric fields and quantities are JSON numbers).
pub(crate) fn decimal_json(d: Decimal) -> Value {
    // amoCRM quantities are JSON numbers; fractional ones (0.25 kg) pass as floats.
    serde_json::from_str(&d.normalize().to_string()).unwrap_or(Value::Null)
}

pub(crate) fn json_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

impl AmoDeals {
    /// Deals written through `client` with `settings`.
    pub fn new(client: AmoClient, settings: DealSettings) -> Self {
        AmoDeals {
            client,
            settings,
            resolved: OnceCell::new(),
            payments: Default::default(),
            reader: Default::default(),
            paid_field: OnceCell::new(),
        }
    }

    /// Sets how payments are shown on leads ([`crate::CrmPayments`] side).
    pub fn with_payment_settings(mut self, payments: crate::payments::PaymentSettings) -> Self {
        self.payments = payments;
        self.paid_field = OnceCell::new();
        self
    }

    /// Sets how leads are read back ([`dealbridge_sdk::traits::CrmDealReader`] side).
    pub fn with_reader_settings(mut self, reader: crate::reader::ReaderSettings) -> Self {
        self.reader = reader;
        self
    }

    /// The client.
    pub fn client(&self) -> &AmoClient {
        &self.client
    }

    pub(crate) async fn resolved(&self) -> Result<Resolved, ConnectorError> {
        self.resolved
            .get_or_try_init(|| async {
                let s = &self.settings;
                let needs_fields = matches!(s.external_id_field, FieldRef::Code(_))
                    || matches!(s.exact_amount_field, Some(FieldRef::Code(_)));
                let defs = if needs_fields {
                    self.client.lead_custom_fields().await?
                } else {
                    Vec::new()
                };
                let find = |r: &FieldRef| -> Result<u64, ConnectorError> {
                    match r {
                        FieldRef::Id(id) => Ok(*id),
                        FieldRef::Code(code) => defs
                            .iter()
                            .find(|d| d.code.as_deref() == Some(code.as_str()))
                            .map(|d| d.id)
                            .ok_or_else(|| {
                                ConnectorError::new(
                                    ErrorKind::Invalid,
                                    SYSTEM,
                                    format!("amoCRM has no lead custom field with code `{code}`: create a text field with that code, or configure its id"),
                                )
                            }),
                    }
                };
                let origin_field = find(&s.external_id_field)?;
                let amount_field = s.exact_amount_field.as_ref().map(find).transpose()?;
                let catalog_id = match s.catalog_id {
                    Some(id) => Some(id),
                    None => self
                        .client
                        .catalogs()
                        .await?
                        .into_iter()
                        .find(|c| c.kind == "products")
                        .map(|c| c.id),
                };
                Ok(Resolved {
                    origin_field,
                    amount_field,
                    catalog_id,
                })
            })
            .await
            .copied()
    }

    /// The lead fields we own (no id, no contacts).
    fn lead_body(&self, r: &Resolved, deal: &Deal) -> Result<Value, ConnectorError> {
        let pipeline = match &deal.pipeline {
            Some(p) => parse_id("pipeline", p)?,
            None => self.settings.pipeline_id,
        };
        let mut fields = vec![json!({
            "field_id": r.origin_field,
            "values": [{ "value": origin_key(&deal.origin) }],
        })];
        if let Some(a) = r.amount_field {
            fields.push(json!({
                "field_id": a,
                "values": [{ "value": exact_amount_text(deal.amount, &deal.currency) }],
            }));
        }
        Ok(json!({
            "name": deal.title,
            "price": rounded_price(deal.amount)?,
            "pipeline_id": pipeline,
            "status_id": parse_id("stage (status id)", &deal.stage)?,
            "custom_fields_values": fields,
        }))
    }

    /// Catalog element id and quantity for every row, creating missing elements in one call.
    /// Rows naming the same element are merged (amoCRM links an element once per lead).
    async fn row_links(
        &self,
        r: &Resolved,
        lines: &[DealLine],
    ) -> Result<BTreeMap<u64, Decimal>, ConnectorError> {
        let mut out: BTreeMap<u64, Decimal> = BTreeMap::new();
        if lines.is_empty() {
            return Ok(out);
        }
        let catalog = r.catalog_id.ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                "the deal has product rows but amoCRM has no products catalog: enable Products in the account or configure catalog_id",
            )
        })?;
        let mut missing: Vec<&DealLine> = Vec::new();
        let mut found: BTreeMap<String, u64> = BTreeMap::new();
        for line in lines {
            if let Some(id) = &line.product_id {
                *out.entry(parse_id("product id", id)?).or_default() += line.quantity;
                continue;
            }
            let name = line.name.trim().to_string();
            if let Some(id) = found.get(&name) {
                *out.entry(*id).or_default() += line.quantity;
                continue;
            }
            // `query` is a substring search: keep only exact name matches, lowest id first.
            let hit = self
                .client
                .catalog_elements(catalog, Some(&name))
                .await?
                .into_iter()
                .filter(|e| e.name.trim() == name)
                .map(|e| e.id)
                .min();
            match hit {
                Some(id) => {
                    found.insert(name, id);
                    *out.entry(id).or_default() += line.quantity;
                }
                None if missing.iter().any(|m| m.name.trim() == name) => {}
                None => missing.push(line),
            }
        }
        if !missing.is_empty() {
            let bodies: Vec<Value> = missing
                .iter()
                .map(|l| {
                    json!({
                        "name": l.name.trim(),
                        // UNCONFIRMED field code of the products catalog's price field.
                        "custom_fields_values": [
                            { "field_code": "PRICE", "values": [{ "value": decimal_json(l.price) }] }
                        ],
                    })
                })
                .collect();
            let saved = self.client.add_catalog_elements(catalog, &bodies).await?;
            for (line, s) in missing.iter().zip(saved) {
                found.insert(line.name.trim().to_string(), s.id);
            }
            for line in lines.iter().filter(|l| l.product_id.is_none()) {
                if missing.iter().any(|m| m.name.trim() == line.name.trim()) {
                    let id = found[line.name.trim()];
                    *out.entry(id).or_default() += line.quantity;
                }
            }
        }
        Ok(out)
    }

    fn element_link(catalog: u64, id: u64, qty: Decimal) -> EntityLink {
        EntityLink {
            entity_id: None,
            entity_type: None,
            to_entity_id: id,
            to_entity_type: "catalog_elements".into(),
            metadata: Some(json!({ "quantity": decimal_json(qty), "catalog_id": catalog })),
        }
    }

    fn contact_link(id: u64) -> EntityLink {
        EntityLink {
            entity_id: None,
            entity_type: None,
            to_entity_id: id,
            to_entity_type: "contacts".into(),
            metadata: None,
        }
    }

    /// Whether the lead already carries what `body` would write.
    fn same_fields(lead: &Lead, body: &Value, r: &Resolved) -> bool {
        let want_text = |field: u64| -> Option<String> {
            body["custom_fields_values"]
                .as_array()?
                .iter()
                .find(|f| f["field_id"] == json!(field))?["values"][0]["value"]
                .as_str()
                .map(str::to_string)
        };
        lead.name == body["name"].as_str().unwrap_or_default()
            && lead.price == body["price"].as_i64()
            && Some(lead.status_id) == body["status_id"].as_u64()
            && Some(lead.pipeline_id) == body["pipeline_id"].as_u64()
            && lead.field_text(r.origin_field) == want_text(r.origin_field)
            && r.amount_field
                .is_none_or(|a| lead.field_text(a) == want_text(a))
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[async_trait]
impl CrmDeals for AmoDeals {
    async fn find_contact(&self, contact: &Contact) -> Result<Option<String>, ConnectorError> {
        if let Some(email) = contact.normalized_email() {
            let hit = self
                .client
                .search_contacts(&email)
                .await?
                .into_iter()
                .filter(|c| {
                    c.values_of("EMAIL")
                        .iter()
                        .any(|v| v.trim().eq_ignore_ascii_case(&email))
                })
                .map(|c| c.id)
                .min();
            if let Some(id) = hit {
                return Ok(Some(id.to_string()));
            }
        }
        if let Some(phone) = contact.normalized_phone() {
            let want = digits(&phone);
            let hit = self
                .client
                .search_contacts(&want)
                .await?
                .into_iter()
                .filter(|c| c.values_of("PHONE").iter().any(|v| digits(v) == want))
                .map(|c| c.id)
                .min();
            if let Some(id) = hit {
                return Ok(Some(id.to_string()));
            }
        }
        Ok(None)
    }

    async fn create_contact(&self, contact: &Contact) -> Result<String, ConnectorError> {
        let mut fields = Vec::new();
        // EMAIL/PHONE are the account's built-in multitext fields, addressed by field_code;
        // `WORK` enum code per the SDK (UNCONFIRMED detail).
        if let Some(e) = contact.normalized_email() {
            fields.push(
                json!({ "field_code": "EMAIL", "values": [{ "value": e, "enum_code": "WORK" }] }),
            );
        }
        if let Some(p) = contact.normalized_phone() {
            fields.push(
                json!({ "field_code": "PHONE", "values": [{ "value": p, "enum_code": "WORK" }] }),
            );
        }
        let (first, last) = (contact.first_name.trim(), contact.last_name.trim());
        let mut body = json!({ "name": contact.display_name(), "custom_fields_values": fields });
        if !first.is_empty() || !last.is_empty() {
            body["first_name"] = json!(first);
            body["last_name"] = json!(last);
        }
        let saved = self.client.add_contacts(&[body]).await?;
        Ok(saved[0].id.to_string())
    }

    /// Searches with `query` (one call; amoCRM documents no exact-match filter on lead custom
    /// field values in v4) and keeps only leads whose external-id field equals the key exactly,
    /// since `query` also matches substrings (`shop:12` in `shop:123`).
    /// The external-id field becomes `released:<system>:<id>`: no longer the origin's key (so
    /// neither [`CrmDeals::find_deal`] nor the reader takes the lead for it), still telling the
    /// manager what it mirrored; `note` is added as a `common` note. Writing a marker rather
    /// than clearing the field keeps to a plain text value, which every account accepts.
    /// Calls: `GET` the lead; when it still claims `origin`, one `PATCH` and one notes `POST`.
    async fn release_deal(
        &self,
        id: &str,
        origin: &ExternalRef,
        note: &str,
    ) -> Result<(), ConnectorError> {
        let r = self.resolved().await?;
        let lead_id = parse_id("lead id", id)?;
        let lead = self.client.get_lead(lead_id, &[]).await?;
        let key = origin_key(origin);
        if lead.field_text(r.origin_field).as_deref() != Some(key.as_str()) {
            return Ok(());
        }
        let body = json!({
            "id": lead_id,
            "custom_fields_values": [{
                "field_id": r.origin_field,
                "values": [{ "value": format!("released:{key}") }],
            }],
        });
        self.client.update_leads(&[body]).await?;
        self.client
            .add_lead_notes(
                lead_id,
                &[json!({ "note_type": "common", "params": { "text": note } })],
            )
            .await?;
        Ok(())
    }

    async fn find_deal(&self, origin: &ExternalRef) -> Result<Option<String>, ConnectorError> {
        let r = self.resolved().await?;
        let key = origin_key(origin);
        let leads = self
            .client
            .leads_all(&LeadsQuery {
                query: Some(key.clone()),
                limit: Some(MAX_LIMIT),
                ..Default::default()
            })
            .await?;
        Ok(leads
            .into_iter()
            .filter(|l| !l.is_deleted && l.field_text(r.origin_field).as_deref() == Some(&key))
            .map(|l| l.id)
            .min()
            .map(|id| id.to_string()))
    }

    async fn create_deal(
        &self,
        deal: &Deal,
        contact_id: Option<&str>,
    ) -> Result<String, ConnectorError> {
        let r = self.resolved().await?;
        let mut body = self.lead_body(&r, deal)?;
        if let Some(c) = contact_id {
            body["_embedded"] =
                json!({ "contacts": [{ "id": parse_id("contact id", c)?, "is_main": true }] });
        }
        let rows = self.row_links(&r, &deal.lines).await?;
        let saved = self.client.add_leads(&[body]).await?;
        let id = saved
            .first()
            .map(|s| s.id)
            .ok_or_else(|| protocol("POST /api/v4/leads", "no id"))?;
        if let Some(catalog) = r.catalog_id.filter(|_| !rows.is_empty()) {
            let links: Vec<EntityLink> = rows
                .iter()
                .map(|(e, q)| Self::element_link(catalog, *e, *q))
                .collect();
            if let Err(mut e) = self.client.link_lead(id, &links).await {
                // The lead exists now: the job's retry finds it by origin and updates it.
                e.message = format!(
                    "lead {id} was created but its product rows were not linked: {}",
                    e.message
                );
                return Err(e);
            }
        }
        Ok(id.to_string())
    }

    /// Reads the lead with its contacts and catalog elements (one call), then writes only what
    /// differs: the fields (`PATCH`), links for new or changed rows and a missing contact (one
    /// `link` call), and unlinks rows no longer present or whose quantity changed (one
    /// `unlink` call; re-linking after unlinking sets the new quantity whatever amoCRM does
    /// with a repeated link).
    async fn update_deal(
        &self,
        id: &str,
        deal: &Deal,
        contact_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let r = self.resolved().await?;
        let lead_id = parse_id("lead id", id)?;
        let lead = self
            .client
            .get_lead(lead_id, &["contacts", "catalog_elements"])
            .await?;
        let mut body = self.lead_body(&r, deal)?;
        if !Self::same_fields(&lead, &body, &r) {
            body["id"] = json!(lead_id);
            self.client.update_leads(&[body]).await?;
        }
        let want = self.row_links(&r, &deal.lines).await?;
        let have: BTreeMap<u64, (Option<Decimal>, u64)> = lead
            .embedded
            .catalog_elements
            .iter()
            .map(|e| {
                let meta = e.metadata.clone().unwrap_or(Value::Null);
                let qty = json_decimal(&meta["quantity"]);
                let cat = meta["catalog_id"].as_u64().or(r.catalog_id).unwrap_or(0);
                (e.id, (qty, cat))
            })
            .collect();
        let unlink: Vec<EntityLink> = have
            .iter()
            .filter(|(e, (q, _))| want.get(e).is_none_or(|w| Some(*w) != *q))
            .map(|(e, (_, cat))| EntityLink {
                metadata: Some(json!({ "catalog_id": cat })),
                ..Self::element_link(*cat, *e, Decimal::ZERO)
            })
            .collect();
        let mut link: Vec<EntityLink> = Vec::new();
        if let Some(catalog) = r.catalog_id {
            link.extend(
                want.iter()
                    .filter(|(e, w)| have.get(e).is_none_or(|(q, _)| *q != Some(**w)))
                    .map(|(e, q)| Self::element_link(catalog, *e, *q)),
            );
        }
        if let Some(c) = contact_id {
            let c = parse_id("contact id", c)?;
            if !lead.embedded.contacts.iter().any(|x| x.id == c) {
                link.push(Self::contact_link(c));
            }
        }
        self.client.unlink_lead(lead_id, &unlink).await?;
        self.client.link_lead(lead_id, &link).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn price_rounds_half_away_from_zero() {
        assert_eq!(rounded_price(dec!(10.50)).unwrap(), 11);
        assert_eq!(rounded_price(dec!(10.49)).unwrap(), 10);
        assert_eq!(rounded_price(dec!(-10.50)).unwrap(), -11);
        assert_eq!(rounded_price(dec!(2.5)).unwrap(), 3);
    }

    #[test]
    fn exact_amount_keeps_minor_units() {
        let rub = Currency::new("RUB").unwrap();
        assert_eq!(exact_amount_text(dec!(10.5), &rub), "10.50 RUB");
        assert_eq!(exact_amount_text(dec!(7), &rub), "7.00 RUB");
        let jpy = Currency::new("JPY").unwrap();
        assert_eq!(exact_amount_text(dec!(1200), &jpy), "1200 JPY");
    }
}
