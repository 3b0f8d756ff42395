//! The 1C import's data-quality report and its deactivation guard: a generated defective catalog
//! gives exactly the findings put in it, a real fixture gives only what is really in it, text
//! outside the root element refuses the import before anything is stored, and a full catalog
//! missing too much is held until applied (through `import_files`, the HTTP exchange endpoint
//! and `import-1c --apply-held-deactivation`).

use dealbridge::onec::endpoint::{self as onec, ExchangeSettings, ExchangeState};
use dealbridge::onec::exchange::StoreImporter;
use dealbridge::onec::{
    apply_held, import_files, import_files_opts, Code, ImportError, ImportOptions, QualityRules,
};
use dealbridge::sync::payments::PaymentsJobs;
use dealbridge_commerceml::exchange_client::{run_catalog_exchange, ClientOptions};
use dealbridge_store::{CatalogKind, EntityKind, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

async fn store(dir: &Path) -> Store {
    Store::connect(&format!("sqlite://{}", dir.join("db.sqlite").display()))
        .await
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `КоммерческаяИнформация` around `body`.
fn cml(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.08\">\n{body}</КоммерческаяИнформация>\n"
    )
}

/// A product element; `unit` is `(code, name)`.
fn product(id: &str, sku: &str, name: &str, unit: Option<(&str, &str)>, extra: &str) -> String {
    let unit = unit.map_or(String::new(), |(code, name)| {
        format!("<БазоваяЕдиница Код=\"{code}\">{name}</БазоваяЕдиница>")
    });
    format!("<Товар><Ид>{id}</Ид><Артикул>{sku}</Артикул><Наименование>{name}</Наименование>{unit}{extra}</Товар>\n")
}

/// A full catalog of `products`.
fn catalog(products: &str, only_changes: bool) -> String {
    cml(&format!(
        "<Каталог СодержитТолькоИзменения=\"{only_changes}\"><Ид>c</Ид><ИдКлассификатора>k</ИдКлассификатора><Наименование>К</Наименование><Товары>\n{products}</Товары></Каталог>\n"
    ))
}

/// An offer element with `(price type, amount)` prices, a total quantity and warehouse stock.
fn offer(id: &str, prices: &[(&str, &str)], qty: Option<&str>, stock: &[(&str, &str)]) -> String {
    let prices = if prices.is_empty() {
        String::new()
    } else {
        let p: String = prices
            .iter()
            .map(|(t, a)| format!("<Цена><ИдТипаЦены>{t}</ИдТипаЦены><ЦенаЗаЕдиницу>{a}</ЦенаЗаЕдиницу><Валюта>RUB</Валюта></Цена>"))
            .collect();
        format!("<Цены>{p}</Цены>")
    };
    let qty = qty.map_or(String::new(), |q| format!("<Количество>{q}</Количество>"));
    let stock: String = stock
        .iter()
        .map(|(w, q)| format!("<Склад ИдСклада=\"{w}\" КоличествоНаСкладе=\"{q}\"/>"))
        .collect();
    format!("<Предложение><Ид>{id}</Ид><Наименование>о</Наименование>{prices}{qty}{stock}</Предложение>\n")
}

/// The offers package: price types `(id, name)`, warehouses `(id, name)`, offers.
fn offers(types: &[(&str, &str)], warehouses: &[(&str, &str)], offers: &str) -> String {
    let types: String = types
        .iter()
        .map(|(id, n)| format!("<ТипЦены><Ид>{id}</Ид><Наименование>{n}</Наименование><Валюта>RUB</Валюта></ТипЦены>"))
        .collect();
    let warehouses: String = warehouses
        .iter()
        .map(|(id, n)| format!("<Склад><Ид>{id}</Ид><Наименование>{n}</Наименование></Склад>"))
        .collect();
    cml(&format!(
        "<ПакетПредложений СодержитТолькоИзменения=\"false\"><Ид>o</Ид><Наименование>П</Наименование><ИдКаталога>c</ИдКаталога><ИдКлассификатора>k</ИдКлассификатора>\n<ТипыЦен>{types}</ТипыЦен>\n<Склады>{warehouses}</Склады>\n<Предложения>\n{offers}</Предложения></ПакетПредложений>\n"
    ))
}

const PIECE: Option<(&str, &str)> = Some(("796", "шт"));

fn rules() -> QualityRules {
    QualityRules {
        price_types: vec!["Розничная".into(), "Закупочная".into()],
        warehouses: vec!["Основной".into(), "Резерв".into()],
    }
}

/// The defective run: a full catalog, a full offers file, a full catalog in the wrong encoding.
/// The comments say which item has which finding.
fn defective_files(dir: &Path) -> [PathBuf; 3] {
    let products = [
        product("p1", "A1", "Стол", PIECE, "<Штрихкод>111</Штрихкод>"),
        // duplicate_article (A1) and duplicate_barcode (111).
        product("p2", "A1", "Стул", PIECE, "<Штрихкод>111</Штрихкод>"),
        // empty_name.
        product("p3", "A3", " ", PIECE, ""),
        // missing_unit.
        product("p4", "A4", "Гвозди", None, ""),
        product("p5", "A5", "Кабель", Some(("006", "м")), ""),
        // duplicate_id (p1 again, with its own article).
        product("p1", "A1b", "Стол 2", PIECE, ""),
        // Deleted: its article A1 is no duplicate among active products, and no unit is needed.
        product(
            "p6",
            "A1",
            "Удалён",
            None,
            "<ПометкаУдаления>true</ПометкаУдаления>",
        ),
    ]
    .concat();
    let import = write(dir, "import.xml", &catalog(&products, false));
    let retail = "pt-r";
    let offers_xml = [
        offer("p1", &[(retail, "100")], None, &[("w1", "5")]),
        // no_price (only the unmapped wholesale price) and fractional_stock (p2 is in pieces).
        offer("p2", &[("pt-o", "90")], None, &[("w1", "2.5")]),
        // negative_stock.
        offer("p3", &[(retail, "10")], Some("-3"), &[]),
        // no_price (a prices file, no price at all); 2.5 m of cable is fine.
        offer("p5", &[], Some("2.5"), &[]),
        offer("p4", &[(retail, "1")], Some("1"), &[]),
        // offer_without_product.
        offer("ghost", &[(retail, "1")], Some("1"), &[]),
        offer("p1#v1", &[(retail, "100")], Some("1"), &[]),
        // variant_without_product.
        offer("ghost2#v1", &[(retail, "1")], Some("1"), &[]),
        // The database's product: neither of these is a finding.
        offer("db-1", &[(retail, "5")], Some("1"), &[]),
        offer("db-1#v2", &[(retail, "5")], Some("1"), &[]),
    ]
    .concat();
    // price_type_not_mapped (Оптовая), mapped_price_type_missing (Закупочная),
    // warehouse_not_mapped (Дальний), mapped_warehouse_missing (Резерв).
    let offers_file = write(
        dir,
        "offers.xml",
        &offers(
            &[(retail, "Розничная"), ("pt-o", "Оптовая")],
            &[("w1", "Основной"), ("w2", "Дальний")],
            &offers_xml,
        ),
    );
    // encoding_mismatch: declares windows-1251, the bytes are UTF-8.
    let garbled = write(
        dir,
        "garbled.xml",
        &catalog(&product("p7", "A7", "Шкаф", PIECE, ""), false)
            .replace("encoding=\"UTF-8\"", "encoding=\"windows-1251\""),
    );
    [import, offers_file, garbled]
}

/// Every finding at least once, each with a known count; the comments say which item has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_defective_catalog_gives_exactly_the_findings_put_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path()).await;
    // Yesterday: a product only the database knows (its offers below are not findings).
    let before = write(
        dir.path(),
        "before.xml",
        &catalog(&product("db-1", "DB-1", "Из базы", PIECE, ""), true),
    );
    import_files(&s, "1c", &[before], &|_| {}).await.unwrap();

    let files = defective_files(dir.path());
    let import = files[0].clone();
    let options = ImportOptions {
        rules: rules(),
        ..ImportOptions::default()
    };
    let r = import_files_opts(&s, "1c", &files, &options, &|_| {})
        .await
        .unwrap();
    let q = &r.quality;
    let want = [
        (Code::OfferWithoutProduct, 1),
        (Code::VariantWithoutProduct, 1),
        (Code::NoPrice, 2),
        (Code::PriceTypeNotMapped, 1),
        (Code::MappedPriceTypeMissing, 1),
        (Code::WarehouseNotMapped, 1),
        (Code::MappedWarehouseMissing, 1),
        (Code::DuplicateId, 1),
        (Code::DuplicateArticle, 1),
        (Code::DuplicateBarcode, 1),
        (Code::EmptyName, 1),
        (Code::NegativeStock, 1),
        (Code::FractionalStock, 1),
        (Code::MissingUnit, 1),
        (Code::EncodingMismatch, 1),
    ];
    let got: Vec<(Code, u64)> = q.findings.iter().map(|f| (f.code, f.count)).collect();
    assert_eq!(got, want, "{}", q.summary());

    // Examples carry the Ид, the article, the file and the line.
    let dup = q.get(Code::DuplicateArticle).unwrap();
    assert_eq!(dup.examples[0].id, "p2");
    assert_eq!(dup.examples[0].sku.as_deref(), Some("A1"));
    assert_eq!(
        dup.examples[0].file.as_deref(),
        Some(import.display().to_string().as_str())
    );
    let line = dup.examples[0].line.unwrap();
    let text = std::fs::read_to_string(&import).unwrap();
    assert!(
        text.lines()
            .nth(line as usize - 1)
            .unwrap()
            .contains("<Ид>p2</Ид>"),
        "line {line}"
    );
    assert_eq!(
        q.get(Code::OfferWithoutProduct).unwrap().examples[0].id,
        "ghost"
    );
    assert_eq!(
        q.get(Code::MappedPriceTypeMissing).unwrap().examples[0].id,
        "Закупочная"
    );
    assert_eq!(
        q.get(Code::PriceTypeNotMapped).unwrap().examples[0].id,
        "pt-o"
    );

    // Nothing dropped: the offers whose product is unknown are still stored, the database's
    // product was not listed by the full catalog and went inactive (1 of 6 active: under 0.2).
    assert!(s
        .catalog_row("1c", CatalogKind::Offer, "ghost")
        .await
        .unwrap()
        .is_some());
    assert_eq!(r.catalog.products.deactivated, 1);

    // Stored with the exchange in the journal.
    let rows = s.journal_recent(10).await.unwrap();
    let entry = rows
        .iter()
        .find(|j| j.kind == EntityKind::Catalog && j.action == "imported")
        .expect("the import is journalled");
    let detail: serde_json::Value = serde_json::from_str(entry.detail.as_deref().unwrap()).unwrap();
    let codes: Vec<&str> = detail["quality"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), want.len());
    assert!(codes.contains(&"fractional_stock"), "{codes:?}");
    s.close().await;
}

