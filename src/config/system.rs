//! `[systems.<name>]`: the remote systems (store, CRM) and their credentials.
//!
//! The engine reads what every system has (`kind`, the request limits); the rest of the table
//! belongs to the kind's connector, which reads it itself
//! ([`Connector::read_config`](dealbridge_sdk::connector::Connector::read_config)).

use std::any::Any;
use std::sync::Arc;

use dealbridge_sdk::config::{read_limits, Ctx, Env, TableReader, LIMIT_KEYS};
pub use dealbridge_sdk::config::{RateLimit, SystemLimits};
use dealbridge_sdk::connector::SystemSettings;
pub use dealbridge_sdk::connector::{Role, SystemKind};

/// One `[systems.<name>]` table: its kind, its limits, and its connector's own settings.
#[derive(Debug, Clone)]
pub struct SystemConfig {
    kind: SystemKind,
    limits: SystemLimits,
    settings: Arc<dyn SystemSettings>,
}

impl PartialEq for SystemConfig {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.limits == other.limits
            && self.settings.same_as(other.settings.as_ref())
    }
}

impl Eq for SystemConfig {}

impl SystemConfig {
    /// Which kind of system this is.
    pub fn kind(&self) -> SystemKind {
        self.kind
    }

    /// Request budget and timeouts.
    pub fn limits(&self) -> &SystemLimits {
        &self.limits
    }

    /// The connector's own settings, as its connector read them.
    pub fn settings(&self) -> &dyn SystemSettings {
        self.settings.as_ref()
    }

    /// The connector's own settings struct `T` (`None` for another kind).
    pub fn settings_as<T: Any>(&self) -> Option<&T> {
        self.settings.as_any().downcast_ref::<T>()
    }
}

/// Reads one `[systems.<name>]` table. Returns the kind even when other fields are wrong, so flows
/// can still be checked against it.
pub(crate) fn read_system(
    ctx: &mut Ctx<'_>,
    name: &str,
    t: &mut TableReader<'_, '_>,
    env: &dyn Env,
) -> (Option<SystemKind>, Option<SystemConfig>) {
    if !valid_name(name) {
        ctx.error(
            t.span.clone(),
            format!(
                "system name `{name}` may use only letters, digits, `_` and `-` (it becomes part of environment variable names)"
            ),
        );
    }
    let Some(kind_value) = t.required_string(ctx, "kind") else {
        return (None, None);
    };
    let Some(kind) = crate::connectors::kind(kind_value.get_ref()) else {
        ctx.error(
            kind_value.span(),
            format!(
                "unknown system kind `{}` in {}; known kinds: {}",
                kind_value.get_ref(),
                t.name,
                crate::connectors::known_list()
            ),
        );
        return (None, None);
    };
    let connector = kind.connector();
    let known: Vec<&'static str> = ["kind"]
        .iter()
        .chain(connector.keys())
        .chain(LIMIT_KEYS)
        .copied()
        .collect();
    t.set_known(&known);
    t.deny_unknown(ctx);
    let limits = read_limits(ctx, t, kind.as_str(), connector.default_rate_limit());
    let settings = connector.read_config(ctx, name, t, env);
    let config = match (limits, settings) {
        (Some(limits), Some(settings)) => Some(SystemConfig {
            kind,
            limits,
            settings,
        }),
        _ => None,
    };
    (Some(kind), config)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
