//! How engine-side identities are spelled.
//!
//! A canonical entity is named after the record it started from: `"<system>:<id>"`, e.g.
//! `shop:123` for WooCommerce order 123 of the system configured as `shop`. That name is stable
//! (it never depends on a write having happened), so a retried or re-polled change always finds
//! the same bindings and the same queue coalescing key.
//!
//! Entity and job kinds are [`EntityKind`] and [`dealbridge_store::JobKind`], owned by the store
//! because it keeps their strings.

use dealbridge_sdk::model::{Contact, ExternalRef};
use dealbridge_store::EntityKind;

/// The canonical entity id of a record first seen in `source`.
pub fn entity_id(source: &ExternalRef) -> String {
    format!("{}:{}", source.system, source.id)
}

/// The queue coalescing key for writes of an entity's mirror in `target`: a newer change to the
/// same deal replaces the pending one instead of queueing twice.
pub fn coalesce_key(target: &str, kind: EntityKind, entity: &str) -> String {
    format!("{target}:{kind}:{entity}")
}

/// The canonical id of a contact: its normalised e-mail, else its normalised phone. A contact
/// with neither cannot be matched and is not created (the deal is written without one).
pub fn contact_key(contact: &Contact) -> Option<String> {
    contact
        .normalized_email()
        .map(|e| format!("email:{e}"))
        .or_else(|| contact.normalized_phone().map(|p| format!("phone:{p}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_readable() {
        let r = ExternalRef {
            system: "shop".into(),
            id: "123".into(),
        };
        assert_eq!(entity_id(&r), "shop:123");
        assert_eq!(
            coalesce_key("crm", EntityKind::Deal, "shop:123"),
            "crm:deal:shop:123"
        );
        let c = Contact {
            email: Some(" Ann@Example.COM ".into()),
            phone: Some("+7 (900) 123-45-67".into()),
            ..Default::default()
        };
        assert_eq!(contact_key(&c).unwrap(), "email:ann@example.com");
        let c = Contact {
            phone: Some("+7 (900) 123-45-67".into()),
            ..Default::default()
        };
        assert_eq!(contact_key(&c).unwrap(), "phone:+79001234567");
        assert_eq!(contact_key(&Contact::default()), None);
    }
}
