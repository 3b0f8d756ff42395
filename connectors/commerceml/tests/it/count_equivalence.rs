//! The counting `inspect` (items counted from XML events) and the full path (every item built,
//! then counted) give identical summaries — and identical errors — on every CommerceML fixture,
//! on randomly generated catalogs/offers/documents exercising every counting rule, in UTF-8 with
//! and without BOM and in windows-1251, and on truncated and hostile variants of them.

use dealbridge_commerceml::{inspect_reader, inspect_reader_full, FileSummary, ReaderOptions};
use std::io::Cursor;
use std::path::{Path, PathBuf};

fn both(
    bytes: &[u8],
    options: ReaderOptions,
) -> (Result<FileSummary, String>, Result<FileSummary, String>) {
    let counted = inspect_reader(Cursor::new(bytes.to_vec()), "x", options.clone())
        .map_err(|e| e.to_string());
    let built =
        inspect_reader_full(Cursor::new(bytes.to_vec()), "x", options).map_err(|e| e.to_string());
    (counted, built)
}

#[track_caller]
fn assert_same(bytes: &[u8], what: &str) -> Result<FileSummary, String> {
    let (counted, built) = both(bytes, ReaderOptions::default());
    assert_eq!(counted, built, "{what}: counting and full paths differ");
    counted
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            xml_files(&p, out);
        } else if p.extension().and_then(|x| x.to_str()) == Some("xml") {
            out.push(p);
        }
    }
}

#[test]
fn every_fixture_gives_the_same_summary_both_ways() {
    let mut files = Vec::new();
    // The shared fixture tree when present (the workspace), and the crate's byte-for-byte copy.
    xml_files(Path::new("/work/shared/fixtures"), &mut files);
    xml_files(Path::new("tests/fixtures"), &mut files);
    assert!(files.len() >= 13, "fixtures not found: {files:?}");
    let mut nonzero = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let s = assert_same(&bytes, &f.display().to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        nonzero += (s.products + s.offers + s.documents + s.groups > 0) as usize;
        // Every prefix of a small fixture: truncated uploads fail identically (same message,
        // same line and column), or succeed identically.
        if bytes.len() < 16_000 {
            for cut in (1..bytes.len()).step_by(97) {
                assert_same(&bytes[..cut], &format!("{} cut at {cut}", f.display())).ok();
            }
        }
    }
    assert_eq!(nonzero, files.len());
}

/// Small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len() as u64) as usize]
    }
}

/// Sometimes wraps an element text in CDATA, splits it with a comment, or writes a digit as a
/// character reference: all of these must reach the value the same way on both paths.
fn text(r: &mut Rng, value: &str) -> String {
    match r.below(10) {
        0 if !value.is_empty() => format!("<![CDATA[{value}]]>"),
        1 if value.len() > 1 => {
            let mid = value.char_indices().nth(1).map(|(i, _)| i).unwrap_or(0);
            format!("{}<!-- c -->{}", &value[..mid], &value[mid..])
        }
        2 if value.len() > 1 => {
            // An element inside the text: its text is not part of the parent's.
            let mid = value.char_indices().nth(1).map(|(i, _)| i).unwrap_or(0);
            format!(
                "{}<Вложенный>9#</Вложенный>{}",
                &value[..mid],
                &value[mid..]
            )
        }
        3 if value.starts_with(|c: char| c.is_ascii_digit()) => {
            let first = value.chars().next().unwrap();
            format!("&#{};{}", first as u32, &value[1..])
        }
        4 => format!(" \r\n {value}\t"),
        _ => value.replace('&', "&amp;"),
    }
}

fn el(r: &mut Rng, name: &str, value: &str) -> String {
    if value.is_empty() && r.chance(40) {
        return format!("<{name}/>");
    }
    format!("<{name}>{}</{name}>", text(r, value))
}

fn deleted_parts(r: &mut Rng) -> (String, String) {
    let attr = match r.below(6) {
        0 => " Статус=\"Удален\"".to_string(),
        1 => " Статус=\" Удален \"".to_string(),
        2 => " Статус=\"Новый\"".to_string(),
        3 => " a:Статус=\"Удален\"".to_string(),
        _ => String::new(),
    };
    let mut el_ = String::new();
    for _ in 0..r.below(3) {
        let v = r.pick(&["true", "false", "", "да", "Нет", "1", "x", " TRUE "]);
        el_.push_str(&el(r, "ПометкаУдаления", v));
    }
    (attr, el_)
}

