//! Importing CommerceML files from 1C into the store: the one code path behind `import-1c` and
//! the exchange endpoint's `mode=import`.
//!
//! Each file is parsed on a blocking thread (quick-xml is synchronous) that converts items into
//! [`CatalogBatch`]es and hands them over a bounded channel to the async writer, so parsing and
//! writing overlap on two cores while memory stays bounded by a couple of batches. What a file
//! holds is decided by its content (`Каталог`, `ПакетПредложений`, documents), never its name.
//!
//! Deactivation is per run, not per file: 1C may split one full catalog over several files
//! (`import___1.xml`, `import___2.xml`), so ids seen by every file of the run are recorded and
//! only when the run ends are the rows it did not see deactivated, and only for the kinds that
//! came in at least one *full* file (`СодержитТолькоИзменения` false or absent).

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::guard::{deactivate_or_hold, Deactivation};
use super::quality::collect::Collector;
use super::quality::encoding::Utf8Probe;
use super::quality::{bounds, default_max_deactivate_share, Quality, QualityRules};
use crate::{CmlError, CmlReader, ContentKind, Item, Property, PropertyRef, ReaderOptions};
use dealbridge_store::{
    CatalogBatch, CatalogDetails, CatalogGroup, CatalogPriceType, CatalogProperty,
    CatalogPropertyValue, CatalogPropertyVariant, CatalogWarehouse, CatalogWriteReport, SeenRun,
    Store, StoreError,
};
use rust_decimal::Decimal;
use serde::Serialize;
use std::sync::Mutex;
use tokio::sync::mpsc;

/// Products + offers (+ reference rows) per transaction: large enough that per-transaction cost
/// (an fsync in WAL mode) is amortised, small enough that a batch is a couple of MB.
pub const BATCH_ROWS: usize = 2000;

/// Batches in flight between the parser thread and the writer (bounds memory).
const CHANNEL_BATCHES: usize = 2;

/// How an import checks and deactivates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Products + offers (+ reference rows) per transaction.
    pub batch_rows: usize,
    /// What the data-quality report checks the files against (the `[[catalog]]` mappings).
    pub rules: QualityRules,
    /// `[exchange_1c] max_deactivate_share`: a full catalog deactivating more than this share
    /// of the active products or offers is held (see [`super::guard`]).
    pub max_deactivate_share: Decimal,
    /// Build the data-quality report (default). `false` only measures what the report costs
    /// (the benchmark's `import-plain`); text outside the root is refused either way.
    pub quality: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            batch_rows: BATCH_ROWS,
            rules: QualityRules::default(),
            max_deactivate_share: default_max_deactivate_share(),
            quality: true,
        }
    }
}

/// Progress of a running import, reported after each batch and at each file's start and end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    /// The file being imported.
    pub file: String,
    /// 0-based index of the file in the run.
    pub file_index: usize,
    /// Number of files in the run.
    pub files: usize,
    /// Bytes of this file read so far.
    pub bytes_done: u64,
    /// Size of this file.
    pub bytes_total: u64,
    /// Items (groups, products, offers, documents, …) read from this file so far.
    pub items: u64,
    /// True on the last report of a file.
    pub file_done: bool,
}

/// What one file held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileImport {
    /// The path.
    pub file: String,
    /// Main content, decided by the content.
    pub kind: Option<ContentKind>,
    /// `СодержитТолькоИзменения`, `None` when the file does not say (treated as a full file).
    pub only_changes: Option<bool>,
    /// Bytes read.
    pub bytes: u64,
    /// Items read.
    pub items: u64,
}

/// The outcome of an import run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    /// The system imported as (`1c`).
    pub system: String,
    /// Per file.
    pub files: Vec<FileImport>,
    /// Row counts per kind: inserted / updated / unchanged / deactivated.
    pub catalog: CatalogWriteReport,
    /// Property definitions seen (stored in `catalog_properties`; written/unchanged counts are in
    /// `catalog.properties`).
    pub properties: u64,
    /// Unit declarations seen (units are stored by name on products).
    pub units: u64,
    /// Documents (orders, payment documents) seen.
    pub documents: u64,
    /// Payments seen in documents, in any shape.
    pub payments: u64,
    /// Standalone counterparties seen.
    pub counterparties: u64,
    /// Elements the reader skipped as unknown.
    pub unknown_elements: u64,
    /// Things the operator should know (e.g. documents not stored by this import).
    pub notes: Vec<String>,
    /// The data-quality report (findings with counts and examples).
    pub quality: Quality,
}

