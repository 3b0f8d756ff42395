//! Three-way merge of an order/deal pair, in deal terms.
//!
//! Each side is compared with *its own* base: the store side as "the deal the current order plans
//! to" against "the deal the last synced order planned to", the CRM side as "the deal as the CRM
//! shows it now" against "the deal we last wrote or saw". Comparing each side in its own terms is
//! what keeps a stage the store cannot express (a manager's `EXECUTING` with no store status)
//! from looking like a store change on the next pass, and what makes our own write coming back
//! (as a webhook or a poll result) a no-op: it equals the base we saved with it.
//!
//! A field changed on one side takes that side's value; changed on both to the same value is no
//! conflict; changed on both to different values is a conflict decided by the field's owner
//! (`[fields]` in the mapping). `manual` decides nothing: the whole pair is held until someone
//! resolves the conflict (`dealbridge conflicts resolve`), whose decision is then passed in as a
//! resolution.
//!
//! Compared fields: stage, title, amount and product rows (name, price, quantity). The contact,
//! comments and source channel only flow store → CRM.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dealbridge_sdk::model::{Deal, DealLine};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::mapping::{FieldOwnership, OwnedField, Owner};

/// One side of the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// The store (orders).
    Store,
    /// The CRM (deals).
    Crm,
}

/// The four deals a merge compares, and when each side last changed.
#[derive(Debug, Clone, Copy)]
pub struct MergeInput<'a> {
    /// The deal the store's current order plans to.
    pub store_now: &'a Deal,
    /// The deal the last synced order planned to (the store side's base).
    pub store_base: &'a Deal,
    /// The deal as the CRM shows it now.
    pub crm_now: &'a Deal,
    /// The deal as we last wrote or saw it in the CRM (the CRM side's base).
    pub crm_base: &'a Deal,
    /// When the store's order last changed.
    pub store_modified: DateTime<Utc>,
    /// When the CRM's deal last changed.
    pub crm_modified: DateTime<Utc>,
}

/// The merged values of the compared fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// Stage id in the CRM's terms.
    pub stage: String,
    /// Deal title.
    pub title: String,
    /// Deal amount.
    pub amount: Decimal,
    /// Product rows.
    pub lines: Vec<DealLine>,
}

/// A field both sides changed to different values.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldConflict {
    /// The field.
    pub field: OwnedField,
    /// Its value in the base (the CRM side's base, which is what both last agreed on).
    pub base: Value,
    /// The store's value.
    pub store: Value,
    /// The CRM's value.
    pub crm: Value,
    /// The rule applied (the field's owner).
    pub rule: Owner,
    /// The side that won; `None` under `manual` (held for a person).
    pub winner: Option<Side>,
    /// A sentence for `conflicts show`.
    pub reason: String,
}

/// The result of a merge.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeOutcome {
    /// The values both systems should end up with.
    pub merged: Merged,
    /// Fields changed on both sides.
    pub conflicts: Vec<FieldConflict>,
    /// Which side changed which field (for the journal and the summary).
    pub changed: Vec<(OwnedField, Side)>,
}

impl MergeOutcome {
    /// Whether a `manual` conflict holds the pair's writes.
    pub fn held(&self) -> bool {
        self.conflicts.iter().any(|c| c.winner.is_none())
    }
}

/// A person's decision for a field (from a resolved `manual` conflict): the winning value.
pub type Resolutions = BTreeMap<OwnedField, Value>;

