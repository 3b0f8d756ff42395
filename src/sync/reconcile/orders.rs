//! One order flow's reconciliation: the store's orders of the window and the CRM's deals that
//! carry the store as origin, read in pages at each vendor's budget (the connectors' own
//! limiters pace every read), matched by origin and compared.
//!
//! Costs: one listing of the orders and one of the deals changed in the window (a Bitrix24 deal
//! page is 2 calls for 50 deals with their rows), plus one read for each order whose deal was not
//! changed in the window and for each order the listing did not find at all (looked up by
//! origin before it is called missing), plus one read of the order for each deal whose order
//! is not in the window.

use super::compare::{compare_pair, duplicate, missing, orphan, paid, PairView};
use super::difference::{Checked, Difference, FlowReport};
use crate::sync::ids::{contact_key, entity_id};
use crate::sync::poll::{OrderFlow, Pages};
use crate::sync::worker::{read_with_retries, FlowTarget};
use crate::sync::SyncError;
use chrono::{DateTime, Utc};
use dealbridge_sdk::model::{CrmDealState, Order};
use dealbridge_sdk::traits::CrmDealReader;
use dealbridge_sdk::ConnectorError;
use dealbridge_store::EntityKind;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Retries of one read. A reconciliation is a long read-only walk at the vendor's budget: a
/// throttled or failed page is waited out (as long as the system asks), not the end of it.
const READ_RETRIES: usize = 6;

/// What one flow's reconciliation found, with the orders its fixes need.
#[derive(Debug, Default)]
pub struct FlowFindings {
    /// The flow's counts.
    pub report: FlowReport,
    /// Its differences.
    pub differences: Vec<Difference>,
    /// The orders the differences name, by store id (what `--fix` queues).
    pub orders: BTreeMap<String, Order>,
    /// The deal kept for each of those orders, when there is one (a two-way fix hands it to
    /// the pair's decide step).
    pub deals: BTreeMap<String, CrmDealState>,
}

/// The systems one flow's reconciliation reads.
struct Sides<'a> {
    flow: &'a OrderFlow,
    target: &'a FlowTarget,
    reader: &'a dyn CrmDealReader,
}

impl Sides<'_> {
    fn read_error(&self, e: ConnectorError) -> SyncError {
        SyncError::Source {
            flow: self.flow.name.clone(),
            source: e,
        }
    }
}

impl super::Reconciler {
    /// Reconciles the order flow `flow` over the orders and deals changed since `since`.
    pub async fn reconcile_flow(
        &self,
        flow: &OrderFlow,
        since: DateTime<Utc>,
    ) -> Result<FlowFindings, SyncError> {
        let mut found = FlowFindings {
            report: FlowReport {
                flow: flow.name.clone(),
                store: flow.source_system.clone(),
                crm: flow.target_system.clone(),
                ..FlowReport::default()
            },
            ..FlowFindings::default()
        };
        let (Some(target), Some(reader)) = (
            self.executor.flows.get(&flow.name),
            self.executor.readers.get(&flow.target_system),
        ) else {
            // `check` refuses such a config; nothing to compare with.
            return Ok(found);
        };
        let sides = Sides {
            flow,
            target,
            reader: reader.as_ref(),
        };
        let checked = &mut found.report.checked;
        let orders = list_orders(flow, since, checked).await?;
        let mut deals = list_deals(&sides, since, checked).await?;
        for order in orders.values() {
            let mine = deals.remove(&order.source.id).unwrap_or_default();
            self.reconcile_order(&sides, order, mine, &mut found)
                .await?;
        }
        // Deals of our origin whose order was not in the window: the order is read; an order
        // that no longer exists makes the deal an orphan.
        for (origin, mine) in deals {
            found.report.checked.reads += 1;
            let order = read_with_retries(READ_RETRIES, || flow.source.order(&origin))
                .await
                .map_err(|e| sides.read_error(e))?;
            match order {
                Some(order) => {
                    found.report.checked.orders += 1;
                    self.reconcile_order(&sides, &order, mine, &mut found)
                        .await?;
                }
                None => {
                    found.report.checked.deals += mine.len() as u64;
                    found
                        .differences
                        .extend(mine.iter().map(|d| orphan(&flow.name, d)));
                }
            }
        }
        found.report.differences = found.differences.len() as u64;
        Ok(found)
    }