/// A real 1C export (carono-ut11-2.07, УТ 11: `tests/fixtures/onec/`, a byte copy of
/// `../shared/fixtures/commerceml/carono-ut11-2.07`), checked by hand against the report:
/// - 2 products, both active, with distinct articles (`Б-130001`, `Б- 130005`), one barcode
///   (`2000018987155`) on the first only, non-empty names, and a unit (`Код="715"`, a pair: not
///   pieces) each: no duplicate, empty-name or missing-unit finding;
/// - 5 variant offers (`Ид#Ид`), all of the 2 products above: no offer/variant without product;
/// - each has a price of the one price type `Розничная` (bb14a3a4-…) and whole, positive
///   quantities (20, 19, 120, 15, 45, total and per warehouse): no price, negative or fractional
///   finding;
/// - UTF-8 with a BOM, declared UTF-8, nothing outside the root; both files are full files of
///   a first import: nothing to deactivate.
///
/// Without a mapping there is nothing else to check, so no finding at all. With a mapping of
/// `Розничная` and one of the 5 declared warehouses (`Магазин "Обувь"`), the other 4 are
/// exactly the only finding (`warehouse_not_mapped`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_catalog_gives_only_what_is_really_in_it() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onec/carono-ut11-2.07");
    let files = [base.join("import.xml"), base.join("offers.xml")];
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path()).await;
    let r = import_files(&s, "1c", &files, &|_| {}).await.unwrap();
    assert!(r.quality.findings.is_empty(), "{}", r.quality.summary());
    s.close().await;

    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path()).await;
    let options = ImportOptions {
        rules: QualityRules {
            price_types: vec!["Розничная".into()],
            warehouses: vec!["Магазин \"Обувь\"".into()],
        },
        ..ImportOptions::default()
    };
    let r = import_files_opts(&s, "1c", &files, &options, &|_| {})
        .await
        .unwrap();
    let got: Vec<(Code, u64)> = r
        .quality
        .findings
        .iter()
        .map(|f| (f.code, f.count))
        .collect();
    assert_eq!(
        got,
        [(Code::WarehouseNotMapped, 4)],
        "{}",
        r.quality.summary()
    );
    let ids: Vec<&str> = r.quality.findings[0]
        .examples
        .iter()
        .map(|e| e.id.as_str())
        .collect();
    assert!(
        !ids.contains(&"b6112590-41ba-11dd-ac9d-0015e9b8c48d"),
        "the mapped one"
    );
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_outside_the_root_refuses_the_import_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path()).await;
    let good = write(
        dir.path(),
        "good.xml",
        &catalog(&product("p1", "A1", "Стол", PIECE, ""), false),
    );
    let before = write(
        dir.path(),
        "before.xml",
        &format!(
            "debug: 1\n{}",
            catalog(&product("p2", "A2", "Стул", PIECE, ""), false)
        ),
    );
    let e = import_files(&s, "1c", &[good.clone(), before], &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, ImportError::Refused { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("before the XML declaration at line 1, column 1"),
        "{text}"
    );
    let after = write(
        dir.path(),
        "after.xml",
        &format!(
            "{}garbage\n",
            catalog(&product("p3", "A3", "Шкаф", PIECE, ""), false)
        ),
    );
    let e = import_files(&s, "1c", &[good, after], &|_| {})
        .await
        .unwrap_err()
        .to_string();
    // The catalog's text is 4 lines before `garbage` (declaration, root, catalog, product…).
    assert!(e.contains("after the root element at line"), "{e}");
    assert!(e.contains(", column 1"), "{e}");
    let c = s.catalog_counts("1c").await.unwrap();
    assert_eq!(
        (c.products, c.groups),
        (0, 0),
        "nothing stored, not even the good file"
    );
    s.close().await;
}

