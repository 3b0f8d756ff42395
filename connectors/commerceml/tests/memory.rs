//! A ~20 MB catalog generated in code streams through the reader with flat memory.
//! (Own test binary so no other test's allocations disturb the RSS reading.)

use dealbridge_commerceml::{CmlReader, Item, ReaderOptions};
use std::io::Read;

/// Produces a catalog of `n` products on the fly: the file never exists in memory either.
struct Catalog {
    n: usize,
    next: usize,
    buf: Vec<u8>,
    pos: usize,
    finished: bool,
}

impl Catalog {
    fn new(n: usize) -> Self {
        let head = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_210\" ВерсияСхемы=\"2.08\" ДатаФормирования=\"2024-01-01T00:00:00\">\n<Каталог СодержитТолькоИзменения=\"false\"><Ид>c</Ид><Наименование>Каталог</Наименование><Товары>\n";
        Self {
            n,
            next: 0,
            buf: head.as_bytes().to_vec(),
            pos: 0,
            finished: false,
        }
    }

    fn refill(&mut self) {
        self.buf.clear();
        self.pos = 0;
        if self.next < self.n {
            let i = self.next;
            self.next += 1;
            self.buf.extend_from_slice(format!(
                "<Товар><Ид>0000{i:08}-aaaa-bbbb-cccc-dddddddddddd</Ид><Артикул>ART-{i}</Артикул><Наименование>Товар номер {i} с длинным названием</Наименование><БазоваяЕдиница Код=\"796\">шт</БазоваяЕдиница><Группы><Ид>g{}</Ид></Группы><Описание>Описание товара {i}: подробный текст для объёма.</Описание><ЗначенияРеквизитов><ЗначениеРеквизита><Наименование>ВидНоменклатуры</Наименование><Значение>Товар</Значение></ЗначениеРеквизита></ЗначенияРеквизитов></Товар>\n",
                i % 50
            ).as_bytes());
        } else if !self.finished {
            self.finished = true;
            self.buf
                .extend_from_slice("</Товары></Каталог></КоммерческаяИнформация>\n".as_bytes());
        }
    }
}

impl Read for Catalog {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.refill();
        }
        let n = (self.buf.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn twenty_megabyte_catalog_streams_with_flat_memory() {
    let n = 40_000; // ≈ 20 MB of XML
    let mut reader = CmlReader::from_reader(Catalog::new(n), ReaderOptions::default()).unwrap();
    let mut count = 0usize;
    let mut rss_at_start = None;
    let mut rss_max = 0;
    for item in reader.by_ref() {
        let Item::Product(p) = item.unwrap() else {
            panic!("only products expected")
        };
        assert!(!p.name.is_empty());
        count += 1;
        if count == 1000 {
            rss_at_start = rss_kb();
        }
        if count.is_multiple_of(1000) {
            rss_max = rss_max.max(rss_kb().unwrap_or(0));
        }
    }
    assert_eq!(count, n);
    assert_eq!(reader.header().only_changes, Some(false));
    match rss_at_start {
        Some(start) => {
            let growth = rss_max.saturating_sub(start);
            eprintln!("RSS after 1000 items: {start} kB, max: {rss_max} kB, growth {growth} kB");
            // A DOM of 20 MB of Cyrillic XML would need well over 100 MB; streaming stays flat.
            assert!(
                growth < 8 * 1024,
                "memory grew by {growth} kB while streaming"
            );
        }
        None => eprintln!("SKIPPED: /proc/self/status not readable, memory not measured"),
    }
}
