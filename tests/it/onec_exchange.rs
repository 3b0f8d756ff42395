//! The 1C exchange endpoint over real loopback HTTP, driven by the 1C client emulator.
//!
//! The importer is a test double that records what it was handed (the protocol is what is
//! under test here; the store-backed importer is tested with the import code).

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use dealbridge::config::Secret;
use dealbridge::onec::config::OrderEncoding;
use dealbridge::onec::endpoint::{self as onec, ExchangeImporter, ExchangeSettings, ExchangeState};
use dealbridge_commerceml::exchange_client::{
    run_catalog_exchange, run_sale_exchange, ClientOptions, ExchangeError, Transcript,
};
use dealbridge_commerceml::ExchangeType;
use dealbridge_sdk::model::{Contact, ExternalRef, Order, OrderLine};
use dealbridge_sdk::money::Currency;
use rust_decimal_macros::dec;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LOGIN: &str = "1c-user";
const PASSWORD: &str = "Пароль-1c";
const CHUNK: u64 = 200 * 1024;

/// Records every imported file's bytes; serves orders until they are marked exported.
#[derive(Default)]
struct RecordingImporter {
    imported: Mutex<Vec<(String, String, Vec<u8>)>>,
    orders: Mutex<Vec<Order>>,
    exported: Mutex<Vec<String>>,
}

#[async_trait]
impl ExchangeImporter for RecordingImporter {
    async fn import_file(
        &self,
        exchange_type: ExchangeType,
        path: &Path,
    ) -> Result<String, String> {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "panic.xml" {
            panic!("importer bug");
        }
        // Long enough that the endpoint answers `progress` at least once.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let bytes = tokio::fs::read(path).await.map_err(|e| e.to_string())?;
        let n = bytes.len();
        self.imported
            .lock()
            .unwrap()
            .push((exchange_type.to_string(), name.clone(), bytes));
        Ok(format!("{name}: {n} bytes"))
    }

    async fn orders_for_export(&self) -> Result<Vec<Order>, String> {
        let exported = self.exported.lock().unwrap().clone();
        Ok(self
            .orders
            .lock()
            .unwrap()
            .iter()
            .filter(|o| !exported.contains(&o.source.id))
            .cloned()
            .collect())
    }

    async fn mark_exported(&self, ids: &[String]) -> Result<(), String> {
        self.exported.lock().unwrap().extend(ids.iter().cloned());
        Ok(())
    }
}

struct Site {
    url: String,
    dir: tempfile::TempDir,
    importer: Arc<RecordingImporter>,
}

impl Site {
    fn uploads(&self) -> PathBuf {
        self.dir.path().join("exchange")
    }

