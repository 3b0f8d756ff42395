//! [`CrmDeals`] for Bitrix24: contacts by e-mail/phone, deals found by
//! `ORIGINATOR_ID`/`ORIGIN_ID`, deal and product rows written in one `batch` call.

use crate::client::Bitrix24Client;
use crate::companies::{company_add, company_of, title_lookup, CompanyLink};
use crate::wire::{parse_decimal_text, value_text, DealRecord, ProductRowRecord};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::{Contact, Deal, DealLine, ExternalRef};
use dealbridge_sdk::money::round_money;
use dealbridge_sdk::traits::CrmDeals;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

impl Bitrix24Client {
    /// Reads one deal (`crm.deal.get`).
    pub async fn get_deal(&self, id: &str) -> Result<DealRecord, ConnectorError> {
        let r = self.call("crm.deal.get", json!({ "id": id })).await?;
        serde_json::from_value(r.result).map_err(|e| protocol("crm.deal.get", e))
    }

    /// Reads a deal's product rows (`crm.deal.productrows.get`).
    pub async fn get_deal_rows(&self, id: &str) -> Result<Vec<ProductRowRecord>, ConnectorError> {
        let r = self
            .call("crm.deal.productrows.get", json!({ "id": id }))
            .await?;
        serde_json::from_value(r.result).map_err(|e| protocol("crm.deal.productrows.get", e))
    }
}

fn protocol(method: &str, e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Protocol,
        SYSTEM,
        format!("{method}: unexpected answer shape: {e}"),
    )
}

/// The lowest numeric `ID` among list rows.
fn lowest_id(rows: &Value) -> Option<String> {
    rows.as_array()?
        .iter()
        .filter_map(|r| r.get("ID").and_then(value_text))
        .filter_map(|id| id.parse::<u64>().ok())
        .min()
        .map(|id| id.to_string())
}

/// An id as `crm.*.add` returns it (an integer; some proxies turn it into a string).
fn new_id(method: &str, v: &Value) -> Result<String, ConnectorError> {
    value_text(v)
        .filter(|t| t.parse::<u64>().is_ok_and(|n| n > 0))
        .ok_or_else(|| protocol(method, format!("expected a new id, got {v}")))
}

fn multi(value: &str) -> Value {
    json!([{ "VALUE": value, "VALUE_TYPE": "WORK" }])
}

/// The deal fields we own. `CATEGORY_ID` only on create: Bitrix24 ignores it on update (moving
/// between pipelines needs its own method).
fn deal_fields(deal: &Deal, contact_id: Option<&str>, creating: bool) -> Value {
    let mut f = Map::new();
    f.insert("TITLE".into(), json!(deal.title));
    f.insert("STAGE_ID".into(), json!(deal.stage));
    if creating {
        if let Some(p) = &deal.pipeline {
            f.insert("CATEGORY_ID".into(), json!(p));
        }
    }
    f.insert("CURRENCY_ID".into(), json!(deal.currency.as_str()));
    let amount = round_money(deal.amount, deal.currency.minor_units());
    f.insert("OPPORTUNITY".into(), json!(amount.to_string()));
    // The amount comes from the source system and includes shipping and order discounts, which
    // the product rows do not: Bitrix24 must not recompute it from the rows.
    f.insert("IS_MANUAL_OPPORTUNITY".into(), json!("Y"));
    if let Some(c) = contact_id {
        f.insert("CONTACT_ID".into(), json!(c));
    }
    f.insert("ORIGINATOR_ID".into(), json!(deal.origin.system));
    f.insert("ORIGIN_ID".into(), json!(deal.origin.id));
    if let Some(s) = &deal.source_channel {
        f.insert("SOURCE_DESCRIPTION".into(), json!(s));
    }
    if let Some(c) = &deal.comments {
        f.insert("COMMENTS".into(), json!(c));
    }
    Value::Object(f)
}

