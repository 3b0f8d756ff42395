//! `dealbridge check`: every mistake in a config or mapping file is reported with its file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dealbridge::config::{
    check, example_config, Config, DatabaseBackend, Diagnostic, Entity, NoEnv, SystemKind,
};
use dealbridge::mapping::{Mapping, MappingError, OwnedField, Owner};
use dealbridge_bitrix24::config::Bitrix24Config;
use dealbridge_shopify::config::ShopifyConfig;
use dealbridge_woocommerce::config::WooCommerceConfig;

/// The registered kind called `name`.
fn kind(name: &str) -> SystemKind {
    dealbridge::connectors::kind(name).expect("a registered kind")
}

const MAPPING: &str = include_str!("../../mappings/woocommerce-bitrix24.toml");

const CONFIG: &str = r#"[database]
url = "sqlite://state.db"
[server]
listen = "127.0.0.1:8080"
[systems.shop]
kind = "woocommerce"
base_url = "http://127.0.0.1:9001"
consumer_key = "ck_test"
consumer_secret = "cs_test"
[systems.crm]
kind = "bitrix24"
webhook_url = "http://127.0.0.1:9002/rest/1/test/"
[[flows]]
name = "orders"
from = "shop"
to = "crm"
entities = ["order"]
mapping = "mappings/woocommerce-bitrix24.toml"
"#;

/// A config directory on disk: `dealbridge.toml` plus `mappings/woocommerce-bitrix24.toml`.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(config: &str, mapping: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("mappings")).unwrap();
        std::fs::write(dir.path().join("dealbridge.toml"), config).unwrap();
        std::fs::write(
            dir.path().join("mappings/woocommerce-bitrix24.toml"),
            mapping,
        )
        .unwrap();
        Setup { dir }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("dealbridge.toml")
    }

    fn mapping_path(&self) -> PathBuf {
        self.dir.path().join("mappings/woocommerce-bitrix24.toml")
    }

    fn check(&self) -> Result<Config, Vec<Diagnostic>> {
        check(&self.config_path(), &NoEnv)
    }

    fn check_with(&self, vars: &[(&str, &str)]) -> Result<Config, Vec<Diagnostic>> {
        let env: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        check(&self.config_path(), &env)
    }

    fn errors(&self) -> Vec<Diagnostic> {
        match self.check() {
            Ok(_) => panic!("expected check to fail"),
            Err(e) => e,
        }
    }
}

/// The config with `from` replaced by `to` (which must occur exactly once).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replace(from, to)
}

/// The 1-based line of the single line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "`{needle}` must be on exactly one line");
    lines[0]
}

/// Asserts exactly one diagnostic, in `file` at `line`, whose message contains every `words`.
fn assert_one(errors: &[Diagnostic], file: &Path, line: usize, words: &[&str]) {
    assert_eq!(errors.len(), 1, "expected one diagnostic, got: {errors:#?}");
    assert_at(&errors[0], file, line, words);
}

fn assert_at(d: &Diagnostic, file: &Path, line: usize, words: &[&str]) {
    assert_eq!(d.file, file, "{d}");
    assert_eq!(d.line, line, "{d}");
    for w in words {
        assert!(d.message.contains(w), "`{w}` not in: {d}");
    }
}