/// Merges the pair field by field.
pub fn merge(
    input: &MergeInput<'_>,
    ownership: &FieldOwnership,
    resolutions: &Resolutions,
) -> MergeOutcome {
    let mut out = MergeOutcome {
        merged: Merged {
            stage: String::new(),
            title: String::new(),
            amount: Decimal::ZERO,
            lines: Vec::new(),
        },
        conflicts: Vec::new(),
        changed: Vec::new(),
    };
    let mut ctx = FieldCtx {
        input,
        ownership,
        resolutions,
        out: &mut out,
    };
    let stage = ctx.field(OwnedField::Stage, |d| json!(d.stage));
    let title = ctx.field(OwnedField::Title, |d| json!(d.title));
    let amount = ctx.field(OwnedField::Amount, |d| {
        json!(d.amount.normalize().to_string())
    });
    let lines = ctx.field(OwnedField::Lines, |d| lines_value(&d.lines));
    let pick = |side: Pick| match side {
        Pick::Store => input.store_now,
        Pick::Crm => input.crm_now,
        Pick::Base => input.crm_base,
    };
    out.merged = Merged {
        stage: resolved_str(resolutions, OwnedField::Stage)
            .unwrap_or_else(|| pick(stage).stage.clone()),
        title: resolved_str(resolutions, OwnedField::Title)
            .unwrap_or_else(|| pick(title).title.clone()),
        amount: resolved_str(resolutions, OwnedField::Amount)
            .and_then(|s| s.parse().ok())
            .unwrap_or(pick(amount).amount),
        lines: resolutions
            .get(&OwnedField::Lines)
            .and_then(lines_from_value)
            .unwrap_or_else(|| pick(lines).lines.clone()),
    };
    out
}

/// Which deal a field's merged value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pick {
    Store,
    Crm,
    Base,
}

struct FieldCtx<'a, 'b> {
    input: &'a MergeInput<'a>,
    ownership: &'a FieldOwnership,
    resolutions: &'a Resolutions,
    out: &'b mut MergeOutcome,
}

impl FieldCtx<'_, '_> {
    /// Decides one field; records what changed and any conflict.
    fn field(&mut self, field: OwnedField, value: impl Fn(&Deal) -> Value) -> Pick {
        let i = self.input;
        let store_now = value(i.store_now);
        let crm_now = value(i.crm_now);
        let store_changed = store_now != value(i.store_base);
        let crm_changed = crm_now != value(i.crm_base);
        match (store_changed, crm_changed) {
            (false, false) => return Pick::Crm,
            (true, false) => {
                self.out.changed.push((field, Side::Store));
                return Pick::Store;
            }
            (false, true) => {
                self.out.changed.push((field, Side::Crm));
                return Pick::Crm;
            }
            (true, true) if store_now == crm_now => {
                self.out.changed.push((field, Side::Store));
                self.out.changed.push((field, Side::Crm));
                return Pick::Store;
            }
            (true, true) => {}
        }
        if self.resolutions.contains_key(&field) {
            // A person already decided this field; the caller applies their value.
            return Pick::Base;
        }
        let rule = self.ownership.owner(field);
        let name = field.as_str();
        let (winner, reason) = match rule {
            Owner::Store => (
                Some(Side::Store),
                format!("both changed `{name}`; the store owns it ([fields] {name} = \"store\")"),
            ),
            Owner::Crm => (
                Some(Side::Crm),
                format!("both changed `{name}`; the CRM owns it ([fields] {name} = \"crm\")"),
            ),
            Owner::Newest | Owner::Erp => {
                // 1C is not a party to a store ↔ CRM pair; an `erp`-owned field changed on both
                // sides falls back to the newest change (said in the reason).
                let side = if i.crm_modified > i.store_modified {
                    Side::Crm
                } else {
                    Side::Store
                };
                let why = if rule == Owner::Erp {
                    "1C owns it but is not part of this flow, so the newer change wins"
                } else {
                    "the newer change wins"
                };
                let when = match side {
                    Side::Store => i.store_modified,
                    Side::Crm => i.crm_modified,
                };
                (
                    Some(side),
                    format!(
                        "both changed `{name}`; {why} ({} at {})",
                        side_name(side),
                        when.to_rfc3339()
                    ),
                )
            }
            Owner::Manual => (
                None,
                format!(
                    "both changed `{name}` and [fields] {name} = \"manual\": nothing is written to either side until `dealbridge conflicts resolve` decides"
                ),
            ),
        };
        self.out.conflicts.push(FieldConflict {
            field,
            base: value(i.crm_base),
            store: store_now,
            crm: crm_now,
            rule,
            winner,
            reason,
        });
        match winner {
            Some(Side::Store) => Pick::Store,
            Some(Side::Crm) => Pick::Crm,
            None => Pick::Base,
        }
    }
}