/// One product row. Bitrix24's `PRICE` is the final unit price *with* tax whatever
/// `TAX_INCLUDED` says (the flag only tells how the price was entered), so a tax-exclusive
/// price is grossed up here. UNCONFIRMED against a live portal; matches the docs' field text.
fn row(line: &DealLine, minor_units: u32) -> Value {
    let mut price = line.price;
    if let (false, Some(rate)) = (line.tax_included, line.tax_rate) {
        price = round_money(
            price * (Decimal::ONE + rate / Decimal::ONE_HUNDRED),
            minor_units.max(2),
        );
    }
    let mut r = Map::new();
    if let Some(id) = &line.product_id {
        r.insert("PRODUCT_ID".into(), json!(id));
    }
    // Sent with a catalog id too, so the row shows the name as ordered.
    r.insert("PRODUCT_NAME".into(), json!(line.name));
    r.insert("PRICE".into(), json!(price.normalize().to_string()));
    r.insert(
        "QUANTITY".into(),
        json!(line.quantity.normalize().to_string()),
    );
    if let Some(rate) = line.tax_rate {
        r.insert("TAX_RATE".into(), json!(rate.normalize().to_string()));
    }
    r.insert(
        "TAX_INCLUDED".into(),
        json!(if line.tax_included { "Y" } else { "N" }),
    );
    Value::Object(r)
}

fn rows(deal: &Deal) -> Value {
    let units = deal.currency.minor_units();
    Value::Array(deal.lines.iter().map(|l| row(l, units)).collect())
}

/// Don't let Bitrix24 post a "deal created" feed event for every synced order.
fn quiet() -> Value {
    json!({ "REGISTER_SONET_EVENT": "N" })
}