#[test]
fn the_base_config_loads_with_its_mapping() {
    let s = Setup::new(CONFIG, MAPPING);
    let config = s.check().unwrap();
    assert_eq!(config.path, s.config_path());
    assert_eq!(
        config.database.backend,
        DatabaseBackend::Sqlite {
            path: s.dir.path().join("state.db")
        }
    );
    assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
    let Some(shop) = config
        .system("shop")
        .and_then(|s| s.settings_as::<WooCommerceConfig>())
    else {
        panic!("shop is not woocommerce: {:?}", config.system("shop"));
    };
    assert_eq!(shop.base_url.as_str(), "http://127.0.0.1:9001/");
    assert_eq!(shop.consumer_key.expose(), "ck_test");
    assert_eq!(shop.consumer_secret.expose(), "cs_test");
    assert_eq!(config.system("shop").unwrap().limits().rate_limit, None);
    let Some(crm) = config
        .system("crm")
        .and_then(|s| s.settings_as::<Bitrix24Config>())
    else {
        panic!("crm is not bitrix24");
    };
    assert_eq!(
        crm.webhook_url().unwrap().expose(),
        "http://127.0.0.1:9002/rest/1/test/"
    );
    assert_eq!(
        config
            .system("crm")
            .unwrap()
            .limits()
            .rate_limit
            .map(|r| r.per_second),
        Some(2)
    );

    let flow = config.flow("orders").unwrap();
    assert_eq!((flow.from.as_str(), flow.to.as_str()), ("shop", "crm"));
    assert_eq!(flow.entities, vec![Entity::Order]);
    assert_eq!(flow.mapping.path, s.mapping_path());
    assert_eq!(
        flow.mapping.stage_for("on-hold").unwrap(),
        "PREPAYMENT_INVOICE"
    );
    assert_eq!(flow.mapping.pipeline(), 0);
    assert_eq!(flow.mapping.owner(OwnedField::Stage), Owner::Crm);
    assert_eq!(flow.mapping.owner(OwnedField::Amount), Owner::Store);

    // Defaults for everything the file leaves out.
    assert_eq!(config.sync.poll_interval, Duration::from_secs(30));
    assert_eq!(config.sync.overlap, Duration::from_secs(300));
    assert_eq!(config.sync.page_size, 50);
    assert_eq!(config.sync.workers, 2);
    assert_eq!(config.sync.lease, Duration::from_secs(60));
    assert_eq!(config.sync.max_attempts, 8);
    assert_eq!(config.sync.retention, Duration::from_secs(14 * 86_400));

    // Secrets never reach Debug output.
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("cs_test") && !debug.contains("ck_test"),
        "{debug}"
    );
    assert!(!debug.contains("/rest/1/test"), "{debug}");
}

#[test]
fn the_shipped_example_passes_check() {
    // `dealbridge init` writes the example as ./dealbridge.toml next to ./mappings/, so the
    // example names the mapping as "mappings/woocommerce-bitrix24.toml"; this test lays the
    // files out the same way.
    assert_eq!(
        example_config(),
        include_str!("../../examples/dealbridge.toml")
    );
    assert_eq!(dealbridge::cli::check::default_mapping_file(), MAPPING);
    let s = Setup::new(
        example_config(),
        dealbridge::cli::check::default_mapping_file(),
    );
    let config = s.check().unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(config.systems.len(), 2);
    assert_eq!(config.system("shop").unwrap().kind(), kind("woocommerce"));
    assert_eq!(config.system("crm").unwrap().kind(), kind("bitrix24"));
    assert_eq!(config.flows.len(), 1);
    assert_eq!(
        config.database.url.expose(),
        format!("sqlite://{}", s.dir.path().join("dealbridge.db").display())
    );
    // Every key in the example has a comment explaining it.
    assert!(example_config().matches('#').count() > 40);
}

#[test]
fn toml_syntax_errors_are_located() {
    let text = edit(CONFIG, "kind = \"woocommerce\"", "kind = \"woocommerce");
    let s = Setup::new(&text, MAPPING);
    let errors = s.errors();
    assert_one(&errors, &s.config_path(), 6, &["TOML syntax error"]);
}

#[test]
fn unknown_system_kind_is_reported_at_its_line() {
    let text = edit(CONFIG, "kind = \"woocommerce\"", "kind = \"salesforce\"");
    let s = Setup::new(&text, MAPPING);
    let errors = s.errors();
    // The flow referring to the broken system is not blamed a second time.
    assert_one(
        &errors,
        &s.config_path(),
        6,
        &[
            "unknown system kind `salesforce`",
            "woocommerce, bitrix24, amocrm, shopify",
        ],
    );
    assert_eq!(errors[0].column, 8);
    assert_eq!(
        errors[0].to_string(),
        format!(
            "{}:6:8: unknown system kind `salesforce` in [systems.shop]; known kinds: woocommerce, bitrix24, amocrm, shopify",
            s.config_path().display()
        )
    );
}

