//! One order against the deal(s) that carry its origin: pure, so every kind of difference is
//! unit-tested without a system.
//!
//! The store side is the deal the mapping plans for the order *now* (the worker's own planner),
//! so "differs" means "the worker would write something else", never a formatting artefact. Rows
//! compare as the two-way merge compares them (name, price, quantity; order ignored).

use super::difference::{Difference, DifferenceKind, FixAction};
use crate::sync::ids::contact_key;
use crate::sync::two_way::merge::lines_value;
use dealbridge_sdk::model::{CrmDealState, Deal};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// What [`compare_pair`] compares.
#[derive(Debug, Clone, Copy)]
pub struct PairView<'a> {
    /// The flow.
    pub flow: &'a str,
    /// The order's id in the store.
    pub order_id: &'a str,
    /// The deal the mapping plans for the order now.
    pub planned: &'a Deal,
    /// The deal as the CRM holds it.
    pub deal: &'a CrmDealState,
    /// The CRM contact the engine bound to the order's buyer, when it knows one.
    pub buyer_contact: Option<&'a str>,
    /// The flow is one side of a two-way pair (fixes go through the pair's decide step).
    pub two_way: bool,
    /// Two-way only: the deal's stage means the order's status, or no store status at all
    /// (a stage the store cannot express, e.g. `EXECUTING`), so the pair agrees on the stage
    /// whatever the order's status maps to: a pull would leave the order as it is.
    pub stage_settled: bool,
    /// The CRM's rows carry their own price ([`CrmDealReader::rows_have_own_prices`]); when
    /// not, rows compare by name and quantity.
    ///
    /// [`CrmDealReader::rows_have_own_prices`]: dealbridge_sdk::traits::CrmDealReader::rows_have_own_prices
    pub row_prices: bool,
}

impl PairView<'_> {
    fn difference(
        &self,
        kind: DifferenceKind,
        store_value: Value,
        crm_value: Value,
        note: String,
    ) -> Difference {
        let fix = if self.two_way {
            FixAction::MergePair
        } else {
            FixAction::RewriteDeal
        };
        let note = match fix {
            FixAction::MergePair => {
                format!("{note}; the pair's decide step settles it by the field's owner")
            }
            _ => format!("{note}; the deal is written again from the order"),
        };
        Difference {
            kind,
            flow: Some(self.flow.to_string()),
            catalog: None,
            store_id: Some(self.order_id.to_string()),
            crm_id: Some(self.deal.id.clone()),
            field: Some(kind.as_str().to_string()),
            store_value,
            crm_value,
            fix,
            note,
        }
    }
}

/// The rows as compared: [`lines_value`]'s shape, sorted, so a manager's reordering is no
/// difference. When the CRM's rows have no price of their own they are links to catalog
/// products, one per product (amoCRM links an element once per lead, with the summed
/// quantity), so they compare as name → total quantity.
fn rows(deal: &Deal, with_price: bool) -> Value {
    if !with_price {
        let mut by_name: std::collections::BTreeMap<&str, Decimal> = Default::default();
        for l in &deal.lines {
            *by_name.entry(l.name.as_str()).or_default() += l.quantity;
        }
        return Value::Array(
            by_name
                .into_iter()
                .map(|(name, q)| json!({ "name": name, "quantity": q.normalize().to_string() }))
                .collect(),
        );
    }
    let mut rows = match lines_value(&deal.lines) {
        Value::Array(rows) => rows,
        _ => Vec::new(),
    };
    rows.sort_by_key(|r| r.to_string());
    Value::Array(rows)
}

/// The CRM contact id on a deal, if any.
fn contact_id(deal: &Deal) -> Option<&str> {
    deal.contact
        .as_ref()
        .and_then(|c| c.source.as_ref())
        .map(|s| s.id.as_str())
        .filter(|id| !id.is_empty())
}

