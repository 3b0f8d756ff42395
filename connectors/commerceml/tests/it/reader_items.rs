//! Item-level checks on real fixtures and small in-code files.

use dealbridge_commerceml::{CmlReader, Item, ReaderOptions};
use rust_decimal_macros::dec;

fn items(path: &str) -> Vec<Item> {
    CmlReader::open(format!("tests/fixtures/{path}"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn from_str(xml: &str) -> Result<Vec<Item>, dealbridge_commerceml::CmlError> {
    CmlReader::from_reader(
        std::io::Cursor::new(xml.as_bytes().to_vec()),
        ReaderOptions::default(),
    )?
    .collect()
}

#[test]
fn windows_1251_document_is_decoded() {
    let all = items("carono-orders-2.03-cp1251/to.xml");
    let Item::Document(d) = &all[0] else {
        panic!("not a document")
    };
    assert!(d.is_order());
    assert_eq!(d.currency.as_deref(), Some("RUB"));
    assert_eq!(d.status(), Some("[F] Доставлен"));
    assert_eq!(d.requisite("Заказ оплачен"), Some("true"));
    assert!(d.status().is_some());
    assert!(d
        .lines
        .iter()
        .any(|l| l.id.as_deref() == Some("ORDER_DELIVERY") && l.is_service()));
    let order = d.to_sdk_order("1c");
    assert_eq!(order.currency.as_str(), "RUB");
    assert!(order.shipping_total > dec!(0));
}

#[test]
fn order_from_1c_has_payment_requisites_and_lenient_dates() {
    let all = items("dicr-orders-from-1c-2.08/orders.xml");
    let Item::Document(d) = &all[0] else {
        panic!("not a document")
    };
    let p = &d.payments[0];
    // «Дата оплаты по 1С» is '2021-02-18T9:49:02' (hour not zero-padded).
    assert_eq!(p.paid_at.unwrap().to_string(), "2021-02-18 09:49:02");
    assert!(p.number.is_some());
    assert!(d.number_1c.is_some());
    assert!(d.status().is_some());
}

#[test]
fn ut11_offers_stock_per_warehouse_and_variants() {
    let offers: Vec<_> = items("carono-ut11-2.07/offers.xml")
        .into_iter()
        .filter_map(|i| match i {
            Item::Offer(o) => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(offers.len(), 5);
    for o in &offers {
        assert!(o.is_variant(), "{}", o.id);
        assert_eq!(o.stock.len(), 1);
        assert_eq!(o.prices.len(), 1);
        assert_eq!(o.stock_levels("1c").len(), 1);
        assert_eq!(o.price_entries("1c", None).len(), 1);
    }
}

#[test]
fn products_carry_rich_fields() {
    let products: Vec<_> = items("official-1c-sample/import.xml")
        .into_iter()
        .filter_map(|i| match i {
            Item::Product(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(products.len(), 4);
    assert!(products
        .iter()
        .all(|p| p.characteristic_id.is_some() && !p.characteristics.is_empty()));
    // The sample has only empty <Картинка/> elements: they are dropped, not kept as "".
    assert!(products.iter().all(|p| p.images.is_empty()));
    assert_eq!(products[0].to_sdk("1c").source.id, products[0].id);
}

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><КоммерческаяИнформация xmlns="urn:1C.ru:commerceml_2" ВерсияСхемы="2.09" ДатаФормирования="2015-01-01T00:00:00">"#;

#[test]
fn all_three_stock_shapes_and_decimal_commas() {
    let xml = format!(
        r#"{HEAD}<ПакетПредложений СодержитТолькоИзменения="true"><Ид>c#</Ид><Предложения>
<Предложение><Ид>a</Ид><Цены><Цена><ИдТипаЦены>t</ИдТипаЦены><ЦенаЗаЕдиницу>1 719,50</ЦенаЗаЕдиницу><Валюта>руб</Валюта></Цена></Цены><Количество>2,5</Количество></Предложение>
<Предложение><Ид>b#1</Ид><Склад ИдСклада="w1" КоличествоНаСкладе="3"/><Склад ИдСклада="w2" КоличествоНаСкладе="-1"/></Предложение>
<Предложение><Ид>c#2</Ид><Остатки><Остаток><Склад><Ид>w3</Ид><Количество>0.250</Количество></Склад></Остаток></Остатки><ПометкаУдаления>true</ПометкаУдаления><Новинка>1</Новинка></Предложение>
</Предложения></ПакетПредложений></КоммерческаяИнформация>"#
    );
    let mut r = CmlReader::from_reader(
        std::io::Cursor::new(xml.into_bytes()),
        ReaderOptions::default(),
    )
    .unwrap();
    let all: Vec<_> = r.by_ref().collect::<Result<_, _>>().unwrap();
    let o: Vec<_> = all
        .iter()
        .filter_map(|i| match i {
            Item::Offer(o) => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(o[0].prices[0].price, dec!(1719.50));
    assert_eq!(o[0].quantity, Some(dec!(2.5)));
    assert_eq!(
        o[1].stock.iter().map(|s| s.quantity).collect::<Vec<_>>(),
        vec![dec!(3), dec!(-1)]
    );
    assert_eq!(o[2].stock[0].warehouse_id, "w3");
    assert_eq!(o[2].stock[0].quantity, dec!(0.250));
    assert!(o[2].deleted);
    assert_eq!(r.header().only_changes, Some(true));
    assert_eq!(
        r.unknown_elements(),
        1,
        "<Новинка> is unknown, skipped and counted"
    );
}

#[test]
fn payments_in_209_block_210_subordinate_and_3x_container() {
    let xml = format!(
        r#"{HEAD}<Документ><Ид>7</Ид><Номер>7</Номер><Дата>2020-01-02</Дата><ХозОперация>Заказ товара</ХозОперация><Сумма>10</Сумма>
<Оплаты><Оплата><НомерДокумента>P1</НомерДокумента><ДатаОплаты>2020-01-03T10:00:00</ДатаОплаты><СуммаОплаты>10</СуммаОплаты></Оплата></Оплаты>
<ПодчиненныеДокументы><ПодчиненныйДокумент><Ид>s1</Ид><Номер>S1</Номер><Дата>2020-01-04</Дата><ХозОперация>Выплата безналичных денег</ХозОперация><Сумма>10</Сумма></ПодчиненныйДокумент>
<ПодчиненныйДокумент><Ид>s2</Ид><ХозОперация>Отпуск товара</ХозОперация></ПодчиненныйДокумент></ПодчиненныеДокументы></Документ>
<Контейнер><Документ><Ид>pay-1</Ид><Номер>9</Номер><Дата>2020-01-05</Дата><ХозОперация>Выплата наличных денег</ХозОперация><Сумма>5,5</Сумма><Основание>7</Основание></Документ></Контейнер>
</КоммерческаяИнформация>"#
    );
    let docs: Vec<_> = from_str(&xml)
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::Document(d) => Some(d),
            _ => None,
        })
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].payments.len(), 2);
    assert_eq!(docs[0].payments[0].number.as_deref(), Some("P1"));
    assert_eq!(docs[0].payments[1].id.as_deref(), Some("s1"));
    assert_eq!(docs[1].payments[0].order_id, "7");
    assert_eq!(docs[1].payments[0].amount, Some(dec!(5.5)));
}

#[test]
fn nested_groups_are_flattened_with_parents() {
    let xml = format!(
        r#"{HEAD}<Классификатор><Ид>k</Ид><Группы><Группа><Ид>g1</Ид><Наименование>A</Наименование><Группы><Группа><Ид>g2</Ид><Наименование>B &amp; C</Наименование></Группа></Группы></Группа></Группы></Классификатор></КоммерческаяИнформация>"#
    );
    let g: Vec<_> = from_str(&xml)
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::Group(g) => Some(g),
            _ => None,
        })
        .collect();
    assert_eq!(g.len(), 2);
    assert_eq!(g[1].parent.as_deref(), Some("g1"));
    assert_eq!(g[1].name, "B & C");
}