    /// Every regular file under the whole temp dir (uploads and anything that escaped).
    /// Every uploaded or unpacked file (the persisted sessions in `.sessions` are not uploads).
    fn all_files(&self) -> Vec<PathBuf> {
        fn walk(p: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                let path = e.path();
                if path.file_name().is_some_and(|n| n == ".sessions") {
                    continue;
                }
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }

    fn imported_count(&self) -> usize {
        self.importer.imported.lock().unwrap().len()
    }
}

fn settings(dir: &Path, max_upload: u64) -> ExchangeSettings {
    ExchangeSettings {
        path: "/1c/exchange".into(),
        login: LOGIN.into(),
        password: Secret::new(PASSWORD),
        dir: dir.join("exchange"),
        file_limit: CHUNK,
        max_upload,
        zip: true,
        max_zip_entries: 100,
        order_encoding: OrderEncoding::Utf8Bom,
        import_slice: Duration::from_millis(20),
        request_timeout: Duration::from_secs(30),
        info_statuses: vec![
            ("pending".into(), "Pending".into()),
            ("completed".into(), "Completed".into()),
        ],
    }
}

async fn spawn_site(max_upload: u64) -> Site {
    spawn_site_with(max_upload, |_| {}).await
}

async fn spawn_site_with(max_upload: u64, tune: impl FnOnce(&mut ExchangeSettings)) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let importer = Arc::new(RecordingImporter::default());
    let mut s = settings(dir.path(), max_upload);
    tune(&mut s);
    let state = ExchangeState::new(s, importer.clone());
    let app: axum::Router = onec::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Site {
        url: format!("http://{addr}/1c/exchange"),
        dir,
        importer,
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onec")
        .join(name)
}

/// Status answers must start with a status word; `init` and `query` are the protocol's
/// exceptions (parameters and XML).
fn assert_status_words(t: &Transcript) {
    for s in &t.steps {
        if s.query.contains("mode=init") && !s.answer.starts_with("failure") {
            assert!(s.answer.starts_with("zip="), "init answer: {:?}", s.answer);
            continue;
        }
        if s.query.contains("mode=query") {
            continue;
        }
        assert!(
            ["success", "progress", "failure"]
                .iter()
                .any(|w| s.answer.starts_with(w)),
            "answer to {} does not start with a status word: {:?}",
            s.query,
            s.answer
        );
    }
}

fn order(id: &str) -> Order {
    let at = Utc.with_ymd_and_hms(2024, 3, 1, 9, 5, 7).unwrap();
    let shop = |id: &str| ExternalRef {
        system: "shop".into(),
        id: id.into(),
    };
    Order {
        source: shop(id),
        number: id.into(),
        status: "processing".into(),
        currency: Currency::new("RUB").unwrap(),
        created_at: at,
        modified_at: at,
        customer: Contact {
            source: None,
            first_name: "Иван".into(),
            last_name: "Петров".into(),
            company: None,
            email: Some("ivan@example.com".into()),
            phone: None,
        },
        lines: vec![OrderLine {
            item: Some(shop("sku-guid")),
            sku: Some("ART-1".into()),
            name: "Стол".into(),
            quantity: dec!(2),
            unit_price: dec!(100),
            total: dec!(200),
            tax: dec!(0),
        }],
        discount_total: dec!(0),
        shipping_total: dec!(0),
        tax_total: dec!(0),
        total: dec!(200),
        paid_at: None,
        payment_method: None,
        source_channel: None,
        note: None,
    }
}

fn opts(site: &Site) -> ClientOptions {
    let mut o = ClientOptions::new(&site.url, LOGIN, PASSWORD);
    o.poll_interval = Duration::from_millis(10);
    o
}

fn uploads_of(t: &Transcript) -> usize {
    t.steps
        .iter()
        .filter(|s| s.query.contains("mode=file"))
        .count()
}

#[tokio::test]
async fn catalog_uploaded_zipped_in_chunks_arrives_byte_identical() {
    let site = spawn_site(50 * 1024 * 1024).await;
    // Incompressible bytes make the archive span several 200 KB chunks.
    let extra_dir = tempfile::tempdir().unwrap();
    let blob = extra_dir.path().join("rests.bin");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..450_000)
        .map(|_| {
            // xorshift64: incompressible enough for deflate.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect();
    std::fs::write(&blob, &noise).unwrap();
    let files = vec![
        fixture("djangocml-import.xml"),
        fixture("offers.xml"),
        blob.clone(),
    ];
    let t = run_catalog_exchange(&opts(&site), &files).await.unwrap();
    println!("{t}");
    assert_status_words(&t);
    assert!(uploads_of(&t) >= 2, "the archive must go in several chunks");
    assert!(t
        .steps
        .iter()
        .all(|s| s.body_len.unwrap_or(0) as u64 <= CHUNK));
    assert!(t.steps.iter().any(|s| s.query.contains("zip")));
    assert!(
        t.steps.iter().any(|s| s.answer.starts_with("progress")),
        "a slow import answers progress first"
    );
    let imported = site.importer.imported.lock().unwrap().clone();
    assert_eq!(imported.len(), 3);
    for (file, (kind, name, bytes)) in files.iter().zip(&imported) {
        assert_eq!(kind, "catalog");
        assert_eq!(name, file.file_name().unwrap().to_str().unwrap());
        assert!(bytes == &std::fs::read(file).unwrap(), "{name} differs");
    }
    // No password anywhere in the transcript.
    assert!(!format!("{t:?}").contains(PASSWORD));
}

#[tokio::test]
async fn catalog_without_zip_is_chunked_and_appended() {
    let site = spawn_site(50 * 1024 * 1024).await;
    let mut o = opts(&site);
    o.zip = false;
    let file = fixture("djangocml-import.xml");
    let t = run_catalog_exchange(&o, std::slice::from_ref(&file))
        .await
        .unwrap();
    assert_status_words(&t);
    let size = std::fs::metadata(&file).unwrap().len();
    assert_eq!(uploads_of(&t) as u64, size.div_ceil(CHUNK));
    let imported = site.importer.imported.lock().unwrap().clone();
    assert_eq!(imported.len(), 1);
    assert!(imported[0].2 == std::fs::read(&file).unwrap());
    // A second exchange starts clean: init removed the first one's file, so nothing is
    // appended to it.
    run_catalog_exchange(&o, std::slice::from_ref(&file))
        .await
        .unwrap();
    let imported = site.importer.imported.lock().unwrap().clone();
    assert_eq!(imported[1].2.len() as u64, size);
}

fn xmllint_2_10(bytes: &[u8]) -> Option<(bool, String)> {
    if std::process::Command::new("xmllint")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "SKIPPED: xmllint not installed; the orders XML was not validated against the XSD"
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orders.xml");
    std::fs::write(&file, bytes).unwrap();
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("connectors/commerceml/tests/fixtures/xsd/commerceml-2.10.xsd");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(&file)
        .output()
        .unwrap();
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[tokio::test]
async fn sale_query_is_valid_and_marked_exported_only_after_success() {
    let site = spawn_site(50 * 1024 * 1024).await;
    *site.importer.orders.lock().unwrap() = vec![order("1042"), order("1043")];

    // By hand first: query without success leaves the orders unexported.
    let raw = Raw::login(&site, "sale").await;
    raw.get("sale", "init&version=2.10").await;
    let (status, xml) = raw.get_bytes("sale", "query").await;
    assert_eq!(status, 200);
    assert!(xml.starts_with(b"\xEF\xBB\xBF<?xml"), "UTF-8 with BOM");
    assert!(site.importer.exported.lock().unwrap().is_empty());

    // The emulator: query → success → status file → import.
    let status_file = fixture("orders-from-1c.xml");
    let t = run_sale_exchange(&opts(&site), std::slice::from_ref(&status_file))
        .await
        .unwrap();
    println!("{t}");
    assert_status_words(&t);
    let xml = t.orders_xml.clone().unwrap();
    let text = String::from_utf8_lossy(&xml);
    assert!(text.contains("<Номер>1042</Номер>") && text.contains("<Номер>1043</Номер>"));
    if let Some((ok, err)) = xmllint_2_10(&xml) {
        assert!(ok, "orders XML invalid against 2.10 XSD: {err}");
    }
    assert_eq!(
        *site.importer.exported.lock().unwrap(),
        vec!["1042".to_string(), "1043".to_string()]
    );
    let imported = site.importer.imported.lock().unwrap().clone();
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].0, "sale");
    assert!(imported[0].2 == std::fs::read(&status_file).unwrap());

    // The hand session's late `success` confirms only what it was sent (already exported).
    assert!(raw.get("sale", "success").await.starts_with("success"));
    // Next query: nothing left.
    let t2 = run_sale_exchange(&opts(&site), &[]).await.unwrap();
    let again = String::from_utf8_lossy(t2.orders_xml.as_ref().unwrap()).into_owned();
    assert!(!again.contains("<Документ>"));
}

/// A hand-driven client for the hostile cases.
struct Raw {
    http: reqwest::Client,
    url: String,
    cookie: Option<String>,
}

impl Raw {
    fn anonymous(site: &Site) -> Raw {
        Raw {
            http: dealbridge_sdk::http::client(Default::default()).unwrap(),
            url: site.url.clone(),
            cookie: None,
        }
    }

