//! `[[flows]]`: what moves from which system to which, under which mapping file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use toml::de::DeValue;
use toml::Spanned;

use super::doc::{nearest, type_name, Ctx, TableReader};
use super::system::SystemKind;
use crate::mapping::{read_mapping, Mapping};
use dealbridge_sdk::config::SourceFile;

/// A kind of thing a flow can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Entity {
    /// Store orders (become CRM deals).
    Order,
    /// Customers / contacts.
    Contact,
    /// Catalog products.
    Product,
    /// Price list entries.
    Price,
    /// Stock levels.
    Stock,
    /// Payments.
    Payment,
}

impl Entity {
    const ALL: &'static [(&'static str, Entity)] = &[
        ("order", Entity::Order),
        ("contact", Entity::Contact),
        ("product", Entity::Product),
        ("price", Entity::Price),
        ("stock", Entity::Stock),
        ("payment", Entity::Payment),
    ];

    /// The name used in `entities = [...]`.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, e)| *e == self)
            .map_or("", |(n, _)| n)
    }

    /// Parses an `entities` element.
    pub fn parse(s: &str) -> Option<Entity> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, e)| *e)
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The (entity, from kind, to kind) combinations the registered connectors can carry, derived
/// from what each offers: orders from an order source to a CRM's deals, payments from a payment
/// source to a CRM's payments, and the CRM → store direction of a two-way pair (a manager's
/// stage or row edit written back to the order; it needs the store → CRM flow of the same pair,
/// which is checked).
pub fn supported_flows() -> Vec<(Entity, SystemKind, SystemKind)> {
    let mut out = Vec::new();
    for entity in [Entity::Order, Entity::Payment] {
        for from in crate::connectors::kinds() {
            for to in crate::connectors::kinds() {
                if is_supported(entity, from, to) {
                    out.push((entity, from, to));
                }
            }
        }
    }
    out
}

/// Whether `kind` is a store (orders come from it); a flow from a CRM to a store is the reverse
/// direction of a pair, and its mapping file is read as store → CRM like the forward one's.
pub fn is_store(kind: SystemKind) -> bool {
    kind.is_store()
}

/// Whether the engine can carry `entity` from a `from` system to a `to` system.
pub fn is_supported(entity: Entity, from: SystemKind, to: SystemKind) -> bool {
    let (f, t) = (from.connector().offers(), to.connector().offers());
    match entity {
        Entity::Order => (f.order_source && t.crm_deals) || (f.crm_reader && t.order_sink),
        Entity::Payment => f.payment_source && t.crm_payments,
        _ => false,
    }
}

fn supported_list() -> String {
    let items: Vec<String> = supported_flows()
        .iter()
        .map(|(e, f, t)| format!("{e}: {f} → {t}"))
        .collect();
    items.join("; ")
}

/// One `[[flows]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowConfig {
    /// `name`: unique; used by `dealbridge sync <FLOW>` and in cursors and logs.
    pub name: String,
    /// `from`: the source system's name (a key of [`super::Config::systems`]).
    pub from: String,
    /// `to`: the target system's name.
    pub to: String,
    /// `entities`: what this flow carries.
    pub entities: Vec<Entity>,
    /// The parsed `mapping` file; its path (resolved against the config's directory) is
    /// [`Mapping::path`].
    pub mapping: Mapping,
}

const FLOW_KEYS: &[&str] = &["name", "from", "to", "entities", "mapping"];

/// Reads `flows`, checking each against the systems and loading its mapping file (each file once).
pub(crate) fn read_flows(
    ctx: &mut Ctx<'_>,
    flows: Option<&Spanned<DeValue<'_>>>,
    systems: &BTreeMap<String, Option<SystemKind>>,
    base_dir: &Path,
) -> Vec<FlowConfig> {
    let Some(flows) = flows else {
        return Vec::new();
    };
    let items: Vec<&Spanned<DeValue<'_>>> = match flows.get_ref() {
        DeValue::Array(a) => a.iter().collect(),
        other => {
            ctx.error(
                flows.span(),
                format!(
                    "`flows` must be written as [[flows]] tables, found {}",
                    type_name(other)
                ),
            );
            return Vec::new();
        }
    };
    let mut seen_names = BTreeSet::new();
    let mut mappings: BTreeMap<(PathBuf, SystemKind, SystemKind), Option<Mapping>> =
        BTreeMap::new();
    let mut out = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let DeValue::Table(table) = item.get_ref() else {
            ctx.error(
                item.span(),
                format!(
                    "flow #{} must be a table, found {}",
                    index + 1,
                    type_name(item.get_ref())
                ),
            );
            continue;
        };
        let t = TableReader::new(
            table,
            item.span(),
            format!("[[flows]] #{}", index + 1),
            FLOW_KEYS,
        );
        if let Some(flow) = read_flow(ctx, &t, systems, base_dir, &mut seen_names, &mut mappings) {
            out.push((flow, item.span()));
        }
    }
    check_writers(ctx, &out, systems);
    out.into_iter().map(|(f, _)| f).collect()
}

