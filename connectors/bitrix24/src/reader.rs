//! [`CrmDealReader`] for Bitrix24: deals changed since a time, by id, with their product rows;
//! one deal with its rows in one `batch`.
//!
//! **By id, not by `DATE_MODIFY`.** Pages are `start` offsets. Sorted by modification time, a
//! deal changed while the pages are read moves to the end, every later deal shifts back by one,
//! and the deal at the next page's start is never listed in that pass (the conformance suite's
//! paging check showed it); the engine then moves its cursor past it. An id never changes, so
//! sorted by id the pages stay put; the engine takes the newest `DATE_MODIFY` of the whole pass
//! for its cursor, so it needs no order by time.
//!
//! Requests: a page of up to 50 deals costs 2 (`crm.deal.list`, then one `batch` of
//! `crm.deal.productrows.get` for every deal on the page); [`CrmDealReader::deal`] costs 1.

use crate::client::Bitrix24Client;
use crate::wire::{parse_decimal_text, value_text, DealRecord, ProductRowRecord};
use crate::SYSTEM;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::{Contact, CrmDealState, Deal, DealLine, ExternalRef, Page};
use dealbridge_sdk::money::Currency;
use dealbridge_sdk::traits::CrmDealReader;
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// Bitrix24 list pages hold 50 rows, whatever the caller asks.
pub const DEAL_PAGE_SIZE: u32 = 50;

fn protocol(what: &str, e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Protocol,
        SYSTEM,
        format!("{what}: unexpected answer shape: {e}"),
    )
}

/// A time as a Bitrix24 filter value (ISO 8601 with offset, whole seconds).
pub(crate) fn filter_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// Reads a paid-amount user field: a number, or `"1500.00|RUB"` for a money-type field.
pub(crate) fn parse_paid(v: &Value) -> Option<Decimal> {
    let t = value_text(v)?;
    let amount = t.split('|').next().unwrap_or_default().trim();
    if amount.is_empty() {
        return None;
    }
    parse_decimal_text(amount)
}

