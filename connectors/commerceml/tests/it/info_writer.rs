//! The `mode=info` answer (Bitrix's `Справочник`) parses back to what was given, in UTF-8 and
//! windows-1251, with Bitrix's tag names (the statuses element with a LATIN `C`).

use dealbridge_commerceml::writer::{
    write_info, write_info_directory, InfoDirectory, InfoEntry, InfoPaymentSystem, OutputEncoding,
    INFO_STATUSES_ELEMENT,
};
use quick_xml::events::Event;

/// `(path of element names, text)` for every element with text or no children, in order.
fn leaves(xml: &str) -> Vec<(String, String)> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut had_child = Vec::new();
    let mut out = Vec::new();
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                if let Some(h) = had_child.last_mut() {
                    *h = true;
                }
                path.push(e.local_name().into_inner().to_string());
                had_child.push(false);
                text.clear();
            }
            Event::Empty(e) => panic!(
                "self-closing <{}>: Bitrix never writes one",
                e.local_name().into_inner()
            ),
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(g) => {
                let c = g
                    .resolve_char_ref()
                    .expect("char ref")
                    .map(String::from)
                    .unwrap_or_else(|| {
                        match g.xml10_content().as_ref() {
                            "lt" => "<",
                            "gt" => ">",
                            "amp" => "&",
                            "quot" => "\"",
                            "apos" => "'",
                            other => panic!("entity {other}"),
                        }
                        .to_string()
                    });
                text.push_str(&c);
            }
            Event::End(_) => {
                if !had_child.pop().unwrap() {
                    // Indentation of an empty list is not content.
                    let t = if text.trim().is_empty() { "" } else { &text };
                    out.push((path.join("/"), t.to_string()));
                }
                path.pop();
                text.clear();
            }
            Event::Eof => break,
            Event::Decl(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn utf8_answer_parses_back_with_bitrix_tag_names() {
    let bytes = write_info(
        &pairs(&[("N", "Принят, ожидается оплата"), ("F", "Выполнен <&> \"'")]),
        &pairs(&[("1", "Наличные курьеру"), ("7", "Банковская карта")]),
        &pairs(&[("2", "Самовывоз"), ("3", "Курьер")]),
    );
    assert!(bytes.starts_with(b"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    let xml = std::str::from_utf8(&bytes[3..]).unwrap();
    // Bitrix's lang file: CC_BSC1_DI_STATUSES = "Cтатусы" with U+0043 first.
    assert_eq!(INFO_STATUSES_ELEMENT.chars().next(), Some('C'));
    assert_eq!(INFO_STATUSES_ELEMENT.chars().nth(1), Some('т'));
    let s = "Справочник/Cтатусы/Элемент";
    let p = "Справочник/ПлатежныеСистемы/Элемент";
    let d = "Справочник/СлужбыДоставки/Элемент";
    let expected: Vec<(String, String)> = [
        (format!("{s}/Ид"), "N"),
        (format!("{s}/Название"), "Принят, ожидается оплата"),
        (format!("{s}/Ид"), "F"),
        (format!("{s}/Название"), "Выполнен <&> \"'"),
        (format!("{p}/Ид"), "1"),
        (format!("{p}/Название"), "Наличные курьеру"),
        (format!("{p}/ТипОплаты"), ""),
        (format!("{p}/Ид"), "7"),
        (format!("{p}/Название"), "Банковская карта"),
        (format!("{p}/ТипОплаты"), ""),
        (format!("{d}/Ид"), "2"),
        (format!("{d}/Название"), "Самовывоз"),
        (format!("{d}/Ид"), "3"),
        (format!("{d}/Название"), "Курьер"),
    ]
    .into_iter()
    .map(|(a, b)| (a, b.to_string()))
    .collect();
    assert_eq!(leaves(xml), expected);
}

#[test]
fn empty_lists_are_paired_tags() {
    let bytes = write_info(&[], &[], &[]);
    let xml = std::str::from_utf8(&bytes[3..]).unwrap();
    assert_eq!(
        leaves(xml),
        pairs(&[
            ("Справочник/Cтатусы", ""),
            ("Справочник/ПлатежныеСистемы", ""),
            ("Справочник/СлужбыДоставки", ""),
        ])
    );
}

#[test]
fn windows_1251_answer_like_bitrix_and_payment_types() {
    let dir = InfoDirectory {
        statuses: vec![InfoEntry {
            id: "N".into(),
            name: "Принят ✓".into(),
        }],
        payment_systems: vec![InfoPaymentSystem {
            id: "1".into(),
            name: "Наличные".into(),
            payment_type: Some("Наличная оплата".into()),
        }],
        delivery_services: vec![],
    };
    let bytes = write_info_directory(&dir, OutputEncoding::Windows1251);
    assert!(bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>"));
    // Cyrillic is one byte per letter in windows-1251 («П» = 0xCF).
    assert!(bytes.contains(&0xCF));
    let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(&bytes);
    assert!(!bad);
    let got = leaves(&text);
    assert_eq!(
        got[1],
        (
            "Справочник/Cтатусы/Элемент/Название".into(),
            "Принят ✓".into()
        )
    );
    assert_eq!(
        got[4],
        (
            "Справочник/ПлатежныеСистемы/Элемент/ТипОплаты".into(),
            "Наличная оплата".into()
        )
    );
    assert_eq!(got[5], ("Справочник/СлужбыДоставки".into(), String::new()));
}