/// Refuses flows that would write the same fields of the same system with no single owner: two
/// flows with the same source, target and entity, or the two directions of a pair under mapping
/// files that give the fields different owners; and a CRM → store flow with no store → CRM flow
/// to pair with (it writes back to orders that flow created deals for).
fn check_writers(
    ctx: &mut Ctx<'_>,
    flows: &[(FlowConfig, std::ops::Range<usize>)],
    systems: &BTreeMap<String, Option<SystemKind>>,
) {
    for (i, (flow, span)) in flows.iter().enumerate() {
        for entity in &flow.entities {
            if let Some((other, _)) = flows[..i].iter().find(|(o, _)| {
                o.from == flow.from && o.to == flow.to && o.entities.contains(entity)
            }) {
                ctx.error(
                    span.clone(),
                    format!(
                        "flows `{}` and `{}` both carry `{entity}` from `{}` to `{}`: they would write the same fields of `{}` with no single owner; merge them into one flow",
                        other.name, flow.name, flow.from, flow.to, flow.to
                    ),
                );
            }
        }
        let from_kind = systems.get(&flow.from).copied().flatten();
        if from_kind.is_none_or(is_store) {
            continue;
        }
        // A CRM → store flow.
        match flows
            .iter()
            .find(|(o, _)| o.from == flow.to && o.to == flow.from && o.entities.contains(&Entity::Order))
        {
            None => ctx.error(
                span.clone(),
                format!(
                    "flow `{}` writes deals from `{}` back to `{}`, but no flow carries orders from `{}` to `{}`: add that flow (it creates the deals this one writes back from)",
                    flow.name, flow.from, flow.to, flow.to, flow.from
                ),
            ),
            Some((fwd, _)) if fwd.mapping.fields != flow.mapping.fields => ctx.error(
                span.clone(),
                format!(
                    "flows `{}` and `{}` are the two directions of one pair but their mapping files ({} and {}) give the fields different owners in [fields]; both directions must agree on who owns each field (use one mapping file for both)",
                    fwd.name, flow.name, fwd.mapping.path.display(), flow.mapping.path.display()
                ),
            ),
            Some(_) => {}
        }
    }
}

fn read_flow(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    systems: &BTreeMap<String, Option<SystemKind>>,
    base_dir: &Path,
    seen_names: &mut BTreeSet<String>,
    mappings: &mut BTreeMap<(PathBuf, SystemKind, SystemKind), Option<Mapping>>,
) -> Option<FlowConfig> {
    t.deny_unknown(ctx);
    let before = ctx.out.len();
    let name = t.required_string(ctx, "name");
    if let Some(n) = &name {
        if n.get_ref().trim().is_empty() {
            ctx.error(n.span(), "flow `name` is empty");
        } else if !seen_names.insert(n.get_ref().clone()) {
            ctx.error(
                n.span(),
                format!(
                    "another flow is already named `{}`; flow names must be unique",
                    n.get_ref()
                ),
            );
        }
    }
    let label = name
        .as_ref()
        .map_or_else(|| t.name.clone(), |n| format!("flow `{}`", n.get_ref()));
    let from = read_endpoint(ctx, t, "from", &label, systems);
    let to = read_endpoint(ctx, t, "to", &label, systems);
    if let (Some((f, _)), Some((to_name, _))) = (&from, &to) {
        if f.get_ref() == to_name.get_ref() {
            ctx.error(
                to_name.span(),
                format!(
                    "{label} goes from `{}` to itself; `to` must name another system",
                    f.get_ref()
                ),
            );
        }
    }
    let entities = read_entities(ctx, t, &label);
    // The pair check needs both kinds; unknown systems were reported above.
    let kinds = match (&from, &to) {
        (Some((_, Some(f))), Some((_, Some(k)))) => Some((*f, *k)),
        _ => None,
    };
    if let (Some((fk, tk)), Some(entities)) = (kinds, &entities) {
        for (entity, span) in entities {
            if !is_supported(*entity, fk, tk) {
                ctx.error(
                    span.clone(),
                    format!(
                        "{label} cannot carry `{entity}` from {fk} (`{}`) to {tk} (`{}`); supported: {}",
                        from.as_ref().map_or("", |(n, _)| n.get_ref().as_str()),
                        to.as_ref().map_or("", |(n, _)| n.get_ref().as_str()),
                        supported_list()
                    ),
                );
            }
        }
    }
    let mapping_value = t.required_string(ctx, "mapping");
    let mapping = mapping_value.and_then(|m| {
        let path = base_dir.join(m.get_ref());
        if !path.is_file() {
            ctx.error(
                m.span(),
                format!(
                    "{label}: mapping file `{}` not found (looked at {}; relative paths are read from the config file's directory)",
                    m.get_ref(),
                    path.display()
                ),
            );
            return None;
        }
        let (fk, tk) = kinds?;
        if !is_supported(Entity::Order, fk, tk) {
            return None; // already reported as an unsupported pair
        }
        // A CRM → store flow reads the pair's mapping as store → CRM, like its forward flow.
        let (sk, ck) = if is_store(fk) { (fk, tk) } else { (tk, fk) };
        mappings
            .entry((path.clone(), sk, ck))
            .or_insert_with(|| load_mapping(ctx, &path, m.span(), sk, ck))
            .clone()
    });
    if ctx.out.len() != before {
        return None;
    }
    Some(FlowConfig {
        name: name?.into_inner(),
        from: from?.0.into_inner(),
        to: to?.0.into_inner(),
        entities: entities?.into_iter().map(|(e, _)| e).collect(),
        mapping: mapping?,
    })
}

