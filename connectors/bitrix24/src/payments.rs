//! [`CrmPayments`] for Bitrix24: the paid amount and the latest payment date go to configured
//! deal user fields, and each payment gets one timeline comment carrying its source id
//! (`[dealbridge:payment=<system>:<id>]`), so a re-sync recognises it and writes nothing.
//!
//! Why not `crm.item.payment.*`: `crm.item.payment.add` takes only the deal (`entityTypeId`,
//! `entityId`); a payment's sum is the sum of the deal's product rows attached to it
//! (`crm.item.payment.product.add`). A payment of an arbitrary amount, such as 1C's partial
//! payment of 150.00 on a 1,000.00 order, or a refund, cannot be recorded as what it is there;
//! splitting rows to make the sums come out would put invented rows in the deal. The fields and
//! comments carry every payment exactly (reference: `crm.item.payment.*` in
//! `shared/reference/store-and-crm-apis.md`).
//!
//! Requests: 1 `batch` reads the deal and its timeline comments; 1 more `batch` writes only
//! what is missing (the fields if they differ, a comment per new payment). An unchanged
//! re-sync costs 1 request and 0 writes.

use crate::client::{Bitrix24Client, MAX_BATCH};
use crate::reader::parse_paid;
use crate::settings::PaidAmountFormat;
use crate::wire::value_text;
use crate::SYSTEM;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::Payment;
use dealbridge_sdk::money::round_money;
use dealbridge_sdk::traits::CrmPayments;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// The marker a payment's timeline comment carries.
pub fn payment_marker(p: &Payment) -> String {
    format!("[dealbridge:payment={}:{}]", p.source.system, p.source.id)
}

fn comment_text(p: &Payment) -> String {
    let amount = round_money(p.amount.amount, p.amount.currency.minor_units());
    let mut parts = vec![format!(
        "{} {} {}",
        if amount.is_sign_negative() {
            "Refund"
        } else {
            "Payment"
        },
        amount.abs(),
        p.amount.currency.as_str()
    )];
    if let Some(t) = p.paid_at {
        parts.push(t.format("%Y-%m-%d %H:%M UTC").to_string());
    }
    if let Some(n) = &p.document_number {
        parts.push(format!("document {n}"));
    }
    if let Some(m) = &p.method {
        parts.push(m.clone());
    }
    format!("{}. {}", parts.join(", "), payment_marker(p))
}

fn same_instant(have: Option<&Value>, want: DateTime<Utc>) -> bool {
    have.and_then(value_text)
        .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
        .is_some_and(|t| t.with_timezone(&Utc) == want)
}

#[async_trait]
impl CrmPayments for Bitrix24Client {
    async fn sync_payments(
        &self,
        deal_id: &str,
        payments: &[Payment],
    ) -> Result<u32, ConnectorError> {
        let settings = self.settings().clone();
        let with_fields =
            settings.paid_amount_field.is_some() || settings.paid_date_field.is_some();
        if !with_fields && !settings.payment_comments {
            return Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("payments for deal {deal_id}: nowhere to show them; set systems.{}.paid_amount_field or enable payment comments", self.config_name()),
            ));
        }
        // Read: the deal (for its fields) and its comments, in one request.
        let mut reads = vec![("deal", "crm.deal.get", json!({ "id": deal_id }))];
        let comments_params = json!({
            "filter": { "ENTITY_ID": deal_id, "ENTITY_TYPE": "deal" },
            "select": ["ID", "COMMENT"],
            "order": { "ID": "ASC" },
        });
        if settings.payment_comments {
            reads.push((
                "comments",
                "crm.timeline.comment.list",
                comments_params.clone(),
            ));
        }
        let answer = self.batch(false, &reads).await?;
        if let Some(e) = answer.errors.get("deal") {
            if e.error_description
                .to_ascii_lowercase()
                .contains("not found")
            {
                return Err(ConnectorError::new(
                    ErrorKind::NotFound,
                    SYSTEM,
                    format!("payments for deal {deal_id}: the deal no longer exists in Bitrix24; its binding must be re-created"),
                ));
            }
        }
        let deal = answer.get("deal")?.clone();
        let mut texts: Vec<String> = Vec::new();
        if settings.payment_comments {
            let rows = answer
                .get("comments")?
                .as_array()
                .cloned()
                .unwrap_or_default();
            let rows = if answer.nexts.contains_key("comments") {
                self.list_all("crm.timeline.comment.list", comments_params)
                    .await?
            } else {
                rows
            };
            texts = rows
                .iter()
                .filter_map(|r| r.get("COMMENT").and_then(value_text))
                .collect();
        }

        // Write only what is missing.
        let mut writes: Vec<(String, &str, Value)> = Vec::new();
        let mut fields = Map::new();
        if let Some(f) = &settings.paid_amount_field {
            let currency = payments.first().map(|p| p.amount.currency.clone());
            let units = currency.as_ref().map_or(2, |c| c.minor_units());
            let sum: Decimal = payments.iter().map(|p| p.amount.amount).sum();
            let sum = round_money(sum, units);
            let have = deal.get(f).and_then(parse_paid);
            let unchanged = have == Some(sum) || (have.is_none() && sum.is_zero());
            if !unchanged {
                let value = match (settings.paid_amount_format, &currency) {
                    (PaidAmountFormat::MoneyWithCurrency, Some(c)) => {
                        format!("{sum}|{}", c.as_str())
                    }
                    _ => sum.to_string(),
                };
                fields.insert(f.clone(), json!(value));
            }
        }
        if let Some(f) = &settings.paid_date_field {
            if let Some(latest) = payments.iter().filter_map(|p| p.paid_at).max() {
                if !same_instant(deal.get(f), latest) {
                    fields.insert(
                        f.clone(),
                        json!(latest.to_rfc3339_opts(SecondsFormat::Secs, false)),
                    );
                }
            }
        }
        if !fields.is_empty() {
            writes.push((
                "fields".into(),
                "crm.deal.update",
                json!({ "id": deal_id, "fields": fields, "params": { "REGISTER_SONET_EVENT": "N" } }),
            ));
        }
        if settings.payment_comments {
            for (i, p) in payments.iter().enumerate() {
                let marker = payment_marker(p);
                if texts.iter().any(|t| t.contains(&marker)) {
                    continue;
                }
                writes.push((
                    format!("c{i}"),
                    "crm.timeline.comment.add",
                    json!({ "fields": { "ENTITY_ID": deal_id, "ENTITY_TYPE": "deal", "COMMENT": comment_text(p) } }),
                ));
            }
        }
        let mut written = 0u32;
        for chunk in writes.chunks(MAX_BATCH) {
            let answer = self.batch(false, chunk).await?;
            for (key, _, _) in chunk {
                answer.get(key).map_err(|mut e| {
                    e.message = format!("payments for deal {deal_id}: {}", e.message);
                    e
                })?;
                written += 1;
            }
        }
        Ok(written)
    }
}