fn unknowns(r: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..r.below(3) {
        s.push_str(r.pick(&[
            "<Неизвестный>x</Неизвестный>",
            "<Лишний/>",
            "<!-- комментарий -->",
            "<?pi data?>",
            "<Описание>о &amp; б</Описание>",
            "<НомерВерсии>AAAA</НомерВерсии>",
        ]));
    }
    s
}

fn group(r: &mut Rng, depth: u32, out: &mut String) {
    let (attr, del) = deleted_parts(r);
    out.push_str(&format!("<Группа{attr}>"));
    let id = format!("g{}", r.below(1000));
    out.push_str(&el(r, "Ид", &id));
    out.push_str(&unknowns(r));
    if depth < 3 && r.chance(50) {
        for _ in 0..r.below(3) {
            out.push_str("<Группы>");
            for _ in 0..r.below(3) {
                group(r, depth + 1, out);
            }
            out.push_str("</Группы>");
        }
    }
    out.push_str(&del);
    out.push_str(&el(r, "Наименование", "Группа"));
    out.push_str("</Группа>");
}

fn classifier(r: &mut Rng, out: &mut String) {
    out.push_str("<Классификатор><Ид>cls</Ид><Наименование>К</Наименование>");
    if r.chance(80) {
        out.push_str("<Группы>");
        for _ in 0..r.below(5) {
            group(r, 0, out);
        }
        out.push_str("</Группы>");
    }
    out.push_str("<Свойства>");
    for _ in 0..r.below(4) {
        let (attr, del) = deleted_parts(r);
        let name = r.pick(&["Свойство", "СвойствоНоменклатуры"]);
        out.push_str(&format!(
            "<{name}{attr}><Ид>p</Ид>{del}<Наименование>Цвет</Наименование><ВариантыЗначений><Справочник><ИдЗначения>v</ИдЗначения><Значение>red</Значение></Справочник></ВариантыЗначений></{name}>"
        ));
    }
    out.push_str("</Свойства>");
    if r.chance(50) {
        out.push_str("<ЕдиницыИзмерения><ЕдиницаИзмерения><Ид>796</Ид><НаименованиеКраткое>шт</НаименованиеКраткое></ЕдиницаИзмерения></ЕдиницыИзмерения>");
    }
    out.push_str(&unknowns(r));
    out.push_str("</Классификатор>");
}

fn product(r: &mut Rng, i: u64, out: &mut String) {
    let (attr, del) = deleted_parts(r);
    out.push_str(&format!("<Товар{attr}>"));
    out.push_str(&el(r, "Ид", &format!("prod-{i}")));
    out.push_str(&el(r, "Наименование", "Товар «x»"));
    out.push_str("<Группы><Ид>g1</Ид></Группы>");
    out.push_str(&unknowns(r));
    out.push_str(&del);
    out.push_str("<ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Полное наименование</Наименование><Значение>П</Значение></ЗначениеРеквизита></ЗначенияРеквизитов>");
    out.push_str(r.pick(&[
        "",
        "<Штрихкод>4600000000001</Штрихкод>",
        "<Картинка>a\\b.jpg</Картинка>",
        "<Бренд>X</Бренд>",
    ]));
    out.push_str("</Товар>");
}

fn catalog(r: &mut Rng, out: &mut String) {
    let only = r.pick(&[
        "",
        " СодержитТолькоИзменения=\"false\"",
        " СодержитТолькоИзменения=\"true\"",
    ]);
    out.push_str(&format!("<Каталог{only}><Ид>cat</Ид><ИдКлассификатора>cls</ИдКлассификатора><Наименование>К</Наименование>"));
    if r.chance(30) {
        let v = r.pick(&["true", "false", ""]);
        out.push_str(&el(r, "СодержитТолькоИзменения", v));
    }
    out.push_str("<Товары>");
    for i in 0..r.below(8) {
        product(r, i, out);
    }
    out.push_str("</Товары>");
    out.push_str(&unknowns(r));
    out.push_str("</Каталог>");
}

fn decimal(r: &mut Rng) -> &'static str {
    r.pick(&[
        "10",
        "1 719,50",
        "0.250",
        "",
        "abc",
        "-3",
        " 7 ",
        "1\u{a0}000.5",
    ])
}

