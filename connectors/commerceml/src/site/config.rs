//! `[exchange_1c]`: the 1C exchange endpoint (CommerceML over HTTP). Optional; absent means the
//! server does not mount the endpoint.

use std::path::{Path, PathBuf};

use toml::de::DeValue;

use dealbridge_sdk::config::Env;
use dealbridge_sdk::config::{resolve_secret, Secret};
use dealbridge_sdk::config::{Ctx, TableReader};

/// The variable that overrides `[exchange_1c] password`.
pub const EXCHANGE_1C_PASSWORD_VAR: &str = "DEALBRIDGE_EXCHANGE_1C_PASSWORD";

/// Default endpoint path.
pub const DEFAULT_EXCHANGE_PATH: &str = "/1c/exchange";
/// Default `file_limit` answered to `mode=init`: 100 MB.
pub const DEFAULT_FILE_LIMIT: u64 = 100 * 1024 * 1024;
/// Default bound on everything uploaded (and unpacked) in one exchange: 1 GB.
pub const DEFAULT_MAX_UPLOAD: u64 = 1024 * 1024 * 1024;

/// Encoding of the orders XML answered to `type=sale&mode=query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderEncoding {
    /// UTF-8 with a byte-order mark (default; 1C УТП rejects UTF-8 without BOM).
    #[default]
    Utf8Bom,
    /// UTF-8 without BOM.
    Utf8,
    /// windows-1251 (what Bitrix sends).
    Windows1251,
}

/// `[exchange_1c]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange1cConfig {
    /// `path`: URL path of the endpoint (default `/1c/exchange`).
    pub path: String,
    /// `login`: the user 1C sends with HTTP Basic.
    pub login: String,
    /// `password`: its password (override: `DEALBRIDGE_EXCHANGE_1C_PASSWORD`).
    pub password: Secret,
    /// `dir`: where uploads are kept (default `exchange` next to the config).
    pub dir: PathBuf,
    /// `file_limit`: the largest request body 1C may send, answered in `mode=init` (bytes).
    pub file_limit: u64,
    /// `max_upload`: bound on all bytes uploaded plus unpacked in one exchange of one type.
    pub max_upload: u64,
    /// `zip`: offer `zip=yes` to 1C (default true).
    pub zip: bool,
    /// `order_encoding`: `"utf-8-bom"` (default), `"utf-8"` or `"windows-1251"`.
    pub order_encoding: OrderEncoding,
    /// `export_stages`: offer an order to 1C only once its deal is in one of these CRM stages
    /// (e.g. `["WON"]`: 1C gets the orders managers won). Empty (the default): every synced
    /// order is offered.
    pub export_stages: Vec<String>,
    /// `max_deactivate_share`: a full catalog that would deactivate more than this share (0..=1)
    /// of the active products or offers is imported but its deactivation is held (default 0.2).
    pub max_deactivate_share: rust_decimal::Decimal,
}

/// The keys of `[exchange_1c]`.
pub const EXCHANGE_1C_KEYS: &[&str] = &[
    "path",
    "login",
    "password",
    "dir",
    "file_limit",
    "max_upload",
    "zip",
    "order_encoding",
    "export_stages",
    "max_deactivate_share",
];

