//! Typed names the store keeps in text columns: entity kinds (`bindings.kind`,
//! `journal.entity_kind`, `conflicts.entity_kind`) and job kinds (`jobs.kind`).
//!
//! Each enum below is the ONE place that spells its stored strings. Existing databases hold
//! exactly these strings, and no migration rewrites them, so a variant's string must never change;
//! the tests spell every string out to catch a rename.

use std::fmt;
use std::str::FromStr;

/// A stored string that names no variant: which enum was asked and what the text was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {family} {value:?}; expected one of: {expected}")]
pub struct UnknownName {
    /// What was being parsed, e.g. `entity kind`.
    pub family: &'static str,
    /// The text found.
    pub value: String,
    /// The accepted names, comma-separated.
    pub expected: String,
}

/// Defines a fieldless enum with its stored names, `ALL`, `as_str`, `FromStr`, `Display` and
/// serde as the stored string, so the mapping exists once per enum.
macro_rules! stored_names {
    (
        $(#[$meta:meta])*
        $name:ident, $family:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name as stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(UnknownName {
                        family: $family,
                        value: s.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str {
                v.as_str()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

stored_names! {
    /// What a canonical entity is: the `kind` of a binding and the `entity_kind` of journal lines
    /// and conflicts. `Catalog` and `Schedule` only name journal lines (a catalog flow's chunk
    /// summaries, a schedule's runs); the rest name bound records.
    EntityKind, "entity kind" {
        /// A store or 1C order.
        Order = "order",
        /// The CRM deal that mirrors an order.
        Deal = "deal",
        /// A CRM contact.
        Contact = "contact",
        /// An order as exported to 1C (its 1C document key).
        OrderExport = "order_export",
        /// An order 1C created itself.
        Order1c = "order_1c",
        /// A payment document from 1C.
        Payment = "payment",
        /// A catalog product (1C item in a CRM, or a store product linked to a CRM one).
        Product = "product",
        /// A 1C offer (a product's variant with its prices and stock), bound at import.
        Offer = "offer",
        /// A store product's price and stock as last pushed from 1C.
        ProductPrice = "product_price",
        /// A catalog flow (journal only: chunk summaries).
        Catalog = "catalog",
        /// A schedule (journal only: its runs).
        Schedule = "schedule",
        /// The job queue (journal only: operators' retries and drops, with who and how many).
        Queue = "queue",
        /// A reconciliation run (journal only: its counts and differences).
        Reconcile = "reconcile",
        /// A 1C exchange of one type, `catalog` or `sale` (journal only: each file it imported,
        /// with its counts or why it failed, and the failures and successes of its other steps).
        Exchange1c = "exchange_1c",
    }
}

stored_names! {
    /// What a queued job does (`jobs.kind`); the worker dispatches on it.
    JobKind, "job kind" {
        /// Write the deal mirroring an order (payload `DealUpsert`).
        DealUpsert = "deal.upsert",
        /// Pull a CRM deal's changes back into its order (payload `DealPull`).
        DealPull = "deal.pull",
        /// Record an order's 1C payments on its deal (payload `DealPayments`).
        DealPayments = "deal.payments",
        /// Make a duplicate deal stop claiming its order (payload `DealRelease`).
        DealRelease = "deal.release",
        /// Deliver one alert notification to `[alerts] webhook_url` (payload: the notification).
        Alert = "alert",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The strings existing databases hold; changing one orphans stored rows.
    #[test]
    fn entity_kinds_keep_their_stored_strings() {
        let want = [
            (EntityKind::Order, "order"),
            (EntityKind::Deal, "deal"),
            (EntityKind::Contact, "contact"),
            (EntityKind::OrderExport, "order_export"),
            (EntityKind::Order1c, "order_1c"),
            (EntityKind::Payment, "payment"),
            (EntityKind::Product, "product"),
            (EntityKind::Offer, "offer"),
            (EntityKind::ProductPrice, "product_price"),
            (EntityKind::Catalog, "catalog"),
            (EntityKind::Schedule, "schedule"),
            (EntityKind::Queue, "queue"),
            (EntityKind::Reconcile, "reconcile"),
            (EntityKind::Exchange1c, "exchange_1c"),
        ];
        assert_eq!(want.len(), EntityKind::ALL.len());
        for (kind, text) in want {
            assert_eq!(kind.as_str(), text);
            assert_eq!(kind.to_string(), text);
            assert_eq!(text.parse::<EntityKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), text);
            assert_eq!(
                serde_json::from_value::<EntityKind>(text.into()).unwrap(),
                kind
            );
        }
    }

    #[test]
    fn job_kinds_keep_their_stored_strings() {
        let want = [
            (JobKind::DealUpsert, "deal.upsert"),
            (JobKind::DealPull, "deal.pull"),
            (JobKind::DealPayments, "deal.payments"),
            (JobKind::DealRelease, "deal.release"),
            (JobKind::Alert, "alert"),
        ];
        assert_eq!(want.len(), JobKind::ALL.len());
        for (kind, text) in want {
            assert_eq!(kind.as_str(), text);
            assert_eq!(text.parse::<JobKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), text);
        }
    }

    #[test]
    fn an_unknown_name_says_what_it_got_and_what_it_takes() {
        let e = "crm.deal.upsert".parse::<JobKind>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown job kind \"crm.deal.upsert\"; expected one of: deal.upsert, deal.pull, deal.payments, deal.release, alert"
        );
        assert!("Order".parse::<EntityKind>().is_err());
    }
}