    /// One order against the deals the listing found for it (`mine`, possibly none).
    async fn reconcile_order(
        &self,
        sides: &Sides<'_>,
        order: &Order,
        mut mine: Vec<CrmDealState>,
        found: &mut FlowFindings,
    ) -> Result<(), SyncError> {
        let flow = &sides.flow.name;
        let entity = entity_id(&order.source);
        let planned = match sides.target.plan_deal(&self.store, order).await? {
            Ok(deal) => deal,
            Err(_) => {
                // Its job is on the Errors page with the mapping's message; nothing to compare.
                found.report.checked.unmapped += 1;
                return Ok(());
            }
        };
        let bound = self
            .store
            .binding(&sides.flow.target_system, EntityKind::Deal, &entity)
            .await?;
        let bound_id = bound.as_ref().map(|b| b.external_id.clone());
        if mine.is_empty() {
            // Not changed in the window, or not there: read the bound deal, else look the
            // origin up, before calling it missing.
            let id = match &bound_id {
                Some(id) => Some(id.clone()),
                None => self.find_by_origin(sides, &planned).await?,
            };
            if let Some(id) = id {
                found.report.checked.reads += 1;
                if let Some(state) = read_with_retries(READ_RETRIES, || sides.reader.deal(&id))
                    .await
                    .map_err(|e| sides.read_error(e))?
                {
                    mine.push(state);
                }
            }
        }
        found.report.checked.deals += mine.len() as u64;
        if mine.is_empty() {
            found.differences.push(missing(
                flow,
                &order.source.id,
                &planned,
                bound_id.as_deref(),
            ));
            found.orders.insert(order.source.id.clone(), order.clone());
            return Ok(());
        }
        // The bound deal is the one kept; the others are duplicates.
        let kept = bound_id
            .as_ref()
            .and_then(|id| mine.iter().position(|d| &d.id == id))
            .unwrap_or(0);
        let deal = mine.remove(kept);
        let mut differences: Vec<Difference> = mine
            .iter()
            .map(|extra| duplicate(flow, &order.source.id, &deal.id, extra))
            .collect();
        if let Some(d) = self.paid_difference(sides, order, &deal).await? {
            differences.push(d);
        }
        let buyer_contact = self.buyer_contact(sides, order).await?;
        differences.extend(compare_pair(&PairView {
            flow,
            order_id: &order.source.id,
            planned: &planned,
            deal: &deal,
            buyer_contact: buyer_contact.as_deref(),
            two_way: sides.target.two_way.is_some(),
            stage_settled: sides.target.two_way.as_ref().is_some_and(|two| {
                two.mapping
                    .status_for_stage(&deal.deal.stage)
                    .is_none_or(|status| status == order.status)
            }),
            row_prices: sides.reader.rows_have_own_prices(),
        }));
        if differences.is_empty() {
            found.report.checked.agreeing += 1;
        } else {
            found.orders.insert(order.source.id.clone(), order.clone());
            found.deals.insert(order.source.id.clone(), deal);
            found.differences.extend(differences);
        }
        Ok(())
    }

    /// For a flow that carries payments to a CRM that shows a paid amount: whether the deal
    /// shows what the order's payments add up to.
    async fn paid_difference(
        &self,
        sides: &Sides<'_>,
        order: &Order,
        deal: &CrmDealState,
    ) -> Result<Option<Difference>, SyncError> {
        let (true, Some(shown)) = (sides.target.payments, deal.paid_amount) else {
            return Ok(None);
        };
        let entity = entity_id(&order.source);
        let due: Decimal = self
            .executor
            .payments_due(sides.target, &entity, order)
            .await
            .map_err(|e| sides.read_error(e.into_connector()))?
            .iter()
            .map(|p| p.amount.amount)
            .sum();
        Ok(paid(
            &sides.flow.name,
            &order.source.id,
            &deal.id,
            due,
            shown,
        ))
    }

    /// The deal carrying `planned`'s origin, looked up in the CRM (one call).
    async fn find_by_origin(
        &self,
        sides: &Sides<'_>,
        planned: &dealbridge_sdk::model::Deal,
    ) -> Result<Option<String>, SyncError> {
        let Some(crm) = self.executor.crms.get(&sides.flow.target_system) else {
            return Ok(None);
        };
        read_with_retries(READ_RETRIES, || crm.find_deal(&planned.origin))
            .await
            .map_err(|e| sides.read_error(e))
    }

    /// The CRM contact the engine bound to the order's buyer, if it knows one.
    async fn buyer_contact(
        &self,
        sides: &Sides<'_>,
        order: &Order,
    ) -> Result<Option<String>, SyncError> {
        let Some(key) = contact_key(&order.customer) else {
            return Ok(None);
        };
        Ok(self
            .store
            .binding(&sides.flow.target_system, EntityKind::Contact, &key)
            .await?
            .map(|b| b.external_id))
    }
}

/// The store's orders changed since `since`, by store id.
async fn list_orders(
    flow: &OrderFlow,
    since: DateTime<Utc>,
    checked: &mut Checked,
) -> Result<BTreeMap<String, Order>, SyncError> {
    let mut orders = BTreeMap::new();
    let mut pages = Pages::first();
    while let Some(page) = pages.current() {
        let listing = read_with_retries(READ_RETRIES, || {
            flow.source
                .orders_modified_since(Some(since), page, flow.page_size)
        })
        .await
        .map_err(|e| SyncError::Source {
            flow: flow.name.clone(),
            source: e,
        })?;
        checked.reads += 1;
        for order in &listing.items {
            orders.insert(order.source.id.clone(), order.clone());
        }
        pages.advance(&listing);
    }
    checked.orders += orders.len() as u64;
    Ok(orders)
}

/// The CRM's deals changed since `since` that carry this flow's store as origin, grouped by the
/// origin's id (more than one under an id is a duplicate).
async fn list_deals(
    sides: &Sides<'_>,
    since: DateTime<Utc>,
    checked: &mut Checked,
) -> Result<BTreeMap<String, Vec<CrmDealState>>, SyncError> {
    let mut deals: BTreeMap<String, Vec<CrmDealState>> = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut pages = Pages::first();
    while let Some(page) = pages.current() {
        let listing = read_with_retries(READ_RETRIES, || {
            sides
                .reader
                .deals_modified_since(Some(since), page, sides.flow.page_size)
        })
        .await
        .map_err(|e| sides.read_error(e))?;
        checked.reads += 1;
        for state in &listing.items {
            let origin = &state.deal.origin;
            // A deal listed twice (changed while the pages were read) counts once.
            if origin.system == sides.flow.source_system
                && !origin.id.is_empty()
                && seen.insert(state.id.clone())
            {
                deals
                    .entry(origin.id.clone())
                    .or_default()
                    .push(state.clone());
            }
        }
        pages.advance(&listing);
    }
    Ok(deals)
}
