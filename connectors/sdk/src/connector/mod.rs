//! The connector descriptor: everything the engine needs to know about one kind of system,
//! offered by its crate in one value and registered in one place of the engine.
//!
//! A connector crate exports a `static` implementing [`Connector`]; the engine lists those
//! statics once (`src/connectors.rs`) and from then on loops: the config reader asks the
//! connector to read its `[systems.<name>]` table, the wiring asks it to [`Connector::build`] the
//! capabilities it offers, the webhook endpoint hands deliveries to its [`WebhookReceiver`], and
//! the mapping checks ask it for its status or stage vocabulary. Nothing in the engine knows a
//! vendor's wire format.

mod admin;
mod capabilities;
mod emulator;
mod kind;
mod remote;
mod sandbox;
mod tokens;
mod vocabulary;
mod webhook;

pub use admin::{plain_id, trimmed, RecordKind};
pub use capabilities::{BuildContext, Capabilities, Offers, SavedState};
pub use emulator::{Emulator, EmulatorFlag, EmulatorOptions, StopSignal};
pub use kind::SystemKind;

/// What `inspect webhook` found in a saved delivery.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// The delivery's topic header, if any.
    pub topic: Option<String>,
    /// `Ok` when the signature matched; the reason otherwise (or that it was not checked).
    pub signature: Result<(), String>,
    /// The order the body carries, converted as the engine would.
    pub order: Option<crate::model::Order>,
}
pub use remote::{RemoteCheck, RemoteReport};
pub use sandbox::{SandboxCrm, SandboxDeal, SandboxStore, SeededFailure};
pub use tokens::{oauth_key, SavedTokens};
pub use vocabulary::StatusVocabulary;
pub use webhook::{
    body_hash, Accepted, Hint, HintEntity, Rejected, WebhookReceiver, WebhookRequest,
};

use crate::config::{Ctx, Env, RateLimit, TableReader};
use crate::error::ConnectorError;
use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

/// What part a system plays in a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An online store: orders come from it, statuses and edits go back to it.
    Store,
    /// A CRM: orders become its deals.
    Crm,
}

/// A connector's own settings from its `[systems.<name>]` table (everything but the shared
/// limits, which the engine reads for every system). Any `Debug + PartialEq` struct is one; the
/// connector downcasts it back with [`settings_of`].
pub trait SystemSettings: Any + Debug + Send + Sync {
    /// For downcasting to the connector's own struct.
    fn as_any(&self) -> &dyn Any;
    /// Equality across the trait object (configs are compared in tests and reloads).
    fn same_as(&self, other: &dyn SystemSettings) -> bool;
}

impl<T: Any + Debug + Send + Sync + PartialEq> SystemSettings for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same_as(&self, other: &dyn SystemSettings) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

/// The connector's own settings struct `T` inside `settings`; a mismatch is a wiring bug (a
/// table read by one connector handed to another), reported as a permanent error.
pub fn settings_of<T: Any>(settings: &dyn SystemSettings) -> Result<&T, ConnectorError> {
    settings.as_any().downcast_ref::<T>().ok_or_else(|| {
        ConnectorError::new(
            crate::ErrorKind::Invalid,
            "config",
            format!(
                "settings of another connector handed to {}",
                std::any::type_name::<T>()
            ),
        )
    })
}