fn offer(r: &mut Rng, i: u64, out: &mut String) {
    let (attr, del) = deleted_parts(r);
    out.push_str(&format!("<Предложение{attr}>"));
    for _ in 0..(1 + r.below(2)) {
        let id = match r.below(5) {
            0 => format!("p{i}#c{i}"),
            1 => format!(" p{i}# "),
            2 => String::new(),
            _ => format!("p{i}"),
        };
        out.push_str(&el(r, "Ид", &id));
    }
    if r.chance(30) {
        let v = r.pick(&["ch", "", "  ", "c#2"]);
        out.push_str(&el(r, "ИдХарактеристики", v));
    }
    out.push_str(&unknowns(r));
    for _ in 0..r.below(3) {
        out.push_str("<Цены>");
        for _ in 0..r.below(4) {
            out.push_str("<Цена><ИдТипаЦены>pt</ИдТипаЦены>");
            for _ in 0..r.below(3) {
                let d = decimal(r);
                out.push_str(&el(r, "ЦенаЗаЕдиницу", d));
            }
            out.push_str("<Валюта>RUB</Валюта></Цена>");
        }
        out.push_str(r.pick(&["", "<НеЦена/>"]));
        out.push_str("</Цены>");
    }
    for _ in 0..r.below(3) {
        let d = decimal(r);
        out.push_str(&el(r, "Количество", d));
    }
    for _ in 0..r.below(4) {
        let w = r.pick(&[" ИдСклада=\"w1\"", " ИдСклада=\"\"", ""]);
        let q = match r.below(5) {
            0 => String::new(),
            1 => " КоличествоНаСкладе=\"&#49;0\"".to_string(),
            _ => format!(" КоличествоНаСкладе=\"{}\"", decimal(r)),
        };
        if r.chance(80) {
            out.push_str(&format!("<Склад{w}{q}/>"));
        } else {
            out.push_str(&format!(
                "<Склад{w}{q}><Ид>w</Ид><Количество>1</Количество></Склад>"
            ));
        }
    }
    let store = |r: &mut Rng| {
        let mut s = String::from("<Склад>");
        for _ in 0..r.below(3) {
            let v = r.pick(&["w1", "", " "]);
            s.push_str(&el(r, "Ид", v));
        }
        for _ in 0..r.below(3) {
            let d = decimal(r);
            s.push_str(&el(r, "Количество", d));
        }
        s.push_str("</Склад>");
        s
    };
    for _ in 0..r.below(3) {
        out.push_str("<Остатки>");
        for _ in 0..r.below(3) {
            out.push_str("<Остаток>");
            for _ in 0..r.below(3) {
                if r.chance(50) {
                    let s = store(r);
                    out.push_str(&s);
                } else {
                    let d = decimal(r);
                    out.push_str(&el(r, "Количество", d));
                }
            }
            out.push_str("</Остаток>");
        }
        out.push_str("</Остатки>");
    }
    if r.chance(30) {
        out.push_str("<Склады>");
        for _ in 0..r.below(3) {
            let s = store(r);
            out.push_str(&s);
        }
        out.push_str("</Склады>");
    }
    out.push_str(&del);
    out.push_str("</Предложение>");
}

fn offers(r: &mut Rng, out: &mut String) {
    let root = r.pick(&["ПакетПредложений", "ИзмененияПакетаПредложений"]);
    out.push_str(&format!(
        "<{root} СодержитТолькоИзменения=\"false\"><Ид>o</Ид><Наименование>П</Наименование>"
    ));
    if r.chance(30) {
        out.push_str(
            "<Классификатор><Свойства><Свойство><Ид>p</Ид></Свойство></Свойства></Классификатор>",
        );
    }
    out.push_str("<ТипыЦен>");
    for _ in 0..r.below(3) {
        out.push_str("<ТипЦены><Ид>pt</Ид><Наименование>Розничная</Наименование><Валюта>RUB</Валюта></ТипЦены>");
    }
    out.push_str("</ТипыЦен><Склады>");
    for _ in 0..r.below(3) {
        out.push_str("<Склад><Ид>w1</Ид><Наименование>С</Наименование></Склад>");
    }
    out.push_str("</Склады><Предложения>");
    for i in 0..r.below(8) {
        offer(r, i, out);
    }
    out.push_str(&format!("</Предложения></{root}>"));
}