/// `n` products `p0..`, each with an offer, as a full catalog and offers file.
fn full_catalog(dir: &Path, name: &str, ids: impl Iterator<Item = usize>) -> Vec<PathBuf> {
    let ids: Vec<usize> = ids.collect();
    let products: String = ids
        .iter()
        .map(|i| product(&format!("p{i}"), &format!("A{i}"), "Товар", PIECE, ""))
        .collect();
    let offer_list: String = ids
        .iter()
        .map(|i| offer(&format!("p{i}"), &[("pt-r", "1")], Some("1"), &[]))
        .collect();
    vec![
        write(
            dir,
            &format!("{name}-import.xml"),
            &catalog(&products, false),
        ),
        write(
            dir,
            &format!("{name}-offers.xml"),
            &offers(&[("pt-r", "Розничная")], &[], &offer_list),
        ),
    ]
}

async fn active(s: &Store) -> (i64, i64) {
    let c = s.catalog_counts("1c").await.unwrap();
    (c.active_products, c.active_offers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_catalog_missing_30_percent_is_held_until_applied_and_10_percent_goes() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path()).await;
    import_files(&s, "1c", &full_catalog(dir.path(), "d1", 0..10), &|_| {})
        .await
        .unwrap();
    assert_eq!(active(&s).await, (10, 10));

    // 30 % missing: imported, nothing deactivated, held and reported.
    let r = import_files(&s, "1c", &full_catalog(dir.path(), "d2", 0..7), &|_| {})
        .await
        .unwrap();
    assert_eq!(active(&s).await, (10, 10), "held");
    assert_eq!(r.catalog.products.deactivated, 0);
    let held = r.quality.get(Code::DeactivationHeld).expect("held finding");
    assert_eq!(held.count, 6, "3 products + 3 offers");
    assert!(held
        .detail
        .as_deref()
        .unwrap()
        .contains("3 of 10 active products"));
    let stored = s.held_deactivation("1c").await.unwrap();
    assert_eq!((stored.products, stored.offers), (3, 3));
    assert!(s
        .journal_recent(10)
        .await
        .unwrap()
        .iter()
        .any(|j| j.action == "deactivation-held"));

    // Applied on request, once.
    assert_eq!(apply_held(&s, "1c").await.unwrap(), (3, 3));
    assert_eq!(active(&s).await, (7, 7));
    assert_eq!(apply_held(&s, "1c").await.unwrap(), (0, 0));
    assert!(s
        .journal_recent(10)
        .await
        .unwrap()
        .iter()
        .any(|j| j.action == "deactivation-applied"));

    // 10 % missing (7 of 10 back, then 9 of those 10 listed): deactivated at once.
    import_files(&s, "1c", &full_catalog(dir.path(), "d3", 0..10), &|_| {})
        .await
        .unwrap();
    assert_eq!(active(&s).await, (10, 10), "listed again: reactivated");
    let r = import_files(&s, "1c", &full_catalog(dir.path(), "d4", 0..9), &|_| {})
        .await
        .unwrap();
    assert_eq!(r.catalog.products.deactivated, 1);
    assert_eq!(r.catalog.offers.deactivated, 1);
    assert_eq!(r.quality.count(Code::DeactivationHeld), 0);
    assert_eq!(active(&s).await, (9, 9));

    // A changes-only file never deactivates.
    let changes = write(
        dir.path(),
        "changes.xml",
        &catalog(&product("p0", "A0", "Товар", PIECE, ""), true),
    );
    let r = import_files(&s, "1c", &[changes], &|_| {}).await.unwrap();
    assert_eq!(r.catalog.products.deactivated, 0);
    assert_eq!(active(&s).await, (9, 9));
    s.close().await;
}