impl Bitrix24Client {
    /// The fields a deal read selects.
    fn deal_select(&self) -> Vec<String> {
        let mut s: Vec<String> = [
            "ID",
            "TITLE",
            "STAGE_ID",
            "CATEGORY_ID",
            "OPPORTUNITY",
            "CURRENCY_ID",
            "ORIGINATOR_ID",
            "ORIGIN_ID",
            "CONTACT_ID",
            "DATE_MODIFY",
            "SOURCE_DESCRIPTION",
            "COMMENTS",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(f) = &self.settings().paid_amount_field {
            s.push(f.clone());
        }
        s
    }

    /// Turns a deal record and its rows into the canonical state.
    pub(crate) fn deal_state(
        &self,
        rec: DealRecord,
        rows: Vec<ProductRowRecord>,
    ) -> Result<CrmDealState, ConnectorError> {
        let what = format!("deal {}", rec.id);
        let modified = rec
            .date_modify
            .as_deref()
            .ok_or_else(|| protocol(&what, "no DATE_MODIFY"))?;
        let modified_at = DateTime::parse_from_rfc3339(modified)
            .map_err(|e| protocol(&what, format!("DATE_MODIFY `{modified}`: {e}")))?
            .with_timezone(&Utc);
        let currency_code = rec.currency_id.clone().unwrap_or_else(|| "RUB".into());
        let currency = Currency::new(&currency_code)
            .map_err(|_| protocol(&what, format!("currency `{currency_code}`")))?;
        // Both field formats read the same way (`parse_paid` drops a `|CUR` suffix).
        let paid_amount = self
            .settings()
            .paid_amount_field
            .as_ref()
            .and_then(|f| rec.other.get(f))
            .and_then(parse_paid);
        let text = |k: &str| {
            rec.other
                .get(k)
                .and_then(value_text)
                .filter(|t| !t.is_empty())
        };
        let lines = rows
            .into_iter()
            .map(|r| DealLine {
                product_id: r.product_id.filter(|p| p != "0" && !p.is_empty()),
                name: r.product_name.unwrap_or_default(),
                price: r.price,
                quantity: r.quantity,
                tax_rate: r.tax_rate,
                tax_included: r.tax_included.as_deref() == Some("Y"),
            })
            .collect();
        let deal = Deal {
            title: rec.title.clone().unwrap_or_default(),
            stage: rec.stage_id.clone().unwrap_or_default(),
            pipeline: rec.category_id.clone(),
            currency,
            amount: rec.opportunity.unwrap_or(Decimal::ZERO),
            contact: rec
                .contact_id
                .clone()
                .filter(|c| c != "0")
                .map(|id| Contact {
                    source: Some(ExternalRef {
                        system: self.config_name().to_string(),
                        id,
                    }),
                    ..Contact::default()
                }),
            lines,
            origin: ExternalRef {
                system: rec.originator_id.clone().unwrap_or_default(),
                id: rec.origin_id.clone().unwrap_or_default(),
            },
            source_channel: text("SOURCE_DESCRIPTION"),
            comments: text("COMMENTS"),
        };
        Ok(CrmDealState {
            id: rec.id,
            deal,
            modified_at,
            paid_amount,
        })
    }
}

fn rows_of(v: &Value, id: &str) -> Result<Vec<ProductRowRecord>, ConnectorError> {
    serde_json::from_value(v.clone())
        .map_err(|e| protocol(&format!("crm.deal.productrows.get for deal {id}"), e))
}

#[async_trait]
impl CrmDealReader for Bitrix24Client {
    /// `page` maps to `start = (page - 1) * 50`; `per_page` is ignored: Bitrix24 pages hold
    /// 50 rows. Order: `ID` ascending (see the module docs); the filter is `>=DATE_MODIFY`, so
    /// deals changed in the `since` second are read again (the engine's snapshot hash makes
    /// that free).
    async fn deals_modified_since(
        &self,
        since: Option<DateTime<Utc>>,
        page: u32,
        _per_page: u32,
    ) -> Result<Page<CrmDealState>, ConnectorError> {
        let page = page.max(1);
        let mut params = json!({
            "order": { "ID": "ASC" },
            "select": self.deal_select(),
            "start": u64::from(page - 1) * u64::from(DEAL_PAGE_SIZE),
        });
        if let Some(t) = since {
            params["filter"] = json!({ ">=DATE_MODIFY": filter_time(t) });
        }
        let listed = self.call("crm.deal.list", params).await?;
        let recs: Vec<DealRecord> =
            serde_json::from_value(listed.result).map_err(|e| protocol("crm.deal.list", e))?;
        let mut items = Vec::with_capacity(recs.len());
        if !recs.is_empty() {
            let cmds: Vec<(String, &str, Value)> = recs
                .iter()
                .map(|r| {
                    (
                        format!("r{}", r.id),
                        "crm.deal.productrows.get",
                        json!({ "id": r.id }),
                    )
                })
                .collect();
            let answer = self.batch(false, &cmds).await?;
            for rec in recs {
                let rows = rows_of(answer.get(&format!("r{}", rec.id))?, &rec.id)?;
                items.push(self.deal_state(rec, rows)?);
            }
        }
        Ok(Page {
            items,
            next_page: listed.next.map(|_| page + 1),
            total: listed.total,
        })
    }

    async fn deal(&self, id: &str) -> Result<Option<CrmDealState>, ConnectorError> {
        let cmds = [
            ("deal", "crm.deal.get", json!({ "id": id })),
            ("rows", "crm.deal.productrows.get", json!({ "id": id })),
        ];
        let answer = self.batch(false, &cmds).await?;
        if let Some(e) = answer.errors.get("deal") {
            if e.error_description
                .to_ascii_lowercase()
                .contains("not found")
            {
                return Ok(None);
            }
        }
        let rec: DealRecord = serde_json::from_value(answer.get("deal")?.clone())
            .map_err(|e| protocol("crm.deal.get", e))?;
        let rows = rows_of(answer.get("rows")?, id)?;
        self.deal_state(rec, rows).map(Some)
    }
}