fn document(r: &mut Rng, out: &mut String) {
    let (attr, del) = deleted_parts(r);
    out.push_str(&format!("<Документ{attr}>"));
    out.push_str(&el(r, "Ид", "d1"));
    out.push_str("<Номер>1</Номер><Дата>2024-01-02</Дата><Время>10:00:00</Время>");
    for _ in 0..r.below(2) {
        let op = r.pick(&[
            "Заказ товара",
            "Выплата безналичных денег",
            " Эквайринговая операция ",
            "",
            "Отпуск товара",
        ]);
        out.push_str(&el(r, "ХозОперация", op));
    }
    out.push_str("<Сумма>100</Сумма><Контрагенты><Контрагент><Ид>c</Ид><Наименование>И</Наименование><Роль>Покупатель</Роль></Контрагент></Контрагенты>");
    out.push_str("<Товары><Товар><Ид>ORDER_DELIVERY</Ид><Наименование>Д</Наименование><Количество>1</Количество><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>Оплачен</Наименование><Значение>true</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Товар></Товары>");
    out.push_str(&unknowns(r));
    for _ in 0..r.below(3) {
        out.push_str("<ЗначенияРеквизитов>");
        for _ in 0..r.below(5) {
            out.push_str("<ЗначениеРеквизита>");
            let name = r.pick(&[
                "Дата оплаты по 1С",
                " Оплачен ",
                "Оплачен",
                "Заказ оплачен",
                "ПометкаУдаления",
                "Статус заказа",
                "",
            ]);
            let name_first = r.chance(70);
            let mut values = String::new();
            for _ in 0..r.below(3) {
                let v = r.pick(&["true", "false", "", "2021-02-18T9:49:02", "T", "да", " 1 "]);
                values.push_str(&el(r, "Значение", v));
            }
            let n = el(r, "Наименование", name);
            if name_first {
                out.push_str(&n);
                out.push_str(&values);
            } else {
                out.push_str(&values);
                out.push_str(&n);
            }
            if r.chance(20) {
                out.push_str("<Наименование>Оплачен</Наименование>");
            }
            out.push_str("</ЗначениеРеквизита>");
        }
        out.push_str("</ЗначенияРеквизитов>");
    }
    for _ in 0..r.below(2) {
        out.push_str("<Оплаты>");
        for _ in 0..r.below(3) {
            out.push_str(
                "<Оплата><НомерДокумента>5</НомерДокумента><СуммаОплаты>10</СуммаОплаты></Оплата>",
            );
        }
        out.push_str("</Оплаты>");
    }
    for _ in 0..r.below(2) {
        out.push_str("<ПодчиненныеДокументы>");
        for _ in 0..r.below(3) {
            out.push_str("<ПодчиненныйДокумент><Ид>s</Ид>");
            for _ in 0..r.below(3) {
                let op = r.pick(&[
                    "Выплата наличных денег",
                    "Отпуск товара",
                    "",
                    "Возврат безналичных денег",
                ]);
                out.push_str(&el(r, "ХозОперация", op));
            }
            out.push_str("<Сумма>5</Сумма></ПодчиненныйДокумент>");
        }
        out.push_str("</ПодчиненныеДокументы>");
    }
    out.push_str(&del);
    out.push_str("</Документ>");
}

/// One random CommerceML file (as UTF-8 text, before encoding).
fn random_file(r: &mut Rng) -> String {
    let ns = r.pick(&[
        "",
        " xmlns=\"urn:1C.ru:commerceml_2\"",
        " xmlns=\"urn:1C.ru:commerceml_210\"",
    ]);
    let mut out = format!(
        "<КоммерческаяИнформация{ns} ВерсияСхемы=\"2.08\" ДатаФормирования=\"2024-01-01T00:00:00\">\n"
    );
    match r.below(5) {
        0 => {
            classifier(r, &mut out);
            catalog(r, &mut out);
        }
        1 => offers(r, &mut out),
        2 => {
            for _ in 0..r.below(3) {
                document(r, &mut out);
            }
        }
        3 => {
            out.push_str("<Контейнер>");
            for _ in 0..(1 + r.below(3)) {
                document(r, &mut out);
            }
            out.push_str("</Контейнер>");
        }
        _ => {
            out.push_str("<Контрагенты СодержитТолькоИзменения=\"true\"><Контрагент><Ид>c</Ид></Контрагент><Контрагент/></Контрагенты>");
            classifier(r, &mut out);
        }
    }
    out.push_str(&unknowns(r));
    out.push_str("\n</КоммерческаяИнформация>\n");
    out
}

