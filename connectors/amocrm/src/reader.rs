//! [`CrmDealReader`] for amoCRM: leads changed since a time (`filter[updated_at][from]`,
//! `order[id]=asc`, `with=contacts,catalog_elements`), and one lead by id.
//!
//! **By id, not by `updated_at`.** Pages are page numbers over the sorted list. Sorted by
//! `updated_at`, a lead changed while the pages are read moves to the end and the lead at the
//! next page's start is never listed in that pass (the conformance suite's paging check showed
//! it); an id never changes, so sorted by id the pages stay put. The engine's cursor is the
//! newest `updated_at` of the whole pass, so it needs no order by time.
//!
//! A lead maps back to a [`Deal`]: stage = `status_id`, pipeline = `pipeline_id`, amount = the
//! exact-amount text field (`"10.50 RUB"`) when set, else the integer `price`; origin = the
//! external-id field (`"<system>:<id>"`; empty for a lead a manager created by hand); product
//! rows = linked catalog elements with their quantity, named and priced from one bulk read of
//! those elements per page; the main contact as a [`Contact`] whose `source` is the amoCRM
//! contact id; paid amount = the paid field (see [`crate::PaymentSettings`]).

use crate::client::{LeadsQuery, MAX_LIMIT};
use crate::crm::{json_decimal, parse_id, AmoDeals};
use crate::wire::{field_text, CatalogElement, Lead};
use crate::SYSTEM;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use dealbridge_sdk::error::{ConnectorError, ErrorKind};
use dealbridge_sdk::model::{Contact, CrmDealState, Deal, DealLine, ExternalRef, Page};
use dealbridge_sdk::money::Currency;
use dealbridge_sdk::traits::CrmDealReader;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// How leads are read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSettings {
    /// Currency of a lead without the exact-amount field (amoCRM's `price` is in the account
    /// currency, which the API does not name on the lead). Default `RUB`.
    pub currency: Currency,
    /// Whether product rows are read (one extra GET per page of leads that have rows, to name
    /// and price the linked elements). Default `true`.
    pub with_lines: bool,
}

impl Default for ReaderSettings {
    fn default() -> Self {
        ReaderSettings {
            currency: Currency::new("RUB").expect("RUB is a currency"),
            with_lines: true,
        }
    }
}

/// Whether the exact amount still describes the lead: it rounds (half away from zero) to the
/// integer budget amoCRM shows. A manager who edits the budget leaves the exact-amount field
/// as it was; the budget is then the lead's amount, or the edit would never be seen.
fn exact_matches_budget(exact: Decimal, budget: i64) -> bool {
    exact.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        == Decimal::from(budget)
}

/// `"shop:123"` → `shop` / `123`; anything else is "no origin" (both empty).
fn parse_origin(text: Option<String>) -> ExternalRef {
    match text.as_deref().and_then(|t| t.split_once(':')) {
        Some((s, i)) if !s.is_empty() && !i.is_empty() => ExternalRef {
            system: s.to_string(),
            id: i.to_string(),
        },
        _ => ExternalRef {
            system: String::new(),
            id: String::new(),
        },
    }
}

/// `"10.50 RUB"` → (10.50, RUB).
fn parse_exact(text: &str) -> Option<(Decimal, Currency)> {
    let (a, c) = text.trim().split_once(' ')?;
    Some((a.trim().parse().ok()?, Currency::new(c.trim()).ok()?))
}

impl AmoDeals {
    /// The paid field id, or `None` when the configured code does not exist.
    pub(crate) async fn paid_field(&self) -> Result<Option<u64>, ConnectorError> {
        self.paid_field
            .get_or_try_init(|| async {
                match &self.payments.paid_field {
                    crate::FieldRef::Id(id) => Ok(Some(*id)),
                    crate::FieldRef::Code(code) => Ok(self
                        .client
                        .lead_custom_fields()
                        .await?
                        .into_iter()
                        .find(|d| d.code.as_deref() == Some(code.as_str()))
                        .map(|d| d.id)),
                }
            })
            .await
            .copied()
    }

    /// Element id → element, for every catalog element linked to `leads` (bulk, by id).
    async fn linked_elements(
        &self,
        leads: &[Lead],
    ) -> Result<BTreeMap<u64, CatalogElement>, ConnectorError> {
        let mut by_catalog: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        let fallback = self.resolved().await?.catalog_id.unwrap_or(0);
        for l in leads {
            for e in &l.embedded.catalog_elements {
                let cat = e
                    .metadata
                    .as_ref()
                    .and_then(|m| m["catalog_id"].as_u64())
                    .unwrap_or(fallback);
                by_catalog.entry(cat).or_default().insert(e.id);
            }
        }
        let mut out = BTreeMap::new();
        for (cat, ids) in by_catalog {
            let ids: Vec<u64> = ids.into_iter().collect();
            for e in self.client.catalog_elements_by_ids(cat, &ids).await? {
                out.insert(e.id, e);
            }
        }
        Ok(out)
    }