#[test]
fn a_missing_secret_names_the_variable_that_could_supply_it() {
    let text = edit(CONFIG, "consumer_secret = \"cs_test\"\n", "");
    let s = Setup::new(&text, MAPPING);
    assert_one(
        &s.errors(),
        &s.config_path(),
        5,
        &[
            "[systems.shop] is missing `consumer_secret`",
            "DEALBRIDGE_SYSTEMS_SHOP_CONSUMER_SECRET",
        ],
    );
    // The override variable supplies it.
    let config = s
        .check_with(&[("DEALBRIDGE_SYSTEMS_SHOP_CONSUMER_SECRET", "cs_from_env")])
        .unwrap();
    let Some(shop) = config
        .system("shop")
        .and_then(|s| s.settings_as::<WooCommerceConfig>())
    else {
        panic!()
    };
    assert_eq!(shop.consumer_secret.expose(), "cs_from_env");
}

#[test]
fn override_variables_win_over_the_file() {
    let s = Setup::new(CONFIG, MAPPING);
    let config = s
        .check_with(&[
            ("DEALBRIDGE_SYSTEMS_SHOP_CONSUMER_KEY", "ck_env"),
            (
                "DEALBRIDGE_SYSTEMS_CRM_WEBHOOK_URL",
                "https://portal.example/rest/7/tok",
            ),
            (
                "DEALBRIDGE_DATABASE_URL",
                "postgres://app:pw@127.0.0.1:5432/db",
            ),
        ])
        .unwrap();
    let Some(shop) = config
        .system("shop")
        .and_then(|s| s.settings_as::<WooCommerceConfig>())
    else {
        panic!()
    };
    assert_eq!(shop.consumer_key.expose(), "ck_env");
    let Some(crm) = config
        .system("crm")
        .and_then(|s| s.settings_as::<Bitrix24Config>())
    else {
        panic!()
    };
    assert_eq!(
        crm.webhook_url().unwrap().expose(),
        "https://portal.example/rest/7/tok/"
    );
    assert_eq!(config.database.backend, DatabaseBackend::Postgres);
    assert_eq!(
        config.database.redacted_url(),
        "postgres://app:***@127.0.0.1:5432/db"
    );
}

#[test]
fn a_bad_webhook_url_from_the_environment_is_blamed_on_the_variable_without_leaking_it() {
    let s = Setup::new(CONFIG, MAPPING);
    let errors = s
        .check_with(&[(
            "DEALBRIDGE_SYSTEMS_CRM_WEBHOOK_URL",
            "https://portal.example/secret-token",
        )])
        .unwrap_err();
    assert_one(
        &errors,
        &s.config_path(),
        10,
        &[
            "$DEALBRIDGE_SYSTEMS_CRM_WEBHOOK_URL",
            "/rest/<user id>/<token>/",
        ],
    );
    assert!(!errors[0].message.contains("secret-token"));
}

#[test]
fn env_references_must_be_set() {
    let text = edit(
        CONFIG,
        "consumer_secret = \"cs_test\"",
        "consumer_secret = \"env:WOO_SECRET\"",
    );
    let s = Setup::new(&text, MAPPING);
    assert_one(&s.errors(), &s.config_path(), 9, &["WOO_SECRET", "not set"]);
    let config = s.check_with(&[("WOO_SECRET", "cs_ref")]).unwrap();
    let Some(shop) = config
        .system("shop")
        .and_then(|s| s.settings_as::<WooCommerceConfig>())
    else {
        panic!()
    };
    assert_eq!(shop.consumer_secret.expose(), "cs_ref");
}

#[test]
fn a_flow_naming_an_unknown_system_is_reported() {
    let text = edit(CONFIG, "from = \"shop\"", "from = \"shopp\"");
    let s = Setup::new(&text, MAPPING);
    assert_one(
        &s.errors(),
        &s.config_path(),
        15,
        &[
            "flow `orders`",
            "`from = \"shopp\"` names no system",
            "did you mean `shop`?",
        ],
    );
}

#[test]
fn a_flow_between_kinds_that_cannot_carry_the_entity_says_what_is_supported() {
    let text = edit(CONFIG, "entities = [\"order\"]", "entities = [\"stock\"]");
    let s = Setup::new(&text, MAPPING);
    assert_one(
        &s.errors(),
        &s.config_path(),
        line_of(&text, "entities = "),
        &[
            "cannot carry `stock` from woocommerce (`shop`) to bitrix24 (`crm`)",
            "supported: order: woocommerce → bitrix24",
        ],
    );
}

