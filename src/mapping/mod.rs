//! Mapping files (`mappings/*.toml`): how store orders become CRM deals, and who owns which field.
//!
//! A mapping file has one table per concern, so later issues can add tables (a reverse
//! `[stage_map]` for CRM → store, `[prices]` for 1C price types) without changing these:
//!
//! ```toml
//! [deal]
//! title = "Order #{number}"   # placeholders: {number}, {id}, {customer}, {email}
//! pipeline = 0                # Bitrix24 CATEGORY_ID; optional
//! [status_map]                # every store status → a CRM stage id
//! pending = "NEW"
//! [fields]                    # owner per field: store|crm|erp|newest|manual
//! stage = "crm"
//! ```

pub mod catalog;
mod ownership;
mod statuses;
mod template;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use dealbridge_sdk::model::Order;

use crate::config::doc::{self, nearest, Ctx, TableReader};
use crate::config::{ConfigErrors, Diagnostic, SourceFile, SystemKind};

pub use ownership::{FieldOwnership, OwnedField, Owner};
pub use statuses::{order_statuses, StatusVocabulary};
pub use template::{Placeholder, TemplateError, TitleTemplate};

/// The title used when `[deal]` sets none.
pub const DEFAULT_TITLE: &str = "Order #{number}";

/// A mistake met while applying a mapping to a live order. Permanent: retrying cannot fix it,
/// editing the mapping file can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// The order's status is not in `[status_map]`.
    #[error(
        "order status `{status}` has no CRM stage in mapping {}: add `{} = \"STAGE\"` to [status_map] in {}",
        .file.display(), toml_key(.status), .file.display()
    )]
    UnmappedStatus {
        /// The store status.
        status: String,
        /// The mapping file to edit.
        file: PathBuf,
    },
}

/// `[deal]`: how the deal itself looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealRules {
    /// `title`: the deal title template (default `Order #{number}`).
    pub title: TitleTemplate,
    /// `pipeline`: Bitrix24 `CATEGORY_ID`; `None` means the default pipeline (0).
    pub pipeline: Option<u32>,
}

/// A parsed, checked mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The file it came from (named in errors).
    pub path: PathBuf,
    /// The kind of system orders come from.
    pub source: SystemKind,
    /// The kind of system deals go to.
    pub target: SystemKind,
    /// `[deal]`.
    pub deal: DealRules,
    /// `[status_map]`: store status → CRM stage id.
    pub status_map: BTreeMap<String, String>,
    /// `[fields]`: field ownership for two-way sync.
    pub fields: FieldOwnership,
    /// `[stage_map]`: CRM stage id → store order status, for the CRM → store direction. Stages
    /// not listed fall back to the inverse of `[status_map]` where exactly one status maps to the
    /// stage (see [`Mapping::status_for_stage`]).
    pub stage_map: BTreeMap<String, String>,
    /// `[payment_methods]`: the store's payment method (as the order names it) → the name 1C
    /// (and the deal) should show, e.g. `"bacs" = "Безналичный расчет"`. Unlisted methods pass
    /// through unchanged.
    pub payment_methods: BTreeMap<String, String>,
}

