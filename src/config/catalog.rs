//! `[[catalog]]`: the 1C catalog (imported by the exchange or `import-1c`) pushed to a CRM's
//! product catalog (products with the mapped price) or to a store (price and stock by SKU); or,
//! for a shop without 1C, the store's own catalog pushed to a CRM (`from`).
//!
//! ```toml
//! [[catalog]]
//! name = "products"                       # used by `sync <name>` and `[schedule] flows`
//! to = "crm"                              # a CRM (Bitrix24, amoCRM) or a store (WooCommerce, Shopify)
//! mapping = "mappings/1c-bitrix24.toml"   # [prices] price_type, [stock] warehouses
//!
//! [[catalog]]
//! name = "shop-products"
//! from = "shop"                           # a store: its products and prices → the CRM
//! to = "crm"                              # a CRM; no mapping (the store has one price)
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use toml::de::DeValue;
use toml::Spanned;

use super::doc::{nearest, type_name, Ctx, TableReader};
use super::system::SystemKind;
use crate::mapping::catalog::CatalogMapping;

/// One `[[catalog]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogConfig {
    /// `name`: unique among flows and catalogs.
    pub name: String,
    /// `from`: the store whose own catalog is read; `None`: the imported 1C catalog.
    pub from: Option<String>,
    /// `to`: the system written (a key of `[systems]`).
    pub to: String,
    /// Its kind.
    pub kind: SystemKind,
    /// The parsed `mapping` file.
    pub mapping: CatalogMapping,
}

const KEYS: &[&str] = &["name", "from", "to", "mapping"];

/// Kinds a catalog can be pushed to: a CRM's catalog or a store's prices and stock.
fn accepts(kind: SystemKind) -> bool {
    let o = kind.connector().offers();
    o.crm_catalog || o.price_push
}

/// `bitrix24, amocrm`: the registered kinds whose connector offers what `pick` asks.
fn kinds_offering(pick: fn(&dealbridge_sdk::connector::Offers) -> bool) -> String {
    let names: Vec<&str> = crate::connectors::kinds()
        .filter(|k| pick(&k.connector().offers()))
        .map(SystemKind::as_str)
        .collect();
    names.join(", ")
}

/// `to`: a system whose connector takes a catalog (a CRM's catalog or a store's prices).
fn read_to(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    systems: &BTreeMap<String, Option<SystemKind>>,
) -> Option<(String, SystemKind)> {
    t.required_string(ctx, "to")
        .and_then(|to| match systems.get(to.get_ref()) {
            Some(Some(kind)) if accepts(*kind) => Some((to.into_inner(), *kind)),
            Some(Some(kind)) => {
                ctx.error(
                    to.span(),
                    format!(
                    "a catalog cannot go to `{}` ({kind}); it goes to a CRM ({}) or a store ({})",
                    to.get_ref(),
                    kinds_offering(|o| o.crm_catalog),
                    kinds_offering(|o| o.price_push)
                ),
                );
                None
            }
            Some(None) => None, // the system's own mistake was reported
            None => {
                let known: Vec<&str> = systems.keys().map(String::as_str).collect();
                let hint = nearest(to.get_ref(), &known).map_or_else(
                    || format!("defined systems: {}", known.join(", ")),
                    |n| format!("did you mean `{n}`?"),
                );
                ctx.error(
                    to.span(),
                    format!("`to = \"{}\"` names no system; {hint}", to.get_ref()),
                );
                None
            }
        })
}

/// `from`: a store whose own catalog is read (absent for the 1C catalog).
fn read_from(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    systems: &BTreeMap<String, Option<SystemKind>>,
) -> Option<Spanned<String>> {
    t.string(ctx, "from").and_then(|f| match systems.get(f.get_ref()) {
        Some(Some(kind)) if kind.connector().offers().catalog_source => Some(f),
        Some(Some(kind)) => {
            ctx.error(
                f.span(),
                format!(
                    "a catalog cannot come from `{}` ({kind}); `from` names a store ({}) whose own products go to a CRM, and is left out for the 1C catalog",
                    f.get_ref(),
                    kinds_offering(|o| o.catalog_source)
                ),
            );
            None
        }
        Some(None) => None,
        None => {
            let known: Vec<&str> = systems.keys().map(String::as_str).collect();
            ctx.error(
                f.span(),
                format!("`from = \"{}\"` names no system; defined systems: {}", f.get_ref(), known.join(", ")),
            );
            None
        }
    })
}