/// One kind of system (`kind = "…"` in `[systems.<name>]`): its config, its capabilities, its
/// vocabularies and its webhooks. Implemented once per connector crate.
#[async_trait::async_trait]
pub trait Connector: Send + Sync + 'static {
    /// The `kind` value in config files (`"woocommerce"`).
    fn kind(&self) -> &'static str;

    /// The vendor's name as people write it (`"WooCommerce"`), for messages.
    fn display_name(&self) -> &'static str;

    /// Store or CRM.
    fn role(&self) -> Role;

    /// Which capabilities [`Connector::build`] returns (known before building, so the config
    /// check can say which flows a pair of systems supports).
    fn offers(&self) -> Offers;

    /// The keys of its `[systems.<name>]` table besides `kind` and the shared limit keys.
    fn keys(&self) -> &'static [&'static str];

    /// The keys holding secrets, each overridable by `DEALBRIDGE_SYSTEMS_<NAME>_<FIELD>`.
    fn secret_fields(&self) -> &'static [&'static str];

    /// Its request budget when the config sets none (`None`: unlimited).
    fn default_rate_limit(&self) -> Option<RateLimit>;

    /// Reads its `[systems.<name>]` table (the shared limit keys are read by the engine),
    /// reporting every mistake through `ctx` with its position. `None` when anything is wrong.
    fn read_config(
        &self,
        ctx: &mut Ctx<'_>,
        name: &str,
        table: &TableReader<'_, '_>,
        env: &dyn Env,
    ) -> Option<Arc<dyn SystemSettings>>;

    /// A store's order statuses, so a status map can be checked for completeness.
    fn order_statuses(&self) -> Option<StatusVocabulary> {
        None
    }

    /// Whether `stage` is a well-formed deal stage of this CRM for a mapping whose `[deal]
    /// pipeline` is `pipeline` (`None` when that key was itself wrong, so the pipeline is not
    /// judged; `Some(None)` when unset). The error says what to write instead.
    fn check_stage(&self, stage: &str, pipeline: Option<Option<u32>>) -> Result<(), String> {
        let _ = pipeline;
        if stage.trim().is_empty() {
            return Err("is empty; write a CRM stage id such as \"NEW\"".to_string());
        }
        Ok(())
    }

    /// The receiver of this system's webhooks at `/webhooks/<name>` (and
    /// `/webhooks/<name>/<token>`). It refuses everything, with a message saying which key turns
    /// it on, when the config enables no webhooks.
    fn webhook_receiver(
        &self,
        name: &str,
        settings: &dyn SystemSettings,
    ) -> Arc<dyn WebhookReceiver>;

    /// Builds the clients for `[systems.<name>]` and returns the capabilities it offers.
    async fn build(&self, ctx: BuildContext<'_>) -> Result<Capabilities, ConnectorError>;

    /// Its emulator, for `dealbridge emulate <kind>` and the sandbox; `None` if it has none.
    fn emulator(&self) -> Option<&'static dyn Emulator> {
        None
    }

    /// For a store: its emulator started for `dealbridge sandbox` with `orders` seeded orders;
    /// `None` if it has none.
    async fn sandbox_store(&self, orders: usize) -> Option<Result<Box<dyn SandboxStore>, String>> {
        let _ = orders;
        None
    }

    /// For a CRM: its emulator started for `dealbridge sandbox`; `None` if it has none.
    async fn sandbox_crm(&self) -> Option<Result<Box<dyn SandboxCrm>, String>> {
        None
    }

    /// `inspect webhook <kind>`: checks a saved delivery as the webhook endpoint would (with
    /// `secret`, the signature too) and reads the order it carries; `None` if this kind sends
    /// no deliveries that can be inspected.
    fn inspect_delivery(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
        secret: Option<&str>,
    ) -> Option<Inspection> {
        let _ = (headers, body, secret);
        None
    }

    /// The page of record `id` (of `kind`) in this system's own admin interface, built from its
    /// `[systems.<name>]` settings (base URL, shop, portal, subdomain), for the console to link
    /// to; `None` when the vendor has no such page for that kind or the id is not one of its.
    /// No secret may appear in it (a portal's webhook URL carries its token: take its origin).
    fn admin_url(
        &self,
        settings: &dyn SystemSettings,
        kind: RecordKind,
        id: &str,
    ) -> Option<String> {
        let _ = (settings, kind, id);
        None
    }

    /// `check --remote`: asks the live system whether the config fits it (mapped stages exist
    /// in their pipelines, a stock location can be chosen). Nothing to check by default.
    async fn remote_check(&self, check: RemoteCheck<'_>) -> Result<RemoteReport, ConnectorError> {
        let _ = check;
        Ok(RemoteReport::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Mine {
        key: String,
    }

    #[derive(Debug, PartialEq)]
    struct Other;

    #[test]
    fn settings_come_back_as_their_own_struct_only() {
        let s: Arc<dyn SystemSettings> = Arc::new(Mine { key: "k".into() });
        assert_eq!(settings_of::<Mine>(s.as_ref()).unwrap().key, "k");
        let err = settings_of::<Other>(s.as_ref()).unwrap_err();
        assert!(
            err.to_string().contains("settings of another connector"),
            "{err}"
        );
        assert!(s.same_as(&Mine { key: "k".into() }));
        assert!(!s.same_as(&Mine { key: "x".into() }));
        assert!(!s.same_as(&Other));
    }

    #[test]
    fn emulator_options_parse_and_name_the_flag() {
        let mut o = EmulatorOptions::default();
        o.0.insert("seed-orders".into(), "12".into());
        o.0.insert("user".into(), "x".into());
        o.0.insert("enterprise".into(), "true".into());
        assert_eq!(o.parse::<usize>("seed-orders").unwrap(), Some(12));
        assert_eq!(o.parse::<usize>("absent").unwrap(), None);
        assert_eq!(
            o.parse::<u64>("user").unwrap_err(),
            "--user `x` is not a valid value"
        );
        assert!(o.flag("enterprise"));
        assert!(!o.flag("user"));
        assert_eq!(o.text("absent"), "");
    }

    #[test]
    fn hints_are_stored_under_their_entity() {
        assert_eq!(HintEntity::Order.as_str(), "order");
        assert_eq!(HintEntity::Deal.as_str(), "deal");
        assert_eq!(HintEntity::Other.as_str(), "other");
        // A body without an id of its own is deduplicated by its hash.
        assert_eq!(body_hash(b"a"), body_hash(b"a"));
        assert_ne!(body_hash(b"a"), body_hash(b"b"));
        assert_eq!(body_hash(b"").len(), 64);
    }
}