impl Mapping {
    /// Reads and checks a mapping file for orders from `source` becoming deals in `target`.
    pub fn load(
        path: &Path,
        source: SystemKind,
        target: SystemKind,
    ) -> Result<Mapping, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![Diagnostic::whole_file(
                path,
                format!("cannot read mapping file: {e}"),
            )])
        })?;
        Mapping::parse(&text, path, source, target)
    }

    /// Checks mapping text as if it were the file at `path`.
    pub fn parse(
        text: &str,
        path: &Path,
        source: SystemKind,
        target: SystemKind,
    ) -> Result<Mapping, ConfigErrors> {
        let src = SourceFile::new(path, text.to_string());
        let mut out = Vec::new();
        let mapping = read_mapping(&src, source, target, &mut out);
        match mapping {
            Some(m) if out.is_empty() => Ok(m),
            _ => {
                out.sort();
                Err(ConfigErrors(out))
            }
        }
    }

    /// The CRM stage for a store order status. An unmapped status is an error naming the status
    /// and the file to edit; the order must be refused rather than put in a guessed stage.
    pub fn stage_for(&self, status: &str) -> Result<&str, MappingError> {
        self.status_map
            .get(status)
            .map(String::as_str)
            .ok_or_else(|| MappingError::UnmappedStatus {
                status: status.to_string(),
                file: self.path.clone(),
            })
    }

    /// The store status a CRM stage means, for writing a manager's stage change back to the
    /// store: `[stage_map]` first, else the one status `[status_map]` sends to that stage. `None`
    /// when no status (or several, e.g. `cancelled`, `failed` and `refunded` all → `LOSE`, with
    /// no `[stage_map]` entry to choose) maps to it: the store's status is then left alone.
    pub fn status_for_stage(&self, stage: &str) -> Option<&str> {
        if let Some(s) = self.stage_map.get(stage) {
            return Some(s.as_str());
        }
        let mut found = self
            .status_map
            .iter()
            .filter(|(_, v)| v.as_str() == stage)
            .map(|(k, _)| k.as_str());
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// The name `[payment_methods]` gives the store's payment method `method` (itself if none).
    pub fn payment_method<'a>(&'a self, method: &'a str) -> &'a str {
        self.payment_methods
            .get(method)
            .map_or(method, String::as_str)
    }

    /// The deal title for `order`.
    pub fn deal_title(&self, order: &Order) -> String {
        self.deal.title.render(order)
    }

    /// The Bitrix24 `CATEGORY_ID` to create deals in (0 = the default pipeline).
    pub fn pipeline(&self) -> u32 {
        self.deal.pipeline.unwrap_or(0)
    }

    /// Who owns `field` in two-way sync.
    pub fn owner(&self, field: OwnedField) -> Owner {
        self.fields.owner(field)
    }
}

/// A status written as a TOML key: bare when it can be, quoted otherwise.
fn toml_key(status: &str) -> String {
    let bare = !status.is_empty()
        && status
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        status.to_string()
    } else {
        format!("{status:?}")
    }
}

const TOP_KEYS: &[&str] = &[
    "deal",
    "status_map",
    "stage_map",
    "fields",
    "payment_methods",
];
const DEAL_KEYS: &[&str] = &["title", "pipeline"];

/// Reads a mapping file, pushing every mistake to `out`. Returns the mapping when it could be
/// built (callers still check `out`).
pub(crate) fn read_mapping(
    src: &SourceFile,
    source: SystemKind,
    target: SystemKind,
    out: &mut Vec<Diagnostic>,
) -> Option<Mapping> {
    let root = doc::parse(src, out)?;
    let mut ctx = Ctx { src, out };
    let top = TableReader::new(
        &root,
        0..0,
        format!("mapping {}", src.path.display()),
        TOP_KEYS,
    );
    top.deny_unknown(&mut ctx);

    let deal_table = top.table(&mut ctx, "deal", "[deal]", DEAL_KEYS);
    let (title, pipeline) = read_deal(&mut ctx, deal_table.as_ref());
    let status_map = match top.table(&mut ctx, "status_map", "[status_map]", &[]) {
        Some(t) => read_status_map(&mut ctx, &t, source, target, pipeline.ok()),
        None => {
            if !top.has("status_map") {
                ctx.error(
                    0..0,
                    "the mapping has no [status_map]; add one mapping every store order status to a CRM stage",
                );
            }
            None
        }
    };
    let stage_map = match top.table(&mut ctx, "stage_map", "[stage_map]", &[]) {
        Some(t) => read_stage_map(&mut ctx, &t, source, target, pipeline.ok()),
        None => Some(BTreeMap::new()),
    };
    let payment_methods = match top.table(&mut ctx, "payment_methods", "[payment_methods]", &[]) {
        Some(t) => {
            let mut map = BTreeMap::new();
            for (key, value) in t.entries() {
                match value.get_ref().as_str() {
                    Some(v) if !v.trim().is_empty() => {
                        map.insert(key.get_ref().to_string(), v.to_string());
                    }
                    _ => ctx.error(
                        value.span(),
                        format!(
                            "the name for payment method `{}` in [payment_methods] must be a non-empty string, e.g. \"Безналичный расчет\"",
                            key.get_ref()
                        ),
                    ),
                }
            }
            Some(map)
        }
        None => Some(BTreeMap::new()),
    };
    let fields = match top.table(&mut ctx, "fields", "[fields]", OwnedField::NAMES) {
        Some(t) => read_fields(&mut ctx, &t),
        None => Some(FieldOwnership::default()),
    };
    Some(Mapping {
        path: src.path.clone(),
        source,
        target,
        deal: DealRules {
            title: title?,
            pipeline: pipeline.ok()?,
        },
        status_map: status_map?,
        fields: fields?,
        stage_map: stage_map?,
        payment_methods: payment_methods?,
    })
}