#[test]
fn a_crm_to_store_flow_needs_the_store_to_crm_flow_of_its_pair() {
    let text = edit(
        CONFIG,
        "from = \"shop\"\nto = \"crm\"",
        "from = \"crm\"\nto = \"shop\"",
    );
    let s = Setup::new(&text, MAPPING);
    let errors = s.errors();
    assert_one(
        &errors,
        &s.config_path(),
        line_of(&text, "[[flows]]"),
        &[
            "writes deals from `crm` back to `shop`",
            "no flow carries orders from `shop` to `crm`",
        ],
    );
}

#[test]
fn two_flows_writing_the_same_fields_are_refused() {
    let flow_start = CONFIG.find("[[flows]]").unwrap();
    let twin = CONFIG[flow_start..].replace("name = \"orders\"", "name = \"orders-again\"");
    let text = format!("{CONFIG}\n{twin}");
    let s = Setup::new(&text, MAPPING);
    let errors = s.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0]
            .message
            .contains("both carry `order` from `shop` to `crm`")
            && errors[0].message.contains("no single owner"),
        "{}",
        errors[0]
    );
}

#[test]
fn unknown_entities_are_reported() {
    let text = edit(
        CONFIG,
        "entities = [\"order\"]",
        "entities = [\"order\", \"ordr\"]",
    );
    let s = Setup::new(&text, MAPPING);
    let errors = s.errors();
    assert_one(
        &errors,
        &s.config_path(),
        17,
        &["unknown entity `ordr`", "order, contact"],
    );
    assert_eq!(errors[0].column, 22);
}

#[test]
fn a_missing_mapping_file_is_reported_at_the_mapping_line() {
    let text = edit(
        CONFIG,
        "mappings/woocommerce-bitrix24.toml",
        "mappings/nope.toml",
    );
    let s = Setup::new(&text, MAPPING);
    assert_one(
        &s.errors(),
        &s.config_path(),
        18,
        &["mapping file `mappings/nope.toml` not found"],
    );
}

#[test]
fn an_empty_stage_is_reported_in_the_mapping_file() {
    let mapping = edit(MAPPING, "failed = \"LOSE\"", "failed = \"\"");
    let s = Setup::new(CONFIG, &mapping);
    assert_one(
        &s.errors(),
        &s.mapping_path(),
        line_of(&mapping, "failed = "),
        &["the stage for `failed` in [status_map] is empty"],
    );
}

#[test]
fn an_unmapped_woocommerce_status_is_reported_at_the_status_map_header() {
    let mapping = edit(MAPPING, "on-hold = \"PREPAYMENT_INVOICE\"\n", "");
    let s = Setup::new(CONFIG, &mapping);
    assert_one(
        &s.errors(),
        &s.mapping_path(),
        line_of(&mapping, "[status_map]"),
        &[
            "does not map the woocommerce status `on-hold`",
            "add `on-hold = \"STAGE\"`",
        ],
    );
}

#[test]
fn a_status_map_key_that_is_a_typo_of_a_woocommerce_status_is_reported_at_its_line() {
    let mapping = edit(
        MAPPING,
        "failed = \"LOSE\"",
        "failed = \"LOSE\"\non_hold = \"NEW\"\nshipped = \"WON\"",
    );
    let s = Setup::new(CONFIG, &mapping);
    let errors = s.errors();
    // `shipped` is accepted: WooCommerce plugins register statuses of their own (a shipment
    // tracker's), and an order in one must be mappable. A near-miss of a core status is a typo.
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_at(
        &errors[0],
        &s.mapping_path(),
        line_of(&mapping, "on_hold"),
        &[
            "`on_hold` in [status_map] is not a woocommerce order status",
            "did you mean `on-hold`?",
        ],
    );
}

#[test]
fn a_bad_owner_is_reported_at_its_line() {
    let mapping = edit(MAPPING, "amount = \"store\"", "amount = \"shop\"");
    let s = Setup::new(CONFIG, &mapping);
    assert_one(
        &s.errors(),
        &s.mapping_path(),
        line_of(&mapping, "amount = "),
        &[
            "owner `shop` of `amount`",
            "store, crm, erp, newest, manual",
        ],
    );
}