    async fn login(site: &Site, kind: &str) -> Raw {
        let mut raw = Raw::anonymous(site);
        let text = raw
            .http
            .get(format!("{}?type={kind}&mode=checkauth", raw.url))
            .basic_auth(LOGIN, Some(PASSWORD))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "success", "{text}");
        assert!(lines[3].starts_with("sessid=") && lines[4].starts_with("timestamp="));
        raw.cookie = Some(format!("{}={}", lines[1], lines[2]));
        raw
    }

    async fn send(&self, kind: &str, query: &str, body: Option<Vec<u8>>) -> (u16, Vec<u8>) {
        let url = format!("{}?type={kind}&mode={query}", self.url);
        let mut req = match body {
            Some(b) => self.http.post(url).body(b),
            None => self.http.get(url),
        };
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = resp.bytes().await.unwrap().to_vec();
        // Every status answer is text/plain; the order export and the info directory are XML.
        if !query.starts_with("query") && !query.starts_with("info") {
            assert!(ct.starts_with("text/plain"), "content type {ct}");
        }
        (status, bytes)
    }

    async fn get_bytes(&self, kind: &str, query: &str) -> (u16, Vec<u8>) {
        self.send(kind, query, None).await
    }

    async fn get(&self, kind: &str, query: &str) -> String {
        String::from_utf8(self.send(kind, query, None).await.1).unwrap()
    }