/// Reads `[deal]`: the title (None when wrong) and the pipeline (`Err` when wrong, so stage
/// ids are not judged against a pipeline the user did not mean).
fn read_deal(
    ctx: &mut Ctx<'_>,
    t: Option<&TableReader<'_, '_>>,
) -> (Option<TitleTemplate>, Result<Option<u32>, ()>) {
    let default_title = || TitleTemplate::parse(DEFAULT_TITLE).ok();
    let Some(t) = t else {
        return (default_title(), Ok(None));
    };
    t.deny_unknown(ctx);
    let title = match t.string(ctx, "title") {
        Some(s) => match TitleTemplate::parse(s.get_ref()) {
            Ok(tpl) => Some(tpl),
            Err(e) => {
                let at = inner_span(ctx.src, s.span(), s.get_ref(), e.offset);
                ctx.error(at, format!("`title` in [deal]: {}", e.message));
                None
            }
        },
        None if t.has("title") => None,
        None => default_title(),
    };
    let pipeline = match t.integer(ctx, "pipeline", 0, i64::from(i32::MAX)) {
        Some(p) => Ok(Some(*p.get_ref() as u32)),
        None if t.has("pipeline") => Err(()),
        None => Ok(None),
    };
    (title, pipeline)
}

/// Points inside a string value when the source spells it without escapes, else at its start.
fn inner_span(src: &SourceFile, span: Range<usize>, value: &str, offset: usize) -> Range<usize> {
    let raw = src.text.get(span.clone()).unwrap_or("");
    let quoted_plainly = raw.len() == value.len() + 2 && raw.get(1..raw.len() - 1) == Some(value);
    if quoted_plainly {
        let at = span.start + 1 + offset;
        at..at + 1
    } else {
        span
    }
}

fn read_status_map(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    source: SystemKind,
    target: SystemKind,
    pipeline: Option<Option<u32>>,
) -> Option<BTreeMap<String, String>> {
    let Some(vocab) = order_statuses(source) else {
        ctx.error(
            t.span.clone(),
            format!("{source} is not a store: it has no order statuses to map"),
        );
        return None;
    };
    let before = ctx.out.len();
    let all = vocab.all();
    let mut map = BTreeMap::new();
    for (key, value) in t.entries() {
        let status: &str = key.get_ref();
        // A plugin's status (an extensible store) may be mapped; a near-miss is a typo.
        if !vocab.accepts(status) {
            let hint = match nearest(status, &all) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("{source} statuses: {}", all.join(", ")),
            };
            ctx.error(
                key.span(),
                format!("`{status}` in [status_map] is not a {source} order status; {hint}"),
            );
            continue;
        }
        let Some(stage) = value.get_ref().as_str() else {
            ctx.error(
                value.span(),
                format!(
                    "the stage for `{status}` in [status_map] must be a string (a {target} stage id such as \"NEW\"), found {}",
                    doc::type_name(value.get_ref())
                ),
            );
            continue;
        };
        if let Err(e) = check_stage(stage, pipeline, target) {
            ctx.error(
                value.span(),
                format!("the stage for `{status}` in [status_map] {e}"),
            );
            continue;
        }
        map.insert(status.to_string(), stage.to_string());
    }
    // One diagnostic for all missing statuses: they share the `[status_map]` line.
    let missing: Vec<&str> = vocab
        .required
        .iter()
        .copied()
        .filter(|status| !t.has(status))
        .collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|s| format!("`{s}`")).collect();
        let lines: Vec<String> = missing
            .iter()
            .map(|s| format!("`{} = \"STAGE\"`", toml_key(s)))
            .collect();
        let (noun, them) = if missing.len() == 1 {
            ("status", "that status")
        } else {
            ("statuses", "those statuses")
        };
        ctx.error(
            t.span.clone(),
            format!(
                "[status_map] does not map the {source} {noun} {}: add {}; orders in {them} would be refused",
                names.join(", "),
                lines.join(", ")
            ),
        );
    }
    (ctx.out.len() == before).then_some(map)
}

