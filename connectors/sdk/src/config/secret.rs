//! A secret value (API key, webhook token, database password) that never prints itself.

use std::fmt;
use std::ops::Range;

use super::doc::{Ctx, TableReader};
use super::env::Env;

/// A secret string. `Debug` and `Display` print `***`, so a secret cannot reach a log line by
/// accident; code that must send it calls [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that has to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a resolved secret came from, so a later complaint about its value can point there.
pub enum Origin {
    /// Written in the file at this span.
    File(Range<usize>),
    /// Read from this environment variable; the span is where the file refers to it (or the
    /// table header for an override variable).
    Var(Range<usize>, String),
}

impl Origin {
    /// The span to report at and a note naming the variable, if any.
    pub fn locate(self) -> (Range<usize>, String) {
        match self {
            Origin::File(span) => (span, String::new()),
            Origin::Var(span, var) => (span, format!(" (from ${var})")),
        }
    }
}

/// Resolves secret `field` of table `t`: the override variable wins, then the file's value, where
/// `"env:VAR"` means "read VAR". Missing, empty or unset secrets become diagnostics that name the
/// variable that could supply them; the value itself is never echoed.
pub fn resolve_secret(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    field: &str,
    override_var: &str,
    env: &dyn Env,
) -> Option<(Secret, Origin)> {
    if let Some(value) = env.var(override_var) {
        return Some((
            Secret::new(value),
            Origin::Var(t.span.clone(), override_var.to_string()),
        ));
    }
    if !t.has(field) {
        t.missing(
            ctx,
            field,
            &format!(
                ": write `{field} = \"…\"` or `{field} = \"env:SOME_VAR\"` in this table, or set the environment variable {override_var}"
            ),
        );
        return None;
    }
    let value = t.string(ctx, field)?;
    let span = value.span();
    let text = value.into_inner();
    if let Some(var) = text.strip_prefix("env:") {
        let var = var.trim();
        if var.is_empty() {
            ctx.error(
                span,
                format!(
                    "`{field}` in {} says `env:` but names no variable; write `env:SOME_VAR`",
                    t.name
                ),
            );
            return None;
        }
        return match env.var(var) {
            Some(v) => Some((Secret::new(v), Origin::Var(span, var.to_string()))),
            None => {
                ctx.error(
                    span,
                    format!(
                        "`{field}` in {} reads environment variable {var}, which is not set; export {var} (or {override_var})",
                        t.name
                    ),
                );
                None
            }
        };
    }
    if text.trim().is_empty() {
        ctx.error(
            span,
            format!(
                "`{field}` in {} is empty; set it here or in the environment variable {override_var}",
                t.name
            ),
        );
        return None;
    }
    Some((Secret::new(text), Origin::File(span)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("cs_live_123");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{:?}", Some(&s)), "Some(***)");
        assert_eq!(s.expose(), "cs_live_123");
    }
}