/// `store` or `crm`, as written in reasons.
pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Store => "store",
        Side::Crm => "crm",
    }
}

fn resolved_str(resolutions: &Resolutions, field: OwnedField) -> Option<String> {
    resolutions
        .get(&field)
        .and_then(|v| v.as_str().map(str::to_string))
}

/// The compared projection of product rows: name, price and quantity, normalised so `10.00` and
/// `10` are equal (a CRM reads amounts back in its own scale).
pub fn lines_value(lines: &[DealLine]) -> Value {
    Value::Array(
        lines
            .iter()
            .map(|l| {
                json!({
                    "name": l.name,
                    "price": l.price.normalize().to_string(),
                    "quantity": l.quantity.normalize().to_string(),
                })
            })
            .collect(),
    )
}

/// Rows from a [`lines_value`]-shaped value (a resolved conflict's chosen rows).
pub fn lines_from_value(v: &Value) -> Option<Vec<DealLine>> {
    v.as_array()?
        .iter()
        .map(|row| {
            Some(DealLine {
                product_id: None,
                name: row.get("name")?.as_str()?.to_string(),
                price: row.get("price")?.as_str()?.parse().ok()?,
                quantity: row.get("quantity")?.as_str()?.parse().ok()?,
                tax_rate: None,
                tax_included: false,
            })
        })
        .collect()
}