/// Reads `[stage_map]`: CRM stage id → store status (both checked like `[status_map]`'s).
fn read_stage_map(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    source: SystemKind,
    target: SystemKind,
    pipeline: Option<Option<u32>>,
) -> Option<BTreeMap<String, String>> {
    let vocab = order_statuses(source)?;
    let before = ctx.out.len();
    let all = vocab.all();
    let mut map = BTreeMap::new();
    for (key, value) in t.entries() {
        let stage: &str = key.get_ref();
        if let Err(e) = check_stage(stage, pipeline, target) {
            ctx.error(
                key.span(),
                format!("the stage `{stage}` in [stage_map] {e}"),
            );
            continue;
        }
        let Some(status) = value.get_ref().as_str() else {
            ctx.error(
                value.span(),
                format!(
                    "the status for stage `{stage}` in [stage_map] must be a string (a {source} order status such as \"completed\"), found {}",
                    doc::type_name(value.get_ref())
                ),
            );
            continue;
        };
        // Strict here even for a store whose plugins add statuses: writing a status the store
        // may not have registered would fail on every deal moved to that stage.
        if !vocab.contains(status) {
            let hint = match nearest(status, &all) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("{source} statuses: {}", all.join(", ")),
            };
            ctx.error(
                value.span(),
                format!("`{status}` for stage `{stage}` in [stage_map] is not a {source} order status; {hint}"),
            );
            continue;
        }
        map.insert(stage.to_string(), status.to_string());
    }
    (ctx.out.len() == before).then_some(map)
}

/// A deal stage id of `target`, checked by its connector (Bitrix24's `C<pipeline>:` prefix,
/// amoCRM's numeric status ids). `pipeline` is `None` when `[deal] pipeline` was itself wrong:
/// then the pipeline is not judged.
fn check_stage(
    stage: &str,
    pipeline: Option<Option<u32>>,
    target: SystemKind,
) -> Result<(), String> {
    target.connector().check_stage(stage, pipeline)
}