    async fn post(&self, kind: &str, query: &str, body: Vec<u8>) -> String {
        String::from_utf8(self.send(kind, query, Some(body)).await.1).unwrap()
    }
}

fn assert_failure(answer: &str) {
    assert!(
        answer.starts_with("failure\n"),
        "expected failure, got {answer:?}"
    );
    assert!(
        answer.lines().nth(1).is_some_and(|l| !l.is_empty()),
        "a reason line"
    );
}

#[tokio::test]
async fn wrong_password_is_refused_and_nothing_stored() {
    let site = spawn_site(50 * 1024 * 1024).await;
    let mut o = opts(&site);
    o.password = "wrong".into();
    let err = run_catalog_exchange(&o, &[fixture("offers.xml")])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ExchangeError::Failure { step, .. } if step == "checkauth"),
        "{err}"
    );
    assert_status_words(err.transcript());
    assert_eq!(err.transcript().steps.len(), 1);
    // No credentials at all: same.
    let raw = Raw::anonymous(&site);
    assert_failure(&raw.get("catalog", "checkauth").await);
    assert!(site.all_files().is_empty());
    assert_eq!(site.imported_count(), 0);
}

#[tokio::test]
async fn missing_or_unknown_cookie_is_refused_and_nothing_stored() {
    let site = spawn_site(50 * 1024 * 1024).await;
    let mut raw = Raw::anonymous(&site);
    for (kind, q) in [
        ("catalog", "init"),
        ("catalog", "import&filename=import.xml"),
        ("sale", "query"),
        ("sale", "success"),
        ("catalog", "complete"),
    ] {
        assert_failure(&raw.get(kind, q).await);
    }
    assert_failure(
        &raw.post("catalog", "file&filename=import.xml", b"<x/>".to_vec())
            .await,
    );
    raw.cookie = Some(format!("{}=forged", onec::COOKIE_NAME));
    assert_failure(
        &raw.post("catalog", "file&filename=import.xml", b"<x/>".to_vec())
            .await,
    );
    assert_failure(&raw.get("sale", "query").await);
    assert!(site.all_files().is_empty());
    assert_eq!(site.imported_count(), 0);
}

#[tokio::test]
async fn hostile_file_names_are_refused_and_nothing_written() {
    let site = spawn_site(50 * 1024 * 1024).await;
    let raw = Raw::login(&site, "catalog").await;
    let init = raw.get("catalog", "init").await;
    assert_eq!(init, format!("zip=yes\nfile_limit={CHUNK}"));
    for name in [
        "../x",
        "..%2Fx",
        "import_files/../../x",
        "/tmp/x",
        "%2Fetc%2Fx",
        "a%5Cb",
        "..%5C..%5Cx",
        "C:%2Fx",
        "x%00.xml",
    ] {
        let answer = raw
            .post(
                "catalog",
                &format!("file&filename={name}"),
                b"evil".to_vec(),
            )
            .await;
        assert_failure(&answer);
        assert_failure(&raw.get("catalog", &format!("import&filename={name}")).await);
    }
    assert!(site.all_files().is_empty(), "{:?}", site.all_files());
    assert!(!site.dir.path().parent().unwrap().join("x").exists());
    // A sub-directory is fine (1C sends pictures as import_files/…).
    assert!(raw
        .post(
            "catalog",
            "file&filename=import_files/c4/a.jpg",
            b"jpg".to_vec()
        )
        .await
        .starts_with("success"));
    assert!(site
        .uploads()
        .join("catalog/import_files/c4/a.jpg")
        .is_file());
}

