//! Hostile and broken input: each is a clear error, never a panic or a hang.

use dealbridge_commerceml::{inspect_reader, CmlError, CmlReader, ReaderOptions};
use std::io::Cursor;

fn read(xml: &[u8], options: ReaderOptions) -> Result<u64, CmlError> {
    let mut n = 0;
    for item in CmlReader::from_reader(Cursor::new(xml.to_vec()), options)? {
        item?;
        n += 1;
    }
    Ok(n)
}

#[test]
fn billion_laughs_is_refused_at_the_doctype() {
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<КоммерческаяИнформация ВерсияСхемы="2.05" ДатаФормирования="2020-01-01"><Каталог><Товары><Товар><Ид>&lol2;</Ид></Товар></Товары></Каталог></КоммерческаяИнформация>"#;
    let err = read(xml.as_bytes(), ReaderOptions::default()).unwrap_err();
    assert!(matches!(err, CmlError::DocType { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("DOCTYPE"));
}

#[test]
fn external_entity_is_refused() {
    let xml = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><КоммерческаяИнформация>&xxe;</КоммерческаяИнформация>"#;
    assert!(matches!(
        read(xml.as_bytes(), ReaderOptions::default()),
        Err(CmlError::DocType { .. })
    ));
}

#[test]
fn unknown_entity_without_doctype_is_an_error() {
    let xml = "<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2020\"><Каталог><Товары><Товар><Ид>1</Ид><Наименование>a &nbsp; b</Наименование></Товар></Товары></Каталог></КоммерческаяИнформация>";
    let err = read(xml.as_bytes(), ReaderOptions::default()).unwrap_err();
    match err {
        CmlError::UnknownEntity { name, line, .. } => {
            assert_eq!(name, "nbsp");
            assert_eq!(line, 1);
        }
        other => panic!("{other}"),
    }
    let in_attr = "<КоммерческаяИнформация ВерсияСхемы=\"&bad;\"></КоммерческаяИнформация>";
    assert!(matches!(
        read(in_attr.as_bytes(), ReaderOptions::default()),
        Err(CmlError::UnknownEntity { .. })
    ));
}

#[test]
fn size_bound_is_enforced() {
    let mut xml = String::from(
        "<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2020\"><Каталог><Товары>",
    );
    for i in 0..2000 {
        xml.push_str(&format!(
            "<Товар><Ид>{i}</Ид><Наименование>n</Наименование></Товар>"
        ));
    }
    xml.push_str("</Товары></Каталог></КоммерческаяИнформация>");
    let small = ReaderOptions {
        max_bytes: 10_000,
        ..ReaderOptions::default()
    };
    let err = inspect_reader(Cursor::new(xml.clone().into_bytes()), "big", small).unwrap_err();
    assert!(matches!(err, CmlError::TooLarge { limit: 10_000 }), "{err}");
    let ok = inspect_reader(
        Cursor::new(xml.into_bytes()),
        "big",
        ReaderOptions::default(),
    )
    .unwrap();
    assert_eq!(ok.products, 2000);
}

#[test]
fn truncated_and_malformed_files_report_line_and_column() {
    let truncated = "<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2020\">\n<Каталог>\n<Товары>\n<Товар><Ид>1</Ид>";
    let err = read(truncated.as_bytes(), ReaderOptions::default()).unwrap_err();
    assert!(matches!(err, CmlError::Malformed { .. }), "{err}");

    let mismatched = "<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2020\">\n<Каталог>\n  <Товары></Каталог>\n</КоммерческаяИнформация>";
    match read(mismatched.as_bytes(), ReaderOptions::default()).unwrap_err() {
        CmlError::Malformed {
            line,
            column,
            message,
        } => {
            assert_eq!(line, 3, "{message}");
            assert!(column > 0);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn not_commerceml_and_empty_files() {
    assert!(matches!(
        read(b"<html><body/></html>", ReaderOptions::default()),
        Err(CmlError::NotCommerceMl(_))
    ));
    assert!(read(b"", ReaderOptions::default()).is_err());
}

#[test]
fn oversized_item_is_refused() {
    let mut xml = String::from("<КоммерческаяИнформация ВерсияСхемы=\"2.05\" ДатаФормирования=\"2020\"><Каталог><Товары><Товар>");
    for _ in 0..100 {
        xml.push_str("<Штрихкод>1</Штрихкод>");
    }
    xml.push_str("</Товар></Товары></Каталог></КоммерческаяИнформация>");
    let opts = ReaderOptions {
        max_item_elements: 50,
        ..ReaderOptions::default()
    };
    assert!(matches!(
        read(xml.as_bytes(), opts),
        Err(CmlError::ItemTooLarge { .. })
    ));
}