/// Why an import failed. Batches already committed stay (they are consistent on their own);
/// no deactivation happens after a failure.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be opened.
    #[error("1C import: cannot open {file}: {source}; check the path")]
    Open {
        /// The path.
        file: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not readable CommerceML (malformed, hostile, too large).
    #[error("1C import of {file}: {source}")]
    Read {
        /// The path.
        file: String,
        /// The reader's error (with line and column).
        #[source]
        source: CmlError,
    },
    /// Writing to the store failed.
    #[error("1C import of {file}: {source}")]
    Store {
        /// The path (or `run` for end-of-run steps).
        file: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The file has text before its XML declaration or after its root element: refused before
    /// anything of the run was stored.
    #[error("1C import of {file} refused: {outside}; 1C writes nothing there, so the file was damaged or glued to another; nothing was imported, re-run the exchange from 1C or fix the file")]
    Refused {
        /// The path.
        file: String,
        /// Where the text is.
        outside: bounds::OutsideRoot,
    },
    /// The parser thread panicked or was cancelled.
    #[error("1C import of {file}: the parser thread failed: {message}; this is a bug, report it with the file")]
    Parser {
        /// The path.
        file: String,
        /// The join error.
        message: String,
    },
}

/// Imports `files` in order as system `system` with the default [`ImportOptions`], calling
/// `progress` as it goes.
pub async fn import_files(
    store: &Store,
    system: &str,
    files: &[PathBuf],
    progress: &(dyn Fn(ImportProgress) + Send + Sync),
) -> Result<ImportReport, ImportError> {
    import_files_opts(store, system, files, &ImportOptions::default(), progress).await
}

/// [`import_files`] with an explicit batch size (rows per transaction).
pub async fn import_files_with(
    store: &Store,
    system: &str,
    files: &[PathBuf],
    batch_rows: usize,
    progress: &(dyn Fn(ImportProgress) + Send + Sync),
) -> Result<ImportReport, ImportError> {
    let options = ImportOptions {
        batch_rows,
        ..ImportOptions::default()
    };
    import_files_opts(store, system, files, &options, progress).await
}

/// Imports `files` as one run with `options`: stores the catalog, deactivates (or holds the
/// deactivation of) what a full catalog did not list, and journals the report with its
/// data-quality findings.
pub async fn import_files_opts(
    store: &Store,
    system: &str,
    files: &[PathBuf],
    options: &ImportOptions,
    progress: &(dyn Fn(ImportProgress) + Send + Sync),
) -> Result<ImportReport, ImportError> {
    let mut run = ImportRun::begin(store, system).await?;
    let result = run
        .import_opts(store, system, files, options, progress)
        .await;
    // Deactivation (for full files) and the scratch seen-list's removal, whatever happened; an
    // error of the import itself wins.
    let finished = match &result {
        Ok(_) => run
            .finish(store, system, options.max_deactivate_share)
            .await
            .map(Some),
        Err(_) => run.abandon(store).await.map(|_| None),
    };
    let mut report = result?;
    if let Some(d) = finished? {
        d.add_to(&mut report);
    }
    super::record::journal_import(store, system, &run.id, &report)
        .await
        .map_err(|source| ImportError::Store {
            file: "run".into(),
            source,
        })?;
    Ok(report)
}

/// An import of one or more files whose deactivation waits until [`ImportRun::finish`]: a full
/// catalog 1C splits into several files (`import0_1.xml`, `import0_2.xml`, …) deactivates only
/// what *none* of them listed. The run's id names the scratch list of ids seen, kept in the
/// database, so a run can span requests (the 1C exchange imports file by file and deactivates
/// at `mode=deactivate`) and survive a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ImportRun {
    /// The run id (scratch list key).
    pub id: String,
    /// Product ids are recorded (there were products before the run).
    pub track_products: bool,
    /// Offer ids are recorded.
    pub track_offers: bool,
    /// A full catalog file was imported in this run.
    pub full_products: bool,
    /// A full offers file was imported in this run.
    pub full_offers: bool,
}

impl ImportRun {
    /// Starts a run. A kind with no rows before the run can have nothing to deactivate (every
    /// row at the end came from this run), so its ids are not recorded: on a first import that
    /// saves a scratch row per product and offer.
    pub async fn begin(store: &Store, system: &str) -> Result<ImportRun, ImportError> {
        let before = store
            .catalog_counts(system)
            .await
            .map_err(|source| ImportError::Store {
                file: "run".into(),
                source,
            })?;
        Ok(ImportRun {
            id: format!("import-{}", uuid::Uuid::new_v4().simple()),
            track_products: before.products > 0,
            track_offers: before.offers > 0,
            full_products: false,
            full_offers: false,
        })
    }