fn settings(dir: &Path) -> ExchangeSettings {
    ExchangeSettings {
        path: "/1c/exchange".into(),
        login: "1c".into(),
        password: dealbridge::config::Secret::new("p"),
        dir: dir.join("exchange"),
        file_limit: 1024 * 1024,
        max_upload: 64 * 1024 * 1024,
        zip: true,
        max_zip_entries: 100,
        order_encoding: dealbridge::onec::config::OrderEncoding::Utf8Bom,
        import_slice: Duration::from_millis(20),
        request_timeout: Duration::from_secs(30),
        info_statuses: Vec::new(),
    }
}

/// Through the HTTP exchange endpoint (the 1C client emulator, new protocol): the guard holds a
/// full catalog missing 30 %, the journal keeps each file's quality report, and the held
/// deactivation is applied afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exchange_endpoint_reports_quality_and_holds_a_mass_deactivation() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path()).await;
    import_files(&s, "1c", &full_catalog(dir.path(), "d1", 0..10), &|_| {})
        .await
        .unwrap();
    let importer = StoreImporter::new(s.clone(), Arc::new(PaymentsJobs::new(s.clone(), 8)))
        .with_import_options(ImportOptions {
            rules: rules(),
            ..ImportOptions::default()
        });
    let app: axum::Router =
        onec::router(ExchangeState::new(settings(dir.path()), Arc::new(importer)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut opts = ClientOptions::new(format!("http://{addr}/1c/exchange"), "1c", "p");
    opts.poll_interval = Duration::from_millis(10);
    opts.version = Some("2.10".into());
    let files = full_catalog(dir.path(), "d2", 0..7);
    let t = run_catalog_exchange(&opts, &files).await.unwrap();
    assert!(
        t.steps
            .iter()
            .any(|st| st.answer.contains("deactivation held")),
        "{t}"
    );
    assert_eq!(active(&s).await, (10, 10), "held");
    let journal = s.journal_recent(20).await.unwrap();
    let imported: Vec<serde_json::Value> = journal
        .iter()
        .filter(|j| j.action == "imported" && j.entity_id.starts_with("1c-import:"))
        .map(|j| serde_json::from_str(j.detail.as_deref().unwrap()).unwrap())
        .collect();
    // The offers file's report: the mapping's Закупочная and Резерв are not in the files.
    assert!(
        imported.iter().any(|d| d["quality"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "mapped_price_type_missing")),
        "{imported:?}"
    );
    assert!(journal.iter().any(|j| j.action == "deactivation-held"));
    assert_eq!(apply_held(&s, "1c").await.unwrap(), (3, 3));
    assert_eq!(active(&s).await, (7, 7));
    s.close().await;
}

/// The real binary: `import-1c --json` prints the report under `"quality"`, the human output
/// summarises it, and `--apply-held-deactivation` applies a held deactivation once.
#[test]
fn cli_prints_quality_and_applies_the_held_deactivation() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.sqlite").display());
    let run = |args: &[&str], files: &[PathBuf]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dealbridge"))
            .arg("import-1c")
            .args(args)
            .args(["--database", &url])
            .args(files)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap();
    let first = json(run(&["--json"], &full_catalog(dir.path(), "d1", 0..10)));
    assert_eq!(first["quality"]["findings"], serde_json::json!([]));
    let second = json(run(&["--json"], &full_catalog(dir.path(), "d2", 0..7)));
    let findings = second["quality"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["code"], "deactivation_held");
    assert_eq!(findings[0]["count"], 6);
    assert_eq!(second["catalog"]["products"]["deactivated"], 0);

    let human = run(&[], &full_catalog(dir.path(), "d3", 0..7));
    assert!(human.contains("quality:"), "{human}");
    assert!(human.contains("deactivation_held"), "{human}");

    let applied = json(run(&["--json", "--apply-held-deactivation"], &[]));
    assert_eq!(applied["deactivated"]["products"], 3);
    assert_eq!(applied["deactivated"]["offers"], 3);
    let again = json(run(&["--json", "--apply-held-deactivation"], &[]));
    assert_eq!(again["deactivated"]["products"], 0);
}