/// Reads `[exchange_1c]`; `None` when absent or broken (mistakes go to `ctx`).
pub fn read_exchange_1c(
    ctx: &mut Ctx<'_>,
    t: Option<&TableReader<'_, '_>>,
    base_dir: &Path,
    env: &dyn Env,
) -> Option<Exchange1cConfig> {
    let t = t?;
    t.deny_unknown(ctx);
    let mut ok = true;
    let path = match t.string(ctx, "path") {
        Some(p) => {
            let p = p.into_inner();
            if !p.starts_with('/') || p.contains('?') || p.contains('#') {
                ctx.error(
                    t.span.clone(),
                    format!("`path` in [exchange_1c] must be a URL path starting with `/` and without `?`, found \"{p}\""),
                );
                ok = false;
            }
            p
        }
        None => DEFAULT_EXCHANGE_PATH.to_string(),
    };
    let login = t.required_string(ctx, "login").map(|s| s.into_inner());
    if login.as_deref().is_some_and(|l| l.trim().is_empty()) {
        ctx.error(
            t.span.clone(),
            "`login` in [exchange_1c] is empty; write the user name typed into 1C's exchange settings",
        );
        ok = false;
    }
    let password = resolve_secret(ctx, t, "password", EXCHANGE_1C_PASSWORD_VAR, env).map(|p| p.0);
    let dir = t
        .string(ctx, "dir")
        .map(|d| base_dir.join(d.into_inner()))
        .unwrap_or_else(|| base_dir.join("exchange"));
    let file_limit = t
        .integer(ctx, "file_limit", 1024, i64::MAX)
        .map(|n| *n.get_ref() as u64)
        .unwrap_or(DEFAULT_FILE_LIMIT);
    let max_upload = t
        .integer(ctx, "max_upload", 1024, i64::MAX)
        .map(|n| *n.get_ref() as u64)
        .unwrap_or(DEFAULT_MAX_UPLOAD);
    let zip = match t.entry("zip") {
        None => true,
        Some((_, v)) => match v.get_ref() {
            DeValue::Boolean(b) => *b,
            _ => {
                ctx.error(v.span(), "`zip` in [exchange_1c] must be true or false");
                ok = false;
                true
            }
        },
    };
    let order_encoding = match t.string(ctx, "order_encoding") {
        None => OrderEncoding::default(),
        Some(s) => match s.get_ref().to_ascii_lowercase().as_str() {
            "utf-8-bom" | "utf8-bom" => OrderEncoding::Utf8Bom,
            "utf-8" | "utf8" => OrderEncoding::Utf8,
            "windows-1251" | "cp1251" => OrderEncoding::Windows1251,
            other => {
                ctx.error(
                    s.span(),
                    format!("`order_encoding` in [exchange_1c] must be \"utf-8-bom\", \"utf-8\" or \"windows-1251\", found \"{other}\""),
                );
                ok = false;
                OrderEncoding::default()
            }
        },
    };
    let mut export_stages = Vec::new();
    if let Some((_, v)) = t.entry("export_stages") {
        match v.get_ref() {
            DeValue::Array(items) => {
                for item in items.iter() {
                    match item.get_ref().as_str() {
                        Some(stage) if !stage.trim().is_empty() => {
                            export_stages.push(stage.to_string())
                        }
                        _ => {
                            ctx.error(item.span(), "each of `export_stages` in [exchange_1c] must be a CRM stage id like \"WON\"");
                            ok = false;
                        }
                    }
                }
            }
            _ => {
                ctx.error(v.span(), "`export_stages` in [exchange_1c] must be an array of CRM stage ids, e.g. [\"WON\"]");
                ok = false;
            }
        }
    }
    let max_deactivate_share = match read_share(ctx, t) {
        Ok(share) => share,
        Err(()) => {
            ok = false;
            super::quality::default_max_deactivate_share()
        }
    };
    if max_upload < file_limit {
        ctx.error(
            t.span.clone(),
            format!("`max_upload` ({max_upload}) in [exchange_1c] is smaller than `file_limit` ({file_limit}); raise `max_upload`"),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(Exchange1cConfig {
        path,
        login: login?,
        password: password?,
        dir,
        file_limit,
        max_upload,
        zip,
        order_encoding,
        export_stages,
        max_deactivate_share,
    })
}

/// `max_deactivate_share`: a number from 0 to 1 (`0.2`, `1`); the default when absent.
fn read_share(ctx: &mut Ctx<'_>, t: &TableReader<'_, '_>) -> Result<rust_decimal::Decimal, ()> {
    use std::str::FromStr;
    let Some((_, v)) = t.entry("max_deactivate_share") else {
        return Ok(super::quality::default_max_deactivate_share());
    };
    let text = match v.get_ref() {
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Integer(i) => i.as_str().to_string(),
        _ => String::new(),
    };
    match rust_decimal::Decimal::from_str(&text) {
        Ok(share)
            if (rust_decimal::Decimal::ZERO..=rust_decimal::Decimal::ONE).contains(&share) =>
        {
            Ok(share)
        }
        _ => {
            ctx.error(
                v.span(),
                "`max_deactivate_share` in [exchange_1c] must be a number from 0 to 1 (the share of active products or offers a full catalog may deactivate, e.g. 0.2)",
            );
            Err(())
        }
    }
}
