//! The decide step on its own: no database, no HTTP, the shipped WooCommerce → Bitrix24 mapping.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use dealbridge_sdk::model::{Contact, CrmDealState, DealLine, ExternalRef, Order, OrderLine};
use dealbridge_sdk::Currency;
use rust_decimal_macros::dec;
use serde_json::json;

use super::*;
use crate::connectors::kind;
use crate::mapping::Owner;
use crate::sync::plan::DealPlanner;
use crate::sync::reverse::StoreProduct;
use crate::sync::two_way::base::MergeBase;
use crate::sync::two_way::merge::Resolutions;

fn mapping() -> Mapping {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/woocommerce-bitrix24.toml");
    Mapping::load(
        &path,
        kind("woocommerce").unwrap(),
        kind("bitrix24").unwrap(),
    )
    .unwrap()
}

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
}

fn order(status: &str) -> Order {
    Order {
        source: ExternalRef {
            system: "shop".into(),
            id: "7".into(),
        },
        number: "7".into(),
        status: status.into(),
        currency: Currency::new("RUB").unwrap(),
        created_at: t(0),
        modified_at: t(10),
        customer: Contact {
            first_name: "Ann".into(),
            email: Some("ann@example.com".into()),
            ..Default::default()
        },
        lines: vec![OrderLine {
            item: Some(ExternalRef {
                system: "shop".into(),
                id: "p1".into(),
            }),
            sku: Some("A-1".into()),
            name: "Tea".into(),
            quantity: dec!(2),
            unit_price: dec!(5),
            total: dec!(10.00),
            tax: dec!(0),
        }],
        discount_total: dec!(0),
        shipping_total: dec!(0),
        tax_total: dec!(0),
        total: dec!(10.00),
        paid_at: None,
        payment_method: None,
        source_channel: None,
        note: None,
    }
}

/// A pair last synced with `base` on both sides, now `now` in the store and `crm` in the CRM.
fn inputs(m: &Mapping, base: &Order, now: &Order, crm: Deal) -> PairInputs {
    let base = m.plan(base).unwrap();
    PairInputs {
        entity: "shop:7".into(),
        order_id: "7".into(),
        deal_id: "42".into(),
        order: now.clone(),
        planned: m.plan(now).unwrap(),
        crm: CrmDealState {
            id: "42".into(),
            deal: crm,
            modified_at: t(20),
            paid_amount: None,
        },
        base: MergeBase {
            store: base.clone(),
            crm: base,
            synced_at: t(0),
        },
        open_conflicts: Vec::new(),
        resolutions: Resolutions::new(),
        row_products: HashMap::new(),
    }
}

fn writes(plan: &PairPlan) -> &PairWrites {
    match &plan.action {
        PairAction::Write(w) => w,
        PairAction::Held(why) => panic!("held: {why}"),
    }
}

fn known_deal(w: &PairWrites) -> (&Deal, bool) {
    match &w.deal {
        DealWrite::Known { deal, write } => (deal, *write),
        DealWrite::AfterStoreWrite => panic!("the deal waits for the store write"),
    }
}

#[test]
fn nothing_changed_is_an_empty_plan() {
    let m = mapping();
    let o = order("processing");
    let deal = m.plan(&o).unwrap();
    let plan = decide(&inputs(&m, &o, &o, deal.clone()), &m);
    assert!(plan.conflicts.is_empty());
    assert!(!plan.writes_anything());
    let w = writes(&plan);
    assert_eq!(w.order, None);
    assert!(w.kept.is_empty());
    assert_eq!(known_deal(w), (&deal, false));
    assert_eq!(w.snapshots.order.as_ref(), Some(&o));
    assert_eq!(w.snapshots.deal.as_ref(), Some(&deal));
}

#[test]
fn a_store_only_change_writes_the_crm_only() {
    let m = mapping();
    let base = order("processing");
    let now = order("completed");
    let plan = decide(&inputs(&m, &base, &now, m.plan(&base).unwrap()), &m);
    assert!(plan.conflicts.is_empty());
    let w = writes(&plan);
    assert_eq!(w.order, None, "the store already has it");
    let (deal, write) = known_deal(w);
    assert!(write);
    assert_eq!(deal.stage, "WON");
    assert_eq!(w.from_store, vec![OwnedField::Stage]);
}

#[test]
fn a_crm_only_change_writes_the_store_then_the_deal_follows_it() {
    let m = mapping();
    let o = order("processing");
    let mut crm = m.plan(&o).unwrap();
    crm.stage = "WON".into();
    let plan = decide(&inputs(&m, &o, &o, crm.clone()), &m);
    assert!(plan.conflicts.is_empty());
    let w = writes(&plan);
    let change = w.order.as_ref().expect("the store is told");
    assert_eq!(change.status.as_deref(), Some("completed"));
    assert_eq!(change.lines, None);
    assert_eq!(w.deal, DealWrite::AfterStoreWrite);
    assert_eq!(
        w.snapshots.order, None,
        "the order the store returns is saved"
    );
    // The store returns the completed order: its deal is what the CRM already shows.
    let (deal, write) = w.deal_after_store_write(m.plan(&order("completed")).unwrap(), &crm);
    assert_eq!(deal.stage, "WON");
    assert!(!write, "nothing left to tell the CRM");
}