#[test]
fn an_unknown_title_placeholder_is_pointed_at() {
    let mapping = edit(
        MAPPING,
        "title = \"Order #{number}\"",
        "title = \"Order #{numbr}\"",
    );
    let s = Setup::new(CONFIG, &mapping);
    let errors = s.errors();
    assert_one(
        &errors,
        &s.mapping_path(),
        line_of(&mapping, "title = "),
        &[
            "unknown placeholder `{numbr}`",
            "{number}, {id}, {customer}, {email}",
        ],
    );
    // Column of the `{` inside `title = "Order #{numbr}"`.
    assert_eq!(errors[0].column, 17);
}

#[test]
fn stages_must_match_the_pipeline() {
    let mapping = edit(MAPPING, "pipeline = 0", "pipeline = 3");
    let s = Setup::new(CONFIG, &mapping);
    let errors = s.errors();
    // All seven stages of [status_map] and the three of [stage_map] are default-pipeline ids.
    assert_eq!(errors.len(), 10, "{errors:#?}");
    assert_at(
        &errors[0],
        &s.mapping_path(),
        line_of(&mapping, "pending = "),
        &["write `C3:NEW`"],
    );
}

#[test]
fn bad_durations_urls_and_database_urls_are_reported() {
    let text = edit(
        CONFIG,
        "url = \"sqlite://state.db\"",
        "url = \"mysql://localhost/db\"",
    );
    let text = edit(
        &text,
        "base_url = \"http://127.0.0.1:9001\"",
        "base_url = \"127.0.0.1:9001\"",
    );
    let text = format!("{text}[sync]\npoll_interval = \"30 sec\"\nworkers = 0\n");
    let s = Setup::new(&text, MAPPING);
    let errors = s.errors();
    let p = s.config_path();
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert_at(
        &errors[0],
        &p,
        2,
        &["must start with sqlite:// or postgres://", "`mysql:`"],
    );
    assert_at(
        &errors[1],
        &p,
        7,
        &["`base_url` in [systems.shop]", "not a valid URL"],
    );
    assert_at(
        &errors[2],
        &p,
        20,
        &["`poll_interval` in [sync]", "unknown unit `sec`"],
    );
    assert_at(
        &errors[3],
        &p,
        21,
        &["`workers` in [sync] must be between 1 and 256"],
    );
}

#[test]
fn unknown_keys_are_typos() {
    let text = edit(
        CONFIG,
        "consumer_secret = \"cs_test\"",
        "consumer_secrte = \"cs_test\"",
    );
    let text = format!("{text}[syncc]\nworkers = 2\n");
    let mapping = edit(MAPPING, "[fields]", "[field]");
    let s = Setup::new(&text, &mapping);
    let errors = s.errors();
    let p = s.config_path();
    assert_eq!(errors.len(), 4, "{errors:#?}");
    // The misspelt key, and the secret it failed to provide.
    assert_at(&errors[0], &p, 5, &["missing `consumer_secret`"]);
    assert_at(
        &errors[1],
        &p,
        9,
        &[
            "unknown key `consumer_secrte`",
            "did you mean `consumer_secret`?",
        ],
    );
    assert_at(
        &errors[2],
        &p,
        19,
        &["unknown key `syncc`", "did you mean `sync`?"],
    );
    assert_at(
        &errors[3],
        &s.mapping_path(),
        line_of(&mapping, "[field]"),
        &["unknown key `field`", "did you mean `fields`?"],
    );
}

#[test]
fn every_mistake_is_reported_at_once_in_file_order() {
    let text = edit(CONFIG, "kind = \"bitrix24\"", "kind = \"bitrix\"");
    let text = edit(
        &text,
        "listen = \"127.0.0.1:8080\"",
        "listen = \"localhost\"",
    );
    let text = edit(&text, "consumer_key = \"ck_test\"\n", "");
    let mapping = edit(MAPPING, "completed = \"WON\"\n", "");
    let s = Setup::new(&text, &mapping);
    let errors = s.errors();
    let lines: Vec<(PathBuf, usize)> = errors.iter().map(|d| (d.file.clone(), d.line)).collect();
    // The mapping is not read when the flow's target system is broken, so its mistake waits.
    assert_eq!(
        lines,
        vec![
            (s.config_path(), 4),
            (s.config_path(), 5),
            (s.config_path(), 10),
        ],
        "{errors:#?}"
    );
    let text = edit(&text, "kind = \"bitrix\"", "kind = \"bitrix24\"");
    std::fs::write(s.config_path(), text).unwrap();
    let errors = s.errors();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(errors[2].file, s.mapping_path());
}

