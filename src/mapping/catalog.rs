//! Catalog mapping files (`mappings/1c-bitrix24.toml`, `mappings/1c-woocommerce.toml`): which 1C
//! price type feeds the CRM price and the store's regular price, which warehouses sum into the
//! store's stock, and whether inactive items are sent.
//!
//! ```toml
//! [prices]
//! price_type = "Розничная"      # 1C price type name or id (required)
//! currency = "RUB"              # used when the 1C price carries none; default RUB
//! [stock]
//! warehouses = ["Основной склад"] # names or ids summed into store stock; empty/absent = all
//! [products]
//! include_inactive = false      # also push deleted/deactivated items (as inactive); default false
//! ```
//!
//! Mistakes are reported like every other config file: all of them, as `file:line:column`.

use std::path::{Path, PathBuf};

use dealbridge_sdk::money::Currency;
use toml::de::DeValue;

use crate::config::doc::{self, Ctx, TableReader};
use crate::config::{ConfigErrors, Diagnostic, SourceFile};

/// The currency used when neither the mapping nor 1C names one.
pub const DEFAULT_CURRENCY: &str = "RUB";

/// A parsed, checked catalog mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogMapping {
    /// The file it came from (named in errors).
    pub path: PathBuf,
    /// `[prices] price_type`: the 1C price type, by name or id.
    pub price_type: String,
    /// `[prices] currency`: the currency when the 1C price has none.
    pub currency: Currency,
    /// `[stock] warehouses`: 1C warehouses (names or ids) whose quantities sum into the store's
    /// stock; empty means every warehouse.
    pub warehouses: Vec<String>,
    /// `[products] include_inactive`: push deleted/deactivated items too (marked inactive).
    pub include_inactive: bool,
}

const TOP_KEYS: &[&str] = &["prices", "stock", "products"];
const PRICE_KEYS: &[&str] = &["price_type", "currency"];
const STOCK_KEYS: &[&str] = &["warehouses"];
const PRODUCT_KEYS: &[&str] = &["include_inactive"];

impl CatalogMapping {
    /// The mapping of a store's own catalog: no price type or warehouses to choose (the store
    /// has one price and its own stock), inactive products not pushed unless pushed before.
    pub fn for_store() -> CatalogMapping {
        CatalogMapping {
            path: PathBuf::from("(the store's own catalog)"),
            price_type: String::new(),
            currency: Currency::new(DEFAULT_CURRENCY).expect("RUB is a currency code"),
            warehouses: Vec::new(),
            include_inactive: false,
        }
    }

    /// Reads and checks a catalog mapping file.
    pub fn load(path: &Path) -> Result<CatalogMapping, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![Diagnostic::whole_file(
                path,
                format!("cannot read catalog mapping file: {e}"),
            )])
        })?;
        CatalogMapping::parse(&text, path)
    }

    /// Checks catalog mapping text as if it were the file at `path`.
    pub fn parse(text: &str, path: &Path) -> Result<CatalogMapping, ConfigErrors> {
        let src = SourceFile::new(path, text.to_string());
        let mut out = Vec::new();
        let mapping = read_catalog_mapping(&src, &mut out);
        match mapping {
            Some(m) if out.is_empty() => Ok(m),
            _ => {
                out.sort();
                Err(ConfigErrors(out))
            }
        }
    }

    /// True when `warehouse` (its id or its name) is one whose stock counts.
    pub fn counts_warehouse(&self, id: &str, name: Option<&str>) -> bool {
        self.warehouses.is_empty()
            || self
                .warehouses
                .iter()
                .any(|w| w == id || Some(w.as_str()) == name)
    }
}

/// Reads a catalog mapping, pushing every mistake to `out`.
pub(crate) fn read_catalog_mapping(
    src: &SourceFile,
    out: &mut Vec<Diagnostic>,
) -> Option<CatalogMapping> {
    let root = doc::parse(src, out)?;
    let mut ctx = Ctx { src, out };
    let top = TableReader::new(
        &root,
        0..0,
        format!("catalog mapping {}", src.path.display()),
        TOP_KEYS,
    );
    top.deny_unknown(&mut ctx);

    let (price_type, currency) = match top.table(&mut ctx, "prices", "[prices]", PRICE_KEYS) {
        Some(t) => read_prices(&mut ctx, &t),
        None => {
            if !top.has("prices") {
                ctx.error(
                    0..0,
                    "the catalog mapping has no [prices]; add `[prices]` with `price_type = \"<1C price type name or id>\"` (e.g. \"Розничная\")",
                );
            }
            (None, None)
        }
    };
    let warehouses = match top.table(&mut ctx, "stock", "[stock]", STOCK_KEYS) {
        Some(t) => read_stock(&mut ctx, &t),
        None if top.has("stock") => None,
        None => Some(Vec::new()),
    };
    let include_inactive = match top.table(&mut ctx, "products", "[products]", PRODUCT_KEYS) {
        Some(t) => read_products(&mut ctx, &t),
        None if top.has("products") => None,
        None => Some(false),
    };
    Some(CatalogMapping {
        path: src.path.clone(),
        price_type: price_type?,
        currency: currency?,
        warehouses: warehouses?,
        include_inactive: include_inactive?,
    })
}

