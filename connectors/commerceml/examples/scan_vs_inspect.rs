//! Raw quick-xml scan vs `inspect` on a generated catalog (not a test: a measurement).
//!
//! Generates the same catalog as the root bench `benches/onec_import.rs` (`import.xml` with N
//! products, `offers.xml` with N offers: 2 prices, 3 `<Склад ИдСклада КоличествоНаСкладе/>` and a
//! total `<Количество>` each, every 5th offer a `GUID#GUID` variant; UTF-8 with BOM, namespace
//! `urn:1C.ru:commerceml_2`), then times, over both files, page cache warm:
//!
//! - `scan`: raw `quick_xml::Reader::read_event_into` over a 64 KiB `BufReader<File>` (no decoding),
//!   exactly as the root bench's scan phase;
//! - `inspect`: [`dealbridge_commerceml::inspect`] (the counting path);
//! - `full`: [`dealbridge_commerceml::inspect_full`] (every item built, the previous `inspect`).
//!
//! Phases are interleaved over `--runs` rounds and the best time of each is kept (the machine is
//! shared; the best run is the least disturbed one). Prints MB/s and the ratio to the scan.
//!
//! ```text
//! cargo run --release -p dealbridge-commerceml --example scan_vs_inspect -- --products 100000 --runs 5
//! ```

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

const PRICE_TYPES: [(&str, &str); 2] = [
    ("a1b2c3d4-0000-4000-8000-000000000001", "Розничная"),
    ("a1b2c3d4-0000-4000-8000-000000000002", "Оптовая"),
];
const WAREHOUSES: [(&str, &str); 3] = [
    ("b1b2c3d4-0000-4000-8000-000000000001", "Основной склад"),
    ("b1b2c3d4-0000-4000-8000-000000000002", "Склад Москва"),
    ("b1b2c3d4-0000-4000-8000-000000000003", "Склад Казань"),
];
const GROUPS: usize = 50;

fn guid(kind: u32, i: usize) -> String {
    format!("{kind:08x}-{:04x}-4000-8000-{:012x}", i % 0xffff, i)
}

/// Writes `import.xml` and `offers.xml`, byte-for-byte the root bench's generator.
fn generate(dir: &Path, n: usize) -> std::io::Result<[PathBuf; 2]> {
    let import = dir.join("import.xml");
    let offers = dir.join("offers.xml");
    let head = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ВерсияСхемы=\"2.07\" ДатаФормирования=\"2026-03-01T10:00:00\">\n";
    let mut w = BufWriter::new(std::fs::File::create(&import)?);
    w.write_all(head.as_bytes())?;
    writeln!(w, "<Классификатор><Ид>cls</Ид><Наименование>Классификатор (Основной каталог товаров)</Наименование><Группы>")?;
    for g in 0..GROUPS {
        writeln!(
            w,
            "<Группа><Ид>{}</Ид><Наименование>Группа {g}</Наименование></Группа>",
            guid(0x9, g)
        )?;
    }
    writeln!(w, "</Группы></Классификатор>")?;
    writeln!(w, "<Каталог СодержитТолькоИзменения=\"false\"><Ид>cat</Ид><ИдКлассификатора>cls</ИдКлассификатора><Наименование>Основной каталог товаров</Наименование><Товары>")?;
    for i in 0..n {
        writeln!(
            w,
            "<Товар><Ид>{id}</Ид><Штрихкод>46{i:011}</Штрихкод><Артикул>ART-{i:06}</Артикул><Наименование>Товар номер {i} «тестовый»</Наименование>\
<БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\" МеждународноеСокращение=\"PCE\">шт</БазоваяЕдиница><Группы><Ид>{g}</Ид></Группы>\
<Описание>Описание товара {i}: характеристики &amp; применение.</Описание>\
<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита>\
<ЗначениеРеквизита><Наименование>Полное наименование</Наименование><Значение>Товар номер {i} полное</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>\
<СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога></СтавкиНалогов></Товар>",
            id = guid(0x1, i),
            g = guid(0x9, i % GROUPS)
        )?;
    }
    writeln!(w, "</Товары></Каталог></КоммерческаяИнформация>")?;
    w.flush()?;

    let mut w = BufWriter::new(std::fs::File::create(&offers)?);
    w.write_all(head.as_bytes())?;
    writeln!(w, "<ПакетПредложений СодержитТолькоИзменения=\"false\"><Ид>cat#</Ид><Наименование>Пакет предложений</Наименование><ИдКаталога>cat</ИдКаталога><ИдКлассификатора>cls</ИдКлассификатора><ТипыЦен>")?;
    for (id, name) in PRICE_TYPES {
        writeln!(w, "<ТипЦены><Ид>{id}</Ид><Наименование>{name}</Наименование><Валюта>RUB</Валюта><Налог><Наименование>НДС</Наименование><УчтеноВСумме>true</УчтеноВСумме></Налог></ТипЦены>")?;
    }
    writeln!(w, "</ТипыЦен><Склады>")?;
    for (id, name) in WAREHOUSES {
        writeln!(
            w,
            "<Склад><Ид>{id}</Ид><Наименование>{name}</Наименование></Склад>"
        )?;
    }
    writeln!(w, "</Склады><Предложения>")?;
    for i in 0..n {
        let id = if i % 5 == 4 {
            format!("{}#{}", guid(0x1, i - 1), guid(0x2, i))
        } else {
            guid(0x1, i)
        };
        let price = 100 + (i % 997);
        write!(
            w,
            "<Предложение><Ид>{id}</Ид><Артикул>ART-{i:06}</Артикул><Наименование>Товар номер {i}</Наименование>\
<БазоваяЕдиница Код=\"796\">шт</БазоваяЕдиница><Цены>\
<Цена><Представление>{price} RUB за шт</Представление><ИдТипаЦены>{p0}</ИдТипаЦены><ЦенаЗаЕдиницу>{price}.50</ЦенаЗаЕдиницу><Валюта>RUB</Валюта><Единица>шт</Единица><Коэффициент>1</Коэффициент></Цена>\
<Цена><Представление>{wp} RUB за шт</Представление><ИдТипаЦены>{p1}</ИдТипаЦены><ЦенаЗаЕдиницу>{wp}.00</ЦенаЗаЕдиницу><Валюта>RUB</Валюта><Единица>шт</Единица><Коэффициент>1</Коэффициент></Цена>\
</Цены><Количество>{q}</Количество>",
            p0 = PRICE_TYPES[0].0,
            p1 = PRICE_TYPES[1].0,
            wp = price * 9 / 10,
            q = i % 30
        )?;
        for (k, (wid, _)) in WAREHOUSES.iter().enumerate() {
            write!(
                w,
                "<Склад ИдСклада=\"{wid}\" КоличествоНаСкладе=\"{}\"/>",
                (i + k) % 10
            )?;
        }
        writeln!(w, "</Предложение>")?;
    }
    writeln!(
        w,
        "</Предложения></ПакетПредложений></КоммерческаяИнформация>"
    )?;
    w.flush()?;
    Ok([import, offers])
}