#[test]
fn an_unreadable_config_file_is_a_diagnostic_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.toml");
    let errors = check(&path, &NoEnv).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 0);
    assert!(errors[0]
        .to_string()
        .starts_with(&format!("{}: cannot read config file", path.display())));
}

#[test]
fn an_unmapped_status_at_runtime_names_the_file_to_edit() {
    let path = Path::new("mappings/woocommerce-bitrix24.toml");
    let mapping = Mapping::parse(MAPPING, path, kind("woocommerce"), kind("bitrix24")).unwrap();
    assert_eq!(mapping.stage_for("processing").unwrap(), "PREPARATION");
    let err = mapping.stage_for("trash").unwrap_err();
    assert_eq!(
        err,
        MappingError::UnmappedStatus {
            status: "trash".into(),
            file: path.to_path_buf()
        }
    );
    assert_eq!(
        err.to_string(),
        "order status `trash` has no CRM stage in mapping mappings/woocommerce-bitrix24.toml: add `trash = \"STAGE\"` to [status_map] in mappings/woocommerce-bitrix24.toml"
    );
}

#[test]
fn from_str_resolves_paths_against_the_named_file() {
    let s = Setup::new("", MAPPING);
    let config = Config::from_str(CONFIG, &s.config_path(), &NoEnv).unwrap();
    assert_eq!(config.base_dir(), s.dir.path());
    assert_eq!(config.flows[0].mapping.path, s.mapping_path());
}

#[test]
fn optional_settings_are_read() {
    let text = edit(
        CONFIG,
        "webhook_url = \"http://127.0.0.1:9002/rest/1/test/\"\n",
        "webhook_url = \"http://127.0.0.1:9002/rest/1/test/\"\nrate_limit_per_second = 1\nrate_limit_burst = 3\ntimeout = \"1m30s\"\nconnect_timeout = \"500ms\"\n",
    );
    let text = format!(
        "{text}[sync]\npoll_interval = \"5s\"\noverlap = \"0s\"\npage_size = 100\nworkers = 4\nlease = \"2m\"\nmax_attempts = 3\nretention = \"1w\"\n"
    );
    let s = Setup::new(&text, MAPPING);
    let config = s.check().unwrap_or_else(|e| panic!("{e:#?}"));
    let limits = config.system("crm").unwrap().limits();
    assert_eq!(
        limits.rate_limit.map(|r| (r.per_second, r.burst)),
        Some((1, 3))
    );
    assert_eq!(limits.timeouts().request, Duration::from_secs(90));
    assert_eq!(limits.timeouts().connect, Duration::from_millis(500));
    let sync = &config.sync;
    assert_eq!(sync.poll_interval, Duration::from_secs(5));
    assert_eq!(sync.overlap, Duration::ZERO);
    assert_eq!(
        (sync.page_size, sync.workers, sync.max_attempts),
        (100, 4, 3)
    );
    assert_eq!(sync.lease, Duration::from_secs(120));
    assert_eq!(sync.retention, Duration::from_secs(7 * 86_400));
}