/// Whether two deals agree on every compared field (stage, title, amount, rows).
pub fn same_compared_fields(a: &Deal, b: &Deal) -> bool {
    a.stage == b.stage
        && a.title == b.title
        && a.amount == b.amount
        && lines_value(&a.lines) == lines_value(&b.lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dealbridge_sdk::model::ExternalRef;
    use dealbridge_sdk::Currency;
    use rust_decimal_macros::dec;

    fn deal(stage: &str, lines: &[(&str, Decimal, Decimal)]) -> Deal {
        Deal {
            title: "Order #1".into(),
            stage: stage.into(),
            pipeline: None,
            currency: Currency::new("RUB").unwrap(),
            amount: lines.iter().map(|(_, p, q)| p * q).sum(),
            contact: None,
            lines: lines
                .iter()
                .map(|(n, p, q)| DealLine {
                    product_id: None,
                    name: (*n).into(),
                    price: *p,
                    quantity: *q,
                    tax_rate: None,
                    tax_included: false,
                })
                .collect(),
            origin: ExternalRef {
                system: "shop".into(),
                id: "1".into(),
            },
            source_channel: None,
            comments: None,
        }
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn run(
        store_base: &Deal,
        store_now: &Deal,
        crm_base: &Deal,
        crm_now: &Deal,
        own: &FieldOwnership,
    ) -> MergeOutcome {
        merge(
            &MergeInput {
                store_now,
                store_base,
                crm_now,
                crm_base,
                store_modified: t(10),
                crm_modified: t(20),
            },
            own,
            &Resolutions::new(),
        )
    }

    #[test]
    fn one_sided_changes_take_that_side() {
        let base = deal("NEW", &[("Tea", dec!(10), dec!(1))]);
        let moved = deal("WON", &[("Tea", dec!(10), dec!(1))]);
        let out = run(&base, &base, &base, &moved, &FieldOwnership::default());
        assert_eq!(out.merged.stage, "WON");
        assert_eq!(out.changed, vec![(OwnedField::Stage, Side::Crm)]);
        assert!(out.conflicts.is_empty());

        let more = deal("NEW", &[("Tea", dec!(10), dec!(2))]);
        let out = run(&base, &more, &base, &base, &FieldOwnership::default());
        assert_eq!(out.merged.lines[0].quantity, dec!(2));
        assert_eq!(out.merged.amount, dec!(20));
        assert!(out.conflicts.is_empty());
    }

    #[test]
    fn our_own_write_coming_back_is_no_change() {
        let base = deal("WON", &[("Tea", dec!(10.00), dec!(1))]);
        // The CRM reads the amount back in its own scale: 10 vs 10.00 is not a change.
        let echoed = deal("WON", &[("Tea", dec!(10), dec!(1.0))]);
        let out = run(&base, &base, &base, &echoed, &FieldOwnership::default());
        assert!(out.changed.is_empty());
        assert!(same_compared_fields(&base, &echoed));
    }

    #[test]
    fn both_changed_the_owner_wins_and_the_conflict_is_recorded() {
        let base = deal("NEW", &[]);
        let store = deal("PREPARATION", &[]);
        let crm = deal("WON", &[]);
        let out = run(&base, &store, &base, &crm, &FieldOwnership::default());
        // Default owner of the stage is the CRM.
        assert_eq!(out.merged.stage, "WON");
        assert_eq!(out.conflicts.len(), 1);
        let c = &out.conflicts[0];
        assert_eq!(c.field, OwnedField::Stage);
        assert_eq!(c.base, json!("NEW"));
        assert_eq!(c.store, json!("PREPARATION"));
        assert_eq!(c.crm, json!("WON"));
        assert_eq!(c.winner, Some(Side::Crm));

        let mut own = FieldOwnership::default();
        own.set(OwnedField::Stage, Owner::Store);
        assert_eq!(
            run(&base, &store, &base, &crm, &own).merged.stage,
            "PREPARATION"
        );
        own.set(OwnedField::Stage, Owner::Newest);
        // The CRM changed at t(20), the store at t(10).
        assert_eq!(run(&base, &store, &base, &crm, &own).merged.stage, "WON");
    }

    #[test]
    fn same_change_on_both_sides_is_no_conflict() {
        let base = deal("NEW", &[]);
        let won = deal("WON", &[]);
        let out = run(&base, &won, &base, &won, &FieldOwnership::default());
        assert!(out.conflicts.is_empty());
        assert_eq!(out.merged.stage, "WON");
    }

    #[test]
    fn manual_holds_and_a_resolution_decides() {
        let base = deal("NEW", &[]);
        let store = deal("PREPARATION", &[]);
        let crm = deal("WON", &[]);
        let mut own = FieldOwnership::default();
        own.set(OwnedField::Stage, Owner::Manual);
        let out = run(&base, &store, &base, &crm, &own);
        assert!(out.held());
        assert_eq!(out.conflicts[0].winner, None);
        // Held: the merged stage stays at the base.
        assert_eq!(out.merged.stage, "NEW");

        let mut res = Resolutions::new();
        res.insert(OwnedField::Stage, json!("PREPARATION"));
        let out = merge(
            &MergeInput {
                store_now: &store,
                store_base: &base,
                crm_now: &crm,
                crm_base: &base,
                store_modified: t(1),
                crm_modified: t(2),
            },
            &own,
            &res,
        );
        assert!(!out.held());
        assert_eq!(out.merged.stage, "PREPARATION");
    }

    #[test]
    fn store_side_is_judged_against_its_own_base() {
        // The CRM moved to a stage the store cannot express; the store side still plans its
        // old stage. That is not a store change, so the CRM's stage stays.
        let planned = deal("PREPARATION", &[("Tea", dec!(10), dec!(1))]);
        let crm_base = deal("EXECUTING", &[("Tea", dec!(10), dec!(1))]);
        let mut store_now = planned.clone();
        store_now.lines[0].quantity = dec!(3);
        store_now.amount = dec!(30);
        let out = run(
            &planned,
            &store_now,
            &crm_base,
            &crm_base,
            &FieldOwnership::default(),
        );
        assert_eq!(out.merged.stage, "EXECUTING");
        assert_eq!(out.merged.lines[0].quantity, dec!(3));
        assert!(out.conflicts.is_empty());
    }

    #[test]
    fn lines_round_trip_through_their_compared_value() {
        let d = deal("NEW", &[("Tea", dec!(10.50), dec!(0.25))]);
        let back = lines_from_value(&lines_value(&d.lines)).unwrap();
        assert_eq!(lines_value(&back), lines_value(&d.lines));
    }
}
