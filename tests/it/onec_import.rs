//! Importing real CommerceML fixture pairs into a SQLite store: exact row counts, bindings,
//! re-import changes nothing, changes-only files never deactivate, a full file does; and the
//! `commerceml inspect` / `import-1c` commands of the real binary.
//!
//! Expected counts come from the fixture README (`../shared/fixtures/README.md`; the files are
//! byte-for-byte copies in `tests/fixtures/onec/<pair>/`). carono-ut11-2.07 offers carry both a total `Количество` and `Склад` per warehouse,
//! so each offer stores two stock rows (`""` = total, plus the warehouse).

use dealbridge::onec::{
    import_files, import_files_opts, ImportOptions, ImportProgress, ImportReport,
};
use dealbridge_store::EntityKind;
use dealbridge_store::{CatalogCounts, CatalogKind, Store, UpsertCounts};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

fn fixture(dir: &str) -> Vec<PathBuf> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onec");
    vec![
        base.join(dir).join("import.xml"),
        base.join(dir).join("offers.xml"),
    ]
}

async fn store(dir: &tempfile::TempDir) -> Store {
    Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("db.sqlite").display()
    ))
    .await
    .expect("open SQLite store")
}

async fn import(store: &Store, files: &[PathBuf]) -> ImportReport {
    let calls = AtomicU64::new(0);
    let progress = |p: ImportProgress| {
        assert!(p.bytes_done <= p.bytes_total);
        calls.fetch_add(1, Ordering::Relaxed);
    };
    // These tests are about what a full file deactivates, on catalogs of a few items: no
    // deactivation guard (it has its own tests in onec_quality.rs).
    let options = ImportOptions {
        max_deactivate_share: rust_decimal::Decimal::ONE,
        ..ImportOptions::default()
    };
    let r = import_files_opts(store, "1c", files, &options, &progress)
        .await
        .expect("import");
    assert!(calls.load(Ordering::Relaxed) >= 2 * files.len() as u64);
    r
}

/// (groups, price types, warehouses, products, offers, prices, stock) per fixture pair.
const EXPECTED: [(&str, [i64; 7]); 3] = [
    ("carono-ut11-2.07", [22, 1, 5, 2, 5, 5, 10]),
    ("gillbeits-2.03", [2, 2, 0, 6, 6, 12, 6]),
    ("bigperson-2.08", [5, 3, 0, 2, 2, 6, 2]),
];

