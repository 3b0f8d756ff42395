//! [`CrmPayments`] for amoCRM: the paid total in a numeric lead field and one `common` note
//! per payment whose text carries the payment's source key (`[dealbridge payment 1c:PAY-1]`),
//! so a re-sync finds every payment already shown and writes nothing.
//!
//! Calls per sync: `GET` the lead, `GET` its common notes; then, only when needed, one `POST`
//! of the missing notes (an array) and one `PATCH` of the paid field.

use crate::crm::{decimal_json, parse_id, AmoDeals};
use crate::{FieldRef, SYSTEM};
use async_trait::async_trait;
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::Payment;
use dealbridge_sdk::traits::CrmPayments;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// How payments are shown on leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSettings {
    /// Numeric lead field holding the paid total. Default: code `DEALBRIDGE_PAID` (create a
    /// numeric lead field with that code, or configure its id).
    pub paid_field: FieldRef,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            paid_field: FieldRef::Code("DEALBRIDGE_PAID".into()),
        }
    }
}

const MARK: &str = "[dealbridge payment ";

/// The marker a payment's note carries: `[dealbridge payment <system>:<id>]`.
pub fn payment_marker(p: &Payment) -> String {
    format!("{MARK}{}:{}]", p.source.system, p.source.id)
}

/// Every payment key (`<system>:<id>`) named by a marker in `text`.
fn marked_keys(text: &str) -> Vec<String> {
    text.match_indices(MARK)
        .filter_map(|(i, _)| {
            let rest = &text[i + MARK.len()..];
            rest.find(']').map(|end| rest[..end].to_string())
        })
        .collect()
}

fn note_text(p: &Payment) -> String {
    let mut s = format!(
        "{} {} {}",
        if p.amount.amount.is_sign_negative() {
            "Возврат / refund"
        } else {
            "Оплата / payment"
        },
        p.amount.amount,
        p.amount.currency.as_str()
    );
    if let Some(n) = &p.document_number {
        s.push_str(&format!(", № {n}"));
    }
    if let Some(t) = p.paid_at {
        s.push_str(&format!(", {}", t.format("%Y-%m-%d %H:%M UTC")));
    }
    if let Some(m) = &p.method {
        s.push_str(&format!(", {m}"));
    }
    s.push(' ');
    s.push_str(&payment_marker(p));
    s
}

#[async_trait]
impl CrmPayments for AmoDeals {
    async fn sync_payments(
        &self,
        deal_id: &str,
        payments: &[Payment],
    ) -> Result<u32, ConnectorError> {
        let lead_id = parse_id("lead id", deal_id)?;
        let paid_field = self.paid_field().await?.ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("amoCRM has no lead field {:?} for the paid amount: create a numeric lead field with that code, or configure its id", self.payments.paid_field),
            )
        })?;
        if let Some(p) = payments
            .iter()
            .find(|p| p.amount.currency != payments[0].amount.currency)
        {
            return Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                format!("lead {lead_id}: payment {}:{} is in {}, others in {}; one paid field cannot sum mixed currencies", p.source.system, p.source.id, p.amount.currency.as_str(), payments[0].amount.currency.as_str()),
            ));
        }
        let lead = self.client.find_lead(lead_id, &[]).await?.ok_or_else(|| {
            ConnectorError::new(
                ErrorKind::NotFound,
                SYSTEM,
                format!("lead {lead_id} does not exist in amoCRM (deleted?); its payments cannot be shown"),
            )
        })?;
        let have: BTreeSet<String> = self
            .client
            .lead_notes(lead_id, Some("common"))
            .await?
            .iter()
            .filter_map(|n| n.text())
            .flat_map(marked_keys)
            .collect();
        let mut seen = BTreeSet::new();
        let notes: Vec<Value> = payments
            .iter()
            .filter(|p| {
                let k = format!("{}:{}", p.source.system, p.source.id);
                !have.contains(&k) && seen.insert(k)
            })
            .map(|p| json!({ "note_type": "common", "params": { "text": note_text(p) } }))
            .collect();
        let mut writes = 0u32;
        // Notes first: if the field update then fails, the retry finds the notes and only
        // fixes the field.
        for chunk in notes.chunks(crate::client::MAX_LIMIT as usize) {
            self.client.add_lead_notes(lead_id, chunk).await?;
            writes += chunk.len() as u32;
        }
        let total: Decimal = payments.iter().map(|p| p.amount.amount).sum();
        let current = lead
            .field_text(paid_field)
            .and_then(|t| t.trim().parse::<Decimal>().ok());
        if current != Some(total) {
            self.client
                .update_leads(&[json!({
                    "id": lead_id,
                    "custom_fields_values": [{ "field_id": paid_field, "values": [{ "value": decimal_json(total) }] }],
                })])
                .await?;
            writes += 1;
        }
        Ok(writes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_in_note_text() {
        assert_eq!(
            marked_keys("Оплата 10 RUB [dealbridge payment 1c:A-1] x [dealbridge payment shop:7]"),
            vec!["1c:A-1".to_string(), "shop:7".to_string()]
        );
        assert!(marked_keys("no marker").is_empty());
    }
}