/// Every field in which the CRM's deal differs from the planned one.
pub fn compare_pair(view: &PairView<'_>) -> Vec<Difference> {
    let (planned, crm) = (view.planned, &view.deal.deal);
    let mut out = Vec::new();
    if planned.currency != crm.currency {
        out.push(view.difference(
            DifferenceKind::Currency,
            json!(planned.currency.as_str()),
            json!(crm.currency.as_str()),
            format!(
                "the order is in {}, the deal in {}",
                planned.currency.as_str(),
                crm.currency.as_str()
            ),
        ));
    }
    if planned.amount.normalize() != crm.amount.normalize() {
        out.push(view.difference(
            DifferenceKind::Amount,
            json!(planned.amount.normalize().to_string()),
            json!(crm.amount.normalize().to_string()),
            format!(
                "the order's total is {}, the deal's amount {}",
                planned.amount.normalize(),
                crm.amount.normalize()
            ),
        ));
    }
    if planned.stage != crm.stage && !view.stage_settled {
        out.push(view.difference(
            DifferenceKind::Stage,
            json!(planned.stage),
            json!(crm.stage),
            format!(
                "the order's status maps to stage {}, the deal is at {}",
                planned.stage, crm.stage
            ),
        ));
    }
    let (want, have) = (rows(planned, view.row_prices), rows(crm, view.row_prices));
    if want != have {
        out.push(view.difference(
            DifferenceKind::Rows,
            want,
            have,
            "the deal's product rows are not the order's lines".to_string(),
        ));
    }
    if let Some(d) = contact_difference(view) {
        out.push(d);
    }
    out
}

/// The deal has no contact while the order has a buyer, or a contact other than the one the
/// engine bound to that buyer.
fn contact_difference(view: &PairView<'_>) -> Option<Difference> {
    // A buyer without e-mail or phone gets no contact from the worker either.
    view.planned.contact.as_ref().and_then(contact_key)?;
    let have = contact_id(&view.deal.deal);
    let note = match (have, view.buyer_contact) {
        (None, _) => "the deal has no contact; the order has a buyer".to_string(),
        (Some(h), Some(want)) if h != want => {
            format!("the deal's contact is {h}, the order's buyer is contact {want}")
        }
        _ => return None,
    };
    Some(view.difference(
        DifferenceKind::Contact,
        json!(view.buyer_contact),
        json!(have),
        note,
    ))
}

/// The deal shows `shown` paid where the payments recorded for the order add up to `due`.
pub fn paid(
    flow: &str,
    order_id: &str,
    deal_id: &str,
    due: Decimal,
    shown: Decimal,
) -> Option<Difference> {
    if due.normalize() == shown.normalize() {
        return None;
    }
    Some(Difference {
        kind: DifferenceKind::Paid,
        flow: Some(flow.to_string()),
        catalog: None,
        store_id: Some(order_id.to_string()),
        crm_id: Some(deal_id.to_string()),
        field: Some("paid".to_string()),
        store_value: json!(due.normalize().to_string()),
        crm_value: json!(shown.normalize().to_string()),
        fix: FixAction::SyncPayments,
        note: format!(
            "payments recorded for the order add up to {}, the deal shows {} paid; the order's payments are written to the deal again",
            due.normalize(),
            shown.normalize()
        ),
    })
}

/// An order with no deal in the CRM. `gone` is the id of the deal the engine had bound, when
/// it had one (deleted in the CRM since).
pub fn missing(flow: &str, order_id: &str, planned: &Deal, gone: Option<&str>) -> Difference {
    let note = match gone {
        Some(id) => format!("deal {id} the order was linked to no longer exists; a new deal is created (looked up by origin first)"),
        None => "no deal carries this order's origin; the deal is created (looked up by origin first)".to_string(),
    };
    Difference {
        kind: DifferenceKind::MissingInCrm,
        flow: Some(flow.to_string()),
        catalog: None,
        store_id: Some(order_id.to_string()),
        crm_id: gone.map(str::to_string),
        field: None,
        store_value: json!({
            "title": planned.title,
            "amount": planned.amount.normalize().to_string(),
            "currency": planned.currency.as_str(),
            "stage": planned.stage,
        }),
        crm_value: Value::Null,
        fix: FixAction::CreateDeal,
        note,
    }
}