    async fn to_states(&self, leads: Vec<Lead>) -> Result<Vec<CrmDealState>, ConnectorError> {
        let r = self.resolved().await?;
        let paid = self.paid_field().await?;
        let elements = if self.reader.with_lines {
            self.linked_elements(&leads).await?
        } else {
            BTreeMap::new()
        };
        // The catalog price field, by the conventional code (UNCONFIRMED), for row prices.
        let price_of = |e: &CatalogElement| -> Decimal {
            e.custom_fields_values
                .iter()
                .flatten()
                .find(|f| f.field_code.as_deref() == Some("PRICE"))
                .and_then(|f| f.values.first())
                .and_then(|v| json_decimal(&v.value))
                .unwrap_or_default()
        };
        leads
            .into_iter()
            .map(|l| {
                let budget = l.price.unwrap_or(0);
                let exact = r
                    .amount_field
                    .and_then(|a| l.field_text(a))
                    .and_then(|t| parse_exact(&t))
                    .filter(|(a, _)| exact_matches_budget(*a, budget));
                let (amount, currency) =
                    exact.unwrap_or_else(|| (Decimal::from(budget), self.reader.currency.clone()));
                let lines = if self.reader.with_lines {
                    l.embedded
                        .catalog_elements
                        .iter()
                        .map(|e| {
                            let el = elements.get(&e.id);
                            DealLine {
                                product_id: Some(e.id.to_string()),
                                name: el.map(|x| x.name.clone()).unwrap_or_default(),
                                price: el.map(price_of).unwrap_or_default(),
                                quantity: e
                                    .metadata
                                    .as_ref()
                                    .and_then(|m| json_decimal(&m["quantity"]))
                                    .unwrap_or(Decimal::ONE),
                                tax_rate: None,
                                tax_included: false,
                            }
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let contact = l
                    .embedded
                    .contacts
                    .iter()
                    .find(|c| c.is_main != Some(false))
                    .or(l.embedded.contacts.first())
                    .map(|c| Contact {
                        source: Some(ExternalRef {
                            system: self.client.config_name().to_string(),
                            id: c.id.to_string(),
                        }),
                        ..Default::default()
                    });
                let modified_at = l
                    .updated_at
                    .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
                    .unwrap_or_default();
                let paid_amount = paid
                    .and_then(|p| field_text(l.custom_fields_values.as_deref(), p))
                    .and_then(|t| t.trim().parse::<Decimal>().ok());
                Ok(CrmDealState {
                    id: l.id.to_string(),
                    deal: Deal {
                        title: l.name.clone(),
                        stage: l.status_id.to_string(),
                        pipeline: Some(l.pipeline_id.to_string()),
                        currency,
                        amount,
                        contact,
                        lines,
                        origin: parse_origin(l.field_text(r.origin_field)),
                        source_channel: None,
                        comments: None,
                    },
                    modified_at,
                    paid_amount,
                })
            })
            .collect()
    }
}

#[async_trait]
impl CrmDealReader for AmoDeals {
    /// Lead rows are catalog elements with a quantity; their price is the element's.
    fn rows_have_own_prices(&self) -> bool {
        false
    }

    async fn deals_modified_since(
        &self,
        since: Option<DateTime<Utc>>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<CrmDealState>, ConnectorError> {
        if page == 0 {
            return Err(ConnectorError::new(
                ErrorKind::Invalid,
                SYSTEM,
                "deals_modified_since: page is 1-based",
            ));
        }
        let q = LeadsQuery {
            updated_from: since.map(|s| s.timestamp()),
            with: vec!["contacts".into(), "catalog_elements".into()],
            page: Some(page),
            limit: Some(per_page.clamp(1, MAX_LIMIT)),
            order_id_asc: true,
            ..Default::default()
        };
        let hal = self.client.leads_page(&q).await?;
        let next_page = (hal.next.is_some() && !hal.items.is_empty()).then_some(page + 1);
        Ok(Page {
            items: self.to_states(hal.items).await?,
            next_page,
            total: None,
        })
    }

    async fn deal(&self, id: &str) -> Result<Option<CrmDealState>, ConnectorError> {
        let id = parse_id("lead id", id)?;
        match self
            .client
            .find_lead(id, &["contacts", "catalog_elements"])
            .await?
        {
            None => Ok(None),
            Some(l) if l.is_deleted => Ok(None),
            Some(l) => Ok(self.to_states(vec![l]).await?.pop()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_exact_amount_parse() {
        assert_eq!(
            parse_origin(Some("shop:12:3".into())),
            ExternalRef {
                system: "shop".into(),
                id: "12:3".into()
            }
        );
        assert_eq!(parse_origin(None).id, "");
        assert_eq!(parse_origin(Some("junk".into())).system, "");
        let (a, c) = parse_exact("10.50 RUB").unwrap();
        assert_eq!(a, Decimal::new(1050, 2));
        assert_eq!(c.as_str(), "RUB");
        assert!(parse_exact("10.50").is_none());
        assert!(exact_matches_budget(a, 11));
        assert!(!exact_matches_budget(a, 500), "a manager's new budget wins");
    }
}