    /// Imports `files` into this run (no deactivation yet).
    pub async fn import(
        &mut self,
        store: &Store,
        system: &str,
        files: &[PathBuf],
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport, ImportError> {
        self.import_opts(store, system, files, &ImportOptions::default(), progress)
            .await
    }

    /// Imports `files` into this run with `options` (no deactivation yet).
    pub async fn import_opts(
        &mut self,
        store: &Store,
        system: &str,
        files: &[PathBuf],
        options: &ImportOptions,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport, ImportError> {
        let track = SeenRun {
            run: &self.id,
            products: self.track_products,
            offers: self.track_offers,
        };
        let (report, full_products, full_offers) =
            run_import(store, system, files, options, &track, progress).await?;
        self.full_products |= full_products;
        self.full_offers |= full_offers;
        Ok(report)
    }

    /// Deactivates what no full file of the run listed, unless that is more than
    /// `max_share` of the active products or offers: then the deactivation is held (see
    /// [`super::guard`]). Drops the scratch list.
    pub async fn finish(
        &self,
        store: &Store,
        system: &str,
        max_share: Decimal,
    ) -> Result<Deactivation, ImportError> {
        let products = self.full_products && self.track_products;
        let offers = self.full_offers && self.track_offers;
        let out = deactivate_or_hold(store, system, &self.id, [products, offers], max_share)
            .await
            .map_err(|source| ImportError::Store {
                file: "run".into(),
                source,
            })?;
        self.abandon(store).await?;
        Ok(out)
    }

    /// Drops the scratch list without deactivating anything.
    pub async fn abandon(&self, store: &Store) -> Result<(), ImportError> {
        store
            .forget_import_run(&self.id)
            .await
            .map_err(|source| ImportError::Store {
                file: "run".into(),
                source,
            })
    }
}

async fn run_import(
    store: &Store,
    system: &str,
    files: &[PathBuf],
    options: &ImportOptions,
    track: &SeenRun<'_>,
    progress: &(dyn Fn(ImportProgress) + Send + Sync),
) -> Result<(ImportReport, bool, bool), ImportError> {
    if let Some(refused) = text_outside_root(files) {
        return Err(refused);
    }
    let store_err = |source| ImportError::Store {
        file: "run".into(),
        source,
    };
    let known = store.catalog_price_types(system).await.map_err(store_err)?;
    let mut collector = Collector::new(
        options.rules.clone(),
        known.into_iter().map(|t| (t.external_id, t.name)).collect(),
    );
    collector.enabled = options.quality;
    let mut report = ImportReport {
        system: system.to_string(),
        ..ImportReport::default()
    };
    let mut full_products = false;
    let mut full_offers = false;
    for (index, path) in files.iter().enumerate() {
        let file = FileJob {
            store,
            system,
            path,
            index,
            files: files.len(),
            batch_rows: options.batch_rows.max(1),
            track,
            progress,
        };
        let (stats, done) = file.import(&mut report, collector).await?;
        collector = done;
        let full = stats.only_changes != Some(true);
        full_products |= full && stats.kinds.contains(&ContentKind::Catalog);
        full_offers |= full && stats.kinds.contains(&ContentKind::Offers);
    }
    // Offers whose product was not in these files: look in the database once.
    if collector.needs_database() {
        let stored = store
            .catalog_product_units(system)
            .await
            .map_err(store_err)?;
        collector.resolve(stored);
    }
    report.quality = collector.finish();
    if report.documents > 0 {
        report.notes.push(format!(
            "{} document(s) with {} payment(s) were read but not stored: this import writes the \
             catalog; orders and payments from 1C are applied by the sale exchange",
            report.documents, report.payments
        ));
    }
    Ok((report, full_products, full_offers))
}

/// Why the run is refused, when any file has text before its declaration or after its root
/// element; checked before anything is stored.
fn text_outside_root(files: &[PathBuf]) -> Option<ImportError> {
    files.iter().find_map(|path| {
        let file = path.display().to_string();
        match bounds::check_file(path) {
            Ok(Ok(())) => None,
            Ok(Err(outside)) => Some(ImportError::Refused { file, outside }),
            Err(source) => Some(ImportError::Open { file, source }),
        }
    })
}

/// One file of a run.
struct FileJob<'a> {
    store: &'a Store,
    system: &'a str,
    path: &'a PathBuf,
    index: usize,
    files: usize,
    batch_rows: usize,
    track: &'a SeenRun<'a>,
    progress: &'a (dyn Fn(ImportProgress) + Send + Sync),
}

impl FileJob<'_> {
    /// Parses the file on a blocking thread while writing its batches; adds what it held to
    /// `report` and hands the collector back.
    async fn import(
        &self,
        report: &mut ImportReport,
        mut collector: Collector,
    ) -> Result<(ParseStats, Collector), ImportError> {
        let label = self.path.display().to_string();
        let file = std::fs::File::open(self.path).map_err(|source| ImportError::Open {
            file: label.clone(),
            source,
        })?;
        let bytes_total = file.metadata().map(|m| m.len()).unwrap_or(0);
        let bytes_read = Arc::new(AtomicU64::new(0));
        let items_read = Arc::new(AtomicU64::new(0));
        let report_progress = |file_done: bool| {
            (self.progress)(ImportProgress {
                file: label.clone(),
                file_index: self.index,
                files: self.files,
                bytes_done: bytes_read.load(Ordering::Relaxed),
                bytes_total,
                items: items_read.load(Ordering::Relaxed),
                file_done,
            })
        };
        report_progress(false);

        let (tx, mut rx) = mpsc::channel::<Parsed>(CHANNEL_BATCHES);
        let probe = Arc::new(Mutex::new(Utf8Probe::default()));
        let probe_feed = collector.enabled.then(|| probe.clone());
        let counting = Counting {
            inner: file,
            read: bytes_read.clone(),
            probe: probe_feed,
        };
        let items = items_read.clone();
        let batch_rows = self.batch_rows;
        collector.begin_file(&label);
        let parser = tokio::task::spawn_blocking(move || {
            parse_file(counting, batch_rows, items, tx, &mut collector).map(|s| (s, collector))
        });

        let mut write_error = None;
        while let Some(parsed) = rx.recv().await {
            let seen = parsed.full.then_some(*self.track);
            match self
                .store
                .write_catalog_batch(self.system, seen, &parsed.batch)
                .await
            {
                Ok(r) => report.catalog.add(&r),
                Err(source) => {
                    write_error = Some(source);
                    break;
                }
            }
            report_progress(false);
        }
        // Dropping the receiver makes the parser's next send fail, so it stops early on error.
        drop(rx);
        let parsed = parser.await.map_err(|e| ImportError::Parser {
            file: label.clone(),
            message: e.to_string(),
        })?;
        if let Some(source) = write_error {
            return Err(ImportError::Store {
                file: label,
                source,
            });
        }
        let (stats, mut collector) = parsed.map_err(|source| ImportError::Read {
            file: label.clone(),
            source,
        })?;
        // The head decides the encoding; the probe catches bytes further on that do not match it.
        let later = probe
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .mismatch(&stats.encoding);
        if let Some(why) = stats
            .encoding_mismatch
            .clone()
            .or(later)
            .filter(|_| collector.enabled)
        {
            collector.encoding_mismatch(why);
        }
        report.properties += stats.properties;
        report.units += stats.units;
        report.documents += stats.documents;
        report.payments += stats.payments;
        report.counterparties += stats.counterparties;
        report.unknown_elements += stats.unknown_elements;
        report.files.push(FileImport {
            file: label.clone(),
            kind: stats.primary,
            only_changes: stats.only_changes,
            bytes: bytes_read.load(Ordering::Relaxed),
            items: items_read.load(Ordering::Relaxed),
        });
        report_progress(true);
        Ok((stats, collector))
    }
}

