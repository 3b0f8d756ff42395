//! The conflict log, as the two-way merge reads and writes it.
//!
//! Read: the decisions people made (`conflicts resolve`) on a pair's `manual` conflicts, which
//! the next merge applies once. Written: every field both sides changed, with both values, the
//! rule that decided and the winner (none under `manual`: the pair is held).

use chrono::{DateTime, Utc};
use dealbridge_store::{ConflictFilter, ConflictState, NewConflict, Store, StoreError};
use tracing::warn;

use super::merge::{side_name, FieldConflict, Resolutions, Side};
use crate::mapping::OwnedField;
use dealbridge_store::EntityKind;

/// Decisions people made on this pair's `manual` conflicts since the pair last synced
/// (`since`): they are applied once, by the next merge. Decisions made by a rule
/// (`resolved_by` = `rule:…`) are not a person's and are left out.
pub async fn load_resolutions(
    store: &Store,
    entity: &str,
    since: DateTime<Utc>,
) -> Result<Resolutions, StoreError> {
    let decided = store
        .conflicts(&ConflictFilter {
            state: Some(ConflictState::Resolved),
            kind: Some(EntityKind::Deal),
            entity_id: Some(entity.to_string()),
            limit: 100,
        })
        .await?;
    let mut out = Resolutions::new();
    // Newest first: the first decision seen for a field is the one that stands.
    for c in decided {
        let by_person = c
            .resolved_by
            .as_deref()
            .is_some_and(|b| !b.starts_with("rule:"));
        let fresh = c.resolved_at.is_some_and(|at| at >= since);
        if let (true, true, Some(field), Some(value)) = (
            by_person,
            fresh,
            OwnedField::parse(&c.field),
            c.chosen_value,
        ) {
            out.entry(field).or_insert(value);
        }
    }
    Ok(out)
}

/// The systems of a pair, as the conflict log names its sides (store = "ours").
#[derive(Debug, Clone, Copy)]
pub struct PairSystems<'a> {
    /// The store's config name.
    pub store: &'a str,
    /// The CRM's config name.
    pub crm: &'a str,
}

impl PairSystems<'_> {
    fn of(&self, side: Side) -> &str {
        match side {
            Side::Store => self.store,
            Side::Crm => self.crm,
        }
    }
}

/// Logs each conflict of a merge of `entity`'s pair, one row per field.
pub async fn record_conflicts(
    store: &Store,
    entity: &str,
    systems: PairSystems<'_>,
    conflicts: &[FieldConflict],
) -> Result<(), StoreError> {
    for c in conflicts {
        let chosen_value = c.winner.map(|w| match w {
            Side::Store => c.store.clone(),
            Side::Crm => c.crm.clone(),
        });
        let id = store
            .record_conflict(&NewConflict {
                kind: EntityKind::Deal,
                entity_id: entity,
                field: c.field.as_str(),
                base: Some(&c.base),
                ours: &c.store,
                theirs: &c.crm,
                ours_system: systems.store,
                theirs_system: systems.crm,
                rule: c.rule.as_str(),
                chosen: c.winner.map(|w| systems.of(w)),
                chosen_value: chosen_value.as_ref(),
                reason: &c.reason,
            })
            .await?;
        warn!(order = %entity, field = c.field.as_str(), conflict = id, rule = c.rule.as_str(),
              winner = c.winner.map_or("none (held)", side_name), "both systems changed a field");
    }
    Ok(())
}