fn read_fields(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>) -> Option<FieldOwnership> {
    let before = ctx.out.len();
    t.deny_unknown(ctx);
    let mut fields = FieldOwnership::default();
    for (key, value) in t.entries() {
        let Some(field) = OwnedField::parse(key.get_ref()) else {
            continue; // reported by deny_unknown
        };
        match value.get_ref().as_str().map(|s| (s, Owner::parse(s))) {
            Some((_, Some(owner))) => fields.set(field, owner),
            Some((s, None)) => ctx.error(
                value.span(),
                format!(
                    "owner `{s}` of `{}` in [fields] is not one of: {}",
                    key.get_ref(),
                    Owner::known_list()
                ),
            ),
            None => ctx.error(
                value.span(),
                format!(
                    "owner of `{}` in [fields] must be a string, one of: {}",
                    key.get_ref(),
                    Owner::known_list()
                ),
            ),
        }
    }
    (ctx.out.len() == before).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> SystemKind {
        crate::connectors::kind(name).expect("a registered kind")
    }

    #[test]
    fn stage_ids_follow_the_pipeline() {
        let b24 = kind("bitrix24");
        assert!(check_stage("NEW", Some(None), b24).is_ok());
        assert!(check_stage("C3:NEW", Some(Some(3)), b24).is_ok());
        assert!(check_stage("C3:NEW", Some(None), b24)
            .unwrap_err()
            .contains("pipeline = 3"));
        assert!(check_stage("C2:NEW", Some(Some(3)), b24)
            .unwrap_err()
            .contains("C3:STAGE"));
        assert!(check_stage("NEW", Some(Some(3)), b24)
            .unwrap_err()
            .contains("C3:NEW"));
        assert!(check_stage("", Some(None), b24)
            .unwrap_err()
            .contains("empty"));
        assert!(check_stage("IN WORK", Some(None), b24)
            .unwrap_err()
            .contains("spaces"));
        // A stage that merely starts with C is not a pipeline prefix.
        assert!(check_stage("CLOSED", Some(None), b24).is_ok());
        // Unknown pipeline: the prefix is not judged.
        assert!(check_stage("C3:NEW", None, b24).is_ok());
    }

    #[test]
    fn amocrm_stages_are_status_ids_within_a_pipeline() {
        let amo = kind("amocrm");
        assert!(check_stage("142", Some(Some(3177727)), amo).is_ok());
        assert!(check_stage("WON", Some(Some(3177727)), amo)
            .unwrap_err()
            .contains("not an amoCRM status id"));
        assert!(check_stage("142", Some(None), amo)
            .unwrap_err()
            .contains("needs a pipeline"));
    }

    #[test]
    fn every_shipped_order_mapping_checks() {
        for (file, source, target) in [
            ("woocommerce-bitrix24.toml", "woocommerce", "bitrix24"),
            ("woocommerce-amocrm.toml", "woocommerce", "amocrm"),
            ("shopify-bitrix24.toml", "shopify", "bitrix24"),
            ("shopify-amocrm.toml", "shopify", "amocrm"),
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("mappings")
                .join(file);
            let m = Mapping::load(&path, kind(source), kind(target))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
            // Every stage the store → CRM map uses for a final state comes back to a status.
            assert!(!m.stage_map.is_empty(), "{file} has a [stage_map]");
            for (stage, status) in &m.stage_map {
                assert_eq!(m.status_for_stage(stage), Some(status.as_str()), "{file}");
            }
        }
    }

    #[test]
    fn a_stage_shared_by_several_statuses_needs_the_stage_map() {
        let text = "[deal]\npipeline = 0\n[status_map]\npending = \"NEW\"\nprocessing = \"WORK\"\non-hold = \"WORK\"\ncompleted = \"WON\"\ncancelled = \"LOSE\"\nrefunded = \"LOSE\"\nfailed = \"LOSE\"\n";
        let m = Mapping::parse(
            text,
            Path::new("m.toml"),
            kind("woocommerce"),
            kind("bitrix24"),
        )
        .unwrap();
        assert_eq!(m.status_for_stage("WON"), Some("completed"));
        assert_eq!(m.status_for_stage("WORK"), None, "two statuses share it");
        assert_eq!(m.status_for_stage("UNKNOWN"), None);
        let with = format!("{text}[stage_map]\nWORK = \"processing\"\n");
        let m = Mapping::parse(
            &with,
            Path::new("m.toml"),
            kind("woocommerce"),
            kind("bitrix24"),
        )
        .unwrap();
        assert_eq!(m.status_for_stage("WORK"), Some("processing"));
        let bad = format!("{text}[stage_map]\nWORK = \"shipped\"\n");
        let e = Mapping::parse(
            &bad,
            Path::new("m.toml"),
            kind("woocommerce"),
            kind("bitrix24"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(
                "`shipped` for stage `WORK` in [stage_map] is not a woocommerce order status"
            ),
            "{e}"
        );
    }

    #[test]
    fn keys_are_quoted_only_when_needed() {
        assert_eq!(toml_key("on-hold"), "on-hold");
        assert_eq!(toml_key("wc shipped"), "\"wc shipped\"");
    }
}