fn encode(r: &mut Rng, text: &str) -> Vec<u8> {
    match r.below(3) {
        0 => {
            let mut b = b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".to_vec();
            b.extend_from_slice(text.as_bytes());
            b
        }
        1 => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1251.encode(text);
            assert!(!unmappable);
            let mut b = b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n".to_vec();
            b.extend_from_slice(&bytes);
            b
        }
        _ => text.as_bytes().to_vec(),
    }
}

#[test]
fn random_files_give_the_same_summary_both_ways() {
    let mut r = Rng(0x5eed_1c0d_e0f1_1e5a);
    let mut checked = FileSummary::default();
    for n in 0..400 {
        let text = random_file(&mut r);
        let bytes = encode(&mut r, &text);
        let s = assert_same(&bytes, &format!("random file {n}:\n{text}"))
            .unwrap_or_else(|e| panic!("random file {n} failed: {e}\n{text}"));
        checked.groups += s.groups;
        checked.products += s.products;
        checked.offers += s.offers;
        checked.prices += s.prices;
        checked.stock_entries += s.stock_entries;
        checked.variant_offers += s.variant_offers;
        checked.deleted += s.deleted;
        checked.documents += s.documents;
        checked.payments += s.payments;
        checked.unknown_elements += s.unknown_elements;
        checked.properties += s.properties;
        checked.counterparties += s.counterparties;
        // A few truncations and a one-byte corruption of each: same error both ways.
        for _ in 0..3 {
            let cut = r.below(bytes.len() as u64) as usize;
            assert_same(&bytes[..cut], &format!("random file {n} cut at {cut}")).ok();
        }
        let mut broken = bytes.clone();
        let at = r.below(broken.len() as u64) as usize;
        broken[at] = *[b'<', b'>', b'&', b'"', b'/']
            .get(r.below(5) as usize)
            .unwrap();
        assert_same(&broken, &format!("random file {n} with byte {at} replaced")).ok();
    }
    // The generator really exercised every counter (otherwise the test proves little).
    for (name, v) in [
        ("groups", checked.groups),
        ("products", checked.products),
        ("offers", checked.offers),
        ("prices", checked.prices),
        ("stock_entries", checked.stock_entries),
        ("variant_offers", checked.variant_offers),
        ("deleted", checked.deleted),
        ("documents", checked.documents),
        ("payments", checked.payments),
        ("unknown_elements", checked.unknown_elements),
        ("properties", checked.properties),
        ("counterparties", checked.counterparties),
    ] {
        assert!(v > 20, "{name} only {v}");
    }
}

