//! Where environment variables come from. Injectable so tests never mutate the process environment.

use std::collections::{BTreeMap, HashMap};

/// A source of environment variables.
pub trait Env {
    /// The value of `name`, or `None` when it is unset. Empty values count as unset, so that
    /// `FOO= dealbridge run` cannot silently blank a secret.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty()).cloned()
    }
}

/// An environment with no variables at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEnv;

impl Env for NoEnv {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
}

/// The variable that overrides `field` of `[systems.<system>]`: `DEALBRIDGE_SYSTEMS_<SYSTEM>_<FIELD>`,
/// upper-cased, with `-` turned into `_` (a system called `my-shop` → `DEALBRIDGE_SYSTEMS_MY_SHOP_…`).
pub fn system_override_var(system: &str, field: &str) -> String {
    format!(
        "DEALBRIDGE_SYSTEMS_{}_{}",
        env_part(system),
        env_part(field)
    )
}

/// The variable that overrides `[database] url`.
pub const DATABASE_URL_VAR: &str = "DEALBRIDGE_DATABASE_URL";

fn env_part(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_names() {
        assert_eq!(
            system_override_var("shop", "consumer_secret"),
            "DEALBRIDGE_SYSTEMS_SHOP_CONSUMER_SECRET"
        );
        assert_eq!(
            system_override_var("my-crm", "webhook_url"),
            "DEALBRIDGE_SYSTEMS_MY_CRM_WEBHOOK_URL"
        );
    }

    #[test]
    fn empty_values_are_unset() {
        let env: BTreeMap<String, String> = [
            ("A".to_string(), String::new()),
            ("B".to_string(), "x".to_string()),
        ]
        .into();
        assert_eq!(env.var("A"), None);
        assert_eq!(env.var("B").as_deref(), Some("x"));
        assert_eq!(env.var("C"), None);
    }
}