#[tokio::test]
async fn bodies_over_the_bounds_are_refused_and_nothing_kept() {
    // max_upload allows two full chunks only.
    let site = spawn_site(2 * CHUNK + 100).await;
    let raw = Raw::login(&site, "catalog").await;
    raw.get("catalog", "init").await;
    let over = vec![b'a'; CHUNK as usize + 1];
    assert_failure(&raw.post("catalog", "file&filename=big.xml", over).await);
    assert!(site.all_files().is_empty());

    let chunk = vec![b'a'; CHUNK as usize];
    for _ in 0..2 {
        assert!(raw
            .post("catalog", "file&filename=big.xml", chunk.clone())
            .await
            .starts_with("success"));
    }
    assert_failure(&raw.post("catalog", "file&filename=big.xml", chunk).await);
    // The incomplete file is dropped entirely.
    assert!(site.all_files().is_empty(), "{:?}", site.all_files());
    assert_failure(&raw.get("catalog", "import&filename=big.xml").await);
    assert_eq!(site.imported_count(), 0);
}

/// Writes one archive entry's content.
type Fill<'a> = &'a dyn Fn(&mut dyn Write);

fn zip_of(entries: &[(&str, Fill<'_>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, fill) in entries {
        w.start_file(*name, o).unwrap();
        fill(&mut w);
    }
    w.finish().unwrap().into_inner()
}

async fn upload_chunked(raw: &Raw, name: &str, bytes: &[u8]) {
    for chunk in bytes.chunks(CHUNK as usize) {
        let a = raw
            .post("catalog", &format!("file&filename={name}"), chunk.to_vec())
            .await;
        assert!(a.starts_with("success"), "{a}");
    }
}

#[tokio::test]
async fn zip_bomb_is_refused_and_nothing_extracted() {
    let site = spawn_site(20 * 1024 * 1024).await;
    let zeros = vec![0u8; 1024 * 1024];
    let bomb = zip_of(&[("import.xml", &|w: &mut dyn Write| {
        for _ in 0..200 {
            w.write_all(&zeros).unwrap();
        }
    })]);
    assert!(bomb.len() < 2 * 1024 * 1024, "compressed: {}", bomb.len());
    let raw = Raw::login(&site, "catalog").await;
    raw.get("catalog", "init").await;
    upload_chunked(&raw, "v8_bomb.zip", &bomb).await;
    let answer = raw.get("catalog", "import&filename=import.xml").await;
    assert_failure(&answer);
    assert!(answer.contains("zip bomb"), "{answer}");
    assert!(site.all_files().is_empty(), "{:?}", site.all_files());
    assert_eq!(site.imported_count(), 0);

    // Too many entries is a bomb too.
    raw.get("catalog", "init").await;
    let names: Vec<String> = (0..101).map(|i| format!("f{i}.xml")).collect();
    let fill = |w: &mut dyn Write| w.write_all(b"<x/>").unwrap();
    let entries: Vec<(&str, Fill<'_>)> = names
        .iter()
        .map(|n| (n.as_str(), &fill as &dyn Fn(&mut dyn Write)))
        .collect();
    upload_chunked(&raw, "v8_many.zip", &zip_of(&entries)).await;
    assert_failure(&raw.get("catalog", "import&filename=f0.xml").await);
    assert!(site.all_files().is_empty(), "{:?}", site.all_files());
}

#[tokio::test]
async fn zip_entries_escaping_the_directory_are_refused_and_nothing_extracted() {
    let site = spawn_site(20 * 1024 * 1024).await;
    let raw = Raw::login(&site, "catalog").await;
    for evil in [
        "../evil.xml",
        "/abs.xml",
        "a\\..\\..\\evil.xml",
        "goods/../../evil.xml",
    ] {
        raw.get("catalog", "init").await;
        let ok = |w: &mut dyn Write| w.write_all(b"<ok/>").unwrap();
        let bad = |w: &mut dyn Write| w.write_all(b"<evil/>").unwrap();
        let archive = zip_of(&[("import.xml", &ok), (evil, &bad)]);
        upload_chunked(&raw, "v8_evil.zip", &archive).await;
        let answer = raw.get("catalog", "import&filename=import.xml").await;
        assert_failure(&answer);
        assert!(
            site.all_files().is_empty(),
            "{evil}: {:?}",
            site.all_files()
        );
        assert!(!site.dir.path().join("evil.xml").exists());
        assert!(!site.dir.path().parent().unwrap().join("evil.xml").exists());
    }
    assert_eq!(site.imported_count(), 0);
}

#[tokio::test]
async fn panics_and_unknown_requests_answer_failure() {
    let site = spawn_site(20 * 1024 * 1024).await;
    let raw = Raw::login(&site, "catalog").await;
    raw.get("catalog", "init").await;
    assert!(raw
        .post("catalog", "file&filename=panic.xml", b"<x/>".to_vec())
        .await
        .starts_with("success"));
    let mut answer = raw.get("catalog", "import&filename=panic.xml").await;
    while answer.starts_with("progress") {
        answer = raw.get("catalog", "import&filename=panic.xml").await;
    }
    assert_failure(&answer);
    assert_failure(&raw.get("catalog", "frobnicate").await);
    assert_failure(&raw.get("catalog", "query").await);
    assert_failure(&raw.get("nonsense", "init").await);
    assert_failure(&raw.get("catalog", "import").await);
    assert_failure(
        &raw.get("catalog", "import&filename=never-uploaded.xml")
            .await,
    );
    // mode=info answers Bitrix's directory: the site's statuses for 1C's matching table.
    let info = raw.get("sale", "info").await;
    assert!(info.contains("<Справочник>"), "{info}");
    assert!(
        info.contains("<Ид>completed</Ид><Название>Completed</Название>")
            || (info.contains("<Ид>completed</Ид>") && info.contains("Completed")),
        "{info}"
    );
    assert!(raw
        .get("catalog", "deactivate&timestamp=1")
        .await
        .starts_with("success"));
    assert!(raw.get("catalog", "complete").await.starts_with("success"));
    // init with version echoes sessid and version like Bitrix.
    let init = raw.get("catalog", "init&version=2.10").await;
    let lines: Vec<&str> = init.lines().collect();
    assert_eq!(lines[0], "zip=yes");
    assert!(
        lines[2].starts_with("sessid=") && lines[3] == "version=2.10",
        "{init}"
    );
}

#[tokio::test]
async fn cli_emulator_prints_the_transcript_and_fails_on_failure() {
    let site = spawn_site(50 * 1024 * 1024).await;
    let bin = env!("CARGO_BIN_EXE_dealbridge");
    let run = |password: &'static str| {
        let url = site.url.clone();
        let file = fixture("import.xml");
        tokio::process::Command::new(bin)
            .args([
                "emulate",
                "1c",
                "--url",
                &url,
                "--user",
                LOGIN,
                "--password",
                password,
                "--zip",
            ])
            .arg(file)
            .output()
    };
    let ok = run(PASSWORD).await.unwrap();
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.contains("mode=checkauth") && out.contains("mode=import&filename=import.xml"));
    assert!(!out.contains(PASSWORD));
    assert_eq!(site.imported_count(), 1);
    let bad = run("nope").await.unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("failure"));
    assert_eq!(site.imported_count(), 1);
}