#[test]
fn a_crm_stage_the_store_cannot_express_is_kept_and_journaled() {
    let m = mapping();
    let o = order("processing");
    let mut crm = m.plan(&o).unwrap();
    crm.stage = "UC_CALLBACK".into();
    let plan = decide(&inputs(&m, &o, &o, crm), &m);
    let w = writes(&plan);
    assert_eq!(w.order, None);
    assert_eq!(w.kept.len(), 1);
    assert!(
        w.kept[0].contains("`UC_CALLBACK` has no store status"),
        "{}",
        w.kept[0]
    );
    let (deal, write) = known_deal(w);
    assert_eq!(deal.stage, "UC_CALLBACK");
    assert!(!write, "the CRM already shows it");
}

#[test]
fn both_changed_the_stage_the_owner_decides_and_the_conflict_is_logged() {
    let mut m = mapping();
    let base = order("processing");
    let now = order("cancelled");
    let mut crm = m.plan(&base).unwrap();
    crm.stage = "WON".into();
    // Default owner of the stage: the CRM. The store is told, the CRM keeps its stage.
    let plan = decide(&inputs(&m, &base, &now, crm.clone()), &m);
    assert_eq!(plan.conflicts.len(), 1);
    let c = &plan.conflicts[0];
    assert_eq!(
        (c.field, c.rule, c.winner),
        (OwnedField::Stage, Owner::Crm, Some(Side::Crm))
    );
    assert_eq!(
        (c.store.clone(), c.crm.clone()),
        (json!("LOSE"), json!("WON"))
    );
    assert_eq!(c.base, json!("PREPARATION"));
    let w = writes(&plan);
    assert_eq!(
        w.order.as_ref().unwrap().status.as_deref(),
        Some("completed")
    );

    // Owned by the store: the CRM is told, the store keeps its status.
    m.fields.set(OwnedField::Stage, Owner::Store);
    let plan = decide(&inputs(&m, &base, &now, crm), &m);
    assert_eq!(plan.conflicts[0].winner, Some(Side::Store));
    let w = writes(&plan);
    assert_eq!(w.order, None);
    let (deal, write) = known_deal(w);
    assert_eq!((deal.stage.as_str(), write), ("LOSE", true));
}

#[test]
fn manual_and_open_conflicts_hold_the_pair() {
    let mut m = mapping();
    m.fields.set(OwnedField::Stage, Owner::Manual);
    let base = order("processing");
    let mut crm = m.plan(&base).unwrap();
    crm.stage = "WON".into();
    let i = inputs(&m, &base, &order("cancelled"), crm);
    let plan = decide(&i, &m);
    assert_eq!(plan.conflicts.len(), 1, "logged even though held");
    assert_eq!(plan.conflicts[0].winner, None);
    assert!(matches!(plan.action, PairAction::Held(_)));
    assert!(!plan.writes_anything());

    let mut open = i.clone();
    open.open_conflicts = vec![3, 5];
    let plan = decide(&open, &m);
    assert!(
        plan.conflicts.is_empty(),
        "no merge while a conflict is open"
    );
    assert_eq!(
        plan.action,
        PairAction::Held(
            "open conflict(s) 3, 5: resolve with `dealbridge conflicts resolve`".into()
        )
    );
}

#[test]
fn rows_edited_in_the_crm_become_the_orders_lines() {
    let m = mapping();
    let o = order("processing");
    let mut crm = m.plan(&o).unwrap();
    crm.lines[0].quantity = dec!(3);
    crm.lines.push(DealLine {
        product_id: Some("55".into()),
        name: "Gift wrap".into(),
        price: dec!(100),
        quantity: dec!(1),
        tax_rate: None,
        tax_included: false,
    });
    let mut i = inputs(&m, &o, &o, crm);
    i.row_products.insert(
        "55".into(),
        StoreProduct {
            item: Some(ExternalRef {
                system: "shop".into(),
                id: "p9".into(),
            }),
            sku: Some("B-2".into()),
        },
    );
    let plan = decide(&i, &m);
    assert!(plan.conflicts.is_empty());
    let w = writes(&plan);
    let lines = w.order.as_ref().unwrap().lines.as_ref().expect("lines");
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0].quantity, lines[0].total), (dec!(3), dec!(15.00)));
    assert_eq!(
        lines[0].sku.as_deref(),
        Some("A-1"),
        "the known line keeps its product"
    );
    assert_eq!(lines[1].item.as_ref().map(|r| r.id.as_str()), Some("p9"));
    assert_eq!(w.order.as_ref().unwrap().status, None);
    assert_eq!(w.deal, DealWrite::AfterStoreWrite);
}