#[test]
fn the_database_defaults_to_sqlite_next_to_the_config_and_env_overrides_it() {
    let text = edit(CONFIG, "[database]\nurl = \"sqlite://state.db\"\n", "");
    let s = Setup::new(&text, MAPPING);
    let config = s.check().unwrap();
    assert_eq!(
        config.database.backend,
        DatabaseBackend::Sqlite {
            path: s.dir.path().join("dealbridge.db")
        }
    );
    let config = s
        .check_with(&[("DEALBRIDGE_DATABASE_URL", "postgres://u@127.0.0.1/db")])
        .unwrap();
    assert_eq!(config.database.url.expose(), "postgres://u@127.0.0.1/db");
    let errors = s
        .check_with(&[("DEALBRIDGE_DATABASE_URL", "redis://127.0.0.1")])
        .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].message.contains("$DEALBRIDGE_DATABASE_URL"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_mapping_without_a_status_map_or_with_several_gaps_is_refused() {
    let s = Setup::new(CONFIG, "[deal]\ntitle = \"Deal {number}\"\n");
    assert_one(&s.errors(), &s.mapping_path(), 1, &["has no [status_map]"]);

    let mapping = "[status_map]\npending = \"NEW\"\nprocessing = \"PREPARATION\"\n";
    let s = Setup::new(CONFIG, mapping);
    assert_one(
        &s.errors(),
        &s.mapping_path(),
        1,
        &["statuses `on-hold`, `completed`, `cancelled`, `refunded`, `failed`"],
    );
}

#[test]
fn a_pipeline_mapping_with_prefixed_stages_is_accepted() {
    let mapping = r#"[deal]
title = "{customer}: order {number}"
pipeline = 1
[status_map]
pending = "C1:NEW"
processing = "C1:PREPARATION"
on-hold = "C1:PREPAYMENT_INVOICE"
completed = "C1:WON"
cancelled = "C1:LOSE"
refunded = "C1:LOSE"
failed = "C1:LOSE"
trash = "C1:LOSE"
[fields]
amount = "manual"
"#;
    let m = Mapping::parse(
        mapping,
        Path::new("m.toml"),
        kind("woocommerce"),
        kind("bitrix24"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(m.pipeline(), 1);
    assert_eq!(m.stage_for("trash").unwrap(), "C1:LOSE");
    assert_eq!(m.owner(OwnedField::Amount), Owner::Manual);
    assert_eq!(m.owner(OwnedField::Stage), Owner::Crm);
    assert_eq!(m.deal.title.as_str(), "{customer}: order {number}");
}

#[test]
fn schedules_are_checked_with_their_lines() {
    let text = format!(
        "{CONFIG}\n[schedule.nightly]\ncron = \"0 3 * *\"\ntime_zone = \"Mars/Olympus\"\nflows = [\"ordrs\"]\n"
    );
    let s = Setup::new(&text, MAPPING);
    let errors = s.errors();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let all = errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(all.contains("has 4 fields"), "{all}");
    assert!(all.contains("`time_zone = \"Mars/Olympus\"`"), "{all}");
    assert!(
        all.contains("names flow `ordrs`") && all.contains("did you mean `orders`?"),
        "{all}"
    );
    for e in &errors {
        assert_eq!(e.file, s.config_path());
    }
    let good = format!(
        "{CONFIG}\n[schedule.nightly]\ncron = \"0 3 * * *\"\ntime_zone = \"Europe/Moscow\"\nflows = [\"orders\"]\ncatch_up = true\n"
    );
    let config = Setup::new(&good, MAPPING).check().unwrap();
    assert_eq!(config.schedules.len(), 1);
    assert!(config.schedules[0].catch_up);
}

#[test]
fn bitrix24_catalog_api_and_user_fields_are_checked() {
    let text = edit(
        CONFIG,
        "kind = \"bitrix24\"",
        "kind = \"bitrix24\"\ncatalog_api = \"catalog\"\npaid_amount_field = \"PAID\"",
    );
    let s = Setup::new(&text, MAPPING);
    let errors = s.errors();
    let all = errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(errors.len(), 2, "{all}");
    assert!(all.contains("needs `catalog_iblock_id`"), "{all}");
    assert!(
        all.contains("must be a deal user field id like \"UF_CRM_PAID\""),
        "{all}"
    );
}

#[test]
fn catalogs_are_checked_and_two_for_one_system_are_refused() {
    let one = "\n[[catalog]]\nname = \"products\"\nto = \"crm\"\nmapping = \"mappings/1c.toml\"\n";
    let s = Setup::new(&format!("{CONFIG}{one}"), MAPPING);
    std::fs::write(
        s.dir.path().join("mappings/1c.toml"),
        "[prices]\nprice_type = \"Розничная\"\n",
    )
    .unwrap();
    let config = s.check().unwrap();
    assert_eq!(config.catalogs.len(), 1);
    assert_eq!(config.catalogs[0].mapping.price_type, "Розничная");

    let two = format!(
        "{CONFIG}{one}{}",
        one.replace("\"products\"", "\"products-2\"")
    );
    let s = Setup::new(&two, MAPPING);
    std::fs::write(
        s.dir.path().join("mappings/1c.toml"),
        "[prices]\nprice_type = \"Розничная\"\n",
    )
    .unwrap();
    let errors = s.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0]
            .message
            .contains("both write the products of `crm`"),
        "{}",
        errors[0]
    );

    let bad = format!("{CONFIG}{}", one.replace("to = \"crm\"", "to = \"crn\""));
    let s = Setup::new(&bad, MAPPING);
    std::fs::write(
        s.dir.path().join("mappings/1c.toml"),
        "[prices]\nprice_type = \"x\"\n",
    )
    .unwrap();
    let errors = s.errors();
    assert!(
        errors[0].message.contains("did you mean `crm`?"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_catalog_can_go_to_a_shopify_store_at_its_location() {
    let shopify = "\n[systems.shopify]\nkind = \"shopify\"\nbase_url = \"http://127.0.0.1:9003\"\naccess_token = \"shpat_x\"\nlocation_id = 905684977\n";
    let catalog =
        "\n[[catalog]]\nname = \"prices\"\nto = \"shopify\"\nmapping = \"mappings/1c.toml\"\n";
    let s = Setup::new(&format!("{CONFIG}{shopify}{catalog}"), MAPPING);
    std::fs::write(
        s.dir.path().join("mappings/1c.toml"),
        "[prices]\nprice_type = \"Розничная\"\n",
    )
    .unwrap();
    let config = s.check().unwrap();
    assert_eq!(config.catalogs[0].kind, kind("shopify"));
    match config.systems["shopify"].settings_as::<ShopifyConfig>() {
        Some(c) => assert_eq!(c.location_id, Some(905_684_977)),
        None => panic!("{:?}", config.systems["shopify"]),
    }

    let bad = format!(
        "{CONFIG}{}{catalog}",
        shopify.replace("905684977", "\"main\"")
    );
    let s = Setup::new(&bad, MAPPING);
    std::fs::write(
        s.dir.path().join("mappings/1c.toml"),
        "[prices]\nprice_type = \"Розничная\"\n",
    )
    .unwrap();
    let errors = s.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].message.contains("location_id"), "{}", errors[0]);
}

#[test]
fn a_stores_own_catalog_goes_to_a_crm_without_a_mapping() {
    let catalog = "\n[[catalog]]\nname = \"shop-products\"\nfrom = \"shop\"\nto = \"crm\"\n";
    let s = Setup::new(&format!("{CONFIG}{catalog}"), MAPPING);
    let config = s.check().unwrap();
    assert_eq!(config.catalogs[0].from.as_deref(), Some("shop"));
    assert_eq!(config.catalogs[0].to, "crm");

    // From a CRM, to a store, or with a 1C mapping: each refused with the reason.
    for (text, words) in [
        (
            catalog.replace("from = \"shop\"", "from = \"crm\""),
            &["cannot come from `crm`", "a store"][..],
        ),
        (
            format!("{catalog}\n[systems.shop2]\nkind = \"woocommerce\"\nbase_url = \"http://127.0.0.1:9\"\nconsumer_key = \"k\"\nconsumer_secret = \"s\"\n")
                .replace("to = \"crm\"", "to = \"shop2\""),
            &["goes to a CRM", "shop2"][..],
        ),
        (
            catalog.replace("to = \"crm\"\n", "to = \"crm\"\nmapping = \"mappings/1c.toml\"\n"),
            &["carries its own prices", "leave it out"][..],
        ),
        (
            catalog.replace("from = \"shop\"", "from = \"shp\""),
            &["`from = \"shp\"` names no system"][..],
        ),
    ] {
        let s = Setup::new(&format!("{CONFIG}{text}"), MAPPING);
        let errors = s.errors();
        assert_eq!(errors.len(), 1, "{text}: {errors:#?}");
        // The catalog's own `from` (or `mapping`) line; CONFIG's flow has a `from` too.
        let key = if text.contains("mapping = ") { "mapping = " } else { "from = " };
        let line = CONFIG.lines().count()
            + text.lines().position(|l| l.starts_with(key)).unwrap()
            + 1;
        assert_at(&errors[0], &s.config_path(), line, words);
    }
}