fn read_prices(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>) -> (Option<String>, Option<Currency>) {
    t.deny_unknown(ctx);
    let price_type = match t.required_string(ctx, "price_type") {
        Some(s) if s.get_ref().trim().is_empty() => {
            ctx.error(
                s.span(),
                "`price_type` in [prices] is empty; write the 1C price type's name (e.g. \"Розничная\") or its id",
            );
            None
        }
        Some(s) => Some(s.get_ref().trim().to_string()),
        None => None,
    };
    let currency = match t.string(ctx, "currency") {
        Some(s) => match Currency::new(s.get_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                ctx.error(s.span(), format!("`currency` in [prices]: {e}"));
                None
            }
        },
        None if t.has("currency") => None,
        None => Currency::new(DEFAULT_CURRENCY).ok(),
    };
    (price_type, currency)
}

fn read_stock(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>) -> Option<Vec<String>> {
    t.deny_unknown(ctx);
    let Some((_, value)) = t.entry("warehouses") else {
        return Some(Vec::new());
    };
    let DeValue::Array(items) = value.get_ref() else {
        ctx.error(
            value.span(),
            format!(
                "`warehouses` in [stock] must be an array of 1C warehouse names or ids (e.g. [\"Основной склад\"]; [] = all), found {}",
                doc::type_name(value.get_ref())
            ),
        );
        return None;
    };
    let before = ctx.out.len();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item.get_ref().as_str() {
            Some(s) if !s.trim().is_empty() => out.push(s.trim().to_string()),
            Some(_) => ctx.error(
                item.span(),
                "a warehouse in [stock] `warehouses` is empty; write a 1C warehouse name or id",
            ),
            None => ctx.error(
                item.span(),
                format!(
                    "each warehouse in [stock] `warehouses` must be a string (a 1C warehouse name or id), found {}",
                    doc::type_name(item.get_ref())
                ),
            ),
        }
    }
    (ctx.out.len() == before).then_some(out)
}

fn read_products(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>) -> Option<bool> {
    t.deny_unknown(ctx);
    let Some((_, value)) = t.entry("include_inactive") else {
        return Some(false);
    };
    match value.get_ref() {
        DeValue::Boolean(b) => Some(*b),
        other => {
            ctx.error(
                value.span(),
                format!(
                    "`include_inactive` in [products] must be true or false, found {}",
                    doc::type_name(other)
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CatalogMapping, ConfigErrors> {
        CatalogMapping::parse(text, Path::new("mappings/1c.toml"))
    }

    fn errors(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .diagnostics()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_full_file_parses() {
        let m = parse(
            "[prices]\nprice_type = \"Розничная\"\ncurrency = \"usd\"\n[stock]\nwarehouses = [\"Основной склад\", \"w2\"]\n[products]\ninclude_inactive = true\n",
        )
        .unwrap();
        assert_eq!(m.price_type, "Розничная");
        assert_eq!(m.currency.as_str(), "USD");
        assert_eq!(m.warehouses, vec!["Основной склад", "w2"]);
        assert!(m.include_inactive);
        assert!(m.counts_warehouse("w2", None));
        assert!(m.counts_warehouse("x", Some("Основной склад")));
        assert!(!m.counts_warehouse("x", Some("Другой")));
    }

    #[test]
    fn defaults_apply() {
        let m = parse("[prices]\nprice_type = \"retail-id\"\n").unwrap();
        assert_eq!(m.currency.as_str(), "RUB");
        assert!(m.warehouses.is_empty());
        assert!(!m.include_inactive);
        assert!(m.counts_warehouse("anything", None));
    }

    #[test]
    fn shipped_mappings_parse() {
        for file in ["1c-bitrix24.toml", "1c-woocommerce.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("mappings")
                .join(file);
            let m = CatalogMapping::load(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(m.price_type, "Розничная", "{file}");
        }
    }

    #[test]
    fn mistakes_name_file_line_and_column() {
        let e = errors("[prices]\ncurrency = \"RUB\"\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("mappings/1c.toml:1:1: [prices] is missing `price_type`"),
            "{e:?}"
        );

        let e = errors("[prices]\nprice_type = \"Розничная\"\ncurrency = \"рубли\"\n[stock]\nwarehouses = \"Основной\"\n[products]\ninclude_inactive = \"no\"\nextra = 1\n");
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(
            e[0].starts_with("mappings/1c.toml:3:12: `currency` in [prices]"),
            "{e:?}"
        );
        assert!(
            e[1].starts_with("mappings/1c.toml:5:14: `warehouses` in [stock] must be an array"),
            "{e:?}"
        );
        assert!(
            e[2].starts_with(
                "mappings/1c.toml:7:20: `include_inactive` in [products] must be true or false"
            ),
            "{e:?}"
        );
        assert!(
            e[3].starts_with("mappings/1c.toml:8:1: unknown key `extra` in [products]"),
            "{e:?}"
        );

        let e = errors("[prices]\nprice_type = \" \"\n[stock]\nwarehouses = [\"a\", 3]\n[prise]\n");
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("1:1") || e[0].contains(":2:"), "{e:?}");
        assert!(
            e.iter()
                .any(|m| m.contains(":2:14: `price_type` in [prices] is empty")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains(":4:20: each warehouse")),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.contains(":5:2: unknown key `prise`")
                    && m.contains("did you mean `prices`")),
            "{e:?}"
        );
    }

    #[test]
    fn missing_prices_and_bad_syntax_are_reported() {
        let e = errors("[stock]\nwarehouses = []\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("has no [prices]"), "{e:?}");
        let e = errors("[prices\nprice_type = 1\n");
        assert!(e[0].contains("TOML syntax error"), "{e:?}");
        let e = errors("[prices]\nprice_type = 7\n");
        assert!(
            e[0].contains(":2:14: `price_type` in [prices] must be a string"),
            "{e:?}"
        );
    }
}