/// The root bench's catalog shape, small: products with requisites and taxes, offers with two
/// prices, three attribute-style stocks and a total, every 5th a variant.
#[test]
fn generated_bench_catalog_gives_the_same_summary_both_ways() {
    let mut import = String::from("\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"2.07\" ДатаФормирования=\"2026-03-01T10:00:00\">\n<Классификатор><Ид>cls</Ид><Группы>");
    for g in 0..50 {
        import.push_str(&format!(
            "<Группа><Ид>g{g}</Ид><Наименование>Группа {g}</Наименование></Группа>\n"
        ));
    }
    import.push_str("</Группы></Классификатор><Каталог СодержитТолькоИзменения=\"false\"><Ид>cat</Ид><Товары>\n");
    let mut offers = String::from("\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"2.07\" ДатаФормирования=\"2026-03-01T10:00:00\">\n<ПакетПредложений СодержитТолькоИзменения=\"false\"><ТипыЦен><ТипЦены><Ид>p0</Ид></ТипЦены><ТипЦены><Ид>p1</Ид></ТипЦены></ТипыЦен><Склады><Склад><Ид>w0</Ид></Склад></Склады><Предложения>\n");
    let n = 3000;
    for i in 0..n {
        import.push_str(&format!("<Товар><Ид>id{i}</Ид><Штрихкод>46{i:011}</Штрихкод><Артикул>ART-{i:06}</Артикул><Наименование>Товар {i}</Наименование><БазоваяЕдиница Код=\"796\">шт</БазоваяЕдиница><Группы><Ид>g{}</Ид></Группы><Описание>О {i} &amp; п.</Описание><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита></ЗначенияРеквизитов><СтавкиНалогов><СтавкаНалога><Наименование>НДС</Наименование><Ставка>20</Ставка></СтавкаНалога></СтавкиНалогов></Товар>\n", i % 50));
        let id = if i % 5 == 4 {
            format!("id{}#v{i}", i - 1)
        } else {
            format!("id{i}")
        };
        offers.push_str(&format!("<Предложение><Ид>{id}</Ид><Цены><Цена><ИдТипаЦены>p0</ИдТипаЦены><ЦенаЗаЕдиницу>{i}.50</ЦенаЗаЕдиницу></Цена><Цена><ИдТипаЦены>p1</ИдТипаЦены><ЦенаЗаЕдиницу>{i}</ЦенаЗаЕдиницу></Цена></Цены><Количество>{}</Количество><Склад ИдСклада=\"w0\" КоличествоНаСкладе=\"{}\"/><Склад ИдСклада=\"w1\" КоличествоНаСкладе=\"1\"/><Склад ИдСклада=\"w2\" КоличествоНаСкладе=\"2\"/></Предложение>\n", i % 30, i % 10));
    }
    import.push_str("</Товары></Каталог></КоммерческаяИнформация>\n");
    offers.push_str("</Предложения></ПакетПредложений></КоммерческаяИнформация>\n");
    let i = assert_same(import.as_bytes(), "import").unwrap();
    assert_eq!((i.groups, i.products), (50, n));
    let o = assert_same(offers.as_bytes(), "offers").unwrap();
    assert_eq!(
        (o.offers, o.prices, o.stock_entries, o.variant_offers),
        (n, 2 * n, 3 * n, n / 5)
    );
}

#[test]
fn hostile_inputs_fail_identically_both_ways() {
    let head = "<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2020\"><ПакетПредложений><Предложения>";
    let cases: Vec<String> = vec![
        // DOCTYPE before the root, and inside an item.
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><КоммерческаяИнформация/>".into(),
        format!("{head}<Предложение><!DOCTYPE x><Ид>1</Ид></Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>"),
        // Unknown entity in a counted text, in an ignored text, in an attribute of a child.
        format!("{head}<Предложение><Количество>&nbsp;1</Количество></Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>"),
        format!("{head}<Предложение><Наименование>&bad;</Наименование></Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>"),
        format!("{head}<Предложение><Склад ИдСклада=\"&x;\" КоличествоНаСкладе=\"1\"/></Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>"),
        // Bad character reference, duplicate attribute, unquoted attribute.
        format!("{head}<Предложение><Ид>&#xZZ;</Ид></Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>"),
        format!("{head}<Предложение Статус=\"a\" Статус=\"b\"></Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>"),
        format!("{head}<Предложение><Склад ИдСклада=w/></Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>"),
        // Mismatched end tag inside an item, end of file inside an item, in an unknown element.
        format!("{head}<Предложение>\n<Цены>\n<Цена></Цены></Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>"),
        format!("{head}<Предложение><Цены><Цена><ЦенаЗаЕдиницу>1"),
        format!("{head}<Неизвестный><a><b>"),
        // Not CommerceML, empty.
        "<html/>".into(),
        String::new(),
    ];
    for (k, c) in cases.iter().enumerate() {
        let (counted, built) = both(c.as_bytes(), ReaderOptions::default());
        assert!(built.is_err(), "case {k} should fail: {c}");
        assert_eq!(counted, built, "case {k}: {c}");
    }
    // Element bound per item and byte bound.
    let mut big = String::from(head);
    big.push_str("<Предложение>");
    for _ in 0..100 {
        big.push_str("<Штрихкод>1</Штрихкод>");
    }
    big.push_str("</Предложение></Предложения></ПакетПредложений></КоммерческаяИнформация>");
    for options in [
        ReaderOptions {
            max_item_elements: 50,
            ..ReaderOptions::default()
        },
        ReaderOptions {
            max_bytes: 500,
            ..ReaderOptions::default()
        },
    ] {
        let (counted, built) = both(big.as_bytes(), options);
        assert!(built.is_err());
        assert_eq!(counted, built);
    }
}
