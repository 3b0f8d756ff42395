//! Reading config files the way `dealbridge check` needs: every mistake, each with
//! `file:line:column`, secrets from the environment and never printed.
//!
//! Shared by the engine's own sections and by each connector, which reads its
//! `[systems.<name>]` table itself (see [`crate::connector::Connector::read_config`]) with the
//! same [`TableReader`] and helpers, so a new connector's keys are checked like every other.

mod diagnostic;
mod doc;
mod duration;
mod env;
mod limits;
mod secret;

pub use diagnostic::{ConfigErrors, Diagnostic, SourceFile};
pub use doc::{nearest, parse, type_name, Ctx, TableReader};
pub use duration::{parse_duration, DURATION_UNITS};
pub use env::{system_override_var, Env, NoEnv, ProcessEnv, DATABASE_URL_VAR};
pub use limits::{read_limits, RateLimit, SystemLimits, LIMIT_KEYS};
pub use secret::{resolve_secret, Origin, Secret};

use url::Url;

/// Reads secret `field` of `[systems.<system>]` (the override variable
/// `DEALBRIDGE_SYSTEMS_<SYSTEM>_<FIELD>` wins, then the file, where `"env:VAR"` reads `VAR`).
/// Missing → a diagnostic naming both ways to supply it.
pub fn read_secret(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    system: &str,
    field: &str,
    env: &dyn Env,
) -> Option<Secret> {
    resolve_secret(ctx, t, field, &system_override_var(system, field), env).map(|(s, _)| s)
}

/// Like [`read_secret`], for a secret that may be absent: `None` when neither the table nor the
/// override variable has it (a present but wrong value is still a diagnostic).
pub fn read_optional_secret(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    system: &str,
    field: &str,
    env: &dyn Env,
) -> Option<Secret> {
    let var = system_override_var(system, field);
    if t.has(field) || env.var(&var).is_some() {
        read_secret(ctx, t, system, field, env)
    } else {
        None
    }
}

/// A required `http`/`https` URL key (`base_url`), checked by [`check_http_url`].
pub fn read_http_url(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>, key: &str) -> Option<Url> {
    let u = t.required_string(ctx, key)?;
    match check_http_url(u.get_ref()) {
        Ok(url) => Some(url),
        Err(e) => {
            ctx.error(u.span(), format!("`{key}` in {}: {e}", t.name));
            None
        }
    }
}

/// An absolute `http`/`https` URL with a host.
pub fn check_http_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text)
        .map_err(|e| format!("not a valid URL ({e}); write e.g. \"https://shop.example\""))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!(
            "URL scheme must be http or https, found `{}`",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".to_string());
    }
    Ok(url)
}