/// `mapping`: the 1C catalog's mapping file, read relative to the config's directory.
fn read_mapping(
    ctx: &mut Ctx<'_>,
    t: &TableReader<'_, '_>,
    base_dir: &Path,
) -> Option<CatalogMapping> {
    t.required_string(ctx, "mapping").and_then(|m| {
            let path = base_dir.join(m.get_ref());
            if !path.is_file() {
                ctx.error(
                    m.span(),
                    format!(
                        "mapping file `{}` not found (looked at {}; relative paths are read from the config file's directory)",
                        m.get_ref(),
                        path.display()
                    ),
                );
                return None;
            }
            match CatalogMapping::load(&path) {
                Ok(mapping) => Some(mapping),
                Err(errors) => {
                    ctx.out.extend(errors.0);
                    None
                }
            }
            })
}

/// Reads `catalog`; `taken` are the flow names already used.
pub(crate) fn read_catalogs(
    ctx: &mut Ctx<'_>,
    value: Option<&Spanned<DeValue<'_>>>,
    systems: &BTreeMap<String, Option<SystemKind>>,
    base_dir: &Path,
    taken: &[&str],
) -> Vec<CatalogConfig> {
    let Some(value) = value else {
        return Vec::new();
    };
    let DeValue::Array(items) = value.get_ref() else {
        ctx.error(
            value.span(),
            format!(
                "`catalog` must be written as [[catalog]] tables, found {}",
                type_name(value.get_ref())
            ),
        );
        return Vec::new();
    };
    let mut names: Vec<String> = taken.iter().map(|s| s.to_string()).collect();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let DeValue::Table(table) = item.get_ref() else {
            ctx.error(item.span(), format!("catalog #{} must be a table", i + 1));
            continue;
        };
        let t = TableReader::new(table, item.span(), format!("[[catalog]] #{}", i + 1), KEYS);
        t.deny_unknown(ctx);
        let before = ctx.out.len();
        let name = t.required_string(ctx, "name");
        if let Some(n) = &name {
            if names.iter().any(|x| x == n.get_ref()) {
                ctx.error(
                    n.span(),
                    format!(
                        "`{}` is already the name of a flow or catalog; names must be unique",
                        n.get_ref()
                    ),
                );
            }
        }
        let to = read_to(ctx, &t, systems);
        let from = read_from(ctx, &t, systems);
        if t.has("from") && from.is_none() {
            continue;
        }
        if let (Some(f), Some((_, kind))) = (&from, &to) {
            if !kind.connector().offers().crm_catalog {
                ctx.error(
                    f.span(),
                    format!(
                        "a store's catalog goes to a CRM ({}), not to `{}` ({kind})",
                        kinds_offering(|o| o.crm_catalog),
                        to.as_ref().map_or("?", |(t, _)| t.as_str())
                    ),
                );
                continue;
            }
            if let Some(m) = t.string(ctx, "mapping") {
                ctx.error(
                    m.span(),
                    "a store's catalog carries its own prices: `mapping` ([prices] price_type, [stock] warehouses) is for the 1C catalog; leave it out".to_string(),
                );
                continue;
            }
        }
        let mapping = if from.is_some() {
            Some(CatalogMapping::for_store())
        } else {
            read_mapping(ctx, &t, base_dir)
        };
        if ctx.out.len() != before {
            continue;
        }
        if let Some((to, _)) = &to {
            if let Some(other) = out.iter().find(|c: &&CatalogConfig| &c.to == to) {
                ctx.error(
                    t.span.clone(),
                    format!(
                        "catalogs `{}` and `{}` both write the products of `{to}` with no single owner of their fields; keep one",
                        other.name,
                        name.as_ref().map_or("?", |n| n.get_ref().as_str())
                    ),
                );
                continue;
            }
        }
        if let (Some(name), Some((to, kind)), Some(mapping)) = (name, to, mapping) {
            names.push(name.get_ref().clone());
            out.push(CatalogConfig {
                name: name.into_inner(),
                from: from.map(Spanned::into_inner),
                to,
                kind,
                mapping,
            });
        }
    }
    out
}
