//! `[fields]`: which system owns each deal field when both sides changed it (two-way sync).

use std::collections::BTreeMap;
use std::fmt;

/// Who wins a field when the store and the CRM (or 1C) both changed it since the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The online store's value wins.
    Store,
    /// The CRM's value wins.
    Crm,
    /// The ERP's (1C) value wins.
    Erp,
    /// Whichever change is newer wins.
    Newest,
    /// Nobody wins: the entity's write is held until an operator resolves the conflict.
    Manual,
}

impl Owner {
    const ALL: &'static [(&'static str, Owner)] = &[
        ("store", Owner::Store),
        ("crm", Owner::Crm),
        ("erp", Owner::Erp),
        ("newest", Owner::Newest),
        ("manual", Owner::Manual),
    ];

    /// Parses `store|crm|erp|newest|manual`.
    pub fn parse(s: &str) -> Option<Owner> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, o)| *o)
    }

    /// The name used in mapping files.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .map_or("", |(n, _)| n)
    }

    /// `store, crm, erp, newest, manual`.
    pub fn known_list() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
        names.join(", ")
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deal field whose ownership the mapping can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OwnedField {
    /// The deal stage / order status.
    Stage,
    /// The deal title.
    Title,
    /// The amount (sum of lines).
    Amount,
    /// The product rows / order lines.
    Lines,
    /// The linked contact.
    Contact,
}

impl OwnedField {
    /// Every field with its name in `[fields]`.
    pub const ALL: &'static [(&'static str, OwnedField)] = &[
        ("stage", OwnedField::Stage),
        ("title", OwnedField::Title),
        ("amount", OwnedField::Amount),
        ("lines", OwnedField::Lines),
        ("contact", OwnedField::Contact),
    ];

    /// The key names, for the unknown-key check.
    pub(crate) const NAMES: &'static [&'static str] =
        &["stage", "title", "amount", "lines", "contact"];

    /// The key name in `[fields]` (also the field name in the conflict log).
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("", |(n, _)| n)
    }

    /// Parses a `[fields]` key.
    pub fn parse(s: &str) -> Option<OwnedField> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, f)| *f)
    }

    /// Who owns the field when the mapping does not say: managers move stages in the CRM; the
    /// order's content comes from the store.
    pub fn default_owner(self) -> Owner {
        match self {
            OwnedField::Stage => Owner::Crm,
            OwnedField::Title | OwnedField::Amount | OwnedField::Lines | OwnedField::Contact => {
                Owner::Store
            }
        }
    }
}

/// The `[fields]` table: an owner per field, defaults for the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldOwnership {
    explicit: BTreeMap<OwnedField, Owner>,
}

impl FieldOwnership {
    /// Sets the owner of one field.
    pub fn set(&mut self, field: OwnedField, owner: Owner) {
        self.explicit.insert(field, owner);
    }

    /// Who owns `field` (the mapping's choice, or [`OwnedField::default_owner`]).
    pub fn owner(&self, field: OwnedField) -> Owner {
        self.explicit
            .get(&field)
            .copied()
            .unwrap_or_else(|| field.default_owner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_defaults_apply() {
        for (n, o) in Owner::ALL {
            assert_eq!(Owner::parse(n), Some(*o));
            assert_eq!(o.as_str(), *n);
        }
        let names: Vec<&str> = OwnedField::ALL.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, OwnedField::NAMES);
        let mut f = FieldOwnership::default();
        assert_eq!(f.owner(OwnedField::Stage), Owner::Crm);
        assert_eq!(f.owner(OwnedField::Amount), Owner::Store);
        f.set(OwnedField::Amount, Owner::Manual);
        assert_eq!(f.owner(OwnedField::Amount), Owner::Manual);
    }
}