/// The root bench's scan phase: raw events, nothing decoded or checked beyond quick-xml's own.
fn scan(files: &[PathBuf]) -> u64 {
    let mut events = 0u64;
    for f in files {
        let mut r = quick_xml::Reader::from_reader(BufReader::with_capacity(
            64 * 1024,
            std::fs::File::open(f).expect("open"),
        ));
        let mut buf = Vec::with_capacity(8 * 1024);
        loop {
            match r.read_event_into(&mut buf).expect("well-formed") {
                quick_xml::events::Event::Eof => break,
                _ => events += 1,
            }
            buf.clear();
        }
    }
    events
}

fn inspect(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| {
            let s = dealbridge_commerceml::inspect(f).expect("inspect");
            s.products + s.offers
        })
        .sum()
}

fn full(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| {
            let s = dealbridge_commerceml::inspect_full(f).expect("inspect_full");
            s.products + s.offers
        })
        .sum()
}

/// A measured pass over the files, returning how many items (or events) it saw.
type Phase = fn(&[PathBuf]) -> u64;

fn main() {
    let mut products = 100_000usize;
    let mut runs = 5usize;
    let mut with_full = true;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--products" => products = args.next().and_then(|v| v.parse().ok()).expect("N"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("N"),
            "--no-full" => with_full = false,
            "--only" => only = args.next(),
            other => panic!(
                "unknown argument {other}; use --products N --runs N [--no-full] [--only PHASE]"
            ),
        }
    }
    let dir = std::env::temp_dir().join(format!("cml-scan-vs-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let files = generate(&dir, products).expect("generate");
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).expect("size").len())
        .sum();
    let mb = bytes as f64 / 1_000_000.0;
    // Same counts from both paths, or the comparison is meaningless.
    let counted = dealbridge_commerceml::inspect(&files[1]).expect("inspect");
    let built = dealbridge_commerceml::inspect_full(&files[1]).expect("inspect_full");
    assert_eq!(counted, built, "counting and full paths disagree");

    let mut phases: Vec<(&str, Phase)> = vec![("scan", scan), ("inspect", inspect)];
    if with_full {
        phases.push(("full", full));
    }
    // `--only inspect` (for a profiler): that phase alone, the scan kept first as the reference.
    if let Some(o) = &only {
        phases.retain(|(name, _)| name == o);
        assert!(!phases.is_empty(), "--only scan|inspect|full");
    }
    let mut best = vec![f64::INFINITY; phases.len()];
    let mut items = vec![0u64; phases.len()];
    for run in 0..runs {
        for (k, (name, f)) in phases.iter().enumerate() {
            let t = Instant::now();
            items[k] = f(&files);
            let secs = t.elapsed().as_secs_f64();
            eprintln!("run {run} {name}: {secs:.3} s ({:.1} MB/s)", mb / secs);
            best[k] = best[k].min(secs);
        }
    }
    std::fs::remove_dir_all(&dir).ok();

    println!("products + offers: {products} + {products}, files {mb:.1} MB, best of {runs} runs");
    println!("| phase | best s | MB/s | items | % of scan |");
    println!("|---|---|---|---|---|");
    let scan_best = phases
        .iter()
        .position(|(name, _)| *name == "scan")
        .map(|k| best[k]);
    for (k, (name, _)) in phases.iter().enumerate() {
        let ratio = scan_best
            .map(|s| format!("{:.1} %", 100.0 * s / best[k]))
            .unwrap_or_else(|| "-".into());
        println!(
            "| {name} | {:.3} | {:.1} | {} | {ratio} |",
            best[k],
            mb / best[k],
            items[k]
        );
    }
}
