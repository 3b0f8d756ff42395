//! Importing real CommerceML fixture pairs into a SQLite store: exact row counts, bindings,
//! re-import changes nothing, changes-only files never deactivate, a full file does; and the
//! `commerceml inspect` / `import-1c` commands of the real binary.
//!
//! Expected counts come from the fixture README (`../shared/fixtures/README.md`; the files are
//! byte-for-byte copies in `tests/fixtures/onec/<pair>/`). carono-ut11-2.07 offers carry both a total `Количество` and `Склад` per warehouse,
//! so each offer stores two stock rows (`""` = total, plus the warehouse).

use dealbridge::onec::{import_files, ImportProgress, ImportReport};
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
    let r = import_files(store, "1c", files, &progress)
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
        .binding("1c", "product", &format!("1c:{id}"))
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
        .binding("1c", "offer", &format!("1c:{id}"))
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