fn load_mapping(
    ctx: &mut Ctx<'_>,
    path: &Path,
    at: std::ops::Range<usize>,
    from: SystemKind,
    to: SystemKind,
) -> Option<Mapping> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let src = SourceFile::new(path, text);
            let before = ctx.out.len();
            let mapping = read_mapping(&src, from, to, ctx.out);
            if ctx.out.len() == before {
                mapping
            } else {
                None
            }
        }
        Err(e) => {
            ctx.error(
                at,
                format!("cannot read mapping file {}: {e}", path.display()),
            );
            None
        }
    }
}

/// Reads `from`/`to`: the name, and the system's kind if it is known and valid.
fn read_endpoint(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    key: &str,
    label: &str,
    systems: &BTreeMap<String, Option<SystemKind>>,
) -> Option<(Spanned<String>, Option<SystemKind>)> {
    let value = t.required_string(ctx, key)?;
    match systems.get(value.get_ref()) {
        Some(kind) => {
            let kind = *kind;
            Some((value, kind))
        }
        None => {
            let names: Vec<&str> = systems.keys().map(String::as_str).collect();
            let hint = match nearest(value.get_ref(), &names) {
                Some(n) => format!("did you mean `{n}`?"),
                None if names.is_empty() => "no [systems.<name>] tables are defined".to_string(),
                None => format!("defined systems: {}", names.join(", ")),
            };
            ctx.error(
                value.span(),
                format!(
                    "{label}: `{key} = \"{}\"` names no system; {hint}",
                    value.get_ref()
                ),
            );
            None
        }
    }
}

fn read_entities(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    label: &str,
) -> Option<Vec<(Entity, std::ops::Range<usize>)>> {
    let Some((_, value)) = t.entry("entities") else {
        t.missing(ctx, "entities", ": write e.g. `entities = [\"order\"]`");
        return None;
    };
    let DeValue::Array(items) = value.get_ref() else {
        ctx.error(
            value.span(),
            format!(
                "{label}: `entities` must be an array like [\"order\"], found {}",
                type_name(value.get_ref())
            ),
        );
        return None;
    };
    if items.is_empty() {
        ctx.error(
            value.span(),
            format!("{label}: `entities` is empty; write e.g. [\"order\"]"),
        );
        return None;
    }
    let before = ctx.out.len();
    let mut entities = Vec::new();
    for item in items.iter() {
        let Some(s) = item.get_ref().as_str() else {
            ctx.error(
                item.span(),
                format!("{label}: each entity must be a string like \"order\""),
            );
            continue;
        };
        match Entity::parse(s) {
            Some(e) if entities.iter().any(|(x, _)| *x == e) => {
                ctx.error(
                    item.span(),
                    format!("{label}: entity `{s}` is listed twice"),
                );
            }
            Some(e) => entities.push((e, item.span())),
            None => {
                let names: Vec<&str> = Entity::ALL.iter().map(|(n, _)| *n).collect();
                ctx.error(
                    item.span(),
                    format!(
                        "{label}: unknown entity `{s}`; known entities: {}",
                        names.join(", ")
                    ),
                );
            }
        }
    }
    (ctx.out.len() == before).then_some(entities)
}