#[async_trait]
impl CrmDeals for Bitrix24Client {
    async fn find_contact(&self, contact: &Contact) -> Result<Option<String>, ConnectorError> {
        let mut cmds: Vec<(&str, &str, Value)> = Vec::new();
        let email = contact.normalized_email();
        let phone = contact.normalized_phone();
        if let Some(e) = &email {
            cmds.push(("email", "crm.contact.list", lookup("EMAIL", e)));
        }
        if let Some(p) = &phone {
            cmds.push(("phone", "crm.contact.list", lookup("PHONE", p)));
        }
        // The company rides along in the same request, so the deal write can link it (or add
        // it in its own batch) without a request of its own.
        let company = company_of(Some(contact)).filter(|t| self.company_unknown(t));
        if let Some(title) = company {
            cmds.push(("company", "crm.company.list", title_lookup(title)));
        }
        if cmds.is_empty() {
            return Ok(None);
        }
        let answer = self.batch(false, &cmds).await?;
        if let Some(title) = company {
            if let Ok(rows) = answer.get("company") {
                self.remember_lookup(title, rows);
            }
        }
        for (key, _, _) in &cmds {
            if *key == "company" {
                continue;
            }
            if let Some(id) = lowest_id(answer.get(key)?) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    async fn create_contact(&self, contact: &Contact) -> Result<String, ConnectorError> {
        let mut f = Map::new();
        let (first, last) = (contact.first_name.trim(), contact.last_name.trim());
        if first.is_empty() && last.is_empty() {
            f.insert("NAME".into(), json!(contact.display_name()));
        } else {
            f.insert("NAME".into(), json!(first));
            f.insert("LAST_NAME".into(), json!(last));
        }
        if let Some(e) = contact.normalized_email() {
            f.insert("EMAIL".into(), multi(&e));
        }
        if let Some(p) = contact.normalized_phone() {
            f.insert("PHONE".into(), multi(&p));
        }
        if let Some(src) = &contact.source {
            f.insert("ORIGINATOR_ID".into(), json!(src.system));
            f.insert("ORIGIN_ID".into(), json!(src.id));
        }
        if let Some(id) = company_of(Some(contact)).and_then(|t| self.cached_company(t)) {
            f.insert("COMPANY_ID".into(), json!(id));
        }
        let r = self
            .call("crm.contact.add", json!({ "fields": f, "params": quiet() }))
            .await?;
        new_id("crm.contact.add", &r.result)
    }

    /// One `crm.deal.get`; when the deal still claims `origin`, one `batch` clearing
    /// `ORIGINATOR_ID`/`ORIGIN_ID` and adding `note` as a timeline comment. A deal that no
    /// longer claims it costs nothing more (a retried job writes no second comment).
    async fn release_deal(
        &self,
        id: &str,
        origin: &ExternalRef,
        note: &str,
    ) -> Result<(), ConnectorError> {
        let current = self.call("crm.deal.get", json!({ "id": id })).await?;
        let claims = |k: &str, want: &str| current.result[k].as_str() == Some(want);
        if !(claims("ORIGINATOR_ID", &origin.system) && claims("ORIGIN_ID", &origin.id)) {
            return Ok(());
        }
        let cmds = [
            (
                "deal",
                "crm.deal.update",
                json!({ "id": id, "fields": { "ORIGINATOR_ID": "", "ORIGIN_ID": "" }, "params": quiet() }),
            ),
            (
                "note",
                "crm.timeline.comment.add",
                json!({ "fields": { "ENTITY_ID": id, "ENTITY_TYPE": "deal", "COMMENT": note } }),
            ),
        ];
        let answer = self.batch(true, &cmds).await?;
        answer.get("deal")?;
        answer.get("note")?;
        Ok(())
    }

    async fn find_deal(&self, origin: &ExternalRef) -> Result<Option<String>, ConnectorError> {
        let r = self
            .call(
                "crm.deal.list",
                json!({
                    "filter": { "ORIGINATOR_ID": origin.system, "ORIGIN_ID": origin.id },
                    "select": ["ID"],
                    "order": { "ID": "ASC" },
                }),
            )
            .await?;
        Ok(lowest_id(&r.result))
    }

    async fn create_deal(
        &self,
        deal: &Deal,
        contact_id: Option<&str>,
    ) -> Result<String, ConnectorError> {
        let link = self.company_link(deal.contact.as_ref()).await?;
        let mut cmds = company_cmds(&link);
        cmds.push((
            "deal",
            "crm.deal.add",
            json!({ "fields": with_company(deal_fields(deal, contact_id, true), &link), "params": quiet() }),
        ));
        // An empty `rows` list vanishes in a query string; a new deal has no rows anyway.
        if !deal.lines.is_empty() {
            cmds.push((
                "rows",
                "crm.deal.productrows.set",
                json!({ "id": "$result[deal]", "rows": rows(deal) }),
            ));
        }
        cmds.extend(contact_link_cmd(&link, contact_id));
        let answer = self.batch(true, &cmds).await?;
        self.note_company(&link, &answer);
        let id = new_id("crm.deal.add", answer.get("deal")?)?;
        if cmds.iter().any(|(k, _, _)| *k == "rows") {
            if let Err(mut e) = answer.get("rows") {
                // The deal exists now: the job's retry finds it by origin and updates it.
                e.message = format!(
                    "deal {id} was created but its product rows were not: {}",
                    e.message
                );
                return Err(e);
            }
        }
        Ok(id)
    }

    /// Read-compare-write: one `batch` updates the deal fields and reads the current rows;
    /// `crm.deal.productrows.set` follows only when the rows differ. Requests per update: 1
    /// when the rows are unchanged (the usual stage/amount change), 2 when they changed. Rows
    /// left alone keep their ids, discounts a manager entered stay, and no needless row
    /// rewrite shows up in the deal's history.
    async fn update_deal(
        &self,
        id: &str,
        deal: &Deal,
        contact_id: Option<&str>,
    ) -> Result<(), ConnectorError> {
        let link = self.company_link(deal.contact.as_ref()).await?;
        let mut cmds = company_cmds(&link);
        cmds.push((
            "deal",
            "crm.deal.update",
            json!({
                "id": id,
                "fields": with_company(deal_fields(deal, contact_id, false), &link),
                "params": quiet(),
            }),
        ));
        cmds.push(("rows", "crm.deal.productrows.get", json!({ "id": id })));
        cmds.extend(contact_link_cmd(&link, contact_id));
        let answer = self.batch(true, &cmds).await?;
        self.note_company(&link, &answer);
        answer.get("deal")?;
        let current: Vec<ProductRowRecord> = serde_json::from_value(answer.get("rows")?.clone())
            .map_err(|e| protocol("crm.deal.productrows.get", e))?;
        if rows_match(&current, deal) {
            return Ok(());
        }
        // A JSON body keeps an empty list (a query string inside a batch would drop it).
        self.call(
            "crm.deal.productrows.set",
            json!({ "id": id, "rows": rows(deal) }),
        )
        .await?;
        Ok(())
    }
}

/// The command that goes before the deal write: a new company the deal refers to.
fn company_cmds(link: &CompanyLink) -> Vec<(&'static str, &'static str, Value)> {
    match link {
        CompanyLink::Create(title) => vec![("company", "crm.company.add", company_add(title))],
        _ => Vec::new(),
    }
}

/// The command that goes last: linking the contact to a company the batch created (the
/// contact was created before the company existed). Last, so that with `halt` its failure
/// cannot stop the deal write; its outcome is only logged.
fn contact_link_cmd(
    link: &CompanyLink,
    contact_id: Option<&str>,
) -> Option<(&'static str, &'static str, Value)> {
    match (link, contact_id) {
        (CompanyLink::Create(_), Some(c)) => Some((
            "contact_company",
            "crm.contact.update",
            json!({ "id": c, "fields": { "COMPANY_ID": "$result[company]" }, "params": quiet() }),
        )),
        _ => None,
    }
}

/// The deal fields with `COMPANY_ID` set when the contact has a company.
fn with_company(mut fields: Value, link: &CompanyLink) -> Value {
    let id = match link {
        CompanyLink::None => return fields,
        CompanyLink::Known(id) => id.as_str(),
        CompanyLink::Create(_) => "$result[company]",
    };
    if let Value::Object(f) = &mut fields {
        f.insert("COMPANY_ID".into(), json!(id));
    }
    fields
}

impl Bitrix24Client {
    /// Remembers the id of a company the deal's batch created.
    fn note_company(&self, link: &CompanyLink, answer: &crate::client::BatchResult) {
        if let CompanyLink::Create(title) = link {
            if let Ok(id) = answer
                .get("company")
                .and_then(|v| new_id("crm.company.add", v))
            {
                self.remember_company(title, Some(id));
            }
            if let Some(e) = answer.error("contact_company") {
                tracing::warn!(error = %e, "bitrix24: the contact was not linked to its new company");
            }
        }
    }
}

/// Whether the deal's current rows already say what `deal.lines` would write.
fn rows_match(current: &[ProductRowRecord], deal: &Deal) -> bool {
    let units = deal.currency.minor_units();
    current.len() == deal.lines.len()
        && current.iter().zip(&deal.lines).all(|(have, line)| {
            let want = row(line, units);
            let dec = |v: &Value| value_text(v).and_then(|t| parse_decimal_text(&t));
            let have_product = have
                .product_id
                .as_deref()
                .filter(|p| !p.is_empty())
                .unwrap_or("0");
            let want_product = line.product_id.as_deref().unwrap_or("0");
            have_product == want_product
                && have.product_name.as_deref().unwrap_or_default() == line.name
                && Some(have.price) == dec(&want["PRICE"])
                && Some(have.quantity) == dec(&want["QUANTITY"])
                && have.tax_rate == line.tax_rate
                && (have.tax_included.as_deref() == Some("Y")) == line.tax_included
        })
}

fn lookup(field: &str, value: &str) -> Value {
    json!({
        "filter": { field: value },
        "select": ["ID"],
        "order": { "ID": "ASC" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn tax_exclusive_price_is_grossed_up() {
        let l = DealLine {
            product_id: None,
            name: "Tea".into(),
            price: dec!(100),
            quantity: dec!(2),
            tax_rate: Some(dec!(20)),
            tax_included: false,
        };
        let r = row(&l, 2);
        assert_eq!(r["PRICE"], "120");
        assert_eq!(r["TAX_INCLUDED"], "N");
        assert_eq!(r["QUANTITY"], "2");
        assert!(r.get("PRODUCT_ID").is_none());
    }

    #[test]
    fn lowest_id_is_numeric() {
        assert_eq!(
            lowest_id(&json!([{"ID":"10"},{"ID":"9"}])),
            Some("9".into())
        );
        assert_eq!(lowest_id(&json!([])), None);
    }
}
