//! The store → CRM write of one order, decided before it is applied.
//!
//! Pure: the deal the order plans to (linked) and the deal binding in, an [`UpsertPlan`] out.
//! The worker applies it (find-or-create, write, binding, journal); `sync --dry-run` prints it.

use dealbridge_sdk::model::Deal;
use dealbridge_store::{snapshot_hash, Binding};

/// What the store → CRM write of one order comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum UpsertPlan {
    /// The deal we last wrote is exactly this one: no call.
    Unchanged {
        /// The bound deal's id.
        deal_id: String,
    },
    /// Write the deal: update the bound one, or find it by its origin or create it.
    Write {
        /// The bound deal's id; `None`: find by origin, else create.
        bound_id: Option<String>,
        /// The deal to write.
        deal: Box<Deal>,
        /// Its snapshot, saved with the binding once the CRM accepted it.
        snapshot: serde_json::Value,
    },
}

/// Decides the write of `deal` given the deal binding of its order, if any.
pub fn decide_upsert(deal: Deal, bound: Option<&Binding>) -> Result<UpsertPlan, serde_json::Error> {
    let snapshot = serde_json::to_value(&deal)?;
    Ok(match bound {
        Some(b) if b.snapshot_hash.as_deref() == Some(snapshot_hash(&snapshot).as_str()) => {
            UpsertPlan::Unchanged {
                deal_id: b.external_id.clone(),
            }
        }
        _ => UpsertPlan::Write {
            bound_id: bound.map(|b| b.external_id.clone()),
            deal: Box::new(deal),
            snapshot,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use dealbridge_sdk::model::ExternalRef;
    use dealbridge_sdk::Currency;
    use rust_decimal_macros::dec;

    fn deal(stage: &str) -> Deal {
        Deal {
            title: "Order #1".into(),
            stage: stage.into(),
            pipeline: None,
            currency: Currency::new("RUB").unwrap(),
            amount: dec!(10),
            contact: None,
            lines: Vec::new(),
            origin: ExternalRef {
                system: "shop".into(),
                id: "1".into(),
            },
            source_channel: None,
            comments: None,
        }
    }

    fn binding(of: &Deal) -> Binding {
        let snapshot = serde_json::to_value(of).unwrap();
        Binding {
            system: "crm".into(),
            kind: dealbridge_store::EntityKind::Deal,
            entity_id: "shop:1".into(),
            external_id: "42".into(),
            snapshot_hash: Some(snapshot_hash(&snapshot)),
            snapshot: Some(snapshot),
            synced_at: Utc::now(),
        }
    }

    #[test]
    fn unbound_creates_same_is_unchanged_different_updates() {
        let new = deal("NEW");
        assert!(matches!(
            decide_upsert(new.clone(), None).unwrap(),
            UpsertPlan::Write { bound_id: None, .. }
        ));
        let b = binding(&new);
        assert_eq!(
            decide_upsert(new.clone(), Some(&b)).unwrap(),
            UpsertPlan::Unchanged {
                deal_id: "42".into()
            }
        );
        match decide_upsert(deal("WON"), Some(&b)).unwrap() {
            UpsertPlan::Write { bound_id, deal, .. } => {
                assert_eq!(bound_id.as_deref(), Some("42"));
                assert_eq!(deal.stage, "WON");
            }
            other => panic!("{other:?}"),
        }
    }
}