/// A deal beside the one kept for an order that more than one deal mirrors.
pub fn duplicate(flow: &str, order_id: &str, kept: &str, extra: &CrmDealState) -> Difference {
    Difference {
        kind: DifferenceKind::DuplicateInCrm,
        flow: Some(flow.to_string()),
        catalog: None,
        store_id: Some(order_id.to_string()),
        crm_id: Some(extra.id.clone()),
        field: None,
        store_value: json!(kept),
        crm_value: json!(extra.id),
        fix: FixAction::ReleaseDuplicate,
        note: format!(
            "deals {kept} and {} both mirror order {order_id}; {kept} stays linked, {} stops claiming the order and gets a note to merge or close it (dealbridge never deletes a deal)",
            extra.id, extra.id
        ),
    }
}

/// A deal with our origin whose order the store does not have.
pub fn orphan(flow: &str, deal: &CrmDealState) -> Difference {
    Difference {
        kind: DifferenceKind::OrphanInCrm,
        flow: Some(flow.to_string()),
        catalog: None,
        store_id: None,
        crm_id: Some(deal.id.clone()),
        field: None,
        store_value: Value::Null,
        crm_value: json!({
            "origin": deal.deal.origin.id,
            "title": deal.deal.title,
            "amount": deal.deal.amount.normalize().to_string(),
        }),
        fix: FixAction::ByHand,
        note: format!(
            "deal {} mirrors order {} of {}, which the store does not have (deleted there?); close or delete the deal in the CRM",
            deal.id, deal.deal.origin.id, deal.deal.origin.system
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use dealbridge_sdk::model::{Contact, DealLine, ExternalRef};
    use dealbridge_sdk::Currency;
    use rust_decimal_macros::dec;

    fn deal() -> Deal {
        Deal {
            title: "Order #1".into(),
            stage: "NEW".into(),
            pipeline: None,
            currency: Currency::new("RUB").unwrap(),
            amount: dec!(450.50),
            contact: Some(Contact {
                email: Some("a@example.com".into()),
                ..Contact::default()
            }),
            lines: vec![
                DealLine {
                    product_id: None,
                    name: "Tea".into(),
                    price: dec!(150.50),
                    quantity: dec!(1),
                    tax_rate: None,
                    tax_included: true,
                },
                DealLine {
                    product_id: None,
                    name: "Shipping".into(),
                    price: dec!(300),
                    quantity: dec!(1),
                    tax_rate: None,
                    tax_included: true,
                },
            ],
            origin: ExternalRef {
                system: "shop".into(),
                id: "1".into(),
            },
            source_channel: None,
            comments: None,
        }
    }

    fn state(mut d: Deal, contact: Option<&str>) -> CrmDealState {
        d.contact = contact.map(|id| Contact {
            source: Some(ExternalRef {
                system: "crm".into(),
                id: id.into(),
            }),
            ..Contact::default()
        });
        CrmDealState {
            id: "42".into(),
            deal: d,
            modified_at: Utc::now(),
            paid_amount: None,
        }
    }

    fn kinds(
        planned: &Deal,
        crm: &CrmDealState,
        two_way: bool,
    ) -> Vec<(DifferenceKind, FixAction)> {
        compare_pair(&PairView {
            flow: "orders",
            order_id: "1",
            planned,
            deal: crm,
            buyer_contact: Some("7"),
            two_way,
            stage_settled: false,
            row_prices: true,
        })
        .into_iter()
        .map(|d| (d.kind, d.fix))
        .collect()
    }

    #[test]
    fn an_equal_deal_has_no_difference_whatever_the_row_order_or_scale() {
        let planned = deal();
        let mut same = deal();
        same.lines.reverse();
        same.amount = dec!(450.5000);
        same.lines[0].price = dec!(300.00);
        assert!(kinds(&planned, &state(same, Some("7")), false).is_empty());
    }

    #[test]
    fn each_field_is_its_own_difference_with_both_values() {
        let planned = deal();
        let mut crm = deal();
        crm.amount = dec!(999);
        crm.stage = "WON".into();
        crm.currency = Currency::new("USD").unwrap();
        crm.lines[0].quantity = dec!(3);
        let found = compare_pair(&PairView {
            flow: "orders",
            order_id: "1",
            planned: &planned,
            deal: &state(crm, Some("8")),
            buyer_contact: Some("7"),
            two_way: false,
            stage_settled: false,
            row_prices: true,
        });
        let got: Vec<_> = found.iter().map(|d| d.kind).collect();
        assert_eq!(
            got,
            vec![
                DifferenceKind::Currency,
                DifferenceKind::Amount,
                DifferenceKind::Stage,
                DifferenceKind::Rows,
                DifferenceKind::Contact
            ]
        );
        let amount = &found[1];
        assert_eq!(amount.store_value, json!("450.5"));
        assert_eq!(amount.crm_value, json!("999"));
        assert_eq!(amount.crm_id.as_deref(), Some("42"));
        assert!(found.iter().all(|d| d.fix == FixAction::RewriteDeal));
    }

    #[test]
    fn rows_without_own_prices_compare_by_name_and_quantity() {
        let planned = deal();
        let mut crm = deal();
        crm.lines[0].price = dec!(999); // the catalog product's price, not this deal's
        let view = |crm: &CrmDealState| {
            compare_pair(&PairView {
                flow: "orders",
                order_id: "1",
                planned: &planned,
                deal: crm,
                buyer_contact: Some("7"),
                two_way: false,
                stage_settled: false,
                row_prices: false,
            })
            .len()
        };
        assert_eq!(view(&state(crm.clone(), Some("7"))), 0);
        // One product on two order lines is one link with the summed quantity.
        let mut split = deal();
        split.lines.push(split.lines[0].clone());
        let mut linked = deal();
        linked.lines[0].quantity = dec!(2);
        let n = compare_pair(&PairView {
            flow: "orders",
            order_id: "1",
            planned: &split,
            deal: &state(linked, Some("7")),
            buyer_contact: Some("7"),
            two_way: false,
            stage_settled: false,
            row_prices: false,
        })
        .len();
        assert_eq!(n, 0);
        crm.lines[0].quantity = dec!(2);
        assert_eq!(view(&state(crm, Some("7"))), 1, "a quantity still differs");
    }

    #[test]
    fn a_settled_two_way_stage_is_no_difference() {
        let planned = deal();
        let mut crm = deal();
        crm.stage = "EXECUTING".into();
        let n = compare_pair(&PairView {
            flow: "orders",
            order_id: "1",
            planned: &planned,
            deal: &state(crm, Some("7")),
            buyer_contact: Some("7"),
            two_way: true,
            stage_settled: true,
            row_prices: true,
        })
        .len();
        assert_eq!(n, 0);
    }

    #[test]
    fn a_two_way_pair_is_fixed_by_its_decide_step() {
        let planned = deal();
        let mut crm = deal();
        crm.stage = "WON".into();
        assert_eq!(
            kinds(&planned, &state(crm, Some("7")), true),
            vec![(DifferenceKind::Stage, FixAction::MergePair)]
        );
    }

    #[test]
    fn a_deal_without_contact_differs_only_when_the_order_has_a_buyer() {
        let planned = deal();
        assert_eq!(
            kinds(&planned, &state(deal(), None), false),
            vec![(DifferenceKind::Contact, FixAction::RewriteDeal)]
        );
        let mut anonymous = deal();
        anonymous.contact = None;
        assert!(kinds(&anonymous, &state(deal(), None), false).is_empty());
    }

    #[test]
    fn paid_differs_only_when_the_sums_do() {
        assert!(paid("orders", "1", "42", dec!(100.00), dec!(100)).is_none());
        let d = paid("orders", "1", "42", dec!(150.5), dec!(100)).unwrap();
        assert_eq!(
            (d.kind, d.fix),
            (DifferenceKind::Paid, FixAction::SyncPayments)
        );
        assert_eq!((d.store_value, d.crm_value), (json!("150.5"), json!("100")));
    }

    #[test]
    fn missing_duplicate_and_orphan_say_what_happens() {
        let d = missing("orders", "1", &deal(), Some("42"));
        assert_eq!(d.fix, FixAction::CreateDeal);
        assert!(d.note.contains("42"), "{}", d.note);
        let extra = state(deal(), None);
        let d = duplicate("orders", "1", "41", &extra);
        assert_eq!(
            (d.kind, d.fix),
            (DifferenceKind::DuplicateInCrm, FixAction::ReleaseDuplicate)
        );
        assert!(d.note.contains("never deletes"), "{}", d.note);
        assert_eq!(d.store_value, json!("41"), "the deal kept");
        let d = orphan("orders", &extra);
        assert_eq!(d.store_id, None);
        assert_eq!(d.crm_id.as_deref(), Some("42"));
    }
}
