//! A full catalog split over several files (1C УТ 11's `import0_1.xml`, `import0_2.xml`, or the
//! Bitrix protocol's `import___*.xml` parts): with the new protocol (1C sends `version` at
//! `init`), deactivation waits for `mode=deactivate` and removes only what *no* part listed; with
//! the old one each full file deactivates what it does not list, as old modules expect. The run
//! lives in the database, so a restart between parts continues it.

use dealbridge::onec::endpoint::ExchangeImporter;
use dealbridge::onec::exchange::StoreImporter;
use dealbridge::onec::import_files;
use dealbridge::sync::payments::PaymentsJobs;
use dealbridge_commerceml::ExchangeType;
use dealbridge_store::{CatalogKind, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn catalog(dir: &Path, name: &str, ids: &[&str]) -> PathBuf {
    let mut x = String::from("\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"2.08\" ДатаФормирования=\"2026-03-01T10:00:00\"><Каталог СодержитТолькоИзменения=\"false\"><Ид>cat</Ид><Наименование>Каталог</Наименование><Товары>");
    for id in ids {
        x.push_str(&format!(
            "<Товар><Ид>{id}</Ид><Артикул>ART-{id}</Артикул><Наименование>Товар {id}</Наименование></Товар>"
        ));
    }
    x.push_str("</Товары></Каталог></КоммерческаяИнформация>");
    let path = dir.join(name);
    std::fs::write(&path, x).unwrap();
    path
}

async fn active(store: &Store, id: &str) -> bool {
    store
        .catalog_row("1c", CatalogKind::Product, id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{id} stored"))
        .active
}

#[tokio::test]
async fn a_split_full_catalog_is_deactivated_once_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("db").display());
    let store = Store::connect(&url).await.unwrap();
    // Yesterday's catalog had an item that is gone today.
    let old = catalog(dir.path(), "old.xml", &["gone-1", "a-1"]);
    import_files(&store, "1c", &[old], &|_| {}).await.unwrap();

    let part1 = catalog(dir.path(), "import0_1.xml", &["a-1", "a-2"]);
    let part2 = catalog(dir.path(), "import0_2.xml", &["b-1", "b-2"]);
    let importer = StoreImporter::new(store.clone(), Arc::new(PaymentsJobs::new(store.clone(), 8)))
        .with_import_options(no_guard());
    importer
        .begin_exchange(ExchangeType::Catalog, Some("2.10"))
        .await
        .unwrap();
    importer
        .import_file(ExchangeType::Catalog, &part1)
        .await
        .unwrap();
    // dealbridge restarts between the parts: a new importer on the same database.
    drop(importer);
    let store = Store::connect(&url).await.unwrap();
    let importer = StoreImporter::new(store.clone(), Arc::new(PaymentsJobs::new(store.clone(), 8)))
        .with_import_options(no_guard());
    importer
        .import_file(ExchangeType::Catalog, &part2)
        .await
        .unwrap();
    for id in ["a-1", "a-2", "b-1", "b-2", "gone-1"] {
        assert!(
            active(&store, id).await,
            "{id}: nothing is deactivated before the end"
        );
    }
    let summary = importer
        .finish_exchange(ExchangeType::Catalog)
        .await
        .unwrap();
    assert!(summary.contains("deactivated 1 products"), "{summary}");
    assert!(
        !active(&store, "gone-1").await,
        "listed by no part: deactivated"
    );
    for id in ["a-1", "a-2", "b-1", "b-2"] {
        assert!(active(&store, id).await, "{id} was in a part: stays active");
    }
    // `complete` after `deactivate`: nothing more.
    assert_eq!(
        importer
            .finish_exchange(ExchangeType::Catalog)
            .await
            .unwrap(),
        "nothing to deactivate"
    );

    // Old protocol (no version at init): each full file deactivates what it does not list.
    importer
        .begin_exchange(ExchangeType::Catalog, None)
        .await
        .unwrap();
    importer
        .import_file(ExchangeType::Catalog, &part1)
        .await
        .unwrap();
    assert!(
        !active(&store, "b-1").await,
        "an old-protocol full file stands for the whole catalog"
    );
    assert!(active(&store, "a-2").await);
}

/// These tests are about which rows a split catalog deactivates, on catalogs of a few items: no
/// deactivation guard (it has its own tests in onec_quality.rs).
fn no_guard() -> dealbridge::onec::ImportOptions {
    dealbridge::onec::ImportOptions {
        max_deactivate_share: rust_decimal::Decimal::ONE,
        ..Default::default()
    }
}
