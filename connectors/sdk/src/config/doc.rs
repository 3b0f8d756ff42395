//! Reading typed values out of a parsed TOML document while collecting *every* mistake.
//!
//! serde stops at the first error; `dealbridge check` must name all of them with their lines, so
//! files are parsed into toml's spanned `DeTable` and walked by hand through [`TableReader`].

use std::ops::Range;
use std::time::Duration;

use toml::de::{DeString, DeTable, DeValue};
use toml::Spanned;

use super::diagnostic::{Diagnostic, SourceFile};
use super::duration::parse_duration;

/// A parsed file plus the diagnostics found in it so far.
pub struct Ctx<'a> {
    /// The file being read.
    pub src: &'a SourceFile,
    /// Every mistake found so far, in any file.
    pub out: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// Records a mistake at the start of `span`.
    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let d = self.src.diagnostic(span, message);
        self.out.push(d);
    }
}

/// Parses `src` as TOML; syntax errors become diagnostics (toml reports the span).
pub fn parse<'s>(src: &'s SourceFile, out: &mut Vec<Diagnostic>) -> Option<DeTable<'s>> {
    match DeTable::parse(&src.text) {
        Ok(table) => Some(table.into_inner()),
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            out.push(src.diagnostic(
                span,
                format!("TOML syntax error: {}", e.message().trim_end()),
            ));
            None
        }
    }
}

/// The TOML type name of a value, for "expected a string, found an integer".
pub fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// One TOML table being read: knows its allowed keys, its header span and how to name itself.
pub struct TableReader<'t, 'i> {
    table: &'t DeTable<'i>,
    /// The span of the table's header (`[systems.shop]`), or of the key for inline/dotted tables.
    pub span: Range<usize>,
    /// How messages name this table, e.g. `[systems.shop]`.
    pub name: String,
    known: Vec<&'static str>,
}

impl<'t, 'i> TableReader<'t, 'i> {
    /// A reader of `table`, named `name` in messages, allowing the keys `known`.
    pub fn new(
        table: &'t DeTable<'i>,
        span: Range<usize>,
        name: impl Into<String>,
        known: &[&'static str],
    ) -> Self {
        TableReader {
            table,
            span,
            name: name.into(),
            known: known.to_vec(),
        }
    }

    /// Replaces the allowed keys (e.g. once `kind` says which fields a system has).
    pub fn set_known(&mut self, known: &[&'static str]) {
        self.known = known.to_vec();
    }

    /// The raw entry for `key`, if present.
    pub fn entry(
        &self,
        key: &str,
    ) -> Option<(&'t Spanned<DeString<'i>>, &'t Spanned<DeValue<'i>>)> {
        self.table.get_key_value(key)
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// All entries (for free-form tables such as `[status_map]`).
    pub fn entries(
        &self,
    ) -> impl Iterator<Item = (&'t Spanned<DeString<'i>>, &'t Spanned<DeValue<'i>>)> {
        self.table.iter()
    }

    fn wrong_type(&self, ctx: &mut Ctx<'_>, key: &str, value: &Spanned<DeValue<'_>>, want: &str) {
        ctx.error(
            value.span(),
            format!(
                "`{key}` in {} must be {want}, found {}",
                self.name,
                type_name(value.get_ref())
            ),
        );
    }

    /// Reports a missing key at the table's header.
    pub fn missing(&self, ctx: &mut Ctx<'_>, key: &str, hint: &str) {
        ctx.error(
            self.span.clone(),
            format!("{} is missing `{key}`{hint}", self.name),
        );
    }

    /// An optional string value.
    pub fn string(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Spanned<String>> {
        let (_, value) = self.entry(key)?;
        match value.get_ref() {
            DeValue::String(s) => Some(Spanned::new(value.span(), s.to_string())),
            _ => {
                self.wrong_type(ctx, key, value, "a string");
                None
            }
        }
    }

    /// A required string value; missing → diagnostic at the header.
    pub fn required_string(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Spanned<String>> {
        if !self.has(key) {
            self.missing(ctx, key, "");
            return None;
        }
        self.string(ctx, key)
    }

    /// An optional integer within `min..=max`.
    pub fn integer(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        min: i64,
        max: i64,
    ) -> Option<Spanned<i64>> {
        let (_, value) = self.entry(key)?;
        let DeValue::Integer(i) = value.get_ref() else {
            self.wrong_type(ctx, key, value, "an integer");
            return None;
        };
        match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) if (min..=max).contains(&n) => Some(Spanned::new(value.span(), n)),
            _ => {
                ctx.error(
                    value.span(),
                    format!(
                        "`{key}` in {} must be between {min} and {max}, found {i}",
                        self.name
                    ),
                );
                None
            }
        }
    }

    /// An optional duration string (`"30s"`), at least `min`.
    pub fn duration(&self, ctx: &mut Ctx<'_>, key: &str, min: Duration) -> Option<Duration> {
        let (_, value) = self.entry(key)?;
        if !value.get_ref().is_str() {
            ctx.error(
                value.span(),
                format!(
                    "`{key}` in {} must be a duration string like \"30s\" or \"5m\", found {}",
                    self.name,
                    type_name(value.get_ref())
                ),
            );
            return None;
        }
        let s = self.string(ctx, key)?;
        match parse_duration(s.get_ref()) {
            Ok(d) if d >= min => Some(d),
            Ok(_) => {
                ctx.error(
                    s.span(),
                    format!(
                        "`{key}` in {} must be at least {}ms, found \"{}\"",
                        self.name,
                        min.as_millis(),
                        s.get_ref()
                    ),
                );
                None
            }
            Err(e) => {
                ctx.error(s.span(), format!("`{key}` in {}: {e}", self.name));
                None
            }
        }
    }

    /// An optional sub-table, as a reader with its own allowed keys.
    pub fn table(
        &self,
        ctx: &mut Ctx<'_>,
        key: &str,
        name: impl Into<String>,
        known: &[&'static str],
    ) -> Option<TableReader<'t, 'i>> {
        let (k, value) = self.entry(key)?;
        match value.get_ref() {
            DeValue::Table(t) => {
                // An implicit table (`[systems.shop]` creates `systems`) has an empty span;
                // point at its key instead.
                let span = if value.span().is_empty() {
                    k.span()
                } else {
                    value.span()
                };
                Some(TableReader::new(t, span, name, known))
            }
            _ => {
                self.wrong_type(ctx, key, value, "a table");
                None
            }
        }
    }

    /// Reports every key not in the allowed list, suggesting the nearest allowed one.
    pub fn deny_unknown(&self, ctx: &mut Ctx<'_>) {
        for (key, _) in self.table.iter() {
            let k: &str = key.get_ref();
            if self.known.contains(&k) {
                continue;
            }
            let mut message = format!("unknown key `{k}` in {}", self.name);
            if let Some(near) = nearest(k, &self.known) {
                message.push_str(&format!("; did you mean `{near}`?"));
            } else if !self.known.is_empty() {
                message.push_str(&format!("; allowed keys: {}", self.known.join(", ")));
            }
            ctx.error(key.span(), message);
        }
    }
}

/// The allowed word closest to `word`, if it is close enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_keys_only() {
        let known = ["consumer_key", "consumer_secret", "base_url"];
        assert_eq!(nearest("consumer_secrte", &known), Some("consumer_secret"));
        assert_eq!(nearest("base-url", &known), Some("base_url"));
        assert_eq!(nearest("colour", &known), None);
    }
}