/// A batch from the parser, with whether the file is (so far) a full one.
struct Parsed {
    batch: CatalogBatch,
    full: bool,
}

/// What the parser thread learnt besides the batches.
#[derive(Default)]
struct ParseStats {
    primary: Option<ContentKind>,
    kinds: Vec<ContentKind>,
    only_changes: Option<bool>,
    properties: u64,
    units: u64,
    documents: u64,
    payments: u64,
    counterparties: u64,
    unknown_elements: u64,
    /// The encoding the reader decoded with (declared, from the BOM, or what the bytes are).
    encoding: String,
    /// Why the declared encoding was not used, if it was not.
    encoding_mismatch: Option<String>,
}

/// Parses one file on the calling (blocking) thread, sending full batches to the writer.
fn parse_file(
    input: Counting<std::fs::File>,
    batch_rows: usize,
    items: Arc<AtomicU64>,
    tx: mpsc::Sender<Parsed>,
    quality: &mut Collector,
) -> Result<ParseStats, CmlError> {
    let mut reader = CmlReader::from_reader(input, ReaderOptions::default())?;
    let mut stats = ParseStats::default();
    let mut batch = CatalogBatch::default();
    let send = |batch: &mut CatalogBatch, reader: &CmlReader| -> bool {
        let full = reader.header().only_changes != Some(true);
        let b = std::mem::take(batch);
        tx.blocking_send(Parsed { batch: b, full }).is_ok()
    };
    while let Some(item) = reader.next_item()? {
        items.fetch_add(1, Ordering::Relaxed);
        match item {
            Item::Group(g) => batch.groups.push(CatalogGroup {
                external_id: g.id,
                name: g.name,
                parent_id: g.parent,
                deleted: g.deleted,
            }),
            Item::PriceType(p) => {
                quality.price_type(&p, reader.item_line());
                batch.price_types.push(CatalogPriceType {
                    external_id: p.id,
                    name: p.name,
                    currency: p.currency,
                })
            }
            Item::Warehouse(w) => {
                quality.warehouse(&w, reader.item_line());
                batch.warehouses.push(CatalogWarehouse {
                    external_id: w.id,
                    name: w.name,
                })
            }
            Item::Product(p) => {
                quality.product(&p, reader.item_line());
                // A changes-only file may leave out what did not change: an empty list there
                // keeps the stored one; in a full file it means there are none.
                let full = reader.header().only_changes != Some(true);
                let part = |empty: bool| !empty || full;
                batch.product_details.push(CatalogDetails {
                    external_id: p.id.clone(),
                    properties: part(p.properties.is_empty())
                        .then(|| property_values(&p.properties)),
                    images: part(p.images.is_empty()).then(|| p.images.clone()),
                });
                batch.products.push(super::convert::product(p));
            }
            Item::Offer(o) => {
                quality.offer(&o, reader.item_line());
                // Prices-only and rests-only files are full files without properties, so an
                // offer without any never clears stored ones.
                if !o.properties.is_empty() {
                    batch.offer_details.push(CatalogDetails {
                        external_id: o.id.clone(),
                        properties: Some(property_values(&o.properties)),
                        images: None,
                    });
                }
                batch.offers.push(super::convert::offer(o));
            }
            Item::Property(p) => {
                stats.properties += 1;
                batch.properties.push(property(p));
            }
            Item::Unit(_) => stats.units += 1,
            Item::Document(d) => {
                stats.documents += 1;
                stats.payments += d.payments.len() as u64;
            }
            Item::Counterparty(_) => stats.counterparties += 1,
        }
        if batch.len() >= batch_rows && !send(&mut batch, &reader) {
            // The writer stopped (it failed); its error is the one to report.
            return Ok(stats);
        }
    }
    if !batch.is_empty() {
        send(&mut batch, &reader);
    }
    let h = reader.header();
    stats.primary = h.primary_kind();
    stats.kinds = h.kinds.clone();
    stats.only_changes = h.only_changes;
    stats.unknown_elements = reader.unknown_elements();
    stats.encoding = h.encoding.clone();
    stats.encoding_mismatch = h.encoding_mismatch.clone();
    Ok(stats)
}

/// Property values as stored: one entry per value, in file order; a property sent without a
/// value (`<Значение/>`, 1C's "not set") has none.
fn property_values(refs: &[PropertyRef]) -> Vec<CatalogPropertyValue> {
    refs.iter()
        .flat_map(|r| {
            r.values.iter().map(|v| CatalogPropertyValue {
                id: r.id.clone(),
                value: v.clone(),
            })
        })
        .collect()
}

/// A classifier property definition as stored.
fn property(p: Property) -> CatalogProperty {
    CatalogProperty {
        external_id: p.id,
        name: p.name,
        kind: p.value_type,
        variants: p
            .values
            .into_iter()
            .map(|v| CatalogPropertyVariant {
                id: v.id,
                value: v.value,
            })
            .collect(),
        deleted: p.deleted,
    }
}

/// Counts bytes as they are read, for progress.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
    /// Whether the raw bytes are UTF-8 (compared with the declared encoding at the end).
    probe: Option<Arc<Mutex<Utf8Probe>>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(probe) = &self.probe {
            probe
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .feed(&buf[..n]);
        }
        Ok(n)
    }
}
