//! Benchmark (not a test): a CommerceML catalog generated in code, measured in one run through
//! the raw quick-xml event scan, `inspect`, the full `import-1c` into a fresh SQLite file, and a
//! re-import of the same files (everything unchanged).
//!
//! `cargo bench --bench onec_import -- [--products N]...` (default 100000; several `--products`
//! run several sizes). Each phase runs in a child process of this binary so its peak RSS
//! (`VmHWM`) is its own. Output: a Markdown table for `BENCHMARKS.md`.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
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

/// Writes `import.xml` (N products) and `offers.xml` (N offers, every 5th a `product#variant`).
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
        // Every 5th offer is a characteristic of the previous product: `Ид#Ид` (20 %).
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

/// Peak resident set size of this process, kB.
fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

/// Runs one phase in this process and prints `phase secs items vmhwm_kb` on stdout.
fn child(phase: &str, dir: &Path) {
    let files = [dir.join("import.xml"), dir.join("offers.xml")];
    let start = Instant::now();
    let items: u64 = match phase {
        "scan" => {
            let mut events = 0u64;
            for f in &files {
                let mut r = quick_xml::Reader::from_reader(BufReader::with_capacity(
                    64 * 1024,
                    std::fs::File::open(f).unwrap(),
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
        "inspect" => files
            .iter()
            .map(|f| {
                let s = dealbridge_commerceml::inspect(f).expect("inspect");
                s.products + s.offers
            })
            .sum(),
        "import" | "reimport" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let url = format!("sqlite://{}", dir.join("bench.sqlite").display());
                let store = dealbridge_store::Store::connect(&url).await.unwrap();
                let t = Instant::now();
                let r = dealbridge::onec::import_files(&store, "1c", &files, &|_| {})
                    .await
                    .expect("import");
                let c = &r.catalog;
                eprintln!(
                    "{phase}: products {:?} offers {:?} prices {:?} stock {:?} in {:.2}s",
                    c.products,
                    c.offers,
                    c.prices,
                    c.stock,
                    t.elapsed().as_secs_f64()
                );
                store.close().await;
                c.products.inserted
                    + c.products.updated
                    + c.products.unchanged
                    + c.offers.inserted
                    + c.offers.updated
                    + c.offers.unchanged
            })
        }
        other => panic!("unknown phase {other}"),
    };
    let secs = start.elapsed().as_secs_f64();
    println!("{phase} {secs} {items} {}", vm_hwm_kb());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--phase") {
        child(&args[i + 1], Path::new(&args[i + 3]));
        return;
    }
    let mut sizes: Vec<usize> = args
        .windows(2)
        .filter(|w| w[0] == "--products")
        .map(|w| w[1].parse().expect("--products N"))
        .collect();
    if sizes.is_empty() {
        sizes.push(100_000);
    }
    let exe = std::env::current_exe().unwrap();
    println!("| products + offers | files MB | phase | time s | MB/s | items/s | peak RSS MB |");
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        let t = Instant::now();
        let files = generate(dir.path(), n).expect("generate");
        let bytes: u64 = files
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().len())
            .sum();
        eprintln!(
            "generated {n} products + {n} offers, {:.1} MB in {:.1}s",
            bytes as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        for phase in ["scan", "inspect", "import", "reimport"] {
            // Warm the page cache once so every phase reads from memory alike.
            if phase == "scan" {
                for f in &files {
                    let mut r = BufReader::new(std::fs::File::open(f).unwrap());
                    while !r.fill_buf().unwrap().is_empty() {
                        let l = r.buffer().len();
                        r.consume(l);
                    }
                }
            }
            let out = Command::new(&exe)
                .args(["--phase", phase, "--dir"])
                .arg(dir.path())
                .output()
                .expect("run phase");
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "phase {phase} failed");
            let line = String::from_utf8(out.stdout).unwrap();
            let f: Vec<&str> = line.split_whitespace().collect();
            let secs: f64 = f[1].parse().unwrap();
            let items: f64 = f[2].parse().unwrap();
            let rss_kb: f64 = f[3].parse().unwrap();
            println!(
                "| {n} + {n} | {:.1} | {phase} | {secs:.2} | {:.1} | {:.0} | {:.1} |",
                bytes as f64 / 1e6,
                bytes as f64 / 1e6 / secs,
                items / secs,
                rss_kb / 1024.0
            );
        }
    }
}