/// `[exchange_1c] max_deactivate_share`: 0.2 by default, a number from 0 to 1, anything else
/// reported at its file and line.
#[test]
fn max_deactivate_share_is_read_and_checked_with_file_and_line() {
    use dealbridge::config::{check, NoEnv};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dealbridge.toml");
    let load = |share: &str| {
        std::fs::write(
            &path,
            format!("[exchange_1c]\nlogin = \"1c\"\npassword = \"p\"\n{share}"),
        )
        .unwrap();
        check(&path, &NoEnv)
    };
    let share = |c: dealbridge::config::Config| c.exchange_1c.unwrap().max_deactivate_share;
    assert_eq!(share(load("").unwrap()), rust_decimal::Decimal::new(2, 1));
    assert_eq!(
        share(load("max_deactivate_share = 0.5\n").unwrap()),
        rust_decimal::Decimal::new(5, 1)
    );
    assert_eq!(
        share(load("max_deactivate_share = 1\n").unwrap()),
        rust_decimal::Decimal::ONE
    );
    for bad in ["1.5", "-0.1", "\"0.2\""] {
        let errors = load(&format!("max_deactivate_share = {bad}\n")).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].file, path);
        assert_eq!(errors[0].line, 4, "{bad}");
        assert!(errors[0].message.contains("from 0 to 1"), "{}", errors[0]);
    }
}