#[test]
fn config_section_defaults_env_override_and_unknown_keys() {
    use dealbridge::config::{Config, NoEnv};
    use dealbridge::onec::config::{DEFAULT_FILE_LIMIT, EXCHANGE_1C_PASSWORD_VAR};
    use std::collections::BTreeMap;
    let path = Path::new("/srv/db/dealbridge.toml");
    let c = Config::from_str(
        "[exchange_1c]\nlogin = \"1c\"\npassword = \"p\"\n",
        path,
        &NoEnv,
    )
    .unwrap();
    let x = c.exchange_1c.unwrap();
    assert_eq!(x.path, "/1c/exchange");
    assert_eq!(x.dir, Path::new("/srv/db/exchange"));
    assert_eq!(x.file_limit, DEFAULT_FILE_LIMIT);
    assert!(x.zip);
    assert_eq!(x.password.expose(), "p");
    assert!(Config::from_str("", path, &NoEnv)
        .unwrap()
        .exchange_1c
        .is_none());

    let env: BTreeMap<String, String> =
        [(EXCHANGE_1C_PASSWORD_VAR.to_string(), "from-env".to_string())].into();
    let c = Config::from_str(
        "[exchange_1c]\nlogin = \"1c\"\nfile_limit = 204800\nzip = false\norder_encoding = \"windows-1251\"\n",
        path,
        &env,
    )
    .unwrap();
    let x = c.exchange_1c.unwrap();
    assert_eq!(x.password.expose(), "from-env");
    assert_eq!(x.file_limit, 204_800);
    assert!(!x.zip);
    assert_eq!(x.order_encoding, OrderEncoding::Windows1251);

    let err = Config::from_str(
        "[exchange_1c]\nlogin = \"1c\"\npassword = \"p\"\nfile_limt = 5\n",
        path,
        &NoEnv,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("did you mean `file_limit`"),
        "{err}"
    );
    let err = Config::from_str("[exchange_1c]\nlogin = \"1c\"\n", path, &NoEnv).unwrap_err();
    assert!(err.to_string().contains(EXCHANGE_1C_PASSWORD_VAR), "{err}");
}