fn counts_vec(c: &CatalogCounts) -> [i64; 7] {
    [
        c.groups,
        c.price_types,
        c.warehouses,
        c.products,
        c.offers,
        c.prices,
        c.stock,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_pairs_import_with_exact_counts_and_reimport_changes_nothing() {
    for (name, expected) in EXPECTED {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir).await;
        let files = fixture(name);
        let r = import(&s, &files).await;
        let c = s.catalog_counts("1c").await.unwrap();
        assert_eq!(counts_vec(&c), expected, "{name}: {c:?}");
        assert_eq!(c.active_products, expected[3], "{name}");
        assert_eq!(c.active_offers, expected[4], "{name}");
        assert_eq!(r.catalog.products.inserted as i64, expected[3], "{name}");
        assert_eq!(r.catalog.offers.inserted as i64, expected[4], "{name}");
        assert_eq!(r.catalog.prices.inserted as i64, expected[5], "{name}");
        assert_eq!(r.catalog.stock.inserted as i64, expected[6], "{name}");
        assert_eq!(r.files.len(), 2);
        assert_eq!(r.files[0].only_changes, Some(false));

        // Every product and offer is bound as system 1c, entity `1c:<Ид>`.
        let bound: i64 = s
            .binding_counts()
            .await
            .unwrap()
            .iter()
            .filter(|(sys, _, _)| sys == "1c")
            .map(|(_, _, n)| n)
            .sum();
        assert_eq!(bound, expected[3] + expected[4], "{name}: bindings");

        let again = import(&s, &files).await;
        assert_eq!(
            again.catalog.written(),
            0,
            "{name}: re-import wrote rows: {again:?}"
        );
        assert_eq!(again.catalog.products.unchanged as i64, expected[3]);
        assert_eq!(again.catalog.offers.unchanged as i64, expected[4]);
        assert_eq!(again.catalog.prices.unchanged as i64, expected[5]);
        assert_eq!(again.catalog.stock.unchanged as i64, expected[6]);
        assert_eq!(counts_vec(&s.catalog_counts("1c").await.unwrap()), expected);
        s.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variant_ids_prices_and_bindings_are_stored_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    import(&s, &fixture("gillbeits-2.03")).await;
    let id = "c84caed5-d7eb-11e1-95c6-00259037962c#792ddcc1-eb8e-11e1-bd18-002590800f44";
    let p = s
        .catalog_row("1c", CatalogKind::Product, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.name.as_deref(), Some("AGIO. Блузка, цвет белый в цветы"));
    assert!(p.active);
    let b = s
        .binding("1c", EntityKind::Product, &format!("1c:{id}"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.external_id, id);
    let prices = s.catalog_prices("1c", id).await.unwrap();
    assert_eq!(prices.len(), 2, "two price types: {prices:?}");
    for (_, amount, _) in &prices {
        amount
            .parse::<rust_decimal::Decimal>()
            .expect("decimal text");
    }
    assert!(s
        .binding("1c", EntityKind::Offer, &format!("1c:{id}"))
        .await
        .unwrap()
        .is_some());
}

/// A minimal catalog file listing `ids`, full or changes-only.
fn catalog_file(dir: &Path, name: &str, only_changes: bool, ids: &[&str]) -> PathBuf {
    let products: String = ids
        .iter()
        .map(|id| {
            format!("<Товар><Ид>{id}</Ид><Артикул>A-{id}</Артикул><Наименование>Товар {id}</Наименование></Товар>")
        })
        .collect();
    let xml = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"2.07\" ДатаФормирования=\"2026-03-01T10:00:00\">\
         <Каталог СодержитТолькоИзменения=\"{only_changes}\"><Ид>cat</Ид><ИдКлассификатора>cls</ИдКлассификатора>\
         <Наименование>Каталог</Наименование><Товары>{products}</Товары></Каталог></КоммерческаяИнформация>"
    );
    let path = dir.join(name);
    std::fs::write(&path, xml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_only_never_deactivates_and_full_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let full = catalog_file(dir.path(), "full.xml", false, &["a", "b", "c"]);
    let r = import(&s, &[full]).await;
    assert_eq!(r.catalog.products.inserted, 3);

    // A changes-only file with one changed product: nothing else is deactivated.
    let changes = catalog_file(dir.path(), "changes.xml", true, &["a-new"]);
    let r = import(&s, &[changes]).await;
    assert_eq!(r.files[0].only_changes, Some(true));
    assert_eq!(r.catalog.products.deactivated, 0);
    assert_eq!(s.catalog_counts("1c").await.unwrap().active_products, 4);

    // A full file without `b` and `a-new`: exactly those two go inactive, the rest untouched.
    let full2 = catalog_file(dir.path(), "full2.xml", false, &["a", "c"]);
    let r = import(&s, std::slice::from_ref(&full2)).await;
    assert_eq!(
        r.catalog.products,
        UpsertCounts {
            unchanged: 2,
            deactivated: 2,
            ..Default::default()
        }
    );
    assert!(
        !s.catalog_row("1c", CatalogKind::Product, "b")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    assert!(
        s.catalog_row("1c", CatalogKind::Product, "a")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    // Running it again deactivates nothing more and writes nothing.
    let r = import(&s, &[full2]).await;
    assert_eq!(r.catalog.written(), 0, "{r:?}");

    // A full catalog split over two files in one run: nothing listed by either is deactivated.
    let p1 = catalog_file(dir.path(), "import___1.xml", false, &["a", "b"]);
    let p2 = catalog_file(dir.path(), "import___2.xml", false, &["c"]);
    let r = import(&s, &[p1, p2]).await;
    assert_eq!(r.catalog.products.deactivated, 0);
    assert_eq!(r.catalog.products.updated, 1, "b reactivated");
    assert_eq!(s.catalog_counts("1c").await.unwrap().active_products, 3);
}

/// `xml` with `f` applied to the first `<Товар>…</Товар>` only.
fn edit_first_product(xml: &str, f: impl Fn(&str) -> String) -> String {
    let start = xml.find("<Товар>").expect("a product");
    let end = start + xml[start..].find("</Товар>").expect("its end");
    format!("{}{}{}", &xml[..start], f(&xml[start..end]), &xml[end..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one end-to-end scenario, read top to bottom as the story it checks
async fn property_values_images_and_definitions_are_stored_and_updated() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let files = fixture("bigperson-2.08");
    let r = import(&s, &files).await;
    // 3 definitions in import.xml, 1 (the offers' colour) in offers.xml.
    assert_eq!(r.properties, 4);
    assert_eq!(r.catalog.properties.inserted, 4);
    assert_eq!(s.catalog_counts("1c").await.unwrap().properties, 4);

    // Product 1 sends three values; the string and number ones are empty (`<Значение/>`, not
    // set) and the reference one is a variant id, read back as the variant's text.
    let p1 = "ffce323d-c133-11e8-8111-0050569b2b72";
    let cls = "17b2dc73-a9d0-11e8-8101-0050569b1daf";
    assert_eq!(
        s.catalog_product_properties("1c", p1).await.unwrap(),
        vec![(
            "test catalog property".to_string(),
            "test1 catalog property".to_string()
        )]
    );
    let raw = s
        .catalog_property_values("1c", CatalogKind::Product, p1)
        .await
        .unwrap();
    assert_eq!(raw.len(), 1);
    assert_eq!(
        (raw[0].id.as_str(), raw[0].value.as_str()),
        (cls, "4076a1e1-c58f-11e8-8111-0050569b2b72")
    );
    assert!(s.catalog_product_images("1c", p1).await.unwrap().is_empty());
    // The variant offer's colour, defined in offers.xml's own classifier.
    assert_eq!(
        s.catalog_offer_properties("1c", &format!("{p1}#8a4e5ea9-d129-11e8-8112-0050569b2b72"))
            .await
            .unwrap(),
        vec![("Цвет".to_string(), "Бежевый".to_string())]
    );
    let defs = s.catalog_properties("1c").await.unwrap();
    let d = defs.iter().find(|d| d.external_id == cls).unwrap();
    assert_eq!(d.name, "test catalog property");
    assert_eq!(d.kind.as_deref(), Some("Справочник"));
    assert_eq!(d.variants.len(), 2);

    // Re-import: nothing written.
    let again = import(&s, &files).await;
    assert_eq!(again.catalog.written(), 0, "{again:?}");
    assert_eq!(again.catalog.properties.unchanged, 4);

    // Product 1 changes its variant and gains two pictures (one with 1C's backslashes).
    let original = std::fs::read_to_string(&files[0]).unwrap();
    let changed = edit_first_product(&original, |p| {
        p.replace(
            "4076a1e1-c58f-11e8-8111-0050569b2b72</Значение>",
            "4076a1e4-c58f-11e8-8111-0050569b2b72</Значение>",
        )
        .replace(
            "<Описание/>",
            "<Описание/><Картинка>import_files/ab/abcd.jpg</Картинка>\
             <Картинка>import_files\\cd\\cdef.png</Картинка>",
        )
    });
    let changed_path = dir.path().join("import.xml");
    std::fs::write(&changed_path, &changed).unwrap();
    let r = import(&s, std::slice::from_ref(&changed_path)).await;
    assert_eq!(
        r.catalog.products,
        UpsertCounts {
            updated: 1,
            unchanged: 1,
            ..Default::default()
        }
    );
    assert_eq!(r.catalog.written(), 1, "{r:?}");
    assert_eq!(
        s.catalog_product_properties("1c", p1).await.unwrap(),
        vec![(
            "test catalog property".to_string(),
            "test2 catalog property".to_string()
        )]
    );
    assert_eq!(
        s.catalog_product_images("1c", p1).await.unwrap(),
        vec![
            "import_files/ab/abcd.jpg".to_string(),
            "import_files/cd/cdef.png".to_string()
        ]
    );
    let r = import(&s, std::slice::from_ref(&changed_path)).await;
    assert_eq!(r.catalog.written(), 0, "{r:?}");

    // A changes-only file that lists product 1 without values or pictures keeps them.
    let changes_only = edit_first_product(
        &changed.replace(
            "СодержитТолькоИзменения=\"false\"",
            "СодержитТолькоИзменения=\"true\"",
        ),
        |p| {
            let a = p.find("<ЗначенияСвойств>").unwrap();
            let b = p.find("</ЗначенияСвойств>").unwrap() + "</ЗначенияСвойств>".len();
            let p = format!("{}{}", &p[..a], &p[b..]);
            let a = p.find("<Картинка>").unwrap();
            let b = p.rfind("</Картинка>").unwrap() + "</Картинка>".len();
            format!("{}{}", &p[..a], &p[b..])
        },
    );
    assert!(!changes_only[..changes_only.find("</Товар>").unwrap()].contains("ЗначенияСвойств"));
    let changes_path = dir.path().join("changes.xml");
    std::fs::write(&changes_path, changes_only).unwrap();
    let r = import(&s, &[changes_path]).await;
    assert_eq!(r.files[0].only_changes, Some(true));
    assert_eq!(r.catalog.written(), 0, "{r:?}");
    assert_eq!(s.catalog_product_images("1c", p1).await.unwrap().len(), 2);
    assert_eq!(
        s.catalog_product_properties("1c", p1).await.unwrap()[0].1,
        "test2 catalog property"
    );

    // The original full file again: the variant is back and the pictures are gone.
    let r = import(&s, &files[..1]).await;
    assert_eq!(r.catalog.products.updated, 1, "{r:?}");
    assert!(s.catalog_product_images("1c", p1).await.unwrap().is_empty());
    assert_eq!(
        s.catalog_product_properties("1c", p1).await.unwrap()[0].1,
        "test1 catalog property"
    );

    // A 2.03 classifier (`СвойствоНоменклатуры`, no `ТипЗначений`) with plain-text values.
    import(&s, &fixture("gillbeits-2.03")).await;
    let id = "c84caed5-d7eb-11e1-95c6-00259037962c#792ddcc1-eb8e-11e1-bd18-002590800f44";
    let named: Vec<(String, String)> = [
        ("Бренд", "Agio"),
        ("Высота", "0"),
        ("Длина", "0"),
        ("Тип веса", "1"),
        ("Ширина", "0"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    assert_eq!(s.catalog_product_properties("1c", id).await.unwrap(), named);
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir).await;
    let path = dir.path().join("broken.xml");
    std::fs::write(
        &path,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><КоммерческаяИнформация><Каталог><Товары><Товар><Ид>x</Ид>",
    )
    .unwrap();
    let err = import_files(&s, "1c", &[path], &|_| {}).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("broken.xml"), "{msg}");
    assert_eq!(s.catalog_counts("1c").await.unwrap().products, 0, "{msg}");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dealbridge"))
}

#[test]
fn cli_inspect_json_and_import_json() {
    let files = fixture("carono-ut11-2.07");
    let out = bin()
        .args(["commerceml", "inspect", "--json"])
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["schema_version"], "2.07");
    assert_eq!(lines[0]["namespace"], "urn:1C.ru:commerceml_2");
    assert_eq!(lines[0]["products"], 2);
    assert_eq!(lines[1]["offers"], 5);
    assert_eq!(lines[1]["variant_offers"], 5);
    for key in [
        "file",
        "encoding",
        "only_changes",
        "groups",
        "properties",
        "price_types",
        "warehouses",
        "prices",
        "stock_entries",
        "deleted",
        "documents",
        "payments",
        "unknown_elements",
    ] {
        assert!(lines[0].get(key).is_some(), "missing {key}");
    }

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cli.sqlite").display());
    let run = || {
        let out = bin()
            .args(["import-1c", "--json", "--database", &url])
            .args(&files)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let first = run();
    assert_eq!(first["catalog"]["products"]["inserted"], 2);
    assert_eq!(first["catalog"]["offers"]["inserted"], 5);
    let second = run();
    assert_eq!(second["catalog"]["offers"]["unchanged"], 5);
    assert_eq!(second["catalog"]["offers"]["inserted"], 0);

    // A missing file: non-zero exit and a message naming it.
    let out = bin()
        .args(["import-1c", "--database", &url, "/nonexistent/import.xml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/import.xml"));
}