#[tokio::test]
async fn query_in_windows_1251_when_configured() {
    let site = spawn_site_with(1024 * 1024, |s| {
        s.order_encoding = OrderEncoding::Windows1251;
    })
    .await;
    *site.importer.orders.lock().unwrap() = vec![order("77")];
    let raw = Raw::login(&site, "sale").await;
    raw.get("sale", "init").await;
    let resp = raw
        .http
        .get(format!("{}?type=sale&mode=query", site.url))
        .header("Cookie", raw.cookie.clone().unwrap())
        .send()
        .await
        .unwrap();
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(ct, "application/xml; charset=windows-1251");
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\""));
    // «Иван» in windows-1251.
    assert!(bytes.windows(4).any(|w| w == [0xC8, 0xE2, 0xE0, 0xED]));
    if let Some((ok, err)) = xmllint_2_10(&bytes) {
        assert!(ok, "{err}");
    }
    assert!(site.importer.exported.lock().unwrap().is_empty());
    assert!(raw.get("sale", "success").await.starts_with("success"));
    assert_eq!(
        *site.importer.exported.lock().unwrap(),
        vec!["77".to_string()]
    );
}

#[tokio::test]
async fn url_with_its_own_question_mark_still_works() {
    let site = spawn_site(1024 * 1024).await;
    let mut o = opts(&site);
    o.url = format!("{}?get_param", site.url);
    o.zip = false;
    let t = run_catalog_exchange(&o, &[fixture("offers.xml")])
        .await
        .unwrap();
    assert_status_words(&t);
    assert_eq!(site.imported_count(), 1);
    // What 1C itself sends for such a URL: `?get_param?type=…`.
    let raw = Raw::anonymous(&site);
    let text = raw
        .http
        .get(format!(
            "{}?get_param?type=catalog&mode=checkauth",
            site.url
        ))
        .basic_auth(LOGIN, Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.starts_with("success\n"), "{text}");
}

/// dealbridge restarts in the middle of an exchange (after the upload, during the import): 1C's
/// cookie still works against the new process, the uploaded file is still there, and the import
/// runs to success; a made-up cookie is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchange_survives_a_restart_of_dealbridge() {
    let site = spawn_site(10 * CHUNK).await;
    let raw = Raw::login(&site, "catalog").await;
    assert!(raw.get("catalog", "init").await.starts_with("zip="));
    let body = std::fs::read(fixture("import.xml")).unwrap_or_else(|_| b"<x/>".to_vec());
    assert!(raw
        .post("catalog", "file&filename=import.xml", body.clone())
        .await
        .starts_with("success"));

    // A new process on the same directory: same settings, fresh memory.
    let importer = Arc::new(RecordingImporter::default());
    let state = ExchangeState::new(settings(site.dir.path(), 10 * CHUNK), importer.clone());
    let app: axum::Router = onec::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let restarted = Raw {
        http: raw.http.clone(),
        url: format!("http://{addr}/1c/exchange"),
        cookie: raw.cookie.clone(),
    };
    let mut answer = restarted.get("catalog", "import&filename=import.xml").await;
    for _ in 0..100 {
        if !answer.starts_with("progress") {
            break;
        }
        answer = restarted.get("catalog", "import&filename=import.xml").await;
    }
    assert!(answer.starts_with("success"), "{answer}");
    let imported = importer.imported.lock().unwrap().clone();
    assert_eq!(imported.len(), 1);
    assert_eq!(
        imported[0].2, body,
        "the file uploaded before the restart was imported"
    );

    let forged = Raw {
        http: raw.http.clone(),
        url: format!("http://{addr}/1c/exchange"),
        cookie: Some(format!(
            "{}=0123456789abcdef0123456789abcdef",
            onec::COOKIE_NAME
        )),
    };
    assert_failure(&forged.get("catalog", "import&filename=import.xml").await);
}
